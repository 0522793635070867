/* tc-redirect-tap: a chained CNI plugin (spec 0.4.0 and 1.0.0). After the
 * plugins before it gave the VM's namespace an interface (CNI_IFNAME, a
 * veth from bridge or ptp), it adds a tap device there and redirects
 * everything between the two with tc (ingress qdisc + mirred redirect,
 * both ways), so a VMM reading the tap is on the CNI network with the
 * veth's MAC and IP. Its result is the previous one plus the tap, with
 * the veth's MAC.
 *
 * Config: {"type": "tc-redirect-tap", "tapName": "tap0" (default), "uid":
 * N, "gid": N (the tap's owner, for a jailed VMM)} chained after bridge /
 * ptp with prevResult. Uses ip(8) and tc(8) inside the namespace. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni.h"
#include "cni_doc.h"
#include "err.h"
#include "proc.h"
#include "util.h"

/* The CNI error object on stdout; returns the exit status (2 for a config
 * or an environment that is not what the spec asks for, 1 otherwise). */
static int cni_error(const char *version, int code, int status, const char *msg, const char *details)
{
	char *t = fb_cni_error_json(version, code, msg, details);
	printf("%s\n", t);
	free(t);
	return status;
}

/* Run a command in our (the target's) network namespace; 0 or its code. */
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

static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = setns(fd, CLONE_NEWNET);
	close(fd);
	return r;
}

