#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "trace.h"
#include "util.h"

static struct {
	const char *tool;
	enum fb_log_level level;
	enum fb_log_format format;
	int color; /* 0 off, 1 on a terminal, 2 always */
} g_log = { "firebuild", FB_LOG_INFO, FB_LOGFMT_TEXT, 0 };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int fb_log_parse_level(const char *name, enum fb_log_level *out)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(level_names); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum fb_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = FB_LOG_WARN;
		return 0;
	}
	return -1;
}

void fb_log_init(const char *tool)
{
	g_log.tool = tool;
	g_log.format = isatty(2) ? FB_LOGFMT_TEXT : FB_LOGFMT_JSON;
	const char *lvl = getenv("FB_LOG");
	enum fb_log_level l;
	if (lvl && fb_log_parse_level(lvl, &l) == 0)
		g_log.level = l;
	const char *fmt = getenv("FB_LOG_FORMAT"), *color = getenv("FB_LOG_COLOR");
	if (fmt)
		fb_log_set_format(fmt);
	if (color)
		fb_log_set_color(!strcmp(color, "always") ? 2 : !strcmp(color, "auto") ? 1 : 0);
}

void fb_log_set_color(int mode)
{
	g_log.color = mode;
}

int fb_log_set_format(const char *name)
{
	if (strcmp(name, "json") == 0)
		g_log.format = FB_LOGFMT_JSON;
	else if (strcmp(name, "text") == 0)
		g_log.format = FB_LOGFMT_TEXT;
	else
		return -1;
	return 0;
}

void fb_log_set_level(enum fb_log_level level)
{
	g_log.level = level;
}

enum fb_log_format fb_log_format(void)
{
	return g_log.format;
}

const char *fb_log_tool(void)
{
	return g_log.tool;
}

bool fb_log_enabled(enum fb_log_level level)
{
	return level >= g_log.level;
}

static void emit(enum fb_log_level level, const char *msg, va_list fields)
{
	struct fb_buf b = FB_BUF_INIT;
	if (g_log.format == FB_LOGFMT_JSON) {
		struct timespec ts;
		struct tm tm;
		char when[64];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fb_buf_addf(&b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"tool\":", when,
			    ts.tv_nsec / 1000000, level_names[level]);
		fb_buf_add_json_str(&b, g_log.tool);
		fb_buf_adds(&b, ",\"msg\":");
		fb_buf_add_json_str(&b, msg);
		if (fb_trace_id())
			fb_buf_addf(&b, ",\"trace_id\":\"%s\"", fb_trace_id());
		const char *k;
		while ((k = va_arg(fields, const char *)) != NULL) {
			const char *v = va_arg(fields, const char *);
			fb_buf_addc(&b, ',');
			fb_buf_add_json_str(&b, k);
			fb_buf_addc(&b, ':');
			fb_buf_add_json_str(&b, v ? v : "");
		}
		fb_buf_adds(&b, "}\n");
	} else {
		static const char *const text_names[] = { "debug", "info", "warning", "error" };
		static const char *const colors[] = { "\033[2m", "", "\033[33m", "\033[31m" };
		bool color = g_log.color == 2 || (g_log.color == 1 && isatty(2));
		fb_buf_addf(&b, "%s: ", g_log.tool);
		if (level != FB_LOG_INFO)
			fb_buf_addf(&b, "%s%s:%s ", color ? colors[level] : "", text_names[level], color ? "\033[0m" : "");
		fb_buf_adds(&b, msg);
		const char *k;
		while ((k = va_arg(fields, const char *)) != NULL) {
			const char *v = va_arg(fields, const char *);
			fb_buf_addf(&b, " %s=%s", k, v ? v : "");
		}
		if (fb_trace_id())
			fb_buf_addf(&b, " trace_id=%s", fb_trace_id());
		fb_buf_addc(&b, '\n');
	}
	/* One write per line so lines from parallel workers do not interleave. */
	ssize_t r = write(2, b.data, b.len);
	(void)r;
	fb_buf_free(&b);
}

static void emit_fields(enum fb_log_level level, const char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	emit(level, msg, ap);
	va_end(ap);
}

void fb_log(enum fb_log_level level, const char *fmt, ...)
{
	if (level < g_log.level)
		return;
	struct fb_buf b = FB_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	fb_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	emit_fields(level, fb_buf_str(&b), (const char *)NULL);
	fb_buf_free(&b);
}

void fb_log_fields(enum fb_log_level level, const char *msg, ...)
{
	if (level < g_log.level)
		return;
	va_list ap;
	va_start(ap, msg);
	emit(level, msg, ap);
	va_end(ap);
}

void fb_log_failure(const struct fb_err *e)
{
	/* DESIGN.md: the failure is always one human line, whatever the format. */
	struct fb_buf b = FB_BUF_INIT;
	fb_buf_addf(&b, "%s: error: ", g_log.tool);
	if (e->file[0] && e->line > 0)
		fb_buf_addf(&b, "%s:%d: ", e->file, e->line);
	else if (e->file[0])
		fb_buf_addf(&b, "%s: ", e->file);
	fb_buf_adds(&b, e->msg);
	fb_buf_addc(&b, '\n');
	ssize_t r = write(2, b.data, b.len);
	(void)r;
	fb_buf_free(&b);
}
