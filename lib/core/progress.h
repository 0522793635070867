/* Progress of long work on stderr: on a terminal (text logs) a bar per
 * item and a total, redrawn in place; with JSON logs, progress lines (at
 * most one a second per item, and one when it ends). */
#ifndef FB_PROGRESS_H
#define FB_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct fb_progress;

struct fb_progress *fb_progress_new(const char *what, size_t nitems);
void fb_progress_item(struct fb_progress *p, size_t i, const char *label, uint64_t size);
void fb_progress_update(struct fb_progress *p, size_t i, uint64_t done);
/* status: "done", "cached", "failed" */
void fb_progress_end(struct fb_progress *p, size_t i, const char *status);
void fb_progress_free(struct fb_progress *p);

#endif
