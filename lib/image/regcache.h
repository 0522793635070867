/* The build cache shared through a registry, as BuildKit's registry cache
 * (type=registry): the store's build-cache entries (step key -> the layer
 * the step made, store.h) of one build go to a registry as an OCI artifact,
 * an image manifest whose config is ours
 *   {"mediaType": application/vnd.oci.image.manifest.v1+json,
 *    "artifactType": FB_MT_CACHE_ARTIFACT,
 *    "config": {FB_MT_CACHE_CONFIG, ...},
 *    "layers": [the steps' layer blobs, each once]}
 *   config: {"mode": "min"|"max",
 *            "entries": [{"key", "layer" (a digest, or null: the step
 *                         changed nothing), "size", "step"}]}
 * and come back into another store's cache: the manifest and config are
 * checked (type, shape), each layer is downloaded and verified against its
 * digest and size (and must be a plain tar, as the builder's layers are)
 * before its entry is written. An entry that fails is skipped (its step
 * runs); an entry of the store's own (with its layer) is never replaced.
 *
 * What a cache cannot prove is that a key's layer is what the step would
 * make: importing a ref trusts whoever can push to it, as FROM trusts its
 * base image's publisher. */
#ifndef FB_REGCACHE_H
#define FB_REGCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "doc.h"
#include "err.h"
#include "push.h"
#include "registry.h"
#include "store.h"
#include "util.h"

#define FB_MT_CACHE_CONFIG "application/vnd.firebuild.cache.config.v1+json"
#define FB_MT_CACHE_ARTIFACT "application/vnd.firebuild.cache.v1"

/* The largest cache config taken from a registry, and the most entries
 * (and layers) one may list: far more than any Dockerfile has steps. */
#define FB_REGCACHE_CONFIG_MAX (16u << 20)
#define FB_REGCACHE_ENTRIES_MAX 10000

enum fb_regcache_mode { FB_REGCACHE_MIN, FB_REGCACHE_MAX };

struct fb_regcache_entry {
	char key[72];
	char layer[72]; /* "" : the step made no layer */
	uint64_t size;
	char *step;     /* the instruction, for people; may be NULL */
	char *created;  /* when the step ran (RFC 3339, the builder's cache
			 * entry's): the image's created; may be NULL */
};

struct fb_regcache {
	enum fb_regcache_mode mode;
	struct fb_regcache_entry *v;
	size_t n;
};
void fb_regcache_free(struct fb_regcache *c);
/* Add an entry (a key already there is skipped: NULL); step is copied. */
struct fb_regcache_entry *fb_regcache_add(struct fb_regcache *c, const char *key, const char *layer, uint64_t size, const char *step);

/* A --cache-to / --cache-from value as buildx writes it:
 *   REF[,mode=min|max][,ignore-error=true|false]  or
 *   type=registry,ref=REF[,mode=...][,ignore-error=...]
 * (mode and ignore-error only for an export). FB_EXIT_USAGE naming the
 * part at fault. */
struct fb_regcache_spec {
	char *ref;
	enum fb_regcache_mode mode;
	bool ignore_error;
};
int fb_regcache_spec_parse(const char *s, bool export, struct fb_regcache_spec *out, struct fb_err *err) FB_MUST_CHECK;
void fb_regcache_spec_free(struct fb_regcache_spec *s);

/* ---- export ---- */

struct fb_regcache_export {
	struct fb_push_result push;
	size_t entries, layers;
};
void fb_regcache_export_free(struct fb_regcache_export *x);
/* Push c's entries to ref: their layers (blobs of s; one missing is
 * FB_EXIT_NOTFOUND before anything is sent), the config, the manifest
 * (the tag: ref's, else "cache"). */
int fb_regcache_push(const struct fb_push_opts *o, struct fb_store *s, const struct fb_regcache *c, const char *ref,
		     struct fb_regcache_export *out, struct fb_err *err) FB_MUST_CHECK;

/* ---- import ---- */

struct fb_regcache_import {
	char *ref;
	char digest[72];  /* the manifest's, "" when none came */
	size_t entries;   /* in the cache */
	size_t imported;  /* written into the store's cache */
	size_t present;   /* the store had them already */
	size_t skipped;   /* dropped: a layer that failed its checks */
	char *error;      /* why the whole cache was not used, or NULL */
};
void fb_regcache_import_free(struct fb_regcache_import *x);
/* Bring ref's entries into s's build cache. -1 when the cache cannot be
 * used at all (no such ref, not a firebuild cache, a malformed config);
 * out->ref, and what was done, are filled either way. An entry whose layer
 * fails (download, digest, size, not a plain tar) is skipped with a
 * warning on the log. */
int fb_regcache_pull(const struct fb_registry_opts *o, struct fb_store *s, const char *ref,
		     struct fb_regcache_import *out, struct fb_err *err) FB_MUST_CHECK;

/* ---- the codec (regcache_doc.c) ---- */

/* The config blob: decode checks every member (FB_EXIT_USAGE naming it:
 * ".entries[2].key: not a sha256 digest"); encode gives new text. */
int fb_regcache_decode(const char *text, size_t len, struct fb_regcache *c, struct fb_err *err) FB_MUST_CHECK;
char *fb_regcache_encode(const struct fb_regcache *c);

/* The artifact's manifest: encode (new text) from the config's descriptor
 * and the layers; check a manifest from a registry is one: an OCI image
 * manifest whose config is FB_MT_CACHE_CONFIG and whose layers are plain
 * tars; m gets it. */
char *fb_regcache_manifest_encode(const char *config_digest, uint64_t config_size, const struct fb_regcache *c);
int fb_regcache_manifest_check(const char *text, size_t len, struct fb_push_manifest *m, struct fb_err *err)
	FB_MUST_CHECK;

/* A build's steps as fb-mkrootfs writes them (.build.steps), the members
 * an export needs. FB_EXIT_USAGE naming the member; no .build.steps at all
 * is FB_EXIT_USAGE too (a document that built nothing). */
struct fb_regcache_step {
	size_t stage;
	char *status; /* cached, executed, metadata */
	char key[72];
	char layer[72]; /* "" : none */
	char *instruction;
};
struct fb_regcache_steps {
	struct fb_regcache_step *v;
	size_t n;
};
void fb_regcache_steps_free(struct fb_regcache_steps *s);
int fb_regcache_steps_from_doc(const struct fb_doc *d, struct fb_regcache_steps *s, struct fb_err *err) FB_MUST_CHECK;

/* .cache_export {ref, digest, mode, entries, layers, bytes_uploaded} and
 * .cache_import [{ref, digest, entries, imported, present, skipped, error}] */
void fb_regcache_export_doc_set(struct fb_doc *d, const struct fb_regcache_export *x, enum fb_regcache_mode mode);
void fb_regcache_import_doc_set(struct fb_doc *d, const struct fb_regcache_import *v, size_t n);

#endif
