/* A static probe run inside fb-exec's sandbox (tests/bats/fb-exec.bats):
 * tries the syscalls the seccomp filter decides on and prints one line
 * each, NAME=ok or NAME=ERRNO-NAME. Harmless when allowed: nothing is
 * loaded, mounted or kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void report(const char *name, long r)
{
	if (r >= 0) {
		printf("%s=ok\n", name);
		return;
	}
	const char *e = errno == EPERM ? "EPERM" : errno == ENOSYS ? "ENOSYS" : errno == EINVAL ? "EINVAL"
			: errno == EFAULT ? "EFAULT" : errno == EACCES ? "EACCES" : NULL;
	if (e)
		printf("%s=%s\n", name, e);
	else
		printf("%s=errno%d\n", name, errno);
}

#if defined(__x86_64__)
/* the i386 ABI from a 64-bit process: int $0x80 takes i386 numbers */
static long i386_call(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* A kernel built or booted without IA32 emulation has no int $0x80 entry
 * (the instruction faults, SIGSEGV): nothing there for a filter to cover.
 * Any other end (a filter's SIGSYS) counts as present, and is tested. */
static int i386_entry_present(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		i386_call(20, 0, 0, 0);
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return !(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}
#endif

/* a call that changes the caller (a new user namespace, a persona) runs in
 * a child of its own; its errno comes back as the exit status */
static void in_child(const char *name, int what)
{
	pid_t pid = fork();
	if (pid == 0) {
		long r = -1;
		switch (what) {
		case 0: r = unshare(CLONE_NEWUSER); break;
		case 1: r = personality(ADDR_NO_RANDOMIZE); break;
#if defined(__x86_64__)
		case 2: r = i386_call(310, CLONE_NEWUSER, 0, 0); break;
#endif
		}
		_exit(r < 0 ? errno : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
	report(name, errno ? -1 : 0);
}

int main(void)
{
	report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
	report("add_key", syscall(SYS_add_key, "user", "fb-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
	in_child("unshare_user", 0);
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	report("clone_newuser", pid);
	pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	report("clone", pid);
	report("clone3", syscall(SYS_clone3, NULL, 0));
	report("bpf", syscall(SYS_bpf, 0, NULL, 0));
	report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
	report("umount", umount2("/proc", MNT_DETACH));
	report("setns", setns(0, 0));
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	long ring = syscall(SYS_io_uring_setup, 1, &p);
	report("io_uring_setup", ring);
	if (ring >= 0)
		close((int)ring);
	int vs = socket(AF_VSOCK, SOCK_STREAM, 0);
	report("socket_vsock", vs);
	if (vs >= 0)
		close(vs);
	int in = socket(AF_INET, SOCK_DGRAM, 0);
	report("socket_inet", in);
	if (in >= 0)
		close(in);
	report("personality_query", personality(0xffffffff));
	in_child("personality_addr_no_randomize", 1);
	report("sethostname", sethostname("probe", 5));
	report("chroot", chroot("/"));
#if defined(__x86_64__)
	if (!i386_entry_present()) {
		printf("i386=absent\n");
		return fflush(stdout) == 0 ? 0 : 1;
	}
	report("i386_keyctl", i386_call(288, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
	in_child("i386_unshare_user", 2);
	report("i386_getpid", i386_call(20, 0, 0, 0));
#endif
	return fflush(stdout) == 0 ? 0 : 1;
}
