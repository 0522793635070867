/* firebuild: the user's command. It stays thin: it turns a command and its
 * flags into a run of the fb-* tools (found next to this binary or in the
 * install's libexec directory) and lets their document reach stdout. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "profile.h"
#include "tool.h"
#include "util.h"

#include "firebuild.h"

static int cmd_parse(int argc, char **argv);
static int cmd_image(int argc, char **argv);
static int cmd_exec(int argc, char **argv);
static int cmd_profile_create(int argc, char **argv);
static int cmd_profile_ls(int argc, char **argv);
static int cmd_profile_inspect(int argc, char **argv);
static int cmd_completion(int argc, char **argv);

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "parse", cmd_parse, "parse a Dockerfile into a build plan (fb-parse)" },
	{ "rootfs", cmd_rootfs, "build a tagged root file system from a Dockerfile or an image" },
	{ "baseos", cmd_baseos, "build a base OS image from a Dockerfile and tag it for FROM lines" },
	{ "run", cmd_run, "boot a tagged image as a microVM and run its ENTRYPOINT/CMD" },
	{ "ls", cmd_ls, "the VMs" },
	{ "inspect", cmd_inspect, "a VM's state (--vmm-id)" },
	{ "kill", cmd_kill, "stop a VM cleanly and remove what it held (--vmm-id)" },
	{ "purge", cmd_purge, "remove what VMs that died left behind" },
	{ "logs", cmd_logs, "a daemonized VM's console (--vmm-id)" },
	{ "kernel", cmd_kernel, "guest kernels in the store: add, ls" },
	{ "image", cmd_image, "the store's root file systems: ls, inspect, rm, gc" },
	{ "import", cmd_import, "a root file system tarball to a tagged image (docker import)" },
	{ "exec", cmd_exec, "run a command in a copy of a tagged image's tree (fb-exec)" },
	{ "profile-create", cmd_profile_create, "create or --overwrite a profile" },
	{ "profile-ls", cmd_profile_ls, "list the profiles" },
	{ "profile-inspect", cmd_profile_inspect, "show a profile" },
	{ "completion", cmd_completion, "print the bash completion script: source <(firebuild completion bash)" },
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
	fputs("\nRun 'firebuild COMMAND --help' for the flags of a command.\n", f);
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
	execv(path, args);
	fb_err_errno(&err, errno, "unable to run %s", path);
	return fail(&err) == 0 ? 125 : 125;
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

int common_opt(int c, struct common *co, int *exit_now)
{
	switch (c) {
	case O_PROFILE:
		co->profile = optarg;
		return 1;
	case O_PROFILE_DIR:
		co->profile_dir = optarg;
		return 1;
	case O_STORE:
		co->store = optarg;
		return 1;
	case O_LOG_FORMAT:
		if (fb_log_set_format(optarg) < 0)
			*exit_now = fb_tool_usage_error("--log-format: expected json or text, got '%s'", optarg);
		else
			setenv("FB_LOG_FORMAT", optarg, 1);
		return 1;
	}
	return 0;
}

/* The profile (or the defaults) and the store it, or --store, names. */
int resolve_common(struct common *co, char **store, struct fb_err *err)
{
	if (co->profile) {
		if (fb_profile_load(co->profile_dir, co->profile, &co->prof, err) < 0)
			return -1;
	} else {
		co->prof = fb_profile_defaults();
	}
	jv sp = jv_object_get(jv_copy(co->prof), jv_string("storage_provider"));
	bool dir = jv_get_kind(sp) != JV_KIND_STRING || !strcmp(jv_string_value(sp), "directory");
	jv_free(sp);
	if (!dir)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "profile %s: the only storage provider is \"directory\"",
				  co->profile);
	*store = co->store ? fb_xstrdup(co->store) : fb_profile_store(co->prof);
	return 0;
}

