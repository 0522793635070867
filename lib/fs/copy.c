#include "copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archiveapi.h"
#include "err.h"
#include "hashcache.h"
#include "ignore.h"
#include "shlex.h"
#include "tree.h"
#include "util.h"

/* A regular file with several names in the source: the destination name
 * its first copy got, so the others become hard links to it. */
struct link {
	dev_t dev;
	ino_t ino;
	char *drel;
};

/* An excluded directory walked because a '!' pattern may re-include
 * something in it: it is made (with its source's owner, mode and times)
 * only when something in it is copied, as that entry's parent. */
struct pending {
	char *srel;
	char *drel;
	struct stat st;
	bool made;
};

struct walker {
	const struct fb_copy_opts *o;
	int srcfd, dstfd;
	struct fb_sha256 *h; /* hashing instead of copying */
	char *buf;
	struct link *links; /* of the source being copied (BuildKit keeps groups within one source): */
	size_t nlinks, linkcap; /* open addressing on (dev, ino); a pnpm tree has a link per file */
	struct pending *pend;
	size_t npend;
	/* the next entry's parent directory, open, and its name (set by
	 * copy_dir_contents; NULL: none): one fstatat instead of an open, an
	 * fstat and a close per entry */
	int pdfd;
	const char *pname;
};

static bool has_glob(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		else if (*s == '*' || *s == '?' || *s == '[')
			return true;
	}
	return false;
}

/* "a/./b//c/" -> "a/b/c"; NULL when it climbs above the root. */
static char *clean(const char *p)
{
	struct fb_strv comp = FB_STRV_INIT;
	for (const char *s = p; *s;) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (!comp.n) {
				fb_strv_free(&comp);
				return NULL;
			}
			free(comp.v[--comp.n]);
			comp.v[comp.n] = NULL;
		} else if (n && !(n == 1 && *s == '.')) {
			fb_strv_push_owned(&comp, fb_xstrndup(s, n));
		}
		s = e;
	}
	struct fb_buf b = FB_BUF_INIT;
	for (size_t i = 0; i < comp.n; i++) {
		if (i)
			fb_buf_addc(&b, '/');
		fb_buf_adds(&b, comp.v[i]);
	}
	fb_strv_free(&comp);
	return fb_buf_steal(&b);
}

static bool skipped(const struct walker *w, const char *rel, const char *below)
{
	if (!*rel)
		return false;
	if (w->o->nignore && fb_ignore_excluded(w->o->ignore, w->o->nignore, rel))
		return true;
	if (w->o->nexclude && (fb_ignore_excluded(w->o->exclude, w->o->nexclude, rel) ||
			       (below && *below && fb_ignore_excluded(w->o->exclude, w->o->nexclude, below))))
		return true;
	return false;
}

/* lstat inside the source root (no link above rel leads out of it). */
static int src_lstat(const struct walker *w, const char *rel, struct stat *st)
{
	int fd = fb_tree_open(w->srcfd, rel, O_PATH | O_NOFOLLOW, 0);
	int r = fd >= 0 ? fstat(fd, st) : -1;
	if (fd >= 0)
		close(fd);
	return r;
}

/* An excluded path that is a directory some '!' pattern may re-include
 * something in: it is walked all the same. */
