/* A push, as the distribution spec describes it (push.h): per blob HEAD,
 * then the rest of an interrupted upload, a cross-repository mount, or an
 * upload (POST, then one PUT, or PATCHes and a PUT); then the manifest.
 * The registry client (registry.c) does the HTTP and the credentials. */
#include "push.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "progress.h"
#include "ref.h"
#include "registry.h"
#include "store.h"
#include "store_index.h"
#include "util.h"

/* Mount attempts per blob: each costs a request (and maybe a token). */
#define MAX_MOUNT_TRIES 3

struct pusher {
	const struct fb_push_opts *o;
	struct fb_store *s;
	struct fb_registry *r;
	const struct fb_ref *ref;
	uint64_t chunk;
	struct fb_progress *pg;
	/* where the store's pulled images say blobs are on this registry */
	struct fb_strv seen_blob, seen_repo;
	char *known_dir;   /* <state>/known/<registry's hash>/<blob hex>: repositories */
	char *uploads_dir; /* <state>/uploads/<hash>.json: uploads in progress */
	uint64_t bytes;
};

static const char octet[] = "Content-Type: application/octet-stream";

/* A query value: unreserved characters as they are, the rest %XX. */
static char *qescape(const char *s)
{
	struct fb_buf b = FB_BUF_INIT;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~", *c))
			fb_buf_addc(&b, (char)*c);
		else
			fb_buf_addf(&b, "%%%02X", *c);
	}
	return fb_buf_steal(&b);
}

/* url with ?key=value (or &key=value) added */
static char *with_query(const char *url, const char *key, const char *value)
{
	FB_AUTOFREE char *v = qescape(value);
	return fb_xasprintf("%s%s%s=%s", url, strchr(url, '?') ? "&" : "?", key, v);
}

/* A repository name as the distribution spec allows it (records are files
 * anyone with the run cache could have written: checked before use). */
static bool repo_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 255 || s[0] == '/' || s[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("._-/", s[i])))
			return false;
	return !strstr(s, "//") && !strstr(s, "..");
}

static int http_fail(const struct pusher *p, const struct fb_registry_resp *rs, const char *what, struct fb_err *err)
{
	FB_AUTOFREE char *why = fb_push_registry_errors(rs->body.data, rs->body.len);
	bool denied = rs->code == 401 || rs->code == 403;
	return fb_err_set(err, FB_EXIT_FAILED, denied ? "auth" : "registry", "%s/%s: %s: HTTP %ld%s%s%s%s",
			  p->ref->registry, p->ref->repository, what, rs->code, why ? " (" : "", why ? why : "", why ? ")" : "",
			  denied ? ": pushing needs credentials with push access (--creds, ~/.docker/config.json)" : "");
}

/* One request whose answer is looked at by the caller. */
static int reg_send(struct pusher *p, const char *method, const char *path, const char *url, const char *const *headers,
		const struct fb_registry_body *body, const void *data, size_t data_len, struct fb_registry_resp *rs,
		struct fb_err *err)
{
	struct fb_registry_req q = { method, path, url, headers, data, data_len, body };
	int r = fb_registry_request(p->r, &q, rs, err);
	if (r < 0)
		fb_err_prefix(err, "%s/%s", p->ref->registry, p->ref->repository);
	return r;
}

/* The registry's Location header as a URL; NULL when there is none. */
static char *location(struct pusher *p, const struct fb_registry_resp *rs)
{
	FB_AUTOFREE char *l = fb_registry_resp_header(rs, "Location");
	return l && *l ? fb_registry_url(p->r, l) : NULL;
}

/* An upload given up: the registry may drop what it holds at once. */
static void cancel(struct pusher *p, const char *loc)
{
	struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	struct fb_err ignore = { 0 };
	if (reg_send(p, "DELETE", NULL, loc, NULL, NULL, NULL, 0, &rs, &ignore) < 0)
		fb_log(FB_LOG_DEBUG, "cancelling an upload: %s", ignore.msg);
	fb_registry_resp_free(&rs);
}

/* ---- reading a blob of the store ---- */

struct reader {
	int fd;
	uint64_t start, len, at; /* the range a request sends, and how far it got */
	struct pusher *p;
	size_t item;
	const char *digest;
	struct fb_err err;
};

