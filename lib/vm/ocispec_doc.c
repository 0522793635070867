/* fb-runtime's documents (ocispec.h): config.json and exec's process
 * checked against a shape and decoded once, the guest config, the state,
 * the settings. */
#include "ocispec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "net_doc.h"
#include "util.h"

/* ---- the shapes ---- */

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
static const struct fb_jshape int_opt = { .kinds = FB_J_INT | FB_J_NULL };
static const struct fb_jshape u32 = { .kinds = FB_J_INT, .min = 0, .max = 4294967295.0 };
static const struct fb_jshape u32_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 4294967295.0 };
/* annotations and sysctl: strings by the spec */
static const struct fb_jshape map_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .items = &str };

static int not_negative(jv v, const char *path, struct fb_err *err)
{
	if (jv_number_value(v) < 0)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected 0 or more, got %g", path, jv_number_value(v));
	return 0;
}
static const struct fb_jshape limit = { .kinds = FB_J_NUMBER, .check = not_negative };

static const struct fb_jshape gids_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &u32 };
static const struct fb_jfield user_fields[] = {
	FB_OPT("uid", &u32_opt),
	FB_OPT("gid", &u32_opt),
	FB_OPT("umask", &u32_opt),
	FB_OPT("additionalGids", &gids_opt),
	FB_END,
};
static const struct fb_jshape user_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = user_fields };
static const struct fb_jfield console_fields[] = { FB_OPT("height", &u32_opt), FB_OPT("width", &u32_opt), FB_END };
static const struct fb_jshape console_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = console_fields };
static const struct fb_jfield rlimit_fields[] = { FB_REQ("type", &str), FB_REQ("hard", &limit), FB_REQ("soft", &limit), FB_END };
static const struct fb_jshape rlimit = { .kinds = FB_J_OBJECT, .fields = rlimit_fields };
static const struct fb_jshape rlimits_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &rlimit };
static const struct fb_jfield caps_fields[] = {
	FB_OPT("bounding", &strv_opt),	  FB_OPT("effective", &strv_opt), FB_OPT("permitted", &strv_opt),
	FB_OPT("inheritable", &strv_opt), FB_OPT("ambient", &strv_opt),	  FB_END,
};
static const struct fb_jshape caps_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = caps_fields };
static const struct fb_jfield process_fields[] = {
	FB_OPT("args", &strv_opt),
	FB_OPT("env", &strv_opt),
	FB_OPT("cwd", &str_opt),
	FB_OPT("terminal", &bool_opt),
	FB_OPT("consoleSize", &console_opt),
	FB_OPT("user", &user_opt),
	FB_OPT("rlimits", &rlimits_opt),
	FB_OPT("capabilities", &caps_opt),
	FB_OPT("noNewPrivileges", &bool_opt),
	FB_END,
};
static const struct fb_jshape process = { .kinds = FB_J_OBJECT, .fields = process_fields };

static const struct fb_jfield root_fields[] = { FB_REQ("path", &str), FB_OPT("readonly", &bool_opt), FB_END };
static const struct fb_jshape root = { .kinds = FB_J_OBJECT, .fields = root_fields };
static const struct fb_jfield mount_fields[] = {
	FB_REQ("destination", &str),
	FB_OPT("type", &str_opt),
	FB_OPT("source", &str_opt),
	FB_OPT("options", &strv_opt),
	FB_END,
};
static const struct fb_jshape mount = { .kinds = FB_J_OBJECT, .fields = mount_fields };
static const struct fb_jshape mounts_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &mount };
static const struct fb_jfield ns_fields[] = { FB_REQ("type", &str), FB_OPT("path", &str_opt), FB_END };
static const struct fb_jshape ns = { .kinds = FB_J_OBJECT, .fields = ns_fields };
static const struct fb_jshape nss_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &ns };
static const struct fb_jfield cpu_fields[] = { FB_OPT("quota", &int_opt), FB_OPT("period", &int_opt), FB_END };
static const struct fb_jshape cpu_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = cpu_fields };
static const struct fb_jfield memory_fields[] = { FB_OPT("limit", &int_opt), FB_END };
static const struct fb_jshape memory_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = memory_fields };
static const struct fb_jfield res_fields[] = { FB_OPT("cpu", &cpu_opt), FB_OPT("memory", &memory_opt), FB_END };
static const struct fb_jshape res_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = res_fields };
static const struct fb_jfield linux_fields[] = {
	FB_OPT("namespaces", &nss_opt),
	FB_OPT("resources", &res_opt),
	FB_OPT("sysctl", &map_opt),
	FB_OPT("cgroupsPath", &str_opt),
	FB_END,
};
static const struct fb_jshape linux_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = linux_fields };
static const struct fb_jfield spec_fields[] = {
	FB_REQ("ociVersion", &str),
	FB_REQ("process", &process),
	FB_REQ("root", &root),
	FB_OPT("hostname", &str_opt),
	FB_OPT("mounts", &mounts_opt),
	FB_OPT("linux", &linux_opt),
	FB_OPT("annotations", &map_opt),
	FB_END,
};
static const struct fb_jshape spec = { .kinds = FB_J_OBJECT, .fields = spec_fields };

