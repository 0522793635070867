/* firebuild push: a tagged image to a registry, as the pipeline
 * fb-tag get NAME:VERSION | fb-fetch push --ref REF. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "proc.h"
#include "tool.h"
#include "util.h"

#include "firebuild.h"

static const char push_usage[] =
	"Usage: firebuild push NAME:VERSION [REGISTRY/]REPOSITORY[:TAG] [FLAGS]\n"
	"Push a tagged image (its OCI layers and config, as the store holds them) to a\n"
	"registry; without a TAG, VERSION is the tag:\n"
	"  fb-tag get NAME:VERSION | fb-fetch push --ref REF\n";

int cmd_push(int argc, char **argv)
{
	struct common co FB_AUTOCOMMON = COMMON_INIT(C_PUSH, push_usage);
	int rc;
	if (!parse_flags(&co, argc, argv, 0, &rc))
		return rc;
	if (co.o.nargs != 2)
		return fb_tool_usage_error("push needs NAME:VERSION and [REGISTRY/]REPOSITORY[:TAG]");
	struct fb_err err = { 0 };
	FB_AUTOFREE char *store = NULL;
	char tg[PATH_MAX + 64], fetch[PATH_MAX + 64];
	if (resolve_common(&co, "push", &store, &err) < 0 || tool_path("fb-tag", tg, sizeof(tg), &err) < 0 ||
	    tool_path("fb-fetch", fetch, sizeof(fetch), &err) < 0)
		return fail(&err);
	FB_AUTOFREE char *run_cache = co_setting(&co, S_RUN_CACHE);
	struct fb_strv a1 FB_AUTOSTRV = FB_STRV_INIT, a2 FB_AUTOSTRV = FB_STRV_INIT;
	fb_strv_push(&a1, tg);
	fb_strv_push_owned(&a1, fb_xasprintf("--store=%s", store));
	fb_strv_push(&a1, "get");
	fb_strv_push(&a1, co.o.args[0]);
	fb_strv_push(&a2, fetch);
	fb_strv_push(&a2, "push");
	fb_strv_push_owned(&a2, fb_xasprintf("--ref=%s", co.o.args[1]));
	fb_strv_push_owned(&a2, fb_xasprintf("--store=%s", store));
	if (run_cache)
		fb_strv_push_owned(&a2, fb_xasprintf("--run-cache=%s", run_cache));
	static const struct {
		enum setting s;
		const char *flag;
	} pass[] = { { S_PUSH_FORMAT, "format" }, { S_CHUNK_SIZE, "chunk-size" }, { S_CREDS, "creds" } };
	for (size_t i = 0; i < FB_ARRAY_LEN(pass); i++)
		if (co_flag(&co, pass[i].s))
			fb_strv_push_owned(&a2, fb_xasprintf("--%s=%s", pass[i].flag, co_flag(&co, pass[i].s)));
	const struct fb_strv *insecure = co_list(&co, S_INSECURE);
	for (size_t i = 0; insecure && i < insecure->n; i++)
		fb_strv_push_owned(&a2, fb_xasprintf("--insecure-registry=%s", insecure->v[i]));
	char *const *const argvs[] = { a1.v, a2.v };
	int code = 0;
	return fb_pipeline(argvs, 2, &code, &err) < 0 ? fail(&err) : code;
}
