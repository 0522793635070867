/* lib/image/unpack: a layer opened ahead of the one read spills past its
 * queue into an unnamed file and reads back the same bytes in order;
 * layers take turns through a gate (the second waits while the first
 * decompresses on the only core); a layer freed while waiting its turn
 * does not hang; no spill directory means waiting, as before. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "tap.h"
#include "unpack.h"
#include "util.h"

static char base[] = "/tmp/fb-test-unpack-XXXXXX";
#define BIG (12u << 20)

/* the bytes of file `seed`: xorshift, not compressible */
static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

/* a gzip'd tar of one file "f" of `size` bytes */
static char *make_layer(const char *name, uint64_t seed, size_t size)
{
	static int made;
	if (!made && !mkdtemp(base))
		return NULL;
	made = 1;
	char *path = fb_xasprintf("%s/%s", base, name);
	struct archive *a = archive_write_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		return NULL;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "f");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_write_header(a, e);
	unsigned char *buf = fb_xmalloc(size);
	fill(buf, size, seed);
	archive_write_data(a, buf, size);
	free(buf);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return path;
}

/* the layer's file has the bytes of `seed` */
static int check_layer(struct archive *a, uint64_t seed, size_t size)
{
	struct archive_entry *e;
	TAP_CHECK(archive_read_next_header(a, &e) == ARCHIVE_OK);
	TAP_STREQ(archive_entry_pathname(e), "f");
	unsigned char *want = fb_xmalloc(size), *got = fb_xmalloc(size + 1);
	fill(want, size, seed);
	size_t n = 0;
	la_ssize_t r;
	while ((r = archive_read_data(a, got + n, size + 1 - n)) > 0)
		n += (size_t)r;
	int ok = r == 0 && n == size && memcmp(want, got, size) == 0;
	free(want);
	free(got);
	TAP_CHECK(ok);
	TAP_CHECK(archive_read_next_header(a, &e) == ARCHIVE_EOF);
	return 0;
}

/* until the producer has finished (bounded: a minute) */
static bool wait_done(struct fb_unpack *u)
{
	for (int i = 0; i < 6000; i++) {
		uint64_t p, s;
		bool done;
		fb_unpack_stats(u, &p, &s, &done);
		if (done)
			return true;
		usleep(10000);
	}
	return false;
}

static int spills_and_reads_back(void)
{
	char *path = make_layer("a.tar.gz", 1, BIG);
	TAP_CHECK(path);
	int fd = open(path, O_RDONLY);
	struct fb_unpack *u;
	struct archive *a;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_unpack_start(fd, "a", &(struct fb_unpack_ahead){ .chunks = 2, .spill_dir = base }, &u,
				       &err) == 0);
	/* nothing read: all but the queue's 2 MiB must be in the spill file */
	TAP_CHECK(wait_done(u));
	uint64_t p, s;
	bool done;
	fb_unpack_stats(u, &p, &s, &done);
	TAP_CHECK(p > BIG && s >= p - (2u << 20));
	TAP_CHECK(fb_unpack_reader(u, "a", &a, &err) == 0);
	int r = check_layer(a, 1, BIG);
	fb_unpack_free(u);
	close(fd);
	free(path);
	return r;
}

