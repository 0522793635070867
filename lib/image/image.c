#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiveapi.h"
#include "digest.h"
#include "err.h"
#include "log.h"
#include "oci.h"
#include "ref.h"
#include "store.h"
#include "unpack.h"
#include "util.h"

/* ---- the common end: a manifest whose blobs are in the store ---- */

/* .image of a manifest whose config is in the store. */
static int image_of(struct fb_store *s, const struct fb_ref *ref, const struct fb_oci_manifest *m, const char *mdigest,
		    const char *mtype, struct fb_image *out, struct fb_err *err)
{
	struct fb_oci_config cfg;
	struct fb_buf b = FB_BUF_INIT;
	int r = fb_store_read_blob(s, m->config.digest, &b, err);
	if (r == 0 && (r = fb_oci_config_decode(fb_buf_str(&b), b.len, &cfg, err)) < 0)
		fb_err_prefix(err, "blob %s", m->config.digest);
	fb_buf_free(&b);
	if (r < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->ref = fb_xstrdup(ref->canonical);
	out->name = fb_xstrdup(ref->store_name);
	out->digest = fb_xstrdup(mdigest);
	out->media_type = fb_xstrdup(mtype);
	out->platform = fb_oci_config_platform(&cfg);
	out->config_digest = fb_xstrdup(m->config.digest);
	out->config = fb_xmalloc(sizeof(*out->config));
	*out->config = cfg;
	for (size_t i = 0; i < m->nlayers; i++) {
		struct fb_oci_desc l = m->layers[i];
		if (!l.media_type)
			l.media_type = FB_MT_OCI_LAYER_GZ;
		fb_image_add_layer(out, &l);
	}
	out->store = fb_xstrdup(s->root);
	return 0;
}

/* Every layer is in the store: record the image in index.json. */
static int record_image(struct fb_store *s, const struct fb_ref *ref, const struct fb_oci_manifest *m, const char *mdigest,
			const char *mtype, uint64_t msize, struct fb_err *err)
{
	for (size_t i = 0; i < m->nlayers; i++)
		if (!fb_store_has_blob(s, m->layers[i].digest))
			return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "layer %s is missing", m->layers[i].digest);
	return fb_store_index_set(s, ref->store_name, mtype, mdigest, msize, err);
}

/* Record the image in index.json and build .image. */
static int finish_image(struct fb_store *s, const struct fb_ref *ref, const struct fb_oci_manifest *m, const char *mdigest,
			const char *mtype, uint64_t msize, struct fb_image *out, struct fb_err *err)
{
	struct fb_image img;
	if (image_of(s, ref, m, mdigest, mtype, &img, err) < 0)
		return -1;
	if (record_image(s, ref, m, mdigest, mtype, msize, err) < 0) {
		fb_image_free(&img);
		return -1;
	}
	*out = img;
	return 0;
}

/* Follow an index to the platform's manifest; `get` reads a blob's bytes. */
typedef int (*blob_get_fn)(void *ctx, const char *digest, struct fb_buf *out, struct fb_err *err);

static int resolve(void *ctx, blob_get_fn get, struct fb_store *s, const struct fb_ref *ref, struct fb_buf *first,
		   const char *first_digest, const char *first_mt, uint64_t first_size, const char *platform,
		   struct fb_image *out, struct fb_err *err)
{
	struct fb_buf doc = *first;
	*first = (struct fb_buf)FB_BUF_INIT;
	char *digest = fb_xstrdup(first_digest), *mt = fb_xstrdup(first_mt);
	uint64_t size = first_size;
	int ret = -1;
	for (int depth = 0; depth < 4; depth++) {
		if (!*mt) {
			free(mt);
			mt = fb_oci_media_type_of(fb_buf_str(&doc), doc.len);
		}
		if (fb_oci_is_manifest(mt)) {
			struct fb_oci_manifest m;
			if (fb_oci_manifest_decode(fb_buf_str(&doc), doc.len, &m, err) == 0) {
				ret = finish_image(s, ref, &m, digest, mt, size, out, err);
				fb_oci_manifest_free(&m);
			}
			goto done;
		}
		if (!fb_oci_is_index(mt)) {
			fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s: unsupported manifest type \"%s\"", ref->canonical, mt);
			goto done;
		}
		struct fb_oci_index idx;
		const struct fb_oci_desc *desc;
		if (fb_oci_index_decode(fb_buf_str(&doc), doc.len, &idx, err) < 0)
			goto done;
		int pr = idx.listed ? fb_oci_pick_platform(&idx, platform, &desc, err)
				    : fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "the image index has no manifests list");
		if (pr < 0) {
			fb_oci_index_free(&idx);
			fb_err_prefix(err, "%s", ref->canonical);
			goto done;
		}
		char *d = desc->digest ? fb_xstrdup(desc->digest) : NULL;
		char *m = fb_xstrdup(desc->media_type ? desc->media_type : "");
		int64_t sz = desc->size > 0 ? desc->size : 0;
		fb_oci_index_free(&idx);
		struct fb_buf b = FB_BUF_INIT;
		int r = d && fb_digest_valid(d) ? get(ctx, d, &b, err)
					       : fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "bad digest in the index");
		if (r < 0) {
			fb_buf_free(&b);
			free(d);
			free(m);
			goto done;
		}
		fb_buf_free(&doc);
		doc = b;
		free(digest);
		free(mt);
		digest = d;
		mt = m;
		size = (uint64_t)sz;
	}
	fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s: indexes nested too deep", ref->canonical);
