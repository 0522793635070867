/* The local store (DESIGN.md): an OCI image layout holding every blob,
 * tagged root file systems, kernels, the build cache.
 *   <root>/oci-layout, index.json, blobs/sha256/<hex>
 *   <root>/rootfs/<name>/<version>/{rootfs.ext4,image.json}
 *   <root>/kernels/<id>   <root>/cache/<key hex>.json
 *   <root>/cache/files/<context>
 *   <root>/cache-mounts/<id>   <root>/tmp/
 * This module is the only one that knows the layout: everything else asks
 * it for paths (or for the operation). A blob becomes visible only once its
 * digest is verified (it is written under tmp/ and renamed); index.json
 * and tags change under an exclusive lock. */
#ifndef FB_STORE_H
#define FB_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "digest.h"
#include "err.h"
#include "file.h"
#include "doc.h"
#include "oci.h"
#include "util.h"

struct fb_err;
struct fb_handover;

struct fb_store {
	char *root;
	int lockfd;
};

/* $FB_STORE, else /var/lib/firebuild/store for root, else
 * $XDG_DATA_HOME/firebuild/store (~/.local/share/firebuild/store). */
const char *fb_store_default(void);
/* The run cache: flag, else $FB_RUN_CACHE, /var/lib/firebuild for root,
 * else $XDG_RUNTIME_DIR/firebuild (/tmp/firebuild without it). */
const char *fb_run_cache(const char *flag);
int fb_store_open(const char *root, struct fb_store *s, struct fb_err *err) FB_MUST_CHECK;
void fb_store_close(struct fb_store *s);

/* Exclusive lock over the store's shared files; waits. */
int fb_store_lock(struct fb_store *s, struct fb_err *err) FB_MUST_CHECK;
void fb_store_unlock(struct fb_store *s);

/* ---- the layout ---- */

/* <root>/blobs/sha256/<hex>; the _at form for a store not opened. */
char *fb_store_blob_path(const struct fb_store *s, const char *digest);
char *fb_store_blob_path_at(const char *root, const char *digest);
bool fb_store_has_blob(const struct fb_store *s, const char *digest);
/* <root>/tmp/<hex>.partial: a download of the blob under way (or left to
 * resume), written by the one pull that holds its lock. */
char *fb_store_partial_path_at(const char *root, const char *digest);

/* A tag's directory <root>/rootfs/<name>/<version>, and its files. */
#define FB_TAG_ROOTFS "rootfs.ext4"
#define FB_TAG_META "image.json"
char *fb_store_tag_dir(const char *root, const char *name, const char *version);
char *fb_store_tag_file(const char *root, const char *name, const char *version, const char *file);
/* NAME:VERSION as fb-tag takes it (names as registry references write
 * them, nothing that could leave the store); new strings. */
int fb_store_tag_parse(const char *s, char **name, char **version, struct fb_err *err) FB_MUST_CHECK;
/* NAME[:VERSION] as FROM and --from name a tag (latest by default): 0 and
 * new strings, or -1 when it cannot be a tag (a digest, a bad name). */
int fb_store_tag_split(const char *ref, char **name, char **version);

/* The build cache: <root>/cache/<hex of key>.json, and the directory of a
 * RUN --mount=type=cache (id: a digest of what names it). */
char *fb_store_cache_entry_path(const struct fb_store *s, const char *key);
char *fb_store_cache_mount_dir(const struct fb_store *s, const char *id_digest);
/* The content hash cache of a build context (lib/fs/hashcache), by its
 * real path: <root>/cache/files/<16 hex of the path's digest>. */
char *fb_store_context_hashes_path(const struct fb_store *s, const char *context);

/* A new private directory <root>/tmp/<prefix>-XXXXXX (root need not be
 * opened); *out gets its path. */
int fb_store_mktemp(const char *root, const char *prefix, char **out, struct fb_err *err) FB_MUST_CHECK;

struct fb_blob_writer {
	struct fb_store *store;
	char *tmp;
	int fd;
	struct fb_sha256 h;
	uint64_t size;
	char *expect; /* the digest it must have, or NULL */
	char *name;   /* for messages */
	char *wbuf;   /* writes gathered into 1 MiB */
	size_t wlen;
	bool private_tmp; /* a file of its own, not the digest's shared partial */
};

/* Start a blob. With `expect`, a partial download of it left in tmp/ is
 * resumed (*resumed_at gets its size; NULL to always start afresh). The
 * partial is locked while written: a second run that wants the same blob
 * at the same time writes a file of its own instead (from the start), so
 * parallel pulls into one store never share a temporary file. */
int fb_blob_begin(struct fb_store *s, const char *expect, const char *name, uint64_t *resumed_at,
		  struct fb_blob_writer *w, struct fb_err *err) FB_MUST_CHECK;
