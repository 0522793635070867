#include "plan.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "err.h"
#include "json.h"

/* ---- small helpers ---- */

static char *lower(const char *s)
{
	char *r = fb_xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/* A string that may carry a NUL as C0 80 (see dockerfile.c) into JSON. */
static jv jstr(const char *s)
{
	if (!strstr(s, "\xC0\x80"))
		return jv_string(s);
	struct fb_buf b = FB_BUF_INIT;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)p[0] == 0xC0 && (unsigned char)p[1] == 0x80) {
			fb_buf_add(&b, "", 1);
			p++;
		} else {
			fb_buf_addc(&b, *p);
		}
	}
	jv r = jv_string_sized(b.data, (int)b.len);
	fb_buf_free(&b);
	return r;
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

/* ---- plan state ---- */

struct stage {
	char *name; /* lower case, or NULL */
	int index;
	bool open;  /* based on an image: its ENV is not known here */
	struct fb_vars env;
	struct fb_vars args;     /* ARGs declared in the stage (value may be NULL-ish) */
	struct fb_vars args_unset; /* a set: declared without a value */
	struct fb_vars deps;     /* a set: stage indexes this stage reads, as strings */
	int base_stage;
	bool has_abs_workdir;
	int ncmd, nentrypoint, nhealth;
	jv obj;
};

struct plan {
	const struct fb_plan_opts *o;
	const struct fb_df *df;
	char escape;
	struct fb_vars meta;         /* global ARG values (incl. the platform args) */
	struct fb_vars meta_declared; /* a set: names declared by ARG before FROM */
	struct fb_vars used_build_args; /* a set */
	struct stage *stages;
	size_t nstages, cstages;
	struct fb_vars stage_names; /* name -> index */
	jv warnings;
	jv global_args;
	struct fb_vars skip_rules; /* a set, lower case */
	bool skip_all;
	bool lint_error;
	/* expansion bookkeeping */
	struct stage *cur;
	struct fb_vars unresolved; /* a set, in the order met */
	uint64_t work;             /* pattern-matching steps (lib/shlex's limit) */
	size_t expanded;           /* bytes of values expansion made or copied */
	int line;                  /* the instruction's, for messages */
};

/* What the values of variables may add to a plan in all (expansions, the
 * ARG values every RUN carries, each stage's ENV): ARGs that double, or a
 * large ARG that thousands of RUNs copy, end in a clear error. */
#define PLAN_MAX_EXPANDED ((size_t)64 << 20)

/* Sets of names: fb_vars whose value "1" says the name is in. */
static bool set_has(const struct fb_vars *s, const char *name)
{
	const char *v = fb_vars_get(s, name);
	return v && v[0] == '1';
}

static void set_add(struct fb_vars *s, const char *name)
{
	if (!set_has(s, name))
		fb_vars_set(s, name, "1");
}

static void set_del(struct fb_vars *s, const char *name)
{
	if (fb_vars_get(s, name))
		fb_vars_set(s, name, "0");
}

static int count_expanded(struct plan *p, size_t n, struct fb_err *err)
{
	p->expanded += n;
	if (p->expanded > PLAN_MAX_EXPANDED)
		return fb_err_set(err, FB_EXIT_USAGE, "too_large",
				  "the values of variables make the plan over %zu MiB (the limit): an ARG or ENV value copied into "
				  "too many places",
				  PLAN_MAX_EXPANDED >> 20);
	return 0;
}

