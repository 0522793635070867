#!/usr/bin/env bats
# fb-net, tc-redirect-tap and VMs on a CNI network. Every scenario runs in
# a network namespace of its own (unshare --net): the bridge, the veths and
# the traffic stay there; the VMs' namespaces are removed by the tests.

load helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	export D FB_STORE FB_RUN_CACHE KERNEL
	D=$(mktemp -d /tmp/fbnet.XXXXXX)
	FB_STORE="$D/store"
	FB_RUN_CACHE="$D/rc"
	mkdir -p "$D/conf"
	cat >"$D/conf/fbtest.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "fbtest", "plugins": [
  {"type": "bridge", "bridge": "fbbr0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "subnet": "10.88.0.0/24", "dataDir": "$D/ipam"}},
  {"type": "firewall"},
  {"type": "tc-redirect-tap"}]}
EOF
	cat >"$D/conf/old.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "oldspec", "plugins": [
  {"type": "bridge", "bridge": "fbbr1", "isGateway": true,
   "ipam": {"type": "host-local", "subnet": "10.89.0.0/24", "dataDir": "$D/ipam"}},
  {"type": "tc-redirect-tap"}]}
EOF
	cat >"$D/conf/mtu.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "mtunet", "plugins": [
  {"type": "bridge", "bridge": "fbbr2", "isGateway": true, "mtu": 1400,
   "ipam": {"type": "host-local", "subnet": "10.90.0.0/24", "dataDir": "$D/ipam"}},
  {"type": "tc-redirect-tap"}]}
EOF
	cat >"$D/conf/broken.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "broken", "plugins": [{"type": "no-such-plugin"}]}
EOF
	export NETFLAGS="--cni-conf-dir=$D/conf --cni-bin-dir=/usr/lib/cni --cni-bin-dir=$FB_BIN"
	KERNEL=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
	if [ -f "$KERNEL" ] && command -v qemu-system-x86_64 >/dev/null; then
		firebuild kernel add --id=k "$KERNEL" >/dev/null
		firebuild baseos --dockerfile="$FB_ROOT/baseos/busybox" --tag=fb/busybox:1 >/dev/null 2>&1
	fi
}

teardown_file() {
	[ -n "${D:-}" ] || return 0
	local n
	for n in /var/run/netns/fb-n*; do [ -e "$n" ] && ip netns del "$(basename "$n")" 2>/dev/null; done
	rm -rf "$D"
}

# in_netns SCRIPT: run a bash script in a new network namespace
in_netns() {
	run --separate-stderr unshare --net bash -c "set -e; ip link set lo up; $1"
}

@test "fb-net: add makes the namespace, the veth and the tap with tc redirects both ways; check; del leaves nothing, twice" {
	in_netns "
		fb-net add --id nt1 --network fbtest --run-dir $D/runs/nt1 $NETFLAGS > $D/add.json
		ip netns exec fb-nt1 ip -br addr show eth0
		ip netns exec fb-nt1 ip -br link show tap0
		ip netns exec fb-nt1 tc filter show dev eth0 ingress
		ip netns exec fb-nt1 tc filter show dev tap0 ingress
		fb-net check --id nt1 --run-dir $D/runs/nt1
		fb-net del --id nt1 --run-dir $D/runs/nt1
		fb-net del --id nt1 --run-dir $D/runs/nt1
		echo veths=\$(ip -br link | grep -c veth || true)
	"
	[ "$status" -eq 0 ]
	[[ "$output" == *"eth0@"*"10.88.0."* ]]
	[[ "$output" == *tap0* ]]
	[ "$(grep -c 'mirred' <<<"$output")" -ge 2 ] || [ "$(grep -c 'action order' <<<"$output")" -ge 2 ]
	[[ "$output" == *'{"checked":true}'* ]]
	[[ "$output" == *"veths=0"* ]]
	[ "$(jq -r .network.tap "$D/add.json")" = tap0 ]
	[ "$(jq -r '.network.interfaces[0].ip' "$D/add.json")" = "10.88.0.2/24" ] || [[ "$(jq -r '.network.interfaces[0].ip' "$D/add.json")" == 10.88.0.*/24 ]]
	[ "$(jq -r '.network.interfaces[0].gateway' "$D/add.json")" = 10.88.0.1 ]
	[ ! -e /var/run/netns/fb-nt1 ]
	[ ! -e "$D/runs/nt1/cni.json" ]
	# the address went back to the pool
	[ -z "$(ls "$D/ipam/fbtest" | grep '^10\.88' || true)" ]
}

