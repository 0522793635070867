/* The codec of OCI documents (oci.h): manifests, indexes, image configs,
 * docker save's manifest.json. */
#include "oci.h"
#include "oci_doc.h"

#include <string.h>

#include "digest.h"
#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "util.h"

/* ---- descriptors ---- */

static char *platform_string(jv p)
{
	char *os = fb_jv_get_str(p, "os"), *arch = fb_jv_get_str(p, "architecture"), *variant = fb_jv_get_str(p, "variant");
	char *r = fb_xasprintf("%s/%s%s%s", os ? os : "linux", arch ? arch : "amd64", variant ? "/" : "", variant ? variant : "");
	free(os);
	free(arch);
	free(variant);
	return r;
}

/* An index entry, as found. */
static void desc_lenient(jv d, struct fb_oci_desc *out)
{
	memset(out, 0, sizeof(*out));
	out->media_type = fb_jv_get_str(d, "mediaType");
	out->digest = fb_jv_get_str(d, "digest");
	int64_t sz;
	out->size = fb_jv_get_int(d, "size", &sz) ? sz : -1;
	jv p = fb_json_member(d, "platform");
	if (jv_get_kind(p) == JV_KIND_OBJECT)
		out->platform = platform_string(p);
	jv_free(p);
	jv a = fb_json_member(d, "annotations");
	out->ref_name = fb_jv_get_str(a, FB_OCI_REF_NAME);
	jv_free(a);
	out->raw = fb_doc_from_jv(jv_copy(d));
}

/* A manifest's config or layer: checked. */
static int desc_checked(jv d, const char *what, struct fb_oci_desc *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	out->size = -1;
	if (jv_get_kind(d) != JV_KIND_OBJECT) {
		fb_json_wrong_kind(err, "", FB_J_OBJECT, d);
		fb_err_prefix(err, "%s", what);
		return -1;
	}
	long long size = -1;
	int r = 0;
	if (fb_json_get_str(d, "digest", &out->digest, err) < 0 || fb_json_get_str_opt(d, "mediaType", &out->media_type, err) < 0 ||
	    fb_json_get_int_opt(d, "size", &size, err) < 0)
		r = -1;
	else if (!fb_digest_valid(out->digest))
		r = fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s has an unsupported digest %s", what, out->digest);
	else if (size < 0)
		r = fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s %s has no size", what, out->digest);
	if (r < 0) {
		if (!strstr(err->msg, what))
			fb_err_prefix(err, "%s", what);
		fb_oci_desc_free(out);
		return -1;
	}
	out->size = size;
	return 0;
}

static jv desc_encode(const struct fb_oci_desc *d)
{
	if (d->raw)
		return fb_doc_jv(d->raw);
	jv o = jv_object();
	o = fb_jv_put_str(o, "mediaType", d->media_type);
	o = fb_jv_put_str(o, "digest", d->digest);
	o = fb_jv_put_int(o, "size", d->size);
	if (d->ref_name)
		o = jv_object_set(o, jv_string("annotations"), jv_object_set(jv_object(), jv_string(FB_OCI_REF_NAME), jv_string(d->ref_name)));
	return o;
}

/* ---- indexes ---- */

int fb_oci_index_decode(const char *text, size_t len, struct fb_oci_index *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	jv ms = fb_json_member(v, "manifests");
	if (jv_get_kind(ms) == JV_KIND_ARRAY) {
		out->listed = true;
		out->manifests = fb_xcalloc((size_t)jv_array_length(jv_copy(ms)) + 1, sizeof(*out->manifests));
		jv_array_foreach(ms, i, m)
		{
			if (jv_get_kind(m) == JV_KIND_OBJECT)
				desc_lenient(m, &out->manifests[out->n++]);
			jv_free(m);
			(void)i;
		}
	}
	jv_free(ms);
	out->rest = fb_doc_from_jv(jv_get_kind(v) == JV_KIND_OBJECT ? jv_object_delete(v, jv_string("manifests")) : (jv_free(v), jv_object()));
	return 0;
}

