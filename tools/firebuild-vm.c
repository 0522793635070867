/* firebuild ls, inspect, logs, kill, purge (the VMs in <run-cache>/runs,
 * their state written by fb-jail) and kernel (the guest kernels in the
 * store, or the profile's kernel-storage-root). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "err.h"
#include "doc.h"
#include "kernel.h"
#include "log.h"
#include "proc.h"
#include "state.h"
#include "store.h"
#include "tool.h"
#include "trace.h"
#include "tree.h"
#include "util.h"
#include "vm.h"
#include "spec.h"

#include "firebuild.h"

/* d on stdout: 0, or 1 when stdout could not take it. Consumes d. */
static int print_doc(struct fb_doc *d)
{
	struct fb_err err = { 0 };
	int rc = fb_vm_doc_write(d, &err) < 0 ? fail(&err) : 0;
	fb_doc_free(d);
	return rc;
}

/* ---- kernels in the store ---- */

/* The id <store>/kernels/default names, or NULL. */
static char *default_kernel(const char *store)
{
	char *p = fb_xasprintf("%s/kernels/default", store), *def = NULL;
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = { 0 };
	if (fb_read_file(p, &b, &e) == 0)
		def = fb_xstrndup(fb_buf_str(&b), strcspn(fb_buf_str(&b), "\n"));
	fb_buf_free(&b);
	free(p);
	return def;
}

/* The kernel: kernel-storage-root/ID (the original's layout: vmlinux files
 * named by id) when that is a file, else <store>/kernels/ID/vmlinux; no id:
 * the store's default. */
int kernel_path(const char *store, const char *kdir, const char *id, char **out, struct fb_err *err)
{
	char *def = NULL;
	if (id && kdir && !strchr(id, '/')) {
		char *p = fb_xasprintf("%s/%s", kdir, id);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			*out = p;
			return 0;
		}
		free(p);
	}
	if (!id) {
		id = def = default_kernel(store);
		if (!id)
			return fb_err_set(err, FB_EXIT_NOTFOUND, "no_kernel",
					  "no kernel in %s/kernels: add one with firebuild kernel add --id=vmlinux-6.1 PATH "
					  "(scripts/build-kernel builds it), or give --vmlinux-id",
					  store);
	}
	char *p = fb_xasprintf("%s/kernels/%s/vmlinux", store, id);
	int r = 0;
	if (strchr(id, '/') || access(p, R_OK) < 0) {
		r = fb_err_set(err, FB_EXIT_NOTFOUND, "no_kernel", "--vmlinux-id %s: no such kernel in %s/kernels%s%s (firebuild kernel ls)",
			       id, store, kdir ? " or " : "", kdir ? kdir : "");
		free(p);
	} else {
		*out = p;
	}
	free(def);
	return r;
}

static const char kernel_usage[] =
	"Usage: firebuild kernel add --id=ID [--default] PATH | kernel ls\n"
	"Guest kernels in the store (<store>/kernels/<id>/vmlinux): an ELF vmlinux\n"
	"with the PVH note (scripts/build-kernel makes one). The first one added, or\n"
	"the one added with --default, is what run uses without --vmlinux-id.\n";

/* kernel add: an ELF file copied to <store>/kernels/ID/vmlinux; the
 * default when asked, or when there is none yet. */
static int kernel_add(const char *store, const char *id, const char *src, bool make_default)
{
	struct fb_err err = { 0 };
	FB_AUTOFREE char *dir = fb_xasprintf("%s/kernels/%s", store, id);
	FB_AUTOFREE char *dst = fb_xasprintf("%s/vmlinux", dir);
	FB_AUTOFREE char *defp = fb_xasprintf("%s/kernels/default", store);
	unsigned char elf[4] = { 0 };
	FILE *f = fopen(src, "re");
	if (!f) {
		fb_err_errno(&err, errno, "%s", src);
		return fail(&err);
	}
	size_t got = fread(elf, 1, 4, f);
	fclose(f);
	if (got != 4 || memcmp(elf, "\x7f" "ELF", 4)) {
		fb_err_set(&err, FB_EXIT_USAGE, "invalid", "%s: not an ELF vmlinux (bzImage is not what Firecracker boots)", src);
		return fail(&err);
	}
	if (fb_mkdir_p(dir, 0755, &err) < 0 || fb_copy_sparse(src, dst, &err) < 0 ||
	    ((make_default || access(defp, F_OK) < 0) && fb_write_file_atomic(defp, id, strlen(id), 0644, &err) < 0))
		return fail(&err);
	return print_doc(fb_kernel_added_doc(id, dst));
}

