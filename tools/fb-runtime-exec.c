/* fb-runtime exec: another process in a running container (what `podman
 * exec` and `ctr task exec` ask for). The process (--process FILE, or the
 * container's own with the command given after the id) goes to the
 * supervisor over sup.sock with our stdio (or a pty whose master went over
 * --console-socket); the supervisor runs it in the guest as a stream of its
 * own. This process (with --detach: a child, whose pid goes to --pid-file)
 * holds the stdio, passes signals on, and exits with the process's status. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "err.h"
#include "store.h"
#include "util.h"

#include "fb-runtime.h"

static struct termios g_saved;
static bool g_restore;

static int write_pid_file_exec(const char *path, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	struct fb_err e = { 0 };
	if (fb_write_file_atomic(path, buf, (size_t)n, 0644, &e) < 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

struct exec_opts {
	const char *process, *pid_file, *console, *cwd, *user;
	bool detach, tty, tty_set;
	struct fb_strv env;
	int first_arg; /* index of the id in argv */
};

/* exec's flags (runc's, a few repeatable); the id and the command follow. */
static int parse(struct rt_ctx *c, int argc, char **argv, struct exec_opts *o)
{
	static const char *const with_value[] = { "console-socket", "cwd", "env", "e", "user", "u", "process", "p", "pid-file",
						  "process-label", "apparmor", "cap", "c", "preserve-fds", "cgroup",
						  "additional-gids", "g" };
	static const char *const switches[] = { "tty", "t", "detach", "d", "no-new-privs", "ignore-paused" };
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		const char *n = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		const char *eq = strchr(n, '=');
		size_t nl = eq ? (size_t)(eq - n) : strlen(n);
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(nl < 63 ? nl : 63), n);
		bool val = false, sw = false;
		for (size_t k = 0; k < FB_ARRAY_LEN(with_value); k++)
			val |= !strcmp(name, with_value[k]);
		for (size_t k = 0; k < FB_ARRAY_LEN(switches); k++)
			sw |= !strcmp(name, switches[k]);
		if (!val && !sw)
			return rt_fail(c, "exec: flag provided but not defined: %s", argv[i]);
		const char *v = NULL;
		if (val) {
			if (eq)
				v = eq + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else
				return rt_fail(c, "exec: flag needs an argument: %s", argv[i]);
		}
		bool on = !eq || strcmp(eq + 1, "false");
		if (!strcmp(name, "process") || !strcmp(name, "p"))
			o->process = v;
		else if (!strcmp(name, "pid-file"))
			o->pid_file = v;
		else if (!strcmp(name, "console-socket"))
			o->console = v;
		else if (!strcmp(name, "cwd"))
			o->cwd = v;
		else if (!strcmp(name, "user") || !strcmp(name, "u"))
			o->user = v;
		else if (!strcmp(name, "env") || !strcmp(name, "e"))
			fb_strv_push(&o->env, v);
		else if (!strcmp(name, "tty") || !strcmp(name, "t"))
			o->tty = on, o->tty_set = true;
		else if (!strcmp(name, "detach") || !strcmp(name, "d"))
			o->detach = on;
		i++;
	}
	if (i >= argc)
		return rt_fail(c, "\"exec\" requires a container id");
	o->first_arg = i;
	c->id = argv[i];
	if (!rt_valid_id(c->id))
		return rt_fail(c, "invalid container id format: %s", c->id);
	c->dir = fb_xasprintf("%s/%s", c->root, c->id);
	rt_maybe_runc(c);
	if (!o->process && i + 1 >= argc)
		return rt_fail(c, "exec: no command (--process FILE, or the command after the id)");
	return 0;
}

