/* CNI documents (spec 0.4.0 and 1.0.0) as fb-net and tc-redirect-tap read
 * them: a network configuration list, a plugin's result, fb-net's cache
 * of both, fb-net's input document and tc-redirect-tap's config. Each is
 * checked where it is read (lib/json shapes: a member of another kind is
 * an error naming it, never an abort); nothing here has side effects, so
 * the fuzz targets call these as the tools do. */
#ifndef FB_CNI_H
#define FB_CNI_H

#include <jv.h>
#include <stdbool.h>

struct fb_err;

/* The network a configuration file names (a copy), or NULL when it is not
 * a configuration (not an object, no string .name). Borrows conf. */
char *fb_cni_conf_name(jv conf);
/* A .conflist, or a single plugin's .conf as a list of one: *list (owned)
 * gets {name, cniVersion, plugins: [{type, ...}, ...]}. Borrows conf. */
int fb_cni_conflist(jv conf, jv *list, struct fb_err *err);
/* A plugin's ADD result ({interfaces, ips, dns, ...}). */
int fb_cni_result_check(jv result, struct fb_err *err);
/* fb-net's cache (<run-dir>/cni.json): {conflist, bin_dirs, netns,
 * netns_owned, cni_cache_dir, result}. */
int fb_cni_cache_check(jv cache, struct fb_err *err);
/* fb-net's input document (a pipeline's, which it adds .network to). */
int fb_cni_net_input_check(jv doc, struct fb_err *err);

/* .network from a checked result (docs/tools/fb-net.md): ifname's MAC and
 * addresses, the tap, the DNS servers; mtu (may be NULL) gives ifname's
 * MTU, asked only when the result has ifname. */
jv fb_cni_summarize(jv result, const char *network, const char *netns, const char *ifname, int (*mtu)(void *ctx),
		    void *ctx);

/* A Linux interface name: 1-15 of [A-Za-z0-9_.-], not starting with '-'. */
bool fb_cni_valid_ifname(const char *s);

/* tc-redirect-tap's config on stdin, for command (ADD, CHECK, DEL). */
struct fb_tap_conf {
	char *version;      /* cniVersion, or NULL */
	char *tap;          /* tapName, default tap0 */
	long long uid, gid; /* the tap's owner; -1: root's */
	char *mac;          /* ifname's MAC in prevResult (ADD, CHECK) */
	jv prev;            /* prevResult (owned), null when there is none */
};
/* On failure err->kind says which CNI error it is: "invalid" (the config
 * does not decode: CNI code 6), "cni_env" (CNI_IFNAME: 4), "cni_config"
 * (no prevResult or no ifname in it: 7). */
int fb_cni_tap_conf(jv conf, const char *command, const char *ifname, struct fb_tap_conf *out, struct fb_err *err);
void fb_cni_tap_conf_free(struct fb_tap_conf *c);

#endif
