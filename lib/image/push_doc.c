/* The codec of what a push reads and writes (push.h, push_doc.h): the
 * pipeline document's .image in and .push out, the manifest pushed, a
 * registry's error body, the record of an upload, the store's index.json.
 * Everything here is input from elsewhere: checked, never trusted. */
#include "push.h"

#include <string.h>

#include "digest.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "oci.h"
#include "util.h"

#ifndef FB_OCI_REF_NAME
#define FB_OCI_REF_NAME "org.opencontainers.image.ref.name"
#endif

void fb_push_src_free(struct fb_push_src *s)
{
	free(s->digest);
	free(s->name);
	free(s->version);
	free(s->store);
	memset(s, 0, sizeof(*s));
}

void fb_push_result_free(struct fb_push_result *r)
{
	for (size_t i = 0; i < r->nblobs; i++)
		free(r->blobs[i].from);
	free(r->blobs);
	free(r->ref);
	free(r->media_type);
	memset(r, 0, sizeof(*r));
}

int fb_push_src_from_doc(const struct fb_doc *d, struct fb_push_src *src, struct fb_err *err)
{
	memset(src, 0, sizeof(*src));
	FB_AUTOJV jv img = fb_doc_get(d, "image");
	if (jv_get_kind(img) == JV_KIND_NULL)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid",
				  ".image: missing (give the document of fb-tag get, fb-fetch image or fb-mkrootfs)");
	if (jv_get_kind(img) != JV_KIND_OBJECT)
		return fb_json_wrong_kind(err, ".image", FB_J_OBJECT, img);
	FB_AUTOJV jv dg = fb_json_member(img, "digest");
	if (jv_get_kind(dg) == JV_KIND_NULL)
		return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found",
				  ".image.digest: null: the image has no manifest in the store (a tag made from an ext4 "
				  "or a tarball alone): nothing to push");
	if (jv_get_kind(dg) != JV_KIND_STRING)
		return fb_json_wrong_kind(err, ".image.digest", FB_J_STRING, dg);
	if (!fb_digest_valid(jv_string_value(dg)))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".image.digest: not a sha256 digest");
	/* name and version are for messages and the default tag: optional */
	struct fb_err ignore = { 0 };
	if (fb_json_get_str_opt(img, "name", &src->name, &ignore) < 0)
		src->name = NULL;
	if (fb_json_get_str_opt(img, "version", &src->version, &ignore) < 0)
		src->version = NULL;
	if (fb_json_get_str_opt(img, "store", &src->store, &ignore) < 0)
		src->store = NULL;
	src->digest = fb_xstrdup(jv_string_value(dg));
	return 0;
}

static const char *status_name(enum fb_push_status s)
{
	switch (s) {
	case FB_PUSH_EXISTS: return "exists";
	case FB_PUSH_MOUNTED: return "mounted";
	case FB_PUSH_UPLOADED: return "uploaded";
	}
	return "?";
}

void fb_push_doc_set(struct fb_doc *d, const struct fb_push_result *r)
{
	jv blobs = jv_array();
	for (size_t i = 0; i < r->nblobs; i++) {
		const struct fb_push_blob *b = &r->blobs[i];
		jv o = jv_object();
		o = jv_object_set(o, jv_string("digest"), jv_string(b->digest));
		o = jv_object_set(o, jv_string("size"), jv_number((double)b->size));
		o = jv_object_set(o, jv_string("status"), jv_string(status_name(b->status)));
		if (b->from)
			o = jv_object_set(o, jv_string("from"), jv_string(b->from));
		if (b->status == FB_PUSH_UPLOADED) {
			o = jv_object_set(o, jv_string("resumed_at"), jv_number((double)b->resumed_at));
			o = jv_object_set(o, jv_string("chunks"), jv_number(b->chunks));
		}
		blobs = jv_array_append(blobs, o);
	}
	jv p = jv_object();
	p = jv_object_set(p, jv_string("ref"), fb_jv_str(r->ref));
	p = jv_object_set(p, jv_string("digest"), jv_string(r->digest));
	p = jv_object_set(p, jv_string("media_type"), fb_jv_str(r->media_type));
	p = jv_object_set(p, jv_string("size"), jv_number((double)r->size));
	p = jv_object_set(p, jv_string("bytes_uploaded"), jv_number((double)r->bytes_uploaded));
	p = jv_object_set(p, jv_string("blobs"), blobs);
	fb_doc_set(d, "push", p);
}

