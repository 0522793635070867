/* Fuzz target: what a push reads that came from elsewhere: a manifest (a
 * registry's, kept in the store), decoded and converted between OCI and
 * Docker schema 2 and back; a registry's error body; an upload record;
 * an image layout's index.json. Built with clang -fsanitize=fuzzer for
 * `make fuzz`; the replay build runs the committed corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "push.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Conversion keeps every blob and its size, and gives a manifest. */
static void same_blobs(const struct fb_push_manifest *a, const char *text, enum fb_push_format f)
{
	struct fb_push_manifest b;
	struct fb_err err = { 0 };
	if (fb_push_manifest_decode(text, strlen(text), &b, &err) < 0)
		abort();
	if (strcmp(b.media_type, fb_push_manifest_type(f)) || b.nlayers != a->nlayers ||
	    strcmp(b.config.digest, a->config.digest) || b.config.size != a->config.size)
		abort();
	for (size_t i = 0; i < b.nlayers; i++)
		if (strcmp(b.layers[i].digest, a->layers[i].digest) || b.layers[i].size != a->layers[i].size)
			abort();
	fb_push_manifest_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct fb_err err = { 0 };
	struct fb_push_manifest m;
	if (fb_push_manifest_decode(text, size, &m, &err) == 0) {
		if (!fb_digest_valid(m.config.digest))
			abort();
		for (size_t i = 0; i < m.nlayers; i++)
			if (!fb_digest_valid(m.layers[i].digest))
				abort();
		static const enum fb_push_format fs[] = { FB_PUSH_OCI, FB_PUSH_DOCKER };
		for (size_t i = 0; i < 2; i++) {
			char *out = NULL;
			struct fb_err e = { 0 };
			if (fb_push_manifest_convert(text, size, fs[i], &out, &e) == 0) {
				same_blobs(&m, out, fs[i]);
				free(out);
			} else if (!e.msg[0] || out) {
				abort();
			}
		}
		fb_push_manifest_free(&m);
	} else if (!err.msg[0]) {
		abort();
	}
	free(fb_push_registry_errors(text, size));
	struct fb_push_upload u;
	struct fb_err e2 = { 0 };
	if (fb_push_upload_decode(text, size, &u, &e2) == 0) {
		if (u.offset > u.size || !u.location)
			abort();
		fb_push_upload_free(&u);
	}
	struct fb_strv names = FB_STRV_INIT, digests = FB_STRV_INIT;
	struct fb_err e3 = { 0 };
	if (fb_push_index_decode(text, size, &names, &digests, &e3) == 0)
		for (size_t i = 0; i < digests.n; i++)
			if (!fb_digest_valid(digests.v[i]) || names.n != digests.n)
				abort();
	fb_strv_free(&names);
	fb_strv_free(&digests);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
