/* The VM spec and what a VM takes of the image document (spec.h). */
#include "spec.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "doc_codec.h"
#include "drive_doc.h"
#include "err.h"
#include "json.h"
#include "net_doc.h"
#include "util.h"

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape small_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = INT_MAX };
static const struct fb_jshape id_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 4294967294.0 };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
static const struct fb_jshape strmap_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .items = &str_opt };
static const struct fb_jshape mmds_opt = { .kinds = FB_J_OBJECT | FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape obj_opt = { .kinds = FB_J_OBJECT | FB_J_NULL };

static const struct fb_jfield jail_fields[] = {
	FB_REQ("base", &str),
	FB_OPT("uid", &id_opt),
	FB_OPT("gid", &id_opt),
	FB_OPT("cgroup", &strmap_opt),
	FB_OPT("numa_node", &small_opt),
	FB_END,
};
static const struct fb_jshape jail = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = jail_fields };
/* .network and .config: checked by their codecs, after these */
static const struct fb_jfield vm_fields[] = {
	FB_REQ("id", &str),
	FB_REQ("run_dir", &str),
	FB_REQ("run_cache", &str),
	FB_REQ("kernel", &str),
	FB_REQ("rootfs", &str),
	FB_REQ("config_drive", &str),
	FB_OPT("kernel_args", &str_opt),
	FB_OPT("cpu", &small_opt),
	FB_OPT("mem", &small_opt),
	FB_OPT("image", &str_opt),
	FB_OPT("daemonize", &bool_opt),
	FB_OPT("remove_after", &bool_opt),
	FB_OPT("stop_timeout", &small_opt),
	FB_OPT("vmm", &str_opt),
	FB_OPT("firecracker_binary", &str_opt),
	FB_OPT("cpu_template", &str_opt),
	FB_OPT("smt", &bool_opt),
	FB_OPT("log_api_calls", &bool_opt),
	FB_OPT("mmds", &mmds_opt),
	FB_OPT("jail", &jail),
	FB_OPT("network", &obj_opt),
	FB_OPT("config", &obj_opt),
	FB_END,
};
static const struct fb_jshape vm = { .kinds = FB_J_OBJECT, .fields = vm_fields };
static const struct fb_jfield spec_fields[] = {
	FB_REQ("vm", &vm),
	FB_END,
};
static const struct fb_jshape spec = { .kinds = FB_J_OBJECT, .fields = spec_fields };
static const struct fb_jshape object = { .kinds = FB_J_OBJECT };

void fb_vm_spec_free(struct fb_vm_spec *s)
{
	if (!s)
		return;
	char **strs[] = { &s->id,    &s->run_dir, &s->run_cache, &s->kernel,		 &s->rootfs,	   &s->config_drive,
			  &s->kernel_args, &s->image, &s->vmm,	     &s->firecracker_binary, &s->cpu_template, &s->mmds_json };
	for (size_t i = 0; i < FB_ARRAY_LEN(strs); i++)
		free(*strs[i]);
	if (s->jail) {
		free(s->jail->base);
		for (size_t i = 0; i < s->jail->ncgroup; i++) {
			free(s->jail->cgroup[i].file);
			free(s->jail->cgroup[i].value);
		}
		free(s->jail->cgroup);
		free(s->jail);
	}
	fb_network_freep(&s->network);
	if (s->config) {
		fb_drive_config_free(s->config);
		free(s->config);
	}
	*s = (struct fb_vm_spec){ 0 };
}

