/* Owners by name (copy.h): USER and --chown's "user[:group]" resolved
 * against the tree's own /etc/passwd and /etc/group, read inside it. */
#include "copy.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "tree.h"
#include "util.h"

/* One of the tree's account files, opened inside it. */
static FILE *tree_file(const char *tree, const char *rel)
{
	int rootfd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return NULL;
	int fd = fb_tree_open(rootfd, rel, O_RDONLY, 0);
	close(rootfd);
	FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
	if (!f && fd >= 0)
		close(fd);
	return f;
}

static bool number(const char *s, unsigned long *n)
{
	char *end;
	errno = 0;
	*n = strtoul(s, &end, 10);
	return *s && !*end && !errno;
}

/* Strict: a name the tree does not know is an error. Lenient (BuildKit's
 * readUser): it is left out, the user's giving 0:0 and the group's
 * keeping the user's group. */
static int resolve_owner(const char *tree, const char *spec, bool lenient, uid_t *uid, gid_t *gid, struct fb_err *err)
{
	char *u = fb_xstrdup(spec), *g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	unsigned long n;
	int ret = 0;
	*uid = 0;
	*gid = 0;
	if (number(u, &n)) {
		*uid = (uid_t)n;
		*gid = (gid_t)n;
	} else {
		FILE *f = tree_file(tree, "etc/passwd");
		struct passwd *pw = NULL;
		while (f && (pw = fgetpwent(f)) && strcmp(pw->pw_name, u))
			;
		if (pw) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
		}
		if (f)
			fclose(f);
		if (!pw && !lenient)
			ret = fb_err_set(err, FB_EXIT_USAGE, "unknown_user", "--chown=%s: unable to find user %s in /etc/passwd",
					 spec, u);
	}
	if (ret == 0 && g && *g) {
		if (number(g, &n)) {
			*gid = (gid_t)n;
		} else {
			FILE *f = tree_file(tree, "etc/group");
			struct group *gr = NULL;
			while (f && (gr = fgetgrent(f)) && strcmp(gr->gr_name, g))
				;
			if (gr)
				*gid = gr->gr_gid;
			if (f)
				fclose(f);
			if (!gr && !lenient)
				ret = fb_err_set(err, FB_EXIT_USAGE, "unknown_group",
						 "--chown=%s: unable to find group %s in /etc/group", spec, g);
		}
	}
	free(u);
	return ret;
}

int fb_resolve_owner(const char *tree, const char *spec, uid_t *uid, gid_t *gid, struct fb_err *err)
{
	return resolve_owner(tree, spec, false, uid, gid, err);
}

void fb_resolve_owner_lenient(const char *tree, const char *spec, uid_t *uid, gid_t *gid)
{
	struct fb_err e = { 0 };
	resolve_owner(tree, spec, true, uid, gid, &e);
}
