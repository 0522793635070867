/* A VM's state and the documents made of it (state.h). */
#include "state.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "net_doc.h"
#include "util.h"

static const struct fb_jshape any = { .kinds = FB_J_ANY };
static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape int_opt = { .kinds = FB_J_INT | FB_J_NULL };
/* an exit code as a state records it */
static const struct fb_jshape code_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = INT_MIN, .max = INT_MAX };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
static const struct fb_jshape obj_opt = { .kinds = FB_J_OBJECT | FB_J_NULL };
static const struct fb_jfield state_fields[] = {
	FB_OPT("id", &str_opt),
	FB_OPT("image", &str_opt),
	FB_OPT("backend", &str_opt),
	FB_OPT("status", &str_opt),
	FB_OPT("state", &str_opt),
	FB_OPT("pid", &int_opt),
	FB_OPT("supervisor_pid", &int_opt),
	FB_OPT("exit_code", &code_opt),
	FB_OPT("jail_dir", &str_opt),
	FB_OPT("cgroups", &strv_opt),
	FB_OPT("network", &obj_opt),
	FB_OPT("run_cache", &str_opt),
	FB_OPT("jail", &str_opt),
	FB_OPT("jail_uid", &int_opt),
	FB_OPT("jail_gid", &int_opt),
	FB_OPT("console_log", &str_opt),
	FB_OPT("started", &int_opt),
	FB_OPT("daemonized", &bool_opt),
	FB_OPT("kernel", &str_opt),
	FB_OPT("rootfs", &str_opt),
	FB_OPT("config_drive", &str_opt),
	FB_OPT("cpu", &int_opt),
	FB_OPT("mem", &int_opt),
	FB_OPT("accel", &str_opt),
	FB_OPT("api_socket", &str_opt),
	FB_OPT("workload_started", &bool_opt),
	FB_OPT("error", &str_opt),
	FB_OPT("NetworkInterfaces", &any),
	FB_END,
};
static const struct fb_jshape state = { .kinds = FB_J_OBJECT, .fields = state_fields };

void fb_vm_state_free(struct fb_vm_state *s)
{
	if (!s)
		return;
	char **strs[] = { &s->id,     &s->image,	&s->backend, &s->run_cache, &s->jail,	    &s->jail_dir, &s->console_log,
			  &s->kernel, &s->rootfs, &s->config_drive, &s->accel, &s->api_socket, &s->status, &s->error };
	for (size_t i = 0; i < FB_ARRAY_LEN(strs); i++)
		free(*strs[i]);
	fb_strv_free(&s->cgroups);
	fb_network_freep(&s->network);
	*s = (struct fb_vm_state){ 0 };
}

static int decode(jv v, struct fb_vm_state *out, struct fb_err *err);

int fb_vm_state_load(const char *path, struct fb_vm_state *out, struct fb_err *err)
{
	*out = (struct fb_vm_state){ 0 };
	jv v;
	if (fb_json_load(path, &v, err) < 0)
		return -1;
	return decode(v, out, err);
}

int fb_vm_state_parse(const char *text, size_t len, struct fb_vm_state *out, struct fb_err *err)
{
	*out = (struct fb_vm_state){ 0 };
	jv v;
	if (fb_json_parse(text, len, &v, err) < 0)
		return -1;
	return decode(v, out, err);
}

