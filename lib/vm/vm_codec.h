/* For lib/vm's codecs only (lib/vm/NAME_doc.c): documents that sit inside
 * others (a network in a VM spec, a state and a config drive; a config
 * drive in a VM spec), as jv. scripts/check-layers refuses it elsewhere. */
#ifndef FB_VM_CODEC_H
#define FB_VM_CODEC_H

#include <jv.h>

#include "drive_doc.h"
#include "json.h"
#include "net_doc.h"

#define FB_OPT(k, s) { .key = (k), .shape = (s) }
#define FB_REQ(k, s) { .key = (k), .shape = (s), .required = true }
#define FB_END { .key = NULL }

/* The network at path (".vm.network"): checked, then decoded. A state
 * records the network it was given, read as found (netns not required). */
int fb_network_from_jv(jv v, const char *path, bool need_netns, struct fb_network *out, struct fb_err *err) FB_MUST_CHECK;
jv fb_network_to_jv(const struct fb_network *n);
/* The network in the original firebuild's inspect shape
 * (firecracker-go-sdk's NetworkInterfaces). */
jv fb_network_interfaces_jv(const struct fb_network *n);

/* A config drive's content at path (".vm.config"), without the network. */
int fb_drive_from_jv(jv v, const char *path, struct fb_drive_config *out, struct fb_err *err) FB_MUST_CHECK;
/* With the network and its name servers when net is not NULL. */
jv fb_drive_to_jv(const struct fb_drive_config *c, const struct fb_network *net, bool version);
jv fb_drive_ssh_to_jv(const struct fb_drive_ssh *s);

/* A string, or null. Copies, and checked kinds: these cannot fail once a
 * shape said so. */
char *fb_jv_dup_str(jv obj, const char *key);
long long fb_jv_int(jv obj, const char *key, long long dflt);
bool fb_jv_bool(jv obj, const char *key, bool dflt);
void fb_jv_strv_into(jv obj, const char *key, struct fb_strv *out);

#endif
