/* A stage (builder.h): its base (scratch, an earlier stage, a tag in the
 * local store, an image), the base image's ONBUILD triggers, and each
 * instruction as a step. */
#include "builder.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "dockerfile.h"
#include "err.h"
#include "image.h"
#include "log.h"
#include "oci.h"
#include "plan.h"
#include "store.h"
#include "trace.h"
#include "util.h"

/* ---- bases ---- */

static void scratch_config(struct fb_oci_config *c, const char *platform)
{
	char *os = fb_xstrdup(platform ? platform : fb_host_platform());
	char *arch = strchr(os, '/'), *variant = NULL;
	if (arch) {
		*arch++ = '\0';
		variant = strchr(arch, '/');
		if (variant)
			*variant++ = '\0';
	}
	fb_oci_config_init(c);
	c->architecture = fb_xstrdup(arch ? arch : "amd64");
	c->os = fb_xstrdup(os);
	c->variant = variant ? fb_xstrdup(variant) : NULL;
	c->has_config = true;
	c->env.set = true;
	fb_strv_push(&c->env.v, DEFAULT_PATH);
	c->has_rootfs = true;
	c->rootfs_type = fb_xstrdup("layers");
	c->diff_ids.set = true;
	free(os);
}

/* A tag in the local store (NAME[:VERSION]) with its manifest: 1 found. */
static int local_tag(struct builder *b, const char *ref, struct fb_image *img, struct fb_err *err)
{
	char *name, *version;
	if (fb_store_tag_split(ref, &name, &version) < 0)
		return 0;
	char *p = fb_store_tag_file(b->o->store->root, name, version, FB_TAG_META);
	free(name);
	free(version);
	struct fb_tag_meta meta;
	struct fb_err e = { 0 };
	int found = 0;
	if (access(p, F_OK) == 0 && fb_tag_meta_load(p, &meta, &e) == 0) {
		struct fb_oci_manifest m;
		struct fb_oci_config cfg;
		if (!meta.digest || !fb_store_has_blob(b->o->store, meta.digest)) {
			found = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found",
					   "%s: the tag in the local store has no image manifest to build on (it was made from an ext4 only)", ref);
		} else if (fb_store_read_image(b->o->store, meta.digest, &m, &cfg, err) < 0) {
			found = -1;
		} else {
			memset(img, 0, sizeof(*img));
			img->digest = fb_xstrdup(meta.digest);
			img->config = fb_xmalloc(sizeof(*img->config));
			*img->config = cfg;
			for (size_t i = 0; i < m.nlayers; i++)
				fb_image_add_layer(img, &m.layers[i]);
			fb_oci_manifest_free(&m);
			found = 1;
		}
		fb_tag_meta_free(&meta);
	}
	free(p);
	return found;
}

/* An image by reference: the local store first, then fb-fetch's sources. */
static int image_state(struct builder *b, const char *ref, const char *platform, struct state *s, struct fb_err *err)
{
	struct fb_image img = { 0 };
	int r = local_tag(b, ref, &img, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		struct fb_image_opts io = *b->o->img;
		if (platform)
			io.platform = platform;
		if (fb_image_fetch(&io, ref, b->o->store, &img, err) < 0) {
			fb_err_prefix(err, "FROM %s", ref);
			return -1;
		}
	}
	s->label = fb_xstrdup(ref);
	if (!img.config || !img.digest) {
		fb_image_free(&img);
		return fb_err_set(err, FB_EXIT_FAILED, "invalid", "%s: the image has no config or layers", ref);
	}
	fb_oci_config_free(&s->config);
	s->config = *img.config;
	free(img.config);
	img.config = NULL;
	for (size_t i = 0; i < img.nlayers; i++)
		state_add_layer(s, &img.layers[i]);
	fb_sha256_mem(img.digest, strlen(img.digest), s->key);
	fb_image_free(&img);
	return 0;
}

