/* fb-runtime's supervisor: the process the engine sees as the container.
 *
 * `create` forks it. It keeps the container's stdio (the descriptors the
 * engine gave create, or a pty whose master went over --console-socket),
 * lays out the jail (lib/jail.c: chroot, mount and pid namespaces, a
 * cgroup; QEMU as root with only the capabilities a 9p passthrough share
 * needs), redirects the engine's network namespace to taps, writes the
 * initramfs and starts QEMU -M microvm: the rootfs directory shared over
 * virtio-9p, fb-init as /init, the fb.io port on a Unix socket. When fb-init
 * says READY the container is "created" and create returns; `start`,
 * `kill` and `exec` come over <state>/sup.sock. Frames from the guest
 * carry the processes' output; the container's EXIT is this process's
 * exit status (128+N for signal N), after the jail, the taps and the
 * VMM are gone. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "jail.h"
#include "log.h"
#include "store.h"
#include "tcredirect.h"
#include "tool.h"
#include "util.h"

#include "fb-io.h"
#include "fb-runtime.h"
#include "fb-runtime-sup.h"

/* ---- state ---- */

void sup_save(struct sup *s)
{
	free(s->state.status);
	s->state.status = fb_xstrdup(status_names[s->status]);
	struct fb_err e = { 0 };
	if (rt_state_save(s->c->dir, &s->state, &e) < 0)
		fb_log_failure(&e);
}

static void tell_ready(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell_ready(struct sup *s, const char *fmt, ...)
{
	if (s->ready_fd < 0)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	size_t n = strlen(line);
	line[n++] = '\n';
	if (write(s->ready_fd, line, n) < 0) {
		/* create is gone: nobody to tell */
	}
	close(s->ready_fd);
	s->ready_fd = -1;
}

/* ---- frames to the guest ---- */

static void io_flush(struct sup *s)
{
	while (s->io >= 0 && s->obuf.len) {
		ssize_t w = write(s->io, s->obuf.data, s->obuf.len);
		if (w > 0) {
			memmove(s->obuf.data, s->obuf.data + w, s->obuf.len - (size_t)w);
			s->obuf.len -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else {
			return;
		}
	}
}

static void frame(struct sup *s, uint32_t stream, uint32_t kind, const void *data, size_t len)
{
	struct fb_io_hdr h = { stream, kind, (uint32_t)len };
	fb_buf_add(&s->obuf, &h, sizeof(h));
	if (len)
		fb_buf_add(&s->obuf, data, len);
	io_flush(s);
}

static void signal_stream(struct sup *s, uint32_t stream, int sig, bool all)
{
	uint32_t v[2] = { (uint32_t)sig, all ? 1u : 0u };
	frame(s, stream, FB_IO_SIGNAL, v, sizeof(v));
}

static void send_winsize(struct sup *s, uint32_t stream, int fd)
{
	struct winsize ws;
	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		uint16_t rc[2] = { ws.ws_row, ws.ws_col };
		frame(s, stream, FB_IO_WINSIZE, rc, sizeof(rc));
	}
}

/* ---- the end ---- */

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
	if (fd < 0)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	size_t n = strlen(line);
	line[n++] = '\n';
	if (send(fd, line, n, MSG_NOSIGNAL) < 0) {
		/* the client went away */
	}
}

static void stream_close(struct sup *s, struct stream *t)
{
	int fds[3] = { t->in, t->out, t->err };
	for (int i = 0; i < 3; i++) {
		bool dup = false;
		for (int k = 0; k < i; k++)
			dup |= fds[k] == fds[i];
		if (fds[i] > 2 && !dup && fds[i] != s->slave)
			close(fds[i]);
	}
	memset(t, 0, sizeof(*t));
	t->conn = -1;
}

