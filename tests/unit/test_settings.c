/* lib/core/settings: a table drives the parser, the checks by kind, --help
 * and completion; lib/vm/profile: the same table drives the profiles. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doc.h"
#include "err.h"
#include "profile.h"
#include "settings.h"
#include "tap.h"
#include "util.h"

enum { A, B };
#define BOTH ((1UL << A) | (1UL << B))

enum {
	T_NAME,
	T_LIST,
	T_MAP,
	T_NUM,
	T_SECS,
	T_BOOL,
	T_SWITCH,
	T_MODE,
	T_HELP,
	T_OLD,
	T_OLD_PROP,
	T_ONLY_B,
	T_EPOCH,
	T_COUNT
};

static int applied;
static void apply_count(const char *v)
{
	(void)v;
	applied++;
}

static int check_no_x(const char *spelling, const char *v, struct fb_err *err)
{
	return strchr(v, 'x') ? fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s %s: no x", spelling, v) : 0;
}

static const struct fb_setting table[T_COUNT] = {
	[T_NAME] = { .flag = "name", .aliases = (const char *const[]){ "called", NULL }, .key = "name_key", .arg = "N",
		     .def = "anon", .help = "what it is called", .cmds = BOTH, .check = check_no_x },
	[T_LIST] = { .flag = "dir", .kind = FB_SETTING_LIST, .key = "dirs", .arg = "DIR", .profile_def = "/a:/b",
		     .cmds = BOTH },
	[T_MAP] = { .flag = "prop", .kind = FB_SETTING_MAP, .key = "props", .arg = "K=V", .profile_def = "root=/r",
		    .cmds = BOTH },
	[T_NUM] = { .flag = "cpu", .kind = FB_SETTING_INT, .key = "cpu", .arg = "N", .def = "1", .min = 1, .max = 64,
		    .cmds = BOTH },
	[T_SECS] = { .flag = "wait", .kind = FB_SETTING_SECONDS, .arg = "S", .def = "30", .max = LLONG_MAX, .cmds = BOTH },
	[T_BOOL] = { .flag = "trace", .kind = FB_SETTING_BOOL, .key = "trace", .def = "false", .cmds = BOTH,
		     .apply = apply_count },
	[T_SWITCH] = { .flag = "force", .kind = FB_SETTING_SWITCH, .cmds = BOTH },
	[T_MODE] = { .flag = "mode", .key = "mode", .arg = "MODE", .oneof = (const char *const[]){ "fast", "slow", NULL }, .cmds = BOTH,
		     .group = 1, .help = "how" },
	[T_HELP] = { .flag = "help", .kind = FB_SETTING_HELP, .cmds = BOTH, .group = 1 },
	[T_OLD] = { .flag = "old-name", .into = "name", .cmds = 1UL << A, .group = 1 },
	[T_OLD_PROP] = { .flag = "old-root", .arg = "DIR", .into = "prop", .into_prefix = "root=", .cmds = BOTH, .group = 1 },
	[T_ONLY_B] = { .flag = "only-b", .cmds = 1UL << B },
	[T_EPOCH] = { .flag = "epoch", .kind = FB_SETTING_INT, .arg = "S", .min = 0, .max = 99, .cmds = 1UL << B,
		      .env = "FB_TEST_EPOCH" },
};
static const char *const groups[] = { NULL, "Others:" };
static const struct fb_settings settings = { table, T_COUNT, groups, 2 };

/* argv from a string (words split on spaces), argv[0] "cmd" */
struct args {
	char *buf;
	char *v[32];
	int n;
};

static void args_make(struct args *a, const char *s)
{
	a->buf = fb_xstrdup(s);
	a->n = 0;
	a->v[a->n++] = "cmd";
	for (char *save = NULL, *w = strtok_r(a->buf, " ", &save); w && a->n < 31; w = strtok_r(NULL, " ", &save))
		a->v[a->n++] = w;
	a->v[a->n] = NULL;
}

static int parse(struct fb_opts *o, unsigned cmd, const char *line, unsigned flags, struct args *a, struct fb_err *err)
{
	args_make(a, line);
	return fb_opts_parse(o, &settings, cmd, a->n, a->v, flags, err);
}

