/* fb-runtime's documents (lib/vm/ocispec.h, iproute.h): a bundle's
 * config.json and exec's process decoded and checked (errors name the
 * member), hostile kinds refused, the guest config fb-init reads, the
 * state saved and loaded, the runtime-spec state, the settings, and what
 * `ip -j` prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "iproute.h"
#include "ocispec.h"
#include "util.h"
#include "tap.h"

/* runc spec's config, trimmed, with what podman adds */
static const char full[] =
	"{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":30,\"width\":100},"
	"\"user\":{\"uid\":1234,\"gid\":5678,\"umask\":18,\"additionalGids\":[11,12]},\"args\":[\"sh\",\"-c\",\"x\"],"
	"\"env\":[\"PATH=/bin\",\"A=b c\"],\"cwd\":\"/work\",\"capabilities\":{\"bounding\":[\"CAP_KILL\"],"
	"\"effective\":[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\"],\"ambient\":[]},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024},"
	"{\"type\":\"RLIMIT_CORE\",\"hard\":18446744073709551615,\"soft\":0}],\"noNewPrivileges\":true,"
	"\"apparmorProfile\":\"ignored\",\"oomScoreAdj\":5},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h1\","
	"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/d\",\"options\":[\"rbind\",\"ro\"]},"
	"{\"destination\":\"/dev/shm\"}],"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"},{\"type\":\"mount\"}],"
	"\"resources\":{\"cpu\":{\"quota\":150000,\"period\":100000,\"shares\":2},\"memory\":{\"limit\":268435456,\"swap\":-1},"
	"\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
	"\"cgroupsPath\":\"/machine/c1\",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"},\"maskedPaths\":[\"/proc/kcore\"]},"
	"\"annotations\":{\"org.firebuild.vmm\":\"qemu\",\"io.kubernetes.cri.container-type\":\"container\"},"
	"\"hooks\":{\"prestart\":[]}}";

static int spec_decoded(void)
{
	struct fb_rt_spec s FB_AUTORTSPEC = { 0 };
	struct fb_err err = { 0 };
	if (fb_rt_spec_parse(full, strlen(full), &s, &err) < 0)
		return tap_fail("%s", err.msg);
	TAP_STREQ(s.oci_version, "1.0.2");
	TAP_CHECK(s.process.args.n == 3 && s.process.env.n == 2);
	TAP_STREQ(s.process.args.v[2], "x");
	TAP_STREQ(s.process.env.v[1], "A=b c");
	TAP_STREQ(s.process.cwd, "/work");
	TAP_CHECK(s.process.terminal && s.process.no_new_privileges);
	TAP_CHECK(s.process.has_console_size && s.process.console_height == 30 && s.process.console_width == 100);
	TAP_CHECK(s.process.uid == 1234 && s.process.gid == 5678 && s.process.has_umask && s.process.umask == 18);
	TAP_CHECK(s.process.nadditional_gids == 2 && s.process.additional_gids[1] == 12);
	TAP_CHECK(s.process.nrlimits == 2 && s.process.rlimits[0].soft == 1024 && s.process.rlimits[1].hard == UINT64_MAX);
	TAP_CHECK(s.process.has_caps && s.process.cap_bounding.n == 1 && s.process.cap_inheritable.n == 0);
	TAP_STREQ(s.root_path, "rootfs");
	TAP_CHECK(s.root_readonly);
	TAP_STREQ(s.hostname, "h1");
	TAP_CHECK(s.nmounts == 3 && s.mounts[1].options.n == 2 && !s.mounts[2].type && !s.mounts[2].source);
	TAP_STREQ(s.mounts[1].source, "/srv/d");
	TAP_STREQ(s.netns, "/run/netns/x");
	TAP_CHECK(!s.netns_new);
	TAP_STREQ(s.cgroups_path, "/machine/c1");
	TAP_CHECK(s.cpu_quota == 150000 && s.cpu_period == 100000 && s.memory_limit == 268435456);
	TAP_STREQ(fb_rt_map_get(&s.sysctl, "net.ipv4.ip_forward"), "1");
	TAP_STREQ(fb_rt_map_get(&s.annotations, "org.firebuild.vmm"), "qemu");
	TAP_CHECK(fb_rt_map_get(&s.annotations, "nope") == NULL);

	/* the process goes to fb-init as it was given (what fb-init reads) */
	char *p = fb_rt_process_encode(&s.process);
	struct fb_rt_process back FB_AUTORTPROC = { 0 };
	int r = fb_rt_process_parse(p, strlen(p), &back, &err);
	free(p);
	TAP_CHECK(r == 0);
	TAP_CHECK(back.args.n == 3 && back.uid == 1234 && back.nadditional_gids == 2 && back.umask == 18);
	TAP_CHECK(back.nrlimits == 2 && back.rlimits[1].hard == UINT64_MAX && back.has_caps && back.cap_effective.n == 1);
	TAP_CHECK(back.has_console_size && back.console_width == 100 && back.no_new_privileges && back.terminal);

	/* a minimal bundle: a new network namespace, nothing else */
	static const char min[] = "{\"ociVersion\":\"1.0.0\",\"process\":{\"args\":[\"/bin/true\"]},\"root\":{\"path\":\"/r\"},"
				  "\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}";
	struct fb_rt_spec m FB_AUTORTSPEC = { 0 };
	TAP_CHECK(fb_rt_spec_parse(min, strlen(min), &m, &err) == 0);
	TAP_CHECK(m.netns_new && !m.netns && !m.process.has_caps && !m.process.has_umask && m.nmounts == 0);
	TAP_CHECK(m.annotations.n == 0 && !m.hostname && m.cpu_quota == 0);
	return 0;
}

