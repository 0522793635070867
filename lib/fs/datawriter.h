/* File data written by a thread of its own: the ext4 writer hands over
 * full buffers and goes on parsing the next layer entries; the thread
 * writes them in the order given. On an O_DIRECT descriptor the writes
 * skip the page cache (falling back to it when the file system refuses
 * one); on another, every SYNC_EVERY bytes it asks the kernel to start
 * writing the file out (sync_file_range), so that the final fsync finds
 * little left and the writeback's own work is off the parsing thread too.
 * Writes in flight are bounded by bytes; a drain waits for all of them
 * (the caller drains before it frees blocks that may be reused by
 * metadata written another way) and reports the first failure. */
#ifndef FB_DATAWRITER_H
#define FB_DATAWRITER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct fb_datawriter;

/* Buffers, offsets and lengths are aligned for an O_DIRECT fd. */
#define FB_DW_ALIGN 4096

/* fd is the caller's (O_DIRECT or not); max_inflight bounds the bytes of
 * buffers queued. */
int fb_dw_start(int fd, size_t max_inflight, struct fb_datawriter **out, struct fb_err *err) FB_MUST_CHECK;
/* A buffer of cap bytes, FB_DW_ALIGN-aligned (free() frees it). */
void *fb_dw_alloc(size_t cap);
/* A buffer of cap bytes to fill (one given back, or a new one). */
char *fb_dw_buf(struct fb_datawriter *w, size_t cap);
/* Write len bytes of buf (of cap bytes, now the writer's) at off; waits
 * while the queue is full. */
void fb_dw_submit(struct fb_datawriter *w, char *buf, size_t cap, size_t len, uint64_t off);
/* Until everything submitted is written: the first error, if any. */
int fb_dw_drain(struct fb_datawriter *w, struct fb_err *err) FB_MUST_CHECK;
/* Drain (when err is given), stop the thread, free everything. */
int fb_dw_stop(struct fb_datawriter *w, struct fb_err *err);

#endif
