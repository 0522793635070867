/* fb-init's OCI mode: the processes (the container's and exec's), each a
 * stream of the fb.io port: stdio made (a pty or pipes), then launched as
 * the runtime-spec says (rlimits, user, capabilities, cwd, no_new_privs),
 * its output sent as frames, its stdin written as it comes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fb-init.h"
#include "fb-io.h"

/* ---- processes ---- */


struct proc g_procs[MAX_PROCS];

struct proc *proc_of_stream(uint32_t stream)
{
	for (int i = 0; i < MAX_PROCS; i++)
		if (g_procs[i].used && g_procs[i].stream == stream)
			return &g_procs[i];
	return NULL;
}

static const struct {
	const char *name;
	int res;
} rlimits[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU },	    { "RLIMIT_FSIZE", RLIMIT_FSIZE },	  { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_STACK", RLIMIT_STACK },   { "RLIMIT_CORE", RLIMIT_CORE },	  { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_NOFILE", RLIMIT_NOFILE },	  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_AS", RLIMIT_AS },	    { "RLIMIT_LOCKS", RLIMIT_LOCKS },	  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

/* The capabilities a root process keeps: the bounding set's names. */
static const char *const cap_names[] = {
	"CAP_CHOWN",	      "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",	      "CAP_FSETID",
	"CAP_KILL",	      "CAP_SETGID",	  "CAP_SETUID",		 "CAP_SETPCAP",	      "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",	 "CAP_NET_RAW",	      "CAP_IPC_LOCK",
	"CAP_IPC_OWNER",      "CAP_SYS_MODULE",	  "CAP_SYS_RAWIO",	 "CAP_SYS_CHROOT",    "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",      "CAP_SYS_ADMIN",	  "CAP_SYS_BOOT",	 "CAP_SYS_NICE",      "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",	      "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",	 "CAP_LEASE",	      "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",  "CAP_SETFCAP",	  "CAP_MAC_OVERRIDE",	 "CAP_MAC_ADMIN",     "CAP_SYSLOG",
	"CAP_WAKE_ALARM",     "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",	 "CAP_PERFMON",	      "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

static uint64_t cap_mask(const struct jval *list)
{
	uint64_t m = 0;
	for (size_t i = 0; list && list->t == J_ARR && i < list->n; i++)
		for (size_t c = 0; c < sizeof(cap_names) / sizeof(cap_names[0]); c++)
			if (list->v[i].t == J_STR && !strcmp(list->v[i].s, cap_names[c]))
				m |= 1ull << c;
	return m;
}

struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

/* The process's capabilities as the spec's sets say (root: the bounding
 * set limits what exec gives; the effective, permitted and inheritable
 * sets are set for it). */
static void drop_bounding(const struct jval *caps)
{
	uint64_t bset = cap_mask(jget(caps, "bounding"));
	for (int c = 0; c < 64; c++) {
		if (bset & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno == EINVAL)
			break; /* past the last one this kernel knows */
	}
}

/* After the user is set (kept across setuid with PR_SET_KEEPCAPS). */
static int apply_caps(const struct jval *caps)
{
	uint64_t e = cap_mask(jget(caps, "effective")), p = cap_mask(jget(caps, "permitted")),
		 in = cap_mask(jget(caps, "inheritable"));
	struct cap_hdr h = { 0x20080522, 0 };
	struct cap_data d[2] = { { (uint32_t)e, (uint32_t)p, (uint32_t)in }, { (uint32_t)(e >> 32), (uint32_t)(p >> 32), (uint32_t)(in >> 32) } };
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	uint64_t amb = cap_mask(jget(caps, "ambient"));
	for (int c = 0; c < 64; c++)
		if (amb & (1ull << c))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
	return 0;
}

/* Is argv0 there to run (in PATH when it has no slash)? */
static bool findable(const char *argv0, char **env)
{
	struct stat st;
	if (strchr(argv0, '/'))
		return stat(argv0, &st) == 0;
	const char *path = env_get(env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (const char *p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char full[4096];
		snprintf(full, sizeof(full), "%.*s%s%s", (int)n, p, n ? "/" : "", argv0);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			return true;
		if (!e)
			return false;
		p = e;
	}
}

/* Run a runtime-spec process as stream; false (with ERROR and EXIT sent)
 * when it could not start. */
/* Its stdio made (a pty, or three pipes) before it runs: the container's
 * process gets them at create, so what the engine writes to a terminal
 * before start is echoed then, as runc's pty does. NULL (ERROR and EXIT
 * sent) when it cannot run. */
struct proc *proc_prepare(uint32_t stream, const struct jval *pr)
{
	int slot = -1;
	for (int i = 0; i < MAX_PROCS && slot < 0; i++)
		if (!g_procs[i].used)
			slot = i;
	if (slot < 0) {
		send_error(stream, 125, "too many processes in the container at once (%d)", MAX_PROCS);
		return NULL;
	}
	size_t na = 0, ne = 0;
	char **args = jstrv(pr, "args", &na), **env = jstrv(pr, "env", &ne);
	bool ok = na > 0;
	if (!na)
		send_error(stream, 125, "the process has no args");
	else if (!findable(args[0], env)) {
		/* runc's words, which engines look for */
		if (strchr(args[0], '/'))
			send_error(stream, 127, "exec: \"%s\": stat %s: no such file or directory", args[0], args[0]);
		else
			send_error(stream, 127, "exec: \"%s\": executable file not found in $PATH", args[0]);
		ok = false;
	}
	free(args);
	free(env);
	if (!ok)
		return NULL;
	struct proc *p = &g_procs[slot];
	*p = (struct proc){ .stream = stream, .pr = pr, .in = -1, .out = -1, .err = -1, .master = -1, .cin = -1, .cout = -1, .cerr = -1,
			    .used = true };
	if (jbool(pr, "terminal")) {
		p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (p->master < 0 || grantpt(p->master) < 0 || unlockpt(p->master) < 0 ||
		    ptsname_r(p->master, p->slave, sizeof(p->slave)) != 0) {
			send_error(stream, 125, "a terminal for the process: %s", strerror(errno));
			if (p->master >= 0)
				close(p->master);
			memset(p, 0, sizeof(*p));
			return NULL;
		}
		const struct jval *cs = jget(pr, "consoleSize");
		struct winsize ws = { (unsigned short)jnum(cs, "height", 24), (unsigned short)jnum(cs, "width", 80), 0, 0 };
		ioctl(p->master, TIOCSWINSZ, &ws);
		/* the slave held open meanwhile: input to it is echoed */
		p->cin = open(p->slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	} else {
		int in[2], out[2], er[2];
		if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
			send_error(stream, 125, "pipes for the process: %s", strerror(errno));
			memset(p, 0, sizeof(*p));
			return NULL;
		}
		p->in = in[1], p->cin = in[0], p->out = out[0], p->cout = out[1], p->err = er[0], p->cerr = er[1];
	}
	int fds[4] = { p->in, p->out, p->err, p->master };
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFL, O_NONBLOCK);
	return p;
}

void proc_free(struct proc *p)
{
	int fds[7] = { p->in, p->out, p->err, p->master, p->cin, p->cout, p->cerr };
	for (int i = 0; i < 7; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(p->pend);
	memset(p, 0, sizeof(*p));
}

/* Run it; false (ERROR and EXIT sent, the slot freed) when it could not. */
bool proc_launch(struct proc *p)
{
	const struct jval *pr = p->pr;
	uint32_t stream = p->stream;
	size_t na = 0, ne = 0;
	char **args = jstrv(pr, "args", &na), **env = jstrv(pr, "env", &ne);
	bool tty = p->master >= 0;
	const char *cwd = jstr(pr, "cwd");
	const struct jval *user = jget(pr, "user");
	uid_t uid = (uid_t)jnum(user, "uid", 0);
	gid_t gid = (gid_t)jnum(user, "gid", 0);
	const struct jval *ag = jget(user, "additionalGids");
	gid_t groups[65];
	size_t ng = 0;
	groups[ng++] = gid;
	for (size_t i = 0; ag && ag->t == J_ARR && i < ag->n && ng < 65; i++)
		if (ag->v[i].t == J_NUM)
			groups[ng++] = (gid_t)ag->v[i].num;
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		send_error(stream, 125, "pipe: %s", strerror(errno));
		free(args);
		free(env);
		proc_free(p);
		return false;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(rep[0]);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		if (tty) {
			int s = open(p->slave, O_RDWR);
			if (s >= 0) {
				ioctl(s, TIOCSCTTY, 0);
				dup2(s, 0);
				dup2(s, 1);
				dup2(s, 2);
				if (s > 2)
					close(s);
			}
		} else {
			dup2(p->cin, 0);
			dup2(p->cout, 1);
			dup2(p->cerr, 2);
		}
		const struct jval *rl = jget(pr, "rlimits");
		for (size_t i = 0; rl && rl->t == J_ARR && i < rl->n; i++) {
			const char *t = jstr(&rl->v[i], "type");
			for (size_t k = 0; t && k < sizeof(rlimits) / sizeof(rlimits[0]); k++)
				if (!strcmp(t, rlimits[k].name)) {
					struct rlimit r = { (rlim_t)jnum(&rl->v[i], "soft", 0), (rlim_t)jnum(&rl->v[i], "hard", 0) };
					setrlimit(rlimits[k].res, &r);
				}
		}
		int e = 0, code = 125;
		const char *what = "";
		if (jget(user, "umask"))
			umask((mode_t)jnum(user, "umask", 022));
		/* runc's order: the bounding set, the user (keeping the
		 * capabilities), then the capability sets */
		const struct jval *caps = jget(pr, "capabilities");
		if (caps && caps->t == J_OBJ) {
			drop_bounding(caps);
			prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
		}
		if (setgroups(ng, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			e = errno, what = "user";
		else if (caps && caps->t == J_OBJ && apply_caps(caps) < 0)
			e = errno, what = "capabilities";
		else if (cwd && chdir(cwd) < 0)
			e = errno, what = "cwd";
		else if (jbool(pr, "noNewPrivileges") && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			e = errno, what = "noNewPrivileges";
		char msg[1024];
		if (!e) {
			exec_in_path(args, env);
			e = errno;
			code = e == ENOENT ? 127 : 126;
			if (e == ENOENT && !strchr(args[0], '/'))
				snprintf(msg, sizeof(msg), "%cexec: \"%s\": executable file not found in $PATH", code, args[0]);
			else
				snprintf(msg, sizeof(msg), "%cexec: \"%s\": %s", code, args[0], strerror(e));
		} else {
			snprintf(msg, sizeof(msg), "%c%s %s: %s", code, what, !strcmp(what, "cwd") ? cwd : "", strerror(e));
		}
		write_all(rep[1], msg, strlen(msg));
		_exit(code);
	}
	close(rep[1]);
	free(args);
	free(env);
	if (pid < 0) {
		close(rep[0]);
		send_error(stream, 125, "fork: %s", strerror(errno));
		proc_free(p);
		return false;
	}
	/* the child's ends are its own now */
	int ce[3] = { p->cin, p->cout, p->cerr };
	for (int i = 0; i < 3; i++)
		if (ce[i] >= 0)
			close(ce[i]);
	p->cin = p->cout = p->cerr = -1;
	char msg[1024];
	ssize_t n = read(rep[0], msg, sizeof(msg) - 1);
	close(rep[0]);
	if (n > 0) {
		msg[n] = '\0';
		waitpid(pid, NULL, 0);
		send_error(stream, (unsigned char)msg[0], "%s", msg + 1);
		proc_free(p);
		return false;
	}
	p->pid = pid;
	send_u32(stream, FB_IO_STARTED, (uint32_t)pid);
	return true;
}

bool spawn_proc(uint32_t stream, const struct jval *pr)
{
	struct proc *p = proc_prepare(stream, pr);
	return p && proc_launch(p);
}

/* What a process wrote and the host has not had: all of it that is there. */
void drain(struct proc *p, int *fd, uint32_t kind, bool to_end)
{
	char buf[FB_IO_DATA_MAX];
	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			send_frame(p->stream, kind, buf, (size_t)n);
			if (!to_end)
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && to_end)
			return; /* exited: what is left belongs to its children */
		if (n < 0 && errno == EAGAIN)
			return;
		close(*fd); /* its end (EIO on a pty whose last holder went) */
		*fd = -1;
	}
}

void proc_end(struct proc *p, int status)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (p->master >= 0)
		drain(p, &p->master, FB_IO_STDOUT, true);
	drain(p, &p->out, FB_IO_STDOUT, true);
	drain(p, &p->err, FB_IO_STDERR, true);
	send_u32(p->stream, FB_IO_EXIT, (uint32_t)code);
	proc_free(p);
}

void stdin_flush(struct proc *p)
{
	int fd = p->master >= 0 ? p->master : p->in;
	while (fd >= 0 && p->npend) {
		ssize_t w = write(fd, p->pend, p->npend);
		if (w > 0) {
			memmove(p->pend, p->pend + w, p->npend - (size_t)w);
			p->npend -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			return;
		} else {
			p->npend = 0; /* nobody reads it any more */
		}
	}
	if (!p->npend && p->in_eof && p->in >= 0) {
		close(p->in);
		p->in = -1;
	}
}
