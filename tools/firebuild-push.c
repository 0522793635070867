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
	"  fb-tag get NAME:VERSION | fb-fetch push --ref REF\n"
	"\n"
	"  --format oci|docker         the manifest: OCI (default) or Docker schema 2\n"
	"  --chunk-size SIZE           blobs larger than SIZE go up in chunks (default 32M)\n"
	"  --creds USER:PASSWORD       registry credentials (else ~/.docker/config.json)\n"
	"  --insecure-registry HOST    plain http to HOST (repeatable)\n";

int cmd_push(int argc, char **argv)
{
	enum { U_FORMAT = 0x3c00, U_CHUNK };
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "format", required_argument, NULL, U_FORMAT },
		{ "chunk-size", required_argument, NULL, U_CHUNK },
		{ "creds", required_argument, NULL, O_CREDS },
		{ "insecure-registry", required_argument, NULL, O_INSECURE },
		{ NULL, 0, NULL, 0 },
	};
	struct common co = COMMON_INIT(push_usage);
	struct fb_strv tail = FB_STRV_INIT; /* fb-fetch push's flags */
	char *store = NULL, *run_cache = NULL;
	int c, exit_now = -1, rc = FB_EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(c, &co, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
			continue;
		}
		switch (c) {
		case U_FORMAT: fb_strv_push_owned(&tail, fb_xasprintf("--format=%s", optarg)); break;
		case U_CHUNK: fb_strv_push_owned(&tail, fb_xasprintf("--chunk-size=%s", optarg)); break;
		case O_CREDS: fb_strv_push_owned(&tail, fb_xasprintf("--creds=%s", optarg)); break;
		case O_INSECURE: fb_strv_push_owned(&tail, fb_xasprintf("--insecure-registry=%s", optarg)); break;
		default: rc = fb_tool_bad_option(argv); goto out;
		}
	}
	if (optind + 2 != argc) {
		rc = fb_tool_usage_error("push needs NAME:VERSION and [REGISTRY/]REPOSITORY[:TAG]");
		goto out;
	}
	struct fb_err err = { 0 };
	char tg[PATH_MAX + 64], fetch[PATH_MAX + 64];
	if (resolve_common(&co, "push", &store, &err) < 0 || tool_path("fb-tag", tg, sizeof(tg), &err) < 0 ||
	    tool_path("fb-fetch", fetch, sizeof(fetch), &err) < 0) {
		rc = fail(&err);
		goto out;
	}
	run_cache = co_setting(&co, co.run_cache, "run_cache");
	struct fb_strv a1 = FB_STRV_INIT, a2 = FB_STRV_INIT;
	fb_strv_push(&a1, tg);
	fb_strv_push_owned(&a1, fb_xasprintf("--store=%s", store));
	fb_strv_push(&a1, "get");
	fb_strv_push(&a1, argv[optind]);
	fb_strv_push(&a2, fetch);
	fb_strv_push(&a2, "push");
	fb_strv_push_owned(&a2, fb_xasprintf("--ref=%s", argv[optind + 1]));
	fb_strv_push_owned(&a2, fb_xasprintf("--store=%s", store));
	if (run_cache)
		fb_strv_push_owned(&a2, fb_xasprintf("--run-cache=%s", run_cache));
	for (size_t i = 0; i < tail.n; i++)
		fb_strv_push(&a2, tail.v[i]);
	char *const *const argvs[] = { a1.v, a2.v };
	int code = 0;
	rc = fb_pipeline(argvs, 2, &code, &err) < 0 ? fail(&err) : code;
	fb_strv_free(&a1);
	fb_strv_free(&a2);
out:
	fb_strv_free(&tail);
	free(store);
	free(run_cache);
	common_free(&co);
	return rc;
}
