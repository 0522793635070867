#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "oci.h"
#include "ref.h"
#include "store.h"
#include "unpack.h"
#include "util.h"

/* ---- the common end: a manifest whose blobs are in the store ---- */

static jv layer_descs(jv layers)
{
	jv out = jv_array();
	jv_array_foreach(layers, i, l)
	{
		jv d = jv_object();
		d = jv_object_set(d, jv_string("digest"), jv_object_get(jv_copy(l), jv_string("digest")));
		d = jv_object_set(d, jv_string("size"), jv_object_get(jv_copy(l), jv_string("size")));
		jv mt = jv_object_get(l, jv_string("mediaType"));
		d = jv_object_set(d, jv_string("mediaType"), jv_is_valid(mt) && jv_get_kind(mt) == JV_KIND_STRING ? mt : (jv_free(mt), jv_string(FB_MT_OCI_LAYER_GZ)));
		out = jv_array_append(out, d);
		(void)i;
	}
	jv_free(layers);
	return out;
}

/* Record the image in index.json and build .image. manifest is borrowed. */
static int finish_image(struct fb_store *s, const struct fb_ref *ref, jv manifest, const char *mdigest, const char *mtype,
			uint64_t msize, jv *out, struct fb_err *err)
{
	jv cdesc, layers;
	if (fb_oci_manifest_parts(manifest, &cdesc, &layers, err) < 0)
		return -1;
	char *cdigest = NULL;
	fb_json_get_str(cdesc, "digest", &cdigest, err);
	jv_free(cdesc);
	jv cfg;
	if (fb_store_read_blob(s, cdigest, &cfg, err) < 0) {
		free(cdigest);
		jv_free(layers);
		return -1;
	}
	/* every layer must be there */
	jv_array_foreach(layers, i, l)
	{
		char *d = NULL;
		fb_json_get_str(l, "digest", &d, err);
		bool ok = fb_store_has_blob(s, d);
		if (!ok)
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "layer %s is missing", d);
		free(d);
		jv_free(l);
		if (!ok) {
			free(cdigest);
			jv_free(cfg);
			jv_free(layers);
			return -1;
		}
		(void)i;
	}
	if (fb_store_index_set(s, ref->store_name, mtype, mdigest, msize, err) < 0) {
		free(cdigest);
		jv_free(cfg);
		jv_free(layers);
		return -1;
	}
	char *plat = fb_oci_platform_string(cfg);
	jv img = jv_object();
	img = jv_object_set(img, jv_string("ref"), jv_string(ref->canonical));
	img = jv_object_set(img, jv_string("name"), jv_string(ref->store_name));
	img = jv_object_set(img, jv_string("digest"), jv_string(mdigest));
	img = jv_object_set(img, jv_string("media_type"), jv_string(mtype));
	img = jv_object_set(img, jv_string("platform"), jv_string(plat));
	img = jv_object_set(img, jv_string("config_digest"), jv_string(cdigest));
	img = jv_object_set(img, jv_string("config"), cfg);
	img = jv_object_set(img, jv_string("layers"), layer_descs(layers));
	img = jv_object_set(img, jv_string("store"), jv_string(s->root));
	free(plat);
	free(cdigest);
	*out = img;
	return 0;
}

/* Follow an index to the platform's manifest; `get` reads a blob's bytes. */
typedef int (*blob_get_fn)(void *ctx, const char *digest, struct fb_buf *out, struct fb_err *err);

static int resolve(void *ctx, blob_get_fn get, struct fb_store *s, const struct fb_ref *ref, jv first, const char *first_digest,
		   const char *first_mt, uint64_t first_size, const char *platform, jv *out, struct fb_err *err)
{
	jv doc = first;
	char *digest = fb_xstrdup(first_digest), *mt = fb_xstrdup(first_mt);
	uint64_t size = first_size;
	int ret = -1;
	for (int depth = 0; depth < 4; depth++) {
		if (!*mt) {
			free(mt);
			mt = fb_oci_media_type_of(doc);
		}
		if (fb_oci_is_manifest(mt)) {
			ret = finish_image(s, ref, doc, digest, mt, size, out, err);
			goto done;
		}
		if (!fb_oci_is_index(mt)) {
			fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s: unsupported manifest type \"%s\"", ref->canonical, mt);
			goto done;
		}
		jv desc;
		if (fb_oci_pick_platform(doc, platform, &desc, err) < 0) {
			fb_err_prefix(err, "%s", ref->canonical);
			goto done;
		}
		char *d = NULL, *m = NULL;
		long long sz = 0;
		fb_json_get_str(desc, "digest", &d, err);
		fb_json_get_str_opt(desc, "mediaType", &m, err);
		fb_json_get_int_opt(desc, "size", &sz, err);
		jv_free(desc);
		struct fb_buf b = FB_BUF_INIT;
		int r = d && fb_digest_valid(d) ? get(ctx, d, &b, err)
					       : fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "bad digest in the index");
		jv next = jv_invalid();
		if (r == 0)
			r = fb_json_parse(fb_buf_str(&b), b.len, &next, err);
		fb_buf_free(&b);
		if (r < 0) {
			free(d);
			free(m);
			goto done;
		}
		jv_free(doc);
		doc = next;
		free(digest);
		free(mt);
		digest = d;
		mt = m ? m : fb_xstrdup("");
		size = (uint64_t)sz;
	}
	fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s: indexes nested too deep", ref->canonical);
