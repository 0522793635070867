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

static const struct fb_jshape any = { .kinds = FB_J_ANY };
static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape bool_opt = { .kinds = FB_J_BOOL | FB_J_NULL };
static const struct fb_jshape int_opt = { .kinds = FB_J_INT | FB_J_NULL };
static const struct fb_jshape num_opt = { .kinds = FB_J_NUMBER | FB_J_NULL };
static const struct fb_jshape obj_opt = { .kinds = FB_J_OBJECT | FB_J_NULL };
/* a line number, a stage index, a count: what an int holds */
static const struct fb_jshape small_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = INT_MAX };
/* a uid or gid */
static const struct fb_jshape id_opt = { .kinds = FB_J_INT | FB_J_NULL, .min = 0, .max = 4294967294.0 };
static const struct fb_jshape strv = { .kinds = FB_J_ARRAY, .items = &str };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };
/* an object of strings (ARG values, cgroup settings) */
static const struct fb_jshape strmap_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .items = &str_opt };

static int check_doc(jv doc, const struct fb_jshape *shape, struct fb_err *err)
{
	return fb_json_check(doc, shape, "", err);
}

/* ---- the plan (docs/plan.md) ---- */

static int from_check(jv v, const char *path, struct fb_err *err)
{
	jv s = fb_json_member(v, "stage"), i = fb_json_member(v, "image");
	bool ok = jv_get_kind(s) == JV_KIND_NUMBER || jv_get_kind(i) == JV_KIND_STRING;
	jv_free(s);
	jv_free(i);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected .stage (a number) or .image (a string)", path);
	return 0;
}

static const struct fb_jfield from_fields[] = {
	OPT("stage", &small_opt),
	OPT("image", &str_opt),
	OPT("name", &any),
	END,
};
static const struct fb_jshape from_opt = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = from_fields, .check = from_check };

static const char *const mount_types[] = { "bind", "cache", "tmpfs", "secret", "ssh", NULL };
static const struct fb_jshape mount_type = { .kinds = FB_J_STRING, .oneof = mount_types };
/* fb-parse writes tmpfs size as written ("10m"); a number is bytes */
static const struct fb_jshape size_opt = { .kinds = FB_J_INT | FB_J_STRING | FB_J_NULL };
static const struct fb_jfield mount_fields[] = {
	REQ("type", &mount_type),
	OPT("target", &str_opt),
	OPT("source", &str_opt),
	OPT("id", &str_opt),
	OPT("env", &str_opt),
	OPT("readonly", &bool_opt),
	OPT("required", &bool_opt),
	OPT("size", &size_opt),
	OPT("uid", &id_opt),
	OPT("gid", &id_opt),
	OPT("from", &from_opt),
	END,
};
static const struct fb_jshape mount = { .kinds = FB_J_OBJECT, .fields = mount_fields };
static const struct fb_jshape mounts_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &mount };

static const struct fb_jfield heredoc_fields[] = {
	REQ("name", &str),
	REQ("body", &str),
	END,
};
static const struct fb_jshape heredoc = { .kinds = FB_J_OBJECT, .fields = heredoc_fields };
static const struct fb_jshape heredocs_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &heredoc };

static const char *const forms[] = { "shell", "exec", NULL };
static const struct fb_jshape form_opt = { .kinds = FB_J_STRING | FB_J_NULL, .oneof = forms };

static const struct fb_jfield run_fields[] = {
	OPT("form", &form_opt),
	REQ("args", &strv),
	OPT("heredocs", &heredocs_opt),
	OPT("mounts", &mounts_opt),
	OPT("network", &str_opt),
	OPT("args_env", &strmap_opt),
	END,
};

/* a COPY/ADD source: {path} or {heredoc, body} */
static int source_check(jv v, const char *path, struct fb_err *err)
{
	jv p = fb_json_member(v, "path"), h = fb_json_member(v, "heredoc"), b = fb_json_member(v, "body");
	bool ok = jv_get_kind(p) == JV_KIND_STRING || (jv_get_kind(h) == JV_KIND_STRING && jv_get_kind(b) == JV_KIND_STRING);
	jv_free(p);
	jv_free(h);
	jv_free(b);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected .path, or .heredoc and .body (strings)", path);
	return 0;
}

static const struct fb_jfield source_fields[] = {
	OPT("path", &str_opt),
	OPT("heredoc", &str_opt),
	OPT("body", &str_opt),
	END,
};
static const struct fb_jshape source = { .kinds = FB_J_OBJECT, .fields = source_fields, .check = source_check };
static const struct fb_jshape sources = { .kinds = FB_J_ARRAY, .items = &source };

