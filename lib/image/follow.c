/* Layers read while they download (follow.h). */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "doc.h"
#include "err.h"
#include "store.h"
#include "util.h"

/* What may come after the document: an error object, a few KiB. */
#define REST_MAX (1u << 20)
/* A wait for bytes wakes up at least this often (an event missed, the
 * file replaced under its name). */
#define WAIT_MS 100

/* ---- the fetcher upstream ---- */

struct fb_fetcher {
	int fd;
	int ended_fd; /* an eventfd, readable once the fetcher ended (never drained) */
	int stop_fd;  /* an eventfd that stops the thread */
	pthread_t thread;
	bool started;
	struct fb_buf rest;
	bool too_much;
	atomic_bool ended;
	/* set by the thread before `ended` */
	int result;
	struct fb_err err;
};

static void fetcher_end(struct fb_fetcher *f)
{
	struct fb_doc *errdoc = NULL;
	if (f->too_much) {
		f->result = fb_err_set(&f->err, FB_EXIT_USAGE, "json",
				       "the fetcher wrote more than %u bytes after its document", REST_MAX);
	} else {
		int r = fb_doc_trailer(fb_buf_str(&f->rest), f->rest.len, &errdoc, &f->err);
		if (r == 1) {
			char *text = fb_doc_error_text(errdoc);
			f->result = fb_err_set(&f->err, FB_EXIT_FAILED, "fetch", "%s", text);
			free(text);
			fb_doc_free(errdoc);
		} else {
			f->result = r;
		}
	}
	atomic_store(&f->ended, true);
	uint64_t one = 1;
	FB_IGNORE(write(f->ended_fd, &one, sizeof(one)) < 0); /* an eventfd write does not fail here */
}

