/* Fuzz target: tc-redirect-tap's network config on stdin (tapName, uid,
 * gid, prevResult) for ADD, CHECK and DEL: any bytes through
 * fb_cni_tap_conf_decode (lib/vm/cni_doc), the decoding tc-redirect-tap
 * does before anything else, and the result it would write. Built with
 * clang -fsanitize=fuzzer for `make fuzz`; the replay build runs the
 * committed corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const commands[] = { "ADD", "CHECK", "DEL" };
	for (size_t i = 0; i < 3; i++) {
		struct fb_tap_conf tc;
		struct fb_err e = { 0 };
		if (fb_cni_tap_conf_decode((const char *)data, size, commands[i], "eth0", &tc, &e) == 0) {
			/* what tc-redirect-tap relies on */
			if (!tc.tap || !fb_cni_valid_ifname(tc.tap) || (strcmp(commands[i], "DEL") && (!tc.mac || !tc.prev)))
				abort();
			char *res = fb_cni_tap_result(&tc, "/var/run/netns/x");
			free(res);
			fb_cni_tap_conf_free(&tc);
		} else if (!e.msg[0]) {
			abort();
		}
	}
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