@test "fb-net: a 0.4.0 conflist, --ip-address; bad input: unknown network, missing plugin, address outside the subnet" {
	in_netns "
		fb-net add --id nt2 --network oldspec --ip-address 10.89.0.77 --run-dir $D/runs/nt2 $NETFLAGS > $D/add2.json
		fb-net del --id nt2 --run-dir $D/runs/nt2
	"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.network.interfaces[0].ip' "$D/add2.json")" = "10.89.0.77/24" ]
	in_netns "fb-net add --id nt3 --network nosuch --run-dir $D/runs/nt3 $NETFLAGS"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no conflist of that name"* ]]
	in_netns "fb-net add --id nt3 --network broken --run-dir $D/runs/nt3 $NETFLAGS"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no-such-plugin is not in"* ]]
	in_netns "fb-net add --id nt3 --network fbtest --ip-address 192.168.5.5 --run-dir $D/runs/nt3 $NETFLAGS"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"host-local"* || "$stderr" == *"bridge"* ]]
	# a failed add leaves no namespace and no cache
	[ ! -e /var/run/netns/fb-nt3 ]
	[ ! -e "$D/runs/nt3/cni.json" ]
	run fb-net add --id nt3 --network fbtest --ip-address 'x;y' $NETFLAGS
	[ "$status" -eq 2 ]
}

@test "fb-net in a pipeline: the document read gets .network; an error object passes through add, check and del; usage errors are error objects" {
	in_netns "
		echo '{\"tag\":{\"name\":\"acme/x\"}}' | fb-net add --id nt7 --network fbtest --run-dir $D/runs/nt7 $NETFLAGS > $D/add7.json
		echo '{\"tag\":{\"name\":\"acme/x\"}}' | fb-net check --id nt7 --run-dir $D/runs/nt7
		fb-net del --id nt7 --run-dir $D/runs/nt7 </dev/null
	"
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ "$(jq -r .tag.name "$D/add7.json")" = acme/x ]
	[ "$(jq -r .network.tap "$D/add7.json")" = tap0 ]
	[[ "$output" == '{"tag":{"name":"acme/x"},"checked":true}'* ]]
	[ ! -e /var/run/netns/fb-nt7 ]
	# the failure of the tool before goes on unchanged, and nothing is done
	local e='{"error":{"tool":"fb-tag","kind":"not_found","message":"no such tag","exit_code":3}}' c
	for c in add check del; do
		run --separate-stderr fb-net "$c" --id nt7 --network fbtest --run-dir "$D/runs/nt7" $NETFLAGS <<<"$e"
		[ "$status" -eq 1 ]
		[ "$output" = "$e" ]
	done
	[ ! -e /var/run/netns/fb-nt7 ]
	[ ! -e "$D/runs/nt7/cni.json" ]
	# a usage error is a failure like the others: an error object
	run --separate-stderr fb-net add --id nt7 --bogus </dev/null
	[ "$status" -eq 2 ]
	[ "$(jq -c '.error | {kind, message}' <<<"$output")" = '{"kind":"usage","message":"unknown option '"'"'--bogus'"'"'"}' ]
	run --separate-stderr fb-net frob --id nt7 </dev/null
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = "expected add, check or del" ]
	run --separate-stderr fb-net del --id 'a/b' </dev/null
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.kind <<<"$output")" = usage ]
	run --separate-stderr fb-net add --id nt7 --tap-owner=x </dev/null
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = "--tap-owner x: expected UID[:GID]" ]
}

