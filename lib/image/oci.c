/* OCI documents as structs: what is not JSON (oci_doc.c is). */
#include "oci.h"

#include <string.h>

#include "doc.h"
#include "err.h"
#include "util.h"

bool fb_oci_is_index(const char *mt)
{
	return mt && (!strcmp(mt, FB_MT_OCI_INDEX) || !strcmp(mt, FB_MT_DOCKER_LIST));
}

bool fb_oci_is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, FB_MT_OCI_MANIFEST) || !strcmp(mt, FB_MT_DOCKER_MANIFEST));
}

void fb_oci_desc_free(struct fb_oci_desc *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->platform);
	free(d->ref_name);
	free(d->path);
	fb_doc_free(d->raw);
	memset(d, 0, sizeof(*d));
	d->size = -1;
}

static char *dup_or_null(const char *s)
{
	return s ? fb_xstrdup(s) : NULL;
}

void fb_oci_desc_copy(struct fb_oci_desc *dst, const struct fb_oci_desc *src)
{
	dst->media_type = dup_or_null(src->media_type);
	dst->digest = dup_or_null(src->digest);
	dst->size = src->size;
	dst->platform = dup_or_null(src->platform);
	dst->ref_name = dup_or_null(src->ref_name);
	dst->path = dup_or_null(src->path);
	dst->raw = fb_doc_dup(src->raw);
}

void fb_oci_index_free(struct fb_oci_index *x)
{
	for (size_t i = 0; i < x->n; i++)
		fb_oci_desc_free(&x->manifests[i]);
	free(x->manifests);
	fb_doc_free(x->rest);
	memset(x, 0, sizeof(*x));
}

void fb_oci_index_add(struct fb_oci_index *x, const char *media_type, const char *digest, uint64_t size,
		      const char *ref_name)
{
	x->manifests = fb_xrealloc(x->manifests, (x->n + 1) * sizeof(*x->manifests));
	struct fb_oci_desc *d = &x->manifests[x->n++];
	memset(d, 0, sizeof(*d));
	d->media_type = dup_or_null(media_type);
	d->digest = fb_xstrdup(digest);
	d->size = (int64_t)size;
	d->ref_name = dup_or_null(ref_name);
}