char *fb_oci_index_encode(const struct fb_oci_index *x)
{
	jv o = x->rest ? fb_doc_jv(x->rest) : jv_object();
	if (!fb_jv_has(o, "schemaVersion"))
		o = jv_object_set(o, jv_string("schemaVersion"), jv_number(2));
	jv ms = jv_array();
	for (size_t i = 0; i < x->n; i++)
		ms = jv_array_append(ms, desc_encode(&x->manifests[i]));
	return fb_json_dump(jv_object_set(o, jv_string("manifests"), ms), false);
}

/* ---- manifests ---- */

char *fb_oci_media_type_of(const char *text, size_t len)
{
	jv v;
	struct fb_err ignore = { 0 };
	if (fb_json_parse(text, len, &v, &ignore) < 0)
		return fb_xstrdup("");
	char *mt = fb_jv_get_str(v, "mediaType");
	/* OCI allows documents without mediaType: tell them by shape */
	if (!mt && jv_get_kind(v) == JV_KIND_OBJECT) {
		if (fb_jv_has(v, "manifests"))
			mt = fb_xstrdup(FB_MT_OCI_INDEX);
		else if (fb_jv_has(v, "layers"))
			mt = fb_xstrdup(FB_MT_OCI_MANIFEST);
	}
	jv_free(v);
	return mt ? mt : fb_xstrdup("");
}

int fb_oci_manifest_decode(const char *text, size_t len, struct fb_oci_manifest *m, struct fb_err *err)
{
	memset(m, 0, sizeof(*m));
	m->config.size = -1;
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	long long sv = 0;
	int ret = -1;
	jv c = jv_invalid(), ls = jv_invalid();
	if (fb_json_get_int_opt(v, "schemaVersion", &sv, err) < 0)
		goto out;
	if (sv != 2) {
		fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest",
			   "unsupported manifest schemaVersion %lld (Docker schema 1 is not supported)", sv);
		goto out;
	}
	c = fb_json_member(v, "config");
	ls = fb_json_member(v, "layers");
	if (desc_checked(c, "config", &m->config, err) < 0)
		goto out;
	if (jv_get_kind(ls) != JV_KIND_ARRAY) {
		fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "the manifest has no layers list");
		goto out;
	}
	m->layers = fb_xcalloc((size_t)jv_array_length(jv_copy(ls)) + 1, sizeof(*m->layers));
	int n = jv_array_length(jv_copy(ls));
	for (int i = 0; i < n; i++) {
		jv l = jv_array_get(jv_copy(ls), i);
		int r = desc_checked(l, "layer", &m->layers[i], err);
		jv_free(l);
		if (r < 0)
			goto out;
		m->nlayers++;
	}
	m->media_type = fb_jv_get_str(v, "mediaType");
	ret = 0;
out:
	jv_free(v);
	if (jv_is_valid(c))
		jv_free(c);
	if (jv_is_valid(ls))
		jv_free(ls);
	if (ret < 0)
		fb_oci_manifest_free(m);
	return ret;
}

char *fb_oci_manifest_encode(const struct fb_oci_manifest *m)
{
	jv o = jv_object_set(jv_object(), jv_string("schemaVersion"), jv_number(2));
	o = jv_object_set(o, jv_string("mediaType"), jv_string(m->media_type ? m->media_type : FB_MT_OCI_MANIFEST));
	struct fb_oci_desc c = m->config;
	c.raw = NULL;
	o = jv_object_set(o, jv_string("config"), desc_encode(&c));
	jv ls = jv_array();
	for (size_t i = 0; i < m->nlayers; i++) {
		struct fb_oci_desc l = m->layers[i];
		l.raw = NULL;
		l.ref_name = NULL;
		ls = jv_array_append(ls, desc_encode(&l));
	}
	return fb_json_dump(jv_object_set(o, jv_string("layers"), ls), false);
}

