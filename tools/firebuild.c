/* firebuild: the user's command. It stays thin: it turns a command and its
 * flags into a run of the fb-* tools (found next to this binary or in the
 * install's libexec directory) and lets their document reach stdout. Its
 * flags, the profiles' keys, --help and completion come from one table
 * (firebuild-settings.c). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc.h"
#include "err.h"
#include "ext4img.h"
#include "file.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "profile.h"
#include "settings.h"
#include "store.h"
#include "tool.h"
#include "store.h"
#include "trace.h"
#include "tree.h"
#include "util.h"

#include "firebuild.h"

static int cmd_parse(int argc, char **argv);
static int cmd_image(int argc, char **argv);
static int cmd_exec(int argc, char **argv);
static int cmd_profile_create(int argc, char **argv);
static int cmd_profile_ls(int argc, char **argv);
static int cmd_profile_inspect(int argc, char **argv);
static int cmd_completion(int argc, char **argv);

struct command_entry {
	const char *name;
	enum command id;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command_entry commands[] = {
	{ "parse", C_PARSE, cmd_parse, "parse a Dockerfile into a build plan (fb-parse)" },
	{ "rootfs", C_ROOTFS, cmd_rootfs, "build a tagged root file system from a Dockerfile or an image" },
	{ "baseos", C_BASEOS, cmd_baseos, "build a base OS image from a Dockerfile and tag it for FROM lines" },
	{ "run", C_RUN, cmd_run, "boot a tagged image as a microVM and run its ENTRYPOINT/CMD" },
	{ "ls", C_LS, cmd_ls, "the VMs" },
	{ "inspect", C_INSPECT, cmd_inspect, "a VM's state (--vmm-id)" },
	{ "kill", C_KILL, cmd_kill, "stop a VM cleanly and remove what it held (--vmm-id)" },
	{ "purge", C_PURGE, cmd_purge, "remove what VMs that died left behind" },
	{ "logs", C_LOGS, cmd_logs, "a daemonized VM's console (--vmm-id)" },
	{ "kernel", C_KERNEL, cmd_kernel, "guest kernels in the store: add, ls" },
	{ "image", C_IMAGE, cmd_image, "the store's root file systems: ls, inspect, rm, gc" },
	{ "import", C_IMPORT, cmd_import, "a root file system tarball to a tagged image (docker import)" },
	{ "push", C_PUSH, cmd_push, "push a tagged image to a registry (fb-tag get | fb-fetch push)" },
	{ "exec", C_EXEC, cmd_exec, "run a command in a copy of a tagged image's tree (fb-exec)" },
	{ "profile-create", C_PROFILE_CREATE, cmd_profile_create, "create or --overwrite a profile" },
	{ "profile-ls", C_PROFILE_LS, cmd_profile_ls, "list the profiles" },
	{ "profile-inspect", C_PROFILE_INSPECT, cmd_profile_inspect, "show a profile" },
	{ "completion", C_COMPLETION, cmd_completion, "print the bash completion script: source <(firebuild completion bash)" },
};

static void usage(FILE *f)
{
	fputs("Usage: firebuild [--help] [--version] COMMAND [FLAGS]\n"
	      "Build microVM root file systems from Dockerfiles and images, and run them.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < FB_ARRAY_LEN(commands); i++)
		fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'firebuild COMMAND --help' for the flags of a command. The flags every\n"
	      "command takes may also come before COMMAND.\n\n",
	      f);
	fb_settings_help(f, &firebuild_settings, C_COMMON);
}

/* A flag every command takes, spelt name[0..len), or -1. */
static long common_flag(const char *name, size_t len)
{
	long id = fb_settings_by_flag(&firebuild_settings, C_LS, name, len);
	if (id < 0 || (firebuild_settings.v[id].cmds & C_COMMON) != C_COMMON || id == S_HELP)
		return -1;
	return id;
}

/* Flags every command takes may come before the command: move them after
 * it. Returns the new argv (argv[0] is the command) or NULL on a bad flag. */
