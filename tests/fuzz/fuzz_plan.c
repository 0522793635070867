/* Fuzz target: the plan as fb-mkrootfs (and fb-fetch image) decode it
 * where it enters: any bytes, as the .plan member of a document, through
 * fb_plan_from_doc, the codec's decode-and-check. A plan it takes is
 * encoded again (as fb-parse writes one) and must decode again. Built with
 * clang -fsanitize=fuzzer for `make fuzz`; the replay build runs the
 * committed corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "err.h"
#include "plan.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_err err = { 0 };
	struct fb_buf text = FB_BUF_INIT;
	fb_buf_adds(&text, "{\"plan\":");
	fb_buf_add(&text, data, size);
	fb_buf_adds(&text, "\n}");
	struct fb_doc *doc;
	int r = fb_doc_parse(text.data, text.len, &doc, &err);
	fb_buf_free(&text);
	if (r < 0)
		return 0;
	struct fb_plan plan;
	bool present;
	if (fb_plan_from_doc(doc, true, &plan, &present, &err) == 0) {
		/* what the codec read, it writes; what it writes, it reads */
		struct fb_doc *again = fb_doc_new();
		fb_plan_doc_set(again, &plan);
		struct fb_plan back;
		struct fb_err e2 = { 0 };
		if (fb_plan_from_doc(again, true, &back, &present, &e2) < 0)
			abort();
		fb_plan_free(&back);
		fb_doc_free(again);
		fb_plan_free(&plan);
	} else if (err.code != FB_EXIT_USAGE || !err.msg[0]) {
		abort();
	}
	fb_doc_free(doc);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
