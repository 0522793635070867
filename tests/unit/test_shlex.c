/* The shell lexer against BuildKit's own data files (envVarTest,
 * wordsTest) plus the pattern modifiers BuildKit tests in Go code. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "shlex.h"
#include "tap.h"

static const char *corpus_dir(void)
{
	const char *d = getenv("FB_SHARED");
	return d ? d : "../shared";
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int env_var_test(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/corpus/buildkit-shell/envVarTest", corpus_dir());
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("# %s missing\n", path);
		return 77;
	}
	struct fb_vars env = { 0 };
	fb_vars_set(&env, "PWD", "/home");
	fb_vars_set(&env, "SHELL", "bash");
	fb_vars_set(&env, "KOREAN", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4");
	fb_vars_set(&env, "NULL", "");
	struct fb_shlex lx = { .escape = '\\', .lookup = fb_vars_lookup, .ctx = &env };
	char line[4096];
	int lineno = 0, bad = 0, checked = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#')
			continue;
		char *p1 = strchr(l, '|');
		char *p2 = p1 ? strchr(p1 + 1, '|') : NULL;
		if (!p2)
			continue;
		*p1 = *p2 = '\0';
		char *plat = trim(l), *in = trim(p1 + 1), *want = trim(p2 + 1);
		if (strcmp(plat, "W") == 0)
			continue;
		checked++;
		struct fb_err err = { 0 };
		char *got = NULL;
		int r = fb_shlex_word(&lx, in, &got, &err);
		if (strcmp(want, "error") == 0) {
			if (r == 0) {
				printf("# line %d: %s: expected an error, got '%s'\n", lineno, in, got);
				bad++;
			}
		} else if (r < 0) {
			printf("# line %d: %s: unexpected error: %s\n", lineno, in, err.msg);
			bad++;
		} else if (strcmp(got, want) != 0) {
			printf("# line %d: %s: got '%s' want '%s'\n", lineno, in, got, want);
			bad++;
		}
		free(got);
	}
	fclose(f);
	fb_vars_free(&env);
	printf("# envVarTest: %d of %d lines match\n", checked - bad, checked);
	return bad ? 1 : 0;
}

static int words_test(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/corpus/buildkit-shell/wordsTest", corpus_dir());
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("# %s missing\n", path);
		return 77;
	}
	struct fb_vars env = { 0 };
	struct fb_shlex lx = { .escape = '\\', .lookup = fb_vars_lookup, .ctx = &env };
	char line[4096];
	int lineno = 0, bad = 0, checked = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (line[0] == '#')
			continue;
		if (strncmp(line, "ENV ", 4) == 0) {
			char *kv = line + 4;
			while (*kv == ' ')
				kv++;
			char *eq = strchr(kv, '=');
			if (eq) {
				*eq = '\0';
				fb_vars_set(&env, kv, eq + 1);
			}
			continue;
		}
		char *bar = strchr(line, '|');
		if (!bar)
			continue;
		*bar = '\0';
		char *in = trim(line), *want = bar + 1;
		while (*want == ' ' || *want == '\t')
			want++;
		checked++;
		struct fb_err err = { 0 };
		struct fb_strv got = FB_STRV_INIT;
		int r = fb_shlex_words(&lx, in, &got, &err);
		if (strcmp(want, "error") == 0) {
			if (r == 0) {
				printf("# line %d: %s: expected an error\n", lineno, in);
				bad++;
			}
		} else if (r < 0) {
			printf("# line %d: %s: unexpected error: %s\n", lineno, in, err.msg);
			bad++;
		} else {
			struct fb_buf joined = FB_BUF_INIT;
			for (size_t i = 0; i < got.n; i++) {
				if (i)
					fb_buf_addc(&joined, ',');
				fb_buf_adds(&joined, got.v[i]);
			}
			if (strcmp(fb_buf_str(&joined), want) != 0) {
				printf("# line %d: %s: got [%s] want [%s]\n", lineno, in, fb_buf_str(&joined), want);
				bad++;
			}
			fb_buf_free(&joined);
		}
		fb_strv_free(&got);
	}
	fclose(f);
	fb_vars_free(&env);
	printf("# wordsTest: %d of %d lines match\n", checked - bad, checked);
	return bad ? 1 : 0;
}

/* The pattern modifiers (BuildKit lex_test.go TestProcessWithMatches-style). */
static int modifiers(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "${FOO#*o}", "o.bar.baz" },
		{ "${FOO##*o}", ".bar.baz" },
		{ "${FOO%.*}", "foo.bar" },
		{ "${FOO%%.*}", "foo" },
		{ "${FOO#foo.}", "bar.baz" },
		{ "${FOO%.baz}", "foo.bar" },
		{ "${FOO/bar/qux}", "foo.qux.baz" },
		{ "${FOO//a/A}", "foo.bAr.bAz" },
		{ "${FOO/a/A}", "foo.bAr.baz" },
		{ "${FOO/b*/X}", "foo.X" },
		{ "${FOO#x}", "foo.bar.baz" },
		{ "${FOO%[a-z]}", "foo.bar.ba" },
		{ "${FOO#\\*}", "foo.bar.baz" },
		{ "${UNSET#x}", "" },
		{ "${UNSET-def}", "def" },
		{ "${EMPTY-def}", "" },
		{ "${EMPTY:-def}", "def" },
		{ "${EMPTY+alt}", "alt" },
		{ "${EMPTY:+alt}", "" },
		{ "${FOO:+alt}", "alt" },
		{ "${FOO/\\//-}", "foo.bar.baz" },
		{ "${PATHV//\\//-}", "-usr-bin" },
		{ "a${FOO:+\"x y\"}b", "ax yb" },
	};
	struct fb_vars env = { 0 };
	fb_vars_set(&env, "FOO", "foo.bar.baz");
	fb_vars_set(&env, "EMPTY", "");
	fb_vars_set(&env, "PATHV", "/usr/bin");
	struct fb_shlex lx = { .escape = '\\', .lookup = fb_vars_lookup, .ctx = &env };
	int bad = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_err err = { 0 };
		char *got = NULL;
		if (fb_shlex_word(&lx, cases[i].in, &got, &err) < 0) {
			printf("# %s: error %s\n", cases[i].in, err.msg);
			bad++;
			continue;
		}
		if (strcmp(got, cases[i].want) != 0) {
			printf("# %s: got '%s' want '%s'\n", cases[i].in, got, cases[i].want);
			bad++;
		}
		free(got);
	}
	fb_vars_free(&env);
	return bad ? 1 : 0;
}

