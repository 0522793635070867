/* COPY and ADD into a stage's tree with BuildKit's semantics (its copier,
 * tonistiigi/fsutil copy; docs/compatibility.md): several sources,
 * wildcards (one that matches nothing adds nothing), a directory's
 * contents, trailing-slash rules, owners (--chown, else the source's from a
 * stage or an image, root from the context), --chmod, --exclude,
 * --parents, .dockerignore exceptions inside excluded directories, hard
 * links kept within a source, the source's times (nanoseconds), ADD's
 * local archive extraction. Both sides resolve inside their roots (openat2
 * RESOLVE_IN_ROOT): a link in the context or in the tree never reaches
 * outside, and a source that climbs out with .. is refused. The same walk
 * hashes what a copy would read, for the build cache. */
#ifndef FB_COPY_H
#define FB_COPY_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "digest.h"

#include "err.h"

struct fb_err;
struct fb_hashcache;

struct fb_copy_opts {
	const char *src_root;        /* the context, or another stage's tree */
	char *const *ignore;         /* .dockerignore patterns (context only) */
	size_t nignore;
	char *const *exclude;        /* --exclude */
	size_t nexclude;
	const char *dest_root;       /* the stage's tree */
	const char *workdir;         /* relative destinations start here */
	bool chown;                  /* else the source's owner (keep_owners) or root */
	bool keep_owners;            /* a stage's or an image's tree, not the context */
	uid_t uid;
	gid_t gid;
	bool chmod;
	mode_t mode;
	bool parents;                /* --parents: keep the source's directories */
	bool unpack;                 /* ADD: local tar archives are extracted */
	const char *what;            /* "COPY" or "ADD", for messages */
	struct fb_hashcache *hashes; /* hashing: files' digests remembered (NULL: none) */
};

/* Copy the sources (as written: wildcards allowed) to dest. */
int fb_copy(const struct fb_copy_opts *o, char *const *srcs, size_t n, const char *dest, struct fb_err *err) FB_MUST_CHECK;
/* Hash everything fb_copy would read and how it would write it: names,
 * types, modes, sizes, each file's content digest (its bytes and xattrs,
 * from o->hashes when the file is unchanged), link targets, hard-link
 * groups (not times, not owners: a context's files are all root's). */
int fb_copy_hash(const struct fb_copy_opts *o, char *const *srcs, size_t n, struct fb_sha256 *h, struct fb_err *err) FB_MUST_CHECK;
/* One file made from memory (a heredoc, a download) at dest: dest ending in
 * '/' or naming a directory gets `name` inside it. */
int fb_copy_data(const struct fb_copy_opts *o, const char *name, const void *data, size_t len, mode_t mode,
		 time_t mtime, const char *dest, struct fb_err *err) FB_MUST_CHECK;
/* "user[:group]" (names from the tree's /etc/passwd and /etc/group, or
 * numbers) to ids; a user alone gets its primary group. */
int fb_resolve_owner(const char *tree, const char *spec, uid_t *uid, gid_t *gid, struct fb_err *err) FB_MUST_CHECK;
/* The same for WORKDIR's directories made as USER, as BuildKit resolves
 * them: a name the tree does not know is left out (a user: 0:0; a group:
 * the user's group stays); the RUN that runs as it reports it. */
void fb_resolve_owner_lenient(const char *tree, const char *spec, uid_t *uid, gid_t *gid);
#endif