static void decode_jail(jv j, struct fb_vm_jail_spec *o)
{
	o->base = fb_jv_dup_str(j, "base");
	o->uid = fb_jv_int(j, "uid", 0);
	o->gid = fb_jv_int(j, "gid", 0);
	o->numa_node = fb_jv_int(j, "numa_node", -1);
	jv cg = fb_json_member(j, "cgroup");
	if (jv_get_kind(cg) == JV_KIND_OBJECT) {
		o->cgroup = fb_xcalloc((size_t)jv_object_length(jv_copy(cg)) + 1, sizeof(*o->cgroup));
		jv_object_foreach(cg, k, v)
		{
			o->cgroup[o->ncgroup++] = (struct fb_vm_setting){
				fb_xstrdup(jv_string_value(k)), jv_get_kind(v) == JV_KIND_STRING ? fb_xstrdup(jv_string_value(v)) : NULL
			};
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(cg);
}

int fb_vm_spec_decode(const struct fb_doc *d, struct fb_vm_spec *out, struct fb_err *err)
{
	*out = (struct fb_vm_spec){ .cpu = 1, .mem = 128, .stop_timeout = 10 };
	jv doc = fb_doc_jv(d);
	int r = fb_json_check(doc, &spec, "", err);
	jv v = fb_json_member(doc, "vm");
	jv_free(doc);
	jv net = r == 0 ? fb_json_member(v, "network") : jv_null();
	jv cfg = r == 0 ? fb_json_member(v, "config") : jv_null();
	if (r == 0 && jv_get_kind(net) == JV_KIND_OBJECT) {
		out->network = fb_xcalloc(1, sizeof(*out->network));
		r = fb_network_from_jv(net, ".vm.network", true, out->network, err);
	}
	if (r == 0 && jv_get_kind(cfg) == JV_KIND_OBJECT) {
		out->config = fb_xcalloc(1, sizeof(*out->config));
		r = fb_drive_from_jv(cfg, ".vm.config", out->config, err);
	}
	jv_free(net);
	jv_free(cfg);
	if (r < 0) {
		jv_free(v);
		fb_vm_spec_free(out);
		return -1;
	}
	out->id = fb_jv_dup_str(v, "id");
	out->run_dir = fb_jv_dup_str(v, "run_dir");
	out->run_cache = fb_jv_dup_str(v, "run_cache");
	out->kernel = fb_jv_dup_str(v, "kernel");
	out->rootfs = fb_jv_dup_str(v, "rootfs");
	out->config_drive = fb_jv_dup_str(v, "config_drive");
	out->kernel_args = fb_jv_dup_str(v, "kernel_args");
	out->image = fb_jv_dup_str(v, "image");
	out->cpu = fb_jv_int(v, "cpu", 1);
	out->mem = fb_jv_int(v, "mem", 128);
	out->stop_timeout = fb_jv_int(v, "stop_timeout", 10);
	out->daemonize = fb_jv_bool(v, "daemonize", false);
	out->remove_after = fb_jv_bool(v, "remove_after", false);
	out->vmm = fb_jv_dup_str(v, "vmm");
	out->firecracker_binary = fb_jv_dup_str(v, "firecracker_binary");
	out->cpu_template = fb_jv_dup_str(v, "cpu_template");
	out->smt = fb_jv_bool(v, "smt", false);
	out->log_api_calls = fb_jv_bool(v, "log_api_calls", false);
	jv m = fb_json_member(v, "mmds");
	if (jv_get_kind(m) == JV_KIND_OBJECT) {
		out->mmds = FB_MMDS_GIVEN;
		out->mmds_json = fb_json_dump(jv_copy(m), false);
	} else {
		out->mmds = jv_get_kind(m) == JV_KIND_TRUE ? FB_MMDS_VM : FB_MMDS_NONE;
	}
	jv_free(m);
	jv j = fb_json_member(v, "jail");
	if (jv_get_kind(j) == JV_KIND_OBJECT) {
		out->jail = fb_xcalloc(1, sizeof(*out->jail));
		decode_jail(j, out->jail);
	}
	jv_free(j);
	jv_free(v);
	return 0;
}

void fb_vm_spec_encode(struct fb_doc *d, const struct fb_vm_spec *s)
{
	jv o = jv_object_set(jv_object(), jv_string("id"), fb_jv_str(s->id));
	o = jv_object_set(o, jv_string("run_dir"), fb_jv_str(s->run_dir));
	o = jv_object_set(o, jv_string("run_cache"), fb_jv_str(s->run_cache));
	if (s->image)
		o = jv_object_set(o, jv_string("image"), jv_string(s->image));
	o = jv_object_set(o, jv_string("kernel"), fb_jv_str(s->kernel));
	o = jv_object_set(o, jv_string("rootfs"), fb_jv_str(s->rootfs));
	o = jv_object_set(o, jv_string("config_drive"), fb_jv_str(s->config_drive));
	o = jv_object_set(o, jv_string("cpu"), jv_number((double)s->cpu));
	o = jv_object_set(o, jv_string("mem"), jv_number((double)s->mem));
	if (s->kernel_args)
		o = jv_object_set(o, jv_string("kernel_args"), jv_string(s->kernel_args));
	o = jv_object_set(o, jv_string("daemonize"), jv_bool(s->daemonize));
	o = jv_object_set(o, jv_string("stop_timeout"), jv_number((double)s->stop_timeout));
	o = jv_object_set(o, jv_string("remove_after"), jv_bool(s->remove_after));
	if (s->network)
		o = jv_object_set(o, jv_string("network"), fb_network_to_jv(s->network));
	if (s->vmm)
		o = jv_object_set(o, jv_string("vmm"), jv_string(s->vmm));
	if (s->firecracker_binary)
		o = jv_object_set(o, jv_string("firecracker_binary"), jv_string(s->firecracker_binary));
	if (s->cpu_template)
		o = jv_object_set(o, jv_string("cpu_template"), jv_string(s->cpu_template));
	if (s->smt)
		o = jv_object_set(o, jv_string("smt"), jv_true());
	if (s->log_api_calls)
		o = jv_object_set(o, jv_string("log_api_calls"), jv_true());
	if (s->mmds == FB_MMDS_VM)
		o = jv_object_set(o, jv_string("mmds"), jv_true());
	else if (s->mmds == FB_MMDS_GIVEN && s->mmds_json)
		o = jv_object_set(o, jv_string("mmds"), jv_parse(s->mmds_json));
	if (s->jail) {
		jv j = jv_object_set(jv_object(), jv_string("base"), fb_jv_str(s->jail->base));
		j = jv_object_set(j, jv_string("uid"), jv_number((double)s->jail->uid));
		j = jv_object_set(j, jv_string("gid"), jv_number((double)s->jail->gid));
		if (s->jail->numa_node >= 0)
			j = jv_object_set(j, jv_string("numa_node"), jv_number((double)s->jail->numa_node));
		jv cg = jv_object();
		for (size_t i = 0; i < s->jail->ncgroup; i++)
			cg = jv_object_set(cg, jv_string(s->jail->cgroup[i].file), fb_jv_str(s->jail->cgroup[i].value));
		o = jv_object_set(o, jv_string("jail"), jv_object_set(j, jv_string("cgroup"), cg));
	}
	if (s->config)
		o = jv_object_set(o, jv_string("config"), fb_drive_to_jv(s->config, NULL, false));
	fb_doc_set(d, "vm", o);
}

static int take(jv v, bool empty_ok, struct fb_doc **out, struct fb_err *err)
{
	if (!jv_is_valid(v) && empty_ok) {
		jv_free(v);
		*out = fb_doc_new();
		return 0;
	}
	int r = fb_json_check(v, &object, "", err);
	if (r < 0) {
		jv_free(v);
		return -1;
	}
	*out = fb_doc_from_jv(v);
	return 0;
}

int fb_vm_doc_read(int fd, bool empty_ok, struct fb_doc **out, struct fb_err *err)
{
	jv v;
	if ((empty_ok ? fb_json_read_fd_opt(fd, &v, err) : fb_json_read_fd(fd, &v, err)) < 0)
		return -1;
	return take(v, empty_ok, out, err);
}

int fb_vm_doc_parse(const char *text, size_t len, struct fb_doc **out, struct fb_err *err)
{
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	return take(v, false, out, err);
}

int fb_vm_doc_load(const char *path, struct fb_doc **out, struct fb_err *err)
{
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	return take(v, false, out, err);
}

int fb_vm_doc_write(const struct fb_doc *d, struct fb_err *err)
{
	return fb_json_write_stdout(fb_doc_jv(d), err);
}

/* ---- the image document, as a VM reads it ---- */

static const struct fb_jfield run_config_fields[] = {
	FB_OPT("Env", &strv_opt),
	FB_OPT("Entrypoint", &strv_opt),
	FB_OPT("Cmd", &strv_opt),
	FB_OPT("User", &str_opt),
	FB_OPT("WorkingDir", &str_opt),
	FB_OPT("StopSignal", &str_opt),
	FB_END,
};
static const struct fb_jshape run_config = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = run_config_fields };
static const struct fb_jfield oci_config_fields[] = {
	FB_OPT("config", &run_config),
	FB_END,
};
static const struct fb_jshape oci_config = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = oci_config_fields };
static const struct fb_jfield image_fields[] = {
	FB_REQ("name", &str),
	FB_REQ("version", &str),
	FB_REQ("rootfs", &str),
	FB_OPT("config", &oci_config),
	FB_END,
};
static const struct fb_jshape image = { .kinds = FB_J_OBJECT, .fields = image_fields };
static const struct fb_jfield image_doc_fields[] = {
	FB_REQ("image", &image),
	FB_END,
};
static const struct fb_jshape image_doc = { .kinds = FB_J_OBJECT, .fields = image_doc_fields };

