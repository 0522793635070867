/* fb-jail prepare: the first step of a VM's start after fb-tag get. It
 * claims the VM's name (<run-cache>/runs/<id>, made with its lock held:
 * exit 4 when another VM or start has it; firebuild run claims it itself
 * and hands the held lock over in FB_VM_LOCK_FD), copies the image's ext4
 * into the run directory (sparse, 0600) with fb-init written in
 * (lib/ext4img), and adds to the document the VM spec fb-jail start reads:
 * the machine, the jail, and the config drive's content (the image's
 * ENTRYPOINT, CMD, ENV merged with --env-file and --env, USER, WORKDIR,
 * STOPSIGNAL, the hostname, SSH keys). fb-net add, between the two, adds
 * the network; start writes the drive with it. Nothing is made before
 * every input (flags, files, the image document) has been read. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "doc.h"
#include "err.h"
#include "ext4img.h"
#include "file.h"
#include "log.h"
#include "store.h"
#include "tool.h"
#include "user.h"
#include "util.h"
#include "vm.h"
#include "spec.h"
#include "fb-etc.h"

#include "fb-jail.h"

static int number(const char *flag, const char *arg, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (*end == 's' && !strcmp(flag, "--shutdown-timeout"))
		end++;
	if (errno || end == arg || *end || v < lo || v > hi)
		return fb_tool_usage_error("%s %s: expected a number from %ld to %ld", flag, arg, lo, hi);
	*out = v;
	return 0;
}

int prepare_opt(int opt, const char *arg, struct prepare_req *r)
{
	switch (opt) {
	case P_NAME:
		if (!fb_vm_valid_name(arg))
			return fb_tool_usage_error("--name %s: 1 to 20 characters of [a-zA-Z0-9]", arg);
		r->name = arg;
		return 0;
	case P_RUN_CACHE: r->run_cache = arg; return 0;
	case P_KERNEL: r->kernel = arg; return 0;
	case P_CPU: return number("--cpu", arg, 1, 64, &r->cpu);
	case P_MEM: return number("--mem", arg, 32, 1 << 22, &r->mem);
	case P_TIMEOUT: return number("--shutdown-timeout", arg, 0, INT_MAX, &r->stop_timeout);
	case P_JAIL_UID: return number("--jailer-uid", arg, 0, 4294967294L, &r->jail_uid);
	case P_JAIL_GID: return number("--jailer-gid", arg, 0, 4294967294L, &r->jail_gid);
	case P_NUMA: return number("--jailer-numa-node", arg, 0, INT_MAX, &r->numa);
	case P_KERNEL_ARGS: r->kernel_args = arg; return 0;
	case P_HOSTNAME: r->hostname = arg; return 0;
	case P_ENV:
		if (arg[0] == '=' || !arg[0])
			return fb_tool_usage_error("--env %s: a variable needs a name", arg);
		fb_strv_push(&r->env, arg);
		return 0;
	case P_ENV_FILE: fb_strv_push(&r->env_files, arg); return 0;
	case P_SSH_USER: r->ssh_user = arg; return 0;
	case P_IDENTITY: fb_strv_push(&r->identities, arg); return 0;
	case P_DAEMONIZE: r->daemonize = true; return 0;
	case P_VMM:
		if (strcmp(arg, "qemu") && strcmp(arg, "firecracker") && strcmp(arg, "auto"))
			return fb_tool_usage_error("--vmm %s: expected qemu or firecracker", arg);
		r->vmm = arg;
		return 0;
	case P_FC_BINARY: r->fc_binary = arg; return 0;
	case P_CPU_TEMPLATE: {
		static const char *const templates[] = { "T2", "T2S", "T2CL", "T2A", "C3", "None" };
		for (size_t i = 0; i < FB_ARRAY_LEN(templates); i++)
			if (!strcmp(arg, templates[i])) {
				r->cpu_template = arg;
				return 0;
			}
		return fb_tool_usage_error("--cpu-template %s: one of T2, T2S, T2CL, T2A, C3, None", arg);
	}
	case P_HT: r->smt = true; return 0;
	case P_LOG_CALLS: r->log_calls = true; return 0;
	case P_NO_MMDS: r->no_mmds = true; return 0;
	case P_NO_JAIL: r->no_jail = true; return 0;
	case P_CHROOT_BASE: r->chroot_base = arg; return 0;
	case P_CGROUP:
		if (!strchr(arg, '=') || arg[0] == '=' || strchr(arg, '/'))
			return fb_tool_usage_error("--cgroup %s: expected FILE=VALUE", arg);
		fb_strv_push(&r->cgroups, arg);
		return 0;
	default: return fb_tool_usage_error("unknown option");
	}
}

void prepare_req_free(struct prepare_req *r)
{
	fb_strv_free(&r->env);
	fb_strv_free(&r->env_files);
	fb_strv_free(&r->identities);
	fb_strv_free(&r->cgroups);
}

/* ---- the config drive's content ---- */

