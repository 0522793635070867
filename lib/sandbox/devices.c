#include "devices.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

/* Docker's default: character devices only, any access to these. */
static const struct {
	unsigned major;
	int minor; /* -1: any */
} allowed[] = {
	{ 1, 3 }, { 1, 5 }, { 1, 7 }, { 1, 8 }, { 1, 9 }, /* null zero full random urandom */
	{ 5, 0 }, { 5, 1 }, { 5, 2 },                       /* tty console ptmx */
	{ 136, -1 },                                         /* pts/N */
};

int fb_devices_mode_parse(const char *s, enum fb_devices_mode *mode, struct fb_err *err)
{
	if (!s || !*s || !strcmp(s, "auto"))
		*mode = FB_DEVICES_AUTO;
	else if (!strcmp(s, "bpf"))
		*mode = FB_DEVICES_BPF;
	else if (!strcmp(s, "cgroup1"))
		*mode = FB_DEVICES_V1;
	else
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "device cgroup mode %s: expected auto, bpf or cgroup1", s);
	return 0;
}

const char *fb_devices_mode_name(enum fb_devices_mode mode)
{
	switch (mode) {
	case FB_DEVICES_BPF: return "cgroup2 BPF device program";
	case FB_DEVICES_V1: return "cgroup1 devices controller";
	case FB_DEVICES_AUTO: return "auto";
	default: return "none";
	}
}

/* The directory of this process's cgroup in the v2 hierarchy (v2) or in
 * the v1 hierarchy holding the devices controller: the hierarchy's mount
 * point from mountinfo, our path in it from /proc/self/cgroup. */
static char *own_cgroup(bool v2, struct fb_err *err)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		fb_err_errno(err, errno, "/proc/self/mountinfo");
		return NULL;
	}
	char *line = NULL, *mnt = NULL, *mroot = NULL;
	size_t cap = 0;
	while (!mnt && getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE SOURCE SUPEROPTS */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char type[32] = "", src[256] = "", sopts[512] = "", root[1024] = "", point[1024] = "";
		if (sscanf(sep + 3, "%31s %255s %511s", type, src, sopts) < 2 ||
		    sscanf(line, "%*s %*s %*s %1023s %1023s", root, point) != 2)
			continue;
		bool hit = false;
		if (v2) {
			hit = !strcmp(type, "cgroup2");
		} else if (!strcmp(type, "cgroup")) {
			for (char *save = NULL, *t = strtok_r(sopts, ",", &save); t; t = strtok_r(NULL, ",", &save))
				hit |= !strcmp(t, "devices");
		}
		if (hit) {
			mnt = fb_xstrdup(point);
			mroot = fb_xstrdup(root);
		}
	}
	fclose(f);
	free(line);
	if (!mnt) {
		fb_err_set(err, FB_EXIT_FAILED, "cgroup", "no %s mounted", v2 ? "cgroup2 hierarchy" : "cgroup1 devices controller");
		return NULL;
	}
	f = fopen("/proc/self/cgroup", "re");
	char *path = NULL;
	line = NULL, cap = 0;
	while (f && !path && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool hit = false;
		if (v2) {
			hit = !strcmp(line, "0:"); /* "0::PATH" */
		} else {
			for (char *save = NULL, *t = strtok_r(c1 + 1, ",", &save); t; t = strtok_r(NULL, ",", &save))
				hit |= !strcmp(t, "devices");
		}
		if (hit)
			path = fb_xstrdup(c2 + 1);
	}
	if (f)
		fclose(f);
	free(line);
	if (!path) {
		fb_err_set(err, FB_EXIT_FAILED, "cgroup", "this process is in no %s cgroup", v2 ? "v2" : "devices");
		free(mnt);
		free(mroot);
		return NULL;
	}
	/* a hierarchy mounted from a subtree (a cgroup namespace's view) */
	const char *rel = path;
	size_t rl = strlen(mroot);
	if (strcmp(mroot, "/") && !strncmp(path, mroot, rl) && (path[rl] == '/' || !path[rl]))
		rel = path + rl;
	while (*rel == '/')
		rel++;
	char *dir = *rel ? fb_xasprintf("%s/%s", mnt, rel) : fb_xstrdup(mnt);
	free(mnt);
	free(mroot);
	free(path);
	return dir;
}

