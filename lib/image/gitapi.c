/* libgit2 by dlopen, on first use (gitapi.h, lazylib.h). */
#define FB_GIT_IMPL 1
#include "gitapi.h"

static int (*p_git_libgit2_init)(void);
static int (*p_git_libgit2_shutdown)(void);
static const git_error *(*p_git_error_last)(void);
static int (*p_git_clone_options_init)(git_clone_options *opts, unsigned int version);
static int (*p_git_clone)(git_repository **out, const char *url, const char *local_path, const git_clone_options *options);
static int (*p_git_revparse_single)(git_object **out, git_repository *repo, const char *spec);
static int (*p_git_object_peel)(git_object **peeled, const git_object *object, git_object_t target_type);
static const git_oid *(*p_git_object_id)(const git_object *obj);
static void (*p_git_object_free)(git_object *object);
static int (*p_git_checkout_options_init)(git_checkout_options *opts, unsigned int version);
static int (*p_git_checkout_tree)(git_repository *repo, const git_object *treeish, const git_checkout_options *opts);
static int (*p_git_repository_set_head_detached)(git_repository *repo, const git_oid *committish);
static void (*p_git_repository_free)(git_repository *repo);
static char *(*p_git_oid_tostr_s)(const git_oid *oid);

static const struct fb_lazysym syms[] = {
	{ "git_libgit2_init", &p_git_libgit2_init },
	{ "git_libgit2_shutdown", &p_git_libgit2_shutdown },
	{ "git_error_last", &p_git_error_last },
	{ "git_clone_options_init", &p_git_clone_options_init },
	{ "git_clone", &p_git_clone },
	{ "git_revparse_single", &p_git_revparse_single },
	{ "git_object_peel", &p_git_object_peel },
	{ "git_object_id", &p_git_object_id },
	{ "git_object_free", &p_git_object_free },
	{ "git_checkout_options_init", &p_git_checkout_options_init },
	{ "git_checkout_tree", &p_git_checkout_tree },
	{ "git_repository_set_head_detached", &p_git_repository_set_head_detached },
	{ "git_repository_free", &p_git_repository_free },
	{ "git_oid_tostr_s", &p_git_oid_tostr_s },
};
static struct fb_lazylib lib = FB_LAZYLIB_INIT("libgit2.so." LIBGIT2_SOVERSION, syms);

bool fb_git_load(void)
{
	return fb_lazylib_load(&lib);
}

const char *fb_git_why(void)
{
	return fb_lazylib_why(&lib);
}

int fb_git_libgit2_init(void)
{
	return fb_git_load() ? p_git_libgit2_init() : -1;
}

int fb_git_libgit2_shutdown(void)
{
	return fb_git_load() ? p_git_libgit2_shutdown() : -1;
}

const git_error *fb_git_error_last(void)
{
	return fb_git_load() ? p_git_error_last() : NULL;
}

int fb_git_clone_options_init(git_clone_options *a0, unsigned int a1)
{
	return fb_git_load() ? p_git_clone_options_init(a0, a1) : -1;
}

int fb_git_clone(git_repository **a0, const char *a1, const char *a2, const git_clone_options *a3)
{
	return fb_git_load() ? p_git_clone(a0, a1, a2, a3) : -1;
}

int fb_git_revparse_single(git_object **a0, git_repository *a1, const char *a2)
{
	return fb_git_load() ? p_git_revparse_single(a0, a1, a2) : -1;
}

int fb_git_object_peel(git_object **a0, const git_object *a1, git_object_t a2)
{
	return fb_git_load() ? p_git_object_peel(a0, a1, a2) : -1;
}

const git_oid *fb_git_object_id(const git_object *a0)
{
	return fb_git_load() ? p_git_object_id(a0) : NULL;
}

void fb_git_object_free(git_object *a0)
{
	if (fb_git_load())
		p_git_object_free(a0);
}

int fb_git_checkout_options_init(git_checkout_options *a0, unsigned int a1)
{
	return fb_git_load() ? p_git_checkout_options_init(a0, a1) : -1;
}

int fb_git_checkout_tree(git_repository *a0, const git_object *a1, const git_checkout_options *a2)
{
	return fb_git_load() ? p_git_checkout_tree(a0, a1, a2) : -1;
}

int fb_git_repository_set_head_detached(git_repository *a0, const git_oid *a1)
{
	return fb_git_load() ? p_git_repository_set_head_detached(a0, a1) : -1;
}

void fb_git_repository_free(git_repository *a0)
{
	if (fb_git_load())
		p_git_repository_free(a0);
}

char *fb_git_oid_tostr_s(const git_oid *a0)
{
	return fb_git_load() ? p_git_oid_tostr_s(a0) : NULL;
}
