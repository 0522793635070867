#include "build.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <dirent.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"
#include "digest.h"
#include "dockerfile.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "oci.h"
#include "plan.h"
#include "proc.h"
#include "snapshot.h"
#include "source.h"
#include "trace.h"
#include "tree.h"
#include "util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A stage, or an image something copies from: its layers, its config, its
 * cache key, and the directory its layers are applied to when needed. */
struct state {
	char *label;     /* "stage 1 (build)", an image reference */
	jv config;       /* the whole OCI image config */
	jv layers;       /* descriptors */
	char key[72];
	char *tree;      /* NULL until made */
	int applied;     /* layers applied to the tree */
	struct fb_vars args;
	bool done;
};

struct builder {
	const struct fb_build_opts *o;
	jv plan;
	const char *file;
	char escape;
	char *work;
	struct state *stages;
	size_t nstages;
	struct state *images; /* COPY --from / mount from= images, by ref */
	size_t nimages;
	jv steps;
	int trees;
};

static void state_free(struct state *s)
{
	free(s->label);
	jv_free(s->config);
	jv_free(s->layers);
	free(s->tree);
	fb_vars_free(&s->args);
}

/* ---- the config ---- */

static jv cfg_get(const struct state *s, const char *key)
{
	jv c = jv_object_get(jv_copy(s->config), jv_string("config"));
	jv v = jv_get_kind(c) == JV_KIND_OBJECT ? jv_object_get(c, jv_string(key)) : (jv_free(c), jv_null());
	return jv_is_valid(v) ? v : (jv_free(v), jv_null());
}

static void cfg_set(struct state *s, const char *key, jv v)
{
	jv c = jv_object_get(jv_copy(s->config), jv_string("config"));
	if (jv_get_kind(c) != JV_KIND_OBJECT) {
		jv_free(c);
		c = jv_object();
	}
	c = jv_get_kind(v) == JV_KIND_NULL ? jv_object_delete(c, jv_string(key)) : jv_object_set(c, jv_string(key), v);
	if (jv_get_kind(v) == JV_KIND_NULL)
		jv_free(v);
	s->config = jv_object_set(s->config, jv_string("config"), c);
}

static char *cfg_str(const struct state *s, const char *key)
{
	jv v = cfg_get(s, key);
	char *r = jv_get_kind(v) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(v)) ? fb_xstrdup(jv_string_value(v)) : NULL;
	jv_free(v);
	return r;
}

/* The value of NAME in Env, or NULL (a copy). */
static char *env_get(const struct state *s, const char *name)
{
	jv env = cfg_get(s, "Env");
	char *r = NULL;
	size_t n = strlen(name);
	if (jv_get_kind(env) == JV_KIND_ARRAY)
		jv_array_foreach(env, i, e)
		{
			if (!r && jv_get_kind(e) == JV_KIND_STRING && !strncmp(jv_string_value(e), name, n) &&
			    jv_string_value(e)[n] == '=')
				r = fb_xstrdup(jv_string_value(e) + n + 1);
			jv_free(e);
			(void)i;
		}
	jv_free(env);
	return r;
}

static void env_set(struct state *s, const char *name, const char *val)
{
	jv env = cfg_get(s, "Env"), out = jv_array();
	size_t n = strlen(name);
	bool set = false;
	if (jv_get_kind(env) == JV_KIND_ARRAY)
		jv_array_foreach(env, i, e)
		{
			if (jv_get_kind(e) == JV_KIND_STRING && !strncmp(jv_string_value(e), name, n) && jv_string_value(e)[n] == '=') {
				jv_free(e);
				if (!set)
					out = jv_array_append(out, jv_string_fmt("%s=%s", name, val));
				set = true;
			} else {
				out = jv_array_append(out, e);
			}
			(void)i;
		}
	jv_free(env);
	if (!set)
		out = jv_array_append(out, jv_string_fmt("%s=%s", name, val));
	cfg_set(s, "Env", out);
}

/* Variables for re-expanding what the parser could not: ENV, then ARG. */
struct lookup {
	const struct state *s;
	char *last;
};

static const char *lookup_var(void *ctx, const char *name)
{
	struct lookup *l = ctx;
	free(l->last);
	l->last = env_get(l->s, name);
	if (l->last)
		return l->last;
	return fb_vars_get(&l->s->args, name);
}

static int expand(struct builder *b, const struct state *s, const char *in, char **out, struct fb_err *err)
{
	struct lookup l = { s, NULL };
	struct fb_shlex lx = { .escape = b->escape, .lookup = lookup_var, .ctx = &l };
	int r = fb_shlex_word(&lx, in, out, err);
	free(l.last);
	return r;
}

/* An instruction of an image-based stage named variables the parser did not
 * know: now that the base's ENV is known, expand its words again. */
static int reexpand(struct builder *b, const struct state *s, jv *ins, struct fb_err *err)
{
	if (!jv_object_has(jv_copy(*ins), jv_string("raw_args")))
		return 0;
	jv raw = jv_object_get(jv_copy(*ins), jv_string("raw_args"));
	jv cmd = jv_object_get(jv_copy(*ins), jv_string("cmd"));
	char cmdbuf[16];
	snprintf(cmdbuf, sizeof(cmdbuf), "%s", jv_string_value(cmd));
	jv_free(cmd);
	struct fb_strv words = FB_STRV_INIT;
	int ret = 0;
	jv_array_foreach(raw, i, w)
	{
		char *x = NULL;
		if (ret == 0 && jv_get_kind(w) == JV_KIND_STRING) {
			ret = expand(b, s, jv_string_value(w), &x, err);
			fb_strv_push_owned(&words, x ? x : fb_xstrdup(""));
		}
		jv_free(w);
		(void)i;
	}
	jv_free(raw);
	if (ret < 0) {
		fb_strv_free(&words);
		return -1;
	}
	if (!strcmp(cmdbuf, "ENV") || !strcmp(cmdbuf, "LABEL")) {
		jv pairs = jv_array();
		for (size_t i = 0; i + 2 < words.n + 1 && i + 1 < words.n; i += 3) {
			jv p = jv_object_set(jv_object(), jv_string("key"), jv_string(words.v[i]));
			pairs = jv_array_append(pairs, jv_object_set(p, jv_string("value"), jv_string(words.v[i + 1])));
		}
		*ins = jv_object_set(*ins, jv_string("pairs"), pairs);
	} else if (words.n && (!strcmp(cmdbuf, "WORKDIR") || !strcmp(cmdbuf, "USER") || !strcmp(cmdbuf, "STOPSIGNAL"))) {
		const char *k = !strcmp(cmdbuf, "WORKDIR") ? "path" : !strcmp(cmdbuf, "USER") ? "user" : "signal";
		*ins = jv_object_set(*ins, jv_string(k), jv_string(words.v[0]));
	} else if (!strcmp(cmdbuf, "VOLUME")) {
		jv a = jv_array();
		for (size_t i = 0; i < words.n; i++)
			a = jv_array_append(a, jv_string(words.v[i]));
		*ins = jv_object_set(*ins, jv_string("paths"), a);
	} else if ((!strcmp(cmdbuf, "COPY") || !strcmp(cmdbuf, "ADD")) && words.n >= 2) {
		jv srcs = jv_object_get(jv_copy(*ins), jv_string("sources")), out = jv_array();
		size_t k = 0;
		jv_array_foreach(srcs, i, src)
		{
			if (jv_object_has(jv_copy(src), jv_string("path")) && k + 1 < words.n)
				src = jv_object_set(src, jv_string("path"), jv_string(words.v[k++]));
			out = jv_array_append(out, src);
			(void)i;
		}
		jv_free(srcs);
		*ins = jv_object_set(*ins, jv_string("sources"), out);
		*ins = jv_object_set(*ins, jv_string("dest"), jv_string(words.v[words.n - 1]));
		static const char *const flags[] = { "chown", "chmod" };
		for (size_t f = 0; f < 2; f++) {
			jv v = jv_object_get(jv_copy(*ins), jv_string(flags[f]));
			char *x = NULL;
			if (jv_get_kind(v) == JV_KIND_STRING && strchr(jv_string_value(v), '$') &&
			    expand(b, s, jv_string_value(v), &x, err) == 0)
				*ins = jv_object_set(*ins, jv_string(flags[f]), jv_string(x));
			free(x);
			jv_free(v);
		}
	}
	fb_strv_free(&words);
	*ins = jv_object_delete(*ins, jv_string("raw_args"));
	*ins = jv_object_delete(*ins, jv_string("unresolved"));
	return 0;
}

/* ---- keys and the cache ---- */

static void key_of(const char *parent, jv ins, const char *extra, char out[72])
{
	jv k = jv_object_delete(jv_object_delete(jv_object_delete(jv_copy(ins), jv_string("line")), jv_string("end_line")),
				jv_string("original"));
	jv s = jv_dump_string(k, JV_PRINT_SORTED);
	struct fb_sha256 h;
	fb_sha256_init(&h);
	fb_sha256_update(&h, "firebuild-step-v1", 18);
	fb_sha256_update(&h, parent, strlen(parent) + 1);
	fb_sha256_update(&h, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)) + 1);
	if (extra)
		fb_sha256_update(&h, extra, strlen(extra) + 1);
	fb_sha256_final(&h, out);
	jv_free(s);
}

static char *cache_path(const struct builder *b, const char *key)
{
	return fb_xasprintf("%s/cache/%s.json", b->o->store->root, fb_digest_hex(key));
}

