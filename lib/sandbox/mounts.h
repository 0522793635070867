/* What a sandbox's file system is made of. From inside its own mount
 * namespace, with the tree as the working directory: mounts that say what
 * failed, nodev on every mount, a minimal /dev, Docker's masked and
 * read-only paths under /proc and /sys. From outside: the mountpoints a
 * run makes in the tree, removed after it when still empty (they would
 * otherwise land in the image). */
#ifndef FB_MOUNTS_H
#define FB_MOUNTS_H

#include <stdbool.h>

#include "err.h"

/* mount(2); an error names the file system (or source) and the target. */
int fb_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
	     struct fb_err *err) FB_MUST_CHECK;
/* Has this kernel mount_setattr (Linux 5.12)? Then a bind may take its
 * submounts (MS_REC): fb_mount_nodev reaches them too. */
bool fb_mount_setattr_works(void);
/* nodev on the mount at path (with MS_RDONLY in more: read-only and
 * nosuid too) and, with mount_setattr, on every mount below it; without
 * it, a remount that keeps the mount's other flags. */
int fb_mount_nodev(const char *path, unsigned long more, struct fb_err *err) FB_MUST_CHECK;
/* dev/: a tmpfs, the host's null, zero, full, random, urandom and tty bound
 * in, devpts with its own ptmx, shm, and the fd, stdin, stdout, stderr
 * links. Everything nodev: a node made there is inert. */
int fb_sandbox_dev(struct fb_err *err) FB_MUST_CHECK;
/* Docker's masked paths under proc/ and sys/ (kernel memory, keys, timers,
 * IRQs, firmware: a file gets /dev/null over it, a directory an empty
 * read-only tmpfs) and its read-only ones (proc/sys, proc/sysrq-trigger,
 * ...). Paths this kernel lacks are skipped. */
int fb_sandbox_mask_paths(struct fb_err *err) FB_MUST_CHECK;

/* Mountpoints and files made in a tree for a run. */
struct fb_sandbox_points {
	char *paths[8];
	bool dir[8];
	int n;
};
/* Make root/rel (a directory, or an empty file) unless it is there. */
void fb_sandbox_point(struct fb_sandbox_points *m, const char *root, const char *rel, bool dir);
/* Remove what was made, where still empty, last first. */
void fb_sandbox_points_undo(struct fb_sandbox_points *m);

#endif