static char **hoist_common(int argc, char **argv, int *newc, const char **bad)
{
	int i = 1;
	FB_AUTOFREE char **out = fb_xcalloc((size_t)argc + 1, sizeof(*out));
	int n = 1;
	while (i < argc && !strncmp(argv[i], "--", 2) && argv[i][2]) {
		const char *a = argv[i] + 2;
		size_t len = strcspn(a, "=");
		long id = common_flag(a, len);
		if (id < 0) {
			*bad = argv[i];
			return NULL;
		}
		out[n++] = argv[i++];
		if (fb_settings_takes_value(&firebuild_settings, (size_t)id) && !a[len] && i < argc)
			out[n++] = argv[i++];
	}
	if (i >= argc || argv[i][0] == '-') {
		*bad = i < argc ? argv[i] : NULL;
		return NULL;
	}
	out[0] = argv[i++];
	/* the command's name first, then the hoisted flags, then the rest */
	char **res = fb_xcalloc((size_t)argc + 1, sizeof(*res));
	res[0] = out[0];
	int m = 1;
	for (int k = 1; k < n; k++)
		res[m++] = out[k];
	while (i < argc)
		res[m++] = argv[i++];
	*newc = m;
	return res;
}

/* The path of an fb-* tool: next to us, or in ../libexec/firebuild. */
int tool_path(const char *tool, char *out, size_t len, struct fb_err *err)
{
	return fb_tool_path(tool, out, len, err);
}

int fail(struct fb_err *e)
{
	fb_log_failure(e);
	return e->code ? e->code : 1;
}

/* exec an fb-* tool with argv[1..] after its name */
static int exec_tool(const char *tool, char **args)
{
	char path[PATH_MAX + 64];
	struct fb_err err = { 0 };
	if (tool_path(tool, path, sizeof(path), &err) < 0)
		return fail(&err);
	args[0] = path;
	fb_trace_finish();
	execv(path, args);
	fb_err_errno(&err, errno, "unable to run %s", path);
	fail(&err);
	return 125;
}

/* fb-parse needs no store: the common flags are accepted and dropped. */
static int cmd_parse(int argc, char **argv)
{
	struct fb_strv a = FB_STRV_INIT;
	fb_strv_push(&a, "fb-parse");
	for (int i = 1; i < argc; i++) {
		static const char *const drop[] = { "--profile", "--profile-conf-dir", "--store" };
		bool skip = false;
		for (size_t k = 0; k < FB_ARRAY_LEN(drop) && !skip; k++) {
			size_t l = strlen(drop[k]);
			if (!strncmp(argv[i], drop[k], l) && argv[i][l] == '=')
				skip = true;
			else if (!strcmp(argv[i], drop[k]) && i + 1 < argc)
				skip = true, i++;
		}
		if (!skip)
			fb_strv_push(&a, argv[i]);
	}
	int rc = exec_tool("fb-parse", a.v);
	fb_strv_free(&a);
	return rc;
}

int print_usage(const struct common *co)
{
	fputs(co->usage ? co->usage : "", stdout);
	fputc('\n', stdout);
	fb_settings_help(stdout, &firebuild_settings, CMD(co->cmd));
	return 0; /* stdout is checked at exit */
}

bool parse_flags(struct common *co, int argc, char **argv, unsigned flags, int *rc)
{
	struct fb_err err = { 0 };
	if (fb_opts_parse(&co->o, &firebuild_settings, co->cmd, argc, argv, flags, &err) < 0) {
		*rc = fb_tool_usage_error("%s", err.msg);
		return false;
	}
	if (co->o.help) {
		*rc = print_usage(co);
		return false;
	}
	return true;
}

void common_free(struct common *co)
{
	fb_opts_free(&co->o);
	fb_profile_free(co->prof);
	co->prof = NULL;
	if (co->spool)
		unlink(co->spool);
	free(co->spool);
	co->spool = NULL;
}

const char *co_flag(const struct common *co, enum setting s)
{
	return fb_opts_str(&co->o, s);
}

long long co_int(const struct common *co, enum setting s)
{
	return fb_opts_int(&co->o, s);
}

bool co_bool(const struct common *co, enum setting s)
{
	return fb_opts_bool(&co->o, s);
}

