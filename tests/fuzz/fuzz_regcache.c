/* Fuzz target: what a cache import reads from a registry: the artifact's
 * manifest (checked to be a firebuild cache) and its config (decoded, then
 * encoded and decoded again to the same entries). Built with clang
 * -fsanitize=fuzzer for `make fuzz`; the replay build runs the committed
 * corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "push.h"
#include "regcache.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct fb_err err = { 0 };
	struct fb_push_manifest m;
	if (fb_regcache_manifest_check(text, size, &m, &err) == 0) {
		if (strcmp(m.config.media_type, FB_MT_CACHE_CONFIG) || m.config.size > FB_REGCACHE_CONFIG_MAX)
			abort();
		fb_push_manifest_free(&m);
	} else if (!err.msg[0]) {
		abort();
	}
	struct fb_regcache c;
	struct fb_err e2 = { 0 };
	if (fb_regcache_decode(text, size, &c, &e2) == 0) {
		for (size_t i = 0; i < c.n; i++)
			if (!fb_digest_valid(c.v[i].key) || (c.v[i].layer[0] && !fb_digest_valid(c.v[i].layer)))
				abort();
		char *again = fb_regcache_encode(&c);
		struct fb_regcache d;
		if (fb_regcache_decode(again, strlen(again), &d, &e2) < 0 || d.n != c.n || d.mode != c.mode)
			abort();
		for (size_t i = 0; i < c.n; i++)
			if (strcmp(d.v[i].key, c.v[i].key) || strcmp(d.v[i].layer, c.v[i].layer) || d.v[i].size != c.v[i].size)
				abort();
		free(again);
		fb_regcache_free(&d);
		fb_regcache_free(&c);
	} else if (!e2.msg[0] || c.n) {
		abort();
	}
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