/* kernel ls: what <store>/kernels holds, the default marked. */
static int kernel_ls(const char *store)
{
	FB_AUTOFREE char *kd = fb_xasprintf("%s/kernels", store);
	FB_AUTOFREE char *def = default_kernel(store);
	struct fb_vm_kernel *ks = NULL;
	size_t n = 0;
	DIR *d = opendir(kd);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *p = fb_xasprintf("%s/%s/vmlinux", kd, de->d_name);
		struct stat st;
		if (de->d_name[0] == '.' || stat(p, &st) < 0) {
			free(p);
			continue;
		}
		ks = fb_xrealloc(ks, (n + 1) * sizeof(*ks));
		ks[n++] = (struct fb_vm_kernel){ fb_xstrdup(de->d_name), p, (long long)st.st_size,
						 def && !strcmp(def, de->d_name) };
	}
	if (d)
		closedir(d);
	int rc = print_doc(fb_kernel_list_doc(ks, n));
	for (size_t i = 0; i < n; i++) {
		free(ks[i].id);
		free(ks[i].path);
	}
	free(ks);
	return rc;
}

int cmd_kernel(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_KERNEL, kernel_usage);
	int rc;
	if (!parse_flags(&co, argc, argv, 0, &rc))
		return rc;
	const char *id = co_flag(&co, S_KERNEL_ID);
	bool make_default = co_bool(&co, S_KERNEL_DEFAULT);
	if (!co.o.nargs || (strcmp(co.o.args[0], "add") && strcmp(co.o.args[0], "ls")))
		return fb_tool_usage_error("kernel needs add or ls");
	bool add = !strcmp(co.o.args[0], "add");
	if (add && (co.o.nargs != 2 || !id))
		return fb_tool_usage_error("kernel add needs --id=ID and one PATH");
	if (add && (!*id || strchr(id, '/') || !strcmp(id, "default") || id[0] == '.'))
		return fb_tool_usage_error("--id %s: a name without '/'", id);
	struct fb_err err = { 0 };
	FB_AUTOFREE char *store = NULL;
	if (resolve_common(&co, "kernel", &store, &err) < 0)
		return fail(&err);
	return add ? kernel_add(store, id, co.o.args[1], make_default) : kernel_ls(store);
}


/* ---- ls, inspect, kill, purge, logs ---- */

/* The flags of ls, inspect, logs, kill and purge: 0 with *rcd the run
 * cache (the flag's, else the profile's; free it), or -1 with *rc the exit
 * status. */
/* The flags of ls, inspect, logs, kill and purge: 0 with *rcd the run
 * cache (the flag's, else the profile's; free it), or -1 with *rc the exit
 * status. */
static int parse_vm_flags(int argc, char **argv, enum command cmd, const char *command, const char *usage,
			  const char **id, char **rcd, long *timeout, int *rc)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(cmd, usage);
	if (!parse_flags(&co, argc, argv, FB_OPTS_NO_ARGS, rc))
		return -1;
	*id = co_flag(&co, S_VMM_ID);
	*timeout = (long)co_int(&co, S_KILL_TIMEOUT);
	struct fb_err err = { 0 };
	FB_AUTOFREE char *store = NULL;
	if (resolve_common(&co, command, &store, &err) < 0) {
		*rc = fail(&err);
		return -1;
	}
	FB_AUTOFREE char *flag = co_setting(&co, S_RUN_CACHE);
	*rcd = fb_xstrdup(fb_run_cache(flag));
	return 0;
}

