/* fb-init's own JSON reader and its user helpers (tools/fb-init/json.c
 * and user.c, built here with the host's libc and a fail() that exits):
 * numbers on the integer path and on strtod's give the same values, what
 * is not a number is refused; scopy cuts as snprintf would; the PATH
 * search skips what cannot be a name, as execvp does. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#include "../../tools/fb-init/json.c"
#include "../../tools/fb-init/user.c"

void fail(int code, const char *fmt, ...)
{
	(void)fmt;
	fprintf(stderr, "fail %d\n", code);
	exit(code);
}

static int parse(const char *text, struct jval *v)
{
	struct jp jp = { text, text + strlen(text), 0 };
	return jvalue(&jp, v);
}

/* the value of text as a number, and where the reader stopped */
static int num(const char *text, double *out, size_t *used)
{
	struct jp jp = { text, text + strlen(text), 0 };
	struct jval v;
	if (jvalue(&jp, &v) < 0 || v.t != J_NUM)
		return -1;
	*out = v.num;
	*used = (size_t)(jp.p - text);
	return 0;
}

static int integers(void)
{
	static const char *const ok[] = { "0", "7", "-1", "65534", "4294967295", "123456789012345", "-0" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		double d;
		size_t used;
		TAP_CHECK(num(ok[i], &d, &used) == 0);
		TAP_CHECK(d == strtod(ok[i], NULL));
		TAP_CHECK(!signbit(d) == !signbit(strtod(ok[i], NULL)));
		TAP_CHECK(used == strlen(ok[i]));
	}
	/* an integer ends where JSON says, before , ] } and white space */
	double d;
	size_t used;
	TAP_CHECK(num("42,", &d, &used) == 0 && d == 42 && used == 2);
	TAP_CHECK(num("10}", &d, &used) == 0 && d == 10 && used == 2);
	return 0;
}

static int not_integers(void)
{
	/* fractions, exponents and long ones go through strtod: same values */
	static const char *const fl[] = { "1.5", "-2.25", "1e3", "2E-2", "12345678901234567890", "0.1" };
	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		double d;
		size_t used;
		TAP_CHECK(num(fl[i], &d, &used) == 0);
		TAP_CHECK(d == strtod(fl[i], NULL));
		TAP_CHECK(used == strlen(fl[i]));
	}
	struct jval v;
	TAP_CHECK(parse("-", &v) == -1);
	TAP_CHECK(parse("x1", &v) == -1);
	return 0;
}

static int in_a_config(void)
{
	struct jval v;
	TAP_CHECK(parse("{\"ids\":{\"uid\":1000,\"gid\":1000,\"groups\":[1000,27]},\"stop_timeout\":10,\"f\":0.5}", &v) == 0);
	const struct jval *ids = jget(&v, "ids");
	TAP_CHECK(ids && jget(ids, "uid")->num == 1000 && jget(ids, "groups")->v[1].num == 27);
	TAP_CHECK(jget(&v, "stop_timeout")->num == 10);
	TAP_CHECK(jget(&v, "f")->num == 0.5);
	jfree(&v);
	return 0;
}

static int string_copies(void)
{
	char d[4] = "xyz";
	scopy(d, 0, "abc"); /* no room: nothing written */
	TAP_STREQ(d, "xyz");
	scopy(d, sizeof(d), "ab");
	TAP_STREQ(d, "ab");
	scopy(d, sizeof(d), "abcdef");
	TAP_STREQ(d, "abc");
	scopy(d, 1, "q");
	TAP_STREQ(d, "");
	return 0;
}

/* exec_in_path in a child: its exit status, or 200 + errno when it returned */
static int path_run(const char *path, const char *prog)
{
	pid_t p = fork();
	if (p == 0) {
		char *argv[] = { (char *)prog, NULL };
		char *env[] = { (char *)path, NULL };
		exec_in_path(argv, env);
		_exit(200 + errno);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int path_search(void)
{
	static char path[8192];
	/* an entry longer than a name can be is passed over, not cut short */
	strcpy(path, "PATH=/nonexistent:/");
	memset(path + strlen(path), 'x', 5000);
	strcat(path, ":/bin");
	TAP_CHECK(path_run(path, "true") == 0);
	/* nothing found: ENOENT, as execvp says */
	TAP_CHECK(path_run("PATH=/nonexistent:/also/not", "true") == 200 + ENOENT);
	/* an empty entry is the current directory's name as given */
	TAP_CHECK(path_run("PATH=:/bin", "true") == 0);
	return 0;
}

static const struct tap_case cases[] = {
	{ "integers without strtod, the same values", integers },
	{ "fractions, exponents, long numbers through strtod", not_integers },
	{ "numbers in a config", in_a_config },
	{ "scopy cuts as snprintf would, and writes nothing with no room", string_copies },
	{ "the PATH search skips an entry too long for a name", path_search },
};

TAP_MAIN(cases)
