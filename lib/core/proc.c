#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"

extern char **environ;

/* In a child just forked: SIG when the parent (PARENT, its pid before the
 * fork) dies, kept across exec. A parent gone before the prctl has
 * reparented us already: then go at once. */
static void die_with_parent(int sig, pid_t parent)
{
	if (!sig)
		return;
	if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) < 0 || getppid() != parent)
		_exit(128 + sig);
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

int fb_proc_spawn(char *const argv[], const struct fb_spawn_opts *opts, struct fb_proc *p,
		  struct fb_err *err)
{
	static const struct fb_spawn_opts defaults = { 0 };
	if (!opts)
		opts = &defaults;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 }, sync[2] = { -1, -1 };
	if ((opts->pipe_stdin && pipe2(in, O_CLOEXEC) < 0) ||
	    (opts->pipe_stdout && pipe2(out, O_CLOEXEC) < 0) ||
	    (opts->pipe_stderr && pipe2(er, O_CLOEXEC) < 0) || pipe2(sync, O_CLOEXEC) < 0) {
		int e = errno;
		close_pair(in), close_pair(out), close_pair(er), close_pair(sync);
		return fb_err_errno(err, e, "pipe");
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close_pair(in), close_pair(out), close_pair(er), close_pair(sync);
		return fb_err_errno(err, e, "fork");
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls from here to exec. */
		die_with_parent(opts->death_signal, parent);
		signal(SIGPIPE, SIG_DFL);
		if (opts->pipe_stdin)
			dup2(in[0], 0);
		else if (opts->null_stdin) {
			int fd = open("/dev/null", O_RDONLY);
			if (fd >= 0)
				dup2(fd, 0);
		}
		if (opts->pipe_stdout)
			dup2(out[1], 1);
		if (opts->pipe_stderr)
			dup2(er[1], 2);
		if (opts->cwd && chdir(opts->cwd) < 0)
			goto fail;
		execvpe(argv[0], argv, opts->envp ? opts->envp : environ);
	fail:;
		/* Tell the parent why exec failed through the CLOEXEC pipe. */
		int e = errno;
		ssize_t w = write(sync[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(sync[1]);
	int child_errno = 0;
	ssize_t n;
	do
		n = read(sync[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(sync[0]);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (er[1] >= 0)
		close(er[1]);
	if (n == (ssize_t)sizeof(child_errno)) {
		int st;
		waitpid(pid, &st, 0);
		if (in[1] >= 0)
			close(in[1]);
		if (out[0] >= 0)
			close(out[0]);
		if (er[0] >= 0)
			close(er[0]);
		return fb_err_errno(err, child_errno, "unable to run %s", argv[0]);
	}
	p->pid = pid;
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = er[0];
	return 0;
}

int fb_proc_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, pid, 0); /* close-on-exec always */
	return fd >= 0 ? (int)fd : -1;
#else
	(void)pid;
	return -1;
#endif
}

int fb_proc_wait(pid_t pid, int *status, struct fb_err *err)
{
	for (;;) {
		if (waitpid(pid, status, 0) >= 0)
			return 0;
		if (errno != EINTR)
			return fb_err_errno(err, errno, "waitpid %d", (int)pid);
	}
}

int fb_status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

void fb_status_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with status 0x%x", (unsigned)status);
}

int fb_proc_run(char *const argv[], const char *in, size_t in_len, struct fb_buf *out,
		struct fb_buf *errout, int *exit_code, struct fb_err *err)
{
	struct fb_spawn_opts o = {
		.pipe_stdin = in != NULL,
		.null_stdin = in == NULL,
		.pipe_stdout = out != NULL,
		.pipe_stderr = errout != NULL,
		.death_signal = SIGTERM,
	};
	struct fb_proc p;
	if (fb_proc_spawn(argv, &o, &p, err) < 0)
		return -1;
	size_t off = 0;
	if (p.in_fd >= 0 && in_len == 0) {
		close(p.in_fd);
		p.in_fd = -1;
	}
	if (p.in_fd >= 0)
		fcntl(p.in_fd, F_SETFL, O_NONBLOCK);
	/* poll all pipes together: a child that fills its stderr while we
	 * still write its stdin must not deadlock us. */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	while (p.in_fd >= 0 || p.out_fd >= 0 || p.err_fd >= 0) {
		struct pollfd fds[3];
		int nf = 0, iin = -1, iout = -1, ierr = -1;
		if (p.in_fd >= 0)
			iin = nf, fds[nf++] = (struct pollfd){ p.in_fd, POLLOUT, 0 };
		if (p.out_fd >= 0)
			iout = nf, fds[nf++] = (struct pollfd){ p.out_fd, POLLIN, 0 };
		if (p.err_fd >= 0)
			ierr = nf, fds[nf++] = (struct pollfd){ p.err_fd, POLLIN, 0 };
		if (poll(fds, (nfds_t)nf, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (iin >= 0 && fds[iin].revents) {
			ssize_t w = write(p.in_fd, in + off, in_len - off);
			if (w > 0)
				off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == in_len) {
				close(p.in_fd);
				p.in_fd = -1;
			}
		}
		int *fdp[2] = { &p.out_fd, &p.err_fd };
		int idx[2] = { iout, ierr };
		struct fb_buf *dst[2] = { out, errout };
		for (int k = 0; k < 2; k++) {
			if (idx[k] < 0 || !fds[idx[k]].revents)
				continue;
			fb_buf_reserve(dst[k], 65536);
			ssize_t r = read(*fdp[k], dst[k]->data + dst[k]->len, dst[k]->cap - dst[k]->len - 1);
			if (r > 0) {
				dst[k]->len += (size_t)r;
				dst[k]->data[dst[k]->len] = '\0';
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(*fdp[k]);
				*fdp[k] = -1;
			}
		}
	}
	signal(SIGPIPE, old);
	int st;
	if (fb_proc_wait(p.pid, &st, err) < 0)
		return -1;
	*exit_code = fb_status_to_exit(st);
	return 0;
}

int fb_pipeline(char *const *const argvs[], size_t n, int *exit_code, struct fb_err *err)
{
	return fb_pipeline_opts(argvs, n, NULL, exit_code, err);
}

/* One stage of a pipeline, started with vfork: the child runs at once on
 * this CPU, with no page tables copied, until its exec (a forked stage
 * waited 3-5 ms for a CPU while the parent went on to the next). The child
 * only makes system calls and writes nothing of the parent's. */
__attribute__((noinline)) static pid_t spawn_stage(char *const argv[], int in, int out, const struct fb_pipeline_opts *o, size_t i, pid_t parent)
{
	/* no handler of ours may run in the child (it shares our memory):
	 * signals stay blocked until the child has put every handled one back
	 * to its default, as posix_spawn does */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = vfork();
	if (pid != 0) {
		int e = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = e;
		return pid;
	}
	for (int s = 1; s < NSIG; s++) {
		struct sigaction sa;
		if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(s, &sa, NULL);
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	die_with_parent(SIGTERM, parent);
	if (in >= 0)
		dup2(in, 0);
	if (out >= 0)
		dup2(out, 1);
	else if (o->out_fd >= 0)
		dup2(o->out_fd, 1);
	if (o->keep_fd >= 0 && i < 32 && (o->keep_fd_stages & (1u << i)))
		fcntl(o->keep_fd, F_SETFD, 0);
	execvp(argv[0], argv);
	/* one write (stages share stderr), with nothing that allocates or locks */
	const char *why = strerrordesc_np(errno);
	const char *parts[] = { "firebuild: error: unable to run ", argv[0], ": ", why ? why : "error", "\n" };
	char msg[1024];
	size_t len = 0;
	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
		size_t n = strlen(parts[k]);
		if (n > sizeof(msg) - 1 - len)
			n = sizeof(msg) - 1 - len;
		memcpy(msg + len, parts[k], n);
		len += n;
	}
	if (write(2, msg, len) < 0) {
		/* nowhere to tell: the exit code says it */
	}
	_exit(127);
}

int fb_pipeline_opts(char *const *const argvs[], size_t n, const struct fb_pipeline_opts *o, int *exit_code,
		     struct fb_err *err)
{
	static const struct fb_pipeline_opts none = { .keep_fd = -1, .out_fd = -1 };
	if (!o)
		o = &none;
	pid_t *pids = fb_xcalloc(n ? n : 1, sizeof(*pids));
	int prev = -1, ret = 0;
	size_t started = 0;
	pid_t parent = getpid();
	for (size_t i = 0; i < n; i++) {
		int p[2] = { -1, -1 };
		if (i + 1 < n && pipe2(p, O_CLOEXEC) < 0) {
			ret = fb_err_errno(err, errno, "pipe");
			break;
		}
		pid_t pid = spawn_stage(argvs[i], prev, p[1], o, i, parent);
		if (pid < 0) {
			ret = fb_err_errno(err, errno, "fork");
			if (p[0] >= 0)
				close(p[0]), close(p[1]);
			break;
		}
		pids[started++] = pid;
		if (prev >= 0)
			close(prev);
		if (p[1] >= 0)
			close(p[1]);
		prev = p[0];
	}
	if (prev >= 0)
		close(prev);
	*exit_code = 0;
	for (size_t i = 0; i < started; i++) {
		int st;
		if (fb_proc_wait(pids[i], &st, err) < 0) {
			ret = -1;
			continue;
		}
		int code = fb_status_to_exit(st);
		if (code && !*exit_code)
			*exit_code = code;
	}
	free(pids);
	return ret;
}

int fb_write_str(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, v, strlen(v));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(v) ? 0 : -1;
}

int fb_cgroup_enter(const char *dir)
{
	char path[PATH_MAX], pid[24] = "0";
	snprintf(path, sizeof(path), "%s/tasks", dir);
	if (access(path, F_OK) != 0) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
	}
	return fb_write_str(path, pid);
}
