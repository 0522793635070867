/* The config drive, host side (docs/config-drive.md): what fb-init reads
 * at boot from the VM's second disk, one JSON object padded with NULs to
 * 4 KiB. fb-jail prepare fills it from the image and the flags (and keeps
 * it in the VM spec as .vm.config); fb-jail start writes it with the
 * network once fb-net has made it. */
#ifndef FB_DRIVE_H
#define FB_DRIVE_H

#include <stdbool.h>

#include "err.h"
#include "util.h"

struct fb_network;

struct fb_drive_ssh {
	char *user;
	struct fb_strv keys; /* authorized_keys lines */
};

/* USER resolved against the image's /etc/passwd and /etc/group (runc's
 * rules, lib/sandbox/user). */
struct fb_drive_ids {
	long long uid, gid;
	long long groups[64]; /* gid first */
	int ngroups;
	char *home; /* "/" when the entry has none */
};

/* What fb-jail prepare put in the VM's fresh copy and found there (the
 * spec's .vm.config.prepared, never on the drive): fb-jail start tells
 * fb-init at the copy's first boot, so that it neither reads those files
 * again nor resolves USER (each a TCG guest's first use of a path). */
struct fb_drive_prepared {
	char *etc;  /* "sha256:..." of /etc/hosts, a NUL, run-env.sh, as written; NULL: not both */
	char *user; /* the USER it resolved ("" for none); NULL: none resolved */
	struct fb_drive_ids ids;
};

struct fb_drive_config {
	char *id, *hostname;
	struct fb_strv env, entrypoint, cmd;
	char *user, *workdir, *stop_signal; /* NULL: the image's default */
	long long stop_timeout;             /* seconds */
	struct fb_drive_ssh *ssh;           /* NULL: no SSH */
	bool discard_root;                  /* the root disk goes when the VM ends: no sync before the end */
	struct fb_drive_prepared *prepared; /* the spec's; NULL: nothing known */
	bool etc_written;                   /* drive: /etc/hosts and run-env.sh hold what this config says */
	bool ids_known;                     /* drive: prepared->ids are USER's */
};

void fb_drive_config_free(struct fb_drive_config *c);

/* The drive at path (0600: it may hold secrets), with net's interfaces
 * and name servers when net is not NULL; written atomically. */
int fb_drive_write(const char *path, const struct fb_drive_config *c, const struct fb_network *net,
		   struct fb_err *err) FB_MUST_CHECK;

#endif
