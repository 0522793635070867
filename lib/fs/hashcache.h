/* What a context file's bytes hash to, remembered between builds (as
 * BuildKit's content hash cache does): keyed by the file's device, inode,
 * size, modification and change times, so a file whose inode says nothing
 * changed is not read again. A write, a truncate, a chmod, a new xattr or
 * a rename over it changes its ctime (or its inode), and the entry no
 * longer matches. A file changed in the last second is not remembered: a
 * write in the same clock tick as the hash could keep the times it had.
 * The table lives in one file (the store's, per context; a line a file,
 * and a sha256 of it all at the end): a damaged or torn file is ignored
 * whole, a line that does not parse on its own. */
#ifndef FB_HASHCACHE_H
#define FB_HASHCACHE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "err.h"

struct fb_hashcache;

/* Load path (missing or unreadable: an empty table). */
struct fb_hashcache *fb_hashcache_open(const char *path);
/* The digest ("sha256:<hex>") remembered for the file st describes. */
bool fb_hashcache_get(struct fb_hashcache *hc, const struct stat *st, char digest[72]);
/* Remember it, unless the file changed too lately to be sure (false). */
bool fb_hashcache_put(struct fb_hashcache *hc, const struct stat *st, const char *digest);
/* Hits and misses so far (for logs and tests). */
void fb_hashcache_counts(const struct fb_hashcache *hc, unsigned long *hits, unsigned long *misses);
/* Write the table back when it changed (atomically); entries not used
 * since it was opened are kept unless they outnumber the used ones. */
int fb_hashcache_save(struct fb_hashcache *hc, struct fb_err *err) FB_MUST_CHECK;
void fb_hashcache_free(struct fb_hashcache *hc);

#endif
