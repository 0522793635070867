/* The codec of .source (source.h): fb-fetch source writes it, fb-parse
 * and the builder (fb-mkrootfs) read it. */
#include "source.h"

#include <string.h>

#include "doc.h"
#include "doc_codec.h"
#include "err.h"
#include "json.h"
#include "util.h"

void fb_source_free(struct fb_source *s)
{
	free(s->kind);
	free(s->dockerfile);
	free(s->context);
	free(s->context_url);
	free(s->url);
	free(s->ref);
	free(s->commit);
	free(s->temporary);
	fb_strv_free(&s->dockerignore);
	free(s->dockerignore_file);
	free(s->target);
	memset(s, 0, sizeof(*s));
}

void fb_source_doc_set(struct fb_doc *d, const struct fb_source *s)
{
	jv o = jv_object();
	o = fb_jv_put_str(o, "kind", s->kind);
	o = fb_jv_put_str(o, "temporary", s->temporary);
	o = fb_jv_put_str(o, "dockerfile", s->dockerfile);
	o = fb_jv_put_str(o, "context", s->context);
	o = fb_jv_put_str(o, "context_url", s->context_url);
	o = fb_jv_put_str(o, "url", s->url);
	if (s->has_ref)
		o = jv_object_set(o, jv_string("ref"), s->ref ? jv_string(s->ref) : jv_null());
	o = fb_jv_put_str(o, "commit", s->commit);
	if (s->has_dockerignore)
		o = jv_object_set(o, jv_string("dockerignore"), fb_jv_strv(s->dockerignore.v, s->dockerignore.n));
	o = fb_jv_put_str(o, "dockerignore_file", s->dockerignore_file);
	o = fb_jv_put_str(o, "target", s->target);
	fb_doc_set(d, "source", o);
}

static const struct fb_jshape str = { .kinds = FB_J_STRING };
static const struct fb_jshape str_opt = { .kinds = FB_J_STRING | FB_J_NULL };
static const struct fb_jshape strv_opt = { .kinds = FB_J_ARRAY | FB_J_NULL, .items = &str };

/* fb-parse's input document: {"source": {"dockerfile", "target"?}} */
static const struct fb_jfield parse_source_fields[] = {
	{ "dockerfile", &str, true },
	{ "target", &str_opt, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape parse_source = { .kinds = FB_J_OBJECT, .fields = parse_source_fields };

/* .source.temporary is removed after the build: only what fb-fetch source
 * makes (RUN-CACHE/sources/src-XXXXXX) may be named there. */
static int temporary_check(jv v, const char *path, struct fb_err *err)
{
	if (jv_get_kind(v) != JV_KIND_STRING)
		return 0;
	const char *s = jv_string_value(v);
	const char *last = strrchr(s, '/');
	bool ok = s[0] == '/' && !strstr(s, "/../") && !strstr(s, "/./") && !strstr(s, "//") && last &&
		  !strncmp(last + 1, "src-", 4) && strlen(last + 1) == 10 && last - s >= 8 && !strncmp(last - 8, "/sources", 8);
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "%s: expected a directory RUN-CACHE/sources/src-XXXXXX (fb-fetch source's)",
				  path);
	return 0;
}
static const struct fb_jshape temporary_opt = { .kinds = FB_J_STRING | FB_J_NULL, .check = temporary_check };

static const struct fb_jfield build_source_fields[] = {
	{ "context", &str_opt, false },
	{ "context_url", &str_opt, false },
	{ "dockerignore", &strv_opt, false },
	{ "temporary", &temporary_opt, false },
	{ NULL, NULL, false },
};
static const struct fb_jshape build_source = { .kinds = FB_J_OBJECT | FB_J_NULL, .fields = build_source_fields };

int fb_source_from_doc(const struct fb_doc *d, enum fb_source_use use, struct fb_source *s, bool *present,
		       struct fb_err *err)
{
	memset(s, 0, sizeof(*s));
	jv v = fb_doc_get(d, "source");
	int r;
	if (use == FB_SOURCE_FOR_PARSE && !fb_doc_has_key(d, "source"))
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".source: missing (expected an object)");
	else
		r = fb_json_check(v, use == FB_SOURCE_FOR_PARSE ? &parse_source : &build_source, ".source", err);
	if (r < 0) {
		jv_free(v);
		return -1;
	}
	*present = jv_get_kind(v) == JV_KIND_OBJECT;
	if (*present) {
		s->kind = fb_jv_get_str(v, "kind");
		s->dockerfile = fb_jv_get_str(v, "dockerfile");
		s->context = fb_jv_get_str(v, "context");
		s->context_url = fb_jv_get_str(v, "context_url");
		s->url = fb_jv_get_str(v, "url");
		s->has_ref = fb_jv_has(v, "ref");
		s->ref = fb_jv_get_str(v, "ref");
		s->commit = fb_jv_get_str(v, "commit");
		s->temporary = fb_jv_get_str(v, "temporary");
		s->has_dockerignore = fb_jv_get_strv(v, "dockerignore", &s->dockerignore);
		s->dockerignore_file = fb_jv_get_str(v, "dockerignore_file");
		s->target = fb_jv_get_str(v, "target");
	}
	jv_free(v);
	return 0;
}