done:
	jv_free(doc);
	free(digest);
	free(mt);
	return ret;
}

/* ---- registry ---- */

static int fetch_registry(const struct fb_image_opts *o, const struct fb_ref *ref, struct fb_store *s, jv *out,
			  struct fb_err *err)
{
	struct fb_registry *r;
	if (fb_registry_open(ref, &o->reg, &r, err) < 0) {
		fb_err_prefix(err, "%s", ref->canonical);
		return -1;
	}
	struct fb_buf body = FB_BUF_INIT;
	char *mt = NULL, digest[72];
	jv doc = jv_invalid();
	int ret = -1;
	if (fb_registry_manifest(r, ref->digest ? ref->digest : ref->tag, &body, &mt, digest, err) < 0 ||
	    fb_store_put_mem(s, body.data ? body.data : "", body.len, NULL, err) < 0 ||
	    fb_json_parse(fb_buf_str(&body), body.len, &doc, err) < 0)
		goto out;
	/* After an index, the chosen manifest names the config and layers;
	 * they are downloaded before finish_image checks they are there. */
	jv img;
	char *cur_digest = fb_xstrdup(digest), *cur_mt = fb_xstrdup(mt ? mt : "");
	jv cur = jv_copy(doc);
	uint64_t cur_size = body.len;
	if (fb_oci_is_index(*cur_mt ? cur_mt : "") || (!*cur_mt && jv_object_has(jv_copy(cur), jv_string("manifests")))) {
		jv desc;
		if (fb_oci_pick_platform(cur, o->platform, &desc, err) < 0) {
			fb_err_prefix(err, "%s", ref->canonical);
			jv_free(cur);
			free(cur_digest);
			free(cur_mt);
			goto out;
		}
		char *d = NULL;
		fb_json_get_str(desc, "digest", &d, err);
		jv_free(desc);
		struct fb_buf b2 = FB_BUF_INIT;
		char *mt2 = NULL, dg2[72];
		int rr = d ? fb_registry_manifest(r, d, &b2, &mt2, dg2, err) : -1;
		if (rr == 0)
			rr = fb_store_put_mem(s, b2.data ? b2.data : "", b2.len, NULL, err);
		jv_free(cur);
		cur = jv_invalid();
		if (rr == 0)
			rr = fb_json_parse(fb_buf_str(&b2), b2.len, &cur, err);
		free(cur_digest);
		free(cur_mt);
		cur_digest = fb_xstrdup(dg2);
		cur_mt = mt2 ? mt2 : fb_xstrdup("");
		cur_size = b2.len;
		fb_buf_free(&b2);
		free(d);
		if (rr < 0) {
			free(cur_digest);
			free(cur_mt);
			goto out;
		}
	}
	jv cdesc, layers;
	if (fb_oci_manifest_parts(cur, &cdesc, &layers, err) < 0) {
		jv_free(cur);
		free(cur_digest);
		free(cur_mt);
		goto out;
	}
	int nl = jv_array_length(jv_copy(layers));
	struct fb_blob_req *reqs = fb_xcalloc((size_t)nl + 1, sizeof(*reqs));
	char **digests = fb_xcalloc((size_t)nl + 1, sizeof(char *));
	long long sz = 0;
	fb_json_get_str(cdesc, "digest", &digests[0], err);
	fb_json_get_int_opt(cdesc, "size", &sz, err);
	reqs[0] = (struct fb_blob_req){ digests[0], (uint64_t)sz, "config" };
	jv_array_foreach(layers, i, l)
	{
		fb_json_get_str(l, "digest", &digests[i + 1], err);
		sz = 0;
		fb_json_get_int_opt(l, "size", &sz, err);
		reqs[i + 1] = (struct fb_blob_req){ digests[i + 1], (uint64_t)sz, "layer" };
		jv_free(l);
	}
	jv_free(cdesc);
	jv_free(layers);
	int rb = fb_registry_blobs(r, s, reqs, (size_t)nl + 1, err);
	for (int i = 0; i <= nl; i++)
		free(digests[i]);
	free(digests);
	free(reqs);
	if (rb == 0) {
		if (*cur_mt == '\0') {
			free(cur_mt);
			cur_mt = fb_oci_media_type_of(cur);
		}
		rb = finish_image(s, ref, cur, cur_digest, cur_mt, cur_size, &img, err);
	}
	jv_free(cur);
	free(cur_digest);
	free(cur_mt);
	if (rb < 0)
		goto out;
	*out = img;
	ret = 0;
out:
	if (jv_is_valid(doc))
		jv_free(doc);
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

static int dir_get(void *ctx, const char *digest, struct fb_buf *out, struct fb_err *err)
{
	struct dir_ctx *c = ctx;
	char *p = fb_xasprintf("%s/blobs/sha256/%s", c->dir, fb_digest_hex(digest));
	int r = fb_store_put_file(c->s, p, digest, NULL, err);
	free(p);
	if (r < 0)
		return -1;
	char *sp = fb_store_blob_path(c->s, digest);
	r = fb_read_file(sp, out, err);
	free(sp);
	return r;
}

static int store_get(void *ctx, const char *digest, struct fb_buf *out, struct fb_err *err)
{
	struct dir_ctx *c = ctx;
	char *sp = fb_store_blob_path(c->s, digest);
	int r = fb_read_file(sp, out, err);
	free(sp);
	if (r < 0)
		fb_err_prefix(err, "blob %s is not in the archive", digest);
	return r;
}

/* Pick index.json's entry for tag (or the only one), resolve it, copy the
 * config and layers with get_copy. */
static int from_layout_index(void *ctx, blob_get_fn get, jv index, const struct fb_ref *ref, const struct fb_image_opts *o,
			     struct fb_store *s, jv *out, struct fb_err *err)
{
	jv ms = jv_object_get(jv_copy(index), jv_string("manifests"));
	if (jv_get_kind(ms) != JV_KIND_ARRAY) {
		jv_free(ms);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: index.json has no manifests", ref->canonical);
	}
	int pick = -1, n = jv_array_length(jv_copy(ms));
	struct fb_buf names = FB_BUF_INIT;
	jv_array_foreach(ms, i, m)
	{
		jv name = jv_getpath(jv_copy(m), jv_parse("[\"annotations\",\"org.opencontainers.image.ref.name\"]"));
		const char *nm = jv_get_kind(name) == JV_KIND_STRING ? jv_string_value(name) : NULL;
		if (nm)
			fb_buf_addf(&names, "%s%s", names.len ? ", " : "", nm);
		if (ref->tag && nm && !strcmp(nm, ref->tag))
			pick = i;
		jv_free(name);
		jv_free(m);
	}
	if (!ref->tag && n == 1)
		pick = 0;
	int ret = -1;
	if (pick < 0) {
		if (ref->tag)
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: no image tagged \"%s\" (there are: %s)", ref->canonical,
				   ref->tag, names.len ? fb_buf_str(&names) : "none");
		else
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s holds %d images: name one (%s)", ref->canonical, n,
				   names.len ? fb_buf_str(&names) : "untagged");
		goto out;
	}
	jv desc = jv_array_get(jv_copy(ms), pick);
	char *d = NULL, *mt = NULL;
	long long sz = 0;
	fb_json_get_str(desc, "digest", &d, err);
	fb_json_get_str_opt(desc, "mediaType", &mt, err);
	fb_json_get_int_opt(desc, "size", &sz, err);
	jv_free(desc);
	struct fb_buf b = FB_BUF_INIT;
	jv doc;
	if (d && fb_digest_valid(d) && get(ctx, d, &b, err) == 0 && fb_json_parse(fb_buf_str(&b), b.len, &doc, err) == 0) {
		/* copy config and layers of the manifest the platform picks */
		ret = resolve(ctx, get, s, ref, doc, d, mt ? mt : "", (uint64_t)sz, o->platform, out, err);
	} else if (d && !fb_digest_valid(d)) {
		fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s: bad digest %s", ref->canonical, d);
	}
	fb_buf_free(&b);
	free(d);
	free(mt);
