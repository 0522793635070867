/* lib/snapshot (what a step changed, as a layer) and lib/copy (COPY's
 * rules, containment, owners) on real directories under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archiveapi.h"
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
	FB_IGNORE(fb_mkdir_p(p, 0755, &e)); /* the fopen below fails, and the case with it */
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
	TAP_CHECK(fb_snap_diff(tree, snap, &w, &n, -1, &err) == 0);
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
	TAP_CHECK(fb_snap_diff(tree, snap, &w, &n, -1, &err) == 0);
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
	/* a wildcard that matches nothing adds nothing (BuildKit's
	 * AllowEmptyWildcard): not even the destination */
	char *s6[] = { "nomatch*" };
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_copy(&o, s6, 1, "/empty/", &err) == 0);
	TAP_CHECK(!exists(tree, "empty"));
	char *s7[] = { "a.txt", "yarn.lock*" };
	TAP_CHECK(fb_copy(&o, s7, 2, "/mixed/", &err) == 0);
	TAP_CHECK(has(tree, "mixed/a.txt", "a"));
	/* a path without a wildcard must be there */
	char *s8[] = { "a.txt", "nosuch.txt" };
	TAP_CHECK(fb_copy(&o, s8, 2, "/mixed2/", &err) < 0 && err.code == FB_EXIT_NOTFOUND);
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
	/* WORKDIR's owner as BuildKit resolves USER: unknown names left out */
	fb_resolve_owner_lenient(tree, "app", &u, &g);
	TAP_CHECK(u == 1000 && g == 1001);
	fb_resolve_owner_lenient(tree, "4242", &u, &g);
	TAP_CHECK(u == 4242 && g == 4242);
	fb_resolve_owner_lenient(tree, "nobody", &u, &g);
	TAP_CHECK(u == 0 && g == 0);
	fb_resolve_owner_lenient(tree, "app:nogroup", &u, &g);
	TAP_CHECK(u == 1000 && g == 1001);
	fb_resolve_owner_lenient(tree, "nobody:staff", &u, &g);
	TAP_CHECK(u == 0 && g == 50);
	free(tree);
	return 0;
}

static mode_t mode_of(const char *dir, const char *rel)
{
	char *p = fb_xasprintf("%s/%s", dir, rel);
	struct stat st;
	mode_t m = lstat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
	free(p);
	return m;
}

static bool stat_of(const char *dir, const char *rel, struct stat *st)
{
	char *p = fb_xasprintf("%s/%s", dir, rel);
	bool r = lstat(p, st) == 0;
	free(p);
	return r;
}

static void set_time(const char *dir, const char *rel, time_t sec, long nsec)
{
	char *p = fb_xasprintf("%s/%s", dir, rel);
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
	utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
	free(p);
}

static void chmod_in(const char *dir, const char *rel, mode_t m)
{
	char *p = fb_xasprintf("%s/%s", dir, rel);
	chmod(p, m);
	free(p);
}

/* BuildKit's copier: the destination directory of a directory's copy is
 * made 0755 (or --chmod's mode) and keeps its mode when there; what is
 * below it takes the source's mode (or --chmod's), owner and times. */
