#include "datawriter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define SYNC_EVERY (32u << 20)
#define SPARES 16

struct job {
	char *buf;
	size_t cap, len;
	uint64_t off;
	struct job *next;
};

struct fb_datawriter {
	int fd;
	bool direct;            /* fd is O_DIRECT: no page cache, no writeback to start */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	size_t inflight, max;   /* bytes of buffers queued or being written */
	bool busy, stop;
	int error;              /* the first write's errno */
	uint64_t error_off;
	struct job *spare[SPARES]; /* written: their buffers for fb_dw_buf */
	size_t nspare;
};

static void *writer(void *arg)
{
	struct fb_datawriter *w = arg;
	uint64_t unsynced = 0;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		struct job *j = w->head;
		if (!j)
			break;
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		w->busy = true;
		bool failed = w->error != 0;
		pthread_mutex_unlock(&w->mu);
		int e = 0;
		for (size_t done = 0; !failed && done < j->len;) {
			ssize_t n = pwrite(w->fd, j->buf + done, j->len - done, (off_t)(j->off + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EINVAL && w->direct) {
				/* a file system that takes O_DIRECT at open but not
				 * this write: through the page cache from here on */
				w->direct = false;
				if (fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) & ~O_DIRECT) == 0)
					continue;
			}
			if (n <= 0) {
				e = n < 0 ? errno : EIO;
				break;
			}
			done += (size_t)n;
		}
		unsynced += j->len;
		if (unsynced >= SYNC_EVERY && !w->direct) {
			unsynced = 0;
			(void)sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		}
		pthread_mutex_lock(&w->mu);
		if (e && !w->error) {
			w->error = e;
			w->error_off = j->off;
		}
		w->inflight -= j->cap;
		w->busy = false;
		if (w->nspare < SPARES) {
			w->spare[w->nspare++] = j;
		} else {
			free(j->buf);
			free(j);
		}
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int fb_dw_start(int fd, size_t max_inflight, struct fb_datawriter **out, struct fb_err *err)
{
	struct fb_datawriter *w = fb_xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->direct = (fcntl(fd, F_GETFL) & O_DIRECT) != 0;
	w->max = max_inflight;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, writer, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return fb_err_set(err, FB_EXIT_FAILED, "thread", "cannot start the data writer's thread");
	}
	*out = w;
	return 0;
}

char *fb_dw_buf(struct fb_datawriter *w, size_t cap)
{
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->nspare; i++) {
		struct job *j = w->spare[i];
		if (j->cap == cap) {
			w->spare[i] = w->spare[--w->nspare];
			pthread_mutex_unlock(&w->mu);
			char *b = j->buf;
			free(j);
			return b;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return fb_dw_alloc(cap);
}

void *fb_dw_alloc(size_t cap)
{
	return fb_xaligned(FB_DW_ALIGN, cap);
}

void fb_dw_submit(struct fb_datawriter *w, char *buf, size_t cap, size_t len, uint64_t off)
{
	struct job *j = fb_xcalloc(1, sizeof(*j));
	*j = (struct job){ buf, cap, len, off, NULL };
	pthread_mutex_lock(&w->mu);
	while (w->inflight && w->inflight + cap > w->max)
		pthread_cond_wait(&w->cv, &w->mu);
	w->inflight += cap;
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int fb_dw_drain(struct fb_datawriter *w, struct fb_err *err)
{
	pthread_mutex_lock(&w->mu);
	while (w->head || w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	int e = w->error;
	uint64_t off = w->error_off;
	pthread_mutex_unlock(&w->mu);
	if (e)
		return fb_err_errno(err, e, "write data at byte %llu", (unsigned long long)off);
	return 0;
}

int fb_dw_stop(struct fb_datawriter *w, struct fb_err *err)
{
	if (!w)
		return 0;
	int r = err ? fb_dw_drain(w, err) : 0;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	/* what is still queued (a failure's teardown) is dropped */
	for (struct job *j = w->head, *next; j; j = next) {
		next = j->next;
		free(j->buf);
		free(j);
	}
	w->head = w->tail = NULL;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	for (size_t i = 0; i < w->nspare; i++) {
		free(w->spare[i]->buf);
		free(w->spare[i]);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	return r;
}
