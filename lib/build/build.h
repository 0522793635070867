/* The builder: a plan (docs/plan.md) to an image in the store. Each needed
 * stage starts from scratch, an earlier stage, a tag in the local store or
 * an image (lib/image); each step that changes files (RUN, COPY, ADD,
 * WORKDIR) becomes a layer in the content store under a cache key:
 *   sha256(parent key, the expanded instruction, the digests of what it
 *          reads: context files' names, modes, sizes and bytes; a stage's
 *          or an image's identity for --from)
 * and the store's build cache names the layer. A step whose key is there
 * runs nothing: its layer is reused, and a stage's tree is only made (its
 * layers applied into a directory) when a step must really run. Metadata
 * instructions update the OCI config (a struct, encoded once into the
 * config blob). The result is a manifest, a config and layers in the
 * store, described as .image (docs/tools/fb-fetch.md), plus .build.steps:
 * every step, cached or executed, with its time. */
#ifndef FB_BUILD_H
#define FB_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "doc.h"
#include "err.h"
#include "image.h"
#include "plan.h"
#include "shlex.h"
#include "store.h"

struct fb_build_opts {
	struct fb_store *store;
	const char *work;            /* stage trees go in a new directory here */
	const char *exec_tool;       /* the fb-exec binary */
	const char *context;         /* the build context directory, or NULL */
	bool context_temporary;      /* fetched for this build: its files' digests are not remembered */
	const char *context_url;     /* http(s): sources are fetched next to it */
	char *const *ignore;         /* .dockerignore patterns */
	size_t nignore;
	bool no_cache;
	const struct fb_image_opts *img;
	struct fb_vars secrets;      /* RUN --mount=type=secret: id -> host file */
};

/* One step of a build, as .build.steps lists it. */
struct fb_build_step {
	size_t stage;
	int line;
	char *instruction;  /* as written */
	const char *status; /* cached, executed, metadata, skipped (a stage
	                     * nothing needed the result of: not run) */
	double seconds;
	char key[72];
	char *layer;        /* the layer it made or reused, or NULL */
};
struct fb_build_steps {
	struct fb_build_step *v;
	size_t n;
	/* the context's regular files hashed for keys: digests remembered
	 * (lib/fs/hashcache), files read */
	bool has_context_files;
	unsigned long context_remembered, context_read;
};
void fb_build_steps_free(struct fb_build_steps *s);
/* .build = {steps: [...], context_files: {remembered, read}} (build_doc.c;
 * context_files only when the context's digests were looked up) */
void fb_build_doc_set(struct fb_doc *d, const struct fb_build_steps *s);

/* Build the plan's target; *steps gets what ran, also on failure. */
int fb_build(const struct fb_build_opts *o, const struct fb_plan *plan, struct fb_image *image,
	     struct fb_build_steps *steps, struct fb_err *err) FB_MUST_CHECK;
/* Remove the directories under WORK of builds that no longer run (their
 * process was killed, or crashed): a build holds a lock on its directory
 * for its whole life, so a running one is never touched. The names removed
 * are pushed to *removed when it is not NULL. */
int fb_build_sweep(const char *work, struct fb_strv *removed, struct fb_err *err) FB_MUST_CHECK;
#endif
