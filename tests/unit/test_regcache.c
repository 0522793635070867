/* lib/image/regcache: the registry build cache's config and manifest (a
 * registry's input: every member checked, errors naming it), the
 * .build.steps an export reads, and --cache-to / --cache-from values. */
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "err.h"
#include "push.h"
#include "regcache.h"
#include "util.h"
#include "tap.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int config_round_trip(void)
{
	struct fb_regcache c = { .mode = FB_REGCACHE_MAX };
	fb_regcache_add(&c, D1, D2, 3072, "RUN make")->created = fb_xstrdup("2026-12-04T18:00:00.5Z");
	fb_regcache_add(&c, D3, NULL, 99, "WORKDIR /x"); /* no layer: no size */
	TAP_CHECK(fb_regcache_add(&c, D1, D3, 1, "a key again") == NULL); /* the first wins */
	TAP_CHECK(c.n == 2);
	char *text = fb_regcache_encode(&c);
	struct fb_regcache back;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_regcache_decode(text, strlen(text), &back, &err) == 0);
	TAP_CHECK(back.mode == FB_REGCACHE_MAX && back.n == 2);
	TAP_STREQ(back.v[0].key, D1);
	TAP_STREQ(back.v[0].layer, D2);
	TAP_CHECK(back.v[0].size == 3072);
	TAP_STREQ(back.v[0].step, "RUN make");
	TAP_STREQ(back.v[0].created, "2026-12-04T18:00:00.5Z");
	TAP_CHECK(back.v[1].created == NULL);
	TAP_STREQ(back.v[1].layer, "");
	TAP_CHECK(back.v[1].size == 0);
	/* the manifest of it: our config type, each layer once, plain tars */
	char *m = fb_regcache_manifest_encode(D3, strlen(text), &c);
	struct fb_push_manifest pm;
	TAP_CHECK(fb_regcache_manifest_check(m, strlen(m), &pm, &err) == 0);
	TAP_STREQ(pm.config.media_type, FB_MT_CACHE_CONFIG);
	TAP_CHECK(pm.nlayers == 1 && pm.layers[0].size == 3072);
	TAP_STREQ(pm.layers[0].digest, D2);
	TAP_CHECK(strstr(m, "\"artifactType\":\"" FB_MT_CACHE_ARTIFACT "\"") != NULL);
	fb_push_manifest_free(&pm);
	free(m);
	free(text);
	fb_regcache_free(&back);
	fb_regcache_free(&c);
	return 0;
}

static int config_refused(void)
{
	static const char *const bad[][2] = {
		{ "[]", "the cache config: expected an object, got array" },
		{ "{\"entries\":{}}", ".entries: expected an array, got object" },
		{ "{}", ".entries: expected an array, got null" },
		{ "{\"mode\":\"all\",\"entries\":[]}", ".mode: all: expected min or max" },
		{ "{\"entries\":[7]}", ".entries[0]: expected an object, got number" },
		{ "{\"entries\":[{\"key\":\"" D1 "\",\"layer\":null},{\"key\":12}]}",
		  ".entries[1].key: expected a string, got number" },
		{ "{\"entries\":[{\"key\":\"sha256:../../etc\",\"layer\":null}]}", ".entries[0].key: not a sha256 digest" },
		{ "{\"entries\":[{\"key\":\"" D1 "\",\"layer\":\"" D2 "\"}]}",
		  ".entries[0].size: missing or negative (the layer's size in bytes)" },
		{ "{\"entries\":[{\"key\":\"" D1 "\",\"layer\":\"sha512:00\",\"size\":1}]}",
		  ".entries[0].layer: not a sha256 digest" },
		{ "{\"entries\":[{\"key\":\"" D1 "\",\"layer\":[],\"size\":1}]}",
		  ".entries[0].layer: expected a string or null, got array" },
		{ "{\"entries\":[{\"key\":\"" D1 "\",\"layer\":null,\"step\":{}}]}",
		  ".entries[0].step: expected a string, got object" },
		{ "{\"entries\":", NULL },
		{ NULL, ".entries: 10001 of them, more than 10000" },
	};
	/* more entries than any build has steps: refused before any is looked at */
	struct fb_buf many = FB_BUF_INIT;
	fb_buf_addf(&many, "{\"entries\":[");
	for (int i = 0; i <= FB_REGCACHE_ENTRIES_MAX; i++)
		fb_buf_addf(&many, "%s{\"key\":\"" D1 "\",\"layer\":null}", i ? "," : "");
	fb_buf_addf(&many, "]}");
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_err err = { 0 };
		struct fb_regcache c;
		const char *text = bad[i][0] ? bad[i][0] : fb_buf_str(&many);
		if (fb_regcache_decode(text, strlen(text), &c, &err) != -1)
			return tap_fail("case %zu decoded", i);
		TAP_CHECK(err.code == FB_EXIT_USAGE);
		if (bad[i][1])
			TAP_STREQ(err.msg, bad[i][1]);
		TAP_CHECK(c.n == 0 && c.v == NULL);
	}
	fb_buf_free(&many);
	return 0;
}

