/* fb-exec: run one command inside a root file system tree, isolated: new
 * mount, pid, ipc and uts namespaces (and a new network namespace for
 * --network=none), pivot_root into the tree, /proc (Docker's paths masked
 * or read-only), a minimal /dev, read-only /sys, /dev/shm (lib/sandbox
 * mounts), the host's resolv.conf and hosts (copies, for this run only),
 * rlimits; Docker's confinement: its capabilities (caps), its seccomp
 * profile (sysfilter), a device allowlist (devices) and every mount nodev;
 * the user from the tree's files (user). The spec is exec_doc's. This file
 * is the recipe: the steps in order, in the parent and in the child.
 * Killing pid 1 of the namespace takes every process with it, and the
 * mounts go with the namespace: a timeout, Ctrl-C or fb-exec's own death
 * leaves nothing.
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
#include <net/if.h>
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
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "devices.h"
#include "doc.h"
#include "err.h"
#include "exec_doc.h"
#include "log.h"
#include "mounts.h"
#include "proc.h"
#include "san.h"
#include "sysfilter.h"
#include "tool.h"
#include "tree.h"
#include "user.h"
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

/* A run: the spec, and what the parent and the sandbox share. */
struct run {
	struct fb_exec_spec *spec;
	int report[2];    /* setup failures, child -> parent */
	int go[2];        /* parent -> child: carry on (end of file: fb-exec is gone) */
	sigset_t oldmask; /* the signal mask the command gets */
	char *resolv;     /* the host's copies bound in */
	char *hosts;
	char *copies;     /* their directory */
	struct fb_strv mount_made; /* mount targets made in the tree, removed after */
	char *stack;      /* the child's */
	size_t stack_size;
	const char *cgroup; /* the device cgroup, which the child enters itself
			     * (fb_cgroup_enter: no grace period a RUN step) */
};

/* ---- inside: these run in the child, which may only report and exit ---- */

