/* The planner's instructions (planner.h): flags parsed as BuildKit's
 * BFlags, each instruction checked and expanded into its struct. */
#include "planner.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "plan.h"
#include "util.h"

/* ---- flags (BuildKit's BFlags) ---- */

enum ftype { F_BOOL, F_STRING, F_STRINGS };
struct flagspec {
	const char *name;
	enum ftype type;
};
struct flagval {
	bool set;
	bool b;
	char *s;
	struct fb_strv v;
};

#define MAXFLAGS 8
struct flags {
	const struct flagspec *spec;
	size_t n;
	struct flagval val[MAXFLAGS];
};

static void flags_free(struct flags *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->val[i].s);
		fb_strv_free(&f->val[i].v);
	}
}

static struct flagval *flag(struct flags *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->spec[i].name, name))
			return &f->val[i];
	return NULL;
}

static int parse_flags(const char *kw, const struct fb_strv *raw, const struct flagspec *spec, size_t nspec,
		       struct flags *f, struct fb_err *err)
{
	memset(f, 0, sizeof(*f));
	f->spec = spec;
	f->n = nspec;
	for (size_t i = 0; i < raw->n; i++) {
		const char *a = raw->v[i];
		if (strncmp(a, "--", 2) != 0)
			return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s: arguments to %s must start with --: %s", kw, kw, a);
		a += 2;
		const char *eq = strchr(a, '=');
		FB_AUTOFREE char *name = eq ? fb_xstrndup(a, (size_t)(eq - a)) : fb_xstrdup(a);
		size_t k;
		for (k = 0; k < nspec; k++)
			if (!strcasecmp(spec[k].name, name))
				break;
		if (k == nspec)
			return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s: unknown flag: --%s", kw, name);
		struct flagval *v = &f->val[k];
		if (v->set && spec[k].type != F_STRINGS)
			return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s: duplicate flag specified: --%s", kw, name);
		v->set = true;
		switch (spec[k].type) {
		case F_BOOL:
			if (!eq || !strcasecmp(eq + 1, "true"))
				v->b = true;
			else if (!strcasecmp(eq + 1, "false"))
				v->b = false;
			else
				return fb_err_set(err, FB_EXIT_USAGE, "syntax",
						  "%s: expecting boolean value for flag --%s, not: %s", kw, name, eq + 1);
			break;
		case F_STRING:
			if (!eq)
				return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s: missing a value on flag: --%s", kw, name);
			v->s = fb_xstrdup(eq + 1);
			break;
		case F_STRINGS:
			if (!eq)
				return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s: missing a value on flag: --%s", kw, name);
			fb_strv_push(&v->v, eq + 1);
			break;
		}
	}
	return 0;
}

static const struct flagspec copy_flags[] = { { "from", F_STRING },  { "chown", F_STRING },
					      { "chmod", F_STRING }, { "link", F_BOOL },
					      { "parents", F_BOOL }, { "exclude", F_STRINGS } };
static const struct flagspec add_flags[] = { { "chown", F_STRING },	  { "chmod", F_STRING },
					     { "link", F_BOOL },	  { "keep-git-dir", F_BOOL },
					     { "checksum", F_STRING }, { "exclude", F_STRINGS },
					     { "unpack", F_BOOL } };
static const struct flagspec run_flags[] = { { "mount", F_STRINGS }, { "network", F_STRING }, { "security", F_STRING } };
static const struct flagspec health_flags[] = { { "interval", F_STRING },	  { "timeout", F_STRING },
						{ "start-period", F_STRING }, { "start-interval", F_STRING },
						{ "retries", F_STRING } };
static const struct flagspec from_flags[] = { { "platform", F_STRING } };

int plan_from_flags(const struct fb_df_node *n, char **platform, struct fb_err *err)
{
	struct flags f;
	int r = parse_flags("FROM", &n->flags, from_flags, FB_ARRAY_LEN(from_flags), &f, err);
	struct flagval *pv = flag(&f, "platform");
	if (r == 0 && pv && pv->set) {
		*platform = pv->s;
		pv->s = NULL;
	}
	flags_free(&f);
	return r;
}

