#include "dockerfile.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "shlex.h"

/* bufio.Scanner's default limit: BuildKit fails on longer lines. */
#define MAX_LINE 65536

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
static const char *trim_left_space(const char *s, const char *e)
{
	while (s < e) {
		size_t w;
		if (!uspace_at(s, (size_t)(e - s), &w))
			break;
		s += w;
	}
	return s;
}

static bool is_comment(const char *s, const char *e)
{
	s = trim_left_space(s, e);
	return s < e && *s == '#';
}

void fb_df_node_free(struct fb_df_node *n)
{
	if (!n)
		return;
	free(n->keyword);
	free(n->original);
	fb_strv_free(&n->flags);
	fb_strv_free(&n->args);
	if (n->sub) {
		fb_df_node_free(n->sub);
		free(n->sub);
	}
	for (size_t i = 0; i < n->nheredocs; i++) {
		free(n->heredocs[i].name);
		free(n->heredocs[i].content);
	}
	free(n->heredocs);
	memset(n, 0, sizeof(*n));
}

void fb_df_free(struct fb_df *df)
{
	for (size_t i = 0; i < df->n; i++)
		fb_df_node_free(&df->nodes[i]);
	free(df->nodes);
	for (size_t i = 0; i < df->ndirectives; i++) {
		free(df->directives[i].name);
		free(df->directives[i].value);
	}
	free(df->directives);
	memset(df, 0, sizeof(*df));
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
	const char *p = trim_left_space(rest, rest + strlen(rest));
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
	s = trim_left_space(s, e);
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
		const char *as = trim_left_space(after, after + strlen(after));
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

/* ---- heredocs ---- */

int fb_df_heredoc_word(const char *word, struct fb_df_heredoc *h, struct fb_err *err)
{
	/* ^(\d*)<<(-?)([^<]*)$ */
	const char *p = word;
	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] != '<' || p[1] != '<')
		return 0;
	unsigned fd = 0;
	for (const char *d = word; d < p; d++)
		fd = fd * 10 + (unsigned)(*d - '0');
	p += 2;
	bool chomp = false;
	if (*p == '-')
		chomp = true, p++;
	if (strchr(p, '<') || !*p)
		return 0;
	/* Lex the name with and without quote removal: if they differ, part of
	 * the name was quoted and the body is not expanded. */
	struct fb_shlex lx = { .escape = '\\', .skip_unset = true };
	struct fb_strv words = FB_STRV_INIT, raw = FB_STRV_INIT;
	if (fb_shlex_words(&lx, p, &words, err) < 0)
		return -1;
	if (words.n != 1) {
		fb_strv_free(&words);
		return 0;
	}
	lx.raw_quotes = true;
	if (fb_shlex_words(&lx, p, &raw, err) < 0) {
		fb_strv_free(&words);
		return -1;
	}
	int r = 1;
	if (raw.n != words.n) {
		r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "internal lexing of heredoc produced inconsistent results: %s", p);
	} else {
		size_t q1 = 0, q2 = 0;
		for (const char *c = words.v[0]; *c; c++)
			q1 += *c == '\'' || *c == '"';
		for (const char *c = raw.v[0]; *c; c++)
			q2 += *c == '\'' || *c == '"';
		h->name = fb_xstrdup(words.v[0]);
		h->fd = fd;
		h->chomp = chomp;
		h->expand = q1 == q2;
		h->content = NULL;
	}
	fb_strv_free(&words);
	fb_strv_free(&raw);
	return r;
}

char *fb_df_chomp(const char *content)
{
	struct fb_buf b = FB_BUF_INIT;
	bool bol = true;
	for (const char *p = content; *p; p++) {
		if (bol && *p == '\t')
			continue;
		bol = *p == '\n';
		fb_buf_addc(&b, *p);
	}
	return fb_buf_steal(&b);
}

static bool can_contain_heredoc(const struct fb_df_node *n)
{
	if (strcasecmp(n->keyword, "onbuild") == 0 && n->sub)
		n = n->sub;
	if (strcasecmp(n->keyword, "add") && strcasecmp(n->keyword, "copy") && strcasecmp(n->keyword, "run"))
		return false;
	return !n->json;
}

