#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "curlapi.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "util.h"

/* A batch is sent when it holds this many spans, and at exit. */
#define BATCH_MAX 256

struct fb_span {
	char id[17], parent[17];
	char *name;
	uint64_t start_ns;
	struct fb_buf attrs; /* OTLP KeyValue objects, comma separated */
	char *error;
	bool current;
	struct fb_span *prev; /* the current span before this one */
};

static struct {
	pthread_mutex_t mu;
	bool on;       /* recording spans */
	char trace[33];
	char parent[17]; /* the span of the process that started us */
	bool joined;     /* the trace came from TRACEPARENT */
	char *url;
	bool log;
	char *spool;
	char tool[64];
	struct fb_span *root, *current;
	struct fb_buf batch;
	size_t nbatch;
	pid_t owner;
	bool warned, at_exit;
} g = { .mu = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char r[16];
	if (getrandom(r, bytes, 0) != (ssize_t)bytes) {
		uint64_t x = now_ns() ^ ((uint64_t)getpid() << 32);
		for (size_t i = 0; i < bytes; i++, x = x * 6364136223846793005ull + 1442695040888963407ull)
			r[i] = (unsigned char)(x >> 56);
	}
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	/* all-zero ids are invalid in OTLP */
	if (strspn(out, "0") == 2 * bytes)
		out[0] = '1';
}

static bool hex_of(const char *s, size_t n)
{
	return strspn(s, "0123456789abcdef") >= n;
}

static char *endpoint_url(const char *ep)
{
	if (!strstr(ep, "://"))
		return fb_xasprintf("http://%s/v1/traces", ep);
	const char *path = strchr(strstr(ep, "://") + 3, '/');
	if (!path || !strcmp(path, "/"))
		return fb_xasprintf("%.*s/v1/traces", path ? (int)(path - ep) : (int)strlen(ep), ep);
	return fb_xstrdup(ep);
}

/* Children see the current span as their parent. */
static void publish_parent(void)
{
	if (!g.on || (!g.current && !g.parent[0]))
		return; /* the last span published stays the children's parent */
	char tp[64];
	snprintf(tp, sizeof(tp), "00-%s-%s-01", g.trace, g.current ? g.current->id : g.parent);
	setenv("TRACEPARENT", tp, 1);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p, (void)ctx;
	return size * n;
}

/* POST a JSON body with time limits; false and why when it did not get a
 * 2xx answer. */
static bool post_json(const char *url, const char *body, size_t len, long connect_ms, long total_ms, char *why, size_t n)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	if (!c)
		return snprintf(why, n, "no libcurl handle"), false;
	char ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
	CURLcode cr = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (cr != CURLE_OK)
		return snprintf(why, n, "%s", ebuf[0] ? ebuf : curl_easy_strerror(cr)), false;
	if (status < 200 || status > 299)
		return snprintf(why, n, "HTTP %ld", status), false;
	return true;
}

