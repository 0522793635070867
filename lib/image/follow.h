/* Layers read while they download: `fb-fetch image --stream | fb-mkrootfs`.
 * The fetcher writes its document at once, the layers it still downloads
 * marked pending, and keeps the pipe (our stdin) open until it exits; a
 * failure after the document is an error object after it. A pending layer
 * grows in the store's partial file of its digest (tmp/<hex>.partial, the
 * blob once renamed into blobs/sha256/): it is read as it grows, waiting
 * (inotify on the file, the fetcher's end) only while the fetcher runs, and
 * every byte read is hashed: a layer whose bytes do not hash to its digest,
 * or that ends short, is an error naming it. The partial file is a shared,
 * writable place: nothing read there is trusted before the hash says so. */
#ifndef FB_FOLLOW_H
#define FB_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "util.h"

struct fb_fetcher;
struct fb_follow;

/* Watch the fetcher on fd (a thread reads it to its end); rest: what was
 * read after the document already. */
int fb_fetcher_start(int fd, const char *rest, size_t len, struct fb_fetcher **out, struct fb_err *err) FB_MUST_CHECK;
/* Wait for the fetcher's end: 0, or -1 with its error object's message
 * (or what else came after the document). */
int fb_fetcher_wait(struct fb_fetcher *f, struct fb_err *err) FB_MUST_CHECK;
void fb_fetcher_free(struct fb_fetcher *f);

/* A pending layer: digest (valid, sha256), its size, its first headlen
 * bytes and its last 4 as the document says (the reads check them). */
struct fb_follow *fb_follow_new(struct fb_fetcher *f, const char *store_root, const char *digest, uint64_t size,
				const unsigned char *head, size_t headlen, const unsigned char tail[4]);
void fb_follow_free(struct fb_follow *l);
uint64_t fb_follow_size(const struct fb_follow *l);
const unsigned char *fb_follow_tail(const struct fb_follow *l);
/* Its first n bytes (n at most 32 and its size): the document's head when
 * it holds that many, else read (waiting for them); either way checked
 * against what the layer's reads give. */
int fb_follow_head(struct fb_follow *l, void *buf, size_t n, struct fb_err *err) FB_MUST_CHECK;
/* Up to n bytes of the layer, waiting for them: > 0, 0 at its end (all of
 * it read and verified), -1 on an error (a mismatch, the download ended
 * short, a file that is no regular file). One thread at a time. */
ssize_t fb_follow_read(struct fb_follow *l, void *buf, size_t n, struct fb_err *err);
/* Read what is left (the decompressor may stop before the end) and verify. */
int fb_follow_finish(struct fb_follow *l, struct fb_err *err) FB_MUST_CHECK;
/* When the layer failed (a mismatch, the download short), its error
 * replaces *err (a decompressor's message about the bytes it got). */
void fb_follow_error(const struct fb_follow *l, struct fb_err *err);
/* From another thread: a read waiting for bytes gives -1 at once (the
 * reader stops); fb_follow_finish reads on after it. */
void fb_follow_cancel(struct fb_follow *l);
/* Wait for the fetcher's end; then the layer is the store's blob (its
 * path): 0, or -1 when it is not there. */
int fb_follow_settle(struct fb_follow *l, struct fb_err *err) FB_MUST_CHECK;

#endif
