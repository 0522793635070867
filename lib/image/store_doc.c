/* The codec of the store's own files (image.json of a tag, build cache
 * entries) and of what fb-tag writes (store.h). The store's files are read
 * as found: a member of another kind is absent, never an abort. */
#include "store.h"

#include <string.h>

#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "oci.h"
#include "oci_doc.h"
#include "util.h"

void fb_tag_meta_free(struct fb_tag_meta *m)
{
	free(m->name);
	free(m->version);
	free(m->created);
	if (m->config) {
		fb_oci_config_free(m->config);
		free(m->config);
	}
	free(m->source);
	free(m->digest);
	free(m->platform);
	free(m->rootfs_key);
	fb_strv_free(&m->blobs);
	free(m->rootfs_sha256);
	memset(m, 0, sizeof(*m));
	m->size = m->content_size = -1;
}

static int64_t get_int(jv o, const char *key)
{
	int64_t n;
	return fb_jv_get_int(o, key, &n) ? n : -1;
}

static struct fb_oci_config *config_of(jv o)
{
	jv c = fb_json_member(o, "config");
	if (jv_get_kind(c) != JV_KIND_OBJECT) {
		jv_free(c);
		return NULL;
	}
	struct fb_oci_config *cfg = fb_xmalloc(sizeof(*cfg));
	fb_oci_config_from_jv(c, cfg);
	return cfg;
}

static void meta_decode(jv v, struct fb_tag_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->name = fb_jv_get_str(v, "name");
	m->version = fb_jv_get_str(v, "version");
	m->created = fb_jv_get_str(v, "created");
	m->size = get_int(v, "size");
	m->content_size = get_int(v, "content_size");
	m->config = config_of(v);
	m->from_image = fb_jv_has(v, "source") || fb_jv_has(v, "platform");
	m->source = fb_jv_get_str(v, "source");
	m->digest = fb_jv_get_str(v, "digest");
	m->platform = fb_jv_get_str(v, "platform");
	fb_jv_get_strv(v, "blobs", &m->blobs);
	m->rootfs_sha256 = fb_jv_get_str(v, "rootfs_sha256");
	m->rootfs_key = fb_jv_get_str(v, "rootfs_key");
}

int fb_tag_meta_load(const char *path, struct fb_tag_meta *m, struct fb_err *err)
{
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	meta_decode(v, m);
	jv_free(v);
	return 0;
}

static jv str_or_null(const char *s)
{
	return s ? jv_string(s) : jv_null();
}

static jv int_or_null(int64_t n)
{
	return n >= 0 ? jv_number((double)n) : jv_null();
}

int fb_tag_meta_save(const char *path, const struct fb_tag_meta *m, struct fb_err *err)
{
	jv o = jv_object();
	o = jv_object_set(o, jv_string("name"), str_or_null(m->name));
	o = jv_object_set(o, jv_string("version"), str_or_null(m->version));
	o = jv_object_set(o, jv_string("created"), str_or_null(m->created));
	o = jv_object_set(o, jv_string("size"), int_or_null(m->size));
	o = jv_object_set(o, jv_string("content_size"), int_or_null(m->content_size));
	o = jv_object_set(o, jv_string("config"), m->config ? fb_oci_config_jv(m->config) : jv_object());
	if (m->from_image) {
		o = jv_object_set(o, jv_string("source"), str_or_null(m->source));
		o = jv_object_set(o, jv_string("digest"), str_or_null(m->digest));
		o = jv_object_set(o, jv_string("platform"), str_or_null(m->platform));
	} else {
		o = jv_object_set(o, jv_string("digest"), jv_null());
	}
	o = jv_object_set(o, jv_string("blobs"), fb_jv_strv(m->blobs.v, m->blobs.n));
	o = jv_object_set(o, jv_string("rootfs_sha256"), str_or_null(m->rootfs_sha256));
	if (m->rootfs_key)
		o = jv_object_set(o, jv_string("rootfs_key"), jv_string(m->rootfs_key));
	char *text = fb_json_dump(o, true);
	int r = fb_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	return r;
}

/* ---- build cache entries ---- */