/* ---- maps ---- */

const char *fb_rt_map_get(const struct fb_rt_map *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->keys[i], key))
			return m->values[i];
	return NULL;
}

static void map_add(struct fb_rt_map *m, const char *k, const char *v)
{
	m->keys = fb_xrealloc(m->keys, (m->n + 1) * sizeof(*m->keys));
	m->values = fb_xrealloc(m->values, (m->n + 1) * sizeof(*m->values));
	m->keys[m->n] = fb_xstrdup(k);
	m->values[m->n++] = fb_xstrdup(v);
}

void fb_rt_map_copy(struct fb_rt_map *dst, const struct fb_rt_map *src)
{
	*dst = (struct fb_rt_map){ 0 };
	for (size_t i = 0; i < src->n; i++)
		map_add(dst, src->keys[i], src->values[i]);
}

void fb_rt_map_free(struct fb_rt_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->values[i]);
	}
	free(m->keys);
	free(m->values);
	*m = (struct fb_rt_map){ 0 };
}

/* A checked object of strings (absent or null: empty). Borrows obj. */
static void map_from(jv obj, const char *key, struct fb_rt_map *out)
{
	jv m = fb_json_member(obj, key);
	if (jv_get_kind(m) == JV_KIND_OBJECT) {
		jv_object_foreach(m, k, v)
		{
			if (jv_get_kind(v) == JV_KIND_STRING)
				map_add(out, jv_string_value(k), jv_string_value(v));
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(m);
}

static jv map_to(const struct fb_rt_map *m)
{
	jv o = jv_object();
	for (size_t i = 0; i < m->n; i++)
		o = jv_object_set(o, jv_string(m->keys[i]), jv_string(m->values[i]));
	return o;
}

/* ---- the process ---- */

void fb_rt_process_free(struct fb_rt_process *p)
{
	fb_strv_free(&p->args);
	fb_strv_free(&p->env);
	free(p->cwd);
	free(p->additional_gids);
	for (size_t i = 0; i < p->nrlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	fb_strv_free(&p->cap_bounding);
	fb_strv_free(&p->cap_effective);
	fb_strv_free(&p->cap_permitted);
	fb_strv_free(&p->cap_inheritable);
	fb_strv_free(&p->cap_ambient);
	*p = (struct fb_rt_process){ 0 };
}

static uint64_t to_u64(double d)
{
	return d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
}

/* A checked process (borrowed). */
static void process_from(jv p, struct fb_rt_process *out)
{
	*out = (struct fb_rt_process){ .args = FB_STRV_INIT, .env = FB_STRV_INIT };
	fb_jv_strv_into(p, "args", &out->args);
	fb_jv_strv_into(p, "env", &out->env);
	out->cwd = fb_jv_dup_str(p, "cwd");
	out->terminal = fb_jv_bool(p, "terminal", false);
	out->no_new_privileges = fb_jv_bool(p, "noNewPrivileges", false);
	jv cs = fb_json_member(p, "consoleSize");
	if (jv_get_kind(cs) == JV_KIND_OBJECT) {
		out->has_console_size = true;
		out->console_height = (uint32_t)fb_jv_int(cs, "height", 24);
		out->console_width = (uint32_t)fb_jv_int(cs, "width", 80);
	}
	jv_free(cs);
	jv u = fb_json_member(p, "user");
	out->uid = (uint32_t)fb_jv_int(u, "uid", 0);
	out->gid = (uint32_t)fb_jv_int(u, "gid", 0);
	jv um = fb_json_member(u, "umask");
	out->has_umask = jv_get_kind(um) == JV_KIND_NUMBER;
	out->umask = (uint32_t)fb_jv_int(u, "umask", 022);
	jv_free(um);
	jv ag = fb_json_member(u, "additionalGids");
	if (jv_get_kind(ag) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(ag));
		out->additional_gids = fb_xcalloc((size_t)n + 1, sizeof(*out->additional_gids));
		jv_array_foreach(ag, i, g)
		{
			out->additional_gids[out->nadditional_gids++] = (uint32_t)jv_number_value(g);
			jv_free(g);
			(void)i;
		}
	}
	jv_free(ag);
	jv_free(u);
	jv rl = fb_json_member(p, "rlimits");
	if (jv_get_kind(rl) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(rl));
		out->rlimits = fb_xcalloc((size_t)n + 1, sizeof(*out->rlimits));
		jv_array_foreach(rl, i, r)
		{
			jv h = fb_json_member(r, "hard"), s = fb_json_member(r, "soft");
			out->rlimits[out->nrlimits++] = (struct fb_rt_rlimit){ fb_jv_dup_str(r, "type"), to_u64(jv_number_value(h)),
										to_u64(jv_number_value(s)) };
			jv_free(h);
			jv_free(s);
			jv_free(r);
			(void)i;
		}
	}
	jv_free(rl);
	jv caps = fb_json_member(p, "capabilities");
	if (jv_get_kind(caps) == JV_KIND_OBJECT) {
		out->has_caps = true;
		fb_jv_strv_into(caps, "bounding", &out->cap_bounding);
		fb_jv_strv_into(caps, "effective", &out->cap_effective);
		fb_jv_strv_into(caps, "permitted", &out->cap_permitted);
		fb_jv_strv_into(caps, "inheritable", &out->cap_inheritable);
		fb_jv_strv_into(caps, "ambient", &out->cap_ambient);
	}
	jv_free(caps);
}

static jv process_to(const struct fb_rt_process *p)
{
	jv o = jv_object_set(jv_object(), jv_string("args"), fb_jv_strv(p->args.v, p->args.n));
	o = jv_object_set(o, jv_string("env"), fb_jv_strv(p->env.v, p->env.n));
	if (p->cwd)
		o = jv_object_set(o, jv_string("cwd"), jv_string(p->cwd));
	o = jv_object_set(o, jv_string("terminal"), jv_bool(p->terminal));
	if (p->has_console_size)
		o = jv_object_set(o, jv_string("consoleSize"),
				  jv_object_set(jv_object_set(jv_object(), jv_string("height"), jv_number(p->console_height)),
						jv_string("width"), jv_number(p->console_width)));
	jv u = jv_object_set(jv_object(), jv_string("uid"), jv_number(p->uid));
	u = jv_object_set(u, jv_string("gid"), jv_number(p->gid));
	if (p->has_umask)
		u = jv_object_set(u, jv_string("umask"), jv_number(p->umask));
	if (p->nadditional_gids) {
		jv g = jv_array();
		for (size_t i = 0; i < p->nadditional_gids; i++)
			g = jv_array_append(g, jv_number(p->additional_gids[i]));
		u = jv_object_set(u, jv_string("additionalGids"), g);
	}
	o = jv_object_set(o, jv_string("user"), u);
	if (p->nrlimits) {
		jv rl = jv_array();
		for (size_t i = 0; i < p->nrlimits; i++) {
			jv r = jv_object_set(jv_object(), jv_string("type"), jv_string(p->rlimits[i].type));
			r = jv_object_set(r, jv_string("hard"), jv_number((double)p->rlimits[i].hard));
			rl = jv_array_append(rl, jv_object_set(r, jv_string("soft"), jv_number((double)p->rlimits[i].soft)));
		}
		o = jv_object_set(o, jv_string("rlimits"), rl);
	}
	if (p->has_caps) {
		jv c = jv_object_set(jv_object(), jv_string("bounding"), fb_jv_strv(p->cap_bounding.v, p->cap_bounding.n));
		c = jv_object_set(c, jv_string("effective"), fb_jv_strv(p->cap_effective.v, p->cap_effective.n));
		c = jv_object_set(c, jv_string("permitted"), fb_jv_strv(p->cap_permitted.v, p->cap_permitted.n));
		c = jv_object_set(c, jv_string("inheritable"), fb_jv_strv(p->cap_inheritable.v, p->cap_inheritable.n));
		c = jv_object_set(c, jv_string("ambient"), fb_jv_strv(p->cap_ambient.v, p->cap_ambient.n));
		o = jv_object_set(o, jv_string("capabilities"), c);
	}
	if (p->no_new_privileges)
		o = jv_object_set(o, jv_string("noNewPrivileges"), jv_true());
	return o;
}

static int process_decode(jv v, struct fb_rt_process *out, struct fb_err *err)
{
	*out = (struct fb_rt_process){ .args = FB_STRV_INIT, .env = FB_STRV_INIT };
	int r = fb_json_check(v, &process, "", err);
	if (r == 0)
		process_from(v, out);
	jv_free(v);
	return r;
}

int fb_rt_process_load(const char *path, struct fb_rt_process *out, struct fb_err *err)
{
	*out = (struct fb_rt_process){ .args = FB_STRV_INIT, .env = FB_STRV_INIT };
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	if (process_decode(v, out, err) < 0) {
		fb_err_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

int fb_rt_process_parse(const char *text, size_t len, struct fb_rt_process *out, struct fb_err *err)
{
	*out = (struct fb_rt_process){ .args = FB_STRV_INIT, .env = FB_STRV_INIT };
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	return process_decode(v, out, err);
}

char *fb_rt_process_encode(const struct fb_rt_process *p)
{
	return fb_json_dump(process_to(p), false);
}

/* ---- config.json ---- */

void fb_rt_spec_free(struct fb_rt_spec *s)
{
	free(s->oci_version);
	fb_rt_process_free(&s->process);
	free(s->root_path);
	free(s->hostname);
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		fb_strv_free(&s->mounts[i].options);
	}
	free(s->mounts);
	free(s->netns);
	free(s->cgroups_path);
	fb_rt_map_free(&s->sysctl);
	fb_rt_map_free(&s->annotations);
	*s = (struct fb_rt_spec){ 0 };
}

static int spec_decode(jv v, struct fb_rt_spec *out, struct fb_err *err)
{
	*out = (struct fb_rt_spec){ 0 };
	if (fb_json_check(v, &spec, "", err) < 0) {
		jv_free(v);
		return -1;
	}
	jv p = fb_json_member(v, "process");
	process_from(p, &out->process);
	jv_free(p);
	if (!out->process.args.n) {
		jv_free(v);
		fb_rt_spec_free(out);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".process: args must not be empty");
	}
	out->oci_version = fb_jv_dup_str(v, "ociVersion");
	jv rt = fb_json_member(v, "root");
	out->root_path = fb_jv_dup_str(rt, "path");
	out->root_readonly = fb_jv_bool(rt, "readonly", false);
	jv_free(rt);
	out->hostname = fb_jv_dup_str(v, "hostname");
	jv ms = fb_json_member(v, "mounts");
	if (jv_get_kind(ms) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(ms));
		out->mounts = fb_xcalloc((size_t)n + 1, sizeof(*out->mounts));
		jv_array_foreach(ms, i, m)
		{
			struct fb_rt_mount *o = &out->mounts[out->nmounts++];
			*o = (struct fb_rt_mount){ fb_jv_dup_str(m, "destination"), fb_jv_dup_str(m, "type"), fb_jv_dup_str(m, "source"),
						    FB_STRV_INIT };
			fb_jv_strv_into(m, "options", &o->options);
			jv_free(m);
			(void)i;
		}
	}
	jv_free(ms);
	jv lnx = fb_json_member(v, "linux");
	jv nss = fb_json_member(lnx, "namespaces");
	if (jv_get_kind(nss) == JV_KIND_ARRAY)
		jv_array_foreach(nss, i, n)
		{
			char *t = fb_jv_dup_str(n, "type"), *path = fb_jv_dup_str(n, "path");
			if (!strcmp(t, "network")) {
				if (path && path[0]) {
					free(out->netns);
					out->netns = path;
					path = NULL;
				} else {
					out->netns_new = true;
				}
			}
			free(t);
			free(path);
			jv_free(n);
			(void)i;
		}
	jv_free(nss);
	out->cgroups_path = fb_jv_dup_str(lnx, "cgroupsPath");
	jv res = fb_json_member(lnx, "resources");
	jv cpu = fb_json_member(res, "cpu"), mem = fb_json_member(res, "memory");
	out->cpu_quota = fb_jv_int(cpu, "quota", 0);
	out->cpu_period = fb_jv_int(cpu, "period", 0);
	out->memory_limit = fb_jv_int(mem, "limit", 0);
	jv_free(cpu);
	jv_free(mem);
	jv_free(res);
	map_from(lnx, "sysctl", &out->sysctl);
	jv_free(lnx);
	map_from(v, "annotations", &out->annotations);
	jv_free(v);
	return 0;
}

