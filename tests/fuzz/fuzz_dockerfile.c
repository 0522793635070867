/* Fuzz target: Dockerfile text through the parser, the BuildKit dump, the
 * plan builder (which runs the shell lexer on every expandable word) and
 * the JSON writer. Built with clang -fsanitize=fuzzer for `make fuzz`;
 * with FB_FUZZ_REPLAY it gets a main that replays files or directories,
 * so gcc's ASan runs the committed corpus in `make test`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dockerfile.h"
#include "err.h"
#include "json.h"
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
	jv plan;
	if (fb_plan_build(&df, &o, &plan, &err) == 0)
		free(fb_json_dump(plan, true));
	fb_vars_free(&o.build_args);
	fb_df_free(&df);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
static int replay_file(const char *path)
{
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err err = { 0 };
	if (fb_read_file(path, &b, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
	fb_buf_free(&b);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += replay_file(argv[i]) < 0;
			n++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[i], e->d_name);
			bad += replay_file(p) < 0;
			n++;
		}
		if (d)
			closedir(d);
	}
	printf("replayed %d inputs\n", n);
	return bad ? 1 : 0;
}
#endif
