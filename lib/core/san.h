/* san: what the sanitizer runtime of `make test`'s build (ASan, UBSan,
 * LSan: build/san) must be told about what a tool does behind its back.
 * Nothing at all in a normal build. */
#ifndef FB_SAN_H
#define FB_SAN_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>

/* The child of a clone() runs on the stack it was given, not on the
 * thread's: said first thing in the child, so that ASan's no-return
 * handling (a call to _exit) unpoisons that stack instead of warning that
 * the stack is not the one it knows. */
static inline void fb_san_child_stack(void *bottom, size_t size)
{
	__sanitizer_start_switch_fiber(NULL, bottom, size);
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
}

/* Past a pivot_root the report directory (log_path) is out of reach:
 * reports go to stderr instead of failing to open their file. */
static inline void fb_san_report_to_stderr(void)
{
	__sanitizer_set_report_path("stderr");
}

/* A daemon ends with _exit, which skips LeakSanitizer's check at exit:
 * the check, now (a leak ends the process with the report). */
static inline void fb_san_leak_check(void)
{
	__lsan_do_leak_check();
}
#else
static inline void fb_san_child_stack(void *bottom, size_t size)
{
	(void)bottom;
	(void)size;
}

static inline void fb_san_report_to_stderr(void)
{
}

static inline void fb_san_leak_check(void)
{
}
#endif

#endif
