/* A profile as JSON (profile.h): one member a setting with a key, of the
 * kind the settings table gives it; "name" is the profile's own. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "profile.h"
#include "settings.h"
#include "util.h"

static int wrong_kind(struct fb_err *err, const char *key, const char *want, jv got)
{
	return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".%s: expected %s, got %s", key, want, fb_json_kind_name(got));
}

/* a whole number, as text */
static int integer(jv v, const char *key, char **out, struct fb_err *err)
{
	double d = jv_number_value(v);
	if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e15)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".%s: expected an integer, got %g", key, d);
	*out = fb_xasprintf("%lld", (long long)d);
	return 0;
}

/* A value the flag could have given: the same checks. */
static int check(const struct fb_setting *s, const char *key, const char *value, struct fb_err *err)
{
	if (fb_setting_check(s, s->flag, value, err) < 0) {
		fb_err_prefix(err, ".%s", key);
		return -1;
	}
	return 0;
}

static int decode_map(const struct fb_setting *s, const char *key, jv obj, struct fb_strv *out, struct fb_err *err)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return wrong_kind(err, key, "an object", obj);
	int r = 0;
	jv_object_foreach(obj, k, v)
	{
		char *val = NULL;
		if (r == 0 && s->kind == FB_SETTING_MAP_INT)
			r = jv_get_kind(v) == JV_KIND_NUMBER ? integer(v, key, &val, err)
							    : fb_err_set(err, FB_EXIT_USAGE, "invalid", ".%s.%s: expected an integer, got %s",
									 key, jv_string_value(k), fb_json_kind_name(v));
		else if (r == 0 && jv_get_kind(v) != JV_KIND_STRING)
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".%s.%s: expected a string, got %s", key, jv_string_value(k),
				       fb_json_kind_name(v));
		else if (r == 0)
			val = fb_xstrdup(jv_string_value(v));
		if (r == 0) {
			char *kv = fb_xasprintf("%s=%s", jv_string_value(k), val);
			r = check(s, key, kv, err);
			if (r == 0)
				fb_strv_push_owned(out, kv);
			else
				free(kv);
		}
		free(val);
		jv_free(k);
		jv_free(v);
	}
	return r;
}

/* One member into its setting's value (borrows v). */
static int decode_value(const struct fb_setting *s, const char *key, jv v, struct fb_profile_value *out, struct fb_err *err)
{
	jv_kind kind = jv_get_kind(v);
	char *str = NULL;
	struct fb_strv list = FB_STRV_INIT;
	int r = 0;
	if (kind == JV_KIND_NULL || (kind == JV_KIND_STRING && !jv_string_length_bytes(jv_copy(v)))) {
		/* nothing: as if it were not there, the default neither */
		free(out->str);
		fb_strv_free(&out->list);
		*out = (struct fb_profile_value){ 0 };
		return 0;
	}
	switch (s->kind) {
	case FB_SETTING_BOOL:
		if (kind != JV_KIND_TRUE && kind != JV_KIND_FALSE)
			return wrong_kind(err, key, "a boolean", v);
		str = fb_xstrdup(kind == JV_KIND_TRUE ? "true" : "false");
		break;
	case FB_SETTING_LIST: {
		if (kind != JV_KIND_STRING)
			return wrong_kind(err, key, "a string (':' between the values)", v);
		FB_AUTOFREE char *joined = fb_xstrdup(jv_string_value(v));
		for (char *save = NULL, *e = strtok_r(joined, ":", &save); e; e = strtok_r(NULL, ":", &save))
			fb_strv_push(&list, e);
		break;
	}
	case FB_SETTING_MAP:
	case FB_SETTING_MAP_INT:
		r = decode_map(s, key, v, &list, err);
		break;
	default:
		if (kind == JV_KIND_NUMBER)
			r = integer(v, key, &str, err);
		else if (kind == JV_KIND_STRING)
			str = fb_xstrdup(jv_string_value(v));
		else
			return wrong_kind(err, key, "a string", v);
		if (r == 0)
			r = check(s, key, str, err);
		break;
	}
	if (r < 0) {
		free(str);
		fb_strv_free(&list);
		return -1;
	}
	free(out->str);
	fb_strv_free(&out->list);
	*out = (struct fb_profile_value){ .set = true, .str = str, .list = list };
	return 0;
}

int fb_profile_decode(struct fb_profile *p, const char *text, size_t len, struct fb_err *err)
{
	FB_AUTOJV jv doc = jv_invalid();
	if (fb_json_parse(text, len, &doc, err) < 0)
		return -1;
	if (jv_get_kind(doc) != JV_KIND_OBJECT)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "not a JSON object");
	int r = 0;
	jv_object_foreach(doc, k, v)
	{
		const char *key = jv_string_value(k);
		long id = fb_settings_by_key(p->t, key);
		if (r < 0 || !strcmp(key, "name")) {
			/* the name is the file's */
		} else if (id < 0) {
			/* a misspelt key would otherwise be a default, silently */
			r = fb_err_set(err, FB_EXIT_USAGE, "invalid", "unknown key \"%s\"", key);
		} else {
			r = decode_value(&p->t->v[id], key, v, &p->v[id], err);
		}
		jv_free(k);
		jv_free(v);
	}
	return r;
}

static jv encode(const struct fb_profile *p)
{
	jv o = jv_object();
	for (size_t i = 0; i < p->t->n; i++) {
		const struct fb_setting *s = &p->t->v[i];
		const struct fb_profile_value *v = &p->v[i];
		if (!s->key || !v->set)
			continue;
		jv val;
		switch (s->kind) {
		case FB_SETTING_BOOL: val = jv_bool(!strcmp(v->str, "true")); break;
		case FB_SETTING_LIST: {
			struct fb_buf b = FB_BUF_INIT;
			for (size_t k = 0; k < v->list.n; k++)
				fb_buf_addf(&b, "%s%s", k ? ":" : "", v->list.v[k]);
			val = jv_string(fb_buf_str(&b));
			fb_buf_free(&b);
			break;
		}
		case FB_SETTING_MAP:
		case FB_SETTING_MAP_INT:
			val = jv_object();
			for (size_t k = 0; k < v->list.n; k++) {
				const char *kv = v->list.v[k], *eq = strchr(kv, '=');
				jv x = s->kind == FB_SETTING_MAP ? jv_string(eq + 1) : jv_number((double)strtoll(eq + 1, NULL, 10));
				val = jv_object_set(val, jv_string_sized(kv, (int)(eq - kv)), x);
			}
			break;
		default: val = jv_string(v->str); break;
		}
		o = jv_object_set(o, jv_string(s->key), val);
	}
	if (p->name)
		o = jv_object_set(o, jv_string("name"), jv_string(p->name));
	return o;
}

char *fb_profile_encode(const struct fb_profile *p)
{
	return fb_json_dump(encode(p), true);
}

struct fb_doc *fb_profile_doc(const struct fb_profile *p)
{
	return fb_doc_from_jv(jv_object_set(jv_object(), jv_string("profile"), encode(p)));
}

struct fb_doc *fb_profile_names_doc(const struct fb_strv *names)
{
	jv a = jv_array();
	for (size_t i = 0; i < names->n; i++)
		a = jv_array_append(a, jv_string(names->v[i]));
	return fb_doc_from_jv(jv_object_set(jv_object(), jv_string("profiles"), a));
}