static void die(struct run *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
static void die(struct run *r, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	msg[0] = (char)code;
	ssize_t w = write(r->report[1], msg, (size_t)(n > 0 ? n : 0) + 1 < sizeof(msg) ? (size_t)n + 1 : sizeof(msg));
	(void)w;
	_exit(code);
}

/* a step of the set-up: on failure, its error is the run's */
static void must(struct run *r, int rc, const struct fb_err *err)
{
	if (rc < 0)
		die(r, EXIT_OWN, "%s", err->msg);
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

/* The mounts asked for: each target resolved inside the tree (a link in it
 * cannot lead out) and mounted on through its /proc/self/fd path. */
static void mount_asked(struct run *r)
{
	struct fb_err err = { 0 };
	int rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die(r, EXIT_OWN, "the tree: %s", strerror(errno));
	for (size_t i = 0; i < r->spec->nmounts; i++) {
		const struct fb_exec_mount *m = &r->spec->mounts[i];
		int tfd = fb_tree_open(rootfd, m->target, O_PATH, 0);
		if (tfd < 0)
			die(r, EXIT_OWN, "mount target %s: %s", m->target, strerror(errno));
		char tgt[64];
		snprintf(tgt, sizeof(tgt), "/proc/self/fd/%d", tfd);
		if (!strcmp(m->type, "tmpfs")) {
			char data[64] = "mode=1777";
			if (m->size)
				snprintf(data, sizeof(data), "mode=1777,size=%llu", m->size);
			must(r, fb_mount("tmpfs", tgt, "tmpfs", MS_NOSUID | MS_NODEV, data, &err), &err);
		} else {
			/* by path: an fd opened before the clone belongs to the
			 * parent's mount namespace, which a bind cannot take from */
			must(r, fb_mount(m->source, tgt, NULL, MS_BIND | (fb_mount_setattr_works() ? MS_REC : 0), NULL, &err), &err);
			/* the new mount, reached again: nodev (and ro) on it */
			int nfd = fb_tree_open(rootfd, m->target, O_PATH, 0);
			if (nfd < 0)
				die(r, EXIT_OWN, "mount target %s: %s", m->target, strerror(errno));
			snprintf(tgt, sizeof(tgt), "/proc/self/fd/%d", nfd);
			must(r, fb_mount_nodev(tgt, m->readonly ? MS_RDONLY | MS_NOSUID : 0, &err), &err);
			close(nfd);
		}
		close(tfd);
	}
	close(rootfd);
}

/* The command, as pid 1's child: its user, its environment, exec. */
static void command(struct run *r)
{
	struct fb_err err = { 0 };
	struct fb_user u;
	if (fb_user_resolve(r->spec->user, "/etc/passwd", "/etc/group", &u, &err) < 0)
		die(r, EXIT_OWN, "%s", err.msg);
	if (fb_user_become(&u, &err) < 0)
		die(r, EXIT_OWN, "become %s: %s", r->spec->user ? r->spec->user : "root", err.msg);
	fb_user_env(&r->spec->env, &u);
	fb_user_free(&u);
	execvp(r->spec->args.v[0], r->spec->args.v);
	int e = errno;
	die(r, e == ENOENT ? 127 : 126, "%s: %s", r->spec->args.v[0], strerror(e));
}

static int child(void *arg)
{
	struct run *r = arg;
	const struct fb_exec_spec *s = r->spec;
	struct fb_err err = { 0 };
	fb_san_child_stack(r->stack, r->stack_size);
	/* pid 1 of the namespace dies with fb-exec, and every process in it
	 * with pid 1: nothing outlives a killed build. Should fb-exec be gone
	 * already, the go pipe reads end-of-file. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	sigprocmask(SIG_SETMASK, &r->oldmask, NULL);
	close(r->report[0]);
	close(r->go[1]);
	char go;
	if (read(r->go[0], &go, 1) != 1)
		_exit(EXIT_OWN);
	close(r->go[0]);
	if (r->cgroup && fb_cgroup_enter(r->cgroup) < 0)
		die(r, EXIT_OWN, "join the device cgroup %s: %s", r->cgroup, strerror(errno));
	/* mounts stay here; the host never sees them */
	must(r, fb_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, &err), &err);
	if (chdir(s->root) < 0)
		die(r, EXIT_OWN, "%s: %s", s->root, strerror(errno));
	must(r, fb_mount(".", ".", NULL, MS_BIND | (fb_mount_setattr_works() ? MS_REC : 0), NULL, &err), &err);
	if (chdir(s->root) < 0)
		die(r, EXIT_OWN, "%s: %s", s->root, strerror(errno));
	must(r, fb_mount_nodev(".", 0, &err), &err);
	must(r, fb_mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, &err), &err);
	must(r, fb_sandbox_dev(&err), &err);
	must(r, fb_mount("sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, &err), &err);
	must(r, fb_sandbox_mask_paths(&err), &err);
	if (r->resolv)
		must(r, fb_mount(r->resolv, "etc/resolv.conf", NULL, MS_BIND, NULL, &err), &err);
	if (r->hosts)
		must(r, fb_mount(r->hosts, "etc/hosts", NULL, MS_BIND, NULL, &err), &err);
	/* bound: the copies need no name any more, and none stays should
	 * fb-exec be killed with -9 */
	if (r->resolv)
		unlink(r->resolv);
	if (r->hosts)
		unlink(r->hosts);
	if (r->copies)
		rmdir(r->copies);
	mount_asked(r);
	fb_san_report_to_stderr();
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die(r, EXIT_OWN, "pivot_root: %s", strerror(errno));
	/* the old root sits under the new one: let it go */
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die(r, EXIT_OWN, "detach the old root: %s", strerror(errno));
	const char *hostname = s->hostname ? s->hostname : "fb-exec";
	if (sethostname(hostname, strlen(hostname)) < 0)
		die(r, EXIT_OWN, "sethostname: %s", strerror(errno));
	if (s->net_none)
		lo_up();
	struct rlimit nofile = { 1048576, 1048576 }, core = { 0, 0 };
	setrlimit(RLIMIT_NOFILE, &nofile);
	setrlimit(RLIMIT_CORE, &core);
	const char *wd = s->workdir ? s->workdir : "/";
	FB_AUTOFREE char *w = fb_xstrdup(wd);
	for (char *p = w + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(w, 0755);
			*p = '/';
		}
	mkdir(w, 0755);
	if (chdir(wd) < 0)
		die(r, EXIT_OWN, "workdir %s: %s", wd, strerror(errno));
	/* Docker's seccomp profile, while CAP_SYS_ADMIN still allows loading
	 * one without no_new_privs (setuid programs keep working) */
	must(r, fb_sysfilter_install(&err), &err);
	must(r, fb_caps_drop(&err), &err);

	/* pid 1 here is a reaper; the command runs as its child */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t cmd = fork();
	if (cmd < 0)
		die(r, EXIT_OWN, "fork: %s", strerror(errno));
	if (cmd == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		command(r);
	}
	close(r->report[1]);
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

/* The host's file, copied for this run: a write inside goes to the copy. */
static char *host_copy(const char *src, const char *dir)
{
	struct fb_buf b FB_AUTOBUF = FB_BUF_INIT;
	struct fb_err e = { 0 };
	if (fb_read_file(src, &b, &e) < 0)
		return NULL;
	char *p = fb_xasprintf("%s/%s", dir, strrchr(src, '/') + 1);
	FB_AUTOCLOSE int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, b.data ? b.data : "", b.len) != (ssize_t)b.len) {
		free(p);
		return NULL;
	}
	return p;
}

/* Check each mount's source, and make its target inside the tree
 * (resolved in the tree: a link there never leads outside); what was made
 * is removed after the run when still empty. */
static int prepare_mounts(struct run *r, struct fb_err *err)
{
	const struct fb_exec_spec *s = r->spec;
	if (!s->nmounts)
		return 0;
	FB_AUTOCLOSE int rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fb_err_errno(err, errno, "--root %s", s->root);
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct fb_exec_mount *m = &s->mounts[i];
		struct stat st = { .st_mode = S_IFDIR };
		if (strcmp(m->type, "tmpfs") && stat(m->source, &st) < 0)
			return fb_err_errno(err, errno, "mount source %s", m->source);
		bool dir = S_ISDIR(st.st_mode);
		const char *slash = strrchr(m->target, '/');
		FB_AUTOFREE char *parent = fb_xstrndup(m->target, (size_t)(slash - m->target));
		int pfd = fb_tree_mkdirs(rootfd, dir ? m->target : parent, 0755, 0, 0, &r->mount_made, err);
		if (pfd < 0) {
			fb_err_prefix(err, "mount target %s", m->target);
			return -1;
		}
		close(pfd);
		if (dir)
			continue;
		int f = fb_tree_open(rootfd, m->target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
		if (f >= 0) {
			close(f);
			fb_strv_push(&r->mount_made, m->target + 1);
		} else if (errno != EEXIST) {
			return fb_err_errno(err, errno, "mount target %s", m->target);
		}
	}
	return 0;
}

static void unmake_mounts(struct run *r)
{
	FB_AUTOCLOSE int rootfd = r->mount_made.n ? open(r->spec->root, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	for (size_t i = r->mount_made.n; rootfd >= 0 && i-- > 0;) {
		const char *p = r->mount_made.v[i];
		const char *slash = strrchr(p, '/');
		FB_AUTOFREE char *parent = slash ? fb_xstrndup(p, (size_t)(slash - p)) : fb_xstrdup("");
		FB_AUTOCLOSE int pfd = fb_tree_open(rootfd, parent, O_PATH | O_DIRECTORY, 0);
		const char *base = slash ? slash + 1 : p;
		struct stat st;
		if (pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode))
				unlinkat(pfd, base, AT_REMOVEDIR);
			else if (S_ISREG(st.st_mode) && st.st_size == 0)
				unlinkat(pfd, base, 0);
		}
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_pipes(struct run *r)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&r->report[i]);
		close_fd(&r->go[i]);
	}
}

