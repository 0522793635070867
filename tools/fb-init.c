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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fb-init.h"
#include "fb-io.h"

#define CONFIG_DEV "/dev/vdb"
#define CTL_NAME "fb.ctl"

static int g_ctl = -1; /* the control port, or -1 */

/* One line (a newline added) to fd: the console, or the control port
 * (non-blocking: a moment is given for room while the host reads). */
static void line_to(int fd, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void line_to(int fd, const char *fmt, va_list ap)
{
	char buf[1100];
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	if (n < 0 || fd < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (fd == g_ctl) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		poll(&pf, 1, 2000);
	}
	if (write(fd, buf, (size_t)n) < 0) {
		/* nowhere else to say it: the console has the rest */
	}
}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line_to(2, fmt, ap);
	va_end(ap);
}

static void ctl_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ctl_send(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line_to(g_ctl, fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn)) power_off(int code)
{
	ctl_send("exit %d", code);
	say("fb-init: workload exited with %d; powering off", code);
	sync();
	/* the VMM exits on reset (QEMU -no-reboot, Firecracker) */
	reboot(RB_AUTOBOOT);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void __attribute__((noreturn)) fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void __attribute__((noreturn)) fail(int code, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("fb-init: error: %s", buf);
	ctl_send("error %s", buf);
	power_off(code);
}

/* ---- a small JSON reader: what the config drive needs ---- */

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static void put_utf8(char **o, unsigned cp)
{
	unsigned char *u = (unsigned char *)*o;
	if (cp < 0x80) {
		*u++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*u++ = (unsigned char)(0xc0 | cp >> 6);
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*u++ = (unsigned char)(0xe0 | cp >> 12);
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*u++ = (unsigned char)(0xf0 | cp >> 18);
		*u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*o = (char *)u;
}

static int hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*out = *out * 16 + (unsigned)d;
	}
	return 0;
}

static int jstring(struct jp *j, char **out)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	char *buf = malloc((size_t)(j->end - j->p) * 2 + 1), *o = buf;
	if (!buf)
		return -1;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		if (j->p >= j->end)
			break;
		c = *j->p++;
		switch (c) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned cp, lo;
			if (j->end - j->p < 4 || hex4(j->p, &cp) < 0) {
				free(buf);
				return -1;
			}
			j->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
			    hex4(j->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				j->p += 6;
			}
			put_utf8(&o, cp);
			break;
		}
		default: *o++ = c; break;
		}
	}
	if (j->p >= j->end) {
		free(buf);
		return -1;
	}
	j->p++;
	*o = '\0';
	*out = buf;
	return 0;
}

int jvalue(struct jp *j, struct jval *v)
{
	memset(v, 0, sizeof(*v));
	ws(j);
	if (j->p >= j->end || ++j->depth > 32)
		return -1;
	int r = 0;
	char c = *j->p;
	if (c == '"') {
		v->t = J_STR;
		r = jstring(j, &v->s);
	} else if (c == '{' || c == '[') {
		bool obj = c == '{';
		v->t = obj ? J_OBJ : J_ARR;
		j->p++;
		ws(j);
		if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
			j->p++;
		} else {
			for (;;) {
				char *key = NULL;
				if (obj) {
					ws(j);
					if (jstring(j, &key) < 0)
						return -1;
					ws(j);
					if (j->p >= j->end || *j->p++ != ':') {
						free(key);
						return -1;
					}
				}
				struct jval *nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
				char **nk = obj ? realloc(v->k, (v->n + 1) * sizeof(*nk)) : NULL;
				if (!nv || (obj && !nk))
					return -1;
				v->v = nv;
				if (obj) {
					v->k = nk;
					v->k[v->n] = key;
				}
				if (jvalue(j, &v->v[v->n]) < 0)
					return -1;
				v->n++;
				ws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					continue;
				}
				if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
					j->p++;
					break;
				}
				return -1;
			}
		}
	} else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
		v->t = J_BOOL;
		v->b = *j->p == 't';
		j->p += v->b ? 4 : 5;
	} else if (!strncmp(j->p, "null", 4)) {
		j->p += 4;
	} else {
		char *e;
		v->t = J_NUM;
		v->num = strtod(j->p, &e);
		if (e == j->p)
			return -1;
		j->p = e;
	}
	j->depth--;
	return r;
}