out:
	jv_free(ms);
	fb_buf_free(&names);
	return ret;
}

/* For a directory layout the config and layers are copied before
 * finish_image looks for them: walk the chosen manifest first. */
static int copy_manifest_blobs(struct dir_ctx *c, jv manifest, struct fb_err *err)
{
	jv cdesc, layers;
	if (fb_oci_manifest_parts(manifest, &cdesc, &layers, err) < 0)
		return -1;
	int r = 0;
	char *d = NULL;
	fb_json_get_str(cdesc, "digest", &d, err);
	struct fb_buf tmp = FB_BUF_INIT;
	r = dir_get(c, d, &tmp, err);
	fb_buf_free(&tmp);
	free(d);
	jv_free(cdesc);
	jv_array_foreach(layers, i, l)
	{
		char *ld = NULL;
		fb_json_get_str(l, "digest", &ld, err);
		jv_free(l);
		if (r == 0) {
			char *p = fb_xasprintf("%s/blobs/sha256/%s", c->dir, fb_digest_hex(ld));
			r = fb_store_put_file(c->s, p, ld, NULL, err);
			free(p);
		}
		free(ld);
		(void)i;
	}
	jv_free(layers);
	return r;
}

/* dir_get copies manifests; layers are copied when a manifest is read. */
static int dir_get_all(void *ctx, const char *digest, struct fb_buf *out, struct fb_err *err)
{
	if (dir_get(ctx, digest, out, err) < 0)
		return -1;
	jv doc;
	struct fb_err ignore = { 0 };
	if (fb_json_parse(fb_buf_str(out), out->len, &doc, &ignore) == 0) {
		char *mt = fb_oci_media_type_of(doc);
		int r = fb_oci_is_manifest(mt) ? copy_manifest_blobs(ctx, doc, err) : 0;
		free(mt);
		jv_free(doc);
		return r;
	}
	return 0;
}

