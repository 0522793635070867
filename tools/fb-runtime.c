/* fb-runtime: the OCI runtime command line (runtime-spec runtime.md and
 * runc's conventions, which podman's conmon and containerd's runc shim
 * use) over firebuild's microVMs: each container is a VM whose root is the
 * bundle's rootfs directory, whose init is fb-init, and whose "process"
 * on the host is fb-runtime's supervisor (fb-runtime-sup.c).
 *
 *   fb-runtime [--root DIR] [--log FILE] [--log-format text|json]
 *              [--systemd-cgroup] COMMAND ...
 *   create --bundle DIR [--pid-file F] [--console-socket S] ID
 *   start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID
 *   run --bundle DIR [--pid-file F] [--console-socket S] ID
 *   exec [--detach] [--tty] [--pid-file F] [--console-socket S] --process F ID | ID CMD...
 *   ps [--format table|json] ID | list [--format table|json] [-q] | features
 *
 * State: <root>/<id>/state.json (default root /run/fb-runtime), the
 * supervisor's socket sup.sock, console.log and supervisor.log beside it.
 * Errors are runc's words on stderr (and in --log), exit status 1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "store.h"
#include "tcredirect.h"
#include "tool.h"
#include "tree.h"
#include "util.h"

#include "fb-runtime.h"

static const char usage[] =
	"Usage: fb-runtime [GLOBAL FLAGS] COMMAND [FLAGS] ID ...\n"
	"An OCI runtime (runc's command line) that runs each container as a microVM:\n"
	"QEMU -M microvm with the bundle's rootfs shared over virtio-9p, fb-init as\n"
	"init, jailed; podman --runtime, containerd's runc shim (BinaryName) and\n"
	"Kubernetes (RuntimeClass) use it as they use runc.\n"
	"\n"
	"Commands:\n"
	"  create --bundle DIR [--pid-file F] [--console-socket S] ID   boot the VM, the\n"
	"                      container \"created\" (its process waits for start)\n"
	"  start ID            run the container's process\n"
	"  run --bundle DIR [--pid-file F] [--console-socket S] [--keep] ID   create,\n"
	"                      start, wait (the exit status is the container's), delete\n"
	"  state ID            the runtime-spec state (JSON)\n"
	"  kill [--all] ID [SIGNAL]   a signal to the container's process (SIGTERM);\n"
	"                      SIGKILL ends the VM at once\n"
	"  delete [--force] ID remove a stopped (or created) container; --force kills it first\n"
	"  exec [--detach] [--tty] [--pid-file F] [--console-socket S] (--process F ID | ID CMD...)\n"
	"                      another process in the container\n"
	"  pause ID, resume ID the whole VM stops (SIGSTOP to its VMM) and goes on\n"
	"  ps [--format table|json] ID, list [--format table|json] [--quiet], features\n"
	"Global flags: --root DIR (/run/fb-runtime), --log FILE, --log-format text|json,\n"
	"  --systemd-cgroup, --debug (accepted), --help, --version\n"
	"The VM: annotations org.firebuild.kernel (a vmlinux path), org.firebuild.vmm\n"
	"(qemu), org.firebuild.kernel-args; linux.resources: CPU quota/period -> vCPUs,\n"
	"memory limit -> guest memory; defaults from $FB_RUNTIME_CONFIG or\n"
	"/etc/firebuild/runtime.json ({kernel, store, chroot_base, mem, cpu, kernel_args}).\n";

static bool sup_alive(const struct fb_rt_state *st)
{
	return st->pid > 0 && st->supervisor_start > 0 && rt_proc_start((pid_t)st->pid) == (unsigned long long)st->supervisor_start;
}

/* The status as it is now: a supervisor gone means stopped. */
static char *live_status(const struct fb_rt_state *st)
{
	const char *s = st->status ? st->status : "stopped";
	return fb_xstrdup(strcmp(s, "stopped") && !sup_alive(st) ? "stopped" : s);
}

