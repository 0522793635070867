/* fb-jail's Firecracker backend: the binary started (jailed or not), its
 * API configured over the socket (lib/firecracker.c), the console scanned
 * for fb-init's last words, SendCtrlAltDel to stop. */
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
#include "mmds.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "tree.h"
#include "util.h"
#include "vm.h"

#include "fb-jail.h"

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

int supervise_fc(struct vm *v, const struct fb_vm_spec *m, const char *binary, struct fb_err *err)
{
	stop_on_signals();
	/* jailed: the socket and the files are in the jail's /run */
	const char *where = v->jail ? v->jail->root : v->dir;
	const char *sub = v->jail ? "/run" : "";
	char *sock = fb_xasprintf("%s%s/fc.sock", where, sub), *logp = fb_xasprintf("%s%s/firecracker.log", where, sub);
	char *metp = fb_xasprintf("%s%s/firecracker.metrics", where, sub);
	int ret = 0;
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
		struct fb_spawn_opts so = { .null_stdin = v->daemon, .pipe_stdout = true, .death_signal = SIGKILL };
		unlink(sock);
		ret = fb_proc_spawn(argv, &so, &p, err);
	}
	for (int i = 0; ret == 0 && i < 100 && access(sock, F_OK) != 0; i++)
		usleep(50000);
	char *args = fb_xasprintf("console=ttyS0 noapic reboot=k panic=1 pci=off nomodules rw root=/dev/vda init=/sbin/fb-init "
				  FB_KARGS_ALL " %s",
				  m->kernel_args ? m->kernel_args : "");
	const struct fb_network *net = m->network;
	/* the metadata: the spec's object as it is, or the VM's own */
	char *mmds = m->mmds == FB_MMDS_GIVEN ? fb_xstrdup(m->mmds_json)
		     : m->mmds == FB_MMDS_VM ? fb_mmds_vm_json(m->id, m->image, m->config ? m->config->hostname : NULL, net,
							       m->config ? m->config->ssh : NULL)
					     : NULL;
	struct fb_fc_config fc = { .sock = sock, .log_path = v->jail ? "/run/firecracker.log" : logp,
				   .metrics_path = v->jail ? "/run/firecracker.metrics" : metp, .cpu = (int)m->cpu, .mem = (int)m->mem,
				   .kernel = m->kernel, .boot_args = args, .rootfs = m->rootfs, .config_drive = m->config_drive,
				   .tap = net ? net->tap : NULL, .mac = net && net->nifs ? net->ifs[0].mac : NULL,
				   .cpu_template = m->cpu_template, .smt = m->smt, .log_calls = m->log_api_calls, .mmds_json = mmds };
	if (ret == 0 && mmds && !fc.tap)
		fb_debug("MMDS not published: the VM has no network interface to serve it on");
	if (ret == 0 && fb_fc_configure(&fc, err) < 0)
		ret = -1;
	if (ret < 0)
		fb_span_error(start, err->msg);
	fb_span_end(start); /* configured and InstanceStart answered */
	first = ret == 0 ? fb_span_begin_under(run, "first guest line") : NULL;
	free(mmds);
	free(args);
	if (ret < 0) {
		if (p.pid > 0) {
			kill(p.pid, SIGKILL);
			waitpid(p.pid, NULL, 0);
		}
		goto out;
	}
	set_str(&v->state.backend, "firecracker");
	set_str(&v->state.api_socket, sock);
	v->state.pid = p.pid;
	v->state.supervisor_pid = getpid();
	set_str(&v->state.status, "running");
	save_state(v, false);
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
	return ret;
}
