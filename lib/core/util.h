/* Small helpers every module uses: allocation that cannot fail silently,
 * cleanup attributes instead of goto ladders, and a growable string. */
#ifndef FB_UTIL_H
#define FB_UTIL_H

#include "err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define FB_VERSION "0.1.0"

#define FB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *fb_xmalloc(size_t n);
void *fb_xcalloc(size_t n, size_t size);
void *fb_xaligned(size_t align, size_t n); /* posix_memalign; free() frees it */
void *fb_xrealloc(void *p, size_t n);
char *fb_xstrdup(const char *s);
char *fb_xstrndup(const char *s, size_t n);
char *fb_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void fb_freep(void *p)
{
	free(*(void **)p);
}
static inline void fb_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define FB_AUTOFREE __attribute__((cleanup(fb_freep)))
#define FB_AUTOCLOSE __attribute__((cleanup(fb_closep)))

/* A growable byte string, always NUL-terminated. */
struct fb_buf {
	char *data;
	size_t len;
	size_t cap;
};
#define FB_BUF_INIT { NULL, 0, 0 }

void fb_buf_reserve(struct fb_buf *b, size_t extra);
void fb_buf_add(struct fb_buf *b, const void *p, size_t n);
void fb_buf_addc(struct fb_buf *b, char c);
void fb_buf_adds(struct fb_buf *b, const char *s);
void fb_buf_addf(struct fb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fb_buf_vaddf(struct fb_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void fb_buf_reset(struct fb_buf *b);
/* Hands the string over to the caller; the buffer is empty afterwards. */
char *fb_buf_steal(struct fb_buf *b);
void fb_buf_free(struct fb_buf *b);
const char *fb_buf_str(const struct fb_buf *b);

/* A growable list of owned strings. */
struct fb_strv {
	char **v;
	size_t n;
	size_t cap;
};
#define FB_STRV_INIT { NULL, 0, 0 }
void fb_strv_push(struct fb_strv *s, const char *str);
void fb_strv_push_owned(struct fb_strv *s, char *str);
/* strcmp order */
void fb_strv_sort(struct fb_strv *s);
void fb_strv_free(struct fb_strv *s);

bool fb_str_has_prefix(const char *s, const char *prefix);
bool fb_str_has_suffix(const char *s, const char *suffix);
bool fb_ascii_isspace(int c);

/* Cleanup attributes for the two above: the buffer or list is freed when
 * the variable goes out of scope. */
static inline void fb_buf_freep(struct fb_buf *b)
{
	fb_buf_free(b);
}
static inline void fb_strv_freep(struct fb_strv *s)
{
	fb_strv_free(s);
}
#define FB_AUTOBUF __attribute__((cleanup(fb_buf_freep)))
#define FB_AUTOSTRV __attribute__((cleanup(fb_strv_freep)))

/* UTF-8: decode one code point at s (len bytes available). Invalid bytes
 * decode as themselves with width 1 and *valid = false. */
int fb_utf8_decode(const char *s, size_t len, unsigned *cp, bool *valid);
/* Go's unicode.IsSpace. */
bool fb_unicode_isspace(unsigned cp);

/* Read a whole file (or fd) into memory. */
struct fb_err;
int fb_read_fd(int fd, struct fb_buf *out, struct fb_err *err) FB_MUST_CHECK;
/* The same, refusing more than max bytes (an error of code FB_EXIT_USAGE,
 * kind "too_large", that names the limit). */
int fb_read_fd_max(int fd, struct fb_buf *out, size_t max, struct fb_err *err) FB_MUST_CHECK;
int fb_read_file(const char *path, struct fb_buf *out, struct fb_err *err) FB_MUST_CHECK;

/* The host as an OCI platform ("linux/amd64", "linux/arm/v7"). */
const char *fb_host_platform(void);

#endif
