/* Fuzz target: the network documents fb-net reads: a CNI configuration
 * (a .conflist, or a .conf that becomes a list of one), a plugin's result
 * (and the .network fb-net makes of it), fb-net's cache (cni.json) and a
 * pipeline's input document (.vm, for the VM's id). Any bytes through the
 * lib/vm codecs (cni_doc, vm_doc) fb-net calls, and what it encodes of
 * them. Built with clang -fsanitize=fuzzer for `make fuzz`; the replay
 * build runs the committed corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "doc.h"
#include "err.h"
#include "net.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mtu(void *ctx)
{
	(void)ctx;
	return 1500;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct fb_err err = { 0 };
	struct fb_cni_conflist list;
	int r = fb_cni_conf_decode(text, size, NULL, &list, &err);
	if (r == 1) {
		/* what fb-net relies on: a name, and plugins that have a type */
		if (!list.name || list.n < 1)
			abort();
		for (size_t i = 0; i < list.n; i++) {
			if (!list.plugins[i].type || strchr(list.plugins[i].type, '/'))
				abort();
			char *conf = fb_cni_plugin_conf(&list, i, NULL);
			free(conf);
		}
		fb_cni_conflist_free(&list);
	} else if (r < 0 && (err.code != FB_EXIT_USAGE || !err.msg[0])) {
		abort();
	}
	struct fb_cni_result *res = NULL;
	struct fb_err e2 = { 0 };
	if (fb_cni_result_decode(text, size, &res, &e2) == 0 && res) {
		struct fb_network net;
		fb_cni_summarize(res, "net", "/var/run/netns/fb-x", "eth0", mtu, NULL, &net);
		struct fb_doc *d = fb_doc_new();
		fb_network_encode(d, &net);
		fb_doc_free(d);
		fb_network_free(&net);
		fb_cni_result_freep(&res);
	}
	struct fb_cni_cache cache;
	struct fb_err e3 = { 0 };
	if (fb_cni_cache_parse(text, size, &cache, &e3) == 0)
		fb_cni_cache_free(&cache);
	struct fb_doc *doc = NULL;
	struct fb_err e4 = { 0 };
	if (fb_vm_doc_parse(text, size, &doc, &e4) == 0) {
		struct fb_vm_spec vm;
		if (fb_doc_has(doc, "vm") && fb_vm_spec_decode(doc, &vm, &e4) == 0)
			fb_vm_spec_free(&vm);
		fb_doc_free(doc);
	}
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
