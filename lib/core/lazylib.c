/* Libraries loaded on first use (lazylib.h). */
#include "lazylib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

bool fb_lazylib_load(struct fb_lazylib *l)
{
	int s = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
	if (s)
		return s > 0;
	pthread_mutex_lock(&l->mu);
	if (!l->state) {
		/* never closed: its handles and exit handlers live as long as
		 * the process */
		void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
		s = h ? 1 : -1;
		if (!h)
			snprintf(l->why, sizeof(l->why), "%s", dlerror());
		for (size_t i = 0; h && i < l->nsyms; i++) {
			void *p = dlsym(h, l->syms[i].name);
			if (!p) {
				snprintf(l->why, sizeof(l->why), "%s: no %s", l->soname, l->syms[i].name);
				s = -1;
				break;
			}
			/* an object pointer to a function pointer, as POSIX
			 * dlsym allows, without a cast ISO C lacks */
			memcpy(l->syms[i].fnptr, &p, sizeof(p));
		}
		__atomic_store_n(&l->state, s, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&l->mu);
	return l->state > 0;
}

const char *fb_lazylib_why(const struct fb_lazylib *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_ACQUIRE) < 0 ? l->why : "";
}
