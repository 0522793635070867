/* .dockerignore matching as Docker does it (moby/patternmatcher): patterns
 * match paths relative to the context; '*' and '?' stay within a path
 * component, '**' matches any number of them, [..] classes and '\'
 * escapes work; a pattern that matches a directory excludes what is in it;
 * '!' patterns re-include; the last pattern that matches decides. */
#ifndef FB_IGNORE_H
#define FB_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

/* Does one pattern (without '!') match this clean relative path itself? */
bool fb_ignore_pattern_match(const char *pattern, const char *path);
/* Is the path excluded by the list (patterns may start with '!')? */
bool fb_ignore_excluded(char *const *patterns, size_t n, const char *path);
/* Could a '!' pattern re-include something below the directory dir? Then
 * an excluded directory is still walked (as Docker and BuildKit do), and
 * it appears only as the parent of what is re-included in it. */
bool fb_ignore_may_reinclude(char *const *patterns, size_t n, const char *dir);

#endif
