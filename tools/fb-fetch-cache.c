/* fb-fetch cache-import and cache-export: the build cache through a
 * registry (lib/image/regcache.h), as BuildKit's type=registry cache.
 *   ... | fb-parse | fb-fetch cache-import --ref REF | fb-mkrootfs | fb-tag put N:V
 *       | fb-fetch cache-export --ref REF --mode max
 * Import brings the cache's entries (and their verified layers) into the
 * store's build cache before fb-mkrootfs builds, so its steps hit; a cache
 * that cannot be used is a warning and the build runs the steps. Export
 * reads the build's steps (.build.steps) and the plan (which stages make
 * the final image) from the document. Both pass the document on. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "err.h"
#include "log.h"
#include "plan.h"
#include "push.h"
#include "regcache.h"
#include "registry.h"
#include "store.h"
#include "tool.h"
#include "util.h"

#include "fb-fetch.h"

static const char import_usage[] =
	"Usage: ... | fb-fetch cache-import --ref REF [--ref REF]... [OPTIONS] | fb-mkrootfs ...\n"
	"Bring the build caches at REF (what fb-fetch cache-export or firebuild rootfs\n"
	"--cache-to pushed) into the store's build cache, so the build that follows runs\n"
	"none of the steps they hold: each step's layer is downloaded and checked\n"
	"against its digest and size first. The input document goes on with\n"
	".cache_import added. A cache that cannot be used (no such reference, not a\n"
	"firebuild cache, a malformed config) or a layer that fails its checks is a\n"
	"warning: those steps run.\n"
	"\n"
	"Options:\n"
	"  --ref REF                   a cache: [docker://][HOST[:PORT]/]PATH[:TAG][@DIGEST]\n"
	"                              (repeatable; the store's own entries come first,\n"
	"                              then the caches in order)\n";

static const char export_usage[] =
	"Usage: ... | fb-mkrootfs | fb-tag put N:V | fb-fetch cache-export --ref REF [--mode min|max] [OPTIONS]\n"
	"Push the build cache of the build the input document describes (.build.steps,\n"
	"and .plan for its stages) to REF as an OCI artifact (an image manifest whose\n"
	"config is application/vnd.firebuild.cache.config.v1+json and whose layers are\n"
	"the steps' layers). The input document goes on with .cache_export added.\n"
	"\n"
	"Options:\n"
	"  --ref REF                   where to push (without a tag: :cache)\n"
	"  --mode min|max              min (default): the steps of the final image (the\n"
	"                              target stage and the stages it is FROM); max: the\n"
	"                              steps of every stage built\n"
	"  --ignore-error              a failed export is a warning (exit 0)\n"
	"  --run-cache DIR             uploads in progress go under DIR/push\n";

static const char common_usage[] =
	"  --store DIR                 the content store (default: $FB_STORE, else\n"
	"                              /var/lib/firebuild/store for root, else\n"
	"                              ~/.local/share/firebuild/store)\n"
	"  --creds USER:PASSWORD       registry credentials\n"
	"  --creds-file FILE           read USER:PASSWORD from FILE\n"
	"  --docker-config FILE        credentials file (default ~/.docker/config.json)\n"
	"  --insecure-registry HOST    speak plain http to HOST (repeatable; localhost\n"
	"                              and 127.0.0.0/8 always are)\n"
	"  --ca-file FILE              trust this CA bundle too\n"
	"  --log-format FORMAT         json or text logs on stderr\n"
	"  --help, --version\n"
	"\n"
	"Exit status: 0 ok, 1 failed (export: network, authentication, the registry\n"
	"refused), 2 invalid reference, flag or input, 3 a layer is not in the store.\n";

struct options {
	bool export;
	struct fb_strv refs;
	const char *store, *run_cache;
	enum fb_regcache_mode mode;
	bool ignore_error;
	char *creds;
	struct fb_registry_opts reg;
};

static void options_free(struct options *o)
{
	fb_strv_free(&o->refs);
	free(o->creds);
	fb_strv_free(&o->reg.insecure);
}

/* 0 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		C_REF = FB_OPT_FIRST_TOOL_OPT,
		C_MODE,
		C_IGNORE,
		C_STORE,
		C_RUN_CACHE,
	};
	static const struct option opts[] = {
		FB_COMMON_LONGOPTS,
		{ "ref", required_argument, NULL, C_REF },
		{ "mode", required_argument, NULL, C_MODE },
		{ "ignore-error", no_argument, NULL, C_IGNORE },
		{ "store", required_argument, NULL, C_STORE },
		{ "run-cache", required_argument, NULL, C_RUN_CACHE },
		FB_FETCH_REG_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	FB_AUTOFREE char *usage = fb_xasprintf("%s%s", o->export ? export_usage : import_usage, common_usage);
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		if (fb_fetch_reg_opt(c, optarg, &o->reg, &o->creds, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		switch (c) {
		case C_REF:
			if (o->export && o->refs.n)
				return fb_tool_usage_error("cache-export takes one --ref");
			fb_strv_push(&o->refs, optarg);
			break;
		case C_MODE:
			if (!o->export)
				return fb_tool_usage_error("--mode goes with cache-export");
			if (strcmp(optarg, "min") && strcmp(optarg, "max"))
				return fb_tool_usage_error("--mode %s: expected min or max", optarg);
			o->mode = !strcmp(optarg, "max") ? FB_REGCACHE_MAX : FB_REGCACHE_MIN;
			break;
		case C_IGNORE:
			if (!o->export)
				return fb_tool_usage_error("--ignore-error goes with cache-export (an import never fails the build)");
			o->ignore_error = true;
			break;
		case C_STORE: o->store = optarg; break;
		case C_RUN_CACHE: o->run_cache = optarg; break;
		default: return fb_tool_bad_option(argv);
		}
	}
	if (optind < argc)
		return fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->refs.n)
		return fb_tool_usage_error("%s needs --ref", o->export ? "cache-export" : "cache-import");
	/* a reference that is not one is the caller's mistake, not the cache's */
	for (size_t i = 0; i < o->refs.n; i++) {
		struct fb_regcache_spec sp;
		struct fb_err e = { 0 };
		if (fb_regcache_spec_parse(o->refs.v[i], false, &sp, &e) < 0 || strcmp(sp.ref, o->refs.v[i])) {
			fb_regcache_spec_free(&sp);
			return fb_tool_usage_error("--ref %s: %s", o->refs.v[i], e.msg[0] ? e.msg : "expected a registry reference");
		}
		fb_regcache_spec_free(&sp);
	}
	o->reg.creds = o->creds;
	return 0;
}

