/* From a Dockerfile syntax tree to the build plan (docs/plan.md): stages,
 * checked instructions, flags parsed, ARG/ENV expansion where the Dockerfile
 * language does it, the target and the stages it needs. The plan is a
 * struct; plan_doc.c is its codec (fb-parse encodes it, fb-fetch and the
 * builder decode it). */
#ifndef FB_PLAN_H
#define FB_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "doc.h"
#include "dockerfile.h"
#include "err.h"
#include "shlex.h"
#include "util.h"

struct fb_plan_opts {
	const char *file;           /* the name errors and the plan use */
	struct fb_vars build_args;  /* --build-arg K=V, in order */
	const char *target;         /* --target, or NULL for the last stage */
	const char *platform;       /* target platform, NULL: the host's */
};

/* The instructions a stage may hold (FROM starts a stage). */
enum fb_plan_cmd {
	FB_CMD_ADD,
	FB_CMD_ARG,
	FB_CMD_CMD,
	FB_CMD_COPY,
	FB_CMD_ENTRYPOINT,
	FB_CMD_ENV,
	FB_CMD_EXPOSE,
	FB_CMD_HEALTHCHECK,
	FB_CMD_LABEL,
	FB_CMD_MAINTAINER,
	FB_CMD_ONBUILD,
	FB_CMD_RUN,
	FB_CMD_SHELL,
	FB_CMD_STOPSIGNAL,
	FB_CMD_USER,
	FB_CMD_VOLUME,
	FB_CMD_WORKDIR,
	FB_CMD_COUNT,
};
/* "RUN" for FB_CMD_RUN; -1 from fb_plan_cmd_of for what is none. */
const char *fb_plan_cmd_name(enum fb_plan_cmd c);
int fb_plan_cmd_of(const char *upper_name);

/* COPY --from, RUN --mount from=: an earlier stage or an image. */
struct fb_plan_from {
	bool set;
	int stage;   /* -1: an image */
	char *name;  /* the stage's name, or NULL */
	char *image;
};

/* An ARG: {name, default?, value?, line}. */
struct fb_plan_arg {
	char *name;
	char *def;   /* NULL: none written */
	char *value; /* NULL: no value (needs --build-arg) */
	int line;
};

struct fb_plan_pair {
	char *key, *value;
};

/* A RUN heredoc: {name, fd?, expand, chomp, body}. */
struct fb_plan_heredoc {
	char *name;
	int fd; /* 0: none given */
	bool expand, chomp;
	char *body;
};

/* A COPY/ADD source: {path} or {heredoc, expand, body}. */
struct fb_plan_source {
	char *path;
	char *heredoc;
	bool expand;
	char *body;
};

/* RUN --mount. */
struct fb_plan_mount {
	char *type; /* bind, cache, tmpfs, secret, ssh */
	char *target;
	char *source, *id, *sharing, *mode, *env;
	char *size;         /* tmpfs size as written ("10m") */
	int64_t size_bytes; /* or as a number of bytes; -1: none */
	int64_t uid, gid;   /* -1: none */
	int required;       /* -1: not given */
	bool readonly;
	struct fb_plan_from from;
};

/* HEALTHCHECK: test and durations in ns (-1: not given). */
struct fb_plan_health {
	bool has_test;
	struct fb_strv test;
	int64_t interval, timeout, start_period, start_interval, retries;
};

