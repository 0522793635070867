/* The planner's driver (planner.h): stages, FROM, the global ARGs, the
 * target and the stages it needs; and the plan's own memory. */
#include "plan.h"
#include "planner.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "util.h"

/* ---- the plan's memory ---- */

static const char *const cmd_names[FB_CMD_COUNT] = {
	[FB_CMD_ADD] = "ADD",		  [FB_CMD_ARG] = "ARG",		[FB_CMD_CMD] = "CMD",
	[FB_CMD_COPY] = "COPY",		  [FB_CMD_ENTRYPOINT] = "ENTRYPOINT", [FB_CMD_ENV] = "ENV",
	[FB_CMD_EXPOSE] = "EXPOSE",	  [FB_CMD_HEALTHCHECK] = "HEALTHCHECK", [FB_CMD_LABEL] = "LABEL",
	[FB_CMD_MAINTAINER] = "MAINTAINER", [FB_CMD_ONBUILD] = "ONBUILD",	[FB_CMD_RUN] = "RUN",
	[FB_CMD_SHELL] = "SHELL",	  [FB_CMD_STOPSIGNAL] = "STOPSIGNAL", [FB_CMD_USER] = "USER",
	[FB_CMD_VOLUME] = "VOLUME",	  [FB_CMD_WORKDIR] = "WORKDIR",
};

const char *fb_plan_cmd_name(enum fb_plan_cmd c)
{
	return (unsigned)c < FB_CMD_COUNT ? cmd_names[c] : "?";
}

int fb_plan_cmd_of(const char *name)
{
	for (int i = 0; i < FB_CMD_COUNT; i++)
		if (!strcmp(cmd_names[i], name))
			return i;
	return -1;
}

void fb_plan_ins_init(struct fb_plan_ins *in, enum fb_plan_cmd cmd)
{
	memset(in, 0, sizeof(*in));
	in->cmd = cmd;
	in->from.stage = -1;
	in->link = in->parents = in->keep_git_dir = in->unpack = -1;
}

static void from_free(struct fb_plan_from *f)
{
	free(f->name);
	free(f->image);
	memset(f, 0, sizeof(*f));
	f->stage = -1;
}

static void from_copy(struct fb_plan_from *dst, const struct fb_plan_from *src)
{
	*dst = *src;
	dst->name = src->name ? fb_xstrdup(src->name) : NULL;
	dst->image = src->image ? fb_xstrdup(src->image) : NULL;
}

static char *dup_opt(const char *s)
{
	return s ? fb_xstrdup(s) : NULL;
}

static void strv_copy(struct fb_strv *dst, const struct fb_strv *src)
{
	*dst = (struct fb_strv)FB_STRV_INIT;
	for (size_t i = 0; i < src->n; i++)
		fb_strv_push(dst, src->v[i]);
}

void fb_plan_ins_free(struct fb_plan_ins *in)
{
	free(in->original);
	fb_strv_free(&in->flags);
	fb_strv_free(&in->args);
	for (size_t i = 0; i < in->nheredocs; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].body);
	}
	free(in->heredocs);
	for (size_t i = 0; i < in->nmounts; i++) {
		struct fb_plan_mount *m = &in->mounts[i];
		free(m->type);
		free(m->target);
		free(m->source);
		free(m->id);
		free(m->sharing);
		free(m->mode);
		free(m->env);
		free(m->size);
		from_free(&m->from);
	}
	free(in->mounts);
	free(in->network);
	free(in->security);
	fb_vars_free(&in->args_env);
	for (size_t i = 0; i < in->nsources; i++) {
		free(in->sources[i].path);
		free(in->sources[i].heredoc);
		free(in->sources[i].body);
	}
	free(in->sources);
	free(in->dest);
	free(in->chown);
	free(in->chmod);
	free(in->checksum);
	from_free(&in->from);
	fb_strv_free(&in->exclude);
	for (size_t i = 0; i < in->npairs; i++) {
		free(in->pairs[i].key);
		free(in->pairs[i].value);
	}
	free(in->pairs);
	for (size_t i = 0; i < in->nargs; i++) {
		free(in->arg_list[i].name);
		free(in->arg_list[i].def);
		free(in->arg_list[i].value);
	}
	free(in->arg_list);
	fb_strv_free(&in->ports);
	fb_strv_free(&in->paths);
	free(in->value);
	if (in->health) {
		fb_strv_free(&in->health->test);
		free(in->health);
	}
	free(in->trigger);
	free(in->trigger_cmd);
	fb_strv_free(&in->unresolved);
	fb_strv_free(&in->raw_args);
	fb_plan_ins_init(in, in->cmd);
}

