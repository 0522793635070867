#!/usr/bin/env bats
# Running VMs safely (issue 12): a VM's files are no one else's; a start
# that fails, or is killed half-way, leaves nothing that purge cannot find
# (network namespace, veth, IPAM lease, iptables chain, jail, cgroup, run
# directory); a name is taken by one start only, and no VMM runs that no
# run directory shows. Everything networked runs in a network namespace
# the test makes (unshare --net, or ip netns add).

load helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, jails)"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	export D FB_STORE FB_RUN_CACHE KERNEL NETFLAGS
	KERNEL=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
	[ -f "$KERNEL" ] || skip "no guest kernel (scripts/build-kernel)"
	D=$(mktemp -d /tmp/fbvs.XXXXXX)
	# others may traverse the test's directory: the VM's own directories
	# must be what keeps them out
	chmod 755 "$D"
	FB_STORE="$D/store"
	FB_RUN_CACHE="$D/rc"
	mkdir -p "$D/conf" "$D/cni"
	cat >"$D/conf/fbvs.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "fbvs", "plugins": [
  {"type": "bridge", "bridge": "fbvs0", "isGateway": true,
   "ipam": {"type": "host-local", "subnet": "10.91.0.0/24", "dataDir": "$D/ipam"}},
  {"type": "firewall"},
  {"type": "tc-redirect-tap"}]}
EOF
	# the same, and a last plugin that holds the start until it is killed
	cat >"$D/conf/fbhold.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "fbhold", "plugins": [
  {"type": "bridge", "bridge": "fbvs1", "isGateway": true,
   "ipam": {"type": "host-local", "subnet": "10.92.0.0/24", "dataDir": "$D/ipam"}},
  {"type": "firewall"},
  {"type": "tc-redirect-tap"},
  {"type": "fbvs-hold"}]}
EOF
	cat >"$D/cni/fbvs-hold" <<EOF
#!/bin/sh
# ADD: say so, then wait to be killed; DEL and CHECK: done
case "\$CNI_COMMAND" in
ADD) echo \$\$ > $D/held; exec sleep 600 ;;
VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}' ;;
esac
exit 0
EOF
	chmod 755 "$D/cni/fbvs-hold"
	# a "firecracker" that opens its API socket and never answers: a start
	# held once its network, ports, jail and cgroups are all made
	cat >"$D/fc-hang" <<'EOF'
#!/usr/bin/python3
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[sys.argv.index("--api-sock") + 1])
s.listen(8)
time.sleep(600)
EOF
	chmod 755 "$D/fc-hang"
	NETFLAGS="--cni-conf-dir=$D/conf --cni-bin-dir=/usr/lib/cni --cni-bin-dir=$FB_BIN --cni-bin-dir=$D/cni"
	# what a VM named $1 left behind, one "left:" line a thing
	cat >"$D/left.sh" <<EOF
#!/bin/bash
n=\$1
[ -e /var/run/netns/fb-\$n ] && echo "left: netns fb-\$n"
ip -br link | grep -q veth && echo "left: a veth"
find $D/ipam -name '10.*' 2>/dev/null | grep -q . && echo "left: an IPAM lease \$(find $D/ipam -name '10.*')"
iptables -t nat -S 2>/dev/null | grep -q "FB[DS]-\$n" && echo "left: its iptables chains"
iptables -S 2>/dev/null | grep -q '10\.9[12]\.' && echo "left: a firewall rule"
[ -e $D/rc/runs/\$n ] && echo "left: its run directory"
ls -d $D/rc/runs/.claim-* 2>/dev/null | sed 's/^/left: /'
ls -d $D/jail/*/\$n 2>/dev/null | sed 's/^/left: a jail /'
for c in /sys/fs/cgroup/firebuild/\$n /sys/fs/cgroup/*/firebuild/\$n; do [ -e \$c ] && echo "left: cgroup \$c"; done
echo checked
EOF
	chmod 755 "$D/left.sh"
	firebuild kernel add --id=k "$KERNEL" >/dev/null
	firebuild baseos --dockerfile="$FB_ROOT/baseos/busybox" --tag=fb/busybox:1 >/dev/null 2>&1
}

teardown_file() {
	[ -n "${D:-}" ] || return 0
	local id
	firebuild ls 2>/dev/null | jq -r '.vms[].id' 2>/dev/null | while read -r id; do
		firebuild kill --vmm-id="$id" --shutdown-timeout=1 >/dev/null 2>&1
	done
	firebuild purge >/dev/null 2>&1
	[ -s "$D/held" ] && kill "$(cat "$D/held")" 2>/dev/null
	for id in /var/run/netns/fb-hz*; do [ -e "$id" ] && ip netns del "$(basename "$id")" 2>/dev/null; done
	ip netns del hzexec 2>/dev/null
	rm -rf "$D"
}

