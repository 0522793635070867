#include "wbcache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define RUN_MAX 256 /* blocks merged into one write */

struct ent {
	unsigned long long blk;
	int next; /* the hash chain; -1 ends it */
	bool used, dirty;
};

struct wb {
	io_channel inner;
	int bs;
	int cap, n, hand, ndirty;
	struct ent *e;
	char *data; /* cap blocks */
	int *bucket;
	unsigned nbucket;
	char *run; /* RUN_MAX blocks, for merged writes */
	void (*old_block)(ext2_filsys, blk64_t, int); /* fb_wbcache_watch's */
	void (*old_range)(ext2_filsys, blk64_t, blk_t, int);
};

static struct struct_io_manager wb_manager;
io_manager fb_wbcache_io_manager = &wb_manager;

static unsigned hash_blk(const struct wb *w, unsigned long long b)
{
	return (unsigned)((b * 0x9E3779B97F4A7C15ull) >> 32) & (w->nbucket - 1);
}

static char *slot(const struct wb *w, int i)
{
	return w->data + (size_t)i * (size_t)w->bs;
}

static int find(const struct wb *w, unsigned long long b)
{
	for (int i = w->bucket[hash_blk(w, b)]; i >= 0; i = w->e[i].next)
		if (w->e[i].blk == b)
			return i;
	return -1;
}

static void insert(struct wb *w, int i, unsigned long long b)
{
	unsigned h = hash_blk(w, b);
	w->e[i] = (struct ent){ b, w->bucket[h], true, false };
	w->bucket[h] = i;
}

static void forget(struct wb *w, int i)
{
	if (!w->e[i].used)
		return;
	int *p = &w->bucket[hash_blk(w, w->e[i].blk)];
	while (*p != i)
		p = &w->e[*p].next;
	*p = w->e[i].next;
	if (w->e[i].dirty)
		w->ndirty--;
	w->e[i].used = w->e[i].dirty = false;
}

/* (Re)size for the current block size: everything held is gone. */
static void setup(struct wb *w)
{
	free(w->e);
	free(w->data);
	free(w->bucket);
	free(w->run);
	w->e = fb_xcalloc((size_t)w->cap, sizeof(*w->e));
	w->data = fb_xmalloc((size_t)w->cap * (size_t)w->bs); /* touched as used */
	for (w->nbucket = 1; w->nbucket < 2u * (unsigned)w->cap;)
		w->nbucket <<= 1;
	w->bucket = fb_xmalloc(w->nbucket * sizeof(*w->bucket));
	memset(w->bucket, 0xff, w->nbucket * sizeof(*w->bucket));
	w->run = NULL;
	w->n = w->hand = w->ndirty = 0;
}

struct dirty {
	unsigned long long blk;
	int i;
};

static int by_blk(const void *a, const void *b)
{
	const struct dirty *x = a, *y = b;
	return x->blk < y->blk ? -1 : x->blk > y->blk;
}

/* Every dirty block out, in block order, consecutive ones in one write. */
static errcode_t flush_dirty(struct wb *w)
{
	if (!w->ndirty)
		return 0;
	struct dirty *d = fb_xmalloc((size_t)w->ndirty * sizeof(*d));
	int nd = 0;
	for (int i = 0; i < w->n; i++)
		if (w->e[i].used && w->e[i].dirty)
			d[nd++] = (struct dirty){ w->e[i].blk, i };
	qsort(d, (size_t)nd, sizeof(*d), by_blk);
	errcode_t err = 0;
	for (int k = 0; k < nd && !err;) {
		int len = 1;
		while (k + len < nd && len < RUN_MAX && d[k + len].blk == d[k].blk + (unsigned long long)len)
			len++;
		const char *src = slot(w, d[k].i);
		if (len > 1) {
			if (!w->run)
				w->run = fb_xmalloc((size_t)RUN_MAX * (size_t)w->bs);
			for (int j = 0; j < len; j++)
				memcpy(w->run + (size_t)j * (size_t)w->bs, slot(w, d[k + j].i), (size_t)w->bs);
			src = w->run;
		}
		err = io_channel_write_blk64(w->inner, d[k].blk, len, src);
		for (int j = 0; !err && j < len; j++) {
			w->e[d[k + j].i].dirty = false;
			w->ndirty--;
		}
		k += len;
	}
	free(d);
	return err;
}

/* A slot for a new block: an unused one, or a clean one evicted (the
 * dirty ones written first when they are half the cache). */
static errcode_t get_slot(struct wb *w, int *out)
{
	if (w->n < w->cap) {
		*out = w->n++;
		w->e[*out].used = false;
		return 0;
	}
	if (w->ndirty >= w->cap / 2) {
		errcode_t e = flush_dirty(w);
		if (e)
			return e;
	}
	for (;;) {
		int i = w->hand;
		w->hand = (w->hand + 1) % w->cap;
		if (!w->e[i].dirty) {
			forget(w, i);
			*out = i;
			return 0;
		}
	}
}

/* Forget the blocks [b, b+n) held; with write, the dirty ones are written
 * first (what comes next writes over part of them). */