const struct jval *jget(const struct jval *o, const char *key)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->k[i], key))
			return &o->v[i];
	return NULL;
}

const char *jstr(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);
	return v && v->t == J_STR ? v->s : NULL;
}

/* An array of strings as a NULL-ended vector (borrowed strings). */
char **jstrv(const struct jval *o, const char *key, size_t *n)
{
	const struct jval *v = jget(o, key);
	*n = 0;
	char **out = calloc((v && v->t == J_ARR ? v->n : 0) + 1, sizeof(char *));
	if (!out)
		fail(125, "out of memory");
	for (size_t i = 0; v && v->t == J_ARR && i < v->n; i++)
		if (v->v[i].t == J_STR)
			out[(*n)++] = v->v[i].s;
	return out;
}

/* ---- the system ---- */

void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY)
		say("fb-init: warning: mount %s on %s: %s", type, dst, strerror(errno));
}

void write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		say("fb-init: warning: %s: %s", path, strerror(errno));
		return;
	}
	size_t n = strlen(data);
	if (write(fd, data, n) != (ssize_t)n)
		say("fb-init: warning: %s: %s", path, strerror(errno));
	close(fd);
}

void lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
}

static int set_addr(int s, const char *dev, unsigned long req, in_addr_t a)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = a;
	return ioctl(s, req, &ifr);
}

/* The kernel's struct in6_ifreq (linux/ipv6.h), which libc does not have. */
struct fb_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

/* An IPv6 address ("fd00::5/64") on the interface, usable at once (no
 * duplicate address detection: the address is CNI's to give), and a
 * default route through gw. */
static void add_ipv6(const char *name, const char *cidr, const char *gw)
{
	char addr[80], p[128];
	snprintf(addr, sizeof(addr), "%s", cidr);
	int prefix = 128;
	char *slash = strchr(addr, '/');
	if (slash) {
		*slash = '\0';
		prefix = atoi(slash + 1);
	}
	struct fb_in6_ifreq r = { .prefixlen = (uint32_t)prefix, .ifindex = (int)if_nametoindex(name) };
	if (inet_pton(AF_INET6, addr, &r.addr) != 1) {
		say("fb-init: warning: %s: %s is not an IPv6 address", name, cidr);
		return;
	}
	snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/accept_dad", name);
	write_file(p, "0\n", 0644);
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		say("fb-init: warning: %s: no IPv6 here (%s)", name, strerror(errno));
		return;
	}
	if (ioctl(s, SIOCSIFADDR, &r) < 0 && errno != EEXIST)
		say("fb-init: warning: %s: address %s: %s", name, cidr, strerror(errno));
	struct in6_addr g;
	if (gw && inet_pton(AF_INET6, gw, &g) == 1) {
		struct in6_rtmsg rt = { 0 };
		rt.rtmsg_gateway = g;
		rt.rtmsg_metric = 1;
		rt.rtmsg_flags = RTF_UP | RTF_GATEWAY;
		rt.rtmsg_ifindex = r.ifindex;
		if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
			say("fb-init: warning: IPv6 default route via %s: %s", gw, strerror(errno));
	}
	close(s);
}

/* An interface from the CNI result: "ip": "10.88.0.2/24", "gateway",
 * "mtu", and every address in "ips" (IPv6 ones too); the MAC is the NIC's
 * already (the VMM sets it). Up first, then the addresses and routes. */
