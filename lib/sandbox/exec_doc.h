/* fb-exec's spec (docs/tools/fb-exec.md) as a struct: {"exec": {"root",
 * "args", "env", "user", "workdir", "hostname", "network", "timeout",
 * "mounts"}} decoded and checked in one step (an error names the member:
 * ".exec.mounts[0].target: expected a string, got number", code
 * FB_EXIT_USAGE), and the run's result encoded as .exec_result. The rest of
 * the document goes on untouched. */
#ifndef FB_EXEC_DOC_H
#define FB_EXEC_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "util.h"

struct fb_doc;

/* A RUN --mount, resolved by the caller to something on the host. */
struct fb_exec_mount {
	char *type;              /* "bind" or "tmpfs" */
	char *source;            /* bind: the host path */
	char *target;            /* absolute, not "/", inside the tree */
	bool readonly;
	unsigned long long size; /* tmpfs bytes; 0: the default */
};

struct fb_exec_spec {
	char *root;           /* the tree */
	struct fb_strv args;  /* the command */
	struct fb_strv env;   /* K=V, nothing else is passed on */
	char *user;           /* USER[:GROUP], NULL: root */
	char *workdir;        /* NULL: / */
	char *hostname;       /* NULL: fb-exec */
	bool net_none;        /* network "none": a namespace of its own */
	double timeout;       /* seconds; 0: none */
	struct fb_exec_mount *mounts;
	size_t nmounts;
};

struct fb_exec_result {
	int exit_code;
	double seconds;
	bool timed_out;
	const char *error; /* NULL: none */
};

/* The document on fd: 0 with *doc it and *spec decoded; 1 when it is an
 * earlier tool's error object (*doc, to pass on); -1 with err. */
int fb_exec_spec_read(int fd, struct fb_doc **doc, struct fb_exec_spec *spec, struct fb_err *err) FB_MUST_CHECK;
/* The same from text: the decode step alone (tests, fuzzing). */
int fb_exec_spec_parse(const char *text, size_t len, struct fb_doc **doc, struct fb_exec_spec *spec,
		       struct fb_err *err) FB_MUST_CHECK;
void fb_exec_spec_free(struct fb_exec_spec *s);
static inline void fb_exec_spec_freep(struct fb_exec_spec *s)
{
	fb_exec_spec_free(s);
}
#define FB_AUTOEXECSPEC __attribute__((cleanup(fb_exec_spec_freep)))
/* The spec as JSON text, {"exec": {...}} (what a caller of fb-exec sends). */
char *fb_exec_spec_encode(const struct fb_exec_spec *s);
/* .exec_result into doc. */
void fb_exec_result_set(struct fb_doc *doc, const struct fb_exec_result *r);

#endif
