#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archiveapi.h"
#include "err.h"
#include "layerentry.h"
#include "unpack.h"
#include "util.h"

struct ctx {
	int rootfd;
	const char *name;
	const struct fb_tree_owner *own; /* ADD's archive: NULL for a layer */
	struct fb_strv made;  /* paths this layer wrote: opaque dirs keep them */
	struct fb_strv dirs;  /* directories whose times are set at the end */
	struct fb_buf times;  /* their timespecs, two each */
};

static int hostile(struct ctx *c, struct fb_err *err, const char *entry, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int hostile(struct ctx *c, struct fb_err *err, const char *entry, const char *fmt, ...)
{
	char why[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return fb_err_set(err, FB_EXIT_USAGE, "hostile_layer", "layer %s: entry %s: %s", c->name, entry, why);
}

/* Resolve a directory inside the root (symlinks stay inside it). */
static int open_in_root(struct ctx *c, const char *rel, int flags)
{
	if (!*rel)
		return openat(c->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, c->rootfd, rel, &how, sizeof(how));
}

static char *path_in(const struct fb_strv *dir, const char *name);

/* Walk comp[0..n) from the root to a directory as lib/rootfs does, so both
 * appliers accept and refuse the same layers: missing directories are made
 * (0755) when create is set, symbolic links are followed inside the root
 * (fb_lentry_join: absolute targets start at the root, ".." is lexical),
 * and a link whose target climbs above the root is refused. Each step
 * opens one name with O_NOFOLLOW from the directory before it. *out gets
 * an O_PATH fd of the directory, real (when given) its clean path. */
static int walk(struct ctx *c, char *const *comp, size_t n, bool create, const char *entry, int depth, int *out,
		struct fb_strv *real, struct fb_err *err)
{
	struct fb_strv at = FB_STRV_INIT;
	int fd = openat(c->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fb_err_errno(err, errno, "layer %s: entry %s: open the root", c->name, entry);
	for (size_t i = 0; i < n; i++) {
		const char *name = comp[i];
		struct stat st;
		int r = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW);
		if (r < 0 && errno == ENOENT && create) {
			int mr = mkdirat(fd, name, 0755);
			if (mr == 0) /* this layer's, as if it were named: its whiteouts keep it */
				fb_strv_push_owned(&c->made, path_in(&at, name));
			if (mr == 0 || errno == EEXIST)
				r = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW);
		}
		if (r < 0) {
			if (errno == ENOENT)
				fb_err_set(err, FB_EXIT_USAGE, "layer", "layer %s: entry %s: %s does not exist", c->name, entry,
					   name);
			else
				fb_err_errno(err, errno, "layer %s: entry %s: %s", c->name, entry, name);
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[FB_LENTRY_MAX_PATH + 2];
			ssize_t tl = readlinkat(fd, name, target, sizeof(target) - 1);
			if (tl < 0) {
				fb_err_errno(err, errno, "layer %s: entry %s: read the link %s", c->name, entry, name);
				goto fail;
			}
			target[tl] = '\0';
			if (depth > FB_LENTRY_MAX_HOPS) {
				hostile(c, err, entry, "too many levels of symbolic links");
				goto fail;
			}
			struct fb_strv to = FB_STRV_INIT;
			if (fb_lentry_join(at.v, at.n, target, &to) < 0) {
				fb_err_set(err, FB_EXIT_USAGE, "hostile_layer",
					   "layer %s: entry %s: writes through the symbolic link %s -> %s, which points outside the root",
					   c->name, entry, name, target);
				goto fail;
			}
			close(fd);
			fb_strv_free(&at);
			r = walk(c, to.v, to.n, false, entry, depth + 1, &fd, &at, err);
			fb_strv_free(&to);
			if (r < 0)
				return -1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			fb_err_set(err, FB_EXIT_USAGE, "layer", "layer %s: entry %s: %s is not a directory", c->name, entry, name);
			goto fail;
		}
		int d = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d < 0) {
			fb_err_errno(err, errno, "layer %s: entry %s: open %s", c->name, entry, name);
			goto fail;
		}
		close(fd);
		fd = d;
		fb_strv_push(&at, name);
	}
	*out = fd;
	if (real)
		*real = at;
	else
		fb_strv_free(&at);
	return 0;
fail:
	close(fd);
	fb_strv_free(&at);
	return -1;
}

/* rm -rf of one name in a directory, never following a link. */
static int remove_at(int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int r = 0;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			r |= remove_at(fd, e->d_name);
	if (d)
		closedir(d);
	return r | unlinkat(dfd, name, AT_REMOVEDIR);
}

