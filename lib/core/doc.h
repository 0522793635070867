/* The pipeline document a tool reads on stdin and writes on stdout
 * (DESIGN.md: a tool adds its own members and passes the rest on), opaque
 * to everything but the codecs: a tool reads it, asks whether it is an
 * earlier tool's error object, has codecs decode the members it needs into
 * structs and encode its results into it, and writes it. Members nobody
 * decoded go on untouched. docs/architecture.md has the rules. */
#ifndef FB_DOC_H
#define FB_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "util.h"

struct fb_err;
struct fb_doc;

/* An empty document ({}). */
struct fb_doc *fb_doc_new(void);
void fb_doc_free(struct fb_doc *d);
static inline void fb_doc_freep(struct fb_doc **d)
{
	fb_doc_free(*d);
	*d = NULL;
}
#define FB_AUTODOC __attribute__((cleanup(fb_doc_freep)))

/* One JSON object from fd (at most 256 MiB; a message says where parsing
 * failed, never what the text holds). An error object is a document too:
 * see fb_doc_is_error. Not an object: an error of code FB_EXIT_USAGE
 * ("the input document: expected an object, got array"). */
int fb_doc_read_fd(int fd, struct fb_doc **out, struct fb_err *err) FB_MUST_CHECK;
/* The same, where no input is fine: empty input gives an empty document. */
int fb_doc_read_fd_opt(int fd, struct fb_doc **out, struct fb_err *err) FB_MUST_CHECK;
/* The first JSON value of fd, read without waiting for the end of the
 * input (fb-fetch image --stream writes its document at once and keeps the
 * pipe open while it downloads): the document as fb_doc_read_fd gives it;
 * *rest gets the bytes read after it (the caller reads the rest of fd). */
int fb_doc_read_first(int fd, struct fb_doc **out, struct fb_buf *rest, struct fb_err *err) FB_MUST_CHECK;
/* What may follow a document on a pipe: 0 when only white space, 1 and
 * *errdoc when one error object (a streaming fetcher's failure), -1 and a
 * usage error for anything else. */
int fb_doc_trailer(const char *text, size_t len, struct fb_doc **errdoc, struct fb_err *err) FB_MUST_CHECK;
/* The same for the rest of fd, after rest (what fb_doc_read_first left). */
int fb_doc_read_trailer(int fd, struct fb_buf *rest, struct fb_doc **errdoc, struct fb_err *err) FB_MUST_CHECK;
/* An error object's "tool: message" (a new string), NULL when it is none. */
char *fb_doc_error_text(const struct fb_doc *d);
/* The same from text or a file. */
int fb_doc_parse(const char *text, size_t len, struct fb_doc **out, struct fb_err *err) FB_MUST_CHECK;
int fb_doc_load(const char *path, struct fb_doc **out, struct fb_err *err) FB_MUST_CHECK;
/* Written atomically (temporary name, rename). */
int fb_doc_save(const char *path, const struct fb_doc *d, mode_t mode, struct fb_err *err) FB_MUST_CHECK;

/* Is it an earlier tool's {"error": ...}? */
bool fb_doc_is_error(const struct fb_doc *d);
/* Is the member there (and not null)? */
bool fb_doc_has(const struct fb_doc *d, const char *key);
/* Drop a member. */
void fb_doc_remove(struct fb_doc *d, const char *key);
/* A copy of the whole document (NULL stays NULL). */
struct fb_doc *fb_doc_dup(const struct fb_doc *d);
/* Copy member `key` of src into dst (replacing dst's). */
void fb_doc_copy_member(struct fb_doc *dst, const struct fb_doc *src, const char *key);

/* Text: one line, or indented for people. Owned by the caller. */
char *fb_doc_dump(const struct fb_doc *d, bool pretty);

/* A tool's end: the document on stdout (pretty on a terminal, one line
 * otherwise), stdout checked and closed; returns the exit code (0, or 1
 * when stdout could not take it). fb_doc_pass_error: an error object read
 * on stdin goes on unchanged, exit 1. Both consume d. */
int fb_doc_finish(struct fb_doc *d);
int fb_doc_pass_error(struct fb_doc *d);
/* The document on stdout, flushed, stdout left open: a second value (an
 * error object) may follow it (fb-fetch image --stream). */
int fb_doc_write(const struct fb_doc *d, struct fb_err *err) FB_MUST_CHECK;

#endif
