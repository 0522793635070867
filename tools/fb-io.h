/* The fb.io port between fb-runtime's supervisor and fb-init in OCI mode
 * (docs/tools/fb-runtime.md): one virtio-serial port carrying frames, a
 * 12-byte header {u32 stream, u32 kind, u32 len} (little endian, x86) and
 * len bytes. Stream 0 is the container's process, streams 1.. the
 * processes `exec` starts. Control and data share the port, so the order
 * holds: a stream's last output comes before its EXIT.
 * Plain C with no library of ours: fb-init (static, musl) includes it too. */
#ifndef FB_IO_H
#define FB_IO_H
#include <stdint.h>

#define FB_IO_PORT "fb.io"
/* what the initramfs holds: fb-init as /init and the container's config */
#define FB_OCI_CONFIG "/fb-oci.json"
#define FB_IO_DATA_MAX 16384       /* data frames are cut to this */
#define FB_IO_FRAME_MAX (4u << 20) /* larger frames end the connection */

struct fb_io_hdr {
	uint32_t stream;
	uint32_t kind;
	uint32_t len;
};

enum fb_io_kind {
	/* host -> guest */
	FB_IO_START = 1,   /* stream 0: run the process (`start`) */
	FB_IO_SIGNAL = 2,  /* u32 signal, u32 all (1: every process, `kill --all`) */
	FB_IO_EXEC = 3,    /* the runtime-spec process (JSON) to run as a new stream */
	FB_IO_STDIN = 4,   /* data for its stdin; len 0: the end of it */
	FB_IO_WINSIZE = 5, /* u16 rows, u16 cols: its terminal's size */
	/* guest -> host */
	FB_IO_READY = 16,   /* stream 0: booted and configured, waiting for START */
	FB_IO_STARTED = 17, /* u32 pid (the guest's) */
	FB_IO_STDOUT = 18,
	FB_IO_STDERR = 19,
	FB_IO_EXIT = 20,  /* u32 code: the status, or 128+N for signal N */
	FB_IO_ERROR = 21, /* text: why it could not start; its EXIT follows */
};
#endif