const struct fb_strv *co_list(const struct common *co, enum setting s)
{
	return fb_opts_list(&co->o, s);
}

char *co_setting(const struct common *co, enum setting s)
{
	const char *v = fb_opts_str(&co->o, s);
	if (!v)
		v = fb_profile_str(co->prof, s);
	if (!v)
		v = firebuild_settings.v[s].def;
	return v ? fb_xstrdup(v) : NULL;
}

const struct fb_strv *co_setting_list(const struct common *co, enum setting s)
{
	if (fb_opts_given(&co->o, s))
		return fb_opts_list(&co->o, s);
	return fb_profile_list_of(co->prof, s);
}

char *co_storage_prop(const struct common *co, const char *key)
{
	const char *v = fb_opts_map_get(&co->o, S_PROP_STRING, key);
	if (!v)
		v = fb_profile_map_get(co->prof, S_PROP_STRING, key);
	return v ? fb_xstrdup(v) : NULL;
}

/* BOOL: the flag's, else the named profile's, else false */
static bool co_setting_bool(const struct common *co, enum setting s)
{
	if (fb_opts_given(&co->o, s))
		return fb_opts_bool(&co->o, s);
	const char *v = fb_profile_str(co->prof, s);
	return v && !strcmp(v, "true");
}

/* The profile (if one is named) and the store it, or --store, names. */
int resolve_common(struct common *co, const char *command, char **store, struct fb_err *err)
{
	const char *name = co_flag(co, S_PROFILE);
	if (name && fb_profile_load(&firebuild_settings, co_flag(co, S_PROFILE_DIR), name, &co->prof, err) < 0)
		return -1;
	/* the store: --store, the property flag, the profile's */
	const char *root = co_flag(co, S_STORE);
	FB_AUTOFREE char *prop = root ? NULL : co_storage_prop(co, PROP_ROOTFS_ROOT);
	*store = fb_xstrdup(root ? root : prop ? prop : fb_store_default());
	/* tracing: the flags, else the profile's settings */
	bool on = co_setting_bool(co, S_TRACING), log = co_setting_bool(co, S_TRACING_LOG);
	FB_AUTOFREE char *hp = co_setting(co, S_TRACING_HOST_PORT);
	if (co_bool(co, S_TIMINGS)) {
		char tmpl[] = "/tmp/fb-timings-XXXXXX";
		int fd = mkstemp(tmpl);
		if (fd >= 0) {
			close(fd);
			co->spool = fb_xstrdup(tmpl);
		}
	}
	FB_AUTOFREE char *span = fb_xasprintf("firebuild %s", command);
	fb_trace_configure(span, on ? hp : NULL, log, co->spool);
	return 0;
}

static const char exec_usage[] =
	"Usage: firebuild exec --from=NAME:VERSION [--user U] [--workdir W] [--env K=V]...\n"
	"                      [--network none|host] [--timeout S] -- CMD [ARGS...]\n"
	"Look into a built image: its ext4 is copied out (libext2fs) into a\n"
	"temporary tree in the run cache, CMD runs there under fb-exec (the image's Env, User and\n"
	"WorkingDir apply unless given), and the tree is removed. Changes are thrown\n"
	"away. The copy keeps owners, modes and times; hard links become copies and\n"
	"setuid bits are not kept. Exit status: CMD's (see fb-exec).\n";

