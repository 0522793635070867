/* The network document (net.h), and the jv helpers lib/vm's codecs share
 * (net_doc.h). */
#include "net.h"

#include <stdio.h>
#include <string.h>

#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "net_doc.h"
#include "util.h"

/* ---- helpers for checked documents ---- */

char *fb_jv_dup_str(jv obj, const char *key)
{
	jv v = fb_json_member(obj, key);
	char *s = jv_get_kind(v) == JV_KIND_STRING ? fb_xstrndup(jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)))
						  : NULL;
	jv_free(v);
	return s;
}

long long fb_jv_int(jv obj, const char *key, long long dflt)
{
	jv v = fb_json_member(obj, key);
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;
	bool ok = jv_get_kind(v) == JV_KIND_NUMBER && d >= -9007199254740992.0 && d <= 9007199254740992.0;
	jv_free(v);
	return ok ? (long long)d : dflt;
}

bool fb_jv_bool(jv obj, const char *key, bool dflt)
{
	jv v = fb_json_member(obj, key);
	jv_kind k = jv_get_kind(v);
	jv_free(v);
	return k == JV_KIND_TRUE ? true : k == JV_KIND_FALSE ? false : dflt;
}

void fb_jv_strv_into(jv obj, const char *key, struct fb_strv *out)
{
	jv v = fb_json_member(obj, key);
	if (jv_get_kind(v) == JV_KIND_ARRAY)
		jv_array_foreach(v, i, e)
		{
			if (jv_get_kind(e) == JV_KIND_STRING)
				fb_strv_push(out, jv_string_value(e));
			jv_free(e);
			(void)i;
		}
	jv_free(v);
}

/* ---- the shape ---- */

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
static const struct fb_jshape mtu_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 65535 };
static const struct fb_jfield addr_fields[] = {
	FB_OPT("address", &str_opt),
	FB_OPT("gateway", &str_opt),
	FB_END,
};
static const struct fb_jshape net_addr = { .kinds = FB_J_OBJECT, .fields = addr_fields };
static const struct fb_jshape addrs_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &net_addr };
static const struct fb_jfield iface_fields[] = {
	FB_OPT("name", &str_opt),
	FB_OPT("mac", &str_opt),
	FB_OPT("ip", &str_opt),
	FB_OPT("gateway", &str_opt),
	FB_OPT("mtu", &mtu_opt),
	FB_OPT("ips", &addrs_opt),
	FB_END,
};
static const struct fb_jshape iface = { .kinds = FB_J_OBJECT, .fields = iface_fields };
static const struct fb_jshape ifaces_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &iface };
#define NET_FIELDS(netns)                                                                                  \
	{                                                                                                  \
		netns, FB_OPT("name", &str_opt), FB_OPT("tap", &str_opt), FB_OPT("interfaces", &ifaces_opt), \
			FB_OPT("dns", &strv_opt), FB_OPT("ports", &strv_opt), FB_END                        \
	}
static const struct fb_jfield net_fields[] = NET_FIELDS(FB_REQ("netns", &str));
static const struct fb_jfield net_fields_found[] = NET_FIELDS(FB_OPT("netns", &str_opt));
static const struct fb_jshape net = { .kinds = FB_J_OBJECT, .fields = net_fields };
static const struct fb_jshape net_found = { .kinds = FB_J_OBJECT, .fields = net_fields_found };

void fb_network_free(struct fb_network *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->netns);
	free(n->tap);
	for (size_t i = 0; i < n->nifs; i++) {
		struct fb_net_iface *f = &n->ifs[i];
		free(f->name);
		free(f->mac);
		free(f->ip);
		free(f->gateway);
		for (size_t k = 0; k < f->nips; k++) {
			free(f->ips[k].address);
			free(f->ips[k].gateway);
		}
		free(f->ips);
	}
	free(n->ifs);
	fb_strv_free(&n->dns);
	fb_strv_free(&n->ports);
	*n = (struct fb_network){ 0 };
}

