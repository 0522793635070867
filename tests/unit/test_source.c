/* lib/source: which ADD sources are git repositories (BuildKit's rules),
 * with their #REF[:SUBDIR]; and the git+ Dockerfile source forms. */
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "tap.h"

static int check(const char *src, int want, const char *url, const char *ref, const char *sub)
{
	char *u = NULL, *r = NULL, *s = NULL;
	int got = fb_git_url_parse(src, &u, &r, &s);
	int bad = got != want;
	if (!bad && got) {
		bad = strcmp(u, url) || (ref ? !r || strcmp(r, ref) : r != NULL) || (sub ? !s || strcmp(s, sub) : s != NULL);
	}
	if (bad)
		tap_fail("%s: got %d url=%s ref=%s subdir=%s", src, got, u ? u : "-", r ? r : "-", s ? s : "-");
	free(u);
	free(r);
	free(s);
	return bad;
}

static int add_sources(void)
{
	int bad = 0;
	bad |= check("https://github.com/moby/buildkit.git", 1, "https://github.com/moby/buildkit.git", NULL, NULL);
	bad |= check("https://example.com/a/b.git#v1", 1, "https://example.com/a/b.git", "v1", NULL);
	bad |= check("https://example.com/a/b.git#v1:docs/api", 1, "https://example.com/a/b.git", "v1", "docs/api");
	bad |= check("https://example.com/a/b.git#:sub", 1, "https://example.com/a/b.git", NULL, "sub");
	bad |= check("git://127.0.0.1:9418/app.git", 1, "git://127.0.0.1:9418/app.git", NULL, NULL);
	bad |= check("git@github.com:moby/buildkit.git#main", 1, "git@github.com:moby/buildkit.git", "main", NULL);
	bad |= check("ssh://git@host/r.git", 1, "ssh://git@host/r.git", NULL, NULL);
	bad |= check("git+https://host/r.git#dev", 1, "https://host/r.git", "dev", NULL);
	bad |= check("github.com/moby/buildkit#v0.12", 1, "https://github.com/moby/buildkit", "v0.12", NULL);
	/* plain files and archives are not repositories */
	bad |= check("https://example.com/file.tar.gz", 0, NULL, NULL, NULL);
	bad |= check("https://example.com/git", 0, NULL, NULL, NULL);
	bad |= check("https://example.com/a.git/file.txt", 0, NULL, NULL, NULL);
	bad |= check("src/app.git", 0, NULL, NULL, NULL);
	bad |= check("./file", 0, NULL, NULL, NULL);
	return bad;
}

static int dockerfile_sources(void)
{
	char *u, *p, *r;
	TAP_CHECK(fb_source_parse_git("git+https://h/r.git:/13/Dockerfile#master", &u, &p, &r) == 1);
	TAP_STREQ(u, "https://h/r.git");
	TAP_STREQ(p, "13/Dockerfile");
	TAP_STREQ(r, "master");
	free(u), free(p), free(r);
	TAP_CHECK(fb_source_parse_git("https://h/Dockerfile", &u, &p, &r) == 0);
	return 0;
}

static const struct tap_case cases[] = {
	{ "ADD sources that are git repositories, with #REF[:SUBDIR]", add_sources },
	{ "git Dockerfile sources", dockerfile_sources },
};

TAP_MAIN(cases)
