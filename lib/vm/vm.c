#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "jail.h"
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

void fb_vm_new_id(char out[21])
{
	unsigned char rnd[6];
	int rf = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (rf < 0 || read(rf, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)((unsigned long)ts.tv_nsec >> (i * 5) ^ (unsigned long)getpid() >> i);
	}
	if (rf >= 0)
		close(rf);
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

/* What the VMM's command line holds. */
static const char *vmm_name(const struct fb_vm_state *st)
{
	return st->backend && !strcmp(st->backend, "firecracker") ? "firecracker" : "qemu-system";
}

const char *fb_vm_status(const struct fb_vm_state *st)
{
	if (fb_vm_alive(st->pid, vmm_name(st)))
		return "running";
	return st->status && !strcmp(st->status, "exited") ? "exited" : "dead";
}

int fb_vm_stop(const char *dir, long timeout, struct fb_vm_state *final, struct fb_err *err)
{
	char *p = fb_xasprintf("%s/state.json", dir);
	struct fb_vm_state st;
	struct fb_err le = { 0 };
	if (fb_vm_state_load(p, &st, &le) < 0) {
		/* a state of another shape is read as found: nothing it names is
		 * signalled; one that is not there (or no JSON) is an error */
		if (strcmp(le.kind, "invalid")) {
			*err = le;
			free(p);
			return -1;
		}
		st = (struct fb_vm_state){ 0 };
	}
	long sup = st.supervisor_pid, pid = st.pid;
	const char *vmm = vmm_name(&st);
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
	struct fb_vm_state last;
	if (fb_vm_state_load(p, &last, &le) == 0) {
		fb_vm_state_free(&st);
		st = last;
	}
	free(p);
	*final = st;
	return 0;
}

/* A jail directory a record names, removed when it is one: absolute, named
 * for the VM, no way up (a record is input like any other). */
static void remove_jail_dir(const char *j, const char *id)
{
	const char *slash = strrchr(j, '/');
	if (j[0] == '/' && slash && slash != j && !strcmp(slash + 1, id) && !strstr(j, "/../"))
		fb_tree_remove(j);
}

/* A record's jail and cgroups (state.json, or jail.json), removed; what it
 * names is checked first: the jail is a directory named for the VM, its
 * cgroups are firebuild's. */
static void remove_jail(const char *path, const char *id)
{
	struct fb_vm_state st;
	struct fb_err se = { 0 };
	if (fb_vm_state_load(path, &st, &se) < 0)
		return;
	if (st.jail_dir)
		remove_jail_dir(st.jail_dir, id);
	struct fb_strv dirs = FB_STRV_INIT;
	for (size_t i = 0; i < st.cgroups.n; i++) {
		const char *c = st.cgroups.v[i];
		if (!strncmp(c, "/sys/fs/cgroup/", 15) && strstr(c, "/firebuild/") && !strstr(c, "/.."))
			fb_strv_push(&dirs, c);
	}
	fb_jail_cgroups_remove(dirs.v, (int)dirs.n);
	fb_strv_free(&dirs);
	fb_vm_state_free(&st);
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
	/* the records are not synced: after a power loss they may be empty,
	 * and the jail directory (all of a jail that outlives one) is still
	 * named by the link */
	char *link = fb_xasprintf("%s/%s", dir, FB_VM_JAIL_LINK), target[PATH_MAX];
	ssize_t tn = readlink(link, target, sizeof(target) - 1);
	if (tn > 0) {
		target[tn] = '\0';
		remove_jail_dir(target, id);
	}
	free(link);
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
	struct fb_vm_state st;
	struct fb_err e = { 0 };
	const char *what;
	if (fb_vm_state_load(p, &st, &e) == 0) {
		what = fb_vm_status(&st);
		fb_vm_state_free(&st);
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

int fb_vm_abandon(const char *dir, const char *id, int lock_fd, struct fb_err *err)
{
	char *st = fb_xasprintf("%s/state.json", dir), *lock = fb_xasprintf("%s/lock", dir);
	struct stat a, b;
	/* only the directory of the name the caller took: one of the same name
	 * made since (this start undone by another step) is another VM's */
	bool mine = fstat(lock_fd, &a) == 0 && lstat(lock, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	bool ran = access(st, F_OK) == 0;
	free(st);
	free(lock);
	if (!mine || ran)
		return 0;
	return fb_vm_teardown(dir, id, err);
}

int fb_vm_inherited_lock(const char *dir)
{
	const char *env = getenv(FB_VM_LOCK_ENV);
	if (!env)
		return -1;
	char *path = fb_xasprintf("%s/lock", dir), *end;
	long fd = strtol(env, &end, 10);
	struct stat a, b;
	int r = -1;
	/* only the lock of this run directory */
	if (!*end && fd > 2 && fd < 65536 && fstat((int)fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino) {
		r = (int)fd;
		fcntl(r, F_SETFD, FD_CLOEXEC);
	}
	unsetenv(FB_VM_LOCK_ENV);
	free(path);
	return r;
}
