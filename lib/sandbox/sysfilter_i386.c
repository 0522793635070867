/* The i386 numbers of the syscalls sysfilter.c decides on: a unit of its
 * own, since <asm/unistd_32.h> and the native <sys/syscall.h> define the
 * same names. */
#include "sysfilter.h"

#if defined(__x86_64__)
#include <asm/unistd_32.h>

const int fb_sysfilter_i386_deny[] = {
#include "sysfilter_list.h"
};
const size_t fb_sysfilter_i386_ndeny = sizeof(fb_sysfilter_i386_deny) / sizeof(fb_sysfilter_i386_deny[0]);
const int fb_sysfilter_i386_nr[4] = { __NR_clone, __NR_clone3, __NR_socket, __NR_personality };
#else
const int fb_sysfilter_i386_deny[] = { -1 };
const size_t fb_sysfilter_i386_ndeny = 0;
const int fb_sysfilter_i386_nr[4] = { -1, -1, -1, -1 };
#endif
