#include "registry.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "curlapi.h"
#include "digest.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "oci.h"
#include "progress.h"
#include "trace.h"

struct fb_registry {
	char *base;        /* "https://host/v2/" */
	char *host;
	char *repository;
	char *basic;       /* base64(user:pass) or NULL */
	char *token;       /* bearer token */
	time_t token_expiry;
	char *realm, *service;
	bool bearer;
	struct fb_strv scopes; /* more token scopes (push: a mount's source) */
	const struct fb_registry_opts *o;
	CURL *c;
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *fb_base64(const void *p, size_t n)
{
	const unsigned char *s = p;
	struct fb_buf b = FB_BUF_INIT;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
		fb_buf_addc(&b, b64[(v >> 18) & 63]);
		fb_buf_addc(&b, b64[(v >> 12) & 63]);
		fb_buf_addc(&b, i + 1 < n ? b64[(v >> 6) & 63] : '=');
		fb_buf_addc(&b, i + 2 < n ? b64[v & 63] : '=');
	}
	return fb_buf_steal(&b);
}

/* ---- credentials ---- */

static char *docker_config_auth(const char *path, const char *host, struct fb_err *err)
{
	char def[4096];
	if (!path) {
		const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
		if (dc)
			snprintf(def, sizeof(def), "%s/config.json", dc);
		else
			snprintf(def, sizeof(def), "%s/.docker/config.json", home ? home : "/");
		path = def;
	}
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e2 = { 0 };
	if (fb_read_file(path, &b, &e2) < 0) {
		fb_buf_free(&b);
		return NULL; /* no config: anonymous */
	}
	char *auth = NULL;
	const char *keys[] = { host, !strcmp(host, "docker.io") ? "https://index.docker.io/v1/" : NULL };
	if (fb_registry_config_auth(fb_buf_str(&b), b.len, keys, 2, &auth, err) < 0)
		fb_log(FB_LOG_WARN, "%s: %s (ignored)", path, err->msg);
	fb_buf_free(&b);
	return auth;
}

/* ---- HTTP ---- */

struct resp {
	long code;
	struct fb_buf body;
	struct fb_buf headers;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	if (r->body.len + sz * n > (64u << 20))
		return 0; /* manifests and tokens are small: refuse a flood */
	fb_buf_add(&r->body, p, sz * n);
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	/* keep only the last response's headers (redirects) */
	if (n * sz > 5 && !strncmp(p, "HTTP/", 5))
		fb_buf_reset(&r->headers);
	fb_buf_add(&r->headers, p, sz * n);
	return sz * n;
}

/* The value of header `name` (case-insensitive), copied, or NULL. */
static char *header(const struct resp *r, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = fb_buf_str(&r->headers); *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *ve = p + len;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			return fb_xstrndup(v, (size_t)(ve - v));
		}
		if (!e)
			break;
		p = e + 1;
	}
	return NULL;
}

static void setup_easy(struct fb_registry *r, CURL *c)
{
	fb_http_defaults(c, r->o ? r->o->ca_file : NULL);
}

static struct curl_slist *auth_headers(struct fb_registry *r, struct curl_slist *h)
{
	char line[8192];
	if (r->bearer && r->token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", r->token);
		h = curl_slist_append(h, line);
	} else if (!r->bearer && r->basic && r->realm) {
		snprintf(line, sizeof(line), "Authorization: Basic %s", r->basic);
		h = curl_slist_append(h, line);
	}
	return h;
}

static int perform(struct fb_registry *r, const char *url, struct curl_slist *h, struct resp *out, bool head,
		   struct fb_err *err)
{
	CURL *c = r->c;
	curl_easy_reset(c);
	setup_easy(r, c);
	fb_buf_reset(&out->body);
	fb_buf_reset(&out->headers);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	if (head)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		return fb_err_set(err, FB_EXIT_FAILED, "network", "%s: %s", url, curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->code);
	return 0;
}

