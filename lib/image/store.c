#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
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

char *fb_store_blob_path(const struct fb_store *s, const char *digest)
{
	return fb_xasprintf("%s/blobs/sha256/%s", s->root, fb_digest_hex(digest));
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
	w->tmp = fb_xasprintf("%s/tmp/%s.partial", s->root, fb_digest_hex(expect));
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

int fb_store_read_blob(const struct fb_store *s, const char *digest, jv *out, struct fb_err *err)
{
	if (!fb_digest_valid(digest))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_digest", "unsupported digest %s", digest);
	char *p = fb_store_blob_path(s, digest);
	struct fb_buf b = FB_BUF_INIT;
	int r = fb_read_file(p, &b, err);
	free(p);
	if (r == 0) {
		r = fb_json_parse(fb_buf_str(&b), b.len, out, err);
		if (r < 0)
			fb_err_prefix(err, "blob %s", digest);
	}
	fb_buf_free(&b);
	return r;
}

int fb_store_index_set(struct fb_store *s, const char *ref, const char *media_type, const char *digest,
		       uint64_t size, struct fb_err *err)
{
	if (fb_store_lock(s, err) < 0)
		return -1;
	char *path = fb_xasprintf("%s/index.json", s->root);
	struct fb_buf b = FB_BUF_INIT;
	jv idx = jv_invalid();
	int r = fb_read_file(path, &b, err);
	if (r == 0)
		r = fb_json_parse(fb_buf_str(&b), b.len, &idx, err);
	if (r == 0) {
		static const char ann[] = "org.opencontainers.image.ref.name";
		jv ms = jv_object_get(jv_copy(idx), jv_string("manifests"));
		jv keep = jv_array();
		if (jv_get_kind(ms) == JV_KIND_ARRAY) {
			jv_array_foreach(ms, i, m)
			{
				jv name = jv_getpath(jv_copy(m), jv_parse("[\"annotations\",\"org.opencontainers.image.ref.name\"]"));
				bool same = jv_get_kind(name) == JV_KIND_STRING && !strcmp(jv_string_value(name), ref);
				jv_free(name);
				if (same)
					jv_free(m);
				else
					keep = jv_array_append(keep, m);
				(void)i;
			}
		}
		jv_free(ms);
		jv d = jv_object();
		d = jv_object_set(d, jv_string("mediaType"), jv_string(media_type));
		d = jv_object_set(d, jv_string("digest"), jv_string(digest));
		d = jv_object_set(d, jv_string("size"), jv_number((double)size));
		d = jv_object_set(d, jv_string("annotations"), jv_object_set(jv_object(), jv_string(ann), jv_string(ref)));
		keep = jv_array_append(keep, d);
		idx = jv_object_set(idx, jv_string("manifests"), keep);
		char *text = fb_json_dump(idx, false);
		idx = jv_invalid();
		r = fb_write_file_atomic(path, text, strlen(text), 0644, err);
		free(text);
	}
	if (jv_is_valid(idx))
		jv_free(idx);
	fb_buf_free(&b);
	free(path);
	fb_store_unlock(s);
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
