/* lib/util: buffers, string vectors, UTF-8, file reading; lib/err. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "util.h"
#include "tap.h"

static int buf_grows_and_formats(void)
{
	struct fb_buf b = FB_BUF_INIT;
	TAP_STREQ(fb_buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		fb_buf_addf(&b, "%d,", i);
	TAP_CHECK(b.len > 3000);
	TAP_CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
	fb_buf_reset(&b);
	fb_buf_add(&b, "a\0b", 3);
	TAP_CHECK(b.len == 3 && b.data[3] == '\0');
	char *s = fb_buf_steal(&b);
	TAP_CHECK(b.data == NULL && b.len == 0);
	free(s);
	return 0;
}

static int strv_push_and_free(void)
{
	struct fb_strv v = FB_STRV_INIT;
	for (int i = 0; i < 100; i++)
		fb_strv_push_owned(&v, fb_xasprintf("s%d", i));
	TAP_CHECK(v.n == 100);
	TAP_CHECK(v.v[100] == NULL);
	TAP_STREQ(v.v[42], "s42");
	fb_strv_free(&v);
	TAP_CHECK(v.n == 0 && v.v == NULL);
	return 0;
}

static int utf8_decode(void)
{
	unsigned cp;
	bool valid;
	TAP_CHECK(fb_utf8_decode("\xe2\x99\xa5", 3, &cp, &valid) == 3 && valid && cp == 0x2665);
	TAP_CHECK(fb_utf8_decode("\xff", 1, &cp, &valid) == 1 && !valid);
	TAP_CHECK(fb_utf8_decode("\xc0\x80", 2, &cp, &valid) == 1 && !valid); /* overlong */
	TAP_CHECK(fb_utf8_decode("\xe2\x99", 2, &cp, &valid) == 1 && !valid); /* truncated */
	TAP_CHECK(fb_unicode_isspace(0xA0) && fb_unicode_isspace(0x3000) && !fb_unicode_isspace('x'));
	return 0;
}

static int prefixes(void)
{
	TAP_CHECK(fb_str_has_prefix("--flag", "--"));
	TAP_CHECK(!fb_str_has_prefix("-", "--"));
	TAP_CHECK(fb_str_has_suffix("a.tar.gz", ".gz"));
	TAP_CHECK(!fb_str_has_suffix("gz", ".tar.gz"));
	return 0;
}

static int read_file_and_errors(void)
{
	char path[] = "/tmp/fb-test-XXXXXX";
	int fd = mkstemp(path);
	TAP_CHECK(fd >= 0);
	TAP_CHECK(write(fd, "hello", 5) == 5);
	close(fd);
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_read_file(path, &b, &err) == 0);
	TAP_STREQ(fb_buf_str(&b), "hello");
	fb_buf_free(&b);
	unlink(path);
	TAP_CHECK(fb_read_file(path, &b, &err) == -1);
	TAP_CHECK(err.code == FB_EXIT_NOTFOUND);
	TAP_CHECK(strstr(err.msg, "No such file or directory") != NULL);
	fb_buf_free(&b);
	return 0;
}

static int mkdir_parents(void)
{
	char root[] = "/tmp/fb-test-XXXXXX";
	TAP_CHECK(mkdtemp(root) != NULL);
	struct fb_err err = { 0 };
	char *deep = fb_xasprintf("%s/a/b/c", root), *file = fb_xasprintf("%s/a/f", root),
	     *under = fb_xasprintf("%s/a/f/x", root);
	struct stat st;
	TAP_CHECK(fb_mkdir_p(deep, 0700, &err) == 0);
	TAP_CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	/* there already: fine, and so is its parent */
	TAP_CHECK(fb_mkdir_p(deep, 0700, &err) == 0);
	*strrchr(deep, '/') = '\0';
	TAP_CHECK(fb_mkdir_p(deep, 0700, &err) == 0);
	/* a file on the way is an error that names where */
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	TAP_CHECK(fd >= 0);
	close(fd);
	TAP_CHECK(fb_mkdir_p(under, 0700, &err) == -1);
	TAP_CHECK(strstr(err.msg, under) != NULL);
	unlink(file);
	char *c = fb_xasprintf("%s/a/b/c", root);
	rmdir(c);
	free(c);
	rmdir(deep);
	char *a = fb_xasprintf("%s/a", root);
	rmdir(a);
	rmdir(root);
	free(deep), free(file), free(under), free(a);
	return 0;
}

static int err_context_and_codes(void)
{
	struct fb_err e = { 0 };
	TAP_CHECK(fb_err_set(&e, FB_EXIT_USAGE, NULL, "bad %s", "flag") == -1);
	TAP_STREQ(e.kind, "invalid");
	fb_err_prefix(&e, "layer %s", "sha256:ab");
	TAP_STREQ(e.msg, "layer sha256:ab: bad flag");
	fb_err_errno(&e, EEXIST, "create %s", "x");
	TAP_CHECK(e.code == FB_EXIT_CONFLICT);
	fb_err_errno(&e, EACCES, "open");
	TAP_CHECK(e.code == FB_EXIT_FAILED);
	TAP_STREQ(e.msg, "open: Permission denied");
	fb_err_where(&e, "Dockerfile", 3, 5);
	TAP_CHECK(e.line == 3 && e.end_line == 5);
	/* A very long prefix truncates instead of overflowing. */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 4; i++)
		fb_err_prefix(&e, "%s", big);
	TAP_CHECK(strlen(e.msg) < sizeof(e.msg));
	TAP_STREQ(fb_err_kind_of(FB_EXIT_NOTFOUND), "not_found");
	return 0;
}

static const struct tap_case cases[] = {
	{ "buffer grows and formats", buf_grows_and_formats },
	{ "string vector push and free", strv_push_and_free },
	{ "UTF-8 decoding", utf8_decode },
	{ "prefix and suffix", prefixes },
	{ "read a file; a missing one is not-found", read_file_and_errors },
	{ "errors carry context and exit codes", err_context_and_codes },
	{ "mkdir -p: parents made, existing ones fine, a file on the way an error", mkdir_parents },
};

TAP_MAIN(cases)
