/* An ext4 image from layers (fb-mkrootfs's job, lib/rootfs's writer):
 * sized from what the layers hold (their uncompressed sizes, estimated
 * from their headers), tried again larger when the estimate falls short
 * of blocks or inodes, with optional files added after the layers. */
#ifndef FB_MKEXT4_H
#define FB_MKEXT4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rootfs.h"

struct fb_follow;

struct fb_mkext4_opts {
	const char *output;          /* the image to write */
	uint64_t disk_size;          /* 0: the content plus headroom */
	char *const *layers;         /* layer files, in order */
	char *const *names;          /* what messages call them */
	/* NULL, or one a layer: NULL, or a layer still downloading (follow.h),
	 * read as it grows; its path is where it ends up in the store */
	struct fb_follow *const *follow;
	size_t nlayers;
	const char *from_tree;       /* a directory streamed in as one more layer */
	char *const *add_files;      /* SRC:DEST[:MODE], after the layers */
	size_t nadd;
	const char *init;            /* fb-init to add as /sbin/fb-init, or NULL */
	/* the image's identity (rootfs.h's fb_ext4_ident): its config digest
	 * and `created`; the same image gives the same bytes */
	const char *seed, *created;
};

/* Write the image; *init_added says whether /sbin/fb-init went in (an
 * image where it cannot go is still written, with a warning). */
int fb_mkext4(const struct fb_mkext4_opts *o, struct fb_rootfs_stats *st, bool *init_added, struct fb_err *err)
	FB_MUST_CHECK;

/* "512M", "2G", "1048576": bytes; -1 when it is no size. */
int fb_parse_size(const char *s, uint64_t *out);

#endif