done:
	fb_buf_free(&doc);
	free(digest);
	free(mt);
	return ret;
}

/* ---- registry ---- */

/* A manifest by tag or digest, kept in the store as read. */
static int registry_manifest(struct fb_registry *r, struct fb_store *s, const char *reference, struct fb_buf *body,
			     char **mt, char digest[72], struct fb_err *err)
{
	if (fb_registry_manifest(r, reference, body, mt, digest, err) < 0 ||
	    fb_store_put_mem(s, body->data ? body->data : "", body->len, NULL, err) < 0)
		return -1;
	if (!*mt)
		*mt = fb_xstrdup("");
	return 0;
}

/* n bytes of a layer at off (a Range request), for .head and .tail: 0, or
 * -1 when the registry would not give them (the layer is then downloaded
 * before the document). */
static int layer_range(struct fb_registry *r, const struct fb_oci_desc *l, uint64_t off, size_t n, unsigned char *out)
{
	char range[96];
	snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, off, off + n - 1);
	const char *const headers[] = { range, NULL };
	char *path = fb_xasprintf("blobs/%s", l->digest);
	struct fb_registry_req q = { .method = "GET", .path = path, .headers = headers };
	struct fb_registry_resp rs = { 0 };
	struct fb_err e = { 0 };
	int ret = -1;
	if (fb_registry_request(r, &q, &rs, &e) == 0 && rs.code == 206 && rs.body.len == n) {
		memcpy(out, rs.body.data, n);
		ret = 0;
	} else {
		fb_log_fields(FB_LOG_DEBUG, "no Range answer: downloaded before the document", "blob", l->digest,
			      (char *)NULL);
	}
	fb_registry_resp_free(&rs);
	free(path);
	return ret;
}

/* What fb-mkrootfs sizes the ext4 from: the first bytes and the last 4. */
static int layer_ends(struct fb_registry *r, const struct fb_oci_desc *l, struct fb_layer_pending *p)
{
	size_t hn = (uint64_t)l->size < FB_LAYER_HEAD ? (size_t)l->size : FB_LAYER_HEAD;
	if (layer_range(r, l, 0, hn, p->head) < 0 || layer_range(r, l, (uint64_t)l->size - 4, 4, p->tail) < 0)
		return -1;
	p->headlen = (unsigned)hn;
	return 0;
}

/* --stream: the config (and any layer whose ends the registry would not
 * give) first; then the partial file of every other layer missing from the
 * store is opened and locked, the document goes out with those layers
 * pending, and they download, the first layer first. The image is recorded
 * in index.json once they are all in. */
