/* firebuild run: a tagged image booted as a microVM (Firecracker, or QEMU's
 * microvm machine: KVM when there is one, TCG otherwise), fb-init as PID 1,
 * a config drive, and a supervisor (fb-jail: this process in the
 * foreground, a daemon with --daemonize) that talks to fb-init over a
 * virtio-serial control port: "stop" down, "started PID", "exit CODE" and
 * "error MESSAGE" up. firebuild-vm.c has the commands for the VMs that
 * run, and the kernels.
 *
 *   <run-cache>/runs/<id>/  state.json rootfs.ext4 config.drive ctl.sock
 *                           console.log */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "ext4img.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "tree.h"
#include "util.h"
#include "vm.h"

#include "firebuild.h"

#define SOCK_MAX 107 /* sun_path, less the NUL */

enum {
	R_FROM = 0x3800,
	R_NAME,
	R_ENV,
	R_ENV_FILE,
	R_HOSTNAME,
	R_DAEMONIZE,
	R_TIMEOUT,
	R_PORT,
	R_VMM,
	R_CGROUP,
	R_NO_JAIL,
	R_IDENTITY,
};

/* ---- the config drive ---- */

/* K=V lines of an env file (Docker's format: comments, blank lines, K
 * alone takes the value from our environment). */
static int read_env_file(const char *path, struct fb_strv *out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_file(path, &b, err) < 0) {
		fb_err_prefix(err, "--env-file");
		fb_buf_free(&b);
		return -1;
	}
	char *save = NULL;
	int lineno = 0;
	for (char *l = strtok_r(b.data ? b.data : (char[]){ 0 }, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t n = strlen(l);
		if (n && l[n - 1] == '\r')
			l[--n] = '\0';
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l || *l == '#')
			continue;
		if (*l == '=') {
			fb_buf_free(&b);
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "--env-file %s:%d: a variable needs a name", path, lineno);
		}
		if (strchr(l, '=')) {
			fb_strv_push(out, l);
		} else {
			const char *v = getenv(l);
			if (v)
				fb_strv_push_owned(out, fb_xasprintf("%s=%s", l, v));
		}
	}
	fb_buf_free(&b);
	return 0;
}

/* Later values of a name replace earlier ones, in place. */
static void env_merge(jv *env, const char *kv)
{
	size_t n = strcspn(kv, "=");
	jv out = jv_array();
	bool done = false;
	jv_array_foreach(*env, i, e)
	{
		if (jv_get_kind(e) == JV_KIND_STRING && !strncmp(jv_string_value(e), kv, n) && jv_string_value(e)[n] == '=') {
			jv_free(e);
			if (!done)
				out = jv_array_append(out, jv_string(kv));
			done = true;
		} else {
			out = jv_array_append(out, e);
		}
		(void)i;
	}
	jv_free(*env);
	if (!done)
		out = jv_array_append(out, jv_string(kv));
	*env = out;
}

static int write_config_drive(const char *path, jv cfg, struct fb_err *err)
{
	char *t = fb_json_dump(cfg, false);
	size_t n = strlen(t), padded = (n + 1 + 4095) / 4096 * 4096;
	char *buf = fb_xcalloc(1, padded);
	memcpy(buf, t, n);
	free(t);
	/* secrets may be in it: only root reads it on the host */
	int r = fb_write_file_atomic(path, buf, padded, 0600, err);
	free(buf);
	return r;
}

/* fb-init into the VM's copy (images built before it existed get it too;
 * a link /sbin -> usr/sbin is followed inside the image). */
static int inject_init(const char *rootfs, struct fb_err *err)
{
	char init[PATH_MAX + 64];
	if (tool_path("fb-init", init, sizeof(init), err) < 0)
		return -1;
	struct fb_buf b = FB_BUF_INIT;
	int r = fb_read_file(init, &b, err) < 0 ? -1 : fb_ext4_put_file(rootfs, "/sbin/fb-init", b.data, b.len, 0755, 0, 0, err);
	fb_buf_free(&b);
	return r;
}

