/* The supervisor's state, shared by fb-runtime-sup.c (frames, clients,
 * the loop) and fb-runtime-vm.c (the jail, the network, QEMU). */
#ifndef FB_RUNTIME_SUP_H
#define FB_RUNTIME_SUP_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "jail.h"
#include "util.h"

#include "fb-runtime.h"

#define MAX_STREAMS 64
#define MAX_CLIENTS 64
#define OBUF_HIGH (1 << 20) /* stop reading stdin while this much waits for the guest */

/* the capabilities QEMU keeps: own and read every file of the share */
#define KEEP_CAPS ((1ull << 0) | (1ull << 1) | (1ull << 2) | (1ull << 3) | (1ull << 4))

enum status { S_CREATING, S_CREATED, S_RUNNING, S_STOPPED, S_PAUSED };
static const char *const status_names[] = { "creating", "created", "running", "stopped", "paused" };

struct stream {
	bool used, started, in_done, tty;
	uint32_t id;
	int in, out, err; /* host side: we read in, write out and err */
	int conn;         /* exec: the client told of started/exit; -1 */
};

struct client {
	int fd;
	struct fb_buf buf;
	int fds[3];
	int nfds;
	uint32_t stream; /* exec: its stream once asked for */
	bool exec_wait;  /* "exec" read, its process (JSON) next */
	bool exec_tty;
};

struct sup {
	struct rt_ctx *c;
	struct rt_bundle *b;
	const struct fb_rt_settings *set;
	struct fb_rt_state state;
	struct fb_jail jail;
	bool jailed;
	pid_t vmm;
	int io, con, con_log, listen, sfd, ready_fd, slave;
	struct rt_tap *taps;
	int ntaps;
	struct stream st[MAX_STREAMS];
	struct client cl[MAX_CLIENTS];
	uint32_t next_stream;
	int start_conn;
	struct fb_buf ibuf, obuf;
	enum status status;
	int exit_code, killed;
	bool have_exit;
	char last_error[4200];
	time_t ready_by;
};

/* state.json: written with the status */
void sup_save(struct sup *s);
/* sup.sock */
int sup_listen_on(const char *path, struct fb_err *err);
/* The jail, the engine's network, the initramfs, QEMU, the io port. */
int sup_setup(struct sup *s, struct fb_err *err);
#endif
