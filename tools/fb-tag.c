/* fb-tag: tagged, versioned root file systems in the store, and its
 * garbage collector.
 *   put NAME:VERSION   the document's .rootfs goes into the store
 *   get NAME:VERSION   .image for the VM tools
 *   ls | inspect NAME:VERSION | rm NAME:VERSION | gc */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "doc.h"
#include "err.h"
#include "image.h"
#include "log.h"
#include "oci.h"
#include "plan.h"
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
	"                        cache or a --move-from DIR is taken. A .rootfs that is\n"
	"                        .kept (fb-mkrootfs --tag found the tag holding the same\n"
	"                        image) leaves the tag as it is\n"
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

static void tag_free(struct tag *t)
{
	free(t->name);
	free(t->version);
}

/* What put reads: .rootfs (the file to move) and .image (what it was
 * made from), checked before the store is touched. */
struct put_input {
	struct fb_rootfs_doc rootfs;
	bool has_rootfs, has_image;
	struct fb_image image;
};

static int put_decode(const struct fb_doc *doc, struct put_input *in, struct fb_err *err)
{
	if (fb_rootfs_from_doc(doc, &in->rootfs, &in->has_rootfs, err) < 0 ||
	    fb_image_from_doc(doc, FB_IMAGE_FOR_PUT, &in->image, &in->has_image, err) < 0)
		return -1;
	return 0;
}

static void put_free(struct put_input *in)
{
	fb_rootfs_doc_free(&in->rootfs);
	fb_image_free(&in->image);
}

/* .rootfs.kept: fb-mkrootfs found the tag holding this very image, made
 * the same way, and wrote nothing; the tag stays as it is (its ext4, its
 * image.json, its version), once that is checked again here. */
static int put_kept(struct fb_store *s, const struct tag *t, struct put_input *in, struct fb_doc *doc,
		    struct fb_err *err)
{
	struct fb_tag_meta meta;
	if (fb_store_tag_get(s, t->name, t->version, &meta, err) < 0) {
		fb_err_prefix(err, ".rootfs.kept");
		return -1;
	}
	FB_AUTOFREE char *dir = fb_store_tag_dir(s->root, t->name, t->version);
	FB_AUTOFREE char *own = fb_store_tag_file(s->root, t->name, t->version, FB_TAG_ROOTFS);
	FB_AUTOFREE char *real_own = realpath(own, NULL);
	FB_AUTOFREE char *real_path = realpath(in->rootfs.path, NULL);
	int r = 0;
	if (!real_own || !real_path || strcmp(real_own, real_path))
		r = fb_err_set(err, FB_EXIT_USAGE, "invalid", ".rootfs.kept: %s is not the ext4 of %s:%s", in->rootfs.path,
			       t->name, t->version);
	else if (!in->rootfs.key || !meta.rootfs_key || strcmp(in->rootfs.key, meta.rootfs_key) || !in->has_image ||
		 !in->image.digest || !meta.digest || strcmp(in->image.digest, meta.digest))
		r = fb_err_set(err, FB_EXIT_CONFLICT, "conflict",
			       ".rootfs.kept: %s:%s no longer holds that image made that way (it was put again since)",
			       t->name, t->version);
	if (r == 0) {
		fb_rootfs_doc_set_path(doc, real_own);
		fb_tag_doc_set(doc, &meta, dir);
		fb_log_fields(FB_LOG_INFO, "unchanged", "tag", t->name, "version", t->version, (char *)NULL);
	}
	fb_tag_meta_free(&meta);
	return r;
}

static int cmd_put(struct fb_store *s, const struct tag *t, const struct fb_strv *move_from, struct put_input *in,
		   struct fb_doc *doc, struct fb_err *err)
{
	if (!in->has_rootfs)
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "input document has no .rootfs (run fb-mkrootfs first)");
	if (in->rootfs.kept)
		return put_kept(s, t, in, doc, err);
	const char *path = in->rootfs.path;
	/* A document names what is moved: only an ext4 image, from where
	 * images are made (or --move-from), never a host file or directory. */
	struct fb_handover h = { .fd = -1, .dirfd = -1 };
	if (fb_handover_open(s, path, fb_run_cache(NULL), move_from->v, move_from->n, &h, err) < 0 ||
	    fb_ext4_check(h.fd, path, err) < 0) {
		fb_handover_close(&h);
		fb_err_prefix(err, ".rootfs.path");
		return -1;
	}
	struct fb_tag_meta meta = { .size = (int64_t)h.st.st_size, .content_size = in->rootfs.content_size };
	if (in->rootfs.key && fb_digest_valid(in->rootfs.key))
		meta.rootfs_key = fb_xstrdup(in->rootfs.key);
	/* the config: fb-mkrootfs's, else the image's */
	const struct fb_oci_config *cfg = in->rootfs.config ? in->rootfs.config : in->has_image ? in->image.config : NULL;
	if (cfg) {
		meta.config = fb_xmalloc(sizeof(*meta.config));
		fb_oci_config_copy(meta.config, cfg);
	}
	/* what it was made from, and the blobs gc must keep for it */
	if (in->has_image) {
		meta.from_image = true;
		meta.source = in->image.ref ? fb_xstrdup(in->image.ref) : NULL;
		meta.digest = in->image.digest ? fb_xstrdup(in->image.digest) : NULL;
		meta.platform = in->image.platform ? fb_xstrdup(in->image.platform) : NULL;
		if (in->image.digest)
			fb_strv_push(&meta.blobs, in->image.digest);
		if (in->image.config_digest)
			fb_strv_push(&meta.blobs, in->image.config_digest);
		/* a layer given by .path has no digest */
		for (size_t i = 0; i < in->image.nlayers; i++)
			if (in->image.layers[i].digest)
				fb_strv_push(&meta.blobs, in->image.layers[i].digest);
	}
	char *dir = NULL;
	int r = fb_store_tag_put(s, t->name, t->version, &h, &meta, &dir, err);
	fb_handover_close(&h);
	if (r == 0) {
		char *newpath = fb_xasprintf("%s/%s", dir, FB_TAG_ROOTFS);
		fb_rootfs_doc_set_path(doc, newpath);
		free(newpath);
		fb_tag_doc_set(doc, &meta, dir);
		fb_log_fields(FB_LOG_INFO, "tagged", "tag", t->name, "version", t->version, (char *)NULL);
	}
	free(dir);
	fb_tag_meta_free(&meta);
	return r;
}

