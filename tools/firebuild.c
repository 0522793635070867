/* firebuild: the user's command. It stays thin: it turns a command and its
 * flags into a run of the fb-* tools, found next to this binary or in the
 * install's libexec directory. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "util.h"

struct command {
	const char *name;
	const char *tool; /* the fb-* program that does the work */
	const char *summary;
};

static const struct command commands[] = {
	{ "parse", "fb-parse", "parse a Dockerfile into a build plan" },
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

/* The directory holding the fb-* tools: ours, or ../libexec/firebuild. */
static int tool_path(const char *tool, char *out, size_t len, struct fb_err *err)
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
		if (access(out, X_OK) == 0)
			return 0;
	}
	return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s not found next to %s or in %s/../libexec/firebuild",
			  tool, self, self);
}

int main(int argc, char **argv)
{
	fb_log_init("firebuild");
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
	for (size_t i = 0; i < FB_ARRAY_LEN(commands); i++) {
		if (strcmp(cmd, commands[i].name))
			continue;
		char path[PATH_MAX + 64];
		struct fb_err err = { 0 };
		if (tool_path(commands[i].tool, path, sizeof(path), &err) < 0) {
			fb_log_failure(&err);
			return err.code;
		}
		argv[1] = path;
		execv(path, argv + 1);
		fb_err_errno(&err, errno, "unable to run %s", path);
		fb_log_failure(&err);
		return 125;
	}
	fprintf(stderr, "firebuild: error: unknown command '%s' (see firebuild --help)\n", cmd);
	return FB_EXIT_USAGE;
}
