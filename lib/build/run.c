/* RUN (builder.h): the command, its mounts, its environment, run by
 * fb-exec in the stage's tree; its key is the command, the config it sees
 * and what its mounts read. */
#include "builder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "digest.h"
#include "err.h"
#include "file.h"
#include "oci.h"
#include "proc.h"
#include "store.h"
#include "tree.h"
#include "util.h"

struct run_ctx {
	struct fb_strv argv;
	struct build_exec_mount *mounts; /* for fb-exec */
	size_t nmounts;
	struct fb_strv owned;            /* the mounts' strings */
	const char *network;
	char *script;                    /* heredoc script file made in the tree, removed after */
	char *script_body;
	struct fb_vars args_env;
};

static void run_ctx_free(struct run_ctx *rc)
{
	fb_strv_free(&rc->argv);
	free(rc->mounts);
	fb_strv_free(&rc->owned);
	free(rc->script);
	free(rc->script_body);
	fb_vars_free(&rc->args_env);
}

static const char *own(struct run_ctx *rc, char *s)
{
	fb_strv_push_owned(&rc->owned, s);
	return s;
}

static void add_mount(struct run_ctx *rc, struct build_exec_mount m)
{
	rc->mounts = fb_xrealloc(rc->mounts, (rc->nmounts + 1) * sizeof(*rc->mounts));
	rc->mounts[rc->nmounts++] = m;
}

static int do_run(struct step *st, void *ctx, struct fb_err *err)
{
	struct run_ctx *rc = ctx;
	struct state *s = st->s;
	struct fb_strv env = FB_STRV_INIT;
	for (size_t i = 0; i < s->config.env.v.n; i++)
		fb_strv_push(&env, s->config.env.v.v[i]);
	/* ARG values the command sees; ENV wins over them */
	for (size_t i = 0; i < rc->args_env.keys.n; i++)
		if (!fb_oci_env_get(&s->config, rc->args_env.keys.v[i]))
			fb_strv_push_owned(&env, fb_xasprintf("%s=%s", rc->args_env.keys.v[i], rc->args_env.vals.v[i]));
	const char *user = s->config.user && *s->config.user ? s->config.user : NULL;
	struct build_exec e = { .root = s->tree, .argv = &rc->argv, .env = &env, .workdir = build_workdir(s), .user = user,
				.network = rc->network, .hostname = "buildkitsandbox", .mounts = rc->mounts,
				.nmounts = rc->nmounts };
	char *spec = build_exec_spec(&e);
	fb_strv_free(&env);
	char *argv[] = { (char *)st->b->o->exec_tool, NULL };
	struct fb_buf out = FB_BUF_INIT;
	int code = 0;
	int r = fb_proc_run(argv, spec, strlen(spec), &out, NULL, &code, err);
	free(spec);
	fb_buf_free(&out);
	if (rc->script) {
		char *p = fb_xasprintf("%s/%s", s->tree, rc->script);
		unlink(p);
		free(p);
	}
	if (r < 0)
		return -1;
	if (code != 0)
		return fb_err_set(err, FB_EXIT_FAILED, "run_failed", "%s: exit code %d%s", st->ins->original ? st->ins->original : "RUN",
				  code, code == 125 ? " (the sandbox failed: see above)" : code == 127 ? " (command not found)" : "");
	return 0;
}

