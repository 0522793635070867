/* fb-jail: start a VM and supervise it, or stop one. The QEMU backend
 * (-M microvm; KVM when it really runs a guest here, TCG otherwise) with
 * the config drive and the control port of docs/config-drive.md. The
 * supervisor (this process in the foreground, a daemon with daemonize)
 * keeps state.json in the VM's run directory, turns SIGTERM/SIGINT into
 * "stop" on the control port (fb-init sends the STOPSIGNAL, then SIGKILL),
 * kills the VMM when the grace period is over, and records the workload's
 * exit code.
 *
 *   fb-jail start [--spec FILE]      # {"vm": {...}} (stdin by default)
 *   fb-jail stop --run-dir DIR [--timeout SECONDS]
 *
 * The backends are in fb-jail-qemu.c and fb-jail-fc.c; the jail is lib/jail.c. */
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
#include "json.h"
#include "log.h"
#include "proc.h"
#include "shape.h"
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "tree.h"
#include "util.h"
#include "vm.h"

#include "fb-jail.h"


static const char usage[] =
	"Usage: fb-jail start [--spec FILE]\n"
	"       fb-jail stop --run-dir DIR [--timeout SECONDS]\n"
	"Start a VM from a spec ({\"vm\": {id, run_dir, run_cache, kernel, rootfs,\n"
	"config_drive, cpu, mem, kernel_args, daemonize, stop_timeout, image,\n"
	"remove_after}}) under QEMU -M microvm and supervise it: in the foreground\n"
	"the console is stdout and the exit status is the workload's; daemonized,\n"
	"the VM's state is printed and the supervisor goes on in the background.\n"
	"stop asks the VM's supervisor to stop it cleanly, kills it after the\n"
	"timeout, and removes its run directory.\n"
	"  --log-format FORMAT, --help, --version\n";

enum { OPT_SPEC = FB_OPT_FIRST_TOOL_OPT, OPT_RUN_DIR, OPT_TIMEOUT };