/* 1 and the layer (or null) on a hit. */
static int cache_get(struct builder *b, const char *key, jv *layer)
{
	if (b->o->no_cache)
		return 0;
	char *p = cache_path(b, key);
	struct fb_err e = { 0 };
	jv doc;
	int hit = 0;
	if (fb_json_load(p, &doc, &e) == 0) {
		/* the store's files are read as found: any kind */
		jv l = fb_json_member(doc, "layer");
		if (jv_get_kind(l) == JV_KIND_NULL) {
			*layer = jv_null();
			utimensat(AT_FDCWD, p, NULL, 0);
			hit = 1;
		} else if (jv_get_kind(l) == JV_KIND_STRING && fb_store_has_blob(b->o->store, jv_string_value(l))) {
			/* used: gc keeps what was used lately */
			utimensat(AT_FDCWD, p, NULL, 0);
			jv d = jv_object_set(jv_object(), jv_string("mediaType"), jv_string(FB_MT_OCI_LAYER));
			d = jv_object_set(d, jv_string("digest"), jv_copy(l));
			*layer = jv_object_set(d, jv_string("size"), fb_json_member(doc, "size"));
			hit = 1;
		}
		jv_free(l);
		jv_free(doc);
	}
	free(p);
	return hit;
}

static int cache_put(struct builder *b, const char *key, jv layer, const char *what, struct fb_err *err)
{
	char *dir = fb_xasprintf("%s/cache", b->o->store->root);
	int r = fb_mkdir_p(dir, 0755, err);
	free(dir);
	if (r < 0)
		return -1;
	jv doc = jv_object_set(jv_object(), jv_string("key"), jv_string(key));
	doc = jv_object_set(doc, jv_string("step"), jv_string(what));
	if (jv_get_kind(layer) == JV_KIND_OBJECT) {
		doc = jv_object_set(doc, jv_string("layer"), jv_object_get(jv_copy(layer), jv_string("digest")));
		doc = jv_object_set(doc, jv_string("size"), jv_object_get(jv_copy(layer), jv_string("size")));
	} else {
		doc = jv_object_set(doc, jv_string("layer"), jv_null());
	}
	jv_free(layer);
	char *text = fb_json_dump(doc, false);
	char *p = cache_path(b, key);
	r = fb_write_file_atomic(p, text, strlen(text), 0644, err);
	free(p);
	free(text);
	return r;
}

/* ---- trees ---- */

static int ensure_tree(struct builder *b, struct state *s, struct fb_err *err)
{
	if (!s->tree) {
		s->tree = fb_xasprintf("%s/tree-%d", b->work, b->trees++);
		if (mkdir(s->tree, 0755) < 0)
			return fb_err_errno(err, errno, "mkdir %s", s->tree);
		s->applied = 0;
	}
	int n = jv_array_length(jv_copy(s->layers));
	for (; s->applied < n; s->applied++) {
		jv l = jv_array_get(jv_copy(s->layers), s->applied);
		jv d = jv_object_get(l, jv_string("digest"));
		char *path = fb_store_blob_path(b->o->store, jv_string_value(d));
		struct fb_span *sp = fb_span_begin("layer apply");
		fb_span_set(sp, "digest", jv_string_value(d));
		int r = fb_tree_apply_layer(s->tree, path, jv_string_value(d), err);
		if (r < 0)
			fb_span_error(sp, err->msg);
		fb_span_end(sp);
		free(path);
		jv_free(d);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* ---- bases ---- */

static jv scratch_config(const char *platform)
{
	char *os = fb_xstrdup(platform ? platform : fb_host_platform());
	char *arch = strchr(os, '/'), *variant = NULL;
	if (arch) {
		*arch++ = '\0';
		variant = strchr(arch, '/');
		if (variant)
			*variant++ = '\0';
	}
	jv c = jv_object_set(jv_object(), jv_string("architecture"), jv_string(arch ? arch : "amd64"));
	c = jv_object_set(c, jv_string("os"), jv_string(os));
	if (variant)
		c = jv_object_set(c, jv_string("variant"), jv_string(variant));
	c = jv_object_set(c, jv_string("config"),
			  jv_object_set(jv_object(), jv_string("Env"), jv_array_append(jv_array(), jv_string(DEFAULT_PATH))));
	c = jv_object_set(c, jv_string("rootfs"),
			  jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("layers")), jv_string("diff_ids"),
					jv_array()));
	free(os);
	return c;
}

/* A tag in the local store (NAME[:VERSION]) with its manifest: 1 found. */
static int local_tag(struct builder *b, const char *ref, jv *image, struct fb_err *err)
{
	if (strchr(ref, '@'))
		return 0;
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
	if (colon && slash && colon < slash)
		colon = NULL;
	char *name = colon ? fb_xstrndup(ref, (size_t)(colon - ref)) : fb_xstrdup(ref);
	char *p = fb_xasprintf("%s/rootfs/%s/%s/image.json", b->o->store->root, name, colon ? colon + 1 : "latest");
	free(name);
	struct fb_err e = { 0 };
	jv meta, manifest;
	int found = 0;
	if (access(p, F_OK) == 0 && fb_json_load(p, &meta, &e) == 0) {
		jv d = fb_json_member(meta, "digest");
		jv_free(meta);
		if (jv_get_kind(d) != JV_KIND_STRING || !fb_store_has_blob(b->o->store, jv_string_value(d))) {
			found = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found",
					   "%s: the tag in the local store has no image manifest to build on (it was made from an ext4 only)", ref);
		} else if (fb_store_read_blob(b->o->store, jv_string_value(d), &manifest, err) < 0) {
			found = -1;
		} else {
			jv cdesc, layers;
			char *cd = NULL;
			if (fb_oci_manifest_parts(manifest, &cdesc, &layers, err) < 0 || fb_json_get_str(cdesc, "digest", &cd, err) < 0) {
				found = -1;
			} else {
				jv cfg;
				found = fb_store_read_blob(b->o->store, cd, &cfg, err) < 0 ? -1 : 1;
				if (found == 1) {
					*image = jv_object_set(jv_object(), jv_string("digest"), jv_copy(d));
					*image = jv_object_set(*image, jv_string("config"), cfg);
					*image = jv_object_set(*image, jv_string("layers"), layers);
				} else {
					jv_free(layers);
				}
				jv_free(cdesc);
			}
			free(cd);
			jv_free(manifest);
		}
		jv_free(d);
	}
	free(p);
	return found;
}

/* An image by reference: the local store first, then fb-fetch's sources. */
static int image_state(struct builder *b, const char *ref, const char *platform, struct state *s, struct fb_err *err)
{
	jv image;
	int r = local_tag(b, ref, &image, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		struct fb_image_opts io = *b->o->img;
		if (platform)
			io.platform = platform;
		if (fb_image_fetch(&io, ref, b->o->store, &image, err) < 0) {
			fb_err_prefix(err, "FROM %s", ref);
			return -1;
		}
	}
	s->label = fb_xstrdup(ref);
	s->config = jv_object_get(jv_copy(image), jv_string("config"));
	s->layers = jv_object_get(jv_copy(image), jv_string("layers"));
	jv d = jv_object_get(image, jv_string("digest"));
	fb_sha256_mem(jv_string_value(d), (size_t)jv_string_length_bytes(jv_copy(d)), s->key);
	jv_free(d);
	if (jv_get_kind(s->config) != JV_KIND_OBJECT || jv_get_kind(s->layers) != JV_KIND_ARRAY)
		return fb_err_set(err, FB_EXIT_FAILED, "invalid", "%s: the image has no config or layers", ref);
	return 0;
}

static int image_from(struct builder *b, const char *ref, struct state **out, struct fb_err *err)
{
	for (size_t i = 0; i < b->nimages; i++)
		if (!strcmp(b->images[i].label, ref)) {
			*out = &b->images[i];
			return 0;
		}
	b->images = fb_xrealloc(b->images, (b->nimages + 1) * sizeof(*b->images));
	struct state *s = &b->images[b->nimages];
	*s = (struct state){ .config = jv_null(), .layers = jv_null() };
	if (image_state(b, ref, NULL, s, err) < 0) {
		state_free(s);
		return -1;
	}
	b->nimages++;
	*out = s;
	return 0;
}

/* {stage, name} or {image} of COPY --from and RUN --mount from=. */
static int source_state(struct builder *b, jv from, struct state **out, struct fb_err *err)
{
	jv st = jv_object_get(jv_copy(from), jv_string("stage"));
	jv im = jv_object_get(jv_copy(from), jv_string("image"));
	int r = 0;
	if (jv_get_kind(st) == JV_KIND_NUMBER) {
		size_t i = (size_t)jv_number_value(st);
		if (i >= b->nstages || !b->stages[i].done)
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "--from: stage %zu is not built before this one", i);
		else
			*out = &b->stages[i];
	} else if (jv_get_kind(im) == JV_KIND_STRING) {
		r = image_from(b, jv_string_value(im), out, err);
	} else {
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "--from: neither a stage nor an image");
	}
	jv_free(st);
	jv_free(im);
	return r;
}

/* ---- steps ---- */

struct step {
	struct builder *b;
	struct state *s;
	size_t stage;
	jv ins;
	const char *cmd;
	int line;
	char key[72];
	struct fb_span *span;
};

