/* The Dockerfile syntax tree, as BuildKit's parser builds it: directives,
 * line continuations, comments, heredocs, JSON-or-shell argument forms.
 * No instruction checks here: an unknown keyword or CMD before FROM parse
 * fine (lib/plan does the checks), so the tree can be dumped and compared
 * with BuildKit's own test files. */
#ifndef FB_DOCKERFILE_H
#define FB_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#include "err.h"

struct fb_err;

struct fb_df_heredoc {
	char *name;
	unsigned fd;   /* 0 when not given (3<<X gives 3) */
	bool expand;   /* false when the name was quoted */
	bool chomp;    /* <<- strips leading tabs */
	char *content; /* raw lines, newlines kept */
};

struct fb_df_node {
	char *keyword;       /* as written ("from", "FROM") */
	char *original;      /* the joined logical line */
	struct fb_strv flags; /* leading --flag words, quotes removed */
	struct fb_strv args;  /* argument words as BuildKit's parser gives them */
	bool json;           /* arguments came from a JSON array */
	struct fb_df_node *sub; /* ONBUILD's instruction */
	struct fb_df_heredoc *heredocs;
	size_t nheredocs;
	int start_line, end_line;
	bool empty_continuation; /* a blank line inside a continuation */
};

struct fb_df_directive {
	char *name;  /* lower case: syntax, escape, check */
	char *value;
	int line;
};

struct fb_df {
	struct fb_df_node *nodes;
	size_t n;
	struct fb_df_directive *directives;
	size_t ndirectives;
	char escape;
};

/* A Dockerfile's limit: more is an error (kind "too_large") before any
 * work, so a hostile input cannot take the memory and time it likes. */
#define FB_DF_MAX_SIZE ((size_t)4 << 20)

/* Parse Dockerfile text. `file` names it in errors. */
int fb_df_parse(const char *text, size_t len, const char *file, struct fb_df *out, struct fb_err *err) FB_MUST_CHECK;
void fb_df_free(struct fb_df *df);
void fb_df_node_free(struct fb_df_node *n);

/* BuildKit's AST dump (parser.Node.Dump), one "(...)" line per instruction. */
void fb_df_dump(const struct fb_df *df, struct fb_buf *out);
void fb_df_dump_node(const struct fb_df_node *n, struct fb_buf *out);

/* Go's strconv.Quote. */
void fb_go_quote(struct fb_buf *out, const char *s, size_t len);

/* Parse one logical instruction line into a node (used for ONBUILD). */
int fb_df_parse_line(const char *line, char escape, struct fb_df_node *out, struct fb_err *err) FB_MUST_CHECK;

/* Does this word start a heredoc (<<EOF, <<-EOF, 3<<"EOF")? Fills h (name
 * allocated) and returns 1; 0 if not; -1 on a lexing error. */
int fb_df_heredoc_word(const char *word, struct fb_df_heredoc *h, struct fb_err *err) FB_MUST_CHECK;
/* Remove leading tabs from every line (the <<- form). */
char *fb_df_chomp(const char *content);

#endif