static const char run_usage[] =
	"Usage: firebuild run --from=NAME:VERSION [FLAGS] [-- CMD ARGS...]\n"
	"Boot a tagged image as a microVM with fb-init as PID 1 and run its\n"
	"ENTRYPOINT+CMD (a command after -- replaces CMD): Firecracker where\n"
	"/dev/kvm works and its binary is there, else QEMU's microvm (KVM when it\n"
	"runs guests, TCG otherwise). The VMM runs jailed. In the foreground the\n"
	"console is this terminal and the exit status is the workload's.\n"
	"\n"
	"  --from NAME:VERSION        the image (required)\n"
	"  --name ID                  1-20 of [a-zA-Z0-9], unique among running VMs\n"
	"                             (default: a random id)\n"
	"  --hostname NAME            (default: a random Docker-style name)\n"
	"  --env K=V, --env-file F    added to the image's ENV, files first, in order\n"
	"                             (repeatable)\n"
	"  --daemonize                print the VM's state and return; the console\n"
	"                             goes to firebuild logs --vmm-id=ID\n"
	"  --port [HOSTIP|IFACE:][HOSTPORT:]PORT[/tcp|udp]  publish a guest port (repeatable)\n"
	"  --identity-file KEY.pub    with --ssh-user: the key in USER's authorized_keys\n"
	"                             (repeatable; USER made when missing, host keys made\n"
	"                             per VM, the image's sshd or dropbear started)\n"
	"  --vmm qemu|firecracker     the backend (default: see above, or the profile's)\n"
	"  --cgroup FILE=VALUE        a cgroup setting for the VMM's jail (repeatable)\n"
	"  --no-jail                  run the VMM unjailed (as root)\n"
	"  --timings                  print where the time went when the VM ends\n"
	"                             (when it runs, with --daemonize)\n"
	"Machine flags (also on rootfs):\n"
	"  --cni-network-name NET     put the VM on this CNI network (fb-net)\n"
	"  --ip-address IP            ask the network's IPAM for this address\n"
	"  --cpu N                    (1)\n"
	"  --mem MiB                  (128)\n"
	"  --cpu-template T2|T2S|T2CL|T2A|C3|None  Firecracker's CPU template (QEMU: ignored)\n"
	"  --ht-enabled               Firecracker's smt (QEMU: two threads a core)\n"
	"  --kernel-args ARGS         (console=ttyS0 noapic reboot=k panic=1 pci=off\n"
	"                             nomodules rw for Firecracker; QEMU adds what it needs)\n"
	"  --no-mmds                  do not publish the VM's metadata via Firecracker's MMDS\n"
	"  --root-drive-partuuid ID   (ignored: root drives are whole-disk ext4)\n"
	"  --ssh-user USER            see --identity-file\n"
	"  --vmlinux-id ID            a kernel from firebuild kernel ls, or a file of that\n"
	"                             name in kernel-storage-root (default: the profile's,\n"
	"                             else the store's default)\n"
	"  --log-firecracker-http-calls  log every Firecracker API call\n"
	"  --shutdown-graceful-timeout-seconds S  how long a stop waits for the workload\n"
	"                             before it is killed (30; alias --shutdown-timeout)\n"
	"The original's first README spellings work too: --machine-cni-network-name,\n"
	"--machine-ssh-user, --machine-vmlinux-id, --resources-cpu, --resources-mem,\n"
	"--detached (--daemonize).\n";

