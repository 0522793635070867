#include "rootfs.h"
#include "archiveapi.h"
#include "ext4tree.h"
#include "datawriter.h"
#include "wbcache.h"

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "layerentry.h"
#include "proc.h"
#include "store.h"
#include "unpack.h"
#include "util.h"

static int pend_flush(struct fb_rootfs *r, struct fb_err *err);
static int data_barrier(struct fb_rootfs *r, struct fb_err *err);

/* ---- errors ---- */

int rfs_ext2_err(struct fb_err *err, errcode_t e, const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* out of inodes is its own kind: more bytes would not help */
	if (e == EXT2_ET_INODE_ALLOC_FAIL)
		return fb_err_set(err, FB_EXIT_FAILED, "no_inodes",
				  "%s: the image has no inode left (%s); give a larger --disk-size", what, error_message(e));
	if (e == EXT2_ET_BLOCK_ALLOC_FAIL || e == EXT2_ET_DIR_NO_SPACE)
		return fb_err_set(err, FB_EXIT_FAILED, "no_space", "%s: the image is full (%s); give a larger --disk-size",
				  what, error_message(e));
	return fb_err_set(err, FB_EXIT_FAILED, "ext4", "%s: %s", what, error_message(e));
}

int rfs_hostile(struct fb_rootfs *r, struct fb_err *err, const char *entry, const char *fmt, ...)
{
	char why[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return fb_err_set(err, FB_EXIT_USAGE, "hostile_layer", "layer %s: entry %s: %s", r->layer_name, entry, why);
}

/* ---- the (parent, name) table ---- */

static uint64_t hash(const struct node *parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)parent;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static void tab_grow(struct fb_rootfs *r);

struct node *rfs_tab_find(struct fb_rootfs *r, const struct node *parent, const char *name)
{
	if (!r->tabcap)
		return NULL;
	size_t mask = r->tabcap - 1;
	for (size_t i = hash(parent, name) & mask;; i = (i + 1) & mask) {
		struct node *n = r->tab[i].n;
		if (!n)
			return NULL;
		if (n != TOMB && n->parent == parent && !strcmp(n->name, name))
			return n;
	}
}

static void tab_put(struct fb_rootfs *r, struct node *n)
{
	if ((r->tabused + 1) * 2 > r->tabcap)
		tab_grow(r);
	size_t mask = r->tabcap - 1;
	for (size_t i = hash(n->parent, n->name) & mask;; i = (i + 1) & mask) {
		if (!r->tab[i].n || r->tab[i].n == TOMB) {
			if (!r->tab[i].n)
				r->tabused++;
			r->tab[i].n = n;
			return;
		}
	}
}

static void tab_del(struct fb_rootfs *r, struct node *n)
{
	size_t mask = r->tabcap - 1;
	for (size_t i = hash(n->parent, n->name) & mask;; i = (i + 1) & mask) {
		if (!r->tab[i].n)
			return;
		if (r->tab[i].n == n) {
			r->tab[i].n = TOMB;
			return;
		}
	}
}

static void tab_grow(struct fb_rootfs *r)
{
	struct slot *old = r->tab;
	size_t oldcap = r->tabcap;
	r->tabcap = oldcap ? oldcap * 2 : 4096;
	r->tab = fb_xcalloc(r->tabcap, sizeof(*r->tab));
	r->tabused = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].n && old[i].n != TOMB)
			tab_put(r, old[i].n);
	free(old);
}

/* ---- tree ---- */

struct node *rfs_node_new(struct fb_rootfs *r, struct node *parent, const char *name)
{
	struct node *n = fb_xcalloc(1, sizeof(*n));
	n->name = fb_xstrdup(name);
	n->parent = parent;
	n->layer = r->layer;
	if (parent) {
		if (parent->nkids == parent->capkids) {
			parent->capkids = parent->capkids ? parent->capkids * 2 : 8;
			parent->kids = fb_xrealloc(parent->kids, parent->capkids * sizeof(*parent->kids));
		}
		n->kid_index = parent->nkids;
		parent->kids[parent->nkids++] = n;
		tab_put(r, n);
	}
	return n;
}