static int copy_modes_and_times(void)
{
	char *ctx = mkdir_fresh("mctx"), *tree = mkdir_fresh("mtree");
	put(ctx, "dir/sub/f", "f");
	put(ctx, "dir/g", "g");
	chmod_in(ctx, "dir", 0700);
	chmod_in(ctx, "dir/sub", 0750);
	chmod_in(ctx, "dir/g", 0640);
	set_time(ctx, "dir/sub/f", 1500000000, 123456789);
	set_time(ctx, "dir/sub", 1400000000, 987654321);
	set_time(ctx, "dir", 1300000000, 5);
	struct fb_copy_opts o = { .src_root = ctx, .dest_root = tree, .what = "COPY" };
	struct fb_err err = { 0 };
	char *s[] = { "dir" };
	TAP_CHECK(fb_copy(&o, s, 1, "/new", &err) == 0);
	struct stat st;
	TAP_CHECK(mode_of(tree, "new") == 0755); /* made as the destination, not 0700 */
	TAP_CHECK(stat_of(tree, "new", &st) && st.st_mtim.tv_sec == 1300000000 && st.st_mtim.tv_nsec == 5);
	TAP_CHECK(mode_of(tree, "new/sub") == 0750 && mode_of(tree, "new/g") == 0640);
	TAP_CHECK(stat_of(tree, "new/sub", &st) && st.st_mtim.tv_sec == 1400000000 && st.st_mtim.tv_nsec == 987654321);
	TAP_CHECK(stat_of(tree, "new/sub/f", &st) && st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 123456789);
	/* there already: the top keeps its mode, what is below is overwritten */
	put(tree, "have/sub/old", "o");
	chmod_in(tree, "have", 0711);
	chmod_in(tree, "have/sub", 0777);
	TAP_CHECK(fb_copy(&o, s, 1, "/have/", &err) == 0);
	TAP_CHECK(mode_of(tree, "have") == 0711);
	TAP_CHECK(mode_of(tree, "have/sub") == 0750);
	TAP_CHECK(has(tree, "have/sub/old", "o") && has(tree, "have/sub/f", "f"));
	TAP_CHECK(stat_of(tree, "have", &st) && st.st_mtim.tv_sec == 1300000000);
	/* --chmod=751: the destination made, its missing parents and everything
	 * copied get it; a destination already there keeps its mode */
	o.chmod = true;
	o.mode = 0751;
	TAP_CHECK(fb_copy(&o, s, 1, "/p/q/dst/", &err) == 0);
	TAP_CHECK(mode_of(tree, "p") == 0751 && mode_of(tree, "p/q") == 0751 && mode_of(tree, "p/q/dst") == 0751);
	TAP_CHECK(mode_of(tree, "p/q/dst/sub") == 0751 && mode_of(tree, "p/q/dst/g") == 0751);
	TAP_CHECK(fb_copy(&o, s, 1, "/have/", &err) == 0);
	TAP_CHECK(mode_of(tree, "have") == 0711 && mode_of(tree, "have/sub") == 0751);
	char *f[] = { "dir/g" };
	TAP_CHECK(fb_copy(&o, f, 1, "/parent/file", &err) == 0);
	TAP_CHECK(mode_of(tree, "parent") == 0751 && mode_of(tree, "parent/file") == 0751);
	o.chmod = false;
	/* a directory does not replace a link or a file (BuildKit refuses it) */
	put(tree, "l/target/x", "x");
	char *lp = fb_xasprintf("%s/l/sub", tree);
	TAP_CHECK(symlink("target", lp) == 0);
	free(lp);
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_copy(&o, s, 1, "/l/", &err) < 0);
	TAP_CHECK(strstr(err.msg, "/l/sub, which is not a directory") != NULL);
	/* a file's destination naming a link is written through it (BuildKit's
	 * fs.RootPath), even to where nothing is yet; the links stay */
	put(tree, "usr/zone/UTC", "utc");
	put(tree, "etc/keep", "k");
	char *l1 = fb_xasprintf("%s/etc/localtime", tree), *l2 = fb_xasprintf("%s/etc/dangling", tree),
	     *l3 = fb_xasprintf("%s/etc/rel", tree);
	TAP_CHECK(symlink("/usr/zone/UTC", l1) == 0 && symlink("../../nonexist/file", l2) == 0 &&
		  symlink("../usr/zone/rel.txt", l3) == 0);
	char *g[] = { "dir/g" };
	TAP_CHECK(fb_copy(&o, g, 1, "/etc/localtime", &err) == 0);
	TAP_CHECK(has(tree, "usr/zone/UTC", "g") && stat_of(tree, "etc/localtime", &st) && S_ISLNK(st.st_mode));
	TAP_CHECK(fb_copy(&o, g, 1, "/etc/dangling", &err) == 0);
	TAP_CHECK(has(tree, "nonexist/file", "g") && stat_of(tree, "etc/dangling", &st) && S_ISLNK(st.st_mode));
	TAP_CHECK(fb_copy_data(&o, "x", "d", 1, 0644, 0, "/etc/rel", &err) == 0);
	TAP_CHECK(has(tree, "usr/zone/rel.txt", "d"));
	/* into a directory, a link of the file's name is replaced */
	char *l4 = fb_xasprintf("%s/etc/g", tree);
	TAP_CHECK(symlink("keep", l4) == 0);
	TAP_CHECK(fb_copy(&o, g, 1, "/etc/", &err) == 0);
	TAP_CHECK(has(tree, "etc/g", "g") && has(tree, "etc/keep", "k"));
	free(l1);
	free(l2);
	free(l3);
	free(l4);
	free(ctx);
	free(tree);
	return 0;
}

