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
#include "json.h"
#include "store.h"
#include "tree.h"
#include "util.h"

#include "fb-io.h"
#include "fb-runtime.h"

#define FILE_BIND_MAX (1 << 20) /* a bound file bigger than this is not copied in */

static int get_num(jv o, const char *key, long long *out)
{
	jv v = rt_get(jv_copy(o), key);
	int r = -1;
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		*out = (long long)jv_number_value(v);
		r = 0;
	}
	jv_free(v);
	return r;
}

int rt_settings_load(struct rt_settings *s, struct fb_err *err)
{
	*s = (struct rt_settings){ .mem = 128, .cpu = 1, .boot_timeout = 120, .jailer_uid = 65534, .jailer_gid = -1 };
	const char *p = getenv("FB_RUNTIME_CONFIG");
	const char *path = p && *p ? p : "/etc/firebuild/runtime.json";
	if (access(path, F_OK) != 0) {
		if (p && *p)
			return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "FB_RUNTIME_CONFIG %s: no such file", p);
		return 0;
	}
	FB_AUTOJV jv doc = jv_invalid();
	if (fb_json_load(path, &doc, err) < 0)
		return -1;
	if (jv_get_kind(doc) != JV_KIND_OBJECT)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: not a JSON object", path);
	if (fb_json_get_str_opt(doc, "kernel", &s->kernel, err) < 0 || fb_json_get_str_opt(doc, "vmm", &s->vmm, err) < 0 ||
	    fb_json_get_str_opt(doc, "store", &s->store, err) < 0 ||
	    fb_json_get_str_opt(doc, "chroot_base", &s->chroot_base, err) < 0 ||
	    fb_json_get_str_opt(doc, "kernel_args", &s->kernel_args, err) < 0 ||
	    fb_json_get_str_opt(doc, "runc", &s->runc, err) < 0 || fb_json_get_str_opt(doc, "accel", &s->accel, err) < 0 ||
	    fb_json_get_str_opt(doc, "firecracker", &s->firecracker, err) < 0 ||
	    fb_json_get_int_opt(doc, "jailer_uid", &s->jailer_uid, err) < 0 ||
	    fb_json_get_int_opt(doc, "jailer_gid", &s->jailer_gid, err) < 0 ||
	    fb_json_get_int_opt(doc, "mem", &s->mem, err) < 0 || fb_json_get_int_opt(doc, "cpu", &s->cpu, err) < 0 ||
	    fb_json_get_int_opt(doc, "boot_timeout", &s->boot_timeout, err) < 0) {
		fb_err_prefix(err, "%s", path);
		return -1;
	}
	if (s->accel && strcmp(s->accel, "kvm") && strcmp(s->accel, "tcg"))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: accel is kvm or tcg, not %s", path, s->accel);
	if (s->mem < 32 || s->cpu < 1 || s->cpu > 64 || s->boot_timeout < 1)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: mem (MiB) is 32 or more, cpu 1 to 64, boot_timeout 1 or more",
				  path);
	return 0;
}

void rt_settings_free(struct rt_settings *s)
{
	free(s->kernel);
	free(s->vmm);
	free(s->store);
	free(s->chroot_base);
	free(s->kernel_args);
	free(s->runc);
	free(s->accel);
	free(s->firecracker);
}

unsigned long rt_mount_flags(jv options, char **data)
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
	if (jv_get_kind(options) == JV_KIND_ARRAY) {
		jv_array_foreach(options, i, o)
		{
			if (jv_get_kind(o) == JV_KIND_STRING) {
				const char *w = jv_string_value(o);
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
			jv_free(o);
			(void)i;
		}
	}
	jv_free(options);
	*data = d.len ? fb_buf_steal(&d) : NULL;
	fb_buf_free(&d);
	return flags;
}

