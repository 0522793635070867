/* fb-tag: tagged, versioned root file systems in the store, and its
 * garbage collector.
 *   put NAME:VERSION   the document's .rootfs goes into the store
 *   get NAME:VERSION   .image for the VM tools
 *   ls | inspect NAME:VERSION | rm NAME:VERSION | gc */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "json.h"
#include "plan.h"
#include "shape.h"
#include "log.h"
#include "oci.h"
#include "rootfs.h"
#include "store.h"
#include "tool.h"
#include "util.h"

static const char usage[] =
	"Usage: fb-tag [--store DIR] [--move-from DIR]... COMMAND [NAME:VERSION]\n"
	"The store's tagged root file systems.\n"
	"\n"
	"Commands:\n"
	"  put NAME:VERSION      move the document's .rootfs (from fb-mkrootfs) into the\n"
	"                        store under this tag; an existing one is replaced atomically.\n"
	"                        Only an ext4 image file from the store's tmp/, the run\n"
	"                        cache or a --move-from DIR is taken\n"
	"  get NAME:VERSION      write .image (rootfs path, config, digest, created, size)\n"
	"  ls                    list the tags\n"
	"  inspect NAME:VERSION  the tag's image.json\n"
	"  rm NAME:VERSION       remove a tag\n"
	"  gc [--cache-max-age D]  remove build cache entries unused for D (default\n"
	"                        168h; 0: all), then blobs and temporary files\n"
	"                        nothing refers to\n"
	"\n"
	"NAME is like combust-labs/consul or registry.local:5000/team/app; VERSION\n"
	"like a Docker tag (1.9.4, latest).\n"
	"\n"
	"Options:\n"
	"  --store DIR            the store (default: $FB_STORE, else\n"
	"                         /var/lib/firebuild/store for root, else\n"
	"                         ~/.local/share/firebuild/store)\n"
	"  --move-from DIR        put may also move an image from DIR or below it\n"
	"                         (fb-mkrootfs --output DIR/...); repeatable\n"
	"  --log-format FORMAT    json or text logs on stderr\n"
	"  --help, --version\n"
	"\n"
	"Exit status: 0 ok, 1 failed, 2 invalid name or input (a rootfs that is not\n"
	"an ext4 image one may move), 3 no such tag or file.\n";

enum { OPT_STORE = FB_OPT_FIRST_TOOL_OPT, OPT_MOVE_FROM };

static const struct option longopts[] = {
	FB_COMMON_LONGOPTS,
	{ "store", required_argument, NULL, OPT_STORE },
	{ "move-from", required_argument, NULL, OPT_MOVE_FROM },
	{ NULL, 0, NULL, 0 },
};

struct tag {
	char *name, *version;
};

static bool valid_path_component(const char *s, size_t n)
{
	if (!n || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (alnum)
			continue;
		if ((c == '.' || c == '_' || c == '-') && i > 0 && i + 1 < n && s[i + 1] != '.' && s[i - 1] != '.')
			continue;
		return false;
	}
	return true;
}

static bool valid_host(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':'))
			return false;
	}
	return strstr(s, "..") == NULL || (size_t)(strstr(s, "..") - s) >= n;
}

/* NAME:VERSION, as registry references are written; nothing that could
 * leave the store. */
static int parse_tag(const char *s, struct tag *t, struct fb_err *err)
{
	const char *slash = strrchr(s, '/');
	const char *colon = strrchr(slash ? slash : s, ':');
	if (!colon || colon == s || !colon[1])
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_name", "invalid tag \"%s\": expected NAME:VERSION", s);
	t->name = fb_xstrndup(s, (size_t)(colon - s));
	t->version = fb_xstrdup(colon + 1);
	const char *v = t->version;
	size_t vl = strlen(v);
	bool ok = vl <= 128 && ((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= '0' && v[0] <= '9') || v[0] == '_');
	for (size_t i = 0; ok && i < vl; i++)
		ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
		     v[i] == '.' || v[i] == '-';
	if (!ok)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_name",
				  "invalid tag \"%s\": the version must be [A-Za-z0-9_][A-Za-z0-9._-]{0,127}", s);
	const char *p = t->name;
	const char *first = strchr(p, '/');
	if (first) {
		size_t hl = (size_t)(first - p);
		bool host = memchr(p, '.', hl) || memchr(p, ':', hl) || (hl == 9 && !strncmp(p, "localhost", 9));
		if (host) {
			if (!valid_host(p, hl))
				return fb_err_set(err, FB_EXIT_USAGE, "invalid_name", "invalid tag \"%s\": bad registry host", s);
			p = first + 1;
		}
	}
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!valid_path_component(p, n))
			return fb_err_set(err, FB_EXIT_USAGE, "invalid_name",
					  "invalid tag \"%s\": names are lower-case letters and digits, separated by . _ - or /", s);
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

