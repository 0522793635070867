/* lib/ref: image references as Docker reads them, and the transports. */
#include <string.h>

#include "err.h"
#include "ref.h"
#include "tap.h"
#include "util.h"

static const struct {
	const char *in;
	enum fb_transport transport;
	const char *registry, *repository, *tag, *digest, *path, *canonical, *store_name, *api_host;
} good[] = {
	{ "busybox", FB_REF_REGISTRY, "docker.io", "library/busybox", "latest", NULL, NULL, "docker.io/library/busybox:latest",
	  "docker.io/library/busybox:latest", "registry-1.docker.io" },
	{ "docker://acme/app:1.2", FB_REF_REGISTRY, "docker.io", "acme/app", "1.2", NULL, NULL, "docker.io/acme/app:1.2",
	  "docker.io/acme/app:1.2", "registry-1.docker.io" },
	{ "localhost:5000/team/app", FB_REF_REGISTRY, "localhost:5000", "team/app", "latest", NULL, NULL,
	  "localhost:5000/team/app:latest", "localhost:5000/team/app:latest", "localhost:5000" },
	{ "localhost/app:v1", FB_REF_REGISTRY, "localhost", "app", "v1", NULL, NULL, "localhost/app:v1", "localhost/app:v1",
	  "localhost" },
	{ "registry.local/a/b/c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", FB_REF_REGISTRY,
	  "registry.local", "a/b/c", NULL, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL,
	  "registry.local/a/b/c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	  "registry.local/a/b/c:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "registry.local" },
	{ "docker-archive:/tmp/x.tar", FB_REF_DOCKER_ARCHIVE, NULL, NULL, NULL, NULL, "/tmp/x.tar", "docker-archive:/tmp/x.tar",
	  "docker-archive/x.tar:latest", NULL },
	{ "docker-archive:/tmp/x.tar:acme/app:1", FB_REF_DOCKER_ARCHIVE, NULL, NULL, "acme/app:1", NULL, "/tmp/x.tar",
	  "docker-archive:/tmp/x.tar:acme/app:1", "docker-archive/x.tar:acme/app:1", NULL },
	{ "oci:/srv/Layout:v2", FB_REF_OCI, NULL, NULL, "v2", NULL, "/srv/Layout", "oci:/srv/Layout:v2", "oci/layout:v2", NULL },
	{ "oci-archive:img.tar", FB_REF_OCI_ARCHIVE, NULL, NULL, NULL, NULL, "img.tar", "oci-archive:img.tar",
	  "oci-archive/img.tar:latest", NULL },
};

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int references(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(good); i++) {
		struct fb_ref r;
		struct fb_err err = { 0 };
		if (fb_ref_parse(good[i].in, &r, &err) < 0)
			return tap_fail("%s: %s", good[i].in, err.msg);
		bool ok = r.transport == good[i].transport && same(r.registry, good[i].registry) &&
			  same(r.repository, good[i].repository) && same(r.tag, good[i].tag) && same(r.digest, good[i].digest) &&
			  same(r.path, good[i].path) && same(r.canonical, good[i].canonical) &&
			  same(r.store_name, good[i].store_name) &&
			  (!good[i].api_host || !strcmp(fb_ref_api_host(&r), good[i].api_host));
		if (!ok)
			tap_fail("%s: got %s %s %s %s %s", good[i].in, r.registry ? r.registry : "-", r.repository ? r.repository : "-",
				 r.tag ? r.tag : "-", r.canonical ? r.canonical : "-", r.store_name ? r.store_name : "-");
		fb_ref_free(&r);
		if (!ok)
			return 1;
	}
	return 0;
}

static const struct {
	const char *in, *why;
} bad[] = {
	{ "Busybox", "repository names are lower-case letters, digits and separators (. _ -)" },
	{ "acme/app:bad tag", "the tag must be [A-Za-z0-9_][A-Za-z0-9._-]{0,127}" },
	{ "acme/app@sha256:abc", "the digest must be sha256:<64 hex digits>" },
	{ "Reg.Local/app", "invalid registry host" },
	{ "registry.local/", "no repository name" },
	{ "acme//app", "repository names are lower-case letters, digits and separators (. _ -)" },
	{ "oci:", "no path" },
	{ "docker-archive:", "no path" },
};

static int bad_references(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		struct fb_ref r;
		struct fb_err err = { 0 };
		int rc = fb_ref_parse(bad[i].in, &r, &err);
		fb_ref_free(&r);
		if (rc == 0)
			return tap_fail("%s: taken", bad[i].in);
		char *want = fb_xasprintf("invalid reference \"%s\": %s", bad[i].in, bad[i].why);
		bool ok = err.code == FB_EXIT_USAGE && !strcmp(err.msg, want);
		if (!ok)
			tap_fail("%s: '%s', want '%s'", bad[i].in, err.msg, want);
		free(want);
		if (!ok)
			return 1;
	}
	return 0;
}

static const struct tap_case cases[] = {
	{ "references: registries, Docker Hub's defaults, archives and layouts", references },
	{ "references that are refused, and why", bad_references },
};

TAP_MAIN(cases)
