/* The jail a VMM runs in (Firecracker's jailer semantics, for any VMM):
 * <chroot-base>/<vmm>/<id>/root with the kernel, rootfs and config drive
 * linked in (a hard link on one file system, else a reflink or sparse
 * copy), /dev/kvm, /dev/net/tun, /dev/null, /dev/urandom made inside,
 * owned by the jail's uid/gid; a cgroup (v2, or v1 where the host has
 * that) with the CPU and memory limits; then, in the child, new mount and
 * pid namespaces, the host's /usr, /lib, /lib64 and /bin read-only (QEMU is
 * a dynamic program) and copies of /etc/ld.so.cache and /etc/localtime (no
 * other host configuration), pivot_root, rlimits, other descriptors
 * closed, the environment cleared, the uid/gid dropped, exec. */
#ifndef FB_JAIL_H
#define FB_JAIL_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "spec.h"

struct fb_err;

struct fb_jail {
	char *root;      /* <base>/<vmm>/<id>/root */
	char *dir;       /* <base>/<vmm>/<id> */
	char *cgroups[3]; /* the cgroup directories made (v2: one) */
	int ncgroups;
	uid_t uid;
	gid_t gid;
	/* Set by the caller after fb_jail_prepare (fb-runtime): host
	 * directories bound at paths inside the root (made there when
	 * missing), nodev and nosuid; */
	struct fb_jail_bind {
		char *src, *dst;
		bool ro;
	} *binds;
	int nbinds;
	/* with uid 0: the capabilities the VMM keeps (a bit per CAP_*; the
	 * rest leave the bounding set), for a 9p share that must own and
	 * read every file of the container; */
	unsigned long long keep_caps;
	/* sent to the VMM when the process that spawned it dies (0: none). */
	int death_signal;
};

struct fb_jail_opts {
	const char *base, *vmm, *id;
	uid_t uid;
	gid_t gid;
	int cpu, mem;       /* the guest's vCPUs and memory MiB (the cgroup adds the VMM's share) */
	const struct fb_vm_setting *cgroup; /* written after the limits, in order */
	size_t ncgroup;
	int numa_node;      /* >= 0: cpuset on that node's CPUs and memory */
	const char *record; /* or NULL: a file that gets the jail's directory and
			     * every cgroup it may make ({"jail_dir", "cgroups"})
			     * before any of them is made, so a start that dies
			     * half-way can be undone (fb_vm_teardown) */
};

/* The directory (<base>/<vmm>/<id> 0700 root's, its root/ 0700 the jail
 * user's: no one else reaches the VM's files), the devices, the cgroup.
 * A jail directory that exists is another VM's: FB_EXIT_CONFLICT. */
int fb_jail_prepare(const struct fb_jail_opts *o, struct fb_jail *j, struct fb_err *err) FB_MUST_CHECK;
/* A file into the jail's root as /name (link, reflink or copy), owned by
 * the jail's user when writable. Returns the path inside the jail. */
char *fb_jail_link(struct fb_jail *j, const char *src, const char *name, bool writable, struct fb_err *err);
/* Start argv (paths inside the jail) as a clone in new mount and pid
 * namespaces (it is pid 1 there), in the cgroup, pivoted into the root,
 * with rlimits, no other descriptors, an empty environment and the jail's
 * credentials. stdout_fd (or -1) becomes its stdout; stdin is /dev/null
 * unless keep_stdin. The host pid, or -1 with the reason. */
pid_t fb_jail_spawn(struct fb_jail *j, char *const argv[], int stdout_fd, bool keep_stdin, struct fb_err *err);
/* Add a bind (before fb_jail_spawn). */
void fb_jail_add_bind(struct fb_jail *j, const char *src, const char *dst, bool ro);
/* Remove the jail directory and the cgroup (after the VMM ended). */
void fb_jail_remove(struct fb_jail *j);
/* rmdir the cgroup directories (absolute paths under /sys/fs/cgroup;
 * others are left alone), reaching the hierarchy where it is hidden. */
void fb_jail_cgroups_remove(char *const *dirs, int n);
/* Make the cgroup hierarchy visible at /sys/fs/cgroup when it is not
 * (ip netns exec mounts /sys again, without the cgroup file systems): this
 * process moves to a mount namespace of its own (a slave of the one it was
 * in) and mounts there the hierarchies /proc/self/cgroup lists. */
int fb_jail_cgroup_reach(struct fb_err *err) FB_MUST_CHECK;
void fb_jail_free(struct fb_jail *j);
#endif
