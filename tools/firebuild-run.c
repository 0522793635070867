/* firebuild run: a tagged image booted as a microVM. The command is the
 * pipeline of docs/tools/firebuild.md ("run as a pipeline"):
 *
 *   fb-tag get IMAGE | fb-jail prepare ... | fb-net add ... | fb-jail start
 *
 * (fb-net only with --cni-network-name). This file turns the flags (and
 * the profile's settings) into those argv; the tools do the rest. The VM's
 * name is taken here first (lib/vm's fb_vm_claim: the run directory made
 * with its lock held) and the lock held for the whole pipeline: fb-jail
 * prepare, and only it, inherits it (FB_VM_LOCK_FD) to know the name is
 * its caller's. The document of the steps before start goes to
 * <run-dir>/vm.json, and this process becomes fb-jail start (--spec): the
 * VM's supervisor in the foreground, with this terminal as its console,
 * its signals and the workload's exit status, and the lock, which it lets
 * go once the VMM runs. A step that fails undoes its part and passes the
 * error on; what came before it is undone here: nothing of it stays. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "util.h"
#include "vm.h"

#include "firebuild.h"

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

static const char run_usage[] =
	"Usage: firebuild run --from=NAME:VERSION [FLAGS] [-- CMD ARGS...]\n"
	"Boot a tagged image as a microVM with fb-init as PID 1 and run its\n"
	"ENTRYPOINT+CMD (a command after -- replaces CMD): Firecracker where\n"
	"/dev/kvm works and its binary is there, else QEMU's microvm (KVM when it\n"
	"runs guests, TCG otherwise). The VMM runs jailed. In the foreground the\n"
	"console is this terminal and the exit status is the workload's.\n"
	"The pipeline: fb-tag get | fb-jail prepare | fb-net add | fb-jail start.\n"
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

static const struct option run_opts[] = {
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

/* The flags, then the settings they and the profile give. */
struct run_req {
	struct common co;
	const char *from, *name, *vmlinux, *hostname, *kargs, *cni_net, *ip, *cpu_template, *partuuid, *ssh_user, *vmm;
	long cpu, mem, timeout;
	bool daemon, no_jail, ht, no_mmds, log_http;
	struct fb_strv envs, env_files, ports, identities, cgroups;
	char *const *cmd;
	int ncmd;
	/* the flag's, else the profile's */
	char *store, *rcflag, *cni_conf, *fc_bin, *chroot_base, *netns, *numa, *juid, *jgid, *cache_dir, *pvmm, *kernel;
	struct fb_strv cni_bins;
	char id[21];
	char *runs, *dir, *spec; /* <run-cache>/runs/<id>, its vm.json */
	int lock;         /* the name's lock, held across the pipeline */
};

static void run_req_free(struct run_req *r)
{
	char *owned[] = { r->store, r->rcflag, r->cni_conf, r->fc_bin, r->chroot_base, r->netns, r->numa,
			  r->juid,  r->jgid,   r->cache_dir, r->pvmm,  r->kernel, r->runs, r->dir, r->spec };
	for (size_t i = 0; i < FB_ARRAY_LEN(owned); i++)
		free(owned[i]);
	struct fb_strv *lists[] = { &r->envs, &r->env_files, &r->ports, &r->identities, &r->cgroups, &r->cni_bins };
	for (size_t i = 0; i < FB_ARRAY_LEN(lists); i++)
		fb_strv_free(lists[i]);
	if (r->lock >= 0)
		close(r->lock);
	common_free(&r->co);
}

/* One of run's own flags: 0, -1 when c is none of them, or the exit code
 * of a usage error. */