static int load_vm(const char *rcd, const char *id, char **dir, struct fb_vm_state *st, struct fb_err *err)
{
	if (!id)
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--vmm-id is required");
	if (!fb_vm_valid_name(id))
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--vmm-id %s: 1 to 20 characters of [a-zA-Z0-9]", id);
	*dir = fb_xasprintf("%s/runs/%s", rcd, id);
	char *p = fb_xasprintf("%s/state.json", *dir);
	int r = 0;
	struct fb_err e = { 0 };
	int lr = fb_vm_state_load(p, st, &e);
	if (lr < 0 && strcmp(e.kind, "invalid")) {
		/* a start holds its run directory's lock until the VMM runs */
		int lfd = -1;
		bool starting = fb_vm_trylock(*dir, &lfd) == 0;
		if (lfd >= 0)
			close(lfd);
		r = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "--vmm-id %s: no such VM %s", id,
			       starting ? "yet (it is starting)" : "(firebuild ls)");
	} else if (lr < 0) {
		/* a state.json is read as found: its members' kinds are checked */
		r = fb_err_set(err, FB_EXIT_FAILED, "state", "VM %s: %s: %s", id, p, e.msg);
	}
	free(p);
	return r;
}

/* The flags of inspect, logs and kill, and the VM they name: 0, or -1
 * with *rc the exit status. */
static int open_vm(int argc, char **argv, enum command cmd, const char *command, const char *usage, long *timeout,
		   const char **id, char **dir, struct fb_vm_state *st, int *rc)
{
	char *rcd = NULL;
	if (parse_vm_flags(argc, argv, cmd, command, usage, id, &rcd, timeout, rc) < 0)
		return -1;
	struct fb_err err = { 0 };
	int r = load_vm(rcd, *id, dir, st, &err);
	free(rcd);
	if (r < 0) {
		free(*dir);
		*dir = NULL;
		*rc = fail(&err);
		return -1;
	}
	return 0;
}

static const char ls_usage[] = "Usage: firebuild ls\nThe VMs: a table on a terminal, JSON otherwise.\n";

int cmd_ls(int argc, char **argv)
{
	const char *id = NULL;
	char *rcd = NULL;
	long to = 0;
	int rc = 0;
	if (parse_vm_flags(argc, argv, C_LS, "ls", ls_usage, &id, &rcd, &to, &rc) < 0)
		return rc;
	char *runs = fb_xasprintf("%s/runs", rcd);
	free(rcd);
	DIR *d = opendir(runs);
	struct dirent *e;
	struct fb_vm_state **list = NULL;
	struct fb_strv status = FB_STRV_INIT;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = fb_xasprintf("%s/%s/state.json", runs, e->d_name);
		struct fb_vm_state *st = fb_xcalloc(1, sizeof(*st));
		struct fb_err er = { 0 };
		if (access(p, F_OK) == 0 && fb_vm_state_load(p, st, &er) == 0) {
			list = fb_xrealloc(list, (status.n + 1) * sizeof(*list));
			list[status.n] = st;
			fb_strv_push(&status, fb_vm_status(st));
		} else {
			/* a state of another shape is named; no state (a start under
			 * way), or no JSON, is no VM to list */
			if (!strcmp(er.kind, "invalid"))
				fb_log(FB_LOG_WARN, "%s: %s", p, er.msg);
			free(st);
		}
		free(p);
	}
	if (d)
		closedir(d);
	free(runs);
	if (isatty(1)) {
		printf("%-20s %-30s %-11s %-8s %-8s %7s %s\n", "ID", "IMAGE", "BACKEND", "STATE", "IP", "PID", "EXIT");
		for (size_t i = 0; i < status.n; i++) {
			const struct fb_vm_state *st = list[i];
			char exs[16] = "-", ip[64] = "-";
			if (st->has_exit_code)
				snprintf(exs, sizeof(exs), "%d", (int)st->exit_code);
			if (st->network && st->network->nifs && st->network->ifs[0].ip)
				snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(st->network->ifs[0].ip, "/"), st->network->ifs[0].ip);
			printf("%-20s %-30s %-11s %-8s %-8s %7lld %s\n", st->id ? st->id : "-", st->image ? st->image : "-",
			       st->backend ? st->backend : "qemu", status.v[i], ip, st->pid, exs);
		}
	} else {
		rc = print_doc(fb_vm_state_list_doc((const struct fb_vm_state *const *)list, status.v, status.n));
	}
	for (size_t i = 0; i < status.n; i++) {
		fb_vm_state_free(list[i]);
		free(list[i]);
	}
	free(list);
	fb_strv_free(&status);
	return rc;
}

