/* What every tool's main does the same way: start-up, the common options,
 * the error object on failure, and a checked stdout at exit. */
#ifndef FB_TOOL_H
#define FB_TOOL_H

#include <getopt.h>
#include <stddef.h>

#include "err.h"

struct fb_err;

/* Long-option values shared by all tools (kept above any short option). */
enum {
	FB_OPT_HELP = 0x1000,
	FB_OPT_VERSION,
	FB_OPT_LOG_FORMAT,
	FB_OPT_FIRST_TOOL_OPT, /* tools number their own options from here */
};

#define FB_COMMON_LONGOPTS                                                   \
	{ "help", no_argument, NULL, FB_OPT_HELP },                          \
	{ "version", no_argument, NULL, FB_OPT_VERSION },                    \
	{ "log-format", required_argument, NULL, FB_OPT_LOG_FORMAT }

/* setlocale, logging, getopt's own messages off (fb_tool_bad_option
 * reports them); call first. */
void fb_tool_init(const char *name);

/* Handles FB_OPT_*: returns 1 when handled and main should go on, 0 when
 * the option is not a common one, and sets *exit_now (to the exit code)
 * for --help/--version/a bad value. `usage` is printed for --help. */
int fb_tool_common_opt(int opt, const char *arg, const char *usage, int *exit_now);

/* A usage mistake: one line on stderr and, as for any other failure, the
 * error object (kind "usage") on stdout, so the next tool of a pipeline
 * passes it on. Returns 2. */
int fb_tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A command for people rather than a pipeline tool (firebuild): its
 * failures are the stderr line only, usage errors too. */
void fb_tool_set_human(void);

/* getopt_long returned '?': the usage error that names the option
 * (unknown, missing its value, or given one it does not take). */
int fb_tool_bad_option(char *const *argv);

/* Failure: the human line on stderr and the error object on stdout.
 * Returns the exit code. */
int fb_tool_fail(struct fb_err *e) FB_MUST_CHECK;

/* Flush and close stdout, once (later calls do nothing): 0, or -1 when
 * what was written did not all get out. Every program's last word. */
int fb_tool_close_stdout(struct fb_err *err) FB_MUST_CHECK;

/* Another fb-* tool: next to this program, or in ../libexec/firebuild. */
int fb_tool_path(const char *tool, char *out, size_t len, struct fb_err *err) FB_MUST_CHECK;

#endif
