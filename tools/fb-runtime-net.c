/* fb-runtime: the engine's network namespace given to the VM. The engine
 * (podman's CNI or netavark, containerd's CNI) made the namespace and its
 * interfaces; each one but lo gets a tap redirected to it with tc (the
 * code tc-redirect-tap uses, lib/tcredirect.c), the VM a NIC on each tap
 * with the interface's MAC, and fb-init the addresses, MTU and routes the
 * interface had, so the guest is where the container would have been. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "iproute.h"
#include "proc.h"
#include "tcredirect.h"
#include "util.h"

#include "fb-runtime.h"

/* What ip -j prints, run here. */
static int ip_json(char *const argv[], struct fb_buf *out, struct fb_err *err)
{
	struct fb_buf e FB_AUTOBUF = FB_BUF_INIT;
	int code = 0;
	int r = fb_proc_run(argv, NULL, 0, out, &e, &code, err);
	if (r == 0 && code != 0)
		r = fb_err_set(err, FB_EXIT_FAILED, "net", "%s %s %s: %s", argv[0], argv[1], argv[2], fb_buf_str(&e));
	return r;
}

/* The routes that are not the kernel's own (those come with the addresses). */
static void add_routes(const struct fb_ip_route *routes, size_t n, struct fb_rt_guest_net *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct fb_ip_route *r = &routes[i];
		const char *d = r->dst, *g = r->gateway, *dv = r->dev, *pr = r->protocol;
		bool skip = (pr && !strcmp(pr, "kernel")) || !dv || !strcmp(dv, "lo") || fb_str_has_prefix(dv, "fbtap") ||
			    (d && fb_str_has_prefix(d, "fe80")) || (d && fb_str_has_prefix(d, "ff00"));
		if (skip)
			continue;
		out->routes = fb_xrealloc(out->routes, (out->nroutes + 1) * sizeof(*out->routes));
		out->routes[out->nroutes++] =
			(struct fb_rt_guest_route){ fb_xstrdup(d ? d : "default"), g ? fb_xstrdup(g) : NULL, fb_xstrdup(dv) };
	}
}

static int routes_of(char *const argv[], struct fb_rt_guest_net *out, struct fb_err *err)
{
	struct fb_buf o FB_AUTOBUF = FB_BUF_INIT;
	struct fb_ip_route *rs = NULL;
	size_t n = 0;
	if (ip_json(argv, &o, err) < 0 || fb_ip_routes_parse(fb_buf_str(&o), o.len, &rs, &n, err) < 0)
		return -1;
	add_routes(rs, n, out);
	fb_ip_routes_free(rs, n);
	return 0;
}

/* The guest's view of an interface: its addresses but the link-scoped. */
static void add_iface(const struct fb_ip_link *l, struct fb_rt_guest_net *net)
{
	net->ifaces = fb_xrealloc(net->ifaces, (net->nifaces + 1) * sizeof(*net->ifaces));
	struct fb_rt_guest_iface *it = &net->ifaces[net->nifaces++];
	*it = (struct fb_rt_guest_iface){ fb_xstrdup(l->ifname), fb_xstrdup(l->address), l->has_mtu, l->mtu, NULL, FB_STRV_INIT };
	for (size_t k = 0; k < l->naddrs; k++) {
		const struct fb_ip_addr *a = &l->addrs[k];
		if (!a->family || !a->local || a->prefixlen < 0 || (a->scope && !strcmp(a->scope, "link")))
			continue;
		char *cidr = fb_xasprintf("%s/%d", a->local, a->prefixlen);
		if (!strcmp(a->family, "inet") && !it->ip)
			it->ip = fb_xstrdup(cidr);
		else if (!strcmp(a->family, "inet6"))
			fb_strv_push(&it->ips, cidr);
		free(cidr);
	}
	if (!it->ip && it->ips.n)
		it->ip = fb_xstrdup(it->ips.v[0]);
}

int rt_net_setup(long uid, struct rt_tap **taps, int *ntaps, struct fb_rt_guest_net *net, struct fb_err *err)
{
	*taps = NULL;
	*ntaps = 0;
	*net = (struct fb_rt_guest_net){ 0 };
	struct fb_buf o FB_AUTOBUF = FB_BUF_INIT;
	struct fb_ip_link *links = NULL;
	size_t nlinks = 0;
	char *a1[] = { "ip", "-j", "addr", "show", NULL };
	if (ip_json(a1, &o, err) < 0 || fb_ip_links_parse(fb_buf_str(&o), o.len, &links, &nlinks, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < nlinks; i++) {
		const struct fb_ip_link *l = &links[i];
		const char *n = l->ifname, *t = l->link_type, *m = l->address;
		if (!n || !m || !t || strcmp(t, "ether") || fb_str_has_prefix(n, "fbtap"))
			continue;
		char *tap = fb_xasprintf("fbtap%d", *ntaps);
		if (fb_tc_redirect_add(n, tap, uid, uid, err) < 0) {
			free(tap);
			r = -1;
			break;
		}
		*taps = fb_xrealloc(*taps, (size_t)(*ntaps + 1) * sizeof(**taps));
		(*taps)[(*ntaps)++] = (struct rt_tap){ fb_xstrdup(n), tap, fb_xstrdup(m) };
		add_iface(l, net);
	}
	fb_ip_links_free(links, nlinks);
	if (r == 0) {
		char *a4[] = { "ip", "-j", "-4", "route", "show", "table", "main", NULL };
		char *a6[] = { "ip", "-j", "-6", "route", "show", "table", "main", NULL };
		/* a namespace without IPv6 has no table to show */
		struct fb_err e6 = { 0 };
		if (routes_of(a4, net, err) < 0)
			r = -1;
		else
			FB_IGNORE(routes_of(a6, net, &e6));
	}
	if (r < 0) {
		fb_rt_guest_net_free(net);
		rt_net_teardown(*taps, *ntaps);
		rt_taps_free(*taps, *ntaps);
		*taps = NULL;
		*ntaps = 0;
		return -1;
	}
	return 0;
}

void rt_net_teardown(struct rt_tap *taps, int ntaps)
{
	for (int i = 0; i < ntaps; i++)
		fb_tc_redirect_del(taps[i].ifname, taps[i].tap);
}

void rt_taps_free(struct rt_tap *taps, int ntaps)
{
	for (int i = 0; i < ntaps; i++) {
		free(taps[i].ifname);
		free(taps[i].tap);
		free(taps[i].mac);
	}
	free(taps);
}