static int write_str(const char *dir, const char *file, const char *text, struct fb_err *err)
{
	char *p = fb_xasprintf("%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	int r = 0;
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		r = fb_err_errno(err, errno, "write %s to %s", text, p);
	if (fd >= 0)
		close(fd);
	free(p);
	return r;
}

static int v1_rules(const char *dir, struct fb_err *err)
{
	if (write_str(dir, "devices.deny", "a", err) < 0)
		return -1;
	for (size_t i = 0; i < FB_ARRAY_LEN(allowed); i++) {
		char rule[64];
		if (allowed[i].minor < 0)
			snprintf(rule, sizeof(rule), "c %u:* rwm", allowed[i].major);
		else
			snprintf(rule, sizeof(rule), "c %u:%d rwm", allowed[i].major, allowed[i].minor);
		if (write_str(dir, "devices.allow", rule, err) < 0)
			return -1;
	}
	return 0;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = { .code = code, .off = off, .imm = imm };
	i.dst_reg = dst & 0xf;
	i.src_reg = src & 0xf;
	return i;
}

/* The v2 program: r1 is struct bpf_cgroup_dev_ctx {access_type, major,
 * minor}; the device type is access_type's low 16 bits. 1 allows, 0 denies
 * (EPERM). */
static int bpf_load(struct fb_err *err)
{
	struct bpf_insn p[64];
	int n = 0;
	p[n++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
	p[n++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	p[n++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 4, 0);
	p[n++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 8, 0);
	int to_deny = n;
	p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, BPF_DEVCG_DEV_CHAR);
	for (size_t i = 0; i < FB_ARRAY_LEN(allowed); i++) {
		bool any = allowed[i].minor < 0;
		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, any ? 2 : 3, (int32_t)allowed[i].major);
		if (!any)
			p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 2, allowed[i].minor);
		p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
		p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	p[to_deny].off = (int16_t)(n - to_deny - 1);
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	static char license[] = "GPL";
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)p;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)license;
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0)
		return fb_err_errno(err, errno, "load the BPF device program");
	return fd;
}

static int v2_attach(const char *dir, struct fb_err *err)
{
	int prog = bpf_load(err);
	if (prog < 0)
		return -1;
	int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		close(prog);
		return fb_err_errno(err, errno, "%s", dir);
	}
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cg;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	/* with whatever a parent cgroup enforces, not instead of it */
	a.attach_flags = BPF_F_ALLOW_MULTI;
	int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a));
	int e = errno;
	close(cg);
	close(prog); /* the attachment holds the program */
	return r < 0 ? fb_err_errno(err, e, "attach the BPF device program to %s", dir) : 0;
}

static void rmdir_wait(const char *dir)
{
	/* the last task of a cgroup leaves it a moment after its exit status is
	 * known: a few tries, then leave it to the sweep */
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
}

static int make(struct fb_devices *d, bool v2, const char *name, struct fb_err *err)
{
	char *parent = own_cgroup(v2, err);
	if (!parent)
		return -1;
	char *dir = fb_xasprintf("%s/%s", parent, name);
	free(parent);
	int r = mkdir(dir, 0755);
	if (r < 0 && errno == EEXIST && rmdir(dir) == 0) /* a dead process's, with our pid */
		r = mkdir(dir, 0755);
	if (r < 0) {
		int e = errno;
		fb_err_errno(err, e, "mkdir %s", dir);
		free(dir);
		return -1;
	}
	if ((v2 ? v2_attach(dir, err) : v1_rules(dir, err)) < 0) {
		rmdir(dir);
		free(dir);
		return -1;
	}
	d->dir = dir;
	d->used = v2 ? FB_DEVICES_BPF : FB_DEVICES_V1;
	return 0;
}

int fb_devices_create(struct fb_devices *d, enum fb_devices_mode mode, const char *name, struct fb_err *err)
{
	d->used = FB_DEVICES_NONE;
	d->dir = NULL;
	if (mode == FB_DEVICES_BPF || mode == FB_DEVICES_V1)
		return make(d, mode == FB_DEVICES_BPF, name, err);
	struct fb_err e2 = { 0 };
	if (make(d, true, name, &e2) == 0)
		return 0;
	if (make(d, false, name, err) == 0)
		return 0;
	fb_err_prefix(err, "cgroup2: %s; cgroup1", e2.msg);
	return -1;
}

void fb_devices_destroy(struct fb_devices *d)
{
	if (d->dir)
		rmdir_wait(d->dir);
	free(d->dir);
	d->dir = NULL;
	d->used = FB_DEVICES_NONE;
}

void fb_devices_sweep(const char *prefix)
{
	size_t pl = strlen(prefix);
	for (int v2 = 0; v2 < 2; v2++) {
		struct fb_err e = { 0 };
		char *parent = own_cgroup(v2, &e);
		DIR *dir = parent ? opendir(parent) : NULL;
		struct dirent *de;
		while (dir && (de = readdir(dir))) {
			char *end;
			if (strncmp(de->d_name, prefix, pl))
				continue;
			long pid = strtol(de->d_name + pl, &end, 10);
			if (*end || pid <= 0 || pid > INT32_MAX || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
				continue;
			char *p = fb_xasprintf("%s/%s", parent, de->d_name);
			rmdir(p);
			free(p);
		}
		if (dir)
			closedir(dir);
		free(parent);
	}
}
