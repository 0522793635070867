#include "source.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "gitapi.h"
#include "http.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "util.h"

int fb_source_parse_git(const char *src, char **url, char **path, char **ref)
{
	static const char *const schemes[] = { "git+https://", "git+http://", "git+ssh://", "git://", "ssh://" };
	size_t i;
	for (i = 0; i < FB_ARRAY_LEN(schemes); i++)
		if (!strncmp(src, schemes[i], strlen(schemes[i])))
			break;
	if (i == FB_ARRAY_LEN(schemes))
		return 0;
	char *s = fb_xstrdup(!strncmp(src, "git+", 4) ? src + 4 : src);
	char *hash = strrchr(s, '#');
	*ref = NULL;
	if (hash) {
		*hash = '\0';
		if (hash[1])
			*ref = fb_xstrdup(hash + 1);
	}
	/* the Dockerfile path follows ".git:" or the last ":/" after the host */
	char *split = strstr(s, ".git:");
	char *host = strstr(s, "://") + 3;
	if (split) {
		split += 4;
	} else {
		char *p = strchr(host, '/');
		char *c = p ? strstr(p, ":/") : NULL;
		char *last = NULL;
		while (c) {
			last = c;
			c = strstr(c + 1, ":/");
		}
		split = last;
	}
	if (split) {
		*split = '\0';
		const char *p = split + 1;
		while (*p == '/')
			p++;
		*path = fb_xstrdup(*p ? p : "Dockerfile");
	} else {
		*path = fb_xstrdup("Dockerfile");
	}
	*url = s;
	return 1;
}

int fb_dockerignore_read(const char *path, struct fb_strv *patterns, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_file(path, &b, err) < 0) {
		fb_buf_free(&b);
		return -1;
	}
	char *save = NULL;
	for (char *line = strtok_r(b.data ? b.data : (char[]){ 0 }, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		bool neg = *line == '!';
		char *p = neg ? line + 1 : line;
		while (*p == ' ')
			p++;
		/* Docker cleans each pattern as a path and drops a leading / */
		while (*p == '/')
			p++;
		if (!*p)
			continue;
		fb_strv_push_owned(patterns, fb_xasprintf("%s%s", neg ? "!" : "", p));
	}
	fb_buf_free(&b);
	return 0;
}

/* ---- http ---- */

static int fetch_http(const char *url, const char *dir, struct fb_source *src, struct fb_err *err)
{
	struct fb_buf body = FB_BUF_INIT;
	/* HEAD first: a clear answer for a missing file before any download;
	 * a Dockerfile is not that big */
	struct fb_http_get g = { .url = url, .head_first = true, .buf = &body, .max = 16u << 20 };
	int ret = fb_http_get(&g, err);
	if (ret == 0) {
		char *df = fb_xasprintf("%s/Dockerfile", dir);
		ret = fb_write_file_atomic(df, body.data ? body.data : "", body.len, 0644, err);
		if (ret == 0) {
			/* COPY/ADD sources resolve against the URL's directory */
			const char *q = strchr(url, '?');
			size_t ul = q ? (size_t)(q - url) : strlen(url);
			const char *slash = memrchr(url, '/', ul);
			src->dockerfile = df;
			df = NULL;
			src->context_url = fb_xstrndup(url, (size_t)(slash - url) + 1);
			src->url = fb_xstrdup(url);
		}
		free(df);
	}
	fb_buf_free(&body);
	return ret;
}

/* ---- git ---- */

static int git_fail(struct fb_err *err, int code, const char *what, const char *url)
{
	const git_error *e = git_error_last();
	return fb_err_set(err, code, "git", "%s %s: %s", what, url, e && e->message ? e->message : "failed");
}

