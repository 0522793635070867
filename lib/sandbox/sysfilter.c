#include "sysfilter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "err.h"
#include "util.h"

static const int native_deny[] = {
#include "sysfilter_list.h"
};

/* clone's namespace flags: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
 * NEWPID, NEWNET (Docker's mask, 0x7E020000) */
#define NS_FLAGS 0x7E020000u
#define AF_VSOCK_ 40u
#define X32_BIT 0x40000000u

#define RET(v) ((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (v)))
#define ERRNO(e) RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define ALLOW RET(SECCOMP_RET_ALLOW)
#define JEQ(k, t, f) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f)))
#define LD(off) ((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off)))

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sysfilter: the argument checks read the low word first (little-endian)"
#endif
/* the low 32 bits of argument 0: all clone, socket and personality look at */
#define ARG0 ((uint32_t)offsetof(struct seccomp_data, args[0]))

struct prog {
	struct sock_filter *v;
	size_t n, cap;
};

static void emit(struct prog *p, struct sock_filter f)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->v = fb_xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n++] = f;
}

/* One ABI: the syscall number is loaded; every branch returns. Each check
 * is a few instructions with short forward jumps, so no offset ever nears
 * classic BPF's 255 limit. nr[] = clone, clone3, socket, personality. */
static void abi(struct prog *p, const int *deny, size_t ndeny, const int nr[4])
{
	emit(p, LD((uint32_t)offsetof(struct seccomp_data, nr)));
	for (size_t i = 0; i < ndeny; i++) {
		emit(p, JEQ((uint32_t)deny[i], 0, 1));
		emit(p, ERRNO(EPERM));
	}
	/* clone: no new namespaces */
	emit(p, JEQ((uint32_t)nr[0], 0, 4));
	emit(p, LD(ARG0));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1));
	emit(p, ERRNO(EPERM));
	emit(p, ALLOW);
	/* clone3: its flags sit behind a pointer; ENOSYS sends libc to clone */
	emit(p, JEQ((uint32_t)nr[1], 0, 1));
	emit(p, ERRNO(ENOSYS));
	/* socket: no AF_VSOCK (the host's hypervisor sockets) */
	emit(p, JEQ((uint32_t)nr[2], 0, 4));
	emit(p, LD(ARG0));
	emit(p, JEQ(AF_VSOCK_, 0, 1));
	emit(p, ERRNO(EPERM));
	emit(p, ALLOW);
	/* personality: Docker's values only (PER_LINUX, PER_LINUX32, their
	 * UNAME26 forms, and the query) */
	static const uint32_t personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffffu };
	emit(p, JEQ((uint32_t)nr[3], 0, (uint8_t)(FB_ARRAY_LEN(personas) + 3)));
	emit(p, LD(ARG0));
	for (size_t i = 0; i < FB_ARRAY_LEN(personas); i++)
		emit(p, JEQ(personas[i], (uint8_t)(FB_ARRAY_LEN(personas) - i), 0));
	emit(p, ERRNO(EPERM));
	emit(p, ALLOW);
	emit(p, ALLOW);
}

int fb_sysfilter_build(struct sock_filter **prog, size_t *len, struct fb_err *err)
{
	struct prog p = { 0 };
	static const int native_nr[4] = { SYS_clone, SYS_clone3, SYS_socket, SYS_personality };
#if defined(__x86_64__)
	const uint32_t native_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const uint32_t native_arch = AUDIT_ARCH_AARCH64;
#else
	(void)native_nr;
	return fb_err_set(err, FB_EXIT_FAILED, "seccomp", "no seccomp filter for this architecture");
#endif
	(void)err;
	emit(&p, LD((uint32_t)offsetof(struct seccomp_data, arch)));
	emit(&p, JEQ(native_arch, 0, 1));
	size_t to_native = p.n;
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
#if defined(__x86_64__)
	emit(&p, JEQ(AUDIT_ARCH_I386, 0, 1));
	size_t to_i386 = p.n;
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
#endif
	/* any other ABI (arm32 on arm64): nothing runs */
	emit(&p, ERRNO(EPERM));
	p.v[to_native].k = (uint32_t)(p.n - to_native - 1);
#if defined(__x86_64__)
	/* x32 shares the arch value; its numbers carry bit 30 */
	emit(&p, LD((uint32_t)offsetof(struct seccomp_data, nr)));
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 0, 1));
	emit(&p, ERRNO(EPERM));
#endif
	abi(&p, native_deny, FB_ARRAY_LEN(native_deny), native_nr);
#if defined(__x86_64__)
	p.v[to_i386].k = (uint32_t)(p.n - to_i386 - 1);
	abi(&p, fb_sysfilter_i386_deny, fb_sysfilter_i386_ndeny, fb_sysfilter_i386_nr);
#endif
	*prog = p.v;
	*len = p.n;
	return 0;
}

int fb_sysfilter_install(struct fb_err *err)
{
	struct sock_filter *v;
	size_t n;
	if (fb_sysfilter_build(&v, &n, err) < 0)
		return -1;
	struct sock_fprog fp = { .len = (unsigned short)n, .filter = v };
	int r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0);
	int e = errno;
	free(v);
	if (r < 0)
		return fb_err_errno(err, e, "seccomp filter");
	return 0;
}
