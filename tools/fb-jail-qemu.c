/* fb-jail's QEMU backend: -M microvm with the root drive, the config drive
 * and the control port (COM2, an 8250 port) of docs/config-drive.md; KVM when it
 * really runs a guest here (tried, and remembered when it does not), TCG
 * otherwise. The console comes through a pipe the supervisor drains. */
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
#include "log.h"
#include "proc.h"
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "tree.h"
#include "util.h"
#include "vm.h"

#include "fb-jail.h"

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
			v->state.workload_started = true;
		size_t rest = *ll - (size_t)(nl + 1 - line);
		memmove(line, nl + 1, rest + 1);
		*ll = rest;
	}
	if (*ll >= 1023)
		*ll = 0;
	return 0;
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

/* QEMU's stderr while KVM is on trial: held back until the guest runs, so
 * that a KVM which cannot run this guest costs one warning, not QEMU's
 * register dump. Nested KVM without VMX (a microVM inside a microVM) makes
 * QEMU print "emulation failure" and pause the guest for ever instead of
 * exiting: seen on a line, QEMU is killed and TCG takes over. */
struct kvm_trial {
	int fd;		/* read end of QEMU's stderr, or -1 */
	struct fb_buf held;
	bool on_trial;	/* still holding back */
	bool failed;
};

static void kvm_trial_flush(struct kvm_trial *t)
{
	if (t->held.len && write(2, t->held.data, t->held.len) < 0) {
		/* nobody reads our stderr */
	}
	fb_buf_reset(&t->held);
	t->on_trial = false;
}

/* One read of QEMU's stderr; true when KVM showed it cannot run the guest. */
static bool kvm_trial_read(struct kvm_trial *t)
{
	char buf[4096];
	ssize_t n = read(t->fd, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(t->fd);
			t->fd = -1;
		}
		return false;
	}
	if (!t->on_trial) {
		if (write(2, buf, (size_t)n) < 0) {
			/* nobody reads our stderr */
		}
		return false;
	}
	if (t->held.len < (64 << 10))
		fb_buf_add(&t->held, buf, (size_t)n);
	static const char *const marks[] = { "emulation failure", "KVM internal error", "KVM: entry failed",
					     "kvm run failed" };
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (t->held.data && strstr(t->held.data, marks[i]))
			return t->failed = true;
	return false;
}