/* Bearer realm="https://auth",service="registry",scope="repository:x:pull" */
static char *challenge_param(const char *ch, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = ch; (p = strcasestr(p, key));) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[kl] == '=') {
			const char *v = p + kl + 1;
			if (*v == '"') {
				const char *e = strchr(v + 1, '"');
				return e ? fb_xstrndup(v + 1, (size_t)(e - v - 1)) : NULL;
			}
			const char *e = v + strcspn(v, ", ");
			return fb_xstrndup(v, (size_t)(e - v));
		}
		p += kl;
	}
	return NULL;
}

static char *url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = fb_xstrdup(e ? e : "");
	curl_free(e);
	return r;
}

static int fetch_token(struct fb_registry *r, struct fb_err *err)
{
	char *svc = r->service ? url_escape(r->service) : NULL;
	char *scope_raw = fb_xasprintf("repository:%s:%s", r->repository, r->o && r->o->actions ? r->o->actions : "pull");
	char *scope = url_escape(scope_raw);
	char *url = fb_xasprintf("%s%sservice=%s&scope=%s", r->realm, strchr(r->realm, '?') ? "&" : "?", svc ? svc : "", scope);
	free(svc);
	free(scope_raw);
	free(scope);
	for (size_t i = 0; i < r->scopes.n; i++) {
		char *more = url_escape(r->scopes.v[i]), *u2 = fb_xasprintf("%s&scope=%s", url, more);
		free(more);
		free(url);
		url = u2;
	}
	struct curl_slist *h = NULL;
	if (r->basic) {
		char line[4096];
		snprintf(line, sizeof(line), "Authorization: Basic %s", r->basic);
		h = curl_slist_append(h, line);
	}
	struct resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	int ret = perform(r, url, h, &rs, false, err);
	curl_slist_free_all(h);
	if (ret == 0 && rs.code != 200)
		ret = fb_err_set(err, rs.code == 401 || rs.code == 403 ? FB_EXIT_FAILED : FB_EXIT_FAILED, "auth",
				 "%s: token request refused (HTTP %ld)%s", r->host, rs.code,
				 r->basic ? ": check the credentials" : ": the registry wants credentials (--creds or ~/.docker/config.json)");
	char *tok = NULL;
	int64_t expires = 0;
	if (ret == 0 && fb_registry_token_decode(fb_buf_str(&rs.body), rs.body.len, &tok, &expires, err) < 0) {
		fb_err_prefix(err, "%s: token response", r->host);
		ret = -1;
	}
	if (ret == 0) {
		if (!tok) {
			ret = fb_err_set(err, FB_EXIT_FAILED, "auth", "%s: the token response has no token", r->host);
		} else {
			free(r->token);
			r->token = tok;
			tok = NULL;
			/* renew a little early; 60 s is the spec's default lifetime */
			r->token_expiry = time(NULL) + (expires > 0 ? expires : 60) - 5;
		}
	}
	free(tok);
	fb_buf_free(&rs.body);
	fb_buf_free(&rs.headers);
	free(url);
	return ret;
}

/* Follow a 401's challenge: remember the scheme, get a token if bearer. */
static int authenticate(struct fb_registry *r, const struct resp *rs, struct fb_err *err)
{
	char *ch = header(rs, "WWW-Authenticate");
	if (!ch)
		return fb_err_set(err, FB_EXIT_FAILED, "auth", "%s: 401 without a WWW-Authenticate challenge", r->host);
	int ret = 0;
	free(r->realm);
	free(r->service);
	r->realm = challenge_param(ch, "realm");
	r->service = challenge_param(ch, "service");
	if (!strncasecmp(ch, "Bearer", 6)) {
		r->bearer = true;
		ret = r->realm ? fetch_token(r, err)
			       : fb_err_set(err, FB_EXIT_FAILED, "auth", "%s: bearer challenge without a realm", r->host);
	} else if (!strncasecmp(ch, "Basic", 5)) {
		r->bearer = false;
		if (!r->realm)
			r->realm = fb_xstrdup("basic");
		if (!r->basic)
			ret = fb_err_set(err, FB_EXIT_FAILED, "auth",
					 "%s: authentication required; give --creds USER:PASSWORD or log in (~/.docker/config.json)",
					 r->host);
	} else {
		ret = fb_err_set(err, FB_EXIT_FAILED, "auth", "%s: unsupported authentication scheme: %s", r->host, ch);
	}
	free(ch);
	return ret;
}