int fb_rt_spec_load(const char *path, struct fb_rt_spec *out, struct fb_err *err)
{
	*out = (struct fb_rt_spec){ 0 };
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	if (spec_decode(v, out, err) < 0) {
		fb_err_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

int fb_rt_spec_parse(const char *text, size_t len, struct fb_rt_spec *out, struct fb_err *err)
{
	*out = (struct fb_rt_spec){ 0 };
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	return spec_decode(v, out, err);
}

/* ---- the guest's config ---- */

void fb_rt_guest_net_free(struct fb_rt_guest_net *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nifaces; i++) {
		free(n->ifaces[i].name);
		free(n->ifaces[i].mac);
		free(n->ifaces[i].ip);
		fb_strv_free(&n->ifaces[i].ips);
	}
	free(n->ifaces);
	for (size_t i = 0; i < n->nroutes; i++) {
		free(n->routes[i].dst);
		free(n->routes[i].gateway);
		free(n->routes[i].dev);
	}
	free(n->routes);
	*n = (struct fb_rt_guest_net){ 0 };
}

void fb_rt_guest_free(struct fb_rt_guest *g)
{
	free(g->root_source);
	free(g->root_type);
	free(g->root_options);
	for (size_t i = 0; i < g->nmounts; i++) {
		free(g->mounts[i].destination);
		free(g->mounts[i].type);
		free(g->mounts[i].source);
		free(g->mounts[i].data);
	}
	free(g->mounts);
	for (size_t i = 0; i < g->nfiles; i++) {
		free(g->files[i].destination);
		free(g->files[i].data);
	}
	free(g->files);
	fb_rt_map_free(&g->sysctl);
	free(g->hostname);
	fb_rt_process_free(&g->process);
	*g = (struct fb_rt_guest){ 0 };
}

static jv net_to(const struct fb_rt_guest_net *n)
{
	jv ifs = jv_array();
	for (size_t i = 0; i < n->nifaces; i++) {
		const struct fb_rt_guest_iface *f = &n->ifaces[i];
		jv it = jv_object_set(jv_object(), jv_string("name"), jv_string(f->name));
		it = jv_object_set(it, jv_string("mac"), jv_string(f->mac));
		if (f->has_mtu)
			it = jv_object_set(it, jv_string("mtu"), jv_number((double)f->mtu));
		it = jv_object_set(it, jv_string("ip"), fb_jv_str(f->ip));
		jv v6 = jv_array();
		for (size_t k = 0; k < f->ips.n; k++)
			v6 = jv_array_append(v6, jv_object_set(jv_object(), jv_string("address"), jv_string(f->ips.v[k])));
		ifs = jv_array_append(ifs, jv_object_set(it, jv_string("ips"), v6));
	}
	jv rs = jv_array();
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct fb_rt_guest_route *r = &n->routes[i];
		jv e = jv_object_set(jv_object(), jv_string("dst"), jv_string(r->dst));
		if (r->gateway)
			e = jv_object_set(e, jv_string("gateway"), jv_string(r->gateway));
		rs = jv_array_append(rs, jv_object_set(e, jv_string("dev"), jv_string(r->dev)));
	}
	return jv_object_set(jv_object_set(jv_object(), jv_string("interfaces"), ifs), jv_string("routes"), rs);
}

