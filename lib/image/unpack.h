/* Decompression on its own thread: a producer reads a (gzip, zstd, xz,
 * bzip2 or plain) stream and hands the decompressed bytes, in 1 MiB
 * chunks through a bounded queue, to the libarchive reader of the
 * consumer. On two cores the tar parsing and the ext4 writes of the
 * consumer overlap with the decompression. */
#ifndef FB_UNPACK_H
#define FB_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct archive;
#include "err.h"

struct fb_err;
struct fb_unpack;

/* How far a layer being read decompresses ahead of its reader, in MiB. */
#define FB_UNPACK_CHUNKS 24

/* Start decompressing fd (which the producer reads; the caller keeps it
 * open until fb_unpack_free). *a is a tar reader over the result. */
int fb_unpack_open(int fd, const char *name, struct fb_unpack **u, struct archive **a, struct fb_err *err) FB_MUST_CHECK;
struct fb_follow;
/* Layers opened ahead of the one read take turns through a gate: at most
 * `max` decompress at once, started in the order they were opened (the
 * one read always has its turn: it was opened before the others). */
struct fb_unpack_gate;
struct fb_unpack_gate *fb_unpack_gate_new(unsigned max);
void fb_unpack_gate_free(struct fb_unpack_gate *g); /* after every fb_unpack_free */
struct fb_unpack_ahead {
	unsigned chunks;              /* the queue: up to this many MiB ahead of the reader */
	const char *spill_dir;        /* past the queue, an unnamed file here (O_TMPFILE) takes the
	                               * rest, up to 1 GiB unread; NULL: the producer waits */
	struct fb_unpack_gate *gate;  /* NULL: start at once */
	struct fb_follow *follow;     /* a layer still downloading (follow.h), read as it grows
	                               * instead of fd (-1); once applied, fb_follow_finish
	                               * verifies it */
};
/* Start decompressing fd, a layer read later: no reader yet (libarchive
 * reads the first bytes when it opens, and a layer waiting its turn
 * would make its opener wait). */
int fb_unpack_start(int fd, const char *name, const struct fb_unpack_ahead *o, struct fb_unpack **u,
		    struct fb_err *err) FB_MUST_CHECK;
/* The tar reader over the layer, opened on the first call. */
int fb_unpack_reader(struct fb_unpack *u, const char *name, struct archive **a, struct fb_err *err) FB_MUST_CHECK;
/* A new limit for what is queued ahead (a layer started early becomes the
 * one read): buffers above it are freed as the reader catches up, so the
 * memory of every open layer stays within its current limit. */
void fb_unpack_set_ahead(struct fb_unpack *u, unsigned chunks);
/* The 1 MiB buffers the layer has now (its queue, spares, the producer's
 * and the reader's), and the most it had at once (*peak, may be NULL). */
size_t fb_unpack_buffers(struct fb_unpack *u, size_t *peak);
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

/* How far the producer is: bytes decompressed, of which spilled, and
 * whether it has finished. */
void fb_unpack_stats(struct fb_unpack *u, uint64_t *produced, uint64_t *spilled, bool *done);

/* Stop the producer (if still running) and free everything, *a included. */
void fb_unpack_free(struct fb_unpack *u);

#endif
