/* The VM spec (.vm of fb-jail's input, docs/tools/fb-jail.md): what fb-jail
 * prepare writes and fb-jail start (and fb-net add, for the VM's id, run
 * directory and jail user) read. Decoded once into struct fb_vm_spec,
 * checked as it is: a member of another kind is an error that names it
 * (.vm.jail.uid: expected an integer from 0 to 4294967294, got -1), code
 * FB_EXIT_USAGE. Also what fb-jail prepare reads of fb-tag get's .image. */
#ifndef FB_SPEC_H
#define FB_SPEC_H

#include <stdbool.h>

#include "doc.h"
#include "drive.h"
#include "err.h"
#include "net.h"
#include "util.h"

struct fb_vm_setting {
	char *file, *value; /* value NULL: given as null (lib/jail refuses it) */
};

struct fb_vm_jail_spec {
	char *base;             /* <base>/<vmm>/<id>/root */
	long long uid, gid;     /* the VMM's ids (0 when not given) */
	struct fb_vm_setting *cgroup; /* written to the VM's cgroup, in order */
	size_t ncgroup;
	long long numa_node;    /* -1: none */
};

enum fb_vm_mmds {
	FB_MMDS_NONE,  /* nothing published */
	FB_MMDS_VM,    /* true: the VM's own metadata (id, image, hostname, network, ssh) */
	FB_MMDS_GIVEN, /* an object, published as it is (mmds_json) */
};

struct fb_vm_spec {
	char *id, *run_dir, *run_cache;
	char *kernel, *rootfs, *config_drive;
	char *kernel_args, *image;          /* NULL: none */
	long long cpu, mem, stop_timeout;   /* 1, 128 (MiB), 10 (s) unless given */
	bool daemonize, remove_after;
	char *vmm, *firecracker_binary, *cpu_template; /* NULL: none */
	bool smt, log_api_calls;
	enum fb_vm_mmds mmds;
	char *mmds_json;
	struct fb_vm_jail_spec *jail;       /* NULL: not jailed */
	struct fb_network *network;         /* NULL: none given in the spec */
	struct fb_drive_config *config;     /* the drive to write at config_drive; NULL: a file made before */
};

void fb_vm_spec_free(struct fb_vm_spec *s);

/* .vm of the document, checked and decoded. */
int fb_vm_spec_decode(const struct fb_doc *d, struct fb_vm_spec *out, struct fb_err *err) FB_MUST_CHECK;
/* .vm set to s. */
void fb_vm_spec_encode(struct fb_doc *d, const struct fb_vm_spec *s);

/* A tool's input document from fd, or a file: an object (anything else is
 * "the input document: expected an object, got array"), or an earlier
 * tool's error object. empty_ok: no input at all is an empty document. */
int fb_vm_doc_read(int fd, bool empty_ok, struct fb_doc **out, struct fb_err *err) FB_MUST_CHECK;
int fb_vm_doc_load(const char *path, struct fb_doc **out, struct fb_err *err) FB_MUST_CHECK;
int fb_vm_doc_parse(const char *text, size_t len, struct fb_doc **out, struct fb_err *err) FB_MUST_CHECK;
/* d on stdout (pretty on a terminal), stdout left open: for a command that
 * goes on (firebuild's), where a tool ends with fb_doc_finish. */
int fb_vm_doc_write(const struct fb_doc *d, struct fb_err *err) FB_MUST_CHECK;

/* What a VM takes of fb-tag get's .image: the tag, the ext4, and the OCI
 * config's run settings (config.config). */
struct fb_vm_image {
	char *name, *version, *rootfs;
	struct fb_strv env, entrypoint, cmd;
	char *user, *workdir, *stop_signal; /* NULL: not set */
};
int fb_vm_image_decode(const struct fb_doc *d, struct fb_vm_image *out, struct fb_err *err) FB_MUST_CHECK;
void fb_vm_image_free(struct fb_vm_image *i);

#endif
