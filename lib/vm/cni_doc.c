/* CNI documents (cni.h). */
#include "cni.h"

#include <string.h>

#include "err.h"
#include "json.h"
#include "net_doc.h"
#include "util.h"

static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
static const struct fb_jshape index_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 2147483647.0 };
static const struct fb_jshape id_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 4294967294.0 };

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
static const struct fb_jfield plugin_fields[] = { FB_REQ("type", &plugin_type), FB_END };
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
	FB_REQ("name", &net_name),
	FB_OPT("cniVersion", &str_opt),
	FB_REQ("plugins", &plugins),
	FB_END,
};
static const struct fb_jshape conflist = { .kinds = FB_J_OBJECT, .fields = conflist_fields };

void fb_cni_conflist_free(struct fb_cni_conflist *l)
{
	if (!l)
		return;
	free(l->name);
	free(l->version);
	for (size_t i = 0; i < l->n; i++) {
		free(l->plugins[i].type);
		free(l->plugins[i].json);
	}
	free(l->plugins);
	*l = (struct fb_cni_conflist){ 0 };
}

/* A checked list into the struct. */
static void list_from_jv(jv l, struct fb_cni_conflist *out)
{
	out->name = fb_jv_dup_str(l, "name");
	out->version = fb_jv_dup_str(l, "cniVersion");
	jv ps = fb_json_member(l, "plugins");
	out->n = (size_t)jv_array_length(jv_copy(ps));
	out->plugins = fb_xcalloc(out->n ? out->n : 1, sizeof(*out->plugins));
	jv_array_foreach(ps, i, p)
	{
		out->plugins[i].type = fb_jv_dup_str(p, "type");
		out->plugins[i].json = fb_json_dump(p, false);
	}
	jv_free(ps);
}

static jv list_to_jv(const struct fb_cni_conflist *l)
{
	jv ps = jv_array();
	for (size_t i = 0; i < l->n; i++)
		ps = jv_array_append(ps, jv_parse(l->plugins[i].json));
	jv o = jv_object_set(jv_object(), jv_string("name"), fb_jv_str(l->name));
	o = jv_object_set(o, jv_string("cniVersion"), fb_jv_str(l->version));
	return jv_object_set(o, jv_string("plugins"), ps);
}

int fb_cni_conf_decode(const char *text, size_t len, const char *name, struct fb_cni_conflist *out, struct fb_err *err)
{
	*out = (struct fb_cni_conflist){ 0 };
	jv conf;
	struct fb_err pe = { 0 };
	if (fb_json_parse(text, len, &conf, &pe) < 0)
		return 0; /* not a configuration: not this network */
	jv n = fb_json_member(conf, "name");
	bool mine = jv_get_kind(n) == JV_KIND_STRING && (!name || !strcmp(jv_string_value(n), name));
	jv_free(n);
	if (!mine) {
		jv_free(conf);
		return 0;
	}
	jv l;
	jv has = fb_json_member(conf, "plugins");
	bool single = jv_get_kind(has) == JV_KIND_NULL;
	jv_free(has);
	if (single) {
		/* a single plugin's .conf: a list of one */
		l = jv_object_set(jv_object(), jv_string("name"), fb_json_member(conf, "name"));
		l = jv_object_set(l, jv_string("cniVersion"), fb_json_member(conf, "cniVersion"));
		l = jv_object_set(l, jv_string("plugins"), jv_array_append(jv_array(), jv_copy(conf)));
	} else {
		l = jv_copy(conf);
	}
	jv_free(conf);
	if (fb_json_check(l, &conflist, "", err) < 0) {
		/* name the member as the file has it */
		if (single && !strncmp(err->msg, ".plugins[0]", 11))
			memmove(err->msg, err->msg + 11, strlen(err->msg + 11) + 1);
		jv_free(l);
		return -1;
	}
	list_from_jv(l, out);
	jv_free(l);
	return 1;
}

/* ---- results ---- */