static ssize_t reader_read(void *ctx, char *buf, size_t n)
{
	struct reader *rd = ctx;
	if (n > rd->len - rd->at)
		n = (size_t)(rd->len - rd->at);
	if (!n)
		return 0;
	ssize_t got;
	do
		got = pread(rd->fd, buf, n, (off_t)(rd->start + rd->at));
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		fb_err_errno(&rd->err, errno, "blob %s: read", rd->digest);
		return -1;
	}
	if (got == 0) {
		fb_err_set(&rd->err, FB_EXIT_FAILED, "io", "blob %s: shorter in the store than the manifest says", rd->digest);
		return -1;
	}
	rd->at += (uint64_t)got;
	fb_progress_update(rd->p->pg, rd->item, rd->start + rd->at);
	return got;
}

static int reader_rewind(void *ctx)
{
	struct reader *rd = ctx;
	rd->at = 0;
	return 0;
}

/* The store's blob, checked against the manifest: its size and its digest
 * (a damaged store must not become a damaged registry). */
static int open_blob(struct pusher *p, const struct fb_push_desc *d, int *fd, struct fb_err *err)
{
	FB_AUTOFREE char *path = fb_store_blob_path(p->s, d->digest);
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return fb_err_errno(err, errno, "blob %s: open %s", d->digest, path);
	struct stat st;
	if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != d->size) {
		close(f);
		return fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
				  "blob %s: the store's file is %jd bytes, the manifest says %" PRIu64
				  ": the store is damaged (remove it, then pull or build the image again)",
				  d->digest, (intmax_t)st.st_size, d->size);
	}
	struct fb_sha256 h;
	fb_sha256_init(&h);
	char *buf = fb_xmalloc(1 << 20);
	ssize_t got;
	uint64_t at = 0;
	while ((got = pread(f, buf, 1 << 20, (off_t)at)) > 0 || (got < 0 && errno == EINTR)) {
		if (got > 0) {
			fb_sha256_update(&h, buf, (size_t)got);
			at += (uint64_t)got;
		}
	}
	free(buf);
	char dg[72];
	fb_sha256_final(&h, dg);
	if (got < 0) {
		int e = errno;
		close(f);
		return fb_err_errno(err, e, "blob %s: read", d->digest);
	}
	if (strcmp(dg, d->digest)) {
		close(f);
		return fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
				  "blob %s: the store's file hashes to %s: the store is damaged (remove it, then pull or "
				  "build the image again)",
				  d->digest, dg);
	}
	*fd = f;
	return 0;
}

/* ---- records: where blobs are, uploads in progress ---- */

static char *hash_hex16(const char *s)
{
	char d[72];
	fb_sha256_mem(s, strlen(s), d);
	return fb_xstrndup(fb_digest_hex(d), 16);
}

/* Repositories of this registry that had the blob, most recent first. */
static void known_repos(struct pusher *p, const char *digest, struct fb_strv *out)
{
	if (!p->known_dir)
		return;
	FB_AUTOFREE char *f = fb_xasprintf("%s/%s", p->known_dir, fb_digest_hex(digest));
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err ignore = { 0 };
	if (fb_read_file(f, &b, &ignore) == 0 && b.len < (1u << 20)) {
		struct fb_strv lines = FB_STRV_INIT;
		char *save = NULL;
		for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (repo_name_ok(l))
				fb_strv_push(&lines, l);
		for (size_t i = lines.n; i-- > 0;)
			fb_strv_push(out, lines.v[i]);
		fb_strv_free(&lines);
	}
	fb_buf_free(&b);
}

/* The blob is in the target repository now: remember it for mounts. */
static void remember(struct pusher *p, const char *digest)
{
	if (!p->known_dir)
		return;
	struct fb_strv have = FB_STRV_INIT;
	known_repos(p, digest, &have);
	bool there = false;
	for (size_t i = 0; i < have.n && !there; i++)
		there = !strcmp(have.v[i], p->ref->repository);
	fb_strv_free(&have);
	struct fb_err e = { 0 };
	if (there || fb_mkdir_p(p->known_dir, 0700, &e) < 0)
		return;
	FB_AUTOFREE char *f = fb_xasprintf("%s/%s", p->known_dir, fb_digest_hex(digest));
	FB_AUTOFREE char *line = fb_xasprintf("%s\n", p->ref->repository);
	/* one short append: concurrent pushes add whole lines */
	int fd = open(f, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		if (write(fd, line, strlen(line)) < 0)
			fb_log(FB_LOG_DEBUG, "%s: %s", f, strerror(errno));
		close(fd);
	}
}

