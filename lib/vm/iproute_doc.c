/* iproute2's JSON (iproute.h), read as found. */
#include "iproute.h"

#include <stdlib.h>

#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "net_doc.h"
#include "util.h"

/* An array (empty text: an empty one). */
static int parse_array(const char *text, size_t len, jv *out, struct fb_err *err)
{
	if (fb_json_parse(len ? text : "[]", len ? len : 2, out, err) < 0)
		return -1;
	if (jv_get_kind(*out) != JV_KIND_ARRAY) {
		jv_free(*out);
		return fb_err_set(err, FB_EXIT_FAILED, "net", "ip -j: not an array");
	}
	return 0;
}

int fb_ip_links_parse(const char *text, size_t len, struct fb_ip_link **out, size_t *n, struct fb_err *err)
{
	*out = NULL;
	*n = 0;
	jv a;
	if (parse_array(text, len, &a, err) < 0)
		return -1;
	*out = fb_xcalloc((size_t)jv_array_length(jv_copy(a)) + 1, sizeof(**out));
	jv_array_foreach(a, i, l)
	{
		struct fb_ip_link *k = &(*out)[(*n)++];
		k->ifname = fb_jv_dup_str(l, "ifname");
		k->link_type = fb_jv_dup_str(l, "link_type");
		k->address = fb_jv_dup_str(l, "address");
		jv m = fb_json_member(l, "mtu");
		k->has_mtu = jv_get_kind(m) == JV_KIND_NUMBER;
		jv_free(m);
		k->mtu = fb_jv_int(l, "mtu", 0);
		jv ai = fb_json_member(l, "addr_info");
		if (jv_get_kind(ai) == JV_KIND_ARRAY) {
			k->addrs = fb_xcalloc((size_t)jv_array_length(jv_copy(ai)) + 1, sizeof(*k->addrs));
			jv_array_foreach(ai, j, x)
			{
				long long pl = fb_jv_int(x, "prefixlen", -1);
				k->addrs[k->naddrs++] = (struct fb_ip_addr){ fb_jv_dup_str(x, "family"), fb_jv_dup_str(x, "local"),
									     fb_jv_dup_str(x, "scope"),
									     pl >= 0 && pl <= 128 ? (int)pl : -1 };
				jv_free(x);
				(void)j;
			}
		}
		jv_free(ai);
		jv_free(l);
		(void)i;
	}
	jv_free(a);
	return 0;
}

int fb_ip_routes_parse(const char *text, size_t len, struct fb_ip_route **out, size_t *n, struct fb_err *err)
{
	*out = NULL;
	*n = 0;
	jv a;
	if (parse_array(text, len, &a, err) < 0)
		return -1;
	*out = fb_xcalloc((size_t)jv_array_length(jv_copy(a)) + 1, sizeof(**out));
	jv_array_foreach(a, i, r)
	{
		(*out)[(*n)++] = (struct fb_ip_route){ fb_jv_dup_str(r, "dst"), fb_jv_dup_str(r, "gateway"), fb_jv_dup_str(r, "dev"),
						       fb_jv_dup_str(r, "protocol") };
		jv_free(r);
		(void)i;
	}
	jv_free(a);
	return 0;
}

void fb_ip_links_free(struct fb_ip_link *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].ifname);
		free(l[i].link_type);
		free(l[i].address);
		for (size_t k = 0; k < l[i].naddrs; k++) {
			free(l[i].addrs[k].family);
			free(l[i].addrs[k].local);
			free(l[i].addrs[k].scope);
		}
		free(l[i].addrs);
	}
	free(l);
}

void fb_ip_routes_free(struct fb_ip_route *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].dst);
		free(r[i].gateway);
		free(r[i].dev);
		free(r[i].protocol);
	}
	free(r);
}
