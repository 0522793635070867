/* lib/proc: spawn, pipes, exit status mapping; lib/log output shape. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "proc.h"
#include "tap.h"

static int run_captures_both_streams(void)
{
	char *argv[] = { "sh", "-c", "cat; echo err >&2; exit 3", NULL };
	struct fb_buf out = FB_BUF_INIT, er = FB_BUF_INIT;
	struct fb_err err = { 0 };
	int code = -1;
	TAP_CHECK(fb_proc_run(argv, "input", 5, &out, &er, &code, &err) == 0);
	TAP_CHECK(code == 3);
	TAP_STREQ(fb_buf_str(&out), "input");
	TAP_STREQ(fb_buf_str(&er), "err\n");
	fb_buf_free(&out);
	fb_buf_free(&er);
	return 0;
}

static int large_io_does_not_deadlock(void)
{
	/* 1 MiB in, 1 MiB out and a chatty stderr at the same time. */
	size_t n = 1 << 20;
	char *in = malloc(n);
	memset(in, 'z', n);
	char *argv[] = { "sh", "-c", "head -c 300000 /dev/zero >&2; cat", NULL };
	struct fb_buf out = FB_BUF_INIT, er = FB_BUF_INIT;
	struct fb_err err = { 0 };
	int code = -1;
	TAP_CHECK(fb_proc_run(argv, in, n, &out, &er, &code, &err) == 0);
	TAP_CHECK(code == 0);
	TAP_CHECK(out.len == n);
	TAP_CHECK(er.len == 300000);
	free(in);
	fb_buf_free(&out);
	fb_buf_free(&er);
	return 0;
}

static int signal_maps_to_128_plus(void)
{
	char *argv[] = { "sh", "-c", "kill -9 $$", NULL };
	struct fb_err err = { 0 };
	int code = -1;
	TAP_CHECK(fb_proc_run(argv, NULL, 0, NULL, NULL, &code, &err) == 0);
	TAP_CHECK(code == 128 + SIGKILL);
	char d[64];
	fb_status_describe(SIGKILL, d, sizeof(d));
	TAP_CHECK(strstr(d, "signal 9") != NULL);
	return 0;
}

static int missing_program_is_not_found(void)
{
	char *argv[] = { "/nonexistent/prog", NULL };
	struct fb_err err = { 0 };
	int code = -1;
	TAP_CHECK(fb_proc_run(argv, NULL, 0, NULL, NULL, &code, &err) == -1);
	TAP_CHECK(err.code == FB_EXIT_NOTFOUND);
	TAP_CHECK(strstr(err.msg, "unable to run /nonexistent/prog") != NULL);
	return 0;
}

static int spawn_with_cwd(void)
{
	char *argv[] = { "pwd", NULL };
	struct fb_spawn_opts o = { .pipe_stdout = true, .cwd = "/tmp" };
	struct fb_proc p;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_proc_spawn(argv, &o, &p, &err) == 0);
	char buf[64] = { 0 };
	ssize_t r = read(p.out_fd, buf, sizeof(buf) - 1);
	close(p.out_fd);
	int st;
	TAP_CHECK(fb_proc_wait(p.pid, &st, &err) == 0 && fb_status_to_exit(st) == 0);
	TAP_CHECK(r > 0);
	TAP_STREQ(buf, "/tmp\n");
	return 0;
}

/* The log module writes JSON lines with the fields given. */
static int log_json_lines(void)
{
	int pfd[2];
	TAP_CHECK(pipe(pfd) == 0);
	int saved = dup(2);
	dup2(pfd[1], 2);
	fb_log_init("test");
	fb_log_set_format("json");
	fb_log_set_level(FB_LOG_DEBUG);
	fb_log_fields(FB_LOG_WARN, "hello \"world\"", "where", "Dockerfile:3", (char *)NULL);
	fb_log_set_format("text");
	fb_log(FB_LOG_INFO, "plain %d", 7);
	dup2(saved, 2);
	close(saved);
	close(pfd[1]);
	char buf[1024] = { 0 };
	ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	TAP_CHECK(n > 0);
	TAP_CHECK(strstr(buf, "\"level\":\"warn\",\"tool\":\"test\",\"msg\":\"hello \\\"world\\\"\",\"where\":\"Dockerfile:3\"}\n") != NULL);
	TAP_CHECK(strstr(buf, "\ntest: plain 7\n") != NULL);
	enum fb_log_level l;
	TAP_CHECK(fb_log_parse_level("DEBUG", &l) == 0 && l == FB_LOG_DEBUG);
	TAP_CHECK(fb_log_parse_level("loud", &l) == -1);
	TAP_CHECK(fb_log_set_format("xml") == -1);
	return 0;
}

