#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "jail.h"
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

/* What a state (or jail.json) says the VM's jail held. */
/* A record's jail and cgroups, removed; what it names is checked first (a
 * record is input like any other): the jail is a directory named for the
 * VM, its cgroups are firebuild's. */
static void remove_jail(const char *path, const char *id)
{
	jv st;
	struct fb_err se = { 0 };
	if (fb_json_load(path, &st, &se) < 0)
		return;
	if (jv_get_kind(st) != JV_KIND_OBJECT) {
		jv_free(st);
		return;
	}
	jv jd = jv_object_get(jv_copy(st), jv_string("jail_dir")), cgs = jv_object_get(st, jv_string("cgroups"));
	if (jv_get_kind(jd) == JV_KIND_STRING) {
		const char *j = jv_string_value(jd), *slash = strrchr(j, '/');
		if (j[0] == '/' && slash && slash != j && !strcmp(slash + 1, id) && !strstr(j, "/../"))
			fb_tree_remove(j);
	}
	struct fb_strv dirs = FB_STRV_INIT;
	if (jv_get_kind(cgs) == JV_KIND_ARRAY)
		jv_array_foreach(cgs, i, c)
		{
			if (jv_get_kind(c) == JV_KIND_STRING && !strncmp(jv_string_value(c), "/sys/fs/cgroup/", 15) &&
			    strstr(jv_string_value(c), "/firebuild/") && !strstr(jv_string_value(c), "/.."))
				fb_strv_push(&dirs, jv_string_value(c));
			jv_free(c);
			(void)i;
		}
	fb_jail_cgroups_remove(dirs.v, (int)dirs.n);
	fb_strv_free(&dirs);
	jv_free(jd);
	jv_free(cgs);
}

int fb_vm_teardown(const char *dir, const char *id, struct fb_err *err)
{
	char *cache = fb_xasprintf("%s/cni.json", dir);
	int ret = 0;
	/* a jail whose supervisor did not live to remove it; a start that
	 * died before the state was written left jail.json */
	static const char *const records[] = { "state.json", "jail.json" };
	for (size_t i = 0; i < FB_ARRAY_LEN(records); i++) {
		char *p = fb_xasprintf("%s/%s", dir, records[i]);
		remove_jail(p, id);
		free(p);
	}
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

int fb_vm_trylock(const char *dir, int *fd)
{
	char *p = fb_xasprintf("%s/lock", dir);
	int l = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	free(p);
	if (l < 0)
		return -1;
	int r;
	while ((r = flock(l, LOCK_EX | LOCK_NB)) < 0 && errno == EINTR)
		;
	if (r == 0) {
		*fd = l;
		return 1;
	}
	int e = errno;
	close(l);
	return e == EWOULDBLOCK ? 0 : -1;
}

/* Why the name is taken: what holds <dir>. */
static int name_taken(const char *dir, const char *id, struct fb_err *err)
{
	int fd = -1;
	int l = fb_vm_trylock(dir, &fd);
	if (l == 1)
		close(fd);
	char *p = fb_xasprintf("%s/state.json", dir);
	jv st;
	struct fb_err e = { 0 };
	const char *what;
	if (fb_json_load(p, &st, &e) == 0) {
		what = fb_vm_status(st);
		jv_free(st);
	} else {
		what = l == 0 ? "starting" : NULL;
	}
	free(p);
	if (!what)
		return fb_err_set(err, FB_EXIT_CONFLICT, "duplicate",
				  "--name %s: a start of a VM of that name did not finish (firebuild purge removes what it left)", id);
	return fb_err_set(err, FB_EXIT_CONFLICT, "duplicate", "--name %s: a VM of that name is %s%s", id, what,
			  strcmp(what, "running") && strcmp(what, "starting") ? " (firebuild purge removes it)" : "");
}

int fb_vm_claim(const char *runs, const char *id, int *lock_fd, struct fb_err *err)
{
	if (fb_mkdir_p(runs, 0700, err) < 0)
		return -1;
	char *dir = fb_xasprintf("%s/%s", runs, id), *tmp = fb_xasprintf("%s/.claim-%s-%ld", runs, id, (long)getpid());
	char *lock = fb_xasprintf("%s/lock", tmp);
	int fd = -1, r = 0;
	fb_tree_remove(tmp); /* a claim of a dead process whose pid came round again */
	if (mkdir(tmp, 0700) < 0 || (fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = fb_err_errno(err, errno, "claim %s", dir);
	} else if (rename(tmp, dir) < 0) {
		/* rename(2) replaces an empty directory only: a run directory
		 * always holds its lock file */
		if (errno == EEXIST || errno == ENOTEMPTY)
			r = name_taken(dir, id, err);
		else
			r = fb_err_errno(err, errno, "claim %s", dir);
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		fb_tree_remove(tmp);
	} else {
		/* never one of the standard descriptors, which a daemon replaces */
		if (fd < 3) {
			int hi = fcntl(fd, F_DUPFD, 3);
			if (hi >= 0) {
				close(fd);
				fd = hi;
			}
		}
		*lock_fd = fd;
	}
	free(dir);
	free(tmp);
	free(lock);
	return r;
}