int fb_tree_open(int rootfd, const char *rel, int flags, mode_t mode)
{
	while (*rel == '/')
		rel++;
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.mode = (flags & O_CREAT) ? mode : 0,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
}

static int mkdirs(int rootfd, const char *rel, mode_t mode, uid_t uid, gid_t gid, struct fb_strv *made,
		  struct fb_err *err, int depth);

int fb_tree_mkdirs(int rootfd, const char *rel, mode_t mode, uid_t uid, gid_t gid, struct fb_strv *made,
		   struct fb_err *err)
{
	return mkdirs(rootfd, rel, mode, uid, gid, made, err, 0);
}

/* A link whose target is missing: make the target (inside the root), as
 * Docker does for a COPY or WORKDIR through such a link. */
static void make_link_target(int rootfd, int pfd, const char *parent, const char *name, mode_t mode, uid_t uid,
			     gid_t gid, struct fb_strv *made, int depth)
{
	char target[4096];
	ssize_t n = readlinkat(pfd, name, target, sizeof(target) - 1);
	if (n <= 0 || depth > 40)
		return;
	target[n] = '\0';
	char *p = target[0] == '/' ? fb_xstrdup(target) : fb_xasprintf("%s/%s", parent, target);
	struct fb_err e = { 0 };
	int fd = mkdirs(rootfd, p, mode, uid, gid, made, &e, depth + 1);
	if (fd >= 0)
		close(fd);
	free(p);
}

static int mkdirs(int rootfd, const char *rel, mode_t mode, uid_t uid, gid_t gid, struct fb_strv *made,
		  struct fb_err *err, int depth)
{
	struct fb_buf p = FB_BUF_INIT;
	int fd = fb_tree_open(rootfd, "", O_PATH | O_DIRECTORY, 0);
	for (const char *s = rel; fd >= 0 && *s;) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		if (e == s)
			break;
		char *name = fb_xstrndup(s, (size_t)(e - s));
		if (p.len)
			fb_buf_addc(&p, '/');
		fb_buf_adds(&p, name);
		int d = fb_tree_open(rootfd, fb_buf_str(&p), O_PATH | O_DIRECTORY, 0);
		if (d < 0 && errno == ENOENT && strcmp(name, "..") && strcmp(name, ".")) {
			/* made inside its resolved parent: a link cannot lead it out */
			if (mkdirat(fd, name, mode) == 0) {
				if (fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
					/* not root: the directory stays ours */
				}
				if (fchmodat(fd, name, mode & 07777, 0) < 0) {
					/* cannot happen to our own directory: the umask's mode stays */
				}
				if (made)
					fb_strv_push(made, fb_buf_str(&p));
			} else if (errno == EEXIST) {
				char *parent = fb_xstrndup(p.data, p.len > strlen(name) ? p.len - strlen(name) - 1 : 0);
				make_link_target(rootfd, fd, parent, name, mode, uid, gid, made, depth);
				free(parent);
			}
			d = fb_tree_open(rootfd, fb_buf_str(&p), O_PATH | O_DIRECTORY, 0);
		}
		int e2 = errno;
		free(name);
		close(fd);
		fd = d;
		if (fd < 0) {
			fb_err_set(err, FB_EXIT_USAGE, "path", "%s: %s", fb_buf_str(&p),
				   e2 == ENOTDIR ? "not a directory" : strerror(e2));
			fb_buf_free(&p);
			return -1;
		}
		s = e;
	}
	if (fd < 0)
		fb_err_errno(err, errno, "open the tree's root");
	fb_buf_free(&p);
	return fd;
}

int fb_tree_remove(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? fb_xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : fb_xstrdup(".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -1;
	int r = remove_at(dfd, slash ? slash + 1 : path);
	close(dfd);
	return r;
}

static bool made_here(struct ctx *c, const char *path)
{
	for (size_t i = 0; i < c->made.n; i++)
		if (!strcmp(c->made.v[i], path))
			return true;
	return false;
}

static char *join(const struct fb_strv *comp)
{
	struct fb_buf b = FB_BUF_INIT;
	for (size_t i = 0; i < comp->n; i++) {
		if (i)
			fb_buf_addc(&b, '/');
		fb_buf_adds(&b, comp->v[i]);
	}
	return fb_buf_steal(&b);
}

static int meta(struct ctx *c, int dfd, const char *base, struct archive_entry *ae, bool link)
{
	bool chown = c->own && c->own->set;
	int r = fchownat(dfd, base, chown ? c->own->uid : (uid_t)archive_entry_uid(ae),
			 chown ? c->own->gid : (gid_t)archive_entry_gid(ae), AT_SYMLINK_NOFOLLOW);
	/* after chown, which clears setuid */
	if (!link && r == 0)
		r = fchmodat(dfd, base, archive_entry_perm(ae) & 07777, 0);
	struct timespec ts[2] = { { archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) },
				  { archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) } };
	if (r == 0)
		r = utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return r;
}

