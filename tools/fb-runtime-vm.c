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
#include <poll.h>
#include <time.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "jail.h"
#include "firecracker.h"
#include "rootfs.h"
#include "tcredirect.h"
#include "tree.h"
#include "tool.h"
#include "util.h"
#include "vm.h"

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
	/* the settings' accel (FB_ACCEL overrides): KVM where it runs guests */
	const char *accel = getenv("FB_ACCEL");
	if (!accel || !*accel)
		accel = s->set->accel;
	bool kvm = accel && !strcmp(accel, "kvm");
	push(a, "-append");
	fb_strv_push_owned(a, fb_xasprintf("console=ttyS0 panic=-1 reboot=t quiet rdinit=/init " FB_KARGS_ALL "%s %s",
					   kvm ? "" : " " FB_KARGS_TCG, b->kernel_args ? b->kernel_args : ""));
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
	if (kvm) {
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

/* The binary Firecracker runs as: the settings', else firecracker in PATH. */
static char *find_firecracker(const struct fb_rt_settings *set, struct fb_err *err)
{
	const char *b = set->firecracker ? set->firecracker : "firecracker";
	if (strchr(b, '/')) {
		if (access(b, X_OK) == 0)
			return fb_xstrdup(b);
	} else {
		const char *path = getenv("PATH");
		char *pc = fb_xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin"), *save = NULL;
		for (char *d = strtok_r(pc, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char *c = fb_xasprintf("%s/%s", d, b);
			if (access(c, X_OK) == 0) {
				free(pc);
				return c;
			}
			free(c);
		}
		free(pc);
	}
	fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "org.firebuild.vmm=firecracker: no firecracker binary (%s; \"firecracker\" in the settings)", b);
	return NULL;
}

/* Firecracker: its API (lib/firecracker.c's PUT), a vsock for fb.io whose
 * guest-initiated connections reach listen_fd, then InstanceStart. */
static int configure_fc(struct sup *s, const char *api, struct fb_err *err)
{
	struct rt_bundle *b = s->b;
	/* Firecracker's usual command line, then ours (fb-init from the initramfs) */
	char *args = fb_xasprintf("console=ttyS0 noapic reboot=k panic=1 pci=off nomodules quiet rdinit=/init " FB_KARGS_ALL " %s",
				  b->kernel_args ? b->kernel_args : "");
	struct call {
		char *path, *body; /* lib/vm/firecracker_doc's bodies */
	} *calls = fb_xcalloc((size_t)s->ntaps + 5, sizeof(*calls));
	int n = 0;
	calls[n++] = (struct call){ fb_xstrdup("/machine-config"), fb_fc_machine_body((int)b->cpu, (int)b->mem, false, NULL) };
	calls[n++] = (struct call){ fb_xstrdup("/boot-source"), fb_fc_boot_body("/vmlinux", "/initrd", args) };
	free(args);
	calls[n++] = (struct call){ fb_xstrdup("/drives/rootfs"), fb_fc_drive_body("rootfs", "/rootfs.ext4", false, b->rootfs_ro) };
	for (int i = 0; i < s->ntaps; i++) {
		char *id = fb_xasprintf("eth%d", i);
		calls[n++] = (struct call){ fb_xasprintf("/network-interfaces/%s", id), fb_fc_iface_body(id, s->taps[i].tap, s->taps[i].mac) };
		free(id);
	}
	calls[n++] = (struct call){ fb_xstrdup("/vsock"), fb_fc_vsock_body(3, "/run/v.sock") };
	calls[n++] = (struct call){ fb_xstrdup("/actions"), fb_fc_action_body("InstanceStart") };
	int r = 0;
	for (int i = 0; i < n; i++) {
		if (r == 0)
			r = fb_fc_put(api, calls[i].path, calls[i].body, false, err);
		free(calls[i].path);
		free(calls[i].body);
	}
	free(calls);
	if (r < 0)
		fb_err_prefix(err, "Firecracker");
	return r;
}

/* Wait until path accepts connections (the VMM is up), or it ended. */
static int wait_socket(struct sup *s, const char *path, const char *what, int *out, struct fb_err *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	for (int i = 0; i < 3000; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			if (out)
				*out = fd;
			else
				close(fd);
			return 0;
		}
		if (fd >= 0)
			close(fd);
		if (waitpid(s->vmm, NULL, WNOHANG) == s->vmm) {
			s->vmm = -1;
			return fb_err_set(err, FB_EXIT_FAILED, "vmm", "the VMM ended before its %s was up (see %s/console.log)", what,
					  s->c->dir);
		}
		usleep(10000);
	}
	return fb_err_set(err, FB_EXIT_FAILED, "vmm", "the VMM's %s %s did not answer", what, path);
}