static const struct fb_jfield iface_fields[] = {
	FB_OPT("name", &str_opt),
	FB_OPT("mac", &str_opt),
	FB_OPT("sandbox", &str_opt),
	FB_END,
};
static const struct fb_jshape iface = { .kinds = FB_J_OBJECT, .fields = iface_fields };
static const struct fb_jshape ifaces_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &iface };
static const struct fb_jfield ip_fields[] = {
	FB_OPT("interface", &index_opt),
	FB_OPT("address", &str_opt),
	FB_OPT("gateway", &str_opt),
	FB_END,
};
static const struct fb_jshape ip = { .kinds = FB_J_OBJECT, .fields = ip_fields };
static const struct fb_jshape ips_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &ip };
static const struct fb_jfield dns_fields[] = { FB_OPT("nameservers", &strv_opt), FB_END };
static const struct fb_jshape dns_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = dns_fields };
static const struct fb_jfield result_fields[] = {
	FB_OPT("cniVersion", &str_opt),
	FB_OPT("interfaces", &ifaces_opt),
	FB_OPT("ips", &ips_opt),
	FB_OPT("dns", &dns_opt),
	FB_END,
};
static const struct fb_jshape result = { .kinds = FB_J_OBJECT, .fields = result_fields };
static const struct fb_jshape result_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = result_fields };

void fb_cni_result_free(struct fb_cni_result *r)
{
	if (!r)
		return;
	free(r->json);
	free(r->version);
	for (size_t i = 0; i < r->nifs; i++) {
		free(r->ifs[i].name);
		free(r->ifs[i].mac);
		free(r->ifs[i].sandbox);
	}
	free(r->ifs);
	for (size_t i = 0; i < r->nips; i++) {
		free(r->ips[i].address);
		free(r->ips[i].gateway);
	}
	free(r->ips);
	fb_strv_free(&r->dns);
	*r = (struct fb_cni_result){ 0 };
}

/* A checked result into a new struct. */
static struct fb_cni_result *result_from_jv(jv v)
{
	struct fb_cni_result *r = fb_xcalloc(1, sizeof(*r));
	r->json = fb_json_dump(jv_copy(v), false);
	r->version = fb_jv_dup_str(v, "cniVersion");
	jv ifs = fb_json_member(v, "interfaces"), ips = fb_json_member(v, "ips"), dns = fb_json_member(v, "dns");
	if (jv_get_kind(ifs) == JV_KIND_ARRAY) {
		r->nifs = (size_t)jv_array_length(jv_copy(ifs));
		r->ifs = fb_xcalloc(r->nifs ? r->nifs : 1, sizeof(*r->ifs));
		jv_array_foreach(ifs, i, it)
		{
			r->ifs[i] = (struct fb_cni_iface){ fb_jv_dup_str(it, "name"), fb_jv_dup_str(it, "mac"),
							   fb_jv_dup_str(it, "sandbox") };
			jv_free(it);
		}
	}
	if (jv_get_kind(ips) == JV_KIND_ARRAY) {
		r->nips = (size_t)jv_array_length(jv_copy(ips));
		r->ips = fb_xcalloc(r->nips ? r->nips : 1, sizeof(*r->ips));
		jv_array_foreach(ips, i, a)
		{
			r->ips[i] = (struct fb_cni_ip){ fb_jv_int(a, "interface", -1), fb_jv_dup_str(a, "address"),
							fb_jv_dup_str(a, "gateway") };
			jv_free(a);
		}
	}
	fb_jv_strv_into(dns, "nameservers", &r->dns);
	jv_free(ifs);
	jv_free(ips);
	jv_free(dns);
	return r;
}

int fb_cni_result_decode(const char *text, size_t len, struct fb_cni_result **out, struct fb_err *err)
{
	*out = NULL;
	jv v;
	struct fb_err pe = { 0 };
	if (!len || fb_json_parse(text, len, &v, &pe) < 0)
		return 0;
	if (fb_json_check(v, &result, "", err) < 0) {
		jv_free(v);
		return -1;
	}
	*out = result_from_jv(v);
	jv_free(v);
	return 0;
}

void fb_cni_error_decode(const char *text, size_t len, char **msg, char **details)
{
	*msg = *details = NULL;
	jv v;
	struct fb_err pe = { 0 };
	if (!len || fb_json_parse(text, len, &v, &pe) < 0)
		return;
	*msg = fb_jv_dup_str(v, "msg");
	*details = fb_jv_dup_str(v, "details");
	jv_free(v);
}

char *fb_cni_plugin_conf(const struct fb_cni_conflist *l, size_t i, const struct fb_cni_result *prev)
{
	jv conf = jv_parse(l->plugins[i].json);
	conf = jv_object_set(conf, jv_string("name"), fb_jv_str(l->name));
	if (l->version)
		conf = jv_object_set(conf, jv_string("cniVersion"), jv_string(l->version));
	if (prev && prev->json)
		conf = jv_object_set(conf, jv_string("prevResult"), jv_parse(prev->json));
	return fb_json_dump(conf, false);
}

