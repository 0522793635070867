/* An io_manager for the ext4 images the host edits in place (lib/fs/
 * ext4img: a VM's private copy, an image read back): pread and pwrite on
 * the file, no cache of its own, and no fsync when it opens. libext2fs's
 * unix I/O fsyncs every file it opens (to clear a block device's old write
 * errors); on a VM's fresh private copy that wrote out all of its data
 * before a byte was changed (6 ms for the demo image, seconds for a large
 * one). A flush fsyncs, as unix I/O's does; ext2fs_close2 with
 * EXT2_FLAG_FLUSH_NO_SYNC skips it. */
#ifndef FB_FDIO_H
#define FB_FDIO_H

#include <ext2fs/ext2fs.h>

extern io_manager fb_fdio_io_manager;

#endif