/* Hostile config.json: each refused, the member named. */
static int spec_refused(void)
{
	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{ "[]", "the input document: expected an object" },
		{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"}}", ".ociVersion: missing (expected a string)" },
		{ "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"}}", ".process: missing (expected an object)" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":\"sh\"},\"root\":{\"path\":\"r\"}}",
		  ".process.args: expected an array or null, got string" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[]},\"root\":{\"path\":\"r\"}}", ".process: args must not be empty" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[1]},\"root\":{\"path\":\"r\"}}",
		  ".process.args[0]: expected a string, got number" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"],\"user\":\"x\"},\"root\":{\"path\":\"r\"}}",
		  ".process.user: expected an object or null, got string" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":-1}},\"root\":{\"path\":\"r\"}}",
		  ".process.user.uid: expected an integer from 0 to 4294967295, got -1" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"],\"user\":{\"additionalGids\":[1.5]}},\"root\":{\"path\":\"r\"}}",
		  ".process.user.additionalGids[0]: expected an integer from 0 to 4294967295, got 1.5" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":-5,\"soft\":1}]},"
		  "\"root\":{\"path\":\"r\"}}",
		  ".process.rlimits[0].hard: expected 0 or more, got -5" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"hard\":1,\"soft\":1}]},\"root\":{\"path\":\"r\"}}",
		  ".process.rlimits[0].type: missing (expected a string)" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"],\"capabilities\":{\"bounding\":\"CAP_KILL\"}},"
		  "\"root\":{\"path\":\"r\"}}",
		  ".process.capabilities.bounding: expected an array or null, got string" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{}}", ".root.path: missing (expected a string)" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":\"x\"}",
		  ".mounts: expected an array or null, got string" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":5}]}",
		  ".mounts[0].destination: expected a string, got number" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":\"x\"}",
		  ".linux: expected an object or null, got string" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":5}]}}",
		  ".linux.namespaces[0].type: expected a string, got number" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},"
		  "\"linux\":{\"resources\":{\"cpu\":{\"quota\":\"x\"}}}}",
		  ".linux.resources.cpu.quota: expected an integer or null, got string" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"sysctl\":{\"a.b\":1}}}",
		  ".linux.sysctl.a.b: expected a string, got number" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"annotations\":5}",
		  ".annotations: expected an object or null, got number" },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"hostname\":7}",
		  ".hostname: expected a string or null, got number" },
		{ "{\"ociVersion\":\"1\"", NULL },
		{ "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"}} {}", NULL },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_rt_spec s FB_AUTORTSPEC = { 0 };
		struct fb_err err = { 0 };
		if (fb_rt_spec_parse(bad[i].doc, strlen(bad[i].doc), &s, &err) == 0)
			return tap_fail("accepted: %s", bad[i].doc);
		TAP_CHECK(err.msg[0]);
		if (bad[i].msg && !strstr(err.msg, bad[i].msg))
			return tap_fail("%s: '%s', not '%s'", bad[i].doc, err.msg, bad[i].msg);
		if (bad[i].msg)
			TAP_CHECK(err.code == FB_EXIT_USAGE);
	}
	/* exec's process: args may be empty (the caller says), kinds checked */
	struct fb_rt_process p FB_AUTORTPROC = { 0 };
	struct fb_err err = { 0 };
	TAP_CHECK(fb_rt_process_parse("{}", 2, &p, &err) == 0 && p.args.n == 0);
	fb_rt_process_free(&p);
	TAP_CHECK(fb_rt_process_parse("{\"env\":{}}", 10, &p, &err) == -1);
	TAP_STREQ(err.msg, ".env: expected an array or null, got object");
	/* a file names itself */
	char path[] = "/tmp/test_ocispec_XXXXXX";
	int fd = mkstemp(path);
	TAP_CHECK(fd >= 0);
	TAP_CHECK(write(fd, "{\"terminal\":1}", 14) == 14);
	close(fd);
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_rt_process_load(path, &p, &err) == -1);
	unlink(path);
	TAP_CHECK(strstr(err.msg, path) && strstr(err.msg, ".terminal: expected a boolean or null, got number"));
	return 0;
}