/* A host path inside root (resolved there), for a bind mount source. */
static int resolve_in(const char *root, const char *rel, char **out, struct fb_err *err)
{
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = rfd >= 0 ? fb_tree_open(rfd, rel, O_PATH, 0) : -1;
	if (rfd >= 0)
		close(rfd);
	if (fd < 0)
		return fb_err_errno(err, errno, "mount source %s", rel);
	char link[64], buf[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return fb_err_errno(err, errno, "mount source %s", rel);
	buf[n] = '\0';
	*out = fb_xstrdup(buf);
	return 0;
}

static char *abs_target(const struct state *s, const char *t)
{
	if (t[0] == '/')
		return fb_xstrdup(t);
	const char *wd = build_workdir(s);
	return fb_xasprintf("%s/%s", strcmp(wd, "/") ? wd : "", t);
}

static int cache_mount(struct step *st, struct run_ctx *rc, const struct fb_plan_mount *m, const char *tgt,
		       bool materialize, struct fb_err *err)
{
	char d[72];
	const char *ident = m->id ? m->id : tgt ? tgt : "";
	fb_sha256_mem(ident, strlen(ident), d);
	char *dir = fb_store_cache_mount_dir(st->b->o->store, d);
	int ret = 0;
	if (materialize && fb_mkdir_p(dir, 0755, err) < 0)
		ret = -1;
	if (materialize && ret == 0 && (m->uid >= 0 || m->gid >= 0) && chown(dir, (uid_t)m->uid, (gid_t)m->gid) < 0)
		ret = fb_err_errno(err, errno, "cache mount %s", dir);
	add_mount(rc, (struct build_exec_mount){ "bind", own(rc, dir), own(rc, fb_xstrdup(tgt ? tgt : "/")), m->readonly, -1 });
	return ret;
}

static int secret_mount(struct step *st, struct run_ctx *rc, const struct fb_plan_mount *m, const char *tgt,
			struct fb_err *err)
{
	const char *sid = m->id ? m->id : tgt ? strrchr(tgt, '/') + 1 : "";
	const char *file = fb_vars_get(&st->b->o->secrets, sid);
	if (!file && m->required == 1)
		return fb_err_set(err, FB_EXIT_USAGE, "secret", "RUN --mount=type=secret,id=%s: no such secret (--secret id=%s,src=FILE)",
				  sid, sid);
	if (file && m->env) {
		/* secrets given as env= reach the command only */
		struct fb_buf v = FB_BUF_INIT;
		int r = fb_read_file(file, &v, err);
		if (r == 0)
			fb_vars_set(&rc->args_env, m->env, fb_buf_str(&v));
		fb_buf_free(&v);
		return r;
	}
	if (file)
		add_mount(rc, (struct build_exec_mount){ "bind", file,
							 own(rc, tgt ? fb_xstrdup(tgt) : fb_xasprintf("/run/secrets/%s", sid)), true, -1 });
	return 0;
}

static int bind_mount(struct step *st, struct run_ctx *rc, const struct fb_plan_mount *m, const char *tgt,
		      struct fb_buf *extra, bool materialize, struct fb_err *err)
{
	struct builder *b = st->b;
	const char *rel = m->source ? m->source : "/";
	char *host = NULL;
	int ret = 0;
	if (m->from.set) {
		struct state *src = NULL;
		if (build_source_state(b, &m->from, &src, err) < 0)
			return -1;
		fb_buf_addf(extra, "bind %s %s\n", src->key, rel);
		if (materialize && (build_ensure_tree(b, src, err) < 0 || resolve_in(src->tree, rel, &host, err) < 0))
			ret = -1;
	} else if (!b->o->context) {
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "RUN --mount=type=bind: no local build context to bind from");
	} else {
		/* the context's bytes are part of the key */
		struct fb_copy_opts co = { .src_root = b->o->context, .ignore = b->o->ignore, .nignore = b->o->nignore,
					   .what = "RUN --mount", .hashes = b->hashes };
		struct fb_sha256 h;
		fb_sha256_init(&h);
		char *srcs[] = { (char *)rel };
		if (fb_copy_hash(&co, srcs, 1, &h, err) < 0) {
			fb_sha256_free(&h);
			return -1;
		}
		char d[72];
		fb_sha256_final(&h, d);
		fb_buf_addf(extra, "bind context %s %s\n", rel, d);
		if (materialize && resolve_in(b->o->context, rel, &host, err) < 0)
			ret = -1;
	}
	if (ret == 0 && materialize)
		add_mount(rc, (struct build_exec_mount){ "bind", own(rc, host), own(rc, fb_xstrdup(tgt ? tgt : "/")), m->readonly, -1 });
	else
		free(host);
	return ret;
}

/* RUN --mount: what fb-exec mounts, and what goes into the key. */
static int run_mounts(struct step *st, struct run_ctx *rc, struct fb_buf *extra, bool materialize, struct fb_err *err)
{
	for (size_t i = 0; i < st->ins->nmounts; i++) {
		const struct fb_plan_mount *m = &st->ins->mounts[i];
		FB_AUTOFREE char *tgt = m->target ? abs_target(st->s, m->target) : NULL;
		int r = 0;
		if (!m->type)
			continue;
		if (!strcmp(m->type, "tmpfs"))
			add_mount(rc, (struct build_exec_mount){ "tmpfs", NULL, own(rc, fb_xstrdup(tgt ? tgt : "/tmp")), false,
								 m->size_bytes > 0 ? m->size_bytes : -1 });
		else if (!strcmp(m->type, "cache"))
			r = cache_mount(st, rc, m, tgt, materialize, err);
		else if (!strcmp(m->type, "secret"))
			r = secret_mount(st, rc, m, tgt, err);
		else if (!strcmp(m->type, "bind"))
			r = bind_mount(st, rc, m, tgt, extra, materialize, err);
		else
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "RUN --mount=type=%s is not supported here", m->type);
		if (r < 0)
			return -1;
	}
	return 0;
}