/* A Docker-style name for the hostname: adjective-surname. */
static char *random_hostname(void)
{
	static const char *const adj[] = { "admiring", "bold",    "brave",    "busy",     "calm",    "clever",  "cool",
					   "eager",    "elated",  "epic",     "festive",  "focused", "gallant", "gifted",
					   "happy",    "jolly",   "keen",     "kind",     "lucid",   "modest",  "nifty",
					   "quirky",   "relaxed", "serene",   "sharp",    "stoic",   "sweet",   "tender",
					   "trusting", "upbeat",  "vibrant",  "wizardly", "zealous", "zen" };
	static const char *const name[] = { "albattani", "babbage", "bardeen",   "bell",     "curie",    "darwin",
					    "dijkstra",  "einstein", "euclid",   "fermat",   "feynman",  "galileo",
					    "goldberg",  "hopper",  "hypatia",   "kepler",   "knuth",    "lamarr",
					    "lovelace",  "mayer",   "meitner",   "newton",   "noether",  "pasteur",
					    "ritchie",   "shannon", "thompson",  "torvalds", "turing",   "wozniak" };
	unsigned char r[2] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, r, 2) != 2)
		r[0] = (unsigned char)getpid(), r[1] = (unsigned char)time(NULL);
	if (fd >= 0)
		close(fd);
	return fb_xasprintf("%s-%s", adj[r[0] % FB_ARRAY_LEN(adj)], name[r[1] % FB_ARRAY_LEN(name)]);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		MACHINE_OPTS,
		{ "timings", no_argument, NULL, M_TIMINGS },
		{ "from", required_argument, NULL, R_FROM },
		{ "name", required_argument, NULL, R_NAME },
		{ "env", required_argument, NULL, R_ENV },
		{ "env-file", required_argument, NULL, R_ENV_FILE },
		{ "hostname", required_argument, NULL, R_HOSTNAME },
		{ "daemonize", no_argument, NULL, R_DAEMONIZE },
		{ "detached", no_argument, NULL, R_DAEMONIZE }, /* the original README's word for it */
		{ "shutdown-timeout", required_argument, NULL, R_TIMEOUT },
		{ "port", required_argument, NULL, R_PORT },
		{ "identity-file", required_argument, NULL, R_IDENTITY },
		{ "vmm", required_argument, NULL, R_VMM },
		{ "cgroup", required_argument, NULL, R_CGROUP },
		{ "no-jail", no_argument, NULL, R_NO_JAIL },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = COMMON_INIT(run_usage);
	const char *cni_net = NULL, *ip = NULL, *cpu_template = NULL, *partuuid = NULL;
	struct fb_strv cni_bins = FB_STRV_INIT, ports = FB_STRV_INIT, identities = FB_STRV_INIT;
	const char *ssh_user = NULL, *vmm = NULL;
	char *cni_conf = NULL, *fc_bin = NULL, *chroot_base = NULL, *rcflag = NULL, *netns = NULL, *numa = NULL;
	long juid = -1, jgid = -1;
	bool no_jail = false, ht = false, no_mmds = false, log_http = false;
	struct fb_strv cgroups = FB_STRV_INIT;
	const char *from = NULL, *name = NULL, *vmlinux = NULL, *hostname = NULL, *kargs = "";
	char *pvmm = NULL, *cache_dir = NULL;
	long cpu = 1, mem = 128, timeout = 30;
	bool daemon = false;
	struct fb_strv envs = FB_STRV_INIT, env_files = FB_STRV_INIT;
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
			continue;
		}
		char *end = NULL;
		switch (c) {
		case R_FROM: from = optarg; break;
		case R_NAME: name = optarg; break;
		case M_VMLINUX: vmlinux = optarg; break;
		case M_CPU: cpu = strtol(optarg, &end, 10); break;
		case M_MEM: mem = strtol(optarg, &end, 10); break;
		case R_TIMEOUT:
		case M_GRACEFUL:
			timeout = strtol(optarg, &end, 10);
			if (*end == 's')
				end++;
			break;
		case R_ENV:
			if (optarg[0] == '=') {
				rc = fb_tool_usage_error("--env %s: a variable needs a name", optarg);
				goto out;
			}
			if (strchr(optarg, '='))
				fb_strv_push(&envs, optarg);
			else if (getenv(optarg))
				fb_strv_push_owned(&envs, fb_xasprintf("%s=%s", optarg, getenv(optarg)));
			break;
		case R_ENV_FILE: fb_strv_push(&env_files, optarg); break;
		case R_HOSTNAME: hostname = optarg; break;
		case R_DAEMONIZE: daemon = true; break;
		case M_KARGS: kargs = optarg; break;
		case M_CNI_NET: cni_net = optarg; break;
		case M_IP: ip = optarg; break;
		case R_PORT: fb_strv_push(&ports, optarg); break;
		case M_SSH_USER: ssh_user = optarg; break;
		case R_IDENTITY: fb_strv_push(&identities, optarg); break;
		case R_VMM: vmm = optarg; break;
		case R_NO_JAIL: no_jail = true; break;
		case M_CPU_TEMPLATE: cpu_template = optarg; break;
		case M_HT: ht = !optarg || strcmp(optarg, "false"); break;
		case M_NO_MMDS: no_mmds = !optarg || strcmp(optarg, "false"); break;
		case M_LOG_FC_HTTP: log_http = !optarg || strcmp(optarg, "false"); break;
		case M_PARTUUID: partuuid = optarg; break;
		case M_TIMINGS: co.timings = true; break;
		case R_CGROUP:
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				rc = fb_tool_usage_error("--cgroup %s: expected FILE=VALUE", optarg);
				goto out;
			}
			fb_strv_push(&cgroups, optarg);
			break;
		default:
			rc = fb_tool_bad_option(argv);
			goto out;
		}
		if (end && (*end || cpu < 1 || cpu > 64 || mem < 32 || timeout < 0)) {
			rc = fb_tool_usage_error("--cpu (1-64), --mem (MiB, at least 32) and --shutdown-graceful-timeout-seconds "
						 "take numbers");
			goto out;
		}
	}
	if (!from) {
		rc = fb_tool_usage_error("run needs --from=NAME:VERSION");
		goto out;
	}
	if (name && !fb_vm_valid_name(name)) {
		rc = fb_tool_usage_error("--name %s: 1 to 20 characters of [a-zA-Z0-9]", name);
		goto out;
	}
	static const char *const templates[] = { "T2", "T2S", "T2CL", "T2A", "C3", "None" };
	bool tmpl_ok = !cpu_template;
	for (size_t i = 0; i < FB_ARRAY_LEN(templates) && !tmpl_ok; i++)
		tmpl_ok = !strcmp(cpu_template, templates[i]);
	if (!tmpl_ok) {
		rc = fb_tool_usage_error("--cpu-template %s: one of T2, T2S, T2CL, T2A, C3, None", cpu_template);
		goto out;
	}
	if (partuuid)
		fb_warn("--root-drive-partuuid %s: ignored: firebuild's root drives are whole-disk ext4 file systems with no "
			"partition table to point at",
			partuuid);
	if (co.binary_jailer)
		fb_warn("--binary-jailer %s: ignored: firebuild jails the VMM itself (fb-jail: chroot, namespaces, cgroups, "
			"dropped ids)",
			co.binary_jailer);
	struct fb_err err = { 0 };
	char *store = NULL, *kernel = NULL, *prof_kernel = NULL, *kdir = NULL, *s_uid = NULL, *s_gid = NULL;
	jv meta = jv_invalid();
	struct {
		char *dir, *id, *state_path, *sock, *console;
		int lock; /* the name's lock, held until fb-jail has the VMM running */
	} v = { .lock = -1 };
	if (resolve_common(&co, "run", &store, &err) < 0) {
		rc = fail(&err);
		goto out;
	}
	/* every setting: the flag, else the named profile's */
	rcflag = co_setting(&co, co.run_cache, "run_cache");
	cni_conf = co_setting(&co, co.cni_conf_dir, "cni_conf_dir");
	fc_bin = co_setting(&co, co.binary_firecracker, "binary_firecracker");
	chroot_base = co_setting(&co, co.chroot_base, "chroot_base");
	netns = co_setting(&co, co.netns, "netns");
	numa = co_setting(&co, co.numa_node, "jailer_numa_node");
	s_uid = co_setting(&co, co.jailer_uid, "jailer_uid");
	s_gid = co_setting(&co, co.jailer_gid, "jailer_gid");
	prof_kernel = co_setting(&co, NULL, "vmlinux_id");
	kdir = co_storage_prop(&co, "kernel-storage-root");
	cache_dir = co_setting(&co, co.cni_cache_dir, "cni_cache_dir");
	if (co.cni_bin_dirs.n) {
		for (size_t i = 0; i < co.cni_bin_dirs.n; i++)
			fb_strv_push(&cni_bins, co.cni_bin_dirs.v[i]);
	} else {
		char *pb = co_setting(&co, NULL, "cni_bin_dir"), *save = NULL;
		for (char *d = pb ? strtok_r(pb, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
			fb_strv_push(&cni_bins, d);
		free(pb);
	}
	if (s_uid)
		juid = strtol(s_uid, NULL, 10);
	if (s_gid)
		jgid = strtol(s_gid, NULL, 10);
	if (!vmm) {
		pvmm = co_setting(&co, NULL, "vmm");
		vmm = pvmm;
	}
	/* the image */
	const char *colon = strrchr(from, ':');
	char *img = colon ? fb_xasprintf("%s/rootfs/%.*s/%s", store, (int)(colon - from), from, colon + 1)
			  : fb_xasprintf("%s/rootfs/%s/latest", store, from);
	char *imgjson = fb_xasprintf("%s/image.json", img), *imgext4 = fb_xasprintf("%s/rootfs.ext4", img);
	if (access(imgext4, R_OK) < 0 || fb_json_load(imgjson, &meta, &err) < 0) {
		err = (struct fb_err){ 0 };
		fb_err_set(&err, FB_EXIT_NOTFOUND, "not_found", "--from %s: no such image in %s (firebuild image ls)", from, store);
		rc = fail(&err);
		goto done;
	}
	if (!vmlinux)
		vmlinux = prof_kernel;
	if (kernel_path(store, kdir, vmlinux, &kernel, &err) < 0) {
		rc = fail(&err);
		goto done;
	}
	/* the VM's directory */
	char idbuf[21];
	if (!name) {
		unsigned char rnd[6];
		int rf = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (rf < 0 || read(rf, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
			for (size_t i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)(rand() ^ getpid());
		}
		if (rf >= 0)
			close(rf);
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(idbuf + 2 * i, 3, "%02x", rnd[i]);
		name = idbuf;
	}
	const char *rcd = fb_run_cache(rcflag);
	char *runs = fb_xasprintf("%s/runs", rcd);
	v.id = fb_xstrdup(name);
	v.dir = fb_xasprintf("%s/%s", runs, name);
	v.state_path = fb_xasprintf("%s/state.json", v.dir);
	v.sock = fb_xasprintf("%s/ctl.sock", v.dir);
	v.console = fb_xasprintf("%s/console.log", v.dir);
	free(runs);
	if (strlen(v.sock) > SOCK_MAX) {
		fb_err_set(&err, FB_EXIT_USAGE, "socket_path",
			   "the control socket %s is %zu bytes, over the Unix socket limit of %d: use a shorter --run-cache", v.sock,
			   strlen(v.sock), SOCK_MAX);
		rc = fail(&err);
		goto done;
	}
	/* one VM a name: the name is taken before anything else is made, and
	 * a name in use is another VM's, not ours to remove */
	char *runsd = fb_xasprintf("%s/runs", rcd);
	int cr = fb_mkdir_p(rcd, 0755, &err) < 0 ? -1 : fb_vm_claim(runsd, name, &v.lock, &err);
	free(runsd);
	if (cr < 0) {
		free(v.dir);
		v.dir = NULL;
		rc = fail(&err);
		goto done;
	}
	/* the config fb-init reads */
	jv icfg = jv_getpath(jv_copy(meta), jv_parse("[\"config\",\"config\"]"));
	if (jv_get_kind(icfg) != JV_KIND_OBJECT) {
		jv_free(icfg);
		icfg = jv_object();
	}
	jv env = jv_object_get(jv_copy(icfg), jv_string("Env"));
	if (jv_get_kind(env) != JV_KIND_ARRAY) {
		jv_free(env);
		env = jv_array();
	}
	for (size_t i = 0; i < env_files.n; i++) {
		struct fb_strv kv = FB_STRV_INIT;
		if (read_env_file(env_files.v[i], &kv, &err) < 0) {
			fb_strv_free(&kv);
			jv_free(env);
			jv_free(icfg);
			rc = fail(&err);
			goto done;
		}
		for (size_t k = 0; k < kv.n; k++)
			env_merge(&env, kv.v[k]);
		fb_strv_free(&kv);
	}
	for (size_t i = 0; i < envs.n; i++)
		env_merge(&env, envs.v[i]);
	if (no_jail && (juid >= 0 || cgroups.n)) {
		jv_free(env);
		jv_free(icfg);
		fb_err_set(&err, FB_EXIT_USAGE, "usage", "--no-jail goes with no --jailer-uid or --cgroup");
		rc = fail(&err);
		goto done;
	}
	bool jailed = !no_jail;
	/* not root unless asked: nobody's ids by default */
	long jail_uid = jailed ? (juid >= 0 ? juid : 65534) : -1;
	long jail_gid = jailed ? (jgid >= 0 ? jgid : juid >= 0 ? juid : 65534) : -1;

	/* the network: fb-net add, its result into the config drive and the spec */
	jv network = jv_invalid();
	if ((ip || ports.n || netns) && !cni_net) {
		jv_free(env);
		jv_free(icfg);
		fb_err_set(&err, FB_EXIT_USAGE, "usage", "--ip-address, --port and --netns need --cni-network-name");
		rc = fail(&err);
		goto done;
	}
	if (cni_net) {
		char netp[PATH_MAX + 64];
		struct fb_strv na = FB_STRV_INIT;
		if (tool_path("fb-net", netp, sizeof(netp), &err) == 0) {
			fb_strv_push(&na, netp);
			fb_strv_push(&na, "add");
			fb_strv_push_owned(&na, fb_xasprintf("--id=%s", name));
			fb_strv_push_owned(&na, fb_xasprintf("--network=%s", cni_net));
			fb_strv_push_owned(&na, fb_xasprintf("--run-dir=%s", v.dir));
			if (ip)
				fb_strv_push_owned(&na, fb_xasprintf("--ip-address=%s", ip));
			if (cni_conf)
				fb_strv_push_owned(&na, fb_xasprintf("--cni-conf-dir=%s", cni_conf));
			if (netns)
				fb_strv_push_owned(&na, fb_xasprintf("--netns=%s", netns));
			if (cache_dir)
				fb_strv_push_owned(&na, fb_xasprintf("--cni-cache-dir=%s", cache_dir));
			for (size_t i = 0; i < cni_bins.n; i++)
				fb_strv_push_owned(&na, fb_xasprintf("--cni-bin-dir=%s", cni_bins.v[i]));
			for (size_t i = 0; i < ports.n; i++)
				fb_strv_push_owned(&na, fb_xasprintf("--port=%s", ports.v[i]));
			if (jail_uid >= 0)
				fb_strv_push_owned(&na, fb_xasprintf("--tap-owner=%ld:%ld", jail_uid, jail_gid));
			struct fb_buf out = FB_BUF_INIT;
			int code = 0;
			jv nd;
			if (fb_proc_run(na.v, NULL, 0, &out, NULL, &code, &err) == 0 && code == 0 &&
			    fb_json_parse(fb_buf_str(&out), out.len, &nd, &err) == 0) {
				network = fb_json_member(nd, "network");
				jv_free(nd);
			} else if (code) {
				fb_err_set(&err, code, "cni", "--cni-network-name %s: fb-net add failed (see above)", cni_net);
			}
			fb_buf_free(&out);
		}
		fb_strv_free(&na);
		if (jv_get_kind(network) != JV_KIND_OBJECT) {
			if (jv_is_valid(network))
				jv_free(network);
			jv_free(env);
			jv_free(icfg);
			rc = err.code ? err.code : FB_EXIT_FAILED;
			if (!err.msg[0])
				fb_err_set(&err, FB_EXIT_FAILED, "cni", "fb-net add gave no network");
			fb_log_failure(&err);
			goto done;
		}
	}
	jv cfg = jv_object_set(jv_object(), jv_string("version"), jv_number(1));
	if (ssh_user || identities.n) {
		/* the public keys' lines, for the user's authorized_keys */
		jv keys = jv_array();
		for (size_t i = 0; i < identities.n && !err.msg[0]; i++) {
			struct fb_buf kb = FB_BUF_INIT;
			if (fb_read_file(identities.v[i], &kb, &err) < 0) {
				fb_err_prefix(&err, "--identity-file");
			} else {
				char *save = NULL;
				for (char *l = strtok_r(kb.data ? kb.data : (char[]){ 0 }, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
					if (*l && *l != '#' && strstr(l, "PRIVATE KEY") == NULL)
						keys = jv_array_append(keys, jv_string(l));
					else if (strstr(l, "PRIVATE KEY"))
						fb_err_set(&err, FB_EXIT_USAGE, "usage", "--identity-file %s: a private key; give the .pub",
							   identities.v[i]);
			}
			fb_buf_free(&kb);
		}
		if (!err.msg[0] && (!ssh_user || !jv_array_length(jv_copy(keys))))
			fb_err_set(&err, FB_EXIT_USAGE, "usage", "--ssh-user and --identity-file (a public key) go together");
		if (err.msg[0]) {
			jv_free(keys);
			jv_free(cfg);
			jv_free(env);
			jv_free(icfg);
			if (jv_is_valid(network))
				jv_free(network);
			rc = fail(&err);
			goto done;
		}
		cfg = jv_object_set(cfg, jv_string("ssh"),
				    jv_object_set(jv_object_set(jv_object(), jv_string("user"), jv_string(ssh_user)), jv_string("keys"), keys));
	}
	if (jv_is_valid(network)) {
		cfg = jv_object_set(cfg, jv_string("network"), jv_copy(network));
		cfg = jv_object_set(cfg, jv_string("dns"), fb_json_member(network, "dns"));
	}
	cfg = jv_object_set(cfg, jv_string("id"), jv_string(name));
	char *rhost = hostname && *hostname ? NULL : random_hostname();
	cfg = jv_object_set(cfg, jv_string("hostname"), jv_string(rhost ? rhost : hostname));
	free(rhost);
	cfg = jv_object_set(cfg, jv_string("env"), env);
	jv ep = jv_object_get(jv_copy(icfg), jv_string("Entrypoint"));
	cfg = jv_object_set(cfg, jv_string("entrypoint"), jv_get_kind(ep) == JV_KIND_ARRAY ? ep : (jv_free(ep), jv_array()));
	jv cmd = jv_array();
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			cmd = jv_array_append(cmd, jv_string(argv[i]));
	} else {
		jv_free(cmd);
		cmd = jv_object_get(jv_copy(icfg), jv_string("Cmd"));
		if (jv_get_kind(cmd) != JV_KIND_ARRAY) {
			jv_free(cmd);
			cmd = jv_array();
		}
	}
	cfg = jv_object_set(cfg, jv_string("cmd"), cmd);
	static const char *const keys[][2] = { { "User", "user" }, { "WorkingDir", "workdir" }, { "StopSignal", "stop_signal" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++) {
		jv x = jv_object_get(jv_copy(icfg), jv_string(keys[i][0]));
		if (jv_get_kind(x) == JV_KIND_STRING)
			cfg = jv_object_set(cfg, jv_string(keys[i][1]), x);
		else
			jv_free(x);
	}
	cfg = jv_object_set(cfg, jv_string("stop_timeout"), jv_number((double)timeout));
	jv_free(icfg);
	char *drive = fb_xasprintf("%s/config.drive", v.dir), *rootfs = fb_xasprintf("%s/rootfs.ext4", v.dir);
	jv cfg_copy = jv_copy(cfg);
	/* the VM's disks are root's alone (the jail's user's, jailed: fb-jail) */
	if (write_config_drive(drive, cfg, &err) < 0 || fb_copy_sparse(imgext4, rootfs, &err) < 0 ||
	    (chmod(rootfs, 0600) < 0 && fb_err_errno(&err, errno, "%s", rootfs) < 0) || inject_init(rootfs, &err) < 0) {
		rc = fail(&err);
		jv_free(cfg_copy);
		free(drive);
		free(rootfs);
		goto done;
	}
	/* fb-jail starts it and supervises (this process becomes fb-jail) */
	char jail[PATH_MAX + 64];
	if (tool_path("fb-jail", jail, sizeof(jail), &err) < 0) {
		rc = fail(&err);
		jv_free(cfg_copy);
		free(drive);
		free(rootfs);
		goto done;
	}
	jv spec = jv_object_set(jv_object(), jv_string("id"), jv_string(name));
	spec = jv_object_set(spec, jv_string("run_dir"), jv_string(v.dir));
	spec = jv_object_set(spec, jv_string("run_cache"), jv_string(rcd));
	spec = jv_object_set(spec, jv_string("image"), jv_string(from));
	spec = jv_object_set(spec, jv_string("kernel"), jv_string(kernel));
	spec = jv_object_set(spec, jv_string("rootfs"), jv_string(rootfs));
	spec = jv_object_set(spec, jv_string("config_drive"), jv_string(drive));
	spec = jv_object_set(spec, jv_string("cpu"), jv_number((double)cpu));
	spec = jv_object_set(spec, jv_string("mem"), jv_number((double)mem));
	spec = jv_object_set(spec, jv_string("kernel_args"), jv_string(kargs));
	spec = jv_object_set(spec, jv_string("daemonize"), jv_bool(daemon));
	spec = jv_object_set(spec, jv_string("stop_timeout"), jv_number((double)timeout));
	spec = jv_object_set(spec, jv_string("remove_after"), jv_bool(!daemon));
	if (jv_is_valid(network))
		spec = jv_object_set(spec, jv_string("network"), network);
	/* the backend: the flag, else the profile's, else where it works */
	if (vmm)
		spec = jv_object_set(spec, jv_string("vmm"), jv_string(vmm));
	if (fc_bin)
		spec = jv_object_set(spec, jv_string("firecracker_binary"), jv_string(fc_bin));
	/* Firecracker's machine settings (fb-jail says why QEMU ignores them) */
	if (cpu_template)
		spec = jv_object_set(spec, jv_string("cpu_template"), jv_string(cpu_template));
	if (ht)
		spec = jv_object_set(spec, jv_string("smt"), jv_true());
	if (log_http)
		spec = jv_object_set(spec, jv_string("log_api_calls"), jv_true());
	if (!no_mmds) {
		/* what guest software may read from MMDS: no environment (secrets) */
		jv md = jv_object_set(jv_object(), jv_string("id"), jv_string(name));
		md = jv_object_set(md, jv_string("image"), jv_string(from));
		md = jv_object_set(md, jv_string("hostname"), jv_object_get(jv_copy(cfg_copy), jv_string("hostname")));
		jv net2 = jv_object_get(jv_copy(cfg_copy), jv_string("network"));
		md = jv_object_set(md, jv_string("network"), jv_is_valid(net2) ? net2 : jv_null());
		jv ssh = jv_object_get(jv_copy(cfg_copy), jv_string("ssh"));
		md = jv_object_set(md, jv_string("ssh"), jv_is_valid(ssh) ? ssh : jv_null());
		spec = jv_object_set(spec, jv_string("mmds"), jv_object_set(jv_object(), jv_string("firebuild"), md));
	}
	jv_free(cfg_copy);
	if (jailed) {
		jv j = jv_object_set(jv_object(), jv_string("base"), jv_string(chroot_base ? chroot_base : "/srv/jailer"));
		j = jv_object_set(j, jv_string("uid"), jv_number((double)jail_uid));
		j = jv_object_set(j, jv_string("gid"), jv_number((double)jail_gid));
		jv cg = jv_object();
		for (size_t i = 0; i < cgroups.n; i++) {
			char *eq = strchr(cgroups.v[i], '=');
			cg = jv_object_set(cg, jv_string_sized(cgroups.v[i], (int)(eq - cgroups.v[i])), jv_string(eq + 1));
		}
		if (numa)
			j = jv_object_set(j, jv_string("numa_node"), jv_number((double)strtol(numa, NULL, 10)));
		spec = jv_object_set(spec, jv_string("jail"), jv_object_set(j, jv_string("cgroup"), cg));
	}

	char *specp = fb_xasprintf("%s/vm.json", v.dir);
	free(drive);
	free(rootfs);
	if (fb_json_save(specp, jv_object_set(jv_object(), jv_string("vm"), spec), 0600, &err) < 0) {
		free(specp);
		rc = fail(&err);
		goto done;
	}
	char *jargv[] = { jail, "start", "--spec", specp, NULL };
	/* the name's lock goes on with fb-jail, and only with it: no CNI plugin
	 * or other child inherits it (one that outlived its start would hold
	 * the name for ever, and purge would think a start is under way) */
	char lockfd[16];
	snprintf(lockfd, sizeof(lockfd), "%d", v.lock);
	setenv(FB_VM_LOCK_ENV, lockfd, 1);
	fcntl(v.lock, F_SETFD, 0);
	if (co.timings)
		setenv("FB_TIMINGS", "1", 1); /* fb-jail prints them at the end */
	fb_trace_finish();
	fflush(NULL);
	execv(jail, jargv);
	unsetenv(FB_VM_LOCK_ENV);
	fb_err_errno(&err, errno, "unable to run %s", jail);
	free(specp);
	rc = fail(&err);
done:
	if (rc != 0 && v.dir)
	{
		/* it never started: nothing of it stays, its network neither */
		struct fb_err te = { 0 };
		fb_vm_teardown(v.dir, v.id ? v.id : "x", &te);
	}
	if (v.lock >= 0)
		close(v.lock);
	free(v.dir);
	free(v.id);
	free(v.state_path);
	free(v.sock);
	free(v.console);

	free(img);
	free(imgjson);
	free(imgext4);
	free(kernel);
	free(prof_kernel);
	free(kdir);
	free(s_uid);
	free(s_gid);
	free(store);
	if (jv_is_valid(meta))
		jv_free(meta);
out:
	free(rcflag);
	free(cni_conf);
	free(fc_bin);
	free(chroot_base);
	free(netns);
	free(numa);
	free(pvmm);
	free(cache_dir);
	fb_strv_free(&cni_bins);
	fb_strv_free(&ports);
	fb_strv_free(&identities);
	fb_strv_free(&cgroups);
	fb_strv_free(&envs);
	fb_strv_free(&env_files);
	common_free(&co);
	return rc;
}

