/* The RUN sandbox's seccomp filter: Docker's default profile as a deny
 * list. The syscalls Docker refuses to a container with its default
 * capabilities (module loading, kexec, bpf, perf_event_open, keyctl,
 * mount and its new API, unshare/setns, clone with namespace flags,
 * swapon, reboot, clock setting, io_uring, ...) fail with EPERM, clone3
 * with ENOSYS (so libc falls back to clone, whose flags can be checked),
 * socket(AF_VSOCK) and personality() other than Docker's values with EPERM.
 * Everything else is allowed, new syscalls included: a libc that probes
 * one and falls back on ENOSYS keeps working. Written by hand in classic
 * BPF: the native ABI and, on x86_64, the i386 one (x32 refused). */
#ifndef FB_SYSFILTER_H
#define FB_SYSFILTER_H

#include "err.h"

#include <stddef.h>

struct fb_err;
struct sock_filter;

/* The program, malloc'ed; -1 on an architecture we have no table for. */
int fb_sysfilter_build(struct sock_filter **prog, size_t *len, struct fb_err *err) FB_MUST_CHECK;
/* Build and load it into this process (needs CAP_SYS_ADMIN or no_new_privs;
 * children inherit it). */
int fb_sysfilter_install(struct fb_err *err) FB_MUST_CHECK;

/* The i386 ABI's numbers (sysfilter_i386.c: its header and ours clash). */
extern const int fb_sysfilter_i386_deny[];
extern const size_t fb_sysfilter_i386_ndeny;
extern const int fb_sysfilter_i386_nr[4]; /* clone, clone3, socket, personality */

#endif