static void warn(struct plan *p, const char *rule, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void warn(struct plan *p, const char *rule, int line, const char *fmt, ...)
{
	if (p->skip_all)
		return;
	if (p->skip_rules.keys.n) {
		FB_AUTOFREE char *l = lower(rule);
		if (set_has(&p->skip_rules, l))
			return;
	}
	struct fb_buf b = FB_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	fb_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	jv w = jv_object();
	w = set(w, "rule", jv_string(rule));
	w = set(w, "message", jv_string(fb_buf_str(&b)));
	w = set(w, "line", jv_number(line));
	p->warnings = jv_array_append(p->warnings, w);
	fb_buf_free(&b);
}

static void use_build_arg(struct plan *p, const char *name)
{
	if (fb_vars_get(&p->o->build_args, name))
		set_add(&p->used_build_args, name);
}

static const char *lookup_meta(void *ctx, const char *name)
{
	struct plan *p = ctx;
	const char *v = fb_vars_get(&p->meta, name);
	if (!v)
		set_add(&p->unresolved, name);
	return v;
}

/* Inside a stage: ENV wins over ARG (Docker's documented rule). */
static const char *lookup_stage(void *ctx, const char *name)
{
	struct plan *p = ctx;
	const char *v = fb_vars_get(&p->cur->env, name);
	if (!v && !set_has(&p->cur->args_unset, name))
		v = fb_vars_get(&p->cur->args, name);
	if (!v && p->cur->open)
		set_add(&p->unresolved, name);
	return v;
}

/* Expand one word in the current context. Unresolved references in a stage
 * based on an image stay as written (its ENV may define them). */
static int expand(struct plan *p, const char *word, char **out, struct fb_err *err)
{
	struct fb_shlex lx = { .escape = p->escape, .work = &p->work };
	if (p->cur) {
		lx.lookup = lookup_stage;
		lx.skip_unset = p->cur->open;
	} else {
		lx.lookup = lookup_meta;
	}
	lx.ctx = p;
	if (fb_shlex_word(&lx, word, out, err) < 0)
		return -1;
	if (count_expanded(p, strlen(*out), err) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int expand_strv(struct plan *p, const struct fb_strv *in, size_t from, size_t to, struct fb_strv *out,
		       struct fb_err *err)
{
	for (size_t i = from; i < to; i++) {
		char *e;
		if (expand(p, in->v[i], &e, err) < 0)
			return -1;
		fb_strv_push_owned(out, e);
	}
	return 0;
}

static int stage_by_name(struct plan *p, const char *name)
{
	FB_AUTOFREE char *l = lower(name);
	const char *i = fb_vars_get(&p->stage_names, l);
	return i ? (int)strtol(i, NULL, 10) : -1;
}

static bool is_integer(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* --from of COPY or of a RUN mount: a stage name, an index, or an image. */
static int resolve_from(struct plan *p, const char *kw, const char *from, jv *o, struct fb_err *err)
{
	const char *dollar = strchr(from, '$');
	if (dollar && dollar[1])
		return fb_err_set(err, FB_EXIT_USAGE, "syntax",
				  "%s --from=%s: 'from' doesn't support variable expansion, define an alias stage instead",
				  kw, from);
	int idx = stage_by_name(p, from);
	if (idx < 0 && is_integer(from)) {
		long v = strtol(from, NULL, 10);
		if (v >= p->cur->index)
			return fb_err_set(err, FB_EXIT_USAGE, "syntax",
					  "%s --from=%s refers to the current or a later build stage", kw, from);
		idx = (int)v;
	}
	if (idx >= 0 && idx == p->cur->index)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s --from=%s refers to the current build stage", kw, from);
	if (idx >= 0) {
		jv f = jv_object();
		f = set(f, "stage", jv_number(idx));
		if (p->stages[idx].name)
			f = set(f, "name", jv_string(p->stages[idx].name));
		*o = f;
		char num[16];
		snprintf(num, sizeof(num), "%d", idx);
		set_add(&p->cur->deps, num);
	} else {
		*o = set(jv_object(), "image", jv_string(from));
	}
	return 0;
}

/* ---- instructions ---- */

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
	if (is_integer(s))
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
			if ((!strncasecmp(names[i], "RTM", 3)) && (*r == '+' || *r == '-') && is_integer(r + 1))
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

/* Split a --mount value as a CSV record (quotes allowed). */
static void csv_split(const char *s, struct fb_strv *out)
{
	struct fb_buf f = FB_BUF_INIT;
	bool q = false;
	for (const char *p = s;; p++) {
		if (!*p || (*p == ',' && !q)) {
			fb_strv_push(out, fb_buf_str(&f));
			fb_buf_reset(&f);
			if (!*p)
				break;
			continue;
		}
		if (*p == '"') {
			if (q && p[1] == '"') {
				fb_buf_addc(&f, '"');
				p++;
			} else {
				q = !q;
			}
			continue;
		}
		fb_buf_addc(&f, *p);
	}
	fb_buf_free(&f);
}

static int parse_mount(struct plan *p, const char *spec, int nssh, jv *out, struct fb_err *err)
{
	struct fb_strv fields = FB_STRV_INIT;
	csv_split(spec, &fields);
	jv m = jv_object();
	char *type = fb_xstrdup("bind");
	char *target = NULL, *id = NULL, *from = NULL;
	bool ro = false, ro_set = false;
	int ret = -1;
	static const char *const str_keys[] = { "source", "from", "id", "sharing", "mode", "uid", "gid", "size", "env", "target" };
	for (size_t i = 0; i < fields.n; i++) {
		char *kv = fields.v[i];
		if (!*kv)
			continue;
		char *eq = strchr(kv, '=');
		FB_AUTOFREE char *key = NULL;
		{
			char *k = eq ? fb_xstrndup(kv, (size_t)(eq - kv)) : fb_xstrdup(kv);
			key = lower(k);
			free(k);
		}
		FB_AUTOFREE char *val = NULL;
		if (eq && !strcmp(key, "from"))
			val = fb_xstrdup(eq + 1);
		else if (eq && expand(p, eq + 1, &val, err) < 0)
			goto out;
		if (!strcmp(key, "readonly") || !strcmp(key, "ro") || !strcmp(key, "readwrite") || !strcmp(key, "rw") ||
		    !strcmp(key, "required")) {
			bool b = true;
			if (val) {
				if (!strcasecmp(val, "true"))
					b = true;
				else if (!strcasecmp(val, "false"))
					b = false;
				else {
					fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: invalid value for %s: %s", key, val);
					goto out;
				}
			}
			if (!strcmp(key, "required")) {
				if (strcmp(type, "secret") && strcmp(type, "ssh")) {
					fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unexpected key 'required' for mount type '%s'", type);
					goto out;
				}
				m = set(m, "required", jv_bool(b));
			} else {
				ro_set = true;
				ro = (key[0] == 'r' && (key[1] == 'o' || !strcmp(key, "readonly"))) ? b : !b;
			}
			continue;
		}
		if (!val) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: invalid field '%s' must be a key=value pair", kv);
			goto out;
		}
		if (!strcmp(key, "type")) {
			if (strcmp(val, "bind") && strcmp(val, "cache") && strcmp(val, "tmpfs") && strcmp(val, "secret") &&
			    strcmp(val, "ssh")) {
				fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unsupported mount type \"%s\"", val);
				goto out;
			}
			free(type);
			type = fb_xstrdup(val);
			continue;
		}
		if (!strcmp(key, "src")) {
			free(key);
			key = fb_xstrdup("source");
		} else if (!strcmp(key, "dst") || !strcmp(key, "destination")) {
			free(key);
			key = fb_xstrdup("target");
		}
		size_t k;
		for (k = 0; k < FB_ARRAY_LEN(str_keys); k++)
			if (!strcmp(key, str_keys[k]))
				break;
		if (k == FB_ARRAY_LEN(str_keys)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unexpected key '%s' in '%s'", key, spec);
			goto out;
		}
		if (!strcmp(key, "sharing") && strcmp(val, "shared") && strcmp(val, "private") && strcmp(val, "locked")) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unsupported sharing value \"%s\"", val);
			goto out;
		}
		if (!strcmp(key, "mode") && (strspn(val, "01234567") != strlen(val) || !*val)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: invalid mode \"%s\": expected octal", val);
			goto out;
		}
		if ((!strcmp(key, "uid") || !strcmp(key, "gid")) && !is_integer(val)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: invalid %s \"%s\": expected a number", key, val);
			goto out;
		}
		if (!strcmp(key, "target")) {
			free(target);
			target = fb_xstrdup(val);
			continue;
		}
		if (!strcmp(key, "id")) {
			free(id);
			id = fb_xstrdup(val);
		}
		if (!strcmp(key, "from")) {
			free(from);
			from = fb_xstrdup(val);
			continue;
		}
		if (!strcmp(key, "uid") || !strcmp(key, "gid"))
			m = set(m, key, jv_number((double)strtol(val, NULL, 10)));
		else
			m = set(m, key, jv_string(val));
	}
	if (!strcmp(type, "secret")) {
		if (!target && !id) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount=type=secret: id or target is required");
			goto out;
		}
		if (!id) {
			const char *b = strrchr(target, '/');
			id = fb_xstrdup(b ? b + 1 : target);
			m = set(m, "id", jv_string(id));
		}
		if (!target)
			target = fb_xasprintf("/run/secrets/%s", id);
	} else if (!strcmp(type, "ssh")) {
		if (!id)
			m = set(m, "id", jv_string("default"));
		if (!target)
			target = fb_xasprintf("/run/buildkit/ssh_agent.%d", nssh);
	}
	bool file_info = !strcmp(type, "secret") || !strcmp(type, "ssh") || !strcmp(type, "cache");
	static const char *const fi_keys[] = { "mode", "uid", "gid" };
	for (size_t i = 0; i < FB_ARRAY_LEN(fi_keys) && !file_info; i++) {
		bool h = jv_object_has(jv_copy(m), jv_string(fi_keys[i]));
		if (h) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: %s not allowed for \"%s\" type mounts", fi_keys[i], type);
			goto out;
		}
	}
	static const struct {
		const char *key, *only;
	} only[] = { { "sharing", "cache" }, { "size", "tmpfs" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(only); i++) {
		bool h = jv_object_has(jv_copy(m), jv_string(only[i].key));
		if (h && strcmp(type, only[i].only)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unexpected key '%s' for mount type '%s'", only[i].key, type);
			goto out;
		}
	}
	if (!strcmp(type, "secret") && from) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount=type=secret: a secret mount has no from");
		goto out;
	}
	/* cache and tmpfs are writable by default, the others read-only */
	if (!ro_set)
		ro = strcmp(type, "cache") && strcmp(type, "tmpfs");
	m = set(m, "type", jv_string(type));
	/* An empty or relative target is relative to the WORKDIR. */
	m = set(m, "target", jv_string(target ? target : ""));
	m = set(m, "readonly", jv_bool(ro));
	if (from) {
		jv f;
		if (resolve_from(p, "RUN --mount", from, &f, err) < 0)
			goto out;
		m = set(m, "from", f);
	}
	*out = m;
	m = jv_invalid();
	ret = 0;
