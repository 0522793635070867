/* OCI and Docker manifests, indexes and image configs: media types,
 * picking a platform from a list, and the documents as C structs. The
 * codec (oci_doc.c) decodes each once, from the blob's bytes or from a
 * pipeline document's member, and encodes each once. */
#ifndef FB_OCI_H
#define FB_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doc.h"
#include "err.h"
#include "util.h"

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

/* The annotation an image layout names its images with. */
#define FB_OCI_REF_NAME "org.opencontainers.image.ref.name"

bool fb_oci_is_index(const char *media_type);
bool fb_oci_is_manifest(const char *media_type);

/* ---- descriptors, manifests, indexes ---- */

struct fb_oci_desc {
	char *media_type; /* NULL when absent */
	char *digest;
	int64_t size;     /* -1 when absent */
	char *platform;   /* an index entry's "os/arch[/variant]", or NULL */
	char *ref_name;   /* its FB_OCI_REF_NAME annotation, or NULL */
	char *path;       /* a layer given as a file (.image.layers[].path) */
	struct fb_doc *raw; /* the entry as read (an index's), kept as is */
};
void fb_oci_desc_free(struct fb_oci_desc *d);
void fb_oci_desc_copy(struct fb_oci_desc *dst, const struct fb_oci_desc *src);

struct fb_oci_index {
	bool listed; /* it had a manifests list */
	struct fb_oci_desc *manifests;
	size_t n;
	struct fb_doc *rest; /* the other members, kept as they were */
};
void fb_oci_index_free(struct fb_oci_index *x);
/* A manifest list or OCI index (a registry's, an image layout's
 * index.json). Only text that is no JSON is an error: without a manifests
 * list, listed is false. Entries that are no objects are dropped; those
 * with no digest string have digest NULL. */
int fb_oci_index_decode(const char *text, size_t len, struct fb_oci_index *out, struct fb_err *err) FB_MUST_CHECK;
/* Entries with raw are written as read. Owned text. */
char *fb_oci_index_encode(const struct fb_oci_index *x);
/* Append an entry {mediaType, digest, size, annotations: {ref.name}}. */
void fb_oci_index_add(struct fb_oci_index *x, const char *media_type, const char *digest, uint64_t size,
		      const char *ref_name);

/* From an index, the entry for platform "os/arch[/variant]" (NULL: the
 * host's). Errors list the platforms there are. */
int fb_oci_pick_platform(const struct fb_oci_index *x, const char *platform, const struct fb_oci_desc **out,
			 struct fb_err *err) FB_MUST_CHECK;

struct fb_oci_manifest {
	char *media_type;
	struct fb_oci_desc config;
	struct fb_oci_desc *layers;
	size_t nlayers;
};
void fb_oci_manifest_free(struct fb_oci_manifest *m);
/* Decode and check a manifest: schemaVersion 2, a config and layers
 * whose digests are sha256 and whose sizes are given. */
int fb_oci_manifest_decode(const char *text, size_t len, struct fb_oci_manifest *m, struct fb_err *err) FB_MUST_CHECK;
/* {schemaVersion: 2, mediaType, config, layers}. Owned text. */
char *fb_oci_manifest_encode(const struct fb_oci_manifest *m);

/* What a manifest or index blob is: its own mediaType, else a guess from
 * its shape (manifests: an index, layers: a manifest), else "". Owned. */
char *fb_oci_media_type_of(const char *text, size_t len);

/* What a manifest or an index blob refers to, read as found (a member of
 * another kind is no reference): a manifest's config and layers go to
 * blobs, an index's manifests to children. Not JSON: nothing. */
void fb_oci_refs(const char *text, size_t len, struct fb_strv *blobs, struct fb_strv *children);

/* docker save's manifest.json: [{Config, RepoTags, Layers}]. */
struct fb_docker_manifest {
	char *error; /* what is wrong with the entry (.Config, .Layers), or NULL */
	char *config;
	struct fb_strv repo_tags;
	struct fb_strv layers;
};
struct fb_docker_archive {
	struct fb_docker_manifest *images;
	size_t n;
};
void fb_docker_archive_free(struct fb_docker_archive *a);
/* Not a non-empty list is an error (kind "invalid"); an entry that is
 * not {Config, Layers} has its error, for when it is the one picked. */
int fb_docker_archive_decode(const char *text, size_t len, struct fb_docker_archive *out, struct fb_err *err)
	FB_MUST_CHECK;

/* ---- the image config ---- */

struct fb_oci_history {
	char *created, *created_by, *author, *comment;
	bool empty_layer;
	struct fb_doc *rest;
};

/* A list or a map whose presence matters: absent is not empty. */
struct fb_oci_strv {
	bool set;
	struct fb_strv v;
};
struct fb_oci_map { /* Labels: keys and values; ExposedPorts, Volumes: keys */
	bool set;
	struct fb_strv keys, vals;
};

struct fb_oci_health {
	bool set;
	struct fb_oci_strv test;
	int64_t interval, timeout, start_period, start_interval, retries; /* -1: absent */
};

/* The OCI image config (image-spec config.md), as the builder reads and
 * updates it. Decoding keeps what it does not know (rest, config_rest)
 * and is lenient, as a registry's blob is input like any other: a member
 * of another kind than the spec says is dropped. */
struct fb_oci_config {
	char *architecture, *os, *variant, *author, *created;
	bool has_config; /* a "config" member, even empty */
	char *user, *working_dir, *stop_signal;
	struct fb_oci_strv env, cmd, entrypoint, shell, onbuild;
	int onbuild_bad; /* the first OnBuild entry that is no string, or -1 */
	struct fb_oci_map labels, exposed_ports, volumes;
	struct fb_oci_health health;
	struct fb_doc *config_rest;
	bool has_rootfs;
	char *rootfs_type;
	struct fb_oci_strv diff_ids; /* an entry of another kind is "" */
	bool has_history;
	struct fb_oci_history *history;
	size_t nhistory;
	struct fb_doc *rest;
};
void fb_oci_config_init(struct fb_oci_config *c);
void fb_oci_config_free(struct fb_oci_config *c);
void fb_oci_config_copy(struct fb_oci_config *dst, const struct fb_oci_config *src);
/* From a blob. Only text that is no JSON object is an error. */
int fb_oci_config_decode(const char *text, size_t len, struct fb_oci_config *c, struct fb_err *err) FB_MUST_CHECK;
/* Owned text, one line (the config blob). */
char *fb_oci_config_encode(const struct fb_oci_config *c);
/* "linux/amd64" and the like (linux and amd64 when not said). Owned. */
char *fb_oci_config_platform(const struct fb_oci_config *c);

/* Env: the value of NAME, or NULL; set it (replacing the first, dropping
 * later ones). */
const char *fb_oci_env_get(const struct fb_oci_config *c, const char *name);
void fb_oci_env_set(struct fb_oci_config *c, const char *name, const char *value);
/* Labels, ExposedPorts and Volumes: set a key (value NULL for the sets). */
void fb_oci_map_set(struct fb_oci_map *m, const char *key, const char *value);
void fb_oci_strv_set(struct fb_oci_strv *dst, char *const *v, size_t n);
void fb_oci_strv_clear(struct fb_oci_strv *s);

#endif
