/* fb-mkrootfs: an image's layers (or a build's result) to an ext4 root file
 * system, written directly with libext2fs (lib/rootfs). Reads the pipeline
 * document (.image from fb-fetch) or --layer files; adds .rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "digest.h"
#include "doc.h"
#include "err.h"
#include "follow.h"
#include "image.h"
#include "log.h"
#include "mkext4.h"
#include "oci.h"
#include "plan.h"
#include "rootfs.h"
#include "source.h"
#include "store.h"
#include "tool.h"
#include "tree.h"
#include "util.h"

static const char usage[] =
	"Usage: fb-mkrootfs [OPTIONS]\n"
	"Build an ext4 root file system from an image's layers.\n"
	"\n"
	"Reads a JSON document on stdin whose .image.layers name the layers (by\n"
	"digest in the store, or by .path), and writes it back with .rootfs added.\n"
	"With --layer, no document is read. Layers marked pending (fb-fetch image\n"
	"--stream) are read as they download, until the fetcher closes stdin.\n"
	"\n"
	"Options:\n"
	"  --output PATH          the ext4 image to write (default: a new file under\n"
	"                         the store's tmp/ directory)\n"
	"  --disk-size SIZE       the file system size (512M, 2G; default: the\n"
	"                         content plus headroom)\n"
	"  --store DIR            the content store (default: .image.store, then\n"
	"                         $FB_STORE, then the per-user default)\n"
	"  --layer FILE           apply this layer tar (repeatable, in order)\n"
	"  --from-tree DIR        build the image from the directory DIR (as a layer)\n"
	"  --tree DIR             write the layers into the directory DIR (new or empty)\n"
	"                         instead of an ext4 image (root: owners and devices)\n"
	"  --add-file SRC:DEST[:MODE]  add a file after the layers (repeatable)\n"
	"  --pre-build-command CMD   run CMD (sh -c, in the build sandbox) before the\n"
	"                         target stage's first step\n"
	"  --post-build-command CMD  and after its last\n"
	"  --no-init              do not add /sbin/fb-init (the VM's PID 1, found next\n"
	"                         to fb-mkrootfs) to the image\n"
	"  --tag NAME:VERSION     the tag the image goes to (fb-tag put): when that tag\n"
	"                         holds the same image made the same way, its ext4 is\n"
	"                         kept (.rootfs.kept) and nothing is written\n"
	"\n"
	"A document with .plan (fb-parse) is built first (docs/tools/fb-mkrootfs.md):\n"
	"  --run-cache DIR        where stage trees are made (default: $FB_RUN_CACHE,\n"
	"                         /var/lib/firebuild for root, else $XDG_RUNTIME_DIR)\n"
	"  --context DIR          the build context (default: .source.context)\n"
	"  --no-cache             run every step, ignoring the build cache\n"
	"  --secret id=ID,src=FILE  a RUN --mount=type=secret source (repeatable)\n"
	"  --insecure-registry HOST  plain http for this registry (bases)\n"
	"\n"
	"  --import               with --layer: keep the layers in the store with an\n"
	"                         image manifest and config (docker import), so FROM\n"
	"                         lines can build on the tag\n"
	"  --log-format FORMAT    json or text logs on stderr\n"
	"  --help, --version\n"
	"\n"
	"Exit status: 0 ok, 1 failed, 2 invalid input or a hostile layer, 3 not found.\n";

enum {
	OPT_OUTPUT = FB_OPT_FIRST_TOOL_OPT,
	OPT_DISK_SIZE,
	OPT_STORE,
	OPT_LAYER,
	OPT_ADD_FILE,
	OPT_TREE,
	OPT_FROM_TREE,
	OPT_RUN_CACHE,
	OPT_CONTEXT,
	OPT_NO_CACHE,
	OPT_SECRET,
	OPT_INSECURE,
	OPT_IMPORT,
	OPT_NO_INIT,
	OPT_PRE_BUILD,
	OPT_POST_BUILD,
	OPT_TAG,
};

static const struct option longopts[] = {
	FB_COMMON_LONGOPTS,
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "disk-size", required_argument, NULL, OPT_DISK_SIZE },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "layer", required_argument, NULL, OPT_LAYER },
	{ "add-file", required_argument, NULL, OPT_ADD_FILE },
	{ "tree", required_argument, NULL, OPT_TREE },
	{ "from-tree", required_argument, NULL, OPT_FROM_TREE },
	{ "run-cache", required_argument, NULL, OPT_RUN_CACHE },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
	{ "secret", required_argument, NULL, OPT_SECRET },
	{ "insecure-registry", required_argument, NULL, OPT_INSECURE },
	{ "import", no_argument, NULL, OPT_IMPORT },
	{ "no-init", no_argument, NULL, OPT_NO_INIT },
	{ "pre-build-command", required_argument, NULL, OPT_PRE_BUILD },
	{ "post-build-command", required_argument, NULL, OPT_POST_BUILD },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ NULL, 0, NULL, 0 },
};

struct options {
	const char *tree;
	const char *from_tree;
	const char *output;
	uint64_t disk_size;
	const char *store;
	struct fb_strv layer_files;
	struct fb_strv add_files;
	const char *run_cache;
	const char *context;
	bool no_cache;
	bool import;
	bool no_init;
	struct fb_vars secrets;
	struct fb_strv insecure;
	const char *pre_build, *post_build; /* shell commands around the target stage's steps */
	const char *tag;                    /* NAME:VERSION the result goes to */
};