void fb_plan_ins_copy(struct fb_plan_ins *dst, const struct fb_plan_ins *src)
{
	*dst = *src;
	dst->original = dup_opt(src->original);
	strv_copy(&dst->flags, &src->flags);
	strv_copy(&dst->args, &src->args);
	dst->heredocs = src->nheredocs ? fb_xcalloc(src->nheredocs, sizeof(*dst->heredocs)) : NULL;
	for (size_t i = 0; i < src->nheredocs; i++) {
		dst->heredocs[i] = src->heredocs[i];
		dst->heredocs[i].name = dup_opt(src->heredocs[i].name);
		dst->heredocs[i].body = dup_opt(src->heredocs[i].body);
	}
	dst->mounts = src->nmounts ? fb_xcalloc(src->nmounts, sizeof(*dst->mounts)) : NULL;
	for (size_t i = 0; i < src->nmounts; i++) {
		const struct fb_plan_mount *m = &src->mounts[i];
		struct fb_plan_mount *o = &dst->mounts[i];
		*o = *m;
		o->type = dup_opt(m->type);
		o->target = dup_opt(m->target);
		o->source = dup_opt(m->source);
		o->id = dup_opt(m->id);
		o->sharing = dup_opt(m->sharing);
		o->mode = dup_opt(m->mode);
		o->env = dup_opt(m->env);
		o->size = dup_opt(m->size);
		from_copy(&o->from, &m->from);
	}
	dst->network = dup_opt(src->network);
	dst->security = dup_opt(src->security);
	memset(&dst->args_env, 0, sizeof(dst->args_env));
	fb_vars_copy(&dst->args_env, &src->args_env);
	dst->sources = src->nsources ? fb_xcalloc(src->nsources, sizeof(*dst->sources)) : NULL;
	for (size_t i = 0; i < src->nsources; i++) {
		dst->sources[i] = src->sources[i];
		dst->sources[i].path = dup_opt(src->sources[i].path);
		dst->sources[i].heredoc = dup_opt(src->sources[i].heredoc);
		dst->sources[i].body = dup_opt(src->sources[i].body);
	}
	dst->dest = dup_opt(src->dest);
	dst->chown = dup_opt(src->chown);
	dst->chmod = dup_opt(src->chmod);
	dst->checksum = dup_opt(src->checksum);
	from_copy(&dst->from, &src->from);
	strv_copy(&dst->exclude, &src->exclude);
	dst->pairs = src->npairs ? fb_xcalloc(src->npairs, sizeof(*dst->pairs)) : NULL;
	for (size_t i = 0; i < src->npairs; i++)
		dst->pairs[i] = (struct fb_plan_pair){ dup_opt(src->pairs[i].key), dup_opt(src->pairs[i].value) };
	dst->arg_list = src->nargs ? fb_xcalloc(src->nargs, sizeof(*dst->arg_list)) : NULL;
	for (size_t i = 0; i < src->nargs; i++) {
		const struct fb_plan_arg *a = &src->arg_list[i];
		dst->arg_list[i] = (struct fb_plan_arg){ dup_opt(a->name), dup_opt(a->def), dup_opt(a->value), a->line };
	}
	strv_copy(&dst->ports, &src->ports);
	strv_copy(&dst->paths, &src->paths);
	dst->value = dup_opt(src->value);
	if (src->health) {
		dst->health = fb_xmalloc(sizeof(*dst->health));
		*dst->health = *src->health;
		strv_copy(&dst->health->test, &src->health->test);
	}
	dst->trigger = dup_opt(src->trigger);
	dst->trigger_cmd = dup_opt(src->trigger_cmd);
	strv_copy(&dst->unresolved, &src->unresolved);
	strv_copy(&dst->raw_args, &src->raw_args);
}

