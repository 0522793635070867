/* Inside the builder (build.c, stage.c, cache.c, run.c, copystep.c,
 * meta.c): a build's state. Not for other modules. */
#ifndef FB_BUILDER_H
#define FB_BUILDER_H

#include <stdbool.h>
#include <stddef.h>

#include "build.h"
#include "err.h"
#include "oci.h"
#include "plan.h"
#include "shlex.h"
#include "util.h"

struct fb_hashcache;

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A stage, or an image something copies from: its layers, its config, its
 * cache key, and the directory its layers are applied to when needed. */
struct state {
	char *label;     /* "stage 1 (build)", an image reference */
	struct fb_oci_config config;
	struct fb_oci_desc *layers;
	size_t nlayers;
	char key[72];
	char *tree;      /* NULL until made */
	size_t applied;  /* layers applied to the tree */
	struct fb_vars args;
	bool done;
	/* Built lazily (a stage the final image only reads from): a step
	 * that missed the cache did not run, the keys went on. Its result is
	 * made (build_realize) only when a step that misses needs it, as
	 * BuildKit evaluates a stage only when its result is needed. */
	bool pending;
	int index; /* the stage's, -1 for an image */
	char *created;   /* the time of its latest step (RFC 3339), NULL: none */
};

struct builder {
	const struct fb_build_opts *o;
	const struct fb_plan *plan;
	const char *file;
	char escape;
	char *work;
	struct state *stages;
	size_t nstages;
	struct state *images; /* COPY --from / mount from= images, by ref */
	size_t nimages;
	struct fb_build_steps *steps;
	int trees;
	bool lazy; /* the stage being built runs nothing: pending on a miss */
	struct fb_hashcache *hashes; /* the context's files' digests (NULL: no local context) */
	int64_t epoch;               /* the build arg SOURCE_DATE_EPOCH; -1: none */
	char epoch_text[32];         /* it as RFC 3339 */
};

struct step {
	struct builder *b;
	struct state *s;
	size_t stage;
	struct fb_plan_ins *ins; /* this step's copy, re-expanded */
	const char *cmd;
	int line;
	char key[72];
	struct fb_span *span;
};

void state_init(struct state *s);
void state_free(struct state *s);
void state_add_layer(struct state *s, const struct fb_oci_desc *layer);

/* stage.c */
int build_stage(struct builder *b, size_t idx, const struct fb_plan_stage *stage, struct fb_err *err) FB_MUST_CHECK;
int build_source_state(struct builder *b, const struct fb_plan_from *from, struct state **out, struct fb_err *err)
	FB_MUST_CHECK;

/* cache.c: keys, the cache, trees, the steps that change files */
void build_key(const char *parent, const struct fb_plan_ins *ins, const char *extra, char out[72]);
/* 1 and the layer (NULL: the step changed nothing) on a hit; *created
 * (when not NULL) gets when the step ran, if the entry says */
int build_cache_get(struct builder *b, const char *key, struct fb_oci_desc **layer, char **created);
/* The state's tree, with its layers applied (a pending stage is built
 * for real first). */
int build_ensure_tree(struct builder *b, struct state *s, struct fb_err *err) FB_MUST_CHECK;
/* Build a pending stage for real (build.c). */
int build_realize(struct builder *b, struct state *s, struct fb_err *err) FB_MUST_CHECK;
typedef int (*build_change_fn)(struct step *st, void *ctx, struct fb_err *err);
/* Run fn on the stage's tree and keep what it changed as a layer. */
int build_fs_step(struct step *st, const char *extra, build_change_fn fn, void *ctx, struct fb_err *err) FB_MUST_CHECK;
void build_record(struct step *st, const char *status, double secs, const char *layer);
/* A history entry: created is the epoch when there is one, else `when`
 * (the step's time), else the stage's latest. */
void build_add_history(struct builder *b, struct state *s, const struct fb_plan_ins *ins, bool empty, const char *when);
/* t as RFC 3339 in UTC ("2026-12-04T17:00:00Z") */
void build_time_text(int64_t t, char out[32]);
double build_now(void);
const char *build_workdir(const struct state *s);

/* run.c, copystep.c, meta.c */
int build_step_run(struct step *st, struct fb_err *err) FB_MUST_CHECK;
int build_step_copy(struct step *st, bool add, struct fb_err *err) FB_MUST_CHECK;
int build_step_workdir(struct step *st, struct fb_err *err) FB_MUST_CHECK;
int build_step_meta(struct step *st, struct fb_err *err) FB_MUST_CHECK;
int build_reexpand(struct builder *b, const struct state *s, struct fb_plan_ins *ins, struct fb_err *err) FB_MUST_CHECK;
int build_expand(struct builder *b, const struct state *s, const char *in, char **out, struct fb_err *err) FB_MUST_CHECK;

/* build_doc.c: what the builder writes as JSON */
struct build_exec_mount {
	const char *type, *source, *target;
	bool readonly;
	int64_t size; /* tmpfs; -1: none */
};
struct build_exec {
	const char *root;
	const struct fb_strv *argv, *env;
	const char *workdir, *user, *network, *hostname;
	const struct build_exec_mount *mounts;
	size_t nmounts;
};
/* fb-exec's spec {"exec": {...}} (docs/tools/fb-exec.md). Owned text. */
char *build_exec_spec(const struct build_exec *e);
/* A list of strings as JSON (NULL: null), for cache keys. Owned text. */
char *build_strv_json(const struct fb_strv *v);

#endif