static void record(struct step *st, const char *status, double secs, jv layer)
{
	jv r = jv_object_set(jv_object(), jv_string("stage"), jv_number((double)st->stage));
	r = jv_object_set(r, jv_string("line"), jv_number(st->line));
	r = jv_object_set(r, jv_string("instruction"), jv_object_get(jv_copy(st->ins), jv_string("original")));
	r = jv_object_set(r, jv_string("status"), jv_string(status));
	r = jv_object_set(r, jv_string("seconds"), jv_number(secs));
	r = jv_object_set(r, jv_string("key"), jv_string(st->key));
	r = jv_object_set(r, jv_string("layer"),
			  jv_get_kind(layer) == JV_KIND_OBJECT ? jv_object_get(jv_copy(layer), jv_string("digest")) : jv_null());
	fb_span_set(st->span, "status", status);
	if (jv_get_kind(layer) == JV_KIND_OBJECT) {
		jv d = jv_object_get(jv_copy(layer), jv_string("digest"));
		fb_span_set(st->span, "layer", jv_string_value(d));
		jv_free(d);
	}
	jv_free(layer);
	st->b->steps = jv_array_append(st->b->steps, r);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void add_history(struct state *s, jv ins, bool empty)
{
	jv h = jv_object_get(jv_copy(s->config), jv_string("history"));
	if (jv_get_kind(h) != JV_KIND_ARRAY) {
		jv_free(h);
		h = jv_array();
	}
	jv e = jv_object_set(jv_object(), jv_string("created_by"), jv_object_get(jv_copy(ins), jv_string("original")));
	e = jv_object_set(e, jv_string("comment"), jv_string("firebuild"));
	if (empty)
		e = jv_object_set(e, jv_string("empty_layer"), jv_true());
	s->config = jv_object_set(s->config, jv_string("history"), jv_array_append(h, e));
}

static void add_layer(struct state *s, jv layer)
{
	jv d = jv_object_get(jv_copy(layer), jv_string("digest"));
	jv rootfs = jv_object_get(jv_copy(s->config), jv_string("rootfs"));
	if (jv_get_kind(rootfs) != JV_KIND_OBJECT) {
		jv_free(rootfs);
		rootfs = jv_object_set(jv_object(), jv_string("type"), jv_string("layers"));
	}
	jv ids = jv_object_get(jv_copy(rootfs), jv_string("diff_ids"));
	if (jv_get_kind(ids) != JV_KIND_ARRAY) {
		jv_free(ids);
		ids = jv_array();
	}
	/* our layers are plain tars: the diff id is the digest */
	rootfs = jv_object_set(rootfs, jv_string("diff_ids"), jv_array_append(ids, d));
	s->config = jv_object_set(s->config, jv_string("rootfs"), rootfs);
	s->layers = jv_array_append(s->layers, layer);
}

/* Run fn on the stage's tree and keep what it changed as a layer. */
typedef int (*change_fn)(struct step *st, void *ctx, struct fb_err *err);

static int fs_step(struct step *st, const char *extra, change_fn fn, void *ctx, struct fb_err *err)
{
	struct builder *b = st->b;
	key_of(st->s->key, st->ins, extra, st->key);
	double t0 = now();
	jv layer;
	if (cache_get(b, st->key, &layer)) {
		fb_log(FB_LOG_INFO, "#%zu %s:%d %s: CACHED", st->stage, b->file, st->line, st->cmd);
		if (jv_get_kind(layer) == JV_KIND_OBJECT)
			add_layer(st->s, jv_copy(layer));
		add_history(st->s, st->ins, jv_get_kind(layer) != JV_KIND_OBJECT);
		memcpy(st->s->key, st->key, sizeof(st->key));
		record(st, "cached", now() - t0, layer);
		return 0;
	}
	if (ensure_tree(b, st->s, err) < 0)
		return -1;
	struct fb_snap *snap;
	if (fb_snap_take(st->s->tree, &snap, err) < 0)
		return -1;
	int r = fn(st, ctx, err);
	struct fb_blob_writer w;
	uint64_t changes = 0;
	char digest[72];
	layer = jv_null();
	if (r == 0 && fb_blob_begin(b->o->store, NULL, "layer", NULL, &w, err) == 0) {
		if (fb_snap_diff(st->s->tree, snap, &w, &changes, err) < 0) {
			fb_blob_abort(&w, false);
			r = -1;
		} else if (!changes) {
			fb_blob_abort(&w, false);
		} else {
			uint64_t size = w.size;
			if (fb_blob_commit(&w, digest, err) < 0) {
				r = -1;
			} else {
				layer = jv_object_set(jv_object(), jv_string("mediaType"), jv_string(FB_MT_OCI_LAYER));
				layer = jv_object_set(layer, jv_string("digest"), jv_string(digest));
				layer = jv_object_set(layer, jv_string("size"), jv_number((double)size));
			}
		}
	} else {
		r = -1;
	}
	fb_snap_free(snap);
	if (r < 0) {
		jv_free(layer);
		return -1;
	}
	if (cache_put(b, st->key, jv_copy(layer), jv_string_value(jv_object_get(jv_copy(st->ins), jv_string("cmd"))), err) < 0) {
		jv_free(layer);
		return -1;
	}
	if (jv_get_kind(layer) == JV_KIND_OBJECT) {
		add_layer(st->s, jv_copy(layer));
		st->s->applied++; /* the tree has it already */
	}
	add_history(st->s, st->ins, jv_get_kind(layer) != JV_KIND_OBJECT);
	memcpy(st->s->key, st->key, sizeof(st->key));
	double secs = now() - t0;
	fb_log(FB_LOG_INFO, "#%zu %s:%d %s: DONE %.2fs", st->stage, b->file, st->line, st->cmd, secs);
	record(st, "executed", secs, layer);
	return 0;
}

static const char *workdir_of(const struct state *s, char **owned)
{
	*owned = cfg_str(s, "WorkingDir");
	return *owned ? *owned : "/";
}

/* ---- RUN ---- */

struct run_ctx {
	jv argv;
	jv mounts; /* for fb-exec */
	char *network;
	char *script; /* heredoc script file made in the tree, removed after */
	jv args_env;
	struct fb_strv tmpfiles;
};

static int do_run(struct step *st, void *ctx, struct fb_err *err)
{
	struct run_ctx *rc = ctx;
	struct state *s = st->s;
	jv env = cfg_get(s, "Env");
	if (jv_get_kind(env) != JV_KIND_ARRAY) {
		jv_free(env);
		env = jv_array();
	}
	/* ARG values the command sees; ENV wins over them */
	if (jv_get_kind(rc->args_env) == JV_KIND_OBJECT)
		jv_object_foreach(rc->args_env, k, v) /* borrows: the macro names it many times */
		{
			char *have = env_get(s, jv_string_value(k));
			if (!have && jv_get_kind(v) == JV_KIND_STRING)
				env = jv_array_append(env, jv_string_fmt("%s=%s", jv_string_value(k), jv_string_value(v)));
			free(have);
			jv_free(k);
			jv_free(v);
		}
	char *wdo;
	const char *wd = workdir_of(s, &wdo);
	char *user = cfg_str(s, "User");
	jv e = jv_object_set(jv_object(), jv_string("root"), jv_string(s->tree));
	e = jv_object_set(e, jv_string("args"), jv_copy(rc->argv));
	e = jv_object_set(e, jv_string("env"), env);
	e = jv_object_set(e, jv_string("workdir"), jv_string(wd));
	if (user)
		e = jv_object_set(e, jv_string("user"), jv_string(user));
	e = jv_object_set(e, jv_string("network"), jv_string(rc->network));
	e = jv_object_set(e, jv_string("mounts"), jv_copy(rc->mounts));
	e = jv_object_set(e, jv_string("hostname"), jv_string("buildkitsandbox"));
	char *spec = fb_json_dump(jv_object_set(jv_object(), jv_string("exec"), e), false);
	free(wdo);
	free(user);
	char *argv[] = { (char *)st->b->o->exec_tool, NULL };
	struct fb_buf out = FB_BUF_INIT;
	int code = 0;
	int r = fb_proc_run(argv, spec, strlen(spec), &out, NULL, &code, err);
	free(spec);
	fb_buf_free(&out);
	if (rc->script) {
		char *p = fb_xasprintf("%s/%s", s->tree, rc->script);
		unlink(p);
		free(p);
	}
	if (r < 0)
		return -1;
	if (code != 0) {
		jv orig = jv_object_get(jv_copy(st->ins), jv_string("original"));
		fb_err_set(err, FB_EXIT_FAILED, "run_failed", "%s: exit code %d%s", jv_string_value(orig), code,
			   code == 125 ? " (the sandbox failed: see above)" : code == 127 ? " (command not found)" : "");
		jv_free(orig);
		return -1;
	}
	return 0;
}

/* A host path inside root (resolved there), for a bind mount source. */
static int resolve_in(const char *root, const char *rel, char **out, struct fb_err *err)
{
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = rfd >= 0 ? fb_tree_open(rfd, rel, O_PATH, 0) : -1;
	if (rfd >= 0)
		close(rfd);
	if (fd < 0)
		return fb_err_errno(err, errno, "mount source %s", rel);
	char link[64], buf[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return fb_err_errno(err, errno, "mount source %s", rel);
	buf[n] = '\0';
	*out = fb_xstrdup(buf);
	return 0;
}

static char *abs_target(const struct state *s, const char *t)
{
	if (t[0] == '/')
		return fb_xstrdup(t);
	char *wdo;
	const char *wd = workdir_of(s, &wdo);
	char *r = fb_xasprintf("%s/%s", strcmp(wd, "/") ? wd : "", t);
	free(wdo);
	return r;
}

/* RUN --mount: what fb-exec mounts, and what goes into the key. */
static int run_mounts(struct step *st, struct run_ctx *rc, struct fb_buf *extra, bool materialize, struct fb_err *err)
{
	struct builder *b = st->b;
	jv ms = jv_object_get(jv_copy(st->ins), jv_string("mounts"));
	int ret = 0;
	if (jv_get_kind(ms) == JV_KIND_ARRAY)
		jv_array_foreach(ms, i, m)
		{
			char *type = NULL, *target = NULL, *source = NULL, *id = NULL;
			bool ro = false;
			if (ret == 0) {
				fb_json_get_str_opt(m, "type", &type, err);
				fb_json_get_str_opt(m, "target", &target, err);
				fb_json_get_str_opt(m, "source", &source, err);
				fb_json_get_str_opt(m, "id", &id, err);
				fb_json_get_bool_opt(m, "readonly", &ro, err);
			}
			char *tgt = target ? abs_target(st->s, target) : NULL;
			jv em = jv_object();
			if (ret < 0 || !type) {
				/* skip */
			} else if (!strcmp(type, "tmpfs")) {
				long long size = 0;
				fb_json_get_int_opt(m, "size", &size, err);
				em = jv_object_set(em, jv_string("type"), jv_string("tmpfs"));
				em = jv_object_set(em, jv_string("target"), jv_string(tgt ? tgt : "/tmp"));
				if (size > 0)
					em = jv_object_set(em, jv_string("size"), jv_number((double)size));
			} else if (!strcmp(type, "cache")) {
				char d[72];
				const char *ident = id ? id : tgt ? tgt : "";
				fb_sha256_mem(ident, strlen(ident), d);
				char *dir = fb_xasprintf("%s/cache-mounts/%.16s", b->o->store->root, fb_digest_hex(d));
				if (materialize && fb_mkdir_p(dir, 0755, err) < 0)
					ret = -1;
				long long uid = -1, gid = -1;
				fb_json_get_int_opt(m, "uid", &uid, err);
				fb_json_get_int_opt(m, "gid", &gid, err);
				if (materialize && ret == 0 && (uid >= 0 || gid >= 0) && chown(dir, (uid_t)uid, (gid_t)gid) < 0)
					ret = fb_err_errno(err, errno, "cache mount %s", dir);
				em = jv_object_set(em, jv_string("type"), jv_string("bind"));
				em = jv_object_set(em, jv_string("source"), jv_string(dir));
				em = jv_object_set(em, jv_string("target"), jv_string(tgt ? tgt : "/"));
				em = jv_object_set(em, jv_string("readonly"), jv_bool(ro));
				free(dir);
			} else if (!strcmp(type, "secret")) {
				const char *sid = id ? id : tgt ? strrchr(tgt, '/') + 1 : "";
				const char *file = fb_vars_get(&b->o->secrets, sid);
				bool required = false;
				fb_json_get_bool_opt(m, "required", &required, err);
				char *envname = NULL;
				fb_json_get_str_opt(m, "env", &envname, err);
				if (!file && required) {
					ret = fb_err_set(err, FB_EXIT_USAGE, "secret", "RUN --mount=type=secret,id=%s: no such secret (--secret id=%s,src=FILE)",
							 sid, sid);
				} else if (file && envname) {
					struct fb_buf v = FB_BUF_INIT;
					if (fb_read_file(file, &v, err) < 0)
						ret = -1;
					else
						fb_strv_push_owned(&rc->tmpfiles, fb_xasprintf("%s=%s", envname, fb_buf_str(&v)));
					fb_buf_free(&v);
				} else if (file) {
					char *t = tgt ? fb_xstrdup(tgt) : fb_xasprintf("/run/secrets/%s", sid);
					em = jv_object_set(em, jv_string("type"), jv_string("bind"));
					em = jv_object_set(em, jv_string("source"), jv_string(file));
					em = jv_object_set(em, jv_string("target"), jv_string(t));
					em = jv_object_set(em, jv_string("readonly"), jv_true());
					free(t);
				}
				free(envname);
			} else if (!strcmp(type, "bind")) {
				jv from = jv_object_get(jv_copy(m), jv_string("from"));
				struct state *src = NULL;
				char *host = NULL;
				const char *rel = source ? source : "/";
				if (jv_get_kind(from) == JV_KIND_OBJECT) {
					if (source_state(b, from, &src, err) < 0) {
						ret = -1;
					} else {
						fb_buf_addf(extra, "bind %s %s\n", src->key, rel);
						if (materialize && (ensure_tree(b, src, err) < 0 || resolve_in(src->tree, rel, &host, err) < 0))
							ret = -1;
					}
				} else if (!b->o->context) {
					ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "RUN --mount=type=bind: no local build context to bind from");
				} else {
					/* the context's bytes are part of the key */
					struct fb_copy_opts co = { .src_root = b->o->context, .ignore = b->o->ignore,
								   .nignore = b->o->nignore, .what = "RUN --mount" };
					struct fb_sha256 h;
					fb_sha256_init(&h);
					char *srcs[] = { (char *)rel };
					if (fb_copy_hash(&co, srcs, 1, &h, err) < 0) {
						fb_sha256_free(&h);
						ret = -1;
					} else {
						char d[72];
						fb_sha256_final(&h, d);
						fb_buf_addf(extra, "bind context %s %s\n", rel, d);
						if (materialize && resolve_in(b->o->context, rel, &host, err) < 0)
							ret = -1;
					}
				}
				jv_free(from);
				if (ret == 0 && materialize) {
					em = jv_object_set(em, jv_string("type"), jv_string("bind"));
					em = jv_object_set(em, jv_string("source"), jv_string(host));
					em = jv_object_set(em, jv_string("target"), jv_string(tgt ? tgt : "/"));
					em = jv_object_set(em, jv_string("readonly"), jv_bool(ro));
				}
				free(host);
			} else if (ret == 0) {
				ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "RUN --mount=type=%s is not supported here", type);
			}
			if (jv_object_length(jv_copy(em)) > 0)
				rc->mounts = jv_array_append(rc->mounts, em);
			else
				jv_free(em);
			free(type);
			free(target);
			free(tgt);
			free(source);
			free(id);
			jv_free(m);
			(void)i;
		}
	jv_free(ms);
	return ret;
}