static int test_values(void)
{
	struct fb_opts o;
	struct args a;
	struct fb_err err = { 0 };
	applied = 0;
	TAP_CHECK(parse(&o, A, "--called=me --dir /x op1 --dir=/y --prop k=v --cpu 4 --wait 15s --trace --force --mode slow op2",
			0, &a, &err) == 0);
	TAP_STREQ(fb_opts_str(&o, T_NAME), "me");
	TAP_STREQ(o.v[T_NAME].spelling, "called");
	TAP_CHECK(fb_opts_list(&o, T_LIST)->n == 2);
	TAP_STREQ(fb_opts_list(&o, T_LIST)->v[1], "/y");
	TAP_STREQ(fb_opts_map_get(&o, T_MAP, "k"), "v");
	TAP_CHECK(fb_opts_int(&o, T_NUM) == 4);
	TAP_CHECK(fb_opts_int(&o, T_SECS) == 15);
	TAP_CHECK(fb_opts_bool(&o, T_BOOL) && applied == 1);
	TAP_CHECK(fb_opts_bool(&o, T_SWITCH));
	TAP_STREQ(fb_opts_str(&o, T_MODE), "slow");
	/* operands anywhere, in order */
	TAP_CHECK(o.nargs == 2);
	TAP_STREQ(o.args[0], "op1");
	TAP_STREQ(o.args[1], "op2");
	/* every flag as given, in order */
	TAP_CHECK(o.nseen == 9);
	TAP_CHECK(o.seen[0].id == T_NAME);
	fb_opts_free(&o);
	free(a.buf);
	return 0;
}

static int test_defaults(void)
{
	struct fb_opts o;
	struct args a;
	struct fb_err err = { 0 };
	TAP_CHECK(parse(&o, A, "--trace=false", 0, &a, &err) == 0);
	TAP_CHECK(fb_opts_str(&o, T_NAME) == NULL); /* the flag's: not given */
	TAP_CHECK(fb_opts_int(&o, T_NUM) == 1);
	TAP_CHECK(fb_opts_int(&o, T_SECS) == 30);
	TAP_CHECK(fb_opts_given(&o, T_BOOL) && !fb_opts_bool(&o, T_BOOL));
	TAP_CHECK(!fb_opts_bool(&o, T_SWITCH));
	TAP_CHECK(fb_opts_list(&o, T_LIST)->n == 0);
	fb_opts_free(&o);
	free(a.buf);
	return 0;
}

/* another spelling's value goes to its setting, a prefix before it */
static int test_into(void)
{
	struct fb_opts o;
	struct args a;
	struct fb_err err = { 0 };
	TAP_CHECK(parse(&o, A, "--old-name=n1 --old-root /r2", 0, &a, &err) == 0);
	TAP_STREQ(fb_opts_str(&o, T_NAME), "n1");
	TAP_STREQ(o.v[T_NAME].spelling, "old-name");
	TAP_STREQ(fb_opts_map_get(&o, T_MAP, "root"), "/r2");
	TAP_CHECK(o.nseen == 2 && o.seen[1].id == T_MAP);
	fb_opts_free(&o);
	free(a.buf);
	/* and its target's checks, named as given */
	TAP_CHECK(parse(&o, A, "--old-name=box", 0, &a, &err) < 0);
	TAP_STREQ(err.msg, "--old-name box: no x");
	fb_opts_free(&o);
	free(a.buf);
	return 0;
}

