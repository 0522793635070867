/* The codecs of the build path's documents (NAME_doc.c): .image, .source,
 * .rootfs and .tree, fb-tag's image.json and outputs, .build.steps, the
 * registry's JSON. Each written and read back; each reader's checks name
 * the member at fault. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "doc.h"
#include "err.h"
#include "image.h"
#include "oci.h"
#include "registry.h"
#include "rootfs.h"
#include "source.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static struct fb_doc *doc_of(const char *text)
{
	struct fb_doc *d = NULL;
	struct fb_err err = { 0 };
	if (fb_doc_parse(text, strlen(text), &d, &err) < 0)
		printf("# %s: %s\n", text, err.msg);
	return d;
}

/* member key of d, as one line of JSON */
static char *member(const struct fb_doc *d, const char *key)
{
	struct fb_doc *one = fb_doc_new();
	fb_doc_copy_member(one, d, key);
	char *s = fb_doc_dump(one, false);
	fb_doc_free(one);
	return s;
}

static int image_written_and_read(void)
{
	struct fb_oci_config cfg;
	struct fb_err err = { 0 };
	const char *ct = "{\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"]}}";
	TAP_CHECK(fb_oci_config_decode(ct, strlen(ct), &cfg, &err) == 0);
	struct fb_image img = { .ref = "r", .name = "n", .digest = D1, .media_type = FB_MT_OCI_MANIFEST, .platform = "linux/amd64",
				.config_digest = D2, .config = &cfg, .store = "/s" };
	struct fb_oci_desc l = { .digest = D2, .size = 3, .media_type = FB_MT_OCI_LAYER };
	img.layers = &l;
	img.nlayers = 1;
	struct fb_doc *d = fb_doc_new();
	fb_image_doc_set(d, &img);
	char *s = member(d, "image");
	TAP_STREQ(s, "{\"image\":{\"ref\":\"r\",\"name\":\"n\",\"digest\":\"" D1 "\",\"media_type\":\"" FB_MT_OCI_MANIFEST
		     "\",\"platform\":\"linux/amd64\",\"config_digest\":\"" D2 "\",\"config\":{\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"]}},"
		     "\"layers\":[{\"digest\":\"" D2 "\",\"size\":3,\"mediaType\":\"" FB_MT_OCI_LAYER "\"}],\"store\":\"/s\"}}");
	free(s);
	fb_oci_config_free(&cfg);
	struct fb_image back;
	bool present;
	TAP_CHECK(fb_image_from_doc(d, FB_IMAGE_FOR_ROOTFS, &back, &present, &err) == 0 && present);
	TAP_STREQ(back.config_digest, D2);
	TAP_STREQ(fb_oci_env_get(back.config, "A"), "1");
	TAP_CHECK(back.nlayers == 1 && back.layers[0].size == 3);
	fb_image_free(&back);
	fb_doc_free(d);
	/* .images of fb-fetch's plan mode */
	d = fb_doc_new();
	char *refs[] = { "a:1" };
	struct fb_image one = { .ref = "a:1" };
	fb_images_doc_set(d, refs, &one, 1);
	s = member(d, "images");
	TAP_STREQ(s, "{\"images\":{\"a:1\":{\"ref\":\"a:1\",\"layers\":[]}}}");
	free(s);
	fb_doc_free(d);
	return 0;
}

