#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "settings.h"
#include "util.h"

const char *fb_profile_dir_default(void)
{
	static char buf[PATH_MAX];
	if (geteuid() == 0)
		return "/etc/firebuild/profiles";
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/firebuild/profiles", xdg);
	else
		snprintf(buf, sizeof(buf), "%s/.config/firebuild/profiles", home && *home ? home : "/tmp");
	return buf;
}

static bool is_list(enum fb_setting_kind k)
{
	return k == FB_SETTING_LIST || k == FB_SETTING_MAP || k == FB_SETTING_MAP_INT;
}

static void value_clear(struct fb_profile_value *v)
{
	free(v->str);
	fb_strv_free(&v->list);
	*v = (struct fb_profile_value){ 0 };
}

struct fb_profile *fb_profile_new(const struct fb_settings *t)
{
	struct fb_profile *p = fb_xcalloc(1, sizeof(*p));
	p->t = t;
	p->v = fb_xcalloc(t->n ? t->n : 1, sizeof(*p->v));
	for (size_t i = 0; i < t->n; i++) {
		const struct fb_setting *s = &t->v[i];
		const char *d = s->key ? fb_setting_profile_default(s) : NULL;
		if (!d)
			continue;
		struct fb_profile_value *v = &p->v[i];
		v->set = true;
		if (s->kind == FB_SETTING_LIST) {
			/* a list in a profile: one string, ':' between */
			char *copy = fb_xstrdup(d), *save = NULL;
			for (char *e = strtok_r(copy, ":", &save); e; e = strtok_r(NULL, ":", &save))
				fb_strv_push(&v->list, e);
			free(copy);
		} else if (is_list(s->kind)) {
			if (*d)
				fb_strv_push(&v->list, d);
		} else {
			v->str = fb_xstrdup(s->kind == FB_SETTING_BOOL ? fb_setting_bool_text(d) : d);
		}
	}
	return p;
}

void fb_profile_free(struct fb_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->t->n; i++)
		value_clear(&p->v[i]);
	free(p->v);
	free(p->name);
	free(p);
}

static int check_name(const char *name, struct fb_err *err)
{
	size_t n = strlen(name);
	if (!n || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n ||
	    name[0] == '.')
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_name",
				  "invalid profile name \"%s\": letters, digits, . _ - (not starting with .)", name);
	return 0;
}

int fb_profile_load(const struct fb_settings *t, const char *dir, const char *name, struct fb_profile **out,
		    struct fb_err *err)
{
	if (check_name(name, err) < 0)
		return -1;
	FB_AUTOFREE char *path = fb_xasprintf("%s/%s.json", dir ? dir : fb_profile_dir_default(), name);
	struct fb_buf b = FB_BUF_INIT;
	if (fb_read_file(path, &b, err) < 0) {
		if (err->code == FB_EXIT_NOTFOUND)
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "no profile \"%s\" (%s)", name, path);
		fb_buf_free(&b);
		return -1;
	}
	/* the profile's keys over the defaults */
	struct fb_profile *p = fb_profile_new(t);
	int r = fb_profile_decode(p, fb_buf_str(&b), b.len, err);
	fb_buf_free(&b);
	if (r < 0) {
		fb_err_prefix(err, "profile %s", path);
		fb_profile_free(p);
		return -1;
	}
	p->name = fb_xstrdup(name);
	*out = p;
	return 0;
}

int fb_profile_save(struct fb_profile *p, const char *dir, const char *name, bool overwrite, struct fb_err *err)
{
	if (check_name(name, err) < 0)
		return -1;
	const char *d = dir ? dir : fb_profile_dir_default();
	if (fb_mkdir_p(d, 0755, err) < 0)
		return -1;
	FB_AUTOFREE char *path = fb_xasprintf("%s/%s.json", d, name);
	if (!overwrite && access(path, F_OK) == 0)
		return fb_err_set(err, FB_EXIT_CONFLICT, "conflict", "profile \"%s\" exists (%s); --overwrite replaces it", name,
				  path);
	free(p->name);
	p->name = fb_xstrdup(name);
	FB_AUTOFREE char *text = fb_profile_encode(p);
	return fb_write_file_atomic(path, text, strlen(text), 0644, err);
}

int fb_profile_list(const char *dir, struct fb_strv *names, struct fb_err *err)
{
	const char *d = dir ? dir : fb_profile_dir_default();
	DIR *dd = opendir(d);
	if (!dd) {
		/* no directory yet: no profiles */
		if (errno == ENOENT)
			return 0;
		return fb_err_errno(err, errno, "%s", d);
	}
	struct dirent *e;
	while ((e = readdir(dd))) {
		size_t n = strlen(e->d_name);
		if (n > 5 && !strcmp(e->d_name + n - 5, ".json") && e->d_name[0] != '.')
			fb_strv_push_owned(names, fb_xstrndup(e->d_name, n - 5));
	}
	closedir(dd);
	fb_strv_sort(names);
	return 0;
}

const char *fb_profile_str(const struct fb_profile *p, size_t id)
{
	return p && id < p->t->n && p->v[id].set ? p->v[id].str : NULL;
}

const struct fb_strv *fb_profile_list_of(const struct fb_profile *p, size_t id)
{
	return p && id < p->t->n && p->v[id].set && is_list(p->t->v[id].kind) ? &p->v[id].list : NULL;
}

const char *fb_profile_map_get(const struct fb_profile *p, size_t id, const char *key)
{
	const struct fb_strv *l = fb_profile_list_of(p, id);
	return l ? fb_setting_map_lookup(l, key) : NULL;
}

void fb_profile_take(struct fb_profile *p, const struct fb_opts *o)
{
	for (size_t i = 0; i < p->t->n; i++) {
		const struct fb_setting *s = &p->t->v[i];
		if (!s->key || !fb_opts_given(o, i))
			continue;
		struct fb_profile_value *v = &p->v[i];
		const struct fb_strv *given = fb_opts_list(o, i);
		if (s->kind == FB_SETTING_LIST) {
			value_clear(v);
			for (size_t k = 0; k < given->n; k++)
				fb_strv_push(&v->list, given->v[k]);
		} else if (is_list(s->kind)) {
			/* a key given replaces the profile's value of it */
			for (size_t k = 0; k < given->n; k++) {
				size_t kl = strcspn(given->v[k], "=") + 1;
				struct fb_strv kept = FB_STRV_INIT;
				for (size_t j = 0; j < v->list.n; j++)
					if (strncmp(v->list.v[j], given->v[k], kl))
						fb_strv_push(&kept, v->list.v[j]);
				fb_strv_push(&kept, given->v[k]);
				fb_strv_free(&v->list);
				v->list = kept;
			}
		} else {
			free(v->str);
			v->str = fb_xstrdup(fb_opts_str(o, i));
		}
		v->set = true;
	}
}
