/* The instructions that change the image config (builder.h), WORKDIR,
 * and the second expansion of words the parser could not resolve. */
#include "builder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "err.h"
#include "oci.h"
#include "tree.h"
#include "util.h"

/* Variables for re-expanding what the parser could not: ENV, then ARG. */
static const char *lookup_var(void *ctx, const char *name)
{
	const struct state *s = ctx;
	const char *v = fb_oci_env_get(&s->config, name);
	return v ? v : fb_vars_get(&s->args, name);
}

int build_expand(struct builder *b, const struct state *s, const char *in, char **out, struct fb_err *err)
{
	struct fb_shlex lx = { .escape = b->escape, .lookup = lookup_var, .ctx = (void *)s };
	return fb_shlex_word(&lx, in, out, err);
}

static void set_value(char **dst, const char *v)
{
	free(*dst);
	*dst = fb_xstrdup(v);
}

/* An instruction of an image-based stage named variables the parser did not
 * know: now that the base's ENV is known, expand its words again. */
int build_reexpand(struct builder *b, const struct state *s, struct fb_plan_ins *in, struct fb_err *err)
{
	if (!in->has_raw_args)
		return 0;
	struct fb_strv words = FB_STRV_INIT;
	for (size_t i = 0; i < in->raw_args.n; i++) {
		char *x = NULL;
		if (build_expand(b, s, in->raw_args.v[i], &x, err) < 0) {
			fb_strv_free(&words);
			return -1;
		}
		fb_strv_push_owned(&words, x);
	}
	switch (in->cmd) {
	case FB_CMD_ENV:
	case FB_CMD_LABEL:
		for (size_t i = 0; i < in->npairs; i++) {
			free(in->pairs[i].key);
			free(in->pairs[i].value);
		}
		in->npairs = 0;
		in->pairs = fb_xrealloc(in->pairs, (words.n / 3 + 2) * sizeof(*in->pairs));
		for (size_t i = 0; i + 1 < words.n; i += 3)
			in->pairs[in->npairs++] = (struct fb_plan_pair){ fb_xstrdup(words.v[i]), fb_xstrdup(words.v[i + 1]) };
		break;
	case FB_CMD_WORKDIR:
	case FB_CMD_USER:
	case FB_CMD_STOPSIGNAL:
		if (words.n)
			set_value(&in->value, words.v[0]);
		break;
	case FB_CMD_VOLUME:
		fb_strv_free(&in->paths);
		for (size_t i = 0; i < words.n; i++)
			fb_strv_push(&in->paths, words.v[i]);
		break;
	case FB_CMD_COPY:
	case FB_CMD_ADD:
		if (words.n < 2)
			break;
		for (size_t i = 0, k = 0; i < in->nsources; i++)
			if (in->sources[i].path && k + 1 < words.n)
				set_value(&in->sources[i].path, words.v[k++]);
		set_value(&in->dest, words.v[words.n - 1]);
		char **flags[] = { &in->chown, &in->chmod };
		for (size_t f = 0; f < 2; f++) {
			char *x = NULL;
			if (*flags[f] && strchr(*flags[f], '$') && build_expand(b, s, *flags[f], &x, err) == 0) {
				free(*flags[f]);
				*flags[f] = x;
			}
		}
		break;
	default:
		break;
	}
	fb_strv_free(&words);
	in->has_raw_args = false;
	fb_strv_free(&in->raw_args);
	fb_strv_free(&in->unresolved);
	return 0;
}

/* ---- WORKDIR ---- */

/* WORKDIR makes what is missing of its path as the current USER (BuildKit's
 * mkdir WithUser: a name from the tree's /etc/passwd, a number being both
 * uid and gid). */
