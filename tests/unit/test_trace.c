/* lib/trace: spans spooled as OTLP JSON span objects (the export's shape),
 * parents, the children's TRACEPARENT, attributes with awkward text,
 * errors, threads, and the --timings tree. */
#include <jv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "tap.h"
#include "trace.h"
#include "util.h"

static char spool[] = "/tmp/fb-test-trace-XXXXXX";

/* the spooled spans, by name */
static jv read_spool(void)
{
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = { 0 };
	jv by = jv_object();
	if (fb_read_file(spool, &b, &e) < 0)
		return by;
	char *save = NULL;
	for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		jv s = jv_parse(l);
		if (jv_get_kind(s) == JV_KIND_OBJECT) {
			jv name = jv_object_get(jv_copy(s), jv_string("name"));
			by = jv_object_set(by, name, s);
		} else {
			jv_free(s);
		}
	}
	fb_buf_free(&b);
	return by;
}

static const char *str_at(jv spans, const char *span, const char *key, char *out, size_t n)
{
	jv v = jv_getpath(jv_copy(spans), jv_array_append(jv_array_append(jv_array(), jv_string(span)), jv_string(key)));
	snprintf(out, n, "%s", jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "");
	jv_free(v);
	return out;
}

static int off_by_default(void)
{
	/* nothing configured: no-ops that take NULL */
	TAP_CHECK(!fb_trace_on());
	TAP_CHECK(fb_trace_id() == NULL);
	struct fb_span *s = fb_span_begin("x");
	TAP_CHECK(s == NULL);
	fb_span_set(s, "k", "v");
	fb_span_set_int(s, "n", 1);
	fb_span_error(s, "e");
	fb_span_end(s);
	fb_trace_finish();
	return 0;
}

static void *worker(void *arg)
{
	struct fb_span *s = fb_span_begin_under(arg, "on a thread");
	fb_span_set_int(s, "n", -42);
	fb_span_end(s);
	return NULL;
}

static int spans_and_parents(void)
{
	int fd = mkstemp(spool);
	TAP_CHECK(fd >= 0);
	close(fd);
	fb_trace_configure("root", NULL, false, spool);
	TAP_CHECK(fb_trace_on());
	/* spooling only: no trace id in log lines (nothing is exported) */
	TAP_CHECK(fb_trace_id() == NULL);
	struct fb_span *a = fb_span_begin("a");
	fb_span_set(a, "quote", "say \"hi\"\n\ttab \\ and \x01");
	/* a child process would join the trace under the current span */
	const char *tp = getenv("TRACEPARENT");
	TAP_CHECK(tp && strlen(tp) == 55 && !strncmp(tp, "00-", 3) && !strcmp(tp + 53, "01"));
	struct fb_span *b = fb_span_begin("b");
	fb_span_error(b, "it broke");
	pthread_t t;
	TAP_CHECK(pthread_create(&t, NULL, worker, a) == 0);
	pthread_join(t, NULL);
	/* c is left open: ending a closes it with it */
	fb_span_begin("c");
	fb_span_end(b);
	fb_span_end(a);
	fb_trace_finish();

	jv spans = read_spool();
	char ra[64], aid[64], ap[64], bp[64], bid[64], cp[64], tp2[64], tr1[64], tr2[64];
	TAP_CHECK(jv_object_length(jv_copy(spans)) == 5);
	str_at(spans, "root", "spanId", ra, sizeof(ra));
	str_at(spans, "a", "spanId", aid, sizeof(aid));
	str_at(spans, "a", "parentSpanId", ap, sizeof(ap));
	str_at(spans, "b", "parentSpanId", bp, sizeof(bp));
	str_at(spans, "b", "spanId", bid, sizeof(bid));
	str_at(spans, "c", "parentSpanId", cp, sizeof(cp));
	str_at(spans, "on a thread", "parentSpanId", tp2, sizeof(tp2));
	str_at(spans, "root", "traceId", tr1, sizeof(tr1));
	str_at(spans, "c", "traceId", tr2, sizeof(tr2));
	TAP_CHECK(strlen(ra) == 16 && strspn(ra, "0123456789abcdef") == 16);
	TAP_CHECK(strlen(tr1) == 32 && !strcmp(tr1, tr2));
	TAP_STREQ(ap, ra);
	TAP_STREQ(bp, aid);
	TAP_STREQ(cp, bid);
	TAP_STREQ(tp2, aid);
	/* the root has no parent; the attribute survives the JSON round trip */
	jv rootp = jv_getpath(jv_copy(spans), jv_parse("[\"root\",\"parentSpanId\"]"));
	TAP_CHECK(jv_get_kind(rootp) == JV_KIND_NULL);
	jv_free(rootp);
	jv q = jv_getpath(jv_copy(spans), jv_parse("[\"a\",\"attributes\",0,\"value\",\"stringValue\"]"));
	TAP_CHECK(jv_get_kind(q) == JV_KIND_STRING && !strcmp(jv_string_value(q), "say \"hi\"\n\ttab \\ and \x01"));
	jv_free(q);
	jv n = jv_getpath(jv_copy(spans), jv_parse("[\"on a thread\",\"attributes\",0,\"value\",\"intValue\"]"));
	TAP_CHECK(jv_get_kind(n) == JV_KIND_STRING && !strcmp(jv_string_value(n), "-42"));
	jv_free(n);
	jv st = jv_getpath(jv_copy(spans), jv_parse("[\"b\",\"status\"]"));
	jv code = jv_object_get(jv_copy(st), jv_string("code")), msg = jv_object_get(st, jv_string("message"));
	TAP_CHECK(jv_get_kind(code) == JV_KIND_NUMBER && jv_number_value(code) == 2);
	TAP_CHECK(jv_get_kind(msg) == JV_KIND_STRING && !strcmp(jv_string_value(msg), "it broke"));
	jv_free(code);
	jv_free(msg);
	/* times: nanoseconds as strings, ends after starts */
	char s0[32], e0[32];
	str_at(spans, "a", "startTimeUnixNano", s0, sizeof(s0));
	str_at(spans, "a", "endTimeUnixNano", e0, sizeof(e0));
	TAP_CHECK(strlen(s0) >= 19 && strtoull(e0, NULL, 10) >= strtoull(s0, NULL, 10));
	jv_free(spans);
	/* the tree prints (to stderr) without trouble */
	fb_trace_print_timings(spool);
	fb_trace_print_timings("/nonexistent/spool");
	unlink(spool);
	return 0;
}