char *fb_rt_guest_encode(const struct fb_rt_guest *g)
{
	jv o = jv_object();
	if (g->vsock_port)
		o = jv_object_set(o, jv_string("io"), jv_object_set(jv_object(), jv_string("vsock_port"), jv_number(g->vsock_port)));
	jv rt = jv_object_set(jv_object(), jv_string("source"), jv_string(g->root_source));
	rt = jv_object_set(rt, jv_string("type"), jv_string(g->root_type));
	if (g->root_options)
		rt = jv_object_set(rt, jv_string("options"), jv_string(g->root_options));
	o = jv_object_set(o, jv_string("root"), jv_object_set(rt, jv_string("readonly"), jv_bool(g->root_readonly)));
	jv ms = jv_array();
	for (size_t i = 0; i < g->nmounts; i++) {
		const struct fb_rt_guest_mount *m = &g->mounts[i];
		jv e = jv_object_set(jv_object(), jv_string("destination"), jv_string(m->destination));
		e = jv_object_set(e, jv_string("type"), jv_string(m->type));
		e = jv_object_set(e, jv_string("source"), jv_string(m->source));
		e = jv_object_set(e, jv_string("flags"), jv_number((double)m->flags));
		ms = jv_array_append(ms, jv_object_set(e, jv_string("data"), fb_jv_str(m->data)));
	}
	o = jv_object_set(o, jv_string("mounts"), ms);
	jv fs = jv_array();
	for (size_t i = 0; i < g->nfiles; i++) {
		const struct fb_rt_guest_file *f = &g->files[i];
		jv e = jv_object_set(jv_object(), jv_string("destination"), jv_string(f->destination));
		e = jv_object_set(e, jv_string("data"), jv_string(f->data));
		e = jv_object_set(e, jv_string("mode"), jv_number(f->mode));
		fs = jv_array_append(fs, jv_object_set(e, jv_string("readonly"), jv_bool(f->readonly)));
	}
	o = jv_object_set(o, jv_string("files"), fs);
	o = jv_object_set(o, jv_string("sysctl"), map_to(&g->sysctl));
	o = jv_object_set(o, jv_string("hostname"), fb_jv_str(g->hostname));
	o = jv_object_set(o, jv_string("process"), process_to(&g->process));
	if (g->network)
		o = jv_object_set(o, jv_string("network"), net_to(g->network));
	return fb_json_dump(o, false);
}

