#include "settings.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

/* getopt_long's values for our options: above any short option */
#define OPT_BASE 0x1000

static bool takes(const struct fb_setting *s, unsigned cmd)
{
	return cmd < sizeof(s->cmds) * 8 && (s->cmds >> cmd) & 1;
}

static long by_flag(const struct fb_settings *t, const char *flag)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].flag, flag))
			return (long)i;
	return -1;
}

/* The setting whose kind and checks apply to s's values: its own, or
 * its `into`'s. */
static size_t target_of(const struct fb_settings *t, size_t id)
{
	if (!t->v[id].into)
		return id;
	long to = by_flag(t, t->v[id].into);
	return to >= 0 ? (size_t)to : id;
}

/* The k-th spelling of s: its flag, then its aliases; NULL past them. */
static const char *spelling(const struct fb_setting *s, size_t k)
{
	if (k == 0)
		return s->flag;
	for (size_t i = 0; s->aliases && s->aliases[i]; i++)
		if (i == k - 1)
			return s->aliases[i];
	return NULL;
}

static int has_arg(enum fb_setting_kind k)
{
	switch (k) {
	case FB_SETTING_BOOL: return optional_argument;
	case FB_SETTING_SWITCH:
	case FB_SETTING_HELP: return no_argument;
	default: return required_argument;
	}
}

bool fb_settings_takes_value(const struct fb_settings *t, size_t id)
{
	return has_arg(t->v[target_of(t, id)].kind) == required_argument;
}

const char *fb_setting_map_lookup(const struct fb_strv *list, const char *key)
{
	const char *r = NULL;
	size_t kl = strlen(key);
	for (size_t i = 0; i < list->n; i++)
		if (!strncmp(list->v[i], key, kl) && list->v[i][kl] == '=')
			r = list->v[i] + kl + 1;
	return r;
}

/* ---- values ---- */

static int parse_int(const char *v, bool secs, long long *out)
{
	if (!*v || *v == ' ' || *v == '+')
		return -1;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (end == v || errno)
		return -1;
	if (secs && *end == 's')
		end++;
	if (*end)
		return -1;
	*out = n;
	return 0;
}

const char *fb_setting_bool_text(const char *value)
{
	return !value || !strcmp(value, "true") || !strcmp(value, "1") ? "true" : "false";
}

int fb_setting_check(const struct fb_setting *s, const char *spelling, const char *value, struct fb_err *err)
{
	const char *eq = value ? strchr(value, '=') : NULL;
	long long n = 0;
	switch (s->kind) {
	case FB_SETTING_STRING:
		if (s->oneof) {
			bool ok = false;
			for (size_t i = 0; s->oneof[i] && !ok; i++)
				ok = !strcmp(s->oneof[i], value);
			if (!ok) {
				struct fb_buf b = FB_BUF_INIT;
				for (size_t i = 0; s->oneof[i]; i++)
					fb_buf_addf(&b, "%s%s", i ? (s->oneof[i + 1] ? ", " : " or ") : "", s->oneof[i]);
				fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s %s: expected %s", spelling, value, fb_buf_str(&b));
				fb_buf_free(&b);
				return -1;
			}
		}
		break;
	case FB_SETTING_INT:
	case FB_SETTING_SECONDS:
		if (parse_int(value, s->kind == FB_SETTING_SECONDS, &n) < 0 || n < s->min || n > s->max) {
			const char *what = s->kind == FB_SETTING_SECONDS ? "seconds (15 or 15s)" : "a number";
			if (s->max == LLONG_MAX)
				return fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s %s: expected %s, at least %lld", spelling, value,
						  what, s->min);
			return fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s %s: expected %s from %lld to %lld", spelling, value, what,
					  s->min, s->max);
		}
		break;
	case FB_SETTING_BOOL:
		if (value && strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "1") && strcmp(value, "0"))
			return fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s: expected true or false, got '%s'", spelling, value);
		break;
	case FB_SETTING_MAP:
	case FB_SETTING_MAP_INT:
		if (!eq || eq == value)
			return fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s %s: expected KEY=VALUE", spelling, value);
		if (s->kind == FB_SETTING_MAP_INT && parse_int(eq + 1, false, &n) < 0)
			return fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s %s: the value must be an integer", spelling, value);
		break;
	case FB_SETTING_LIST:
	case FB_SETTING_SWITCH:
	case FB_SETTING_HELP:
		break;
	}
	return s->check ? s->check(spelling, value, err) : 0;
}

