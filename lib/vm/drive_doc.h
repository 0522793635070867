/* For lib/vm's codecs only (NAME_doc.c): the config drive's content as a
 * jv member of the VM spec (.vm.config), and its SSH part as the MMDS
 * shows it. scripts/check-layers refuses a *_doc.h anywhere but in a
 * codec. */
#ifndef FB_DRIVE_DOC_H
#define FB_DRIVE_DOC_H

#include <jv.h>
#include <stdbool.h>

#include "drive.h"
#include "net.h"

/* A config drive's content at path (".vm.config"), without the network. */
int fb_drive_from_jv(jv v, const char *path, struct fb_drive_config *out, struct fb_err *err) FB_MUST_CHECK;
/* With the network and its name servers when net is not NULL. */
jv fb_drive_to_jv(const struct fb_drive_config *c, const struct fb_network *net, bool version);
jv fb_drive_ssh_to_jv(const struct fb_drive_ssh *s);

#endif
