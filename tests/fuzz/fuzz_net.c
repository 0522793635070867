/* Fuzz target: the network documents fb-net reads: a CNI configuration
 * (a .conflist, or a .conf that becomes a list of one), a plugin's result
 * (and the .network fb-net makes of it), fb-net's cache (cni.json) and a
 * pipeline's input document. Any bytes, parsed as one JSON document,
 * through the lib/cni functions fb-net calls. Built with clang
 * -fsanitize=fuzzer for `make fuzz`; the replay build runs the committed
 * corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "err.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mtu(void *ctx)
{
	(void)ctx;
	return 1500;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_err err = { 0 };
	jv doc;
	if (fb_json_parse((const char *)data, size, &doc, &err) < 0)
		return 0;
	char *name = fb_cni_conf_name(doc);
	jv list;
	if (fb_cni_conflist(doc, &list, &err) == 0) {
		/* what fb-net relies on: a name, and plugins that have a type */
		jv p = fb_json_member(list, "plugins");
		if (!name || jv_get_kind(p) != JV_KIND_ARRAY || jv_array_length(jv_copy(p)) < 1)
			abort();
		jv_free(p);
		jv_free(list);
	}
	free(name);
	struct fb_err e2 = { 0 };
	if (fb_cni_result_check(doc, &e2) == 0) {
		jv net = fb_cni_summarize(doc, "net", "/var/run/netns/fb-x", "eth0", mtu, NULL);
		char *s = fb_json_dump(net, false);
		free(s);
	}
	struct fb_err e3 = { 0 };
	(void)fb_cni_cache_check(doc, &e3);
	(void)fb_cni_net_input_check(doc, &e3);
	jv_free(doc);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