/* Owners: the context's files are root's; a stage's keep theirs; --chown
 * wins; a directory made around the copy gets --chown's owner. */
static int copy_owners(void)
{
	if (getuid() != 0)
		return 77;
	char *ctx = mkdir_fresh("octx"), *tree = mkdir_fresh("otree");
	put(ctx, "d/f", "f");
	char *p = fb_xasprintf("%s/d/f", ctx);
	TAP_CHECK(chown(p, 1234, 5678) == 0);
	free(p);
	p = fb_xasprintf("%s/d", ctx);
	TAP_CHECK(chown(p, 4321, 8765) == 0);
	free(p);
	struct fb_copy_opts o = { .src_root = ctx, .dest_root = tree, .what = "COPY" };
	struct fb_err err = { 0 };
	char *s[] = { "d" }, *top[] = { "." };
	struct stat st;
	TAP_CHECK(fb_copy(&o, s, 1, "/ctx/", &err) == 0);
	TAP_CHECK(stat_of(tree, "ctx/f", &st) && st.st_uid == 0 && st.st_gid == 0);
	o.keep_owners = true;
	TAP_CHECK(fb_copy(&o, s, 1, "/stage/", &err) == 0);
	TAP_CHECK(stat_of(tree, "stage/f", &st) && st.st_uid == 1234 && st.st_gid == 5678);
	TAP_CHECK(stat_of(tree, "stage", &st) && st.st_uid == 0); /* the destination is made, not copied */
	TAP_CHECK(fb_copy(&o, top, 1, "/all/", &err) == 0);
	TAP_CHECK(stat_of(tree, "all/d", &st) && st.st_uid == 4321 && st.st_gid == 8765);
	o.chown = true;
	o.uid = 7;
	o.gid = 8;
	TAP_CHECK(fb_copy(&o, s, 1, "/a/b/own/", &err) == 0);
	TAP_CHECK(stat_of(tree, "a/b/own/f", &st) && st.st_uid == 7 && st.st_gid == 8);
	TAP_CHECK(stat_of(tree, "a", &st) && st.st_uid == 7 && st.st_gid == 8);
	/* ADD --chown of a local archive: the directories it makes and every
	 * entry get the owner, as with COPY */
	put(ctx, "t/pkg/file", "inside");
	char *cmd = fb_xasprintf("tar -C %s/t --owner=99 --group=98 -czf %s/pkg.tar.gz pkg", ctx, ctx);
	TAP_CHECK(system(cmd) == 0);
	free(cmd);
	o.unpack = true;
	o.what = "ADD";
	char *arch[] = { "pkg.tar.gz" };
	TAP_CHECK(fb_copy(&o, arch, 1, "/x/y/", &err) == 0);
	TAP_CHECK(has(tree, "x/y/pkg/file", "inside"));
	TAP_CHECK(stat_of(tree, "x", &st) && st.st_uid == 7 && st.st_gid == 8);
	TAP_CHECK(stat_of(tree, "x/y", &st) && st.st_uid == 7 && st.st_gid == 8);
	TAP_CHECK(stat_of(tree, "x/y/pkg/file", &st) && st.st_uid == 7 && st.st_gid == 8);
	/* without --chown the archive's owners stay */
	o.chown = false;
	TAP_CHECK(fb_copy(&o, arch, 1, "/z/", &err) == 0);
	TAP_CHECK(stat_of(tree, "z/pkg/file", &st) && st.st_uid == 99 && st.st_gid == 98);
	TAP_CHECK(stat_of(tree, "z", &st) && st.st_uid == 0);
	free(ctx);
	free(tree);
	return 0;
}

/* Hard links within one source stay hard links; .dockerignore exceptions
 * inside an excluded directory bring it back as their parent. */
