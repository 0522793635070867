/* The metadata a VM's guest software may read from Firecracker's MMDS (V2,
 * on eth0): {"firebuild": {id, image, hostname, network, ssh}}. Never the
 * environment (it may hold secrets). */
#ifndef FB_MMDS_H
#define FB_MMDS_H

#include "drive.h"
#include "net.h"

/* The document as Firecracker's PUT /mmds takes it (owned text); net and
 * ssh may be NULL (null in the document). */
char *fb_mmds_vm_json(const char *id, const char *image, const char *hostname, const struct fb_network *net,
		      const struct fb_drive_ssh *ssh);

#endif
