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

#include "err.h"
#include "json.h"
#include "proc.h"
#include "tcredirect.h"
#include "util.h"

static int cni_error(const char *version, int code, const char *msg, const char *details)
{
	jv e = jv_object_set(jv_object(), jv_string("cniVersion"), jv_string(version ? version : "1.0.0"));
	e = jv_object_set(e, jv_string("code"), jv_number(code));
	e = jv_object_set(e, jv_string("msg"), jv_string(msg));
	if (details)
		e = jv_object_set(e, jv_string("details"), jv_string(details));
	char *t = fb_json_dump(e, false);
	printf("%s\n", t);
	free(t);
	return 1;
}

int main(void)
{
	const char *command = getenv("CNI_COMMAND"), *netns = getenv("CNI_NETNS"), *ifname = getenv("CNI_IFNAME");
	if (command && !strcmp(command, "VERSION")) {
		printf("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n");
		return 0;
	}
	struct fb_err err = { 0 };
	jv conf;
	if (fb_json_read_fd(0, &conf, &err) < 0)
		return cni_error(NULL, 6, "tc-redirect-tap: invalid network config on stdin", err.msg);
	char *version = NULL, *tap = NULL;
	fb_json_get_str_opt(conf, "cniVersion", &version, &err);
	fb_json_get_str_opt(conf, "tapName", &tap, &err);
	if (!tap)
		tap = fb_xstrdup("tap0");
	if (!command || !ifname || (!netns && strcmp(command, "DEL")))
		return cni_error(version, 4, "tc-redirect-tap: CNI_COMMAND, CNI_NETNS and CNI_IFNAME are required", NULL);
	if (!strcmp(command, "DEL")) {
		/* idempotent: a namespace or tap already gone is fine */
		if (netns && *netns && fb_netns_enter(netns) == 0)
			fb_tc_redirect_del(ifname, tap);
		return 0;
	}
	jv prev = jv_object_get(jv_copy(conf), jv_string("prevResult"));
	if (jv_get_kind(prev) != JV_KIND_OBJECT)
		return cni_error(version, 7, "tc-redirect-tap must be chained after a plugin that makes CNI_IFNAME (bridge, ptp)",
				 "no prevResult in the config");
	/* the veth's MAC, from the previous result */
	char *mac = NULL;
	jv ifs = jv_object_get(jv_copy(prev), jv_string("interfaces"));
	if (jv_get_kind(ifs) == JV_KIND_ARRAY)
		jv_array_foreach(ifs, i, it)
		{
			jv n = jv_object_get(jv_copy(it), jv_string("name")), m = jv_object_get(jv_copy(it), jv_string("mac"));
			jv sb = jv_object_get(jv_copy(it), jv_string("sandbox"));
			if (!mac && jv_get_kind(n) == JV_KIND_STRING && !strcmp(jv_string_value(n), ifname) &&
			    jv_get_kind(sb) == JV_KIND_STRING && jv_get_kind(m) == JV_KIND_STRING)
				mac = fb_xstrdup(jv_string_value(m));
			jv_free(n);
			jv_free(m);
			jv_free(sb);
			jv_free(it);
			(void)i;
		}
	jv_free(ifs);
	if (!mac)
		return cni_error(version, 7, "tc-redirect-tap: the previous result has no interface in the namespace named CNI_IFNAME",
				 ifname);
	if (fb_netns_enter(netns) < 0) {
		char d[512];
		snprintf(d, sizeof(d), "%s: %s", netns, strerror(errno));
		return cni_error(version, 11, "tc-redirect-tap: cannot enter the network namespace", d);
	}
	if (!strcmp(command, "CHECK")) {
		if (fb_tc_redirect_check(ifname, tap, &err) < 0)
			return cni_error(version, 11, "tc-redirect-tap: the tap or its redirect is missing", err.msg);
		return 0;
	}
	if (strcmp(command, "ADD"))
		return cni_error(version, 4, "tc-redirect-tap: unknown CNI_COMMAND", command);
	long long uid = -1, gid = -1;
	fb_json_get_int_opt(conf, "uid", &uid, &err);
	fb_json_get_int_opt(conf, "gid", &gid, &err);
	/* the runtime may name the tap's owner per VM (a jailed VMM's user):
	 * CNI_ARGS TAP_UID=N;TAP_GID=N */
	const char *cargs = getenv("CNI_ARGS");
	for (const char *a = cargs; a && *a;) {
		const char *semi = strchr(a, ';');
		size_t n = semi ? (size_t)(semi - a) : strlen(a);
		if (n > 8 && !strncmp(a, "TAP_UID=", 8))
			uid = strtoll(a + 8, NULL, 10);
		else if (n > 8 && !strncmp(a, "TAP_GID=", 8))
			gid = strtoll(a + 8, NULL, 10);
		a = semi ? semi + 1 : a + n;
	}
	if (fb_tc_redirect_add(ifname, tap, (long)uid, (long)gid, &err) < 0)
		return cni_error(version, 11, "tc-redirect-tap: setting up the tap and its redirects failed", err.msg);
	/* the result: the previous one, plus the tap with the veth's MAC */
	jv tapif = jv_object_set(jv_object(), jv_string("name"), jv_string(tap));
	tapif = jv_object_set(tapif, jv_string("mac"), jv_string(mac));
	tapif = jv_object_set(tapif, jv_string("sandbox"), jv_string(netns));
	jv ifl = jv_object_get(jv_copy(prev), jv_string("interfaces"));
	prev = jv_object_set(prev, jv_string("interfaces"), jv_array_append(ifl, tapif));
	prev = jv_object_set(prev, jv_string("cniVersion"), jv_string(version ? version : "1.0.0"));
	char *t = fb_json_dump(prev, false);
	printf("%s\n", t);
	free(t);
	free(mac);
	free(tap);
	free(version);
	jv_free(conf);
	return 0;
}
