#include "progress.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct item {
	char label[24];
	uint64_t size, done;
	const char *status; /* NULL while running */
	double last_json;
};

struct fb_progress {
	char *what;
	struct item *items;
	size_t n;
	bool tty;
	size_t drawn; /* lines on screen */
	double last_draw;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct fb_progress *fb_progress_new(const char *what, size_t nitems)
{
	struct fb_progress *p = fb_xcalloc(1, sizeof(*p));
	p->what = fb_xstrdup(what);
	p->items = fb_xcalloc(nitems ? nitems : 1, sizeof(*p->items));
	p->n = nitems;
	p->tty = isatty(2) && fb_log_format() == FB_LOGFMT_TEXT && fb_log_enabled(FB_LOG_INFO);
	return p;
}

void fb_progress_item(struct fb_progress *p, size_t i, const char *label, uint64_t size)
{
	if (i >= p->n)
		return;
	/* "sha256:0123456789ab" is enough to tell layers apart */
	snprintf(p->items[i].label, sizeof(p->items[i].label), "%.19s", label);
	p->items[i].size = size;
}

static void mb(char *buf, size_t len, uint64_t b)
{
	snprintf(buf, len, "%.1f MB", (double)b / 1e6);
}

static void draw(struct fb_progress *p, bool force)
{
	double t = now();
	if (!force && t - p->last_draw < 0.1)
		return;
	p->last_draw = t;
	struct fb_buf b = FB_BUF_INIT;
	if (p->drawn)
		fb_buf_addf(&b, "\033[%zuA", p->drawn);
	uint64_t tot = 0, done = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->items[i];
		tot += it->size;
		done += it->status ? it->size : it->done;
		char d[32], s[32], bar[32];
		mb(d, sizeof(d), it->status ? it->size : it->done);
		mb(s, sizeof(s), it->size);
		size_t fill = it->size ? (size_t)((it->status ? it->size : it->done) * 20 / it->size) : 20;
		memset(bar, '#', fill);
		memset(bar + fill, '.', 20 - fill);
		bar[20] = '\0';
		fb_buf_addf(&b, "\r\033[K  %-19s [%s] %10s / %-10s %s\n", it->label, bar, d, s,
			    it->status ? it->status : "");
	}
	char d[32], s[32];
	mb(d, sizeof(d), done);
	mb(s, sizeof(s), tot);
	fb_buf_addf(&b, "\r\033[K%s: %s / %s\n", p->what, d, s);
	p->drawn = p->n + 1;
	ssize_t w = write(2, b.data, b.len);
	(void)w;
	fb_buf_free(&b);
}

static void json_line(struct fb_progress *p, size_t i)
{
	struct item *it = &p->items[i];
	char done[32], size[32];
	snprintf(done, sizeof(done), "%" PRIu64, it->status ? it->size : it->done);
	snprintf(size, sizeof(size), "%" PRIu64, it->size);
	fb_log_fields(FB_LOG_INFO, "progress", "what", p->what, "item", it->label, "bytes", done, "total", size,
		      "status", it->status ? it->status : "running", (char *)NULL);
}

void fb_progress_update(struct fb_progress *p, size_t i, uint64_t done)
{
	if (i >= p->n)
		return;
	p->items[i].done = done;
	if (p->tty) {
		draw(p, false);
	} else if (fb_log_format() == FB_LOGFMT_JSON && now() - p->items[i].last_json >= 1.0) {
		p->items[i].last_json = now();
		json_line(p, i);
	}
}

void fb_progress_end(struct fb_progress *p, size_t i, const char *status)
{
	if (i >= p->n)
		return;
	p->items[i].status = status;
	if (p->tty)
		draw(p, true);
	else
		json_line(p, i);
}

void fb_progress_free(struct fb_progress *p)
{
	if (!p)
		return;
	if (p->tty)
		draw(p, true);
	free(p->items);
	free(p->what);
	free(p);
}
