/* lib/image/push_doc: what a push reads (.image, manifests, a registry's
 * errors, upload records, index.json) and writes (.push, a manifest in
 * the other format). */
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "err.h"
#include "push.h"
#include "util.h"
#include "tap.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char oci_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":10},"
	"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":20,"
	"\"annotations\":{\"a\":\"b\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D3 "\",\"size\":30}],"
	"\"annotations\":{\"org.opencontainers.image.created\":\"x\"}}";

static int manifest_decode(void)
{
	struct fb_err err = { 0 };
	struct fb_push_manifest m;
	TAP_CHECK(fb_push_manifest_decode(oci_manifest, strlen(oci_manifest), &m, &err) == 0);
	TAP_STREQ(m.media_type, "application/vnd.oci.image.manifest.v1+json");
	TAP_STREQ(m.config.digest, D1);
	TAP_CHECK(m.config.size == 10 && m.nlayers == 2);
	TAP_STREQ(m.layers[1].digest, D3);
	TAP_CHECK(m.layers[1].size == 30);
	fb_push_manifest_free(&m);
	/* no mediaType of its own: a Docker config makes it Docker schema 2 */
	const char *dm = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
			 "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}";
	TAP_CHECK(fb_push_manifest_decode(dm, strlen(dm), &m, &err) == 0);
	TAP_STREQ(m.media_type, "application/vnd.docker.distribution.manifest.v2+json");
	TAP_CHECK(m.nlayers == 0);
	fb_push_manifest_free(&m);
	return 0;
}

static int manifest_refused(void)
{
	static const char *const bad[][2] = {
		{ "[]", "the manifest: expected an object, got array" },
		{ "{\"schemaVersion\":1}", ".schemaVersion: 1, not 2" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}",
		  ".layers: expected an array, got object" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha512:ab\",\"size\":1},\"layers\":[]}",
		  ".config.digest: not a sha256 digest" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\"},\"layers\":[]}", ".config.size: missing or negative" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"digest\":\"" D2
		  "\",\"size\":-4}]}",
		  ".layers[0].size: missing or negative" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"digest\":5,\"size\":4}]}",
		  ".layers[0].digest: expected a string, got number" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"config\":{\"digest\":\"" D1
		  "\",\"size\":1},\"layers\":[]}",
		  ".mediaType: application/vnd.oci.image.index.v1+json is not an image manifest" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_err err = { 0 };
		struct fb_push_manifest m;
		if (fb_push_manifest_decode(bad[i][0], strlen(bad[i][0]), &m, &err) != -1)
			return tap_fail("case %zu decoded", i);
		TAP_CHECK(err.code == FB_EXIT_USAGE);
		TAP_STREQ(err.msg, bad[i][1]);
	}
	return 0;
}

static int convert_both_ways(void)
{
	struct fb_err err = { 0 };
	char *docker = NULL, *back = NULL;
	TAP_CHECK(fb_push_manifest_convert(oci_manifest, strlen(oci_manifest), FB_PUSH_DOCKER, &docker, &err) == 0);
	/* types mapped, annotations dropped, digests and sizes kept */
	TAP_CHECK(strstr(docker, "\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\""));
	TAP_CHECK(strstr(docker, "application/vnd.docker.container.image.v1+json"));
	TAP_CHECK(strstr(docker, "\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" D2));
	TAP_CHECK(strstr(docker, "\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar\",\"digest\":\"" D3));
	TAP_CHECK(!strstr(docker, "annotations") && !strstr(docker, "oci"));
	struct fb_push_manifest m;
	TAP_CHECK(fb_push_manifest_decode(docker, strlen(docker), &m, &err) == 0);
	TAP_CHECK(m.nlayers == 2 && m.layers[0].size == 20);
	fb_push_manifest_free(&m);
	TAP_CHECK(fb_push_manifest_convert(docker, strlen(docker), FB_PUSH_OCI, &back, &err) == 0);
	TAP_CHECK(strstr(back, "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\""));
	TAP_CHECK(strstr(back, "application/vnd.oci.image.layer.v1.tar+gzip") && !strstr(back, "docker"));
	free(docker);
	free(back);
	/* zstd has no Docker type: the layer is named */
	const char *z = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"mediaType\":"
			"\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":2},{\"mediaType\":"
			"\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D3 "\",\"size\":3}]}";
	char *out = NULL;
	TAP_CHECK(fb_push_manifest_convert(z, strlen(z), FB_PUSH_DOCKER, &out, &err) == -1 && !out);
	TAP_CHECK(err.code == FB_EXIT_USAGE);
	TAP_CHECK(!strncmp(err.msg, ".layers[1]: media type application/vnd.oci.image.layer.v1.tar+zstd has no equivalent", 84));
	return 0;
}

static int registry_errors(void)
{
	const char *e = "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"provided digest did not match\"},"
			"{\"code\":\"X\",\"message\":\"line\\nbreak\"}]}";
	char *s = fb_push_registry_errors(e, strlen(e));
	TAP_STREQ(s, "DIGEST_INVALID: provided digest did not match; X: line break");
	free(s);
	TAP_CHECK(fb_push_registry_errors("", 0) == NULL);
	TAP_CHECK(fb_push_registry_errors("<html>", 6) == NULL);
	TAP_CHECK(fb_push_registry_errors("{\"errors\":3}", 12) == NULL);
	return 0;
}

