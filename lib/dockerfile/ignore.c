#include "ignore.h"

#include <string.h>

#include "util.h"

static bool class_match(const char **pp, char c, bool *ok)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false, first = true;
	if (*p == '^' || *p == '!')
		neg = true, p++;
	while (*p && (*p != ']' || first)) {
		first = false;
		char lo = *p == '\\' && p[1] ? *++p : *p;
		p++;
		char hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			hi = p[1] == '\\' && p[2] ? p[2] : p[1];
			p += p[1] == '\\' ? 3 : 2;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (*p != ']') {
		*ok = false;
		return false;
	}
	*ok = true;
	*pp = p + 1;
	return hit != neg;
}

static bool match(const char *p, const char *s)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			p += 2;
			bool slash = *p == '/';
			if (slash)
				p++;
			/* "**" may stand for nothing, or for any run of components */
			for (const char *t = s;; t++) {
				if ((!slash || t == s || t[-1] == '/') && match(p, t))
					return true;
				if (!*t)
					return false;
			}
		}
		if (*p == '*') {
			p++;
			for (const char *t = s;; t++) {
				if (match(p, t))
					return true;
				if (!*t || *t == '/')
					return false;
			}
		}
		if (!*s)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
			p++, s++;
			continue;
		}
		if (*p == '[') {
			if (*s == '/')
				return false; /* neither a class nor a literal '[' matches it */
			bool ok = false;
			const char *q = p;
			bool m = class_match(&q, *s, &ok);
			if (ok) {
				if (!m)
					return false;
				p = q, s++;
				continue;
			}
		}
		if (*p == '\\' && p[1])
			p++;
		if (*p != *s)
			return false;
		p++, s++;
	}
	return !*s;
}

/* Clean a pattern as Docker does: no leading '/', no "./", no trailing '/'. */
static char *clean(const char *pat)
{
	while (*pat == '/')
		pat++;
	while (pat[0] == '.' && pat[1] == '/')
		pat += 2;
	char *c = fb_xstrdup(pat);
	size_t n = strlen(c);
	while (n > 1 && c[n - 1] == '/')
		c[--n] = '\0';
	return c;
}

bool fb_ignore_pattern_match(const char *pattern, const char *path)
{
	char *p = clean(pattern);
	bool r = match(p, path);
	free(p);
	return r;
}

/* The pattern matches the path or one of its parent directories. */
static bool matches_or_parent(const char *pattern, const char *path)
{
	char *p = clean(pattern);
	char *buf = fb_xstrdup(path);
	bool r = false;
	for (char *s = buf;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			if (match(p, buf))
				r = true;
			*s = c;
			if (r || !c)
				break;
		}
	}
	free(buf);
	free(p);
	return r;
}

bool fb_ignore_excluded(char *const *patterns, size_t n, const char *path)
{
	bool excluded = false;
	for (size_t i = 0; i < n; i++) {
		const char *pat = patterns[i];
		bool neg = pat[0] == '!';
		if (neg)
			pat++;
		if (matches_or_parent(pat, path))
			excluded = !neg;
	}
	return excluded;
}

/* Component by component: can the pattern match some path that starts
 * with dir/? ('*', '?' and classes stay within a component; a component
 * with "**" can stand for any number of them.) */
static bool may_match_below(const char *pattern, const char *dir)
{
	char *p = clean(pattern), *d = fb_xstrdup(dir);
	char *ps = NULL, *ds = NULL;
	char *pc = strtok_r(p, "/", &ps), *dc = strtok_r(d, "/", &ds);
	bool r = true;
	for (; dc; dc = strtok_r(NULL, "/", &ds), pc = strtok_r(NULL, "/", &ps)) {
		if (!pc) {
			r = false; /* the pattern ends above dir: it re-includes dir itself, not only below */
			break;
		}
		if (strstr(pc, "**"))
			break;
		if (!match(pc, dc)) {
			r = false;
			break;
		}
	}
	free(p);
	free(d);
	return r;
}

bool fb_ignore_may_reinclude(char *const *patterns, size_t n, const char *dir)
{
	for (size_t i = 0; i < n; i++)
		if (patterns[i][0] == '!' && may_match_below(patterns[i] + 1, dir))
			return true;
	return false;
}
