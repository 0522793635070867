/* The config drive, host side (drive.h). */
#include "drive.h"

#include <stdio.h>
#include <string.h>

#include "drive_doc.h"
#include "err.h"
#include "file.h"
#include "json.h"
#include "net_doc.h"
#include "util.h"

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape strv = { .kinds = FB_J_ARRAY, .items = &str };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
static const struct fb_jshape seconds_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 2147483647.0 };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jfield ssh_fields[] = {
	FB_REQ("user", &str),
	FB_REQ("keys", &strv),
	FB_END,
};
static const struct fb_jshape ssh_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = ssh_fields };
static const struct fb_jshape id_num = { .kinds = FB_J_INT, .min = 0, .max = 4294967295.0 };
static int at_most_64(jv v, const char *path, struct fb_err *err)
{
	int n = jv_array_length(jv_copy(v));
	return n >= 1 && n <= 64 ? 0 : fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: 1 to 64 group ids", path);
}
static const struct fb_jshape id_nums = { .kinds = FB_J_ARRAY, .items = &id_num, .check = at_most_64 };
static const struct fb_jfield prepared_fields[] = {
	FB_OPT("etc", &str_opt),
	FB_OPT("user", &str_opt),
	FB_OPT("uid", &id_num),
	FB_OPT("gid", &id_num),
	FB_OPT("groups", &id_nums),
	FB_OPT("home", &str_opt),
	FB_END,
};
static const struct fb_jshape prepared_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = prepared_fields };
static const struct fb_jfield config_fields[] = {
	FB_REQ("id", &str),
	FB_REQ("hostname", &str),
	FB_OPT("env", &strv_opt),
	FB_OPT("entrypoint", &strv_opt),
	FB_OPT("cmd", &strv_opt),
	FB_OPT("user", &str_opt),
	FB_OPT("workdir", &str_opt),
	FB_OPT("stop_signal", &str_opt),
	FB_OPT("stop_timeout", &seconds_opt),
	FB_OPT("ssh", &ssh_opt),
	FB_OPT("discard_root", &bool_opt),
	FB_OPT("prepared", &prepared_opt),
	FB_END,
};
static const struct fb_jshape config = { .kinds = FB_J_OBJECT, .fields = config_fields };

void fb_drive_config_free(struct fb_drive_config *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->hostname);
	fb_strv_free(&c->env);
	fb_strv_free(&c->entrypoint);
	fb_strv_free(&c->cmd);
	free(c->user);
	free(c->workdir);
	free(c->stop_signal);
	if (c->ssh) {
		free(c->ssh->user);
		fb_strv_free(&c->ssh->keys);
		free(c->ssh);
	}
	if (c->prepared) {
		free(c->prepared->etc);
		free(c->prepared->user);
		free(c->prepared->ids.home);
		free(c->prepared);
	}
	*c = (struct fb_drive_config){ 0 };
}

static bool has_num(jv obj, const char *key)
{
	jv m = fb_json_member(obj, key);
	bool r = jv_get_kind(m) == JV_KIND_NUMBER;
	jv_free(m);
	return r;
}

int fb_drive_from_jv(jv v, const char *path, struct fb_drive_config *out, struct fb_err *err)
{
	*out = (struct fb_drive_config){ .stop_timeout = 10 };
	if (fb_json_check(v, &config, path, err) < 0)
		return -1;
	out->id = fb_jv_dup_str(v, "id");
	out->hostname = fb_jv_dup_str(v, "hostname");
	fb_jv_strv_into(v, "env", &out->env);
	fb_jv_strv_into(v, "entrypoint", &out->entrypoint);
	fb_jv_strv_into(v, "cmd", &out->cmd);
	out->user = fb_jv_dup_str(v, "user");
	out->workdir = fb_jv_dup_str(v, "workdir");
	out->stop_signal = fb_jv_dup_str(v, "stop_signal");
	out->stop_timeout = fb_jv_int(v, "stop_timeout", 10);
	out->discard_root = fb_jv_bool(v, "discard_root", false);
	jv ssh = fb_json_member(v, "ssh");
	if (jv_get_kind(ssh) == JV_KIND_OBJECT) {
		out->ssh = fb_xcalloc(1, sizeof(*out->ssh));
		out->ssh->user = fb_jv_dup_str(ssh, "user");
		fb_jv_strv_into(ssh, "keys", &out->ssh->keys);
	}
	jv_free(ssh);
	jv p = fb_json_member(v, "prepared");
	if (jv_get_kind(p) == JV_KIND_OBJECT) {
		struct fb_drive_prepared *pr = out->prepared = fb_xcalloc(1, sizeof(*pr));
		pr->etc = fb_jv_dup_str(p, "etc");
		pr->user = fb_jv_dup_str(p, "user");
		pr->ids.uid = fb_jv_int(p, "uid", 0);
		pr->ids.gid = fb_jv_int(p, "gid", 0);
		pr->ids.home = fb_jv_dup_str(p, "home");
		jv g = fb_json_member(p, "groups");
		for (int i = 0; jv_get_kind(g) == JV_KIND_ARRAY && i < jv_array_length(jv_copy(g)) && i < 64; i++) {
			jv x = jv_array_get(jv_copy(g), i);
			pr->ids.groups[pr->ids.ngroups++] = (long long)jv_number_value(x);
			jv_free(x);
		}
		jv_free(g);
		/* ids without all of them are no ids */
		if (pr->user && (!pr->ids.home || !pr->ids.ngroups || !has_num(p, "uid") || !has_num(p, "gid"))) {
			free(pr->user);
			pr->user = NULL;
		}
	}
	jv_free(p);
	return 0;
}

