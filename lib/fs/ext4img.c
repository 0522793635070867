#include "ext4img.h"

#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fdio.h"
#include "util.h"

static int e2err(struct fb_err *err, errcode_t e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int e2err(struct fb_err *err, errcode_t e, const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e == EXT2_ET_BLOCK_ALLOC_FAIL || e == EXT2_ET_INODE_ALLOC_FAIL || e == EXT2_ET_DIR_NO_SPACE)
		return fb_err_set(err, FB_EXIT_FAILED, "no_space", "%s: the image is full (%s)", what, error_message(e));
	return fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: %s", what, error_message(e));
}

static int open_fs(const char *image, bool rw, ext2_filsys *fs, struct fb_err *err)
{
	static bool tables;
	if (!tables) {
		initialize_ext2_error_table(); /* messages, not "Unknown code ext2 73" */
		tables = true;
	}
	/* not unix I/O: it fsyncs the file as it opens it (lib/fs/fdio.h) */
	errcode_t e = ext2fs_open2(image, NULL, (rw ? EXT2_FLAG_RW : 0) | EXT2_FLAG_64BITS, 0, 0, fb_fdio_io_manager, fs);
	if (e)
		return e2err(err, e, "%s: not an ext4 image", image);
	if (rw && (e = ext2fs_read_bitmaps(*fs))) {
		ext2fs_close_free(fs);
		return e2err(err, e, "%s: read the bitmaps", image);
	}
	return 0;
}

/* ---- a file put in ---- */

/* The directory dir (absolute in the image), links followed inside it;
 * its last component is made when it is missing. */
static int find_dir(ext2_filsys fs, const char *image, const char *dir, ext2_ino_t *out, struct fb_err *err)
{
	errcode_t e = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dir, out);
	if (e == EXT2_ET_FILE_NOT_FOUND) {
		/* its parent must be there: one level is made, as mkdir does */
		char *copy = fb_xstrdup(dir), *slash = strrchr(copy, '/');
		ext2_ino_t parent = EXT2_ROOT_INO;
		const char *leaf = slash ? slash + 1 : copy;
		if (slash && slash != copy) {
			*slash = '\0';
			e = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, copy, &parent);
		} else {
			e = 0;
		}
		if (!e && *leaf)
			e = ext2fs_mkdir(fs, parent, 0, leaf);
		if (e == EXT2_ET_DIR_NO_SPACE && !(e = ext2fs_expand_dir(fs, parent)))
			e = ext2fs_mkdir(fs, parent, 0, leaf);
		free(copy);
		if (!e)
			e = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dir, out);
	}
	if (e)
		return e2err(err, e, "%s: %s", image, dir);
	struct ext2_inode in;
	if ((e = ext2fs_read_inode(fs, *out, &in)))
		return e2err(err, e, "%s: %s", image, dir);
	if (!LINUX_S_ISDIR(in.i_mode))
		return fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: %s is not a directory", image, dir);
	return 0;
}

/* What had the name goes: its entry, and the inode once no name is left. */
static int remove_old(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino, const char *what, struct fb_err *err)
{
	struct ext2_inode in;
	errcode_t e = ext2fs_read_inode(fs, ino, &in);
	if (e)
		return e2err(err, e, "%s", what);
	if (LINUX_S_ISDIR(in.i_mode))
		return fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s is a directory", what);
	if ((e = ext2fs_unlink(fs, dir, name, ino, 0)))
		return e2err(err, e, "%s: remove", what);
	if (in.i_links_count > 1) {
		in.i_links_count--;
	} else {
		if (ext2fs_inode_has_valid_blocks2(fs, &in) && (e = ext2fs_punch(fs, ino, &in, NULL, 0, ~0ULL)))
			return e2err(err, e, "%s: free its blocks", what);
		in.i_links_count = 0;
		in.i_dtime = (uint32_t)time(NULL);
		ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
	}
	if ((e = ext2fs_write_inode(fs, ino, &in)))
		return e2err(err, e, "%s", what);
	return 0;
}

