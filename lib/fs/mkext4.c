/* fb_mkext4 (mkext4.h): sizing, retries, the layers and files into an
 * ext4 image through lib/rootfs. */
#include "mkext4.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "follow.h"
#include "log.h"
#include "proc.h"
#include "rootfs.h"
#include "trace.h"
#include "tree.h"
#include "unpack.h"
#include "util.h"

int fb_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v <= 0)
		return -1;
	uint64_t mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	case 't': case 'T': mult = 1ULL << 40; end++; break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	*out = (uint64_t)(v * (double)mult);
	return 0;
}

/* The uncompressed size of a layer blob, without decompressing it, from
 * its first bytes, its last 4 and its size. */
static uint64_t estimate(const unsigned char head[18], size_t headlen, const unsigned char tail[4], uint64_t csize)
{
	uint64_t est = 0;
	if (headlen > 0) {
		if (head[0] == 0x1f && head[1] == 0x8b && csize >= 18) {
			/* gzip: ISIZE is the size modulo 2^32 */
			uint64_t isize = (uint64_t)tail[0] | (uint64_t)tail[1] << 8 | (uint64_t)tail[2] << 16 |
					 (uint64_t)tail[3] << 24;
			while (isize < csize)
				isize += 1ULL << 32;
			est = isize;
		} else if (head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) {
			/* zstd: the frame header may carry the content size */
			unsigned fhd = head[4], fcs_flag = fhd >> 6, single = (fhd >> 5) & 1, did_flag = fhd & 3;
			unsigned pos = 5 + (single ? 0 : 1) + (did_flag == 0 ? 0 : did_flag == 1 ? 1 : did_flag == 2 ? 2 : 4);
			unsigned fcs_len = fcs_flag == 0 ? (single ? 1 : 0) : fcs_flag == 1 ? 2 : fcs_flag == 2 ? 4 : 8;
			if (fcs_len && pos + fcs_len <= 18) {
				uint64_t v = 0;
				for (unsigned i = 0; i < fcs_len; i++)
					v |= (uint64_t)head[pos + i] << (8 * i);
				est = fcs_len == 2 ? v + 256 : v;
			} else {
				est = csize * 4;
			}
		} else if ((head[0] == 0xfd && head[1] == '7') || (head[0] == 'B' && head[1] == 'Z')) {
			est = csize * 5;
		} else {
			est = csize;
		}
	}
	return est;
}

static uint64_t estimate_layer(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	unsigned char head[18] = { 0 }, tail[4] = { 0 };
	uint64_t est = 0;
	ssize_t hn;
	if (fstat(fd, &st) == 0 && (hn = pread(fd, head, sizeof(head), 0)) > 0) {
		uint64_t csize = (uint64_t)st.st_size;
		bool gz = head[0] == 0x1f && head[1] == 0x8b && csize >= 18;
		if (!gz || pread(fd, tail, 4, (off_t)csize - 4) == 4)
			est = estimate(head, (size_t)hn, tail, csize);
		else
			est = csize; /* as the gzip test failing made it before */
	}
	close(fd);
	return est;
}

/* The same for a layer still downloading: its head as it comes, its size
 * and tail as the document says (checked when it is all read). */
static int estimate_follow(struct fb_follow *f, uint64_t *est, struct fb_err *err)
{
	unsigned char head[18] = { 0 };
	uint64_t csize = fb_follow_size(f);
	size_t hn = csize < sizeof(head) ? (size_t)csize : sizeof(head);
	if (hn && fb_follow_head(f, head, hn, err) < 0)
		return -1;
	*est = estimate(head, hn, fb_follow_tail(f), csize);
	return 0;
}

static uint64_t tree_entries;
static int count_tree_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)p, (void)sb, (void)flag, (void)f;
	tree_entries++;
	return 0;
}

/* Inodes for what the layers name, counted (the headers only), plus room
 * for the VM to make files of its own: for when the estimate from bytes
 * ran short (a layer of many empty files). */