void configure_if(const struct jval *it)
{
	const char *name = jstr(it, "name"), *ip = jstr(it, "ip"), *gw = jstr(it, "gateway");
	if (!name || !ip)
		return;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	const struct jval *mtu = jget(it, "mtu");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (mtu && mtu->t == J_NUM) {
		ifr.ifr_mtu = (int)mtu->num;
		ioctl(s, SIOCSIFMTU, &ifr);
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	/* IPv4: ip and gateway */
	char addr[64];
	snprintf(addr, sizeof(addr), "%s", ip);
	int prefix = 32;
	char *slash = strchr(addr, '/');
	if (slash) {
		*slash = '\0';
		prefix = atoi(slash + 1);
	}
	struct in_addr a, g;
	if (inet_pton(AF_INET, addr, &a) == 1) {
		in_addr_t mask = prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - (prefix > 32 ? 32 : prefix)));
		if (set_addr(s, name, SIOCSIFADDR, a.s_addr) < 0 || set_addr(s, name, SIOCSIFNETMASK, mask) < 0)
			say("fb-init: warning: %s: address %s: %s", name, ip, strerror(errno));
		if (gw && inet_pton(AF_INET, gw, &g) == 1) {
			struct rtentry rt = { 0 };
			struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst, *gwa = (struct sockaddr_in *)&rt.rt_gateway,
					   *msk = (struct sockaddr_in *)&rt.rt_genmask;
			dst->sin_family = gwa->sin_family = msk->sin_family = AF_INET;
			gwa->sin_addr = g;
			rt.rt_flags = RTF_UP | RTF_GATEWAY;
			rt.rt_dev = (char *)name;
			if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
				say("fb-init: warning: default route via %s: %s", gw, strerror(errno));
		}
	} else if (!strchr(ip, ':')) {
		say("fb-init: warning: %s: %s is not an IP address", name, ip);
	}
	close(s);
	/* IPv6: every such address in ips (ip itself when there is no ips) */
	const struct jval *ips = jget(it, "ips");
	if (!ips || ips->t != J_ARR) {
		if (strchr(ip, ':'))
			add_ipv6(name, ip, gw);
		return;
	}
	for (size_t i = 0; i < ips->n; i++) {
		const char *a6 = jstr(&ips->v[i], "address");
		if (a6 && strchr(a6, ':'))
			add_ipv6(name, a6, jstr(&ips->v[i], "gateway"));
	}
}

static bool port_named(const char *port)
{
	char p[300], name[64] = "";
	snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", port);
	int nf = open(p, O_RDONLY | O_CLOEXEC);
	if (nf < 0)
		return false;
	ssize_t n = read(nf, name, sizeof(name) - 1);
	close(nf);
	if (n > 0 && name[n - 1] == '\n')
		n--;
	name[n > 0 ? n : 0] = '\0';
	return !strcmp(name, CTL_NAME);
}

/* The virtio-serial port the host named fb.ctl (the first port of the
 * first device, as firebuild makes it, is tried before a scan). */
static int open_ctl(void)
{
	if (port_named("vport0p1"))
		return open("/dev/vport0p1", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	int fd = -1;
	while (d && fd < 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[300], name[64] = "";
		snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", e->d_name);
		int nf = open(p, O_RDONLY | O_CLOEXEC);
		if (nf < 0)
			continue;
		ssize_t n = read(nf, name, sizeof(name) - 1);
		close(nf);
		if (n > 0 && name[n - 1] == '\n')
			n--;
		name[n > 0 ? n : 0] = '\0';
		if (!strcmp(name, CTL_NAME)) {
			snprintf(p, sizeof(p), "/dev/%s", e->d_name);
			fd = open(p, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		}
	}
	if (d)
		closedir(d);
	return fd;
}

static char *read_config(void)
{
	int fd = open(CONFIG_DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail(125, "config drive %s: %s", CONFIG_DEV, strerror(errno));
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t n;
	while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			if (cap >= (64u << 20))
				break;
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	close(fd);
	if (!buf)
		fail(125, "out of memory");
	buf[len] = '\0';
	return buf; /* the NUL padding ends the text */
}

/* Shell-quote for run-env.sh: 'it'\''s'. */
static void sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

static void write_env(char **env)
{
	mkdir("/etc", 0755);
	mkdir("/etc/profile.d", 0755);
	FILE *f = fopen("/etc/profile.d/run-env.sh", "we");
	if (!f) {
		say("fb-init: warning: /etc/profile.d/run-env.sh: %s", strerror(errno));
		return;
	}
	fputs("# written by fb-init: the image's ENV, then --env-file files, then --env\n", f);
	for (size_t i = 0; env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i])
			continue;
		fprintf(f, "export %.*s=", (int)(eq - env[i]), env[i]);
		sh_quote(f, eq + 1);
		fputc('\n', f);
	}
	fclose(f);
}

const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}


