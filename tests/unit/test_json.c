/* lib/json: one document exactly, checked getters, error objects. */
#include <string.h>

#include "err.h"
#include "json.h"
#include "tap.h"

static int parse_exactly_one(void)
{
	struct fb_err err = { 0 };
	jv v;
	TAP_CHECK(fb_json_parse("{\"a\":1}", 7, &v, &err) == 0);
	jv_free(v);
	TAP_CHECK(fb_json_parse("{\"a\":1} {\"b\":2}", 15, &v, &err) == -1);
	TAP_CHECK(err.code == FB_EXIT_USAGE);
	TAP_CHECK(strstr(err.msg, "Unexpected extra JSON values") != NULL);
	TAP_CHECK(fb_json_parse("  \n", 3, &v, &err) == -1);
	TAP_CHECK(strstr(err.msg, "empty document") != NULL);
	TAP_CHECK(fb_json_parse("{\"a\":", 5, &v, &err) == -1);
	TAP_CHECK(fb_json_parse("[1] ", 4, &v, &err) == 0);
	jv_free(v);
	/* JSON is UTF-8: anything else is refused before libjq sees it. */
	TAP_CHECK(fb_json_parse("[\"\xff\"]", 5, &v, &err) == -1);
	TAP_CHECK(strstr(err.msg, "invalid UTF-8 at byte 2") != NULL);
	return 0;
}

static int getters(void)
{
	struct fb_err err = { 0 };
	jv v;
	const char *doc = "{\"s\":\"x\",\"n\":42,\"b\":true,\"arr\":[\"p\",\"q\"],\"bad\":[1],\"nul\":null}";
	TAP_CHECK(fb_json_parse(doc, strlen(doc), &v, &err) == 0);
	char *s = NULL;
	TAP_CHECK(fb_json_get_str(v, "s", &s, &err) == 0);
	TAP_STREQ(s, "x");
	free(s);
	s = NULL;
	TAP_CHECK(fb_json_get_str(v, "missing", &s, &err) == -1);
	TAP_STREQ(err.msg, "invalid input: missing .missing");
	TAP_CHECK(fb_json_get_str(v, "n", &s, &err) == -1);
	TAP_STREQ(err.msg, "invalid input: .n must be a string");
	TAP_CHECK(fb_json_get_str_opt(v, "nul", &s, &err) == 0 && s == NULL);
	long long n = 0;
	TAP_CHECK(fb_json_get_int_opt(v, "n", &n, &err) == 0 && n == 42);
	bool b = false;
	TAP_CHECK(fb_json_get_bool_opt(v, "b", &b, &err) == 0 && b);
	struct fb_strv sv = FB_STRV_INIT;
	TAP_CHECK(fb_json_get_strv_opt(v, "arr", &sv, &err) == 0 && sv.n == 2);
	TAP_STREQ(sv.v[1], "q");
	fb_strv_free(&sv);
	TAP_CHECK(fb_json_get_strv_opt(v, "bad", &sv, &err) == -1);
	fb_strv_free(&sv);
	/* getters borrow: v is still ours */
	jv_free(v);
	return 0;
}

static int error_objects(void)
{
	struct fb_err e = { 0 };
	fb_err_set(&e, FB_EXIT_USAGE, "syntax", "unknown instruction: FOO");
	fb_err_where(&e, "Dockerfile", 4, 0);
	jv o = fb_json_error_object("fb-parse", &e);
	TAP_CHECK(fb_json_is_error_doc(o));
	char *s = fb_json_dump(o, false);
	TAP_STREQ(s, "{\"error\":{\"tool\":\"fb-parse\",\"kind\":\"syntax\",\"message\":\"unknown instruction: FOO\","
		     "\"exit_code\":2,\"where\":{\"file\":\"Dockerfile\",\"line\":4}}}");
	free(s);
	jv notan = jv_parse("{\"error\":\"text\"}");
	TAP_CHECK(!fb_json_is_error_doc(notan));
	jv_free(notan);
	return 0;
}

static int escape_for_logs(void)
{
	struct fb_buf b = FB_BUF_INIT;
	fb_buf_add_json_str(&b, "a\"b\\c\nd\x01");
	TAP_STREQ(fb_buf_str(&b), "\"a\\\"b\\\\c\\nd\\u0001\"");
	jv v = jv_parse(fb_buf_str(&b));
	TAP_CHECK(jv_get_kind(v) == JV_KIND_STRING);
	jv_free(v);
	fb_buf_free(&b);
	return 0;
}

static const struct tap_case cases[] = {
	{ "exactly one document", parse_exactly_one },
	{ "checked getters", getters },
	{ "error objects", error_objects },
	{ "JSON string escaping for logs", escape_for_logs },
};

TAP_MAIN(cases)
