/* fb-init's pieces (tools/fb-init/): what the files share. fb-init is PID 1
 * in every VM (docs/config-drive.md), built static with musl and no library
 * of ours: it must run in images with no shell and no libc.
 *   main.c      the sequence, and the supervision of the workload
 *   report.c    lines to the console and the control port; the end
 *   json.c      a small JSON reader: what the config drive needs
 *   system.c    mounts, files, the control port, the config drive, the
 *               environment file
 *   net.c       lo and the interfaces of the network document
 *   ssh.c       --ssh-user's keys, per-VM host keys, the image's server
 *   user.c      USER, the program in PATH, STOPSIGNAL
 *   oci.c       the OCI mode: PID 1 of an fb-runtime VM (docs/tools/fb-runtime.md)
 *   proc.c      the OCI mode's processes, each a stream of the fb.io port
 * (tools/fb-io.h: the fb.io port, shared with fb-runtime). */
#ifndef FB_INIT_H
#define FB_INIT_H
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fb-etc.h"

#define CONFIG_DEV "/dev/vdb"
#define CTL_NAME "fb.ctl"

/* report.c */
extern int g_ctl;    /* the control port, or -1 */
extern bool g_trace;
extern bool g_discard_root; /* the config drive's discard_root: no sync at the end */ /* fb_init_trace=1 on the kernel command line */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The exit code to the host (control port and console), sync, power off. */
void __attribute__((noreturn)) power_off(int code);
/* Before the workload runs: the reason, then power_off(code). */
void __attribute__((noreturn)) fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fb_init_trace=1: a time stamp, printed at trace_flush (or the end). */
void trace(const char *what);
void trace_flush(void);

/* json.c */
enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jval {
	enum jtype t;
	bool b;
	double num;
	char *s;
	struct jval *v; /* items (array) or values (object) */
	char **k;       /* keys (object) */
	size_t n;
};

struct jp {
	const char *p, *end;
	int depth;
};

int jvalue(struct jp *j, struct jval *v);
/* What jvalue allocated for v (a value it failed on may keep a few bytes). */
void jfree(struct jval *v);
const struct jval *jget(const struct jval *o, const char *key);
const char *jstr(const struct jval *o, const char *key);
char **jstrv(const struct jval *o, const char *key, size_t *n);

/* system.c */
void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data);
bool mounted(const char *dir, const char *parent);
void write_file(const char *path, const char *data, mode_t mode);
int open_ctl(void);
/* The virtio-serial port the host named want, opened (non-blocking), or -1. */
int open_port(const char *want);
char *read_config(void);
void write_env(char **env);
bool has_text(const char *path, const char *text);

/* net.c */
void lo_up(void);
void configure_if(const struct jval *it);

/* ssh.c */
void setup_ssh(const struct jval *cfg);

/* user.c */
struct user {
	uid_t uid;
	gid_t gid;
	char home[256];
	char name[64];
	gid_t groups[64];
	int ngroups;
};
/* src into dst[n], cut short to fit, as snprintf "%s" would: on the way
 * to the workload's exec, printf's code is ~100 blocks a TCG guest would
 * translate first. */
void scopy(char *dst, size_t n, const char *src);
/* NAME's value in a KEY=VALUE list, or NULL */
const char *env_get(char **env, const char *name);
void resolve_user(const char *spec, struct user *u);
bool ids_user(const struct jval *ids, const char *spec, struct user *u);
void exec_in_path(char **argv, char **env);
int sig_by_name(const char *s);

/* oci.c: the OCI mode (never returns), and its fb.io frames */
void oci_main(void) __attribute__((noreturn));
void write_all(int fd, const void *p, size_t n);
void send_frame(uint32_t stream, uint32_t kind, const void *data, size_t len);
void send_u32(uint32_t stream, uint32_t kind, uint32_t v);
/* ERROR (logged on the console too), then EXIT with code */
void send_error(uint32_t stream, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double jnum(const struct jval *o, const char *key, double def);
bool jbool(const struct jval *o, const char *key);

/* proc.c: a stream's process */
struct proc {
	uint32_t stream;
	pid_t pid;
	int in, out, err; /* pipes (ours: write end of in, read ends of out and err); -1 when closed */
	int master;       /* the pty's master with a terminal, else -1 */
	char *pend;       /* stdin not yet written */
	size_t npend;
	bool in_eof;
	bool used;
	/* until it is launched: the process, and the ends it gets */
	const struct jval *pr;
	int cin, cout, cerr;
	char slave[128];
};
#define MAX_PROCS 64
extern struct proc g_procs[MAX_PROCS];
struct proc *proc_of_stream(uint32_t stream);
/* stdio made, not run yet (NULL: ERROR and EXIT sent) */
struct proc *proc_prepare(uint32_t stream, const struct jval *pr);
/* run it; false (ERROR and EXIT sent, the slot freed) when it could not */
bool proc_launch(struct proc *p);
bool spawn_proc(uint32_t stream, const struct jval *pr);
void proc_free(struct proc *p);
/* its output to the host: one read, or (to_end) all that is there */
void drain(struct proc *p, int *fd, uint32_t kind, bool to_end);
/* it exited: the rest of its output, EXIT, the slot freed */
void proc_end(struct proc *p, int status);
void stdin_flush(struct proc *p);
#endif
