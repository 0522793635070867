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
	TAP_STREQ(err.msg, ".missing: missing (expected a string)");
	TAP_CHECK(fb_json_get_str(v, "n", &s, &err) == -1);
	TAP_STREQ(err.msg, ".n: expected a string, got number");
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
	TAP_STREQ(err.msg, ".bad[0]: expected a string, got number");
	fb_strv_free(&sv);
	/* a getter on a value that is not an object: no member, no abort */
	jv notobj = jv_number(1);
	TAP_CHECK(fb_json_get_str(notobj, "s", &s, &err) == -1);
	TAP_STREQ(err.msg, ".s: missing (expected a string)");
	TAP_CHECK(fb_json_get_int_opt(v, "s", &n, &err) == -1);
	TAP_STREQ(err.msg, ".s: expected an integer, got string");
	jv big = jv_parse("{\"n\":1e300,\"f\":1.5}");
	TAP_CHECK(fb_json_get_int_opt(big, "n", &n, &err) == -1);
	TAP_CHECK(fb_json_get_int_opt(big, "f", &n, &err) == -1);
	TAP_STREQ(err.msg, ".f: expected an integer, got 1.5");
	jv_free(big);
	/* the path of the object an error is about goes in front */
	fb_json_err_in(&err, ".vm");
	TAP_STREQ(err.msg, ".vm.f: expected an integer, got 1.5");
	fb_err_set(&err, FB_EXIT_USAGE, "invalid", "no such thing");
	fb_json_err_in(&err, ".vm");
	TAP_STREQ(err.msg, ".vm: no such thing");
	/* getters borrow: v is still ours */
	jv_free(v);
	return 0;
}

/* the message names where it failed, never the document's text */
static int parse_errors_hide_the_document(void)
{
	struct fb_err err = { 0 };
	jv v;
	const char *doc = "my secret password 12345";
	TAP_CHECK(fb_json_parse(doc, strlen(doc), &v, &err) == -1);
	TAP_STREQ(err.msg, "malformed JSON input: Invalid literal at line 1, column 1");
	TAP_CHECK(strstr(err.msg, "secret") == NULL);
	/* RFC 8259's grammar, checked before libjq (which leaks on some of
	 * these and takes nan) sees the text */
	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{ "{\"a\":\n  secret}", "Invalid literal at line 2, column 3" },
		{ "[1,]", "Invalid literal at line 1, column 4" },
		{ "{\"a\":1,}", "Object keys must be strings at line 1, column 8" },
		{ "{\"a\" 1}", "Objects must consist of key:value pairs at line 1, column 6" },
		{ "nan", "Invalid literal at line 1, column 1" },
		{ "01", "Unexpected extra JSON values" },
		{ "1.", "Invalid numeric literal at line 1, column 1" },
		{ "\"\\q\"", "Invalid escape at line 1, column 2" },
		{ "\"\\u12\"", "Invalid \\uXXXX escape at line 1, column 2" },
		{ "\"a\tb\"", "Invalid string: control characters from U+0000 through U+001F must be escaped at line 1, column 3" },
		{ "{\"a\":[1,2}", "Expected separator between values at line 1, column 10" },
		{ "{\"a\":1}}", "Unexpected extra JSON values" },
		{ "[[[", "Unfinished JSON term at EOF at line 1, column 4" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		char want[256];
		snprintf(want, sizeof(want), "malformed JSON input: %s", bad[i].msg);
		TAP_CHECK(fb_json_parse(bad[i].doc, strlen(bad[i].doc), &v, &err) == -1);
		TAP_STREQ(err.msg, want);
	}
	/* as deep as libjq goes, and no deeper */
	char deep[600];
	memset(deep, '[', 256);
	memset(deep + 256, ']', 256);
	TAP_CHECK(fb_json_parse(deep, 512, &v, &err) == 0);
	jv_free(v);
	memset(deep, '[', 257);
	memset(deep + 257, ']', 257);
	TAP_CHECK(fb_json_parse(deep, 514, &v, &err) == -1);
	TAP_STREQ(err.msg, "malformed JSON input: Exceeds depth limit for parsing at line 1, column 257");
	const char *ok = "{\"a\":[1,-2.5e+3,true,false,null,\"\\u00e9\\n\"],\"b\":{}}";
	TAP_CHECK(fb_json_parse(ok, strlen(ok), &v, &err) == 0);
	jv_free(v);
	return 0;
}

static const struct fb_jshape t_str = { .kinds = FB_J_STRING };
static const struct fb_jshape t_port = { .kinds = FB_J_INT, .min = 1, .max = 65535 };
static const char *const t_modes[] = { "ro", "rw", NULL };
static const struct fb_jshape t_mode = { .kinds = FB_J_STRING | FB_J_NULL, .oneof = t_modes };
static const struct fb_jfield t_item_fields[] = {
	{ .key = "name", .shape = &t_str, .required = true },
	{ .key = "port", .shape = &t_port },
	{ .key = "mode", .shape = &t_mode },
	{ .key = NULL },
};
static const struct fb_jshape t_item = { .kinds = FB_J_OBJECT, .fields = t_item_fields };
static const struct fb_jshape t_items = { .kinds = FB_J_ARRAY, .items = &t_item };
static const struct fb_jfield t_doc_fields[] = {
	{ .key = "items", .shape = &t_items, .required = true },
	{ .key = NULL },
};
static const struct fb_jshape t_doc = { .kinds = FB_J_OBJECT, .fields = t_doc_fields };

static int shapes(void)
{
	static const struct {
		const char *doc, *msg;
	} cases[] = {
		{ "{\"items\":[{\"name\":\"a\",\"port\":80,\"mode\":null}],\"other\":[1]}", NULL },
		{ "null", "the input document: expected an object, got null" },
		{ "[]", "the input document: expected an object, got array" },
		{ "{}", ".items: missing (expected an array)" },
		{ "{\"items\":5}", ".items: expected an array, got number" },
		{ "{\"items\":[{\"name\":\"a\"},7]}", ".items[1]: expected an object, got number" },
		{ "{\"items\":[{}]}", ".items[0].name: missing (expected a string)" },
		{ "{\"items\":[{\"name\":\"a\",\"port\":0}]}", ".items[0].port: expected an integer from 1 to 65535, got 0" },
		{ "{\"items\":[{\"name\":\"a\",\"port\":8.5}]}", ".items[0].port: expected an integer from 1 to 65535, got 8.5" },
		{ "{\"items\":[{\"name\":\"a\",\"port\":\"80\"}]}", ".items[0].port: expected an integer, got string" },
		{ "{\"items\":[{\"name\":\"a\",\"mode\":\"rx\"}]}", ".items[0].mode: expected one of ro, rw, got \"rx\"" },
		{ "{\"items\":[{\"name\":\"a\",\"mode\":true}]}", ".items[0].mode: expected a string or null, got boolean" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(cases); i++) {
		struct fb_err err = { 0 };
		jv v = jv_parse(cases[i].doc);
		int r = fb_json_check(v, &t_doc, "", &err);
		jv_free(v);
		if (!cases[i].msg && r != 0)
			return tap_fail("%s: %s", cases[i].doc, err.msg);
		if (cases[i].msg) {
			TAP_CHECK(r == -1 && err.code == FB_EXIT_USAGE);
			TAP_STREQ(err.msg, cases[i].msg);
		}
	}
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
	{ "parse errors do not echo the document", parse_errors_hide_the_document },
	{ "shapes name the member at fault", shapes },
	{ "error objects", error_objects },
	{ "JSON string escaping for logs", escape_for_logs },
};

TAP_MAIN(cases)
