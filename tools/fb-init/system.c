/* fb-init: mounts, files, the control port, the config drive, the
 * environment file. */
#include "fb-init.h"

/* The mount point is made only when it is missing: under TCG a first
 * mkdir(2) costs the guest 10 ms even when the directory is there (and
 * fb-jail prepare makes the usual ones in the VM's copy of the image). */
void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	int r = mount(src, dst, type, flags, data);
	if (r < 0 && errno == ENOENT && mkdir(dst, 0755) == 0)
		r = mount(src, dst, type, flags, data);
	if (r < 0 && errno != EBUSY)
		say("fb-init: warning: mount %s on %s: %s", type, dst, strerror(errno));
}

/* dir is a mount point (on another device than its parent's). */
bool mounted(const char *dir, const char *parent)
{
	struct stat a, b;
	return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
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

/* The serial port fb_ctl= names on the command line (fb-jail's QEMU
 * guests: ttyS1), raw: bytes in and out as the host sends them, no echo,
 * no line editing, no modem lines waited for. */
static int open_tty(const char *name)
{
	if (strncmp(name, "ttyS", 4) || !name[4] || strspn(name + 4, "0123456789") != strlen(name + 4) || strlen(name) > 8)
		return -1;
	char p[16];
	snprintf(p, sizeof(p), "/dev/%s", name);
	int fd = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	struct termios t;
	if (fd >= 0 && tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		t.c_cflag |= CLOCAL | CREAD;
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(fd, TCSANOW, &t) == 0)
			return fd;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The control port: the serial port fb_ctl= names, else the virtio-serial
 * port the host named fb.ctl (the first port of the first device is tried
 * before a scan). */
int open_ctl(void)
{
	const char *tty = getenv("fb_ctl");
	if (tty)
		return open_tty(tty);
	if (port_named("vport0p1"))
		return open("/dev/vport0p1", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	return open_port(CTL_NAME);
}

int open_port(const char *want)
{
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
		if (!strcmp(name, want)) {
			snprintf(p, sizeof(p), "/dev/%s", e->d_name);
			fd = open(p, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		}
	}
	if (d)
		closedir(d);
	return fd;
}

char *read_config(void)
{
	int fd = open(CONFIG_DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail(125, "config drive %s: %s", CONFIG_DEV, strerror(errno));
	/* the first 4 KiB (a whole config, as a rule) into a static buffer: a
	 * 64 KiB malloc was 2.5-3.5 ms of a TCG guest (mmap and its faults);
	 * more than that, and the text goes to the heap */
	static char first[4097];
	char *buf = first;
	size_t cap = sizeof(first) - 1, len = 0;
	ssize_t n;
	while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		/* the text ends at the first NUL: the padding is not read */
		if (memchr(buf + len - (size_t)n, '\0', (size_t)n))
			break;
		if (len == cap) {
			if (cap >= (64u << 20))
				break;
			char *b2 = buf == first ? malloc(cap * 16 + 1) : realloc(buf, cap * 2 + 1);
			if (b2 && buf == first)
				memcpy(b2, first, len);
			cap = buf == first ? cap * 16 : cap * 2;
			buf = b2;
		}
	}
	/* not closed: the last close of a block device syncs it and drops
	 * its cache, ~0.8 ms of a TCG guest before its workload */
	if (!buf)
		fail(125, "out of memory");
	buf[len] = '\0';
	return buf; /* the NUL padding ends the text */
}

/* path holds text already (a regular file: no link followed). fb-jail
 * prepare writes /etc/hosts and run-env.sh into the VM's copy, as fb-init
 * would: a read then, not a TCG guest's first ext4 writes (~20 ms before
 * the workload could start); whatever differs (a spec edited after
 * prepare, the guest's own edits before a restart) is written again. */
bool has_text(const char *path, const char *text)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	size_t n = strlen(text), got = 0;
	char *buf = malloc(n + 1);
	ssize_t r = 1;
	while (buf && got < n + 1 && (r = read(fd, buf + got, n + 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	bool same = buf && r >= 0 && got == n && memcmp(buf, text, n) == 0;
	free(buf);
	return same;
}

void write_env(char **env)
{
	size_t n = 0;
	while (env[n])
		n++;
	char *text = fb_etc_run_env(env, n);
	if (text && !has_text("/etc/profile.d/run-env.sh", text)) {
		mkdir("/etc", 0755);
		mkdir("/etc/profile.d", 0755);
		write_file("/etc/profile.d/run-env.sh", text, 0644);
	}
	free(text);
}
