/* fb-fetch: bring things local. `fb-fetch image` pulls an image (a
 * registry, a docker-archive tar, an OCI layout or OCI archive) into the
 * content store and writes .image; given a plan on stdin it fetches the
 * base of every needed stage. (`fb-fetch source` comes with Dockerfile
 * builds.) */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "doc.h"
#include "log.h"
#include "image.h"
#include "registry.h"
#include "plan.h"
#include "source.h"
#include "store.h"
#include "tool.h"
#include "util.h"

#include "fb-fetch.h"

static const char usage[] =
	"Usage: fb-fetch image [OPTIONS] [--ref REF]\n"
	"Bring an image into the content store and write .image on stdout.\n"
	"\n"
	"REF is [docker://][HOST[:PORT]/]PATH[:TAG][@DIGEST] (Docker Hub's defaults\n"
	"apply), docker-archive:PATH[:NAME:TAG], oci:DIR[:TAG] or oci-archive:PATH[:TAG].\n"
	"Without --ref, stdin holds a plan (from fb-parse): the base image of every\n"
	"needed stage is fetched, and .images maps each reference to its image.\n"
	"\n"
	"Options:\n"
	"  --ref REF                   the image to fetch\n"
	"  --platform OS/ARCH[/VAR]    pick this platform from a list (default: the host's)\n"
	"  --store DIR                 the content store (default: $FB_STORE, else\n"
	"                              /var/lib/firebuild/store for root, else\n"
	"                              ~/.local/share/firebuild/store)\n"
	"  --creds USER:PASSWORD       registry credentials\n"
	"  --creds-file FILE           read USER:PASSWORD from FILE\n"
	"  --docker-config FILE        credentials file (default ~/.docker/config.json)\n"
	"  --insecure-registry HOST    speak plain http to HOST (repeatable; localhost\n"
	"                              and 127.0.0.0/8 always are)\n"
	"  --ca-file FILE              trust this CA bundle too\n"
	"  --parallel N                layers downloaded at once (default 4)\n"
	"  --stream                    from a registry: write the document as soon as the\n"
	"                              manifest and config are in, the layers still to\n"
	"                              download marked \"pending\"; download them (the\n"
	"                              first first) with stdout kept open; a failure after\n"
	"                              it is an error object written after the document\n"
	"  --log-format FORMAT         json or text logs on stderr\n"
	"  --help, --version\n"
	"\n"
	"Exit status: 0 ok, 1 failed (network, digest mismatch, auth), 2 invalid\n"
	"reference or input, 3 not found.\n"
	"\n"
	"The other subcommands (each with --help): fb-fetch source (a Dockerfile and\n"
	"its context), push (an image to a registry), cache-import and cache-export\n"
	"(the build cache through a registry).\n";

enum {
	OPT_REF = FB_OPT_FIRST_TOOL_OPT,
	OPT_PLATFORM,
	OPT_STORE,
	OPT_PARALLEL,
	OPT_STREAM,
};

static const struct option longopts[] = {
	FB_COMMON_LONGOPTS,
	{ "ref", required_argument, NULL, OPT_REF },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "store", required_argument, NULL, OPT_STORE },
	FB_FETCH_REG_LONGOPTS,
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "stream", no_argument, NULL, OPT_STREAM },
	{ NULL, 0, NULL, 0 },
};

struct options {
	const char *ref;
	const char *store;
	char *creds;
	bool stream;
	struct fb_image_opts img;
};

/* --stream: the document goes out as soon as the image is known, its
 * layers still downloading marked pending; stdout stays open. */
static int write_early(void *ctx, const struct fb_image *img, struct fb_err *err)
{
	bool *written = ctx;
	struct fb_doc *doc = fb_doc_new();
	fb_image_doc_set(doc, img);
	int r = fb_doc_write(doc, err);
	fb_doc_free(doc);
	*written = r == 0;
	size_t n = 0;
	for (size_t i = 0; img->pending && i < img->nlayers; i++)
		n += img->pending[i].pending;
	char pending[32];
	snprintf(pending, sizeof(pending), "%zu", n);
	if (r == 0)
		fb_log_fields(FB_LOG_INFO, "document written, layers still downloading", "pending", pending, (char *)NULL);
	return r;
}