static int do_import(const struct options *o, struct fb_store *s, struct fb_doc *doc)
{
	struct fb_regcache_import *v = fb_xcalloc(o->refs.n, sizeof(*v));
	for (size_t i = 0; i < o->refs.n; i++) {
		struct fb_err err = { 0 };
		if (fb_regcache_pull(&o->reg, s, o->refs.v[i], &v[i], &err) < 0) {
			fb_warn("cache %s not used: %s (the build runs its steps)", o->refs.v[i], err.msg);
			v[i].error = fb_xstrdup(err.msg);
		} else {
			fb_log(FB_LOG_INFO, "cache %s: %zu entries: %zu imported, %zu already here, %zu skipped", o->refs.v[i],
			       v[i].entries, v[i].imported, v[i].present, v[i].skipped);
		}
	}
	fb_regcache_import_doc_set(doc, v, o->refs.n);
	for (size_t i = 0; i < o->refs.n; i++)
		fb_regcache_import_free(&v[i]);
	free(v);
	return 0;
}

/* The stages whose steps go: min, the target and the stages it is FROM
 * (the final image's layers); max, all. */
static bool *stages_of(const struct fb_plan *p, enum fb_regcache_mode mode)
{
	bool *in = fb_xcalloc(p->nstages + 1, sizeof(*in));
	size_t i = p->target >= 0 ? (size_t)p->target : 0;
	for (size_t n = 0; n <= p->nstages && i < p->nstages; n++) {
		in[i] = true;
		if (mode == FB_REGCACHE_MAX || p->stages[i].base_type != FB_BASE_STAGE || p->stages[i].base_stage < 0 ||
		    (size_t)p->stages[i].base_stage >= i)
			break;
		i = (size_t)p->stages[i].base_stage;
	}
	if (mode == FB_REGCACHE_MAX)
		for (size_t k = 0; k < p->nstages; k++)
			in[k] = true;
	return in;
}

static int do_export(const struct options *o, struct fb_store *s, struct fb_doc *doc, struct fb_err *err)
{
	struct fb_plan plan = { 0 };
	struct fb_regcache_steps steps = { 0 };
	struct fb_regcache c = { .mode = o->mode };
	struct fb_regcache_export x = { 0 };
	FB_AUTOFREE bool *in = NULL;
	FB_AUTOFREE char *state = NULL;
	bool present;
	int r = -1;
	if (fb_plan_from_doc(doc, true, &plan, &present, err) < 0 || fb_regcache_steps_from_doc(doc, &steps, err) < 0)
		goto out;
	in = stages_of(&plan, o->mode);
	for (size_t i = 0; i < steps.n; i++) {
		const struct fb_regcache_step *st = &steps.v[i];
		bool done = !strcmp(st->status, "cached") || !strcmp(st->status, "executed");
		if (done && st->stage < plan.nstages && in[st->stage])
			fb_regcache_add(&c, st->key, st->layer, 0, st->instruction);
	}
	state = fb_xasprintf("%s/push", fb_run_cache(o->run_cache));
	struct fb_push_opts po = { .reg = o->reg, .state_dir = state };
	if (fb_regcache_push(&po, s, &c, o->refs.v[0], &x, err) < 0)
		goto out;
	fb_regcache_export_doc_set(doc, &x, o->mode);
	r = 0;
out:
	fb_regcache_export_free(&x);
	fb_regcache_free(&c);
	fb_regcache_steps_free(&steps);
	fb_plan_free(&plan);
	return r;
}

int fb_fetch_cache_main(int argc, char **argv)
{
	struct options o = { .export = !strcmp(argv[0], "cache-export") };
	int rc = parse_options(argc, argv, &o);
	if (rc || !o.refs.n) {
		options_free(&o);
		return rc;
	}
	struct fb_err err = { 0 };
	FB_AUTODOC struct fb_doc *doc = NULL;
	struct fb_store s = { 0 };
	s.lockfd = -1;
	if (fb_doc_read_fd(0, &doc, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto out;
	}
	if (fb_doc_is_error(doc)) {
		rc = fb_doc_pass_error(doc);
		doc = NULL;
		goto out;
	}
	if (fb_store_open(o.store ? o.store : fb_store_default(), &s, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto out;
	}
	if (!o.export) {
		do_import(&o, &s, doc);
	} else if (do_export(&o, &s, doc, &err) < 0) {
		if (!o.ignore_error || err.code == FB_EXIT_USAGE) {
			rc = fb_tool_fail(&err);
			goto out;
		}
		fb_warn("cache export to %s: %s (ignored: --ignore-error)", o.refs.v[0], err.msg);
	}
	rc = fb_doc_finish(doc);
	doc = NULL;
out:
	if (s.root)
		fb_store_close(&s);
	options_free(&o);
	return rc;
}
