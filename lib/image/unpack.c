#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "follow.h"
#include "util.h"

#define CHUNK (1u << 20)
#define QUEUE_MAX 128

struct chunk {
	char *data;
	size_t len;
};

struct fb_unpack {
	int fd;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk q[QUEUE_MAX]; /* ring of filled chunks */
	size_t head, count, cap;
	char *spare[QUEUE_MAX + 2]; /* buffers free for the producer */
	size_t nspare;
	bool eof, stop;
	char error[512];
	char *held; /* the chunk the consumer is reading */
	struct archive *reader;
	/* the input side: fd, or a layer still downloading (follow.h) */
	struct fb_follow *follow;
	char src_err[512];
	char *src_buf; /* libarchive's read callback's buffer */
};

/* The compressed bytes, from whichever input: > 0, 0 at the end, -1 with
 * u->src_err said. */
static ssize_t src_read(struct fb_unpack *u, void *buf, size_t n)
{
	if (u->follow) {
		struct fb_err e = { 0 };
		ssize_t r = fb_follow_read(u->follow, buf, n, &e);
		if (r < 0) {
			/* the consumer's message names the layer already */
			const char *m = e.msg, *c = strstr(m, ": ");
			if (!strncmp(m, "layer ", 6) && c)
				m = c + 2;
			snprintf(u->src_err, sizeof(u->src_err), "%.500s", m);
		}
		return r;
	}
	for (;;) {
		ssize_t r = read(u->fd, buf, n);
		if (r >= 0 || errno != EINTR) {
			if (r < 0)
				snprintf(u->src_err, sizeof(u->src_err), "read: %s", strerror(errno));
			return r;
		}
	}
}

/* The first bytes, to tell the format: n, or less. */
static ssize_t src_peek(struct fb_unpack *u, void *buf, size_t n)
{
	if (u->follow) {
		struct fb_err e = { 0 };
		return n <= fb_follow_size(u->follow) && fb_follow_head(u->follow, buf, n, &e) == 0 ? (ssize_t)n : 0;
	}
	return pread(u->fd, buf, n, 0);
}

static la_ssize_t src_archive_read(struct archive *a, void *client, const void **buf)
{
	struct fb_unpack *u = client;
	ssize_t n = src_read(u, u->src_buf, CHUNK);
	if (n < 0)
		archive_set_error(a, EIO, "%s", u->src_err);
	*buf = u->src_buf;
	return n;
}

static char *get_spare(struct fb_unpack *u)
{
	/* called locked */
	return u->nspare ? u->spare[--u->nspare] : fb_xmalloc(CHUNK);
}

/* Hand a filled chunk to the consumer; waits while the queue is full.
 * Returns a fresh buffer, or NULL when asked to stop. */
static char *push_chunk(struct fb_unpack *u, char *buf, size_t fill, bool want_next)
{
	pthread_mutex_lock(&u->mu);
	if (buf && fill) {
		u->q[(u->head + u->count) % QUEUE_MAX] = (struct chunk){ buf, fill };
		u->count++;
		pthread_cond_broadcast(&u->cv);
	} else if (buf) {
		u->spare[u->nspare++] = buf;
	}
	char *next = NULL;
	if (want_next) {
		while (u->count == u->cap && !u->stop)
			pthread_cond_wait(&u->cv, &u->mu);
		next = u->stop ? NULL : get_spare(u);
	}
	pthread_mutex_unlock(&u->mu);
	return next;
}

/* gzip with ISA-L's igzip: several times zlib's speed, checksums checked,
 * concatenated members followed. */
