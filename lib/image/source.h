/* Where a Dockerfile and its build context come from: a local path, an
 * http(s) URL (files next to it are fetched relative to its directory), or
 * a git repository at a ref (libgit2). Remote sources land in a directory
 * under the run cache that the builder removes after the build. */
#ifndef FB_SOURCE_H
#define FB_SOURCE_H

#include <stdbool.h>

#include "doc.h"
#include "err.h"
#include "util.h"

struct fb_err;

struct fb_source_opts {
	const char *dockerfile; /* what the user gave */
	const char *context;    /* --context, or NULL */
	const char *run_cache;  /* where remote sources go */
};

/* .source (docs/tools/fb-fetch.md); source_doc.c is its codec. */
struct fb_source {
	char *kind;          /* local, http, git */
	char *dockerfile;
	char *context;       /* the build context directory */
	char *context_url;   /* an http Dockerfile's directory */
	char *url;
	bool has_ref;        /* git: the ref asked for (null: the default branch) */
	char *ref;
	char *commit;
	char *temporary;     /* what the builder removes after the build */
	bool has_dockerignore;
	struct fb_strv dockerignore;
	char *dockerignore_file;
	char *target;        /* a stage to build (fb-parse's --target) */
};
void fb_source_free(struct fb_source *s);
void fb_source_doc_set(struct fb_doc *d, const struct fb_source *s);

/* Who reads .source decides what it must hold (FB_EXIT_USAGE naming the
 * member): fb-parse a .source with a .dockerfile string; the builder an
 * optional .source whose .temporary is fb-fetch source's own (it is
 * removed after the build). *present: there was a .source. */
enum fb_source_use { FB_SOURCE_FOR_PARSE, FB_SOURCE_FOR_BUILD };
int fb_source_from_doc(const struct fb_doc *d, enum fb_source_use use, struct fb_source *s, bool *present,
		       struct fb_err *err) FB_MUST_CHECK;

/* Fetch and describe the source. */
int fb_source_fetch(const struct fb_source_opts *o, struct fb_source *out, struct fb_err *err) FB_MUST_CHECK;

/* Parse a git source: git+https://host/r.git:/path/Dockerfile#ref and the
 * git://, ssh://, git+ssh://, git+http:// forms. All out strings are new;
 * path is "Dockerfile" when none is given, ref NULL for the default branch.
 * Returns 1 for a git source, 0 for anything else. */
int fb_source_parse_git(const char *src, char **url, char **path, char **ref);

/* Clone url into dir (new) and check out ref (a branch, a tag or a
 * commit; NULL: the default branch); commit gets the commit's hex id. */
int fb_git_checkout(const char *url, const char *ref, const char *dir, char commit[41], struct fb_err *err) FB_MUST_CHECK;

/* An ADD source that is a git repository, as BuildKit takes them: git://,
 * git@HOST:PATH, ssh://, an http(s) URL whose path ends in .git, or
 * github.com/...; with #REF[:SUBDIR]. 1 and new strings (ref and subdir
 * may be NULL) for a repository, 0 for anything else. */
int fb_git_url_parse(const char *src, char **url, char **ref, char **subdir);

/* Docker's .dockerignore: the patterns in order (comments and blank lines
 * dropped, paths cleaned), pushed to *patterns. */
int fb_dockerignore_read(const char *path, struct fb_strv *patterns, struct fb_err *err) FB_MUST_CHECK;

#endif
