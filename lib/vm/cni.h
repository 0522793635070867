/* CNI (spec 0.4.0 and 1.0.0) as fb-net and tc-redirect-tap use it, and its
 * documents as they read and write them: a network configuration list, a plugin's config and its
 * result (or error), fb-net's cache of both, libcni's cache file, and
 * tc-redirect-tap's config. Each is decoded once into a struct, checked as
 * it is (a member of another kind is an error naming it, code
 * FB_EXIT_USAGE), and encoded once. Decoding has no side effects: the fuzz
 * targets call these as the tools do. What a plugin gets and gives beyond
 * the members decoded here goes on as it was (the plugin objects of a
 * list, a result as prevResult). The codec is cni_doc.c; cni.c has the
 * interface names and the network document (net.h) a chain's result gives
 * the VM. */
#ifndef FB_CNI_H
#define FB_CNI_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "net.h"
#include "util.h"

struct fb_cni_plugin {
	char *type; /* a file name in the plugin directories */
	char *json; /* its object, as the list has it */
};

struct fb_cni_conflist {
	char *name;
	char *version; /* cniVersion; NULL: none */
	struct fb_cni_plugin *plugins;
	size_t n; /* at least one */
};
void fb_cni_conflist_free(struct fb_cni_conflist *l);

/* A configuration file's text: 1 with *out when it configures the network
 * `name` (any network when name is NULL) -- a .conflist, or a single
 * plugin's .conf as a list of one; 0 when it does not (another network,
 * or no configuration at all: not JSON, not an object, no string .name);
 * -1 when it is that network's and does not decode as CNI says. */
int fb_cni_conf_decode(const char *text, size_t len, const char *name, struct fb_cni_conflist *out,
		       struct fb_err *err) FB_MUST_CHECK;

struct fb_cni_iface {
	char *name, *mac, *sandbox; /* NULL: not given */
};
struct fb_cni_ip {
	long long iface; /* index into the interfaces; -1: not given */
	char *address, *gateway;
};
/* A plugin's ADD result. */
struct fb_cni_result {
	char *json; /* as the plugin gave it: the next plugin's prevResult */
	char *version;
	struct fb_cni_iface *ifs;
	size_t nifs;
	struct fb_cni_ip *ips;
	size_t nips;
	struct fb_strv dns; /* dns.nameservers */
};
void fb_cni_result_free(struct fb_cni_result *r);
static inline void fb_cni_result_freep(struct fb_cni_result **r)
{
	if (*r) {
		fb_cni_result_free(*r);
		free(*r);
	}
	*r = NULL;
}
/* A plugin's stdout: 0 with *out (NULL when it is no JSON at all, which
 * counts as no result), or -1 when it is JSON but not a result. */
int fb_cni_result_decode(const char *text, size_t len, struct fb_cni_result **out, struct fb_err *err) FB_MUST_CHECK;
/* A failed plugin's error object: its msg and details (owned; NULL when
 * the text is no such object). */
void fb_cni_error_decode(const char *text, size_t len, char **msg, char **details);

/* The config plugin i of l gets on stdin: its object with the list's
 * name and cniVersion, and prev as prevResult (prev may be NULL). */
char *fb_cni_plugin_conf(const struct fb_cni_conflist *l, size_t i, const struct fb_cni_result *prev);

/* fb-net's cache (<run-dir>/cni.json): what DEL needs to undo an ADD. */
struct fb_cni_cache {
	struct fb_cni_conflist list;
	struct fb_strv bin_dirs;
	char *netns;
	bool netns_owned;     /* made by fb-net add (removed by del) */
	char *cni_cache_dir;  /* NULL: no libcni copy */
	struct fb_cni_result *result; /* NULL: none yet */
};
void fb_cni_cache_free(struct fb_cni_cache *c);
/* A load that fails names the file and the member (PATH: .conflist:
 * expected an object, got number). */
int fb_cni_cache_load(const char *path, struct fb_cni_cache *out, struct fb_err *err) FB_MUST_CHECK;
/* The same from text; errors name the member only. */
int fb_cni_cache_parse(const char *text, size_t len, struct fb_cni_cache *out, struct fb_err *err) FB_MUST_CHECK;
int fb_cni_cache_save(const char *path, const struct fb_cni_cache *c, struct fb_err *err) FB_MUST_CHECK;
/* libcni's cached result (kind cniCacheV1), for CNI tools that read it. */
int fb_cni_libcni_save(const char *path, const char *container, const char *ifname, const char *network,
		       const struct fb_cni_result *r, struct fb_err *err) FB_MUST_CHECK;

/* tc-redirect-tap's config on stdin, for command (ADD, CHECK, DEL). */
struct fb_tap_conf {
	char *version;             /* cniVersion, or NULL */
	char *tap;                 /* tapName, default tap0 */
	long long uid, gid;        /* the tap's owner; -1: root's */
	char *mac;                 /* ifname's MAC in prevResult (ADD, CHECK) */
	struct fb_cni_result *prev; /* prevResult; NULL: none */
};
/* On failure err->kind says which CNI error it is: "json" or "invalid"
 * (the config does not decode: CNI code 6), "cni_env" (CNI_IFNAME: 4),
 * "cni_config" (no prevResult or no ifname in it: 7). */
int fb_cni_tap_conf_decode(const char *text, size_t len, const char *command, const char *ifname,
			   struct fb_tap_conf *out, struct fb_err *err) FB_MUST_CHECK;
void fb_cni_tap_conf_free(struct fb_tap_conf *c);
/* tc-redirect-tap's ADD result: prevResult, plus the tap in netns with
 * the veth's MAC. */
char *fb_cni_tap_result(const struct fb_tap_conf *c, const char *netns);
/* A CNI error object (details may be NULL). */
char *fb_cni_error_json(const char *version, int code, const char *msg, const char *details);
/* The VERSION answer of a plugin. */
char *fb_cni_version_json(void);

/* A Linux interface name: 1-15 of [A-Za-z0-9_.-], not starting with '-'. */
bool fb_cni_valid_ifname(const char *s);

/* .network from a result (docs/tools/fb-net.md): ifname's MAC and
 * addresses (ip/gateway: the first IPv4 one, else the first), the tap
 * (another interface in the namespace whose name starts with "tap"), the
 * DNS servers; mtu (may be NULL) gives ifname's MTU, asked only when the
 * result has ifname. */
void fb_cni_summarize(const struct fb_cni_result *r, const char *network, const char *netns, const char *ifname,
		      int (*mtu)(void *ctx), void *ctx, struct fb_network *out);

#endif
