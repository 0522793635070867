/* The capabilities a sandboxed command keeps: Docker's default set (CHOWN,
 * DAC_OVERRIDE, FSETID, FOWNER, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP,
 * NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE). A build step has no
 * business loading modules, mounting, making device nodes or tracing the
 * host. */
#ifndef FB_CAPS_H
#define FB_CAPS_H

#include <stdbool.h>

#include "err.h"

/* Is capability c one of the set? */
bool fb_caps_kept(int c);
/* Drop every other one from the bounding set, and make the set this
 * process's effective, permitted and inheritable capabilities (what an
 * exec'd root program keeps; a setuid one gets them back up to the bound). */
int fb_caps_drop(struct fb_err *err) FB_MUST_CHECK;

#endif
