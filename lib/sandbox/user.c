#include "user.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

/* A uid or gid in decimal: 1 with its value; 0 for a name; -1 out of
 * Docker's range. */
static int numeric_id(const char *what, const char *v, unsigned long *out, struct fb_err *err)
{
	if (!*v || strspn(v, "0123456789") != strlen(v))
		return 0;
	errno = 0;
	unsigned long long n = strtoull(v, NULL, 10);
	if (errno || n > 2147483647ULL)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s %s out of range: uids and gids must be in range 0-2147483647",
				  what, v);
	*out = (unsigned long)n;
	return 1;
}

/* A passwd or group database: the file at path, or text when not NULL
 * (NULL: none, an empty one). */
static FILE *db_open(const char *path, const char *text)
{
	if (!text)
		return fopen(path, "re");
	return *text ? fmemopen((void *)text, strlen(text), "r") : NULL;
}

static int resolve(const char *spec, const char *passwd, const char *ptext, const char *group, const char *gtext,
		   struct fb_user *u, struct fb_err *err)
{
	*u = (struct fb_user){ 0 };
	FB_AUTOFREE char *user = fb_xstrdup(spec ? spec : ""), *name = NULL;
	char *g = strchr(user, ':');
	if (g)
		*g++ = '\0';
	unsigned long n = 0;
	int numeric = numeric_id("uid", user, &n, err);
	if (numeric < 0)
		return -1;
	FILE *f = db_open(passwd, ptext);
	struct passwd *pw;
	while (f && (pw = fgetpwent(f))) {
		/* a line of "+" or "-" alone (NIS compat): glibc makes it an
		 * entry of uid 0 with no home (NULL); fb-init, and so a VM's
		 * later boots, skip it, as no entry at all */
		if (!pw->pw_dir || !pw->pw_passwd)
			continue;
		if ((!*user && pw->pw_uid == 0) || (numeric && pw->pw_uid == n) || (!numeric && *user && !strcmp(pw->pw_name, user))) {
			u->uid = pw->pw_uid, u->gid = pw->pw_gid;
			u->home = fb_xstrdup(pw->pw_dir);
			name = fb_xstrdup(pw->pw_name);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!name && *user) {
		if (!numeric)
			return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found",
					  "unable to find user %s: no matching entries in passwd file", user);
		u->uid = (uid_t)n; /* the group stays root's */
	}
	if (g && *g) {
		unsigned long gn;
		int gnum = numeric_id("gid", g, &gn, err);
		if (gnum < 0)
			return -1;
		if (gnum) {
			u->gid = (gid_t)gn;
		} else {
			FILE *gf = db_open(group, gtext);
			struct group *gr;
			bool found = false;
			while (gf && !found && (gr = fgetgrent(gf)))
				if (gr->gr_passwd && !strcmp(gr->gr_name, g)) { /* not a "+" line */
					u->gid = gr->gr_gid;
					found = true;
				}
			if (gf)
				fclose(gf);
			if (!found)
				return fb_err_set(err, FB_EXIT_NOTFOUND, "not_found",
						  "unable to find group %s: no matching entries in group file", g);
		}
		/* an explicit group: no supplementary ones */
		free(name);
		name = NULL;
	}
	u->groups[u->ngroups++] = u->gid;
	/* supplementary groups from the group file */
	FILE *gf = name ? db_open(group, gtext) : NULL;
	struct group *gr;
	while (gf && u->ngroups < (int)FB_ARRAY_LEN(u->groups) && (gr = fgetgrent(gf)))
		for (char **m = gr->gr_mem; m && *m && u->ngroups < (int)FB_ARRAY_LEN(u->groups); m++)
			if (!strcmp(*m, name) && gr->gr_gid != u->gid)
				u->groups[u->ngroups++] = gr->gr_gid;
	if (gf)
		fclose(gf);
	return 0;
}

int fb_user_resolve(const char *spec, const char *passwd, const char *group, struct fb_user *u, struct fb_err *err)
{
	return resolve(spec, passwd, NULL, group, NULL, u, err);
}

int fb_user_resolve_text(const char *spec, const char *passwd, const char *group, struct fb_user *u, struct fb_err *err)
{
	return resolve(spec, "passwd", passwd ? passwd : "", "group", group ? group : "", u, err);
}

void fb_user_free(struct fb_user *u)
{
	free(u->home);
	u->home = NULL;
}

int fb_user_become(const struct fb_user *u, struct fb_err *err)
{
	if (setgroups((size_t)u->ngroups, u->groups) < 0)
		return fb_err_errno(err, errno, "setgroups");
	if (setgid(u->gid) < 0)
		return fb_err_errno(err, errno, "setgid %lu", (unsigned long)u->gid);
	if (setuid(u->uid) < 0)
		return fb_err_errno(err, errno, "setuid %lu", (unsigned long)u->uid);
	return 0;
}

void fb_user_env(const struct fb_strv *env, const struct fb_user *u)
{
	clearenv();
	bool has_path = false, has_home = false;
	for (size_t i = 0; i < env->n; i++) {
		putenv(env->v[i]);
		has_path |= !strncmp(env->v[i], "PATH=", 5);
		has_home |= !strncmp(env->v[i], "HOME=", 5);
	}
	if (!has_path)
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	/* the user's home from its passwd entry, "/" without one (runc) */
	if (!has_home)
		setenv("HOME", u->home ? u->home : "/", 1);
}
