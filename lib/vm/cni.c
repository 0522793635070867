#include "cni.h"

#include <string.h>

#include "err.h"
#include "json.h"
#include "util.h"

#define OPT(k, s) { .key = (k), .shape = (s) }
#define REQ(k, s) { .key = (k), .shape = (s), .required = true }
#define END { .key = NULL }

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
static const struct fb_jshape index_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 2147483647.0 };
static const struct fb_jshape id_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 4294967294.0 };

bool fb_cni_valid_ifname(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 15 || s[0] == '-' || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* ---- configurations ---- */

/* The spec: type "matches the name of the CNI plugin binary on disk" and
 * holds no path separator (a type of ../x would run any program). */
static int plugin_type_check(jv v, const char *path, struct fb_err *err)
{
	const char *t = jv_string_value(v);
	if (!*t || strchr(t, '/') || !strcmp(t, ".") || !strcmp(t, ".."))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: \"%.64s\" is not a plugin's file name", path, t);
	return 0;
}

static const struct fb_jshape plugin_type = { .kinds = FB_J_STRING, .check = plugin_type_check };
static const struct fb_jfield plugin_fields[] = { REQ("type", &plugin_type), END };
static const struct fb_jshape plugin = { .kinds = FB_J_OBJECT, .fields = plugin_fields };

static int plugins_check(jv v, const char *path, struct fb_err *err)
{
	if (jv_array_length(jv_copy(v)) == 0)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: no plugins", path);
	return 0;
}

static const struct fb_jshape plugins = { .kinds = FB_J_ARRAY, .items = &plugin, .check = plugins_check };
/* The spec's network name: an alphanumeric, then alphanumerics, _ . -
 * (it names files: libcni's cache). */
static int name_check(jv v, const char *path, struct fb_err *err)
{
	const char *s = jv_string_value(v);
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	if (!*s || !strchr(alnum, s[0]) || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(s))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: \"%.64s\" is not a network name (an alphanumeric, then A-Z a-z 0-9 _ . -)",
				  path, s);
	return 0;
}

static const struct fb_jshape net_name = { .kinds = FB_J_STRING, .check = name_check };
static const struct fb_jfield conflist_fields[] = {
	REQ("name", &net_name),
	OPT("cniVersion", &str_opt),
	REQ("plugins", &plugins),
	END,
};
static const struct fb_jshape conflist = { .kinds = FB_J_OBJECT, .fields = conflist_fields };

char *fb_cni_conf_name(jv conf)
{
	jv n = fb_json_member(conf, "name");
	char *r = jv_get_kind(n) == JV_KIND_STRING ? fb_xstrdup(jv_string_value(n)) : NULL;
	jv_free(n);
	return r;
}

int fb_cni_conflist(jv conf, jv *list, struct fb_err *err)
{
	if (jv_get_kind(conf) != JV_KIND_OBJECT)
		return fb_json_wrong_kind(err, "", FB_J_OBJECT, conf);
	jv l;
	jv has = fb_json_member(conf, "plugins");
	if (jv_get_kind(has) == JV_KIND_NULL) {
		/* a single plugin's .conf: a list of one */
		l = jv_object_set(jv_object(), jv_string("name"), fb_json_member(conf, "name"));
		l = jv_object_set(l, jv_string("cniVersion"), fb_json_member(conf, "cniVersion"));
		l = jv_object_set(l, jv_string("plugins"), jv_array_append(jv_array(), jv_copy(conf)));
		if (fb_json_check(l, &conflist, "", err) < 0) {
			/* name the member as the file has it */
			if (!strncmp(err->msg, ".plugins[0]", 11))
				memmove(err->msg, err->msg + 11, strlen(err->msg + 11) + 1);
			jv_free(l);
			jv_free(has);
			return -1;
		}
	} else {
		l = jv_copy(conf);
		if (fb_json_check(l, &conflist, "", err) < 0) {
			jv_free(l);
			jv_free(has);
			return -1;
		}
	}
	jv_free(has);
	*list = l;
	return 0;
}

/* ---- results ---- */