const char *fb_setting_profile_default(const struct fb_setting *s)
{
	if (s->profile_def_fn)
		return s->profile_def_fn();
	return s->profile_def ? s->profile_def : s->def;
}

/* ---- the table ---- */

int fb_settings_validate(const struct fb_settings *t, struct fb_err *err)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct fb_setting *s = &t->v[i];
		if (!s->flag || !s->cmds)
			return fb_err_set(err, FB_EXIT_FAILED, "settings", "setting %zu: no flag or no command", i);
		if (s->group >= t->ngroups)
			return fb_err_set(err, FB_EXIT_FAILED, "settings", "--%s: no group %u", s->flag, s->group);
		if (s->into) {
			long to = by_flag(t, s->into);
			if (to < 0 || t->v[to].into || (s->cmds & ~t->v[to].cmds) || s->key)
				return fb_err_set(err, FB_EXIT_FAILED, "settings",
						  "--%s: --%s is not a setting every command of it takes", s->flag, s->into);
			if (s->into_prefix && t->v[to].kind != FB_SETTING_MAP && t->v[to].kind != FB_SETTING_MAP_INT)
				return fb_err_set(err, FB_EXIT_FAILED, "settings", "--%s: a prefix goes to a map", s->flag);
		}
		if (s->key && fb_settings_by_key(t, s->key) != (long)i)
			return fb_err_set(err, FB_EXIT_FAILED, "settings", "--%s: key %s is another setting's", s->flag, s->key);
		struct fb_err e = { 0 };
		if (s->def && s->kind != FB_SETTING_MAP && s->kind != FB_SETTING_MAP_INT && s->kind != FB_SETTING_LIST &&
		    fb_setting_check(s, s->flag, s->def, &e) < 0)
			return fb_err_set(err, FB_EXIT_FAILED, "settings", "the default of %s", e.msg);
		/* each spelling once among the settings of any command */
		for (size_t ki = 0; spelling(s, ki); ki++)
			for (size_t j = 0; j <= i; j++)
				for (size_t kj = 0; (t->v[i].cmds & t->v[j].cmds) && spelling(&t->v[j], kj); kj++)
					if ((j < i || kj < ki) && !strcmp(spelling(s, ki), spelling(&t->v[j], kj)))
						return fb_err_set(err, FB_EXIT_FAILED, "settings", "--%s is two settings'",
								  spelling(s, ki));
	}
	return 0;
}

long fb_settings_by_key(const struct fb_settings *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].key && !strcmp(t->v[i].key, key))
			return (long)i;
	return -1;
}

long fb_settings_by_flag(const struct fb_settings *t, unsigned cmd, const char *name, size_t len)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct fb_setting *s = &t->v[i];
		for (size_t k = 0; takes(s, cmd) && spelling(s, k); k++)
			if (strlen(spelling(s, k)) == len && !strncmp(spelling(s, k), name, len))
				return (long)i;
	}
	return -1;
}

/* ---- parsing ---- */

static void seen_add(struct fb_opts *o, size_t id, const char *spelling, const char *value)
{
	o->seen = fb_xrealloc(o->seen, (o->nseen + 1) * sizeof(*o->seen));
	o->seen[o->nseen++] = (struct fb_opt_seen){ id, spelling, value };
}

/* One flag as given: checked by its target's kind, recorded there. */
static int take(struct fb_opts *o, size_t id, const char *spelling, const char *arg, struct fb_err *err)
{
	const struct fb_settings *t = o->t;
	size_t to = target_of(t, id);
	const struct fb_setting *s = &t->v[to];
	const char *value = arg;
	if (t->v[id].into_prefix && arg) {
		fb_strv_push_owned(&o->owned, fb_xasprintf("%s%s", t->v[id].into_prefix, arg));
		value = o->owned.v[o->owned.n - 1];
	}
	if (fb_setting_check(s, spelling, value, err) < 0)
		return -1;
	struct fb_opt_value *v = &o->v[to];
	v->n++;
	v->spelling = spelling;
	switch (s->kind) {
	case FB_SETTING_BOOL: v->value = fb_setting_bool_text(value); break;
	case FB_SETTING_SWITCH: v->value = NULL; break;
	case FB_SETTING_LIST:
	case FB_SETTING_MAP:
	case FB_SETTING_MAP_INT:
		fb_strv_push(&v->all, value);
		v->value = v->all.v[v->all.n - 1];
		break;
	default: v->value = value; break;
	}
	seen_add(o, to, spelling, value);
	if (s->apply)
		s->apply(v->value);
	return 0;
}