static int inodes_needed(const struct fb_mkext4_opts *o, uint64_t *inodes, struct fb_err *err)
{
	uint64_t n = 0;
	for (size_t i = 0; i < o->nlayers; i++)
		if (fb_unpack_count(o->layers[i], o->names[i], &n, err) < 0)
			return -1;
	if (o->from_tree) {
		tree_entries = 0;
		nftw(o->from_tree, count_tree_cb, 64, FTW_PHYS);
		n += tree_entries;
	}
	*inodes = n + n / 4 + 4096;
	return 0;
}

static int write_ext4(const struct fb_mkext4_opts *o, struct fb_follow *const *follow, const char *out, uint64_t size,
		      uint64_t inodes, struct fb_rootfs_stats *st, bool *init_added, struct fb_err *err)
{
	struct fb_ext4_ident id;
	fb_ext4_ident_derive(o->seed, o->created, &id);
	struct fb_rootfs_opts ro = { .path = out, .size = size, .inodes = inodes, .ident = &id };
	struct fb_rootfs *r;
	if (fb_rootfs_create(&ro, &r, err) < 0)
		return -1;
	if (fb_rootfs_apply_layers(r, o->layers, o->names, follow, o->nlayers, err) < 0)
		goto fail;
	if (o->from_tree) {
		/* the tree streams in as one more layer; nothing is staged */
		int pfd[2];
		struct fb_tree_tar *tt;
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			fb_err_errno(err, errno, "pipe");
			goto fail;
		}
		if (fb_tree_tar_start(o->from_tree, pfd[1], &tt, err) < 0) {
			close(pfd[0]);
			close(pfd[1]);
			goto fail;
		}
		int lr = fb_rootfs_apply_layer_fd(r, pfd[0], o->from_tree, err);
		close(pfd[0]); /* a writer still going gets EPIPE and stops */
		struct fb_err terr = { 0 };
		int tr = fb_tree_tar_finish(tt, &terr);
		if (lr < 0)
			goto fail;
		if (tr < 0) {
			*err = terr;
			goto fail;
		}
	}
	/* fb-init joins every image (a link /sbin -> usr/sbin is followed);
	 * firebuild run writes it again into the VM's copy, so an image
	 * where it cannot go still runs */
	struct fb_buf ib = FB_BUF_INIT;
	struct fb_err ie = { 0 };
	*init_added = false;
	if (o->init && fb_read_file(o->init, &ib, &ie) == 0) {
		if (fb_rootfs_add_file(r, "/sbin/fb-init", ib.data, ib.len, 0755, 0, 0, &ie) == 0)
			*init_added = true;
		else
			fb_log(FB_LOG_WARN, "/sbin/fb-init not added (firebuild run adds it to the VM's copy): %s", ie.msg);
	}
	fb_buf_free(&ib);
	/* --add-file: any file, after the layers */
	for (size_t i = 0; i < o->nadd; i++) {
		char *spec = fb_xstrdup(o->add_files[i]);
		char *dest = strchr(spec, ':');
		char *mode_s = dest ? strchr(dest + 1, ':') : NULL;
		if (!dest) {
			free(spec);
			fb_err_set(err, FB_EXIT_USAGE, NULL, "--add-file %s: expected SRC:DEST[:MODE]", o->add_files[i]);
			goto fail;
		}
		*dest++ = '\0';
		if (mode_s)
			*mode_s++ = '\0';
		struct fb_buf data = FB_BUF_INIT;
		struct stat sst;
		int rr = stat(spec, &sst) < 0 ? fb_err_errno(err, errno, "--add-file %s", spec)
					     : fb_read_file(spec, &data, err);
		mode_t mode = mode_s ? (mode_t)strtoul(mode_s, NULL, 8) : (sst.st_mode & 07777);
		if (rr == 0)
			rr = fb_rootfs_add_file(r, dest, data.data ? data.data : "", data.len, mode, 0, 0, err);
		fb_buf_free(&data);
		free(spec);
		if (rr < 0)
			goto fail;
	}
	if (fb_rootfs_finish(r, st, err) < 0)
		goto fail;
	fb_rootfs_free(r);
	return 0;
fail:
	fb_rootfs_free(r);
	return -1;
}