static bool walked_anyway(const struct walker *w, const char *rel, const char *below)
{
	struct stat st;
	if (src_lstat(w, rel, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	return (w->o->nignore && fb_ignore_may_reinclude(w->o->ignore, w->o->nignore, rel)) ||
	       (w->o->nexclude && (fb_ignore_may_reinclude(w->o->exclude, w->o->nexclude, rel) ||
				   (below && *below && fb_ignore_may_reinclude(w->o->exclude, w->o->nexclude, below))));
}

/* In the source as BuildKit would see it: not excluded, or a directory
 * kept as the parent of something re-included. */
static bool present(const struct walker *w, const char *rel)
{
	return !skipped(w, rel, NULL) || walked_anyway(w, rel, NULL);
}

/* The names in the directory dfd (opened for reading; read with getdents64
 * on dfd itself, not a second open for a DIR stream), sorted. */
static int sorted_names(int dfd, struct fb_strv *names)
{
	union {
		struct dirent64 e;
		char b[16384];
	} u;
	ssize_t n;
	while ((n = getdents64(dfd, u.b, sizeof(u.b))) > 0) {
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *e = (const struct dirent64 *)(u.b + off);
			off += e->d_reclen;
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				fb_strv_push(names, e->d_name);
		}
	}
	fb_strv_sort(names);
	return n < 0 ? -1 : 0;
}

/* Wildcards, one path component at a time, inside the source root. */
static int glob_in(struct walker *w, const char *dir, char **comp, size_t n, struct fb_strv *out)
{
	if (!n) {
		fb_strv_push(out, dir);
		return 0;
	}
	if (!has_glob(comp[0])) {
		char *next = *dir ? fb_xasprintf("%s/%s", dir, comp[0]) : fb_xstrdup(comp[0]);
		int fd = fb_tree_open(w->srcfd, next, O_PATH, 0);
		if (fd >= 0) {
			close(fd);
			glob_in(w, next, comp + 1, n - 1, out);
		}
		free(next);
		return 0;
	}
	int dfd = fb_tree_open(w->srcfd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return 0;
	struct fb_strv names = FB_STRV_INIT;
	sorted_names(dfd, &names);
	close(dfd);
	for (size_t i = 0; i < names.n; i++) {
		if (!fb_shell_match(comp[0], strlen(comp[0]), names.v[i], strlen(names.v[i])))
			continue;
		char *next = *dir ? fb_xasprintf("%s/%s", dir, names.v[i]) : fb_xstrdup(names.v[i]);
		glob_in(w, next, comp + 1, n - 1, out);
		free(next);
	}
	fb_strv_free(&names);
	return 0;
}

/* The sources as paths relative to the source root, checked. A wildcard
 * that matches nothing adds nothing (BuildKit's AllowEmptyWildcard, so
 * `COPY package.json yarn.lock* ./` works without a yarn.lock); a path
 * without one must be there. */
static int expand(struct walker *w, char *const *srcs, size_t n, struct fb_strv *out, struct fb_strv *bases,
		  struct fb_err *err)
{
	for (size_t i = 0; i < n; i++) {
		/* --parents: what is above a "/./" pivot is not kept (BuildKit) */
		const char *pivot = w->o->parents ? strstr(srcs[i], "/./") : NULL;
		char *base = pivot ? fb_xstrndup(srcs[i], (size_t)(pivot - srcs[i])) : fb_xstrdup("");
		char *cb = clean(base);
		free(base);
		size_t before = out->n;
		char *c = clean(srcs[i]);
		if (!c || !cb) {
			free(c);
			free(cb);
			return fb_err_set(err, FB_EXIT_USAGE, "outside_context",
					  "%s %s: the path is outside the build context (.. climbs above it)", w->o->what, srcs[i]);
		}
		if (has_glob(c)) {
			struct fb_strv comp = FB_STRV_INIT, found = FB_STRV_INIT;
			char *t = fb_xstrdup(c), *save = NULL;
			for (char *p = strtok_r(t, "/", &save); p; p = strtok_r(NULL, "/", &save))
				fb_strv_push(&comp, p);
			free(t);
			glob_in(w, "", comp.v, comp.n, &found);
			for (size_t j = 0; j < found.n; j++)
				if (present(w, found.v[j]))
					fb_strv_push(out, found.v[j]);
			fb_strv_free(&comp);
			fb_strv_free(&found);
		} else {
			int fd = fb_tree_open(w->srcfd, c, O_PATH, 0);
			if (fd < 0 || !present(w, c)) {
				int e = errno;
				if (fd >= 0)
					close(fd);
				int r = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s %s: not found %s%s%s", w->o->what, srcs[i],
						   w->o->keep_owners ? "in the --from stage or image"
								     : "in the build context or excluded by .dockerignore",
						   fd < 0 ? ": " : "", fd < 0 ? strerror(e) : "");
				free(c);
				free(cb);
				return r;
			}
			close(fd);
			fb_strv_push(out, c);
		}
		for (size_t j = before; j < out->n; j++)
			fb_strv_push(bases, cb);
		free(c);
		free(cb);
	}
	return 0;
}

static void hash_str(struct walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hash_str(struct walker *w, const char *fmt, ...)
{
	/* a line an entry: on the stack, unless a long name needs more */
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if ((size_t)n < sizeof(small)) {
		fb_sha256_update(w->h, small, (size_t)n + 1);
		return;
	}
	char *s = NULL;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	fb_sha256_update(w->h, s, (size_t)n + 1);
	free(s);
}

/* hash_str(w, "F %s %o %lld %s", ...) without printf: a line a context
 * file, thousands in a cached rebuild */
static void hash_file_line(struct walker *w, const char *drel, mode_t mode, long long size, const char *digest)
{
	char line[512], tmp[24];
	size_t dl = strlen(drel), gl = strlen(digest);
	if (size < 0 || dl + gl + 64 > sizeof(line)) {
		hash_str(w, "F %s %o %lld %s", drel, mode, size, digest);
		return;
	}
	char *p = line;
	*p++ = 'F';
	*p++ = ' ';
	memcpy(p, drel, dl);
	p += dl;
	*p++ = ' ';
	int n = 0;
	unsigned m = mode;
	do {
		tmp[n++] = (char)('0' + (m & 7));
		m >>= 3;
	} while (m);
	while (n)
		*p++ = tmp[--n];
	*p++ = ' ';
	unsigned long long v = (unsigned long long)size;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	*p++ = ' ';
	memcpy(p, digest, gl);
	p += gl;
	*p++ = '\0';
	fb_sha256_update(w->h, line, (size_t)(p - line));
}

static mode_t file_mode(const struct walker *w, mode_t m)
{
	return w->o->chmod ? w->o->mode : (m & 07777);
}

/* --chown, else the source's owner for a stage or an image, else root
 * (the build context's files are root's, as BuildKit sends them). */
static uid_t uid_of(const struct walker *w, const struct stat *st)
{
	return w->o->chown ? w->o->uid : w->o->keep_owners && st ? st->st_uid : 0;
}

static gid_t gid_of(const struct walker *w, const struct stat *st)
{
	return w->o->chown ? w->o->gid : w->o->keep_owners && st ? st->st_gid : 0;
}

static int owner(const struct walker *w, int fd, const char *name, int flags)
{
	return fchownat(fd, name, uid_of(w, NULL), gid_of(w, NULL), flags);
}

/* What BuildKit's copier gives each entry it copies: the owner, the mode
 * (--chmod, else the source's; a link has none) and the source's times,
 * nanoseconds included. */
static int set_meta(const struct walker *w, int pfd, const char *base, const struct stat *st)
{
	if (fchownat(pfd, base, uid_of(w, st), gid_of(w, st), AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	/* after chown, which clears setuid */
	if (!S_ISLNK(st->st_mode) && fchmodat(pfd, base, file_mode(w, st->st_mode), 0) < 0)
		return -1;
	struct timespec ts[2] = { st->st_mtim, st->st_mtim };
	return utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
}

/* The source's extended attributes (security.capability, user.*, ...),
 * set after owner and mode as BuildKit's copyXAttrs does (a chown would
 * drop a capability); one the destination cannot take is left out, as
 * BuildKit only logs it. Hashing, they go into the hash. */
static void xattrs_to(struct walker *w, int src, int dst, struct fb_sha256 *h)
{
	char *names = w->buf, *val = w->buf + (1 << 16);
	ssize_t n = flistxattr(src, names, 1 << 16);
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1) {
		ssize_t v = fgetxattr(src, names + i, val, (1 << 20) - (1 << 16));
		if (v < 0)
			continue;
		if (h) {
			fb_sha256_update(h, names + i, strlen(names + i) + 1);
			fb_sha256_update(h, val, (size_t)v);
		} else if (fsetxattr(dst, names + i, val, (size_t)v, 0) < 0) {
			/* left out */
		}
	}
}

static void copy_xattrs(struct walker *w, int src, int dst)
{
	xattrs_to(w, src, dst, w->h);
}

/* A regular file's content digest for the key: its bytes, then its
 * xattrs; remembered by the hash cache, so an unchanged file is only
 * looked at (stat), not read. */
static int file_digest(struct walker *w, const char *srel, const struct stat *st, bool top, char out[72],
		       struct fb_err *err)
{
	if (w->o->hashes && fb_hashcache_get(w->o->hashes, st, out))
		return 0;
	int rfd = fb_tree_open(w->srcfd, srel, O_RDONLY | (top ? 0 : O_NOFOLLOW), 0);
	if (rfd < 0)
		return fb_err_errno(err, errno, "%s: read /%s", w->o->what, srel);
	struct fb_sha256 fh;
	fb_sha256_init(&fh);
	ssize_t n;
	while ((n = read(rfd, w->buf, 1 << 20)) > 0)
		fb_sha256_update(&fh, w->buf, (size_t)n);
	if (n < 0) {
		int e = errno;
		fb_sha256_free(&fh);
		close(rfd);
		return fb_err_errno(err, e, "%s: read /%s", w->o->what, srel);
	}
	fb_sha256_update(&fh, "\0xattrs", 8);
	xattrs_to(w, rfd, -1, &fh);
	/* the file as it is now: a write, a chmod or an xattr set while it
	 * was read shows here, and then what was read is not remembered */
	struct stat now;
	bool same = fstat(rfd, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
		    now.st_size == st->st_size && now.st_mtim.tv_sec == st->st_mtim.tv_sec &&
		    now.st_mtim.tv_nsec == st->st_mtim.tv_nsec && now.st_ctim.tv_sec == st->st_ctim.tv_sec &&
		    now.st_ctim.tv_nsec == st->st_ctim.tv_nsec;
	close(rfd);
	fb_sha256_final(&fh, out);
	if (w->o->hashes && same)
		(void)fb_hashcache_put(w->o->hashes, st, out);
	return 0;
}

/* The same for a directory, both sides opened by name. */
static void copy_dir_xattrs(struct walker *w, const char *srel, int pfd, const char *base)
{
	int s = fb_tree_open(w->srcfd, srel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	int d = w->h ? -1 : openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s >= 0 && (w->h || d >= 0))
		copy_xattrs(w, s, d);
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
}

/* Directories the copy makes around what it copies (the destination and
 * its parents): --chmod's mode, else 0755; --chown's owner, else root. */
static int made_dirs(struct walker *w, const char *rel, struct fb_err *err)
{
	return fb_tree_mkdirs(w->dstfd, rel, w->o->chmod ? w->o->mode : 0755, w->o->chown ? w->o->uid : 0,
			      w->o->chown ? w->o->gid : 0, NULL, err);
}

/* The parent of drel in the destination (made when missing). */
static int dest_parent(struct walker *w, const char *drel, const char **base, struct fb_err *err)
{
	const char *slash = strrchr(drel, '/');
	char *parent = slash ? fb_xstrndup(drel, (size_t)(slash - drel)) : fb_xstrdup("");
	*base = slash ? slash + 1 : drel;
	int fd = made_dirs(w, parent, err);
	if (fd < 0)
		fb_err_prefix(err, "%s: destination", w->o->what);
	free(parent);
	return fd;
}

/* Remove what is at base (a directory is never replaced by a file). */
static int make_room(int pfd, const char *base)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	return unlinkat(pfd, base, 0);
}

static int not_dir_error(struct walker *w, const char *drel, struct fb_err *err)
{
	return fb_err_set(err, FB_EXIT_USAGE, "invalid",
			  "%s: cannot copy a directory onto /%s, which is not a directory (a file or a symbolic link; "
			  "BuildKit refuses it too)",
			  w->o->what, drel);
}

/* A directory below the top of the copy: made when missing, merged into
 * when there; its owner, mode and times are set once its contents are in. */
static int open_dir(struct walker *w, const char *srel, const struct stat *st, const char *drel, struct fb_err *err)
{
	if (w->h) {
		hash_str(w, "D %s %o", drel, file_mode(w, st->st_mode));
		copy_dir_xattrs(w, srel, -1, NULL);
		return 0;
	}
	const char *base;
	int pfd = dest_parent(w, drel, &base, err);
	if (pfd < 0)
		return -1;
	struct stat dst;
	int ret = 0;
	if (fstatat(pfd, base, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(dst.st_mode))
			ret = not_dir_error(w, drel, err);
	} else if (errno != ENOENT || mkdirat(pfd, base, 0700) < 0) {
		ret = fb_err_errno(err, errno, "%s: mkdir /%s", w->o->what, drel);
	}
	close(pfd);
	return ret;
}

static int close_dir(struct walker *w, const char *srel, const struct stat *st, const char *drel, struct fb_err *err)
{
	if (w->h)
		return 0;
	const char *base;
	int pfd = dest_parent(w, drel, &base, err);
	if (pfd < 0)
		return -1;
	int ret = set_meta(w, pfd, base, st) < 0 ? fb_err_errno(err, errno, "%s: set owner and mode of /%s", w->o->what, drel) : 0;
	if (ret == 0)
		copy_dir_xattrs(w, srel, pfd, base);
	close(pfd);
	return ret;
}

/* Excluded directories waiting to be made: made now, outermost first. */
static int make_pending(struct walker *w, struct fb_err *err)
{
	for (size_t i = 0; i < w->npend; i++) {
		if (w->pend[i].made)
			continue;
		if (open_dir(w, w->pend[i].srel, &w->pend[i].st, w->pend[i].drel, err) < 0)
			return -1;
		w->pend[i].made = true;
	}
	return 0;
}

/* The first name of a file with several: NULL, and this name noted. */
static size_t link_slot(const struct link *t, size_t cap, dev_t dev, ino_t ino)
{
	size_t i = ((size_t)ino * 0x9e3779b97f4a7c15ULL ^ (size_t)dev) & (cap - 1);
	while (t[i].drel && !(t[i].dev == dev && t[i].ino == ino))
		i = (i + 1) & (cap - 1);
	return i;
}

static const char *link_source(struct walker *w, const struct stat *st, const char *drel)
{
	if (st->st_nlink < 2)
		return NULL;
	if ((w->nlinks + 1) * 2 > w->linkcap) {
		size_t cap = w->linkcap ? w->linkcap * 2 : 64;
		struct link *t = fb_xcalloc(cap, sizeof(*t));
		for (size_t i = 0; i < w->linkcap; i++)
			if (w->links[i].drel)
				t[link_slot(t, cap, w->links[i].dev, w->links[i].ino)] = w->links[i];
		free(w->links);
		w->links = t;
		w->linkcap = cap;
	}
	struct link *l = &w->links[link_slot(w->links, w->linkcap, st->st_dev, st->st_ino)];
	if (l->drel)
		return l->drel;
	*l = (struct link){ st->st_dev, st->st_ino, fb_xstrdup(drel) };
	w->nlinks++;
	return NULL;
}

static void forget_links(struct walker *w)
{
	for (size_t i = 0; i < w->linkcap; i++)
		free(w->links[i].drel);
	free(w->links);
	w->links = NULL;
	w->nlinks = w->linkcap = 0;
}

static int write_file(struct walker *w, int src, const struct stat *st, const char *drel, struct fb_err *err)
{
	const char *base;
	int pfd = dest_parent(w, drel, &base, err);
	if (pfd < 0)
		return -1;
	int ret = 0;
	if (make_room(pfd, base) < 0) {
		ret = errno == EISDIR ? fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: cannot replace the directory /%s with a file",
						   w->o->what, drel)
				      : fb_err_errno(err, errno, "%s: cannot replace /%s", w->o->what, drel);
		goto out;
	}
	const char *first = link_source(w, st, drel);
	if (first) {
		/* the first name resolves inside the tree: it was made there */
		const char *fbase;
		int ffd = dest_parent(w, first, &fbase, err);
		if (ffd < 0) {
			ret = -1;
			goto out;
		}
		if (linkat(ffd, fbase, pfd, base, 0) < 0)
			ret = fb_err_errno(err, errno, "%s: hard link /%s to /%s", w->o->what, drel, first);
		close(ffd);
		goto out;
	}
	int out = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = fb_err_errno(err, errno, "%s: create /%s", w->o->what, drel);
		goto out;
	}
	off_t left = st->st_size;
	while (left > 0) {
		ssize_t n = copy_file_range(src, NULL, out, NULL, (size_t)left, 0);
		if (n <= 0) {
			/* another file system, or none of that: plain reads */
			ssize_t r;
			while ((r = read(src, w->buf, 1 << 20)) > 0)
				if (write(out, w->buf, (size_t)r) != r) {
					r = -1;
					break;
				}
			if (r < 0)
				ret = fb_err_errno(err, errno, "%s: write /%s", w->o->what, drel);
			break;
		}
		left -= n;
	}
	if (ret == 0 && set_meta(w, pfd, base, st) < 0)
		ret = fb_err_errno(err, errno, "%s: set owner and mode of /%s", w->o->what, drel);
	if (ret == 0)
		copy_xattrs(w, src, out);
	close(out);
out:
	close(pfd);
	return ret;
}

static int copy_entry(struct walker *w, const char *srel, const char *drel, bool top, struct fb_err *err);

/* "dir/name", or "name" at the top (a walk makes three an entry: no printf) */
static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = fb_xmalloc(a + b + 2);
	if (a) {
		memcpy(p, dir, a);
		p[a++] = '/';
	}
	memcpy(p + a, name, b + 1);
	return p;
}