/* The process to run, as one JSON line. */
static char *process_json(struct rt_ctx *c, struct exec_opts *o, int argc, char **argv, bool *tty, struct fb_err *err)
{
	struct fb_rt_process p FB_AUTORTPROC = { 0 };
	if (o->process) {
		if (fb_rt_process_load(o->process, &p, err) < 0)
			return NULL;
	} else {
		/* the container's own process, with this command */
		struct fb_rt_state st FB_AUTORTSTATE = { 0 };
		if (rt_state_load(c->dir, &st, err) < 0)
			return NULL;
		if (!st.bundle) {
			fb_err_set(err, FB_EXIT_FAILED, "state", "the container's bundle is gone");
			return NULL;
		}
		FB_AUTOFREE char *cp = fb_xasprintf("%s/config.json", st.bundle);
		struct fb_rt_spec spec FB_AUTORTSPEC = { 0 };
		if (fb_rt_spec_load(cp, &spec, err) < 0)
			return NULL;
		p = spec.process;
		spec.process = (struct fb_rt_process){ 0 };
		fb_strv_free(&p.args);
		for (int i = o->first_arg + 1; i < argc; i++)
			fb_strv_push(&p.args, argv[i]);
		p.terminal = o->tty;
	}
	if (o->cwd) {
		free(p.cwd);
		p.cwd = fb_xstrdup(o->cwd);
	}
	if (o->tty_set)
		p.terminal = o->tty;
	for (size_t i = 0; i < o->env.n; i++)
		fb_strv_push(&p.env, o->env.v[i]);
	if (o->user) {
		/* runc's --user UID[:GID]: the user is that, no more */
		char *colon = strchr(o->user, ':');
		p.uid = (uint32_t)strtol(o->user, NULL, 10);
		p.gid = colon ? (uint32_t)strtol(colon + 1, NULL, 10) : 0;
		free(p.additional_gids);
		p.additional_gids = NULL;
		p.nadditional_gids = 0;
		p.has_umask = false;
	}
	*tty = p.terminal;
	if (!p.args.n) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "exec: args must not be empty");
		return NULL;
	}
	return fb_rt_process_encode(&p);
}

/* Hold the process: signals on, its status back. Never returns. */
static void __attribute__((noreturn)) hold(int conn, int tty_fd, int report)
{
	sigset_t fwd;
	sigemptyset(&fwd);
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
	for (size_t i = 0; i < FB_ARRAY_LEN(sigs); i++)
		sigaddset(&fwd, sigs[i]);
	sigprocmask(SIG_BLOCK, &fwd, NULL);
	int sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
	char line[2200], buf[2048];
	size_t have = 0;
	bool started = false;
	for (;;) {
		struct pollfd pf[2] = { { conn, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			_exit(125);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGWINCH)
				snprintf(line, sizeof(line), "winsize");
			else
				snprintf(line, sizeof(line), "signal %u", si.ssi_signo);
			rt_send_line(conn, line, NULL, 0);
		}
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t n = read(conn, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0) {
			/* the VM went away under it: killed with the container */
			if (report >= 0 && write(report, "error the container stopped\n", 28) < 0) {
				/* exec is gone */
			}
			_exit(137);
		}
		have += (size_t)n;
		buf[have] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (!strncmp(buf, "started ", 8) || !strncmp(buf, "error ", 6)) {
				if (report >= 0) {
					snprintf(line, sizeof(line), "%s\n", buf);
					if (write(report, line, strlen(line)) < 0) {
						/* exec is gone */
					}
					close(report);
					report = -1;
				}
				started = !strncmp(buf, "started ", 8);
			} else if (!strncmp(buf, "exit ", 5)) {
				(void)started;
				(void)tty_fd;
				if (g_restore)
					tcsetattr(0, TCSANOW, &g_saved);
				_exit(atoi(buf + 5) & 0xff);
			}
			size_t rest = have - (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, rest + 1);
			have = rest;
		}
		if (have >= sizeof(buf) - 1)
			have = 0;
	}
}