static int stream_layers(const struct fb_image_opts *o, struct fb_registry *r, const struct fb_ref *ref, struct fb_store *s,
			 const struct fb_oci_manifest *m, const char *digest, const char *mt, uint64_t msize,
			 struct fb_image *out, struct fb_err *err)
{
	size_t n = m->nlayers;
	struct fb_blob_req *first = fb_xcalloc(n + 1, sizeof(*first)), *later = fb_xcalloc(n + 1, sizeof(*later));
	struct fb_blob_writer *ws = fb_xcalloc(n + 1, sizeof(*ws));
	struct fb_layer_pending *pend = fb_xcalloc(n + 1, sizeof(*pend));
	size_t nfirst = 0, nlater = 0;
	struct fb_image img = { 0 };
	int ret = -1;
	for (size_t i = 0; i < n; i++)
		ws[i].fd = -1;
	first[nfirst++] = (struct fb_blob_req){ m->config.digest, (uint64_t)m->config.size, "config", NULL };
	for (size_t i = 0; i < n; i++) {
		const struct fb_oci_desc *l = &m->layers[i];
		if (!fb_digest_valid(l->digest)) {
			fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s: layer %zu: unsupported digest %s", ref->canonical,
				   i + 1, l->digest ? l->digest : "(none)");
			goto out;
		}
		if (fb_store_has_blob(s, l->digest))
			continue;
		if (l->size < 4 || layer_ends(r, l, &pend[i]) < 0) {
			first[nfirst++] = (struct fb_blob_req){ l->digest, (uint64_t)l->size, "layer", NULL };
			continue;
		}
		pend[i].pending = pend[i].has_tail = true;
	}
	if (fb_registry_blobs(r, s, first, nfirst, err) < 0)
		goto out;
	/* open (and lock) the partial files the document points to */
	for (size_t i = 0; i < n; i++) {
		if (!pend[i].pending)
			continue;
		uint64_t at;
		if (fb_blob_begin(s, m->layers[i].digest, m->layers[i].digest, &at, &ws[i], err) < 0)
			goto out;
		later[nlater++] = (struct fb_blob_req){ m->layers[i].digest, (uint64_t)m->layers[i].size, "layer", &ws[i] };
	}
	if (image_of(s, ref, m, digest, mt, &img, err) < 0)
		goto out;
	img.pending = pend;
	pend = NULL;
	if (o->ready(o->ready_ctx, &img, err) < 0)
		goto out;
	if (fb_registry_blobs(r, s, later, nlater, err) < 0 || record_image(s, ref, m, digest, mt, msize, err) < 0)
		goto out;
	free(img.pending);
	img.pending = NULL;
	*out = img;
	memset(&img, 0, sizeof(img));
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		if (ws[i].fd >= 0)
			fb_blob_abort(&ws[i], true);
	fb_image_free(&img);
	free(first);
	free(later);
	free(ws);
	free(pend);
	return ret;
}

static int fetch_registry(const struct fb_image_opts *o, const struct fb_ref *ref, struct fb_store *s, struct fb_image *out,
			  struct fb_err *err)
{
	struct fb_registry *r;
	if (fb_registry_open(ref, &o->reg, &r, err) < 0) {
		fb_err_prefix(err, "%s", ref->canonical);
		return -1;
	}
	struct fb_buf body = FB_BUF_INIT;
	char *mt = NULL, digest[72];
	struct fb_oci_manifest m = { 0 };
	struct fb_blob_req *reqs = NULL;
	int ret = -1;
	if (registry_manifest(r, s, ref->digest ? ref->digest : ref->tag, &body, &mt, digest, err) < 0)
		goto out;
	if (!*mt) {
		free(mt);
		mt = fb_oci_media_type_of(fb_buf_str(&body), body.len);
	}
	/* After an index, the chosen manifest names the config and layers;
	 * they are downloaded before finish_image checks they are there. */
	if (fb_oci_is_index(mt)) {
		struct fb_oci_index idx;
		const struct fb_oci_desc *desc;
		if (fb_oci_index_decode(fb_buf_str(&body), body.len, &idx, err) < 0)
			goto out;
		int pr = idx.listed ? fb_oci_pick_platform(&idx, o->platform, &desc, err)
				    : fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "the image index has no manifests list");
		char *d = pr == 0 && desc->digest ? fb_xstrdup(desc->digest) : NULL;
		fb_oci_index_free(&idx);
		if (pr < 0) {
			fb_err_prefix(err, "%s", ref->canonical);
			goto out;
		}
		if (!d) {
			fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s: bad digest in the index", ref->canonical);
			goto out;
		}
		fb_buf_reset(&body);
		free(mt);
		mt = NULL;
		int rr = registry_manifest(r, s, d, &body, &mt, digest, err);
		free(d);
		if (rr < 0)
			goto out;
		if (!*mt) {
			free(mt);
			mt = fb_oci_media_type_of(fb_buf_str(&body), body.len);
		}
	}
	if (fb_oci_manifest_decode(fb_buf_str(&body), body.len, &m, err) < 0)
		goto out;
	if (o->ready) {
		ret = stream_layers(o, r, ref, s, &m, digest, mt, body.len, out, err);
		goto out;
	}
	reqs = fb_xcalloc(m.nlayers + 1, sizeof(*reqs));
	reqs[0] = (struct fb_blob_req){ m.config.digest, (uint64_t)m.config.size, "config", NULL };
	for (size_t i = 0; i < m.nlayers; i++)
		reqs[i + 1] = (struct fb_blob_req){ m.layers[i].digest, (uint64_t)m.layers[i].size, "layer", NULL };
	if (fb_registry_blobs(r, s, reqs, m.nlayers + 1, err) < 0)
		goto out;
	ret = finish_image(s, ref, &m, digest, mt, body.len, out, err);