/* Booleans a flag may give or not: -1 not given. */
struct fb_plan_ins {
	enum fb_plan_cmd cmd;
	int line, end_line;
	char *original;
	struct fb_strv flags;     /* the raw --flag words */
	/* RUN, CMD, ENTRYPOINT, SHELL */
	bool has_form, exec_form;
	bool has_args;
	struct fb_strv args;      /* exec: argv; shell: one string */
	struct fb_plan_heredoc *heredocs;
	size_t nheredocs;
	bool has_mounts;
	struct fb_plan_mount *mounts;
	size_t nmounts;
	char *network, *security;
	bool has_args_env;
	struct fb_vars args_env;  /* the ARG values a RUN sees */
	/* COPY, ADD */
	struct fb_plan_source *sources;
	size_t nsources;
	char *dest, *chown, *chmod, *checksum;
	struct fb_plan_from from;
	int link, parents, keep_git_dir, unpack;
	bool has_exclude;
	struct fb_strv exclude;
	/* ENV, LABEL */
	struct fb_plan_pair *pairs;
	size_t npairs;
	/* ARG */
	struct fb_plan_arg *arg_list;
	size_t nargs;
	/* EXPOSE (ports), VOLUME (paths) */
	struct fb_strv ports, paths;
	/* USER, WORKDIR, STOPSIGNAL, MAINTAINER: the one value */
	char *value;
	struct fb_plan_health *health;
	char *trigger, *trigger_cmd;
	/* words the builder expands again once it knows the base's ENV */
	bool has_raw_args;
	struct fb_strv unresolved, raw_args;
};

enum fb_plan_base { FB_BASE_SCRATCH, FB_BASE_STAGE, FB_BASE_IMAGE, FB_BASE_UNRESOLVED };

struct fb_plan_stage {
	int index;
	char *name;        /* lower case, or NULL */
	char *base;        /* NULL: expanded to nothing */
	char *base_raw;    /* as written, when it differs */
	enum fb_plan_base base_type;
	int base_stage;    /* FB_BASE_STAGE: an earlier stage */
	char *platform;
	int line;
	char *original;
	struct fb_plan_ins *ins;
	size_t nins;
	bool needed;
	int *depends_on;   /* the stages it reads */
	size_t ndepends;
	struct fb_vars env;
	bool env_complete;
};

struct fb_plan_warning {
	char *rule, *message;
	int line;
};

struct fb_plan {
	int version;
	char *file;
	char escape;
	struct fb_vars directives;
	char *platform, *build_platform;
	struct fb_plan_arg *args; /* global ARGs */
	size_t nargs;
	struct fb_vars build_args;
	struct fb_strv unused_build_args;
	bool has_target;
	int target;                /* the stage to build */
	char *target_name;
	struct fb_plan_stage *stages;
	size_t nstages;
	struct fb_plan_warning *warnings;
	size_t nwarnings;
};

void fb_plan_free(struct fb_plan *p);
void fb_plan_ins_init(struct fb_plan_ins *in, enum fb_plan_cmd cmd);
void fb_plan_ins_free(struct fb_plan_ins *in);
void fb_plan_ins_copy(struct fb_plan_ins *dst, const struct fb_plan_ins *src);

/* Builds the plan. */
int fb_plan_build(const struct fb_df *df, const struct fb_plan_opts *o, struct fb_plan *out, struct fb_err *err)
	FB_MUST_CHECK;

/* ---- the codec (plan_doc.c) ---- */

/* .plan = p */
void fb_plan_doc_set(struct fb_doc *d, const struct fb_plan *p);
/* Decode and check .plan (docs/plan.md, "Checked where it is read"):
 * FB_EXIT_USAGE naming the member (.plan.stages[1].instructions[0].dest:
 * missing (expected a string)). *present false (and 0) when the document
 * has no .plan member and required is false; a missing one is an error
 * when it is. */
int fb_plan_from_doc(const struct fb_doc *d, bool required, struct fb_plan *p, bool *present, struct fb_err *err)
	FB_MUST_CHECK;
/* The text of an instruction that a step's cache key hashes: every
 * member but where it is written (line, end_line, original) and the
 * parser's notes (unresolved, raw_args), keys sorted. Owned. */
char *fb_plan_ins_key_text(const struct fb_plan_ins *in);

/* Go's time.ParseDuration, in nanoseconds. */
int fb_parse_duration(const char *s, long long *ns);

#endif