static int manifest_refused(void)
{
	static const char *const bad[][2] = {
		/* an image, not a cache */
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":"
		  "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
		  ".config.mediaType: application/vnd.oci.image.config.v1+json, not " FB_MT_CACHE_CONFIG
		  ": not a firebuild build cache" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{"
		  "\"mediaType\":\"" FB_MT_CACHE_CONFIG "\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
		  ".mediaType: application/vnd.docker.distribution.manifest.v2+json: not an OCI image manifest" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}",
		  ".config: expected an object, got null" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" FB_MT_CACHE_CONFIG "\",\"digest\":\"" D1
		  "\",\"size\":1},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2
		  "\",\"size\":5}]}",
		  ".layers[0].mediaType: application/vnd.oci.image.layer.v1.tar+gzip, not application/vnd.oci.image.layer.v1.tar" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" FB_MT_CACHE_CONFIG "\",\"digest\":\"" D1
		  "\",\"size\":99999999999},\"layers\":[]}",
		  ".config.size: 99999999999 bytes, more than a cache config may be" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_err err = { 0 };
		struct fb_push_manifest m;
		if (fb_regcache_manifest_check(bad[i][0], strlen(bad[i][0]), &m, &err) != -1)
			return tap_fail("case %zu passed", i);
		TAP_CHECK(err.code == FB_EXIT_USAGE);
		TAP_STREQ(err.msg, bad[i][1]);
	}
	return 0;
}

