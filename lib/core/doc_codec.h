/* For codec modules only (lib/LAYER/NAME_doc.c, docs/architecture.md): the
 * members of a pipeline document as jv values. Nothing else includes this:
 * scripts/check-layers refuses it elsewhere. */
#ifndef FB_DOC_CODEC_H
#define FB_DOC_CODEC_H

#include <jv.h>

#include "doc.h"

/* A copy of the member, or jv_null() when it is absent. */
jv fb_doc_get(const struct fb_doc *d, const char *key);
/* Is the member there, null included? */
bool fb_doc_has_key(const struct fb_doc *d, const char *key);
/* Set (or replace) a member; consumes v. */
void fb_doc_set(struct fb_doc *d, const char *key, jv v);
/* The whole document (a copy), and a document made of a jv object
 * (consumed; anything but an object gives an empty document). */
jv fb_doc_jv(const struct fb_doc *d);
struct fb_doc *fb_doc_from_jv(jv v);

#endif
