/* File helpers every layer uses: directories made with their parents,
 * files written atomically (temporary name, fsync, rename), sparse and
 * reflink copies. */
#include "file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

int fb_mkdir_p(const char *path, mode_t mode, struct fb_err *err)
{
	/* the parents are there, as a rule: one call, not one a component */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	char *p = fb_xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				int e = errno;
				fb_err_errno(err, e, "create %s", p);
				free(p);
				return -1;
			}
			if (!c)
				break;
			*s = c;
		}
	}
	free(p);
	return 0;
}

static int write_replace(const char *path, const void *data, size_t n, mode_t mode, bool sync, struct fb_err *err)
{
	char *tmp = fb_xasprintf("%s.tmp-XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fb_err_errno(err, errno, "create %s", tmp);
		free(tmp);
		return -1;
	}
	const char *p = data;
	size_t left = n;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return 0;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	fb_err_errno(err, e, "write %s", path);
	free(tmp);
	return -1;
}

int fb_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, struct fb_err *err)
{
	return write_replace(path, data, n, mode, true, err);
}

int fb_write_file_scratch(const char *path, const void *data, size_t n, mode_t mode, struct fb_err *err)
{
	return write_replace(path, data, n, mode, false, err);
}

static int copy_sparse_fd(int in, const char *src, const char *dst, bool sync, struct fb_err *err);

static int copy_path(const char *src, const char *dst, bool sync, struct fb_err *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fb_err_errno(err, errno, "open %s", src);
	int r = copy_sparse_fd(in, src, dst, sync, err);
	close(in);
	return r;
}

int fb_copy_sparse(const char *src, const char *dst, struct fb_err *err)
{
	return copy_path(src, dst, true, err);
}

int fb_copy_sparse_fd(int in, const char *src, const char *dst, struct fb_err *err)
{
	return copy_sparse_fd(in, src, dst, true, err);
}

int fb_copy_scratch(const char *src, const char *dst, struct fb_err *err)
{
	return copy_path(src, dst, false, err);
}

static int copy_sparse_fd(int in, const char *src, const char *dst, bool sync, struct fb_err *err)
{
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct stat st;
	int r = 0;
	if (out < 0 || fstat(in, &st) < 0) {
		r = fb_err_errno(err, errno, "copy %s to %s", src, dst);
		goto out;
	}
	if (ioctl(out, FICLONE, in) == 0)
		goto sync;
	if (ftruncate(out, st.st_size) < 0) {
		r = fb_err_errno(err, errno, "copy %s to %s", src, dst);
		goto out;
	}
	char *buf = NULL;
	for (off_t off = 0; off < st.st_size && r == 0;) {
		off_t data = lseek(in, off, SEEK_DATA);
		if (data < 0)
			break; /* the rest is a hole */
		off_t hole = lseek(in, data, SEEK_HOLE);
		for (off_t o = data; o < hole && r == 0;) {
			size_t want = (size_t)(hole - o < (1 << 20) ? hole - o : (1 << 20));
			loff_t a = o, b = o;
			ssize_t n = copy_file_range(in, &a, out, &b, want, 0);
			if (n <= 0) {
				/* across file systems on older kernels: by hand */
				if (!buf)
					buf = fb_xmalloc(1 << 20);
				n = pread(in, buf, want, o);
				if (n <= 0 || pwrite(out, buf, (size_t)n, o) != n) {
					r = fb_err_errno(err, n < 0 ? errno : EIO, "copy %s to %s", src, dst);
					break;
				}
			}
			o += n;
		}
		off = hole;
	}
	free(buf);
sync:
	if (r == 0 && sync && fsync(out) < 0)
		r = fb_err_errno(err, errno, "copy %s to %s", src, dst);
out:
	if (out >= 0)
		close(out);
	if (r < 0)
		unlink(dst);
	return r;
}
