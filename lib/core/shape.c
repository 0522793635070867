#include "shape.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "util.h"

/* ---- the building blocks ---- */

#define OPT(k, s) { .key = (k), .shape = (s) }
#define REQ(k, s) { .key = (k), .shape = (s), .required = true }
#define END { .key = NULL }

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape int_opt = { .kinds = FB_J_INT | FB_J_NULL };
static const struct fb_jshape obj_opt = { .kinds = FB_J_OBJECT | FB_J_NULL };
/* a line number, a stage index, a count: what an int holds */
static const struct fb_jshape small_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = INT_MAX };
/* an exit code as a state records it */
static const struct fb_jshape code_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = INT_MIN, .max = INT_MAX };
/* a uid or gid */
static const struct fb_jshape id_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 4294967294.0 };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
/* an object of strings (ARG values, cgroup settings) */
static const struct fb_jshape strmap_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .items = &str_opt };

static int check_doc(jv doc, const struct fb_jshape *shape, struct fb_err *err)
{
	return fb_json_check(doc, shape, "", err);
}

/* ---- fb-jail ---- */

static const struct fb_jfield iface_fields[] = {
	OPT("name", &str_opt),
	OPT("mac", &str_opt),
	OPT("ip", &str_opt),
	OPT("gateway", &str_opt),
	END,
};
static const struct fb_jshape iface = { .kinds = FB_J_OBJECT, .fields = iface_fields };
static const struct fb_jshape ifaces_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &iface };
static const struct fb_jfield vm_network_fields[] = {
	REQ("netns", &str),
	OPT("name", &str_opt),
	OPT("tap", &str_opt),
	OPT("interfaces", &ifaces_opt),
	END,
};
static const struct fb_jshape vm_network = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = vm_network_fields };
static const struct fb_jfield jail_fields[] = {
	REQ("base", &str),
	OPT("uid", &id_opt),
	OPT("gid", &id_opt),
	OPT("cgroup", &strmap_opt),
	OPT("numa_node", &small_opt),
	END,
};
static const struct fb_jshape jail = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = jail_fields };
static const struct fb_jfield vm_fields[] = {
	REQ("id", &str),
	REQ("run_dir", &str),
	REQ("run_cache", &str),
	REQ("kernel", &str),
	REQ("rootfs", &str),
	REQ("config_drive", &str),
	OPT("kernel_args", &str_opt),
	OPT("cpu", &small_opt),
	OPT("mem", &small_opt),
	OPT("image", &str_opt),
	OPT("daemonize", &bool_opt),
	OPT("remove_after", &bool_opt),
	OPT("stop_timeout", &small_opt),
	OPT("vmm", &str_opt),
	OPT("firecracker_binary", &str_opt),
	OPT("cpu_template", &str_opt),
	OPT("smt", &bool_opt),
	OPT("log_api_calls", &bool_opt),
	OPT("mmds", &obj_opt),
	OPT("jail", &jail),
	OPT("network", &vm_network),
	END,
};
static const struct fb_jshape vm = { .kinds = FB_J_OBJECT, .fields = vm_fields };
static const struct fb_jfield vm_spec_fields[] = {
	REQ("vm", &vm),
	END,
};
static const struct fb_jshape vm_spec = { .kinds = FB_J_OBJECT, .fields = vm_spec_fields };

int fb_shape_vm_spec(jv doc, struct fb_err *err)
{
	return check_doc(doc, &vm_spec, err);
}

static const struct fb_jfield state_network_fields[] = {
	OPT("interfaces", &ifaces_opt),
	END,
};
static const struct fb_jshape state_network = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = state_network_fields };
static const struct fb_jfield state_fields[] = {
	OPT("id", &str_opt),
	OPT("image", &str_opt),
	OPT("backend", &str_opt),
	OPT("status", &str_opt),
	OPT("state", &str_opt),
	OPT("pid", &int_opt),
	OPT("supervisor_pid", &int_opt),
	OPT("exit_code", &code_opt),
	OPT("jail_dir", &str_opt),
	OPT("cgroups", &strv_opt),
	OPT("network", &state_network),
	END,
};
static const struct fb_jshape state = { .kinds = FB_J_OBJECT, .fields = state_fields };

int fb_shape_vm_state(jv st, struct fb_err *err)
{
	return check_doc(st, &state, err);
}
