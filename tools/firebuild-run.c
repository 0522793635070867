/* firebuild run, ls, inspect, kill, purge, logs and kernel: tagged images
 * booted as microVMs with QEMU's microvm machine (KVM when there is one,
 * TCG otherwise), fb-init as PID 1, a config drive, and a supervisor per
 * VM (this process in the foreground, a daemon with --daemonize) that
 * talks to fb-init over a virtio-serial control port: "stop" down,
 * "started PID", "exit CODE" and "error MESSAGE" up.
 *
 *   <run-cache>/runs/<id>/  state.json rootfs.ext4 config.drive ctl.sock
 *                           console.log */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "tool.h"
#include "tree.h"
#include "util.h"

#include "firebuild.h"

#define SOCK_MAX 107 /* sun_path, less the NUL */

enum {
	R_FROM = 0x3800,
	R_NAME,
	R_VMLINUX,
	R_CPU,
	R_MEM,
	R_ENV,
	R_ENV_FILE,
	R_HOSTNAME,
	R_DAEMONIZE,
	R_KERNEL_ARGS,
	R_VMM_ID,
	R_TIMEOUT,
	R_RUN_CACHE,
	R_ID,
	R_DEFAULT,
};

static const char *run_cache_dir(const char *flag)
{
	if (flag)
		return flag;
	const char *e = getenv("FB_RUN_CACHE");
	if (e && *e)
		return e;
	if (geteuid() == 0)
		return "/var/lib/firebuild";
	static char buf[PATH_MAX];
	const char *x = getenv("XDG_RUNTIME_DIR");
	snprintf(buf, sizeof(buf), "%s/firebuild", x ? x : "/tmp");
	return buf;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 20)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static int read_json(const char *path, jv *out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	int r = fb_read_file(path, &b, err);
	if (r == 0)
		r = fb_json_parse(fb_buf_str(&b), b.len, out, err);
	fb_buf_free(&b);
	return r;
}

static int write_json(const char *path, jv doc, mode_t mode, struct fb_err *err)
{
	char *t = fb_json_dump(doc, false);
	int r = fb_write_file_atomic(path, t, strlen(t), mode, err);
	free(t);
	return r;
}

/* Is pid alive and still the program we started (its cmdline holds what)? */
static bool alive(long pid, const char *what)
{
	if (pid <= 0 || kill((pid_t)pid, 0) < 0)
		return false;
	char p[64], buf[4096];
	snprintf(p, sizeof(p), "/proc/%ld/cmdline", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
	/* a zombie has an empty cmdline: not alive */
	return strstr(buf, what) != NULL;
}

static long num(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	long r = jv_get_kind(v) == JV_KIND_NUMBER ? (long)jv_number_value(v) : 0;
	jv_free(v);
	return r;
}

/* "running" (VMM alive), "exited" (it reported its end), "dead". */
static const char *vm_status(jv st)
{
	jv s = jv_object_get(jv_copy(st), jv_string("status"));
	bool exited = jv_get_kind(s) == JV_KIND_STRING && !strcmp(jv_string_value(s), "exited");
	jv_free(s);
	if (alive(num(st, "pid"), "qemu-system"))
		return "running";
	return exited ? "exited" : "dead";
}

/* ---- kernels in the store ---- */

static int kernel_path(const char *store, const char *id, char **out, struct fb_err *err)
{
	char *def = NULL;
	if (!id) {
		char *p = fb_xasprintf("%s/kernels/default", store);
		struct fb_buf b = FB_BUF_INIT;
		struct fb_err e = { 0 };
		if (fb_read_file(p, &b, &e) == 0) {
			def = fb_xstrndup(fb_buf_str(&b), strcspn(fb_buf_str(&b), "\n"));
			id = def;
		}
		fb_buf_free(&b);
		free(p);
		if (!id)
			return fb_err_set(err, FB_EXIT_NOTFOUND, "no_kernel",
					  "no kernel in %s/kernels: add one with firebuild kernel add --id=vmlinux-6.1 PATH "
					  "(scripts/build-kernel builds it), or give --vmlinux-id",
					  store);
	}
	char *p = fb_xasprintf("%s/kernels/%s/vmlinux", store, id);
	int r = 0;
	if (strchr(id, '/') || access(p, R_OK) < 0) {
		r = fb_err_set(err, FB_EXIT_NOTFOUND, "no_kernel", "--vmlinux-id %s: no such kernel in %s/kernels (firebuild kernel ls)",
			       id, store);
		free(p);
	} else {
		*out = p;
	}
	free(def);
	return r;
}

static const char kernel_usage[] =
	"Usage: firebuild kernel add --id=ID [--default] PATH | kernel ls\n"
	"Guest kernels in the store (<store>/kernels/<id>/vmlinux): an ELF vmlinux\n"
	"with the PVH note (scripts/build-kernel makes one). The first one added, or\n"
	"the one added with --default, is what run uses without --vmlinux-id.\n";

int cmd_kernel(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "id", required_argument, NULL, R_ID },
		{ "default", no_argument, NULL, R_DEFAULT },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = { .prof = jv_invalid() };
	const char *id = NULL;
	bool make_default = false;
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		if (c == O_HELP) {
			fputs(kernel_usage, stdout);
			return 0;
		} else if (c == R_ID) {
			id = optarg;
		} else if (c == R_DEFAULT) {
			make_default = true;
		} else {
			return FB_EXIT_USAGE;
		}
	}
	if (optind >= argc || (strcmp(argv[optind], "add") && strcmp(argv[optind], "ls")))
		return fb_tool_usage_error("kernel needs add or ls");
	bool add = !strcmp(argv[optind], "add");
	if (add && (optind + 2 != argc || !id))
		return fb_tool_usage_error("kernel add needs --id=ID and one PATH");
	if (add && (!*id || strchr(id, '/') || !strcmp(id, "default") || id[0] == '.'))
		return fb_tool_usage_error("--id %s: a name without '/'", id);
	struct fb_err err = { 0 };
	char *store = NULL;
	if (resolve_common(&co, &store, &err) < 0) {
		rc = fail(&err);
		goto out;
	}
	char *kd = fb_xasprintf("%s/kernels", store);
	if (add) {
		const char *src = argv[optind + 1];
		unsigned char elf[4] = { 0 };
		FILE *f = fopen(src, "re");
		size_t got = f ? fread(elf, 1, 4, f) : 0;
		if (f)
			fclose(f);
		char *dir = fb_xasprintf("%s/%s", kd, id), *dst = fb_xasprintf("%s/vmlinux", dir);
		char *defp = fb_xasprintf("%s/default", kd);
		if (!f) {
			rc = fail((fb_err_errno(&err, errno, "%s", src), &err));
		} else if (got != 4 || memcmp(elf, "\x7f" "ELF", 4)) {
			fb_err_set(&err, FB_EXIT_USAGE, "invalid", "%s: not an ELF vmlinux (bzImage is not what Firecracker boots)", src);
			rc = fail(&err);
		} else if (fb_mkdir_p(dir, 0755, &err) < 0 || fb_copy_sparse(src, dst, &err) < 0) {
			rc = fail(&err);
		} else {
			if (make_default || access(defp, F_OK) < 0)
				fb_write_file_atomic(defp, id, strlen(id), 0644, &err);
			jv d = jv_object_set(jv_object(), jv_string("id"), jv_string(id));
			d = jv_object_set(d, jv_string("path"), jv_string(dst));
			rc = fb_json_write_stdout(jv_object_set(jv_object(), jv_string("kernel"), d), &err) < 0 ? fail(&err) : 0;
		}
		free(dir);
		free(dst);
		free(defp);
	} else {
		char *def = NULL, *defp = fb_xasprintf("%s/default", kd);
		struct fb_buf b = FB_BUF_INIT;
		struct fb_err e = { 0 };
		if (fb_read_file(defp, &b, &e) == 0)
			def = fb_xstrndup(fb_buf_str(&b), strcspn(fb_buf_str(&b), "\n"));
		fb_buf_free(&b);
		free(defp);
		jv list = jv_array();
		DIR *d = opendir(kd);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char *p = fb_xasprintf("%s/%s/vmlinux", kd, de->d_name);
			struct stat st;
			if (de->d_name[0] != '.' && stat(p, &st) == 0) {
				jv k = jv_object_set(jv_object(), jv_string("id"), jv_string(de->d_name));
				k = jv_object_set(k, jv_string("path"), jv_string(p));
				k = jv_object_set(k, jv_string("size"), jv_number((double)st.st_size));
				k = jv_object_set(k, jv_string("default"), jv_bool(def && !strcmp(def, de->d_name)));
				list = jv_array_append(list, k);
			}
			free(p);
		}
		if (d)
			closedir(d);
		free(def);
		rc = fb_json_write_stdout(jv_object_set(jv_object(), jv_string("kernels"), list), &err) < 0 ? fail(&err) : 0;
	}
	free(kd);