static int test_errors(void)
{
	static const struct {
		unsigned cmd;
		const char *line;
		unsigned flags;
		const char *msg;
	} cases[] = {
		{ A, "--bogus", 0, "unknown option '--bogus'" },
		{ A, "--only-b=1", 0, "unknown option '--only-b'" },
		{ A, "--name", 0, "option '--name' needs a value" },
		{ A, "--force=1", 0, "option '--force' takes no value" },
		{ A, "--cpu=0", 0, "--cpu 0: expected a number from 1 to 64" },
		{ A, "--cpu=2x", 0, "--cpu 2x: expected a number from 1 to 64" },
		{ A, "--cpu=99999999999999999999", 0, "--cpu 99999999999999999999: expected a number from 1 to 64" },
		{ A, "--wait=-1", 0, "--wait -1: expected seconds (15 or 15s), at least 0" },
		{ A, "--trace=yes", 0, "--trace: expected true or false, got 'yes'" },
		{ A, "--prop=novalue", 0, "--prop novalue: expected KEY=VALUE" },
		{ A, "--prop==v", 0, "--prop =v: expected KEY=VALUE" },
		{ A, "--mode=medium", 0, "--mode medium: expected fast or slow" },
		{ A, "--name=x1", 0, "--name x1: no x" },
		{ A, "op", FB_OPTS_NO_ARGS, "unexpected argument 'op'" },
		{ B, "--old-name=a", 0, "unknown option '--old-name'" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(cases); i++) {
		struct fb_opts o;
		struct args a;
		struct fb_err err = { 0 };
		int r = parse(&o, cases[i].cmd, cases[i].line, cases[i].flags, &a, &err);
		fb_opts_free(&o);
		free(a.buf);
		if (r == 0)
			return tap_fail("%s: no error", cases[i].line);
		TAP_CHECK(err.code == FB_EXIT_USAGE);
		TAP_STREQ(err.msg, cases[i].msg);
	}
	return 0;
}

/* in order: the first operand ends the flags; --help stops everything */
static int test_in_order_help(void)
{
	struct fb_opts o;
	struct args a;
	struct fb_err err = { 0 };
	TAP_CHECK(parse(&o, A, "--cpu 2 run --cpu 3 --bogus", FB_OPTS_IN_ORDER, &a, &err) == 0);
	TAP_CHECK(fb_opts_int(&o, T_NUM) == 2 && o.nargs == 4);
	TAP_STREQ(o.args[1], "--cpu");
	fb_opts_free(&o);
	free(a.buf);
	TAP_CHECK(parse(&o, A, "--cpu 2 -- --cpu", FB_OPTS_IN_ORDER, &a, &err) == 0);
	TAP_CHECK(o.nargs == 1);
	fb_opts_free(&o);
	free(a.buf);
	TAP_CHECK(parse(&o, A, "--cpu 2 --help --bogus", 0, &a, &err) == 0);
	TAP_CHECK(o.help);
	fb_opts_free(&o);
	free(a.buf);
	/* a unique prefix is the flag, as getopt_long has it */
	TAP_CHECK(parse(&o, A, "--for", 0, &a, &err) == 0);
	TAP_CHECK(fb_opts_bool(&o, T_SWITCH));
	fb_opts_free(&o);
	free(a.buf);
	return 0;
}

/* a table that contradicts itself is refused, naming the setting */
static int test_validate(void)
{
	struct fb_err err = { 0 };
	TAP_CHECK(fb_settings_validate(&settings, &err) == 0);
	struct fb_setting bad[3] = { table[T_NAME], table[T_LIST] };
	struct fb_settings t = { bad, 2, groups, 2 };
	bad[1].aliases = (const char *const[]){ "called", NULL };
	TAP_CHECK(fb_settings_validate(&t, &err) < 0);
	TAP_STREQ(err.msg, "--called is two settings'");
	bad[1] = table[T_LIST];
	bad[1].into = "nothing";
	bad[1].key = NULL;
	TAP_CHECK(fb_settings_validate(&t, &err) < 0);
	bad[1] = table[T_NUM];
	bad[1].def = "100";
	TAP_CHECK(fb_settings_validate(&t, &err) < 0);
	TAP_STREQ(err.msg, "the default of --cpu 100: expected a number from 1 to 64");
	bad[1] = table[T_NUM];
	bad[1].key = "name_key";
	TAP_CHECK(fb_settings_validate(&t, &err) < 0);
	/* a table the parser refuses */
	struct fb_opts o;
	struct args a;
	args_make(&a, "--cpu=1");
	TAP_CHECK(fb_opts_parse(&o, &t, A, a.n, a.v, 0, &err) < 0);
	fb_opts_free(&o);
	free(a.buf);
	return 0;
}

static int test_help(void)
{
	FB_AUTOFREE char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fb_settings_help(f, &settings, 1UL << A);
	fclose(f);
	/* the column, the default and the other spellings; groups with titles */
	TAP_CHECK(strstr(text, "  --name N                   what it is called (anon; also --called)\n"));
	TAP_CHECK(strstr(text, "  --cpu N                    (1)\n"));
	TAP_CHECK(strstr(text, "\nOthers:\n  --mode MODE"));
	TAP_CHECK(strstr(text, "  --old-root DIR             the same as --prop root=DIR\n"));
	TAP_CHECK(!strstr(text, "--only-b"));
	struct fb_strv sp = FB_STRV_INIT;
	fb_settings_spellings(&settings, B, &sp);
	bool called = false, old = false;
	for (size_t i = 0; i < sp.n; i++)
		called |= !strcmp(sp.v[i], "--called"), old |= !strcmp(sp.v[i], "--old-name");
	TAP_CHECK(called && !old);
	fb_strv_free(&sp);
	return 0;
}

/* ---- profiles ---- */

static int test_profile_defaults(void)
{
	struct fb_profile *p FB_AUTOPROFILE = fb_profile_new(&settings);
	TAP_STREQ(fb_profile_str(p, T_NAME), "anon");
	TAP_STREQ(fb_profile_str(p, T_BOOL), "false");
	TAP_CHECK(fb_profile_list_of(p, T_LIST)->n == 2);
	TAP_STREQ(fb_profile_map_get(p, T_MAP, "root"), "/r");
	TAP_CHECK(fb_profile_str(p, T_SECS) == NULL); /* no key: not in profiles */
	TAP_CHECK(fb_profile_str(p, T_MODE) == NULL);
	return 0;
}

static int decode(const char *json, struct fb_profile **out, struct fb_err *err)
{
	*out = fb_profile_new(&settings);
	return fb_profile_decode(*out, json, strlen(json), err);
}

static int test_profile_decode(void)
{
	struct fb_profile *p FB_AUTOPROFILE = NULL;
	struct fb_err err = { 0 };
	TAP_CHECK(decode("{\"name\":\"ignored\",\"name_key\":\"n\",\"dirs\":\"/c\",\"props\":{\"k\":\"v\"},\"cpu\":8,"
			 "\"trace\":true,\"mode\":\"fast\"}",
			 &p, &err) == 0);
	TAP_STREQ(fb_profile_str(p, T_NAME), "n");
	TAP_CHECK(fb_profile_list_of(p, T_LIST)->n == 1);
	TAP_CHECK(fb_profile_map_get(p, T_MAP, "root") == NULL); /* the profile's map replaces the default */
	TAP_STREQ(fb_profile_map_get(p, T_MAP, "k"), "v");
	TAP_STREQ(fb_profile_str(p, T_NUM), "8");
	TAP_STREQ(fb_profile_str(p, T_BOOL), "true");
	fb_profile_free(p);
	/* an empty value is no value: not the default either */
	TAP_CHECK(decode("{\"name_key\":\"\"}", &p, &err) == 0);
	TAP_CHECK(fb_profile_str(p, T_NAME) == NULL);
	fb_profile_free(p);
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "[1]", "not a JSON object" },
		{ "{\"nmae_key\":\"x\"}", "unknown key \"nmae_key\"" },
		{ "{\"cpu\":\"many\"}", ".cpu: --cpu many: expected a number from 1 to 64" },
		{ "{\"cpu\":1.5}", ".cpu: expected an integer, got 1.5" },
		{ "{\"cpu\":[]}", ".cpu: expected a string, got array" },
		{ "{\"trace\":\"yes\"}", ".trace: expected a boolean, got string" },
		{ "{\"dirs\":[\"/a\"]}", ".dirs: expected a string (':' between the values), got array" },
		{ "{\"props\":{\"k\":1}}", ".props.k: expected a string, got number" },
		{ "{\"props\":\"k=v\"}", ".props: expected an object, got string" },
		{ "{\"mode\":\"medium\"}", ".mode: --mode medium: expected fast or slow" },
		{ "{\"name_key\":\"box\"}", ".name_key: --name box: no x" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		err = (struct fb_err){ 0 };
		int r = decode(bad[i].json, &p, &err);
		fb_profile_free(p);
		p = NULL;
		if (r == 0)
			return tap_fail("%s: no error", bad[i].json);
		TAP_CHECK(err.code == FB_EXIT_USAGE);
		TAP_STREQ(err.msg, bad[i].msg);
	}
	return 0;
}