static int heredocs_from_line(const char *line, struct fb_df_node *n, struct fb_err *err)
{
	struct fb_shlex lx = { .escape = '\\', .raw_quotes = true, .raw_escapes = true, .skip_unset = true };
	struct fb_strv words = FB_STRV_INIT;
	struct fb_err ignore = { 0 };
	/* BuildKit ignores a lexing error here: the words found so far count. */
	if (fb_shlex_words(&lx, line, &words, &ignore) < 0)
		return 0;
	for (size_t i = 0; i < words.n; i++) {
		struct fb_df_heredoc h = { 0 };
		int r = fb_df_heredoc_word(words.v[i], &h, err);
		if (r < 0) {
			fb_strv_free(&words);
			return -1;
		}
		if (r == 1) {
			n->heredocs = fb_xrealloc(n->heredocs, (n->nheredocs + 1) * sizeof(*n->heredocs));
			n->heredocs[n->nheredocs++] = h;
		}
	}
	fb_strv_free(&words);
	return 0;
}

/* ---- the line scanner ---- */

struct scanner {
	const char *p, *end;
	const char *tok; /* the current line, newline kept, CRLF made LF */
	size_t toklen;
	struct fb_buf crlf; /* holds a line whose CRLF was rewritten */
	int lineno;
	bool too_long;
};

static bool scan(struct scanner *s)
{
	if (s->p >= s->end)
		return false;
	const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
	size_t n = nl ? (size_t)(nl - s->p) + 1 : (size_t)(s->end - s->p);
	if (n > MAX_LINE) {
		s->too_long = true;
		return false;
	}
	s->tok = s->p;
	s->toklen = n;
	if (n >= 2 && s->p[n - 1] == '\n' && s->p[n - 2] == '\r') {
		fb_buf_reset(&s->crlf);
		fb_buf_add(&s->crlf, s->p, n - 2);
		fb_buf_addc(&s->crlf, '\n');
		s->tok = s->crlf.data;
		s->toklen = n - 1;
	}
	s->p += n;
	s->lineno++;
	return true;
}

struct directives {
	bool done;
	char escape;
	struct fb_df *df;
};

/* ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ on a line without its newline */
static int possible_directive(struct directives *d, const char *s, const char *e, int line, struct fb_err *err)
{
	if (d->done)
		return 0;
	if (s == e || *s != '#') {
		d->done = true;
		return 0;
	}
	const char *p = s + 1;
#define RE_SPACE(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\f' || (c) == '\r')
	while (p < e && RE_SPACE(*p))
		p++;
	const char *ks = p;
	if (p >= e || !isalpha((unsigned char)*p)) {
		d->done = true;
		return 0;
	}
	while (p < e && isalnum((unsigned char)*p))
		p++;
	const char *ke = p;
	while (p < e && RE_SPACE(*p))
		p++;
	if (p >= e || *p != '=') {
		d->done = true;
		return 0;
	}
	p++;
	while (p < e && RE_SPACE(*p))
		p++;
	const char *ve = e;
	while (ve > p && RE_SPACE(ve[-1]))
		ve--;
	if (ve <= p) {
		d->done = true;
		return 0;
	}
#undef RE_SPACE
	char *key = fb_xstrndup(ks, (size_t)(ke - ks));
	for (char *c = key; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(key, "syntax") && strcmp(key, "escape") && strcmp(key, "check")) {
		free(key);
		d->done = true;
		return 0;
	}
	for (size_t i = 0; i < d->df->ndirectives; i++) {
		if (strcmp(d->df->directives[i].name, key) == 0) {
			free(key);
			return fb_err_set(err, FB_EXIT_USAGE, "syntax", "only one %s parser directive can be used",
					  d->df->directives[i].name);
		}
	}
	char *val = fb_xstrndup(p, (size_t)(ve - p));
	if (strcmp(key, "escape") == 0) {
		if (strcmp(val, "`") && strcmp(val, "\\")) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "invalid escape token '%s' does not match ` or \\", val);
			free(key);
			free(val);
			return -1;
		}
		d->escape = val[0];
	}
	struct fb_df *df = d->df;
	df->directives = fb_xrealloc(df->directives, (df->ndirectives + 1) * sizeof(*df->directives));
	df->directives[df->ndirectives++] = (struct fb_df_directive){ key, val, line };
	return 0;
}