out:
	free(store);
	if (jv_is_valid(co.prof))
		jv_free(co.prof);
	return rc;
}

/* ---- the config drive ---- */

/* K=V lines of an env file (Docker's format: comments, blank lines, K
 * alone takes the value from our environment). */
static int read_env_file(const char *path, struct fb_strv *out, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_file(path, &b, err) < 0) {
		fb_err_prefix(err, "--env-file");
		fb_buf_free(&b);
		return -1;
	}
	char *save = NULL;
	int lineno = 0;
	for (char *l = strtok_r(b.data ? b.data : (char[]){ 0 }, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t n = strlen(l);
		if (n && l[n - 1] == '\r')
			l[--n] = '\0';
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l || *l == '#')
			continue;
		if (*l == '=') {
			fb_buf_free(&b);
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "--env-file %s:%d: a variable needs a name", path, lineno);
		}
		if (strchr(l, '=')) {
			fb_strv_push(out, l);
		} else {
			const char *v = getenv(l);
			if (v)
				fb_strv_push_owned(out, fb_xasprintf("%s=%s", l, v));
		}
	}
	fb_buf_free(&b);
	return 0;
}

/* Later values of a name replace earlier ones, in place. */
static void env_merge(jv *env, const char *kv)
{
	size_t n = strcspn(kv, "=");
	jv out = jv_array();
	bool done = false;
	jv_array_foreach(*env, i, e)
	{
		if (jv_get_kind(e) == JV_KIND_STRING && !strncmp(jv_string_value(e), kv, n) && jv_string_value(e)[n] == '=') {
			jv_free(e);
			if (!done)
				out = jv_array_append(out, jv_string(kv));
			done = true;
		} else {
			out = jv_array_append(out, e);
		}
		(void)i;
	}
	jv_free(*env);
	if (!done)
		out = jv_array_append(out, jv_string(kv));
	*env = out;
}

static int write_config_drive(const char *path, jv cfg, struct fb_err *err)
{
	char *t = fb_json_dump(cfg, false);
	size_t n = strlen(t), padded = (n + 1 + 4095) / 4096 * 4096;
	char *buf = fb_xcalloc(1, padded);
	memcpy(buf, t, n);
	free(t);
	/* secrets may be in it: only root reads it on the host */
	int r = fb_write_file_atomic(path, buf, padded, 0600, err);
	free(buf);
	return r;
}

/* Where /sbin really is in the image: usr-merged systems make it a link
 * (usr/sbin), which debugfs does not follow when it writes. */