static const struct {
	enum fb_image_use use;
	const char *doc, *msg; /* msg NULL: taken */
} image_checks[] = {
	{ FB_IMAGE_FOR_ROOTFS, "{\"image\":[]}", ".image: expected an object or null, got array" },
	{ FB_IMAGE_FOR_ROOTFS, "{\"image\":{}}", ".image.layers: missing (expected an array)" },
	{ FB_IMAGE_FOR_ROOTFS, "{\"image\":{\"layers\":[{}]}}", ".image.layers[0]: expected .digest or .path (a string)" },
	{ FB_IMAGE_FOR_ROOTFS, "{\"image\":{\"layers\":[{\"path\":\"/l.tar\"}],\"store\":1}}",
	  ".image.store: expected a string or null, got number" },
	{ FB_IMAGE_FOR_ROOTFS, "{\"image\":{\"layers\":[{\"path\":\"/l.tar\"}],\"config\":null}}", NULL },
	{ FB_IMAGE_FOR_ROOTFS, "{\"image\":null}", NULL },
	{ FB_IMAGE_FOR_PUT, "{\"image\":{}}", NULL },
	{ FB_IMAGE_FOR_PUT, "{\"image\":{\"layers\":[{}]}}", NULL },
	{ FB_IMAGE_FOR_PUT, "{\"image\":{\"layers\":[7]}}", ".image.layers[0]: expected an object, got number" },
	{ FB_IMAGE_FOR_PUT, "{\"image\":{\"layers\":[{\"digest\":[]}]}}", ".image.layers[0].digest: expected a string or null, got array" },
};

static int image_checked(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(image_checks); i++) {
		struct fb_doc *d = doc_of(image_checks[i].doc);
		TAP_CHECK(d);
		struct fb_image img;
		bool present;
		struct fb_err err = { 0 };
		int r = fb_image_from_doc(d, image_checks[i].use, &img, &present, &err);
		fb_doc_free(d);
		fb_image_free(&img);
		if (image_checks[i].msg ? r == 0 || strcmp(err.msg, image_checks[i].msg) : r < 0)
			return tap_fail("%s: %d '%s'", image_checks[i].doc, r, err.msg);
	}
	return 0;
}

static const struct {
	enum fb_source_use use;
	const char *doc, *msg;
} source_checks[] = {
	{ FB_SOURCE_FOR_PARSE, "{}", ".source: missing (expected an object)" },
	{ FB_SOURCE_FOR_PARSE, "{\"source\":null}", ".source: expected an object, got null" },
	{ FB_SOURCE_FOR_PARSE, "{\"source\":{\"dockerfile\":[]}}", ".source.dockerfile: expected a string, got array" },
	{ FB_SOURCE_FOR_PARSE, "{\"source\":{\"dockerfile\":\"/x\",\"target\":1}}", ".source.target: expected a string or null, got number" },
	{ FB_SOURCE_FOR_PARSE, "{\"source\":{\"dockerfile\":\"/x\"}}", NULL },
	{ FB_SOURCE_FOR_BUILD, "{}", NULL },
	{ FB_SOURCE_FOR_BUILD, "{\"source\":{\"context\":5}}", ".source.context: expected a string or null, got number" },
	{ FB_SOURCE_FOR_BUILD, "{\"source\":{\"temporary\":\"/etc\"}}",
	  ".source.temporary: expected a directory RUN-CACHE/sources/src-XXXXXX (fb-fetch source's)" },
	{ FB_SOURCE_FOR_BUILD, "{\"source\":{\"temporary\":\"/rc/sources/../src-abcdef\"}}",
	  ".source.temporary: expected a directory RUN-CACHE/sources/src-XXXXXX (fb-fetch source's)" },
	{ FB_SOURCE_FOR_BUILD, "{\"source\":{\"temporary\":\"/rc/sources/src-abcdef\",\"dockerignore\":[\"*.o\"]}}", NULL },
	{ FB_SOURCE_FOR_BUILD, "{\"source\":{\"dockerignore\":[1]}}", ".source.dockerignore[0]: expected a string, got number" },
};