static int steps_member(void)
{
	const char *text = "{\"build\":{\"steps\":[{\"stage\":0,\"line\":2,\"instruction\":\"RUN x\",\"status\":\"executed\","
			   "\"seconds\":1,\"key\":\"" D1 "\",\"layer\":\"" D2 "\"},"
			   "{\"stage\":1,\"instruction\":\"ENV A=1\",\"status\":\"metadata\",\"key\":\"\",\"layer\":null},"
			   "{\"stage\":1,\"instruction\":\"WORKDIR /\",\"status\":\"cached\",\"key\":\"" D3 "\",\"layer\":null}]}}";
	struct fb_err err = { 0 };
	struct fb_doc *d = NULL;
	TAP_CHECK(fb_doc_parse(text, strlen(text), &d, &err) == 0);
	struct fb_regcache_steps s;
	TAP_CHECK(fb_regcache_steps_from_doc(d, &s, &err) == 0);
	TAP_CHECK(s.n == 3 && s.v[2].stage == 1);
	TAP_STREQ(s.v[0].layer, D2);
	TAP_STREQ(s.v[1].status, "metadata");
	TAP_STREQ(s.v[2].layer, "");
	fb_regcache_steps_free(&s);
	fb_doc_free(d);
	static const char *const bad[][2] = {
		{ "{}", ".build: missing: the document built nothing (give fb-mkrootfs's document of a Dockerfile build)" },
		{ "{\"build\":{\"steps\":3}}", ".build.steps: expected an array, got number" },
		{ "{\"build\":{\"steps\":[{\"stage\":0,\"status\":\"cached\",\"key\":\"x\"}]}}",
		  ".build.steps[0].key: not a sha256 digest" },
		{ "{\"build\":{\"steps\":[{\"status\":\"cached\"}]}}", ".build.steps[0].stage: missing or out of range" },
		{ "{\"build\":{\"steps\":[null]}}", ".build.steps[0]: expected an object, got null" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		d = NULL;
		TAP_CHECK(fb_doc_parse(bad[i][0], strlen(bad[i][0]), &d, &err) == 0);
		memset(&err, 0, sizeof(err));
		if (fb_regcache_steps_from_doc(d, &s, &err) != -1)
			return tap_fail("case %zu decoded", i);
		TAP_STREQ(err.msg, bad[i][1]);
		fb_doc_free(d);
	}
	return 0;
}

static int flag_values(void)
{
	struct fb_err err = { 0 };
	struct fb_regcache_spec sp;
	TAP_CHECK(fb_regcache_spec_parse("reg.local:5000/app:cache", true, &sp, &err) == 0);
	TAP_STREQ(sp.ref, "reg.local:5000/app:cache");
	TAP_CHECK(sp.mode == FB_REGCACHE_MIN && !sp.ignore_error);
	fb_regcache_spec_free(&sp);
	TAP_CHECK(fb_regcache_spec_parse("reg.local/app:c,mode=max", true, &sp, &err) == 0);
	TAP_CHECK(sp.mode == FB_REGCACHE_MAX);
	fb_regcache_spec_free(&sp);
	TAP_CHECK(fb_regcache_spec_parse("type=registry,ref=reg.local/app:c,mode=max,ignore-error=true,image-manifest=true,"
					 "oci-mediatypes=true",
					 true, &sp, &err) == 0);
	TAP_STREQ(sp.ref, "reg.local/app:c");
	TAP_CHECK(sp.mode == FB_REGCACHE_MAX && sp.ignore_error);
	fb_regcache_spec_free(&sp);
	TAP_CHECK(fb_regcache_spec_parse("type=registry,ref=reg.local/app:c", false, &sp, &err) == 0);
	fb_regcache_spec_free(&sp);
	static const char *const bad[][3] = {
		{ "type=local,dest=/x", "e", "type=local,dest=/x: local: only type=registry is a cache firebuild shares" },
		{ "reg.local/app,mode=all", "e", "reg.local/app,mode=all: mode: expected min or max" },
		{ "reg.local/app,mode=max", "i", "reg.local/app,mode=max: mode: unknown key (type, ref)" },
		{ "mode=max", "e", "mode=max: no reference (REF or ref=REF)" },
		{ "a/b,ref=c/d", "e", "a/b,ref=c/d: ref: a second reference" },
		{ "ref=a/b,c/d", "e", "ref=a/b,c/d: c/d: expected KEY=VALUE (only the first part may be a bare reference)" },
		{ "oci:/tmp/x", "e", "oci:/tmp/x: not a registry reference ([REGISTRY/]REPOSITORY[:TAG])" },
		{ "a/b,image-manifest=false", "e", "a/b,image-manifest=false: image-manifest: the cache is always an OCI image manifest (only =true)" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		memset(&err, 0, sizeof(err));
		if (fb_regcache_spec_parse(bad[i][0], bad[i][1][0] == 'e', &sp, &err) != -1)
			return tap_fail("case %zu parsed", i);
		TAP_CHECK(err.code == FB_EXIT_USAGE && sp.ref == NULL);
		TAP_STREQ(err.msg, bad[i][2]);
	}
	return 0;
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "a cache config and its manifest, encoded and decoded back", config_round_trip },
		{ "cache configs that are not one: the member named", config_refused },
		{ "manifests that are not a firebuild cache: why", manifest_refused },
		{ ".build.steps as an export reads it", steps_member },
		{ "--cache-to and --cache-from values as buildx writes them", flag_values },
	};
	return tap_run(cases, FB_ARRAY_LEN(cases));
}