/* The ext4 image from the layers, as one span. */
static int build(const struct fb_mkext4_opts *o, struct fb_follow *const *follow, uint64_t size, uint64_t inodes,
		 struct fb_rootfs_stats *st, bool *init_added, struct fb_err *err)
{
	struct fb_span *sp = fb_span_begin("ext4 write");
	fb_span_set_int(sp, "layers", (int64_t)o->nlayers);
	fb_span_set_int(sp, "size", (int64_t)size);
	int r = write_ext4(o, follow, o->output, size, inodes, st, init_added, err);
	if (r < 0)
		fb_span_error(sp, err->msg);
	fb_span_end(sp);
	return r;
}

int fb_mkext4(const struct fb_mkext4_opts *o, struct fb_rootfs_stats *st, bool *init_added, struct fb_err *err)
{
	uint64_t total = 0;
	if (o->from_tree) {
		char *duargv[] = { "du", "-sb", (char *)o->from_tree, NULL };
		struct fb_buf du = FB_BUF_INIT;
		int code = 0;
		if (fb_proc_run(duargv, NULL, 0, &du, NULL, &code, err) < 0 || code) {
			fb_buf_free(&du);
			if (!code)
				return -1;
			return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "--from-tree %s: not a readable directory", o->from_tree);
		}
		total += strtoull(fb_buf_str(&du), NULL, 10);
		fb_buf_free(&du);
	}
	for (size_t i = 0; i < o->nlayers; i++) {
		if (o->follow && o->follow[i]) {
			uint64_t est;
			if (estimate_follow(o->follow[i], &est, err) < 0)
				return -1;
			total += est;
			continue;
		}
		if (access(o->layers[i], R_OK) < 0)
			return fb_err_errno(err, errno, "layer %s: %s", o->names[i], o->layers[i]);
		total += estimate_layer(o->layers[i]);
	}
	/* One inode per 8 KiB of tar (an image of tiny files runs out and is
	 * retried larger); size = content + a quarter for block rounding and
	 * room to write in the VM + the journal + the inode tables. */
	uint64_t inodes = total / 8192 > 16384 ? total / 8192 : 16384;
	uint64_t size = o->disk_size ? o->disk_size : total + total / 4 + (64ULL << 20) + inodes * 256;
	size = (size + 4095) & ~4095ULL;
	if (o->disk_size && inodes < size / 16384)
		inodes = size / 16384; /* mke2fs's own ratio for a size given */
	bool counted = false;
	struct fb_follow *const *follow = o->follow;
	for (int t = 0;; t++) {
		if (build(o, follow, size, inodes, st, init_added, err) == 0)
			break;
		bool no_inodes = !strcmp(err->kind, "no_inodes");
		if ((!no_inodes && strcmp(err->kind, "no_space")) || t >= 2 || (o->disk_size && !no_inodes) || (no_inodes && counted))
			return -1;
		/* the layers read as they downloaded: once downloaded, from the store */
		for (size_t i = 0; follow && i < o->nlayers; i++)
			if (follow[i] && fb_follow_settle(follow[i], err) < 0)
				return -1;
		follow = NULL;
		if (no_inodes) {
			/* more bytes would not help: count what the layers hold */
			struct fb_err cerr = { 0 };
			uint64_t want;
			if (inodes_needed(o, &want, &cerr) < 0) {
				*err = cerr;
				return -1;
			}
			counted = true;
			/* ext4 keeps at most one inode per 4 KiB block */
			uint64_t room = want * 4096 + want * 256 + (64ULL << 20);
			if (o->disk_size && room > size) {
				fb_err_set(err, FB_EXIT_FAILED, "no_inodes",
					   "the layers hold %" PRIu64 " entries: --disk-size %" PRIu64 " MiB cannot have that many inodes; give at least %" PRIu64 " MiB",
					   want, size >> 20, (room + (1 << 20) - 1) >> 20);
				return -1;
			}
			fb_log(FB_LOG_INFO, "%" PRIu64 " inodes were short; trying again with %" PRIu64, inodes, want);
			inodes = want > inodes * 2 ? want : inodes * 2;
			if (size < room)
				size = (room + 4095) & ~4095ULL;
			continue;
		}
		fb_log(FB_LOG_INFO, "the estimate of %" PRIu64 " MiB was short; trying again with twice the size", size >> 20);
		size *= 2;
		inodes *= 2;
	}
	return 0;
}