/* Later values of a name replace earlier ones, in place. */
static void env_merge(struct fb_strv *env, const char *kv)
{
	size_t n = strcspn(kv, "=");
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], kv, n) && env->v[i][n] == '=') {
			free(env->v[i]);
			env->v[i] = fb_xstrdup(kv);
			return;
		}
	fb_strv_push(env, kv);
}

/* --env K=V, or K alone: the value from our environment (none: left out). */
static void env_flag(struct fb_strv *env, const char *arg)
{
	if (strchr(arg, '=')) {
		env_merge(env, arg);
	} else if (getenv(arg)) {
		char *kv = fb_xasprintf("%s=%s", arg, getenv(arg));
		env_merge(env, kv);
		free(kv);
	}
}

/* K=V lines of an env file (Docker's format: comments, blank lines, K
 * alone takes the value from our environment). */
static int read_env_file(const char *path, struct fb_strv *env, struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_file(path, &b, err) < 0) {
		fb_err_prefix(err, "--env-file");
		fb_buf_free(&b);
		return -1;
	}
	char *save = NULL;
	int lineno = 0, r = 0;
	for (char *l = strtok_r(b.data ? b.data : (char[]){ 0 }, "\n", &save); l && r == 0; l = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t n = strlen(l);
		if (n && l[n - 1] == '\r')
			l[--n] = '\0';
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l || *l == '#')
			continue;
		if (*l == '=')
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "--env-file %s:%d: a variable needs a name", path, lineno);
		else
			env_flag(env, l);
	}
	fb_buf_free(&b);
	return r;
}

/* The public keys' lines, for the user's authorized_keys. */
static int read_keys(const struct prepare_req *r, struct fb_drive_ssh **out, struct fb_err *err)
{
	*out = NULL;
	if (!r->ssh_user && !r->identities.n)
		return 0;
	struct fb_drive_ssh *ssh = fb_xcalloc(1, sizeof(*ssh));
	int ret = 0;
	for (size_t i = 0; i < r->identities.n && ret == 0; i++) {
		struct fb_buf kb = FB_BUF_INIT;
		if (fb_read_file(r->identities.v[i], &kb, err) < 0) {
			fb_err_prefix(err, "--identity-file");
			ret = -1;
		}
		char *save = NULL;
		for (char *l = ret ? NULL : strtok_r(kb.data ? kb.data : (char[]){ 0 }, "\n", &save); l && ret == 0;
		     l = strtok_r(NULL, "\n", &save)) {
			if (strstr(l, "PRIVATE KEY"))
				ret = fb_err_set(err, FB_EXIT_USAGE, "usage", "--identity-file %s: a private key; give the .pub",
						 r->identities.v[i]);
			else if (*l && *l != '#')
				fb_strv_push(&ssh->keys, l);
		}
		fb_buf_free(&kb);
	}
	if (ret == 0 && (!r->ssh_user || !ssh->keys.n))
		ret = fb_err_set(err, FB_EXIT_USAGE, "usage", "--ssh-user and --identity-file (a public key) go together");
	if (ret < 0) {
		fb_strv_free(&ssh->keys);
		free(ssh);
		return -1;
	}
	ssh->user = fb_xstrdup(r->ssh_user);
	*out = ssh;
	return 0;
}