int plan_no_flags(const struct fb_df_node *n, const char *kw, struct fb_err *err)
{
	struct flags f;
	int r = parse_flags(kw, &n->flags, NULL, 0, &f, err);
	flags_free(&f);
	return r;
}

/* ---- checks of values ---- */

static bool valid_chmod(const char *s)
{
	size_t n = strlen(s);
	if (n >= 3 && n <= 4 && strspn(s, "01234567") == n)
		return true;
	/* symbolic: [ugoa]*[-+=][rwxXst]*(,...)* */
	const char *p = s;
	for (;;) {
		p += strspn(p, "ugoa");
		if (*p != '-' && *p != '+' && *p != '=')
			return false;
		p++;
		p += strspn(p, "rwxXst");
		if (!*p)
			return true;
		if (*p++ != ',')
			return false;
	}
}

static bool valid_signal(const char *s)
{
	static const char *const names[] = { "HUP",  "INT",  "QUIT", "ILL",	"TRAP", "ABRT", "IOT",	  "BUS",  "FPE",
					     "KILL", "USR1", "SEGV", "USR2",	"PIPE", "ALRM", "TERM",	  "STKFLT", "CHLD",
					     "CONT", "STOP", "TSTP", "TTIN",	"TTOU", "URG",	"XCPU",	  "XFSZ", "VTALRM",
					     "PROF", "WINCH", "IO",  "POLL",	"PWR",	"SYS",	"RTMIN",  "RTMAX" };
	if (plan_is_integer(s))
		return strtol(s, NULL, 10) > 0 && strtol(s, NULL, 10) < 65;
	const char *n = s;
	if (!strncasecmp(n, "SIG", 3))
		n += 3;
	for (size_t i = 0; i < FB_ARRAY_LEN(names); i++) {
		size_t l = strlen(names[i]);
		if (!strncasecmp(n, names[i], l)) {
			const char *r = n + l;
			if (!*r)
				return true;
			if ((!strncasecmp(names[i], "RTM", 3)) && (*r == '+' || *r == '-') && plan_is_integer(r + 1))
				return true;
		}
	}
	return false;
}

static bool valid_port(const char *s)
{
	const char *p = s;
	size_t d = strspn(p, "0123456789");
	if (!d)
		return false;
	p += d;
	if (*p == '-') {
		p++;
		d = strspn(p, "0123456789");
		if (!d)
			return false;
		p += d;
	}
	if (!*p)
		return true;
	if (*p++ != '/')
		return false;
	return !strcasecmp(p, "tcp") || !strcasecmp(p, "udp") || !strcasecmp(p, "sctp");
}

/* ---- the instructions ---- */

/* The command forms of RUN, CMD, ENTRYPOINT, SHELL. */
static void command_form(struct fb_plan_ins *ins, const struct fb_df_node *n)
{
	ins->has_form = true;
	ins->exec_form = n->json;
	ins->has_args = true;
	for (size_t i = 0; i < n->args.n; i++)
		fb_strv_push(&ins->args, n->args.v[i]);
}

static int need_args(const struct fb_df_node *n, const char *kw, size_t min, size_t max, struct fb_err *err)
{
	if (n->args.n < min) {
		if (min == 1)
			return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s requires at least one argument", kw);
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s requires at least %zu arguments", kw, min);
	}
	if (max && n->args.n > max) {
		if (max == 1)
			return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s requires exactly one argument", kw);
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s takes at most %zu arguments", kw, max);
	}
	return 0;
}

static struct fb_plan_source *add_source(struct fb_plan_ins *ins)
{
	ins->sources = fb_xrealloc(ins->sources, (ins->nsources + 1) * sizeof(*ins->sources));
	struct fb_plan_source *s = &ins->sources[ins->nsources++];
	memset(s, 0, sizeof(*s));
	return s;
}