/* The container's state, or an error "container does not exist". */
static int load(struct rt_ctx *c, struct fb_rt_state *st)
{
	struct fb_err e = { 0 };
	if (rt_state_load(c->dir, st, &e) < 0)
		return rt_fail(c, "container does not exist");
	return 0;
}

/* ---- flags: runc's (urfave/cli): -f and --f, "--f=v" and "--f v" ---- */

struct flag {
	const char *name, *alias;
	bool takes_value;
	const char **value; /* for value flags */
	bool *set;          /* for switches */
};

/* Parse argv[*i..] flags up to the first operand; 0, or 1 after an error. */
static int parse_flags(struct rt_ctx *c, const char *cmd, int argc, char **argv, int *i, struct flag *fl)
{
	while (*i < argc && argv[*i][0] == '-' && argv[*i][1]) {
		char *a = argv[*i];
		if (!strcmp(a, "--")) {
			(*i)++;
			break;
		}
		const char *n = a + (a[1] == '-' ? 2 : 1);
		const char *eq = strchr(n, '=');
		size_t nl = eq ? (size_t)(eq - n) : strlen(n);
		struct flag *f = NULL;
		for (struct flag *k = fl; k && k->name && !f; k++)
			if ((strlen(k->name) == nl && !strncmp(k->name, n, nl)) ||
			    (k->alias && strlen(k->alias) == nl && !strncmp(k->alias, n, nl)))
				f = k;
		if (!f)
			return rt_fail(c, "%s: flag provided but not defined: %s", cmd, a);
		if (f->takes_value) {
			if (eq) {
				*f->value = eq + 1;
			} else if (*i + 1 < argc) {
				*f->value = argv[++*i];
			} else {
				return rt_fail(c, "%s: flag needs an argument: %s", cmd, a);
			}
		} else if (f->set) {
			*f->set = !eq || strcmp(eq + 1, "false");
		}
		(*i)++;
	}
	return 0;
}

static int one_id(struct rt_ctx *c, const char *cmd, int argc, char **argv, int i, int max_extra)
{
	if (i >= argc)
		return rt_fail(c, "\"%s\" requires a container id", cmd);
	if (argc - i - 1 > max_extra)
		return rt_fail(c, "\"%s\": unexpected argument %s", cmd, argv[i + 1 + max_extra]);
	const char *id = argv[i];
	if (!rt_valid_id(id))
		return rt_fail(c, "invalid container id format: %s", id);
	c->id = id;
	c->dir = fb_xasprintf("%s/%s", c->root, id);
	if (!c->creating)
		rt_maybe_runc(c);
	return 0;
}

/* runc, with our global flags and the command as it came. */
static void __attribute__((noreturn)) to_runc(struct rt_ctx *c)
{
	struct fb_err err = { 0 };
	struct fb_rt_settings set;
	const char *runc = "runc";
	if (rt_settings_load(&set, &err) == 0 && set.runc)
		runc = set.runc;
	struct fb_strv a = FB_STRV_INIT;
	fb_strv_push(&a, runc);
	fb_strv_push(&a, "--root");
	fb_strv_push_owned(&a, fb_xasprintf("%s/.runc", c->root));
	if (c->log_path) {
		fb_strv_push(&a, "--log");
		fb_strv_push(&a, c->log_path);
		fb_strv_push(&a, "--log-format");
		fb_strv_push(&a, c->log_format);
	}
	if (c->systemd_cgroup)
		fb_strv_push(&a, "--systemd-cgroup");
	for (int i = c->cmd_index; i < c->argc; i++)
		fb_strv_push(&a, c->argv[i]);
	fflush(NULL);
	execvp(a.v[0], a.v);
	rt_fail(c, "%s (for a container runc runs): %s", runc, strerror(errno));
	exit(1);
}

void rt_maybe_runc(struct rt_ctx *c)
{
	char *p = fb_xasprintf("%s/.runc/%s", c->root, c->id);
	bool runc = access(p, F_OK) == 0;
	free(p);
	if (runc)
		to_runc(c);
}

