/* The registry build cache (regcache.h): an export is a push (push.c) of
 * an artifact made in the store; an import reads the artifact with the
 * pull side (registry.c) and writes the store's cache entries for the
 * layers that passed their checks. */
#include "regcache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "push.h"
#include "ref.h"
#include "registry.h"
#include "store.h"
#include "util.h"

void fb_regcache_free(struct fb_regcache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].step);
		free(c->v[i].created);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

struct fb_regcache_entry *fb_regcache_add(struct fb_regcache *c, const char *key, const char *layer, uint64_t size,
					  const char *step)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].key, key))
			return NULL;
	c->v = fb_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	struct fb_regcache_entry *e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->layer, sizeof(e->layer), "%s", layer ? layer : "");
	e->size = e->layer[0] ? size : 0;
	e->step = step ? fb_xstrdup(step) : NULL;
	return e;
}

/* ---- the flag's value ---- */

void fb_regcache_spec_free(struct fb_regcache_spec *s)
{
	free(s->ref);
	memset(s, 0, sizeof(*s));
}

static int spec_fail(struct fb_regcache_spec *out, struct fb_err *err, const char *s, const char *why, const char *part)
{
	fb_regcache_spec_free(out);
	return fb_err_set(err, FB_EXIT_USAGE, "usage", "%s: %s%s%s", s, part ? part : "", part ? ": " : "", why);
}

int fb_regcache_spec_parse(const char *s, bool export, struct fb_regcache_spec *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	FB_AUTOFREE char *copy = fb_xstrdup(s);
	char *save = NULL;
	bool first = true;
	for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(part, '=');
		if (!eq) {
			if (!first || out->ref)
				return spec_fail(out, err, s, "expected KEY=VALUE (only the first part may be a bare reference)", part);
			out->ref = fb_xstrdup(part);
			continue;
		}
		*eq = '\0';
		const char *k = part, *v = eq + 1;
		if (!strcmp(k, "type")) {
			if (strcmp(v, "registry"))
				return spec_fail(out, err, s, "only type=registry is a cache firebuild shares", v);
		} else if (!strcmp(k, "ref")) {
			if (out->ref || !*v)
				return spec_fail(out, err, s, out->ref ? "a second reference" : "an empty reference", "ref");
			out->ref = fb_xstrdup(v);
		} else if (export && !strcmp(k, "mode")) {
			if (strcmp(v, "min") && strcmp(v, "max"))
				return spec_fail(out, err, s, "expected min or max", "mode");
			out->mode = !strcmp(v, "max") ? FB_REGCACHE_MAX : FB_REGCACHE_MIN;
		} else if (export && !strcmp(k, "ignore-error")) {
			if (strcmp(v, "true") && strcmp(v, "false"))
				return spec_fail(out, err, s, "expected true or false", "ignore-error");
			out->ignore_error = !strcmp(v, "true");
		} else if (export && (!strcmp(k, "oci-mediatypes") || !strcmp(k, "image-manifest"))) {
			/* what buildx asks for with these is what we always make */
			if (strcmp(v, "true"))
				return spec_fail(out, err, s, "the cache is always an OCI image manifest (only =true)", k);
		} else {
			return spec_fail(out, err, s,
					 export ? "unknown key (type, ref, mode, ignore-error, oci-mediatypes, image-manifest)"
						: "unknown key (type, ref)",
					 k);
		}
	}
	if (!out->ref)
		return spec_fail(out, err, s, "no reference (REF or ref=REF)", NULL);
	struct fb_ref r;
	if (fb_ref_parse(out->ref, &r, err) < 0) {
		fb_regcache_spec_free(out);
		return -1;
	}
	bool reg = r.transport == FB_REF_REGISTRY;
	fb_ref_free(&r);
	if (!reg)
		return spec_fail(out, err, s, "not a registry reference ([REGISTRY/]REPOSITORY[:TAG])", NULL);
	return 0;
}

/* ---- export ---- */

void fb_regcache_export_free(struct fb_regcache_export *x)
{
	fb_push_result_free(&x->push);
	memset(x, 0, sizeof(*x));
}

