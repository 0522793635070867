/* Fuzz target: fb-mkrootfs's input document (.image from fb-fetch, or
 * .plan and .source from fb-parse and fb-fetch source): any bytes, parsed
 * as one document, through the decoders fb-mkrootfs runs before it reads a
 * member (plan, source, image), and fb-tag put's (rootfs, image). Built
 * with clang -fsanitize=fuzzer for `make fuzz`; the replay build runs the
 * committed corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>

#include "doc.h"
#include "err.h"
#include "image.h"
#include "plan.h"
#include "rootfs.h"
#include "source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int r, const struct fb_err *err)
{
	if (r < 0 && (err->code != FB_EXIT_USAGE || !err->msg[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_err err = { 0 };
	struct fb_doc *doc;
	if (fb_doc_parse((const char *)data, size, &doc, &err) < 0)
		return 0;
	bool present;
	struct fb_plan plan;
	struct fb_source src;
	struct fb_image img;
	int r = fb_plan_from_doc(doc, false, &plan, &present, &err);
	check(r, &err);
	if (r == 0) {
		fb_plan_free(&plan);
		r = fb_source_from_doc(doc, FB_SOURCE_FOR_BUILD, &src, &present, &err);
		check(r, &err);
		fb_source_free(&src);
	}
	if (r == 0) {
		r = fb_image_from_doc(doc, FB_IMAGE_FOR_ROOTFS, &img, &present, &err);
		check(r, &err);
		fb_image_free(&img);
	}
	/* fb-tag put reads the document fb-mkrootfs writes */
	struct fb_err e2 = { 0 };
	struct fb_rootfs_doc rd;
	r = fb_rootfs_from_doc(doc, &rd, &present, &e2);
	check(r, &e2);
	fb_rootfs_doc_free(&rd);
	if (r == 0) {
		r = fb_image_from_doc(doc, FB_IMAGE_FOR_PUT, &img, &present, &e2);
		check(r, &e2);
		fb_image_free(&img);
	}
	fb_doc_free(doc);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