static int copy_links_and_exceptions(void)
{
	char *ctx = mkdir_fresh("lctx"), *tree = mkdir_fresh("ltree");
	put(ctx, "h/one", "same bytes");
	char *a = fb_xasprintf("%s/h/one", ctx), *b = fb_xasprintf("%s/h/two", ctx);
	TAP_CHECK(link(a, b) == 0);
	struct fb_copy_opts o = { .src_root = ctx, .dest_root = tree, .what = "COPY" };
	struct fb_err err = { 0 };
	char *s[] = { "h" };
	TAP_CHECK(fb_copy(&o, s, 1, "/h/", &err) == 0);
	struct stat s1, s2;
	TAP_CHECK(stat_of(tree, "h/one", &s1) && stat_of(tree, "h/two", &s2));
	TAP_CHECK(s1.st_ino == s2.st_ino && s1.st_nlink == 2);
	/* two sources: two copies (BuildKit keeps groups within a source) */
	char *two[] = { "h/one", "h/two" };
	TAP_CHECK(fb_copy(&o, two, 2, "/sep/", &err) == 0);
	TAP_CHECK(stat_of(tree, "sep/one", &s1) && stat_of(tree, "sep/two", &s2) && s1.st_ino != s2.st_ino);
	/* the hash sees the group: a link made a copy changes it */
	struct fb_sha256 h;
	char d1[72], d2[72];
	fb_sha256_init(&h);
	TAP_CHECK(fb_copy_hash(&o, s, 1, &h, &err) == 0);
	fb_sha256_final(&h, d1);
	unlink(b);
	put(ctx, "h/two", "same bytes");
	fb_sha256_init(&h);
	TAP_CHECK(fb_copy_hash(&o, s, 1, &h, &err) == 0);
	fb_sha256_final(&h, d2);
	TAP_CHECK(strcmp(d1, d2) != 0);
	/* secret/ then !secret/public */
	put(ctx, "secret/public/readme", "public");
	put(ctx, "secret/private.key", "key");
	put(ctx, "other/x", "x");
	chmod_in(ctx, "secret", 0750);
	set_time(ctx, "secret", 1200000000, 42);
	char *ign[] = { "secret/", "!secret/public", "other" };
	o.ignore = ign;
	o.nignore = 3;
	char *dot[] = { "." };
	TAP_CHECK(fb_copy(&o, dot, 1, "/ctx/", &err) == 0);
	TAP_CHECK(has(tree, "ctx/secret/public/readme", "public"));
	TAP_CHECK(!exists(tree, "ctx/secret/private.key"));
	TAP_CHECK(!exists(tree, "ctx/other"));
	struct stat st;
	TAP_CHECK(mode_of(tree, "ctx/secret") == 0750);
	TAP_CHECK(stat_of(tree, "ctx/secret", &st) && st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 42);
	/* named, or matched by a wildcard, it is there too */
	char *named[] = { "secret" }, *glob[] = { "sec*" };
	TAP_CHECK(fb_copy(&o, named, 1, "/named/", &err) == 0);
	TAP_CHECK(has(tree, "named/public/readme", "public") && !exists(tree, "named/private.key"));
	TAP_CHECK(fb_copy(&o, glob, 1, "/glob/", &err) == 0);
	TAP_CHECK(has(tree, "glob/public/readme", "public"));
	char *excl[] = { "other" };
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_copy(&o, excl, 1, "/x/", &err) < 0 && err.code == FB_EXIT_NOTFOUND);
	free(a);
	free(b);
	free(ctx);
	free(tree);
	return 0;
}

