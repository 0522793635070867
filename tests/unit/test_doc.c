/* lib/core/doc: the opaque pipeline document. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "util.h"
#include "tap.h"

static int members_pass_through(void)
{
	struct fb_err err = { 0 };
	struct fb_doc *d = NULL;
	const char *t = "{\"plan\":{\"version\":1},\"mine\":[1,2],\"x\":null}";
	TAP_CHECK(fb_doc_parse(t, strlen(t), &d, &err) == 0);
	TAP_CHECK(!fb_doc_is_error(d));
	TAP_CHECK(fb_doc_has(d, "plan") && fb_doc_has(d, "mine"));
	TAP_CHECK(!fb_doc_has(d, "x") && !fb_doc_has(d, "nope"));
	/* a codec adds its member; the others stay as they were */
	fb_doc_set(d, "image", jv_string("sha256:ab"));
	fb_doc_remove(d, "x");
	char *s = fb_doc_dump(d, false);
	TAP_STREQ(s, "{\"plan\":{\"version\":1},\"mine\":[1,2],\"image\":\"sha256:ab\"}");
	free(s);
	jv m = fb_doc_get(d, "nope");
	TAP_CHECK(jv_get_kind(m) == JV_KIND_NULL);
	jv_free(m);
	struct fb_doc *e = fb_doc_new();
	fb_doc_copy_member(e, d, "mine");
	s = fb_doc_dump(e, false);
	TAP_STREQ(s, "{\"mine\":[1,2]}");
	free(s);
	fb_doc_free(e);
	fb_doc_free(d);
	return 0;
}

static int not_an_object(void)
{
	static const char *const bad[][2] = {
		{ "null", "the document is a null, not an object" },
		{ "[]", "the document is an array, not an object" },
		{ "42", "the document is a number, not an object" },
		{ "\"x\"", "the document is a string, not an object" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_err err = { 0 };
		struct fb_doc *d = NULL;
		TAP_CHECK(fb_doc_parse(bad[i][0], strlen(bad[i][0]), &d, &err) == -1);
		TAP_CHECK(d == NULL && err.code == FB_EXIT_USAGE);
		TAP_STREQ(err.msg, bad[i][1]);
	}
	struct fb_err err = { 0 };
	struct fb_doc *d = NULL;
	TAP_CHECK(fb_doc_parse("{\"a\":", 5, &d, &err) == -1);
	TAP_CHECK(strstr(err.msg, "{\"a\"") == NULL); /* never echoes the text */
	return 0;
}

static int errors_and_files(void)
{
	struct fb_err err = { 0 };
	struct fb_doc *d = NULL;
	const char *t = "{\"error\":{\"tool\":\"fb-parse\",\"kind\":\"usage\",\"message\":\"m\"}}";
	TAP_CHECK(fb_doc_parse(t, strlen(t), &d, &err) == 0);
	TAP_CHECK(fb_doc_is_error(d));
	char dir[] = "/tmp/test_doc.XXXXXX";
	TAP_CHECK(mkdtemp(dir));
	char *p = fb_xasprintf("%s/d.json", dir);
	TAP_CHECK(fb_doc_save(p, d, 0600, &err) == 0);
	struct fb_doc *back = NULL;
	TAP_CHECK(fb_doc_load(p, &back, &err) == 0);
	TAP_CHECK(fb_doc_is_error(back));
	fb_doc_free(back);
	fb_doc_free(d);
	/* empty input: none, or an empty document where that is fine */
	int fds[2];
	TAP_CHECK(pipe(fds) == 0);
	close(fds[1]);
	TAP_CHECK(fb_doc_read_fd_opt(fds[0], &d, &err) == 0);
	char *s = fb_doc_dump(d, false);
	TAP_STREQ(s, "{}");
	free(s);
	fb_doc_free(d);
	close(fds[0]);
	unlink(p);
	rmdir(dir);
	free(p);
	return 0;
}

/* The first document of a pipe whose writer stays open (fb-fetch image
 * --stream): it comes back without waiting for the end; what follows it
 * is the caller's (a trailer: nothing, or one error object). */
static int first_of_a_stream(void)
{
	struct fb_err err = { 0 };
	struct fb_doc *d = NULL;
	int fds[2];
	TAP_CHECK(pipe(fds) == 0);
	/* braces and brackets inside strings, escaped quotes */
	const char *t = "  {\"a\":\"}]\\\"{\",\"b\":[{\"c\":1}]}\n{\"error\":{\"tool\":\"fb-fetch\",\"message\":\"gone\"}}";
	TAP_CHECK(write(fds[1], t, strlen(t)) == (ssize_t)strlen(t));
	struct fb_buf rest = FB_BUF_INIT;
	TAP_CHECK(fb_doc_read_first(fds[0], &d, &rest, &err) == 0); /* fds[1] still open */
	char *s = fb_doc_dump(d, false);
	TAP_STREQ(s, "{\"a\":\"}]\\\"{\",\"b\":[{\"c\":1}]}");
	free(s);
	fb_doc_free(d);
	close(fds[1]);
	struct fb_doc *e = NULL;
	TAP_CHECK(fb_doc_read_trailer(fds[0], &rest, &e, &err) == 1);
	s = fb_doc_error_text(e);
	TAP_STREQ(s, "fb-fetch: gone");
	free(s);
	fb_doc_free(e);
	close(fds[0]);
	fb_buf_free(&rest);
	/* white space only: nothing; something else: refused */
	e = NULL;
	TAP_CHECK(fb_doc_trailer(" \n", 2, &e, &err) == 0 && e == NULL);
	TAP_CHECK(fb_doc_trailer("{\"x\":1}", 7, &e, &err) == -1 && err.code == FB_EXIT_USAGE);
	TAP_CHECK(fb_doc_trailer("x", 1, &e, &err) == -1 && e == NULL);
	/* not a bracket first: read to the end, refused as before */
	TAP_CHECK(pipe(fds) == 0);
	TAP_CHECK(write(fds[1], "42", 2) == 2);
	close(fds[1]);
	struct fb_buf r2 = FB_BUF_INIT;
	TAP_CHECK(fb_doc_read_first(fds[0], &d, &r2, &err) == -1);
	TAP_STREQ(err.msg, "the input document: expected an object, got number");
	close(fds[0]);
	fb_buf_free(&r2);
	return 0;
}

static const struct tap_case cases[] = {
	{ "the first document of a stream, and what may follow it", first_of_a_stream },
	{ "members a tool does not know pass through", members_pass_through },
	{ "a document that is not an object is refused, by kind", not_an_object },
	{ "error objects; save and load", errors_and_files },
};

TAP_MAIN(cases)
