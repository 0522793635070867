/* fb-jail: make a VM ready, start it and supervise it, or stop one. The
 * QEMU backend (-M microvm; KVM when it really runs a guest here, TCG
 * otherwise) with the config drive and the control port of
 * docs/config-drive.md. The supervisor (this process in the foreground, a
 * daemon with daemonize) keeps state.json in the VM's run directory, turns
 * SIGTERM/SIGINT into "stop" on the control port (fb-init sends the
 * STOPSIGNAL, then SIGKILL), kills the VMM when the grace period is over,
 * and records the workload's exit code.
 *
 *   fb-tag get IMAGE | fb-jail prepare --kernel K [FLAGS] [-- CMD...]
 *       | fb-net add --network NET | fb-jail start
 *   fb-jail start [--spec FILE]      # {"vm": {...}} (stdin by default)
 *   fb-jail stop --run-dir DIR [--timeout SECONDS]
 *
 * prepare is fb-jail-prepare.c; the backends are fb-jail-qemu.c and
 * fb-jail-fc.c; the jail is lib/vm/jail.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "firecracker.h"
#include "jail.h"
#include "doc.h"
#include "log.h"
#include "proc.h"
#include "san.h"
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "tree.h"
#include "util.h"
#include "vm.h"

#include "fb-jail.h"


static const char usage[] =
	"Usage: fb-jail prepare --kernel=VMLINUX [FLAGS] [-- CMD ARGS...]\n"
	"       fb-jail start [--spec FILE]\n"
	"       fb-jail stop --run-dir DIR [--timeout SECONDS]\n"
	"prepare reads fb-tag get's image document and adds the VM spec (.vm): it\n"
	"takes the VM's name, copies the image into the run directory with fb-init\n"
	"in it, and sets the machine, the jail and the config drive's content.\n"
	"  --name ID (1-20 of [a-zA-Z0-9]; default: random), --run-cache DIR,\n"
	"  --cpu N, --mem MiB, --kernel-args ARGS, --hostname NAME, --env K=V|K,\n"
	"  --env-file F, --ssh-user U --identity-file KEY.pub, --daemonize,\n"
	"  --shutdown-timeout S, --vmm qemu|firecracker, --binary-firecracker PATH,\n"
	"  --cpu-template T, --ht-enabled, --log-firecracker-http-calls, --no-mmds,\n"
	"  --no-jail | --chroot-base DIR --jailer-uid N --jailer-gid N\n"
	"  --cgroup FILE=VALUE --jailer-numa-node N\n"
	"start reads a spec ({\"vm\": {id, run_dir, run_cache, kernel, rootfs,\n"
	"config_drive, ...}}, and .network from fb-net add) and starts the VM under\n"
	"QEMU -M microvm or Firecracker, jailed, and supervises it: in the foreground\n"
	"the console is stdout and the exit status is the workload's; daemonized,\n"
	"the document with the VM's state as .vm is printed and the supervisor goes\n"
	"on in the background.\n"
	"stop asks the VM's supervisor to stop it cleanly, kills it after the\n"
	"timeout, and removes its run directory.\n"
	"  --log-format FORMAT, --help, --version\n";

enum { OPT_SPEC = FB_OPT_FIRST_TOOL_OPT, OPT_RUN_DIR, OPT_TIMEOUT };

static const struct option longopts[] = {
	FB_COMMON_LONGOPTS,
	{ "spec", required_argument, NULL, OPT_SPEC },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	PREPARE_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

volatile sig_atomic_t g_stop;
void on_stop(int sig)
{
	g_stop = sig;
}

void stop_on_signals(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void set_str(char **member, const char *value)
{
	free(*member);
	*member = value ? fb_xstrdup(value) : NULL;
}

void save_state(struct vm *v, bool durable)
{
	struct fb_err e = { 0 };
	if (fb_vm_state_save(v->state_path, &v->state, durable, &e) < 0)
		fb_log_failure(&e);
	if (v->state.pid <= 0)
		return;
	if (v->ready_fd >= 0) {
		if (write(v->ready_fd, "R", 1) != 1) {
			/* the starting process is gone: nobody to tell */
		}
		close(v->ready_fd);
		v->ready_fd = -1;
	}
	if (v->lock_fd >= 0) {
		flock(v->lock_fd, LOCK_UN);
		close(v->lock_fd);
		v->lock_fd = -1;
	}
}

