#include "source.h"

#include <curl/curl.h>
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
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

int fb_dockerignore_read(const char *path, jv *patterns, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_file(path, &b, err) < 0) {
		fb_buf_free(&b);
		return -1;
	}
	jv list = jv_array();
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
		list = jv_array_append(list, jv_string_fmt("%s%s", neg ? "!" : "", p));
	}
	fb_buf_free(&b);
	*patterns = list;
	return 0;
}

/* ---- http ---- */

static size_t to_buf(char *p, size_t sz, size_t n, void *ud)
{
	struct fb_buf *b = ud;
	if (b->len + sz * n > (16u << 20))
		return 0; /* a Dockerfile is not that big */
	fb_buf_add(b, p, sz * n);
	return sz * n;
}

static int fetch_http(const char *url, const char *dir, jv *src, struct fb_err *err)
{
	CURL *c = curl_easy_init();
	struct fb_buf body = FB_BUF_INIT;
	long code = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "firebuild/" FB_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* HEAD first: a clear answer for a missing file before any download */
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	int ret = 0;
	if (cc == CURLE_OK && code < 400) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	}
	if (cc != CURLE_OK)
		ret = fb_err_set(err, FB_EXIT_FAILED, "network", "%s: %s", url, curl_easy_strerror(cc));
	else if (code == 404)
		ret = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: not found (HTTP 404)", url);
	else if (code >= 400)
		ret = fb_err_set(err, FB_EXIT_FAILED, "http", "%s: HTTP %ld", url, code);
	curl_easy_cleanup(c);
	if (ret == 0) {
		char *df = fb_xasprintf("%s/Dockerfile", dir);
		ret = fb_write_file_atomic(df, body.data ? body.data : "", body.len, 0644, err);
		if (ret == 0) {
			/* COPY/ADD sources resolve against the URL's directory */
			const char *q = strchr(url, '?');
			size_t ul = q ? (size_t)(q - url) : strlen(url);
			const char *slash = memrchr(url, '/', ul);
			char *base = fb_xstrndup(url, (size_t)(slash - url) + 1);
			*src = jv_object_set(*src, jv_string("dockerfile"), jv_string(df));
			*src = jv_object_set(*src, jv_string("context_url"), jv_string(base));
			*src = jv_object_set(*src, jv_string("url"), jv_string(url));
			free(base);
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

static int fetch_git(const char *src, const char *dir, jv *out, struct fb_err *err)
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
	*out = jv_object_set(*out, jv_string("dockerfile"), jv_string(real));
	*out = jv_object_set(*out, jv_string("context"), jv_string(ctx));
	*out = jv_object_set(*out, jv_string("url"), jv_string(url));
	*out = jv_object_set(*out, jv_string("ref"), ref ? jv_string(ref) : jv_null());
	*out = jv_object_set(*out, jv_string("commit"), jv_string(commit));
	free(ctx);
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

static void add_dockerignore(jv *s, struct fb_err *err)
{
	/* <Dockerfile>.dockerignore beats <context>/.dockerignore */
	char *df = NULL, *ctx = NULL;
	fb_json_get_str_opt(*s, "dockerfile", &df, err);
	fb_json_get_str_opt(*s, "context", &ctx, err);
	char *cands[2] = { df ? fb_xasprintf("%s.dockerignore", df) : NULL,
			   ctx ? fb_xasprintf("%s/.dockerignore", ctx) : NULL };
	for (size_t i = 0; i < 2; i++) {
		jv pats;
		struct fb_err e2 = { 0 };
		if (cands[i] && access(cands[i], R_OK) == 0 && fb_dockerignore_read(cands[i], &pats, &e2) == 0) {
			*s = jv_object_set(*s, jv_string("dockerignore"), pats);
			*s = jv_object_set(*s, jv_string("dockerignore_file"), jv_string(cands[i]));
			break;
		}
	}
	free(cands[0]);
	free(cands[1]);
	free(df);
	free(ctx);
}

int fb_source_fetch(const struct fb_source_opts *o, jv *out, struct fb_err *err)
{
	jv s = jv_object();
	const char *src = o->dockerfile;
	int ret = 0;
	char *tmp = NULL;
	bool remote = !strncmp(src, "http://", 7) || !strncmp(src, "https://", 8);
	char *url = NULL, *path = NULL, *ref = NULL;
	bool git = fb_source_parse_git(src, &url, &path, &ref);
	free(url), free(path), free(ref);
	if (remote || git) {
		char *base = fb_xasprintf("%s/sources", o->run_cache);
		if (fb_mkdir_p(base, 0700, err) < 0) {
			free(base);
			jv_free(s);
			return -1;
		}
		tmp = fb_xasprintf("%s/src-XXXXXX", base);
		free(base);
		if (!mkdtemp(tmp)) {
			ret = fb_err_errno(err, errno, "create a directory under %s/sources", o->run_cache);
			goto out;
		}
		s = jv_object_set(s, jv_string("kind"), jv_string(git ? "git" : "http"));
		s = jv_object_set(s, jv_string("temporary"), jv_string(tmp));
		ret = git ? fetch_git(src, tmp, &s, err) : fetch_http(src, tmp, &s, err);
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
			s = jv_object_set(s, jv_string("kind"), jv_string("local"));
			s = jv_object_set(s, jv_string("dockerfile"), jv_string(real));
			char *ctx = fb_xstrdup(real);
			*strrchr(ctx, '/') = '\0';
			s = jv_object_set(s, jv_string("context"), jv_string(*ctx ? ctx : "/"));
			free(ctx);
		}
	}
	if (ret == 0 && o->context) {
		char real[PATH_MAX];
		if (!realpath(o->context, real))
			ret = fb_err_errno(err, errno, "--context %s", o->context);
		else
			s = jv_object_set(s, jv_string("context"), jv_string(real));
	}
	if (ret == 0)
		add_dockerignore(&s, err);
out:
	if (ret < 0) {
		jv_free(s);
		if (tmp) {
			char *cmd[] = { "rm", "-rf", tmp, NULL };
			int code;
			struct fb_err e2 = { 0 };
			/* failing already: what rm could not remove stays in the run cache */
			FB_IGNORE(fb_proc_run(cmd, NULL, 0, NULL, NULL, &code, &e2));
		}
	} else {
		*out = s;
	}
	free(tmp);
	return ret;
}