/* dir/name as one clean path ("" dir: the root). */
static char *path_in(const struct fb_strv *dir, const char *name)
{
	char *d = join(dir);
	char *p = *d ? fb_xasprintf("%s/%s", d, name) : fb_xstrdup(name);
	free(d);
	return p;
}

/* .wh.NAME hides NAME; .wh..wh..opq (wname NULL) what lower layers put in
 * the directory. What this layer wrote stays. */
static void whiteout(struct ctx *c, int dfd, const struct fb_strv *dir, const char *wname)
{
	if (wname) {
		char *p = path_in(dir, wname);
		if (!made_here(c, p))
			remove_at(dfd, wname);
		free(p);
		return;
	}
	int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = path_in(dir, e->d_name);
		if (!made_here(c, p))
			remove_at(dfd, e->d_name);
		free(p);
	}
	if (d)
		closedir(d);
	else if (rfd >= 0)
		close(rfd);
}

/* A hard link: the target is found as lib/rootfs finds it. */
static int hardlink(struct ctx *c, int dfd, const char *base, const struct fb_lentry *le, const char *entry,
		    const char *hard, bool exists, const struct stat *st, struct fb_err *err)
{
	const struct fb_strv *t = &le->target;
	struct fb_err terr = { 0 };
	int tfd = -1, r = -1;
	struct stat ts;
	if (walk(c, t->v, t->n - 1, false, entry, 0, &tfd, NULL, &terr) < 0 ||
	    fstatat(tfd, t->v[t->n - 1], &ts, AT_SYMLINK_NOFOLLOW) < 0) {
		if (!strcmp(terr.kind, "hostile_layer"))
			*err = terr;
		else
			hostile(c, err, entry, "hard link to %s, which is not in the image", hard);
		goto out;
	}
	if (exists && st->st_dev == ts.st_dev && st->st_ino == ts.st_ino) {
		r = 0; /* already that file */
		goto out;
	}
	if (S_ISDIR(ts.st_mode)) {
		hostile(c, err, entry, "a hard link to a directory (%s)", hard);
		goto out;
	}
	if (exists && remove_at(dfd, base) < 0) {
		fb_err_errno(err, errno, "layer %s: entry %s: replace", c->name, entry);
		goto out;
	}
	if (linkat(tfd, t->v[t->n - 1], dfd, base, 0) < 0) {
		/* the target was inside what this entry replaced */
		if (errno == ENOENT)
			hostile(c, err, entry, "hard link to %s, which is not in the image", hard);
		else
			fb_err_errno(err, errno, "layer %s: entry %s: link", c->name, entry);
		goto out;
	}
	r = 0;
out:
	if (tfd >= 0)
		close(tfd);
	return r;
}

