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
#include "err.h"
#include "proc.h"
#include "tcredirect.h"
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
		if (netns && *netns && fb_netns_enter(netns) == 0)
			fb_tc_redirect_del(ifname, tap);
		fb_cni_tap_conf_free(&tc);
		return 0;
	}
	if (fb_netns_enter(netns) < 0) {
		char d[512];
		snprintf(d, sizeof(d), "%s: %s", netns, strerror(errno));
		int r = cni_error(version, 11, 1, "tc-redirect-tap: cannot enter the network namespace", d);
		fb_cni_tap_conf_free(&tc);
		return r;
	}
	if (!strcmp(command, "CHECK")) {
		int r = fb_tc_redirect_check(ifname, tap, &err) < 0
				? cni_error(version, 11, 1, "tc-redirect-tap: the tap or its redirect is missing", err.msg)
				: 0;
		fb_cni_tap_conf_free(&tc);
		return r;
	}
	if (strcmp(command, "ADD")) {
		int r = cni_error(version, 4, 1, "tc-redirect-tap: unknown CNI_COMMAND", command);
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
				fb_cni_tap_conf_free(&tc);
				return r;
			}
		}
		a = semi ? semi + 1 : a + n;
	}
	if (fb_tc_redirect_add(ifname, tap, (long)uid, (long)gid, &err) < 0) {
		int r = cni_error(version, 11, 1, "tc-redirect-tap: setting up the tap and its redirects failed", err.msg);
		fb_cni_tap_conf_free(&tc);
		return r;
	}
	/* the result: the previous one, plus the tap with the veth's MAC */
	char *t = fb_cni_tap_result(&tc, netns);
	printf("%s\n", t);
	free(t);
	fb_cni_tap_conf_free(&tc);
	return 0;
}
