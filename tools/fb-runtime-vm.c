/* fb-runtime's supervisor setting the VM up: the jail (lib/jail.c; QEMU
 * as root keeping only what a 9p passthrough share needs), the engine's
 * network namespace redirected to taps, the initramfs, QEMU -M microvm
 * and its fb.io port (docs/tools/fb-runtime.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "jail.h"
#include "json.h"
#include "rootfs.h"
#include "tcredirect.h"
#include "tree.h"
#include "tool.h"
#include "util.h"

#include "fb-io.h"
#include "fb-runtime.h"
#include "fb-runtime-sup.h"

/* ---- setting up ---- */

int sup_listen_on(const char *path, struct fb_err *err)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path)) {
		if (fd >= 0)
			close(fd);
		return fb_err_set(err, FB_EXIT_USAGE, "socket_path", "%s is over the Unix socket limit of %d bytes: use a shorter --root",
				  path, RT_SOCK_MAX);
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		int r = fb_err_errno(err, errno, "listen on %s", path);
		if (fd >= 0)
			close(fd);
		return r;
	}
	chmod(path, 0600);
	return fd;
}

static char *jail_id(struct rt_ctx *c)
{
	/* 20 characters of [0-9a-f] from the root and the id: unique, and
	 * short enough for the socket path under any chroot base */
	char *key = fb_xasprintf("%s\n%s", c->root, c->id);
	char d[72];
	fb_sha256_mem(key, strlen(key), d);
	free(key);
	return fb_xstrndup(fb_digest_hex(d), 20);
}

static void push(struct fb_strv *v, const char *s)
{
	fb_strv_push(v, s);
}

static void qemu_argv(struct sup *s, struct fb_strv *a)
{
	struct rt_bundle *b = s->b;
	push(a, "/usr/bin/qemu-system-x86_64");
	push(a, "-sandbox");
	push(a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	push(a, "-M");
	push(a, "microvm,acpi=off,x-option-roms=off");
	push(a, "-m");
	fb_strv_push_owned(a, fb_xasprintf("%lld", b->mem));
	push(a, "-smp");
	fb_strv_push_owned(a, fb_xasprintf("%lld", b->cpu));
	push(a, "-no-user-config");
	push(a, "-nodefaults");
	push(a, "-display");
	push(a, "none");
	push(a, "-no-reboot");
	push(a, "-kernel");
	push(a, "/vmlinux");
	push(a, "-initrd");
	push(a, "/initrd");
	push(a, "-append");
	fb_strv_push_owned(a, fb_xasprintf("console=ttyS0 panic=-1 reboot=t quiet rdinit=/init %s", b->kernel_args ? b->kernel_args : ""));
	push(a, "-chardev");
	push(a, "stdio,id=con,signal=off");
	push(a, "-serial");
	push(a, "chardev:con");
	if (b->root_ext4) {
		push(a, "-drive");
		fb_strv_push_owned(a, fb_xasprintf("id=root,file=/rootfs.ext4,format=raw,if=none,cache=unsafe%s",
						   b->rootfs_ro ? ",readonly=on" : ""));
		push(a, "-device");
		push(a, "virtio-blk-device,drive=root");
	} else {
		push(a, "-fsdev");
		fb_strv_push_owned(a, fb_xasprintf("local,id=fsroot,path=/rootfs,security_model=passthrough,multidevs=remap%s",
						   b->rootfs_ro ? ",readonly=on" : ""));
		push(a, "-device");
		push(a, "virtio-9p-device,fsdev=fsroot,mount_tag=fbroot");
	}
	for (int i = 0; i < b->nshares; i++) {
		push(a, "-fsdev");
		fb_strv_push_owned(a, fb_xasprintf("local,id=fs%d,path=/share/%d,security_model=passthrough,multidevs=remap%s", i, i,
						   b->shares[i].ro ? ",readonly=on" : ""));
		push(a, "-device");
		fb_strv_push_owned(a, fb_xasprintf("virtio-9p-device,fsdev=fs%d,mount_tag=%s", i, b->shares[i].tag));
	}
	push(a, "-device");
	push(a, "virtio-serial-device");
	push(a, "-chardev");
	push(a, "socket,id=io,path=/run/io.sock,server=on,wait=off");
	push(a, "-device");
	push(a, "virtserialport,chardev=io,name=" FB_IO_PORT);
	for (int i = 0; i < s->ntaps; i++) {
		push(a, "-netdev");
		fb_strv_push_owned(a, fb_xasprintf("tap,id=n%d,ifname=%s,script=no,downscript=no", i, s->taps[i].tap));
		push(a, "-device");
		fb_strv_push_owned(a, fb_xasprintf("virtio-net-device,netdev=n%d,mac=%s", i, s->taps[i].mac));
	}
	/* the settings' accel (FB_ACCEL overrides): KVM where it runs guests */
	const char *accel = getenv("FB_ACCEL");
	if (!accel || !*accel)
		accel = s->set->accel;
	if (accel && !strcmp(accel, "kvm")) {
		push(a, "-accel");
		push(a, "kvm");
		push(a, "-cpu");
		push(a, "host");
	} else {
		push(a, "-accel");
		push(a, "tcg");
	}
}

/* What the tree holds, in bytes and entries (nftw, not crossing mounts). */
static uint64_t g_bytes, g_entries;
static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	g_bytes += (uint64_t)st->st_blocks * 512;
	g_entries++;
	return 0;
}

