/* HTTP(S) with the project's defaults, in one place: only http and https
 * (redirects too, at most 10), our User-Agent, a 30 s connect timeout, a
 * transfer that stalls (under 1 byte/s for 60 s) is cut, no signals, big
 * reads, an extra CA bundle when given. fb_http_get is the one GET path
 * (Dockerfile sources, ADD of URLs); the registry client keeps its own
 * requests (auth, ranges, parallel blobs) on the same defaults. */
#ifndef FB_HTTP_H
#define FB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "err.h"
#include "util.h"

/* curl_global_init, once per process (thread-safe). */
void fb_http_init(void);
/* The defaults on an easy handle (a CURL *). */
void fb_http_defaults(void *curl, const char *ca_file);

struct fb_http_get {
	const char *url;
	const char *ca_file;  /* NULL: the system's */
	bool head_first;      /* a HEAD before the GET: a missing file is
	                       * answered before any download */
	const char *progress; /* a label: progress on stderr (lib/progress) */
	/* where the body goes: a file (path) or memory (buf, at most max
	 * bytes, 0: no limit) */
	const char *path;
	struct fb_buf *buf;
	size_t max;
	time_t *mtime;        /* Last-Modified, 0 when none (may be NULL) */
};

/* GET (following redirects). Errors name the URL: a transfer failure is
 * FB_EXIT_FAILED kind "network", 404 FB_EXIT_NOTFOUND kind "not_found"
 * ("URL: not found (HTTP 404)"), another status >= 400 FB_EXIT_FAILED
 * kind "http" ("URL: HTTP 500"), a body over max kind "too_large". */
int fb_http_get(const struct fb_http_get *g, struct fb_err *err) FB_MUST_CHECK;

#endif
