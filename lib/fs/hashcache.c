/* The content hash cache (hashcache.h). The file:
 *   firebuild-hashcache 1
 *   DEV INO SIZE MTIME_S MTIME_NS CTIME_S CTIME_NS HEX64     (a line a file)
 *   sum HEX64                       (sha256 of every byte before this line)
 * read into an open-addressing table on (dev, ino). A file whose first or
 * last line is not that, or whose sum does not match, is ignored whole (a
 * torn or damaged file must not give a wrong digest); a line that does not
 * parse is ignored on its own. */
#include "hashcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "digest.h"
#include "err.h"
#include "file.h"
#include "util.h"

#define MAGIC "firebuild-hashcache 1\n"
/* more than a context can sensibly hold: a larger file is not read */
#define MAX_FILE (256u << 20)

/* 80 bytes: a context of 100k files is 8 MiB of entries at most */
struct hent {
	uint64_t dev, ino, size;
	int64_t ms, cs;
	uint32_t mns, cns;
	unsigned char sum[32]; /* the sha256, raw */
};

/* `used` marks what this build looked at, in the high bit of mns
 * (nanoseconds need 30) */
#define USED 0x80000000u
#define NS(x) ((x) & ~USED)

/* The entries sit in an array in the file's order, which is the order the
 * walk that saved them asked for them (a build puts and saves in walk
 * order): the next build asks in the same order, so the entry after the
 * last one found is tried first (a cursor: reads in sequence, where a
 * hash table's are all over a table larger than the caches). The index,
 * open addressing on (dev, ino) over entry numbers (4 bytes a slot), finds
 * the others, and the cursor follows. */
struct fb_hashcache {
	char *path;
	struct hent *ents;
	size_t n, entcap;
	uint32_t *idx; /* an entry's number + 1; 0: a free slot */
	size_t cap;
	size_t cursor;
	bool dirty;
	unsigned long hits, misses;
};

static size_t slot(const struct fb_hashcache *hc, uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino * 0x9E3779B97F4A7C15ULL) ^ (dev * 0xC2B2AE3D27D4EB4FULL);
	return (size_t)(h ^ (h >> 29)) & (hc->cap - 1);
}

/* an index of at least `want` slots (a power of two), entries placed again */
static void grow(struct fb_hashcache *hc, size_t want)
{
	size_t cap = hc->cap ? hc->cap : 1024;
	while (cap < want)
		cap *= 2;
	free(hc->idx);
	hc->idx = fb_xcalloc(cap, sizeof(*hc->idx));
	hc->cap = cap;
	for (size_t k = 0; k < hc->n; k++) {
		size_t j = slot(hc, hc->ents[k].dev, hc->ents[k].ino);
		while (hc->idx[j])
			j = (j + 1) & (cap - 1);
		hc->idx[j] = (uint32_t)(k + 1);
	}
}

/* The entry for (dev, ino); with add, a new one (zeroed but for the key)
 * when there is none. A pointer into the array: good until the next add. */