static bool has_word(jv options, const char *w)
{
	bool r = false;
	if (jv_get_kind(options) == JV_KIND_ARRAY)
		jv_array_foreach(options, i, o)
		{
			if (jv_get_kind(o) == JV_KIND_STRING && !strcmp(jv_string_value(o), w))
				r = true;
			jv_free(o);
			(void)i;
		}
	jv_free(options);
	return r;
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

/* The bundle's mounts, for the guest: the kernel's file systems mounted
 * there, bound files copied in, bound directories shared over 9p. */
static int convert_mounts(struct rt_bundle *b, jv mounts, jv *gm, jv *gf, struct fb_err *err)
{
	*gm = jv_array();
	*gf = jv_array();
	if (jv_get_kind(mounts) != JV_KIND_ARRAY) {
		jv_free(mounts);
		return 0;
	}
	int r = 0;
	jv_array_foreach(mounts, i, m)
	{
		char *dst = NULL, *type = NULL, *src = NULL;
		if (r == 0 && (jv_get_kind(m) != JV_KIND_OBJECT || fb_json_get_str(m, "destination", &dst, err) < 0 ||
			       fb_json_get_str_opt(m, "type", &type, err) < 0 || fb_json_get_str_opt(m, "source", &src, err) < 0)) {
			fb_err_prefix(err, "config.json mounts[%d]", i);
			r = -1;
		}
		if (r == 0 && dst[0] != '/') {
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "config.json mounts[%d]: destination %s is not absolute", i, dst);
		}
		jv opts = rt_get(jv_copy(m), "options");
		bool bind = (type && !strcmp(type, "bind")) || has_word(jv_copy(opts), "bind") || has_word(jv_copy(opts), "rbind");
		if (r == 0 && bind && src) {
			struct stat st;
			char *data = NULL;
			unsigned long fl = rt_mount_flags(jv_copy(opts), &data);
			free(data);
			bool ro = fl & MS_RDONLY;
			if (!strcmp(dst, "/dev/shm") || !strcmp(dst, "/dev/mqueue") || fb_str_has_prefix(dst, "/sys") ||
			    fb_str_has_prefix(dst, "/proc") || fb_str_has_prefix(src, "/sys/fs/cgroup")) {
				/* the guest's own (tmpfs /dev/shm and the kernel's file systems) */
				if (!strcmp(dst, "/dev/shm"))
					*gm = jv_array_append(*gm, JV_OBJECT(jv_string("destination"), jv_string(dst), jv_string("type"),
									  jv_string("tmpfs"), jv_string("source"), jv_string("shm"),
									  jv_string("flags"), jv_number(MS_NOSUID | MS_NODEV | MS_NOEXEC),
									  jv_string("data"), jv_string("mode=1777")));
			} else if (stat(src, &st) < 0) {
				r = fb_err_errno(err, errno, "config.json mounts[%d]: source %s", i, src);
			} else if (S_ISDIR(st.st_mode)) {
				char *tag = fb_xasprintf("fbv%d", b->nshares);
				b->shares = fb_xrealloc(b->shares, (size_t)(b->nshares + 1) * sizeof(*b->shares));
				b->shares[b->nshares++] = (struct rt_share){ fb_xstrdup(src), tag, ro };
				*gm = jv_array_append(*gm, JV_OBJECT(jv_string("destination"), jv_string(dst), jv_string("type"),
								  jv_string("9p"), jv_string("source"), jv_string(tag), jv_string("flags"),
								  jv_number((double)((fl & ~(unsigned long)MS_RDONLY) | (ro ? MS_RDONLY : 0))),
								  jv_string("data"), jv_string(kOpts9p)));
			} else if (S_ISREG(st.st_mode) && st.st_size <= FILE_BIND_MAX) {
				struct fb_buf fb = FB_BUF_INIT;
				if (fb_read_file(src, &fb, err) < 0) {
					r = -1;
				} else {
					char *enc = b64enc((const unsigned char *)fb.data, fb.len);
					*gf = jv_array_append(*gf, JV_OBJECT(jv_string("destination"), jv_string(dst), jv_string("data"),
									  jv_string(enc), jv_string("mode"), jv_number(st.st_mode & 07777),
									  jv_string("readonly"), jv_bool(ro)));
					free(enc);
				}
				fb_buf_free(&fb);
			} else if (S_ISREG(st.st_mode)) {
				r = fb_err_set(err, FB_EXIT_USAGE, "invalid",
					       "config.json mounts[%d]: %s is a file of %lld bytes: bound files up to %d bytes are copied into "
					       "the VM; share its directory instead",
					       i, src, (long long)st.st_size, FILE_BIND_MAX);
			}
			/* device nodes: the VM has its own devices */
		} else if (r == 0 && type) {
			char *data = NULL;
			unsigned long fl = rt_mount_flags(jv_copy(opts), &data);
			const char *t = type;
			if (!strcmp(type, "cgroup"))
				t = "cgroup2", free(data), data = NULL;
			/* /dev is the guest's devtmpfs, /proc its proc: fb-init mounts both */
			if (strcmp(dst, "/dev") && strcmp(dst, "/proc"))
				*gm = jv_array_append(*gm, JV_OBJECT(jv_string("destination"), jv_string(dst), jv_string("type"), jv_string(t),
								  jv_string("source"), jv_string(src ? src : t), jv_string("flags"),
								  jv_number((double)fl), jv_string("data"), data ? jv_string(data) : jv_null()));
			free(data);
		}
		jv_free(opts);
		free(dst);
		free(type);
		free(src);
		jv_free(m);
	}
	jv_free(mounts);
	return r;
}