static char *sdup(const char *s)
{
	return s ? fb_xstrdup(s) : NULL;
}

struct fb_network *fb_network_dup(const struct fb_network *n)
{
	struct fb_network *c = fb_xcalloc(1, sizeof(*c));
	c->name = sdup(n->name);
	c->netns = sdup(n->netns);
	c->tap = sdup(n->tap);
	c->ifs = fb_xcalloc(n->nifs ? n->nifs : 1, sizeof(*c->ifs));
	c->nifs = n->nifs;
	for (size_t i = 0; i < n->nifs; i++) {
		const struct fb_net_iface *f = &n->ifs[i];
		struct fb_net_iface *g = &c->ifs[i];
		*g = (struct fb_net_iface){ sdup(f->name), sdup(f->mac), sdup(f->ip), sdup(f->gateway), f->mtu, NULL, f->nips };
		g->ips = fb_xcalloc(f->nips ? f->nips : 1, sizeof(*g->ips));
		for (size_t k = 0; k < f->nips; k++)
			g->ips[k] = (struct fb_net_addr){ sdup(f->ips[k].address), sdup(f->ips[k].gateway) };
	}
	for (size_t i = 0; i < n->dns.n; i++)
		fb_strv_push(&c->dns, n->dns.v[i]);
	for (size_t i = 0; i < n->ports.n; i++)
		fb_strv_push(&c->ports, n->ports.v[i]);
	return c;
}

int fb_network_from_jv(jv v, const char *path, bool need_netns, struct fb_network *out, struct fb_err *err)
{
	*out = (struct fb_network){ 0 };
	if (fb_json_check(v, need_netns ? &net : &net_found, path, err) < 0)
		return -1;
	out->name = fb_jv_dup_str(v, "name");
	out->netns = fb_jv_dup_str(v, "netns");
	out->tap = fb_jv_dup_str(v, "tap");
	fb_jv_strv_into(v, "dns", &out->dns);
	fb_jv_strv_into(v, "ports", &out->ports);
	jv ifs = fb_json_member(v, "interfaces");
	if (jv_get_kind(ifs) == JV_KIND_ARRAY) {
		out->nifs = (size_t)jv_array_length(jv_copy(ifs));
		out->ifs = fb_xcalloc(out->nifs ? out->nifs : 1, sizeof(*out->ifs));
		jv_array_foreach(ifs, i, it)
		{
			struct fb_net_iface *f = &out->ifs[i];
			f->name = fb_jv_dup_str(it, "name");
			f->mac = fb_jv_dup_str(it, "mac");
			f->ip = fb_jv_dup_str(it, "ip");
			f->gateway = fb_jv_dup_str(it, "gateway");
			f->mtu = (int)fb_jv_int(it, "mtu", 0);
			jv ips = fb_json_member(it, "ips");
			if (jv_get_kind(ips) == JV_KIND_ARRAY) {
				f->nips = (size_t)jv_array_length(jv_copy(ips));
				f->ips = fb_xcalloc(f->nips ? f->nips : 1, sizeof(*f->ips));
				jv_array_foreach(ips, k, a)
				{
					f->ips[k].address = fb_jv_dup_str(a, "address");
					f->ips[k].gateway = fb_jv_dup_str(a, "gateway");
					jv_free(a);
				}
			}
			jv_free(ips);
			jv_free(it);
		}
	}
	jv_free(ifs);
	return 0;
}

