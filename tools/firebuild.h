/* The firebuild dispatcher's shared pieces: the flags every command takes,
 * finding the fb-* tools, reporting a failure. */
#ifndef FIREBUILD_H
#define FIREBUILD_H
#include <jv.h>
#include <stddef.h>

struct fb_err;

/* Options every command takes: the profile and where things are. */
struct common {
	const char *profile;
	const char *profile_dir;
	const char *store;
	jv prof;
};

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
	O_SETTING, /* the rest map straight to profile keys */
};

#define COMMON_OPTS                                                           \
	{ "profile", required_argument, NULL, O_PROFILE },                    \
	{ "profile-conf-dir", required_argument, NULL, O_PROFILE_DIR },       \
	{ "store", required_argument, NULL, O_STORE },                        \
	{ "log-format", required_argument, NULL, O_LOG_FORMAT },              \
	{ "help", no_argument, NULL, O_HELP }

int common_opt(int c, struct common *co, int *exit_now);
/* The profile (or the defaults) and the store it, or --store, names. */
int resolve_common(struct common *co, char **store, struct fb_err *err);
/* The path of an fb-* tool: next to us, or in ../libexec/firebuild. */
int tool_path(const char *tool, char *out, size_t len, struct fb_err *err);
int fail(struct fb_err *e);

/* firebuild-build.c */
int cmd_rootfs(int argc, char **argv);
int cmd_baseos(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* firebuild-run.c */
int cmd_run(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
#endif
