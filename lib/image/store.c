#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "oci.h"
#include "util.h"

const char *fb_store_default(void)
{
	static char buf[PATH_MAX];
	const char *env = getenv("FB_STORE");
	if (env && *env)
		return env;
	if (geteuid() == 0)
		return "/var/lib/firebuild/store";
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/firebuild/store", xdg);
	else
		snprintf(buf, sizeof(buf), "%s/.local/share/firebuild/store", home && *home ? home : "/tmp");
	return buf;
}

int fb_store_open(const char *root, struct fb_store *s, struct fb_err *err)
{
	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
	static const char *const dirs[] = { "blobs/sha256", "rootfs", "kernels", "cache", "tmp" };
	for (size_t i = 0; i < FB_ARRAY_LEN(dirs); i++) {
		char *d = fb_xasprintf("%s/%s", root, dirs[i]);
		int r = fb_mkdir_p(d, 0755, err);
		free(d);
		if (r < 0) {
			fb_err_prefix(err, "store %s", root);
			return -1;
		}
	}
	char real[PATH_MAX];
	s->root = fb_xstrdup(realpath(root, real) ? real : root);
	char *lock = fb_xasprintf("%s/.lock", s->root);
	s->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(lock);
	if (s->lockfd < 0) {
		fb_err_errno(err, errno, "store %s: lock file", s->root);
		fb_store_close(s);
		return -1;
	}
	/* Make it an OCI layout skopeo and umoci can read. */
	char *layout = fb_xasprintf("%s/oci-layout", s->root);
	char *index = fb_xasprintf("%s/index.json", s->root);
	int r = 0;
	if (access(layout, F_OK) < 0 || access(index, F_OK) < 0) {
		if (fb_store_lock(s, err) < 0) {
			r = -1;
		} else {
			static const char lay[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
			static const char idx[] = "{\"schemaVersion\":2,\"manifests\":[]}";
			if (access(layout, F_OK) < 0)
				r = fb_write_file_atomic(layout, lay, sizeof(lay) - 1, 0644, err);
			if (r == 0 && access(index, F_OK) < 0)
				r = fb_write_file_atomic(index, idx, sizeof(idx) - 1, 0644, err);
			fb_store_unlock(s);
		}
	}
	free(layout);
	free(index);
	if (r < 0)
		fb_store_close(s);
	return r;
}

void fb_store_close(struct fb_store *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd);
	s->lockfd = -1;
	free(s->root);
	s->root = NULL;
}

int fb_store_lock(struct fb_store *s, struct fb_err *err)
{
	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return fb_err_errno(err, errno, "lock store %s", s->root);
	return 0;
}

void fb_store_unlock(struct fb_store *s)
{
	flock(s->lockfd, LOCK_UN);
}

/* ---- the layout ---- */

char *fb_store_blob_path_at(const char *root, const char *digest)
{
	return fb_xasprintf("%s/blobs/sha256/%s", root, fb_digest_hex(digest));
}

char *fb_store_blob_path(const struct fb_store *s, const char *digest)
{
	return fb_store_blob_path_at(s->root, digest);
}

char *fb_store_partial_path_at(const char *root, const char *digest)
{
	return fb_xasprintf("%s/tmp/%s.partial", root, fb_digest_hex(digest));
}

char *fb_store_tag_dir(const char *root, const char *name, const char *version)
{
	return fb_xasprintf("%s/rootfs/%s/%s", root, name, version);
}

char *fb_store_tag_file(const char *root, const char *name, const char *version, const char *file)
{
	return fb_xasprintf("%s/rootfs/%s/%s/%s", root, name, version, file);
}

/* where a tag's name directories are, and where fb-mkrootfs writes */
static char *tag_parent(const char *root, const char *name)
{
	return fb_xasprintf("%s/rootfs/%s", root, name);
}

static char *store_dir(const char *root, const char *what)
{
	return fb_xasprintf("%s/%s", root, what);
}

char *fb_store_cache_entry_path(const struct fb_store *s, const char *key)
{
	return fb_xasprintf("%s/cache/%s.json", s->root, fb_digest_hex(key));
}

char *fb_store_context_hashes_path(const struct fb_store *s, const char *context)
{
	char d[72];
	fb_sha256_mem(context, strlen(context), d);
	return fb_xasprintf("%s/cache/files/%.16s", s->root, fb_digest_hex(d));
}

