/* What fb-exec's sandbox is made of, outside fb-exec: the seccomp filter
 * (lib/sysfilter, loaded in a child under no_new_privs), the device
 * cgroup modes (lib/devices), the sweep of dead builds' directories
 * (lib/build), the user a command runs as (lib/user), the capabilities
 * it keeps (lib/caps) and the mountpoints made for a run (lib/mounts).
 * Needs no root. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build.h"
#include "caps.h"
#include "devices.h"
#include "mounts.h"
#include "user.h"
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

/* a file of lines in dir */
static char *put(const char *dir, const char *name, const char *text)
{
	char *p = fb_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return p;
}

/* USER[:GROUP] as runc's GetExecUser resolves it for Docker */
static int t_user(void)
{
	char dir[] = "/tmp/test-user-XXXXXX";
	TAP_CHECK(mkdtemp(dir));
	FB_AUTOFREE char *pw = put(dir, "passwd",
				   "root:x:0:0:root:/root:/bin/sh\n"
				   "app:x:1000:1000:app:/home/app:/bin/sh\n"
				   "other:x:1001:1001::/home/other:/bin/sh\n");
	FB_AUTOFREE char *gr = put(dir, "group", "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n");
	static const struct {
		const char *spec;
		long uid, gid;
		const char *home;
		int ngroups;
	} ok[] = {
		{ NULL, 0, 0, "/root", 1 },
		{ "", 0, 0, "/root", 1 },
		{ "app", 1000, 1000, "/home/app", 3 },  /* its group, and wheel and audio */
		{ "1000", 1000, 1000, "/home/app", 3 }, /* by uid: the same entry */
		{ "app:10", 1000, 10, "/home/app", 1 }, /* a group given: no supplementary ones */
		{ "app:audio", 1000, 29, "/home/app", 1 },
		{ "4242", 4242, 0, NULL, 1 },           /* no entry: root's group, no home */
		{ "4242:4243", 4242, 4243, NULL, 1 },
		{ "2147483647", 2147483647, 0, NULL, 1 },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(ok); i++) {
		struct fb_user u;
		struct fb_err err = { 0 };
		if (fb_user_resolve(ok[i].spec, pw, gr, &u, &err) < 0)
			return tap_fail("%s: %s", ok[i].spec ? ok[i].spec : "(none)", err.msg);
		bool same = (long)u.uid == ok[i].uid && (long)u.gid == ok[i].gid && u.ngroups == ok[i].ngroups &&
			    ((!u.home && !ok[i].home) || (u.home && ok[i].home && !strcmp(u.home, ok[i].home))) &&
			    u.groups[0] == u.gid;
		fb_user_free(&u);
		if (!same)
			return tap_fail("%s: resolved otherwise", ok[i].spec ? ok[i].spec : "(none)");
	}
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "nosuch", "unable to find user nosuch: no matching entries in passwd file" },
		{ "app:nosuch", "unable to find group nosuch: no matching entries in group file" },
		{ "2147483648", "uid 2147483648 out of range: uids and gids must be in range 0-2147483647" },
		{ "99999999999999999999999", "uid 99999999999999999999999 out of range: uids and gids must be in range 0-2147483647" },
		{ "1:4294967296", "gid 4294967296 out of range: uids and gids must be in range 0-2147483647" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_user u;
		struct fb_err err = { 0 };
		TAP_CHECK(fb_user_resolve(bad[i].spec, pw, gr, &u, &err) < 0);
		fb_user_free(&u);
		TAP_STREQ(err.msg, bad[i].msg);
	}
	/* the same from the files' text (fb-jail prepare reads them out of the
	 * VM's copy): the same answers, and no text is an empty file */
	static const char ptext[] = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
				    "other:x:1001:1001::/home/other:/bin/sh\n";
	static const char gtext[] = "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n";
	for (size_t i = 0; i < FB_ARRAY_LEN(ok); i++) {
		struct fb_user a, b;
		struct fb_err ea = { 0 }, eb = { 0 };
		TAP_CHECK(fb_user_resolve(ok[i].spec, pw, gr, &a, &ea) == 0);
		TAP_CHECK(fb_user_resolve_text(ok[i].spec, ptext, gtext, &b, &eb) == 0);
		bool same = a.uid == b.uid && a.gid == b.gid && a.ngroups == b.ngroups &&
			    !memcmp(a.groups, b.groups, sizeof(a.groups[0]) * (size_t)a.ngroups) &&
			    ((!a.home && !b.home) || (a.home && b.home && !strcmp(a.home, b.home)));
		fb_user_free(&a);
		fb_user_free(&b);
		if (!same)
			return tap_fail("%s: the text resolves otherwise", ok[i].spec ? ok[i].spec : "(none)");
	}
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_user b;
		struct fb_err eb = { 0 };
		TAP_CHECK(fb_user_resolve_text(bad[i].spec, ptext, gtext, &b, &eb) < 0);
		fb_user_free(&b);
		TAP_STREQ(eb.msg, bad[i].msg);
	}
	{
		struct fb_user b;
		struct fb_err eb = { 0 };
		TAP_CHECK(fb_user_resolve_text(NULL, NULL, "", &b, &eb) == 0 && b.uid == 0 && b.gid == 0 && !b.home);
		fb_user_free(&b);
		TAP_CHECK(fb_user_resolve_text("app", "", NULL, &b, &eb) < 0);
		fb_user_free(&b);
		/* an image's "+" lines (NIS compat; glibc reads one as uid 0 with
		 * no home) are no entries, as fb-init reads them, and no crash */
		TAP_CHECK(fb_user_resolve_text(NULL, "+\nroot:x:0:0:root:/root:/bin/sh\n", "", &b, &eb) == 0 && b.home &&
			  !strcmp(b.home, "/root"));
		fb_user_free(&b);
		TAP_CHECK(fb_user_resolve_text("+", "+\n-\n", "", &b, &eb) < 0);
		fb_user_free(&b);
		TAP_CHECK(fb_user_resolve_text("0:+", "root:x:0:0::/:\n", "+\n", &b, &eb) < 0);
		fb_user_free(&b);
	}
	/* no files at all: root by default, numbers still work */
	struct fb_user u;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_user_resolve("5", "/nonexistent/passwd", "/nonexistent/group", &u, &err) == 0 && u.uid == 5 && !u.home);
	fb_user_free(&u);
	unlink(pw);
	unlink(gr);
	rmdir(dir);
	return 0;
}

