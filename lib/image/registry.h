/* A registry client for the distribution API v2 over libcurl: the /v2/
 * ping, anonymous, basic and bearer-token auth (the WWW-Authenticate
 * challenge, a token for the repository's pull (or pull and push) scope,
 * renewed on 401), manifests with every Accept type, and blobs downloaded
 * in parallel into the store, resumed with Range, verified before they
 * become visible; and the requests a push (push.h) sends. */
#ifndef FB_REGISTRY_H
#define FB_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
	const char *actions;         /* the token's actions on the repository:
	                              * NULL "pull"; a push asks "pull,push" */
};

struct fb_blob_req {
	const char *digest;
	uint64_t size;
	const char *label; /* for progress: "layer 2/5" */
	/* NULL, or the blob's writer begun already (fb_blob_begin, resuming):
	 * the download goes on in it and takes it over (its fd becomes -1);
	 * one left with its fd is the caller's to abort */
	struct fb_blob_writer *w;
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

/* ---- what a push needs (lib/image/push.c) ---- */

const char *fb_registry_host(const struct fb_registry *r);
const char *fb_registry_repository(const struct fb_registry *r);
/* Does the registry want bearer tokens (whose scopes name repositories)? */
bool fb_registry_bearer(const struct fb_registry *r);
/* Ask for a token that covers scope too ("repository:other:pull", what a
 * cross-repository mount needs); nothing to do without bearer auth. When
 * the issuer refuses, the token stays what it was and -1. */
int fb_registry_add_scope(struct fb_registry *r, const char *scope, struct fb_err *err);
/* A Location header as a URL: absolute as given, else on the registry. */
char *fb_registry_url(const struct fb_registry *r, const char *location);

/* A request body read as it is sent: len bytes from read (which returns
 * what it put in buf, or -1 after filling *err); rewind starts it again
 * (a 401 makes the request go twice). */
struct fb_registry_body {
	uint64_t len;
	ssize_t (*read)(void *ctx, char *buf, size_t n);
	int (*rewind)(void *ctx);
	void *ctx;
	struct fb_err *err;
};

struct fb_registry_req {
	const char *method;          /* HEAD, GET, POST, PATCH, PUT, DELETE */
	const char *path;            /* under the repository ("blobs/uploads/"), or */
	const char *url;             /* a URL the registry gave (fb_registry_url) */
	const char *const *headers;  /* "Name: value" lines, NULL-ended */
	const void *data;            /* a body in memory, or */
	size_t data_len;
	const struct fb_registry_body *body; /* one streamed */
};

struct fb_registry_resp {
	long code;
	struct fb_buf body; /* at most 64 MiB */
	struct fb_buf headers;
};

/* One request with the registry's credentials (sent to its own origin
 * only; a 401 renews them and sends it once more). Uploads follow no
 * redirect. 0 with any HTTP status in out->code; -1 when no answer came. */
int fb_registry_request(struct fb_registry *r, const struct fb_registry_req *q, struct fb_registry_resp *out,
			struct fb_err *err);
/* A response header's value (new string), or NULL. */
char *fb_registry_resp_header(const struct fb_registry_resp *rs, const char *name);
void fb_registry_resp_free(struct fb_registry_resp *rs);

/* Small helper shared with tests: base64 of a string. */
char *fb_base64(const void *p, size_t n);

#endif
