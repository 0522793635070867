/* CNI as fb-net uses it, beyond its documents (cni_doc.h): interface
 * names, and the network document (net_doc.h) a plugin chain's result
 * gives the VM. */
#ifndef FB_CNI_H
#define FB_CNI_H

#include <stdbool.h>

#include "cni_doc.h"
#include "net_doc.h"

/* A Linux interface name: 1-15 of [A-Za-z0-9_.-], not starting with '-'. */
bool fb_cni_valid_ifname(const char *s);

/* .network from a result (docs/tools/fb-net.md): ifname's MAC and
 * addresses (ip/gateway: the first IPv4 one, else the first), the tap
 * (another interface in the namespace whose name starts with "tap"), the
 * DNS servers; mtu (may be NULL) gives ifname's MTU, asked only when the
 * result has ifname. */
void fb_cni_summarize(const struct fb_cni_result *r, const char *network, const char *netns, const char *ifname,
		      int (*mtu)(void *ctx), void *ctx, struct fb_network *out);

#endif
