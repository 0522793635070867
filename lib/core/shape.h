/* The documents the tools read, as shapes (lib/json): each is checked
 * once, where it enters a tool, so the code after it reads members of the
 * kinds it expects (jq 1.6 aborts on a jv of another kind, and a
 * pipeline's documents are input like any other). A failure is of code
 * FB_EXIT_USAGE, kind "invalid", and names the member:
 *   .plan.stages[1].instructions[0].dest: missing (expected a string)
 * These functions have no side effects: the fuzz targets call them as the
 * tools do. The CNI documents are lib/cni's, fb-exec's spec
 * lib/sandbox/exec_doc's; the plan, .source, .image and .rootfs are their
 * codecs' (plan_doc.c, source_doc.c, image_doc.c, rootfs_doc.c), which
 * decode and check them in one step. */
#ifndef FB_SHAPE_H
#define FB_SHAPE_H

#include "err.h"

#include <jv.h>

struct fb_err;

/* fb-jail start's spec: {"vm": {...}}. */
int fb_shape_vm_spec(jv doc, struct fb_err *err) FB_MUST_CHECK;
/* A VM's state.json, as ls, inspect, kill and stop read it. */
int fb_shape_vm_state(jv st, struct fb_err *err) FB_MUST_CHECK;

#endif
