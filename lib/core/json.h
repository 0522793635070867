/* JSON documents between tools, over libjq's jv. All jv handling lives
 * here: the rest of the code uses these checked helpers.
 * jv rule: every jv function consumes its jv arguments except where a
 * comment below says "borrows". */
#ifndef FB_JSON_H
#define FB_JSON_H

#include <jv.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

struct fb_err;

static inline void fb_jv_freep(jv *p)
{
	if (jv_get_kind(*p) != JV_KIND_INVALID || jv_invalid_has_msg(jv_copy(*p)))
		jv_free(*p);
	*p = jv_invalid();
}
#define FB_AUTOJV __attribute__((cleanup(fb_jv_freep)))

/* Parse exactly one JSON document; trailing data is an error. A message
 * says where parsing failed, never what the document holds. */
int fb_json_parse(const char *data, size_t len, jv *out, struct fb_err *err);
/* One document from fd, of at most FB_JSON_MAX bytes. */
#define FB_JSON_MAX (256u << 20)
int fb_json_read_fd(int fd, jv *out, struct fb_err *err);
/* The same, where no document is fine: empty input (or only white space)
 * leaves *out invalid. */
int fb_json_read_fd_opt(int fd, jv *out, struct fb_err *err);

/* Is this the error object of an earlier tool? (borrows doc) */
bool fb_json_is_error_doc(jv doc);

/* Checked getters; all borrow obj. A missing key or a value of another
 * kind is an error of code FB_EXIT_USAGE naming the member (".key: expected
 * a string, got number"); the _opt variants leave *out untouched (NULL /
 * default) when the key is absent or null. Strings are copies. A caller
 * names where obj sits with fb_json_err_in. */
int fb_json_get_str(jv obj, const char *key, char **out, struct fb_err *err);
int fb_json_get_str_opt(jv obj, const char *key, char **out, struct fb_err *err);
int fb_json_get_int_opt(jv obj, const char *key, long long *out, struct fb_err *err);
int fb_json_get_bool_opt(jv obj, const char *key, bool *out, struct fb_err *err);
/* A string array as a NULL-terminated vector; absent -> empty. */
int fb_json_get_strv_opt(jv obj, const char *key, struct fb_strv *out, struct fb_err *err);

/* An object or an array member (owned), or jv_null() when obj is not an
 * object or has no such key (borrows obj). */
jv fb_json_member(jv obj, const char *key);

/* Put the path of the value an error is about in front of its message:
 * ".key: ..." under ".vm" becomes ".vm.key: ...", other messages get
 * ".vm: " in front. */
void fb_json_err_in(struct fb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "number", "string", "object", ... (borrows v). */
const char *fb_json_kind_name(jv v);

/* ---- Shapes ----
 * What a document holds, checked once where it enters a tool, so the code
 * after reads members of known kinds: jq 1.6 aborts on a jv of the wrong
 * kind, and a pipeline's documents are input like any other. */
enum {
	FB_J_NULL = 1 << 0,
	FB_J_BOOL = 1 << 1,
	FB_J_NUMBER = 1 << 2,
	FB_J_INT = 1 << 3,    /* a number with no fraction, in [min, max] */
	FB_J_STRING = 1 << 4,
	FB_J_ARRAY = 1 << 5,
	FB_J_OBJECT = 1 << 6,
	FB_J_ANY = 0x7f,
};

struct fb_jfield;
struct fb_jshape {
	unsigned kinds;                 /* FB_J_* bits */
	const struct fb_jfield *fields; /* an object's members (others are not looked at) */
	const struct fb_jshape *items;  /* every element of an array, every value of an
	                                 * object without fields */
	double min, max;                /* FB_J_INT: the range (both 0: |v| <= 2^53) */
	const char *const *oneof;       /* FB_J_STRING: the values allowed (NULL-ended) */
	/* Anything else, once the kind is right; path names v in messages. */
	int (*check)(jv v, const char *path, struct fb_err *err);
};

struct fb_jfield {
	const char *key; /* NULL ends the table */
	const struct fb_jshape *shape;
	bool required;
};

/* Checks v (borrowed) against shape; path names v in messages ("" is the
 * document itself, ".plan" a member). Errors are of code FB_EXIT_USAGE,
 * kind "invalid": ".plan.stages[0].line: expected an integer, got string". */
int fb_json_check(jv v, const struct fb_jshape *shape, const char *path, struct fb_err *err);
/* The message fb_json_check gives for a value of another kind. */
int fb_json_wrong_kind(struct fb_err *err, const char *path, unsigned want, jv got);

/* Builders that keep call sites short (consume v). */
jv fb_jv_str(const char *s);         /* NULL -> null */
jv fb_jv_strn(const char *s, size_t n);
jv fb_jv_strv(char *const *v, size_t n);

/* ---- for codecs (lib/LAYER/NAME_doc.c) ----
 * Members read after a shape check, or as found in files the store keeps
 * (a member of another kind is as good as absent). All borrow obj. */
char *fb_jv_get_str(jv obj, const char *key);                   /* a copy, or NULL */
bool fb_jv_get_int(jv obj, const char *key, int64_t *out);       /* an integral number */
int fb_jv_get_bool(jv obj, const char *key);                     /* 1, 0, or -1 */
bool fb_jv_get_strv(jv obj, const char *key, struct fb_strv *out); /* an array: its strings */
bool fb_jv_has(jv obj, const char *key);                         /* there, of any kind */
char *fb_jv_dup(jv s);                                           /* a string's copy, or NULL */
/* Strings that may hold NUL: inside, a NUL is C0 80 (modified UTF-8, as
 * the Dockerfile parser keeps one); in JSON, \u0000. */
char *fb_jv_dup_nul(jv s);
jv fb_jv_str_nul(const char *s);                                 /* NULL: null */
/* Set a member when the value is there (consumes obj). */
jv fb_jv_put_str(jv obj, const char *key, const char *s);
jv fb_jv_put_int(jv obj, const char *key, int64_t v);            /* v < 0: unchanged */
/* A parsed document (or an error naming what) from text that must be an object. */
int fb_jv_parse_object(const char *text, size_t len, jv *out, struct fb_err *err) __attribute__((warn_unused_result));

/* {"error":{"tool","kind","message","where":{file,line}}} */
jv fb_json_error_object(const char *tool, const struct fb_err *e);
/* ... written to stdout as fb_json_write_stdout writes (a tool's failure). */
int fb_json_write_error(const char *tool, const struct fb_err *e, struct fb_err *err);

/* Serialise; pretty when asked. Consumes doc. */
char *fb_json_dump(jv doc, bool pretty);
/* Write the result document to stdout: pretty on a TTY, one line otherwise. */
int fb_json_write_stdout(jv doc, struct fb_err *err);
/* One document from a file; doc written atomically (tmp, fsync, rename). */
int fb_json_load(const char *path, jv *out, struct fb_err *err);
int fb_json_save(const char *path, jv doc, mode_t mode, struct fb_err *err);
/* The same, not synced (whole or not there): a record that only has to
 * outlive a process, not the host. */
int fb_json_save_scratch(const char *path, jv doc, mode_t mode, struct fb_err *err);
/* Flush and close stdout, reporting a failed write as an error. */
int fb_stdout_close(struct fb_err *err);

void fb_buf_add_json_str(struct fb_buf *b, const char *s);

#endif
