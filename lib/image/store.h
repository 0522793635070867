/* The local store (DESIGN.md): an OCI image layout holding every blob,
 * tagged root file systems, kernels, the build cache.
 *   <root>/oci-layout, index.json, blobs/sha256/<hex>
 *   <root>/rootfs/<name>/<version>/{rootfs.ext4,image.json}
 *   <root>/kernels/<id>   <root>/cache/   <root>/tmp/
 * A blob becomes visible only once its digest is verified (it is written
 * under tmp/ and renamed); index.json changes under an exclusive lock. */
#ifndef FB_STORE_H
#define FB_STORE_H

#include <jv.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "digest.h"
#include "file.h"

struct fb_err;

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
int fb_store_open(const char *root, struct fb_store *s, struct fb_err *err);
void fb_store_close(struct fb_store *s);

/* Exclusive lock over the store's shared files; waits. */
int fb_store_lock(struct fb_store *s, struct fb_err *err);
void fb_store_unlock(struct fb_store *s);

char *fb_store_blob_path(const struct fb_store *s, const char *digest);
bool fb_store_has_blob(const struct fb_store *s, const char *digest);

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
		  struct fb_blob_writer *w, struct fb_err *err);
int fb_blob_write(struct fb_blob_writer *w, const void *p, size_t n, struct fb_err *err);
/* Verify, sync, rename into place; *digest gets the digest (may be NULL).
 * A mismatch is an error naming the blob, and the data is dropped. */
int fb_blob_commit(struct fb_blob_writer *w, char digest[72], struct fb_err *err);
/* Drop the data; keep_partial leaves a resumable download behind. */
void fb_blob_abort(struct fb_blob_writer *w, bool keep_partial);

/* Copy a file into the store, verifying it when expect is given. */
int fb_store_put_file(struct fb_store *s, const char *src, const char *expect, char digest[72], struct fb_err *err);
int fb_store_put_mem(struct fb_store *s, const void *p, size_t n, char digest[72], struct fb_err *err);
int fb_store_read_blob(const struct fb_store *s, const char *digest, jv *out, struct fb_err *err);

/* index.json: one manifest descriptor per ref name (the
 * org.opencontainers.image.ref.name annotation). Takes the lock. */
int fb_store_index_set(struct fb_store *s, const char *ref, const char *media_type, const char *digest,
		       uint64_t size, struct fb_err *err);

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
		     struct fb_handover *h, struct fb_err *err);
/* Move it to dst (a rename, or a sparse copy across file systems), checking
 * that the name still held the file that was checked. */
int fb_handover_move(struct fb_handover *h, const char *dst, struct fb_err *err);
void fb_handover_close(struct fb_handover *h);

#endif
