/* A tiny TAP harness: a table of named cases, the plan counted from the
 * table, 77 from a case means skip. */
#ifndef FB_TAP_H
#define FB_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tap_case {
	const char *name;
	int (*fn)(void);
};

static int tap_failures;

/* Print a diagnostic and fail the current case. */
__attribute__((format(printf, 1, 2))) static inline int tap_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	return 1;
}

#define TAP_CHECK(cond)                                                               \
	do {                                                                          \
		if (!(cond))                                                          \
			return tap_fail("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
	} while (0)

#define TAP_STREQ(a, b)                                                                        \
	do {                                                                                   \
		const char *tap_a_ = (a), *tap_b_ = (b);                                       \
		if (!tap_a_ || !tap_b_ || strcmp(tap_a_, tap_b_) != 0)                         \
			return tap_fail("%s:%d: '%s' != '%s'", __FILE__, __LINE__,             \
					tap_a_ ? tap_a_ : "(null)", tap_b_ ? tap_b_ : "(null)"); \
	} while (0)

static inline int tap_run(const struct tap_case *cases, size_t n)
{
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		fflush(stdout);
		int r = cases[i].fn();
		if (r == 77)
			printf("ok %zu - %s # SKIP\n", i + 1, cases[i].name);
		else if (r == 0)
			printf("ok %zu - %s\n", i + 1, cases[i].name);
		else {
			printf("not ok %zu - %s\n", i + 1, cases[i].name);
			tap_failures++;
		}
	}
	fflush(stdout);
	return tap_failures ? 1 : 0;
}

#define TAP_MAIN(table)                                                   \
	int main(void)                                                    \
	{                                                                 \
		return tap_run(table, sizeof(table) / sizeof((table)[0])); \
	}

#endif