void fb_oci_manifest_free(struct fb_oci_manifest *m)
{
	free(m->media_type);
	fb_oci_desc_free(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		fb_oci_desc_free(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

void fb_docker_archive_free(struct fb_docker_archive *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->images[i].error);
		free(a->images[i].config);
		fb_strv_free(&a->images[i].repo_tags);
		fb_strv_free(&a->images[i].layers);
	}
	free(a->images);
	memset(a, 0, sizeof(*a));
}

/* arm64 means arm64/v8; arm means arm/v7 unless said otherwise. */
static bool platform_matches(const char *want, const char *have)
{
	if (!strcmp(want, have))
		return true;
	const char *aliases[][2] = { { "linux/arm64", "linux/arm64/v8" }, { "linux/arm", "linux/arm/v7" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(aliases); i++)
		if ((!strcmp(want, aliases[i][0]) && !strcmp(have, aliases[i][1])) ||
		    (!strcmp(want, aliases[i][1]) && !strcmp(have, aliases[i][0])))
			return true;
	return false;
}

int fb_oci_pick_platform(const struct fb_oci_index *x, const char *platform, const struct fb_oci_desc **out,
			 struct fb_err *err)
{
	const char *want = platform ? platform : fb_host_platform();
	struct fb_buf seen = FB_BUF_INIT;
	const struct fb_oci_desc *found = NULL;
	for (size_t i = 0; i < x->n; i++) {
		const char *ps = x->manifests[i].platform;
		/* attestation manifests say unknown/unknown: skip quietly */
		if (!ps || !strcmp(ps, "unknown/unknown"))
			continue;
		fb_buf_addf(&seen, "%s%s", seen.len ? ", " : "", ps);
		if (!found && platform_matches(want, ps))
			found = &x->manifests[i];
	}
	int r = 0;
	if (!found)
		r = fb_err_set(err, FB_EXIT_NOTFOUND, "no_platform", "no manifest for %s in the image index (it has: %s)", want,
			       seen.len ? fb_buf_str(&seen) : "none");
	else
		*out = found;
	fb_buf_free(&seen);
	return r;
}

/* ---- the config ---- */

void fb_oci_config_init(struct fb_oci_config *c)
{
	memset(c, 0, sizeof(*c));
	c->onbuild_bad = -1;
	c->health.interval = c->health.timeout = c->health.start_period = c->health.start_interval = c->health.retries = -1;
}

void fb_oci_strv_clear(struct fb_oci_strv *s)
{
	fb_strv_free(&s->v);
	s->v = (struct fb_strv)FB_STRV_INIT;
	s->set = false;
}

static void map_free(struct fb_oci_map *m)
{
	fb_strv_free(&m->keys);
	fb_strv_free(&m->vals);
	memset(m, 0, sizeof(*m));
}

static void history_free(struct fb_oci_history *h)
{
	free(h->created);
	free(h->created_by);
	free(h->author);
	free(h->comment);
	fb_doc_free(h->rest);
}

void fb_oci_config_free(struct fb_oci_config *c)
{
	free(c->architecture);
	free(c->os);
	free(c->variant);
	free(c->author);
	free(c->created);
	free(c->user);
	free(c->working_dir);
	free(c->stop_signal);
	fb_oci_strv_clear(&c->env);
	fb_oci_strv_clear(&c->cmd);
	fb_oci_strv_clear(&c->entrypoint);
	fb_oci_strv_clear(&c->shell);
	fb_oci_strv_clear(&c->onbuild);
	map_free(&c->labels);
	map_free(&c->exposed_ports);
	map_free(&c->volumes);
	fb_oci_strv_clear(&c->health.test);
	fb_doc_free(c->config_rest);
	free(c->rootfs_type);
	fb_oci_strv_clear(&c->diff_ids);
	for (size_t i = 0; i < c->nhistory; i++)
		history_free(&c->history[i]);
	free(c->history);
	fb_doc_free(c->rest);
	fb_oci_config_init(c);
}

static void strv_copy(struct fb_oci_strv *dst, const struct fb_oci_strv *src)
{
	dst->set = src->set;
	dst->v = (struct fb_strv)FB_STRV_INIT;
	for (size_t i = 0; i < src->v.n; i++)
		fb_strv_push(&dst->v, src->v.v[i]);
}

static void map_copy(struct fb_oci_map *dst, const struct fb_oci_map *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->set = src->set;
	for (size_t i = 0; i < src->keys.n; i++) {
		fb_strv_push(&dst->keys, src->keys.v[i]);
		fb_strv_push(&dst->vals, src->vals.v[i]);
	}
}

void fb_oci_config_copy(struct fb_oci_config *dst, const struct fb_oci_config *src)
{
	*dst = *src;
	dst->architecture = dup_or_null(src->architecture);
	dst->os = dup_or_null(src->os);
	dst->variant = dup_or_null(src->variant);
	dst->author = dup_or_null(src->author);
	dst->created = dup_or_null(src->created);
	dst->user = dup_or_null(src->user);
	dst->working_dir = dup_or_null(src->working_dir);
	dst->stop_signal = dup_or_null(src->stop_signal);
	strv_copy(&dst->env, &src->env);
	strv_copy(&dst->cmd, &src->cmd);
	strv_copy(&dst->entrypoint, &src->entrypoint);
	strv_copy(&dst->shell, &src->shell);
	strv_copy(&dst->onbuild, &src->onbuild);
	map_copy(&dst->labels, &src->labels);
	map_copy(&dst->exposed_ports, &src->exposed_ports);
	map_copy(&dst->volumes, &src->volumes);
	strv_copy(&dst->health.test, &src->health.test);
	dst->config_rest = fb_doc_dup(src->config_rest);
	dst->rootfs_type = dup_or_null(src->rootfs_type);
	strv_copy(&dst->diff_ids, &src->diff_ids);
	dst->history = src->nhistory ? fb_xcalloc(src->nhistory, sizeof(*dst->history)) : NULL;
	for (size_t i = 0; i < src->nhistory; i++) {
		const struct fb_oci_history *h = &src->history[i];
		dst->history[i] = (struct fb_oci_history){ dup_or_null(h->created), dup_or_null(h->created_by),
							   dup_or_null(h->author), dup_or_null(h->comment), h->empty_layer,
							   fb_doc_dup(h->rest) };
	}
	dst->rest = fb_doc_dup(src->rest);
}

char *fb_oci_config_platform(const struct fb_oci_config *c)
{
	return fb_xasprintf("%s/%s%s%s", c->os ? c->os : "linux", c->architecture ? c->architecture : "amd64",
			    c->variant ? "/" : "", c->variant ? c->variant : "");
}

static bool env_is(const char *e, const char *name, size_t n)
{
	return !strncmp(e, name, n) && e[n] == '=';
}

const char *fb_oci_env_get(const struct fb_oci_config *c, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < c->env.v.n; i++)
		if (env_is(c->env.v.v[i], name, n))
			return c->env.v.v[i] + n + 1;
	return NULL;
}

void fb_oci_env_set(struct fb_oci_config *c, const char *name, const char *value)
{
	size_t n = strlen(name);
	struct fb_strv out = FB_STRV_INIT;
	bool done = false;
	for (size_t i = 0; i < c->env.v.n; i++) {
		if (!env_is(c->env.v.v[i], name, n)) {
			fb_strv_push(&out, c->env.v.v[i]);
		} else if (!done) {
			fb_strv_push_owned(&out, fb_xasprintf("%s=%s", name, value));
			done = true;
		}
	}
	if (!done)
		fb_strv_push_owned(&out, fb_xasprintf("%s=%s", name, value));
	fb_strv_free(&c->env.v);
	c->env.v = out;
	c->env.set = true;
	c->has_config = true;
}

void fb_oci_map_set(struct fb_oci_map *m, const char *key, const char *value)
{
	m->set = true;
	for (size_t i = 0; i < m->keys.n; i++)
		if (!strcmp(m->keys.v[i], key)) {
			free(m->vals.v[i]);
			m->vals.v[i] = fb_xstrdup(value ? value : "");
			return;
		}
	fb_strv_push(&m->keys, key);
	fb_strv_push(&m->vals, value ? value : "");
}

void fb_oci_strv_set(struct fb_oci_strv *dst, char *const *v, size_t n)
{
	fb_oci_strv_clear(dst);
	for (size_t i = 0; i < n; i++)
		fb_strv_push(&dst->v, v[i]);
	dst->set = true;
}