char *fb_store_cache_mount_dir(const struct fb_store *s, const char *id_digest)
{
	return fb_xasprintf("%s/cache-mounts/%.16s", s->root, fb_digest_hex(id_digest));
}

int fb_store_mktemp(const char *root, const char *prefix, char **out, struct fb_err *err)
{
	char *t = store_dir(root, "tmp");
	int r = fb_mkdir_p(t, 0755, err);
	char *p = fb_xasprintf("%s/%s-XXXXXX", t, prefix);
	free(t);
	if (r == 0 && !mkdtemp(p))
		r = fb_err_errno(err, errno, "create a directory under %s/tmp", root);
	if (r < 0) {
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

static bool valid_path_component(const char *s, size_t n)
{
	if (!n || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (alnum)
			continue;
		if ((c == '.' || c == '_' || c == '-') && i > 0 && i + 1 < n && s[i + 1] != '.' && s[i - 1] != '.')
			continue;
		return false;
	}
	return true;
}

static bool valid_host(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':'))
			return false;
	}
	return strstr(s, "..") == NULL || (size_t)(strstr(s, "..") - s) >= n;
}

/* "name"/"version" as a tag may have them; the message part when not. */
static const char *tag_problem(const char *name, const char *v)
{
	size_t vl = strlen(v);
	bool ok = vl <= 128 && ((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= '0' && v[0] <= '9') || v[0] == '_');
	for (size_t i = 0; ok && i < vl; i++)
		ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
		     v[i] == '.' || v[i] == '-';
	if (!ok)
		return "the version must be [A-Za-z0-9_][A-Za-z0-9._-]{0,127}";
	const char *p = name;
	const char *first = strchr(p, '/');
	if (first) {
		size_t hl = (size_t)(first - p);
		bool host = memchr(p, '.', hl) || memchr(p, ':', hl) || (hl == 9 && !strncmp(p, "localhost", 9));
		if (host) {
			if (!valid_host(p, hl))
				return "bad registry host";
			p = first + 1;
		}
	}
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!valid_path_component(p, n))
			return "names are lower-case letters and digits, separated by . _ - or /";
		if (!e)
			break;
		p = e + 1;
	}
	return NULL;
}

int fb_store_tag_parse(const char *s, char **name, char **version, struct fb_err *err)
{
	const char *slash = strrchr(s, '/');
	const char *colon = strrchr(slash ? slash : s, ':');
	if (!colon || colon == s || !colon[1])
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_name", "invalid tag \"%s\": expected NAME:VERSION", s);
	char *n = fb_xstrndup(s, (size_t)(colon - s));
	const char *why = tag_problem(n, colon + 1);
	if (why) {
		free(n);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_name", "invalid tag \"%s\": %s", s, why);
	}
	*name = n;
	*version = fb_xstrdup(colon + 1);
	return 0;
}

int fb_store_tag_split(const char *ref, char **name, char **version)
{
	if (strchr(ref, '@'))
		return -1;
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
	if (colon && slash && colon < slash)
		colon = NULL;
	char *n = colon ? fb_xstrndup(ref, (size_t)(colon - ref)) : fb_xstrdup(ref);
	const char *v = colon ? colon + 1 : "latest";
	if (!*n || !*v || tag_problem(n, v)) {
		free(n);
		return -1;
	}
	*name = n;
	*version = fb_xstrdup(v);
	return 0;
}