static void produce_gzip(struct fb_unpack *u, char *err, size_t errlen)
{
	struct inflate_state *st = fb_xmalloc(sizeof(*st));
	unsigned char *in = fb_xmalloc(CHUNK);
	isal_inflate_init(st);
	st->crc_flag = ISAL_GZIP;
	st->avail_in = 0;
	char *out = push_chunk(u, NULL, 0, true);
	size_t fill = 0;
	bool eof = false;
	while (out) {
		if (st->avail_in == 0 && !eof) {
			ssize_t n = src_read(u, in, CHUNK);
			if (n < 0) {
				snprintf(err, errlen, "%s", u->src_err);
				break;
			}
			eof = n == 0;
			st->next_in = in;
			st->avail_in = (uint32_t)n;
		}
		st->next_out = (uint8_t *)out + fill;
		st->avail_out = (uint32_t)(CHUNK - fill);
		int r = isal_inflate(st);
		if (r < 0) {
			snprintf(err, errlen, "gzip: corrupt data (igzip error %d)", r);
			break;
		}
		fill = CHUNK - st->avail_out;
		if (st->block_state == ISAL_BLOCK_FINISH) {
			/* another member may follow (pigz, concatenated streams) */
			if (st->avail_in == 0 && !eof) {
				ssize_t n = src_read(u, in, CHUNK);
				if (n > 0) {
					st->next_in = in;
					st->avail_in = (uint32_t)n;
				} else {
					eof = true;
				}
			}
			if (st->avail_in >= 2 && st->next_in[0] == 0x1f && st->next_in[1] == 0x8b) {
				uint8_t *ni = st->next_in;
				uint32_t ai = st->avail_in;
				isal_inflate_reset(st);
				st->crc_flag = ISAL_GZIP;
				st->next_in = ni;
				st->avail_in = ai;
			} else {
				break; /* done (trailing padding is ignored, as gzip does) */
			}
		} else if (eof && st->avail_in == 0 && fill < CHUNK) {
			snprintf(err, errlen, "gzip: unexpected end of data");
			break;
		}
		if (fill == CHUNK) {
			out = push_chunk(u, out, fill, true);
			fill = 0;
		}
	}
	if (out)
		push_chunk(u, out, fill, false);
	free(st);
	free(in);
}