static int put(ext2_filsys fs, const char *image, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
	       gid_t gid, struct fb_err *err)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash + 1;
	if (path[0] != '/' || !*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: not a file's absolute path", path);
	FB_AUTOFREE char *dirpath = slash == path ? fb_xstrdup("/") : fb_xstrndup(path, (size_t)(slash - path));
	FB_AUTOFREE char *what = fb_xasprintf("%s: %s", image, path);
	ext2_ino_t dir, old, ino;
	if (find_dir(fs, image, dirpath, &dir, err) < 0)
		return -1;
	errcode_t e = ext2fs_lookup(fs, dir, name, (int)strlen(name), NULL, &old);
	if (!e && remove_old(fs, dir, name, old, what, err) < 0)
		return -1;
	if ((e = ext2fs_new_inode(fs, dir, LINUX_S_IFREG | 0755, NULL, &ino)))
		return e2err(err, e, "%s", what);
	e = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);
	if (e == EXT2_ET_DIR_NO_SPACE && !(e = ext2fs_expand_dir(fs, dir)))
		e = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);
	if (e)
		return e2err(err, e, "%s", what);
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	struct ext2_inode in = { 0 };
	in.i_mode = (uint16_t)(LINUX_S_IFREG | (mode & 07777));
	in.i_uid = (uint16_t)uid;
	ext2fs_set_i_uid_high(in, uid >> 16);
	in.i_gid = (uint16_t)gid;
	ext2fs_set_i_gid_high(in, gid >> 16);
	in.i_atime = in.i_ctime = in.i_mtime = (uint32_t)time(NULL);
	in.i_links_count = 1;
	if (ext2fs_has_feature_extents(fs->super)) {
		/* an empty extent tree in i_block */
		ext2_extent_handle_t h;
		if ((e = ext2fs_extent_open2(fs, ino, &in, &h)))
			return e2err(err, e, "%s", what);
		ext2fs_extent_free(h);
	}
	if ((e = ext2fs_write_new_inode(fs, ino, &in)))
		return e2err(err, e, "%s", what);
	ext2_file_t f;
	if ((e = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &f)))
		return e2err(err, e, "%s", what);
	for (size_t off = 0; off < len && !e;) {
		unsigned int n = len - off > (1u << 20) ? (1u << 20) : (unsigned int)(len - off), got = 0;
		e = ext2fs_file_write(f, (const char *)data + off, n, &got);
		if (!e && !got)
			e = EXT2_ET_SHORT_WRITE;
		off += got;
	}
	errcode_t ce = ext2fs_file_close(f);
	if (e || (e = ce))
		return e2err(err, e, "%s: write", what);
	return 0;
}

int fb_ext4_put_file(const char *image, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
		     gid_t gid, struct fb_err *err)
{
	ext2_filsys fs;
	if (open_fs(image, true, &fs, err) < 0)
		return -1;
	int r = put(fs, image, path, data, len, mode, uid, gid, err);
	errcode_t e = r == 0 ? ext2fs_close_free(&fs) : (ext2fs_free(fs), 0);
	if (e)
		return e2err(err, e, "%s: write the file system", image);
	return r;
}

/* A directory made when missing (its parent must be there). */
static int put_dir(ext2_filsys fs, const char *image, const char *path, struct fb_err *err)
{
	const char *slash = strrchr(path, '/');
	if (path[0] != '/' || !slash[1])
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: not a directory's absolute path", path);
	ext2_ino_t ino;
	errcode_t e = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
	if (e != EXT2_ET_FILE_NOT_FOUND)
		return e ? e2err(err, e, "%s: %s", image, path) : 0; /* there (a directory, a link, a file): as it is */
	ext2_ino_t dir;
	return find_dir(fs, image, path, &dir, err);
}

/* An optional file that cannot go where it should, known before anything
 * is changed: its directory is there but not a directory, or its name is
 * neither a regular file nor a symbolic link. What fails after (put has
 * changed the image by then) is an error like any other. */
