/* The checks of one layer entry, owned here so that both appliers — the
 * ext4 writer (lib/rootfs) and the directory tree (lib/tree) — accept and
 * refuse the same entries (DESIGN.md: nothing a layer holds can write
 * outside the root file system). An entry is read into clean components
 * and a kind; names that climb above the root with "..", overlong names,
 * degenerate whiteouts (".wh.", ".wh..", ".wh...", ".wh..wh.*" other than
 * the opaque marker, a whiteout name used as a directory), hard links to
 * the root or above it, empty or overlong link targets, absurd sizes and
 * unknown types are refused as hostile (FB_EXIT_USAGE, kind
 * "hostile_layer", "layer NAME: entry PATH: why"). Symbolic links met on
 * the way to an entry are resolved with fb_lentry_join, the same way in
 * both appliers: absolute targets start at the root, ".." is lexical, and
 * a target that climbs above the root is refused. */
#ifndef FB_LAYERENTRY_H
#define FB_LAYERENTRY_H

#include <stdint.h>

#include "util.h"

struct archive_entry;
#include "err.h"

struct fb_err;

/* Bigger entries are refused as absurd (and would not fit anywhere). */
#define FB_LENTRY_MAX_SIZE (1ULL << 40)
/* Symbolic links followed on the way to one entry. */
#define FB_LENTRY_MAX_HOPS 40
/* A clean name or link target longer than this is refused (PATH_MAX). */
#define FB_LENTRY_MAX_PATH 4095

enum fb_lentry_kind {
	FB_LENTRY_ROOT,     /* the root directory itself: its metadata */
	FB_LENTRY_WHITEOUT, /* .wh.NAME: hides NAME (wname) of lower layers */
	FB_LENTRY_OPAQUE,   /* .wh..wh..opq: hides what lower layers put in the directory */
	FB_LENTRY_HARDLINK, /* a second name for `target` */
	FB_LENTRY_FILE,
	FB_LENTRY_DIR,
	FB_LENTRY_SYMLINK,
	FB_LENTRY_CHR,
	FB_LENTRY_BLK,
	FB_LENTRY_FIFO,
};

struct fb_lentry {
	enum fb_lentry_kind kind;
	struct fb_strv comp;   /* the name, cleaned: no "", ".", ".." components */
	struct fb_strv target; /* a hard link's target, cleaned the same way */
	const char *wname;     /* whiteout: the hidden name (inside comp's last) */
	const char *symlink;   /* a symbolic link's target (the archive entry's) */
	uint64_t size;
};

/* Check one entry of layer `layer` (its name in messages). *out is filled
 * on success and must be freed with fb_lentry_free (also after failure). */
int fb_lentry_check(struct archive_entry *ae, const char *layer, struct fb_lentry *out, struct fb_err *err) FB_MUST_CHECK;
void fb_lentry_free(struct fb_lentry *e);

/* Split `name` into out (appended) the way entries are cleaned; -1 when a
 * ".." would climb above what out already holds (nothing is kept then). */
int fb_lentry_split(const char *name, struct fb_strv *out);

/* Where a symbolic link leads: `target` read from the directory `dir` (its
 * clean components, ndir of them), as a chroot would read it. out gets the
 * clean components; -1 when the target climbs above the root. */
int fb_lentry_join(char *const *dir, size_t ndir, const char *target, struct fb_strv *out);

#endif
