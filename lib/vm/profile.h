/* Profiles: named sets of defaults (the original firebuild's), stored as
 * JSON in the profile directory. Which keys a profile has, their kinds and
 * their defaults come from the program's settings table (lib/core/settings):
 * a profile holds values of settings, named by their index, so a key
 * cannot be misspelt in code, and a file with a key the table does not
 * know, or a value of the wrong kind, is refused when loaded. A flag on
 * the command line beats the profile (the program decides). */
#ifndef FB_PROFILE_H
#define FB_PROFILE_H

#include <stdbool.h>

#include "err.h"
#include "settings.h"
#include "util.h"

struct fb_doc;

/* One setting's value in a profile. */
struct fb_profile_value {
	bool set;
	char *str;           /* STRING, INT, SECONDS; BOOL: "true"/"false" */
	struct fb_strv list; /* LIST: the values; MAP, MAP_INT: "K=V" */
};

struct fb_profile {
	char *name; /* NULL: not saved yet */
	const struct fb_settings *t;
	struct fb_profile_value *v; /* by setting (those with a key) */
};

/* /etc/firebuild/profiles for root, else $XDG_CONFIG_HOME/firebuild/profiles. */
const char *fb_profile_dir_default(void);
/* A profile of the defaults alone (the settings' profile defaults). */
struct fb_profile *fb_profile_new(const struct fb_settings *t);
void fb_profile_free(struct fb_profile *p);
static inline void fb_profile_freep(struct fb_profile **p)
{
	fb_profile_free(*p);
	*p = NULL;
}
#define FB_AUTOPROFILE __attribute__((cleanup(fb_profile_freep)))

/* Load NAME from dir (NULL: the default dir), over the defaults. */
int fb_profile_load(const struct fb_settings *t, const char *dir, const char *name, struct fb_profile **out,
		    struct fb_err *err) FB_MUST_CHECK;
/* Save p as NAME (refused when it exists, unless overwrite). */
int fb_profile_save(struct fb_profile *p, const char *dir, const char *name, bool overwrite, struct fb_err *err) FB_MUST_CHECK;
/* The profiles' names, sorted. */
int fb_profile_list(const char *dir, struct fb_strv *names, struct fb_err *err) FB_MUST_CHECK;

/* The value of a STRING, INT, SECONDS or BOOL setting, or NULL. */
const char *fb_profile_str(const struct fb_profile *p, size_t id);
/* LIST: its values; MAP: its "K=V" (NULL: not set). */
const struct fb_strv *fb_profile_list_of(const struct fb_profile *p, size_t id);
/* MAP: V of KEY, or NULL. */
const char *fb_profile_map_get(const struct fb_profile *p, size_t id, const char *key);
/* Every setting with a key that the command line gave, into p: a LIST
 * replaces the profile's, a MAP adds to it (a key given replaces its value). */
void fb_profile_take(struct fb_profile *p, const struct fb_opts *o);

/* ---- profile_doc.c: the profile as JSON ---- */

/* The members of a profile's JSON text over p's values: every key known
 * to the table, of its kind (checked as its flag is), or an error that
 * names the key. */
int fb_profile_decode(struct fb_profile *p, const char *text, size_t len, struct fb_err *err) FB_MUST_CHECK;
/* The JSON text of p (with its name), indented. Owned by the caller. */
char *fb_profile_encode(const struct fb_profile *p);
/* {"profile": p} and {"profiles": [names]}, for the commands' output. */
struct fb_doc *fb_profile_doc(const struct fb_profile *p);
struct fb_doc *fb_profile_names_doc(const struct fb_strv *names);

#endif
