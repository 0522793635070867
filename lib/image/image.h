/* Images into the store, from every place fb-fetch knows: a registry
 * (lib/registry), a docker-archive tar, an OCI layout directory or archive.
 * The result is the .image document (docs/tools/fb-fetch.md), a struct
 * here; image_doc.c is its codec. */
#ifndef FB_IMAGE_H
#define FB_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "doc.h"
#include "err.h"
#include "oci.h"
#include "registry.h"
#include "store.h"

/* A layer fb-fetch image --stream is still downloading (.layers[].pending):
 * its bytes grow in the store's partial file of its digest; head and tail
 * are its first 18 bytes (or all of a smaller one) and its last 4 (.head,
 * .tail, in hex: what the ext4's size is estimated from, a format's magic
 * and a gzip layer's uncompressed size), fetched first so the ext4 is sized
 * as from the whole blob without waiting for any layer. */
#define FB_LAYER_HEAD 18
struct fb_layer_pending {
	bool pending;
	bool has_tail;
	unsigned char tail[4];
	unsigned headlen; /* 0: no head */
	unsigned char head[FB_LAYER_HEAD];
};

/* .image: an image in the store (fetched, built or imported). */
struct fb_image {
	char *ref;           /* what was asked for ("dockerfile", "import") */
	char *name;          /* its name in index.json */
	char *digest;        /* the manifest's */
	char *media_type;
	char *platform;
	char *config_digest;
	struct fb_oci_config *config; /* NULL: none */
	struct fb_oci_desc *layers;   /* digest, size, mediaType; or a path */
	size_t nlayers;
	struct fb_layer_pending *pending; /* one a layer; NULL: none pending */
	char *store;
};
void fb_image_free(struct fb_image *img);
void fb_image_add_layer(struct fb_image *img, const struct fb_oci_desc *l);

/* Who reads .image decides what it must hold (the messages name the
 * member, FB_EXIT_USAGE): fb-mkrootfs needs .layers, each with a .digest
 * or a .path; fb-tag put only that .layers, when there, are objects. */
enum fb_image_use { FB_IMAGE_FOR_ROOTFS, FB_IMAGE_FOR_PUT };
/* 0 with *present false when the document has no .image (or null). */
int fb_image_from_doc(const struct fb_doc *d, enum fb_image_use use, struct fb_image *img, bool *present,
		      struct fb_err *err) FB_MUST_CHECK;
/* .image = img */
void fb_image_doc_set(struct fb_doc *d, const struct fb_image *img);
/* Is any layer of img pending? */
bool fb_image_has_pending(const struct fb_image *img);
/* The layers of .image downloaded: their .pending and .tail go (the rest
 * of the document as it was). */
void fb_image_doc_clear_pending(struct fb_doc *d);
/* .images = {ref: image, ...} (fb-fetch's plan mode) */
void fb_images_doc_set(struct fb_doc *d, char *const *refs, const struct fb_image *imgs, size_t n);

struct fb_image_opts {
	const char *platform;          /* from a list; NULL: the host's */
	struct fb_registry_opts reg;
	/* --stream: from a registry, once the manifest and config are in the
	 * store and the partial file of every layer still to download is open
	 * (and locked), ready gets the image with those layers pending and
	 * their tails (it writes the document); the layers download after. */
	int (*ready)(void *ctx, const struct fb_image *img, struct fb_err *err);
	void *ready_ctx;
};

int fb_image_fetch(const struct fb_image_opts *o, const char *ref, struct fb_store *s, struct fb_image *out,
		   struct fb_err *err) FB_MUST_CHECK;

/* docker import: layer files into the store with the config and manifest
 * a FROM line needs (for the host's platform); *out is the .image. */
int fb_image_import(struct fb_store *s, char *const *layers, size_t n, struct fb_image *out, struct fb_err *err)
	FB_MUST_CHECK;

#endif
