/* For lib/vm's codecs only (NAME_doc.c): the network document as a jv
 * member of others (a VM spec, a state, the config drive, the MMDS), and
 * the helpers they share to read a checked jv. scripts/check-layers
 * refuses a *_doc.h anywhere but in a codec. */
#ifndef FB_NET_DOC_H
#define FB_NET_DOC_H

#include <jv.h>
#include <stdbool.h>

#include "json.h"
#include "net.h"

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

/* A string member, or NULL; an integer, a boolean (dflt when absent); the
 * strings of an array. Copies, of checked kinds: these cannot fail once a
 * shape said so. */
char *fb_jv_dup_str(jv obj, const char *key);
long long fb_jv_int(jv obj, const char *key, long long dflt);
bool fb_jv_bool(jv obj, const char *key, bool dflt);
void fb_jv_strv_into(jv obj, const char *key, struct fb_strv *out);

#endif