static int image_from(struct builder *b, const char *ref, struct state **out, struct fb_err *err)
{
	for (size_t i = 0; i < b->nimages; i++)
		if (!strcmp(b->images[i].label, ref)) {
			*out = &b->images[i];
			return 0;
		}
	b->images = fb_xrealloc(b->images, (b->nimages + 1) * sizeof(*b->images));
	struct state *s = &b->images[b->nimages];
	state_init(s);
	if (image_state(b, ref, NULL, s, err) < 0) {
		state_free(s);
		return -1;
	}
	b->nimages++;
	*out = s;
	return 0;
}

int build_source_state(struct builder *b, const struct fb_plan_from *from, struct state **out, struct fb_err *err)
{
	if (from->stage >= 0) {
		size_t i = (size_t)from->stage;
		if (i >= b->nstages || !b->stages[i].done)
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "--from: stage %zu is not built before this one", i);
		*out = &b->stages[i];
		return 0;
	}
	if (from->image)
		return image_from(b, from->image, out, err);
	return fb_err_set(err, FB_EXIT_USAGE, "invalid", "--from: neither a stage nor an image");
}

/* ---- steps ---- */

static int step(struct builder *b, struct state *s, size_t stage, const struct fb_plan_ins *ins, bool *cmd_set,
		struct fb_err *err)
{
	struct fb_plan_ins copy;
	fb_plan_ins_copy(&copy, ins);
	struct step st = { .b = b, .s = s, .stage = stage, .ins = &copy, .cmd = fb_plan_cmd_name(ins->cmd), .line = ins->line };
	char *sname = fb_xasprintf("step %zu %s:%d %s", stage, b->file, st.line, st.cmd);
	st.span = fb_span_begin(sname);
	free(sname);
	if (ins->original)
		fb_span_set(st.span, "instruction", ins->original);
	int r = build_reexpand(b, s, &copy, err);
	if (r == 0) {
		switch (ins->cmd) {
		case FB_CMD_RUN:
			r = build_step_run(&st, err);
			break;
		case FB_CMD_COPY:
		case FB_CMD_ADD:
			r = build_step_copy(&st, ins->cmd == FB_CMD_ADD, err);
			break;
		case FB_CMD_WORKDIR:
			r = build_step_workdir(&st, err);
			break;
		default:
			if (ins->cmd == FB_CMD_CMD)
				*cmd_set = true;
			if (ins->cmd == FB_CMD_ENTRYPOINT && !*cmd_set)
				fb_oci_strv_clear(&s->config.cmd);
			r = build_step_meta(&st, err);
		}
	}
	if (r < 0 && !err->line) {
		snprintf(err->file, sizeof(err->file), "%s", b->file);
		err->line = st.line;
	}
	if (r < 0)
		fb_span_error(st.span, err->msg);
	fb_span_end(st.span);
	fb_plan_ins_free(&copy);
	return r;
}

/* ONBUILD triggers of a base image, parsed and run first. */
static int triggers(struct builder *b, struct state *s, size_t stage, struct fb_err *err)
{
	struct fb_oci_strv *ob = &s->config.onbuild;
	if (!ob->set || (!ob->v.n && s->config.onbuild_bad < 0))
		return 0;
	/* the base image's config is input like any other */
	if (s->config.onbuild_bad >= 0)
		return fb_err_set(err, FB_EXIT_FAILED, "invalid", "the base image's config: .config.OnBuild[%d]: expected a string",
				  s->config.onbuild_bad);
	struct fb_buf text = FB_BUF_INIT;
	fb_buf_adds(&text, "FROM scratch\n");
	for (size_t i = 0; i < ob->v.n; i++)
		fb_buf_addf(&text, "%s\n", ob->v.v[i]);
	fb_oci_strv_clear(ob); /* they run once, in the child */
	struct fb_df df;
	struct fb_plan_opts po = { .file = "ONBUILD" };
	struct fb_plan plan;
	int r = -1;
	if (fb_df_parse(fb_buf_str(&text), text.len, "ONBUILD", &df, err) == 0) {
		if (fb_plan_build(&df, &po, &plan, err) == 0) {
			bool cmd_set = false;
			r = 0;
			const struct fb_plan_stage *st0 = &plan.stages[0];
			for (size_t i = 0; r == 0 && i < st0->nins; i++) {
				fb_log(FB_LOG_INFO, "#%zu ONBUILD %s", stage, st0->ins[i].original ? st0->ins[i].original : "");
				r = step(b, s, stage, &st0->ins[i], &cmd_set, err);
			}
			fb_plan_free(&plan);
		}
		fb_df_free(&df);
	}
	fb_buf_free(&text);
	if (r < 0)
		fb_err_prefix(err, "ONBUILD trigger of the base image");
	return r;
}

