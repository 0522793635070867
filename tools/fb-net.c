/* fb-net: a VM's network from CNI. add creates the VM's network namespace
 * (/var/run/netns/fb-<id>, as `ip netns` does) and runs the named
 * network's plugin chain in it per the CNI spec (0.4.0 and 1.0.0
 * conflists, prevResult chaining, CNI_ARGS IP= for --ip-address); check
 * runs CHECK; del runs DEL in reverse from the cached result and removes
 * the namespace, and is idempotent: a half-gone namespace or cache is
 * fine. The result is cached in the run directory (<run-dir>/cni.json).
 *
 *   fb-net add|check|del --id ID [--network NET] [--ip-address IP]
 *          [--run-dir DIR] [--cni-conf-dir DIR] [--cni-bin-dir DIR]
 *
 * Output: .network = {name, netns, interfaces: [{name, mac, ip, gateway,
 * mtu}], dns: [...], tap}. */
#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni.h"
#include "err.h"
#include "doc.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "util.h"
#include "vm.h"
#include "spec.h"

#define NETNS_DIR "/var/run/netns"
#define IFNAME "eth0"

static const char usage[] =
	"Usage: fb-net add|check|del --id ID [--network NET] [--ip-address IP]\n"
	"              [--run-dir DIR] [--cni-conf-dir DIR] [--cni-bin-dir DIR]\n"
	"A VM's network namespace and its CNI network (docs/tools/fb-net.md).\n"
	"  --network NET        the conflist's name (add, check; del with no cached\n"
	"                       result: the network's DEL all the same)\n"
	"  --ip-address IP      ask the IPAM plugin for this address (CNI_ARGS IP=)\n"
	"  --run-dir DIR        where the result is cached (default: the run cache's\n"
	"                       runs/ID)\n"
	"  --cni-conf-dir DIR   conflists (default /etc/cni/conf.d, then /etc/cni/net.d)\n"
	"  --cni-bin-dir DIR    plugins (default /opt/cni/bin, then /usr/lib/cni;\n"
	"                       repeatable, searched in order)\n"
	"  --tap-owner UID[:GID]  the tap's owner (a jailed VMM's user; CNI_ARGS\n"
	"                       TAP_UID/TAP_GID for tc-redirect-tap)\n"
	"  --port [HOSTIP|IFACE:][HOSTPORT:]PORT[/tcp|udp]  publish a guest port on this\n"
	"                       side (iptables DNAT in a chain of the VM's own;\n"
	"                       localhost too; repeatable)\n"
	"  --netns PATH         an existing network namespace to use (not made or\n"
	"                       removed; default: /var/run/netns/fb-ID, made by add)\n"
	"  --cni-cache-dir DIR  also keep the result where libcni does\n"
	"                       (DIR/results/NET-fb-ID-eth0; removed by del)\n"
	"  --log-format FORMAT, --help, --version\n"
	"Exit status: 0; 1 a plugin failed; 2 usage or a bad conflist; 3 no such\n"
	"network or plugin.\n";

enum { OPT_ID = FB_OPT_FIRST_TOOL_OPT, OPT_NETWORK, OPT_IP, OPT_RUN_DIR, OPT_CONF_DIR, OPT_BIN_DIR, OPT_PORT, OPT_TAP_OWNER,
       OPT_NETNS, OPT_CACHE_DIR };

static const struct option longopts[] = {
	FB_COMMON_LONGOPTS,
	{ "id", required_argument, NULL, OPT_ID },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "cni-network-name", required_argument, NULL, OPT_NETWORK },
	{ "ip-address", required_argument, NULL, OPT_IP },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "cni-conf-dir", required_argument, NULL, OPT_CONF_DIR },
	{ "cni-bin-dir", required_argument, NULL, OPT_BIN_DIR },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "tap-owner", required_argument, NULL, OPT_TAP_OWNER },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "cni-cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ NULL, 0, NULL, 0 },
};

struct net {
	const char *id, *network, *ip, *run_dir;
	struct fb_strv conf_dirs, bin_dirs;
	bool bin_given; /* --cni-bin-dir: else del and check use add's */
	struct fb_strv ports;
	long tap_uid, tap_gid; /* -1: root's */
	char *netns;       /* path */
	bool netns_given;  /* --netns: not ours to make or remove */
	const char *cache_dir; /* --cni-cache-dir: libcni's results/ copy */
};