static int cmd_exec(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_EXEC, exec_usage);
	int rc;
	if (!parse_flags(&co, argc, argv, FB_OPTS_IN_ORDER, &rc))
		return rc ? 125 : 0; /* 125, as fb-exec's own failures */
	const char *from = co_flag(&co, S_FROM), *user = co_flag(&co, S_X_USER), *workdir = co_flag(&co, S_X_WORKDIR),
		   *network = co_flag(&co, S_X_NETWORK), *timeout = co_flag(&co, S_X_TIMEOUT);
	const struct fb_strv *env = co_list(&co, S_X_ENV);
	rc = 125;
	if (!from || !co.o.nargs) {
		fb_tool_usage_error("exec needs --from=NAME:VERSION and a command after --");
		return rc;
	}
	struct fb_err err = { 0 };
	char *store = NULL;
	if (resolve_common(&co, "exec", &store, &err) < 0) {
		fail(&err);
		goto out;
	}
	/* the image: its rootfs and config */
	char tg[PATH_MAX + 64], ex[PATH_MAX + 64];
	struct fb_buf doc = FB_BUF_INIT;
	int code = 0;
	jv img = jv_invalid();
	char *root = NULL, *tree = NULL;
	if (tool_path("fb-tag", tg, sizeof(tg), &err) < 0 || tool_path("fb-exec", ex, sizeof(ex), &err) < 0) {
		fail(&err);
		goto done;
	}
	char *sarg = fb_xasprintf("--store=%s", store);
	char *targv[] = { tg, sarg, "get", (char *)from, NULL };
	int r = fb_proc_run(targv, NULL, 0, &doc, NULL, &code, &err);
	free(sarg);
	if (r < 0 || code) {
		rc = code ? code : fail(&err);
		goto done;
	}
	jv image = jv_invalid();
	int gr = fb_json_parse(fb_buf_str(&doc), doc.len, &img, &err);
	if (gr == 0) {
		image = fb_json_member(img, "image");
		gr = fb_json_get_str(image, "rootfs", &root, &err);
		jv_free(image);
	}
	if (gr < 0) {
		fail(&err);
		goto done;
	}
	/* the tree: the image's ext4 read with libext2fs into the run cache */
	char *rcflag = co_setting(&co, S_RUN_CACHE);
	char *execs = fb_xasprintf("%s/exec", fb_run_cache(rcflag)), *tmpl = fb_xasprintf("%s/tree-XXXXXX", execs);
	free(rcflag);
	int mr = fb_mkdir_p(execs, 0700, &err) < 0 ? -1 : mkdtemp(tmpl) ? 0 : fb_err_errno(&err, errno, "%s", tmpl);
	free(execs);
	if (mr < 0) {
		free(tmpl);
		fail(&err);
		goto done;
	}
	tree = tmpl;
	if (fb_ext4_extract(root, tree, &err) < 0) {
		fail(&err);
		goto done;
	}
	struct fb_strv a = FB_STRV_INIT;
	fb_strv_push(&a, ex);
	fb_strv_push_owned(&a, fb_xasprintf("--root=%s", tree));
	/* the image's own settings first; flags given here beat them */
	jv cfg = jv_getpath(jv_copy(img), jv_parse("[\"image\",\"config\",\"config\"]"));
	char *cuser = NULL, *cwd = NULL;
	struct fb_strv cenv = FB_STRV_INIT;
	if (jv_get_kind(cfg) == JV_KIND_OBJECT) {
		fb_json_get_str_opt(cfg, "User", &cuser, &err);
		fb_json_get_str_opt(cfg, "WorkingDir", &cwd, &err);
		fb_json_get_strv_opt(cfg, "Env", &cenv, &err);
	}
	jv_free(cfg);
	if (user || (cuser && *cuser))
		fb_strv_push_owned(&a, fb_xasprintf("--user=%s", user ? user : cuser));
	if (workdir || (cwd && *cwd))
		fb_strv_push_owned(&a, fb_xasprintf("--workdir=%s", workdir ? workdir : cwd));
	for (size_t i = 0; i < cenv.n; i++)
		fb_strv_push_owned(&a, fb_xasprintf("--env=%s", cenv.v[i]));
	for (size_t i = 0; i < env->n; i++)
		fb_strv_push_owned(&a, fb_xasprintf("--env=%s", env->v[i]));
	if (network)
		fb_strv_push_owned(&a, fb_xasprintf("--network=%s", network));
	if (timeout)
		fb_strv_push_owned(&a, fb_xasprintf("--timeout=%s", timeout));
	fb_strv_push(&a, "--");
	for (int i = 0; i < co.o.nargs; i++)
		fb_strv_push(&a, co.o.args[i]);
	free(cuser);
	free(cwd);
	fb_strv_free(&cenv);
	/* run it here (not exec): the tree is removed afterwards */
	struct fb_spawn_opts so = { .death_signal = SIGTERM };
	struct fb_proc p;
	int st;
	if (fb_proc_spawn(a.v, &so, &p, &err) < 0 || fb_proc_wait(p.pid, &st, &err) < 0) {
		fail(&err);
		rc = 125;
	} else {
		rc = fb_status_to_exit(st);
	}
	fb_strv_free(&a);
