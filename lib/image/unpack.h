/* Decompression on its own thread: a producer reads a (gzip, zstd, xz,
 * bzip2 or plain) stream and hands the decompressed bytes, in 1 MiB
 * chunks through a bounded queue, to the libarchive reader of the
 * consumer. On two cores the tar parsing and the ext4 writes of the
 * consumer overlap with the decompression. */
#ifndef FB_UNPACK_H
#define FB_UNPACK_H

#include <stdint.h>

struct archive;
#include "err.h"

struct fb_err;
struct fb_unpack;

/* Start decompressing fd (which the producer reads; the caller keeps it
 * open until fb_unpack_free). *a is a tar reader over the result. */
int fb_unpack_open(int fd, const char *name, struct fb_unpack **u, struct archive **a, struct fb_err *err) FB_MUST_CHECK;
/* The same, with the queue holding up to `chunks` MiB ahead of the reader:
 * a layer started early decompresses that far before it is read. */
int fb_unpack_open_ahead(int fd, const char *name, unsigned chunks, struct fb_unpack **u, struct archive **a,
			 struct fb_err *err) FB_MUST_CHECK;
/* The same for a layer still downloading (follow.h): the producer reads it
 * as it grows; once the layer is applied, fb_follow_finish verifies it. */
struct fb_follow;
int fb_unpack_open_follow(struct fb_follow *f, const char *name, unsigned chunks, struct fb_unpack **u,
			  struct archive **a, struct fb_err *err) FB_MUST_CHECK;
/* Call fn for every entry of a layer; WARN headers are not fatal (real
 * layers carry names libarchive warns about). Errors name the layer. */
struct archive_entry;
typedef int (*fb_entry_fn)(void *ctx, struct archive *a, struct archive_entry *ae, struct fb_err *err);
int fb_unpack_each(struct archive *a, const char *name, fb_entry_fn fn, void *ctx, struct fb_err *err) FB_MUST_CHECK;

/* Add the number of entries of the layer at path to *entries (the headers
 * only: what an image needs in inodes). */
int fb_unpack_count(const char *path, const char *name, uint64_t *entries, struct fb_err *err) FB_MUST_CHECK;

/* The sha256 of a layer's uncompressed bytes (gzip, zstd, xz, bzip2 or
 * plain): its diff id, as an image config's rootfs.diff_ids lists it. */
int fb_unpack_diff_id(const char *path, char out[72], struct fb_err *err) FB_MUST_CHECK;

/* Stop the producer (if still running) and free everything, *a included. */
void fb_unpack_free(struct fb_unpack *u);

#endif
