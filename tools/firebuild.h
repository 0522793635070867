/* The firebuild dispatcher's shared pieces: the flags every command takes,
 * finding the fb-* tools, reporting a failure. */
#ifndef FIREBUILD_H
#define FIREBUILD_H
#include <jv.h>
#include <stddef.h>
#include <stdio.h>

struct fb_err;

#include "util.h"

/* Flags every command takes (the original firebuild's persistent flags):
 * the profile, logging, tracing, storage, CNI and jailer settings. A flag
 * given beats the profile's value (co_setting). */
struct common {
	const char *profile;
	const char *profile_dir;
	const char *store;
	jv prof;
	const char *run_cache, *storage_provider, *cni_conf_dir, *cni_cache_dir;
	const char *binary_firecracker, *binary_jailer, *chroot_base, *jailer_uid, *jailer_gid, *numa_node, *netns;
	const char *tracing_host_port;
	int tracing_enable, tracing_log; /* -1: not given */
	bool timings;
	struct fb_strv cni_bin_dirs, props_string, props_int64;
	char *spool; /* --timings: the span spool */
	const char *usage; /* the command's --help text */
};
/* usage: the command's --help text (the common flags are printed after it) */
#define COMMON_INIT(usage_text) { .prof = jv_invalid(), .tracing_enable = -1, .tracing_log = -1, .usage = (usage_text) }

enum {
	O_PROFILE = 0x2000,
	O_PROFILE_DIR,
	O_STORE,
	O_DOCKER_IMAGE,
	O_DOCKER_IMAGE_BASE,
	O_DOCKERFILE,
	O_TAG,
	O_DISK_SIZE,
	O_PLATFORM,
	O_INSECURE,
	O_CREDS,
	O_LOG_FORMAT,
	O_HELP,
	O_OVERWRITE,
	O_RUN_CACHE,
	O_STORAGE_PROVIDER,
	O_PROP_STRING,
	O_PROP_INT64,
	O_LOG_LEVEL,
	O_LOG_JSON,
	O_LOG_COLOR,
	O_LOG_FORCE_COLOR,
	O_TRACING,
	O_TRACING_HOST_PORT,
	O_TRACING_LOG,
	O_CNI_BIN,
	O_CNI_CONF,
	O_CNI_CACHE,
	O_BIN_FC,
	O_BIN_JAILER,
	O_CHROOT_BASE,
	O_JAILER_UID,
	O_JAILER_GID,
	O_NUMA,
	O_NETNS,
	O_OLD_ROOTFS_ROOT,
	O_OLD_KERNEL_ROOT,
};

#define COMMON_OPTS                                                                     \
	{ "profile", required_argument, NULL, O_PROFILE },                              \
	{ "profile-conf-dir", required_argument, NULL, O_PROFILE_DIR },                 \
	{ "store", required_argument, NULL, O_STORE },                                  \
	{ "log-format", required_argument, NULL, O_LOG_FORMAT },                        \
	{ "log-level", required_argument, NULL, O_LOG_LEVEL },                          \
	{ "log-as-json", optional_argument, NULL, O_LOG_JSON },                         \
	{ "log-color", optional_argument, NULL, O_LOG_COLOR },                          \
	{ "log-force-color", optional_argument, NULL, O_LOG_FORCE_COLOR },              \
	{ "tracing-enable", optional_argument, NULL, O_TRACING },                       \
	{ "tracing-collector-host-port", required_argument, NULL, O_TRACING_HOST_PORT }, \
	{ "tracing-log-enable", optional_argument, NULL, O_TRACING_LOG },               \
	{ "run-cache", required_argument, NULL, O_RUN_CACHE },                          \
	{ "storage-provider", required_argument, NULL, O_STORAGE_PROVIDER },            \
	{ "storage-provider-property-string", required_argument, NULL, O_PROP_STRING }, \
	{ "storage-provider-property-int64", required_argument, NULL, O_PROP_INT64 },   \
	{ "cni-bin-dir", required_argument, NULL, O_CNI_BIN },                          \
	{ "cni-conf-dir", required_argument, NULL, O_CNI_CONF },                        \
	{ "cni-cache-dir", required_argument, NULL, O_CNI_CACHE },                      \
	{ "binary-firecracker", required_argument, NULL, O_BIN_FC },                    \
	{ "binary-jailer", required_argument, NULL, O_BIN_JAILER },                     \
	{ "chroot-base", required_argument, NULL, O_CHROOT_BASE },                      \
	{ "jailer-uid", required_argument, NULL, O_JAILER_UID },                        \
	{ "jailer-gid", required_argument, NULL, O_JAILER_GID },                        \
	{ "jailer-numa-node", required_argument, NULL, O_NUMA },                        \
	{ "netns", required_argument, NULL, O_NETNS },                                  \
	/* the spellings of the original's first README */                              \
	{ "storage.provider", required_argument, NULL, O_STORAGE_PROVIDER },            \
	{ "storage.provider.directory.rootfs-storage-root", required_argument, NULL, O_OLD_ROOTFS_ROOT }, \
	{ "storage.provider.directory.kernel-storage-root", required_argument, NULL, O_OLD_KERNEL_ROOT }, \
	{ "help", no_argument, NULL, O_HELP }