done:
	if (tree && fb_tree_remove(tree) < 0)
		fb_warn("unable to remove %s", tree);
	free(tree);
	free(root);
	if (jv_is_valid(img))
		jv_free(img);
	fb_buf_free(&doc);
	free(store);
out:
	return rc;
}

/* image ls on a terminal: fb-tag's listing as a table for people. */
static int image_table(char **argv)
{
	struct fb_err err = { 0 };
	struct fb_buf out FB_AUTOBUF = FB_BUF_INIT;
	int code = 0;
	if (fb_proc_run(argv, NULL, 0, &out, NULL, &code, &err) < 0)
		return fail(&err);
	if (code)
		return code;
	FB_AUTOJV jv doc = jv_invalid();
	if (fb_json_parse(fb_buf_str(&out), out.len, &doc, &err) < 0)
		return fail(&err);
	FB_AUTOJV jv list = fb_json_member(doc, "images");
	printf("%-40s %-16s %-20s %10s  %s\n", "NAME", "VERSION", "CREATED", "SIZE", "SOURCE");
	int n = jv_get_kind(list) == JV_KIND_ARRAY ? jv_array_length(jv_copy(list)) : 0;
	for (int i = 0; i < n; i++) {
		FB_AUTOJV jv row = jv_array_get(jv_copy(list), i);
		FB_AUTOFREE char *name = NULL, *ver = NULL, *created = NULL, *src = NULL;
		long long size = 0;
		if (fb_json_get_str_opt(row, "name", &name, &err) < 0 || fb_json_get_str_opt(row, "version", &ver, &err) < 0 ||
		    fb_json_get_str_opt(row, "created", &created, &err) < 0 ||
		    fb_json_get_str_opt(row, "source", &src, &err) < 0 || fb_json_get_int_opt(row, "size", &size, &err) < 0) {
			fb_json_err_in(&err, ".images[%d]", i);
			return fail(&err);
		}
		printf("%-40s %-16s %-20s %8lldMB  %s\n", name ? name : "", ver ? ver : "", created ? created : "", size >> 20,
		       src ? src : "");
	}
	return 0;
}

static const char image_usage[] =
	"Usage: firebuild image ls | inspect NAME:VERSION | rm NAME:VERSION | gc [FLAGS]\n"
	"The store's tagged root file systems (fb-tag). ls prints a table on a\n"
	"terminal, JSON otherwise.\n";

static int cmd_image(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_IMAGE, image_usage);
	int rc;
	if (!parse_flags(&co, argc, argv, 0, &rc))
		return rc;
	const char *max_age = co_flag(&co, S_CACHE_MAX_AGE);
	if (!co.o.nargs)
		return fb_tool_usage_error("image needs a subcommand: ls, inspect, rm or gc");
	const char *sub = co.o.args[0];
	if (strcmp(sub, "ls") && strcmp(sub, "inspect") && strcmp(sub, "rm") && strcmp(sub, "gc"))
		return fb_tool_usage_error("unknown image subcommand '%s'", sub);
	struct fb_err err = { 0 };
	FB_AUTOFREE char *store = NULL;
	if (resolve_common(&co, "image", &store, &err) < 0)
		return fail(&err);
	struct fb_strv a = FB_STRV_INIT;
	fb_strv_push(&a, "fb-tag");
	fb_strv_push_owned(&a, fb_xasprintf("--store=%s", store));
	for (int i = 0; i < co.o.nargs; i++)
		fb_strv_push(&a, co.o.args[i]);
	if (max_age && !strcmp(sub, "gc"))
		fb_strv_push_owned(&a, fb_xasprintf("--cache-max-age=%s", max_age));
	if (!strcmp(sub, "ls") && isatty(1)) {
		/* a table for people */
		char path[PATH_MAX + 64];
		if (tool_path("fb-tag", path, sizeof(path), &err) < 0) {
			fb_strv_free(&a);
			return fail(&err);
		}
		free(a.v[0]);
		a.v[0] = fb_xstrdup(path);
		rc = image_table(a.v);
		fb_strv_free(&a);
		return rc;
	}
	rc = exec_tool("fb-tag", a.v);
	fb_strv_free(&a);
	return rc;
}

