/* The codec of .rootfs (fb-mkrootfs's result, fb-tag put's input) and
 * .tree. */
#include "rootfs.h"

#include <string.h>

#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "oci.h"
#include "oci_doc.h"
#include "util.h"

void fb_rootfs_doc_free(struct fb_rootfs_doc *r)
{
	free(r->path);
	free(r->key);
	if (r->config) {
		fb_oci_config_free(r->config);
		free(r->config);
	}
	memset(r, 0, sizeof(*r));
}

void fb_rootfs_doc_set(struct fb_doc *d, const struct fb_rootfs_doc *r)
{
	jv o = jv_object_set(jv_object(), jv_string("path"), jv_string(r->path));
	o = jv_object_set(o, jv_string("size"), jv_number((double)r->size));
	if (r->has_stats) {
		const struct fb_rootfs_stats *st = &r->stats;
		o = jv_object_set(o, jv_string("content_size"), jv_number((double)(st->used_blocks * st->block_size)));
		o = jv_object_set(o, jv_string("data_bytes"), jv_number((double)st->bytes));
		jv c = jv_object();
		c = jv_object_set(c, jv_string("entries"), jv_number((double)st->entries));
		c = jv_object_set(c, jv_string("files"), jv_number((double)st->files));
		c = jv_object_set(c, jv_string("dirs"), jv_number((double)st->dirs));
		c = jv_object_set(c, jv_string("symlinks"), jv_number((double)st->symlinks));
		c = jv_object_set(c, jv_string("hardlinks"), jv_number((double)st->hardlinks));
		c = jv_object_set(c, jv_string("devices"), jv_number((double)st->devices));
		c = jv_object_set(c, jv_string("whiteouts"), jv_number((double)st->whiteouts));
		o = jv_object_set(o, jv_string("counts"), c);
	} else if (r->content_size >= 0) {
		o = jv_object_set(o, jv_string("content_size"), jv_number((double)r->content_size));
	}
	if (r->has_init)
		o = jv_object_set(o, jv_string("init"), jv_bool(r->init));
	if (r->config)
		o = jv_object_set(o, jv_string("config"), fb_oci_config_jv(r->config));
	if (r->key)
		o = jv_object_set(o, jv_string("key"), jv_string(r->key));
	if (r->kept)
		o = jv_object_set(o, jv_string("kept"), jv_true());
	fb_doc_set(d, "rootfs", o);
}

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jfield rootfs_fields[] = {
	{ "path", &str, true },
	{ "key", &str_opt, false },
	{ "kept", &bool_opt, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape rootfs = { .kinds = FB_J_OBJECT, .fields = rootfs_fields };

int fb_rootfs_from_doc(const struct fb_doc *d, struct fb_rootfs_doc *r, bool *present, struct fb_err *err)
{
	memset(r, 0, sizeof(*r));
	r->content_size = -1;
	*present = fb_doc_has_key(d, "rootfs");
	if (!*present)
		return 0;
	jv v = fb_doc_get(d, "rootfs");
	if (fb_json_check(v, &rootfs, ".rootfs", err) < 0) {
		jv_free(v);
		return -1;
	}
	r->path = fb_jv_get_str(v, "path");
	r->key = fb_jv_get_str(v, "key");
	r->kept = fb_jv_get_bool(v, "kept") == 1;
	int64_t n;
	if (fb_jv_get_int(v, "size", &n))
		r->size = n;
	if (fb_jv_get_int(v, "content_size", &n))
		r->content_size = n;
	int init = fb_jv_get_bool(v, "init");
	r->has_init = init >= 0;
	r->init = init == 1;
	jv c = fb_json_member(v, "config");
	if (jv_get_kind(c) == JV_KIND_OBJECT) {
		r->config = fb_xmalloc(sizeof(*r->config));
		fb_oci_config_from_jv(c, r->config);
	} else {
		jv_free(c);
	}
	jv_free(v);
	return 0;
}

void fb_rootfs_doc_set_path(struct fb_doc *d, const char *path)
{
	jv v = fb_doc_get(d, "rootfs");
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		v = jv_object();
	}
	fb_doc_set(d, "rootfs", jv_object_set(v, jv_string("path"), jv_string(path)));
}

void fb_tree_doc_set(struct fb_doc *d, const char *path, bool with_config, const struct fb_oci_config *config)
{
	jv t = jv_object_set(jv_object(), jv_string("path"), jv_string(path));
	if (with_config)
		t = jv_object_set(t, jv_string("config"), config ? fb_oci_config_jv(config) : jv_null());
	fb_doc_set(d, "tree", t);
}
