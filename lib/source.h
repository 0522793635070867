/* Where a Dockerfile and its build context come from: a local path, an
 * http(s) URL (files next to it are fetched relative to its directory), or
 * a git repository at a ref (libgit2). Remote sources land in a directory
 * under the run cache that the builder removes after the build. */
#ifndef FB_SOURCE_H
#define FB_SOURCE_H

#include <jv.h>

struct fb_err;

struct fb_source_opts {
	const char *dockerfile; /* what the user gave */
	const char *context;    /* --context, or NULL */
	const char *run_cache;  /* where remote sources go */
};

/* Fetch and describe the source as .source (docs/tools/fb-fetch.md). */
int fb_source_fetch(const struct fb_source_opts *o, jv *out, struct fb_err *err);

/* Parse a git source: git+https://host/r.git:/path/Dockerfile#ref and the
 * git://, ssh://, git+ssh://, git+http:// forms. All out strings are new;
 * path is "Dockerfile" when none is given, ref NULL for the default branch.
 * Returns 1 for a git source, 0 for anything else. */
int fb_source_parse_git(const char *src, char **url, char **path, char **ref);

/* Docker's .dockerignore: the patterns in order (comments and blank lines
 * dropped, paths cleaned); NULL when there is no file. */
int fb_dockerignore_read(const char *path, jv *patterns, struct fb_err *err);

#endif