static bool blocked(ext2_filsys fs, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (path[0] != '/' || !slash[1])
		return true;
	FB_AUTOFREE char *dirpath = slash == path ? fb_xstrdup("/") : fb_xstrndup(path, (size_t)(slash - path));
	ext2_ino_t dir, ino;
	struct ext2_inode in;
	if (ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dirpath, &dir))
		return false; /* missing: put makes the last directory, or fails */
	if (ext2fs_read_inode(fs, dir, &in) || !LINUX_S_ISDIR(in.i_mode))
		return true;
	if (ext2fs_lookup(fs, dir, slash + 1, (int)strlen(slash + 1), NULL, &ino))
		return false;
	return ext2fs_read_inode(fs, ino, &in) || !(LINUX_S_ISREG(in.i_mode) || LINUX_S_ISLNK(in.i_mode));
}

/* The regular file at path into out, with no link followed on the way:
 * a link may point where the guest mounts another file system (/run,
 * /tmp, /proc), so what it names here is not what the guest reads. True
 * when read; false when not (a link, another kind of file, larger than
 * FB_EXT4_READ_MAX, unreadable), *absent saying when the path is not
 * there at all (its directories real ones): the guest finds none either. */
static bool read_small(ext2_filsys fs, const char *path, struct fb_buf *out, bool *absent)
{
	ext2_ino_t ino = EXT2_ROOT_INO;
	struct ext2_inode in;
	ext2_file_t f;
	*absent = false;
	for (const char *p = path + strspn(path, "/"); *p;) {
		size_t n = strcspn(p, "/");
		ext2_ino_t next;
		errcode_t e = ext2fs_lookup(fs, ino, p, (int)n, NULL, &next);
		if (e) {
			*absent = e == EXT2_ET_FILE_NOT_FOUND;
			return false;
		}
		p += n;
		p += strspn(p, "/");
		if (*p && (ext2fs_read_inode(fs, next, &in) || !LINUX_S_ISDIR(in.i_mode)))
			return false;
		ino = next;
	}
	if (ext2fs_read_inode(fs, ino, &in) || !LINUX_S_ISREG(in.i_mode) || EXT2_I_SIZE(&in) > FB_EXT4_READ_MAX ||
	    ext2fs_file_open(fs, ino, 0, &f))
		return false;
	size_t want = (size_t)EXT2_I_SIZE(&in), got = 0, at = out->len;
	fb_buf_reserve(out, want);
	errcode_t e = 0;
	while (got < want && !e) {
		unsigned int n = 0;
		e = ext2fs_file_read(f, out->data + at + got, (unsigned int)(want - got), &n);
		if (!e && !n)
			break;
		got += n;
	}
	ext2fs_file_close(f);
	if (e || got != want) {
		out->data[at] = '\0';
		return false;
	}
	out->len = at + got;
	out->data[out->len] = '\0';
	return true;
}

