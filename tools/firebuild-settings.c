/* firebuild's settings: every flag of every command, the key a profile
 * keeps it under, its kind, its default and its help, in one table
 * (lib/core/settings). The flags the commands accept, the profiles'
 * keys, --help and the completion script all come from here. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "regcache.h"
#include "settings.h"
#include "store.h"
#include "util.h"

#include "firebuild.h"

enum { G_OWN, G_MACHINE, G_IGNORED, G_COMMON, G_OLD, G__COUNT };

static const char *const groups[G__COUNT] = {
	[G_OWN] = NULL,
	[G_MACHINE] = "Machine flags (run's; rootfs accepts them and ignores them with a warning):",
	[G_IGNORED] = "Accepted for the original firebuild (its builds ran in a Firecracker VM; here\n"
		      "they run in fb-exec's sandbox) and ignored with a warning:",
	[G_COMMON] = "Flags every command takes (the original's; a flag beats --profile's value):",
	[G_OLD] = "The spellings of the original's first README:",
};

/* ---- what giving a logging flag does at once ---- */

static void apply_log_level(const char *v)
{
	enum fb_log_level lvl;
	if (fb_log_parse_level(v, &lvl) == 0) {
		fb_log_set_level(lvl);
		setenv("FB_LOG", v, 1);
	}
}

static void apply_log_format(const char *v)
{
	if (fb_log_set_format(v) == 0)
		setenv("FB_LOG_FORMAT", v, 1);
}

static void apply_log_json(const char *v)
{
	if (!strcmp(v, "true"))
		apply_log_format("json");
}

static void apply_log_color(const char *v)
{
	if (!strcmp(v, "true")) {
		fb_log_set_color(1);
		setenv("FB_LOG_COLOR", "auto", 1);
	}
}

static void apply_log_force_color(const char *v)
{
	if (!strcmp(v, "true")) {
		fb_log_set_color(2);
		setenv("FB_LOG_COLOR", "always", 1);
	}
}

/* ---- checks beyond a kind ---- */

static int check_env(const char *spelling, const char *v, struct fb_err *err)
{
	if (v[0] == '=')
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s %s: a variable needs a name", spelling, v);
	return 0;
}

/* --cache-to / --cache-from: buildx's spellings (lib/image/regcache.h) */
static int check_cache(const char *spelling, const char *v, bool export, struct fb_err *err)
{
	struct fb_regcache_spec sp;
	if (fb_regcache_spec_parse(v, export, &sp, err) < 0) {
		fb_err_prefix(err, "--%s", spelling);
		return -1;
	}
	fb_regcache_spec_free(&sp);
	return 0;
}

static int check_cache_to(const char *spelling, const char *v, struct fb_err *err)
{
	return check_cache(spelling, v, true, err);
}

static int check_cache_from(const char *spelling, const char *v, struct fb_err *err)
{
	return check_cache(spelling, v, false, err);
}

static int check_cgroup(const char *spelling, const char *v, struct fb_err *err)
{
	if (!strchr(v, '=') || v[0] == '=')
		return fb_err_set(err, FB_EXIT_USAGE, "usage", "--%s %s: expected FILE=VALUE", spelling, v);
	return 0;
}

/* ---- what a profile holds until told otherwise, where it depends on the user ---- */

static const char *profile_run_cache(void)
{
	static char buf[PATH_MAX];
	if (geteuid() == 0)
		return "/var/lib/firebuild";
	const char *x = getenv("XDG_RUNTIME_DIR");
	snprintf(buf, sizeof(buf), "%s/firebuild", x && *x ? x : "/tmp");
	return buf;
}

static const char *profile_props(void)
{
	static char buf[PATH_MAX + 32];
	snprintf(buf, sizeof(buf), PROP_ROOTFS_ROOT "=%s", fb_store_default());
	return buf;
}

#define ONEOF(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define ALIASES(...) ((const char *const[]){ __VA_ARGS__, NULL })

#define BUILD (CMD(C_ROOTFS) | CMD(C_BASEOS))
#define VMS (CMD(C_LS) | CMD(C_INSPECT) | CMD(C_KILL) | CMD(C_PURGE) | CMD(C_LOGS))
#define MACHINE (CMD(C_RUN) | CMD(C_ROOTFS))