out:
	free(reqs);
	fb_oci_manifest_free(&m);
	free(mt);
	fb_buf_free(&body);
	fb_registry_free(r);
	return ret;
}

/* ---- OCI layout directory ---- */

struct dir_ctx {
	const char *dir;
	struct fb_store *s;
};

static char *layout_blob(const char *dir, const char *digest)
{
	/* an OCI image layout keeps its blobs as the store does */
	return fb_store_blob_path_at(dir, digest);
}

static int dir_get(void *ctx, const char *digest, struct fb_buf *out, struct fb_err *err)
{
	struct dir_ctx *c = ctx;
	char *p = layout_blob(c->dir, digest);
	int r = fb_store_put_file(c->s, p, digest, NULL, err);
	free(p);
	if (r < 0)
		return -1;
	return fb_store_read_blob(c->s, digest, out, err);
}

static int store_get(void *ctx, const char *digest, struct fb_buf *out, struct fb_err *err)
{
	struct dir_ctx *c = ctx;
	int r = fb_store_read_blob(c->s, digest, out, err);
	if (r < 0)
		fb_err_prefix(err, "blob %s is not in the archive", digest);
	return r;
}

/* Pick index.json's entry for tag (or the only one), resolve it, copy the
 * config and layers with get. */
static int from_layout_index(void *ctx, blob_get_fn get, const struct fb_buf *index, const struct fb_ref *ref,
			     const struct fb_image_opts *o, struct fb_store *s, struct fb_image *out, struct fb_err *err)
{
	struct fb_oci_index idx;
	if (fb_oci_index_decode(fb_buf_str(index), index->len, &idx, err) < 0)
		return -1;
	int ret = -1;
	struct fb_buf names = FB_BUF_INIT;
	if (!idx.listed) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: index.json has no manifests", ref->canonical);
		goto out;
	}
	int pick = -1;
	for (size_t i = 0; i < idx.n; i++) {
		const char *nm = idx.manifests[i].ref_name;
		if (nm)
			fb_buf_addf(&names, "%s%s", names.len ? ", " : "", nm);
		if (ref->tag && nm && !strcmp(nm, ref->tag))
			pick = (int)i;
	}
	if (!ref->tag && idx.n == 1)
		pick = 0;
	if (pick < 0) {
		if (ref->tag)
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: no image tagged \"%s\" (there are: %s)", ref->canonical,
				   ref->tag, names.len ? fb_buf_str(&names) : "none");
		else
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s holds %zu images: name one (%s)", ref->canonical, idx.n,
				   names.len ? fb_buf_str(&names) : "untagged");
		goto out;
	}
	const struct fb_oci_desc *desc = &idx.manifests[pick];
	if (!desc->digest) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", ".digest: missing (expected a string)");
		goto out;
	}
	if (!fb_digest_valid(desc->digest)) {
		fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s: bad digest %s", ref->canonical, desc->digest);
		goto out;
	}
	struct fb_buf b = FB_BUF_INIT;
	if (get(ctx, desc->digest, &b, err) == 0) {
		/* copy config and layers of the manifest the platform picks */
		ret = resolve(ctx, get, s, ref, &b, desc->digest, desc->media_type ? desc->media_type : "",
			      desc->size > 0 ? (uint64_t)desc->size : 0, o->platform, out, err);
	}
	fb_buf_free(&b);
out:
	fb_oci_index_free(&idx);
	fb_buf_free(&names);
	return ret;
}

/* For a directory layout the config and layers are copied before
 * finish_image looks for them: walk the chosen manifest first. */
