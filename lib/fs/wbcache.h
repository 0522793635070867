/* A write-back block cache in front of libext2fs's unix I/O, for the ext4
 * writer (lib/fs/rootfs). unix_io keeps 8 blocks: writing tens of
 * thousands of inodes evicted and re-read inode table blocks one at a
 * time (8000 4 KiB writes and 6000 reads for bench/convert's image), and
 * each write waited on the image's inode lock behind the data writer's
 * megabytes (lib/fs/datawriter). This one keeps up to FB_WBCACHE_BLOCKS
 * blocks (or "fb_cache_blocks=N"), writes dirty ones only when it must
 * make room, at a flush and at close, sorted and merged into runs.
 *
 * Whoever writes the same file past the channel (the data writer) must
 * flush before blocks that were metadata can become its data, and drop
 * what the cache holds of blocks that were freed (fb_wbcache_drop). */
#ifndef FB_WBCACHE_H
#define FB_WBCACHE_H

#include <ext2fs/ext2fs.h>

#define FB_WBCACHE_BLOCKS 4096

extern io_manager fb_wbcache_io_manager;

/* Write what is dirty and forget every block held (a no-op on another
 * manager's channel). */
errcode_t fb_wbcache_drop(io_channel ch);

#endif
