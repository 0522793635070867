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
 * The chroot/cgroup jail and the Firecracker backend come next (issue 6). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "tree.h"
#include "util.h"
#include "vm.h"

#define SOCK_MAX 107 /* sun_path, less its NUL */

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

struct vm {
	char *id, *dir, *state_path, *sock, *console, *kvm_broken;
	jv state;
	bool daemon;
	int stop_timeout;
	struct fb_jail *jail; /* NULL: not jailed */
	char *sock_arg;       /* the control socket as QEMU sees it */
};

static volatile sig_atomic_t g_stop;
static void on_stop(int sig)
{
	g_stop = sig;
}

static void save_state(struct vm *v)
{
	struct fb_err e = { 0 };
	fb_json_save(v->state_path, jv_copy(v->state), 0644, &e);
}

/* One read from the control socket and the lines it completes; -1 at its
 * end (or when nothing is there). */
static int read_ctl(struct vm *v, int *ctl, char *line, size_t *ll, int *code, char *msg, size_t msglen)
{
	ssize_t n = read(*ctl, line + *ll, 1023 - *ll);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(*ctl);
			*ctl = -2; /* the VM closed it; do not reconnect */
		}
		return -1;
	}
	*ll += (size_t)n;
	line[*ll] = '\0';
	char *nl;
	while ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		if (!strncmp(line, "exit ", 5))
			*code = atoi(line + 5);
		else if (!strncmp(line, "error ", 6))
			snprintf(msg, msglen, "%.500s", line + 6);
		else if (!strncmp(line, "started ", 8))
			v->state = jv_object_set(v->state, jv_string("workload_started"), jv_true());
		size_t rest = *ll - (size_t)(nl + 1 - line);
		memmove(line, nl + 1, rest + 1);
		*ll = rest;
	}
	if (*ll >= 1023)
		*ll = 0;
	return 0;
}

/* The end of a VM in its state: the workload's code, or 125 and why. */
static int finish_state(struct vm *v, int code, int status, char *msg, size_t msglen, const char *vmm)
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

/* The guest's console comes through a pipe: to our stdout in the
 * foreground, to console.log daemonized. It is always drained (a full pipe
 * would stop the guest); a console nobody reads is dropped. The first byte
 * ends the "first guest line" span. */
static ssize_t copy_console(struct vm *v, int *in, int out, struct fb_span **first)
{
	char buf[8192];
	ssize_t n = read(*in, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(*in);
			*in = -1;
		}
		return n;
	}
	fb_span_end(*first);
	*first = NULL;
	if (out >= 0 && write(out, buf, (size_t)n) < 0) {
		/* the reader went away: the VM goes on */
	}
	(void)v;
	return n;
}

