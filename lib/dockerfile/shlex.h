/* Variable expansion and word splitting as BuildKit's Dockerfile shell
 * lexer does it (not a shell: no command substitution, no globbing).
 * $v ${v} ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?m} ${v?m} ${v#p} ${v##p}
 * ${v%p} ${v%%p} ${v/p/r} ${v//p/r}; '...' literal, "..." with \" \$ \\
 * escapes, the escape token (\ or `) elsewhere. */
#ifndef FB_SHLEX_H
#define FB_SHLEX_H

#include <stdbool.h>

#include "util.h"

struct fb_err;

/* Returns the value of name, or NULL when the variable is unset. */
typedef const char *(*fb_shlex_lookup_fn)(void *ctx, const char *name);

struct fb_shlex {
	char escape;         /* '\\' or '`' */
	bool raw_quotes;     /* keep quote characters in the result */
	bool raw_escapes;    /* keep escape tokens in the result */
	bool skip_quotes;    /* quotes are ordinary characters (heredoc bodies) */
	bool skip_unset;     /* leave references to unset variables as written */
	fb_shlex_lookup_fn lookup;
	void *ctx;
};

/* Expand one word; the result keeps inner spaces. */
int fb_shlex_word(const struct fb_shlex *lx, const char *in, char **out, struct fb_err *err);
/* Expand and split into words (spaces from unquoted expansions split). */
int fb_shlex_words(const struct fb_shlex *lx, const char *in, struct fb_strv *out, struct fb_err *err);

/* Shell pattern match of the whole of str against pat (*, ?, [..], \x). */
bool fb_shell_match(const char *pat, size_t plen, const char *str, size_t slen);

/* A simple ordered variable list usable as a lookup context. */
struct fb_vars {
	struct fb_strv keys;
	struct fb_strv vals;
};
void fb_vars_set(struct fb_vars *v, const char *key, const char *val);
const char *fb_vars_get(const struct fb_vars *v, const char *key);
void fb_vars_copy(struct fb_vars *dst, const struct fb_vars *src);
void fb_vars_free(struct fb_vars *v);
const char *fb_vars_lookup(void *ctx, const char *name);

#endif
