#include "json.h"

#include "file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

int fb_json_parse(const char *data, size_t len, jv *out, struct fb_err *err)
{
	size_t i = 0;
	while (i < len && fb_ascii_isspace((unsigned char)data[i]))
		i++;
	if (i == len)
		return fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input: empty document");
	if (len > (size_t)0x7fffffff)
		return fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input: document too large");
	/* JSON is UTF-8 (RFC 8259); libjq 1.6 also leaks on invalid UTF-8. */
	for (size_t k = i; k < len;) {
		unsigned cp;
		bool valid;
		int n = fb_utf8_decode(data + k, len - k, &cp, &valid);
		if (!valid)
			return fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input: invalid UTF-8 at byte %zu", k);
		k += (size_t)n;
	}
	/* jv_parse_sized rejects a second value after the first ("Unexpected
	 * extra JSON values"), which is what "exactly one document" means. */
	jv v = jv_parse_sized(data, (int)len);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		if (jv_get_kind(msg) == JV_KIND_STRING)
			fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input: %s", jv_string_value(msg));
		else
			fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input");
		jv_free(msg);
		return -1;
	}
	*out = v;
	return 0;
}

int fb_json_read_fd(int fd, jv *out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_fd(fd, &b, err) < 0) {
		fb_buf_free(&b);
		return -1;
	}
	int r = fb_json_parse(fb_buf_str(&b), b.len, out, err);
	fb_buf_free(&b);
	return r;
}

bool fb_json_is_error_doc(jv doc)
{
	if (jv_get_kind(doc) != JV_KIND_OBJECT)
		return false;
	jv e = jv_object_get(jv_copy(doc), jv_string("error"));
	bool r = jv_get_kind(e) == JV_KIND_OBJECT;
	jv_free(e);
	return r;
}

/* Returns the member (owned) or jv_null() when absent. */
static jv member(jv obj, const char *key)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_null();
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	if (!jv_is_valid(v)) {
		jv_free(v);
		return jv_null();
	}
	return v;
}

static int wrong_type(struct fb_err *err, const char *key, const char *want)
{
	return fb_err_set(err, FB_EXIT_USAGE, "json", "invalid input: .%s must be %s", key, want);
}