static void stage_free(struct fb_plan_stage *st)
{
	free(st->name);
	free(st->base);
	free(st->base_raw);
	free(st->platform);
	free(st->original);
	for (size_t i = 0; i < st->nins; i++)
		fb_plan_ins_free(&st->ins[i]);
	free(st->ins);
	free(st->depends_on);
	fb_vars_free(&st->env);
}

void fb_plan_free(struct fb_plan *p)
{
	free(p->file);
	fb_vars_free(&p->directives);
	free(p->platform);
	free(p->build_platform);
	for (size_t i = 0; i < p->nargs; i++) {
		free(p->args[i].name);
		free(p->args[i].def);
		free(p->args[i].value);
	}
	free(p->args);
	fb_vars_free(&p->build_args);
	fb_strv_free(&p->unused_build_args);
	free(p->target_name);
	for (size_t i = 0; i < p->nstages; i++)
		stage_free(&p->stages[i]);
	free(p->stages);
	for (size_t i = 0; i < p->nwarnings; i++) {
		free(p->warnings[i].rule);
		free(p->warnings[i].message);
	}
	free(p->warnings);
	memset(p, 0, sizeof(*p));
}

/* ---- small helpers ---- */

char *plan_lower(const char *s)
{
	char *r = fb_xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

int fb_parse_duration(const char *s, long long *ns)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 }, { "ms", 1e6 },
		       { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 } };
	const char *p = s;
	double total = 0;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*p)
		return -1;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		double v = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		size_t best = 0, bi = 0;
		for (size_t i = 0; i < FB_ARRAY_LEN(units); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, l) == 0 && l > best)
				best = l, bi = i;
		}
		if (!best)
			return -1;
		total += v * units[bi].mult;
		p += best;
	}
	*ns = (long long)(neg ? -total : total);
	return 0;
}

/* What the values of variables may add to a plan in all (expansions, the
 * ARG values every RUN carries, each stage's ENV): ARGs that double, or a
 * large ARG that thousands of RUNs copy, end in a clear error. */
#define PLAN_MAX_EXPANDED ((size_t)64 << 20)

/* Sets of names: fb_vars whose value "1" says the name is in. */
bool plan_set_has(const struct fb_vars *s, const char *name)
{
	const char *v = fb_vars_get(s, name);
	return v && v[0] == '1';
}

void plan_set_add(struct fb_vars *s, const char *name)
{
	if (!plan_set_has(s, name))
		fb_vars_set(s, name, "1");
}

void plan_set_del(struct fb_vars *s, const char *name)
{
	if (fb_vars_get(s, name))
		fb_vars_set(s, name, "0");
}

int plan_count_expanded(struct plan *p, size_t n, struct fb_err *err)
{
	p->expanded += n;
	if (p->expanded > PLAN_MAX_EXPANDED)
		return fb_err_set(err, FB_EXIT_USAGE, "too_large",
				  "the values of variables make the plan over %zu MiB (the limit): an ARG or ENV value copied into "
				  "too many places",
				  PLAN_MAX_EXPANDED >> 20);
	return 0;
}

void plan_warn(struct plan *p, const char *rule, int line, const char *fmt, ...)
{
	if (p->skip_all)
		return;
	if (p->skip_rules.keys.n) {
		FB_AUTOFREE char *l = plan_lower(rule);
		if (plan_set_has(&p->skip_rules, l))
			return;
	}
	struct fb_buf b = FB_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	fb_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	struct fb_plan *o = p->out;
	o->warnings = fb_xrealloc(o->warnings, (o->nwarnings + 1) * sizeof(*o->warnings));
	o->warnings[o->nwarnings++] = (struct fb_plan_warning){ fb_xstrdup(rule), fb_buf_steal(&b), line };
	fb_buf_free(&b);
}

void plan_use_build_arg(struct plan *p, const char *name)
{
	if (fb_vars_get(&p->o->build_args, name))
		plan_set_add(&p->used_build_args, name);
}

static const char *lookup_meta(void *ctx, const char *name)
{
	struct plan *p = ctx;
	const char *v = fb_vars_get(&p->meta, name);
	if (!v)
		plan_set_add(&p->unresolved, name);
	return v;
}