/* The run directory's lock: the one firebuild run took with the name and
 * handed over (FB_VM_LOCK_FD), else taken here (fb-jail run by hand). A
 * lock held by another start is FB_EXIT_CONFLICT. */
static int take_lock(struct vm *v, struct fb_err *err)
{
	char *path = fb_xasprintf("%s/lock", v->dir);
	int r = 0;
	v->lock_fd = fb_vm_inherited_lock(v->dir);
	if (v->lock_fd < 0) {
		if (fb_mkdir_p(v->dir, 0700, err) < 0) {
			free(path);
			return -1;
		}
		v->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (v->lock_fd < 0)
			r = fb_err_errno(err, errno, "%s", path);
		else if (flock(v->lock_fd, LOCK_EX | LOCK_NB) < 0)
			r = errno == EWOULDBLOCK ? fb_err_set(err, FB_EXIT_CONFLICT, "busy", "%s: another start holds this run directory", v->dir)
						 : fb_err_errno(err, errno, "lock %s", path);
		if (r < 0 && v->lock_fd >= 0) {
			close(v->lock_fd);
			v->lock_fd = -1;
		}
	}
	free(path);
	return r;
}

/* The end of a VM in its state: the workload's code, or 125 and why. */
int finish_state(struct vm *v, int code, int status, char *msg, size_t msglen, const char *vmm)
{
	set_str(&v->state.status, "exited");
	if (code < 0) {
		char how[64];
		fb_status_describe(status, how, sizeof(how));
		size_t ml = strlen(msg);
		snprintf(msg + ml, msglen - ml, "%sthe VM ended without a report from fb-init (%s %s)", ml ? "; " : "", vmm, how);
		code = 125;
	}
	v->state.has_exit_code = true;
	v->state.exit_code = code;
	if (msg[0]) {
		set_str(&v->state.error, msg);
		fb_log(FB_LOG_ERROR, "%s: %s", v->id, msg);
	}
	/* a foreground VM's record goes with its run directory: syncing it
	 * had also written its disk copy out (ext4's ordered journal) */
	save_state(v, !v->discarded);
	return code;
}

/* qemu, or firecracker: asked for, or where /dev/kvm works and the binary
 * is there. *fc: NULL for qemu, else the firecracker binary to run. */
static int pick_vmm(struct vm *v, const struct fb_vm_spec *spec, char **fc, struct fb_err *err)
{
	int ret = 0;
	const char *vmm = spec->vmm, *bin = spec->firecracker_binary;
	char *found = NULL;
	const char *b = bin ? bin : "firecracker";
	if (strchr(b, '/')) {
		if (access(b, X_OK) == 0)
			found = fb_xstrdup(b);
	} else {
		const char *path = getenv("PATH");
		char *pcopy = fb_xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin"), *save = NULL;
		for (char *d = strtok_r(pcopy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
			char *c = fb_xasprintf("%s/%s", d, b);
			if (access(c, X_OK) == 0)
				found = c;
			else
				free(c);
		}
		free(pcopy);
	}
	char *r = NULL;
	if (vmm && !strcmp(vmm, "firecracker")) {
		if (!found)
			ret = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "--vmm=firecracker: no firecracker binary (%s)", b);
		r = found;
		found = NULL;
	} else if (vmm && strcmp(vmm, "qemu") && strcmp(vmm, "auto")) {
		ret = fb_err_set(err, FB_EXIT_USAGE, "usage", "--vmm %s: expected qemu or firecracker", vmm);
	} else if (!vmm || !strcmp(vmm, "auto")) {
		if (found && access("/dev/kvm", R_OK | W_OK) == 0 && access(v->kvm_broken, F_OK) != 0) {
			r = found;
			found = NULL;
		}
	}
	free(found);
	*fc = r;
	return ret;
}