/* Does the bundle ask for runc (a pod's sandbox, or the annotation)? A
 * bundle that cannot be read is not: create says what is wrong with it. */
static bool bundle_for_runc(const char *bundle)
{
	FB_AUTOFREE char *p = fb_xasprintf("%s/config.json", bundle);
	struct fb_rt_spec spec FB_AUTORTSPEC = { 0 };
	struct fb_err e = { 0 };
	if (fb_rt_spec_load(p, &spec, &e) < 0)
		return false;
	const char *t = fb_rt_map_get(&spec.annotations, "io.kubernetes.cri.container-type");
	const char *o = fb_rt_map_get(&spec.annotations, "org.firebuild.runtime");
	return (t && !strcmp(t, "sandbox")) || (o && !strcmp(o, "runc"));
}

static int write_pid_file(const char *path, pid_t pid, struct fb_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	return fb_write_file_atomic(path, buf, (size_t)n, 0644, err);
}

/* ---- the commands ---- */

static void remove_leftovers(struct rt_ctx *c, const struct fb_rt_state *st);

/* create (and run): the supervisor boots the VM; "created" once fb-init is ready. */
static int cmd_create(struct rt_ctx *c, int argc, char **argv, int i, bool and_run)
{
	const char *bundle = ".", *pid_file = NULL, *console = NULL, *preserve = NULL;
	bool nopivot = false, nokeyring = false, detach = false, keep = false;
	struct flag fl[] = {
		{ "bundle", "b", true, &bundle, NULL },	       { "pid-file", NULL, true, &pid_file, NULL },
		{ "console-socket", NULL, true, &console, NULL }, { "preserve-fds", NULL, true, &preserve, NULL },
		{ "no-pivot", NULL, false, NULL, &nopivot },	  { "no-new-keyring", NULL, false, NULL, &nokeyring },
		{ "detach", "d", false, NULL, &detach },	  { "keep", NULL, false, NULL, &keep },
		{ NULL, NULL, false, NULL, NULL },
	};
	const char *cmd = and_run ? "run" : "create";
	c->creating = true;
	if (parse_flags(c, cmd, argc, argv, &i, fl) || one_id(c, cmd, argc, argv, i, 0))
		return 1;
	if (bundle_for_runc(bundle)) {
		char *ours = fb_xasprintf("%s/%s", c->root, c->id);
		bool taken = access(ours, F_OK) == 0;
		free(ours);
		if (taken)
			return rt_fail(c, "container with given ID already exists");
		to_runc(c);
	}
	char *theirs = fb_xasprintf("%s/.runc/%s", c->root, c->id);
	bool taken = access(theirs, F_OK) == 0;
	free(theirs);
	if (taken)
		return rt_fail(c, "container with given ID already exists");
	struct fb_err err = { 0 };
	struct fb_rt_settings set;
	struct rt_bundle b;
	if (rt_settings_load(&set, &err) < 0)
		return rt_fail(c, "%s", err.msg);
	if (rt_bundle_load(bundle, &set, &b, &err) < 0) {
		rt_settings_free(&set);
		rt_bundle_free(&b);
		return rt_fail(c, "%s", err.msg);
	}
	rt_settings_free(&set);
	if (b.terminal && !console && !and_run) {
		rt_bundle_free(&b);
		return rt_fail(c, "cannot allocate tty if runc will detach without setting console socket");
	}
	if (fb_mkdir_p(c->root, 0711, &err) < 0) {
		rt_bundle_free(&b);
		return rt_fail(c, "%s", err.msg);
	}
	if (mkdir(c->dir, 0711) < 0) {
		int e = errno;
		rt_bundle_free(&b);
		return e == EEXIST ? rt_fail(c, "container with given ID already exists") : rt_fail(c, "%s: %s", c->dir, strerror(e));
	}
	int ready = -1;
	pid_t sup = rt_supervisor_fork(c, &b, console, &ready, &err);
	rt_bundle_free(&b);
	if (sup < 0) {
		fb_tree_remove(c->dir);
		return rt_fail(c, "%s", err.msg);
	}
	char line[2048];
	if (rt_read_line(ready, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "error the supervisor ended (see %s/supervisor.log)", c->dir);
	close(ready);
	if (strcmp(line, "ok")) {
		waitpid(sup, NULL, 0);
		/* FB_RUNTIME_KEEP_FAILED=DIR: its console and log go there first */
		const char *kf = getenv("FB_RUNTIME_KEEP_FAILED");
		if (kf && *kf) {
			char *dst = fb_xasprintf("%s/%s", kf, c->id);
			rename(c->dir, dst);
			free(dst);
		}
		fb_tree_remove(c->dir);
		return rt_fail(c, "%s", fb_str_has_prefix(line, "error ") ? line + 6 : line);
	}
	if (pid_file && write_pid_file(pid_file, sup, &err) < 0)
		return rt_fail(c, "--pid-file: %s", err.msg);
	if (!and_run)
		return 0;
	int fd = rt_sup_connect(c->dir);
	if (fd < 0 || rt_send_line(fd, "start", NULL, 0) < 0 || rt_read_line(fd, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "error the container ended before it started");
	if (fd >= 0)
		close(fd);
	if (strcmp(line, "ok"))
		rt_fail(c, "%s", line + 6);
	int st = 0;
	while (waitpid(sup, &st, 0) < 0 && errno == EINTR)
		;
	/* run deletes what it ran, as runc's does (--keep: it stays, stopped) */
	struct fb_rt_state last FB_AUTORTSTATE = { 0 };
	if (!keep && rt_state_load(c->dir, &last, &err) == 0)
		remove_leftovers(c, &last);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_start(struct rt_ctx *c, int argc, char **argv, int i)
{
	if (parse_flags(c, "start", argc, argv, &i, NULL) || one_id(c, "start", argc, argv, i, 0))
		return 1;
	struct fb_rt_state st FB_AUTORTSTATE = { 0 };
	if (load(c, &st))
		return 1;
	char *s = live_status(&st);
	int r = 0;
	if (!strcmp(s, "running"))
		r = rt_fail(c, "cannot start an already running container");
	else if (!strcmp(s, "stopped"))
		r = rt_fail(c, "cannot start a container that has stopped");
	free(s);
	if (r)
		return r;
	char line[2048];
	int fd = rt_sup_connect(c->dir);
	if (fd < 0 || rt_send_line(fd, "start", NULL, 0) < 0 || rt_read_line(fd, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "error cannot start a container that has stopped");
	if (fd >= 0)
		close(fd);
	return strcmp(line, "ok") ? rt_fail(c, "%s", fb_str_has_prefix(line, "error ") ? line + 6 : line) : 0;
}

/* JSON text on stdout (consumed). */
static int print_json(char *t)
{
	printf("%s\n", t);
	free(t);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

static int cmd_state(struct rt_ctx *c, int argc, char **argv, int i)
{
	if (parse_flags(c, "state", argc, argv, &i, NULL) || one_id(c, "state", argc, argv, i, 0))
		return 1;
	struct fb_rt_state st FB_AUTORTSTATE = { 0 };
	if (load(c, &st))
		return 1;
	FB_AUTOFREE char *s = live_status(&st);
	return print_json(fb_rt_state_public(&st, s));
}

static int parse_signal(const char *s)
{
	static const struct {
		const char *n;
		int v;
	} t[] = { { "HUP", SIGHUP },	 { "INT", SIGINT },	{ "QUIT", SIGQUIT },	{ "ILL", SIGILL },     { "TRAP", SIGTRAP },
		  { "ABRT", SIGABRT },	 { "BUS", SIGBUS },	{ "FPE", SIGFPE },	{ "KILL", SIGKILL },   { "USR1", SIGUSR1 },
		  { "SEGV", SIGSEGV },	 { "USR2", SIGUSR2 },	{ "PIPE", SIGPIPE },	{ "ALRM", SIGALRM },   { "TERM", SIGTERM },
		  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },	{ "STOP", SIGSTOP },   { "TSTP", SIGTSTP },
		  { "TTIN", SIGTTIN },	 { "TTOU", SIGTTOU },	{ "URG", SIGURG },	{ "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },
		  { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },	       { "PWR", SIGPWR },
		  { "SYS", SIGSYS } };
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end)
		return n > 0 && n < 65 ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < FB_ARRAY_LEN(t); i++)
		if (!strcasecmp(s, t[i].n))
			return t[i].v;
	return -1;
}

static int cmd_kill(struct rt_ctx *c, int argc, char **argv, int i)
{
	bool all = false;
	struct flag fl[] = { { "all", "a", false, NULL, &all }, { NULL, NULL, false, NULL, NULL } };
	if (parse_flags(c, "kill", argc, argv, &i, fl) || one_id(c, "kill", argc, argv, i, 1))
		return 1;
	int sig = i + 1 < argc ? parse_signal(argv[i + 1]) : SIGTERM;
	if (sig < 0)
		return rt_fail(c, "unknown signal \"%s\"", argv[i + 1]);
	struct fb_rt_state st FB_AUTORTSTATE = { 0 };
	if (load(c, &st))
		return 1;
	char *s = live_status(&st);
	bool stopped = !strcmp(s, "stopped");
	free(s);
	long long pid = st.pid;
	if (stopped)
		return rt_fail(c, "container not running");
	char req[64], line[256];
	snprintf(req, sizeof(req), "kill %d%s", sig, all ? " all" : "");
	if (rt_sup_request(c->dir, req, line, sizeof(line), RT_SUP_TIMEOUT) < 0) {
		/* no answer: the supervisor is the container's process, the
		 * signal goes to it (it forwards what it gets) */
		if (kill((pid_t)pid, sig) < 0)
			return rt_fail(c, "container not running");
		return 0;
	}
	return strcmp(line, "ok") ? rt_fail(c, "%s", fb_str_has_prefix(line, "error ") ? line + 6 : line) : 0;
}

/* pause and resume: the VM stops as a whole (SIGSTOP to its VMM), and goes on. */
static int cmd_pause(struct rt_ctx *c, int argc, char **argv, int i, bool pause)
{
	const char *cmd = pause ? "pause" : "resume";
	if (parse_flags(c, cmd, argc, argv, &i, NULL) || one_id(c, cmd, argc, argv, i, 0))
		return 1;
	struct fb_rt_state st FB_AUTORTSTATE = { 0 };
	if (load(c, &st))
		return 1;
	char *s = live_status(&st);
	bool ok = !strcmp(s, pause ? "running" : "paused");
	free(s);
	if (!ok)
		return rt_fail(c, "container not %s", pause ? "running" : "paused");
	char line[256];
	if (rt_sup_request(c->dir, cmd, line, sizeof(line), RT_SUP_TIMEOUT) < 0)
		snprintf(line, sizeof(line), "error container not running");
	return strcmp(line, "ok") ? rt_fail(c, "%s", fb_str_has_prefix(line, "error ") ? line + 6 : line) : 0;
}

/* What a container left on the host: VMM, jail, cgroups, taps, its directory. */
static void remove_leftovers(struct rt_ctx *c, const struct fb_rt_state *st)
{
	if (st->vmm_pid > 0 && st->vmm_start > 0 && rt_proc_start((pid_t)st->vmm_pid) == (unsigned long long)st->vmm_start)
		kill((pid_t)st->vmm_pid, SIGKILL);
	const char *jd = st->jail_dir;
	if (jd && (strstr(jd, "/qemu-system-x86_64/") || strstr(jd, "/firecracker/")))
		fb_tree_remove(jd);
	for (size_t k = 0; k < st->cgroups.n; k++)
		if (fb_str_has_prefix(st->cgroups.v[k], "/sys/fs/cgroup/"))
			rmdir(st->cgroups.v[k]);
	if (st->netns && st->ntaps > 0) {
		/* in a child: this process stays in the host's namespace */
		pid_t p = fork();
		if (p == 0) {
			if (fb_netns_enter(st->netns) == 0)
				for (size_t k = 0; k < st->ntaps; k++)
					fb_tc_redirect_del(st->taps[k].ifname, st->taps[k].tap);
			_exit(0);
		}
		if (p > 0)
			waitpid(p, NULL, 0);
	}
	fb_tree_remove(c->dir);
}

static int cmd_delete(struct rt_ctx *c, int argc, char **argv, int i)
{
	bool force = false;
	struct flag fl[] = { { "force", "f", false, NULL, &force }, { NULL, NULL, false, NULL, NULL } };
	if (parse_flags(c, "delete", argc, argv, &i, fl) || one_id(c, "delete", argc, argv, i, 0))
		return 1;
	struct fb_rt_state st FB_AUTORTSTATE = { 0 };
	struct fb_err e = { 0 };
	if (rt_state_load(c->dir, &st, &e) < 0) {
		/* a create that died early may have left the directory alone */
		fb_tree_remove(c->dir);
		return force ? 0 : rt_fail(c, "container does not exist");
	}
	char *s = live_status(&st);
	if (!strcmp(s, "running") && !force) {
		int r = rt_fail(c, "cannot delete container %s that is not stopped: %s", c->id, s);
		free(s);
		return r;
	}
	if (strcmp(s, "stopped")) {
		/* created, or running with --force: the VM goes at once */
		char line[256];
		if (rt_sup_request(c->dir, "kill 9", line, sizeof(line), RT_SUP_TIMEOUT) < 0 && sup_alive(&st))
			kill((pid_t)st.pid, SIGKILL);
		for (int k = 0; k < 1000 && sup_alive(&st); k++)
			usleep(10000);
		if (sup_alive(&st))
			kill((pid_t)st.pid, SIGKILL);
		struct fb_rt_state last;
		if (rt_state_load(c->dir, &last, &e) == 0) {
			fb_rt_state_free(&st);
			st = last;
		}
	}
	free(s);
	remove_leftovers(c, &st);
	return 0;
}

static int cmd_features(struct rt_ctx *c, int argc, char **argv, int i)
{
	if (parse_flags(c, "features", argc, argv, &i, NULL))
		return 1;
	if (i < argc)
		return rt_fail(c, "\"features\": unexpected argument %s", argv[i]);
	static const char doc[] =
		"{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.1.0\",\"hooks\":[],"
		"\"mountOptions\":[\"async\",\"atime\",\"bind\",\"defaults\",\"dev\",\"diratime\",\"dirsync\",\"exec\",\"mand\","
		"\"noatime\",\"nodev\",\"nodiratime\",\"noexec\",\"nomand\",\"norelatime\",\"nostrictatime\",\"nosuid\","
		"\"private\",\"rbind\",\"relatime\",\"ro\",\"rprivate\",\"rshared\",\"rslave\",\"runbindable\",\"rw\","
		"\"shared\",\"slave\",\"strictatime\",\"suid\",\"sync\",\"unbindable\"],"
		"\"linux\":{\"namespaces\":[\"network\"],"
		"\"cgroup\":{\"v1\":true,\"v2\":true,\"systemd\":false,\"systemdUser\":false},"
		"\"seccomp\":{\"enabled\":false},\"apparmor\":{\"enabled\":false},\"selinux\":{\"enabled\":false}},"
		"\"annotations\":{\"org.firebuild.runtime\":\"fb-runtime\",\"org.firebuild.vmm\":\"qemu\","
		"\"org.firebuild.isolation\":\"microvm\"}}";
	struct fb_err e = { 0 };
	static char *const cn[] = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
					  "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
					  "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
					  "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
					  "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
					  "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
					  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
					  "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
					  "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE" };
	char *d = fb_rt_features_json(doc, cn, FB_ARRAY_LEN(cn), &e);
	if (!d)
		return rt_fail(c, "%s", e.msg);
	return print_json(d);
}

/* Every container under the root, its state and status as of now. */
struct states {
	struct fb_rt_state *v;
	struct fb_rt_state **p;
	char **status;
	size_t n;
};

static void all_states(struct rt_ctx *c, struct states *out)
{
	*out = (struct states){ 0 };
	DIR *d = opendir(c->root);
	struct dirent *e;
	struct fb_strv names FB_AUTOSTRV = FB_STRV_INIT;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			fb_strv_push(&names, e->d_name);
	if (d)
		closedir(d);
	fb_strv_sort(&names);
	out->v = fb_xcalloc(names.n + 1, sizeof(*out->v));
	out->p = fb_xcalloc(names.n + 1, sizeof(*out->p));
	out->status = fb_xcalloc(names.n + 1, sizeof(*out->status));
	for (size_t k = 0; k < names.n; k++) {
		FB_AUTOFREE char *dir = fb_xasprintf("%s/%s", c->root, names.v[k]);
		struct fb_err er = { 0 };
		if (rt_state_load(dir, &out->v[out->n], &er) == 0) {
			out->p[out->n] = &out->v[out->n];
			out->status[out->n] = live_status(&out->v[out->n]);
			out->n++;
		}
	}
}

static void states_free(struct states *s)
{
	for (size_t i = 0; i < s->n; i++) {
		fb_rt_state_free(&s->v[i]);
		free(s->status[i]);
	}
	free(s->v);
	free(s->p);
	free(s->status);
}

static int cmd_list(struct rt_ctx *c, int argc, char **argv, int i)
{
	const char *format = "table";
	bool quiet = false;
	struct flag fl[] = { { "format", "f", true, &format, NULL }, { "quiet", "q", false, NULL, &quiet }, { NULL, NULL, false, NULL, NULL } };
	if (parse_flags(c, "list", argc, argv, &i, fl))
		return 1;
	if (strcmp(format, "json") && strcmp(format, "table"))
		return rt_fail(c, "invalid format option");
	struct states l;
	all_states(c, &l);
	if (!strcmp(format, "json")) {
		int r = print_json(fb_rt_state_list((const struct fb_rt_state *const *)l.p, l.status, l.n));
		states_free(&l);
		return r;
	}
	if (!quiet)
		printf("%-12s %-10s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (size_t k = 0; k < l.n; k++) {
		const struct fb_rt_state *s = &l.v[k];
		const char *ids = s->id ? s->id : "";
		if (quiet)
			printf("%s\n", ids);
		else
			printf("%-12s %-10lld %-10s %-40s %-30s %s\n", ids, strcmp(l.status[k], "stopped") ? s->pid : 0, l.status[k],
			       s->bundle ? s->bundle : "", s->created ? s->created : "", "root");
	}
	states_free(&l);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_ps(struct rt_ctx *c, int argc, char **argv, int i)
{
	const char *format = "table";
	struct flag fl[] = { { "format", "f", true, &format, NULL }, { NULL, NULL, false, NULL, NULL } };
	if (parse_flags(c, "ps", argc, argv, &i, fl) || one_id(c, "ps", argc, argv, i, 64))
		return 1;
	struct fb_rt_state st FB_AUTORTSTATE = { 0 };
	if (load(c, &st))
		return 1;
	char *s = live_status(&st);
	bool stopped = !strcmp(s, "stopped");
	free(s);
	/* the host's processes of the container: the supervisor and its VMM */
	long long pids[2];
	size_t n = 0;
	if (!stopped) {
		pids[n++] = st.pid;
		if (st.vmm_pid > 0 && rt_proc_start((pid_t)st.vmm_pid) == (unsigned long long)st.vmm_start)
			pids[n++] = st.vmm_pid;
	}
	if (!strcmp(format, "json"))
		return print_json(fb_rt_pids_json(pids, n));
	printf("%-8s %s\n", "PID", "CMD");
	for (size_t k = 0; k < n; k++) {
		char path[64], cmdl[256] = "";
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pids[k]);
		FILE *f = fopen(path, "re");
		if (f) {
			if (!fgets(cmdl, sizeof(cmdl), f))
				cmdl[0] = '\0';
			fclose(f);
		}
		cmdl[strcspn(cmdl, "\n")] = '\0';
		printf("%-8d %s\n", (int)pids[k], cmdl);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-runtime");
	signal(SIGPIPE, SIG_IGN);
	struct rt_ctx c = { .root = "/run/fb-runtime" };
	const char *log_format = "text";
	bool dbg = false, systemd = false, help = false, version = false;
	const char *criu = NULL, *rootless = NULL;
	struct flag gl[] = {
		{ "root", NULL, true, &c.root, NULL },		 { "log", NULL, true, &c.log_path, NULL },
		{ "log-format", NULL, true, &log_format, NULL }, { "debug", NULL, false, NULL, &dbg },
		{ "systemd-cgroup", NULL, false, NULL, &systemd }, { "criu", NULL, true, &criu, NULL },
		{ "rootless", NULL, true, &rootless, NULL },	 { "help", "h", false, NULL, &help },
		{ "version", "v", false, NULL, &version },	 { NULL, NULL, false, NULL, NULL },
	};
	int i = 1;
	if (parse_flags(&c, "fb-runtime", argc, argv, &i, gl))
		return 1;
	c.log_json = !strcmp(log_format, "json");
	c.log_format = log_format;
	c.systemd_cgroup = systemd;
	c.argc = argc;
	c.argv = argv;
	c.cmd_index = i;
	if (help || (i < argc && !strcmp(argv[i], "help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (version) {
		printf("fb-runtime version %s\nspec: 1.1.0\n", FB_VERSION);
		return 0;
	}
	if (i >= argc)
		return rt_fail(&c, "expected a command (fb-runtime --help)");
	/* the run directory: an absolute path, as runc makes it */
	char rootabs[PATH_MAX];
	if (c.root[0] != '/') {
		if (strlen(c.root) + 2 >= sizeof(rootabs))
			return rt_fail(&c, "--root %.64s...: %s", c.root, strerror(ENAMETOOLONG));
		if (!getcwd(rootabs, sizeof(rootabs) - strlen(c.root) - 2))
			return rt_fail(&c, "--root %s: %s", c.root, strerror(errno));
		strcat(rootabs, "/");
		strcat(rootabs, c.root);
		c.root = rootabs;
	}
	const char *cmd = argv[i++];
	int rc;
	if (!strcmp(cmd, "create"))
		rc = cmd_create(&c, argc, argv, i, false);
	else if (!strcmp(cmd, "run"))
		rc = cmd_create(&c, argc, argv, i, true);
	else if (!strcmp(cmd, "start"))
		rc = cmd_start(&c, argc, argv, i);
	else if (!strcmp(cmd, "state"))
		rc = cmd_state(&c, argc, argv, i);
	else if (!strcmp(cmd, "kill"))
		rc = cmd_kill(&c, argc, argv, i);
	else if (!strcmp(cmd, "delete"))
		rc = cmd_delete(&c, argc, argv, i);
	else if (!strcmp(cmd, "features"))
		rc = cmd_features(&c, argc, argv, i);
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(&c, argc, argv, i);
	else if (!strcmp(cmd, "ps"))
		rc = cmd_ps(&c, argc, argv, i);
	else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
		rc = cmd_pause(&c, argc, argv, i, cmd[0] == 'p');
	else if (!strcmp(cmd, "exec"))
		rc = rt_cmd_exec(&c, argc - i + 1, argv + i - 1);
	else
		rc = rt_fail(&c, "unknown command %s (fb-runtime --help)", cmd);
	free(c.dir);
	return rc;
}
