/* lib/vm: a VM's name taken atomically with its run directory's lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "store.h"
#include "tree.h"
#include "util.h"
#include "vm.h"
#include "tap.h"

static char *runs_dir(void)
{
	char tmpl[] = "/tmp/fbvmtest.XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? fb_xasprintf("%s/runs", d) : NULL;
}

/* no .claim-* directory is left in runs */
static int no_claims_left(const char *runs)
{
	char *cmd = fb_xasprintf("ls -A %s | grep -q '^\\.claim-'", runs);
	int r = system(cmd);
	free(cmd);
	return r != 0;
}

static int claim_is_exclusive_and_says_why(void)
{
	char *runs = runs_dir();
	TAP_CHECK(runs);
	struct fb_err err = { 0 };
	int fd1 = -1, fd2 = -1;
	TAP_CHECK(fb_vm_claim(runs, "vm1", &fd1, &err) == 0);
	char *dir = fb_xasprintf("%s/vm1", runs), *lock = fb_xasprintf("%s/lock", dir);
	struct stat st;
	TAP_CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700);
	TAP_CHECK(access(lock, F_OK) == 0);
	/* held: a second claim is a conflict, and nothing of it stays */
	TAP_CHECK(fb_vm_claim(runs, "vm1", &fd2, &err) == -1);
	TAP_CHECK(err.code == FB_EXIT_CONFLICT);
	TAP_CHECK(strstr(err.msg, "is starting") != NULL);
	TAP_CHECK(no_claims_left(runs));
	int t = -1;
	TAP_CHECK(fb_vm_trylock(dir, &t) == 0);
	/* its holder gone with no state: a start that did not finish */
	close(fd1);
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_vm_claim(runs, "vm1", &fd2, &err) == -1);
	TAP_CHECK(err.code == FB_EXIT_CONFLICT);
	TAP_CHECK(strstr(err.msg, "did not finish") != NULL);
	TAP_CHECK(fb_vm_trylock(dir, &t) == 1);
	close(t);
	/* a VM that ran and exited: still its name until purged */
	char *sp = fb_xasprintf("%s/state.json", dir);
	const char *state = "{\"status\":\"exited\",\"pid\":0}";
	TAP_CHECK(fb_write_file_atomic(sp, state, strlen(state), 0600, &err) == 0);
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_vm_claim(runs, "vm1", &fd2, &err) == -1);
	TAP_CHECK(strstr(err.msg, "is exited") != NULL && strstr(err.msg, "purge") != NULL);
	/* removed: the name is free again */
	TAP_CHECK(fb_tree_remove(dir) == 0);
	TAP_CHECK(fb_vm_claim(runs, "vm1", &fd2, &err) == 0);
	close(fd2);
	/* a directory with no lock file (made by hand): -1 */
	char *bare = fb_xasprintf("%s/bare", runs);
	TAP_CHECK(mkdir(bare, 0700) == 0);
	TAP_CHECK(fb_vm_trylock(bare, &t) == -1);
	char *top = fb_xstrndup(runs, strlen(runs) - strlen("/runs"));
	fb_tree_remove(top);
	free(top);
	free(bare);
	free(sp);
	free(dir);
	free(lock);
	free(runs);
	return 0;
}

static int claim_holds_across_fork(void)
{
	/* the lock is close-on-exec: a program the start runs (fb-net, a CNI
	 * plugin that daemonizes) never holds the name; firebuild run hands it
	 * to fb-jail alone (FB_VM_LOCK_FD) */
	char *runs = runs_dir();
	TAP_CHECK(runs);
	struct fb_err err = { 0 };
	int fd = -1;
	TAP_CHECK(fb_vm_claim(runs, "vm2", &fd, &err) == 0);
	TAP_CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	int p[2], ex[2];
	TAP_CHECK(pipe(p) == 0 && pipe2(ex, O_CLOEXEC) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* a program that outlives the start: it reads until we close */
		close(p[1]);
		dup2(p[0], 0);
		execl("/bin/cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(ex[1]);
	char c;
	TAP_CHECK(read(ex[0], &c, 1) == 0); /* cat runs: its exec closed ex[1] */
	close(ex[0]);
	close(fd);
	char *dir = fb_xasprintf("%s/vm2", runs);
	int t = -1;
	TAP_CHECK(fb_vm_trylock(dir, &t) == 1); /* cat runs, the name is free */
	close(t);
	close(p[1]);
	waitpid(pid, NULL, 0);
	char *top = fb_xstrndup(runs, strlen(runs) - strlen("/runs"));
	fb_tree_remove(top);
	free(top);
	free(dir);
	free(runs);
	return 0;
}

static const struct tap_case cases[] = {
	{ "a claim is exclusive and says what holds the name", claim_is_exclusive_and_says_why },
	{ "a claim's lock is close-on-exec: no program the start runs holds it", claim_holds_across_fork },
};

TAP_MAIN(cases)