void rfs_xattrs_free(struct node *n)
{
	for (size_t i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	n->xattrs = NULL;
	n->nxattrs = 0;
}

/* Drop a name; its inode goes when no name is left. */
static int release_ino(struct fb_rootfs *r, ext2_ino_t ino, bool isdir, struct fb_err *err)
{
	if (!ino || ino > r->max_ino)
		return 0;
	if (r->nlink[ino] > 1) {
		r->nlink[ino]--;
		return 0;
	}
	r->nlink[ino] = 0;
	/* blocks freed here may be reused: nothing of theirs may still wait */
	if (data_barrier(r, err) < 0)
		return -1;
	struct ext2_inode_large inode;
	errcode_t e = ext2fs_read_inode_full(r->fs, ino, (struct ext2_inode *)&inode, sizeof(inode));
	if (e)
		return rfs_ext2_err(err, e, "read inode %u", ino);
	if (ext2fs_inode_has_valid_blocks2(r->fs, (struct ext2_inode *)&inode) && (inode.i_flags & EXT4_EXTENTS_FL)) {
		e = ext2fs_punch(r->fs, ino, (struct ext2_inode *)&inode, NULL, 0, ~0ULL);
		if (e)
			return rfs_ext2_err(err, e, "free blocks of inode %u", ino);
	}
	if (inode.i_file_acl) {
		e = ext2fs_free_ext_attr(r->fs, ino, &inode);
		if (e)
			return rfs_ext2_err(err, e, "free xattrs of inode %u", ino);
	}
	memset(&inode, 0, sizeof(inode));
	inode.i_dtime = (uint32_t)r->fs->now;
	e = ext2fs_write_inode_full(r->fs, ino, (struct ext2_inode *)&inode, sizeof(inode));
	if (e)
		return rfs_ext2_err(err, e, "clear inode %u", ino);
	ext2fs_inode_alloc_stats2(r->fs, ino, -1, isdir);
	return 0;
}

static void unlink_from_parent(struct fb_rootfs *r, struct node *n)
{
	struct node *p = n->parent;
	tab_del(r, n);
	struct node *last = p->kids[--p->nkids];
	p->kids[n->kid_index] = last;
	last->kid_index = n->kid_index;
}

/* Remove n and everything below it. */
int rfs_remove_tree(struct fb_rootfs *r, struct node *n, bool unlink, struct fb_err *err)
{
	int ret = 0;
	for (size_t i = 0; i < n->nkids; i++) {
		tab_del(r, n->kids[i]);
		if (rfs_remove_tree(r, n->kids[i], false, err) < 0)
			ret = -1;
	}
	if (unlink)
		unlink_from_parent(r, n);
	if (!n->keep && release_ino(r, n->ino, S_ISDIR(n->mode), err) < 0)
		ret = -1;
	rfs_xattrs_free(n);
	free(n->kids);
	free(n->name);
	free(n);
	return ret;
}

static void free_tree(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		free_tree(n->kids[i]);
	rfs_xattrs_free(n);
	free(n->kids);
	free(n->name);
	free(n);
}

/* ---- inodes ---- */

int rfs_new_ino(struct fb_rootfs *r, struct node *parent, mode_t mode, ext2_ino_t *ino, struct fb_err *err)
{
	errcode_t e = ext2fs_new_inode(r->fs, parent && parent->ino ? parent->ino : EXT2_ROOT_INO, (int)mode, NULL, ino);
	if (e)
		return rfs_ext2_err(err, e, "allocate an inode");
	ext2fs_inode_alloc_stats2(r->fs, *ino, +1, S_ISDIR(mode));
	r->nlink[*ino] = 1;
	return 0;
}

void rfs_fill_inode(struct ext2_inode_large *in, const struct node *n)
{
	in->i_mode = (uint16_t)n->mode;
	in->i_uid = (uint16_t)n->uid;
	ext2fs_set_i_uid_high(*in, n->uid >> 16);
	in->i_gid = (uint16_t)n->gid;
	ext2fs_set_i_gid_high(*in, n->gid >> 16);
	in->i_atime = in->i_ctime = in->i_mtime = (uint32_t)n->mtime;
	in->i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	/* ns in the upper 30 bits; epoch bits (beyond 2038) in the low 2 */
	uint32_t extra = ((uint32_t)n->mtime_ns << 2) | (uint32_t)(((uint64_t)n->mtime >> 32) & 3);
	in->i_atime_extra = in->i_ctime_extra = in->i_mtime_extra = extra;
	in->i_crtime = (uint32_t)n->mtime;
	in->i_crtime_extra = extra;
}

int rfs_write_xattrs(struct fb_rootfs *r, ext2_ino_t ino, struct xattr *xs, size_t n, struct fb_err *err)
{
	if (!n)
		return 0;
	struct ext2_xattr_handle *h;
	errcode_t e = ext2fs_xattrs_open(r->fs, ino, &h);
	if (e)
		return rfs_ext2_err(err, e, "xattrs of inode %u", ino);
	e = ext2fs_xattrs_read(h);
	for (size_t i = 0; !e && i < n; i++)
		e = ext2fs_xattr_set(h, xs[i].name, xs[i].value, xs[i].len);
	errcode_t e2 = ext2fs_xattrs_close(&h);
	if (e || e2)
		return rfs_ext2_err(err, e ? e : e2, "write xattrs of inode %u", ino);
	return 0;
}

void rfs_entry_xattrs(struct archive_entry *ae, struct xattr **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (archive_entry_xattr_reset(ae) == 0)
		return;
	const char *name;
	const void *value;
	size_t len;
	while (archive_entry_xattr_next(ae, &name, &value, &len) == ARCHIVE_OK) {
		*out = fb_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[*n].name = fb_xstrdup(name);
		(*out)[*n].value = fb_xmalloc(len ? len : 1);
		memcpy((*out)[*n].value, value, len);
		(*out)[*n].len = len;
		(*n)++;
	}
}

void rfs_free_xattr_list(struct xattr *xs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(xs[i].name);
		free(xs[i].value);
	}
	free(xs);
}

/* A new inode with extents, metadata from n, written. */
int rfs_init_inode(struct fb_rootfs *r, struct node *n, struct ext2_inode_large *in, bool extents,
		      struct fb_err *err)
{
	memset(in, 0, sizeof(*in));
	rfs_fill_inode(in, n);
	in->i_links_count = 1;
	if (extents && ext2fs_has_feature_extents(r->fs->super)) {
		ext2_extent_handle_t h;
		errcode_t e = ext2fs_extent_open2(r->fs, n->ino, (struct ext2_inode *)in, &h);
		if (e)
			return rfs_ext2_err(err, e, "extents of inode %u", n->ino);
		ext2fs_extent_free(h);
	}
	errcode_t e = rfs_write_new_inode(r, n->ino, in);
	if (e)
		return rfs_ext2_err(err, e, "write inode %u", n->ino);
	return 0;
}

/* ext2fs_write_new_inode would put the clock into a time that is 0 (an
 * image's files may well be dated 1970) and into crtime: the whole
 * on-disk inode is written here as it is, the rest of it zeros. */
errcode_t rfs_write_new_inode(struct fb_rootfs *r, ext2_ino_t ino, struct ext2_inode_large *in)
{
	int isize = EXT2_INODE_SIZE(r->fs->super);
	if ((size_t)isize <= sizeof(*in))
		return ext2fs_write_inode_full(r->fs, ino, (struct ext2_inode *)in, isize);
	FB_AUTOFREE char *full = fb_xcalloc(1, (size_t)isize);
	memcpy(full, in, sizeof(*in));
	return ext2fs_write_inode_full(r->fs, ino, (struct ext2_inode *)full, isize);
}