/* what main's flags filled in, on every way out */
static void net_freep(struct net *n)
{
	fb_strv_free(&n->conf_dirs);
	fb_strv_free(&n->bin_dirs);
	fb_strv_free(&n->ports);
	free(n->netns);
}

/* The conflist named NET (a .conf single plugin becomes a list of one). */
static int find_conflist(struct net *n, struct fb_cni_conflist *out, struct fb_err *err)
{
	for (size_t d = 0; d < n->conf_dirs.n; d++) {
		DIR *dir = opendir(n->conf_dirs.v[d]);
		if (!dir)
			continue;
		struct fb_strv names = FB_STRV_INIT;
		struct dirent *e;
		while ((e = readdir(dir)))
			if (fb_str_has_suffix(e->d_name, ".conflist") || fb_str_has_suffix(e->d_name, ".conf") ||
			    fb_str_has_suffix(e->d_name, ".json"))
				fb_strv_push(&names, e->d_name);
		closedir(dir);
		fb_strv_sort(&names);
		for (size_t i = 0; i < names.n; i++) {
			char *p = fb_xasprintf("%s/%s", n->conf_dirs.v[d], names.v[i]);
			struct fb_buf text = FB_BUF_INIT;
			struct fb_err e2 = { 0 };
			/* files that are not configurations are not this network */
			int r = fb_read_file(p, &text, &e2) < 0 ? 0 : fb_cni_conf_decode(fb_buf_str(&text), text.len, n->network, out, err);
			if (r < 0)
				fb_err_prefix(err, "%s", p);
			fb_buf_free(&text);
			free(p);
			if (r != 0) {
				fb_strv_free(&names);
				return r < 0 ? -1 : 0;
			}
		}
		fb_strv_free(&names);
	}
	struct fb_buf dirs = FB_BUF_INIT;
	for (size_t d = 0; d < n->conf_dirs.n; d++)
		fb_buf_addf(&dirs, "%s%s", d ? ", " : "", n->conf_dirs.v[d]);
	int r = fb_err_set(err, FB_EXIT_NOTFOUND, "no_network", "--cni-network-name %s: no conflist of that name in %s",
			   n->network, fb_buf_str(&dirs));
	fb_buf_free(&dirs);
	return r;
}