/* the command line into a profile, saved, loaded back the same */
static int test_profile_roundtrip(void)
{
	char dir[] = "/tmp/test-profile-XXXXXX";
	TAP_CHECK(mkdtemp(dir));
	struct fb_opts o;
	struct args a;
	struct fb_err err = { 0 };
	TAP_CHECK(parse(&o, A, "--name=n --dir /d1 --dir /d2 --prop root=/r2 --prop k=v --trace --wait=5", 0, &a, &err) == 0);
	struct fb_profile *p FB_AUTOPROFILE = fb_profile_new(&settings);
	fb_profile_take(p, &o);
	fb_opts_free(&o);
	free(a.buf);
	TAP_CHECK(fb_profile_save(p, dir, "lab", false, &err) == 0);
	TAP_CHECK(fb_profile_save(p, dir, "lab", false, &err) < 0 && err.code == FB_EXIT_CONFLICT);
	TAP_CHECK(fb_profile_save(p, dir, "../evil", true, &err) < 0 && err.code == FB_EXIT_USAGE);
	struct fb_profile *q FB_AUTOPROFILE = NULL;
	TAP_CHECK(fb_profile_load(&settings, dir, "lab", &q, &err) == 0);
	TAP_STREQ(q->name, "lab");
	TAP_STREQ(fb_profile_str(q, T_NAME), "n");
	TAP_CHECK(fb_profile_list_of(q, T_LIST)->n == 2);
	TAP_STREQ(fb_profile_map_get(q, T_MAP, "root"), "/r2");
	TAP_STREQ(fb_profile_map_get(q, T_MAP, "k"), "v");
	TAP_STREQ(fb_profile_str(q, T_BOOL), "true");
	FB_AUTOFREE char *t1 = fb_profile_encode(p);
	FB_AUTOFREE char *t2 = fb_profile_encode(q);
	TAP_STREQ(t1, t2);
	struct fb_strv names = FB_STRV_INIT;
	TAP_CHECK(fb_profile_list(dir, &names, &err) == 0 && names.n == 1);
	fb_strv_free(&names);
	struct fb_profile *r FB_AUTOPROFILE = NULL;
	TAP_CHECK(fb_profile_load(&settings, dir, "missing", &r, &err) < 0 && err.code == FB_EXIT_NOTFOUND);
	FB_AUTOFREE char *path = fb_xasprintf("%s/lab.json", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* a setting's environment variable: the value when no flag gives one,
 * checked as the flag, its error naming the variable; unset or empty:
 * none; a command that does not take the setting does not read it */
static int test_env(void)
{
	struct fb_opts o;
	struct args a;
	struct fb_err err = { 0 };
	setenv("FB_TEST_EPOCH", "42", 1);
	TAP_CHECK(parse(&o, B, "", 0, &a, &err) == 0);
	TAP_CHECK(fb_opts_given(&o, T_EPOCH) && fb_opts_int(&o, T_EPOCH) == 42);
	TAP_STREQ(fb_opts_str(&o, T_EPOCH), "42");
	fb_opts_free(&o);
	free(a.buf);
	TAP_CHECK(parse(&o, B, "--epoch=7", 0, &a, &err) == 0);
	TAP_CHECK(fb_opts_int(&o, T_EPOCH) == 7);
	fb_opts_free(&o);
	free(a.buf);
	TAP_CHECK(parse(&o, A, "", 0, &a, &err) == 0);
	TAP_CHECK(!fb_opts_given(&o, T_EPOCH));
	fb_opts_free(&o);
	free(a.buf);
	setenv("FB_TEST_EPOCH", "", 1);
	TAP_CHECK(parse(&o, B, "", 0, &a, &err) == 0);
	TAP_CHECK(!fb_opts_given(&o, T_EPOCH));
	fb_opts_free(&o);
	free(a.buf);
	setenv("FB_TEST_EPOCH", "100", 1);
	TAP_CHECK(parse(&o, B, "", 0, &a, &err) < 0);
	TAP_CHECK(err.code == FB_EXIT_USAGE);
	TAP_STREQ(err.msg, "FB_TEST_EPOCH=100 in the environment: --epoch 100: expected a number from 0 to 99");
	fb_opts_free(&o);
	free(a.buf);
	/* a flag given: the variable is not even looked at */
	memset(&err, 0, sizeof(err));
	TAP_CHECK(parse(&o, B, "--epoch 3", 0, &a, &err) == 0);
	fb_opts_free(&o);
	free(a.buf);
	unsetenv("FB_TEST_EPOCH");
	return 0;
}

static const struct tap_case cases[] = {
	{ "an environment variable gives a value no flag gives", test_env },
	{ "values of every kind, aliases, operands anywhere", test_values },
	{ "defaults when not given", test_defaults },
	{ "another spelling's value goes to its setting, with its checks", test_into },
	{ "usage errors name the flag as given", test_errors },
	{ "in order, --, --help, prefixes", test_in_order_help },
	{ "a table that contradicts itself is refused", test_validate },
	{ "help and completion from the table", test_help },
	{ "profile: the table's defaults", test_profile_defaults },
	{ "profile: decoded by the table, unknown keys and wrong kinds refused", test_profile_decode },
	{ "profile: command line, save, load", test_profile_roundtrip },
};

TAP_MAIN(cases)
