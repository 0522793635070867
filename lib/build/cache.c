/* The builder's steps that change files (builder.h): cache keys, the
 * build cache, stage trees, and a step's change kept as a layer. */
#include "builder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "digest.h"
#include "err.h"
#include "log.h"
#include "oci.h"
#include "snapshot.h"
#include "store.h"
#include "trace.h"
#include "tree.h"
#include "util.h"

void state_init(struct state *s)
{
	memset(s, 0, sizeof(*s));
	fb_oci_config_init(&s->config);
	s->index = -1;
}

void state_free(struct state *s)
{
	free(s->label);
	fb_oci_config_free(&s->config);
	for (size_t i = 0; i < s->nlayers; i++)
		fb_oci_desc_free(&s->layers[i]);
	free(s->layers);
	free(s->tree);
	free(s->created);
	fb_vars_free(&s->args);
}

void state_add_layer(struct state *s, const struct fb_oci_desc *layer)
{
	s->layers = fb_xrealloc(s->layers, (s->nlayers + 1) * sizeof(*s->layers));
	struct fb_oci_desc *d = &s->layers[s->nlayers++];
	memset(d, 0, sizeof(*d));
	fb_oci_desc_copy(d, layer);
}

double build_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

const char *build_workdir(const struct state *s)
{
	return s->config.working_dir && *s->config.working_dir ? s->config.working_dir : "/";
}

/* ---- keys and the cache ---- */

void build_key(const char *parent, const struct fb_plan_ins *ins, const char *extra, char out[72])
{
	char *text = fb_plan_ins_key_text(ins);
	struct fb_sha256 h;
	fb_sha256_init(&h);
	fb_sha256_update(&h, "firebuild-step-v1", 18);
	fb_sha256_update(&h, parent, strlen(parent) + 1);
	fb_sha256_update(&h, text, strlen(text) + 1);
	if (extra)
		fb_sha256_update(&h, extra, strlen(extra) + 1);
	fb_sha256_final(&h, out);
	free(text);
}

