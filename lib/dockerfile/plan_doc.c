/* The codec of the build plan (plan.h, docs/plan.md): fb-parse encodes
 * it; fb-fetch image and the builder decode it, checking it as they do
 * (the shapes below), with the member at fault named. */
#include "plan.h"

#include <limits.h>
#include <string.h>

#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "shlex.h"
#include "util.h"

/* ---- encoding ---- */

/* Strings keep a NUL as C0 80 (see dockerfile.c); JSON has \u0000. */
static jv jstr(const char *s)
{
	return fb_jv_str_nul(s);
}

static jv jstrv(const struct fb_strv *v)
{
	jv a = jv_array();
	for (size_t i = 0; i < v->n; i++)
		a = jv_array_append(a, jstr(v->v[i]));
	return a;
}

static jv jvars(const struct fb_vars *v)
{
	jv o = jv_object();
	for (size_t i = 0; i < v->keys.n; i++)
		o = jv_object_set(o, jv_string(v->keys.v[i]), jstr(v->vals.v[i]));
	return o;
}

static jv set(jv obj, const char *k, jv v)
{
	return jv_object_set(obj, jv_string(k), v);
}

static jv set_str(jv obj, const char *k, const char *s)
{
	return s ? set(obj, k, jstr(s)) : obj;
}

static jv set_bool(jv obj, const char *k, int b)
{
	return b >= 0 ? set(obj, k, jv_bool(b)) : obj;
}

static jv from_jv(const struct fb_plan_from *f)
{
	if (f->stage < 0)
		return set(jv_object(), "image", jstr(f->image));
	jv o = set(jv_object(), "stage", jv_number(f->stage));
	return set_str(o, "name", f->name);
}

static jv arg_jv(const struct fb_plan_arg *a)
{
	jv o = set(jv_object(), "name", jstr(a->name));
	o = set_str(o, "default", a->def);
	o = set_str(o, "value", a->value);
	return set(o, "line", jv_number(a->line));
}

static jv mount_jv(const struct fb_plan_mount *m)
{
	jv o = jv_object();
	o = set_str(o, "source", m->source);
	o = set_str(o, "id", m->id);
	o = set_str(o, "sharing", m->sharing);
	o = set_str(o, "mode", m->mode);
	if (m->uid >= 0)
		o = set(o, "uid", jv_number((double)m->uid));
	if (m->gid >= 0)
		o = set(o, "gid", jv_number((double)m->gid));
	if (m->size)
		o = set_str(o, "size", m->size);
	else if (m->size_bytes >= 0)
		o = set(o, "size", jv_number((double)m->size_bytes));
	o = set_str(o, "env", m->env);
	o = set_bool(o, "required", m->required);
	o = set_str(o, "type", m->type);
	o = set_str(o, "target", m->target);
	o = set(o, "readonly", jv_bool(m->readonly));
	if (m->from.set)
		o = set(o, "from", from_jv(&m->from));
	return o;
}