static char *sbin_dir(const char *rootfs, struct fb_err *err)
{
	char *argv[] = { "debugfs", "-R", "stat /sbin", (char *)rootfs, NULL };
	struct fb_buf out = FB_BUF_INIT, eo = FB_BUF_INIT;
	int code = 0;
	char *dir = fb_xstrdup("/sbin");
	if (fb_proc_run(argv, NULL, 0, &out, &eo, &code, err) == 0 && strstr(fb_buf_str(&out), "Type: symlink")) {
		const char *d = strstr(fb_buf_str(&out), "Fast link dest: \"");
		if (d) {
			d += 17;
			size_t n = strcspn(d, "\"");
			free(dir);
			dir = d[0] == '/' ? fb_xstrndup(d, n) : fb_xasprintf("/%.*s", (int)n, d);
		}
	}
	fb_buf_free(&out);
	fb_buf_free(&eo);
	return dir;
}

/* fb-init into the VM's copy (images built before it existed get it too). */
static int inject_init(const char *rootfs, struct fb_err *err)
{
	char init[PATH_MAX + 64];
	if (tool_path("fb-init", init, sizeof(init), err) < 0)
		return -1;
	char *dir = sbin_dir(rootfs, err);
	char cmds[PATH_MAX * 2 + 600];
	snprintf(cmds, sizeof(cmds),
		 "mkdir %s\nrm %s/fb-init\nwrite %s %s/fb-init\nset_inode_field %s/fb-init mode 0100755\n"
		 "set_inode_field %s/fb-init uid 0\nset_inode_field %s/fb-init gid 0\n",
		 dir, dir, init, dir, dir, dir, dir);
	char *argv[] = { "debugfs", "-w", "-f", "-", (char *)rootfs, NULL };
	struct fb_buf out = FB_BUF_INIT, eo = FB_BUF_INIT;
	int code = 0;
	int r = fb_proc_run(argv, cmds, strlen(cmds), &out, &eo, &code, err);
	if (r == 0 && code != 0)
		r = fb_err_set(err, FB_EXIT_FAILED, "debugfs", "debugfs could not add fb-init to %s: %s", rootfs, fb_buf_str(&eo));
	fb_buf_free(&out);
	fb_buf_free(&eo);
	free(dir);
	return r;
}

/* ---- the supervisor ---- */

struct vm {
	char *dir, *id;
	char *state_path, *sock, *console;
	jv state;
	bool daemon;
	int stop_timeout;
	char *kvm_broken; /* the marker that KVM does not work here */
};

static volatile sig_atomic_t g_stop;
static void on_stop(int sig)
{
	g_stop = sig;
}

static void save_state(struct vm *v)
{
	struct fb_err e = { 0 };
	write_json(v->state_path, jv_copy(v->state), 0644, &e);
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
	struct fb_spawn_opts so = { .null_stdin = v->daemon };
again:
	v->state = jv_object_set(v->state, jv_string("accel"), jv_string(kvm ? "kvm" : "tcg"));
	if (fb_proc_spawn(kvm ? kvm : tcg, &so, &p, err) < 0)
		return -1;
	v->state = jv_object_set(v->state, jv_string("pid"), jv_number(p.pid));
	v->state = jv_object_set(v->state, jv_string("supervisor_pid"), jv_number(getpid()));
	v->state = jv_object_set(v->state, jv_string("status"), jv_string("running"));
	save_state(v);
	int ctl = -1, code = -1, status = 0;
	bool stop_sent = false, exited = false;
	time_t stop_at = 0;
	char msg[512] = "", line[1024];
	size_t ll = 0;
	for (;;) {
		pid_t w = waitpid(p.pid, &status, WNOHANG);
		if (w == p.pid) {
			exited = true;
			break;
		}
		if (ctl == -1) {
			int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			struct sockaddr_un a = { .sun_family = AF_UNIX };
			snprintf(a.sun_path, sizeof(a.sun_path), "%s", v->sock);
			if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
				ctl = s;
			else if (s >= 0)
				close(s);
		}
		if (g_stop && !stop_sent) {
			/* through fb-init: the image's STOPSIGNAL, then SIGKILL */
			if (ctl >= 0 && write(ctl, "stop\n", 5) == 5) {
				stop_sent = true;
				stop_at = time(NULL) + v->stop_timeout;
			} else {
				kill(p.pid, SIGTERM);
				stop_sent = true;
				stop_at = time(NULL) + 5;
			}
		}
		if (stop_sent && time(NULL) > stop_at) {
			fb_log(FB_LOG_WARN, "%s: the VM did not stop in %d s: killed", v->id, v->stop_timeout);
			kill(p.pid, SIGKILL);
			stop_at = time(NULL) + 3600;
		}
		struct pollfd pf = { ctl, POLLIN, 0 };
		int pr = poll(&pf, ctl >= 0 ? 1 : 0, 100);
		if (pr > 0 && (pf.revents & (POLLIN | POLLHUP)) && read_ctl(v, &ctl, line, &ll, &code, msg, sizeof(msg)) < 0)
			continue;
	}
	/* what fb-init said just before the end may still be in the socket */
	if (ctl >= 0) {
		fcntl(ctl, F_SETFL, O_NONBLOCK);
		while (read_ctl(v, &ctl, line, &ll, &code, msg, sizeof(msg)) == 0)
			;
	}
	if (ctl >= 0)
		close(ctl);
	(void)exited;
	jv ws = jv_object_get(jv_copy(v->state), jv_string("workload_started"));
	bool started = jv_get_kind(ws) == JV_KIND_TRUE;
	jv_free(ws);
	if (kvm && code < 0 && !started && !g_stop && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		/* /dev/kvm is there but does not run a guest (nested, or an
		 * unsupported CPU): say so once, and use TCG from now on */
		char how[64];
		fb_status_describe(status, how, sizeof(how));
		fb_log(FB_LOG_WARN, "%s: QEMU with KVM failed before the guest started (%s): using TCG, and from now on (%s)",
		       v->id, how, v->kvm_broken);
		struct fb_err e = { 0 };
		fb_write_file_atomic(v->kvm_broken, how, strlen(how), 0644, &e);
		unlink(v->sock);
		kvm = NULL;
		msg[0] = '\0';
		goto again;
	}
	v->state = jv_object_set(v->state, jv_string("status"), jv_string("exited"));
	if (code < 0) {
		char how[64];
		fb_status_describe(status, how, sizeof(how));
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%sthe VM ended without a report from fb-init (QEMU %s)",
			 msg[0] ? "; " : "", how);
		code = 125;
	}
	v->state = jv_object_set(v->state, jv_string("exit_code"), jv_number(code));
	if (msg[0])
		v->state = jv_object_set(v->state, jv_string("error"), jv_string(msg));
	save_state(v);
	if (msg[0])
		fb_log(FB_LOG_ERROR, "%s: %s", v->id, msg);
	return code;
}