out:
	if (jv_is_valid(m))
		jv_free(m);
	free(type);
	free(target);
	free(id);
	free(from);
	fb_strv_free(&fields);
	return ret;
}

static jv heredoc_obj(const struct fb_df_heredoc *h)
{
	jv o = jv_object();
	o = set(o, "name", jv_string(h->name));
	if (h->fd)
		o = set(o, "fd", jv_number(h->fd));
	o = set(o, "expand", jv_bool(h->expand));
	o = set(o, "chomp", jv_bool(h->chomp));
	char *body = h->chomp ? fb_df_chomp(h->content) : fb_xstrdup(h->content);
	o = set(o, "body", jv_string(body));
	free(body);
	return o;
}

/* The command forms of RUN, CMD, ENTRYPOINT, SHELL. */
static jv command_form(jv ins, const struct fb_df_node *n, size_t from)
{
	ins = set(ins, "form", jv_string(n->json ? "exec" : "shell"));
	jv a = jv_array();
	for (size_t i = from; i < n->args.n; i++)
		a = jv_array_append(a, jstr(n->args.v[i]));
	return set(ins, "args", a);
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

static int copy_like(struct plan *p, const struct fb_df_node *n, const char *kw, jv *ins, struct fb_err *err)
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
	jv srcs = jv_array();
	size_t hd = 0;
	for (size_t i = 0; i + 1 < n->args.n; i++) {
		struct fb_df_heredoc h = { 0 };
		int r = n->json ? 0 : fb_df_heredoc_word(n->args.v[i], &h, err);
		if (r < 0) {
			jv_free(srcs);
			goto out;
		}
		if (r == 1 && hd < n->nheredocs) {
			const struct fb_df_heredoc *real = &n->heredocs[hd++];
			free(h.name);
			char *body = real->chomp ? fb_df_chomp(real->content) : fb_xstrdup(real->content);
			if (real->expand) {
				/* heredoc bodies expand without quote processing */
				struct fb_shlex lx = { .escape = '\\', .skip_quotes = true, .lookup = lookup_stage, .ctx = p,
						       .skip_unset = p->cur->open, .work = &p->work };
				char *e;
				if (fb_shlex_word(&lx, body, &e, err) < 0 || count_expanded(p, strlen(e), err) < 0) {
					free(body);
					jv_free(srcs);
					goto out;
				}
				free(body);
				body = e;
			}
			jv s = jv_object();
			s = set(s, "heredoc", jv_string(real->name));
			s = set(s, "expand", jv_bool(real->expand));
			s = set(s, "body", jv_string(body));
			free(body);
			srcs = jv_array_append(srcs, s);
			continue;
		}
		free(h.name);
		char *e;
		if (expand(p, n->args.v[i], &e, err) < 0) {
			jv_free(srcs);
			goto out;
		}
		srcs = jv_array_append(srcs, set(jv_object(), "path", jstr(e)));
		free(e);
	}
	*ins = set(*ins, "sources", srcs);
	char *dest;
	if (expand(p, n->args.v[n->args.n - 1], &dest, err) < 0)
		goto out;
	*ins = set(*ins, "dest", jstr(dest));
	free(dest);

	struct flagval *v;
	static const char *const strflags[] = { "chown", "chmod", "checksum" };
	for (size_t i = 0; i < FB_ARRAY_LEN(strflags); i++) {
		if (!(v = flag(&f, strflags[i])) || !v->set)
			continue;
		char *e;
		if (expand(p, v->s, &e, err) < 0)
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
		*ins = set(*ins, strflags[i], jv_string(e));
		free(e);
	}
	if ((v = flag(&f, "from")) && v->set) {
		jv fr;
		if (resolve_from(p, kw, v->s, &fr, err) < 0)
			goto out;
		*ins = set(*ins, "from", fr);
	}
	static const char *const boolflags[] = { "link", "parents", "keep-git-dir", "unpack" };
	for (size_t i = 0; i < FB_ARRAY_LEN(boolflags); i++)
		if ((v = flag(&f, boolflags[i])) && v->set)
			*ins = set(*ins, !strcmp(boolflags[i], "keep-git-dir") ? "keep_git_dir" : boolflags[i], jv_bool(v->b));
	if ((v = flag(&f, "exclude")) && v->set) {
		struct fb_strv ex = FB_STRV_INIT;
		if (expand_strv(p, &v->v, 0, v->v.n, &ex, err) < 0) {
			fb_strv_free(&ex);
			goto out;
		}
		*ins = set(*ins, "exclude", jstrv(&ex));
		fb_strv_free(&ex);
	}
	ret = 0;
out:
	flags_free(&f);
	return ret;
}