@test "VMs on the network: HTTP answers from the bridge's side, two VMs reach each other, --ip-address; kill and purge leave nothing" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	in_netns "
		trap 'firebuild kill --vmm-id=nweb --shutdown-timeout=1 >/dev/null 2>&1 || true' EXIT
		firebuild run --from=fb/busybox:1 --name=nweb --hostname=nweb --daemonize --cni-network-name=fbtest --ip-address=10.88.0.50 $NETFLAGS \
			-- /bin/sh -c 'mkdir -p /w && echo served-by-\$(hostname) > /w/index.html && httpd -f -p 80 -h /w' > $D/web.json
		for i in \$(seq 1 120); do curl -s -m 1 http://10.88.0.50/ && break; sleep 0.5; done
		firebuild run --from=fb/busybox:1 --name=nclient --cni-network-name=fbtest $NETFLAGS \
			-- /bin/sh -c 'wget -qO- http://10.88.0.50/ && ip addr show eth0 | grep -w inet'
		firebuild inspect --vmm-id=nweb | jq -r '.NetworkInterfaces[0].StaticConfiguration.IPConfiguration.IP'
		firebuild kill --vmm-id=nweb --shutdown-timeout=5
		echo veths=\$(ip -br link | grep -c veth || true) taps=\$(ip -br link | grep -c tap || true)
	"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'served-by-nweb' <<<"$output")" -ge 2 ]
	[[ "$output" == *"inet 10.88.0."*"/24"* ]]
	[[ "$output" == *$'\n10.88.0.50\n'* ]] || [[ "$output" == *"10.88.0.50"* ]]
	[[ "$output" == *"veths=0 taps=0"* ]]
	[ ! -e /var/run/netns/fb-nweb ]
	[ ! -e /var/run/netns/fb-nclient ]
	[ -z "$(ls -A "$FB_RUN_CACHE/runs")" ]
	# a VM whose VMM died: purge runs CNI DEL from the cache
	in_netns "
		trap 'firebuild purge >/dev/null 2>&1 || true' EXIT
		firebuild run --from=fb/busybox:1 --name=ndead --daemonize --cni-network-name=fbtest $NETFLAGS -- /bin/sh -c 'while :; do sleep 1; done' > $D/dead.json
		kill -9 \$(jq -r .vm.pid $D/dead.json)
		sleep 1
		firebuild purge
		echo veths=\$(ip -br link | grep -c veth || true)
	"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"ndead"'* ]]
	[[ "$output" == *"veths=0"* ]]
	[ ! -e /var/run/netns/fb-ndead ]
}

@test "--port publishes a guest port on this side (its address and localhost); a port taken is refused; kill removes the rules" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	in_netns "
		trap 'firebuild kill --vmm-id=nport --shutdown-timeout=1 >/dev/null 2>&1 || true' EXIT
		ip link add fbdummy0 type veth peer name fbdummy1 && ip addr add 10.77.0.1/24 dev fbdummy0 && ip link set fbdummy0 up && ip link set fbdummy1 up
		firebuild run --from=fb/busybox:1 --name=nport --daemonize --cni-network-name=fbtest --port=8080:80 \
			--port=fbdummy0:8081:80 $NETFLAGS \
			-- /bin/sh -c 'mkdir -p /w && echo published > /w/index.html && httpd -f -p 80 -h /w' > /dev/null
		for i in \$(seq 1 120); do curl -s -m 1 http://10.88.0.1:8080/ && break; sleep 0.5; done
		curl -s -m 5 http://127.0.0.1:8080/
		curl -s -m 5 http://10.77.0.1:8081/ | sed 's/^/on-iface-/'
		curl -s -m 2 http://10.88.0.1:8081/ || echo not-on-other-addresses
		firebuild run --from=fb/busybox:1 --name=nport3 --cni-network-name=fbtest --port=nosuch0:8082:80 $NETFLAGS -- /bin/true 2>&1 || echo bad-iface=\$?
		firebuild run --from=fb/busybox:1 --name=nport2 --cni-network-name=fbtest --port=8080:80 $NETFLAGS -- /bin/true || echo refused=\$?
		iptables -t nat -S | grep -c FBD-nport || true
		firebuild kill --vmm-id=nport --shutdown-timeout=1 > /dev/null
		echo rules=\$(iptables -t nat -S | grep -c FB || true)
	"
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^published' <<<"$output")" -eq 2 ]
	[[ "$output" == *"on-iface-published"* ]]
	[[ "$output" == *"not-on-other-addresses"* ]]
	[[ "$output" == *"nosuch0 is neither an address nor an interface"*"bad-iface=2"* ]]
	[[ "$output" == *"refused=2"* ]]
	[[ "$stderr" == *"8080/tcp is published by another VM"* ]]
	[[ "$output" == *"rules=0"* ]]
	[ ! -e /var/run/netns/fb-nport2 ]
}

