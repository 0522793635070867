/* A registry client for the distribution API v2 over libcurl: the /v2/
 * ping, anonymous, basic and bearer-token auth (the WWW-Authenticate
 * challenge, a token for the repository's pull scope, renewed on 401),
 * manifests with every Accept type, and blobs downloaded in parallel into
 * the store, resumed with Range, verified before they become visible. */
#ifndef FB_REGISTRY_H
#define FB_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "ref.h"
#include "store.h"
#include "err.h"
#include "util.h"

struct fb_err;
struct fb_registry;

struct fb_registry_opts {
	const char *creds;           /* "user:password" */
	const char *docker_config;   /* NULL: ~/.docker/config.json */
	struct fb_strv insecure;     /* hosts spoken to over plain http */
	const char *ca_file;         /* extra CA bundle */
	int parallel;                /* blob downloads at once (default 4) */
};

struct fb_blob_req {
	const char *digest;
	uint64_t size;
	const char *label; /* for progress: "layer 2/5" */
};

int fb_registry_open(const struct fb_ref *ref, const struct fb_registry_opts *o, struct fb_registry **out,
		     struct fb_err *err) FB_MUST_CHECK;
void fb_registry_free(struct fb_registry *r);

/* GET a manifest by tag or digest; the body is checked against the digest
 * the registry names (and against `reference` when it is a digest). */
int fb_registry_manifest(struct fb_registry *r, const char *reference, struct fb_buf *body, char **media_type,
			 char digest[72], struct fb_err *err) FB_MUST_CHECK;

/* Download blobs into the store (those already there are skipped). */
int fb_registry_blobs(struct fb_registry *r, struct fb_store *s, const struct fb_blob_req *reqs, size_t n,
		      struct fb_err *err) FB_MUST_CHECK;

/* The registry's JSON (registry_doc.c): the auth of the first of keys in
 * a Docker config.json's .auths (NULL when none), and a token response
 * (.token, else .access_token; .expires_in, 0 when not given). */
int fb_registry_config_auth(const char *text, size_t len, const char *const *keys, size_t nkeys, char **auth,
			    struct fb_err *err) FB_MUST_CHECK;
int fb_registry_token_decode(const char *text, size_t len, char **token, int64_t *expires_in, struct fb_err *err)
	FB_MUST_CHECK;

/* Small helper shared with tests: base64 of a string. */
char *fb_base64(const void *p, size_t n);

#endif
