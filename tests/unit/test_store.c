/* lib/store: two writers of one blob at once (the locked partial), a
 * resumed partial, what fb_handover_open lets be moved into the store,
 * lib/rootfs's check that a file is an ext4 image; the layout (the only
 * module that knows it), tag names, tags put, read, listed and removed,
 * index.json, the build cache, and gc. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "doc.h"
#include "oci.h"
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

/* A store of its own under base. */
static int open_store_at(struct fb_store *s, const char *name)
{
	if (make_base() < 0)
		return -1;
	char *root = fb_xasprintf("%s/%s", base, name);
	struct fb_err err = { 0 };
	int r = fb_store_open(root, s, &err);
	free(root);
	return r;
}

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static int the_layout(void)
{
	struct fb_store s;
	TAP_CHECK(open_store_at(&s, "layout") == 0);
	static const char *const dirs[] = { "blobs/sha256", "rootfs", "kernels", "cache", "tmp", "oci-layout", "index.json" };
	for (size_t i = 0; i < FB_ARRAY_LEN(dirs); i++) {
		char *p = fb_xasprintf("%s/%s", s.root, dirs[i]);
		int a = access(p, F_OK);
		free(p);
		TAP_CHECK(a == 0);
	}
	const struct {
		char *got;
		const char *want;
	} paths[] = {
		{ fb_store_blob_path(&s, D1), "/blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111" },
		{ fb_store_blob_path_at("/x", D1), NULL },
		{ fb_store_tag_dir(s.root, "acme/app", "1"), "/rootfs/acme/app/1" },
		{ fb_store_tag_file(s.root, "acme/app", "1", FB_TAG_ROOTFS), "/rootfs/acme/app/1/rootfs.ext4" },
		{ fb_store_tag_file(s.root, "acme/app", "1", FB_TAG_META), "/rootfs/acme/app/1/image.json" },
		{ fb_store_cache_entry_path(&s, D1), "/cache/1111111111111111111111111111111111111111111111111111111111111111.json" },
		{ fb_store_cache_mount_dir(&s, D1), "/cache-mounts/1111111111111111" },
	};
	int bad = 0;
	for (size_t i = 0; i < FB_ARRAY_LEN(paths); i++) {
		char *want = paths[i].want ? fb_xasprintf("%s%s", s.root, paths[i].want)
					   : fb_xstrdup("/x/blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111");
		if (strcmp(paths[i].got, want))
			bad = tap_fail("'%s' != '%s'", paths[i].got, want);
		free(want);
		free(paths[i].got);
	}
	char *t;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_store_mktemp(s.root, "rootfs", &t, &err) == 0);
	char *prefix = fb_xasprintf("%s/tmp/rootfs-", s.root);
	TAP_CHECK(!strncmp(t, prefix, strlen(prefix)) && strlen(t) == strlen(prefix) + 6);
	struct stat st;
	TAP_CHECK(stat(t, &st) == 0 && S_ISDIR(st.st_mode));
	rmdir(t);
	free(t);
	free(prefix);
	fb_store_close(&s);
	return bad;
}

static const struct {
	const char *in, *name, *version, *why;
} tag_names[] = {
	{ "acme/app:1.2", "acme/app", "1.2", NULL },
	{ "registry.local:5000/team/app:latest", "registry.local:5000/team/app", "latest", NULL },
	{ "localhost/x:V_1", "localhost/x", "V_1", NULL },
	{ "acme/app", NULL, NULL, "expected NAME:VERSION" },
	{ "Acme/app:1", NULL, NULL, "names are lower-case letters and digits, separated by . _ - or /" },
	{ "../etc:1", NULL, NULL, "bad registry host" }, /* a first part with a dot is a host */
	{ "a//b:1", NULL, NULL, "names are lower-case letters and digits, separated by . _ - or /" },
	{ "a/b:.x", NULL, NULL, "the version must be [A-Za-z0-9_][A-Za-z0-9._-]{0,127}" },
	{ "bad..host/a:1", NULL, NULL, "bad registry host" },
};

/* FROM and --from: NAME[:VERSION], latest by default, a tag or nothing */
static const struct {
	const char *ref, *name, *version;
} tag_refs[] = {
	{ "acme/app", "acme/app", "latest" },
	{ "acme/app:2", "acme/app", "2" },
	{ "localhost:5000/app", "localhost:5000/app", "latest" },
	{ "localhost:5000/app:3", "localhost:5000/app", "3" },
	{ "acme/app@" D1, NULL, NULL },
	{ "../../etc", NULL, NULL },
	{ "Upper/app", NULL, NULL },
};