/* Layers keep an mtime's nanoseconds (a PAX header), and no atime/ctime. */
static int layer_times(void)
{
	char *tree = mkdir_fresh("ltimes"), *st_root = mkdir_fresh("ltstore");
	struct fb_err err = { 0 };
	struct fb_snap *snap;
	TAP_CHECK(fb_snap_take(tree, &snap, &err) == 0);
	put(tree, "d/f", "x");
	set_time(tree, "d/f", 1600000000, 111222333);
	set_time(tree, "d", 1600000001, 0);
	struct fb_store s;
	TAP_CHECK(fb_store_open(st_root, &s, &err) == 0);
	struct fb_blob_writer w;
	TAP_CHECK(fb_blob_begin(&s, NULL, "t", NULL, &w, &err) == 0);
	uint64_t n = 0;
	TAP_CHECK(fb_snap_diff(tree, snap, &w, &n, -1, &err) == 0);
	char d[72];
	TAP_CHECK(fb_blob_commit(&w, d, &err) == 0);
	char *path = fb_store_blob_path(&s, d);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	int seen = 0;
	TAP_CHECK(archive_read_open_filename(a, path, 65536) == ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (!strcmp(archive_entry_pathname(e), "d/f")) {
			TAP_CHECK(archive_entry_mtime(e) == 1600000000 && archive_entry_mtime_nsec(e) == 111222333);
			seen++;
		}
		TAP_CHECK(!archive_entry_atime_is_set(e) && !archive_entry_ctime_is_set(e));
	}
	archive_read_free(a);
	TAP_CHECK(seen == 1);
	/* and applied to a tree, the time is there again */
	char *again = mkdir_fresh("ltagain");
	TAP_CHECK(fb_tree_apply_layer(again, path, d, &err) == 0);
	struct stat st;
	TAP_CHECK(stat_of(again, "d/f", &st) && st.st_mtim.tv_sec == 1600000000 && st.st_mtim.tv_nsec == 111222333);
	free(again);
	free(path);
	fb_snap_free(snap);
	fb_store_close(&s);
	free(tree);
	free(st_root);
	return 0;
}

/* Extended attributes come along (and into the hash); --parents keeps
 * the source's directories, from a "/./" pivot when there is one. */
static int copy_xattrs_and_parents(void)
{
	char *ctx = mkdir_fresh("xctx"), *tree = mkdir_fresh("xtree");
	put(ctx, "d/f", "f");
	char *f = fb_xasprintf("%s/d/f", ctx), *d = fb_xasprintf("%s/d", ctx);
	if (setxattr(f, "user.fb-test", "v1", 2, 0) < 0) {
		free(f);
		free(d);
		free(ctx);
		free(tree);
		return 77; /* a file system without user xattrs */
	}
	TAP_CHECK(setxattr(d, "user.fb-dir", "dv", 2, 0) == 0);
	struct fb_copy_opts o = { .src_root = ctx, .dest_root = tree, .what = "COPY" };
	struct fb_err err = { 0 };
	char *s[] = { "d" }, *top[] = { "." };
	TAP_CHECK(fb_copy(&o, top, 1, "/x/", &err) == 0);
	char buf[16];
	char *df = fb_xasprintf("%s/x/d/f", tree), *dd = fb_xasprintf("%s/x/d", tree);
	TAP_CHECK(getxattr(df, "user.fb-test", buf, sizeof(buf)) == 2 && !memcmp(buf, "v1", 2));
	TAP_CHECK(getxattr(dd, "user.fb-dir", buf, sizeof(buf)) == 2 && !memcmp(buf, "dv", 2));
	struct fb_sha256 h;
	char h1[72], h2[72];
	fb_sha256_init(&h);
	TAP_CHECK(fb_copy_hash(&o, s, 1, &h, &err) == 0);
	fb_sha256_final(&h, h1);
	TAP_CHECK(setxattr(f, "user.fb-test", "v2", 2, 0) == 0);
	fb_sha256_init(&h);
	TAP_CHECK(fb_copy_hash(&o, s, 1, &h, &err) == 0);
	fb_sha256_final(&h, h2);
	TAP_CHECK(strcmp(h1, h2) != 0);
	/* --parents */
	put(ctx, "a/b/c.txt", "c");
	chmod_in(ctx, "a/b", 0750);
	o.parents = true;
	char *full[] = { "a/b/c.txt" }, *piv[] = { "a/./b/c.txt" };
	TAP_CHECK(fb_copy(&o, full, 1, "/p1/", &err) == 0);
	TAP_CHECK(has(tree, "p1/a/b/c.txt", "c") && mode_of(tree, "p1/a/b") == 0750);
	TAP_CHECK(fb_copy(&o, piv, 1, "/p2/", &err) == 0);
	TAP_CHECK(has(tree, "p2/b/c.txt", "c") && !exists(tree, "p2/a") && mode_of(tree, "p2/b") == 0750);
	free(df);
	free(dd);
	free(f);
	free(d);
	free(ctx);
	free(tree);
	return 0;
}

