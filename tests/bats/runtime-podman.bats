#!/usr/bin/env bats
# podman (Debian's, with conmon) running containers through fb-runtime:
# each container a microVM. Everything runs in a network namespace this
# suite makes (podman's bridge, its iptables rules and the published
# ports live there), with podman's storage, run state and network
# configuration in the test's directory. Hybrid cgroups here: cgroupfs
# manager, and ulimits under the hard limit (../shared/MACHINE-NOTES.md).

load helpers
load runtime

setup_file() {
	command -v podman >/dev/null || skip "podman is not installed"
	command -v umoci >/dev/null && command -v skopeo >/dev/null || skip "umoci/skopeo are not installed"
	runtime_setup_file
	export NS PNET WRAP
	NS=fbrtpm$$
	PNET=fbrtnet$$
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	WRAP="$D/fb-runtime"
	runtime_wrapper "$WRAP"
	mkimage "$D/bb.tar" localhost/fbtest/bb:1
	pm load -i "$D/bb.tar" >/dev/null 2>&1
	pm network create --subnet 10.89.71.0/24 "$PNET" >/dev/null
	# pm as a program, for script(1): it runs its command with $SHELL,
	# which may be dash, and dash drops bash's exported functions
	printf '#!/bin/bash\n%s\npm "$@"\n' "$(declare -f pm)" >"$D/pm"
	sed -i "2i WRAP='$WRAP' NS='$NS' D='$D'" "$D/pm"
	chmod 755 "$D/pm"
}

teardown_file() {
	[ -n "${D:-}" ] || return 0
	pm rm -fa -t 0 >/dev/null 2>&1
	pm network rm -f "$PNET" >/dev/null 2>&1
	rm -rf "/var/lib/cni/networks/$PNET"
	ip netns del "$NS" 2>/dev/null
	# podman's overlay mounts under the test's storage
	grep -o " $D/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	runtime_teardown_file
}

U=(--pull never --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

@test "podman run --rm: the command runs in a VM (the guest's kernel), its exit code comes back" {
	run_split pm run --rm "${U[@]}" --network none localhost/fbtest/bb:1 /bin/sh -c 'echo kernel=$(uname -r); exit 7'
	[ "$status" -eq 7 ]
	[ "$output" = "kernel=$(guest_kernel_version)" ]
	[ "$output" != "kernel=$(uname -r)" ]
	# --rm: nothing of the container is left in the runtime's state
	[ -z "$(ls -A "$RT_ROOT" 2>/dev/null)" ]
}

@test "podman run: -e, -w, -u, --memory and --cpus as the guest sees them" {
	run_split pm run --rm "${U[@]}" --network none -e FOO=bar -w /tmp -u 1000:1001 --memory 200m --cpus 2 \
		localhost/fbtest/bb:1 /bin/sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g) cpus=$(nproc)"; grep MemTotal /proc/meminfo'
	[ "$status" -eq 0 ]
	[[ "$output" == "bar /tmp 1000:1001 cpus=2"* ]]
	local kb
	kb=$(awk '/MemTotal/ {print $2}' <<<"$output")
	[ "$kb" -gt 150000 ] && [ "$kb" -le 204800 ]
}

@test "podman run -it: the process has a terminal (a pty over the console socket), its status comes back" {
	run script -qec "$D/pm run -it --rm --pull never --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none localhost/fbtest/bb:1 /bin/sh -c 'tty; stty size; [ -t 0 ] && echo stdin-is-tty; exit 3'" /dev/null
	[ "$status" -eq 3 ]
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *"stdin-is-tty"* ]]
	# the terminal's size reaches the guest's pty
	[[ "$output" =~ [0-9]+\ [0-9]+ ]]
}

