/* Push an image the store holds to a registry (the distribution spec's
 * push): each blob is looked for first (HEAD) and skipped when the
 * repository has it, mounted from another repository of the registry that
 * has it (what this host pushed there or pulled from there), else uploaded
 * (in one PUT, or in chunks, PATCH by PATCH, resumable: the next push of
 * the blob to that repository asks the registry how far the last one got
 * and goes on from there). The config and the manifest go last, so a
 * failed push leaves no manifest that names a missing blob. */
#ifndef FB_PUSH_H
#define FB_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "doc.h"
#include "err.h"
#include "registry.h"
#include "store.h"

enum fb_push_format { FB_PUSH_OCI, FB_PUSH_DOCKER };

/* Blobs larger than this go up in chunks. */
#define FB_PUSH_CHUNK_DEFAULT (32ull << 20)
#define FB_PUSH_CHUNK_MIN 1024ull

struct fb_push_opts {
	struct fb_registry_opts reg; /* credentials, insecure hosts, CA */
	enum fb_push_format format;  /* the manifest's format on the registry */
	uint64_t chunk_size;         /* 0: FB_PUSH_CHUNK_DEFAULT */
	const char *state_dir;       /* <run-cache>/push: uploads in progress and
	                              * where blobs were seen, per registry */
};

/* What to push: the .image member of fb-tag get, fb-fetch image or
 * fb-mkrootfs (push_doc.c decodes it). */
struct fb_push_src {
	char *digest;  /* its manifest, a blob of the store */
	char *name;    /* for messages; may be NULL */
	char *version; /* a tag's version: the default tag; may be NULL */
	char *store;   /* the store the document says it is in, for messages
	                * only (the store pushed from is the caller's) */
};
void fb_push_src_free(struct fb_push_src *s);

enum fb_push_status { FB_PUSH_EXISTS, FB_PUSH_MOUNTED, FB_PUSH_UPLOADED };

struct fb_push_blob {
	char digest[72];
	uint64_t size;
	enum fb_push_status status;
	char *from;          /* mounted: the repository it came from */
	uint64_t resumed_at; /* uploaded: where an earlier push had got to */
	unsigned chunks;     /* uploaded: PATCH requests (0: in one PUT) */
};

struct fb_push_result {
	char *ref;        /* registry/repository:tag (or @digest) */
	char digest[72];  /* of the manifest as pushed */
	char *media_type;
	uint64_t size;
	struct fb_push_blob *blobs; /* the layers, then the config */
	size_t nblobs;
	uint64_t bytes_uploaded;
};
void fb_push_result_free(struct fb_push_result *r);

/* Push src (from store s) to ref ([docker://][HOST/]REPO[:TAG][@DIGEST]);
 * without a tag or digest the tag is src's version, else "latest".
 * A blob of the image missing from the store is FB_EXIT_NOTFOUND before
 * anything is sent; a bad reference, or an image that has no equivalent
 * in the format asked for, FB_EXIT_USAGE. */
int fb_push_image(const struct fb_push_opts *o, struct fb_store *s, const struct fb_push_src *src, const char *ref,
		  struct fb_push_result *out, struct fb_err *err) FB_MUST_CHECK;

/* ---- the codec (push_doc.c) ---- */

/* .image.digest (a string: the manifest; null: a tag made from an ext4
 * alone, which has nothing to push, FB_EXIT_NOTFOUND), .image.name,
 * .image.version and .image.store when they are strings. FB_EXIT_USAGE
 * naming the member. */
int fb_push_src_from_doc(const struct fb_doc *d, struct fb_push_src *src, struct fb_err *err) FB_MUST_CHECK;
/* .push {ref, digest, media_type, size, bytes_uploaded,
 *        blobs: [{digest, size, status (exists, mounted, uploaded),
 *                 from, resumed_at, chunks}]} */
void fb_push_doc_set(struct fb_doc *d, const struct fb_push_result *r);

/* ---- manifests, registry errors, upload records, the store's index (push_doc.c) ---- */
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
