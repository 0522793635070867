#include "unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "archiveapi.h"
#include "digest.h"
#include "err.h"
#include "follow.h"
#include "util.h"

#define CHUNK (1u << 20)
#define QUEUE_MAX 128
/* the most a layer ahead keeps spilled and not yet read */
#define SPILL_MAX (1ull << 30)

struct fb_unpack_gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned running, max;
	unsigned next, tickets; /* producers start in the order they were opened */
};

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
	size_t nbuf, peak;          /* buffers allocated: now, at most */
	bool eof, stop;
	char error[512];
	char *held; /* the chunk the consumer is reading */
	struct archive *reader;
	/* a layer ahead of the one applied: past its queue, the bytes go to
	 * an unnamed file next to the image (the page cache, not our memory),
	 * so that it decompresses on a free core however far behind the
	 * reader is; once spilling, every later chunk is spilled (in order) */
	struct fb_unpack_gate *gate;
	unsigned ticket;
	char *spill_dir;
	int spill_fd;
	bool spilling, no_spill; /* no_spill: the layer is the one read now */
	uint64_t spill_w, spill_r, punched; /* written, read, given back */
	uint64_t produced;                  /* bytes decompressed */
	char *sbuf;                         /* the reader's spilled chunk */
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

/* Chunks are mapped, not malloc'd, so that one freed goes back to the
 * system at once: glibc keeps freed 1 MiB blocks in its arenas, and the
 * buffers of a layer done, or above a lowered cap, stayed in the RSS. */
static char *chunk_new(void)
{
	void *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		abort(); /* out of memory, as fb_xmalloc does */
	return p;
}

static void chunk_free(char *p)
{
	if (p)
		munmap(p, CHUNK);
}

static char *get_spare(struct fb_unpack *u)
{
	/* called locked */
	if (u->nspare)
		return u->spare[--u->nspare];
	if (++u->nbuf > u->peak)
		u->peak = u->nbuf;
	return chunk_new();
}

/* A buffer read or not needed: kept for the producer while the queue and
 * the spares are under the cap, else freed, so that the buffers never
 * outnumber cap + 2 (the producer's and the reader's) for long, even when
 * the cap was lowered (fb_unpack_set_ahead). Called locked. */
static void put_spare(struct fb_unpack *u, char *buf)
{
	if (u->count + u->nspare < u->cap) {
		u->spare[u->nspare++] = buf;
		return;
	}
	chunk_free(buf);
	u->nbuf--;
}

/* Past a full queue, a layer ahead writes its chunk to its spill file
 * (made on first use) instead of waiting: true when it did. It waits
 * only when SPILL_MAX bytes are spilled and unread. No file (no
 * directory, O_TMPFILE refused): false, the producer waits as before. */
