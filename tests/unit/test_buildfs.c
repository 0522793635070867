/* lib/snapshot (what a step changed, as a layer) and lib/copy (COPY's
 * rules, containment, owners) on real directories under /tmp. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy.h"
#include "err.h"
#include "snapshot.h"
#include "store.h"
#include "tap.h"
#include "tree.h"
#include "util.h"

static char base[256];

static void put(const char *dir, const char *rel, const char *data)
{
	char *p = fb_xasprintf("%s/%s", dir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	struct fb_err e = { 0 };
	fb_mkdir_p(p, 0755, &e);
	*slash = '/';
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(data, f);
		fclose(f);
	}
	free(p);
}

static char *get(const char *dir, const char *rel)
{
	char *p = fb_xasprintf("%s/%s", dir, rel);
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = { 0 };
	int r = fb_read_file(p, &b, &e);
	free(p);
	if (r < 0) {
		fb_buf_free(&b);
		return NULL;
	}
	return fb_buf_steal(&b);
}

static bool has(const char *dir, const char *rel, const char *want)
{
	char *got = get(dir, rel);
	bool r = got && !strcmp(got, want);
	free(got);
	return r;
}

static bool exists(const char *dir, const char *rel)
{
	char *p = fb_xasprintf("%s/%s", dir, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static char *mkdir_fresh(const char *name)
{
	char *p = fb_xasprintf("%s/%s", base, name);
	fb_tree_remove(p);
	mkdir(p, 0755);
	return p;
}

/* The names in a layer blob, in order, joined by spaces. */
static char *layer_names(struct fb_store *s, const char *digest)
{
	char *path = fb_store_blob_path(s, digest);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct fb_buf b = FB_BUF_INIT;
	struct archive_entry *e;
	if (archive_read_open_filename(a, path, 65536) == ARCHIVE_OK)
		while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
			if (b.len)
				fb_buf_addc(&b, ' ');
			fb_buf_adds(&b, archive_entry_pathname(e));
		}
	archive_read_free(a);
	free(path);
	return fb_buf_steal(&b);
}

static int snapshot_diff(void)
{
	char *tree = mkdir_fresh("snap"), *st_root = mkdir_fresh("store");
	put(tree, "keep/same", "same");
	put(tree, "keep/changed", "v1");
	put(tree, "gone/deep/file", "x");
	put(tree, "lonely", "x");
	put(tree, "dir2file/child", "x");
	struct fb_err err = { 0 };
	struct fb_snap *snap;
	TAP_CHECK(fb_snap_take(tree, &snap, &err) == 0);
	put(tree, "keep/changed", "v2");
	put(tree, "new/file", "n");
	char *p = fb_xasprintf("%s/gone", tree);
	fb_tree_remove(p);
	free(p);
	p = fb_xasprintf("%s/lonely", tree);
	unlink(p);
	free(p);
	p = fb_xasprintf("%s/dir2file", tree);
	fb_tree_remove(p);
	free(p);
	put(tree, "dir2file", "now a file");
	struct fb_store s;
	TAP_CHECK(fb_store_open(st_root, &s, &err) == 0);
	struct fb_blob_writer w;
	TAP_CHECK(fb_blob_begin(&s, NULL, "t", NULL, &w, &err) == 0);
	uint64_t n = 0;
	TAP_CHECK(fb_snap_diff(tree, snap, &w, &n, &err) == 0);
	char d[72];
	TAP_CHECK(fb_blob_commit(&w, d, &err) == 0);
	char *names = layer_names(&s, d);
	/* whiteouts first (only the top of what went), then the changes */
	/* keep/ itself is not in it: rewriting a file leaves its directory as it was */
	bool same = !strcmp(names, ".wh.dir2file .wh.gone .wh.lonely dir2file keep/changed new/ new/file");
	if (!same)
		printf("# %s\n", names);
	free(names);
	TAP_CHECK(same);
	TAP_CHECK(n == 7);
	/* nothing changed: nothing written */
	fb_snap_free(snap);
	TAP_CHECK(fb_snap_take(tree, &snap, &err) == 0);
	TAP_CHECK(fb_blob_begin(&s, NULL, "t", NULL, &w, &err) == 0);
	TAP_CHECK(fb_snap_diff(tree, snap, &w, &n, &err) == 0);
	TAP_CHECK(n == 0);
	fb_blob_abort(&w, false);
	fb_snap_free(snap);
	fb_store_close(&s);
	free(tree);
	free(st_root);
	return 0;
}

