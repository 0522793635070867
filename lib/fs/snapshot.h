/* What a build step changed in a tree, as an OCI layer: a snapshot of every
 * entry's inode, type, owner, mode, size and times before the step, a walk
 * after it. New and changed entries go into the layer (hard links kept,
 * xattrs too); removed ones become whiteouts (`.wh.NAME`), a directory
 * replaced by something else is whited out and written whole. The tree's
 * root directory itself is never part of a layer. */
#ifndef FB_SNAPSHOT_H
#define FB_SNAPSHOT_H
#include <stdint.h>

#include "err.h"

struct fb_err;
struct fb_blob_writer;
struct fb_snap;

int fb_snap_take(const char *root, struct fb_snap **out, struct fb_err *err) FB_MUST_CHECK;
/* The changes since the snapshot, as an uncompressed tar into w;
 * *changes gets the number of entries written (0: nothing changed).
 * clamp >= 0 (SOURCE_DATE_EPOCH): no entry's mtime is later than it. */
int fb_snap_diff(const char *root, const struct fb_snap *s, struct fb_blob_writer *w, uint64_t *changes,
		 int64_t clamp, struct fb_err *err) FB_MUST_CHECK;
void fb_snap_free(struct fb_snap *s);
#endif