int fb_regcache_push(const struct fb_push_opts *o, struct fb_store *s, const struct fb_regcache *c, const char *ref,
		     struct fb_regcache_export *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	/* the sizes are the store's files' (the push checks their digests) */
	struct fb_regcache mine = { .mode = c->mode };
	int r = 0;
	for (size_t i = 0; i < c->n && r == 0; i++) {
		const struct fb_regcache_entry *e = &c->v[i];
		uint64_t size = 0;
		if (e->layer[0]) {
			FB_AUTOFREE char *path = fb_store_blob_path(s, e->layer);
			struct stat st;
			if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
				r = fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "step %s: its layer %s is not in the store %s",
					       e->key, e->layer, s->root);
				break;
			}
			size = (uint64_t)st.st_size;
		}
		struct fb_regcache_entry *me = fb_regcache_add(&mine, e->key, e->layer, size, e->step);
		/* when the step ran, as the store's cache says: a build from
		 * this cache gets the same created, so the same image */
		struct fb_cache_entry ce;
		if (me && fb_store_cache_get(s, e->key, &ce) == 1) {
			me->created = ce.created;
			ce.created = NULL;
			fb_cache_entry_free(&ce);
		}
	}
	char cd[72], md[72];
	FB_AUTOFREE char *ctext = r == 0 ? fb_regcache_encode(&mine) : NULL;
	if (r == 0)
		r = fb_store_put_mem(s, ctext, strlen(ctext), cd, err);
	FB_AUTOFREE char *mtext = r == 0 ? fb_regcache_manifest_encode(cd, strlen(ctext), &mine) : NULL;
	if (r == 0)
		r = fb_store_put_mem(s, mtext, strlen(mtext), md, err);
	if (r == 0) {
		struct fb_push_opts po = *o;
		po.format = FB_PUSH_OCI; /* our config has no Docker type */
		struct fb_push_src src = { .digest = md, .name = (char *)"build cache", .version = (char *)"cache" };
		r = fb_push_image(&po, s, &src, ref, &out->push, err);
	}
	if (r == 0) {
		out->entries = mine.n;
		for (size_t i = 0; i < mine.n; i++) {
			bool dup = !mine.v[i].layer[0];
			for (size_t k = 0; k < i && !dup; k++)
				dup = !strcmp(mine.v[k].layer, mine.v[i].layer);
			out->layers += !dup;
		}
	}
	fb_regcache_free(&mine);
	return r;
}

/* ---- import ---- */

void fb_regcache_import_free(struct fb_regcache_import *x)
{
	free(x->ref);
	free(x->error);
	memset(x, 0, sizeof(*x));
}

/* The store's blob is what the entry says, and a plain tar (the builder's
 * layers are: their diff id is their digest); NULL, or why not. */
static char *layer_problem(const struct fb_store *s, const struct fb_regcache_entry *e)
{
	FB_AUTOFREE char *path = fb_store_blob_path(s, e->layer);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fb_xasprintf("not downloaded");
	struct stat st;
	unsigned char head[512];
	ssize_t got = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		got = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (got < 0)
		return fb_xasprintf("unreadable");
	if ((uint64_t)st.st_size != e->size)
		return fb_xasprintf("%jd bytes, the cache says %" PRIu64, (intmax_t)st.st_size, e->size);
	if (got < (ssize_t)sizeof(head) || memcmp(head + 257, "ustar", 5))
		return fb_xasprintf("not an uncompressed tar (the builder's layers are)");
	return NULL;
}

/* Is the key in the store's cache already, with its layer? */
static bool have_entry(const struct fb_store *s, const char *key)
{
	struct fb_cache_entry e;
	if (fb_store_cache_get(s, key, &e) != 1)
		return false;
	bool ok = !e.layer_other && (!e.layer || fb_store_has_blob(s, e.layer));
	fb_cache_entry_free(&e);
	return ok;
}

/* Download the layers; when the batch fails, blob by blob, so that one
 * bad layer costs only the steps that use it. */
static void fetch_layers(struct fb_registry *r, struct fb_store *s, const struct fb_blob_req *reqs, size_t n)
{
	struct fb_err err = { 0 };
	if (!n || fb_registry_blobs(r, s, reqs, n, &err) == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct fb_err e1 = { 0 };
		if (fb_registry_blobs(r, s, &reqs[i], 1, &e1) < 0)
			fb_log_fields(FB_LOG_WARN, "cache layer not usable", "blob", reqs[i].digest, "error", e1.msg,
				      (char *)NULL);
	}
}