/* GET with auth; a 401 re-authenticates once (expired token). */
static int get(struct fb_registry *r, const char *path, const char *accept, struct resp *rs, struct fb_err *err)
{
	char *url = fb_xasprintf("%s%s", r->base, path);
	int ret = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (r->bearer && r->token && time(NULL) >= r->token_expiry && fetch_token(r, err) < 0) {
			ret = -1;
			break;
		}
		struct curl_slist *h = auth_headers(r, NULL);
		if (accept) {
			char line[512];
			snprintf(line, sizeof(line), "Accept: %s", accept);
			h = curl_slist_append(h, line);
		}
		ret = perform(r, url, h, rs, false, err);
		curl_slist_free_all(h);
		if (ret < 0 || rs->code != 401 || attempt == 1)
			break;
		if ((ret = authenticate(r, rs, err)) < 0)
			break;
	}
	if (ret == 0 && rs->code == 401)
		ret = fb_err_set(err, FB_EXIT_FAILED, "auth", "%s: access to %s denied (HTTP 401)", r->host, r->repository);
	free(url);
	return ret;
}

int fb_registry_open(const struct fb_ref *ref, const struct fb_registry_opts *o, struct fb_registry **out,
		     struct fb_err *err)
{
	fb_http_init();
	struct fb_registry *r = fb_xcalloc(1, sizeof(*r));
	r->o = o;
	r->host = fb_xstrdup(fb_ref_api_host(ref));
	r->repository = fb_xstrdup(ref->repository);
	bool insecure = !strncmp(r->host, "localhost", 9) || !strncmp(r->host, "127.", 4);
	for (size_t i = 0; o && i < o->insecure.n; i++)
		if (!strcmp(o->insecure.v[i], r->host) || !strcmp(o->insecure.v[i], ref->registry))
			insecure = true;
	r->base = fb_xasprintf("%s://%s/v2/", insecure ? "http" : "https", r->host);
	if (o && o->creds) {
		if (!strchr(o->creds, ':')) {
			fb_registry_free(r);
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "--creds: expected USER:PASSWORD");
		}
		r->basic = fb_base64(o->creds, strlen(o->creds));
	} else {
		r->basic = docker_config_auth(o ? o->docker_config : NULL, ref->registry, err);
	}
	r->c = curl_easy_init();
	/* The ping tells us how to authenticate. */
	struct resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	int ret = perform(r, r->base, NULL, &rs, false, err);
	if (ret == 0 && rs.code == 401)
		ret = authenticate(r, &rs, err);
	else if (ret == 0 && rs.code != 200)
		ret = fb_err_set(err, FB_EXIT_FAILED, "registry", "%s: not a v2 registry (GET /v2/ answered HTTP %ld)", r->host,
				 rs.code);
	fb_buf_free(&rs.body);
	fb_buf_free(&rs.headers);
	if (ret < 0) {
		fb_registry_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void fb_registry_free(struct fb_registry *r)
{
	if (!r)
		return;
	if (r->c)
		curl_easy_cleanup(r->c);
	free(r->base);
	free(r->host);
	free(r->repository);
	free(r->basic);
	free(r->token);
	free(r->realm);
	free(r->service);
	fb_strv_free(&r->scopes);
	free(r);
}

int fb_registry_manifest(struct fb_registry *r, const char *reference, struct fb_buf *body, char **media_type,
			 char digest[72], struct fb_err *err)
{
	char *path = fb_xasprintf("%s/manifests/%s", r->repository, reference);
	struct resp rs = { 0, FB_BUF_INIT, FB_BUF_INIT };
	int ret = get(r, path, FB_MT_ACCEPT, &rs, err);
	if (ret == 0 && rs.code == 404)
		ret = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "%s/%s:%s: manifest unknown (HTTP 404)", r->host,
				 r->repository, reference);
	else if (ret == 0 && rs.code != 200)
		ret = fb_err_set(err, FB_EXIT_FAILED, "registry", "%s/%s: manifest %s: HTTP %ld", r->host, r->repository,
				 reference, rs.code);
	if (ret == 0) {
		char got[72];
		fb_sha256_mem(rs.body.data ? rs.body.data : "", rs.body.len, got);
		char *named = header(&rs, "Docker-Content-Digest");
		if (fb_digest_valid(reference) && strcmp(reference, got))
			ret = fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch", "manifest %s: digest mismatch: the data hashes to %s",
					 reference, got);
		else if (named && fb_digest_valid(named) && strcmp(named, got))
			ret = fb_err_set(err, FB_EXIT_FAILED, "digest_mismatch",
					 "manifest %s: the registry says %s but the data hashes to %s", reference, named, got);
		free(named);
		if (ret == 0) {
			memcpy(digest, got, 72);
			char *ct = header(&rs, "Content-Type");
			if (ct) {
				char *semi = strchr(ct, ';');
				if (semi)
					*semi = '\0';
			}
			*media_type = ct ? ct : fb_xstrdup("");
			fb_buf_add(body, rs.body.data ? rs.body.data : "", rs.body.len);
		}
	}
	fb_buf_free(&rs.body);
	fb_buf_free(&rs.headers);
	free(path);
	return ret;
}

