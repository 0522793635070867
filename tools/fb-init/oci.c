/* fb-init's OCI mode: PID 1 of an fb-runtime VM (docs/tools/fb-runtime.md).
 *
 * The kernel starts it as /init of a small initramfs that also holds the
 * container's config (/fb-oci.json, written by fb-runtime from the bundle).
 * It mounts the container's root (the engine's rootfs directory over
 * virtio-9p, or an ext4 disk), moves into it, makes the mounts, files,
 * hostname, network and sysctls of the config, then says READY on the
 * fb.io port and waits: the container is "created". START runs the
 * process; EXEC runs more (`podman exec`); their stdio travels as frames
 * on the same port (tools/fb-io.h), SIGNAL and WINSIZE reach them, and
 * each one's EXIT follows its last output. When the container's process
 * ends, everything else is killed, its code is sent, and the VM resets.
 *
 * Nothing is written to the container's stdout but the process's own
 * output: fb-init's messages go to the console (the VM's console.log). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fb-init.h"
#include "fb-io.h"

static int g_io = -1;

/* ---- frames ---- */

void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w > 0) {
			c += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = { fd, POLLOUT, 0 };
			poll(&pf, 1, 1000);
		} else {
			return; /* the host is gone: nobody to tell */
		}
	}
}

void send_frame(uint32_t stream, uint32_t kind, const void *data, size_t len)
{
	if (g_io < 0)
		return;
	struct fb_io_hdr h = { stream, kind, (uint32_t)len };
	/* one buffer, so a frame is one write where it fits */
	char buf[sizeof(h) + FB_IO_DATA_MAX];
	if (len <= FB_IO_DATA_MAX) {
		memcpy(buf, &h, sizeof(h));
		if (len)
			memcpy(buf + sizeof(h), data, len);
		write_all(g_io, buf, sizeof(h) + len);
	} else {
		write_all(g_io, &h, sizeof(h));
		write_all(g_io, data, len);
	}
}

void send_u32(uint32_t stream, uint32_t kind, uint32_t v)
{
	send_frame(stream, kind, &v, sizeof(v));
}

void send_error(uint32_t stream, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("fb-init: error: %s", msg);
	send_frame(stream, FB_IO_ERROR, msg, strlen(msg));
	send_u32(stream, FB_IO_EXIT, (uint32_t)code);
}

static void __attribute__((noreturn)) oci_power_off(void)
{
	sync();
	reboot(RB_AUTOBOOT); /* the VMM exits on reset (-no-reboot) */
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/* Before the process runs: the reason, its code, and the end. */
static void __attribute__((noreturn)) die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void __attribute__((noreturn)) die(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	send_error(0, code, "%s", msg);
	oci_power_off();
}

/* ---- the system ---- */

static void mkdir_p(const char *path, mode_t mode)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, mode);
			*s = '/';
		}
	}
	mkdir(p, mode);
}

/* struct sockaddr_vm (linux/vm_sockets.h, which musl's headers lack) */
struct fb_sockaddr_vm {
	unsigned short svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_zero[4];
};
#define FB_AF_VSOCK 40
#define FB_VMADDR_CID_HOST 2

/* A stream to the host's vsock port (Firecracker forwards it to the
 * supervisor's Unix socket uds_path_PORT), or -1. The host listens before
 * the VM starts; a few tries cover a device still coming up. */
static int connect_vsock(unsigned port)
{
	struct fb_sockaddr_vm a = { .svm_family = FB_AF_VSOCK, .svm_port = port, .svm_cid = FB_VMADDR_CID_HOST };
	for (int i = 0; i < 50; i++) {
		int fd = socket(FB_AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			fcntl(fd, F_SETFL, O_NONBLOCK);
			return fd;
		}
		if (fd >= 0)
			close(fd);
		usleep(100000);
	}
	return -1;
}