static char *find_plugin(struct net *n, const char *type)
{
	for (size_t d = 0; d < n->bin_dirs.n; d++) {
		char *p = fb_xasprintf("%s/%s", n->bin_dirs.v[d], type);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* One plugin call (plugin i of the list); its result (ADD) on success. */
static int call_plugin(struct net *n, const char *command, const struct fb_cni_conflist *l, size_t i,
		       const struct fb_cni_result *prev, struct fb_cni_result **result, struct fb_err *err)
{
	/* the conflist is checked (lib/cni_doc): a plugin has a type */
	const char *type = l->plugins[i].type;
	char *path = find_plugin(n, type);
	if (!path) {
		struct fb_buf dirs = FB_BUF_INIT;
		for (size_t d = 0; d < n->bin_dirs.n; d++)
			fb_buf_addf(&dirs, "%s%s", d ? ", " : "", n->bin_dirs.v[d]);
		int r = fb_err_set(err, FB_EXIT_NOTFOUND, "no_plugin", "network %s: the CNI plugin %s is not in %s", n->network, type,
				   fb_buf_str(&dirs));
		fb_buf_free(&dirs);
		return r;
	}
	/* the plugin's config: its object, the list's name and version, prevResult */
	char *text = fb_cni_plugin_conf(l, i, prev);
	struct fb_strv env = FB_STRV_INIT;
	fb_strv_push_owned(&env, fb_xasprintf("CNI_COMMAND=%s", command));
	fb_strv_push_owned(&env, fb_xasprintf("CNI_CONTAINERID=fb-%s", n->id));
	/* DEL of a namespace that is gone (or not mounted here: it was made
	 * under ip netns exec, in a mount namespace that has ended) goes
	 * without CNI_NETNS, which DEL does not require: the plugins then
	 * undo what is outside it (the IPAM lease, the host's rules) */
	struct statfs sf;
	bool ns_here = statfs(n->netns, &sf) == 0 && sf.f_type == NSFS_MAGIC;
	if (strcmp(command, "DEL") || ns_here)
		fb_strv_push_owned(&env, fb_xasprintf("CNI_NETNS=%s", n->netns));
	fb_strv_push_owned(&env, fb_xasprintf("CNI_IFNAME=%s", IFNAME));
	struct fb_buf path_env = FB_BUF_INIT;
	for (size_t d = 0; d < n->bin_dirs.n; d++)
		fb_buf_addf(&path_env, "%s%s", d ? ":" : "", n->bin_dirs.v[d]);
	fb_strv_push_owned(&env, fb_xasprintf("CNI_PATH=%s", fb_buf_str(&path_env)));
	fb_buf_free(&path_env);
	struct fb_buf cargs = FB_BUF_INIT;
	fb_buf_adds(&cargs, "CNI_ARGS=IgnoreUnknown=1");
	if (n->ip)
		fb_buf_addf(&cargs, ";IP=%s", n->ip);
	if (n->tap_uid >= 0)
		fb_buf_addf(&cargs, ";TAP_UID=%ld;TAP_GID=%ld", n->tap_uid, n->tap_gid);
	fb_strv_push_owned(&env, fb_buf_steal(&cargs));
	fb_strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	char *argv[] = { path, NULL };
	char *sname = fb_xasprintf("cni %s %s", command, type);
	struct fb_span *span = fb_span_begin(sname);
	free(sname);
	fb_span_set(span, "cni.network", n->network);
	fb_span_set(span, "cni.container_id", n->id);
	struct fb_spawn_opts so = { .pipe_stdin = true, .pipe_stdout = true, .envp = env.v };
	struct fb_proc p;
	int ret = 0;
	if (fb_proc_spawn(argv, &so, &p, err) < 0) {
		ret = -1;
	} else {
		size_t len = strlen(text);
		if (write(p.in_fd, text, len) != (ssize_t)len) {
			/* the plugin's answer says what went wrong */
		}
		close(p.in_fd);
		struct fb_buf out = FB_BUF_INIT;
		struct fb_err re = { 0 };
		/* what it wrote up to a read error is its answer; its status says more */
		FB_IGNORE(fb_read_fd(p.out_fd, &out, &re));
		close(p.out_fd);
		int status = 0;
		if (fb_proc_wait(p.pid, &status, err) < 0)
			status = 1 << 8; /* not waited for: as if it failed */
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			char *msg = NULL, *det = NULL;
			fb_cni_error_decode(fb_buf_str(&out), out.len, &msg, &det);
			ret = fb_err_set(err, FB_EXIT_FAILED, "cni", "network %s: %s %s: %s%s%s", n->network, type, command,
					 msg ? msg : fb_buf_str(&out), det ? ": " : "", det ? det : "");
			free(msg);
			free(det);
		} else if (result && fb_cni_result_decode(fb_buf_str(&out), out.len, result, err) < 0) {
			/* a plugin's answer is input too */
			fb_err_prefix(err, "network %s: %s %s: its result", n->network, type, command);
			err->code = FB_EXIT_FAILED;
			ret = -1;
		}
		fb_buf_free(&out);
	}
	if (ret < 0)
		fb_span_error(span, err->msg);
	fb_span_end(span);
	fb_strv_free(&env);
	free(text);
	free(path);
	return ret;
}

/* A named network namespace, as ip-netns makes them: a file under
 * /var/run/netns bind-mounted from a new namespace's handle. */
static int netns_create(const char *path, struct fb_err *err)
{
	if (fb_mkdir_p(NETNS_DIR, 0755, err) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return fb_err_errno(err, errno, "network namespace %s", path);
	close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0 || mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
			_exit(1);
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		unlink(path);
		return fb_err_set(err, FB_EXIT_FAILED, "netns", "cannot make the network namespace %s (root is needed)", path);
	}
	return 0;
}

static void netns_remove(const char *path)
{
	umount2(path, MNT_DETACH);
	unlink(path);
}

/* eth0's MTU, read inside the VM's namespace (CNI results carry none). */
static int netns_mtu(const char *netns)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		int mtu = 0, fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && setns(fd, CLONE_NEWNET) == 0) {
			int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			struct ifreq ifr = { 0 };
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", IFNAME);
			if (s >= 0 && ioctl(s, SIOCGIFMTU, &ifr) == 0)
				mtu = ifr.ifr_mtu;
		}
		if (write(pfd[1], &mtu, sizeof(mtu)) != (ssize_t)sizeof(mtu))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	int mtu = 0;
	if (pid < 0 || read(pfd[0], &mtu, sizeof(mtu)) != (ssize_t)sizeof(mtu))
		mtu = 0;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return mtu;
}

static int mtu_of(void *ctx)
{
	return netns_mtu(((struct net *)ctx)->netns);
}