static const struct fb_jfield iface_fields[] = {
	OPT("name", &str_opt),
	OPT("mac", &str_opt),
	OPT("sandbox", &str_opt),
	END,
};
static const struct fb_jshape iface = { .kinds = FB_J_OBJECT, .fields = iface_fields };
static const struct fb_jshape ifaces_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &iface };
static const struct fb_jfield ip_fields[] = {
	OPT("interface", &index_opt),
	OPT("address", &str_opt),
	OPT("gateway", &str_opt),
	END,
};
static const struct fb_jshape ip = { .kinds = FB_J_OBJECT, .fields = ip_fields };
static const struct fb_jshape ips_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &ip };
static const struct fb_jfield dns_fields[] = { OPT("nameservers", &strv_opt), END };
static const struct fb_jshape dns_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = dns_fields };
static const struct fb_jfield result_fields[] = {
	OPT("cniVersion", &str_opt),
	OPT("interfaces", &ifaces_opt),
	OPT("ips", &ips_opt),
	OPT("dns", &dns_opt),
	END,
};
static const struct fb_jshape result = { .kinds = FB_J_OBJECT, .fields = result_fields };
static const struct fb_jshape result_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = result_fields };

int fb_cni_result_check(jv r, struct fb_err *err)
{
	return fb_json_check(r, &result, "", err);
}

static const struct fb_jfield cache_fields[] = {
	REQ("conflist", &conflist),
	OPT("bin_dirs", &strv_opt),
	OPT("netns", &str_opt),
	OPT("netns_owned", &bool_opt),
	OPT("cni_cache_dir", &str_opt),
	OPT("result", &result_opt),
	END,
};
static const struct fb_jshape cache = { .kinds = FB_J_OBJECT, .fields = cache_fields };

int fb_cni_cache_check(jv c, struct fb_err *err)
{
	return fb_json_check(c, &cache, "", err);
}

static const struct fb_jshape net_input = { .kinds = FB_J_OBJECT };

int fb_cni_net_input_check(jv doc, struct fb_err *err)
{
	return fb_json_check(doc, &net_input, "", err);
}

jv fb_cni_summarize(jv res, const char *network, const char *netns, const char *ifname, int (*mtu)(void *ctx), void *ctx)
{
	jv out = jv_object_set(jv_object(), jv_string("name"), jv_string(network ? network : ""));
	out = jv_object_set(out, jv_string("netns"), jv_string(netns));
	jv ifs = fb_json_member(res, "interfaces"), ips = fb_json_member(res, "ips");
	jv list = jv_array();
	char *tap = NULL;
	if (jv_get_kind(ifs) == JV_KIND_ARRAY)
		jv_array_foreach(ifs, i, it)
		{
			jv name = fb_json_member(it, "name"), sb = fb_json_member(it, "sandbox");
			bool inside = jv_get_kind(sb) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(sb)) > 0;
			if (inside && jv_get_kind(name) == JV_KIND_STRING && strcmp(jv_string_value(name), ifname) &&
			    !strncmp(jv_string_value(name), "tap", 3)) {
				free(tap);
				tap = fb_xstrdup(jv_string_value(name));
			} else if (inside && jv_get_kind(name) == JV_KIND_STRING && !strcmp(jv_string_value(name), ifname)) {
				jv e = jv_object_set(jv_object(), jv_string("name"), jv_copy(name));
				e = jv_object_set(e, jv_string("mac"), fb_json_member(it, "mac"));
				int m = mtu ? mtu(ctx) : 0;
				if (m > 0)
					e = jv_object_set(e, jv_string("mtu"), jv_number(m));
				/* its addresses: ips whose interface is this one's index;
				 * ip/gateway: the first IPv4 one (else the first), ips: all */
				jv mine = jv_array();
				if (jv_get_kind(ips) == JV_KIND_ARRAY)
					jv_array_foreach(ips, k, ipo)
					{
						jv idx = fb_json_member(ipo, "interface");
						jv ad = fb_json_member(ipo, "address");
						if ((jv_get_kind(idx) != JV_KIND_NUMBER || jv_number_value(idx) == (double)i) &&
						    jv_get_kind(ad) == JV_KIND_STRING) {
							jv gw = fb_json_member(ipo, "gateway");
							jv one = jv_object_set(jv_object(), jv_string("address"), jv_copy(ad));
							one = jv_object_set(one, jv_string("gateway"),
									    jv_get_kind(gw) == JV_KIND_STRING ? gw : (jv_free(gw), jv_null()));
							bool v4 = !strchr(jv_string_value(ad), ':');
							jv have = fb_json_member(e, "ip");
							bool take = jv_get_kind(have) != JV_KIND_STRING || (v4 && strchr(jv_string_value(have), ':'));
							jv_free(have);
							if (take) {
								e = jv_object_set(e, jv_string("ip"), jv_copy(ad));
								e = jv_object_set(e, jv_string("gateway"), fb_json_member(one, "gateway"));
							}
							mine = jv_array_append(mine, one);
						}
						jv_free(ad);
						jv_free(idx);
						jv_free(ipo);
						(void)k;
					}
				e = jv_object_set(e, jv_string("ips"), mine);
				list = jv_array_append(list, e);
			}
			jv_free(name);
			jv_free(sb);
			jv_free(it);
		}
	jv_free(ifs);
	jv_free(ips);
	out = jv_object_set(out, jv_string("interfaces"), list);
	out = jv_object_set(out, jv_string("tap"), tap ? jv_string(tap) : jv_null());
	free(tap);
	jv dns = jv_getpath(jv_copy(res), jv_parse("[\"dns\",\"nameservers\"]"));
	out = jv_object_set(out, jv_string("dns"), jv_get_kind(dns) == JV_KIND_ARRAY ? dns : (jv_free(dns), jv_array()));
	return out;
}