static int source_checked(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(source_checks); i++) {
		struct fb_doc *d = doc_of(source_checks[i].doc);
		TAP_CHECK(d);
		struct fb_source s;
		bool present;
		struct fb_err err = { 0 };
		int r = fb_source_from_doc(d, source_checks[i].use, &s, &present, &err);
		fb_doc_free(d);
		fb_source_free(&s);
		if (source_checks[i].msg ? r == 0 || strcmp(err.msg, source_checks[i].msg) : r < 0)
			return tap_fail("%s: %d '%s'", source_checks[i].doc, r, err.msg);
	}
	/* written and read back */
	struct fb_source s = { .kind = "git", .dockerfile = "/d/Dockerfile", .context = "/d", .url = "git://h/r", .has_ref = true,
			       .commit = "abc", .temporary = "/rc/sources/src-abcdef", .has_dockerignore = true };
	fb_strv_push(&s.dockerignore, "*.log");
	struct fb_doc *d = fb_doc_new();
	fb_source_doc_set(d, &s);
	fb_strv_free(&s.dockerignore);
	char *t = member(d, "source");
	TAP_STREQ(t, "{\"source\":{\"kind\":\"git\",\"temporary\":\"/rc/sources/src-abcdef\",\"dockerfile\":\"/d/Dockerfile\","
		     "\"context\":\"/d\",\"url\":\"git://h/r\",\"ref\":null,\"commit\":\"abc\",\"dockerignore\":[\"*.log\"]}}");
	free(t);
	struct fb_source back;
	bool present;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_source_from_doc(d, FB_SOURCE_FOR_BUILD, &back, &present, &err) == 0 && present);
	TAP_CHECK(back.has_ref && !back.ref && back.dockerignore.n == 1);
	TAP_STREQ(back.commit, "abc");
	fb_source_free(&back);
	fb_doc_free(d);
	return 0;
}

static int rootfs_and_tree(void)
{
	struct fb_rootfs_doc r = { .path = "/s/tmp/rootfs-x/rootfs.ext4", .size = 4096, .has_stats = true, .has_init = true,
				   .init = true };
	r.stats = (struct fb_rootfs_stats){ .entries = 5, .files = 2, .dirs = 3, .bytes = 10, .used_blocks = 2, .block_size = 4096 };
	struct fb_doc *d = fb_doc_new();
	fb_rootfs_doc_set(d, &r);
	char *t = member(d, "rootfs");
	TAP_STREQ(t, "{\"rootfs\":{\"path\":\"/s/tmp/rootfs-x/rootfs.ext4\",\"size\":4096,\"content_size\":8192,\"data_bytes\":10,"
		     "\"counts\":{\"entries\":5,\"files\":2,\"dirs\":3,\"symlinks\":0,\"hardlinks\":0,\"devices\":0,\"whiteouts\":0},"
		     "\"init\":true}}");
	free(t);
	struct fb_rootfs_doc back;
	bool present;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_rootfs_from_doc(d, &back, &present, &err) == 0 && present);
	TAP_CHECK(back.content_size == 8192 && back.has_init && back.init && !back.config);
	fb_rootfs_doc_free(&back);
	/* fb-tag put moves it: the path changes, the rest stays */
	fb_rootfs_doc_set_path(d, "/s/rootfs/a/1/rootfs.ext4");
	t = member(d, "rootfs");
	TAP_CHECK(strstr(t, "\"path\":\"/s/rootfs/a/1/rootfs.ext4\"") && strstr(t, "\"counts\""));
	free(t);
	fb_doc_free(d);
	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{ "{\"rootfs\":5}", ".rootfs: expected an object, got number" },
		{ "{\"rootfs\":null}", ".rootfs: expected an object, got null" },
		{ "{\"rootfs\":{}}", ".rootfs.path: missing (expected a string)" },
		{ "{\"rootfs\":{\"path\":5}}", ".rootfs.path: expected a string, got number" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		d = doc_of(bad[i].doc);
		int rc = fb_rootfs_from_doc(d, &back, &present, &err);
		fb_doc_free(d);
		fb_rootfs_doc_free(&back);
		if (rc == 0 || strcmp(err.msg, bad[i].msg))
			return tap_fail("%s: '%s'", bad[i].doc, err.msg);
	}
	d = fb_doc_new();
	TAP_CHECK(fb_rootfs_from_doc(d, &back, &present, &err) == 0 && !present);
	fb_tree_doc_set(d, "/t", true, NULL);
	t = member(d, "tree");
	TAP_STREQ(t, "{\"tree\":{\"path\":\"/t\",\"config\":null}}");
	free(t);
	fb_doc_free(d);
	return 0;
}