void fb_oci_refs(const char *text, size_t len, struct fb_strv *blobs, struct fb_strv *children)
{
	jv v;
	struct fb_err ignore = { 0 };
	if (fb_json_parse(text, len, &v, &ignore) < 0)
		return;
	jv c = fb_json_member(v, "config");
	char *cd = fb_jv_get_str(c, "digest");
	if (cd)
		fb_strv_push_owned(blobs, cd);
	jv_free(c);
	static const char *const lists[] = { "layers", "manifests" };
	for (size_t k = 0; k < 2; k++) {
		jv ls = fb_json_member(v, lists[k]);
		if (jv_get_kind(ls) == JV_KIND_ARRAY)
			jv_array_foreach(ls, i, l)
			{
				char *d = fb_jv_get_str(l, "digest");
				if (d)
					fb_strv_push_owned(k == 0 ? blobs : children, d);
				jv_free(l);
				(void)i;
			}
		jv_free(ls);
	}
	jv_free(v);
}

/* ---- docker save's manifest.json ---- */

int fb_docker_archive_decode(const char *text, size_t len, struct fb_docker_archive *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0) {
		fb_err_prefix(err, "manifest.json");
		return -1;
	}
	if (jv_get_kind(v) != JV_KIND_ARRAY || jv_array_length(jv_copy(v)) == 0) {
		jv_free(v);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "manifest.json is not a list of images");
	}
	out->images = fb_xcalloc((size_t)jv_array_length(jv_copy(v)), sizeof(*out->images));
	jv_array_foreach(v, i, e)
	{
		struct fb_docker_manifest *m = &out->images[out->n++];
		struct fb_err e2 = { 0 };
		if (fb_json_get_str(e, "Config", &m->config, &e2) < 0 || fb_json_get_strv_opt(e, "Layers", &m->layers, &e2) < 0)
			m->error = fb_xstrdup(e2.msg);
		jv tags = fb_json_member(e, "RepoTags");
		if (jv_get_kind(tags) == JV_KIND_ARRAY)
			jv_array_foreach(tags, k, t)
			{
				char *s = fb_jv_dup(t);
				if (s)
					fb_strv_push_owned(&m->repo_tags, s);
				jv_free(t);
				(void)k;
			}
		jv_free(tags);
		jv_free(e);
		(void)i;
	}
	jv_free(v);
	return 0;
}

/* ---- the image config ---- */

/* Take member key out of *rest (it is known); its value, or jv_null(). */
static jv take(jv *rest, const char *key)
{
	jv v = fb_json_member(*rest, key);
	if (jv_get_kind(*rest) == JV_KIND_OBJECT)
		*rest = jv_object_delete(*rest, jv_string(key));
	return v;
}

static char *take_str(jv *rest, const char *key)
{
	jv v = take(rest, key);
	char *s = fb_jv_dup(v);
	jv_free(v);
	return s;
}

static void take_strv(jv *rest, const char *key, struct fb_oci_strv *out, int *bad)
{
	jv v = take(rest, key);
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		out->set = true;
		jv_array_foreach(v, i, e)
		{
			char *s = fb_jv_dup(e);
			if (s)
				fb_strv_push_owned(&out->v, s);
			else if (bad && *bad < 0)
				*bad = i;
			jv_free(e);
		}
	}
	jv_free(v);
}

static void take_map(jv *rest, const char *key, struct fb_oci_map *out, bool values)
{
	jv v = take(rest, key);
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		out->set = true;
		jv_object_foreach(v, k, x) /* borrows v: the macro names it many times */
		{
			if (!values || jv_get_kind(x) == JV_KIND_STRING) {
				fb_strv_push(&out->keys, jv_string_value(k));
				fb_strv_push(&out->vals, values ? jv_string_value(x) : "");
			}
			jv_free(k);
			jv_free(x);
		}
	}
	jv_free(v);
}

static int64_t take_int(jv *rest, const char *key)
{
	int64_t n;
	bool ok = fb_jv_get_int(*rest, key, &n);
	jv_free(take(rest, key));
	return ok ? n : -1;
}

