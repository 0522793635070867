/* The content hash cache (hashcache.h). The file holds one line a file:
 *   DEV INO SIZE MTIME_S MTIME_NS CTIME_S CTIME_NS HEX64
 * read into an open-addressing table on (dev, ino). */
#include "hashcache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "err.h"
#include "file.h"
#include "util.h"

struct hent {
	uint64_t dev, ino, size;
	int64_t ms, mns, cs, cns;
	char hex[65];
	bool used, live;
};

struct fb_hashcache {
	char *path;
	struct hent *tab;
	size_t cap, n;
	bool dirty;
	unsigned long hits, misses;
};

static size_t slot(const struct fb_hashcache *hc, uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino * 0x9E3779B97F4A7C15ULL) ^ (dev * 0xC2B2AE3D27D4EB4FULL);
	return (size_t)(h ^ (h >> 29)) & (hc->cap - 1);
}

static struct hent *lookup(struct fb_hashcache *hc, uint64_t dev, uint64_t ino, bool add)
{
	if (add && (hc->n + 1) * 2 > hc->cap) {
		struct fb_hashcache big = { .cap = hc->cap ? hc->cap * 2 : 4096 };
		big.tab = fb_xcalloc(big.cap, sizeof(*big.tab));
		for (size_t i = 0; i < hc->cap; i++) {
			if (!hc->tab[i].live)
				continue;
			size_t j = slot(&big, hc->tab[i].dev, hc->tab[i].ino);
			while (big.tab[j].live)
				j = (j + 1) & (big.cap - 1);
			big.tab[j] = hc->tab[i];
		}
		free(hc->tab);
		hc->tab = big.tab;
		hc->cap = big.cap;
	}
	if (!hc->cap)
		return NULL;
	for (size_t i = slot(hc, dev, ino);; i = (i + 1) & (hc->cap - 1)) {
		struct hent *e = &hc->tab[i];
		if (!e->live) {
			if (!add)
				return NULL;
			memset(e, 0, sizeof(*e));
			e->live = true;
			e->dev = dev;
			e->ino = ino;
			hc->n++;
			return e;
		}
		if (e->dev == dev && e->ino == ino)
			return e;
	}
}

static bool hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One line, or false: numbers in range, a 64-digit lower-case hex. */
static bool parse_line(char *l, struct hent *e)
{
	uint64_t v[7];
	char *p = l;
	for (int i = 0; i < 7; i++) {
		char *end;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno || end == p || *end != ' ')
			return false;
		p = end + 1;
	}
	if (strlen(p) != 64 || !hex64(p) || v[4] > 999999999 || v[6] > 999999999 || v[3] > INT64_MAX ||
	    v[5] > INT64_MAX)
		return false;
	*e = (struct hent){ v[0], v[1], v[2], (int64_t)v[3], (int64_t)v[4], (int64_t)v[5], (int64_t)v[6], "", false, true };
	memcpy(e->hex, p, 65);
	return true;
}

struct fb_hashcache *fb_hashcache_open(const char *path)
{
	struct fb_hashcache *hc = fb_xcalloc(1, sizeof(*hc));
	hc->path = fb_xstrdup(path);
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err ignore = { 0 };
	if (fb_read_file(path, &b, &ignore) == 0 && b.len) {
		char *save = NULL;
		for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			struct hent e;
			if (!parse_line(l, &e))
				continue;
			struct hent *d = lookup(hc, e.dev, e.ino, true);
			*d = e;
		}
	}
	fb_buf_free(&b);
	return hc;
}

bool fb_hashcache_get(struct fb_hashcache *hc, const struct stat *st, char digest[72])
{
	struct hent *e = lookup(hc, (uint64_t)st->st_dev, (uint64_t)st->st_ino, false);
	if (!e || e->size != (uint64_t)st->st_size || e->ms != st->st_mtim.tv_sec || e->mns != st->st_mtim.tv_nsec ||
	    e->cs != st->st_ctim.tv_sec || e->cns != st->st_ctim.tv_nsec) {
		hc->misses++;
		return false;
	}
	e->used = true;
	hc->hits++;
	snprintf(digest, 72, "sha256:%s", e->hex);
	return true;
}

void fb_hashcache_put(struct fb_hashcache *hc, const struct stat *st, const char *digest)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/* changed within the last second (or in the future): the next write
	 * could keep these very times, so nothing is remembered */
	if (!fb_digest_valid(digest) || st->st_ctim.tv_sec >= now.tv_sec - 1 || st->st_mtim.tv_sec >= now.tv_sec - 1)
		return;
	struct hent *e = lookup(hc, (uint64_t)st->st_dev, (uint64_t)st->st_ino, true);
	e->size = (uint64_t)st->st_size;
	e->ms = st->st_mtim.tv_sec;
	e->mns = st->st_mtim.tv_nsec;
	e->cs = st->st_ctim.tv_sec;
	e->cns = st->st_ctim.tv_nsec;
	memcpy(e->hex, fb_digest_hex(digest), 65);
	e->used = true;
	hc->dirty = true;
}

void fb_hashcache_counts(const struct fb_hashcache *hc, unsigned long *hits, unsigned long *misses)
{
	*hits = hc->hits;
	*misses = hc->misses;
}

int fb_hashcache_save(struct fb_hashcache *hc, struct fb_err *err)
{
	if (!hc->dirty)
		return 0;
	size_t used = 0;
	for (size_t i = 0; i < hc->cap; i++)
		used += hc->tab[i].live && hc->tab[i].used;
	/* files gone from the context leave entries behind: they go once
	 * they outnumber what this build used */
	bool keep_unused = hc->n - used <= used + 10000;
	struct fb_buf b = FB_BUF_INIT;
	for (size_t i = 0; i < hc->cap; i++) {
		const struct hent *e = &hc->tab[i];
		if (e->live && (e->used || keep_unused))
			fb_buf_addf(&b, "%llu %llu %llu %lld %lld %lld %lld %s\n", (unsigned long long)e->dev,
				    (unsigned long long)e->ino, (unsigned long long)e->size, (long long)e->ms, (long long)e->mns,
				    (long long)e->cs, (long long)e->cns, e->hex);
	}
	int r = 0;
	char *dir = fb_xstrdup(hc->path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		r = fb_mkdir_p(dir, 0755, err);
	}
	free(dir);
	if (r == 0)
		r = fb_write_file_atomic(hc->path, b.data ? b.data : "", b.len, 0644, err);
	fb_buf_free(&b);
	if (r == 0)
		hc->dirty = false;
	return r;
}

void fb_hashcache_free(struct fb_hashcache *hc)
{
	if (!hc)
		return;
	free(hc->path);
	free(hc->tab);
	free(hc);
}
