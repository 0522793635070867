/* Logging: stderr only, text for people or JSON lines for machines.
 * FB_LOG=debug|info|warn|error sets the level; --log-format the shape. */
#ifndef FB_LOG_H
#define FB_LOG_H

#include <stdbool.h>

struct fb_err;

enum fb_log_level { FB_LOG_DEBUG, FB_LOG_INFO, FB_LOG_WARN, FB_LOG_ERROR };
enum fb_log_format { FB_LOGFMT_TEXT, FB_LOGFMT_JSON };

/* Reads FB_LOG (level), FB_LOG_FORMAT (json|text), FB_LOG_COLOR
 * (auto|always|never); the format defaults to text on a TTY, JSON lines otherwise. */
void fb_log_init(const char *tool);
/* "json" or "text"; -1 for anything else. */
int fb_log_set_format(const char *name);
int fb_log_parse_level(const char *name, enum fb_log_level *out);
void fb_log_set_level(enum fb_log_level level);
/* Colour the level of text lines: 0 never, 1 on a terminal, 2 always. */
void fb_log_set_color(int mode);
enum fb_log_format fb_log_format(void);
const char *fb_log_tool(void);
bool fb_log_enabled(enum fb_log_level level);

void fb_log(enum fb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A log line with extra string fields: key, value, ..., NULL. */
void fb_log_fields(enum fb_log_level level, const char *msg, ...) __attribute__((sentinel));
/* The one human line for a failure: "tool: error: file:line: message". */
void fb_log_failure(const struct fb_err *e);

#define fb_debug(...) fb_log(FB_LOG_DEBUG, __VA_ARGS__)
#define fb_info(...) fb_log(FB_LOG_INFO, __VA_ARGS__)
#define fb_warn(...) fb_log(FB_LOG_WARN, __VA_ARGS__)

#endif
