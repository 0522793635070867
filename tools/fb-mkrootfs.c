/* fb-mkrootfs: an image's layers (or a build's result) to an ext4 root file
 * system, written directly with libext2fs (lib/rootfs). Reads the pipeline
 * document (.image from fb-fetch) or --layer files; adds .rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "build.h"
#include "digest.h"
#include "oci.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "plan.h"
#include "proc.h"
#include "rootfs.h"
#include "shape.h"
#include "source.h"
#include "store.h"
#include "tree.h"
#include "tool.h"
#include "trace.h"
#include "unpack.h"
#include "util.h"

static const char usage[] =
	"Usage: fb-mkrootfs [OPTIONS]\n"
	"Build an ext4 root file system from an image's layers.\n"
	"\n"
	"Reads a JSON document on stdin whose .image.layers name the layers (by\n"
	"digest in the store, or by .path), and writes it back with .rootfs added.\n"
	"With --layer, no document is read.\n"
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
	{ NULL, 0, NULL, 0 },
};

struct layer {
	char *path;
	char *name; /* digest or path, for messages */
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
	bool init_added;
	struct fb_vars secrets;
	struct fb_strv insecure;
	const char *pre_build, *post_build; /* shell commands around the target stage's steps */
};

/* A RUN (shell form) the plan did not have: --pre-build-command runs
 * before the target stage's first step, --post-build-command after its
 * last; they are cached like any RUN. */
static jv extra_run(const char *cmd, const char *flag, int line)
{
	jv r = jv_object_set(jv_object(), jv_string("cmd"), jv_string("RUN"));
	r = jv_object_set(r, jv_string("line"), jv_number(line));
	r = jv_object_set(r, jv_string("end_line"), jv_number(line));
	r = jv_object_set(r, jv_string("original"), jv_string_fmt("RUN %s (%s)", cmd, flag));
	r = jv_object_set(r, jv_string("form"), jv_string("shell"));
	r = jv_object_set(r, jv_string("args"), jv_array_append(jv_array(), jv_string(cmd)));
	r = jv_object_set(r, jv_string("mounts"), jv_array());
	r = jv_object_set(r, jv_string("network"), jv_string("default"));
	r = jv_object_set(r, jv_string("security"), jv_string("sandbox"));
	return jv_object_set(r, jv_string("args_env"), jv_object());
}

static jv add_build_commands(const struct options *o, jv plan)
{
	if (!o->pre_build && !o->post_build)
		return plan;
	jv ti = jv_getpath(jv_copy(plan), jv_parse("[\"target\",\"index\"]"));
	int t = jv_get_kind(ti) == JV_KIND_NUMBER ? (int)jv_number_value(ti) : -1;
	jv_free(ti);
	jv stages = jv_object_get(jv_copy(plan), jv_string("stages"));
	if (t < 0 && jv_get_kind(stages) == JV_KIND_ARRAY)
		t = jv_array_length(jv_copy(stages)) - 1;
	if (t < 0 || jv_get_kind(stages) != JV_KIND_ARRAY || t >= jv_array_length(jv_copy(stages))) {
		jv_free(stages);
		return plan;
	}
	jv st = jv_array_get(jv_copy(stages), t);
	jv ins = jv_object_get(jv_copy(st), jv_string("instructions"));
	jv fl = jv_object_get(jv_copy(st), jv_string("line"));
	int from_line = jv_get_kind(fl) == JV_KIND_NUMBER ? (int)jv_number_value(fl) : 0, last = from_line;
	jv_free(fl);
	jv out = jv_array();
	if (o->pre_build)
		out = jv_array_append(out, extra_run(o->pre_build, "--pre-build-command", from_line));
	jv_array_foreach(ins, i, in)
	{
		jv el = jv_object_get(jv_copy(in), jv_string("end_line"));
		if (jv_get_kind(el) == JV_KIND_NUMBER)
			last = (int)jv_number_value(el);
		jv_free(el);
		out = jv_array_append(out, in);
		(void)i;
	}
	jv_free(ins);
	if (o->post_build)
		out = jv_array_append(out, extra_run(o->post_build, "--post-build-command", last));
	st = jv_object_set(st, jv_string("instructions"), out);
	stages = jv_array_set(stages, t, st);
	return jv_object_set(plan, jv_string("stages"), stages);
}

