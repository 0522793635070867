/* The documents the tools read, as shapes (lib/json): each is checked
 * once, where it enters a tool, so the code after it reads members of the
 * kinds it expects (jq 1.6 aborts on a jv of another kind, and a
 * pipeline's documents are input like any other). A failure is of code
 * FB_EXIT_USAGE, kind "invalid", and names the member:
 *   .plan.stages[1].instructions[0].dest: missing (expected a string)
 * These functions have no side effects: the fuzz targets call them as the
 * tools do. The VM path's documents are lib/vm's codecs (vm_doc, state_doc,
 * net_doc, cni_doc). */
#ifndef FB_SHAPE_H
#define FB_SHAPE_H

#include <jv.h>

struct fb_err;

/* A plan (docs/plan.md) as the builder and fb-fetch read it, with what
 * the builder relies on beyond kinds (a stage's base stage comes before
 * it, the target is one of the stages); path names it (".plan"). */
int fb_shape_plan(jv plan, const char *path, struct fb_err *err);

/* fb-parse's input document: {"source": {"dockerfile", "target"?}}. */
int fb_shape_parse_input(jv doc, struct fb_err *err);
/* fb-fetch image's input document: a plan. */
int fb_shape_fetch_input(jv doc, struct fb_err *err);
/* fb-mkrootfs's input document: .plan and .source (a build), or .image. */
int fb_shape_rootfs_input(jv doc, struct fb_err *err);
/* fb-tag put's input document: .rootfs and .image. */
int fb_shape_put_input(jv doc, struct fb_err *err);
/* fb-exec's spec: {"exec": {...}}. */
int fb_shape_exec_spec(jv doc, struct fb_err *err);

#endif