static errcode_t drop_range(struct wb *w, unsigned long long b, unsigned long long n, bool write)
{
	if (write && w->ndirty) {
		for (int i = 0; i < w->n; i++) {
			struct ent *x = &w->e[i];
			if (x->used && x->dirty && x->blk >= b && x->blk - b < n) {
				errcode_t e = io_channel_write_blk64(w->inner, x->blk, 1, slot(w, i));
				if (e)
					return e;
				x->dirty = false;
				w->ndirty--;
			}
		}
	}
	if (n <= (unsigned long long)w->n) {
		for (unsigned long long k = 0; k < n; k++) {
			int i = find(w, b + k);
			if (i >= 0)
				forget(w, i);
		}
	} else {
		for (int i = 0; i < w->n; i++)
			if (w->e[i].used && w->e[i].blk >= b && w->e[i].blk - b < n)
				forget(w, i);
	}
	return 0;
}

static size_t io_bytes(const struct wb *w, int count)
{
	return count < 0 ? (size_t)-(long long)count : (size_t)count * (size_t)w->bs;
}

static errcode_t wb_read64(io_channel ch, unsigned long long block, int count, void *data)
{
	struct wb *w = ch->private_data;
	size_t size = io_bytes(w, count), bs = (size_t)w->bs;
	if (size == bs) {
		int i = find(w, block);
		if (i < 0) {
			errcode_t e = get_slot(w, &i);
			if (!e)
				e = io_channel_read_blk64(w->inner, block, 1, slot(w, i));
			if (e)
				return e;
			insert(w, i, block);
		}
		memcpy(data, slot(w, i), bs);
		return 0;
	}
	errcode_t e = io_channel_read_blk64(w->inner, block, count, data);
	if (e)
		return e;
	/* what is held is newer than what the file has */
	unsigned long long n = (size + bs - 1) / bs;
	for (int i = 0; i < w->n; i++) {
		struct ent *x = &w->e[i];
		if (x->used && x->blk >= block && x->blk - block < n) {
			size_t off = (size_t)(x->blk - block) * bs;
			memcpy((char *)data + off, slot(w, i), size - off < bs ? size - off : bs);
		}
	}
	return 0;
}

static errcode_t wb_write64(io_channel ch, unsigned long long block, int count, const void *data)
{
	struct wb *w = ch->private_data;
	size_t size = io_bytes(w, count), bs = (size_t)w->bs;
	unsigned long long n = (size + bs - 1) / bs;
	if (size % bs || n > RUN_MAX) {
		/* part of a block (written over what is held), or a large run
		 * (which replaces it): straight through */
		errcode_t e = drop_range(w, block, n, size % bs != 0);
		return e ? e : io_channel_write_blk64(w->inner, block, count, data);
	}
	for (unsigned long long k = 0; k < n; k++) {
		int i = find(w, block + k);
		if (i < 0) {
			errcode_t e = get_slot(w, &i);
			if (e)
				return e;
			insert(w, i, block + k);
		}
		memcpy(slot(w, i), (const char *)data + k * bs, bs);
		if (!w->e[i].dirty) {
			w->e[i].dirty = true;
			w->ndirty++;
		}
	}
	return 0;
}

static errcode_t wb_read(io_channel ch, unsigned long block, int count, void *data)
{
	return wb_read64(ch, block, count, data);
}

static errcode_t wb_write(io_channel ch, unsigned long block, int count, const void *data)
{
	return wb_write64(ch, block, count, data);
}

static errcode_t wb_write_byte(io_channel ch, unsigned long offset, int count, const void *data)
{
	struct wb *w = ch->private_data;
	if (!w->inner->manager->write_byte)
		return EXT2_ET_UNIMPLEMENTED;
	if (count <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	unsigned long long first = offset / (unsigned)w->bs, last = (offset + (unsigned long)count - 1) / (unsigned)w->bs;
	errcode_t e = drop_range(w, first, last - first + 1, true);
	return e ? e : w->inner->manager->write_byte(w->inner, offset, count, data);
}

static errcode_t wb_set_blksize(io_channel ch, int blksize)
{
	struct wb *w = ch->private_data;
	if (blksize == w->bs)
		return io_channel_set_blksize(w->inner, blksize);
	/* what is held goes out in the size it was written in */
	errcode_t e = flush_dirty(w);
	if (e || (e = io_channel_set_blksize(w->inner, blksize)))
		return e;
	w->bs = ch->block_size = blksize;
	setup(w);
	return 0;
}

static errcode_t wb_flush(io_channel ch)
{
	struct wb *w = ch->private_data;
	errcode_t e = flush_dirty(w);
	return e ? e : io_channel_flush(w->inner);
}

static void wb_free(io_channel ch)
{
	struct wb *w = ch->private_data;
	free(w->e);
	free(w->data);
	free(w->bucket);
	free(w->run);
	free(w);
	free(ch->name);
	free(ch);
}

static errcode_t wb_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	struct wb *w = ch->private_data;
	errcode_t e = flush_dirty(w);
	errcode_t ce = io_channel_close(w->inner);
	wb_free(ch);
	return e ? e : ce;
}