static const char run_usage[] =
	"Usage: firebuild run --from=NAME:VERSION [FLAGS] [-- CMD ARGS...]\n"
	"Boot a tagged image as a microVM (QEMU microvm; KVM when present, TCG\n"
	"otherwise) with fb-init as PID 1, and run its ENTRYPOINT+CMD (a command\n"
	"after -- replaces CMD). In the foreground the console is this terminal\n"
	"and the exit status is the workload's.\n"
	"\n"
	"  --from NAME:VERSION        the image (required)\n"
	"  --name ID                  1-20 of [a-zA-Z0-9], unique among running VMs\n"
	"                             (default: a random id)\n"
	"  --vmlinux-id ID            a kernel from firebuild kernel ls (default: the\n"
	"                             store's default)\n"
	"  --cpu N (1), --mem MiB (128)\n"
	"  --env K=V, --env-file F    added to the image's ENV, files first, in order\n"
	"  --hostname NAME            default: the VM's id\n"
	"  --kernel-args ARGS         appended to the kernel command line\n"
	"  --shutdown-timeout SECS    how long kill waits for the workload (10)\n"
	"  --daemonize                print the VM's state and return; the console\n"
	"                             goes to firebuild logs --vmm-id=ID\n"
	"  --run-cache DIR            (/var/lib/firebuild)\n"
	"  --profile NAME, --profile-conf-dir DIR, --store DIR, --log-format FORMAT\n";

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "from", required_argument, NULL, R_FROM },
		{ "name", required_argument, NULL, R_NAME },
		{ "vmlinux-id", required_argument, NULL, R_VMLINUX },
		{ "cpu", required_argument, NULL, R_CPU },
		{ "mem", required_argument, NULL, R_MEM },
		{ "env", required_argument, NULL, R_ENV },
		{ "env-file", required_argument, NULL, R_ENV_FILE },
		{ "hostname", required_argument, NULL, R_HOSTNAME },
		{ "daemonize", no_argument, NULL, R_DAEMONIZE },
		{ "kernel-args", required_argument, NULL, R_KERNEL_ARGS },
		{ "shutdown-timeout", required_argument, NULL, R_TIMEOUT },
		{ "run-cache", required_argument, NULL, R_RUN_CACHE },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = { .prof = jv_invalid() };
	const char *from = NULL, *name = NULL, *vmlinux = NULL, *hostname = NULL, *kargs = "", *rcflag = NULL;
	long cpu = 1, mem = 128, timeout = 10;
	bool daemon = false;
	struct fb_strv envs = FB_STRV_INIT, env_files = FB_STRV_INIT;
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
			continue;
		}
		char *end = NULL;
		switch (c) {
		case O_HELP: fputs(run_usage, stdout); rc = 0; goto out;
		case R_FROM: from = optarg; break;
		case R_NAME: name = optarg; break;
		case R_VMLINUX: vmlinux = optarg; break;
		case R_CPU: cpu = strtol(optarg, &end, 10); break;
		case R_MEM: mem = strtol(optarg, &end, 10); break;
		case R_TIMEOUT: timeout = strtol(optarg, &end, 10); break;
		case R_ENV:
			if (optarg[0] == '=') {
				rc = fb_tool_usage_error("--env %s: a variable needs a name", optarg);
				goto out;
			}
			if (strchr(optarg, '='))
				fb_strv_push(&envs, optarg);
			else if (getenv(optarg))
				fb_strv_push_owned(&envs, fb_xasprintf("%s=%s", optarg, getenv(optarg)));
			break;
		case R_ENV_FILE: fb_strv_push(&env_files, optarg); break;
		case R_HOSTNAME: hostname = optarg; break;
		case R_DAEMONIZE: daemon = true; break;
		case R_KERNEL_ARGS: kargs = optarg; break;
		case R_RUN_CACHE: rcflag = optarg; break;
		default: goto out;
		}
		if (end && (*end || cpu < 1 || cpu > 64 || mem < 32 || timeout < 0)) {
			rc = fb_tool_usage_error("--cpu (1-64), --mem (MiB, at least 32) and --shutdown-timeout take numbers");
			goto out;
		}
	}
	if (!from) {
		rc = fb_tool_usage_error("run needs --from=NAME:VERSION");
		goto out;
	}
	if (name && !valid_name(name)) {
		rc = fb_tool_usage_error("--name %s: 1 to 20 characters of [a-zA-Z0-9]", name);
		goto out;
	}
	struct fb_err err = { 0 };
	char *store = NULL, *kernel = NULL;
	jv meta = jv_invalid();
	struct vm v = { .daemon = daemon, .stop_timeout = (int)timeout, .state = jv_object() };
	if (resolve_common(&co, &store, &err) < 0) {
		rc = fail(&err);
		goto out;
	}
	/* the image */
	const char *colon = strrchr(from, ':');
	char *img = colon ? fb_xasprintf("%s/rootfs/%.*s/%s", store, (int)(colon - from), from, colon + 1)
			  : fb_xasprintf("%s/rootfs/%s/latest", store, from);
	char *imgjson = fb_xasprintf("%s/image.json", img), *imgext4 = fb_xasprintf("%s/rootfs.ext4", img);
	if (access(imgext4, R_OK) < 0 || read_json(imgjson, &meta, &err) < 0) {
		err = (struct fb_err){ 0 };
		fb_err_set(&err, FB_EXIT_NOTFOUND, "not_found", "--from %s: no such image in %s (firebuild image ls)", from, store);
		rc = fail(&err);
		goto done;
	}
	if (kernel_path(store, vmlinux, &kernel, &err) < 0) {
		rc = fail(&err);
		goto done;
	}
	/* the VM's directory */
	char idbuf[21];
	if (!name) {
		unsigned char rnd[6];
		int rf = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (rf < 0 || read(rf, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
			for (size_t i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)(rand() ^ getpid());
		}
		if (rf >= 0)
			close(rf);
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(idbuf + 2 * i, 3, "%02x", rnd[i]);
		name = idbuf;
	}
	const char *rcd = run_cache_dir(rcflag);
	char *runs = fb_xasprintf("%s/runs", rcd);
	v.id = fb_xstrdup(name);
	v.dir = fb_xasprintf("%s/%s", runs, name);
	v.state_path = fb_xasprintf("%s/state.json", v.dir);
	v.sock = fb_xasprintf("%s/ctl.sock", v.dir);
	v.console = fb_xasprintf("%s/console.log", v.dir);
	free(runs);
	if (strlen(v.sock) > SOCK_MAX) {
		fb_err_set(&err, FB_EXIT_USAGE, "socket_path",
			   "the control socket %s is %zu bytes, over the Unix socket limit of %d: use a shorter --run-cache", v.sock,
			   strlen(v.sock), SOCK_MAX);
		rc = fail(&err);
		goto done;
	}
	if (fb_mkdir_p(rcd, 0755, &err) < 0 || fb_mkdir_p(v.dir, 0700, &err) < 0) {
		rc = fail(&err);
		goto done;
	}
	{
		/* one VM a name: an existing directory is another VM's */
		jv old;
		struct fb_err e2 = { 0 };
		if (read_json(v.state_path, &old, &e2) == 0) {
			const char *s = vm_status(old);
			fb_err_set(&err, FB_EXIT_USAGE, "duplicate", "--name %s: a VM of that name is %s%s", name, s,
				   strcmp(s, "running") ? " (firebuild purge removes it)" : "");
			jv_free(old);
			free(v.dir);
			v.dir = NULL; /* not ours to remove */
			rc = fail(&err);
			goto done;
		}
	}
	/* the config fb-init reads */
	jv icfg = jv_getpath(jv_copy(meta), jv_parse("[\"config\",\"config\"]"));
	if (jv_get_kind(icfg) != JV_KIND_OBJECT) {
		jv_free(icfg);
		icfg = jv_object();
	}
	jv env = jv_object_get(jv_copy(icfg), jv_string("Env"));
	if (jv_get_kind(env) != JV_KIND_ARRAY) {
		jv_free(env);
		env = jv_array();
	}
	for (size_t i = 0; i < env_files.n; i++) {
		struct fb_strv kv = FB_STRV_INIT;
		if (read_env_file(env_files.v[i], &kv, &err) < 0) {
			fb_strv_free(&kv);
			jv_free(env);
			jv_free(icfg);
			rc = fail(&err);
			goto done;
		}
		for (size_t k = 0; k < kv.n; k++)
			env_merge(&env, kv.v[k]);
		fb_strv_free(&kv);
	}
	for (size_t i = 0; i < envs.n; i++)
		env_merge(&env, envs.v[i]);
	jv cfg = jv_object_set(jv_object(), jv_string("version"), jv_number(1));
	cfg = jv_object_set(cfg, jv_string("id"), jv_string(name));
	cfg = jv_object_set(cfg, jv_string("hostname"), jv_string(hostname ? hostname : name));
	cfg = jv_object_set(cfg, jv_string("env"), env);
	jv ep = jv_object_get(jv_copy(icfg), jv_string("Entrypoint"));
	cfg = jv_object_set(cfg, jv_string("entrypoint"), jv_get_kind(ep) == JV_KIND_ARRAY ? ep : (jv_free(ep), jv_array()));
	jv cmd = jv_array();
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			cmd = jv_array_append(cmd, jv_string(argv[i]));
	} else {
		jv_free(cmd);
		cmd = jv_object_get(jv_copy(icfg), jv_string("Cmd"));
		if (jv_get_kind(cmd) != JV_KIND_ARRAY) {
			jv_free(cmd);
			cmd = jv_array();
		}
	}
	cfg = jv_object_set(cfg, jv_string("cmd"), cmd);
	static const char *const keys[][2] = { { "User", "user" }, { "WorkingDir", "workdir" }, { "StopSignal", "stop_signal" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++) {
		jv x = jv_object_get(jv_copy(icfg), jv_string(keys[i][0]));
		if (jv_get_kind(x) == JV_KIND_STRING)
			cfg = jv_object_set(cfg, jv_string(keys[i][1]), x);
		else
			jv_free(x);
	}
	cfg = jv_object_set(cfg, jv_string("stop_timeout"), jv_number((double)timeout));
	jv_free(icfg);
	char *drive = fb_xasprintf("%s/config.drive", v.dir), *rootfs = fb_xasprintf("%s/rootfs.ext4", v.dir);
	if (write_config_drive(drive, cfg, &err) < 0 || fb_copy_sparse(imgext4, rootfs, &err) < 0 ||
	    inject_init(rootfs, &err) < 0) {
		rc = fail(&err);
		free(drive);
		free(rootfs);
		goto done;
	}
	/* QEMU */
	struct fb_strv q = FB_STRV_INIT, qk = FB_STRV_INIT;
	fb_strv_push(&q, "qemu-system-x86_64");
	fb_strv_push(&q, "-M");
	fb_strv_push(&q, "microvm,acpi=off,x-option-roms=off");
	v.kvm_broken = fb_xasprintf("%s/kvm-unusable", rcd);
	const char *accel = getenv("FB_ACCEL");
	/* FB_ACCEL=tcg or kvm overrides the choice */
	bool try_kvm = access("/dev/kvm", R_OK | W_OK) == 0 && !(accel && !strcmp(accel, "tcg")) &&
		       (access(v.kvm_broken, F_OK) != 0 || (accel && !strcmp(accel, "kvm")));

	fb_strv_push(&q, "-m");
	fb_strv_push_owned(&q, fb_xasprintf("%ld", mem));
	fb_strv_push(&q, "-smp");
	fb_strv_push_owned(&q, fb_xasprintf("%ld", cpu));
	fb_strv_push(&q, "-no-user-config");
	fb_strv_push(&q, "-nodefaults");
	fb_strv_push(&q, "-display");
	fb_strv_push(&q, "none");
	fb_strv_push(&q, "-no-reboot");
	fb_strv_push(&q, "-kernel");
	fb_strv_push(&q, kernel);
	fb_strv_push(&q, "-append");
	fb_strv_push_owned(&q, fb_xasprintf("console=ttyS0 root=/dev/vda rw init=/sbin/fb-init panic=-1 reboot=t quiet %s", kargs));
	fb_strv_push(&q, "-chardev");
	fb_strv_push_owned(&q, daemon ? fb_xasprintf("file,id=con,path=%s", v.console)
				      : fb_xstrdup("stdio,id=con,signal=off"));
	fb_strv_push(&q, "-serial");
	fb_strv_push(&q, "chardev:con");
	fb_strv_push(&q, "-drive");
	fb_strv_push_owned(&q, fb_xasprintf("id=root,file=%s,format=raw,if=none,cache=unsafe", rootfs));
	fb_strv_push(&q, "-device");
	fb_strv_push(&q, "virtio-blk-device,drive=root");
	fb_strv_push(&q, "-drive");
	fb_strv_push_owned(&q, fb_xasprintf("id=cfg,file=%s,format=raw,if=none,readonly=on", drive));
	fb_strv_push(&q, "-device");
	fb_strv_push(&q, "virtio-blk-device,drive=cfg");
	fb_strv_push(&q, "-device");
	fb_strv_push(&q, "virtio-serial-device");
	fb_strv_push(&q, "-chardev");
	fb_strv_push_owned(&q, fb_xasprintf("socket,id=ctl,path=%s,server=on,wait=off", v.sock));
	fb_strv_push(&q, "-device");
	fb_strv_push(&q, "virtserialport,chardev=ctl,name=fb.ctl");
	if (try_kvm) {
		for (size_t i = 0; i < q.n; i++)
			fb_strv_push(&qk, q.v[i]);
		fb_strv_push(&qk, "-accel");
		fb_strv_push(&qk, "kvm");
		fb_strv_push(&qk, "-cpu");
		fb_strv_push(&qk, "host");
	}
	fb_strv_push(&q, "-accel");
	fb_strv_push(&q, "tcg");
	v.state = jv_object_set(v.state, jv_string("id"), jv_string(name));
	v.state = jv_object_set(v.state, jv_string("image"), jv_string(from));
	v.state = jv_object_set(v.state, jv_string("backend"), jv_string("qemu"));
	v.state = jv_object_set(v.state, jv_string("run_cache"), jv_string(v.dir));
	v.state = jv_object_set(v.state, jv_string("jail"), jv_null());
	v.state = jv_object_set(v.state, jv_string("rootfs"), jv_string(rootfs));
	v.state = jv_object_set(v.state, jv_string("config_drive"), jv_string(drive));
	v.state = jv_object_set(v.state, jv_string("console_log"), daemon ? jv_string(v.console) : jv_null());
	v.state = jv_object_set(v.state, jv_string("kernel"), jv_string(kernel));
	v.state = jv_object_set(v.state, jv_string("cpu"), jv_number((double)cpu));
	v.state = jv_object_set(v.state, jv_string("mem"), jv_number((double)mem));
	v.state = jv_object_set(v.state, jv_string("started"), jv_number((double)time(NULL)));
	v.state = jv_object_set(v.state, jv_string("daemonized"), jv_bool(daemon));
	free(drive);
	free(rootfs);
	if (!daemon) {
		rc = supervise(&v, try_kvm ? qk.v : NULL, q.v, &err);
		if (rc < 0)
			rc = fail(&err);
		fb_tree_remove(v.dir); /* a foreground VM leaves nothing */
		free(v.dir);
		v.dir = NULL;
	} else {
		int ready[2];
		if (pipe2(ready, O_CLOEXEC) < 0) {
			rc = fail((fb_err_errno(&err, errno, "pipe"), &err));
			fb_strv_free(&q);
			fb_strv_free(&qk);
			goto done;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			close(ready[0]);
			setsid();
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
			dup2(nul, 0);
			dup2(nul, 1);
			int logfd = open(v.console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
			dup2(logfd >= 0 ? logfd : nul, 2);
			if (fork() != 0)
				_exit(0); /* not a session leader: no terminal can be acquired */
			struct fb_err e3 = { 0 };
			/* the state is there once QEMU is started: tell the parent */
			v.state = jv_object_set(v.state, jv_string("supervisor_pid"), jv_number(getpid()));
			close(ready[1]);
			supervise(&v, try_kvm ? qk.v : NULL, q.v, &e3);
			_exit(0);
		}
		close(ready[1]);
		waitpid(pid, NULL, 0);
		/* wait for the supervisor to have written the running state */
		jv st = jv_invalid();
		for (int i = 0; i < 100; i++) {
			struct fb_err e4 = { 0 };
			if (read_json(v.state_path, &st, &e4) == 0 && num(st, "pid") > 0)
				break;
			if (jv_is_valid(st)) {
				jv_free(st);
				st = jv_invalid();
			}
			usleep(50000);
		}
		close(ready[0]);
		if (jv_is_valid(st)) {
			rc = fb_json_write_stdout(jv_object_set(jv_object(), jv_string("vm"), st), &err) < 0 ? fail(&err) : 0;
		} else {
			fb_err_set(&err, FB_EXIT_FAILED, "start", "%s: the VM did not start (see %s)", v.id, v.console);
			rc = fail(&err);
		}
		free(v.dir);
		v.dir = NULL; /* the supervisor's now */
	}
	fb_strv_free(&q);
	fb_strv_free(&qk);
done:
	if (rc != 0 && v.dir && !daemon)
		fb_tree_remove(v.dir);
	else if (rc != 0 && v.dir && daemon && access(v.state_path, F_OK) != 0)
		fb_tree_remove(v.dir);
	free(v.dir);
	free(v.id);
	free(v.state_path);
	free(v.sock);
	free(v.console);
	free(v.kvm_broken);
	jv_free(v.state);
	free(img);
	free(imgjson);
	free(imgext4);
	free(kernel);
	free(store);
	if (jv_is_valid(meta))
		jv_free(meta);
out:
	fb_strv_free(&envs);
	fb_strv_free(&env_files);
	if (jv_is_valid(co.prof))
		jv_free(co.prof);
	return rc;
}

/* ---- ls, inspect, kill, purge, logs ---- */

static int parse_vm_flags(int argc, char **argv, const char *usage, const char **id, const char **rcflag, long *timeout,
			  int *rc)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "vmm-id", required_argument, NULL, R_VMM_ID },
		{ "shutdown-timeout", required_argument, NULL, R_TIMEOUT },
		{ "run-cache", required_argument, NULL, R_RUN_CACHE },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = { .prof = jv_invalid() };
	int c, exit_now = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				*rc = exit_now;
				return -1;
			}
			continue;
		}
		if (c == O_HELP) {
			fputs(usage, stdout);
			*rc = 0;
			return -1;
		} else if (c == R_VMM_ID) {
			*id = optarg;
		} else if (c == R_RUN_CACHE) {
			*rcflag = optarg;
		} else if (c == R_TIMEOUT) {
			char *end;
			*timeout = strtol(optarg, &end, 10);
			if (*end == 's')
				end++;
			if (*end || *timeout < 0) {
				*rc = fb_tool_usage_error("--shutdown-timeout %s: expected seconds (15 or 15s)", optarg);
				return -1;
			}
		} else {
			*rc = FB_EXIT_USAGE;
			return -1;
		}
	}
	if (jv_is_valid(co.prof))
		jv_free(co.prof);
	if (optind < argc) {
		*rc = fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

static int load_vm(const char *rcflag, const char *id, char **dir, jv *st, struct fb_err *err)
{
	if (!id)
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--vmm-id is required");
	if (!valid_name(id))
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--vmm-id %s: 1 to 20 characters of [a-zA-Z0-9]", id);
	*dir = fb_xasprintf("%s/runs/%s", run_cache_dir(rcflag), id);
	char *p = fb_xasprintf("%s/state.json", *dir);
	int r = 0;
	struct fb_err e = { 0 };
	if (read_json(p, st, &e) < 0)
		r = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "--vmm-id %s: no such VM (firebuild ls)", id);
	free(p);
	return r;
}