static int copy_like(struct plan *p, const struct fb_df_node *n, const char *kw, struct fb_plan_ins *ins, struct fb_err *err)
{
	bool is_add = !strcmp(kw, "ADD");
	struct flags f;
	int ret = -1;
	if (parse_flags(kw, &n->flags, is_add ? add_flags : copy_flags, is_add ? FB_ARRAY_LEN(add_flags) : FB_ARRAY_LEN(copy_flags), &f, err) < 0)
		goto out;
	if (n->args.n < 2) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax",
			   "%s requires at least two arguments, but only one was provided. Destination could not be determined.", kw);
		goto out;
	}
	size_t hd = 0;
	for (size_t i = 0; i + 1 < n->args.n; i++) {
		struct fb_df_heredoc h = { 0 };
		int r = n->json ? 0 : fb_df_heredoc_word(n->args.v[i], &h, err);
		if (r < 0)
			goto out;
		free(h.name);
		if (r == 1 && hd < n->nheredocs) {
			const struct fb_df_heredoc *real = &n->heredocs[hd++];
			char *body = real->chomp ? fb_df_chomp(real->content) : fb_xstrdup(real->content);
			if (real->expand) {
				/* heredoc bodies expand without quote processing */
				struct fb_shlex lx = { .escape = '\\', .skip_quotes = true, .lookup = plan_lookup_stage, .ctx = p,
						       .skip_unset = p->cur->open, .work = &p->work };
				char *e;
				if (fb_shlex_word(&lx, body, &e, err) < 0) {
					free(body);
					goto out;
				}
				free(body);
				body = e;
				if (plan_count_expanded(p, strlen(e), err) < 0) {
					free(body);
					goto out;
				}
			}
			struct fb_plan_source *s = add_source(ins);
			s->heredoc = fb_xstrdup(real->name);
			s->expand = real->expand;
			s->body = body;
			continue;
		}
		char *e;
		if (plan_expand(p, n->args.v[i], &e, err) < 0)
			goto out;
		add_source(ins)->path = e;
	}
	if (plan_expand(p, n->args.v[n->args.n - 1], &ins->dest, err) < 0)
		goto out;

	struct flagval *v;
	static const char *const strflags[] = { "chown", "chmod", "checksum" };
	for (size_t i = 0; i < FB_ARRAY_LEN(strflags); i++) {
		if (!(v = flag(&f, strflags[i])) || !v->set)
			continue;
		char *e;
		if (plan_expand(p, v->s, &e, err) < 0)
			goto out;
		if (!strcmp(strflags[i], "chmod") && !strchr(e, '$') && !valid_chmod(e)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s --chmod=%s: expected an octal mode (0755) or a symbolic one (u+x)", kw, e);
			free(e);
			goto out;
		}
		if (!strcmp(strflags[i], "checksum") && !strchr(e, '$')) {
			const char *c = strchr(e, ':');
			bool ok = c && (!strncmp(e, "sha256:", 7) || !strncmp(e, "sha384:", 7) || !strncmp(e, "sha512:", 7)) &&
				  strspn(c + 1, "0123456789abcdef") == strlen(c + 1) && strlen(c + 1) >= 64;
			if (!ok) {
				fb_err_set(err, FB_EXIT_USAGE, "syntax", "ADD --checksum=%s: expected sha256:<hex digest>", e);
				free(e);
				goto out;
			}
		}
		char **dst = i == 0 ? &ins->chown : i == 1 ? &ins->chmod : &ins->checksum;
		*dst = e;
	}
	if ((v = flag(&f, "from")) && v->set && plan_resolve_from(p, kw, v->s, &ins->from, err) < 0)
		goto out;
	if ((v = flag(&f, "link")) && v->set)
		ins->link = v->b;
	if ((v = flag(&f, "parents")) && v->set)
		ins->parents = v->b;
	if ((v = flag(&f, "keep-git-dir")) && v->set)
		ins->keep_git_dir = v->b;
	if ((v = flag(&f, "unpack")) && v->set)
		ins->unpack = v->b;
	if ((v = flag(&f, "exclude")) && v->set) {
		ins->has_exclude = true;
		if (plan_expand_strv(p, &v->v, 0, v->v.n, &ins->exclude, err) < 0)
			goto out;
	}
	ret = 0;