static int run_instr(struct plan *p, const struct fb_df_node *n, jv *ins, struct fb_err *err)
{
	struct flags f;
	int ret = -1;
	char *netx = NULL;
	if (parse_flags("RUN", &n->flags, run_flags, FB_ARRAY_LEN(run_flags), &f, err) < 0)
		goto out;
	if (n->args.n == 0 && n->nheredocs == 0) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN requires at least one argument");
		goto out;
	}
	*ins = command_form(*ins, n, 0);
	if (n->nheredocs) {
		jv h = jv_array();
		for (size_t i = 0; i < n->nheredocs; i++)
			h = jv_array_append(h, heredoc_obj(&n->heredocs[i]));
		*ins = set(*ins, "heredocs", h);
	}
	struct flagval *v = flag(&f, "mount");
	jv mounts = jv_array();
	int nssh = 0;
	for (size_t i = 0; v && i < v->v.n; i++) {
		jv m;
		if (parse_mount(p, v->v.v[i], nssh, &m, err) < 0) {
			jv_free(mounts);
			goto out;
		}
		jv t = jv_object_get(jv_copy(m), jv_string("type"));
		if (!strcmp(jv_string_value(t), "ssh"))
			nssh++;
		jv_free(t);
		mounts = jv_array_append(mounts, m);
	}
	*ins = set(*ins, "mounts", mounts);
	const char *net = "default";
	if ((v = flag(&f, "network")) && v->set) {
		if (expand(p, v->s, &netx, err) < 0)
			goto out;
		net = netx;
		if (strcmp(net, "default") && strcmp(net, "none") && strcmp(net, "host")) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --network=%s: expected default, none or host", net);
			goto out;
		}
	}
	*ins = set(*ins, "network", jv_string(net));
	const char *sec = "sandbox";
	if ((v = flag(&f, "security")) && v->set) {
		sec = v->s;
		if (strcmp(sec, "sandbox") && strcmp(sec, "insecure")) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --security=%s: expected sandbox or insecure", sec);
			goto out;
		}
	}
	*ins = set(*ins, "security", jv_string(sec));
	/* The ARGs a RUN sees in its environment (ENV wins over them). */
	jv argenv = jv_object();
	for (size_t i = 0; i < p->cur->args.keys.n; i++) {
		const char *k = p->cur->args.keys.v[i];
		if (set_has(&p->cur->args_unset, k))
			continue;
		if (count_expanded(p, strlen(p->cur->args.vals.v[i]), err) < 0) {
			jv_free(argenv);
			goto out;
		}
		argenv = set(argenv, k, jstr(p->cur->args.vals.v[i]));
	}
	static const char *const proxies[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
					       "ftp_proxy",  "NO_PROXY",   "no_proxy",	  "ALL_PROXY",	 "all_proxy" };
	for (size_t i = 0; i < FB_ARRAY_LEN(proxies); i++) {
		const char *v2 = fb_vars_get(&p->o->build_args, proxies[i]);
		if (v2) {
			argenv = set(argenv, proxies[i], jv_string(v2));
			use_build_arg(p, proxies[i]);
		}
	}
	*ins = set(*ins, "args_env", argenv);
	ret = 0;
out:
	free(netx);
	flags_free(&f);
	return ret;
}

static int health_instr(struct plan *p, const struct fb_df_node *n, jv *ins, struct fb_err *err)
{
	(void)p;
	struct flags f;
	int ret = -1;
	if (parse_flags("HEALTHCHECK", &n->flags, health_flags, FB_ARRAY_LEN(health_flags), &f, err) < 0)
		goto out;
	if (n->args.n == 0) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK requires at least one argument");
		goto out;
	}
	jv hc = jv_object();
	jv test = jv_array();
	const char *typ = n->args.v[0];
	if (!strcasecmp(typ, "NONE")) {
		if (n->args.n > 1 || n->flags.n) {
			jv_free(hc);
			jv_free(test);
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK NONE takes no arguments");
			goto out;
		}
		test = jv_array_append(test, jv_string("NONE"));
	} else if (!strcasecmp(typ, "CMD")) {
		if (n->args.n < 2) {
			jv_free(hc);
			jv_free(test);
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "Missing command after HEALTHCHECK CMD");
			goto out;
		}
		if (n->json) {
			test = jv_array_append(test, jv_string("CMD"));
			for (size_t i = 1; i < n->args.n; i++)
				test = jv_array_append(test, jstr(n->args.v[i]));
		} else {
			test = jv_array_append(test, jv_string("CMD-SHELL"));
			test = jv_array_append(test, jstr(n->args.v[1]));
		}
	} else {
		jv_free(hc);
		jv_free(test);
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
		goto out;
	}
	hc = set(hc, "test", test);
	static const struct {
		const char *flag, *key;
	} durs[] = { { "interval", "interval" }, { "timeout", "timeout" }, { "start-period", "start_period" },
		     { "start-interval", "start_interval" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(durs); i++) {
		struct flagval *v = flag(&f, durs[i].flag);
		if (!v || !v->set)
			continue;
		long long ns;
		if (fb_parse_duration(v->s, &ns) < 0) {
			jv_free(hc);
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK --%s=%s: not a duration (30s, 1m30s, 500ms)", durs[i].flag, v->s);
			goto out;
		}
		if (ns != 0 && ns < 1000000) {
			jv_free(hc);
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK --%s=%s cannot be less than 1ms", durs[i].flag, v->s);
			goto out;
		}
		hc = set(hc, durs[i].key, jv_number((double)ns));
	}
	struct flagval *r = flag(&f, "retries");
	if (r && r->set) {
		char *end;
		long v = strtol(r->s, &end, 10);
		if (*end || end == r->s || v < 0) {
			jv_free(hc);
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "HEALTHCHECK --retries=%s: expected a number of 0 or more", r->s);
			goto out;
		}
		hc = set(hc, "retries", jv_number(v));
	}
	*ins = set(*ins, "healthcheck", hc);
	ret = 0;