/* ---- the manifest ---- */

static void desc_free(struct fb_push_desc *d)
{
	free(d->media_type);
	d->media_type = NULL;
}

void fb_push_manifest_free(struct fb_push_manifest *m)
{
	free(m->media_type);
	desc_free(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		desc_free(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

static int desc_decode(jv v, const char *path, struct fb_push_desc *d, struct fb_err *err)
{
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return fb_json_wrong_kind(err, path, FB_J_OBJECT, v);
	char *digest = NULL;
	long long size = -1;
	if (fb_json_get_str_opt(v, "mediaType", &d->media_type, err) < 0 || fb_json_get_str(v, "digest", &digest, err) < 0 ||
	    fb_json_get_int_opt(v, "size", &size, err) < 0) {
		fb_json_err_in(err, "%s", path);
		free(digest);
		return -1;
	}
	bool ok = fb_digest_valid(digest);
	if (ok)
		memcpy(d->digest, digest, 72);
	free(digest);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s.digest: not a sha256 digest", path);
	if (size < 0)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s.size: missing or negative", path);
	d->size = (uint64_t)size;
	return 0;
}

int fb_push_manifest_decode(const char *text, size_t len, struct fb_push_manifest *m, struct fb_err *err)
{
	memset(m, 0, sizeof(*m));
	FB_AUTOJV jv v = jv_invalid();
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return fb_json_wrong_kind(err, "the manifest", FB_J_OBJECT, v);
	long long sv = 0;
	if (fb_json_get_int_opt(v, "schemaVersion", &sv, err) < 0)
		return -1;
	if (sv != 2)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".schemaVersion: %lld, not 2", sv);
	if (fb_json_get_str_opt(v, "mediaType", &m->media_type, err) < 0)
		return -1;
	FB_AUTOJV jv cfg = fb_json_member(v, "config");
	FB_AUTOJV jv layers = fb_json_member(v, "layers");
	int r = desc_decode(cfg, ".config", &m->config, err);
	if (r == 0 && jv_get_kind(layers) != JV_KIND_ARRAY)
		r = fb_json_wrong_kind(err, ".layers", FB_J_ARRAY, layers);
	if (r == 0) {
		int n = jv_array_length(jv_copy(layers));
		m->layers = fb_xcalloc((size_t)n + 1, sizeof(*m->layers));
		for (int i = 0; i < n && r == 0; i++) {
			char path[32];
			snprintf(path, sizeof(path), ".layers[%d]", i);
			jv l = jv_array_get(jv_copy(layers), i);
			r = desc_decode(l, path, &m->layers[i], err);
			jv_free(l);
			m->nlayers = (size_t)i + 1;
		}
	}
	if (r == 0 && !m->media_type) {
		/* no mediaType of its own (optional in OCI): the config's says */
		bool docker = m->config.media_type && !strcmp(m->config.media_type, FB_MT_DOCKER_CONFIG);
		m->media_type = fb_xstrdup(docker ? FB_MT_DOCKER_MANIFEST : FB_MT_OCI_MANIFEST);
	}
	if (r == 0 && strcmp(m->media_type, FB_MT_OCI_MANIFEST) && strcmp(m->media_type, FB_MT_DOCKER_MANIFEST))
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".mediaType: %s is not an image manifest", m->media_type);
	if (r < 0)
		fb_push_manifest_free(m);
	return r;
}

const char *fb_push_manifest_type(enum fb_push_format f)
{
	return f == FB_PUSH_DOCKER ? FB_MT_DOCKER_MANIFEST : FB_MT_OCI_MANIFEST;
}

#define FB_MT_OCI_LAYER_ND_GZ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define FB_MT_OCI_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define FB_MT_DOCKER_FOREIGN_GZ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* OCI and Docker names of one thing. */
static const struct {
	const char *oci, *docker;
} same_type[] = {
	{ FB_MT_OCI_CONFIG, FB_MT_DOCKER_CONFIG },
	{ FB_MT_OCI_LAYER_GZ, FB_MT_DOCKER_LAYER_GZ },
	{ FB_MT_OCI_LAYER, FB_MT_DOCKER_LAYER },
	{ FB_MT_OCI_LAYER_ND_GZ, FB_MT_DOCKER_FOREIGN_GZ },
};

/* The type in format `to`, or NULL when there is none. */
static const char *map_type(const char *mt, enum fb_push_format to)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(same_type); i++) {
		if (!strcmp(mt, same_type[i].oci) || !strcmp(mt, same_type[i].docker))
			return to == FB_PUSH_DOCKER ? same_type[i].docker : same_type[i].oci;
	}
	return NULL;
}

