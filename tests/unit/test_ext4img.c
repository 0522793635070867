/* lib/fs/ext4img: a file put into an ext4 image that exists (links on the
 * way followed inside it), and the tree copied out; e2fsck and debugfs,
 * the real tools, say the image stays whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "ext4img.h"
#include "proc.h"
#include "tree.h"
#include "util.h"
#include "tap.h"

static char *g_dir;

/* sh -c CMD: its exit code */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct fb_buf b = FB_BUF_INIT;
	fb_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	char *argv[] = { "/bin/sh", "-c", b.data, NULL };
	struct fb_err err = { 0 };
	int code = -1;
	struct fb_buf out = FB_BUF_INIT, eo = FB_BUF_INIT;
	if (fb_proc_run(argv, NULL, 0, &out, &eo, &code, &err) < 0)
		code = -1;
	if (code)
		printf("# %s: exit %d\n# %s%s\n", b.data, code, fb_buf_str(&out), fb_buf_str(&eo));
	fb_buf_free(&out);
	fb_buf_free(&eo);
	fb_buf_free(&b);
	return code;
}

static bool have_tools(void)
{
	return access("/sbin/mke2fs", X_OK) == 0 && access("/sbin/e2fsck", X_OK) == 0 && access("/sbin/debugfs", X_OK) == 0;
}

/* an image made by mke2fs -d from a tree: /sbin a link to usr/sbin (as
 * usr-merged images have it), an old file to replace, a hard link */
static char *make_image(const char *name, bool merged)
{
	char *img = fb_xasprintf("%s/%s.ext4", g_dir, name), *src = fb_xasprintf("%s/%s.src", g_dir, name);
	char *sbin = merged ? fb_xasprintf("ln -s usr/sbin %s/sbin", src) : fb_xasprintf("mkdir %s/sbin", src);
	int r = sh("set -e; rm -rf %s; mkdir -p %s/usr/sbin %s/etc %s/data; %s; echo old > %s/usr/sbin/fb-init;"
		   "echo hello > %s/etc/greeting; ln %s/etc/greeting %s/etc/hard; ln -s ../etc/greeting %s/data/link;"
		   "printf 'x' | dd of=%s/data/sparse bs=1 seek=1048576 status=none; chmod 4755 %s/data/sparse;"
		   "chown 1234:5678 %s/etc/greeting; mkfifo %s/data/fifo;"
		   "mke2fs -q -F -t ext4 -b 4096 -d %s %s 16M",
		   src, src, src, src, sbin,
		   src, src, src, src, src, src, src, src, src, src, img);
	free(src);
	free(sbin);
	if (r) {
		free(img);
		return NULL;
	}
	return img;
}

static int put_follows_links_and_replaces(void)
{
	if (!have_tools())
		return 77;
	char *img = make_image("merged", true);
	TAP_CHECK(img);
	struct fb_err err = { 0 };
	const char data[] = "#!fb-init new\n";
	TAP_CHECK(fb_ext4_put_file(img, "/sbin/fb-init", data, sizeof(data) - 1, 0755, 0, 0, &err) == 0);
	/* the image is whole, and the file is where the link points */
	TAP_CHECK(sh("e2fsck -fn %s >/dev/null 2>&1", img) == 0);
	TAP_CHECK(sh("debugfs -R 'cat /usr/sbin/fb-init' %s 2>/dev/null | grep -qx '#!fb-init new'", img) == 0);
	TAP_CHECK(sh("debugfs -R 'stat /usr/sbin/fb-init' %s 2>/dev/null | grep -q 'Mode:  0755'", img) == 0);
	TAP_CHECK(sh("debugfs -R 'stat /sbin' %s 2>/dev/null | grep -q 'Type: symlink'", img) == 0);
	/* again (the replaced inode freed), a larger one, a directory to make */
	char *big = fb_xcalloc(1, 3u << 20);
	memset(big, 'b', 3u << 20);
	TAP_CHECK(fb_ext4_put_file(img, "/sbin/fb-init", big, 3u << 20, 0700, 7, 8, &err) == 0);
	TAP_CHECK(fb_ext4_put_file(img, "/newdir/file", "n", 1, 0644, 0, 0, &err) == 0);
	free(big);
	TAP_CHECK(sh("e2fsck -fn %s >/dev/null 2>&1", img) == 0);
	TAP_CHECK(sh("debugfs -R 'stat /usr/sbin/fb-init' %s 2>/dev/null | grep -q 'User:     7   Group:     8'", img) == 0);
	TAP_CHECK(sh("debugfs -R 'cat /newdir/file' %s 2>/dev/null | grep -qx n", img) == 0);
	free(img);
	return 0;
}

