#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *fb_err_kind_of(int code)
{
	switch (code) {
	case FB_EXIT_USAGE:
		return "invalid";
	case FB_EXIT_NOTFOUND:
		return "not_found";
	case FB_EXIT_CONFLICT:
		return "conflict";
	default:
		return "failed";
	}
}

int fb_err_vset(struct fb_err *e, int code, const char *kind, const char *fmt, va_list ap)
{
	if (!e)
		return -1;
	e->code = code ? code : FB_EXIT_FAILED;
	snprintf(e->kind, sizeof(e->kind), "%s", kind ? kind : fb_err_kind_of(e->code));
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->file[0] = '\0';
	e->line = e->end_line = 0;
	return -1;
}

int fb_err_set(struct fb_err *e, int code, const char *kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fb_err_vset(e, code, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int fb_err_errno(struct fb_err *e, int errnum, const char *fmt, ...)
{
	if (!e)
		return -1;
	char what[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int code = FB_EXIT_FAILED;
	const char *kind = "io";
	if (errnum == ENOENT) {
		code = FB_EXIT_NOTFOUND;
		kind = "not_found";
	} else if (errnum == EEXIST) {
		code = FB_EXIT_CONFLICT;
		kind = "conflict";
	}
	return fb_err_set(e, code, kind, "%s: %s", what, strerror(errnum));
}

void fb_err_prefix(struct fb_err *e, const char *fmt, ...)
{
	if (!e)
		return;
	char pre[2048], old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	int n = snprintf(e->msg, sizeof(e->msg), "%s: ", pre);
	if (n < 0 || (size_t)n >= sizeof(e->msg))
		return;
	size_t room = sizeof(e->msg) - (size_t)n - 1;
	size_t ol = strnlen(old, room);
	memcpy(e->msg + n, old, ol);
	e->msg[(size_t)n + ol] = '\0';
}

void fb_err_where(struct fb_err *e, const char *file, int line, int end_line)
{
	if (!e)
		return;
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
	e->line = line;
	e->end_line = end_line;
}

void fb_err_clear(struct fb_err *e)
{
	memset(e, 0, sizeof(*e));
}