int build_stage(struct builder *b, size_t idx, const struct fb_plan_stage *stage, struct fb_err *err)
{
	struct state *s = &b->stages[idx];
	s->index = (int)idx;
	s->label = stage->name ? fb_xasprintf("stage %zu (%s)", idx, stage->name) : fb_xasprintf("stage %zu", idx);
	const char *base = stage->base, *platform = stage->platform;
	int r = 0;
	if (stage->base_type == FB_BASE_UNRESOLVED || (!base && stage->base_type != FB_BASE_SCRATCH)) {
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: FROM has no image (give it with --build-arg)", s->label);
		snprintf(err->file, sizeof(err->file), "%s", b->file);
		err->line = stage->line;
	} else if (stage->base_type == FB_BASE_SCRATCH) {
		fb_oci_config_free(&s->config);
		scratch_config(&s->config, platform);
		fb_sha256_mem(platform ? platform : "", platform ? strlen(platform) : 0, s->key);
	} else if (stage->base_type == FB_BASE_STAGE) {
		/* the plan is checked: an earlier stage; it must have been built */
		struct state *p = &b->stages[stage->base_stage];
		if (!p->done) {
			s->done = false;
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: its base, stage %d, is not built (the plan marks it not needed)",
					  s->label, stage->base_stage);
		}
		/* its layers are this stage's: a pending base is made now, unless
		 * this stage is lazy too */
		if (p->pending && !b->lazy && build_realize(b, p, err) < 0)
			return -1;
		s->pending = p->pending;
		fb_oci_config_free(&s->config);
		fb_oci_config_copy(&s->config, &p->config);
		for (size_t i = 0; i < p->nlayers; i++)
			state_add_layer(s, &p->layers[i]);
		memcpy(s->key, p->key, sizeof(s->key));
		fb_vars_copy(&s->args, &p->args);
		s->created = p->created ? fb_xstrdup(p->created) : NULL;
	} else {
		char *label = s->label;
		s->label = NULL;
		r = image_state(b, base, platform, s, err);
		free(s->label);
		s->label = label;
		if (r == 0 && s->config.created)
			s->created = fb_xstrdup(s->config.created);
		if (r == 0)
			r = triggers(b, s, idx, err);
	}
	/* a layer made with SOURCE_DATE_EPOCH has its times clamped: it is
	 * another layer than one made without (or with another epoch) */
	if (r == 0 && b->epoch >= 0 && stage->base_type != FB_BASE_STAGE) {
		char text[120];
		snprintf(text, sizeof(text), "%s\nSOURCE_DATE_EPOCH=%lld", s->key, (long long)b->epoch);
		fb_sha256_mem(text, strlen(text), s->key);
	}
	fb_log(FB_LOG_INFO, "#%zu FROM %s", idx, base ? base : "scratch");
	bool cmd_set = false;
	for (size_t i = 0; r == 0 && i < stage->nins; i++)
		r = step(b, s, idx, &stage->ins[i], &cmd_set, err);
	s->done = r == 0;
	return r;
}