static void *fetcher_thread(void *arg)
{
	struct fb_fetcher *f = arg;
	char buf[65536];
	for (;;) {
		struct pollfd p[2] = { { .fd = f->fd, .events = POLLIN }, { .fd = f->stop_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			return NULL; /* asked to stop: no result */
		if (!p[0].revents)
			continue;
		ssize_t n = read(f->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* its end (a read error is as good as its end) */
		if (f->rest.len + (size_t)n > REST_MAX)
			f->too_much = true;
		else
			fb_buf_add(&f->rest, buf, (size_t)n);
	}
	fetcher_end(f);
	return NULL;
}

int fb_fetcher_start(int fd, const char *rest, size_t len, struct fb_fetcher **out, struct fb_err *err)
{
	struct fb_fetcher *f = fb_xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->rest = (struct fb_buf)FB_BUF_INIT;
	fb_buf_add(&f->rest, rest ? rest : "", len);
	atomic_init(&f->ended, false);
	f->ended_fd = eventfd(0, EFD_CLOEXEC);
	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (f->ended_fd < 0 || f->stop_fd < 0) {
		fb_err_errno(err, errno, "eventfd");
		fb_fetcher_free(f);
		return -1;
	}
	if (pthread_create(&f->thread, NULL, fetcher_thread, f) != 0) {
		fb_fetcher_free(f);
		return fb_err_set(err, FB_EXIT_FAILED, "thread", "cannot start a thread");
	}
	f->started = true;
	*out = f;
	return 0;
}

static bool fetcher_ended(struct fb_fetcher *f)
{
	return atomic_load(&f->ended);
}

int fb_fetcher_wait(struct fb_fetcher *f, struct fb_err *err)
{
	while (!fetcher_ended(f)) {
		struct pollfd p = { .fd = f->ended_fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return fb_err_errno(err, errno, "poll");
	}
	if (f->result < 0) {
		*err = f->err;
		return -1;
	}
	return 0;
}

void fb_fetcher_free(struct fb_fetcher *f)
{
	if (!f)
		return;
	if (f->started) {
		uint64_t one = 1;
		FB_IGNORE(write(f->stop_fd, &one, sizeof(one)) < 0);
		pthread_join(f->thread, NULL);
	}
	if (f->ended_fd >= 0)
		close(f->ended_fd);
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	fb_buf_free(&f->rest);
	free(f);
}

/* ---- a pending layer ---- */

struct fb_follow {
	struct fb_fetcher *f;
	char *digest, *final, *partial;
	uint64_t size, pos;
	unsigned char tail[4], last[4];
	unsigned char head[32];
	size_t headlen;
	int fd;      /* the file read, -1 while none */
	int ino, wd; /* inotify on it */
	struct fb_sha256 h;
	bool hashing;
	bool failed; /* err holds why, for every later call */
	struct fb_err err;
	atomic_bool cancel;
};

struct fb_follow *fb_follow_new(struct fb_fetcher *f, const char *store_root, const char *digest, uint64_t size,
				const unsigned char *head, size_t headlen, const unsigned char tail[4])
{
	struct fb_follow *l = fb_xcalloc(1, sizeof(*l));
	l->f = f;
	l->digest = fb_xstrdup(digest);
	l->final = fb_store_blob_path_at(store_root, digest);
	l->partial = fb_store_partial_path_at(store_root, digest);
	l->size = size;
	memcpy(l->tail, tail, 4);
	if (head && headlen <= sizeof(l->head) && headlen <= size) {
		memcpy(l->head, head, headlen);
		l->headlen = headlen;
	}
	l->fd = -1;
	l->wd = -1;
	l->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC); /* none: the waits time out instead */
	fb_sha256_init(&l->h);
	l->hashing = true;
	atomic_init(&l->cancel, false);
	return l;
}

void fb_follow_free(struct fb_follow *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->ino >= 0)
		close(l->ino);
	if (l->hashing)
		fb_sha256_free(&l->h);
	free(l->digest);
	free(l->final);
	free(l->partial);
	free(l);
}

uint64_t fb_follow_size(const struct fb_follow *l)
{
	return l->size;
}

const unsigned char *fb_follow_tail(const struct fb_follow *l)
{
	return l->tail;
}

void fb_follow_error(const struct fb_follow *l, struct fb_err *err)
{
	if (l->failed)
		*err = l->err;
}

void fb_follow_cancel(struct fb_follow *l)
{
	atomic_store(&l->cancel, true);
}

static int fail(struct fb_follow *l, struct fb_err *err)
{
	l->failed = true;
	l->err = *err;
	return -1;
}

/* A file of the store, opened only when it is a regular file reached with
 * no symbolic link (a FIFO would block, a device would answer): 1 and the
 * fd, 0 when there is none, -1 and an error. */
static int open_regular(const char *digest, const char *path, int *fd, struct fb_err *err)
{
	for (int tries = 0; tries < 10; tries++) {
		struct stat a, b;
		if (lstat(path, &a) < 0) {
			if (errno == ENOENT)
				return 0;
			return fb_err_errno(err, errno, "layer %s: %s", digest, path);
		}
		if (S_ISLNK(a.st_mode))
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "layer %s: %s is a symbolic link, not a file", digest, path);
		if (!S_ISREG(a.st_mode))
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "layer %s: %s is not a regular file", digest, path);
		int d = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (d < 0) {
			if (errno == ENOENT)
				continue; /* renamed since: look again */
			if (errno == ELOOP)
				return fb_err_set(err, FB_EXIT_USAGE, "invalid", "layer %s: %s is a symbolic link, not a file", digest,
						  path);
			return fb_err_errno(err, errno, "layer %s: open %s", digest, path);
		}
		if (fstat(d, &b) == 0 && S_ISREG(b.st_mode) && b.st_dev == a.st_dev && b.st_ino == a.st_ino) {
			*fd = d;
			return 1;
		}
		close(d); /* replaced between the look and the open: again */
	}
	return fb_err_set(err, FB_EXIT_FAILED, "io", "layer %s: %s keeps changing", digest, path);
}

/* (Re)open the layer where the fetcher has it, at the position read so
 * far: the blob once in the store, else the partial file (renamed into
 * the store just now: the blob again). 1 opened, 0 none there yet. */