/* Inside a stage: ENV wins over ARG (Docker's documented rule). */
const char *plan_lookup_stage(void *ctx, const char *name)
{
	struct plan *p = ctx;
	const char *v = fb_vars_get(&p->cur->env, name);
	if (!v && !plan_set_has(&p->cur->args_unset, name))
		v = fb_vars_get(&p->cur->args, name);
	if (!v && p->cur->open)
		plan_set_add(&p->unresolved, name);
	return v;
}

/* Expand one word in the current context. Unresolved references in a stage
 * based on an image stay as written (its ENV may define them). */
int plan_expand(struct plan *p, const char *word, char **out, struct fb_err *err)
{
	struct fb_shlex lx = { .escape = p->escape, .work = &p->work };
	if (p->cur) {
		lx.lookup = plan_lookup_stage;
		lx.skip_unset = p->cur->open;
	} else {
		lx.lookup = lookup_meta;
	}
	lx.ctx = p;
	if (fb_shlex_word(&lx, word, out, err) < 0)
		return -1;
	if (plan_count_expanded(p, strlen(*out), err) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int plan_expand_strv(struct plan *p, const struct fb_strv *in, size_t from, size_t to, struct fb_strv *out,
		     struct fb_err *err)
{
	for (size_t i = from; i < to; i++) {
		char *e;
		if (plan_expand(p, in->v[i], &e, err) < 0)
			return -1;
		fb_strv_push_owned(out, e);
	}
	return 0;
}

int plan_stage_by_name(struct plan *p, const char *name)
{
	FB_AUTOFREE char *l = plan_lower(name);
	const char *i = fb_vars_get(&p->stage_names, l);
	return i ? (int)strtol(i, NULL, 10) : -1;
}

bool plan_is_integer(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* --from of COPY or of a RUN mount: a stage name, an index, or an image. */
int plan_resolve_from(struct plan *p, const char *kw, const char *from, struct fb_plan_from *o, struct fb_err *err)
{
	const char *dollar = strchr(from, '$');
	if (dollar && dollar[1])
		return fb_err_set(err, FB_EXIT_USAGE, "syntax",
				  "%s --from=%s: 'from' doesn't support variable expansion, define an alias stage instead",
				  kw, from);
	int idx = plan_stage_by_name(p, from);
	if (idx < 0 && plan_is_integer(from)) {
		long v = strtol(from, NULL, 10);
		if (v >= p->cur->index)
			return fb_err_set(err, FB_EXIT_USAGE, "syntax",
					  "%s --from=%s refers to the current or a later build stage", kw, from);
		idx = (int)v;
	}
	if (idx >= 0 && idx == p->cur->index)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s --from=%s refers to the current build stage", kw, from);
	o->set = true;
	if (idx >= 0) {
		o->stage = idx;
		o->name = dup_opt(p->out->stages[idx].name);
		char num[16];
		snprintf(num, sizeof(num), "%d", idx);
		plan_set_add(&p->cur->deps, num);
	} else {
		o->stage = -1;
		o->image = fb_xstrdup(from);
	}
	return 0;
}

/* ---- FROM ---- */

static bool valid_stage_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int from_instr(struct plan *p, const struct fb_df_node *n, struct fb_err *err)
{
	char *base = NULL, *platform = NULL, *name = NULL;
	if (plan_from_flags(n, &platform, err) < 0)
		return -1;
	int ret = -1;
	if (!(n->args.n == 1 || (n->args.n == 3 && !strcasecmp(n->args.v[1], "AS")))) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "FROM requires either one or three arguments");
		goto out;
	}
	p->cur = NULL;
	fb_vars_free(&p->unresolved);
	if (plan_expand(p, n->args.v[0], &base, err) < 0)
		goto out;
	for (size_t i = 0; i < p->unresolved.keys.n; i++)
		plan_warn(p, "UndefinedArgInFrom", n->start_line, "FROM argument '%s' is not declared", p->unresolved.keys.v[i]);
	if (!*base && !p->unresolved.keys.n && !strchr(n->args.v[0], '$')) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "base name (%s) should not be blank", n->args.v[0]);
		goto out;
	}
	if (!*base)
		/* Typically `ARG base` with no default: the build needs --build-arg. */
		plan_warn(p, "EmptyBaseName", n->start_line, "FROM %s: the base name is empty; give it with --build-arg", n->args.v[0]);
	if (platform) {
		char *x;
		if (plan_expand(p, platform, &x, err) < 0)
			goto out;
		free(platform);
		platform = x;
	}
	if (n->args.n == 3) {
		const char *as = n->args.v[1];
		name = plan_lower(n->args.v[2]);
		if (!valid_stage_name(name)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax",
				   "invalid name for build stage: \"%s\", name can't start with a number or contain symbols", n->args.v[2]);
			goto out;
		}
		if (plan_stage_by_name(p, name) >= 0) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "duplicate stage name \"%s\"", name);
			goto out;
		}
		if (strcmp(name, n->args.v[2]))
			plan_warn(p, "StageNameCasing", n->start_line, "Stage name '%s' should be lowercase", n->args.v[2]);
		bool from_upper = isupper((unsigned char)n->keyword[0]), as_upper = isupper((unsigned char)as[0]);
		if (from_upper != as_upper)
			plan_warn(p, "FromAsCasing", n->start_line, "'%s' and '%s' keywords' casing do not match", as, n->keyword);
	}
	int bs = *base ? plan_stage_by_name(p, base) : -1;
	if (bs >= 0) {
		/* the stage's ENV starts as a copy of its base's */
		const struct stage *parent = &p->stages[bs];
		for (size_t k = 0; k < parent->env.vals.n; k++)
			if (plan_count_expanded(p, strlen(parent->env.vals.v[k]), err) < 0)
				goto out;
	}
	if (p->nstages == p->cstages) {
		p->cstages = p->cstages ? 2 * p->cstages : 8;
		p->stages = fb_xrealloc(p->stages, p->cstages * sizeof(*p->stages));
		p->out->stages = fb_xrealloc(p->out->stages, p->cstages * sizeof(*p->out->stages));
		for (size_t i = 0; i < p->nstages; i++)
			p->stages[i].out = &p->out->stages[i];
	}
	struct stage *st = &p->stages[p->nstages];
	struct fb_plan_stage *o = &p->out->stages[p->nstages];
	memset(st, 0, sizeof(*st));
	memset(o, 0, sizeof(*o));
	st->out = o;
	st->index = o->index = (int)p->nstages;
	o->name = name;
	name = NULL;
	if (o->name) {
		char num[16];
		snprintf(num, sizeof(num), "%d", st->index);
		fb_vars_set(&p->stage_names, o->name, num);
	}
	o->base_stage = -1;
	if (strcmp(base, n->args.v[0]))
		o->base_raw = fb_xstrdup(n->args.v[0]);
	if (!*base) {
		st->open = true;
		o->base_type = FB_BASE_UNRESOLVED;
	} else if (bs >= 0) {
		struct stage *parent = &p->stages[bs];
		o->base_stage = bs;
		st->open = parent->open;
		fb_vars_copy(&st->env, &parent->env);
		st->has_abs_workdir = parent->has_abs_workdir;
		o->base_type = FB_BASE_STAGE;
		char num[16];
		snprintf(num, sizeof(num), "%d", bs);
		plan_set_add(&st->deps, num);
	} else if (!strcmp(base, "scratch")) {
		o->base_type = FB_BASE_SCRATCH;
	} else {
		st->open = true;
		o->base_type = FB_BASE_IMAGE;
	}
	o->base = *base ? base : NULL;
	if (o->base)
		base = NULL;
	o->platform = platform ? platform : fb_xstrdup(fb_vars_get(&p->meta, "TARGETPLATFORM"));
	platform = NULL;
	o->line = n->start_line;
	o->original = fb_xstrdup(n->original);
	p->nstages++;
	p->out->nstages = p->nstages;
	p->cur = st;
	ret = 0;