/* POST the batch; with g.mu held. */
static void send_batch(void)
{
	if (!g.nbatch)
		return;
	if (!g.url) {
		fb_buf_free(&g.batch);
		g.nbatch = 0;
		return;
	}
	struct fb_buf body = FB_BUF_INIT;
	fb_buf_adds(&body, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
	fb_buf_adds(&body, "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"firebuild\"}},");
	fb_buf_adds(&body, "{\"key\":\"process.executable.name\",\"value\":{\"stringValue\":");
	fb_buf_add_json_str(&body, g.tool);
	fb_buf_addf(&body, "}},{\"key\":\"process.pid\",\"value\":{\"intValue\":\"%ld\"}}]},", (long)getpid());
	fb_buf_adds(&body, "\"scopeSpans\":[{\"scope\":{\"name\":\"firebuild\",\"version\":");
	fb_buf_add_json_str(&body, FB_VERSION);
	fb_buf_adds(&body, "},\"spans\":[");
	fb_buf_add(&body, g.batch.data, g.batch.len);
	fb_buf_adds(&body, "]}]}]}");
	size_t n = g.nbatch;
	fb_buf_free(&g.batch);
	g.nbatch = 0;
	/* never hold the command up for long */
	char why[CURL_ERROR_SIZE + 32];
	bool ok = post_json(g.url, body.data, body.len, 500, 2000, why, sizeof(why));
	fb_buf_free(&body);
	if (ok)
		return;
	/* one warning, from the process that started the trace */
	if (!g.warned) {
		g.warned = true;
		fb_log(g.joined ? FB_LOG_DEBUG : FB_LOG_WARN, "tracing: %zu span(s) not sent to %s: %s", n, g.url, why);
	}
}

static void finish_at_exit(void)
{
	g.at_exit = true;
	fb_trace_finish();
}

static void start(const char *name)
{
	g.owner = getpid();
	if (!g.trace[0])
		random_hex(g.trace, 16);
	static bool registered;
	if (!registered) {
		registered = true;
		/* libcurl (and the TLS library under it) first: their exit
		 * handlers then run after ours, which still sends */
		curl_global_init(CURL_GLOBAL_DEFAULT);
		atexit(finish_at_exit);
	}
	g.on = true;
	g.root = fb_span_begin(name);
}

void fb_trace_init(const char *tool)
{
	snprintf(g.tool, sizeof(g.tool), "%s", tool);
	const char *ep = getenv("FB_TRACE_ENDPOINT"), *sp = getenv("FB_TRACE_SPOOL"), *lg = getenv("FB_TRACE_LOG");
	const char *tp = getenv("TRACEPARENT");
	if ((!ep || !*ep) && (!sp || !*sp))
		return;
	/* 00-<32 hex>-<16 hex>-<2 hex> */
	if (tp && strlen(tp) >= 55 && !strncmp(tp, "00-", 3) && hex_of(tp + 3, 32) && tp[35] == '-' && hex_of(tp + 36, 16)) {
		memcpy(g.trace, tp + 3, 32);
		g.trace[32] = 0;
		memcpy(g.parent, tp + 36, 16);
		g.parent[16] = 0;
		g.joined = true;
	}
	g.url = ep && *ep ? endpoint_url(ep) : NULL;
	g.spool = sp && *sp ? fb_xstrdup(sp) : NULL;
	g.log = lg && !strcmp(lg, "1");
	start(tool);
}

/* An empty export: does the collector answer, and quickly? */
static bool probe(const char *url, char *why, size_t n)
{
	static const char body[] = "{\"resourceSpans\":[]}";
	return post_json(url, body, sizeof(body) - 1, 500, 1000, why, n);
}

void fb_trace_configure(const char *name, const char *endpoint, bool log, const char *spool)
{
	if (!endpoint && !spool)
		return;
	if (endpoint) {
		/* asked once, here: a collector that is not there or does not
		 * answer costs one warning, and no process waits on it again */
		char *url = endpoint_url(endpoint), why[CURL_ERROR_SIZE + 32];
		if (probe(url, why, sizeof(why))) {
			setenv("FB_TRACE_ENDPOINT", endpoint, 1);
			free(g.url);
			g.url = url;
		} else {
			fb_warn("tracing: the collector at %s does not take OTLP/HTTP (%s): spans not sent", url, why);
			free(url);
			endpoint = NULL;
			if (!spool)
				return;
		}
	}
	if (spool) {
		setenv("FB_TRACE_SPOOL", spool, 1);
		free(g.spool);
		g.spool = fb_xstrdup(spool);
	}
	if (log)
		setenv("FB_TRACE_LOG", "1", 1);
	g.log = g.log || log;
	if (!g.on)
		start(name);
	else if (g.root && name) {
		free(g.root->name);
		g.root->name = fb_xstrdup(name);
	}
	publish_parent();
}

bool fb_trace_on(void)
{
	return g.on;
}

const char *fb_trace_id(void)
{
	return g.on && g.url ? g.trace : NULL;
}

static struct fb_span *begin(struct fb_span *parent, const char *name, bool current)
{
	if (!g.on)
		return NULL;
	struct fb_span *s = fb_xcalloc(1, sizeof(*s));
	random_hex(s->id, 8);
	s->name = fb_xstrdup(name);
	s->start_ns = now_ns();
	pthread_mutex_lock(&g.mu);
	const char *p = parent ? parent->id : g.current ? g.current->id : g.parent;
	snprintf(s->parent, sizeof(s->parent), "%s", p);
	if (current) {
		s->current = true;
		s->prev = g.current;
		g.current = s;
		publish_parent();
	}
	pthread_mutex_unlock(&g.mu);
	return s;
}

struct fb_span *fb_span_begin(const char *name)
{
	return begin(NULL, name, true);
}

struct fb_span *fb_span_begin_under(struct fb_span *parent, const char *name)
{
	return begin(parent, name, false);
}

/* An OTLP KeyValue's start: {"key":KEY,"value": */
static void attr_key(struct fb_span *s, const char *key)
{
	if (s->attrs.len)
		fb_buf_addc(&s->attrs, ',');
	fb_buf_adds(&s->attrs, "{\"key\":");
	fb_buf_add_json_str(&s->attrs, key);
	fb_buf_adds(&s->attrs, ",\"value\":");
}

void fb_span_set(struct fb_span *s, const char *key, const char *value)
{
	if (!s)
		return;
	attr_key(s, key);
	fb_buf_adds(&s->attrs, "{\"stringValue\":");
	fb_buf_add_json_str(&s->attrs, value ? value : "");
	fb_buf_adds(&s->attrs, "}}");
}

void fb_span_set_int(struct fb_span *s, const char *key, int64_t value)
{
	if (!s)
		return;
	attr_key(s, key);
	/* int64 is a string in OTLP's JSON */
	fb_buf_addf(&s->attrs, "{\"intValue\":\"%lld\"}}", (long long)value);
}

void fb_span_error(struct fb_span *s, const char *message)
{
	if (!s)
		return;
	free(s->error);
	s->error = fb_xstrdup(message ? message : "");
}

static void spool_write(const char *line, size_t len)
{
	int fd = open(g.spool, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ssize_t r = write(fd, line, len); /* one write: lines of processes do not mix */
	(void)r;
	close(fd);
}

void fb_span_end(struct fb_span *s)
{
	if (!s)
		return;
	uint64_t end = now_ns();
	struct fb_buf j = FB_BUF_INIT;
	fb_buf_addf(&j, "{\"traceId\":\"%s\",\"spanId\":\"%s\",", g.trace, s->id);
	if (s->parent[0])
		fb_buf_addf(&j, "\"parentSpanId\":\"%s\",", s->parent);
	fb_buf_adds(&j, "\"name\":");
	fb_buf_add_json_str(&j, s->name);
	fb_buf_addf(&j, ",\"kind\":1,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\",\"attributes\":[",
		    (unsigned long long)s->start_ns, (unsigned long long)end);
	fb_buf_add(&j, s->attrs.data, s->attrs.len);
	fb_buf_adds(&j, "],\"status\":{");
	if (s->error) {
		fb_buf_adds(&j, "\"code\":2,\"message\":");
		fb_buf_add_json_str(&j, s->error);
	}
	fb_buf_adds(&j, "}}");

	pthread_mutex_lock(&g.mu);
	if (s->current) {
		/* spans end in order; one left open inside is closed with it */
		while (g.current && g.current != s) {
			struct fb_span *in = g.current;
			pthread_mutex_unlock(&g.mu);
			fb_span_end(in);
			pthread_mutex_lock(&g.mu);
		}
		g.current = s->prev;
		publish_parent();
	}
	if (s == g.root)
		g.root = NULL;
	if (g.spool) {
		fb_buf_addc(&j, '\n');
		spool_write(j.data, j.len);
		j.len--;
	}
	if (g.url) {
		if (g.nbatch++)
			fb_buf_addc(&g.batch, ',');
		fb_buf_add(&g.batch, j.data, j.len);
		if (g.nbatch >= BATCH_MAX)
			send_batch();
	}
	pthread_mutex_unlock(&g.mu);
	if (g.log) {
		char dur[32];
		snprintf(dur, sizeof(dur), "%.3fs", (double)(end - s->start_ns) / 1e9);
		fb_log_fields(FB_LOG_INFO, "span", "name", s->name, "duration", dur, "span_id", s->id, "parent_id", s->parent,
			      "status", s->error ? "error" : "ok", (const char *)NULL);
	}
	fb_buf_free(&j);
	fb_buf_free(&s->attrs);
	free(s->error);
	free(s->name);
	free(s);
}

void fb_trace_finish(void)
{
	if (!g.on || getpid() != g.owner)
		return;
	/* the failure that ends the process, when the exit code says so */
	if (g.root)
		fb_span_end(g.root);
	pthread_mutex_lock(&g.mu);
	send_batch();
	pthread_mutex_unlock(&g.mu);
}

void fb_trace_forked(void)
{
	if (!g.on)
		return;
	pthread_mutex_lock(&g.mu);
	/* the parent ends and sends what it began; we hang under its span */
	struct fb_span *top = g.current ? g.current : g.root;
	if (top)
		snprintf(g.parent, sizeof(g.parent), "%s", top->id);
	g.current = NULL;
	g.root = NULL;
	fb_buf_free(&g.batch);
	g.nbatch = 0;
	g.owner = getpid();
	g.joined = true; /* the parent warns about the collector */
	/* --timings is the parent's to print; nothing spools after it */
	free(g.spool);
	g.spool = NULL;
	unsetenv("FB_TRACE_SPOOL");
	unsetenv("FB_TIMINGS");
	pthread_mutex_unlock(&g.mu);
	if (!g.url)
		g.on = false;
}

/* ---- --timings ---- */

struct tspan {
	char id[17], parent[17];
	char *name, *note;
	double start, secs;
	int depth;
	bool printed;
};

static void print_tree(struct tspan *v, size_t n, const char *parent, int depth, double total)
{
	for (;;) {
		/* the earliest unprinted child */
		struct tspan *next = NULL;
		for (size_t i = 0; i < n; i++)
			if (!v[i].printed && !strcmp(v[i].parent, parent) && (!next || v[i].start < next->start))
				next = &v[i];
		if (!next || depth > 12)
			return;
		next->printed = true;
		char label[256];
		snprintf(label, sizeof(label), "%*s%s", depth * 2, "", next->name);
		fprintf(stderr, "  %-58.58s %8.3f s %5.1f%%%s%s\n", label, next->secs, total > 0 ? 100.0 * next->secs / total : 0,
			next->note ? "  " : "", next->note ? next->note : "");
		print_tree(v, n, next->id, depth + 1, total);
	}
}

void fb_trace_print_timings(const char *spool)
{
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err err = { 0 };
	if (fb_read_file(spool, &b, &err) < 0) {
		fb_buf_free(&b);
		return;
	}
	struct tspan *v = NULL;
	size_t n = 0, cap = 0;
	char *save = NULL;
	for (char *l = strtok_r(b.data ? b.data : (char[]){ 0 }, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct fb_trace_rec rec;
		if (fb_trace_rec_parse(l, strlen(l), &rec) < 0)
			continue;
		if (n == cap)
			v = fb_xrealloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
		struct tspan *t = &v[n++];
		memset(t, 0, sizeof(*t));
		memcpy(t->id, rec.id, sizeof(t->id));
		memcpy(t->parent, rec.parent, sizeof(t->parent));
		t->name = rec.name;
		t->note = rec.note;
		t->start = rec.start;
		t->secs = rec.secs;
	}
	fb_buf_free(&b);
	/* the roots: spans whose parent is not in the spool */
	double first = 0, last = 0;
	for (size_t i = 0; i < n; i++) {
		bool has = false;
		for (size_t k = 0; k < n && !has; k++)
			has = k != i && !strcmp(v[k].id, v[i].parent);
		if (!has)
			v[i].parent[0] = 0;
		if (!first || v[i].start < first)
			first = v[i].start;
		if (v[i].start + v[i].secs > last)
			last = v[i].start + v[i].secs;
	}
	fprintf(stderr, "Timings (%.3f s in all):\n", last - first);
	print_tree(v, n, "", 0, last - first);
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].note);
	}
	free(v);
}