/* --import: the layers into the store with a config and a manifest, as
 * .image, so the tag has what a FROM line needs. */
static int import_layers(struct options *o, jv *image, struct fb_err *err)
{
	struct fb_store st;
	if (fb_store_open(o->store ? o->store : fb_store_default(), &st, err) < 0)
		return -1;
	const char *plat = fb_host_platform();
	const char *arch = strchr(plat, '/') + 1;
	jv layers = jv_array(), ids = jv_array();
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < o->layer_files.n; i++) {
		char d[72], id[72];
		struct stat lst;
		if (stat(o->layer_files.v[i], &lst) < 0) {
			ret = fb_err_errno(err, errno, "--layer %s", o->layer_files.v[i]);
			break;
		}
		unsigned char magic[4] = { 0 };
		FILE *f = fopen(o->layer_files.v[i], "re");
		if (f) {
			if (fread(magic, 1, 4, f) == 0) {
				/* empty: a plain (empty) tar */
			}
			fclose(f);
		}
		if (fb_unpack_diff_id(o->layer_files.v[i], id, err) < 0) {
			fb_err_prefix(err, "--layer");
			ret = -1;
			break;
		}
		if (fb_store_put_file(&st, o->layer_files.v[i], NULL, d, err) < 0) {
			ret = -1;
			break;
		}
		const char *mt = magic[0] == 0x1f && magic[1] == 0x8b ? FB_MT_OCI_LAYER_GZ
				 : magic[0] == 0x28 && magic[1] == 0xb5 ? FB_MT_OCI_LAYER_ZST
									 : FB_MT_OCI_LAYER;
		struct stat sb;
		stat(o->layer_files.v[i], &sb);
		jv l = jv_object_set(jv_object(), jv_string("mediaType"), jv_string(mt));
		l = jv_object_set(l, jv_string("digest"), jv_string(d));
		layers = jv_array_append(layers, jv_object_set(l, jv_string("size"), jv_number((double)sb.st_size)));
		ids = jv_array_append(ids, jv_string(id));
	}
	if (ret == 0) {
		jv cfg = jv_object_set(jv_object(), jv_string("architecture"), jv_string_sized(arch, (int)strcspn(arch, "/")));
		cfg = jv_object_set(cfg, jv_string("os"), jv_string("linux"));
		cfg = jv_object_set(cfg, jv_string("config"), jv_object());
		cfg = jv_object_set(cfg, jv_string("rootfs"),
				    jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("layers")),
						  jv_string("diff_ids"), jv_copy(ids)));
		char *ct = fb_json_dump(jv_copy(cfg), false);
		char cd[72], md[72];
		ret = fb_store_put_mem(&st, ct, strlen(ct), cd, err);
		jv m = jv_object_set(jv_object(), jv_string("schemaVersion"), jv_number(2));
		m = jv_object_set(m, jv_string("mediaType"), jv_string(FB_MT_OCI_MANIFEST));
		jv c = jv_object_set(jv_object(), jv_string("mediaType"), jv_string(FB_MT_OCI_CONFIG));
		c = jv_object_set(c, jv_string("digest"), jv_string(cd));
		m = jv_object_set(m, jv_string("config"), jv_object_set(c, jv_string("size"), jv_number((double)strlen(ct))));
		m = jv_object_set(m, jv_string("layers"), jv_copy(layers));
		char *mt = fb_json_dump(m, false);
		if (ret == 0)
			ret = fb_store_put_mem(&st, mt, strlen(mt), md, err);
		if (ret == 0) {
			jv img = jv_object_set(jv_object(), jv_string("ref"), jv_string("import"));
			img = jv_object_set(img, jv_string("digest"), jv_string(md));
			img = jv_object_set(img, jv_string("media_type"), jv_string(FB_MT_OCI_MANIFEST));
			img = jv_object_set(img, jv_string("config_digest"), jv_string(cd));
			img = jv_object_set(img, jv_string("config"), jv_copy(cfg));
			img = jv_object_set(img, jv_string("layers"), jv_copy(layers));
			*image = jv_object_set(img, jv_string("store"), jv_string(st.root));
		}
		free(ct);
		free(mt);
		jv_free(cfg);
	}
	jv_free(layers);
	jv_free(ids);
	fb_store_close(&st);
	return ret;
}

