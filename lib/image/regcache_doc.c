/* The codec of the registry build cache (regcache.h): its config blob and
 * manifest, the .build.steps an export reads, and .cache_export /
 * .cache_import. The config and the manifest come from a registry anyone
 * may have pushed to: every member is checked, and errors name it. */
#include "regcache.h"

#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "oci.h"
#include "push.h"
#include "util.h"

static const char *mode_name(enum fb_regcache_mode m)
{
	return m == FB_REGCACHE_MAX ? "max" : "min";
}

/* A member that must be a sha256 digest (null allowed when null_ok: *out
 * stays ""). */
static int get_digest(jv obj, const char *key, bool null_ok, char out[72], struct fb_err *err)
{
	FB_AUTOJV jv v = fb_json_member(obj, key);
	out[0] = '\0';
	if (jv_get_kind(v) == JV_KIND_NULL && null_ok)
		return 0;
	char path[32];
	snprintf(path, sizeof(path), ".%s", key);
	if (jv_get_kind(v) != JV_KIND_STRING)
		return fb_json_wrong_kind(err, path, null_ok ? FB_J_STRING | FB_J_NULL : FB_J_STRING, v);
	if (!fb_digest_valid(jv_string_value(v)))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".%s: not a sha256 digest", key);
	memcpy(out, jv_string_value(v), 72);
	return 0;
}

static int entry_decode(jv e, struct fb_regcache *c, struct fb_err *err)
{
	char key[72], layer[72];
	long long size = -1;
	FB_AUTOFREE char *step = NULL, *created = NULL;
	if (get_digest(e, "key", false, key, err) < 0 || get_digest(e, "layer", true, layer, err) < 0 ||
	    fb_json_get_int_opt(e, "size", &size, err) < 0 || fb_json_get_str_opt(e, "step", &step, err) < 0 ||
	    fb_json_get_str_opt(e, "created", &created, err) < 0)
		return -1;
	if (layer[0] && size < 0)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".size: missing or negative (the layer's size in bytes)");
	/* (the builder takes a cache entry's created only in the shape it
	 * writes; here only its length is bounded) */
	if (created && strlen(created) > 64)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".created: longer than a time");
	struct fb_regcache_entry *ne = fb_regcache_add(c, key, layer, layer[0] ? (uint64_t)size : 0, step);
	if (ne && created) {
		ne->created = created;
		created = NULL;
	}
	return 0;
}

int fb_regcache_decode(const char *text, size_t len, struct fb_regcache *c, struct fb_err *err)
{
	memset(c, 0, sizeof(*c));
	FB_AUTOJV jv v = jv_invalid();
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return fb_json_wrong_kind(err, "the cache config", FB_J_OBJECT, v);
	FB_AUTOFREE char *mode = NULL;
	if (fb_json_get_str_opt(v, "mode", &mode, err) < 0)
		return -1;
	if (mode && strcmp(mode, "min") && strcmp(mode, "max"))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".mode: %s: expected min or max", mode);
	c->mode = mode && !strcmp(mode, "max") ? FB_REGCACHE_MAX : FB_REGCACHE_MIN;
	FB_AUTOJV jv entries = fb_json_member(v, "entries");
	if (jv_get_kind(entries) != JV_KIND_ARRAY)
		return fb_json_wrong_kind(err, ".entries", FB_J_ARRAY, entries);
	int n = jv_array_length(jv_copy(entries));
	if (n > FB_REGCACHE_ENTRIES_MAX)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".entries: %d of them, more than %d", n, FB_REGCACHE_ENTRIES_MAX);
	for (int i = 0; i < n; i++) {
		char path[32];
		snprintf(path, sizeof(path), ".entries[%d]", i);
		jv e = jv_array_get(jv_copy(entries), i);
		bool kind = jv_get_kind(e) == JV_KIND_OBJECT;
		int r = kind ? entry_decode(e, c, err) : fb_json_wrong_kind(err, path, FB_J_OBJECT, e);
		jv_free(e);
		if (r < 0) {
			if (kind)
				fb_json_err_in(err, "%s", path);
			fb_regcache_free(c);
			return -1;
		}
	}
	return 0;
}