static const struct option longopts[] = {
	FB_COMMON_LONGOPTS,
	{ "spec", required_argument, NULL, OPT_SPEC },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
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

int read_machine(jv spec, struct machine *m, struct fb_err *err)
{
	*m = (struct machine){ .cpu = 1, .mem = 128 };
	if (fb_json_get_str(spec, "kernel", &m->kernel, err) < 0 || fb_json_get_str(spec, "rootfs", &m->rootfs, err) < 0 ||
	    fb_json_get_str(spec, "config_drive", &m->drive, err) < 0 ||
	    fb_json_get_str_opt(spec, "kernel_args", &m->kargs, err) < 0 || fb_json_get_int_opt(spec, "cpu", &m->cpu, err) < 0 ||
	    fb_json_get_int_opt(spec, "mem", &m->mem, err) < 0)
		return -1;
	return 0;
}

void machine_free(struct machine *m)
{
	free(m->kernel);
	free(m->rootfs);
	free(m->drive);
	free(m->kargs);
}

void save_state(struct vm *v)
{
	struct fb_err e = { 0 };
	fb_json_save(v->state_path, jv_copy(v->state), 0600, &e);
	if (fb_vm_num(v->state, "pid") <= 0)
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
	const char *env = getenv(FB_VM_LOCK_ENV);
	int r = 0;
	if (env) {
		char *end;
		long fd = strtol(env, &end, 10);
		struct stat a, b;
		/* only the lock of this run directory */
		if (!*end && fd > 2 && fd < 65536 && fstat((int)fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			v->lock_fd = (int)fd;
			fcntl(v->lock_fd, F_SETFD, FD_CLOEXEC);
		}
		unsetenv(FB_VM_LOCK_ENV);
	}
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
	v->state = jv_object_set(v->state, jv_string("status"), jv_string("exited"));
	if (code < 0) {
		char how[64];
		fb_status_describe(status, how, sizeof(how));
		size_t ml = strlen(msg);
		snprintf(msg + ml, msglen - ml, "%sthe VM ended without a report from fb-init (%s %s)", ml ? "; " : "", vmm, how);
		code = 125;
	}
	v->state = jv_object_set(v->state, jv_string("exit_code"), jv_number(code));
	if (msg[0]) {
		v->state = jv_object_set(v->state, jv_string("error"), jv_string(msg));
		fb_log(FB_LOG_ERROR, "%s: %s", v->id, msg);
	}
	save_state(v);
	return code;
}

/* .network in the original firebuild's inspect shape (firecracker-go-sdk's
 * NetworkInterfaces), so `jq .NetworkInterfaces[0].StaticConfiguration
 * .IPConfiguration.IP` works as its README says. */
static jv seed_interfaces(jv net)
{
	jv out = jv_array();
	/* the spec is checked (fb_shape_vm_spec); a member may be absent */
	jv ifs = fb_json_member(net, "interfaces"), tap = fb_json_member(net, "tap");
	jv dns = fb_json_member(net, "dns"), name = fb_json_member(net, "name");
	jv_free(net);
	if (jv_get_kind(ifs) == JV_KIND_ARRAY)
		jv_array_foreach(ifs, i, it)
		{
			jv ip = fb_json_member(it, "ip");
			char *addr = jv_get_kind(ip) == JV_KIND_STRING ? fb_xstrdup(jv_string_value(ip)) : fb_xstrdup("");
			char *slash = strchr(addr, '/');
			int prefix = slash ? atoi(slash + 1) : 32;
			if (slash)
				*slash = '\0';
			unsigned m = prefix <= 0 ? 0 : 0xffffffffu << (32 - (prefix > 32 ? 32 : prefix));
			jv ipc = jv_object_set(jv_object(), jv_string("IP"), jv_string(addr));
			ipc = jv_object_set(ipc, jv_string("IPAddr"),
					    jv_object_set(jv_object_set(jv_object(), jv_string("IP"), jv_string(addr)), jv_string("Mask"),
							  jv_string_fmt("%u.%u.%u.%u", m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255)));
			ipc = jv_object_set(ipc, jv_string("Gateway"), fb_json_member(it, "gateway"));
			ipc = jv_object_set(ipc, jv_string("Nameservers"), jv_copy(dns));
			ipc = jv_object_set(ipc, jv_string("IfName"), fb_json_member(it, "name"));
			jv sc = jv_object_set(jv_object(), jv_string("MacAddress"), fb_json_member(it, "mac"));
			sc = jv_object_set(sc, jv_string("HostDevName"), jv_copy(tap));
			sc = jv_object_set(sc, jv_string("IPConfiguration"), ipc);
			jv cni = jv_object_set(jv_object(), jv_string("NetworkName"), jv_copy(name));
			cni = jv_object_set(cni, jv_string("IfName"), fb_json_member(it, "name"));
			jv e = jv_object_set(jv_object(), jv_string("StaticConfiguration"), sc);
			out = jv_array_append(out, jv_object_set(e, jv_string("CNIConfiguration"), cni));
			free(addr);
			jv_free(ip);
			jv_free(it);
			(void)i;
		}
	jv_free(ifs);
	jv_free(tap);
	jv_free(dns);
	jv_free(name);
	return out;
}

/* qemu, or firecracker: asked for, or where /dev/kvm works and the binary
 * is there. NULL: qemu; else the firecracker binary to run. */
static char *pick_vmm(struct vm *v, jv spec, struct fb_err *err)
{
	char *vmm = NULL, *bin = NULL;
	fb_json_get_str_opt(spec, "vmm", &vmm, err);
	fb_json_get_str_opt(spec, "firecracker_binary", &bin, err);
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
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "--vmm=firecracker: no firecracker binary (%s)", b);
		r = found;
		found = NULL;
	} else if (vmm && strcmp(vmm, "qemu") && strcmp(vmm, "auto")) {
		fb_err_set(err, FB_EXIT_USAGE, "usage", "--vmm %s: expected qemu or firecracker", vmm);
	} else if (!vmm || !strcmp(vmm, "auto")) {
		if (found && access("/dev/kvm", R_OK | W_OK) == 0 && access(v->kvm_broken, F_OK) != 0) {
			r = found;
			found = NULL;
		}
	}
	free(found);
	free(vmm);
	free(bin);
	return r;
}


/* The QEMU backend jailed: spec.jail = {base, uid, gid, cgroup}. The
 * files go in, the spec's paths become the jail's. */
