#include "dockerfile.h"
#include "dfline.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "shlex.h"

/* bufio.Scanner's default limit: BuildKit fails on longer lines. */
#define MAX_LINE 65536

static bool is_comment(const char *s, const char *e)
{
	s = fb_df_trim_left_space(s, e);
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
		s = fb_df_trim_left_space(s, e);
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
			if (fb_df_trim_left_space(cs, ce) == ce) {
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