@test "SSH: --ssh-user with --identity-file logs in with the key (user made in the image; the busybox base's dropbear), two VMs have different host keys" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	command -v ssh >/dev/null || skip "ssh is not installed"
	# the busybox base ships dropbear (baseos/busybox)
	run debugfs -R 'stat /usr/sbin/dropbear' "$FB_STORE/rootfs/fb/busybox/1/rootfs.ext4"
	[[ "$output" == *"Type: regular"* ]]
	ssh-keygen -q -t ed25519 -N '' -f "$D/id_test"
	in_netns "
		trap 'firebuild kill --vmm-id=ssh1 --shutdown-timeout=1 >/dev/null 2>&1; firebuild kill --vmm-id=ssh2 --shutdown-timeout=1 >/dev/null 2>&1; true' EXIT
		firebuild run --from=fb/busybox:1 --name=ssh1 --daemonize --cni-network-name=fbtest --ip-address=10.88.0.60 $NETFLAGS --hostname=ssh1 \
			--ssh-user=tester --identity-file=$D/id_test.pub -- /bin/sh -c 'while :; do sleep 1; done' > /dev/null
		firebuild run --from=fb/busybox:1 --name=ssh2 --daemonize --cni-network-name=fbtest --ip-address=10.88.0.61 $NETFLAGS \
			--ssh-user=tester --identity-file=$D/id_test.pub -- /bin/sh -c 'while :; do sleep 1; done' > /dev/null
		opts='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=2 -o BatchMode=yes -i $D/id_test'
		for i in \$(seq 1 120); do ssh \$opts tester@10.88.0.60 'echo in-as-\$(id -un) on \$(hostname)' 2>/dev/null && break; sleep 0.5; done
		for i in \$(seq 1 120); do ssh-keyscan -t ed25519 10.88.0.61 2>/dev/null | grep -q ssh- && break; sleep 0.5; done
		ssh-keyscan -t ed25519 10.88.0.60 2>/dev/null | grep ssh- | cut -d' ' -f3 > $D/k1
		ssh-keyscan -t ed25519 10.88.0.61 2>/dev/null | grep ssh- | cut -d' ' -f3 > $D/k2
	"
	[ "$status" -eq 0 ]
	[[ "$output" == *"in-as-tester on ssh1"* ]]
	[ -s "$D/k1" ] && [ -s "$D/k2" ]
	[ "$(cat "$D/k1")" != "$(cat "$D/k2")" ]
	[ ! -e /var/run/netns/fb-ssh1 ]
}

@test "Firecracker backend on a network: network-interfaces gets the tap and the veth's MAC (checked against the API spec)" {
	local spec="$FB_SHARED/firecracker/firecracker-api.yaml"
	[ -f "$spec" ] && python3 -c 'import yaml, jsonschema' 2>/dev/null || skip "no spec or no python3-yaml/jsonschema"
	export FAKE_FC_LOG="$D/fcnet.jsonl"
	: >"$FAKE_FC_LOG"
	in_netns "
		firebuild run --from=fb/busybox:1 --no-jail --vmm=firecracker --binary-firecracker=$BATS_TEST_DIRNAME/fake-firecracker.py \
			--cni-network-name=fbtest $NETFLAGS -- /bin/true
		echo veths=\$(ip -br link | grep -c veth || true)
	"
	[ "$status" -eq 0 ]
	[[ "$output" == *"veths=0"* ]]
	run python3 "$BATS_TEST_DIRNAME/fc-validate.py" "$spec" "$FAKE_FC_LOG"
	[ "$status" -eq 0 ]
	[ "$(jq -rs '.[] | select(.path == "/network-interfaces/eth0") | .body.host_dev_name' "$FAKE_FC_LOG")" = tap0 ]
	[[ "$(jq -rs '.[] | select(.path == "/network-interfaces/eth0") | .body.guest_mac' "$FAKE_FC_LOG")" =~ ^[0-9a-f:]{17}$ ]]
}