out:
	free(base);
	free(platform);
	free(name);
	return ret;
}

static void platform_args(struct plan *p)
{
	const char *host = fb_host_platform();
	const char *target = p->o->platform ? p->o->platform : host;
	const char *plats[2] = { host, target };
	const char *prefix[2] = { "BUILD", "TARGET" };
	for (int i = 0; i < 2; i++) {
		char key[32];
		const char *pl = plats[i];
		const char *s1 = strchr(pl, '/');
		const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
		FB_AUTOFREE char *os = s1 ? fb_xstrndup(pl, (size_t)(s1 - pl)) : fb_xstrdup(pl);
		FB_AUTOFREE char *arch = s1 ? (s2 ? fb_xstrndup(s1 + 1, (size_t)(s2 - s1 - 1)) : fb_xstrdup(s1 + 1)) : fb_xstrdup("");
		snprintf(key, sizeof(key), "%sPLATFORM", prefix[i]);
		fb_vars_set(&p->meta, key, pl);
		snprintf(key, sizeof(key), "%sOS", prefix[i]);
		fb_vars_set(&p->meta, key, os);
		snprintf(key, sizeof(key), "%sARCH", prefix[i]);
		fb_vars_set(&p->meta, key, arch);
		snprintf(key, sizeof(key), "%sVARIANT", prefix[i]);
		fb_vars_set(&p->meta, key, s2 ? s2 + 1 : "");
	}
}