void fb_vm_image_free(struct fb_vm_image *i)
{
	if (!i)
		return;
	free(i->name);
	free(i->version);
	free(i->rootfs);
	fb_strv_free(&i->env);
	fb_strv_free(&i->entrypoint);
	fb_strv_free(&i->cmd);
	free(i->user);
	free(i->workdir);
	free(i->stop_signal);
	*i = (struct fb_vm_image){ 0 };
}

int fb_vm_image_decode(const struct fb_doc *d, struct fb_vm_image *out, struct fb_err *err)
{
	*out = (struct fb_vm_image){ 0 };
	jv doc = fb_doc_jv(d);
	if (fb_json_check(doc, &image_doc, "", err) < 0) {
		jv_free(doc);
		return -1;
	}
	jv img = fb_json_member(doc, "image");
	jv_free(doc);
	out->name = fb_jv_dup_str(img, "name");
	out->version = fb_jv_dup_str(img, "version");
	out->rootfs = fb_jv_dup_str(img, "rootfs");
	jv oci = fb_json_member(img, "config");
	jv cfg = fb_json_member(oci, "config");
	fb_jv_strv_into(cfg, "Env", &out->env);
	fb_jv_strv_into(cfg, "Entrypoint", &out->entrypoint);
	fb_jv_strv_into(cfg, "Cmd", &out->cmd);
	out->user = fb_jv_dup_str(cfg, "User");
	out->workdir = fb_jv_dup_str(cfg, "WorkingDir");
	out->stop_signal = fb_jv_dup_str(cfg, "StopSignal");
	jv_free(cfg);
	jv_free(oci);
	jv_free(img);
	return 0;
}