static void decode_inner(jv cfg, struct fb_oci_config *c)
{
	c->has_config = true;
	jv rest = cfg;
	c->user = take_str(&rest, "User");
	c->working_dir = take_str(&rest, "WorkingDir");
	c->stop_signal = take_str(&rest, "StopSignal");
	take_strv(&rest, "Env", &c->env, NULL);
	take_strv(&rest, "Cmd", &c->cmd, NULL);
	take_strv(&rest, "Entrypoint", &c->entrypoint, NULL);
	take_strv(&rest, "Shell", &c->shell, NULL);
	take_strv(&rest, "OnBuild", &c->onbuild, &c->onbuild_bad);
	take_map(&rest, "Labels", &c->labels, true);
	take_map(&rest, "ExposedPorts", &c->exposed_ports, false);
	take_map(&rest, "Volumes", &c->volumes, false);
	jv h = take(&rest, "Healthcheck");
	if (jv_get_kind(h) == JV_KIND_OBJECT) {
		c->health.set = true;
		take_strv(&h, "Test", &c->health.test, NULL);
		c->health.interval = take_int(&h, "Interval");
		c->health.timeout = take_int(&h, "Timeout");
		c->health.start_period = take_int(&h, "StartPeriod");
		c->health.start_interval = take_int(&h, "StartInterval");
		c->health.retries = take_int(&h, "Retries");
	}
	jv_free(h);
	c->config_rest = fb_doc_from_jv(rest);
}

static void decode_config(jv v, struct fb_oci_config *c)
{
	fb_oci_config_init(c);
	jv rest = v;
	c->architecture = take_str(&rest, "architecture");
	c->os = take_str(&rest, "os");
	c->variant = take_str(&rest, "variant");
	c->author = take_str(&rest, "author");
	c->created = take_str(&rest, "created");
	jv cfg = take(&rest, "config");
	if (jv_get_kind(cfg) == JV_KIND_OBJECT)
		decode_inner(cfg, c);
	else
		jv_free(cfg);
	jv rootfs = take(&rest, "rootfs");
	if (jv_get_kind(rootfs) == JV_KIND_OBJECT) {
		c->has_rootfs = true;
		c->rootfs_type = fb_jv_get_str(rootfs, "type");
		jv ids = fb_json_member(rootfs, "diff_ids");
		if (jv_get_kind(ids) == JV_KIND_ARRAY) {
			c->diff_ids.set = true;
			jv_array_foreach(ids, i, d)
			{
				char *s = fb_jv_dup(d);
				fb_strv_push_owned(&c->diff_ids.v, s ? s : fb_xstrdup(""));
				jv_free(d);
				(void)i;
			}
		}
		jv_free(ids);
	}
	jv_free(rootfs);
	jv hist = take(&rest, "history");
	if (jv_get_kind(hist) == JV_KIND_ARRAY) {
		c->has_history = true;
		c->history = fb_xcalloc((size_t)jv_array_length(jv_copy(hist)) + 1, sizeof(*c->history));
		jv_array_foreach(hist, i, e)
		{
			if (jv_get_kind(e) == JV_KIND_OBJECT) {
				struct fb_oci_history *h = &c->history[c->nhistory++];
				jv hr = e;
				h->created = take_str(&hr, "created");
				h->created_by = take_str(&hr, "created_by");
				h->author = take_str(&hr, "author");
				h->comment = take_str(&hr, "comment");
				jv el = take(&hr, "empty_layer");
				h->empty_layer = jv_get_kind(el) == JV_KIND_TRUE;
				jv_free(el);
				h->rest = fb_doc_from_jv(hr);
			} else {
				jv_free(e);
			}
			(void)i;
		}
	}
	jv_free(hist);
	c->rest = fb_doc_from_jv(rest);
}

int fb_oci_config_decode(const char *text, size_t len, struct fb_oci_config *c, struct fb_err *err)
{
	jv v;
	if (fb_jv_parse_object(text, len, &v, err) < 0)
		return -1;
	decode_config(v, c);
	return 0;
}

static jv strv_jv(const struct fb_strv *v)
{
	return fb_jv_strv(v->v, v->n);
}

static jv set_jv(const struct fb_oci_map *m, bool values)
{
	jv o = jv_object();
	for (size_t i = 0; i < m->keys.n; i++)
		o = jv_object_set(o, jv_string(m->keys.v[i]), values ? jv_string(m->vals.v[i]) : jv_object());
	return o;
}