/* The images the store pulled from this registry: their blobs can be
 * mounted from their repositories. Best effort: the store's index is
 * read as found. */
static void load_pulled(struct pusher *p)
{
	struct fb_buf text = FB_BUF_INIT;
	struct fb_strv names = FB_STRV_INIT, digests = FB_STRV_INIT;
	struct fb_err ignore = { 0 };
	if (fb_store_index_read(p->s, &text, &ignore) < 0 || !text.len ||
	    fb_push_index_decode(fb_buf_str(&text), text.len, &names, &digests, &ignore) < 0)
		goto out;
	for (size_t i = 0; i < names.n; i++) {
		struct fb_ref r;
		if (fb_ref_parse(names.v[i], &r, &ignore) < 0)
			continue;
		if (r.transport == FB_REF_REGISTRY && !strcmp(r.registry, p->ref->registry) &&
		    strcmp(r.repository, p->ref->repository)) {
			FB_AUTOFREE char *path = fb_store_blob_path(p->s, digests.v[i]);
			struct fb_buf mb = FB_BUF_INIT;
			struct fb_push_manifest m;
			if (fb_read_file(path, &mb, &ignore) == 0 &&
			    fb_push_manifest_decode(fb_buf_str(&mb), mb.len, &m, &ignore) == 0) {
				for (size_t k = 0; k <= m.nlayers; k++) {
					fb_strv_push(&p->seen_blob, k < m.nlayers ? m.layers[k].digest : m.config.digest);
					fb_strv_push(&p->seen_repo, r.repository);
				}
				fb_push_manifest_free(&m);
			}
			fb_buf_free(&mb);
		}
		fb_ref_free(&r);
	}
out:
	fb_buf_free(&text);
	fb_strv_free(&names);
	fb_strv_free(&digests);
}

/* Where to try a mount from: what this host pushed there, then what it
 * pulled from there; never the target itself. */
static void mount_sources(struct pusher *p, const char *digest, struct fb_strv *out)
{
	struct fb_strv all = FB_STRV_INIT;
	known_repos(p, digest, &all);
	for (size_t i = 0; i < p->seen_blob.n; i++)
		if (!strcmp(p->seen_blob.v[i], digest))
			fb_strv_push(&all, p->seen_repo.v[i]);
	for (size_t i = 0; i < all.n && out->n < MAX_MOUNT_TRIES; i++) {
		bool dup = !strcmp(all.v[i], p->ref->repository) || !repo_name_ok(all.v[i]);
		for (size_t k = 0; k < out->n && !dup; k++)
			dup = !strcmp(out->v[k], all.v[i]);
		if (!dup)
			fb_strv_push(out, all.v[i]);
	}
	fb_strv_free(&all);
}

/* The record of an upload of one blob to one repository, locked while a
 * push uses it (another push of that blob there at the same time makes an
 * upload of its own, unrecorded). */
struct record {
	int fd;
	char *path;
	struct fb_push_upload u; /* u.location NULL: none to resume */
};