@test "fb-net del works from the cache when the namespace is already gone, and when the cache is gone too" {
	in_netns "
		fb-net add --id nt4 --network fbtest --run-dir $D/runs/nt4 $NETFLAGS > /dev/null
		ip netns del fb-nt4
		fb-net del --id nt4 --run-dir $D/runs/nt4
		echo veths=\$(ip -br link | grep -c veth || true)
		fb-net add --id nt5 --network fbtest --run-dir $D/runs/nt5 $NETFLAGS > /dev/null
		rm -f $D/runs/nt5/cni.json
		fb-net del --id nt5 --run-dir $D/runs/nt5
		fb-net check --id nt5 --run-dir $D/runs/nt5 || echo check=\$?
		grep -l nt5 $D/ipam/fbtest/10.* > /dev/null 2>&1 && echo nt5-lease-kept
		fb-net add --id nt6 --network fbtest --run-dir $D/runs/nt6 $NETFLAGS > /dev/null
		rm -f $D/runs/nt6/cni.json
		fb-net del --id nt6 --network fbtest --run-dir $D/runs/nt6 $NETFLAGS
		grep -l nt6 $D/ipam/fbtest/10.* > /dev/null 2>&1 && echo nt6-lease-kept || echo nt6-lease-released
		echo veths=\$(ip -br link | grep -c veth || true)
		fb-net del --id nt5 --network fbtest --run-dir $D/runs/nt5 $NETFLAGS
	"
	[ "$status" -eq 0 ]
	[[ "$output" == *"veths=0"* ]]
	[[ "$output" == *"check=3"* ]]
	[ ! -e /var/run/netns/fb-nt4 ] && [ ! -e /var/run/netns/fb-nt5 ] && [ ! -e /var/run/netns/fb-nt6 ]
	# nt4's address went back to the pool (its DEL ran from the cache)
	[ -z "$(grep -l nt4 "$D"/ipam/fbtest/10.* 2>/dev/null || true)" ]
	# with no cache and no network named, the namespace goes but the IPAM
	# plugin is not told; with --network, the network's DEL releases it
	[[ "$output" == *nt5-lease-kept* ]]
	[[ "$output" == *nt6-lease-released* ]]
	[ -z "$(grep -l 'nt[56]' "$D"/ipam/fbtest/10.* 2>/dev/null || true)" ]
}

@test "a jailed VM on the network: its tap belongs to the jail user, it serves HTTP, and nothing is left" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	in_netns "
		trap 'firebuild kill --vmm-id=njail --shutdown-timeout=1 >/dev/null 2>&1 || true' EXIT
		firebuild run --from=fb/busybox:1 --name=njail --daemonize --jailer-uid=4323 --chroot-base=$D/jail \
			--cni-network-name=fbtest --ip-address=10.88.0.70 $NETFLAGS \
			-- /bin/sh -c 'mkdir -p /w && echo jailed-and-networked > /w/index.html && httpd -f -p 80 -h /w' > $D/nj.json
		ip netns exec fb-njail cat /sys/class/net/tap0/owner
		for i in \$(seq 1 120); do curl -s -m 1 http://10.88.0.70/ && break; sleep 0.5; done
		awk '/^Uid:/ {print \"uid=\" \$2}' /proc/\$(jq -r .vm.pid $D/nj.json)/status
		firebuild kill --vmm-id=njail --shutdown-timeout=2 > /dev/null
		echo veths=\$(ip -br link | grep -c veth || true)
	"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'4323\n'* ]] || [[ "$output" == 4323* ]]
	[[ "$output" == *"jailed-and-networked"* ]]
	[[ "$output" == *"uid=4323"* ]]
	[[ "$output" == *"veths=0"* ]]
	[ ! -e "$D/jail/qemu-system-x86_64/njail" ]
	[ ! -e /var/run/netns/fb-njail ]
}

