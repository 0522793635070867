/* Layers applied to a directory tree on disk (the builder's stage trees,
 * where RUN needs real files): OCI whiteouts and opaque directories, owners,
 * modes, times, xattrs, links and devices. Every path is resolved inside the
 * root with openat2(RESOLVE_IN_ROOT): a symbolic link can never lead a write
 * outside it (absolute targets start at the root, as in a chroot); the last
 * component is never followed. Names that climb above the root are refused. */
#ifndef FB_TREE_H
#define FB_TREE_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

struct fb_err;
struct fb_strv;

/* openat2(RESOLVE_IN_ROOT) from rootfd: absolute links and .. stay inside
 * the root; "" or "/" is the root itself. */
int fb_tree_open(int rootfd, const char *rel, int flags, mode_t mode);
/* mkdir -p inside the root: an O_PATH fd of the last directory. New
 * directories get mode (exactly: no umask), uid and gid; their paths go to made (NULL: not
 * wanted), outermost first. A component that is not a directory is an
 * error naming it. */
int fb_tree_mkdirs(int rootfd, const char *rel, mode_t mode, uid_t uid, gid_t gid, struct fb_strv *made,
		   struct fb_err *err) FB_MUST_CHECK;
/* rm -rf, never following a link. */
int fb_tree_remove(const char *path);

int fb_tree_apply_layer(const char *root, const char *layer, const char *name, struct fb_err *err) FB_MUST_CHECK;
/* ADD's local archive, applied like a layer; with own->set every entry
 * gets that owner (ADD --chown), as BuildKit's unpack does. */
struct fb_tree_owner {
	bool set;
	uid_t uid;
	gid_t gid;
};
int fb_tree_apply_archive(const char *root, const char *archive, const char *name, const struct fb_tree_owner *own,
			  struct fb_err *err) FB_MUST_CHECK;

/* Write the tree as a tar (owners, modes, times to the nanosecond, links,
 * devices, xattrs)
 * to fd, from a thread of its own; the reader takes it as a layer.
 * fb_tree_tar_finish joins the thread and reports its error. */
struct fb_tree_tar;
int fb_tree_tar_start(const char *root, int fd, struct fb_tree_tar **out, struct fb_err *err) FB_MUST_CHECK;
int fb_tree_tar_finish(struct fb_tree_tar *t, struct fb_err *err) FB_MUST_CHECK;

#endif