static int import_entries(struct fb_registry *r, struct fb_store *s, const struct fb_push_manifest *m,
			  const struct fb_regcache *c, struct fb_regcache_import *out, struct fb_err *err)
{
	bool *want = fb_xcalloc(c->n + 1, sizeof(*want));
	struct fb_blob_req *reqs = fb_xcalloc(c->n + 1, sizeof(*reqs));
	size_t nreq = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct fb_regcache_entry *e = &c->v[i];
		if (have_entry(s, e->key)) {
			out->present++;
			continue;
		}
		if (e->layer[0]) {
			/* the manifest names it (a registry keeps only what manifests name) */
			bool listed = false;
			for (size_t k = 0; k < m->nlayers && !listed; k++)
				listed = !strcmp(m->layers[k].digest, e->layer) && m->layers[k].size == e->size;
			if (!listed) {
				fb_log_fields(FB_LOG_WARN, "cache entry skipped: its layer is not in the cache's manifest", "key",
					      e->key, "layer", e->layer, (char *)NULL);
				out->skipped++;
				continue;
			}
			bool dup = false;
			for (size_t k = 0; k < nreq && !dup; k++)
				dup = !strcmp(reqs[k].digest, e->layer);
			if (!dup)
				reqs[nreq++] = (struct fb_blob_req){ e->layer, e->size, "cache layer", NULL };
		}
		want[i] = true;
	}
	fetch_layers(r, s, reqs, nreq);
	int ret = 0;
	for (size_t i = 0; i < c->n && ret == 0; i++) {
		const struct fb_regcache_entry *e = &c->v[i];
		if (!want[i])
			continue;
		FB_AUTOFREE char *why = e->layer[0] ? layer_problem(s, e) : NULL;
		if (why) {
			fb_log_fields(FB_LOG_WARN, "cache entry skipped: its step will run", "key", e->key, "layer", e->layer,
				      "why", why, (char *)NULL);
			out->skipped++;
			continue;
		}
		struct fb_cache_entry ce = { .key = (char *)e->key, .step = e->step, .layer = e->layer[0] ? (char *)e->layer : NULL,
					     .size = e->layer[0] ? (int64_t)e->size : -1, .created = e->created };
		if (fb_store_cache_put(s, &ce, err) < 0)
			ret = -1;
		else
			out->imported++;
	}
	free(reqs);
	free(want);
	return ret;
}

int fb_regcache_pull(const struct fb_registry_opts *o, struct fb_store *s, const char *refstr,
		     struct fb_regcache_import *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	out->ref = fb_xstrdup(refstr);
	struct fb_ref ref;
	if (fb_ref_parse(refstr, &ref, err) < 0)
		return -1;
	struct fb_registry *r = NULL;
	struct fb_buf body = FB_BUF_INIT, cbuf = FB_BUF_INIT;
	char *mt = NULL;
	struct fb_push_manifest m = { 0 };
	struct fb_regcache c = { 0 };
	int ret = -1;
	if (ref.transport != FB_REF_REGISTRY) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid_reference", "%s: not a registry reference", refstr);
		goto out;
	}
	if (fb_registry_open(&ref, o, &r, err) < 0 ||
	    fb_registry_manifest(r, ref.digest ? ref.digest : ref.tag, &body, &mt, out->digest, err) < 0)
		goto out;
	if (fb_regcache_manifest_check(fb_buf_str(&body), body.len, &m, err) < 0) {
		fb_err_prefix(err, "manifest %s", out->digest);
		goto out;
	}
	struct fb_blob_req creq = { m.config.digest, m.config.size, "cache config", NULL };
	if (fb_registry_blobs(r, s, &creq, 1, err) < 0 || fb_store_read_blob(s, m.config.digest, &cbuf, err) < 0)
		goto out;
	if (fb_regcache_decode(fb_buf_str(&cbuf), cbuf.len, &c, err) < 0) {
		fb_err_prefix(err, "config %s", m.config.digest);
		goto out;
	}
	out->entries = c.n;
	ret = import_entries(r, s, &m, &c, out, err);
out:
	fb_regcache_free(&c);
	fb_push_manifest_free(&m);
	free(mt);
	fb_buf_free(&body);
	fb_buf_free(&cbuf);
	fb_registry_free(r);
	fb_ref_free(&ref);
	return ret;
}