/* The kernel: the annotation, the settings, else the store's default. */
static int pick_kernel(const struct rt_settings *s, jv ann, char **out, struct fb_err *err)
{
	char *k = NULL;
	if (fb_json_get_str_opt(ann, "org.firebuild.kernel", &k, err) < 0)
		return -1;
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

int rt_bundle_load(const char *dir, const struct rt_settings *s, struct rt_bundle *b, struct fb_err *err)
{
	*b = (struct rt_bundle){ .annotations = jv_object(), .guest = jv_invalid() };
	char abs[PATH_MAX];
	if (!realpath(dir, abs))
		return fb_err_errno(err, errno, "bundle %s", dir);
	b->dir = fb_xstrdup(abs);
	char *cfgp = fb_xasprintf("%s/config.json", abs);
	FB_AUTOJV jv cfg = jv_invalid();
	int r = fb_json_load(cfgp, &cfg, err);
	free(cfgp);
	if (r < 0)
		return -1;
	if (jv_get_kind(cfg) != JV_KIND_OBJECT)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s/config.json: not a JSON object", abs);
	if (fb_json_get_str(cfg, "ociVersion", &b->oci_version, err) < 0) {
		fb_err_prefix(err, "config.json");
		return -1;
	}
	jv ann = rt_get(jv_copy(cfg), "annotations");
	if (jv_get_kind(ann) == JV_KIND_OBJECT) {
		jv_free(b->annotations);
		b->annotations = ann;
	} else {
		jv_free(ann);
	}
	/* root: the engine's prepared directory */
	jv root = rt_get(jv_copy(cfg), "root");
	char *rp = NULL;
	if (jv_get_kind(root) != JV_KIND_OBJECT || fb_json_get_str(root, "path", &rp, err) < 0 ||
	    fb_json_get_bool_opt(root, "readonly", &b->rootfs_ro, err) < 0) {
		jv_free(root);
		free(rp);
		if (!err->msg[0])
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "config.json: no root");
		fb_err_prefix(err, "config.json root");
		return -1;
	}
	jv_free(root);
	char *rfull = rp[0] == '/' ? fb_xstrdup(rp) : fb_xasprintf("%s/%s", abs, rp);
	free(rp);
	struct stat st;
	if (stat(rfull, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int e = errno;
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "config.json root.path %s: %s", rfull,
			       S_ISDIR(st.st_mode) || e ? strerror(e ? e : ENOTDIR) : strerror(ENOTDIR));
		free(rfull);
		return r;
	}
	b->rootfs = rfull;
	/* the process */
	jv proc = rt_get(jv_copy(cfg), "process");
	if (jv_get_kind(proc) != JV_KIND_OBJECT) {
		jv_free(proc);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "config.json: no process");
	}
	jv args = rt_get(jv_copy(proc), "args");
	bool ok = jv_get_kind(args) == JV_KIND_ARRAY && jv_array_length(jv_copy(args)) > 0;
	jv_free(args);
	if (!ok) {
		jv_free(proc);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "config.json process: args must not be empty");
	}
	if (fb_json_get_bool_opt(proc, "terminal", &b->terminal, err) < 0) {
		jv_free(proc);
		return -1;
	}
	/* linux: namespaces, resources, sysctl */
	jv lnx = rt_get(jv_copy(cfg), "linux");
	jv nss = rt_get(jv_copy(lnx), "namespaces");
	if (jv_get_kind(nss) == JV_KIND_ARRAY)
		jv_array_foreach(nss, i, ns)
		{
			jv t = rt_get(jv_copy(ns), "type"), p = rt_get(jv_copy(ns), "path");
			if (jv_get_kind(t) == JV_KIND_STRING && !strcmp(jv_string_value(t), "network")) {
				if (jv_get_kind(p) == JV_KIND_STRING && jv_string_value(p)[0]) {
					free(b->netns);
					b->netns = fb_xstrdup(jv_string_value(p));
				} else {
					b->netns_new = true;
				}
			}
			jv_free(t);
			jv_free(p);
			jv_free(ns);
			(void)i;
		}
	jv_free(nss);
	if (fb_json_get_str_opt(lnx, "cgroupsPath", &b->cgroups_path, err) < 0) {
		jv_free(lnx);
		jv_free(proc);
		return -1;
	}
	b->cpu = s->cpu;
	b->mem = s->mem;
	jv res = rt_get(jv_copy(lnx), "resources");
	jv cpu = rt_get(jv_copy(res), "cpu"), mem = rt_get(jv_copy(res), "memory");
	long long quota = 0, period = 0, limit = 0;
	if (jv_get_kind(cpu) == JV_KIND_OBJECT && get_num(cpu, "quota", &quota) == 0 && get_num(cpu, "period", &period) == 0 &&
	    quota > 0 && period > 0)
		b->cpu = (quota + period - 1) / period;
	if (b->cpu > 64)
		b->cpu = 64;
	if (jv_get_kind(mem) == JV_KIND_OBJECT && get_num(mem, "limit", &limit) == 0 && limit > 0) {
		b->mem = (limit + (1 << 20) - 1) >> 20;
		if (b->mem < 64)
			b->mem = 64; /* less does not boot a kernel and a workload */
	}
	jv_free(cpu);
	jv_free(mem);
	jv_free(res);
	jv sysctl = rt_get(jv_copy(lnx), "sysctl");
	jv_free(lnx);
	/* the machine: annotations, else the settings */
	if (pick_kernel(s, b->annotations, &b->kernel, err) < 0 ||
	    fb_json_get_str_opt(b->annotations, "org.firebuild.vmm", &b->vmm, err) < 0 ||
	    fb_json_get_str_opt(b->annotations, "org.firebuild.kernel-args", &b->kernel_args, err) < 0) {
		jv_free(sysctl);
		jv_free(proc);
		return -1;
	}
	if (!b->vmm)
		b->vmm = fb_xstrdup(s->vmm ? s->vmm : "qemu");
	char *rmode = NULL;
	if (fb_json_get_str_opt(b->annotations, "org.firebuild.root", &rmode, err) < 0) {
		jv_free(sysctl);
		jv_free(proc);
		return -1;
	}
	if (rmode && strcmp(rmode, "9p") && strcmp(rmode, "ext4")) {
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "annotation org.firebuild.root=%s: 9p (shared) or ext4 (a copy)", rmode);
		free(rmode);
		jv_free(sysctl);
		jv_free(proc);
		return r;
	}
	bool fc = !strcmp(b->vmm, "firecracker");
	if (fc && rmode && !strcmp(rmode, "9p")) {
		free(rmode);
		jv_free(sysctl);
		jv_free(proc);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid",
				  "annotation org.firebuild.root=9p: Firecracker has block devices only (its root is an ext4 copy)");
	}
	/* Firecracker: block devices only, so a copy */
	b->root_ext4 = fc || (rmode && !strcmp(rmode, "ext4"));
	free(rmode);
	if (!b->kernel_args && s->kernel_args)
		b->kernel_args = fb_xstrdup(s->kernel_args);
	if (strcmp(b->vmm, "qemu") && strcmp(b->vmm, "firecracker")) {
		jv_free(sysctl);
		jv_free(proc);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "annotation org.firebuild.vmm=%s: qemu or firecracker", b->vmm);
	}
	/* what fb-init reads */
	jv gm, gf;
	if (convert_mounts(b, rt_get(jv_copy(cfg), "mounts"), &gm, &gf, err) < 0) {
		jv_free(gm);
		jv_free(gf);
		jv_free(sysctl);
		jv_free(proc);
		return -1;
	}
	if (fc && b->nshares) {
		jv_free(gm);
		jv_free(gf);
		jv_free(sysctl);
		jv_free(proc);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid",
				  "config.json mounts: %s is a directory to share, and Firecracker has no shared directories "
				  "(org.firebuild.vmm=qemu shares it over virtio-9p)",
				  b->shares[0].src);
	}
	jv g = jv_object();
	/* Firecracker has no virtio-serial: the fb.io stream is a vsock */
	if (fc)
		g = jv_object_set(g, jv_string("io"), JV_OBJECT(jv_string("vsock_port"), jv_number(RT_VSOCK_PORT)));
	if (b->root_ext4)
		g = jv_object_set(g, jv_string("root"),
				  JV_OBJECT(jv_string("source"), jv_string("/dev/vda"), jv_string("type"), jv_string("ext4"),
					    jv_string("readonly"), jv_bool(b->rootfs_ro)));
	else
		g = jv_object_set(g, jv_string("root"),
				  JV_OBJECT(jv_string("source"), jv_string("fbroot"), jv_string("type"), jv_string("9p"),
					    jv_string("options"), jv_string(kOpts9p), jv_string("readonly"), jv_bool(b->rootfs_ro)));
	g = jv_object_set(g, jv_string("mounts"), gm);
	g = jv_object_set(g, jv_string("files"), gf);
	g = jv_object_set(g, jv_string("sysctl"), jv_get_kind(sysctl) == JV_KIND_OBJECT ? sysctl : (jv_free(sysctl), jv_object()));
	jv hn = rt_get(jv_copy(cfg), "hostname");
	g = jv_object_set(g, jv_string("hostname"), jv_get_kind(hn) == JV_KIND_STRING ? hn : (jv_free(hn), jv_null()));
	g = jv_object_set(g, jv_string("process"), proc);
	b->guest = g;
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
	jv ms = rt_get(jv_copy(b->guest), "mounts");
	jv fs = rt_get(jv_copy(b->guest), "files");
	for (int pass = 0; pass < 2; pass++) {
		jv l = pass ? fs : ms;
		jv_array_foreach(l, i, m)
		{
			jv d = rt_get(m, "destination");
			const char *dst = jv_get_kind(d) == JV_KIND_STRING ? jv_string_value(d) : NULL;
			if (r == 0 && dst && !pass) {
				int fd = fb_tree_mkdirs(root, dst, 0755, 0, 0, NULL, err);
				r = fd < 0 ? -1 : 0;
				if (fd >= 0)
					close(fd);
			} else if (r == 0 && dst) {
				/* a bound file: its directory, and an empty file to mount on */
				char *parent = fb_xstrdup(dst);
				char *slash = strrchr(parent, '/');
				if (slash)
					*slash = '\0';
				int fd = fb_tree_mkdirs(root, parent, 0755, 0, 0, NULL, err);
				free(parent);
				if (fd < 0) {
					r = -1;
				} else {
					close(fd);
					/* only when missing: what is there (a FIFO, a device
					 * node of the image) is never opened on the host */
					fd = fb_tree_open(root, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
							  0644);
					if (fd >= 0)
						close(fd);
				}
			}
			if (r < 0)
				fb_err_prefix(err, "mount point %s in %s", dst ? dst : "?", b->rootfs);
			jv_free(d);
			(void)i;
		}
		jv_free(l);
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
	jv_free(b->annotations);
	if (jv_is_valid(b->guest))
		jv_free(b->guest);
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

int rt_write_initrd(const char *path, const char *init, jv guest, struct fb_err *err)
{
	struct fb_buf bin = FB_BUF_INIT;
	if (fb_read_file(init, &bin, err) < 0) {
		fb_buf_free(&bin);
		jv_free(guest);
		return -1;
	}
	char *cfg = fb_json_dump(guest, false);
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
