/* Firecracker's API over its Unix socket (HTTP with libcurl), as its
 * published specification (../shared/firecracker/firecracker-api.yaml)
 * describes: logger, metrics, machine-config, boot-source, drives,
 * network-interfaces, MMDS (V2), then InstanceStart; SendCtrlAltDel to
 * stop. */
#ifndef FB_FIRECRACKER_H
#define FB_FIRECRACKER_H
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct fb_err;

struct fb_fc_config {
	const char *sock;
	const char *log_path, *metrics_path; /* files that exist */
	int cpu, mem;
	const char *kernel, *boot_args;
	const char *rootfs, *config_drive;
	const char *tap, *mac; /* NULL: no network */
	const char *cpu_template; /* NULL: none */
	bool smt;
	const char *mmds_json; /* published through MMDS V2 on eth0; NULL: nothing */
	bool log_calls; /* log each call (--log-firecracker-http-calls) */
};

/* One PUT of body (JSON text, as encoded below). A non-2xx answer is an
 * error with its fault_message. log: an info line with the call and the
 * answer. */
int fb_fc_put(const char *sock, const char *path, const char *body, bool log, struct fb_err *err) FB_MUST_CHECK;
/* Everything up to and including InstanceStart. */
int fb_fc_configure(const struct fb_fc_config *c, struct fb_err *err) FB_MUST_CHECK;
int fb_fc_ctrl_alt_del(const char *sock, struct fb_err *err) FB_MUST_CHECK;

/* The bodies of the API's requests (firecracker_doc.c), JSON text:
 * each encoded there once. */
/* PUT /logger */
char *fb_fc_logger_body(const char *log_path);
/* PUT /metrics */
char *fb_fc_metrics_body(const char *metrics_path);
/* PUT /machine-config; cpu_template NULL: none */
char *fb_fc_machine_body(int vcpus, int mem_mib, bool smt, const char *cpu_template);
/* PUT /boot-source; initrd NULL: none */
char *fb_fc_boot_body(const char *kernel, const char *initrd, const char *boot_args);
/* PUT /drives/{id} */
char *fb_fc_drive_body(const char *id, const char *path, bool root, bool read_only);
/* PUT /network-interfaces/{iface} */
char *fb_fc_iface_body(const char *iface, const char *tap, const char *mac);
/* PUT /vsock */
char *fb_fc_vsock_body(int guest_cid, const char *uds_path);
/* PUT /mmds/config: V2 on iface */
char *fb_fc_mmds_config_body(const char *iface);
/* PUT /actions */
char *fb_fc_action_body(const char *action);
/* An error answer's fault_message (owned), or NULL when it has none. */
char *fb_fc_fault_message(const char *body, size_t len);

#endif