static int reopen(struct fb_follow *l, struct fb_err *err)
{
	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	const char *const paths[] = { l->final, l->partial, l->final };
	int fd = -1, r = 0;
	const char *at = NULL;
	for (size_t i = 0; i < FB_ARRAY_LEN(paths) && r == 0; i++) {
		r = open_regular(l->digest, paths[i], &fd, err);
		at = paths[i];
	}
	if (r <= 0)
		return r;
	if (lseek(fd, (off_t)l->pos, SEEK_SET) < 0) {
		int e = errno;
		close(fd);
		return fb_err_errno(err, e, "layer %s: seek %s", l->digest, at);
	}
	l->fd = fd;
	/* the store's blob from its first byte: verified by the fetcher
	 * before it got its name, trusted as any blob of the store is (the
	 * non-streamed path reads them so); bytes of a partial file never are */
	if (l->pos == 0 && at == l->final && l->hashing) {
		fb_sha256_free(&l->h);
		l->hashing = false;
	} else if (l->pos == 0 && at != l->final && !l->hashing) {
		fb_sha256_init(&l->h);
		l->hashing = true;
	} else if (l->pos > 0 && at != l->final && !l->hashing) {
		/* the blob went (gc) and a partial file took its place: what
		 * was read unhashed cannot be checked against it */
		close(fd);
		l->fd = -1;
		return fb_err_set(err, FB_EXIT_FAILED, "download", "layer %s: its blob went away while it was read", l->digest);
	}
	if (l->ino >= 0) {
		if (l->wd >= 0)
			inotify_rm_watch(l->ino, l->wd);
		l->wd = inotify_add_watch(l->ino, at,
					  IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_DONT_FOLLOW);
	}
	return 1;
}

static int ended_short(struct fb_follow *l, uint64_t at, struct fb_err *err)
{
	struct fb_err fe = { 0 };
	if (fb_fetcher_wait(l->f, &fe) < 0)
		fb_err_set(err, FB_EXIT_FAILED, "download", "layer %s: the download ended at %" PRIu64 " of %" PRIu64 " bytes: %s",
			   l->digest, at, l->size, fe.msg);
	else
		fb_err_set(err, FB_EXIT_FAILED, "download",
			   "layer %s: the download ended at %" PRIu64 " of %" PRIu64 " bytes (the fetcher exited)", l->digest, at,
			   l->size);
	return fail(l, err);
}

/* Nothing more to read at the moment: 0 to try again (the file reopened,
 * or something happened), -1 when the layer cannot grow any more (the
 * fetcher ended; *ended_seen makes the last try after its end the last)
 * or the wait was cancelled. */
static int wait_step(struct fb_follow *l, uint64_t have, bool *ended_seen, struct fb_err *err)
{
	struct stat st;
	if (l->fd >= 0 && fstat(l->fd, &st) == 0 && st.st_nlink == 0) {
		/* removed (a download started again, a copy of another pull's
		 * renamed over it): whatever has the name now */
		close(l->fd);
		l->fd = -1;
		return 0;
	}
	if (*ended_seen)
		return ended_short(l, have, err);
	if (fetcher_ended(l->f)) {
		/* one last look, at the blob in the store first */
		*ended_seen = true;
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		return 0;
	}
	struct pollfd p[2] = { { .fd = l->f->ended_fd, .events = POLLIN }, { .fd = l->ino, .events = POLLIN } };
	if (poll(p, l->ino >= 0 ? 2 : 1, WAIT_MS) < 0 && errno != EINTR)
		return fb_err_errno(err, errno, "layer %s: poll", l->digest);
	if (l->ino >= 0 && p[1].revents) {
		char ev[4096];
		while (read(l->ino, ev, sizeof(ev)) > 0)
			;
	}
	if (atomic_load(&l->cancel))
		return fb_err_set(err, FB_EXIT_FAILED, "cancelled", "layer %s: stopped", l->digest);
	return 0;
}

int fb_follow_head(struct fb_follow *l, void *buf, size_t n, struct fb_err *err)
{
	if (l->failed) {
		*err = l->err;
		return -1;
	}
	if (n > sizeof(l->head) || n > l->size)
		return fb_err_set(err, FB_EXIT_FAILED, "internal", "layer %s: a head of %zu bytes", l->digest, n);
	if (n <= l->headlen) {
		memcpy(buf, l->head, n); /* the bytes the reads are checked against */
		return 0;
	}
	bool ended_seen = false;
	for (;;) {
		if (l->fd < 0) {
			int r = reopen(l, err);
			if (r < 0)
				return fail(l, err);
		}
		uint64_t have = 0;
		if (l->fd >= 0) {
			ssize_t got = pread(l->fd, buf, n, 0);
			if (got < 0 && errno != EINTR) {
				fb_err_errno(err, errno, "layer %s: read", l->digest);
				return fail(l, err);
			}
			if (got == (ssize_t)n) {
				memcpy(l->head, buf, n);
				l->headlen = n;
				/* the first read opens it again: by then it may be
				 * the store's blob */
				close(l->fd);
				l->fd = -1;
				return 0;
			}
			have = got > 0 ? (uint64_t)got : 0;
		}
		if (wait_step(l, have, &ended_seen, err) < 0)
			return -1;
	}
}