static int run_flag(int c, const char *arg, struct run_req *r)
{
	char *end = NULL;
	switch (c) {
	case R_FROM: r->from = arg; break;
	case R_NAME: r->name = arg; break;
	case M_VMLINUX: r->vmlinux = arg; break;
	case M_CPU: r->cpu = strtol(arg, &end, 10); break;
	case M_MEM: r->mem = strtol(arg, &end, 10); break;
	case R_TIMEOUT:
	case M_GRACEFUL:
		r->timeout = strtol(arg, &end, 10);
		if (*end == 's')
			end++;
		break;
	case R_ENV:
		if (arg[0] == '=')
			return fb_tool_usage_error("--env %s: a variable needs a name", arg);
		fb_strv_push(&r->envs, arg);
		break;
	case R_ENV_FILE: fb_strv_push(&r->env_files, arg); break;
	case R_HOSTNAME: r->hostname = arg; break;
	case R_DAEMONIZE: r->daemon = true; break;
	case M_KARGS: r->kargs = arg; break;
	case M_CNI_NET: r->cni_net = arg; break;
	case M_IP: r->ip = arg; break;
	case R_PORT: fb_strv_push(&r->ports, arg); break;
	case M_SSH_USER: r->ssh_user = arg; break;
	case R_IDENTITY: fb_strv_push(&r->identities, arg); break;
	case R_VMM: r->vmm = arg; break;
	case R_NO_JAIL: r->no_jail = true; break;
	case M_CPU_TEMPLATE: r->cpu_template = arg; break;
	case M_HT: r->ht = !arg || strcmp(arg, "false"); break;
	case M_NO_MMDS: r->no_mmds = !arg || strcmp(arg, "false"); break;
	case M_LOG_FC_HTTP: r->log_http = !arg || strcmp(arg, "false"); break;
	case M_PARTUUID: r->partuuid = arg; break;
	case M_TIMINGS: r->co.timings = true; break;
	case R_CGROUP:
		if (!strchr(arg, '=') || arg[0] == '=')
			return fb_tool_usage_error("--cgroup %s: expected FILE=VALUE", arg);
		fb_strv_push(&r->cgroups, arg);
		break;
	default: return -1;
	}
	if (end && (*end || r->cpu < 1 || r->cpu > 64 || r->mem < 32 || r->timeout < 0))
		return fb_tool_usage_error("--cpu (1-64), --mem (MiB, at least 32) and --shutdown-graceful-timeout-seconds "
					   "take numbers");
	return 0;
}

/* What the flags say together, before anything is asked of the store. */
static int run_check(const struct run_req *r)
{
	if (!r->from)
		return fb_tool_usage_error("run needs --from=NAME:VERSION");
	if (r->name && !fb_vm_valid_name(r->name))
		return fb_tool_usage_error("--name %s: 1 to 20 characters of [a-zA-Z0-9]", r->name);
	static const char *const templates[] = { "T2", "T2S", "T2CL", "T2A", "C3", "None" };
	bool tmpl_ok = !r->cpu_template;
	for (size_t i = 0; i < FB_ARRAY_LEN(templates) && !tmpl_ok; i++)
		tmpl_ok = !strcmp(r->cpu_template, templates[i]);
	if (!tmpl_ok)
		return fb_tool_usage_error("--cpu-template %s: one of T2, T2S, T2CL, T2A, C3, None", r->cpu_template);
	if (r->partuuid)
		fb_warn("--root-drive-partuuid %s: ignored: firebuild's root drives are whole-disk ext4 file systems with no "
			"partition table to point at",
			r->partuuid);
	if (r->co.binary_jailer)
		fb_warn("--binary-jailer %s: ignored: firebuild jails the VMM itself (fb-jail: chroot, namespaces, cgroups, "
			"dropped ids)",
			r->co.binary_jailer);
	return 0;
}

/* The store, tracing and every setting: the flag, else the named profile's;
 * the kernel; the flags that only go together. */