/* Consumes v. */
static int decode(jv v, struct fb_vm_state *out, struct fb_err *err)
{
	int r = fb_json_check(v, &state, "", err);
	jv net = r == 0 ? fb_json_member(v, "network") : jv_null();
	if (r == 0 && jv_get_kind(net) == JV_KIND_OBJECT) {
		out->network = fb_xcalloc(1, sizeof(*out->network));
		r = fb_network_from_jv(net, ".network", false, out->network, err);
	}
	jv_free(net);
	if (r < 0) {
		jv_free(v);
		fb_vm_state_free(out);
		return -1;
	}
	out->id = fb_jv_dup_str(v, "id");
	out->image = fb_jv_dup_str(v, "image");
	out->backend = fb_jv_dup_str(v, "backend");
	out->run_cache = fb_jv_dup_str(v, "run_cache");
	out->jail = fb_jv_dup_str(v, "jail");
	out->jail_dir = fb_jv_dup_str(v, "jail_dir");
	fb_jv_strv_into(v, "cgroups", &out->cgroups);
	jv u = fb_json_member(v, "jail_uid");
	out->jail_ids = jv_get_kind(u) == JV_KIND_NUMBER;
	jv_free(u);
	out->jail_uid = fb_jv_int(v, "jail_uid", 0);
	out->jail_gid = fb_jv_int(v, "jail_gid", 0);
	out->console_log = fb_jv_dup_str(v, "console_log");
	out->started = fb_jv_int(v, "started", 0);
	out->daemonized = fb_jv_bool(v, "daemonized", false);
	out->kernel = fb_jv_dup_str(v, "kernel");
	out->rootfs = fb_jv_dup_str(v, "rootfs");
	out->config_drive = fb_jv_dup_str(v, "config_drive");
	out->cpu = fb_jv_int(v, "cpu", 0);
	out->mem = fb_jv_int(v, "mem", 0);
	out->accel = fb_jv_dup_str(v, "accel");
	out->api_socket = fb_jv_dup_str(v, "api_socket");
	out->pid = fb_jv_int(v, "pid", 0);
	out->supervisor_pid = fb_jv_int(v, "supervisor_pid", 0);
	out->status = fb_jv_dup_str(v, "status");
	out->workload_started = fb_jv_bool(v, "workload_started", false);
	jv ex = fb_json_member(v, "exit_code");
	out->has_exit_code = jv_get_kind(ex) == JV_KIND_NUMBER;
	jv_free(ex);
	out->exit_code = fb_jv_int(v, "exit_code", 0);
	out->error = fb_jv_dup_str(v, "error");
	jv_free(v);
	return 0;
}

static jv to_jv(const struct fb_vm_state *s, const char *status)
{
	jv o = jv_object_set(jv_object(), jv_string("id"), fb_jv_str(s->id));
	o = jv_object_set(o, jv_string("image"), fb_jv_str(s->image));
	o = jv_object_set(o, jv_string("backend"), fb_jv_str(s->backend));
	o = jv_object_set(o, jv_string("run_cache"), fb_jv_str(s->run_cache));
	o = jv_object_set(o, jv_string("jail"), fb_jv_str(s->jail));
	if (s->jail_dir)
		o = jv_object_set(o, jv_string("jail_dir"), jv_string(s->jail_dir));
	if (s->jail_dir || s->cgroups.n)
		o = jv_object_set(o, jv_string("cgroups"), fb_jv_strv(s->cgroups.v, s->cgroups.n));
	if (s->jail_ids) {
		o = jv_object_set(o, jv_string("jail_uid"), jv_number((double)s->jail_uid));
		o = jv_object_set(o, jv_string("jail_gid"), jv_number((double)s->jail_gid));
	}
	o = jv_object_set(o, jv_string("console_log"), fb_jv_str(s->console_log));
	o = jv_object_set(o, jv_string("started"), jv_number((double)s->started));
	o = jv_object_set(o, jv_string("daemonized"), jv_bool(s->daemonized));
	static const char *const keys[] = { "kernel", "rootfs", "config_drive" };
	const char *vals[] = { s->kernel, s->rootfs, s->config_drive };
	for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++)
		if (vals[i])
			o = jv_object_set(o, jv_string(keys[i]), jv_string(vals[i]));
	if (s->cpu)
		o = jv_object_set(o, jv_string("cpu"), jv_number((double)s->cpu));
	if (s->mem)
		o = jv_object_set(o, jv_string("mem"), jv_number((double)s->mem));
	if (s->accel)
		o = jv_object_set(o, jv_string("accel"), jv_string(s->accel));
	if (s->api_socket)
		o = jv_object_set(o, jv_string("api_socket"), jv_string(s->api_socket));
	if (s->network) {
		o = jv_object_set(o, jv_string("network"), fb_network_to_jv(s->network));
		o = jv_object_set(o, jv_string("NetworkInterfaces"), fb_network_interfaces_jv(s->network));
	}
	if (s->pid)
		o = jv_object_set(o, jv_string("pid"), jv_number((double)s->pid));
	if (s->supervisor_pid)
		o = jv_object_set(o, jv_string("supervisor_pid"), jv_number((double)s->supervisor_pid));
	if (s->status)
		o = jv_object_set(o, jv_string("status"), jv_string(s->status));
	if (s->workload_started)
		o = jv_object_set(o, jv_string("workload_started"), jv_true());
	if (s->has_exit_code)
		o = jv_object_set(o, jv_string("exit_code"), jv_number((double)s->exit_code));
	if (s->error)
		o = jv_object_set(o, jv_string("error"), jv_string(s->error));
	if (status)
		o = jv_object_set(o, jv_string("state"), jv_string(status));
	return o;
}