int fb_json_get_str_opt(jv obj, const char *key, char **out, struct fb_err *err)
{
	jv v = member(obj, key);
	jv_kind k = jv_get_kind(v);
	if (k == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	if (k != JV_KIND_STRING) {
		jv_free(v);
		return wrong_type(err, key, "a string");
	}
	*out = fb_xstrndup(jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
	jv_free(v);
	return 0;
}

int fb_json_get_str(jv obj, const char *key, char **out, struct fb_err *err)
{
	char *s = NULL;
	if (fb_json_get_str_opt(obj, key, &s, err) < 0)
		return -1;
	if (!s)
		return fb_err_set(err, FB_EXIT_USAGE, "json", "invalid input: missing .%s", key);
	*out = s;
	return 0;
}

int fb_json_get_int_opt(jv obj, const char *key, long long *out, struct fb_err *err)
{
	jv v = member(obj, key);
	jv_kind k = jv_get_kind(v);
	if (k == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	if (k != JV_KIND_NUMBER) {
		jv_free(v);
		return wrong_type(err, key, "a number");
	}
	double d = jv_number_value(v);
	jv_free(v);
	if (d != (double)(long long)d)
		return wrong_type(err, key, "an integer");
	*out = (long long)d;
	return 0;
}

int fb_json_get_bool_opt(jv obj, const char *key, bool *out, struct fb_err *err)
{
	jv v = member(obj, key);
	jv_kind k = jv_get_kind(v);
	jv_free(v);
	if (k == JV_KIND_NULL)
		return 0;
	if (k != JV_KIND_TRUE && k != JV_KIND_FALSE)
		return wrong_type(err, key, "a boolean");
	*out = k == JV_KIND_TRUE;
	return 0;
}

int fb_json_get_strv_opt(jv obj, const char *key, struct fb_strv *out, struct fb_err *err)
{
	jv v = member(obj, key);
	jv_kind k = jv_get_kind(v);
	if (k == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	if (k != JV_KIND_ARRAY) {
		jv_free(v);
		return wrong_type(err, key, "an array of strings");
	}
	int n = jv_array_length(jv_copy(v));
	for (int i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(v), i);
		if (jv_get_kind(e) != JV_KIND_STRING) {
			jv_free(e);
			jv_free(v);
			return wrong_type(err, key, "an array of strings");
		}
		fb_strv_push(out, jv_string_value(e));
		jv_free(e);
	}
	jv_free(v);
	return 0;
}

jv fb_jv_str(const char *s)
{
	return s ? jv_string(s) : jv_null();
}

jv fb_jv_strn(const char *s, size_t n)
{
	return jv_string_sized(s, (int)n);
}

jv fb_jv_strv(char *const *v, size_t n)
{
	jv a = jv_array();
	for (size_t i = 0; i < n; i++)
		a = jv_array_append(a, jv_string(v[i]));
	return a;
}

jv fb_json_error_object(const char *tool, const struct fb_err *e)
{
	jv inner = jv_object();
	inner = jv_object_set(inner, jv_string("tool"), jv_string(tool));
	inner = jv_object_set(inner, jv_string("kind"), jv_string(e->kind[0] ? e->kind : fb_err_kind_of(e->code)));
	inner = jv_object_set(inner, jv_string("message"), jv_string(e->msg));
	inner = jv_object_set(inner, jv_string("exit_code"), jv_number(e->code ? e->code : 1));
	if (e->file[0] || e->line) {
		jv where = jv_object();
		if (e->file[0])
			where = jv_object_set(where, jv_string("file"), jv_string(e->file));
		if (e->line)
			where = jv_object_set(where, jv_string("line"), jv_number(e->line));
		if (e->end_line && e->end_line != e->line)
			where = jv_object_set(where, jv_string("end_line"), jv_number(e->end_line));
		inner = jv_object_set(inner, jv_string("where"), where);
	}
	return jv_object_set(jv_object(), jv_string("error"), inner);
}

char *fb_json_dump(jv doc, bool pretty)
{
	int flags = pretty ? JV_PRINT_INDENT_FLAGS(2) : 0;
	jv s = jv_dump_string(doc, flags);
	char *r = fb_xstrdup(jv_string_value(s));
	jv_free(s);
	return r;
}

int fb_json_write_stdout(jv doc, struct fb_err *err)
{
	char *s = fb_json_dump(doc, isatty(1));
	size_t n = strlen(s);
	int r = 0;
	if (fwrite(s, 1, n, stdout) != n || fputc('\n', stdout) == EOF)
		r = fb_err_errno(err, errno ? errno : EIO, "write result to stdout");
	free(s);
	return r;
}

int fb_stdout_close(struct fb_err *err)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int e = errno;
	if (fclose(stdout) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad)
		return fb_err_errno(err, e ? e : EIO, "write to stdout");
	return 0;
}

void fb_buf_add_json_str(struct fb_buf *b, const char *s)
{
	fb_buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fb_buf_adds(b, "\\\""); break;
		case '\\': fb_buf_adds(b, "\\\\"); break;
		case '\n': fb_buf_adds(b, "\\n"); break;
		case '\r': fb_buf_adds(b, "\\r"); break;
		case '\t': fb_buf_adds(b, "\\t"); break;
		default:
			if (*p < 0x20)
				fb_buf_addf(b, "\\u%04x", *p);
			else
				fb_buf_addc(b, (char)*p);
		}
	}
	fb_buf_addc(b, '"');
}

int fb_json_load(const char *path, jv *out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	int r = fb_read_file(path, &b, err);
	if (r == 0)
		r = fb_json_parse(fb_buf_str(&b), b.len, out, err);
	fb_buf_free(&b);
	return r;
}

int fb_json_save(const char *path, jv doc, mode_t mode, struct fb_err *err)
{
	char *t = fb_json_dump(doc, false);
	int r = fb_write_file_atomic(path, t, strlen(t), mode, err);
	free(t);
	return r;
}
