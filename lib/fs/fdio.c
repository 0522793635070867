#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static struct struct_io_manager fd_manager;
io_manager fb_fdio_io_manager = &fd_manager;

static int fd_of(io_channel ch)
{
	return *(int *)ch->private_data;
}

/* The bytes of count blocks (a negative count is a byte count, as
 * libext2fs passes for partial blocks). */
static size_t span(io_channel ch, long long count)
{
	return count < 0 ? (size_t)-count : (size_t)count * (size_t)ch->block_size;
}

static errcode_t fd_open(const char *name, int flags, io_channel *out)
{
	if (!name)
		return EXT2_ET_BAD_DEVICE_NAME;
	int oflags = ((flags & IO_FLAG_RW) ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY;
	if (flags & IO_FLAG_EXCLUSIVE)
		oflags |= O_EXCL;
	int fd = open(name, oflags);
	if (fd < 0)
		return errno;
	int *priv = fb_xcalloc(1, sizeof(*priv));
	*priv = fd;
	io_channel ch = fb_xcalloc(1, sizeof(*ch));
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = fb_fdio_io_manager;
	ch->name = fb_xstrdup(name);
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = priv;
	*out = ch;
	return 0;
}

static errcode_t fd_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	errcode_t e = close(fd_of(ch)) < 0 ? errno : 0;
	free(ch->private_data);
	free(ch->name);
	free(ch);
	return e;
}

static errcode_t fd_set_blksize(io_channel ch, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t fd_read64(io_channel ch, unsigned long long block, int count, void *buf)
{
	size_t n = span(ch, count), got = 0;
	off_t at = (off_t)(block * (unsigned long long)ch->block_size);
	while (got < n) {
		ssize_t r = pread(fd_of(ch), (char *)buf + got, n - got, at + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got < n) {
		/* past the end: zeros, and the caller told (as unix I/O does) */
		memset((char *)buf + got, 0, n - got);
		return EXT2_ET_SHORT_READ;
	}
	return 0;
}

static errcode_t fd_write_at(io_channel ch, off_t at, const void *buf, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t w = pwrite(fd_of(ch), (const char *)buf + put, n - put, at + (off_t)put);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		if (w == 0)
			return EXT2_ET_SHORT_WRITE;
		put += (size_t)w;
	}
	return 0;
}

static errcode_t fd_write64(io_channel ch, unsigned long long block, int count, const void *buf)
{
	return fd_write_at(ch, (off_t)(block * (unsigned long long)ch->block_size), buf, span(ch, count));
}

static errcode_t fd_read(io_channel ch, unsigned long block, int count, void *buf)
{
	return fd_read64(ch, block, count, buf);
}

static errcode_t fd_write(io_channel ch, unsigned long block, int count, const void *buf)
{
	return fd_write64(ch, block, count, buf);
}

static errcode_t fd_write_byte(io_channel ch, unsigned long offset, int size, const void *buf)
{
	if (size < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	return fd_write_at(ch, (off_t)offset, buf, (size_t)size);
}

static errcode_t fd_flush(io_channel ch)
{
	return fsync(fd_of(ch)) < 0 ? errno : 0;
}

static errcode_t fd_set_option(io_channel ch, const char *option, const char *arg)
{
	(void)ch;
	(void)arg;
	/* nothing to turn off: no cache here */
	return option && !strcmp(option, "cache") ? 0 : EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager fd_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "firebuild descriptor I/O",
	.open = fd_open,
	.close = fd_close,
	.set_blksize = fd_set_blksize,
	.read_blk = fd_read,
	.write_blk = fd_write,
	.flush = fd_flush,
	.write_byte = fd_write_byte,
	.set_option = fd_set_option,
	.read_blk64 = fd_read64,
	.write_blk64 = fd_write64,
};