static jv ins_jv(const struct fb_plan_ins *in, bool keyed)
{
	jv o = set(jv_object(), "cmd", jv_string(fb_plan_cmd_name(in->cmd)));
	if (!keyed) {
		o = set(o, "line", jv_number(in->line));
		o = set(o, "end_line", jv_number(in->end_line));
		o = set_str(o, "original", in->original);
	}
	if (in->flags.n)
		o = set(o, "flags", jstrv(&in->flags));
	if (in->has_form)
		o = set(o, "form", jv_string(in->exec_form ? "exec" : "shell"));
	if (in->has_args)
		o = set(o, "args", jstrv(&in->args));
	if (in->nheredocs) {
		jv h = jv_array();
		for (size_t i = 0; i < in->nheredocs; i++) {
			const struct fb_plan_heredoc *d = &in->heredocs[i];
			jv x = set(jv_object(), "name", jstr(d->name));
			if (d->fd)
				x = set(x, "fd", jv_number(d->fd));
			x = set(x, "expand", jv_bool(d->expand));
			x = set(x, "chomp", jv_bool(d->chomp));
			h = jv_array_append(h, set(x, "body", jstr(d->body)));
		}
		o = set(o, "heredocs", h);
	}
	if (in->has_mounts) {
		jv ms = jv_array();
		for (size_t i = 0; i < in->nmounts; i++)
			ms = jv_array_append(ms, mount_jv(&in->mounts[i]));
		o = set(o, "mounts", ms);
	}
	o = set_str(o, "network", in->network);
	o = set_str(o, "security", in->security);
	if (in->has_args_env)
		o = set(o, "args_env", jvars(&in->args_env));
	if (in->cmd == FB_CMD_COPY || in->cmd == FB_CMD_ADD) {
		jv ss = jv_array();
		for (size_t i = 0; i < in->nsources; i++) {
			const struct fb_plan_source *s = &in->sources[i];
			jv x;
			if (s->heredoc) {
				x = set(jv_object(), "heredoc", jstr(s->heredoc));
				x = set(x, "expand", jv_bool(s->expand));
				x = set(x, "body", jstr(s->body));
			} else {
				x = set(jv_object(), "path", jstr(s->path));
			}
			ss = jv_array_append(ss, x);
		}
		o = set(o, "sources", ss);
		o = set_str(o, "dest", in->dest);
	}
	o = set_str(o, "chown", in->chown);
	o = set_str(o, "chmod", in->chmod);
	o = set_str(o, "checksum", in->checksum);
	if (in->from.set)
		o = set(o, "from", from_jv(&in->from));
	o = set_bool(o, "link", in->link);
	o = set_bool(o, "parents", in->parents);
	o = set_bool(o, "keep_git_dir", in->keep_git_dir);
	o = set_bool(o, "unpack", in->unpack);
	if (in->has_exclude)
		o = set(o, "exclude", jstrv(&in->exclude));
	if (in->health) {
		const struct fb_plan_health *h = in->health;
		jv x = jv_object();
		if (h->has_test)
			x = set(x, "test", jstrv(&h->test));
		static const char *const keys[] = { "interval", "timeout", "start_period", "start_interval", "retries" };
		const int64_t vals[] = { h->interval, h->timeout, h->start_period, h->start_interval, h->retries };
		for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++)
			if (vals[i] >= 0)
				x = set(x, keys[i], jv_number((double)vals[i]));
		o = set(o, "healthcheck", x);
	}
	switch (in->cmd) {
	case FB_CMD_ENV:
	case FB_CMD_LABEL: {
		jv ps = jv_array();
		for (size_t i = 0; i < in->npairs; i++)
			ps = jv_array_append(ps, set(set(jv_object(), "key", jstr(in->pairs[i].key)), "value", jstr(in->pairs[i].value)));
		o = set(o, "pairs", ps);
		break;
	}
	case FB_CMD_ARG: {
		jv as = jv_array();
		for (size_t i = 0; i < in->nargs; i++)
			as = jv_array_append(as, arg_jv(&in->arg_list[i]));
		o = set(o, "args", as);
		break;
	}
	case FB_CMD_EXPOSE:
		o = set(o, "ports", jstrv(&in->ports));
		break;
	case FB_CMD_VOLUME:
		o = set(o, "paths", jstrv(&in->paths));
		break;
	case FB_CMD_USER:
		o = set_str(o, "user", in->value);
		break;
	case FB_CMD_WORKDIR:
		o = set_str(o, "path", in->value);
		break;
	case FB_CMD_STOPSIGNAL:
		o = set_str(o, "signal", in->value);
		break;
	case FB_CMD_MAINTAINER:
		o = set_str(o, "maintainer", in->value);
		break;
	default:
		break;
	}
	o = set_str(o, "trigger", in->trigger);
	o = set_str(o, "trigger_cmd", in->trigger_cmd);
	if (in->has_raw_args && !keyed) {
		o = set(o, "unresolved", jstrv(&in->unresolved));
		o = set(o, "raw_args", jstrv(&in->raw_args));
	}
	return o;
}

static const char *const base_types[] = { "scratch", "stage", "image", "unresolved", NULL };

static jv stage_jv(const struct fb_plan_stage *st)
{
	jv o = set(jv_object(), "index", jv_number(st->index));
	o = set(o, "name", jstr(st->name));
	o = set(o, "base", jstr(st->base));
	o = set_str(o, "base_raw", st->base_raw);
	o = set(o, "base_type", jv_string(base_types[st->base_type]));
	if (st->base_type == FB_BASE_STAGE)
		o = set(o, "base_stage", jv_number(st->base_stage));
	o = set_str(o, "platform", st->platform);
	o = set(o, "line", jv_number(st->line));
	o = set_str(o, "original", st->original);
	jv ins = jv_array();
	for (size_t i = 0; i < st->nins; i++)
		ins = jv_array_append(ins, ins_jv(&st->ins[i], false));
	o = set(o, "instructions", ins);
	o = set(o, "needed", jv_bool(st->needed));
	jv deps = jv_array();
	for (size_t i = 0; i < st->ndepends; i++)
		deps = jv_array_append(deps, jv_number(st->depends_on[i]));
	o = set(o, "depends_on", deps);
	o = set(o, "env", jvars(&st->env));
	return set(o, "env_complete", jv_bool(st->env_complete));
}

