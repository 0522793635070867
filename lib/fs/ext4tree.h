/* Inside lib/fs's ext4 writer (rootfs.c, rootfs_apply.c): the tree kept
 * in memory until the end, and the helpers the layer applier shares with
 * the writer. Not for other modules. */
#ifndef FB_EXT4TREE_H
#define FB_EXT4TREE_H

#include <ext2fs/ext2fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "archiveapi.h"
#include "err.h"
#include "rootfs.h"

struct xattr {
	char *name;
	void *value;
	size_t len;
};

struct node {
	char *name;
	struct node *parent;
	struct node **kids;
	size_t nkids, capkids;
	size_t kid_index;  /* position in parent->kids */
	ext2_ino_t ino;
	mode_t mode;       /* type and permissions */
	uid_t uid;
	gid_t gid;
	int64_t mtime;
	long mtime_ns;
	int layer;         /* the layer that last created or touched it */
	bool keep;         /* lost+found made by mke2fs: leave its blocks alone */
	struct xattr *xattrs; /* directories only: written at the end */
	size_t nxattrs;
};

/* (parent, name) -> node, open addressing. */
struct slot {
	struct node *n;
};

struct fb_rootfs {
	ext2_filsys fs;
	char *path;
	bool finished;
	struct node *root;
	struct slot *tab;
	size_t tabcap, tabused; /* used counts tombstones too */
	uint32_t *nlink;        /* names per inode, for hard links */
	ext2_ino_t max_ino;
	struct fb_rootfs_stats st;
	int layer;
	const char *layer_name;
	char *buf;              /* data staging, BUFSZ */
	char *pend;             /* small writes of consecutive blocks, merged */
	size_t pend_len;
	blk64_t pend_start;
	int data_fd;            /* the image, for file data */
	struct fb_datawriter *dw; /* which writes it on a thread of its own */
	uint64_t data_bytes;      /* handed to it */
};

#define BUFSZ (1u << 20)
#define PENDSZ (8u << 20)
#define DATA_INFLIGHT (48u << 20)
#define TOMB ((struct node *)1)

void rfs_entry_xattrs(struct archive_entry *ae, struct xattr **out, size_t *n);
int rfs_ext2_err(struct fb_err *err, errcode_t e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void rfs_fill_inode(struct ext2_inode_large *in, const struct node *n);
void rfs_free_xattr_list(struct xattr *xs, size_t n);
int rfs_hostile(struct fb_rootfs *r, struct fb_err *err, const char *entry, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int rfs_init_inode(struct fb_rootfs *r, struct node *n, struct ext2_inode_large *in, bool extents,
		      struct fb_err *err) FB_MUST_CHECK;
int rfs_new_ino(struct fb_rootfs *r, struct node *parent, mode_t mode, ext2_ino_t *ino, struct fb_err *err) FB_MUST_CHECK;
struct node *rfs_node_new(struct fb_rootfs *r, struct node *parent, const char *name);
int rfs_remove_tree(struct fb_rootfs *r, struct node *n, bool unlink, struct fb_err *err) FB_MUST_CHECK;
struct node *rfs_tab_find(struct fb_rootfs *r, const struct node *parent, const char *name);
int rfs_write_file_data(struct fb_rootfs *r, struct node *n, struct ext2_inode_large *in, struct archive *a,
			   const void *mem, uint64_t size, const char *entry, struct fb_err *err) FB_MUST_CHECK;
int rfs_write_xattrs(struct fb_rootfs *r, ext2_ino_t ino, struct xattr *xs, size_t n, struct fb_err *err) FB_MUST_CHECK;
void rfs_xattrs_free(struct node *n);
errcode_t rfs_write_new_inode(struct fb_rootfs *r, ext2_ino_t ino, struct ext2_inode_large *in);

#endif