static const char profile_usage[] =
	"Usage: firebuild profile-create --profile=NAME [FLAGS] [--overwrite]\n"
	"Save the flags every command takes (below: run cache, storage, CNI, jailer,\n"
	"tracing) under a name, with --vmlinux-id ID and --vmm qemu|firecracker; every\n"
	"command then takes --profile=NAME, and a flag given on its command line beats\n"
	"the profile. The directories named by --chroot-base, --run-cache and the\n"
	"rootfs-storage-root and kernel-storage-root properties must exist.\n";

static int cmd_profile_create(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_PROFILE_CREATE, profile_usage);
	int rc;
	if (!parse_flags(&co, argc, argv, FB_OPTS_NO_ARGS, &rc))
		return rc;
	const char *name = co_flag(&co, S_PROFILE), *vmm = co_flag(&co, S_VMM);
	if (!name)
		return fb_tool_usage_error("profile-create needs --profile=NAME");
	if (vmm && strcmp(vmm, "qemu") && strcmp(vmm, "firecracker"))
		return fb_tool_usage_error("--vmm %s: qemu or firecracker", vmm);
	/* the original's rule: the directories it names exist */
	const struct {
		const char *flag, *dir;
	} dirs[] = {
		{ "--chroot-base", co_flag(&co, S_CHROOT_BASE) },
		{ "--run-cache", co_flag(&co, S_RUN_CACHE) },
		{ PROP_ROOTFS_ROOT, fb_opts_map_get(&co.o, S_PROP_STRING, PROP_ROOTFS_ROOT) },
		{ PROP_KERNEL_ROOT, fb_opts_map_get(&co.o, S_PROP_STRING, PROP_KERNEL_ROOT) },
	};
	struct fb_err err = { 0 };
	for (size_t i = 0; i < FB_ARRAY_LEN(dirs); i++) {
		struct stat st;
		if (dirs[i].dir && (stat(dirs[i].dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
			fb_err_set(&err, FB_EXIT_NOTFOUND, "not_found", "%s %s: no such directory (make it first)", dirs[i].flag,
				   dirs[i].dir);
			return fail(&err);
		}
	}
	/* the defaults, and what the flags say */
	struct fb_profile *p FB_AUTOPROFILE = fb_profile_new(&firebuild_settings);
	fb_profile_take(p, &co.o);
	if (fb_profile_save(p, co_flag(&co, S_PROFILE_DIR), name, co_bool(&co, S_OVERWRITE), &err) < 0)
		return fail(&err);
	return fb_doc_finish(fb_profile_doc(p));
}

static int cmd_profile_ls(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_PROFILE_LS, "Usage: firebuild profile-ls [--profile-conf-dir DIR]\n"
								    "The saved profiles' names.\n");
	int rc;
	if (!parse_flags(&co, argc, argv, FB_OPTS_NO_ARGS, &rc))
		return rc;
	struct fb_err err = { 0 };
	struct fb_strv names = FB_STRV_INIT;
	if (fb_profile_list(co_flag(&co, S_PROFILE_DIR), &names, &err) < 0) {
		fb_strv_free(&names);
		return fail(&err);
	}
	struct fb_doc *d = fb_profile_names_doc(&names);
	fb_strv_free(&names);
	return fb_doc_finish(d);
}