bool fb_store_has_blob(const struct fb_store *s, const char *digest)
{
	if (!fb_digest_valid(digest))
		return false;
	char *p = fb_store_blob_path(s, digest);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

/* One partial file per digest, so that an interrupted download resumes;
 * the writer holds an exclusive lock on it while it writes, so that two
 * runs pulling the same blob at once never write one file. The lock is
 * taken without waiting: a writer that finds it held leaves w->fd at -1
 * (and writes a file of its own). The file locked must still be the one
 * under the name (a writer before may have renamed or removed it). */
static int open_partial(struct fb_store *s, const char *expect, bool resume, struct fb_blob_writer *w)
{
	w->tmp = fb_store_partial_path_at(s->root, expect);
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(w->tmp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;
			close(fd);
			if (e == EWOULDBLOCK)
				return 0; /* w->fd stays -1: someone else writes it */
			errno = e;
			return -1;
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(w->tmp, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			if (!resume && ftruncate(fd, 0) < 0) {
				int e = errno;
				close(fd);
				errno = e;
				return -1;
			}
			w->fd = fd;
			return 0;
		}
		close(fd); /* gone or replaced since it was opened: again */
	}
	errno = EAGAIN;
	return -1;
}

int fb_blob_begin(struct fb_store *s, const char *expect, const char *name, uint64_t *resumed_at,
		  struct fb_blob_writer *w, struct fb_err *err)
{
	memset(w, 0, sizeof(*w));
	w->store = s;
	w->fd = -1;
	w->name = fb_xstrdup(name ? name : expect ? expect : "blob");
	if (resumed_at)
		*resumed_at = 0;
	if (expect && !fb_digest_valid(expect)) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid_digest", "%s: unsupported digest %s", w->name, expect);
		free(w->name);
		return -1;
	}
	fb_sha256_init(&w->h);
	if (expect) {
		w->expect = fb_xstrdup(expect);
		if (open_partial(s, expect, resumed_at != NULL, w) < 0) {
			fb_err_errno(err, errno, "%s: create %s", w->name, w->tmp);
			fb_blob_abort(w, false);
			return -1;
		}
	}
	if (w->fd >= 0 && resumed_at) {
		/* Hash what is there already; the download continues after it. */
		char buf[1 << 16];
		ssize_t n;
		while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
			fb_sha256_update(&w->h, buf, (size_t)n);
			w->size += (uint64_t)n;
		}
		*resumed_at = w->size;
	}
	if (w->fd < 0) {
		/* no digest to name it by, or another run is writing that one */
		free(w->tmp);
		w->tmp = fb_xasprintf("%s/tmp/blob-XXXXXX", s->root);
		w->fd = mkostemp(w->tmp, O_CLOEXEC);
		w->private_tmp = true;
		if (w->fd < 0) {
			fb_err_errno(err, errno, "%s: create %s", w->name, w->tmp);
			fb_blob_abort(w, false);
			return -1;
		}
	}
	return 0;
}

#define WBUF (1u << 20)