static char *read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t r;
	while (buf && (r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	close(fd);
	if (buf)
		buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

double jnum(const struct jval *o, const char *key, double def)
{
	const struct jval *v = jget(o, key);
	return v && v->t == J_NUM ? v->num : def;
}

bool jbool(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);
	return v && v->t == J_BOOL && v->b;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static char *b64dec(const char *s, size_t *out_len)
{
	size_t n = strlen(s);
	char *out = malloc(n / 4 * 3 + 4), *o = out;
	unsigned acc = 0;
	int bits = 0;
	if (!out)
		return NULL;
	for (; *s; s++) {
		int v = b64val((unsigned char)*s);
		if (v < 0)
			continue; /* padding */
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)(acc >> bits & 0xff);
		}
	}
	*out_len = (size_t)(o - out);
	return out;
}

/* The root: mounted at /newroot from the initramfs, then made / . */
static void switch_root(const struct jval *root)
{
	const char *src = jstr(root, "source"), *type = jstr(root, "type"), *data = jstr(root, "options");
	if (!src || !type)
		die(125, "config: no root to mount");
	mkdir("/newroot", 0755);
	/* read-only from the start when asked: its mount points were made on the host */
	unsigned long flags = jbool(root, "readonly") ? MS_RDONLY : 0;
	if (mount(src, "/newroot", type, flags, data) < 0)
		die(125, "mount the container's root (%s %s): %s", type, src, strerror(errno));
	/* the initramfs's /dev (a disk root's device) and /sys go */
	umount2("/sys", MNT_DETACH);
	umount2("/dev", MNT_DETACH);
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		die(125, "switch to the container's root: %s", strerror(errno));
}

/* The config's mounts, in order: {destination, type, source, flags, data}. */
static void do_mounts(const struct jval *ms)
{
	for (size_t i = 0; ms && ms->t == J_ARR && i < ms->n; i++) {
		const struct jval *m = &ms->v[i];
		const char *dst = jstr(m, "destination"), *type = jstr(m, "type"), *src = jstr(m, "source");
		const char *data = jstr(m, "data");
		unsigned long flags = (unsigned long)jnum(m, "flags", 0);
		if (!dst || !type)
			continue;
		mkdir_p(dst, 0755);
		if (mount(src ? src : type, dst, type, flags, data) < 0 && errno != EBUSY)
			say("fb-init: warning: mount %s on %s: %s", type, dst, strerror(errno));
	}
}

/* Files the engine bound into the container (resolv.conf, hosts,
 * hostname...): their content is in the config; each is written under
 * /dev/.fb-files and bound on its place, so the root is not changed. */
static void do_files(const struct jval *fs)
{
	if (!fs || fs->t != J_ARR || !fs->n)
		return;
	mkdir_p("/dev/.fb-files", 0755);
	if (mount("tmpfs", "/dev/.fb-files", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
		say("fb-init: warning: tmpfs for the files: %s", strerror(errno));
	for (size_t i = 0; i < fs->n; i++) {
		const struct jval *f = &fs->v[i];
		const char *dst = jstr(f, "destination"), *b64 = jstr(f, "data");
		if (!dst || !b64 || dst[0] != '/')
			continue;
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "/dev/.fb-files/%zu", i);
		size_t n = 0;
		char *data = b64dec(b64, &n);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)jnum(f, "mode", 0644));
		if (fd >= 0 && data && n)
			write_all(fd, data, n);
		if (fd >= 0)
			close(fd);
		free(data);
		/* the mount point: its directory, and an empty file when missing
		 * (what the image has there, a FIFO or a device, is never opened:
		 * the open would wait for a peer, or act on the device) */
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", dst);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			mkdir_p(dir, 0755);
		}
		int mp = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
		if (mp >= 0)
			close(mp);
		unsigned long ro = jbool(f, "readonly") ? MS_RDONLY : 0;
		if (mount(tmp, dst, NULL, MS_BIND, NULL) < 0)
			say("fb-init: warning: bind %s: %s", dst, strerror(errno));
		else if (ro && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
			say("fb-init: warning: read-only %s: %s", dst, strerror(errno));
	}
}

