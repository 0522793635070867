#include "store_index.h"

#include <errno.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

int fb_store_index_read(const struct fb_store *s, struct fb_buf *text, struct fb_err *err)
{
	char *p = fb_xasprintf("%s/index.json", s->root);
	int r = 0;
	if (access(p, F_OK) == 0 || errno != ENOENT)
		r = fb_read_file(p, text, err);
	free(p);
	return r;
}
