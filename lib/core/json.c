#include "json.h"

#include "file.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

/* RFC 8259's grammar, checked before libjq parses: libjq 1.6 leaks memory
 * on some malformed input (a fuzzer finds it in seconds), accepts a few
 * things JSON does not (nan), and puts the whole document in its messages.
 * Depth is capped as libjq caps it. */
#define JSON_MAX_DEPTH 256

static int syntax_error(struct fb_err *err, const char *data, size_t at, const char *what)
{
	size_t line = 1, col = 1;
	for (size_t k = 0; k < at; k++) {
		if (data[k] == '\n')
			line++, col = 1;
		else
			col++;
	}
	return fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input: %s at line %zu, column %zu", what, line, col);
}

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool json_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A string at data[*i] (the opening quote); *i goes past the closing one. */
static int syntax_string(const char *d, size_t n, size_t *i, struct fb_err *err)
{
	size_t k = *i + 1;
	for (;;) {
		if (k >= n)
			return syntax_error(err, d, k, "Unfinished string at EOF");
		unsigned char c = (unsigned char)d[k];
		if (c == '"')
			break;
		if (c < 0x20)
			return syntax_error(err, d, k, "Invalid string: control characters from U+0000 through U+001F must be escaped");
		if (c == '\\') {
			if (k + 1 >= n)
				return syntax_error(err, d, k, "Unfinished string at EOF");
			char e = d[k + 1];
			if (e == 'u') {
				for (size_t h = 0; h < 4; h++)
					if (k + 2 + h >= n || !strchr("0123456789abcdefABCDEF", d[k + 2 + h]) || !d[k + 2 + h])
						return syntax_error(err, d, k, "Invalid \\uXXXX escape");
				k += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || !e)
				return syntax_error(err, d, k, "Invalid escape");
			k += 2;
			continue;
		}
		k++;
	}
	*i = k + 1;
	return 0;
}

static int syntax_number(const char *d, size_t n, size_t *i, struct fb_err *err)
{
	size_t k = *i, start = k;
	if (k < n && d[k] == '-')
		k++;
	if (k < n && d[k] == '0') {
		k++;
	} else if (k < n && json_digit(d[k])) {
		while (k < n && json_digit(d[k]))
			k++;
	} else {
		return syntax_error(err, d, start, "Invalid numeric literal");
	}
	if (k < n && d[k] == '.') {
		k++;
		if (k >= n || !json_digit(d[k]))
			return syntax_error(err, d, start, "Invalid numeric literal");
		while (k < n && json_digit(d[k]))
			k++;
	}
	if (k < n && (d[k] == 'e' || d[k] == 'E')) {
		k++;
		if (k < n && (d[k] == '+' || d[k] == '-'))
			k++;
		if (k >= n || !json_digit(d[k]))
			return syntax_error(err, d, start, "Invalid numeric literal");
		while (k < n && json_digit(d[k]))
			k++;
	}
	*i = k;
	return 0;
}

