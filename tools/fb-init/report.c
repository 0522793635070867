/* fb-init: lines to the console and the control port, and the end. */
#include "fb-init.h"

int g_ctl = -1;
bool g_discard_root;

/* One line (a newline added) to fd: the console, or the control port
 * (non-blocking: a moment is given for room while the host reads). */
static void line_to(int fd, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void line_to(int fd, const char *fmt, va_list ap)
{
	char buf[1100];
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	if (n < 0 || fd < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (fd == g_ctl) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		poll(&pf, 1, 2000);
	}
	if (write(fd, buf, (size_t)n) < 0) {
		/* nowhere else to say it: the console has the rest */
	}
}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line_to(2, fmt, ap);
	va_end(ap);
}

void ctl_send(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line_to(g_ctl, fmt, ap);
	va_end(ap);
}

void __attribute__((noreturn)) power_off(int code)
{
	trace_flush();
	ctl_send("exit %d", code);
	say("fb-init: workload exited with %d; powering off", code);
	/* a root disk the host throws away is not worth a sync (16 ms of a
	 * TCG guest's end) */
	if (!g_discard_root)
		sync();
	/* the VMM exits on reset (QEMU -no-reboot, Firecracker) */
	reboot(RB_AUTOBOOT);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

void __attribute__((noreturn)) fail(int code, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("fb-init: error: %s", buf);
	if (g_ctl < 0)
		g_ctl = open_ctl();
	ctl_send("error %s", buf);
	power_off(code);
}

bool g_trace;
/* The stamps wait here until trace_flush: a line on the serial console
 * costs a TCG guest a millisecond or more of output interrupts, which
 * would land in the stage after it. */
static char g_stamps[2048];
static size_t g_nstamps;

void trace(const char *what)
{
	if (!g_trace)
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	int n = snprintf(g_stamps + g_nstamps, sizeof(g_stamps) - g_nstamps, "fb-init: [%ld.%06ld] %s\n", (long)t.tv_sec,
			 t.tv_nsec / 1000, what);
	if (n > 0 && (size_t)n < sizeof(g_stamps) - g_nstamps)
		g_nstamps += (size_t)n;
}

void trace_flush(void)
{
	if (g_nstamps && write(2, g_stamps, g_nstamps) < 0) {
		/* the console is gone: nothing to tell */
	}
	g_nstamps = 0;
}