static const char exec_usage[] =
	"Usage: firebuild exec --from=NAME:VERSION [--user U] [--workdir W] [--env K=V]...\n"
	"                      [--network none|host] [--timeout S] -- CMD [ARGS...]\n"
	"Look into a built image: its ext4 is unpacked (debugfs rdump) into a\n"
	"temporary tree, CMD runs there under fb-exec (the image's Env, User and\n"
	"WorkingDir apply unless given), and the tree is removed. Changes are thrown\n"
	"away. The copy keeps owners, modes and times; hard links become copies and\n"
	"setuid bits are not kept. Exit status: CMD's (see fb-exec).\n"
	"  --profile NAME, --profile-conf-dir DIR, --store DIR, --log-format FORMAT\n";

static int cmd_exec(int argc, char **argv)
{
	enum { X_FROM = 0x3000, X_USER, X_WORKDIR, X_ENV, X_NETWORK, X_TIMEOUT };
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "from", required_argument, NULL, X_FROM },
		{ "user", required_argument, NULL, X_USER },
		{ "workdir", required_argument, NULL, X_WORKDIR },
		{ "env", required_argument, NULL, X_ENV },
		{ "network", required_argument, NULL, X_NETWORK },
		{ "timeout", required_argument, NULL, X_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = { .prof = jv_invalid() };
	const char *from = NULL, *user = NULL, *workdir = NULL, *network = NULL, *timeout = NULL;
	struct fb_strv env = FB_STRV_INIT;
	int c, exit_now = -1, rc = 125;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now ? 125 : 0;
				goto out;
			}
			continue;
		}
		switch (c) {
		case O_HELP: fputs(exec_usage, stdout); rc = 0; goto out;
		case X_FROM: from = optarg; break;
		case X_USER: user = optarg; break;
		case X_WORKDIR: workdir = optarg; break;
		case X_ENV: fb_strv_push(&env, optarg); break;
		case X_NETWORK: network = optarg; break;
		case X_TIMEOUT: timeout = optarg; break;
		default: goto out;
		}
	}
	if (!from || optind >= argc) {
		fb_tool_usage_error("exec needs --from=NAME:VERSION and a command after --");
		goto out;
	}
	struct fb_err err = { 0 };
	char *store = NULL;
	if (resolve_common(&co, &store, &err) < 0) {
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
	if (fb_json_parse(fb_buf_str(&doc), doc.len, &img, &err) < 0 ||
	    fb_json_get_str(jv_object_get(jv_copy(img), jv_string("image")), "rootfs", &root, &err) < 0) {
		fail(&err);
		goto done;
	}
	char tmpl[] = "/tmp/fb-exec-tree-XXXXXX";
	if (!mkdtemp(tmpl)) {
		fb_err_errno(&err, errno, "mkdtemp");
		fail(&err);
		goto done;
	}
	tree = fb_xstrdup(tmpl);
	char *req = fb_xasprintf("rdump / %s", tree);
	char *dargv[] = { "debugfs", "-R", req, root, NULL };
	struct fb_buf derr = FB_BUF_INIT;
	r = fb_proc_run(dargv, NULL, 0, NULL, &derr, &code, &err);
	free(req);
	fb_buf_free(&derr);
	if (r < 0 || code) {
		fb_err_set(&err, FB_EXIT_FAILED, "ext4", "unpack %s failed", root);
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
	for (size_t i = 0; i < env.n; i++)
		fb_strv_push_owned(&a, fb_xasprintf("--env=%s", env.v[i]));
	if (network)
		fb_strv_push_owned(&a, fb_xasprintf("--network=%s", network));
	if (timeout)
		fb_strv_push_owned(&a, fb_xasprintf("--timeout=%s", timeout));
	fb_strv_push(&a, "--");
	for (int i = optind; i < argc; i++)
		fb_strv_push(&a, argv[i]);
	free(cuser);
	free(cwd);
	fb_strv_free(&cenv);
	/* run it here (not exec): the tree is removed afterwards */
	struct fb_spawn_opts so = { 0 };
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
	if (tree) {
		char *rmargv[] = { "rm", "-rf", "--one-file-system", tree, NULL };
		int rcode;
		struct fb_err e2 = { 0 };
		fb_proc_run(rmargv, NULL, 0, NULL, NULL, &rcode, &e2);
	}
	free(tree);
	free(root);
	if (jv_is_valid(img))
		jv_free(img);
	fb_buf_free(&doc);
	free(store);
out:
	fb_strv_free(&env);
	if (jv_is_valid(co.prof))
		jv_free(co.prof);
	return rc;
}

static const char image_usage[] =
	"Usage: firebuild image ls | inspect NAME:VERSION | rm NAME:VERSION | gc [FLAGS]\n"
	"The store's tagged root file systems (fb-tag). ls prints a table on a\n"
	"terminal, JSON otherwise. gc --cache-max-age=D also drops build cache\n"
	"entries unused for D (default 168h; 0: all).\n"
	"  --profile NAME, --profile-conf-dir DIR, --store DIR, --log-format FORMAT\n";

static int cmd_image(int argc, char **argv)
{
	enum { I_CACHE_MAX_AGE = 0x3900 };
	static const struct option opts[] = { COMMON_OPTS, { "cache-max-age", required_argument, NULL, I_CACHE_MAX_AGE },
					      { NULL, 0, NULL, 0 } };
	const char *max_age = NULL;
	struct common co = { .prof = jv_invalid() };
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		if (c == O_HELP) {
			fputs(image_usage, stdout);
			return 0;
		}
		if (c == I_CACHE_MAX_AGE) {
			max_age = optarg;
			continue;
		}
		return FB_EXIT_USAGE;
	}
	if (optind >= argc)
		return fb_tool_usage_error("image needs a subcommand: ls, inspect, rm or gc");
	const char *sub = argv[optind];
	if (strcmp(sub, "ls") && strcmp(sub, "inspect") && strcmp(sub, "rm") && strcmp(sub, "gc"))
		return fb_tool_usage_error("unknown image subcommand '%s'", sub);
	struct fb_err err = { 0 };
	char *store = NULL;
	if (resolve_common(&co, &store, &err) < 0) {
		if (jv_is_valid(co.prof))
			jv_free(co.prof);
		return fail(&err);
	}
	jv_free(co.prof);
	struct fb_strv a = FB_STRV_INIT;
	fb_strv_push(&a, "fb-tag");
	fb_strv_push_owned(&a, fb_xasprintf("--store=%s", store));
	free(store);
	for (int i = optind; i < argc; i++)
		fb_strv_push(&a, argv[i]);
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
		struct fb_buf out = FB_BUF_INIT;
		int code = 0;
		jv doc;
		if (fb_proc_run(a.v, NULL, 0, &out, NULL, &code, &err) < 0 || code != 0 ||
		    fb_json_parse(fb_buf_str(&out), out.len, &doc, &err) < 0) {
			fb_strv_free(&a);
			fb_buf_free(&out);
			return code ? code : fail(&err);
		}
		printf("%-40s %-16s %-20s %10s  %s\n", "NAME", "VERSION", "CREATED", "SIZE", "SOURCE");
		jv list = jv_object_get(doc, jv_string("images"));
		jv_array_foreach(list, i, row)
		{
			char *name = NULL, *ver = NULL, *created = NULL, *src = NULL;
			long long size = 0;
			fb_json_get_str_opt(row, "name", &name, &err);
			fb_json_get_str_opt(row, "version", &ver, &err);
			fb_json_get_str_opt(row, "created", &created, &err);
			fb_json_get_str_opt(row, "source", &src, &err);
			fb_json_get_int_opt(row, "size", &size, &err);
			printf("%-40s %-16s %-20s %8lldMB  %s\n", name ? name : "", ver ? ver : "", created ? created : "",
			       size >> 20, src ? src : "");
			free(name), free(ver), free(created), free(src);
			jv_free(row);
			(void)i;
		}
		jv_free(list);
		fb_strv_free(&a);
		fb_buf_free(&out);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	rc = exec_tool("fb-tag", a.v);
	fb_strv_free(&a);
	return rc;
}