void fb_cache_entry_free(struct fb_cache_entry *e)
{
	free(e->key);
	free(e->step);
	free(e->layer);
	free(e->created);
	memset(e, 0, sizeof(*e));
}

int fb_cache_entry_load(const char *path, struct fb_cache_entry *e)
{
	jv v;
	struct fb_err ignore = { 0 };
	memset(e, 0, sizeof(*e));
	if (fb_json_load(path, &v, &ignore) < 0)
		return 0;
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return 0;
	}
	e->key = fb_jv_get_str(v, "key");
	e->step = fb_jv_get_str(v, "step");
	jv l = fb_json_member(v, "layer");
	e->layer = fb_jv_dup(l);
	e->layer_other = jv_get_kind(l) != JV_KIND_NULL && !e->layer;
	jv_free(l);
	e->size = get_int(v, "size");
	e->created = fb_jv_get_str(v, "created");
	jv_free(v);
	return 1;
}

int fb_cache_entry_save(const char *path, const struct fb_cache_entry *e, struct fb_err *err)
{
	jv o = jv_object_set(jv_object(), jv_string("key"), str_or_null(e->key));
	o = jv_object_set(o, jv_string("step"), str_or_null(e->step));
	o = jv_object_set(o, jv_string("layer"), str_or_null(e->layer));
	if (e->layer)
		o = jv_object_set(o, jv_string("size"), int_or_null(e->size));
	if (e->created)
		o = jv_object_set(o, jv_string("created"), jv_string(e->created));
	return fb_json_save(path, o, 0644, err);
}

/* ---- fb-tag's output ---- */

void fb_tag_doc_set(struct fb_doc *d, const struct fb_tag_meta *m, const char *dir)
{
	jv t = jv_object();
	t = jv_object_set(t, jv_string("name"), str_or_null(m->name));
	t = jv_object_set(t, jv_string("version"), str_or_null(m->version));
	t = jv_object_set(t, jv_string("path"), jv_string(dir));
	t = jv_object_set(t, jv_string("created"), str_or_null(m->created));
	if (m->rootfs_sha256) /* a kept tag's; a new one's is computed by inspect */
		t = jv_object_set(t, jv_string("rootfs_sha256"), jv_string(m->rootfs_sha256));
	fb_doc_set(d, "tag", t);
}

void fb_tag_image_doc_set(struct fb_doc *d, const struct fb_tag_meta *m, const char *rootfs, const char *store)
{
	jv i = jv_object();
	i = jv_object_set(i, jv_string("name"), str_or_null(m->name));
	i = jv_object_set(i, jv_string("version"), str_or_null(m->version));
	i = jv_object_set(i, jv_string("rootfs"), jv_string(rootfs));
	i = jv_object_set(i, jv_string("config"), m->config ? fb_oci_config_jv(m->config) : jv_null());
	i = jv_object_set(i, jv_string("digest"), str_or_null(m->digest));
	i = jv_object_set(i, jv_string("created"), str_or_null(m->created));
	i = jv_object_set(i, jv_string("size"), int_or_null(m->size));
	i = jv_object_set(i, jv_string("source"), str_or_null(m->source));
	i = jv_object_set(i, jv_string("platform"), str_or_null(m->platform));
	i = jv_object_set(i, jv_string("store"), jv_string(store));
	i = jv_object_set(i, jv_string("rootfs_sha256"), str_or_null(m->rootfs_sha256));
	fb_doc_set(d, "image", i);
}

static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape int_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 9007199254740992.0 };
static const struct fb_jshape obj_opt = { .kinds = FB_J_OBJECT | FB_J_NULL };
static const struct fb_jfield tag_image_fields[] = {
	{ "name", &str_opt, false },	{ "version", &str_opt, false }, { "rootfs", &str, true },
	{ "config", &obj_opt, false },	{ "digest", &str_opt, false },	{ "created", &str_opt, false },
	{ "size", &int_opt, false },	{ "source", &str_opt, false },	{ "platform", &str_opt, false },
	{ "store", &str_opt, false },	{ "rootfs_sha256", &str_opt, false }, { NULL, NULL, false },
};
static const struct fb_jshape tag_image = { .kinds = FB_J_OBJECT, .fields = tag_image_fields };