/* What the document holds, decoded where it enters. */
struct input {
	bool has_plan, has_source, has_image;
	struct fb_plan plan;
	struct fb_source source;
	struct fb_image image;
	/* fb-fetch image --stream upstream: its end, the layers it downloads */
	struct fb_fetcher *fetcher;
	struct fb_follow **follow; /* one a layer, NULL when none pending */
};

static void input_free(struct input *in)
{
	for (size_t i = 0; in->follow && i < in->image.nlayers; i++)
		fb_follow_free(in->follow[i]);
	free(in->follow);
	fb_fetcher_free(in->fetcher);
	fb_plan_free(&in->plan);
	fb_source_free(&in->source);
	fb_image_free(&in->image);
}

/* After the document: with layers pending, the fetcher goes on writing
 * them and ends by closing stdin (an error object before, when it failed);
 * else what is left of stdin must be nothing, or an error object (1 and
 * *errdoc: passed on). */
static int stdin_after_doc(const struct options *o, struct input *in, struct fb_buf *rest, struct fb_doc **errdoc,
			   struct fb_err *err)
{
	if (!in->has_image || !fb_image_has_pending(&in->image)) {
		return fb_doc_read_trailer(0, rest, errdoc, err);
	}
	const char *store = o->store ? o->store : in->image.store ? in->image.store : fb_store_default();
	if (fb_fetcher_start(0, fb_buf_str(rest), rest->len, &in->fetcher, err) < 0)
		return -1;
	in->follow = fb_xcalloc(in->image.nlayers, sizeof(*in->follow));
	for (size_t i = 0; i < in->image.nlayers; i++) {
		const struct fb_oci_desc *l = &in->image.layers[i];
		if (!in->image.pending[i].pending)
			continue;
		if (!l->digest || !fb_digest_valid(l->digest))
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", ".image.layers[%zu].digest: a pending layer needs a sha256 digest",
					  i);
		const struct fb_layer_pending *p = &in->image.pending[i];
		in->follow[i] = fb_follow_new(in->fetcher, store, l->digest, (uint64_t)l->size, p->head, p->headlen, p->tail);
	}
	return 0;
}

/* The downloads the document left pending, over (fb-fetch's end, without
 * an error): what uses the layers by their paths (--tree, --import, a tag
 * kept), and the result, wait for it. */
static int settle_downloads(struct input *in, struct fb_err *err)
{
	for (size_t i = 0; in->follow && i < in->image.nlayers; i++)
		if (in->follow[i] && fb_follow_settle(in->follow[i], err) < 0)
			return -1;
	if (in->fetcher && fb_fetcher_wait(in->fetcher, err) < 0) {
		fb_err_prefix(err, "the image's download");
		return -1;
	}
	return 0;
}

