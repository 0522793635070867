/* For the codecs of lib/image only (NAME_doc.c): the OCI config as a jv
 * member of another document. scripts/check-layers refuses a *_doc.h
 * anywhere but in a codec. */
#ifndef FB_OCI_DOC_H
#define FB_OCI_DOC_H

#include <jv.h>

#include "oci.h"

jv fb_oci_config_jv(const struct fb_oci_config *c);
/* Consumes v (an object; anything else gives an empty config). */
void fb_oci_config_from_jv(jv v, struct fb_oci_config *c);

#endif