/* getopt_long said '?': the flag it could not take, named as given. */
static int bad_option(char **argv, int optind_, int optopt_, struct fb_err *err)
{
	const char *arg = optind_ > 0 ? argv[optind_ - 1] : NULL;
	if (!arg || strncmp(arg, "--", 2)) {
		if (optopt_ > 0 && optopt_ < 0x100)
			return fb_err_set(err, FB_EXIT_USAGE, "usage", "unknown option '-%c'", optopt_);
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "unknown option '%s'", arg ? arg : "?");
	}
	const char *eq = strchr(arg, '=');
	int n = eq ? (int)(eq - arg) : (int)strlen(arg);
	if (!optopt_)
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "unknown option '%.*s'", n, arg);
	if (eq)
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "option '%.*s' takes no value", n, arg);
	return fb_err_set(err, FB_EXIT_USAGE, "usage", "option '%s' needs a value", arg);
}

int fb_opts_parse(struct fb_opts *o, const struct fb_settings *t, unsigned cmd, int argc, char **argv, unsigned flags,
		  struct fb_err *err)
{
	*o = (struct fb_opts){ .t = t, .owned = FB_STRV_INIT };
	o->v = fb_xcalloc(t->n ? t->n : 1, sizeof(*o->v));
	if (fb_settings_validate(t, err) < 0)
		return -1;
	/* the long options: every spelling of the command's settings */
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; takes(&t->v[i], cmd) && spelling(&t->v[i], k); k++)
			n++;
	struct option *lo = fb_xcalloc(n + 1, sizeof(*lo));
	size_t *ids = fb_xcalloc(n + 1, sizeof(*ids));
	n = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct fb_setting *s = &t->v[i];
		if (!takes(s, cmd))
			continue;
		int ha = has_arg(t->v[target_of(t, i)].kind);
		for (size_t k = 0; spelling(s, k); k++) {
			lo[n] = (struct option){ spelling(s, k), ha, NULL, OPT_BASE + (int)n };
			ids[n++] = i;
		}
	}
	int saved_opterr = opterr, c, ret = 0;
	opterr = 0;
	optind = 0; /* a full start: this may run more than once */
	while ((c = getopt_long(argc, argv, flags & FB_OPTS_IN_ORDER ? "+" : "", lo, NULL)) != -1) {
		if (c < OPT_BASE || (size_t)(c - OPT_BASE) >= n) {
			ret = bad_option(argv, optind, optopt, err);
			break;
		}
		size_t k = (size_t)(c - OPT_BASE);
		if (t->v[ids[k]].kind == FB_SETTING_HELP) {
			o->help = true;
			break;
		}
		if (take(o, ids[k], lo[k].name, optarg, err) < 0) {
			ret = -1;
			break;
		}
	}
	opterr = saved_opterr;
	/* what the environment says for what the command line did not */
	for (size_t i = 0; ret == 0 && !o->help && i < t->n; i++) {
		const struct fb_setting *s = &t->v[i];
		const char *ev = s->env && takes(s, cmd) && !o->v[i].n ? getenv(s->env) : NULL;
		if (!ev || !*ev)
			continue;
		if (fb_setting_check(s, s->flag, ev, err) < 0) {
			fb_err_prefix(err, "%s=%s in the environment", s->env, ev);
			ret = -1;
			break;
		}
		o->v[i].n = 1;
		o->v[i].value = ev;
		o->v[i].spelling = s->env;
	}
	if (ret == 0 && !o->help) {
		o->args = argv + optind;
		o->nargs = argc - optind;
		if ((flags & FB_OPTS_NO_ARGS) && o->nargs)
			ret = fb_err_set(err, FB_EXIT_USAGE, "usage", "unexpected argument '%s'", o->args[0]);
	}
	free(lo);
	free(ids);
	return ret;
}

void fb_opts_free(struct fb_opts *o)
{
	if (o->v && o->t)
		for (size_t i = 0; i < o->t->n; i++)
			fb_strv_free(&o->v[i].all);
	free(o->v);
	free(o->seen);
	fb_strv_free(&o->owned);
	*o = (struct fb_opts){ .t = o->t };
}

bool fb_opts_given(const struct fb_opts *o, size_t id)
{
	return o->v && id < o->t->n && o->v[id].n > 0;
}

