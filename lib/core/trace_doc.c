/* A spooled span for --timings (trace.h): one line of the spool, an OTLP
 * span object as trace.c writes it, read as found. */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc_codec.h"
#include "json.h"
#include "util.h"

/* The string at key (borrows o), NULL when it is not one. */
static char *str_at(jv o, const char *key)
{
	return fb_jv_get_str(o, key);
}

int fb_trace_rec_parse(const char *line, size_t len, struct fb_trace_rec *out)
{
	*out = (struct fb_trace_rec){ 0 };
	jv s;
	struct fb_err err = { 0 };
	if (fb_json_parse(line, len, &s, &err) < 0)
		return -1;
	if (jv_get_kind(s) != JV_KIND_OBJECT) {
		jv_free(s);
		return -1;
	}
	char *id = str_at(s, "spanId"), *par = str_at(s, "parentSpanId"), *st = str_at(s, "startTimeUnixNano"),
	     *en = str_at(s, "endTimeUnixNano");
	snprintf(out->id, sizeof(out->id), "%s", id ? id : "");
	snprintf(out->parent, sizeof(out->parent), "%s", par ? par : "");
	out->name = str_at(s, "name");
	if (!out->name)
		out->name = fb_xstrdup("?");
	out->start = st ? strtod(st, NULL) / 1e9 : 0;
	out->secs = st && en ? (strtod(en, NULL) - strtod(st, NULL)) / 1e9 : 0;
	/* what a step did: cached/executed, or an error */
	jv attrs = fb_json_member(s, "attributes");
	if (jv_get_kind(attrs) == JV_KIND_ARRAY)
		jv_array_foreach(attrs, i, a)
		{
			char *k = str_at(a, "key");
			if (k && !strcmp(k, "status") && !out->note) {
				jv v = fb_json_member(a, "value");
				out->note = str_at(v, "stringValue");
				jv_free(v);
			}
			free(k);
			jv_free(a);
			(void)i;
		}
	jv_free(attrs);
	jv status = fb_json_member(s, "status");
	char *m = str_at(status, "message");
	jv_free(status);
	if (m) {
		free(out->note);
		out->note = fb_xasprintf("error: %s", m);
		free(m);
	}
	free(id);
	free(par);
	free(st);
	free(en);
	jv_free(s);
	return 0;
}
