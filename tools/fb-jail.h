/* fb-jail's pieces: the VM being supervised, its state, the two backends
 * (fb-jail-qemu.c, fb-jail-fc.c) and prepare (fb-jail-prepare.c). */
#ifndef FB_JAIL_TOOL_H
#define FB_JAIL_TOOL_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "state.h"
#include "util.h"
#include "spec.h"

struct fb_jail;

#define SOCK_MAX 107 /* sun_path, less its NUL */

struct vm {
	char *id, *dir, *state_path, *sock, *console, *kvm_broken;
	struct fb_vm_state state;
	bool daemon;
	bool discarded; /* the run directory goes at the end: no state synced */
	int stop_timeout;
	struct fb_jail *jail; /* NULL: not jailed */
	char *sock_arg;       /* the control socket as QEMU sees it */
	int lock_fd;          /* the run directory's lock, held until the VMM runs */
	int ready_fd;         /* daemonized: tells the starting process "R" (it
			       * runs) or "E" and why not; -1 once told */
};

/* A string member of the state, replaced. */
void set_str(char **member, const char *value);
/* SIGTERM, SIGINT and SIGHUP ask for a stop (g_stop); SIGPIPE is ignored. */
void stop_on_signals(void);

/* the signal that asks for a stop (SIGTERM, SIGINT, SIGHUP), or 0 */
extern volatile sig_atomic_t g_stop;
void on_stop(int sig);
/* state.json; once it names the VMM's pid, the start is over: the run
 * directory's lock goes, and a daemonized start is told. */
void save_state(struct vm *v, bool durable);
/* The end of a VM in its state: the workload's code, or 125 and why. */
int finish_state(struct vm *v, int code, int status, char *msg, size_t msglen, const char *vmm);

/* fb-jail-qemu.c: the command line (kvm gets the KVM variant when it is
 * worth a try), and QEMU run until it ends: the workload's code. */
int qemu_argv(struct vm *v, const struct fb_vm_spec *spec, struct fb_strv *tcg, struct fb_strv *kvm,
	      struct fb_err *err) FB_MUST_CHECK;
int supervise_qemu(struct vm *v, char **kvm, char **tcg, struct fb_err *err) FB_MUST_CHECK;
/* fb-jail-fc.c: Firecracker configured through its API and run until it ends. */
int supervise_fc(struct vm *v, const struct fb_vm_spec *spec, const char *binary, struct fb_err *err) FB_MUST_CHECK;

/* fb-jail-prepare.c: the options of prepare, and prepare itself. */
struct fb_drive_config;
/* "sha256:..." of the /etc/hosts and run-env.sh cfg gives the guest (the
 * text fb-init would write), for prepared->etc; NULL when out of memory. */
char *guest_etc_digest(const struct fb_drive_config *cfg);
enum {
	P_NAME = 0x1100,
	P_RUN_CACHE,
	P_KERNEL,
	P_CPU,
	P_MEM,
	P_KERNEL_ARGS,
	P_HOSTNAME,
	P_ENV,
	P_ENV_FILE,
	P_SSH_USER,
	P_IDENTITY,
	P_DAEMONIZE,
	P_TIMEOUT,
	P_VMM,
	P_FC_BINARY,
	P_CPU_TEMPLATE,
	P_HT,
	P_LOG_CALLS,
	P_NO_MMDS,
	P_NO_JAIL,
	P_CHROOT_BASE,
	P_JAIL_UID,
	P_JAIL_GID,
	P_CGROUP,
	P_NUMA,
	P_LAST,
};
#define PREPARE_LONGOPTS                                                          \
	{ "name", required_argument, NULL, P_NAME },                              \
	{ "run-cache", required_argument, NULL, P_RUN_CACHE },                    \
	{ "kernel", required_argument, NULL, P_KERNEL },                          \
	{ "cpu", required_argument, NULL, P_CPU },                                \
	{ "mem", required_argument, NULL, P_MEM },                                \
	{ "kernel-args", required_argument, NULL, P_KERNEL_ARGS },                \
	{ "hostname", required_argument, NULL, P_HOSTNAME },                      \
	{ "env", required_argument, NULL, P_ENV },                                \
	{ "env-file", required_argument, NULL, P_ENV_FILE },                      \
	{ "ssh-user", required_argument, NULL, P_SSH_USER },                      \
	{ "identity-file", required_argument, NULL, P_IDENTITY },                 \
	{ "daemonize", no_argument, NULL, P_DAEMONIZE },                          \
	{ "shutdown-timeout", required_argument, NULL, P_TIMEOUT },               \
	{ "vmm", required_argument, NULL, P_VMM },                                \
	{ "binary-firecracker", required_argument, NULL, P_FC_BINARY },           \
	{ "cpu-template", required_argument, NULL, P_CPU_TEMPLATE },              \
	{ "ht-enabled", no_argument, NULL, P_HT },                                \
	{ "log-firecracker-http-calls", no_argument, NULL, P_LOG_CALLS },         \
	{ "no-mmds", no_argument, NULL, P_NO_MMDS },                              \
	{ "no-jail", no_argument, NULL, P_NO_JAIL },                              \
	{ "chroot-base", required_argument, NULL, P_CHROOT_BASE },                \
	{ "jailer-uid", required_argument, NULL, P_JAIL_UID },                    \
	{ "jailer-gid", required_argument, NULL, P_JAIL_GID },                    \
	{ "cgroup", required_argument, NULL, P_CGROUP },                          \
	{ "jailer-numa-node", required_argument, NULL, P_NUMA }

struct prepare_req {
	const char *name, *run_cache, *kernel, *kernel_args, *hostname, *ssh_user;
	const char *vmm, *fc_binary, *cpu_template, *chroot_base;
	long cpu, mem, stop_timeout;
	long jail_uid, jail_gid, numa; /* -1: not given */
	bool daemonize, smt, log_calls, no_mmds, no_jail;
	struct fb_strv env, env_files, identities, cgroups;
	char **cmd; /* after --: replaces the image's CMD; NULL: none */
	size_t ncmd;
};
#define PREPARE_REQ_INIT { .cpu = 1, .mem = 128, .stop_timeout = 30, .jail_uid = -1, .jail_gid = -1, .numa = -1 }
/* One of prepare's options into r: 0, or the exit code of a usage error. */
int prepare_opt(int opt, const char *arg, struct prepare_req *r);
/* The image document on stdin, the VM spec added (.vm) on stdout: the name
 * claimed (or taken over from firebuild run), the VM's copy of the image
 * with fb-init in it, the config drive's content and the machine. */
int cmd_prepare(struct prepare_req *r);
void prepare_req_free(struct prepare_req *r);
#endif
