/* firebuild rootfs, baseos and import: Dockerfiles and images into tagged
 * root file systems, as pipelines of fb-fetch, fb-parse, fb-mkrootfs and
 * fb-tag. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "regcache.h"
#include "tool.h"
#include "trace.h"
#include "util.h"

#include "firebuild.h"

static const char rootfs_usage[] =
	"Usage: firebuild rootfs (--dockerfile=SRC | --docker-image=REF) --tag=NAME:VERSION [FLAGS]\n"
	"Build a Dockerfile, or pull an image, into a tagged ext4 root file system:\n"
	"  fb-fetch source --dockerfile SRC | fb-parse | fb-mkrootfs | fb-tag put NAME:VERSION\n"
	"  fb-fetch image --stream --ref REF | fb-mkrootfs | fb-tag put NAME:VERSION\n"
	"With --cache-from, fb-fetch cache-import goes before fb-mkrootfs; with\n"
	"--cache-to, fb-fetch cache-export after fb-tag put.\n";

struct build_req {
	const char *dockerfile, *context, *image, *tag, *disk, *platform, *creds, *target, *pre_build, *post_build;
	const char *cache_to;
	const char *epoch; /* SOURCE_DATE_EPOCH (the flag, else the environment), or NULL */
	char *run_cache;
	const struct fb_strv *build_args, *insecure, *secrets, *cache_from;
	bool no_cache;
	char *store;
};

/* What every registry client of the pipeline is given. */
static void registry_flags(const struct build_req *r, struct fb_strv *a)
{
	if (r->creds)
		fb_strv_push_owned(a, fb_xasprintf("--creds=%s", r->creds));
	for (size_t i = 0; i < r->insecure->n; i++)
		fb_strv_push_owned(a, fb_xasprintf("--insecure-registry=%s", r->insecure->v[i]));
}

/* fb-fetch cache-import --ref ... (--cache-from), before fb-mkrootfs. */
static int cache_import_argv(const struct build_req *r, const char *fetch, struct fb_strv *a, struct fb_err *err)
{
	fb_strv_push(a, fetch);
	fb_strv_push(a, "cache-import");
	fb_strv_push_owned(a, fb_xasprintf("--store=%s", r->store));
	for (size_t i = 0; i < r->cache_from->n; i++) {
		struct fb_regcache_spec sp;
		if (fb_regcache_spec_parse(r->cache_from->v[i], false, &sp, err) < 0) {
			fb_err_prefix(err, "--cache-from");
			return -1;
		}
		fb_strv_push_owned(a, fb_xasprintf("--ref=%s", sp.ref));
		fb_regcache_spec_free(&sp);
	}
	registry_flags(r, a);
	return 0;
}

/* fb-fetch cache-export --ref REF --mode M (--cache-to), after fb-tag put:
 * the tag is in place whatever the export does. */
static int cache_export_argv(const struct build_req *r, const char *fetch, struct fb_strv *a, struct fb_err *err)
{
	struct fb_regcache_spec sp;
	if (fb_regcache_spec_parse(r->cache_to, true, &sp, err) < 0) {
		fb_err_prefix(err, "--cache-to");
		return -1;
	}
	fb_strv_push(a, fetch);
	fb_strv_push(a, "cache-export");
	fb_strv_push_owned(a, fb_xasprintf("--store=%s", r->store));
	fb_strv_push_owned(a, fb_xasprintf("--ref=%s", sp.ref));
	fb_strv_push(a, sp.mode == FB_REGCACHE_MAX ? "--mode=max" : "--mode=min");
	if (sp.ignore_error)
		fb_strv_push(a, "--ignore-error");
	if (r->run_cache)
		fb_strv_push_owned(a, fb_xasprintf("--run-cache=%s", r->run_cache));
	registry_flags(r, a);
	fb_regcache_spec_free(&sp);
	return 0;
}

/* The pipeline for a Dockerfile or an image, ending in fb-tag put (and
 * the cache's export). */