static int cmd_get(const struct fb_store *s, const struct tag *t, struct fb_doc **doc, struct fb_err *err)
{
	struct fb_tag_meta meta;
	if (fb_store_tag_get(s, t->name, t->version, &meta, err) < 0)
		return -1;
	char *rp = fb_store_tag_file(s->root, t->name, t->version, FB_TAG_ROOTFS);
	/* the tag's own name, whatever image.json says */
	free(meta.name);
	free(meta.version);
	meta.name = fb_xstrdup(t->name);
	meta.version = fb_xstrdup(t->version);
	*doc = fb_doc_new();
	fb_tag_image_doc_set(*doc, &meta, rp, s->root);
	free(rp);
	fb_tag_meta_free(&meta);
	return 0;
}

/* the tag's image.json, with the ext4's sha256 (computed and recorded
 * the first time it is asked for) */
static int cmd_inspect(struct fb_store *s, const struct tag *t, struct fb_doc **doc, struct fb_err *err)
{
	FB_AUTOFREE char *hex = NULL;
	bool saved;
	if (fb_store_tag_sha256(s, t->name, t->version, &hex, &saved, err) < 0)
		return -1;
	char *p;
	if (fb_store_tag_meta_path(s, t->name, t->version, &p, err) < 0)
		return -1;
	int r = fb_doc_load(p, doc, err);
	free(p);
	if (r == 0 && !saved)
		fb_tag_sha256_doc_set(*doc, hex);
	return r;
}

static int cmd_ls(const struct fb_store *s, struct fb_doc **doc, struct fb_err *err)
{
	struct fb_tag_meta *list;
	size_t n;
	if (fb_store_tag_list(s, &list, &n, err) < 0)
		return -1;
	*doc = fb_doc_new();
	fb_tag_list_doc_set(*doc, list, n);
	for (size_t i = 0; i < n; i++)
		fb_tag_meta_free(&list[i]);
	free(list);
	return 0;
}

static int cmd_rm(struct fb_store *s, const struct tag *t, struct fb_doc **doc, struct fb_err *err)
{
	if (fb_store_tag_rm(s, t->name, t->version, err) < 0)
		return -1;
	*doc = fb_doc_new();
	fb_tag_removed_doc_set(*doc, t->name, t->version);
	return 0;
}

static int cmd_gc(struct fb_store *s, long long cache_max_age, struct fb_doc **doc, struct fb_err *err)
{
	struct fb_gc_stats st;
	if (fb_store_gc(s, cache_max_age, &st, err) < 0)
		return -1;
	*doc = fb_doc_new();
	fb_gc_doc_set(*doc, &st);
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
	struct fb_doc *doc = NULL;
	struct put_input in = { 0 };
	int rc;
	if (needs_tag && fb_store_tag_parse(argv[optind], &t.name, &t.version, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto out;
	}
	if (!strcmp(cmd, "put")) {
		if (fb_doc_read_fd(0, &doc, &err) < 0) {
			rc = fb_tool_fail(&err);
			goto out;
		}
		if (fb_doc_is_error(doc)) {
			rc = fb_doc_pass_error(doc);
			doc = NULL;
			goto out;
		}
		if (put_decode(doc, &in, &err) < 0) {
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
		r = cmd_put(&s, &t, &move_from, &in, doc, &err);
	else if (!strcmp(cmd, "get"))
		r = cmd_get(&s, &t, &doc, &err);
	else if (!strcmp(cmd, "inspect"))
		r = cmd_inspect(&s, &t, &doc, &err);
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
	rc = fb_doc_finish(doc);
	doc = NULL;
out:
	fb_doc_free(doc);
	put_free(&in);
	tag_free(&t);
	fb_store_close(&s);
	return rc;
}