/* .plan, .source and .image, each checked as it is decoded */
static int decode_input(const struct fb_doc *d, struct input *in, struct fb_err *err)
{
	if (fb_plan_from_doc(d, false, &in->plan, &in->has_plan, err) < 0 ||
	    fb_source_from_doc(d, FB_SOURCE_FOR_BUILD, &in->source, &in->has_source, err) < 0 ||
	    fb_image_from_doc(d, FB_IMAGE_FOR_ROOTFS, &in->image, &in->has_image, err) < 0)
		return -1;
	return 0;
}

/* A RUN (shell form) the plan did not have: --pre-build-command runs
 * before the target stage's first step, --post-build-command after its
 * last; they are cached like any RUN. */
static void extra_run(struct fb_plan_ins *r, const char *cmd, const char *flag, int line)
{
	fb_plan_ins_init(r, FB_CMD_RUN);
	r->line = r->end_line = line;
	r->original = fb_xasprintf("RUN %s (%s)", cmd, flag);
	r->has_form = true;
	r->has_args = true;
	fb_strv_push(&r->args, cmd);
	r->has_mounts = true;
	r->network = fb_xstrdup("default");
	r->security = fb_xstrdup("sandbox");
	r->has_args_env = true;
}

static void add_build_commands(const struct options *o, struct fb_plan *plan)
{
	if ((!o->pre_build && !o->post_build) || plan->target < 0 || (size_t)plan->target >= plan->nstages)
		return;
	struct fb_plan_stage *st = &plan->stages[plan->target];
	int last = st->nins ? st->ins[st->nins - 1].end_line : st->line;
	struct fb_plan_ins *ins = fb_xcalloc(st->nins + 2, sizeof(*ins));
	size_t n = 0;
	if (o->pre_build)
		extra_run(&ins[n++], o->pre_build, "--pre-build-command", st->line);
	memcpy(&ins[n], st->ins, st->nins * sizeof(*ins));
	n += st->nins;
	if (o->post_build)
		extra_run(&ins[n++], o->post_build, "--post-build-command", last);
	free(st->ins);
	st->ins = ins;
	st->nins = n;
}

/* .plan in, .image (and .build) out: the builder (lib/build). */
static int build_plan(struct options *o, struct fb_doc *doc, struct input *in, struct fb_err *err)
{
	const char *context = in->source.context, *context_url = in->source.context_url;
	struct fb_strv ignore = FB_STRV_INIT;
	for (size_t i = 0; i < in->source.dockerignore.n; i++)
		fb_strv_push(&ignore, in->source.dockerignore.v[i]);
	if (o->context) {
		context = o->context;
		fb_strv_free(&ignore);
		char *di = fb_xasprintf("%s/.dockerignore", o->context);
		struct fb_err ie = { 0 };
		if (fb_dockerignore_read(di, &ignore, &ie) < 0)
			fb_strv_free(&ignore); /* no .dockerignore: nothing ignored */
		free(di);
	}
	char exec_tool[4200];
	if (fb_tool_path("fb-exec", exec_tool, sizeof(exec_tool), err) < 0) {
		fb_strv_free(&ignore);
		return -1;
	}
	char *work = fb_xasprintf("%s/builds", fb_run_cache(o->run_cache));
	/* trees of builds killed earlier (kill -9, a crash) go first */
	struct fb_err swerr = { 0 };
	if (fb_build_sweep(work, NULL, &swerr) < 0)
		fb_log(FB_LOG_WARN, "%s", swerr.msg);
	struct fb_store st;
	int ret = -1;
	if (fb_store_open(o->store ? o->store : fb_store_default(), &st, err) == 0) {
		struct fb_image_opts io = { 0 };
		io.reg.insecure = o->insecure;
		struct fb_build_opts bo = { .store = &st, .work = work, .exec_tool = exec_tool, .context = context,
					    .context_temporary = context && !o->context && in->source.temporary,
					    .context_url = context_url, .ignore = ignore.v, .nignore = ignore.n,
					    .no_cache = o->no_cache, .img = &io, .secrets = o->secrets };
		struct fb_build_steps steps;
		add_build_commands(o, &in->plan);
		ret = fb_build(&bo, &in->plan, &in->image, &steps, err);
		if (ret == 0) {
			in->has_image = true;
			fb_image_doc_set(doc, &in->image);
		}
		fb_build_doc_set(doc, &steps);
		fb_build_steps_free(&steps);
		fb_store_close(&st);
	}
	/* a fetched source (http, git) is not needed any more */
	if (in->source.temporary)
		fb_tree_remove(in->source.temporary);
	free(work);
	fb_strv_free(&ignore);
	return ret;
}

