/* fb-init: PID 1 in every VM (docs/config-drive.md). Static (musl), no
 * library of ours: it must run in images with no shell and no libc.
 *
 * Mounts what a workload expects, reads the config drive (/dev/vdb: one
 * JSON object, NUL padded), sets the hostname, /etc/hosts, resolv.conf and
 * lo, writes the environment to /etc/profile.d/run-env.sh, runs
 * ENTRYPOINT+CMD as USER in WORKDIR on the console, forwards signals, reaps
 * zombies, turns a stop request from the host (the control port) into the
 * image's STOPSIGNAL and then SIGKILL after the grace period, and when the
 * workload ends reports its exit code on the control port and the console,
 * syncs and powers off. It never returns; a failure before the workload
 * starts is reported the same way (exit 125/126/127 and a message). */
#include "fb-init.h"
#include "fb-io.h"
#include <sched.h>
#include <sys/syscall.h>

/* What the workload's process does before its exec, on a stack of its
 * own in fb-init's memory (clone with CLONE_VM | CLONE_VFORK: fb-init
 * waits until the exec or the end). */
struct workload {
	const struct user *u;
	const char *wd;
	char **args, **env;
	int *rep;
};
static char g_child_stack[64 * 1024] __attribute__((aligned(16)));
/* the 32-bit ids' calls where the plain ones take 16 bits (i386, arm) */
#ifdef SYS_setuid32
#define SYS_SETUID SYS_setuid32
#define SYS_SETGID SYS_setgid32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETUID SYS_setuid
#define SYS_SETGID SYS_setgid
#define SYS_SETGROUPS SYS_setgroups
#endif

