/* The codec of the registry client's JSON (registry.h): Docker's
 * config.json credentials and token responses, read as found. */
#include "registry.h"

#include "err.h"
#include "json.h"
#include "util.h"

int fb_registry_config_auth(const char *text, size_t len, const char *const *keys, size_t nkeys, char **auth,
			    struct fb_err *err)
{
	jv cfg;
	*auth = NULL;
	if (fb_json_parse(text, len, &cfg, err) < 0)
		return -1;
	jv auths = fb_json_member(cfg, "auths");
	for (size_t i = 0; i < nkeys && !*auth; i++) {
		if (!keys[i])
			continue;
		jv a = fb_json_member(auths, keys[i]);
		*auth = fb_jv_get_str(a, "auth");
		jv_free(a);
	}
	jv_free(auths);
	jv_free(cfg);
	return 0;
}

int fb_registry_token_decode(const char *text, size_t len, char **token, int64_t *expires_in, struct fb_err *err)
{
	jv t;
	if (fb_json_parse(text, len, &t, err) < 0)
		return -1;
	*token = fb_jv_get_str(t, "token");
	if (!*token)
		*token = fb_jv_get_str(t, "access_token");
	if (!fb_jv_get_int(t, "expires_in", expires_in))
		*expires_in = 0;
	jv_free(t);
	return 0;
}