char *fb_regcache_encode(const struct fb_regcache *c)
{
	jv a = jv_array();
	for (size_t i = 0; i < c->n; i++) {
		const struct fb_regcache_entry *e = &c->v[i];
		jv o = jv_object_set(jv_object(), jv_string("key"), jv_string(e->key));
		o = jv_object_set(o, jv_string("layer"), e->layer[0] ? jv_string(e->layer) : jv_null());
		o = jv_object_set(o, jv_string("size"), jv_number((double)e->size));
		o = jv_object_set(o, jv_string("step"), fb_jv_str(e->step));
		if (e->created)
			o = jv_object_set(o, jv_string("created"), jv_string(e->created));
		a = jv_array_append(a, o);
	}
	jv o = jv_object_set(jv_object(), jv_string("mode"), jv_string(mode_name(c->mode)));
	o = jv_object_set(o, jv_string("entries"), a);
	return fb_json_dump(o, false);
}

static jv desc(const char *mt, const char *digest, uint64_t size)
{
	jv d = jv_object_set(jv_object(), jv_string("mediaType"), jv_string(mt));
	d = jv_object_set(d, jv_string("digest"), jv_string(digest));
	return jv_object_set(d, jv_string("size"), jv_number((double)size));
}

char *fb_regcache_manifest_encode(const char *config_digest, uint64_t config_size, const struct fb_regcache *c)
{
	jv layers = jv_array();
	for (size_t i = 0; i < c->n; i++) {
		const struct fb_regcache_entry *e = &c->v[i];
		bool dup = !e->layer[0];
		for (size_t k = 0; k < i && !dup; k++)
			dup = !strcmp(c->v[k].layer, e->layer);
		if (!dup)
			layers = jv_array_append(layers, desc(FB_MT_OCI_LAYER, e->layer, e->size));
	}
	jv m = jv_object_set(jv_object(), jv_string("schemaVersion"), jv_number(2));
	m = jv_object_set(m, jv_string("mediaType"), jv_string(FB_MT_OCI_MANIFEST));
	m = jv_object_set(m, jv_string("artifactType"), jv_string(FB_MT_CACHE_ARTIFACT));
	m = jv_object_set(m, jv_string("config"), desc(FB_MT_CACHE_CONFIG, config_digest, config_size));
	m = jv_object_set(m, jv_string("layers"), layers);
	return fb_json_dump(m, false);
}

int fb_regcache_manifest_check(const char *text, size_t len, struct fb_push_manifest *m, struct fb_err *err)
{
	if (fb_push_manifest_decode(text, len, m, err) < 0)
		return -1;
	int r = 0;
	if (strcmp(m->media_type, FB_MT_OCI_MANIFEST))
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".mediaType: %s: not an OCI image manifest", m->media_type);
	else if (!m->config.media_type || strcmp(m->config.media_type, FB_MT_CACHE_CONFIG))
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".config.mediaType: %s, not %s: not a firebuild build cache",
			       m->config.media_type ? m->config.media_type : "missing", FB_MT_CACHE_CONFIG);
	else if (m->nlayers > FB_REGCACHE_ENTRIES_MAX)
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".layers: %zu of them, more than %d", m->nlayers,
			       FB_REGCACHE_ENTRIES_MAX);
	else if (m->config.size > FB_REGCACHE_CONFIG_MAX)
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".config.size: %ju bytes, more than a cache config may be",
			       (uintmax_t)m->config.size);
	for (size_t i = 0; r == 0 && i < m->nlayers; i++)
		if (!m->layers[i].media_type || strcmp(m->layers[i].media_type, FB_MT_OCI_LAYER))
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".layers[%zu].mediaType: %s, not %s", i,
				       m->layers[i].media_type ? m->layers[i].media_type : "missing", FB_MT_OCI_LAYER);
	if (r < 0)
		fb_push_manifest_free(m);
	return r;
}

/* ---- .build.steps ---- */