static void tag_free(struct tag *t)
{
	free(t->name);
	free(t->version);
}

static char *tag_dir(const struct fb_store *s, const struct tag *t)
{
	return fb_xasprintf("%s/rootfs/%s/%s", s->root, t->name, t->version);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static int rm_rf(const char *path)
{
	return nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmd_put(struct fb_store *s, const struct tag *t, const struct fb_strv *move_from, jv *doc, struct fb_err *err)
{
	jv rootfs = jv_object_get(jv_copy(*doc), jv_string("rootfs"));
	jv image = jv_object_get(jv_copy(*doc), jv_string("image"));
	char *path = NULL, *stage = NULL, *final = NULL, *parent = NULL;
	struct fb_handover h = { .fd = -1, .dirfd = -1 };
	int ret = -1;
	if (jv_get_kind(rootfs) != JV_KIND_OBJECT) {
		fb_err_set(err, FB_EXIT_USAGE, "invalid", "input document has no .rootfs (run fb-mkrootfs first)");
		goto out;
	}
	if (fb_json_get_str(rootfs, "path", &path, err) < 0)
		goto out;
	/* A document names what is moved: only an ext4 image, from where
	 * images are made (or --move-from), never a host file or directory. */
	if (fb_handover_open(s, path, fb_run_cache(NULL), move_from->v, move_from->n, &h, err) < 0 ||
	    fb_ext4_check(h.fd, path, err) < 0) {
		fb_err_prefix(err, ".rootfs.path");
		goto out;
	}
	struct stat st = h.st;
	final = tag_dir(s, t);
	parent = fb_xasprintf("%s/rootfs/%s", s->root, t->name);
	if (fb_mkdir_p(parent, 0755, err) < 0)
		goto out;
	stage = fb_xasprintf("%s/.%s.new-XXXXXX", parent, t->version);
	if (!mkdtemp(stage)) {
		fb_err_errno(err, errno, "create %s", stage);
		goto out;
	}
	char *dst = fb_xasprintf("%s/rootfs.ext4", stage);
	int mr = fb_handover_move(&h, dst, err);
	free(dst);
	if (mr < 0)
		goto out_stage;
	/* the directory fb-mkrootfs made for it, if that is where it was */
	char *made = fb_xasprintf("%s/tmp/rootfs-", s->root);
	if (!strncmp(h.dir, made, strlen(made)) && !strchr(h.dir + strlen(made), '/'))
		rmdir(h.dir);
	free(made);

	char created[64];
	now_rfc3339(created, sizeof(created));
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("name"), jv_string(t->name));
	meta = jv_object_set(meta, jv_string("version"), jv_string(t->version));
	meta = jv_object_set(meta, jv_string("created"), jv_string(created));
	meta = jv_object_set(meta, jv_string("size"), jv_number((double)st.st_size));
	jv cs = jv_object_get(jv_copy(rootfs), jv_string("content_size"));
	meta = jv_object_set(meta, jv_string("content_size"), jv_is_valid(cs) ? cs : (jv_free(cs), jv_null()));
	jv cfg = jv_object_get(jv_copy(rootfs), jv_string("config"));
	if (jv_get_kind(cfg) != JV_KIND_OBJECT && jv_get_kind(image) == JV_KIND_OBJECT) {
		jv_free(cfg);
		cfg = jv_object_get(jv_copy(image), jv_string("config"));
	}
	meta = jv_object_set(meta, jv_string("config"), jv_get_kind(cfg) == JV_KIND_OBJECT ? cfg : (jv_free(cfg), jv_object()));
	/* what it was made from, and the blobs gc must keep for it */
	jv blobs = jv_array();
	if (jv_get_kind(image) == JV_KIND_OBJECT) {
		static const char *const keys[] = { "ref", "digest", "platform" };
		for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++) {
			jv v = jv_object_get(jv_copy(image), jv_string(keys[i]));
			meta = jv_object_set(meta, jv_string(!strcmp(keys[i], "ref") ? "source" : keys[i]),
					     jv_get_kind(v) == JV_KIND_STRING ? v : (jv_free(v), jv_null()));
		}
		static const char *const bkeys[] = { "digest", "config_digest" };
		for (size_t i = 0; i < FB_ARRAY_LEN(bkeys); i++) {
			jv v = jv_object_get(jv_copy(image), jv_string(bkeys[i]));
			if (jv_get_kind(v) == JV_KIND_STRING)
				blobs = jv_array_append(blobs, v);
			else
				jv_free(v);
		}
		jv ls = jv_object_get(jv_copy(image), jv_string("layers"));
		if (jv_get_kind(ls) == JV_KIND_ARRAY)
			jv_array_foreach(ls, i, l)
			{
				/* a layer given by .path has no digest */
				jv d = fb_json_member(l, "digest");
				if (jv_get_kind(d) == JV_KIND_STRING)
					blobs = jv_array_append(blobs, d);
				else
					jv_free(d);
				jv_free(l);
				(void)i;
			}
		jv_free(ls);
	} else {
		meta = jv_object_set(meta, jv_string("digest"), jv_null());
	}
	meta = jv_object_set(meta, jv_string("blobs"), blobs);
	char *text = fb_json_dump(jv_copy(meta), true);
	char *mp = fb_xasprintf("%s/image.json", stage);
	int wr = fb_write_file_atomic(mp, text, strlen(text), 0644, err);
	free(mp);
	free(text);
	if (wr < 0) {
		jv_free(meta);
		goto out_stage;
	}
	/* The swap: readers see the old tag or the new one, never half. */
	if (fb_store_lock(s, err) < 0) {
		jv_free(meta);
		goto out_stage;
	}
	if (renameat2(AT_FDCWD, stage, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST && renameat2(AT_FDCWD, stage, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
			rm_rf(stage); /* the old version, now at the stage path */
		} else {
			fb_store_unlock(s);
			fb_err_errno(err, errno, "put %s:%s", t->name, t->version);
			jv_free(meta);
			goto out_stage;
		}
	}
	fb_store_unlock(s);
	char *newpath = fb_xasprintf("%s/rootfs.ext4", final);
	rootfs = jv_object_set(rootfs, jv_string("path"), jv_string(newpath));
	free(newpath);
	*doc = jv_object_set(*doc, jv_string("rootfs"), rootfs);
	rootfs = jv_invalid();
	jv tg = jv_object();
	tg = jv_object_set(tg, jv_string("name"), jv_string(t->name));
	tg = jv_object_set(tg, jv_string("version"), jv_string(t->version));
	tg = jv_object_set(tg, jv_string("path"), jv_string(final));
	tg = jv_object_set(tg, jv_string("created"), jv_string(created));
	*doc = jv_object_set(*doc, jv_string("tag"), tg);
	jv_free(meta);
	fb_log_fields(FB_LOG_INFO, "tagged", "tag", t->name, "version", t->version, (char *)NULL);
	ret = 0;
	goto out;
out_stage:
	rm_rf(stage);
out:
	fb_handover_close(&h);
	if (jv_is_valid(rootfs))
		jv_free(rootfs);
	jv_free(image);
	free(path);
	free(stage);
	free(final);
	free(parent);
	return ret;
}

static int read_meta(const struct fb_store *s, const struct tag *t, jv *out, struct fb_err *err)
{
	char *p = fb_xasprintf("%s/rootfs/%s/%s/image.json", s->root, t->name, t->version);
	struct fb_buf b = FB_BUF_INIT;
	int r = fb_read_file(p, &b, err);
	if (r < 0 && err->code == FB_EXIT_NOTFOUND)
		fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "no such image %s:%s in %s", t->name, t->version, s->root);
	else if (r == 0 && (r = fb_json_parse(fb_buf_str(&b), b.len, out, err)) < 0)
		fb_err_prefix(err, "%s", p);
	free(p);
	fb_buf_free(&b);
	return r;
}