/* ---- blobs, in parallel ---- */

struct xfer {
	struct fb_registry *r;
	struct fb_store *s;
	const struct fb_blob_req *req;
	struct fb_blob_writer w;
	CURL *c;
	struct curl_slist *h;
	uint64_t resumed_at;
	bool checked;     /* response code looked at */
	bool restarted;   /* the server ignored Range: started again */
	int attempts;
	struct fb_err err;
	bool failed;
	struct fb_span *span;
	uint64_t last_report;
};

static size_t on_blob(char *p, size_t sz, size_t n, void *ud)
{
	struct xfer *x = ud;
	if (!x->checked) {
		long code = 0;
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
		x->checked = true;
		if (code == 200 && x->resumed_at) {
			/* the server ignored Range: throw the partial data away */
			fb_blob_abort(&x->w, false);
			x->resumed_at = 0;
			if (fb_blob_begin(x->s, x->req->digest, x->req->digest, NULL, &x->w, &x->err) < 0) {
				x->failed = true;
				return 0;
			}
		}
		if (code != 200 && code != 206)
			return sz * n; /* an error page: the status is checked after */
	}
	long code = 0;
	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 && code != 206)
		return sz * n;
	if (x->w.size + sz * n > x->req->size) {
		fb_err_set(&x->err, FB_EXIT_FAILED, "digest_mismatch", "blob %s: more data than its size %" PRIu64,
			   x->req->digest, x->req->size);
		x->failed = true;
		return 0;
	}
	if (fb_blob_write(&x->w, p, sz * n, &x->err) < 0) {
		x->failed = true;
		return 0;
	}
	return sz * n;
}