static struct hent *lookup(struct fb_hashcache *hc, uint64_t dev, uint64_t ino, bool add)
{
	if (!ino)
		return NULL;
	if (add && (hc->n + 1) * 4 > hc->cap * 3)
		grow(hc, hc->cap * 2);
	if (!hc->cap)
		return NULL;
	for (size_t i = slot(hc, dev, ino);; i = (i + 1) & (hc->cap - 1)) {
		uint32_t v = hc->idx[i];
		if (!v) {
			if (!add || hc->n >= UINT32_MAX - 1)
				return NULL;
			if (hc->n == hc->entcap) {
				hc->entcap = hc->entcap ? hc->entcap * 2 : 1024;
				hc->ents = fb_xrealloc(hc->ents, hc->entcap * sizeof(*hc->ents));
			}
			struct hent *e = &hc->ents[hc->n];
			memset(e, 0, sizeof(*e));
			e->dev = dev;
			e->ino = ino;
			hc->idx[i] = (uint32_t)++hc->n;
			return e;
		}
		struct hent *e = &hc->ents[v - 1];
		if (e->dev == dev && e->ino == ino)
			return e;
	}
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

static bool hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* A decimal number of at most 20 digits ending in a space: no sign, no
 * blank, no leading zero, nothing past UINT64_MAX. */
static bool number(const char **p, uint64_t *v)
{
	const char *s = *p;
	size_t n = 0;
	uint64_t x = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		unsigned d = (unsigned)(s[n] - '0');
		if (n > 19 || x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		n++;
	}
	if (!n || s[n] != ' ' || (n > 1 && s[0] == '0'))
		return false;
	*v = x;
	*p = s + n + 1;
	return true;
}

/* A lower-case hex digit's value plus one; 0 for any other byte (a table:
 * digits and letters come in random order, branches would mispredict). */
static const unsigned char HEXV[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9,
	['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* One line, or false: numbers in range, a 64-digit lower-case hex (checked
 * and decoded in one pass: a cache of a big context is many lines). */
static bool parse_line(const char *l, struct hent *e)
{
	uint64_t v[7];
	const char *p = l;
	for (int i = 0; i < 7; i++)
		if (!number(&p, &v[i]))
			return false;
	if (!v[1] || v[4] > 999999999 || v[6] > 999999999 || v[3] > INT64_MAX || v[5] > INT64_MAX)
		return false;
	*e = (struct hent){ .dev = v[0], .ino = v[1], .size = v[2], .ms = (int64_t)v[3], .mns = (uint32_t)v[4],
			    .cs = (int64_t)v[5], .cns = (uint32_t)v[6] };
	const unsigned char *h = (const unsigned char *)p;
	/* the line ends in a NUL, which is no digit: nothing past it is read */
	for (int i = 0; i < 32; i++) {
		unsigned hi = HEXV[h[2 * i]];
		if (!hi)
			return false;
		unsigned lo = HEXV[h[2 * i + 1]];
		if (!lo)
			return false;
		e->sum[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	return h[64] == '\0';
}

/* The body between the magic and the sum line, when the whole is intact. */
static char *intact_body(struct fb_buf *b)
{
	size_t m = strlen(MAGIC);
	if (b->len < m + 70 || memcmp(b->data, MAGIC, m) || b->data[b->len - 1] != '\n' ||
	    memchr(b->data, '\0', b->len))
		return NULL;
	b->data[b->len - 1] = '\0';
	char *last = strrchr(b->data, '\n') + 1; /* the magic ends in one */
	if (strncmp(last, "sum ", 4) || !hex64(last + 4))
		return NULL;
	char d[72];
	fb_sha256_mem(b->data, (size_t)(last - b->data), d);
	if (strcmp(fb_digest_hex(d), last + 4))
		return NULL;
	last[0] = '\0';
	return b->data + m;
}

struct fb_hashcache *fb_hashcache_open(const char *path)
{
	struct fb_hashcache *hc = fb_xcalloc(1, sizeof(*hc));
	hc->path = fb_xstrdup(path);
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err ignore = { 0 };
	FB_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *body = fd >= 0 && fb_read_fd_max(fd, &b, MAX_FILE, &ignore) == 0 ? intact_body(&b) : NULL;
	if (body) {
		/* room for every line at once: no growing while loading */
		size_t lines = 0;
		for (const char *q = body; (q = strchr(q, '\n')); q++)
			lines++;
		grow(hc, (lines + 1) * 4 / 3 + 1);
		hc->entcap = lines + 1;
		hc->ents = fb_xmalloc(hc->entcap * sizeof(*hc->ents));
		char *save = NULL;
		for (char *l = strtok_r(body, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			struct hent e;
			if (!parse_line(l, &e))
				continue;
			/* a (dev, ino) twice: the last line wins */
			*lookup(hc, e.dev, e.ino, true) = e;
		}
	}
	fb_buf_free(&b);
	return hc;
}

bool fb_hashcache_get(struct fb_hashcache *hc, const struct stat *st, char digest[72])
{
	uint64_t dev = (uint64_t)st->st_dev, ino = (uint64_t)st->st_ino;
	struct hent *e = NULL;
	if (hc->cursor < hc->n && hc->ents[hc->cursor].ino == ino && hc->ents[hc->cursor].dev == dev && ino)
		e = &hc->ents[hc->cursor];
	else
		e = lookup(hc, dev, ino, false);
	if (e)
		hc->cursor = (size_t)(e - hc->ents) + 1;
	if (!e || e->size != (uint64_t)st->st_size || e->ms != st->st_mtim.tv_sec ||
	    NS(e->mns) != (uint64_t)st->st_mtim.tv_nsec || e->cs != st->st_ctim.tv_sec ||
	    e->cns != (uint64_t)st->st_ctim.tv_nsec) {
		hc->misses++;
		return false;
	}
	e->mns |= USED;
	hc->hits++;
	static const char x[] = "0123456789abcdef";
	memcpy(digest, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		digest[7 + 2 * i] = x[e->sum[i] >> 4];
		digest[8 + 2 * i] = x[e->sum[i] & 15];
	}
	digest[71] = '\0';
	return true;
}

bool fb_hashcache_put(struct fb_hashcache *hc, const struct stat *st, const char *digest)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/* changed within the last second (or in the future): a write in the
	 * same clock tick as the hash could leave these very times (a file
	 * system may keep whole seconds), so nothing is remembered */
	if (!fb_digest_valid(digest) || strncmp(digest, "sha256:", 7) || st->st_ctim.tv_sec >= now.tv_sec - 1 ||
	    st->st_mtim.tv_sec >= now.tv_sec - 1 || st->st_size < 0 || !st->st_ino)
		return false;
	struct hent *e = lookup(hc, (uint64_t)st->st_dev, (uint64_t)st->st_ino, true);
	e->size = (uint64_t)st->st_size;
	e->ms = st->st_mtim.tv_sec;
	e->mns = (uint32_t)st->st_mtim.tv_nsec | USED;
	e->cs = st->st_ctim.tv_sec;
	e->cns = (uint32_t)st->st_ctim.tv_nsec;
	const char *h = fb_digest_hex(digest);
	for (int i = 0; i < 32; i++)
		e->sum[i] = (unsigned char)(unhex(h[2 * i]) << 4 | unhex(h[2 * i + 1]));
	hc->dirty = true;
	return true;
}

void fb_hashcache_counts(const struct fb_hashcache *hc, unsigned long *hits, unsigned long *misses)
{
	*hits = hc->hits;
	*misses = hc->misses;
}

int fb_hashcache_save(struct fb_hashcache *hc, struct fb_err *err)
{
	if (!hc->dirty) {
		/* used: fb-tag gc keeps what builds use lately */
		if (hc->hits)
			utimensat(AT_FDCWD, hc->path, NULL, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	size_t used = 0;
	for (size_t i = 0; i < hc->n; i++)
		used += (hc->ents[i].mns & USED) != 0;
	/* files gone from the context leave entries behind: they go once
	 * they outnumber what this build used */
	bool keep_unused = hc->n - used <= used + 10000;
	struct fb_buf b = FB_BUF_INIT;
	fb_buf_add(&b, MAGIC, strlen(MAGIC));
	/* in the array's order: the order this build's walk asked in */
	for (size_t i = 0; i < hc->n; i++) {
		const struct hent *e = &hc->ents[i];
		if ((e->mns & USED) || keep_unused) {
			fb_buf_addf(&b, "%llu %llu %llu %lld %u %lld %u ", (unsigned long long)e->dev,
				    (unsigned long long)e->ino, (unsigned long long)e->size, (long long)e->ms, NS(e->mns),
				    (long long)e->cs, e->cns);
			static const char x[] = "0123456789abcdef";
			char hex[65];
			for (int k = 0; k < 32; k++) {
				hex[2 * k] = x[e->sum[k] >> 4];
				hex[2 * k + 1] = x[e->sum[k] & 15];
			}
			hex[64] = '\n';
			fb_buf_add(&b, hex, 65);
		}
	}
	char d[72];
	fb_sha256_mem(b.data, b.len, d);
	fb_buf_addf(&b, "sum %s\n", fb_digest_hex(d));
	int r = 0;
	char *dir = fb_xstrdup(hc->path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		r = fb_mkdir_p(dir, 0700, err);
	}
	free(dir);
	if (r == 0)
		r = fb_write_file_atomic(hc->path, b.data, b.len, 0600, err);
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
	free(hc->ents);
	free(hc->idx);
	free(hc);
}