out:
	flags_free(&f);
	return ret;
}

/* ENV and LABEL: expand every key and value with the state before. */
static int pairs_instr(struct plan *p, const struct fb_df_node *n, const char *kw, jv *ins, struct fb_err *err)
{
	if (n->args.n == 0)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s requires at least one argument", kw);
	if (n->args.n >= 3 && !strcmp(n->args.v[2], ""))
		warn(p, "LegacyKeyValueFormat", n->start_line,
		     "\"%s key=value\" should be used instead of legacy \"%s key value\" format", kw, kw);
	jv pairs = jv_array();
	struct fb_vars newenv = { 0 };
	for (size_t i = 0; i + 1 < n->args.n; i += 3) {
		char *k, *v;
		if (expand(p, n->args.v[i], &k, err) < 0)
			goto fail;
		if (expand(p, n->args.v[i + 1], &v, err) < 0) {
			free(k);
			goto fail;
		}
		if (!*k) {
			free(k);
			free(v);
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s names must not be empty", kw);
			goto fail;
		}
		jv pr = set(set(jv_object(), "key", jstr(k)), "value", jstr(v));
		pairs = jv_array_append(pairs, pr);
		fb_vars_set(&newenv, k, v);
		free(k);
		free(v);
	}
	*ins = set(*ins, "pairs", pairs);
	if (!strcmp(kw, "ENV"))
		fb_vars_copy(&p->cur->env, &newenv);
	fb_vars_free(&newenv);
	return 0;
fail:
	jv_free(pairs);
	fb_vars_free(&newenv);
	return -1;
}

/* ARG, in a stage or (meta == true) before the first FROM. */
static int arg_instr(struct plan *p, const struct fb_df_node *n, bool meta, jv *ins, struct fb_err *err)
{
	if (n->args.n == 0)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "ARG requires at least one argument");
	jv list = jv_array();
	for (size_t i = 0; i < n->args.n; i++) {
		const char *w = n->args.v[i];
		const char *eq = strchr(w, '=');
		FB_AUTOFREE char *rawname = eq ? fb_xstrndup(w, (size_t)(eq - w)) : fb_xstrdup(w);
		char *name;
		if (expand(p, rawname, &name, err) < 0)
			goto fail;
		if (!*name) {
			free(name);
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "ARG names can not be blank");
			goto fail;
		}
		char *value = NULL;
		const char *given = fb_vars_get(&p->o->build_args, name);
		if (eq && expand(p, eq + 1, &value, err) < 0) {
			free(name);
			goto fail;
		}
		jv a = set(jv_object(), "name", jv_string(name));
		if (value)
			a = set(a, "default", jstr(value));
		const char *final = NULL;
		if (given) {
			final = given;
			use_build_arg(p, name);
		} else if (value) {
			final = value;
		} else if (!meta) {
			/* ARG NAME in a stage takes the global value (or a platform arg). */
			final = fb_vars_get(&p->meta, name);
		} else {
			final = fb_vars_get(&p->meta, name);
		}
		if (final)
			a = set(a, "value", jstr(final));
		a = set(a, "line", jv_number(n->start_line));
		list = jv_array_append(list, a);
		if (meta) {
			if (final)
				fb_vars_set(&p->meta, name, final);
			set_add(&p->meta_declared, name);
		} else {
			fb_vars_set(&p->cur->args, name, final ? final : "");
			if (!final)
				set_add(&p->cur->args_unset, name);
			else
				set_del(&p->cur->args_unset, name);
		}
		free(name);
		free(value);
	}
	if (meta)
		p->global_args = jv_array_concat(p->global_args, list);
	else
		*ins = set(*ins, "args", list);
	return 0;
fail:
	jv_free(list);
	return -1;
}

static const char *const known_instructions[] = { "ADD",     "ARG",	    "CMD",   "COPY",	   "ENTRYPOINT",
						  "ENV",     "EXPOSE",	    "FROM",  "HEALTHCHECK", "LABEL",
						  "MAINTAINER", "ONBUILD",  "RUN",   "SHELL",	   "STOPSIGNAL",
						  "USER",    "VOLUME",	    "WORKDIR" };

static bool known(const char *kw)
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