void fb_plan_doc_set(struct fb_doc *d, const struct fb_plan *p)
{
	jv o = set(jv_object(), "version", jv_number(p->version));
	o = set_str(o, "file", p->file);
	char esc[2] = { p->escape ? p->escape : '\\', 0 };
	o = set(o, "escape", jv_string(esc));
	jv dir = jv_object();
	for (size_t i = 0; i < p->directives.keys.n; i++)
		dir = set(dir, p->directives.keys.v[i], jv_string(p->directives.vals.v[i]));
	o = set(o, "directives", dir);
	o = set_str(o, "platform", p->platform);
	o = set_str(o, "build_platform", p->build_platform);
	jv args = jv_array();
	for (size_t i = 0; i < p->nargs; i++)
		args = jv_array_append(args, arg_jv(&p->args[i]));
	o = set(o, "args", args);
	o = set(o, "build_args", jvars(&p->build_args));
	o = set(o, "unused_build_args", fb_jv_strv(p->unused_build_args.v, p->unused_build_args.n));
	if (p->has_target) {
		jv t = set(jv_object(), "index", jv_number(p->target));
		o = set(o, "target", set(t, "name", jstr(p->target_name)));
	}
	jv stages = jv_array();
	for (size_t i = 0; i < p->nstages; i++)
		stages = jv_array_append(stages, stage_jv(&p->stages[i]));
	o = set(o, "stages", stages);
	jv ws = jv_array();
	for (size_t i = 0; i < p->nwarnings; i++) {
		const struct fb_plan_warning *w = &p->warnings[i];
		jv x = set(set(jv_object(), "rule", jv_string(w->rule)), "message", jv_string(w->message));
		ws = jv_array_append(ws, set(x, "line", jv_number(w->line)));
	}
	o = set(o, "warnings", ws);
	fb_doc_set(d, "plan", o);
}

char *fb_plan_ins_key_text(const struct fb_plan_ins *in)
{
	jv s = jv_dump_string(ins_jv(in, true), JV_PRINT_SORTED);
	char *r = fb_xstrndup(jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
	return r;
}

/* ---- the shape a plan must have where it is read ---- */

#define OPT(k, s) { .key = (k), .shape = (s) }
#define REQ(k, s) { .key = (k), .shape = (s), .required = true }
#define END { .key = NULL }

static const struct fb_jshape any = { .kinds = FB_J_ANY };
static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape int_opt = { .kinds = FB_J_INT | FB_J_NULL };
static const struct fb_jshape num_opt = { .kinds = FB_J_NUMBER | FB_J_NULL };
/* a line number, a stage index, a count: what an int holds */
static const struct fb_jshape small_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = INT_MAX };
/* a uid or gid */
static const struct fb_jshape id_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 4294967294.0 };
static const struct fb_jshape strv = { .kinds = FB_J_ARRAY, .items = &str };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
/* an object of strings (ARG values) */
static const struct fb_jshape strmap_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .items = &str_opt };

static int from_check(jv v, const char *path, struct fb_err *err)
{
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return 0;
	jv s = fb_json_member(v, "stage"), i = fb_json_member(v, "image");
	bool ok = jv_get_kind(s) == JV_KIND_NUMBER || jv_get_kind(i) == JV_KIND_STRING;
	jv_free(s);
	jv_free(i);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected .stage (a number) or .image (a string)", path);
	return 0;
}

static const struct fb_jfield from_fields[] = {
	OPT("stage", &small_opt),
	OPT("image", &str_opt),
	OPT("name", &any),
	END,
};
static const struct fb_jshape from_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = from_fields, .check = from_check };

static const char *const mount_types[] = { "bind", "cache", "tmpfs", "secret", "ssh", NULL };
static const struct fb_jshape mount_type = { .kinds = FB_J_STRING, .oneof = mount_types };
/* fb-parse writes tmpfs size as written ("10m"); a number is bytes */
static const struct fb_jshape size_opt = { .kinds = FB_J_INT | FB_J_STRING | FB_J_NULL };
static const struct fb_jfield mount_fields[] = {
	REQ("type", &mount_type),
	OPT("target", &str_opt),
	OPT("source", &str_opt),
	OPT("id", &str_opt),
	OPT("env", &str_opt),
	OPT("readonly", &bool_opt),
	OPT("required", &bool_opt),
	OPT("size", &size_opt),
	OPT("uid", &id_opt),
	OPT("gid", &id_opt),
	OPT("from", &from_opt),
	END,
};
static const struct fb_jshape mount = { .kinds = FB_J_OBJECT, .fields = mount_fields };
static const struct fb_jshape mounts_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &mount };

