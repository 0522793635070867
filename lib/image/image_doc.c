/* The codec of .image (image.h): fb-fetch, the builder and fb-mkrootfs
 * --import write it; fb-mkrootfs and fb-tag put read it. */
#include "image.h"

#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "oci.h"
#include "oci_doc.h"
#include "util.h"

void fb_image_free(struct fb_image *img)
{
	free(img->ref);
	free(img->name);
	free(img->digest);
	free(img->media_type);
	free(img->platform);
	free(img->config_digest);
	if (img->config) {
		fb_oci_config_free(img->config);
		free(img->config);
	}
	for (size_t i = 0; i < img->nlayers; i++)
		fb_oci_desc_free(&img->layers[i]);
	free(img->layers);
	free(img->pending);
	free(img->store);
	memset(img, 0, sizeof(*img));
}

void fb_image_add_layer(struct fb_image *img, const struct fb_oci_desc *l)
{
	img->layers = fb_xrealloc(img->layers, (img->nlayers + 1) * sizeof(*img->layers));
	struct fb_oci_desc *d = &img->layers[img->nlayers++];
	memset(d, 0, sizeof(*d));
	fb_oci_desc_copy(d, l);
	fb_doc_free(d->raw);
	d->raw = NULL;
}

/* ---- decoding: what each reader relies on ---- */

static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape obj_opt = { .kinds = FB_J_OBJECT | FB_J_NULL };

static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };

/* n bytes as 2n lower-case hex digits */
static bool hex_bytes(const char *s, size_t n, unsigned char *out)
{
	if (!s || strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return false;
		if (out)
			out[i / 2] = (unsigned char)(i % 2 ? (out[i / 2] | v) : v << 4);
	}
	return true;
}

static bool tail_hex(const char *s, unsigned char out[4])
{
	return hex_bytes(s, 4, out);
}

/* a layer's head: its first FB_LAYER_HEAD bytes, all of a smaller one */
static size_t head_len(int64_t size)
{
	return size < FB_LAYER_HEAD ? (size_t)size : FB_LAYER_HEAD;
}

static int layer_check(jv v, const char *path, struct fb_err *err)
{
	jv d = fb_json_member(v, "digest"), p = fb_json_member(v, "path");
	bool ok = jv_get_kind(d) == JV_KIND_STRING || jv_get_kind(p) == JV_KIND_STRING;
	bool has_path = jv_get_kind(p) == JV_KIND_STRING;
	jv_free(d);
	jv_free(p);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected .digest or .path (a string)", path);
	/* a pending layer is read from the store's partial file of its digest,
	 * never from a path the document names */
	if (fb_jv_get_bool(v, "pending") == 1) {
		int64_t size;
		char *tail = fb_jv_get_str(v, "tail");
		bool tail_ok = tail_hex(tail, NULL);
		free(tail);
		if (has_path)
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: a pending layer has no .path", path);
		if (!fb_jv_get_int(v, "size", &size) || size <= 0)
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s.size: a pending layer needs its size", path);
		if (!tail_ok)
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s.tail: expected 8 hex digits (a pending layer's last 4 bytes)",
					  path);
		char *head = fb_jv_get_str(v, "head");
		bool head_ok = hex_bytes(head, head_len(size), NULL);
		free(head);
		if (!head_ok)
			return fb_err_set(err, FB_EXIT_USAGE, "invalid",
					  "%s.head: expected %zu hex digits (a pending layer's first %zu bytes)", path,
					  2 * head_len(size), head_len(size));
	}
	return 0;
}

