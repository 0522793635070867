/* lib/fs/hashcache: a digest remembered for (dev, ino, size, mtime, ctime)
 * is given back only while all of them match; a file changed in the last
 * second is not remembered; the table survives a save and a reopen; a
 * damaged or torn file is ignored whole, and a hostile line on its own. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "file.h"
#include "hashcache.h"
#include "tap.h"
#include "tree.h"
#include "util.h"

static char base[] = "/tmp/fb-test-hashcache-XXXXXX";
static const char D1[] = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
static const char D2[] = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

static char *cache_path(const char *name)
{
	static int made;
	if (!made && !mkdtemp(base))
		return NULL;
	made = 1;
	return fb_xasprintf("%s/%s/cache", base, name);
}

/* a file as stat would describe it, last changed `ago` seconds ago */
static struct stat file_st(dev_t dev, ino_t ino, off_t size, time_t ago)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	/* one clock reading for the whole run: a second ticking between a
	 * put and a get must not change what the file looks like */
	static time_t now;
	if (!now)
		now = time(NULL);
	st.st_mode = S_IFREG | 0644;
	st.st_dev = dev;
	st.st_ino = ino;
	st.st_size = size;
	st.st_mtim = (struct timespec){ now - ago - 5, 123456789 };
	st.st_ctim = (struct timespec){ now - ago, 987654321 };
	return st;
}

static int hit_after_put_and_reopen(void)
{
	FB_AUTOFREE char *p = cache_path("hit");
	struct fb_hashcache *hc = fb_hashcache_open(p);
	struct stat st = file_st(2049, 42, 4096, 100);
	char d[72];
	TAP_CHECK(!fb_hashcache_get(hc, &st, d));
	TAP_CHECK(fb_hashcache_put(hc, &st, D1));
	TAP_CHECK(fb_hashcache_get(hc, &st, d));
	TAP_STREQ(d, D1);
	struct fb_err err = { 0 };
	TAP_CHECK(fb_hashcache_save(hc, &err) == 0);
	unsigned long hits, misses;
	fb_hashcache_counts(hc, &hits, &misses);
	TAP_CHECK(hits == 1 && misses == 1);
	fb_hashcache_free(hc);
	/* another build: the same file, unchanged */
	hc = fb_hashcache_open(p);
	memset(d, 0, sizeof(d));
	TAP_CHECK(fb_hashcache_get(hc, &st, d));
	TAP_STREQ(d, D1);
	/* a new digest for the same inode replaces the old */
	TAP_CHECK(fb_hashcache_put(hc, &st, D2));
	TAP_CHECK(fb_hashcache_get(hc, &st, d));
	TAP_STREQ(d, D2);
	fb_hashcache_free(hc);
	return 0;
}

/* every key field on its own makes a miss */
static int miss_on_each_field(void)
{
	FB_AUTOFREE char *p = cache_path("fields");
	struct fb_hashcache *hc = fb_hashcache_open(p);
	const struct stat st = file_st(2049, 42, 4096, 100);
	TAP_CHECK(fb_hashcache_put(hc, &st, D1));
	char d[72];
	TAP_CHECK(fb_hashcache_get(hc, &st, d));
	for (int f = 0; f < 7; f++) {
		struct stat x = st;
		switch (f) {
		case 0: x.st_dev++; break;
		case 1: x.st_ino++; break;
		case 2: x.st_size++; break;
		case 3: x.st_mtim.tv_sec++; break;
		case 4: x.st_mtim.tv_nsec++; break;
		case 5: x.st_ctim.tv_sec++; break;
		case 6: x.st_ctim.tv_nsec--; break;
		}
		if (fb_hashcache_get(hc, &x, d)) {
			fb_hashcache_free(hc);
			return tap_fail("field %d changed, still a hit", f);
		}
	}
	/* the mode and the owner are not in the key (they are hashed apart) */
	struct stat m = st;
	m.st_mode = S_IFREG | 0755;
	TAP_CHECK(fb_hashcache_get(hc, &m, d));
	fb_hashcache_free(hc);
	return 0;
}

/* a file changed within the last second (or in the future) could be
 * written again with the same times: it is not remembered */