static int copy_manifest_blobs(struct dir_ctx *c, const struct fb_buf *manifest, struct fb_err *err)
{
	struct fb_oci_manifest m;
	if (fb_oci_manifest_decode(fb_buf_str(manifest), manifest->len, &m, err) < 0)
		return -1;
	struct fb_buf tmp = FB_BUF_INIT;
	int r = dir_get(c, m.config.digest, &tmp, err);
	fb_buf_free(&tmp);
	for (size_t i = 0; r == 0 && i < m.nlayers; i++) {
		char *p = layout_blob(c->dir, m.layers[i].digest);
		r = fb_store_put_file(c->s, p, m.layers[i].digest, NULL, err);
		free(p);
	}
	fb_oci_manifest_free(&m);
	return r;
}

/* dir_get copies manifests; layers are copied when a manifest is read. */
static int dir_get_all(void *ctx, const char *digest, struct fb_buf *out, struct fb_err *err)
{
	if (dir_get(ctx, digest, out, err) < 0)
		return -1;
	char *mt = fb_oci_media_type_of(fb_buf_str(out), out->len);
	int r = fb_oci_is_manifest(mt) ? copy_manifest_blobs(ctx, out, err) : 0;
	free(mt);
	return r;
}

static int fetch_oci_dir(const struct fb_image_opts *o, const struct fb_ref *ref, struct fb_store *s, struct fb_image *out,
			 struct fb_err *err)
{
	char *ip = fb_xasprintf("%s/index.json", ref->path);
	struct fb_buf b = FB_BUF_INIT;
	int r = fb_read_file(ip, &b, err);
	free(ip);
	if (r == 0) {
		struct dir_ctx c = { ref->path, s };
		r = from_layout_index(&c, dir_get_all, &b, ref, o, s, out, err);
	}
	fb_buf_free(&b);
	return r;
}

/* ---- archives ---- */

struct member {
	char *name;
	char digest[72];
	uint64_t size;
};

/* Store every regular member; keep manifest.json and index.json apart. */
static int read_archive(const char *path, struct fb_store *s, struct member **members, size_t *n, struct fb_buf *manifest,
			struct fb_buf *index, struct fb_err *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	int ret = 0;
	if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
		ret = access(path, F_OK) < 0 ? fb_err_errno(err, errno, "open %s", path)
					     : fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: %s", path, archive_error_string(a));
		goto out;
	}
	char *buf = fb_xmalloc(1 << 20);
	for (;;) {
		struct archive_entry *ae;
		int ar = archive_read_next_header(a, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: %s", path, archive_error_string(a));
			break;
		}
		if (archive_entry_filetype(ae) != AE_IFREG)
			continue;
		const char *name = archive_entry_pathname(ae);
		while (name[0] == '.' && name[1] == '/')
			name += 2;
		struct fb_buf *mem = !strcmp(name, "manifest.json") ? manifest : !strcmp(name, "index.json") ? index : NULL;
		if (mem) {
			ssize_t got;
			while ((got = archive_read_data(a, buf, 1 << 20)) > 0)
				fb_buf_add(mem, buf, (size_t)got);
			if (got < 0) {
				ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: %s", path, archive_error_string(a));
				break;
			}
			continue;
		}
		/* OCI layout blobs carry their digest in their name */
		char expect[72] = "";
		if (!strncmp(name, "blobs/sha256/", 13)) {
			snprintf(expect, sizeof(expect), "sha256:%s", name + 13);
			if (!fb_digest_valid(expect))
				expect[0] = '\0';
		}
		struct fb_blob_writer w;
		if (fb_blob_begin(s, expect[0] ? expect : NULL, name, NULL, &w, err) < 0) {
			ret = -1;
			break;
		}
		ssize_t got;
		while ((got = archive_read_data(a, buf, 1 << 20)) > 0)
			if ((ret = fb_blob_write(&w, buf, (size_t)got, err)) < 0)
				break;
		if (got < 0 && ret == 0)
			ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: %s: %s", path, name, archive_error_string(a));
		struct member m = { fb_xstrdup(name), "", w.size };
		if (ret < 0 || fb_blob_commit(&w, m.digest, err) < 0) {
			if (ret == 0)
				fb_err_prefix(err, "%s", path);
			fb_blob_abort(&w, false);
			free(m.name);
			ret = -1;
			break;
		}
		*members = fb_xrealloc(*members, (*n + 1) * sizeof(**members));
		(*members)[(*n)++] = m;
	}
	free(buf);
out:
	archive_read_free(a);
	return ret;
}

