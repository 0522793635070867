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
#include "json.h"
#include "proc.h"
#include "tcredirect.h"
#include "util.h"

#include "fb-runtime.h"

static int ip_json(char *const argv[], jv *out, struct fb_err *err)
{
	struct fb_buf o = FB_BUF_INIT, e = FB_BUF_INIT;
	int code = 0;
	int r = fb_proc_run(argv, NULL, 0, &o, &e, &code, err);
	if (r == 0 && code != 0)
		r = fb_err_set(err, FB_EXIT_FAILED, "net", "%s %s %s: %s", argv[0], argv[1], argv[2], fb_buf_str(&e));
	if (r == 0)
		r = fb_json_parse(o.len ? fb_buf_str(&o) : "[]", o.len ? o.len : 2, out, err);
	if (r == 0 && jv_get_kind(*out) != JV_KIND_ARRAY) {
		jv_free(*out);
		r = fb_err_set(err, FB_EXIT_FAILED, "net", "ip -j: not an array");
	}
	fb_buf_free(&o);
	fb_buf_free(&e);
	return r;
}

static const char *str_of(jv o, const char *key, char *buf, size_t n)
{
	jv v = rt_get(jv_copy(o), key);
	const char *r = NULL;
	if (jv_get_kind(v) == JV_KIND_STRING) {
		snprintf(buf, n, "%s", jv_string_value(v));
		r = buf;
	}
	jv_free(v);
	return r;
}

/* The routes that are not the kernel's own (those come with the addresses). */
static void add_routes(jv routes, jv *out)
{
	jv_array_foreach(routes, i, r)
	{
		char dst[128], gw[128], dev[64], proto[32];
		const char *d = str_of(r, "dst", dst, sizeof(dst)), *g = str_of(r, "gateway", gw, sizeof(gw));
		const char *dv = str_of(r, "dev", dev, sizeof(dev)), *pr = str_of(r, "protocol", proto, sizeof(proto));
		bool skip = (pr && !strcmp(pr, "kernel")) || !dv || !strcmp(dv, "lo") || fb_str_has_prefix(dv, "fbtap") ||
			    (d && fb_str_has_prefix(d, "fe80")) || (d && fb_str_has_prefix(d, "ff00"));
		if (!skip) {
			jv e = jv_object_set(jv_object(), jv_string("dst"), jv_string(d ? d : "default"));
			if (g)
				e = jv_object_set(e, jv_string("gateway"), jv_string(g));
			e = jv_object_set(e, jv_string("dev"), jv_string(dv));
			*out = jv_array_append(*out, e);
		}
		jv_free(r);
		(void)i;
	}
	jv_free(routes);
}

int rt_net_setup(long uid, struct rt_tap **taps, int *ntaps, jv *net, struct fb_err *err)
{
	*taps = NULL;
	*ntaps = 0;
	*net = jv_invalid();
	jv links;
	char *a1[] = { "ip", "-j", "addr", "show", NULL };
	if (ip_json(a1, &links, err) < 0)
		return -1;
	jv ifs = jv_array(), routes = jv_array();
	int r = 0;
	jv_array_foreach(links, i, l)
	{
		char name[64], type[32], mac[64];
		const char *n = str_of(l, "ifname", name, sizeof(name)), *t = str_of(l, "link_type", type, sizeof(type));
		const char *m = str_of(l, "address", mac, sizeof(mac));
		if (r == 0 && n && m && t && !strcmp(t, "ether") && !fb_str_has_prefix(n, "fbtap")) {
			char *tap = fb_xasprintf("fbtap%d", *ntaps);
			if (fb_tc_redirect_add(n, tap, uid, uid, err) < 0) {
				free(tap);
				r = -1;
			} else {
				*taps = fb_xrealloc(*taps, (size_t)(*ntaps + 1) * sizeof(**taps));
				(*taps)[(*ntaps)++] = (struct rt_tap){ fb_xstrdup(n), tap, fb_xstrdup(m) };
				jv it = jv_object_set(jv_object(), jv_string("name"), jv_string(n));
				it = jv_object_set(it, jv_string("mac"), jv_string(m));
				it = jv_object_set(it, jv_string("mtu"), rt_get(jv_copy(l), "mtu"));
				jv v4 = jv_null(), v6 = jv_array();
				jv ai = rt_get(jv_copy(l), "addr_info");
				if (jv_get_kind(ai) == JV_KIND_ARRAY)
					jv_array_foreach(ai, k, a)
					{
						char fam[16], local[80], scope[32];
						const char *f = str_of(a, "family", fam, sizeof(fam));
						const char *lo = str_of(a, "local", local, sizeof(local));
						const char *sc = str_of(a, "scope", scope, sizeof(scope));
						jv pl = rt_get(jv_copy(a), "prefixlen");
						int plen = jv_get_kind(pl) == JV_KIND_NUMBER ? (int)jv_number_value(pl) : -1;
						jv_free(pl);
						if (f && lo && plen >= 0 && (!sc || strcmp(sc, "link"))) {
							char *cidr = fb_xasprintf("%s/%d", lo, plen);
							if (!strcmp(f, "inet") && jv_get_kind(v4) == JV_KIND_NULL)
								v4 = jv_string(cidr);
							else if (!strcmp(f, "inet6"))
								v6 = jv_array_append(v6, jv_object_set(jv_object(), jv_string("address"),
												       jv_string(cidr)));
							free(cidr);
						}
						jv_free(a);
						(void)k;
					}
				jv_free(ai);
				if (jv_get_kind(v4) == JV_KIND_NULL && jv_array_length(jv_copy(v6)) > 0) {
					jv_free(v4);
					v4 = jv_array_get(jv_copy(v6), 0);
					v4 = rt_get(v4, "address");
				}
				it = jv_object_set(it, jv_string("ip"), v4);
				it = jv_object_set(it, jv_string("ips"), v6);
				ifs = jv_array_append(ifs, it);
			}
		}
		jv_free(l);
		(void)i;
	}
	jv_free(links);
	if (r == 0) {
		jv rt4, rt6;
		char *a4[] = { "ip", "-j", "-4", "route", "show", "table", "main", NULL };
		char *a6[] = { "ip", "-j", "-6", "route", "show", "table", "main", NULL };
		if (ip_json(a4, &rt4, err) < 0) {
			r = -1;
		} else {
			add_routes(rt4, &routes);
			/* a namespace without IPv6 has no table to show */
			struct fb_err e6 = { 0 };
			if (ip_json(a6, &rt6, &e6) == 0)
				add_routes(rt6, &routes);
		}
	}
	if (r < 0) {
		jv_free(ifs);
		jv_free(routes);
		rt_net_teardown(*taps, *ntaps);
		rt_taps_free(*taps, *ntaps);
		*taps = NULL;
		*ntaps = 0;
		return -1;
	}
	*net = jv_object_set(jv_object_set(jv_object(), jv_string("interfaces"), ifs), jv_string("routes"), routes);
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
