/* fb-parse: a Dockerfile in, the build plan out (docs/tools/fb-parse.md).
 * Input: a path argument, or stdin holding the Dockerfile itself or an
 * fb-fetch document whose .source.dockerfile names it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dockerfile.h"
#include "err.h"
#include "json.h" /* fb_stdout_close */
#include "doc.h"
#include "log.h"
#include "plan.h"
#include "source.h"
#include "tool.h"
#include "util.h"

static const char usage[] =
	"Usage: fb-parse [OPTIONS] [DOCKERFILE]\n"
	"Parse a Dockerfile and write the build plan as JSON on stdout.\n"
	"\n"
	"The Dockerfile is DOCKERFILE, or stdin: either the Dockerfile text or a\n"
	"JSON document (from fb-fetch source) whose .source.dockerfile names it;\n"
	"the document is passed on with .plan added.\n"
	"\n"
	"Options:\n"
	"  --build-arg K=V       set a build argument (repeatable; K alone takes $K\n"
	"                        from the environment)\n"
	"  --target STAGE        the stage to build (default: the last one)\n"
	"  --platform OS/ARCH    the target platform (default: this host's)\n"
	"  --format FORMAT       json (the plan, default) or buildkit-dump (the syntax\n"
	"                        tree as BuildKit's parser tests print it)\n"
	"  --file-name NAME      the name used in messages for a Dockerfile on stdin\n"
	"  --log-format FORMAT   json or text logs on stderr\n"
	"  --help                show this help\n"
	"  --version             show the version\n"
	"\n"
	"Exit status: 0 ok, 1 failed, 2 invalid Dockerfile or usage, 3 not found.\n";

enum { OPT_BUILD_ARG = FB_OPT_FIRST_TOOL_OPT, OPT_TARGET, OPT_PLATFORM, OPT_FORMAT, OPT_FILE_NAME };

static const struct option longopts[] = {
	FB_COMMON_LONGOPTS,
	{ "build-arg", required_argument, NULL, OPT_BUILD_ARG },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "file-name", required_argument, NULL, OPT_FILE_NAME },
	{ NULL, 0, NULL, 0 },
};

struct options {
	struct fb_plan_opts plan;
	bool dump;
	const char *path;
	const char *file_name;
};

