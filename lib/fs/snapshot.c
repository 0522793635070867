#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiveapi.h"
#include "err.h"
#include "store.h"
#include "tree.h"
#include "util.h"

struct ent {
	char *path; /* relative, no leading "./"; NULL: empty slot */
	ino_t ino;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec mtim, ctim;
	bool seen;
};

struct fb_snap {
	struct ent *tab;
	size_t cap, n;
};

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct ent *find(const struct fb_snap *s, const char *path)
{
	if (!s->cap)
		return NULL;
	for (size_t i = hash(path) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->tab[i].path)
			return NULL;
		if (!strcmp(s->tab[i].path, path))
			return &s->tab[i];
	}
}

static void insert(struct fb_snap *s, char *path, const struct stat *st)
{
	if ((s->n + 1) * 2 > s->cap) {
		struct fb_snap bigger = { fb_xcalloc(s->cap ? s->cap * 2 : 1024, sizeof(struct ent)),
					  s->cap ? s->cap * 2 : 1024, 0 };
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->tab[i].path)
				continue;
			size_t j = hash(s->tab[i].path) & (bigger.cap - 1);
			while (bigger.tab[j].path)
				j = (j + 1) & (bigger.cap - 1);
			bigger.tab[j] = s->tab[i];
			bigger.n++;
		}
		free(s->tab);
		*s = bigger;
	}
	size_t i = hash(path) & (s->cap - 1);
	while (s->tab[i].path)
		i = (i + 1) & (s->cap - 1);
	s->tab[i] = (struct ent){ path, st->st_ino, st->st_mode, st->st_uid, st->st_gid, st->st_size, st->st_mtim,
				  st->st_ctim, false };
	s->n++;
}

typedef int (*visit_fn)(void *ctx, const char *rel, int dfd, const char *name, const struct stat *st);

/* Depth first, parents before children, never following a link or
 * crossing into another file system (a mount left in the tree). */
static int walk(int dfd, const char *rel, dev_t dev, visit_fn fn, void *ctx, struct fb_err *err)
{
	int fd = openat(dfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fb_err_errno(err, errno, "open %s", *rel ? rel : "/");
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return fb_err_errno(err, errno, "read %s", rel);
	}
	struct fb_strv names = FB_STRV_INIT;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fb_strv_push(&names, e->d_name);
	fb_strv_sort(&names);
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < names.n; i++) {
		struct stat st;
		if (fstatat(fd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = fb_err_errno(err, errno, "stat %s/%s", rel, names.v[i]);
			break;
		}
		char *child = *rel ? fb_xasprintf("%s/%s", rel, names.v[i]) : fb_xstrdup(names.v[i]);
		ret = fn(ctx, child, fd, names.v[i], &st);
		if (ret > 0) /* skip this subtree */
			ret = 0;
		else if (ret == 0 && S_ISDIR(st.st_mode) && st.st_dev == dev)
			ret = walk(dfd, child, dev, fn, ctx, err);
		free(child);
	}
	closedir(d);
	fb_strv_free(&names);
	return ret;
}

static int take_cb(void *ctx, const char *rel, int dfd, const char *name, const struct stat *st)
{
	(void)dfd;
	(void)name;
	insert(ctx, fb_xstrdup(rel), st);
	return 0;
}

