#include "layerentry.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "archiveapi.h"
#include "err.h"

static int hostile(struct fb_err *err, const char *layer, const char *entry, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int hostile(struct fb_err *err, const char *layer, const char *entry, const char *fmt, ...)
{
	char why[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* a name of thousands of bytes would push the reason out of the message */
	size_t el = strlen(entry);
	return fb_err_set(err, FB_EXIT_USAGE, "hostile_layer", "layer %s: entry %.*s%s: %s", layer, el > 256 ? 256 : (int)el,
			  entry, el > 256 ? "..." : "", why);
}

int fb_lentry_split(const char *name, struct fb_strv *out)
{
	size_t keep = out->n;
	for (const char *p = name; *p;) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (!n || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (!out->n) {
				/* back to what the caller had: nothing half-split */
				while (out->n > keep) {
					free(out->v[--out->n]);
					out->v[out->n] = NULL;
				}
				return -1;
			}
			free(out->v[--out->n]);
			out->v[out->n] = NULL;
			continue;
		}
		fb_strv_push_owned(out, fb_xstrndup(s, n));
	}
	return 0;
}

int fb_lentry_join(char *const *dir, size_t ndir, const char *target, struct fb_strv *out)
{
	if (target[0] != '/')
		for (size_t i = 0; i < ndir; i++)
			fb_strv_push(out, dir[i]);
	if (fb_lentry_split(target, out) < 0) {
		fb_strv_free(out);
		return -1;
	}
	return 0;
}

static size_t joined_len(const struct fb_strv *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += strlen(c->v[i]) + 1;
	return n;
}

/* The checks every clean path gets: component lengths, the total, and no
 * whiteout name used as a directory on the way. */
static int check_components(const struct fb_strv *c, const char *what, const char *layer, const char *entry,
			    bool last_may_whiteout, struct fb_err *err)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strlen(c->v[i]) > 255)
			return hostile(err, layer, entry, "%sa name component longer than 255 bytes", what);
		if (!strncmp(c->v[i], ".wh.", 4) && (i + 1 < c->n || !last_may_whiteout))
			return hostile(err, layer, entry, "%sthe whiteout name %s used as a %s", what, c->v[i],
				       i + 1 < c->n ? "directory" : "link target");
	}
	if (joined_len(c) > FB_LENTRY_MAX_PATH)
		return hostile(err, layer, entry, "%sa name longer than %d bytes", what, FB_LENTRY_MAX_PATH);
	return 0;
}

int fb_lentry_check(struct archive_entry *ae, const char *layer, struct fb_lentry *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	const char *entry = archive_entry_pathname(ae);
	if (!entry)
		return hostile(err, layer, "(no name)", "an entry without a name");
	if (fb_lentry_split(entry, &out->comp) < 0)
		return hostile(err, layer, entry, "the name climbs above the root with ..");
	if (check_components(&out->comp, "", layer, entry, true, err) < 0)
		return -1;
	int64_t size = archive_entry_size(ae);
	if (size < 0 || (uint64_t)size > FB_LENTRY_MAX_SIZE)
		return hostile(err, layer, entry, "an absurd size (%" PRId64 " bytes)", size);
	out->size = (uint64_t)size;
	mode_t type = archive_entry_filetype(ae);
	const char *hard = archive_entry_hardlink(ae);
	if (!out->comp.n) {
		/* "./", "/" or "": the root's own metadata; nothing else names it */
		if (type != AE_IFDIR || hard)
			return hostile(err, layer, entry, "an entry for the root that is not a directory");
		out->kind = FB_LENTRY_ROOT;
		return 0;
	}
	const char *base = out->comp.v[out->comp.n - 1];
	if (!strncmp(base, ".wh.", 4)) {
		/* by name, whatever its type, as Docker reads them */
		const char *w = base + 4;
		if (!strcmp(w, ".wh..opq")) {
			out->kind = FB_LENTRY_OPAQUE;
			return 0;
		}
		if (!strncmp(w, ".wh.", 4))
			return hostile(err, layer, entry, "a reserved whiteout name (.wh..wh. is only .wh..wh..opq)");
		if (!*w || !strcmp(w, ".") || !strcmp(w, ".."))
			return hostile(err, layer, entry, "an invalid whiteout (it names no entry)");
		out->kind = FB_LENTRY_WHITEOUT;
		out->wname = w;
		return 0;
	}
	if (hard) {
		if (!*hard)
			return hostile(err, layer, entry, "a hard link without a target");
		if (fb_lentry_split(hard, &out->target) < 0)
			return hostile(err, layer, entry, "hard link target %s: the name climbs above the root with ..", hard);
		if (!out->target.n)
			return hostile(err, layer, entry, "a hard link to the root");
		if (check_components(&out->target, "hard link target: ", layer, entry, false, err) < 0)
			return -1;
		out->kind = FB_LENTRY_HARDLINK;
		return 0;
	}
	switch (type) {
	case AE_IFREG:
		out->kind = FB_LENTRY_FILE;
		return 0;
	case AE_IFDIR:
		out->kind = FB_LENTRY_DIR;
		return 0;
	case AE_IFLNK: {
		const char *t = archive_entry_symlink(ae);
		if (!t || !*t || strlen(t) > FB_LENTRY_MAX_PATH)
			return hostile(err, layer, entry, "a symbolic link with an empty or overlong target");
		out->kind = FB_LENTRY_SYMLINK;
		out->symlink = t;
		return 0;
	}
	case AE_IFCHR:
		out->kind = FB_LENTRY_CHR;
		return 0;
	case AE_IFBLK:
		out->kind = FB_LENTRY_BLK;
		return 0;
	case AE_IFIFO:
		out->kind = FB_LENTRY_FIFO;
		return 0;
	default:
		return hostile(err, layer, entry, "an unsupported entry type 0%o", (unsigned)type);
	}
}

void fb_lentry_free(struct fb_lentry *e)
{
	fb_strv_free(&e->comp);
	fb_strv_free(&e->target);
	e->wname = e->symlink = NULL;
}