static int guest_config(void)
{
	struct fb_rt_guest g = { 0 };
	g.vsock_port = 1024;
	g.root_source = fb_xstrdup("fbroot");
	g.root_type = fb_xstrdup("9p");
	g.root_options = fb_xstrdup("trans=virtio");
	g.root_readonly = true;
	g.mounts = fb_xcalloc(1, sizeof(*g.mounts));
	g.mounts[g.nmounts++] = (struct fb_rt_guest_mount){ fb_xstrdup("/t"), fb_xstrdup("tmpfs"), fb_xstrdup("tmpfs"), 6, NULL };
	g.files = fb_xcalloc(1, sizeof(*g.files));
	g.files[g.nfiles++] = (struct fb_rt_guest_file){ fb_xstrdup("/etc/hosts"), fb_xstrdup("eA=="), 0644, true };
	g.hostname = NULL;
	g.process.args = (struct fb_strv)FB_STRV_INIT;
	fb_strv_push(&g.process.args, "/bin/true");
	struct fb_rt_guest_net net = { 0 };
	net.ifaces = fb_xcalloc(1, sizeof(*net.ifaces));
	net.ifaces[net.nifaces++] = (struct fb_rt_guest_iface){ fb_xstrdup("eth0"), fb_xstrdup("aa:bb"), true, 1400, NULL, FB_STRV_INIT };
	net.routes = fb_xcalloc(1, sizeof(*net.routes));
	net.routes[net.nroutes++] = (struct fb_rt_guest_route){ fb_xstrdup("default"), fb_xstrdup("10.0.0.1"), fb_xstrdup("eth0") };
	g.network = &net;
	char *t = fb_rt_guest_encode(&g);
	fb_rt_guest_free(&g);
	fb_rt_guest_net_free(&net);
	TAP_STREQ(t, "{\"io\":{\"vsock_port\":1024},\"root\":{\"source\":\"fbroot\",\"type\":\"9p\",\"options\":\"trans=virtio\","
		     "\"readonly\":true},\"mounts\":[{\"destination\":\"/t\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"flags\":6,"
		     "\"data\":null}],\"files\":[{\"destination\":\"/etc/hosts\",\"data\":\"eA==\",\"mode\":420,\"readonly\":true}],"
		     "\"sysctl\":{},\"hostname\":null,\"process\":{\"args\":[\"/bin/true\"],\"env\":[],\"terminal\":false,"
		     "\"user\":{\"uid\":0,\"gid\":0}},\"network\":{\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"aa:bb\",\"mtu\":1400,"
		     "\"ip\":null,\"ips\":[]}],\"routes\":[{\"dst\":\"default\",\"gateway\":\"10.0.0.1\",\"dev\":\"eth0\"}]}}");
	free(t);
	return 0;
}

