/* Layers applied to the in-memory tree of the ext4 writer (rootfs.h):
 * paths resolved inside the root only, whiteouts, hard links, every entry
 * checked (lib/layerentry) before it is written. */
#include "archiveapi.h"
#include "rootfs.h"
#include "ext4tree.h"

#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "follow.h"
#include "layerentry.h"
#include "proc.h"
#include "unpack.h"
#include "util.h"

/* ---- paths ---- */

/* Split a name (--add-file's) into clean components, as layer entries are
 * (lib/layerentry); ".." may not climb above the root. */
static int split_path(struct fb_rootfs *r, const char *name, struct fb_strv *out, struct fb_err *err)
{
	if (fb_lentry_split(name, out) < 0)
		return rfs_hostile(r, err, name, "the name climbs above the root with ..");
	for (size_t i = 0; i < out->n; i++)
		if (strlen(out->v[i]) > 255)
			return rfs_hostile(r, err, name, "a name component longer than 255 bytes");
	return 0;
}

static struct node *lookup_dir(struct fb_rootfs *r, struct node *dir, const struct fb_strv *comp, size_t ncomp,
			       bool create, const char *entry, int depth, struct fb_err *err);

/* Follow the symlink node `link` (in directory `dir`) to a directory, the
 * way a chroot would: absolute targets start at the root; a target that
 * climbs above the root leaves the image and is refused. */
static struct node *follow(struct fb_rootfs *r, struct node *link, const char *target, const char *entry, int depth,
			   struct fb_err *err)
{
	if (depth > FB_LENTRY_MAX_HOPS) {
		rfs_hostile(r, err, entry, "too many levels of symbolic links");
		return NULL;
	}
	/* ".." resolves against the link's real position (lib/layerentry) */
	struct fb_strv base = FB_STRV_INIT, comp = FB_STRV_INIT;
	for (struct node *p = link->parent; p && p != r->root; p = p->parent)
		fb_strv_push(&base, p->name);
	for (size_t i = 0; i < base.n / 2; i++) {
		char *t = base.v[i];
		base.v[i] = base.v[base.n - 1 - i];
		base.v[base.n - 1 - i] = t;
	}
	int jr = fb_lentry_join(base.v, base.n, target, &comp);
	fb_strv_free(&base);
	if (jr < 0) {
		rfs_hostile(r, err, entry, "writes through the symbolic link %s -> %s, which points outside the root",
			link->name, target);
		return NULL;
	}
	struct node *d = lookup_dir(r, r->root, &comp, comp.n, false, entry, depth + 1, err);
	fb_strv_free(&comp);
	return d;
}

/* Walk ncomp components from dir; missing directories are created when
 * asked (0755 root, as Docker does), symlinks are followed. */