@test "podman exec, podman logs, podman stop (STOPSIGNAL, then SIGKILL after the timeout)" {
	# --stop-signal: the image's STOPSIGNAL is what stop sends
	pm run -d "${U[@]}" --network none --name ex1 --stop-signal SIGUSR1 localhost/fbtest/bb:1 /bin/sh -c \
		'trap "echo got-usr1; exit 3" USR1; echo started; while :; do sleep 0.1; done' >/dev/null
	wait_logs ex1 started
	run_split pm exec ex1 /bin/sh -c 'echo exec-out; echo exec-err >&2; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = exec-out ]
	[ "$stderr" = exec-err ]
	run pm exec ex1 /bin/cat /proc/1/comm
	[ "$output" = init ]
	# a terminal for exec too
	run script -qec "$D/pm exec -it ex1 /bin/sh -c 'tty; exit 6'" /dev/null
	[ "$status" -eq 6 ]
	[[ "$output" == *"/dev/pts/"* ]]
	run pm stop -t 20 ex1
	[ "$status" -eq 0 ]
	run pm logs ex1
	[[ "$output" == *started* ]]
	[[ "$output" == *got-usr1* ]]
	[ "$(pm inspect -f '{{.State.ExitCode}}' ex1)" = 3 ]
	pm rm ex1 >/dev/null
	# one that ignores SIGTERM is killed when the timeout passes
	pm run -d "${U[@]}" --network none --name ex2 localhost/fbtest/bb:1 /bin/sh -c \
		'trap "" TERM; echo started; while :; do sleep 0.1; done' >/dev/null
	wait_logs ex2 started
	run pm stop -t 2 ex2
	[ "$status" -eq 0 ]
	[ "$(pm inspect -f '{{.State.ExitCode}}' ex2)" = 137 ]
	pm rm ex2 >/dev/null
}

@test "podman run -p: a published port is answered by the guest, from the test's namespace" {
	command -v curl >/dev/null || skip "curl is not installed"
	pm run -d "${U[@]}" --network "$PNET" --name web -p 18080:80 localhost/fbtest/bb:1 /bin/sh -c \
		'mkdir -p /www; echo hello-from-the-vm > /www/index.html; echo serving; exec httpd -f -p 80 -h /www' >/dev/null
	wait_logs web serving
	local i
	for i in $(seq 1 100); do
		ip netns exec "$NS" curl -s -m 2 http://127.0.0.1:18080/ 2>/dev/null | grep -q hello && break
		sleep 0.1
	done
	run ip netns exec "$NS" curl -s -m 5 http://127.0.0.1:18080/
	[ "$output" = hello-from-the-vm ]
	# the guest has the address and route the network gave the container
	run pm exec web /bin/sh -c 'ip -4 addr show eth0; ip route'
	[[ "$output" == *"inet 10.89.71."* ]]
	[[ "$output" == *"default via 10.89.71.1"* ]]
	pm rm -f -t 1 web >/dev/null
}

@test "podman rm leaves no process, jail, tap, cgroup or state" {
	pm run -d "${U[@]}" --network "$PNET" --name gone localhost/fbtest/bb:1 /bin/sh -c 'echo up; while :; do sleep 0.1; done' >/dev/null
	wait_logs gone up
	local id st sup vmm jail netns cgs
	id=$(pm inspect -f '{{.Id}}' gone)
	st="$RT_ROOT/$id/state.json"
	sup=$(jq -r .pid "$st")
	vmm=$(jq -r .fb.vmm_pid "$st")
	jail=$(jq -r .fb.jail_dir "$st")
	netns=$(jq -r .fb.netns "$st")
	cgs=$(jq -r '.fb.cgroups[]' "$st")
	kill -0 "$sup"
	kill -0 "$vmm"
	[ -d "$jail" ]
	nsenter --net="$netns" ip link show fbtap0 >/dev/null
	run pm stop -t 1 gone
	[ "$status" -eq 0 ]
	# stopped: the VM and its tap are gone, the engine's interface is as it was
	! kill -0 "$vmm" 2>/dev/null
	if [ -e "$netns" ]; then
		! nsenter --net="$netns" ip link show fbtap0 >/dev/null 2>&1
		! nsenter --net="$netns" tc qdisc show dev eth0 | grep -q ingress
	fi
	pm rm gone >/dev/null
	wait_gone "$sup"
	[ ! -e "$jail" ]
	local cg
	for cg in $cgs; do [ ! -e "$cg" ]; done
	[ ! -e "$RT_ROOT/$id" ]
	no_leftovers
}