/* Run QEMU until it ends; the workload's code (or 125 and why). */
int supervise_qemu(struct vm *v, char **kvm, char **tcg, struct fb_err *err)
{
	stop_on_signals();
	struct fb_proc p;
	char kvm_how[64] = "";
	struct fb_span *run = NULL, *start = NULL, *boot = NULL, *first = NULL;
	int con_out = v->daemon ? open(v->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : 1;
	int con = -1;
	struct kvm_trial trial = { .fd = -1 };
again:
	set_str(&v->state.accel, kvm ? "kvm" : "tcg");
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
	/* on KVM, QEMU's stderr comes through us (struct kvm_trial): ours is
	 * swapped for a pipe's while QEMU is started, nothing logs meanwhile */
	int saved_err = -1, ep[2] = { -1, -1 };
	if (kvm && pipe2(ep, O_CLOEXEC) == 0) {
		saved_err = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if (saved_err < 0 || dup2(ep[1], 2) < 0) {
			close(ep[0]);
			ep[0] = -1;
		}
		close(ep[1]);
	}
	int spawned;
	if (v->jail) {
		p.pid = fb_jail_spawn(v->jail, kvm ? kvm : tcg, cp[1], !v->daemon, err);
		spawned = p.pid < 0 ? -1 : 0;
		close(cp[1]);
		if (p.pid < 0)
			close(cp[0]);
	} else {
		struct fb_spawn_opts so = { .null_stdin = v->daemon, .pipe_stdout = true, .death_signal = SIGKILL };
		close(cp[0]);
		close(cp[1]);
		spawned = fb_proc_spawn(kvm ? kvm : tcg, &so, &p, err);
		cp[0] = spawned < 0 ? -1 : p.out_fd;
	}
	if (saved_err >= 0) {
		dup2(saved_err, 2);
		close(saved_err);
	}
	fb_buf_free(&trial.held); /* what a KVM try held, on the way to TCG */
	trial = (struct kvm_trial){ .fd = ep[0], .on_trial = ep[0] >= 0 };
	if (trial.fd >= 0)
		fcntl(trial.fd, F_SETFL, O_NONBLOCK);
	if (spawned < 0) {
		if (trial.fd >= 0)
			close(trial.fd);
		goto fail;
	}
	con = cp[0];
	fcntl(con, F_SETFL, O_NONBLOCK);
	v->state.pid = p.pid;
	v->state.supervisor_pid = getpid();
	set_str(&v->state.status, "running");
	/* with KVM on trial, the state is told once the guest runs (a KVM that
	 * cannot run it is replaced by TCG, with another pid) */
	bool saved = !kvm;
	if (saved)
		save_state(v, false);
	int ctl = -1, code = -1, status = 0;
	/* QEMU's end wakes the loop (with console and control port closed,
	 * nothing else would until the poll's timeout) */
	int pidfd = fb_proc_pidfd(p.pid);
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
		if (g_stop && !stop_sent && ctl != -2 && !v->state.workload_started) {
			/* fb-init opens its control port (COM2) once the workload
			 * runs, and the 8250's open clears what came before it: a
			 * "stop" sent now would be lost (a virtio-serial port held
			 * it for fb-init). Nor is a SIGTERM to a QEMU just started
			 * sure to count: the init of the jail's PID namespace, it
			 * does not get one before its handler is there. The stop
			 * waits for "started", as long as a stop would take. */
			if (!stop_at)
				stop_at = time(NULL) + v->stop_timeout + 2;
		} else if (g_stop && !stop_sent) {
			/* through fb-init: the image's STOPSIGNAL, then SIGKILL */
			if (ctl >= 0 && write(ctl, "stop\n", 5) == 5) {
				stop_at = time(NULL) + v->stop_timeout + 2;
			} else {
				kill(p.pid, SIGTERM);
				stop_at = time(NULL) + 5;
			}
			stop_sent = true;
		}
		if (stop_at && time(NULL) > stop_at) {
			fb_log(FB_LOG_WARN, "%s: the VM did not stop in %d s: killed", v->id, v->stop_timeout);
			kill(p.pid, SIGKILL);
			stop_at = time(NULL) + 3600;
		}
		struct pollfd pf[4] = { { con, POLLIN, 0 }, { ctl, POLLIN, 0 }, { trial.fd, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
		/* until QEMU's control socket answers, it is tried every 10 ms */
		if (poll(pf, 4, ctl == -1 ? 10 : 100) > 0) {
			if (con >= 0 && (pf[0].revents & (POLLIN | POLLHUP)))
				copy_console(v, &con, con_out, &first);
			if (ctl >= 0 && (pf[1].revents & (POLLIN | POLLHUP)))
				read_ctl(v, &ctl, line, &ll, &code, msg, sizeof(msg));
			if (trial.fd >= 0 && (pf[2].revents & (POLLIN | POLLHUP)) && kvm_trial_read(&trial) &&
			    !stop_sent)
				kill(p.pid, SIGKILL);
		}
		if (!saved || boot) {
			if (v->state.workload_started) {
				kvm_trial_flush(&trial);
				if (!saved)
					save_state(v, false);
				saved = true;
				fb_span_end(boot); /* fb-init started the workload */
				boot = NULL;
			}
		}
	}
	if (pidfd >= 0)
		close(pidfd);
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
	bool started = v->state.workload_started;
	while (trial.fd >= 0 && !trial.failed)
		kvm_trial_read(&trial);
	if (trial.fd >= 0)
		close(trial.fd);
	trial.fd = -1;
	if (trial.failed && !started) {
		fb_buf_reset(&trial.held); /* QEMU's register dump: one warning says it all */
		snprintf(kvm_how, sizeof(kvm_how), "KVM emulation failure");
	}
	kvm_trial_flush(&trial);
	if (kvm && code < 0 && !started && !g_stop && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		/* /dev/kvm is there but may not run a guest (nested, or an
		 * unsupported CPU): try TCG; if that gets the guest going, say so
		 * once and remember it */
		if (!trial.failed)
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
		/* a note for the next VM; without it that one tries KVM again */
		FB_IGNORE(fb_write_file_atomic(v->kvm_broken, kvm_how, strlen(kvm_how), 0644, &e));
	}
	fb_buf_free(&trial.held);
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
int qemu_argv(struct vm *v, const struct fb_vm_spec *m, struct fb_strv *tcg, struct fb_strv *kvm, struct fb_err *err)
{
	/* Firecracker's machine settings: one line each on why QEMU has none */
	if (m->cpu_template)
		fb_warn("--cpu-template %s: ignored: CPU templates are Firecracker's; QEMU runs its default CPU model",
			m->cpu_template);
	if (m->smt)
		fb_warn("--ht-enabled: ignored: QEMU's microvm gets one thread a vCPU here");
	if (m->log_api_calls)
		fb_warn("--log-firecracker-http-calls: ignored: QEMU has no Firecracker API (--vmm=firecracker)");
	push(tcg, v->jail ? "/usr/bin/qemu-system-x86_64" : "qemu-system-x86_64");
	if (v->jail) {
		/* seccomp in QEMU too, inside the jail */
		push(tcg, "-sandbox");
		push(tcg, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	}
	push(tcg, "-M");
	push(tcg, "microvm,acpi=off,x-option-roms=off");
	push(tcg, "-m");
	fb_strv_push_owned(tcg, fb_xasprintf("%lld", m->mem));
	push(tcg, "-smp");
	fb_strv_push_owned(tcg, fb_xasprintf("%lld", m->cpu));
	push(tcg, "-no-user-config");
	push(tcg, "-nodefaults");
	push(tcg, "-display");
	push(tcg, "none");
	push(tcg, "-no-reboot");
	push(tcg, "-kernel");
	push(tcg, m->kernel);
	push(tcg, "-append");
	size_t append = tcg->n; /* the KVM variant's has no FB_KARGS_TCG */
	fb_strv_push_owned(tcg, fb_xasprintf("console=ttyS0 root=/dev/vda rw init=/sbin/fb-init panic=-1 reboot=t quiet "
					     FB_KARGS_PTY " " FB_KARGS_CTL " " FB_KARGS_TCG " %s",
					     m->kernel_args ? m->kernel_args : ""));
	push(tcg, "-chardev");
	push(tcg, "stdio,id=con,signal=off");
	push(tcg, "-serial");
	push(tcg, "chardev:con");
	push(tcg, "-drive");
	fb_strv_push_owned(tcg, fb_xasprintf("id=root,file=%s,format=raw,if=none,cache=unsafe", m->rootfs));
	push(tcg, "-device");
	push(tcg, "virtio-blk-device,drive=root");
	push(tcg, "-drive");
	fb_strv_push_owned(tcg, fb_xasprintf("id=cfg,file=%s,format=raw,if=none,readonly=on", m->config_drive));
	push(tcg, "-device");
	push(tcg, "virtio-blk-device,drive=cfg");
	/* the control port: COM2 (fb_ctl=ttyS1 tells fb-init) */
	push(tcg, "-chardev");
	fb_strv_push_owned(tcg, fb_xasprintf("socket,id=ctl,path=%s,server=on,wait=off", v->sock_arg ? v->sock_arg : v->sock));
	push(tcg, "-device");
	push(tcg, "isa-serial,chardev=ctl,iobase=0x2f8,irq=3");
	if (m->network) {
		const char *mac = m->network->nifs ? m->network->ifs[0].mac : NULL;
		if (!m->network->tap || !mac)
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "vm.network: no tap (tc-redirect-tap in the chain) or no MAC");
		push(tcg, "-netdev");
		fb_strv_push_owned(tcg, fb_xasprintf("tap,id=n0,ifname=%s,script=no,downscript=no", m->network->tap));
		push(tcg, "-device");
		fb_strv_push_owned(tcg, fb_xasprintf("virtio-net-device,netdev=n0,mac=%s", mac));
	}
	/* FB_ACCEL=tcg or kvm overrides the choice */
	const char *accel = getenv("FB_ACCEL");
	bool try_kvm = access("/dev/kvm", R_OK | W_OK) == 0 && !(accel && !strcmp(accel, "tcg")) &&
		       (access(v->kvm_broken, F_OK) != 0 || (accel && !strcmp(accel, "kvm")));
	if (try_kvm) {
		for (size_t i = 0; i < tcg->n; i++) {
			if (i == append)
				fb_strv_push_owned(kvm, fb_xasprintf("console=ttyS0 root=/dev/vda rw init=/sbin/fb-init panic=-1 "
								     "reboot=t quiet " FB_KARGS_PTY " " FB_KARGS_CTL " %s",
								     m->kernel_args ? m->kernel_args : ""));
			else
				push(kvm, tcg->v[i]);
		}
		push(kvm, "-accel");
		push(kvm, "kvm");
		push(kvm, "-cpu");
		push(kvm, "host");
	}
	push(tcg, "-accel");
	push(tcg, "tcg");
	set_str(&v->state.kernel, m->kernel);
	set_str(&v->state.rootfs, m->rootfs);
	set_str(&v->state.config_drive, m->config_drive);
	v->state.cpu = m->cpu;
	v->state.mem = m->mem;
	return 0;
}