/* Run QEMU until it ends; the workload's code (or 125 and why). */
static int supervise(struct vm *v, char **kvm, char **tcg, struct fb_err *err)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct fb_proc p;
	char kvm_how[64] = "";
	struct fb_span *run = NULL, *start = NULL, *boot = NULL, *first = NULL;
	int con_out = v->daemon ? open(v->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : 1;
	int con = -1;
again:
	v->state = jv_object_set(v->state, jv_string("accel"), jv_string(kvm ? "kvm" : "tcg"));
	fb_span_end(run);
	run = fb_span_begin("vm");
	fb_span_set(run, "vm.id", v->id);
	fb_span_set(run, "vm.backend", "qemu");
	fb_span_set(run, "vm.accel", kvm ? "kvm" : "tcg");
	start = fb_span_begin_under(run, "vmm start");
	boot = fb_span_begin_under(run, "guest boot");
	first = fb_span_begin_under(run, "first guest line");
	int cp[2];
	if (pipe2(cp, O_CLOEXEC) < 0) {
		fb_err_errno(err, errno, "pipe");
		goto fail;
	}
	if (v->jail) {
		p.pid = fb_jail_spawn(v->jail, kvm ? kvm : tcg, cp[1], !v->daemon, err);
		close(cp[1]);
		if (p.pid < 0) {
			close(cp[0]);
			goto fail;
		}
	} else {
		struct fb_spawn_opts so = { .null_stdin = v->daemon, .pipe_stdout = true };
		close(cp[0]);
		close(cp[1]);
		if (fb_proc_spawn(kvm ? kvm : tcg, &so, &p, err) < 0)
			goto fail;
		cp[0] = p.out_fd;
	}
	con = cp[0];
	fcntl(con, F_SETFL, O_NONBLOCK);
	v->state = jv_object_set(v->state, jv_string("pid"), jv_number(p.pid));
	v->state = jv_object_set(v->state, jv_string("supervisor_pid"), jv_number(getpid()));
	v->state = jv_object_set(v->state, jv_string("status"), jv_string("running"));
	/* with KVM on trial, the state is told once the guest runs (a KVM that
	 * cannot run it is replaced by TCG, with another pid) */
	bool saved = !kvm;
	if (saved)
		save_state(v);
	int ctl = -1, code = -1, status = 0;
	bool stop_sent = false;
	time_t stop_at = 0;
	char msg[512] = "", line[1024];
	size_t ll = 0;
	for (;;) {
		if (waitpid(p.pid, &status, WNOHANG) == p.pid)
			break;
		if (ctl == -1) {
			int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			struct sockaddr_un a = { .sun_family = AF_UNIX };
			snprintf(a.sun_path, sizeof(a.sun_path), "%s", v->sock);
			if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
				ctl = s;
				fb_span_end(start); /* QEMU is up: its control socket answers */
				start = NULL;
			} else if (s >= 0) {
				close(s);
			}
		}
		if (g_stop && !stop_sent) {
			/* through fb-init: the image's STOPSIGNAL, then SIGKILL */
			if (ctl >= 0 && write(ctl, "stop\n", 5) == 5) {
				stop_at = time(NULL) + v->stop_timeout + 2;
			} else {
				kill(p.pid, SIGTERM);
				stop_at = time(NULL) + 5;
			}
			stop_sent = true;
		}
		if (stop_sent && time(NULL) > stop_at) {
			fb_log(FB_LOG_WARN, "%s: the VM did not stop in %d s: killed", v->id, v->stop_timeout);
			kill(p.pid, SIGKILL);
			stop_at = time(NULL) + 3600;
		}
		struct pollfd pf[2] = { { con, POLLIN, 0 }, { ctl, POLLIN, 0 } };
		if (poll(pf, 2, 100) > 0) {
			if (con >= 0 && (pf[0].revents & (POLLIN | POLLHUP)))
				copy_console(v, &con, con_out, &first);
			if (ctl >= 0 && (pf[1].revents & (POLLIN | POLLHUP)))
				read_ctl(v, &ctl, line, &ll, &code, msg, sizeof(msg));
		}
		if (!saved || boot) {
			jv ws0 = jv_object_get(jv_copy(v->state), jv_string("workload_started"));
			if (jv_get_kind(ws0) == JV_KIND_TRUE) {
				if (!saved)
					save_state(v);
				saved = true;
				fb_span_end(boot); /* fb-init started the workload */
				boot = NULL;
			}
			jv_free(ws0);
		}
	}
	if (boot)
		fb_span_error(boot, "the guest ended before its workload started");
	fb_span_end(start);
	fb_span_end(boot);
	fb_span_end(first);
	first = NULL;
	/* the console's last lines, then what fb-init said just before the end */
	while (con >= 0 && copy_console(v, &con, con_out, &first) > 0)
		;
	if (con >= 0)
		close(con);
	con = -1;
	if (ctl >= 0) {
		fcntl(ctl, F_SETFL, O_NONBLOCK);
		while (read_ctl(v, &ctl, line, &ll, &code, msg, sizeof(msg)) == 0)
			;
		if (ctl >= 0)
			close(ctl);
	}
	jv ws = jv_object_get(jv_copy(v->state), jv_string("workload_started"));
	bool started = jv_get_kind(ws) == JV_KIND_TRUE;
	jv_free(ws);
	if (kvm && code < 0 && !started && !g_stop && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		/* /dev/kvm is there but may not run a guest (nested, or an
		 * unsupported CPU): try TCG; if that gets the guest going, say so
		 * once and remember it */
		fb_status_describe(status, kvm_how, sizeof(kvm_how));
		unlink(v->sock);
		kvm = NULL;
		msg[0] = '\0';
		goto again;
	}
	if (kvm_how[0] && started) {
		fb_log(FB_LOG_WARN, "%s: QEMU with KVM failed before the guest started (%s) and TCG works: TCG from now on (%s)",
		       v->id, kvm_how, v->kvm_broken);
		struct fb_err e = { 0 };
		fb_write_file_atomic(v->kvm_broken, kvm_how, strlen(kvm_how), 0644, &e);
	}
	int rc = finish_state(v, code, status, msg, sizeof(msg), "QEMU");
	fb_span_set_int(run, "vm.exit_code", rc);
	fb_span_end(run);
	if (v->daemon && con_out >= 0)
		close(con_out);
	return rc;