static int json_syntax(const char *d, size_t n, struct fb_err *err)
{
	char stack[JSON_MAX_DEPTH];
	int depth = 0;
	enum { VALUE, VALUE_OR_END, KEY, KEY_OR_END, COLON, AFTER } st = VALUE;
	size_t i = 0;
	for (;;) {
		while (i < n && json_ws(d[i]))
			i++;
		if (i >= n) {
			if (st == AFTER && depth == 0)
				return 0;
			return syntax_error(err, d, i, "Unfinished JSON term at EOF");
		}
		char c = d[i];
		switch (st) {
		case AFTER:
			if (depth == 0)
				return fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input: Unexpected extra JSON values");
			if (c == ',') {
				st = stack[depth - 1] == '{' ? KEY : VALUE;
				i++;
			} else if ((c == ']' && stack[depth - 1] == '[') || (c == '}' && stack[depth - 1] == '{')) {
				depth--;
				i++;
			} else {
				return syntax_error(err, d, i, "Expected separator between values");
			}
			continue;
		case COLON:
			if (c != ':')
				return syntax_error(err, d, i, "Objects must consist of key:value pairs");
			st = VALUE;
			i++;
			continue;
		case KEY_OR_END:
		case KEY:
			if (c == '}' && st == KEY_OR_END) {
				depth--;
				st = AFTER;
				i++;
				continue;
			}
			if (c != '"')
				return syntax_error(err, d, i, "Object keys must be strings");
			if (syntax_string(d, n, &i, err) < 0)
				return -1;
			st = COLON;
			continue;
		case VALUE_OR_END:
			if (c == ']') {
				depth--;
				st = AFTER;
				i++;
				continue;
			}
			/* fall through */
		case VALUE:
			if (c == '{' || c == '[') {
				if (depth == JSON_MAX_DEPTH)
					return syntax_error(err, d, i, "Exceeds depth limit for parsing");
				stack[depth++] = c;
				st = c == '{' ? KEY_OR_END : VALUE_OR_END;
				i++;
				continue;
			}
			if (c == '"') {
				if (syntax_string(d, n, &i, err) < 0)
					return -1;
			} else if (c == '-' || json_digit(c)) {
				if (syntax_number(d, n, &i, err) < 0)
					return -1;
			} else {
				static const char *const lits[] = { "true", "false", "null" };
				size_t k;
				for (k = 0; k < 3; k++)
					if (n - i >= strlen(lits[k]) && !memcmp(d + i, lits[k], strlen(lits[k])))
						break;
				if (k == 3)
					return syntax_error(err, d, i, "Invalid literal");
				i += strlen(lits[k]);
			}
			st = AFTER;
			continue;
		}
	}
}

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
	/* one value, and nothing after it but white space */
	if (json_syntax(data, len, err) < 0)
		return -1;
	jv v = jv_parse_sized(data, (int)len);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		if (jv_get_kind(msg) == JV_KIND_STRING) {
			/* libjq appends "(while parsing '<the whole document>')": the
			 * position is enough, and the document may hold secrets */
			const char *m = jv_string_value(msg), *cut = strstr(m, " (while parsing '");
			fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input: %.*s", cut ? (int)(cut - m) : (int)strlen(m), m);
		} else {
			fb_err_set(err, FB_EXIT_USAGE, "json", "malformed JSON input");
		}
		jv_free(msg);
		return -1;
	}
	*out = v;
	return 0;
}

int fb_json_read_fd(int fd, jv *out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_fd_max(fd, &b, FB_JSON_MAX, err) < 0) {
		fb_buf_free(&b);
		return -1;
	}
	int r = fb_json_parse(fb_buf_str(&b), b.len, out, err);
	fb_buf_free(&b);
	return r;
}

int fb_json_read_fd_opt(int fd, jv *out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_fd_max(fd, &b, FB_JSON_MAX, err) < 0) {
		fb_buf_free(&b);
		return -1;
	}
	size_t i = 0;
	while (i < b.len && fb_ascii_isspace((unsigned char)b.data[i]))
		i++;
	int r = 0;
	*out = jv_invalid();
	if (i < b.len)
		r = fb_json_parse(fb_buf_str(&b), b.len, out, err);
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

jv fb_json_member(jv obj, const char *key)
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

static jv member(jv obj, const char *key)
{
	return fb_json_member(obj, key);
}

const char *fb_json_kind_name(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL: return "null";
	case JV_KIND_TRUE:
	case JV_KIND_FALSE: return "boolean";
	case JV_KIND_NUMBER: return "number";
	case JV_KIND_STRING: return "string";
	case JV_KIND_ARRAY: return "array";
	case JV_KIND_OBJECT: return "object";
	default: return "nothing";
	}
}