static int do_workdir(struct step *st, void *ctx, struct fb_err *err)
{
	(void)ctx;
	const char *wd = build_workdir(st->s);
	const char *user = st->s->config.user;
	uid_t uid = 0;
	gid_t gid = 0;
	if (user && *user)
		fb_resolve_owner_lenient(st->s->tree, user, &uid, &gid);
	int rfd = open(st->s->tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = rfd >= 0 ? fb_tree_mkdirs(rfd, wd, 0755, uid, gid, NULL, err) : fb_err_errno(err, errno, "%s", st->s->tree);
	if (fd >= 0)
		close(fd);
	if (rfd >= 0)
		close(rfd);
	return fd < 0 ? -1 : 0;
}

int build_step_workdir(struct step *st, struct fb_err *err)
{
	struct fb_oci_config *c = &st->s->config;
	const char *path = st->ins->value ? st->ins->value : "";
	const char *wd = build_workdir(st->s);
	char *full = path[0] == '/' ? fb_xstrdup(path) : fb_xasprintf("%s/%s", strcmp(wd, "/") ? wd : "", path);
	free(c->working_dir);
	c->working_dir = full;
	c->has_config = true;
	return build_fs_step(st, NULL, do_workdir, NULL, err);
}

/* ---- the metadata instructions ---- */

/* CMD and ENTRYPOINT: the shell form runs through the config's Shell. */
static void shell_form(const struct state *s, const struct fb_plan_ins *in, struct fb_oci_strv *out)
{
	fb_oci_strv_clear(out);
	out->set = true;
	if (in->has_form && !in->exec_form) {
		const struct fb_oci_strv *sh = &s->config.shell;
		if (sh->set && sh->v.n) {
			for (size_t i = 0; i < sh->v.n; i++)
				fb_strv_push(&out->v, sh->v.v[i]);
		} else {
			fb_strv_push(&out->v, "/bin/sh");
			fb_strv_push(&out->v, "-c");
		}
	}
	for (size_t i = 0; i < in->args.n; i++)
		fb_strv_push(&out->v, in->args.v[i]);
}

static void set_opt(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? fb_xstrdup(v) : NULL;
}

int build_step_meta(struct step *st, struct fb_err *err)
{
	(void)err;
	struct state *s = st->s;
	struct fb_oci_config *c = &s->config;
	const struct fb_plan_ins *in = st->ins;
	if (in->cmd != FB_CMD_ARG && in->cmd != FB_CMD_MAINTAINER)
		c->has_config = true;
	switch (in->cmd) {
	case FB_CMD_ENV:
		for (size_t i = 0; i < in->npairs; i++)
			fb_oci_env_set(c, in->pairs[i].key, in->pairs[i].value);
		break;
	case FB_CMD_LABEL:
		c->labels.set = true;
		for (size_t i = 0; i < in->npairs; i++)
			fb_oci_map_set(&c->labels, in->pairs[i].key, in->pairs[i].value);
		break;
	case FB_CMD_ARG:
		for (size_t i = 0; i < in->nargs; i++)
			if (in->arg_list[i].value)
				fb_vars_set(&s->args, in->arg_list[i].name, in->arg_list[i].value);
		break;
	case FB_CMD_EXPOSE:
		c->exposed_ports.set = true;
		for (size_t i = 0; i < in->ports.n; i++)
			fb_oci_map_set(&c->exposed_ports, in->ports.v[i], NULL);
		break;
	case FB_CMD_VOLUME:
		c->volumes.set = true;
		for (size_t i = 0; i < in->paths.n; i++)
			fb_oci_map_set(&c->volumes, in->paths.v[i], NULL);
		break;
	case FB_CMD_USER:
		set_opt(&c->user, in->value);
		break;
	case FB_CMD_CMD:
		shell_form(s, in, &c->cmd);
		break;
	case FB_CMD_ENTRYPOINT:
		shell_form(s, in, &c->entrypoint);
		break;
	case FB_CMD_SHELL:
		fb_oci_strv_set(&c->shell, in->args.v, in->args.n);
		break;
	case FB_CMD_STOPSIGNAL:
		set_opt(&c->stop_signal, in->value);
		break;
	case FB_CMD_HEALTHCHECK: {
		struct fb_oci_health *h = &c->health;
		fb_oci_strv_clear(&h->test);
		h->set = true;
		h->interval = h->timeout = h->start_period = h->start_interval = h->retries = -1;
		if (in->health) {
			if (in->health->has_test)
				fb_oci_strv_set(&h->test, in->health->test.v, in->health->test.n);
			h->interval = in->health->interval;
			h->timeout = in->health->timeout;
			h->start_period = in->health->start_period;
			h->start_interval = in->health->start_interval;
			h->retries = in->health->retries;
		}
		break;
	}
	case FB_CMD_ONBUILD:
		c->onbuild.set = true;
		fb_strv_push(&c->onbuild.v, in->trigger ? in->trigger : "");
		break;
	case FB_CMD_MAINTAINER:
		set_opt(&c->author, in->value);
		break;
	default:
		break;
	}
	build_key(s->key, in, NULL, st->key);
	memcpy(s->key, st->key, sizeof(st->key));
	if (in->cmd != FB_CMD_ARG)
		build_add_history(st->b, s, in, true, NULL);
	build_record(st, "metadata", 0, NULL);
	return 0;
}