static jv with_status(jv st)
{
	return jv_object_set(st, jv_string("state"), jv_string(vm_status(st)));
}

static const char ls_usage[] = "Usage: firebuild ls [--run-cache DIR]\nThe VMs: a table on a terminal, JSON otherwise.\n";

int cmd_ls(int argc, char **argv)
{
	const char *id = NULL, *rcflag = NULL;
	long to = 0;
	int rc = 0;
	if (parse_vm_flags(argc, argv, ls_usage, &id, &rcflag, &to, &rc) < 0)
		return rc;
	char *runs = fb_xasprintf("%s/runs", run_cache_dir(rcflag));
	DIR *d = opendir(runs);
	struct dirent *e;
	jv list = jv_array();
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = fb_xasprintf("%s/%s/state.json", runs, e->d_name);
		jv st;
		struct fb_err er = { 0 };
		if (read_json(p, &st, &er) == 0)
			list = jv_array_append(list, with_status(st));
		free(p);
	}
	if (d)
		closedir(d);
	free(runs);
	struct fb_err err = { 0 };
	if (isatty(1)) {
		printf("%-20s %-30s %-8s %-8s %6s %s\n", "ID", "IMAGE", "BACKEND", "STATE", "PID", "EXIT");
		jv_array_foreach(list, i, st)
		{
			jv idj = jv_object_get(jv_copy(st), jv_string("id")), im = jv_object_get(jv_copy(st), jv_string("image"));
			jv s = jv_object_get(jv_copy(st), jv_string("state")), ex = jv_object_get(jv_copy(st), jv_string("exit_code"));
			char exs[16] = "-";
			if (jv_get_kind(ex) == JV_KIND_NUMBER)
				snprintf(exs, sizeof(exs), "%d", (int)jv_number_value(ex));
			printf("%-20s %-30s %-8s %-8s %6ld %s\n", jv_string_value(idj), jv_string_value(im), "qemu", jv_string_value(s),
			       num(st, "pid"), exs);
			jv_free(idj);
			jv_free(im);
			jv_free(s);
			jv_free(ex);
			jv_free(st);
			(void)i;
		}
		jv_free(list);
		return 0;
	}
	return fb_json_write_stdout(jv_object_set(jv_object(), jv_string("vms"), list), &err) < 0 ? fail(&err) : 0;
}