fail:
	fb_span_end(first);
	fb_span_end(start);
	fb_span_end(boot);
	fb_span_error(run, err->msg);
	fb_span_end(run);
	if (v->daemon && con_out >= 0)
		close(con_out);
	return -1;
}

static void push(struct fb_strv *q, const char *s)
{
	fb_strv_push(q, s);
}

/* The QEMU command line; kvm gets the KVM variant when it is worth a try. */
static int qemu_argv(struct vm *v, jv spec, struct fb_strv *tcg, struct fb_strv *kvm, struct fb_err *err)
{
	char *kernel = NULL, *rootfs = NULL, *drive = NULL, *kargs = NULL;
	long long cpu = 1, mem = 128;
	int r = 0;
	if (fb_json_get_str(spec, "kernel", &kernel, err) < 0 || fb_json_get_str(spec, "rootfs", &rootfs, err) < 0 ||
	    fb_json_get_str(spec, "config_drive", &drive, err) < 0 || fb_json_get_str_opt(spec, "kernel_args", &kargs, err) < 0 ||
	    fb_json_get_int_opt(spec, "cpu", &cpu, err) < 0 || fb_json_get_int_opt(spec, "mem", &mem, err) < 0)
		r = -1;
	if (r == 0 && (cpu < 1 || cpu > 64 || mem < 32))
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "vm: cpu 1-64 and mem (MiB) 32 or more");
	/* Firecracker's machine settings: one line each on why QEMU has none */
	jv tm = jv_object_get(jv_copy(spec), jv_string("cpu_template")), smt = jv_object_get(jv_copy(spec), jv_string("smt"));
	jv lc = jv_object_get(jv_copy(spec), jv_string("log_api_calls"));
	if (jv_get_kind(tm) == JV_KIND_STRING)
		fb_warn("--cpu-template %s: ignored: CPU templates are Firecracker's; QEMU runs its default CPU model",
			jv_string_value(tm));
	if (jv_get_kind(smt) == JV_KIND_TRUE)
		fb_warn("--ht-enabled: ignored: QEMU's microvm gets one thread a vCPU here");
	if (jv_get_kind(lc) == JV_KIND_TRUE)
		fb_warn("--log-firecracker-http-calls: ignored: QEMU has no Firecracker API (--vmm=firecracker)");
	jv_free(tm);
	jv_free(smt);
	jv_free(lc);
	if (r == 0) {
		push(tcg, v->jail ? "/usr/bin/qemu-system-x86_64" : "qemu-system-x86_64");
		if (v->jail) {
			/* seccomp in QEMU too, inside the jail */
			push(tcg, "-sandbox");
			push(tcg, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
		}
		push(tcg, "-M");
		push(tcg, "microvm,acpi=off,x-option-roms=off");
		push(tcg, "-m");
		fb_strv_push_owned(tcg, fb_xasprintf("%lld", mem));
		push(tcg, "-smp");
		fb_strv_push_owned(tcg, fb_xasprintf("%lld", cpu));
		push(tcg, "-no-user-config");
		push(tcg, "-nodefaults");
		push(tcg, "-display");
		push(tcg, "none");
		push(tcg, "-no-reboot");
		push(tcg, "-kernel");
		push(tcg, kernel);
		push(tcg, "-append");
		fb_strv_push_owned(tcg, fb_xasprintf("console=ttyS0 root=/dev/vda rw init=/sbin/fb-init panic=-1 reboot=t quiet %s",
						     kargs ? kargs : ""));
		push(tcg, "-chardev");
		push(tcg, "stdio,id=con,signal=off");
		push(tcg, "-serial");
		push(tcg, "chardev:con");
		push(tcg, "-drive");
		fb_strv_push_owned(tcg, fb_xasprintf("id=root,file=%s,format=raw,if=none,cache=unsafe", rootfs));
		push(tcg, "-device");
		push(tcg, "virtio-blk-device,drive=root");
		push(tcg, "-drive");
		fb_strv_push_owned(tcg, fb_xasprintf("id=cfg,file=%s,format=raw,if=none,readonly=on", drive));
		push(tcg, "-device");
		push(tcg, "virtio-blk-device,drive=cfg");
		push(tcg, "-device");
		push(tcg, "virtio-serial-device");
		push(tcg, "-chardev");
		fb_strv_push_owned(tcg, fb_xasprintf("socket,id=ctl,path=%s,server=on,wait=off", v->sock_arg ? v->sock_arg : v->sock));
		push(tcg, "-device");
		push(tcg, "virtserialport,chardev=ctl,name=fb.ctl");
		jv net = jv_object_get(jv_copy(spec), jv_string("network"));
		if (jv_get_kind(net) == JV_KIND_OBJECT) {
			jv tap = jv_object_get(jv_copy(net), jv_string("tap"));
			jv mac = jv_getpath(jv_copy(net), jv_parse("[\"interfaces\",0,\"mac\"]"));
			if (jv_get_kind(tap) == JV_KIND_STRING && jv_get_kind(mac) == JV_KIND_STRING) {
				push(tcg, "-netdev");
				fb_strv_push_owned(tcg, fb_xasprintf("tap,id=n0,ifname=%s,script=no,downscript=no", jv_string_value(tap)));
				push(tcg, "-device");
				fb_strv_push_owned(tcg, fb_xasprintf("virtio-net-device,netdev=n0,mac=%s", jv_string_value(mac)));
			} else {
				r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "vm.network: no tap (tc-redirect-tap in the chain) or no MAC");
			}
			jv_free(tap);
			jv_free(mac);
		}
		jv_free(net);
		/* FB_ACCEL=tcg or kvm overrides the choice */
		const char *accel = getenv("FB_ACCEL");
		bool try_kvm = access("/dev/kvm", R_OK | W_OK) == 0 && !(accel && !strcmp(accel, "tcg")) &&
			       (access(v->kvm_broken, F_OK) != 0 || (accel && !strcmp(accel, "kvm")));
		if (try_kvm) {
			for (size_t i = 0; i < tcg->n; i++)
				push(kvm, tcg->v[i]);
			push(kvm, "-accel");
			push(kvm, "kvm");
			push(kvm, "-cpu");
			push(kvm, "host");
		}
		push(tcg, "-accel");
		push(tcg, "tcg");
		v->state = jv_object_set(v->state, jv_string("kernel"), jv_string(kernel));
		v->state = jv_object_set(v->state, jv_string("rootfs"), jv_string(rootfs));
		v->state = jv_object_set(v->state, jv_string("config_drive"), jv_string(drive));
		v->state = jv_object_set(v->state, jv_string("cpu"), jv_number((double)cpu));
		v->state = jv_object_set(v->state, jv_string("mem"), jv_number((double)mem));
	}
	free(kernel);
	free(rootfs);
	free(drive);
	free(kargs);
	return r;
}