static int apply(struct ctx *c, struct archive *a, struct archive_entry *ae, struct fb_err *err)
{
	const char *entry = archive_entry_pathname(ae);
	struct fb_lentry le;
	struct fb_strv dir = FB_STRV_INIT;
	int ret = -1, dfd = -1;
	char *path = NULL;
	if (fb_lentry_check(ae, c->name, &le, err) < 0)
		goto out;
	if (le.kind == FB_LENTRY_ROOT) {
		/* an archive's "./" does not change the directory it goes into */
		ret = archive_entry_filetype(ae) == AE_IFDIR && !c->own ? meta(c, c->rootfd, ".", ae, false) : 0;
		if (ret < 0)
			fb_err_errno(err, errno, "layer %s: entry %s", c->name, entry);
		goto out;
	}
	if (walk(c, le.comp.v, le.comp.n - 1, true, entry, 0, &dfd, &dir, err) < 0)
		goto out;
	const char *base = le.comp.v[le.comp.n - 1];
	if (le.kind == FB_LENTRY_WHITEOUT || le.kind == FB_LENTRY_OPAQUE) {
		whiteout(c, dfd, &dir, le.wname);
		ret = 0;
		goto out;
	}
	path = path_in(&dir, base);
	struct stat st;
	bool exists = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (le.kind == FB_LENTRY_HARDLINK) {
		ret = hardlink(c, dfd, base, &le, entry, archive_entry_hardlink(ae), exists, &st, err);
		if (ret == 0)
			fb_strv_push(&c->made, path);
		goto out;
	}
	if (exists && !(le.kind == FB_LENTRY_DIR && S_ISDIR(st.st_mode)) && remove_at(dfd, base) < 0) {
		fb_err_errno(err, errno, "layer %s: entry %s: replace", c->name, entry);
		goto out;
	}
	int r = 0;
	switch (le.kind) {
	case FB_LENTRY_FILE: {
		int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			fb_err_errno(err, errno, "layer %s: entry %s: create", c->name, entry);
			goto out;
		}
		const void *buf;
		size_t len;
		la_int64_t off;
		int ar;
		while ((ar = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK || ar == ARCHIVE_WARN)
			if (pwrite(fd, buf, len, off) != (ssize_t)len) {
				r = -1;
				break;
			}
		if (ar < ARCHIVE_WARN)
			r = fb_err_set(err, FB_EXIT_USAGE, "layer", "layer %s: %s: %s", c->name, entry, archive_error_string(a));
		else if (r < 0 || ftruncate(fd, (off_t)le.size) < 0)
			r = fb_err_errno(err, errno, "layer %s: entry %s: write", c->name, entry);
		if (r == 0 && archive_entry_xattr_reset(ae)) {
			const char *xn;
			const void *xv;
			size_t xl;
			while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK)
				fsetxattr(fd, xn, xv, xl, 0);
		}
		close(fd);
		break;
	}
	case FB_LENTRY_DIR:
		if (!exists || !S_ISDIR(st.st_mode))
			r = mkdirat(dfd, base, 0700);
		if (r == 0) {
			fb_strv_push(&c->dirs, path);
			struct timespec ts[2] = { { archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) },
						  { archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) } };
			fb_buf_add(&c->times, ts, sizeof(ts));
		}
		break;
	case FB_LENTRY_SYMLINK:
		r = symlinkat(le.symlink, dfd, base);
		break;
	case FB_LENTRY_CHR:
	case FB_LENTRY_BLK:
		r = mknodat(dfd, base, archive_entry_filetype(ae) | 0600,
			    makedev((unsigned)archive_entry_rdevmajor(ae), (unsigned)archive_entry_rdevminor(ae)));
		break;
	case FB_LENTRY_FIFO:
		r = mkfifoat(dfd, base, 0600);
		break;
	default:
		hostile(c, err, entry, "an unsupported entry type");
		goto out;
	}
	if (r == 0)
		r = meta(c, dfd, base, ae, le.kind == FB_LENTRY_SYMLINK);
	if (r < 0) {
		fb_err_errno(err, errno, "layer %s: entry %s", c->name, entry);
		goto out;
	}
	fb_strv_push(&c->made, path);
	ret = 0;
out:
	if (dfd >= 0)
		close(dfd);
	free(path);
	fb_strv_free(&dir);
	fb_lentry_free(&le);
	return ret;
}

static int apply_cb(void *ctx, struct archive *a, struct archive_entry *ae, struct fb_err *err)
{
	return apply(ctx, a, ae, err);
}

static int apply_file(const char *root, const char *layer, const char *name, const struct fb_tree_owner *own,
		      struct fb_err *err)
{
	struct ctx c = { -1, name, own, FB_STRV_INIT, FB_STRV_INIT, FB_BUF_INIT };
	c.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.rootfd < 0)
		return fb_err_errno(err, errno, "open %s", root);
	int fd = open(layer, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		close(c.rootfd);
		return fb_err_errno(err, errno, "layer %s: open %s", name, layer);
	}
	struct fb_unpack *u;
	struct archive *a;
	int ret = 0;
	if (fb_unpack_open(fd, name, &u, &a, err) < 0) {
		ret = -1;
		goto out;
	}
	ret = fb_unpack_each(a, name, apply_cb, &c, err);
	fb_unpack_free(u);
	/* directories last: their times, which their children changed */
	for (size_t i = c.dirs.n; ret == 0 && i-- > 0;) {
		const char *p = c.dirs.v[i];
		const char *slash = strrchr(p, '/');
		char *par = slash ? fb_xstrndup(p, (size_t)(slash - p)) : fb_xstrdup("");
		int pfd = open_in_root(&c, par, O_PATH | O_DIRECTORY);
		if (pfd >= 0) {
			utimensat(pfd, slash ? slash + 1 : p, (struct timespec *)c.times.data + 2 * i, AT_SYMLINK_NOFOLLOW);
			close(pfd);
		}
		free(par);
	}
out:
	close(fd);
	close(c.rootfd);
	fb_strv_free(&c.made);
	fb_strv_free(&c.dirs);
	fb_buf_free(&c.times);
	return ret;
}

