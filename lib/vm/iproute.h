/* What `ip -j addr show` and `ip -j route show` print (iproute2's JSON),
 * as fb-runtime reads an engine's network namespace; iproute_doc.c is the
 * codec. Read as found: a member of another kind is absent. */
#ifndef FB_IPROUTE_H
#define FB_IPROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "util.h"

struct fb_ip_addr {
	char *family, *local, *scope; /* NULL: not given */
	int prefixlen;                /* -1: not given */
};
struct fb_ip_link {
	char *ifname, *link_type, *address;
	bool has_mtu;
	long long mtu;
	struct fb_ip_addr *addrs;
	size_t naddrs;
};
struct fb_ip_route {
	char *dst, *gateway, *dev, *protocol;
};
/* Empty text is an empty list; anything but an array is an error. */
int fb_ip_links_parse(const char *text, size_t len, struct fb_ip_link **out, size_t *n, struct fb_err *err) FB_MUST_CHECK;
int fb_ip_routes_parse(const char *text, size_t len, struct fb_ip_route **out, size_t *n, struct fb_err *err) FB_MUST_CHECK;
void fb_ip_links_free(struct fb_ip_link *l, size_t n);
void fb_ip_routes_free(struct fb_ip_route *r, size_t n);

#endif