static jv ids_to_jv(jv o, const struct fb_drive_ids *ids)
{
	jv g = jv_array();
	for (int i = 0; i < ids->ngroups; i++)
		g = jv_array_append(g, jv_number((double)ids->groups[i]));
	o = jv_object_set(o, jv_string("uid"), jv_number((double)ids->uid));
	o = jv_object_set(o, jv_string("gid"), jv_number((double)ids->gid));
	o = jv_object_set(o, jv_string("groups"), g);
	return jv_object_set(o, jv_string("home"), fb_jv_str(ids->home));
}

jv fb_drive_ssh_to_jv(const struct fb_drive_ssh *s)
{
	if (!s)
		return jv_null();
	return jv_object_set(jv_object_set(jv_object(), jv_string("user"), fb_jv_str(s->user)), jv_string("keys"),
			     fb_jv_strv(s->keys.v, s->keys.n));
}

jv fb_drive_to_jv(const struct fb_drive_config *c, const struct fb_network *net, bool version)
{
	jv o = version ? jv_object_set(jv_object(), jv_string("version"), jv_number(1)) : jv_object();
	if (c->ssh)
		o = jv_object_set(o, jv_string("ssh"), fb_drive_ssh_to_jv(c->ssh));
	if (net) {
		o = jv_object_set(o, jv_string("network"), fb_network_to_jv(net));
		o = jv_object_set(o, jv_string("dns"), fb_jv_strv(net->dns.v, net->dns.n));
	}
	o = jv_object_set(o, jv_string("id"), fb_jv_str(c->id));
	o = jv_object_set(o, jv_string("hostname"), fb_jv_str(c->hostname));
	o = jv_object_set(o, jv_string("env"), fb_jv_strv(c->env.v, c->env.n));
	o = jv_object_set(o, jv_string("entrypoint"), fb_jv_strv(c->entrypoint.v, c->entrypoint.n));
	o = jv_object_set(o, jv_string("cmd"), fb_jv_strv(c->cmd.v, c->cmd.n));
	if (c->user)
		o = jv_object_set(o, jv_string("user"), jv_string(c->user));
	if (c->workdir)
		o = jv_object_set(o, jv_string("workdir"), jv_string(c->workdir));
	if (c->stop_signal)
		o = jv_object_set(o, jv_string("stop_signal"), jv_string(c->stop_signal));
	if (c->discard_root)
		o = jv_object_set(o, jv_string("discard_root"), jv_true());
	const struct fb_drive_prepared *pr = c->prepared;
	if (!version && pr) {
		/* the spec's: what prepare did */
		jv p = jv_object();
		if (pr->etc)
			p = jv_object_set(p, jv_string("etc"), jv_string(pr->etc));
		if (pr->user)
			p = ids_to_jv(jv_object_set(p, jv_string("user"), jv_string(pr->user)), &pr->ids);
		o = jv_object_set(o, jv_string("prepared"), p);
	}
	if (version && c->etc_written)
		o = jv_object_set(o, jv_string("etc_written"), jv_true());
	if (version && c->ids_known && pr && pr->user)
		o = jv_object_set(o, jv_string("ids"), ids_to_jv(jv_object(), &pr->ids));
	return jv_object_set(o, jv_string("stop_timeout"), jv_number((double)c->stop_timeout));
}

int fb_drive_write(const char *path, const struct fb_drive_config *c, const struct fb_network *net, struct fb_err *err)
{
	char *t = fb_json_dump(fb_drive_to_jv(c, net, true), false);
	size_t n = strlen(t), padded = (n + 1 + 4095) / 4096 * 4096;
	char *buf = fb_xcalloc(1, padded);
	memcpy(buf, t, n);
	free(t);
	/* secrets may be in it: only root reads it on the host; not synced:
	 * each start writes it again */
	int r = fb_write_file_scratch(path, buf, padded, 0600, err);
	free(buf);
	return r;
}