static void record_open(struct pusher *p, const struct fb_push_desc *d, struct record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->fd = -1;
	struct fb_err e = { 0 };
	if (!p->uploads_dir || fb_mkdir_p(p->uploads_dir, 0700, &e) < 0)
		return;
	FB_AUTOFREE char *key = fb_xasprintf("%s\n%s\n%s", p->ref->registry, p->ref->repository, d->digest);
	char kd[72];
	fb_sha256_mem(key, strlen(key), kd);
	rec->path = fb_xasprintf("%s/%s.json", p->uploads_dir, fb_digest_hex(kd));
	rec->fd = open(rec->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (rec->fd >= 0 && flock(rec->fd, LOCK_EX | LOCK_NB) < 0) {
		close(rec->fd);
		rec->fd = -1;
	}
	if (rec->fd < 0) {
		free(rec->path);
		rec->path = NULL;
		return;
	}
	struct fb_buf b = FB_BUF_INIT;
	struct fb_push_upload u;
	if (fb_read_fd_max(rec->fd, &b, 64 << 10, &e) == 0 && b.len &&
	    fb_push_upload_decode(fb_buf_str(&b), b.len, &u, &e) == 0) {
		/* the record must be about this very upload */
		if (!strcmp(u.registry, p->ref->registry) && !strcmp(u.repository, p->ref->repository) &&
		    !strcmp(u.digest, d->digest) && u.size == d->size)
			rec->u = u;
		else
			fb_push_upload_free(&u);
	}
	fb_buf_free(&b);
}

static void record_save(struct pusher *p, struct record *rec, const struct fb_push_desc *d, const char *loc,
			uint64_t offset)
{
	if (rec->fd < 0)
		return;
	struct fb_push_upload u = { (char *)p->ref->registry, (char *)p->ref->repository, (char *)d->digest,
				    (char *)loc, offset, d->size };
	FB_AUTOFREE char *text = fb_push_upload_encode(&u);
	size_t n = strlen(text);
	if (pwrite(rec->fd, text, n, 0) != (ssize_t)n || ftruncate(rec->fd, (off_t)n) < 0)
		fb_log(FB_LOG_WARN, "%s: %s (the upload cannot be resumed)", rec->path, strerror(errno));
}

/* done: the upload is over, for good or for bad; else it stays resumable */
static void record_close(struct record *rec, bool done)
{
	if (rec->fd >= 0) {
		if (done)
			unlink(rec->path);
		close(rec->fd);
	}
	free(rec->path);
	fb_push_upload_free(&rec->u);
	rec->fd = -1;
	rec->path = NULL;
}

/* ---- one blob ---- */

/* "0-E": E+1 bytes; "0-0" is what distribution says for none. */
static bool parse_range(const char *h, uint64_t *next)
{
	if (!h)
		return false;
	const char *dash = strchr(h, '-');
	if (!dash)
		return false;
	char *end;
	errno = 0;
	unsigned long long e = strtoull(dash + 1, &end, 10);
	if (errno || end == dash + 1 || *end)
		return false;
	*next = e ? e + 1 : 0;
	return true;
}

/* The registry's word on an upload of ours: 1 and where to go on, 0 when
 * it no longer has it. */
static int upload_status(struct pusher *p, const char *loc, uint64_t size, char **next_loc, uint64_t *offset,
			 struct fb_err *err)
{
	struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	if (reg_send(p, "GET", NULL, loc, NULL, NULL, NULL, 0, &rs, err) < 0)
		return -1;
	int found = 0;
	FB_AUTOFREE char *range = fb_registry_resp_header(&rs, "Range");
	uint64_t at = 0;
	if (rs.code == 204 && parse_range(range, &at) && at <= size) {
		char *l = location(p, &rs);
		*next_loc = l ? l : fb_xstrdup(loc);
		*offset = at;
		found = 1;
	} else {
		fb_log(FB_LOG_DEBUG, "the registry has no upload at %s (HTTP %ld)", loc, rs.code);
	}
	fb_registry_resp_free(&rs);
	return found;
}

/* Try the mounts; 1 when one worked; else *loc may hold the upload the
 * last attempt began (a registry that cannot mount starts one). */
static int try_mounts(struct pusher *p, const struct fb_push_desc *d, struct fb_push_blob *out, char **loc,
		      struct fb_err *err)
{
	struct fb_strv from = FB_STRV_INIT;
	mount_sources(p, d->digest, &from);
	int ret = 0;
	for (size_t i = 0; i < from.n && ret == 0; i++) {
		if (fb_registry_bearer(p->r)) {
			/* the token must let us read the source repository */
			FB_AUTOFREE char *scope = fb_xasprintf("repository:%s:pull", from.v[i]);
			struct fb_err e2 = { 0 };
			if (fb_registry_add_scope(p->r, scope, &e2) < 0) {
				fb_log(FB_LOG_DEBUG, "no mount from %s: %s", from.v[i], e2.msg);
				continue;
			}
		}
		FB_AUTOFREE char *q1 = with_query("blobs/uploads/", "mount", d->digest);
		FB_AUTOFREE char *path = with_query(q1, "from", from.v[i]);
		struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
		if (reg_send(p, "POST", path, NULL, NULL, NULL, NULL, 0, &rs, err) < 0) {
			ret = -1;
		} else if (rs.code == 201) {
			out->status = FB_PUSH_MOUNTED;
			out->from = fb_xstrdup(from.v[i]);
			ret = 1;
		} else if (rs.code == 202) {
			/* no mount, an upload instead: keep the last one */
			char *l = location(p, &rs);
			if (*loc)
				cancel(p, *loc);
			free(*loc);
			*loc = l;
		} else {
			fb_log(FB_LOG_DEBUG, "no mount of %s from %s: HTTP %ld", d->digest, from.v[i], rs.code);
		}
		fb_registry_resp_free(&rs);
	}
	fb_strv_free(&from);
	return ret;
}

static int start_upload(struct pusher *p, char **loc, uint64_t *chunk, struct fb_err *err)
{
	struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	int r = reg_send(p, "POST", "blobs/uploads/", NULL, NULL, NULL, NULL, 0, &rs, err);
	if (r == 0 && rs.code != 202)
		r = http_fail(p, &rs, "start an upload", err);
	if (r == 0 && !(*loc = location(p, &rs)))
		r = fb_err_set(err, FB_EXIT_FAILED, "registry", "%s/%s: the registry began an upload but gave no Location",
			       p->ref->registry, p->ref->repository);
	if (r == 0) {
		/* OCI distribution 1.1: a registry may want bigger chunks */
		FB_AUTOFREE char *min = fb_registry_resp_header(&rs, "OCI-Chunk-Min-Length");
		unsigned long long m = min ? strtoull(min, NULL, 10) : 0;
		if (m > *chunk && m < (1ull << 40))
			*chunk = m;
	}
	fb_registry_resp_free(&rs);
	return r;
}

/* Send [off, size) in chunks, then close the upload with its digest.
 * *resumable: whether a failure left an upload the next push can go on. */
static int send_chunks(struct pusher *p, struct reader *rd, struct record *rec, const struct fb_push_desc *d, char **loc,
		       uint64_t off, uint64_t chunk, struct fb_push_blob *out, bool *resumable, struct fb_err *err)
{
	int again = 0;
	while (off < d->size) {
		uint64_t n = d->size - off < chunk ? d->size - off : chunk;
		char range[64];
		snprintf(range, sizeof(range), "Content-Range: %" PRIu64 "-%" PRIu64, off, off + n - 1);
		const char *hs[] = { octet, range, NULL };
		rd->start = off;
		rd->len = n;
		rd->at = 0;
		struct fb_registry_body body = { n, reader_read, reader_rewind, rd, &rd->err };
		struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
		if (reg_send(p, "PATCH", NULL, *loc, hs, &body, NULL, 0, &rs, err) < 0) {
			/* no answer: the registry has what it had, or this chunk */
			*resumable = rd->err.msg[0] == '\0';
			fb_registry_resp_free(&rs);
			return -1;
		}
		if (rs.code == 416 && again++ < 3) {
			/* the registry is elsewhere in the upload: ask where */
			fb_registry_resp_free(&rs);
			char *next = NULL;
			uint64_t at = 0;
			int st = upload_status(p, *loc, d->size, &next, &at, err);
			if (st <= 0) {
				if (st == 0)
					fb_err_set(err, FB_EXIT_FAILED, "registry", "%s/%s: blob %s: the registry lost the upload",
						   p->ref->registry, p->ref->repository, d->digest);
				return -1;
			}
			free(*loc);
			*loc = next;
			off = at;
			continue;
		}
		if (rs.code != 202) {
			int r = http_fail(p, &rs, "upload a chunk", err);
			fb_err_prefix(err, "blob %s", d->digest);
			fb_registry_resp_free(&rs);
			return r;
		}
		char *next = location(p, &rs);
		if (next) {
			free(*loc);
			*loc = next;
		}
		FB_AUTOFREE char *got = fb_registry_resp_header(&rs, "Range");
		uint64_t at = 0;
		fb_registry_resp_free(&rs);
		if (got && parse_range(got, &at) && at != off + n) {
			/* it says it holds something else than what was sent: go
			 * on from there, a few times, never forever */
			if (at > d->size || again++ >= 3)
				return fb_err_set(err, FB_EXIT_FAILED, "registry",
						  "%s/%s: blob %s: after %" PRIu64 " bytes sent the registry says it holds %" PRIu64
						  " of %" PRIu64,
						  p->ref->registry, p->ref->repository, d->digest, off + n, at, d->size);
			off = at;
		} else {
			off += n;
		}
		p->bytes += n;
		out->chunks++;
		record_save(p, rec, d, *loc, off);
	}
	FB_AUTOFREE char *url = with_query(*loc, "digest", d->digest);
	struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	const char *hs[] = { octet, NULL };
	int r = reg_send(p, "PUT", NULL, url, hs, NULL, "", 0, &rs, err);
	if (r < 0)
		*resumable = true;
	else if (rs.code != 201)
		r = http_fail(p, &rs, "finish the upload", err), fb_err_prefix(err, "blob %s", d->digest);
	fb_registry_resp_free(&rs);
	return r;
}

/* The whole blob in the PUT that closes the upload. */
static int send_whole(struct pusher *p, struct reader *rd, const struct fb_push_desc *d, const char *loc,
		      struct fb_err *err)
{
	FB_AUTOFREE char *url = with_query(loc, "digest", d->digest);
	rd->start = 0;
	rd->len = d->size;
	rd->at = 0;
	struct fb_registry_body body = { d->size, reader_read, reader_rewind, rd, &rd->err };
	struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	const char *hs[] = { octet, NULL };
	int r = reg_send(p, "PUT", NULL, url, hs, &body, NULL, 0, &rs, err);
	if (r == 0 && rs.code != 201) {
		r = http_fail(p, &rs, "upload", err);
		fb_err_prefix(err, "blob %s", d->digest);
	}
	if (r == 0)
		p->bytes += d->size;
	fb_registry_resp_free(&rs);
	return r;
}

static int push_blob(struct pusher *p, size_t item, const struct fb_push_desc *d, struct fb_push_blob *out,
		     struct fb_err *err)
{
	memcpy(out->digest, d->digest, sizeof(out->digest));
	out->size = d->size;
	FB_AUTOFREE char *path = fb_xasprintf("blobs/%s", d->digest);
	struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	int r = reg_send(p, "HEAD", path, NULL, NULL, NULL, NULL, 0, &rs, err);
	long code = rs.code;
	if (r == 0 && code != 200 && code != 404)
		r = http_fail(p, &rs, "HEAD blob", err), fb_err_prefix(err, "blob %s", d->digest);
	fb_registry_resp_free(&rs);
	if (r < 0)
		return -1;
	if (code == 200) {
		out->status = FB_PUSH_EXISTS;
		fb_progress_end(p->pg, item, "exists");
		remember(p, d->digest);
		return 0;
	}
	int fd = -1;
	if (open_blob(p, d, &fd, err) < 0)
		return -1;
	struct reader rd = { fd, 0, 0, 0, p, item, d->digest, { 0 } };
	struct record rec;
	record_open(p, d, &rec);
	char *loc = NULL;
	uint64_t off = 0, chunk = p->chunk;
	if (rec.u.location) {
		/* an upload an earlier push left: where did it get to? */
		FB_AUTOFREE char *was = fb_registry_url(p->r, rec.u.location);
		int st = upload_status(p, was, d->size, &loc, &off, err);
		if (st < 0) {
			record_close(&rec, false);
			close(fd);
			return -1;
		}
		if (st > 0) {
			char at[32];
			snprintf(at, sizeof(at), "%" PRIu64, off);
			fb_log_fields(FB_LOG_INFO, "resuming an upload", "blob", d->digest, "offset", at, (char *)NULL);
			out->resumed_at = off;
			fb_progress_update(p->pg, item, off);
		}
	}
	bool resumable = false, mounted = false;
	r = 0;
	if (!loc) {
		r = try_mounts(p, d, out, &loc, err);
		mounted = r == 1;
		r = r < 0 ? -1 : 0;
	}
	if (r == 0 && !mounted && !loc)
		r = start_upload(p, &loc, &chunk, err);
	if (r == 0 && !mounted) {
		out->status = FB_PUSH_UPLOADED;
		if (off == 0 && d->size <= chunk) {
			r = send_whole(p, &rd, d, loc, err);
		} else {
			record_save(p, &rec, d, loc, off);
			r = send_chunks(p, &rd, &rec, d, &loc, off, chunk, out, &resumable, err);
		}
		if (r < 0 && rd.err.msg[0])
			*err = rd.err;
		if (r < 0 && !resumable)
			cancel(p, loc);
	}
	record_close(&rec, r == 0 || !resumable);
	close(fd);
	free(loc);
	if (r < 0) {
		fb_progress_end(p->pg, item, "failed");
		return -1;
	}
	fb_progress_end(p->pg, item, mounted ? "mounted" : "uploaded");
	remember(p, d->digest);
	return 0;
}

/* ---- the image ---- */

/* [docker://]HOST/REPO with no tag or digest gets default_tag. */
static int parse_dest(const char *s, const char *default_tag, struct fb_ref *ref, struct fb_err *err)
{
	const char *name = !strncmp(s, "docker://", 9) ? s + 9 : s;
	const char *slash = strrchr(name, '/');
	bool tagged = strchr(name, '@') || strchr(slash ? slash : name, ':');
	FB_AUTOFREE char *full = !tagged && default_tag ? fb_xasprintf("%s:%s", s, default_tag) : fb_xstrdup(s);
	if (fb_ref_parse(full, ref, err) < 0)
		return -1;
	if (ref->transport != FB_REF_REGISTRY) {
		fb_ref_free(ref);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_reference",
				  "%s: not a registry reference (a push goes to [REGISTRY/]REPOSITORY[:TAG])", s);
	}
	return 0;
}

