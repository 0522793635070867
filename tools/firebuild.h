/* The firebuild dispatcher's shared pieces: its commands and settings (the
 * table in firebuild-settings.c drives the flags, the profiles, --help and
 * completion), the flags every command takes, finding the fb-* tools,
 * reporting a failure. */
#ifndef FIREBUILD_H
#define FIREBUILD_H
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "settings.h"
#include "util.h"

struct fb_profile;

/* The commands (bits of a setting's cmds). */
enum command {
	C_PARSE,
	C_ROOTFS,
	C_BASEOS,
	C_RUN,
	C_LS,
	C_INSPECT,
	C_KILL,
	C_PURGE,
	C_LOGS,
	C_KERNEL,
	C_IMAGE,
	C_IMPORT,
	C_PUSH,
	C_EXEC,
	C_PROFILE_CREATE,
	C_PROFILE_LS,
	C_PROFILE_INSPECT,
	C_COMPLETION,
};
#define CMD(c) (1UL << (c))
/* the commands that take the flags every command takes: all but parse
 * (fb-parse's own) and completion */
#define C_COMMON                                                                                                     \
	(CMD(C_ROOTFS) | CMD(C_BASEOS) | CMD(C_RUN) | CMD(C_LS) | CMD(C_INSPECT) | CMD(C_KILL) | CMD(C_PURGE) |        \
	 CMD(C_LOGS) | CMD(C_KERNEL) | CMD(C_IMAGE) | CMD(C_IMPORT) | CMD(C_PUSH) | CMD(C_EXEC) | CMD(C_PROFILE_CREATE) |           \
	 CMD(C_PROFILE_LS) | CMD(C_PROFILE_INSPECT))

/* The settings, by their index in the table (firebuild-settings.c). */
enum setting {
	/* every command's (the original firebuild's persistent flags) */
	S_PROFILE,
	S_PROFILE_DIR,
	S_STORE,
	S_LOG_LEVEL,
	S_LOG_JSON,
	S_LOG_FORMAT,
	S_LOG_COLOR,
	S_LOG_FORCE_COLOR,
	S_TRACING,
	S_TRACING_HOST_PORT,
	S_TRACING_LOG,
	S_RUN_CACHE,
	S_STORAGE_PROVIDER,
	S_PROP_STRING,
	S_PROP_INT64,
	S_CNI_BIN,
	S_CNI_CONF,
	S_CNI_CACHE,
	S_BIN_FC,
	S_BIN_JAILER,
	S_CHROOT_BASE,
	S_JAILER_UID,
	S_JAILER_GID,
	S_NUMA,
	S_NETNS,
	S_HELP,
	/* rootfs, baseos, import */
	S_DOCKERFILE,
	S_CONTEXT,
	S_DOCKER_IMAGE,
	S_TAG,
	S_BUILD_ARG,
	S_TARGET,
	S_NO_CACHE,
	S_SECRET,
	S_PRE_BUILD,
	S_POST_BUILD,
	S_SOURCE_DATE_EPOCH,
	S_DISK_SIZE,
	S_FS_SIZE,
	S_PLATFORM,
	S_INSECURE,
	S_CREDS,
	S_CACHE_TO,
	S_CACHE_FROM,
	/* push */
	S_PUSH_FORMAT,
	S_CHUNK_SIZE,
	/* run, exec */
	S_FROM,
	S_NAME,
	S_HOSTNAME,
	S_ENV,
	S_ENV_FILE,
	S_DAEMONIZE,
	S_PORT,
	S_IDENTITY,
	S_VMM,
	S_CGROUP,
	S_NO_JAIL,
	S_TIMINGS,
	S_X_USER,
	S_X_WORKDIR,
	S_X_ENV,
	S_X_NETWORK,
	S_X_TIMEOUT,
	/* the others' own */
	S_VMM_ID,
	S_KILL_TIMEOUT,
	S_KERNEL_ID,
	S_KERNEL_DEFAULT,
	S_CACHE_MAX_AGE,
	S_OVERWRITE,
	/* the original's machine flags (run; rootfs takes and ignores them) */
	S_CNI_NET,
	S_IP,
	S_CPU,
	S_MEM,
	S_CPU_TEMPLATE,
	S_HT,
	S_KARGS,
	S_NO_MMDS,
	S_PARTUUID,
	S_SSH_USER,
	S_VMLINUX,
	S_LOG_FC_HTTP,
	S_GRACEFUL,
	/* accepted for the original and ignored (rootfs) */
	S_DOCKER_IMAGE_BASE,
	S_BOOTSTRAP_KEY_SIZE,
	S_BOOTSTRAP_VALIDITY,
	S_BOOTSTRAP_TIMEOUT,
	S_BOOTSTRAP_IFACE,
	S_SERVICE_INSTALLER,
	/* the spellings of the original's first README */
	S_OLD_STORAGE_PROVIDER,
	S_OLD_ROOTFS_ROOT,
	S_OLD_KERNEL_ROOT,
	S_OLD_CNI_NET,
	S_OLD_SSH_USER,
	S_OLD_VMLINUX,
	S_OLD_CPU,
	S_OLD_MEM,
	S_OLD_DETACHED,
	S__COUNT
};

