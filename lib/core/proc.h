/* Child processes: spawn with optional pipes, wait, map a wait status to
 * the exit-code convention (code, or 128+signal), run and capture. */
#ifndef FB_PROC_H
#define FB_PROC_H

#include "err.h"

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

struct fb_err;

struct fb_spawn_opts {
	bool pipe_stdin;   /* else inherits */
	bool pipe_stdout;
	bool pipe_stderr;
	bool null_stdin;   /* /dev/null on stdin */
	const char *cwd;
	char *const *envp; /* NULL: inherit */
	int death_signal;  /* sent to the child when we die (PR_SET_PDEATHSIG); 0: none */
};

struct fb_proc {
	pid_t pid;
	int in_fd;  /* write end of the child's stdin, or -1 */
	int out_fd; /* read end of its stdout, or -1 */
	int err_fd; /* read end of its stderr, or -1 */
};

int fb_proc_spawn(char *const argv[], const struct fb_spawn_opts *opts, struct fb_proc *p,
		  struct fb_err *err) FB_MUST_CHECK;
/* A pidfd for a child (readable once it has ended: a poll set learns of
 * the end at once), or -1 where the kernel has none (Linux < 5.3). */
int fb_proc_pidfd(pid_t pid);
/* Waits (retrying EINTR) and stores the raw status. */
int fb_proc_wait(pid_t pid, int *status, struct fb_err *err) FB_MUST_CHECK;
/* exit code, or 128+N for signal N. */
int fb_status_to_exit(int status);
/* Describe a status for messages: "exited with 3", "killed by SIGKILL". */
void fb_status_describe(int status, char *buf, size_t len);

/* Run argv to completion, feeding `in` (may be NULL) and capturing stdout and
 * stderr (either may be NULL to inherit). *exit_code gets fb_status_to_exit.
 * The child gets SIGTERM should we die first: nobody is left to read it. */
int fb_proc_run(char *const argv[], const char *in, size_t in_len, struct fb_buf *out,
		struct fb_buf *errout, int *exit_code, struct fb_err *err) FB_MUST_CHECK;

/* Run argvs[0] | argvs[1] | ... with this process's stdin feeding the
 * first and its stdout taking the last; each gets SIGTERM should we die
 * first (a killed dispatcher ends its pipeline, nothing gets tagged). Returns 0 and the exit code of the
 * first stage that failed (the one whose error object travels down the
 * pipe), or 0 when all succeeded. */
int fb_pipeline(char *const *const argvs[], size_t n, int *exit_code, struct fb_err *err) FB_MUST_CHECK;

/* fb_pipeline, with more: keep_fd (>= 0) stays open across exec in the
 * stages whose bit is set in keep_fd_stages (bit i: stage i), and only
 * there (a lock handed to the stage that takes it over; no other stage,
 * nor what it runs, holds it); out_fd (>= 0) is the last stage's stdout
 * instead of ours. */
struct fb_pipeline_opts {
	int keep_fd;
	unsigned keep_fd_stages;
	int out_fd;
};
int fb_pipeline_opts(char *const *const argvs[], size_t n, const struct fb_pipeline_opts *o, int *exit_code,
		     struct fb_err *err);

/* v into a kernel file (a cgroup's, /proc's): opened, written in one call,
 * closed, safe in a child before its exec. 0, or -1 with errno. */
int fb_write_str(const char *path, const char *v);
/* The calling process into the cgroup directory dir, before it makes a
 * thread: on v1, "0" into tasks (this thread, which is all of it), which
 * takes no global lock; a pid in cgroup.procs write-locks every thread
 * group of the host and waits an RCU grace period (7-15 ms here). v2 has
 * no tasks file: our pid into cgroup.procs. 0, or -1 with errno. */
int fb_cgroup_enter(const char *dir);

#endif
