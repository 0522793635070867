/* lib/oci: manifests, indexes, image configs and docker save's
 * manifest.json, decoded and encoded by their codec. */
#include <string.h>

#include "doc.h"
#include "err.h"
#include "oci.h"
#include "tap.h"
#include "util.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int decode_manifest(const char *text, struct fb_oci_manifest *m, struct fb_err *err)
{
	return fb_oci_manifest_decode(text, strlen(text), m, err);
}

static int manifests(void)
{
	struct fb_oci_manifest m;
	struct fb_err err = { 0 };
	const char *ok = "{\"schemaVersion\":2,\"mediaType\":\"" FB_MT_DOCKER_MANIFEST "\",\"config\":{\"mediaType\":\"c\",\"digest\":\"" D1
			 "\",\"size\":10},\"layers\":[{\"digest\":\"" D2 "\",\"size\":20},{\"mediaType\":\"l\",\"digest\":\"" D3
			 "\",\"size\":30,\"urls\":[]}]}";
	TAP_CHECK(decode_manifest(ok, &m, &err) == 0);
	TAP_STREQ(m.media_type, FB_MT_DOCKER_MANIFEST);
	TAP_STREQ(m.config.digest, D1);
	TAP_CHECK(m.config.size == 10 && m.nlayers == 2);
	TAP_CHECK(m.layers[0].media_type == NULL && m.layers[0].size == 20);
	TAP_STREQ(m.layers[1].media_type, "l");
	/* written again: what the codec knows, in its order */
	char *text = fb_oci_manifest_encode(&m);
	TAP_STREQ(text, "{\"schemaVersion\":2,\"mediaType\":\"" FB_MT_DOCKER_MANIFEST "\",\"config\":{\"mediaType\":\"c\",\"digest\":\"" D1
			"\",\"size\":10},\"layers\":[{\"digest\":\"" D2 "\",\"size\":20},{\"mediaType\":\"l\",\"digest\":\"" D3
			"\",\"size\":30}]}");
	free(text);
	fb_oci_manifest_free(&m);
	return 0;
}

static const struct {
	const char *text, *msg;
} bad_manifests[] = {
	{ "{\"schemaVersion\":1}", "unsupported manifest schemaVersion 1 (Docker schema 1 is not supported)" },
	{ "[]", "unsupported manifest schemaVersion 0 (Docker schema 1 is not supported)" },
	{ "{\"schemaVersion\":\"2\"}", ".schemaVersion: expected an integer, got string" },
	{ "{\"schemaVersion\":2,\"layers\":[]}", "config: the input document: expected an object, got null" },
	{ "{\"schemaVersion\":2,\"config\":{\"size\":1},\"layers\":[]}", "config: .digest: missing (expected a string)" },
	{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:x\",\"size\":1},\"layers\":[]}", "config has an unsupported digest md5:x" },
	{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\"},\"layers\":[]}", "config " D1 " has no size" },
	{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1}}", "the manifest has no layers list" },
	{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"digest\":\"" D2 "\",\"size\":-3}]}",
	  "layer " D2 " has no size" },
	{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[7]}",
	  "layer: the input document: expected an object, got number" },
	{ "{\"schemaVersion\":2", "malformed JSON input: Unfinished JSON term at EOF at line 1, column 19" },
};

static int manifests_refused(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(bad_manifests); i++) {
		struct fb_oci_manifest m;
		struct fb_err err = { 0 };
		if (decode_manifest(bad_manifests[i].text, &m, &err) == 0)
			return tap_fail("%s: taken", bad_manifests[i].text);
		if (strcmp(err.msg, bad_manifests[i].msg))
			return tap_fail("%s: '%s', want '%s'", bad_manifests[i].text, err.msg, bad_manifests[i].msg);
	}
	return 0;
}

static const char index_text[] =
	"{\"schemaVersion\":2,\"manifests\":["
	"{\"digest\":\"" D1 "\",\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"digest\":\"" D2 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	"{\"digest\":\"" D3 "\",\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
	"7,"
	"{\"digest\":\"" D3 "\",\"annotations\":{\"" FB_OCI_REF_NAME "\":\"v1\"}}]}";

static const struct {
	const char *want, *got;
} picks[] = {
	{ "linux/amd64", D1 },
	{ "linux/arm64", D2 },     /* arm64 is arm64/v8 */
	{ "linux/arm64/v8", D2 },
	{ "linux/s390x", NULL },
};