static int start_xfer(struct fb_registry *r, struct fb_store *s, struct xfer *x, CURLM *m, struct fb_err *err)
{
	x->r = r;
	x->s = s;
	x->checked = false;
	uint64_t at = 0;
	if (x->req->w && x->req->w->fd >= 0) {
		/* begun by the caller (fb-fetch image --stream): taken over */
		x->w = *x->req->w;
		at = x->w.size;
		memset(x->req->w, 0, sizeof(*x->req->w));
		x->req->w->fd = -1;
	} else if (fb_blob_begin(s, x->req->digest, x->req->digest, &at, &x->w, err) < 0) {
		return -1;
	}
	if (at >= x->req->size && at > 0) {
		/* nothing left to ask for: start again rather than trust it */
		fb_blob_abort(&x->w, false);
		if (fb_blob_begin(s, x->req->digest, x->req->digest, NULL, &x->w, err) < 0)
			return -1;
		at = 0;
	}
	x->resumed_at = at;
	if (r->bearer && r->token && time(NULL) >= r->token_expiry && fetch_token(r, err) < 0)
		return -1;
	x->c = curl_easy_init();
	setup_easy(r, x->c);
	char *url = fb_xasprintf("%s%s/blobs/%s", r->base, r->repository, x->req->digest);
	curl_easy_setopt(x->c, CURLOPT_URL, url);
	free(url);
	x->h = auth_headers(r, NULL);
	curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->h);
	if (at && at < x->req->size) {
		char range[64];
		snprintf(range, sizeof(range), "%" PRIu64 "-", at);
		curl_easy_setopt(x->c, CURLOPT_RANGE, range);
		fb_log_fields(FB_LOG_DEBUG, "resuming a download", "blob", x->req->digest, (char *)NULL);
	}
	curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_blob);
	curl_easy_setopt(x->c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->c, CURLOPT_PRIVATE, x);
	curl_multi_add_handle(m, x->c);
	return 0;
}

static void end_xfer(struct xfer *x, CURLM *m)
{
	if (x->c) {
		curl_multi_remove_handle(m, x->c);
		curl_easy_cleanup(x->c);
	}
	curl_slist_free_all(x->h);
	x->c = NULL;
	x->h = NULL;
}