@test "the guest's eth0 gets the network's MTU, address and gateway from the CNI result" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	in_netns "
		firebuild run --from=fb/busybox:1 --cni-network-name=mtunet $NETFLAGS \\
			-- /bin/sh -c 'cat /sys/class/net/eth0/mtu; ip route | grep default'
	"
	[ "$status" -eq 0 ]
	[[ "$output" == *1400* ]]
	[[ "$output" == *"default via 10.90.0.1"* ]]
}

@test "--netns: the VM joins a namespace that exists (kept after kill); --cni-cache-dir keeps libcni's result copy; --jailer-numa-node pins the VMM (cpuset)" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	[ -e /sys/devices/system/node/node0 ] || skip "no NUMA node 0 here"
	in_netns "
		ip netns add fbgiven
		trap 'firebuild kill --vmm-id=ngiven --shutdown-timeout=1 >/dev/null 2>&1 || true; ip netns del fbgiven 2>/dev/null || true' EXIT
		firebuild run --from=fb/busybox:1 --name=ngiven --daemonize --netns=/var/run/netns/fbgiven \
			--cni-cache-dir=$D/cnicache --jailer-numa-node=0 --cni-network-name=fbtest --ip-address=10.88.0.80 $NETFLAGS \
			-- /bin/sh -c 'mkdir -p /w && echo in-a-given-netns > /w/index.html && httpd -f -p 80 -h /w' > $D/ng.json
		for i in \$(seq 1 120); do curl -s -m 1 http://10.88.0.80/ && break; sleep 0.5; done
		echo netns=\$(jq -r .vm.network.netns $D/ng.json)
		ip netns exec fbgiven ip -br link | grep -q tap0 && echo tap-in-given
		jq -r .kind $D/cnicache/results/fbtest-fb-ngiven-eth0
		for c in /sys/fs/cgroup/cpuset/firebuild/ngiven /sys/fs/cgroup/firebuild/ngiven; do
			[ -e \$c/cpuset.mems ] && echo mems=\$(cat \$c/cpuset.mems) cpus=\$(cat \$c/cpuset.cpus)
		done
		grep -q \$(jq -r .vm.pid $D/ng.json) /sys/fs/cgroup/cpuset/firebuild/ngiven/tasks 2>/dev/null && echo vmm-in-cpuset
		firebuild kill --vmm-id=ngiven --shutdown-timeout=2 > /dev/null
		[ -e /var/run/netns/fbgiven ] && echo netns-kept
		ip netns exec fbgiven ip -br link | grep -c tap0 || true
		[ -e $D/cnicache/results/fbtest-fb-ngiven-eth0 ] || echo cache-copy-gone
	"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"in-a-given-netns"* ]]
	[[ "$output" == *"netns=/var/run/netns/fbgiven"* ]]
	[[ "$output" == *"tap-in-given"* ]]
	[[ "$output" == *"cniCacheV1"* ]]
	[[ "$output" == *"mems=0 cpus=$(cat /sys/devices/system/node/node0/cpulist)"* ]]
	[[ "$output" == *"netns-kept"* ]]
	[[ "$output" == *$'netns-kept\n0'* ]]
	[[ "$output" == *"cache-copy-gone"* ]]
	[ ! -e /var/run/netns/fb-ngiven ]
	[ ! -e /var/run/netns/fbgiven ]
	[ ! -e /sys/fs/cgroup/cpuset/firebuild/ngiven ]
}

