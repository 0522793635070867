/* fb-runtime's documents (docs/tools/fb-runtime.md), ocispec_doc.c their
 * codec: the OCI runtime spec's config.json of a bundle and the process
 * of `exec --process` (decoded once, checked: a member of another kind is
 * an error naming it, ".process.args: expected an array or null, got
 * string"), the container's state.json and the runtime-spec state
 * `state` and `list` print, the runtime's settings (runtime.json), and the
 * guest config fb-init reads (fb-oci.json, encoded only). Only what
 * fb-runtime reads is decoded; the rest of a bundle is not looked at.
 * Not the OCI image spec: that is lib/image/oci.h. */
#ifndef FB_OCISPEC_H
#define FB_OCISPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "util.h"

/* A map of strings (annotations, sysctl), in the document's order. */
struct fb_rt_map {
	char **keys, **values;
	size_t n;
};
/* The value of key, or NULL. */
const char *fb_rt_map_get(const struct fb_rt_map *m, const char *key);
void fb_rt_map_copy(struct fb_rt_map *dst, const struct fb_rt_map *src);
void fb_rt_map_free(struct fb_rt_map *m);

struct fb_rt_rlimit {
	char *type;
	uint64_t hard, soft;
};

/* .process: what fb-init runs. */
struct fb_rt_process {
	struct fb_strv args, env;
	char *cwd; /* NULL: not set */
	bool terminal, no_new_privileges;
	bool has_console_size;
	uint32_t console_height, console_width;
	uint32_t uid, gid;
	uint32_t *additional_gids;
	size_t nadditional_gids;
	bool has_umask;
	uint32_t umask;
	struct fb_rt_rlimit *rlimits;
	size_t nrlimits;
	bool has_caps; /* .capabilities there: a set not given is empty */
	struct fb_strv cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
};
void fb_rt_process_free(struct fb_rt_process *p);
#define FB_AUTORTPROC __attribute__((cleanup(fb_rt_process_free)))
/* exec's --process FILE: a process object (args may be empty: the
 * caller says what it needs). */
int fb_rt_process_load(const char *path, struct fb_rt_process *out, struct fb_err *err) FB_MUST_CHECK;
int fb_rt_process_parse(const char *text, size_t len, struct fb_rt_process *out, struct fb_err *err) FB_MUST_CHECK;
/* One line of JSON, as fb-init reads a process. */
char *fb_rt_process_encode(const struct fb_rt_process *p);

struct fb_rt_mount {
	char *destination, *type, *source; /* type, source: NULL when not given */
	struct fb_strv options;
};

/* A bundle's config.json. */
struct fb_rt_spec {
	char *oci_version;
	struct fb_rt_process process; /* args has one at least */
	char *root_path;
	bool root_readonly;
	char *hostname; /* NULL: not set */
	struct fb_rt_mount *mounts;
	size_t nmounts;
	/* linux.namespaces' network: a path (netns), a new one (netns_new), or
	 * none (the host's) */
	char *netns;
	bool netns_new;
	char *cgroups_path;
	long long cpu_quota, cpu_period, memory_limit; /* 0: not set */
	struct fb_rt_map sysctl, annotations;
};
void fb_rt_spec_free(struct fb_rt_spec *s);
#define FB_AUTORTSPEC __attribute__((cleanup(fb_rt_spec_free)))
/* Errors name the member (".root.path: missing (expected a string)"),
 * FB_EXIT_USAGE; the caller names the file. */
int fb_rt_spec_load(const char *path, struct fb_rt_spec *out, struct fb_err *err) FB_MUST_CHECK;
int fb_rt_spec_parse(const char *text, size_t len, struct fb_rt_spec *out, struct fb_err *err) FB_MUST_CHECK;

/* ---- what fb-runtime writes ---- */