static const struct member *member_named(const struct member *ms, size_t n, const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ms[i].name, name))
			return &ms[i];
	return NULL;
}

/* "acme/app:1" and "docker.io/acme/app:1" name the same image. */
static bool same_image_name(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return true;
	struct fb_ref ra, rb;
	struct fb_err ignore = { 0 };
	if (fb_ref_parse(a, &ra, &ignore) < 0)
		return false;
	bool same = false;
	if (fb_ref_parse(b, &rb, &ignore) == 0) {
		same = !strcmp(ra.canonical, rb.canonical);
		fb_ref_free(&rb);
	}
	fb_ref_free(&ra);
	return same;
}

/* "<64 hex><suffix>" (after "./" prefixes): the hex, else NULL. Names of
 * this form carry the sha256 of their bytes in docker-archives (Docker's
 * <id>.json configs, skopeo's <digest>.tar layers). */
static const char *hex_named(const char *name, const char *suffix, char hex[65])
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	size_t sl = strlen(suffix);
	if (strlen(name) != 64 + sl || strcmp(name + 64, suffix) || strspn(name, "0123456789abcdef") != 64)
		return NULL;
	memcpy(hex, name, 64);
	hex[64] = '\0';
	return hex;
}

/* What docker load checks before it takes an archive: the config's name
 * against its bytes, each layer's name (when it is a digest) against its
 * bytes, and each layer's uncompressed sha256 against the config's
 * rootfs.diff_ids, in order and as many. Nothing is recorded before. */
static int check_archive_image(const char *path, struct fb_store *s, const char *cfgname, const struct member *cm,
			       const struct fb_strv *lnames, const struct member *const *lms, struct fb_err *err)
{
	char hex[65];
	if (hex_named(cfgname, ".json", hex) && strcmp(cm->digest + 7, hex))
		return fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
				  "%s: the config %s: digest mismatch: its bytes hash to %s", path, cfgname, cm->digest);
	struct fb_oci_config cfg;
	struct fb_buf cb = FB_BUF_INIT;
	int r = fb_store_read_blob(s, cm->digest, &cb, err);
	if (r == 0 && (r = fb_oci_config_decode(fb_buf_str(&cb), cb.len, &cfg, err)) < 0)
		fb_err_prefix(err, "blob %s", cm->digest);
	fb_buf_free(&cb);
	if (r < 0) {
		fb_err_prefix(err, "%s: the config %s", path, cfgname);
		return -1;
	}
	const struct fb_oci_strv *ids = &cfg.diff_ids;
	int ret = 0;
	if (!ids->set) {
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: the config %s has no rootfs.diff_ids list", path, cfgname);
		goto out;
	}
	size_t nids = ids->v.n;
	if (nids != lnames->n) {
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid",
				 "%s: manifest.json names %zu layers but the config's rootfs.diff_ids has %zu", path, lnames->n,
				 nids);
		goto out;
	}
	for (size_t i = 0; i < nids && ret == 0; i++) {
		const struct member *lm = lms[i];
		if ((hex_named(lnames->v[i], ".tar", hex) || hex_named(lnames->v[i], "", hex)) && strcmp(lm->digest + 7, hex)) {
			ret = fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
					 "%s: layer %s: digest mismatch: its bytes hash to %s", path, lnames->v[i], lm->digest);
			break;
		}
		const char *want = ids->v.v[i];
		if (!fb_digest_valid(want)) {
			ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: the config's rootfs.diff_ids[%zu] is not a sha256 digest",
					 path, i);
			break;
		}
		/* an uncompressed layer's digest is its diff id already */
		char got[72];
		char *bp = fb_store_blob_path(s, lm->digest);
		unsigned char magic[4] = { 0 };
		int fd = open(bp, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, magic, sizeof(magic)) < 0)
				magic[0] = 0;
			close(fd);
		}
		bool compressed = (magic[0] == 0x1f && magic[1] == 0x8b) || (magic[0] == 0x28 && magic[1] == 0xb5) ||
				  (magic[0] == 0xfd && magic[1] == '7') || (magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h');
		if (!compressed)
			memcpy(got, lm->digest, sizeof(got));
		else if (fb_unpack_diff_id(bp, got, err) < 0)
			ret = -1, fb_err_prefix(err, "%s: layer %s", path, lnames->v[i]);
		free(bp);
		if (ret == 0 && strcmp(got, want))
			ret = fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
					 "%s: layer %s: diff id mismatch: its uncompressed bytes hash to %s, the config's rootfs.diff_ids[%zu] is %s",
					 path, lnames->v[i], got, i, want);
	}
