/* The device allowlist around a sandbox: a cgroup of its own in which only
 * Docker's default nodes can be opened (null, zero, full, random, urandom,
 * tty, console, ptmx and the pts/N terminals), whatever device node the
 * tree, a bind mount or an inherited descriptor's /proc/self/fd link leads
 * to. cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 * cgroup; cgroup v1: the devices controller. A hybrid host has both (the
 * kernel enforces each); AUTO takes v2 when it works, else v1. The cgroup
 * is made below the caller's own, so its other limits still apply. */
#ifndef FB_DEVICES_H
#define FB_DEVICES_H

#include "err.h"

#include <sys/types.h>

struct fb_err;

enum fb_devices_mode { FB_DEVICES_NONE, FB_DEVICES_AUTO, FB_DEVICES_BPF, FB_DEVICES_V1 };

struct fb_devices {
	enum fb_devices_mode used; /* BPF or V1 once made, NONE before */
	char *dir;                 /* the cgroup directory */
};

/* "auto", "bpf" (cgroup v2) or "cgroup1". */
int fb_devices_mode_parse(const char *s, enum fb_devices_mode *mode, struct fb_err *err) FB_MUST_CHECK;
const char *fb_devices_mode_name(enum fb_devices_mode mode);
/* Make the cgroup NAME below this process's own, allowlist in place; no
 * process in it yet: the sandbox enters it itself (fb_cgroup_enter). */
int fb_devices_create(struct fb_devices *d, enum fb_devices_mode mode, const char *name, struct fb_err *err) FB_MUST_CHECK;
/* Remove the cgroup once its processes are gone; never fails loudly (a
 * leftover is swept by the next run). */
void fb_devices_destroy(struct fb_devices *d);
/* Remove cgroups named PREFIX<pid> below ours whose pid no longer runs
 * (what a process killed with -9 left). */
void fb_devices_sweep(const char *prefix);

#endif
