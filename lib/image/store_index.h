/* The store's index.json read as it is (part of the store module, whose
 * layout it knows): the images pulled into the store, by name. It is
 * replaced atomically under the store's lock, so a reader needs no lock. */
#ifndef FB_STORE_INDEX_H
#define FB_STORE_INDEX_H

#include "err.h"
#include "store.h"
#include "util.h"

/* Its text; a store without one gives an empty buffer. */
int fb_store_index_read(const struct fb_store *s, struct fb_buf *text, struct fb_err *err) FB_MUST_CHECK;

#endif