static const struct fb_jfield heredoc_fields[] = {
	REQ("name", &str),
	REQ("body", &str),
	END,
};
static const struct fb_jshape heredoc = { .kinds = FB_J_OBJECT, .fields = heredoc_fields };
static const struct fb_jshape heredocs_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &heredoc };

static const char *const forms[] = { "shell", "exec", NULL };
static const struct fb_jshape form_opt = { .kinds = FB_J_STRING | FB_J_NULL, .oneof = forms };

static const struct fb_jfield run_fields[] = {
	OPT("form", &form_opt),
	REQ("args", &strv),
	OPT("heredocs", &heredocs_opt),
	OPT("mounts", &mounts_opt),
	OPT("network", &str_opt),
	OPT("args_env", &strmap_opt),
	END,
};

/* a COPY/ADD source: {path} or {heredoc, body} */
static int source_check(jv v, const char *path, struct fb_err *err)
{
	jv p = fb_json_member(v, "path"), h = fb_json_member(v, "heredoc"), b = fb_json_member(v, "body");
	bool ok = jv_get_kind(p) == JV_KIND_STRING || (jv_get_kind(h) == JV_KIND_STRING && jv_get_kind(b) == JV_KIND_STRING);
	jv_free(p);
	jv_free(h);
	jv_free(b);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected .path, or .heredoc and .body (strings)", path);
	return 0;
}

static const struct fb_jfield source_fields[] = {
	OPT("path", &str_opt),
	OPT("heredoc", &str_opt),
	OPT("body", &str_opt),
	END,
};
static const struct fb_jshape source = { .kinds = FB_J_OBJECT, .fields = source_fields, .check = source_check };
static const struct fb_jshape sources = { .kinds = FB_J_ARRAY, .items = &source };

static const struct fb_jfield copy_fields[] = {
	REQ("sources", &sources),
	REQ("dest", &str),
	OPT("from", &from_opt),
	OPT("chown", &str_opt),
	OPT("chmod", &str_opt),
	OPT("checksum", &str_opt),
	OPT("parents", &bool_opt),
	OPT("keep_git_dir", &bool_opt),
	OPT("exclude", &strv_opt),
	END,
};

static const struct fb_jfield pair_fields[] = {
	REQ("key", &str),
	REQ("value", &str),
	END,
};
static const struct fb_jshape pair = { .kinds = FB_J_OBJECT, .fields = pair_fields };
static const struct fb_jshape pairs = { .kinds = FB_J_ARRAY, .items = &pair };
static const struct fb_jfield pairs_fields[] = {
	REQ("pairs", &pairs),
	END,
};

static const struct fb_jfield arg_fields[] = {
	REQ("name", &str),
	OPT("value", &str_opt),
	END,
};
static const struct fb_jshape arg = { .kinds = FB_J_OBJECT, .fields = arg_fields };
static const struct fb_jshape args = { .kinds = FB_J_ARRAY, .items = &arg };
static const struct fb_jfield arg_ins_fields[] = {
	REQ("args", &args),
	END,
};

static const struct fb_jfield command_fields[] = {
	OPT("form", &form_opt),
	REQ("args", &strv),
	END,
};

static const struct fb_jfield health_fields[] = {
	OPT("test", &strv_opt),
	OPT("interval", &num_opt),
	OPT("timeout", &num_opt),
	OPT("start_period", &num_opt),
	OPT("start_interval", &num_opt),
	OPT("retries", &int_opt),
	END,
};
static const struct fb_jshape health = { .kinds = FB_J_OBJECT, .fields = health_fields };
static const struct fb_jfield health_ins_fields[] = {
	REQ("healthcheck", &health),
	END,
};

#define ONE_STRING(name, key) static const struct fb_jfield name[] = { REQ(key, &str), END }
ONE_STRING(user_fields, "user");
ONE_STRING(workdir_fields, "path");
ONE_STRING(signal_fields, "signal");
ONE_STRING(maintainer_fields, "maintainer");
ONE_STRING(onbuild_fields, "trigger");

static const struct fb_jfield ports_fields[] = {
	REQ("ports", &strv),
	END,
};
static const struct fb_jfield volume_fields[] = {
	REQ("paths", &strv),
	END,
};

