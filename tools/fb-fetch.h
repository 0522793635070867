/* fb-fetch's subcommands that live in files of their own. */
#ifndef FB_FETCH_H
#define FB_FETCH_H

#include <getopt.h>

#include "registry.h"
#include "tool.h"

/* fb-fetch push (tools/fb-fetch-push.c): argv[0] is "push". */
int fb_fetch_push_main(int argc, char **argv);
/* fb-fetch cache-import and cache-export (tools/fb-fetch-cache.c):
 * argv[0] is the subcommand. */
int fb_fetch_cache_main(int argc, char **argv);
/* The registry flags of every fb-fetch command that talks to a registry
 * (image, push, cache-import, cache-export): their ids, past any
 * command's own, their getopt entries, and their handler. */
enum {
	FB_FETCH_OPT_CREDS = FB_OPT_FIRST_TOOL_OPT + 0x100,
	FB_FETCH_OPT_CREDS_FILE,
	FB_FETCH_OPT_DOCKER_CONFIG,
	FB_FETCH_OPT_INSECURE,
	FB_FETCH_OPT_CA_FILE,
};
#define FB_FETCH_REG_LONGOPTS                                                        \
	{ "creds", required_argument, NULL, FB_FETCH_OPT_CREDS },                    \
	{ "creds-file", required_argument, NULL, FB_FETCH_OPT_CREDS_FILE },          \
	{ "docker-config", required_argument, NULL, FB_FETCH_OPT_DOCKER_CONFIG },    \
	{ "insecure-registry", required_argument, NULL, FB_FETCH_OPT_INSECURE },     \
	{ "ca-file", required_argument, NULL, FB_FETCH_OPT_CA_FILE }
/* Is option c one of them? Taken into reg, or *creds (--creds, and the
 * first line of --creds-file's file, USER:PASSWORD). *exit_now gets a
 * usage error's code when that file cannot be read (as
 * fb_tool_common_opt). */
int fb_fetch_reg_opt(int c, const char *arg, struct fb_registry_opts *reg, char **creds, int *exit_now);

#endif