static void do_sysctls(const struct jval *sc)
{
	for (size_t i = 0; sc && sc->t == J_OBJ && i < sc->n; i++) {
		if (sc->v[i].t != J_STR || strstr(sc->k[i], ".."))
			continue;
		char p[512];
		snprintf(p, sizeof(p), "/proc/sys/%s", sc->k[i]);
		for (char *c = p + 10; *c; c++)
			if (*c == '.')
				*c = '/';
		write_file(p, sc->v[i].s, 0644);
	}
}

/* A route: {dst: "A/N" (default: everything), gateway?, dev}. */
static void add_route(const struct jval *r)
{
	const char *dst = jstr(r, "dst"), *gw = jstr(r, "gateway"), *dev = jstr(r, "dev");
	char addr[80] = "0.0.0.0";
	int prefix = 0;
	bool v6 = (dst && strchr(dst, ':')) || (gw && strchr(gw, ':'));
	if (dst && strcmp(dst, "default")) {
		snprintf(addr, sizeof(addr), "%s", dst);
		char *sl = strchr(addr, '/');
		prefix = v6 ? 128 : 32;
		if (sl) {
			*sl = '\0';
			prefix = atoi(sl + 1);
		}
	} else if (v6) {
		strcpy(addr, "::");
	}
	if (v6) {
		struct in6_rtmsg rt = { 0 };
		if (inet_pton(AF_INET6, addr, &rt.rtmsg_dst) != 1)
			return;
		rt.rtmsg_dst_len = (unsigned short)prefix;
		rt.rtmsg_metric = 1;
		rt.rtmsg_flags = RTF_UP;
		if (gw && inet_pton(AF_INET6, gw, &rt.rtmsg_gateway) == 1)
			rt.rtmsg_flags |= RTF_GATEWAY;
		rt.rtmsg_ifindex = dev ? (int)if_nametoindex(dev) : 0;
		int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s >= 0 && ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
			say("fb-init: warning: route %s via %s: %s", dst ? dst : "default", gw ? gw : "-", strerror(errno));
		if (s >= 0)
			close(s);
		return;
	}
	struct rtentry rt = { 0 };
	struct sockaddr_in *d = (struct sockaddr_in *)&rt.rt_dst, *g = (struct sockaddr_in *)&rt.rt_gateway,
			   *m = (struct sockaddr_in *)&rt.rt_genmask;
	d->sin_family = g->sin_family = m->sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &d->sin_addr) != 1)
		return;
	m->sin_addr.s_addr = prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - (prefix > 32 ? 32 : prefix)));
	rt.rt_flags = RTF_UP | (prefix == 32 ? RTF_HOST : 0);
	if (gw && inet_pton(AF_INET, gw, &g->sin_addr) == 1)
		rt.rt_flags |= RTF_GATEWAY;
	rt.rt_dev = (char *)dev;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		say("fb-init: warning: route %s via %s: %s", dst ? dst : "default", gw ? gw : "-", strerror(errno));
	if (s >= 0)
		close(s);
}

/* Interfaces in the order of the VM's NICs (eth0, eth1...), renamed to
 * the names they had in the engine's namespace; then the routes. */
static void do_network(const struct jval *net)
{
	lo_up();
	const struct jval *ifs = jget(net, "interfaces");
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (size_t i = 0; ifs && ifs->t == J_ARR && i < ifs->n; i++) {
		const char *name = jstr(&ifs->v[i], "name");
		char guest[IFNAMSIZ];
		snprintf(guest, sizeof(guest), "eth%u", (unsigned)(i & 0xff));
		if (s >= 0 && name && strcmp(name, guest)) {
			struct ifreq ifr = { 0 };
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", guest);
			snprintf(ifr.ifr_newname, sizeof(ifr.ifr_newname), "%s", name);
			if (ioctl(s, SIOCSIFNAME, &ifr) < 0)
				say("fb-init: warning: rename %s to %s: %s", guest, name, strerror(errno));
		}
		configure_if(&ifs->v[i]);
	}
	if (s >= 0)
		close(s);
	/* link routes first: a gateway is reached through them */
	const struct jval *rs = jget(net, "routes");
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; rs && rs->t == J_ARR && i < rs->n; i++)
			if ((jstr(&rs->v[i], "gateway") != NULL) == (pass == 1))
				add_route(&rs->v[i]);
}