static bool lone_heredoc(const char *cmdline, jv heredocs)
{
	if (jv_get_kind(heredocs) != JV_KIND_ARRAY || jv_array_length(jv_copy(heredocs)) != 1)
		return false;
	while (*cmdline == ' ' || *cmdline == '\t')
		cmdline++;
	if (strncmp(cmdline, "<<", 2))
		return false;
	for (const char *p = cmdline + 2; *p; p++)
		if (*p == ' ' || *p == '\t')
			for (const char *q = p; *q; q++)
				if (*q != ' ' && *q != '\t' && *q != '\n')
					return false;
	return true;
}

static int step_run(struct step *st, struct fb_err *err)
{
	struct state *s = st->s;
	struct run_ctx rc = { .argv = jv_array(), .mounts = jv_array() };
	rc.args_env = jv_object_get(jv_copy(st->ins), jv_string("args_env"));
	char *form = NULL, *net = NULL;
	fb_json_get_str_opt(st->ins, "form", &form, err);
	fb_json_get_str_opt(st->ins, "network", &net, err);
	rc.network = fb_xstrdup(net && !strcmp(net, "none") ? "none" : "host");
	jv args = jv_object_get(jv_copy(st->ins), jv_string("args"));
	jv heredocs = jv_object_get(jv_copy(st->ins), jv_string("heredocs"));
	if (form && !strcmp(form, "exec")) {
		jv_free(rc.argv);
		rc.argv = jv_copy(args);
	} else {
		jv shell = cfg_get(s, "Shell");
		if (jv_get_kind(shell) != JV_KIND_ARRAY || !jv_array_length(jv_copy(shell))) {
			jv_free(shell);
			shell = jv_array_append(jv_array_append(jv_array(), jv_string("/bin/sh")), jv_string("-c"));
		}
		jv a0 = jv_array_get(jv_copy(args), 0);
		const char *line = jv_get_kind(a0) == JV_KIND_STRING ? jv_string_value(a0) : "";
		struct fb_buf script = FB_BUF_INIT;
		if (lone_heredoc(line, heredocs)) {
			/* RUN <<EOF: the body is the script */
			jv h = jv_array_get(jv_copy(heredocs), 0);
			jv body = jv_object_get(h, jv_string("body"));
			fb_buf_adds(&script, jv_string_value(body));
			jv_free(body);
		} else {
			fb_buf_adds(&script, line);
			if (jv_get_kind(heredocs) == JV_KIND_ARRAY)
				jv_array_foreach(heredocs, i, h)
				{
					jv body = jv_object_get(jv_copy(h), jv_string("body")), name = jv_object_get(h, jv_string("name"));
					fb_buf_addf(&script, "\n%s%s", jv_string_value(body), jv_string_value(name));
					jv_free(body);
					jv_free(name);
					(void)i;
				}
		}
		if (!strncmp(fb_buf_str(&script), "#!", 2)) {
			/* a script with its own interpreter runs as a file */
			char name[64];
			snprintf(name, sizeof(name), ".fb-heredoc-%d", (int)getpid());
			rc.script = fb_xstrdup(name);
			rc.argv = jv_array_append(rc.argv, jv_string_fmt("/%s", name));
		} else {
			jv_array_foreach(shell, i, w)
			{
				rc.argv = jv_array_append(rc.argv, w);
				(void)i;
			}
			rc.argv = jv_array_append(rc.argv, jv_string(fb_buf_str(&script)));
		}
		if (rc.script) {
			/* written when the step runs */
			jv_free(shell);
			shell = jv_string(fb_buf_str(&script));
			rc.args_env = jv_is_valid(rc.args_env) ? rc.args_env : jv_null();
			st->ins = jv_object_set(st->ins, jv_string("_script"), shell);
		} else {
			jv_free(shell);
		}
		fb_buf_free(&script);
		jv_free(a0);
	}
	jv_free(args);
	jv_free(heredocs);
	/* the shell and the config the command sees are part of its key */
	char *user = cfg_str(s, "User"), *wdo;
	const char *wd = workdir_of(s, &wdo);
	jv envj = cfg_get(s, "Env");
	jv envs = jv_dump_string(envj, 0);
	struct fb_buf extra = FB_BUF_INIT;
	fb_buf_addf(&extra, "user=%s\nworkdir=%s\nenv=%s\nargv=", user ? user : "", wd, jv_string_value(envs));
	jv av = jv_dump_string(jv_copy(rc.argv), 0);
	fb_buf_adds(&extra, jv_string_value(av));
	jv_free(av);
	jv_free(envs);
	free(user);
	free(wdo);
	int r = run_mounts(st, &rc, &extra, false, err);
	if (r == 0) {
		/* the key first (no tree needed), the mounts for real on a miss */
		jv_free(rc.mounts);
		rc.mounts = jv_array();
		key_of(s->key, st->ins, fb_buf_str(&extra), st->key);
		jv hit;
		bool cached = cache_get(st->b, st->key, &hit);
		if (cached)
			jv_free(hit);
		struct fb_buf ignored = FB_BUF_INIT;
		if (!cached)
			r = run_mounts(st, &rc, &ignored, true, err);
		fb_buf_free(&ignored);
		for (size_t i = 0; r == 0 && i < rc.tmpfiles.n; i++) {
			/* secrets given as env= reach the command only */
			char *eq = strchr(rc.tmpfiles.v[i], '=');
			if (jv_get_kind(rc.args_env) != JV_KIND_OBJECT) {
				jv_free(rc.args_env);
				rc.args_env = jv_object();
			}
			*eq = '\0';
			rc.args_env = jv_object_set(rc.args_env, jv_string(rc.tmpfiles.v[i]), jv_string(eq + 1));
		}
	}
	if (r == 0 && rc.script && ensure_tree(st->b, s, err) == 0) {
		jv body = jv_object_get(jv_copy(st->ins), jv_string("_script"));
		char *p = fb_xasprintf("%s/%s", s->tree, rc.script);
		struct fb_err e2 = { 0 };
		if (fb_write_file_atomic(p, jv_string_value(body), (size_t)jv_string_length_bytes(jv_copy(body)), 0755, &e2) < 0)
			r = fb_err_set(err, e2.code, e2.kind, "%s", e2.msg);
		free(p);
		jv_free(body);
	}
	st->ins = jv_object_delete(st->ins, jv_string("_script"));
	if (r == 0)
		r = fs_step(st, fb_buf_str(&extra), do_run, &rc, err);
	fb_buf_free(&extra);
	jv_free(rc.argv);
	jv_free(rc.mounts);
	jv_free(rc.args_env);
	fb_strv_free(&rc.tmpfiles);
	free(rc.network);
	free(rc.script);
	free(form);
	free(net);
	return r;
}

