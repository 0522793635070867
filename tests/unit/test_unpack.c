/* lib/unpack's memory: the 1 MiB buffers a layer holds are bounded by its
 * cap (queue + the producer's + the reader's), not by the layer's size,
 * and a layer that decompressed ahead gives back what it queued beyond a
 * lowered cap as it is read (bench/convert-large measures the whole). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "tap.h"
#include "unpack.h"

#define MIB (1u << 20)

/* A tar with one file of `mib` MiB (zeros) written to fd, gzip or plain. */
static int write_tar(int fd, unsigned mib, int gzip)
{
	struct archive *w = archive_write_new();
	archive_write_set_format_pax_restricted(w);
	if (gzip)
		archive_write_add_filter_gzip(w);
	archive_write_set_bytes_in_last_block(w, 1);
	int ok = archive_write_open_fd(w, fd) == ARCHIVE_OK;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "big");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)mib * MIB);
	ok = ok && archive_write_header(w, e) == ARCHIVE_OK;
	char *zero = calloc(1, MIB);
	for (unsigned i = 0; ok && i < mib; i++)
		ok = archive_write_data(w, zero, MIB) == (la_ssize_t)MIB;
	free(zero);
	archive_entry_free(e);
	ok = archive_write_close(w) == ARCHIVE_OK && ok;
	archive_write_free(w);
	return ok ? 0 : -1;
}

/* A gzip'd layer in a temporary file (unlinked), open for reading. */
static int gzip_layer(unsigned mib)
{
	char path[] = "/tmp/test_unpack-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	if (write_tar(fd, mib, 1) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct writer {
	int fd;
	unsigned mib;
	int rc;
};

static void *write_thread(void *arg)
{
	struct writer *w = arg;
	w->rc = write_tar(w->fd, w->mib, 0);
	close(w->fd);
	return NULL;
}

/* Read the one file's data; after `check_at` MiB, *at_check gets the
 * buffers the layer holds then. */
static int read_all(struct fb_unpack *u, struct archive *a, uint64_t *bytes, unsigned check_at, size_t *at_check)
{
	struct archive_entry *ae;
	if (archive_read_next_header(a, &ae) != ARCHIVE_OK)
		return -1;
	*bytes = 0;
	for (;;) {
		const void *p;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(a, &p, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return -1;
		uint64_t before = *bytes;
		*bytes += len;
		if (at_check && before < (uint64_t)check_at * MIB && *bytes >= (uint64_t)check_at * MIB)
			*at_check = fb_unpack_buffers(u, NULL);
	}
	return archive_read_next_header(a, &ae) == ARCHIVE_EOF ? 0 : -1;
}

/* a layer and its reader, the queue `chunks` MiB */
static int open_ahead(int fd, unsigned chunks, struct fb_unpack **u, struct archive **a, struct fb_err *err)
{
	if (fb_unpack_start(fd, "L", &(struct fb_unpack_ahead){ .chunks = chunks }, u, err) < 0)
		return -1;
	if (fb_unpack_reader(*u, "L", a, err) < 0) {
		fb_unpack_free(*u);
		return -1;
	}
	return 0;
}

/* gzip: 128 MiB through a cap of 8 never holds more than 10 buffers. */
static int test_gzip_bounded(void)
{
	int fd = gzip_layer(128);
	TAP_CHECK(fd >= 0);
	struct fb_err err = { 0 };
	struct fb_unpack *u;
	struct archive *a;
	TAP_CHECK(open_ahead(fd, 8, &u, &a, &err) == 0);
	uint64_t bytes = 0;
	int r = read_all(u, a, &bytes, 0, NULL);
	size_t peak = 0;
	fb_unpack_buffers(u, &peak);
	fb_unpack_free(u);
	close(fd);
	TAP_CHECK(r == 0);
	TAP_CHECK(bytes == 128ull * MIB);
	if (peak > 8 + 2)
		return tap_fail("128 MiB read with a cap of 8: %zu buffers at once", peak);
	TAP_CHECK(peak >= 2);
	return 0;
}

/* plain, from a pipe (the other producer): 96 MiB, cap 4, at most 6. */
static int test_plain_bounded(void)
{
	int p[2];
	TAP_CHECK(pipe(p) == 0);
	struct writer w = { p[1], 96, -1 };
	pthread_t t;
	TAP_CHECK(pthread_create(&t, NULL, write_thread, &w) == 0);
	struct fb_err err = { 0 };
	struct fb_unpack *u;
	struct archive *a;
	int r = open_ahead(p[0], 4, &u, &a, &err);
	uint64_t bytes = 0;
	size_t peak = 0;
	if (r == 0) {
		r = read_all(u, a, &bytes, 0, NULL);
		fb_unpack_buffers(u, &peak);
		fb_unpack_free(u);
	}
	close(p[0]);
	pthread_join(t, NULL);
	TAP_CHECK(r == 0 && w.rc == 0);
	TAP_CHECK(bytes == 96ull * MIB);
	if (peak > 4 + 2)
		return tap_fail("96 MiB read with a cap of 4: %zu buffers at once", peak);
	return 0;
}

/* A layer that filled a queue of 32 while waiting its turn, then read with
 * a cap of 4: once the reader is past what was queued, it holds 6 at most
 * (the buffers above the cap were freed, not kept as spares). */
static int test_lowered_cap_gives_back(void)
{
	int fd = gzip_layer(96);
	TAP_CHECK(fd >= 0);
	struct fb_err err = { 0 };
	struct fb_unpack *u;
	struct archive *a;
	TAP_CHECK(open_ahead(fd, 32, &u, &a, &err) == 0);
	/* the producer fills its queue (a wait for that, not for a time) */
	size_t held = 0;
	for (int i = 0; i < 60000 && (held = fb_unpack_buffers(u, NULL)) < 32; i++)
		usleep(1000);
	size_t before = held;
	fb_unpack_set_ahead(u, 4);
	uint64_t bytes = 0;
	size_t at_check = 0;
	int r = read_all(u, a, &bytes, 64, &at_check);
	size_t peak = 0, end = fb_unpack_buffers(u, &peak);
	fb_unpack_free(u);
	close(fd);
	TAP_CHECK(r == 0);
	TAP_CHECK(bytes == 96ull * MIB);
	if (before < 32)
		return tap_fail("the producer queued %zu buffers, not 32", before);
	if (at_check > 4 + 2 || end > 4 + 2)
		return tap_fail("cap lowered from 32 to 4: %zu buffers after 64 MiB read, %zu at the end (peak %zu)",
				at_check, end, peak);
	return 0;
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "gzip: the buffers stay within the cap whatever the layer's size", test_gzip_bounded },
		{ "plain (a pipe): the buffers stay within the cap", test_plain_bounded },
		{ "a layer decompressed ahead gives back what it queued above a lowered cap", test_lowered_cap_gives_back },
	};
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