static int unknown_instruction(const char *kw, struct fb_err *err)
{
	FB_AUTOFREE char *up = fb_xstrdup(kw);
	for (char *c = up; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	const char *s = suggest(kw);
	if (s)
		return fb_err_set(err, FB_EXIT_USAGE, "syntax", "unknown instruction: %s (did you mean %s?)", up, s);
	return fb_err_set(err, FB_EXIT_USAGE, "syntax", "unknown instruction: %s", up);
}

static int no_flags(const struct fb_df_node *n, const char *kw, struct fb_err *err)
{
	struct flags f;
	int r = parse_flags(kw, &n->flags, NULL, 0, &f, err);
	flags_free(&f);
	return r;
}

static int stage_instr(struct plan *p, const struct fb_df_node *n, jv *out, struct fb_err *err)
{
	FB_AUTOFREE char *kw = fb_xstrdup(n->keyword);
	for (char *c = kw; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	jv ins = jv_object();
	ins = set(ins, "cmd", jv_string(kw));
	ins = set(ins, "line", jv_number(n->start_line));
	ins = set(ins, "end_line", jv_number(n->end_line));
	ins = set(ins, "original", jstr(n->original));
	if (n->flags.n)
		ins = set(ins, "flags", jstrv(&n->flags));
	fb_vars_free(&p->unresolved);
	int r = 0;
	struct fb_strv words = FB_STRV_INIT;

	if (!strcmp(kw, "RUN")) {
		r = run_instr(p, n, &ins, err);
	} else if (!strcmp(kw, "COPY") || !strcmp(kw, "ADD")) {
		r = copy_like(p, n, kw, &ins, err);
	} else if (!strcmp(kw, "HEALTHCHECK")) {
		r = health_instr(p, n, &ins, err);
		if (r == 0 && ++p->cur->nhealth == 2)
			warn(p, "MultipleInstructionsDisallowed", n->start_line,
			     "Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used");
	} else if ((r = no_flags(n, kw, err)) < 0) {
		/* flags on an instruction that takes none */
	} else if (!strcmp(kw, "CMD") || !strcmp(kw, "ENTRYPOINT")) {
		ins = command_form(ins, n, 0);
		int *cnt = !strcmp(kw, "CMD") ? &p->cur->ncmd : &p->cur->nentrypoint;
		if (++*cnt == 2)
			warn(p, "MultipleInstructionsDisallowed", n->start_line,
			     "Multiple %s instructions should not be used in the same stage because only the last one will be used", kw);
		if (!n->json && n->args.n)
			warn(p, "JSONArgsRecommended", n->start_line,
			     "JSON arguments recommended for %s to prevent unintended behavior related to OS signals", kw);
	} else if (!strcmp(kw, "SHELL")) {
		if (!n->json)
			r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "SHELL requires the arguments to be in JSON form");
		else if (n->args.n == 0)
			r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "SHELL requires at least one argument");
		else
			ins = command_form(ins, n, 0);
	} else if (!strcmp(kw, "ENV") || !strcmp(kw, "LABEL")) {
		r = pairs_instr(p, n, kw, &ins, err);
	} else if (!strcmp(kw, "ARG")) {
		r = arg_instr(p, n, false, &ins, err);
	} else if (!strcmp(kw, "EXPOSE")) {
		if ((r = need_args(n, kw, 1, 0, err)) == 0 && (r = expand_strv(p, &n->args, 0, n->args.n, &words, err)) == 0) {
			jv ports = jv_array();
			for (size_t i = 0; i < words.n && r == 0; i++) {
				struct fb_strv parts = FB_STRV_INIT;
				struct fb_shlex lx = { .escape = p->escape };
				struct fb_err e2 = { 0 };
				fb_shlex_words(&lx, words.v[i], &parts, &e2);
				for (size_t k = 0; k < parts.n && r == 0; k++) {
					const char *port = parts.v[k];
					if (strchr(port, '$'))
						ports = jv_array_append(ports, jv_string(port));
					else if (!valid_port(port))
						r = fb_err_set(err, FB_EXIT_USAGE, "syntax",
							       "EXPOSE %s: expected PORT[-PORT][/tcp|udp|sctp]", port);
					else {
						FB_AUTOFREE char *lp = lower(port);
						ports = jv_array_append(ports, strchr(lp, '/') ? jv_string(lp)
									: jv_string_fmt("%s/tcp", lp));
					}
				}
				fb_strv_free(&parts);
			}
			if (r == 0)
				ins = set(ins, "ports", ports);
			else
				jv_free(ports);
		}
	} else if (!strcmp(kw, "VOLUME")) {
		if ((r = need_args(n, kw, 1, 0, err)) == 0 && (r = expand_strv(p, &n->args, 0, n->args.n, &words, err)) == 0) {
			for (size_t i = 0; i < words.n; i++)
				if (!*words.v[i])
					r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "VOLUME specified can not be an empty string");
			if (r == 0)
				ins = set(ins, "paths", jstrv(&words));
		}
	} else if (!strcmp(kw, "USER") || !strcmp(kw, "WORKDIR") || !strcmp(kw, "STOPSIGNAL") || !strcmp(kw, "MAINTAINER")) {
		if ((r = need_args(n, kw, 1, 1, err)) == 0) {
			char *v = NULL;
			if (!strcmp(kw, "MAINTAINER")) {
				v = fb_xstrdup(n->args.v[0]);
				warn(p, "MaintainerDeprecated", n->start_line,
				     "Maintainer instruction is deprecated in favor of using label");
			} else {
				r = expand(p, n->args.v[0], &v, err);
			}
			if (r == 0 && !strcmp(kw, "STOPSIGNAL") && !strchr(v, '$') && !valid_signal(v))
				r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "STOPSIGNAL %s: not a signal name or number", v);
			if (r == 0 && !strcmp(kw, "USER") && !*v)
				r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "USER requires a user name or uid");
			if (r == 0 && !strcmp(kw, "WORKDIR")) {
				if (!*v)
					r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "WORKDIR requires a path");
				else if (v[0] == '/')
					p->cur->has_abs_workdir = true;
				else if (!p->cur->has_abs_workdir && !p->unresolved.keys.n)
					warn(p, "WorkdirRelativePath", n->start_line,
					     "Relative workdir \"%s\" can have unexpected results if the base image changes", v);
			}
			static const struct {
				const char *kw, *key;
			} keys[] = { { "USER", "user" }, { "WORKDIR", "path" }, { "STOPSIGNAL", "signal" }, { "MAINTAINER", "maintainer" } };
			for (size_t i = 0; r == 0 && i < FB_ARRAY_LEN(keys); i++)
				if (!strcmp(kw, keys[i].kw))
					ins = set(ins, keys[i].key, jstr(v));
			free(v);
		}
	} else if (!strcmp(kw, "ONBUILD")) {
		if (!n->sub) {
			r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "ONBUILD requires at least one argument");
		} else {
			const char *t = n->sub->keyword;
			if (!strcasecmp(t, "ONBUILD"))
				r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
			else if (!strcasecmp(t, "FROM") || !strcasecmp(t, "MAINTAINER"))
				r = fb_err_set(err, FB_EXIT_USAGE, "syntax", "%s isn't allowed as an ONBUILD trigger", t);
			else if (!known(t))
				r = unknown_instruction(t, err);
			else {
				/* The trigger keeps its heredoc bodies so a child build can re-parse it. */
				const char *o = n->original;
				while (fb_ascii_isspace((unsigned char)*o))
					o++;
				o += strlen(n->keyword);
				while (fb_ascii_isspace((unsigned char)*o))
					o++;
				struct fb_buf tb = FB_BUF_INIT;
				fb_buf_adds(&tb, o);
				for (size_t i = 0; i < n->nheredocs; i++) {
					fb_buf_addf(&tb, "\n%s%s", n->heredocs[i].content, n->heredocs[i].name);
				}
				ins = set(ins, "trigger", jstr(fb_buf_str(&tb)));
				fb_buf_free(&tb);
				FB_AUTOFREE char *tk = fb_xstrdup(t);
				for (char *c = tk; *c; c++)
					*c = (char)toupper((unsigned char)*c);
				ins = set(ins, "trigger_cmd", jv_string(tk));
			}
		}
	}
	fb_strv_free(&words);
	if (r == 0 && p->unresolved.keys.n) {
		/* The builder re-expands these words once it knows the base's ENV. */
		ins = set(ins, "unresolved", jstrv(&p->unresolved.keys));
		ins = set(ins, "raw_args", jstrv(&n->args));
	}
	if (r < 0) {
		jv_free(ins);
		return -1;
	}
	*out = ins;
	return 0;
}

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
	struct flags f;
	if (parse_flags("FROM", &n->flags, from_flags, FB_ARRAY_LEN(from_flags), &f, err) < 0) {
		flags_free(&f);
		return -1;
	}
	int ret = -1;
	char *base = NULL, *platform = NULL, *name = NULL;
	if (!(n->args.n == 1 || (n->args.n == 3 && !strcasecmp(n->args.v[1], "AS")))) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "FROM requires either one or three arguments");
		goto out;
	}
	p->cur = NULL;
	fb_vars_free(&p->unresolved);
	if (expand(p, n->args.v[0], &base, err) < 0)
		goto out;
	for (size_t i = 0; i < p->unresolved.keys.n; i++)
		warn(p, "UndefinedArgInFrom", n->start_line, "FROM argument '%s' is not declared", p->unresolved.keys.v[i]);
	if (!*base && !p->unresolved.keys.n && !strchr(n->args.v[0], '$')) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "base name (%s) should not be blank", n->args.v[0]);
		goto out;
	}
	if (!*base)
		/* Typically `ARG base` with no default: the build needs --build-arg. */
		warn(p, "EmptyBaseName", n->start_line,
		     "FROM %s: the base name is empty; give it with --build-arg", n->args.v[0]);
	struct flagval *pv = flag(&f, "platform");
	if (pv && pv->set && expand(p, pv->s, &platform, err) < 0)
		goto out;
	if (n->args.n == 3) {
		const char *as = n->args.v[1];
		name = lower(n->args.v[2]);
		if (!valid_stage_name(name)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax",
				   "invalid name for build stage: \"%s\", name can't start with a number or contain symbols", n->args.v[2]);
			goto out;
		}
		if (stage_by_name(p, name) >= 0) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "duplicate stage name \"%s\"", name);
			goto out;
		}
		if (strcmp(name, n->args.v[2]))
			warn(p, "StageNameCasing", n->start_line, "Stage name '%s' should be lowercase", n->args.v[2]);
		bool from_upper = isupper((unsigned char)n->keyword[0]), as_upper = isupper((unsigned char)as[0]);
		if (from_upper != as_upper)
			warn(p, "FromAsCasing", n->start_line, "'%s' and '%s' keywords' casing do not match", as, n->keyword);
	}
	if (p->nstages == p->cstages) {
		p->cstages = p->cstages ? 2 * p->cstages : 8;
		p->stages = fb_xrealloc(p->stages, p->cstages * sizeof(*p->stages));
	}
	struct stage *st = &p->stages[p->nstages];
	memset(st, 0, sizeof(*st));
	st->index = (int)p->nstages;
	st->name = name;
	name = NULL;
	if (st->name) {
		char num[16];
		snprintf(num, sizeof(num), "%d", st->index);
		fb_vars_set(&p->stage_names, st->name, num);
	}
	st->base_stage = -1;
	jv o = jv_object();
	o = set(o, "index", jv_number(st->index));
	o = set(o, "name", st->name ? jv_string(st->name) : jv_null());
	o = set(o, "base", *base ? jv_string(base) : jv_null());
	if (strcmp(base, n->args.v[0]))
		o = set(o, "base_raw", jv_string(n->args.v[0]));
	int bs = *base ? stage_by_name(p, base) : -1;
	if (!*base) {
		st->open = true;
		o = set(o, "base_type", jv_string("unresolved"));
	} else if (bs >= 0) {
		struct stage *parent = &p->stages[bs];
		st->base_stage = bs;
		st->open = parent->open;
		/* the stage's ENV starts as a copy of its base's */
		for (size_t k = 0; k < parent->env.vals.n; k++)
			if (count_expanded(p, strlen(parent->env.vals.v[k]), err) < 0) {
				jv_free(o);
				free(st->name); /* not counted in nstages: the cleanup does not see it */
				goto out;
			}
		fb_vars_copy(&st->env, &parent->env);
		st->has_abs_workdir = parent->has_abs_workdir;
		o = set(o, "base_type", jv_string("stage"));
		o = set(o, "base_stage", jv_number(bs));
		char num[16];
		snprintf(num, sizeof(num), "%d", bs);
		set_add(&st->deps, num);
	} else if (!strcmp(base, "scratch")) {
		o = set(o, "base_type", jv_string("scratch"));
	} else {
		st->open = true;
		o = set(o, "base_type", jv_string("image"));
	}
	o = set(o, "platform", jv_string(platform ? platform : fb_vars_get(&p->meta, "TARGETPLATFORM")));
	o = set(o, "line", jv_number(n->start_line));
	o = set(o, "original", jstr(n->original));
	st->obj = o;
	p->nstages++;
	p->cur = st;
	ret = 0;