/* the members of each instruction's own kind, by enum fb_plan_cmd */
static const struct fb_jfield *const ins_fields[FB_CMD_COUNT] = {
	[FB_CMD_ADD] = copy_fields,	     [FB_CMD_ARG] = arg_ins_fields,	  [FB_CMD_CMD] = command_fields,
	[FB_CMD_COPY] = copy_fields,	     [FB_CMD_ENTRYPOINT] = command_fields, [FB_CMD_ENV] = pairs_fields,
	[FB_CMD_EXPOSE] = ports_fields,	     [FB_CMD_HEALTHCHECK] = health_ins_fields, [FB_CMD_LABEL] = pairs_fields,
	[FB_CMD_MAINTAINER] = maintainer_fields, [FB_CMD_ONBUILD] = onbuild_fields, [FB_CMD_RUN] = run_fields,
	[FB_CMD_SHELL] = command_fields,     [FB_CMD_STOPSIGNAL] = signal_fields, [FB_CMD_USER] = user_fields,
	[FB_CMD_VOLUME] = volume_fields,     [FB_CMD_WORKDIR] = workdir_fields,
};

static const char *const cmds[] = { "ADD",	  "ARG",	 "CMD",	       "COPY",	 "ENTRYPOINT", "ENV",
				    "EXPOSE",	  "HEALTHCHECK", "LABEL",      "MAINTAINER", "ONBUILD", "RUN",
				    "SHELL",	  "STOPSIGNAL",	 "USER",       "VOLUME", "WORKDIR",    NULL };
static const struct fb_jshape cmd_shape = { .kinds = FB_J_STRING, .oneof = cmds };
/* the words the builder expands again once it knows the base's ENV */
static const struct fb_jshape raw_args = { .kinds = FB_J_ARRAY, .items = &str };

static int instruction_check(jv v, const char *path, struct fb_err *err)
{
	jv c = fb_json_member(v, "cmd");
	int cmd = fb_plan_cmd_of(jv_string_value(c));
	jv_free(c);
	struct fb_jshape own = { .kinds = FB_J_OBJECT, .fields = cmd >= 0 ? ins_fields[cmd] : NULL };
	return fb_json_check(v, &own, path, err);
}

static const struct fb_jfield instruction_fields[] = {
	REQ("cmd", &cmd_shape),
	OPT("line", &small_opt),
	OPT("end_line", &small_opt),
	REQ("original", &str),
	OPT("raw_args", &raw_args),
	END,
};
static const struct fb_jshape instruction = { .kinds = FB_J_OBJECT, .fields = instruction_fields, .check = instruction_check };
static const struct fb_jshape instructions_shape = { .kinds = FB_J_ARRAY, .items = &instruction };

static const struct fb_jshape base_type = { .kinds = FB_J_STRING, .oneof = base_types };
static const struct fb_jfield stage_fields[] = {
	OPT("name", &str_opt),
	OPT("base", &str_opt),
	REQ("base_type", &base_type),
	OPT("base_stage", &small_opt),
	OPT("platform", &str_opt),
	OPT("line", &small_opt),
	OPT("needed", &bool_opt),
	REQ("instructions", &instructions_shape),
	END,
};
static const struct fb_jshape stage = { .kinds = FB_J_OBJECT, .fields = stage_fields };
static const struct fb_jshape stages = { .kinds = FB_J_ARRAY, .items = &stage };

static const struct fb_jfield target_fields[] = {
	OPT("index", &small_opt),
	OPT("name", &str_opt),
	END,
};
static const struct fb_jshape target = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = target_fields };

/* What the builder relies on beyond kinds: stages build in order, each
 * from scratch, an image or an earlier stage; the target is one of them. */
static int plan_check(jv plan, const char *path, struct fb_err *err)
{
	jv st = fb_json_member(plan, "stages");
	int n = jv_array_length(jv_copy(st)), ret = 0;
	if (n == 0)
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s.stages: no stages (a plan has one at least)", path);
	for (int i = 0; ret == 0 && i < n; i++) {
		jv s = jv_array_get(jv_copy(st), i);
		jv bt = fb_json_member(s, "base_type"), bs = fb_json_member(s, "base_stage");
		if (!strcmp(jv_string_value(bt), "stage") &&
		    (jv_get_kind(bs) != JV_KIND_NUMBER || jv_number_value(bs) >= (double)i))
			ret = fb_err_set(err, FB_EXIT_USAGE, "invalid",
					 "%s.stages[%d].base_stage: expected the index of an earlier stage (base_type is stage)", path, i);
		jv_free(bt);
		jv_free(bs);
		jv_free(s);
	}
	jv t = fb_json_member(plan, "target");
	int64_t ti;
	if (ret == 0 && fb_jv_get_int(t, "index", &ti) && ti >= n)
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s.target.index: %g is not a stage (the plan has %d)", path,
				 (double)ti, n);
	jv_free(t);
	jv_free(st);
	return ret;
}

