/* A tap device redirected to and from another interface of the same
 * network namespace with tc (an ingress qdisc on each and a u32 match-all
 * filter whose action is mirred egress redirect to the other), so that a
 * VMM reading the tap is on that interface's network with its MAC and IP.
 * tc-redirect-tap (the CNI plugin) and fb-runtime (an engine's network
 * namespace) share it. Runs ip(8) and tc(8) in the calling thread's
 * network namespace. */
#ifndef FB_TCREDIRECT_H
#define FB_TCREDIRECT_H
#include <sys/types.h>

#include "err.h"

/* Make tap (owned by uid:gid when uid >= 0, with ifname's MTU, up) and the
 * redirects both ways. On failure nothing of it is left. */
int fb_tc_redirect_add(const char *ifname, const char *tap, long uid, long gid, struct fb_err *err) FB_MUST_CHECK;
/* Remove the tap and ifname's ingress qdisc; what is already gone is fine. */
void fb_tc_redirect_del(const char *ifname, const char *tap);
/* Both there (CNI CHECK). */
int fb_tc_redirect_check(const char *ifname, const char *tap, struct fb_err *err) FB_MUST_CHECK;
/* Enter the network namespace at path (setns); -1 with errno. */
int fb_netns_enter(const char *path);
#endif