/* The VMM jailed: spec.jail = {base, uid, gid, cgroup}. The files go in,
 * the spec's paths become the jail's. */
static int jail_setup(struct vm *v, struct fb_jail *j, struct fb_vm_spec *spec, const char *vmm, const char *sockname,
		      struct fb_err *err)
{
	const struct fb_vm_jail_spec *js = spec->jail;
	/* the socket path limit first: nothing is made when it does not fit */
	char *sock = fb_xasprintf("%s/%s/%s/root/run/%s", js->base, vmm, v->id, sockname);
	if (strlen(sock) > SOCK_MAX) {
		int r = fb_err_set(err, FB_EXIT_USAGE, "socket_path",
				   "the control socket %s is %zu bytes, over the Unix socket limit of %d: use a shorter --chroot-base",
				   sock, strlen(sock), SOCK_MAX);
		free(sock);
		return r;
	}
	char *record = fb_xasprintf("%s/jail.json", v->dir);
	struct fb_jail_opts o = { .base = js->base, .vmm = vmm, .id = v->id, .uid = (uid_t)js->uid, .gid = (gid_t)js->gid,
				  .cpu = (int)spec->cpu, .mem = (int)spec->mem, .cgroup = js->cgroup, .ncgroup = js->ncgroup,
				  .numa_node = (int)js->numa_node, .record = record };
	int r = fb_jail_prepare(&o, j, err);
	free(record);
	char **files[] = { &spec->kernel, &spec->rootfs, &spec->config_drive };
	static const char *const names[] = { "vmlinux", "rootfs.ext4", "config.drive" };
	for (size_t i = 0; r == 0 && i < FB_ARRAY_LEN(files); i++) {
		/* the VM's own files become the jail user's; the store's kernel stays as it is */
		char *inside = fb_jail_link(j, *files[i], names[i], i > 0, err);
		if (!inside) {
			r = -1;
			break;
		}
		free(*files[i]);
		*files[i] = inside;
	}
	if (r == 0) {
		free(v->sock);
		v->sock = sock;
		sock = NULL;
		v->sock_arg = fb_xasprintf("/run/%s", sockname);
		set_str(&v->state.jail, j->root);
		set_str(&v->state.jail_dir, j->dir);
		fb_strv_free(&v->state.cgroups);
		for (int i = 0; i < j->ncgroups; i++)
			fb_strv_push(&v->state.cgroups, j->cgroups[i]);
		v->state.jail_ids = true;
		v->state.jail_uid = js->uid;
		v->state.jail_gid = js->gid;
	}
	free(sock);
	return r;
}

/* The original's "VMM running as a daemon" line, with its fields. */
static void daemon_line(const struct fb_vm_state *st)
{
	char pid[32] = "", net[64] = "", ip[64] = "";
	snprintf(pid, sizeof(pid), "%lld", st->pid);
	if (st->network && st->network->nifs && st->network->ifs[0].ip) {
		snprintf(net, sizeof(net), "%s", st->network->ifs[0].ip);
		snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(net, "/"), net);
	}
	fb_log_fields(FB_LOG_INFO, "VMM running as a daemon", "vmm-id", st->id ? st->id : "", "pid", pid, "cache-dir",
		      st->run_cache ? st->run_cache : "", "jailer-dir", st->jail_dir ? st->jail_dir : "", "ip-address", ip,
		      "ip-net", net, (const char *)NULL);
}

/* Back in the host's network namespace (after the VM's): the tear-down,
 * fb-net del and the trace export happen there. */
static void back_to_host(int *fd)
{
	if (*fd < 0)
		return;
	if (setns(*fd, CLONE_NEWNET) < 0)
		fb_debug("cannot return to the host's network namespace: %s", strerror(errno));
	close(*fd);
	*fd = -1;
}