static const struct fb_jfield plan_fields[] = {
	OPT("file", &str_opt),
	OPT("escape", &str_opt),
	OPT("target", &target),
	REQ("stages", &stages),
	END,
};
static const struct fb_jshape plan_shape = { .kinds = FB_J_OBJECT, .fields = plan_fields, .check = plan_check };

/* ---- decoding: after the check, members read as they are ---- */

static char *get_str(jv o, const char *key)
{
	jv v = fb_json_member(o, key);
	char *s = fb_jv_dup_nul(v);
	jv_free(v);
	return s;
}

/* an array: its strings */
static bool get_strv(jv o, const char *key, struct fb_strv *out)
{
	jv v = fb_json_member(o, key);
	bool ok = jv_get_kind(v) == JV_KIND_ARRAY;
	if (ok)
		jv_array_foreach(v, i, e)
		{
			char *s = fb_jv_dup_nul(e);
			if (s)
				fb_strv_push_owned(out, s);
			jv_free(e);
			(void)i;
		}
	jv_free(v);
	return ok;
}

static int64_t get_int(jv o, const char *key, int64_t def)
{
	int64_t n;
	return fb_jv_get_int(o, key, &n) ? n : def;
}

static void get_vars(jv o, const char *key, struct fb_vars *out)
{
	jv m = fb_json_member(o, key);
	if (jv_get_kind(m) == JV_KIND_OBJECT)
		jv_object_foreach(m, k, v) /* borrows m: the macro names it many times */
		{
			char *s = fb_jv_dup_nul(v);
			if (s)
				fb_vars_set(out, jv_string_value(k), s);
			free(s);
			jv_free(k);
			jv_free(v);
		}
	jv_free(m);
}

static void from_decode(jv o, const char *key, struct fb_plan_from *f)
{
	jv v = fb_json_member(o, key);
	memset(f, 0, sizeof(*f));
	f->stage = -1;
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		int64_t s;
		f->set = true;
		if (fb_jv_get_int(v, "stage", &s)) {
			f->stage = (int)s;
			f->name = get_str(v, "name");
		} else {
			f->image = get_str(v, "image");
		}
	}
	jv_free(v);
}

static void arg_decode(jv a, struct fb_plan_arg *o)
{
	o->name = get_str(a, "name");
	o->def = get_str(a, "default");
	o->value = get_str(a, "value");
	o->line = (int)get_int(a, "line", 0);
}

