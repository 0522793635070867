/* lib/layerentry: the checks both layer appliers share — names, "..",
 * absolute paths, link targets, hard links, device nodes, whiteouts. */
#include <string.h>

#include "archiveapi.h"
#include "err.h"
#include "layerentry.h"
#include "tap.h"

/* One entry: type, name, and a hard link or symlink target (or NULL). */
static struct archive_entry *mk(mode_t type, const char *name, const char *hard, const char *sym)
{
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, 0);
	if (hard)
		archive_entry_set_hardlink(ae, hard);
	if (sym)
		archive_entry_set_symlink(ae, sym);
	return ae;
}

/* Check an entry: 0 accepted (kind and the joined clean name returned),
 * -1 refused (the message must hold `why`). */
static int check(struct archive_entry *ae, enum fb_lentry_kind *kind, char *clean, size_t n, struct fb_err *err)
{
	struct fb_lentry le;
	int r = fb_lentry_check(ae, "L", &le, err);
	if (r == 0) {
		*kind = le.kind;
		clean[0] = '\0';
		for (size_t i = 0; i < le.comp.n; i++) {
			if (i)
				strncat(clean, "/", n - strlen(clean) - 1);
			strncat(clean, le.comp.v[i], n - strlen(clean) - 1);
		}
	}
	fb_lentry_free(&le);
	archive_entry_free(ae);
	return r;
}

#define ACCEPT(ae, k, name)                                                 \
	do {                                                                \
		enum fb_lentry_kind k_;                                     \
		char c_[8192];                                              \
		struct fb_err e_ = { 0 };                                   \
		if (check((ae), &k_, c_, sizeof(c_), &e_) < 0)              \
			return tap_fail("%d: refused: %s", __LINE__, e_.msg); \
		TAP_CHECK(k_ == (k));                                       \
		TAP_STREQ(c_, (name));                                      \
	} while (0)

#define REFUSE(ae, why)                                                             \
	do {                                                                        \
		enum fb_lentry_kind k_;                                             \
		char c_[8192];                                                      \
		struct fb_err e_ = { 0 };                                           \
		if (check((ae), &k_, c_, sizeof(c_), &e_) == 0)                     \
			return tap_fail("%d: accepted as %s", __LINE__, c_);        \
		TAP_CHECK(e_.code == FB_EXIT_USAGE);                                \
		TAP_STREQ(e_.kind, "hostile_layer");                                \
		if (!strstr(e_.msg, (why)))                                         \
			return tap_fail("%d: '%s' lacks '%s'", __LINE__, e_.msg, (why)); \
	} while (0)

static int names_are_cleaned(void)
{
	ACCEPT(mk(AE_IFREG, "etc/passwd", NULL, NULL), FB_LENTRY_FILE, "etc/passwd");
	ACCEPT(mk(AE_IFREG, "./etc//./passwd", NULL, NULL), FB_LENTRY_FILE, "etc/passwd");
	ACCEPT(mk(AE_IFDIR, "usr/lib/", NULL, NULL), FB_LENTRY_DIR, "usr/lib");
	ACCEPT(mk(AE_IFREG, "a/b/../c", NULL, NULL), FB_LENTRY_FILE, "a/c");
	ACCEPT(mk(AE_IFREG, "..a/b..", NULL, NULL), FB_LENTRY_FILE, "..a/b..");
	ACCEPT(mk(AE_IFREG, "...", NULL, NULL), FB_LENTRY_FILE, "...");
	return 0;
}

static int absolute_paths_start_at_the_root(void)
{
	ACCEPT(mk(AE_IFREG, "/etc/passwd", NULL, NULL), FB_LENTRY_FILE, "etc/passwd");
	ACCEPT(mk(AE_IFREG, "//etc/passwd", NULL, NULL), FB_LENTRY_FILE, "etc/passwd");
	REFUSE(mk(AE_IFREG, "/../etc/passwd", NULL, NULL), "climbs above the root");
	return 0;
}

static int dot_dot_may_not_climb(void)
{
	REFUSE(mk(AE_IFREG, "../x", NULL, NULL), "climbs above the root");
	REFUSE(mk(AE_IFREG, "a/../../x", NULL, NULL), "climbs above the root");
	REFUSE(mk(AE_IFDIR, "..", NULL, NULL), "climbs above the root");
	REFUSE(mk(AE_IFREG, "a/b/../../..", NULL, NULL), "climbs above the root");
	return 0;
}