static int state_round_trip(void)
{
	struct fb_rt_state s = { .cgroups = FB_STRV_INIT };
	s.oci_version = fb_xstrdup("1.0.2");
	s.id = fb_xstrdup("c1");
	s.status = fb_xstrdup("running");
	s.pid = 42;
	s.bundle = fb_xstrdup("/b");
	s.rootfs = fb_xstrdup("/b/rootfs");
	s.created = fb_xstrdup("2026-01-01T00:00:00.000000000Z");
	s.owner = fb_xstrdup("");
	s.annotations.keys = fb_xcalloc(1, sizeof(char *));
	s.annotations.values = fb_xcalloc(1, sizeof(char *));
	s.annotations.keys[0] = fb_xstrdup("k");
	s.annotations.values[0] = fb_xstrdup("v");
	s.annotations.n = 1;
	s.supervisor_start = 777;
	s.jail_dir = fb_xstrdup("/srv/jailer/qemu-system-x86_64/j");
	fb_strv_push(&s.cgroups, "/sys/fs/cgroup/fb/j");
	s.netns = fb_xstrdup("/run/netns/x");
	s.taps = fb_xcalloc(1, sizeof(*s.taps));
	s.taps[s.ntaps++] = (struct fb_rt_tap_rec){ fb_xstrdup("eth0"), fb_xstrdup("fbtap0") };
	s.vmm_pid = 43;
	s.vmm_start = 888;
	s.has_exit_code = true;
	s.exit_code = 0;
	char path[] = "/tmp/test_ocispec_XXXXXX";
	int fd = mkstemp(path);
	TAP_CHECK(fd >= 0);
	close(fd);
	struct fb_err err = { 0 };
	TAP_CHECK(fb_rt_state_save(path, &s, &err) == 0);
	struct fb_rt_state b FB_AUTORTSTATE = { 0 };
	int r = fb_rt_state_load(path, &b, &err);
	unlink(path);
	TAP_CHECK(r == 0);
	TAP_STREQ(b.id, "c1");
	TAP_STREQ(b.status, "running");
	TAP_CHECK(b.pid == 42 && b.supervisor_start == 777 && b.vmm_pid == 43 && b.vmm_start == 888);
	TAP_CHECK(b.has_exit_code && b.exit_code == 0 && b.guest_pid == 0 && b.finished == 0);
	TAP_CHECK(b.cgroups.n == 1 && b.ntaps == 1);
	TAP_STREQ(b.taps[0].tap, "fbtap0");
	TAP_STREQ(fb_rt_map_get(&b.annotations, "k"), "v");
	/* the runtime-spec state: stopped has pid 0 */
	char *pub = fb_rt_state_public(&b, "stopped");
	TAP_STREQ(pub, "{\n  \"ociVersion\": \"1.0.2\",\n  \"id\": \"c1\",\n  \"pid\": 0,\n  \"status\": \"stopped\",\n"
		       "  \"bundle\": \"/b\",\n  \"rootfs\": \"/b/rootfs\",\n  \"created\": \"2026-01-01T00:00:00.000000000Z\",\n"
		       "  \"owner\": \"\",\n  \"annotations\": {\n    \"k\": \"v\"\n  }\n}");
	free(pub);
	fb_rt_state_free(&s);
	/* hostile or broken state files are errors, not crashes */
	static const char *const bad[] = { "[]", "{\"pid\":\"x\"}", "{\"fb\":{\"taps\":[{\"ifname\":1}]}}", "{\"fb\":[]}",
					   "{\"annotations\":{\"a\":[]}}", "{\"fb\":{\"exit_code\":1e12}}" };
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_rt_state x FB_AUTORTSTATE = { 0 };
		err = (struct fb_err){ 0 };
		if (fb_rt_state_parse(bad[i], strlen(bad[i]), &x, &err) == 0)
			return tap_fail("accepted: %s", bad[i]);
		TAP_CHECK(err.msg[0]);
	}
	/* an empty one reads as nothing recorded */
	struct fb_rt_state e FB_AUTORTSTATE = { 0 };
	TAP_CHECK(fb_rt_state_parse("{}", 2, &e, &err) == 0 && !e.id && e.pid == 0 && !e.has_exit_code);
	const struct fb_rt_state *l[] = { &e };
	char *const st[] = { "stopped" };
	char *list = fb_rt_state_list(l, st, 1);
	TAP_CHECK(strstr(list, "\"status\": \"stopped\"") && strstr(list, "\"id\": null"));
	free(list);
	char *pids = fb_rt_pids_json((const long long[]){ 1, 2 }, 2);
	TAP_STREQ(pids, "[\n  1,\n  2\n]");
	free(pids);
	char *f = fb_rt_features_json("{\"linux\":{\"namespaces\":[]}}", (char *const[]){ "CAP_KILL" }, 1, &err);
	TAP_STREQ(f, "{\n  \"linux\": {\n    \"namespaces\": [],\n    \"capabilities\": [\n      \"CAP_KILL\"\n    ]\n  }\n}");
	free(f);
	return 0;
}

