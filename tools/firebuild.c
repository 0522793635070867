/* firebuild: the user's command. It stays thin: it turns a command and its
 * flags into a run of the fb-* tools (found next to this binary or in the
 * install's libexec directory) and lets their document reach stdout. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "ext4img.h"
#include "file.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "profile.h"
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
	fputs("\nRun 'firebuild COMMAND --help' for the flags of a command. The flags every\n"
	      "command takes may also come before COMMAND.\n\n",
	      f);
	print_common_flags(f);
}

/* Flags every command takes may come before the command: move them after
 * it. Returns the new argv (argv[0] is the command) or NULL on a bad flag. */
static char **hoist_common(int argc, char **argv, int *newc, const char **bad)
{
	static const struct option common_opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	int i = 1;
	char **out = fb_xcalloc((size_t)argc + 1, sizeof(*out));
	int n = 1;
	while (i < argc && !strncmp(argv[i], "--", 2) && argv[i][2]) {
		const char *a = argv[i] + 2;
		size_t len = strcspn(a, "=");
		const struct option *o = NULL;
		for (size_t k = 0; common_opts[k].name && !o; k++)
			if (strlen(common_opts[k].name) == len && !strncmp(common_opts[k].name, a, len))
				o = &common_opts[k];
		if (!o || !strcmp(o->name, "help")) {
			*bad = argv[i];
			free(out);
			return NULL;
		}
		out[n++] = argv[i++];
		if (o->has_arg == required_argument && !a[len] && i < argc)
			out[n++] = argv[i++];
	}
	if (i >= argc || argv[i][0] == '-') {
		*bad = i < argc ? argv[i] : NULL;
		free(out);
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
	free(out);
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

/* The flags every command takes, as --help shows them. */
static const char common_flags_help[] =
	"Flags every command takes (the original firebuild's; a flag beats --profile's value):\n"
	"  --profile NAME                          a saved set of defaults (profile-create)\n"
	"  --profile-conf-dir DIR                  (/etc/firebuild/profiles; ~/.config/firebuild/profiles\n"
	"                                          when not root)\n"
	"  --store DIR                             the image store (/var/lib/firebuild/store); same as\n"
	"                                          --storage-provider-property-string=rootfs-storage-root=DIR\n"
	"  --log-level LEVEL                       debug, info, warn, error (info; FB_LOG)\n"
	"  --log-as-json                           JSON log lines (default on a terminal: text)\n"
	"  --log-format json|text                  the same, by name\n"
	"  --log-color                             colour the level of text lines on a terminal\n"
	"  --log-force-color                       colour them everywhere\n"
	"  --tracing-enable                        send a span for every step (OTLP/HTTP JSON)\n"
	"  --tracing-collector-host-port HOST:PORT the OTLP/HTTP receiver (127.0.0.1:6831; Jaeger and\n"
	"                                          the OpenTelemetry collector take OTLP/HTTP on 4318)\n"
	"  --tracing-log-enable                    also log every span as it ends\n"
	"  --run-cache DIR                         VMs' run directories, build trees\n"
	"                                          (/var/lib/firebuild; $XDG_RUNTIME_DIR/firebuild\n"
	"                                          when not root)\n"
	"  --storage-provider NAME                 (directory: the only one)\n"
	"  --storage-provider-property-string K=V  rootfs-storage-root=DIR (the store),\n"
	"                                          kernel-storage-root=DIR (vmlinux files by id)\n"
	"  --storage-provider-property-int64 K=N   (directory takes none)\n"
	"  --cni-bin-dir DIR                       CNI plugins (/opt/cni/bin, then /usr/lib/cni;\n"
	"                                          repeatable)\n"
	"  --cni-conf-dir DIR                      CNI networks (/etc/cni/conf.d, then /etc/cni/net.d)\n"
	"  --cni-cache-dir DIR                     (/var/lib/cni) a copy of each VM's CNI result\n"
	"  --binary-firecracker PATH               (firecracker in PATH)\n"
	"  --binary-jailer PATH                    (not used: firebuild jails the VMM itself)\n"
	"  --chroot-base DIR                       the jails' base (/srv/jailer)\n"
	"  --jailer-uid N, --jailer-gid N          the VMM's user and group (65534, nobody)\n"
	"  --jailer-numa-node N                    pin the VMM to a NUMA node's CPUs and memory\n"
	"                                          (cpuset cgroup)\n"
	"  --netns PATH                            run the VM in this network namespace (a file\n"
	"                                          under /var/run/netns) instead of making one\n"
	"  --help                                  this text\n"
	"The original's first README spellings work too: --storage.provider,\n"
	"--storage.provider.directory.rootfs-storage-root DIR and\n"
	"--storage.provider.directory.kernel-storage-root DIR.\n";

void print_common_flags(FILE *f)
{
	fputs(common_flags_help, f);
}

int print_usage(const char *text)
{
	fputs(text, stdout);
	fputc('\n', stdout);
	print_common_flags(stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* true, false or nothing (the flag alone) for a boolean flag */
static int bool_arg(const char *flag, const char *arg, int *exit_now)
{
	if (!arg || !strcmp(arg, "true") || !strcmp(arg, "1"))
		return 1;
	if (!strcmp(arg, "false") || !strcmp(arg, "0"))
		return 0;
	*exit_now = fb_tool_usage_error("--%s: expected true or false, got '%s'", flag, arg);
	return 0;
}

int common_opt(int c, struct common *co, int *exit_now)
{
	enum fb_log_level lvl;
	switch (c) {
	case O_HELP: *exit_now = print_usage(co->usage ? co->usage : ""); return 1;
	case O_PROFILE: co->profile = optarg; return 1;
	case O_PROFILE_DIR: co->profile_dir = optarg; return 1;
	case O_STORE: co->store = optarg; return 1;
	case O_LOG_FORMAT:
		if (fb_log_set_format(optarg) < 0)
			*exit_now = fb_tool_usage_error("--log-format: expected json or text, got '%s'", optarg);
		else
			setenv("FB_LOG_FORMAT", optarg, 1);
		return 1;
	case O_LOG_LEVEL:
		if (fb_log_parse_level(optarg, &lvl) < 0) {
			*exit_now = fb_tool_usage_error("--log-level: expected debug, info, warn or error, got '%s'", optarg);
		} else {
			fb_log_set_level(lvl);
			setenv("FB_LOG", optarg, 1);
		}
		return 1;
	case O_LOG_JSON:
		if (bool_arg("log-as-json", optarg, exit_now)) {
			fb_log_set_format("json");
			setenv("FB_LOG_FORMAT", "json", 1);
		}
		return 1;
	case O_LOG_COLOR:
	case O_LOG_FORCE_COLOR:
		if (bool_arg(c == O_LOG_COLOR ? "log-color" : "log-force-color", optarg, exit_now)) {
			const char *mode = c == O_LOG_COLOR ? "auto" : "always";
			fb_log_set_color(c == O_LOG_COLOR ? 1 : 2);
			setenv("FB_LOG_COLOR", mode, 1);
		}
		return 1;
	case O_TRACING: co->tracing_enable = bool_arg("tracing-enable", optarg, exit_now); return 1;
	case O_TRACING_LOG: co->tracing_log = bool_arg("tracing-log-enable", optarg, exit_now); return 1;
	case O_TRACING_HOST_PORT: co->tracing_host_port = optarg; return 1;
	case O_RUN_CACHE: co->run_cache = optarg; return 1;
	case O_STORAGE_PROVIDER:
		if (strcmp(optarg, "directory"))
			*exit_now = fb_tool_usage_error("--storage-provider %s: the only provider is directory", optarg);
		co->storage_provider = optarg;
		return 1;
	case O_PROP_STRING:
	case O_PROP_INT64: {
		const char *eq = strchr(optarg, '=');
		char *end = NULL;
		if (!eq || eq == optarg)
			*exit_now = fb_tool_usage_error("%s: expected KEY=VALUE", optarg);
		else if (c == O_PROP_INT64 && (strtoll(eq + 1, &end, 10), *end || end == eq + 1))
			*exit_now = fb_tool_usage_error("%s: the value must be an integer", optarg);
		fb_strv_push(c == O_PROP_STRING ? &co->props_string : &co->props_int64, optarg);
		return 1;
	}
	case O_CNI_BIN: fb_strv_push(&co->cni_bin_dirs, optarg); return 1;
	case O_CNI_CONF: co->cni_conf_dir = optarg; return 1;
	case O_CNI_CACHE: co->cni_cache_dir = optarg; return 1;
	case O_BIN_FC: co->binary_firecracker = optarg; return 1;
	case O_BIN_JAILER: co->binary_jailer = optarg; return 1;
	case O_CHROOT_BASE: co->chroot_base = optarg; return 1;
	case O_JAILER_UID:
	case O_JAILER_GID:
	case O_NUMA: {
		char *end;
		long v = strtol(optarg, &end, 10);
		if (*end || end == optarg || v < 0)
			*exit_now = fb_tool_usage_error("--%s %s: expected a number", c == O_JAILER_UID ? "jailer-uid"
										      : c == O_JAILER_GID ? "jailer-gid"
													   : "jailer-numa-node",
							optarg);
		*(c == O_JAILER_UID ? &co->jailer_uid : c == O_JAILER_GID ? &co->jailer_gid : &co->numa_node) = optarg;
		return 1;
	}
	case O_NETNS: co->netns = optarg; return 1;
	case O_OLD_ROOTFS_ROOT:
	case O_OLD_KERNEL_ROOT:
		fb_strv_push_owned(&co->props_string, fb_xasprintf("%s=%s", c == O_OLD_ROOTFS_ROOT ? "rootfs-storage-root"
											 : "kernel-storage-root",
								   optarg));
		return 1;
	}
	return 0;
}

void common_free(struct common *co)
{
	if (jv_is_valid(co->prof))
		jv_free(co->prof);
	co->prof = jv_invalid();
	fb_strv_free(&co->cni_bin_dirs);
	fb_strv_free(&co->props_string);
	fb_strv_free(&co->props_int64);
	if (co->spool)
		unlink(co->spool);
	free(co->spool);
	co->spool = NULL;
}

char *co_setting(const struct common *co, const char *flag, const char *key)
{
	if (flag)
		return fb_xstrdup(flag);
	if (!co->profile || !jv_is_valid(co->prof))
		return NULL;
	jv v = jv_object_get(jv_copy(co->prof), jv_string(key));
	char *r = NULL;
	if (jv_get_kind(v) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(v)))
		r = fb_xstrdup(jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		r = fb_xasprintf("%lld", (long long)jv_number_value(v));
	jv_free(v);
	return r;
}

/* K=V pairs given with --storage-provider-property-string: V of key, or NULL */
static const char *prop(const struct common *co, const char *key)
{
	const char *r = NULL;
	size_t kl = strlen(key);
	for (size_t i = 0; i < co->props_string.n; i++)
		if (!strncmp(co->props_string.v[i], key, kl) && co->props_string.v[i][kl] == '=')
			r = co->props_string.v[i] + kl + 1;
	return r;
}

char *co_storage_prop(const struct common *co, const char *key)
{
	const char *f = prop(co, key);
	if (f)
		return fb_xstrdup(f);
	if (!co->profile || !jv_is_valid(co->prof))
		return NULL;
	jv v = jv_getpath(jv_copy(co->prof), jv_array_append(jv_array_append(jv_array(), jv_string("storage_provider_property_string")),
							   jv_string(key)));
	char *r = jv_get_kind(v) == JV_KIND_STRING ? fb_xstrdup(jv_string_value(v)) : NULL;
	jv_free(v);
	return r;
}

/* The profile (or the defaults) and the store it, or --store, names. */
int resolve_common(struct common *co, const char *command, char **store, struct fb_err *err)
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
	/* the store: --store, the property flag, the profile's */
	const char *root = co->store ? co->store : prop(co, "rootfs-storage-root");
	*store = root ? fb_xstrdup(root) : fb_profile_store(co->prof);
	/* tracing: the flags, else the profile's settings */
	struct fb_err pe = { 0 };
	int on = co->tracing_enable, log = co->tracing_log;
	if (co->profile) {
		jv t = jv_object_get(jv_copy(co->prof), jv_string("tracing_enable"));
		if (on < 0)
			on = jv_get_kind(t) == JV_KIND_TRUE;
		jv_free(t);
		t = jv_object_get(jv_copy(co->prof), jv_string("tracing_log_enable"));
		if (log < 0)
			log = jv_get_kind(t) == JV_KIND_TRUE;
		jv_free(t);
	}
	char *hp = co_setting(co, co->tracing_host_port, "tracing_collector_host_port");
	if (co->timings) {
		char tmpl[] = "/tmp/fb-timings-XXXXXX";
		int fd = mkstemp(tmpl);
		if (fd >= 0) {
			close(fd);
			co->spool = fb_xstrdup(tmpl);
		}
	}
	char *name = fb_xasprintf("firebuild %s", command);
	fb_trace_configure(name, on > 0 ? (hp ? hp : "127.0.0.1:6831") : NULL, log > 0, co->spool);
	free(name);
	free(hp);
	(void)pe;
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
	struct common co = COMMON_INIT(exec_usage);
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
		case X_FROM: from = optarg; break;
		case X_USER: user = optarg; break;
		case X_WORKDIR: workdir = optarg; break;
		case X_ENV: fb_strv_push(&env, optarg); break;
		case X_NETWORK: network = optarg; break;
		case X_TIMEOUT: timeout = optarg; break;
		default:
			fb_tool_bad_option(argv); /* 125, as fb-exec's own failures */
			goto out;
		}
	}
	if (!from || optind >= argc) {
		fb_tool_usage_error("exec needs --from=NAME:VERSION and a command after --");
		goto out;
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
	char *rcflag = co_setting(&co, co.run_cache, "run_cache");
	char *execs = fb_xasprintf("%s/exec", fb_run_cache(rcflag)), *tmpl = fb_xasprintf("%s/tree-XXXXXX", execs);
	free(rcflag);
	if (fb_mkdir_p(execs, 0700, &err) < 0 || !mkdtemp(tmpl)) {
		if (!err.msg[0])
			fb_err_errno(&err, errno, "%s", tmpl);
		free(execs);
		free(tmpl);
		fail(&err);
		goto done;
	}
	free(execs);
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
	if (tree)
		fb_tree_remove(tree);
	free(tree);
	free(root);
	if (jv_is_valid(img))
		jv_free(img);
	fb_buf_free(&doc);
	free(store);
out:
	fb_strv_free(&env);
	common_free(&co);
	return rc;
}

static const char image_usage[] =
	"Usage: firebuild image ls | inspect NAME:VERSION | rm NAME:VERSION | gc [FLAGS]\n"
	"The store's tagged root file systems (fb-tag). ls prints a table on a\n"
	"terminal, JSON otherwise. gc --cache-max-age=D also drops build cache\n"
	"entries unused for D (default 168h; 0: all).\n";

static int cmd_image(int argc, char **argv)
{
	enum { I_CACHE_MAX_AGE = 0x3900 };
	static const struct option opts[] = { COMMON_OPTS, { "cache-max-age", required_argument, NULL, I_CACHE_MAX_AGE },
					      { NULL, 0, NULL, 0 } };
	const char *max_age = NULL;
	struct common co = COMMON_INIT(image_usage);
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				common_free(&co);
				return exit_now;
			}
			continue;
		}
		if (c == I_CACHE_MAX_AGE) {
			max_age = optarg;
			continue;
		}
		common_free(&co);
		return fb_tool_bad_option(argv);
	}
	if (optind >= argc)
		return fb_tool_usage_error("image needs a subcommand: ls, inspect, rm or gc");
	const char *sub = argv[optind];
	if (strcmp(sub, "ls") && strcmp(sub, "inspect") && strcmp(sub, "rm") && strcmp(sub, "gc"))
		return fb_tool_usage_error("unknown image subcommand '%s'", sub);
	struct fb_err err = { 0 };
	char *store = NULL;
	if (resolve_common(&co, "image", &store, &err) < 0) {
		common_free(&co);
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
		jv list = fb_json_member(doc, "images");
		jv_free(doc);
		if (jv_get_kind(list) != JV_KIND_ARRAY) {
			jv_free(list);
			list = jv_array();
		}
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
	"Save the flags every command takes (below: run cache, storage, CNI, jailer,\n"
	"tracing) under a name, with --vmlinux-id ID and --vmm qemu|firecracker; every\n"
	"command then takes --profile=NAME, and a flag given on its command line beats\n"
	"the profile. The directories named by --chroot-base, --run-cache and the\n"
	"rootfs-storage-root and kernel-storage-root properties must exist.\n"
	"  --overwrite                             replace an existing profile\n"
	"  --vmlinux-id ID                         the kernel run uses by default\n"
	"  --vmm qemu|firecracker                  the backend run uses by default\n";

static int cmd_profile_create(int argc, char **argv)
{
	enum { P_VMLINUX = 0x3a00, P_VMM };
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "overwrite", no_argument, NULL, O_OVERWRITE },
		{ "vmlinux-id", required_argument, NULL, P_VMLINUX },
		{ "vmm", required_argument, NULL, P_VMM },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = COMMON_INIT(profile_usage);
	const char *vmlinux = NULL, *vmm = NULL;
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
		switch (c) {
		case O_OVERWRITE: overwrite = 1; break;
		case P_VMLINUX: vmlinux = optarg; break;
		case P_VMM:
			if (strcmp(optarg, "qemu") && strcmp(optarg, "firecracker")) {
				rc = fb_tool_usage_error("--vmm %s: qemu or firecracker", optarg);
				goto out;
			}
			vmm = optarg;
			break;
		default:
			rc = fb_tool_bad_option(argv);
			goto out;
		}
	}
	if (optind < argc) {
		rc = fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!co.profile) {
		rc = fb_tool_usage_error("profile-create needs --profile=NAME");
		goto out;
	}
	struct fb_err err = { 0 };
	jv prof = fb_profile_defaults();
	const struct {
		const char *key, *val;
	} strs[] = {
		{ "run_cache", co.run_cache },
		{ "storage_provider", co.storage_provider },
		{ "cni_conf_dir", co.cni_conf_dir },
		{ "cni_cache_dir", co.cni_cache_dir },
		{ "binary_firecracker", co.binary_firecracker },
		{ "binary_jailer", co.binary_jailer },
		{ "chroot_base", co.chroot_base },
		{ "jailer_uid", co.jailer_uid },
		{ "jailer_gid", co.jailer_gid },
		{ "jailer_numa_node", co.numa_node },
		{ "netns", co.netns },
		{ "tracing_collector_host_port", co.tracing_host_port },
		{ "vmlinux_id", vmlinux },
		{ "vmm", vmm },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(strs); i++)
		if (strs[i].val)
			prof = jv_object_set(prof, jv_string(strs[i].key), jv_string(strs[i].val));
	if (co.cni_bin_dirs.n) {
		struct fb_buf b = FB_BUF_INIT;
		for (size_t i = 0; i < co.cni_bin_dirs.n; i++)
			fb_buf_addf(&b, "%s%s", i ? ":" : "", co.cni_bin_dirs.v[i]);
		prof = jv_object_set(prof, jv_string("cni_bin_dir"), jv_string(fb_buf_str(&b)));
		fb_buf_free(&b);
	}
	if (co.tracing_enable >= 0)
		prof = jv_object_set(prof, jv_string("tracing_enable"), jv_bool(co.tracing_enable));
	if (co.tracing_log >= 0)
		prof = jv_object_set(prof, jv_string("tracing_log_enable"), jv_bool(co.tracing_log));
	for (int k = 0; k < 2; k++) {
		const struct fb_strv *pv = k ? &co.props_int64 : &co.props_string;
		const char *key = k ? "storage_provider_property_int64" : "storage_provider_property_string";
		jv props = jv_object_get(jv_copy(prof), jv_string(key));
		for (size_t i = 0; i < pv->n; i++) {
			const char *eq = strchr(pv->v[i], '=');
			jv val = k ? jv_number((double)strtoll(eq + 1, NULL, 10)) : jv_string(eq + 1);
			props = jv_object_set(props, jv_string_sized(pv->v[i], (int)(eq - pv->v[i])), val);
		}
		prof = jv_object_set(prof, jv_string(key), props);
	}
	/* the original's rule: the directories it names exist */
	const char *dirs[] = { co.chroot_base, co.run_cache, NULL, NULL };
	for (size_t i = 0; i < co.props_string.n; i++) {
		const char *pv = co.props_string.v[i];
		if (!strncmp(pv, "rootfs-storage-root=", 20))
			dirs[2] = pv + 20;
		else if (!strncmp(pv, "kernel-storage-root=", 20))
			dirs[3] = pv + 20;
	}
	static const char *const dflags[] = { "--chroot-base", "--run-cache", "rootfs-storage-root", "kernel-storage-root" };
	for (size_t i = 0; i < FB_ARRAY_LEN(dirs) && !err.msg[0]; i++) {
		struct stat st;
		if (dirs[i] && (stat(dirs[i], &st) < 0 || !S_ISDIR(st.st_mode)))
			fb_err_set(&err, FB_EXIT_NOTFOUND, "not_found", "%s %s: no such directory (make it first)", dflags[i], dirs[i]);
	}
	prof = jv_object_set(prof, jv_string("name"), jv_string(co.profile));
	if (err.msg[0] || fb_profile_save(co.profile_dir, co.profile, jv_copy(prof), overwrite, &err) < 0) {
		jv_free(prof);
		rc = fail(&err);
		goto out;
	}
	rc = fb_tool_finish(jv_object_set(jv_object(), jv_string("profile"), prof));
