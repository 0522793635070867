/* Fuzz target: one layer (a tar, compressed or not) applied by both
 * appliers — into an empty ext4 (lib/rootfs) and into an empty directory
 * tree (lib/tree) — which must agree: both accept it or both refuse it.
 * They share the entry checks (lib/layerentry) and the way links are
 * followed; a layer one accepts and the other refuses is a bug (abort).
 * Failures of the medium rather than of the layer (the small ext4 is full,
 * /tmp is full) are not compared. Needs
 * root for the tree's owners and device nodes; without it, only the
 * crash and leak checks apply.
 * An input that starts with 'S' is a spec rather than a tar, so that the
 * fuzzer explores names and links instead of tar checksums: one entry a
 * line, "TYPE NAME [TARGET]", TYPE one of f (file) d (dir) l (symlink)
 * h (hard link) c b (devices) p (fifo) s (socket); it becomes a pax tar. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "archiveapi.h"
#include "err.h"
#include "rootfs.h"
#include "tree.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fb-fuzz-lentry-XXXXXX";
static char tmpl[80], img[80], layer[80], tree[80];

static void cleanup(void)
{
	unlink(img);
	unlink(layer);
	unlink(tmpl);
	fb_tree_remove(tree);
	rmdir(dir);
}

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(tmpl, sizeof(tmpl), "%s/template.ext4", dir);
	snprintf(img, sizeof(img), "%s/img.ext4", dir);
	snprintf(layer, sizeof(layer), "%s/layer", dir);
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	struct fb_rootfs_opts o = { .path = tmpl, .size = 64 << 20, .inodes = 2048 };
	struct fb_rootfs *r;
	struct fb_err err = { 0 };
	if (fb_rootfs_create(&o, &r, &err) < 0 || fb_rootfs_finish(r, NULL, &err) < 0) {
		fprintf(stderr, "template: %s\n", err.msg);
		abort();
	}
	fb_rootfs_free(r);
}

/* The ext4 writer's verdict; 1 when the medium failed, not the layer. */
static int to_ext4(struct fb_err *err, bool *medium)
{
	int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	close(fd);
	struct fb_rootfs_opts o = { .path = img, .template_image = tmpl };
	struct fb_rootfs *r;
	int ret = -1;
	if (fb_rootfs_create(&o, &r, err) == 0) {
		ret = fb_rootfs_apply_layer(r, layer, "fuzz", err);
		if (ret == 0)
			ret = fb_rootfs_finish(r, NULL, err);
		fb_rootfs_free(r);
	}
	unlink(img);
	*medium = ret < 0 && (!strcmp(err->kind, "no_space") || !strcmp(err->kind, "no_inodes") || !strcmp(err->kind, "ext4"));
	return ret;
}

static int to_tree(struct fb_err *err, bool *medium)
{
	fb_tree_remove(tree);
	if (mkdir(tree, 0755) < 0)
		abort();
	int ret = fb_tree_apply_layer(tree, layer, "fuzz", err);
	/* /tmp full: the host's trouble, not the layer's */
	*medium = ret < 0 && strstr(err->msg, strerror(ENOSPC));
	fb_tree_remove(tree);
	return ret;
}

/* The spec form: write the entries it names as a pax tar to fd. */
static void spec_to_tar(const uint8_t *data, size_t size, int fd)
{
	struct archive *w = archive_write_new();
	archive_write_set_format_pax_restricted(w);
	if (archive_write_open_fd(w, fd) != ARCHIVE_OK)
		abort();
	char *text = fb_xstrndup((const char *)data + 1, size - 1);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = NULL;
		char *type = strtok_r(line, " ", &sp), *name = strtok_r(NULL, " ", &sp), *target = strtok_r(NULL, " ", &sp);
		if (!type || !name)
			continue;
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, name);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_mtime(e, 1700000000, 0);
		static const char body[] = "data";
		int64_t len = 0;
		switch (type[0]) {
		case 'd': archive_entry_set_filetype(e, AE_IFDIR); break;
		case 'l': archive_entry_set_filetype(e, AE_IFLNK); archive_entry_set_symlink(e, target ? target : ""); break;
		case 'h': archive_entry_set_filetype(e, AE_IFREG); archive_entry_set_hardlink(e, target ? target : ""); break;
		case 'c': archive_entry_set_filetype(e, AE_IFCHR); archive_entry_set_rdev(e, makedev(1, 3)); break;
		case 'b': archive_entry_set_filetype(e, AE_IFBLK); archive_entry_set_rdev(e, makedev(7, 0)); break;
		case 'p': archive_entry_set_filetype(e, AE_IFIFO); break;
		case 's': archive_entry_set_filetype(e, AE_IFSOCK); break;
		default: archive_entry_set_filetype(e, AE_IFREG); len = 4; break;
		}
		archive_entry_set_size(e, len);
		if (archive_write_header(w, e) >= ARCHIVE_WARN && len)
			archive_write_data(w, body, (size_t)len);
		archive_entry_free(e);
	}
	free(text);
	archive_write_close(w);
	archive_write_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	int fd = open(layer, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (size && data[0] == 'S')
		spec_to_tar(data, size, fd);
	else if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	struct fb_err e1 = { 0 }, e2 = { 0 };
	bool m1 = false, m2 = false;
	int r1 = to_ext4(&e1, &m1);
	int r2 = to_tree(&e2, &m2);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "ext4: %s\ntree: %s\n", r1 == 0 ? "accepted" : e1.msg, r2 == 0 ? "accepted" : e2.msg);
	if (geteuid() == 0 && !m1 && !m2 && (r1 == 0) != (r2 == 0)) {
		fprintf(stderr, "the appliers disagree:\n  ext4: %s\n  tree: %s\n", r1 == 0 ? "accepted" : e1.msg,
			r2 == 0 ? "accepted" : e2.msg);
		abort();
	}
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