static int start_workload(void *arg)
{
	const struct workload *w = arg;
	const struct user *u = w->u;
	close(w->rep[0]);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* its own session on the console: ^C there is its SIGINT */
	setsid();
	ioctl(0, TIOCSCTTY, 0);
	int e = 0;
	const char *what = "";
	/* the system calls themselves: this process is alone in its memory
	 * (fb-init waits), so musl's way of setting every thread's ids (a
	 * synccall, ~40 blocks of code for a TCG guest to translate) is not
	 * needed, nor right for a clone that is not one of its threads */
	if (syscall(SYS_SETGROUPS, (long)u->ngroups, u->groups) < 0 || syscall(SYS_SETGID, (long)u->gid) < 0 ||
	    syscall(SYS_SETUID, (long)u->uid) < 0)
		e = errno, what = "user";
	else if (chdir(w->wd) < 0)
		e = errno, what = "workdir";
	if (!e) {
		exec_in_path(w->args, w->env);
		e = errno, what = "exec";
	}
	char msg[512];
	int code = !strcmp(what, "exec") ? (e == ENOENT ? 127 : 126) : 125;
	snprintf(msg, sizeof(msg), "%c%s %s: %s", code, what,
		 !strcmp(what, "exec") ? w->args[0] : !strcmp(what, "workdir") ? w->wd : u->name, strerror(e));
	if (write(w->rep[1], msg, strlen(msg)) < 0) {
		/* the parent sees the exit code anyway */
	}
	_exit(code);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (getpid() != 1) {
		fprintf(stderr, "fb-init: runs as PID 1 in a VM (docs/config-drive.md)\n");
		return 2;
	}
	/* fb-runtime's VMs: /init of an initramfs holding the OCI config */
	if (access(FB_OCI_CONFIG, F_OK) == 0)
		oci_main();
	umask(022);
	/* Ctrl-Alt-Del (Firecracker's SendCtrlAltDel) becomes SIGINT to us: a
	 * stop request, not an immediate reboot */
	reboot(RB_DISABLE_CAD);
	/* the kernel gives init the command line's unknown key=value words */
	g_trace = getenv("fb_init_trace") != NULL;
	trace("start");
	mnt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	/* the kernel mounted it when the image has a /dev (fb-jail prepare
	 * makes one): nosuid, as ours would be */
	if (!mounted("/dev", "/"))
		mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	else if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID, NULL) < 0)
		say("fb-init: warning: remount /dev nosuid: %s", strerror(errno));
	mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	mnt("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mnt("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mnt("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	if (access("/dev/ptmx", F_OK) != 0)
		symlink("pts/ptmx", "/dev/ptmx");
	trace("mounted");

	char *text = read_config();
	struct jp jp = { text, text + strlen(text), 0 };
	struct jval cfg;
	if (jvalue(&jp, &cfg) < 0 || cfg.t != J_OBJ)
		fail(125, "config drive %s: not a JSON object", CONFIG_DEV);

	trace("config read");
	const struct jval *discard = jget(&cfg, "discard_root");
	g_discard_root = discard && discard->t == J_BOOL && discard->b;
	const char *hostname = jstr(&cfg, "hostname");
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		say("fb-init: warning: sethostname: %s", strerror(errno));
	/* fb-jail prepare wrote /etc/hosts and run-env.sh into the VM's copy:
	 * etc_written when the host knows they are as this config says (the
	 * copy's first boot), else they are compared and what differs written */
	const struct jval *ew = jget(&cfg, "etc_written");
	bool etc_written = ew && ew->t == J_BOOL && ew->b;
	char *hosts = etc_written ? NULL : fb_etc_hosts(hostname);
	if (hosts && !has_text("/etc/hosts", hosts)) {
		mkdir("/etc", 0755);
		write_file("/etc/hosts", hosts, 0644);
	}
	free(hosts);
	size_t ndns;
	char **dns = jstrv(&cfg, "dns", &ndns);
	if (ndns) {
		char rc[2048] = "";
		for (size_t i = 0; i < ndns; i++)
			snprintf(rc + strlen(rc), sizeof(rc) - strlen(rc), "nameserver %s\n", dns[i]);
		write_file("/etc/resolv.conf", rc, 0644);
	}
	free(dns);
	lo_up();
	const struct jval *net = jget(&cfg, "network");
	const struct jval *ifl = jget(net, "interfaces");
	for (size_t i = 0; ifl && ifl->t == J_ARR && i < ifl->n; i++)
		configure_if(&ifl->v[i]);

	size_t ne, nep, ncmd;
	char **env = jstrv(&cfg, "env", &ne);
	char **ep = jstrv(&cfg, "entrypoint", &nep);
	char **cmd = jstrv(&cfg, "cmd", &ncmd);
	if (!etc_written)
		write_env(env);
	setup_ssh(&cfg);
	char **args = calloc(nep + ncmd + 1, sizeof(char *));
	size_t na = 0;
	for (size_t i = 0; i < nep; i++)
		args[na++] = ep[i];
	for (size_t i = 0; i < ncmd; i++)
		args[na++] = cmd[i];
	if (!na)
		fail(125, "no command: the image has no ENTRYPOINT or CMD, and none was given after --");
	struct user u;
	/* prepare resolved it in the fresh copy; else the image's files here */
	const struct jval *ids = jget(&cfg, "ids");
	if (!ids || ids->t != J_OBJ || !ids_user(ids, jstr(&cfg, "user"), &u))
		resolve_user(jstr(&cfg, "user"), &u);
	const char *wd = jstr(&cfg, "workdir");
	if (!wd || !*wd)
		wd = "/";
	int stopsig = sig_by_name(jstr(&cfg, "stop_signal"));
	const struct jval *to = jget(&cfg, "stop_timeout");
	int grace = to && to->t == J_NUM ? (int)to->num : 10;
	/* HOME when the image did not set one */
	if (!env_get(env, "HOME")) {
		char **e2 = calloc(ne + 2, sizeof(char *));
		memcpy(e2, env, ne * sizeof(char *));
		char *h = malloc(strlen(u.home) + 6);
		memcpy(h, "HOME=", 5);
		strcpy(h + 5, u.home);
		e2[ne++] = h;
		env = e2;
	}

	trace("configured");
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	int sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	/* a failed exec reports through this pipe (closed on a good exec) */
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0)
		fail(125, "pipe: %s", strerror(errno));
	struct workload w = { &u, wd, args, env, rep };
	/* the memory shared and this process stopped until the exec, as
	 * posix_spawn does: no page tables copied, no copy-on-write faults
	 * after (a fork was 4-10 ms of a TCG guest before its workload) */
	pid_t child = clone(start_workload, g_child_stack + sizeof(g_child_stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &w);
	if (child < 0)
		fail(125, "clone: %s", strerror(errno));
	close(rep[1]);
	trace("forked");
	char msg[512];
	ssize_t mn = read(rep[0], msg, sizeof(msg) - 1);
	close(rep[0]);
	if (mn > 0) {
		msg[mn] = '\0';
		waitpid(child, NULL, 0);
		fail((unsigned char)msg[0], "%s", msg + 1);
	}
	/* The control port's open and the report are 2-5 ms of a TCG guest:
	 * after the workload's exec, not before it (fail opens it when it
	 * must), and not in its first moments either. Woken by the exec, this
	 * process ran them at once, and the workload, back from its first
	 * reads, waited for that open to return: a line printed at once came
	 * 7.8 ms after the clone, and comes 3.9 ms after it now. The workload
	 * has its first 15 ms to itself, or until a signal comes (its end, a
	 * stop: the signal stays pending for the loop below); a stop request
	 * from the host waits for "started". */
	struct pollfd first = { sfd, POLLIN, 0 };
	poll(&first, 1, 15);
	g_ctl = open_ctl();
	trace("control port");
	ctl_send("started %d", (int)child);
	trace("reported");
	trace_flush();

	/* supervise: signals, the host's stop request, zombies */
	time_t kill_at = 0;
	char ctlbuf[256];
	size_t ctllen = 0;
	for (;;) {
		struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { g_ctl, POLLIN, 0 } };
		int timeout = kill_at ? 250 : -1;
		poll(pf, g_ctl >= 0 ? 2 : 1, timeout);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			int sig = (int)si.ssi_signo;
			if (sig == SIGCHLD)
				continue;
			if (sig == SIGINT && si.ssi_pid == 0 && !kill_at) {
				/* from the kernel: Ctrl-Alt-Del, the VMM's stop request */
				say("fb-init: stop requested (Ctrl-Alt-Del): sending signal %d, SIGKILL in %d s", stopsig, grace);
				kill(-child, stopsig);
				kill(child, stopsig);
				kill_at = time(NULL) + grace;
				continue;
			}
			/* what the kernel sends PID 1 goes to the workload */
			kill(child, sig);
		}
		if (g_ctl >= 0 && (pf[1].revents & POLLIN)) {
			ssize_t n = read(g_ctl, ctlbuf + ctllen, sizeof(ctlbuf) - 1 - ctllen);
			if (n > 0) {
				ctllen += (size_t)n;
				ctlbuf[ctllen] = '\0';
				char *nl;
				while ((nl = strchr(ctlbuf, '\n'))) {
					*nl = '\0';
					if (!strcmp(ctlbuf, "stop") && !kill_at) {
						say("fb-init: stop requested: sending signal %d, SIGKILL in %d s", stopsig, grace);
						kill(-child, stopsig);
						kill(child, stopsig);
						kill_at = time(NULL) + grace;
					}
					size_t rest = ctllen - (size_t)(nl + 1 - ctlbuf);
					memmove(ctlbuf, nl + 1, rest + 1);
					ctllen = rest;
				}
				if (ctllen >= sizeof(ctlbuf) - 1)
					ctllen = 0;
			}
		}
		if (kill_at && time(NULL) >= kill_at) {
			say("fb-init: the workload did not stop in %d s: SIGKILL", grace);
			kill(-child, SIGKILL);
			kill(child, SIGKILL);
			kill_at = time(NULL) + 3600;
		}
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			if (p == child) {
				int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				/* what is left of its session goes with it */
				kill(-child, SIGKILL);
				while (waitpid(-1, NULL, WNOHANG) > 0)
					;
				power_off(code);
			}
		}
	}
}
