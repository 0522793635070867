/* fb-exec's spec and result (exec_doc.h). */
#include "exec_doc.h"

#include <string.h>

#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "util.h"

/* ---- the shape: kinds first, then what the sandbox relies on ---- */

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape int_opt = { .kinds = FB_J_INT | FB_J_NULL };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };

/* a target inside the tree, and a bind's source */
static int mount_check(jv m, const char *path, struct fb_err *err)
{
	jv type = fb_json_member(m, "type"), target = fb_json_member(m, "target"), source = fb_json_member(m, "source");
	const char *t = jv_string_value(target);
	int r = 0;
	if (t[0] != '/' || !strcmp(t, "/"))
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: target %s: must be absolute and not /", path, t);
	else if (!strcmp(jv_string_value(type), "bind") && jv_get_kind(source) != JV_KIND_STRING)
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: a bind mount needs a source", path);
	jv_free(type);
	jv_free(target);
	jv_free(source);
	return r;
}

static const char *const mount_types[] = { "bind", "tmpfs", NULL };
static const struct fb_jshape mount_type = { .kinds = FB_J_STRING, .oneof = mount_types };
static const struct fb_jfield mount_fields[] = {
	{ "type", &mount_type, true },
	{ "target", &str, true },
	{ "source", &str_opt, false },
	{ "readonly", &bool_opt, false },
	{ "size", &int_opt, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape mount = { .kinds = FB_J_OBJECT, .fields = mount_fields, .check = mount_check };
static const struct fb_jshape mounts = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &mount };
static const struct fb_jfield exec_fields[] = {
	{ "root", &str, true },
	{ "args", &strv_opt, false },
	{ "env", &strv_opt, false },
	{ "user", &str_opt, false },
	{ "workdir", &str_opt, false },
	{ "hostname", &str_opt, false },
	{ "network", &str_opt, false },
	{ "timeout", &int_opt, false },
	{ "mounts", &mounts, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape exec = { .kinds = FB_J_OBJECT, .fields = exec_fields };
static const struct fb_jfield spec_fields[] = {
	{ "exec", &exec, true },
	{ NULL, NULL, false },
};
static const struct fb_jshape spec_shape = { .kinds = FB_J_OBJECT, .fields = spec_fields };

/* ---- decoding: after the shape, every getter finds what it expects ---- */

static int decode_mount(jv m, struct fb_exec_mount *out, struct fb_err *err)
{
	long long size = 0;
	if (fb_json_get_str(m, "type", &out->type, err) < 0 || fb_json_get_str(m, "target", &out->target, err) < 0 ||
	    fb_json_get_str_opt(m, "source", &out->source, err) < 0 ||
	    fb_json_get_bool_opt(m, "readonly", &out->readonly, err) < 0 || fb_json_get_int_opt(m, "size", &size, err) < 0)
		return -1;
	out->size = size > 0 ? (unsigned long long)size : 0;
	return 0;
}

static int decode(jv e, struct fb_exec_spec *s, struct fb_err *err)
{
	long long timeout = 0;
	FB_AUTOFREE char *net = NULL;
	if (fb_json_get_str(e, "root", &s->root, err) < 0 || fb_json_get_strv_opt(e, "args", &s->args, err) < 0 ||
	    fb_json_get_strv_opt(e, "env", &s->env, err) < 0 || fb_json_get_str_opt(e, "user", &s->user, err) < 0 ||
	    fb_json_get_str_opt(e, "workdir", &s->workdir, err) < 0 ||
	    fb_json_get_str_opt(e, "hostname", &s->hostname, err) < 0 ||
	    fb_json_get_str_opt(e, "network", &net, err) < 0 || fb_json_get_int_opt(e, "timeout", &timeout, err) < 0)
		return -1;
	s->net_none = net && !strcmp(net, "none");
	s->timeout = (double)timeout;
	FB_AUTOJV jv ms = fb_json_member(e, "mounts");
	int n = jv_get_kind(ms) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ms)) : 0;
	s->mounts = fb_xcalloc((size_t)n + 1, sizeof(*s->mounts));
	for (int i = 0; i < n; i++) {
		FB_AUTOJV jv m = jv_array_get(jv_copy(ms), i);
		if (decode_mount(m, &s->mounts[s->nmounts++], err) < 0) {
			fb_json_err_in(err, ".mounts[%d]", i);
			return -1;
		}
	}
	return 0;
}

static int take(jv doc, struct fb_doc **out, struct fb_exec_spec *spec, struct fb_err *err)
{
	if (fb_json_is_error_doc(doc)) {
		*out = fb_doc_from_jv(doc);
		return 1;
	}
	if (fb_json_check(doc, &spec_shape, "", err) < 0) {
		jv_free(doc);
		return -1;
	}
	*spec = (struct fb_exec_spec){ .args = FB_STRV_INIT, .env = FB_STRV_INIT };
	FB_AUTOJV jv e = fb_json_member(doc, "exec");
	if (decode(e, spec, err) < 0) {
		fb_json_err_in(err, ".exec");
		fb_exec_spec_free(spec);
		jv_free(doc);
		return -1;
	}
	*out = fb_doc_from_jv(doc);
	return 0;
}

int fb_exec_spec_parse(const char *text, size_t len, struct fb_doc **doc, struct fb_exec_spec *spec, struct fb_err *err)
{
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	return take(v, doc, spec, err);
}

int fb_exec_spec_read(int fd, struct fb_doc **doc, struct fb_exec_spec *spec, struct fb_err *err)
{
	jv v;
	if (fb_json_read_fd(fd, &v, err) < 0)
		return -1;
	return take(v, doc, spec, err);
}

void fb_exec_spec_free(struct fb_exec_spec *s)
{
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].target);
	}
	free(s->mounts);
	free(s->root);
	fb_strv_free(&s->args);
	fb_strv_free(&s->env);
	free(s->user);
	free(s->workdir);
	free(s->hostname);
	*s = (struct fb_exec_spec){ 0 };
}