/* One descriptor in format `to`; borrows d. */
static int desc_convert(jv *d, const char *path, bool config, enum fb_push_format to, struct fb_err *err)
{
	FB_AUTOJV jv mt = fb_json_member(*d, "mediaType");
	const char *from = jv_get_kind(mt) == JV_KIND_STRING ? jv_string_value(mt)
			   : config                         ? FB_MT_OCI_CONFIG
							    : FB_MT_OCI_LAYER_GZ;
	const char *conv = map_type(from, to);
	if (!conv)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: media type %s has no equivalent in %s", path, from,
				  to == FB_PUSH_DOCKER ? "Docker schema 2 (push with --format=oci)" : "OCI");
	*d = jv_object_set(*d, jv_string("mediaType"), jv_string(conv));
	if (to == FB_PUSH_DOCKER) {
		*d = jv_object_delete(*d, jv_string("annotations"));
		*d = jv_object_delete(*d, jv_string("data"));
		*d = jv_object_delete(*d, jv_string("artifactType"));
	}
	return 0;
}

int fb_push_manifest_convert(const char *text, size_t len, enum fb_push_format to, char **out, struct fb_err *err)
{
	struct fb_push_manifest check;
	if (fb_push_manifest_decode(text, len, &check, err) < 0)
		return -1;
	fb_push_manifest_free(&check);
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	jv cfg = jv_object_get(jv_copy(v), jv_string("config"));
	jv layers = jv_object_get(jv_copy(v), jv_string("layers"));
	int r = desc_convert(&cfg, ".config", true, to, err);
	jv conv = jv_array();
	jv_array_foreach(layers, i, l)
	{
		char path[32];
		snprintf(path, sizeof(path), ".layers[%d]", i);
		if (r == 0)
			r = desc_convert(&l, path, false, to, err);
		conv = jv_array_append(conv, l);
	}
	jv_free(layers);
	v = jv_object_set(v, jv_string("mediaType"), jv_string(fb_push_manifest_type(to)));
	v = jv_object_set(v, jv_string("config"), cfg);
	v = jv_object_set(v, jv_string("layers"), conv);
	if (to == FB_PUSH_DOCKER) {
		v = jv_object_delete(v, jv_string("annotations"));
		v = jv_object_delete(v, jv_string("subject"));
		v = jv_object_delete(v, jv_string("artifactType"));
	}
	if (r < 0) {
		jv_free(v);
		return -1;
	}
	*out = fb_json_dump(v, false);
	return 0;
}

