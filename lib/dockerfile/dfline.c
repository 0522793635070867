/* One logical Dockerfile line to a syntax tree node, as BuildKit's parser
 * does it (dfline.h): leading --flags, then the instruction's own argument
 * parser (words, name=value pairs, JSON arrays, HEALTHCHECK). */
#include "dfline.h"
#include "dockerfile.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "shlex.h"

static bool is_ws(unsigned char c)
{
	/* reWhitespace in BuildKit: [\t\v\f\r ] */
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static bool uspace_at(const char *s, size_t len, size_t *width)
{
	unsigned cp;
	bool valid;
	int n = fb_utf8_decode(s, len, &cp, &valid);
	*width = (size_t)n;
	return valid && fb_unicode_isspace(cp);
}

/* bytes.TrimLeftFunc(unicode.IsSpace) */
const char *fb_df_trim_left_space(const char *s, const char *e)
{
	while (s < e) {
		size_t w;
		if (!uspace_at(s, (size_t)(e - s), &w))
			break;
		s += w;
	}
	return s;
}


/* ---- flags: BuildKit's extractBuilderFlags ---- */

static const char *extract_flags(const char *line, struct fb_strv *flags)
{
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	struct fb_buf word = FB_BUF_INIT;
	bool blank_ok = false;
	char quote = 0;
	size_t len = strlen(line);
	const char *rest = line + len;
	for (size_t pos = 0; pos <= len; pos++) {
		char ch = pos < len ? line[pos] : 0;
		if (phase == IN_SPACES) {
			if (pos == len)
				break;
			if (fb_ascii_isspace((unsigned char)ch))
				continue;
			if (ch != '-' || pos + 1 == len || line[pos + 1] != '-') {
				rest = line + pos;
				goto out;
			}
			phase = IN_WORD;
		}
		if (pos == len) {
			if (strcmp(fb_buf_str(&word), "--") != 0 && (blank_ok || word.len))
				fb_strv_push(flags, fb_buf_str(&word));
			break;
		}
		if (phase == IN_WORD) {
			if (fb_ascii_isspace((unsigned char)ch)) {
				phase = IN_SPACES;
				if (strcmp(fb_buf_str(&word), "--") == 0) {
					rest = line + pos;
					goto out;
				}
				if (blank_ok || word.len)
					fb_strv_push(flags, fb_buf_str(&word));
				fb_buf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
				continue;
			}
			if (ch == '\\') {
				if (pos + 1 == len)
					continue;
				ch = line[++pos];
			}
			fb_buf_addc(&word, ch);
			continue;
		}
		/* IN_QUOTE */
		if (ch == quote) {
			phase = IN_WORD;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == len) {
				phase = IN_WORD;
				continue;
			}
			ch = line[++pos];
		}
		fb_buf_addc(&word, ch);
	}
	rest = line + len;
out:
	fb_buf_free(&word);
	return rest;
}

/* ---- argument parsers (BuildKit line_parsers.go) ---- */

/* Split on [\t\v\f\r ]+ like regexp.Split(s, -1) on a trimmed string. */
static void split_ws(const char *s, struct fb_strv *out)
{
	const char *p = s;
	for (;;) {
		const char *q = p;
		while (*q && !is_ws((unsigned char)*q))
			q++;
		fb_strv_push_owned(out, fb_xstrndup(p, (size_t)(q - p)));
		if (!*q)
			break;
		while (*q && is_ws((unsigned char)*q))
			q++;
		p = q;
	}
}

/* parseWords: quote-aware word split that keeps quotes and escapes. */
static void parse_words(const char *rest, char escape, struct fb_strv *out)
{
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	struct fb_buf word = FB_BUF_INIT;
	bool blank_ok = false;
	unsigned quote = 0;
	size_t len = strlen(rest), w = 0;
	unsigned ch = 0;
	for (size_t pos = 0; pos <= len; pos += w) {
		bool valid = true;
		if (pos != len)
			w = (size_t)fb_utf8_decode(rest + pos, len - pos, &ch, &valid);
		const char *chp = rest + pos;
		size_t chw = w;
		bool space = valid && fb_unicode_isspace(ch);
		if (phase == IN_SPACES) {
			if (pos == len)
				break;
			if (space)
				continue;
			phase = IN_WORD;
		}
		if (pos == len) {
			if (blank_ok || word.len)
				fb_strv_push(out, fb_buf_str(&word));
			break;
		}
		if (phase == IN_WORD) {
			if (space) {
				phase = IN_SPACES;
				if (blank_ok || word.len)
					fb_strv_push(out, fb_buf_str(&word));
				fb_buf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
			}
			if (ch == (unsigned char)escape) {
				if (pos + w == len)
					continue;
				fb_buf_add(&word, chp, chw);
				pos += w;
				w = (size_t)fb_utf8_decode(rest + pos, len - pos, &ch, &valid);
				chp = rest + pos;
				chw = w;
			}
			fb_buf_add(&word, chp, chw);
			continue;
		}
		/* IN_QUOTE */
		if (ch == quote)
			phase = IN_WORD;
		if (ch == (unsigned char)escape && quote != '\'') {
			if (pos + w == len) {
				phase = IN_WORD;
				continue;
			}
			fb_buf_add(&word, chp, chw);
			pos += w;
			w = (size_t)fb_utf8_decode(rest + pos, len - pos, &ch, &valid);
			chp = rest + pos;
			chw = w;
		}
		fb_buf_add(&word, chp, chw);
	}
	fb_buf_free(&word);
}

