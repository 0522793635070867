/* A shared library loaded when first used (dlopen by its soname), not at
 * every start of every tool: the libraries a tool links are all mapped and
 * relocated before main, whether it needs them this time or not, and for
 * libcurl, libarchive and libgit2 (with the TLS, XML, Unicode, Kerberos,
 * SSH... libraries under them) that was most of a tool's start-up and of
 * a cached rebuild's time. Each one has a module here (curlapi,
 * archiveapi, gitapi) whose header stands in for the library's own: the
 * calls read the same and go through function pointers this fills. */
#ifndef FB_LAZYLIB_H
#define FB_LAZYLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* a function of the library: its name and the function pointer to fill */
struct fb_lazysym {
	const char *name;
	void *fnptr; /* the address of the pointer (a function pointer object) */
};

struct fb_lazylib {
	const char *soname;
	const struct fb_lazysym *syms;
	size_t nsyms;
	pthread_mutex_t mu;
	int state; /* 0: not tried, 1: loaded, -1: cannot be */
	char why[256];
};

#define FB_LAZYLIB_INIT(so, syms) { (so), (syms), sizeof(syms) / sizeof((syms)[0]), PTHREAD_MUTEX_INITIALIZER, 0, "" }

/* Load it once (thread-safe; never unloaded): true when every function is
 * there. */
bool fb_lazylib_load(struct fb_lazylib *l);
/* Why it could not be loaded ("" when it was). */
const char *fb_lazylib_why(const struct fb_lazylib *l);

#endif
