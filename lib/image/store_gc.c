/* The store's garbage collector (fb-tag gc): what tags and the build cache
 * refer to stays, with the manifests and blobs they need; the rest goes. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "oci.h"
#include "util.h"

/* The digests to keep: a list while it is made, sorted for the sweep. */
struct keep {
	struct fb_strv d;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool kept(const struct keep *k, const char *digest)
{
	for (size_t i = 0; i < k->d.n; i++)
		if (!strcmp(k->d.v[i], digest))
			return true;
	return false;
}

static void keep(struct keep *k, const char *digest)
{
	if (fb_digest_valid(digest) && !kept(k, digest))
		fb_strv_push(&k->d, digest);
}

/* A manifest or index blob: keep it and what it names. */
static void mark_blob(const struct fb_store *s, struct keep *k, const char *digest, int depth)
{
	if (!fb_digest_valid(digest) || depth > 4)
		return;
	keep(k, digest);
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = { 0 };
	if (fb_store_read_blob(s, digest, &b, &e) < 0) {
		fb_buf_free(&b);
		return;
	}
	/* a registry's blob is read as found: any kind */
	struct fb_strv blobs = FB_STRV_INIT, children = FB_STRV_INIT;
	fb_oci_refs(fb_buf_str(&b), b.len, &blobs, &children);
	fb_buf_free(&b);
	for (size_t i = 0; i < blobs.n; i++)
		keep(k, blobs.v[i]);
	for (size_t i = 0; i < children.n; i++)
		mark_blob(s, k, children.v[i], depth + 1);
	fb_strv_free(&blobs);
	fb_strv_free(&children);
}

static struct keep *g_keep;

/* image.json lists "blobs"; a cache entry names a "layer" */
static int refs_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	if (flag != FTW_F)
		return 0;
	if (fb_str_has_suffix(p, "/" FB_TAG_META)) {
		struct fb_tag_meta m;
		struct fb_err e = { 0 };
		if (fb_tag_meta_load(p, &m, &e) == 0) {
			for (size_t i = 0; i < m.blobs.n; i++)
				keep(g_keep, m.blobs.v[i]);
			fb_tag_meta_free(&m);
		}
	} else if (fb_str_has_suffix(p, ".json")) {
		struct fb_cache_entry ce;
		if (fb_cache_entry_load(p, &ce) == 1) {
			if (ce.layer)
				keep(g_keep, ce.layer);
			fb_cache_entry_free(&ce);
		}
	}
	return 0;
}

/* Build cache entries not used (a hit touches them) for max_age ns, or
 * whose layer is gone; 0 drops them all. */
static uint64_t trim_cache(const struct fb_store *s, long long max_age)
{
	char *cd = fb_xasprintf("%s/cache", s->root);
	DIR *dir = opendir(cd);
	struct dirent *e;
	uint64_t n = 0;
	time_t now = time(NULL);
	while (dir && (e = readdir(dir))) {
		if (!fb_str_has_suffix(e->d_name, ".json"))
			continue;
		char *p = fb_xasprintf("%s/%s", cd, e->d_name);
		struct stat st;
		bool drop = max_age == 0 || (lstat(p, &st) == 0 && (long long)(now - st.st_mtime) * 1000000000LL > max_age);
		struct fb_cache_entry ce;
		if (!drop && fb_cache_entry_load(p, &ce) == 1) {
			drop = ce.layer && !fb_store_has_blob(s, ce.layer);
			fb_cache_entry_free(&ce);
		}
		if (drop && unlink(p) == 0)
			n++;
		free(p);
	}
	if (dir)
		closedir(dir);
	/* the contexts' file digests (lib/fs/hashcache): a build that uses
	 * them touches them */
	char *fd = fb_xasprintf("%s/files", cd);
	dir = opendir(fd);
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = fb_xasprintf("%s/%s", fd, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    (max_age == 0 || (long long)(now - st.st_mtime) * 1000000000LL > max_age) && unlink(p) == 0)
			n++;
		free(p);
	}
	if (dir)
		closedir(dir);
	free(fd);
	free(cd);
	return n;
}