out:
	flags_free(&f);
	return ret;
}

static int run_instr(struct plan *p, const struct fb_df_node *n, struct fb_plan_ins *ins, struct fb_err *err)
{
	struct flags f;
	int ret = -1;
	if (parse_flags("RUN", &n->flags, run_flags, FB_ARRAY_LEN(run_flags), &f, err) < 0)
		goto out;
	if (n->args.n == 0 && n->nheredocs == 0) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN requires at least one argument");
		goto out;
	}
	command_form(ins, n);
	if (n->nheredocs) {
		ins->heredocs = fb_xcalloc(n->nheredocs, sizeof(*ins->heredocs));
		for (size_t i = 0; i < n->nheredocs; i++) {
			const struct fb_df_heredoc *h = &n->heredocs[i];
			struct fb_plan_heredoc *o = &ins->heredocs[ins->nheredocs++];
			o->name = fb_xstrdup(h->name);
			o->fd = (int)h->fd;
			o->expand = h->expand;
			o->chomp = h->chomp;
			o->body = h->chomp ? fb_df_chomp(h->content) : fb_xstrdup(h->content);
		}
	}
	struct flagval *v = flag(&f, "mount");
	ins->has_mounts = true;
	int nssh = 0;
	for (size_t i = 0; v && i < v->v.n; i++) {
		struct fb_plan_mount m;
		if (plan_parse_mount(p, v->v.v[i], nssh, &m, err) < 0)
			goto out;
		if (!strcmp(m.type, "ssh"))
			nssh++;
		ins->mounts = fb_xrealloc(ins->mounts, (ins->nmounts + 1) * sizeof(*ins->mounts));
		ins->mounts[ins->nmounts++] = m;
	}
	if ((v = flag(&f, "network")) && v->set) {
		if (plan_expand(p, v->s, &ins->network, err) < 0)
			goto out;
		if (strcmp(ins->network, "default") && strcmp(ins->network, "none") && strcmp(ins->network, "host")) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --network=%s: expected default, none or host", ins->network);
			goto out;
		}
	} else {
		ins->network = fb_xstrdup("default");
	}
	const char *sec = "sandbox";
	if ((v = flag(&f, "security")) && v->set) {
		sec = v->s;
		if (strcmp(sec, "sandbox") && strcmp(sec, "insecure")) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --security=%s: expected sandbox or insecure", sec);
			goto out;
		}
	}
	ins->security = fb_xstrdup(sec);
	/* The ARGs a RUN sees in its environment (ENV wins over them). */
	ins->has_args_env = true;
	for (size_t i = 0; i < p->cur->args.keys.n; i++) {
		const char *k = p->cur->args.keys.v[i];
		if (plan_set_has(&p->cur->args_unset, k))
			continue;
		if (plan_count_expanded(p, strlen(p->cur->args.vals.v[i]), err) < 0)
			goto out;
		fb_vars_set(&ins->args_env, k, p->cur->args.vals.v[i]);
	}
	static const char *const proxies[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
					       "ftp_proxy",  "NO_PROXY",   "no_proxy",	  "ALL_PROXY",	 "all_proxy" };
	for (size_t i = 0; i < FB_ARRAY_LEN(proxies); i++) {
		const char *v2 = fb_vars_get(&p->o->build_args, proxies[i]);
		if (v2) {
			fb_vars_set(&ins->args_env, proxies[i], v2);
			plan_use_build_arg(p, proxies[i]);
		}
	}
	ret = 0;
out:
	flags_free(&f);
	return ret;
}