static int parse_name_val(const char *rest, const char *key, char escape, struct fb_df_node *n,
			  struct fb_err *err)
{
	struct fb_strv words = FB_STRV_INIT;
	parse_words(rest, escape, &words);
	if (words.n == 0) {
		fb_strv_free(&words);
		return 0;
	}
	if (!strchr(words.v[0], '=')) {
		/* Legacy form: KEY name value with spaces */
		const char *p = rest;
		while (*p && !is_ws((unsigned char)*p))
			p++;
		if (!*p) {
			fb_strv_free(&words);
			return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s must have two arguments", key);
		}
		fb_strv_push_owned(&n->args, fb_xstrndup(rest, (size_t)(p - rest)));
		while (*p && is_ws((unsigned char)*p))
			p++;
		fb_strv_push(&n->args, p);
		fb_strv_push(&n->args, "");
		fb_strv_free(&words);
		return 0;
	}
	for (size_t i = 0; i < words.n; i++) {
		char *eq = strchr(words.v[i], '=');
		if (!eq) {
			struct fb_buf q = FB_BUF_INIT;
			fb_go_quote(&q, words.v[i], strlen(words.v[i]));
			fb_err_set(err, FB_EXIT_USAGE, "syntax",
				   "Syntax error - can't find = in %s. Must be of the form: name=value", fb_buf_str(&q));
			fb_buf_free(&q);
			fb_strv_free(&words);
			return -1;
		}
		fb_strv_push_owned(&n->args, fb_xstrndup(words.v[i], (size_t)(eq - words.v[i])));
		fb_strv_push(&n->args, eq + 1);
		fb_strv_push(&n->args, "=");
	}
	fb_strv_free(&words);
	return 0;
}

/* JSON arrays the way BuildKit reads them: Go's encoding/json first checks
 * that the whole text is valid JSON, then decodes; invalid UTF-8 inside a
 * string becomes U+FFFD. A decoded U+0000 cannot live in a C string, so it
 * is kept as the overlong sequence C0 80 (as Java's modified UTF-8 does);
 * the dump and the plan writer turn it back into a NUL. */
struct jscan {
	const char *p, *e;
	int depth;
};

static void js_ws(struct jscan *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool js_hex4(const char *p, const char *e, unsigned *out)
{
	if (e - p < 4)
		return false;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return false;
		v = v * 16 + (unsigned)h;
	}
	*out = v;
	return true;
}

static void put_utf8(struct fb_buf *b, unsigned cp)
{
	if (cp == 0) {
		fb_buf_add(b, "\xC0\x80", 2);
	} else if (cp < 0x80) {
		fb_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		fb_buf_addc(b, (char)(0xC0 | (cp >> 6)));
		fb_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		fb_buf_addc(b, (char)(0xE0 | (cp >> 12)));
		fb_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		fb_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
	} else {
		fb_buf_addc(b, (char)(0xF0 | (cp >> 18)));
		fb_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
		fb_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		fb_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
	}
}

/* A string starting at '"'; decoded into out when out is not NULL. */
static bool js_string(struct jscan *j, struct fb_buf *out)
{
	j->p++;
	while (j->p < j->e) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->e - j->p < 2)
				return false;
			char x = j->p[1];
			const char *simple = strchr("\"\\/bfnrt", x);
			if (x && simple) {
				static const char map[] = "\"\\/\b\f\n\r\t";
				if (out)
					fb_buf_addc(out, map[simple - "\"\\/bfnrt"]);
				j->p += 2;
				continue;
			}
			if (x != 'u')
				return false;
			unsigned cp;
			if (!js_hex4(j->p + 2, j->e, &cp))
				return false;
			j->p += 6;
			if (cp >= 0xD800 && cp < 0xDC00) {
				unsigned lo;
				if (j->e - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' && js_hex4(j->p + 2, j->e, &lo) &&
				    lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					j->p += 6;
				} else {
					cp = 0xFFFD;
				}
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				cp = 0xFFFD;
			}
			if (out)
				put_utf8(out, cp);
			continue;
		}
		unsigned cp;
		bool valid;
		int n = fb_utf8_decode(j->p, (size_t)(j->e - j->p), &cp, &valid);
		if (out) {
			if (valid)
				fb_buf_add(out, j->p, (size_t)n);
			else
				put_utf8(out, 0xFFFD);
		}
		j->p += n;
	}
	return false;
}

