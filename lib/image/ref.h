/* Image references as Docker reads them, and the transports we accept:
 *   [docker://][host[:port]/]path[:tag][@digest]   a registry (v2 API)
 *   docker-archive:PATH[:name:tag]                  what `docker save` writes
 *   oci:DIR[:tag]   oci-archive:PATH[:tag]          OCI image layouts */
#ifndef FB_REF_H
#define FB_REF_H

#include "err.h"

struct fb_err;

enum fb_transport { FB_REF_REGISTRY, FB_REF_DOCKER_ARCHIVE, FB_REF_OCI, FB_REF_OCI_ARCHIVE };

struct fb_ref {
	enum fb_transport transport;
	char *registry;   /* "docker.io", "localhost:5000" */
	char *repository; /* "library/busybox" */
	char *tag;        /* NULL when only a digest was given */
	char *digest;     /* NULL unless @sha256:... */
	char *path;       /* archives and layouts */
	char *canonical;  /* what messages call it */
	char *store_name; /* its name in the store's index.json */
};

int fb_ref_parse(const char *s, struct fb_ref *out, struct fb_err *err) FB_MUST_CHECK;
void fb_ref_free(struct fb_ref *r);
/* The API host: docker.io's is registry-1.docker.io. */
const char *fb_ref_api_host(const struct fb_ref *r);

#endif