static int cmd_get(const struct fb_store *s, const struct tag *t, jv *doc, struct fb_err *err)
{
	jv meta;
	if (read_meta(s, t, &meta, err) < 0)
		return -1;
	char *rp = fb_xasprintf("%s/rootfs/%s/%s/rootfs.ext4", s->root, t->name, t->version);
	jv img = jv_object();
	img = jv_object_set(img, jv_string("name"), jv_string(t->name));
	img = jv_object_set(img, jv_string("version"), jv_string(t->version));
	img = jv_object_set(img, jv_string("rootfs"), jv_string(rp));
	static const char *const keys[] = { "config", "digest", "created", "size", "source", "platform" };
	for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++) {
		jv v = jv_object_get(jv_copy(meta), jv_string(keys[i]));
		img = jv_object_set(img, jv_string(keys[i]), jv_is_valid(v) ? v : (jv_free(v), jv_null()));
	}
	img = jv_object_set(img, jv_string("store"), jv_string(s->root));
	jv_free(meta);
	free(rp);
	*doc = jv_object_set(jv_object(), jv_string("image"), img);
	return 0;
}

/* Every tag: rootfs/<name...>/<version>/image.json, names may hold '/'. */
struct walk {
	const char *base;
	jv list;
};
static struct walk *g_walk;

