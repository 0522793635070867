/* fb-runtime: an OCI bundle (config.json + the rootfs the engine prepared)
 * read once into what the VM needs (struct rt_bundle) and the config
 * fb-init reads in the guest (fb-oci.json), and the initramfs carrying
 * both fb-init and that config. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "store.h"
#include "tree.h"
#include "util.h"

#include "fb-io.h"
#include "fb-runtime.h"

#define FILE_BIND_MAX (1 << 20) /* a bound file bigger than this is not copied in */

int rt_settings_load(struct fb_rt_settings *s, struct fb_err *err)
{
	*s = (struct fb_rt_settings){ .mem = 128, .cpu = 1, .boot_timeout = 120, .jailer_uid = 65534, .jailer_gid = -1 };
	const char *p = getenv("FB_RUNTIME_CONFIG");
	const char *path = p && *p ? p : "/etc/firebuild/runtime.json";
	if (access(path, F_OK) != 0) {
		if (p && *p)
			return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "FB_RUNTIME_CONFIG %s: no such file", p);
		return 0;
	}
	if (fb_rt_settings_load(path, s, err) < 0)
		return -1;
	if (s->mem < 32 || s->cpu < 1 || s->cpu > 64 || s->boot_timeout < 1) {
		fb_rt_settings_free(s);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: mem (MiB) is 32 or more, cpu 1 to 64, boot_timeout 1 or more",
				  path);
	}
	return 0;
}

void rt_settings_free(struct fb_rt_settings *s)
{
	fb_rt_settings_free(s);
}