/* ---- state.json ---- */

static const struct fb_jfield tap_fields[] = { FB_REQ("ifname", &str), FB_REQ("tap", &str), FB_END };
static const struct fb_jshape tap = { .kinds = FB_J_OBJECT, .fields = tap_fields };
static const struct fb_jshape taps_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &tap };
static const struct fb_jshape code_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = -2147483648.0, .max = 2147483647.0 };
static const struct fb_jfield fb_fields[] = {
	FB_OPT("exit_code", &code_opt),	 FB_OPT("finished", &int_opt), FB_OPT("guest_pid", &int_opt),
	FB_OPT("supervisor_start", &int_opt), FB_OPT("vmm_pid", &int_opt),  FB_OPT("vmm_start", &int_opt),
	FB_OPT("jail_dir", &str_opt),	 FB_OPT("vmm", &str_opt),	FB_OPT("netns", &str_opt),
	FB_OPT("cgroups", &strv_opt),	 FB_OPT("taps", &taps_opt),	FB_END,
};
static const struct fb_jshape fb_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = fb_fields };
static const struct fb_jfield state_fields[] = {
	FB_OPT("ociVersion", &str_opt), FB_OPT("id", &str_opt),	     FB_OPT("status", &str_opt),
	FB_OPT("pid", &int_opt),	FB_OPT("bundle", &str_opt),  FB_OPT("rootfs", &str_opt),
	FB_OPT("created", &str_opt),	FB_OPT("owner", &str_opt),   FB_OPT("annotations", &map_opt),
	FB_OPT("fb", &fb_opt),		FB_END,
};
static const struct fb_jshape state = { .kinds = FB_J_OBJECT, .fields = state_fields };

