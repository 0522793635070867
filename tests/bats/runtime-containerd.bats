#!/usr/bin/env bats
# containerd (Debian's) with its runc shim (io.containerd.runc.v2) running
# fb-runtime as its runc binary: what Kubernetes' RuntimeClass uses
# (docs/kubernetes.md). containerd runs from the test's directory (root,
# state, socket), inside a network namespace the suite makes.

load helpers
load runtime

setup_file() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || skip "containerd is not installed"
	command -v containerd-shim-runc-v2 >/dev/null || skip "containerd-shim-runc-v2 is not installed"
	command -v umoci >/dev/null && command -v skopeo >/dev/null || skip "umoci/skopeo are not installed"
	runtime_setup_file
	export NS CNS WRAP C CPID
	NS=fbrtct$$
	CNS=fbrt$$
	C="$D/c"
	mkdir -p "$C"
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	WRAP="$D/fb-runtime"
	runtime_wrapper "$WRAP" noroot
	cat >"$C/config.toml" <<T
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/sock"
T
	nsenter --net="/run/netns/$NS" containerd --config "$C/config.toml" >"$C/log" 2>&1 &
	CPID=$!
	local i
	for i in $(seq 1 200); do cx version >/dev/null 2>&1 && break; sleep 0.05; done
	cx version >/dev/null
	mkimage "$D/bb.tar" localhost/fbtest/bb:1
	cx images import "$D/bb.tar" >/dev/null
}

teardown_file() {
	[ -n "${D:-}" ] || return 0
	local t
	for t in $(cx task ls -q 2>/dev/null); do cx task kill -s KILL "$t" >/dev/null 2>&1; cx task delete -f "$t" >/dev/null 2>&1; done
	for t in $(cx containers ls -q 2>/dev/null); do cx containers delete "$t" >/dev/null 2>&1; done
	[ -n "${CPID:-}" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	grep -o " $D/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "/run/containerd/runc/$CNS"
	rmdir /run/containerd/runc /run/containerd/s /run/containerd 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	runtime_teardown_file
}

cx() {
	nsenter --net="/run/netns/$NS" ctr --address "$C/sock" -n "$CNS" "$@"
}

crun_() {
	cx run --fifo-dir "$C/fifo" --runtime io.containerd.runc.v2 --runc-binary "$WRAP" "$@"
}

@test "ctr run: the task runs in a VM (the guest's kernel), its exit code comes back" {
	run_split crun_ --rm localhost/fbtest/bb:1 t1 /bin/sh -c 'echo kernel=$(uname -r); exit 7'
	[ "$status" -eq 7 ]
	[ "$output" = "kernel=$(guest_kernel_version)" ]
	[ ! -e "/run/containerd/runc/$CNS/t1" ]
}

@test "ctr task exec, ps and kill: the exec's output and code, SIGTERM trapped by the task, nothing left" {
	crun_ -d localhost/fbtest/bb:1 t2 /bin/sh -c 'trap "exit 9" TERM; echo up > /tmp/up; while :; do sleep 0.1; done'
	local i
	for i in $(seq 1 200); do cx task exec --fifo-dir "$C/fifo" --exec-id w t2 /bin/cat /tmp/up 2>/dev/null | grep -q up && break; sleep 0.05; done
	run_split cx task exec --fifo-dir "$C/fifo" --exec-id e1 t2 /bin/sh -c 'echo exec-ok; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = exec-ok ]
	run cx task ps t2
	[ "$status" -eq 0 ]
	local st="/run/containerd/runc/$CNS/t2/state.json" sup jail
	sup=$(jq -r .pid "$st")
	jail=$(jq -r .fb.jail_dir "$st")
	[[ "$output" == *"$sup"* ]]
	cx task kill t2
	for i in $(seq 1 200); do cx task ls | grep -q 't2 .*STOPPED' && break; sleep 0.05; done
	[[ "$(cx task ls)" == *STOPPED* ]]
	run_split cx task delete t2
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"exit code 9"* ]]
	cx containers delete t2
	wait_gone "$sup"
	[ ! -e "$jail" ]
	[ ! -e "/run/containerd/runc/$CNS/t2" ]
	no_leftovers
}

@test "ctr task kill -s KILL: the VM ends at once, 137" {
	crun_ -d localhost/fbtest/bb:1 t3 /bin/sh -c 'trap "" TERM; while :; do sleep 0.1; done'
	cx task kill -s KILL t3
	local i
	for i in $(seq 1 200); do cx task ls | grep -q 't3 .*STOPPED' && break; sleep 0.05; done
	run_split cx task delete t3
	[[ "$stderr" == *"exit code 137"* ]]
	cx containers delete t3
}