/* Plan mode: the base of every needed stage that is an image. */
static int fetch_plan(const struct options *o, const struct fb_plan *plan, struct fb_doc *doc, struct fb_store *s,
		      struct fb_err *err)
{
	struct fb_strv refs = FB_STRV_INIT;
	struct fb_image *imgs = fb_xcalloc(plan->nstages + 1, sizeof(*imgs));
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < plan->nstages; i++) {
		const struct fb_plan_stage *st = &plan->stages[i];
		if (!st->needed || !st->base || st->base_type != FB_BASE_IMAGE)
			continue;
		bool seen = false;
		for (size_t k = 0; k < refs.n && !seen; k++)
			seen = !strcmp(refs.v[k], st->base);
		if (seen)
			continue;
		if (fb_image_fetch(&o->img, st->base, s, &imgs[refs.n], err) < 0)
			ret = -1;
		else
			fb_strv_push(&refs, st->base);
	}
	if (ret == 0)
		fb_images_doc_set(doc, refs.v, imgs, refs.n);
	for (size_t i = 0; i < refs.n; i++)
		fb_image_free(&imgs[i]);
	free(imgs);
	fb_strv_free(&refs);
	return ret;
}

static const char source_usage[] =
	"Usage: fb-fetch source --dockerfile SRC [--context DIR] [--run-cache DIR]\n"
	"Find a Dockerfile and its build context; write .source on stdout.\n"
	"\n"
	"SRC is a path (a directory means its Dockerfile), an http(s):// URL of a\n"
	"Dockerfile (COPY/ADD sources are fetched relative to its directory), or a\n"
	"git repository: git+https://HOST/PATH.git:/DIR/Dockerfile#REF, git+http://,\n"
	"git://, ssh:// and git+ssh:// (REF: branch, tag or commit; default branch\n"
	"when absent). Remote sources go under RUN-CACHE/sources and are removed by\n"
	"the builder after the build (.source.temporary).\n"
	"\n"
	"  --context DIR         the build context (default: the Dockerfile's directory)\n"
	"  --run-cache DIR       default: $FB_RUN_CACHE, /var/lib/firebuild for root,\n"
	"                        else $XDG_RUNTIME_DIR/firebuild\n"
	"  --log-format FORMAT, --help, --version\n";

static int main_source(int argc, char **argv)
{
	enum { S_DOCKERFILE = FB_OPT_FIRST_TOOL_OPT, S_CONTEXT, S_RUN_CACHE };
	static const struct option opts[] = {
		FB_COMMON_LONGOPTS,
		{ "dockerfile", required_argument, NULL, S_DOCKERFILE },
		{ "context", required_argument, NULL, S_CONTEXT },
		{ "run-cache", required_argument, NULL, S_RUN_CACHE },
		{ NULL, 0, NULL, 0 },
	};
	struct fb_source_opts so = { 0 };
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, source_usage, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		switch (c) {
		case S_DOCKERFILE: so.dockerfile = optarg; break;
		case S_CONTEXT: so.context = optarg; break;
		case S_RUN_CACHE: so.run_cache = optarg; break;
		default: return fb_tool_bad_option(argv);
		}
	}
	if (optind < argc)
		return fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (!so.dockerfile)
		return fb_tool_usage_error("source needs --dockerfile");
	so.run_cache = fb_run_cache(so.run_cache);
	struct fb_err err = { 0 };
	struct fb_source src;
	if (fb_source_fetch(&so, &src, &err) < 0)
		return fb_tool_fail(&err);
	struct fb_doc *doc = fb_doc_new();
	fb_source_doc_set(doc, &src);
	fb_source_free(&src);
	return fb_doc_finish(doc);
}