/* ---- fb-net's cache, libcni's ---- */

static const struct fb_jfield cache_fields[] = {
	FB_REQ("conflist", &conflist),
	FB_OPT("bin_dirs", &strv_opt),
	FB_OPT("netns", &str_opt),
	FB_OPT("netns_owned", &bool_opt),
	FB_OPT("cni_cache_dir", &str_opt),
	FB_OPT("result", &result_opt),
	FB_END,
};
static const struct fb_jshape cache = { .kinds = FB_J_OBJECT, .fields = cache_fields };

void fb_cni_cache_free(struct fb_cni_cache *c)
{
	if (!c)
		return;
	fb_cni_conflist_free(&c->list);
	fb_strv_free(&c->bin_dirs);
	free(c->netns);
	free(c->cni_cache_dir);
	fb_cni_result_freep(&c->result);
	*c = (struct fb_cni_cache){ 0 };
}

/* Consumes v. */
static int cache_decode(jv v, struct fb_cni_cache *out, struct fb_err *err)
{
	if (fb_json_check(v, &cache, "", err) < 0) {
		jv_free(v);
		return -1;
	}
	jv l = fb_json_member(v, "conflist"), r = fb_json_member(v, "result");
	list_from_jv(l, &out->list);
	if (jv_get_kind(r) == JV_KIND_OBJECT)
		out->result = result_from_jv(r);
	jv_free(l);
	jv_free(r);
	fb_jv_strv_into(v, "bin_dirs", &out->bin_dirs);
	out->netns = fb_jv_dup_str(v, "netns");
	out->netns_owned = fb_jv_bool(v, "netns_owned", true);
	out->cni_cache_dir = fb_jv_dup_str(v, "cni_cache_dir");
	jv_free(v);
	return 0;
}

int fb_cni_cache_load(const char *path, struct fb_cni_cache *out, struct fb_err *err)
{
	*out = (struct fb_cni_cache){ .netns_owned = true };
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	if (cache_decode(v, out, err) < 0) {
		fb_err_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

int fb_cni_cache_parse(const char *text, size_t len, struct fb_cni_cache *out, struct fb_err *err)
{
	*out = (struct fb_cni_cache){ .netns_owned = true };
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	return cache_decode(v, out, err);
}

int fb_cni_cache_save(const char *path, const struct fb_cni_cache *c, struct fb_err *err)
{
	jv o = jv_object_set(jv_object(), jv_string("conflist"), list_to_jv(&c->list));
	o = jv_object_set(o, jv_string("bin_dirs"), fb_jv_strv(c->bin_dirs.v, c->bin_dirs.n));
	o = jv_object_set(o, jv_string("netns"), fb_jv_str(c->netns));
	o = jv_object_set(o, jv_string("netns_owned"), jv_bool(c->netns_owned));
	if (c->cni_cache_dir)
		o = jv_object_set(o, jv_string("cni_cache_dir"), jv_string(c->cni_cache_dir));
	o = jv_object_set(o, jv_string("result"), c->result && c->result->json ? jv_parse(c->result->json) : jv_null());
	return fb_json_save(path, o, 0600, err);
}

int fb_cni_libcni_save(const char *path, const char *container, const char *ifname, const char *network,
		       const struct fb_cni_result *r, struct fb_err *err)
{
	jv d = jv_object_set(jv_object(), jv_string("kind"), jv_string("cniCacheV1"));
	d = jv_object_set(d, jv_string("containerId"), jv_string(container));
	d = jv_object_set(d, jv_string("ifName"), jv_string(ifname));
	d = jv_object_set(d, jv_string("networkName"), jv_string(network));
	d = jv_object_set(d, jv_string("result"), r && r->json ? jv_parse(r->json) : jv_null());
	return fb_json_save(path, d, 0600, err);
}

/* ---- tc-redirect-tap ---- */

static int ifname_opt_check(jv v, const char *path, struct fb_err *err)
{
	if (jv_get_kind(v) == JV_KIND_STRING && !fb_cni_valid_ifname(jv_string_value(v)))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: \"%.64s\" is not an interface name (1-15 of A-Z a-z 0-9 _ . -)",
				  path, jv_string_value(v));
	return 0;
}
static const struct fb_jshape tap_name = { .kinds = FB_J_STRING | FB_J_NULL, .check = ifname_opt_check };
static const struct fb_jshape prev_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = result_fields };
static const struct fb_jfield tap_conf_fields[] = {
	FB_OPT("cniVersion", &str_opt),
	FB_OPT("tapName", &tap_name),
	FB_OPT("uid", &id_opt),
	FB_OPT("gid", &id_opt),
	FB_OPT("prevResult", &prev_opt),
	FB_END,
};
static const struct fb_jshape tap_conf = { .kinds = FB_J_OBJECT, .fields = tap_conf_fields };

