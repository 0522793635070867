/* Fuzz target: the strings a Dockerfile or a command line names sources
 * with, one a line: ADD's git repository forms (fb_git_url_parse), the git
 * Dockerfile sources (fb_source_parse_git) and image references
 * (fb_ref_parse). Built with clang -fsanitize=fuzzer for `make fuzz`; the
 * replay build runs the committed corpus in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ref.h"
#include "source.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fb_xstrndup((const char *)data, size);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *url = NULL, *ref = NULL, *sub = NULL, *path = NULL;
		if (fb_git_url_parse(line, &url, &ref, &sub)) {
			/* what the builder relies on: a URL, an optional ref and subdir */
			if (!url || (ref && !*ref))
				abort();
			free(url), free(ref), free(sub);
		}
		if (fb_source_parse_git(line, &url, &path, &ref)) {
			if (!url || !path || !*path)
				abort();
			free(url), free(path), free(ref);
		}
		struct fb_ref r;
		struct fb_err err = { 0 };
		if (fb_ref_parse(line, &r, &err) == 0)
			fb_ref_free(&r);
	}
	free(text);
	return 0;
}

#ifdef FB_FUZZ_REPLAY
#include "replay.h"
#endif