const char *fb_opts_str(const struct fb_opts *o, size_t id)
{
	return fb_opts_given(o, id) ? o->v[id].value : NULL;
}

long long fb_opts_int(const struct fb_opts *o, size_t id)
{
	const char *v = fb_opts_given(o, id) ? o->v[id].value : o->t->v[id].def;
	long long n = 0;
	if (v && parse_int(v, true, &n) < 0)
		n = 0;
	return n;
}

bool fb_opts_bool(const struct fb_opts *o, size_t id)
{
	if (fb_opts_given(o, id))
		return o->t->v[id].kind == FB_SETTING_SWITCH || !strcmp(o->v[id].value, "true");
	const char *d = o->t->v[id].def;
	return d && !strcmp(fb_setting_bool_text(d), "true");
}

const struct fb_strv *fb_opts_list(const struct fb_opts *o, size_t id)
{
	return &o->v[id].all;
}

const char *fb_opts_map_get(const struct fb_opts *o, size_t id, const char *key)
{
	return fb_setting_map_lookup(&o->v[id].all, key);
}

/* ---- help and completion ---- */

#define HELP_COL 29   /* where the help text starts */
#define HELP_WIDTH 80 /* lines stay shorter */

/* text, wrapped at spaces into HELP_COL.. HELP_WIDTH - 1, from column col */
static void wrap(FILE *f, const char *text, size_t col)
{
	const char *p = text;
	while (*p) {
		size_t w = strcspn(p, " ");
		if (col > HELP_COL && col + 1 + w >= HELP_WIDTH) {
			fprintf(f, "\n%*s", HELP_COL, "");
			col = HELP_COL;
		} else if (col > HELP_COL) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, w, f);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void help_line(FILE *f, const struct fb_settings *t, size_t id)
{
	const struct fb_setting *s = &t->v[id], *to = &t->v[target_of(t, id)];
	const char *arg = s->arg ? s->arg : to->arg;
	struct fb_buf left = FB_BUF_INIT, right = FB_BUF_INIT, paren = FB_BUF_INIT;
	fb_buf_addf(&left, "  --%s", s->flag);
	if (has_arg(to->kind) == required_argument && arg)
		fb_buf_addf(&left, " %s", arg);
	if (s->into && s->into_prefix)
		fb_buf_addf(&right, "the same as --%s %s%s", s->into, s->into_prefix, arg ? arg : "");
	else if (s->into)
		fb_buf_addf(&right, "the same as --%s", s->into);
	else if (s->help)
		fb_buf_adds(&right, s->help);
	if (s->def && s->kind != FB_SETTING_BOOL && s->kind != FB_SETTING_SWITCH)
		fb_buf_adds(&paren, s->def);
	for (size_t k = 0; s->aliases && s->aliases[k]; k++)
		fb_buf_addf(&paren, "%s--%s", k ? ", " : paren.len ? "; also " : "also ", s->aliases[k]);
	if (paren.len)
		fb_buf_addf(&right, "%s(%s)", right.len ? " " : "", fb_buf_str(&paren));
	fputs(fb_buf_str(&left), f);
	size_t col = left.len;
	if (!right.len) {
		fputc('\n', f);
	} else if (col < HELP_COL - 1) {
		fprintf(f, "%*s", (int)(HELP_COL - col), "");
		wrap(f, fb_buf_str(&right), HELP_COL);
	} else {
		fputc(' ', f);
		wrap(f, fb_buf_str(&right), col + 1);
	}
	fb_buf_free(&left);
	fb_buf_free(&right);
	fb_buf_free(&paren);
}

void fb_settings_help(FILE *f, const struct fb_settings *t, unsigned long cmds)
{
	bool first = true;
	for (unsigned g = 0; g < t->ngroups; g++) {
		bool titled = false;
		for (size_t i = 0; i < t->n; i++) {
			if (t->v[i].group != g || (t->v[i].cmds & cmds) != cmds)
				continue;
			if (!titled && t->groups[g]) {
				fprintf(f, "%s%s\n", first ? "" : "\n", t->groups[g]);
				titled = true;
			}
			first = false;
			help_line(f, t, i);
		}
	}
}

void fb_settings_spellings(const struct fb_settings *t, unsigned cmd, struct fb_strv *out)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct fb_setting *s = &t->v[i];
		for (size_t k = 0; takes(s, cmd) && spelling(s, k); k++)
			fb_strv_push_owned(out, fb_xasprintf("--%s", spelling(s, k)));
	}
}
