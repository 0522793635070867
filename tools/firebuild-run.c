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

static const char run_usage[] =
	"Usage: firebuild run --from=NAME:VERSION [FLAGS] [-- CMD ARGS...]\n"
	"Boot a tagged image as a microVM with fb-init as PID 1 and run its\n"
	"ENTRYPOINT+CMD (a command after -- replaces CMD): Firecracker where\n"
	"/dev/kvm works and its binary is there, else QEMU's microvm (KVM when it\n"
	"runs guests, TCG otherwise). The VMM runs jailed. In the foreground the\n"
	"console is this terminal and the exit status is the workload's.\n"
	"The pipeline: fb-tag get | fb-jail prepare | fb-net add | fb-jail start.\n";

/* The command line (its flags, table-checked), then the settings they and
 * the profile give. */
struct run_req {
	struct common co;
	/* the flag's, else the profile's */
	char *store, *rcflag, *cni_conf, *fc_bin, *chroot_base, *netns, *numa, *juid, *jgid, *cache_dir, *vmm, *kernel;
	const struct fb_strv *cni_bins;
	char id[21];
	char *runs, *dir, *spec; /* <run-cache>/runs/<id>, its vm.json */
	int lock;                /* the name's lock, held across the pipeline */
};

static void run_req_free(struct run_req *r)
{
	char *owned[] = { r->store, r->rcflag, r->cni_conf, r->fc_bin, r->chroot_base, r->netns, r->numa,
			  r->juid,  r->jgid,   r->cache_dir, r->vmm,  r->kernel, r->runs, r->dir, r->spec };
	for (size_t i = 0; i < FB_ARRAY_LEN(owned); i++)
		free(owned[i]);
	if (r->lock >= 0)
		close(r->lock);
	common_free(&r->co);
}

/* What the flags say together, before anything is asked of the store
 * (each flag's value is the table's to check). */
static int run_check(const struct run_req *r)
{
	const struct common *co = &r->co;
	const char *name = co_flag(co, S_NAME);
	if (!co_flag(co, S_FROM))
		return fb_tool_usage_error("run needs --from=NAME:VERSION");
	if (name && !fb_vm_valid_name(name))
		return fb_tool_usage_error("--name %s: 1 to 20 characters of [a-zA-Z0-9]", name);
	if (co_flag(co, S_PARTUUID))
		fb_warn("--root-drive-partuuid %s: ignored: firebuild's root drives are whole-disk ext4 file systems with no "
			"partition table to point at",
			co_flag(co, S_PARTUUID));
	if (co_flag(co, S_BIN_JAILER))
		fb_warn("--binary-jailer %s: ignored: firebuild jails the VMM itself (fb-jail: chroot, namespaces, cgroups, "
			"dropped ids)",
			co_flag(co, S_BIN_JAILER));
	return 0;
}

/* The store, tracing and every setting: the flag, else the named profile's;
 * the kernel; the flags that only go together. */
static int run_settings(struct run_req *r, struct fb_err *err)
{
	struct common *co = &r->co;
	if (resolve_common(co, "run", &r->store, err) < 0)
		return -1;
	r->rcflag = co_setting(co, S_RUN_CACHE);
	r->cni_conf = co_setting(co, S_CNI_CONF);
	r->fc_bin = co_setting(co, S_BIN_FC);
	r->chroot_base = co_setting(co, S_CHROOT_BASE);
	r->netns = co_setting(co, S_NETNS);
	r->numa = co_setting(co, S_NUMA);
	r->juid = co_setting(co, S_JAILER_UID);
	r->jgid = co_setting(co, S_JAILER_GID);
	r->cache_dir = co_setting(co, S_CNI_CACHE);
	r->vmm = co_setting(co, S_VMM);
	r->cni_bins = co_setting_list(co, S_CNI_BIN);
	if (co_bool(co, S_NO_JAIL) && (r->juid || co_list(co, S_CGROUP)->n))
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--no-jail goes with no --jailer-uid or --cgroup");
	if ((co_flag(co, S_IP) || co_list(co, S_PORT)->n || r->netns) && !co_flag(co, S_CNI_NET))
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--ip-address, --port and --netns need --cni-network-name");
	char *vmlinux = co_setting(co, S_VMLINUX), *kdir = co_storage_prop(co, PROP_KERNEL_ROOT);
	int kr = kernel_path(r->store, kdir, vmlinux, &r->kernel, err);
	free(vmlinux);
	free(kdir);
	return kr;
}

#define FLAG(a, fmt, ...) fb_strv_push_owned((a), fb_xasprintf(fmt, __VA_ARGS__))