static const struct fb_jfield copy_fields[] = {
	REQ("sources", &sources),
	REQ("dest", &str),
	OPT("from", &from_opt),
	OPT("chown", &str_opt),
	OPT("chmod", &str_opt),
	OPT("checksum", &str_opt),
	OPT("parents", &bool_opt),
	OPT("keep_git_dir", &bool_opt),
	OPT("exclude", &strv_opt),
	END,
};

static const struct fb_jfield pair_fields[] = {
	REQ("key", &str),
	REQ("value", &str),
	END,
};
static const struct fb_jshape pair = { .kinds = FB_J_OBJECT, .fields = pair_fields };
static const struct fb_jshape pairs = { .kinds = FB_J_ARRAY, .items = &pair };
static const struct fb_jfield pairs_fields[] = {
	REQ("pairs", &pairs),
	END,
};

static const struct fb_jfield arg_fields[] = {
	REQ("name", &str),
	OPT("value", &str_opt),
	END,
};
static const struct fb_jshape arg = { .kinds = FB_J_OBJECT, .fields = arg_fields };
static const struct fb_jshape args = { .kinds = FB_J_ARRAY, .items = &arg };
static const struct fb_jfield arg_ins_fields[] = {
	REQ("args", &args),
	END,
};

static const struct fb_jfield command_fields[] = {
	OPT("form", &form_opt),
	REQ("args", &strv),
	END,
};

static const struct fb_jfield health_fields[] = {
	OPT("test", &strv_opt),
	OPT("interval", &num_opt),
	OPT("timeout", &num_opt),
	OPT("start_period", &num_opt),
	OPT("start_interval", &num_opt),
	OPT("retries", &int_opt),
	END,
};
static const struct fb_jshape health = { .kinds = FB_J_OBJECT, .fields = health_fields };
static const struct fb_jfield health_ins_fields[] = {
	REQ("healthcheck", &health),
	END,
};

#define ONE_STRING(name, key) static const struct fb_jfield name[] = { REQ(key, &str), END }
ONE_STRING(user_fields, "user");
ONE_STRING(workdir_fields, "path");
ONE_STRING(signal_fields, "signal");
ONE_STRING(maintainer_fields, "maintainer");
ONE_STRING(onbuild_fields, "trigger");

static const struct fb_jfield ports_fields[] = {
	REQ("ports", &strv),
	END,
};
static const struct fb_jfield volume_fields[] = {
	REQ("paths", &strv),
	END,
};

static const struct {
	const char *cmd;
	const struct fb_jfield *fields;
} instructions[] = {
	{ "ADD", copy_fields },	      { "ARG", arg_ins_fields },	 { "CMD", command_fields },
	{ "COPY", copy_fields },      { "ENTRYPOINT", command_fields },	 { "ENV", pairs_fields },
	{ "EXPOSE", ports_fields },   { "HEALTHCHECK", health_ins_fields }, { "LABEL", pairs_fields },
	{ "MAINTAINER", maintainer_fields }, { "ONBUILD", onbuild_fields }, { "RUN", run_fields },
	{ "SHELL", command_fields },  { "STOPSIGNAL", signal_fields },	 { "USER", user_fields },
	{ "VOLUME", volume_fields },  { "WORKDIR", workdir_fields },
};

static const char *const cmds[] = { "ADD",	  "ARG",	 "CMD",	       "COPY",	 "ENTRYPOINT", "ENV",
				    "EXPOSE",	  "HEALTHCHECK", "LABEL",      "MAINTAINER", "ONBUILD", "RUN",
				    "SHELL",	  "STOPSIGNAL",	 "USER",       "VOLUME", "WORKDIR",    NULL };
static const struct fb_jshape cmd_shape = { .kinds = FB_J_STRING, .oneof = cmds };
/* the words the builder expands again once it knows the base's ENV */
static const struct fb_jshape raw_args = { .kinds = FB_J_ARRAY, .items = &str };

/* the members of the instruction's own kind */
static int instruction_check(jv v, const char *path, struct fb_err *err)
{
	jv c = fb_json_member(v, "cmd");
	const struct fb_jfield *fields = NULL;
	for (size_t i = 0; i < FB_ARRAY_LEN(instructions); i++)
		if (!strcmp(jv_string_value(c), instructions[i].cmd))
			fields = instructions[i].fields;
	jv_free(c);
	struct fb_jshape own = { .kinds = FB_J_OBJECT, .fields = fields };
	return fb_json_check(v, &own, path, err);
}

static const struct fb_jfield instruction_fields[] = {
	REQ("cmd", &cmd_shape),
	OPT("line", &small_opt),
	OPT("end_line", &small_opt),
	REQ("original", &str),
	OPT("raw_args", &raw_args),
	END,
};
static const struct fb_jshape instruction = { .kinds = FB_J_OBJECT, .fields = instruction_fields, .check = instruction_check };
static const struct fb_jshape instructions_shape = { .kinds = FB_J_ARRAY, .items = &instruction };

