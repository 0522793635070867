/* The builder's driver (build.h): a build's work directory, its stages in
 * order up to the target, and the result into the store. The steps are
 * in stage.c, cache.c, run.c, copystep.c and meta.c. */
#include "build.h"
#include "builder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "hashcache.h"
#include "image.h"
#include "log.h"
#include "oci.h"
#include "store.h"
#include "tree.h"
#include "util.h"

/* The result into the store: config and manifest blobs, then .image. The
 * image was created at the epoch, else when its latest step ran (an
 * unchanged rebuild gives the same image). */
static int finish(struct builder *b, struct state *s, struct fb_image *image, struct fb_err *err)
{
	char cd[72], md[72];
	const char *created = b->epoch >= 0 ? b->epoch_text : s->created;
	if (created) {
		free(s->config.created);
		s->config.created = fb_xstrdup(created);
	}
	char *ctext = fb_oci_config_encode(&s->config);
	size_t clen = strlen(ctext);
	int r = fb_store_put_mem(b->o->store, ctext, clen, cd, err);
	free(ctext);
	if (r < 0)
		return -1;
	struct fb_oci_manifest m = { .media_type = FB_MT_OCI_MANIFEST, .layers = s->layers, .nlayers = s->nlayers };
	m.config = (struct fb_oci_desc){ .media_type = FB_MT_OCI_CONFIG, .digest = cd, .size = (int64_t)clen };
	char *mtext = fb_oci_manifest_encode(&m);
	r = fb_store_put_mem(b->o->store, mtext, strlen(mtext), md, err);
	free(mtext);
	if (r < 0)
		return -1;
	memset(image, 0, sizeof(*image));
	image->ref = fb_xstrdup("dockerfile");
	image->digest = fb_xstrdup(md);
	image->media_type = fb_xstrdup(FB_MT_OCI_MANIFEST);
	image->platform = fb_xasprintf("%s/%s", s->config.os ? s->config.os : "linux",
				       s->config.architecture ? s->config.architecture : "unknown");
	image->config_digest = fb_xstrdup(cd);
	image->config = fb_xmalloc(sizeof(*image->config));
	fb_oci_config_copy(image->config, &s->config);
	for (size_t i = 0; i < s->nlayers; i++)
		fb_image_add_layer(image, &s->layers[i]);
	image->store = fb_xstrdup(b->o->store->root);
	return 0;
}

/* A directory of its own under work, locked while the build lives
 * (fb_build_sweep); the work directory's shared lock keeps a sweep out
 * between its mkdtemp and that lock. */
static int work_dir(const char *work, char **dir, int *lock, struct fb_err *err)
{
	char *tmpl = fb_xasprintf("%s/build-XXXXXX", work);
	int wfd = -1;
	bool made = false;
	*lock = -1;
	if (fb_mkdir_p(work, 0755, err) < 0 || (wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(wfd, LOCK_SH) < 0 || !(made = mkdtemp(tmpl) != NULL) ||
	    (*lock = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || flock(*lock, LOCK_EX) < 0) {
		if (!err->code)
			fb_err_errno(err, errno, "%s", tmpl);
		if (wfd >= 0)
			close(wfd);
		if (*lock >= 0)
			close(*lock);
		if (made)
			rmdir(tmpl);
		free(tmpl);
		return -1;
	}
	close(wfd);
	*dir = tmpl;
	return 0;
}

int build_realize(struct builder *b, struct state *s, struct fb_err *err)
{
	size_t idx = (size_t)s->index;
	if (s->index < 0 || idx >= b->nstages || s != &b->stages[idx])
		return fb_err_set(err, FB_EXIT_FAILED, "internal", "%s: pending, but not a stage", s->label ? s->label : "?");
	/* its steps again, for real: what the lazy pass recorded goes */
	struct fb_build_steps *l = b->steps;
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].stage == idx) {
			free(l->v[i].instruction);
			free(l->v[i].layer);
		} else {
			l->v[k++] = l->v[i];
		}
	}
	l->n = k;
	bool lazy = b->lazy;
	b->lazy = false;
	state_free(s);
	state_init(s);
	int r = build_stage(b, idx, &b->plan->stages[idx], err);
	b->lazy = lazy;
	return r;
}

/* The build arg SOURCE_DATE_EPOCH (BuildKit's): seconds since 1970, up
 * to the year 9999; -1 when not given (or empty). */
static int epoch_of(const struct fb_plan *plan, int64_t *epoch, struct fb_err *err)
{
	const char *v = fb_vars_get(&plan->build_args, "SOURCE_DATE_EPOCH");
	*epoch = -1;
	if (!v || !*v)
		return 0;
	int64_t n = 0;
	const char *p = v;
	for (; *p >= '0' && *p <= '9' && n <= 253402300799LL; p++)
		n = n * 10 + (*p - '0');
	if (*p || n > 253402300799LL || (v[0] == '0' && v[1]))
		return fb_err_set(err, FB_EXIT_USAGE, "invalid",
				  "build arg SOURCE_DATE_EPOCH=%s: expected seconds since 1970 (0 to 253402300799)", v);
	*epoch = n;
	return 0;
}