/* The rootfs directory as an ext4 image (Firecracker's kind of root, or
 * org.firebuild.root=ext4): the tree streamed as a tar into the ext4
 * writer (lib/rootfs.c), as fb-mkrootfs --from-tree does; sized from the
 * content with room to write (sparse). */
static int build_ext4(const char *tree, const char *img, struct fb_err *err)
{
	g_bytes = g_entries = 0;
	if (nftw(tree, count_entry, 32, FTW_PHYS | FTW_MOUNT) < 0)
		return fb_err_errno(err, errno, "rootfs %s", tree);
	uint64_t size = (g_bytes + g_bytes / 4 + (256ull << 20) + 4095) / 4096 * 4096;
	struct fb_rootfs_opts ro = { .path = img, .size = size, .inodes = g_entries * 2 + 16384 };
	struct fb_rootfs *r;
	if (fb_rootfs_create(&ro, &r, err) < 0)
		return -1;
	int pfd[2];
	struct fb_tree_tar *tt;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		fb_rootfs_free(r);
		return fb_err_errno(err, errno, "pipe");
	}
	if (fb_tree_tar_start(tree, pfd[1], &tt, err) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		fb_rootfs_free(r);
		return -1;
	}
	int lr = fb_rootfs_apply_layer_fd(r, pfd[0], tree, err);
	close(pfd[0]); /* a writer still going gets EPIPE and stops */
	struct fb_err terr = { 0 };
	int tr = fb_tree_tar_finish(tt, &terr);
	if (lr == 0 && tr < 0) {
		*err = terr;
		lr = -1;
	}
	struct fb_rootfs_stats st;
	if (lr < 0 || fb_rootfs_finish(r, &st, err) < 0) {
		fb_rootfs_free(r);
		return -1;
	}
	fb_rootfs_free(r);
	return 0;
}