/* .network in the original firebuild's inspect shape (firecracker-go-sdk's
 * NetworkInterfaces), so `jq .NetworkInterfaces[0].StaticConfiguration
 * .IPConfiguration.IP` works as its README says. */
static jv seed_interfaces(jv net)
{
	jv out = jv_array();
	jv ifs = jv_object_get(jv_copy(net), jv_string("interfaces")), tap = jv_object_get(jv_copy(net), jv_string("tap"));
	jv dns = jv_object_get(jv_copy(net), jv_string("dns")), name = jv_object_get(net, jv_string("name"));
	if (jv_get_kind(ifs) == JV_KIND_ARRAY)
		jv_array_foreach(ifs, i, it)
		{
			jv ip = jv_object_get(jv_copy(it), jv_string("ip"));
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
			ipc = jv_object_set(ipc, jv_string("Gateway"), jv_object_get(jv_copy(it), jv_string("gateway")));
			ipc = jv_object_set(ipc, jv_string("Nameservers"), jv_copy(dns));
			ipc = jv_object_set(ipc, jv_string("IfName"), jv_object_get(jv_copy(it), jv_string("name")));
			jv sc = jv_object_set(jv_object(), jv_string("MacAddress"), jv_object_get(jv_copy(it), jv_string("mac")));
			sc = jv_object_set(sc, jv_string("HostDevName"), jv_copy(tap));
			sc = jv_object_set(sc, jv_string("IPConfiguration"), ipc);
			jv cni = jv_object_set(jv_object(), jv_string("NetworkName"), jv_copy(name));
			cni = jv_object_set(cni, jv_string("IfName"), jv_object_get(jv_copy(it), jv_string("name")));
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


/* ---- the Firecracker backend ---- */

/* Scan the console for fb-init's last words (Firecracker has no control
 * port: the serial console is where the exit code comes back). */
static void scan_console(const char *line, int *code, char *msg, size_t msglen)
{
	const char *p;
	if ((p = strstr(line, "fb-init: workload exited with ")))
		*code = atoi(p + 30);
	else if ((p = strstr(line, "fb-init: error: ")))
		snprintf(msg, msglen, "%.500s", p + 16);
}

static int supervise_fc(struct vm *v, jv spec, const char *binary, struct fb_err *err)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* jailed: the socket and the files are in the jail's /run */
	const char *where = v->jail ? v->jail->root : v->dir;
	const char *sub = v->jail ? "/run" : "";
	char *sock = fb_xasprintf("%s%s/fc.sock", where, sub), *logp = fb_xasprintf("%s%s/firecracker.log", where, sub);
	char *metp = fb_xasprintf("%s%s/firecracker.metrics", where, sub);
	char *kernel = NULL, *rootfs = NULL, *drive = NULL, *kargs = NULL;
	long long cpu = 1, mem = 128;
	int ret = 0;
	if (fb_json_get_str(spec, "kernel", &kernel, err) < 0 || fb_json_get_str(spec, "rootfs", &rootfs, err) < 0 ||
	    fb_json_get_str(spec, "config_drive", &drive, err) < 0 || fb_json_get_str_opt(spec, "kernel_args", &kargs, err) < 0 ||
	    fb_json_get_int_opt(spec, "cpu", &cpu, err) < 0 || fb_json_get_int_opt(spec, "mem", &mem, err) < 0)
		ret = -1;
	struct fb_err fe = { 0 };
	if (ret == 0 && (fb_write_file_atomic(logp, "", 0, 0600, &fe) < 0 || fb_write_file_atomic(metp, "", 0, 0600, &fe) < 0))
		ret = fb_err_set(err, fe.code, fe.kind, "%s", fe.msg);
	if (ret == 0 && v->jail && (chown(logp, v->jail->uid, v->jail->gid) < 0 || chown(metp, v->jail->uid, v->jail->gid) < 0))
		ret = fb_err_errno(err, errno, "%s", logp);
	struct fb_proc p = { .pid = -1, .out_fd = -1 };
	struct fb_span *run = fb_span_begin("vm");
	fb_span_set(run, "vm.id", v->id);
	fb_span_set(run, "vm.backend", "firecracker");
	struct fb_span *start = fb_span_begin("vmm start"), *first = NULL;
	if (ret == 0 && v->jail) {
		char *argv[] = { (char *)binary, "--api-sock", "/run/fc.sock", "--id", v->id, NULL };
		int pfd[2];
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			ret = fb_err_errno(err, errno, "pipe");
		} else {
			p.pid = fb_jail_spawn(v->jail, argv, pfd[1], !v->daemon, err);
			close(pfd[1]);
			p.out_fd = pfd[0];
			if (p.pid < 0) {
				close(pfd[0]);
				ret = -1;
			}
		}
	} else if (ret == 0) {
		char *argv[] = { (char *)binary, "--api-sock", sock, "--id", v->id, NULL };
		struct fb_spawn_opts so = { .null_stdin = v->daemon, .pipe_stdout = true };
		unlink(sock);
		ret = fb_proc_spawn(argv, &so, &p, err);
	}
	for (int i = 0; ret == 0 && i < 100 && access(sock, F_OK) != 0; i++)
		usleep(50000);
	jv net = jv_object_get(jv_copy(spec), jv_string("network"));
	bool has_net = jv_get_kind(net) == JV_KIND_OBJECT;
	jv tap = has_net ? jv_object_get(jv_copy(net), jv_string("tap")) : jv_null();
	jv mac = has_net ? jv_getpath(jv_copy(net), jv_parse("[\"interfaces\",0,\"mac\"]")) : jv_null();
	char *args = fb_xasprintf("console=ttyS0 noapic reboot=k panic=1 pci=off nomodules rw root=/dev/vda init=/sbin/fb-init %s",
				  kargs ? kargs : "");
	char *tmpl = NULL;
	fb_json_get_str_opt(spec, "cpu_template", &tmpl, err);
	jv smt = jv_object_get(jv_copy(spec), jv_string("smt")), logc = jv_object_get(jv_copy(spec), jv_string("log_api_calls"));
	jv mmds = jv_object_get(jv_copy(spec), jv_string("mmds"));
	struct fb_fc_config fc = { .sock = sock, .log_path = v->jail ? "/run/firecracker.log" : logp,
				   .metrics_path = v->jail ? "/run/firecracker.metrics" : metp, .cpu = (int)cpu, .mem = (int)mem,
				   .kernel = kernel, .boot_args = args, .rootfs = rootfs, .config_drive = drive,
				   .tap = jv_get_kind(tap) == JV_KIND_STRING ? jv_string_value(tap) : NULL,
				   .mac = jv_get_kind(mac) == JV_KIND_STRING ? jv_string_value(mac) : NULL,
				   .cpu_template = tmpl, .smt = jv_get_kind(smt) == JV_KIND_TRUE,
				   .log_calls = jv_get_kind(logc) == JV_KIND_TRUE,
				   .mmds = jv_get_kind(mmds) == JV_KIND_OBJECT ? mmds : jv_invalid() };
	if (ret == 0 && jv_get_kind(mmds) == JV_KIND_OBJECT && !fc.tap)
		fb_debug("MMDS not published: the VM has no network interface to serve it on");
	if (ret == 0 && fb_fc_configure(&fc, err) < 0)
		ret = -1;
	if (ret < 0)
		fb_span_error(start, err->msg);
	fb_span_end(start); /* configured and InstanceStart answered */
	first = ret == 0 ? fb_span_begin_under(run, "first guest line") : NULL;
	free(tmpl);
	jv_free(smt);
	jv_free(logc);
	jv_free(mmds);
	jv_free(net);
	jv_free(tap);
	jv_free(mac);
	free(args);
	if (ret < 0) {
		if (p.pid > 0) {
			kill(p.pid, SIGKILL);
			waitpid(p.pid, NULL, 0);
		}
		goto out;
	}
	v->state = jv_object_set(v->state, jv_string("backend"), jv_string("firecracker"));
	v->state = jv_object_set(v->state, jv_string("api_socket"), jv_string(sock));
	v->state = jv_object_set(v->state, jv_string("pid"), jv_number(p.pid));
	v->state = jv_object_set(v->state, jv_string("supervisor_pid"), jv_number(getpid()));
	v->state = jv_object_set(v->state, jv_string("status"), jv_string("running"));
	save_state(v);
	int out_fd = v->daemon ? open(v->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : 1;
	int code = -1, status = 0;
	char msg[512] = "", line[2048];
	size_t ll = 0;
	bool stop_sent = false;
	time_t stop_at = 0;
	for (;;) {
		if (g_stop && !stop_sent) {
			struct fb_err se = { 0 };
			if (fb_fc_ctrl_alt_del(sock, &se) < 0)
				kill(p.pid, SIGTERM);
			stop_sent = true;
			stop_at = time(NULL) + v->stop_timeout + 2;
		}
		if (stop_sent && time(NULL) > stop_at) {
			fb_log(FB_LOG_WARN, "%s: the VM did not stop in %d s: killed", v->id, v->stop_timeout);
			kill(p.pid, SIGKILL);
			stop_at = time(NULL) + 3600;
		}
		struct pollfd pf = { p.out_fd, POLLIN, 0 };
		if (poll(&pf, 1, 100) > 0) {
			ssize_t n = read(p.out_fd, line + ll, sizeof(line) - 1 - ll);
			if (n > 0) {
				fb_span_end(first);
				first = NULL;
				if (out_fd >= 0 && write(out_fd, line + ll, (size_t)n) < 0) {
					/* the console is lost, the VM goes on */
				}
				ll += (size_t)n;
				line[ll] = '\0';
				char *nl;
				while ((nl = strchr(line, '\n'))) {
					*nl = '\0';
					scan_console(line, &code, msg, sizeof(msg));
					size_t rest = ll - (size_t)(nl + 1 - line);
					memmove(line, nl + 1, rest + 1);
					ll = rest;
				}
				if (ll >= sizeof(line) - 1)
					ll = 0;
				continue;
			}
		}
		if (waitpid(p.pid, &status, WNOHANG) == p.pid)
			break;
	}
	if (ll) {
		line[ll] = '\0';
		scan_console(line, &code, msg, sizeof(msg));
	}
	close(p.out_fd);
	if (v->daemon && out_fd >= 0)
		close(out_fd);
	ret = finish_state(v, code, status, msg, sizeof(msg), "firecracker");
	fb_span_set_int(run, "vm.exit_code", ret);
out:
	fb_span_end(first);
	fb_span_end(run);
	free(sock);
	free(logp);
	free(metp);
	free(kernel);
	free(rootfs);
	free(drive);
	free(kargs);
	return ret;
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
	struct fb_jail_opts o = { .base = base, .vmm = vmm, .id = v->id, .uid = (uid_t)uid, .gid = (gid_t)gid,
				  .cpu = (int)cpu, .mem = (int)mem, .cgroup_settings = cg, .numa_node = (int)numa };
	int r = fb_jail_prepare(&o, j, err);
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
	if (spec_path ? fb_json_load(spec_path, &doc, err) < 0 : fb_json_read_fd(0, &doc, err) < 0)
		return fb_tool_fail(err);
	if (fb_json_is_error_doc(doc))
		return fb_tool_pass_error(doc);
	jv spec = jv_object_get(doc, jv_string("vm"));
	struct vm v = { .state = jv_object() };
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
		rc = fc ? supervise_fc(&v, spec, fc, err) : supervise(&v, k, tcg.v, err);
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
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
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
				supervise(&v, k, tcg.v, &e);
			back_to_host(&host_ns);
			if (v.jail)
				fb_jail_remove(v.jail);
			fb_trace_finish();
			_exit(0);
		}
		waitpid(pid, NULL, 0);
		back_to_host(&host_ns);
		/* the supervisor has written the running state once QEMU started */
		jv st = jv_invalid();
		for (int i = 0; i < 100; i++) {
			struct fb_err e = { 0 };
			if (fb_json_load(v.state_path, &st, &e) == 0 && fb_vm_num(st, "pid") > 0)
				break;
			if (jv_is_valid(st)) {
				jv_free(st);
				st = jv_invalid();
			}
			usleep(50000);
		}
		if (jv_is_valid(st)) {
			daemon_line(st);
			rc = fb_tool_finish(jv_object_set(jv_object(), jv_string("vm"), st));
		} else {
			fb_err_set(err, FB_EXIT_FAILED, "start", "%s: the VM did not start (see %s)", v.id, v.console);
			rc = fb_tool_fail(err);
		}
	}
	fb_strv_free(&tcg);
	fb_strv_free(&kvm);
	free(fc);
	if (v.jail && (!v.daemon || rc != 0)) {
		fb_jail_remove(v.jail);
		fb_jail_free(v.jail);
	}
out:
	back_to_host(&host_ns);
	/* a VM that never started leaves nothing behind */
	if (rc != 0 && v.dir && v.state_path && access(v.state_path, F_OK) != 0)
		fb_tree_remove(v.dir);
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
		default: return FB_EXIT_USAGE;
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
	jv ex = jv_object_get(jv_copy(final), jv_string("exit_code"));
	jv id = jv_object_get(final, jv_string("id"));
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