static const char *const base_types[] = { "scratch", "stage", "image", "unresolved", NULL };
static const struct fb_jshape base_type = { .kinds = FB_J_STRING, .oneof = base_types };
static const struct fb_jfield stage_fields[] = {
	OPT("name", &str_opt),
	OPT("base", &str_opt),
	REQ("base_type", &base_type),
	OPT("base_stage", &small_opt),
	OPT("platform", &str_opt),
	OPT("line", &small_opt),
	OPT("needed", &bool_opt),
	REQ("instructions", &instructions_shape),
	END,
};
static const struct fb_jshape stage = { .kinds = FB_J_OBJECT, .fields = stage_fields };
static const struct fb_jshape stages = { .kinds = FB_J_ARRAY, .items = &stage };

static const struct fb_jfield target_fields[] = {
	OPT("index", &small_opt),
	OPT("name", &str_opt),
	END,
};
static const struct fb_jshape target = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = target_fields };

/* What the builder relies on beyond kinds: stages build in order, each
 * from scratch, an image or an earlier stage; the target is one of them. */
static int plan_check(jv plan, const char *path, struct fb_err *err)
{
	jv st = fb_json_member(plan, "stages");
	int n = jv_array_length(jv_copy(st)), ret = 0;
	if (n == 0)
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s.stages: no stages (a plan has one at least)", path);
	for (int i = 0; ret == 0 && i < n; i++) {
		jv s = jv_array_get(jv_copy(st), i);
		jv bt = fb_json_member(s, "base_type"), bs = fb_json_member(s, "base_stage");
		if (!strcmp(jv_string_value(bt), "stage") &&
		    (jv_get_kind(bs) != JV_KIND_NUMBER || jv_number_value(bs) >= (double)i))
			ret = fb_err_set(err, FB_EXIT_USAGE, "invalid",
					 "%s.stages[%d].base_stage: expected the index of an earlier stage (base_type is stage)", path, i);
		jv_free(bt);
		jv_free(bs);
		jv_free(s);
	}
	jv ti = jv_getpath(jv_copy(plan), jv_parse("[\"target\",\"index\"]"));
	if (ret == 0 && jv_get_kind(ti) == JV_KIND_NUMBER && jv_number_value(ti) >= (double)n)
		ret = fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s.target.index: %g is not a stage (the plan has %d)", path,
				 jv_number_value(ti), n);
	jv_free(ti);
	jv_free(st);
	return ret;
}

static const struct fb_jfield plan_fields[] = {
	OPT("file", &str_opt),
	OPT("escape", &str_opt),
	OPT("target", &target),
	REQ("stages", &stages),
	END,
};
static const struct fb_jshape plan = { .kinds = FB_J_OBJECT, .fields = plan_fields, .check = plan_check };

int fb_shape_plan(jv p, const char *path, struct fb_err *err)
{
	return fb_json_check(p, &plan, path, err);
}

/* ---- fb-parse, fb-fetch ---- */

static const struct fb_jfield parse_source_fields[] = {
	REQ("dockerfile", &str),
	OPT("target", &str_opt),
	END,
};
static const struct fb_jshape parse_source = { .kinds = FB_J_OBJECT, .fields = parse_source_fields };
static const struct fb_jfield parse_input_fields[] = {
	REQ("source", &parse_source),
	END,
};
static const struct fb_jshape parse_input = { .kinds = FB_J_OBJECT, .fields = parse_input_fields };

int fb_shape_parse_input(jv doc, struct fb_err *err)
{
	return check_doc(doc, &parse_input, err);
}

static const struct fb_jfield fetch_input_fields[] = {
	REQ("plan", &plan),
	END,
};
static const struct fb_jshape fetch_input = { .kinds = FB_J_OBJECT, .fields = fetch_input_fields };

int fb_shape_fetch_input(jv doc, struct fb_err *err)
{
	return check_doc(doc, &fetch_input, err);
}

/* ---- fb-mkrootfs ---- */

/* .source.temporary is removed after the build: only what fb-fetch source
 * makes (RUN-CACHE/sources/src-XXXXXX) may be named there. */
static int temporary_check(jv v, const char *path, struct fb_err *err)
{
	const char *s = jv_string_value(v);
	const char *last = strrchr(s, '/');
	bool ok = s[0] == '/' && !strstr(s, "/../") && !strstr(s, "/./") && !strstr(s, "//") && last &&
		  !strncmp(last + 1, "src-", 4) && strlen(last + 1) == 10 && last - s >= 8 && !strncmp(last - 8, "/sources", 8);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected a directory RUN-CACHE/sources/src-XXXXXX (fb-fetch source's)",
				  path);
	return 0;
}

