/* Fuzz target: fb-mkrootfs's input document (.image from fb-fetch, or
 * .plan and .source from fb-parse and fb-fetch source): any bytes, parsed
 * as one JSON document, through fb_shape_rootfs_input, the check
 * fb-mkrootfs runs before it reads a member. Built with clang
 * -fsanitize=fuzzer for `make fuzz`; the replay build runs the committed
 * corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "json.h"
#include "shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_err err = { 0 };
	jv doc;
	if (fb_json_parse((const char *)data, size, &doc, &err) < 0)
		return 0;
	if (fb_shape_rootfs_input(doc, &err) < 0 && (err.code != FB_EXIT_USAGE || !err.msg[0]))
		abort();
	/* fb-tag put reads the document fb-mkrootfs writes */
	struct fb_err e2 = { 0 };
	if (fb_shape_put_input(doc, &e2) < 0 && (e2.code != FB_EXIT_USAGE || !e2.msg[0]))
		abort();
	jv_free(doc);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
