#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

static const int keep[] = { CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,  CAP_FOWNER,	  CAP_NET_RAW,
			    CAP_SETGID, CAP_SETUID,	  CAP_SETFCAP, CAP_SETPCAP,	  CAP_NET_BIND_SERVICE,
			    CAP_SYS_CHROOT, CAP_KILL,	  CAP_AUDIT_WRITE };

bool fb_caps_kept(int c)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(keep); i++)
		if (keep[i] == c)
			return true;
	return false;
}

int fb_caps_drop(struct fb_err *err)
{
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!fb_caps_kept(c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return fb_err_errno(err, errno, "drop capability %d", c);
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	for (size_t i = 0; i < FB_ARRAY_LEN(keep); i++) {
		d[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		d[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
		d[keep[i] / 32].inheritable |= 1u << (keep[i] % 32);
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return fb_err_errno(err, errno, "capset");
	return 0;
}