static int write_out(struct fb_blob_writer *w, const char *c, size_t n, struct fb_err *err)
{
	while (n) {
		ssize_t r = write(w->fd, c, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return fb_err_errno(err, errno, "%s: write %s", w->name, w->tmp);
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int flush_wbuf(struct fb_blob_writer *w, struct fb_err *err)
{
	int r = w->wlen ? write_out(w, w->wbuf, w->wlen, err) : 0;
	w->wlen = 0;
	return r;
}

int fb_blob_write(struct fb_blob_writer *w, const void *p, size_t n, struct fb_err *err)
{
	fb_sha256_update(&w->h, p, n);
	w->size += n;
	if (n >= WBUF)
		return flush_wbuf(w, err) < 0 ? -1 : write_out(w, p, n, err);
	if (!w->wbuf)
		w->wbuf = fb_xmalloc(WBUF);
	if (w->wlen + n > WBUF && flush_wbuf(w, err) < 0)
		return -1;
	memcpy(w->wbuf + w->wlen, p, n);
	w->wlen += n;
	return 0;
}

int fb_blob_commit(struct fb_blob_writer *w, char digest[72], struct fb_err *err)
{
	char got[72];
	fb_sha256_final(&w->h, got);
	if (w->expect && strcmp(got, w->expect)) {
		fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch", "blob %s: digest mismatch: the data hashes to %s",
			   w->expect, got);
		fb_blob_abort(w, false);
		return -1;
	}
	char *final = fb_store_blob_path(w->store, got);
	int r = 0;
	if (flush_wbuf(w, err) < 0) {
		free(final);
		fb_blob_abort(w, false);
		return -1;
	}
	/* renamed while the partial is still locked (open_partial) */
	if (fsync(w->fd) < 0)
		r = fb_err_errno(err, errno, "%s: write %s", w->name, w->tmp);
	else if (rename(w->tmp, final) < 0)
		r = fb_err_errno(err, errno, "%s: move into the store", w->name);
	free(final);
	if (r == 0) {
		if (digest)
			memcpy(digest, got, 72);
		free(w->tmp);
		w->tmp = NULL;
		close(w->fd); /* after fsync and rename: the blob is in place */
		w->fd = -1;
	}
	fb_blob_abort(w, false);
	return r;
}

void fb_blob_abort(struct fb_blob_writer *w, bool keep_partial)
{
	/* a partial kept for resuming must hold every byte hashed so far */
	keep_partial = keep_partial && w->expect && !w->private_tmp;
	if (keep_partial && w->fd >= 0) {
		struct fb_err ignore = { 0 };
		if (flush_wbuf(w, &ignore) < 0)
			keep_partial = false;
	}
	free(w->wbuf);
	w->wbuf = NULL;
	w->wlen = 0;
	/* A file of our own goes; the shared partial only while we hold its
	 * lock (removed before the lock is let go: a run that locks it next
	 * finds the name gone, and starts a new one), and not when kept for
	 * resuming. */
	if (w->tmp && (w->private_tmp || (w->fd >= 0 && !keep_partial)))
		unlink(w->tmp);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	fb_sha256_free(&w->h);
	free(w->tmp);
	free(w->expect);
	free(w->name);
	w->tmp = w->expect = w->name = NULL;
}

int fb_store_put_file(struct fb_store *s, const char *src, const char *expect, char digest[72], struct fb_err *err)
{
	if (expect && fb_store_has_blob(s, expect)) {
		if (digest)
			memcpy(digest, expect, 72);
		return 0;
	}
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fb_err_errno(err, errno, "open %s", src);
	struct fb_blob_writer w;
	if (fb_blob_begin(s, expect, src, NULL, &w, err) < 0) {
		close(fd);
		return -1;
	}
	char *buf = fb_xmalloc(1 << 20);
	ssize_t n;
	int r = 0;
	while ((n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = fb_err_errno(err, errno, "read %s", src);
			break;
		}
		if ((r = fb_blob_write(&w, buf, (size_t)n, err)) < 0)
			break;
	}
	free(buf);
	close(fd);
	if (r < 0) {
		fb_blob_abort(&w, false);
		return -1;
	}
	return fb_blob_commit(&w, digest, err);
}

int fb_store_put_mem(struct fb_store *s, const void *p, size_t n, char digest[72], struct fb_err *err)
{
	char d[72];
	fb_sha256_mem(p, n, d);
	if (!fb_store_has_blob(s, d)) {
		struct fb_blob_writer w;
		if (fb_blob_begin(s, d, NULL, NULL, &w, err) < 0)
			return -1;
		if (fb_blob_write(&w, p, n, err) < 0) {
			fb_blob_abort(&w, false);
			return -1;
		}
		if (fb_blob_commit(&w, NULL, err) < 0)
			return -1;
	}
	if (digest)
		memcpy(digest, d, 72);
	return 0;
}

int fb_store_read_blob(const struct fb_store *s, const char *digest, struct fb_buf *out, struct fb_err *err)
{
	if (!fb_digest_valid(digest))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_digest", "unsupported digest %s", digest);
	char *p = fb_store_blob_path(s, digest);
	int r = fb_read_file(p, out, err);
	free(p);
	return r;
}

int fb_store_read_image(const struct fb_store *s, const char *manifest_digest, struct fb_oci_manifest *m,
			struct fb_oci_config *cfg, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	int r = fb_store_read_blob(s, manifest_digest, &b, err);
	if (r == 0 && (r = fb_oci_manifest_decode(fb_buf_str(&b), b.len, m, err)) < 0)
		fb_err_prefix(err, "blob %s", manifest_digest);
	fb_buf_reset(&b);
	if (r == 0 && (r = fb_store_read_blob(s, m->config.digest, &b, err)) == 0 &&
	    (r = fb_oci_config_decode(fb_buf_str(&b), b.len, cfg, err)) < 0)
		fb_err_prefix(err, "blob %s", m->config.digest);
	if (r < 0 && m->config.digest)
		fb_oci_manifest_free(m);
	fb_buf_free(&b);
	return r;
}

int fb_store_index_set(struct fb_store *s, const char *ref, const char *media_type, const char *digest,
		       uint64_t size, struct fb_err *err)
{
	if (fb_store_lock(s, err) < 0)
		return -1;
	char *path = store_dir(s->root, "index.json");
	struct fb_buf b = FB_BUF_INIT;
	struct fb_oci_index idx;
	int r = fb_read_file(path, &b, err);
	if (r == 0)
		r = fb_oci_index_decode(fb_buf_str(&b), b.len, &idx, err);
	if (r == 0) {
		/* one entry per name: the one there goes */
		size_t k = 0;
		for (size_t i = 0; i < idx.n; i++) {
			if (idx.manifests[i].ref_name && !strcmp(idx.manifests[i].ref_name, ref))
				fb_oci_desc_free(&idx.manifests[i]);
			else
				idx.manifests[k++] = idx.manifests[i];
		}
		idx.n = k;
		fb_oci_index_add(&idx, media_type, digest, size, ref);
		char *text = fb_oci_index_encode(&idx);
		r = fb_write_file_atomic(path, text, strlen(text), 0644, err);
		free(text);
		fb_oci_index_free(&idx);
	}
	fb_buf_free(&b);
	free(path);
	fb_store_unlock(s);
	return r;
}

/* ---- tags ---- */

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

int fb_store_rm_rf(const char *path)
{
	return nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* sha256sum's 64 hex digits of an open file; its holes (most of a fresh
 * ext4) are hashed as zeros without being read */
static int fd_sha256(int fd, const char *path, char **hex, struct fb_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fb_err_errno(err, errno, "%s", path);
	const size_t bufsz = 1u << 20;
	FB_AUTOFREE char *buf = fb_xmalloc(bufsz);
	FB_AUTOFREE char *zeros = fb_xcalloc(1, bufsz);
	struct fb_sha256 h;
	fb_sha256_init(&h);
	uint64_t size = (uint64_t)st.st_size;
	for (uint64_t off = 0; off < size;) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA);
		uint64_t d = data < 0 ? size : (uint64_t)data; /* ENXIO: a hole to the end */
		for (; off < d; off += d - off < bufsz ? d - off : bufsz)
			fb_sha256_update(&h, zeros, d - off < bufsz ? d - off : bufsz);
		off_t hole = off < size ? lseek(fd, (off_t)off, SEEK_HOLE) : (off_t)size;
		uint64_t e = hole < 0 ? size : (uint64_t)hole;
		while (off < e) {
			ssize_t n = pread(fd, buf, e - off < bufsz ? e - off : bufsz, (off_t)off);
			if (n <= 0) {
				int en = n < 0 ? errno : EIO;
				fb_sha256_free(&h);
				return fb_err_errno(err, en, "read %s", path);
			}
			fb_sha256_update(&h, buf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	char d[72];
	fb_sha256_final(&h, d);
	*hex = fb_xstrdup(fb_digest_hex(d));
	return 0;
}

int fb_store_tag_sha256(struct fb_store *s, const char *name, const char *version, char **hex, bool *saved,
			struct fb_err *err)
{
	*hex = NULL;
	*saved = false;
	struct fb_tag_meta m = { 0 };
	if (fb_store_tag_get(s, name, version, &m, err) < 0)
		return -1;
	if (m.rootfs_sha256) {
		*hex = m.rootfs_sha256;
		m.rootfs_sha256 = NULL;
		fb_tag_meta_free(&m);
		return 0;
	}
	FB_AUTOFREE char *img = fb_store_tag_file(s->root, name, version, FB_TAG_ROOTFS);
	FB_AUTOFREE char *mp = fb_store_tag_file(s->root, name, version, FB_TAG_META);
	FB_AUTOCLOSE int fd = open(img, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat a, b;
	int r = fd < 0 || fstat(fd, &a) < 0 ? fb_err_errno(err, errno, "%s", img) : fd_sha256(fd, img, hex, err);
	fb_tag_meta_free(&m);
	if (r < 0)
		return -1;
	/* remembered in image.json when the tag is still the one hashed (a put
	 * since replaced the directory) and the store can be written */
	if (fb_store_lock(s, err) < 0) {
		fb_err_clear(err);
		return 0;
	}
	if (stat(img, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino && fb_tag_meta_load(mp, &m, err) == 0) {
		if (!m.rootfs_sha256) {
			m.rootfs_sha256 = fb_xstrdup(*hex);
			*saved = fb_tag_meta_save(mp, &m, err) == 0;
		}
		fb_tag_meta_free(&m);
	}
	fb_store_unlock(s);
	fb_err_clear(err);
	return 0;
}

int fb_store_tag_put(struct fb_store *s, const char *name, const char *version, struct fb_handover *h,
		     struct fb_tag_meta *meta, char **dir, struct fb_err *err)
{
	char *final = fb_store_tag_dir(s->root, name, version), *parent = tag_parent(s->root, name);
	char *stage = fb_xasprintf("%s/.%s.new-XXXXXX", parent, version);
	int ret = -1;
	if (fb_mkdir_p(parent, 0755, err) < 0)
		goto out;
	if (!mkdtemp(stage)) {
		fb_err_errno(err, errno, "create %s", stage);
		goto out;
	}
	char *dst = fb_xasprintf("%s/%s", stage, FB_TAG_ROOTFS);
	int mr = fb_handover_move(h, dst, err);
	/* the ext4's sha256 is computed when first asked for
	 * (fb_store_tag_sha256): a second of hashing a large image that most
	 * uses never need */
	free(meta->rootfs_sha256);
	meta->rootfs_sha256 = NULL;
	free(dst);
	if (mr < 0)
		goto out_stage;
	/* the directory fb-mkrootfs made for it, if that is where it was */
	char *made = fb_xasprintf("%s/tmp/rootfs-", s->root);
	if (!strncmp(h->dir, made, strlen(made)) && !strchr(h->dir + strlen(made), '/'))
		rmdir(h->dir);
	free(made);

	char created[64];
	now_rfc3339(created, sizeof(created));
	free(meta->name);
	free(meta->version);
	free(meta->created);
	meta->name = fb_xstrdup(name);
	meta->version = fb_xstrdup(version);
	meta->created = fb_xstrdup(created);
	char *mp = fb_xasprintf("%s/%s", stage, FB_TAG_META);
	int wr = fb_tag_meta_save(mp, meta, err);
	free(mp);
	if (wr < 0)
		goto out_stage;
	/* The swap: readers see the old tag or the new one, never half. */
	if (fb_store_lock(s, err) < 0)
		goto out_stage;
	if (renameat2(AT_FDCWD, stage, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST && renameat2(AT_FDCWD, stage, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
			fb_store_rm_rf(stage); /* the old version, now at the stage path */
		} else {
			fb_err_errno(err, errno, "put %s:%s", name, version);
			fb_store_unlock(s);
			goto out_stage;
		}
	}
	fb_store_unlock(s);
	*dir = final;
	final = NULL;
	ret = 0;
	goto out;
out_stage:
	fb_store_rm_rf(stage);
out:
	free(stage);
	free(final);
	free(parent);
	return ret;
}

int fb_store_tag_meta_path(const struct fb_store *s, const char *name, const char *version, char **path,
			   struct fb_err *err)
{
	char *p = fb_store_tag_file(s->root, name, version, FB_TAG_META);
	if (access(p, F_OK) < 0) {
		int e = errno;
		free(p);
		if (e == ENOENT || e == ENOTDIR)
			return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "no such image %s:%s in %s", name, version, s->root);
		return fb_err_errno(err, e, "%s:%s", name, version);
	}
	*path = p;
	return 0;
}

int fb_store_tag_get(const struct fb_store *s, const char *name, const char *version, struct fb_tag_meta *m,
		     struct fb_err *err)
{
	char *p;
	if (fb_store_tag_meta_path(s, name, version, &p, err) < 0)
		return -1;
	int r = fb_tag_meta_load(p, m, err);
	free(p);
	return r;
}

int fb_store_tag_rm(struct fb_store *s, const char *name, const char *version, struct fb_err *err)
{
	char *mp;
	if (fb_store_tag_meta_path(s, name, version, &mp, err) < 0)
		return -1;
	free(mp);
	char *d = fb_store_tag_dir(s->root, name, version);
	char *tomb = fb_xasprintf("%s/rootfs/%s/.%s.rm-XXXXXX", s->root, name, version);
	int r = 0;
	if (fb_store_lock(s, err) < 0) {
		r = -1;
	} else {
		/* rename first: the tag vanishes at once, the bytes after */
		if (!mkdtemp(tomb) || rmdir(tomb) < 0 || rename(d, tomb) < 0)
			r = fb_err_errno(err, errno, "remove %s:%s", name, version);
		fb_store_unlock(s);
		if (r == 0)
			fb_store_rm_rf(tomb);
	}
	/* empty name directories go too */
	char *parent = tag_parent(s->root, name);
	char *root = store_dir(s->root, "rootfs");
	while (r == 0 && strcmp(parent, root) && rmdir(parent) == 0) {
		char *sl = strrchr(parent, '/');
		*sl = '\0';
	}
	free(parent);
	free(root);
	free(d);
	free(tomb);
	return r;
}

/* Every tag: rootfs/<name...>/<version>/image.json, names may hold '/'. */
struct tag_walk {
	struct fb_tag_meta *list;
	size_t n;
};
static struct tag_walk *g_tags;

static int list_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	if (flag != FTW_F || !fb_str_has_suffix(p, "/" FB_TAG_META))
		return 0;
	struct fb_tag_meta m;
	struct fb_err e = { 0 };
	if (fb_tag_meta_load(p, &m, &e) == 0) {
		g_tags->list = fb_xrealloc(g_tags->list, (g_tags->n + 1) * sizeof(*g_tags->list));
		g_tags->list[g_tags->n++] = m;
	}
	return 0;
}

/* null first, then by bytes (jq's order) */
static int cmp_opt(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int cmp_tag(const void *x, const void *y)
{
	const struct fb_tag_meta *a = x, *b = y;
	int c = cmp_opt(a->name, b->name);
	return c ? c : cmp_opt(a->version, b->version);
}

int fb_store_tag_list(const struct fb_store *s, struct fb_tag_meta **out, size_t *n, struct fb_err *err)
{
	(void)err;
	char *base = store_dir(s->root, "rootfs");
	struct tag_walk w = { NULL, 0 };
	g_tags = &w;
	nftw(base, list_cb, 32, FTW_PHYS);
	g_tags = NULL;
	free(base);
	if (w.n)
		qsort(w.list, w.n, sizeof(*w.list), cmp_tag);
	*out = w.list;
	*n = w.n;
	return 0;
}

/* ---- the build cache ---- */

int fb_store_cache_get(const struct fb_store *s, const char *key, struct fb_cache_entry *e)
{
	char *p = fb_store_cache_entry_path(s, key);
	int r = fb_cache_entry_load(p, e);
	if (r == 1)
		utimensat(AT_FDCWD, p, NULL, 0); /* used: gc keeps what was used lately */
	free(p);
	return r;
}

int fb_store_cache_put(const struct fb_store *s, const struct fb_cache_entry *e, struct fb_err *err)
{
	char *dir = store_dir(s->root, "cache");
	int r = fb_mkdir_p(dir, 0755, err);
	free(dir);
	if (r < 0)
		return -1;
	char *p = fb_store_cache_entry_path(s, e->key);
	r = fb_cache_entry_save(p, e, err);
	free(p);
	return r;
}

const char *fb_run_cache(const char *flag)
{
	if (flag)
		return flag;
	const char *e = getenv("FB_RUN_CACHE");
	if (e && *e)
		return e;
	if (geteuid() == 0)
		return "/var/lib/firebuild";
	static char buf[PATH_MAX];
	const char *x = getenv("XDG_RUNTIME_DIR");
	snprintf(buf, sizeof(buf), "%s/firebuild", x ? x : "/tmp");
	return buf;
}

/* dir is d or below it (both real paths). */
static bool path_under(const char *dir, const char *d)
{
	size_t n = strlen(d);
	while (n > 0 && d[n - 1] == '/')
		n--; /* "/" itself: everything is under it */
	return !strncmp(dir, d, n) && (dir[n] == '\0' || dir[n] == '/');
}

static char *real_or_null(const char *p)
{
	char buf[PATH_MAX];
	return p && realpath(p, buf) ? fb_xstrdup(buf) : NULL;
}

/* An O_PATH fd of the absolute directory path, one component at a time
 * with O_NOFOLLOW: a symbolic link anywhere on the way is ELOOP. */
static int open_no_links(const char *path)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (const char *p = path; fd >= 0 && *p;) {
		while (*p == '/')
			p++;
		const char *e = p + strcspn(p, "/");
		if (e == p)
			break;
		char *name = fb_xstrndup(p, (size_t)(e - p));
		int d = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		free(name);
		struct stat st;
		if (d >= 0 && (fstat(d, &st) < 0 || !S_ISDIR(st.st_mode))) {
			close(d);
			d = -1;
			errno = ELOOP;
		}
		int e2 = errno;
		close(fd);
		fd = d;
		errno = e2;
		p = e;
	}
	return fd;
}

int fb_handover_open(const struct fb_store *s, const char *path, const char *run_cache, char *const *dirs, size_t ndirs,
		     struct fb_handover *h, struct fb_err *err)
{
	memset(h, 0, sizeof(*h));
	h->dirfd = h->fd = -1;
	const char *slash = strrchr(path, '/');
	char *parent = slash ? fb_xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : fb_xstrdup(".");
	h->base = fb_xstrdup(slash ? slash + 1 : path);
	char real[PATH_MAX];
	if (!*h->base || !strcmp(h->base, ".") || !strcmp(h->base, "..")) {
		free(parent);
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: not a file", path);
		goto fail;
	}
	/* the real directory: a symbolic link on the way is resolved here */
	if (!realpath(parent, real)) {
		fb_err_errno(err, errno, "%s", path);
		free(parent);
		goto fail;
	}
	free(parent);
	h->dir = fb_xstrdup(real);
	char *tmp = fb_xasprintf("%s/tmp", s->root);
	char *rc = real_or_null(run_cache);
	char *runs = rc ? fb_xasprintf("%s/runs", rc) : NULL;
	bool ok = path_under(h->dir, tmp);
	if (!ok && path_under(h->dir, s->root)) {
		/* tags, blobs, kernels, the cache: the store's own */
		free(tmp);
		free(rc);
		free(runs);
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: a file of the store itself (only its tmp/ is handed over)", path);
		goto fail;
	}
	if (!ok && rc && path_under(h->dir, rc) && !path_under(h->dir, runs))
		ok = true;
	for (size_t i = 0; !ok && i < ndirs; i++) {
		char *d = real_or_null(dirs[i]);
		ok = d && path_under(h->dir, d);
		free(d);
	}
	free(tmp);
	free(rc);
	free(runs);
	if (!ok) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid",
			   "%s: not under the store's tmp/ or the run cache; give --move-from %s to move it from there", path,
			   h->dir);
		goto fail;
	}
	/* open the real path with no link at all on the way, then the file */
	if ((h->dirfd = open_no_links(h->dir)) < 0) {
		if (errno == ELOOP)
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: %s changed into a symbolic link", path, h->dir);
		else
			fb_err_errno(err, errno, "%s: open %s", path, h->dir);
		goto fail;
	}
	if (fstatat(h->dirfd, h->base, &h->st, AT_SYMLINK_NOFOLLOW) < 0) {
		fb_err_errno(err, errno, "%s", path);
		goto fail;
	}
	if (S_ISLNK(h->st.st_mode)) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: a symbolic link, not a file", path);
		goto fail;
	}
	if (!S_ISREG(h->st.st_mode)) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: not a regular file", path);
		goto fail;
	}
	if (h->st.st_nlink != 1) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: has %ju names (hard links); moving one would leave the others",
			   path, (uintmax_t)h->st.st_nlink);
		goto fail;
	}
	h->fd = openat(h->dirfd, h->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (h->fd < 0 || fstat(h->fd, &st) < 0 || st.st_dev != h->st.st_dev || st.st_ino != h->st.st_ino) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: changed while it was checked", path);
		goto fail;
	}
	return 0;