/* A Docker-style name for the hostname: adjective-surname. */
static char *random_hostname(void)
{
	static const char *const adj[] = { "admiring", "bold",    "brave",    "busy",     "calm",    "clever",  "cool",
					   "eager",    "elated",  "epic",     "festive",  "focused", "gallant", "gifted",
					   "happy",    "jolly",   "keen",     "kind",     "lucid",   "modest",  "nifty",
					   "quirky",   "relaxed", "serene",   "sharp",    "stoic",   "sweet",   "tender",
					   "trusting", "upbeat",  "vibrant",  "wizardly", "zealous", "zen" };
	static const char *const name[] = { "albattani", "babbage", "bardeen",   "bell",     "curie",    "darwin",
					    "dijkstra",  "einstein", "euclid",   "fermat",   "feynman",  "galileo",
					    "goldberg",  "hopper",  "hypatia",   "kepler",   "knuth",    "lamarr",
					    "lovelace",  "mayer",   "meitner",   "newton",   "noether",  "pasteur",
					    "ritchie",   "shannon", "thompson",  "torvalds", "turing",   "wozniak" };
	unsigned char r[2] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, r, 2) != 2)
		r[0] = (unsigned char)getpid(), r[1] = (unsigned char)time(NULL);
	if (fd >= 0)
		close(fd);
	return fb_xasprintf("%s-%s", adj[r[0] % FB_ARRAY_LEN(adj)], name[r[1] % FB_ARRAY_LEN(name)]);
}

/* What fb-init reads, from the image and the flags. */
static int drive_config(const struct prepare_req *r, const struct fb_vm_image *img, const char *id,
			struct fb_drive_config *c, struct fb_err *err)
{
	*c = (struct fb_drive_config){ .stop_timeout = r->stop_timeout };
	for (size_t i = 0; i < img->env.n; i++)
		fb_strv_push(&c->env, img->env.v[i]);
	for (size_t i = 0; i < r->env_files.n; i++)
		if (read_env_file(r->env_files.v[i], &c->env, err) < 0)
			return -1;
	for (size_t i = 0; i < r->env.n; i++)
		env_flag(&c->env, r->env.v[i]);
	if (read_keys(r, &c->ssh, err) < 0)
		return -1;
	c->id = fb_xstrdup(id);
	c->hostname = r->hostname && *r->hostname ? fb_xstrdup(r->hostname) : random_hostname();
	for (size_t i = 0; i < img->entrypoint.n; i++)
		fb_strv_push(&c->entrypoint, img->entrypoint.v[i]);
	char *const *cmd = r->cmd ? r->cmd : img->cmd.v;
	size_t ncmd = r->cmd ? r->ncmd : img->cmd.n;
	for (size_t i = 0; i < ncmd; i++)
		fb_strv_push(&c->cmd, cmd[i]);
	c->user = img->user ? fb_xstrdup(img->user) : NULL;
	c->workdir = img->workdir ? fb_xstrdup(img->workdir) : NULL;
	c->stop_signal = img->stop_signal ? fb_xstrdup(img->stop_signal) : NULL;
	return 0;
}

/* ---- the VM ---- */

/* The spec fb-jail start reads (docs/tools/fb-jail.md). */
static void vm_spec(const struct prepare_req *r, const struct fb_vm_image *img, const char *id, const char *rc,
		    const char *dir, struct fb_drive_config *cfg, struct fb_vm_spec *s)
{
	*s = (struct fb_vm_spec){ .cpu = r->cpu, .mem = r->mem, .stop_timeout = r->stop_timeout, .daemonize = r->daemonize,
				  .remove_after = !r->daemonize, .smt = r->smt, .log_api_calls = r->log_calls,
				  .mmds = r->no_mmds ? FB_MMDS_NONE : FB_MMDS_VM };
	s->id = fb_xstrdup(id);
	s->run_dir = fb_xstrdup(dir);
	s->run_cache = fb_xstrdup(rc);
	s->image = fb_xasprintf("%s:%s", img->name, img->version);
	s->kernel = fb_xstrdup(r->kernel);
	s->rootfs = fb_xasprintf("%s/rootfs.ext4", dir);
	s->config_drive = fb_xasprintf("%s/config.drive", dir);
	s->kernel_args = fb_xstrdup(r->kernel_args ? r->kernel_args : "");
	s->vmm = r->vmm ? fb_xstrdup(r->vmm) : NULL;
	s->firecracker_binary = r->fc_binary ? fb_xstrdup(r->fc_binary) : NULL;
	s->cpu_template = r->cpu_template ? fb_xstrdup(r->cpu_template) : NULL;
	s->config = fb_xmalloc(sizeof(*s->config));
	*s->config = *cfg;
	*cfg = (struct fb_drive_config){ 0 };
	if (r->no_jail)
		return;
	/* not root unless asked: nobody's ids by default */
	struct fb_vm_jail_spec *j = s->jail = fb_xcalloc(1, sizeof(*s->jail));
	j->base = fb_xstrdup(r->chroot_base ? r->chroot_base : "/srv/jailer");
	j->uid = r->jail_uid >= 0 ? r->jail_uid : 65534;
	j->gid = r->jail_gid >= 0 ? r->jail_gid : j->uid;
	j->numa_node = r->numa;
	j->cgroup = fb_xcalloc(r->cgroups.n + 1, sizeof(*j->cgroup));
	for (size_t i = 0; i < r->cgroups.n; i++) {
		const char *kv = r->cgroups.v[i], *eq = strchr(kv, '=');
		j->cgroup[j->ncgroup++] = (struct fb_vm_setting){ fb_xstrndup(kv, (size_t)(eq - kv)), fb_xstrdup(eq + 1) };
	}
}

