/* fb-fetch push: the image a document names (.image of fb-tag get,
 * fb-fetch image or fb-mkrootfs) from the store to a registry; the
 * document goes on with .push added. The client is lib/image/push. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "err.h"
#include "log.h"
#include "push.h"
#include "store.h"
#include "tool.h"
#include "util.h"

#include "fb-fetch.h"

static const char usage[] =
	"Usage: fb-tag get NAME:VERSION | fb-fetch push --ref REF [OPTIONS]\n"
	"Push the image the input document names (.image.digest: its manifest in the\n"
	"store) to a registry; write the document with .push added on stdout.\n"
	"\n"
	"REF is [docker://][HOST[:PORT]/]PATH[:TAG][@DIGEST] (Docker Hub's defaults\n"
	"apply). Without a tag, the image's version (.image.version) is the tag, else\n"
	"latest. Blobs the repository has are skipped, blobs this host pushed to or\n"
	"pulled from another repository of the registry are mounted from there, the\n"
	"rest uploaded; an upload cut off half-way goes on where it stopped at the\n"
	"next push. The manifest goes last.\n"
	"\n"
	"Options:\n"
	"  --ref REF                   where to push (required)\n"
	"  --format oci|docker         the manifest's format: OCI (default) or Docker\n"
	"                              schema 2\n"
	"  --chunk-size SIZE           blobs larger than SIZE go up in chunks of SIZE\n"
	"                              (bytes, or with K, M, G; default 32M, at least 1K)\n"
	"  --store DIR                 the content store (default: $FB_STORE, else\n"
	"                              /var/lib/firebuild/store for root, else\n"
	"                              ~/.local/share/firebuild/store)\n"
	"  --run-cache DIR             uploads in progress go under DIR/push (default:\n"
	"                              $FB_RUN_CACHE, /var/lib/firebuild for root, else\n"
	"                              $XDG_RUNTIME_DIR/firebuild)\n"
	"  --creds USER:PASSWORD       registry credentials\n"
	"  --creds-file FILE           read USER:PASSWORD from FILE\n"
	"  --docker-config FILE        credentials file (default ~/.docker/config.json)\n"
	"  --insecure-registry HOST    speak plain http to HOST (repeatable; localhost\n"
	"                              and 127.0.0.0/8 always are)\n"
	"  --ca-file FILE              trust this CA bundle too\n"
	"  --log-format FORMAT         json or text logs on stderr\n"
	"  --help, --version\n"
	"\n"
	"Exit status: 0 ok, 1 failed (network, authentication, the registry refused,\n"
	"a damaged blob in the store), 2 invalid reference, flag or input, 3 the image\n"
	"or one of its blobs is not in the store.\n";

/* "123", "64K", "32M", "1G": bytes (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end || v > (4ull << 30) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

struct options {
	const char *ref, *store, *run_cache;
	char *creds;
	struct fb_push_opts push;
};

static void options_free(struct options *o)
{
	free(o->creds);
	fb_strv_free(&o->push.reg.insecure);
}

/* 0 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		P_REF = FB_OPT_FIRST_TOOL_OPT,
		P_FORMAT,
		P_CHUNK,
		P_STORE,
		P_RUN_CACHE,
	};
	static const struct option opts[] = {
		FB_COMMON_LONGOPTS,
		{ "ref", required_argument, NULL, P_REF },
		{ "format", required_argument, NULL, P_FORMAT },
		{ "chunk-size", required_argument, NULL, P_CHUNK },
		{ "store", required_argument, NULL, P_STORE },
		{ "run-cache", required_argument, NULL, P_RUN_CACHE },
		FB_FETCH_REG_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		if (fb_fetch_reg_opt(c, optarg, &o->push.reg, &o->creds, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		switch (c) {
		case P_REF: o->ref = optarg; break;
		case P_STORE: o->store = optarg; break;
		case P_RUN_CACHE: o->run_cache = optarg; break;
		case P_FORMAT:
			if (!strcmp(optarg, "oci"))
				o->push.format = FB_PUSH_OCI;
			else if (!strcmp(optarg, "docker"))
				o->push.format = FB_PUSH_DOCKER;
			else
				return fb_tool_usage_error("--format %s: expected oci or docker", optarg);
			break;
		case P_CHUNK:
			if (parse_size(optarg, &o->push.chunk_size) < 0 || o->push.chunk_size < FB_PUSH_CHUNK_MIN)
				return fb_tool_usage_error("--chunk-size %s: expected a size from 1K to 4G", optarg);
			break;
		default: return fb_tool_bad_option(argv);
		}
	}
	if (optind < argc)
		return fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->ref)
		return fb_tool_usage_error("push needs --ref (where to push)");
	o->push.reg.creds = o->creds;
	return 0;
}

int fb_fetch_push_main(int argc, char **argv)
{
	struct options o = { 0 };
	int rc = parse_options(argc, argv, &o);
	if (rc || !o.ref) {
		options_free(&o);
		return rc;
	}
	struct fb_err err = { 0 };
	FB_AUTODOC struct fb_doc *doc = NULL;
	struct fb_push_src src = { 0 };
	struct fb_push_result res = { 0 };
	struct fb_store s = { 0 };
	s.lockfd = -1;
	FB_AUTOFREE char *state = fb_xasprintf("%s/push", fb_run_cache(o.run_cache));
	if (fb_doc_read_fd(0, &doc, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto out;
	}
	if (fb_doc_is_error(doc)) {
		rc = fb_doc_pass_error(doc);
		doc = NULL;
		goto out;
	}
	o.push.state_dir = state;
	if (fb_push_src_from_doc(doc, &src, &err) < 0 || fb_store_open(o.store ? o.store : fb_store_default(), &s, &err) < 0 ||
	    fb_push_image(&o.push, &s, &src, o.ref, &res, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto out;
	}
	fb_push_doc_set(doc, &res);
	rc = fb_doc_finish(doc);
	doc = NULL;
out:
	fb_push_result_free(&res);
	fb_push_src_free(&src);
	if (s.root)
		fb_store_close(&s);
	options_free(&o);
	return rc;
}