/* "an object", "a string or null" */
static void describe(unsigned want, struct fb_buf *b)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = { { FB_J_OBJECT, "an object" }, { FB_J_ARRAY, "an array" },   { FB_J_STRING, "a string" },
		      { FB_J_INT, "an integer" },   { FB_J_NUMBER, "a number" }, { FB_J_BOOL, "a boolean" },
		      { FB_J_NULL, "null" } };
	size_t n = 0, total = 0;
	for (size_t i = 0; i < FB_ARRAY_LEN(names); i++)
		total += (want & names[i].bit) && !(names[i].bit == FB_J_INT && (want & FB_J_NUMBER));
	for (size_t i = 0; i < FB_ARRAY_LEN(names); i++) {
		if (!(want & names[i].bit) || (names[i].bit == FB_J_INT && (want & FB_J_NUMBER)))
			continue;
		fb_buf_addf(b, "%s%s", n == 0 ? "" : n + 1 == total ? " or " : ", ", names[i].name);
		n++;
	}
}

static const char *path_name(const char *path)
{
	return path && path[0] ? path : "the input document";
}

int fb_json_wrong_kind(struct fb_err *err, const char *path, unsigned want, jv got)
{
	struct fb_buf b = FB_BUF_INIT;
	describe(want, &b);
	fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected %s, got %s", path_name(path), fb_buf_str(&b),
		   fb_json_kind_name(got));
	fb_buf_free(&b);
	return -1;
}

void fb_json_err_in(struct fb_err *err, const char *fmt, ...)
{
	char at[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(at, sizeof(at), fmt, ap);
	va_end(ap);
	if (err->msg[0] == '.' || err->msg[0] == '[') {
		size_t al = strlen(at), ml = strnlen(err->msg, sizeof(err->msg) - 1);
		if (al + ml >= sizeof(err->msg))
			ml = sizeof(err->msg) - 1 - al;
		memmove(err->msg + al, err->msg, ml);
		memcpy(err->msg, at, al);
		err->msg[al + ml] = '\0';
	} else {
		fb_err_prefix(err, "%s", at);
	}
}

static int wrong_type(struct fb_err *err, const char *key, unsigned want, jv got)
{
	char path[256];
	snprintf(path, sizeof(path), ".%s", key);
	return fb_json_wrong_kind(err, path, want, got);
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
		wrong_type(err, key, FB_J_STRING, v);
		jv_free(v);
		return -1;
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
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".%s: missing (expected a string)", key);
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
		wrong_type(err, key, FB_J_INT, v);
		jv_free(v);
		return -1;
	}
	double d = jv_number_value(v);
	jv_free(v);
	/* a double outside long long's range is undefined to convert */
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(long long)d)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".%s: expected an integer, got %g", key, d);
	*out = (long long)d;
	return 0;
}

int fb_json_get_bool_opt(jv obj, const char *key, bool *out, struct fb_err *err)
{
	jv v = member(obj, key);
	jv_kind k = jv_get_kind(v);
	if (k == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	if (k != JV_KIND_TRUE && k != JV_KIND_FALSE) {
		wrong_type(err, key, FB_J_BOOL, v);
		jv_free(v);
		return -1;
	}
	jv_free(v);
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
		wrong_type(err, key, FB_J_ARRAY, v);
		jv_free(v);
		return -1;
	}
	int n = jv_array_length(jv_copy(v));
	for (int i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(v), i);
		if (jv_get_kind(e) != JV_KIND_STRING) {
			char path[256];
			snprintf(path, sizeof(path), ".%s[%d]", key, i);
			fb_json_wrong_kind(err, path, FB_J_STRING, e);
			jv_free(e);
			jv_free(v);
			return -1;
		}
		fb_strv_push(out, jv_string_value(e));
		jv_free(e);
	}
	jv_free(v);
	return 0;
}

/* ---- shapes ---- */

static bool kind_ok(jv v, unsigned want)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL: return want & FB_J_NULL;
	case JV_KIND_TRUE:
	case JV_KIND_FALSE: return want & FB_J_BOOL;
	case JV_KIND_NUMBER: return want & (FB_J_NUMBER | FB_J_INT);
	case JV_KIND_STRING: return want & FB_J_STRING;
	case JV_KIND_ARRAY: return want & FB_J_ARRAY;
	case JV_KIND_OBJECT: return want & FB_J_OBJECT;
	default: return false;
	}
}