/* "2026-12-04T17:00:00Z", as build_time_text writes it */
static bool time_text_ok(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	if (!s || strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return false;
	return true;
}

int build_cache_get(struct builder *b, const char *key, struct fb_oci_desc **layer, char **created)
{
	*layer = NULL;
	if (created)
		*created = NULL;
	if (b->o->no_cache)
		return 0;
	struct fb_cache_entry e;
	if (fb_store_cache_get(b->o->store, key, &e) != 1)
		return 0;
	/* the store's files are read as found: any kind */
	int hit = 0;
	if (!e.layer && !e.layer_other) {
		hit = 1;
	} else if (e.layer && fb_store_has_blob(b->o->store, e.layer)) {
		struct fb_oci_desc *d = fb_xcalloc(1, sizeof(*d));
		d->media_type = fb_xstrdup(FB_MT_OCI_LAYER);
		d->digest = e.layer;
		e.layer = NULL;
		d->size = e.size;
		*layer = d;
		hit = 1;
	}
	if (hit && created && time_text_ok(e.created)) {
		*created = e.created;
		e.created = NULL;
	}
	fb_cache_entry_free(&e);
	return hit;
}

static void desc_drop(struct fb_oci_desc *d)
{
	if (d) {
		fb_oci_desc_free(d);
		free(d);
	}
}

/* ---- trees ---- */

int build_ensure_tree(struct builder *b, struct state *s, struct fb_err *err)
{
	if (s->pending && build_realize(b, s, err) < 0)
		return -1;
	if (!s->tree) {
		s->tree = fb_xasprintf("%s/tree-%d", b->work, b->trees++);
		if (mkdir(s->tree, 0755) < 0)
			return fb_err_errno(err, errno, "mkdir %s", s->tree);
		s->applied = 0;
	}
	for (; s->applied < s->nlayers; s->applied++) {
		const char *d = s->layers[s->applied].digest;
		char *path = fb_store_blob_path(b->o->store, d);
		struct fb_span *sp = fb_span_begin("layer apply");
		fb_span_set(sp, "digest", d);
		int r = fb_tree_apply_layer(s->tree, path, d, err);
		if (r < 0)
			fb_span_error(sp, err->msg);
		fb_span_end(sp);
		free(path);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* ---- a step's record, its history, its layer ---- */

void build_record(struct step *st, const char *status, double secs, const char *layer)
{
	struct fb_build_steps *l = st->b->steps;
	l->v = fb_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	struct fb_build_step *r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	r->stage = st->stage;
	r->line = st->line;
	r->instruction = st->ins->original ? fb_xstrdup(st->ins->original) : NULL;
	r->status = status;
	r->seconds = secs;
	memcpy(r->key, st->key, sizeof(r->key));
	r->layer = layer ? fb_xstrdup(layer) : NULL;
	fb_span_set(st->span, "status", status);
	if (layer)
		fb_span_set(st->span, "layer", layer);
}

void build_time_text(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void build_add_history(struct builder *b, struct state *s, const struct fb_plan_ins *ins, bool empty, const char *when)
{
	/* the stage's time moves on with its steps (RFC 3339 in UTC sorts as
	 * text) */
	if (when && (!s->created || strcmp(when, s->created) > 0)) {
		free(s->created);
		s->created = fb_xstrdup(when);
	}
	const char *created = b->epoch >= 0 ? b->epoch_text : when ? when : s->created;
	struct fb_oci_config *c = &s->config;
	c->history = fb_xrealloc(c->history, (c->nhistory + 1) * sizeof(*c->history));
	struct fb_oci_history *h = &c->history[c->nhistory++];
	memset(h, 0, sizeof(*h));
	h->created = created ? fb_xstrdup(created) : NULL;
	h->created_by = ins->original ? fb_xstrdup(ins->original) : NULL;
	h->comment = fb_xstrdup("firebuild");
	h->empty_layer = empty;
	c->has_history = true;
}

static void add_layer(struct state *s, const struct fb_oci_desc *layer)
{
	struct fb_oci_config *c = &s->config;
	if (!c->has_rootfs) {
		c->has_rootfs = true;
		free(c->rootfs_type);
		c->rootfs_type = fb_xstrdup("layers");
	}
	/* our layers are plain tars: the diff id is the digest */
	fb_strv_push(&c->diff_ids.v, layer->digest);
	c->diff_ids.set = true;
	state_add_layer(s, layer);
}

int build_fs_step(struct step *st, const char *extra, build_change_fn fn, void *ctx, struct fb_err *err)
{
	struct builder *b = st->b;
	build_key(st->s->key, st->ins, extra, st->key);
	double t0 = build_now();
	struct fb_oci_desc *layer;
	FB_AUTOFREE char *ran = NULL;
	if (build_cache_get(b, st->key, &layer, &ran)) {
		fb_log(FB_LOG_INFO, "#%zu %s:%d %s: CACHED", st->stage, b->file, st->line, st->cmd);
		if (layer)
			add_layer(st->s, layer);
		build_add_history(b, st->s, st->ins, !layer, ran);
		memcpy(st->s->key, st->key, sizeof(st->key));
		build_record(st, "cached", build_now() - t0, layer ? layer->digest : NULL);
		desc_drop(layer);
		return 0;
	}
	if (b->lazy) {
		/* nothing needs this stage's result yet: the keys go on */
		fb_log(FB_LOG_INFO, "#%zu %s:%d %s: NOT RUN (nothing needs its result yet)", st->stage, b->file, st->line, st->cmd);
		st->s->pending = true;
		memcpy(st->s->key, st->key, sizeof(st->key));
		build_record(st, "skipped", 0, NULL);
		return 0;
	}
	if (build_ensure_tree(b, st->s, err) < 0)
		return -1;
	struct fb_snap *snap;
	if (fb_snap_take(st->s->tree, &snap, err) < 0)
		return -1;
	int r = fn(st, ctx, err);
	struct fb_blob_writer w;
	uint64_t changes = 0;
	char digest[72];
	struct fb_oci_desc made = { .size = -1 };
	bool have = false;
	if (r == 0 && fb_blob_begin(b->o->store, NULL, "layer", NULL, &w, err) == 0) {
		if (fb_snap_diff(st->s->tree, snap, &w, &changes, b->epoch, err) < 0) {
			fb_blob_abort(&w, false);
			r = -1;
		} else if (!changes) {
			fb_blob_abort(&w, false);
		} else {
			uint64_t size = w.size;
			if (fb_blob_commit(&w, digest, err) < 0) {
				r = -1;
			} else {
				made.media_type = FB_MT_OCI_LAYER;
				made.digest = digest;
				made.size = (int64_t)size;
				have = true;
			}
		}
	} else {
		r = -1;
	}
	fb_snap_free(snap);
	if (r < 0)
		return -1;
	char now[32];
	build_time_text((int64_t)time(NULL), now);
	struct fb_cache_entry ce = { .key = st->key, .step = (char *)st->cmd, .layer = have ? digest : NULL,
				     .size = made.size, .created = now };
	if (fb_store_cache_put(b->o->store, &ce, err) < 0)
		return -1;
	if (have) {
		add_layer(st->s, &made);
		st->s->applied++; /* the tree has it already */
	}
	build_add_history(b, st->s, st->ins, !have, now);
	memcpy(st->s->key, st->key, sizeof(st->key));
	double secs = build_now() - t0;
	fb_log(FB_LOG_INFO, "#%zu %s:%d %s: DONE %.2fs", st->stage, b->file, st->line, st->cmd, secs);
	build_record(st, "executed", secs, have ? digest : NULL);
	return 0;
}