static bool js_digits(struct jscan *j)
{
	const char *s = j->p;
	while (j->p < j->e && isdigit((unsigned char)*j->p))
		j->p++;
	return j->p > s;
}

static bool js_value(struct jscan *j);

static bool js_number(struct jscan *j)
{
	if (*j->p == '-')
		j->p++;
	if (j->p < j->e && *j->p == '0')
		j->p++;
	else if (!js_digits(j))
		return false;
	if (j->p < j->e && *j->p == '.') {
		j->p++;
		if (!js_digits(j))
			return false;
	}
	if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->e && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!js_digits(j))
			return false;
	}
	return true;
}

static bool js_container(struct jscan *j, char close, bool object)
{
	if (++j->depth > 10000)
		return false;
	j->p++;
	js_ws(j);
	if (j->p < j->e && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		js_ws(j);
		if (object) {
			if (j->p >= j->e || *j->p != '"' || !js_string(j, NULL))
				return false;
			js_ws(j);
			if (j->p >= j->e || *j->p++ != ':')
				return false;
			js_ws(j);
		}
		if (!js_value(j))
			return false;
		js_ws(j);
		if (j->p >= j->e)
			return false;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		return false;
	}
}

static bool js_value(struct jscan *j)
{
	if (j->p >= j->e)
		return false;
	switch (*j->p) {
	case '"':
		return js_string(j, NULL);
	case '[':
		return js_container(j, ']', false);
	case '{':
		return js_container(j, '}', true);
	case 't':
	case 'f':
	case 'n': {
		const char *lits[] = { "true", "false", "null" };
		for (int i = 0; i < 3; i++) {
			size_t l = strlen(lits[i]);
			if ((size_t)(j->e - j->p) >= l && !memcmp(j->p, lits[i], l)) {
				j->p += l;
				return true;
			}
		}
		return false;
	}
	default:
		if (*j->p == '-' || isdigit((unsigned char)*j->p))
			return js_number(j);
		return false;
	}
}

/* Returns 1 with the strings appended, 0 when the text is not a JSON array
 * (the caller falls back to the shell form), -1 when it is one that holds
 * something other than strings. */
static int parse_json_array(const char *rest, struct fb_strv *out, struct fb_err *err)
{
	const char *p = fb_df_trim_left_space(rest, rest + strlen(rest));
	if (*p != '[')
		return 0;
	struct jscan j = { p, p + strlen(p), 0 };
	if (!js_value(&j))
		return 0;
	js_ws(&j);
	if (j.p != j.e)
		return 0;
	/* Valid JSON: now decode the elements. */
	struct jscan d = { p + 1, j.e, 0 };
	struct fb_strv tmp = FB_STRV_INIT;
	js_ws(&d);
	while (*d.p != ']') {
		if (*d.p != '"') {
			fb_strv_free(&tmp);
			return fb_err_set(err, FB_EXIT_USAGE, "syntax",
					  "when using JSON array syntax, arrays must be comprised of strings only");
		}
		struct fb_buf b = FB_BUF_INIT;
		js_string(&d, &b);
		fb_strv_push_owned(&tmp, fb_buf_steal(&b));
		js_ws(&d);
		if (*d.p == ',') {
			d.p++;
			js_ws(&d);
		}
	}
	for (size_t i = 0; i < tmp.n; i++)
		fb_strv_push_owned(out, tmp.v[i]);
	free(tmp.v);
	return 1;
}

static int parse_maybe_json(const char *rest, struct fb_df_node *n, struct fb_err *err)
{
	if (!*rest)
		return 0;
	int r = parse_json_array(rest, &n->args, err);
	if (r < 0)
		return -1;
	if (r == 1) {
		n->json = true;
		return 0;
	}
	fb_strv_push(&n->args, rest);
	return 0;
}