/* Strip "\r\n" characters from the end (trimNewline). */
static const char *trim_newline(const char *s, const char *e)
{
	while (e > s && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	return e;
}

/* ([^E])E[ \t]*$ | ^E[ \t]*$ -> drop the escape and what follows. */
static bool trim_continuation(const char *s, const char **e, char esc)
{
	const char *q = *e;
	while (q > s && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	if (q == s || q[-1] != esc)
		return false;
	q--;
	if (q > s && q[-1] == esc)
		return false;
	*e = q;
	return true;
}

int fb_df_parse(const char *text, size_t len, const char *file, struct fb_df *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	out->escape = '\\';
	if (len > FB_DF_MAX_SIZE) {
		fb_err_set(err, FB_EXIT_USAGE, "too_large", "the Dockerfile is %zu bytes, over the limit of %zu (4 MiB)", len,
			   FB_DF_MAX_SIZE);
		fb_err_where(err, file, 0, 0);
		return -1;
	}
	struct scanner sc = { text, text + len, NULL, 0, FB_BUF_INIT, 0, false };
	struct directives d = { false, '\\', out };
	struct fb_buf buf = FB_BUF_INIT;
	size_t cap = 0;
	int ret = 0, err_line = 0, err_end = 0;

	while (scan(&sc)) {
		const char *s = sc.tok, *e = sc.tok + sc.toklen;
		if (sc.lineno == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3;
		e = trim_newline(s, e);
		s = trim_left_space(s, e);
		if (possible_directive(&d, s, e, sc.lineno, err) < 0) {
			err_line = sc.lineno;
			ret = -1;
			goto out;
		}
		if (is_comment(s, e))
			continue;
		int start = sc.lineno;
		bool cont = trim_continuation(s, &e, d.escape);
		if (!cont && s == e)
			continue;
		fb_buf_reset(&buf);
		fb_buf_add(&buf, s, (size_t)(e - s));
		bool empty_cont = false;
		while (cont && scan(&sc)) {
			const char *cs = sc.tok, *ce = trim_newline(sc.tok, sc.tok + sc.toklen);
			if (is_comment(cs, ce))
				continue;
			if (trim_left_space(cs, ce) == ce) {
				empty_cont = true;
				continue;
			}
			cont = trim_continuation(cs, &ce, d.escape);
			fb_buf_add(&buf, cs, (size_t)(ce - cs));
		}
		if (sc.too_long)
			break;

		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			out->nodes = fb_xrealloc(out->nodes, cap * sizeof(*out->nodes));
		}
		struct fb_df_node *n = &out->nodes[out->n];
		if (fb_df_parse_line(fb_buf_str(&buf), d.escape, n, err) < 0) {
			fb_df_node_free(n);
			err_line = start;
			err_end = sc.lineno;
			ret = -1;
			goto out;
		}
		out->n++;
		n->start_line = start;
		n->empty_continuation = empty_cont;
		if (can_contain_heredoc(n) && strstr(fb_buf_str(&buf), "<<")) {
			if (heredocs_from_line(fb_buf_str(&buf), n, err) < 0) {
				err_line = start;
				err_end = sc.lineno;
				ret = -1;
				goto out;
			}
			for (size_t i = 0; i < n->nheredocs; i++) {
				struct fb_df_heredoc *h = &n->heredocs[i];
				struct fb_buf content = FB_BUF_INIT;
				bool terminated = false;
				while (scan(&sc)) {
					const char *hs = sc.tok, *he = trim_newline(sc.tok, sc.tok + sc.toklen);
					if (h->chomp)
						while (hs < he && *hs == '\t')
							hs++;
					if ((size_t)(he - hs) == strlen(h->name) && memcmp(hs, h->name, (size_t)(he - hs)) == 0) {
						terminated = true;
						break;
					}
					fb_buf_add(&content, sc.tok, sc.toklen);
				}
				h->content = fb_buf_steal(&content);
				if (!terminated) {
					if (sc.too_long)
						break;
					fb_err_set(err, FB_EXIT_USAGE, "syntax", "unterminated heredoc %s", h->name);
					err_line = start;
					err_end = sc.lineno;
					ret = -1;
					goto out;
				}
			}
		}
		n->end_line = sc.lineno;
		if (sc.too_long)
			break;
	}
	if (sc.too_long) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "line longer than 64 KiB");
		err_line = sc.lineno + 1;
		ret = -1;
		goto out;
	}
	if (out->n == 0) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "file with no instructions");
		err_line = sc.lineno;
		ret = -1;
		goto out;
	}
	out->escape = d.escape;
