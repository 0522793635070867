/* Fuzz target: fb-exec's spec ({"exec": {...}}): any bytes through
 * fb_exec_spec_parse, the decode step fb-exec runs on its input, and what
 * it decoded encoded again and decoded back the same. Built with clang
 * -fsanitize=fuzzer for `make fuzz`; the replay build runs the committed
 * corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "err.h"
#include "exec_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_err err = { 0 };
	struct fb_doc *doc = NULL;
	struct fb_exec_spec s = { 0 };
	int r = fb_exec_spec_parse((const char *)data, size, &doc, &s, &err);
	if (r < 0) {
		/* refused: with a message, as invalid input */
		if (!err.msg[0] || (err.code != FB_EXIT_USAGE && err.code != FB_EXIT_FAILED))
			abort();
		return 0;
	}
	if (r == 0) {
		/* what a caller would send for this spec is the same spec */
		char *text = fb_exec_spec_encode(&s);
		struct fb_doc *d2 = NULL;
		struct fb_exec_spec s2 = { 0 };
		if (fb_exec_spec_parse(text, strlen(text), &d2, &s2, &err) != 0 || strcmp(s.root, s2.root) ||
		    s.args.n != s2.args.n || s.nmounts != s2.nmounts || s.net_none != s2.net_none)
			abort();
		fb_exec_spec_free(&s2);
		fb_doc_free(d2);
		free(text);
		fb_exec_spec_free(&s);
	}
	fb_doc_free(doc);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