fail:
	fb_handover_close(h);
	return -1;
}

/* The name still holds the file that was checked. */
static bool same_file(int dirfd, const char *name, const struct stat *want)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == want->st_dev &&
	       st.st_ino == want->st_ino;
}

int fb_handover_move(struct fb_handover *h, const char *dst, struct fb_err *err)
{
	if (renameat2(h->dirfd, h->base, AT_FDCWD, dst, RENAME_NOREPLACE) == 0) {
		if (same_file(AT_FDCWD, dst, &h->st))
			return 0;
		/* swapped between the check and the rename: put it back */
		renameat2(AT_FDCWD, dst, h->dirfd, h->base, RENAME_NOREPLACE);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s/%s: changed while it was moved", h->dir, h->base);
	}
	if (errno != EXDEV)
		return fb_err_errno(err, errno, "move %s/%s to %s", h->dir, h->base, dst);
	/* another file system: a copy of the file checked, then its name goes */
	char *src = fb_xasprintf("%s/%s", h->dir, h->base);
	int r = fb_copy_sparse_fd(h->fd, src, dst, err);
	free(src);
	if (r == 0 && same_file(h->dirfd, h->base, &h->st))
		unlinkat(h->dirfd, h->base, 0);
	return r;
}

void fb_handover_close(struct fb_handover *h)
{
	if (h->fd >= 0)
		close(h->fd);
	if (h->dirfd >= 0)
		close(h->dirfd);
	free(h->dir);
	free(h->base);
	memset(h, 0, sizeof(*h));
	h->fd = h->dirfd = -1;
}