# in_netns SCRIPT: run a bash script in a new network namespace
in_netns() {
	run --separate-stderr unshare --net bash -c "set -e; ip link set lo up; $1"
}

# as_nobody CMD...: the command as an unprivileged user
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# live PID-or-pattern: processes (not zombies) of uid $1 or whose command line has $2
live() {
	{ ps -u "$1" -o stat=,pid= 2>/dev/null; ps -eo stat=,pid=,args= | grep -F -- "$2" | grep -v grep; } | grep -v '^Z' || true
}

@test "a VM's disks, config drive and state are no one else's: jailed, the jail user's (0600, directories 0700); --no-jail, root's; ls, inspect, logs work" {
	command -v setpriv >/dev/null || skip "no setpriv"
	local rc="$D/pub/rc" jb="$D/pub/jail"
	mkdir -p "$D/pub" && chmod 755 "$D/pub"
	run --separate-stderr firebuild run --run-cache="$rc" --from=fb/busybox:1 --name=hzperm --daemonize --jailer-uid=4327 \
		--jailer-gid=4327 --chroot-base="$jb" -- /bin/sh -c 'echo perm-ready; while :; do sleep 1; done'
	echo "$stderr"
	[ "$status" -eq 0 ]
	local root="$jb/qemu-system-x86_64/hzperm/root" run="$rc/runs/hzperm" f i
	for i in $(seq 1 300); do firebuild logs --run-cache="$rc" --vmm-id=hzperm | grep -q perm-ready && break; sleep 0.2; done
	run firebuild logs --run-cache="$rc" --vmm-id=hzperm
	[[ "$output" == *perm-ready* ]]
	run --separate-stderr firebuild inspect --run-cache="$rc" --vmm-id=hzperm
	[ "$(jq -r .state <<<"$output")" = running ]
	run --separate-stderr firebuild ls --run-cache="$rc"
	[ "$(jq -r '.vms[0].id' <<<"$output")" = hzperm ]
	# the jail user's alone
	for f in "$root/rootfs.ext4" "$root/config.drive"; do
		[ "$(stat -c '%u:%g %a' "$f")" = "4327:4327 600" ]
	done
	[ "$(stat -c '%u:%g %a' "$root")" = "4327:4327 700" ]
	[ "$(stat -c '%u %a' "$jb/qemu-system-x86_64/hzperm")" = "0 700" ]
	[ "$(stat -c '%u %a' "$run")" = "0 700" ]
	[ "$(stat -c '%a' "$run/state.json")" = 600 ]
	# and no one else reads them, by any path
	for f in "$root/rootfs.ext4" "$root/config.drive" "$run/rootfs.ext4" "$run/config.drive" "$run/state.json"; do
		run as_nobody head -c 1 "$f"
		[ "$status" -ne 0 ]
	done
	run as_nobody ls "$run"
	[ "$status" -ne 0 ]
	run as_nobody ls "$root"
	[ "$status" -ne 0 ]
	run --separate-stderr firebuild kill --run-cache="$rc" --vmm-id=hzperm --shutdown-timeout=2
	[ "$status" -eq 0 ]
	# unjailed: root's
	run --separate-stderr firebuild run --run-cache="$rc" --from=fb/busybox:1 --name=hzperm2 --daemonize --no-jail \
		-- /bin/sh -c 'echo perm2-ready; while :; do sleep 1; done'
	[ "$status" -eq 0 ]
	run="$rc/runs/hzperm2"
	for i in $(seq 1 300); do firebuild logs --run-cache="$rc" --vmm-id=hzperm2 | grep -q perm2-ready && break; sleep 0.2; done
	for f in "$run/rootfs.ext4" "$run/config.drive" "$run/state.json"; do
		[ "$(stat -c '%u:%g %a' "$f")" = "0:0 600" ]
		run as_nobody head -c 1 "$f"
		[ "$status" -ne 0 ]
	done
	[ "$(stat -c '%u %a' "$run")" = "0 700" ]
	run as_nobody ls "$run"
	[ "$status" -ne 0 ]
	run --separate-stderr firebuild kill --run-cache="$rc" --vmm-id=hzperm2 --shutdown-timeout=2
	[ "$status" -eq 0 ]
}