/* the environment is the given one alone, PATH and HOME defaulted */
static int t_user_env(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct fb_strv env = FB_STRV_INIT;
		fb_strv_push(&env, "A=1");
		struct fb_user u = { .home = (char *)"/home/app" };
		setenv("LEAK", "x", 1);
		fb_user_env(&env, &u);
		bool ok = !getenv("LEAK") && getenv("A") && !strcmp(getenv("A"), "1") && getenv("PATH") &&
			  !strcmp(getenv("HOME"), "/home/app");
		fb_strv_free(&env);
		fb_strv_push(&env, "HOME=/h");
		fb_strv_push(&env, "PATH=/p");
		fb_user_env(&env, &u);
		ok = ok && !strcmp(getenv("HOME"), "/h") && !strcmp(getenv("PATH"), "/p");
		_exit(ok ? 0 : 1);
	}
	int st;
	TAP_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}

/* Docker's default capability set, no more */
static int t_caps(void)
{
	TAP_CHECK(fb_caps_kept(CAP_CHOWN) && fb_caps_kept(CAP_SETUID) && fb_caps_kept(CAP_NET_BIND_SERVICE));
	TAP_CHECK(!fb_caps_kept(CAP_SYS_ADMIN) && !fb_caps_kept(CAP_MKNOD) && !fb_caps_kept(CAP_SYS_MODULE) &&
		  !fb_caps_kept(CAP_SYS_PTRACE) && !fb_caps_kept(CAP_NET_ADMIN));
	return 0;
}

/* mountpoints made for a run go after it, where still empty */
static int t_points(void)
{
	char dir[] = "/tmp/test-points-XXXXXX";
	TAP_CHECK(mkdtemp(dir));
	FB_AUTOFREE char *had = fb_xasprintf("%s/etc", dir);
	TAP_CHECK(mkdir(had, 0755) == 0);
	struct fb_sandbox_points m = { 0 };
	fb_sandbox_point(&m, dir, "proc", true);
	fb_sandbox_point(&m, dir, "etc", true); /* there already: not ours */
	fb_sandbox_point(&m, dir, "etc/hosts", false);
	fb_sandbox_point(&m, dir, "etc/resolv.conf", false);
	TAP_CHECK(m.n == 3);
	/* the run wrote into one: it stays */
	FB_AUTOFREE char *rc = put(dir, "etc/resolv.conf", "nameserver 1.1.1.1\n");
	fb_sandbox_points_undo(&m);
	struct stat st;
	FB_AUTOFREE char *proc = fb_xasprintf("%s/proc", dir);
	FB_AUTOFREE char *hosts = fb_xasprintf("%s/etc/hosts", dir);
	TAP_CHECK(stat(proc, &st) < 0 && stat(hosts, &st) < 0);
	TAP_CHECK(stat(rc, &st) == 0 && stat(had, &st) == 0);
	unlink(rc);
	rmdir(had);
	rmdir(dir);
	return 0;
}

static const struct tap_case cases[] = {
	{ "seccomp: keyctl, unshare(NEWUSER), AF_VSOCK refused; clone3 ENOSYS; getpid, persona query pass", t_filter },
	{ "device cgroup modes: auto, bpf, cgroup1; others are usage errors", t_modes },
	{ "sweep: an unlocked build directory goes, a locked one and other names stay", t_sweep },
	{ "user: names, numbers, groups and homes as runc resolves them; out of range refused", t_user },
	{ "user: the environment is the given one, PATH and HOME defaulted", t_user_env },
	{ "capabilities: Docker's default set", t_caps },
	{ "mountpoints made for a run go after it where still empty", t_points },
};

TAP_MAIN(cases)
