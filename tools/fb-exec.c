/* fb-exec: run one command inside a root file system tree, isolated: new
 * mount, pid, ipc and uts namespaces (and a new network namespace for
 * --network=none), pivot_root into the tree, /proc (Docker's paths masked
 * or read-only), a minimal /dev, read-only /sys, /dev/shm, the host's
 * resolv.conf and hosts (copies, for this run only), rlimits; Docker's
 * confinement: its capabilities, its seccomp profile (lib/sysfilter), a
 * device allowlist (lib/devices) and every mount nodev. Killing pid 1 of
 * the namespace takes every process with it, and the mounts go with the
 * namespace: a timeout, Ctrl-C or fb-exec's own death leaves nothing.
 *
 *   fb-exec --root DIR [--user U] [--workdir W] [--env K=V]... [--network
 *           none|host] [--hostname H] [--timeout SECONDS] -- CMD ARGS...
 *   fb-exec < spec.json      ({"exec": {"root", "args", ...}} -> .exec_result)
 *
 * Exit status: the command's, or 128+N for signal N; 124 timed out; 125
 * fb-exec itself failed; 126 not executable; 127 not found. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "shape.h"
#include "sysfilter.h"
#include "tool.h"
#include "tree.h"
#include "util.h"

#define EXIT_TIMEOUT 124
#define EXIT_OWN 125

static const char usage[] =
	"Usage: fb-exec --root DIR [OPTIONS] -- CMD [ARGS...]\n"
	"       fb-exec < SPEC.json\n"
	"Run a command inside a root file system tree, in new mount, pid, ipc and\n"
	"uts namespaces, after pivot_root. With a command on the command line its\n"
	"output is the command's; with a JSON spec ({\"exec\": {\"root\", \"args\",\n"
	"\"user\", \"workdir\", \"env\", \"network\", \"hostname\", \"timeout\"}}) the\n"
	"command's output goes to stderr and .exec_result to stdout.\n"
	"\n"
	"Options:\n"
	"  --root DIR            the tree (required)\n"
	"  --user USER[:GROUP]   a name from the tree's /etc/passwd, or uid[:gid] (default root)\n"
	"  --workdir DIR         working directory inside the tree (made when missing)\n"
	"  --env K=V             environment (repeatable; nothing else is passed on,\n"
	"                        PATH gets a default when not given)\n"
	"  --network MODE        none (a network namespace of its own, lo only) or host\n"
	"  --hostname NAME       the sandbox's host name (default fb-exec)\n"
	"  --timeout SECONDS     kill everything after this long (exit 124)\n"
	"  --log-format FORMAT   json or text logs on stderr\n"
	"  --help, --version\n"
	"\n"
	"Exit status: the command's, 128+N for signal N, 124 timed out, 125 fb-exec\n"
	"failed (bad usage included), 126 not executable, 127 not found.\n"
	"Environment: FB_EXEC_DEVICES=auto|bpf|cgroup1 picks the device allowlist\n"
	"(cgroup2 BPF program or cgroup1 devices controller; auto: what works).\n";

enum { OPT_ROOT = FB_OPT_FIRST_TOOL_OPT, OPT_USER, OPT_WORKDIR, OPT_ENV, OPT_NETWORK, OPT_HOSTNAME, OPT_TIMEOUT };

static const struct option longopts[] = {
	FB_COMMON_LONGOPTS,
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "user", required_argument, NULL, OPT_USER },
	{ "workdir", required_argument, NULL, OPT_WORKDIR },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

struct spec {
	char *root;
	struct fb_strv args;
	struct fb_strv env;
	char *user;
	char *workdir;
	bool net_none;
	char *hostname;
	double timeout;
	bool json;     /* spec came as JSON: output to stderr, result to stdout */
	char *resolv;  /* host copies bound in */
	char *hosts;
	char *copies;  /* their directory */
	int report[2]; /* setup failures, child -> parent */
	int go[2];     /* parent -> child: in its device cgroup, carry on */
	sigset_t oldmask; /* the signal mask the command gets */
	enum fb_devices_mode devmode;
	struct mnt_spec *mounts;
	size_t nmounts;
	struct fb_strv mount_made; /* targets made in the tree, removed after */
};

/* A RUN --mount, resolved by the caller to something on the host. */
struct mnt_spec {
	char *type;   /* bind or tmpfs */
	char *source; /* host path (bind) */
	char *target; /* absolute, inside the tree */
	bool ro;
	uint64_t size; /* tmpfs bytes, 0: the default */
	int fd;       /* the source, opened before the tree is entered */
};

