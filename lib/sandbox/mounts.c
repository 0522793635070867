#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

int fb_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data, struct fb_err *err)
{
	if (mount(src, dst, type, flags, data) < 0)
		return fb_err_errno(err, errno, "mount %s on %s", type ? type : src ? src : "", dst);
	return 0;
}

bool fb_mount_setattr_works(void)
{
	static int works = -1;
	/* an unsupported mount_setattr says ENOSYS before looking at its flags */
	if (works < 0)
		works = !(mount_setattr(-1, "", 0, NULL, 0) < 0 && errno == ENOSYS);
	return works;
}

int fb_mount_nodev(const char *path, unsigned long more, struct fb_err *err)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_NODEV };
	if (more & MS_RDONLY)
		a.attr_set |= MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
	if (fb_mount_setattr_works()) {
		if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &a, sizeof(a)) == 0)
			return 0;
		if (errno != ENOSYS)
			return fb_err_errno(err, errno, "nodev on %s", path);
	}
	/* callers bound without MS_REC: there is nothing below to reach */
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return fb_err_errno(err, errno, "nodev on %s", path);
	static const struct {
		unsigned long st, ms;
	} keep[] = {
		{ ST_RDONLY, MS_RDONLY },     { ST_NOSUID, MS_NOSUID },		{ ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME },   { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NODEV | more;
	for (size_t i = 0; i < FB_ARRAY_LEN(keep); i++)
		if (sv.f_flag & keep[i].st)
			fl |= keep[i].ms;
	return fb_mount(NULL, path, NULL, fl, NULL, err);
}

static void touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

int fb_sandbox_dev(struct fb_err *err)
{
	/* nodev: a node made here is inert; the ones bound in are mounts of
	 * their own */
	if (fb_mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755,size=65536k", err) < 0)
		return -1;
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	char src[64], dst[64];
	for (size_t i = 0; i < FB_ARRAY_LEN(nodes); i++) {
		snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), "dev/%s", nodes[i]);
		touch(dst);
		if (fb_mount(src, dst, NULL, MS_BIND, NULL, err) < 0)
			return -1;
	}
	mkdir("dev/pts", 0755);
	if (fb_mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", err) < 0)
		return -1;
	if (symlink("pts/ptmx", "dev/ptmx") < 0 && errno != EEXIST)
		return fb_err_errno(err, errno, "dev/ptmx");
	mkdir("dev/shm", 01777);
	if (fb_mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k", err) < 0)
		return -1;
	static const char *const links[][2] = { { "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
						{ "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(links); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return fb_err_errno(err, errno, "%s", links[i][1]);
	return 0;
}

int fb_sandbox_mask_paths(struct fb_err *err)
{
	static const char *const masked[] = {
		"proc/asound", "proc/acpi", "proc/interrupts", "proc/kcore", "proc/keys", "proc/latency_stats",
		"proc/timer_list", "proc/timer_stats", "proc/sched_debug", "proc/scsi", "sys/firmware",
		"sys/devices/virtual/powercap",
	};
	struct fb_strv paths FB_AUTOSTRV = FB_STRV_INIT;
	for (size_t i = 0; i < FB_ARRAY_LEN(masked); i++)
		fb_strv_push(&paths, masked[i]);
	glob_t g;
	if (glob("sys/devices/system/cpu/cpu*/thermal_throttle", GLOB_NOSORT, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			fb_strv_push(&paths, g.gl_pathv[i]);
	globfree(&g);
	for (size_t i = 0; i < paths.n; i++) {
		struct stat st;
		if (lstat(paths.v[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) ? fb_mount("tmpfs", paths.v[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
						   "mode=0555", err) < 0
					: fb_mount("/dev/null", paths.v[i], NULL, MS_BIND, NULL, err) < 0)
			return -1;
	}
	static const char *const ro[] = { "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger" };
	for (size_t i = 0; i < FB_ARRAY_LEN(ro); i++) {
		struct stat st;
		if (lstat(ro[i], &st) < 0)
			continue;
		if (fb_mount(ro[i], ro[i], NULL, MS_BIND, NULL, err) < 0 ||
		    fb_mount(NULL, ro[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0)
			return -1;
	}
	return 0;
}

void fb_sandbox_point(struct fb_sandbox_points *m, const char *root, const char *rel, bool dir)
{
	char *p = fb_xasprintf("%s/%s", root, rel);
	struct stat st;
	if (lstat(p, &st) < 0 && m->n < (int)FB_ARRAY_LEN(m->paths)) {
		if (dir ? mkdir(p, 0755) == 0 : (touch(p), lstat(p, &st) == 0)) {
			m->paths[m->n] = p;
			m->dir[m->n++] = dir;
			return;
		}
	}
	free(p);
}

void fb_sandbox_points_undo(struct fb_sandbox_points *m)
{
	for (int i = m->n; i-- > 0;) {
		struct stat st;
		if (m->dir[i])
			rmdir(m->paths[i]);
		else if (lstat(m->paths[i], &st) == 0 && st.st_size == 0)
			unlink(m->paths[i]);
		free(m->paths[i]);
	}
	m->n = 0;
}
