#include "oci.h"

#include <string.h>

#include "digest.h"
#include "err.h"
#include "json.h"
#include "util.h"

bool fb_oci_is_index(const char *mt)
{
	return mt && (!strcmp(mt, FB_MT_OCI_INDEX) || !strcmp(mt, FB_MT_DOCKER_LIST));
}

bool fb_oci_is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, FB_MT_OCI_MANIFEST) || !strcmp(mt, FB_MT_DOCKER_MANIFEST));
}

char *fb_oci_media_type_of(jv doc)
{
	struct fb_err ignore = { 0 };
	char *mt = NULL;
	fb_json_get_str_opt(doc, "mediaType", &mt, &ignore);
	if (mt)
		return mt;
	/* OCI allows documents without mediaType: tell them by shape */
	if (jv_get_kind(doc) == JV_KIND_OBJECT) {
		if (jv_object_has(jv_copy(doc), jv_string("manifests")))
			return fb_xstrdup(FB_MT_OCI_INDEX);
		if (jv_object_has(jv_copy(doc), jv_string("layers")))
			return fb_xstrdup(FB_MT_OCI_MANIFEST);
	}
	return fb_xstrdup("");
}

char *fb_oci_platform_string(jv p)
{
	struct fb_err ignore = { 0 };
	char *os = NULL, *arch = NULL, *variant = NULL;
	fb_json_get_str_opt(p, "os", &os, &ignore);
	fb_json_get_str_opt(p, "architecture", &arch, &ignore);
	fb_json_get_str_opt(p, "variant", &variant, &ignore);
	char *r = fb_xasprintf("%s/%s%s%s", os ? os : "linux", arch ? arch : "amd64", variant ? "/" : "",
			       variant ? variant : "");
	free(os);
	free(arch);
	free(variant);
	return r;
}

/* arm64 means arm64/v8; arm means arm/v7 unless said otherwise. */
static bool platform_matches(const char *want, const char *have)
{
	if (!strcmp(want, have))
		return true;
	const char *aliases[][2] = { { "linux/arm64", "linux/arm64/v8" }, { "linux/arm", "linux/arm/v7" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(aliases); i++)
		if ((!strcmp(want, aliases[i][0]) && !strcmp(have, aliases[i][1])) ||
		    (!strcmp(want, aliases[i][1]) && !strcmp(have, aliases[i][0])))
			return true;
	return false;
}

int fb_oci_pick_platform(jv index, const char *platform, jv *desc, struct fb_err *err)
{
	const char *want = platform ? platform : fb_host_platform();
	jv ms = jv_object_get(jv_copy(index), jv_string("manifests"));
	if (jv_get_kind(ms) != JV_KIND_ARRAY) {
		jv_free(ms);
		return fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "the image index has no manifests list");
	}
	struct fb_buf seen = FB_BUF_INIT;
	int found = -1;
	jv_array_foreach(ms, i, m)
	{
		jv p = jv_object_get(jv_copy(m), jv_string("platform"));
		if (jv_get_kind(p) == JV_KIND_OBJECT) {
			char *ps = fb_oci_platform_string(p);
			/* attestation manifests say unknown/unknown: skip quietly */
			if (strcmp(ps, "unknown/unknown")) {
				fb_buf_addf(&seen, "%s%s", seen.len ? ", " : "", ps);
				if (found < 0 && platform_matches(want, ps))
					found = i;
			}
			free(ps);
		}
		jv_free(p);
		jv_free(m);
	}
	int r = 0;
	if (found < 0)
		r = fb_err_set(err, FB_EXIT_NOTFOUND, "no_platform", "no manifest for %s in the image index (it has: %s)", want,
			       seen.len ? fb_buf_str(&seen) : "none");
	else
		*desc = jv_array_get(jv_copy(ms), found);
	jv_free(ms);
	fb_buf_free(&seen);
	return r;
}

static int check_desc(jv d, const char *what, struct fb_err *err)
{
	char *digest = NULL, *mt = NULL;
	long long size = -1;
	int r = 0;
	if (jv_get_kind(d) != JV_KIND_OBJECT || fb_json_get_str(d, "digest", &digest, err) < 0 ||
	    fb_json_get_str_opt(d, "mediaType", &mt, err) < 0 || fb_json_get_int_opt(d, "size", &size, err) < 0)
		r = -1;
	else if (!fb_digest_valid(digest))
		r = fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s has an unsupported digest %s", what, digest);
	else if (size < 0)
		r = fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "%s %s has no size", what, digest);
	if (r < 0 && !strstr(err->msg, what))
		fb_err_prefix(err, "%s", what);
	free(digest);
	free(mt);
	return r;
}

int fb_oci_manifest_parts(jv manifest, jv *config_desc, jv *layers, struct fb_err *err)
{
	long long sv = 0;
	if (fb_json_get_int_opt(manifest, "schemaVersion", &sv, err) < 0)
		return -1;
	if (sv != 2)
		return fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest",
				  "unsupported manifest schemaVersion %lld (Docker schema 1 is not supported)", sv);
	jv c = jv_object_get(jv_copy(manifest), jv_string("config"));
	jv ls = jv_object_get(jv_copy(manifest), jv_string("layers"));
	if (check_desc(c, "config", err) < 0)
		goto fail;
	if (jv_get_kind(ls) != JV_KIND_ARRAY) {
		fb_err_set(err, FB_EXIT_FAILED, "invalid_manifest", "the manifest has no layers list");
		goto fail;
	}
	jv_array_foreach(ls, i, l)
	{
		int r = check_desc(l, "layer", err);
		jv_free(l);
		if (r < 0)
			goto fail;
		(void)i;
	}
	*config_desc = c;
	*layers = ls;
	return 0;
fail:
	jv_free(c);
	jv_free(ls);
	return -1;
}