static void parse_check_directive(struct plan *p, const char *v)
{
	FB_AUTOFREE char *copy = fb_xstrdup(v);
	char *save = NULL;
	for (char *part = strtok_r(copy, ";", &save); part; part = strtok_r(NULL, ";", &save)) {
		while (fb_ascii_isspace((unsigned char)*part))
			part++;
		if (!strncasecmp(part, "skip=", 5)) {
			char *s2 = NULL;
			for (char *r = strtok_r(part + 5, ",", &s2); r; r = strtok_r(NULL, ",", &s2)) {
				while (fb_ascii_isspace((unsigned char)*r))
					r++;
				if (!strcasecmp(r, "all")) {
					p->skip_all = true;
				} else {
					FB_AUTOFREE char *l = plan_lower(r);
					plan_set_add(&p->skip_rules, l);
				}
			}
		} else if (!strncasecmp(part, "error=", 6)) {
			p->lint_error = !strcasecmp(part + 6, "true");
		}
	}
}

/* The target and the stages it reads, and theirs (a work list: a chain of
 * thousands of stages must not recurse as deep). */
static void mark_needed(struct plan *p, int idx, bool *needed)
{
	int *todo = fb_xcalloc(p->nstages + 1, sizeof(*todo));
	size_t n = 0;
	needed[idx] = true;
	todo[n++] = idx;
	while (n) {
		const struct stage *st = &p->stages[todo[--n]];
		for (size_t i = 0; i < st->deps.keys.n; i++) {
			int d = (int)strtol(st->deps.keys.v[i], NULL, 10);
			if (!needed[d]) {
				needed[d] = true;
				todo[n++] = d;
			}
		}
	}
	free(todo);
}

static void add_ins(struct fb_plan_stage *st, struct fb_plan_ins *in)
{
	if ((st->nins & (st->nins - 1)) == 0)
		st->ins = fb_xrealloc(st->ins, (st->nins ? 2 * st->nins : 1) * sizeof(*st->ins));
	st->ins[st->nins++] = *in;
}