/* ---- COPY and ADD ---- */

struct copy_ctx {
	struct fb_copy_opts co;
	struct fb_strv paths;      /* local sources */
	jv heredocs;               /* {name, body} */
	jv downloads;              /* {name, file, mtime} */
	const char *dest;
	const char *chown;
	const char *chmod;
};

static int do_copy(struct step *st, void *ctx, struct fb_err *err)
{
	struct copy_ctx *cc = ctx;
	cc->co.dest_root = st->s->tree;
	char *wdo;
	cc->co.workdir = workdir_of(st->s, &wdo);
	int r = 0;
	if (cc->chown && fb_resolve_owner(st->s->tree, cc->chown, &cc->co.uid, &cc->co.gid, err) < 0)
		r = -1;
	if (r == 0 && cc->paths.n)
		r = fb_copy(&cc->co, cc->paths.v, cc->paths.n, cc->dest, err);
	if (r == 0)
		jv_array_foreach(jv_copy(cc->heredocs), i, h)
		{
			jv name = jv_object_get(jv_copy(h), jv_string("name")), body = jv_object_get(h, jv_string("body"));
			if (r == 0)
				r = fb_copy_data(&cc->co, jv_string_value(name), jv_string_value(body),
						 (size_t)jv_string_length_bytes(jv_copy(body)), 0644, 0, cc->dest, err);
			jv_free(name);
			jv_free(body);
			(void)i;
		}
	if (r == 0)
		jv_array_foreach(jv_copy(cc->downloads), i, d)
		{
			jv name = jv_object_get(jv_copy(d), jv_string("name")), file = jv_object_get(jv_copy(d), jv_string("file"));
			jv mt = jv_object_get(d, jv_string("mtime"));
			struct fb_buf data = FB_BUF_INIT;
			if (r == 0 && fb_read_file(jv_string_value(file), &data, err) == 0)
				r = fb_copy_data(&cc->co, jv_string_value(name), data.data, data.len, 0600, (time_t)jv_number_value(mt),
						 cc->dest, err);
			else
				r = -1;
			fb_buf_free(&data);
			jv_free(name);
			jv_free(file);
			jv_free(mt);
			(void)i;
		}
	free(wdo);
	return r;
}

static size_t curl_write(char *p, size_t size, size_t n, void *ctx)
{
	return fwrite(p, size, n, ctx);
}