static const char inspect_usage[] = "Usage: firebuild inspect --vmm-id=ID [--run-cache DIR]\nThe VM's state as JSON.\n";

int cmd_inspect(int argc, char **argv)
{
	const char *id = NULL, *rcflag = NULL;
	long to = 0;
	int rc = 0;
	if (parse_vm_flags(argc, argv, inspect_usage, &id, &rcflag, &to, &rc) < 0)
		return rc;
	struct fb_err err = { 0 };
	char *dir = NULL;
	jv st;
	if (load_vm(rcflag, id, &dir, &st, &err) < 0) {
		free(dir);
		return fail(&err);
	}
	free(dir);
	return fb_json_write_stdout(jv_object_set(jv_object(), jv_string("vm"), with_status(st)), &err) < 0 ? fail(&err) : 0;
}

static const char logs_usage[] = "Usage: firebuild logs --vmm-id=ID [--run-cache DIR]\nA daemonized VM's console.\n";

int cmd_logs(int argc, char **argv)
{
	const char *id = NULL, *rcflag = NULL;
	long to = 0;
	int rc = 0;
	if (parse_vm_flags(argc, argv, logs_usage, &id, &rcflag, &to, &rc) < 0)
		return rc;
	struct fb_err err = { 0 };
	char *dir = NULL;
	jv st;
	if (load_vm(rcflag, id, &dir, &st, &err) < 0) {
		free(dir);
		return fail(&err);
	}
	jv_free(st);
	char *p = fb_xasprintf("%s/console.log", dir);
	struct fb_buf b = FB_BUF_INIT;
	rc = fb_read_file(p, &b, &err) < 0 ? fail(&err) : 0;
	if (rc == 0 && b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
		rc = 1;
	fb_buf_free(&b);
	free(p);
	free(dir);
	return rc;
}

/* Stop one VM (through fb-init, then by force) and remove what it held;
 * *final gets its last state (the exit code it reported). */
static int stop_vm(const char *dir, jv st, long timeout, jv *final)
{
	long sup = num(st, "supervisor_pid"), pid = num(st, "pid");
	bool sup_alive = alive(sup, "firebuild");
	if (alive(pid, "qemu-system")) {
		if (sup_alive) {
			kill((pid_t)sup, SIGTERM);
		} else {
			kill((pid_t)pid, SIGKILL);
		}
		for (long i = 0; i < (timeout + 5) * 10 && (alive(pid, "qemu-system") || alive(sup, "firebuild")); i++)
			usleep(100000);
		if (alive(pid, "qemu-system"))
			kill((pid_t)pid, SIGKILL);
	}
	for (int i = 0; i < 50 && alive(sup, "firebuild"); i++)
		usleep(100000);
	if (alive(sup, "firebuild"))
		kill((pid_t)sup, SIGKILL);
	for (int i = 0; i < 50 && alive(pid, "qemu-system"); i++)
		usleep(100000);
	char *p = fb_xasprintf("%s/state.json", dir);
	struct fb_err e = { 0 };
	if (read_json(p, final, &e) < 0)
		*final = jv_copy(st);
	free(p);
	jv_free(st);
	return fb_tree_remove(dir);
}

static const char kill_usage[] =
	"Usage: firebuild kill --vmm-id=ID [--shutdown-timeout=15s] [--run-cache DIR]\n"
	"Stop a VM cleanly (its STOPSIGNAL through fb-init; killed after the\n"
	"timeout) and remove everything it held.\n";

int cmd_kill(int argc, char **argv)
{
	const char *id = NULL, *rcflag = NULL;
	long timeout = 15;
	int rc = 0;
	if (parse_vm_flags(argc, argv, kill_usage, &id, &rcflag, &timeout, &rc) < 0)
		return rc;
	struct fb_err err = { 0 };
	char *dir = NULL;
	jv st;
	if (load_vm(rcflag, id, &dir, &st, &err) < 0) {
		free(dir);
		return fail(&err);
	}
	jv final;
	stop_vm(dir, st, timeout, &final);
	free(dir);
	/* what it reported before it went */
	jv out = jv_object_set(jv_object(), jv_string("id"), jv_string(id));
	jv ex = jv_object_get(final, jv_string("exit_code"));
	if (jv_get_kind(ex) != JV_KIND_NUMBER) {
		jv_free(ex);
		ex = jv_null();
	}
	out = jv_object_set(out, jv_string("killed"), jv_true());
	out = jv_object_set(out, jv_string("exit_code"), ex);
	return fb_json_write_stdout(out, &err) < 0 ? fail(&err) : 0;
}

static const char purge_usage[] =
	"Usage: firebuild purge [--run-cache DIR]\n"
	"Remove what VMs that ended any other way left behind; running VMs are\n"
	"not touched.\n";

int cmd_purge(int argc, char **argv)
{
	const char *id = NULL, *rcflag = NULL;
	long to = 0;
	int rc = 0;
	if (parse_vm_flags(argc, argv, purge_usage, &id, &rcflag, &to, &rc) < 0)
		return rc;
	char *runs = fb_xasprintf("%s/runs", run_cache_dir(rcflag));
	DIR *d = opendir(runs);
	struct dirent *e;
	jv purged = jv_array();
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *dir = fb_xasprintf("%s/%s", runs, e->d_name), *p = fb_xasprintf("%s/state.json", dir);
		jv st;
		struct fb_err er = { 0 };
		bool gone;
		if (read_json(p, &st, &er) == 0) {
			long sup = num(st, "supervisor_pid");
			bool running = !strcmp(vm_status(st), "running");
			/* a supervisor whose VMM just died is writing its last state */
			for (int i = 0; !running && i < 30 && alive(sup, "firebuild"); i++)
				usleep(100000);
			gone = !running && !alive(sup, "firebuild");
			jv_free(st);
		} else {
			/* no state: a run that died while starting, if it is old enough */
			struct stat sb;
			gone = stat(dir, &sb) == 0 && time(NULL) - sb.st_mtime > 60;
		}
		if (gone && fb_tree_remove(dir) == 0)
			purged = jv_array_append(purged, jv_string(e->d_name));
		free(dir);
		free(p);
	}
	if (d)
		closedir(d);
	free(runs);
	struct fb_err err = { 0 };
	return fb_json_write_stdout(jv_object_set(jv_object(), jv_string("purged"), purged), &err) < 0 ? fail(&err) : 0;
}