/* The device allowlist: a cgroup the sandbox enters before it starts. */
static int devices(struct fb_devices *dev, enum fb_devices_mode mode, struct fb_err *err)
{
	char cgname[64];
	snprintf(cgname, sizeof(cgname), "fb-exec-%d", (int)getpid());
	fb_devices_sweep("fb-exec-");
	struct fb_err derr = { 0 };
	if (fb_devices_create(dev, mode, cgname, &derr) == 0)
		return 0;
	if (mode != FB_DEVICES_AUTO)
		return fb_err_set(err, FB_EXIT_FAILED, "sandbox", "device cgroup (%s): %s", fb_devices_mode_name(mode), derr.msg);
	/* nodev mounts alone keep the tree's device nodes inert */
	fb_log(FB_LOG_WARN, "no device cgroup (%s): device nodes are kept out by nodev mounts only", derr.msg);
	return 0;
}

/* Start the sandbox in its cgroup, wait for it (a signal or the timeout
 * kills it: pid 1 of the namespace, every process in it goes too), and say
 * how it ended: *code, or -1 with err when the set-up failed inside. */
static int start_and_wait(struct run *r, struct fb_devices *dev, const sigset_t *wait_set, int *code, double *secs,
			  struct fb_err *err)
{
	const struct fb_exec_spec *s = r->spec;
	size_t stack_size = 1 << 20;
	FB_AUTOFREE char *stack = fb_xmalloc(stack_size);
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
	if (s->net_none)
		flags |= CLONE_NEWNET;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r->stack = stack;
	r->stack_size = stack_size;
	r->cgroup = dev->used != FB_DEVICES_NONE ? dev->dir : NULL;
	pid_t pid = clone(child, stack + stack_size, flags, r);
	if (pid < 0)
		return fb_err_errno(err, errno, "clone (new namespaces need root)");
	close_fd(&r->report[1]);
	close_fd(&r->go[0]);
	int ret = 0;
	if (write(r->go[1], "g", 1) != 1) {
		ret = fb_err_errno(err, errno, "start the sandbox");
		kill(pid, SIGKILL);
	}
	close_fd(&r->go[1]);
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
		if (w < 0 && errno != EINTR)
			return fb_err_errno(err, errno, "waitpid");
		int sig = sigwaitinfo(wait_set, NULL);
		if (sig <= 0 || sig == SIGCHLD || killed)
			continue;
		kill(pid, SIGKILL);
		killed = true;
		got = sig;
	}
	if (ret < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	char msg[1024] = { 0 };
	ssize_t n = read(r->report[0], msg, sizeof(msg) - 1);
	if (killed && got == SIGALRM) {
		*code = EXIT_TIMEOUT;
		fb_log(FB_LOG_WARN, "timed out after %g s: killed", s->timeout);
	} else if (killed) {
		*code = 128 + got;
	} else if (n > 0) {
		/* the set-up failed inside, or the command could not be run */
		*code = (unsigned char)msg[0];
		fb_err_set(err, *code == EXIT_OWN ? FB_EXIT_FAILED : FB_EXIT_NOTFOUND, *code == EXIT_OWN ? "sandbox" : "exec", "%s",
			   msg + 1);
		err->code = *code;
		return -1;
	} else {
		*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	return 0;
}

/* What the run needs outside the tree: pipes to the sandbox, the signals
 * it waits on, the device cgroup, the host's resolv.conf and hosts. */
static int sandbox(struct run *r, enum fb_devices_mode devmode, int *code, double *secs, struct fb_err *err)
{
	if (prepare_mounts(r, err) < 0)
		return -1;
	if (pipe2(r->report, O_CLOEXEC) < 0 || pipe2(r->go, O_CLOEXEC) < 0) {
		int e = errno;
		close_pipes(r);
		return fb_err_errno(err, e, "pipe");
	}
	/* Signals are taken with sigwaitinfo from here on: one that comes at
	 * any moment (a timeout, Ctrl-C, the SIGTERM of a dying parent) kills
	 * the sandbox, none slips in before the wait. They stay blocked:
	 * fb-exec only reports and exits afterwards. */
	sigset_t wait_set;
	sigemptyset(&wait_set);
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM, SIGCHLD };
	for (size_t i = 0; i < FB_ARRAY_LEN(sigs); i++)
		sigaddset(&wait_set, sigs[i]);
	sigprocmask(SIG_BLOCK, &wait_set, &r->oldmask);
	struct fb_devices dev = { 0 };
	if (devices(&dev, devmode, err) < 0) {
		close_pipes(r);
		return -1;
	}
	char tmpl[] = "/tmp/fb-exec-XXXXXX";
	char *tmp = mkdtemp(tmpl);
	if (tmp) {
		r->resolv = host_copy("/etc/resolv.conf", tmp);
		r->hosts = host_copy("/etc/hosts", tmp);
		r->copies = tmp;
	}
	int ret = start_and_wait(r, &dev, &wait_set, code, secs, err);
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
	close_pipes(r);
	fb_devices_destroy(&dev);
	if (tmp) {
		if (r->resolv)
			unlink(r->resolv);
		if (r->hosts)
			unlink(r->hosts);
		rmdir(tmp);
	}
	return ret;
}

