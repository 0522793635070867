#!/usr/bin/env bats
# fb-runtime against what an attacker controls: the rootfs of the image
# (FIFOs, device nodes, links where the runtime makes mount points), the
# workload in the guest (the 9p share it owns, the fb.io port it can take
# from fb-init, the console), the bundle's config.json and annotations,
# and the command line. docs/tools/fb-runtime.md, "Security".

load helpers
load runtime

setup_file() {
	runtime_setup_file
}

teardown_file() {
	runtime_teardown_file
}

teardown() {
	runtime_cleanup
	# a test's own namespaces and mounts
	ip netns del "fbrtx$$" 2>/dev/null
	umount "$D/vol/sub" 2>/dev/null
	return 0
}

# rootfs_copy NAME: a rootfs of its own for a test that changes it
rootfs_copy() {
	rm -rf "$D/$1"
	cp -a "$D/rootfs" "$D/$1"
}

@test "a FIFO or a device node of the image where a bound file goes is never opened on the host" {
	rootfs_copy rf1
	rm -f "$D/rf1/etc/resolv.conf" "$D/rf1/etc/hosts"
	mkfifo "$D/rf1/etc/resolv.conf"
	# a device that does something when opened for writing would do it on the host
	mknod "$D/rf1/etc/hosts" c 1 3
	printf 'nameserver 192.0.2.53\n' >"$D/resolv"
	printf '192.0.2.7 h\n' >"$D/hosts"
	mkbundle b1 '["/bin/sh","-c","cat /etc/resolv.conf /etc/hosts"]' \
		".root.path = \"$D/rf1\" | .mounts += [{destination: \"/etc/resolv.conf\", type: \"bind\", source: \"$D/resolv\", options: [\"bind\",\"ro\"]}, {destination: \"/etc/hosts\", type: \"bind\", source: \"$D/hosts\", options: [\"bind\",\"ro\"]}]"
	# (bounded: the open of the FIFO, by the host or fb-init in the guest,
	# used to wait for a reader forever)
	run_split timeout 120 "$FB_BIN/fb-runtime" --root "$RT_ROOT" run --bundle "$D/b1" fifo1
	[ "$status" -eq 0 ]
	[[ "$output" == *"nameserver 192.0.2.53"* ]]
	[[ "$output" == *"192.0.2.7 h"* ]]
	# what the image had is as it was
	[ -p "$D/rf1/etc/resolv.conf" ] && [ -c "$D/rf1/etc/hosts" ]
	no_leftovers
}

@test "org.firebuild.kernel that is a FIFO or a device is refused (no copy into the jail hangs or fills the disk)" {
	mkfifo "$D/kfifo"
	local k
	for k in "$D/kfifo" /dev/zero; do
		mkbundle b1 '["/bin/true"]' ".annotations[\"org.firebuild.kernel\"] = \"$k\""
		run_split timeout 60 "$FB_BIN/fb-runtime" --root "$RT_ROOT" create --bundle "$D/b1" kern1
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"$k: not a regular file"* ]]
	done
	[ -z "$(ls -A "$RT_ROOT" 2>/dev/null)" ]
	no_leftovers
}

@test "delete --force and kill do not wait for a supervisor that does not answer" {
	mkbundle b1 '["/bin/sh","-c","while :; do sleep 0.1; done"]'
	fbrt create --bundle "$D/b1" --pid-file "$D/pid" stuck1 </dev/null >/dev/null 2>&1
	fbrt start stuck1
	local pid cgs
	pid=$(cat "$D/pid")
	cgs=$(jq -r '.fb.cgroups[]' "$RT_ROOT/stuck1/state.json")
	kill -STOP "$pid"
	run timeout 120 "$FB_BIN/fb-runtime" --root "$RT_ROOT" kill stuck1 TERM
	[ "$status" -eq 0 ]
	run timeout 120 "$FB_BIN/fb-runtime" --root "$RT_ROOT" delete --force stuck1
	[ "$status" -eq 0 ]
	wait_gone "$pid"
	[ ! -e "$RT_ROOT/stuck1" ]
	local cg
	for cg in $cgs; do [ ! -d "$cg" ]; done
	no_leftovers
}

@test "the command line: ids with a leading dot (runc's state under the root) and a --root longer than PATH_MAX are refused" {
	mkdir -p "$RT_ROOT/.runc/keep"
	run_split fbrt delete --force .runc
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"invalid container id format: .runc"* ]]
	[ -d "$RT_ROOT/.runc/keep" ]
	run_split fbrt exec .runc true
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"invalid container id format"* ]]
	run_split fbrt exec ../x true
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"invalid container id format"* ]]
	rmdir "$RT_ROOT/.runc/keep" "$RT_ROOT/.runc"
	# a relative --root past PATH_MAX: an error, not a smashed stack
	run_split "$FB_BIN/fb-runtime" --root "$(printf 'r%.0s' $(seq 1 5000))" list
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"File name too long"* ]]
}
