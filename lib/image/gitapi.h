/* libgit2, loaded when first used (lazylib.h), by the soname of the
 * version built against: only a git source or ADD of a git URL needs it.
 * Include this instead of <git2.h>: the git_* calls below read the same;
 * not loadable, they fail (-1, NULL) and fb_git_why() says why. Only the
 * calls listed here are there: a new one is added to both files. */
#ifndef FB_GITAPI_H
#define FB_GITAPI_H

#include <stdbool.h>

#include <git2.h>

#include "lazylib.h"

/* Load it now (for a clear error up front); false and why when it
 * cannot be. The calls load it themselves. */
bool fb_git_load(void);
const char *fb_git_why(void);

/* the library's calls, each loading it first */
int fb_git_libgit2_init(void);
int fb_git_libgit2_shutdown(void);
const git_error *fb_git_error_last(void);
int fb_git_clone_options_init(git_clone_options *a0, unsigned int a1);
int fb_git_clone(git_repository **a0, const char *a1, const char *a2, const git_clone_options *a3);
int fb_git_revparse_single(git_object **a0, git_repository *a1, const char *a2);
int fb_git_object_peel(git_object **a0, const git_object *a1, git_object_t a2);
const git_oid *fb_git_object_id(const git_object *a0);
void fb_git_object_free(git_object *a0);
int fb_git_checkout_options_init(git_checkout_options *a0, unsigned int a1);
int fb_git_checkout_tree(git_repository *a0, const git_object *a1, const git_checkout_options *a2);
int fb_git_repository_set_head_detached(git_repository *a0, const git_oid *a1);
void fb_git_repository_free(git_repository *a0);
char *fb_git_oid_tostr_s(const git_oid *a0);

#ifndef FB_GIT_IMPL
#define git_libgit2_init fb_git_libgit2_init
#define git_libgit2_shutdown fb_git_libgit2_shutdown
#define git_error_last fb_git_error_last
#define git_clone_options_init fb_git_clone_options_init
#define git_clone fb_git_clone
#define git_revparse_single fb_git_revparse_single
#define git_object_peel fb_git_object_peel
#define git_object_id fb_git_object_id
#define git_object_free fb_git_object_free
#define git_checkout_options_init fb_git_checkout_options_init
#define git_checkout_tree fb_git_checkout_tree
#define git_repository_set_head_detached fb_git_repository_set_head_detached
#define git_repository_free fb_git_repository_free
#define git_oid_tostr_s fb_git_oid_tostr_s
#endif

#endif
