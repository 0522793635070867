/* lib/fs/wbcache: whatever is written, read back the same through the
 * cache and in the file after close, with evictions, merged runs, partial
 * blocks and writes made past the cache after a drop. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"
#include "wbcache.h"

#define BS 4096
#define NBLK 512

static char g_path[] = "/tmp/test_wbcache.XXXXXX";

static uint64_t g_rng = 0x2545F4914F6CDD1Dull;
static unsigned rnd(unsigned n)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (unsigned)(g_rng % n);
}

static int open_ch(io_channel *ch, const char *cache_blocks)
{
	if (fb_wbcache_io_manager->open(g_path, IO_FLAG_RW, ch))
		return -1;
	if (io_channel_set_blksize(*ch, BS))
		return -1;
	if (cache_blocks && fb_wbcache_io_manager->set_option(*ch, "fb_cache_blocks", cache_blocks))
		return -1;
	return 0;
}

static int file_is(const char *model)
{
	int fd = open(g_path, O_RDONLY);
	char *got = fb_xmalloc((size_t)NBLK * BS);
	ssize_t n = pread(fd, got, (size_t)NBLK * BS, 0);
	close(fd);
	int same = n == (ssize_t)NBLK * BS && memcmp(got, model, (size_t)NBLK * BS) == 0;
	free(got);
	return same;
}

static void fresh_file(char *model)
{
	for (size_t i = 0; i < (size_t)NBLK * BS; i++)
		model[i] = (char)rnd(256);
	int fd = open(g_path, O_WRONLY | O_TRUNC);
	(void)!pwrite(fd, model, (size_t)NBLK * BS, 0);
	close(fd);
}

static int random_ops_match_a_model(void)
{
	char *model = fb_xmalloc((size_t)NBLK * BS), *buf = fb_xmalloc((size_t)NBLK * BS);
	fresh_file(model);
	io_channel ch;
	TAP_CHECK(open_ch(&ch, "16") == 0); /* small: every path of eviction */
	for (int op = 0; op < 20000; op++) {
		unsigned b = rnd(NBLK), kind = rnd(10);
		if (kind < 4) { /* whole blocks, 1..4 of them, or a run past RUN_MAX */
			unsigned n = rnd(50) == 0 ? 300 : 1 + rnd(4);
			if (b + n > NBLK)
				b = NBLK - n;
			for (size_t i = 0; i < (size_t)n * BS; i++)
				buf[i] = (char)rnd(256);
			TAP_CHECK(io_channel_write_blk64(ch, b, (int)n, buf) == 0);
			memcpy(model + (size_t)b * BS, buf, (size_t)n * BS);
		} else if (kind < 5) { /* part of a block (count < 0 is bytes) */
			int len = 1 + (int)rnd(BS * 2 - 1);
			if ((size_t)b * BS + (size_t)len > (size_t)NBLK * BS)
				b = NBLK - 2;
			memset(buf, 'p' + (int)rnd(8), (size_t)len);
			TAP_CHECK(io_channel_write_blk64(ch, b, -len, buf) == 0);
			memcpy(model + (size_t)b * BS, buf, (size_t)len);
		} else if (kind < 6) { /* bytes at any offset */
			unsigned long off = rnd(NBLK * BS - 100);
			int len = 1 + (int)rnd(99);
			memset(buf, 'w', (size_t)len);
			TAP_CHECK(io_channel_write_byte(ch, off, len, buf) == 0);
			memcpy(model + off, buf, (size_t)len);
		} else if (kind < 9) { /* reads: one block, several, a partial one */
			unsigned n = kind == 6 ? 1 : 1 + rnd(40);
			if (b + n > NBLK)
				b = NBLK - n;
			int count = kind == 8 ? -(int)(n * BS - rnd(BS)) : (int)n;
			size_t bytes = count < 0 ? (size_t)-count : (size_t)n * BS;
			TAP_CHECK(io_channel_read_blk64(ch, b, count, buf) == 0);
			if (memcmp(buf, model + (size_t)b * BS, bytes))
				return tap_fail("op %d: read of %u blocks at %u differs", op, n, b);
		} else if (rnd(4) == 0) {
			TAP_CHECK(io_channel_flush(ch) == 0);
		} else {
			TAP_CHECK(fb_wbcache_drop(ch) == 0);
		}
	}
	TAP_CHECK(io_channel_close(ch) == 0);
	TAP_CHECK(file_is(model));
	free(model);
	free(buf);
	return 0;
}