static int recent_change_not_remembered(void)
{
	FB_AUTOFREE char *p = cache_path("recent");
	struct fb_hashcache *hc = fb_hashcache_open(p);
	char d[72];
	struct stat st = file_st(1, 7, 10, 100);
	st.st_ctim.tv_sec = time(NULL); /* ctime now */
	TAP_CHECK(!fb_hashcache_put(hc, &st, D1));
	TAP_CHECK(!fb_hashcache_get(hc, &st, d));
	st = file_st(1, 8, 10, 100);
	st.st_mtim.tv_sec = time(NULL); /* mtime now, ctime old (a clock set back) */
	TAP_CHECK(!fb_hashcache_put(hc, &st, D1));
	st = file_st(1, 9, 10, 100);
	st.st_ctim.tv_sec = time(NULL) + 3600; /* in the future */
	TAP_CHECK(!fb_hashcache_put(hc, &st, D1));
	/* a real file just written: its own times */
	FB_AUTOFREE char *f = fb_xasprintf("%s/just-written", base);
	struct fb_err err = { 0 };
	TAP_CHECK(fb_write_file_atomic(f, "x", 1, 0644, &err) == 0);
	struct stat real;
	TAP_CHECK(stat(f, &real) == 0);
	TAP_CHECK(!fb_hashcache_put(hc, &real, D1));
	TAP_CHECK(!fb_hashcache_get(hc, &real, d));
	/* nothing was remembered, so nothing is written */
	TAP_CHECK(fb_hashcache_save(hc, &err) == 0);
	TAP_CHECK(access(p, F_OK) < 0);
	/* and what is no digest is not taken */
	st = file_st(1, 10, 10, 100);
	TAP_CHECK(!fb_hashcache_put(hc, &st, "sha256:xyz"));
	TAP_CHECK(!fb_hashcache_put(hc, &st, "sha512:1111111111111111111111111111111111111111111111111111111111111111"));
	fb_hashcache_free(hc);
	return 0;
}

static int save_one(const char *p, const struct stat *st, const char *digest)
{
	struct fb_hashcache *hc = fb_hashcache_open(p);
	struct fb_err err = { 0 };
	int r = fb_hashcache_put(hc, st, digest) && fb_hashcache_save(hc, &err) == 0 ? 0 : -1;
	fb_hashcache_free(hc);
	return r;
}

static bool hit(const char *p, const struct stat *st)
{
	struct fb_hashcache *hc = fb_hashcache_open(p);
	char d[72];
	bool r = fb_hashcache_get(hc, st, d);
	fb_hashcache_free(hc);
	return r;
}

/* one byte changed, the file cut short, junk, a link: nothing is trusted */
static int damaged_file_ignored(void)
{
	FB_AUTOFREE char *p = cache_path("damaged");
	const struct stat st = file_st(2049, 42, 4096, 100);
	TAP_CHECK(save_one(p, &st, D1) == 0);
	TAP_CHECK(hit(p, &st));
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_read_file(p, &b, &err) == 0);
	/* a digit of the digest flipped: the line still parses */
	char *one = strstr(b.data, "1111");
	TAP_CHECK(one);
	*one = '3';
	TAP_CHECK(fb_write_file_atomic(p, b.data, b.len, 0600, &err) == 0);
	TAP_CHECK(!hit(p, &st));
	*one = '1';
	TAP_CHECK(fb_write_file_atomic(p, b.data, b.len, 0600, &err) == 0);
	TAP_CHECK(hit(p, &st));
	/* torn: cut anywhere (the entry line is whole in some of these) */
	for (size_t cut = 0; cut < b.len; cut += 7) {
		TAP_CHECK(fb_write_file_atomic(p, b.data, cut, 0600, &err) == 0);
		if (hit(p, &st)) {
			fb_buf_free(&b);
			return tap_fail("cut at %zu of %zu: still a hit", cut, b.len);
		}
	}
	/* a NUL in it */
	char *nul = fb_xmalloc(b.len);
	memcpy(nul, b.data, b.len);
	nul[30] = '\0';
	TAP_CHECK(fb_write_file_atomic(p, nul, b.len, 0600, &err) == 0);
	free(nul);
	TAP_CHECK(!hit(p, &st));
	/* a symbolic link to a good one is not followed */
	FB_AUTOFREE char *good = fb_xasprintf("%s/good", base);
	TAP_CHECK(fb_write_file_atomic(good, b.data, b.len, 0600, &err) == 0);
	unlink(p);
	TAP_CHECK(symlink(good, p) == 0);
	TAP_CHECK(!hit(p, &st));
	unlink(p);
	/* a directory where the file should be */
	TAP_CHECK(mkdir(p, 0700) == 0);
	TAP_CHECK(!hit(p, &st));
	struct fb_hashcache *hc = fb_hashcache_open(p);
	TAP_CHECK(fb_hashcache_put(hc, &st, D1));
	TAP_CHECK(fb_hashcache_save(hc, &err) < 0); /* an error, not a crash */
	fb_hashcache_free(hc);
	rmdir(p);
	fb_buf_free(&b);
	return 0;
}