static int check_blobs(const struct fb_store *s, const struct fb_push_src *src, const struct fb_push_manifest *m,
		       struct fb_err *err)
{
	for (size_t i = 0; i <= m->nlayers; i++) {
		const char *d = i < m->nlayers ? m->layers[i].digest : m->config.digest;
		if (!fb_store_has_blob(s, d))
			return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: %s %s is not in the store %s",
					  src->name ? src->name : src->digest, i < m->nlayers ? "layer" : "config", d, s->root);
	}
	return 0;
}

static int put_manifest(struct pusher *p, const char *text, const char *mt, const char *digest, struct fb_err *err)
{
	FB_AUTOFREE char *path = fb_xasprintf("manifests/%s", p->ref->tag ? p->ref->tag : p->ref->digest);
	FB_AUTOFREE char *ct = fb_xasprintf("Content-Type: %s", mt);
	const char *hs[] = { ct, NULL };
	struct fb_registry_resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	int r = reg_send(p, "PUT", path, NULL, hs, NULL, text, strlen(text), &rs, err);
	if (r == 0 && rs.code != 201 && rs.code != 200)
		r = http_fail(p, &rs, "put the manifest", err);
	if (r == 0) {
		FB_AUTOFREE char *named = fb_registry_resp_header(&rs, "Docker-Content-Digest");
		if (named && fb_digest_valid(named) && strcmp(named, digest))
			r = fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
				       "%s: the registry took the manifest as %s, but it is %s", p->ref->canonical, named, digest);
	}
	fb_registry_resp_free(&rs);
	return r;
}

