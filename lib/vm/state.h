/* A VM's state (<run-dir>/state.json, written by fb-jail's supervisor;
 * docs/tools/fb-jail.md), the jail record (<run-dir>/jail.json: the jail
 * directory and cgroups a start is about to make), and the documents made
 * of states: fb-jail start's .vm when daemonized, firebuild ls, inspect,
 * kill and purge. A state is read as found: a member of another kind is an
 * error naming it (.pid: expected an integer or null, got string). */
#ifndef FB_STATE_H
#define FB_STATE_H

#include <stdbool.h>

#include "doc.h"
#include "err.h"
#include "net.h"
#include "util.h"

struct fb_vm_state {
	char *id, *image, *backend;
	char *run_cache;        /* the VM's run directory */
	char *jail;             /* the jail's root; NULL: not jailed */
	char *jail_dir;         /* <base>/<vmm>/<id> */
	struct fb_strv cgroups; /* the cgroup directories made */
	bool jail_ids;          /* jail_uid and jail_gid are set */
	long long jail_uid, jail_gid;
	char *console_log;      /* daemonized: the console's file */
	long long started;      /* seconds since the epoch */
	bool daemonized;
	char *kernel, *rootfs, *config_drive;
	long long cpu, mem;     /* 0: not recorded */
	char *accel;            /* "kvm", "tcg" (QEMU) */
	char *api_socket;       /* Firecracker's */
	long long pid, supervisor_pid; /* 0: none */
	char *status;           /* "running" or "exited" as the supervisor wrote it */
	bool workload_started;
	bool has_exit_code;
	long long exit_code;
	char *error;
	struct fb_network *network; /* NULL: none */
};

void fb_vm_state_free(struct fb_vm_state *s);

/* state.json (or jail.json, which has jail_dir and cgroups only). */
int fb_vm_state_load(const char *path, struct fb_vm_state *out, struct fb_err *err) FB_MUST_CHECK;
/* The same from text (what load reads). */
int fb_vm_state_parse(const char *text, size_t len, struct fb_vm_state *out, struct fb_err *err) FB_MUST_CHECK;
/* durable: synced (the end's record); a running VM's is not (it has to
 * outlive the supervisor, not the host, whose power loss takes the VM
 * too), and its fsync had waited on the journal writing the VM's fresh
 * disk copy out while the guest booted. */
int fb_vm_state_save(const char *path, const struct fb_vm_state *s, bool durable, struct fb_err *err) FB_MUST_CHECK;
/* The jail record: jail_dir and cgroups, before any of them is made; and
 * FB_VM_JAIL_LINK in the same directory, a symbolic link to jail_dir (what
 * of a jail outlives a power loss, named where a record written and not
 * synced may come back empty). */
#define FB_VM_JAIL_LINK "jail.link"
int fb_vm_jail_record_save(const char *path, const char *jail_dir, char *const *cgroups, size_t n,
			   struct fb_err *err) FB_MUST_CHECK;

/* s as .key of d, with "state": status when status is not NULL. */
void fb_vm_state_encode(struct fb_doc *d, const char *key, const struct fb_vm_state *s, const char *status);
/* s itself as a document (firebuild inspect), with "state": status. */
struct fb_doc *fb_vm_state_doc(const struct fb_vm_state *s, const char *status);
/* {"vms": [state + "state", ...]} (firebuild ls). */
struct fb_doc *fb_vm_state_list_doc(const struct fb_vm_state *const *s, char *const *status, size_t n);
/* {"id", "killed": true, "exit_code"} of a VM stopped (exit_code null
 * unless has_code; id null when NULL). */
struct fb_doc *fb_vm_stopped_doc(const char *id, bool has_code, long long code);
/* {"purged": [...], "builds": [...]} (firebuild purge). */
struct fb_doc *fb_vm_purged_doc(char *const *purged, size_t n, char *const *builds, size_t nb);

#endif