static struct node *lookup_dir(struct fb_rootfs *r, struct node *dir, const struct fb_strv *comp, size_t ncomp,
			       bool create, const char *entry, int depth, struct fb_err *err)
{
	for (size_t i = 0; i < ncomp; i++) {
		struct node *k = rfs_tab_find(r, dir, comp->v[i]);
		if (!k) {
			if (!create) {
				fb_err_set(err, FB_EXIT_USAGE, "layer", "layer %s: entry %s: %s does not exist",
					   r->layer_name, entry, comp->v[i]);
				return NULL;
			}
			k = rfs_node_new(r, dir, comp->v[i]);
			k->mode = S_IFDIR | 0755;
			k->mtime = r->fs->now;
			if (rfs_new_ino(r, dir, k->mode, &k->ino, err) < 0)
				return NULL;
			r->st.dirs++;
		} else if (S_ISLNK(k->mode)) {
			/* the target is kept in the node name list? no: read it back */
			char target[4096];
			struct ext2_inode_large in;
			errcode_t e = ext2fs_read_inode_full(r->fs, k->ino, (struct ext2_inode *)&in, sizeof(in));
			if (e) {
				rfs_ext2_err(err, e, "read link %s", k->name);
				return NULL;
			}
			size_t tl = EXT2_I_SIZE(&in);
			if (tl >= sizeof(target)) {
				rfs_hostile(r, err, entry, "symbolic link target too long");
				return NULL;
			}
			if (ext2fs_is_fast_symlink((struct ext2_inode *)&in)) {
				memcpy(target, in.i_block, tl);
			} else {
				ext2_file_t f;
				unsigned got = 0;
				e = ext2fs_file_open2(r->fs, k->ino, (struct ext2_inode *)&in, 0, &f);
				if (!e) {
					e = ext2fs_file_read(f, target, (unsigned)tl, &got);
					ext2fs_file_close(f);
				}
				if (e) {
					rfs_ext2_err(err, e, "read link %s", k->name);
					return NULL;
				}
			}
			target[tl] = '\0';
			k = follow(r, k, target, entry, depth, err);
			if (!k)
				return NULL;
		} else if (!S_ISDIR(k->mode)) {
			fb_err_set(err, FB_EXIT_USAGE, "layer", "layer %s: entry %s: %s is not a directory", r->layer_name,
				   entry, comp->v[i]);
			return NULL;
		}
		dir = k;
	}
	return dir;
}

/* ---- applying entries ---- */

/* .wh.NAME hides NAME; .wh..wh..opq (wname NULL) everything lower
 * layers put in dir. lib/layerentry has refused degenerate names. */
static int apply_whiteout(struct fb_rootfs *r, struct node *dir, const char *wname, struct fb_err *err)
{
	r->st.whiteouts++;
	if (!wname) {
		for (size_t i = dir->nkids; i-- > 0;) {
			struct node *k = dir->kids[i];
			if (k->layer < r->layer && !k->keep && rfs_remove_tree(r, k, true, err) < 0)
				return -1;
		}
		return 0;
	}
	struct node *k = rfs_tab_find(r, dir, wname);
	if (k && k->layer < r->layer)
		return rfs_remove_tree(r, k, true, err);
	return 0;
}

static bool is_below(const struct node *n, const struct node *top)
{
	for (; n; n = n->parent)
		if (n == top)
			return true;
	return false;
}

/* A hard link entry: a second name in dir for the target's inode. */
static int apply_hardlink(struct fb_rootfs *r, struct node *dir, const char *base, struct node *old,
			  const struct fb_lentry *le, const char *entry, const char *hard, struct fb_err *err)
{
	struct fb_err terr = { 0 };
	const struct fb_strv *tc = &le->target;
	struct node *tdir = lookup_dir(r, r->root, tc, tc->n - 1, false, entry, 0, &terr);
	struct node *t = tdir ? rfs_tab_find(r, tdir, tc->v[tc->n - 1]) : NULL;
	if (t && t == old)
		return 0;
	/* a target inside what this entry replaces is gone once it is replaced */
	if (!t || (old && is_below(t, old))) {
		if (!strcmp(terr.kind, "hostile_layer")) {
			*err = terr;
			return -1;
		}
		return rfs_hostile(r, err, entry, "hard link to %s, which is not in the image", hard);
	}
	if (S_ISDIR(t->mode))
		return rfs_hostile(r, err, entry, "a hard link to a directory (%s)", hard);
	if (old && rfs_remove_tree(r, old, true, err) < 0)
		return -1;
	struct node *n = rfs_node_new(r, dir, base);
	n->mode = t->mode;
	n->ino = t->ino;
	r->nlink[t->ino]++;
	r->st.hardlinks++;
	return 0;
}

