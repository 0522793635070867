/* OCI and Docker manifests and indexes: media types, picking a platform
 * from a list, reading a manifest into the .image document. */
#ifndef FB_OCI_H
#define FB_OCI_H

#include <jv.h>
#include <stdbool.h>
#include <stdint.h>

struct fb_err;

#define FB_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define FB_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define FB_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define FB_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define FB_MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define FB_MT_OCI_LAYER_ZST "application/vnd.oci.image.layer.v1.tar+zstd"
#define FB_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define FB_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define FB_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define FB_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define FB_MT_DOCKER_LAYER_GZ "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Every manifest type we read, for Accept headers. */
#define FB_MT_ACCEPT FB_MT_OCI_MANIFEST ", " FB_MT_OCI_INDEX ", " FB_MT_DOCKER_MANIFEST ", " FB_MT_DOCKER_LIST

bool fb_oci_is_index(const char *media_type);
bool fb_oci_is_manifest(const char *media_type);
/* A document's own mediaType, or a guess from its shape. Copy. */
char *fb_oci_media_type_of(jv doc);

/* From an index, the descriptor for platform "os/arch[/variant]" (NULL:
 * the host's). Errors list the platforms there are. */
int fb_oci_pick_platform(jv index, const char *platform, jv *desc, struct fb_err *err);

/* Check a manifest and return its config and layer descriptors. */
int fb_oci_manifest_parts(jv manifest, jv *config_desc, jv *layers, struct fb_err *err);

/* "linux/amd64" and the like, from a config or a descriptor's platform. */
char *fb_oci_platform_string(jv platform_or_config);

#endif
