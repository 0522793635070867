/* fb-init: USER as Docker reads it, the program in PATH, STOPSIGNAL. */
#include "fb-init.h"

/* A uid or gid as Docker takes one (lib/sandbox/user, which fb-jail
 * prepare resolves with at a copy's first boot): decimal digits alone, 1
 * with the value; 0 for a name ("+5", " 5", "-1" are names); out of
 * 0-2147483647 an error, never a wrap ("4294967296" is not root). */
static int numeric_id(const char *what, const char *v, unsigned long *out)
{
	if (!*v || strspn(v, "0123456789") != strlen(v))
		return 0;
	errno = 0;
	unsigned long long n = strtoull(v, NULL, 10);
	if (errno || n > 2147483647ULL)
		fail(125, "%s %s out of range: uids and gids must be in range 0-2147483647", what, v);
	*out = (unsigned long)n;
	return 1;
}

/* USER as Docker reads it: name or uid, optional :group, from the image's
 * own /etc/passwd and /etc/group. */
void resolve_user(const char *spec, struct user *u)
{
	memset(u, 0, sizeof(*u));
	strcpy(u->home, "/");
	strcpy(u->name, "root");
	if (!spec || !*spec)
		spec = "0";
	char us[128], *gs = NULL;
	/* no name cut short to another's */
	if (strlen(spec) >= sizeof(us))
		fail(125, "unable to find user %.64s...: no matching entries in passwd file", spec);
	scopy(us, sizeof(us), spec);
	if ((gs = strchr(us, ':')))
		*gs++ = '\0';
	unsigned long num = 0;
	bool numeric = numeric_id("uid", us, &num);
	bool found = false;
	FILE *f = fopen("/etc/passwd", "re");
	/* whole lines, however long (as glibc and runc read them): a piece of
	 * a long one is not an entry of its own */
	char *line = NULL;
	size_t cap = 0;
	while (f && !found && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *fld[7] = { 0 }, *p = line;
		for (int i = 0; i < 7 && p; i++) {
			fld[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (!fld[3])
			continue;
		if ((numeric && strtoul(fld[2], NULL, 10) == num) || (!numeric && !strcmp(fld[0], us))) {
			u->uid = (uid_t)strtoul(fld[2], NULL, 10);
			u->gid = (gid_t)strtoul(fld[3], NULL, 10);
			scopy(u->name, sizeof(u->name), fld[0]);
			if (fld[5] && *fld[5])
				scopy(u->home, sizeof(u->home), fld[5]);
			found = true;
		}
	}
	if (f)
		fclose(f);
	if (!found) {
		if (!numeric)
			fail(125, "unable to find user %s: no matching entries in passwd file", us);
		/* no entry: the root group, as runc (Docker: "run with the root group") */
		u->uid = (uid_t)num;
		u->gid = 0;
		u->name[0] = '\0';
	}
	if (gs && *gs) {
		if (numeric_id("gid", gs, &num)) {
			u->gid = (gid_t)num;
		} else {
			bool g = false;
			f = fopen("/etc/group", "re");
			while (f && !g && getline(&line, &cap, f) > 0) {
				char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
				if (c1 && c2 && (size_t)(c1 - line) == strlen(gs) && !strncmp(line, gs, strlen(gs))) {
					u->gid = (gid_t)strtoul(c2 + 1, NULL, 10);
					g = true;
				}
			}
			if (f)
				fclose(f);
			if (!g)
				fail(125, "unable to find group %s: no matching entries in group file", gs);
		}
	}
	/* supplementary groups: the user's name in /etc/group's member lists,
	 * unless a group was given (runc's GetExecUser) */
	u->groups[u->ngroups++] = u->gid;
	f = u->name[0] && !(gs && *gs) ? fopen("/etc/group", "re") : NULL;
	while (f && getline(&line, &cap, f) > 0 && u->ngroups < 64) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
		if (!c3)
			continue;
		/* the primary group is not listed again (runc skips it) */
		for (char *m = strtok(c3 + 1, ","); m && (gid_t)strtoul(c2 + 1, NULL, 10) != u->gid; m = strtok(NULL, ","))
			if (!strcmp(m, u->name)) {
				u->groups[u->ngroups++] = (gid_t)strtoul(c2 + 1, NULL, 10);
				break;
			}
	}
	if (f)
		fclose(f);
	free(line);
}

/* USER as fb-jail prepare resolved it in the VM's fresh copy (the config
 * drive's ids, given at its first boot): false when they are not whole. */
bool ids_user(const struct jval *ids, const char *spec, struct user *u)
{
	const struct jval *uid = jget(ids, "uid"), *gid = jget(ids, "gid"), *groups = jget(ids, "groups");
	const char *home = jstr(ids, "home");
	if (!uid || uid->t != J_NUM || !gid || gid->t != J_NUM || !groups || groups->t != J_ARR || !groups->n ||
	    groups->n > 64 || !home || strlen(home) >= sizeof(u->home))
		return false;
	memset(u, 0, sizeof(*u));
	for (size_t i = 0; i < groups->n; i++) {
		if (groups->v[i].t != J_NUM || groups->v[i].num < 0 || groups->v[i].num > 4294967295.0)
			return false;
		u->groups[u->ngroups++] = (gid_t)groups->v[i].num;
	}
	if (uid->num < 0 || uid->num > 4294967295.0 || gid->num < 0 || gid->num > 4294967295.0)
		return false;
	u->uid = (uid_t)uid->num;
	u->gid = (gid_t)gid->num;
	scopy(u->home, sizeof(u->home), home);
	scopy(u->name, sizeof(u->name), spec && *spec ? spec : "root");
	return true;
}

void scopy(char *dst, size_t n, const char *src)
{
	if (!n)
		return;
	size_t l = strlen(src);
	if (l >= n)
		l = n - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/* execvp with the workload's PATH, not ours. */
void exec_in_path(char **argv, char **env)
{
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, env);
		return;
	}
	const char *path = env_get(env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int saved = ENOENT;
	for (const char *p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char full[4096];
		size_t an = strlen(argv[0]);
		/* an entry too long to make a name of is skipped, as execvp does */
		if (n + (n != 0) + an < sizeof(full)) {
			memcpy(full, p, n);
			size_t at = n;
			if (n)
				full[at++] = '/';
			memcpy(full + at, argv[0], an + 1);
			execve(full, argv, env);
			if (errno != ENOENT)
				saved = errno;
		}
		if (!e)
			break;
		p = e;
	}
	errno = saved;
}

int sig_by_name(const char *s)
{
	static const struct {
		const char *n;
		int s;
	} t[] = { { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
		  { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "WINCH", SIGWINCH },
		  { "PWR", SIGPWR } };
	if (!s || !*s)
		return SIGTERM;
	if (isdigit((unsigned char)*s))
		return atoi(s);
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcasecmp(s, t[i].n))
			return t[i].s;
	return SIGTERM;
}