/* Small files get consecutive blocks: their writes are merged into one
 * (tens of thousands of 4 KiB writes cost more than the bytes). Merged
 * runs, and whole staging buffers, go to the data writer's thread
 * (lib/fs/datawriter). */
static int pend_flush(struct fb_rootfs *r, struct fb_err *err)
{
	(void)err;
	if (!r->pend_len)
		return 0;
	fb_dw_submit(r->dw, r->pend, PENDSZ, r->pend_len, (uint64_t)r->pend_start * r->fs->blocksize);
	r->data_bytes += r->pend_len;
	r->pend = fb_dw_buf(r->dw, PENDSZ);
	r->pend_len = 0;
	return 0;
}

/* Before blocks are freed (they may come back as metadata, which
 * libext2fs writes itself), and before the end: every data write done. */
static int data_barrier(struct fb_rootfs *r, struct fb_err *err)
{
	if (pend_flush(r, err) < 0)
		return -1;
	return fb_dw_drain(r->dw, err);
}

static int pend_write(struct fb_rootfs *r, blk64_t pblk, size_t nblk, const char *data, struct fb_err *err)
{
	unsigned bs = r->fs->blocksize;
	size_t bytes = nblk * bs;
	if (r->pend_len && (pblk != r->pend_start + r->pend_len / bs || r->pend_len + bytes > PENDSZ) &&
	    pend_flush(r, err) < 0)
		return -1;
	if (bytes >= BUFSZ && data == r->buf) {
		/* the whole staging buffer is one run: handed over as it is */
		if (pend_flush(r, err) < 0)
			return -1;
		fb_dw_submit(r->dw, r->buf, BUFSZ, bytes, (uint64_t)pblk * bs);
		r->data_bytes += bytes;
		r->buf = fb_dw_buf(r->dw, BUFSZ);
		return 0;
	}
	if (!r->pend_len)
		r->pend_start = pblk;
	memcpy(r->pend + r->pend_len, data, bytes);
	r->pend_len += bytes;
	return 0;
}

/* Regular file data: blocks allocated up front (fallocate), then the data
 * is staged in r->buf and written in runs of contiguous physical blocks. */
struct fwriter {
	struct fb_rootfs *r;
	struct node *n;
	struct ext2_inode_large *in;
	uint64_t start; /* file offset of r->buf[0], block aligned */
	size_t fill;
	const char *entry;
};

static int fw_flush(struct fwriter *w, struct fb_err *err)
{
	if (!w->fill)
		return 0;
	ext2_filsys fs = w->r->fs;
	unsigned bs = fs->blocksize;
	size_t nblk = (w->fill + bs - 1) / bs;
	memset(w->r->buf + w->fill, 0, nblk * bs - w->fill);
	blk64_t lblk0 = w->start / bs, run_p = 0;
	size_t run_i = 0, run_n = 0;
	for (size_t i = 0; i <= nblk; i++) {
		blk64_t p = 0;
		if (i < nblk) {
			errcode_t e = ext2fs_bmap2(fs, w->n->ino, (struct ext2_inode *)w->in, NULL, 0, lblk0 + i, NULL, &p);
			if (e)
				return rfs_ext2_err(err, e, "%s: map block", w->entry);
			if (run_n && p == run_p + run_n) {
				run_n++;
				continue;
			}
		}
		if (run_n && pend_write(w->r, run_p, run_n, w->r->buf + run_i * bs, err) < 0) {
			fb_err_prefix(err, "%s", w->entry);
			return -1;
		}
		run_p = p;
		run_i = i;
		run_n = 1;
	}
	w->start += nblk * bs;
	w->fill = 0;
	return 0;
}

static int fw_write(struct fwriter *w, const char *p, size_t len, uint64_t off, struct fb_err *err)
{
	unsigned bs = w->r->fs->blocksize;
	if (off != w->start + w->fill) {
		/* a hole in a sparse entry: the image reads zeros there */
		if (fw_flush(w, err) < 0)
			return -1;
		w->start = off - off % bs;
		w->fill = off % bs;
		memset(w->r->buf, 0, w->fill);
	}
	while (len) {
		size_t take = BUFSZ - w->fill < len ? BUFSZ - w->fill : len;
		memcpy(w->r->buf + w->fill, p, take);
		w->fill += take;
		p += take;
		len -= take;
		if (w->fill == BUFSZ && fw_flush(w, err) < 0)
			return -1;
	}
	return 0;
}

int rfs_write_file_data(struct fb_rootfs *r, struct node *n, struct ext2_inode_large *in, struct archive *a,
			   const void *mem, uint64_t size, const char *entry, struct fb_err *err)
{
	unsigned bs = r->fs->blocksize;
	uint64_t nblocks = (size + bs - 1) / bs;
	errcode_t e;
	if (nblocks) {
		e = ext2fs_fallocate(r->fs, EXT2_FALLOCATE_FORCE_INIT, n->ino, (struct ext2_inode *)in, ~0ULL, 0, nblocks);
		if (e)
			return rfs_ext2_err(err, e, "%s: allocate %" PRIu64 " bytes", entry, size);
	}
	e = ext2fs_inode_size_set(r->fs, (struct ext2_inode *)in, size);
	if (!e)
		e = ext2fs_write_inode_full(r->fs, n->ino, (struct ext2_inode *)in, sizeof(*in));
	if (e)
		return rfs_ext2_err(err, e, "%s: write inode", entry);
	struct fwriter w = { r, n, in, 0, 0, entry };
	if (mem) {
		if (fw_write(&w, mem, (size_t)size, 0, err) < 0)
			return -1;
	} else {
		for (;;) {
			const void *chunk;
			size_t len;
			la_int64_t off;
			int ar = archive_read_data_block(a, &chunk, &len, &off);
			if (ar == ARCHIVE_EOF)
				break;
			if (ar < ARCHIVE_WARN)
				return fb_err_set(err, FB_EXIT_FAILED, "layer", "layer %s: %s: %s", r->layer_name, entry,
						  archive_error_string(a));
			if (off < 0 || (uint64_t)off + len > size)
				return rfs_hostile(r, err, entry, "data beyond the size in its header");
			if (fw_write(&w, chunk, len, (uint64_t)off, err) < 0)
				return -1;
		}
	}
	if (fw_flush(&w, err) < 0)
		return -1;
	r->st.bytes += size;
	return 0;
}