int fb_fetch_reg_opt(int c, const char *arg, struct fb_registry_opts *reg, char **creds, int *exit_now)
{
	switch (c) {
	case FB_FETCH_OPT_CREDS:
		free(*creds);
		*creds = fb_xstrdup(arg);
		return 1;
	case FB_FETCH_OPT_CREDS_FILE: {
		struct fb_buf b = FB_BUF_INIT;
		struct fb_err e = { 0 };
		if (fb_read_file(arg, &b, &e) < 0) {
			fb_buf_free(&b);
			*exit_now = fb_tool_usage_error("--creds-file: %s", e.msg);
			return 1;
		}
		char *s = fb_buf_steal(&b);
		s[strcspn(s, "\r\n")] = '\0';
		free(*creds);
		*creds = s;
		return 1;
	}
	case FB_FETCH_OPT_DOCKER_CONFIG: reg->docker_config = arg; return 1;
	case FB_FETCH_OPT_INSECURE: fb_strv_push(&reg->insecure, arg); return 1;
	case FB_FETCH_OPT_CA_FILE: reg->ca_file = arg; return 1;
	default: return 0;
	}
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-fetch");
	if (argc >= 2 && !strcmp(argv[1], "source"))
		return main_source(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "push"))
		return fb_fetch_push_main(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "cache-import") || !strcmp(argv[1], "cache-export")))
		return fb_fetch_cache_main(argc - 1, argv + 1);
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "--version"))) {
			int e = 0;
			fb_tool_common_opt(!strcmp(argv[1], "--help") ? FB_OPT_HELP : FB_OPT_VERSION, NULL, usage, &e);
			return e;
		}
		return fb_tool_usage_error("expected a subcommand: image, source, push, cache-import or cache-export");
	}
	if (strcmp(argv[1], "image"))
		return fb_tool_usage_error("unknown subcommand '%s' (fb-fetch image, source, push, cache-import or cache-export)", argv[1]);
	argc--, argv++;
	struct options o = { 0 };
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				goto done;
			continue;
		}
		if (fb_fetch_reg_opt(c, optarg, &o.img.reg, &o.creds, &exit_now)) {
			if (exit_now >= 0)
				goto done;
			continue;
		}
		switch (c) {
		case OPT_REF: o.ref = optarg; break;
		case OPT_PLATFORM: o.img.platform = optarg; break;
		case OPT_STORE: o.store = optarg; break;
		case OPT_STREAM: o.stream = true; break;
		case OPT_PARALLEL:
			o.img.reg.parallel = atoi(optarg);
			if (o.img.reg.parallel < 1 || o.img.reg.parallel > 64) {
				exit_now = fb_tool_usage_error("--parallel %s: expected 1 to 64", optarg);
				goto done;
			}
			break;
		default:
			exit_now = fb_tool_bad_option(argv);
			goto done;
		}
	}
	if (optind < argc) {
		exit_now = fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
		goto done;
	}
	o.img.reg.creds = o.creds;
	struct fb_err err = { 0 };
	struct fb_store s = { 0 };
	struct fb_doc *doc = NULL;
	struct fb_plan plan = { 0 };
	int rc = 0;
	if (!o.ref) {
		bool present;
		if (fb_doc_read_fd(0, &doc, &err) < 0) {
			rc = fb_tool_fail(&err);
			goto finish;
		}
		if (fb_doc_is_error(doc)) {
			rc = fb_doc_pass_error(doc);
			doc = NULL;
			goto finish;
		}
		if (fb_plan_from_doc(doc, true, &plan, &present, &err) < 0) {
			rc = fb_tool_fail(&err);
			goto finish;
		}
	}
	if (fb_store_open(o.store ? o.store : fb_store_default(), &s, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto finish;
	}
	if (o.ref) {
		struct fb_image img;
		bool written = false;
		if (o.stream) {
			/* the reader may be gone when an error object follows the
			 * document: that is a failed write (exit 1), not a signal */
			signal(SIGPIPE, SIG_IGN);
			o.img.ready = write_early;
			o.img.ready_ctx = &written;
		}
		if (fb_image_fetch(&o.img, o.ref, &s, &img, &err) < 0) {
			/* after the document: the error object follows it */
			rc = fb_tool_fail(&err);
			goto finish;
		}
		if (written) {
			fb_image_free(&img);
			if (fb_tool_close_stdout(&err) < 0)
				rc = fb_tool_fail(&err);
			goto finish;
		}
		doc = fb_doc_new();
		fb_image_doc_set(doc, &img);
		fb_image_free(&img);
	} else if (fetch_plan(&o, &plan, doc, &s, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto finish;
	}
	rc = fb_doc_finish(doc);
	doc = NULL;
finish:
	fb_doc_free(doc);
	fb_plan_free(&plan);
	fb_store_close(&s);
	free(o.creds);
	fb_strv_free(&o.img.reg.insecure);
	return rc;
done:
	free(o.creds);
	fb_strv_free(&o.img.reg.insecure);
	return exit_now;
}
