/* Fuzz target: the plan as fb-mkrootfs (and fb-fetch image) decode it
 * where it enters: any bytes, parsed as one JSON document, through
 * fb_shape_plan, the check after which the builder reads members of the
 * kinds it expects. A plan the check passes is checked again inside a
 * pipeline document, as fb-fetch image sees it. Built with clang
 * -fsanitize=fuzzer for `make fuzz`; the replay build runs the committed
 * corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_err err = { 0 };
	jv plan;
	if (fb_json_parse((const char *)data, size, &plan, &err) < 0)
		return 0;
	if (fb_shape_plan(plan, ".plan", &err) == 0) {
		jv doc = jv_object_set(jv_object(), jv_string("plan"), jv_copy(plan));
		struct fb_err e2 = { 0 };
		/* the same plan inside a document: the same answer */
		if (fb_shape_fetch_input(doc, &e2) < 0 || fb_shape_rootfs_input(doc, &e2) < 0)
			abort();
		jv_free(doc);
	} else if (err.code != FB_EXIT_USAGE || !err.msg[0]) {
		abort();
	}
	jv_free(plan);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
