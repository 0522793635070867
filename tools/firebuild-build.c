/* firebuild rootfs, baseos and import: Dockerfiles and images into tagged
 * root file systems, as pipelines of fb-fetch, fb-parse, fb-mkrootfs and
 * fb-tag. */
#include <errno.h>
#include <getopt.h>
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
#include "tool.h"
#include "trace.h"
#include "util.h"

#include "firebuild.h"

static const char rootfs_usage[] =
	"Usage: firebuild rootfs (--dockerfile=SRC | --docker-image=REF) --tag=NAME:VERSION [FLAGS]\n"
	"Build a Dockerfile, or pull an image, into a tagged ext4 root file system:\n"
	"  fb-fetch source --dockerfile SRC | fb-parse | fb-mkrootfs | fb-tag put NAME:VERSION\n"
	"  fb-fetch image --ref REF | fb-mkrootfs | fb-tag put NAME:VERSION\n"
	"\n"
	"  --dockerfile SRC            a path, an http(s) URL, or a git source\n"
	"                              (git+https://HOST/REPO.git:/DIR/Dockerfile#REF)\n"
	"  --context DIR               the build context (default: the Dockerfile's directory)\n"
	"  --build-arg K=V             a build argument (repeatable)\n"
	"  --target STAGE              the stage to build (alias: --dockerfile-stage)\n"
	"  --no-cache                  run every step, ignoring the build cache\n"
	"  --secret id=ID,src=FILE     a RUN --mount=type=secret source (repeatable)\n"
	"  --pre-build-command CMD     run CMD (sh -c) in the build sandbox before the\n"
	"                              target stage's first step (cached like a RUN)\n"
	"  --post-build-command CMD    and after its last step\n"
	"  --timings                   print where the time went at the end\n"
	"  --docker-image REF          registry reference, docker-archive:PATH,\n"
	"                              oci:DIR[:TAG] or oci-archive:PATH[:TAG]\n"
	"  --tag NAME:VERSION          the tag to give it (required)\n"
	"  --disk-size SIZE            file system size (default: content + headroom)\n"
	"  --platform OS/ARCH          platform to pick from a manifest list\n"
	"  --insecure-registry HOST    plain http to HOST (repeatable)\n"
	"  --creds USER:PASSWORD       registry credentials\n"
	"  --docker-image-base IMAGE   accepted for the original firebuild; not needed\n"
	"                              (layers are converted directly)\n"
	"Accepted for the original firebuild, which built inside a Firecracker VM; here\n"
	"the build runs in fb-exec's sandbox, so these are ignored with a warning:\n"
	"  --bootstrap-certs-key-size N, --bootstrap-certs-validity D,\n"
	"  --bootstrap-initial-communication-timeout D, --bootstrap-server-bind-interface IF,\n"
	"  and the machine flags of run: --cni-network-name, --cpu (1), --cpu-template,\n"
	"  --ht-enabled, --ip-address, --kernel-args, --mem (128), --no-mmds,\n"
	"  --root-drive-partuuid, --ssh-user, --vmlinux-id, --log-firecracker-http-calls,\n"
	"  --shutdown-graceful-timeout-seconds (30) (also spelt --machine-cni-network-name,\n"
	"  --machine-ssh-user, --machine-vmlinux-id, --resources-cpu, --resources-mem),\n"
	"  and --service-file-installer FILE (fb-init runs the image's ENTRYPOINT/CMD)\n";

struct build_req {
	const char *dockerfile, *context, *image, *tag, *disk, *platform, *creds, *target, *pre_build, *post_build;
	char *run_cache;
	struct fb_strv build_args, insecure, secrets;
	bool no_cache;
	char *store;
};