void fb_exec_result_set(struct fb_doc *doc, const struct fb_exec_result *r)
{
	jv res = jv_object();
	res = jv_object_set(res, jv_string("exit_code"), jv_number(r->exit_code));
	res = jv_object_set(res, jv_string("seconds"), jv_number(r->seconds));
	res = jv_object_set(res, jv_string("timed_out"), jv_bool(r->timed_out));
	if (r->error)
		res = jv_object_set(res, jv_string("error"), jv_string(r->error));
	fb_doc_set(doc, "exec_result", res);
}

char *fb_exec_spec_encode(const struct fb_exec_spec *s)
{
	jv e = jv_object_set(jv_object(), jv_string("root"), fb_jv_str(s->root));
	e = jv_object_set(e, jv_string("args"), fb_jv_strv(s->args.v, s->args.n));
	e = jv_object_set(e, jv_string("env"), fb_jv_strv(s->env.v, s->env.n));
	static const char *const keys[] = { "user", "workdir", "hostname" };
	const char *vals[] = { s->user, s->workdir, s->hostname };
	for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++)
		if (vals[i])
			e = jv_object_set(e, jv_string(keys[i]), jv_string(vals[i]));
	e = jv_object_set(e, jv_string("network"), jv_string(s->net_none ? "none" : "host"));
	if (s->timeout > 0)
		e = jv_object_set(e, jv_string("timeout"), jv_number((double)(long long)s->timeout));
	jv ms = jv_array();
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct fb_exec_mount *m = &s->mounts[i];
		jv o = jv_object_set(jv_object(), jv_string("type"), jv_string(m->type));
		o = jv_object_set(o, jv_string("target"), jv_string(m->target));
		if (m->source)
			o = jv_object_set(o, jv_string("source"), jv_string(m->source));
		o = jv_object_set(o, jv_string("readonly"), jv_bool(m->readonly));
		if (m->size)
			o = jv_object_set(o, jv_string("size"), jv_number((double)m->size));
		ms = jv_array_append(ms, o);
	}
	e = jv_object_set(e, jv_string("mounts"), ms);
	return fb_json_dump(jv_object_set(jv_object(), jv_string("exec"), e), false);
}
