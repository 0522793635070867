#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "proc.h"
#include "tool.h"
#include "store.h"
#include "tree.h"
#include "util.h"

bool fb_vm_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 20)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

bool fb_vm_alive(long pid, const char *what)
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
		return false; /* a zombie has an empty command line */
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

long fb_vm_num(jv o, const char *k)
{
	/* a state.json is read as found: any kind, any number */
	jv v = fb_json_member(o, k);
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;
	long r = d >= -9007199254740992.0 && d <= 9007199254740992.0 ? (long)d : 0;
	jv_free(v);
	return r;
}

/* What the VMM's command line holds. */
static const char *vmm_name(jv st)
{
	jv b = fb_json_member(st, "backend");
	bool fc = jv_get_kind(b) == JV_KIND_STRING && !strcmp(jv_string_value(b), "firecracker");
	jv_free(b);
	return fc ? "firecracker" : "qemu-system";
}

const char *fb_vm_status(jv st)
{
	jv s = fb_json_member(st, "status");
	bool exited = jv_get_kind(s) == JV_KIND_STRING && !strcmp(jv_string_value(s), "exited");
	jv_free(s);
	if (fb_vm_alive(fb_vm_num(st, "pid"), vmm_name(st)))
		return "running";
	return exited ? "exited" : "dead";
}

int fb_vm_stop(const char *dir, long timeout, jv *final, struct fb_err *err)
{
	char *p = fb_xasprintf("%s/state.json", dir);
	jv st;
	if (fb_json_load(p, &st, err) < 0) {
		free(p);
		return -1;
	}
	long sup = fb_vm_num(st, "supervisor_pid"), pid = fb_vm_num(st, "pid");
	const char *vmm = vmm_name(st);
	if (fb_vm_alive(pid, vmm)) {
		/* the supervisor turns SIGTERM into "stop" on the control port */
		kill((pid_t)(fb_vm_alive(sup, "fb-jail") ? sup : pid), fb_vm_alive(sup, "fb-jail") ? SIGTERM : SIGKILL);
		for (long i = 0; i < (timeout + 5) * 10 && (fb_vm_alive(pid, vmm) || fb_vm_alive(sup, "fb-jail")); i++)
			usleep(100000);
		if (fb_vm_alive(pid, vmm))
			kill((pid_t)pid, SIGKILL);
	}
	for (int i = 0; i < 50 && fb_vm_alive(sup, "fb-jail"); i++)
		usleep(100000);
	if (fb_vm_alive(sup, "fb-jail"))
		kill((pid_t)sup, SIGKILL);
	for (int i = 0; i < 50 && fb_vm_alive(pid, vmm); i++)
		usleep(100000);
	struct fb_err e = { 0 };
	jv last;
	if (fb_json_load(p, &last, &e) == 0) {
		jv_free(st);
		st = last;
	}
	free(p);
	*final = st;
	return 0;
}

int fb_vm_teardown(const char *dir, const char *id, struct fb_err *err)
{
	char *cache = fb_xasprintf("%s/cni.json", dir);
	int ret = 0;
	/* a jail whose supervisor did not live to remove it */
	char *sp = fb_xasprintf("%s/state.json", dir);
	jv st;
	struct fb_err se = { 0 };
	if (fb_json_load(sp, &st, &se) == 0) {
		jv jd = fb_json_member(st, "jail_dir"), cgs = fb_json_member(st, "cgroups");
		jv_free(st);
		if (jv_get_kind(jd) == JV_KIND_STRING && strstr(jv_string_value(jd), "/") && strcmp(jv_string_value(jd), "/"))
			fb_tree_remove(jv_string_value(jd));
		if (jv_get_kind(cgs) == JV_KIND_ARRAY)
			jv_array_foreach(cgs, i, c)
			{
				if (jv_get_kind(c) == JV_KIND_STRING && !strncmp(jv_string_value(c), "/sys/fs/cgroup/", 15))
					rmdir(jv_string_value(c));
				jv_free(c);
				(void)i;
			}
		jv_free(jd);
		jv_free(cgs);
	}
	free(sp);
	if (access(cache, F_OK) == 0) {
		char net[PATH_MAX + 64];
		if (fb_tool_path("fb-net", net, sizeof(net), err) < 0) {
			ret = -1;
		} else {
			char *rd = fb_xasprintf("--run-dir=%s", dir), *idf = fb_xasprintf("--id=%s", id);
			char *argv[] = { net, "del", idf, rd, NULL };
			struct fb_buf out = FB_BUF_INIT;
			int code = 0;
			ret = fb_proc_run(argv, NULL, 0, &out, NULL, &code, err);
			if (ret == 0 && code != 0)
				ret = fb_err_set(err, FB_EXIT_FAILED, "cni", "VM %s: fb-net del failed (exit %d); the run directory %s is kept",
						 id, code, dir);
			fb_buf_free(&out);
			free(rd);
			free(idf);
		}
	}
	free(cache);
	if (ret == 0 && fb_tree_remove(dir) < 0)
		ret = fb_err_errno(err, errno, "remove %s", dir);
	return ret;
}
