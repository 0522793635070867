/* JSON documents between tools, over libjq's jv. All jv handling lives
 * here: the rest of the code uses these checked helpers.
 * jv rule: every jv function consumes its jv arguments except where a
 * comment below says "borrows". */
#ifndef FB_JSON_H
#define FB_JSON_H

#include <jv.h>
#include <sys/types.h>
#include <stdbool.h>
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

/* Parse exactly one JSON document; trailing data is an error. */
int fb_json_parse(const char *data, size_t len, jv *out, struct fb_err *err);
int fb_json_read_fd(int fd, jv *out, struct fb_err *err);

/* Is this the error object of an earlier tool? (borrows doc) */
bool fb_json_is_error_doc(jv doc);

/* Checked getters; all borrow obj. A missing key is an error of code
 * FB_EXIT_USAGE naming the key; the _opt variants leave *out untouched
 * (NULL / default) when the key is absent or null. Strings are copies. */
int fb_json_get_str(jv obj, const char *key, char **out, struct fb_err *err);
int fb_json_get_str_opt(jv obj, const char *key, char **out, struct fb_err *err);
int fb_json_get_int_opt(jv obj, const char *key, long long *out, struct fb_err *err);
int fb_json_get_bool_opt(jv obj, const char *key, bool *out, struct fb_err *err);
/* A string array as a NULL-terminated vector; absent -> empty. */
int fb_json_get_strv_opt(jv obj, const char *key, struct fb_strv *out, struct fb_err *err);

/* Builders that keep call sites short (consume v). */
jv fb_jv_str(const char *s);         /* NULL -> null */
jv fb_jv_strn(const char *s, size_t n);
jv fb_jv_strv(char *const *v, size_t n);

/* {"error":{"tool","kind","message","where":{file,line}}} */
jv fb_json_error_object(const char *tool, const struct fb_err *e);

/* Serialise; pretty when asked. Consumes doc. */
char *fb_json_dump(jv doc, bool pretty);
/* Write the result document to stdout: pretty on a TTY, one line otherwise. */
int fb_json_write_stdout(jv doc, struct fb_err *err);
/* One document from a file; doc written atomically (tmp, fsync, rename). */
int fb_json_load(const char *path, jv *out, struct fb_err *err);
int fb_json_save(const char *path, jv doc, mode_t mode, struct fb_err *err);
/* Flush and close stdout, reporting a failed write as an error. */
int fb_stdout_close(struct fb_err *err);

void fb_buf_add_json_str(struct fb_buf *b, const char *s);

#endif
