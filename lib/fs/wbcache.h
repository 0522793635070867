/* A write-back block cache in front of libext2fs's unix I/O, for the ext4
 * writer (lib/fs/rootfs). unix_io keeps 8 blocks: writing tens of
 * thousands of inodes evicted and re-read inode table blocks one at a
 * time (8000 4 KiB writes and 6000 reads for bench/convert's image), and
 * each write waited on the image's inode lock behind the data writer's
 * megabytes (lib/fs/datawriter). This one keeps up to FB_WBCACHE_BLOCKS
 * blocks (or "fb_cache_blocks=N"), writes dirty ones only when it must
 * make room, at a flush and at close, sorted and merged into runs.
 *
 * Whoever writes the same file past the channel (the data writer) needs
 * fb_wbcache_watch on the file system: a block libext2fs frees is
 * forgotten at once, so that no stale copy of it is written over what the
 * block holds next. */
#ifndef FB_WBCACHE_H
#define FB_WBCACHE_H

#include <ext2fs/ext2fs.h>

#define FB_WBCACHE_BLOCKS 4096

extern io_manager fb_wbcache_io_manager;

/* Write what is dirty and forget every block held (a no-op on another
 * manager's channel). */
errcode_t fb_wbcache_drop(io_channel ch);
/* Forget each block fs frees (its block allocation callbacks, chained to
 * any set before); a no-op when fs is not on this cache. */
void fb_wbcache_watch(ext2_filsys fs);

#endif
