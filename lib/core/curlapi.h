/* libcurl, loaded when first used (lazylib.h: dlopen of libcurl.so.4),
 * not at every start: with the TLS, Kerberos, LDAP, SSH... libraries under
 * it, it was 30 of a tool's shared libraries and most of its start-up time
 * (symbol lookups), paid by every tool of a build pipeline, most of which
 * never speak HTTP. Include this instead of <curl/curl.h>: the curl_* calls
 * below go through it unchanged. Not loadable (no libcurl.so.4), the
 * calls fail as libcurl's own do: curl_global_init CURLE_FAILED_INIT,
 * curl_easy_init / curl_multi_init / curl_slist_append / curl_easy_escape
 * NULL, the others an error code or nothing. */
#ifndef FB_CURLAPI_H
#define FB_CURLAPI_H

#include <stdbool.h>

/* the calls are macros here, not curl.h's type-checking ones */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

struct fb_curl_api {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode (*easy_perform)(CURL *);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
};
extern struct fb_curl_api fb_curl;

/* Load libcurl once (thread-safe); false when it cannot be. */
bool fb_curl_load(void);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init(f) (fb_curl_load() ? fb_curl.global_init(f) : CURLE_FAILED_INIT)
#define curl_easy_init() (fb_curl_load() ? fb_curl.easy_init() : (CURL *)0)
#define curl_easy_setopt(c, o, v) (fb_curl_load() ? fb_curl.easy_setopt(c, o, v) : CURLE_FAILED_INIT)
#define curl_easy_getinfo(c, i, v) (fb_curl_load() ? fb_curl.easy_getinfo(c, i, v) : CURLE_FAILED_INIT)
#define curl_easy_perform(c) (fb_curl_load() ? fb_curl.easy_perform(c) : CURLE_FAILED_INIT)
#define curl_easy_cleanup(c) ((void)(fb_curl_load() ? (fb_curl.easy_cleanup(c), 0) : 0))
#define curl_easy_reset(c) ((void)(fb_curl_load() ? (fb_curl.easy_reset(c), 0) : 0))
#define curl_easy_strerror(e) (fb_curl_load() ? fb_curl.easy_strerror(e) : "libcurl (libcurl.so.4) could not be loaded")
#define curl_easy_escape(c, s, n) (fb_curl_load() ? fb_curl.easy_escape(c, s, n) : (char *)0)
#define curl_free(p) ((void)(fb_curl_load() ? (fb_curl.free(p), 0) : 0))
#define curl_slist_append(l, s) (fb_curl_load() ? fb_curl.slist_append(l, s) : (struct curl_slist *)0)
#define curl_slist_free_all(l) ((void)(fb_curl_load() ? (fb_curl.slist_free_all(l), 0) : 0))
#define curl_multi_init() (fb_curl_load() ? fb_curl.multi_init() : (CURLM *)0)
#define curl_multi_add_handle(m, c) (fb_curl_load() ? fb_curl.multi_add_handle(m, c) : CURLM_INTERNAL_ERROR)
#define curl_multi_remove_handle(m, c) (fb_curl_load() ? fb_curl.multi_remove_handle(m, c) : CURLM_INTERNAL_ERROR)
#define curl_multi_perform(m, r) (fb_curl_load() ? fb_curl.multi_perform(m, r) : CURLM_INTERNAL_ERROR)
#define curl_multi_info_read(m, l) (fb_curl_load() ? fb_curl.multi_info_read(m, l) : (CURLMsg *)0)
#define curl_multi_poll(m, f, n, t, r) (fb_curl_load() ? fb_curl.multi_poll(m, f, n, t, r) : CURLM_INTERNAL_ERROR)
#define curl_multi_cleanup(m) (fb_curl_load() ? fb_curl.multi_cleanup(m) : CURLM_INTERNAL_ERROR)

#endif
