/* RUN --mount (planner.h): a CSV record of key=value fields checked as
 * BuildKit checks them, with the defaults each mount type has. */
#include "planner.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "plan.h"
#include "util.h"

/* Split a --mount value as a CSV record (quotes allowed). */
static void csv_split(const char *s, struct fb_strv *out)
{
	struct fb_buf f = FB_BUF_INIT;
	bool q = false;
	for (const char *p = s;; p++) {
		if (!*p || (*p == ',' && !q)) {
			fb_strv_push(out, fb_buf_str(&f));
			fb_buf_reset(&f);
			if (!*p)
				break;
			continue;
		}
		if (*p == '"') {
			if (q && p[1] == '"') {
				fb_buf_addc(&f, '"');
				p++;
			} else {
				q = !q;
			}
			continue;
		}
		fb_buf_addc(&f, *p);
	}
	fb_buf_free(&f);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = fb_xstrdup(v);
}

/* ---- RUN --mount ---- */

static void mount_free(struct fb_plan_mount *m)
{
	free(m->type);
	free(m->target);
	free(m->source);
	free(m->id);
	free(m->sharing);
	free(m->mode);
	free(m->env);
	free(m->size);
	free(m->from.name);
	free(m->from.image);
}

int plan_parse_mount(struct plan *p, const char *spec, int nssh, struct fb_plan_mount *m, struct fb_err *err)
{
	struct fb_strv fields = FB_STRV_INIT;
	csv_split(spec, &fields);
	memset(m, 0, sizeof(*m));
	m->size_bytes = m->uid = m->gid = -1;
	m->required = -1;
	char *type = fb_xstrdup("bind");
	char *target = NULL, *from = NULL;
	bool ro = false, ro_set = false;
	int ret = -1;
	static const char *const str_keys[] = { "source", "from", "id", "sharing", "mode", "uid", "gid", "size", "env", "target" };
	for (size_t i = 0; i < fields.n; i++) {
		char *kv = fields.v[i];
		if (!*kv)
			continue;
		char *eq = strchr(kv, '=');
		FB_AUTOFREE char *key = NULL;
		{
			char *k = eq ? fb_xstrndup(kv, (size_t)(eq - kv)) : fb_xstrdup(kv);
			key = plan_lower(k);
			free(k);
		}
		FB_AUTOFREE char *val = NULL;
		if (eq && !strcmp(key, "from"))
			val = fb_xstrdup(eq + 1);
		else if (eq && plan_expand(p, eq + 1, &val, err) < 0)
			goto out;
		if (!strcmp(key, "readonly") || !strcmp(key, "ro") || !strcmp(key, "readwrite") || !strcmp(key, "rw") ||
		    !strcmp(key, "required")) {
			bool b = true;
			if (val) {
				if (!strcasecmp(val, "true"))
					b = true;
				else if (!strcasecmp(val, "false"))
					b = false;
				else {
					fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: invalid value for %s: %s", key, val);
					goto out;
				}
			}
			if (!strcmp(key, "required")) {
				if (strcmp(type, "secret") && strcmp(type, "ssh")) {
					fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unexpected key 'required' for mount type '%s'", type);
					goto out;
				}
				m->required = b;
			} else {
				ro_set = true;
				ro = (key[0] == 'r' && (key[1] == 'o' || !strcmp(key, "readonly"))) ? b : !b;
			}
			continue;
		}
		if (!val) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: invalid field '%s' must be a key=value pair", kv);
			goto out;
		}
		if (!strcmp(key, "type")) {
			if (strcmp(val, "bind") && strcmp(val, "cache") && strcmp(val, "tmpfs") && strcmp(val, "secret") &&
			    strcmp(val, "ssh")) {
				fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unsupported mount type \"%s\"", val);
				goto out;
			}
			set_str(&type, val);
			continue;
		}
		if (!strcmp(key, "src")) {
			set_str(&key, "source");
		} else if (!strcmp(key, "dst") || !strcmp(key, "destination")) {
			set_str(&key, "target");
		}
		size_t k;
		for (k = 0; k < FB_ARRAY_LEN(str_keys); k++)
			if (!strcmp(key, str_keys[k]))
				break;
		if (k == FB_ARRAY_LEN(str_keys)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unexpected key '%s' in '%s'", key, spec);
			goto out;
		}
		if (!strcmp(key, "sharing") && strcmp(val, "shared") && strcmp(val, "private") && strcmp(val, "locked")) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unsupported sharing value \"%s\"", val);
			goto out;
		}
		if (!strcmp(key, "mode") && (strspn(val, "01234567") != strlen(val) || !*val)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: invalid mode \"%s\": expected octal", val);
			goto out;
		}
		if ((!strcmp(key, "uid") || !strcmp(key, "gid")) && !plan_is_integer(val)) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: invalid %s \"%s\": expected a number", key, val);
			goto out;
		}
		if (!strcmp(key, "target"))
			set_str(&target, val);
		else if (!strcmp(key, "from"))
			set_str(&from, val);
		else if (!strcmp(key, "id"))
			set_str(&m->id, val);
		else if (!strcmp(key, "source"))
			set_str(&m->source, val);
		else if (!strcmp(key, "sharing"))
			set_str(&m->sharing, val);
		else if (!strcmp(key, "mode"))
			set_str(&m->mode, val);
		else if (!strcmp(key, "size"))
			set_str(&m->size, val);
		else if (!strcmp(key, "env"))
			set_str(&m->env, val);
		else if (!strcmp(key, "uid"))
			m->uid = strtol(val, NULL, 10);
		else if (!strcmp(key, "gid"))
			m->gid = strtol(val, NULL, 10);
	}
	if (!strcmp(type, "secret")) {
		if (!target && !m->id) {
			fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount=type=secret: id or target is required");
			goto out;
		}
		if (!m->id) {
			const char *b = strrchr(target, '/');
			m->id = fb_xstrdup(b ? b + 1 : target);
		}
		if (!target)
			target = fb_xasprintf("/run/secrets/%s", m->id);
	} else if (!strcmp(type, "ssh")) {
		if (!m->id)
			m->id = fb_xstrdup("default");
		if (!target)
			target = fb_xasprintf("/run/buildkit/ssh_agent.%d", nssh);
	}
	bool file_info = !strcmp(type, "secret") || !strcmp(type, "ssh") || !strcmp(type, "cache");
	const char *fi = m->mode ? "mode" : m->uid >= 0 ? "uid" : m->gid >= 0 ? "gid" : NULL;
	if (!file_info && fi) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: %s not allowed for \"%s\" type mounts", fi, type);
		goto out;
	}
	if (m->sharing && strcmp(type, "cache")) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unexpected key 'sharing' for mount type '%s'", type);
		goto out;
	}
	if (m->size && strcmp(type, "tmpfs")) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount: unexpected key 'size' for mount type '%s'", type);
		goto out;
	}
	if (!strcmp(type, "secret") && from) {
		fb_err_set(err, FB_EXIT_USAGE, "syntax", "RUN --mount=type=secret: a secret mount has no from");
		goto out;
	}
	/* cache and tmpfs are writable by default, the others read-only */
	if (!ro_set)
		ro = strcmp(type, "cache") && strcmp(type, "tmpfs");
	m->readonly = ro;
	if (from && plan_resolve_from(p, "RUN --mount", from, &m->from, err) < 0)
		goto out;
	m->type = type;
	type = NULL;
	/* An empty or relative target is relative to the WORKDIR. */
	m->target = target ? target : fb_xstrdup("");
	target = NULL;
	ret = 0;
out:
	if (ret < 0)
		mount_free(m);
	free(type);
	free(target);
	free(from);
	fb_strv_free(&fields);
	return ret;
}

