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

/* fb-init-oci.c: the OCI mode (never returns) */
void oci_main(void) __attribute__((noreturn));
#endif
