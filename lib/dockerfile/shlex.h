/* Variable expansion and word splitting as BuildKit's Dockerfile shell
 * lexer does it (not a shell: no command substitution, no globbing).
 * $v ${v} ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?m} ${v?m} ${v#p} ${v##p}
 * ${v%p} ${v%%p} ${v/p/r} ${v//p/r}; '...' literal, "..." with \" \$ \\
 * escapes, the escape token (\ or `) elsewhere. */
#ifndef FB_SHLEX_H
#define FB_SHLEX_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#include "err.h"

struct fb_err;

/* What one expansion may make: a value over FB_SHLEX_MAX_VALUE bytes is an
 * error (kind "too_large"), as is pattern matching (${v//p/r}, ${v#p},
 * ${v%p}) over FB_SHLEX_MAX_WORK steps, counted across the calls that
 * share a counter (one Dockerfile's) — ARGs that double or patterns that
 * backtrack end in a clear error, not in gigabytes or minutes. */
#define FB_SHLEX_MAX_VALUE ((size_t)1 << 20)
#define FB_SHLEX_MAX_WORK ((uint64_t)1 << 28)

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
	uint64_t *work;      /* pattern-matching steps spent so far, shared by
	                      * calls (NULL: each call has its own) */
};

/* Expand one word; the result keeps inner spaces. */
int fb_shlex_word(const struct fb_shlex *lx, const char *in, char **out, struct fb_err *err) FB_MUST_CHECK;
/* Expand and split into words (spaces from unquoted expansions split). */
int fb_shlex_words(const struct fb_shlex *lx, const char *in, struct fb_strv *out, struct fb_err *err) FB_MUST_CHECK;

/* Shell pattern match of the whole of str against pat (*, ?, [..], \x). */
bool fb_shell_match(const char *pat, size_t plen, const char *str, size_t slen);

/* An ordered variable list usable as a lookup context; a hash index keeps
 * lookups constant-time however many there are (a Dockerfile may declare
 * thousands). Zero-initialised is empty; a copy of the struct may be read,
 * not changed. */
struct fb_vars {
	struct fb_strv keys;
	struct fb_strv vals;
	size_t *slots; /* open addressing: index + 1 into keys, 0 is empty */
	size_t nslots; /* a power of two, or 0 while the list is short */
};
void fb_vars_set(struct fb_vars *v, const char *key, const char *val);
const char *fb_vars_get(const struct fb_vars *v, const char *key);
void fb_vars_copy(struct fb_vars *dst, const struct fb_vars *src);
void fb_vars_free(struct fb_vars *v);
const char *fb_vars_lookup(void *ctx, const char *name);

#endif