int fb_snap_take(const char *root, struct fb_snap **out, struct fb_err *err)
{
	struct fb_snap *s = fb_xcalloc(1, sizeof(*s));
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (rootfd < 0 || fstat(rootfd, &st) < 0) {
		if (rootfd >= 0)
			close(rootfd);
		free(s);
		return fb_err_errno(err, errno, "tree %s", root);
	}
	int r = walk(rootfd, "", st.st_dev, take_cb, s, err);
	close(rootfd);
	if (r < 0) {
		fb_snap_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void fb_snap_free(struct fb_snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->tab[i].path);
	free(s->tab);
	free(s);
}

/* ---- the diff ---- */

struct diff {
	const struct fb_snap *snap;
	struct fb_strv changed;   /* to write, in walk order */
	struct fb_strv whiteouts; /* paths whose lower version goes */
	struct fb_strv fresh;     /* directories written whole (prefixes) */
	struct fb_strv replaced;  /* directories now something else */
};

static bool under_fresh(const struct diff *d, const char *rel)
{
	for (size_t i = d->fresh.n; i-- > 0;) {
		size_t n = strlen(d->fresh.v[i]);
		if (!strncmp(rel, d->fresh.v[i], n) && rel[n] == '/')
			return true;
	}
	return false;
}

static int diff_cb(void *ctx, const char *rel, int dfd, const char *name, const struct stat *st)
{
	(void)dfd;
	(void)name;
	struct diff *d = ctx;
	struct ent *e = find(d->snap, rel);
	if (e)
		e->seen = true;
	if (under_fresh(d, rel)) {
		fb_strv_push(&d->changed, rel);
		return 0;
	}
	if (!e) {
		fb_strv_push(&d->changed, rel);
		if (S_ISDIR(st->st_mode))
			fb_strv_push(&d->fresh, rel);
		return 0;
	}
	bool was_dir = S_ISDIR(e->mode);
	if (was_dir && (!S_ISDIR(st->st_mode) || e->ino != st->st_ino)) {
		/* a directory replaced: its old contents must go too */
		fb_strv_push(&d->whiteouts, rel);
		fb_strv_push(&d->changed, rel);
		fb_strv_push(&d->replaced, rel);
		if (S_ISDIR(st->st_mode))
			fb_strv_push(&d->fresh, rel);
		return 0;
	}
	if (e->ino != st->st_ino || e->mode != st->st_mode || e->uid != st->st_uid || e->gid != st->st_gid ||
	    e->size != st->st_size || e->mtim.tv_sec != st->st_mtim.tv_sec || e->mtim.tv_nsec != st->st_mtim.tv_nsec ||
	    e->ctim.tv_sec != st->st_ctim.tv_sec || e->ctim.tv_nsec != st->st_ctim.tv_nsec)
		fb_strv_push(&d->changed, rel);
	return 0;
}

struct sink {
	struct fb_blob_writer *w;
	struct fb_err *err;
	bool failed;
};

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	struct sink *s = ctx;
	if (fb_blob_write(s->w, p, n, s->err) < 0) {
		s->failed = true;
		return -1;
	}
	return (la_ssize_t)n;
}

static int write_whiteout(struct archive *out, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	char *name = slash ? fb_xasprintf("%.*s/.wh.%s", (int)(slash - rel), rel, slash + 1) : fb_xasprintf(".wh.%s", rel);
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0);
	archive_entry_set_size(e, 0);
	int r = archive_write_header(out, e);
	archive_entry_free(e);
	free(name);
	return r < ARCHIVE_WARN ? -1 : 0;
}

