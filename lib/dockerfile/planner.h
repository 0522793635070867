/* Inside lib/dockerfile's planner (plan.c, plan_instr.c): the state of
 * one plan being built. Not for other modules. */
#ifndef FB_PLANNER_H
#define FB_PLANNER_H

#include <stdbool.h>
#include <stdint.h>

#include "dockerfile.h"
#include "err.h"
#include "plan.h"
#include "shlex.h"
#include "util.h"

struct stage {
	int index;
	bool open;                 /* based on an image: its ENV is not known here */
	struct fb_vars env;        /* ENV so far */
	struct fb_vars args;       /* ARGs declared in the stage (value may be NULL-ish) */
	struct fb_vars args_unset; /* a set: declared without a value */
	struct fb_vars deps;       /* a set: stage indexes this stage reads, as strings */
	bool has_abs_workdir;
	int ncmd, nentrypoint, nhealth;
	struct fb_plan_stage *out; /* in the plan */
};

struct plan {
	const struct fb_plan_opts *o;
	const struct fb_df *df;
	char escape;
	struct fb_plan *out;
	struct fb_vars meta;            /* global ARG values (incl. the platform args) */
	struct fb_vars meta_declared;   /* a set: names declared by ARG before FROM */
	struct fb_vars used_build_args; /* a set */
	struct stage *stages;
	size_t nstages, cstages;
	struct fb_vars stage_names;     /* name -> index */
	struct fb_vars skip_rules;      /* a set, lower case */
	bool skip_all;
	bool lint_error;
	/* expansion bookkeeping */
	struct stage *cur;
	struct fb_vars unresolved; /* a set, in the order met */
	uint64_t work;             /* pattern-matching steps (lib/shlex's limit) */
	size_t expanded;           /* bytes of values expansion made or copied */
};

char *plan_lower(const char *s);
bool plan_set_has(const struct fb_vars *s, const char *name);
void plan_set_add(struct fb_vars *s, const char *name);
void plan_set_del(struct fb_vars *s, const char *name);
int plan_count_expanded(struct plan *p, size_t n, struct fb_err *err) FB_MUST_CHECK;
void plan_warn(struct plan *p, const char *rule, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void plan_use_build_arg(struct plan *p, const char *name);
const char *plan_lookup_stage(void *ctx, const char *name);
int plan_expand(struct plan *p, const char *word, char **out, struct fb_err *err) FB_MUST_CHECK;
int plan_expand_strv(struct plan *p, const struct fb_strv *in, size_t from, size_t to, struct fb_strv *out,
		     struct fb_err *err) FB_MUST_CHECK;
int plan_stage_by_name(struct plan *p, const char *name);
bool plan_is_integer(const char *s);
int plan_resolve_from(struct plan *p, const char *kw, const char *from, struct fb_plan_from *o, struct fb_err *err)
	FB_MUST_CHECK;

/* plan_mount.c: RUN --mount=... (nssh: the ssh mounts before it) */
int plan_parse_mount(struct plan *p, const char *spec, int nssh, struct fb_plan_mount *m, struct fb_err *err)
	FB_MUST_CHECK;

/* plan_instr.c */
bool plan_known(const char *kw);
int plan_unknown_instruction(const char *kw, struct fb_err *err);
int plan_no_flags(const struct fb_df_node *n, const char *kw, struct fb_err *err) FB_MUST_CHECK;
int plan_arg_instr(struct plan *p, const struct fb_df_node *n, bool meta, struct fb_plan_ins *ins, struct fb_err *err)
	FB_MUST_CHECK;
int plan_stage_instr(struct plan *p, const struct fb_df_node *n, struct fb_plan_ins *out, struct fb_err *err)
	FB_MUST_CHECK;
int plan_from_flags(const struct fb_df_node *n, char **platform, struct fb_err *err) FB_MUST_CHECK;

#endif