/* SOURCE_DATE_EPOCH: what is newer than the epoch gets it (nanoseconds
 * dropped), what is older keeps its time; the same tree made twice with
 * other times gives the same bytes */
static int clamped_layer(const char *name, time_t newer, char digest[72])
{
	char *tree = mkdir_fresh(name);
	FB_AUTOFREE char *st_root = fb_xasprintf("%s/clampstore", base);
	mkdir(st_root, 0755);
	struct fb_err err = { 0 };
	struct fb_snap *snap;
	TAP_CHECK(fb_snap_take(tree, &snap, &err) == 0);
	put(tree, "d/old", "o");
	put(tree, "d/new", "n");
	put(tree, "d/edge", "e");
	set_time(tree, "d/old", 1500000000, 5);
	set_time(tree, "d/new", newer, 999);
	set_time(tree, "d/edge", 1600000000, 1);
	set_time(tree, "d", newer, 0);
	struct fb_store s;
	TAP_CHECK(fb_store_open(st_root, &s, &err) == 0);
	struct fb_blob_writer w;
	TAP_CHECK(fb_blob_begin(&s, NULL, "t", NULL, &w, &err) == 0);
	uint64_t n = 0;
	TAP_CHECK(fb_snap_diff(tree, snap, &w, &n, 1600000000, &err) == 0);
	TAP_CHECK(fb_blob_commit(&w, digest, &err) == 0);
	char *path = fb_store_blob_path(&s, digest);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	int seen = 0;
	TAP_CHECK(archive_read_open_filename(a, path, 65536) == ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		time_t t = archive_entry_mtime(e);
		long ns = archive_entry_mtime_nsec(e);
		if (!strcmp(p, "d/old"))
			seen += t == 1500000000 && ns == 5;
		else if (!strcmp(p, "d/new") || !strcmp(p, "d/edge") || !strcmp(p, "d/"))
			seen += t == 1600000000 && ns == 0;
	}
	archive_read_free(a);
	free(path);
	fb_snap_free(snap);
	fb_store_close(&s);
	free(tree);
	if (seen != 4)
		return tap_fail("%d of 4 entries with the times expected", seen);
	return 0;
}

static int layer_clamp(void)
{
	char d1[72], d2[72];
	TAP_CHECK(clamped_layer("clamp1", 1700000000, d1) == 0);
	TAP_CHECK(clamped_layer("clamp2", 1800000000, d2) == 0);
	TAP_STREQ(d1, d2);
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
static int t_modes(void) { return setup_then(copy_modes_and_times); }
static int t_copy_owners(void) { return setup_then(copy_owners); }
static int t_links(void) { return setup_then(copy_links_and_exceptions); }
static int t_layer_times(void) { return setup_then(layer_times); }
static int t_xattrs(void) { return setup_then(copy_xattrs_and_parents); }
static int t_clamp(void) { return setup_then(layer_clamp); }

static const struct tap_case cases[] = {
	{ "snapshot diff: changes, whiteouts for the top of what went, a dir replaced", t_snapshot },
	{ "COPY rules: WORKDIR, slash, contents, wildcards, .dockerignore, containment", t_copy },
	{ "the copy hash follows bytes and modes, not times", t_hash },
	{ "--chown names from the tree's passwd and group, or numbers; WORKDIR's lenient form", t_owners },
	{ "COPY modes and times: the destination made 0755 or --chmod, the source's below, nanoseconds", t_modes },
	{ "COPY owners: context root's, a stage's kept, --chown; ADD --chown of an archive", t_copy_owners },
	{ "hard links within a source; .dockerignore exceptions in an excluded directory", t_links },
	{ "layers keep nanosecond mtimes (PAX), no atime or ctime", t_layer_times },
	{ "xattrs copied and hashed; --parents with and without a /./ pivot", t_xattrs },
	{ "SOURCE_DATE_EPOCH: layer mtimes clamped to it, the same bytes from other times", t_clamp },
};

TAP_MAIN(cases)