/* The VM's network: QEMU opens the tap in the VM's namespace, which this
 * process enters (*host_ns: where to return). */
static int enter_network(struct vm *v, const struct fb_vm_spec *spec, int *host_ns, struct fb_err *err)
{
	if (!spec->network)
		return 0;
	const char *ns = spec->network->netns;
	int nfd = open(ns, O_RDONLY | O_CLOEXEC);
	*host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0) {
		fb_err_errno(err, errno, "network namespace %s", ns);
		if (nfd >= 0)
			close(nfd);
		return -1;
	}
	close(nfd);
	/* the state records it */
	v->state.network = fb_network_dup(spec->network);
	return 0;
}

/* Daemonized: the supervisor goes on in a process of its own and says "R"
 * once the VMM runs, or "E" and why not; this process waits for its word
 * (a pipe, not a time) and prints the document with the state as .vm. */
static int start_daemon(struct vm *v, const struct fb_vm_spec *spec, struct fb_doc *doc, const char *fc, char **kvm,
			char **tcg, int *host_ns, bool *owned, struct fb_err *err)
{
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0) {
		fb_err_errno(err, errno, "pipe");
		return fb_tool_fail(err);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(rp[0]);
		v->ready_fd = rp[1];
		setsid();
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(nul, 0);
		dup2(nul, 1);
		int logfd = open(v->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(logfd >= 0 ? logfd : nul, 2);
		if (fork() != 0)
			_exit(0); /* not a session leader: it can never get a terminal */
		fb_trace_forked();
		struct fb_err e = { 0 };
		/* its end is in the state; a start that never ran says why */
		int code = fc ? supervise_fc(v, spec, fc, &e) : supervise_qemu(v, kvm, tcg, &e);
		if (v->ready_fd >= 0) {
			/* it never ran: the starting process undoes the start */
			char *why = fb_xasprintf("E%s", code < 0 ? e.msg : "the VMM ended before it was running");
			if (write(v->ready_fd, why, strlen(why)) < 0) {
				/* nobody to tell */
			}
			free(why);
		}
		back_to_host(host_ns);
		if (v->jail)
			fb_jail_remove(v->jail);
		fb_trace_finish();
		fb_san_leak_check();
		_exit(0);
	}
	int fork_errno = errno;
	close(rp[1]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	back_to_host(host_ns);
	/* the supervisor's word: "R" once the running state is written */
	char why[600] = "";
	size_t got = 0;
	for (ssize_t n; got < sizeof(why) - 1 && (n = read(rp[0], why + got, sizeof(why) - 1 - got)) != 0;) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
		if (why[0] == 'R')
			break;
	}
	why[got] = '\0';
	close(rp[0]);
	if (why[0] == 'R')
		*owned = false; /* it ran: from now on kill and purge undo it */
	struct fb_vm_state st;
	struct fb_err le = { 0 };
	if (pid > 0 && why[0] == 'R' && fb_vm_state_load(v->state_path, &st, &le) == 0) {
		daemon_line(&st);
		fb_vm_state_encode(doc, "vm", &st, NULL);
		fb_vm_state_free(&st);
		return 0;
	}
	if (why[0] == 'R')
		fb_err_set(err, FB_EXIT_FAILED, "start", "%s: the VM was stopped as it started", v->id);
	else
		fb_err_set(err, FB_EXIT_FAILED, "start", "%s: the VM did not start: %s", v->id,
			   why[0] == 'E' ? why + 1 : pid < 0 ? strerror(fork_errno) : "its supervisor ended");
	return fb_tool_fail(err);
}

/* Jailed, the VMM binary goes in too (Firecracker is one static file). */
static int jail_vm(struct vm *v, struct fb_jail *jail, struct fb_vm_spec *spec, char **fc, struct fb_err *err)
{
	struct fb_span *js = fb_span_begin("jail");
	int jr = jail_setup(v, jail, spec, *fc ? "firecracker" : "qemu-system-x86_64", *fc ? "fc.sock" : "ctl.sock", err);
	if (jr == 0 && *fc) {
		char *inside = fb_jail_link(jail, *fc, "firecracker", false, err);
		if (!inside) {
			jr = -1;
		} else {
			free(*fc);
			*fc = inside;
		}
	}
	if (jr < 0)
		fb_span_error(js, err->msg);
	fb_span_end(js);
	if (jr < 0) {
		fb_jail_remove(jail);
		fb_jail_free(jail);
		return -1;
	}
	v->jail = jail;
	return 0;
}