out:
	fb_oci_config_free(&cfg);
	return ret;
}

static int fetch_archive(const struct fb_image_opts *o, const struct fb_ref *ref, struct fb_store *s, struct fb_image *out,
			 struct fb_err *err)
{
	struct member *ms = NULL;
	size_t n = 0;
	struct fb_buf manifest = FB_BUF_INIT, index = FB_BUF_INIT;
	struct fb_docker_archive da = { 0 };
	const struct member **lms = NULL;
	int ret = -1;
	if (read_archive(ref->path, s, &ms, &n, &manifest, &index, err) < 0)
		goto out;
	struct dir_ctx c = { NULL, s };
	if (index.len && (ref->transport == FB_REF_OCI_ARCHIVE || !manifest.len)) {
		/* an OCI layout (oci-archive, or docker save from Docker 25+) */
		ret = from_layout_index(&c, store_get, &index, ref, o, s, out, err);
		if (ret < 0 && err->kind[0] && !strcmp(err->kind, "json"))
			fb_err_prefix(err, "%s: index.json", ref->path);
		goto out;
	}
	if (!manifest.len) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: neither manifest.json nor index.json: not a docker save archive",
			   ref->path);
		goto out;
	}
	if (fb_docker_archive_decode(fb_buf_str(&manifest), manifest.len, &da, err) < 0) {
		fb_err_prefix(err, "%s", ref->path);
		goto out;
	}
	size_t pick = 0;
	if (ref->tag) {
		bool found = false;
		for (size_t i = 0; i < da.n && !found; i++)
			for (size_t k = 0; k < da.images[i].repo_tags.n && !found; k++)
				if (same_image_name(da.images[i].repo_tags.v[k], ref->tag)) {
					pick = i;
					found = true;
				}
		if (!found) {
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: no image tagged %s", ref->path, ref->tag);
			goto out;
		}
	}
	const struct fb_docker_manifest *e = &da.images[pick];
	if (e->error) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: manifest.json: %s", ref->path, e->error);
		goto out;
	}
	const struct member *cm = member_named(ms, n, e->config);
	if (!cm) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: the config %s is not in the archive", ref->path, e->config);
		goto out;
	}
	lms = fb_xcalloc(e->layers.n + 1, sizeof(*lms));
	for (size_t i = 0; i < e->layers.n; i++)
		if (!(lms[i] = member_named(ms, n, e->layers.v[i]))) {
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: the layer %s is not in the archive", ref->path, e->layers.v[i]);
			goto out;
		}
	if (check_archive_image(ref->path, s, e->config, cm, &e->layers, lms, err) < 0)
		goto out;
	/* Synthesize the OCI manifest the archive does not have. */
	struct fb_oci_manifest m = { .media_type = FB_MT_OCI_MANIFEST };
	m.config = (struct fb_oci_desc){ .media_type = FB_MT_OCI_CONFIG, .digest = (char *)cm->digest, .size = (int64_t)cm->size };
	m.layers = fb_xcalloc(e->layers.n + 1, sizeof(*m.layers));
	m.nlayers = e->layers.n;
	for (size_t i = 0; i < e->layers.n; i++) {
		const struct member *lm = lms[i];
		char *bp = fb_store_blob_path(s, lm->digest);
		unsigned char magic[2] = { 0 };
		int fd = open(bp, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, magic, 2) != 2)
				magic[0] = 0;
			close(fd);
		}
		free(bp);
		m.layers[i] = (struct fb_oci_desc){ .media_type = magic[0] == 0x1f && magic[1] == 0x8b ? FB_MT_OCI_LAYER_GZ : FB_MT_OCI_LAYER,
						    .digest = (char *)lm->digest, .size = (int64_t)lm->size };
	}
	char *text = fb_oci_manifest_encode(&m);
	char md[72];
	if (fb_store_put_mem(s, text, strlen(text), md, err) == 0)
		ret = finish_image(s, ref, &m, md, FB_MT_OCI_MANIFEST, strlen(text), out, err);
	free(text);
	free(m.layers); /* its strings are borrowed */
out:
	free(lms);
	fb_docker_archive_free(&da);
	for (size_t i = 0; i < n; i++)
		free(ms[i].name);
	free(ms);
	fb_buf_free(&manifest);
	fb_buf_free(&index);
	return ret;
}