static void spec_free(struct spec *s)
{
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].target);
		if (s->mounts[i].fd >= 0)
			close(s->mounts[i].fd);
	}
	free(s->mounts);
	fb_strv_free(&s->mount_made);
	free(s->root);
	fb_strv_free(&s->args);
	fb_strv_free(&s->env);
	free(s->user);
	free(s->workdir);
	free(s->hostname);
	free(s->resolv);
	free(s->hosts);
}

/* ---- inside: these run in the child, which may only report and exit ---- */

static void die(struct spec *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
static void die(struct spec *s, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	msg[0] = (char)code;
	ssize_t w = write(s->report[1], msg, (size_t)(n > 0 ? n : 0) + 1 < sizeof(msg) ? (size_t)n + 1 : sizeof(msg));
	(void)w;
	_exit(code);
}

static void mnt(struct spec *s, const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		die(s, EXIT_OWN, "mount %s on %s: %s", type ? type : src, dst, strerror(errno));
}

static void touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

/* A minimal /dev: the host's safe nodes bound in, ptys, shm. */
static void setup_dev(struct spec *s)
{
	/* nodev: a node made here is inert; the ones bound in are mounts of
	 * their own */
	mnt(s, "tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755,size=65536k");
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	char src[64], dst[64];
	for (size_t i = 0; i < FB_ARRAY_LEN(nodes); i++) {
		snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), "dev/%s", nodes[i]);
		touch(dst);
		mnt(s, src, dst, NULL, MS_BIND, NULL);
	}
	mkdir("dev/pts", 0755);
	mnt(s, "devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
	if (symlink("pts/ptmx", "dev/ptmx") < 0 && errno != EEXIST)
		die(s, EXIT_OWN, "dev/ptmx: %s", strerror(errno));
	mkdir("dev/shm", 01777);
	mnt(s, "shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
	static const char *const links[][2] = { { "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
						{ "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(links); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			die(s, EXIT_OWN, "%s: %s", links[i][1], strerror(errno));
}

/* nodev on the mount at PATH and, with mount_setattr (Linux 5.12), on every
 * mount below it: a device node in the tree or in a bind source is never
 * usable in the sandbox. Without it, callers bind without MS_REC so there
 * is nothing below, and the mount is remounted keeping its other flags. */
static bool g_setattr = true;
static void nodev(struct spec *s, const char *path, unsigned long more)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_NODEV };
	if (more & MS_RDONLY)
		a.attr_set |= MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
	if (g_setattr && mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &a, sizeof(a)) == 0)
		return;
	if (g_setattr && errno != ENOSYS)
		die(s, EXIT_OWN, "nodev on %s: %s", path, strerror(errno));
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		die(s, EXIT_OWN, "nodev on %s: %s", path, strerror(errno));
	static const struct { unsigned long st, ms; } keep[] = {
		{ ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NOEXEC, MS_NOEXEC }, { ST_NOATIME, MS_NOATIME },
		{ ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NODEV | more;
	for (size_t i = 0; i < FB_ARRAY_LEN(keep); i++)
		if (sv.f_flag & keep[i].st)
			fl |= keep[i].ms;
	mnt(s, NULL, path, NULL, fl, NULL);
}

/* Docker's masked and read-only paths: kernel memory, keys, timers, IRQs
 * and firmware hidden (a file gets /dev/null over it, a directory an empty
 * read-only tmpfs); /proc/sys and the other kernel knobs readable, never
 * writable. Paths this kernel lacks are skipped. Runs before pivot_root,
 * in the tree. */
static void mask_paths(struct spec *s)
{
	static const char *const masked[] = {
		"proc/asound", "proc/acpi", "proc/interrupts", "proc/kcore", "proc/keys", "proc/latency_stats",
		"proc/timer_list", "proc/timer_stats", "proc/sched_debug", "proc/scsi", "sys/firmware",
		"sys/devices/virtual/powercap",
	};
	struct fb_strv paths = FB_STRV_INIT;
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
		if (S_ISDIR(st.st_mode))
			mnt(s, "tmpfs", paths.v[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555");
		else
			mnt(s, "/dev/null", paths.v[i], NULL, MS_BIND, NULL);
	}
	fb_strv_free(&paths);
	static const char *const ro[] = { "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger" };
	for (size_t i = 0; i < FB_ARRAY_LEN(ro); i++) {
		struct stat st;
		if (lstat(ro[i], &st) < 0)
			continue;
		mnt(s, ro[i], ro[i], NULL, MS_BIND, NULL);
		mnt(s, NULL, ro[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	}
}

static void lo_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

/* Keep Docker's default set; a build step has no business loading modules,
 * mounting, making block devices or tracing the host. */
static void drop_caps(struct spec *s)
{
	static const int keep[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_NET_RAW, CAP_SETGID,
				    CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,
				    CAP_AUDIT_WRITE };
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		bool k = false;
		for (size_t i = 0; i < FB_ARRAY_LEN(keep); i++)
			k |= keep[i] == c;
		if (!k && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			die(s, EXIT_OWN, "drop capability %d: %s", c, strerror(errno));
	}
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	for (size_t i = 0; i < FB_ARRAY_LEN(keep); i++) {
		d[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		d[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
		d[keep[i] / 32].inheritable |= 1u << (keep[i] % 32);
	}
	if (syscall(SYS_capset, &h, d) < 0)
		die(s, EXIT_OWN, "capset: %s", strerror(errno));
}

/* A uid or gid in decimal: true with its value; false for a name. Out of
 * Docker's range (0 to 2^31-1) is an error, never a wrap to another id. */
static bool numeric_id(struct spec *s, const char *what, const char *v, unsigned long *out)
{
	if (!*v || strspn(v, "0123456789") != strlen(v))
		return false;
	errno = 0;
	unsigned long long n = strtoull(v, NULL, 10);
	if (errno || n > 2147483647ULL)
		die(s, EXIT_OWN, "%s %s out of range: uids and gids must be in range 0-2147483647", what, v);
	*out = (unsigned long)n;
	return true;
}

/* USER[:GROUP] from the tree's /etc/passwd and /etc/group, or numbers, as
 * runc's GetExecUser does it for Docker and BuildKit: no USER is uid 0;
 * the passwd entry of the user (by name or by uid) gives its group and
 * its home; a uid with no entry runs with group 0 (root's) and home "/";
 * supplementary groups come from /etc/group only when no group is given. */
static void resolve_user(struct spec *s, uid_t *uid, gid_t *gid, char **home, char **name)
{
	*uid = 0, *gid = 0, *home = NULL, *name = NULL;
	char *u = fb_xstrdup(s->user ? s->user : ""), *g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	unsigned long n = 0;
	bool numeric = numeric_id(s, "uid", u, &n);
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	while (f && (pw = fgetpwent(f))) {
		if ((!*u && pw->pw_uid == 0) || (numeric && pw->pw_uid == n) || (!numeric && *u && !strcmp(pw->pw_name, u))) {
			*uid = pw->pw_uid, *gid = pw->pw_gid, *home = fb_xstrdup(pw->pw_dir);
			*name = fb_xstrdup(pw->pw_name);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!*name && *u) {
		if (!numeric)
			die(s, EXIT_OWN, "unable to find user %s: no matching entries in passwd file", u);
		*uid = (uid_t)n; /* the group stays root's */
	}
	if (g && *g) {
		unsigned long gn;
		if (numeric_id(s, "gid", g, &gn)) {
			*gid = (gid_t)gn;
		} else {
			FILE *gf = fopen("/etc/group", "re");
			struct group *gr;
			bool gfound = false;
			while (gf && (gr = fgetgrent(gf)))
				if (!strcmp(gr->gr_name, g)) {
					*gid = gr->gr_gid;
					gfound = true;
					break;
				}
			if (gf)
				fclose(gf);
			if (!gfound)
				die(s, EXIT_OWN, "unable to find group %s: no matching entries in group file", g);
		}
		/* an explicit group: no supplementary ones */
		free(*name);
		*name = NULL;
	}
	free(u);
}

static void become(struct spec *s)
{
	uid_t uid;
	gid_t gid;
	char *home, *name;
	resolve_user(s, &uid, &gid, &home, &name);
	gid_t groups[64];
	int ng = 0;
	groups[ng++] = gid;
	/* supplementary groups from the tree's /etc/group */
	FILE *gf = name ? fopen("/etc/group", "re") : NULL;
	struct group *gr;
	while (gf && (gr = fgetgrent(gf)) && ng < 64)
		for (char **m = gr->gr_mem; m && *m; m++)
			if (!strcmp(*m, name) && gr->gr_gid != gid)
				groups[ng++] = gr->gr_gid;
	if (gf)
		fclose(gf);
	free(name);
	if (setgroups((size_t)ng, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		die(s, EXIT_OWN, "become %s: %s", s->user ? s->user : "root", strerror(errno));
	clearenv();
	bool has_path = false, has_home = false;
	for (size_t i = 0; i < s->env.n; i++) {
		putenv(s->env.v[i]);
		has_path |= !strncmp(s->env.v[i], "PATH=", 5);
		has_home |= !strncmp(s->env.v[i], "HOME=", 5);
	}
	if (!has_path)
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	/* the user's home from its passwd entry, "/" without one (runc) */
	if (!has_home)
		setenv("HOME", home ? home : "/", 1);
	free(home);
}

static int child(void *arg)
{
	struct spec *s = arg;
	/* pid 1 of the namespace dies with fb-exec, and every process in it
	 * with pid 1: nothing outlives a killed build. Should fb-exec be gone
	 * already, the go pipe reads end-of-file. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
	close(s->report[0]);
	close(s->go[1]);
	char go;
	if (read(s->go[0], &go, 1) != 1)
		_exit(EXIT_OWN);
	close(s->go[0]);
	/* mounts stay here; the host never sees them */
	mnt(s, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (chdir(s->root) < 0)
		die(s, EXIT_OWN, "%s: %s", s->root, strerror(errno));
	/* an unsupported mount_setattr says ENOSYS before looking at its flags */
	g_setattr = !(mount_setattr(-1, "", 0, NULL, 0) < 0 && errno == ENOSYS);
	mnt(s, ".", ".", NULL, MS_BIND | (g_setattr ? MS_REC : 0), NULL);
	if (chdir(s->root) < 0)
		die(s, EXIT_OWN, "%s: %s", s->root, strerror(errno));
	nodev(s, ".", 0);
	mnt(s, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	setup_dev(s);
	mnt(s, "sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	mask_paths(s);
	if (s->resolv)
		mnt(s, s->resolv, "etc/resolv.conf", NULL, MS_BIND, NULL);
	if (s->hosts)
		mnt(s, s->hosts, "etc/hosts", NULL, MS_BIND, NULL);
	/* bound: the copies need no name any more, and none stays should
	 * fb-exec be killed with -9 */
	if (s->resolv)
		unlink(s->resolv);
	if (s->hosts)
		unlink(s->hosts);
	if (s->copies)
		rmdir(s->copies);
	/* mounts asked for: each target resolved inside the tree (a link in
	 * it cannot lead out) and mounted on through its /proc/self/fd path */
	int rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; rootfd >= 0 && i < s->nmounts; i++) {
		struct mnt_spec *m = &s->mounts[i];
		int tfd = fb_tree_open(rootfd, m->target, O_PATH, 0);
		if (tfd < 0)
			die(s, EXIT_OWN, "mount target %s: %s", m->target, strerror(errno));
		char tgt[64];
		snprintf(tgt, sizeof(tgt), "/proc/self/fd/%d", tfd);
		if (!strcmp(m->type, "tmpfs")) {
			char data[64] = "mode=1777";
			if (m->size)
				snprintf(data, sizeof(data), "mode=1777,size=%llu", (unsigned long long)m->size);
			mnt(s, "tmpfs", tgt, "tmpfs", MS_NOSUID | MS_NODEV, data);
		} else {
			/* by path: an fd opened before the clone belongs to the
			 * parent's mount namespace, which a bind cannot take from */
			mnt(s, m->source, tgt, NULL, MS_BIND | (g_setattr ? MS_REC : 0), NULL);
			/* the new mount, reached again: nodev (and ro) on it */
			int nfd = fb_tree_open(rootfd, m->target, O_PATH, 0);
			if (nfd < 0)
				die(s, EXIT_OWN, "mount target %s: %s", m->target, strerror(errno));
			snprintf(tgt, sizeof(tgt), "/proc/self/fd/%d", nfd);
			nodev(s, tgt, m->ro ? MS_RDONLY | MS_NOSUID : 0);
			close(nfd);
		}
		close(tfd);
	}
	if (rootfd >= 0)
		close(rootfd);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die(s, EXIT_OWN, "pivot_root: %s", strerror(errno));
	/* the old root sits under the new one: let it go */
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die(s, EXIT_OWN, "detach the old root: %s", strerror(errno));
	if (sethostname(s->hostname, strlen(s->hostname)) < 0)
		die(s, EXIT_OWN, "sethostname: %s", strerror(errno));
	if (s->net_none)
		lo_up();
	struct rlimit nofile = { 1048576, 1048576 }, core = { 0, 0 };
	setrlimit(RLIMIT_NOFILE, &nofile);
	setrlimit(RLIMIT_CORE, &core);
	const char *wd = s->workdir ? s->workdir : "/";
	char *w = fb_xstrdup(wd);
	for (char *p = w + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			mkdir(w, 0755);
			if (!c)
				break;
			*p = c;
		}
	}
	free(w);
	if (chdir(wd) < 0)
		die(s, EXIT_OWN, "workdir %s: %s", wd, strerror(errno));
	/* Docker's seccomp profile, while CAP_SYS_ADMIN still allows loading
	 * one without no_new_privs (setuid programs keep working) */
	struct fb_err ferr = { 0 };
	if (fb_sysfilter_install(&ferr) < 0)
		die(s, EXIT_OWN, "%s", ferr.msg);
	drop_caps(s);

	/* pid 1 here is a reaper; the command runs as its child */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t cmd = fork();
	if (cmd < 0)
		die(s, EXIT_OWN, "fork: %s", strerror(errno));
	if (cmd == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		become(s);
		execvp(s->args.v[0], s->args.v);
		int e = errno;
		die(s, e == ENOENT ? 127 : 126, "%s: %s", s->args.v[0], strerror(e));
	}
	close(s->report[1]);
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p == cmd || p < 0)
			_exit(p < 0 ? EXIT_OWN : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

/* ---- outside ---- */

/* Mountpoints and files made in the tree for the run, removed after if
 * they are still empty (they would otherwise land in the image). */
struct made {
	char *paths[8];
	bool dir[8];
	int n;
};

static void ensure(struct made *m, const char *root, const char *rel, bool dir)
{
	char *p = fb_xasprintf("%s/%s", root, rel);
	struct stat st;
	if (lstat(p, &st) < 0) {
		if ((dir ? mkdir(p, 0755) : (touch(p), 0)) == 0 && m->n < 8) {
			m->paths[m->n] = p;
			m->dir[m->n++] = dir;
			return;
		}
	}
	free(p);
}

static void unmake(struct made *m)
{
	for (int i = m->n; i-- > 0;) {
		struct stat st;
		if (m->dir[i])
			rmdir(m->paths[i]);
		else if (lstat(m->paths[i], &st) == 0 && st.st_size == 0)
			unlink(m->paths[i]);
		free(m->paths[i]);
	}
}

static char *host_copy(const char *src, const char *dir)
{
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = { 0 };
	if (fb_read_file(src, &b, &e) < 0) {
		fb_buf_free(&b);
		return NULL;
	}
	char *p = fb_xasprintf("%s/%s", dir, strrchr(src, '/') + 1);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, b.data ? b.data : "", b.len) != (ssize_t)b.len) {
		if (fd >= 0)
			close(fd);
		free(p);
		fb_buf_free(&b);
		return NULL;
	}
	close(fd);
	fb_buf_free(&b);
	return p;
}

/* Open each mount's source, and make its target inside the tree (resolved
 * in the tree: a link there never leads outside); what was made is removed
 * after the run when still empty. */
static int prepare_mounts(struct spec *s, struct fb_err *err)
{
	if (!s->nmounts)
		return 0;
	int rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fb_err_errno(err, errno, "--root %s", s->root);
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < s->nmounts; i++) {
		struct mnt_spec *m = &s->mounts[i];
		bool dir = true;
		if (strcmp(m->type, "tmpfs")) {
			m->fd = open(m->source, O_PATH | O_CLOEXEC);
			struct stat st;
			if (m->fd < 0 || fstat(m->fd, &st) < 0) {
				ret = fb_err_errno(err, errno, "mount source %s", m->source);
				break;
			}
			dir = S_ISDIR(st.st_mode);
		}
		const char *slash = strrchr(m->target, '/');
		char *parent = fb_xstrndup(m->target, (size_t)(slash - m->target));
		int pfd = fb_tree_mkdirs(rootfd, dir ? m->target : parent, 0755, 0, 0, &s->mount_made, err);
		free(parent);
		if (pfd < 0) {
			fb_err_prefix(err, "mount target %s", m->target);
			ret = -1;
			break;
		}
		close(pfd);
		if (!dir) {
			int f = fb_tree_open(rootfd, m->target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
			if (f >= 0) {
				close(f);
				fb_strv_push(&s->mount_made, m->target + 1);
			} else if (errno != EEXIST) {
				ret = fb_err_errno(err, errno, "mount target %s", m->target);
			}
		}
	}
	close(rootfd);
	return ret;
}

static void unmake_mounts(struct spec *s)
{
	int rootfd = s->mount_made.n ? open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	for (size_t i = s->mount_made.n; rootfd >= 0 && i-- > 0;) {
		const char *p = s->mount_made.v[i];
		const char *slash = strrchr(p, '/');
		char *parent = slash ? fb_xstrndup(p, (size_t)(slash - p)) : fb_xstrdup("");
		int pfd = fb_tree_open(rootfd, parent, O_PATH | O_DIRECTORY, 0);
		const char *base = slash ? slash + 1 : p;
		struct stat st;
		if (pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode))
				unlinkat(pfd, base, AT_REMOVEDIR);
			else if (S_ISREG(st.st_mode) && st.st_size == 0)
				unlinkat(pfd, base, 0);
		}
		if (pfd >= 0)
			close(pfd);
		free(parent);
	}
	if (rootfd >= 0)
		close(rootfd);
}

static int read_mounts(struct spec *s, jv e, struct fb_err *err)
{
	jv ms = jv_object_get(jv_copy(e), jv_string("mounts"));
	int ret = 0;
	if (jv_get_kind(ms) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(ms));
		s->mounts = fb_xcalloc((size_t)n + 1, sizeof(*s->mounts));
		for (int i = 0; ret == 0 && i < n; i++) {
			jv m = jv_array_get(jv_copy(ms), i);
			struct mnt_spec *ms1 = &s->mounts[s->nmounts++];
			ms1->fd = -1;
			long long size = 0;
			bool ro = false;
			if (fb_json_get_str(m, "type", &ms1->type, err) < 0 || fb_json_get_str(m, "target", &ms1->target, err) < 0 ||
			    fb_json_get_str_opt(m, "source", &ms1->source, err) < 0 ||
			    fb_json_get_bool_opt(m, "readonly", &ro, err) < 0 || fb_json_get_int_opt(m, "size", &size, err) < 0)
				ret = -1;
			else if (strcmp(ms1->type, "bind") && strcmp(ms1->type, "tmpfs"))
				ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".exec.mounts[%d]: type %s: expected bind or tmpfs", i,
						 ms1->type);
			else if (ms1->target[0] != '/' || !strcmp(ms1->target, "/"))
				ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".exec.mounts[%d]: target %s: must be absolute and not /",
						 i, ms1->target);
			else if (!strcmp(ms1->type, "bind") && !ms1->source)
				ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".exec.mounts[%d]: a bind mount needs a source", i);
			ms1->ro = ro;
			ms1->size = size > 0 ? (uint64_t)size : 0;
			jv_free(m);
		}
	} else if (jv_is_valid(ms) && jv_get_kind(ms) != JV_KIND_NULL) {
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".exec.mounts must be an array");
	}
	jv_free(ms);
	return ret;
}

static int run(struct spec *s, int *code, double *secs, struct fb_err *err)
{
	/* absolute: the sandbox enters it twice, the second time from inside */
	char *abs = realpath(s->root, NULL);
	if (!abs)
		return fb_err_errno(err, errno, "--root %s", s->root);
	free(s->root);
	s->root = abs;
	struct stat st;
	if (stat(s->root, &st) < 0)
		return fb_err_errno(err, errno, "--root %s", s->root);
	if (!S_ISDIR(st.st_mode))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "--root %s is not a directory", s->root);
	if (!s->args.n)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "no command to run");
	if (!s->hostname)
		s->hostname = fb_xstrdup("fb-exec");
	struct made made = { 0 };
	ensure(&made, s->root, "proc", true);
	ensure(&made, s->root, "dev", true);
	ensure(&made, s->root, "sys", true);
	ensure(&made, s->root, "etc", true);
	ensure(&made, s->root, "etc/resolv.conf", false);
	ensure(&made, s->root, "etc/hosts", false);
	if (prepare_mounts(s, err) < 0) {
		unmake(&made);
		unmake_mounts(s);
		return -1;
	}
	struct fb_devices dev = { 0 };
	s->report[0] = s->report[1] = s->go[0] = s->go[1] = -1;
	if (pipe2(s->report, O_CLOEXEC) < 0 || pipe2(s->go, O_CLOEXEC) < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (s->report[i] >= 0)
				close(s->report[i]);
			if (s->go[i] >= 0)
				close(s->go[i]);
		}
		unmake(&made);
		unmake_mounts(s);
		return fb_err_errno(err, e, "pipe");
	}
	/* Signals are taken with sigwaitinfo from here on: one that comes at
	 * any moment (a timeout, Ctrl-C, the SIGTERM of a dying parent) kills
	 * the sandbox, none slips in before the wait. */
	sigset_t wait_set;
	sigemptyset(&wait_set);
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM, SIGCHLD };
	for (size_t i = 0; i < FB_ARRAY_LEN(sigs); i++)
		sigaddset(&wait_set, sigs[i]);
	sigprocmask(SIG_BLOCK, &wait_set, &s->oldmask);
	/* the device allowlist: a cgroup the sandbox enters before it starts */
	char cgname[64];
	snprintf(cgname, sizeof(cgname), "fb-exec-%d", (int)getpid());
	fb_devices_sweep("fb-exec-");
	struct fb_err derr = { 0 };
	if (fb_devices_create(&dev, s->devmode, cgname, &derr) < 0) {
		if (s->devmode != FB_DEVICES_AUTO) {
			fb_err_set(err, FB_EXIT_FAILED, "sandbox", "device cgroup (%s): %s", fb_devices_mode_name(s->devmode),
				   derr.msg);
			close(s->report[0]), close(s->report[1]), close(s->go[0]), close(s->go[1]);
			unmake(&made);
			unmake_mounts(s);
			return -1;
		}
		/* nodev mounts alone keep the tree's device nodes inert */
		fb_log(FB_LOG_WARN, "no device cgroup (%s): device nodes are kept out by nodev mounts only", derr.msg);
	}
	char tmpl[] = "/tmp/fb-exec-XXXXXX";
	char *tmp = mkdtemp(tmpl);
	if (tmp) {
		s->resolv = host_copy("/etc/resolv.conf", tmp);
		s->hosts = host_copy("/etc/hosts", tmp);
		s->copies = tmp;
	}
	size_t stack_size = 1 << 20;
	char *stack = fb_xmalloc(stack_size);
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
	if (s->net_none)
		flags |= CLONE_NEWNET;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = clone(child, stack + stack_size, flags, s);
	int ret = 0;
	if (pid < 0) {
		ret = fb_err_errno(err, errno, "clone (new namespaces need root)");
		close(s->report[0]);
		close(s->report[1]);
		close(s->go[0]);
		close(s->go[1]);
		goto out;
	}
	close(s->report[1]);
	close(s->go[0]);
	if (dev.used != FB_DEVICES_NONE && fb_devices_add(&dev, pid, err) < 0) {
		/* it never starts: no go */
		close(s->go[1]);
		kill(pid, SIGKILL);
		int st2;
		waitpid(pid, &st2, 0);
		close(s->report[0]);
		ret = -1;
		goto out;
	}
	if (write(s->go[1], "g", 1) != 1) {
		ret = fb_err_errno(err, errno, "start the sandbox");
		kill(pid, SIGKILL);
	}
	close(s->go[1]);
	if (s->timeout > 0) {
		struct itimerval it = { { 0, 0 }, { (time_t)s->timeout, (suseconds_t)((s->timeout - (long)s->timeout) * 1e6) } };
		setitimer(ITIMER_REAL, &it, NULL);
	}
	int status = 0, got = 0;
	bool killed = false;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			ret = fb_err_errno(err, errno, "waitpid");
			goto out;
		}
		int sig = sigwaitinfo(&wait_set, NULL);
		if (sig <= 0 || sig == SIGCHLD || killed)
			continue;
		/* pid 1 of the namespace: every process in it goes too */
		kill(pid, SIGKILL);
		killed = true;
		got = sig;
	}
	if (ret < 0) {
		close(s->report[0]);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	char msg[1024] = { 0 };
	ssize_t n = read(s->report[0], msg, sizeof(msg) - 1);
	close(s->report[0]);
	if (killed && got == SIGALRM) {
		*code = EXIT_TIMEOUT;
		fb_log(FB_LOG_WARN, "timed out after %g s: killed", s->timeout);
	} else if (killed) {
		*code = 128 + got;
	} else if (n > 0) {
		*code = (unsigned char)msg[0];
		ret = fb_err_set(err, *code == EXIT_OWN ? FB_EXIT_FAILED : FB_EXIT_NOTFOUND, *code == EXIT_OWN ? "sandbox" : "exec",
				 "%s", msg + 1);
		err->code = *code;
	} else {
		*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
out:
	/* the signals stay blocked: fb-exec only reports and exits now */
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
	fb_devices_destroy(&dev);
	free(stack);
	unmake_mounts(s);
	unmake(&made);
	if (tmp) {
		if (s->resolv)
			unlink(s->resolv);
		if (s->hosts)
			unlink(s->hosts);
		rmdir(tmp);
	}
	return ret;
}

static int read_spec(struct spec *s, jv *docp, struct fb_err *err)
{
	jv doc;
	if (fb_json_read_fd(0, &doc, err) < 0)
		return -1;
	if (fb_json_is_error_doc(doc)) {
		fb_tool_pass_error(doc);
		return 1;
	}
	/* the members' kinds first (lib/shape): a message names the one at fault */
	if (fb_shape_exec_spec(doc, err) < 0) {
		jv_free(doc);
		return -1;
	}
	*docp = jv_copy(doc);
	jv e = jv_object_get(doc, jv_string("exec"));
	int r = -1;
	long long to = 0;
	if (jv_get_kind(e) != JV_KIND_OBJECT)
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "input document has no .exec object");
	else if (fb_json_get_str(e, "root", &s->root, err) == 0 && fb_json_get_strv_opt(e, "args", &s->args, err) == 0 &&
		 fb_json_get_strv_opt(e, "env", &s->env, err) == 0 && fb_json_get_str_opt(e, "user", &s->user, err) == 0 &&
		 fb_json_get_str_opt(e, "workdir", &s->workdir, err) == 0 &&
		 fb_json_get_str_opt(e, "hostname", &s->hostname, err) == 0 && fb_json_get_int_opt(e, "timeout", &to, err) == 0) {
		char *net = NULL;
		if (fb_json_get_str_opt(e, "network", &net, err) == 0) {
			s->net_none = net && !strcmp(net, "none");
			s->timeout = (double)to;
			r = read_mounts(s, e, err);
		}
		free(net);
	}
	jv_free(e);
	return r;
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-exec");
	struct spec s = { 0 };
	int c, exit_now = -1;
	/* which device allowlist: auto, or one forced (tests, operators) */
	struct fb_err merr = { 0 };
	if (fb_devices_mode_parse(getenv("FB_EXEC_DEVICES"), &s.devmode, &merr) < 0) {
		fb_tool_usage_error("FB_EXEC_DEVICES: %s", merr.msg);
		return EXIT_OWN;
	}
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0) {
				spec_free(&s);
				return exit_now ? EXIT_OWN : 0;
			}
			continue;
		}
		switch (c) {
		case OPT_ROOT: free(s.root); s.root = fb_xstrdup(optarg); break;
		case OPT_USER: free(s.user); s.user = fb_xstrdup(optarg); break;
		case OPT_WORKDIR:
			if (optarg[0] != '/') {
				fb_tool_usage_error("--workdir %s: must be absolute", optarg);
				spec_free(&s);
				return EXIT_OWN;
			}
			free(s.workdir);
			s.workdir = fb_xstrdup(optarg);
			break;
		case OPT_ENV:
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fb_tool_usage_error("--env %s: expected NAME=VALUE", optarg);
				spec_free(&s);
				return EXIT_OWN;
			}
			fb_strv_push(&s.env, optarg);
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "none") && strcmp(optarg, "host")) {
				fb_tool_usage_error("--network %s: expected none or host", optarg);
				spec_free(&s);
				return EXIT_OWN;
			}
			s.net_none = !strcmp(optarg, "none");
			break;
		case OPT_HOSTNAME: free(s.hostname); s.hostname = fb_xstrdup(optarg); break;
		case OPT_TIMEOUT: {
			char *end;
			s.timeout = strtod(optarg, &end);
			if (*end || s.timeout <= 0) {
				fb_tool_usage_error("--timeout %s: expected seconds", optarg);
				spec_free(&s);
				return EXIT_OWN;
			}
			break;
		}
		default:
			fb_tool_bad_option(argv); /* 125: fb-exec's own failures, bad usage included */
			spec_free(&s);
			return EXIT_OWN;
		}
	}
	struct fb_err err = { 0 };
	jv doc = jv_invalid();
	int result_fd = -1;
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			fb_strv_push(&s.args, argv[i]);
		if (!s.root) {
			fb_tool_usage_error("--root is required");
			spec_free(&s);
			return EXIT_OWN;
		}
	} else {
		s.json = true;
		int r = read_spec(&s, &doc, &err);
		if (r != 0) {
			spec_free(&s);
			if (jv_is_valid(doc))
				jv_free(doc);
			if (r > 0)
				return FB_EXIT_FAILED;
			FB_IGNORE(fb_tool_fail(&err)); /* its own failures are 125, whatever the error's code */
			return EXIT_OWN;
		}
		/* the command writes to stderr; stdout keeps the result */
		result_fd = dup(1);
		if (result_fd < 0 || dup2(2, 1) < 0) {
			jv_free(doc);
			spec_free(&s);
			return EXIT_OWN;
		}
	}
	int code = 0;
	double secs = 0;
	int rc;
	if (run(&s, &code, &secs, &err) < 0) {
		fb_log_failure(&err);
		rc = code ? code : EXIT_OWN;
	} else {
		rc = code;
	}
	if (s.json) {
		jv res = jv_object();
		res = jv_object_set(res, jv_string("exit_code"), jv_number(rc));
		res = jv_object_set(res, jv_string("seconds"), jv_number(secs));
		res = jv_object_set(res, jv_string("timed_out"), jv_bool(rc == EXIT_TIMEOUT));
		if (err.msg[0])
			res = jv_object_set(res, jv_string("error"), jv_string(err.msg));
		doc = jv_object_set(doc, jv_string("exec_result"), res);
		char *text = fb_json_dump(doc, isatty(result_fd));
		size_t len = strlen(text);
		if (write(result_fd, text, len) != (ssize_t)len || write(result_fd, "\n", 1) != 1)
			rc = rc ? rc : EXIT_OWN;
		free(text);
		close(result_fd);
	}
	spec_free(&s);
	return rc;
}