/* The spec from --spec or stdin: 0 with *doc and *spec, 1 when the
 * document was an earlier tool's error object (passed on: *rc), -1. */
static int read_spec(const char *spec_path, struct fb_doc **doc, struct fb_vm_spec *spec, int *rc, struct fb_err *err)
{
	if (spec_path ? fb_vm_doc_load(spec_path, doc, err) < 0 : fb_vm_doc_read(0, false, doc, err) < 0) {
		/* where it failed, never what the file holds */
		if (spec_path && strcmp(err->kind, "invalid"))
			fb_err_prefix(err, "--spec");
		return -1;
	}
	if (fb_doc_is_error(*doc)) {
		*rc = fb_doc_pass_error(*doc);
		*doc = NULL;
		return 1;
	}
	if (fb_vm_spec_decode(*doc, spec, err) < 0)
		return -1;
	if (!fb_vm_valid_name(spec->id))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "vm id %s: 1 to 20 characters of [a-zA-Z0-9]", spec->id);
	if (spec->cpu < 1 || spec->cpu > 64 || spec->mem < 32)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "vm: cpu 1-64 and mem (MiB) 32 or more");
	/* the console's input, in the foreground: the terminal when the spec
	 * came down a pipe (a pipeline's stdin is not the user's) */
	if (!spec_path && !spec->daemonize && !isatty(0)) {
		int t = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (t < 0)
			t = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (t >= 0) {
			dup2(t, 0);
			close(t);
		}
	}
	return 0;
}