/* ---- SSH: --ssh-user's keys, per-VM host keys, the image's server ---- */

static pid_t spawn(char *const argv[])
{
	pid_t p = fork();
	if (p == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 0);
		char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		execve(argv[0], argv, env);
		_exit(127);
	}
	return p;
}

static int run_wait(char *const argv[])
{
	pid_t p = spawn(argv);
	int st = 0;
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The user's uid, gid and home from /etc/passwd; made when missing. */
static bool ssh_user(const char *name, uid_t *uid, gid_t *gid, char *home, size_t hlen)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[1024];
	unsigned long max = 999;
	bool found = false;
	while (f && fgets(line, sizeof(line), f)) {
		char *fld[7] = { 0 }, *p = line;
		for (int i = 0; i < 7 && p; i++) {
			fld[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (!fld[5])
			continue;
		unsigned long u = strtoul(fld[2], NULL, 10);
		if (u > max && u < 60000)
			max = u;
		if (!strcmp(fld[0], name)) {
			*uid = (uid_t)u;
			*gid = (gid_t)strtoul(fld[3], NULL, 10);
			snprintf(home, hlen, "%s", fld[5]);
			found = true;
		}
	}
	if (f)
		fclose(f);
	if (found)
		return true;
	*uid = (uid_t)(max + 1);
	*gid = (gid_t)(max + 1);
	snprintf(home, hlen, "/home/%s", name);
	FILE *pw = fopen("/etc/passwd", "ae"), *gr = fopen("/etc/group", "ae");
	if (!pw) {
		if (gr)
			fclose(gr);
		return false;
	}
	fprintf(pw, "%s:x:%u:%u::%s:/bin/sh\n", name, (unsigned)*uid, (unsigned)*gid, home);
	fclose(pw);
	if (gr) {
		fprintf(gr, "%s:x:%u:\n", name, (unsigned)*gid);
		fclose(gr);
	}
	/* a locked password: key logins only (dropbear and sshd need an entry) */
	FILE *sh = fopen("/etc/shadow", "ae");
	if (sh) {
		fprintf(sh, "%s:*:19000:0:99999:7:::\n", name);
		fclose(sh);
	}
	mkdir("/home", 0755);
	return true;
}

static void setup_ssh(const struct jval *cfg)
{
	const struct jval *ssh = jget(cfg, "ssh");
	const char *name = jstr(ssh, "user");
	size_t nk;
	char **keys = jstrv(ssh, "keys", &nk);
	if (!name || !nk) {
		free(keys);
		return;
	}
	uid_t uid;
	gid_t gid;
	char home[256], dir[300], file[320];
	if (!ssh_user(name, &uid, &gid, home, sizeof(home))) {
		say("fb-init: warning: --ssh-user %s: cannot add the user", name);
		free(keys);
		return;
	}
	mkdir(home, 0755);
	chown(home, uid, gid);
	snprintf(dir, sizeof(dir), "%s/.ssh", home);
	mkdir(dir, 0700);
	chown(dir, uid, gid);
	chmod(dir, 0700);
	snprintf(file, sizeof(file), "%s/authorized_keys", dir);
	FILE *f = fopen(file, "we");
	for (size_t i = 0; f && i < nk; i++)
		fprintf(f, "%s\n", keys[i]);
	if (f) {
		fclose(f);
		chown(file, uid, gid);
		chmod(file, 0600);
	}
	free(keys);
	/* the server the image has; host keys made here, so no two VMs share them */
	if (access("/usr/sbin/sshd", X_OK) == 0) {
		mkdir("/run/sshd", 0755);
		if (access("/usr/bin/ssh-keygen", X_OK) == 0)
			run_wait((char *const[]){ "/usr/bin/ssh-keygen", "-A", NULL });
		if (spawn((char *const[]){ "/usr/sbin/sshd", "-D", "-e", NULL }) > 0)
			say("fb-init: sshd started for %s", name);
	} else if (access("/usr/sbin/dropbear", X_OK) == 0) {
		mkdir("/etc/dropbear", 0755);
		if (spawn((char *const[]){ "/usr/sbin/dropbear", "-R", "-F", "-E", "-p", "22", NULL }) > 0)
			say("fb-init: dropbear started for %s", name);
	} else {
		say("fb-init: warning: --ssh-user %s: the image has no sshd or dropbear", name);
	}
}

struct user {
	uid_t uid;
	gid_t gid;
	char home[256];
	char name[64];
	gid_t groups[64];
	int ngroups;
};

/* USER as Docker reads it: name or uid, optional :group, from the image's
 * own /etc/passwd and /etc/group. */
static void resolve_user(const char *spec, struct user *u)
{
	memset(u, 0, sizeof(*u));
	strcpy(u->home, "/");
	strcpy(u->name, "root");
	if (!spec || !*spec)
		spec = "0";
	char us[128], *gs = NULL;
	snprintf(us, sizeof(us), "%s", spec);
	if ((gs = strchr(us, ':')))
		*gs++ = '\0';
	char *end;
	unsigned long num = strtoul(us, &end, 10);
	bool numeric = *us && !*end;
	bool found = false;
	FILE *f = fopen("/etc/passwd", "re");
	char line[1024];
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *fld[7] = { 0 }, *p = line;
		for (int i = 0; i < 7 && p; i++) {
			fld[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (!fld[3])
			continue;
		if ((numeric && strtoul(fld[2], NULL, 10) == num) || (!numeric && !strcmp(fld[0], us))) {
			u->uid = (uid_t)strtoul(fld[2], NULL, 10);
			u->gid = (gid_t)strtoul(fld[3], NULL, 10);
			snprintf(u->name, sizeof(u->name), "%s", fld[0]);
			if (fld[5] && *fld[5])
				snprintf(u->home, sizeof(u->home), "%s", fld[5]);
			found = true;
		}
	}
	if (f)
		fclose(f);
	if (!found) {
		if (!numeric)
			fail(125, "unable to find user %s: no matching entries in passwd file", us);
		/* no entry: the root group, as runc (Docker: "run with the root group") */
		u->uid = (uid_t)num;
		u->gid = 0;
		u->name[0] = '\0';
	}
	if (gs && *gs) {
		num = strtoul(gs, &end, 10);
		if (*gs && !*end) {
			u->gid = (gid_t)num;
		} else {
			bool g = false;
			f = fopen("/etc/group", "re");
			while (f && !g && fgets(line, sizeof(line), f)) {
				char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
				if (c1 && c2 && (size_t)(c1 - line) == strlen(gs) && !strncmp(line, gs, strlen(gs))) {
					u->gid = (gid_t)strtoul(c2 + 1, NULL, 10);
					g = true;
				}
			}
			if (f)
				fclose(f);
			if (!g)
				fail(125, "unable to find group %s: no matching entries in group file", gs);
		}
	}
	/* supplementary groups: the user's name in /etc/group's member lists,
	 * unless a group was given (runc's GetExecUser) */
	u->groups[u->ngroups++] = u->gid;
	f = u->name[0] && !(gs && *gs) ? fopen("/etc/group", "re") : NULL;
	while (f && fgets(line, sizeof(line), f) && u->ngroups < 64) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
		if (!c3)
			continue;
		for (char *m = strtok(c3 + 1, ","); m; m = strtok(NULL, ","))
			if (!strcmp(m, u->name)) {
				u->groups[u->ngroups++] = (gid_t)strtoul(c2 + 1, NULL, 10);
				break;
			}
	}
	if (f)
		fclose(f);
}

/* execvp with the workload's PATH, not ours. */
void exec_in_path(char **argv, char **env)
{
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, env);
		return;
	}
	const char *path = env_get(env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int saved = ENOENT;
	for (const char *p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char full[4096];
		snprintf(full, sizeof(full), "%.*s%s%s", (int)n, p, n ? "/" : "", argv[0]);
		execve(full, argv, env);
		if (errno != ENOENT)
			saved = errno;
		if (!e)
			break;
		p = e;
	}
	errno = saved;
}

int sig_by_name(const char *s)
{
	static const struct {
		const char *n;
		int s;
	} t[] = { { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
		  { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "WINCH", SIGWINCH },
		  { "PWR", SIGPWR } };
	if (!s || !*s)
		return SIGTERM;
	if (isdigit((unsigned char)*s))
		return atoi(s);
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcasecmp(s, t[i].n))
			return t[i].s;
	return SIGTERM;
}

static bool g_trace;
static void trace(const char *what)
{
	if (!g_trace)
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	say("fb-init: [%ld.%06ld] %s", (long)t.tv_sec, t.tv_nsec / 1000, what);
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
	mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	mnt("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mnt("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mnt("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	if (access("/dev/ptmx", F_OK) != 0)
		symlink("pts/ptmx", "/dev/ptmx");
	trace("mounted");
	g_ctl = open_ctl();
	trace("control port");

	char *text = read_config();
	struct jp jp = { text, text + strlen(text), 0 };
	struct jval cfg;
	if (jvalue(&jp, &cfg) < 0 || cfg.t != J_OBJ)
		fail(125, "config drive %s: not a JSON object", CONFIG_DEV);

	trace("config read");
	const char *hostname = jstr(&cfg, "hostname");
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		say("fb-init: warning: sethostname: %s", strerror(errno));
	char hosts[1024];
	snprintf(hosts, sizeof(hosts), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n",
		 hostname ? hostname : "localhost");
	mkdir("/etc", 0755);
	write_file("/etc/hosts", hosts, 0644);
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
		sprintf(h, "HOME=%s", u.home);
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
	pid_t child = fork();
	if (child < 0)
		fail(125, "fork: %s", strerror(errno));
	if (child == 0) {
		close(rep[0]);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* its own session on the console: ^C there is its SIGINT */
		setsid();
		ioctl(0, TIOCSCTTY, 0);
		int e = 0;
		const char *what = "";
		if (setgroups((size_t)u.ngroups, u.groups) < 0 || setgid(u.gid) < 0 || setuid(u.uid) < 0)
			e = errno, what = "user";
		else if (chdir(wd) < 0)
			e = errno, what = "workdir";
		if (!e) {
			exec_in_path(args, env);
			e = errno, what = "exec";
		}
		char msg[512];
		int code = !strcmp(what, "exec") ? (e == ENOENT ? 127 : 126) : 125;
		snprintf(msg, sizeof(msg), "%c%s %s: %s", code, what,
			 !strcmp(what, "exec") ? args[0] : !strcmp(what, "workdir") ? wd : u.name, strerror(e));
		if (write(rep[1], msg, strlen(msg)) < 0) {
			/* the parent sees the exit code anyway */
		}
		_exit(code);
	}
	close(rep[1]);
	trace("forked");
	ctl_send("started %d", (int)child);
	trace("reported");
	char msg[512];
	ssize_t mn = read(rep[0], msg, sizeof(msg) - 1);
	close(rep[0]);
	if (mn > 0) {
		msg[mn] = '\0';
		waitpid(child, NULL, 0);
		fail((unsigned char)msg[0], "%s", msg + 1);
	}

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
