/* A root file system written straight into an ext4 image: OCI layers are
 * applied in order (whiteouts, opaque directories, hard links, xattrs,
 * devices), file data goes from the tar stream into ext4 inodes, and the
 * directory tree lives in memory until the end, when every directory's
 * blocks are written once. No mount, no staging directory, no root needed:
 * ownership comes from the layers. Hostile entries (escaping the root,
 * writing through links that leave it, absurd sizes) are refused. */
#ifndef FB_ROOTFS_H
#define FB_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "doc.h"
#include "err.h"
#include "oci.h"

struct fb_err;
struct fb_rootfs;

/* What makes an image the same bytes on every host and in every run: the
 * file system's UUID and directory hash seed, and the time of everything
 * the writer dates itself (the superblock's mkfs, write and check times,
 * lost+found, the journal, directories the layers do not name, files
 * added, freed inodes); nothing comes from the clock, the caller or the
 * host's mke2fs.conf. */
struct fb_ext4_ident {
	unsigned char uuid[16], hash_seed[16];
	int64_t time; /* seconds since the epoch, 1 to 2^32-1 */
};
/* Both derived from seed (an image's config digest), the time from the
 * image's `created` (RFC 3339; 1 when absent, unparsable or before 1970:
 * libext2fs reads 0 as "now"). */
void fb_ext4_ident_derive(const char *seed, const char *created, struct fb_ext4_ident *id);

struct fb_rootfs_opts {
	const char *path;      /* the ext4 image to create (replaced) */
	uint64_t size;         /* bytes; the image is sparse */
	uint64_t inodes;       /* 0: one per 4 KiB */
	const char *label;     /* volume label, may be NULL */
	const char *template_image; /* copy this empty ext4 instead of running mke2fs (its UUID kept) */
	const struct fb_ext4_ident *ident; /* NULL: a random UUID and seed, the clock's time */
};

struct fb_rootfs_stats {
	uint64_t entries;       /* tar entries applied */
	uint64_t files, dirs, symlinks, hardlinks, devices, whiteouts;
	uint64_t bytes;         /* file data written */
	uint64_t used_blocks;   /* of the file system, at the end */
	uint64_t block_size;
};

int fb_rootfs_create(const struct fb_rootfs_opts *o, struct fb_rootfs **out, struct fb_err *err) FB_MUST_CHECK;
/* Apply one layer (a tar, gzip/zstd/xz/bzip2 or plain) read from fd.
 * `name` (the digest) prefixes errors. Hostile content is FB_EXIT_USAGE. */
int fb_rootfs_apply_layer_fd(struct fb_rootfs *r, int fd, const char *name, struct fb_err *err) FB_MUST_CHECK;
int fb_rootfs_apply_layer(struct fb_rootfs *r, const char *path, const char *name, struct fb_err *err) FB_MUST_CHECK;
/* All layers in order; the next ones decompress ahead on other cores.
 * follow: NULL, or one a layer: NULL for a file at paths[i], else a layer
 * still downloading (follow.h), read as it grows and verified. */
struct fb_follow;
int fb_rootfs_apply_layers(struct fb_rootfs *r, char *const *paths, char *const *names, struct fb_follow *const *follow,
			   size_t n, struct fb_err *err) FB_MUST_CHECK;
/* Add one regular file (the hook fb-init uses to enter every image). */
int fb_rootfs_add_file(struct fb_rootfs *r, const char *path, const void *data, size_t len, mode_t mode,
		       uid_t uid, gid_t gid, struct fb_err *err) FB_MUST_CHECK;
/* Write the directories, close the file system. */
int fb_rootfs_finish(struct fb_rootfs *r, struct fb_rootfs_stats *stats, struct fb_err *err) FB_MUST_CHECK;
/* Frees; removes the image unless finished. */
void fb_rootfs_free(struct fb_rootfs *r);

/* Whether fd holds an ext4 image (ext2/3 too): the superblock at 1024 with
 * its magic (0xEF53), a block size of 1 to 64 KiB, inodes and blocks, and
 * a file at least as long as the file system. FB_EXIT_USAGE naming `name`
 * when not. */
int fb_ext4_check(int fd, const char *name, struct fb_err *err) FB_MUST_CHECK;



/* ---- .rootfs, what fb-mkrootfs writes (rootfs_doc.c is its codec) ---- */

struct fb_rootfs_doc {
	char *path;
	int64_t size;                 /* of the image file */
	int64_t content_size;         /* bytes the file system uses; -1: not said */
	bool has_stats;
	struct fb_rootfs_stats stats; /* data_bytes and counts */
	bool has_init, init;          /* /sbin/fb-init was added */
	struct fb_oci_config *config; /* NULL: none */
	char *key;                    /* what the image was made from (fb-mkrootfs --tag); NULL: not said */
	bool kept;                    /* path is the tag's own ext4, kept as it was */
};
void fb_rootfs_doc_free(struct fb_rootfs_doc *r);
void fb_rootfs_doc_set(struct fb_doc *d, const struct fb_rootfs_doc *r);
/* fb-tag put's reading: .rootfs {path (a string), content_size, config,
 * key (a string), kept (a boolean)};
 * *present false when there is none. FB_EXIT_USAGE naming the member. */
int fb_rootfs_from_doc(const struct fb_doc *d, struct fb_rootfs_doc *r, bool *present, struct fb_err *err)
	FB_MUST_CHECK;
/* .rootfs.path = path, the other members as they were */
void fb_rootfs_doc_set_path(struct fb_doc *d, const char *path);
/* .tree {path, config}: fb-mkrootfs --tree (config NULL: null, or no
 * member at all when with_config is false) */
void fb_tree_doc_set(struct fb_doc *d, const char *path, bool with_config, const struct fb_oci_config *config);
#endif