static int copy_dir_contents(struct walker *w, const char *srel, const char *drel, const char *below,
			     struct fb_err *err);

/* The entries of the source directory dfd (srel; dfd is closed here). */
static int dir_contents(struct walker *w, int dfd, const char *srel, const char *drel, const char *below,
			struct fb_err *err)
{
	struct fb_strv names = FB_STRV_INIT;
	if (sorted_names(dfd, &names) < 0) {
		int e = errno;
		close(dfd);
		fb_strv_free(&names);
		return fb_err_errno(err, e, "%s: read /%s", w->o->what, srel);
	}
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < names.n; i++) {
		char *s = join(srel, names.v[i]);
		char *b = join(below ? below : "", names.v[i]);
		char *d = join(drel, names.v[i]);
		if (!skipped(w, s, b)) {
			w->pdfd = dfd;
			w->pname = names.v[i];
			ret = copy_entry(w, s, d, false, err);
		} else if (walked_anyway(w, s, b)) {
			/* an excluded directory: what a '!' pattern brings back
			 * comes with it as its parent */
			struct pending p = { .srel = s, .drel = d };
			src_lstat(w, s, &p.st);
			w->pend = fb_xrealloc(w->pend, (w->npend + 1) * sizeof(*w->pend));
			w->pend[w->npend++] = p;
			ret = copy_dir_contents(w, s, d, b, err);
			p = w->pend[--w->npend];
			if (ret == 0 && p.made)
				ret = close_dir(w, s, &p.st, d, err);
		}
		free(d);
		free(s);
		free(b);
	}
	close(dfd);
	fb_strv_free(&names);
	return ret;
}