int fb_git_checkout(const char *url, const char *ref, const char *dir, char commit[41], struct fb_err *err)
{
	if (!fb_git_load())
		return fb_err_set(err, FB_EXIT_FAILED, "git", "clone %s: libgit2 cannot be loaded: %s", url, fb_git_why());
	git_libgit2_init();
	git_repository *repo = NULL;
	git_object *obj = NULL;
	int ret = -1;
	git_clone_options opts;
	git_clone_options_init(&opts, GIT_CLONE_OPTIONS_VERSION);
	if (git_clone(&repo, url, dir, &opts) < 0) {
		git_fail(err, FB_EXIT_FAILED, "clone", url);
		goto out;
	}
	if (ref) {
		/* a branch (remote), a tag, or a commit: revparse, then check out */
		char *cands[] = { fb_xasprintf("origin/%s", ref), fb_xasprintf("refs/tags/%s", ref), fb_xstrdup(ref) };
		for (size_t i = 0; i < 3 && !obj; i++)
			if (git_revparse_single(&obj, repo, cands[i]) < 0)
				obj = NULL;
		for (size_t i = 0; i < 3; i++)
			free(cands[i]);
		if (!obj) {
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: no branch, tag or commit \"%s\"", url, ref);
			goto out;
		}
		git_object *c = NULL;
		if (git_object_peel(&c, obj, GIT_OBJECT_COMMIT) < 0) {
			git_fail(err, FB_EXIT_FAILED, "resolve", ref);
			goto out;
		}
		git_checkout_options copts;
		git_checkout_options_init(&copts, GIT_CHECKOUT_OPTIONS_VERSION);
		copts.checkout_strategy = GIT_CHECKOUT_FORCE;
		int r = git_checkout_tree(repo, c, &copts);
		if (r == 0)
			r = git_repository_set_head_detached(repo, git_object_id(c));
		git_object_free(obj);
		obj = c;
		if (r < 0) {
			git_fail(err, FB_EXIT_FAILED, "checkout", ref);
			goto out;
		}
	} else if (git_revparse_single(&obj, repo, "HEAD^{commit}") < 0) {
		git_fail(err, FB_EXIT_FAILED, "resolve HEAD of", url);
		goto out;
	}
	snprintf(commit, 41, "%s", git_oid_tostr_s(git_object_id(obj)));
	ret = 0;
out:
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ret;
}

static int fetch_git(const char *src, const char *dir, struct fb_source *out, struct fb_err *err)
{
	char *url, *path, *ref, commit[41];
	fb_source_parse_git(src, &url, &path, &ref);
	char *co = fb_xasprintf("%s/checkout", dir);
	int ret = -1;
	if (fb_git_checkout(url, ref, co, commit, err) < 0)
		goto out;
	char *df = fb_xasprintf("%s/%s", co, path);
	char real[PATH_MAX], coreal[PATH_MAX];
	if (!realpath(df, real) || !realpath(co, coreal) || strncmp(real, coreal, strlen(coreal))) {
		fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s%s%s: no Dockerfile at %s", url, ref ? "#" : "",
			   ref ? ref : "", path);
		free(df);
		goto out;
	}
	char *ctx = fb_xstrdup(real);
	*strrchr(ctx, '/') = '\0';
	out->dockerfile = fb_xstrdup(real);
	out->context = ctx;
	out->url = url;
	url = NULL;
	out->has_ref = true;
	out->ref = ref;
	ref = NULL;
	out->commit = fb_xstrdup(commit);
	free(df);
	ret = 0;
out:
	free(co);
	free(url);
	free(path);
	free(ref);
	return ret;
}

int fb_git_url_parse(const char *src, char **url, char **ref, char **subdir)
{
	static const char *const prefixes[] = { "git://", "git@", "ssh://", "git+ssh://", "git+http://", "git+https://" };
	const char *frag = strchr(src, '#');
	char *base = frag ? fb_xstrndup(src, (size_t)(frag - src)) : fb_xstrdup(src);
	bool git = false;
	for (size_t i = 0; i < FB_ARRAY_LEN(prefixes) && !git; i++)
		git = !strncmp(base, prefixes[i], strlen(prefixes[i]));
	if (!git && (!strncmp(base, "http://", 7) || !strncmp(base, "https://", 8))) {
		/* an http(s) URL is a repository when its path ends in .git */
		size_t n = strcspn(base, "?");
		git = n > 4 && !strncmp(base + n - 4, ".git", 4);
	}
	if (!git && !strncmp(base, "github.com/", 11)) {
		char *u = fb_xasprintf("https://%s", base);
		free(base);
		base = u;
		git = true;
	}
	if (!git) {
		free(base);
		return 0;
	}
	*ref = *subdir = NULL;
	if (frag && frag[1]) {
		/* #REF[:SUBDIR], BuildKit's fragment */
		const char *f = frag + 1, *colon = strchr(f, ':');
		if (colon != f)
			*ref = colon ? fb_xstrndup(f, (size_t)(colon - f)) : fb_xstrdup(f);
		if (colon && colon[1])
			*subdir = fb_xstrdup(colon + 1);
	}
	*url = fb_xstrdup(!strncmp(base, "git+", 4) ? base + 4 : base);
	free(base);
	return 1;
}