int fb_snap_diff(const char *root, const struct fb_snap *s, struct fb_blob_writer *w, uint64_t *changes,
		 int64_t clamp, struct fb_err *err)
{
	struct diff d = { .snap = s };
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat rst;
	if (rootfd < 0 || fstat(rootfd, &rst) < 0) {
		if (rootfd >= 0)
			close(rootfd);
		return fb_err_errno(err, errno, "tree %s", root);
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->tab[i].path)
			s->tab[i].seen = false;
	int ret = walk(rootfd, "", rst.st_dev, diff_cb, &d, err);
	/* gone: a whiteout unless its parent went (or was replaced) too */
	struct fb_strv gone = FB_STRV_INIT;
	for (size_t i = 0; ret == 0 && i < s->cap; i++)
		if (s->tab[i].path && !s->tab[i].seen)
			fb_strv_push(&gone, s->tab[i].path);
	fb_strv_sort(&gone);
	for (size_t i = 0; i < gone.n; i++) {
		const char *slash = strrchr(gone.v[i], '/');
		if (slash) {
			char *parent = fb_xstrndup(gone.v[i], (size_t)(slash - gone.v[i]));
			struct ent *pe = find(s, parent);
			bool skip = (pe && !pe->seen) || under_fresh(&d, gone.v[i]);
			for (size_t k = 0; !skip && k < d.replaced.n; k++)
				skip = !strcmp(d.replaced.v[k], parent);
			free(parent);
			if (skip)
				continue;
		}
		fb_strv_push(&d.whiteouts, gone.v[i]);
	}
	fb_strv_free(&gone);

	struct archive *out = archive_write_new();
	struct archive *disk = archive_read_disk_new();
	struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
	struct sink sk = { w, err, false };
	char *buf = fb_xmalloc(1 << 20);
	/* pax: a PAX header carries an mtime's nanoseconds (only where there
	 * are some); atime and ctime are left out, they would make layers vary */
	archive_write_set_format_pax(out);
	archive_write_set_bytes_per_block(out, 0);
	archive_entry_linkresolver_set_strategy(lr, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS);
	if (ret == 0 && archive_write_open2(out, &sk, NULL, sink_write, NULL, NULL) != ARCHIVE_OK)
		ret = fb_err_set(err, FB_EXIT_FAILED, "layer", "layer of %s: %s", root, archive_error_string(out));
	for (size_t i = 0; ret == 0 && i < d.whiteouts.n; i++)
		if (write_whiteout(out, d.whiteouts.v[i]) < 0)
			ret = fb_err_set(err, FB_EXIT_FAILED, "layer", "layer of %s: %s", root, archive_error_string(out));
	size_t rl = strlen(root);
	for (size_t i = 0; ret == 0 && i < d.changed.n; i++) {
		const char *rel = d.changed.v[i];
		char *full = fb_xasprintf("%.*s/%s", (int)rl, root, rel);
		struct stat st;
		if (lstat(full, &st) < 0 || S_ISSOCK(st.st_mode)) {
			free(full);
			continue; /* sockets have no tar form; Docker drops them too */
		}
		struct archive_entry *e = archive_entry_new();
		archive_entry_copy_pathname(e, full);
		archive_entry_copy_sourcepath(e, full);
		if (archive_read_disk_entry_from_file(disk, e, -1, &st) < ARCHIVE_WARN) {
			ret = fb_err_set(err, FB_EXIT_FAILED, "layer", "%s: %s", rel, archive_error_string(disk));
			archive_entry_free(e);
			free(full);
			break;
		}
		archive_entry_copy_pathname(e, rel);
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		archive_entry_unset_atime(e);
		archive_entry_unset_ctime(e);
		archive_entry_unset_birthtime(e);
		if (clamp >= 0 && (archive_entry_mtime(e) > clamp ||
				   (archive_entry_mtime(e) == clamp && archive_entry_mtime_nsec(e) > 0)))
			archive_entry_set_mtime(e, (time_t)clamp, 0);
		struct archive_entry *spare = NULL;
		archive_entry_linkify(lr, &e, &spare);
		if (spare)
			archive_entry_free(spare);
		if (!e) {
			free(full);
			continue;
		}
		if (archive_write_header(out, e) < ARCHIVE_WARN) {
			ret = sk.failed ? -1 : fb_err_set(err, FB_EXIT_FAILED, "layer", "%s: %s", rel, archive_error_string(out));
		} else if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
			int fd = fb_tree_open(rootfd, rel, O_RDONLY | O_NOFOLLOW, 0);
			ssize_t n = 0;
			while (fd >= 0 && (n = read(fd, buf, 1 << 20)) > 0)
				if (archive_write_data(out, buf, (size_t)n) < 0)
					break;
			if (fd < 0 || n < 0)
				ret = fb_err_errno(err, errno, "read %s", rel);
			else if (sk.failed)
				ret = -1;
			if (fd >= 0)
				close(fd);
		}
		archive_entry_free(e);
		free(full);
	}
	if (archive_write_close(out) != ARCHIVE_OK && ret == 0)
		ret = sk.failed ? -1 : fb_err_set(err, FB_EXIT_FAILED, "layer", "layer of %s: %s", root, archive_error_string(out));
	archive_write_free(out);
	archive_read_free(disk);
	archive_entry_linkresolver_free(lr);
	free(buf);
	close(rootfd);
	*changes = d.whiteouts.n + d.changed.n;
	fb_strv_free(&d.changed);
	fb_strv_free(&d.whiteouts);
	fb_strv_free(&d.fresh);
	fb_strv_free(&d.replaced);
	return ret;
}