/* .plan in, .image (and .build) out: the builder (lib/build). */
static int build_plan(struct options *o, jv *doc, struct fb_err *err)
{
	jv plan = jv_object_get(jv_copy(*doc), jv_string("plan"));
	jv src = jv_object_get(jv_copy(*doc), jv_string("source"));
	char *context = NULL, *context_url = NULL, *work = NULL;
	struct fb_strv ignore = FB_STRV_INIT;
	if (jv_get_kind(src) == JV_KIND_OBJECT) {
		fb_json_get_str_opt(src, "context", &context, err);
		fb_json_get_str_opt(src, "context_url", &context_url, err);
		fb_json_get_strv_opt(src, "dockerignore", &ignore, err);
	}
	if (o->context) {
		free(context);
		context = fb_xstrdup(o->context);
		fb_strv_free(&ignore);
		char *di = fb_xasprintf("%s/.dockerignore", o->context);
		jv pats;
		if (fb_dockerignore_read(di, &pats, err) == 0 && jv_get_kind(pats) == JV_KIND_ARRAY) {
			jv_array_foreach(pats, i, p)
			{
				fb_strv_push(&ignore, jv_string_value(p));
				jv_free(p);
				(void)i;
			}
			jv_free(pats);
		} else if (jv_is_valid(pats)) {
			jv_free(pats);
		}
		free(di);
	}
	char exec_tool[4200];
	if (fb_tool_path("fb-exec", exec_tool, sizeof(exec_tool), err) < 0) {
		jv_free(plan);
		jv_free(src);
		free(context);
		free(context_url);
		fb_strv_free(&ignore);
		return -1;
	}
	work = fb_xasprintf("%s/builds", fb_run_cache(o->run_cache));
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
					    .context_url = context_url, .ignore = ignore.v, .nignore = ignore.n,
					    .no_cache = o->no_cache, .img = &io, .secrets = o->secrets };
		jv image, steps;
		plan = add_build_commands(o, plan);
		ret = fb_build(&bo, plan, &image, &steps, err);
		if (ret == 0)
			*doc = jv_object_set(*doc, jv_string("image"), image);
		jv b = jv_object_set(jv_object(), jv_string("steps"), steps);
		*doc = jv_object_set(*doc, jv_string("build"), b);
		fb_store_close(&st);
	}
	/* a fetched source (http, git) is not needed any more */
	char *tmp = NULL;
	struct fb_err e2 = { 0 };
	if (jv_get_kind(src) == JV_KIND_OBJECT && fb_json_get_str_opt(src, "temporary", &tmp, &e2) == 0 && tmp)
		fb_tree_remove(tmp);
	free(tmp);
	jv_free(plan);
	jv_free(src);
	free(context);
	free(context_url);
	free(work);
	fb_strv_free(&ignore);
	return ret;
}

