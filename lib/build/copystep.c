/* COPY and ADD (builder.h): from the context, another stage or image, a
 * heredoc, a URL or a git repository; the key covers what is read. */
#include "builder.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "copy.h"
#include "digest.h"
#include "err.h"
#include "file.h"
#include "http.h"
#include "source.h"
#include "tree.h"
#include "util.h"

struct download {
	char *name, *file;
	time_t mtime;
};

struct copy_ctx {
	struct fb_copy_opts co;
	struct fb_strv paths; /* local sources */
	const struct fb_plan_ins *ins;
	struct download *downloads;
	size_t ndownloads;
	const char *dest;
	const char *chown;
};

static int do_copy(struct step *st, void *ctx, struct fb_err *err)
{
	struct copy_ctx *cc = ctx;
	cc->co.dest_root = st->s->tree;
	cc->co.workdir = build_workdir(st->s);
	int r = 0;
	if (cc->chown && fb_resolve_owner(st->s->tree, cc->chown, &cc->co.uid, &cc->co.gid, err) < 0)
		r = -1;
	if (r == 0 && cc->paths.n)
		r = fb_copy(&cc->co, cc->paths.v, cc->paths.n, cc->dest, err);
	for (size_t i = 0; r == 0 && i < cc->ins->nsources; i++) {
		const struct fb_plan_source *s = &cc->ins->sources[i];
		if (s->path)
			continue;
		const char *body = s->body ? s->body : "";
		r = fb_copy_data(&cc->co, s->heredoc ? s->heredoc : "", body, strlen(body), 0644, 0, cc->dest, err);
	}
	for (size_t i = 0; r == 0 && i < cc->ndownloads; i++) {
		const struct download *d = &cc->downloads[i];
		struct fb_buf data = FB_BUF_INIT;
		r = fb_read_file(d->file, &data, err);
		if (r == 0)
			r = fb_copy_data(&cc->co, d->name, data.data, data.len, 0600, d->mtime, cc->dest, err);
		fb_buf_free(&data);
	}
	return r;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* ADD <URL>: downloaded into the work directory; the key has its digest. */
static int add_url(struct step *st, struct copy_ctx *cc, const char *url, struct fb_buf *extra, struct fb_err *err)
{
	struct builder *b = st->b;
	char *file = fb_xasprintf("%s/download-%zu", b->work, cc->ndownloads);
	time_t mtime = 0;
	struct fb_http_get g = { .url = url, .path = file, .mtime = &mtime };
	int r = fb_http_get(&g, err);
	char d[72];
	struct fb_buf data = FB_BUF_INIT;
	if (r == 0 && (r = fb_read_file(file, &data, err)) == 0)
		fb_sha256_mem(data.data, data.len, d);
	fb_buf_free(&data);
	if (r == 0 && st->ins->checksum && strcmp(d, st->ins->checksum))
		r = fb_err_set(err, FB_EXIT_FAILED, "checksum", "ADD %s: the content's digest is %s, not %s (--checksum)", url, d,
			       st->ins->checksum);
	if (r < 0) {
		free(file);
		return -1;
	}
	/* the name: the URL's last path component */
	const char *q = strpbrk(url + 8, "?#");
	size_t ulen = q ? (size_t)(q - url) : strlen(url);
	char *u = fb_xstrndup(url, ulen);
	const char *base = strrchr(u, '/');
	base = base && base[1] && base > strstr(u, "//") + 1 ? base + 1 : "index.html";
	cc->downloads = fb_xrealloc(cc->downloads, (cc->ndownloads + 1) * sizeof(*cc->downloads));
	cc->downloads[cc->ndownloads++] = (struct download){ fb_xstrdup(base), file, mtime };
	fb_buf_addf(extra, "url %s %s %ld\n", url, d, (long)mtime);
	free(u);
	return 0;
}

/* ADD <git URL>#REF[:SUBDIR] (BuildKit's): cloned, checked out, its tree
 * (or SUBDIR) copied as a directory's contents; keyed on the commit. */
static int add_git(struct step *st, struct copy_ctx *cc, const char *url, const char *ref, const char *sub,
		   char **git_dir, struct fb_buf *extra, struct fb_err *err)
{
	struct builder *b = st->b;
	char commit[41];
	*git_dir = fb_xasprintf("%s/git-%d", b->work, b->trees++);
	if (fb_git_checkout(url, ref, *git_dir, commit, err) < 0)
		return -1;
	bool keep = st->ins->keep_git_dir == 1;
	if (!keep) {
		char *dotgit = fb_xasprintf("%s/.git", *git_dir);
		fb_tree_remove(dotgit);
		free(dotgit);
	}
	cc->co.src_root = *git_dir;
	cc->co.ignore = NULL; /* the context's .dockerignore is not the repository's */
	cc->co.nignore = 0;
	cc->co.unpack = false;
	fb_strv_push(&cc->paths, sub ? sub : ".");
	fb_buf_addf(extra, "git %s %s %s %d\n", url, commit, sub ? sub : "", keep);
	return 0;
}

/* An http context: each source is fetched next to the Dockerfile. */
static int http_context(struct step *st, struct copy_ctx *cc, char **http_dir, struct fb_err *err)
{
	struct builder *b = st->b;
	*http_dir = fb_xasprintf("%s/http-context-%d", b->work, b->trees++);
	int r = fb_mkdir_p(*http_dir, 0755, err);
	for (size_t i = 0; r == 0 && i < cc->paths.n; i++) {
		const char *p = cc->paths.v[i];
		size_t n = strlen(p);
		if (strpbrk(p, "*?[") || (n && p[n - 1] == '/') || !strcmp(p, "."))
			return fb_err_set(err, FB_EXIT_USAGE, "invalid",
					  "%s %s: over http only single files can be copied (a directory or a wildcard cannot be listed)",
					  cc->co.what, p);
		if (strstr(p, ".."))
			return fb_err_set(err, FB_EXIT_USAGE, "outside_context", "%s %s: the path is outside the build context",
					  cc->co.what, p);
		while (*p == '/' || (p[0] == '.' && p[1] == '/'))
			p += *p == '/' ? 1 : 2;
		char *url = fb_xasprintf("%s/%s", b->o->context_url, p);
		char *file = fb_xasprintf("%s/%s", *http_dir, p);
		char *slash = strrchr(file, '/');
		*slash = '\0';
		r = fb_mkdir_p(file, 0755, err);
		*slash = '/';
		struct fb_http_get g = { .url = url, .path = file };
		if (r == 0)
			r = fb_http_get(&g, err);
		/* a file over http gets 0644 (there are no modes in http) */
		if (r == 0 && chmod(file, 0644) < 0)
			r = fb_err_errno(err, errno, "%s", file);
		free(url);
		free(file);
	}
	cc->co.src_root = *http_dir;
	return r;
}

int build_step_copy(struct step *st, bool add, struct fb_err *err)
{
	struct builder *b = st->b;
	const struct fb_plan_ins *in = st->ins;
	struct copy_ctx cc = { .ins = in, .dest = in->dest ? in->dest : "" };
	cc.co.what = add ? "ADD" : "COPY";
	struct fb_buf extra = FB_BUF_INIT;
	int r = 0;
	struct state *src = NULL;
	char *http_dir = NULL, *git_dir = NULL;
	if (in->from.set) {
		r = build_source_state(b, &in->from, &src, err);
		if (r == 0)
			fb_buf_addf(&extra, "from %s\n", src->key);
		cc.co.keep_owners = true; /* only the context's files become root's */
	} else if (b->o->context) {
		cc.co.src_root = b->o->context;
		cc.co.ignore = b->o->ignore;
		cc.co.nignore = b->o->nignore;
	}
	if (in->chown && *in->chown) {
		cc.chown = in->chown;
		cc.co.chown = true;
	}
	if (in->chmod && *in->chmod) {
		char *end;
		unsigned long m = strtoul(in->chmod, &end, 8);
		if (*end || m > 07777)
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "--chmod=%s: expected an octal mode", in->chmod);
		cc.co.chmod = true;
		cc.co.mode = (mode_t)m;
	}
	cc.co.parents = in->parents == 1;
	cc.co.unpack = add && in->unpack != 0;
	cc.co.exclude = in->exclude.v;
	cc.co.nexclude = in->exclude.n;
	for (size_t i = 0; r == 0 && i < in->nsources; i++) {
		const char *path = in->sources[i].path;
		char *gurl = NULL, *gref = NULL, *gsub = NULL;
		if (!path)
			continue; /* a heredoc: written by do_copy */
		if (add && fb_git_url_parse(path, &gurl, &gref, &gsub)) {
			if (src)
				r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "ADD --from cannot take a git repository");
			else if (in->nsources != 1)
				r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "ADD %s: a git repository is the only source of its ADD", path);
			else
				r = add_git(st, &cc, gurl, gref, gsub, &git_dir, &extra, err);
			free(gurl);
			free(gref);
			free(gsub);
		} else if (add && is_url(path)) {
			r = src ? fb_err_set(err, FB_EXIT_USAGE, "invalid", "ADD --from cannot take a URL")
				: add_url(st, &cc, path, &extra, err);
		} else {
			fb_strv_push(&cc.paths, path);
		}
	}
	if (r == 0 && cc.paths.n && !src && !b->o->context && b->o->context_url && !git_dir)
		r = http_context(st, &cc, &http_dir, err);
	else if (r == 0 && cc.paths.n && !src && !b->o->context && !git_dir)
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: there is no build context to copy from", cc.co.what);
	if (r == 0 && cc.paths.n && !src && !git_dir) {
		/* what the copy reads is part of the key (a git tree is its commit) */
		struct fb_sha256 h;
		fb_sha256_init(&h);
		struct fb_copy_opts ho = cc.co;
		ho.chown = false;
		if (!http_dir && cc.co.src_root == b->o->context)
			ho.hashes = b->hashes;
		if (fb_copy_hash(&ho, cc.paths.v, cc.paths.n, &h, err) < 0) {
			fb_sha256_free(&h);
			r = -1;
		} else {
			char d[72];
			fb_sha256_final(&h, d);
			fb_buf_addf(&extra, "content %s\n", d);
		}
	}
	if (r == 0 && src) {
		/* another stage or image: its tree is needed only on a miss */
		build_key(st->s->key, st->ins, fb_buf_str(&extra), st->key);
		struct fb_oci_desc *hit;
		if (build_cache_get(b, st->key, &hit, NULL)) {
			if (hit) {
				fb_oci_desc_free(hit);
				free(hit);
			}
		} else if (!b->lazy && build_ensure_tree(b, src, err) < 0) {
			r = -1;
		}
		cc.co.src_root = src->tree;
	}
	if (r == 0)
		r = build_fs_step(st, fb_buf_str(&extra), do_copy, &cc, err);
	if (http_dir) {
		fb_tree_remove(http_dir);
		free(http_dir);
	}
	if (git_dir) {
		fb_tree_remove(git_dir);
		free(git_dir);
	}
	for (size_t i = 0; i < cc.ndownloads; i++) {
		free(cc.downloads[i].name);
		free(cc.downloads[i].file);
	}
	free(cc.downloads);
	fb_strv_free(&cc.paths);
	fb_buf_free(&extra);
	return r;
}
