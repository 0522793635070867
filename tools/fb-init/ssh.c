/* fb-init: SSH: --ssh-user's keys, per-VM host keys, the image's server. */
#include "fb-init.h"

static pid_t spawn(char *const argv[])
{
	pid_t p = fork();
	if (p == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 0);
		char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		execve(argv[0], argv, env);
		_exit(127);
	}
	return p;
}

static int run_wait(char *const argv[])
{
	pid_t p = spawn(argv);
	int st = 0;
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The user's uid, gid and home from /etc/passwd; made when missing. */
static bool ssh_user(const char *name, uid_t *uid, gid_t *gid, char *home, size_t hlen)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[1024];
	unsigned long max = 999;
	bool found = false;
	while (f && fgets(line, sizeof(line), f)) {
		char *fld[7] = { 0 }, *p = line;
		for (int i = 0; i < 7 && p; i++) {
			fld[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (!fld[5])
			continue;
		unsigned long u = strtoul(fld[2], NULL, 10);
		if (u > max && u < 60000)
			max = u;
		if (!strcmp(fld[0], name)) {
			*uid = (uid_t)u;
			*gid = (gid_t)strtoul(fld[3], NULL, 10);
			snprintf(home, hlen, "%s", fld[5]);
			found = true;
		}
	}
	if (f)
		fclose(f);
	if (found)
		return true;
	*uid = (uid_t)(max + 1);
	*gid = (gid_t)(max + 1);
	snprintf(home, hlen, "/home/%s", name);
	FILE *pw = fopen("/etc/passwd", "ae"), *gr = fopen("/etc/group", "ae");
	if (!pw) {
		if (gr)
			fclose(gr);
		return false;
	}
	fprintf(pw, "%s:x:%u:%u::%s:/bin/sh\n", name, (unsigned)*uid, (unsigned)*gid, home);
	fclose(pw);
	if (gr) {
		fprintf(gr, "%s:x:%u:\n", name, (unsigned)*gid);
		fclose(gr);
	}
	/* a locked password: key logins only (dropbear and sshd need an entry) */
	FILE *sh = fopen("/etc/shadow", "ae");
	if (sh) {
		fprintf(sh, "%s:*:19000:0:99999:7:::\n", name);
		fclose(sh);
	}
	mkdir("/home", 0755);
	return true;
}

void setup_ssh(const struct jval *cfg)
{
	const struct jval *ssh = jget(cfg, "ssh");
	const char *name = jstr(ssh, "user");
	size_t nk;
	char **keys = jstrv(ssh, "keys", &nk);
	if (!name || !nk) {
		free(keys);
		return;
	}
	uid_t uid;
	gid_t gid;
	char home[256], dir[300], file[320];
	if (!ssh_user(name, &uid, &gid, home, sizeof(home))) {
		say("fb-init: warning: --ssh-user %s: cannot add the user", name);
		free(keys);
		return;
	}
	mkdir(home, 0755);
	chown(home, uid, gid);
	snprintf(dir, sizeof(dir), "%s/.ssh", home);
	mkdir(dir, 0700);
	chown(dir, uid, gid);
	chmod(dir, 0700);
	snprintf(file, sizeof(file), "%s/authorized_keys", dir);
	FILE *f = fopen(file, "we");
	for (size_t i = 0; f && i < nk; i++)
		fprintf(f, "%s\n", keys[i]);
	if (f) {
		fclose(f);
		chown(file, uid, gid);
		chmod(file, 0600);
	}
	free(keys);
	/* the server the image has; host keys made here, so no two VMs share them */
	if (access("/usr/sbin/sshd", X_OK) == 0) {
		mkdir("/run/sshd", 0755);
		if (access("/usr/bin/ssh-keygen", X_OK) == 0)
			run_wait((char *const[]){ "/usr/bin/ssh-keygen", "-A", NULL });
		if (spawn((char *const[]){ "/usr/sbin/sshd", "-D", "-e", NULL }) > 0)
			say("fb-init: sshd started for %s", name);
	} else if (access("/usr/sbin/dropbear", X_OK) == 0) {
		mkdir("/etc/dropbear", 0755);
		if (spawn((char *const[]){ "/usr/sbin/dropbear", "-R", "-F", "-E", "-p", "22", NULL }) > 0)
			say("fb-init: dropbear started for %s", name);
	} else {
		say("fb-init: warning: --ssh-user %s: the image has no sshd or dropbear", name);
	}
}