static int ls_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	if (flag != FTW_F || !fb_str_has_suffix(p, "/image.json"))
		return 0;
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = { 0 };
	jv meta;
	if (fb_read_file(p, &b, &e) == 0 && fb_json_parse(fb_buf_str(&b), b.len, &meta, &e) == 0) {
		jv row = jv_object();
		static const char *const keys[] = { "name", "version", "created", "size", "source", "digest" };
		for (size_t i = 0; i < FB_ARRAY_LEN(keys); i++) {
			jv v = jv_object_get(jv_copy(meta), jv_string(keys[i]));
			row = jv_object_set(row, jv_string(keys[i]), jv_is_valid(v) ? v : (jv_free(v), jv_null()));
		}
		jv_free(meta);
		g_walk->list = jv_array_append(g_walk->list, row);
	}
	fb_buf_free(&b);
	return 0;
}

static int cmd_ls(const struct fb_store *s, jv *doc, struct fb_err *err)
{
	(void)err;
	char *base = fb_xasprintf("%s/rootfs", s->root);
	struct walk w = { base, jv_array() };
	g_walk = &w;
	nftw(base, ls_cb, 32, FTW_PHYS);
	g_walk = NULL;
	free(base);
	jv keys = jv_array();
	jv_array_foreach(w.list, i, row)
	{
		jv k = jv_array();
		k = jv_array_append(k, jv_object_get(jv_copy(row), jv_string("name")));
		k = jv_array_append(k, jv_object_get(row, jv_string("version")));
		keys = jv_array_append(keys, k);
		(void)i;
	}
	w.list = jv_sort(w.list, keys);
	*doc = jv_object_set(jv_object(), jv_string("images"), w.list);
	return 0;
}

static int cmd_rm(struct fb_store *s, const struct tag *t, jv *doc, struct fb_err *err)
{
	jv meta;
	if (read_meta(s, t, &meta, err) < 0)
		return -1;
	jv_free(meta);
	char *d = tag_dir(s, t);
	char *tomb = fb_xasprintf("%s/rootfs/%s/.%s.rm-XXXXXX", s->root, t->name, t->version);
	int r = 0;
	if (fb_store_lock(s, err) < 0) {
		r = -1;
	} else {
		/* rename first: the tag vanishes at once, the bytes after */
		if (!mkdtemp(tomb) || rmdir(tomb) < 0 || rename(d, tomb) < 0)
			r = fb_err_errno(err, errno, "remove %s:%s", t->name, t->version);
		fb_store_unlock(s);
		if (r == 0)
			rm_rf(tomb);
	}
	/* empty name directories go too */
	char *parent = fb_xasprintf("%s/rootfs/%s", s->root, t->name);
	char *root = fb_xasprintf("%s/rootfs", s->root);
	while (r == 0 && strcmp(parent, root) && rmdir(parent) == 0) {
		char *sl = strrchr(parent, '/');
		*sl = '\0';
	}
	free(parent);
	free(root);
	free(d);
	free(tomb);
	if (r == 0)
		*doc = jv_object_set(jv_object(), jv_string("removed"),
				     jv_string_fmt("%s:%s", t->name, t->version));
	return r;
}