static int put_refuses(void)
{
	if (!have_tools())
		return 77;
	char *img = make_image("plain", false);
	TAP_CHECK(img);
	struct fb_err err = { 0 };
	/* a directory of that name stays */
	TAP_CHECK(fb_ext4_put_file(img, "/etc", "x", 1, 0644, 0, 0, &err) == -1);
	TAP_CHECK(strstr(err.msg, "/etc is a directory"));
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_ext4_put_file(img, "relative", "x", 1, 0644, 0, 0, &err) == -1 && err.code == FB_EXIT_USAGE);
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_ext4_put_file(img, "/etc/greeting/x", "x", 1, 0644, 0, 0, &err) == -1);
	TAP_CHECK(strstr(err.msg, "not a directory"));
	err = (struct fb_err){ 0 };
	char *notimg = fb_xasprintf("%s/not.ext4", g_dir);
	TAP_CHECK(sh("head -c 65536 /dev/zero > %s", notimg) == 0);
	TAP_CHECK(fb_ext4_put_file(notimg, "/x", "x", 1, 0644, 0, 0, &err) == -1);
	TAP_CHECK(strstr(err.msg, "not an ext4 image"));
	TAP_CHECK(sh("e2fsck -fn %s >/dev/null 2>&1", img) == 0);
	free(notimg);
	free(img);
	return 0;
}

static int put_dirs_makes_only_the_missing(void)
{
	if (!have_tools())
		return 77;
	char *img = make_image("dirs", true);
	TAP_CHECK(img);
	struct fb_err err = { 0 };
	/* /etc is there, /data/link is a link (left as it is), /proc and
	 * /proc/x are made in that order */
	const char *const dirs[] = { "/proc", "/etc", "/data/link", "/proc/x" };
	TAP_CHECK(fb_ext4_put_dirs(img, dirs, FB_ARRAY_LEN(dirs), &err) == 0);
	TAP_CHECK(sh("e2fsck -fn %s >/dev/null 2>&1", img) == 0);
	TAP_CHECK(sh("debugfs -R 'stat /proc/x' %s 2>/dev/null | grep -q 'Type: directory    Mode:  0755'", img) == 0);
	TAP_CHECK(sh("debugfs -R 'stat /proc' %s 2>/dev/null | grep -q 'User:     0   Group:     0'", img) == 0);
	TAP_CHECK(sh("debugfs -R 'stat /data/link' %s 2>/dev/null | grep -q 'Type: symlink'", img) == 0);
	TAP_CHECK(sh("debugfs -R 'cat /etc/greeting' %s 2>/dev/null | grep -qx hello", img) == 0);
	/* again: nothing to do; a parent that is not there, a relative path */
	TAP_CHECK(fb_ext4_put_dirs(img, dirs, FB_ARRAY_LEN(dirs), &err) == 0);
	const char *const orphan[] = { "/no/such" };
	TAP_CHECK(fb_ext4_put_dirs(img, orphan, 1, &err) == -1);
	TAP_CHECK(strstr(err.msg, "/no/such"));
	err = (struct fb_err){ 0 };
	const char *const rel[] = { "proc" };
	TAP_CHECK(fb_ext4_put_dirs(img, rel, 1, &err) == -1 && err.code == FB_EXIT_USAGE);
	TAP_CHECK(sh("e2fsck -fn %s >/dev/null 2>&1", img) == 0);
	free(img);
	return 0;
}

