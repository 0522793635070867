/* The JSON a push reads and writes besides the pipeline document
 * (push_doc.c): the image manifest (decoded, or converted between OCI and
 * Docker schema 2), a registry's error body, the record of an upload in
 * progress, and an image layout's index.json. All read as hostile. */
#ifndef FB_PUSH_DOC_H
#define FB_PUSH_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "push.h"
#include "util.h"

struct fb_push_desc {
	char *media_type; /* NULL when absent */
	char digest[72];
	uint64_t size;
};

struct fb_push_manifest {
	char *media_type; /* its own, else guessed from the config's */
	struct fb_push_desc config;
	struct fb_push_desc *layers;
	size_t nlayers;
};
void fb_push_manifest_free(struct fb_push_manifest *m);
/* An image manifest (OCI or Docker schema 2): schemaVersion 2, a config
 * and layers with sha256 digests and sizes. FB_EXIT_USAGE otherwise. */
int fb_push_manifest_decode(const char *text, size_t len, struct fb_push_manifest *m, struct fb_err *err)
	FB_MUST_CHECK;
/* The manifest in format `to` (new text): media types mapped one to one;
 * what Docker schema 2 has no type for (zstd layers, annotations) is
 * an error of FB_EXIT_USAGE naming the layer, or dropped (annotations,
 * subject, artifactType). */
int fb_push_manifest_convert(const char *text, size_t len, enum fb_push_format to, char **out, struct fb_err *err)
	FB_MUST_CHECK;
/* The media type of a manifest in format f. */
const char *fb_push_manifest_type(enum fb_push_format f);

/* {"errors":[{"code","message"}]} as "CODE: message; ...", or NULL. */
char *fb_push_registry_errors(const char *text, size_t len);

/* An upload in progress: where the registry said to send the rest. */
struct fb_push_upload {
	char *registry, *repository, *digest, *location;
	uint64_t offset, size;
};
void fb_push_upload_free(struct fb_push_upload *u);
char *fb_push_upload_encode(const struct fb_push_upload *u);
/* -1 (FB_EXIT_USAGE) for a record that is not one. */
int fb_push_upload_decode(const char *text, size_t len, struct fb_push_upload *u, struct fb_err *err) FB_MUST_CHECK;

/* An image layout's index.json: each manifest's ref name annotation and
 * digest, for the entries that have both (the rest are skipped). */
int fb_push_index_decode(const char *text, size_t len, struct fb_strv *names, struct fb_strv *digests,
			 struct fb_err *err) FB_MUST_CHECK;

#endif