static const char profile_usage[] =
	"Usage: firebuild profile-create --profile=NAME [FLAGS] [--overwrite]\n"
	"Save defaults under a name; every command takes --profile=NAME, and a flag\n"
	"given on the command line beats the profile.\n"
	"  --run-cache DIR                       (/var/lib/firebuild)\n"
	"  --storage-provider directory\n"
	"  --storage-provider-property-string K=V   rootfs-storage-root=DIR, kernel-storage-root=DIR\n"
	"  --storage-provider-property-int64 K=N\n"
	"  --binary-firecracker PATH, --binary-jailer PATH, --chroot-base DIR (/srv/jailer)\n"
	"  --cni-bin-dir DIR, --cni-conf-dir DIR, --cni-cache-dir DIR\n"
	"  --tracing-enable, --tracing-collector-host-port HOST:PORT, --tracing-log-enable\n"
	"  --profile-conf-dir DIR                (/etc/firebuild/profiles)\n";

static int cmd_profile_create(int argc, char **argv)
{
	static const struct {
		const char *flag, *key;
		bool boolean;
	} settings[] = {
		{ "binary-firecracker", "binary_firecracker", false },
		{ "binary-jailer", "binary_jailer", false },
		{ "chroot-base", "chroot_base", false },
		{ "cni-bin-dir", "cni_bin_dir", false },
		{ "cni-conf-dir", "cni_conf_dir", false },
		{ "cni-cache-dir", "cni_cache_dir", false },
		{ "tracing-enable", "tracing_enable", true },
		{ "tracing-collector-host-port", "tracing_collector_host_port", false },
		{ "tracing-log-enable", "tracing_log_enable", true },
		{ "vmlinux-id", "vmlinux_id", false },
		{ "vmm", "vmm", false },
		{ "jailer-uid", "jailer_uid", false },
		{ "jailer-gid", "jailer_gid", false },
	};
	struct option opts[32] = {
		COMMON_OPTS,
		{ "overwrite", no_argument, NULL, O_OVERWRITE },
		{ "run-cache", required_argument, NULL, O_RUN_CACHE },
		{ "storage-provider", required_argument, NULL, O_STORAGE_PROVIDER },
		{ "storage-provider-property-string", required_argument, NULL, O_PROP_STRING },
		{ "storage-provider-property-int64", required_argument, NULL, O_PROP_INT64 },
	};
	size_t no = 10;
	for (size_t i = 0; i < FB_ARRAY_LEN(settings); i++)
		opts[no++] = (struct option){ settings[i].flag, settings[i].boolean ? optional_argument : required_argument,
					      NULL, O_SETTING + (int)i };
	opts[no] = (struct option){ NULL, 0, NULL, 0 };
	struct common co = { .prof = jv_invalid() };
	jv prof = jv_object();
	int overwrite = 0, c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
			continue;
		}
		if (c == O_HELP) {
			fputs(profile_usage, stdout);
			rc = 0;
			goto out;
		}
		if (c == O_OVERWRITE) {
			overwrite = 1;
		} else if (c == O_RUN_CACHE) {
			prof = jv_object_set(prof, jv_string("run_cache"), jv_string(optarg));
		} else if (c == O_STORAGE_PROVIDER) {
			if (strcmp(optarg, "directory")) {
				rc = fb_tool_usage_error("--storage-provider %s: the only provider is directory", optarg);
				goto out;
			}
			prof = jv_object_set(prof, jv_string("storage_provider"), jv_string(optarg));
		} else if (c == O_PROP_STRING || c == O_PROP_INT64) {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				rc = fb_tool_usage_error("%s: expected KEY=VALUE", optarg);
				goto out;
			}
			const char *k = c == O_PROP_STRING ? "storage_provider_property_string" : "storage_provider_property_int64";
			jv props = jv_object_get(jv_copy(prof), jv_string(k));
			if (jv_get_kind(props) != JV_KIND_OBJECT) {
				jv_free(props);
				props = jv_object();
			}
			jv val;
			if (c == O_PROP_INT64) {
				char *end;
				long long v = strtoll(eq + 1, &end, 10);
				if (*end || end == eq + 1) {
					jv_free(props);
					rc = fb_tool_usage_error("%s: the value must be an integer", optarg);
					goto out;
				}
				val = jv_number((double)v);
			} else {
				val = jv_string(eq + 1);
			}
			props = jv_object_set(props, jv_string_sized(optarg, (int)(eq - optarg)), val);
			prof = jv_object_set(prof, jv_string(k), props);
		} else if (c >= O_SETTING && c < O_SETTING + (int)FB_ARRAY_LEN(settings)) {
			size_t i = (size_t)(c - O_SETTING);
			jv v = settings[i].boolean ? jv_bool(!optarg || !strcmp(optarg, "true")) : jv_string(optarg);
			prof = jv_object_set(prof, jv_string(settings[i].key), v);
		} else {
			goto out;
		}
	}
	if (!co.profile) {
		rc = fb_tool_usage_error("profile-create needs --profile=NAME");
		goto out;
	}
	struct fb_err err = { 0 };
	jv full = fb_profile_defaults();
	jv_object_foreach(prof, k, v) full = jv_object_set(full, k, v);
	full = jv_object_set(full, jv_string("name"), jv_string(co.profile));
	if (fb_profile_save(co.profile_dir, co.profile, jv_copy(full), overwrite, &err) < 0) {
		jv_free(full);
		rc = fail(&err);
		goto out;
	}
	rc = fb_tool_finish(jv_object_set(jv_object(), jv_string("profile"), full));