out:
	common_free(&co);
	return rc;
}

/* Commands that take only the common flags. Returns -1 to go on, or the
 * exit code (--help, a bad flag). */
static int common_only(int argc, char **argv, struct common *co, const char *help)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	int c, exit_now = -1;
	co->usage = help;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, co, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		return fb_tool_bad_option(argv);
	}
	if (optind < argc)
		return fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

static int cmd_profile_ls(int argc, char **argv)
{
	struct common co = COMMON_INIT(NULL);
	int rc = common_only(argc, argv, &co, "Usage: firebuild profile-ls [--profile-conf-dir DIR]\nThe saved profiles' names.");
	if (rc >= 0) {
		common_free(&co);
		return rc;
	}
	struct fb_err err = { 0 };
	jv names;
	rc = fb_profile_list(co.profile_dir, &names, &err);
	common_free(&co);
	if (rc < 0)
		return fail(&err);
	return fb_tool_finish(jv_object_set(jv_object(), jv_string("profiles"), names));
}

static int cmd_profile_inspect(int argc, char **argv)
{
	struct common co = COMMON_INIT(NULL);
	int rc = common_only(argc, argv, &co,
			     "Usage: firebuild profile-inspect --profile=NAME [--profile-conf-dir DIR]\n"
			     "The profile's settings (the defaults filled in) as JSON.");
	if (rc < 0 && !co.profile)
		rc = fb_tool_usage_error("profile-inspect needs --profile=NAME");
	if (rc >= 0) {
		common_free(&co);
		return rc;
	}
	struct fb_err err = { 0 };
	jv p;
	rc = fb_profile_load(co.profile_dir, co.profile, &p, &err);
	common_free(&co);
	if (rc < 0)
		return fail(&err);
	return fb_tool_finish(jv_object_set(jv_object(), jv_string("profile"), p));
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
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (!strcmp(cmd, "--version")) {
		printf("firebuild %s\n", FB_VERSION);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	int cargc = argc - 1;
	char **cargv = argv + 1, **hoisted = NULL;
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
		if (!strcmp(cmd, commands[i].name)) {
			int rc = commands[i].run(cargc, cargv);
			free(hoisted);
			return rc;
		}
	free(hoisted);
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