static int cmd_start(const char *spec_path, struct fb_err *err)
{
	int host_ns = -1; /* the network namespace to return to once the VMM is started */
	struct fb_doc *doc = NULL;
	struct fb_vm_spec spec = { 0 };
	int rc = 0;
	int rr = read_spec(spec_path, &doc, &spec, &rc, err);
	if (rr != 0) {
		fb_vm_spec_free(&spec);
		fb_doc_free(doc);
		return rr > 0 ? rc : fb_tool_fail(err);
	}
	struct vm v = { .lock_fd = -1, .ready_fd = -1, .daemon = spec.daemonize, .discarded = spec.remove_after && !spec.daemonize, .stop_timeout = (int)spec.stop_timeout };
	bool owned = false; /* the run directory is ours to undo */
	v.id = fb_xstrdup(spec.id);
	v.dir = fb_xstrdup(spec.run_dir);
	v.state_path = fb_xasprintf("%s/state.json", v.dir);
	v.sock = fb_xasprintf("%s/ctl.sock", v.dir);
	v.console = fb_xasprintf("%s/console.log", v.dir);
	v.kvm_broken = fb_xasprintf("%s/kvm-unusable", spec.run_cache);
	struct fb_jail jail = { 0 };
	struct fb_strv tcg = FB_STRV_INIT, kvm = FB_STRV_INIT;
	char *fc = NULL;
	if (strlen(v.sock) > SOCK_MAX) {
		fb_err_set(err, FB_EXIT_USAGE, "socket_path",
			   "the control socket %s is %zu bytes, over the Unix socket limit of %d: use a shorter run cache", v.sock,
			   strlen(v.sock), SOCK_MAX);
		rc = fb_tool_fail(err);
		goto out;
	}
	if (take_lock(&v, err) < 0) {
		rc = fb_tool_fail(err);
		goto out;
	}
	bool booted = false; /* the VM's copy has been a guest's disk */
	{
		/* a VM that runs from this directory is not replaced */
		struct fb_vm_state old;
		struct fb_err oe = { 0 };
		booted = access(v.state_path, F_OK) == 0;
		if (fb_vm_state_load(v.state_path, &old, &oe) == 0) {
			bool running = !strcmp(fb_vm_status(&old), "running");
			fb_vm_state_free(&old);
			if (running) {
				fb_err_set(err, FB_EXIT_CONFLICT, "busy", "%s: the VM of this run directory is running", v.dir);
				rc = fb_tool_fail(err);
				goto out;
			}
		}
	}
	owned = true;
	/* the network: the spec's own (a spec by hand), else fb-net add's */
	if (pick_vmm(&v, &spec, &fc, err) < 0 || (!spec.network && fb_network_decode(doc, &spec.network, err) < 0)) {
		rc = fb_tool_fail(err);
		goto out;
	}
	/* the config drive prepare described, with the network fb-net made;
	 * a root disk removed after the VM (foreground) need not be synced */
	if (spec.config)
		spec.config->discard_root = spec.remove_after;
	/* the copy's first boot: what prepare wrote and found there still
	 * holds when the spec asks for the same (after a boot the guest may
	 * have changed it, and fb-init looks again) */
	if (spec.config && spec.config->prepared && !booted && spec.rootfs && spec.run_dir) {
		FB_AUTOFREE char *copy = fb_xasprintf("%s/rootfs.ext4", spec.run_dir);
		const struct fb_drive_prepared *pr = spec.config->prepared;
		if (!strcmp(spec.rootfs, copy)) {
			FB_AUTOFREE char *etc = guest_etc_digest(spec.config);
			spec.config->etc_written = pr->etc && etc && !strcmp(pr->etc, etc);
			spec.config->ids_known = pr->user && !strcmp(pr->user, spec.config->user ? spec.config->user : "");
		}
	}
	if (spec.config && fb_drive_write(spec.config_drive, spec.config, spec.network, err) < 0) {
		rc = fb_tool_fail(err);
		goto out;
	}
	if (spec.jail && jail_vm(&v, &jail, &spec, &fc, err) < 0) {
		rc = fb_tool_fail(err);
		goto out;
	}
	if (!fc && qemu_argv(&v, &spec, &tcg, &kvm, err) < 0) {
		rc = fb_tool_fail(err);
		goto out;
	}
	set_str(&v.state.id, v.id);
	set_str(&v.state.image, spec.image);
	set_str(&v.state.backend, "qemu");
	set_str(&v.state.run_cache, v.dir);
	set_str(&v.state.jail, v.jail ? v.jail->root : NULL);
	set_str(&v.state.console_log, v.daemon ? v.console : NULL);
	v.state.started = (long long)time(NULL);
	v.state.daemonized = v.daemon;
	char **k = kvm.n ? kvm.v : NULL;
	if (enter_network(&v, &spec, &host_ns, err) < 0) {
		rc = fb_tool_fail(err);
		goto out;
	}
	if (!v.daemon) {
		rc = fc ? supervise_fc(&v, &spec, fc, err) : supervise_qemu(&v, k, tcg.v, err);
		back_to_host(&host_ns);
		if (rc < 0)
			rc = fb_tool_fail(err);
		if (spec.remove_after) {
			/* a foreground VM leaves nothing: network, directory */
			struct fb_err te = { 0 };
			if (fb_vm_teardown(v.dir, v.id, &te) < 0)
				fb_log_failure(&te);
		}
	} else if ((rc = start_daemon(&v, &spec, doc, fc, k, tcg.v, &host_ns, &owned, err)) == 0) {
		rc = fb_doc_finish(doc);
		doc = NULL;
	}
out:
	if (v.jail && (!v.daemon || rc != 0))
		fb_jail_remove(v.jail); /* a daemon's supervisor removes it at its end */
	if (v.jail)
		fb_jail_free(v.jail);
	back_to_host(&host_ns);
	/* a VM that never started leaves nothing behind: its jail, its
	 * network (fb-net del from the cached result), its run directory, in
	 * the reverse of the order they were made */
	if (rc != 0 && owned && access(v.state_path, F_OK) != 0) {
		struct fb_err te = { 0 };
		if (fb_vm_teardown(v.dir, v.id, &te) < 0)
			fb_log_failure(&te);
	}
	if (v.lock_fd >= 0)
		close(v.lock_fd);
	fb_strv_free(&tcg);
	fb_strv_free(&kvm);
	free(fc);
	fb_doc_free(doc);
	fb_vm_spec_free(&spec);
	fb_vm_state_free(&v.state);
	free(v.id);
	free(v.dir);
	free(v.state_path);
	free(v.sock);
	free(v.console);
	free(v.kvm_broken);
	free(v.sock_arg);
	return rc;
}

