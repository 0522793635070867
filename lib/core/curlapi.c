/* libcurl by dlopen, on first use (curlapi.h). */
#include "curlapi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

struct fb_curl_api fb_curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool ok;

/* a function pointer from dlsym's object pointer, without a cast between
 * the two (ISO C has none) */
#define SYM(field, name)                                    \
	do {                                                \
		void *p_ = dlsym(h, name);                  \
		if (!p_)                                    \
			return;                             \
		memcpy(&fb_curl.field, &p_, sizeof(p_));    \
	} while (0)

static void load(void)
{
	/* never closed: libcurl's handles and its exit handlers live as
	 * long as the process */
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_reset, "curl_easy_reset");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(easy_escape, "curl_easy_escape");
	SYM(free, "curl_free");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(multi_init, "curl_multi_init");
	SYM(multi_add_handle, "curl_multi_add_handle");
	SYM(multi_remove_handle, "curl_multi_remove_handle");
	SYM(multi_perform, "curl_multi_perform");
	SYM(multi_info_read, "curl_multi_info_read");
	SYM(multi_poll, "curl_multi_poll");
	SYM(multi_cleanup, "curl_multi_cleanup");
	ok = true;
}

bool fb_curl_load(void)
{
	pthread_once(&once, load);
	return ok;
}
