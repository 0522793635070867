/* Who a sandboxed command runs as: USER[:GROUP] resolved against the
 * tree's passwd and group files as runc's GetExecUser does it for Docker
 * and BuildKit, and its environment. */
#ifndef FB_USER_H
#define FB_USER_H

#include <sys/types.h>

#include "err.h"
#include "util.h"

struct fb_user {
	uid_t uid;
	gid_t gid;
	char *home;       /* its passwd entry's; NULL: none */
	gid_t groups[64]; /* gid first, then the supplementary ones */
	int ngroups;
};

/* spec (NULL or "": root) against passwd and group files (the tree's
 * /etc/passwd and /etc/group, once inside it; a missing file is an empty
 * one). No USER is uid 0; the passwd entry of the user, by name or uid,
 * gives its group and home; a uid with no entry runs with group 0 and no
 * home; supplementary groups come from the group file only when no GROUP
 * is given. Numbers go from 0 to 2147483647 as Docker takes them: a larger
 * one is an error, never a wrap to another id. */
int fb_user_resolve(const char *spec, const char *passwd, const char *group, struct fb_user *u,
		    struct fb_err *err) FB_MUST_CHECK;
/* The same against the files' text (NULL or "": an empty file). */
int fb_user_resolve_text(const char *spec, const char *passwd, const char *group, struct fb_user *u,
			 struct fb_err *err) FB_MUST_CHECK;
void fb_user_free(struct fb_user *u);
/* Become u: its groups, then its gid and uid. */
int fb_user_become(const struct fb_user *u, struct fb_err *err) FB_MUST_CHECK;
/* The environment is env alone (pointers kept, as putenv does), with PATH
 * defaulted and HOME the user's home ("/" without one) unless given. */
void fb_user_env(const struct fb_strv *env, const struct fb_user *u);

#endif