/* ---- gc ---- */

static void keep(jv *set, const char *digest)
{
	if (fb_digest_valid(digest))
		*set = jv_object_set(*set, jv_string(digest), jv_true());
}

/* A manifest or index blob: keep it and what it names. */
static void mark_blob(const struct fb_store *s, jv *set, const char *digest, int depth)
{
	if (!fb_digest_valid(digest) || depth > 4)
		return;
	keep(set, digest);
	jv doc;
	struct fb_err e = { 0 };
	if (fb_store_read_blob(s, digest, &doc, &e) < 0)
		return;
	jv c = jv_getpath(jv_copy(doc), jv_parse("[\"config\",\"digest\"]"));
	if (jv_get_kind(c) == JV_KIND_STRING)
		keep(set, jv_string_value(c));
	jv_free(c);
	static const char *const lists[] = { "layers", "manifests" };
	for (size_t k = 0; k < 2; k++) {
		/* a registry's blob is read as found: any kind */
		jv ls = fb_json_member(doc, lists[k]);
		if (jv_get_kind(ls) == JV_KIND_ARRAY)
			jv_array_foreach(ls, i, l)
			{
				jv d = fb_json_member(l, "digest");
				jv_free(l);
				if (jv_get_kind(d) == JV_KIND_STRING) {
					if (k == 0)
						keep(set, jv_string_value(d));
					else
						mark_blob(s, set, jv_string_value(d), depth + 1);
				}
				jv_free(d);
				(void)i;
			}
		jv_free(ls);
	}
	jv_free(doc);
}

static jv *g_keep;
static int gc_meta_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	if (flag != FTW_F || (!fb_str_has_suffix(p, "/image.json") && !fb_str_has_suffix(p, ".json")))
		return 0;
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = { 0 };
	jv meta;
	if (fb_read_file(p, &b, &e) == 0 && fb_json_parse(fb_buf_str(&b), b.len, &meta, &e) == 0) {
		/* image.json lists "blobs"; a cache entry names a "layer" */
		jv bl = fb_json_member(meta, "blobs");
		if (jv_get_kind(bl) == JV_KIND_ARRAY)
			jv_array_foreach(bl, i, d)
			{
				if (jv_get_kind(d) == JV_KIND_STRING)
					keep(g_keep, jv_string_value(d));
				jv_free(d);
				(void)i;
			}
		jv_free(bl);
		jv l = fb_json_member(meta, "layer");
		jv_free(meta);
		if (jv_get_kind(l) == JV_KIND_STRING)
			keep(g_keep, jv_string_value(l));
		jv_free(l);
	}
	fb_buf_free(&b);
	return 0;
}

/* Build cache entries not used (a hit touches them) for max_age ns, or
 * whose layer is gone; 0 drops them all. */
static uint64_t trim_cache(const struct fb_store *s, long long max_age)
{
	char *cd = fb_xasprintf("%s/cache", s->root);
	DIR *dir = opendir(cd);
	struct dirent *e;
	uint64_t n = 0;
	time_t now = time(NULL);
	while (dir && (e = readdir(dir))) {
		if (!fb_str_has_suffix(e->d_name, ".json"))
			continue;
		char *p = fb_xasprintf("%s/%s", cd, e->d_name);
		struct stat st;
		bool drop = max_age == 0 || (lstat(p, &st) == 0 && (long long)(now - st.st_mtime) * 1000000000LL > max_age);
		struct fb_err ee = { 0 };
		jv meta;
		if (!drop && fb_json_load(p, &meta, &ee) == 0) {
			jv l = fb_json_member(meta, "layer");
			jv_free(meta);
			drop = jv_get_kind(l) == JV_KIND_STRING && !fb_store_has_blob(s, jv_string_value(l));
			jv_free(l);
		}
		if (drop && unlink(p) == 0)
			n++;
		free(p);
	}
	if (dir)
		closedir(dir);
	free(cd);
	return n;
}