static int run_build(struct build_req *r)
{
	struct fb_err err = { 0 };
	char fetch[PATH_MAX + 64], parse[PATH_MAX + 64], mk[PATH_MAX + 64], tg[PATH_MAX + 64];
	if (tool_path("fb-fetch", fetch, sizeof(fetch), &err) < 0 || tool_path("fb-parse", parse, sizeof(parse), &err) < 0 ||
	    tool_path("fb-mkrootfs", mk, sizeof(mk), &err) < 0 || tool_path("fb-tag", tg, sizeof(tg), &err) < 0)
		return fail(&err);
	struct fb_strv a[6] = { FB_STRV_INIT, FB_STRV_INIT, FB_STRV_INIT, FB_STRV_INIT, FB_STRV_INIT, FB_STRV_INIT };
	size_t n = 0;
	int rc = 0;
	if (r->dockerfile) {
		fb_strv_push(&a[n], fetch);
		fb_strv_push(&a[n], "source");
		fb_strv_push_owned(&a[n], fb_xasprintf("--dockerfile=%s", r->dockerfile));
		if (r->context)
			fb_strv_push_owned(&a[n], fb_xasprintf("--context=%s", r->context));
		if (r->run_cache)
			fb_strv_push_owned(&a[n], fb_xasprintf("--run-cache=%s", r->run_cache));
		n++;
		fb_strv_push(&a[n], parse);
		/* BuildKit's way: the epoch is the build arg SOURCE_DATE_EPOCH
		 * (an explicit --build-arg of it, later, wins) */
		if (r->epoch)
			fb_strv_push_owned(&a[n], fb_xasprintf("--build-arg=SOURCE_DATE_EPOCH=%s", r->epoch));
		for (size_t i = 0; i < r->build_args->n; i++)
			fb_strv_push_owned(&a[n], fb_xasprintf("--build-arg=%s", r->build_args->v[i]));
		if (r->target)
			fb_strv_push_owned(&a[n], fb_xasprintf("--target=%s", r->target));
		if (r->platform)
			fb_strv_push_owned(&a[n], fb_xasprintf("--platform=%s", r->platform));
		n++;
		if (r->cache_from->n && cache_import_argv(r, fetch, &a[n++], &err) < 0)
			rc = -1;
	} else {
		fb_strv_push(&a[n], fetch);
		fb_strv_push(&a[n], "image");
		/* fb-mkrootfs starts on the first layer's first bytes */
		fb_strv_push(&a[n], "--stream");
		fb_strv_push_owned(&a[n], fb_xasprintf("--ref=%s", r->image));
		fb_strv_push_owned(&a[n], fb_xasprintf("--store=%s", r->store));
		if (r->platform)
			fb_strv_push_owned(&a[n], fb_xasprintf("--platform=%s", r->platform));
		registry_flags(r, &a[n]);
		n++;
	}
	fb_strv_push(&a[n], mk);
	fb_strv_push_owned(&a[n], fb_xasprintf("--store=%s", r->store));
	/* an unchanged image keeps the tag's ext4 */
	fb_strv_push_owned(&a[n], fb_xasprintf("--tag=%s", r->tag));
	if (r->disk)
		fb_strv_push_owned(&a[n], fb_xasprintf("--disk-size=%s", r->disk));
	if (r->dockerfile) {
		if (r->no_cache)
			fb_strv_push(&a[n], "--no-cache");
		if (r->pre_build)
			fb_strv_push_owned(&a[n], fb_xasprintf("--pre-build-command=%s", r->pre_build));
		if (r->post_build)
			fb_strv_push_owned(&a[n], fb_xasprintf("--post-build-command=%s", r->post_build));
		if (r->run_cache)
			fb_strv_push_owned(&a[n], fb_xasprintf("--run-cache=%s", r->run_cache));
		for (size_t i = 0; i < r->secrets->n; i++)
			fb_strv_push_owned(&a[n], fb_xasprintf("--secret=%s", r->secrets->v[i]));
		for (size_t i = 0; i < r->insecure->n; i++)
			fb_strv_push_owned(&a[n], fb_xasprintf("--insecure-registry=%s", r->insecure->v[i]));
	}
	n++;
	fb_strv_push(&a[n], tg);
	fb_strv_push_owned(&a[n], fb_xasprintf("--store=%s", r->store));
	fb_strv_push(&a[n], "put");
	fb_strv_push(&a[n], r->tag);
	n++;
	if (r->cache_to && cache_export_argv(r, fetch, &a[n++], &err) < 0)
		rc = -1;
	char *const *const argvs[] = { a[0].v, a[1].v, a[2].v, a[3].v, a[4].v, a[5].v };
	int code = 0;
	rc = rc < 0 ? fail(&err) : fb_pipeline(argvs, n, &code, &err) < 0 ? fail(&err) : code;
	for (size_t i = 0; i < FB_ARRAY_LEN(a); i++)
		fb_strv_free(&a[i]);
	return rc;
}