static bool spill_chunk(struct fb_unpack *u, const char *buf, size_t fill)
{
	pthread_mutex_lock(&u->mu);
	if (!u->spilling && (!u->spill_dir || u->no_spill || u->count < u->cap)) {
		pthread_mutex_unlock(&u->mu);
		return false;
	}
	while (u->spilling && u->spill_w - u->spill_r >= SPILL_MAX && !u->stop)
		pthread_cond_wait(&u->cv, &u->mu);
	bool stop = u->stop;
	pthread_mutex_unlock(&u->mu);
	if (stop)
		return true; /* dropped: nobody reads it */
	if (u->spill_fd < 0) {
		u->spill_fd = open(u->spill_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (u->spill_fd < 0) {
			free(u->spill_dir);
			u->spill_dir = NULL; /* no spilling: the queue waits */
			return false;
		}
	}
	for (size_t done = 0; done < fill;) {
		ssize_t n = pwrite(u->spill_fd, buf + done, fill - done, (off_t)(u->spill_w + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pthread_mutex_lock(&u->mu);
			if (!u->error[0])
				snprintf(u->error, sizeof(u->error), "decompressing ahead into %s: %s", u->spill_dir,
					 strerror(n < 0 ? errno : EIO));
			__atomic_store_n(&u->stop, true, __ATOMIC_RELEASE); /* the reader fails when it gets here */
			pthread_cond_broadcast(&u->cv);
			pthread_mutex_unlock(&u->mu);
			return true;
		}
		done += (size_t)n;
	}
	pthread_mutex_lock(&u->mu);
	u->spilling = true;
	u->spill_w += fill;
	u->produced += fill;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
	return true;
}

/* Hand a filled chunk to the consumer; waits while the queue is full.
 * Returns a fresh buffer, or NULL when asked to stop. */
static char *push_chunk(struct fb_unpack *u, char *buf, size_t fill, bool want_next)
{
	if (buf && fill && spill_chunk(u, buf, fill)) {
		if (want_next && !__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE))
			return buf; /* the same buffer again: the next chunk spills too */
		pthread_mutex_lock(&u->mu);
		put_spare(u, buf);
		pthread_mutex_unlock(&u->mu);
		return NULL;
	}
	pthread_mutex_lock(&u->mu);
	if (buf && fill) {
		u->q[(u->head + u->count) % QUEUE_MAX] = (struct chunk){ buf, fill };
		u->count++;
		u->produced += fill;
		pthread_cond_broadcast(&u->cv);
	} else if (buf) {
		put_spare(u, buf);
	}
	char *next = NULL;
	if (want_next) {
		/* a layer that may spill does not wait: its next chunk spills */
		while (u->count >= u->cap && !u->stop && !u->spilling && (!u->spill_dir || u->no_spill))
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

/* A producer's turn: its ticket is the next and a core is free (or it
 * is told to stop). */
static bool gate_enter(struct fb_unpack *u)
{
	struct fb_unpack_gate *g = u->gate;
	if (!g)
		return true;
	pthread_mutex_lock(&g->mu);
	while ((u->ticket != g->next || g->running >= g->max) && !__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&g->cv, &g->mu);
	bool go = !__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE);
	if (go) {
		g->next++;
		g->running++;
	}
	pthread_mutex_unlock(&g->mu);
	return go;
}

static void gate_leave(struct fb_unpack *u)
{
	struct fb_unpack_gate *g = u->gate;
	pthread_mutex_lock(&g->mu);
	g->running--;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void *producer(void *arg)
{
	struct fb_unpack *u = arg;
	char err[512] = "";
	if (!gate_enter(u))
		goto stopped;
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
		char *buf = push_chunk(u, NULL, 0, true);
		while (buf) {
			size_t fill = 0;
			la_ssize_t n = 0;
			while (fill < CHUNK && (n = archive_read_data(a, buf + fill, CHUNK - fill)) > 0)
				fill += (size_t)n;
			if (n < 0)
				snprintf(err, sizeof(err), "%s", archive_error_string(a) ? archive_error_string(a) : "read error");
			buf = push_chunk(u, buf, fill, n > 0);
		}
	}
	archive_read_free(a);
done:
	if (u->gate)
		gate_leave(u);
stopped:
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
		put_spare(u, u->held);
		u->held = NULL;
		pthread_cond_broadcast(&u->cv);
	}
	/* the spilled bytes read so far go back to the file system */
	if (u->spill_r - u->punched >= (64u << 20)) {
		uint64_t from = u->punched, len = u->spill_r - u->punched;
		u->punched = u->spill_r;
		pthread_mutex_unlock(&u->mu);
		(void)fallocate(u->spill_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)len);
		pthread_mutex_lock(&u->mu);
	}
	while (!u->count && u->spill_r == u->spill_w && !u->eof)
		pthread_cond_wait(&u->cv, &u->mu);
	la_ssize_t r;
	if (u->count) {
		/* memory first: nothing is queued once spilling began */
		struct chunk c = u->q[u->head];
		u->head = (u->head + 1) % QUEUE_MAX;
		u->count--;
		u->held = c.data;
		*buf = c.data;
		r = (la_ssize_t)c.len;
		pthread_cond_broadcast(&u->cv);
	} else if (u->spill_r < u->spill_w) {
		uint64_t off = u->spill_r, left = u->spill_w - u->spill_r;
		size_t want = left < CHUNK ? (size_t)left : CHUNK;
		pthread_mutex_unlock(&u->mu);
		if (!u->sbuf)
			u->sbuf = fb_xmalloc(CHUNK);
		ssize_t n;
		do
			n = pread(u->spill_fd, u->sbuf, want, (off_t)off);
		while (n < 0 && errno == EINTR);
		pthread_mutex_lock(&u->mu);
		if (n <= 0) {
			archive_set_error(a, EIO, "reading back what was decompressed ahead: %s", n < 0 ? strerror(errno) : "short file");
			r = -1;
		} else {
			u->spill_r += (uint64_t)n;
			*buf = u->sbuf;
			r = n;
			pthread_cond_broadcast(&u->cv);
		}
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
	struct fb_unpack *u;
	if (fb_unpack_start(fd, name, &(struct fb_unpack_ahead){ .chunks = FB_UNPACK_CHUNKS }, &u, err) < 0)
		return -1;
	if (fb_unpack_reader(u, name, ar, err) < 0) {
		fb_unpack_free(u);
		return -1;
	}
	*out = u;
	return 0;
}

/* The ring keeps room for the one chunk a producer may push past the cap
 * (a spill that could not be made, a cap lowered while it decompressed). */
static size_t queue_cap(unsigned chunks)
{
	return chunks < 2 ? 2 : chunks > QUEUE_MAX - 2 ? QUEUE_MAX - 2 : chunks;
}

void fb_unpack_set_ahead(struct fb_unpack *u, unsigned chunks)
{
	pthread_mutex_lock(&u->mu);
	u->cap = queue_cap(chunks);
	u->no_spill = true;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

size_t fb_unpack_buffers(struct fb_unpack *u, size_t *peak)
{
	pthread_mutex_lock(&u->mu);
	size_t n = u->nbuf;
	if (peak)
		*peak = u->peak;
	pthread_mutex_unlock(&u->mu);
	return n;
}

struct fb_unpack_gate *fb_unpack_gate_new(unsigned max)
{
	struct fb_unpack_gate *g = fb_xcalloc(1, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->max = max ? max : 1;
	return g;
}

void fb_unpack_gate_free(struct fb_unpack_gate *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}

int fb_unpack_start(int fd, const char *name, const struct fb_unpack_ahead *o, struct fb_unpack **out,
		    struct fb_err *err)
{
	struct fb_unpack *u = fb_xcalloc(1, sizeof(*u));
	u->fd = fd;
	u->follow = o->follow;
	u->spill_fd = -1;
	u->cap = queue_cap(o->chunks);
	u->spill_dir = o->spill_dir ? fb_xstrdup(o->spill_dir) : NULL;
	u->gate = o->gate;
	if (u->gate) {
		pthread_mutex_lock(&u->gate->mu);
		u->ticket = u->gate->tickets++;
		pthread_mutex_unlock(&u->gate->mu);
	}
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	if (pthread_create(&u->thread, NULL, producer, u) != 0) {
		u->gate = NULL; /* its ticket never comes: the caller frees them all */
		fb_unpack_free(u);
		return fb_err_set(err, FB_EXIT_FAILED, "thread", "layer %s: cannot start a thread", name);
	}
	u->started = true;
	*out = u;
	return 0;
}

int fb_unpack_reader(struct fb_unpack *u, const char *name, struct archive **ar, struct fb_err *err)
{
	if (!u->reader) {
		struct archive *a = archive_read_new();
		archive_read_support_format_tar(a);
		archive_read_support_format_gnutar(a);
		if (archive_read_open(a, u, NULL, consumer_read, NULL) != ARCHIVE_OK) {
			fb_err_set(err, FB_EXIT_USAGE, "layer", "layer %s: %s", name, archive_error_string(a));
			archive_read_free(a);
			return -1;
		}
		u->reader = a;
	}
	*ar = u->reader;
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

void fb_unpack_stats(struct fb_unpack *u, uint64_t *produced, uint64_t *spilled, bool *done)
{
	pthread_mutex_lock(&u->mu);
	*produced = u->produced;
	*spilled = u->spill_w;
	*done = u->eof;
	pthread_mutex_unlock(&u->mu);
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
		__atomic_store_n(&u->stop, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&u->cv);
		pthread_mutex_unlock(&u->mu);
		if (u->gate) { /* waiting its turn */
			pthread_mutex_lock(&u->gate->mu);
			pthread_cond_broadcast(&u->gate->cv);
			pthread_mutex_unlock(&u->gate->mu);
		}
		pthread_join(u->thread, NULL);
	}
	if (u->spill_fd >= 0)
		close(u->spill_fd);
	free(u->spill_dir);
	free(u->sbuf);
	for (size_t i = 0; i < u->count; i++)
		chunk_free(u->q[(u->head + i) % QUEUE_MAX].data);
	for (size_t i = 0; i < u->nspare; i++)
		chunk_free(u->spare[i]);
	chunk_free(u->held);
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