int fb_json_check(jv v, const struct fb_jshape *shape, const char *path, struct fb_err *err)
{
	if (!shape)
		return 0;
	if (!kind_ok(v, shape->kinds))
		return fb_json_wrong_kind(err, path, shape->kinds, v);
	jv_kind k = jv_get_kind(v);
	if (k == JV_KIND_NUMBER && (shape->kinds & FB_J_INT) && !(shape->kinds & FB_J_NUMBER)) {
		double d = jv_number_value(v);
		double lo = shape->min, hi = shape->max;
		if (lo == 0 && hi == 0)
			lo = -9007199254740992.0, hi = 9007199254740992.0;
		if (!(d >= lo && d <= hi) || d != (double)(long long)d)
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected an integer from %.0f to %.0f, got %g",
					  path_name(path), lo, hi, d);
	}
	if (k == JV_KIND_STRING && shape->oneof) {
		const char *s = jv_string_value(v);
		size_t n = (size_t)jv_string_length_bytes(jv_copy(v));
		bool hit = false;
		for (const char *const *o = shape->oneof; *o && !hit; o++)
			hit = strlen(*o) == n && !memcmp(*o, s, n);
		if (!hit) {
			struct fb_buf b = FB_BUF_INIT;
			for (const char *const *o = shape->oneof; *o; o++)
				fb_buf_addf(&b, "%s%s", o == shape->oneof ? "" : ", ", *o);
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected one of %s, got \"%.64s\"", path_name(path),
				   fb_buf_str(&b), s);
			fb_buf_free(&b);
			return -1;
		}
	}
	char sub[512];
	if (k == JV_KIND_OBJECT && shape->fields) {
		for (const struct fb_jfield *f = shape->fields; f->key; f++) {
			snprintf(sub, sizeof(sub), "%s.%s", path, f->key);
			jv m = jv_object_get(jv_copy(v), jv_string(f->key));
			int r = 0;
			if (!jv_is_valid(m)) {
				if (f->required) {
					struct fb_buf b = FB_BUF_INIT;
					describe(f->shape ? f->shape->kinds : FB_J_ANY, &b);
					r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: missing (expected %s)", sub, fb_buf_str(&b));
					fb_buf_free(&b);
				}
			} else {
				r = fb_json_check(m, f->shape, sub, err);
			}
			jv_free(m);
			if (r < 0)
				return -1;
		}
	} else if (k == JV_KIND_OBJECT && shape->items) {
		int r = 0;
		jv_object_foreach(v, key, val) /* borrows v: the macro names it many times */
		{
			if (r == 0) {
				snprintf(sub, sizeof(sub), "%s.%s", path, jv_string_value(key));
				r = fb_json_check(val, shape->items, sub, err);
			}
			jv_free(key);
			jv_free(val);
		}
		if (r < 0)
			return -1;
	} else if (k == JV_KIND_ARRAY && shape->items) {
		int n = jv_array_length(jv_copy(v));
		for (int i = 0; i < n; i++) {
			snprintf(sub, sizeof(sub), "%s[%d]", path, i);
			jv e = jv_array_get(jv_copy(v), i);
			int r = fb_json_check(e, shape->items, sub, err);
			jv_free(e);
			if (r < 0)
				return -1;
		}
	}
	if (shape->check)
		return shape->check(v, path, err);
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
	/* streamed: a plan of tens of MB is not copied twice on the way out */
	errno = 0;
	jv_dumpf(doc, stdout, isatty(1) ? JV_PRINT_INDENT_FLAGS(2) : 0);
	if (fputc('\n', stdout) == EOF || ferror(stdout))
		return fb_err_errno(err, errno ? errno : EIO, "write result to stdout");
	return 0;
}