/* ---- finishing: directories ---- */

static int ftype_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return EXT2_FT_REG_FILE;
	case S_IFDIR: return EXT2_FT_DIR;
	case S_IFLNK: return EXT2_FT_SYMLINK;
	case S_IFCHR: return EXT2_FT_CHRDEV;
	case S_IFBLK: return EXT2_FT_BLKDEV;
	case S_IFIFO: return EXT2_FT_FIFO;
	case S_IFSOCK: return EXT2_FT_SOCK;
	}
	return EXT2_FT_UNKNOWN;
}

/* One directory entry as it is written. */
struct dout {
	const char *name;
	unsigned len;
	ext2_ino_t ino;
	int ft;
	uint32_t hash, minor;
};

/* Entries from *i on into one block (blk zeroed; NULL: only count), as
 * many as fit in avail keeping slack bytes free (one at least); the last
 * takes the rest of the block, an empty block gets one empty entry. */
static void pack_block(ext2_filsys fs, char *blk, unsigned avail, unsigned slack, const struct dout *v, size_t n,
		       size_t *i)
{
	unsigned off = 0, lastoff = 0;
	bool any = false;
	for (; *i < n; (*i)++) {
		unsigned rl = (8 + v[*i].len + 3) & ~3u;
		if (off + rl > avail || (any && off + rl + slack > avail))
			break;
		if (blk) {
			struct ext2_dir_entry *de = (struct ext2_dir_entry *)(blk + off);
			de->inode = v[*i].ino;
			ext2fs_dirent_set_name_len(de, (int)v[*i].len);
			ext2fs_dirent_set_file_type(de, v[*i].ft);
			memcpy(de->name, v[*i].name, v[*i].len);
			ext2fs_set_rec_len(fs, rl, de);
		}
		lastoff = off;
		off += rl;
		any = true;
	}
	if (!blk)
		return;
	struct ext2_dir_entry *last = (struct ext2_dir_entry *)(blk + lastoff);
	if (!any)
		last->inode = 0;
	ext2fs_set_rec_len(fs, avail - lastoff, last);
	if (ext2fs_has_feature_metadata_csum(fs->super))
		ext2fs_initialize_dirent_tail(fs, EXT2_DIRENT_TAIL(blk, fs->blocksize));
}

static int cmp_hash(const void *x, const void *y)
{
	const struct dout *a = x, *b = y;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	int c = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);
	return c ? c : a->len < b->len ? -1 : a->len > b->len;
}

/* A directory of more than one block gets an htree index (dir_index),
 * as the kernel gives one to a directory that outgrows its first block
 * and e2fsck -D to every such directory: block 0 holds "." and "..",
 * then the dx root; the names, sorted by their hash (the file system's
 * seed and hash version), fill leaf blocks leaving a fifth free (e2fsck's
 * slack), each leaf keyed by its first hash (| 1 when a run of one hash
 * goes on from the leaf before); above 507 leaves, one level of index
 * nodes. */
struct htree {
	size_t nleaves, nnodes;
	size_t *start;   /* the first entry of each leaf (into v + 2) */
	uint32_t *key;   /* each leaf's hash key */
	unsigned root_limit, node_limit, slack;
};

/* 0: indexed, *h filled; 1: it stays linear */
static int htree_plan(ext2_filsys fs, struct dout *v, size_t n, unsigned avail, struct htree *h)
{
	int hv = fs->super->s_def_hash_version;
	if (fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH)
		hv += 3;
	for (size_t k = 0; k < n; k++)
		if (ext2fs_dirhash2(hv, v[k].name, (int)v[k].len, NULL, 0, fs->super->s_hash_seed, &v[k].hash, &v[k].minor))
			return 1;
	qsort(v, n, sizeof(*v), cmp_hash);
	unsigned tail = ext2fs_has_feature_metadata_csum(fs->super) ? sizeof(struct ext2_dx_tail) : 0;
	h->root_limit = (fs->blocksize - 32 - tail) / sizeof(struct ext2_dx_entry);
	h->node_limit = (fs->blocksize - 8 - tail) / sizeof(struct ext2_dx_entry);
	h->slack = avail / 5;
	h->nleaves = 0;
	for (size_t i = 0; i < n; h->nleaves++)
		pack_block(fs, NULL, avail, h->slack, v, n, &i);
	h->nnodes = h->nleaves <= h->root_limit ? 0 : (h->nleaves + h->node_limit - 1) / h->node_limit;
	if (h->nnodes > h->root_limit)
		return 1; /* past two levels (largedir): linear, as it was */
	h->start = fb_xcalloc(h->nleaves, sizeof(*h->start));
	h->key = fb_xcalloc(h->nleaves, sizeof(*h->key));
	size_t i = 0;
	for (size_t j = 0; j < h->nleaves; j++) {
		h->start[j] = i;
		h->key[j] = v[i].hash;
		if (i && v[i].hash == v[i - 1].hash)
			h->key[j] |= 1;
		pack_block(fs, NULL, avail, h->slack, v, n, &i);
	}
	return 0;
}

