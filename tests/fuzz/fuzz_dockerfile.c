/* Fuzz target: Dockerfile text through the parser, the BuildKit dump, the
 * plan builder (which runs the shell lexer on every expandable word) and
 * the plan's codec (written, and read back as fb-mkrootfs reads it). Built with clang -fsanitize=fuzzer for `make fuzz`;
 * with FB_FUZZ_REPLAY it gets a main that replays files or directories,
 * so gcc's ASan runs the committed corpus in `make test`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "doc.h"
#include "dockerfile.h"
#include "err.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_df df;
	struct fb_err err = { 0 };
	if (fb_df_parse((const char *)data, size, "fuzz", &df, &err) < 0)
		return 0;
	struct fb_buf dump = FB_BUF_INIT;
	fb_df_dump(&df, &dump);
	fb_buf_free(&dump);
	struct fb_plan_opts o = { 0 };
	fb_vars_set(&o.build_args, "A", "1");
	struct fb_plan plan;
	if (fb_plan_build(&df, &o, &plan, &err) == 0) {
		struct fb_doc *doc = fb_doc_new();
		fb_plan_doc_set(doc, &plan);
		free(fb_doc_dump(doc, true));
		struct fb_plan back;
		bool present;
		struct fb_err e2 = { 0 };
		if (fb_plan_from_doc(doc, true, &back, &present, &e2) == 0)
			fb_plan_free(&back);
		fb_doc_free(doc);
		fb_plan_free(&plan);
	}
	fb_vars_free(&o.build_args);
	fb_df_free(&df);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