static int build(struct plan *p, const struct fb_df *df, const struct fb_plan_opts *o, const char *file, struct fb_err *err)
{
	struct fb_plan *out = p->out;
	for (size_t i = 0; i < df->ndirectives; i++) {
		fb_vars_set(&out->directives, df->directives[i].name, df->directives[i].value);
		if (!strcmp(df->directives[i].name, "check"))
			parse_check_directive(p, df->directives[i].value);
	}
	platform_args(p);
	for (size_t i = 0; i < df->n; i++) {
		const struct fb_df_node *n = &df->nodes[i];
		int r;
		if (plan_known(n->keyword) && n->empty_continuation)
			plan_warn(p, "NoEmptyContinuation", n->start_line, "Empty continuation line");
		if (!plan_known(n->keyword)) {
			r = plan_unknown_instruction(n->keyword, err);
		} else if (!strcasecmp(n->keyword, "FROM")) {
			r = from_instr(p, n, err);
		} else if (!p->cur) {
			if (strcasecmp(n->keyword, "ARG")) {
				FB_AUTOFREE char *up = plan_lower(n->keyword);
				for (char *c = up; *c; c++)
					*c = (char)toupper((unsigned char)*c);
				r = fb_err_set(err, FB_EXIT_USAGE, "syntax",
					       "%s before the first FROM: only ARG may come before FROM (no build stage in current context)", up);
			} else {
				r = plan_no_flags(n, "ARG", err);
				if (r == 0)
					r = plan_arg_instr(p, n, true, NULL, err);
			}
		} else {
			struct fb_plan_ins ins;
			r = plan_stage_instr(p, n, &ins, err);
			if (r == 0)
				add_ins(p->cur->out, &ins);
		}
		if (r < 0) {
			fb_err_where(err, file, n->start_line, n->end_line);
			return -1;
		}
	}
	if (!p->nstages) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "no FROM instruction: a Dockerfile needs at least one build stage");
		fb_err_where(err, file, 0, 0);
		return -1;
	}
	int target = (int)p->nstages - 1;
	if (o->target) {
		target = plan_stage_by_name(p, o->target);
		if (target < 0)
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "target stage \"%s\" could not be found", o->target);
	}
	bool *needed = fb_xcalloc(p->nstages, sizeof(*needed));
	mark_needed(p, target, needed);
	for (size_t i = 0; i < p->nstages; i++) {
		struct stage *st = &p->stages[i];
		struct fb_plan_stage *os = st->out;
		os->needed = needed[i];
		os->depends_on = fb_xcalloc(st->deps.keys.n + 1, sizeof(*os->depends_on));
		for (size_t k = 0; k < st->deps.keys.n; k++)
			os->depends_on[os->ndepends++] = (int)strtol(st->deps.keys.v[k], NULL, 10);
		fb_vars_copy(&os->env, &st->env);
		os->env_complete = !st->open;
	}
	free(needed);

	/* Build args nobody declared (the proxy ones need no declaration;
	 * SOURCE_DATE_EPOCH is the builder's own, as in BuildKit). */
	for (size_t i = 0; i < o->build_args.keys.n; i++) {
		const char *k = o->build_args.keys.v[i];
		if (!plan_set_has(&p->used_build_args, k) && !plan_set_has(&p->meta_declared, k) &&
		    strcmp(k, "SOURCE_DATE_EPOCH")) {
			fb_strv_push(&out->unused_build_args, k);
			plan_warn(p, "UnusedBuildArg", 0, "build-arg %s was not consumed by any ARG", k);
		}
	}
	if (p->lint_error && out->nwarnings > 0) {
		const struct fb_plan_warning *w = &out->warnings[0];
		fb_err_set(err, FB_EXIT_USAGE, "lint", "lint violation (check error=true): %s: %s", w->rule, w->message);
		fb_err_where(err, file, w->line, 0);
		return -1;
	}
	out->version = 1;
	out->file = fb_xstrdup(file);
	out->escape = df->escape;
	out->platform = fb_xstrdup(fb_vars_get(&p->meta, "TARGETPLATFORM"));
	out->build_platform = fb_xstrdup(fb_vars_get(&p->meta, "BUILDPLATFORM"));
	fb_vars_copy(&out->build_args, &o->build_args);
	out->has_target = true;
	out->target = target;
	out->target_name = dup_opt(out->stages[target].name);
	return 0;
}

int fb_plan_build(const struct fb_df *df, const struct fb_plan_opts *o, struct fb_plan *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	struct plan p = { .o = o, .df = df, .escape = df->escape, .out = out };
	int ret = build(&p, df, o, o->file ? o->file : "Dockerfile", err);
	for (size_t i = 0; i < p.nstages; i++) {
		struct stage *st = &p.stages[i];
		fb_vars_free(&st->env);
		fb_vars_free(&st->args);
		fb_vars_free(&st->args_unset);
		fb_vars_free(&st->deps);
	}
	free(p.stages);
	fb_vars_free(&p.meta);
	fb_vars_free(&p.meta_declared);
	fb_vars_free(&p.used_build_args);
	fb_vars_free(&p.unresolved);
	fb_vars_free(&p.skip_rules);
	fb_vars_free(&p.stage_names);
	if (ret < 0)
		fb_plan_free(out);
	return ret;
}