static void add_dockerignore(struct fb_source *s)
{
	/* <Dockerfile>.dockerignore beats <context>/.dockerignore */
	char *cands[2] = { s->dockerfile ? fb_xasprintf("%s.dockerignore", s->dockerfile) : NULL,
			   s->context ? fb_xasprintf("%s/.dockerignore", s->context) : NULL };
	for (size_t i = 0; i < 2; i++) {
		struct fb_strv pats = FB_STRV_INIT;
		struct fb_err e2 = { 0 };
		if (cands[i] && access(cands[i], R_OK) == 0 && fb_dockerignore_read(cands[i], &pats, &e2) == 0) {
			s->has_dockerignore = true;
			s->dockerignore = pats;
			s->dockerignore_file = cands[i];
			cands[i] = NULL;
			break;
		}
		fb_strv_free(&pats);
	}
	free(cands[0]);
	free(cands[1]);
}

int fb_source_fetch(const struct fb_source_opts *o, struct fb_source *out, struct fb_err *err)
{
	struct fb_source s = { 0 };
	const char *src = o->dockerfile;
	int ret = 0;
	bool remote = !strncmp(src, "http://", 7) || !strncmp(src, "https://", 8);
	char *url = NULL, *path = NULL, *ref = NULL;
	bool git = fb_source_parse_git(src, &url, &path, &ref);
	free(url), free(path), free(ref);
	if (remote || git) {
		char *base = fb_xasprintf("%s/sources", o->run_cache);
		if (fb_mkdir_p(base, 0700, err) < 0) {
			free(base);
			return -1;
		}
		s.temporary = fb_xasprintf("%s/src-XXXXXX", base);
		free(base);
		if (!mkdtemp(s.temporary)) {
			ret = fb_err_errno(err, errno, "create a directory under %s/sources", o->run_cache);
			free(s.temporary);
			s.temporary = NULL;
			goto out;
		}
		s.kind = fb_xstrdup(git ? "git" : "http");
		ret = git ? fetch_git(src, s.temporary, &s, err) : fetch_http(src, s.temporary, &s, err);
	} else {
		char real[PATH_MAX];
		struct stat st;
		if (stat(src, &st) < 0) {
			ret = fb_err_errno(err, errno, "--dockerfile %s", src);
		} else if (S_ISDIR(st.st_mode)) {
			/* a directory means its Dockerfile, as docker build does */
			char *p = fb_xasprintf("%s/Dockerfile", src);
			ret = realpath(p, real) ? 0 : fb_err_errno(err, errno, "--dockerfile %s", p);
			free(p);
		} else {
			ret = realpath(src, real) ? 0 : fb_err_errno(err, errno, "--dockerfile %s", src);
		}
		if (ret == 0) {
			s.kind = fb_xstrdup("local");
			s.dockerfile = fb_xstrdup(real);
			char *ctx = fb_xstrdup(real);
			*strrchr(ctx, '/') = '\0';
			s.context = fb_xstrdup(*ctx ? ctx : "/");
			free(ctx);
		}
	}
	if (ret == 0 && o->context) {
		char real[PATH_MAX];
		if (!realpath(o->context, real)) {
			ret = fb_err_errno(err, errno, "--context %s", o->context);
		} else {
			free(s.context);
			s.context = fb_xstrdup(real);
		}
	}
	if (ret == 0)
		add_dockerignore(&s);
out:
	if (ret < 0) {
		if (s.temporary) {
			char *cmd[] = { "rm", "-rf", s.temporary, NULL };
			int code;
			struct fb_err e2 = { 0 };
			/* failing already: what rm could not remove stays in the run cache */
			FB_IGNORE(fb_proc_run(cmd, NULL, 0, NULL, NULL, &code, &e2));
		}
		fb_source_free(&s);
	} else {
		*out = s;
	}
	return ret;
}
