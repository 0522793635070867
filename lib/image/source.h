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

/* Clone url into dir (new) and check out ref (a branch, a tag or a
 * commit; NULL: the default branch); commit gets the commit's hex id. */
int fb_git_checkout(const char *url, const char *ref, const char *dir, char commit[41], struct fb_err *err);

/* An ADD source that is a git repository, as BuildKit takes them: git://,
 * git@HOST:PATH, ssh://, an http(s) URL whose path ends in .git, or
 * github.com/...; with #REF[:SUBDIR]. 1 and new strings (ref and subdir
 * may be NULL) for a repository, 0 for anything else. */
int fb_git_url_parse(const char *src, char **url, char **ref, char **subdir);

/* Docker's .dockerignore: the patterns in order (comments and blank lines
 * dropped, paths cleaned); NULL when there is no file. */
int fb_dockerignore_read(const char *path, jv *patterns, struct fb_err *err);

#endif