static int health_instr(const struct fb_df_node *n, struct fb_plan_ins *ins, struct fb_err *err)
{
	struct flags f;
	int ret = -1;
	if (parse_flags("HEALTHCHECK", &n->flags, health_flags, FB_ARRAY_LEN(health_flags), &f, err) < 0)
		goto out;
	if (n->args.n == 0) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK requires at least one argument");
		goto out;
	}
	struct fb_plan_health *hc = ins->health = fb_xcalloc(1, sizeof(*hc));
	hc->interval = hc->timeout = hc->start_period = hc->start_interval = hc->retries = -1;
	hc->has_test = true;
	const char *typ = n->args.v[0];
	if (!strcasecmp(typ, "NONE")) {
		if (n->args.n > 1 || n->flags.n) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK NONE takes no arguments");
			goto out;
		}
		fb_strv_push(&hc->test, "NONE");
	} else if (!strcasecmp(typ, "CMD")) {
		if (n->args.n < 2) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "Missing command after HEALTHCHECK CMD");
			goto out;
		}
		if (n->json) {
			fb_strv_push(&hc->test, "CMD");
			for (size_t i = 1; i < n->args.n; i++)
				fb_strv_push(&hc->test, n->args.v[i]);
		} else {
			fb_strv_push(&hc->test, "CMD-SHELL");
			fb_strv_push(&hc->test, n->args.v[1]);
		}
	} else {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
		goto out;
	}
	static const char *const durs[] = { "interval", "timeout", "start-period", "start-interval" };
	int64_t *dst[] = { &hc->interval, &hc->timeout, &hc->start_period, &hc->start_interval };
	for (size_t i = 0; i < FB_ARRAY_LEN(durs); i++) {
		struct flagval *v = flag(&f, durs[i]);
		if (!v || !v->set)
			continue;
		long long ns;
		if (fb_parse_duration(v->s, &ns) < 0) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK --%s=%s: not a duration (30s, 1m30s, 500ms)", durs[i], v->s);
			goto out;
		}
		if (ns != 0 && ns < 1000000) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK --%s=%s cannot be less than 1ms", durs[i], v->s);
			goto out;
		}
		*dst[i] = ns;
	}
	struct flagval *r = flag(&f, "retries");
	if (r && r->set) {
		char *end;
		long v = strtol(r->s, &end, 10);
		if (*end || end == r->s || v < 0) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK --retries=%s: expected a number of 0 or more", r->s);
			goto out;
		}
		hc->retries = v;
	}
	ret = 0;
out:
	flags_free(&f);
	return ret;
}

/* ENV and LABEL: expand every key and value with the state before. */
static int pairs_instr(struct plan *p, const struct fb_df_node *n, const char *kw, struct fb_plan_ins *ins, struct fb_err *err)
{
	if (n->args.n == 0)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s requires at least one argument", kw);
	if (n->args.n >= 3 && !strcmp(n->args.v[2], ""))
		plan_warn(p, "LegacyKeyValueFormat", n->start_line,
			  "\"%s key=value\" should be used instead of legacy \"%s key value\" format", kw, kw);
	struct fb_vars newenv = { 0 };
	int ret = -1;
	ins->pairs = fb_xcalloc(n->args.n / 2 + 1, sizeof(*ins->pairs));
	for (size_t i = 0; i + 1 < n->args.n; i += 3) {
		char *k, *v;
		if (plan_expand(p, n->args.v[i], &k, err) < 0)
			goto out;
		if (plan_expand(p, n->args.v[i + 1], &v, err) < 0) {
			free(k);
			goto out;
		}
		if (!*k) {
			free(k);
			free(v);
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s names must not be empty", kw);
			goto out;
		}
		ins->pairs[ins->npairs++] = (struct fb_plan_pair){ k, v };
		fb_vars_set(&newenv, k, v);
	}
	if (!strcmp(kw, "ENV"))
		fb_vars_copy(&p->cur->env, &newenv);
	ret = 0;
out:
	fb_vars_free(&newenv);
	return ret;
}