/* GET url into file; the mtime from Last-Modified (0 when none). */
static int download(const char *url, const char *file, long *mtime, struct fb_err *err)
{
	FILE *f = fopen(file, "we");
	if (!f)
		return fb_err_errno(err, errno, "%s", file);
	CURL *c = curl_easy_init();
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	CURLcode cr = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_FILETIME, mtime);
	curl_easy_cleanup(c);
	int ret = 0;
	if (fclose(f) != 0 && cr == CURLE_OK)
		ret = fb_err_errno(err, errno, "%s", file);
	else if (cr != CURLE_OK)
		ret = fb_err_set(err, FB_EXIT_FAILED, "network", "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(cr));
	else if (status >= 400)
		ret = fb_err_set(err, status == 404 ? FB_EXIT_NOTFOUND : FB_EXIT_FAILED, "http", "%s: HTTP %ld", url, status);
	if (*mtime < 0)
		*mtime = 0;
	return ret;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static int step_copy(struct step *st, bool add, struct fb_err *err)
{
	struct builder *b = st->b;
	struct copy_ctx cc = { .heredocs = jv_array(), .downloads = jv_array() };
	cc.co.what = add ? "ADD" : "COPY";
	struct fb_buf extra = FB_BUF_INIT;
	int r = 0;
	jv from = jv_object_get(jv_copy(st->ins), jv_string("from"));
	struct state *src = NULL;
	char *http_dir = NULL, *git_dir = NULL, *gurl = NULL, *gref = NULL, *gsub = NULL;
	if (jv_get_kind(from) == JV_KIND_OBJECT) {
		r = source_state(b, from, &src, err);
		if (r == 0)
			fb_buf_addf(&extra, "from %s\n", src->key);
		cc.co.keep_owners = true; /* only the context's files become root's */
	} else if (b->o->context) {
		cc.co.src_root = b->o->context;
		cc.co.ignore = b->o->ignore;
		cc.co.nignore = b->o->nignore;
	}
	jv_free(from);
	jv dest = jv_object_get(jv_copy(st->ins), jv_string("dest"));
	cc.dest = jv_string_value(dest);
	jv chown = jv_object_get(jv_copy(st->ins), jv_string("chown")), chmodj = jv_object_get(jv_copy(st->ins), jv_string("chmod"));
	if (jv_get_kind(chown) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(chown))) {
		cc.chown = jv_string_value(chown);
		cc.co.chown = true;
	}
	if (jv_get_kind(chmodj) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(chmodj))) {
		char *end;
		unsigned long m = strtoul(jv_string_value(chmodj), &end, 8);
		if (*end || m > 07777)
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "--chmod=%s: expected an octal mode", jv_string_value(chmodj));
		cc.co.chmod = true;
		cc.co.mode = (mode_t)m;
	}
	bool flag = false;
	fb_json_get_bool_opt(st->ins, "parents", &flag, err);
	cc.co.parents = flag;
	jv unpack = jv_object_get(jv_copy(st->ins), jv_string("unpack"));
	cc.co.unpack = add && jv_get_kind(unpack) != JV_KIND_FALSE;
	jv_free(unpack);
	struct fb_strv excl = FB_STRV_INIT;
	fb_json_get_strv_opt(st->ins, "exclude", &excl, err);
	cc.co.exclude = excl.v;
	cc.co.nexclude = excl.n;
	jv checksum = jv_object_get(jv_copy(st->ins), jv_string("checksum"));
	jv srcs = jv_object_get(jv_copy(st->ins), jv_string("sources"));
	jv_array_foreach(srcs, i, sj)
	{
		jv path = jv_object_get(jv_copy(sj), jv_string("path"));
		if (r < 0) {
			/* skip */
		} else if (jv_get_kind(path) == JV_KIND_STRING && add &&
			   fb_git_url_parse(jv_string_value(path), &gurl, &gref, &gsub)) {
			/* a git repository (BuildKit's ADD <git URL>#REF[:SUBDIR]):
			 * cloned, checked out, its tree (or SUBDIR) copied as a
			 * directory's contents; keyed on the commit and the bytes */
			if (src)
				r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "ADD --from cannot take a git repository");
			else if (jv_array_length(jv_copy(srcs)) != 1)
				r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "ADD %s: a git repository is the only source of its ADD",
					       jv_string_value(path));
			if (r == 0) {
				char commit[41];
				git_dir = fb_xasprintf("%s/git-%d", b->work, b->trees++);
				r = fb_git_checkout(gurl, gref, git_dir, commit, err);
				bool keep = false;
				fb_json_get_bool_opt(st->ins, "keep_git_dir", &keep, err);
				if (r == 0 && !keep) {
					char *dotgit = fb_xasprintf("%s/.git", git_dir);
					fb_tree_remove(dotgit);
					free(dotgit);
				}
				if (r == 0) {
					cc.co.src_root = git_dir;
					cc.co.ignore = NULL; /* the context's .dockerignore is not the repository's */
					cc.co.nignore = 0;
					cc.co.unpack = false;
					fb_strv_push(&cc.paths, gsub ? gsub : ".");
					fb_buf_addf(&extra, "git %s %s %s %d\n", gurl, commit, gsub ? gsub : "", keep);
				}
			}
			free(gurl);
			free(gref);
			free(gsub);
			gurl = gref = gsub = NULL;
		} else if (jv_get_kind(path) == JV_KIND_STRING && add && is_url(jv_string_value(path))) {
			if (src) {
				r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "ADD --from cannot take a URL");
			} else {
				const char *url = jv_string_value(path);
				char *file = fb_xasprintf("%s/download-%d", b->work, jv_array_length(jv_copy(cc.downloads)));
				long mtime = 0;
				r = download(url, file, &mtime, err);
				char d[72];
				struct fb_buf data = FB_BUF_INIT;
				if (r == 0 && fb_read_file(file, &data, err) == 0)
					fb_sha256_mem(data.data, data.len, d);
				else
					r = -1;
				fb_buf_free(&data);
				if (r == 0 && jv_get_kind(checksum) == JV_KIND_STRING && strcmp(d, jv_string_value(checksum)))
					r = fb_err_set(err, FB_EXIT_FAILED, "checksum", "ADD %s: the content's digest is %s, not %s (--checksum)",
						       url, d, jv_string_value(checksum));
				/* the name: the URL's last path component */
				const char *q = strpbrk(url + 8, "?#");
				size_t ulen = q ? (size_t)(q - url) : strlen(url);
				char *u = fb_xstrndup(url, ulen);
				const char *base = strrchr(u, '/');
				base = base && base[1] && base > strstr(u, "//") + 1 ? base + 1 : "index.html";
				jv dl = jv_object_set(jv_object(), jv_string("name"), jv_string(base));
				dl = jv_object_set(dl, jv_string("file"), jv_string(file));
				dl = jv_object_set(dl, jv_string("mtime"), jv_number((double)mtime));
				cc.downloads = jv_array_append(cc.downloads, dl);
				fb_buf_addf(&extra, "url %s %s %ld\n", url, d, mtime);
				free(u);
				free(file);
			}
		} else if (jv_get_kind(path) == JV_KIND_STRING) {
			fb_strv_push(&cc.paths, jv_string_value(path));
		} else {
			jv name = jv_object_get(jv_copy(sj), jv_string("heredoc"));
			jv body = jv_object_get(jv_copy(sj), jv_string("body"));
			jv h = jv_object_set(jv_object(), jv_string("name"), name);
			cc.heredocs = jv_array_append(cc.heredocs, jv_object_set(h, jv_string("body"), body));
		}
		jv_free(path);
		jv_free(sj);
		(void)i;
	}
	jv_free(srcs);
	jv_free(checksum);
	if (r == 0 && cc.paths.n && !src && !b->o->context && b->o->context_url && !git_dir) {
		/* an http context: each source is fetched next to the Dockerfile */
		http_dir = fb_xasprintf("%s/http-context-%d", b->work, b->trees++);
		r = fb_mkdir_p(http_dir, 0755, err);
		for (size_t i = 0; r == 0 && i < cc.paths.n; i++) {
			const char *p = cc.paths.v[i];
			size_t n = strlen(p);
			if (strpbrk(p, "*?[") || (n && p[n - 1] == '/') || !strcmp(p, "."))
				r = fb_err_set(err, FB_EXIT_USAGE, "invalid",
					       "%s %s: over http only single files can be copied (a directory or a wildcard cannot be listed)",
					       cc.co.what, p);
			else if (strstr(p, ".."))
				r = fb_err_set(err, FB_EXIT_USAGE, "outside_context", "%s %s: the path is outside the build context",
					       cc.co.what, p);
			if (r < 0)
				break;
			while (*p == '/' || (p[0] == '.' && p[1] == '/'))
				p += *p == '/' ? 1 : 2;
			char *url = fb_xasprintf("%s/%s", b->o->context_url, p);
			char *file = fb_xasprintf("%s/%s", http_dir, p);
			char *slash = strrchr(file, '/');
			*slash = '\0';
			r = fb_mkdir_p(file, 0755, err);
			*slash = '/';
			long mtime = 0;
			if (r == 0)
				r = download(url, file, &mtime, err);
			/* a file over http gets 0644 (there are no modes in http) */
			if (r == 0)
				chmod(file, 0644);
			free(url);
			free(file);
		}
		cc.co.src_root = http_dir;
	} else if (r == 0 && cc.paths.n && !src && !b->o->context && !git_dir) {
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: there is no build context to copy from", cc.co.what);
	}
	if (r == 0 && cc.paths.n && !src && !git_dir) {
		/* what the copy reads is part of the key (a git tree is its commit) */
		struct fb_sha256 h;
		fb_sha256_init(&h);
		struct fb_copy_opts ho = cc.co;
		ho.chown = false;
		if (fb_copy_hash(&ho, cc.paths.v, cc.paths.n, &h, err) < 0) {
			fb_sha256_free(&h);
			r = -1;
		} else {
			char d[72];
			fb_sha256_final(&h, d);
			fb_buf_addf(&extra, "content %s\n", d);
		}
	}
	if (r == 0 && src) {
		/* another stage or image: its tree is needed only on a miss */
		key_of(st->s->key, st->ins, fb_buf_str(&extra), st->key);
		jv hit;
		if (cache_get(b, st->key, &hit))
			jv_free(hit);
		else if (ensure_tree(b, src, err) < 0)
			r = -1;
		cc.co.src_root = src->tree;
	}
	if (r == 0)
		r = fs_step(st, fb_buf_str(&extra), do_copy, &cc, err);
	if (http_dir) {
		fb_tree_remove(http_dir);
		free(http_dir);
	}
	if (git_dir) {
		fb_tree_remove(git_dir);
		free(git_dir);
	}
	jv_free(dest);
	jv_free(chown);
	jv_free(chmodj);
	jv_free(cc.heredocs);
	jv_free(cc.downloads);
	fb_strv_free(&cc.paths);
	fb_strv_free(&excl);
	fb_buf_free(&extra);
	return r;
}

/* ---- WORKDIR and the metadata instructions ---- */

/* WORKDIR makes what is missing of its path as the current USER (BuildKit's
 * mkdir WithUser: a name from the tree's /etc/passwd, a number being both
 * uid and gid). */
static int do_workdir(struct step *st, void *ctx, struct fb_err *err)
{
	(void)ctx;
	char *wdo;
	const char *wd = workdir_of(st->s, &wdo);
	char *user = cfg_str(st->s, "User");
	uid_t uid = 0;
	gid_t gid = 0;
	if (user)
		fb_resolve_owner_lenient(st->s->tree, user, &uid, &gid);
	free(user);
	int rfd = open(st->s->tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = rfd >= 0 ? fb_tree_mkdirs(rfd, wd, 0755, uid, gid, NULL, err) : fb_err_errno(err, errno, "%s", st->s->tree);
	if (fd >= 0)
		close(fd);
	if (rfd >= 0)
		close(rfd);
	free(wdo);
	return fd < 0 ? -1 : 0;
}

static jv shell_form(const struct state *s, jv ins)
{
	jv args = jv_object_get(jv_copy(ins), jv_string("args"));
	jv form = jv_object_get(jv_copy(ins), jv_string("form"));
	if (jv_get_kind(form) == JV_KIND_STRING && !strcmp(jv_string_value(form), "shell")) {
		jv shell = cfg_get(s, "Shell");
		if (jv_get_kind(shell) != JV_KIND_ARRAY || !jv_array_length(jv_copy(shell))) {
			jv_free(shell);
			shell = jv_array_append(jv_array_append(jv_array(), jv_string("/bin/sh")), jv_string("-c"));
		}
		args = jv_array_concat(shell, args);
	}
	jv_free(form);
	return args;
}

static jv object_of(const struct state *s, const char *key)
{
	jv v = cfg_get(s, key);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		v = jv_object();
	}
	return v;
}