/* ---- published ports: iptables DNAT, one chain per VM ---- */

static int ipt(struct fb_buf *errout, char *const *args)
{
	struct fb_strv a = FB_STRV_INIT;
	fb_strv_push(&a, "iptables");
	fb_strv_push(&a, "-w");
	for (size_t i = 0; args[i]; i++)
		fb_strv_push(&a, args[i]);
	struct fb_buf out = FB_BUF_INIT;
	struct fb_err e = { 0 };
	int code = 0;
	if (fb_proc_run(a.v, NULL, 0, &out, errout, &code, &e) < 0) {
		fb_buf_adds(errout, e.msg);
		code = 127;
	}
	fb_buf_free(&out);
	fb_strv_free(&a);
	return code;
}

#define IPT(eb, ...) ipt(eb, (char *const[]){ __VA_ARGS__, NULL })

/* "[hostip|iface:][hostport:]port[/proto]" (the original's [iface:]) */
struct port {
	char hostip[64], proto[8];
	int hostport, port;
};

static bool is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* An interface name becomes its IPv4 address (the rule matches
 * connections to it, from outside and from here alike). */
static int host_address(char *host, size_t len)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
		return 0;
	struct ifaddrs *ifs, *i;
	if (getifaddrs(&ifs) < 0)
		return -1;
	int r = -1;
	for (i = ifs; i && r < 0; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, host)) {
			char buf[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, buf, sizeof(buf));
			snprintf(host, len, "%s", buf);
			r = 0;
		}
	freeifaddrs(ifs);
	return r;
}

static int parse_port(const char *spec, struct port *p)
{
	memset(p, 0, sizeof(*p));
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *slash = strchr(buf, '/');
	snprintf(p->proto, sizeof(p->proto), "%s", slash ? slash + 1 : "tcp");
	if (slash)
		*slash = '\0';
	if (strcmp(p->proto, "tcp") && strcmp(p->proto, "udp"))
		return -1;
	char *parts[3] = { 0 };
	int n = 0;
	for (char *t = buf; n < 3;) {
		parts[n++] = t;
		char *c = strchr(t, ':');
		if (!c)
			break;
		*c = '\0';
		t = c + 1;
	}
	char *end;
	long v = strtol(parts[n - 1], &end, 10);
	if (*end || v < 1 || v > 65535)
		return -1;
	p->port = p->hostport = (int)v;
	/* HOST:PORT (an address or an interface, no host port) or HOSTPORT:PORT */
	if (n == 2 && !is_number(parts[0])) {
		snprintf(p->hostip, sizeof(p->hostip), "%s", parts[0]);
		return 0;
	}
	if (n >= 2) {
		v = strtol(parts[n - 2], &end, 10);
		if (*end || v < 1 || v > 65535)
			return -1;
		p->hostport = (int)v;
	}
	if (n == 3)
		snprintf(p->hostip, sizeof(p->hostip), "%s", parts[0]);
	return 0;
}

static char *chain_name(const char *id, char kind)
{
	return fb_xasprintf("FB%c-%s", kind, id);
}