unsigned long rt_mount_flags(const struct fb_strv *options, char **data)
{
	static const struct {
		const char *name;
		unsigned long set, clear;
	} t[] = {
		{ "ro", MS_RDONLY, 0 },		{ "rw", 0, MS_RDONLY },		{ "nosuid", MS_NOSUID, 0 },
		{ "suid", 0, MS_NOSUID },	{ "nodev", MS_NODEV, 0 },	{ "dev", 0, MS_NODEV },
		{ "noexec", MS_NOEXEC, 0 },	{ "exec", 0, MS_NOEXEC },	{ "sync", MS_SYNCHRONOUS, 0 },
		{ "async", 0, MS_SYNCHRONOUS }, { "dirsync", MS_DIRSYNC, 0 },	{ "noatime", MS_NOATIME, 0 },
		{ "atime", 0, MS_NOATIME },	{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
		{ "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME }, { "strictatime", MS_STRICTATIME, 0 },
		{ "nostrictatime", 0, MS_STRICTATIME }, { "mand", MS_MANDLOCK, 0 }, { "nomand", 0, MS_MANDLOCK },
		/* propagation and binding: the guest's mounts are its own */
		{ "bind", 0, 0 },		{ "rbind", 0, 0 },		{ "private", 0, 0 },
		{ "rprivate", 0, 0 },		{ "shared", 0, 0 },		{ "rshared", 0, 0 },
		{ "slave", 0, 0 },		{ "rslave", 0, 0 },		{ "unbindable", 0, 0 },
		{ "runbindable", 0, 0 },	{ "defaults", 0, 0 },		{ "tmpcopyup", 0, 0 },
		{ "notmpcopyup", 0, 0 },	{ "idmap", 0, 0 },		{ "ridmap", 0, 0 },
	};
	unsigned long flags = 0;
	struct fb_buf d = FB_BUF_INIT;
	for (size_t i = 0; i < options->n; i++) {
		const char *w = options->v[i];
		bool known = false;
		for (size_t k = 0; k < FB_ARRAY_LEN(t) && !known; k++)
			if (!strcmp(w, t[k].name)) {
				flags = (flags | t[k].set) & ~t[k].clear;
				known = true;
			}
		if (!known) {
			if (d.len)
				fb_buf_addc(&d, ',');
			fb_buf_adds(&d, w);
		}
	}
	*data = d.len ? fb_buf_steal(&d) : NULL;
	fb_buf_free(&d);
	return flags;
}

static bool has_word(const struct fb_strv *options, const char *w)
{
	for (size_t i = 0; i < options->n; i++)
		if (!strcmp(options->v[i], w))
			return true;
	return false;
}

static char *b64enc(const unsigned char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = fb_xmalloc(n / 3 * 4 + 8), *o = out;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = a[(v >> 6) & 63];
		*o++ = a[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static const char kOpts9p[] = "trans=virtio,version=9p2000.L,msize=262144,cache=mmap,access=client,posixacl";

static struct fb_rt_guest_mount *add_mount(struct fb_rt_guest *g, const char *dst, const char *type, const char *src,
					    unsigned long flags, const char *data)
{
	g->mounts = fb_xrealloc(g->mounts, (g->nmounts + 1) * sizeof(*g->mounts));
	struct fb_rt_guest_mount *m = &g->mounts[g->nmounts++];
	*m = (struct fb_rt_guest_mount){ fb_xstrdup(dst), fb_xstrdup(type), fb_xstrdup(src), flags, data ? fb_xstrdup(data) : NULL };
	return m;
}

/* The bundle's mounts, for the guest: the kernel's file systems mounted
 * there, bound files copied in, bound directories shared over 9p. */
static int convert_mounts(struct rt_bundle *b, const struct fb_rt_spec *spec, struct fb_rt_guest *g, struct fb_err *err)
{
	for (size_t i = 0; i < spec->nmounts; i++) {
		const struct fb_rt_mount *m = &spec->mounts[i];
		const char *dst = m->destination, *type = m->type, *src = m->source;
		if (dst[0] != '/')
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "config.json mounts[%zu]: destination %s is not absolute", i,
					  dst);
		bool bind = (type && !strcmp(type, "bind")) || has_word(&m->options, "bind") || has_word(&m->options, "rbind");
		if (bind && src) {
			struct stat st;
			char *data = NULL;
			unsigned long fl = rt_mount_flags(&m->options, &data);
			free(data);
			bool ro = fl & MS_RDONLY;
			if (!strcmp(dst, "/dev/shm") || !strcmp(dst, "/dev/mqueue") || fb_str_has_prefix(dst, "/sys") ||
			    fb_str_has_prefix(dst, "/proc") || fb_str_has_prefix(src, "/sys/fs/cgroup")) {
				/* the guest's own (tmpfs /dev/shm and the kernel's file systems) */
				if (!strcmp(dst, "/dev/shm"))
					add_mount(g, dst, "tmpfs", "shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777");
			} else if (stat(src, &st) < 0) {
				return fb_err_errno(err, errno, "config.json mounts[%zu]: source %s", i, src);
			} else if (S_ISDIR(st.st_mode)) {
				char *tag = fb_xasprintf("fbv%d", b->nshares);
				b->shares = fb_xrealloc(b->shares, (size_t)(b->nshares + 1) * sizeof(*b->shares));
				b->shares[b->nshares++] = (struct rt_share){ fb_xstrdup(src), tag, ro };
				add_mount(g, dst, "9p", tag, (fl & ~(unsigned long)MS_RDONLY) | (ro ? MS_RDONLY : 0), kOpts9p);
			} else if (S_ISREG(st.st_mode) && st.st_size <= FILE_BIND_MAX) {
				struct fb_buf fb FB_AUTOBUF = FB_BUF_INIT;
				if (fb_read_file(src, &fb, err) < 0)
					return -1;
				g->files = fb_xrealloc(g->files, (g->nfiles + 1) * sizeof(*g->files));
				g->files[g->nfiles++] = (struct fb_rt_guest_file){ fb_xstrdup(dst), b64enc((const unsigned char *)fb.data, fb.len),
										   st.st_mode & 07777, ro };
			} else if (S_ISREG(st.st_mode)) {
				return fb_err_set(err, FB_EXIT_USAGE, "invalid",
						  "config.json mounts[%zu]: %s is a file of %lld bytes: bound files up to %d bytes are copied into "
						  "the VM; share its directory instead",
						  i, src, (long long)st.st_size, FILE_BIND_MAX);
			}
			/* device nodes: the VM has its own devices */
		} else if (type) {
			char *data = NULL;
			unsigned long fl = rt_mount_flags(&m->options, &data);
			const char *t = type;
			if (!strcmp(type, "cgroup"))
				t = "cgroup2", free(data), data = NULL;
			/* /dev is the guest's devtmpfs, /proc its proc: fb-init mounts both */
			if (strcmp(dst, "/dev") && strcmp(dst, "/proc"))
				add_mount(g, dst, t, src ? src : t, fl, data);
			free(data);
		}
	}
	return 0;
}

/* The kernel: the annotation, the settings, else the store's default. */
static int pick_kernel(const struct fb_rt_settings *s, const struct fb_rt_map *ann, char **out, struct fb_err *err)
{
	const char *ak = fb_rt_map_get(ann, "org.firebuild.kernel");
	char *k = ak ? fb_xstrdup(ak) : NULL;
	if (!k && s->kernel)
		k = fb_xstrdup(s->kernel);
	if (!k) {
		const char *store = s->store ? s->store : fb_store_default();
		char *defp = fb_xasprintf("%s/kernels/default", store);
		struct fb_buf d = FB_BUF_INIT;
		struct fb_err e = { 0 };
		if (fb_read_file(defp, &d, &e) == 0 && d.len)
			k = fb_xasprintf("%s/kernels/%.*s/vmlinux", store, (int)strcspn(fb_buf_str(&d), "\n"), fb_buf_str(&d));
		fb_buf_free(&d);
		free(defp);
		if (!k)
			return fb_err_set(err, FB_EXIT_NOTFOUND, "no_kernel",
					  "no guest kernel: annotation org.firebuild.kernel, \"kernel\" in the runtime's settings "
					  "(FB_RUNTIME_CONFIG or /etc/firebuild/runtime.json), or a default kernel in %s/kernels "
					  "(firebuild kernel add)",
					  store);
	}
	struct stat st;
	if (access(k, R_OK) < 0 || stat(k, &st) < 0) {
		int r = fb_err_errno(err, errno, "guest kernel %s", k);
		free(k);
		return r;
	}
	/* a FIFO would hang the copy into the jail, a device fill the disk */
	if (!S_ISREG(st.st_mode)) {
		int r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "guest kernel %s: not a regular file", k);
		free(k);
		return r;
	}
	*out = k;
	return 0;
}

int rt_bundle_load(const char *dir, const struct fb_rt_settings *s, struct rt_bundle *b, struct fb_err *err)
{
	*b = (struct rt_bundle){ 0 };
	char abs[PATH_MAX];
	if (!realpath(dir, abs))
		return fb_err_errno(err, errno, "bundle %s", dir);
	b->dir = fb_xstrdup(abs);
	FB_AUTOFREE char *cfgp = fb_xasprintf("%s/config.json", abs);
	struct fb_rt_spec spec FB_AUTORTSPEC = { 0 };
	if (fb_rt_spec_load(cfgp, &spec, err) < 0)
		return -1;
	b->oci_version = fb_xstrdup(spec.oci_version);
	fb_rt_map_copy(&b->annotations, &spec.annotations);
	/* root: the engine's prepared directory */
	b->rootfs_ro = spec.root_readonly;
	char *rfull = spec.root_path[0] == '/' ? fb_xstrdup(spec.root_path) : fb_xasprintf("%s/%s", abs, spec.root_path);
	struct stat st;
	if (stat(rfull, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int e = errno;
		int r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "config.json root.path %s: %s", rfull,
				   S_ISDIR(st.st_mode) || e ? strerror(e ? e : ENOTDIR) : strerror(ENOTDIR));
		free(rfull);
		return r;
	}
	b->rootfs = rfull;
	b->terminal = spec.process.terminal;
	/* linux: namespaces, resources */
	b->netns = spec.netns ? fb_xstrdup(spec.netns) : NULL;
	b->netns_new = spec.netns_new;
	b->cgroups_path = spec.cgroups_path ? fb_xstrdup(spec.cgroups_path) : NULL;
	b->cpu = s->cpu;
	b->mem = s->mem;
	if (spec.cpu_quota > 0 && spec.cpu_period > 0)
		b->cpu = (spec.cpu_quota + spec.cpu_period - 1) / spec.cpu_period;
	if (b->cpu > 64)
		b->cpu = 64;
	if (spec.memory_limit > 0) {
		b->mem = (spec.memory_limit + (1 << 20) - 1) >> 20;
		if (b->mem < 64)
			b->mem = 64; /* less does not boot a kernel and a workload */
	}
	/* the machine: annotations, else the settings */
	if (pick_kernel(s, &b->annotations, &b->kernel, err) < 0)
		return -1;
	const char *vmm = fb_rt_map_get(&b->annotations, "org.firebuild.vmm");
	b->vmm = fb_xstrdup(vmm ? vmm : s->vmm ? s->vmm : "qemu");
	const char *ka = fb_rt_map_get(&b->annotations, "org.firebuild.kernel-args");
	b->kernel_args = ka ? fb_xstrdup(ka) : s->kernel_args ? fb_xstrdup(s->kernel_args) : NULL;
	const char *rmode = fb_rt_map_get(&b->annotations, "org.firebuild.root");
	if (rmode && strcmp(rmode, "9p") && strcmp(rmode, "ext4"))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "annotation org.firebuild.root=%s: 9p (shared) or ext4 (a copy)", rmode);
	bool fc = !strcmp(b->vmm, "firecracker");
	if (fc && rmode && !strcmp(rmode, "9p"))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid",
				  "annotation org.firebuild.root=9p: Firecracker has block devices only (its root is an ext4 copy)");
	/* Firecracker: block devices only, so a copy */
	b->root_ext4 = fc || (rmode && !strcmp(rmode, "ext4"));
	if (strcmp(b->vmm, "qemu") && strcmp(b->vmm, "firecracker"))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "annotation org.firebuild.vmm=%s: qemu or firecracker", b->vmm);
	/* what fb-init reads */
	struct fb_rt_guest *g = &b->guest;
	if (convert_mounts(b, &spec, g, err) < 0)
		return -1;
	if (fc && b->nshares)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid",
				  "config.json mounts: %s is a directory to share, and Firecracker has no shared directories "
				  "(org.firebuild.vmm=qemu shares it over virtio-9p)",
				  b->shares[0].src);
	/* Firecracker has no virtio-serial: the fb.io stream is a vsock */
	if (fc)
		g->vsock_port = RT_VSOCK_PORT;
	g->root_source = fb_xstrdup(b->root_ext4 ? "/dev/vda" : "fbroot");
	g->root_type = fb_xstrdup(b->root_ext4 ? "ext4" : "9p");
	g->root_options = b->root_ext4 ? NULL : fb_xstrdup(kOpts9p);
	g->root_readonly = b->rootfs_ro;
	fb_rt_map_copy(&g->sysctl, &spec.sysctl);
	g->hostname = spec.hostname ? fb_xstrdup(spec.hostname) : NULL;
	g->process = spec.process;
	spec.process = (struct fb_rt_process){ 0 };
	return 0;
}