@test "dual stack and IPv6 only: an IPv4 and an IPv6 range; the guest's eth0 gets both addresses and default routes, and reaches the gateway over IPv6" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	cat >"$D/conf/dual.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "dual", "plugins": [
  {"type": "bridge", "bridge": "fbbr6", "isGateway": true,
   "ipam": {"type": "host-local", "dataDir": "$D/ipam",
            "ranges": [[{"subnet": "10.94.0.0/24"}], [{"subnet": "fd94::/64"}]]}},
  {"type": "tc-redirect-tap"}]}
JSON
	cat >"$D/conf/v6only.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "v6only", "plugins": [
  {"type": "bridge", "bridge": "fbbr7", "isGateway": true,
   "ipam": {"type": "host-local", "dataDir": "$D/ipam", "ranges": [[{"subnet": "fd95::/64"}]]}},
  {"type": "tc-redirect-tap"}]}
JSON
	in_netns "
		firebuild run --from=fb/busybox:1 --cni-network-name=v6only $NETFLAGS -- /bin/sh -c '
			ip -6 addr show dev eth0 scope global | grep -o \"inet6 fd95::[0-9a-f:]*/64\" | sed s/^/only-/
			for i in \$(seq 1 30); do ping6 -c 1 -W 1 fd95::1 > /dev/null 2>&1 && echo ping6-only-ok && break; sleep 0.5; done'
		fb-net add --id n6 --network dual --run-dir $D/runs/n6 $NETFLAGS | jq -c '.network.interfaces[0] | {ip, n: (.ips | length)}'
		fb-net del --id n6 --run-dir $D/runs/n6 $NETFLAGS > /dev/null
		firebuild run --from=fb/busybox:1 --cni-network-name=dual $NETFLAGS -- /bin/sh -c '
			ip -6 addr show dev eth0 scope global | grep -o \"inet6 fd94::[0-9a-f:]*/64\"
			ip -4 addr show dev eth0 | grep -o \"inet 10.94.0.[0-9]*/24\"
			ip -6 route | grep -o \"default via fd94::1\"
			for i in \$(seq 1 30); do ping6 -c 1 -W 1 fd94::1 > /dev/null 2>&1 && echo ping6-ok && break; sleep 0.5; done'
	"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"ip":"10.94.0.'*'"n":2'* ]]
	[[ "$output" == *"inet6 fd94::"*"/64"* ]]
	[[ "$output" == *"inet 10.94.0."*"/24"* ]]
	[[ "$output" == *"default via fd94::1"* ]]
	[[ "$output" == *"ping6-ok"* ]]
	[[ "$output" == *"only-inet6 fd95::"* ]]
	[[ "$output" == *"ping6-only-ok"* ]]
	[[ "$output" != *"fb-init: warning"* ]]
	[ ! -e /var/run/netns/fb-n6 ]
}

@test "fb-net: a plugin that reads none of its config (ADD, DEL) is answered by its exit, not a SIGPIPE" {
	mkdir -p "$D/noread"
	# a config larger than a pipe holds: the write meets a reader that is gone
	local big
	big=$(head -c 200000 /dev/zero | tr '\0' x)
	printf '{"cniVersion":"1.0.0","name":"noread","plugins":[{"type":"fbnoread","pad":"%s"}]}\n' "$big" >"$D/conf/noread.conflist"
	cat >"$D/noread/fbnoread" <<'SH'
#!/bin/sh
# answers without reading stdin
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0"}'
exit 0
SH
	chmod 755 "$D/noread/fbnoread"
	in_netns "
		fb-net add --id nt9 --network noread --run-dir $D/runs/nt9 $NETFLAGS --cni-bin-dir=$D/noread </dev/null > /dev/null
		echo add=\$?
		fb-net del --id nt9 --run-dir $D/runs/nt9 $NETFLAGS --cni-bin-dir=$D/noread </dev/null > /dev/null
		echo del=\$?
	"
	echo "$output"
	echo "$stderr"
	[[ "$output" == *"add=0"*"del=0"* ]]
	[ ! -e /var/run/netns/fb-nt9 ]
	[ ! -e "$D/runs/nt9/cni.json" ]
}