/* The pipeline for a Dockerfile or an image, ending in fb-tag put. */
static int run_build(struct build_req *r)
{
	struct fb_err err = { 0 };
	char fetch[PATH_MAX + 64], parse[PATH_MAX + 64], mk[PATH_MAX + 64], tg[PATH_MAX + 64];
	if (tool_path("fb-fetch", fetch, sizeof(fetch), &err) < 0 || tool_path("fb-parse", parse, sizeof(parse), &err) < 0 ||
	    tool_path("fb-mkrootfs", mk, sizeof(mk), &err) < 0 || tool_path("fb-tag", tg, sizeof(tg), &err) < 0)
		return fail(&err);
	struct fb_strv a[4] = { FB_STRV_INIT, FB_STRV_INIT, FB_STRV_INIT, FB_STRV_INIT };
	size_t n = 0;
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
		for (size_t i = 0; i < r->build_args.n; i++)
			fb_strv_push_owned(&a[n], fb_xasprintf("--build-arg=%s", r->build_args.v[i]));
		if (r->target)
			fb_strv_push_owned(&a[n], fb_xasprintf("--target=%s", r->target));
		if (r->platform)
			fb_strv_push_owned(&a[n], fb_xasprintf("--platform=%s", r->platform));
		n++;
	} else {
		fb_strv_push(&a[n], fetch);
		fb_strv_push(&a[n], "image");
		fb_strv_push_owned(&a[n], fb_xasprintf("--ref=%s", r->image));
		fb_strv_push_owned(&a[n], fb_xasprintf("--store=%s", r->store));
		if (r->platform)
			fb_strv_push_owned(&a[n], fb_xasprintf("--platform=%s", r->platform));
		if (r->creds)
			fb_strv_push_owned(&a[n], fb_xasprintf("--creds=%s", r->creds));
		for (size_t i = 0; i < r->insecure.n; i++)
			fb_strv_push_owned(&a[n], fb_xasprintf("--insecure-registry=%s", r->insecure.v[i]));
		n++;
	}
	fb_strv_push(&a[n], mk);
	fb_strv_push_owned(&a[n], fb_xasprintf("--store=%s", r->store));
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
		for (size_t i = 0; i < r->secrets.n; i++)
			fb_strv_push_owned(&a[n], fb_xasprintf("--secret=%s", r->secrets.v[i]));
		for (size_t i = 0; i < r->insecure.n; i++)
			fb_strv_push_owned(&a[n], fb_xasprintf("--insecure-registry=%s", r->insecure.v[i]));
	}
	n++;
	fb_strv_push(&a[n], tg);
	fb_strv_push_owned(&a[n], fb_xasprintf("--store=%s", r->store));
	fb_strv_push(&a[n], "put");
	fb_strv_push(&a[n], r->tag);
	n++;
	char *const *const argvs[] = { a[0].v, a[1].v, a[2].v, a[3].v };
	int code = 0, rc = fb_pipeline(argvs, n, &code, &err) < 0 ? fail(&err) : code;
	for (size_t i = 0; i < 4; i++)
		fb_strv_free(&a[i]);
	return rc;
}

static void build_req_free(struct build_req *r)
{
	fb_strv_free(&r->build_args);
	fb_strv_free(&r->insecure);
	fb_strv_free(&r->secrets);
	free(r->store);
	free(r->run_cache);
}

/* After the flags: the store, the run cache and tracing (flags, else the
 * profile's); the pipeline; --timings' summary. */
static int build_with(struct common *co, const char *command, struct build_req *r)
{
	struct fb_err err = { 0 };
	if (resolve_common(co, command, &r->store, &err) < 0)
		return fail(&err);
	r->run_cache = co_setting(co, co->run_cache, "run_cache");
	int rc = run_build(r);
	if (co->spool) {
		fb_trace_finish();
		fb_trace_print_timings(co->spool);
	}
	return rc;
}

enum { B_CONTEXT = 0x2800, B_BUILD_ARG, B_TARGET, B_NO_CACHE, B_SECRET, B_FS_SIZE, B_PRE, B_POST, B_BOOTSTRAP, B_SERVICE };

/* Flags rootfs and baseos share; 1 when c was one of them. */
static int build_opt(int c, struct build_req *r)
{
	switch (c) {
	case O_DOCKERFILE: r->dockerfile = optarg; return 1;
	case O_TAG: r->tag = optarg; return 1;
	case O_DISK_SIZE: r->disk = optarg; return 1;
	case O_PLATFORM: r->platform = optarg; return 1;
	case O_INSECURE: fb_strv_push(&r->insecure, optarg); return 1;
	case B_CONTEXT: r->context = optarg; return 1;
	case B_BUILD_ARG: fb_strv_push(&r->build_args, optarg); return 1;
	case B_TARGET: r->target = optarg; return 1;
	case B_NO_CACHE: r->no_cache = true; return 1;
	case B_SECRET: fb_strv_push(&r->secrets, optarg); return 1;
	}
	return 0;
}

#define BUILD_OPTS                                                       \
	{ "dockerfile", required_argument, NULL, O_DOCKERFILE },         \
	{ "tag", required_argument, NULL, O_TAG },                       \
	{ "disk-size", required_argument, NULL, O_DISK_SIZE },           \
	{ "platform", required_argument, NULL, O_PLATFORM },             \
	{ "insecure-registry", required_argument, NULL, O_INSECURE },    \
	{ "context", required_argument, NULL, B_CONTEXT },               \
	{ "build-arg", required_argument, NULL, B_BUILD_ARG },           \
	{ "target", required_argument, NULL, B_TARGET },                 \
	{ "dockerfile-stage", required_argument, NULL, B_TARGET },       \
	{ "no-cache", no_argument, NULL, B_NO_CACHE },                   \
	{ "secret", required_argument, NULL, B_SECRET },                 \
	{ "timings", no_argument, NULL, M_TIMINGS }

