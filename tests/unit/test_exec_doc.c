/* lib/sandbox/exec_doc: fb-exec's spec decoded and checked in one step
 * (a message names the member), its result encoded, the rest of the
 * document kept. */
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "err.h"
#include "exec_doc.h"
#include "tap.h"
#include "util.h"

static int parse(const char *json, struct fb_doc **doc, struct fb_exec_spec *s, struct fb_err *err)
{
	*doc = NULL;
	return fb_exec_spec_parse(json, strlen(json), doc, s, err);
}

static int t_decode(void)
{
	struct fb_doc *doc FB_AUTODOC = NULL;
	struct fb_exec_spec s FB_AUTOEXECSPEC = { 0 };
	struct fb_err err = { 0 };
	TAP_CHECK(parse("{\"keep\":1,\"exec\":{\"root\":\"/r\",\"args\":[\"sh\",\"-c\",\"x\"],\"env\":[\"A=1\"],\"user\":\"u:g\","
			"\"workdir\":\"/w\",\"hostname\":\"h\",\"network\":\"none\",\"timeout\":30,\"mounts\":[{\"type\":\"bind\","
			"\"source\":\"/s\",\"target\":\"/t\",\"readonly\":true},{\"type\":\"tmpfs\",\"target\":\"/m\",\"size\":4096}]}}",
			&doc, &s, &err) == 0);
	TAP_STREQ(s.root, "/r");
	TAP_CHECK(s.args.n == 3 && s.env.n == 1);
	TAP_STREQ(s.user, "u:g");
	TAP_STREQ(s.workdir, "/w");
	TAP_STREQ(s.hostname, "h");
	TAP_CHECK(s.net_none && s.timeout == 30);
	TAP_CHECK(s.nmounts == 2);
	TAP_STREQ(s.mounts[0].source, "/s");
	TAP_CHECK(s.mounts[0].readonly && !s.mounts[1].readonly && s.mounts[1].size == 4096);
	/* the result goes in, the rest stays */
	struct fb_exec_result res = { .exit_code = 3, .seconds = 0.5, .error = "oops" };
	fb_exec_result_set(doc, &res);
	FB_AUTOFREE char *text = fb_doc_dump(doc, false);
	TAP_CHECK(strstr(text, "\"keep\":1"));
	TAP_CHECK(strstr(text, "\"exec_result\":{\"exit_code\":3,\"seconds\":0.5,\"timed_out\":false,\"error\":\"oops\"}"));
	/* encoded again: the same spec */
	FB_AUTOFREE char *again = fb_exec_spec_encode(&s);
	struct fb_doc *d2 FB_AUTODOC = NULL;
	struct fb_exec_spec s2 FB_AUTOEXECSPEC = { 0 };
	TAP_CHECK(parse(again, &d2, &s2, &err) == 0);
	TAP_STREQ(s2.user, "u:g");
	TAP_CHECK(s2.nmounts == 2 && s2.mounts[1].size == 4096 && s2.net_none && s2.timeout == 30);
	return 0;
}

static int t_minimal(void)
{
	struct fb_doc *doc FB_AUTODOC = NULL;
	struct fb_exec_spec s FB_AUTOEXECSPEC = { 0 };
	struct fb_err err = { 0 };
	TAP_CHECK(parse("{\"exec\":{\"root\":\"r\",\"user\":null,\"mounts\":null}}", &doc, &s, &err) == 0);
	TAP_CHECK(!s.user && !s.workdir && !s.net_none && s.timeout == 0 && s.nmounts == 0 && s.args.n == 0);
	return 0;
}

/* an earlier tool's error object: handed back to pass on */
static int t_error_doc(void)
{
	struct fb_doc *doc FB_AUTODOC = NULL;
	struct fb_exec_spec s = { 0 };
	struct fb_err err = { 0 };
	TAP_CHECK(parse("{\"error\":{\"tool\":\"fb-parse\",\"message\":\"x\"}}", &doc, &s, &err) == 1);
	TAP_CHECK(doc && fb_doc_is_error(doc));
	return 0;
}

static int t_refused(void)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "null", "the input document: expected an object, got null" },
		{ "{}", ".exec: missing (expected an object)" },
		{ "{\"exec\":5}", ".exec: expected an object, got number" },
		{ "{\"exec\":{\"root\":5}}", ".exec.root: expected a string, got number" },
		{ "{\"exec\":{\"root\":\"/\",\"args\":[\"a\",1]}}", ".exec.args[1]: expected a string, got number" },
		{ "{\"exec\":{\"root\":\"/\",\"timeout\":\"5\"}}", ".exec.timeout: expected an integer or null, got string" },
		{ "{\"exec\":{\"root\":\"/\",\"mounts\":[{\"type\":\"bind\",\"target\":5}]}}",
		  ".exec.mounts[0].target: expected a string, got number" },
		{ "{\"exec\":{\"root\":\"/\",\"mounts\":{}}}", ".exec.mounts: expected an array or null, got object" },
		{ "{\"exec\":{\"root\":\"/\",\"mounts\":[{\"type\":\"overlay\",\"target\":\"/t\"}]}}",
		  ".exec.mounts[0].type: expected one of bind, tmpfs, got \"overlay\"" },
		{ "{\"exec\":{\"root\":\"/\",\"mounts\":[{\"type\":\"tmpfs\",\"target\":\"t\"}]}}",
		  ".exec.mounts[0]: target t: must be absolute and not /" },
		{ "{\"exec\":{\"root\":\"/\",\"mounts\":[{\"type\":\"tmpfs\",\"target\":\"/\"}]}}",
		  ".exec.mounts[0]: target /: must be absolute and not /" },
		{ "{\"exec\":{\"root\":\"/\",\"mounts\":[{\"type\":\"bind\",\"target\":\"/t\"}]}}",
		  ".exec.mounts[0]: a bind mount needs a source" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_doc *doc = NULL;
		struct fb_exec_spec s = { 0 };
		struct fb_err err = { 0 };
		int r = parse(bad[i].json, &doc, &s, &err);
		fb_doc_free(doc);
		if (r == 0)
			fb_exec_spec_free(&s);
		if (r >= 0)
			return tap_fail("%s: not refused", bad[i].json);
		TAP_CHECK(err.code == FB_EXIT_USAGE);
		TAP_STREQ(err.msg, bad[i].msg);
	}
	return 0;
}

static const struct tap_case cases[] = {
	{ "every member decoded; the result set, the rest kept; encoded again the same", t_decode },
	{ "only the root: the defaults", t_minimal },
	{ "an error object is handed back to pass on", t_error_doc },
	{ "what is not a spec is refused, naming the member", t_refused },
};

TAP_MAIN(cases)