/* fb-jail prepare's argv: the machine, the config drive's inputs, the jail. */
static void prepare_argv(const struct run_req *r, struct fb_strv *a)
{
	const struct common *co = &r->co;
	FLAG(a, "--name=%s", r->id);
	FLAG(a, "--run-cache=%s", fb_run_cache(r->rcflag));
	FLAG(a, "--kernel=%s", r->kernel);
	FLAG(a, "--cpu=%lld", co_int(co, S_CPU));
	FLAG(a, "--mem=%lld", co_int(co, S_MEM));
	FLAG(a, "--shutdown-timeout=%lld", co_int(co, S_GRACEFUL));
	const char *opt[][2] = { { "--kernel-args", co_flag(co, S_KARGS) },   { "--hostname", co_flag(co, S_HOSTNAME) },
				 { "--ssh-user", co_flag(co, S_SSH_USER) },   { "--vmm", r->vmm },
				 { "--binary-firecracker", r->fc_bin }, { "--cpu-template", co_flag(co, S_CPU_TEMPLATE) } };
	for (size_t i = 0; i < FB_ARRAY_LEN(opt); i++)
		if (opt[i][1])
			FLAG(a, "%s=%s", opt[i][0], opt[i][1]);
	const struct fb_strv *lists[] = { co_list(co, S_ENV_FILE), co_list(co, S_ENV), co_list(co, S_IDENTITY) };
	static const char *const names[] = { "--env-file", "--env", "--identity-file" };
	for (size_t k = 0; k < FB_ARRAY_LEN(lists); k++)
		for (size_t i = 0; i < lists[k]->n; i++)
			FLAG(a, "%s=%s", names[k], lists[k]->v[i]);
	static const enum setting on[] = { S_DAEMONIZE, S_HT, S_LOG_FC_HTTP, S_NO_MMDS, S_NO_JAIL };
	static const char *const flags[] = { "--daemonize", "--ht-enabled", "--log-firecracker-http-calls", "--no-mmds",
					     "--no-jail" };
	for (size_t i = 0; i < FB_ARRAY_LEN(flags); i++)
		if (co_bool(co, on[i]))
			fb_strv_push(a, flags[i]);
	if (!co_bool(co, S_NO_JAIL)) {
		const char *jail[][2] = { { "--chroot-base", r->chroot_base },
					  { "--jailer-uid", r->juid },
					  { "--jailer-gid", r->jgid },
					  { "--jailer-numa-node", r->numa } };
		for (size_t i = 0; i < FB_ARRAY_LEN(jail); i++)
			if (jail[i][1])
				FLAG(a, "%s=%s", jail[i][0], jail[i][1]);
		for (size_t i = 0; i < co_list(co, S_CGROUP)->n; i++)
			FLAG(a, "--cgroup=%s", co_list(co, S_CGROUP)->v[i]);
	}
	if (co->o.nargs) {
		fb_strv_push(a, "--");
		for (int i = 0; i < co->o.nargs; i++)
			fb_strv_push(a, co->o.args[i]);
	}
}

/* fb-net add's argv: the VM's id, run directory and jail user come with
 * the document (.vm). */
static void net_argv(const struct run_req *r, struct fb_strv *a)
{
	const struct common *co = &r->co;
	FLAG(a, "--network=%s", co_flag(co, S_CNI_NET));
	const char *opt[][2] = { { "--ip-address", co_flag(co, S_IP) },
				 { "--cni-conf-dir", r->cni_conf },
				 { "--netns", r->netns },
				 { "--cni-cache-dir", r->cache_dir } };
	for (size_t i = 0; i < FB_ARRAY_LEN(opt); i++)
		if (opt[i][1])
			FLAG(a, "%s=%s", opt[i][0], opt[i][1]);
	for (size_t i = 0; r->cni_bins && i < r->cni_bins->n; i++)
		FLAG(a, "--cni-bin-dir=%s", r->cni_bins->v[i]);
	for (size_t i = 0; i < co_list(co, S_PORT)->n; i++)
		FLAG(a, "--port=%s", co_list(co, S_PORT)->v[i]);
}

/* The steps up to fb-jail start (two, three with a network), and start's. */
static int run_argvs(const struct run_req *r, struct fb_strv a[3], size_t *n, struct fb_strv *start, struct fb_err *err)
{
	char tag[PATH_MAX + 64], jail[PATH_MAX + 64], net[PATH_MAX + 64];
	if (tool_path("fb-tag", tag, sizeof(tag), err) < 0 || tool_path("fb-jail", jail, sizeof(jail), err) < 0 ||
	    (co_flag(&r->co, S_CNI_NET) && tool_path("fb-net", net, sizeof(net), err) < 0))
		return -1;
	/* NAME alone is NAME:latest */
	const char *from = co_flag(&r->co, S_FROM), *slash = strrchr(from, '/'), *colon = strchr(slash ? slash : from, ':');
	*n = 0;
	fb_strv_push(&a[*n], tag);
	FLAG(&a[*n], "--store=%s", r->store);
	fb_strv_push(&a[*n], "get");
	FLAG(&a[(*n)++], "%s%s", from, colon ? "" : ":latest");
	fb_strv_push(&a[*n], jail);
	fb_strv_push(&a[*n], "prepare");
	prepare_argv(r, &a[(*n)++]);
	if (co_flag(&r->co, S_CNI_NET)) {
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
	if (co_flag(&r->co, S_NAME))
		snprintf(r->id, sizeof(r->id), "%s", co_flag(&r->co, S_NAME));
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
	if (co_bool(&r->co, S_TIMINGS))
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
	struct run_req r = { .co = COMMON_INIT(C_RUN, run_usage), .lock = -1 };
	int rc = FB_EXIT_USAGE;
	if (!parse_flags(&r.co, argc, argv, FB_OPTS_IN_ORDER, &rc) || (rc = run_check(&r)) != 0) {
		run_req_free(&r);
		return rc;
	}
	struct fb_err err = { 0 };
	struct fb_strv a[3] = { FB_STRV_INIT, FB_STRV_INIT, FB_STRV_INIT }, start = FB_STRV_INIT;
	size_t n = 0;
	if (run_settings(&r, &err) < 0 || run_claim(&r, &err) < 0 || run_argvs(&r, a, &n, &start, &err) < 0)
		rc = fail(&err);
	else if ((rc = run_steps(&r, a, n, &err)) == 0)
		rc = run_start(&r, &start, &err);
	unsetenv(FB_VM_LOCK_ENV);
	/* a step that failed undid its own part; what came before it goes */
	struct fb_err ae = { 0 };
	if (r.lock >= 0 && fb_vm_abandon(r.dir, r.id, r.lock, &ae) < 0)
		fb_log_failure(&ae);
	for (size_t i = 0; i < FB_ARRAY_LEN(a); i++)
		fb_strv_free(&a[i]);
	fb_strv_free(&start);
	run_req_free(&r);
	return rc;
}