/* "512M", "2G", "1048576": bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v <= 0)
		return -1;
	uint64_t mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	case 't': case 'T': mult = 1ULL << 40; end++; break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	*out = (uint64_t)(v * (double)mult);
	return 0;
}

/* The uncompressed size of a layer blob, without decompressing it. */
static uint64_t estimate_layer(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	unsigned char head[18] = { 0 }, tail[4] = { 0 };
	uint64_t est = 0;
	if (fstat(fd, &st) == 0 && pread(fd, head, sizeof(head), 0) > 0) {
		uint64_t csize = (uint64_t)st.st_size;
		if (head[0] == 0x1f && head[1] == 0x8b && csize >= 18 && pread(fd, tail, 4, (off_t)csize - 4) == 4) {
			/* gzip: ISIZE is the size modulo 2^32 */
			uint64_t isize = (uint64_t)tail[0] | (uint64_t)tail[1] << 8 | (uint64_t)tail[2] << 16 |
					 (uint64_t)tail[3] << 24;
			while (isize < csize)
				isize += 1ULL << 32;
			est = isize;
		} else if (head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) {
			/* zstd: the frame header may carry the content size */
			unsigned fhd = head[4], fcs_flag = fhd >> 6, single = (fhd >> 5) & 1, did_flag = fhd & 3;
			unsigned pos = 5 + (single ? 0 : 1) + (did_flag == 0 ? 0 : did_flag == 1 ? 1 : did_flag == 2 ? 2 : 4);
			unsigned fcs_len = fcs_flag == 0 ? (single ? 1 : 0) : fcs_flag == 1 ? 2 : fcs_flag == 2 ? 4 : 8;
			if (fcs_len && pos + fcs_len <= sizeof(head)) {
				uint64_t v = 0;
				for (unsigned i = 0; i < fcs_len; i++)
					v |= (uint64_t)head[pos + i] << (8 * i);
				est = fcs_len == 2 ? v + 256 : v;
			} else {
				est = csize * 4;
			}
		} else if ((head[0] == 0xfd && head[1] == '7') || (head[0] == 'B' && head[1] == 'Z')) {
			est = csize * 5;
		} else {
			est = csize;
		}
	}
	close(fd);
	return est;
}

static uint64_t tree_entries;
static int count_tree_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)p, (void)sb, (void)flag, (void)f;
	tree_entries++;
	return 0;
}

/* Inodes for what the layers name, counted (the headers only), plus room
 * for the VM to make files of its own: for when the estimate from bytes
 * ran short (a layer of many empty files). */
static int inodes_needed(const struct options *o, const struct layer *layers, size_t nl, uint64_t *inodes,
			 struct fb_err *err)
{
	uint64_t n = 0;
	for (size_t i = 0; i < nl; i++)
		if (fb_unpack_count(layers[i].path, layers[i].name, &n, err) < 0)
			return -1;
	if (o->from_tree) {
		tree_entries = 0;
		nftw(o->from_tree, count_tree_cb, 64, FTW_PHYS);
		n += tree_entries;
	}
	*inodes = n + n / 4 + 4096;
	return 0;
}

static int write_ext4(struct options *o, struct layer *layers, size_t nl, const char *out, uint64_t size,
		      uint64_t inodes, struct fb_rootfs_stats *st, struct fb_err *err);

/* The ext4 image from the layers, as one span. */
static int build(struct options *o, struct layer *layers, size_t nl, const char *out, uint64_t size,
		 uint64_t inodes, struct fb_rootfs_stats *st, struct fb_err *err)
{
	struct fb_span *sp = fb_span_begin("ext4 write");
	fb_span_set_int(sp, "layers", (int64_t)nl);
	fb_span_set_int(sp, "size", (int64_t)size);
	int r = write_ext4(o, layers, nl, out, size, inodes, st, err);
	if (r < 0)
		fb_span_error(sp, err->msg);
	fb_span_end(sp);
	return r;
}