jv fb_network_to_jv(const struct fb_network *n)
{
	jv o = jv_object_set(jv_object(), jv_string("name"), jv_string(n->name ? n->name : ""));
	o = jv_object_set(o, jv_string("netns"), fb_jv_str(n->netns));
	jv list = jv_array();
	for (size_t i = 0; i < n->nifs; i++) {
		const struct fb_net_iface *f = &n->ifs[i];
		jv e = jv_object_set(jv_object(), jv_string("name"), fb_jv_str(f->name));
		e = jv_object_set(e, jv_string("mac"), fb_jv_str(f->mac));
		if (f->mtu > 0)
			e = jv_object_set(e, jv_string("mtu"), jv_number(f->mtu));
		if (f->ip) {
			e = jv_object_set(e, jv_string("ip"), jv_string(f->ip));
			e = jv_object_set(e, jv_string("gateway"), fb_jv_str(f->gateway));
		}
		jv ips = jv_array();
		for (size_t k = 0; k < f->nips; k++) {
			jv a = jv_object_set(jv_object(), jv_string("address"), fb_jv_str(f->ips[k].address));
			ips = jv_array_append(ips, jv_object_set(a, jv_string("gateway"), fb_jv_str(f->ips[k].gateway)));
		}
		list = jv_array_append(list, jv_object_set(e, jv_string("ips"), ips));
	}
	o = jv_object_set(o, jv_string("interfaces"), list);
	o = jv_object_set(o, jv_string("tap"), fb_jv_str(n->tap));
	o = jv_object_set(o, jv_string("dns"), fb_jv_strv(n->dns.v, n->dns.n));
	if (n->ports.n)
		o = jv_object_set(o, jv_string("ports"), fb_jv_strv(n->ports.v, n->ports.n));
	return o;
}

jv fb_network_interfaces_jv(const struct fb_network *n)
{
	jv out = jv_array();
	for (size_t i = 0; i < n->nifs; i++) {
		const struct fb_net_iface *f = &n->ifs[i];
		char *addr = fb_xstrdup(f->ip ? f->ip : "");
		char *slash = strchr(addr, '/');
		int prefix = slash ? atoi(slash + 1) : 32;
		if (slash)
			*slash = '\0';
		unsigned m = prefix <= 0 ? 0 : 0xffffffffu << (32 - (prefix > 32 ? 32 : prefix));
		jv ipc = jv_object_set(jv_object(), jv_string("IP"), jv_string(addr));
		ipc = jv_object_set(ipc, jv_string("IPAddr"),
				    jv_object_set(jv_object_set(jv_object(), jv_string("IP"), jv_string(addr)), jv_string("Mask"),
						  jv_string_fmt("%u.%u.%u.%u", m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255)));
		ipc = jv_object_set(ipc, jv_string("Gateway"), fb_jv_str(f->gateway));
		ipc = jv_object_set(ipc, jv_string("Nameservers"), fb_jv_strv(n->dns.v, n->dns.n));
		ipc = jv_object_set(ipc, jv_string("IfName"), fb_jv_str(f->name));
		jv sc = jv_object_set(jv_object(), jv_string("MacAddress"), fb_jv_str(f->mac));
		sc = jv_object_set(sc, jv_string("HostDevName"), fb_jv_str(n->tap));
		sc = jv_object_set(sc, jv_string("IPConfiguration"), ipc);
		jv cni = jv_object_set(jv_object(), jv_string("NetworkName"), fb_jv_str(n->name));
		cni = jv_object_set(cni, jv_string("IfName"), fb_jv_str(f->name));
		jv e = jv_object_set(jv_object(), jv_string("StaticConfiguration"), sc);
		out = jv_array_append(out, jv_object_set(e, jv_string("CNIConfiguration"), cni));
		free(addr);
	}
	return out;
}

int fb_network_decode(const struct fb_doc *d, struct fb_network **out, struct fb_err *err)
{
	*out = NULL;
	jv v = fb_doc_get(d, "network");
	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	struct fb_network *n = fb_xcalloc(1, sizeof(*n));
	int r = fb_network_from_jv(v, ".network", true, n, err);
	jv_free(v);
	if (r < 0) {
		fb_network_free(n);
		free(n);
		return -1;
	}
	*out = n;
	return 0;
}

void fb_network_encode(struct fb_doc *d, const struct fb_network *n)
{
	fb_doc_set(d, "network", fb_network_to_jv(n));
}

void fb_net_doc_mark(struct fb_doc *d, const char *key)
{
	fb_doc_set(d, key, jv_true());
}