int cmd_rootfs(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		BUILD_OPTS,
		{ "docker-image", required_argument, NULL, O_DOCKER_IMAGE },
		{ "docker-image-base", required_argument, NULL, O_DOCKER_IMAGE_BASE },
		{ "creds", required_argument, NULL, O_CREDS },
		{ "pre-build-command", required_argument, NULL, B_PRE },
		{ "post-build-command", required_argument, NULL, B_POST },
		{ "bootstrap-certs-key-size", required_argument, NULL, B_BOOTSTRAP },
		{ "bootstrap-certs-validity", required_argument, NULL, B_BOOTSTRAP },
		{ "bootstrap-initial-communication-timeout", required_argument, NULL, B_BOOTSTRAP },
		{ "bootstrap-server-bind-interface", required_argument, NULL, B_BOOTSTRAP },
		{ "service-file-installer", required_argument, NULL, B_SERVICE },
		MACHINE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt_index = 0;
	struct fb_strv ignored = FB_STRV_INIT;
	struct common co = COMMON_INIT(rootfs_usage);
	struct build_req r = { 0 };
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, &opt_index)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
			continue;
		}
		if (build_opt(c, &r))
			continue;
		if (c == M_TIMINGS) {
			co.timings = true;
			continue;
		}
		if (c == B_BOOTSTRAP || (c >= M_CNI_NET && c < M_TIMINGS)) {
			/* the original built inside a Firecracker VM these configured;
			 * said once the flags are read (--log-format may come later) */
			fb_strv_push_owned(&ignored, fb_xasprintf("--%s%s%s", opts[opt_index].name, optarg ? "=" : "",
								  optarg ? optarg : ""));
			continue;
		}
		if (c == B_SERVICE) {
			fb_strv_push_owned(&ignored, fb_xasprintf("--service-file-installer=%s", optarg));
			continue;
		}
		switch (c) {
		case B_PRE: r.pre_build = optarg; break;
		case B_POST: r.post_build = optarg; break;
		case O_DOCKER_IMAGE: r.image = optarg; break;
		case O_DOCKER_IMAGE_BASE:
			fb_log(FB_LOG_WARN, "--docker-image-base is ignored: layers go straight into ext4, no base is needed");
			break;
		case O_CREDS: r.creds = optarg; break;
		default:
			rc = fb_tool_bad_option(argv);
			goto out;
		}
	}
	if (optind < argc) {
		rc = fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	for (size_t i = 0; i < ignored.n; i++)
		fb_warn("%s: ignored: %s", ignored.v[i],
			fb_str_has_prefix(ignored.v[i], "--service-file-installer")
				? "no service file is needed: fb-init runs the image's ENTRYPOINT and CMD as the VM's service"
				: "the build runs in fb-exec's sandbox on this host, not in a build microVM");
	if ((!r.image && !r.dockerfile) || (r.image && r.dockerfile) || !r.tag) {
		rc = fb_tool_usage_error("rootfs needs --tag and one of --dockerfile or --docker-image");
		goto out;
	}
	if (r.image && (r.pre_build || r.post_build)) {
		rc = fb_tool_usage_error("--pre-build-command and --post-build-command go with --dockerfile (an image has no "
					 "build steps to run them around)");
		goto out;
	}
	rc = build_with(&co, "rootfs", &r);
out:
	fb_strv_free(&ignored);
	common_free(&co);
	build_req_free(&r);
	return rc;
}

static const char baseos_usage[] =
	"Usage: firebuild baseos --dockerfile=SRC [--tag=NAME:VERSION] [FLAGS]\n"
	"Build a base operating system image from a Dockerfile with our own builder\n"
	"(no Docker) and tag it so FROM lines find it in the store.\n"
	"\n"
	"  --dockerfile SRC            a Dockerfile, or a directory holding one\n"
	"                              (baseos/busybox, baseos/debian/bookworm, ...)\n"
	"  --tag NAME:VERSION          default: the FROM value (for FROM scratch: the\n"
	"                              directory's name, version latest)\n"
	"  --filesystem-size-mbs N     file system size in MiB (default: content + headroom;\n"
	"                              500 in the original)\n"
	"  --build-arg K=V, --context DIR, --no-cache, --disk-size SIZE, --timings\n";