static int write_ext4(struct options *o, struct layer *layers, size_t nl, const char *out, uint64_t size,
		      uint64_t inodes, struct fb_rootfs_stats *st, struct fb_err *err)
{
	struct fb_rootfs_opts ro = { .path = out, .size = size, .inodes = inodes };
	struct fb_rootfs *r;
	if (fb_rootfs_create(&ro, &r, err) < 0)
		return -1;
	char **paths = fb_xcalloc(nl + 1, sizeof(char *)), **names = fb_xcalloc(nl + 1, sizeof(char *));
	for (size_t i = 0; i < nl; i++)
		paths[i] = layers[i].path, names[i] = layers[i].name;
	int ar = fb_rootfs_apply_layers(r, paths, names, nl, err);
	free(paths);
	free(names);
	if (ar < 0)
		goto fail;
	if (o->from_tree) {
		/* the tree streams in as one more layer; nothing is staged */
		int pfd[2];
		struct fb_tree_tar *tt;
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			fb_err_errno(err, errno, "pipe");
			goto fail;
		}
		if (fb_tree_tar_start(o->from_tree, pfd[1], &tt, err) < 0) {
			close(pfd[0]);
			close(pfd[1]);
			goto fail;
		}
		int lr = fb_rootfs_apply_layer_fd(r, pfd[0], o->from_tree, err);
		close(pfd[0]); /* a writer still going gets EPIPE and stops */
		struct fb_err terr = { 0 };
		int tr = fb_tree_tar_finish(tt, &terr);
		if (lr < 0)
			goto fail;
		if (tr < 0) {
			*err = terr;
			goto fail;
		}
	}
	/* fb-init joins every image (a link /sbin -> usr/sbin is followed);
	 * firebuild run writes it again into the VM's copy, so an image
	 * where it cannot go still runs */
	char init[4200];
	struct fb_err pe = { 0 };
	bool have_init = fb_tool_path("fb-init", init, sizeof(init), &pe) == 0;
	struct fb_buf ib = FB_BUF_INIT;
	struct fb_err ie = { 0 };
	if (!o->no_init && have_init && fb_read_file(init, &ib, &ie) == 0) {
		if (fb_rootfs_add_file(r, "/sbin/fb-init", ib.data, ib.len, 0755, 0, 0, &ie) == 0)
			o->init_added = true;
		else
			fb_log(FB_LOG_WARN, "/sbin/fb-init not added (firebuild run adds it to the VM's copy): %s", ie.msg);
	}
	fb_buf_free(&ib);
	/* --add-file: any file, after the layers */
	for (size_t i = 0; i < o->add_files.n; i++) {
		char *spec = fb_xstrdup(o->add_files.v[i]);
		char *dest = strchr(spec, ':');
		char *mode_s = dest ? strchr(dest + 1, ':') : NULL;
		if (!dest) {
			free(spec);
			fb_err_set(err, FB_EXIT_USAGE, NULL, "--add-file %s: expected SRC:DEST[:MODE]", o->add_files.v[i]);
			goto fail;
		}
		*dest++ = '\0';
		if (mode_s)
			*mode_s++ = '\0';
		struct fb_buf data = FB_BUF_INIT;
		struct stat sst;
		int rr = stat(spec, &sst) < 0 ? fb_err_errno(err, errno, "--add-file %s", spec)
					     : fb_read_file(spec, &data, err);
		mode_t mode = mode_s ? (mode_t)strtoul(mode_s, NULL, 8) : (sst.st_mode & 07777);
		if (rr == 0)
			rr = fb_rootfs_add_file(r, dest, data.data ? data.data : "", data.len, mode, 0, 0, err);
		fb_buf_free(&data);
		free(spec);
		if (rr < 0)
			goto fail;
	}
	if (fb_rootfs_finish(r, st, err) < 0)
		goto fail;
	fb_rootfs_free(r);
	return 0;
fail:
	fb_rootfs_free(r);
	return -1;
}