@test "a start that fails after its network is made (no such NUMA node, a bad --cgroup value, no firecracker binary) leaves nothing; the same name then boots" {
	in_netns "
		for bad in --jailer-numa-node=97 --cgroup=cpu.shares=notanumber '--vmm=firecracker --binary-firecracker=/no/such/firecracker'; do
			echo \"== \$bad\"
			firebuild run --from=fb/busybox:1 --name=hzfail --chroot-base=$D/jail --cni-network-name=fbvs --port=8091:80 \
				$NETFLAGS \$bad -- /bin/true && echo unexpected-success || echo failed=\$?
			$D/left.sh hzfail
			firebuild run --from=fb/busybox:1 --name=hzfail --chroot-base=$D/jail --cni-network-name=fbvs --port=8091:80 \
				$NETFLAGS -- /bin/sh -c 'echo retry-booted'
			$D/left.sh hzfail
		done
	"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" != *unexpected-success* ]]
	[[ "$output" != *"left:"* ]]
	[ "$(grep -c '^failed=' <<<"$output")" -eq 3 ]
	[ "$(grep -c '^retry-booted' <<<"$output")" -eq 3 ]
	[ "$(grep -c '^checked' <<<"$output")" -eq 6 ]
	[[ "$stderr" == *"no such NUMA node"* ]]
	[[ "$stderr" == *"cpu.shares"* ]]
	[[ "$stderr" == *"no firecracker binary"* ]]
}

@test "under ip netns exec (its own /sys: the cgroup mounts hidden) a jailed VM on a network boots, and leaves nothing" {
	in_netns "
		ip netns add hzexec
		trap 'ip netns del hzexec' EXIT
		ip netns exec hzexec ip link set lo up
		ip netns exec hzexec firebuild run --from=fb/busybox:1 --name=hzexec --chroot-base=$D/jail --cni-network-name=fbvs \
			--port=8092:80 --cpu=1 --mem=96 $NETFLAGS -- /bin/sh -c 'echo booted-in-ip-netns-exec; ip addr show eth0 | grep -w inet'
		ip netns exec hzexec $D/left.sh hzexec
		# daemonized there, in its cgroup; killed by another ip netns exec
		# (a mount namespace where the VM's is not mounted: DEL goes
		# without CNI_NETNS)
		ip netns exec hzexec firebuild run --from=fb/busybox:1 --name=hzexec2 --daemonize --chroot-base=$D/jail \
			--cni-network-name=fbvs --port=8095:80 $NETFLAGS -- /bin/sh -c 'while :; do sleep 1; done' > $D/ex2.json
		grep -q firebuild/hzexec2 /proc/\$(jq -r .vm.pid $D/ex2.json)/cgroup && echo vmm-in-its-cgroup
		ip netns exec hzexec firebuild kill --vmm-id=hzexec2 --shutdown-timeout=1 > /dev/null && echo killed-from-another
		# the VM's namespace, and its veth with it, go once nothing holds them
		for i in \$(seq 1 100); do ip netns exec hzexec ip -br link | grep -q veth || break; sleep 0.1; done
		ip netns exec hzexec $D/left.sh hzexec2
	"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *booted-in-ip-netns-exec* ]]
	[[ "$output" == *"inet 10.91.0."* ]]
	[[ "$output" == *vmm-in-its-cgroup*killed-from-another* ]]
	[[ "$output" != *"left:"* ]]
	[ "$(grep -c '^checked' <<<"$output")" -eq 2 ]
	[ ! -e /var/run/netns/hzexec ]
}