static void ins_decode(jv v, struct fb_plan_ins *in)
{
	jv c = fb_json_member(v, "cmd");
	fb_plan_ins_init(in, (enum fb_plan_cmd)fb_plan_cmd_of(jv_string_value(c)));
	jv_free(c);
	in->line = (int)get_int(v, "line", 0);
	in->end_line = (int)get_int(v, "end_line", 0);
	in->original = get_str(v, "original");
	get_strv(v, "flags", &in->flags);
	char *form = get_str(v, "form");
	in->has_form = form != NULL;
	in->exec_form = form && !strcmp(form, "exec");
	free(form);
	if (in->cmd != FB_CMD_ARG)
		in->has_args = get_strv(v, "args", &in->args);
	jv hs = fb_json_member(v, "heredocs");
	if (jv_get_kind(hs) == JV_KIND_ARRAY) {
		in->heredocs = fb_xcalloc((size_t)jv_array_length(jv_copy(hs)) + 1, sizeof(*in->heredocs));
		jv_array_foreach(hs, i, h)
		{
			struct fb_plan_heredoc *o = &in->heredocs[in->nheredocs++];
			o->name = get_str(h, "name");
			o->fd = (int)get_int(h, "fd", 0);
			o->expand = fb_jv_get_bool(h, "expand") == 1;
			o->chomp = fb_jv_get_bool(h, "chomp") == 1;
			o->body = get_str(h, "body");
			jv_free(h);
			(void)i;
		}
	}
	jv_free(hs);
	jv ms = fb_json_member(v, "mounts");
	if (jv_get_kind(ms) == JV_KIND_ARRAY) {
		in->has_mounts = true;
		in->mounts = fb_xcalloc((size_t)jv_array_length(jv_copy(ms)) + 1, sizeof(*in->mounts));
		jv_array_foreach(ms, i, m)
		{
			struct fb_plan_mount *o = &in->mounts[in->nmounts++];
			o->type = get_str(m, "type");
			o->target = get_str(m, "target");
			o->source = get_str(m, "source");
			o->id = get_str(m, "id");
			o->sharing = get_str(m, "sharing");
			o->mode = get_str(m, "mode");
			o->env = get_str(m, "env");
			o->size = get_str(m, "size");
			o->size_bytes = get_int(m, "size", -1);
			o->uid = get_int(m, "uid", -1);
			o->gid = get_int(m, "gid", -1);
			o->required = fb_jv_get_bool(m, "required");
			o->readonly = fb_jv_get_bool(m, "readonly") == 1;
			from_decode(m, "from", &o->from);
			jv_free(m);
			(void)i;
		}
	}
	jv_free(ms);
	in->network = get_str(v, "network");
	in->security = get_str(v, "security");
	in->has_args_env = fb_jv_has(v, "args_env");
	get_vars(v, "args_env", &in->args_env);
	jv ss = fb_json_member(v, "sources");
	if (jv_get_kind(ss) == JV_KIND_ARRAY) {
		in->sources = fb_xcalloc((size_t)jv_array_length(jv_copy(ss)) + 1, sizeof(*in->sources));
		jv_array_foreach(ss, i, s)
		{
			struct fb_plan_source *o = &in->sources[in->nsources++];
			o->path = get_str(s, "path");
			if (!o->path) {
				o->heredoc = get_str(s, "heredoc");
				o->expand = fb_jv_get_bool(s, "expand") == 1;
				o->body = get_str(s, "body");
			}
			jv_free(s);
			(void)i;
		}
	}
	jv_free(ss);
	in->dest = get_str(v, "dest");
	in->chown = get_str(v, "chown");
	in->chmod = get_str(v, "chmod");
	in->checksum = get_str(v, "checksum");
	from_decode(v, "from", &in->from);
	in->link = fb_jv_get_bool(v, "link");
	in->parents = fb_jv_get_bool(v, "parents");
	in->keep_git_dir = fb_jv_get_bool(v, "keep_git_dir");
	in->unpack = fb_jv_get_bool(v, "unpack");
	in->has_exclude = get_strv(v, "exclude", &in->exclude);
	jv hc = fb_json_member(v, "healthcheck");
	if (jv_get_kind(hc) == JV_KIND_OBJECT) {
		struct fb_plan_health *h = in->health = fb_xcalloc(1, sizeof(*h));
		h->has_test = get_strv(hc, "test", &h->test);
		h->interval = get_int(hc, "interval", -1);
		h->timeout = get_int(hc, "timeout", -1);
		h->start_period = get_int(hc, "start_period", -1);
		h->start_interval = get_int(hc, "start_interval", -1);
		h->retries = get_int(hc, "retries", -1);
	}
	jv_free(hc);
	jv ps = fb_json_member(v, "pairs");
	if (jv_get_kind(ps) == JV_KIND_ARRAY) {
		in->pairs = fb_xcalloc((size_t)jv_array_length(jv_copy(ps)) + 1, sizeof(*in->pairs));
		jv_array_foreach(ps, i, p)
		{
			in->pairs[in->npairs++] = (struct fb_plan_pair){ get_str(p, "key"), get_str(p, "value") };
			jv_free(p);
			(void)i;
		}
	}
	jv_free(ps);
	if (in->cmd == FB_CMD_ARG) {
		jv as = fb_json_member(v, "args");
		if (jv_get_kind(as) == JV_KIND_ARRAY) {
			in->arg_list = fb_xcalloc((size_t)jv_array_length(jv_copy(as)) + 1, sizeof(*in->arg_list));
			jv_array_foreach(as, i, a)
			{
				arg_decode(a, &in->arg_list[in->nargs++]);
				jv_free(a);
				(void)i;
			}
		}
		jv_free(as);
	}
	get_strv(v, "ports", &in->ports);
	get_strv(v, "paths", &in->paths);
	static const char *const value_key[FB_CMD_COUNT] = { [FB_CMD_USER] = "user", [FB_CMD_WORKDIR] = "path",
							     [FB_CMD_STOPSIGNAL] = "signal", [FB_CMD_MAINTAINER] = "maintainer" };
	if (value_key[in->cmd])
		in->value = get_str(v, value_key[in->cmd]);
	in->trigger = get_str(v, "trigger");
	in->trigger_cmd = get_str(v, "trigger_cmd");
	in->has_raw_args = get_strv(v, "raw_args", &in->raw_args);
	get_strv(v, "unresolved", &in->unresolved);
}