/* ARG, in a stage or (meta == true) before the first FROM. */
int plan_arg_instr(struct plan *p, const struct fb_df_node *n, bool meta, struct fb_plan_ins *ins, struct fb_err *err)
{
	if (n->args.n == 0)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "ARG requires at least one argument");
	struct fb_plan_arg **list = meta ? &p->out->args : &ins->arg_list;
	size_t *nlist = meta ? &p->out->nargs : &ins->nargs;
	*list = fb_xrealloc(*list, (*nlist + n->args.n) * sizeof(**list));
	for (size_t i = 0; i < n->args.n; i++) {
		const char *w = n->args.v[i];
		const char *eq = strchr(w, '=');
		FB_AUTOFREE char *rawname = eq ? fb_xstrndup(w, (size_t)(eq - w)) : fb_xstrdup(w);
		char *name;
		if (plan_expand(p, rawname, &name, err) < 0)
			return -1;
		if (!*name) {
			free(name);
			return fb_err_set(err, FB_EXIT_USAGE, "syntax", "ARG names can not be blank");
		}
		char *value = NULL;
		const char *given = fb_vars_get(&p->o->build_args, name);
		if (eq && plan_expand(p, eq + 1, &value, err) < 0) {
			free(name);
			return -1;
		}
		const char *final = NULL;
		if (given) {
			final = given;
			plan_use_build_arg(p, name);
		} else if (value) {
			final = value;
		} else {
			/* ARG NAME in a stage takes the global value (or a platform arg). */
			final = fb_vars_get(&p->meta, name);
		}
		struct fb_plan_arg *a = &(*list)[(*nlist)++];
		a->name = name;
		a->def = value;
		a->value = final ? fb_xstrdup(final) : NULL;
		a->line = n->start_line;
		if (meta) {
			if (final)
				fb_vars_set(&p->meta, name, final);
			plan_set_add(&p->meta_declared, name);
		} else {
			fb_vars_set(&p->cur->args, name, final ? final : "");
			if (!final)
				plan_set_add(&p->cur->args_unset, name);
			else
				plan_set_del(&p->cur->args_unset, name);
		}
	}
	return 0;
}

static const char *const known_instructions[] = { "ADD",     "ARG",	    "CMD",   "COPY",	   "ENTRYPOINT",
						  "ENV",     "EXPOSE",	    "FROM",  "HEALTHCHECK", "LABEL",
						  "MAINTAINER", "ONBUILD",  "RUN",   "SHELL",	   "STOPSIGNAL",
						  "USER",    "VOLUME",	    "WORKDIR" };

bool plan_known(const char *kw)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(known_instructions); i++)
		if (!strcasecmp(kw, known_instructions[i]))
			return true;
	return false;
}

/* A near miss: "RUNN" -> "RUN" (edit distance 1 or a prefix). */
static const char *suggest(const char *kw)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(known_instructions); i++) {
		const char *k = known_instructions[i];
		size_t a = strlen(kw), b = strlen(k);
		if (a + 1 < b || b + 1 < a)
			continue;
		/* one substitution, insertion or deletion */
		size_t x = 0, y = 0, edits = 0;
		while (x < a && y < b && edits <= 1) {
			if (toupper((unsigned char)kw[x]) == k[y]) {
				x++, y++;
				continue;
			}
			edits++;
			if (a > b)
				x++;
			else if (b > a)
				y++;
			else
				x++, y++;
		}
		edits += (a - x) + (b - y);
		if (edits <= 1)
			return k;
	}
	return NULL;
}

int plan_unknown_instruction(const char *kw, struct fb_err *err)
{
	FB_AUTOFREE char *up = fb_xstrdup(kw);
	for (char *c = up; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	const char *s = suggest(kw);
	if (s)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "unknown instruction: %s (did you mean %s?)", up, s);
	return fb_err_set(err, FB_EXIT_USAGE, "syntax", "unknown instruction: %s", up);
}