static int cmd_profile_inspect(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON =
		COMMON_INIT(C_PROFILE_INSPECT, "Usage: firebuild profile-inspect --profile=NAME [--profile-conf-dir DIR]\n"
					       "The profile's settings (the defaults filled in) as JSON.\n");
	int rc;
	if (!parse_flags(&co, argc, argv, FB_OPTS_NO_ARGS, &rc))
		return rc;
	const char *name = co_flag(&co, S_PROFILE);
	if (!name)
		return fb_tool_usage_error("profile-inspect needs --profile=NAME");
	struct fb_err err = { 0 };
	struct fb_profile *p FB_AUTOPROFILE = NULL;
	if (fb_profile_load(&firebuild_settings, co_flag(&co, S_PROFILE_DIR), name, &p, &err) < 0)
		return fail(&err);
	return fb_doc_finish(fb_profile_doc(p));
}

/* The exit status: the command's, unless what it wrote to stdout did not
 * all get out (a full disk, a closed pipe): then 1, with the reason. */
static int finish(int rc)
{
	struct fb_err err = { 0 };
	if (fb_tool_close_stdout(&err) < 0) {
		fb_log_failure(&err);
		return rc ? rc : FB_EXIT_FAILED;
	}
	return rc;
}

int main(int argc, char **argv)
{
	fb_tool_init("firebuild");
	/* a command for people: its failures are the stderr line (the tools it
	 * runs write their error objects) */
	fb_tool_set_human();
	if (argc < 2) {
		usage(stderr);
		return FB_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return finish(0);
	}
	if (!strcmp(cmd, "--version")) {
		printf("firebuild %s\n", FB_VERSION);
		return finish(0);
	}
	int cargc = argc - 1;
	char **cargv = argv + 1;
	FB_AUTOFREE char **hoisted = NULL;
	if (cmd[0] == '-') {
		const char *bad = NULL;
		hoisted = hoist_common(argc, argv, &cargc, &bad);
		if (!hoisted) {
			if (bad)
				fprintf(stderr, "firebuild: error: unknown flag '%s' (see firebuild --help)\n", bad);
			else
				fprintf(stderr, "firebuild: error: no command after the flags (see firebuild --help)\n");
			return FB_EXIT_USAGE;
		}
		cargv = hoisted;
		cmd = cargv[0];
	}
	for (size_t i = 0; i < FB_ARRAY_LEN(commands); i++)
		if (!strcmp(cmd, commands[i].name))
			return finish(commands[i].run(cargc, cargv));
	fprintf(stderr, "firebuild: error: unknown command '%s' (see firebuild --help)\n", cmd);
	return FB_EXIT_USAGE;
}

/* bash completion: the commands and each command's flags, from the tables
 * above and in firebuild-settings.c (so they never drift from what the
 * commands accept). */
static int cmd_completion(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "bash")) {
		if (argc == 2 && !strcmp(argv[1], "--help")) {
			puts("Usage: firebuild completion bash\n"
			     "Print the bash completion script: source <(firebuild completion bash)");
			return 0;
		}
		return fb_tool_usage_error("completion: only bash is supported (firebuild completion bash)");
	}
	printf("# bash completion for firebuild: source <(firebuild completion bash)\n"
	       "_firebuild() {\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} flags=\n"
	       "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"--help --version");
	for (size_t i = 0; i < FB_ARRAY_LEN(commands); i++)
		printf(" %s", commands[i].name);
	printf("\" -- \"$cur\"))\n"
	       "\t\treturn\n"
	       "\tfi\n"
	       "\tcase \"${COMP_WORDS[1]}\" in\n");
	for (size_t i = 0; i < FB_ARRAY_LEN(commands); i++) {
		struct fb_strv f = FB_STRV_INIT;
		fb_settings_spellings(&firebuild_settings, commands[i].id, &f);
		if (!f.n)
			continue;
		printf("\t%s) flags=\"", commands[i].name);
		for (size_t k = 0; k < f.n; k++)
			printf("%s%s", k ? " " : "", f.v[k]);
		printf("\" ;;\n");
		fb_strv_free(&f);
	}
	printf("\tesac\n"
	       "\tcase \"$cur\" in\n"
	       "\t--*) COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\")) ;;\n"
	       "\t*) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	       "\tesac\n"
	       "}\n"
	       "complete -F _firebuild firebuild\n");
	return 0;
}
