#include "ref.h"

#include <ctype.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "util.h"

void fb_ref_free(struct fb_ref *r)
{
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	free(r->path);
	free(r->canonical);
	free(r->store_name);
	memset(r, 0, sizeof(*r));
}

/* path component: [a-z0-9]+(([._]|__|-+)[a-z0-9]+)* */
static bool valid_component(const char *s, size_t n)
{
	if (!n || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (islower((unsigned char)c) || isdigit((unsigned char)c))
			continue;
		if (c == '.' || c == '_' || c == '-') {
			if (c == '.' && (s[i + 1] == '.' || s[i + 1] == '_' || s[i + 1] == '-'))
				return false;
			continue;
		}
		return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (!n || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

static int bad(struct fb_err *err, const char *s, const char *why)
{
	return fb_err_set(err, FB_EXIT_USAGE, "invalid_reference", "invalid reference \"%s\": %s", s, why);
}

static int parse_registry(const char *s, struct fb_ref *r, struct fb_err *err)
{
	const char *at = strchr(s, '@');
	FB_AUTOFREE char *name = at ? fb_xstrndup(s, (size_t)(at - s)) : fb_xstrdup(s);
	if (at) {
		if (!fb_digest_valid(at + 1))
			return bad(err, s, "the digest must be sha256:<64 hex digits>");
		r->digest = fb_xstrdup(at + 1);
	}
	/* the tag is after the last ':' that follows the last '/' */
	char *slash = strrchr(name, '/');
	char *colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		if (!valid_tag(colon + 1))
			return bad(err, s, "the tag must be [A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
		r->tag = fb_xstrdup(colon + 1);
	}
	/* a first component with '.' or ':', or "localhost", is a host */
	char *first_slash = strchr(name, '/');
	const char *path = name;
	if (first_slash) {
		size_t hl = (size_t)(first_slash - name);
		bool host = !strncmp(name, "localhost", hl) && hl == 9;
		for (size_t i = 0; i < hl && !host; i++)
			host = name[i] == '.' || name[i] == ':';
		if (host) {
			for (size_t i = 0; i < hl; i++)
				if (isupper((unsigned char)name[i]) || !(isalnum((unsigned char)name[i]) || strchr(".-:[]", name[i])))
					return bad(err, s, "invalid registry host");
			r->registry = fb_xstrndup(name, hl);
			path = first_slash + 1;
		}
	}
	if (!r->registry)
		r->registry = fb_xstrdup("docker.io");
	if (!*path)
		return bad(err, s, "no repository name");
	for (const char *p = path;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!valid_component(p, n))
			return bad(err, s, "repository names are lower-case letters, digits and separators (. _ -)");
		if (!e)
			break;
		p = e + 1;
	}
	if (!strcmp(r->registry, "docker.io") && !strchr(path, '/'))
		r->repository = fb_xasprintf("library/%s", path);
	else
		r->repository = fb_xstrdup(path);
	if (strlen(r->repository) > 255)
		return bad(err, s, "the repository name is longer than 255 characters");
	if (!r->tag && !r->digest)
		r->tag = fb_xstrdup("latest");
	r->canonical = fb_xasprintf("%s/%s%s%s%s%s", r->registry, r->repository, r->tag ? ":" : "", r->tag ? r->tag : "",
				    r->digest ? "@" : "", r->digest ? r->digest : "");
	r->store_name = fb_xasprintf("%s/%s:%s", r->registry, r->repository,
				     r->tag ? r->tag : fb_digest_hex(r->digest));
	return 0;
}

int fb_ref_parse(const char *s, struct fb_ref *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	static const struct {
		const char *prefix;
		enum fb_transport t;
	} tr[] = { { "docker-archive:", FB_REF_DOCKER_ARCHIVE }, { "oci-archive:", FB_REF_OCI_ARCHIVE },
		   { "oci:", FB_REF_OCI }, { "docker://", FB_REF_REGISTRY } };
	int r = -1;
	for (size_t i = 0; i < FB_ARRAY_LEN(tr); i++) {
		size_t pl = strlen(tr[i].prefix);
		if (strncmp(s, tr[i].prefix, pl))
			continue;
		out->transport = tr[i].t;
		const char *rest = s + pl;
		if (tr[i].t == FB_REF_REGISTRY) {
			r = parse_registry(rest, out, err);
			goto done;
		}
		if (!*rest) {
			r = bad(err, s, "no path");
			goto done;
		}
		/* PATH[:REF]: like skopeo, the path ends at the first ':' */
		const char *colon = strchr(rest, ':');
		if (colon && colon != rest) {
			out->path = fb_xstrndup(rest, (size_t)(colon - rest));
			out->tag = fb_xstrdup(colon + 1);
		} else {
			out->path = fb_xstrdup(rest);
		}
		out->canonical = fb_xstrdup(s);
		/* The store's name for it: transport/file-name:tag, a name any
		 * OCI tool accepts in index.json. */
		const char *base = strrchr(out->path, '/');
		base = base && base[1] ? base + 1 : out->path;
		struct fb_buf nm = FB_BUF_INIT;
		fb_buf_add(&nm, tr[i].prefix, pl - 1);
		fb_buf_addc(&nm, '/');
		for (const char *c = base; *c; c++)
			fb_buf_addc(&nm, (isalnum((unsigned char)*c) || *c == '.' || *c == '_' || *c == '-') ? (char)tolower((unsigned char)*c) : '-');
		fb_buf_addf(&nm, ":%s", out->tag ? out->tag : "latest");
		out->store_name = fb_buf_steal(&nm);
		r = 0;
		goto done;
	}
	out->transport = FB_REF_REGISTRY;
	r = parse_registry(s, out, err);
done:
	if (r < 0)
		fb_ref_free(out);
	return r;
}

const char *fb_ref_api_host(const struct fb_ref *r)
{
	return !strcmp(r->registry, "docker.io") ? "registry-1.docker.io" : r->registry;
}