static int extract_is_rdump(void)
{
	if (!have_tools())
		return 77;
	char *img = make_image("tree", true);
	TAP_CHECK(img);
	char *dest = fb_xasprintf("%s/out", g_dir);
	TAP_CHECK(mkdir(dest, 0700) == 0);
	struct fb_err err = { 0 };
	TAP_CHECK(fb_ext4_extract(img, dest, &err) == 0);
	char *p = fb_xasprintf("%s/etc/greeting", dest);
	struct stat st;
	TAP_CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 1234 && st.st_gid == 5678 && st.st_size == 6);
	free(p);
	/* a hard link is a copy; a link stays a link */
	p = fb_xasprintf("%s/etc/hard", dest);
	struct stat h;
	TAP_CHECK(lstat(p, &h) == 0 && h.st_ino != st.st_ino);
	free(p);
	p = fb_xasprintf("%s/sbin", dest);
	char target[64] = "";
	TAP_CHECK(readlink(p, target, sizeof(target) - 1) == 8);
	TAP_STREQ(target, "usr/sbin");
	free(p);
	/* holes stay holes; setuid is not kept; a fifo is left out */
	p = fb_xasprintf("%s/data/sparse", dest);
	TAP_CHECK(lstat(p, &st) == 0 && st.st_size == 1048577 && st.st_blocks < 64 && (st.st_mode & 07777) == 0755);
	free(p);
	p = fb_xasprintf("%s/data/fifo", dest);
	TAP_CHECK(lstat(p, &st) == -1 && errno == ENOENT);
	free(p);
	TAP_CHECK(sh("test \"$(cat %s/data/link)\" = hello", dest) == 0);
	/* a dest that is not an empty directory: nothing written over */
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_ext4_extract(img, dest, &err) == -1);
	TAP_CHECK(strstr(err.msg, "File exists"));
	fb_tree_remove(dest);
	free(dest);
	free(img);
	return 0;
}

