/* What fb-exec's sandbox is made of, outside fb-exec: the seccomp filter
 * (lib/sysfilter, loaded in a child under no_new_privs), the device
 * cgroup modes (lib/devices) and the sweep of dead builds' directories
 * (lib/build). Needs no root. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build.h"
#include "devices.h"
#include "err.h"
#include "sysfilter.h"
#include "tap.h"
#include "tree.h"
#include "util.h"

/* errno of a syscall run in a child under the filter, 0 if it worked */
static int filtered(int what)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct fb_err e = { 0 };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || fb_sysfilter_install(&e) < 0)
			_exit(99);
		long r = -1;
		switch (what) {
		case 0: r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0); break;
		case 1: r = syscall(SYS_clone3, NULL, 0); break;
		case 2: r = syscall(SYS_getpid); break;
		case 3: r = unshare(CLONE_NEWUSER); break;
		case 4: r = syscall(SYS_socket, 40, 1, 0); break;
		case 5: r = syscall(SYS_personality, 0xffffffffUL); break;
		}
		_exit(r < 0 ? errno : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int t_filter(void)
{
	struct sock_filter *v = NULL;
	size_t n = 0;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_sysfilter_build(&v, &n, &err) == 0);
	TAP_CHECK(n > 50 && n < 4096);
	free(v);
	TAP_CHECK(filtered(0) == EPERM);
	TAP_CHECK(filtered(1) == ENOSYS);
	TAP_CHECK(filtered(2) == 0);
	TAP_CHECK(filtered(3) == EPERM);
	TAP_CHECK(filtered(4) == EPERM);
	TAP_CHECK(filtered(5) == 0);
	return 0;
}

static int t_modes(void)
{
	enum fb_devices_mode m = FB_DEVICES_NONE;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_devices_mode_parse(NULL, &m, &err) == 0 && m == FB_DEVICES_AUTO);
	TAP_CHECK(fb_devices_mode_parse("bpf", &m, &err) == 0 && m == FB_DEVICES_BPF);
	TAP_CHECK(fb_devices_mode_parse("cgroup1", &m, &err) == 0 && m == FB_DEVICES_V1);
	TAP_CHECK(fb_devices_mode_parse("off", &m, &err) < 0 && err.code == FB_EXIT_USAGE);
	return 0;
}

static int t_sweep(void)
{
	char work[128];
	snprintf(work, sizeof(work), "/tmp/fb-test-sweep-%d", (int)getpid());
	struct fb_err err = { 0 };
	struct fb_strv removed = FB_STRV_INIT;
	/* no work directory yet: nothing to do */
	TAP_CHECK(fb_build_sweep(work, &removed, &err) == 0 && removed.n == 0);
	char *live = fb_xasprintf("%s/build-live", work), *dead = fb_xasprintf("%s/build-dead/tree-0/etc", work),
	     *other = fb_xasprintf("%s/other", work);
	TAP_CHECK(fb_mkdir_p(live, 0755, &err) == 0 && fb_mkdir_p(dead, 0755, &err) == 0 && fb_mkdir_p(other, 0755, &err) == 0);
	int lock = open(live, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	TAP_CHECK(lock >= 0 && flock(lock, LOCK_EX) == 0);
	TAP_CHECK(fb_build_sweep(work, &removed, &err) == 0);
	TAP_CHECK(removed.n == 1 && !strcmp(removed.v[0], "build-dead"));
	struct stat st;
	TAP_CHECK(stat(live, &st) == 0 && stat(other, &st) == 0);
	char *deadtop = fb_xasprintf("%s/build-dead", work);
	TAP_CHECK(stat(deadtop, &st) < 0 && errno == ENOENT);
	close(lock);
	fb_strv_free(&removed);
	fb_tree_remove(work);
	free(live);
	free(dead);
	free(other);
	free(deadtop);
	return 0;
}

static const struct tap_case cases[] = {
	{ "seccomp: keyctl, unshare(NEWUSER), AF_VSOCK refused; clone3 ENOSYS; getpid, persona query pass", t_filter },
	{ "device cgroup modes: auto, bpf, cgroup1; others are usage errors", t_modes },
	{ "sweep: an unlocked build directory goes, a locked one and other names stay", t_sweep },
};

TAP_MAIN(cases)
