/* Firecracker's API over its Unix socket (HTTP with libcurl), as its
 * published specification (../shared/firecracker/firecracker-api.yaml)
 * describes: logger, metrics, machine-config, boot-source, drives,
 * network-interfaces, MMDS (V2), then InstanceStart; SendCtrlAltDel to
 * stop. */
#ifndef FB_FIRECRACKER_H
#define FB_FIRECRACKER_H
#include <stdbool.h>

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

/* One PUT of body (JSON text, lib/firecracker_doc). A non-2xx answer is an
 * error with its fault_message. log: an info line with the call and the
 * answer. */
int fb_fc_put(const char *sock, const char *path, const char *body, bool log, struct fb_err *err) FB_MUST_CHECK;
/* Everything up to and including InstanceStart. */
int fb_fc_configure(const struct fb_fc_config *c, struct fb_err *err) FB_MUST_CHECK;
int fb_fc_ctrl_alt_del(const char *sock, struct fb_err *err) FB_MUST_CHECK;
#endif
