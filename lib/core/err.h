/* Errors travel up with context: a failing function fills a struct fb_err
 * and returns -1 (or NULL); callers prepend what they know; only main
 * prints it and turns it into an exit code. */
#ifndef FB_ERR_H
#define FB_ERR_H

#include <stdarg.h>

/* Exit codes shared by every tool (DESIGN.md). */
enum {
	FB_EXIT_OK = 0,
	FB_EXIT_FAILED = 1,   /* the operation failed */
	FB_EXIT_USAGE = 2,    /* bad usage or invalid input */
	FB_EXIT_NOTFOUND = 3, /* something named does not exist */
	FB_EXIT_CONFLICT = 4, /* name or tag in use, store locked */
};

/* On a function returning 0/-1 (or NULL) and filling a struct fb_err: its
 * result must be looked at (docs/architecture.md). */
#define FB_MUST_CHECK __attribute__((warn_unused_result))
/* A result dropped on purpose (gcc does not take a (void) cast for
 * warn_unused_result): say why next to it. */
#define FB_IGNORE(expr)          \
	do {                     \
		if (expr) {      \
		}                \
	} while (0)

struct fb_err {
	int code;        /* one of FB_EXIT_*; 0 while unset */
	char kind[32];   /* machine-readable class: "syntax", "io", ... */
	char msg[4096];
	char file[512];  /* where: file and line, when known */
	int line;
	int end_line;
};

/* All return -1 so callers can write `return fb_err_set(...)`; they set an
 * error and cannot fail, so their result may be dropped (no FB_MUST_CHECK). */
int fb_err_set(struct fb_err *e, int code, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int fb_err_vset(struct fb_err *e, int code, const char *kind, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* "message: strerror(errnum)"; ENOENT maps to not-found, EEXIST to conflict. */
int fb_err_errno(struct fb_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepend "context: " to the message. */
void fb_err_prefix(struct fb_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fb_err_where(struct fb_err *e, const char *file, int line, int end_line);
void fb_err_clear(struct fb_err *e);
/* The kind name of an exit code ("invalid", "not_found", ...). */
const char *fb_err_kind_of(int code);

#endif