/* The dx entries of a root or node block: count, limit, then (key, block)
 * of each child; the first child's key is the count/limit itself. */
static void dx_entries(char *at, unsigned limit, size_t count, const uint32_t *keys, const uint32_t *blocks)
{
	struct ext2_dx_countlimit *cl = (struct ext2_dx_countlimit *)at;
	struct ext2_dx_entry *e = (struct ext2_dx_entry *)at;
	cl->limit = htole16((uint16_t)limit);
	cl->count = htole16((uint16_t)count);
	e[0].block = htole32(blocks[0]);
	for (size_t k = 1; k < count; k++) {
		e[k].hash = htole32(keys[k]);
		e[k].block = htole32(blocks[k]);
	}
}

static int write_block(struct fb_rootfs *r, struct node *d, struct ext2_inode_large *in, uint64_t lblk, struct fb_err *err)
{
	blk64_t pblk;
	errcode_t e;
	if ((e = ext2fs_bmap2(r->fs, d->ino, (struct ext2_inode *)in, NULL, 0, lblk, NULL, &pblk)) ||
	    (e = ext2fs_write_dir_block4(r->fs, pblk, r->buf, 0, d->ino)))
		return rfs_ext2_err(err, e, "write directory block");
	return 0;
}

static int write_htree(struct fb_rootfs *r, struct node *d, struct ext2_inode_large *in, const struct dout *v, size_t n,
		       unsigned avail, const struct htree *h, struct fb_err *err)
{
	ext2_filsys fs = r->fs;
	unsigned bs = fs->blocksize;
	char *blk = r->buf;
	size_t nchild = h->nnodes ? h->nnodes : h->nleaves;
	FB_AUTOFREE uint32_t *keys = fb_xcalloc(nchild > h->node_limit ? nchild : h->node_limit, sizeof(*keys));
	FB_AUTOFREE uint32_t *blocks = fb_xcalloc(nchild > h->node_limit ? nchild : h->node_limit, sizeof(*blocks));
	/* block 0: ".", ".." over the rest, the root info, the root's entries */
	memset(blk, 0, bs);
	struct ext2_dir_entry *dot = (struct ext2_dir_entry *)blk, *dotdot = (struct ext2_dir_entry *)(blk + 12);
	dot->inode = d->ino;
	ext2fs_dirent_set_name_len(dot, 1);
	ext2fs_dirent_set_file_type(dot, EXT2_FT_DIR);
	dot->name[0] = '.';
	ext2fs_set_rec_len(fs, 12, dot);
	dotdot->inode = d->parent ? d->parent->ino : d->ino;
	ext2fs_dirent_set_name_len(dotdot, 2);
	ext2fs_dirent_set_file_type(dotdot, EXT2_FT_DIR);
	dotdot->name[0] = dotdot->name[1] = '.';
	ext2fs_set_rec_len(fs, bs - 12, dotdot);
	struct ext2_dx_root_info *info = (struct ext2_dx_root_info *)(blk + 24);
	info->hash_version = fs->super->s_def_hash_version;
	info->info_length = sizeof(*info);
	info->indirect_levels = h->nnodes ? 1 : 0;
	for (size_t k = 0; k < nchild; k++) {
		size_t leaf = h->nnodes ? k * h->node_limit : k;
		keys[k] = h->key[leaf];
		blocks[k] = (uint32_t)(1 + k);
	}
	dx_entries(blk + 32, h->root_limit, nchild, keys, blocks);
	if (write_block(r, d, in, 0, err) < 0)
		return -1;
	/* the index nodes: leaves in order, node_limit to a node */
	for (size_t m = 0; m < h->nnodes; m++) {
		memset(blk, 0, bs);
		struct ext2_dir_entry *fake = (struct ext2_dir_entry *)blk;
		ext2fs_set_rec_len(fs, bs, fake);
		size_t first = m * h->node_limit, cnt = h->nleaves - first < h->node_limit ? h->nleaves - first : h->node_limit;
		for (size_t k = 0; k < cnt; k++) {
			keys[k] = h->key[first + k];
			blocks[k] = (uint32_t)(1 + h->nnodes + first + k);
		}
		dx_entries(blk + 8, h->node_limit, cnt, keys, blocks);
		if (write_block(r, d, in, 1 + m, err) < 0)
			return -1;
	}
	for (size_t j = 0; j < h->nleaves; j++) {
		memset(blk, 0, bs);
		size_t i = h->start[j];
		pack_block(fs, blk, avail, h->slack, v, n, &i);
		if (write_block(r, d, in, 1 + h->nnodes + j, err) < 0)
			return -1;
	}
	return 0;
}