int fb_blob_write(struct fb_blob_writer *w, const void *p, size_t n, struct fb_err *err) FB_MUST_CHECK;
/* Verify, sync, rename into place; *digest gets the digest (may be NULL).
 * A mismatch is an error naming the blob, and the data is dropped. */
int fb_blob_commit(struct fb_blob_writer *w, char digest[72], struct fb_err *err) FB_MUST_CHECK;
/* Drop the data; keep_partial leaves a resumable download behind. */
void fb_blob_abort(struct fb_blob_writer *w, bool keep_partial);

/* Copy a file into the store, verifying it when expect is given. */
int fb_store_put_file(struct fb_store *s, const char *src, const char *expect, char digest[72], struct fb_err *err)
	FB_MUST_CHECK;
int fb_store_put_mem(struct fb_store *s, const void *p, size_t n, char digest[72], struct fb_err *err) FB_MUST_CHECK;
/* A blob's bytes (a digest that is not sha256 is FB_EXIT_USAGE). */
int fb_store_read_blob(const struct fb_store *s, const char *digest, struct fb_buf *out, struct fb_err *err)
	FB_MUST_CHECK;
/* A manifest blob and its config blob, decoded (a local tag's image). */
int fb_store_read_image(const struct fb_store *s, const char *manifest_digest, struct fb_oci_manifest *m,
			struct fb_oci_config *cfg, struct fb_err *err) FB_MUST_CHECK;

/* index.json: one manifest descriptor per ref name (the
 * org.opencontainers.image.ref.name annotation). Takes the lock. */
int fb_store_index_set(struct fb_store *s, const char *ref, const char *media_type, const char *digest,
		       uint64_t size, struct fb_err *err) FB_MUST_CHECK;

/* ---- tags: <root>/rootfs/<name>/<version> ---- */

/* image.json (store_doc.c reads and writes it): what a tag is, what it
 * was made from, and the blobs gc must keep for it. Read as found: a
 * member of another kind is absent. */
struct fb_tag_meta {
	char *name, *version, *created;
	int64_t size, content_size; /* -1: null */
	struct fb_oci_config *config; /* NULL: none */
	bool from_image;             /* made from an image (source, digest, platform) */
	char *source, *digest, *platform;
	struct fb_strv blobs;
	char *rootfs_sha256;         /* rootfs.ext4's, 64 hex digits; NULL until fb_store_tag_sha256 */
	char *rootfs_key; /* what the ext4 was made from (fb-mkrootfs's .rootfs.key); NULL: not said */
};
void fb_tag_meta_free(struct fb_tag_meta *m);
int fb_tag_meta_load(const char *path, struct fb_tag_meta *m, struct fb_err *err) FB_MUST_CHECK;
int fb_tag_meta_save(const char *path, const struct fb_tag_meta *m, struct fb_err *err) FB_MUST_CHECK;

/* Put the file h holds (fb_handover_open) under NAME:VERSION with its
 * image.json (meta's name, version and created are set here, its
 * rootfs_sha256 cleared); an existing
 * tag is replaced in one rename. The directory fb-mkrootfs made for the
 * file under tmp/ goes with it. *dir gets the tag's directory. */
int fb_store_tag_put(struct fb_store *s, const char *name, const char *version, struct fb_handover *h,
		     struct fb_tag_meta *meta, char **dir, struct fb_err *err) FB_MUST_CHECK;
/* A tag's image.json: FB_EXIT_NOTFOUND naming the tag when there is none. */
int fb_store_tag_get(const struct fb_store *s, const char *name, const char *version, struct fb_tag_meta *m,
		     struct fb_err *err) FB_MUST_CHECK;
/* The sha256 of the tag's rootfs.ext4 (64 hex digits), as sha256sum
 * prints it: image.json's when recorded, else computed now and recorded
 * (*saved) when the tag is still the file hashed and image.json can be
 * written. */
int fb_store_tag_sha256(struct fb_store *s, const char *name, const char *version, char **hex, bool *saved,
			struct fb_err *err) FB_MUST_CHECK;
/* Its path, checked to be there (the same error). */
int fb_store_tag_meta_path(const struct fb_store *s, const char *name, const char *version, char **path,
			   struct fb_err *err) FB_MUST_CHECK;
int fb_store_tag_rm(struct fb_store *s, const char *name, const char *version, struct fb_err *err) FB_MUST_CHECK;
/* Every tag, by name then version. */
int fb_store_tag_list(const struct fb_store *s, struct fb_tag_meta **out, size_t *n, struct fb_err *err) FB_MUST_CHECK;

/* ---- the build cache ---- */