/* "sha256:..." of the two /etc files' text, a NUL between them. */
static char *etc_digest(const char *hosts, const char *env)
{
	char d[72];
	struct fb_sha256 h;
	fb_sha256_init(&h);
	fb_sha256_update(&h, hosts, strlen(hosts) + 1);
	fb_sha256_update(&h, env, strlen(env));
	fb_sha256_final(&h, d);
	return fb_xstrdup(d);
}

/* The VM's copy of the image: sparse, root's alone (the jail user's once
 * jailed: fb-jail start), not synced (it goes with the VM), with, in one
 * opening of it: this fb-init in /sbin (a link /sbin -> usr/sbin is
 * followed inside the image), its mount points when the image has none
 * (it then makes no directory at boot: a first mkdir costs a TCG guest
 * 10 ms; the kernel mounts devtmpfs on /dev itself), and what fb-init
 * would write first thing (a TCG guest's first ext4 writes cost it ~20 ms
 * before its workload can start): /etc/hosts and run-env.sh. Where the
 * image will not take those two (a directory where the file goes),
 * fb-init writes them as it did, and says what failed. It also reads
 * /etc/passwd and /etc/group there and resolves USER: cfg->prepared says
 * what it did, for fb-init at the copy's first boot (fb-jail start). */
static int copy_rootfs(const char *image, const char *rootfs, struct fb_drive_config *cfg, struct fb_err *err)
{
	char init[PATH_MAX + 64];
	struct fb_buf b = FB_BUF_INIT, passwd = FB_BUF_INIT, group = FB_BUF_INIT;
	if (fb_tool_path("fb-init", init, sizeof(init), err) < 0 || fb_read_file(init, &b, err) < 0 ||
	    fb_copy_scratch(image, rootfs, err) < 0) {
		fb_buf_free(&b);
		return -1;
	}
	int r = 0;
	if (chmod(rootfs, 0600) < 0)
		r = fb_err_errno(err, errno, "%s", rootfs);
	char *hosts = fb_etc_hosts(cfg->hostname), *env = fb_etc_run_env(cfg->env.v, cfg->env.n);
	if (r == 0 && (!hosts || !env))
		r = fb_err_set(err, FB_EXIT_FAILED, "memory", "out of memory");
	/* the image's own users, read before anything is written */
	struct fb_ext4_entry ents[] = {
		{ .path = "/etc/passwd", .read = &passwd },
		{ .path = "/etc/group", .read = &group },
		{ .path = "/sbin/fb-init", .data = b.data, .len = b.len, .mode = 0755 },
		{ .path = "/proc" },
		{ .path = "/sys" },
		{ .path = "/dev" },
		{ .path = "/run" },
		{ .path = "/tmp" },
		{ .path = "/etc/hosts", .data = hosts, .len = hosts ? strlen(hosts) : 0, .mode = 0644, .optional = true },
		{ .path = "/etc/profile.d/run-env.sh", .data = env, .len = env ? strlen(env) : 0, .mode = 0644, .optional = true },
	};
	size_t n = FB_ARRAY_LEN(ents);
	if (r == 0)
		r = fb_ext4_put_all(rootfs, ents, n, false, err);
	if (r == 0) {
		/* what fb-init need not do at the copy's first boot */
		struct fb_drive_prepared *pr = cfg->prepared = fb_xcalloc(1, sizeof(*pr));
		if (ents[n - 2].put && ents[n - 1].put)
			pr->etc = etc_digest(hosts, env);
		struct fb_user u;
		struct fb_err ue = { 0 };
		/* against both files as the guest will find them: read, or not
		 * there at all; one that is but was not read (a link, too large)
		 * is fb-init's to read at boot, not an empty file here */
		bool known = (ents[0].put || ents[0].absent) && (ents[1].put || ents[1].absent);
		if (known && fb_user_resolve_text(cfg->user, fb_buf_str(&passwd), fb_buf_str(&group), &u, &ue) == 0) {
			pr->user = fb_xstrdup(cfg->user ? cfg->user : "");
			pr->ids.uid = u.uid;
			pr->ids.gid = u.gid;
			for (int i = 0; i < u.ngroups && i < 64; i++)
				pr->ids.groups[pr->ids.ngroups++] = u.groups[i];
			pr->ids.home = fb_xstrdup(u.home && *u.home ? u.home : "/");
			fb_user_free(&u);
		}
		/* else fb-init finds the same error at boot and reports it */
	}
	free(hosts);
	free(env);
	fb_buf_free(&b);
	fb_buf_free(&passwd);
	fb_buf_free(&group);
	return r;
}