static int expose_instr(struct plan *p, const struct fb_df_node *n, struct fb_plan_ins *ins, struct fb_err *err)
{
	struct fb_strv words = FB_STRV_INIT;
	int r = need_args(n, "EXPOSE", 1, 0, err);
	if (r == 0)
		r = plan_expand_strv(p, &n->args, 0, n->args.n, &words, err);
	for (size_t i = 0; i < words.n && r == 0; i++) {
		struct fb_strv parts = FB_STRV_INIT;
		struct fb_shlex lx = { .escape = p->escape };
		struct fb_err e2 = { 0 };
		/* the expansion was checked above: a failure here keeps the
		 * words as far as they split */
		if (fb_shlex_words(&lx, words.v[i], &parts, &e2) < 0 && !parts.n)
			continue;
		for (size_t k = 0; k < parts.n && r == 0; k++) {
			const char *port = parts.v[k];
			if (strchr(port, '$')) {
				fb_strv_push(&ins->ports, port);
			} else if (!valid_port(port)) {
				r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "EXPOSE %s: expected PORT[-PORT][/tcp|udp|sctp]", port);
			} else {
				FB_AUTOFREE char *lp = plan_lower(port);
				fb_strv_push_owned(&ins->ports, strchr(lp, '/') ? fb_xstrdup(lp) : fb_xasprintf("%s/tcp", lp));
			}
		}
		fb_strv_free(&parts);
	}
	fb_strv_free(&words);
	return r;
}

static int one_value_instr(struct plan *p, const struct fb_df_node *n, const char *kw, struct fb_plan_ins *ins,
			   struct fb_err *err)
{
	if (need_args(n, kw, 1, 1, err) < 0)
		return -1;
	char *v = NULL;
	int r = 0;
	if (!strcmp(kw, "MAINTAINER")) {
		v = fb_xstrdup(n->args.v[0]);
		plan_warn(p, "MaintainerDeprecated", n->start_line, "Maintainer instruction is deprecated in favor of using label");
	} else if ((r = plan_expand(p, n->args.v[0], &v, err)) < 0) {
		return -1;
	}
	if (!strcmp(kw, "STOPSIGNAL") && !strchr(v, '$') && !valid_signal(v))
		r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "STOPSIGNAL %s: not a signal name or number", v);
	if (r == 0 && !strcmp(kw, "USER") && !*v)
		r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "USER requires a user name or uid");
	if (r == 0 && !strcmp(kw, "WORKDIR")) {
		if (!*v)
			r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "WORKDIR requires a path");
		else if (v[0] == '/')
			p->cur->has_abs_workdir = true;
		else if (!p->cur->has_abs_workdir && !p->unresolved.keys.n)
			plan_warn(p, "WorkdirRelativePath", n->start_line,
				  "Relative workdir \"%s\" can have unexpected results if the base image changes", v);
	}
	if (r < 0) {
		free(v);
		return -1;
	}
	ins->value = v;
	return 0;
}

static int onbuild_instr(const struct fb_df_node *n, struct fb_plan_ins *ins, struct fb_err *err)
{
	if (!n->sub)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "ONBUILD requires at least one argument");
	const char *t = n->sub->keyword;
	if (!strcasecmp(t, "ONBUILD"))
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	if (!strcasecmp(t, "FROM") || !strcasecmp(t, "MAINTAINER"))
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s isn't allowed as an ONBUILD trigger", t);
	if (!plan_known(t))
		return plan_unknown_instruction(t, err);
	/* The trigger keeps its heredoc bodies so a child build can re-parse it. */
	const char *o = n->original;
	while (fb_ascii_isspace((unsigned char)*o))
		o++;
	o += strlen(n->keyword);
	while (fb_ascii_isspace((unsigned char)*o))
		o++;
	struct fb_buf tb = FB_BUF_INIT;
	fb_buf_adds(&tb, o);
	for (size_t i = 0; i < n->nheredocs; i++)
		fb_buf_addf(&tb, "\n%s%s", n->heredocs[i].content, n->heredocs[i].name);
	ins->trigger = fb_buf_steal(&tb);
	ins->trigger_cmd = fb_xstrdup(t);
	for (char *c = ins->trigger_cmd; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	return 0;
}