/* <root>/cache/<key>.json: {key, step, layer (a digest, or null for a
 * step that changed nothing), size, created}. */
struct fb_cache_entry {
	char *key, *step;
	char *layer;      /* NULL: the step made no layer */
	bool layer_other; /* the member is of another kind (a miss) */
	int64_t size;
	char *created;    /* when the step ran (RFC 3339), NULL: not said */
};
void fb_cache_entry_free(struct fb_cache_entry *e);
/* The codec: 1 and the entry, 0 when there is none or it is no object. */
int fb_cache_entry_load(const char *path, struct fb_cache_entry *e);
int fb_cache_entry_save(const char *path, const struct fb_cache_entry *e, struct fb_err *err) FB_MUST_CHECK;
/* 1 and the entry when there is one (touched: gc keeps what was used
 * lately), 0 when there is none (or it is not an object). */
int fb_store_cache_get(const struct fb_store *s, const char *key, struct fb_cache_entry *e);
int fb_store_cache_put(const struct fb_store *s, const struct fb_cache_entry *e, struct fb_err *err) FB_MUST_CHECK;

/* ---- what fb-tag writes (store_doc.c) ---- */

/* .tag {name, version, path, created} of a put */
void fb_tag_doc_set(struct fb_doc *d, const struct fb_tag_meta *m, const char *dir);
/* .image of a get: {name, version, rootfs, config, digest, created,
 * size, source, platform, store}, each null when the tag has none */
void fb_tag_image_doc_set(struct fb_doc *d, const struct fb_tag_meta *m, const char *rootfs, const char *store);
/* ... and its decoder, for the tools after fb-tag get (FB_EXIT_USAGE
 * naming the member; rootfs and store are new strings) */
int fb_tag_image_from_doc(const struct fb_doc *d, struct fb_tag_meta *m, char **rootfs, char **store,
			  struct fb_err *err) FB_MUST_CHECK;
/* .images [{name, version, created, size, source, digest}] of ls */
/* inspect's image.json document given the sha256 it did not record */
void fb_tag_sha256_doc_set(struct fb_doc *d, const char *hex);
void fb_tag_list_doc_set(struct fb_doc *d, const struct fb_tag_meta *list, size_t n);
/* ... and its decoder (firebuild image ls's table; FB_EXIT_USAGE naming
 * the member); each row freed with fb_tag_meta_free, then the array */
int fb_tag_list_from_doc(const struct fb_doc *d, struct fb_tag_meta **out, size_t *n, struct fb_err *err) FB_MUST_CHECK;
/* .removed "NAME:VERSION" of rm */
void fb_tag_removed_doc_set(struct fb_doc *d, const char *name, const char *version);

/* Remove a tree (no link followed); 0 or -1 (errno). */
int fb_store_rm_rf(const char *path);

/* ---- gc ---- */

struct fb_gc_stats {
	uint64_t images_dropped, blobs_removed, blobs_kept, bytes_freed, tmp_removed, cache_entries_removed;
};
/* Drop build cache entries unused for max_age ns (0: all) or whose layer
 * is gone; then keep what tags and the cache refer to (their manifests in
 * index.json, those manifests' configs and layers), drop the rest of
 * index.json and the blobs, and tmp/ entries over an hour old. */
int fb_store_gc(struct fb_store *s, long long max_age_ns, struct fb_gc_stats *st, struct fb_err *err) FB_MUST_CHECK;
/* .gc {images_dropped, blobs_removed, blobs_kept, bytes_freed, tmp_removed, cache_entries_removed} */
void fb_gc_doc_set(struct fb_doc *d, const struct fb_gc_stats *st);

/* A file handed over to be moved into the store (fb-tag put's rootfs).
 * Only a regular file with no other hard link, reached without a symbolic
 * link, whose real directory is the store's tmp/ (fb-mkrootfs's output),
 * the run cache (not its runs/, where VMs keep their disks), or one of the
 * dirs the caller allows, or below one; never elsewhere in the store.
 * Anything else is FB_EXIT_USAGE and nothing is touched. */
struct fb_handover {
	int dirfd;      /* the real parent directory */
	int fd;         /* the file, read-only */
	char *dir;      /* its real path */
	char *base;
	struct stat st;
};
int fb_handover_open(const struct fb_store *s, const char *path, const char *run_cache, char *const *dirs, size_t ndirs,
		     struct fb_handover *h, struct fb_err *err) FB_MUST_CHECK;
/* Move it to dst (a rename, or a sparse copy across file systems), checking
 * that the name still held the file that was checked. */
int fb_handover_move(struct fb_handover *h, const char *dst, struct fb_err *err) FB_MUST_CHECK;
void fb_handover_close(struct fb_handover *h);

#endif
