/* lib/store: two writers of one blob at once (the locked partial), a
 * resumed partial, what fb_handover_open lets be moved into the store,
 * and lib/rootfs's check that a file is an ext4 image. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "rootfs.h"
#include "store.h"
#include "tap.h"
#include "tree.h"
#include "util.h"

static char base[] = "/tmp/fb-test-store-XXXXXX";

static int make_base(void)
{
	static int made;
	if (!made && !mkdtemp(base))
		return -1;
	made = 1;
	return 0;
}

static int open_store(struct fb_store *s)
{
	if (make_base() < 0)
		return -1;
	char *root = fb_xasprintf("%s/store", base);
	struct fb_err err = { 0 };
	int r = fb_store_open(root, s, &err);
	free(root);
	return r;
}

static size_t tmp_entries(const struct fb_store *s)
{
	char *t = fb_xasprintf("%s/tmp", s->root);
	DIR *d = opendir(t);
	struct dirent *e;
	size_t n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	free(t);
	return n;
}

static int two_writers_of_one_blob(void)
{
	struct fb_store s;
	TAP_CHECK(open_store(&s) == 0);
	static const char data[] = "the same blob, pulled twice at once";
	char dg[72];
	fb_sha256_mem(data, sizeof(data) - 1, dg);
	struct fb_blob_writer a, b;
	struct fb_err err = { 0 };
	uint64_t at = 99;
	TAP_CHECK(fb_blob_begin(&s, dg, "a", &at, &a, &err) == 0);
	TAP_CHECK(at == 0 && !a.private_tmp);
	/* the partial is taken: the second writer gets a file of its own */
	TAP_CHECK(fb_blob_begin(&s, dg, "b", &at, &b, &err) == 0);
	TAP_CHECK(at == 0 && b.private_tmp);
	TAP_CHECK(strcmp(a.tmp, b.tmp) != 0);
	TAP_CHECK(fb_blob_write(&a, data, 10, &err) == 0);
	TAP_CHECK(fb_blob_write(&b, data, sizeof(data) - 1, &err) == 0);
	TAP_CHECK(fb_blob_write(&a, data + 10, sizeof(data) - 11, &err) == 0);
	char got[72];
	TAP_CHECK(fb_blob_commit(&b, got, &err) == 0);
	TAP_STREQ(got, dg);
	TAP_CHECK(fb_blob_commit(&a, got, &err) == 0);
	TAP_STREQ(got, dg);
	TAP_CHECK(fb_store_has_blob(&s, dg));
	TAP_CHECK(tmp_entries(&s) == 0);
	/* an aborted second writer leaves nothing, even asked to keep it */
	TAP_CHECK(fb_blob_begin(&s, dg, "a", NULL, &a, &err) == 0);
	TAP_CHECK(fb_blob_begin(&s, dg, "b", NULL, &b, &err) == 0);
	TAP_CHECK(b.private_tmp);
	fb_blob_abort(&b, true);
	fb_blob_abort(&a, false);
	TAP_CHECK(tmp_entries(&s) == 0);
	fb_store_close(&s);
	return 0;
}

static int a_kept_partial_resumes(void)
{
	struct fb_store s;
	TAP_CHECK(open_store(&s) == 0);
	static const char data[] = "resumed after an interruption";
	char dg[72];
	fb_sha256_mem(data, sizeof(data) - 1, dg);
	struct fb_blob_writer w;
	struct fb_err err = { 0 };
	uint64_t at = 0;
	TAP_CHECK(fb_blob_begin(&s, dg, NULL, &at, &w, &err) == 0);
	TAP_CHECK(fb_blob_write(&w, data, 7, &err) == 0);
	fb_blob_abort(&w, true);
	TAP_CHECK(tmp_entries(&s) == 1);
	TAP_CHECK(fb_blob_begin(&s, dg, NULL, &at, &w, &err) == 0);
	TAP_CHECK(at == 7 && !w.private_tmp);
	TAP_CHECK(fb_blob_write(&w, data + 7, sizeof(data) - 8, &err) == 0);
	TAP_CHECK(fb_blob_commit(&w, NULL, &err) == 0);
	TAP_CHECK(fb_store_has_blob(&s, dg));
	TAP_CHECK(tmp_entries(&s) == 0);
	fb_store_close(&s);
	return 0;
}

/* A small ext4 made by lib/rootfs at path. */
static int make_ext4(const char *path)
{
	struct fb_rootfs_opts o = { .path = path, .size = 8 << 20, .inodes = 1024 };
	struct fb_rootfs *r;
	struct fb_err err = { 0 };
	if (fb_rootfs_create(&o, &r, &err) < 0)
		return -1;
	int ret = fb_rootfs_finish(r, NULL, &err);
	fb_rootfs_free(r);
	return ret;
}

static int ext4_images_are_recognized(void)
{
	TAP_CHECK(make_base() == 0);
	char *p = fb_xasprintf("%s/img.ext4", base);
	TAP_CHECK(make_ext4(p) == 0);
	struct fb_err err = { 0 };
	int fd = open(p, O_RDWR);
	TAP_CHECK(fd >= 0);
	TAP_CHECK(fb_ext4_check(fd, p, &err) == 0);
	/* cut short: the superblock says more than the file holds */
	TAP_CHECK(ftruncate(fd, 4 << 20) == 0);
	TAP_CHECK(fb_ext4_check(fd, p, &err) < 0);
	TAP_CHECK(err.code == FB_EXIT_USAGE && strstr(err.msg, "truncated"));
	/* a bad block size, then no magic */
	TAP_CHECK(ftruncate(fd, 8 << 20) == 0);
	unsigned char v[4] = { 9, 0, 0, 0 };
	TAP_CHECK(pwrite(fd, v, 4, 1024 + 24) == 4);
	TAP_CHECK(fb_ext4_check(fd, p, &err) < 0 && strstr(err.msg, "block size out of range"));
	TAP_CHECK(pwrite(fd, "\0\0", 2, 1024 + 56) == 2);
	TAP_CHECK(fb_ext4_check(fd, p, &err) < 0 && strstr(err.msg, "no ext4 superblock magic"));
	TAP_CHECK(ftruncate(fd, 100) == 0);
	TAP_CHECK(fb_ext4_check(fd, p, &err) < 0 && strstr(err.msg, "too short"));
	close(fd);
	unlink(p);
	free(p);
	return 0;
}