int fb_registry_blobs(struct fb_registry *r, struct fb_store *s, const struct fb_blob_req *reqs, size_t n,
		      struct fb_err *err)
{
	CURLM *m = curl_multi_init();
	struct xfer *xs = fb_xcalloc(n ? n : 1, sizeof(*xs));
	size_t next = 0, active = 0, done = 0;
	int parallel = r->o && r->o->parallel > 0 ? r->o->parallel : 4;
	int ret = 0;
	struct fb_progress *pg = fb_progress_new("download", n);
	for (size_t i = 0; i < n; i++) {
		xs[i].req = &reqs[i];
		fb_progress_item(pg, i, reqs[i].digest, reqs[i].size);
	}
	while (ret == 0 && (done < n)) {
		while (next < n && active < (size_t)parallel) {
			struct xfer *x = &xs[next++];
			x->span = fb_span_begin_under(NULL, x->req->label ? x->req->label : "blob");
			fb_span_set(x->span, "digest", x->req->digest);
			fb_span_set_int(x->span, "size", (int64_t)x->req->size);
			if (fb_store_has_blob(s, x->req->digest)) {
				if (x->req->w && x->req->w->fd >= 0)
					fb_blob_abort(x->req->w, false); /* another pull put it there */
				fb_span_set(x->span, "status", "cached");
				fb_span_end(x->span);
				x->span = NULL;
				fb_progress_end(pg, (size_t)(x - xs), "cached");
				fb_log_fields(FB_LOG_DEBUG, "already in the store", "blob", x->req->digest, (char *)NULL);
				done++;
				continue;
			}
			if (start_xfer(r, s, x, m, err) < 0) {
				ret = -1;
				break;
			}
			active++;
		}
		if (ret < 0 || !active)
			continue;
		int running = 0;
		curl_multi_perform(m, &running);
		int left;
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct xfer *x;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			long code = 0;
			curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
			CURLcode cc = msg->data.result;
			bool again = false;
			end_xfer(x, m);
			active--;
			if (x->failed) {
				fb_blob_abort(&x->w, false);
				*err = x->err;
				ret = -1;
			} else if (cc != CURLE_OK) {
				/* keep what came: the next run resumes it */
				fb_blob_abort(&x->w, true);
				ret = fb_err_set(err, FB_EXIT_FAILED, "network", "blob %s: %s", x->req->digest, curl_easy_strerror(cc));
			} else if (code == 401 && x->attempts++ == 0 && r->bearer) {
				fb_blob_abort(&x->w, true);
				if (fetch_token(r, err) < 0 || start_xfer(r, s, x, m, err) < 0)
					ret = -1;
				else
					active++, again = true;
			} else if (code != 200 && code != 206) {
				fb_blob_abort(&x->w, false);
				ret = fb_err_set(err, code == 404 ? FB_EXIT_NOTFOUND : FB_EXIT_FAILED, "registry",
						 "blob %s: HTTP %ld", x->req->digest, code);
			} else if (fb_blob_commit(&x->w, NULL, err) < 0) {
				ret = -1;
			} else {
				done++;
				fb_progress_end(pg, (size_t)(x - xs), "done");
				char sz[32];
				snprintf(sz, sizeof(sz), "%" PRIu64, x->req->size);
				fb_log_fields(FB_LOG_DEBUG, "downloaded", "blob", x->req->digest, "size", sz, (char *)NULL);
			}
			if (ret < 0)
				fb_progress_end(pg, (size_t)(x - xs), "failed");
			/* a transfer started again (a token) keeps its span */
			if (!again) {
				if (ret < 0)
					fb_span_error(x->span, err->msg);
				else
					fb_span_set(x->span, "status", "downloaded");
				fb_span_end(x->span);
				x->span = NULL;
			}
		}
		if (ret == 0 && running)
			curl_multi_poll(m, NULL, 0, 200, NULL);
		for (size_t i = 0; i < n; i++)
			if (xs[i].c)
				fb_progress_update(pg, i, xs[i].w.size);
	}
	for (size_t i = 0; i < n; i++) {
		if (xs[i].c) {
			end_xfer(&xs[i], m);
			fb_blob_abort(&xs[i].w, true);
		}
	}
	fb_progress_free(pg);
	free(xs);
	curl_multi_cleanup(m);
	return ret;
}

/* ---- requests for push (lib/image/push.c) ---- */

const char *fb_registry_host(const struct fb_registry *r)
{
	return r->host;
}

const char *fb_registry_repository(const struct fb_registry *r)
{
	return r->repository;
}

bool fb_registry_bearer(const struct fb_registry *r)
{
	return r->bearer;
}

int fb_registry_add_scope(struct fb_registry *r, const char *scope, struct fb_err *err)
{
	for (size_t i = 0; i < r->scopes.n; i++)
		if (!strcmp(r->scopes.v[i], scope))
			return 0;
	fb_strv_push(&r->scopes, scope);
	if (!r->bearer || !r->realm)
		return 0;
	if (fetch_token(r, err) == 0)
		return 0;
	/* the issuer would not have it: back to the token we had */
	free(r->scopes.v[--r->scopes.n]);
	r->scopes.v[r->scopes.n] = NULL;
	struct fb_err e2 = { 0 };
	if (fetch_token(r, &e2) < 0)
		*err = e2;
	return -1;
}

/* "scheme://host" of the base, so a Location is resolved against it and
 * credentials go to the registry's own origin only. */
static size_t origin_len(const struct fb_registry *r)
{
	const char *p = strstr(r->base, "://");
	return p ? (size_t)(strchr(p + 3, '/') - r->base) : 0;
}

char *fb_registry_url(const struct fb_registry *r, const char *location)
{
	if (!strncmp(location, "http://", 7) || !strncmp(location, "https://", 8))
		return fb_xstrdup(location);
	if (location[0] == '/')
		return fb_xasprintf("%.*s%s", (int)origin_len(r), r->base, location);
	return fb_xasprintf("%s%s/%s", r->base, r->repository, location);
}