static int tag_names_checked(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(tag_names); i++) {
		char *n = NULL, *v = NULL;
		struct fb_err err = { 0 };
		int r = fb_store_tag_parse(tag_names[i].in, &n, &v, &err);
		if (tag_names[i].name) {
			if (r < 0 || strcmp(n, tag_names[i].name) || strcmp(v, tag_names[i].version))
				return tap_fail("%s: %s", tag_names[i].in, r < 0 ? err.msg : n);
		} else {
			char *want = fb_xasprintf("invalid tag \"%s\": %s", tag_names[i].in, tag_names[i].why);
			bool ok = r < 0 && err.code == FB_EXIT_USAGE && !strcmp(err.msg, want);
			if (!ok)
				tap_fail("%s: '%s', want '%s'", tag_names[i].in, err.msg, want);
			free(want);
			if (!ok)
				return 1;
		}
		free(n);
		free(v);
	}
	for (size_t i = 0; i < FB_ARRAY_LEN(tag_refs); i++) {
		char *n = NULL, *v = NULL;
		int r = fb_store_tag_split(tag_refs[i].ref, &n, &v);
		bool ok = tag_refs[i].name ? r == 0 && !strcmp(n, tag_refs[i].name) && !strcmp(v, tag_refs[i].version) : r < 0;
		free(n);
		free(v);
		if (!ok)
			return tap_fail("%s", tag_refs[i].ref);
	}
	return 0;
}

/* an ext4 under the store's tmp/, as fb-mkrootfs leaves it */
static int made_rootfs(const struct fb_store *s, char **path)
{
	char *dir;
	struct fb_err err = { 0 };
	if (fb_store_mktemp(s->root, "rootfs", &dir, &err) < 0)
		return -1;
	*path = fb_xasprintf("%s/rootfs.ext4", dir);
	free(dir);
	return make_ext4(*path);
}

static int put(struct fb_store *s, const char *name, const char *version, const char *digest, char **dir)
{
	char *p;
	if (made_rootfs(s, &p) < 0)
		return -1;
	struct fb_handover h;
	struct fb_err err = { 0 };
	struct fb_tag_meta m = { .size = 1, .content_size = -1, .from_image = digest != NULL };
	if (digest) {
		m.digest = fb_xstrdup(digest);
		fb_strv_push(&m.blobs, digest);
	}
	int r = fb_handover_open(s, p, NULL, NULL, 0, &h, &err);
	if (r == 0)
		r = fb_store_tag_put(s, name, version, &h, &m, dir, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	fb_handover_close(&h);
	/* fb-mkrootfs's directory went with the file */
	char *d = fb_xstrdup(p);
	*strrchr(d, '/') = '\0';
	if (r == 0 && access(d, F_OK) == 0)
		r = -1;
	free(d);
	free(p);
	fb_tag_meta_free(&m);
	return r;
}

static int tags(void)
{
	struct fb_store s;
	TAP_CHECK(open_store_at(&s, "tags") == 0);
	char *dir = NULL;
	TAP_CHECK(put(&s, "acme/b", "1", NULL, &dir) == 0);
	free(dir);
	TAP_CHECK(put(&s, "acme/a", "2", D1, &dir) == 0);
	free(dir);
	TAP_CHECK(put(&s, "acme/a", "10", NULL, &dir) == 0);
	char *want = fb_store_tag_dir(s.root, "acme/a", "10");
	TAP_STREQ(dir, want);
	free(want);
	free(dir);
	/* put again: replaced, in one rename */
	TAP_CHECK(put(&s, "acme/a", "2", D1, &dir) == 0);
	free(dir);
	struct fb_tag_meta m;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_store_tag_get(&s, "acme/a", "2", &m, &err) == 0);
	TAP_STREQ(m.name, "acme/a");
	TAP_STREQ(m.digest, D1);
	TAP_CHECK(m.from_image && m.blobs.n == 1 && m.size == 1 && m.created);
	fb_tag_meta_free(&m);
	/* listed by name, then version (as bytes) */
	struct fb_tag_meta *list;
	size_t n;
	TAP_CHECK(fb_store_tag_list(&s, &list, &n, &err) == 0 && n == 3);
	TAP_STREQ(list[0].version, "10");
	TAP_STREQ(list[1].version, "2");
	TAP_STREQ(list[2].name, "acme/b");
	for (size_t i = 0; i < n; i++)
		fb_tag_meta_free(&list[i]);
	free(list);
	/* removed: the tag, then its empty name directories */
	TAP_CHECK(fb_store_tag_rm(&s, "acme/b", "1", &err) == 0);
	char *gone = fb_xasprintf("%s/rootfs/acme/b", s.root);
	TAP_CHECK(access(gone, F_OK) < 0);
	free(gone);
	TAP_CHECK(fb_store_tag_get(&s, "acme/b", "1", &m, &err) < 0 && err.code == FB_EXIT_NOTFOUND);
	TAP_CHECK(fb_store_tag_rm(&s, "acme/b", "1", &err) < 0 && err.code == FB_EXIT_NOTFOUND);
	fb_store_close(&s);
	return 0;
}