char *guest_etc_digest(const struct fb_drive_config *cfg)
{
	char *hosts = fb_etc_hosts(cfg->hostname), *env = fb_etc_run_env(cfg->env.v, cfg->env.n);
	char *d = hosts && env ? etc_digest(hosts, env) : NULL;
	free(hosts);
	free(env);
	return d;
}

static int prepare(struct prepare_req *r, struct fb_doc *doc, struct fb_err *err)
{
	if (!r->kernel)
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "prepare needs --kernel=VMLINUX");
	if (r->no_jail && (r->jail_uid >= 0 || r->jail_gid >= 0 || r->cgroups.n))
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--no-jail goes with no --jailer-uid or --cgroup");
	if (access(r->kernel, R_OK) < 0)
		return fb_err_errno(err, errno, "--kernel %s", r->kernel);
	struct fb_vm_image img;
	if (fb_vm_image_decode(doc, &img, err) < 0)
		return -1;
	char idbuf[21];
	if (!r->name)
		fb_vm_new_id(idbuf);
	const char *id = r->name ? r->name : idbuf;
	struct fb_drive_config cfg = { 0 };
	int ret = 0;
	if (access(img.rootfs, R_OK) < 0)
		ret = fb_err_errno(err, errno, "image %s:%s: %s", img.name, img.version, img.rootfs);
	else
		ret = drive_config(r, &img, id, &cfg, err);
	const char *rc = fb_run_cache(r->run_cache);
	char *runs = fb_xasprintf("%s/runs", rc), *dir = fb_xasprintf("%s/%s", runs, id);
	char *sock = fb_xasprintf("%s/ctl.sock", dir);
	if (ret == 0 && strlen(sock) > SOCK_MAX)
		ret = fb_err_set(err, FB_EXIT_USAGE, "socket_path",
				 "the control socket %s is %zu bytes, over the Unix socket limit of %d: use a shorter --run-cache",
				 sock, strlen(sock), SOCK_MAX);
	/* one VM a name: the name is taken before anything is made, and a
	 * name in use is another VM's, not ours to remove; firebuild run took
	 * it already and holds it for the whole pipeline */
	int lock = ret == 0 ? fb_vm_inherited_lock(dir) : -1;
	bool claimed = false;
	if (ret == 0 && lock < 0) {
		ret = fb_mkdir_p(rc, 0755, err) < 0 ? -1 : fb_vm_claim(runs, id, &lock, err);
		claimed = ret == 0;
	}
	struct fb_vm_spec spec = { 0 };
	if (ret == 0) {
		vm_spec(r, &img, id, rc, dir, &cfg, &spec);
		ret = copy_rootfs(img.rootfs, spec.rootfs, spec.config, err);
	}
	if (ret == 0) {
		fb_vm_spec_encode(doc, &spec);
	} else if (claimed) {
		/* what this step made goes, the name with it */
		struct fb_err te = { 0 };
		if (fb_vm_teardown(dir, id, &te) < 0)
			fb_log_failure(&te);
	}
	if (lock >= 0)
		close(lock);
	fb_vm_spec_free(&spec);
	fb_drive_config_free(&cfg);
	fb_vm_image_free(&img);
	free(runs);
	free(dir);
	free(sock);
	return ret;
}

int cmd_prepare(struct prepare_req *r)
{
	struct fb_err err = { 0 };
	struct fb_doc *doc = NULL;
	if (fb_vm_doc_read(0, false, &doc, &err) < 0)
		return fb_tool_fail(&err);
	if (fb_doc_is_error(doc))
		return fb_doc_pass_error(doc);
	if (prepare(r, doc, &err) < 0) {
		fb_doc_free(doc);
		return fb_tool_fail(&err);
	}
	return fb_doc_finish(doc);
}