static int fetch_oci_dir(const struct fb_image_opts *o, const struct fb_ref *ref, struct fb_store *s, jv *out,
			 struct fb_err *err)
{
	char *ip = fb_xasprintf("%s/index.json", ref->path);
	struct fb_buf b = FB_BUF_INIT;
	jv index;
	int r = fb_read_file(ip, &b, err);
	if (r == 0 && (r = fb_json_parse(fb_buf_str(&b), b.len, &index, err)) < 0)
		fb_err_prefix(err, "%s", ip);
	free(ip);
	fb_buf_free(&b);
	if (r < 0)
		return -1;
	struct dir_ctx c = { ref->path, s };
	r = from_layout_index(&c, dir_get_all, index, ref, o, s, out, err);
	jv_free(index);
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
	jv cfg;
	if (fb_store_read_blob(s, cm->digest, &cfg, err) < 0) {
		fb_err_prefix(err, "%s: the config %s", path, cfgname);
		return -1;
	}
	jv ids = jv_getpath(cfg, jv_parse("[\"rootfs\",\"diff_ids\"]"));
	int ret = 0;
	if (jv_get_kind(ids) != JV_KIND_ARRAY) {
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: the config %s has no rootfs.diff_ids list", path, cfgname);
		goto out;
	}
	size_t nids = (size_t)jv_array_length(jv_copy(ids));
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
		jv want = jv_array_get(jv_copy(ids), (int)i);
		if (jv_get_kind(want) != JV_KIND_STRING || !fb_digest_valid(jv_string_value(want))) {
			ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: the config's rootfs.diff_ids[%zu] is not a sha256 digest",
					 path, i);
			jv_free(want);
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
		if (ret == 0 && strcmp(got, jv_string_value(want)))
			ret = fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
					 "%s: layer %s: diff id mismatch: its uncompressed bytes hash to %s, the config's rootfs.diff_ids[%zu] is %s",
					 path, lnames->v[i], got, i, jv_string_value(want));
		jv_free(want);
	}
out:
	jv_free(ids);
	return ret;
}