static int copy_rules(void)
{
	char *ctx = mkdir_fresh("ctx"), *tree = mkdir_fresh("tree");
	put(ctx, "a.txt", "a");
	put(ctx, "b.txt", "b");
	put(ctx, "dir/x", "x");
	put(ctx, "dir/sub/y", "y");
	put(ctx, "skip.log", "log");
	char *ign[] = { "*.log" };
	struct fb_copy_opts o = { .src_root = ctx, .dest_root = tree, .workdir = "/work", .what = "COPY",
				  .ignore = ign, .nignore = 1 };
	struct fb_err err = { 0 };
	char *s1[] = { "a.txt" };
	TAP_CHECK(fb_copy(&o, s1, 1, "rel/", &err) == 0); /* relative: under WORKDIR */
	TAP_CHECK(has(tree, "work/rel/a.txt", "a"));
	TAP_CHECK(fb_copy(&o, s1, 1, "/file", &err) == 0); /* no slash: the file itself */
	TAP_CHECK(has(tree, "file", "a"));
	char *s2[] = { "dir" };
	TAP_CHECK(fb_copy(&o, s2, 1, "/d", &err) == 0); /* a directory: its contents */
	TAP_CHECK(has(tree, "d/sub/y", "y"));
	TAP_CHECK(!exists(tree, "d/dir"));
	char *s3[] = { "*.txt" };
	TAP_CHECK(fb_copy(&o, s3, 1, "/g/", &err) == 0);
	TAP_CHECK(exists(tree, "g/a.txt") && exists(tree, "g/b.txt"));
	char *s4[] = { "*" };
	TAP_CHECK(fb_copy(&o, s4, 1, "/all/", &err) == 0);
	TAP_CHECK(!exists(tree, "all/skip.log")); /* .dockerignore */
	TAP_CHECK(fb_copy(&o, s3, 1, "/nodir", &err) < 0); /* several: a directory is needed */
	TAP_CHECK(err.code == FB_EXIT_USAGE);
	char *s5[] = { "../etc/passwd" };
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_copy(&o, s5, 1, "/", &err) < 0);
	TAP_CHECK(strstr(err.msg, "outside the build context") != NULL);
	char *s6[] = { "nomatch*" };
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_copy(&o, s6, 1, "/", &err) < 0 && err.code == FB_EXIT_NOTFOUND);
	/* a link in the tree pointing outside is followed inside the tree only */
	char *lnk = fb_xasprintf("%s/escape", tree);
	char *outside = mkdir_fresh("outside");
	TAP_CHECK(symlink(outside, lnk) == 0);
	TAP_CHECK(fb_copy(&o, s1, 1, "/escape/", &err) == 0);
	TAP_CHECK(!exists(outside, "a.txt"));
	char *inside = fb_xasprintf("%s%s", tree, outside);
	TAP_CHECK(exists(inside, "a.txt"));
	/* heredoc-style data, chmod */
	o.chmod = true;
	o.mode = 0600;
	TAP_CHECK(fb_copy_data(&o, "note", "hi\n", 3, 0644, 0, "/notes/", &err) == 0);
	struct stat st;
	char *np = fb_xasprintf("%s/notes/note", tree);
	TAP_CHECK(stat(np, &st) == 0 && (st.st_mode & 07777) == 0600);
	free(np);
	free(inside);
	free(outside);
	free(lnk);
	free(ctx);
	free(tree);
	return 0;
}

static int hashes_follow_bytes_not_times(void)
{
	char *ctx = mkdir_fresh("hctx");
	put(ctx, "f", "one");
	struct fb_copy_opts o = { .src_root = ctx, .what = "COPY" };
	char *s[] = { "f" };
	char d1[72], d2[72], d3[72];
	struct fb_err err = { 0 };
	struct fb_sha256 h;
	fb_sha256_init(&h);
	TAP_CHECK(fb_copy_hash(&o, s, 1, &h, &err) == 0);
	fb_sha256_final(&h, d1);
	char *p = fb_xasprintf("%s/f", ctx);
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	utimensat(AT_FDCWD, p, old, 0);
	fb_sha256_init(&h);
	TAP_CHECK(fb_copy_hash(&o, s, 1, &h, &err) == 0);
	fb_sha256_final(&h, d2);
	TAP_STREQ(d1, d2);
	put(ctx, "f", "two");
	fb_sha256_init(&h);
	TAP_CHECK(fb_copy_hash(&o, s, 1, &h, &err) == 0);
	fb_sha256_final(&h, d3);
	TAP_CHECK(strcmp(d1, d3) != 0);
	chmod(p, 0700);
	fb_sha256_init(&h);
	TAP_CHECK(fb_copy_hash(&o, s, 1, &h, &err) == 0);
	fb_sha256_final(&h, d2);
	TAP_CHECK(strcmp(d2, d3) != 0);
	free(p);
	free(ctx);
	return 0;
}

static int owners(void)
{
	char *tree = mkdir_fresh("owners");
	put(tree, "etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
	put(tree, "etc/group", "root:x:0:\nstaff:x:50:\n");
	uid_t u;
	gid_t g;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_resolve_owner(tree, "app", &u, &g, &err) == 0 && u == 1000 && g == 1001);
	TAP_CHECK(fb_resolve_owner(tree, "app:staff", &u, &g, &err) == 0 && u == 1000 && g == 50);
	TAP_CHECK(fb_resolve_owner(tree, "42:43", &u, &g, &err) == 0 && u == 42 && g == 43);
	TAP_CHECK(fb_resolve_owner(tree, "7", &u, &g, &err) == 0 && u == 7 && g == 7);
	TAP_CHECK(fb_resolve_owner(tree, "nobody", &u, &g, &err) < 0);
	TAP_CHECK(strstr(err.msg, "unable to find user nobody") != NULL);
	TAP_CHECK(fb_resolve_owner(tree, "app:nogroup", &u, &g, &err) < 0);
	free(tree);
	return 0;
}

static int setup_then(int (*fn)(void))
{
	snprintf(base, sizeof(base), "/tmp/fb-test-buildfs-%d", (int)getpid());
	mkdir(base, 0755);
	int r = fn();
	fb_tree_remove(base);
	return r;
}

static int t_snapshot(void) { return setup_then(snapshot_diff); }
static int t_copy(void) { return setup_then(copy_rules); }
static int t_hash(void) { return setup_then(hashes_follow_bytes_not_times); }
static int t_owners(void) { return setup_then(owners); }

static const struct tap_case cases[] = {
	{ "snapshot diff: changes, whiteouts for the top of what went, a dir replaced", t_snapshot },
	{ "COPY rules: WORKDIR, slash, contents, wildcards, .dockerignore, containment", t_copy },
	{ "the copy hash follows bytes and modes, not times", t_hash },
	{ "--chown names from the tree's passwd and group, or numbers", t_owners },
};

TAP_MAIN(cases)
