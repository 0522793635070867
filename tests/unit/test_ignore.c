/* lib/ignore: .dockerignore rules, with Docker's documented examples. */
#include "ignore.h"
#include "tap.h"

static int docker_doc_examples(void)
{
	/* docs.docker.com "dockerignore" examples */
	TAP_CHECK(fb_ignore_pattern_match("*/temp*", "somedir/temporary.txt"));
	TAP_CHECK(fb_ignore_pattern_match("*/temp*", "somedir/temp"));
	TAP_CHECK(!fb_ignore_pattern_match("*/temp*", "temp.txt"));
	TAP_CHECK(fb_ignore_pattern_match("*/*/temp*", "somedir/subdir/temporary.txt"));
	TAP_CHECK(!fb_ignore_pattern_match("*/*/temp*", "somedir/temporary.txt"));
	TAP_CHECK(fb_ignore_pattern_match("temp?", "tempa"));
	TAP_CHECK(!fb_ignore_pattern_match("temp?", "tempab"));
	TAP_CHECK(!fb_ignore_pattern_match("temp?", "temp/"));
	return 0;
}

static int double_star(void)
{
	TAP_CHECK(fb_ignore_pattern_match("**/*.go", "main.go"));
	TAP_CHECK(fb_ignore_pattern_match("**/*.go", "a/b/c.go"));
	TAP_CHECK(!fb_ignore_pattern_match("**/*.go", "a/b/c.golang"));
	TAP_CHECK(fb_ignore_pattern_match("a/**/z", "a/z"));
	TAP_CHECK(fb_ignore_pattern_match("a/**/z", "a/b/c/z"));
	TAP_CHECK(!fb_ignore_pattern_match("a/**/z", "ab/z"));
	TAP_CHECK(fb_ignore_pattern_match("**", "anything/at/all"));
	return 0;
}

static int exceptions_last_wins(void)
{
	char *p[] = { "*.md", "!README*.md", "README-secret.md" };
	TAP_CHECK(fb_ignore_excluded(p, 3, "notes.md"));
	TAP_CHECK(!fb_ignore_excluded(p, 3, "README.md"));
	TAP_CHECK(fb_ignore_excluded(p, 3, "README-secret.md"));
	TAP_CHECK(!fb_ignore_excluded(p, 3, "src/code.c"));
	char *q[] = { "*", "!keep" };
	TAP_CHECK(fb_ignore_excluded(q, 2, "x"));
	TAP_CHECK(!fb_ignore_excluded(q, 2, "keep"));
	return 0;
}

static int directories_and_cleaning(void)
{
	char *p[] = { "/node_modules/", "./build", "secret" };
	TAP_CHECK(fb_ignore_excluded(p, 3, "node_modules"));
	TAP_CHECK(fb_ignore_excluded(p, 3, "node_modules/x/y.js"));
	TAP_CHECK(fb_ignore_excluded(p, 3, "build/out.o"));
	TAP_CHECK(fb_ignore_excluded(p, 3, "secret/key"));
	TAP_CHECK(!fb_ignore_excluded(p, 3, "src/secret")); /* anchored at the context root */
	TAP_CHECK(!fb_ignore_excluded(p, 3, "buildx"));
	return 0;
}

static int classes_and_escapes(void)
{
	TAP_CHECK(fb_ignore_pattern_match("file[0-9].txt", "file7.txt"));
	TAP_CHECK(!fb_ignore_pattern_match("file[0-9].txt", "filex.txt"));
	TAP_CHECK(fb_ignore_pattern_match("file[!0-9].txt", "filex.txt"));
	TAP_CHECK(fb_ignore_pattern_match("a\\*b", "a*b"));
	TAP_CHECK(!fb_ignore_pattern_match("a\\*b", "axb"));
	return 0;
}

/* secret/ then !secret/public: the directory is excluded, yet walked,
 * because an exception can match below it (Docker's and BuildKit's walk) */
static int exceptions_below_excluded_dirs(void)
{
	char *p[] = { "secret/", "!secret/public", "vendor", "!vendor/*/LICENSE", "logs", "!**/keep.txt" };
	TAP_CHECK(fb_ignore_excluded(p, 6, "secret"));
	TAP_CHECK(!fb_ignore_excluded(p, 6, "secret/public"));
	TAP_CHECK(!fb_ignore_excluded(p, 6, "secret/public/x"));
	TAP_CHECK(fb_ignore_excluded(p, 6, "secret/private"));
	TAP_CHECK(fb_ignore_may_reinclude(p, 6, "secret"));
	TAP_CHECK(!fb_ignore_may_reinclude(p, 2, "other"));
	TAP_CHECK(!fb_ignore_may_reinclude(p, 2, "secret/private")); /* nothing below it can match */
	/* wildcards stay within a component; ** can stand for anything */
	TAP_CHECK(fb_ignore_may_reinclude(p, 4, "vendor"));
	TAP_CHECK(fb_ignore_may_reinclude(p, 4, "vendor/lib"));
	TAP_CHECK(!fb_ignore_may_reinclude(p, 4, "vendor/lib/sub"));
	TAP_CHECK(!fb_ignore_excluded(p, 4, "vendor/lib/LICENSE"));
	TAP_CHECK(fb_ignore_excluded(p, 4, "vendor/lib/code.c"));
	TAP_CHECK(fb_ignore_may_reinclude(p, 6, "logs/2024/jan"));
	TAP_CHECK(!fb_ignore_excluded(p, 6, "logs/2024/jan/keep.txt"));
	/* no exception at all: nothing is walked */
	char *q[] = { "secret" };
	TAP_CHECK(!fb_ignore_may_reinclude(q, 1, "secret"));
	return 0;
}

static const struct tap_case cases[] = {
	{ "Docker's documented examples", docker_doc_examples },
	{ "** matches any number of directories", double_star },
	{ "exceptions: the last match wins", exceptions_last_wins },
	{ "directories exclude their contents; patterns are cleaned", directories_and_cleaning },
	{ "character classes and escapes", classes_and_escapes },
	{ "exceptions below an excluded directory: it is walked", exceptions_below_excluded_dirs },
};

TAP_MAIN(cases)
