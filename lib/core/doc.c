/* The pipeline document (doc.h): a jv object behind an opaque struct, so
 * that only lib/core and the codecs handle jv. */
#include "doc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "tool.h"
#include "util.h"

struct fb_doc {
	jv v; /* always an object */
};

struct fb_doc *fb_doc_from_jv(jv v)
{
	struct fb_doc *d = fb_xmalloc(sizeof(*d));
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		v = jv_object();
	}
	d->v = v;
	return d;
}

struct fb_doc *fb_doc_new(void)
{
	return fb_doc_from_jv(jv_object());
}

void fb_doc_free(struct fb_doc *d)
{
	if (!d)
		return;
	jv_free(d->v);
	free(d);
}

/* A tool's input names the document as the shapes of lib/json do ("the
 * input document: expected an object, got null"); text and files as
 * below. */
static int take(jv v, bool empty_ok, bool input, struct fb_doc **out, struct fb_err *err)
{
	if (!jv_is_valid(v) && empty_ok) {
		jv_free(v);
		*out = fb_doc_new();
		return 0;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT && input) {
		int r = fb_json_wrong_kind(err, "", FB_J_OBJECT, v);
		jv_free(v);
		return r;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		int r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "the document is %s %s, not an object",
				   jv_get_kind(v) == JV_KIND_ARRAY || jv_get_kind(v) == JV_KIND_OBJECT ? "an" : "a",
				   jv_is_valid(v) ? fb_json_kind_name(v) : "nothing");
		jv_free(v);
		return r;
	}
	*out = fb_doc_from_jv(v);
	return 0;
}

int fb_doc_read_fd(int fd, struct fb_doc **out, struct fb_err *err)
{
	jv v;
	if (fb_json_read_fd(fd, &v, err) < 0)
		return -1;
	return take(v, false, true, out, err);
}

int fb_doc_read_fd_opt(int fd, struct fb_doc **out, struct fb_err *err)
{
	jv v;
	if (fb_json_read_fd_opt(fd, &v, err) < 0)
		return -1;
	return take(v, true, true, out, err);
}

/* Where the first value of b ends: the bracket that closes the one it
 * opens with, outside strings. The scan resumes where it stopped. */
struct first_scan {
	size_t pos;
	int depth;
	bool in_str, esc;
};

static size_t first_end(const struct fb_buf *b, struct first_scan *sc)
{
	for (; sc->pos < b->len; sc->pos++) {
		char c = b->data[sc->pos];
		if (sc->in_str) {
			if (sc->esc)
				sc->esc = false;
			else if (c == '\\')
				sc->esc = true;
			else if (c == '"')
				sc->in_str = false;
		} else if (c == '"') {
			sc->in_str = true;
		} else if (c == '{' || c == '[') {
			sc->depth++;
		} else if (c == '}' || c == ']') {
			if (--sc->depth <= 0)
				return ++sc->pos;
		}
	}
	return 0;
}

int fb_doc_read_first(int fd, struct fb_doc **out, struct fb_buf *rest, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	struct first_scan sc = { 0 };
	size_t end = 0;
	bool bracket = false, eof = false;
	while (!end && !eof) {
		if (b.len > FB_JSON_MAX) {
			fb_buf_free(&b);
			return fb_err_set(err, FB_EXIT_USAGE, "too_large", "input larger than %u bytes (%u MiB), the limit",
					  FB_JSON_MAX, FB_JSON_MAX >> 20);
		}
		fb_buf_reserve(&b, 65536);
		ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			fb_buf_free(&b);
			return fb_err_errno(err, e, "read");
		}
		eof = n == 0;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
		if (!bracket) {
			while (sc.pos < b.len && fb_ascii_isspace((unsigned char)b.data[sc.pos]))
				sc.pos++;
			if (sc.pos == b.len)
				continue;
			if (b.data[sc.pos] != '{' && b.data[sc.pos] != '[')
				break; /* not a document: read it all, the parser says why */
			bracket = true;
		}
		end = first_end(&b, &sc);
	}
	if (!end) {
		/* the end of the input came first (or no bracket): as a whole */
		if (!eof && fb_read_fd_max(fd, &b, FB_JSON_MAX, err) < 0) {
			fb_buf_free(&b);
			return -1;
		}
		end = b.len;
	}
	jv v;
	int r = fb_json_parse(b.data ? b.data : "", end, &v, err);
	if (r == 0)
		r = take(v, false, true, out, err);
	if (r == 0 && end < b.len)
		fb_buf_add(rest, b.data + end, b.len - end);
	fb_buf_free(&b);
	return r;
}