/* --timings: what this command's processes spooled, once the VM is done
 * (or, daemonized, running). */
static void print_timings(void)
{
	const char *spool = getenv("FB_TRACE_SPOOL");
	if (!spool || !getenv("FB_TIMINGS"))
		return;
	fb_trace_finish();
	fb_trace_print_timings(spool);
	unlink(spool);
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-jail");
	const char *spec = NULL, *dir = NULL;
	long timeout = 15;
	struct prepare_req pr = PREPARE_REQ_INIT;
	bool start_opts = false, stop_opts = false, prep_opts = false;
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		switch (c) {
		case OPT_SPEC:
			spec = optarg;
			start_opts = true;
			break;
		case OPT_RUN_DIR:
			dir = optarg;
			stop_opts = true;
			break;
		case OPT_TIMEOUT: {
			char *end;
			timeout = strtol(optarg, &end, 10);
			if (*end == 's')
				end++;
			if (*end || timeout < 0)
				return fb_tool_usage_error("--timeout %s: expected seconds", optarg);
			stop_opts = true;
			break;
		}
		default:
			if (c < P_NAME || c >= P_LAST)
				return fb_tool_bad_option(argv);
			int pr_rc = prepare_opt(c, optarg, &pr);
			if (pr_rc) {
				prepare_req_free(&pr);
				return pr_rc;
			}
			prep_opts = true;
		}
	}
	if (optind >= argc) {
		prepare_req_free(&pr);
		return fb_tool_usage_error("expected a command: start or stop");
	}
	const char *cmd = argv[optind++];
	bool is_prepare = !strcmp(cmd, "prepare"), is_start = !strcmp(cmd, "start"), is_stop = !strcmp(cmd, "stop");
	int rc = -1;
	if (!is_prepare && !is_start && !is_stop)
		rc = fb_tool_usage_error("unknown command '%s'", cmd);
	else if ((prep_opts && !is_prepare) || (start_opts && !is_start) || (stop_opts && !is_stop))
		rc = fb_tool_usage_error("%s takes none of the options of %s", cmd,
					 prep_opts && !is_prepare ? "prepare" : start_opts && !is_start ? "start" : "stop");
	else if (!is_prepare && optind < argc)
		rc = fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (rc >= 0) {
		prepare_req_free(&pr);
		return rc;
	}
	struct fb_err err = { 0 };
	if (is_prepare) {
		/* what follows is the command that replaces the image's CMD */
		if (optind < argc) {
			pr.cmd = argv + optind;
			pr.ncmd = (size_t)(argc - optind);
		}
		rc = cmd_prepare(&pr);
		prepare_req_free(&pr);
		return rc;
	}
	if (is_start) {
		rc = cmd_start(spec, &err);
		print_timings();
		return rc;
	}
	if (!dir)
		return fb_tool_usage_error("stop needs --run-dir");
	struct fb_vm_state final;
	if (fb_vm_stop(dir, timeout, &final, &err) < 0)
		return fb_tool_fail(&err);
	rc = fb_vm_teardown(dir, final.id ? final.id : "x", &err) < 0
		     ? fb_tool_fail(&err)
		     : fb_doc_finish(fb_vm_stopped_doc(final.id, final.has_exit_code, final.exit_code));
	fb_vm_state_free(&final);
	return rc;
}