int fb_push_image(const struct fb_push_opts *o, struct fb_store *s, const struct fb_push_src *src, const char *refstr,
		  struct fb_push_result *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	struct fb_ref ref;
	if (parse_dest(refstr, src->version, &ref, err) < 0)
		return -1;
	struct pusher p = { .o = o, .s = s, .ref = &ref };
	p.chunk = o->chunk_size ? o->chunk_size : FB_PUSH_CHUNK_DEFAULT;
	struct fb_buf mtext = FB_BUF_INIT;
	struct fb_push_manifest m = { 0 };
	char *conv = NULL;
	struct fb_registry_opts ro = o->reg;
	ro.actions = "pull,push";
	int ret = -1;
	const char *what = src->name ? src->name : src->digest;
	/* everything is checked here, before the registry hears of it */
	FB_AUTOFREE char *mpath = fb_store_blob_path(s, src->digest);
	if (!fb_store_has_blob(s, src->digest)) {
		bool elsewhere = src->store && strcmp(src->store, s->root);
		fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: its manifest %s is not in the store %s%s%s%s", what,
			   src->digest, s->root, elsewhere ? " (the document says it is in " : "", elsewhere ? src->store : "",
			   elsewhere ? ": give --store)" : "");
		goto out;
	}
	if (fb_read_file(mpath, &mtext, err) < 0 || fb_push_manifest_decode(fb_buf_str(&mtext), mtext.len, &m, err) < 0) {
		fb_err_prefix(err, "%s: manifest %s", what, src->digest);
		goto out;
	}
	if (check_blobs(s, src, &m, err) < 0)
		goto out;
	const char *mt = fb_push_manifest_type(o->format);
	const char *text = fb_buf_str(&mtext);
	if (strcmp(m.media_type, mt)) {
		if (fb_push_manifest_convert(text, mtext.len, o->format, &conv, err) < 0) {
			fb_err_prefix(err, "%s", what);
			goto out;
		}
		text = conv;
	}
	fb_sha256_mem(text, strlen(text), out->digest);
	if (ref.digest && strcmp(ref.digest, out->digest)) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid_reference", "%s: the manifest to push is %s, not the digest the reference names",
			   refstr, out->digest);
		goto out;
	}
	if (fb_registry_open(&ref, &ro, &p.r, err) < 0) {
		fb_err_prefix(err, "%s", ref.canonical);
		goto out;
	}
	if (o->state_dir) {
		FB_AUTOFREE char *h = hash_hex16(ref.registry);
		p.known_dir = fb_xasprintf("%s/known/%s", o->state_dir, h);
		p.uploads_dir = fb_xasprintf("%s/uploads", o->state_dir);
	}
	load_pulled(&p);
	/* the layers (each once), then the config */
	out->blobs = fb_xcalloc(m.nlayers + 1, sizeof(*out->blobs));
	const struct fb_push_desc **todo = fb_xcalloc(m.nlayers + 1, sizeof(*todo));
	size_t n = 0;
	for (size_t i = 0; i <= m.nlayers; i++) {
		const struct fb_push_desc *d = i < m.nlayers ? &m.layers[i] : &m.config;
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = !strcmp(todo[k]->digest, d->digest);
		if (!dup)
			todo[n++] = d;
	}
	fb_log_fields(FB_LOG_INFO, "pushing", "ref", ref.canonical, "image", what, (char *)NULL);
	p.pg = fb_progress_new("upload", n);
	for (size_t i = 0; i < n; i++)
		fb_progress_item(p.pg, i, todo[i]->digest, todo[i]->size);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		r = push_blob(&p, i, todo[i], &out->blobs[i], err);
		out->nblobs = i + 1;
	}
	fb_progress_free(p.pg);
	free(todo);
	/* every blob is there: now the manifest may name them */
	if (r < 0 || put_manifest(&p, text, mt, out->digest, err) < 0)
		goto out;
	out->ref = fb_xstrdup(ref.canonical);
	out->media_type = fb_xstrdup(mt);
	out->size = strlen(text);
	out->bytes_uploaded = p.bytes;
	char nb[32];
	snprintf(nb, sizeof(nb), "%" PRIu64, p.bytes);
	fb_log_fields(FB_LOG_INFO, "pushed", "ref", ref.canonical, "digest", out->digest, "bytes_uploaded", nb, (char *)NULL);
	ret = 0;
out:
	if (ret < 0)
		fb_push_result_free(out);
	fb_registry_free(p.r);
	fb_strv_free(&p.seen_blob);
	fb_strv_free(&p.seen_repo);
	free(p.known_dir);
	free(p.uploads_dir);
	fb_push_manifest_free(&m);
	free(conv);
	fb_buf_free(&mtext);
	fb_ref_free(&ref);
	return ret;
}