static int fetch_archive(const struct fb_image_opts *o, const struct fb_ref *ref, struct fb_store *s, jv *out,
			 struct fb_err *err)
{
	struct member *ms = NULL;
	size_t n = 0;
	struct fb_buf manifest = FB_BUF_INIT, index = FB_BUF_INIT;
	int ret = -1;
	jv mj = jv_invalid();
	if (read_archive(ref->path, s, &ms, &n, &manifest, &index, err) < 0)
		goto out;
	struct dir_ctx c = { NULL, s };
	if (index.len && (ref->transport == FB_REF_OCI_ARCHIVE || !manifest.len)) {
		/* an OCI layout (oci-archive, or docker save from Docker 25+) */
		jv idx;
		if (fb_json_parse(fb_buf_str(&index), index.len, &idx, err) < 0) {
			fb_err_prefix(err, "%s: index.json", ref->path);
			goto out;
		}
		ret = from_layout_index(&c, store_get, idx, ref, o, s, out, err);
		jv_free(idx);
		goto out;
	}
	if (!manifest.len) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: neither manifest.json nor index.json: not a docker save archive",
			   ref->path);
		goto out;
	}
	if (fb_json_parse(fb_buf_str(&manifest), manifest.len, &mj, err) < 0 || jv_get_kind(mj) != JV_KIND_ARRAY ||
	    jv_array_length(jv_copy(mj)) == 0) {
		if (!err->msg[0] || jv_is_valid(mj))
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: manifest.json is not a list of images", ref->path);
		else
			fb_err_prefix(err, "%s: manifest.json", ref->path);
		goto out;
	}
	int pick = 0;
	if (ref->tag) {
		pick = -1;
		jv_array_foreach(mj, i, e)
		{
			jv tags = jv_object_get(e, jv_string("RepoTags"));
			if (jv_get_kind(tags) == JV_KIND_ARRAY)
				jv_array_foreach(tags, k, t)
				{
					if (pick < 0 && jv_get_kind(t) == JV_KIND_STRING && same_image_name(jv_string_value(t), ref->tag))
						pick = i;
					jv_free(t);
					(void)k;
				}
			jv_free(tags);
		}
		if (pick < 0) {
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: no image tagged %s", ref->path, ref->tag);
			goto out;
		}
	}
	jv e = jv_array_get(jv_copy(mj), pick);
	char *cfgname = NULL;
	struct fb_strv lnames = FB_STRV_INIT;
	if (fb_json_get_str(e, "Config", &cfgname, err) < 0 || fb_json_get_strv_opt(e, "Layers", &lnames, err) < 0) {
		jv_free(e);
		free(cfgname);
		fb_strv_free(&lnames);
		fb_err_prefix(err, "%s: manifest.json", ref->path);
		goto out;
	}
	jv_free(e);
	const struct member *cm = member_named(ms, n, cfgname);
	if (!cm) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: the config %s is not in the archive", ref->path, cfgname);
		free(cfgname);
		fb_strv_free(&lnames);
		goto out;
	}
	const struct member **lms = fb_xcalloc(lnames.n + 1, sizeof(*lms));
	int lr = 0;
	for (size_t i = 0; i < lnames.n && lr == 0; i++)
		if (!(lms[i] = member_named(ms, n, lnames.v[i])))
			lr = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: the layer %s is not in the archive", ref->path,
					lnames.v[i]);
	if (lr < 0 || check_archive_image(ref->path, s, cfgname, cm, &lnames, lms, err) < 0) {
		free(lms);
		free(cfgname);
		fb_strv_free(&lnames);
		goto out;
	}
	/* Synthesize the OCI manifest the archive does not have. */
	jv m = jv_object();
	m = jv_object_set(m, jv_string("schemaVersion"), jv_number(2));
	m = jv_object_set(m, jv_string("mediaType"), jv_string(FB_MT_OCI_MANIFEST));
	jv cd = jv_object();
	cd = jv_object_set(cd, jv_string("mediaType"), jv_string(FB_MT_OCI_CONFIG));
	cd = jv_object_set(cd, jv_string("digest"), jv_string(cm->digest));
	cd = jv_object_set(cd, jv_string("size"), jv_number((double)cm->size));
	m = jv_object_set(m, jv_string("config"), cd);
	jv ls = jv_array();
	for (size_t i = 0; i < lnames.n; i++) {
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
		jv ld = jv_object();
		ld = jv_object_set(ld, jv_string("mediaType"),
				   jv_string(magic[0] == 0x1f && magic[1] == 0x8b ? FB_MT_OCI_LAYER_GZ : FB_MT_OCI_LAYER));
		ld = jv_object_set(ld, jv_string("digest"), jv_string(lm->digest));
		ld = jv_object_set(ld, jv_string("size"), jv_number((double)lm->size));
		ls = jv_array_append(ls, ld);
	}
	free(lms);
	free(cfgname);
	fb_strv_free(&lnames);
	m = jv_object_set(m, jv_string("layers"), ls);
	char *text = fb_json_dump(jv_copy(m), false);
	char md[72];
	if (fb_store_put_mem(s, text, strlen(text), md, err) == 0)
		ret = finish_image(s, ref, m, md, FB_MT_OCI_MANIFEST, strlen(text), out, err);
	free(text);
	jv_free(m);
out:
	if (jv_is_valid(mj))
		jv_free(mj);
	for (size_t i = 0; i < n; i++)
		free(ms[i].name);
	free(ms);
	fb_buf_free(&manifest);
	fb_buf_free(&index);
	return ret;
}

int fb_image_fetch(const struct fb_image_opts *o, const char *refstr, struct fb_store *s, jv *out, struct fb_err *err)
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