@test "a start killed with -9 half-way (in the CNI chain; in the VMM's start, jailed, with ports): purge removes all of it, and the name works again" {
	in_netns "
		rm -f $D/held
		setsid firebuild run --from=fb/busybox:1 --name=hzkill --chroot-base=$D/jail --cni-network-name=fbhold --port=8093:80 \
			$NETFLAGS -- /bin/true > /dev/null 2>&1 &
		pid=\$!
		for i in \$(seq 1 600); do [ -s $D/held ] && break; sleep 0.1; done
		[ -s $D/held ]
		kill -9 -- -\$pid
		wait \$pid || true
		[ -e /var/run/netns/fb-hzkill ] && echo had-netns
		find $D/ipam -name '10.92.*' | grep -q . && echo had-lease
		firebuild purge | jq -c .purged
		$D/left.sh hzkill
		setsid firebuild run --from=fb/busybox:1 --name=hzkill --chroot-base=$D/jail --cni-network-name=fbvs --port=8094:80 \
			--vmm=firecracker --binary-firecracker=$D/fc-hang $NETFLAGS -- /bin/true > /dev/null 2>&1 &
		pid=\$!
		for i in \$(seq 1 600); do [ -S $D/jail/firecracker/hzkill/root/run/fc.sock ] && break; sleep 0.1; done
		[ -S $D/jail/firecracker/hzkill/root/run/fc.sock ]
		iptables -t nat -S | grep -q FBD-hzkill && echo had-chain
		ls -d /sys/fs/cgroup/firebuild/hzkill /sys/fs/cgroup/cpu/firebuild/hzkill 2>/dev/null | grep -q . && echo had-cgroup
		kill -9 -- -\$pid
		wait \$pid || true
		firebuild purge | jq -c .purged
		$D/left.sh hzkill
		firebuild run --from=fb/busybox:1 --name=hzkill --chroot-base=$D/jail --cni-network-name=fbvs $NETFLAGS -- /bin/sh -c 'echo name-free-again'
		$D/left.sh hzkill
	"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *had-netns*had-lease* ]]
	[[ "$output" == *had-chain*had-cgroup* ]]
	[ "$(grep -c '^\["hzkill"\]' <<<"$output")" -eq 2 ]
	[[ "$output" == *name-free-again* ]]
	[[ "$output" != *"left:"* ]]
	[ "$(grep -c '^checked' <<<"$output")" -eq 3 ]
}

@test "two runs of one name at once: one starts, the other exits 4 having made nothing; after kill no VMM or supervisor is left (5 rounds)" {
	local round s1 s2 p1 p2
	for round in 1 2 3 4 5; do
		firebuild run --from=fb/busybox:1 --name=hzrace --daemonize --jailer-uid=4326 --chroot-base="$D/jail" \
			-- /bin/sh -c 'while :; do sleep 1; done' >"$D/race1.out" 2>"$D/race1.err" &
		p1=$!
		firebuild run --from=fb/busybox:1 --name=hzrace --daemonize --jailer-uid=4326 --chroot-base="$D/jail" \
			-- /bin/sh -c 'while :; do sleep 1; done' >"$D/race2.out" 2>"$D/race2.err" &
		p2=$!
		s1=0 s2=0
		wait "$p1" || s1=$?
		wait "$p2" || s2=$?
		echo "round $round: $s1 $s2"
		cat "$D/race1.err" "$D/race2.err"
		[ "$(printf '%s\n' "$s1" "$s2" | sort | tr '\n' ' ')" = "0 4 " ]
		grep -q "a VM of that name is \(starting\|running\)" "$D/race1.err" "$D/race2.err"
		run --separate-stderr firebuild ls
		[ "$(jq '[.vms[] | select(.id == "hzrace" and .state == "running")] | length' <<<"$output")" -eq 1 ]
		run --separate-stderr firebuild kill --vmm-id=hzrace --shutdown-timeout=1
		[ "$status" -eq 0 ]
		[ -z "$(live 4326 "runs/hzrace/")" ]
		[ ! -e "$FB_RUN_CACHE/runs/hzrace" ] && [ ! -e "$D/jail/qemu-system-x86_64/hzrace" ]
		[ -z "$(ls -A "$FB_RUN_CACHE/runs")" ]
	done
}

@test "run racing kill: kill stops the VM or says it is not there; no VMM or supervisor is left that no run directory shows (5 rounds)" {
	local round p k rs
	for round in 1 2 3 4 5; do
		firebuild run --from=fb/busybox:1 --name=hzrk --daemonize --jailer-uid=4328 --chroot-base="$D/jail" \
			-- /bin/sh -c 'while :; do sleep 1; done' >/dev/null 2>"$D/rk.err" &
		p=$!
		k=3
		while kill -0 "$p" 2>/dev/null; do
			k=0
			firebuild kill --vmm-id=hzrk --shutdown-timeout=1 >/dev/null 2>&1 || k=$?
			[ "$k" -eq 0 ] && break
		done
		rs=0
		wait "$p" || rs=$?
		echo "round $round: run $rs, kill $k"
		[ "$k" -eq 0 ] || [ "$k" -eq 3 ]
		[ "$rs" -eq 0 ] || [ "$rs" -eq 1 ]
		# what is still there is a VM that ls shows, and kill stops
		if firebuild ls | jq -e '.vms[] | select(.id == "hzrk")' >/dev/null; then
			run --separate-stderr firebuild kill --vmm-id=hzrk --shutdown-timeout=1
			[ "$status" -eq 0 ]
		fi
		[ -z "$(live 4328 "runs/hzrk/")" ]
		[ ! -e "$FB_RUN_CACHE/runs/hzrk" ] && [ ! -e "$D/jail/qemu-system-x86_64/hzrk" ]
	done
}
