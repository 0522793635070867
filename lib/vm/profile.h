/* Profiles: named sets of defaults (the original firebuild's), stored as
 * JSON in the profile directory. A flag on the command line beats the
 * profile; with no profile the embedded defaults of DESIGN.md apply. */
#ifndef FB_PROFILE_H
#define FB_PROFILE_H

#include <jv.h>

struct fb_err;

/* /etc/firebuild/profiles for root, else $XDG_CONFIG_HOME/firebuild/profiles. */
const char *fb_profile_dir_default(void);
/* The embedded default profile. */
jv fb_profile_defaults(void);
/* Load NAME from dir (NULL: the default dir), over the defaults. */
int fb_profile_load(const char *dir, const char *name, jv *out, struct fb_err *err);
int fb_profile_save(const char *dir, const char *name, jv profile, int overwrite, struct fb_err *err);
int fb_profile_list(const char *dir, jv *out, struct fb_err *err);
/* The store root a profile names. */
char *fb_profile_store(jv profile);

#endif