static errcode_t wb_set_option(io_channel ch, const char *option, const char *arg)
{
	struct wb *w = ch->private_data;
	if (!strcmp(option, "fb_cache_blocks")) {
		char *end = NULL;
		long v = arg ? strtol(arg, &end, 10) : 0;
		if (!arg || *end || v < 16 || v > (1 << 20))
			return EXT2_ET_INVALID_ARGUMENT;
		errcode_t e = flush_dirty(w);
		if (e)
			return e;
		w->cap = (int)v;
		setup(w);
		return 0;
	}
	if (!w->inner->manager->set_option)
		return EXT2_ET_INVALID_ARGUMENT;
	return w->inner->manager->set_option(w->inner, option, arg);
}

static errcode_t wb_get_stats(io_channel ch, io_stats *stats)
{
	struct wb *w = ch->private_data;
	if (!w->inner->manager->get_stats)
		return EXT2_ET_UNIMPLEMENTED;
	return w->inner->manager->get_stats(w->inner, stats);
}

/* A range the inner channel discards or zeroes: what is held of it is
 * written first, then forgotten. */
static errcode_t over_range(io_channel ch, errcode_t (*op)(io_channel, unsigned long long, unsigned long long),
			    unsigned long long block, unsigned long long count)
{
	struct wb *w = ch->private_data;
	if (!op)
		return EXT2_ET_UNIMPLEMENTED;
	errcode_t e = drop_range(w, block, count, true);
	return e ? e : op(w->inner, block, count);
}

static errcode_t wb_discard(io_channel ch, unsigned long long block, unsigned long long count)
{
	return over_range(ch, ((struct wb *)ch->private_data)->inner->manager->discard, block, count);
}

static errcode_t wb_zeroout(io_channel ch, unsigned long long block, unsigned long long count)
{
	return over_range(ch, ((struct wb *)ch->private_data)->inner->manager->zeroout, block, count);
}

static errcode_t wb_readahead(io_channel ch, unsigned long long block, unsigned long long count)
{
	struct wb *w = ch->private_data;
	if (!w->inner->manager->cache_readahead)
		return EXT2_ET_UNIMPLEMENTED;
	return w->inner->manager->cache_readahead(w->inner, block, count);
}

static errcode_t wb_open(const char *name, int flags, io_channel *out)
{
	io_channel inner = NULL;
	errcode_t e = unix_io_manager->open(name, flags, &inner);
	if (e)
		return e;
	/* its own 8 blocks would only copy ours */
	if ((e = io_channel_set_options(inner, "cache=off"))) {
		io_channel_close(inner);
		return e;
	}
	struct wb *w = fb_xcalloc(1, sizeof(*w));
	w->inner = inner;
	w->bs = inner->block_size;
	w->cap = FB_WBCACHE_BLOCKS;
	setup(w);
	io_channel ch = fb_xcalloc(1, sizeof(*ch));
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = fb_wbcache_io_manager;
	ch->name = fb_xstrdup(name);
	ch->block_size = w->bs;
	ch->refcount = 1;
	ch->flags = inner->flags & ~CHANNEL_FLAGS_THREADS; /* no locks here */
	ch->align = inner->align;
	ch->private_data = w;
	*out = ch;
	return 0;
}

errcode_t fb_wbcache_drop(io_channel ch)
{
	if (!ch || ch->manager != fb_wbcache_io_manager)
		return 0;
	struct wb *w = ch->private_data;
	errcode_t e = flush_dirty(w);
	if (e)
		return e;
	setup(w);
	return 0;
}

/* A block freed: what is held of it is nobody's (and must not be written
 * over what becomes of it). */
static void on_block(ext2_filsys fs, blk64_t blk, int inuse)
{
	struct wb *w = fs->io->private_data;
	if (inuse < 0)
		(void)drop_range(w, blk, 1, false);
	if (w->old_block)
		w->old_block(fs, blk, inuse);
}

static void on_range(ext2_filsys fs, blk64_t blk, blk_t num, int inuse)
{
	struct wb *w = fs->io->private_data;
	if (inuse < 0)
		(void)drop_range(w, blk, num, false);
	if (w->old_range)
		w->old_range(fs, blk, num, inuse);
}

void fb_wbcache_watch(ext2_filsys fs)
{
	if (!fs->io || fs->io->manager != fb_wbcache_io_manager)
		return;
	struct wb *w = fs->io->private_data;
	ext2fs_set_block_alloc_stats_callback(fs, on_block, &w->old_block);
	ext2fs_set_block_alloc_stats_range_callback(fs, on_range, &w->old_range);
}

static struct struct_io_manager wb_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "firebuild write-back cache",
	.open = wb_open,
	.close = wb_close,
	.set_blksize = wb_set_blksize,
	.read_blk = wb_read,
	.write_blk = wb_write,
	.flush = wb_flush,
	.write_byte = wb_write_byte,
	.set_option = wb_set_option,
	.get_stats = wb_get_stats,
	.read_blk64 = wb_read64,
	.write_blk64 = wb_write64,
	.discard = wb_discard,
	.cache_readahead = wb_readahead,
	.zeroout = wb_zeroout,
};