/* One frame from the host. */
static void handle_frame(const struct fb_io_hdr *h, const char *data, bool *started)
{
	struct proc *p = proc_of_stream(h->stream);
	switch (h->kind) {
	case FB_IO_START:
		if (h->stream == 0 && !*started) {
			*started = true;
			if (!p || !proc_launch(p))
				oci_power_off();
		}
		break;
	case FB_IO_SIGNAL: {
		uint32_t v[2] = { 0, 0 };
		memcpy(v, data, h->len < sizeof(v) ? h->len : sizeof(v));
		if (h->stream == 0 && v[1])
			kill(-1, (int)v[0]); /* everything but us */
		else if (p)
			kill(p->pid, (int)v[0]);
		break;
	}
	case FB_IO_EXEC: {
		char *text = malloc(h->len + 1);
		if (!text)
			break;
		memcpy(text, data, h->len);
		text[h->len] = '\0';
		struct jp jp = { text, text + h->len, 0 };
		struct jval pr = { 0 };
		if (p)
			send_error(h->stream, 125, "stream %u is in use", h->stream);
		else if (jvalue(&jp, &pr) < 0 || pr.t != J_OBJ)
			send_error(h->stream, 125, "exec: the process is not a JSON object");
		else
			spawn_proc(h->stream, &pr);
		/* the process has what it needs of pr (spawn_proc launched it):
		 * each exec's tree given back, or a long-lived container's
		 * execs (probes) would grow PID 1 until the guest ran out */
		jfree(&pr);
		free(text);
		break;
	}
	case FB_IO_STDIN:
		if (!p)
			break;
		if (h->len == 0) {
			/* a terminal's input has no end of its own */
			p->in_eof = p->master < 0;
		} else {
			char *np = realloc(p->pend, p->npend + h->len);
			if (np) {
				memcpy(np + p->npend, data, h->len);
				p->pend = np;
				p->npend += h->len;
			}
		}
		stdin_flush(p);
		break;
	case FB_IO_WINSIZE:
		if (p && p->master >= 0 && h->len >= 4) {
			uint16_t rc[2];
			memcpy(rc, data, 4);
			struct winsize ws = { rc[0], rc[1], 0, 0 };
			ioctl(p->master, TIOCSWINSZ, &ws);
		}
		break;
	default: break;
	}
}