/* known members first, then what was not known */
static jv merged(jv known, const struct fb_doc *rest)
{
	return rest ? jv_object_merge(known, fb_doc_jv(rest)) : known;
}

static jv encode_inner(const struct fb_oci_config *c)
{
	jv o = jv_object();
	o = fb_jv_put_str(o, "User", c->user);
	if (c->exposed_ports.set)
		o = jv_object_set(o, jv_string("ExposedPorts"), set_jv(&c->exposed_ports, false));
	if (c->env.set)
		o = jv_object_set(o, jv_string("Env"), strv_jv(&c->env.v));
	if (c->entrypoint.set)
		o = jv_object_set(o, jv_string("Entrypoint"), strv_jv(&c->entrypoint.v));
	if (c->cmd.set)
		o = jv_object_set(o, jv_string("Cmd"), strv_jv(&c->cmd.v));
	if (c->volumes.set)
		o = jv_object_set(o, jv_string("Volumes"), set_jv(&c->volumes, false));
	o = fb_jv_put_str(o, "WorkingDir", c->working_dir);
	if (c->labels.set)
		o = jv_object_set(o, jv_string("Labels"), set_jv(&c->labels, true));
	o = fb_jv_put_str(o, "StopSignal", c->stop_signal);
	if (c->shell.set)
		o = jv_object_set(o, jv_string("Shell"), strv_jv(&c->shell.v));
	if (c->health.set) {
		const struct fb_oci_health *h = &c->health;
		jv hc = jv_object();
		if (h->test.set)
			hc = jv_object_set(hc, jv_string("Test"), strv_jv(&h->test.v));
		hc = fb_jv_put_int(hc, "Interval", h->interval);
		hc = fb_jv_put_int(hc, "Timeout", h->timeout);
		hc = fb_jv_put_int(hc, "StartPeriod", h->start_period);
		hc = fb_jv_put_int(hc, "StartInterval", h->start_interval);
		hc = fb_jv_put_int(hc, "Retries", h->retries);
		o = jv_object_set(o, jv_string("Healthcheck"), hc);
	}
	if (c->onbuild.set)
		o = jv_object_set(o, jv_string("OnBuild"), strv_jv(&c->onbuild.v));
	return merged(o, c->config_rest);
}

static jv encode_config(const struct fb_oci_config *c)
{
	jv o = jv_object();
	o = fb_jv_put_str(o, "created", c->created);
	o = fb_jv_put_str(o, "author", c->author);
	o = fb_jv_put_str(o, "architecture", c->architecture);
	o = fb_jv_put_str(o, "os", c->os);
	o = fb_jv_put_str(o, "variant", c->variant);
	if (c->has_config)
		o = jv_object_set(o, jv_string("config"), encode_inner(c));
	if (c->has_rootfs) {
		jv r = fb_jv_put_str(jv_object(), "type", c->rootfs_type);
		if (c->diff_ids.set)
			r = jv_object_set(r, jv_string("diff_ids"), strv_jv(&c->diff_ids.v));
		o = jv_object_set(o, jv_string("rootfs"), r);
	}
	if (c->has_history) {
		jv hs = jv_array();
		for (size_t i = 0; i < c->nhistory; i++) {
			const struct fb_oci_history *h = &c->history[i];
			jv e = jv_object();
			e = fb_jv_put_str(e, "created", h->created);
			e = fb_jv_put_str(e, "created_by", h->created_by);
			e = fb_jv_put_str(e, "author", h->author);
			e = fb_jv_put_str(e, "comment", h->comment);
			if (h->empty_layer)
				e = jv_object_set(e, jv_string("empty_layer"), jv_true());
			hs = jv_array_append(hs, merged(e, h->rest));
		}
		o = jv_object_set(o, jv_string("history"), hs);
	}
	return merged(o, c->rest);
}

char *fb_oci_config_encode(const struct fb_oci_config *c)
{
	return fb_json_dump(encode_config(c), false);
}

jv fb_oci_config_jv(const struct fb_oci_config *c)
{
	return encode_config(c);
}

void fb_oci_config_from_jv(jv v, struct fb_oci_config *c)
{
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		v = jv_object();
	}
	decode_config(v, c);
}