static int apply_entry(struct fb_rootfs *r, struct archive *a, struct archive_entry *ae, struct fb_err *err)
{
	const char *entry = archive_entry_pathname(ae);
	struct fb_lentry le;
	int ret = -1;
	struct xattr *xs = NULL;
	size_t nxs = 0;
	if (fb_lentry_check(ae, r->layer_name, &le, err) < 0)
		goto out;
	r->st.entries++;
	if (le.kind == FB_LENTRY_ROOT) {
		r->root->mode = S_IFDIR | (archive_entry_perm(ae) & 07777);
		r->root->uid = (uid_t)archive_entry_uid(ae);
		r->root->gid = (gid_t)archive_entry_gid(ae);
		r->root->mtime = archive_entry_mtime(ae);
		r->root->mtime_ns = archive_entry_mtime_nsec(ae);
		ret = 0;
		goto out;
	}
	const char *base = le.comp.v[le.comp.n - 1];
	struct node *dir = lookup_dir(r, r->root, &le.comp, le.comp.n - 1, true, entry, 0, err);
	if (!dir)
		goto out;
	if (le.kind == FB_LENTRY_WHITEOUT || le.kind == FB_LENTRY_OPAQUE) {
		ret = apply_whiteout(r, dir, le.wname, err);
		goto out;
	}
	struct node *old = rfs_tab_find(r, dir, base);
	if (le.kind == FB_LENTRY_HARDLINK) {
		ret = apply_hardlink(r, dir, base, old, &le, entry, archive_entry_hardlink(ae), err);
		goto out;
	}
	rfs_entry_xattrs(ae, &xs, &nxs);
	if (le.kind == FB_LENTRY_DIR && old && S_ISDIR(old->mode)) {
		/* An existing directory: new metadata, same contents. */
		old->mode = S_IFDIR | (archive_entry_perm(ae) & 07777);
		old->uid = (uid_t)archive_entry_uid(ae);
		old->gid = (gid_t)archive_entry_gid(ae);
		old->mtime = archive_entry_mtime(ae);
		old->mtime_ns = archive_entry_mtime_nsec(ae);
		old->layer = r->layer;
		rfs_xattrs_free(old);
		old->xattrs = xs;
		old->nxattrs = nxs;
		xs = NULL;
		ret = 0;
		goto out;
	}
	if (old && rfs_remove_tree(r, old, true, err) < 0)
		goto out;
	struct node *n = rfs_node_new(r, dir, base);
	n->uid = (uid_t)archive_entry_uid(ae);
	n->gid = (gid_t)archive_entry_gid(ae);
	n->mtime = archive_entry_mtime(ae);
	n->mtime_ns = archive_entry_mtime_nsec(ae);
	mode_t perm = archive_entry_perm(ae) & 07777;
	struct ext2_inode_large in;
	switch (le.kind) {
	case FB_LENTRY_DIR:
		n->mode = S_IFDIR | perm;
		if (rfs_new_ino(r, dir, n->mode, &n->ino, err) < 0)
			goto out;
		n->xattrs = xs;
		n->nxattrs = nxs;
		xs = NULL;
		r->st.dirs++;
		ret = 0;
		goto out;
	case FB_LENTRY_FILE:
		n->mode = S_IFREG | perm;
		if (rfs_new_ino(r, dir, n->mode, &n->ino, err) < 0 || rfs_init_inode(r, n, &in, true, err) < 0 ||
		    rfs_write_file_data(r, n, &in, a, NULL, le.size, entry, err) < 0)
			goto out;
		r->st.files++;
		break;
	case FB_LENTRY_SYMLINK: {
		n->mode = S_IFLNK | 0777;
		/* ext2fs_symlink does the inode accounting itself */
		errcode_t e = ext2fs_new_inode(r->fs, dir->ino, (int)n->mode, NULL, &n->ino);
		if (e) {
			rfs_ext2_err(err, e, "allocate an inode");
			goto out;
		}
		r->nlink[n->ino] = 1;
		e = ext2fs_symlink(r->fs, dir->ino, n->ino, NULL, le.symlink);
		if (e) {
			rfs_ext2_err(err, e, "%s: symlink", entry);
			goto out;
		}
		/* ext2fs_symlink wrote root:root and now: set ours */
		if ((e = ext2fs_read_inode_full(r->fs, n->ino, (struct ext2_inode *)&in, sizeof(in)))) {
			rfs_ext2_err(err, e, "%s: read inode", entry);
			goto out;
		}
		rfs_fill_inode(&in, n);
		if ((e = ext2fs_write_inode_full(r->fs, n->ino, (struct ext2_inode *)&in, sizeof(in)))) {
			rfs_ext2_err(err, e, "%s: write inode", entry);
			goto out;
		}
		r->st.symlinks++;
		break;
	}
	default: { /* devices and fifos */
		mode_t type = archive_entry_filetype(ae);
		n->mode = type | perm;
		if (rfs_new_ino(r, dir, n->mode, &n->ino, err) < 0)
			goto out;
		memset(&in, 0, sizeof(in));
		rfs_fill_inode(&in, n);
		in.i_links_count = 1;
		if (le.kind == FB_LENTRY_CHR || le.kind == FB_LENTRY_BLK) {
			unsigned ma = (unsigned)archive_entry_rdevmajor(ae), mi = (unsigned)archive_entry_rdevminor(ae);
			if (ma < 256 && mi < 256) {
				in.i_block[0] = ma * 256 + mi;
			} else {
				in.i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
			}
			r->st.devices++;
		}
		errcode_t e = rfs_write_new_inode(r, n->ino, &in);
		if (e) {
			rfs_ext2_err(err, e, "%s: write inode", entry);
			goto out;
		}
		break;
	}
	}
	if (rfs_write_xattrs(r, n->ino, xs, nxs, err) < 0) {
		fb_err_prefix(err, "layer %s: entry %s", r->layer_name, entry);
		goto out;
	}
	ret = 0;
out:
	rfs_free_xattr_list(xs, nxs);
	fb_lentry_free(&le);
	return ret;
}

