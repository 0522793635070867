/* Firecracker's API bodies (firecracker.h). */
#include "firecracker.h"

#include "err.h"
#include "json.h"
#include "util.h"

static char *dump(jv v)
{
	return fb_json_dump(v, false);
}

static jv obj2(const char *k1, jv v1, const char *k2, jv v2)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string(k1), v1), jv_string(k2), v2);
}

char *fb_fc_logger_body(const char *log_path)
{
	return dump(obj2("log_path", jv_string(log_path), "level", jv_string("Info")));
}

char *fb_fc_metrics_body(const char *metrics_path)
{
	return dump(jv_object_set(jv_object(), jv_string("metrics_path"), jv_string(metrics_path)));
}

char *fb_fc_machine_body(int vcpus, int mem_mib, bool smt, const char *cpu_template)
{
	jv mc = obj2("vcpu_count", jv_number(vcpus), "mem_size_mib", jv_number(mem_mib));
	if (smt)
		mc = jv_object_set(mc, jv_string("smt"), jv_true());
	if (cpu_template)
		mc = jv_object_set(mc, jv_string("cpu_template"), jv_string(cpu_template));
	return dump(mc);
}

char *fb_fc_boot_body(const char *kernel, const char *initrd, const char *boot_args)
{
	jv b = jv_object_set(jv_object(), jv_string("kernel_image_path"), jv_string(kernel));
	if (initrd)
		b = jv_object_set(b, jv_string("initrd_path"), jv_string(initrd));
	return dump(jv_object_set(b, jv_string("boot_args"), jv_string(boot_args)));
}

char *fb_fc_vsock_body(int guest_cid, const char *uds_path)
{
	return dump(obj2("guest_cid", jv_number(guest_cid), "uds_path", jv_string(uds_path)));
}

char *fb_fc_drive_body(const char *id, const char *path, bool root, bool read_only)
{
	jv d = obj2("drive_id", jv_string(id), "path_on_host", jv_string(path));
	return dump(jv_object_set(jv_object_set(d, jv_string("is_root_device"), jv_bool(root)), jv_string("is_read_only"),
				  jv_bool(read_only)));
}

char *fb_fc_iface_body(const char *iface, const char *tap, const char *mac)
{
	jv ni = obj2("iface_id", jv_string(iface), "host_dev_name", jv_string(tap));
	return dump(jv_object_set(ni, jv_string("guest_mac"), jv_string(mac)));
}

char *fb_fc_mmds_config_body(const char *iface)
{
	return dump(obj2("version", jv_string("V2"), "network_interfaces", jv_array_append(jv_array(), jv_string(iface))));
}

char *fb_fc_action_body(const char *action)
{
	return dump(jv_object_set(jv_object(), jv_string("action_type"), jv_string(action)));
}

char *fb_fc_fault_message(const char *body, size_t len)
{
	jv doc;
	struct fb_err pe = { 0 };
	if (!len || fb_json_parse(body, len, &doc, &pe) < 0)
		return NULL;
	jv m = fb_json_member(doc, "fault_message");
	char *r = jv_get_kind(m) == JV_KIND_STRING ? fb_xstrdup(jv_string_value(m)) : NULL;
	jv_free(m);
	jv_free(doc);
	return r;
}
