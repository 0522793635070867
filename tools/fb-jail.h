/* fb-jail's pieces: the VM being supervised, its state, and the two
 * backends (fb-jail-qemu.c, fb-jail-fc.c). */
#ifndef FB_JAIL_TOOL_H
#define FB_JAIL_TOOL_H
#include <signal.h>
#include <stdbool.h>
#include <jv.h>
#include <stddef.h>

#include "util.h"

struct fb_err;
struct fb_jail;

#define SOCK_MAX 107 /* sun_path, less its NUL */

struct vm {
	char *id, *dir, *state_path, *sock, *console, *kvm_broken;
	jv state;
	bool daemon;
	int stop_timeout;
	struct fb_jail *jail; /* NULL: not jailed */
	char *sock_arg;       /* the control socket as QEMU sees it */
	int lock_fd;          /* the run directory's lock, held until the VMM runs */
	int ready_fd;         /* daemonized: tells the starting process "R" (it
			       * runs) or "E" and why not; -1 once told */
};

/* What both backends read from the spec. */
struct machine {
	char *kernel, *rootfs, *drive, *kargs;
	long long cpu, mem;
};
int read_machine(jv spec, struct machine *m, struct fb_err *err);
void machine_free(struct machine *m);
/* SIGTERM, SIGINT and SIGHUP ask for a stop (g_stop); SIGPIPE is ignored. */
void stop_on_signals(void);

/* the signal that asks for a stop (SIGTERM, SIGINT, SIGHUP), or 0 */
extern volatile sig_atomic_t g_stop;
void on_stop(int sig);
/* state.json; once it names the VMM's pid, the start is over: the run
 * directory's lock goes, and a daemonized start is told. */
void save_state(struct vm *v);
/* The end of a VM in its state: the workload's code, or 125 and why. */
int finish_state(struct vm *v, int code, int status, char *msg, size_t msglen, const char *vmm);

/* fb-jail-qemu.c: the command line (kvm gets the KVM variant when it is
 * worth a try), and QEMU run until it ends: the workload's code. */
int qemu_argv(struct vm *v, jv spec, struct fb_strv *tcg, struct fb_strv *kvm, struct fb_err *err);
int supervise_qemu(struct vm *v, char **kvm, char **tcg, struct fb_err *err);
/* fb-jail-fc.c: Firecracker configured through its API and run until it ends. */
int supervise_fc(struct vm *v, jv spec, const char *binary, struct fb_err *err);
#endif