static int the_root_entry(void)
{
	ACCEPT(mk(AE_IFDIR, "./", NULL, NULL), FB_LENTRY_ROOT, "");
	ACCEPT(mk(AE_IFDIR, "/", NULL, NULL), FB_LENTRY_ROOT, "");
	ACCEPT(mk(AE_IFDIR, "a/..", NULL, NULL), FB_LENTRY_ROOT, "");
	REFUSE(mk(AE_IFREG, ".", NULL, NULL), "the root that is not a directory");
	REFUSE(mk(AE_IFLNK, "./", NULL, "/etc"), "the root that is not a directory");
	ACCEPT(mk(AE_IFDIR, "", NULL, NULL), FB_LENTRY_ROOT, "");
	REFUSE(mk(AE_IFREG, "", NULL, NULL), "the root that is not a directory");
	return 0;
}

static int long_names(void)
{
	char c256[257], longpath[5000];
	memset(c256, 'a', 256);
	c256[256] = '\0';
	REFUSE(mk(AE_IFREG, c256, NULL, NULL), "longer than 255 bytes");
	c256[255] = '\0';
	ACCEPT(mk(AE_IFREG, c256, NULL, NULL), FB_LENTRY_FILE, c256);
	/* 20 components of 250 bytes: each fits, the whole does not */
	longpath[0] = '\0';
	for (int i = 0; i < 20; i++) {
		strncat(longpath, c256 + 5, sizeof(longpath) - strlen(longpath) - 1);
		strncat(longpath, "/", sizeof(longpath) - strlen(longpath) - 1);
	}
	REFUSE(mk(AE_IFREG, longpath, NULL, NULL), "a name longer than 4095 bytes");
	return 0;
}

static int whiteouts(void)
{
	ACCEPT(mk(AE_IFREG, "etc/.wh.passwd", NULL, NULL), FB_LENTRY_WHITEOUT, "etc/.wh.passwd");
	ACCEPT(mk(AE_IFREG, ".wh.etc", NULL, NULL), FB_LENTRY_WHITEOUT, ".wh.etc");
	ACCEPT(mk(AE_IFREG, "etc/.wh..wh..opq", NULL, NULL), FB_LENTRY_OPAQUE, "etc/.wh..wh..opq");
	ACCEPT(mk(AE_IFREG, ".wh..wh..opq", NULL, NULL), FB_LENTRY_OPAQUE, ".wh..wh..opq");
	/* a dotted name is a name */
	ACCEPT(mk(AE_IFREG, "a/.wh..hidden", NULL, NULL), FB_LENTRY_WHITEOUT, "a/.wh..hidden");
	struct fb_lentry le;
	struct fb_err err = { 0 };
	struct archive_entry *ae = mk(AE_IFREG, "a/.wh.b", NULL, NULL);
	TAP_CHECK(fb_lentry_check(ae, "L", &le, &err) == 0);
	TAP_STREQ(le.wname, "b");
	fb_lentry_free(&le);
	archive_entry_free(ae);
	return 0;
}

static int degenerate_whiteouts(void)
{
	REFUSE(mk(AE_IFREG, ".wh.", NULL, NULL), "an invalid whiteout");
	REFUSE(mk(AE_IFREG, "a/.wh.", NULL, NULL), "an invalid whiteout");
	REFUSE(mk(AE_IFREG, ".wh..", NULL, NULL), "an invalid whiteout");
	REFUSE(mk(AE_IFREG, "a/.wh...", NULL, NULL), "an invalid whiteout");
	REFUSE(mk(AE_IFREG, ".wh..wh.plnk", NULL, NULL), "a reserved whiteout name");
	REFUSE(mk(AE_IFREG, "a/.wh..wh..opqx", NULL, NULL), "a reserved whiteout name");
	/* a whiteout name on the way to something else */
	REFUSE(mk(AE_IFREG, ".wh..wh..opq/x", NULL, NULL), "used as a directory");
	REFUSE(mk(AE_IFREG, "a/.wh.b/c", NULL, NULL), "used as a directory");
	REFUSE(mk(AE_IFREG, ".wh..wh.plnk/123", NULL, NULL), "used as a directory");
	/* a whiteout trailing-slashed or dotted is still a whiteout */
	ACCEPT(mk(AE_IFDIR, "a/.wh.b/", NULL, NULL), FB_LENTRY_WHITEOUT, "a/.wh.b");
	REFUSE(mk(AE_IFREG, "a/.wh../.", NULL, NULL), "an invalid whiteout");
	return 0;
}