/* trace_doc: a spool line as --timings reads it, hostile ones too */
static int spool_lines(void)
{
	struct fb_trace_rec r;
	static const char ok[] = "{\"spanId\":\"00f067aa0ba902b7\",\"parentSpanId\":\"a3ce929d0e0e4736\",\"name\":\"build\","
				 "\"startTimeUnixNano\":\"1000000000\",\"endTimeUnixNano\":\"3500000000\",\"attributes\":["
				 "{\"key\":\"x\",\"value\":{\"stringValue\":\"no\"}},{\"key\":\"status\",\"value\":{\"stringValue\":\"cached\"}}]}";
	TAP_CHECK(fb_trace_rec_parse(ok, strlen(ok), &r) == 0);
	TAP_STREQ(r.id, "00f067aa0ba902b7");
	TAP_STREQ(r.parent, "a3ce929d0e0e4736");
	TAP_STREQ(r.name, "build");
	TAP_STREQ(r.note, "cached");
	TAP_CHECK(r.start == 1.0 && r.secs == 2.5);
	free(r.name);
	free(r.note);
	static const char failed[] = "{\"name\":\"step\",\"status\":{\"code\":2,\"message\":\"exit 1\"},"
				     "\"attributes\":[{\"key\":\"status\",\"value\":{\"stringValue\":\"executed\"}}]}";
	TAP_CHECK(fb_trace_rec_parse(failed, strlen(failed), &r) == 0);
	TAP_STREQ(r.note, "error: exit 1");
	TAP_CHECK(r.id[0] == 0 && r.start == 0 && r.secs == 0);
	free(r.name);
	free(r.note);
	/* members of other kinds are as good as absent; an id is cut to 16 */
	static const char odd[] = "{\"spanId\":\"0123456789abcdef0123\",\"name\":5,\"attributes\":{\"key\":\"status\"},"
				  "\"status\":[1]}";
	TAP_CHECK(fb_trace_rec_parse(odd, strlen(odd), &r) == 0);
	TAP_STREQ(r.id, "0123456789abcdef");
	TAP_STREQ(r.name, "?");
	TAP_CHECK(r.note == NULL);
	free(r.name);
	static const char *const not_spans[] = { "[]", "\"x\"", "{", "", "{} {}" };
	for (size_t i = 0; i < sizeof(not_spans) / sizeof(not_spans[0]); i++)
		TAP_CHECK(fb_trace_rec_parse(not_spans[i], strlen(not_spans[i]), &r) == -1);
	return 0;
}

static const struct tap_case cases[] = {
	{ "off unless configured: every call is a no-op", off_by_default },
	{ "spans spooled with parents, TRACEPARENT, escapes, errors, threads", spans_and_parents },
	{ "a spool line as --timings reads it (trace_doc), hostile ones too", spool_lines },
};

TAP_MAIN(cases)
