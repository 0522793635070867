/* Fuzz target: a layer (tar, compressed or not) applied to an empty ext4,
 * the way fb-mkrootfs applies hostile images. Whatever the input, no crash,
 * no leak, and the run ends (error or not). Each input gets a fresh copy of
 * one template file system, made once with mke2fs. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "rootfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fb-fuzz-layer-XXXXXX";
static char tmpl[64], img[64], layer[64];

static void cleanup(void)
{
	unlink(img);
	unlink(layer);
	unlink(tmpl);
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
	struct fb_rootfs_opts o = { .path = tmpl, .size = 64 << 20, .inodes = 2048 };
	struct fb_rootfs *r;
	struct fb_err err = { 0 };
	if (fb_rootfs_create(&o, &r, &err) < 0 || fb_rootfs_finish(r, NULL, &err) < 0) {
		fprintf(stderr, "template: %s\n", err.msg);
		abort();
	}
	fb_rootfs_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	int fd = open(layer, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	close(fd);
	struct fb_rootfs_opts o = { .path = img, .template_image = tmpl };
	struct fb_rootfs *r;
	struct fb_err err = { 0 };
	if (fb_rootfs_create(&o, &r, &err) == 0) {
		/* a failure (a full image) is reported, with a message */
		if (fb_rootfs_apply_layer(r, layer, "fuzz", &err) == 0 && fb_rootfs_finish(r, NULL, &err) < 0 && !err.msg[0])
			abort();
		fb_rootfs_free(r);
	}
	unlink(img);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
