/* The replay main every fuzz target gets with FB_FUZZ_REPLAY: each file
 * named (or in a directory named) goes through LLVMFuzzerTestOneInput once,
 * so `make test` runs the committed corpora under ASan and UBSan. */
#ifndef FB_FUZZ_REPLAY_H
#define FB_FUZZ_REPLAY_H
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "err.h"
#include "util.h"

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