static int jail_setup(struct vm *v, struct fb_jail *j, jv *spec, jv js, const char *vmm, const char *sockname,
		      struct fb_err *err)
{
	char *base = NULL;
	long long uid = 0, gid = 0, cpu = 1, mem = 128;
	if (fb_json_get_str(js, "base", &base, err) < 0 || fb_json_get_int_opt(js, "uid", &uid, err) < 0 ||
	    fb_json_get_int_opt(js, "gid", &gid, err) < 0 || fb_json_get_int_opt(*spec, "cpu", &cpu, err) < 0 ||
	    fb_json_get_int_opt(*spec, "mem", &mem, err) < 0) {
		free(base);
		return -1;
	}
	/* the socket path limit first: nothing is made when it does not fit */
	char *sock = fb_xasprintf("%s/%s/%s/root/run/%s", base, vmm, v->id, sockname);
	if (strlen(sock) > SOCK_MAX) {
		int r = fb_err_set(err, FB_EXIT_USAGE, "socket_path",
				   "the control socket %s is %zu bytes, over the Unix socket limit of %d: use a shorter --chroot-base",
				   sock, strlen(sock), SOCK_MAX);
		free(sock);
		free(base);
		return r;
	}
	jv cg = jv_object_get(jv_copy(js), jv_string("cgroup"));
	long long numa = -1;
	fb_json_get_int_opt(js, "numa_node", &numa, err);
	char *record = fb_xasprintf("%s/jail.json", v->dir);
	struct fb_jail_opts o = { .base = base, .vmm = vmm, .id = v->id, .uid = (uid_t)uid, .gid = (gid_t)gid,
				  .cpu = (int)cpu, .mem = (int)mem, .cgroup_settings = cg, .numa_node = (int)numa, .record = record };
	int r = fb_jail_prepare(&o, j, err);
	free(record);
	jv_free(cg);
	free(base);
	static const char *const files[][2] = { { "kernel", "vmlinux" }, { "rootfs", "rootfs.ext4" }, { "config_drive", "config.drive" } };
	for (size_t i = 0; r == 0 && i < FB_ARRAY_LEN(files); i++) {
		char *src = NULL;
		if (fb_json_get_str(*spec, files[i][0], &src, err) < 0) {
			r = -1;
			break;
		}
		/* the VM's own files become the jail user's; the store's kernel stays as it is */
		char *inside = fb_jail_link(j, src, files[i][1], i > 0, err);
		free(src);
		if (!inside) {
			r = -1;
			break;
		}
		*spec = jv_object_set(*spec, jv_string(files[i][0]), jv_string(inside));
		free(inside);
	}
	if (r == 0) {
		free(v->sock);
		v->sock = sock;
		sock = NULL;
		v->sock_arg = fb_xasprintf("/run/%s", sockname);
		v->state = jv_object_set(v->state, jv_string("jail"), jv_string(j->root));
		v->state = jv_object_set(v->state, jv_string("jail_dir"), jv_string(j->dir));
		jv cgs = jv_array();
		for (int i = 0; i < j->ncgroups; i++)
			cgs = jv_array_append(cgs, jv_string(j->cgroups[i]));
		v->state = jv_object_set(v->state, jv_string("cgroups"), cgs);
		v->state = jv_object_set(v->state, jv_string("jail_uid"), jv_number((double)uid));
		v->state = jv_object_set(v->state, jv_string("jail_gid"), jv_number((double)gid));
	}
	free(sock);
	return r;
}