extern const struct fb_settings firebuild_settings;

/* The storage provider properties (--storage-provider-property-string). */
#define PROP_ROOTFS_ROOT "rootfs-storage-root"
#define PROP_KERNEL_ROOT "kernel-storage-root"

/* What a command was told: its flags, and the profile they name. A flag
 * given beats the profile's value (co_setting). */
struct common {
	enum command cmd;
	const char *usage;       /* the command's --help text, before its flags */
	struct fb_opts o;        /* the command line */
	struct fb_profile *prof; /* the profile --profile names, once resolved */
	char *spool;             /* --timings: the span spool */
};
#define COMMON_INIT(command, usage_text) { .cmd = (command), .usage = (usage_text) }
void common_free(struct common *co);
#define FB_AUTOCOMMON __attribute__((cleanup(common_free)))

/* Parse the command's flags (FB_OPTS_* flags): true to go on, false when
 * the command ends here with *rc (0 after --help, 2 for a usage error). */
bool parse_flags(struct common *co, int argc, char **argv, unsigned flags, int *rc);
/* The profile (or the defaults) and the store it, or --store, names; starts
 * tracing (the flags, else the profile's) under the span `command`. */
int resolve_common(struct common *co, const char *command, char **store, struct fb_err *err) FB_MUST_CHECK;

/* The flag's last value, or NULL. */
const char *co_flag(const struct common *co, enum setting s);
/* INT, SECONDS: the flag's, else the table's default. */
long long co_int(const struct common *co, enum setting s);
/* BOOL, SWITCH: given (and not false)? */
bool co_bool(const struct common *co, enum setting s);
/* LIST: the values given, in order. */
const struct fb_strv *co_list(const struct common *co, enum setting s);
/* The flag's value if given, else the named profile's, else the table's
 * default, else NULL. Free the result. */
char *co_setting(const struct common *co, enum setting s);
/* LIST: the values given, else the named profile's (NULL: neither). */
const struct fb_strv *co_setting_list(const struct common *co, enum setting s);
/* A storage provider property (PROP_*): the flag's, else the named
 * profile's, else NULL. Free the result. */
char *co_storage_prop(const struct common *co, const char *key);

/* A command's --help: its own text, then the flags it takes. */
int print_usage(const struct common *co);
/* The path of an fb-* tool: next to us, or in ../libexec/firebuild. */
int tool_path(const char *tool, char *out, size_t len, struct fb_err *err) FB_MUST_CHECK;
int fail(struct fb_err *e);

/* firebuild-build.c */
int cmd_rootfs(int argc, char **argv);
int cmd_baseos(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* firebuild-push.c */
int cmd_push(int argc, char **argv);

/* firebuild-run.c */
int cmd_run(int argc, char **argv);

/* firebuild-vm.c */
/* The kernel: <kdir>/ID when that is a file (the original's layout), else
 * <store>/kernels/ID/vmlinux; no ID: the store's default. */
int kernel_path(const char *store, const char *kdir, const char *id, char **out, struct fb_err *err) FB_MUST_CHECK;
int cmd_ls(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
#endif