static void build_req_free(struct build_req *r)
{
	free(r->store);
	free(r->run_cache);
}
#define FB_AUTOBUILDREQ __attribute__((cleanup(build_req_free)))

/* What rootfs and baseos share, from their flags. */
static void build_req_from(struct build_req *r, const struct common *co)
{
	r->dockerfile = co_flag(co, S_DOCKERFILE);
	r->context = co_flag(co, S_CONTEXT);
	r->tag = co_flag(co, S_TAG);
	r->disk = co_flag(co, S_DISK_SIZE);
	r->platform = co_flag(co, S_PLATFORM);
	r->target = co_flag(co, S_TARGET);
	r->no_cache = co_bool(co, S_NO_CACHE);
	r->build_args = co_list(co, S_BUILD_ARG);
	r->insecure = co_list(co, S_INSECURE);
	r->secrets = co_list(co, S_SECRET);
	r->cache_to = co_flag(co, S_CACHE_TO);
	r->cache_from = co_list(co, S_CACHE_FROM);
	r->epoch = co_flag(co, S_SOURCE_DATE_EPOCH);
}

/* After the flags: the store, the run cache and tracing (flags, else the
 * profile's); the pipeline; --timings' summary. */
static int build_with(struct common *co, const char *command, struct build_req *r)
{
	struct fb_err err = { 0 };
	if (resolve_common(co, command, &r->store, &err) < 0)
		return fail(&err);
	r->run_cache = co_setting(co, S_RUN_CACHE);
	int rc = run_build(r);
	if (co->spool) {
		fb_trace_finish();
		fb_trace_print_timings(co->spool);
	}
	return rc;
}

int cmd_rootfs(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_ROOTFS, rootfs_usage);
	struct build_req r FB_AUTOBUILDREQ = { 0 };
	int rc;
	if (!parse_flags(&co, argc, argv, FB_OPTS_NO_ARGS, &rc))
		return rc;
	build_req_from(&r, &co);
	r.image = co_flag(&co, S_DOCKER_IMAGE);
	r.creds = co_flag(&co, S_CREDS);
	r.pre_build = co_flag(&co, S_PRE_BUILD);
	r.post_build = co_flag(&co, S_POST_BUILD);
	/* the original built inside a Firecracker VM these configured; said
	 * once the flags are read (--log-format may come later) */
	for (size_t i = 0; i < co.o.nseen; i++) {
		const struct fb_opt_seen *f = &co.o.seen[i];
		if (f->id == S_DOCKER_IMAGE_BASE)
			fb_log(FB_LOG_WARN, "--docker-image-base is ignored: layers go straight into ext4, no base is needed");
		else if (f->id == S_SERVICE_INSTALLER)
			fb_warn("--%s=%s: ignored: no service file is needed: fb-init runs the image's ENTRYPOINT and CMD as "
				"the VM's service",
				f->spelling, f->value);
		else if ((f->id >= S_CNI_NET && f->id <= S_GRACEFUL) || (f->id >= S_BOOTSTRAP_KEY_SIZE && f->id <= S_BOOTSTRAP_IFACE))
			fb_warn("--%s%s%s: ignored: the build runs in fb-exec's sandbox on this host, not in a build microVM",
				f->spelling, f->value ? "=" : "", f->value ? f->value : "");
	}
	if ((!r.image && !r.dockerfile) || (r.image && r.dockerfile) || !r.tag)
		return fb_tool_usage_error("rootfs needs --tag and one of --dockerfile or --docker-image");
	if (r.image && (r.cache_to || r.cache_from->n))
		return fb_tool_usage_error("--cache-to and --cache-from go with --dockerfile (an image has no build steps "
					   "to cache)");
	if (r.image && (r.pre_build || r.post_build))
		return fb_tool_usage_error("--pre-build-command and --post-build-command go with --dockerfile (an image has "
					   "no build steps to run them around)");
	return build_with(&co, "rootfs", &r);
}

static const char baseos_usage[] =
	"Usage: firebuild baseos --dockerfile=SRC [--tag=NAME:VERSION] [FLAGS]\n"
	"Build a base operating system image from a Dockerfile with our own builder\n"
	"(no Docker) and tag it so FROM lines find it in the store.\n";