int sup_setup(struct sup *s, struct fb_err *err)
{
	struct rt_ctx *c = s->c;
	struct rt_bundle *b = s->b;
	bool fc = !strcmp(b->vmm, "firecracker");
	char *fcbin = NULL;
	struct fb_rt_guest_net net = { 0 }; /* the guest's, from the engine's namespace */
	if (fc && !(fcbin = find_firecracker(s->set, err)))
		return -1;
	/* root (with only what 9p passthrough needs) when it serves a share;
	 * else the settings' jailer_uid (nobody) */
	bool shares = !b->root_ext4 || b->nshares > 0;
	long uid = shares ? 0 : s->set->jailer_uid, gid = shares ? 0 : s->set->jailer_gid >= 0 ? s->set->jailer_gid : uid;
	char *jid = jail_id(c);
	const char *base = s->set->chroot_base ? s->set->chroot_base : "/srv/jailer";
	struct fb_jail_opts o = { .base = base, .vmm = fc ? "firecracker" : "qemu-system-x86_64", .id = jid, .uid = (uid_t)uid,
				  .gid = (gid_t)gid, .cpu = (int)b->cpu, .mem = (int)b->mem, .numa_node = -1 };
	/* the sockets' paths first: nothing is made when one does not fit */
	char *root = fb_xasprintf("%s/%s/%s/root", base, o.vmm, jid);
	char *iosock = fb_xasprintf("%s/run/%s", root, fc ? "v.sock_1024" : "io.sock");
	char *api = fb_xasprintf("%s/run/fc.sock", root);
	free(root);
	int r = 0;
	if (strlen(iosock) > RT_SOCK_MAX)
		r = fb_err_set(err, FB_EXIT_USAGE, "socket_path", "%s is over the Unix socket limit of %d bytes: use a shorter chroot_base",
			       iosock, RT_SOCK_MAX);
	if (r == 0)
		r = fb_jail_prepare(&o, &s->jail, err);
	free(jid);
	if (r < 0)
		goto out;
	s->jailed = true;
	s->jail.keep_caps = shares ? KEEP_CAPS : 0;
	s->jail.death_signal = SIGKILL;
	s->state.jail_dir = fb_xstrdup(s->jail.dir);
	for (int i = 0; i < s->jail.ncgroups; i++)
		fb_strv_push(&s->state.cgroups, s->jail.cgroups[i]);
	s->state.vmm = fb_xstrdup(b->vmm);
	sup_save(s);
	if ((r = rt_bundle_mountpoints(b, err)) < 0)
		goto out;
	if (b->root_ext4) {
		/* a copy: the tree writer makes the ext4 from the directory */
		char *img = fb_xasprintf("%s/rootfs.ext4", c->dir);
		char *in = NULL;
		if (build_ext4(b->rootfs, img, err) == 0)
			in = fb_jail_link(&s->jail, img, "rootfs.ext4", true, err);
		unlink(img);
		free(img);
		r = in ? 0 : -1;
		free(in);
		if (r < 0)
			goto out;
	} else {
		fb_jail_add_bind(&s->jail, b->rootfs, "/rootfs", b->rootfs_ro);
	}
	for (int i = 0; i < b->nshares; i++) {
		char *d = fb_xasprintf("/share/%d", i);
		fb_jail_add_bind(&s->jail, b->shares[i].src, d, b->shares[i].ro);
		free(d);
	}
	if (fc) {
		char *in = fb_jail_link(&s->jail, fcbin, "firecracker", false, err);
		r = in ? 0 : -1;
		free(in);
		if (r < 0)
			goto out;
	}
	/* the network: the engine's namespace (ours from now on), a new one, or none */
	if (b->netns) {
		if (fb_netns_enter(b->netns) < 0) {
			r = fb_err_errno(err, errno, "network namespace %s", b->netns);
			goto out;
		}
		s->state.netns = fb_xstrdup(b->netns);
		if ((r = rt_net_setup(uid, &s->taps, &s->ntaps, &net, err)) < 0)
			goto out;
		s->state.taps = fb_xcalloc((size_t)s->ntaps + 1, sizeof(*s->state.taps));
		for (int i = 0; i < s->ntaps; i++)
			s->state.taps[s->state.ntaps++] =
				(struct fb_rt_tap_rec){ fb_xstrdup(s->taps[i].ifname), fb_xstrdup(s->taps[i].tap) };
		sup_save(s);
	} else if (b->netns_new && unshare(CLONE_NEWNET) < 0) {
		r = fb_err_errno(err, errno, "a network namespace");
		goto out;
	}
	/* the initramfs: fb-init and the container's config */
	char init[PATH_MAX + 64];
	if ((r = fb_tool_path("fb-init", init, sizeof(init), err)) < 0)
		goto out;
	b->guest.network = b->netns ? &net : NULL;
	char *initrd = fb_xasprintf("%s/initrd", c->dir);
	r = rt_write_initrd(initrd, init, &b->guest, err);
	b->guest.network = NULL;
	char *k_in = r == 0 ? fb_jail_link(&s->jail, b->kernel, "vmlinux", false, err) : NULL;
	/* the jail user reads it (the VMM is given the config anyway) */
	char *i_in = k_in ? fb_jail_link(&s->jail, initrd, "initrd", true, err) : NULL;
	unlink(initrd);
	free(initrd);
	free(k_in);
	r = i_in ? 0 : -1;
	free(i_in);
	if (r < 0)
		goto out;
	/* Firecracker's guest connects to us: listen before it starts */
	int vl = -1;
	if (fc) {
		if ((vl = sup_listen_on(iosock, err)) < 0 || chown(iosock, (uid_t)uid, (gid_t)gid) < 0) {
			r = vl >= 0 ? fb_err_errno(err, errno, "%s", iosock) : -1;
			if (vl >= 0)
				close(vl);
			goto out;
		}
	}
	/* the VMM, its console into console.log */
	struct fb_strv argv = FB_STRV_INIT;
	if (fc) {
		fb_strv_push(&argv, "/firecracker");
		fb_strv_push(&argv, "--api-sock");
		fb_strv_push(&argv, "/run/fc.sock");
		fb_strv_push(&argv, "--id");
		fb_strv_push_owned(&argv, fb_xstrndup(fb_str_has_prefix(s->jail.dir, base) ? strrchr(s->jail.dir, '/') + 1 : "fbrt", 20));
	} else {
		qemu_argv(s, &argv);
	}
	int cp[2];
	if (pipe2(cp, O_CLOEXEC) < 0) {
		fb_strv_free(&argv);
		if (vl >= 0)
			close(vl);
		r = fb_err_errno(err, errno, "pipe");
		goto out;
	}
	s->vmm = fb_jail_spawn(&s->jail, argv.v, cp[1], false, err);
	close(cp[1]);
	fb_strv_free(&argv);
	if (s->vmm < 0) {
		close(cp[0]);
		if (vl >= 0)
			close(vl);
		r = -1;
		goto out;
	}
	s->con = cp[0];
	fcntl(s->con, F_SETFL, O_NONBLOCK);
	s->state.vmm_pid = s->vmm;
	s->state.vmm_start = (long long)rt_proc_start(s->vmm);
	sup_save(s);
	if (!fc) {
		/* QEMU's io port: a socket it listens on once it is up */
		r = wait_socket(s, iosock, "io port", &s->io, err);
		if (r == 0)
			fcntl(s->io, F_SETFL, O_NONBLOCK);
		goto out;
	}
	/* Firecracker: its API, then the guest's connection (fb-init's, once booted) */
	if ((r = wait_socket(s, api, "API socket", NULL, err)) == 0)
		r = configure_fc(s, api, err);
	time_t until = time(NULL) + s->set->boot_timeout;
	while (r == 0 && s->io < 0) {
		struct pollfd pf = { vl, POLLIN, 0 };
		if (poll(&pf, 1, 100) > 0)
			s->io = accept4(vl, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (s->io >= 0)
			break;
		if (waitpid(s->vmm, NULL, WNOHANG) == s->vmm) {
			s->vmm = -1;
			r = fb_err_set(err, FB_EXIT_FAILED, "vmm", "Firecracker ended before the guest connected (see %s/console.log)", c->dir);
		} else if (time(NULL) > until) {
			r = fb_err_set(err, FB_EXIT_FAILED, "vmm", "the guest did not connect in %lld s (see %s/console.log)",
				       s->set->boot_timeout, c->dir);
		}
	}
	close(vl);
out:
	fb_rt_guest_net_free(&net);
	free(iosock);
	free(api);
	free(fcbin);
	return r;
}
