#include "cni.h"

#include <string.h>

#include "util.h"

bool fb_cni_valid_ifname(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 15 || s[0] == '-' || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

void fb_cni_summarize(const struct fb_cni_result *r, const char *network, const char *netns, const char *ifname,
		      int (*mtu)(void *ctx), void *ctx, struct fb_network *out)
{
	*out = (struct fb_network){ .name = fb_xstrdup(network ? network : ""), .netns = fb_xstrdup(netns) };
	out->ifs = fb_xcalloc(r->nifs ? r->nifs : 1, sizeof(*out->ifs));
	for (size_t i = 0; i < r->nifs; i++) {
		const struct fb_cni_iface *it = &r->ifs[i];
		bool inside = it->sandbox && *it->sandbox;
		if (!inside || !it->name)
			continue;
		if (strcmp(it->name, ifname) && !strncmp(it->name, "tap", 3)) {
			free(out->tap);
			out->tap = fb_xstrdup(it->name);
			continue;
		}
		if (strcmp(it->name, ifname))
			continue;
		struct fb_net_iface *e = &out->ifs[out->nifs++];
		e->name = fb_xstrdup(it->name);
		e->mac = it->mac ? fb_xstrdup(it->mac) : NULL;
		int m = mtu ? mtu(ctx) : 0;
		e->mtu = m > 0 ? m : 0;
		/* its addresses: ips whose interface is this one's index;
		 * ip/gateway: the first IPv4 one (else the first), ips: all */
		e->ips = fb_xcalloc(r->nips ? r->nips : 1, sizeof(*e->ips));
		for (size_t k = 0; k < r->nips; k++) {
			const struct fb_cni_ip *a = &r->ips[k];
			if ((a->iface >= 0 && a->iface != (long long)i) || !a->address)
				continue;
			bool v4 = !strchr(a->address, ':');
			if (!e->ip || (v4 && strchr(e->ip, ':'))) {
				free(e->ip);
				free(e->gateway);
				e->ip = fb_xstrdup(a->address);
				e->gateway = a->gateway ? fb_xstrdup(a->gateway) : NULL;
			}
			e->ips[e->nips++] = (struct fb_net_addr){ fb_xstrdup(a->address), a->gateway ? fb_xstrdup(a->gateway) : NULL };
		}
	}
	for (size_t i = 0; i < r->dns.n; i++)
		fb_strv_push(&out->dns, r->dns.v[i]);
}
