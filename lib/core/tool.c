#include "tool.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "log.h"
#include "trace.h"
#include "util.h"

void fb_tool_init(const char *name)
{
	/* libarchive and friends need a UTF-8 ctype to handle real file names. */
	setlocale(LC_CTYPE, "C.UTF-8");
	opterr = 0;
	fb_log_init(name);
	fb_trace_init(name);
}

int fb_tool_common_opt(int opt, const char *arg, const char *usage, int *exit_now)
{
	switch (opt) {
	case FB_OPT_HELP:
		fputs(usage, stdout);
		*exit_now = fflush(stdout) == 0 ? 0 : 1;
		return 1;
	case FB_OPT_VERSION:
		printf("%s %s\n", fb_log_tool(), FB_VERSION);
		*exit_now = fflush(stdout) == 0 ? 0 : 1;
		return 1;
	case FB_OPT_LOG_FORMAT:
		if (fb_log_set_format(arg) < 0)
			*exit_now = fb_tool_usage_error("--log-format: expected json or text, got '%s'", arg);
		return 1;
	}
	return 0;
}

static bool g_human;

void fb_tool_set_human(void)
{
	g_human = true;
}

int fb_tool_usage_error(const char *fmt, ...)
{
	struct fb_err e = { 0 };
	va_list ap;
	va_start(ap, fmt);
	fb_err_vset(&e, FB_EXIT_USAGE, "usage", fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: error: %s (see --help)\n", fb_log_tool(), e.msg);
	if (g_human)
		return FB_EXIT_USAGE;
	struct fb_err werr = { 0 };
	if (fb_json_write_error(fb_log_tool(), &e, &werr) == 0)
		fflush(stdout);
	return FB_EXIT_USAGE;
}

int fb_tool_bad_option(char *const *argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	if (!arg || strncmp(arg, "--", 2))
		return optopt > 0 && optopt < 0x100 ? fb_tool_usage_error("unknown option '-%c'", optopt)
						     : fb_tool_usage_error("unknown option '%s'", arg ? arg : "?");
	const char *eq = strchr(arg, '=');
	int n = eq ? (int)(eq - arg) : (int)strlen(arg);
	if (!optopt)
		return fb_tool_usage_error("unknown option '%.*s'", n, arg);
	if (eq)
		return fb_tool_usage_error("option '%.*s' takes no value", n, arg);
	return fb_tool_usage_error("option '%s' needs a value", arg);
}

/* stdout is closed once: after that, touching it is undefined */
static bool g_stdout_closed;

int fb_tool_close_stdout(struct fb_err *err)
{
	if (g_stdout_closed)
		return 0;
	g_stdout_closed = true;
	return fb_stdout_close(err);
}

int fb_tool_fail(struct fb_err *e)
{
	if (!e->code)
		e->code = FB_EXIT_FAILED;
	fb_log_failure(e);
	struct fb_err werr = { 0 };
	if (fb_json_write_error(fb_log_tool(), e, &werr) == 0)
		FB_IGNORE(fb_tool_close_stdout(&werr)); /* failing already: that is the exit status */
	return e->code;
}

int fb_tool_path(const char *tool, char *out, size_t len, struct fb_err *err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return fb_err_errno(err, errno, "readlink /proc/self/exe");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	const char *const rel[] = { "", "/../libexec/firebuild" };
	for (size_t i = 0; i < FB_ARRAY_LEN(rel); i++) {
		snprintf(out, len, "%s%s/%s", self, rel[i], tool);
		if (access(out, X_OK) == 0 || (!strcmp(tool, "fb-init") && access(out, R_OK) == 0))
			return 0;
	}
	return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s not found next to %s or in %s/../libexec/firebuild",
			  tool, self, self);
}
