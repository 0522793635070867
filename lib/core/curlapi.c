/* libcurl by dlopen, on first use (curlapi.h, lazylib.h). */
#include "curlapi.h"

#include "lazylib.h"

struct fb_curl_api fb_curl;

static const struct fb_lazysym syms[] = {
	{ "curl_global_init", &fb_curl.global_init },
	{ "curl_easy_init", &fb_curl.easy_init },
	{ "curl_easy_setopt", &fb_curl.easy_setopt },
	{ "curl_easy_getinfo", &fb_curl.easy_getinfo },
	{ "curl_easy_perform", &fb_curl.easy_perform },
	{ "curl_easy_cleanup", &fb_curl.easy_cleanup },
	{ "curl_easy_reset", &fb_curl.easy_reset },
	{ "curl_easy_strerror", &fb_curl.easy_strerror },
	{ "curl_easy_escape", &fb_curl.easy_escape },
	{ "curl_free", &fb_curl.free },
	{ "curl_slist_append", &fb_curl.slist_append },
	{ "curl_slist_free_all", &fb_curl.slist_free_all },
	{ "curl_multi_init", &fb_curl.multi_init },
	{ "curl_multi_add_handle", &fb_curl.multi_add_handle },
	{ "curl_multi_remove_handle", &fb_curl.multi_remove_handle },
	{ "curl_multi_perform", &fb_curl.multi_perform },
	{ "curl_multi_info_read", &fb_curl.multi_info_read },
	{ "curl_multi_poll", &fb_curl.multi_poll },
	{ "curl_multi_cleanup", &fb_curl.multi_cleanup },
};
static struct fb_lazylib lib = FB_LAZYLIB_INIT("libcurl.so.4", syms);

bool fb_curl_load(void)
{
	return fb_lazylib_load(&lib);
}