/* --import: the layers into the store with a config and a manifest, as
 * .image, so the tag has what a FROM line needs. */
static int import_layers(const struct options *o, struct fb_image *image, struct fb_err *err)
{
	struct fb_store st;
	if (fb_store_open(o->store ? o->store : fb_store_default(), &st, err) < 0)
		return -1;
	int r = fb_image_import(&st, o->layer_files.v, o->layer_files.n, image, err);
	fb_store_close(&st);
	return r;
}

/* The layer files of the image: a digest names a blob of the store. */
static int layer_files(const struct fb_image *img, const char *store, struct fb_strv *paths, struct fb_strv *names,
		       struct fb_err *err)
{
	for (size_t i = 0; i < img->nlayers; i++) {
		const struct fb_oci_desc *l = &img->layers[i];
		if (!l->path && !fb_digest_valid(l->digest))
			return fb_err_set(err, FB_EXIT_USAGE, "invalid", "invalid layer digest %s", l->digest);
		fb_strv_push_owned(paths, l->path ? fb_xstrdup(l->path) : fb_store_blob_path_at(store, l->digest));
		fb_strv_push(names, l->digest ? l->digest : l->path);
	}
	return 0;
}

/* Bare layers (no image, no config digest): the ext4's identity comes
 * from the layers' own digests, read here, so that the same files give the
 * same image anywhere. */
