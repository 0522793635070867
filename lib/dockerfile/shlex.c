#include "shlex.h"

#include <stdint.h>
#include <string.h>

#include "err.h"

#define SH_EOF (-1)

struct sw {
	const struct fb_shlex *lx;
	const char *s;
	size_t len;
	size_t pos;
	bool raw_escapes;
	struct fb_err *err;
	uint64_t *work;    /* lx->work, or own_work */
	uint64_t own_work;
};

/* Words being collected: a word ends at unquoted white space. */
struct words {
	struct fb_buf word;
	struct fb_strv list;
	bool in_word;
};

static int peek(const struct sw *w, size_t *width)
{
	if (w->pos >= w->len) {
		*width = 0;
		return SH_EOF;
	}
	unsigned cp;
	bool valid;
	int n = fb_utf8_decode(w->s + w->pos, w->len - w->pos, &cp, &valid);
	*width = (size_t)n;
	return valid ? (int)cp : 0xFFFD;
}

static int peekc(const struct sw *w)
{
	size_t n;
	return peek(w, &n);
}

/* Consume one character, appending its exact bytes to out (if any). */
static int next(struct sw *w, struct fb_buf *out)
{
	size_t n;
	int c = peek(w, &n);
	if (c == SH_EOF)
		return SH_EOF;
	if (out)
		fb_buf_add(out, w->s + w->pos, n);
	w->pos += n;
	return c;
}

static void words_add_raw(struct words *ws, const char *p, size_t n)
{
	fb_buf_add(&ws->word, p, n);
	ws->in_word = true;
}

static void words_add_char(struct words *ws, const char *p, size_t n, unsigned cp)
{
	bool space = fb_unicode_isspace(cp);
	if (space && ws->in_word) {
		if (ws->word.len) {
			fb_strv_push_owned(&ws->list, fb_buf_steal(&ws->word));
			ws->in_word = false;
		}
	} else if (!space) {
		words_add_raw(ws, p, n);
	}
}

static void words_add_string(struct words *ws, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned cp;
		bool valid;
		int n = fb_utf8_decode(s + i, len - i, &cp, &valid);
		words_add_char(ws, s + i, (size_t)n, valid ? cp : 0xFFFD);
		i += (size_t)n;
	}
}

static void words_finish(struct words *ws, struct fb_strv *out)
{
	if (ws->word.len)
		fb_strv_push_owned(&ws->list, fb_buf_steal(&ws->word));
	if (out) {
		for (size_t i = 0; i < ws->list.n; i++)
			fb_strv_push_owned(out, ws->list.v[i]);
		free(ws->list.v);
		ws->list = (struct fb_strv)FB_STRV_INIT;
	}
}

static void words_free(struct words *ws)
{
	fb_buf_free(&ws->word);
	fb_strv_free(&ws->list);
}

static int process_dollar(struct sw *w, struct fb_buf *out);
static int process_stop_on(struct sw *w, int stop, bool raw_escapes, struct fb_buf *out,
			   struct fb_strv *words);

