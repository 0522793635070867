/* An ext4 image that exists, opened with libext2fs (no mount, no
 * debugfs): files and directories put in (how fb-init, its mount points
 * and /etc/hosts enter a VM's copy of its image: fb_ext4_put_all), or the
 * whole tree copied out to a directory (firebuild exec). Paths are
 * resolved inside the image: a symbolic link on the way (usr-merged /sbin
 * -> usr/sbin) is followed within the file system and can lead nowhere
 * else. */
#ifndef FB_EXT4IMG_H
#define FB_EXT4IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "util.h"

struct fb_err;

/* Write a regular file at path (absolute, in the image) with data, mode,
 * uid and gid, replacing what has that name (a file or a link; a
 * directory there is an error). The directories on the way are followed
 * (links included); a missing last directory is made (0755, root's). */
int fb_ext4_put_file(const char *image, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
		     gid_t gid, struct fb_err *err) FB_MUST_CHECK;

/* Make each directory of dirs (absolute, in the image; its parent must be
 * there) that is missing, 0755 and root's; a name that is there, whatever
 * it is, is left as it is. fb-jail prepare makes fb-init's mount points
 * so (the kernel mounts devtmpfs on a /dev it finds). */
int fb_ext4_put_dirs(const char *image, const char *const *dirs, size_t n, struct fb_err *err) FB_MUST_CHECK;

/* Several of the above in one opening of the image (each opening reads
 * the group tables, each close writes them, and syncs unless sync is
 * false), in order: a regular file (root's) where data is set, else a
 * directory made when missing. An optional file whose directory is not
 * one, or whose name is there as neither a regular file nor a link, is
 * left out (put stays false); any other failure is the error, after which
 * the image is not to be trusted (as after fb_ext4_put_file's: the caller
 * drops it). */
struct fb_ext4_entry {
	const char *path;
	const void *data;
	size_t len;
	mode_t mode;
	bool optional;
	bool put; /* out */
	/* Set instead of data: the regular file at path is read into it (no
	 * link followed on the way: one may point where the guest mounts
	 * another file system; at most FB_EXT4_READ_MAX bytes); put tells
	 * whether it was. Missing (absent: the path is not there, its
	 * directories real ones), a link, another kind of file, or too
	 * large: not read, and no error. */
	struct fb_buf *read;
	bool absent; /* out, with read */
};
#define FB_EXT4_READ_MAX (1u << 20)
int fb_ext4_put_all(const char *image, struct fb_ext4_entry *ents, size_t n, bool sync, struct fb_err *err) FB_MUST_CHECK;

/* Copy the image's tree into dest (an empty directory): directories,
 * regular files (holes stay holes), symbolic links, with owners, modes
 * and times; as `debugfs rdump` did: hard links become copies, setuid and
 * setgid bits of files are not kept, devices, fifos and sockets are left
 * out. Nothing is followed on the host side: each entry is made new under
 * its directory's descriptor. */
int fb_ext4_extract(const char *image, const char *dest, struct fb_err *err) FB_MUST_CHECK;

#endif