static int write_dir(struct fb_rootfs *r, struct node *d, struct fb_err *err)
{
	ext2_filsys fs = r->fs;
	unsigned bs = fs->blocksize;
	bool csum = ext2fs_has_feature_metadata_csum(fs->super);
	unsigned avail = bs - (csum ? sizeof(struct ext2_dir_entry_tail) : 0);
	errcode_t e;
	if (d->keep)
		return 0;
	/* ".", "..", then the children in order */
	size_t nents = d->nkids + 2;
	FB_AUTOFREE struct dout *v = fb_xcalloc(nents, sizeof(*v));
	v[0] = (struct dout){ ".", 1, d->ino, EXT2_FT_DIR, 0, 0 };
	v[1] = (struct dout){ "..", 2, d->parent ? d->parent->ino : d->ino, EXT2_FT_DIR, 0, 0 };
	for (size_t k = 0; k < d->nkids; k++) {
		const struct node *c = d->kids[k];
		v[k + 2] = (struct dout){ c->name, (unsigned)strlen(c->name), c->ino, ftype_of(c->mode), 0, 0 };
	}
	uint64_t nblocks = 0;
	for (size_t i = 0; i < nents; nblocks++)
		pack_block(fs, NULL, avail, 0, v, nents, &i);
	struct htree h = { 0 };
	bool indexed = nblocks > 1 && ext2fs_has_feature_dir_index(fs->super) &&
		       htree_plan(fs, v + 2, d->nkids, avail, &h) == 0;
	if (indexed)
		nblocks = 1 + h.nnodes + h.nleaves;
	else if (nblocks > 1 && ext2fs_has_feature_dir_index(fs->super))
		for (size_t k = 0; k < d->nkids; k++) /* back in the tree's order */
			v[k + 2] = (struct dout){ d->kids[k]->name, (unsigned)strlen(d->kids[k]->name), d->kids[k]->ino,
						  ftype_of(d->kids[k]->mode), 0, 0 };
	int ret = -1;
	struct ext2_inode_large in;
	if (d->ino == EXT2_ROOT_INO) {
		/* mke2fs wrote a root directory: drop its blocks, start again */
		if ((e = ext2fs_read_inode_full(fs, d->ino, (struct ext2_inode *)&in, sizeof(in))) ||
		    (e = ext2fs_punch(fs, d->ino, (struct ext2_inode *)&in, NULL, 0, ~0ULL))) {
			rfs_ext2_err(err, e, "reset the root directory");
			goto out;
		}
	}
	memset(&in, 0, sizeof(in));
	rfs_fill_inode(&in, d);
	if (indexed)
		in.i_flags |= EXT2_INDEX_FL;
	unsigned subdirs = 0;
	for (size_t i = 0; i < d->nkids; i++)
		subdirs += S_ISDIR(d->kids[i]->mode);
	in.i_links_count = (uint16_t)(2 + subdirs > 65000 ? 1 : 2 + subdirs); /* dir_nlink: 1 means many */
	if (ext2fs_has_feature_extents(fs->super)) {
		ext2_extent_handle_t eh;
		if ((e = ext2fs_extent_open2(fs, d->ino, (struct ext2_inode *)&in, &eh))) {
			rfs_ext2_err(err, e, "directory extents");
			goto out;
		}
		ext2fs_extent_free(eh);
	}
	if ((e = ext2fs_write_inode_full(fs, d->ino, (struct ext2_inode *)&in, sizeof(in))) ||
	    (e = ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT, d->ino, (struct ext2_inode *)&in, ~0ULL, 0, nblocks)) ||
	    (e = ext2fs_inode_size_set(fs, (struct ext2_inode *)&in, nblocks * bs)) ||
	    (e = ext2fs_write_inode_full(fs, d->ino, (struct ext2_inode *)&in, sizeof(in)))) {
		rfs_ext2_err(err, e, "write directory inode %u", d->ino);
		goto out;
	}
	if (indexed) {
		if (write_htree(r, d, &in, v + 2, d->nkids, avail, &h, err) < 0)
			goto out;
	} else {
		size_t i = 0;
		for (uint64_t lblk = 0; lblk < nblocks; lblk++) {
			memset(r->buf, 0, bs);
			pack_block(fs, r->buf, avail, 0, v, nents, &i);
			if (write_block(r, d, &in, lblk, err) < 0)
				goto out;
		}
	}
	ret = rfs_write_xattrs(r, d->ino, d->xattrs, d->nxattrs, err);
out:
	memset(r->buf, 0, bs);
	free(h.start);
	free(h.key);
	return ret;
}

static int write_dirs(struct fb_rootfs *r, struct node *d, struct fb_err *err)
{
	if (write_dir(r, d, err) < 0)
		return -1;
	for (size_t i = 0; i < d->nkids; i++)
		if (S_ISDIR(d->kids[i]->mode) && d->kids[i]->ino && write_dirs(r, d->kids[i], err) < 0)
			return -1;
	return 0;
}

/* Inodes with more than one name get their final link count. */
static int fix_links(struct fb_rootfs *r, struct fb_err *err)
{
	for (ext2_ino_t ino = 1; ino <= r->max_ino; ino++) {
		if (r->nlink[ino] < 2)
			continue;
		struct ext2_inode_large in;
		errcode_t e = ext2fs_read_inode_full(r->fs, ino, (struct ext2_inode *)&in, sizeof(in));
		if (e)
			return rfs_ext2_err(err, e, "read inode %u", ino);
		if (LINUX_S_ISDIR(in.i_mode))
			continue;
		in.i_links_count = (uint16_t)r->nlink[ino];
		if ((e = ext2fs_write_inode_full(r->fs, ino, (struct ext2_inode *)&in, sizeof(in))))
			return rfs_ext2_err(err, e, "write inode %u", ino);
	}
	return 0;
}

int fb_rootfs_finish(struct fb_rootfs *r, struct fb_rootfs_stats *stats, struct fb_err *err)
{
	if (data_barrier(r, err) < 0 || fix_links(r, err) < 0 || write_dirs(r, r->root, err) < 0)
		return -1;
	r->st.block_size = r->fs->blocksize;
	r->st.used_blocks = ext2fs_blocks_count(r->fs->super) - ext2fs_free_blocks_count(r->fs->super);
	/* the superblock's "kilobytes written" counts the data the writer's
	 * thread wrote past libext2fs, as when it went through it */
	io_stats ios = NULL;
	if (r->fs->io->manager->get_stats && r->fs->io->manager->get_stats(r->fs->io, &ios) == 0 && ios)
		ios->bytes_written += r->data_bytes;
	errcode_t e = ext2fs_close_free(&r->fs);
	if (e)
		return rfs_ext2_err(err, e, "close %s", r->path);
	r->finished = true;
	if (stats)
		*stats = r->st;
	return 0;
}

