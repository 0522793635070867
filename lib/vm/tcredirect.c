#include "tcredirect.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "proc.h"
#include "util.h"

/* Run a command; 0 or its exit code, its stderr added to errout. */
static int cmd(struct fb_buf *errout, const char *a0, ...)
{
	char *argv[24];
	int n = 0;
	va_list ap;
	va_start(ap, a0);
	for (const char *s = a0; s && n < 23; s = va_arg(ap, const char *))
		argv[n++] = (char *)s;
	va_end(ap);
	argv[n] = NULL;
	struct fb_buf out = FB_BUF_INIT;
	struct fb_err err = { 0 };
	int code = 0;
	if (fb_proc_run(argv, NULL, 0, &out, errout, &code, &err) < 0) {
		fb_buf_adds(errout, err.msg);
		code = 127;
	}
	fb_buf_free(&out);
	return code;
}

int fb_netns_enter(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = setns(fd, CLONE_NEWNET);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

int fb_tc_redirect_add(const char *ifname, const char *tap, long uid, long gid, struct fb_err *err)
{
	char us[32], gs[32];
	snprintf(us, sizeof(us), "%ld", uid);
	snprintf(gs, sizeof(gs), "%ld", gid >= 0 ? gid : uid);
	/* the tap takes the other interface's MTU */
	char mtu[16] = "1500";
	char p[512];
	snprintf(p, sizeof(p), "/sys/class/net/%s/mtu", ifname);
	FILE *f = fopen(p, "re");
	if (f) {
		if (!fgets(mtu, sizeof(mtu), f))
			strcpy(mtu, "1500");
		mtu[strcspn(mtu, "\n")] = '\0';
		fclose(f);
	}
	struct fb_buf e = FB_BUF_INIT;
	int r = uid >= 0 ? cmd(&e, "ip", "tuntap", "add", "dev", tap, "mode", "tap", "user", us, "group", gs, NULL)
			 : cmd(&e, "ip", "tuntap", "add", "dev", tap, "mode", "tap", NULL);
	if (!r)
		r = cmd(&e, "ip", "link", "set", tap, "mtu", mtu, "up", NULL);
	/* the other side can come up DOWN (a veth just moved in) */
	if (!r)
		r = cmd(&e, "ip", "link", "set", ifname, "up", NULL);
	const char *pairs[2][2] = { { ifname, tap }, { tap, ifname } };
	for (int i = 0; !r && i < 2; i++) {
		r = cmd(&e, "tc", "qdisc", "add", "dev", pairs[i][0], "ingress", NULL);
		if (!r)
			r = cmd(&e, "tc", "filter", "add", "dev", pairs[i][0], "parent", "ffff:", "protocol", "all", "u32", "match",
				"u8", "0", "0", "action", "mirred", "egress", "redirect", "dev", pairs[i][1], NULL);
	}
	if (r) {
		fb_tc_redirect_del(ifname, tap);
		fb_err_set(err, FB_EXIT_FAILED, "tc", "tap %s redirected to %s: %s", tap, ifname, fb_buf_str(&e));
		fb_buf_free(&e);
		return -1;
	}
	fb_buf_free(&e);
	return 0;
}

void fb_tc_redirect_del(const char *ifname, const char *tap)
{
	struct fb_buf e = FB_BUF_INIT;
	cmd(&e, "ip", "link", "del", tap, NULL);
	cmd(&e, "tc", "qdisc", "del", "dev", ifname, "ingress", NULL);
	fb_buf_free(&e);
}

int fb_tc_redirect_check(const char *ifname, const char *tap, struct fb_err *err)
{
	struct fb_buf e = FB_BUF_INIT;
	int r = cmd(&e, "ip", "link", "show", tap, NULL) || cmd(&e, "tc", "filter", "show", "dev", ifname, "ingress", NULL);
	if (r)
		fb_err_set(err, FB_EXIT_FAILED, "tc", "%s", fb_buf_str(&e));
	fb_buf_free(&e);
	return r ? -1 : 0;
}