out:
	jv_free(prof);
	return rc;
}

/* Commands that take only the common flags. Returns -1 to go on, or the
 * exit code (--help, a bad flag). */
static int common_only(int argc, char **argv, struct common *co, const char *help)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	int c, exit_now = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, co, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		if (c == O_HELP) {
			puts(help);
			return 0;
		}
		return FB_EXIT_USAGE;
	}
	if (optind < argc)
		return fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

static int cmd_profile_ls(int argc, char **argv)
{
	struct common co = { .prof = jv_invalid() };
	int rc = common_only(argc, argv, &co, "Usage: firebuild profile-ls [--profile-conf-dir DIR]");
	if (rc >= 0)
		return rc;
	struct fb_err err = { 0 };
	jv names;
	if (fb_profile_list(co.profile_dir, &names, &err) < 0)
		return fail(&err);
	return fb_tool_finish(jv_object_set(jv_object(), jv_string("profiles"), names));
}

static int cmd_profile_inspect(int argc, char **argv)
{
	struct common co = { .prof = jv_invalid() };
	int rc = common_only(argc, argv, &co, "Usage: firebuild profile-inspect --profile=NAME [--profile-conf-dir DIR]");
	if (rc >= 0)
		return rc;
	if (!co.profile)
		return fb_tool_usage_error("profile-inspect needs --profile=NAME");
	struct fb_err err = { 0 };
	jv p;
	if (fb_profile_load(co.profile_dir, co.profile, &p, &err) < 0)
		return fail(&err);
	return fb_tool_finish(jv_object_set(jv_object(), jv_string("profile"), p));
}

