/* fb-init's pieces that its OCI mode (fb-init-oci.c, fb-runtime's VMs)
 * shares with the firebuild-run mode in fb-init.c. */
#ifndef FB_INIT_H
#define FB_INIT_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- a small JSON reader: what the config needs ---- */
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
const struct jval *jget(const struct jval *o, const char *key);
const char *jstr(const struct jval *o, const char *key);
/* An array of strings as a NULL-ended vector (borrowed strings). */
char **jstrv(const struct jval *o, const char *key, size_t *n);

/* A line on the console (stderr). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data);
void write_file(const char *path, const char *data, mode_t mode);
void lo_up(void);
/* {name, ip, gateway?, mtu?, ips?}: up, MTU, addresses, default route */
void configure_if(const struct jval *it);
const char *env_get(char **env, const char *name);
/* execvp with the workload's PATH; returns with errno set on failure */
void exec_in_path(char **argv, char **env);
int sig_by_name(const char *s);

/* fb-init-oci.c: the OCI mode (never returns), and its fb.io frames */
void oci_main(void) __attribute__((noreturn));
#include <stdint.h>
void write_all(int fd, const void *p, size_t n);
void send_frame(uint32_t stream, uint32_t kind, const void *data, size_t len);
void send_u32(uint32_t stream, uint32_t kind, uint32_t v);
/* ERROR (logged on the console too), then EXIT with code */
void send_error(uint32_t stream, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double jnum(const struct jval *o, const char *key, double def);
bool jbool(const struct jval *o, const char *key);

/* fb-init-proc.c: a stream's process */
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