int fb_image_fetch(const struct fb_image_opts *o, const char *refstr, struct fb_store *s, struct fb_image *out,
		   struct fb_err *err)
{
	struct fb_ref ref;
	if (fb_ref_parse(refstr, &ref, err) < 0)
		return -1;
	fb_log_fields(FB_LOG_INFO, "fetching", "ref", ref.canonical, (char *)NULL);
	int r;
	switch (ref.transport) {
	case FB_REF_REGISTRY:
		r = fetch_registry(o, &ref, s, out, err);
		break;
	case FB_REF_OCI:
		r = fetch_oci_dir(o, &ref, s, out, err);
		break;
	default:
		r = fetch_archive(o, &ref, s, out, err);
		break;
	}
	fb_ref_free(&ref);
	return r;
}


/* ---- docker import ---- */

static const char *layer_media_type(const char *path)
{
	unsigned char magic[4] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, magic, sizeof(magic)) < 0)
			magic[0] = 0; /* empty or unreadable: a plain (empty) tar */
		close(fd);
	}
	return magic[0] == 0x1f && magic[1] == 0x8b ? FB_MT_OCI_LAYER_GZ
	       : magic[0] == 0x28 && magic[1] == 0xb5 ? FB_MT_OCI_LAYER_ZST
						     : FB_MT_OCI_LAYER;
}

int fb_image_import(struct fb_store *s, char *const *layers, size_t n, struct fb_image *out, struct fb_err *err)
{
	const char *plat = fb_host_platform();
	const char *arch = strchr(plat, '/') + 1;
	struct fb_oci_config cfg;
	fb_oci_config_init(&cfg);
	cfg.architecture = fb_xstrndup(arch, strcspn(arch, "/"));
	cfg.os = fb_xstrdup("linux");
	cfg.has_config = true;
	cfg.has_rootfs = true;
	cfg.rootfs_type = fb_xstrdup("layers");
	cfg.diff_ids.set = true;
	struct fb_oci_manifest m = { .media_type = FB_MT_OCI_MANIFEST };
	m.layers = fb_xcalloc(n + 1, sizeof(*m.layers));
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		char d[72], id[72];
		struct stat lst;
		if (stat(layers[i], &lst) < 0) {
			ret = fb_err_errno(err, errno, "--layer %s", layers[i]);
			break;
		}
		if (fb_unpack_diff_id(layers[i], id, err) < 0) {
			fb_err_prefix(err, "--layer");
			ret = -1;
			break;
		}
		if (fb_store_put_file(s, layers[i], NULL, d, err) < 0) {
			ret = -1;
			break;
		}
		m.layers[m.nlayers++] = (struct fb_oci_desc){ .media_type = fb_xstrdup(layer_media_type(layers[i])),
							      .digest = fb_xstrdup(d), .size = (int64_t)lst.st_size };
		fb_strv_push(&cfg.diff_ids.v, id);
	}
	char cd[72], md[72];
	char *ct = ret == 0 ? fb_oci_config_encode(&cfg) : NULL;
	if (ret == 0)
		ret = fb_store_put_mem(s, ct, strlen(ct), cd, err);
	if (ret == 0) {
		m.config = (struct fb_oci_desc){ .media_type = fb_xstrdup(FB_MT_OCI_CONFIG), .digest = fb_xstrdup(cd),
						 .size = (int64_t)strlen(ct) };
		char *mt = fb_oci_manifest_encode(&m);
		ret = fb_store_put_mem(s, mt, strlen(mt), md, err);
		free(mt);
	}
	if (ret == 0) {
		memset(out, 0, sizeof(*out));
		out->ref = fb_xstrdup("import");
		out->digest = fb_xstrdup(md);
		out->media_type = fb_xstrdup(FB_MT_OCI_MANIFEST);
		out->config_digest = fb_xstrdup(cd);
		out->config = fb_xmalloc(sizeof(*out->config));
		*out->config = cfg;
		fb_oci_config_init(&cfg);
		for (size_t i = 0; i < m.nlayers; i++)
			fb_image_add_layer(out, &m.layers[i]);
		out->store = fb_xstrdup(s->root);
	}
	free(ct);
	m.media_type = NULL; /* static */
	fb_oci_manifest_free(&m);
	fb_oci_config_free(&cfg);
	return ret;
}