static const struct fb_jfield layer_fields[] = {
	{ "digest", &str_opt, false },
	{ "path", &str_opt, false },
	{ "pending", &bool_opt, false },
	{ "tail", &str_opt, false },
	{ "head", &str_opt, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape layer = { .kinds = FB_J_OBJECT, .fields = layer_fields, .check = layer_check };
static const struct fb_jshape layers = { .kinds = FB_J_ARRAY, .items = &layer };
static const struct fb_jfield rootfs_image_fields[] = {
	{ "store", &str_opt, false },
	{ "layers", &layers, true },
	{ "config", &obj_opt, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape rootfs_image = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = rootfs_image_fields };

static const struct fb_jfield put_layer_fields[] = {
	{ "digest", &str_opt, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape put_layer = { .kinds = FB_J_OBJECT, .fields = put_layer_fields };
static const struct fb_jshape put_layers = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &put_layer };
static const struct fb_jfield put_image_fields[] = {
	{ "layers", &put_layers, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape put_image = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = put_image_fields };

static void decode(jv v, struct fb_image *img)
{
	img->ref = fb_jv_get_str(v, "ref");
	img->name = fb_jv_get_str(v, "name");
	img->digest = fb_jv_get_str(v, "digest");
	img->media_type = fb_jv_get_str(v, "media_type");
	img->platform = fb_jv_get_str(v, "platform");
	img->config_digest = fb_jv_get_str(v, "config_digest");
	img->store = fb_jv_get_str(v, "store");
	jv c = fb_json_member(v, "config");
	if (jv_get_kind(c) == JV_KIND_OBJECT) {
		img->config = fb_xmalloc(sizeof(*img->config));
		fb_oci_config_from_jv(c, img->config);
	} else {
		jv_free(c);
	}
	jv ls = fb_json_member(v, "layers");
	if (jv_get_kind(ls) == JV_KIND_ARRAY) {
		img->layers = fb_xcalloc((size_t)jv_array_length(jv_copy(ls)) + 1, sizeof(*img->layers));
		jv_array_foreach(ls, i, l)
		{
			if (jv_get_kind(l) == JV_KIND_OBJECT) {
				size_t k = img->nlayers++;
				struct fb_oci_desc *d = &img->layers[k];
				d->digest = fb_jv_get_str(l, "digest");
				d->path = fb_jv_get_str(l, "path");
				d->media_type = fb_jv_get_str(l, "mediaType");
				int64_t n;
				d->size = fb_jv_get_int(l, "size", &n) ? n : -1;
				if (fb_jv_get_bool(l, "pending") == 1) {
					if (!img->pending)
						img->pending = fb_xcalloc((size_t)jv_array_length(jv_copy(ls)) + 1,
									  sizeof(*img->pending));
					char *t = fb_jv_get_str(l, "tail"), *h = fb_jv_get_str(l, "head");
					struct fb_layer_pending *pd = &img->pending[k];
					pd->pending = true;
					pd->has_tail = tail_hex(t, pd->tail);
					if (d->size > 0 && hex_bytes(h, head_len(d->size), pd->head))
						pd->headlen = (unsigned)head_len(d->size);
					free(t);
					free(h);
				}
			}
			jv_free(l);
			(void)i;
		}
	}
	jv_free(ls);
}

int fb_image_from_doc(const struct fb_doc *d, enum fb_image_use use, struct fb_image *img, bool *present,
		      struct fb_err *err)
{
	memset(img, 0, sizeof(*img));
	jv v = fb_doc_get(d, "image");
	if (fb_json_check(v, use == FB_IMAGE_FOR_PUT ? &put_image : &rootfs_image, ".image", err) < 0) {
		jv_free(v);
		return -1;
	}
	*present = jv_get_kind(v) == JV_KIND_OBJECT;
	if (*present)
		decode(v, img);
	jv_free(v);
	return 0;
}

/* ---- encoding ---- */

static jv layer_jv(const struct fb_oci_desc *l, const struct fb_layer_pending *p)
{
	jv o = jv_object();
	o = fb_jv_put_str(o, "digest", l->digest);
	o = fb_jv_put_int(o, "size", l->size);
	o = fb_jv_put_str(o, "mediaType", l->media_type);
	o = fb_jv_put_str(o, "path", l->path);
	if (p && p->pending) {
		o = jv_object_set(o, jv_string("pending"), jv_true());
		if (p->has_tail) {
			char hex[9];
			snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", p->tail[0], p->tail[1], p->tail[2], p->tail[3]);
			o = jv_object_set(o, jv_string("tail"), jv_string(hex));
		}
		if (p->headlen) {
			char hex[2 * FB_LAYER_HEAD + 1];
			for (unsigned i = 0; i < p->headlen && i < FB_LAYER_HEAD; i++)
				snprintf(hex + 2 * i, 3, "%02x", p->head[i]);
			o = jv_object_set(o, jv_string("head"), jv_string(hex));
		}
	}
	return o;
}

static jv image_jv(const struct fb_image *img)
{
	jv o = jv_object();
	o = fb_jv_put_str(o, "ref", img->ref);
	o = fb_jv_put_str(o, "name", img->name);
	o = fb_jv_put_str(o, "digest", img->digest);
	o = fb_jv_put_str(o, "media_type", img->media_type);
	o = fb_jv_put_str(o, "platform", img->platform);
	o = fb_jv_put_str(o, "config_digest", img->config_digest);
	if (img->config)
		o = jv_object_set(o, jv_string("config"), fb_oci_config_jv(img->config));
	jv ls = jv_array();
	for (size_t i = 0; i < img->nlayers; i++)
		ls = jv_array_append(ls, layer_jv(&img->layers[i], img->pending ? &img->pending[i] : NULL));
	o = jv_object_set(o, jv_string("layers"), ls);
	return fb_jv_put_str(o, "store", img->store);
}

void fb_image_doc_set(struct fb_doc *d, const struct fb_image *img)
{
	fb_doc_set(d, "image", image_jv(img));
}

bool fb_image_has_pending(const struct fb_image *img)
{
	for (size_t i = 0; img->pending && i < img->nlayers; i++)
		if (img->pending[i].pending)
			return true;
	return false;
}

void fb_image_doc_clear_pending(struct fb_doc *d)
{
	jv img = fb_doc_get(d, "image");
	jv ls = fb_json_member(img, "layers");
	if (jv_get_kind(ls) != JV_KIND_ARRAY) {
		jv_free(ls);
		jv_free(img);
		return;
	}
	jv out = jv_array();
	jv_array_foreach(ls, i, l)
	{
		if (jv_get_kind(l) == JV_KIND_OBJECT)
			l = jv_object_delete(jv_object_delete(jv_object_delete(l, jv_string("pending")), jv_string("tail")),
					     jv_string("head"));
		out = jv_array_append(out, l);
		(void)i;
	}
	jv_free(ls);
	fb_doc_set(d, "image", jv_object_set(img, jv_string("layers"), out));
}

void fb_images_doc_set(struct fb_doc *d, char *const *refs, const struct fb_image *imgs, size_t n)
{
	jv o = jv_object();
	for (size_t i = 0; i < n; i++)
		o = jv_object_set(o, jv_string(refs[i]), image_jv(&imgs[i]));
	fb_doc_set(d, "images", o);
}