void fb_regcache_steps_free(struct fb_regcache_steps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].status);
		free(s->v[i].instruction);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int step_decode(jv e, struct fb_regcache_step *st, struct fb_err *err)
{
	long long stage = -1;
	if (fb_json_get_int_opt(e, "stage", &stage, err) < 0 || fb_json_get_str(e, "status", &st->status, err) < 0 ||
	    fb_json_get_str_opt(e, "instruction", &st->instruction, err) < 0)
		return -1;
	if (stage < 0 || stage > 1000000)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".stage: missing or out of range");
	st->stage = (size_t)stage;
	if (!strcmp(st->status, "metadata")) {
		st->key[0] = st->layer[0] = '\0';
		return 0;
	}
	return get_digest(e, "key", false, st->key, err) < 0 || get_digest(e, "layer", true, st->layer, err) < 0 ? -1 : 0;
}

int fb_regcache_steps_from_doc(const struct fb_doc *d, struct fb_regcache_steps *s, struct fb_err *err)
{
	memset(s, 0, sizeof(*s));
	FB_AUTOJV jv b = fb_doc_get(d, "build");
	if (jv_get_kind(b) == JV_KIND_NULL)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid",
				  ".build: missing: the document built nothing (give fb-mkrootfs's document of a Dockerfile build)");
	if (jv_get_kind(b) != JV_KIND_OBJECT)
		return fb_json_wrong_kind(err, ".build", FB_J_OBJECT, b);
	FB_AUTOJV jv steps = fb_json_member(b, "steps");
	if (jv_get_kind(steps) != JV_KIND_ARRAY)
		return fb_json_wrong_kind(err, ".build.steps", FB_J_ARRAY, steps);
	int n = jv_array_length(jv_copy(steps));
	s->v = fb_xcalloc((size_t)n + 1, sizeof(*s->v));
	for (int i = 0; i < n; i++) {
		char path[40];
		snprintf(path, sizeof(path), ".build.steps[%d]", i);
		jv e = jv_array_get(jv_copy(steps), i);
		bool kind = jv_get_kind(e) == JV_KIND_OBJECT;
		int r = kind ? step_decode(e, &s->v[i], err) : fb_json_wrong_kind(err, path, FB_J_OBJECT, e);
		jv_free(e);
		s->n = (size_t)i + 1;
		if (r < 0) {
			if (kind)
				fb_json_err_in(err, "%s", path);
			fb_regcache_steps_free(s);
			return -1;
		}
	}
	return 0;
}

/* ---- what the tools write ---- */

void fb_regcache_export_doc_set(struct fb_doc *d, const struct fb_regcache_export *x, enum fb_regcache_mode mode)
{
	jv o = jv_object_set(jv_object(), jv_string("ref"), fb_jv_str(x->push.ref));
	o = jv_object_set(o, jv_string("digest"), x->push.digest[0] ? jv_string(x->push.digest) : jv_null());
	o = jv_object_set(o, jv_string("mode"), jv_string(mode_name(mode)));
	o = jv_object_set(o, jv_string("entries"), jv_number((double)x->entries));
	o = jv_object_set(o, jv_string("layers"), jv_number((double)x->layers));
	o = jv_object_set(o, jv_string("bytes_uploaded"), jv_number((double)x->push.bytes_uploaded));
	fb_doc_set(d, "cache_export", o);
}

void fb_regcache_import_doc_set(struct fb_doc *d, const struct fb_regcache_import *v, size_t n)
{
	jv a = jv_array();
	for (size_t i = 0; i < n; i++) {
		const struct fb_regcache_import *x = &v[i];
		jv o = jv_object_set(jv_object(), jv_string("ref"), fb_jv_str(x->ref));
		o = jv_object_set(o, jv_string("digest"), x->digest[0] ? jv_string(x->digest) : jv_null());
		o = jv_object_set(o, jv_string("entries"), jv_number((double)x->entries));
		o = jv_object_set(o, jv_string("imported"), jv_number((double)x->imported));
		o = jv_object_set(o, jv_string("present"), jv_number((double)x->present));
		o = jv_object_set(o, jv_string("skipped"), jv_number((double)x->skipped));
		o = jv_object_set(o, jv_string("error"), fb_jv_str(x->error));
		a = jv_array_append(a, o);
	}
	fb_doc_set(d, "cache_import", a);
}
