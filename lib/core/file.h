/* File helpers every layer uses: directories made with their parents,
 * files written atomically, sparse and reflink copies. */
#ifndef FB_FILE_H
#define FB_FILE_H

#include "err.h"

#include <stddef.h>
#include <sys/types.h>

struct fb_err;

/* Write `data` to path atomically (tmp file, fsync, rename). */
int fb_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, struct fb_err *err) FB_MUST_CHECK;
/* The same, not synced: whole or not there, but nothing needs it after a
 * crash (a VM's config drive, written again at each start). */
int fb_write_file_scratch(const char *path, const void *data, size_t n, mode_t mode, struct fb_err *err) FB_MUST_CHECK;
int fb_mkdir_p(const char *path, mode_t mode, struct fb_err *err) FB_MUST_CHECK;
/* Copy src to dst (created or truncated) keeping holes: a reflink when the
 * file system can, else only the data segments. dst is synced. */
int fb_copy_sparse(const char *src, const char *dst, struct fb_err *err) FB_MUST_CHECK;
int fb_copy_sparse_fd(int in, const char *src, const char *dst, struct fb_err *err) FB_MUST_CHECK;
/* The same, not synced: a copy nothing needs after a crash (a VM's
 * private disk, gone with the VM). */
int fb_copy_scratch(const char *src, const char *dst, struct fb_err *err) FB_MUST_CHECK;

#endif