int rt_cmd_exec(struct rt_ctx *c, int argc, char **argv)
{
	struct exec_opts o = { .env = FB_STRV_INIT };
	if (parse(c, argc, argv, &o)) {
		fb_strv_free(&o.env);
		return 1;
	}
	struct fb_err err = { 0 };
	struct fb_rt_state st FB_AUTORTSTATE = { 0 };
	if (rt_state_load(c->dir, &st, &err) < 0) {
		fb_strv_free(&o.env);
		return rt_fail(c, "container does not exist");
	}
	bool tty = false;
	char *pj = process_json(c, &o, argc, argv, &tty, &err);
	fb_strv_free(&o.env);
	if (!pj)
		return rt_fail(c, "%s", err.msg);
	if (tty && o.detach && !o.console) {
		free(pj);
		return rt_fail(c, "cannot allocate tty if runc will detach without setting console socket");
	}
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0) {
		free(pj);
		return rt_fail(c, "pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid_t pid = o.detach ? fork() : 0;
	if (pid < 0) {
		free(pj);
		return rt_fail(c, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* the holder */
		close(rp[0]);
		if (o.detach)
			setsid();
		int fds[3] = { 0, 1, 2 }, nfds = 3, tty_fd = -1;
		if (tty) {
			if (o.console) {
				if (rt_console(o.console, &tty_fd, &err) < 0) {
					dprintf(rp[1], "error %s\n", err.msg);
					_exit(1);
				}
				ioctl(tty_fd, TIOCSCTTY, 0);
			} else {
				/* our own terminal carries the bytes */
				tty_fd = 0;
				if (tcgetattr(0, &g_saved) == 0) {
					struct termios t = g_saved;
					cfmakeraw(&t);
					tcsetattr(0, TCSANOW, &t);
					g_restore = true;
				}
			}
			fds[0] = tty_fd;
			nfds = 1;
		}
		int conn = rt_sup_connect(c->dir);
		char *req = fb_xasprintf("exec %d", tty ? 1 : 0);
		if (conn < 0 || rt_send_line(conn, req, fds, nfds) < 0 || rt_send_line(conn, pj, NULL, 0) < 0) {
			dprintf(rp[1], "error cannot exec in a stopped container\n");
			_exit(1);
		}
		free(req);
		free(pj);
		if (!o.detach) {
			/* report to ourselves: read the first answer here */
			char line[2048];
			if (rt_read_line(conn, line, sizeof(line)) < 0 || strncmp(line, "started ", 8)) {
				if (g_restore)
					tcsetattr(0, TCSANOW, &g_saved);
				if (!fb_str_has_prefix(line, "error "))
					return rt_fail(c, "cannot exec in a stopped container");
				if (fb_str_has_prefix(line, "error cannot exec in a "))
					return rt_fail(c, "%s", line + 6);
				rt_fail(c, "exec failed: unable to start container process: %s", line + 6);
				return 255;
			}
			if (o.pid_file && write_pid_file_exec(o.pid_file, getpid()) < 0)
				return rt_fail(c, "--pid-file %s: %s", o.pid_file, strerror(errno));
			close(rp[1]);
			hold(conn, tty_fd, -1);
		}
		hold(conn, tty_fd, rp[1]);
	}
	close(rp[1]);
	free(pj);
	char line[2048];
	if (rt_read_line(rp[0], line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "error cannot exec in a stopped container");
	close(rp[0]);
	if (strncmp(line, "started ", 8)) {
		if (!fb_str_has_prefix(line, "error ") || fb_str_has_prefix(line, "error cannot exec in a "))
			return rt_fail(c, "%s", fb_str_has_prefix(line, "error ") ? line + 6 : line);
		/* runc's status and words for a process that could not start */
		rt_fail(c, "exec failed: unable to start container process: %s", line + 6);
		return 255;
	}
	if (o.pid_file && write_pid_file_exec(o.pid_file, pid) < 0)
		return rt_fail(c, "--pid-file %s: %s", o.pid_file, strerror(errno));
	return 0;
}