int fb_tag_image_from_doc(const struct fb_doc *d, struct fb_tag_meta *m, char **rootfs, char **store, struct fb_err *err)
{
	jv v = fb_doc_get(d, "image");
	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".image: missing (expected an object)");
	}
	if (fb_json_check(v, &tag_image, ".image", err) < 0) {
		jv_free(v);
		return -1;
	}
	meta_decode(v, m);
	m->from_image = true;
	*rootfs = fb_jv_get_str(v, "rootfs");
	*store = fb_jv_get_str(v, "store");
	jv_free(v);
	return 0;
}

void fb_tag_sha256_doc_set(struct fb_doc *d, const char *hex)
{
	fb_doc_set(d, "rootfs_sha256", jv_string(hex));
}

void fb_tag_list_doc_set(struct fb_doc *d, const struct fb_tag_meta *list, size_t n)
{
	jv a = jv_array();
	for (size_t k = 0; k < n; k++) {
		const struct fb_tag_meta *m = &list[k];
		jv row = jv_object();
		row = jv_object_set(row, jv_string("name"), str_or_null(m->name));
		row = jv_object_set(row, jv_string("version"), str_or_null(m->version));
		row = jv_object_set(row, jv_string("created"), str_or_null(m->created));
		row = jv_object_set(row, jv_string("size"), int_or_null(m->size));
		row = jv_object_set(row, jv_string("source"), str_or_null(m->source));
		row = jv_object_set(row, jv_string("digest"), str_or_null(m->digest));
		a = jv_array_append(a, row);
	}
	fb_doc_set(d, "images", a);
}

void fb_tag_removed_doc_set(struct fb_doc *d, const char *name, const char *version)
{
	fb_doc_set(d, "removed", jv_string_fmt("%s:%s", name, version));
}

void fb_gc_doc_set(struct fb_doc *d, const struct fb_gc_stats *st)
{
	jv r = jv_object();
	r = jv_object_set(r, jv_string("images_dropped"), jv_number((double)st->images_dropped));
	r = jv_object_set(r, jv_string("blobs_removed"), jv_number((double)st->blobs_removed));
	r = jv_object_set(r, jv_string("blobs_kept"), jv_number((double)st->blobs_kept));
	r = jv_object_set(r, jv_string("bytes_freed"), jv_number((double)st->bytes_freed));
	r = jv_object_set(r, jv_string("tmp_removed"), jv_number((double)st->tmp_removed));
	r = jv_object_set(r, jv_string("cache_entries_removed"), jv_number((double)st->cache_entries_removed));
	fb_doc_set(d, "gc", r);
}

/* ls's .images as firebuild image ls reads it back */
static const struct fb_jfield tag_row_fields[] = {
	{ "name", &str_opt, false },	{ "version", &str_opt, false }, { "created", &str_opt, false },
	{ "size", &int_opt, false },	{ "source", &str_opt, false },	{ "digest", &str_opt, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape tag_row = { .kinds = FB_J_OBJECT, .fields = tag_row_fields };
static const struct fb_jshape tag_rows = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &tag_row };
static const struct fb_jfield tag_list_fields[] = { { "images", &tag_rows, false }, { NULL, NULL, false } };
static const struct fb_jshape tag_list = { .kinds = FB_J_OBJECT, .fields = tag_list_fields };

int fb_tag_list_from_doc(const struct fb_doc *d, struct fb_tag_meta **out, size_t *n, struct fb_err *err)
{
	*out = NULL;
	*n = 0;
	jv doc = fb_doc_jv(d);
	if (fb_json_check(doc, &tag_list, "", err) < 0) {
		jv_free(doc);
		return -1;
	}
	jv rows = fb_json_member(doc, "images");
	jv_free(doc);
	if (jv_get_kind(rows) == JV_KIND_ARRAY) {
		*out = fb_xcalloc((size_t)jv_array_length(jv_copy(rows)) + 1, sizeof(**out));
		jv_array_foreach(rows, i, row)
		{
			meta_decode(row, &(*out)[(*n)++]);
			jv_free(row);
			(void)i;
		}
	}
	jv_free(rows);
	return 0;
}