static int parse_args(int argc, char **argv, struct options *o, int *exit_now)
{
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, exit_now)) {
			if (*exit_now >= 0)
				return -1;
			continue;
		}
		switch (c) {
		case OPT_BUILD_ARG: {
			const char *eq = strchr(optarg, '=');
			if (eq == optarg) {
				*exit_now = fb_tool_usage_error("--build-arg %s: expected NAME=VALUE", optarg);
				return -1;
			}
			if (eq) {
				FB_AUTOFREE char *k = fb_xstrndup(optarg, (size_t)(eq - optarg));
				fb_vars_set(&o->plan.build_args, k, eq + 1);
			} else if (getenv(optarg)) {
				fb_vars_set(&o->plan.build_args, optarg, getenv(optarg));
			}
			break;
		}
		case OPT_TARGET:
			o->plan.target = optarg;
			break;
		case OPT_PLATFORM:
			if (!strchr(optarg, '/')) {
				*exit_now = fb_tool_usage_error("--platform %s: expected OS/ARCH[/VARIANT]", optarg);
				return -1;
			}
			o->plan.platform = optarg;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "buildkit-dump"))
				o->dump = true;
			else if (strcmp(optarg, "json")) {
				*exit_now = fb_tool_usage_error("--format %s: expected json or buildkit-dump", optarg);
				return -1;
			}
			break;
		case OPT_FILE_NAME:
			o->file_name = optarg;
			break;
		default:
			*exit_now = fb_tool_bad_option(argv);
			return -1;
		}
	}
	if (optind < argc)
		o->path = argv[optind++];
	if (optind < argc) {
		*exit_now = fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

/* A Dockerfile from a file, up to the limit. */
static int read_dockerfile(const char *path, struct fb_buf *text, struct fb_err *err)
{
	FB_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fb_err_errno(err, errno, "unable to open %s", path);
	if (fb_read_fd_max(fd, text, FB_DF_MAX_SIZE, err) < 0) {
		if (!strcmp(err->kind, "too_large"))
			fb_err_set(err, FB_EXIT_USAGE, "too_large", "%s: the Dockerfile is over %zu bytes (4 MiB), the limit", path,
				   FB_DF_MAX_SIZE);
		else
			fb_err_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

/* Read the Dockerfile text; *doc gets the input document in document mode. */
static int read_input(struct options *o, struct fb_buf *text, struct fb_doc **doc, char **name, char **target,
		      struct fb_err *err)
{
	if (o->path) {
		*name = fb_xstrdup(o->path);
		return read_dockerfile(o->path, text, err);
	}
	/* the Dockerfile itself, or a small document that names it */
	struct fb_buf in = FB_BUF_INIT;
	if (fb_read_fd_max(0, &in, FB_DF_MAX_SIZE, err) < 0) {
		if (!strcmp(err->kind, "too_large"))
			fb_err_set(err, FB_EXIT_USAGE, "too_large", "%s: the input is over %zu bytes (4 MiB), the limit",
				   o->file_name ? o->file_name : "Dockerfile", FB_DF_MAX_SIZE);
		fb_buf_free(&in);
		return -1;
	}
	size_t i = 0;
	while (i < in.len && fb_ascii_isspace((unsigned char)in.data[i]))
		i++;
	if (i < in.len && in.data[i] == '{') {
		/* A JSON document from an earlier tool. */
		int r = fb_doc_parse(in.data, in.len, doc, err);
		fb_buf_free(&in);
		if (r < 0 || fb_doc_is_error(*doc))
			return r;
		struct fb_source src;
		bool present;
		if (fb_source_from_doc(*doc, FB_SOURCE_FOR_PARSE, &src, &present, err) < 0)
			return -1;
		*name = src.dockerfile;
		src.dockerfile = NULL;
		*target = src.target;
		src.target = NULL;
		fb_source_free(&src);
		return read_dockerfile(*name, text, err);
	}
	*name = fb_xstrdup(o->file_name ? o->file_name : "Dockerfile");
	*text = in;
	return 0;
}

static void log_warnings(const struct fb_plan *plan, const char *file)
{
	for (size_t i = 0; i < plan->nwarnings; i++) {
		const struct fb_plan_warning *w = &plan->warnings[i];
		char where[600];
		if (w->line > 0)
			snprintf(where, sizeof(where), "%s:%d", file, w->line);
		else
			snprintf(where, sizeof(where), "%s", file);
		fb_log_fields(FB_LOG_WARN, w->message ? w->message : "", "where", where, "rule", w->rule ? w->rule : "",
			      (char *)NULL);
	}
}

/* Parse (and dump, or plan) once the input is read; the exit code. */
static int parse(struct options *o, const struct fb_buf *text, const char *name, struct fb_doc *doc)
{
	struct fb_err err = { 0 };
	struct fb_df df = { 0 };
	int rc = 0;
	if (fb_df_parse(fb_buf_str(text), text->len, name, &df, &err) < 0) {
		rc = o->dump ? (fb_log_failure(&err), err.code) : fb_tool_fail(&err);
	} else if (o->dump) {
		struct fb_buf out = FB_BUF_INIT;
		fb_df_dump(&df, &out);
		fwrite(out.data, 1, out.len, stdout);
		fb_buf_free(&out);
		if (fb_stdout_close(&err) < 0) {
			fb_log_failure(&err);
			rc = FB_EXIT_FAILED;
		}
	} else {
		struct fb_plan plan;
		o->plan.file = name;
		if (fb_plan_build(&df, &o->plan, &plan, &err) < 0) {
			rc = fb_tool_fail(&err);
		} else {
			log_warnings(&plan, name);
			fb_plan_doc_set(doc, &plan);
			fb_plan_free(&plan);
			rc = -1; /* the caller writes the document */
		}
	}
	fb_df_free(&df);
	return rc;
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-parse");
	struct options o = { 0 };
	int exit_now = -1;
	if (parse_args(argc, argv, &o, &exit_now) < 0) {
		fb_vars_free(&o.plan.build_args);
		return exit_now;
	}

	struct fb_err err = { 0 };
	struct fb_buf text = FB_BUF_INIT;
	struct fb_doc *doc = NULL;
	FB_AUTOFREE char *name = NULL, *target = NULL;
	int rc;
	if (read_input(&o, &text, &doc, &name, &target, &err) < 0) {
		rc = o.dump ? (fb_log_failure(&err), err.code) : fb_tool_fail(&err);
	} else if (doc && fb_doc_is_error(doc)) {
		rc = fb_doc_pass_error(doc);
		doc = NULL;
	} else {
		if (!o.plan.target)
			o.plan.target = target;
		if (!doc)
			doc = fb_doc_new();
		rc = parse(&o, &text, name, doc);
		if (rc < 0) {
			rc = fb_doc_finish(doc);
			doc = NULL;
		}
	}
	fb_doc_free(doc);
	fb_buf_free(&text);
	fb_vars_free(&o.plan.build_args);
	return rc;
}
