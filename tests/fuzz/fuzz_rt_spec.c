/* Fuzz target: fb-runtime's documents as it decodes them (lib/vm's
 * ocispec_doc and iproute_doc): any bytes as a bundle's config.json (create),
 * as exec's --process file, as a container's state.json, and as `ip -j`
 * output; what decodes is encoded again (the process fb-init gets, the
 * state) and must read back. Built with clang -fsanitize=fuzzer for
 * `make fuzz`; the replay build runs the committed corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "iproute.h"
#include "ocispec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void process_again(const struct fb_rt_process *p)
{
	char *t = fb_rt_process_encode(p);
	struct fb_rt_process back;
	struct fb_err e = { 0 };
	if (fb_rt_process_parse(t, strlen(t), &back, &e) < 0 || back.args.n != p->args.n || back.nrlimits != p->nrlimits)
		abort(); /* what the codec writes, it reads */
	fb_rt_process_free(&back);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct fb_rt_spec spec;
	struct fb_err err = { 0 };
	if (fb_rt_spec_parse(text, size, &spec, &err) == 0) {
		/* what create relies on */
		if (!spec.oci_version || !spec.root_path || !spec.process.args.n)
			abort();
		for (size_t i = 0; i < spec.nmounts; i++)
			if (!spec.mounts[i].destination)
				abort();
		process_again(&spec.process);
		fb_rt_spec_free(&spec);
	} else if (!err.msg[0]) {
		abort();
	}
	struct fb_rt_process p;
	struct fb_err pe = { 0 };
	if (fb_rt_process_parse(text, size, &p, &pe) == 0) {
		process_again(&p);
		fb_rt_process_free(&p);
	} else if (!pe.msg[0]) {
		abort();
	}
	struct fb_rt_state st;
	struct fb_err se = { 0 };
	if (fb_rt_state_parse(text, size, &st, &se) == 0) {
		free(fb_rt_state_public(&st, "stopped"));
		fb_rt_state_free(&st);
	} else if (!se.msg[0]) {
		abort();
	}
	struct fb_ip_link *l;
	struct fb_ip_route *r;
	size_t n;
	struct fb_err ie = { 0 };
	if (fb_ip_links_parse(text, size, &l, &n, &ie) == 0)
		fb_ip_links_free(l, n);
	if (fb_ip_routes_parse(text, size, &r, &n, &ie) == 0)
		fb_ip_routes_free(r, n);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