static int run(struct fb_exec_spec *s, enum fb_devices_mode devmode, int *code, double *secs, struct fb_err *err)
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
	/* the mountpoints the sandbox needs, removed after when still empty */
	struct fb_sandbox_points made = { 0 };
	static const struct {
		const char *rel;
		bool dir;
	} points[] = { { "proc", true }, { "dev", true }, { "sys", true }, { "etc", true }, { "etc/resolv.conf", false },
		       { "etc/hosts", false } };
	for (size_t i = 0; i < FB_ARRAY_LEN(points); i++)
		fb_sandbox_point(&made, s->root, points[i].rel, points[i].dir);
	struct run r = { .spec = s, .report = { -1, -1 }, .go = { -1, -1 }, .mount_made = FB_STRV_INIT };
	int ret = sandbox(&r, devmode, code, secs, err);
	unmake_mounts(&r);
	fb_sandbox_points_undo(&made);
	fb_strv_free(&r.mount_made);
	free(r.resolv);
	free(r.hosts);
	return ret;
}

/* The flags: -1 to go on, or the exit status (--help, bad usage: 125,
 * fb-exec's own failures). */
static int parse_flags(int argc, char **argv, struct fb_exec_spec *s)
{
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				return exit_now ? EXIT_OWN : 0;
			continue;
		}
		switch (c) {
		case OPT_ROOT: free(s->root); s->root = fb_xstrdup(optarg); break;
		case OPT_USER: free(s->user); s->user = fb_xstrdup(optarg); break;
		case OPT_WORKDIR:
			if (optarg[0] != '/') {
				fb_tool_usage_error("--workdir %s: must be absolute", optarg);
				return EXIT_OWN;
			}
			free(s->workdir);
			s->workdir = fb_xstrdup(optarg);
			break;
		case OPT_ENV:
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fb_tool_usage_error("--env %s: expected NAME=VALUE", optarg);
				return EXIT_OWN;
			}
			fb_strv_push(&s->env, optarg);
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "none") && strcmp(optarg, "host")) {
				fb_tool_usage_error("--network %s: expected none or host", optarg);
				return EXIT_OWN;
			}
			s->net_none = !strcmp(optarg, "none");
			break;
		case OPT_HOSTNAME: free(s->hostname); s->hostname = fb_xstrdup(optarg); break;
		case OPT_TIMEOUT: {
			char *end;
			s->timeout = strtod(optarg, &end);
			if (*end || s->timeout <= 0) {
				fb_tool_usage_error("--timeout %s: expected seconds", optarg);
				return EXIT_OWN;
			}
			break;
		}
		default:
			fb_tool_bad_option(argv);
			return EXIT_OWN;
		}
	}
	for (int i = optind; i < argc; i++)
		fb_strv_push(&s->args, argv[i]);
	if (s->args.n && !s->root) {
		fb_tool_usage_error("--root is required");
		return EXIT_OWN;
	}
	return -1;
}