void fb_rt_state_free(struct fb_rt_state *s)
{
	char **strs[] = { &s->oci_version, &s->id, &s->status, &s->bundle, &s->rootfs, &s->created,
			  &s->owner,	   &s->jail_dir, &s->vmm, &s->netns };
	for (size_t i = 0; i < FB_ARRAY_LEN(strs); i++)
		free(*strs[i]);
	fb_rt_map_free(&s->annotations);
	fb_strv_free(&s->cgroups);
	for (size_t i = 0; i < s->ntaps; i++) {
		free(s->taps[i].ifname);
		free(s->taps[i].tap);
	}
	free(s->taps);
	*s = (struct fb_rt_state){ 0 };
}

static int state_decode(jv v, struct fb_rt_state *out, struct fb_err *err)
{
	*out = (struct fb_rt_state){ .cgroups = FB_STRV_INIT };
	if (fb_json_check(v, &state, "", err) < 0) {
		jv_free(v);
		return -1;
	}
	out->oci_version = fb_jv_dup_str(v, "ociVersion");
	out->id = fb_jv_dup_str(v, "id");
	out->status = fb_jv_dup_str(v, "status");
	out->pid = fb_jv_int(v, "pid", 0);
	out->bundle = fb_jv_dup_str(v, "bundle");
	out->rootfs = fb_jv_dup_str(v, "rootfs");
	out->created = fb_jv_dup_str(v, "created");
	out->owner = fb_jv_dup_str(v, "owner");
	map_from(v, "annotations", &out->annotations);
	jv fb = fb_json_member(v, "fb");
	jv ex = fb_json_member(fb, "exit_code");
	out->has_exit_code = jv_get_kind(ex) == JV_KIND_NUMBER;
	jv_free(ex);
	out->exit_code = fb_jv_int(fb, "exit_code", 0);
	out->finished = fb_jv_int(fb, "finished", 0);
	out->guest_pid = fb_jv_int(fb, "guest_pid", 0);
	out->supervisor_start = fb_jv_int(fb, "supervisor_start", 0);
	out->vmm_pid = fb_jv_int(fb, "vmm_pid", 0);
	out->vmm_start = fb_jv_int(fb, "vmm_start", 0);
	out->jail_dir = fb_jv_dup_str(fb, "jail_dir");
	out->vmm = fb_jv_dup_str(fb, "vmm");
	out->netns = fb_jv_dup_str(fb, "netns");
	fb_jv_strv_into(fb, "cgroups", &out->cgroups);
	jv taps = fb_json_member(fb, "taps");
	if (jv_get_kind(taps) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(taps));
		out->taps = fb_xcalloc((size_t)n + 1, sizeof(*out->taps));
		jv_array_foreach(taps, i, t)
		{
			out->taps[out->ntaps++] = (struct fb_rt_tap_rec){ fb_jv_dup_str(t, "ifname"), fb_jv_dup_str(t, "tap") };
			jv_free(t);
			(void)i;
		}
	}
	jv_free(taps);
	jv_free(fb);
	jv_free(v);
	return 0;
}