char *fb_push_registry_errors(const char *text, size_t len)
{
	jv v;
	struct fb_err ignore = { 0 };
	if (!len || fb_json_parse(text, len, &v, &ignore) < 0)
		return NULL;
	FB_AUTOJV jv errs = fb_json_member(v, "errors");
	jv_free(v);
	if (jv_get_kind(errs) != JV_KIND_ARRAY)
		return NULL;
	struct fb_buf b = FB_BUF_INIT;
	jv_array_foreach(errs, i, e)
	{
		FB_AUTOJV jv code = fb_json_member(e, "code");
		FB_AUTOJV jv msg = fb_json_member(e, "message");
		jv_free(e);
		/* a registry's words go into one line of ours: printable only */
		char line[512];
		snprintf(line, sizeof(line), "%s%s%s", jv_get_kind(code) == JV_KIND_STRING ? jv_string_value(code) : "",
			 jv_get_kind(code) == JV_KIND_STRING && jv_get_kind(msg) == JV_KIND_STRING ? ": " : "",
			 jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "");
		for (char *c = line; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		if (*line && i < 4)
			fb_buf_addf(&b, "%s%s", b.len ? "; " : "", line);
	}
	return b.len ? fb_buf_steal(&b) : (fb_buf_free(&b), NULL);
}

/* ---- the record of an upload ---- */

void fb_push_upload_free(struct fb_push_upload *u)
{
	free(u->registry);
	free(u->repository);
	free(u->digest);
	free(u->location);
	memset(u, 0, sizeof(*u));
}

char *fb_push_upload_encode(const struct fb_push_upload *u)
{
	jv v = jv_object();
	v = jv_object_set(v, jv_string("registry"), jv_string(u->registry));
	v = jv_object_set(v, jv_string("repository"), jv_string(u->repository));
	v = jv_object_set(v, jv_string("digest"), jv_string(u->digest));
	v = jv_object_set(v, jv_string("location"), jv_string(u->location));
	v = jv_object_set(v, jv_string("offset"), jv_number((double)u->offset));
	v = jv_object_set(v, jv_string("size"), jv_number((double)u->size));
	return fb_json_dump(v, false);
}

int fb_push_upload_decode(const char *text, size_t len, struct fb_push_upload *u, struct fb_err *err)
{
	memset(u, 0, sizeof(*u));
	FB_AUTOJV jv v = jv_invalid();
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	long long off = -1, size = -1;
	if (jv_get_kind(v) != JV_KIND_OBJECT || fb_json_get_str(v, "registry", &u->registry, err) < 0 ||
	    fb_json_get_str(v, "repository", &u->repository, err) < 0 || fb_json_get_str(v, "digest", &u->digest, err) < 0 ||
	    fb_json_get_str(v, "location", &u->location, err) < 0 || fb_json_get_int_opt(v, "offset", &off, err) < 0 ||
	    fb_json_get_int_opt(v, "size", &size, err) < 0 || off < 0 || size < 0 || off > size) {
		fb_push_upload_free(u);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "not an upload record");
	}
	u->offset = (uint64_t)off;
	u->size = (uint64_t)size;
	return 0;
}

int fb_push_index_decode(const char *text, size_t len, struct fb_strv *names, struct fb_strv *digests,
			 struct fb_err *err)
{
	FB_AUTOJV jv v = jv_invalid();
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	FB_AUTOJV jv ms = fb_json_member(v, "manifests");
	if (jv_get_kind(ms) != JV_KIND_ARRAY)
		return 0;
	jv_array_foreach(ms, i, m)
	{
		FB_AUTOJV jv ann = fb_json_member(m, "annotations");
		FB_AUTOJV jv name = fb_json_member(ann, FB_OCI_REF_NAME);
		FB_AUTOJV jv d = fb_json_member(m, "digest");
		jv_free(m);
		if (jv_get_kind(name) == JV_KIND_STRING && jv_get_kind(d) == JV_KIND_STRING && fb_digest_valid(jv_string_value(d))) {
			fb_strv_push(names, jv_string_value(name));
			fb_strv_push(digests, jv_string_value(d));
		}
		(void)i;
	}
	return 0;
}