static void __attribute__((noreturn)) finish(struct sup *s)
{
	int code = s->have_exit ? s->exit_code : s->killed ? 128 + s->killed : 125;
	if (!s->have_exit && !s->killed)
		fb_log(FB_LOG_ERROR, "%s: the VM ended without the container's exit code (see %s/console.log)", s->c->id, s->c->dir);
	for (int i = 1; i < MAX_STREAMS; i++)
		if (s->st[i].used) {
			reply(s->st[i].conn, "exit 137");
			stream_close(s, &s->st[i]);
		}
	if (s->start_conn >= 0)
		reply(s->start_conn, "error %s", s->last_error[0] ? s->last_error : "the container ended before it started");
	if (s->status == S_CREATING && !s->last_error[0]) {
		/* the console's last line says why */
		char *cp = fb_xasprintf("%s/console.log", s->c->dir);
		struct fb_buf cb = FB_BUF_INIT;
		struct fb_err ce = { 0 };
		char tail[2048] = "";
		if (fb_read_file(cp, &cb, &ce) == 0 && cb.len) {
			while (cb.len && (cb.data[cb.len - 1] == '\n' || cb.data[cb.len - 1] == '\r'))
				cb.data[--cb.len] = '\0';
			/* the last lines (a panic's reason is a few lines up) */
			const char *t = fb_buf_str(&cb) + cb.len;
			for (int k = 0; k < 12 && t > cb.data; k++)
				for (t--; t > cb.data && t[-1] != '\n'; t--)
					;
			snprintf(tail, sizeof(tail), ": %s", t);
			for (char *q = tail; *q; q++)
				if (*q == '\n' || *q == '\r')
					*q = ' ';
		}
		fb_buf_free(&cb);
		free(cp);
		snprintf(s->last_error, sizeof(s->last_error), "the VM ended before the container was created%s", tail);
	}
	if (s->status == S_CREATING)
		tell_ready(s, "error %s", s->last_error);
	if (s->jailed) {
		fb_jail_remove(&s->jail);
		fb_jail_free(&s->jail);
	}
	rt_net_teardown(s->taps, s->ntaps);
	s->state.has_exit_code = true;
	s->state.exit_code = code;
	s->state.finished = (long long)time(NULL);
	s->status = S_STOPPED;
	sup_save(s);
	char *sock = fb_xasprintf("%s/sup.sock", s->c->dir);
	unlink(sock);
	free(sock);
	_exit(code);
}

/* ---- frames from the guest ---- */

static void write_all(int fd, const char *p, size_t n)
{
	while (fd >= 0 && n) {
		ssize_t w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { fd, POLLOUT, 0 };
			poll(&pf, 1, 1000);
		} else {
			return; /* the reader went away: the output is dropped */
		}
	}
}

static struct stream *stream_of(struct sup *s, uint32_t id)
{
	for (int i = 0; i < MAX_STREAMS; i++)
		if (s->st[i].used && s->st[i].id == id)
			return &s->st[i];
	return NULL;
}

static void guest_frame(struct sup *s, const struct fb_io_hdr *h, const char *data)
{
	struct stream *t = stream_of(s, h->stream);
	uint32_t v = 0;
	if (h->len >= 4)
		memcpy(&v, data, 4);
	switch (h->kind) {
	case FB_IO_READY:
		if (s->status == S_CREATING) {
			s->status = S_CREATED;
			sup_save(s);
			tell_ready(s, "ok");
		}
		break;
	case FB_IO_STARTED:
		if (!t)
			break;
		t->started = true;
		if (h->stream == 0) {
			s->status = S_RUNNING;
			s->state.guest_pid = v;
			sup_save(s);
			reply(s->start_conn, "ok");
			if (s->start_conn >= 0)
				s->start_conn = -1; /* the client closes it */
			if (t->tty)
				send_winsize(s, 0, s->slave);
		} else {
			reply(t->conn, "started %u", v);
		}
		break;
	case FB_IO_STDOUT:
	case FB_IO_STDERR:
		if (t)
			write_all(h->kind == FB_IO_STDOUT ? t->out : t->err, data, h->len);
		break;
	case FB_IO_ERROR:
		if (h->stream == 0) {
			snprintf(s->last_error, sizeof(s->last_error), "%.*s", (int)h->len, data);
			fb_log(FB_LOG_ERROR, "%s: %s", s->c->id, s->last_error);
		} else if (t) {
			reply(t->conn, "error %.*s", (int)h->len, data);
		}
		break;
	case FB_IO_EXIT:
		if (h->stream == 0) {
			s->have_exit = true;
			s->exit_code = (int)v;
			/* the VM resets now; the end waits for the VMM */
		} else if (t) {
			/* its output is all out: the holder's copies go last */
			int conn = t->conn;
			stream_close(s, t);
			reply(conn, "exit %u", v);
		}
		break;
	default: break;
	}
}

static void io_read(struct sup *s)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(s->io, buf, sizeof(buf));
		if (n > 0) {
			fb_buf_add(&s->ibuf, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN) {
			close(s->io); /* the VM is going */
			s->io = -1;
		}
		break;
	}
	size_t off = 0;
	struct fb_io_hdr h;
	while (s->ibuf.len - off >= sizeof(h)) {
		memcpy(&h, s->ibuf.data + off, sizeof(h));
		if (h.len > FB_IO_FRAME_MAX) {
			fb_log(FB_LOG_ERROR, "%s: a frame of %u bytes from the guest: the VM is stopped", s->c->id, h.len);
			kill(s->vmm, SIGKILL);
			s->ibuf.len = off = 0;
			break;
		}
		if (s->ibuf.len - off < sizeof(h) + h.len)
			break;
		guest_frame(s, &h, s->ibuf.data + off + sizeof(h));
		off += sizeof(h) + h.len;
	}
	if (off) { /* nothing read yet: no buffer to move in */
		memmove(s->ibuf.data, s->ibuf.data + off, s->ibuf.len - off);
		s->ibuf.len -= off;
	}
}