int main(int argc, char **argv)
{
	fb_tool_init("firebuild");
	if (argc < 2) {
		usage(stderr);
		return FB_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (!strcmp(cmd, "--version")) {
		printf("firebuild %s\n", FB_VERSION);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (cmd[0] == '-') {
		fprintf(stderr, "firebuild: error: unknown flag '%s' (see firebuild --help)\n", cmd);
		return FB_EXIT_USAGE;
	}
	for (size_t i = 0; i < FB_ARRAY_LEN(commands); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "firebuild: error: unknown command '%s' (see firebuild --help)\n", cmd);
	return FB_EXIT_USAGE;
}

/* bash completion: the commands from the table above, each command's flags
 * from its own --help (so they never drift from what it accepts). */
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
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]}\n"
	       "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"--help --version");
	for (size_t i = 0; i < FB_ARRAY_LEN(commands); i++)
		printf(" %s", commands[i].name);
	printf("\" -- \"$cur\"))\n"
	       "\t\treturn\n"
	       "\tfi\n"
	       "\tcase \"$cur\" in\n"
	       "\t--*)\n"
	       "\t\tlocal flags\n"
	       "\t\tflags=$(\"${COMP_WORDS[0]}\" \"${COMP_WORDS[1]}\" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
	       "\t\t;;\n"
	       "\t*) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	       "\tesac\n"
	       "}\n"
	       "complete -F _firebuild firebuild\n");
	return fflush(stdout) == 0 ? 0 : 1;
}
