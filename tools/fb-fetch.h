/* fb-fetch's subcommands that live in files of their own. */
#ifndef FB_FETCH_H
#define FB_FETCH_H

/* fb-fetch push (tools/fb-fetch-push.c): argv[0] is "push". */
int fb_fetch_push_main(int argc, char **argv);
/* fb-fetch cache-import and cache-export (tools/fb-fetch-cache.c):
 * argv[0] is the subcommand. */
int fb_fetch_cache_main(int argc, char **argv);
/* --creds-file FILE: its first line (USER:PASSWORD) replaces *creds; a
 * file that cannot be read is a usage error (fb_tool_usage_error's code,
 * else 0). */
int fb_fetch_creds_file(const char *path, char **creds);

#endif