static int upload_record(void)
{
	struct fb_push_upload u = { "r:5000", "a/b", D1, "http://r:5000/v2/a/b/blobs/uploads/x?_state=y", 1024, 4096 };
	char *t = fb_push_upload_encode(&u);
	struct fb_push_upload back;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_push_upload_decode(t, strlen(t), &back, &err) == 0);
	TAP_STREQ(back.location, u.location);
	TAP_STREQ(back.repository, "a/b");
	TAP_CHECK(back.offset == 1024 && back.size == 4096);
	fb_push_upload_free(&back);
	free(t);
	static const char *const bad[] = {
		"[]",
		"{\"registry\":\"r\",\"repository\":\"a\",\"digest\":\"d\",\"location\":\"l\",\"offset\":5,\"size\":4}",
		"{\"registry\":\"r\",\"repository\":\"a\",\"digest\":\"d\",\"location\":\"l\",\"offset\":-1,\"size\":4}",
		"{\"registry\":\"r\",\"repository\":\"a\",\"digest\":\"d\",\"offset\":1,\"size\":4}",
		"{\"registry\":1,\"repository\":\"a\",\"digest\":\"d\",\"location\":\"l\",\"offset\":1,\"size\":4}",
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		if (fb_push_upload_decode(bad[i], strlen(bad[i]), &back, &err) != -1)
			return tap_fail("record %zu decoded", i);
		TAP_STREQ(err.msg, "not an upload record");
	}
	return 0;
}

static int index_entries(void)
{
	const char *t = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1
			"\",\"annotations\":{\"org.opencontainers.image.ref.name\":\"r:5000/a/b:1\"}},"
			"{\"digest\":\"" D2 "\"},{\"digest\":\"bad\",\"annotations\":{\"org.opencontainers.image.ref.name\":\"x\"}},"
			"7,{\"digest\":\"" D3 "\",\"annotations\":{\"org.opencontainers.image.ref.name\":\"c:2\"}}]}";
	struct fb_strv names = FB_STRV_INIT, digests = FB_STRV_INIT;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_push_index_decode(t, strlen(t), &names, &digests, &err) == 0);
	TAP_CHECK(names.n == 2 && digests.n == 2);
	TAP_STREQ(names.v[0], "r:5000/a/b:1");
	TAP_STREQ(digests.v[1], D3);
	fb_strv_free(&names);
	fb_strv_free(&digests);
	return 0;
}

static int image_member(void)
{
	static const char *const cases[][3] = {
		/* document, exit code, message */
		{ "{}", "2", ".image: missing (give the document of fb-tag get, fb-fetch image or fb-mkrootfs)" },
		{ "{\"image\":[]}", "2", ".image: expected an object, got array" },
		{ "{\"image\":{}}", "3", NULL },
		{ "{\"image\":{\"digest\":null}}", "3", NULL },
		{ "{\"image\":{\"digest\":true}}", "2", ".image.digest: expected a string, got boolean" },
		{ "{\"image\":{\"digest\":\"sha256:xyz\"}}", "2", ".image.digest: not a sha256 digest" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(cases); i++) {
		struct fb_err err = { 0 };
		struct fb_doc *d = NULL;
		struct fb_push_src src;
		TAP_CHECK(fb_doc_parse(cases[i][0], strlen(cases[i][0]), &d, &err) == 0);
		if (fb_push_src_from_doc(d, &src, &err) != -1)
			return tap_fail("case %zu decoded", i);
		TAP_CHECK(err.code == atoi(cases[i][1]));
		if (cases[i][2])
			TAP_STREQ(err.msg, cases[i][2]);
		fb_doc_free(d);
	}
	const char *ok = "{\"image\":{\"digest\":\"" D1 "\",\"name\":\"acme/app\",\"version\":7}}";
	struct fb_err err = { 0 };
	struct fb_doc *d = NULL;
	struct fb_push_src src;
	TAP_CHECK(fb_doc_parse(ok, strlen(ok), &d, &err) == 0);
	TAP_CHECK(fb_push_src_from_doc(d, &src, &err) == 0);
	TAP_STREQ(src.digest, D1);
	TAP_STREQ(src.name, "acme/app");
	TAP_CHECK(src.version == NULL); /* not a string: no default tag from it */
	fb_push_src_free(&src);
	/* .push goes in beside what was there */
	struct fb_push_blob b = { D2, 20, FB_PUSH_MOUNTED, (char *)"a/b", 0, 0 };
	struct fb_push_result r = { (char *)"r/x:1", D3, (char *)"application/vnd.oci.image.manifest.v1+json", 5, &b, 1, 0 };
	fb_push_doc_set(d, &r);
	char *s = fb_doc_dump(d, false);
	TAP_CHECK(strstr(s, "\"image\":{\"digest\""));
	TAP_CHECK(strstr(s, "\"blobs\":[{\"digest\":\"" D2 "\",\"size\":20,\"status\":\"mounted\",\"from\":\"a/b\"}]"));
	free(s);
	fb_doc_free(d);
	return 0;
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "an OCI manifest, and one with no mediaType of its own", manifest_decode },
		{ "manifests that are not one: the member named", manifest_refused },
		{ "OCI to Docker schema 2 and back; zstd has no Docker type", convert_both_ways },
		{ "a registry's error body as one line", registry_errors },
		{ "the record of an upload, and what is not one", upload_record },
		{ "index.json: named entries with sha256 digests only", index_entries },
		{ ".image in, .push out", image_member },
	};
	return tap_run(cases, FB_ARRAY_LEN(cases));
}