int main(void)
{
	const char *command = getenv("CNI_COMMAND"), *netns = getenv("CNI_NETNS"), *ifname = getenv("CNI_IFNAME");
	if (command && !strcmp(command, "VERSION")) {
		char *t = fb_cni_version_json();
		printf("%s\n", t);
		free(t);
		return 0;
	}
	struct fb_err err = { 0 };
	struct fb_buf in = FB_BUF_INIT;
	if (fb_read_fd_max(0, &in, 256u << 20, &err) /* what a tool reads */ < 0) {
		fb_buf_free(&in);
		return cni_error(NULL, 6, 2, "tc-redirect-tap: invalid network config on stdin", err.msg);
	}
	struct fb_tap_conf tc;
	int dr = fb_cni_tap_conf_decode(fb_buf_str(&in), in.len, command, ifname, &tc, &err);
	fb_buf_free(&in);
	/* the config must be JSON first; then the environment; then the rest */
	if (dr < 0 && !strcmp(err.kind, "json"))
		return cni_error(NULL, 6, 2, "tc-redirect-tap: invalid network config on stdin", err.msg);
	if (!command || !ifname || (!netns && strcmp(command, "DEL"))) {
		if (dr == 0)
			fb_cni_tap_conf_free(&tc);
		return cni_error(NULL, 4, 2, "tc-redirect-tap: CNI_COMMAND, CNI_NETNS and CNI_IFNAME are required", NULL);
	}
	if (dr < 0) {
		/* the message names the member: .prevResult.interfaces[0].mac: ... */
		int code = !strcmp(err.kind, "cni_env") ? 4 : !strcmp(err.kind, "cni_config") ? 7 : 6;
		return cni_error(NULL, code, 2, code == 6 ? "tc-redirect-tap: invalid network config on stdin" : err.msg,
				 code == 6 ? err.msg : NULL);
	}
	const char *version = tc.version, *tap = tc.tap;
	if (!strcmp(command, "DEL")) {
		/* idempotent: a namespace or tap already gone is fine */
		if (netns && *netns && enter_netns(netns) == 0) {
			struct fb_buf e = FB_BUF_INIT;
			cmd(&e, "ip", "link", "del", tap, NULL);
			cmd(&e, "tc", "qdisc", "del", "dev", ifname, "ingress", NULL);
			fb_buf_free(&e);
		}
		fb_cni_tap_conf_free(&tc);
		return 0;
	}
	if (enter_netns(netns) < 0) {
		char d[512];
		snprintf(d, sizeof(d), "%s: %s", netns, strerror(errno));
		int r = cni_error(version, 11, 1, "tc-redirect-tap: cannot enter the network namespace", d);
		fb_cni_tap_conf_free(&tc);
		return r;
	}
	struct fb_buf e = FB_BUF_INIT;
	if (!strcmp(command, "CHECK")) {
		int r = cmd(&e, "ip", "link", "show", tap, NULL) || cmd(&e, "tc", "filter", "show", "dev", ifname, "ingress", NULL);
		if (r)
			r = cni_error(version, 11, 1, "tc-redirect-tap: the tap or its redirect is missing", fb_buf_str(&e));
		fb_buf_free(&e);
		fb_cni_tap_conf_free(&tc);
		return r;
	}
	if (strcmp(command, "ADD")) {
		int r = cni_error(version, 4, 1, "tc-redirect-tap: unknown CNI_COMMAND", command);
		fb_buf_free(&e);
		fb_cni_tap_conf_free(&tc);
		return r;
	}
	long long uid = tc.uid, gid = tc.gid;
	/* the runtime may name the tap's owner per VM (a jailed VMM's user):
	 * CNI_ARGS TAP_UID=N;TAP_GID=N */
	const char *cargs = getenv("CNI_ARGS");
	for (const char *a = cargs; a && *a;) {
		const char *semi = strchr(a, ';');
		size_t n = semi ? (size_t)(semi - a) : strlen(a);
		long long *id = n > 8 && !strncmp(a, "TAP_UID=", 8) ? &uid : n > 8 && !strncmp(a, "TAP_GID=", 8) ? &gid : NULL;
		if (id) {
			char *end;
			errno = 0;
			*id = strtoll(a + 8, &end, 10);
			if (errno || end != a + n || *id < 0 || *id > 4294967294LL) {
				char d[96];
				snprintf(d, sizeof(d), "%.*s", (int)(n < 64 ? n : 64), a);
				int r = cni_error(version, 4, 2, "tc-redirect-tap: CNI_ARGS: TAP_UID and TAP_GID take a number", d);
				fb_buf_free(&e);
				fb_cni_tap_conf_free(&tc);
				return r;
			}
		}
		a = semi ? semi + 1 : a + n;
	}
	char us[32], gs[32];
	snprintf(us, sizeof(us), "%lld", uid);
	snprintf(gs, sizeof(gs), "%lld", gid);
	/* the tap takes the veth's MTU */
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
	int r = uid >= 0 ? cmd(&e, "ip", "tuntap", "add", "dev", tap, "mode", "tap", "user", us, "group", gid >= 0 ? gs : us, NULL)
			 : cmd(&e, "ip", "tuntap", "add", "dev", tap, "mode", "tap", NULL);
	if (!r)
		r = cmd(&e, "ip", "link", "set", tap, "mtu", mtu, "up", NULL);
	const char *pairs[2][2] = { { ifname, tap }, { tap, ifname } };
	for (int i = 0; !r && i < 2; i++) {
		r = cmd(&e, "tc", "qdisc", "add", "dev", pairs[i][0], "ingress", NULL);
		if (!r)
			r = cmd(&e, "tc", "filter", "add", "dev", pairs[i][0], "parent", "ffff:", "protocol", "all", "u32", "match",
				"u8", "0", "0", "action", "mirred", "egress", "redirect", "dev", pairs[i][1], NULL);
	}
	if (r) {
		struct fb_buf e2 = FB_BUF_INIT;
		cmd(&e2, "ip", "link", "del", tap, NULL);
		cmd(&e2, "tc", "qdisc", "del", "dev", ifname, "ingress", NULL);
		fb_buf_free(&e2);
		r = cni_error(version, 11, 1, "tc-redirect-tap: setting up the tap and its redirects failed", fb_buf_str(&e));
		fb_buf_free(&e);
		fb_cni_tap_conf_free(&tc);
		return r;
	}
	/* the result: the previous one, plus the tap with the veth's MAC */
	char *t = fb_cni_tap_result(&tc, netns);
	printf("%s\n", t);
	free(t);
	fb_buf_free(&e);
	fb_cni_tap_conf_free(&tc);
	return 0;
}