static const struct fb_setting table[S__COUNT] = {
	/* ---- every command's ---- */
	[S_PROFILE] = { .flag = "profile", .arg = "NAME", .group = G_COMMON, .cmds = C_COMMON,
			.help = "a saved set of defaults (profile-create)" },
	[S_PROFILE_DIR] = { .flag = "profile-conf-dir", .arg = "DIR", .group = G_COMMON, .cmds = C_COMMON,
			    .help = "where profiles are (/etc/firebuild/profiles; ~/.config/firebuild/profiles when not root)" },
	[S_STORE] = { .flag = "store", .arg = "DIR", .group = G_COMMON, .cmds = C_COMMON,
		      .help = "the image store (/var/lib/firebuild/store); the same as the storage provider "
			      "property rootfs-storage-root=DIR" },
	[S_LOG_LEVEL] = { .flag = "log-level", .arg = "LEVEL", .group = G_COMMON, .cmds = C_COMMON,
			  .oneof = ONEOF("debug", "info", "warn", "error"), .apply = apply_log_level,
			  .help = "debug, info, warn, error (info; FB_LOG)" },
	[S_LOG_JSON] = { .flag = "log-as-json", .kind = FB_SETTING_BOOL, .group = G_COMMON, .cmds = C_COMMON,
			 .apply = apply_log_json, .help = "JSON log lines (default on a terminal: text)" },
	[S_LOG_FORMAT] = { .flag = "log-format", .arg = "json|text", .group = G_COMMON, .cmds = C_COMMON,
			   .oneof = ONEOF("json", "text"), .apply = apply_log_format, .help = "the same, by name" },
	[S_LOG_COLOR] = { .flag = "log-color", .kind = FB_SETTING_BOOL, .group = G_COMMON, .cmds = C_COMMON,
			  .apply = apply_log_color, .help = "colour the level of text lines on a terminal" },
	[S_LOG_FORCE_COLOR] = { .flag = "log-force-color", .kind = FB_SETTING_BOOL, .group = G_COMMON, .cmds = C_COMMON,
				.apply = apply_log_force_color, .help = "colour them everywhere" },
	[S_TRACING] = { .flag = "tracing-enable", .key = "tracing_enable", .kind = FB_SETTING_BOOL, .def = "false",
			.group = G_COMMON, .cmds = C_COMMON, .help = "send a span for every step (OTLP/HTTP JSON)" },
	[S_TRACING_HOST_PORT] = { .flag = "tracing-collector-host-port", .key = "tracing_collector_host_port",
				  .arg = "HOST:PORT", .def = "127.0.0.1:6831", .group = G_COMMON, .cmds = C_COMMON,
				  .help = "the OTLP/HTTP receiver; Jaeger and the OpenTelemetry collector take OTLP/HTTP "
					  "on 4318" },
	[S_TRACING_LOG] = { .flag = "tracing-log-enable", .key = "tracing_log_enable", .kind = FB_SETTING_BOOL,
			    .def = "false", .group = G_COMMON, .cmds = C_COMMON, .help = "also log every span as it ends" },
	[S_RUN_CACHE] = { .flag = "run-cache", .key = "run_cache", .arg = "DIR", .profile_def_fn = profile_run_cache,
			  .group = G_COMMON, .cmds = C_COMMON,
			  .help = "VMs' run directories, build trees (/var/lib/firebuild; $XDG_RUNTIME_DIR/firebuild "
				  "when not root)" },
	[S_STORAGE_PROVIDER] = { .flag = "storage-provider", .key = "storage_provider", .arg = "NAME", .def = "directory",
				 .oneof = ONEOF("directory"), .group = G_COMMON, .cmds = C_COMMON,
				 .help = "the only one" },
	[S_PROP_STRING] = { .flag = "storage-provider-property-string", .key = "storage_provider_property_string",
			    .kind = FB_SETTING_MAP, .arg = "K=V", .profile_def_fn = profile_props, .group = G_COMMON,
			    .cmds = C_COMMON,
			    .help = PROP_ROOTFS_ROOT "=DIR (the store), " PROP_KERNEL_ROOT "=DIR (vmlinux files by id)" },
	[S_PROP_INT64] = { .flag = "storage-provider-property-int64", .key = "storage_provider_property_int64",
			   .kind = FB_SETTING_MAP_INT, .arg = "K=N", .profile_def = "", .group = G_COMMON,
			   .cmds = C_COMMON, .help = "(directory takes none)" },
	[S_CNI_BIN] = { .flag = "cni-bin-dir", .key = "cni_bin_dir", .kind = FB_SETTING_LIST, .arg = "DIR",
			.profile_def = "/opt/cni/bin", .group = G_COMMON, .cmds = C_COMMON,
			.help = "CNI plugins (/opt/cni/bin, then /usr/lib/cni; repeatable)" },
	[S_CNI_CONF] = { .flag = "cni-conf-dir", .key = "cni_conf_dir", .arg = "DIR", .profile_def = "/etc/cni/conf.d",
			 .group = G_COMMON, .cmds = C_COMMON, .help = "CNI networks (/etc/cni/conf.d, then /etc/cni/net.d)" },
	[S_CNI_CACHE] = { .flag = "cni-cache-dir", .key = "cni_cache_dir", .arg = "DIR", .profile_def = "/var/lib/cni",
			  .group = G_COMMON, .cmds = C_COMMON, .help = "a copy of each VM's CNI result (/var/lib/cni)" },
	[S_BIN_FC] = { .flag = "binary-firecracker", .key = "binary_firecracker", .arg = "PATH",
		       .profile_def = "/usr/bin/firecracker", .group = G_COMMON, .cmds = C_COMMON,
		       .help = "Firecracker (the one in PATH)" },
	[S_BIN_JAILER] = { .flag = "binary-jailer", .key = "binary_jailer", .arg = "PATH", .profile_def = "/usr/bin/jailer",
			   .group = G_COMMON, .cmds = C_COMMON, .help = "not used: firebuild jails the VMM itself" },
	[S_CHROOT_BASE] = { .flag = "chroot-base", .key = "chroot_base", .arg = "DIR", .def = "/srv/jailer",
			    .group = G_COMMON, .cmds = C_COMMON, .help = "the jails' base" },
	[S_JAILER_UID] = { .flag = "jailer-uid", .key = "jailer_uid", .kind = FB_SETTING_INT, .arg = "N", .max = LLONG_MAX,
			   .group = G_COMMON, .cmds = C_COMMON, .help = "the VMM's user (65534, nobody)" },
	[S_JAILER_GID] = { .flag = "jailer-gid", .key = "jailer_gid", .kind = FB_SETTING_INT, .arg = "N", .max = LLONG_MAX,
			   .group = G_COMMON, .cmds = C_COMMON, .help = "the VMM's group (the user's number)" },
	[S_NUMA] = { .flag = "jailer-numa-node", .key = "jailer_numa_node", .kind = FB_SETTING_INT, .arg = "N",
		     .max = LLONG_MAX, .group = G_COMMON, .cmds = C_COMMON,
		     .help = "pin the VMM to a NUMA node's CPUs and memory (cpuset cgroup)" },
	[S_NETNS] = { .flag = "netns", .key = "netns", .arg = "PATH", .group = G_COMMON, .cmds = C_COMMON,
		      .help = "run the VM in this network namespace (a file under /var/run/netns) instead of making one" },
	[S_HELP] = { .flag = "help", .kind = FB_SETTING_HELP, .group = G_COMMON, .cmds = C_COMMON, .help = "this text" },

	/* ---- rootfs, baseos, import ---- */
	[S_DOCKERFILE] = { .flag = "dockerfile", .arg = "SRC", .group = G_OWN, .cmds = BUILD,
			   .help = "a path, an http(s) URL, or a git source (git+https://HOST/REPO.git:/DIR/Dockerfile#REF); "
				   "baseos: a Dockerfile, or a directory holding one (baseos/busybox, "
				   "baseos/debian/bookworm, ...)" },
	[S_CONTEXT] = { .flag = "context", .arg = "DIR", .group = G_OWN, .cmds = BUILD,
			.help = "the build context (default: the Dockerfile's directory)" },
	[S_DOCKER_IMAGE] = { .flag = "docker-image", .arg = "REF", .group = G_OWN, .cmds = CMD(C_ROOTFS),
			     .help = "registry reference, docker-archive:PATH, oci:DIR[:TAG] or oci-archive:PATH[:TAG]" },
	[S_TAG] = { .flag = "tag", .arg = "NAME:VERSION", .group = G_OWN, .cmds = BUILD | CMD(C_IMPORT),
		    .help = "the tag to give it (required; baseos: by default the FROM value, for FROM scratch the "
			    "directory's name, version latest)" },
	[S_BUILD_ARG] = { .flag = "build-arg", .kind = FB_SETTING_LIST, .arg = "K=V", .group = G_OWN, .cmds = BUILD,
			  .help = "a build argument (repeatable)" },
	[S_TARGET] = { .flag = "target", .aliases = ALIASES("dockerfile-stage"), .arg = "STAGE", .group = G_OWN,
		       .cmds = BUILD, .help = "the stage to build" },
	[S_NO_CACHE] = { .flag = "no-cache", .kind = FB_SETTING_SWITCH, .group = G_OWN, .cmds = BUILD,
			 .help = "run every step, ignoring the build cache" },
	[S_SECRET] = { .flag = "secret", .kind = FB_SETTING_LIST, .arg = "id=ID,src=FILE", .group = G_OWN, .cmds = BUILD,
		       .help = "a RUN --mount=type=secret source (repeatable)" },
	[S_PRE_BUILD] = { .flag = "pre-build-command", .arg = "CMD", .group = G_OWN, .cmds = CMD(C_ROOTFS),
			  .help = "run CMD (sh -c) in the build sandbox before the target stage's first step (cached "
				  "like a RUN)" },
	[S_POST_BUILD] = { .flag = "post-build-command", .arg = "CMD", .group = G_OWN, .cmds = CMD(C_ROOTFS),
			   .help = "and after its last step" },
	[S_SOURCE_DATE_EPOCH] = { .flag = "source-date-epoch", .kind = FB_SETTING_INT, .arg = "SECONDS", .min = 0,
				  .max = 253402300799LL, .group = G_OWN, .cmds = BUILD, .env = "SOURCE_DATE_EPOCH",
				  .help = "a reproducible build: the image's and its history's created time, and no file in a "
					  "layer newer than this (seconds since 1970; default: $SOURCE_DATE_EPOCH); also the "
					  "build arg SOURCE_DATE_EPOCH" },
	[S_DISK_SIZE] = { .flag = "disk-size", .arg = "SIZE", .group = G_OWN, .cmds = BUILD | CMD(C_IMPORT),
			  .help = "file system size (default: content + headroom)" },
	[S_FS_SIZE] = { .flag = "filesystem-size-mbs", .kind = FB_SETTING_INT, .arg = "N", .min = 1, .max = LLONG_MAX,
			.group = G_OWN, .cmds = CMD(C_BASEOS),
			.help = "file system size in MiB (default: content + headroom; 500 in the original)" },
	[S_PLATFORM] = { .flag = "platform", .arg = "OS/ARCH", .group = G_OWN, .cmds = BUILD,
			 .help = "platform to pick from a manifest list" },
	[S_INSECURE] = { .flag = "insecure-registry", .kind = FB_SETTING_LIST, .arg = "HOST", .group = G_OWN,
			 .cmds = BUILD | CMD(C_PUSH), .help = "plain http to HOST (repeatable)" },
	[S_CREDS] = { .flag = "creds", .arg = "USER:PASSWORD", .group = G_OWN, .cmds = CMD(C_ROOTFS) | CMD(C_PUSH),
		      .help = "registry credentials (else ~/.docker/config.json)" },
	[S_CACHE_TO] = { .flag = "cache-to", .arg = "REF[,mode=min|max]", .check = check_cache_to, .group = G_OWN,
			 .cmds = BUILD,
			 .help = "push the build cache to a registry (type=registry,ref=REF,mode=max as buildx writes "
				 "it; mode=min: the final image's steps, max: every stage's; ignore-error=true)" },
	[S_CACHE_FROM] = { .flag = "cache-from", .kind = FB_SETTING_LIST, .arg = "REF", .check = check_cache_from,
			   .group = G_OWN, .cmds = BUILD,
			   .help = "use a build cache from a registry (repeatable; also type=registry,ref=REF); one "
				   "that cannot be used is a warning" },

	/* ---- push ---- */
	[S_PUSH_FORMAT] = { .flag = "format", .arg = "oci|docker", .oneof = ONEOF("oci", "docker"), .group = G_OWN,
			    .cmds = CMD(C_PUSH), .help = "the manifest: OCI (default) or Docker schema 2" },
	[S_CHUNK_SIZE] = { .flag = "chunk-size", .arg = "SIZE", .group = G_OWN, .cmds = CMD(C_PUSH),
			   .help = "blobs larger than SIZE go up in chunks (default 32M)" },

	/* ---- run, exec ---- */
	[S_FROM] = { .flag = "from", .arg = "NAME:VERSION", .group = G_OWN, .cmds = CMD(C_RUN) | CMD(C_EXEC),
		     .help = "the image (required)" },
	[S_NAME] = { .flag = "name", .arg = "ID", .group = G_OWN, .cmds = CMD(C_RUN),
		     .help = "1-20 of [a-zA-Z0-9], unique among running VMs (default: a random id)" },
	[S_HOSTNAME] = { .flag = "hostname", .arg = "NAME", .group = G_OWN, .cmds = CMD(C_RUN),
			 .help = "(default: a random Docker-style name)" },
	[S_ENV] = { .flag = "env", .kind = FB_SETTING_LIST, .arg = "K=V", .check = check_env, .group = G_OWN,
		    .cmds = CMD(C_RUN),
		    .help = "added to the image's ENV after the --env-file files, in order (repeatable; K alone: our "
			    "value of K)" },
	[S_ENV_FILE] = { .flag = "env-file", .kind = FB_SETTING_LIST, .arg = "FILE", .group = G_OWN, .cmds = CMD(C_RUN),
			 .help = "K=V lines added to the image's ENV (repeatable)" },
	[S_DAEMONIZE] = { .flag = "daemonize", .kind = FB_SETTING_SWITCH, .group = G_OWN, .cmds = CMD(C_RUN),
			  .help = "print the VM's state and return; the console goes to firebuild logs --vmm-id=ID" },
	[S_PORT] = { .flag = "port", .kind = FB_SETTING_LIST, .arg = "[HOSTIP|IFACE:][HOSTPORT:]PORT[/tcp|udp]",
		     .group = G_OWN, .cmds = CMD(C_RUN), .help = "publish a guest port (repeatable)" },
	[S_IDENTITY] = { .flag = "identity-file", .kind = FB_SETTING_LIST, .arg = "KEY.pub", .group = G_OWN,
			 .cmds = CMD(C_RUN),
			 .help = "with --ssh-user: the key in USER's authorized_keys (repeatable; USER made when missing, "
				 "host keys made per VM, the image's sshd or dropbear started)" },
	[S_VMM] = { .flag = "vmm", .key = "vmm", .arg = "qemu|firecracker", .oneof = ONEOF("qemu", "firecracker", "auto"),
		    .group = G_OWN, .cmds = CMD(C_RUN) | CMD(C_PROFILE_CREATE),
		    .help = "the backend (default: the profile's, else Firecracker where /dev/kvm works and its binary "
			    "is there, else QEMU)" },
	[S_CGROUP] = { .flag = "cgroup", .kind = FB_SETTING_LIST, .arg = "FILE=VALUE", .check = check_cgroup,
		       .group = G_OWN, .cmds = CMD(C_RUN), .help = "a cgroup setting for the VMM's jail (repeatable)" },
	[S_NO_JAIL] = { .flag = "no-jail", .kind = FB_SETTING_SWITCH, .group = G_OWN, .cmds = CMD(C_RUN),
			.help = "run the VMM unjailed (as root)" },
	[S_TIMINGS] = { .flag = "timings", .kind = FB_SETTING_SWITCH, .group = G_OWN, .cmds = BUILD | CMD(C_RUN),
			.help = "print where the time went at the end (run: when the VM ends; with --daemonize, when it "
				"runs)" },
	[S_X_USER] = { .flag = "user", .arg = "USER[:GROUP]", .group = G_OWN, .cmds = CMD(C_EXEC),
		       .help = "who runs CMD (default: the image's User)" },
	[S_X_WORKDIR] = { .flag = "workdir", .arg = "DIR", .group = G_OWN, .cmds = CMD(C_EXEC),
			  .help = "where CMD runs (default: the image's WorkingDir)" },
	[S_X_ENV] = { .flag = "env", .kind = FB_SETTING_LIST, .arg = "K=V", .group = G_OWN, .cmds = CMD(C_EXEC),
		      .help = "added to the image's Env (repeatable)" },
	[S_X_NETWORK] = { .flag = "network", .arg = "none|host", .group = G_OWN, .cmds = CMD(C_EXEC),
			  .help = "fb-exec's --network" },
	[S_X_TIMEOUT] = { .flag = "timeout", .arg = "S", .group = G_OWN, .cmds = CMD(C_EXEC),
			  .help = "kill everything after this long (exit 124)" },

	/* ---- the others' own ---- */
	[S_VMM_ID] = { .flag = "vmm-id", .arg = "ID", .group = G_OWN, .cmds = VMS, .help = "the VM (firebuild ls)" },
	[S_KILL_TIMEOUT] = { .flag = "shutdown-timeout", .kind = FB_SETTING_SECONDS, .arg = "S", .def = "15",
			     .max = LLONG_MAX, .group = G_OWN, .cmds = VMS,
			     .help = "kill: how long the workload has to stop before it is killed" },
	[S_KERNEL_ID] = { .flag = "id", .arg = "ID", .group = G_OWN, .cmds = CMD(C_KERNEL),
			  .help = "add: the kernel's name (what --vmlinux-id names)" },
	[S_KERNEL_DEFAULT] = { .flag = "default", .kind = FB_SETTING_SWITCH, .group = G_OWN, .cmds = CMD(C_KERNEL),
			       .help = "add: what run uses without --vmlinux-id from now on" },
	[S_CACHE_MAX_AGE] = { .flag = "cache-max-age", .arg = "D", .group = G_OWN, .cmds = CMD(C_IMAGE),
			      .help = "gc: also drop build cache entries unused for D (168h; 0: all)" },
	[S_OVERWRITE] = { .flag = "overwrite", .kind = FB_SETTING_SWITCH, .group = G_OWN, .cmds = CMD(C_PROFILE_CREATE),
			  .help = "replace an existing profile" },

	/* ---- the original's machine flags ---- */
	[S_CNI_NET] = { .flag = "cni-network-name", .arg = "NET", .group = G_MACHINE, .cmds = MACHINE,
			.help = "put the VM on this CNI network (fb-net)" },
	[S_IP] = { .flag = "ip-address", .arg = "IP", .group = G_MACHINE, .cmds = MACHINE,
		   .help = "ask the network's IPAM for this address" },
	[S_CPU] = { .flag = "cpu", .kind = FB_SETTING_INT, .arg = "N", .def = "1", .min = 1, .max = 64,
		    .group = G_MACHINE, .cmds = MACHINE },
	[S_MEM] = { .flag = "mem", .kind = FB_SETTING_INT, .arg = "MiB", .def = "128", .min = 32, .max = LONG_MAX,
		    .group = G_MACHINE, .cmds = MACHINE },
	[S_CPU_TEMPLATE] = { .flag = "cpu-template", .arg = "T2|T2S|T2CL|T2A|C3|None",
			     .oneof = ONEOF("T2", "T2S", "T2CL", "T2A", "C3", "None"), .group = G_MACHINE,
			     .cmds = MACHINE, .help = "Firecracker's CPU template (QEMU: ignored)" },
	[S_HT] = { .flag = "ht-enabled", .kind = FB_SETTING_BOOL, .group = G_MACHINE, .cmds = MACHINE,
		   .help = "Firecracker's smt (QEMU: two threads a core)" },
	[S_KARGS] = { .flag = "kernel-args", .arg = "ARGS", .group = G_MACHINE, .cmds = MACHINE,
		      .help = "(console=ttyS0 noapic reboot=k panic=1 pci=off nomodules rw for Firecracker; QEMU adds "
			      "what it needs)" },
	[S_NO_MMDS] = { .flag = "no-mmds", .kind = FB_SETTING_BOOL, .group = G_MACHINE, .cmds = MACHINE,
			.help = "do not publish the VM's metadata via Firecracker's MMDS" },
	[S_PARTUUID] = { .flag = "root-drive-partuuid", .arg = "ID", .group = G_MACHINE, .cmds = MACHINE,
			 .help = "(ignored: root drives are whole-disk ext4)" },
	[S_SSH_USER] = { .flag = "ssh-user", .arg = "USER", .group = G_MACHINE, .cmds = MACHINE,
			 .help = "see --identity-file" },
	[S_VMLINUX] = { .flag = "vmlinux-id", .key = "vmlinux_id", .arg = "ID", .group = G_MACHINE,
			.cmds = MACHINE | CMD(C_PROFILE_CREATE),
			.help = "a kernel from firebuild kernel ls, or a file of that name in kernel-storage-root "
				"(default: the profile's, else the store's default)" },
	[S_LOG_FC_HTTP] = { .flag = "log-firecracker-http-calls", .kind = FB_SETTING_BOOL, .group = G_MACHINE,
			    .cmds = MACHINE, .help = "log every Firecracker API call" },
	[S_GRACEFUL] = { .flag = "shutdown-graceful-timeout-seconds", .aliases = ALIASES("shutdown-timeout"),
			 .kind = FB_SETTING_SECONDS, .arg = "S", .def = "30", .max = LLONG_MAX, .group = G_MACHINE,
			 .cmds = MACHINE, .help = "how long a stop waits for the workload before it is killed" },

	/* ---- accepted for the original, and ignored ---- */
	[S_DOCKER_IMAGE_BASE] = { .flag = "docker-image-base", .arg = "IMAGE", .group = G_IGNORED, .cmds = CMD(C_ROOTFS),
				  .help = "not needed: layers are converted directly" },
	[S_BOOTSTRAP_KEY_SIZE] = { .flag = "bootstrap-certs-key-size", .arg = "N", .group = G_IGNORED,
				   .cmds = CMD(C_ROOTFS) },
	[S_BOOTSTRAP_VALIDITY] = { .flag = "bootstrap-certs-validity", .arg = "D", .group = G_IGNORED,
				   .cmds = CMD(C_ROOTFS) },
	[S_BOOTSTRAP_TIMEOUT] = { .flag = "bootstrap-initial-communication-timeout", .arg = "D", .group = G_IGNORED,
				  .cmds = CMD(C_ROOTFS) },
	[S_BOOTSTRAP_IFACE] = { .flag = "bootstrap-server-bind-interface", .arg = "IF", .group = G_IGNORED,
				.cmds = CMD(C_ROOTFS) },
	[S_SERVICE_INSTALLER] = { .flag = "service-file-installer", .arg = "FILE", .group = G_IGNORED,
				  .cmds = CMD(C_ROOTFS), .help = "fb-init runs the image's ENTRYPOINT/CMD" },

	/* ---- the original's first README ---- */
	[S_OLD_STORAGE_PROVIDER] = { .flag = "storage.provider", .into = "storage-provider", .group = G_OLD,
				     .cmds = C_COMMON },
	[S_OLD_ROOTFS_ROOT] = { .flag = "storage.provider.directory.rootfs-storage-root", .arg = "DIR",
				.into = "storage-provider-property-string", .into_prefix = PROP_ROOTFS_ROOT "=",
				.group = G_OLD, .cmds = C_COMMON },
	[S_OLD_KERNEL_ROOT] = { .flag = "storage.provider.directory.kernel-storage-root", .arg = "DIR",
				.into = "storage-provider-property-string", .into_prefix = PROP_KERNEL_ROOT "=",
				.group = G_OLD, .cmds = C_COMMON },
	[S_OLD_CNI_NET] = { .flag = "machine-cni-network-name", .into = "cni-network-name", .group = G_OLD, .cmds = MACHINE },
	[S_OLD_SSH_USER] = { .flag = "machine-ssh-user", .into = "ssh-user", .group = G_OLD, .cmds = MACHINE },
	[S_OLD_VMLINUX] = { .flag = "machine-vmlinux-id", .into = "vmlinux-id", .group = G_OLD, .cmds = MACHINE },
	[S_OLD_CPU] = { .flag = "resources-cpu", .into = "cpu", .group = G_OLD, .cmds = MACHINE },
	[S_OLD_MEM] = { .flag = "resources-mem", .into = "mem", .group = G_OLD, .cmds = MACHINE },
	[S_OLD_DETACHED] = { .flag = "detached", .into = "daemonize", .group = G_OLD, .cmds = CMD(C_RUN) },
};

const struct fb_settings firebuild_settings = {
	.v = table,
	.n = FB_ARRAY_LEN(table),
	.groups = groups,
	.ngroups = G__COUNT,
};