static int dirty_blocks_stay_until_flush_and_a_drop_sees_outside_writes(void)
{
	char *model = fb_xmalloc((size_t)NBLK * BS), blk[BS];
	fresh_file(model);
	io_channel ch;
	TAP_CHECK(open_ch(&ch, NULL) == 0);
	memset(blk, 'm', sizeof(blk));
	TAP_CHECK(io_channel_write_blk64(ch, 7, 1, blk) == 0);
	TAP_CHECK(file_is(model)); /* held, not written */
	TAP_CHECK(io_channel_flush(ch) == 0);
	memcpy(model + 7 * BS, blk, BS);
	TAP_CHECK(file_is(model));
	/* written past the channel (the data writer): a drop forgets the old copy */
	int fd = open(g_path, O_WRONLY);
	memset(blk, 'd', sizeof(blk));
	TAP_CHECK(pwrite(fd, blk, BS, 7 * BS) == BS);
	close(fd);
	memcpy(model + 7 * BS, blk, BS);
	TAP_CHECK(fb_wbcache_drop(ch) == 0);
	char got[BS];
	TAP_CHECK(io_channel_read_blk64(ch, 7, 1, got) == 0);
	TAP_CHECK(memcmp(got, blk, BS) == 0);
	/* a read past the end fails and leaves the cache as it was */
	TAP_CHECK(io_channel_read_blk64(ch, NBLK + 10, 1, got) != 0);
	TAP_CHECK(io_channel_read_blk64(ch, 7, 1, got) == 0 && memcmp(got, blk, BS) == 0);
	TAP_CHECK(fb_wbcache_io_manager->set_option(ch, "fb_cache_blocks", "3") != 0);
	TAP_CHECK(fb_wbcache_io_manager->set_option(ch, "fb_cache_blocks", "x") != 0);
	TAP_CHECK(io_channel_close(ch) == 0);
	TAP_CHECK(file_is(model));
	/* a drop on another manager's channel does nothing */
	TAP_CHECK(unix_io_manager->open(g_path, IO_FLAG_RW, &ch) == 0);
	TAP_CHECK(fb_wbcache_drop(ch) == 0);
	TAP_CHECK(io_channel_close(ch) == 0);
	free(model);
	return 0;
}

static int a_block_size_change_writes_what_is_held_in_the_old_size(void)
{
	char *model = fb_xmalloc((size_t)NBLK * BS), blk[BS], got[1024];
	fresh_file(model);
	io_channel ch;
	TAP_CHECK(open_ch(&ch, NULL) == 0);
	memset(blk, 'a', sizeof(blk));
	TAP_CHECK(io_channel_write_blk64(ch, 10, 1, blk) == 0);
	memcpy(model + 10 * BS, blk, BS);
	TAP_CHECK(io_channel_set_blksize(ch, 1024) == 0);
	TAP_CHECK(file_is(model));
	TAP_CHECK(io_channel_read_blk64(ch, 43, 1, got) == 0);
	TAP_CHECK(memcmp(got, blk, sizeof(got)) == 0);
	TAP_CHECK(io_channel_close(ch) == 0);
	TAP_CHECK(file_is(model));
	free(model);
	return 0;
}

static const struct tap_case cases[] = {
	{ "random writes (whole, partial, bytes, long runs), reads, flushes and drops match a model, in the file after close",
	  random_ops_match_a_model },
	{ "dirty blocks are held until a flush; a drop sees a write made past the cache; errors leave it whole",
	  dirty_blocks_stay_until_flush_and_a_drop_sees_outside_writes },
	{ "a block size change writes what is held in the size it was written in", a_block_size_change_writes_what_is_held_in_the_old_size },
};

int main(void)
{
	int fd = mkstemp(g_path);
	if (fd < 0)
		return 1;
	close(fd);
	int r = tap_run(cases, FB_ARRAY_LEN(cases));
	unlink(g_path);
	return r;
}
