/* The builder's JSON (build.h, builder.h): .build.steps, the spec it hands
 * fb-exec for a RUN, and the lists a RUN's cache key hashes. */
#include "build.h"
#include "builder.h"

#include <string.h>

#include "doc.h"
#include "doc_codec.h"
#include "json.h"
#include "util.h"

void fb_build_steps_free(struct fb_build_steps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].instruction);
		free(s->v[i].layer);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void fb_build_doc_set(struct fb_doc *d, const struct fb_build_steps *s)
{
	jv a = jv_array();
	for (size_t i = 0; i < s->n; i++) {
		const struct fb_build_step *st = &s->v[i];
		jv r = jv_object_set(jv_object(), jv_string("stage"), jv_number((double)st->stage));
		r = jv_object_set(r, jv_string("line"), jv_number(st->line));
		r = jv_object_set(r, jv_string("instruction"), fb_jv_str(st->instruction));
		r = jv_object_set(r, jv_string("status"), jv_string(st->status));
		r = jv_object_set(r, jv_string("seconds"), jv_number(st->seconds));
		r = jv_object_set(r, jv_string("key"), jv_string(st->key));
		r = jv_object_set(r, jv_string("layer"), fb_jv_str(st->layer));
		a = jv_array_append(a, r);
	}
	jv b = jv_object_set(jv_object(), jv_string("steps"), a);
	if (s->has_context_files) {
		jv c = jv_object_set(jv_object(), jv_string("remembered"), jv_number((double)s->context_remembered));
		b = jv_object_set(b, jv_string("context_files"),
				  jv_object_set(c, jv_string("read"), jv_number((double)s->context_read)));
	}
	fb_doc_set(d, "build", b);
}

/* a NUL a Dockerfile wrote (C0 80 inside) goes as \u0000 */
static jv strv_nul(const struct fb_strv *v)
{
	jv a = jv_array();
	for (size_t i = 0; i < v->n; i++)
		a = jv_array_append(a, fb_jv_str_nul(v->v[i]));
	return a;
}

char *build_exec_spec(const struct build_exec *e)
{
	jv o = jv_object_set(jv_object(), jv_string("root"), jv_string(e->root));
	o = jv_object_set(o, jv_string("args"), strv_nul(e->argv));
	o = jv_object_set(o, jv_string("env"), strv_nul(e->env));
	o = jv_object_set(o, jv_string("workdir"), jv_string(e->workdir));
	o = fb_jv_put_str(o, "user", e->user);
	o = jv_object_set(o, jv_string("network"), jv_string(e->network));
	jv ms = jv_array();
	for (size_t i = 0; i < e->nmounts; i++) {
		const struct build_exec_mount *m = &e->mounts[i];
		jv x = jv_object_set(jv_object(), jv_string("type"), jv_string(m->type));
		x = fb_jv_put_str(x, "source", m->source);
		x = jv_object_set(x, jv_string("target"), jv_string(m->target));
		if (strcmp(m->type, "tmpfs"))
			x = jv_object_set(x, jv_string("readonly"), jv_bool(m->readonly));
		if (m->size > 0)
			x = jv_object_set(x, jv_string("size"), jv_number((double)m->size));
		ms = jv_array_append(ms, x);
	}
	o = jv_object_set(o, jv_string("mounts"), ms);
	o = jv_object_set(o, jv_string("hostname"), jv_string(e->hostname));
	return fb_json_dump(jv_object_set(jv_object(), jv_string("exec"), o), false);
}

char *build_strv_json(const struct fb_strv *v)
{
	return fb_json_dump(v ? strv_nul(v) : jv_null(), false);
}