static int index_and_cache(void)
{
	struct fb_store s;
	TAP_CHECK(open_store_at(&s, "index") == 0);
	struct fb_err err = { 0 };
	/* one entry per name: set twice, one left */
	TAP_CHECK(fb_store_index_set(&s, "docker.io/library/a:1", FB_MT_OCI_MANIFEST, D1, 10, &err) == 0);
	TAP_CHECK(fb_store_index_set(&s, "docker.io/library/b:1", FB_MT_OCI_MANIFEST, D1, 10, &err) == 0);
	TAP_CHECK(fb_store_index_set(&s, "docker.io/library/a:1", FB_MT_OCI_MANIFEST, D1, 11, &err) == 0);
	char *ip = fb_xasprintf("%s/index.json", s.root);
	struct fb_buf b = FB_BUF_INIT;
	TAP_CHECK(fb_read_file(ip, &b, &err) == 0);
	struct fb_oci_index x;
	TAP_CHECK(fb_oci_index_decode(b.data, b.len, &x, &err) == 0);
	TAP_CHECK(x.n == 2 && x.manifests[1].size == 11);
	TAP_STREQ(x.manifests[1].ref_name, "docker.io/library/a:1");
	fb_oci_index_free(&x);
	fb_buf_free(&b);
	free(ip);
	/* the build cache: a step with a layer, one without, and a miss */
	struct fb_cache_entry e = { .key = D1, .step = "RUN", .layer = D1, .size = 5 }, got;
	TAP_CHECK(fb_store_cache_put(&s, &e, &err) == 0);
	TAP_CHECK(fb_store_cache_get(&s, D1, &got) == 1);
	TAP_STREQ(got.layer, D1);
	TAP_CHECK(got.size == 5 && !got.layer_other);
	fb_cache_entry_free(&got);
	e.key = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
	e.layer = NULL;
	TAP_CHECK(fb_store_cache_put(&s, &e, &err) == 0);
	TAP_CHECK(fb_store_cache_get(&s, e.key, &got) == 1 && !got.layer && !got.layer_other);
	fb_cache_entry_free(&got);
	TAP_CHECK(fb_store_cache_get(&s, "sha256:3333333333333333333333333333333333333333333333333333333333333333", &got) == 0);
	/* an entry of another kind: read as found, never an abort */
	char *p = fb_store_cache_entry_path(&s, "sha256:4444444444444444444444444444444444444444444444444444444444444444");
	TAP_CHECK(fb_write_file_atomic(p, "{\"layer\":5}", 11, 0644, &err) == 0);
	TAP_CHECK(fb_store_cache_get(&s, "sha256:4444444444444444444444444444444444444444444444444444444444444444", &got) == 1);
	TAP_CHECK(got.layer_other);
	fb_cache_entry_free(&got);
	TAP_CHECK(fb_write_file_atomic(p, "[1]", 3, 0644, &err) == 0);
	TAP_CHECK(fb_store_cache_get(&s, "sha256:4444444444444444444444444444444444444444444444444444444444444444", &got) == 0);
	free(p);
	fb_store_close(&s);
	return 0;
}

static int put_blob(struct fb_store *s, const char *text, char d[72])
{
	struct fb_err err = { 0 };
	return fb_store_put_mem(s, text, strlen(text), d, &err);
}