static int settings(void)
{
	char path[] = "/tmp/test_ocispec_XXXXXX";
	int fd = mkstemp(path);
	TAP_CHECK(fd >= 0);
	const char *t = "{\"kernel\":\"/k\",\"mem\":256,\"accel\":\"tcg\",\"unknown\":[1]}";
	TAP_CHECK(write(fd, t, strlen(t)) == (ssize_t)strlen(t));
	close(fd);
	struct fb_rt_settings s = { .mem = 128, .cpu = 1 };
	struct fb_err err = { 0 };
	TAP_CHECK(fb_rt_settings_load(path, &s, &err) == 0);
	TAP_STREQ(s.kernel, "/k");
	TAP_CHECK(s.mem == 256 && s.cpu == 1 && !s.vmm);
	fb_rt_settings_free(&s);
	FILE *f = fopen(path, "w");
	fputs("{\"accel\":\"hvf\"}", f);
	fclose(f);
	TAP_CHECK(fb_rt_settings_load(path, &s, &err) == -1);
	TAP_CHECK(strstr(err.msg, path) && strstr(err.msg, ".accel: expected one of kvm, tcg"));
	f = fopen(path, "w");
	fputs("{\"cpu\":\"2\"}", f);
	fclose(f);
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_rt_settings_load(path, &s, &err) == -1);
	TAP_CHECK(strstr(err.msg, ".cpu: expected an integer or null, got string"));
	unlink(path);
	fb_rt_settings_free(&s);
	return 0;
}

static int ip_json(void)
{
	static const char links[] =
		"[{\"ifindex\":1,\"ifname\":\"lo\",\"mtu\":65536,\"link_type\":\"loopback\",\"address\":\"00:00:00:00:00:00\","
		"\"addr_info\":[{\"family\":\"inet\",\"local\":\"127.0.0.1\",\"prefixlen\":8,\"scope\":\"host\"}]},"
		"{\"ifname\":\"eth0\",\"mtu\":1450,\"link_type\":\"ether\",\"address\":\"aa:bb:cc:dd:ee:ff\",\"addr_info\":["
		"{\"family\":\"inet6\",\"local\":\"fe80::1\",\"prefixlen\":64,\"scope\":\"link\"},"
		"{\"family\":\"inet\",\"local\":\"10.1.2.3\",\"prefixlen\":32,\"scope\":\"global\"},"
		"{\"family\":5,\"local\":[],\"prefixlen\":\"x\"}]},{\"ifname\":7},\"junk\"]";
	struct fb_ip_link *l = NULL;
	size_t n = 0;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_ip_links_parse(links, strlen(links), &l, &n, &err) == 0);
	TAP_CHECK(n == 4 && l[1].has_mtu && l[1].mtu == 1450 && l[1].naddrs == 3);
	TAP_STREQ(l[1].addrs[1].local, "10.1.2.3");
	TAP_CHECK(l[1].addrs[1].prefixlen == 32 && l[1].addrs[2].prefixlen == -1 && !l[1].addrs[2].family);
	TAP_CHECK(!l[2].ifname && !l[3].ifname && l[3].naddrs == 0);
	fb_ip_links_free(l, n);
	struct fb_ip_route *r = NULL;
	TAP_CHECK(fb_ip_routes_parse("", 0, &r, &n, &err) == 0 && n == 0);
	fb_ip_routes_free(r, n);
	static const char routes[] = "[{\"dst\":\"default\",\"gateway\":\"169.254.1.1\",\"dev\":\"eth0\"},"
				     "{\"dst\":\"10.1.2.0/24\",\"dev\":\"eth0\",\"protocol\":\"kernel\"}]";
	TAP_CHECK(fb_ip_routes_parse(routes, strlen(routes), &r, &n, &err) == 0 && n == 2);
	TAP_STREQ(r[0].gateway, "169.254.1.1");
	TAP_STREQ(r[1].protocol, "kernel");
	fb_ip_routes_free(r, n);
	TAP_CHECK(fb_ip_routes_parse("{}", 2, &r, &n, &err) == -1);
	TAP_STREQ(err.msg, "ip -j: not an array");
	return 0;
}

static const struct tap_case cases[] = {
	{ "config.json: every member fb-runtime reads decoded; the process encoded for fb-init and read back", spec_decoded },
	{ "config.json and exec's process: hostile kinds and values refused, the member named", spec_refused },
	{ "the guest config fb-init reads (fb-oci.json)", guest_config },
	{ "state.json saved and loaded; the runtime-spec state, list, ps, features; broken states refused", state_round_trip },
	{ "the runtime's settings: defaults kept, kinds checked, the file named", settings },
	{ "ip -j addr and route: read as found", ip_json },
};

TAP_MAIN(cases)
