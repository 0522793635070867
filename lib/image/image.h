/* Images into the store, from every place fb-fetch knows: a registry
 * (lib/registry), a docker-archive tar, an OCI layout directory or archive.
 * The result is the .image document (docs/tools/fb-fetch.md). */
#ifndef FB_IMAGE_H
#define FB_IMAGE_H

#include <jv.h>

#include "registry.h"
#include "store.h"

struct fb_err;

struct fb_image_opts {
	const char *platform;          /* from a list; NULL: the host's */
	struct fb_registry_opts reg;
};

int fb_image_fetch(const struct fb_image_opts *o, const char *ref, struct fb_store *s, jv *out, struct fb_err *err);

#endif