/* The guest's config (fb-oci.json in the initramfs), which fb-init reads. */
struct fb_rt_guest_mount {
	char *destination, *type, *source;
	unsigned long flags;
	char *data; /* NULL: none */
};
struct fb_rt_guest_file {
	char *destination, *data; /* data: base64 */
	unsigned mode;
	bool readonly;
};
struct fb_rt_guest_iface {
	char *name, *mac;
	bool has_mtu;
	long long mtu;
	char *ip;             /* the first IPv4 address (CIDR), else the first IPv6; NULL: none */
	struct fb_strv ips;   /* the IPv6 addresses */
};
struct fb_rt_guest_route {
	char *dst, *gateway, *dev; /* dst "default"; gateway NULL: none */
};
struct fb_rt_guest_net {
	struct fb_rt_guest_iface *ifaces;
	size_t nifaces;
	struct fb_rt_guest_route *routes;
	size_t nroutes;
};
void fb_rt_guest_net_free(struct fb_rt_guest_net *n);
#define FB_AUTOGUESTNET __attribute__((cleanup(fb_rt_guest_net_free)))
struct fb_rt_guest {
	int vsock_port; /* fb.io over a vsock (Firecracker); 0: virtio-serial */
	char *root_source, *root_type, *root_options; /* options: NULL: none */
	bool root_readonly;
	struct fb_rt_guest_mount *mounts;
	size_t nmounts;
	struct fb_rt_guest_file *files;
	size_t nfiles;
	struct fb_rt_map sysctl;
	char *hostname; /* NULL: none */
	struct fb_rt_process process;
	const struct fb_rt_guest_net *network; /* not owned; NULL: none */
};
void fb_rt_guest_free(struct fb_rt_guest *g);
char *fb_rt_guest_encode(const struct fb_rt_guest *g);

/* <root>/<id>/state.json: the runtime-spec's state and fb-runtime's own
 * record (.fb). */
struct fb_rt_tap_rec {
	char *ifname, *tap;
};
struct fb_rt_state {
	char *oci_version, *id, *status, *bundle, *rootfs, *created, *owner;
	long long pid;
	struct fb_rt_map annotations;
	/* .fb; 0 and NULL: not recorded */
	bool has_exit_code;
	long long exit_code, finished, guest_pid, supervisor_start, vmm_pid, vmm_start;
	char *jail_dir, *vmm, *netns;
	struct fb_strv cgroups;
	struct fb_rt_tap_rec *taps;
	size_t ntaps;
};
void fb_rt_state_free(struct fb_rt_state *s);
#define FB_AUTORTSTATE __attribute__((cleanup(fb_rt_state_free)))
int fb_rt_state_load(const char *path, struct fb_rt_state *out, struct fb_err *err) FB_MUST_CHECK;
int fb_rt_state_parse(const char *text, size_t len, struct fb_rt_state *out, struct fb_err *err) FB_MUST_CHECK;
int fb_rt_state_save(const char *path, const struct fb_rt_state *s, struct fb_err *err) FB_MUST_CHECK;
/* The runtime-spec state of s as it is now (status given: "stopped" makes
 * pid 0), and a list of them; pretty JSON text. */
char *fb_rt_state_public(const struct fb_rt_state *s, const char *status);
char *fb_rt_state_list(const struct fb_rt_state *const *s, char *const *status, size_t n);
/* `ps --format json`: the pids. */
char *fb_rt_pids_json(const long long *pids, size_t n);
/* `features`: the runtime-spec's features document base (an object,
 * JSON text) with caps as .linux.capabilities. */
char *fb_rt_features_json(const char *base, char *const *caps, size_t ncaps, struct fb_err *err);

/* The runtime's settings ($FB_RUNTIME_CONFIG or /etc/firebuild/runtime.json;
 * every key optional). */
struct fb_rt_settings {
	char *kernel, *vmm, *store, *chroot_base, *kernel_args, *runc, *accel, *firecracker;
	long long mem, cpu, boot_timeout, jailer_uid, jailer_gid;
};
/* Keys absent keep what *s holds (the defaults); errors name the key. */
int fb_rt_settings_load(const char *path, struct fb_rt_settings *s, struct fb_err *err) FB_MUST_CHECK;
void fb_rt_settings_free(struct fb_rt_settings *s);

#endif