int fb_json_write_error(const char *tool, const struct fb_err *e, struct fb_err *err)
{
	return fb_json_write_stdout(fb_json_error_object(tool, e), err);
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
	if (r == 0 && (r = fb_json_parse(fb_buf_str(&b), b.len, out, err)) < 0)
		fb_err_prefix(err, "%s", path);
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

int fb_json_save_scratch(const char *path, jv doc, mode_t mode, struct fb_err *err)
{
	char *t = fb_json_dump(doc, false);
	int r = fb_write_file_scratch(path, t, strlen(t), mode, err);
	free(t);
	return r;
}

/* ---- for codecs ---- */

char *fb_jv_dup(jv s)
{
	if (jv_get_kind(s) != JV_KIND_STRING)
		return NULL;
	return fb_xstrndup(jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
}

char *fb_jv_dup_nul(jv s)
{
	if (jv_get_kind(s) != JV_KIND_STRING)
		return NULL;
	const char *p = jv_string_value(s);
	size_t n = (size_t)jv_string_length_bytes(jv_copy(s));
	if (strlen(p) == n)
		return fb_xstrdup(p);
	struct fb_buf b = FB_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			fb_buf_addc(&b, p[i]);
		else
			fb_buf_add(&b, "\xC0\x80", 2);
	}
	return fb_buf_steal(&b);
}

jv fb_jv_str_nul(const char *s)
{
	if (!s)
		return jv_null();
	if (!strstr(s, "\xC0\x80"))
		return jv_string(s);
	struct fb_buf b = FB_BUF_INIT;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)p[0] == 0xC0 && (unsigned char)p[1] == 0x80) {
			fb_buf_add(&b, "", 1);
			p++;
		} else {
			fb_buf_addc(&b, *p);
		}
	}
	jv r = jv_string_sized(b.data, (int)b.len);
	fb_buf_free(&b);
	return r;
}

char *fb_jv_get_str(jv obj, const char *key)
{
	jv v = fb_json_member(obj, key);
	char *r = fb_jv_dup(v);
	jv_free(v);
	return r;
}

bool fb_jv_get_int(jv obj, const char *key, int64_t *out)
{
	jv v = fb_json_member(obj, key);
	bool ok = false;
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double d = jv_number_value(v);
		if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(int64_t)d) {
			*out = (int64_t)d;
			ok = true;
		}
	}
	jv_free(v);
	return ok;
}

int fb_jv_get_bool(jv obj, const char *key)
{
	jv v = fb_json_member(obj, key);
	jv_kind k = jv_get_kind(v);
	jv_free(v);
	return k == JV_KIND_TRUE ? 1 : k == JV_KIND_FALSE ? 0 : -1;
}

bool fb_jv_get_strv(jv obj, const char *key, struct fb_strv *out)
{
	jv v = fb_json_member(obj, key);
	bool ok = jv_get_kind(v) == JV_KIND_ARRAY;
	if (ok) {
		jv_array_foreach(v, i, e)
		{
			char *s = fb_jv_dup(e);
			if (s)
				fb_strv_push_owned(out, s);
			jv_free(e);
			(void)i;
		}
	}
	jv_free(v);
	return ok;
}

bool fb_jv_has(jv obj, const char *key)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return false;
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	bool r = jv_is_valid(v);
	jv_free(v);
	return r;
}

jv fb_jv_put_str(jv obj, const char *key, const char *s)
{
	return s ? jv_object_set(obj, jv_string(key), jv_string(s)) : obj;
}

jv fb_jv_put_int(jv obj, const char *key, int64_t v)
{
	return v >= 0 ? jv_object_set(obj, jv_string(key), jv_number((double)v)) : obj;
}

int fb_jv_parse_object(const char *text, size_t len, jv *out, struct fb_err *err)
{
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		int r = fb_json_wrong_kind(err, "", FB_J_OBJECT, v);
		jv_free(v);
		return r;
	}
	*out = v;
	return 0;
}