out:
	flags_free(&f);
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
					FB_AUTOFREE char *l = lower(r);
					set_add(&p->skip_rules, l);
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

int fb_plan_build(const struct fb_df *df, const struct fb_plan_opts *o, jv *out, struct fb_err *err)
{
	struct plan p = { 0 };
	p.o = o;
	p.df = df;
	p.escape = df->escape;
	p.warnings = jv_array();
	p.global_args = jv_array();
	int ret = -1;
	jv stages = jv_array();
	jv instrs = jv_invalid();
	bool *needed = NULL;
	const char *file = o->file ? o->file : "Dockerfile";

	jv directives = jv_object();
	for (size_t i = 0; i < df->ndirectives; i++) {
		directives = set(directives, df->directives[i].name, jv_string(df->directives[i].value));
		if (!strcmp(df->directives[i].name, "check"))
			parse_check_directive(&p, df->directives[i].value);
	}
	platform_args(&p);

	for (size_t i = 0; i < df->n; i++) {
		const struct fb_df_node *n = &df->nodes[i];
		if (!known(n->keyword)) {
			unknown_instruction(n->keyword, err);
			fb_err_where(err, file, n->start_line, n->end_line);
			goto out;
		}
		if (n->empty_continuation)
			warn(&p, "NoEmptyContinuation", n->start_line, "Empty continuation line");
		if (!strcasecmp(n->keyword, "FROM")) {
			if (p.cur) {
				p.cur->obj = set(p.cur->obj, "instructions", instrs);
				instrs = jv_invalid();
			}
			if (from_instr(&p, n, err) < 0) {
				fb_err_where(err, file, n->start_line, n->end_line);
				goto out;
			}
			instrs = jv_array();
			continue;
		}
		if (!p.cur) {
			if (strcasecmp(n->keyword, "ARG")) {
				FB_AUTOFREE char *up = lower(n->keyword);
				for (char *c = up; *c; c++)
					*c = (char)toupper((unsigned char)*c);
				fb_err_set(err, FB_EXIT_USAGE, "syntax",
					   "%s before the first FROM: only ARG may come before FROM (no build stage in current context)", up);
				fb_err_where(err, file, n->start_line, n->end_line);
				goto out;
			}
			if (no_flags(n, "ARG", err) < 0 || arg_instr(&p, n, true, NULL, err) < 0) {
				fb_err_where(err, file, n->start_line, n->end_line);
				goto out;
			}
			continue;
		}
		jv ins;
		if (stage_instr(&p, n, &ins, err) < 0) {
			fb_err_where(err, file, n->start_line, n->end_line);
			goto out;
		}
		instrs = jv_array_append(instrs, ins);
	}
	if (!p.nstages) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "no FROM instruction: a Dockerfile needs at least one build stage");
		fb_err_where(err, file, 0, 0);
		goto out;
	}
	p.cur->obj = set(p.cur->obj, "instructions", instrs);
	instrs = jv_invalid();

	int target = (int)p.nstages - 1;
	if (o->target) {
		target = stage_by_name(&p, o->target);
		if (target < 0) {
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "target stage \"%s\" could not be found", o->target);
			goto out;
		}
	}
	needed = fb_xcalloc(p.nstages, sizeof(*needed));
	mark_needed(&p, target, needed);
	for (size_t i = 0; i < p.nstages; i++) {
		struct stage *st = &p.stages[i];
		st->obj = set(st->obj, "needed", jv_bool(needed[i]));
		jv deps = jv_array();
		for (size_t k = 0; k < st->deps.keys.n; k++)
			deps = jv_array_append(deps, jv_number((double)strtol(st->deps.keys.v[k], NULL, 10)));
		st->obj = set(st->obj, "depends_on", deps);
		st->obj = set(st->obj, "env", jvars(&st->env));
		st->obj = set(st->obj, "env_complete", jv_bool(!st->open));
		stages = jv_array_append(stages, st->obj);
		st->obj = jv_invalid();
	}

	/* Build args nobody declared (the proxy ones need no declaration). */
	jv unused = jv_array();
	for (size_t i = 0; i < o->build_args.keys.n; i++) {
		const char *k = o->build_args.keys.v[i];
		if (!set_has(&p.used_build_args, k) && !set_has(&p.meta_declared, k)) {
			unused = jv_array_append(unused, jv_string(k));
			warn(&p, "UnusedBuildArg", 0, "build-arg %s was not consumed by any ARG", k);
		}
	}
	if (p.lint_error && jv_array_length(jv_copy(p.warnings)) > 0) {
		jv w0 = jv_array_get(jv_copy(p.warnings), 0);
		jv msg = jv_object_get(jv_copy(w0), jv_string("message"));
		jv rule = jv_object_get(jv_copy(w0), jv_string("rule"));
		jv line = jv_object_get(w0, jv_string("line"));
		fb_err_set(err, FB_EXIT_USAGE, "lint", "lint violation (check error=true): %s: %s", jv_string_value(rule),
			   jv_string_value(msg));
		fb_err_where(err, file, (int)jv_number_value(line), 0);
		jv_free(msg);
		jv_free(rule);
		jv_free(line);
		jv_free(unused);
		goto out;
	}

	jv plan = jv_object();
	plan = set(plan, "version", jv_number(1));
	plan = set(plan, "file", jv_string(file));
	char esc[2] = { df->escape, 0 };
	plan = set(plan, "escape", jv_string(esc));
	plan = set(plan, "directives", directives);
	directives = jv_invalid();
	plan = set(plan, "platform", jv_string(fb_vars_get(&p.meta, "TARGETPLATFORM")));
	plan = set(plan, "build_platform", jv_string(fb_vars_get(&p.meta, "BUILDPLATFORM")));
	plan = set(plan, "args", p.global_args);
	p.global_args = jv_invalid();
	plan = set(plan, "build_args", jvars(&o->build_args));
	plan = set(plan, "unused_build_args", unused);
	jv t = jv_object();
	t = set(t, "index", jv_number(target));
	t = set(t, "name", p.stages[target].name ? jv_string(p.stages[target].name) : jv_null());
	plan = set(plan, "target", t);
	plan = set(plan, "stages", stages);
	stages = jv_invalid();
	plan = set(plan, "warnings", p.warnings);
	p.warnings = jv_invalid();
	*out = plan;
	ret = 0;
out:
	if (jv_is_valid(directives))
		jv_free(directives);
	if (jv_is_valid(stages))
		jv_free(stages);
	if (jv_is_valid(instrs))
		jv_free(instrs);
	if (jv_is_valid(p.warnings))
		jv_free(p.warnings);
	if (jv_is_valid(p.global_args))
		jv_free(p.global_args);
	for (size_t i = 0; i < p.nstages; i++) {
		struct stage *st = &p.stages[i];
		free(st->name);
		fb_vars_free(&st->env);
		fb_vars_free(&st->args);
		fb_vars_free(&st->args_unset);
		fb_vars_free(&st->deps);
		if (jv_is_valid(st->obj))
			jv_free(st->obj);
	}
	free(p.stages);
	free(needed);
	fb_vars_free(&p.meta);
	fb_vars_free(&p.meta_declared);
	fb_vars_free(&p.used_build_args);
	fb_vars_free(&p.unresolved);
	fb_vars_free(&p.skip_rules);
	fb_vars_free(&p.stage_names);
	return ret;
}