/* The layer's bytes all read: they must hash to its digest, and end as
 * .tail said (the ext4 was sized from it). */
static int verify(struct fb_follow *l, struct fb_err *err)
{
	char got[72];
	bool hashed = l->hashing;
	if (hashed)
		fb_sha256_final(&l->h, got);
	l->hashing = false;
	if (hashed && strcmp(got, l->digest)) {
		fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch", "layer %s: digest mismatch: the bytes read hash to %s",
			   l->digest, got);
		return fail(l, err);
	}
	if (l->size >= 4 && memcmp(l->last, l->tail, 4)) {
		fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
			   "layer %s: its last 4 bytes are not the .tail of the document", l->digest);
		return fail(l, err);
	}
	return 0;
}

static int account(struct fb_follow *l, const unsigned char *p, size_t n, struct fb_err *err)
{
	/* the head the ext4 was sized from is the head read */
	if (l->pos < l->headlen) {
		size_t k = l->headlen - (size_t)l->pos < n ? l->headlen - (size_t)l->pos : n;
		if (memcmp(l->head + l->pos, p, k)) {
			fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
				   "layer %s: its first bytes are not the .head of the document", l->digest);
			return fail(l, err);
		}
	}
	if (l->hashing)
		fb_sha256_update(&l->h, p, n);
	l->pos += n;
	/* the last 4 bytes, for the .tail check */
	if (n >= 4) {
		memcpy(l->last, p + n - 4, 4);
	} else {
		memmove(l->last, l->last + n, 4 - n);
		memcpy(l->last + 4 - n, p, n);
	}
	return 0;
}

ssize_t fb_follow_read(struct fb_follow *l, void *buf, size_t n, struct fb_err *err)
{
	if (l->failed) {
		*err = l->err;
		return -1;
	}
	if (l->pos >= l->size)
		return 0;
	size_t want = l->size - l->pos < n ? (size_t)(l->size - l->pos) : n;
	bool ended_seen = false;
	for (;;) {
		if (l->fd < 0 && reopen(l, err) < 0)
			return fail(l, err);
		if (l->fd >= 0) {
			ssize_t got = read(l->fd, buf, want);
			if (got < 0) {
				if (errno == EINTR)
					continue;
				fb_err_errno(err, errno, "layer %s: read", l->digest);
				return fail(l, err);
			}
			if (got > 0) {
				if (account(l, buf, (size_t)got, err) < 0)
					return -1;
				if (l->pos == l->size && verify(l, err) < 0)
					return -1;
				return got;
			}
		}
		if (wait_step(l, l->pos, &ended_seen, err) < 0)
			return -1;
	}
}

int fb_follow_finish(struct fb_follow *l, struct fb_err *err)
{
	atomic_store(&l->cancel, false);
	char *buf = fb_xmalloc(1 << 16);
	ssize_t n;
	while ((n = fb_follow_read(l, buf, 1 << 16, err)) > 0)
		;
	free(buf);
	return n < 0 ? -1 : 0;
}

int fb_follow_settle(struct fb_follow *l, struct fb_err *err)
{
	if (fb_fetcher_wait(l->f, err) < 0) {
		fb_err_prefix(err, "layer %s", l->digest);
		return -1;
	}
	int fd = -1;
	int r = open_regular(l->digest, l->final, &fd, err);
	if (r == 0)
		return fb_err_set(err, FB_EXIT_FAILED, "download", "layer %s: not in the store after the download ended",
				  l->digest);
	if (r > 0)
		close(fd);
	return r < 0 ? -1 : 0;
}