static int layers_seed(const struct fb_strv *paths, const struct input *in, const char *from_tree, char **seed,
		       struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	char *buf = fb_xmalloc(1 << 20);
	int ret = -1;
	for (size_t i = 0; i < paths->n; i++) {
		if (in && in->follow && in->follow[i]) {
			/* still downloading: its bytes will hash to its digest */
			fb_buf_addf(&b, "%s\n", in->image.layers[i].digest);
			continue;
		}
		int fd = open(paths->v[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fb_err_errno(err, errno, "layer %s", paths->v[i]);
			goto out;
		}
		struct fb_sha256 h;
		fb_sha256_init(&h);
		ssize_t n;
		while ((n = read(fd, buf, 1 << 20)) > 0)
			fb_sha256_update(&h, buf, (size_t)n);
		int en = errno;
		close(fd);
		char d[72];
		fb_sha256_final(&h, d);
		if (n < 0) {
			fb_err_errno(err, en, "layer %s", paths->v[i]);
			goto out;
		}
		fb_buf_addf(&b, "%s\n", d);
	}
	if (from_tree)
		fb_buf_adds(&b, "from-tree\n");
	*seed = fb_xstrdup(fb_buf_str(&b));
	ret = 0;
out:
	free(buf);
	fb_buf_free(&b);
	return ret;
}

/* --tree: a directory instead of an image */
static int write_tree(const struct options *o, const struct fb_strv *paths, const struct fb_strv *names,
		      const struct input *in, struct fb_doc *doc, struct fb_err *err)
{
	if (mkdir(o->tree, 0755) < 0 && errno != EEXIST)
		return fb_err_errno(err, errno, "--tree %s", o->tree);
	for (size_t i = 0; i < paths->n; i++)
		if (fb_tree_apply_layer(o->tree, paths->v[i], names->v[i], err) < 0)
			return -1;
	char real[4096];
	fb_tree_doc_set(doc, realpath(o->tree, real) ? real : o->tree, in->has_image, in->image.config);
	return 0;
}

/* A file as its inode says it is (a rebuilt or reinstalled binary has
 * another inode, or other times): "dev ino size mtime ctime". */
static int file_identity(struct fb_buf *b, const char *what, const char *path, struct fb_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return fb_err_errno(err, errno, "%s", path);
	fb_buf_addf(b, "%s %llu %llu %lld %lld.%09ld %lld.%09ld\n", what, (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return 0;
}

/* What an ext4 made now would be made from: the image (its manifest), the
 * size asked for, the writer (this very binary) and fb-init, those two by
 * their inodes (this key only ever meets this host's store). */
static int rootfs_key(const char *manifest, uint64_t disk_size, const char *init, char out[72], struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	fb_buf_addf(&b, "fb-mkrootfs rootfs key 1\nimage %s\ndisk-size %llu\n", manifest, (unsigned long long)disk_size);
	int r = file_identity(&b, "writer", "/proc/self/exe", err);
	if (r == 0 && init)
		r = file_identity(&b, "init", init, err);
	if (r == 0)
		fb_sha256_mem(b.data, b.len, out);
	fb_buf_free(&b);
	return r;
}

/* --tag: the tag's ext4 when the tag holds this very image made the same
 * way (1), else 0 and the ext4 is written. fb-tag put checks it again. */
static int keep_tagged(const struct options *o, const char *store, const struct fb_image *image, const char *key,
		       struct fb_rootfs_doc *rd)
{
	FB_AUTOFREE char *name = NULL, *version = NULL;
	struct fb_store st = { .root = (char *)store };
	struct fb_tag_meta meta;
	struct fb_err e = { 0 };
	if (fb_store_tag_split(o->tag, &name, &version) < 0 || fb_store_tag_get(&st, name, version, &meta, &e) < 0)
		return 0;
	FB_AUTOFREE char *path = fb_store_tag_file(store, name, version, FB_TAG_ROOTFS);
	struct stat sb;
	int r = meta.rootfs_key && !strcmp(meta.rootfs_key, key) && meta.digest && !strcmp(meta.digest, image->digest) &&
		lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == meta.size;
	if (r) {
		rd->path = realpath(path, NULL);
		r = rd->path != NULL;
		rd->size = meta.size;
		rd->content_size = meta.content_size;
		rd->kept = true;
	}
	fb_tag_meta_free(&meta);
	return r;
}

static int run(struct options *o, struct fb_doc *doc, struct input *in, struct fb_err *err)
{
	struct fb_strv paths = FB_STRV_INIT, names = FB_STRV_INIT;
	int ret = -1;
	char *store = NULL, *out = NULL, *tmpdir = NULL, *seed = NULL;

	if (o->layer_files.n || o->from_tree) {
		for (size_t i = 0; i < o->layer_files.n; i++) {
			fb_strv_push(&paths, o->layer_files.v[i]);
			fb_strv_push(&names, o->layer_files.v[i]);
		}
		if (o->import && o->layer_files.n) {
			if (import_layers(o, &in->image, err) < 0)
				goto out;
			in->has_image = true;
			fb_image_doc_set(doc, &in->image);
		}
	} else {
		if (in->has_plan && !in->has_image && build_plan(o, doc, in, err) < 0)
			goto out;
		if (!in->has_image) {
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "input document has no .image object (run fb-fetch image first)");
			goto out;
		}
		store = fb_xstrdup(o->store ? o->store : in->image.store ? in->image.store : fb_store_default());
		if (layer_files(&in->image, store, &paths, &names, err) < 0)
			goto out;
	}

	if (o->tree) {
		if (settle_downloads(in, err) == 0)
			ret = write_tree(o, &paths, &names, in, doc, err);
		goto out;
	}
	if (o->output) {
		out = fb_xstrdup(o->output);
	} else {
		if (fb_store_mktemp(store ? store : o->store ? o->store : fb_store_default(), "rootfs", &tmpdir, err) < 0)
			goto out;
		out = fb_xasprintf("%s/rootfs.ext4", tmpdir);
	}
	/* fb-init joins every image (a link /sbin -> usr/sbin is followed);
	 * firebuild run writes it again into the VM's copy, so an image
	 * where it cannot go still runs */
	char init[4200];
	struct fb_err pe = { 0 };
	bool have_init = !o->no_init && fb_tool_path("fb-init", init, sizeof(init), &pe) == 0;
	/* the same image, the same bytes: its config digest and time */
	if (in->has_image && in->image.config_digest) {
		seed = fb_xstrdup(in->image.config_digest);
	} else if (layers_seed(&paths, in, o->from_tree, &seed, err) < 0) {
		goto out;
	}
	struct fb_mkext4_opts mo = { .output = out, .disk_size = o->disk_size, .layers = paths.v, .names = names.v,
				     .follow = in->follow, .nlayers = paths.n, .from_tree = o->from_tree, .add_files = o->add_files.v,
				     .nadd = o->add_files.n, .init = have_init ? init : NULL, .seed = seed,
				     .created = in->has_image && in->image.config ? in->image.config->created : NULL };
	struct fb_rootfs_doc rd = { .has_stats = true, .has_init = true, .content_size = -1 };
	char key[72];
	/* an image made from nothing else than its layers and fb-init, going
	 * to a tag of the store: keyed, so an unchanged tag keeps its ext4 */
	bool keyed = o->tag && !o->output && !o->add_files.n && in->has_image && in->image.digest && store &&
		     fb_digest_valid(in->image.digest);
	if (keyed && rootfs_key(in->image.digest, o->disk_size, have_init ? init : NULL, key, err) < 0)
		goto out;
	if (keyed)
		rd.key = key;
	if (keyed && keep_tagged(o, store, &in->image, key, &rd)) {
		rmdir(tmpdir);
		free(tmpdir);
		tmpdir = NULL;
		rd.has_stats = false;
		rd.has_init = false;
		fb_log_fields(FB_LOG_INFO, "unchanged: the tag's ext4 is kept", "tag", o->tag, (char *)NULL);
	} else {
		if (fb_mkext4(&mo, &rd.stats, &rd.init, err) < 0)
			goto out;
		struct stat sst;
		if (stat(out, &sst) < 0) {
			fb_err_errno(err, errno, "stat %s", out);
			goto out;
		}
		rd.path = realpath(out, NULL);
		if (!rd.path)
			rd.path = fb_xstrdup(out);
		rd.size = (int64_t)sst.st_size;
	}
	/* the layers all verified; the image is ours once the fetcher ended well */
	if (settle_downloads(in, err) < 0)
		goto out;
	struct fb_oci_config bare;
	if (in->has_image) {
		rd.config = in->image.config;
	} else {
		/* bare layers (an import): the minimal config docker import makes */
		const char *plat = fb_host_platform();
		const char *arch = strchr(plat, '/') + 1;
		fb_oci_config_init(&bare);
		bare.architecture = fb_xstrndup(arch, strcspn(arch, "/"));
		bare.os = fb_xstrdup("linux");
		bare.has_config = true;
		rd.config = &bare;
	}
	fb_rootfs_doc_set(doc, &rd);
	if (in->follow)
		fb_image_doc_clear_pending(doc);
	free(rd.path);
	if (!in->has_image)
		fb_oci_config_free(&bare);
	ret = 0;
out:
	if (ret < 0 && tmpdir) {
		if (out)
			unlink(out);
		rmdir(tmpdir);
	}
	fb_strv_free(&paths);
	fb_strv_free(&names);
	free(store);
	free(out);
	free(tmpdir);
	free(seed);
	return ret;
}

int main(int argc, char **argv)
{
	fb_tool_init("fb-mkrootfs");
	struct options o = { 0 };
	int c, exit_now = -1, rc;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (fb_tool_common_opt(c, optarg, usage, &exit_now)) {
			if (exit_now >= 0)
				goto done;
			continue;
		}
		switch (c) {
		case OPT_OUTPUT:
			o.output = optarg;
			break;
		case OPT_DISK_SIZE:
			if (fb_parse_size(optarg, &o.disk_size) < 0) {
				exit_now = fb_tool_usage_error("--disk-size %s: expected a size such as 512M or 2G", optarg);
				goto done;
			}
			break;
		case OPT_STORE:
			o.store = optarg;
			break;
		case OPT_LAYER:
			fb_strv_push(&o.layer_files, optarg);
			break;
		case OPT_ADD_FILE:
			fb_strv_push(&o.add_files, optarg);
			break;
		case OPT_TREE:
			o.tree = optarg;
			break;
		case OPT_FROM_TREE:
			o.from_tree = optarg;
			break;
		case OPT_RUN_CACHE: o.run_cache = optarg; break;
		case OPT_CONTEXT: o.context = optarg; break;
		case OPT_NO_CACHE: o.no_cache = true; break;
		case OPT_IMPORT: o.import = true; break;
		case OPT_NO_INIT: o.no_init = true; break;
		case OPT_PRE_BUILD: o.pre_build = optarg; break;
		case OPT_POST_BUILD: o.post_build = optarg; break;
		case OPT_TAG: {
			FB_AUTOFREE char *tn = NULL, *tv = NULL;
			if (fb_store_tag_split(optarg, &tn, &tv) < 0) {
				exit_now = fb_tool_usage_error("--tag %s: expected NAME:VERSION", optarg);
				goto done;
			}
			o.tag = optarg;
			break;
		}
		case OPT_INSECURE: fb_strv_push(&o.insecure, optarg); break;
		case OPT_SECRET: {
			/* id=ID,src=FILE (also source=, and a bare id names env-less files) */
			char *id = NULL, *src = NULL, *t = fb_xstrdup(optarg), *save = NULL;
			for (char *kv = strtok_r(t, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
				if (!strncmp(kv, "id=", 3))
					id = kv + 3;
				else if (!strncmp(kv, "src=", 4))
					src = kv + 4;
				else if (!strncmp(kv, "source=", 7))
					src = kv + 7;
			}
			if (!id || !src) {
				free(t);
				exit_now = fb_tool_usage_error("--secret %s: expected id=ID,src=FILE", optarg);
				goto done;
			}
			char real[4096];
			fb_vars_set(&o.secrets, id, realpath(src, real) ? real : src);
			free(t);
			break;
		}
		default:
			exit_now = fb_tool_bad_option(argv);
			goto done;
		}
	}
	if (optind < argc) {
		exit_now = fb_tool_usage_error("unexpected argument '%s'", argv[optind]);
		goto done;
	}
	struct fb_err err = { 0 };
	struct fb_doc *doc = NULL;
	struct input in = { 0 };
	if (!o.layer_files.n && !o.from_tree) {
		/* the first document, without waiting for the end of stdin */
		struct fb_buf rest = FB_BUF_INIT;
		struct fb_doc *errdoc = NULL;
		int ar = fb_doc_read_first(0, &doc, &rest, &err);
		if (ar == 0 && fb_doc_is_error(doc)) {
			fb_buf_free(&rest);
			rc = fb_doc_pass_error(doc);
			doc = NULL;
			goto finish;
		}
		if (ar == 0)
			ar = decode_input(doc, &in, &err);
		if (ar == 0)
			ar = stdin_after_doc(&o, &in, &rest, &errdoc, &err);
		fb_buf_free(&rest);
		if (ar == 1) {
			/* the tool before failed after its document: its error goes on */
			rc = fb_doc_pass_error(errdoc);
			goto finish;
		}
		if (ar < 0) {
			rc = fb_tool_fail(&err);
			goto finish;
		}
	} else {
		doc = fb_doc_new();
	}
	if (run(&o, doc, &in, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto finish;
	}
	rc = fb_doc_finish(doc);
	doc = NULL;
finish:
	fb_doc_free(doc);
	input_free(&in);
	fb_strv_free(&o.layer_files);
	fb_strv_free(&o.add_files);
	fb_strv_free(&o.insecure);
	fb_vars_free(&o.secrets);
	return rc;
done:
	fb_strv_free(&o.layer_files);
	fb_strv_free(&o.add_files);
	fb_strv_free(&o.insecure);
	fb_vars_free(&o.secrets);
	return exit_now;
}