static int errors(void)
{
	static const char *const bad_inputs[] = {
		"${FOO:#x}", "${FOO#\\q}", "${", "${FOO", "${FOO:=x}", "${UNSET?}", "${EMPTY:?must}", "'abc", "\"abc",
	};
	struct fb_vars env = { 0 };
	fb_vars_set(&env, "FOO", "x");
	fb_vars_set(&env, "EMPTY", "");
	struct fb_shlex lx = { .escape = '\\', .lookup = fb_vars_lookup, .ctx = &env };
	int bad = 0;
	for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
		struct fb_err err = { 0 };
		char *got = NULL;
		if (fb_shlex_word(&lx, bad_inputs[i], &got, &err) == 0) {
			printf("# %s: expected an error, got '%s'\n", bad_inputs[i], got);
			free(got);
			bad++;
		}
	}
	fb_vars_free(&env);
	return bad ? 1 : 0;
}

static int skip_unset(void)
{
	struct fb_vars env = { 0 };
	fb_vars_set(&env, "A", "1");
	struct fb_shlex lx = { .escape = '\\', .skip_unset = true, .lookup = fb_vars_lookup, .ctx = &env };
	struct fb_err err = { 0 };
	char *got = NULL;
	TAP_CHECK(fb_shlex_word(&lx, "$A-$B-${C:-x}-${D}", &got, &err) == 0);
	TAP_STREQ(got, "1-$B-${C:-x}-${D}");
	free(got);
	fb_vars_free(&env);
	return 0;
}

static int backtick_escape(void)
{
	struct fb_shlex lx = { .escape = '`' };
	struct fb_err err = { 0 };
	char *got = NULL;
	TAP_CHECK(fb_shlex_word(&lx, "c:\\dir `$x", &got, &err) == 0);
	TAP_STREQ(got, "c:\\dir $x");
	free(got);
	return 0;
}

static int vars_self_assign(void)
{
	struct fb_vars v = { 0 };
	fb_vars_set(&v, "A", "value");
	/* Setting a variable to its own current value (ARG A after ARG A=value). */
	fb_vars_set(&v, "A", fb_vars_get(&v, "A"));
	TAP_STREQ(fb_vars_get(&v, "A"), "value");
	fb_vars_free(&v);
	return 0;
}

/* Thousands of variables: every one found, the last value wins (the hash
 * index is rebuilt as the list grows). */
static int vars_many(void)
{
	struct fb_vars v = { 0 };
	char k[32], val[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "K%d", i);
		snprintf(val, sizeof(val), "%d", i);
		fb_vars_set(&v, k, val);
	}
	fb_vars_set(&v, "K17", "again");
	TAP_CHECK(v.keys.n == 5000 && v.nslots >= 2 * v.keys.n);
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "K%d", i);
		snprintf(val, sizeof(val), "%d", i);
		TAP_STREQ(fb_vars_get(&v, k), i == 17 ? "again" : val);
	}
	TAP_CHECK(fb_vars_get(&v, "K5000") == NULL);
	struct fb_vars c = { 0 };
	fb_vars_copy(&c, &v);
	TAP_STREQ(fb_vars_get(&c, "K4999"), "4999");
	TAP_STREQ(c.keys.v[17], "K17");
	fb_vars_free(&c);
	fb_vars_free(&v);
	return 0;
}