static int indexes(void)
{
	struct fb_oci_index x;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_oci_index_decode(index_text, strlen(index_text), &x, &err) == 0);
	TAP_CHECK(x.listed && x.n == 4); /* the entry that is no object is dropped */
	TAP_STREQ(x.manifests[1].platform, "linux/arm64/v8");
	TAP_STREQ(x.manifests[3].ref_name, "v1");
	TAP_CHECK(x.manifests[0].size == 5 && x.manifests[1].size == -1);
	for (size_t i = 0; i < FB_ARRAY_LEN(picks); i++) {
		const struct fb_oci_desc *d = NULL;
		struct fb_err e2 = { 0 };
		int r = fb_oci_pick_platform(&x, picks[i].want, &d, &e2);
		if (picks[i].got) {
			TAP_CHECK(r == 0);
			TAP_STREQ(d->digest, picks[i].got);
		} else {
			TAP_CHECK(r < 0 && e2.code == FB_EXIT_NOTFOUND);
			TAP_STREQ(e2.msg, "no manifest for linux/s390x in the image index (it has: linux/amd64, linux/arm64/v8)");
		}
	}
	/* the store's index.json: entries kept as read, one added */
	fb_oci_index_add(&x, FB_MT_OCI_MANIFEST, D1, 9, "name:1");
	char *text = fb_oci_index_encode(&x);
	struct fb_oci_index y;
	TAP_CHECK(fb_oci_index_decode(text, strlen(text), &y, &err) == 0);
	TAP_CHECK(y.n == 5 && y.manifests[4].size == 9);
	TAP_STREQ(y.manifests[4].ref_name, "name:1");
	TAP_STREQ(y.manifests[1].platform, "linux/arm64/v8");
	TAP_CHECK(strstr(text, "\"schemaVersion\":2") != NULL);
	free(text);
	fb_oci_index_free(&y);
	fb_oci_index_free(&x);
	/* no manifests list: said, not an error */
	TAP_CHECK(fb_oci_index_decode("{}", 2, &x, &err) == 0 && !x.listed && x.n == 0);
	fb_oci_index_free(&x);
	return 0;
}

static const struct {
	const char *text, *mt;
} media_types[] = {
	{ "{\"mediaType\":\"x\",\"layers\":[]}", "x" },
	{ "{\"manifests\":[]}", FB_MT_OCI_INDEX },
	{ "{\"layers\":[]}", FB_MT_OCI_MANIFEST },
	{ "{\"config\":{}}", "" },
	{ "[1]", "" },
	{ "not json", "" },
};

static int media_type_by_shape(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(media_types); i++) {
		char *mt = fb_oci_media_type_of(media_types[i].text, strlen(media_types[i].text));
		bool ok = !strcmp(mt, media_types[i].mt);
		free(mt);
		if (!ok)
			return tap_fail("%s", media_types[i].text);
	}
	TAP_CHECK(fb_oci_is_index(FB_MT_DOCKER_LIST) && !fb_oci_is_index(FB_MT_OCI_MANIFEST));
	TAP_CHECK(fb_oci_is_manifest(FB_MT_DOCKER_MANIFEST) && !fb_oci_is_manifest(NULL));
	return 0;
}

static const char config_text[] =
	"{\"created\":\"2026-01-01T00:00:00Z\",\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\","
	"\"docker_version\":\"25\",\"config\":{\"Env\":[\"PATH=/bin\",\"A=1\",\"A=2\"],\"Cmd\":[\"sh\"],\"Hostname\":\"h\","
	"\"Labels\":{\"k\":\"v\",\"n\":5},\"ExposedPorts\":{\"80/tcp\":{}},\"OnBuild\":[\"RUN x\",7],\"Healthcheck\":"
	"{\"Test\":[\"NONE\"],\"Interval\":30000000000}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",5]},"
	"\"history\":[{\"created_by\":\"x\",\"empty_layer\":true,\"extra\":1},3]}";