int rt_bundle_mountpoints(struct rt_bundle *b, struct fb_err *err)
{
	int root = open(b->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return fb_err_errno(err, errno, "rootfs %s", b->rootfs);
	static const char *const base[] = { "/proc", "/dev", "/sys" };
	int r = 0;
	for (size_t i = 0; r == 0 && i < FB_ARRAY_LEN(base); i++) {
		int fd = fb_tree_mkdirs(root, base[i], 0755, 0, 0, NULL, err);
		r = fd < 0 ? -1 : 0;
		if (fd >= 0)
			close(fd);
	}
	const struct fb_rt_guest *g = &b->guest;
	for (size_t i = 0; r == 0 && i < g->nmounts; i++) {
		const char *dst = g->mounts[i].destination;
		int fd = fb_tree_mkdirs(root, dst, 0755, 0, 0, NULL, err);
		r = fd < 0 ? -1 : 0;
		if (fd >= 0)
			close(fd);
		if (r < 0)
			fb_err_prefix(err, "mount point %s in %s", dst, b->rootfs);
	}
	for (size_t i = 0; r == 0 && i < g->nfiles; i++) {
		/* a bound file: its directory, and an empty file to mount on */
		const char *dst = g->files[i].destination;
		char *parent = fb_xstrdup(dst);
		char *slash = strrchr(parent, '/');
		if (slash)
			*slash = '\0';
		int fd = fb_tree_mkdirs(root, parent, 0755, 0, 0, NULL, err);
		free(parent);
		if (fd < 0) {
			r = -1;
			fb_err_prefix(err, "mount point %s in %s", dst, b->rootfs);
		} else {
			close(fd);
			/* only when missing: what is there (a FIFO, a device node of
			 * the image) is never opened on the host */
			fd = fb_tree_open(root, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
			if (fd >= 0)
				close(fd);
		}
	}
	close(root);
	return r;
}

void rt_bundle_free(struct rt_bundle *b)
{
	free(b->dir);
	free(b->oci_version);
	free(b->rootfs);
	free(b->kernel);
	free(b->vmm);
	free(b->kernel_args);
	free(b->netns);
	free(b->cgroups_path);
	fb_rt_map_free(&b->annotations);
	fb_rt_guest_free(&b->guest);
	for (int i = 0; i < b->nshares; i++) {
		free(b->shares[i].src);
		free(b->shares[i].tag);
	}
	free(b->shares);
	memset(b, 0, sizeof(*b));
}

/* ---- the initramfs ---- */

static void cpio_entry(struct fb_buf *o, const char *name, unsigned mode, unsigned rmaj, unsigned rmin, const void *data,
		       size_t len, unsigned ino)
{
	size_t nl = strlen(name) + 1;
	fb_buf_addf(o, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino, mode, 0u, 0u, 1u, 0u, len, 0u, 0u,
		    rmaj, rmin, nl, 0u);
	fb_buf_add(o, name, nl);
	while (o->len % 4)
		fb_buf_addc(o, '\0');
	if (len)
		fb_buf_add(o, data, len);
	while (o->len % 4)
		fb_buf_addc(o, '\0');
}

int rt_write_initrd(const char *path, const char *init, const struct fb_rt_guest *guest, struct fb_err *err)
{
	struct fb_buf bin = FB_BUF_INIT;
	if (fb_read_file(init, &bin, err) < 0) {
		fb_buf_free(&bin);
		return -1;
	}
	char *cfg = fb_rt_guest_encode(guest);
	struct fb_buf o = FB_BUF_INIT;
	unsigned ino = 1;
	static const char *const dirs[] = { "dev", "proc", "sys", "newroot" };
	for (size_t i = 0; i < FB_ARRAY_LEN(dirs); i++)
		cpio_entry(&o, dirs[i], 040755, 0, 0, NULL, 0, ino++);
	cpio_entry(&o, "dev/console", 020600, 5, 1, NULL, 0, ino++);
	cpio_entry(&o, "init", 0100755, 0, 0, bin.data, bin.len, ino++);
	cpio_entry(&o, FB_OCI_CONFIG + 1, 0100600, 0, 0, cfg, strlen(cfg), ino++);
	cpio_entry(&o, "TRAILER!!!", 0, 0, 0, NULL, 0, 0);
	/* the config may hold secrets (the environment): root's only */
	int r = fb_write_file_atomic(path, o.data, o.len, 0600, err);
	fb_buf_free(&o);
	fb_buf_free(&bin);
	free(cfg);
	return r;
}
