/* The bodies of Firecracker's API requests (its published specification,
 * ../shared/firecracker/firecracker-api.yaml) and the fault_message of an
 * error answer: each encoded here once, as text for lib/firecracker. */
#ifndef FB_FIRECRACKER_DOC_H
#define FB_FIRECRACKER_DOC_H

#include <stdbool.h>
#include <stddef.h>

/* PUT /logger */
char *fb_fc_logger_body(const char *log_path);
/* PUT /metrics */
char *fb_fc_metrics_body(const char *metrics_path);
/* PUT /machine-config; cpu_template NULL: none */
char *fb_fc_machine_body(int vcpus, int mem_mib, bool smt, const char *cpu_template);
/* PUT /boot-source */
char *fb_fc_boot_body(const char *kernel, const char *boot_args);
/* PUT /drives/{id} */
char *fb_fc_drive_body(const char *id, const char *path, bool root, bool read_only);
/* PUT /network-interfaces/{iface} */
char *fb_fc_iface_body(const char *iface, const char *tap, const char *mac);
/* PUT /mmds/config: V2 on iface */
char *fb_fc_mmds_config_body(const char *iface);
/* PUT /actions */
char *fb_fc_action_body(const char *action);
/* An error answer's fault_message (owned), or NULL when it has none. */
char *fb_fc_fault_message(const char *body, size_t len);

#endif
