/* Tracing: spans for the steps of a command, exported as OpenTelemetry
 * (OTLP over HTTP, JSON encoding) and, for --timings, spooled to a file.
 *
 * One trace runs through every process of a command: the dispatcher starts
 * it, each span it begins is put in TRACEPARENT (W3C trace context) for the
 * children it then spawns, and each child's spans hang under it. Each
 * process batches its own ended spans and POSTs them at exit (or when the
 * batch fills) with short time-outs: a collector that is down costs a
 * warning, never the command. Set up from the environment by fb_tool_init:
 *   FB_TRACE_ENDPOINT  host:port or URL of an OTLP/HTTP receiver
 *   FB_TRACE_LOG       1: log every span as it ends
 *   FB_TRACE_SPOOL     a file each ended span is appended to (JSON lines)
 *   TRACEPARENT        00-TRACEID-PARENTID-01: join that trace
 * With none of them set, every call is a no-op. */
#ifndef FB_TRACE_H
#define FB_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct fb_span;

/* Reads the environment; begins this process's span (named after the tool)
 * when tracing or spooling is on. fb_tool_init calls it. */
void fb_trace_init(const char *tool);
/* Turn tracing on in this process and its children from here on: this
 * process's span name, the endpoint (NULL: no export), log each span, the
 * spool file (NULL: none). Nothing happens with neither endpoint nor spool. */
void fb_trace_configure(const char *name, const char *endpoint, bool log, const char *spool);
bool fb_trace_on(void);
/* The trace id (32 hex digits) or NULL when not tracing. */
const char *fb_trace_id(void);

/* A span under the current one, which it becomes until it ends. NULL (and
 * every call below accepts it) when tracing is off. */
struct fb_span *fb_span_begin(const char *name);
/* A span under parent (NULL: the current span) that does not become the
 * current one: for work done on other threads. */
struct fb_span *fb_span_begin_under(struct fb_span *parent, const char *name);
void fb_span_set(struct fb_span *s, const char *key, const char *value);
void fb_span_set_int(struct fb_span *s, const char *key, int64_t value);
void fb_span_error(struct fb_span *s, const char *message);
void fb_span_end(struct fb_span *s);

/* End this process's own span and send what ended: before exec, and at
 * exit (registered by fb_trace_init). */
void fb_trace_finish(void);

/* In a forked child that goes on alone (a daemon): the spans it begins
 * from here on hang under the span current at the fork and are its own to
 * send; the parent's stay the parent's. */
void fb_trace_forked(void);

/* Print a summary of a spool (where the time went) to stderr. */
void fb_trace_print_timings(const char *spool);

/* A spooled span as --timings reads it (trace_doc.c decodes a line, an
 * OTLP span object, read as found): its ids, name, start and length in
 * seconds, and what it did (the "status" attribute, or "error: MESSAGE"
 * from its status). */
struct fb_trace_rec {
	char id[17], parent[17];
	char *name, *note; /* name "?" when it has none; note NULL: none */
	double start, secs;
};
/* 0, or -1 when the line is not a JSON object. */
int fb_trace_rec_parse(const char *line, size_t len, struct fb_trace_rec *out) FB_MUST_CHECK;

#endif