static int put_all_in_one_opening(void)
{
	if (!have_tools())
		return 77;
	char *img = make_image("all", false);
	TAP_CHECK(img);
	TAP_CHECK(sh("debugfs -w -R 'mkdir /etc/hosts' %s >/dev/null 2>&1", img) == 0);
	struct fb_err err = { 0 };
	struct fb_buf rd[6] = { FB_BUF_INIT, FB_BUF_INIT, FB_BUF_INIT, FB_BUF_INIT, FB_BUF_INIT, FB_BUF_INIT };
	TAP_CHECK(sh("printf 'root:x:0:0::/root:/bin/sh\\n' >%s/pw && debugfs -w -R 'write %s/pw /etc/passwd' %s >/dev/null 2>&1 && "
		     "debugfs -w -R 'symlink /etc/pw-link /etc/passwd' %s >/dev/null 2>&1 && "
		     "debugfs -w -R 'symlink /etc-link /etc' %s >/dev/null 2>&1 && "
		     "head -c 1048577 /dev/zero >%s/big && debugfs -w -R 'write %s/big /etc/big' %s >/dev/null 2>&1",
		     g_dir, g_dir, img, img, img, g_dir, g_dir, img) == 0);
	struct fb_ext4_entry ents[] = {
		{ .path = "/etc/passwd", .read = &rd[0] },  /* read before anything is written */
		{ .path = "/etc/pw-link", .read = &rd[1] }, /* a link: not followed (the guest may mount where it points) */
		{ .path = "/etc/hosts", .read = &rd[2] },   /* a directory: not read, no error */
		{ .path = "/etc/nosuch", .read = &rd[3] },  /* missing: absent */
		{ .path = "/etc-link/passwd", .read = &rd[4] }, /* a link on the way: not read, not absent */
		{ .path = "/etc/big", .read = &rd[5] },      /* too large: not read, not absent */
		{ .path = "/sbin/fb-init", .data = "new\n", .len = 4, .mode = 0755 },
		{ .path = "/proc" },
		{ .path = "/etc" },                                                            /* there: left */
		{ .path = "/etc/hosts", .data = "h\n", .len = 2, .mode = 0644, .optional = true }, /* a directory there: skipped */
		{ .path = "/etc/profile.d/run-env.sh", .data = "e\n", .len = 2, .mode = 0644, .optional = true }, /* its directory made */
	};
	TAP_CHECK(fb_ext4_put_all(img, ents, FB_ARRAY_LEN(ents), true, &err) == 0);
	TAP_CHECK(ents[0].put && !ents[1].put && !ents[2].put && !ents[3].put && !ents[4].put && !ents[5].put);
	TAP_CHECK(!ents[0].absent && !ents[1].absent && !ents[2].absent && ents[3].absent && !ents[4].absent &&
		  !ents[5].absent);
	TAP_STREQ(fb_buf_str(&rd[0]), "root:x:0:0::/root:/bin/sh\n");
	for (size_t i = 1; i < FB_ARRAY_LEN(rd); i++)
		TAP_CHECK(rd[i].len == 0);
	for (size_t i = 0; i < FB_ARRAY_LEN(rd); i++)
		fb_buf_free(&rd[i]);
	TAP_CHECK(ents[6].put && ents[7].put && ents[8].put && !ents[9].put && ents[10].put);
	TAP_CHECK(sh("e2fsck -fn %s >/dev/null 2>&1", img) == 0);
	TAP_CHECK(sh("test \"$(debugfs -R 'cat /sbin/fb-init' %s 2>/dev/null)\" = new", img) == 0);
	TAP_CHECK(sh("test \"$(debugfs -R 'cat /etc/profile.d/run-env.sh' %s 2>/dev/null)\" = e", img) == 0);
	TAP_CHECK(sh("debugfs -R 'stat /proc' %s 2>/dev/null | grep -q 'Type: directory'", img) == 0);
	TAP_CHECK(sh("debugfs -R 'stat /etc/hosts' %s 2>/dev/null | grep -q 'Type: directory'", img) == 0);
	/* one that is not optional fails the whole (the caller drops the image) */
	struct fb_ext4_entry bad[] = {
		{ .path = "/etc/new", .data = "n\n", .len = 2, .mode = 0644 },
		{ .path = "/etc/hosts", .data = "h\n", .len = 2, .mode = 0644 },
	};
	TAP_CHECK(fb_ext4_put_all(img, bad, FB_ARRAY_LEN(bad), false, &err) == -1);
	TAP_CHECK(strstr(err.msg, "/etc/hosts"));
	free(img);
	return 0;
}

static const struct tap_case cases[] = {
	{ "put: a link on the way is followed inside the image, the old file replaced, the image whole",
	  put_follows_links_and_replaces },
	{ "put: a directory, a relative path, a file as a directory, not an ext4 image: refused", put_refuses },
	{ "put_dirs: the missing directories made (0755, root's), what is there left, the image whole",
	  put_dirs_makes_only_the_missing },
	{ "extract: owners, modes, links, holes as rdump gave them; hard links copies; no setuid, no fifo", extract_is_rdump },
	{ "put_all: files read and written, directories made, in one opening; an optional one that cannot go is skipped, another fails it all",
	  put_all_in_one_opening },
};

int main(void)
{
	char tmpl[] = "/tmp/test_ext4img.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	g_dir = tmpl;
	int r = tap_run(cases, FB_ARRAY_LEN(cases));
	fb_tree_remove(tmpl);
	return r;
}