/* ---- the image's identity ---- */

/* The features of every image we write (mke2fs -O none,...): 5.x kernels
 * mount it (no orphan_file, no metadata_csum_seed). */
#define EXT4_FEATURES \
	"none,has_journal,ext_attr,resize_inode,dir_index,filetype,extent,64bit,flex_bg,sparse_super,large_file," \
	"huge_file,dir_nlink,extra_isize,metadata_csum"

static void uuid_str(const unsigned char u[16], char out[40])
{
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
		 u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* 16 bytes of sha256(what + '\0' + seed), as a version 4, RFC 4122 UUID */
static void derive16(const char *what, const char *seed, unsigned char out[16])
{
	struct fb_sha256 h;
	char hex[72];
	fb_sha256_init(&h);
	fb_sha256_update(&h, what, strlen(what) + 1);
	fb_sha256_update(&h, seed, strlen(seed));
	fb_sha256_final(&h, hex);
	for (int i = 0; i < 16; i++) {
		unsigned v;
		sscanf(hex + 7 + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
	out[6] = (unsigned char)((out[6] & 0x0f) | 0x40);
	out[8] = (unsigned char)((out[8] & 0x3f) | 0x80);
}

/* RFC 3339 (an OCI config's `created`) in seconds; -1 when it is not */
static int64_t rfc3339_seconds(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || !n)
		return -1;
	const char *p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, m = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59)
			return -1;
		off = (*p == '-' ? -1 : 1) * (int64_t)(oh * 60 + om) * 60;
		p += 1 + m;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	return (int64_t)timegm(&tm) - off;
}

void fb_ext4_ident_derive(const char *seed, const char *created, struct fb_ext4_ident *id)
{
	derive16("firebuild ext4 uuid", seed ? seed : "", id->uuid);
	derive16("firebuild ext4 hash seed", seed ? seed : "", id->hash_seed);
	int64_t t = rfc3339_seconds(created);
	id->time = t < 1 ? 1 : t > (int64_t)UINT32_MAX ? (int64_t)UINT32_MAX : t;
}

int fb_rootfs_create(const struct fb_rootfs_opts *o, struct fb_rootfs **out, struct fb_err *err)
{
	static bool tables;
	if (!tables) {
		initialize_ext2_error_table(); /* messages, not "Unknown code ext2 73" */
		tables = true;
	}
	struct fb_ext4_ident id;
	if (o->ident) {
		id = *o->ident;
	} else {
		/* no identity asked for: a disk of its own, as mke2fs makes them */
		fb_ext4_ident_derive("", NULL, &id);
		if (getrandom(id.uuid, sizeof(id.uuid), 0) != (ssize_t)sizeof(id.uuid) ||
		    getrandom(id.hash_seed, sizeof(id.hash_seed), 0) != (ssize_t)sizeof(id.hash_seed))
			return fb_err_errno(err, errno, "getrandom");
		id.uuid[6] = (unsigned char)((id.uuid[6] & 0x0f) | 0x40);
		id.uuid[8] = (unsigned char)((id.uuid[8] & 0x3f) | 0x80);
		id.time = (int64_t)time(NULL);
	}
	uint64_t size = o->size < (64ULL << 20) ? (64ULL << 20) : o->size;
	uint64_t inodes = o->inodes ? o->inodes : size / 4096;
	if (inodes < 1024)
		inodes = 1024;
	if (inodes > 0xFFFFFFF0ULL)
		inodes = 0xFFFFFFF0ULL;
	/* A fresh sparse file of the right size, then mke2fs on it. */
	unlink(o->path);
	int fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fb_err_errno(err, errno, "create %s", o->path);
	if (ftruncate(fd, (off_t)size) < 0) {
		int en = errno;
		close(fd);
		unlink(o->path);
		return fb_err_errno(err, en, "size %s", o->path);
	}
	close(fd);
	if (o->template_image) {
		/* an empty file system made once (tests and fuzzing) */
		if (fb_copy_sparse(o->template_image, o->path, err) < 0)
			return -1;
		goto opened;
	}
	char ninodes[32], label[40], uuid[40], seed[40], fake_time[64], eopts[192];
	snprintf(ninodes, sizeof(ninodes), "%" PRIu64, inodes);
	snprintf(label, sizeof(label), "%.16s", o->label ? o->label : "rootfs");
	uuid_str(id.uuid, uuid);
	uuid_str(id.hash_seed, seed);
	snprintf(fake_time, sizeof(fake_time), "E2FSPROGS_FAKE_TIME=%" PRId64, id.time);
	/* the file is new and sparse: its inode tables read as zeros, which
	 * assume_storage_prezeroed records in every group (ITABLE_ZEROED);
	 * without it each VM's kernel zeroed them again in the background
	 * after its boot (ext4lazyinit: 4 MiB of writes for the demo image) */
	snprintf(eopts, sizeof(eopts),
		 "lazy_itable_init=1,lazy_journal_init=1,assume_storage_prezeroed=1,nodiscard,root_owner=0:0,hash_seed=%s",
		 seed);
	/* every feature named, the built-in profile (no host mke2fs.conf),
	 * the UUID, the hash seed and the time given: the same bytes anywhere */
	char *argv[] = { "env", "MKE2FS_CONFIG=/nonexistent/mke2fs.conf", fake_time, "mke2fs", "-q", "-F", "-t", "ext4",
			 "-b", "4096", "-m", "0", "-I", "256", "-N", ninodes, "-O", EXT4_FEATURES, "-L", label, "-U", uuid,
			 "-E", eopts, (char *)o->path, NULL };
	struct fb_buf eout = FB_BUF_INIT;
	int code = 0;
	if (fb_proc_run(argv, NULL, 0, NULL, &eout, &code, err) < 0 || code != 0) {
		if (code)
			fb_err_set(err, FB_EXIT_FAILED, "ext4", "mke2fs %s failed (%d): %s", o->path, code, fb_buf_str(&eout));
		fb_buf_free(&eout);
		unlink(o->path);
		return -1;
	}
	fb_buf_free(&eout);
opened:;
	struct fb_rootfs *r = fb_xcalloc(1, sizeof(*r));
	r->data_fd = -1;
	r->path = fb_xstrdup(o->path);
	errcode_t e = ext2fs_open(o->path, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, fb_wbcache_io_manager, &r->fs);
	if (!e)
		e = ext2fs_read_bitmaps(r->fs);
	/* blocks libext2fs wrote (an extent tree's, an xattr block, a long
	 * symlink's) may come back as file data, which the data writer writes
	 * past the block cache: each is forgotten there as it is freed */
	if (!e)
		fb_wbcache_watch(r->fs);
	if (e) {
		rfs_ext2_err(err, e, "open %s", o->path);
		fb_rootfs_free(r);
		return -1;
	}
	/* what libext2fs dates (the superblock's write time, inodes it
	 * makes) is the image's time; the directory hash is the signed one on
	 * every host (mke2fs picks by the host's char) */
	r->fs->now = (time_t)id.time;
	r->fs->super->s_flags = (r->fs->super->s_flags & ~EXT2_FLAGS_UNSIGNED_HASH) | EXT2_FLAGS_SIGNED_HASH;
	ext2fs_mark_super_dirty(r->fs);
	r->max_ino = r->fs->super->s_inodes_count;
	r->nlink = fb_xcalloc((size_t)r->max_ino + 1, sizeof(*r->nlink));
	r->buf = fb_dw_alloc(BUFSZ);
	memset(r->buf, 0, BUFSZ);
	r->pend = fb_dw_alloc(PENDSZ);
	/* file data bypasses the page cache: the copy into it (and the
	 * writeback after) cost more CPU than the disk takes to write it, and
	 * the image is fsync'ed at the end anyway; metadata stays buffered
	 * (libext2fs's own descriptor; data and metadata never share a block,
	 * and a block is whole pages: not on a host whose pages are larger).
	 * Not every file system takes O_DIRECT. */
	r->data_fd = -1;
	long page = sysconf(_SC_PAGESIZE);
	if (r->fs->blocksize % FB_DW_ALIGN == 0 && page > 0 && r->fs->blocksize % (unsigned long)page == 0 &&
	    !getenv("FB_MKROOTFS_BUFFERED"))
		r->data_fd = open(o->path, O_WRONLY | O_CLOEXEC | O_DIRECT);
	if (r->data_fd < 0)
		r->data_fd = open(o->path, O_WRONLY | O_CLOEXEC);
	if (r->data_fd < 0) {
		fb_err_errno(err, errno, "open %s", o->path);
		fb_rootfs_free(r);
		return -1;
	}
	if (fb_dw_start(r->data_fd, DATA_INFLIGHT, &r->dw, err) < 0) {
		fb_rootfs_free(r);
		return -1;
	}
	r->root = rfs_node_new(r, NULL, "");
	r->root->ino = EXT2_ROOT_INO;
	r->root->mode = S_IFDIR | 0755;
	r->root->mtime = id.time;
	/* mke2fs made lost+found; keep it, as every ext4 has one */
	ext2_ino_t lf;
	if (ext2fs_lookup(r->fs, EXT2_ROOT_INO, "lost+found", 10, NULL, &lf) == 0) {
		struct node *n = rfs_node_new(r, r->root, "lost+found");
		n->mode = S_IFDIR | 0700;
		n->ino = lf;
		n->keep = true;
		n->layer = -1;
		r->nlink[lf] = 1;
	}
	*out = r;
	return 0;
}

void fb_rootfs_free(struct fb_rootfs *r)
{
	if (!r)
		return;
	fb_dw_stop(r->dw, NULL);
	r->dw = NULL;
	if (r->fs)
		ext2fs_close_free(&r->fs);
	if (!r->finished && r->path)
		unlink(r->path);
	if (r->root)
		free_tree(r->root);
	free(r->tab);
	free(r->nlink);
	free(r->buf);
	free(r->pend);
	free(r->path);
	if (r->data_fd >= 0)
		close(r->data_fd);
	free(r);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int fb_ext4_check(int fd, const char *name, struct fb_err *err)
{
	unsigned char sb[1024];
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fb_err_errno(err, errno, "%s", name);
	if (pread(fd, sb, sizeof(sb), 1024) != (ssize_t)sizeof(sb))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: not an ext4 image (too short for a superblock)", name);
	/* the fields of struct ext2_super_block, little-endian on disk */
	unsigned magic = (unsigned)sb[56] | (unsigned)sb[57] << 8;
	uint32_t inodes = le32(sb + 0), log_bs = le32(sb + 24), incompat = le32(sb + 96);
	uint64_t blocks = le32(sb + 4);
	if (incompat & EXT4_FEATURE_INCOMPAT_64BIT)
		blocks |= (uint64_t)le32(sb + 336) << 32;
	if (magic != EXT2_SUPER_MAGIC)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: not an ext4 image (no ext4 superblock magic)", name);
	if (log_bs > 6 || !inodes || !blocks)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: not an ext4 image (a superblock of block size %s, %u inodes, %ju blocks)",
				  name, log_bs > 6 ? "out of range" : "ok", inodes, (uintmax_t)blocks);
	uint64_t bs = 1024ULL << log_bs;
	if (blocks > (uint64_t)st.st_size / bs)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid",
				  "%s: a truncated ext4 image (%ju bytes for a file system of %ju)", name, (uintmax_t)st.st_size,
				  (uintmax_t)(blocks * bs));
	return 0;
}