static void ports_del(const char *id)
{
	struct fb_buf e = FB_BUF_INIT;
	char *d = chain_name(id, 'D'), *s = chain_name(id, 'S');
	while (IPT(&e, "-t", "nat", "-D", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", d) == 0)
		;
	while (IPT(&e, "-t", "nat", "-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", d) == 0)
		;
	while (IPT(&e, "-t", "nat", "-D", "POSTROUTING", "-j", s) == 0)
		;
	IPT(&e, "-t", "nat", "-F", d);
	IPT(&e, "-t", "nat", "-X", d);
	IPT(&e, "-t", "nat", "-F", s);
	IPT(&e, "-t", "nat", "-X", s);
	fb_buf_free(&e);
	free(d);
	free(s);
}

/* Is hostport/proto published by another VM's chain already? */
static bool port_taken(const char *id, const struct port *p)
{
	char *argv[] = { "iptables", "-w", "-t", "nat", "-S", NULL };
	struct fb_buf out = FB_BUF_INIT, eo = FB_BUF_INIT;
	struct fb_err e = { 0 };
	int code = 0;
	bool taken = false;
	char *mine = chain_name(id, 'D');
	char needle[64];
	snprintf(needle, sizeof(needle), "--dport %d ", p->hostport);
	if (fb_proc_run(argv, NULL, 0, &out, &eo, &code, &e) == 0 && code == 0) {
		char *save = NULL;
		for (char *l = strtok_r(out.data ? out.data : (char[]){ 0 }, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (!strncmp(l, "-A FBD-", 7) && strncmp(l + 3, mine, strlen(mine)) && strstr(l, needle) &&
			    strstr(l, p->proto))
				taken = true;
	}
	free(mine);
	fb_buf_free(&out);
	fb_buf_free(&eo);
	return taken;
}

static int ports_add(struct net *n, char *vm_ip, struct fb_err *err)
{
	if (!n->ports.n)
		return 0;
	struct port *ps = fb_xcalloc(n->ports.n, sizeof(*ps));
	for (size_t i = 0; i < n->ports.n; i++) {
		if (parse_port(n->ports.v[i], &ps[i]) < 0) {
			free(ps);
			return fb_err_set(err, FB_EXIT_USAGE, "usage",
					  "--port %s: expected [HOSTIP|IFACE:][HOSTPORT:]PORT[/tcp|udp]", n->ports.v[i]);
		}
		if (ps[i].hostip[0] && host_address(ps[i].hostip, sizeof(ps[i].hostip)) < 0) {
			int r = fb_err_set(err, FB_EXIT_USAGE, "usage",
					   "--port %s: %s is neither an address nor an interface with an IPv4 address here",
					   n->ports.v[i], ps[i].hostip);
			free(ps);
			return r;
		}
		if (port_taken(n->id, &ps[i])) {
			int r = fb_err_set(err, FB_EXIT_USAGE, "port_taken", "--port %s: host port %d/%s is published by another VM",
					   n->ports.v[i], ps[i].hostport, ps[i].proto);
			free(ps);
			return r;
		}
	}
	char *d = chain_name(n->id, 'D'), *s = chain_name(n->id, 'S');
	struct fb_buf e = FB_BUF_INIT;
	int r = IPT(&e, "-t", "nat", "-N", d) || IPT(&e, "-t", "nat", "-N", s) ||
		IPT(&e, "-t", "nat", "-I", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", d) ||
		IPT(&e, "-t", "nat", "-I", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", d) ||
		IPT(&e, "-t", "nat", "-I", "POSTROUTING", "-j", s);
	for (size_t i = 0; !r && i < n->ports.n; i++) {
		char hp[16], to[96];
		snprintf(hp, sizeof(hp), "%d", ps[i].hostport);
		snprintf(to, sizeof(to), "%s:%d", vm_ip, ps[i].port);
		if (ps[i].hostip[0])
			r = IPT(&e, "-t", "nat", "-A", d, "-d", ps[i].hostip, "-p", ps[i].proto, "--dport", hp, "-j", "DNAT",
				"--to-destination", to);
		else
			r = IPT(&e, "-t", "nat", "-A", d, "-p", ps[i].proto, "--dport", hp, "-j", "DNAT", "--to-destination", to);
		/* from localhost: the reply must come back through us */
		char pp[16];
		snprintf(pp, sizeof(pp), "%d", ps[i].port);
		if (!r)
			r = IPT(&e, "-t", "nat", "-A", s, "-s", "127.0.0.0/8", "-d", vm_ip, "-p", ps[i].proto, "--dport", pp, "-j",
				"MASQUERADE");
	}
	if (!r) {
		/* 127.0.0.1 may be routed out (DNAT from lo to the bridge) */
		int fd = open("/proc/sys/net/ipv4/conf/all/route_localnet", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "1", 1) != 1) {
				/* localhost publishing then does not work; others do */
			}
			close(fd);
		}
	}
	if (r) {
		r = fb_err_set(err, FB_EXIT_FAILED, "ports", "--port: iptables failed: %s", fb_buf_str(&e));
		ports_del(n->id);
	}
	fb_buf_free(&e);
	free(d);
	free(s);
	free(ps);
	return r;
}

/* What DEL needs: the list, the plugin directories, the namespace, the
 * result so far (NULL: none yet). */
static int save_cache(struct net *n, const char *path, const struct fb_cni_conflist *l, const struct fb_cni_result *r,
		      struct fb_err *err)
{
	struct fb_cni_cache c = { .list = *l, .bin_dirs = n->bin_dirs, .netns = n->netns, .netns_owned = !n->netns_given,
				  .cni_cache_dir = (char *)n->cache_dir, .result = (struct fb_cni_result *)r };
	return fb_cni_cache_save(path, &c, err);
}

/* libcni's cached result (<dir>/results/<net>-<container>-<ifname>), so
 * CNI tools that read the cache see the VM. */
static char *libcni_cache_path(const char *dir, const char *net, const char *id)
{
	return fb_xasprintf("%s/results/%s-fb-%s-%s", dir, net, id, IFNAME);
}

static void libcni_cache_write(struct net *n, const struct fb_cni_result *result)
{
	if (!n->cache_dir)
		return;
	struct fb_err e = { 0 };
	char *dir = fb_xasprintf("%s/results", n->cache_dir), *p = libcni_cache_path(n->cache_dir, n->network, n->id);
	char *container = fb_xasprintf("fb-%s", n->id);
	if (fb_mkdir_p(dir, 0700, &e) < 0 || fb_cni_libcni_save(p, container, IFNAME, n->network, result, &e) < 0)
		fb_warn("--cni-cache-dir %s: %s", n->cache_dir, e.msg);
	free(container);
	free(dir);
	free(p);
}

/* The plugin directories add used, unless given again. */
static void cached_bins(struct net *n, const struct fb_cni_cache *c)
{
	if (n->bin_given || !c->bin_dirs.n)
		return;
	fb_strv_free(&n->bin_dirs);
	for (size_t i = 0; i < c->bin_dirs.n; i++)
		fb_strv_push(&n->bin_dirs, c->bin_dirs.v[i]);
}

/* DEL for every plugin of the list, in reverse; every one is called even
 * when one fails (the first failure is the error). */
static int del_chain(struct net *n, const struct fb_cni_conflist *l, const struct fb_cni_result *result, struct fb_err *err)
{
	int ret = 0;
	for (size_t i = l->n; i-- > 0;) {
		struct fb_err pe = { 0 };
		if (call_plugin(n, "DEL", l, i, result, NULL, &pe) < 0) {
			fb_log(FB_LOG_WARN, "%s", pe.msg);
			if (!ret) {
				*err = pe;
				ret = -1;
			}
		}
	}
	return ret;
}

static int net_del(struct net *n, struct fb_err *err)
{
	ports_del(n->id);
	char *cache = fb_xasprintf("%s/cni.json", n->run_dir);
	struct fb_cni_cache c;
	struct fb_err ce = { 0 };
	int ret = 0;
	bool owned = !n->netns_given;
	int lr = fb_cni_cache_load(cache, &c, &ce);
	if (lr < 0 && access(cache, F_OK) == 0) {
		/* not what add wrote: there is nothing to run the plugins' DEL with */
		ret = fb_err_set(err, FB_EXIT_FAILED, "cni", "%s: the plugins' DEL did not run (the file is kept)", ce.msg);
	}
	if (lr == 0) {
		cached_bins(n, &c);
		if (c.netns) {
			free(n->netns);
			n->netns = fb_xstrdup(c.netns);
		}
		if (!c.netns_owned)
			owned = false;
		const char *net = n->network;
		n->network = c.list.name;
		ret = del_chain(n, &c.list, c.result, err);
		if (c.cni_cache_dir) {
			char *lp = libcni_cache_path(c.cni_cache_dir, c.list.name, n->id);
			unlink(lp);
			free(lp);
		}
		n->network = net;
		fb_cni_cache_free(&c);
	} else if (n->network) {
		/* no cache (a start that died before it was written, or it was
		 * removed): the network's DEL anyway, with no prevResult; CNI DEL
		 * is idempotent, and the IPAM plugin releases what the container
		 * id holds */
		struct fb_cni_conflist l;
		if (find_conflist(n, &l, err) < 0) {
			ret = -1;
		} else {
			ret = del_chain(n, &l, NULL, err);
			fb_cni_conflist_free(&l);
			if (n->cache_dir) {
				char *lp = libcni_cache_path(n->cache_dir, n->network, n->id);
				unlink(lp);
				free(lp);
			}
		}
	}
	if (owned)
		netns_remove(n->netns);
	if (ret == 0)
		unlink(cache);
	free(cache);
	return ret;
}

static int net_add(struct net *n, struct fb_network *out, struct fb_err *err)
{
	if (!n->network)
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "add needs --network");
	struct fb_cni_conflist list;
	if (find_conflist(n, &list, err) < 0)
		return -1;
	if (n->netns_given && access(n->netns, F_OK) != 0) {
		fb_cni_conflist_free(&list);
		return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "--netns %s: no such network namespace", n->netns);
	}
	if (!n->netns_given && access(n->netns, F_OK) == 0) {
		fb_cni_conflist_free(&list);
		return fb_err_set(err, FB_EXIT_USAGE, "exists", "%s exists: VM %s has a network already (fb-net del first)", n->netns,
				  n->id);
	}
	/* what DEL needs is saved before anything is made: a start killed at
	 * any point leaves the cache that undoes it (firebuild purge) */
	char *cache = fb_xasprintf("%s/cni.json", n->run_dir);
	if (fb_mkdir_p(n->run_dir, 0700, err) < 0 || save_cache(n, cache, &list, NULL, err) < 0) {
		free(cache);
		fb_cni_conflist_free(&list);
		return -1;
	}
	if (!n->netns_given && netns_create(n->netns, err) < 0) {
		unlink(cache);
		free(cache);
		fb_cni_conflist_free(&list);
		return -1;
	}
	struct fb_cni_result *result = NULL;
	int ret = 0;
	struct fb_err se = { 0 };
	for (size_t i = 0; ret == 0 && i < list.n; i++) {
		struct fb_cni_result *r = NULL;
		if (call_plugin(n, "ADD", &list, i, result, &r, err) < 0) {
			ret = -1;
		} else {
			fb_cni_result_freep(&result);
			result = r;
			if (save_cache(n, cache, &list, result, &se) < 0)
				fb_debug("%s", se.msg);
		}
	}
	free(cache);
	if (ret < 0) {
		/* undo: what was added goes, the namespace too */
		struct fb_err de = { 0 };
		if (net_del(n, &de) < 0)
			fb_log(FB_LOG_WARN, "%s", de.msg);
	} else {
		libcni_cache_write(n, result);
		static const struct fb_cni_result none = { 0 };
		fb_cni_summarize(result ? result : &none, n->network, n->netns, IFNAME, mtu_of, n, out);
		char *addr = out->nifs && out->ifs[0].ip ? fb_xstrdup(out->ifs[0].ip) : NULL;
		if (addr)
			addr[strcspn(addr, "/")] = '\0';
		if (n->ports.n && !addr)
			ret = fb_err_set(err, FB_EXIT_FAILED, "ports", "--port: the network gave the VM no address");
		else if (addr)
			ret = ports_add(n, addr, err);
		free(addr);
		if (ret < 0) {
			struct fb_err de = { 0 };
			if (net_del(n, &de) < 0)
				fb_log(FB_LOG_WARN, "%s", de.msg);
			fb_network_free(out);
		} else {
			for (size_t i = 0; i < n->ports.n; i++)
				fb_strv_push(&out->ports, n->ports.v[i]);
		}
	}
	fb_cni_result_freep(&result);
	fb_cni_conflist_free(&list);
	return ret;
}

static int net_check(struct net *n, struct fb_err *err)
{
	char *cache = fb_xasprintf("%s/cni.json", n->run_dir);
	struct fb_cni_cache c;
	struct fb_err ce = { 0 };
	int r = fb_cni_cache_load(cache, &c, &ce);
	bool there = access(cache, F_OK) == 0;
	free(cache);
	if (r < 0 && there)
		return fb_err_set(err, FB_EXIT_FAILED, "cni", "VM %s: %s", n->id, ce.msg);
	if (r < 0)
		return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "VM %s has no network (no cni.json in %s)", n->id, n->run_dir);
	cached_bins(n, &c);
	const char *net = n->network;
	n->network = c.list.name;
	if (access(n->netns, F_OK) != 0)
		r = fb_err_set(err, FB_EXIT_FAILED, "cni", "VM %s: its network namespace %s is gone", n->id, n->netns);
	for (size_t i = 0; r == 0 && i < c.list.n; i++)
		r = call_plugin(n, "CHECK", &c.list, i, c.result, NULL, err);
	n->network = net;
	fb_cni_cache_free(&c);
	return r;
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-net");
	/* a plugin may end without reading its config (DEL of one that has
	 * nothing to undo): its answer says how it went, not our write */
	signal(SIGPIPE, SIG_IGN);
	struct net n __attribute__((cleanup(net_freep))) = { .tap_uid = -1, .tap_gid = -1 };
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		switch (c) {
		case OPT_ID: n.id = optarg; break;
		case OPT_NETWORK: n.network = optarg; break;
		case OPT_IP: n.ip = optarg; break;
		case OPT_RUN_DIR: n.run_dir = optarg; break;
		case OPT_CONF_DIR: fb_strv_push(&n.conf_dirs, optarg); break;
		case OPT_PORT: fb_strv_push(&n.ports, optarg); break;
		case OPT_NETNS: n.netns = fb_xstrdup(optarg), n.netns_given = true; break;
		case OPT_CACHE_DIR: n.cache_dir = optarg; break;
		case OPT_TAP_OWNER: {
			char *end;
			n.tap_uid = strtol(optarg, &end, 10);
			n.tap_gid = *end == ':' ? strtol(end + 1, &end, 10) : n.tap_uid;
			if (*end || n.tap_uid < 0 || n.tap_gid < 0)
				return fb_tool_usage_error("--tap-owner %s: expected UID[:GID]", optarg);
			break;
		}
		case OPT_BIN_DIR:
			fb_strv_push(&n.bin_dirs, optarg);
			n.bin_given = true;
			break;
		default: return fb_tool_bad_option(argv);
		}
	}
	if (optind >= argc || (strcmp(argv[optind], "add") && strcmp(argv[optind], "check") && strcmp(argv[optind], "del")))
		return fb_tool_usage_error("expected add, check or del");
	const char *cmd = argv[optind++];
	if (optind < argc)
		return fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (n.id && !fb_vm_valid_name(n.id))
		return fb_tool_usage_error("--id: 1 to 20 characters of [a-zA-Z0-9] (the VM's id)");
	if (n.ip) {
		/* an address, not a flag or a list: CNI_ARGS is ';'-separated */
		for (const char *p = n.ip; *p; p++)
			if (!strchr("0123456789abcdefABCDEF.:", *p))
				return fb_tool_usage_error("--ip-address %s: not an IP address", n.ip);
	}
	struct fb_err err = { 0 };
	FB_AUTODOC struct fb_doc *doc = NULL;
	/* in a pipeline (fb-tag get | fb-jail prepare | fb-net add | fb-jail
	 * start) the document read gets .network; an error object from the
	 * tool before goes on */
	if (isatty(0))
		doc = fb_doc_new();
	else if (fb_vm_doc_read(0, true, &doc, &err) < 0)
		return fb_tool_fail(&err);
	if (fb_doc_is_error(doc)) {
		struct fb_doc *e = doc;
		doc = NULL;
		return fb_doc_pass_error(e);
	}
	/* the VM a prepare step made: its id, run directory and jail user,
	 * unless the flags say otherwise */
	struct fb_vm_spec vm = { 0 };
	if (fb_doc_has(doc, "vm") && fb_vm_spec_decode(doc, &vm, &err) < 0)
		return fb_tool_fail(&err);
	if (!n.id)
		n.id = vm.id;
	if (!n.run_dir)
		n.run_dir = vm.run_dir;
	if (n.tap_uid < 0 && vm.jail) {
		n.tap_uid = (long)vm.jail->uid;
		n.tap_gid = (long)vm.jail->gid;
	}
	if (!n.id || !fb_vm_valid_name(n.id)) {
		fb_vm_spec_free(&vm);
		return fb_tool_usage_error("--id: 1 to 20 characters of [a-zA-Z0-9] (the VM's id)");
	}
	if (!n.conf_dirs.n) {
		fb_strv_push(&n.conf_dirs, "/etc/cni/conf.d");
		fb_strv_push(&n.conf_dirs, "/etc/cni/net.d");
	}
	if (!n.bin_dirs.n) {
		fb_strv_push(&n.bin_dirs, "/opt/cni/bin");
		fb_strv_push(&n.bin_dirs, "/usr/lib/cni");
	}
	char *rd = n.run_dir ? NULL : fb_xasprintf("%s/runs/%s", fb_run_cache(NULL), n.id);
	if (rd)
		n.run_dir = rd;
	if (!n.netns)
		n.netns = fb_xasprintf("%s/fb-%s", NETNS_DIR, n.id);
	int r, rc;
	if (!strcmp(cmd, "add")) {
		struct fb_network out = { 0 };
		if ((r = net_add(&n, &out, &err)) == 0)
			fb_network_encode(doc, &out);
		fb_network_free(&out);
	} else if (!strcmp(cmd, "check")) {
		if ((r = net_check(&n, &err)) == 0)
			fb_net_doc_mark(doc, "checked");
	} else if ((r = net_del(&n, &err)) == 0) {
		fb_net_doc_mark(doc, "deleted");
	}
	if (r < 0) {
		rc = fb_tool_fail(&err);
	} else {
		rc = fb_doc_finish(doc);
		doc = NULL;
	}
	fb_vm_spec_free(&vm);
	free(rd);
	return rc;
}