void fb_cni_tap_conf_free(struct fb_tap_conf *c)
{
	free(c->version);
	free(c->tap);
	free(c->mac);
	fb_cni_result_freep(&c->prev);
	*c = (struct fb_tap_conf){ .uid = -1, .gid = -1 };
}

int fb_cni_tap_conf_decode(const char *text, size_t len, const char *command, const char *ifname, struct fb_tap_conf *out,
			   struct fb_err *err)
{
	*out = (struct fb_tap_conf){ .uid = -1, .gid = -1 };
	jv conf;
	if (fb_json_parse(text, len, &conf, err) < 0)
		return -1;
	if (fb_json_check(conf, &tap_conf, "", err) < 0) {
		jv_free(conf);
		return -1;
	}
	out->version = fb_jv_dup_str(conf, "cniVersion");
	out->tap = fb_jv_dup_str(conf, "tapName");
	out->uid = fb_jv_int(conf, "uid", -1);
	out->gid = fb_jv_int(conf, "gid", -1);
	if (!out->tap)
		out->tap = fb_xstrdup("tap0");
	jv prev = fb_json_member(conf, "prevResult");
	if (jv_get_kind(prev) == JV_KIND_OBJECT)
		out->prev = result_from_jv(prev);
	jv_free(prev);
	jv_free(conf);
	if (!ifname || !fb_cni_valid_ifname(ifname)) {
		fb_err_set(err, FB_EXIT_USAGE, "cni_env", "CNI_IFNAME \"%.64s\" is not an interface name", ifname ? ifname : "");
		goto fail;
	}
	if (command && !strcmp(command, "DEL"))
		return 0;
	if (!out->prev) {
		fb_err_set(err, FB_EXIT_USAGE, "cni_config",
			   "tc-redirect-tap must be chained after a plugin that makes CNI_IFNAME (bridge, ptp): no prevResult in the config");
		goto fail;
	}
	/* the veth's MAC, from the previous result */
	for (size_t i = 0; i < out->prev->nifs && !out->mac; i++) {
		const struct fb_cni_iface *f = &out->prev->ifs[i];
		if (f->name && !strcmp(f->name, ifname) && f->sandbox && f->mac)
			out->mac = fb_xstrdup(f->mac);
	}
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

char *fb_cni_tap_result(const struct fb_tap_conf *c, const char *netns)
{
	jv tapif = jv_object_set(jv_object(), jv_string("name"), jv_string(c->tap));
	tapif = jv_object_set(tapif, jv_string("mac"), fb_jv_str(c->mac));
	tapif = jv_object_set(tapif, jv_string("sandbox"), fb_jv_str(netns));
	jv prev = c->prev && c->prev->json ? jv_parse(c->prev->json) : jv_object();
	jv ifl = fb_json_member(prev, "interfaces");
	if (jv_get_kind(ifl) != JV_KIND_ARRAY) {
		jv_free(ifl);
		ifl = jv_array();
	}
	prev = jv_object_set(prev, jv_string("interfaces"), jv_array_append(ifl, tapif));
	prev = jv_object_set(prev, jv_string("cniVersion"), jv_string(c->version ? c->version : "1.0.0"));
	return fb_json_dump(prev, false);
}

char *fb_cni_error_json(const char *version, int code, const char *msg, const char *details)
{
	jv e = jv_object_set(jv_object(), jv_string("cniVersion"), jv_string(version ? version : "1.0.0"));
	e = jv_object_set(e, jv_string("code"), jv_number(code));
	e = jv_object_set(e, jv_string("msg"), jv_string(msg));
	if (details)
		e = jv_object_set(e, jv_string("details"), jv_string(details));
	return fb_json_dump(e, false);
}

char *fb_cni_version_json(void)
{
	jv v = jv_object_set(jv_object(), jv_string("cniVersion"), jv_string("1.0.0"));
	jv s = jv_array();
	static const char *const versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0" };
	for (size_t i = 0; i < FB_ARRAY_LEN(versions); i++)
		s = jv_array_append(s, jv_string(versions[i]));
	return fb_json_dump(jv_object_set(v, jv_string("supportedVersions"), s), false);
}