static int configs(void)
{
	struct fb_oci_config c;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_oci_config_decode(config_text, strlen(config_text), &c, &err) == 0);
	char *plat = fb_oci_config_platform(&c);
	TAP_STREQ(plat, "linux/arm/v7");
	free(plat);
	TAP_STREQ(fb_oci_env_get(&c, "A"), "1");
	TAP_CHECK(fb_oci_env_get(&c, "B") == NULL);
	TAP_CHECK(c.labels.keys.n == 1);     /* a value of another kind is dropped */
	TAP_CHECK(c.onbuild.v.n == 1 && c.onbuild_bad == 1);
	TAP_CHECK(c.diff_ids.v.n == 2 && !strcmp(c.diff_ids.v.v[1], ""));
	TAP_CHECK(c.nhistory == 1 && c.history[0].empty_layer);
	TAP_CHECK(c.health.set && c.health.interval == 30000000000LL && c.health.timeout == -1);
	/* the builder's updates; what it does not know stays */
	fb_oci_env_set(&c, "A", "3");
	fb_oci_map_set(&c.labels, "k", "w");
	fb_oci_strv_clear(&c.cmd);
	struct fb_oci_config copy;
	fb_oci_config_copy(&copy, &c);
	fb_oci_config_free(&c);
	char *text = fb_oci_config_encode(&copy);
	TAP_STREQ(text, "{\"created\":\"2026-01-01T00:00:00Z\",\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\","
			"\"config\":{\"ExposedPorts\":{\"80/tcp\":{}},\"Env\":[\"PATH=/bin\",\"A=3\"],\"Labels\":{\"k\":\"w\"},"
			"\"Healthcheck\":{\"Test\":[\"NONE\"],\"Interval\":30000000000},\"OnBuild\":[\"RUN x\"],\"Hostname\":\"h\"},"
			"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"\"]},"
			"\"history\":[{\"created_by\":\"x\",\"empty_layer\":true,\"extra\":1}],\"docker_version\":\"25\"}");
	free(text);
	fb_oci_config_free(&copy);
	/* only what is no object is refused */
	TAP_CHECK(fb_oci_config_decode("[]", 2, &c, &err) < 0);
	TAP_STREQ(err.msg, "the input document: expected an object, got array");
	return 0;
}

static int docker_archives(void)
{
	struct fb_docker_archive a;
	struct fb_err err = { 0 };
	const char *t = "[{\"Config\":\"c.json\",\"RepoTags\":[\"a:1\",5],\"Layers\":[\"l1.tar\",\"l2.tar\"]},{\"Layers\":[1]}]";
	TAP_CHECK(fb_docker_archive_decode(t, strlen(t), &a, &err) == 0);
	TAP_CHECK(a.n == 2 && !a.images[0].error && a.images[0].repo_tags.n == 1 && a.images[0].layers.n == 2);
	TAP_STREQ(a.images[0].config, "c.json");
	TAP_STREQ(a.images[1].error, ".Config: missing (expected a string)");
	fb_docker_archive_free(&a);
	TAP_CHECK(fb_docker_archive_decode("{}", 2, &a, &err) < 0);
	TAP_STREQ(err.msg, "manifest.json is not a list of images");
	TAP_CHECK(fb_docker_archive_decode("[", 1, &a, &err) < 0 && !strncmp(err.msg, "manifest.json: malformed JSON", 29));
	return 0;
}

static int references_for_gc(void)
{
	struct fb_strv blobs = FB_STRV_INIT, children = FB_STRV_INIT;
	const char *m = "{\"config\":{\"digest\":\"" D1 "\"},\"layers\":[{\"digest\":\"" D2 "\"},{\"digest\":5}],\"manifests\":[{\"digest\":\"" D3
			"\"},\"x\"]}";
	fb_oci_refs(m, strlen(m), &blobs, &children);
	TAP_CHECK(blobs.n == 2 && children.n == 1);
	TAP_STREQ(blobs.v[0], D1);
	TAP_STREQ(children.v[0], D3);
	fb_oci_refs("nope", 4, &blobs, &children);
	TAP_CHECK(blobs.n == 2);
	fb_strv_free(&blobs);
	fb_strv_free(&children);
	return 0;
}

static const struct tap_case cases[] = {
	{ "manifests: decoded, checked, written again", manifests },
	{ "manifests refused, with the member named", manifests_refused },
	{ "indexes: entries, platforms picked, the store's index written again", indexes },
	{ "a blob's media type, or its shape's", media_type_by_shape },
	{ "image configs: read leniently, updated, unknown members kept", configs },
	{ "docker save's manifest.json", docker_archives },
	{ "what a manifest or an index refers to (gc)", references_for_gc },
};

TAP_MAIN(cases)