void oci_main(void)
{
	umask(022);
	reboot(RB_DISABLE_CAD);
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	/* the initramfs: its /dev, /sys for the port, the config */
	mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	size_t clen = 0;
	char *text = read_all(FB_OCI_CONFIG, &clen);
	struct jp jp = { text, text ? text + clen : NULL, 0 };
	struct jval cfg;
	bool cfg_ok = text && jvalue(&jp, &cfg) == 0 && cfg.t == J_OBJ;
	/* the fb.io stream: a vsock to the host (Firecracker), else the port */
	double vport = cfg_ok ? jnum(jget(&cfg, "io"), "vsock_port", 0) : 0;
	g_io = vport > 0 ? connect_vsock((unsigned)vport) : open_port(FB_IO_PORT);
	if (g_io < 0)
		say("fb-init: error: no fb.io (%s)", vport > 0 ? "vsock" : FB_IO_PORT);
	if (!cfg_ok)
		die(125, "%s: not a JSON object", FB_OCI_CONFIG);
	switch_root(jget(&cfg, "root"));
	/* the kernel's file systems, then the bundle's mounts over them */
	mnt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	do_mounts(jget(&cfg, "mounts"));
	if (access("/dev/ptmx", F_OK) != 0 || access("/dev/pts/ptmx", F_OK) == 0) {
		unlink("/dev/ptmx");
		symlink("pts/ptmx", "/dev/ptmx");
	}
	const char *hostname = jstr(&cfg, "hostname");
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		say("fb-init: warning: sethostname: %s", strerror(errno));
	do_files(jget(&cfg, "files"));
	do_sysctls(jget(&cfg, "sysctl"));
	do_network(jget(&cfg, "network"));

	/* the container's process, made ready; what runc says at create when
	 * its program is not there */
	if (!proc_prepare(0, jget(&cfg, "process")))
		oci_power_off();
	int sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	send_frame(0, FB_IO_READY, NULL, 0);

	bool started = false;
	size_t cap = 1 << 16, have = 0;
	char *rbuf = malloc(cap);
	for (;;) {
		struct pollfd pf[2 + MAX_PROCS * 3];
		struct {
			struct proc *p;
			int which; /* 0 out, 1 err, 2 master, 3 stdin */
		} map[2 + MAX_PROCS * 3];
		int n = 0;
		pf[n++] = (struct pollfd){ sfd, POLLIN, 0 };
		pf[n++] = (struct pollfd){ g_io, POLLIN, 0 };
		for (int i = 0; i < MAX_PROCS; i++) {
			struct proc *p = &g_procs[i];
			if (!p->used)
				continue;
			if (p->out >= 0)
				map[n].p = p, map[n].which = 0, pf[n++] = (struct pollfd){ p->out, POLLIN, 0 };
			if (p->err >= 0)
				map[n].p = p, map[n].which = 1, pf[n++] = (struct pollfd){ p->err, POLLIN, 0 };
			if (p->master >= 0)
				map[n].p = p, map[n].which = 2,
				pf[n++] = (struct pollfd){ p->master, (short)(POLLIN | (p->npend ? POLLOUT : 0)), 0 };
			else if (p->in >= 0 && p->npend)
				map[n].p = p, map[n].which = 3, pf[n++] = (struct pollfd){ p->in, POLLOUT, 0 };
		}
		if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR)
			continue;
		for (int i = 2; i < n; i++) {
			if (!pf[i].revents || !map[i].p->used)
				continue;
			struct proc *p = map[i].p;
			if (map[i].which == 0)
				drain(p, &p->out, FB_IO_STDOUT, false);
			else if (map[i].which == 1)
				drain(p, &p->err, FB_IO_STDERR, false);
			else if (map[i].which == 2 && (pf[i].revents & POLLIN))
				drain(p, &p->master, FB_IO_STDOUT, false);
			if ((map[i].which == 2 || map[i].which == 3) && (pf[i].revents & (POLLOUT | POLLERR | POLLHUP)))
				stdin_flush(p);
		}
		if (pf[1].revents & POLLIN) {
			ssize_t r;
			while ((r = read(g_io, rbuf + have, cap - have)) > 0) {
				have += (size_t)r;
				if (have == cap) {
					char *nb = realloc(rbuf, cap * 2);
					if (!nb)
						break;
					rbuf = nb;
					cap *= 2;
				}
			}
			size_t off = 0;
			struct fb_io_hdr h;
			while (have - off >= sizeof(h)) {
				memcpy(&h, rbuf + off, sizeof(h));
				if (h.len > FB_IO_FRAME_MAX) {
					say("fb-init: error: a frame of %u bytes from the host", h.len);
					have = off = 0;
					break;
				}
				if (have - off < sizeof(h) + h.len)
					break;
				handle_frame(&h, rbuf + off + sizeof(h), &started);
				off += sizeof(h) + h.len;
			}
			memmove(rbuf, rbuf + off, have - off);
			have -= off;
		}
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				continue;
			/* what the kernel sends PID 1 goes to the container's process */
			struct proc *m = proc_of_stream(0);
			if (m)
				kill(m->pid, (int)si.ssi_signo);
		}
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (int i = 0; i < MAX_PROCS; i++) {
				struct proc *p = &g_procs[i];
				if (!p->used || p->pid != pid)
					continue;
				if (p->stream == 0) {
					/* the container ends with its process: the rest goes */
					int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
					say("fb-init: the container's process exited with %d", code);
					kill(-1, SIGKILL);
					proc_end(p, st);
					oci_power_off();
				}
				proc_end(p, st);
			}
		}
	}
}