static int hard_links(void)
{
	ACCEPT(mk(AE_IFREG, "bin/hl", "bin/busybox", NULL), FB_LENTRY_HARDLINK, "bin/hl");
	ACCEPT(mk(AE_IFREG, "bin/hl", "/bin/busybox", NULL), FB_LENTRY_HARDLINK, "bin/hl");
	REFUSE(mk(AE_IFREG, "x", "../../etc/shadow", NULL), "climbs above the root");
	REFUSE(mk(AE_IFREG, "x", "/../etc/shadow", NULL), "climbs above the root");
	REFUSE(mk(AE_IFREG, "x", "./", NULL), "a hard link to the root");
	REFUSE(mk(AE_IFREG, "x", "a/..", NULL), "a hard link to the root");
	REFUSE(mk(AE_IFREG, "x", "a/.wh.b", NULL), "used as a link target");
	REFUSE(mk(AE_IFREG, "x", ".wh.a/b", NULL), "used as a directory");
	struct fb_lentry le;
	struct fb_err err = { 0 };
	struct archive_entry *ae = mk(AE_IFREG, "x", "./a//b/../c", NULL);
	TAP_CHECK(fb_lentry_check(ae, "L", &le, &err) == 0);
	TAP_CHECK(le.target.n == 2);
	TAP_STREQ(le.target.v[0], "a");
	TAP_STREQ(le.target.v[1], "c");
	fb_lentry_free(&le);
	archive_entry_free(ae);
	return 0;
}

static int symbolic_links(void)
{
	/* any target is kept as it is: the appliers resolve it inside the root */
	ACCEPT(mk(AE_IFLNK, "bin/sh", NULL, "busybox"), FB_LENTRY_SYMLINK, "bin/sh");
	ACCEPT(mk(AE_IFLNK, "escape", NULL, "../../../.."), FB_LENTRY_SYMLINK, "escape");
	ACCEPT(mk(AE_IFLNK, "abs", NULL, "/etc/passwd"), FB_LENTRY_SYMLINK, "abs");
	REFUSE(mk(AE_IFLNK, "empty", NULL, ""), "empty or overlong target");
	char big[4200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	REFUSE(mk(AE_IFLNK, "big", NULL, big), "empty or overlong target");
	return 0;
}

static int device_nodes_and_types(void)
{
	ACCEPT(mk(AE_IFCHR, "dev/null", NULL, NULL), FB_LENTRY_CHR, "dev/null");
	ACCEPT(mk(AE_IFBLK, "dev/sda", NULL, NULL), FB_LENTRY_BLK, "dev/sda");
	ACCEPT(mk(AE_IFIFO, "run/fifo", NULL, NULL), FB_LENTRY_FIFO, "run/fifo");
	REFUSE(mk(AE_IFSOCK, "run/sock", NULL, NULL), "an unsupported entry type");
	REFUSE(mk(0, "weird", NULL, NULL), "an unsupported entry type");
	struct archive_entry *ae = mk(AE_IFREG, "huge", NULL, NULL);
	archive_entry_set_size(ae, (la_int64_t)(FB_LENTRY_MAX_SIZE + 1));
	REFUSE(ae, "an absurd size");
	return 0;
}

static int links_are_joined_inside_the_root(void)
{
	char *dir[] = { "usr", "lib" };
	struct fb_strv out = FB_STRV_INIT;
	TAP_CHECK(fb_lentry_join(dir, 2, "../share", &out) == 0);
	TAP_CHECK(out.n == 2);
	TAP_STREQ(out.v[0], "usr");
	TAP_STREQ(out.v[1], "share");
	fb_strv_free(&out);
	TAP_CHECK(fb_lentry_join(dir, 2, "/etc", &out) == 0);
	TAP_CHECK(out.n == 1);
	TAP_STREQ(out.v[0], "etc");
	fb_strv_free(&out);
	TAP_CHECK(fb_lentry_join(dir, 2, "../..", &out) == 0);
	TAP_CHECK(out.n == 0);
	TAP_CHECK(fb_lentry_join(dir, 2, "../../..", &out) < 0);
	TAP_CHECK(out.n == 0);
	TAP_CHECK(fb_lentry_join(dir, 2, "/../etc", &out) < 0);
	TAP_CHECK(fb_lentry_join(NULL, 0, "a/../../b", &out) < 0);
	TAP_CHECK(out.n == 0 && out.v == NULL);
	return 0;
}

static const struct tap_case cases[] = {
	{ "names are cleaned", names_are_cleaned },
	{ "absolute paths start at the root", absolute_paths_start_at_the_root },
	{ ".. may not climb above the root", dot_dot_may_not_climb },
	{ "the root entry: a directory or nothing", the_root_entry },
	{ "long names and long paths", long_names },
	{ "whiteouts and opaque directories", whiteouts },
	{ "degenerate whiteouts are refused", degenerate_whiteouts },
	{ "hard links", hard_links },
	{ "symbolic links", symbolic_links },
	{ "device nodes, fifos, other types, sizes", device_nodes_and_types },
	{ "link targets are joined inside the root", links_are_joined_inside_the_root },
};

TAP_MAIN(cases)
