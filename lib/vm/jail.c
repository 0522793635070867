#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "err.h"
#include "san.h"
#include "state.h"
#include "store.h"
#include "tree.h"
#include "proc.h"
#include "util.h"

#define CG "/sys/fs/cgroup"

/* What the VMM's cgroup gets beyond the guest's: the guest's memory plus
 * 256 MiB, and its vCPUs plus one CPU for the VMM's own threads (device
 * emulation, I/O, the main loop), which run beside the vCPUs. With the
 * vCPUs alone a busy 1-vCPU TCG guest's QEMU was throttled in 63-87 of
 * ~139 100 ms periods over 12 boots (5-17 ms a boot); with 1.5 CPUs in
 * none; a whole CPU leaves room for a guest's I/O. --cgroup cpu.max=...
 * (v1: cpu.cfs_quota_us) replaces it. */
#define VMM_MEM_MIB 256
#define VMM_CPUS 1

static int cg_set(struct fb_jail *j, const char *dir, const char *file, const char *value, struct fb_err *err)
{
	char *p = fb_xasprintf("%s/%s", dir, file);
	int r = fb_write_str(p, value) < 0 ? fb_err_errno(err, errno, "cgroup %s = %s", p, value) : 0;
	free(p);
	(void)j;
	return r;
}

static bool cg_visible(void)
{
	return access(CG "/cgroup.controllers", F_OK) == 0 || access(CG "/cpu/cgroup.procs", F_OK) == 0 ||
	       access(CG "/memory/cgroup.procs", F_OK) == 0;
}