static int meta_step(struct step *st, struct fb_err *err)
{
	struct state *s = st->s;
	const char *cmd = st->cmd;
	(void)err;
	if (!strcmp(cmd, "ENV") || !strcmp(cmd, "LABEL")) {
		jv pairs = jv_object_get(jv_copy(st->ins), jv_string("pairs"));
		jv labels = object_of(s, "Labels");
		jv_array_foreach(pairs, i, p)
		{
			jv k = jv_object_get(jv_copy(p), jv_string("key")), v = jv_object_get(p, jv_string("value"));
			if (!strcmp(cmd, "ENV"))
				env_set(s, jv_string_value(k), jv_string_value(v));
			else
				labels = jv_object_set(labels, jv_copy(k), jv_copy(v));
			jv_free(k);
			jv_free(v);
			(void)i;
		}
		jv_free(pairs);
		if (!strcmp(cmd, "LABEL"))
			cfg_set(s, "Labels", labels);
		else
			jv_free(labels);
	} else if (!strcmp(cmd, "ARG")) {
		jv args = jv_object_get(jv_copy(st->ins), jv_string("args"));
		jv_array_foreach(args, i, a)
		{
			jv n = jv_object_get(jv_copy(a), jv_string("name")), v = jv_object_get(a, jv_string("value"));
			if (jv_get_kind(v) == JV_KIND_STRING)
				fb_vars_set(&s->args, jv_string_value(n), jv_string_value(v));
			jv_free(n);
			jv_free(v);
			(void)i;
		}
		jv_free(args);
	} else if (!strcmp(cmd, "EXPOSE")) {
		jv ports = jv_object_get(jv_copy(st->ins), jv_string("ports")), ep = object_of(s, "ExposedPorts");
		jv_array_foreach(ports, i, p)
		{
			ep = jv_object_set(ep, p, jv_object());
			(void)i;
		}
		jv_free(ports);
		cfg_set(s, "ExposedPorts", ep);
	} else if (!strcmp(cmd, "VOLUME")) {
		jv paths = jv_object_get(jv_copy(st->ins), jv_string("paths")), vs = object_of(s, "Volumes");
		jv_array_foreach(paths, i, p)
		{
			vs = jv_object_set(vs, p, jv_object());
			(void)i;
		}
		jv_free(paths);
		cfg_set(s, "Volumes", vs);
	} else if (!strcmp(cmd, "USER")) {
		cfg_set(s, "User", jv_object_get(jv_copy(st->ins), jv_string("user")));
	} else if (!strcmp(cmd, "CMD")) {
		cfg_set(s, "Cmd", shell_form(s, st->ins));
	} else if (!strcmp(cmd, "ENTRYPOINT")) {
		cfg_set(s, "Entrypoint", shell_form(s, st->ins));
	} else if (!strcmp(cmd, "SHELL")) {
		cfg_set(s, "Shell", jv_object_get(jv_copy(st->ins), jv_string("args")));
	} else if (!strcmp(cmd, "STOPSIGNAL")) {
		cfg_set(s, "StopSignal", jv_object_get(jv_copy(st->ins), jv_string("signal")));
	} else if (!strcmp(cmd, "HEALTHCHECK")) {
		jv hc = jv_object_get(jv_copy(st->ins), jv_string("healthcheck")), out = jv_object();
		static const char *const keys[][2] = { { "test", "Test" },
						       { "interval", "Interval" },
						       { "timeout", "Timeout" },
						       { "start_period", "StartPeriod" },
						       { "start_interval", "StartInterval" },
						       { "retries", "Retries" } };
		for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++) {
			jv v = jv_object_get(jv_copy(hc), jv_string(keys[i][0]));
			if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
				out = jv_object_set(out, jv_string(keys[i][1]), v);
			else
				jv_free(v);
		}
		jv_free(hc);
		cfg_set(s, "Healthcheck", out);
	} else if (!strcmp(cmd, "ONBUILD")) {
		jv ob = cfg_get(s, "OnBuild");
		if (jv_get_kind(ob) != JV_KIND_ARRAY) {
			jv_free(ob);
			ob = jv_array();
		}
		cfg_set(s, "OnBuild", jv_array_append(ob, jv_object_get(jv_copy(st->ins), jv_string("trigger"))));
	} else if (!strcmp(cmd, "MAINTAINER")) {
		s->config = jv_object_set(s->config, jv_string("author"), jv_object_get(jv_copy(st->ins), jv_string("maintainer")));
	}
	key_of(s->key, st->ins, NULL, st->key);
	memcpy(s->key, st->key, sizeof(st->key));
	if (strcmp(cmd, "ARG"))
		add_history(s, st->ins, true);
	record(st, "metadata", 0, jv_null());
	return 0;
}

static int step(struct builder *b, struct state *s, size_t stage, jv ins, bool *cmd_set, struct fb_err *err)
{
	struct step st = { .b = b, .s = s, .stage = stage, .ins = ins };
	jv cmd = jv_object_get(jv_copy(ins), jv_string("cmd")), line = jv_object_get(jv_copy(ins), jv_string("line"));
	char cmdbuf[16];
	snprintf(cmdbuf, sizeof(cmdbuf), "%s", jv_get_kind(cmd) == JV_KIND_STRING ? jv_string_value(cmd) : "?");
	st.cmd = cmdbuf;
	st.line = jv_get_kind(line) == JV_KIND_NUMBER ? (int)jv_number_value(line) : 0;
	jv_free(cmd);
	jv_free(line);
	char *sname = fb_xasprintf("step %zu %s:%d %s", stage, b->file, st.line, cmdbuf);
	st.span = fb_span_begin(sname);
	free(sname);
	jv orig = jv_object_get(jv_copy(ins), jv_string("original"));
	if (jv_get_kind(orig) == JV_KIND_STRING)
		fb_span_set(st.span, "instruction", jv_string_value(orig));
	jv_free(orig);
	int r = reexpand(b, s, &st.ins, err);
	if (r == 0) {
		if (!strcmp(cmdbuf, "RUN")) {
			r = step_run(&st, err);
		} else if (!strcmp(cmdbuf, "COPY") || !strcmp(cmdbuf, "ADD")) {
			r = step_copy(&st, !strcmp(cmdbuf, "ADD"), err);
		} else if (!strcmp(cmdbuf, "WORKDIR")) {
			jv p = jv_object_get(jv_copy(st.ins), jv_string("path"));
			char *wdo;
			const char *wd = workdir_of(s, &wdo);
			const char *path = jv_string_value(p);
			char *full = path[0] == '/' ? fb_xstrdup(path) : fb_xasprintf("%s/%s", strcmp(wd, "/") ? wd : "", path);
			free(wdo);
			jv_free(p);
			cfg_set(s, "WorkingDir", jv_string(full));
			free(full);
			r = fs_step(&st, NULL, do_workdir, NULL, err);
		} else {
			if (!strcmp(cmdbuf, "CMD"))
				*cmd_set = true;
			if (!strcmp(cmdbuf, "ENTRYPOINT") && !*cmd_set)
				cfg_set(s, "Cmd", jv_null());
			r = meta_step(&st, err);
		}
	}
	if (r < 0 && !err->line) {
		snprintf(err->file, sizeof(err->file), "%s", b->file);
		err->line = st.line;
	}
	if (r < 0)
		fb_span_error(st.span, err->msg);
	fb_span_end(st.span);
	jv_free(st.ins);
	return r;
}

/* ONBUILD triggers of a base image, parsed and run first. */
static int triggers(struct builder *b, struct state *s, size_t stage, struct fb_err *err)
{
	jv ob = cfg_get(s, "OnBuild");
	if (jv_get_kind(ob) != JV_KIND_ARRAY || !jv_array_length(jv_copy(ob))) {
		jv_free(ob);
		return 0;
	}
	cfg_set(s, "OnBuild", jv_null()); /* they run once, in the child */
	struct fb_buf text = FB_BUF_INIT;
	fb_buf_adds(&text, "FROM scratch\n");
	int bad = -1;
	jv_array_foreach(ob, i, t)
	{
		/* the base image's config is input like any other */
		if (jv_get_kind(t) == JV_KIND_STRING)
			fb_buf_addf(&text, "%s\n", jv_string_value(t));
		else if (bad < 0)
			bad = i;
		jv_free(t);
	}
	jv_free(ob);
	if (bad >= 0) {
		fb_buf_free(&text);
		return fb_err_set(err, FB_EXIT_FAILED, "invalid", "the base image's config: .config.OnBuild[%d]: expected a string", bad);
	}
	struct fb_df df;
	struct fb_plan_opts po = { .file = "ONBUILD" };
	jv plan;
	int r = -1;
	if (fb_df_parse(fb_buf_str(&text), text.len, "ONBUILD", &df, err) == 0) {
		if (fb_plan_build(&df, &po, &plan, err) == 0) {
			jv ins = jv_getpath(plan, jv_parse("[\"stages\",0,\"instructions\"]"));
			bool cmd_set = false;
			r = 0;
			jv_array_foreach(ins, i, in)
			{
				if (r == 0) {
					jv orig = jv_object_get(jv_copy(in), jv_string("original"));
					fb_log(FB_LOG_INFO, "#%zu ONBUILD %s", stage, jv_string_value(orig));
					jv_free(orig);
					r = step(b, s, stage, in, &cmd_set, err);
				} else {
					jv_free(in);
				}
				(void)i;
			}
			jv_free(ins);
		}
		fb_df_free(&df);
	}
	fb_buf_free(&text);
	if (r < 0)
		fb_err_prefix(err, "ONBUILD trigger of the base image");
	return r;
}