static int gc(void)
{
	struct fb_store s;
	TAP_CHECK(open_store_at(&s, "gc") == 0);
	char layer[72], cfg[72], man[72], stray[72], cached[72], other[72];
	TAP_CHECK(put_blob(&s, "layer bytes", layer) == 0);
	TAP_CHECK(put_blob(&s, "{\"os\":\"linux\"}", cfg) == 0);
	TAP_CHECK(put_blob(&s, "stray", stray) == 0);
	TAP_CHECK(put_blob(&s, "a cached step's layer", cached) == 0);
	char *m = fb_xasprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\",\"size\":1},\"layers\":[{\"digest\":\"%s\",\"size\":1}]}",
			       cfg, layer);
	TAP_CHECK(put_blob(&s, m, man) == 0);
	free(m);
	TAP_CHECK(put_blob(&s, "{\"schemaVersion\":2,\"layers\":[]}", other) == 0);
	struct fb_err err = { 0 };
	/* a tag names the manifest (its image.json's blobs), index.json has it
	 * and an image nothing names */
	TAP_CHECK(fb_store_index_set(&s, "kept:1", FB_MT_OCI_MANIFEST, man, 1, &err) == 0);
	TAP_CHECK(fb_store_index_set(&s, "dropped:1", FB_MT_OCI_MANIFEST, other, 1, &err) == 0);
	char *dir;
	TAP_CHECK(put(&s, "acme/kept", "1", man, &dir) == 0);
	free(dir);
	struct fb_cache_entry e = { .key = cached, .step = "RUN", .layer = cached, .size = 1 };
	TAP_CHECK(fb_store_cache_put(&s, &e, &err) == 0);
	struct fb_gc_stats st;
	TAP_CHECK(fb_store_gc(&s, 1000000000000LL, &st, &err) == 0);
	TAP_CHECK(st.images_dropped == 1 && st.cache_entries_removed == 0);
	TAP_CHECK(st.blobs_removed == 2 && st.blobs_kept == 4); /* stray and the dropped image */
	TAP_CHECK(fb_store_has_blob(&s, man) && fb_store_has_blob(&s, cfg) && fb_store_has_blob(&s, layer));
	TAP_CHECK(fb_store_has_blob(&s, cached) && !fb_store_has_blob(&s, stray) && !fb_store_has_blob(&s, other));
	/* max age 0: every cache entry goes, then its layer */
	TAP_CHECK(fb_store_gc(&s, 0, &st, &err) == 0);
	TAP_CHECK(st.cache_entries_removed == 1 && st.blobs_removed == 1 && !fb_store_has_blob(&s, cached));
	fb_store_close(&s);
	return 0;
}

/* fb-tag ls's .images, encoded and decoded again (firebuild image ls) */
static int tag_list_doc(void)
{
	struct fb_tag_meta rows[2] = { { .name = "a/b", .version = "1", .created = "2026-01-01T00:00:00Z", .size = 3 << 20,
					 .source = "dockerfile" },
				       { .name = "c", .version = "2", .size = -1 } };
	struct fb_doc *d = fb_doc_new();
	fb_tag_list_doc_set(d, rows, 2);
	struct fb_tag_meta *back = NULL;
	size_t n = 0;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_tag_list_from_doc(d, &back, &n, &err) == 0 && n == 2);
	fb_doc_free(d);
	TAP_STREQ(back[0].name, "a/b");
	TAP_STREQ(back[0].source, "dockerfile");
	TAP_CHECK(back[0].size == 3 << 20 && back[1].size == -1 && back[1].created == NULL);
	for (size_t i = 0; i < n; i++)
		fb_tag_meta_free(&back[i]);
	free(back);
	static const char *const bad[] = { "{\"images\":{}}", "{\"images\":[{\"name\":1}]}", "{\"images\":[{\"size\":-4}]}",
					   "{\"images\":[5]}" };
	static const char *const msg[] = { ".images: expected an array or null, got object", ".images[0].name: expected a string or null",
					   ".images[0].size: expected an integer", ".images[0]: expected an object" };
	for (size_t i = 0; i < 4; i++) {
		TAP_CHECK(fb_doc_parse(bad[i], strlen(bad[i]), &d, &err) == 0);
		err = (struct fb_err){ 0 };
		TAP_CHECK(fb_tag_list_from_doc(d, &back, &n, &err) == -1);
		fb_doc_free(d);
		if (!strstr(err.msg, msg[i]))
			return tap_fail("%s: %s", bad[i], err.msg);
	}
	TAP_CHECK(fb_doc_parse("{}", 2, &d, &err) == 0);
	TAP_CHECK(fb_tag_list_from_doc(d, &back, &n, &err) == 0 && n == 0);
	fb_doc_free(d);
	free(back);
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
	{ "the layout: blobs, tags, the cache, tmp/", the_layout },
	{ "tag names: fb-tag's NAME:VERSION, FROM's NAME[:VERSION]", tag_names_checked },
	{ "tags: put (replacing), read, listed in order, removed", tags },
	{ "index.json: one entry per name; build cache entries as found", index_and_cache },
	{ "gc: what tags and the cache name stays, the rest goes", gc },
	{ "fb-tag ls's listing decoded again, hostile ones refused", tag_list_doc },
	{ "clean up", cleanup },
};

TAP_MAIN(cases)