struct reqbody {
	const struct fb_registry_req *q;
	size_t at; /* in data */
	bool failed;
};

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
	struct reqbody *b = ud;
	size_t want = sz * n;
	if (b->q->body) {
		ssize_t got = b->q->body->read(b->q->body->ctx, p, want);
		if (got < 0) {
			b->failed = true;
			return CURL_READFUNC_ABORT;
		}
		return (size_t)got;
	}
	size_t left = b->q->data_len - b->at;
	if (want > left)
		want = left;
	memcpy(p, (const char *)b->q->data + b->at, want);
	b->at += want;
	return want;
}

static int perform_req(struct fb_registry *r, const struct fb_registry_req *q, const char *url, struct fb_registry_resp *out,
		       struct fb_err *err)
{
	CURL *c = r->c;
	curl_easy_reset(c);
	setup_easy(r, c);
	fb_buf_reset(&out->body);
	fb_buf_reset(&out->headers);
	struct resp tmp = { 0, out->body, out->headers };
	struct curl_slist *h = NULL;
	size_t ol = origin_len(r);
	/* credentials for the registry itself, not a place it sends us to */
	if (ol && !strncmp(url, r->base, ol) && (url[ol] == '/' || !url[ol]))
		h = auth_headers(r, h);
	for (size_t i = 0; q->headers && q->headers[i]; i++)
		h = curl_slist_append(h, q->headers[i]);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &tmp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &tmp);
	bool head = !strcmp(q->method, "HEAD"), get_ = !strcmp(q->method, "GET");
	struct reqbody rb = { q, 0, false };
	if (head) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!get_) {
		/* an upload follows no redirect: its body would go elsewhere */
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		if (strcmp(q->method, "DELETE")) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(q->body ? q->body->len : q->data_len));
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &rb);
		}
	}
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(h);
	out->body = tmp.body;
	out->headers = tmp.headers;
	if (rb.failed && q->body && q->body->err)
		return fb_err_set(err, q->body->err->code ? q->body->err->code : FB_EXIT_FAILED, q->body->err->kind[0] ? q->body->err->kind : "io",
				  "%s", q->body->err->msg);
	if (cc != CURLE_OK)
		return fb_err_set(err, FB_EXIT_FAILED, "network", "%s %s: %s", q->method, url, curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->code);
	return 0;
}

int fb_registry_request(struct fb_registry *r, const struct fb_registry_req *q, struct fb_registry_resp *out,
			struct fb_err *err)
{
	char *url = q->url ? fb_xstrdup(q->url) : fb_xasprintf("%s%s/%s", r->base, r->repository, q->path);
	int ret = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (r->bearer && r->token && time(NULL) >= r->token_expiry && fetch_token(r, err) < 0) {
			ret = -1;
			break;
		}
		if (attempt && q->body && q->body->rewind && q->body->rewind(q->body->ctx) < 0) {
			ret = fb_err_set(err, FB_EXIT_FAILED, "io", "%s %s: cannot send the body again", q->method, url);
			break;
		}
		ret = perform_req(r, q, url, out, err);
		if (ret < 0 || out->code != 401 || attempt == 1)
			break;
		struct resp tmp = { out->code, out->body, out->headers };
		if ((ret = authenticate(r, &tmp, err)) < 0)
			break;
	}
	free(url);
	return ret;
}

char *fb_registry_resp_header(const struct fb_registry_resp *rs, const char *name)
{
	struct resp tmp = { rs->code, FB_BUF_INIT, rs->headers };
	return header(&tmp, name);
}

void fb_registry_resp_free(struct fb_registry_resp *rs)
{
	fb_buf_free(&rs->body);
	fb_buf_free(&rs->headers);
}