static int parse_maybe_json_to_list(const char *rest, struct fb_df_node *n, struct fb_err *err)
{
	int r = parse_json_array(rest, &n->args, err);
	if (r < 0)
		return -1;
	if (r == 1) {
		n->json = true;
		return 0;
	}
	if (*rest)
		split_ws(rest, &n->args);
	return 0;
}

static int parse_health(const char *rest, struct fb_df_node *n, struct fb_err *err)
{
	size_t sep = 0, len = strlen(rest);
	while (sep < len && !fb_ascii_isspace((unsigned char)rest[sep]))
		sep++;
	size_t nx = sep;
	while (nx < len && fb_ascii_isspace((unsigned char)rest[nx]))
		nx++;
	if (sep == 0)
		return 0;
	fb_strv_push_owned(&n->args, fb_xstrndup(rest, sep));
	return parse_maybe_json(rest + nx, n, err);
}

enum argkind { A_JSON_LIST, A_NAMES, A_JSON, A_ENV, A_WS, A_HEALTH, A_LABEL, A_STRING, A_SUB };
static const struct {
	const char *name;
	enum argkind kind;
} dispatch[] = {
	{ "add", A_JSON_LIST }, { "arg", A_NAMES }, { "cmd", A_JSON }, { "copy", A_JSON_LIST },
	{ "entrypoint", A_JSON }, { "env", A_ENV }, { "expose", A_WS }, { "from", A_WS },
	{ "healthcheck", A_HEALTH }, { "label", A_LABEL }, { "maintainer", A_STRING },
	{ "onbuild", A_SUB }, { "run", A_JSON }, { "shell", A_JSON }, { "stopsignal", A_STRING },
	{ "user", A_STRING }, { "volume", A_JSON_LIST }, { "workdir", A_STRING },
};

int fb_df_parse_line(const char *line, char escape, struct fb_df_node *n, struct fb_err *err)
{
	memset(n, 0, sizeof(*n));
	n->original = fb_xstrdup(line);
	/* splitCommand: trim, split off the first word, then the flags. */
	const char *s = line, *e = line + strlen(line);
	s = fb_df_trim_left_space(s, e);
	while (e > s) {
		/* TrimSpace also trims Unicode spaces at the end */
		const char *q = e - 1;
		while (q > s && ((unsigned char)*q & 0xC0) == 0x80)
			q--;
		size_t w;
		if (!uspace_at(q, (size_t)(e - q), &w) || q + w != e)
			break;
		e = q;
	}
	char *trimmed = fb_xstrndup(s, (size_t)(e - s));
	char *p = trimmed;
	while (*p && !is_ws((unsigned char)*p))
		p++;
	n->keyword = fb_xstrndup(trimmed, (size_t)(p - trimmed));
	char *rest = NULL;
	if (*p) {
		while (*p && is_ws((unsigned char)*p))
			p++;
		const char *after = extract_flags(p, &n->flags);
		/* strings.TrimSpace on what follows the flags */
		const char *as = fb_df_trim_left_space(after, after + strlen(after));
		const char *ae = as + strlen(as);
		while (ae > as && fb_ascii_isspace((unsigned char)ae[-1]))
			ae--;
		rest = fb_xstrndup(as, (size_t)(ae - as));
	} else {
		rest = fb_xstrdup("");
	}
	free(trimmed);

	int r = 0;
	size_t k;
	for (k = 0; k < FB_ARRAY_LEN(dispatch); k++)
		if (strcasecmp(n->keyword, dispatch[k].name) == 0)
			break;
	if (k == FB_ARRAY_LEN(dispatch)) {
		/* parseIgnore: an unknown instruction keeps one empty argument. */
		fb_strv_push(&n->args, "");
		free(rest);
		return 0;
	}
	switch (dispatch[k].kind) {
	case A_JSON_LIST:
		r = parse_maybe_json_to_list(rest, n, err);
		break;
	case A_JSON:
		r = parse_maybe_json(rest, n, err);
		break;
	case A_NAMES:
		parse_words(rest, escape, &n->args);
		break;
	case A_ENV:
		r = parse_name_val(rest, "ENV", escape, n, err);
		break;
	case A_LABEL:
		r = parse_name_val(rest, "LABEL", escape, n, err);
		break;
	case A_WS:
		if (*rest)
			split_ws(rest, &n->args);
		break;
	case A_HEALTH:
		r = parse_health(rest, n, err);
		break;
	case A_STRING:
		if (*rest)
			fb_strv_push(&n->args, rest);
		break;
	case A_SUB:
		if (*rest) {
			n->sub = fb_xcalloc(1, sizeof(*n->sub));
			r = fb_df_parse_line(rest, escape, n->sub, err);
		}
		break;
	}
	free(rest);
	return r;
}