int fb_doc_trailer(const char *text, size_t len, struct fb_doc **errdoc, struct fb_err *err)
{
	size_t i = 0;
	while (i < len && fb_ascii_isspace((unsigned char)text[i]))
		i++;
	if (i == len)
		return 0;
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0) {
		fb_err_prefix(err, "after the input document");
		return -1;
	}
	if (!fb_json_is_error_doc(v)) {
		jv_free(v);
		return fb_err_set(err, FB_EXIT_USAGE, "json",
				  "malformed JSON input: Unexpected extra JSON values (only an error object may follow the document)");
	}
	*errdoc = fb_doc_from_jv(v);
	return 1;
}

int fb_doc_read_trailer(int fd, struct fb_buf *rest, struct fb_doc **errdoc, struct fb_err *err)
{
	if (fb_read_fd_max(fd, rest, FB_JSON_MAX, err) < 0)
		return -1;
	return fb_doc_trailer(rest->data ? rest->data : "", rest->len, errdoc, err);
}

char *fb_doc_error_text(const struct fb_doc *d)
{
	if (!d || !fb_doc_is_error(d))
		return NULL;
	jv e = fb_json_member(d->v, "error"); /* fb_json_member copies what it returns */
	jv tool = fb_json_member(e, "tool"), msg = fb_json_member(e, "message");
	jv_free(e);
	char *s = fb_xasprintf("%s: %s", jv_get_kind(tool) == JV_KIND_STRING ? jv_string_value(tool) : "error",
			       jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "(no message)");
	jv_free(tool);
	jv_free(msg);
	return s;
}

int fb_doc_parse(const char *text, size_t len, struct fb_doc **out, struct fb_err *err)
{
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	return take(v, false, false, out, err);
}

int fb_doc_load(const char *path, struct fb_doc **out, struct fb_err *err)
{
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	if (take(v, false, false, out, err) < 0) {
		fb_err_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

int fb_doc_save(const char *path, const struct fb_doc *d, mode_t mode, struct fb_err *err)
{
	return fb_json_save(path, jv_copy(d->v), mode, err);
}

bool fb_doc_is_error(const struct fb_doc *d)
{
	return fb_json_is_error_doc(d->v);
}

bool fb_doc_has(const struct fb_doc *d, const char *key)
{
	jv m = jv_object_get(jv_copy(d->v), jv_string(key));
	bool has = jv_is_valid(m) && jv_get_kind(m) != JV_KIND_NULL;
	jv_free(m);
	return has;
}

void fb_doc_remove(struct fb_doc *d, const char *key)
{
	d->v = jv_object_delete(d->v, jv_string(key));
}

struct fb_doc *fb_doc_dup(const struct fb_doc *d)
{
	return d ? fb_doc_from_jv(jv_copy(d->v)) : NULL;
}

void fb_doc_copy_member(struct fb_doc *dst, const struct fb_doc *src, const char *key)
{
	fb_doc_set(dst, key, fb_doc_get(src, key));
}

char *fb_doc_dump(const struct fb_doc *d, bool pretty)
{
	return fb_json_dump(jv_copy(d->v), pretty);
}

int fb_doc_finish(struct fb_doc *d)
{
	jv v = d->v;
	free(d);
	struct fb_err err = { 0 };
	if (fb_json_write_stdout(v, &err) < 0 || fb_tool_close_stdout(&err) < 0) {
		fb_log_failure(&err);
		return FB_EXIT_FAILED;
	}
	return 0;
}

int fb_doc_write(const struct fb_doc *d, struct fb_err *err)
{
	if (fb_json_write_stdout(jv_copy(d->v), err) < 0)
		return -1;
	if (fflush(stdout) != 0)
		return fb_err_errno(err, errno, "write result to stdout");
	return 0;
}

int fb_doc_pass_error(struct fb_doc *d)
{
	jv v = d->v;
	free(d);
	struct fb_err werr = { 0 };
	if (fb_json_write_stdout(v, &werr) == 0)
		FB_IGNORE(fb_tool_close_stdout(&werr)); /* exit 1 either way */
	return FB_EXIT_FAILED;
}

jv fb_doc_get(const struct fb_doc *d, const char *key)
{
	jv m = jv_object_get(jv_copy(d->v), jv_string(key));
	if (!jv_is_valid(m)) {
		jv_free(m);
		return jv_null();
	}
	return m;
}

bool fb_doc_has_key(const struct fb_doc *d, const char *key)
{
	jv m = jv_object_get(jv_copy(d->v), jv_string(key));
	bool has = jv_is_valid(m);
	jv_free(m);
	return has;
}

void fb_doc_set(struct fb_doc *d, const char *key, jv v)
{
	d->v = jv_object_set(d->v, jv_string(key), v);
}

jv fb_doc_jv(const struct fb_doc *d)
{
	return jv_copy(d->v);
}