static int apply_archive(struct fb_rootfs *r, struct archive *a, const char *name, struct fb_err *err);

int fb_rootfs_apply_layer_fd(struct fb_rootfs *r, int fd, const char *name, struct fb_err *err)
{
	/* decompression runs on a thread of its own (lib/unpack) */
	struct fb_unpack *u;
	struct archive *a;
	if (fb_unpack_open(fd, name, &u, &a, err) < 0)
		return -1;
	int ret = apply_archive(r, a, name, err);
	fb_unpack_free(u);
	return ret;
}

/* Layers open at once: the one applied and those decompressing ahead of
 * it, as many at a time as there are cores (fb_unpack_gate), each into
 * its queue and then into an unnamed file next to the image, so that a
 * core is never idle while a large layer is applied. */
#define AHEAD_LAYERS 8
#define AHEAD_MIB 8

int fb_rootfs_apply_layers(struct fb_rootfs *r, char *const *paths, char *const *names, struct fb_follow *const *follow,
			   size_t n, struct fb_err *err)
{
	int *fds = fb_xcalloc(n ? n : 1, sizeof(*fds));
	struct fb_unpack **us = fb_xcalloc(n ? n : 1, sizeof(*us));
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct fb_unpack_gate *gate = fb_unpack_gate_new(cores < 1 ? 1 : cores > 64 ? 64 : (unsigned)cores);
	FB_AUTOFREE char *dir = fb_xstrdup(r->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0';
	else
		strcpy(dir, ".");
	int ret = 0;
	size_t started = 0;
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		while (started < n && started <= i + AHEAD_LAYERS) {
			struct fb_unpack_ahead o = { .chunks = started == i ? FB_UNPACK_CHUNKS : AHEAD_MIB,
						     .spill_dir = started == i ? NULL : dir,
						     .gate = gate,
						     .follow = follow ? follow[started] : NULL };
			if (o.follow) {
				if (fb_unpack_start(-1, names[started], &o, &us[started], err) < 0) {
					ret = -1;
					break;
				}
				started++;
				continue;
			}
			fds[started] = open(paths[started], O_RDONLY | O_CLOEXEC);
			if (fds[started] < 0) {
				ret = fb_err_errno(err, errno, "layer %s: open %s", names[started], paths[started]);
				break;
			}
			if (fb_unpack_start(fds[started], names[started], &o, &us[started], err) < 0) {
				ret = -1;
				break;
			}
			started++;
		}
		/* read now: it keeps no more ahead than the first layer did, and
		 * no longer spills what it has not spilled yet */
		if (ret == 0)
			fb_unpack_set_ahead(us[i], FB_UNPACK_CHUNKS);
		struct archive *a;
		if (ret == 0)
			ret = fb_unpack_reader(us[i], names[i], &a, err);
		if (ret == 0)
			ret = apply_archive(r, a, names[i], err);
		fb_unpack_free(us[i]);
		us[i] = NULL;
		/* a layer read as it downloaded: the rest of it, and its digest */
		if (ret == 0 && follow && follow[i])
			ret = fb_follow_finish(follow[i], err);
		else if (ret < 0 && follow && follow[i] && strcmp(err->kind, "cancelled")) {
			/* bytes that do not hash to the digest are the download's
			 * fault, not the tar's: read on to know which it is */
			struct fb_err ferr = { 0 };
			fb_follow_error(follow[i], err);
			if (fb_follow_finish(follow[i], &ferr) < 0)
				*err = ferr;
		}
		close(fds[i]);
		fds[i] = -1;
	}
	for (size_t i = 0; i < n; i++) {
		fb_unpack_free(us[i]);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	fb_unpack_gate_free(gate);
	free(fds);
	free(us);
	return ret;
}

static int apply_entry_cb(void *ctx, struct archive *a, struct archive_entry *ae, struct fb_err *err)
{
	return apply_entry(ctx, a, ae, err);
}

static int apply_archive(struct fb_rootfs *r, struct archive *a, const char *name, struct fb_err *err)
{
	r->layer++;
	r->layer_name = name;
	int ret = fb_unpack_each(a, name, apply_entry_cb, r, err);
	r->layer_name = NULL;
	return ret;
}

int fb_rootfs_apply_layer(struct fb_rootfs *r, const char *path, const char *name, struct fb_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fb_err_errno(err, errno, "layer %s: open %s", name, path);
	int ret = fb_rootfs_apply_layer_fd(r, fd, name, err);
	close(fd);
	return ret;
}

int fb_rootfs_add_file(struct fb_rootfs *r, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
		       gid_t gid, struct fb_err *err)
{
	struct fb_strv comp = FB_STRV_INIT;
	int ret = -1;
	r->layer++;
	r->layer_name = "(added)";
	if (split_path(r, path, &comp, err) < 0 || !comp.n)
		goto out;
	struct node *dir = lookup_dir(r, r->root, &comp, comp.n - 1, true, path, 0, err);
	if (!dir)
		goto out;
	struct node *old = rfs_tab_find(r, dir, comp.v[comp.n - 1]);
	if (old && rfs_remove_tree(r, old, true, err) < 0)
		goto out;
	struct node *n = rfs_node_new(r, dir, comp.v[comp.n - 1]);
	n->mode = S_IFREG | (mode & 07777);
	n->uid = uid;
	n->gid = gid;
	n->mtime = r->fs->now; /* the image's time, not the clock's */
	struct ext2_inode_large in;
	if (rfs_new_ino(r, dir, n->mode, &n->ino, err) < 0 || rfs_init_inode(r, n, &in, true, err) < 0 ||
	    rfs_write_file_data(r, n, &in, NULL, data, len, path, err) < 0)
		goto out;
	r->st.files++;
	ret = 0;
out:
	r->layer_name = NULL;
	fb_strv_free(&comp);
	return ret;
}