static bool lone_heredoc(const char *cmdline, size_t nheredocs)
{
	if (nheredocs != 1)
		return false;
	while (*cmdline == ' ' || *cmdline == '\t')
		cmdline++;
	if (strncmp(cmdline, "<<", 2))
		return false;
	for (const char *p = cmdline + 2; *p; p++)
		if (*p == ' ' || *p == '\t')
			for (const char *q = p; *q; q++)
				if (*q != ' ' && *q != '\t' && *q != '\n')
					return false;
	return true;
}

/* The argv: exec form as given; shell form through the config's Shell,
 * heredocs appended (a lone one is the script; one with #! its own file). */
static void run_argv(struct step *st, struct run_ctx *rc)
{
	const struct fb_plan_ins *in = st->ins;
	if (in->has_form && in->exec_form) {
		for (size_t i = 0; i < in->args.n; i++)
			fb_strv_push(&rc->argv, in->args.v[i]);
		return;
	}
	const char *line = in->args.n ? in->args.v[0] : "";
	struct fb_buf script = FB_BUF_INIT;
	if (lone_heredoc(line, in->nheredocs)) {
		/* RUN <<EOF: the body is the script */
		fb_buf_adds(&script, in->heredocs[0].body ? in->heredocs[0].body : "");
	} else {
		fb_buf_adds(&script, line);
		for (size_t i = 0; i < in->nheredocs; i++)
			fb_buf_addf(&script, "\n%s%s", in->heredocs[i].body ? in->heredocs[i].body : "",
				    in->heredocs[i].name ? in->heredocs[i].name : "");
	}
	if (!strncmp(fb_buf_str(&script), "#!", 2)) {
		/* a script with its own interpreter runs as a file, written
		 * when the step runs */
		rc->script = fb_xasprintf(".fb-heredoc-%d", (int)getpid());
		fb_strv_push_owned(&rc->argv, fb_xasprintf("/%s", rc->script));
		rc->script_body = fb_buf_steal(&script);
	} else {
		const struct fb_oci_strv *sh = &st->s->config.shell;
		if (sh->set && sh->v.n) {
			for (size_t i = 0; i < sh->v.n; i++)
				fb_strv_push(&rc->argv, sh->v.v[i]);
		} else {
			fb_strv_push(&rc->argv, "/bin/sh");
			fb_strv_push(&rc->argv, "-c");
		}
		fb_strv_push(&rc->argv, fb_buf_str(&script));
	}
	fb_buf_free(&script);
}

int build_step_run(struct step *st, struct fb_err *err)
{
	struct state *s = st->s;
	struct run_ctx rc = { .network = st->ins->network && !strcmp(st->ins->network, "none") ? "none" : "host" };
	fb_vars_copy(&rc.args_env, &st->ins->args_env);
	run_argv(st, &rc);
	/* the shell and the config the command sees are part of its key */
	FB_AUTOFREE char *envs = build_strv_json(s->config.env.set ? &s->config.env.v : NULL);
	FB_AUTOFREE char *av = build_strv_json(&rc.argv);
	struct fb_buf extra = FB_BUF_INIT;
	fb_buf_addf(&extra, "user=%s\nworkdir=%s\nenv=%s\nargv=%s", s->config.user ? s->config.user : "", build_workdir(s),
		    envs, av);
	int r = run_mounts(st, &rc, &extra, false, err);
	if (r == 0) {
		/* the key first (no tree needed), the mounts for real on a miss */
		rc.nmounts = 0;
		build_key(s->key, st->ins, fb_buf_str(&extra), st->key);
		struct fb_oci_desc *hit;
		bool cached = build_cache_get(st->b, st->key, &hit, NULL);
		if (hit) {
			fb_oci_desc_free(hit);
			free(hit);
		}
		struct fb_buf ignored = FB_BUF_INIT;
		if (!cached && !st->b->lazy)
			r = run_mounts(st, &rc, &ignored, true, err);
		fb_buf_free(&ignored);
	}
	if (r == 0 && rc.script && !st->b->lazy && build_ensure_tree(st->b, s, err) == 0) {
		char *p = fb_xasprintf("%s/%s", s->tree, rc.script);
		struct fb_err e2 = { 0 };
		if (fb_write_file_atomic(p, rc.script_body, strlen(rc.script_body), 0755, &e2) < 0)
			r = fb_err_set(err, e2.code, e2.kind, "%s", e2.msg);
		free(p);
	}
	if (r == 0)
		r = build_fs_step(st, fb_buf_str(&extra), do_run, &rc, err);
	fb_buf_free(&extra);
	run_ctx_free(&rc);
	return r;
}