int fb_rt_state_load(const char *path, struct fb_rt_state *out, struct fb_err *err)
{
	*out = (struct fb_rt_state){ .cgroups = FB_STRV_INIT };
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	if (state_decode(v, out, err) < 0) {
		fb_err_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

int fb_rt_state_parse(const char *text, size_t len, struct fb_rt_state *out, struct fb_err *err)
{
	*out = (struct fb_rt_state){ .cgroups = FB_STRV_INIT };
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	return state_decode(v, out, err);
}

/* The spec's members, in its order. */
static jv public_to(const struct fb_rt_state *s, const char *status)
{
	jv o = jv_object_set(jv_object(), jv_string("ociVersion"), fb_jv_str(s->oci_version));
	o = jv_object_set(o, jv_string("id"), fb_jv_str(s->id));
	o = jv_object_set(o, jv_string("pid"), jv_number(status && !strcmp(status, "stopped") ? 0 : (double)s->pid));
	o = jv_object_set(o, jv_string("status"), fb_jv_str(status ? status : s->status));
	o = jv_object_set(o, jv_string("bundle"), fb_jv_str(s->bundle));
	o = jv_object_set(o, jv_string("rootfs"), fb_jv_str(s->rootfs));
	o = jv_object_set(o, jv_string("created"), fb_jv_str(s->created));
	o = jv_object_set(o, jv_string("owner"), fb_jv_str(s->owner));
	return jv_object_set(o, jv_string("annotations"), map_to(&s->annotations));
}

int fb_rt_state_save(const char *path, const struct fb_rt_state *s, struct fb_err *err)
{
	jv o = public_to(s, NULL);
	jv fb = jv_object();
	if (s->supervisor_start)
		fb = jv_object_set(fb, jv_string("supervisor_start"), jv_number((double)s->supervisor_start));
	if (s->jail_dir)
		fb = jv_object_set(fb, jv_string("jail_dir"), jv_string(s->jail_dir));
	if (s->jail_dir || s->cgroups.n)
		fb = jv_object_set(fb, jv_string("cgroups"), fb_jv_strv(s->cgroups.v, s->cgroups.n));
	if (s->vmm)
		fb = jv_object_set(fb, jv_string("vmm"), jv_string(s->vmm));
	if (s->netns)
		fb = jv_object_set(fb, jv_string("netns"), jv_string(s->netns));
	if (s->netns || s->ntaps) {
		jv tl = jv_array();
		for (size_t i = 0; i < s->ntaps; i++)
			tl = jv_array_append(tl, jv_object_set(jv_object_set(jv_object(), jv_string("ifname"), jv_string(s->taps[i].ifname)),
								 jv_string("tap"), jv_string(s->taps[i].tap)));
		fb = jv_object_set(fb, jv_string("taps"), tl);
	}
	if (s->vmm_pid) {
		fb = jv_object_set(fb, jv_string("vmm_pid"), jv_number((double)s->vmm_pid));
		fb = jv_object_set(fb, jv_string("vmm_start"), jv_number((double)s->vmm_start));
	}
	if (s->guest_pid)
		fb = jv_object_set(fb, jv_string("guest_pid"), jv_number((double)s->guest_pid));
	if (s->has_exit_code)
		fb = jv_object_set(fb, jv_string("exit_code"), jv_number((double)s->exit_code));
	if (s->finished)
		fb = jv_object_set(fb, jv_string("finished"), jv_number((double)s->finished));
	return fb_json_save(path, jv_object_set(o, jv_string("fb"), fb), 0600, err);
}

char *fb_rt_state_public(const struct fb_rt_state *s, const char *status)
{
	return fb_json_dump(public_to(s, status), true);
}

char *fb_rt_state_list(const struct fb_rt_state *const *s, char *const *status, size_t n)
{
	jv l = jv_array();
	for (size_t i = 0; i < n; i++)
		l = jv_array_append(l, public_to(s[i], status ? status[i] : NULL));
	return fb_json_dump(l, true);
}

char *fb_rt_pids_json(const long long *pids, size_t n)
{
	jv l = jv_array();
	for (size_t i = 0; i < n; i++)
		l = jv_array_append(l, jv_number((double)pids[i]));
	return fb_json_dump(l, true);
}

char *fb_rt_features_json(const char *base, char *const *caps, size_t ncaps, struct fb_err *err)
{
	jv d;
	if (fb_jv_parse_object(base, strlen(base), &d, err) < 0)
		return NULL;
	jv lnx = fb_json_member(d, "linux");
	if (jv_get_kind(lnx) != JV_KIND_OBJECT) {
		jv_free(lnx);
		lnx = jv_object();
	}
	d = jv_object_set(d, jv_string("linux"), jv_object_set(lnx, jv_string("capabilities"), fb_jv_strv(caps, ncaps)));
	return fb_json_dump(d, true);
}

/* ---- the runtime's settings ---- */

static const struct fb_jshape accel = { .kinds = FB_J_STRING | FB_J_NULL, .oneof = (const char *const[]){ "kvm", "tcg", NULL } };
static const struct fb_jfield settings_fields[] = {
	FB_OPT("kernel", &str_opt),	 FB_OPT("vmm", &str_opt),	  FB_OPT("store", &str_opt),
	FB_OPT("chroot_base", &str_opt), FB_OPT("kernel_args", &str_opt), FB_OPT("runc", &str_opt),
	FB_OPT("accel", &accel),	 FB_OPT("firecracker", &str_opt), FB_OPT("jailer_uid", &int_opt),
	FB_OPT("jailer_gid", &int_opt),	 FB_OPT("mem", &int_opt),	  FB_OPT("cpu", &int_opt),
	FB_OPT("boot_timeout", &int_opt), FB_END,
};
static const struct fb_jshape settings = { .kinds = FB_J_OBJECT, .fields = settings_fields };

int fb_rt_settings_load(const char *path, struct fb_rt_settings *s, struct fb_err *err)
{
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	if (fb_json_check(v, &settings, "", err) < 0) {
		jv_free(v);
		fb_err_prefix(err, "%s", path);
		return -1;
	}
	char **strs[] = { &s->kernel, &s->vmm, &s->store, &s->chroot_base, &s->kernel_args, &s->runc, &s->accel, &s->firecracker };
	static const char *const skeys[] = { "kernel", "vmm", "store", "chroot_base", "kernel_args", "runc", "accel", "firecracker" };
	for (size_t i = 0; i < FB_ARRAY_LEN(skeys); i++) {
		char *x = fb_jv_dup_str(v, skeys[i]);
		if (x) {
			free(*strs[i]);
			*strs[i] = x;
		}
	}
	long long *ints[] = { &s->jailer_uid, &s->jailer_gid, &s->mem, &s->cpu, &s->boot_timeout };
	static const char *const ikeys[] = { "jailer_uid", "jailer_gid", "mem", "cpu", "boot_timeout" };
	for (size_t i = 0; i < FB_ARRAY_LEN(ikeys); i++)
		*ints[i] = fb_jv_int(v, ikeys[i], *ints[i]);
	jv_free(v);
	return 0;
}

void fb_rt_settings_free(struct fb_rt_settings *s)
{
	char **strs[] = { &s->kernel, &s->vmm, &s->store, &s->chroot_base, &s->kernel_args, &s->runc, &s->accel, &s->firecracker };
	for (size_t i = 0; i < FB_ARRAY_LEN(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}