static char *repeat(char c, size_t n)
{
	char *s = fb_xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* A value over 1 MiB is an error however it is made; the pattern
 * modifiers give the same results on their fast (literal) path and the
 * general one; pattern matching stops at the step limit, counted across
 * the calls that share a counter. */
static int limits(void)
{
	struct fb_vars env = { 0 };
	char *big = repeat('a', 200000);
	fb_vars_set(&env, "V", "aaaaaaaaaa");
	fb_vars_set(&env, "BIG", big);
	fb_vars_set(&env, "HALF", big + 100000); /* 100000 a's */
	fb_vars_set(&env, "SMALL", big + 200000 - 2000);
	struct fb_shlex lx = { .escape = '\\', .lookup = fb_vars_lookup, .ctx = &env };
	struct fb_err err = { 0 };
	char *got = NULL;
	/* 200000 * 10 is over the limit: it stops early, not at 2 MB */
	TAP_CHECK(fb_shlex_word(&lx, "${BIG//a/aaaaaaaaaa}", &got, &err) == -1);
	TAP_STREQ(err.kind, "too_large");
	TAP_CHECK(strstr(err.msg, "the expanded value is over 1048576 bytes (1 MiB), the limit") != NULL);
	TAP_CHECK(fb_shlex_word(&lx, "$BIG$BIG$BIG$BIG$BIG$BIG", &got, &err) == -1);
	TAP_STREQ(err.kind, "too_large");
	TAP_CHECK(fb_shlex_word(&lx, "${BIG:+$BIG$BIG$BIG$BIG$BIG$BIG}", &got, &err) == -1);
	TAP_STREQ(err.kind, "too_large");
	/* a long word in a message is cut */
	TAP_CHECK(strlen(err.msg) < 400);
	TAP_CHECK(fb_shlex_word(&lx, "${HALF//a/aaaaaaaaaa}", &got, &err) == 0);
	TAP_CHECK(strlen(got) == 1000000);
	free(got);
	/* literal and general paths agree */
	static const struct {
		const char *a, *b;
	} same[] = {
		{ "${V//a/bc}", "${V//[a]/bc}" },     { "${V/a/bc}", "${V/[a]/bc}" },
		{ "${V//aa/x}", "${V//a[a]/x}" },     { "${V#aaa}", "${V#a[a]a}" },
		{ "${V##aaa}", "${V##a[a]a}" },       { "${V%aaa}", "${V%a[a]a}" },
		{ "${V%%aaa}", "${V%%[a]aa}" },       { "${V//\\*/b}", "${V//[*]/b}" },
		{ "${V//xyz/b}", "${V//[x]yz/b}" },  { "${V#aaaaaaaaaaaa}", "${V#[a]aaaaaaaaaaa}" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(same); i++) {
		char *x = NULL, *y = NULL;
		TAP_CHECK(fb_shlex_word(&lx, same[i].a, &x, &err) == 0);
		TAP_CHECK(fb_shlex_word(&lx, same[i].b, &y, &err) == 0);
		if (strcmp(x, y))
			return tap_fail("%s gives '%s', %s gives '%s'", same[i].a, x, same[i].b, y);
		free(x);
		free(y);
	}
	/* the empty pattern: as before, the replacement goes between every character */
	TAP_CHECK(fb_shlex_word(&lx, "${V///x}", &got, &err) == 0);
	TAP_STREQ(got, "xaxaxaxaxaxaxaxaxaxax");
	free(got);
	/* a backtracking pattern over a long value stops at the step limit */
	TAP_CHECK(fb_shlex_word(&lx, "${BIG//*a*a*a*b/x}", &got, &err) == -1);
	TAP_CHECK(strstr(err.msg, "pattern matching took over 268435456 steps") != NULL);
	/* steps add up across the calls that share a counter */
	uint64_t work = 0;
	struct fb_shlex shared = lx;
	shared.work = &work;
	int ok = 0, r = 0;
	for (int i = 0; i < 100000 && r == 0; i++) {
		r = fb_shlex_word(&shared, "${SMALL##*b}", &got, &err);
		if (r == 0)
			free(got), ok++;
	}
	TAP_CHECK(r == -1 && ok > 0 && work > FB_SHLEX_MAX_WORK);
	free(big);
	fb_vars_free(&env);
	return 0;
}

static const struct tap_case cases[] = {
	{ "variables: set to their own value", vars_self_assign },
	{ "variables: thousands, through the hash index", vars_many },
	{ "limits: 1 MiB values, pattern matching steps", limits },
	{ "envVarTest corpus", env_var_test },
	{ "wordsTest corpus", words_test },
	{ "pattern modifiers", modifiers },
	{ "syntax errors", errors },
	{ "skip unset variables", skip_unset },
	{ "backtick escape token", backtick_escape },
};

TAP_MAIN(cases)