/* The original's "VMM running as a daemon" line, with its fields. */
static void daemon_line(jv st)
{
	char pid[32] = "", net[64] = "", ip[64] = "";
	snprintf(pid, sizeof(pid), "%ld", fb_vm_num(st, "pid"));
	jv addr = jv_getpath(jv_copy(st), jv_parse("[\"network\",\"interfaces\",0,\"ip\"]"));
	if (jv_get_kind(addr) == JV_KIND_STRING) {
		snprintf(net, sizeof(net), "%s", jv_string_value(addr));
		snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(net, "/"), net);
	}
	jv_free(addr);
	jv id = jv_object_get(jv_copy(st), jv_string("id")), dir = jv_object_get(jv_copy(st), jv_string("run_cache"));
	jv jd = jv_object_get(jv_copy(st), jv_string("jail_dir"));
	fb_log_fields(FB_LOG_INFO, "VMM running as a daemon", "vmm-id", jv_get_kind(id) == JV_KIND_STRING ? jv_string_value(id) : "",
		      "pid", pid, "cache-dir", jv_get_kind(dir) == JV_KIND_STRING ? jv_string_value(dir) : "", "jailer-dir",
		      jv_get_kind(jd) == JV_KIND_STRING ? jv_string_value(jd) : "", "ip-address", ip, "ip-net", net,
		      (const char *)NULL);
	jv_free(id);
	jv_free(dir);
	jv_free(jd);
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