/* A spec on stdin: the command writes to stderr, stdout gets the document
 * with .exec_result. */
static int run_spec(enum fb_devices_mode devmode)
{
	struct fb_err err = { 0 };
	struct fb_exec_spec s FB_AUTOEXECSPEC = { 0 };
	struct fb_doc *doc FB_AUTODOC = NULL;
	int r = fb_exec_spec_read(0, &doc, &s, &err);
	if (r > 0) {
		struct fb_doc *d = doc;
		doc = NULL;
		return fb_doc_pass_error(d);
	}
	if (r < 0) {
		FB_IGNORE(fb_tool_fail(&err)); /* its own failures are 125, whatever the error's code */
		return EXIT_OWN;
	}
	int result_fd = dup(1);
	if (result_fd < 0 || dup2(2, 1) < 0)
		return EXIT_OWN;
	int code = 0, rc;
	double secs = 0;
	if (run(&s, devmode, &code, &secs, &err) < 0) {
		fb_log_failure(&err);
		rc = code ? code : EXIT_OWN;
	} else {
		rc = code;
	}
	struct fb_exec_result res = { .exit_code = rc, .seconds = secs, .timed_out = rc == EXIT_TIMEOUT,
				      .error = err.msg[0] ? err.msg : NULL };
	fb_exec_result_set(doc, &res);
	FB_AUTOFREE char *text = fb_doc_dump(doc, isatty(result_fd));
	size_t len = strlen(text);
	if (write(result_fd, text, len) != (ssize_t)len || write(result_fd, "\n", 1) != 1)
		rc = rc ? rc : EXIT_OWN;
	close(result_fd);
	return rc;
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-exec");
	/* which device allowlist: auto, or one forced (tests, operators) */
	enum fb_devices_mode devmode;
	struct fb_err err = { 0 };
	if (fb_devices_mode_parse(getenv("FB_EXEC_DEVICES"), &devmode, &err) < 0) {
		fb_tool_usage_error("FB_EXEC_DEVICES: %s", err.msg);
		return EXIT_OWN;
	}
	struct fb_exec_spec s FB_AUTOEXECSPEC = { 0 };
	int rc = parse_flags(argc, argv, &s);
	if (rc >= 0)
		return rc;
	if (!s.args.n)
		return run_spec(devmode);
	int code = 0;
	double secs = 0;
	if (run(&s, devmode, &code, &secs, &err) < 0) {
		fb_log_failure(&err);
		return code ? code : EXIT_OWN;
	}
	return code;
}