static void *producer(void *arg)
{
	struct fb_unpack *u = arg;
	char err[512] = "";
	unsigned char magic[2] = { 0 };
	if (src_peek(u, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		produce_gzip(u, err, sizeof(err));
		goto done;
	}
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	u->src_buf = fb_xmalloc(CHUNK);
	if (archive_read_open(a, u, NULL, src_archive_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		snprintf(err, sizeof(err), "%s", archive_error_string(a) ? archive_error_string(a) : "unreadable");
	} else {
		for (;;) {
			pthread_mutex_lock(&u->mu);
			while (u->count == u->cap && !u->stop)
				pthread_cond_wait(&u->cv, &u->mu);
			bool stop = u->stop;
			char *buf = stop ? NULL : get_spare(u);
			pthread_mutex_unlock(&u->mu);
			if (stop)
				break;
			size_t fill = 0;
			la_ssize_t n = 0;
			while (fill < CHUNK && (n = archive_read_data(a, buf + fill, CHUNK - fill)) > 0)
				fill += (size_t)n;
			if (n < 0)
				snprintf(err, sizeof(err), "%s", archive_error_string(a) ? archive_error_string(a) : "read error");
			pthread_mutex_lock(&u->mu);
			if (fill) {
				u->q[(u->head + u->count) % QUEUE_MAX] = (struct chunk){ buf, fill };
				u->count++;
			} else {
				u->spare[u->nspare++] = buf;
			}
			pthread_cond_broadcast(&u->cv);
			pthread_mutex_unlock(&u->mu);
			if (n <= 0)
				break;
		}
	}
	archive_read_free(a);
done:
	pthread_mutex_lock(&u->mu);
	if (err[0])
		snprintf(u->error, sizeof(u->error), "%s", err);
	u->eof = true;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

static la_ssize_t consumer_read(struct archive *a, void *client, const void **buf)
{
	struct fb_unpack *u = client;
	pthread_mutex_lock(&u->mu);
	if (u->held) {
		u->spare[u->nspare++] = u->held;
		u->held = NULL;
		pthread_cond_broadcast(&u->cv);
	}
	while (!u->count && !u->eof)
		pthread_cond_wait(&u->cv, &u->mu);
	la_ssize_t r;
	if (u->count) {
		struct chunk c = u->q[u->head];
		u->head = (u->head + 1) % QUEUE_MAX;
		u->count--;
		u->held = c.data;
		*buf = c.data;
		r = (la_ssize_t)c.len;
		pthread_cond_broadcast(&u->cv);
	} else if (u->error[0]) {
		archive_set_error(a, EIO, "%s", u->error);
		r = -1;
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&u->mu);
	return r;
}

int fb_unpack_open(int fd, const char *name, struct fb_unpack **out, struct archive **ar, struct fb_err *err)
{
	return fb_unpack_open_ahead(fd, name, 24, out, ar, err);
}

static int open_src(int fd, struct fb_follow *follow, const char *name, unsigned chunks, struct fb_unpack **out,
		    struct archive **ar, struct fb_err *err);

int fb_unpack_open_ahead(int fd, const char *name, unsigned chunks, struct fb_unpack **out, struct archive **ar,
			 struct fb_err *err)
{
	return open_src(fd, NULL, name, chunks, out, ar, err);
}

int fb_unpack_open_follow(struct fb_follow *f, const char *name, unsigned chunks, struct fb_unpack **out,
			  struct archive **ar, struct fb_err *err)
{
	return open_src(-1, f, name, chunks, out, ar, err);
}

static int open_src(int fd, struct fb_follow *follow, const char *name, unsigned chunks, struct fb_unpack **out,
		    struct archive **ar, struct fb_err *err)
{
	struct fb_unpack *u = fb_xcalloc(1, sizeof(*u));
	u->fd = fd;
	u->follow = follow;
	u->cap = chunks < 2 ? 2 : chunks > QUEUE_MAX ? QUEUE_MAX : chunks;
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	if (pthread_create(&u->thread, NULL, producer, u) != 0) {
		free(u);
		return fb_err_set(err, FB_EXIT_FAILED, "thread", "layer %s: cannot start a thread", name);
	}
	u->started = true;
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open(a, u, NULL, consumer_read, NULL) != ARCHIVE_OK) {
		fb_err_set(err, FB_EXIT_USAGE, "layer", "layer %s: %s", name, archive_error_string(a));
		archive_read_free(a);
		fb_unpack_free(u);
		return -1;
	}
	u->reader = a;
	*out = u;
	*ar = a;
	return 0;
}

int fb_unpack_each(struct archive *a, const char *name, fb_entry_fn fn, void *ctx, struct fb_err *err)
{
	for (;;) {
		struct archive_entry *ae;
		int ar = archive_read_next_header(a, &ae);
		if (ar == ARCHIVE_EOF)
			return 0;
		if (ar < ARCHIVE_WARN)
			return fb_err_set(err, FB_EXIT_USAGE, "layer", "layer %s: %s", name, archive_error_string(a));
		if (fn(ctx, a, ae, err) < 0)
			return -1;
	}
}

void fb_unpack_free(struct fb_unpack *u)
{
	if (!u)
		return;
	if (u->reader)
		archive_read_free(u->reader);
	if (u->started) {
		if (u->follow)
			fb_follow_cancel(u->follow); /* a read waiting for the download */
		pthread_mutex_lock(&u->mu);
		u->stop = true;
		pthread_cond_broadcast(&u->cv);
		pthread_mutex_unlock(&u->mu);
		pthread_join(u->thread, NULL);
	}
	for (size_t i = 0; i < u->count; i++)
		free(u->q[(u->head + i) % QUEUE_MAX].data);
	for (size_t i = 0; i < u->nspare; i++)
		free(u->spare[i]);
	free(u->held);
	free(u->src_buf);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u);
}

static int count_cb(void *ctx, struct archive *a, struct archive_entry *ae, struct fb_err *err)
{
	(void)a, (void)ae, (void)err;
	(*(uint64_t *)ctx)++;
	return 0;
}

int fb_unpack_count(const char *path, const char *name, uint64_t *entries, struct fb_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fb_err_errno(err, errno, "layer %s: open %s", name, path);
	struct fb_unpack *u;
	struct archive *a;
	int r = fb_unpack_open(fd, name, &u, &a, err);
	if (r == 0) {
		r = fb_unpack_each(a, name, count_cb, entries, err);
		fb_unpack_free(u);
	}
	close(fd);
	return r;
}

int fb_unpack_diff_id(const char *path, char out[72], struct fb_err *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	struct fb_sha256 h;
	fb_sha256_init(&h);
	int ret = 0;
	if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK) {
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: %s", path, archive_error_string(a));
	} else {
		char *buf = fb_xmalloc(1 << 20);
		la_ssize_t n;
		while ((n = archive_read_data(a, buf, 1 << 20)) > 0)
			fb_sha256_update(&h, buf, (size_t)n);
		if (n < 0)
			ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: %s", path, archive_error_string(a));
		free(buf);
	}
	archive_read_free(a);
	if (ret == 0)
		fb_sha256_final(&h, out);
	else
		fb_sha256_free(&h);
	return ret;
}