static int cmd_start(const char *spec_path, struct fb_err *err)
{
	int host_ns = -1; /* the network namespace to return to once the VMM is started */
	jv doc;
	if (spec_path ? fb_json_load(spec_path, &doc, err) < 0 : fb_json_read_fd(0, &doc, err) < 0) {
		/* where it failed, never what the file holds */
		if (spec_path)
			fb_err_prefix(err, "--spec");
		return fb_tool_fail(err);
	}
	if (fb_json_is_error_doc(doc))
		return fb_tool_pass_error(doc);
	if (fb_shape_vm_spec(doc, err) < 0) {
		jv_free(doc);
		return fb_tool_fail(err);
	}
	jv spec = jv_object_get(doc, jv_string("vm"));
	struct vm v = { .state = jv_object(), .lock_fd = -1, .ready_fd = -1 };
	bool owned = false; /* the run directory is ours to undo */
	char *run_cache = NULL, *image = NULL;
	bool remove_after = false;
	long long timeout = 10;
	int rc;
	if (jv_get_kind(spec) != JV_KIND_OBJECT) {
		jv_free(spec);
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "input document has no .vm object");
		return fb_tool_fail(err);
	}
	if (fb_json_get_str(spec, "id", &v.id, err) < 0 || fb_json_get_str(spec, "run_dir", &v.dir, err) < 0 ||
	    fb_json_get_str(spec, "run_cache", &run_cache, err) < 0 || fb_json_get_str_opt(spec, "image", &image, err) < 0 ||
	    fb_json_get_bool_opt(spec, "daemonize", &v.daemon, err) < 0 ||
	    fb_json_get_bool_opt(spec, "remove_after", &remove_after, err) < 0 ||
	    fb_json_get_int_opt(spec, "stop_timeout", &timeout, err) < 0) {
		rc = fb_tool_fail(err);
		goto out;
	}
	if (!fb_vm_valid_name(v.id)) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "vm id %s: 1 to 20 characters of [a-zA-Z0-9]", v.id);
		rc = fb_tool_fail(err);
		goto out;
	}
	v.stop_timeout = (int)timeout;
	v.state_path = fb_xasprintf("%s/state.json", v.dir);
	v.sock = fb_xasprintf("%s/ctl.sock", v.dir);
	v.console = fb_xasprintf("%s/console.log", v.dir);
	v.kvm_broken = fb_xasprintf("%s/kvm-unusable", run_cache);
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
	{
		/* a VM that runs from this directory is not replaced */
		jv old;
		struct fb_err oe = { 0 };
		if (fb_json_load(v.state_path, &old, &oe) == 0) {
			bool running = !strcmp(fb_vm_status(old), "running");
			jv_free(old);
			if (running) {
				fb_err_set(err, FB_EXIT_CONFLICT, "busy", "%s: the VM of this run directory is running", v.dir);
				rc = fb_tool_fail(err);
				goto out;
			}
		}
	}
	owned = true;
	struct fb_jail jail = { 0 };
	char *fc = pick_vmm(&v, spec, err);
	if (err->msg[0]) {
		rc = fb_tool_fail(err);
		goto out;
	}
	jv jspec = jv_object_get(jv_copy(spec), jv_string("jail"));
	if (jv_get_kind(jspec) == JV_KIND_OBJECT) {
		struct fb_span *js = fb_span_begin("jail");
		int jr = jail_setup(&v, &jail, &spec, jspec, fc ? "firecracker" : "qemu-system-x86_64", fc ? "fc.sock" : "ctl.sock", err);
		if (jr == 0 && fc) {
			/* the VMM binary goes in too (Firecracker is one static file) */
			char *inside = fb_jail_link(&jail, fc, "firecracker", false, err);
			if (!inside) {
				jr = -1;
			} else {
				free(fc);
				fc = inside;
			}
		}
		if (jr < 0)
			fb_span_error(js, err->msg);
		fb_span_end(js);
		if (jr < 0) {
			free(fc);
			jv_free(jspec);
			fb_jail_remove(&jail);
			fb_jail_free(&jail);
			rc = fb_tool_fail(err);
			goto out;
		}
		v.jail = &jail;
	}
	jv_free(jspec);
	struct fb_strv tcg = FB_STRV_INIT, kvm = FB_STRV_INIT;
	if (!fc && qemu_argv(&v, spec, &tcg, &kvm, err) < 0) {
		free(fc);
		rc = fb_tool_fail(err);
		goto out;
	}
	v.state = jv_object_set(v.state, jv_string("id"), jv_string(v.id));
	v.state = jv_object_set(v.state, jv_string("image"), image ? jv_string(image) : jv_null());
	v.state = jv_object_set(v.state, jv_string("backend"), jv_string("qemu"));
	v.state = jv_object_set(v.state, jv_string("run_cache"), jv_string(v.dir));
	v.state = jv_object_set(v.state, jv_string("jail"), v.jail ? jv_string(v.jail->root) : jv_null());
	v.state = jv_object_set(v.state, jv_string("console_log"), v.daemon ? jv_string(v.console) : jv_null());
	v.state = jv_object_set(v.state, jv_string("started"), jv_number((double)time(NULL)));
	v.state = jv_object_set(v.state, jv_string("daemonized"), jv_bool(v.daemon));
	char **k = kvm.n ? kvm.v : NULL;
	jv net = jv_object_get(jv_copy(spec), jv_string("network"));
	if (jv_get_kind(net) == JV_KIND_OBJECT) {
		/* QEMU opens the tap in the VM's namespace */
		jv ns = jv_object_get(jv_copy(net), jv_string("netns"));
		int nfd = jv_get_kind(ns) == JV_KIND_STRING ? open(jv_string_value(ns), O_RDONLY | O_CLOEXEC) : -1;
		host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0) {
			fb_err_errno(err, errno, "network namespace %s", jv_get_kind(ns) == JV_KIND_STRING ? jv_string_value(ns) : "?");
			if (nfd >= 0)
				close(nfd);
			jv_free(ns);
			jv_free(net);
			fb_strv_free(&tcg);
			fb_strv_free(&kvm);
			free(fc);
			rc = fb_tool_fail(err);
			goto out;
		}
		close(nfd);
		jv_free(ns);
		v.state = jv_object_set(v.state, jv_string("network"), jv_copy(net));
		v.state = jv_object_set(v.state, jv_string("NetworkInterfaces"), seed_interfaces(net));
	} else {
		jv_free(net);
	}
	if (!v.daemon) {
		rc = fc ? supervise_fc(&v, spec, fc, err) : supervise_qemu(&v, k, tcg.v, err);
		back_to_host(&host_ns);
		if (rc < 0)
			rc = fb_tool_fail(err);
		if (remove_after) {
			/* a foreground VM leaves nothing: network, directory */
			struct fb_err te = { 0 };
			if (fb_vm_teardown(v.dir, v.id, &te) < 0)
				fb_log_failure(&te);
		}
	} else {
		/* the supervisor says "R" once the VMM runs, or "E" and why not */
		int rp[2];
		if (pipe2(rp, O_CLOEXEC) < 0) {
			fb_err_errno(err, errno, "pipe");
			rc = fb_tool_fail(err);
			goto started;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			close(rp[0]);
			v.ready_fd = rp[1];
			setsid();
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
			dup2(nul, 0);
			dup2(nul, 1);
			int logfd = open(v.console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
			dup2(logfd >= 0 ? logfd : nul, 2);
			if (fork() != 0)
				_exit(0); /* not a session leader: it can never get a terminal */
			fb_trace_forked();
			struct fb_err e = { 0 };
			if (fc)
				supervise_fc(&v, spec, fc, &e);
			else
				supervise_qemu(&v, k, tcg.v, &e);
			if (v.ready_fd >= 0) {
				/* it never ran: the starting process undoes the start */
				char *why = fb_xasprintf("E%s", e.msg[0] ? e.msg : "the VMM ended before it was running");
				if (write(v.ready_fd, why, strlen(why)) < 0) {
					/* nobody to tell */
				}
				free(why);
			}
			back_to_host(&host_ns);
			if (v.jail)
				fb_jail_remove(v.jail);
			fb_trace_finish();
			_exit(0);
		}
		int fork_errno = errno;
		close(rp[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		back_to_host(&host_ns);
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
		jv st = jv_invalid();
		struct fb_err le = { 0 };
		if (why[0] == 'R')
			owned = false; /* it ran: from now on kill and purge undo it */
		if (pid > 0 && why[0] == 'R' && fb_json_load(v.state_path, &st, &le) == 0) {
			daemon_line(st);
			rc = fb_tool_finish(jv_object_set(jv_object(), jv_string("vm"), st));
		} else if (why[0] == 'R') {
			fb_err_set(err, FB_EXIT_FAILED, "start", "%s: the VM was stopped as it started", v.id);
			rc = fb_tool_fail(err);
		} else {
			fb_err_set(err, FB_EXIT_FAILED, "start", "%s: the VM did not start: %s", v.id,
				   why[0] == 'E' ? why + 1 : pid < 0 ? strerror(fork_errno) : "its supervisor ended");
			rc = fb_tool_fail(err);
		}
	}
started:
	fb_strv_free(&tcg);
	fb_strv_free(&kvm);
	free(fc);
	if (v.jail && (!v.daemon || rc != 0)) {
		fb_jail_remove(v.jail);
		fb_jail_free(v.jail);
	}
out:
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
	jv_free(spec);
	jv_free(v.state);
	free(v.id);
	free(v.dir);
	free(v.state_path);
	free(v.sock);
	free(v.console);
	free(v.kvm_broken);
	free(v.sock_arg);
	free(run_cache);
	free(image);
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
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		switch (c) {
		case OPT_SPEC: spec = optarg; break;
		case OPT_RUN_DIR: dir = optarg; break;
		case OPT_TIMEOUT: {
			char *end;
			timeout = strtol(optarg, &end, 10);
			if (*end == 's')
				end++;
			if (*end || timeout < 0)
				return fb_tool_usage_error("--timeout %s: expected seconds", optarg);
			break;
		}
		default: return fb_tool_bad_option(argv);
		}
	}
	if (optind >= argc)
		return fb_tool_usage_error("expected a command: start or stop");
	const char *cmd = argv[optind++];
	if (optind < argc)
		return fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
	struct fb_err err = { 0 };
	if (!strcmp(cmd, "start")) {
		int rc = cmd_start(spec, &err);
		print_timings();
		return rc;
	}
	if (strcmp(cmd, "stop"))
		return fb_tool_usage_error("unknown command '%s'", cmd);
	if (!dir)
		return fb_tool_usage_error("stop needs --run-dir");
	jv final;
	if (fb_vm_stop(dir, timeout, &final, &err) < 0)
		return fb_tool_fail(&err);
	jv ex = fb_json_member(final, "exit_code");
	jv id = fb_json_member(final, "id");
	jv_free(final);
	if (fb_vm_teardown(dir, jv_get_kind(id) == JV_KIND_STRING ? jv_string_value(id) : "x", &err) < 0) {
		jv_free(ex);
		jv_free(id);
		return fb_tool_fail(&err);
	}
	jv out = jv_object_set(jv_object(), jv_string("id"), jv_get_kind(id) == JV_KIND_STRING ? id : (jv_free(id), jv_null()));
	out = jv_object_set(out, jv_string("killed"), jv_true());
	out = jv_object_set(out, jv_string("exit_code"), jv_get_kind(ex) == JV_KIND_NUMBER ? ex : (jv_free(ex), jv_null()));
	return fb_tool_finish(out);
}