static int build_stage(struct builder *b, size_t idx, jv stage, struct fb_err *err)
{
	struct state *s = &b->stages[idx];
	jv name = jv_object_get(jv_copy(stage), jv_string("name"));
	s->label = jv_get_kind(name) == JV_KIND_STRING ? fb_xasprintf("stage %zu (%s)", idx, jv_string_value(name))
						      : fb_xasprintf("stage %zu", idx);
	jv_free(name);
	char *type = NULL, *base = NULL, *platform = NULL;
	fb_json_get_str_opt(stage, "base_type", &type, err);
	fb_json_get_str_opt(stage, "base", &base, err);
	fb_json_get_str_opt(stage, "platform", &platform, err);
	int r = 0;
	s->config = jv_null();
	s->layers = jv_array();
	if (!type || !strcmp(type, "unresolved") || (!base && strcmp(type, "scratch"))) {
		long long line = 0;
		struct fb_err le = { 0 };
		fb_json_get_int_opt(stage, "line", &line, &le); /* the plan is checked (lib/shape) */
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: FROM has no image (give it with --build-arg)", s->label);
		snprintf(err->file, sizeof(err->file), "%s", b->file);
		err->line = (int)line;
	} else if (!strcmp(type, "scratch")) {
		jv_free(s->config);
		s->config = scratch_config(platform);
		fb_sha256_mem(platform ? platform : "", platform ? strlen(platform) : 0, s->key);
	} else if (!strcmp(type, "stage")) {
		/* lib/shape checked it is an earlier stage; it must have been built */
		long long bi = 0;
		fb_json_get_int_opt(stage, "base_stage", &bi, err);
		struct state *p = &b->stages[bi];
		if (!p->done) {
			free(type);
			free(base);
			free(platform);
			s->done = false;
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: its base, stage %lld, is not built (the plan marks it not needed)",
					  s->label, bi);
		}
		jv_free(s->config);
		jv_free(s->layers);
		s->config = jv_copy(p->config);
		s->layers = jv_copy(p->layers);
		memcpy(s->key, p->key, sizeof(s->key));
		fb_vars_copy(&s->args, &p->args);
	} else {
		jv_free(s->config);
		jv_free(s->layers);
		s->config = jv_null();
		s->layers = jv_null();
		char *label = s->label;
		s->label = NULL;
		r = image_state(b, base, platform, s, err);
		free(s->label);
		s->label = label;
		if (r == 0)
			r = triggers(b, s, idx, err);
	}
	fb_log(FB_LOG_INFO, "#%zu FROM %s", idx, base ? base : "scratch");
	jv ins = jv_object_get(jv_copy(stage), jv_string("instructions"));
	bool cmd_set = false;
	jv_array_foreach(ins, i, in)
	{
		if (r == 0)
			r = step(b, s, idx, in, &cmd_set, err);
		else
			jv_free(in);
		(void)i;
	}
	jv_free(ins);
	free(type);
	free(base);
	free(platform);
	s->done = r == 0;
	return r;
}

/* The result into the store: config and manifest blobs, then .image. */
static int finish(struct builder *b, struct state *s, jv *image, struct fb_err *err)
{
	char cd[72], md[72];
	char *ctext = fb_json_dump(jv_copy(s->config), false);
	size_t clen = strlen(ctext);
	if (fb_store_put_mem(b->o->store, ctext, clen, cd, err) < 0) {
		free(ctext);
		return -1;
	}
	free(ctext);
	jv m = jv_object_set(jv_object(), jv_string("schemaVersion"), jv_number(2));
	m = jv_object_set(m, jv_string("mediaType"), jv_string(FB_MT_OCI_MANIFEST));
	jv c = jv_object_set(jv_object(), jv_string("mediaType"), jv_string(FB_MT_OCI_CONFIG));
	c = jv_object_set(c, jv_string("digest"), jv_string(cd));
	m = jv_object_set(m, jv_string("config"), jv_object_set(c, jv_string("size"), jv_number((double)clen)));
	m = jv_object_set(m, jv_string("layers"), jv_copy(s->layers));
	char *mtext = fb_json_dump(m, false);
	size_t mlen = strlen(mtext);
	int r = fb_store_put_mem(b->o->store, mtext, mlen, md, err);
	free(mtext);
	if (r < 0)
		return -1;
	jv os = jv_object_get(jv_copy(s->config), jv_string("os")), arch = jv_object_get(jv_copy(s->config), jv_string("architecture"));
	jv img = jv_object_set(jv_object(), jv_string("ref"), jv_string("dockerfile"));
	img = jv_object_set(img, jv_string("digest"), jv_string(md));
	img = jv_object_set(img, jv_string("media_type"), jv_string(FB_MT_OCI_MANIFEST));
	img = jv_object_set(img, jv_string("platform"),
			    jv_string_fmt("%s/%s", jv_get_kind(os) == JV_KIND_STRING ? jv_string_value(os) : "linux",
					  jv_get_kind(arch) == JV_KIND_STRING ? jv_string_value(arch) : "unknown"));
	img = jv_object_set(img, jv_string("config_digest"), jv_string(cd));
	img = jv_object_set(img, jv_string("config"), jv_copy(s->config));
	img = jv_object_set(img, jv_string("layers"), jv_copy(s->layers));
	img = jv_object_set(img, jv_string("store"), jv_string(b->o->store->root));
	jv_free(os);
	jv_free(arch);
	*image = img;
	return 0;
}

int fb_build(const struct fb_build_opts *o, jv plan, jv *image, jv *steps, struct fb_err *err)
{
	struct builder b = { .o = o, .plan = plan, .steps = jv_array() };
	jv file = jv_object_get(jv_copy(plan), jv_string("file")), esc = jv_object_get(jv_copy(plan), jv_string("escape"));
	char filebuf[512];
	snprintf(filebuf, sizeof(filebuf), "%s", jv_get_kind(file) == JV_KIND_STRING ? jv_string_value(file) : "Dockerfile");
	b.file = filebuf;
	b.escape = jv_get_kind(esc) == JV_KIND_STRING && jv_string_value(esc)[0] == '`' ? '`' : '\\';
	jv_free(file);
	jv_free(esc);
	char *tmpl = fb_xasprintf("%s/build-XXXXXX", o->work);
	/* the directory is locked while the build lives (fb_build_sweep); the
	 * work directory's shared lock keeps a sweep out between its mkdtemp
	 * and that lock */
	int wfd = -1, lock = -1;
	bool made = false;
	if (fb_mkdir_p(o->work, 0755, err) < 0 || (wfd = open(o->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(wfd, LOCK_SH) < 0 || !(made = mkdtemp(tmpl) != NULL) ||
	    (lock = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || flock(lock, LOCK_EX) < 0) {
		if (!err->code)
			fb_err_errno(err, errno, "%s", tmpl);
		if (wfd >= 0)
			close(wfd);
		if (lock >= 0)
			close(lock);
		if (made)
			rmdir(tmpl);
		free(tmpl);
		jv_free(b.steps);
		return -1;
	}
	close(wfd);
	b.work = tmpl;
	jv stages = jv_object_get(jv_copy(plan), jv_string("stages"));
	jv target = jv_getpath(jv_copy(plan), jv_parse("[\"target\",\"index\"]"));
	size_t ti = jv_get_kind(target) == JV_KIND_NUMBER ? (size_t)jv_number_value(target) : 0;
	jv_free(target);
	b.nstages = (size_t)jv_array_length(jv_copy(stages));
	b.stages = fb_xcalloc(b.nstages + 1, sizeof(*b.stages));
	for (size_t i = 0; i < b.nstages; i++)
		b.stages[i] = (struct state){ .config = jv_null(), .layers = jv_null() };
	int r = 0;
	for (size_t i = 0; r == 0 && i <= ti && i < b.nstages; i++) {
		jv st = jv_array_get(jv_copy(stages), (int)i);
		jv needed = jv_object_get(jv_copy(st), jv_string("needed"));
		if (jv_get_kind(needed) != JV_KIND_FALSE || i == ti)
			r = build_stage(&b, i, st, err);
		jv_free(needed);
		jv_free(st);
	}
	if (r == 0 && ti < b.nstages)
		r = finish(&b, &b.stages[ti], image, err);
	jv_free(stages);
	for (size_t i = 0; i < b.nstages; i++)
		state_free(&b.stages[i]);
	for (size_t i = 0; i < b.nimages; i++)
		state_free(&b.images[i]);
	free(b.stages);
	free(b.images);
	fb_tree_remove(b.work);
	close(lock);
	free(b.work);
	*steps = b.steps;
	return r;
}

int fb_build_sweep(const char *work, struct fb_strv *removed, struct fb_err *err)
{
	int wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0)
		return errno == ENOENT ? 0 : fb_err_errno(err, errno, "%s", work);
	/* exclusive: no build is between its mkdtemp and its lock */
	if (flock(wfd, LOCK_EX) < 0) {
		int e = errno;
		close(wfd);
		return fb_err_errno(err, e, "lock %s", work);
	}
	struct fb_strv stale = FB_STRV_INIT;
	int fds[256], nfds = 0;
	DIR *d = fdopendir(dup(wfd));
	struct dirent *e;
	while (d && nfds < (int)FB_ARRAY_LEN(fds) && (e = readdir(d))) {
		if (strncmp(e->d_name, "build-", 6))
			continue;
		int fd = openat(wfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* held until it is gone: its name is never a live build's */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue;
		}
		fds[nfds++] = fd;
		fb_strv_push(&stale, e->d_name);
	}
	if (d)
		closedir(d);
	flock(wfd, LOCK_UN);
	int ret = 0;
	for (size_t i = 0; i < stale.n; i++) {
		char *p = fb_xasprintf("%s/%s", work, stale.v[i]);
		if (fb_tree_remove(p) < 0 && ret == 0)
			ret = fb_err_errno(err, errno, "remove %s", p);
		else if (removed)
			fb_strv_push(removed, stale.v[i]);
		free(p);
		close(fds[i]);
	}
	fb_strv_free(&stale);
	close(wfd);
	return ret;
}
