/* fb-init's own JSON reader (tools/fb-init/json.c, built here with the
 * host's libc and a fail() that records): numbers on the integer path and
 * on strtod's give the same values, and what is not a number is refused. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#include "../../tools/fb-init/json.c"

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

static const struct tap_case cases[] = {
	{ "integers without strtod, the same values", integers },
	{ "fractions, exponents, long numbers through strtod", not_integers },
	{ "numbers in a config", in_a_config },
};

TAP_MAIN(cases)