/* fb_handover_open's verdict on path: 0, or the error code. */
static int handover(struct fb_store *s, const char *path, const char *run_cache, char *const *dirs, size_t n)
{
	struct fb_handover h;
	struct fb_err err = { 0 };
	int r = fb_handover_open(s, path, run_cache, dirs, n, &h, &err);
	if (r == 0)
		fb_handover_close(&h);
	else
		printf("# %s\n", err.msg);
	return r == 0 ? 0 : err.code;
}

static int what_may_be_handed_over(void)
{
	struct fb_store s;
	TAP_CHECK(open_store(&s) == 0);
	char *rc = fb_xasprintf("%s/rc", base), *own = fb_xasprintf("%s/own", base);
	char *in_tmp = fb_xasprintf("%s/tmp/rootfs-1/rootfs.ext4", s.root);
	char *in_rc = fb_xasprintf("%s/builds/x.ext4", rc), *in_runs = fb_xasprintf("%s/runs/vm/rootfs.ext4", rc);
	char *in_own = fb_xasprintf("%s/x.ext4", own), *in_tags = fb_xasprintf("%s/rootfs/a/1/rootfs.ext4", s.root);
	char *link = fb_xasprintf("%s/tmp/link.ext4", s.root), *dirlink = fb_xasprintf("%s/linked", rc);
	char *via = fb_xasprintf("%s/linked/x.ext4", rc);
	const char *files[] = { in_tmp, in_rc, in_runs, in_own, in_tags };
	struct fb_err err = { 0 };
	for (size_t i = 0; i < FB_ARRAY_LEN(files); i++) {
		char *d = fb_xstrdup(files[i]);
		*strrchr(d, '/') = '\0';
		TAP_CHECK(fb_mkdir_p(d, 0755, &err) == 0);
		free(d);
		TAP_CHECK(make_ext4(files[i]) == 0);
	}
	char *dirs[] = { own };
	TAP_CHECK(handover(&s, in_tmp, rc, NULL, 0) == 0);
	TAP_CHECK(handover(&s, in_rc, rc, NULL, 0) == 0);
	TAP_CHECK(handover(&s, in_runs, rc, NULL, 0) == FB_EXIT_USAGE);
	TAP_CHECK(handover(&s, in_own, rc, NULL, 0) == FB_EXIT_USAGE);
	TAP_CHECK(handover(&s, in_own, rc, dirs, 1) == 0);
	char *root[] = { "/" };
	TAP_CHECK(handover(&s, in_own, rc, root, 1) == 0);
	TAP_CHECK(handover(&s, in_tags, rc, root, 1) == FB_EXIT_USAGE);
	TAP_CHECK(handover(&s, in_tags, rc, NULL, 0) == FB_EXIT_USAGE);
	TAP_CHECK(handover(&s, in_tags, base, NULL, 0) == FB_EXIT_USAGE); /* the store under the run cache */
	TAP_CHECK(symlink(in_own, link) == 0);
	TAP_CHECK(handover(&s, link, rc, dirs, 1) == FB_EXIT_USAGE);
	TAP_CHECK(symlink(own, dirlink) == 0);
	TAP_CHECK(handover(&s, via, rc, NULL, 0) == FB_EXIT_USAGE);
	TAP_CHECK(handover(&s, rc, base, NULL, 0) == FB_EXIT_USAGE); /* a directory */
	char *missing = fb_xasprintf("%s/tmp/none.ext4", s.root);
	TAP_CHECK(handover(&s, missing, rc, NULL, 0) == FB_EXIT_NOTFOUND);
	/* moved: the file checked, and nothing where it was */
	struct fb_handover h;
	char *dst = fb_xasprintf("%s/tmp/moved.ext4", s.root);
	TAP_CHECK(fb_handover_open(&s, in_rc, rc, NULL, 0, &h, &err) == 0);
	ino_t ino = h.st.st_ino;
	TAP_CHECK(fb_handover_move(&h, dst, &err) == 0);
	fb_handover_close(&h);
	struct stat st;
	TAP_CHECK(stat(dst, &st) == 0 && st.st_ino == ino);
	TAP_CHECK(access(in_rc, F_OK) < 0);
	free(missing);
	free(dst);
	free(rc), free(own), free(in_tmp), free(in_rc), free(in_runs), free(in_own), free(in_tags), free(link);
	free(dirlink), free(via);
	fb_store_close(&s);
	return 0;
}

static int cleanup(void)
{
	TAP_CHECK(fb_tree_remove(base) == 0);
	return 0;
}

static const struct tap_case cases[] = {
	{ "two writers of one blob at once: one partial, one file of its own", two_writers_of_one_blob },
	{ "a kept partial resumes", a_kept_partial_resumes },
	{ "ext4 images are recognized: magic, block size, length", ext4_images_are_recognized },
	{ "what may be handed over to the store", what_may_be_handed_over },
	{ "clean up", cleanup },
};

TAP_MAIN(cases)