int sup_setup(struct sup *s, struct fb_err *err)
{
	struct rt_ctx *c = s->c;
	struct rt_bundle *b = s->b;
	char *jid = jail_id(c);
	const char *base = s->set->chroot_base ? s->set->chroot_base : "/srv/jailer";
	struct fb_jail_opts o = { .base = base, .vmm = "qemu-system-x86_64", .id = jid, .uid = 0, .gid = 0,
				  .cpu = (int)b->cpu, .mem = (int)b->mem, .cgroup_settings = jv_invalid(), .numa_node = -1 };
	char *iosock = fb_xasprintf("%s/%s/%s/root/run/io.sock", base, o.vmm, jid);
	if (strlen(iosock) > RT_SOCK_MAX) {
		fb_err_set(err, FB_EXIT_USAGE, "socket_path", "%s is over the Unix socket limit of %d bytes: use a shorter chroot_base",
			   iosock, RT_SOCK_MAX);
		free(iosock);
		free(jid);
		return -1;
	}
	int r = fb_jail_prepare(&o, &s->jail, err);
	free(jid);
	if (r < 0) {
		free(iosock);
		return -1;
	}
	s->jailed = true;
	s->jail.keep_caps = KEEP_CAPS;
	s->jail.death_signal = SIGKILL;
	sup_set(s, "jail_dir", jv_string(s->jail.dir));
	jv cgs = jv_array();
	for (int i = 0; i < s->jail.ncgroups; i++)
		cgs = jv_array_append(cgs, jv_string(s->jail.cgroups[i]));
	sup_set(s, "cgroups", cgs);
	sup_save(s);
	if (rt_bundle_mountpoints(b, err) < 0) {
		free(iosock);
		return -1;
	}
	if (b->root_ext4) {
		/* a copy: the tree writer makes the ext4 from the directory */
		char *img = fb_xasprintf("%s/rootfs.ext4", c->dir);
		char *in = NULL;
		if (build_ext4(b->rootfs, img, err) == 0)
			in = fb_jail_link(&s->jail, img, "rootfs.ext4", true, err);
		unlink(img);
		free(img);
		if (!in) {
			free(iosock);
			return -1;
		}
		free(in);
	} else {
		fb_jail_add_bind(&s->jail, b->rootfs, "/rootfs", b->rootfs_ro);
	}
	for (int i = 0; i < b->nshares; i++) {
		char *d = fb_xasprintf("/share/%d", i);
		fb_jail_add_bind(&s->jail, b->shares[i].src, d, b->shares[i].ro);
		free(d);
	}
	/* the network: the engine's namespace (ours from now on), a new one, or none */
	jv net = jv_invalid();
	if (b->netns) {
		if (fb_netns_enter(b->netns) < 0) {
			free(iosock);
			return fb_err_errno(err, errno, "network namespace %s", b->netns);
		}
		sup_set(s, "netns", jv_string(b->netns));
		if (rt_net_setup(0, &s->taps, &s->ntaps, &net, err) < 0) {
			free(iosock);
			return -1;
		}
		jv tl = jv_array();
		for (int i = 0; i < s->ntaps; i++)
			tl = jv_array_append(tl, JV_OBJECT(jv_string("ifname"), jv_string(s->taps[i].ifname), jv_string("tap"),
							   jv_string(s->taps[i].tap)));
		sup_set(s, "taps", tl);
		sup_save(s);
	} else if (b->netns_new && unshare(CLONE_NEWNET) < 0) {
		free(iosock);
		return fb_err_errno(err, errno, "a network namespace");
	}
	/* the initramfs: fb-init and the container's config */
	char init[PATH_MAX + 64];
	if (fb_tool_path("fb-init", init, sizeof(init), err) < 0) {
		if (jv_is_valid(net))
			jv_free(net);
		free(iosock);
		return -1;
	}
	jv g = jv_copy(b->guest);
	if (jv_is_valid(net))
		g = jv_object_set(g, jv_string("network"), net);
	char *initrd = fb_xasprintf("%s/initrd", c->dir);
	r = rt_write_initrd(initrd, init, g, err);
	char *k_in = r == 0 ? fb_jail_link(&s->jail, b->kernel, "vmlinux", false, err) : NULL;
	char *i_in = k_in ? fb_jail_link(&s->jail, initrd, "initrd", false, err) : NULL;
	unlink(initrd);
	free(initrd);
	free(k_in);
	if (!i_in) {
		free(iosock);
		return -1;
	}
	free(i_in);
	/* QEMU, its console into console.log */
	struct fb_strv argv = FB_STRV_INIT;
	qemu_argv(s, &argv);
	int cp[2];
	if (pipe2(cp, O_CLOEXEC) < 0) {
		fb_strv_free(&argv);
		free(iosock);
		return fb_err_errno(err, errno, "pipe");
	}
	s->vmm = fb_jail_spawn(&s->jail, argv.v, cp[1], false, err);
	close(cp[1]);
	fb_strv_free(&argv);
	if (s->vmm < 0) {
		close(cp[0]);
		free(iosock);
		return -1;
	}
	s->con = cp[0];
	fcntl(s->con, F_SETFL, O_NONBLOCK);
	sup_set(s, "vmm_pid", jv_number(s->vmm));
	sup_set(s, "vmm_start", jv_number((double)rt_proc_start(s->vmm)));
	sup_save(s);
	/* the io port: QEMU listens once it is up */
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", iosock);
	free(iosock);
	for (int i = 0; i < 3000; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			fcntl(fd, F_SETFL, O_NONBLOCK);
			s->io = fd;
			return 0;
		}
		if (fd >= 0)
			close(fd);
		if (waitpid(s->vmm, NULL, WNOHANG) == s->vmm) {
			s->vmm = -1;
			return fb_err_set(err, FB_EXIT_FAILED, "vmm", "QEMU ended before its io port was up (see %s/console.log)", c->dir);
		}
		usleep(10000);
	}
	return fb_err_set(err, FB_EXIT_FAILED, "vmm", "QEMU's io port %s did not answer", a.sun_path);
}
