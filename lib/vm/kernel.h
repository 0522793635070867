/* The documents firebuild kernel prints: the kernel added, and the
 * kernels in the store. */
#ifndef FB_KERNEL_H
#define FB_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "doc.h"

struct fb_vm_kernel {
	char *id, *path;
	long long size;
	bool is_default;
};

/* {"kernel": {id, path}} */
struct fb_doc *fb_kernel_added_doc(const char *id, const char *path);
/* {"kernels": [{id, path, size, default}, ...]} */
struct fb_doc *fb_kernel_list_doc(const struct fb_vm_kernel *k, size_t n);

#endif