static int temporary_opt_check(jv v, const char *path, struct fb_err *err)
{
	return jv_get_kind(v) == JV_KIND_STRING ? temporary_check(v, path, err) : 0;
}
static const struct fb_jshape temporary_opt = { .kinds = FB_J_STRING | FB_J_NULL, .check = temporary_opt_check };

static const struct fb_jfield rootfs_source_fields[] = {
	OPT("context", &str_opt),
	OPT("context_url", &str_opt),
	OPT("dockerignore", &strv_opt),
	OPT("temporary", &temporary_opt),
	END,
};
static const struct fb_jshape rootfs_source = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = rootfs_source_fields };

static int layer_check(jv v, const char *path, struct fb_err *err)
{
	jv d = fb_json_member(v, "digest"), p = fb_json_member(v, "path");
	bool ok = jv_get_kind(d) == JV_KIND_STRING || jv_get_kind(p) == JV_KIND_STRING;
	jv_free(d);
	jv_free(p);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected .digest or .path (a string)", path);
	return 0;
}

static const struct fb_jfield layer_fields[] = {
	OPT("digest", &str_opt),
	OPT("path", &str_opt),
	END,
};
static const struct fb_jshape layer = { .kinds = FB_J_OBJECT, .fields = layer_fields, .check = layer_check };
static const struct fb_jshape layers = { .kinds = FB_J_ARRAY, .items = &layer };
static const struct fb_jfield rootfs_image_fields[] = {
	OPT("store", &str_opt),
	REQ("layers", &layers),
	OPT("config", &obj_opt),
	END,
};
static const struct fb_jshape rootfs_image = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = rootfs_image_fields };

static const struct fb_jfield rootfs_input_fields[] = {
	OPT("plan", &plan),
	OPT("source", &rootfs_source),
	OPT("image", &rootfs_image),
	END,
};
static const struct fb_jshape rootfs_input = { .kinds = FB_J_OBJECT, .fields = rootfs_input_fields };

int fb_shape_rootfs_input(jv doc, struct fb_err *err)
{
	return check_doc(doc, &rootfs_input, err);
}

/* ---- fb-tag put ---- */

static const struct fb_jfield put_rootfs_fields[] = {
	REQ("path", &str),
	END,
};
static const struct fb_jshape put_rootfs = { .kinds = FB_J_OBJECT, .fields = put_rootfs_fields };
static const struct fb_jfield put_layer_fields[] = {
	OPT("digest", &str_opt),
	END,
};
static const struct fb_jshape put_layer = { .kinds = FB_J_OBJECT, .fields = put_layer_fields };
static const struct fb_jshape put_layers = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &put_layer };
static const struct fb_jfield put_image_fields[] = {
	OPT("layers", &put_layers),
	END,
};
static const struct fb_jshape put_image = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = put_image_fields };
static const struct fb_jfield put_input_fields[] = {
	OPT("rootfs", &put_rootfs),
	OPT("image", &put_image),
	END,
};
static const struct fb_jshape put_input = { .kinds = FB_J_OBJECT, .fields = put_input_fields };

int fb_shape_put_input(jv doc, struct fb_err *err)
{
	return check_doc(doc, &put_input, err);
}

/* ---- fb-exec ---- */

static const char *const exec_mount_types[] = { "bind", "tmpfs", NULL };
static const struct fb_jshape exec_mount_type = { .kinds = FB_J_STRING, .oneof = exec_mount_types };
static const struct fb_jfield exec_mount_fields[] = {
	REQ("type", &exec_mount_type),
	REQ("target", &str),
	OPT("source", &str_opt),
	OPT("readonly", &bool_opt),
	OPT("size", &int_opt),
	END,
};
static const struct fb_jshape exec_mount = { .kinds = FB_J_OBJECT, .fields = exec_mount_fields };
static const struct fb_jshape exec_mounts = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &exec_mount };
static const struct fb_jfield exec_fields[] = {
	REQ("root", &str),
	OPT("args", &strv_opt),
	OPT("env", &strv_opt),
	OPT("user", &str_opt),
	OPT("workdir", &str_opt),
	OPT("hostname", &str_opt),
	OPT("network", &str_opt),
	OPT("timeout", &int_opt),
	OPT("mounts", &exec_mounts),
	END,
};
static const struct fb_jshape exec = { .kinds = FB_J_OBJECT, .fields = exec_fields };
static const struct fb_jfield exec_spec_fields[] = {
	REQ("exec", &exec),
	END,
};
static const struct fb_jshape exec_spec = { .kinds = FB_J_OBJECT, .fields = exec_spec_fields };

int fb_shape_exec_spec(jv doc, struct fb_err *err)
{
	return check_doc(doc, &exec_spec, err);
}