/* a file's sha256 as sha256sum prints it (image.json's rootfs_sha256) */
#define H1 "2222222222222222222222222222222222222222222222222222222222222222"

static int tag_documents(void)
{
	char dir[] = "/tmp/test_codecs.XXXXXX";
	TAP_CHECK(mkdtemp(dir));
	char *p = fb_xasprintf("%s/image.json", dir);
	struct fb_tag_meta m = { .name = "acme/a", .version = "1", .created = "2026-01-01T00:00:00Z", .size = 10,
				 .content_size = -1, .from_image = true, .digest = D1, .rootfs_sha256 = H1 };
	fb_strv_push(&m.blobs, D1);
	struct fb_err err = { 0 };
	TAP_CHECK(fb_tag_meta_save(p, &m, &err) == 0);
	fb_strv_free(&m.blobs);
	struct fb_tag_meta back;
	TAP_CHECK(fb_tag_meta_load(p, &back, &err) == 0);
	TAP_CHECK(back.from_image && back.size == 10 && back.content_size == -1 && back.blobs.n == 1 && !back.source);
	TAP_STREQ(back.digest, D1);
	TAP_STREQ(back.rootfs_sha256, H1);
	TAP_CHECK(back.config && !back.config->has_config); /* {} */
	/* get's .image, read back by the tools after fb-tag get */
	struct fb_doc *d = fb_doc_new();
	fb_tag_image_doc_set(d, &back, "/s/rootfs/acme/a/1/rootfs.ext4", "/s");
	char *t = member(d, "image");
	TAP_STREQ(t, "{\"image\":{\"name\":\"acme/a\",\"version\":\"1\",\"rootfs\":\"/s/rootfs/acme/a/1/rootfs.ext4\",\"config\":{},"
		     "\"digest\":\"" D1 "\",\"created\":\"2026-01-01T00:00:00Z\",\"size\":10,\"source\":null,\"platform\":null,"
		     "\"store\":\"/s\",\"rootfs_sha256\":\"" H1 "\"}}");
	free(t);
	struct fb_tag_meta again;
	char *rootfs, *store;
	TAP_CHECK(fb_tag_image_from_doc(d, &again, &rootfs, &store, &err) == 0);
	TAP_STREQ(rootfs, "/s/rootfs/acme/a/1/rootfs.ext4");
	TAP_STREQ(again.version, "1");
	TAP_STREQ(again.rootfs_sha256, H1);
	free(rootfs);
	free(store);
	fb_tag_meta_free(&again);
	fb_doc_free(d);
	/* ls, rm, put's .tag, gc */
	d = fb_doc_new();
	fb_tag_list_doc_set(d, &back, 1);
	fb_tag_removed_doc_set(d, "acme/a", "1");
	fb_tag_doc_set(d, &back, "/s/rootfs/acme/a/1");
	struct fb_gc_stats st = { 1, 2, 3, 4, 5, 6 };
	fb_gc_doc_set(d, &st);
	t = fb_doc_dump(d, false);
	TAP_STREQ(t, "{\"images\":[{\"name\":\"acme/a\",\"version\":\"1\",\"created\":\"2026-01-01T00:00:00Z\",\"size\":10,"
		     "\"source\":null,\"digest\":\"" D1 "\"}],\"removed\":\"acme/a:1\",\"tag\":{\"name\":\"acme/a\",\"version\":\"1\","
		     "\"path\":\"/s/rootfs/acme/a/1\",\"created\":\"2026-01-01T00:00:00Z\",\"rootfs_sha256\":\"" H1 "\"},\"gc\":{\"images_dropped\":1,"
		     "\"blobs_removed\":2,\"blobs_kept\":3,\"bytes_freed\":4,\"tmp_removed\":5,\"cache_entries_removed\":6}}");
	free(t);
	fb_doc_free(d);
	fb_tag_meta_free(&back);
	/* a file of another kind: read as found */
	struct fb_err e2 = { 0 };
	const char *odd = "{\"size\":\"big\",\"blobs\":[1,\"" D2 "\"],\"config\":7}";
	TAP_CHECK(fb_write_file_atomic(p, odd, strlen(odd), 0644, &e2) == 0);
	TAP_CHECK(fb_tag_meta_load(p, &back, &err) == 0);
	TAP_CHECK(back.size == -1 && back.blobs.n == 1 && !back.config && !back.from_image);
	fb_tag_meta_free(&back);
	unlink(p);
	rmdir(dir);
	free(p);
	return 0;
}

