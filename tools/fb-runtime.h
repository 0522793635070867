/* fb-runtime's pieces: the bundle read into what the VM needs
 * (fb-runtime-bundle.c), the supervisor that runs it (fb-runtime-sup.c),
 * the engine's network namespace (fb-runtime-net.c) and the commands
 * (fb-runtime.c, fb-runtime-exec.c). docs/tools/fb-runtime.md. */
#ifndef FB_RUNTIME_H
#define FB_RUNTIME_H
#include <stdbool.h>
#include <sys/types.h>

#include "ocispec.h"
#include "util.h"

struct fb_err;

#define RT_SOCK_MAX 107
#define RT_VSOCK_PORT 1024 /* fb.io over Firecracker's vsock: the guest connects to the host here */

/* A host directory the guest mounts over virtio-9p. */
struct rt_share {
	char *src, *tag;
	bool ro;
};


/* What create makes of a bundle. */
struct rt_bundle {
	char *dir;          /* absolute */
	char *oci_version;
	char *rootfs;       /* absolute */
	bool rootfs_ro;
	bool root_ext4;     /* a copy in an ext4 image (annotation org.firebuild.root=ext4), not shared */
	char *kernel, *vmm, *kernel_args;
	long long cpu, mem; /* vCPUs, MiB */
	bool terminal;
	char *netns;        /* the engine's network namespace, or NULL */
	bool netns_new;     /* a new one (no path), or the host's when !netns && !netns_new */
	char *cgroups_path;
	struct fb_rt_map annotations;
	struct fb_rt_guest guest; /* fb-oci.json: root, mounts, files, sysctl, hostname, process (network added later) */
	struct rt_share *shares;
	int nshares;
};

/* The runtime's own settings: $FB_RUNTIME_CONFIG, else
 * /etc/firebuild/runtime.json (all optional; docs/tools/fb-runtime.md). */
int rt_settings_load(struct fb_rt_settings *s, struct fb_err *err) FB_MUST_CHECK;
void rt_settings_free(struct fb_rt_settings *s);
int rt_bundle_load(const char *dir, const struct fb_rt_settings *s, struct rt_bundle *b, struct fb_err *err) FB_MUST_CHECK;
void rt_bundle_free(struct rt_bundle *b);
/* The mount points in the rootfs, made on the host (inside it, never
 * through a link out of it), as runc makes them: a read-only root is
 * shared read-only. */
int rt_bundle_mountpoints(struct rt_bundle *b, struct fb_err *err) FB_MUST_CHECK;
/* An initramfs (newc cpio): fb-init as /init, the guest config as
 * /fb-oci.json, /dev/console. */
int rt_write_initrd(const char *path, const char *init, const struct fb_rt_guest *guest, struct fb_err *err) FB_MUST_CHECK;
/* mount(8) option words -> MS_* flags and the data string. */
unsigned long rt_mount_flags(const struct fb_strv *options, char **data);

/* ---- the engine's network namespace (fb-runtime-net.c) ---- */
struct rt_tap {
	char *ifname, *tap, *mac;
};
/* In the current network namespace: every interface but lo gets a tap
 * redirected to it (fbtapN, owned by uid); *net gets the guest's network
 * (interfaces, routes). */
int rt_net_setup(long uid, struct rt_tap **taps, int *ntaps, struct fb_rt_guest_net *net, struct fb_err *err) FB_MUST_CHECK;
void rt_net_teardown(struct rt_tap *taps, int ntaps);
void rt_taps_free(struct rt_tap *taps, int ntaps);

/* ---- the supervisor (fb-runtime-sup.c) ---- */
struct rt_ctx {
	const char *root;     /* --root */
	const char *id;
	char *dir;            /* <root>/<id> */
	const char *log_path; /* --log, or NULL */
	bool log_json;
	/* what is handed to runc as it is (sandbox containers) */
	int argc, cmd_index;
	char **argv;
	const char *log_format;
	bool systemd_cgroup, creating;
};
/* The containers runc runs for us: Kubernetes' pod sandboxes ("pause",
 * annotation io.kubernetes.cri.container-type=sandbox) and bundles that
 * ask (org.firebuild.runtime=runc), in <root>/.runc. A container runc has
 * execs it (never returns); else returns. */
void rt_maybe_runc(struct rt_ctx *c);
/* Fork the supervisor for a created container: it boots the VM and says
 * "ok" or the error on ready_fd, then goes on until the container ends
 * (it never returns in the child). Returns its pid in the parent. */
pid_t rt_supervisor_fork(struct rt_ctx *c, struct rt_bundle *b, const char *console_socket, int *ready_fd,
			 struct fb_err *err);

/* ---- state (fb-runtime.c) ---- */
/* <dir>/state.json. */
int rt_state_load(const char *dir, struct fb_rt_state *out, struct fb_err *err) FB_MUST_CHECK;
int rt_state_save(const char *dir, const struct fb_rt_state *st, struct fb_err *err) FB_MUST_CHECK;
/* pid's start time (field 22 of /proc/PID/stat), 0 when it is gone or a zombie */
unsigned long long rt_proc_start(pid_t pid);

/* A container id as runc takes it ([A-Za-z0-9_+.-], not "." or ".."), and
 * not starting with a dot (<root>/.runc is runc's). */
bool rt_valid_id(const char *id);

/* ---- talking to the supervisor ---- */
/* Connect to <dir>/sup.sock; -1 when nobody answers. */
int rt_sup_connect(const char *dir);
/* One request, one answer line, each waited for timeout_s at most; -1
 * when nobody answers in time. */
#define RT_SUP_TIMEOUT 10
int rt_sup_request(const char *dir, const char *line, char *answer, size_t size, int timeout_s);
/* Send a line (and fds, may be NULL/0). */
int rt_send_line(int fd, const char *line, const int *fds, int nfds);
/* Read one line (up to size-1 bytes, newline removed); -1 at the end. */
int rt_read_line(int fd, char *buf, size_t size);
/* A pty: master sent over the console socket (the runc convention),
 * the slave returned. */
int rt_console(const char *socket_path, int *slave, struct fb_err *err);
/* The exec command (fb-runtime-exec.c). */
int rt_cmd_exec(struct rt_ctx *c, int argc, char **argv);
/* An error as runc reports it: the --log file, and stderr. Returns 1. */
int rt_fail(struct rt_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