/* index.json keeps the images something still refers to, and their
 * blobs; the entries of the others go with them */
static int trim_index(struct fb_store *s, struct keep *k, uint64_t *dropped, struct fb_err *err)
{
	char *ip = fb_xasprintf("%s/index.json", s->root);
	struct fb_buf b = FB_BUF_INIT;
	struct fb_oci_index idx;
	int r = fb_read_file(ip, &b, err);
	if (r == 0 && (r = fb_oci_index_decode(fb_buf_str(&b), b.len, &idx, err)) == 0) {
		size_t left = 0;
		for (size_t i = 0; i < idx.n; i++) {
			const char *d = idx.manifests[i].digest;
			if (d && kept(k, d)) {
				mark_blob(s, k, d, 0);
				idx.manifests[left++] = idx.manifests[i];
			} else {
				(*dropped)++;
				fb_oci_desc_free(&idx.manifests[i]);
			}
		}
		idx.n = left;
		if (*dropped) {
			char *text = fb_oci_index_encode(&idx);
			r = fb_write_file_atomic(ip, text, strlen(text), 0644, err);
			free(text);
		}
		fb_oci_index_free(&idx);
	} else {
		r = 0; /* no index to trim: the blobs are swept all the same */
	}
	fb_buf_free(&b);
	free(ip);
	return r;
}

int fb_store_gc(struct fb_store *s, long long max_age_ns, struct fb_gc_stats *st, struct fb_err *err)
{
	memset(st, 0, sizeof(*st));
	if (fb_store_lock(s, err) < 0)
		return -1;
	st->cache_entries_removed = trim_cache(s, max_age_ns);
	struct keep k = { FB_STRV_INIT };
	/* what tags and the build cache refer to */
	g_keep = &k;
	static const char *const dirs[] = { "rootfs", "cache" };
	for (size_t i = 0; i < 2; i++) {
		char *d = fb_xasprintf("%s/%s", s->root, dirs[i]);
		nftw(d, refs_cb, 32, FTW_PHYS);
		free(d);
	}
	g_keep = NULL;
	if (trim_index(s, &k, &st->images_dropped, err) < 0) {
		fb_strv_free(&k.d);
		fb_store_unlock(s);
		return -1;
	}
	/* sweep */
	fb_strv_sort(&k.d);
	char *bd = fb_xasprintf("%s/blobs/sha256", s->root);
	DIR *dir = opendir(bd);
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char dg[80];
		snprintf(dg, sizeof(dg), "sha256:%.64s", e->d_name);
		const char *key = dg;
		if (k.d.n && bsearch(&key, k.d.v, k.d.n, sizeof(char *), cmp_str)) {
			st->blobs_kept++;
			continue;
		}
		char *p = fb_xasprintf("%s/%s", bd, e->d_name);
		struct stat sb;
		if (lstat(p, &sb) == 0 && unlink(p) == 0) {
			st->bytes_freed += (uint64_t)sb.st_size;
			st->blobs_removed++;
		}
		free(p);
	}
	if (dir)
		closedir(dir);
	free(bd);
	/* temporary files of runs that died, and stale stage directories */
	char *td = fb_xasprintf("%s/tmp", s->root);
	dir = opendir(td);
	while (dir && (e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = fb_xasprintf("%s/%s", td, e->d_name);
		struct stat sb;
		/* leave what may belong to a run in progress (under an hour old) */
		if (lstat(p, &sb) == 0 && time(NULL) - sb.st_mtime > 3600 && fb_store_rm_rf(p) == 0)
			st->tmp_removed++;
		free(p);
	}
	if (dir)
		closedir(dir);
	free(td);
	fb_strv_free(&k.d);
	fb_store_unlock(s);
	return 0;
}