/* ---- clients on sup.sock ---- */

static void client_close(struct sup *s, struct client *c)
{
	struct stream *t = c->stream ? stream_of(s, c->stream) : NULL;
	if (t && t->conn == c->fd) {
		/* the exec's holder went (killed): its process goes too */
		signal_stream(s, t->id, SIGKILL, false);
		stream_close(s, t);
	}
	if (s->start_conn == c->fd)
		s->start_conn = -1;
	for (int i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	close(c->fd);
	fb_buf_free(&c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void end_vm(struct sup *s, int sig)
{
	if (!s->killed)
		s->killed = sig;
	if (s->vmm > 0)
		kill(s->vmm, SIGKILL);
}

static void client_line(struct sup *s, struct client *c, char *line)
{
	if (c->exec_wait) {
		c->exec_wait = false;
		struct stream *t = NULL;
		for (int i = 1; i < MAX_STREAMS && !t; i++)
			if (!s->st[i].used)
				t = &s->st[i];
		if (!t || s->status != S_RUNNING || c->nfds != (c->exec_tty ? 1 : 3)) {
			reply(c->fd, "error %s", !t ? "too many exec'd processes" : s->status == S_PAUSED ? "cannot exec in a paused container" : s->status != S_RUNNING ? "cannot exec in a stopped container" : "exec: no stdio");
			return;
		}
		*t = (struct stream){ .used = true, .id = ++s->next_stream, .tty = c->exec_tty, .conn = c->fd };
		t->in = c->fds[0];
		t->out = c->exec_tty ? c->fds[0] : c->fds[1];
		t->err = c->exec_tty ? c->fds[0] : c->fds[2];
		c->nfds = 0;
		c->stream = t->id;
		frame(s, t->id, FB_IO_EXEC, line, strlen(line));
		if (t->tty)
			send_winsize(s, t->id, t->in);
		return;
	}
	if (!strcmp(line, "pause") || !strcmp(line, "resume")) {
		/* the whole VM stops and goes on: its vCPUs, its devices */
		bool pause = line[0] == 'p';
		if (s->status != (pause ? S_RUNNING : S_PAUSED)) {
			reply(c->fd, "error container not %s", pause ? "running" : "paused");
			return;
		}
		kill(s->vmm, pause ? SIGSTOP : SIGCONT);
		s->status = pause ? S_PAUSED : S_RUNNING;
		sup_save(s);
		reply(c->fd, "ok");
	} else if (!strcmp(line, "start")) {
		if (s->status == S_CREATED && s->start_conn < 0) {
			s->start_conn = c->fd;
			frame(s, 0, FB_IO_START, NULL, 0);
		} else if (s->status == S_RUNNING) {
			reply(c->fd, "error cannot start an already running container");
		} else {
			reply(c->fd, "error cannot start a container in the %s state", status_names[s->status]);
		}
	} else if (!strncmp(line, "kill ", 5)) {
		int sig = atoi(line + 5);
		bool all = strstr(line + 5, " all") != NULL;
		if (sig <= 0 || sig > 64) {
			reply(c->fd, "error invalid signal %s", line + 5);
			return;
		}
		if (sig == SIGKILL || s->status == S_CREATED || s->status == S_CREATING)
			end_vm(s, sig); /* at once: the VM is the container */
		else
			signal_stream(s, 0, sig, all);
		reply(c->fd, "ok");
	} else if (!strncmp(line, "exec ", 5)) {
		c->exec_wait = true;
		c->exec_tty = line[5] == '1';
	} else if (!strncmp(line, "winsize", 7) && c->stream) {
		struct stream *t = stream_of(s, c->stream);
		if (t)
			send_winsize(s, t->id, t->in);
	} else if (!strncmp(line, "signal ", 7) && c->stream) {
		signal_stream(s, c->stream, atoi(line + 7), false);
	} else {
		reply(c->fd, "error unknown request");
	}
}

static void client_read(struct sup *s, struct client *c)
{
	char buf[65536];
	char cbuf[CMSG_SPACE(sizeof(int) * 3)];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int *fds = (int *)CMSG_DATA(cm);
			for (int i = 0; i < k; i++) {
				if (c->nfds < 3)
					c->fds[c->nfds++] = fds[i];
				else
					close(fds[i]);
			}
		}
	if (n <= 0) {
		client_close(s, c);
		return;
	}
	fb_buf_add(&c->buf, buf, (size_t)n);
	char *nl;
	while (c->fd >= 0 && c->buf.data && (nl = memchr(c->buf.data, '\n', c->buf.len))) {
		*nl = '\0';
		char *line = fb_xstrdup(c->buf.data);
		size_t rest = c->buf.len - (size_t)(nl + 1 - c->buf.data);
		memmove(c->buf.data, nl + 1, rest);
		c->buf.len = rest;
		client_line(s, c, line);
		free(line);
	}
	if (c->fd >= 0 && c->buf.len > FB_IO_FRAME_MAX)
		client_close(s, c);
}

/* ---- stdin to the guest ---- */

static void stdin_read(struct sup *s, struct stream *t)
{
	char buf[FB_IO_DATA_MAX];
	ssize_t n = read(t->in, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* the end (EIO: a terminal whose other side closed) */
		t->in_done = true;
		frame(s, t->id, FB_IO_STDIN, NULL, 0);
		return;
	}
	frame(s, t->id, FB_IO_STDIN, buf, (size_t)n);
}

static void console_drain(struct sup *s)
{
	char buf[8192];
	ssize_t n;
	while (s->con >= 0 && (n = read(s->con, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				close(s->con);
				s->con = -1;
			}
			return;
		}
		if (s->con_log >= 0 && write(s->con_log, buf, (size_t)n) < 0) {
			/* a full disk loses the console, not the VM */
		}
	}
	if (s->con >= 0 && n == 0) {
		close(s->con);
		s->con = -1;
	}
}

static void __attribute__((noreturn)) run(struct sup *s)
{
	for (;;) {
		struct pollfd pf[8 + MAX_CLIENTS + MAX_STREAMS];
		int kind[8 + MAX_CLIENTS + MAX_STREAMS], idx[8 + MAX_CLIENTS + MAX_STREAMS];
		int n = 0;
		pf[n] = (struct pollfd){ s->sfd, POLLIN, 0 }, kind[n++] = 0;
		pf[n] = (struct pollfd){ s->io, (short)(POLLIN | (s->obuf.len ? POLLOUT : 0)), 0 }, kind[n++] = 1;
		pf[n] = (struct pollfd){ s->con, POLLIN, 0 }, kind[n++] = 2;
		pf[n] = (struct pollfd){ s->listen, POLLIN, 0 }, kind[n++] = 3;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (s->cl[i].fd > 0)
				pf[n] = (struct pollfd){ s->cl[i].fd, POLLIN, 0 }, kind[n] = 4, idx[n++] = i;
		for (int i = 0; i < MAX_STREAMS && s->obuf.len < OBUF_HIGH; i++)
			if (s->st[i].used && (s->st[i].started || (i == 0 && s->status >= S_CREATED)) && !s->st[i].in_done && s->st[i].in >= 0)
				pf[n] = (struct pollfd){ s->st[i].in, POLLIN, 0 }, kind[n] = 5, idx[n++] = i;
		/* a VM that never gets ready (a guest stuck at boot) ends */
		int wait_ms = -1;
		if (s->status == S_CREATING) {
			long left = (long)(s->ready_by - time(NULL));
			if (left <= 0) {
				snprintf(s->last_error, sizeof(s->last_error),
					 "the VM was not ready in %lld s (see console.log; boot_timeout in the settings)",
					 s->set->boot_timeout);
				end_vm(s, SIGKILL);
				s->ready_by = time(NULL) + 3600;
			}
			wait_ms = 1000;
		}
		if (poll(pf, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			switch (kind[i]) {
			case 1:
				if (pf[i].revents & POLLOUT)
					io_flush(s);
				if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
					io_read(s);
				break;
			case 2: console_drain(s); break;
			case 3: {
				int fd = accept4(s->listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				int slot = -1;
				for (int k = 0; k < MAX_CLIENTS && slot < 0 && fd >= 0; k++)
					if (s->cl[k].fd <= 0)
						slot = k;
				if (fd >= 0 && slot < 0)
					close(fd);
				else if (fd >= 0)
					s->cl[slot] = (struct client){ .fd = fd };
				break;
			}
			case 4:
				if (s->cl[idx[i]].fd > 0)
					client_read(s, &s->cl[idx[i]]);
				break;
			case 5:
				if (s->st[idx[i]].used)
					stdin_read(s, &s->st[idx[i]]);
				break;
			default: break;
			}
		}
		struct signalfd_siginfo si;
		while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
			int sig = (int)si.ssi_signo;
			if (sig == SIGCHLD) {
				int wst;
				pid_t p;
				while ((p = waitpid(-1, &wst, WNOHANG)) > 0)
					if (p == s->vmm) {
						s->vmm = -1;
						console_drain(s);
						if (s->io >= 0)
							io_read(s); /* the last frames */
						finish(s);
					}
			} else if (sig == SIGWINCH) {
				if (s->st[0].tty)
					send_winsize(s, 0, s->slave);
			} else if (s->status == S_RUNNING || s->status == S_PAUSED) {
				/* a signal to the container's process (ours is its pid) */
				signal_stream(s, 0, sig, false);
			} else {
				end_vm(s, sig);
			}
		}
	}
}

pid_t rt_supervisor_fork(struct rt_ctx *c, struct rt_bundle *b, const char *console_socket, int *ready_fd, struct fb_err *err)
{
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0)
		return fb_err_errno(err, errno, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(rp[0]);
		close(rp[1]);
		return fb_err_errno(err, errno, "fork");
	}
	if (pid > 0) {
		close(rp[1]);
		*ready_fd = rp[0];
		return pid;
	}
	close(rp[0]);
	static struct sup s;
	static struct fb_rt_settings set;
	s = (struct sup){ .c = c, .b = b, .set = &set, .io = -1, .con = -1, .con_log = -1, .listen = -1, .sfd = -1,
			  .ready_fd = rp[1], .slave = -1, .start_conn = -1, .vmm = -1 };
	for (int i = 0; i < MAX_STREAMS; i++)
		s.st[i].conn = -1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		s.cl[i].fd = -1;
	struct fb_err e = { 0 };
	/* a session of its own: the engine's signals come through kill, and
	 * a terminal's size changes reach us */
	setsid();
	/* the container's stdio, then ours to the log */
	struct stream *m = &s.st[0];
	*m = (struct stream){ .used = true, .id = 0, .tty = b->terminal, .conn = -1 };
	if (b->terminal) {
		if (!console_socket) {
			tell_ready(&s, "error a terminal needs --console-socket");
			_exit(1);
		}
		if (rt_console(console_socket, &s.slave, &e) < 0) {
			tell_ready(&s, "error %s", e.msg);
			_exit(1);
		}
		ioctl(s.slave, TIOCSCTTY, 0);
		m->in = m->out = m->err = s.slave;
	} else {
		m->in = fcntl(0, F_DUPFD_CLOEXEC, 3);
		m->out = fcntl(1, F_DUPFD_CLOEXEC, 3);
		m->err = fcntl(2, F_DUPFD_CLOEXEC, 3);
	}
	if (m->in >= 0)
		fcntl(m->in, F_SETFL, fcntl(m->in, F_GETFL) | O_NONBLOCK);
	char *logp = fb_xasprintf("%s/supervisor.log", c->dir), *conp = fb_xasprintf("%s/console.log", c->dir);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC), lg = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(lg >= 0 ? lg : nul, 2);
	s.con_log = open(conp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(logp);
	free(conp);
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	s.sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	if (rt_settings_load(&set, &e) < 0) {
		tell_ready(&s, "error %s", e.msg);
		_exit(1);
	}
	s.state.oci_version = fb_xstrdup(b->oci_version);
	s.state.id = fb_xstrdup(c->id);
	s.state.pid = getpid();
	s.state.bundle = fb_xstrdup(b->dir);
	s.state.rootfs = fb_xstrdup(b->rootfs);
	char created[64];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	size_t cl = strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(created + cl, sizeof(created) - cl, ".%09ldZ", now.tv_nsec);
	s.state.created = fb_xstrdup(created);
	s.state.owner = fb_xstrdup("");
	fb_rt_map_copy(&s.state.annotations, &b->annotations);
	s.state.supervisor_start = (long long)rt_proc_start(getpid());
	sup_save(&s);
	char *sockp = fb_xasprintf("%s/sup.sock", c->dir);
	s.listen = sup_listen_on(sockp, &e);
	free(sockp);
	if (s.listen < 0 || sup_setup(&s, &e) < 0) {
		snprintf(s.last_error, sizeof(s.last_error), "%s", e.msg);
		fb_log_failure(&e);
		if (s.vmm > 0) {
			kill(s.vmm, SIGKILL);
			waitpid(s.vmm, NULL, 0);
			s.vmm = -1;
		}
		finish(&s);
	}
	s.ready_by = time(NULL) + set.boot_timeout;
	run(&s);
}
