/* Running VMs as the tools see them: the run cache's per-VM directories
 * (<run-cache>/runs/<id>/ with state.json), whether a VM's processes are
 * still there, and stopping one. fb-jail starts and supervises; firebuild
 * ls/inspect/kill/purge read and stop through this. */
#ifndef FB_VM_H
#define FB_VM_H
#include <jv.h>
#include <stdbool.h>
#include <sys/types.h>

#include "json.h"
#include "store.h"

struct fb_err;

/* A VM id or --name: 1-20 characters of [a-zA-Z0-9]. */
bool fb_vm_valid_name(const char *s);
/* pid is alive and its command line holds what (a recycled pid is not). */
bool fb_vm_alive(long pid, const char *what);
/* "running" (the VMM is there), "exited" (it reported an end), "dead". */
const char *fb_vm_status(jv state);
/* A number member, 0 when missing. */
long fb_vm_num(jv o, const char *key);
/* Stop the VM of dir: its supervisor is asked (the workload gets its
 * STOPSIGNAL through fb-init), the VMM killed when timeout seconds pass;
 * *final gets the last state. */
int fb_vm_stop(const char *dir, long timeout, jv *final, struct fb_err *err);
/* What a stopped VM held: its CNI network (fb-net del, from the cached
 * result) and its run directory. */
int fb_vm_teardown(const char *dir, const char *id, struct fb_err *err);
#endif
