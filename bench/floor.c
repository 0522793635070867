/* The floor for bench/convert: read and decompress every layer with
 * libarchive, throwing the data away. Nothing can convert faster. */
#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	setlocale(LC_CTYPE, "C.UTF-8");
	static char buf[1 << 20];
	long long total = 0;
	for (int i = 1; i < argc; i++) {
		struct archive *a = archive_read_new();
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
		if (archive_read_open_filename(a, argv[i], 1 << 20) != ARCHIVE_OK) {
			fprintf(stderr, "%s: %s\n", argv[i], archive_error_string(a));
			return 1;
		}
		struct archive_entry *e;
		int r;
		while ((r = archive_read_next_header(a, &e)) >= ARCHIVE_WARN && r != ARCHIVE_EOF) {
			la_ssize_t n;
			while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
				total += n;
		}
		archive_read_free(a);
	}
	printf("%lld bytes\n", total);
	return 0;
}
