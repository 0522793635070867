/* Fuzz target: fb-jail start's VM spec ({"vm": {...}}), and a VM's
 * state.json as ls, inspect and kill read it: any bytes, parsed as one
 * JSON document, through fb_shape_vm_spec and fb_shape_vm_state, the
 * checks that run before a member is read. Built with clang
 * -fsanitize=fuzzer for `make fuzz`; the replay build runs the committed
 * corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "json.h"
#include "shape.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_err err = { 0 };
	jv doc;
	if (fb_json_parse((const char *)data, size, &doc, &err) < 0)
		return 0;
	if (fb_shape_vm_spec(doc, &err) < 0 && (err.code != FB_EXIT_USAGE || !err.msg[0]))
		abort();
	struct fb_err e2 = { 0 };
	if (fb_shape_vm_state(doc, &e2) < 0 && (e2.code != FB_EXIT_USAGE || !e2.msg[0]))
		abort();
	/* what reads a state as found, checked or not */
	(void)fb_vm_num(doc, "pid");
	(void)fb_vm_num(doc, "supervisor_pid");
	jv_free(doc);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
