#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "err.h"

static void oom(void)
{
	/* Running out of memory has no sensible recovery in a short-lived tool. */
	static const char msg[] = "firebuild: error: out of memory\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	abort();
}

void *fb_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *fb_xaligned(size_t align, size_t n)
{
	void *p = NULL;
	if (posix_memalign(&p, align, n ? n : 1) != 0)
		oom();
	return p;
}

void *fb_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *fb_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *fb_xstrdup(const char *s)
{
	return fb_xstrndup(s, strlen(s));
}

char *fb_xstrndup(const char *s, size_t n)
{
	char *p = fb_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *fb_xasprintf(const char *fmt, ...)
{
	struct fb_buf b = FB_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	fb_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return fb_buf_steal(&b);
}

void fb_buf_reserve(struct fb_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = fb_xrealloc(b->data, cap);
	b->cap = cap;
}

void fb_buf_add(struct fb_buf *b, const void *p, size_t n)
{
	fb_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void fb_buf_addc(struct fb_buf *b, char c)
{
	fb_buf_add(b, &c, 1);
}

void fb_buf_adds(struct fb_buf *b, const char *s)
{
	fb_buf_add(b, s, strlen(s));
}

void fb_buf_vaddf(struct fb_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	char probe[1];
	int n = vsnprintf(probe, sizeof(probe), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	fb_buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void fb_buf_addf(struct fb_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fb_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void fb_buf_reset(struct fb_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *fb_buf_steal(struct fb_buf *b)
{
	char *p = b->data ? b->data : fb_xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void fb_buf_free(struct fb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *fb_buf_str(const struct fb_buf *b)
{
	return b->data ? b->data : "";
}

void fb_strv_push_owned(struct fb_strv *s, char *str)
{
	if (s->n + 1 >= s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = fb_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

void fb_strv_push(struct fb_strv *s, const char *str)
{
	fb_strv_push_owned(s, fb_xstrdup(str));
}

void fb_strv_free(struct fb_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

bool fb_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool fb_str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

bool fb_ascii_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int fb_utf8_decode(const char *s, size_t len, unsigned *cp, bool *valid)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned c = u[0];
	int need;
	unsigned min;
	*valid = true;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		need = 1;
		c &= 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		need = 2;
		c &= 0x0F;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		need = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		goto bad;
	}
	if ((size_t)need >= len)
		goto bad;
	for (int i = 1; i <= need; i++) {
		if ((u[i] & 0xC0) != 0x80)
			goto bad;
		c = (c << 6) | (u[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		goto bad;
	*cp = c;
	return need + 1;
bad:
	*valid = false;
	*cp = u[0];
	return 1;
}

bool fb_unicode_isspace(unsigned cp)
{
	switch (cp) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return true;
	}
	return cp >= 0x2000 && cp <= 0x200A;
}

int fb_read_fd_max(int fd, struct fb_buf *out, size_t max, struct fb_err *err)
{
	size_t start = out->len;
	for (;;) {
		fb_buf_reserve(out, 65536);
		size_t room = out->cap - out->len - 1;
		/* one byte past the limit tells "too large" from "exactly max" */
		if (max != SIZE_MAX && room > max - (out->len - start) + 1)
			room = max - (out->len - start) + 1;
		ssize_t n = read(fd, out->data + out->len, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fb_err_errno(err, errno, "read");
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len - start > max)
			return fb_err_set(err, FB_EXIT_USAGE, "too_large", "input larger than %zu bytes (%zu MiB), the limit", max,
					  max >> 20);
	}
	return 0;
}

int fb_read_fd(int fd, struct fb_buf *out, struct fb_err *err)
{
	return fb_read_fd_max(fd, out, SIZE_MAX, err);
}

int fb_read_file(const char *path, struct fb_buf *out, struct fb_err *err)
{
	FB_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fb_err_errno(err, errno, "unable to open %s", path);
	if (fb_read_fd(fd, out, err) < 0) {
		fb_err_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

static int strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fb_strv_sort(struct fb_strv *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(char *), strv_cmp);
}

/* The host as an OCI platform: os/arch[/variant]. */
const char *fb_host_platform(void)
{
	static char buf[96];
	if (buf[0])
		return buf;
	struct utsname u;
	const char *arch = "amd64";
	if (uname(&u) == 0) {
		if (!strcmp(u.machine, "aarch64") || !strcmp(u.machine, "arm64"))
			arch = "arm64";
		else if (!strncmp(u.machine, "armv7", 5))
			arch = "arm/v7";
		else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386"))
			arch = "386";
		else if (!strcmp(u.machine, "s390x") || !strcmp(u.machine, "ppc64le") || !strcmp(u.machine, "riscv64"))
			arch = u.machine;
	}
	snprintf(buf, sizeof(buf), "linux/%s", arch);
	return buf;
}