/* The tag a base gets by default: its last FROM, or the directory name. */
static char *default_tag(const char *dockerfile, struct fb_err *err)
{
	struct stat st;
	char *path = stat(dockerfile, &st) == 0 && S_ISDIR(st.st_mode) ? fb_xasprintf("%s/Dockerfile", dockerfile)
									: fb_xstrdup(dockerfile);
	struct fb_buf b = FB_BUF_INIT;
	char *tag = NULL;
	if (fb_read_file(path, &b, err) == 0) {
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
			char *dir = fb_xstrdup(path);
			char *slash = strrchr(dir, '/');
			if (slash)
				*slash = '\0';
			char *base = strrchr(dir, '/');
			tag = fb_xasprintf("%s:latest", slash ? (base ? base + 1 : dir) : "base");
			free(dir);
		} else if (tag && !strchr(strrchr(tag, '/') ? strrchr(tag, '/') : tag, ':')) {
			char *t = fb_xasprintf("%s:latest", tag);
			free(tag);
			tag = t;
		}
		if (!tag)
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: no FROM line to name the base after (give --tag)", path);
	}
	fb_buf_free(&b);
	free(path);
	return tag;
}

int cmd_baseos(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		BUILD_OPTS,
		{ "filesystem-size-mbs", required_argument, NULL, B_FS_SIZE },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = COMMON_INIT(baseos_usage);
	struct build_req r = { 0 };
	char *tag = NULL, *disk = NULL;
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
			continue;
		}
		if (build_opt(c, &r))
			continue;
		if (c == M_TIMINGS) {
			co.timings = true;
			continue;
		}
		if (c == B_FS_SIZE) {
			char *end;
			long mb = strtol(optarg, &end, 10);
			if (*end || mb <= 0) {
				rc = fb_tool_usage_error("--filesystem-size-mbs %s: expected a number of MiB", optarg);
				goto out;
			}
			free(disk);
			disk = fb_xasprintf("%ldM", mb);
			r.disk = disk;
			continue;
		}
		rc = fb_tool_bad_option(argv);
		goto out;
	}
	if (optind < argc || !r.dockerfile) {
		rc = fb_tool_usage_error(optind < argc ? "unexpected argument" : "baseos needs --dockerfile");
		goto out;
	}
	struct fb_err err = { 0 };
	if (!r.tag) {
		tag = default_tag(r.dockerfile, &err);
		if (!tag) {
			rc = fail(&err);
			goto out;
		}
		r.tag = tag;
	}
	rc = build_with(&co, "baseos", &r);
out:
	common_free(&co);
	build_req_free(&r);
	free(tag);
	free(disk);
	return rc;
}

static const char import_usage[] =
	"Usage: firebuild import TARBALL --tag=NAME:VERSION [--disk-size SIZE] [FLAGS]\n"
	"A root file system tar (gzip, zstd, xz, bzip2 or plain) becomes a tagged image:\n"
	"  fb-mkrootfs --layer TARBALL | fb-tag put NAME:VERSION\n";

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "tag", required_argument, NULL, O_TAG },
		{ "disk-size", required_argument, NULL, O_DISK_SIZE },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = COMMON_INIT(import_usage);
	const char *tag = NULL, *disk = NULL;
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				common_free(&co);
				return exit_now;
			}
			continue;
		}
		if (c == O_TAG)
			tag = optarg;
		else if (c == O_DISK_SIZE)
			disk = optarg;
		else {
			common_free(&co);
			return fb_tool_bad_option(argv);
		}
	}
	if (optind + 1 != argc || !tag)
		return fb_tool_usage_error("import needs one TARBALL and --tag");
	struct fb_err err = { 0 };
	char *store = NULL;
	char mk[PATH_MAX + 64], tg[PATH_MAX + 64];
	if (resolve_common(&co, "import", &store, &err) < 0 || tool_path("fb-mkrootfs", mk, sizeof(mk), &err) < 0 ||
	    tool_path("fb-tag", tg, sizeof(tg), &err) < 0) {
		rc = fail(&err);
		goto out;
	}
	struct fb_strv a1 = FB_STRV_INIT, a2 = FB_STRV_INIT;
	fb_strv_push(&a1, mk);
	fb_strv_push_owned(&a1, fb_xasprintf("--store=%s", store));
	fb_strv_push_owned(&a1, fb_xasprintf("--layer=%s", argv[optind]));
	fb_strv_push(&a1, "--import");
	if (disk)
		fb_strv_push_owned(&a1, fb_xasprintf("--disk-size=%s", disk));
	fb_strv_push(&a2, tg);
	fb_strv_push_owned(&a2, fb_xasprintf("--store=%s", store));
	fb_strv_push(&a2, "put");
	fb_strv_push(&a2, tag);
	char *const *const argvs[] = { a1.v, a2.v };
	int code = 0;
	rc = fb_pipeline(argvs, 2, &code, &err) < 0 ? fail(&err) : code;
	fb_strv_free(&a1);
	fb_strv_free(&a2);
out:
	free(store);
	common_free(&co);
	return rc;
}