static int sh_err(struct sw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh_err(struct sw *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fb_err_vset(w->err, FB_EXIT_USAGE, "syntax", fmt, ap);
	va_end(ap);
	return -1;
}

static int too_large(struct sw *w)
{
	fb_err_set(w->err, FB_EXIT_USAGE, "too_large", "the expanded value is over %zu bytes (1 MiB), the limit",
		   FB_SHLEX_MAX_VALUE);
	return -1;
}

static int too_costly(struct sw *w)
{
	fb_err_set(w->err, FB_EXIT_USAGE, "too_large",
		   "pattern matching took over %llu steps, the limit (a long value or a pattern that backtracks)",
		   (unsigned long long)FB_SHLEX_MAX_WORK);
	return -1;
}

static int process_single_quote(struct sw *w, struct fb_buf *out)
{
	/* Everything up to the next ' is literal; ' cannot be escaped. */
	next(w, w->lx->raw_quotes ? out : NULL);
	for (;;) {
		int c = peekc(w);
		if (c == SH_EOF)
			return sh_err(w, "unexpected end of statement while looking for matching single-quote");
		if (c == '\'') {
			next(w, w->lx->raw_quotes ? out : NULL);
			return 0;
		}
		next(w, out);
	}
}

static int process_double_quote(struct sw *w, struct fb_buf *out)
{
	/* Only $, the escape token and " are special inside "..."; the escape
	 * token escapes only " $ and itself, and stays literal before others. */
	next(w, w->lx->raw_quotes ? out : NULL);
	for (;;) {
		int c = peekc(w);
		if (c == SH_EOF)
			return sh_err(w, "unexpected end of statement while looking for matching double-quote");
		if (c == '"') {
			next(w, w->lx->raw_quotes ? out : NULL);
			return 0;
		}
		if (c == '$') {
			if (process_dollar(w, out) < 0)
				return -1;
			continue;
		}
		if (c == w->lx->escape) {
			size_t esc_at = w->pos;
			next(w, NULL);
			int n = peekc(w);
			if (n == SH_EOF)
				continue; /* a trailing escape is dropped */
			if (n == '"' || n == '$' || n == w->lx->escape) {
				if (w->raw_escapes)
					fb_buf_add(out, w->s + esc_at, 1);
				next(w, out);
			} else {
				fb_buf_add(out, w->s + esc_at, 1);
			}
			continue;
		}
		next(w, out);
	}
}

static bool is_special_param(int c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' || c == '0';
}

static bool is_letter(int c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	return !fb_unicode_isspace((unsigned)c) && c != 0xFFFD && c > 0xBF;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static void process_name(struct sw *w, struct fb_buf *name)
{
	for (;;) {
		int c = peekc(w);
		if (c == SH_EOF)
			return;
		if (name->len == 0 && is_digit(c)) {
			/* Positional parameters: all the digits, always unset. */
			while (is_digit(peekc(w)))
				next(w, name);
			return;
		}
		if (name->len == 0 && is_special_param(c)) {
			next(w, name);
			return;
		}
		if (!is_letter(c) && !is_digit(c) && c != '_')
			return;
		next(w, name);
	}
}

static const char *getenv_sw(struct sw *w, const char *name)
{
	return w->lx->lookup ? w->lx->lookup(w->lx->ctx, name) : NULL;
}

/* Shell pattern matching with an explicit escape handling that follows
 * BuildKit: "\}" and "\/" are the literal characters, "\*", "\?", "\\"
 * escape, any other escape is an error (reported by pattern_check). */
static int pattern_check(struct sw *w, const char *pat)
{
	for (const char *p = pat; *p; p++) {
		if (*p == '\\') {
			char n = p[1];
			if (n == '}' || n == '/' || n == '*' || n == '?' || n == '\\' || n == '[' || n == ']') {
				p++;
				continue;
			}
			return sh_err(w, "invalid pattern (%s) in substitution: invalid escape '\\%c'", pat, n ? n : ' ');
		}
	}
	return 0;
}

static bool match_bracket(const char **pp, const char *end, unsigned char c, bool *ok)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false;
	if (p < end && (*p == '!' || *p == '^'))
		neg = true, p++;
	bool first = true;
	while (p < end && (*p != ']' || first)) {
		first = false;
		unsigned char lo = (unsigned char)*p, hi;
		if (lo == '\\' && p + 1 < end)
			lo = (unsigned char)*++p;
		p++;
		if (p + 1 < end && *p == '-' && p[1] != ']') {
			hi = (unsigned char)p[1];
			if (hi == '\\' && p + 2 < end)
				hi = (unsigned char)p[2], p++;
			p += 2;
		} else {
			hi = lo;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (p >= end) {
		*ok = false; /* no closing ]: '[' is literal */
		return false;
	}
	*ok = true;
	*pp = p; /* at ']' */
	return hit != neg;
}

/* fb_shell_match, adding its steps to *steps; past limit steps it gives
 * up (false: the caller sees *steps > limit) */
static bool shell_match(const char *pat, size_t plen, const char *str, size_t slen, uint64_t *steps, uint64_t limit)
{
	const char *p = pat, *pe = pat + plen, *s = str, *se = str + slen;
	const char *star_p = NULL, *star_s = NULL;
	while (s < se || p < pe) {
		if (++*steps > limit)
			return false;
		if (p < pe) {
			char c = *p;
			if (c == '*') {
				star_p = ++p;
				star_s = s;
				continue;
			}
			if (s < se) {
				if (c == '?') {
					p++, s++;
					continue;
				}
				if (c == '[') {
					const char *q = p;
					bool ok;
					bool m = match_bracket(&q, pe, (unsigned char)*s, &ok);
					if (ok) {
						if (m) {
							p = q + 1, s++;
							continue;
						}
						goto backtrack;
					}
				}
				if (c == '\\' && p + 1 < pe)
					c = *++p;
				if (c == *s) {
					p++, s++;
					continue;
				}
			}
		}
	backtrack:
		if (star_p && star_s < se) {
			p = star_p;
			s = ++star_s;
			continue;
		}
		return false;
	}
	return true;
}

bool fb_shell_match(const char *pat, size_t plen, const char *str, size_t slen)
{
	uint64_t steps = 0;
	return shell_match(pat, plen, str, slen, &steps, UINT64_MAX);
}

/* Drop the escapes a pattern carries for ${} syntax ("\}" and "\/"). */
static char *pattern_unescape_syntax(const char *pat)
{
	struct fb_buf b = FB_BUF_INIT;
	for (const char *p = pat; *p; p++) {
		if (*p == '\\' && (p[1] == '}' || p[1] == '/'))
			continue;
		fb_buf_addc(&b, *p);
		if (*p == '\\' && p[1])
			fb_buf_addc(&b, *++p);
	}
	return fb_buf_steal(&b);
}

/* A pattern with no * ? or [: the string it stands for (escapes dropped),
 * which matches in linear time; NULL otherwise. */
static char *pattern_literal(const char *pat)
{
	struct fb_buf b = FB_BUF_INIT;
	for (const char *p = pat; *p; p++) {
		if (*p == '*' || *p == '?' || *p == '[') {
			fb_buf_free(&b);
			return NULL;
		}
		if (*p == '\\' && p[1])
			p++;
		fb_buf_addc(&b, *p);
	}
	fb_buf_addc(&b, '\0');
	b.len--;
	return fb_buf_steal(&b);
}

static int trim_prefix(struct sw *w, const char *pat, const char *val, bool greedy, struct fb_buf *out)
{
	size_t vl = strlen(val), pl = strlen(pat);
	FB_AUTOFREE char *lit = pattern_literal(pat);
	if (lit) {
		size_t m = strlen(lit);
		fb_buf_adds(out, m <= vl && !memcmp(val, lit, m) ? val + m : val);
		return 0;
	}
	for (size_t k = 0; k <= vl; k++) {
		size_t i = greedy ? vl - k : k;
		if (shell_match(pat, pl, val, i, w->work, FB_SHLEX_MAX_WORK)) {
			fb_buf_adds(out, val + i);
			return 0;
		}
		if (*w->work > FB_SHLEX_MAX_WORK)
			return too_costly(w);
	}
	fb_buf_adds(out, val);
	return 0;
}

static int trim_suffix(struct sw *w, const char *pat, const char *val, bool greedy, struct fb_buf *out)
{
	size_t vl = strlen(val), pl = strlen(pat);
	FB_AUTOFREE char *lit = pattern_literal(pat);
	if (lit) {
		size_t m = strlen(lit);
		fb_buf_add(out, val, m <= vl && !memcmp(val + vl - m, lit, m) ? vl - m : vl);
		return 0;
	}
	for (size_t k = 0; k <= vl; k++) {
		size_t i = greedy ? k : vl - k;
		if (shell_match(pat, pl, val + i, vl - i, w->work, FB_SHLEX_MAX_WORK)) {
			fb_buf_add(out, val, i);
			return 0;
		}
		if (*w->work > FB_SHLEX_MAX_WORK)
			return too_costly(w);
	}
	fb_buf_adds(out, val);
	return 0;
}

/* ${v/p/r}, ${v//p/r}: at each place the longest match of p is replaced;
 * the result stops at the value limit. */
static int replace(struct sw *w, const char *pat, const char *rep, const char *val, bool all, struct fb_buf *out)
{
	size_t vl = strlen(val), pl = strlen(pat), rl = strlen(rep), i = 0;
	FB_AUTOFREE char *lit = pattern_literal(pat);
	if (lit && *lit) {
		/* a literal matches where it occurs: one left-to-right scan */
		size_t m = strlen(lit);
		while (i < vl) {
			const char *at = memmem(val + i, vl - i, lit, m);
			if (!at)
				break;
			size_t k = (size_t)(at - val);
			fb_buf_add(out, val + i, k - i);
			fb_buf_add(out, rep, rl);
			i = k + m;
			if (out->len > FB_SHLEX_MAX_VALUE)
				return too_large(w);
			if (!all)
				break;
		}
		fb_buf_add(out, val + i, vl - i);
		return out->len > FB_SHLEX_MAX_VALUE ? too_large(w) : 0;
	}
	bool done = false;
	while (i <= vl) {
		if (!done) {
			size_t end = vl + 1;
			if (lit) {
				end = i; /* the empty pattern matches nothing, everywhere */
			} else {
				for (size_t e = vl + 1; e-- > i;) {
					if (shell_match(pat, pl, val + i, e - i, w->work, FB_SHLEX_MAX_WORK)) {
						end = e;
						break;
					}
					if (*w->work > FB_SHLEX_MAX_WORK)
						return too_costly(w);
				}
			}
			if (end <= vl) {
				fb_buf_add(out, rep, rl);
				if (!all)
					done = true;
				if (end > i) {
					i = end;
					continue;
				}
			}
		}
		if (i < vl)
			fb_buf_addc(out, val[i]);
		i++;
		if (out->len > FB_SHLEX_MAX_VALUE)
			return too_large(w);
	}
	return 0;
}

static int process_dollar_brace(struct sw *w, struct fb_buf *out)
{
	int c = peekc(w);
	if (c == SH_EOF)
		return sh_err(w, "syntax error: missing '}'");
	if (c == '{' || c == '}' || c == ':')
		return sh_err(w, "syntax error: bad substitution");

	FB_AUTOFREE char *name = NULL;
	{
		struct fb_buf nb = FB_BUF_INIT;
		process_name(w, &nb);
		name = fb_buf_steal(&nb);
	}
	struct fb_buf mod = FB_BUF_INIT;
	c = next(w, &mod);
	const char *val = getenv_sw(w, name);
	bool set = val != NULL;
	int ret = 0;

	if (c == '}') {
		if (!set && w->lx->skip_unset)
			fb_buf_addf(out, "${%s}", name);
		else if (set)
			fb_buf_adds(out, val);
		goto done;
	}
	if (c == ':' || c == '+' || c == '-' || c == '?' || c == '#' || c == '%') {
		bool null_is_unset = false;
		if (c == ':') {
			null_is_unset = true;
			c = next(w, &mod);
		}
		bool raw = c == '#' || c == '%';
		if (null_is_unset && raw) {
			ret = sh_err(w, "unsupported modifier (%s) in substitution", fb_buf_str(&mod));
			goto done;
		}
		struct fb_buf word = FB_BUF_INIT;
		if (process_stop_on(w, '}', raw, &word, NULL) < 0) {
			fb_buf_free(&word);
			if (peekc(w) == SH_EOF)
				sh_err(w, "syntax error: missing '}'");
			ret = -1;
			goto done;
		}
		const char *wd = fb_buf_str(&word);
		/* skip_unset leaves the whole reference as written (re-expanded later). */
		if (w->lx->skip_unset && !set) {
			fb_buf_addf(out, "${%s%s%s}", name, fb_buf_str(&mod), wd);
			fb_buf_free(&word);
			goto done;
		}
		bool empty = !set || (null_is_unset && val[0] == '\0');
		switch (c) {
		case '-':
			fb_buf_adds(out, empty ? wd : val);
			break;
		case '+':
			if (!empty)
				fb_buf_adds(out, wd);
			break;
		case '?':
			if (!set)
				ret = sh_err(w, "%s: %s", name, wd[0] ? wd : "is not allowed to be unset");
			else if (null_is_unset && val[0] == '\0')
				ret = sh_err(w, "%s: %s", name, wd[0] ? wd : "is not allowed to be empty");
			else
				fb_buf_adds(out, val);
			break;
		case '#':
		case '%': {
			bool greedy = wd[0] == (char)c;
			const char *pat = greedy ? wd + 1 : wd;
			if (pattern_check(w, pat) < 0) {
				ret = -1;
				break;
			}
			char *p2 = pattern_unescape_syntax(pat);
			if (c == '#')
				ret = trim_prefix(w, p2, set ? val : "", greedy, out);
			else
				ret = trim_suffix(w, p2, set ? val : "", greedy, out);
			free(p2);
			break;
		}
		default:
			ret = sh_err(w, "unsupported modifier (%s) in substitution", fb_buf_str(&mod));
		}
		fb_buf_free(&word);
		goto done;
	}
	if (c == '/') {
		bool all = peekc(w) == '/';
		if (all)
			next(w, NULL);
		struct fb_buf pat = FB_BUF_INIT, rep = FB_BUF_INIT;
		if (process_stop_on(w, '/', true, &pat, NULL) < 0) {
			if (peekc(w) == SH_EOF)
				sh_err(w, "syntax error: missing '/' in ${}");
			ret = -1;
		} else if (process_stop_on(w, '}', true, &rep, NULL) < 0) {
			if (peekc(w) == SH_EOF)
				sh_err(w, "syntax error: missing '}'");
			ret = -1;
		} else if (w->lx->skip_unset && !set) {
			fb_buf_addf(out, "${%s%s%s/%s}", name, all ? "//" : "/", fb_buf_str(&pat), fb_buf_str(&rep));
		} else if (pattern_check(w, fb_buf_str(&pat)) < 0) {
			ret = -1;
		} else {
			char *p2 = pattern_unescape_syntax(fb_buf_str(&pat));
			ret = replace(w, p2, fb_buf_str(&rep), set ? val : "", all, out);
			free(p2);
		}
		fb_buf_free(&pat);
		fb_buf_free(&rep);
		goto done;
	}
	if (c == SH_EOF)
		ret = sh_err(w, "syntax error: missing '}'");
	else
		ret = sh_err(w, "unsupported modifier (%s) in substitution", fb_buf_str(&mod));
done:
	fb_buf_free(&mod);
	return ret;
}

static int process_dollar(struct sw *w, struct fb_buf *out)
{
	next(w, NULL); /* the $ */
	if (peekc(w) == '{') {
		next(w, NULL);
		return process_dollar_brace(w, out);
	}
	struct fb_buf name = FB_BUF_INIT;
	process_name(w, &name);
	if (name.len == 0) {
		fb_buf_addc(out, '$');
		fb_buf_free(&name);
		return 0;
	}
	const char *val = getenv_sw(w, fb_buf_str(&name));
	if (!val && w->lx->skip_unset)
		fb_buf_addf(out, "$%s", fb_buf_str(&name));
	else if (val)
		fb_buf_adds(out, val);
	fb_buf_free(&name);
	return 0;
}

static int process_stop_on(struct sw *w, int stop, bool raw_escapes, struct fb_buf *out,
			   struct fb_strv *words_out)
{
	struct words ws = { FB_BUF_INIT, FB_STRV_INIT, false };
	bool saved = w->raw_escapes;
	w->raw_escapes = raw_escapes;
	int ret = 0;
	for (;;) {
		size_t width;
		int c = peek(w, &width);
		if (c == SH_EOF)
			break;
		if (stop != SH_EOF && c == stop) {
			next(w, NULL);
			goto out;
		}
		if (c == '$' || (!w->lx->skip_quotes && (c == '\'' || c == '"'))) {
			struct fb_buf tmp = FB_BUF_INIT;
			int r = c == '$' ? process_dollar(w, &tmp)
				: c == '\'' ? process_single_quote(w, &tmp) : process_double_quote(w, &tmp);
			if (r < 0) {
				fb_buf_free(&tmp);
				ret = -1;
				goto out;
			}
			fb_buf_add(out, tmp.data ? tmp.data : "", tmp.len);
			if (c == '$')
				words_add_string(&ws, fb_buf_str(&tmp), tmp.len);
			else
				words_add_raw(&ws, fb_buf_str(&tmp), tmp.len);
			fb_buf_free(&tmp);
			if (out->len > FB_SHLEX_MAX_VALUE) {
				ret = too_large(w);
				goto out;
			}
			continue;
		}
		size_t at = w->pos;
		next(w, NULL);
		if (c == w->lx->escape) {
			if (w->raw_escapes) {
				words_add_raw(&ws, w->s + at, width);
				fb_buf_add(out, w->s + at, width);
			}
			size_t at2 = w->pos, w2;
			int c2 = peek(w, &w2);
			if (c2 == SH_EOF)
				break; /* a trailing escape is dropped */
			next(w, NULL);
			words_add_raw(&ws, w->s + at2, w2);
			fb_buf_add(out, w->s + at2, w2);
			continue;
		}
		words_add_char(&ws, w->s + at, width, (unsigned)c);
		fb_buf_add(out, w->s + at, width);
	}
	if (stop != SH_EOF) {
		ret = sh_err(w, "unexpected end of statement while looking for matching %c", stop);
		goto out;
	}
out:
	w->raw_escapes = saved;
	if (ret == 0)
		words_finish(&ws, words_out);
	words_free(&ws);
	return ret;
}

static int run(const struct fb_shlex *lx, const char *in, struct fb_buf *out, struct fb_strv *words,
	       struct fb_err *err)
{
	struct sw w = { lx, in, strlen(in), 0, lx->raw_escapes, err, lx->work, 0 };
	if (!w.work)
		w.work = &w.own_work;
	if (process_stop_on(&w, SH_EOF, lx->raw_escapes, out, words) < 0) {
		int n = (int)strlen(in);
		fb_err_prefix(err, "failed to process \"%.*s%s\"", n > 200 ? 200 : n, in, n > 200 ? "..." : "");
		return -1;
	}
	return 0;
}

int fb_shlex_word(const struct fb_shlex *lx, const char *in, char **out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (run(lx, in, &b, NULL, err) < 0) {
		fb_buf_free(&b);
		return -1;
	}
	*out = fb_buf_steal(&b);
	return 0;
}

int fb_shlex_words(const struct fb_shlex *lx, const char *in, struct fb_strv *out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	struct fb_strv tmp = FB_STRV_INIT;
	int r = run(lx, in, &b, &tmp, err);
	fb_buf_free(&b);
	if (r < 0) {
		fb_strv_free(&tmp);
		return -1;
	}
	for (size_t i = 0; i < tmp.n; i++)
		fb_strv_push_owned(out, tmp.v[i]);
	free(tmp.v);
	return 0;
}

static size_t vars_hash(const char *s)
{
	size_t h = 1469598103934665603ULL & SIZE_MAX; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
	return h;
}

/* The index of key in keys, or -1. */
static long vars_find(const struct fb_vars *v, const char *key)
{
	if (!v->nslots) {
		for (size_t i = v->keys.n; i-- > 0;)
			if (strcmp(v->keys.v[i], key) == 0)
				return (long)i;
		return -1;
	}
	for (size_t h = vars_hash(key) & (v->nslots - 1);; h = (h + 1) & (v->nslots - 1)) {
		size_t s = v->slots[h];
		if (!s)
			return -1;
		if (!strcmp(v->keys.v[s - 1], key))
			return (long)(s - 1);
	}
}

static void vars_index(struct fb_vars *v, size_t i)
{
	size_t h = vars_hash(v->keys.v[i]) & (v->nslots - 1);
	while (v->slots[h])
		h = (h + 1) & (v->nslots - 1);
	v->slots[h] = i + 1;
}

void fb_vars_set(struct fb_vars *v, const char *key, const char *val)
{
	long at = vars_find(v, key);
	if (at >= 0) {
		/* val may point at the old value itself: copy before freeing */
		char *copy = fb_xstrdup(val);
		free(v->vals.v[at]);
		v->vals.v[at] = copy;
		return;
	}
	fb_strv_push(&v->keys, key);
	fb_strv_push(&v->vals, val);
	if (v->keys.n >= 16 && v->keys.n * 2 > v->nslots) {
		/* (re)build the index at half load */
		free(v->slots);
		v->nslots = 64;
		while (v->nslots < v->keys.n * 4)
			v->nslots *= 2;
		v->slots = fb_xcalloc(v->nslots, sizeof(*v->slots));
		for (size_t i = 0; i < v->keys.n; i++)
			vars_index(v, i);
	} else if (v->nslots) {
		vars_index(v, v->keys.n - 1);
	}
}

const char *fb_vars_get(const struct fb_vars *v, const char *key)
{
	long at = vars_find(v, key);
	return at >= 0 ? v->vals.v[at] : NULL;
}

void fb_vars_copy(struct fb_vars *dst, const struct fb_vars *src)
{
	for (size_t i = 0; i < src->keys.n; i++)
		fb_vars_set(dst, src->keys.v[i], src->vals.v[i]);
}

void fb_vars_free(struct fb_vars *v)
{
	fb_strv_free(&v->keys);
	fb_strv_free(&v->vals);
	free(v->slots);
	v->slots = NULL;
	v->nslots = 0;
}

const char *fb_vars_lookup(void *ctx, const char *name)
{
	return fb_vars_get(ctx, name);
}
