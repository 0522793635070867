/* The network document: fb-net's .network (docs/tools/fb-net.md), what
 * a VM spec's .vm.network holds, what the config drive, the MMDS and a
 * VM's state record. Decoded once into struct fb_network, encoded once;
 * lib/vm/cni.c makes it from a CNI result. */
#ifndef FB_NET_H
#define FB_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "doc.h"
#include "err.h"
#include "util.h"

struct fb_net_addr {
	char *address; /* "10.88.0.2/24", "fd00::2/64" */
	char *gateway; /* NULL: none */
};

struct fb_net_iface {
	char *name, *mac;     /* NULL: not known */
	char *ip;             /* the first IPv4 address (else the first); NULL: none */
	char *gateway;        /* its gateway (NULL: none) */
	int mtu;              /* 0: not known */
	struct fb_net_addr *ips;
	size_t nips;
};

struct fb_network {
	char *name;  /* the CNI network */
	char *netns; /* the VM's network namespace (a path) */
	char *tap;   /* the tap the VMM opens; NULL: none */
	struct fb_net_iface *ifs;
	size_t nifs;
	struct fb_strv dns;   /* name servers */
	struct fb_strv ports; /* --port specs published */
};

void fb_network_free(struct fb_network *n);
static inline void fb_network_freep(struct fb_network **n)
{
	if (*n) {
		fb_network_free(*n);
		free(*n);
	}
	*n = NULL;
}
#define FB_AUTONET __attribute__((cleanup(fb_network_freep)))

/* A copy of n. */
struct fb_network *fb_network_dup(const struct fb_network *n);

/* .network of a pipeline document: 0 with *out (NULL when there is none),
 * or an error naming the member (.network.interfaces[0].mtu: ...). */
int fb_network_decode(const struct fb_doc *d, struct fb_network **out, struct fb_err *err) FB_MUST_CHECK;
/* .network set (replaced) to n. */
void fb_network_encode(struct fb_doc *d, const struct fb_network *n);
/* fb-net check's and del's mark: key ("checked", "deleted") set to true. */
void fb_net_doc_mark(struct fb_doc *d, const char *key);

#endif