static void stage_decode(jv v, struct fb_plan_stage *st)
{
	st->index = (int)get_int(v, "index", 0);
	st->name = get_str(v, "name");
	st->base = get_str(v, "base");
	st->base_raw = get_str(v, "base_raw");
	char *bt = get_str(v, "base_type");
	for (int i = 0; base_types[i]; i++)
		if (bt && !strcmp(bt, base_types[i]))
			st->base_type = (enum fb_plan_base)i;
	free(bt);
	st->base_stage = (int)get_int(v, "base_stage", -1);
	st->platform = get_str(v, "platform");
	st->line = (int)get_int(v, "line", 0);
	st->original = get_str(v, "original");
	jv ins = fb_json_member(v, "instructions");
	st->ins = fb_xcalloc((size_t)jv_array_length(jv_copy(ins)) + 1, sizeof(*st->ins));
	jv_array_foreach(ins, i, in)
	{
		ins_decode(in, &st->ins[st->nins++]);
		jv_free(in);
		(void)i;
	}
	jv_free(ins);
	/* not said: needed (the builder builds what it cannot tell apart) */
	st->needed = fb_jv_get_bool(v, "needed") != 0;
	jv deps = fb_json_member(v, "depends_on");
	if (jv_get_kind(deps) == JV_KIND_ARRAY) {
		st->depends_on = fb_xcalloc((size_t)jv_array_length(jv_copy(deps)) + 1, sizeof(*st->depends_on));
		jv_array_foreach(deps, i, d)
		{
			if (jv_get_kind(d) == JV_KIND_NUMBER)
				st->depends_on[st->ndepends++] = (int)jv_number_value(d);
			jv_free(d);
			(void)i;
		}
	}
	jv_free(deps);
	get_vars(v, "env", &st->env);
	st->env_complete = fb_jv_get_bool(v, "env_complete") == 1;
}

static void plan_decode(jv v, struct fb_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->version = (int)get_int(v, "version", 1);
	p->file = get_str(v, "file");
	char *esc = get_str(v, "escape");
	p->escape = esc && esc[0] == '`' ? '`' : '\\';
	free(esc);
	get_vars(v, "directives", &p->directives);
	p->platform = get_str(v, "platform");
	p->build_platform = get_str(v, "build_platform");
	jv ga = fb_json_member(v, "args");
	if (jv_get_kind(ga) == JV_KIND_ARRAY) {
		p->args = fb_xcalloc((size_t)jv_array_length(jv_copy(ga)) + 1, sizeof(*p->args));
		jv_array_foreach(ga, i, a)
		{
			if (jv_get_kind(a) == JV_KIND_OBJECT)
				arg_decode(a, &p->args[p->nargs++]);
			jv_free(a);
			(void)i;
		}
	}
	jv_free(ga);
	get_vars(v, "build_args", &p->build_args);
	get_strv(v, "unused_build_args", &p->unused_build_args);
	jv st = fb_json_member(v, "stages");
	p->stages = fb_xcalloc((size_t)jv_array_length(jv_copy(st)) + 1, sizeof(*p->stages));
	jv_array_foreach(st, i, s)
	{
		stage_decode(s, &p->stages[p->nstages++]);
		jv_free(s);
		(void)i;
	}
	jv_free(st);
	/* the target: the plan's, else the last stage */
	jv t = fb_json_member(v, "target");
	p->has_target = jv_get_kind(t) == JV_KIND_OBJECT;
	p->target = (int)get_int(t, "index", (int64_t)p->nstages - 1);
	p->target_name = get_str(t, "name");
	jv_free(t);
	jv ws = fb_json_member(v, "warnings");
	if (jv_get_kind(ws) == JV_KIND_ARRAY) {
		p->warnings = fb_xcalloc((size_t)jv_array_length(jv_copy(ws)) + 1, sizeof(*p->warnings));
		jv_array_foreach(ws, i, w)
		{
			struct fb_plan_warning *o = &p->warnings[p->nwarnings++];
			o->rule = get_str(w, "rule");
			o->message = get_str(w, "message");
			o->line = (int)get_int(w, "line", 0);
			jv_free(w);
			(void)i;
		}
	}
	jv_free(ws);
}

int fb_plan_from_doc(const struct fb_doc *d, bool required, struct fb_plan *p, bool *present, struct fb_err *err)
{
	memset(p, 0, sizeof(*p));
	*present = fb_doc_has_key(d, "plan");
	if (!*present)
		return required ? fb_err_set(err, FB_EXIT_USAGE, "invalid", ".plan: missing (expected an object)") : 0;
	jv v = fb_doc_get(d, "plan");
	if (fb_json_check(v, &plan_shape, ".plan", err) < 0) {
		jv_free(v);
		return -1;
	}
	plan_decode(v, p);
	jv_free(v);
	return 0;
}