static int run(struct options *o, jv *doc, struct fb_err *err)
{
	struct layer *layers = NULL;
	size_t nl = 0;
	int ret = -1;
	char *store = NULL, *out = NULL, *tmpdir = NULL;
	jv image = jv_invalid();

	if (o->layer_files.n || o->from_tree) {
		for (size_t i = 0; i < o->layer_files.n; i++) {
			layers = fb_xrealloc(layers, (nl + 1) * sizeof(*layers));
			layers[nl].path = fb_xstrdup(o->layer_files.v[i]);
			layers[nl++].name = fb_xstrdup(o->layer_files.v[i]);
		}
		*doc = jv_object();
		if (o->import && o->layer_files.n) {
			if (import_layers(o, &image, err) < 0)
				goto out;
			*doc = jv_object_set(*doc, jv_string("image"), jv_copy(image));
		}
	} else {
		if (jv_object_has(jv_copy(*doc), jv_string("plan")) && !jv_object_has(jv_copy(*doc), jv_string("image")) &&
		    build_plan(o, doc, err) < 0)
			goto out;
		image = jv_object_get(jv_copy(*doc), jv_string("image"));
		if (jv_get_kind(image) != JV_KIND_OBJECT) {
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "input document has no .image object (run fb-fetch image first)");
			goto out;
		}
		if (fb_json_get_str_opt(image, "store", &store, err) < 0)
			goto out;
		jv ls = jv_object_get(jv_copy(image), jv_string("layers"));
		if (jv_get_kind(ls) != JV_KIND_ARRAY) {
			jv_free(ls);
			fb_err_set(err, FB_EXIT_USAGE, "invalid", "invalid input: .image.layers must be an array");
			goto out;
		}
		const char *sdir = o->store ? o->store : store ? store : fb_store_default();
		for (int i = 0; i < jv_array_length(jv_copy(ls)); i++) {
			jv l = jv_array_get(jv_copy(ls), i);
			char *digest = NULL, *path = NULL;
			int r1 = fb_json_get_str_opt(l, "digest", &digest, err);
			int r2 = r1 < 0 ? -1 : fb_json_get_str_opt(l, "path", &path, err);
			jv_free(l);
			if (r2 < 0 || (!digest && !path)) {
				free(digest);
				free(path);
				jv_free(ls);
				if (r2 == 0)
					fb_err_set(err, FB_EXIT_USAGE, "invalid", "invalid input: .image.layers[%d] has no digest or path", i);
				goto out;
			}
			if (!path) {
				const char *colon = strchr(digest, ':');
				if (!colon || strncmp(digest, "sha256:", 7) || strspn(colon + 1, "0123456789abcdef") != 64 ||
				    colon[65]) {
					fb_err_set(err, FB_EXIT_USAGE, "invalid", "invalid layer digest %s", digest);
					free(digest);
					jv_free(ls);
					goto out;
				}
				path = fb_xasprintf("%s/blobs/sha256/%s", sdir, colon + 1);
			}
			layers = fb_xrealloc(layers, (nl + 1) * sizeof(*layers));
			layers[nl].path = path;
			layers[nl++].name = digest ? digest : fb_xstrdup(path);
		}
		jv_free(ls);
		char *chosen = fb_xstrdup(sdir); /* sdir may point into store */
		free(store);
		store = chosen;
	}

	if (o->tree) {
		/* a directory tree instead of an image */
		if (mkdir(o->tree, 0755) < 0 && errno != EEXIST) {
			fb_err_errno(err, errno, "--tree %s", o->tree);
			goto out;
		}
		for (size_t i = 0; i < nl; i++)
			if (fb_tree_apply_layer(o->tree, layers[i].path, layers[i].name, err) < 0)
				goto out;
		char real[4096];
		jv t = jv_object_set(jv_object(), jv_string("path"), jv_string(realpath(o->tree, real) ? real : o->tree));
		if (jv_is_valid(image))
			t = jv_object_set(t, jv_string("config"), fb_json_member(image, "config"));
		*doc = jv_object_set(*doc, jv_string("tree"), t);
		ret = 0;
		goto out;
	}
	uint64_t total = 0;
	if (o->from_tree) {
		char *duargv[] = { "du", "-sb", (char *)o->from_tree, NULL };
		struct fb_buf du = FB_BUF_INIT;
		int code = 0;
		if (fb_proc_run(duargv, NULL, 0, &du, NULL, &code, err) < 0 || code) {
			fb_buf_free(&du);
			if (!code)
				goto out;
			fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "--from-tree %s: not a readable directory", o->from_tree);
			goto out;
		}
		total += strtoull(fb_buf_str(&du), NULL, 10);
		fb_buf_free(&du);
	}
	for (size_t i = 0; i < nl; i++) {
		if (access(layers[i].path, R_OK) < 0) {
			fb_err_errno(err, errno, "layer %s: %s", layers[i].name, layers[i].path);
			goto out;
		}
		total += estimate_layer(layers[i].path);
	}
	if (o->output) {
		out = fb_xstrdup(o->output);
	} else {
		const char *sdir = store ? store : o->store ? o->store : fb_store_default();
		char *t = fb_xasprintf("%s/tmp", sdir);
		if (mkdir(sdir, 0755) < 0 && errno != EEXIST) {
			fb_err_errno(err, errno, "create %s", sdir);
			free(t);
			goto out;
		}
		if (mkdir(t, 0755) < 0 && errno != EEXIST) {
			fb_err_errno(err, errno, "create %s", t);
			free(t);
			goto out;
		}
		tmpdir = fb_xasprintf("%s/rootfs-XXXXXX", t);
		free(t);
		if (!mkdtemp(tmpdir)) {
			fb_err_errno(err, errno, "create a directory under %s/tmp", sdir);
			goto out;
		}
		out = fb_xasprintf("%s/rootfs.ext4", tmpdir);
	}

	/* One inode per 8 KiB of tar (an image of tiny files runs out and is
	 * retried larger); size = content + a quarter for block rounding and
	 * room to write in the VM + the journal + the inode tables. */
	uint64_t inodes = total / 8192 > 16384 ? total / 8192 : 16384;
	uint64_t size = o->disk_size ? o->disk_size : total + total / 4 + (64ULL << 20) + inodes * 256;
	size = (size + 4095) & ~4095ULL;
	if (o->disk_size && inodes < size / 16384)
		inodes = size / 16384; /* mke2fs's own ratio for a size given */
	struct fb_rootfs_stats st;
	bool counted = false;
	for (int t = 0;; t++) {
		if (build(o, layers, nl, out, size, inodes, &st, err) == 0)
			break;
		bool no_inodes = !strcmp(err->kind, "no_inodes");
		if ((!no_inodes && strcmp(err->kind, "no_space")) || t >= 2 || (o->disk_size && !no_inodes) || (no_inodes && counted))
			goto out;
		if (no_inodes) {
			/* more bytes would not help: count what the layers hold */
			struct fb_err cerr = { 0 };
			uint64_t want;
			if (inodes_needed(o, layers, nl, &want, &cerr) < 0) {
				*err = cerr;
				goto out;
			}
			counted = true;
			/* ext4 keeps at most one inode per 4 KiB block */
			uint64_t room = want * 4096 + want * 256 + (64ULL << 20);
			if (o->disk_size && room > size) {
				fb_err_set(err, FB_EXIT_FAILED, "no_inodes",
					   "the layers hold %" PRIu64 " entries: --disk-size %" PRIu64 " MiB cannot have that many inodes; give at least %" PRIu64 " MiB",
					   want, size >> 20, (room + (1 << 20) - 1) >> 20);
				goto out;
			}
			fb_log(FB_LOG_INFO, "%" PRIu64 " inodes were short; trying again with %" PRIu64, inodes, want);
			inodes = want > inodes * 2 ? want : inodes * 2;
			if (size < room)
				size = (room + 4095) & ~4095ULL;
			continue;
		}
		fb_log(FB_LOG_INFO, "the estimate of %" PRIu64 " MiB was short; trying again with twice the size", size >> 20);
		size *= 2;
		inodes *= 2;
	}
	struct stat sst;
	if (stat(out, &sst) < 0) {
		fb_err_errno(err, errno, "stat %s", out);
		goto out;
	}
	char real[4096];
	jv rfs = jv_object();
	rfs = jv_object_set(rfs, jv_string("path"), jv_string(realpath(out, real) ? real : out));
	rfs = jv_object_set(rfs, jv_string("size"), jv_number((double)sst.st_size));
	rfs = jv_object_set(rfs, jv_string("content_size"), jv_number((double)(st.used_blocks * st.block_size)));
	rfs = jv_object_set(rfs, jv_string("data_bytes"), jv_number((double)st.bytes));
	jv counts = jv_object();
	counts = jv_object_set(counts, jv_string("entries"), jv_number((double)st.entries));
	counts = jv_object_set(counts, jv_string("files"), jv_number((double)st.files));
	counts = jv_object_set(counts, jv_string("dirs"), jv_number((double)st.dirs));
	counts = jv_object_set(counts, jv_string("symlinks"), jv_number((double)st.symlinks));
	counts = jv_object_set(counts, jv_string("hardlinks"), jv_number((double)st.hardlinks));
	counts = jv_object_set(counts, jv_string("devices"), jv_number((double)st.devices));
	counts = jv_object_set(counts, jv_string("whiteouts"), jv_number((double)st.whiteouts));
	rfs = jv_object_set(rfs, jv_string("counts"), counts);
	rfs = jv_object_set(rfs, jv_string("init"), jv_bool(o->init_added));
	if (jv_is_valid(image)) {
		jv cfg = jv_object_get(jv_copy(image), jv_string("config"));
		if (jv_is_valid(cfg))
			rfs = jv_object_set(rfs, jv_string("config"), cfg);
		else
			jv_free(cfg);
	} else {
		/* bare layers (an import): the minimal config docker import makes */
		const char *plat = fb_host_platform();
		const char *arch = strchr(plat, '/') + 1;
		jv cfg = jv_object();
		cfg = jv_object_set(cfg, jv_string("architecture"), jv_string_sized(arch, (int)strcspn(arch, "/")));
		cfg = jv_object_set(cfg, jv_string("os"), jv_string("linux"));
		cfg = jv_object_set(cfg, jv_string("config"), jv_object());
		rfs = jv_object_set(rfs, jv_string("config"), cfg);
	}
	*doc = jv_object_set(*doc, jv_string("rootfs"), rfs);
	ret = 0;