static int cmd_gc(struct fb_store *s, long long cache_max_age, jv *doc, struct fb_err *err)
{
	if (fb_store_lock(s, err) < 0)
		return -1;
	uint64_t cache_removed = trim_cache(s, cache_max_age);
	jv set = jv_object();
	/* what tags and the build cache refer to */
	g_keep = &set;
	static const char *const dirs[] = { "rootfs", "cache" };
	for (size_t i = 0; i < 2; i++) {
		char *d = fb_xasprintf("%s/%s", s->root, dirs[i]);
		nftw(d, gc_meta_cb, 32, FTW_PHYS);
		free(d);
	}
	g_keep = NULL;
	/* index.json keeps the images something still refers to, and their
	 * blobs; the entries of the others go with them */
	char *ip = fb_xasprintf("%s/index.json", s->root);
	struct fb_buf b = FB_BUF_INIT;
	jv idx;
	uint64_t dropped = 0;
	if (fb_read_file(ip, &b, err) == 0 && fb_json_parse(fb_buf_str(&b), b.len, &idx, err) == 0) {
		jv ms = jv_object_get(jv_copy(idx), jv_string("manifests"));
		jv left = jv_array();
		if (jv_get_kind(ms) == JV_KIND_ARRAY)
			jv_array_foreach(ms, i, m)
			{
				jv d = jv_object_get(jv_copy(m), jv_string("digest"));
				if (jv_get_kind(d) == JV_KIND_STRING && jv_object_has(jv_copy(set), jv_copy(d))) {
					mark_blob(s, &set, jv_string_value(d), 0);
					left = jv_array_append(left, m);
				} else {
					dropped++;
					jv_free(m);
				}
				jv_free(d);
				(void)i;
			}
		jv_free(ms);
		idx = jv_object_set(idx, jv_string("manifests"), left);
		char *text = fb_json_dump(idx, false);
		if (dropped && fb_write_file_atomic(ip, text, strlen(text), 0644, err) < 0) {
			free(text);
			fb_buf_free(&b);
			free(ip);
			jv_free(set);
			fb_store_unlock(s);
			return -1;
		}
		free(text);
	}
	fb_buf_free(&b);
	free(ip);
	/* sweep */
	uint64_t freed = 0, removed = 0, kept = 0;
	char *bd = fb_xasprintf("%s/blobs/sha256", s->root);
	DIR *dir = opendir(bd);
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char dg[80];
		snprintf(dg, sizeof(dg), "sha256:%.64s", e->d_name);
		if (jv_object_has(jv_copy(set), jv_string(dg))) {
			kept++;
			continue;
		}
		char *p = fb_xasprintf("%s/%s", bd, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && unlink(p) == 0) {
			freed += (uint64_t)st.st_size;
			removed++;
		}
		free(p);
	}
	if (dir)
		closedir(dir);
	free(bd);
	/* temporary files of runs that died, and stale stage directories */
	char *td = fb_xasprintf("%s/tmp", s->root);
	dir = opendir(td);
	uint64_t tmp_removed = 0;
	while (dir && (e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = fb_xasprintf("%s/%s", td, e->d_name);
		struct stat st;
		/* leave what may belong to a run in progress (under an hour old) */
		if (lstat(p, &st) == 0 && time(NULL) - st.st_mtime > 3600 && rm_rf(p) == 0)
			tmp_removed++;
		free(p);
	}
	if (dir)
		closedir(dir);
	free(td);
	fb_store_unlock(s);
	jv_free(set);
	jv r = jv_object();
	r = jv_object_set(r, jv_string("images_dropped"), jv_number((double)dropped));
	r = jv_object_set(r, jv_string("blobs_removed"), jv_number((double)removed));
	r = jv_object_set(r, jv_string("blobs_kept"), jv_number((double)kept));
	r = jv_object_set(r, jv_string("bytes_freed"), jv_number((double)freed));
	r = jv_object_set(r, jv_string("tmp_removed"), jv_number((double)tmp_removed));
	r = jv_object_set(r, jv_string("cache_entries_removed"), jv_number((double)cache_removed));
	*doc = jv_object_set(jv_object(), jv_string("gc"), r);
	return 0;
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-tag");
	const char *store_dir = NULL;
	/* put may move rootfs files from there */
	struct fb_strv move_from __attribute__((cleanup(fb_strv_free))) = FB_STRV_INIT;
	int c, exit_now = -1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		if (c == OPT_STORE) {
			store_dir = optarg;
		} else if (c == OPT_MOVE_FROM) {
			fb_strv_push(&move_from, optarg);
		} else {
			return fb_tool_bad_option(argv);
		}
	}
	if (optind >= argc)
		return fb_tool_usage_error("expected a command: put, get, ls, inspect, rm or gc");
	const char *cmd = argv[optind++];
	static const char *const with_tag[] = { "put", "get", "inspect", "rm" };
	bool needs_tag = false, known = !strcmp(cmd, "ls") || !strcmp(cmd, "gc");
	for (size_t i = 0; i < FB_ARRAY_LEN(with_tag); i++)
		if (!strcmp(cmd, with_tag[i]))
			needs_tag = known = true;
	if (!known)
		return fb_tool_usage_error("unknown command '%s'", cmd);
	if (needs_tag && optind >= argc)
		return fb_tool_usage_error("%s needs NAME:VERSION", cmd);
	/* gc [--cache-max-age=DURATION]: build cache entries unused for longer go */
	long long cache_max_age = 7LL * 24 * 3600 * 1000000000LL;
	if (!strcmp(cmd, "gc") && optind < argc && !strncmp(argv[optind], "--cache-max-age", 15)) {
		const char *v = argv[optind][15] == '=' ? argv[optind] + 16 : optind + 1 < argc ? argv[++optind] : "";
		if (strcmp(v, "0") && (fb_parse_duration(v, &cache_max_age) < 0 || cache_max_age < 0))
			return fb_tool_usage_error("--cache-max-age %s: expected a duration (24h, 30m, 0 for all)", v);
		if (!strcmp(v, "0"))
			cache_max_age = 0;
		optind++;
	}
	if (argc - optind > (needs_tag ? 1 : 0))
		return fb_tool_usage_error("unexpected argument '%s'", argv[argc - 1]);

	struct fb_err err = { 0 };
	struct tag t = { 0 };
	struct fb_store s = { 0 };
	jv doc = jv_invalid();
	int rc;
	if (needs_tag && parse_tag(argv[optind], &t, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto out;
	}
	if (!strcmp(cmd, "put")) {
		if (fb_json_read_fd(0, &doc, &err) < 0) {
			rc = fb_tool_fail(&err);
			goto out;
		}
		if (fb_json_is_error_doc(doc)) {
			rc = fb_tool_pass_error(doc);
			doc = jv_invalid();
			goto out;
		}
		if (fb_shape_put_input(doc, &err) < 0) {
			rc = fb_tool_fail(&err);
			goto out;
		}
	}
	if (fb_store_open(store_dir ? store_dir : fb_store_default(), &s, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto out;
	}
	int r;
	if (!strcmp(cmd, "put"))
		r = cmd_put(&s, &t, &move_from, &doc, &err);
	else if (!strcmp(cmd, "get"))
		r = cmd_get(&s, &t, &doc, &err);
	else if (!strcmp(cmd, "inspect"))
		r = read_meta(&s, &t, &doc, &err);
	else if (!strcmp(cmd, "rm"))
		r = cmd_rm(&s, &t, &doc, &err);
	else if (!strcmp(cmd, "ls"))
		r = cmd_ls(&s, &doc, &err);
	else
		r = cmd_gc(&s, cache_max_age, &doc, &err);
	if (r < 0) {
		rc = fb_tool_fail(&err);
		goto out;
	}
	rc = fb_tool_finish(doc);
	doc = jv_invalid();
out:
	if (jv_is_valid(doc))
		jv_free(doc);
	tag_free(&t);
	fb_store_close(&s);
	return rc;
}