static const char inspect_usage[] = "Usage: firebuild inspect --vmm-id=ID\nThe VM's state as a JSON object, as the original printed it: its\n.NetworkInterfaces[0].StaticConfiguration.IPConfiguration.IP is the address.\n";

int cmd_inspect(int argc, char **argv)
{
	const char *id = NULL;
	long to = 0;
	int rc = 0;
	char *dir = NULL;
	struct fb_vm_state st;
	if (open_vm(argc, argv, C_INSPECT, "inspect", inspect_usage, &to, &id, &dir, &st, &rc) < 0)
		return rc;
	free(dir);
	/* the state itself, as the original printed it: its
	 * .NetworkInterfaces[0].StaticConfiguration.IPConfiguration.IP is the address */
	rc = print_doc(fb_vm_state_doc(&st, fb_vm_status(&st)));
	fb_vm_state_free(&st);
	return rc;
}

static const char logs_usage[] = "Usage: firebuild logs --vmm-id=ID\nA daemonized VM's console.\n";

int cmd_logs(int argc, char **argv)
{
	const char *id = NULL;
	long to = 0;
	int rc = 0;
	char *dir = NULL;
	struct fb_vm_state st;
	if (open_vm(argc, argv, C_LOGS, "logs", logs_usage, &to, &id, &dir, &st, &rc) < 0)
		return rc;
	fb_vm_state_free(&st);
	struct fb_err err = { 0 };
	char *p = fb_xasprintf("%s/console.log", dir);
	struct fb_buf b = FB_BUF_INIT;
	rc = fb_read_file(p, &b, &err) < 0 ? fail(&err) : 0;
	if (rc == 0 && b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
		rc = 1;
	fb_buf_free(&b);
	free(p);
	free(dir);
	return rc;
}

static const char kill_usage[] =
	"Usage: firebuild kill --vmm-id=ID [--shutdown-timeout=15s]\n"
	"Stop a VM cleanly (its STOPSIGNAL through fb-init; killed after the\n"
	"timeout) and remove everything it held.\n";

int cmd_kill(int argc, char **argv)
{
	const char *id = NULL;
	long timeout = 15;
	int rc = 0;
	char *dir = NULL;
	struct fb_vm_state st;
	if (open_vm(argc, argv, C_KILL, "kill", kill_usage, &timeout, &id, &dir, &st, &rc) < 0)
		return rc;
	fb_vm_state_free(&st);
	struct fb_err err = { 0 };
	struct fb_vm_state final = { 0 };
	struct fb_span *sp = fb_span_begin("vm stop");
	fb_span_set(sp, "vm.id", id);
	int sr = fb_vm_stop(dir, timeout, &final, &err);
	if (sr < 0)
		fb_span_error(sp, err.msg);
	fb_span_end(sp);
	if (sr == 0) {
		sp = fb_span_begin("vm teardown");
		sr = fb_vm_teardown(dir, id, &err);
		if (sr < 0)
			fb_span_error(sp, err.msg);
		fb_span_end(sp);
	}
	free(dir);
	/* what it reported before it went */
	rc = sr < 0 ? fail(&err) : print_doc(fb_vm_stopped_doc(id, final.has_exit_code, final.exit_code));
	fb_vm_state_free(&final);
	return rc;
}

static const char purge_usage[] =
	"Usage: firebuild purge\n"
	"Remove what VMs that ended any other way left behind, what starts killed\n"
	"half-way left, and the trees of builds that were killed; running VMs,\n"
	"starts under way and running builds are not touched.\n";

int cmd_purge(int argc, char **argv)
{
	const char *id = NULL;
	char *rcd = NULL;
	long to = 0;
	int rc = 0;
	if (parse_vm_flags(argc, argv, C_PURGE, "purge", purge_usage, &id, &rcd, &to, &rc) < 0)
		return rc;
	char *runs = fb_xasprintf("%s/runs", rcd);
	/* the stage trees of builds killed mid-way */
	char *builds = fb_xasprintf("%s/builds", rcd);
	struct fb_strv swept = FB_STRV_INIT;
	struct fb_err swerr = { 0 };
	if (fb_build_sweep(builds, &swept, &swerr) < 0)
		fb_log(FB_LOG_WARN, "%s", swerr.msg);
	free(builds);
	free(rcd);
	DIR *d = opendir(runs);
	struct dirent *e;
	struct fb_strv purged = FB_STRV_INIT;
	while (d && (e = readdir(d))) {
		if (!strncmp(e->d_name, ".claim-", 7)) {
			/* a name being taken, or one a start killed then left */
			char *cd = fb_xasprintf("%s/%s", runs, e->d_name);
			int cfd = -1;
			if (fb_vm_trylock(cd, &cfd) == 1) {
				fb_tree_remove(cd);
				close(cfd);
			}
			free(cd);
			continue;
		}
		if (e->d_name[0] == '.')
			continue;
		char *dir = fb_xasprintf("%s/%s", runs, e->d_name), *p = fb_xasprintf("%s/state.json", dir);
		/* a start holds the lock until its VMM runs: that one is left alone */
		int lfd = -1;
		int locked = fb_vm_trylock(dir, &lfd);
		if (locked == 0) {
			free(dir);
			free(p);
			continue;
		}
		struct fb_vm_state st;
		struct fb_err er = { 0 };
		bool gone;
		int lr = access(p, F_OK) == 0 ? fb_vm_state_load(p, &st, &er) : -1;
		if (lr < 0 && !strcmp(er.kind, "invalid")) {
			/* a state of another shape is read as found: it names nothing */
			st = (struct fb_vm_state){ 0 };
			lr = 0;
		}
		if (lr == 0) {
			long sup = st.supervisor_pid;
			bool running = !strcmp(fb_vm_status(&st), "running");
			/* a supervisor whose VMM just died is writing its last state */
			for (int i = 0; !running && i < 30 && fb_vm_alive(sup, "fb-jail"); i++)
				usleep(100000);
			gone = !running && !fb_vm_alive(sup, "fb-jail");
			fb_vm_state_free(&st);
		} else if (locked == 1) {
			/* no state, and no start holds it: a start that died half-way */
			gone = true;
		} else {
			/* no lock file (made by hand, or by an older version): a run
			 * that died while starting, if it is old enough */
			struct stat sb;
			gone = stat(dir, &sb) == 0 && time(NULL) - sb.st_mtime > 60;
		}
		struct fb_err te = { 0 };
		struct fb_span *sp = gone ? fb_span_begin("vm teardown") : NULL;
		fb_span_set(sp, "vm.id", e->d_name);
		int tr = gone ? fb_vm_teardown(dir, e->d_name, &te) : -1;
		if (gone && tr < 0) {
			fb_span_error(sp, te.msg);
			fb_log(FB_LOG_WARN, "%s", te.msg);
		}
		fb_span_end(sp);
		if (gone && tr == 0)
			fb_strv_push(&purged, e->d_name);
		if (lfd >= 0)
			close(lfd);
		free(dir);
		free(p);
	}
	if (d)
		closedir(d);
	free(runs);
	rc = print_doc(fb_vm_purged_doc(purged.v, purged.n, swept.v, swept.n));
	fb_strv_free(&purged);
	fb_strv_free(&swept);
	return rc;
}