/* The original's machine flags, on run and rootfs (M_TIMINGS: --timings,
 * which is not one of them, numbered last). */
enum {
	M_CNI_NET = 0x2400,
	M_CPU,
	M_CPU_TEMPLATE,
	M_HT,
	M_IP,
	M_KARGS,
	M_MEM,
	M_NO_MMDS,
	M_PARTUUID,
	M_SSH_USER,
	M_VMLINUX,
	M_LOG_FC_HTTP,
	M_GRACEFUL,
	M_TIMINGS,
};
#define MACHINE_OPTS                                                                      \
	{ "cni-network-name", required_argument, NULL, M_CNI_NET },                       \
	{ "cpu", required_argument, NULL, M_CPU },                                        \
	{ "cpu-template", required_argument, NULL, M_CPU_TEMPLATE },                      \
	{ "ht-enabled", optional_argument, NULL, M_HT },                                  \
	{ "ip-address", required_argument, NULL, M_IP },                                  \
	{ "kernel-args", required_argument, NULL, M_KARGS },                              \
	{ "mem", required_argument, NULL, M_MEM },                                        \
	{ "no-mmds", optional_argument, NULL, M_NO_MMDS },                                \
	{ "root-drive-partuuid", required_argument, NULL, M_PARTUUID },                   \
	{ "ssh-user", required_argument, NULL, M_SSH_USER },                              \
	{ "vmlinux-id", required_argument, NULL, M_VMLINUX },                             \
	{ "log-firecracker-http-calls", optional_argument, NULL, M_LOG_FC_HTTP },         \
	{ "shutdown-graceful-timeout-seconds", required_argument, NULL, M_GRACEFUL },     \
	/* the spellings of the original's first README */                               \
	{ "machine-cni-network-name", required_argument, NULL, M_CNI_NET },               \
	{ "machine-ssh-user", required_argument, NULL, M_SSH_USER },                      \
	{ "machine-vmlinux-id", required_argument, NULL, M_VMLINUX },                     \
	{ "resources-cpu", required_argument, NULL, M_CPU },                              \
	{ "resources-mem", required_argument, NULL, M_MEM }

/* 1 when c was a common flag or --help; *exit_now is then set when the
 * command ends here (0 after --help, 2 for a bad value). */
int common_opt(int c, struct common *co, int *exit_now);
/* The profile (or the defaults) and the store it, or --store, names; starts
 * tracing (the flags, else the profile's) under the span `command`. */
int resolve_common(struct common *co, const char *command, char **store, struct fb_err *err);
/* The flag's value if given, else the named profile's KEY (a string or a
 * number), else NULL. Free the result. */
char *co_setting(const struct common *co, const char *flag, const char *key);
/* A storage provider property (kernel-storage-root...): the flag's, else
 * the named profile's, else NULL. Free the result. */
char *co_storage_prop(const struct common *co, const char *key);
void common_free(struct common *co);
/* A command's --help: its own text, then the flags every command takes. */
int print_usage(const char *text);
/* The flags every command takes, with their defaults (for --help). */
void print_common_flags(FILE *f);
/* The path of an fb-* tool: next to us, or in ../libexec/firebuild. */
int tool_path(const char *tool, char *out, size_t len, struct fb_err *err);
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
int kernel_path(const char *store, const char *kdir, const char *id, char **out, struct fb_err *err);
int cmd_ls(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
#endif