int fb_vm_state_save(const char *path, const struct fb_vm_state *s, bool durable, struct fb_err *err)
{
	return durable ? fb_json_save(path, to_jv(s, NULL), 0600, err) : fb_json_save_scratch(path, to_jv(s, NULL), 0600, err);
}

int fb_vm_jail_record_save(const char *path, const char *jail_dir, char *const *cgroups, size_t n, struct fb_err *err)
{
	jv rec = jv_object_set(jv_object(), jv_string("jail_dir"), jv_string(jail_dir));
	/* not synced: its fsync had waited for the ext4 journal to write the
	 * VM's fresh disk copy out first (5-20 ms before every VMM's exec). A
	 * process's death leaves it whole; a power loss takes the mounts and
	 * cgroups, and the jail directory that stays is also named by a
	 * symbolic link next to it (FB_VM_JAIL_LINK), which the journal keeps
	 * with the directory's own entries, no data to write out */
	const char *slash = strrchr(path, '/');
	char *link = slash ? fb_xasprintf("%.*s/%s", (int)(slash - path), path, FB_VM_JAIL_LINK) : fb_xstrdup(FB_VM_JAIL_LINK);
	unlink(link);
	int r = symlink(jail_dir, link) < 0 ? fb_err_errno(err, errno, "%s", link) : 0;
	free(link);
	if (r < 0)
		return r;
	return fb_json_save_scratch(path, jv_object_set(rec, jv_string("cgroups"), fb_jv_strv(cgroups, n)), 0600, err);
}

void fb_vm_state_encode(struct fb_doc *d, const char *key, const struct fb_vm_state *s, const char *status)
{
	fb_doc_set(d, key, to_jv(s, status));
}

struct fb_doc *fb_vm_state_doc(const struct fb_vm_state *s, const char *status)
{
	return fb_doc_from_jv(to_jv(s, status));
}

struct fb_doc *fb_vm_state_list_doc(const struct fb_vm_state *const *s, char *const *status, size_t n)
{
	jv list = jv_array();
	for (size_t i = 0; i < n; i++)
		list = jv_array_append(list, to_jv(s[i], status ? status[i] : NULL));
	return fb_doc_from_jv(jv_object_set(jv_object(), jv_string("vms"), list));
}

struct fb_doc *fb_vm_stopped_doc(const char *id, bool has_code, long long code)
{
	jv out = jv_object_set(jv_object(), jv_string("id"), fb_jv_str(id));
	out = jv_object_set(out, jv_string("killed"), jv_true());
	out = jv_object_set(out, jv_string("exit_code"), has_code ? jv_number((double)code) : jv_null());
	return fb_doc_from_jv(out);
}

struct fb_doc *fb_vm_purged_doc(char *const *purged, size_t n, char *const *builds, size_t nb)
{
	jv out = jv_object_set(jv_object(), jv_string("purged"), fb_jv_strv(purged, n));
	return fb_doc_from_jv(jv_object_set(out, jv_string("builds"), fb_jv_strv(builds, nb)));
}