out:
	fb_buf_free(&buf);
	fb_buf_free(&sc.crlf);
	if (ret < 0) {
		fb_err_where(err, file, err_line, err_end);
		fb_df_free(out);
	}
	return ret;
}

/* ---- the dump ---- */

static bool go_isprint(unsigned cp)
{
	if (cp < 0x20 || cp == 0x7F)
		return false;
	if (cp < 0x7F)
		return true;
	if (cp <= 0xA0 || cp == 0xAD)
		return false;
	if ((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x206F) ||
	    cp == 0x3000 || cp == 0x1680 || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) || cp == 0xFFFE ||
	    cp == 0xFFFF || (cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000 || (cp >= 0xD800 && cp <= 0xDFFF))
		return false;
	return true;
}

void fb_go_quote(struct fb_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	fb_buf_addc(out, '"');
	size_t i = 0;
	while (i < len) {
		unsigned cp;
		bool valid;
		int n = fb_utf8_decode(s + i, len - i, &cp, &valid);
		if (!valid && i + 1 < len && (unsigned char)s[i] == 0xC0 && (unsigned char)s[i + 1] == 0x80) {
			fb_buf_adds(out, "\\x00");
			i += 2;
			continue;
		}
		if (!valid) {
			fb_buf_adds(out, "\\x");
			fb_buf_addc(out, hex[(unsigned char)s[i] >> 4]);
			fb_buf_addc(out, hex[(unsigned char)s[i] & 15]);
			i++;
			continue;
		}
		switch (cp) {
		case '"': fb_buf_adds(out, "\\\""); break;
		case '\\': fb_buf_adds(out, "\\\\"); break;
		case '\a': fb_buf_adds(out, "\\a"); break;
		case '\b': fb_buf_adds(out, "\\b"); break;
		case '\f': fb_buf_adds(out, "\\f"); break;
		case '\n': fb_buf_adds(out, "\\n"); break;
		case '\r': fb_buf_adds(out, "\\r"); break;
		case '\t': fb_buf_adds(out, "\\t"); break;
		case '\v': fb_buf_adds(out, "\\v"); break;
		default:
			if (go_isprint(cp))
				fb_buf_add(out, s + i, (size_t)n);
			else if (cp < 0x80)
				fb_buf_addf(out, "\\x%02x", cp);
			else if (cp < 0x10000)
				fb_buf_addf(out, "\\u%04x", cp);
			else
				fb_buf_addf(out, "\\U%08x", cp);
		}
		i += (size_t)n;
	}
	fb_buf_addc(out, '"');
}

void fb_df_dump_node(const struct fb_df_node *n, struct fb_buf *out)
{
	for (const char *k = n->keyword; *k; k++)
		fb_buf_addc(out, (char)tolower((unsigned char)*k));
	if (n->flags.n) {
		fb_buf_adds(out, " [");
		for (size_t i = 0; i < n->flags.n; i++) {
			if (i)
				fb_buf_addc(out, ' ');
			fb_go_quote(out, n->flags.v[i], strlen(n->flags.v[i]));
		}
		fb_buf_addc(out, ']');
	}
	if (n->sub) {
		fb_buf_adds(out, " (");
		fb_df_dump_node(n->sub, out);
		fb_buf_addc(out, ')');
	}
	for (size_t i = 0; i < n->args.n; i++) {
		fb_buf_addc(out, ' ');
		fb_go_quote(out, n->args.v[i], strlen(n->args.v[i]));
	}
}

void fb_df_dump(const struct fb_df *df, struct fb_buf *out)
{
	for (size_t i = 0; i < df->n; i++) {
		fb_buf_addc(out, '(');
		fb_df_dump_node(&df->nodes[i], out);
		fb_buf_adds(out, ")\n");
	}
}