int fb_build(const struct fb_build_opts *o, const struct fb_plan *plan, struct fb_image *image,
	     struct fb_build_steps *steps, struct fb_err *err)
{
	memset(steps, 0, sizeof(*steps));
	struct builder b = { .o = o, .plan = plan, .steps = steps };
	b.file = plan->file ? plan->file : "Dockerfile";
	b.escape = plan->escape == '`' ? '`' : '\\';
	if (epoch_of(plan, &b.epoch, err) < 0)
		return -1;
	if (b.epoch >= 0)
		build_time_text(b.epoch, b.epoch_text);
	int lock;
	if (work_dir(o->work, &b.work, &lock, err) < 0)
		return -1;
	char real[4096];
	if (o->context && !o->context_temporary && realpath(o->context, real)) {
		char *hp = fb_store_context_hashes_path(o->store, real);
		b.hashes = fb_hashcache_open(hp);
		free(hp);
	}
	size_t ti = plan->target >= 0 ? (size_t)plan->target : 0;
	b.nstages = plan->nstages;
	b.stages = fb_xcalloc(b.nstages + 1, sizeof(*b.stages));
	for (size_t i = 0; i < b.nstages; i++)
		state_init(&b.stages[i]);
	/* the target and the stages it is FROM make the image; the others are
	 * only read from (COPY --from, RUN --mount from=): built lazily */
	bool *in_image = fb_xcalloc(b.nstages + 1, sizeof(*in_image));
	for (size_t i = ti, n = 0; i < b.nstages && n <= b.nstages; n++) {
		in_image[i] = true;
		const struct fb_plan_stage *st = &plan->stages[i];
		if (st->base_type != FB_BASE_STAGE || st->base_stage < 0 || (size_t)st->base_stage >= i)
			break;
		i = (size_t)st->base_stage;
	}
	int r = 0;
	for (size_t i = 0; r == 0 && i <= ti && i < b.nstages; i++) {
		if (plan->stages[i].needed || i == ti) {
			b.lazy = !in_image[i];
			r = build_stage(&b, i, &plan->stages[i], err);
		}
	}
	b.lazy = false;
	free(in_image);
	if (r == 0 && ti < b.nstages)
		r = finish(&b, &b.stages[ti], image, err);
	for (size_t i = 0; i < b.nstages; i++)
		state_free(&b.stages[i]);
	for (size_t i = 0; i < b.nimages; i++)
		state_free(&b.images[i]);
	free(b.stages);
	free(b.images);
	if (b.hashes) {
		/* what was learnt is kept, whatever became of the build */
		struct fb_err he = { 0 };
		steps->has_context_files = true;
		fb_hashcache_counts(b.hashes, &steps->context_remembered, &steps->context_read);
		fb_log(FB_LOG_DEBUG, "context files: %lu digests remembered, %lu read", steps->context_remembered,
		       steps->context_read);
		if (fb_hashcache_save(b.hashes, &he) < 0)
			fb_log(FB_LOG_WARN, "the context's file digests cannot be kept: %s", he.msg);
		fb_hashcache_free(b.hashes);
	}
	fb_tree_remove(b.work);
	close(lock);
	free(b.work);
	return r;
}

int fb_build_sweep(const char *work, struct fb_strv *removed, struct fb_err *err)
{
	int wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0)
		return errno == ENOENT ? 0 : fb_err_errno(err, errno, "%s", work);
	/* exclusive: no build is between its mkdtemp and its lock */
	if (flock(wfd, LOCK_EX) < 0) {
		int e = errno;
		close(wfd);
		return fb_err_errno(err, e, "lock %s", work);
	}
	struct fb_strv stale = FB_STRV_INIT;
	int fds[256], nfds = 0;
	DIR *d = fdopendir(dup(wfd));
	struct dirent *e;
	while (d && nfds < (int)FB_ARRAY_LEN(fds) && (e = readdir(d))) {
		if (strncmp(e->d_name, "build-", 6))
			continue;
		int fd = openat(wfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* held until it is gone: its name is never a live build's */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue;
		}
		fds[nfds++] = fd;
		fb_strv_push(&stale, e->d_name);
	}
	if (d)
		closedir(d);
	flock(wfd, LOCK_UN);
	int ret = 0;
	for (size_t i = 0; i < stale.n; i++) {
		char *p = fb_xasprintf("%s/%s", work, stale.v[i]);
		if (fb_tree_remove(p) < 0 && ret == 0)
			ret = fb_err_errno(err, errno, "remove %s", p);
		else if (removed)
			fb_strv_push(removed, stale.v[i]);
		free(p);
		close(fds[i]);
	}
	fb_strv_free(&stale);
	close(wfd);
	return ret;
}