static int build_steps(void)
{
	struct fb_build_steps s = { 0 };
	s.v = fb_xcalloc(2, sizeof(*s.v));
	s.n = 2;
	s.v[0] = (struct fb_build_step){ .stage = 0, .line = 2, .instruction = fb_xstrdup("RUN true"), .status = "cached",
					 .seconds = 0.5, .layer = fb_xstrdup(D2) };
	snprintf(s.v[0].key, sizeof(s.v[0].key), "%s", D1);
	s.v[1] = (struct fb_build_step){ .stage = 1, .line = 3, .status = "metadata" };
	snprintf(s.v[1].key, sizeof(s.v[1].key), "%s", D2);
	struct fb_doc *d = fb_doc_new();
	fb_build_doc_set(d, &s);
	fb_build_steps_free(&s);
	char *t = fb_doc_dump(d, false);
	TAP_STREQ(t, "{\"build\":{\"steps\":[{\"stage\":0,\"line\":2,\"instruction\":\"RUN true\",\"status\":\"cached\",\"seconds\":0.5,"
		     "\"key\":\"" D1 "\",\"layer\":\"" D2 "\"},{\"stage\":1,\"line\":3,\"instruction\":null,\"status\":\"metadata\","
		     "\"seconds\":0,\"key\":\"" D2 "\",\"layer\":null}]}}");
	free(t);
	fb_doc_free(d);
	return 0;
}

static const struct {
	const char *text, *auth;
	int rc;
} configs[] = {
	{ "{\"auths\":{\"reg:5000\":{\"auth\":\"dTpw\"}}}", "dTpw", 0 },
	{ "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnB3\"}}}", "aHViOnB3", 0 },
	{ "{\"auths\":{\"reg:5000\":{\"auth\":5}}}", NULL, 0 },
	{ "{\"auths\":[]}", NULL, 0 },
	{ "[]", NULL, 0 },
	{ "{", NULL, -1 },
};

static int registry_documents(void)
{
	const char *keys[] = { "reg:5000", "https://index.docker.io/v1/" };
	for (size_t i = 0; i < FB_ARRAY_LEN(configs); i++) {
		char *auth = NULL;
		struct fb_err err = { 0 };
		int r = fb_registry_config_auth(configs[i].text, strlen(configs[i].text), keys, 2, &auth, &err);
		bool ok = r == configs[i].rc && (configs[i].auth ? auth && !strcmp(auth, configs[i].auth) : !auth);
		free(auth);
		if (!ok)
			return tap_fail("%s", configs[i].text);
	}
	char *tok;
	int64_t exp;
	struct fb_err err = { 0 };
	const char *tt = "{\"access_token\":\"t\",\"expires_in\":300}";
	TAP_CHECK(fb_registry_token_decode(tt, strlen(tt), &tok, &exp, &err) == 0);
	TAP_STREQ(tok, "t");
	TAP_CHECK(exp == 300);
	free(tok);
	TAP_CHECK(fb_registry_token_decode("{\"token\":5}", 11, &tok, &exp, &err) == 0 && !tok && exp == 0);
	return 0;
}

static const struct tap_case cases[] = {
	{ ".image written and read back", image_written_and_read },
	{ ".image checked as fb-mkrootfs and fb-tag put read it", image_checked },
	{ ".source checked as fb-parse and the builder read it; written and read back", source_checked },
	{ ".rootfs and .tree", rootfs_and_tree },
	{ "fb-tag: image.json, get's .image, ls, rm, put's .tag, gc", tag_documents },
	{ ".build.steps", build_steps },
	{ "the registry's JSON: config.json credentials, tokens", registry_documents },
};

TAP_MAIN(cases)