/* The tag a base gets by default: its last FROM, or the directory name. */
static char *default_tag(const char *dockerfile, struct fb_err *err)
{
	struct stat st;
	FB_AUTOFREE char *path = stat(dockerfile, &st) == 0 && S_ISDIR(st.st_mode) ? fb_xasprintf("%s/Dockerfile", dockerfile)
										   : fb_xstrdup(dockerfile);
	struct fb_buf b FB_AUTOBUF = FB_BUF_INIT;
	if (fb_read_file(path, &b, err) < 0)
		return NULL;
	char *tag = NULL;
	for (char *line = strtok(b.data, "\n"); line; line = strtok(NULL, "\n")) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (strncasecmp(line, "FROM", 4) || (line[4] != ' ' && line[4] != '\t'))
			continue;
		char *w = line + 4;
		while (*w == ' ' || *w == '\t' || (*w == '-' && w[1] == '-' && (w = strpbrk(w, " \t"))))
			w++;
		size_t n = strcspn(w, " \t\r");
		free(tag);
		tag = fb_xstrndup(w, n);
	}
	if (tag && !strcmp(tag, "scratch")) {
		free(tag);
		FB_AUTOFREE char *dir = fb_xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		char *base = strrchr(dir, '/');
		tag = fb_xasprintf("%s:latest", slash ? (base ? base + 1 : dir) : "base");
	} else if (tag && !strchr(strrchr(tag, '/') ? strrchr(tag, '/') : tag, ':')) {
		char *t = fb_xasprintf("%s:latest", tag);
		free(tag);
		tag = t;
	}
	if (!tag)
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: no FROM line to name the base after (give --tag)", path);
	return tag;
}

int cmd_baseos(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_BASEOS, baseos_usage);
	struct build_req r FB_AUTOBUILDREQ = { 0 };
	int rc;
	if (!parse_flags(&co, argc, argv, 0, &rc))
		return rc;
	if (co.o.nargs || !co_flag(&co, S_DOCKERFILE))
		return fb_tool_usage_error(co.o.nargs ? "unexpected argument" : "baseos needs --dockerfile");
	build_req_from(&r, &co);
	FB_AUTOFREE char *disk = fb_opts_given(&co.o, S_FS_SIZE) ? fb_xasprintf("%lldM", co_int(&co, S_FS_SIZE)) : NULL;
	if (disk)
		r.disk = disk;
	FB_AUTOFREE char *tag = NULL;
	if (!r.tag) {
		struct fb_err err = { 0 };
		tag = default_tag(r.dockerfile, &err);
		if (!tag)
			return fail(&err);
		r.tag = tag;
	}
	return build_with(&co, "baseos", &r);
}

static const char import_usage[] =
	"Usage: firebuild import TARBALL --tag=NAME:VERSION [--disk-size SIZE] [FLAGS]\n"
	"A root file system tar (gzip, zstd, xz, bzip2 or plain) becomes a tagged image:\n"
	"  fb-mkrootfs --layer TARBALL | fb-tag put NAME:VERSION\n";

int cmd_import(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_IMPORT, import_usage);
	int rc;
	if (!parse_flags(&co, argc, argv, 0, &rc))
		return rc;
	const char *tag = co_flag(&co, S_TAG), *disk = co_flag(&co, S_DISK_SIZE);
	if (co.o.nargs != 1 || !tag)
		return fb_tool_usage_error("import needs one TARBALL and --tag");
	struct fb_err err = { 0 };
	FB_AUTOFREE char *store = NULL;
	char mk[PATH_MAX + 64], tg[PATH_MAX + 64];
	if (resolve_common(&co, "import", &store, &err) < 0 || tool_path("fb-mkrootfs", mk, sizeof(mk), &err) < 0 ||
	    tool_path("fb-tag", tg, sizeof(tg), &err) < 0)
		return fail(&err);
	struct fb_strv a1 FB_AUTOSTRV = FB_STRV_INIT, a2 FB_AUTOSTRV = FB_STRV_INIT;
	fb_strv_push(&a1, mk);
	fb_strv_push_owned(&a1, fb_xasprintf("--store=%s", store));
	fb_strv_push_owned(&a1, fb_xasprintf("--layer=%s", co.o.args[0]));
	fb_strv_push(&a1, "--import");
	if (disk)
		fb_strv_push_owned(&a1, fb_xasprintf("--disk-size=%s", disk));
	fb_strv_push(&a2, tg);
	fb_strv_push_owned(&a2, fb_xasprintf("--store=%s", store));
	fb_strv_push(&a2, "put");
	fb_strv_push(&a2, tag);
	char *const *const argvs[] = { a1.v, a2.v };
	int code = 0;
	return fb_pipeline(argvs, 2, &code, &err) < 0 ? fail(&err) : code;
}