int fb_jail_cgroup_reach(struct fb_err *err)
{
	if (cg_visible())
		return 0;
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_file("/proc/self/cgroup", &b, err) < 0) {
		fb_buf_free(&b);
		return -1;
	}
	/* hierarchy lines are "ID:CONTROLLERS:PATH"; v2's is "0::PATH", alone
	 * on a v2-only host, beside the v1 ones on a hybrid one */
	struct fb_strv v1 = FB_STRV_INIT;
	bool v2 = false;
	char *save = NULL;
	for (char *l = strtok_r(b.data ? b.data : (char[]){ 0 }, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (c1 + 1 == c2)
			v2 = true;
		else if (strncmp(c1 + 1, "name=", 5))
			fb_strv_push(&v1, c1 + 1);
	}
	fb_buf_free(&b);
	int r = 0;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		r = fb_err_errno(err, errno, "cgroups: a mount namespace of our own (/sys/fs/cgroup is hidden here)");
	else if (!v1.n && v2 && mount("cgroup2", CG, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		r = fb_err_errno(err, errno, "cgroups: mount cgroup2 on %s", CG);
	else if (v1.n && mount("cgroup", CG, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		r = fb_err_errno(err, errno, "cgroups: mount a tmpfs on %s", CG);
	for (size_t i = 0; r == 0 && i < v1.n; i++) {
		/* "cpu,cpuacct": mounted under that name, each controller a link to it */
		char *d = fb_xasprintf(CG "/%s", v1.v[i]);
		if (mkdir(d, 0555) == 0 && mount("cgroup", d, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, v1.v[i]) == 0 &&
		    strchr(v1.v[i], ',')) {
			char *list = fb_xstrdup(v1.v[i]), *s2 = NULL;
			for (char *c = strtok_r(list, ",", &s2); c; c = strtok_r(NULL, ",", &s2)) {
				char *ln = fb_xasprintf(CG "/%s", c);
				if (symlink(v1.v[i], ln) < 0) {
					/* that controller then stays out of reach */
				}
				free(ln);
			}
			free(list);
		}
		free(d);
	}
	fb_strv_free(&v1);
	if (r == 0 && !cg_visible())
		r = fb_err_set(err, FB_EXIT_FAILED, "cgroup", "cgroups: no cgroup hierarchy at %s, and none could be mounted", CG);
	return r;
}

static void cg_rmdirs(char *const *dirs, int n)
{
	for (int i = 0; i < n; i++)
		if (dirs[i] && !strncmp(dirs[i], CG "/", strlen(CG "/")) && !strstr(dirs[i], "/../"))
			rmdir(dirs[i]);
}

void fb_jail_cgroups_remove(char *const *dirs, int n)
{
	if (cg_visible()) {
		cg_rmdirs(dirs, n);
		return;
	}
	/* hidden here: reached in a child, whose mount namespace goes with it */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct fb_err e = { 0 };
		if (fb_jail_cgroup_reach(&e) == 0)
			cg_rmdirs(dirs, n);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* The CPUs of NUMA node n ("0-3,8-11"), or NULL. */
static char *node_cpus(int n)
{
	char *p = fb_xasprintf("/sys/devices/system/node/node%d/cpulist", n);
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = { 0 };
	char *r = NULL;
	if (fb_read_file(p, &b, &e) == 0 && b.len)
		r = fb_xstrndup(fb_buf_str(&b), strcspn(fb_buf_str(&b), "\n"));
	fb_buf_free(&b);
	free(p);
	return r;
}

/* v1's cpuset: <CG>/cpuset/firebuild (the whole machine's) and the VM's
 * group on the node. */
static int cpuset_v1(const struct fb_jail_opts *o, struct fb_jail *j, const char *cpus, struct fb_err *err)
{
	struct fb_buf all_c = FB_BUF_INIT, all_m = FB_BUF_INIT;
	struct fb_err e = { 0 };
	/* unreadable: empty, and the writes of the VM's own set below fail and say so */
	FB_IGNORE(fb_read_file(CG "/cpuset/cpuset.cpus", &all_c, &e));
	FB_IGNORE(fb_read_file(CG "/cpuset/cpuset.mems", &all_m, &e));
	int r = fb_mkdir_p(CG "/cpuset/firebuild", 0755, err);
	if (r == 0) {
		fb_write_str(CG "/cpuset/firebuild/cpuset.cpus", fb_buf_str(&all_c));
		fb_write_str(CG "/cpuset/firebuild/cpuset.mems", fb_buf_str(&all_m));
	}
	fb_buf_free(&all_c);
	fb_buf_free(&all_m);
	if (r < 0)
		return -1;
	char *d = fb_xasprintf(CG "/cpuset/firebuild/%s", o->id);
	if (mkdir(d, 0755) < 0 && errno != EEXIST) {
		r = fb_err_errno(err, errno, "cgroup %s", d);
		free(d);
		return r;
	}
	j->cgroups[j->ncgroups++] = d;
	char mems[16];
	snprintf(mems, sizeof(mems), "%d", o->numa_node);
	if (cg_set(j, d, "cpuset.cpus", cpus, err) < 0 || cg_set(j, d, "cpuset.mems", mems, err) < 0)
		return -1;
	return 0;
}

/* The cgroup: v2 when the unified hierarchy is mounted at /sys/fs/cgroup,
 * else v1's cpu and memory controllers (and cpuset for a NUMA node). */
static int cgroup_make(const struct fb_jail_opts *o, struct fb_jail *j, struct fb_err *err)
{
	char buf[64];
	/* the limits, the same for v1 and v2: a quota of 100 ms periods, bytes */
	long long quota = ((long long)o->cpu + VMM_CPUS) * 100000, mem = ((long long)o->mem + VMM_MEM_MIB) << 20;
	char *cpus = NULL;
	if (o->numa_node >= 0 && !(cpus = node_cpus(o->numa_node)))
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--jailer-numa-node %d: no such NUMA node here", o->numa_node);
	if (fb_jail_cgroup_reach(err) < 0) {
		free(cpus);
		return -1;
	}
	int r = 0;
	if (access(CG "/cgroup.controllers", F_OK) == 0) {
		/* v2: let the children have cpu and memory, then our group */
		const char *ctls = cpus ? "+cpu +memory +pids +cpuset" : "+cpu +memory +pids";
		fb_write_str(CG "/cgroup.subtree_control", ctls);
		if (fb_mkdir_p(CG "/firebuild", 0755, err) < 0) {
			free(cpus);
			return -1;
		}
		fb_write_str(CG "/firebuild/cgroup.subtree_control", ctls);
		char *d = fb_xasprintf(CG "/firebuild/%s", o->id);
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			r = fb_err_errno(err, errno, "cgroup %s", d);
			free(d);
			free(cpus);
			return r;
		}
		j->cgroups[j->ncgroups++] = d;
		snprintf(buf, sizeof(buf), "%lld 100000", quota);
		r = cg_set(j, d, "cpu.max", buf, err);
		snprintf(buf, sizeof(buf), "%lld", mem);
		if (r == 0)
			r = cg_set(j, d, "memory.max", buf, err);
		if (r == 0 && cpus) {
			snprintf(buf, sizeof(buf), "%d", o->numa_node);
			r = cg_set(j, d, "cpuset.cpus", cpus, err) < 0 || cg_set(j, d, "cpuset.mems", buf, err) < 0 ? -1 : 0;
		}
		free(cpus);
		return r;
	}
	static const char *const ctl[] = { "cpu", "memory" };
	for (size_t i = 0; i < 2; i++) {
		char *base = fb_xasprintf(CG "/%s/firebuild", ctl[i]);
		char *d = fb_xasprintf("%s/%s", base, o->id);
		r = fb_mkdir_p(base, 0755, err);
		if (r == 0 && mkdir(d, 0755) < 0 && errno != EEXIST)
			r = fb_err_errno(err, errno, "cgroup %s", d);
		free(base);
		if (r < 0) {
			free(d);
			free(cpus);
			return -1;
		}
		j->cgroups[j->ncgroups++] = d;
	}
	snprintf(buf, sizeof(buf), "%lld", quota);
	if (cg_set(j, j->cgroups[0], "cpu.cfs_period_us", "100000", err) < 0 ||
	    cg_set(j, j->cgroups[0], "cpu.cfs_quota_us", buf, err) < 0)
		r = -1;
	snprintf(buf, sizeof(buf), "%lld", mem);
	if (r == 0)
		r = cg_set(j, j->cgroups[1], "memory.limit_in_bytes", buf, err);
	if (r == 0 && cpus)
		r = cpuset_v1(o, j, cpus, err);
	free(cpus);
	return r;
}

static int node(const char *root, const char *rel, const char *host, uid_t uid, gid_t gid, struct fb_err *err)
{
	struct stat st;
	if (stat(host, &st) < 0)
		return 0; /* the host has none: neither does the jail */
	char *p = fb_xasprintf("%s/%s", root, rel);
	int r = 0;
	if (mknod(p, S_IFCHR | 0660, st.st_rdev) < 0 && errno != EEXIST)
		r = fb_err_errno(err, errno, "jail device %s", p);
	else if (chown(p, uid, gid) < 0)
		r = fb_err_errno(err, errno, "jail device %s", p);
	free(p);
	return r;
}

/* Every cgroup directory cgroup_make may make for id (v2's, v1's three). */
static void cg_candidates(const char *id, struct fb_strv *out)
{
	static const char *const where[] = { CG "/firebuild", CG "/cpu/firebuild", CG "/memory/firebuild", CG "/cpuset/firebuild" };
	for (size_t i = 0; i < FB_ARRAY_LEN(where); i++)
		fb_strv_push_owned(out, fb_xasprintf("%s/%s", where[i], id));
}

int fb_jail_prepare(const struct fb_jail_opts *o, struct fb_jail *j, struct fb_err *err)
{
	memset(j, 0, sizeof(*j));
	j->uid = o->uid;
	j->gid = o->gid;
	char *parent = fb_xasprintf("%s/%s", o->base, o->vmm);
	j->dir = fb_xasprintf("%s/%s", parent, o->id);
	j->root = fb_xasprintf("%s/root", j->dir);
	int pr = fb_mkdir_p(parent, 0755, err);
	free(parent);
	if (pr < 0) {
		fb_jail_free(j); /* nothing of it is ours */
		return -1;
	}
	/* made here, or another VM's: nothing of that one may be removed */
	if (mkdir(j->dir, 0700) < 0) {
		if (errno == EEXIST)
			fb_err_set(err, FB_EXIT_CONFLICT, "exists", "jail %s exists (another VM, or one to purge)", j->dir);
		else
			fb_err_errno(err, errno, "create %s", j->dir);
		fb_jail_free(j);
		return -1;
	}
	if (o->record) {
		struct fb_strv cgs = FB_STRV_INIT;
		cg_candidates(o->id, &cgs);
		int rr = fb_vm_jail_record_save(o->record, j->dir, cgs.v, cgs.n, err);
		fb_strv_free(&cgs);
		if (rr < 0)
			return -1;
	}
	/* the root is the jail user's alone: it traverses it (it is the VMM's /),
	 * and no one else reaches the VM's disks */
	if (mkdir(j->root, 0700) < 0 || chown(j->root, o->uid, o->gid) < 0 || chmod(j->root, 0700) < 0)
		return fb_err_errno(err, errno, "jail %s", j->root);
	static const char *const dirs[] = { "/dev", "/dev/net", "/run", "/tmp", "/usr", "/lib", "/lib64", "/bin", "/etc",
					    "/proc" };
	for (size_t i = 0; i < FB_ARRAY_LEN(dirs); i++) {
		char *d = fb_xasprintf("%s%s", j->root, dirs[i]);
		int r = fb_mkdir_p(d, 0755, err);
		free(d);
		if (r < 0)
			return -1;
	}
	char *run = fb_xasprintf("%s/run", j->root), *tmp = fb_xasprintf("%s/tmp", j->root);
	int r = chown(run, o->uid, o->gid) < 0 || chown(tmp, o->uid, o->gid) < 0 ? fb_err_errno(err, errno, "jail %s", run) : 0;
	free(run);
	free(tmp);
	if (r < 0 || node(j->root, "dev/kvm", "/dev/kvm", o->uid, o->gid, err) < 0 ||
	    node(j->root, "dev/net/tun", "/dev/net/tun", o->uid, o->gid, err) < 0 ||
	    node(j->root, "dev/null", "/dev/null", o->uid, o->gid, err) < 0 ||
	    node(j->root, "dev/urandom", "/dev/urandom", o->uid, o->gid, err) < 0)
		return -1;
	/* /etc: the dynamic loader's cache and the time zone, copies (not
	 * synced: the jail goes with the VM); nothing else of the host's
	 * configuration is visible in the jail */
	static const char *const etc[] = { "/etc/ld.so.cache", "/etc/localtime" };
	for (size_t i = 0; i < FB_ARRAY_LEN(etc); i++) {
		char *dst = fb_xasprintf("%s%s", j->root, etc[i]);
		struct fb_err ce = { 0 };
		if (access(etc[i], R_OK) == 0 && fb_copy_scratch(etc[i], dst, &ce) == 0)
			chmod(dst, 0644);
		free(dst);
	}
	if (cgroup_make(o, j, err) < 0)
		return -1;
	for (size_t s = 0; s < o->ncgroup; s++) {
		/* a v1 file goes to the controller it names */
		const char *key = o->cgroup[s].file;
		const char *dir = j->cgroups[0];
		for (int i = 0; i < j->ncgroups; i++) {
			const char *ctl = strstr(j->cgroups[i], CG "/") ? j->cgroups[i] + strlen(CG "/") : "";
			if (!strncmp(key, ctl, strcspn(ctl, "/")) && key[strcspn(ctl, "/")] == '.')
				dir = j->cgroups[i];
		}
		if (strchr(key, '/') || !o->cgroup[s].value)
			return fb_err_set(err, FB_EXIT_USAGE, "usage", "--cgroup %s: expected FILE=VALUE", key);
		if (cg_set(j, dir, key, o->cgroup[s].value, err) < 0)
			return -1;
	}
	return 0;
}

char *fb_jail_link(struct fb_jail *j, const char *src, const char *name, bool writable, struct fb_err *err)
{
	char *dst = fb_xasprintf("%s/%s", j->root, name);
	unlink(dst);
	if (link(src, dst) < 0 && fb_copy_scratch(src, dst, err) < 0) {
		free(dst);
		return NULL;
	}
	/* the VM's own disks: the jail user's alone (a hard link is the run
	 * directory's copy too) */
	if (writable && (chown(dst, j->uid, j->gid) < 0 || chmod(dst, 0600) < 0)) {
		fb_err_errno(err, errno, "jail %s", dst);
		free(dst);
		return NULL;
	}
	free(dst);
	return fb_xasprintf("/%s", name);
}

struct child_args {
	struct fb_jail *j;
	char *const *argv;
	int out_fd, keep_stdin;
	int report; /* write end */
	char *stack; /* the child's */
	size_t stack_size;
};

static void __attribute__((noreturn)) die(struct child_args *c, const char *what)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errno));
	if (write(c->report, msg, (size_t)n) < 0) {
		/* the parent sees the exit anyway */
	}
	_exit(126);
}

/* Close every descriptor from 3 up but keep: close_range where the
 * kernel has it (two calls, not 4093). */
static void close_others(int keep)
{
	bool ok = keep >= 3 && (keep == 3 || syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0) &&
		  syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0;
	for (int fd = 3; !ok && fd < 4096; fd++)
		if (fd != keep)
			close(fd);
}

static int child(void *arg)
{
	struct child_args *c = arg;
	struct fb_jail *j = c->j;
	fb_san_child_stack(c->stack, c->stack_size);
	for (int i = 0; i < j->ncgroups; i++)
		if (fb_cgroup_enter(j->cgroups[i]) < 0)
			die(c, "join the cgroup");
	/* nothing we mount here reaches the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount(j->root, j->root, NULL, MS_BIND, NULL) < 0)
		die(c, "mount the jail");
	/* the host's /etc is not here: fb_jail_prepare copied in what the
	 * loader and QEMU read */
	static const char *const ro[] = { "/usr", "/lib", "/lib64", "/bin" };
	for (size_t i = 0; i < FB_ARRAY_LEN(ro); i++) {
		char *t = fb_xasprintf("%s%s", j->root, ro[i]);
		if (access(ro[i], F_OK) == 0 &&
		    (mount(ro[i], t, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		     mount(NULL, t, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0))
			die(c, ro[i]);
		free(t);
	}
	for (int i = 0; i < j->nbinds; i++) {
		char *t = fb_xasprintf("%s%s", j->root, j->binds[i].dst);
		unsigned long rdonly = j->binds[i].ro ? MS_RDONLY : 0;
		if (mount(j->binds[i].src, t, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, t, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | rdonly, NULL) < 0)
			die(c, j->binds[i].dst);
		free(t);
	}
	fb_san_report_to_stderr();
	if (chdir(j->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die(c, "pivot_root into the jail");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die(c, "mount /proc");
	struct rlimit nofile = { 4096, 4096 }, core = { 0, 0 };
	setrlimit(RLIMIT_NOFILE, &nofile);
	setrlimit(RLIMIT_CORE, &core);
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0)
		die(c, "/dev/null");
	if (!c->keep_stdin)
		dup2(nul, 0);
	if (c->out_fd >= 0)
		dup2(c->out_fd, 1);
	/* every other descriptor goes (the report pipe is close-on-exec) */
	close_others(c->report);
	if (clearenv() != 0 || setgroups(0, NULL) < 0 || setgid(j->gid) < 0 || setuid(j->uid) < 0)
		die(c, "drop privileges");
	if (j->uid == 0 && j->keep_caps) {
		/* root keeps only these: exec gives it the bounding set */
		for (int cap = 0; cap < 64; cap++)
			if (!(j->keep_caps & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
				break;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			die(c, "no_new_privs");
	}
	/* the VMM goes with its supervisor: a VMM nobody supervises is one no
	 * run directory shows (set after the ids change, which clears it) */
	if (prctl(PR_SET_PDEATHSIG, j->death_signal ? j->death_signal : SIGKILL, 0, 0, 0) < 0)
		die(c, "PR_SET_PDEATHSIG");
	execve(c->argv[0], c->argv, (char *[]){ NULL });
	die(c, c->argv[0]);
}

pid_t fb_jail_spawn(struct fb_jail *j, char *const argv[], int stdout_fd, bool keep_stdin, struct fb_err *err)
{
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0)
		return fb_err_errno(err, errno, "pipe");
	size_t ss = 1 << 20;
	char *stack = fb_xmalloc(ss);
	struct child_args c = { j, argv, stdout_fd, keep_stdin, rep[1], stack, ss };
	pid_t pid = clone(child, stack + ss, CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, &c);
	int e = errno;
	close(rep[1]);
	if (pid < 0) {
		close(rep[0]);
		free(stack);
		return fb_err_errno(err, e, "clone into the jail");
	}
	char msg[512] = "";
	ssize_t n = read(rep[0], msg, sizeof(msg) - 1);
	close(rep[0]);
	free(stack);
	if (n > 0) {
		msg[n] = '\0';
		waitpid(pid, NULL, 0);
		return fb_err_set(err, FB_EXIT_FAILED, "jail", "jail %s: %s", j->root, msg);
	}
	return pid;
}

void fb_jail_add_bind(struct fb_jail *j, const char *src, const char *dst, bool ro)
{
	j->binds = fb_xrealloc(j->binds, (size_t)(j->nbinds + 1) * sizeof(*j->binds));
	j->binds[j->nbinds++] = (struct fb_jail_bind){ fb_xstrdup(src), fb_xstrdup(dst), ro };
	char *t = fb_xasprintf("%s%s", j->root, dst);
	struct fb_err e = { 0 };
	/* a mount point that cannot be made fails the bind in the jail's child,
	 * which says so */
	FB_IGNORE(fb_mkdir_p(t, 0755, &e));
	free(t);
}

void fb_jail_remove(struct fb_jail *j)
{
	if (j->dir)
		fb_tree_remove(j->dir);
	fb_jail_cgroups_remove(j->cgroups, j->ncgroups);
}

void fb_jail_free(struct fb_jail *j)
{
	free(j->root);
	free(j->dir);
	for (int i = 0; i < j->ncgroups; i++)
		free(j->cgroups[i]);
	for (int i = 0; i < j->nbinds; i++) {
		free(j->binds[i].src);
		free(j->binds[i].dst);
	}
	free(j->binds);
	memset(j, 0, sizeof(*j));
}