static int copy_dir_contents(struct walker *w, const char *srel, const char *drel, const char *below,
			     struct fb_err *err)
{
	int dfd = fb_tree_open(w->srcfd, srel, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return fb_err_errno(err, errno, "%s: read /%s", w->o->what, srel);
	return dir_contents(w, dfd, srel, drel, below, err);
}

/* Hashing, a directory below the top of a source, found in the directory
 * pdfd (beneath the root) as name: opened once from there (one name, not
 * followed), its line and xattrs hashed as open_dir does, its entries
 * listed from the same descriptor. */
static int hash_dir(struct walker *w, int pdfd, const char *name, const struct stat *st, const char *srel,
		    const char *drel, struct fb_err *err)
{
	int dfd = openat(pdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return fb_err_errno(err, errno, "%s: read /%s", w->o->what, srel);
	hash_str(w, "D %s %o", drel, file_mode(w, st->st_mode));
	copy_xattrs(w, dfd, -1);
	return dir_contents(w, dfd, srel, drel, NULL, err);
}

/* The top of a directory's copy: the destination itself. Missing, it is
 * made like the destination's parents (--chmod's mode or 0755, --chown's
 * owner or root); there already, its owner and mode stay. Either way it
 * takes the source directory's times once its contents are in (BuildKit:
 * tonistiigi/fsutil copy.go, prepareTargetDir and copy's
 * restoreFileTimestamp). */
static int copy_top_dir(struct walker *w, const struct stat *st, const char *srel, const char *drel, struct fb_err *err)
{
	if (w->h) {
		hash_str(w, "T %s", drel);
		return copy_dir_contents(w, srel, drel, NULL, err);
	}
	int fd = made_dirs(w, drel, err);
	if (fd < 0) {
		fb_err_prefix(err, "%s: destination", w->o->what);
		return -1;
	}
	close(fd);
	if (copy_dir_contents(w, srel, drel, NULL, err) < 0)
		return -1;
	fd = fb_tree_open(w->dstfd, drel, O_RDONLY | O_DIRECTORY, 0);
	struct timespec ts[2] = { st->st_mtim, st->st_mtim };
	int ret = fd < 0 || futimens(fd, ts) < 0 ? fb_err_errno(err, errno, "%s: times of /%s", w->o->what, drel) : 0;
	if (fd >= 0)
		close(fd);
	return ret;
}

static int copy_entry(struct walker *w, const char *srel, const char *drel, bool top, struct fb_err *err)
{
	struct stat st;
	int fd;
	const char *name = NULL;
	if (w->pname && !top) {
		/* one name in a directory opened beneath the root, not followed */
		name = w->pname;
		w->pname = NULL;
		if (fstatat(w->pdfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return fb_err_errno(err, errno, "%s: /%s", w->o->what, srel);
	} else {
		w->pname = NULL;
		fd = fb_tree_open(w->srcfd, srel, O_PATH | (top ? 0 : O_NOFOLLOW), 0);
		if (fd < 0 || fstat(fd, &st) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return fb_err_errno(err, e, "%s: /%s", w->o->what, srel);
		}
		close(fd);
	}
	if (make_pending(w, err) < 0)
		return -1;
	int ret = 0;
	if (S_ISDIR(st.st_mode)) {
		if (top)
			return copy_top_dir(w, &st, srel, drel, err);
		if (w->h && name)
			return hash_dir(w, w->pdfd, name, &st, srel, drel, err);
		if (open_dir(w, srel, &st, drel, err) < 0 || copy_dir_contents(w, srel, drel, NULL, err) < 0)
			return -1;
		return close_dir(w, srel, &st, drel, err);
	}
	if (S_ISREG(st.st_mode) && w->h) {
		const char *first = link_source(w, &st, drel);
		if (first) {
			hash_str(w, "H %s %s", drel, first);
			return 0;
		}
		char fd72[72];
		if (file_digest(w, srel, &st, top, fd72, err) < 0)
			return -1;
		hash_file_line(w, drel, file_mode(w, st.st_mode), (long long)st.st_size, fd72);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		int rfd = fb_tree_open(w->srcfd, srel, O_RDONLY | (top ? 0 : O_NOFOLLOW), 0);
		if (rfd < 0) {
			ret = fb_err_errno(err, errno, "%s: read /%s", w->o->what, srel);
		} else {
			ret = write_file(w, rfd, &st, drel, err);
		}
		if (rfd >= 0)
			close(rfd);
		return ret;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		fd = fb_tree_open(w->srcfd, srel, O_PATH | O_NOFOLLOW, 0);
		ssize_t n = fd >= 0 ? readlinkat(fd, "", target, sizeof(target) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n < 0)
			return fb_err_errno(err, errno, "%s: readlink /%s", w->o->what, srel);
		target[n] = '\0';
		if (w->h) {
			hash_str(w, "L %s %s", drel, target);
			return 0;
		}
		const char *base;
		int pfd = dest_parent(w, drel, &base, err);
		if (pfd < 0)
			return -1;
		if (make_room(pfd, base) < 0 || symlinkat(target, pfd, base) < 0 || set_meta(w, pfd, base, &st) < 0)
			ret = fb_err_errno(err, errno, "%s: symlink /%s", w->o->what, drel);
		close(pfd);
		return ret;
	}
	if (S_ISFIFO(st.st_mode)) {
		if (w->h) {
			hash_str(w, "P %s %o", drel, file_mode(w, st.st_mode));
			return 0;
		}
		const char *base;
		int pfd = dest_parent(w, drel, &base, err);
		if (pfd < 0)
			return -1;
		if (make_room(pfd, base) < 0 || mkfifoat(pfd, base, 0600) < 0 || set_meta(w, pfd, base, &st) < 0)
			ret = fb_err_errno(err, errno, "%s: mkfifo /%s", w->o->what, drel);
		close(pfd);
		return ret;
	}
	/* devices and sockets are not copied: a context has no use for them
	 * and must not plant device nodes in an image */
	return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: /%s: a device or socket cannot be copied", w->o->what, srel);
}

static bool is_dir_in_dest(struct walker *w, const char *drel)
{
	int fd = fb_tree_open(w->dstfd, drel, O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A file's destination that names a symbolic link is written through it,
 * to where the link leads inside the tree, even when nothing is there yet
 * (BuildKit resolves the whole destination with continuity's fs.RootPath;
 * moby/buildkit#1260); the link stays. A name inside a directory the
 * destination is (COPY f /dir/) replaces a link of that name instead. */
static char *through_links(struct walker *w, const char *drel)
{
	char *cur = fb_xstrdup(drel), root[4096], link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", w->dstfd);
	ssize_t rl = readlink(link, root, sizeof(root) - 1);
	if (rl < 0)
		return cur;
	root[rl] = '\0';
	for (int hops = 0; hops < 40 && *cur; hops++) {
		const char *slash = strrchr(cur, '/');
		char *parent = slash ? fb_xstrndup(cur, (size_t)(slash - cur)) : fb_xstrdup("");
		const char *base = slash ? slash + 1 : cur;
		int pfd = fb_tree_open(w->dstfd, parent, O_PATH | O_DIRECTORY, 0);
		free(parent);
		char target[4096], real[4096];
		ssize_t n = pfd >= 0 ? readlinkat(pfd, base, target, sizeof(target) - 1) : -1;
		if (n >= 0) {
			/* where the parent really is, inside the tree */
			snprintf(link, sizeof(link), "/proc/self/fd/%d", pfd);
			ssize_t m = readlink(link, real, sizeof(real) - 1);
			n = m < 0 || (size_t)m < (size_t)rl || strncmp(real, root, (size_t)rl) ? -1 : n;
			if (n >= 0)
				real[m] = '\0';
		}
		if (pfd >= 0)
			close(pfd);
		if (n < 0)
			break;
		target[n] = '\0';
		char *buf = fb_xasprintf("%s/%s", target[0] == '/' ? "" : real + rl, target);
		/* .. above the root stays at the root, as in a chroot */
		struct fb_strv comp = FB_STRV_INIT;
		char *save = NULL;
		for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			if (!strcmp(c, "..")) {
				if (comp.n) {
					free(comp.v[--comp.n]);
					comp.v[comp.n] = NULL;
				}
			} else if (strcmp(c, ".")) {
				fb_strv_push(&comp, c);
			}
		}
		free(buf);
		struct fb_buf b = FB_BUF_INIT;
		for (size_t i = 0; i < comp.n; i++)
			fb_buf_addf(&b, "%s%s", i ? "/" : "", comp.v[i]);
		fb_strv_free(&comp);
		free(cur);
		cur = b.len ? fb_buf_steal(&b) : (fb_buf_free(&b), fb_xstrdup(""));
	}
	return cur;
}

/* The destination as a path relative to the tree's root; *dir when it
 * must be a directory (trailing slash). */
static char *dest_path(const struct fb_copy_opts *o, const char *dest, bool *dir)
{
	size_t n = strlen(dest);
	*dir = n && (dest[n - 1] == '/' || (n >= 2 && !strcmp(dest + n - 2, "/.")) || !strcmp(dest, "."));
	char *abs = dest[0] == '/' ? fb_xstrdup(dest) : fb_xasprintf("%s/%s", o->workdir ? o->workdir : "/", dest);
	char *c = clean(abs);
	free(abs);
	return c ? c : fb_xstrdup(""); /* the root can't be climbed above */
}

static bool is_archive(const char *path)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	bool ok = archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK;
	archive_read_free(a);
	return ok;
}

/* ADD's local archive: extracted into drel, which is made like COPY's
 * destination (--chown's owner, else root; 0755). With --chown every
 * entry gets that owner too, as BuildKit's unpack does. */
static int unpack(struct walker *w, const char *srel, const char *drel, struct fb_err *err)
{
	int dfd = fb_tree_mkdirs(w->dstfd, drel, 0755, w->o->chown ? w->o->uid : 0, w->o->chown ? w->o->gid : 0, NULL, err);
	if (dfd < 0)
		return -1;
	char link[64], dir[4096], src[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	ssize_t n = readlink(link, dir, sizeof(dir) - 1);
	int sfd = fb_tree_open(w->srcfd, srel, O_PATH, 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", sfd);
	ssize_t m = sfd >= 0 ? readlink(link, src, sizeof(src) - 1) : -1;
	close(dfd);
	if (sfd >= 0)
		close(sfd);
	if (n < 0 || m < 0)
		return fb_err_errno(err, errno, "%s %s: resolve", w->o->what, srel);
	dir[n] = src[m] = '\0';
	/* every entry resolves inside the destination directory */
	struct fb_tree_owner own = { w->o->chown, w->o->uid, w->o->gid };
	return fb_tree_apply_archive(dir, src, srel, &own, err);
}

/* --parents: the source's own directories above it (below the pivot,
 * base), made as its copy's parents with the source's owner, mode and
 * times (what goes in then changes the mtime, as in BuildKit, whose
 * createParentDirs sets them first); one already there only takes the
 * source's mode (copyDirectoryOnly with overwriteTargetMetadata). */
static int chmod_dir(struct walker *w, const struct stat *st, const char *drel, struct fb_err *err)
{
	int fd = fb_tree_open(w->dstfd, drel, O_RDONLY | O_DIRECTORY, 0);
	int ret = fd < 0 || fchmod(fd, file_mode(w, st->st_mode)) < 0 ? fb_err_errno(err, errno, "%s: chmod /%s", w->o->what, drel) : 0;
	if (fd >= 0)
		close(fd);
	return ret;
}

static int parents_of(struct walker *w, const char *s, size_t base, const char *d, struct fb_err *err)
{
	int ret = 0;
	for (const char *slash = strchr(s + base, '/'); ret == 0 && slash; slash = strchr(slash + 1, '/')) {
		char *sp = fb_xstrndup(s, (size_t)(slash - s));
		char *dp = *d ? fb_xasprintf("%s/%s", d, sp + base) : fb_xstrdup(sp + base);
		struct stat st;
		if (src_lstat(w, sp, &st) < 0)
			ret = fb_err_errno(err, errno, "%s: /%s", w->o->what, sp);
		else if (!w->h && is_dir_in_dest(w, dp))
			ret = chmod_dir(w, &st, dp, err);
		else if (open_dir(w, sp, &st, dp, err) < 0 || close_dir(w, sp, &st, dp, err) < 0)
			ret = -1;
		free(sp);
		free(dp);
	}
	return ret;
}

static int run(const struct fb_copy_opts *o, char *const *srcs, size_t n, const char *dest, struct fb_sha256 *h,
	       struct fb_err *err)
{
	struct walker w = { .o = o, .h = h, .srcfd = -1, .dstfd = -1 };
	w.srcfd = open(o->src_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w.srcfd < 0)
		return fb_err_errno(err, errno, "%s: source %s", o->what, o->src_root);
	if (!h) {
		w.dstfd = open(o->dest_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (w.dstfd < 0) {
			close(w.srcfd);
			return fb_err_errno(err, errno, "%s: tree %s", o->what, o->dest_root);
		}
	}
	w.buf = fb_xmalloc(1 << 20);
	struct fb_strv found = FB_STRV_INIT, bases = FB_STRV_INIT;
	bool dir;
	char *d = dest_path(o, dest, &dir);
	int ret = expand(&w, srcs, n, &found, &bases, err);
	if (ret == 0 && found.n > 1 && !dir && !(w.dstfd >= 0 && is_dir_in_dest(&w, d)))
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid",
				 "%s: with more than one source file, the destination must be a directory and end with a /",
				 o->what);
	if (ret == 0 && h)
		hash_str(&w, "DEST %s %d %u %u %o %d %d", d, dir, o->chown ? o->uid : 0, o->chown ? o->gid : 0,
			 o->chmod ? o->mode : 0, o->parents, o->keep_owners);
	for (size_t i = 0; ret == 0 && i < found.n; i++) {
		const char *s = found.v[i];
		struct stat st;
		int fd = fb_tree_open(w.srcfd, s, O_PATH, 0);
		if (fd < 0 || fstat(fd, &st) < 0) {
			ret = fb_err_errno(err, errno, "%s %s", o->what, s);
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
		forget_links(&w); /* hard-link groups stay within one source */
		const char *basename = strrchr(s, '/') ? strrchr(s, '/') + 1 : s;
		if (S_ISREG(st.st_mode) && o->unpack) {
			char *full = fb_xasprintf("%s/%s", o->src_root, s);
			bool arch = is_archive(full);
			free(full);
			if (arch) {
				if (h) {
					hash_str(&w, "UNPACK");
					ret = copy_entry(&w, s, d, true, err);
				} else {
					ret = unpack(&w, s, d, err);
				}
				continue;
			}
		}
		if (dir && !h) {
			/* a destination ending in / is made first, even for a file */
			int dfd = made_dirs(&w, d, err);
			if (dfd < 0) {
				ret = -1;
				break;
			}
			close(dfd);
		}
		if (o->parents) {
			size_t b = strlen(bases.v[i]);
			const char *kept = b && !strncmp(s, bases.v[i], b) && s[b] == '/' ? s + b + 1 : s;
			char *target = *d ? fb_xasprintf("%s/%s", d, kept) : fb_xstrdup(kept);
			ret = parents_of(&w, s, (size_t)(kept - s), d, err);
			if (ret == 0)
				ret = copy_entry(&w, s, target, false, err);
			free(target);
		} else if (S_ISDIR(st.st_mode)) {
			ret = copy_entry(&w, s, d, true, err);
		} else {
			bool into = dir || (w.dstfd >= 0 && is_dir_in_dest(&w, d));
			char *target = into ? (*d ? fb_xasprintf("%s/%s", d, basename) : fb_xstrdup(basename))
					    : h ? fb_xstrdup(d) : through_links(&w, d);
			ret = copy_entry(&w, s, target, true, err);
			free(target);
		}
	}
	forget_links(&w);
	free(w.pend);
	free(d);
	fb_strv_free(&found);
	fb_strv_free(&bases);
	free(w.buf);
	close(w.srcfd);
	if (w.dstfd >= 0)
		close(w.dstfd);
	return ret;
}

int fb_copy(const struct fb_copy_opts *o, char *const *srcs, size_t n, const char *dest, struct fb_err *err)
{
	return run(o, srcs, n, dest, NULL, err);
}

int fb_copy_hash(const struct fb_copy_opts *o, char *const *srcs, size_t n, struct fb_sha256 *h, struct fb_err *err)
{
	return run(o, srcs, n, "/", h, err);
}

int fb_copy_data(const struct fb_copy_opts *o, const char *name, const void *data, size_t len, mode_t mode,
		 time_t mtime, const char *dest, struct fb_err *err)
{
	struct walker w = { .o = o, .srcfd = -1 };
	w.dstfd = open(o->dest_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w.dstfd < 0)
		return fb_err_errno(err, errno, "%s: tree %s", o->what, o->dest_root);
	bool dir;
	char *d = dest_path(o, dest, &dir);
	char *target = dir || is_dir_in_dest(&w, d) ? (*d ? fb_xasprintf("%s/%s", d, name) : fb_xstrdup(name))
						    : through_links(&w, d);
	const char *base;
	int ret = 0;
	int pfd = dest_parent(&w, target, &base, err);
	if (pfd < 0) {
		ret = -1;
	} else {
		int out = -1;
		if (make_room(pfd, base) < 0 ||
		    (out = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
		    (len && write(out, data, len) != (ssize_t)len)) {
			ret = fb_err_errno(err, errno, "%s: write /%s", o->what, target);
		} else {
			struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
			if (owner(&w, out, "", AT_EMPTY_PATH) < 0 || fchmod(out, o->chmod ? o->mode : mode) < 0 ||
			    (mtime && futimens(out, ts) < 0))
				ret = fb_err_errno(err, errno, "%s: set owner and mode of /%s", o->what, target);
		}
		if (out >= 0)
			close(out);
		close(pfd);
	}
	free(target);
	free(d);
	close(w.dstfd);
	return ret;
}