static int gate_takes_turns(void)
{
	char *pa = make_layer("b.tar.gz", 2, BIG), *pb = make_layer("c.tar.gz", 3, BIG);
	TAP_CHECK(pa && pb);
	int fa = open(pa, O_RDONLY), fb = open(pb, O_RDONLY);
	struct fb_unpack_gate *g = fb_unpack_gate_new(1);
	struct fb_unpack *ua, *ub;
	struct archive *aa, *ab;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_unpack_start(fa, "b", &(struct fb_unpack_ahead){ .chunks = 2, .gate = g }, &ua, &err) == 0);
	TAP_CHECK(fb_unpack_start(fb, "c", &(struct fb_unpack_ahead){ .chunks = 2, .spill_dir = base, .gate = g }, &ub, &err) == 0);
	/* the first holds the only turn (its queue is full, nobody reads
	 * it): the second has not decompressed a byte */
	uint64_t pa_n = 0, p, s;
	bool done;
	for (int i = 0; i < 6000 && pa_n < (2u << 20); i++) {
		fb_unpack_stats(ua, &pa_n, &s, &done);
		usleep(10000);
	}
	TAP_CHECK(pa_n >= (2u << 20));
	fb_unpack_stats(ub, &p, &s, &done);
	TAP_CHECK(p == 0 && !done);
	TAP_CHECK(fb_unpack_reader(ua, "b", &aa, &err) == 0);
	int r = check_layer(aa, 2, BIG);
	if (r == 0) {
		/* the turn passed on: the second spills while unread */
		TAP_CHECK(wait_done(ub));
		fb_unpack_stats(ub, &p, &s, &done);
		TAP_CHECK(s > 0);
		TAP_CHECK(fb_unpack_reader(ub, "c", &ab, &err) == 0);
		r = check_layer(ab, 3, BIG);
	}
	fb_unpack_free(ua);
	fb_unpack_free(ub);
	fb_unpack_gate_free(g);
	close(fa);
	close(fb);
	free(pa);
	free(pb);
	return r;
}

static int freed_while_waiting(void)
{
	char *pa = make_layer("d.tar.gz", 4, BIG), *pb = make_layer("e.tar.gz", 5, BIG);
	TAP_CHECK(pa && pb);
	int fa = open(pa, O_RDONLY), fb = open(pb, O_RDONLY);
	struct fb_unpack_gate *g = fb_unpack_gate_new(1);
	struct fb_unpack *ua, *ub;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_unpack_start(fa, "d", &(struct fb_unpack_ahead){ .chunks = 2, .gate = g }, &ua, &err) == 0);
	TAP_CHECK(fb_unpack_start(fb, "e", &(struct fb_unpack_ahead){ .chunks = 2, .spill_dir = base, .gate = g }, &ub, &err) == 0);
	/* the waiting one first, then the one holding the turn */
	fb_unpack_free(ub);
	fb_unpack_free(ua);
	fb_unpack_gate_free(g);
	close(fa);
	close(fb);
	free(pa);
	free(pb);
	return 0;
}

static int no_spill_dir_waits(void)
{
	char *path = make_layer("f.tar.gz", 6, BIG);
	TAP_CHECK(path);
	int fd = open(path, O_RDONLY);
	struct fb_unpack *u;
	struct archive *a;
	struct fb_err err = { 0 };
	/* a directory that refuses the unnamed file: the queue waits */
	TAP_CHECK(fb_unpack_start(fd, "f", &(struct fb_unpack_ahead){ .chunks = 2, .spill_dir = "/nonexistent/dir" }, &u, &err) == 0);
	uint64_t p = 0, s;
	bool done;
	for (int i = 0; i < 6000 && p < (2u << 20); i++) {
		fb_unpack_stats(u, &p, &s, &done);
		usleep(10000);
	}
	usleep(100000);
	fb_unpack_stats(u, &p, &s, &done);
	TAP_CHECK(s == 0 && !done && p <= (3u << 20));
	TAP_CHECK(fb_unpack_reader(u, "f", &a, &err) == 0);
	int r = check_layer(a, 6, BIG);
	fb_unpack_free(u);
	close(fd);
	free(path);
	return r;
}

static int cleanup(void)
{
	char *cmd = fb_xasprintf("rm -rf %s", base);
	int r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : 1;
}

static const struct tap_case cases[] = {
	{ "a layer ahead spills past its queue and reads back the same bytes", spills_and_reads_back },
	{ "a gate of one: the second layer waits its turn, then spills unread", gate_takes_turns },
	{ "a layer freed while waiting its turn does not hang", freed_while_waiting },
	{ "no spill directory: the producer waits on its queue, as before", no_spill_dir_waits },
	{ "cleanup", cleanup },
};
TAP_MAIN(cases)
