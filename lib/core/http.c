#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "curlapi.h"
#include "err.h"
#include "progress.h"
#include "util.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void fb_http_init(void)
{
	pthread_once(&once, global_init);
}

void fb_http_defaults(void *curl, const char *ca_file)
{
	CURL *c = curl;
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "firebuild/" FB_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* big reads: a layer arrives in far fewer writes */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
	if (ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
}

struct sink {
	const struct fb_http_get *g;
	FILE *f;
	bool too_large;
	struct fb_progress *pg;
	uint64_t got;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t len = sz * n;
	if (s->f) {
		if (fwrite(p, 1, len, s->f) != len)
			return 0;
	} else {
		if (s->g->max && s->g->buf->len + len > s->g->max) {
			s->too_large = true;
			return 0;
		}
		fb_buf_add(s->g->buf, p, len);
	}
	s->got += len;
	if (s->pg)
		fb_progress_update(s->pg, 0, s->got);
	return len;
}

static int status_error(struct fb_err *err, const char *url, long code)
{
	if (code == 404)
		return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s: not found (HTTP 404)", url);
	return fb_err_set(err, FB_EXIT_FAILED, "http", "%s: HTTP %ld", url, code);
}

int fb_http_get(const struct fb_http_get *g, struct fb_err *err)
{
	fb_http_init();
	CURL *c = curl_easy_init();
	if (!c)
		return fb_err_set(err, FB_EXIT_FAILED, "network", "%s: cannot start a transfer", g->url);
	char ebuf[CURL_ERROR_SIZE] = "";
	fb_http_defaults(c, g->ca_file);
	curl_easy_setopt(c, CURLOPT_URL, g->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	long code = 0;
	CURLcode cc = CURLE_OK;
	if (g->head_first) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	struct sink s = { .g = g };
	int ret = 0;
	if (cc == CURLE_OK && code < 400) {
		if (g->path && !(s.f = fopen(g->path, "we"))) {
			curl_easy_cleanup(c);
			return fb_err_errno(err, errno, "%s", g->path);
		}
		if (g->progress) {
			s.pg = fb_progress_new("download", 1);
			fb_progress_item(s.pg, 0, g->progress, 0);
		}
		ebuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (g->mtime) {
			long t = -1;
			curl_easy_getinfo(c, CURLINFO_FILETIME, &t);
			*g->mtime = t > 0 ? (time_t)t : 0;
		}
		if (s.f && fclose(s.f) != 0 && cc == CURLE_OK)
			ret = fb_err_errno(err, errno, "%s", g->path);
	}
	if (ret == 0) {
		if (s.too_large)
			ret = fb_err_set(err, FB_EXIT_FAILED, "too_large", "%s: larger than %zu bytes, the limit", g->url, g->max);
		else if (cc != CURLE_OK)
			ret = fb_err_set(err, FB_EXIT_FAILED, "network", "%s: %s", g->url, ebuf[0] ? ebuf : curl_easy_strerror(cc));
		else if (code >= 400)
			ret = status_error(err, g->url, code);
	}
	if (s.pg) {
		fb_progress_end(s.pg, 0, ret == 0 ? "done" : "failed");
		fb_progress_free(s.pg);
	}
	curl_easy_cleanup(c);
	return ret;
}