int fb_tree_apply_layer(const char *root, const char *layer, const char *name, struct fb_err *err)
{
	return apply_file(root, layer, name, NULL, err);
}

int fb_tree_apply_archive(const char *root, const char *archive, const char *name, const struct fb_tree_owner *own,
			  struct fb_err *err)
{
	static const struct fb_tree_owner none = { false, 0, 0 };
	return apply_file(root, archive, name, own ? own : &none, err);
}

/* ---- a tree as a tar stream ---- */

struct fb_tree_tar {
	char *root;
	int fd;
	pthread_t thread;
	char error[1024];
};

static void *tar_thread(void *arg)
{
	struct fb_tree_tar *t = arg;
	struct archive *disk = archive_read_disk_new();
	struct archive *out = archive_write_new();
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_ACL |
						     ARCHIVE_READDISK_NO_FFLAGS);
	/* numeric owners only: the tree's ids are the image's, not the host's names */
	archive_read_disk_set_standard_lookup(disk);
	/* pax: a PAX header carries an mtime's nanoseconds (only where there
	 * are some); no atime or ctime, which would make the tar vary */
	archive_write_set_format_pax(out);
	archive_write_set_bytes_per_block(out, 0);
	char *buf = fb_xmalloc(1 << 20);
	/* hard links: the first name carries the data, the others point to it */
	struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
	archive_entry_linkresolver_set_strategy(lr, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
	if (archive_write_open_fd(out, t->fd) != ARCHIVE_OK || archive_read_disk_open(disk, t->root) != ARCHIVE_OK) {
		snprintf(t->error, sizeof(t->error), "%s: %s", t->root, archive_error_string(disk));
		goto out;
	}
	size_t rl = strlen(t->root);
	for (;;) {
		struct archive_entry *e = archive_entry_new();
		int r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r < ARCHIVE_WARN) {
			snprintf(t->error, sizeof(t->error), "%s", archive_error_string(disk));
			archive_entry_free(e);
			break;
		}
		archive_read_disk_descend(disk);
		/* names relative to the tree's root */
		const char *full = archive_entry_sourcepath(e);
		const char *rel = full && !strncmp(full, t->root, rl) ? full + rl : archive_entry_pathname(e);
		while (*rel == '/')
			rel++;
		char *name = fb_xasprintf("./%s", rel);
		archive_entry_copy_pathname(e, name);
		free(name);
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		archive_entry_unset_atime(e);
		archive_entry_unset_ctime(e);
		archive_entry_unset_birthtime(e);
		char *src = fb_xstrdup(full ? full : rel);
		struct archive_entry *spare = NULL;
		archive_entry_linkify(lr, &e, &spare);
		if (spare)
			archive_entry_free(spare);
		if (!e) {
			free(src);
			continue;
		}
		if (archive_write_header(out, e) < ARCHIVE_WARN) {
			snprintf(t->error, sizeof(t->error), "%s: %s", rel, archive_error_string(out));
			free(src);
			archive_entry_free(e);
			break;
		}
		if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
			int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			ssize_t n = 0;
			while (fd >= 0 && (n = read(fd, buf, 1 << 20)) > 0)
				if (archive_write_data(out, buf, (size_t)n) < 0)
					break;
			if (fd < 0 || n < 0)
				snprintf(t->error, sizeof(t->error), "%s: %s", rel, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		free(src);
		archive_entry_free(e);
		if (t->error[0])
			break;
	}
out:
	archive_entry_linkresolver_free(lr);
	archive_write_close(out);
	archive_write_free(out);
	archive_read_free(disk);
	free(buf);
	close(t->fd);
	return NULL;
}

int fb_tree_tar_start(const char *root, int fd, struct fb_tree_tar **out, struct fb_err *err)
{
	struct fb_tree_tar *t = fb_xcalloc(1, sizeof(*t));
	char real[4096];
	if (!realpath(root, real)) {
		free(t);
		return fb_err_errno(err, errno, "tree %s", root);
	}
	t->root = fb_xstrdup(real);
	t->fd = fd;
	if (pthread_create(&t->thread, NULL, tar_thread, t) != 0) {
		free(t->root);
		free(t);
		return fb_err_set(err, FB_EXIT_FAILED, "thread", "tree %s: cannot start a thread", root);
	}
	*out = t;
	return 0;
}

int fb_tree_tar_finish(struct fb_tree_tar *t, struct fb_err *err)
{
	pthread_join(t->thread, NULL);
	int r = t->error[0] ? fb_err_set(err, FB_EXIT_FAILED, "tree", "tree %s: %s", t->root, t->error) : 0;
	free(t->root);
	free(t);
	return r;
}