static int die_with_parent_kills_the_child(void)
{
	/* orphans come back to us: then we see how the grandchild ended */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 77;
	int p[2];
	TAP_CHECK(pipe(p) == 0);
	pid_t mid = fork();
	if (mid == 0) {
		char *argv[] = { "sleep", "60", NULL };
		struct fb_spawn_opts so = { .death_signal = SIGKILL };
		struct fb_proc pr;
		struct fb_err err = { 0 };
		if (fb_proc_spawn(argv, &so, &pr, &err) < 0)
			_exit(1);
		if (write(p[1], &pr.pid, sizeof(pr.pid)) != (ssize_t)sizeof(pr.pid))
			_exit(1);
		_exit(0); /* the spawner goes: its child must go too */
	}
	close(p[1]);
	pid_t child = -1;
	TAP_CHECK(read(p[0], &child, sizeof(child)) == (ssize_t)sizeof(child));
	close(p[0]);
	int st = 0;
	TAP_CHECK(waitpid(mid, &st, 0) == mid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	TAP_CHECK(waitpid(child, &st, 0) == child);
	TAP_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	return 0;
}

/* fb_pipeline_opts (vfork per stage): the stages joined, the last one's
 * output to out_fd, the first failure's code, a program that cannot run
 * is 127 with a message, a kept fd reaches only its stage. */
static int pipeline_stages(void)
{
	char path[] = "/tmp/fb-test-pipeline-XXXXXX";
	int out = mkstemp(path);
	TAP_CHECK(out >= 0);
	unlink(path);
	int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
	TAP_CHECK(keep >= 0);
	char kept_arg[64], closed_arg[64];
	snprintf(kept_arg, sizeof(kept_arg), "test -e /proc/self/fd/%d && echo kept", keep);
	snprintf(closed_arg, sizeof(closed_arg), "test -e /proc/self/fd/%d && exit 3; exit 0", keep);
	char *a0[] = { "sh", "-c", "printf 'a b c'; exit 0", NULL };
	char *a1[] = { "tr", " ", "-", NULL };
	char *a2[] = { "sh", "-c", "cat; echo; exit 5", NULL };
	char *a3[] = { "sh", "-c", closed_arg, NULL };
	char *a4[] = { "sh", "-c", kept_arg, NULL };
	char *const *const argvs[] = { a0, a1, a2 };
	struct fb_pipeline_opts o = { .keep_fd = keep, .keep_fd_stages = 0, .out_fd = out };
	struct fb_err err = { 0 };
	int code = -1;
	TAP_CHECK(fb_pipeline_opts(argvs, 3, &o, &code, &err) == 0);
	TAP_CHECK(code == 5);
	char buf[64] = "";
	TAP_CHECK(pread(out, buf, sizeof(buf) - 1, 0) == 6);
	TAP_STREQ(buf, "a-b-c\n");
	/* the kept fd: open in the stage named, closed in the others */
	char *const *const kept[] = { a3, a4 };
	TAP_CHECK(ftruncate(out, 0) == 0 && lseek(out, 0, SEEK_SET) == 0);
	o.keep_fd_stages = 1u << 1;
	TAP_CHECK(fb_pipeline_opts(kept, 2, &o, &code, &err) == 0 && code == 0);
	memset(buf, 0, sizeof(buf));
	TAP_CHECK(pread(out, buf, sizeof(buf) - 1, 0) == 5);
	TAP_STREQ(buf, "kept\n");
	/* a stage that cannot run: 127, and the others still ran */
	char *bad[] = { "/nonexistent/prog", NULL };
	char *nothing[] = { "true", NULL };
	char *const *const argvs2[] = { nothing, bad };
	TAP_CHECK(fb_pipeline_opts(argvs2, 2, NULL, &code, &err) == 0);
	TAP_CHECK(code == 127);
	close(keep);
	close(out);
	return 0;
}

static const struct tap_case cases[] = {
	{ "pipeline: stages joined, the first failure's code, 127 for a missing program, kept fd", pipeline_stages },
	{ "run captures stdout and stderr", run_captures_both_streams },
	{ "large input and output do not deadlock", large_io_does_not_deadlock },
	{ "a signal maps to 128+N", signal_maps_to_128_plus },
	{ "a missing program is not-found", missing_program_is_not_found },
	{ "spawn in a working directory", spawn_with_cwd },
	{ "log lines in JSON and text", log_json_lines },
	{ "death_signal: the child goes when its spawner does", die_with_parent_kills_the_child },
};

TAP_MAIN(cases)