out:
	if (ret < 0 && tmpdir) {
		if (out)
			unlink(out);
		rmdir(tmpdir);
	}
	if (jv_is_valid(image))
		jv_free(image);
	for (size_t i = 0; i < nl; i++) {
		free(layers[i].path);
		free(layers[i].name);
	}
	free(layers);
	free(store);
	free(out);
	free(tmpdir);
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
			if (parse_size(optarg, &o.disk_size) < 0) {
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
	jv doc = jv_invalid();
	if (!o.layer_files.n && !o.from_tree) {
		if (fb_json_read_fd(0, &doc, &err) < 0) {
			rc = fb_tool_fail(&err);
			goto finish;
		}
		if (fb_json_is_error_doc(doc)) {
			rc = fb_tool_pass_error(doc);
			doc = jv_invalid();
			goto finish;
		}
		/* .plan, .source and .image, checked once (lib/shape) */
		if (fb_shape_rootfs_input(doc, &err) < 0) {
			rc = fb_tool_fail(&err);
			goto finish;
		}
	}
	if (run(&o, &doc, &err) < 0) {
		rc = fb_tool_fail(&err);
		goto finish;
	}
	rc = fb_tool_finish(doc);
	doc = jv_invalid();
finish:
	if (jv_is_valid(doc))
		jv_free(doc);
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