/* ---- tc-redirect-tap ---- */

static int ifname_check(jv v, const char *path, struct fb_err *err)
{
	if (!fb_cni_valid_ifname(jv_string_value(v)))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: \"%.64s\" is not an interface name (1-15 of A-Z a-z 0-9 _ . -)",
				  path, jv_string_value(v));
	return 0;
}

static int ifname_opt_check(jv v, const char *path, struct fb_err *err)
{
	return jv_get_kind(v) == JV_KIND_STRING ? ifname_check(v, path, err) : 0;
}
static const struct fb_jshape tap_name = { .kinds = FB_J_STRING | FB_J_NULL, .check = ifname_opt_check };
static const struct fb_jshape prev_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = result_fields };
static const struct fb_jfield tap_conf_fields[] = {
	OPT("cniVersion", &str_opt),
	OPT("tapName", &tap_name),
	OPT("uid", &id_opt),
	OPT("gid", &id_opt),
	OPT("prevResult", &prev_opt),
	END,
};
static const struct fb_jshape tap_conf = { .kinds = FB_J_OBJECT, .fields = tap_conf_fields };

void fb_cni_tap_conf_free(struct fb_tap_conf *c)
{
	free(c->version);
	free(c->tap);
	free(c->mac);
	if (jv_is_valid(c->prev))
		jv_free(c->prev);
	*c = (struct fb_tap_conf){ .uid = -1, .gid = -1, .prev = jv_invalid() };
}

int fb_cni_tap_conf(jv conf, const char *command, const char *ifname, struct fb_tap_conf *out, struct fb_err *err)
{
	*out = (struct fb_tap_conf){ .uid = -1, .gid = -1, .prev = jv_invalid() };
	if (fb_json_check(conf, &tap_conf, "", err) < 0)
		return -1;
	/* the kinds are checked: these cannot fail */
	fb_json_get_str_opt(conf, "cniVersion", &out->version, err);
	fb_json_get_str_opt(conf, "tapName", &out->tap, err);
	fb_json_get_int_opt(conf, "uid", &out->uid, err);
	fb_json_get_int_opt(conf, "gid", &out->gid, err);
	if (!out->tap)
		out->tap = fb_xstrdup("tap0");
	out->prev = fb_json_member(conf, "prevResult");
	if (!ifname || !fb_cni_valid_ifname(ifname)) {
		fb_err_set(err, FB_EXIT_USAGE, "cni_env", "CNI_IFNAME \"%.64s\" is not an interface name", ifname ? ifname : "");
		goto fail;
	}
	if (command && !strcmp(command, "DEL"))
		return 0;
	if (jv_get_kind(out->prev) != JV_KIND_OBJECT) {
		fb_err_set(err, FB_EXIT_USAGE, "cni_config",
			   "tc-redirect-tap must be chained after a plugin that makes CNI_IFNAME (bridge, ptp): no prevResult in the config");
		goto fail;
	}
	/* the veth's MAC, from the previous result */
	jv ifs = fb_json_member(out->prev, "interfaces");
	if (jv_get_kind(ifs) == JV_KIND_ARRAY)
		jv_array_foreach(ifs, i, it)
		{
			jv n = fb_json_member(it, "name"), m = fb_json_member(it, "mac"), sb = fb_json_member(it, "sandbox");
			if (!out->mac && jv_get_kind(n) == JV_KIND_STRING && !strcmp(jv_string_value(n), ifname) &&
			    jv_get_kind(sb) == JV_KIND_STRING && jv_get_kind(m) == JV_KIND_STRING)
				out->mac = fb_xstrdup(jv_string_value(m));
			jv_free(n);
			jv_free(m);
			jv_free(sb);
			jv_free(it);
			(void)i;
		}
	jv_free(ifs);
	if (!out->mac) {
		fb_err_set(err, FB_EXIT_USAGE, "cni_config",
			   "tc-redirect-tap: the previous result has no interface in the namespace named %s", ifname);
		goto fail;
	}
	return 0;
fail:
	fb_cni_tap_conf_free(out);
	return -1;
}
