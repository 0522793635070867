/* Layers applied to a directory tree on disk (the builder's stage trees,
 * where RUN needs real files): OCI whiteouts and opaque directories, owners,
 * modes, times, xattrs, links and devices. Every path is resolved inside the
 * root with openat2(RESOLVE_IN_ROOT): a symbolic link can never lead a write
 * outside it (absolute targets start at the root, as in a chroot); the last
 * component is never followed. Names that climb above the root are refused. */
#ifndef FB_TREE_H
#define FB_TREE_H

struct fb_err;

int fb_tree_apply_layer(const char *root, const char *layer, const char *name, struct fb_err *err);

/* Write the tree as a tar (owners, modes, times, links, devices, xattrs)
 * to fd, from a thread of its own; the reader takes it as a layer.
 * fb_tree_tar_finish joins the thread and reports its error. */
struct fb_tree_tar;
int fb_tree_tar_start(const char *root, int fd, struct fb_tree_tar **out, struct fb_err *err);
int fb_tree_tar_finish(struct fb_tree_tar *t, struct fb_err *err);

#endif