int plan_stage_instr(struct plan *p, const struct fb_df_node *n, struct fb_plan_ins *ins, struct fb_err *err)
{
	FB_AUTOFREE char *kw = fb_xstrdup(n->keyword);
	for (char *c = kw; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	fb_plan_ins_init(ins, (enum fb_plan_cmd)fb_plan_cmd_of(kw));
	ins->line = n->start_line;
	ins->end_line = n->end_line;
	ins->original = fb_xstrdup(n->original);
	for (size_t i = 0; i < n->flags.n; i++)
		fb_strv_push(&ins->flags, n->flags.v[i]);
	fb_vars_free(&p->unresolved);
	int r = 0;

	switch (ins->cmd) {
	case FB_CMD_RUN:
		r = run_instr(p, n, ins, err);
		break;
	case FB_CMD_COPY:
	case FB_CMD_ADD:
		r = copy_like(p, n, kw, ins, err);
		break;
	case FB_CMD_HEALTHCHECK:
		r = health_instr(n, ins, err);
		if (r == 0 && ++p->cur->nhealth == 2)
			plan_warn(p, "MultipleInstructionsDisallowed", n->start_line,
				  "Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used");
		break;
	default:
		if ((r = plan_no_flags(n, kw, err)) < 0)
			break; /* flags on an instruction that takes none */
		switch (ins->cmd) {
		case FB_CMD_CMD:
		case FB_CMD_ENTRYPOINT: {
			command_form(ins, n);
			int *cnt = ins->cmd == FB_CMD_CMD ? &p->cur->ncmd : &p->cur->nentrypoint;
			if (++*cnt == 2)
				plan_warn(p, "MultipleInstructionsDisallowed", n->start_line,
					  "Multiple %s instructions should not be used in the same stage because only the last one will be used",
					  kw);
			if (!n->json && n->args.n)
				plan_warn(p, "JSONArgsRecommended", n->start_line,
					  "JSON arguments recommended for %s to prevent unintended behavior related to OS signals", kw);
			break;
		}
		case FB_CMD_SHELL:
			if (!n->json)
				r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "SHELL requires the arguments to be in JSON form");
			else if (n->args.n == 0)
				r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "SHELL requires at least one argument");
			else
				command_form(ins, n);
			break;
		case FB_CMD_ENV:
		case FB_CMD_LABEL:
			r = pairs_instr(p, n, kw, ins, err);
			break;
		case FB_CMD_ARG:
			r = plan_arg_instr(p, n, false, ins, err);
			break;
		case FB_CMD_EXPOSE:
			r = expose_instr(p, n, ins, err);
			break;
		case FB_CMD_VOLUME:
			if ((r = need_args(n, kw, 1, 0, err)) == 0 && (r = plan_expand_strv(p, &n->args, 0, n->args.n, &ins->paths, err)) == 0)
				for (size_t i = 0; i < ins->paths.n && r == 0; i++)
					if (!*ins->paths.v[i])
						r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "VOLUME specified can not be an empty string");
			break;
		case FB_CMD_USER:
		case FB_CMD_WORKDIR:
		case FB_CMD_STOPSIGNAL:
		case FB_CMD_MAINTAINER:
			r = one_value_instr(p, n, kw, ins, err);
			break;
		case FB_CMD_ONBUILD:
			r = onbuild_instr(n, ins, err);
			break;
		default:
			break;
		}
	}
	if (r == 0 && p->unresolved.keys.n) {
		/* The builder re-expands these words once it knows the base's ENV. */
		ins->has_raw_args = true;
		for (size_t i = 0; i < p->unresolved.keys.n; i++)
			fb_strv_push(&ins->unresolved, p->unresolved.keys.v[i]);
		for (size_t i = 0; i < n->args.n; i++)
			fb_strv_push(&ins->raw_args, n->args.v[i]);
	}
	if (r < 0) {
		fb_plan_ins_free(ins);
		return -1;
	}
	return 0;
}
