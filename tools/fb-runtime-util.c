/* fb-runtime's small common pieces: errors as runc gives them, the state
 * file, and the supervisor's socket and the console socket (runc's
 * convention: a pty's master sent with SCM_RIGHTS). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "json.h" /* fb_buf_add_json_str: --log-format json */
#include "util.h"

#include "fb-runtime.h"

/* ---- errors, as runc gives them ---- */

int rt_fail(struct rt_ctx *c, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c && c->log_path) {
		FILE *f = fopen(c->log_path, "ae");
		if (f) {
			char ts[64];
			time_t now = time(NULL);
			struct tm tm;
			gmtime_r(&now, &tm);
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
			if (c->log_json) {
				struct fb_buf b = FB_BUF_INIT;
				fb_buf_adds(&b, "{\"level\":\"error\",\"msg\":");
				fb_buf_add_json_str(&b, msg);
				fb_buf_addf(&b, ",\"time\":\"%s\"}\n", ts);
				fputs(fb_buf_str(&b), f);
				fb_buf_free(&b);
			} else {
				fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", ts, msg);
			}
			fclose(f);
		}
	}
	fprintf(stderr, "fb-runtime: error: %s\n", msg);
	return 1;
}

bool rt_valid_id(const char *id)
{
	/* runc's characters; a leading dot is refused: <root>/.runc is runc's
	 * state, and no container's directory is hidden from list */
	bool ok = id[0] && id[0] != '.' && strlen(id) <= 1024;
	for (const char *p = id; *p && ok; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_+-.", *p);
	return ok;
}

/* ---- state ---- */

unsigned long long rt_proc_start(pid_t pid)
{
	char p[64], buf[4096];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = pid > 0 ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	if (!s || s[1] != ' ' || s[2] == 'Z' || s[2] == 'X')
		return 0; /* a zombie has ended */
	/* fields after the command: state is 3, starttime 22 */
	int field = 3;
	for (s += 2; *s && field < 22; s++)
		if (*s == ' ')
			field++;
	return strtoull(s, NULL, 10);
}

int rt_state_load(const char *dir, struct fb_rt_state *out, struct fb_err *err)
{
	FB_AUTOFREE char *p = fb_xasprintf("%s/state.json", dir);
	return fb_rt_state_load(p, out, err);
}

int rt_state_save(const char *dir, const struct fb_rt_state *st, struct fb_err *err)
{
	FB_AUTOFREE char *p = fb_xasprintf("%s/state.json", dir);
	return fb_rt_state_save(p, st, err);
}

/* ---- talking to the supervisor ---- */

int rt_sup_connect(const char *dir)
{
	char *p = fb_xasprintf("%s/sup.sock", dir);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = -1;
	if (strlen(p) < sizeof(a.sun_path)) {
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", p);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			fd = -1;
		}
	}
	free(p);
	return fd;
}

int rt_sup_request(const char *dir, const char *line, char *answer, size_t size, int timeout_s)
{
	int fd = rt_sup_connect(dir);
	if (fd < 0)
		return -1;
	/* a supervisor that is stuck (or stopped) does not hold the caller */
	struct timeval tv = { timeout_s, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int r = rt_send_line(fd, line, NULL, 0) < 0 || rt_read_line(fd, answer, size) < 0 ? -1 : 0;
	close(fd);
	return r;
}

int rt_send_line(int fd, const char *line, const int *fds, int nfds)
{
	size_t n = strlen(line);
	char *msg = fb_xasprintf("%s\n", line);
	struct iovec iov = { msg, n + 1 };
	char cbuf[CMSG_SPACE(sizeof(int) * 3)] = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0 && nfds <= 3) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
	size_t done = w > 0 ? (size_t)w : 0;
	/* the rest of a long line (its descriptors went with the start) */
	while (w >= 0 && done < n + 1) {
		w = send(fd, msg + done, n + 1 - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			w = 0;
		else if (w > 0)
			done += (size_t)w;
	}
	free(msg);
	return w < 0 ? -1 : 0;
}

int rt_read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n ? 0 : -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

int rt_console(const char *socket_path, int *slave, struct fb_err *err)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[128];
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		int r = fb_err_errno(err, errno, "a pty");
		if (m >= 0)
			close(m);
		return r;
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		close(m);
		return fb_err_errno(err, errno, "%s", name);
	}
	/* the guest's pty is the terminal; this one only carries bytes */
	struct termios t;
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (strlen(socket_path) >= sizeof(a.sun_path) || fd < 0) {
		close(m);
		close(s);
		if (fd >= 0)
			close(fd);
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--console-socket %s: not a usable socket path", socket_path);
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", socket_path);
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { name, strlen(name) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &m, sizeof(int));
	int r = 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		r = fb_err_errno(err, errno, "--console-socket %s", socket_path);
	close(fd);
	close(m);
	if (r < 0) {
		close(s);
		return -1;
	}
	*slave = s;
	return 0;
}