int fb_ext4_put_all(const char *image, struct fb_ext4_entry *ents, size_t n, bool sync, struct fb_err *err)
{
	ext2_filsys fs;
	if (open_fs(image, true, &fs, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct fb_ext4_entry *x = &ents[i];
		if (x->read) {
			x->put = read_small(fs, x->path, x->read, &x->absent);
			continue;
		}
		if (x->optional && x->data && blocked(fs, x->path))
			continue;
		r = x->data ? put(fs, image, x->path, x->data, x->len, x->mode, 0, 0, err) : put_dir(fs, image, x->path, err);
		x->put = r == 0;
	}
	errcode_t e = 0;
	if (r == 0 && (e = ext2fs_close2(fs, sync ? 0 : EXT2_FLAG_FLUSH_NO_SYNC)))
		ext2fs_free(fs);
	else if (r < 0)
		ext2fs_free(fs);
	if (e)
		return e2err(err, e, "%s: write the file system", image);
	return r;
}

int fb_ext4_put_dirs(const char *image, const char *const *dirs, size_t n, struct fb_err *err)
{
	struct fb_ext4_entry *ents = fb_xcalloc(n, sizeof(*ents));
	for (size_t i = 0; i < n; i++)
		ents[i].path = dirs[i];
	int r = fb_ext4_put_all(image, ents, n, true, err);
	free(ents);
	return r;
}

/* ---- the tree copied out ---- */

struct ex {
	ext2_filsys fs;
	const char *image;
	unsigned char *seen; /* directory inodes entered: a corrupt tree cannot loop */
	char *buf;
};

struct dent {
	char *name;
	ext2_ino_t ino;
};

struct dents {
	struct dent *v;
	size_t n, cap;
	bool bad;
};

static int collect(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int off, int bs, char *b, void *ctx)
{
	(void)dir, (void)entry, (void)off, (void)bs, (void)b;
	struct dents *l = ctx;
	size_t n = ext2fs_dirent_name_len(d);
	if ((n == 1 && d->name[0] == '.') || (n == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	/* a name with a slash or a NUL would be a path on the host */
	if (!n || memchr(d->name, '/', n) || memchr(d->name, '\0', n)) {
		l->bad = true;
		return DIRENT_ABORT;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = fb_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct dent){ fb_xstrndup(d->name, n), d->inode };
	return 0;
}

static void dents_free(struct dents *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
}

/* Owner, mode (chmod after chown: the kernel would drop setuid on chown
 * anyway) and times, on fd, or on name in dirfd for a link. */
static int attrs(int fd, int dirfd, const char *name, const struct ext2_inode *in, mode_t mode, const char *what,
		 struct fb_err *err)
{
	struct timespec ts[2] = { { .tv_sec = in->i_atime }, { .tv_sec = in->i_mtime } };
	if (fd >= 0) {
		if (fchown(fd, inode_uid(*in), inode_gid(*in)) < 0 || fchmod(fd, mode) < 0 || futimens(fd, ts) < 0)
			return fb_err_errno(err, errno, "%s", what);
		return 0;
	}
	if (fchownat(dirfd, name, inode_uid(*in), inode_gid(*in), AT_SYMLINK_NOFOLLOW) < 0 ||
	    utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return fb_err_errno(err, errno, "%s", what);
	return 0;
}

static int copy_file(struct ex *x, ext2_ino_t ino, int fd, uint64_t size, const char *what, struct fb_err *err)
{
	ext2_file_t f;
	errcode_t e = ext2fs_file_open(x->fs, ino, 0, &f);
	if (e)
		return e2err(err, e, "%s", what);
	const size_t chunk = 1u << 20;
	for (uint64_t off = 0; off < size && !e;) {
		unsigned int got = 0, want = (unsigned int)(size - off < chunk ? size - off : chunk);
		e = ext2fs_file_read(f, x->buf, want, &got);
		if (e || !got)
			break;
		/* all zero: a hole here too */
		bool zero = true;
		for (unsigned int i = 0; i < got && zero; i++)
			zero = !x->buf[i];
		if (zero ? lseek(fd, got, SEEK_CUR) < 0 : write(fd, x->buf, got) != (ssize_t)got) {
			ext2fs_file_close(f);
			return fb_err_errno(err, errno ? errno : EIO, "%s", what);
		}
		off += got;
	}
	ext2fs_file_close(f);
	if (e)
		return e2err(err, e, "%s", what);
	if (ftruncate(fd, (off_t)size) < 0)
		return fb_err_errno(err, errno, "%s", what);
	return 0;
}

static int link_target(struct ex *x, ext2_ino_t ino, struct ext2_inode *in, char *out, const char *what, struct fb_err *err)
{
	uint64_t size = EXT2_I_SIZE(in);
	if (size == 0 || size >= PATH_MAX)
		return fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: a link of %llu bytes", what, (unsigned long long)size);
	errcode_t e;
	if (ext2fs_is_fast_symlink(in)) {
		memcpy(out, (char *)in->i_block, size);
	} else if (in->i_flags & EXT4_INLINE_DATA_FL) {
		size_t got = 0;
		if ((e = ext2fs_inline_data_size(x->fs, ino, &got)))
			return e2err(err, e, "%s", what);
		if (got < size || got > (1u << 16))
			return fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: a bad link", what);
		FB_AUTOFREE char *tmp = fb_xmalloc(got);
		if ((e = ext2fs_inline_data_get(x->fs, ino, in, tmp, &got)))
			return e2err(err, e, "%s", what);
		memcpy(out, tmp, size);
	} else {
		ext2_file_t f;
		unsigned int got = 0;
		if ((e = ext2fs_file_open(x->fs, ino, 0, &f)))
			return e2err(err, e, "%s", what);
		e = ext2fs_file_read(f, out, (unsigned int)size, &got);
		ext2fs_file_close(f);
		if (e || got != size)
			return e ? e2err(err, e, "%s", what) : fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: a short link", what);
	}
	out[size] = '\0';
	if (strlen(out) != size)
		return fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: a link with a NUL in it", what);
	return 0;
}

static int extract_dir(struct ex *x, ext2_ino_t dir, int dirfd, const char *rel, int depth, struct fb_err *err);

static int extract_entry(struct ex *x, const struct dent *d, int dirfd, const char *rel, int depth, struct fb_err *err)
{
	FB_AUTOFREE char *path = fb_xasprintf("%s/%s", rel, d->name);
	FB_AUTOFREE char *what = fb_xasprintf("%s: %s", x->image, path);
	struct ext2_inode in;
	errcode_t e = ext2fs_read_inode(x->fs, d->ino, &in);
	if (e)
		return e2err(err, e, "%s", what);
	if (LINUX_S_ISDIR(in.i_mode)) {
		if (mkdirat(dirfd, d->name, 0700) < 0)
			return fb_err_errno(err, errno, "%s", what);
		FB_AUTOCLOSE int fd = openat(dirfd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return fb_err_errno(err, errno, "%s", what);
		if (extract_dir(x, d->ino, fd, path, depth + 1, err) < 0)
			return -1;
		return attrs(fd, -1, NULL, &in, in.i_mode & 07777, what, err);
	}
	if (LINUX_S_ISREG(in.i_mode)) {
		FB_AUTOCLOSE int fd = openat(dirfd, d->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return fb_err_errno(err, errno, "%s", what);
		if (copy_file(x, d->ino, fd, EXT2_I_SIZE(&in), what, err) < 0)
			return -1;
		return attrs(fd, -1, NULL, &in, in.i_mode & 01777, what, err);
	}
	if (LINUX_S_ISLNK(in.i_mode)) {
		char target[PATH_MAX];
		if (link_target(x, d->ino, &in, target, what, err) < 0)
			return -1;
		if (symlinkat(target, dirfd, d->name) < 0)
			return fb_err_errno(err, errno, "%s", what);
		return attrs(-1, dirfd, d->name, &in, 0, what, err);
	}
	return 0; /* devices, fifos, sockets: left out, as rdump did */
}

static int extract_dir(struct ex *x, ext2_ino_t dir, int dirfd, const char *rel, int depth, struct fb_err *err)
{
	if (dir > x->fs->super->s_inodes_count || (x->seen[dir / 8] & (1u << (dir % 8))) || depth > 4096)
		return fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: %s: a directory that loops", x->image, rel[0] ? rel : "/");
	x->seen[dir / 8] |= (unsigned char)(1u << (dir % 8));
	struct dents l = { 0 };
	errcode_t e = ext2fs_dir_iterate2(x->fs, dir, 0, NULL, collect, &l);
	int r = 0;
	if (e)
		r = e2err(err, e, "%s: %s", x->image, rel[0] ? rel : "/");
	else if (l.bad)
		r = fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: %s: a name with a slash in it", x->image, rel[0] ? rel : "/");
	for (size_t i = 0; r == 0 && i < l.n; i++)
		r = extract_entry(x, &l.v[i], dirfd, rel, depth, err);
	dents_free(&l);
	return r;
}

int fb_ext4_extract(const char *image, const char *dest, struct fb_err *err)
{
	struct ex x = { .image = image };
	if (open_fs(image, false, &x.fs, err) < 0)
		return -1;
	x.seen = fb_xcalloc(x.fs->super->s_inodes_count / 8 + 1, 1);
	x.buf = fb_xmalloc(1u << 20);
	int r = 0;
	FB_AUTOCLOSE int fd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct ext2_inode root;
	errcode_t e;
	if (fd < 0)
		r = fb_err_errno(err, errno, "%s", dest);
	else if ((e = ext2fs_read_inode(x.fs, EXT2_ROOT_INO, &root)))
		r = e2err(err, e, "%s: /", image);
	else if ((r = extract_dir(&x, EXT2_ROOT_INO, fd, "", 0, err)) == 0)
		r = attrs(fd, -1, NULL, &root, root.i_mode & 07777, dest, err);
	free(x.seen);
	free(x.buf);
	ext2fs_close_free(&x.fs);
	return r;
}
