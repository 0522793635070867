/* Running VMs as the tools see them: the run cache's per-VM directories
 * (<run-cache>/runs/<id>/ with state.json), whether a VM's processes are
 * still there, and stopping one. fb-jail starts and supervises; firebuild
 * ls/inspect/kill/purge read and stop through this. */
#ifndef FB_VM_H
#define FB_VM_H
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "state.h"
#include "store.h"

/* Kernel command-line words every guest gets, under QEMU and Firecracker
 * (before the user's --kernel-args, which can override them): no legacy
 * BSD ptys (pty_init made 256 pairs, 45-70 ms of a TCG boot; the guest's
 * ptys are /dev/pts) (bench/boot). */
#define FB_KARGS_PTY "pty.legacy_count=0"
/* ... and one 8250 port probed, the console (Firecracker, fb-runtime). */
#define FB_KARGS_ALL FB_KARGS_PTY " 8250.nr_uarts=1"
/* firebuild run's QEMU guests instead: a second 8250 port, COM2, carries
 * fb-init's control port (docs/config-drive.md); a virtio-serial device
 * cost the boot 20-25 ms more under TCG (its probe and port handshake). */
#define FB_KARGS_CTL "8250.nr_uarts=2 fb_ctl=ttyS1"
/* Under TCG only (not KVM, not Firecracker: calibrations there are quick
 * and their results right): the local APIC timer is not calibrated, 2 x
 * 100 ms of PIT ticks (the PIT ticks instead, broadcast to other vCPUs);
 * no IO-APIC timer check; the delay loop preset instead of measured
 * (TCG measures 750-870 BogoMIPS here; udelay only has to be roughly
 * right for emulated devices). MACHINE-NOTES: pit=off hangs TCG. */
#define FB_KARGS_TCG "nolapic_timer no_timer_check lpj=1600000"

/* A VM id or --name: 1-20 characters of [a-zA-Z0-9]. */
bool fb_vm_valid_name(const char *s);
/* A new VM id: 12 hex digits, from /dev/urandom. */
void fb_vm_new_id(char out[21]);
/* pid is alive and its command line holds what (a recycled pid is not). */
bool fb_vm_alive(long pid, const char *what);
/* "running" (the VMM is there), "exited" (it reported an end), "dead". */
const char *fb_vm_status(const struct fb_vm_state *s);
/* Stop the VM of dir: its supervisor is asked (the workload gets its
 * STOPSIGNAL through fb-init), the VMM killed when timeout seconds pass;
 * *final gets the last state (an empty one when the state is of another
 * shape: what it names is not signalled). */
int fb_vm_stop(const char *dir, long timeout, struct fb_vm_state *final, struct fb_err *err) FB_MUST_CHECK;
/* What a stopped VM held, in the reverse of the order a start makes it:
 * its jail and cgroups (from state.json, or jail.json for a start that
 * never got as far as a state), its CNI network (fb-net del, from the
 * cached result) and its run directory. */
int fb_vm_teardown(const char *dir, const char *id, struct fb_err *err) FB_MUST_CHECK;
/* A start that ended before its state was written (no state.json in dir):
 * what it made goes, as fb_vm_teardown does, when dir is still the one
 * whose name lock_fd holds (fb_vm_claim); a VM that ran is left to kill
 * and purge. */
int fb_vm_abandon(const char *dir, const char *id, int lock_fd, struct fb_err *err) FB_MUST_CHECK;

/* The run directory's lock (<dir>/lock, flock): held by whoever is
 * starting the VM (firebuild run, then fb-jail, then its supervisor until
 * the state says the VMM runs), and by purge while it removes a run.
 * The environment variable that hands the held lock from firebuild run to
 * fb-jail across exec: */
#define FB_VM_LOCK_ENV "FB_VM_LOCK_FD"
/* Take the name: <runs>/<id> made with its lock file already locked (a
 * directory prepared under a temporary name, then renamed into place), so
 * the name is never visible unlocked. *lock_fd: the held lock (not
 * close-on-exec: children that outlive a killed start keep it). A name in
 * use is FB_EXIT_CONFLICT, with what holds it; nothing is made then. */
int fb_vm_claim(const char *runs, const char *id, int *lock_fd, struct fb_err *err) FB_MUST_CHECK;
/* The held lock FB_VM_LOCK_ENV names, when it is dir's lock: its
 * descriptor (close-on-exec again), else -1. The variable is removed. */
int fb_vm_inherited_lock(const char *dir);
/* Try the lock of dir without waiting: 1 and *fd when taken, 0 when
 * someone holds it, -1 when dir has no lock file (a run directory of an
 * older version, or made by hand). */
int fb_vm_trylock(const char *dir, int *fd);
#endif