/* A file with a good sum whose lines are hostile: each bad line is
 * dropped on its own, the good one is kept. */
static int hostile_lines(void)
{
	FB_AUTOFREE char *p = cache_path("hostile");
	struct fb_err err = { 0 };
	struct stat dirp = file_st(1, 1, 1, 100);
	TAP_CHECK(save_one(p, &dirp, D1) == 0); /* makes the directory */
	const char *hex = D1 + 7;
	struct stat st = file_st(5, 100, 10, 100);
	struct fb_buf b = FB_BUF_INIT;
	fb_buf_addf(&b, "firebuild-hashcache 1\n");
	/* numbers: a sign, a blank, a leading zero, too large, too many digits */
	const char *bad[] = { "-5", "+5", " 5", "05", "18446744073709551616", "99999999999999999999999", "5x", "" };
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++)
		fb_buf_addf(&b, "%s 100 10 %lld %ld %lld %ld %s\n", bad[i], (long long)st.st_mtim.tv_sec,
			    st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, hex);
	/* nanoseconds out of range, times past INT64_MAX */
	fb_buf_addf(&b, "6 100 10 %lld 1000000000 %lld %ld %s\n", (long long)st.st_mtim.tv_sec,
		    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, hex);
	fb_buf_addf(&b, "7 100 10 9223372036854775808 0 %lld %ld %s\n", (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
		    hex);
	/* the digest: short, long, upper case, not hex; fields missing, more */
	const char *hx[] = { "abc", "1111111111111111111111111111111111111111111111111111111111111111a",
			     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			     "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "" };
	for (size_t i = 0; i < FB_ARRAY_LEN(hx); i++)
		fb_buf_addf(&b, "8 100 10 %lld %ld %lld %ld %s\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, hx[i]);
	fb_buf_addf(&b, "9 100 10 %lld %ld %lld %s\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		    (long long)st.st_ctim.tv_sec, hex);
	fb_buf_addf(&b, "9 100 10 %lld %ld %lld %ld 1 %s\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, hex);
	fb_buf_addf(&b, "\n\n   \nsum 0\n");
	/* and one good line */
	fb_buf_addf(&b, "5 100 10 %lld %ld %lld %ld %s\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, D2 + 7);
	char d[72];
	fb_sha256_mem(b.data, b.len, d);
	fb_buf_addf(&b, "sum %s\n", fb_digest_hex(d));
	TAP_CHECK(fb_write_file_atomic(p, b.data, b.len, 0600, &err) == 0);
	fb_buf_free(&b);

	struct fb_hashcache *hc = fb_hashcache_open(p);
	char got[72];
	TAP_CHECK(fb_hashcache_get(hc, &st, got));
	TAP_STREQ(got, D2);
	/* what the bad lines would have named, had they been read loosely */
	for (dev_t dev = 6; dev <= 9; dev++) {
		struct stat x = st;
		x.st_dev = dev;
		if (fb_hashcache_get(hc, &x, got)) {
			fb_hashcache_free(hc);
			return tap_fail("a hostile line for dev %lu was taken", (unsigned long)dev);
		}
	}
	struct stat neg = st;
	neg.st_dev = (dev_t)-5;
	TAP_CHECK(!fb_hashcache_get(hc, &neg, got));
	fb_hashcache_free(hc);
	return 0;
}

/* many files: the table grows and every entry survives a save */
static int many_files(void)
{
	FB_AUTOFREE char *p = cache_path("many");
	struct fb_hashcache *hc = fb_hashcache_open(p);
	for (ino_t i = 1; i <= 20000; i++) {
		struct stat st = file_st(3, i, (off_t)i, 100);
		TAP_CHECK(fb_hashcache_put(hc, &st, (i & 1) ? D1 : D2));
	}
	struct fb_err err = { 0 };
	TAP_CHECK(fb_hashcache_save(hc, &err) == 0);
	fb_hashcache_free(hc);
	hc = fb_hashcache_open(p);
	char d[72];
	for (ino_t i = 1; i <= 20000; i++) {
		struct stat st = file_st(3, i, (off_t)i, 100);
		if (!fb_hashcache_get(hc, &st, d) || strcmp(d, (i & 1) ? D1 : D2)) {
			fb_hashcache_free(hc);
			return tap_fail("inode %lu lost", (unsigned long)i);
		}
	}
	fb_hashcache_free(hc);
	return 0;
}

/* The file lists its entries in the order the build asked for them (the
 * next build walks the same order and reads the entries in sequence);
 * any other order still finds each one; an unchanged table is not written
 * again. */
static int walk_order(void)
{
	FB_AUTOFREE char *p = cache_path("order");
	struct fb_hashcache *hc = fb_hashcache_open(p);
	enum { N = 300 };
	ino_t inos[N];
	for (int i = 0; i < N; i++) {
		inos[i] = (ino_t)((i * 7919) % 1009 + 1); /* no order a hash keeps */
		struct stat st = file_st(7, inos[i], i + 1, 100);
		TAP_CHECK(fb_hashcache_put(hc, &st, (i & 1) ? D1 : D2));
	}
	struct fb_err err = { 0 };
	TAP_CHECK(fb_hashcache_save(hc, &err) == 0);
	fb_hashcache_free(hc);
	struct fb_buf b = FB_BUF_INIT;
	TAP_CHECK(fb_read_file(p, &b, &err) == 0);
	int k = 0;
	char *save = NULL;
	for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long dev, ino;
		if (sscanf(l, "%lu %lu ", &dev, &ino) != 2)
			continue;
		if (k >= N || ino != (unsigned long)inos[k]) {
			fb_buf_free(&b);
			return tap_fail("line %d names inode %lu, the put order says %lu", k, ino,
					k < N ? (unsigned long)inos[k] : 0ul);
		}
		k++;
	}
	fb_buf_free(&b);
	TAP_CHECK(k == N);
	struct stat before;
	TAP_CHECK(stat(p, &before) == 0);
	/* asked for in order, backwards, and with gaps: all found */
	char d[72];
	for (int pass = 0; pass < 3; pass++) {
		hc = fb_hashcache_open(p);
		for (int j = 0; j < N; j++) {
			int i = pass == 1 ? N - 1 - j : j;
			if (pass == 2 && i % 3 == 1)
				continue;
			struct stat st = file_st(7, inos[i], i + 1, 100);
			if (!fb_hashcache_get(hc, &st, d) || strcmp(d, (i & 1) ? D1 : D2)) {
				fb_hashcache_free(hc);
				return tap_fail("pass %d: inode %lu not found", pass, (unsigned long)inos[i]);
			}
		}
		/* a file the cache has not seen is a miss */
		struct stat other = file_st(7, 5000, 1, 100);
		TAP_CHECK(!fb_hashcache_get(hc, &other, d));
		TAP_CHECK(fb_hashcache_save(hc, &err) == 0);
		fb_hashcache_free(hc);
	}
	/* nothing put: the file is the one written first (its inode) */
	struct stat after;
	TAP_CHECK(stat(p, &after) == 0);
	TAP_CHECK(after.st_ino == before.st_ino);
	return 0;
}

/* a (dev, ino) on two lines of a good file: the last one counts */
static int duplicate_line_last_wins(void)
{
	FB_AUTOFREE char *p = cache_path("dup");
	struct stat dirp = file_st(1, 1, 1, 100);
	TAP_CHECK(save_one(p, &dirp, D1) == 0); /* makes the directory */
	struct stat st = file_st(4, 77, 10, 100);
	struct fb_buf b = FB_BUF_INIT;
	fb_buf_addf(&b, "firebuild-hashcache 1\n");
	for (int i = 0; i < 2; i++)
		fb_buf_addf(&b, "4 77 10 %lld %ld %lld %ld %s\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, (i ? D2 : D1) + 7);
	char d[72];
	fb_sha256_mem(b.data, b.len, d);
	fb_buf_addf(&b, "sum %s\n", fb_digest_hex(d));
	struct fb_err err = { 0 };
	TAP_CHECK(fb_write_file_atomic(p, b.data, b.len, 0600, &err) == 0);
	fb_buf_free(&b);
	struct fb_hashcache *hc = fb_hashcache_open(p);
	TAP_CHECK(fb_hashcache_get(hc, &st, d));
	TAP_STREQ(d, D2);
	fb_hashcache_free(hc);
	return 0;
}

static const struct tap_case cases[] = {
	{ "a digest put is got back, also after a save and a reopen", hit_after_put_and_reopen },
	{ "dev, ino, size, mtime and ctime each make a miss", miss_on_each_field },
	{ "a file changed within the last second is not remembered", recent_change_not_remembered },
	{ "a damaged, torn or linked cache file is ignored", damaged_file_ignored },
	{ "hostile lines are dropped one by one", hostile_lines },
	{ "20000 files survive a save", many_files },
	{ "saved in the order asked for; found in any order; not rewritten unchanged", walk_order },
	{ "a (dev, ino) on two lines: the last counts", duplicate_line_last_wins },
};

int main(void)
{
	int r = tap_run(cases, FB_ARRAY_LEN(cases));
	(void)fb_tree_remove(base);
	return r;
}
