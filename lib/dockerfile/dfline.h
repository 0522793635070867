/* Inside lib/dockerfile's parser (dockerfile.c, dfline.c): one logical
 * line to a node, and the white space rules both halves share. Not for
 * other modules. */
#ifndef FB_DFLINE_H
#define FB_DFLINE_H

/* s past leading white space (Go's unicode.IsSpace), at most to e. */
const char *fb_df_trim_left_space(const char *s, const char *e);

#endif
