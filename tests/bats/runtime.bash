# Shared set-up for the fb-runtime suites (runtime.bats, runtime-podman.bats,
# runtime-containerd.bats): a guest kernel, a static busybox rootfs, the
# runtime's settings (FB_RUNTIME_CONFIG) with a jail base in the test's
# directory, and helpers.

runtime_setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (jails, namespaces)"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
	export D KERNEL RT_ROOT FB_RUNTIME_CONFIG
	KERNEL=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
	[ -f "$KERNEL" ] || skip "no guest kernel (scripts/build-kernel)"
	grep -q 'CONFIG_9P_FS=y' "$(dirname "$KERNEL")/config" 2>/dev/null || skip "the guest kernel has no 9p (rebuild it)"
	D=$(mktemp -d /tmp/fbrt.XXXXXX)
	RT_ROOT="$D/state"
	mkdir -p "$D/rootfs/bin" "$D/rootfs/tmp" "$D/rootfs/etc" "$D/jail"
	chmod 1777 "$D/rootfs/tmp"
	cp /bin/busybox "$D/rootfs/bin/busybox"
	local c
	for c in $("$D/rootfs/bin/busybox" --list); do
		[ "$c" = busybox ] || ln -s busybox "$D/rootfs/bin/$c"
	done
	FB_RUNTIME_CONFIG="$D/settings.json"
	jq -n --arg k "$KERNEL" --arg j "$D/jail" '{kernel: $k, chroot_base: $j}' >"$FB_RUNTIME_CONFIG"
}

runtime_teardown_file() {
	[ -n "${D:-}" ] || return 0
	local s
	for s in "$RT_ROOT"/*/; do
		[ -d "$s" ] && "$FB_BIN/fb-runtime" --root "$RT_ROOT" delete --force "$(basename "$s")" >/dev/null 2>&1
	done
	command -v runc >/dev/null && for s in $(runc --root "$D/runc" list -q 2>/dev/null); do
		runc --root "$D/runc" delete --force "$s" >/dev/null 2>&1
	done
	rm -rf "$D"
}

# After each test: what a failed test left running goes.
runtime_cleanup() {
	local s
	# the namespaces a test made (a failed one leaves them)
	ip netns del "fbrth$$" 2>/dev/null
	ip netns del "fbrtc$$" 2>/dev/null
	for s in "$RT_ROOT"/*/; do
		[ -d "$s" ] && "$FB_BIN/fb-runtime" --root "$RT_ROOT" delete --force "$(basename "$s")" >/dev/null 2>&1
	done
	command -v runc >/dev/null && for s in $(runc --root "$D/runc" list -q 2>/dev/null); do
		runc --root "$D/runc" delete --force "$s" >/dev/null 2>&1
	done
	return 0
}

fbrt() {
	"$FB_BIN/fb-runtime" --root "$RT_ROOT" "$@"
}

runc_t() {
	runc --root "$D/runc" "$@"
}

# mkbundle NAME ARGS_JSON [JQ_FILTER]: runc's default config over $D/rootfs
mkbundle() {
	local b="$D/$1"
	mkdir -p "$b"
	(cd "$b" && rm -f config.json && runc spec 2>/dev/null) || jq -n '{ociVersion: "1.0.2", process: {user: {uid: 0, gid: 0}, env: ["PATH=/bin"], cwd: "/"}, root: {path: "rootfs"}, linux: {namespaces: [{type: "pid"}, {type: "network"}]}}' >"$b/config.json"
	jq --argjson a "$2" --arg r "$D/rootfs" ".process.args = \$a | .process.terminal = false | .root.path = \$r | .root.readonly = false | ${3:-.}" "$b/config.json" >"$b/c.json"
	mv "$b/c.json" "$b/config.json"
}

# The runtime-spec's state schema (schema/state-schema.json and the
# definitions it uses), transcribed: required ociVersion, id, status,
# bundle; status one of four; pid an integer >= 0; annotations strings.
state_valid() {
	python3 - "$1" <<'EOF'
import json, sys, jsonschema
schema = {
    "type": "object",
    "properties": {
        "ociVersion": {"type": "string"},
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["creating", "created", "running", "stopped"]},
        "pid": {"type": "integer", "minimum": 0},
        "bundle": {"type": "string"},
        "annotations": {"oneOf": [{"type": "object", "patternProperties": {".{1,}": {"type": "string"}}}, {"type": "null"}]},
    },
    "required": ["ociVersion", "id", "status", "bundle"],
}
jsonschema.validate(json.loads(sys.argv[1]), schema)
EOF
}

# wait_for FILE TEXT: until FILE holds TEXT (the VM's output), bounded
wait_for() {
	local i
	for i in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "# $1 never had $2: $(cat "$1" 2>/dev/null)"
	return 1
}

# wait_gone PID: until the process (not ours) is gone or a zombie
wait_gone() {
	local i
	for i in $(seq 1 600); do
		[ -e "/proc/$1" ] || return 0
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.05
	done
	return 1
}

# Nothing of ours is left: QEMU processes with our jail, jail directories
no_leftovers() {
	local p
	for p in $(pgrep -f qemu-system-x86_64); do
		! readlink "/proc/$p/root" 2>/dev/null | grep -q "^$D/"
	done
	[ -z "$(ls -A "$D/jail/qemu-system-x86_64" 2>/dev/null)" ]
	! pgrep -f -- "--root $RT_ROOT" >/dev/null
}

# The runtime as an engine runs it: engines pass no environment to the
# runtime, so a wrapper names the settings and the test's state root.
# (runtime_wrapper FILE noroot: the engine's --root, as containerd's shim gives one)
runtime_wrapper() {
	local root="--root $RT_ROOT"
	[ "${2:-}" = noroot ] && root=""
	cat >"$1" <<W
#!/bin/sh
FB_RUNTIME_CONFIG=$FB_RUNTIME_CONFIG exec $FB_BIN/fb-runtime $root "\$@"
W
	chmod 755 "$1"
}

# mkimage TAR REF: $D/rootfs as a one-layer OCI image in an oci-archive
mkimage() {
	local l="$D/layout"
	rm -rf "$l" "$D/unpacked"
	umoci init --layout "$l"
	umoci new --image "$l:img"
	umoci unpack --image "$l:img" "$D/unpacked" >/dev/null
	cp -a "$D/rootfs/." "$D/unpacked/rootfs/"
	umoci repack --refresh-bundle --image "$l:img" "$D/unpacked"
	umoci config --image "$l:img" --config.cmd /bin/sh --config.env PATH=/bin:/usr/bin
	skopeo copy "oci:$l:img" "oci-archive:$1:$2" >/dev/null
	rm -rf "$l" "$D/unpacked"
}

# podman with everything of its own in the test's directory, in $NS
pm() {
	nsenter --net="/run/netns/$NS" podman --root "$D/p/root" --runroot "$D/p/run" --tmpdir "$D/p/tmp" \
		--network-config-dir "$D/p/net" --cgroup-manager cgroupfs --events-backend file --runtime "$WRAP" "$@"
}

# wait_logs NAME TEXT: until the container's log has TEXT, bounded
wait_logs() {
	local i
	for i in $(seq 1 600); do pm logs "$1" 2>&1 | grep -q "$2" && return 0; sleep 0.05; done
	echo "# $1's log never had $2: $(pm logs "$1" 2>&1)"
	return 1
}

# The guest kernel's release, from its build configuration.
guest_kernel_version() {
	sed -n "s/^# Linux\/[^ ]* \([^ ]*\) Kernel Configuration/\1/p" "$(dirname "$KERNEL")/config"
}