static int run_settings(struct run_req *r, struct fb_err *err)
{
	if (resolve_common(&r->co, "run", &r->store, err) < 0)
		return -1;
	struct common *co = &r->co;
	r->rcflag = co_setting(co, co->run_cache, "run_cache");
	r->cni_conf = co_setting(co, co->cni_conf_dir, "cni_conf_dir");
	r->fc_bin = co_setting(co, co->binary_firecracker, "binary_firecracker");
	r->chroot_base = co_setting(co, co->chroot_base, "chroot_base");
	r->netns = co_setting(co, co->netns, "netns");
	r->numa = co_setting(co, co->numa_node, "jailer_numa_node");
	r->juid = co_setting(co, co->jailer_uid, "jailer_uid");
	r->jgid = co_setting(co, co->jailer_gid, "jailer_gid");
	r->cache_dir = co_setting(co, co->cni_cache_dir, "cni_cache_dir");
	if (!r->vmm)
		r->vmm = r->pvmm = co_setting(co, NULL, "vmm");
	for (size_t i = 0; i < co->cni_bin_dirs.n; i++)
		fb_strv_push(&r->cni_bins, co->cni_bin_dirs.v[i]);
	if (!co->cni_bin_dirs.n) {
		char *pb = co_setting(co, NULL, "cni_bin_dir"), *save = NULL;
		for (char *d = pb ? strtok_r(pb, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
			fb_strv_push(&r->cni_bins, d);
		free(pb);
	}
	if (r->no_jail && (r->juid || r->cgroups.n))
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--no-jail goes with no --jailer-uid or --cgroup");
	if ((r->ip || r->ports.n || r->netns) && !r->cni_net)
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--ip-address, --port and --netns need --cni-network-name");
	char *pk = co_setting(co, NULL, "vmlinux_id"), *kdir = co_storage_prop(co, "kernel-storage-root");
	int kr = kernel_path(r->store, kdir, r->vmlinux ? r->vmlinux : pk, &r->kernel, err);
	free(pk);
	free(kdir);
	return kr;
}

#define FLAG(a, fmt, ...) fb_strv_push_owned((a), fb_xasprintf(fmt, __VA_ARGS__))

/* fb-jail prepare's argv: the machine, the config drive's inputs, the jail. */
static void prepare_argv(const struct run_req *r, struct fb_strv *a)
{
	FLAG(a, "--name=%s", r->id);
	FLAG(a, "--run-cache=%s", fb_run_cache(r->rcflag));
	FLAG(a, "--kernel=%s", r->kernel);
	FLAG(a, "--cpu=%ld", r->cpu);
	FLAG(a, "--mem=%ld", r->mem);
	FLAG(a, "--shutdown-timeout=%ld", r->timeout);
	const char *opt[][2] = { { "--kernel-args", r->kargs },   { "--hostname", r->hostname },
				 { "--ssh-user", r->ssh_user },   { "--vmm", r->vmm },
				 { "--binary-firecracker", r->fc_bin }, { "--cpu-template", r->cpu_template } };
	for (size_t i = 0; i < FB_ARRAY_LEN(opt); i++)
		if (opt[i][1])
			FLAG(a, "%s=%s", opt[i][0], opt[i][1]);
	const struct fb_strv *lists[] = { &r->env_files, &r->envs, &r->identities };
	static const char *const names[] = { "--env-file", "--env", "--identity-file" };
	for (size_t k = 0; k < FB_ARRAY_LEN(lists); k++)
		for (size_t i = 0; i < lists[k]->n; i++)
			FLAG(a, "%s=%s", names[k], lists[k]->v[i]);
	const bool on[] = { r->daemon, r->ht, r->log_http, r->no_mmds, r->no_jail };
	static const char *const flags[] = { "--daemonize", "--ht-enabled", "--log-firecracker-http-calls", "--no-mmds",
					     "--no-jail" };
	for (size_t i = 0; i < FB_ARRAY_LEN(flags); i++)
		if (on[i])
			fb_strv_push(a, flags[i]);
	if (!r->no_jail) {
		const char *jail[][2] = { { "--chroot-base", r->chroot_base },
					  { "--jailer-uid", r->juid },
					  { "--jailer-gid", r->jgid },
					  { "--jailer-numa-node", r->numa } };
		for (size_t i = 0; i < FB_ARRAY_LEN(jail); i++)
			if (jail[i][1])
				FLAG(a, "%s=%s", jail[i][0], jail[i][1]);
		for (size_t i = 0; i < r->cgroups.n; i++)
			FLAG(a, "--cgroup=%s", r->cgroups.v[i]);
	}
	if (r->ncmd) {
		fb_strv_push(a, "--");
		for (int i = 0; i < r->ncmd; i++)
			fb_strv_push(a, r->cmd[i]);
	}
}

/* fb-net add's argv: the VM's id, run directory and jail user come with
 * the document (.vm). */
static void net_argv(const struct run_req *r, struct fb_strv *a)
{
	FLAG(a, "--network=%s", r->cni_net);
	const char *opt[][2] = { { "--ip-address", r->ip },
				 { "--cni-conf-dir", r->cni_conf },
				 { "--netns", r->netns },
				 { "--cni-cache-dir", r->cache_dir } };
	for (size_t i = 0; i < FB_ARRAY_LEN(opt); i++)
		if (opt[i][1])
			FLAG(a, "%s=%s", opt[i][0], opt[i][1]);
	for (size_t i = 0; i < r->cni_bins.n; i++)
		FLAG(a, "--cni-bin-dir=%s", r->cni_bins.v[i]);
	for (size_t i = 0; i < r->ports.n; i++)
		FLAG(a, "--port=%s", r->ports.v[i]);
}

/* The steps up to fb-jail start (two, three with a network), and start's. */
static int run_argvs(const struct run_req *r, struct fb_strv a[3], size_t *n, struct fb_strv *start, struct fb_err *err)
{
	char tag[PATH_MAX + 64], jail[PATH_MAX + 64], net[PATH_MAX + 64];
	if (tool_path("fb-tag", tag, sizeof(tag), err) < 0 || tool_path("fb-jail", jail, sizeof(jail), err) < 0 ||
	    (r->cni_net && tool_path("fb-net", net, sizeof(net), err) < 0))
		return -1;
	/* NAME alone is NAME:latest */
	const char *slash = strrchr(r->from, '/'), *colon = strchr(slash ? slash : r->from, ':');
	*n = 0;
	fb_strv_push(&a[*n], tag);
	FLAG(&a[*n], "--store=%s", r->store);
	fb_strv_push(&a[*n], "get");
	FLAG(&a[(*n)++], "%s%s", r->from, colon ? "" : ":latest");
	fb_strv_push(&a[*n], jail);
	fb_strv_push(&a[*n], "prepare");
	prepare_argv(r, &a[(*n)++]);
	if (r->cni_net) {
		fb_strv_push(&a[*n], net);
		fb_strv_push(&a[*n], "add");
		net_argv(r, &a[(*n)++]);
	}
	fb_strv_push(start, jail);
	fb_strv_push(start, "start");
	FLAG(start, "--spec=%s", r->spec);
	return 0;
}

/* One VM a name: taken before anything else is made (a name in use is
 * another VM's, not ours to remove), its lock held by this process. */
static int run_claim(struct run_req *r, struct fb_err *err)
{
	if (r->name)
		snprintf(r->id, sizeof(r->id), "%s", r->name);
	else
		fb_vm_new_id(r->id);
	const char *rcd = fb_run_cache(r->rcflag);
	r->runs = fb_xasprintf("%s/runs", rcd);
	r->dir = fb_xasprintf("%s/%s", r->runs, r->id);
	r->spec = fb_xasprintf("%s/vm.json", r->dir);
	if (fb_mkdir_p(rcd, 0755, err) < 0 || fb_vm_claim(r->runs, r->id, &r->lock, err) < 0)
		return -1;
	/* only the fb-jail steps take it over: no CNI plugin or other child
	 * inherits it (one that outlived its start would hold the name for
	 * ever, and purge would think a start is under way) */
	char fd[16];
	snprintf(fd, sizeof(fd), "%d", r->lock);
	setenv(FB_VM_LOCK_ENV, fd, 1);
	return 0;
}

/* The steps before start, their document in <run-dir>/vm.json; their
 * exit status (the first that failed). */
static int run_steps(struct run_req *r, struct fb_strv a[3], size_t n, struct fb_err *err)
{
	int out = open(r->spec, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return fail((fb_err_errno(err, errno, "%s", r->spec), err));
	struct fb_pipeline_opts po = { .keep_fd = r->lock, .keep_fd_stages = 1u << 1, .out_fd = out };
	char *const *const argvs[] = { a[0].v, a[1].v, a[2].v };
	int code = 0;
	int rc = fb_pipeline_opts(argvs, n, &po, &code, err) < 0 ? fail(err) : code;
	close(out);
	return rc;
}

/* This process becomes fb-jail start, the name's lock with it; returns
 * only when it could not. */
static int run_start(struct run_req *r, struct fb_strv *start, struct fb_err *err)
{
	fcntl(r->lock, F_SETFD, 0);
	if (r->co.timings)
		setenv("FB_TIMINGS", "1", 1); /* fb-jail prints them at the end */
	fb_trace_finish();
	fflush(NULL);
	execv(start->v[0], start->v);
	unsetenv("FB_TIMINGS");
	fcntl(r->lock, F_SETFD, FD_CLOEXEC);
	return fail((fb_err_errno(err, errno, "unable to run %s", start->v[0]), err));
}

int cmd_run(int argc, char **argv)
{
	struct run_req r = { .co = COMMON_INIT(run_usage), .cpu = 1, .mem = 128, .timeout = 30, .lock = -1 };
	int c, exit_now = -1, rc = 0;
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "+", run_opts, NULL)) != -1) {
		if (common_opt(c, &r.co, &exit_now)) {
			rc = exit_now >= 0 ? exit_now : 0;
			if (exit_now >= 0)
				break;
			continue;
		}
		rc = run_flag(c, optarg, &r);
		if (rc < 0)
			rc = fb_tool_bad_option(argv);
	}
	if (exit_now >= 0 || rc) {
		run_req_free(&r);
		return rc;
	}
	r.cmd = argv + optind;
	r.ncmd = argc - optind;
	struct fb_err err = { 0 };
	struct fb_strv a[3] = { FB_STRV_INIT, FB_STRV_INIT, FB_STRV_INIT }, start = FB_STRV_INIT;
	size_t n = 0;
	if ((rc = run_check(&r)) == 0) {
		if (run_settings(&r, &err) < 0 || run_claim(&r, &err) < 0 || run_argvs(&r, a, &n, &start, &err) < 0)
			rc = fail(&err);
		else if ((rc = run_steps(&r, a, n, &err)) == 0)
			rc = run_start(&r, &start, &err);
		unsetenv(FB_VM_LOCK_ENV);
		/* a step that failed undid its own part; what came before it goes */
		struct fb_err ae = { 0 };
		if (r.lock >= 0 && fb_vm_abandon(r.dir, r.id, r.lock, &ae) < 0)
			fb_log_failure(&ae);
	}
	for (size_t i = 0; i < FB_ARRAY_LEN(a); i++)
		fb_strv_free(&a[i]);
	fb_strv_free(&start);
	run_req_free(&r);
	return rc;
}
