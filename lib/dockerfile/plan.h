/* From a Dockerfile syntax tree to the build plan (docs/plan.md): stages,
 * checked instructions, flags parsed, ARG/ENV expansion where the Dockerfile
 * language does it, the target and the stages it needs. */
#ifndef FB_PLAN_H
#define FB_PLAN_H

#include <jv.h>

#include "dockerfile.h"
#include "shlex.h"

struct fb_err;

struct fb_plan_opts {
	const char *file;           /* the name errors and the plan use */
	struct fb_vars build_args;  /* --build-arg K=V, in order */
	const char *target;         /* --target, or NULL for the last stage */
	const char *platform;       /* target platform, NULL: the host's */
};

/* Builds the plan object (the value of .plan). */
int fb_plan_build(const struct fb_df *df, const struct fb_plan_opts *o, jv *out, struct fb_err *err);

/* "linux/amd64" for this host. */

/* Go's time.ParseDuration, in nanoseconds. */
int fb_parse_duration(const char *s, long long *ns);

#endif
