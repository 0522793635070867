/* Fuzz target: fb-jail's input document ({"vm": {...}} and fb-net's
 * .network) as fb-jail start and fb-net add decode it, and a VM's
 * state.json as ls, inspect, kill and stop decode it: any bytes through
 * the lib/vm codecs (vm_doc, net_doc, state_doc) the tools call, then
 * encoded again. Built with clang -fsanitize=fuzzer for `make fuzz`; the
 * replay build runs the committed corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "err.h"
#include "net.h"
#include "state.h"
#include "vm.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_err err = { 0 };
	struct fb_doc *doc = NULL;
	if (fb_vm_doc_parse((const char *)data, size, &doc, &err) == 0) {
		struct fb_vm_spec spec;
		struct fb_err e = { 0 };
		if (fb_vm_spec_decode(doc, &spec, &e) == 0) {
			/* what start relies on */
			if (!spec.id || !spec.run_dir || !spec.kernel || !spec.rootfs || !spec.config_drive ||
			    (spec.mmds == FB_MMDS_GIVEN && !spec.mmds_json) || (spec.jail && !spec.jail->base))
				abort();
			struct fb_doc *again = fb_doc_new();
			fb_vm_spec_encode(again, &spec);
			struct fb_vm_spec back;
			if (fb_vm_spec_decode(again, &back, &e) < 0)
				abort(); /* what the codec writes, it reads */
			fb_vm_spec_free(&back);
			fb_doc_free(again);
			fb_vm_spec_free(&spec);
		} else if (e.code != FB_EXIT_USAGE || !e.msg[0]) {
			abort();
		}
		struct fb_network *net = NULL;
		struct fb_err ne = { 0 };
		if (fb_network_decode(doc, &net, &ne) == 0 && net) {
			if (!net->netns)
				abort();
			fb_network_encode(doc, net);
			fb_network_freep(&net);
		} else if (ne.msg[0] && ne.code != FB_EXIT_USAGE) {
			abort();
		}
		fb_doc_free(doc);
	}
	struct fb_vm_state st;
	struct fb_err se = { 0 };
	if (fb_vm_state_parse((const char *)data, size, &st, &se) == 0) {
		/* what reads a state as found */
		(void)fb_vm_status(&st);
		struct fb_doc *d = fb_vm_state_doc(&st, "dead");
		char *s = fb_doc_dump(d, false);
		free(s);
		fb_doc_free(d);
		fb_vm_state_free(&st);
	} else if (!se.msg[0]) {
		abort();
	}
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
