#!/usr/bin/env bats
# The Firecracker backend of fb-jail. Its API calls are checked against
# Firecracker's published specification with a stand-in binary that records
# them (there is no KVM and no firecracker here); the real end-to-end boot
# runs where /dev/kvm and a firecracker binary exist, and says SKIP otherwise.

load helpers

SPEC_FILE="$FB_SHARED/firecracker/firecracker-api.yaml"

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	export D FB_STORE FB_RUN_CACHE
	D=$(mktemp -d /tmp/fbfc.XXXXXX)
	FB_STORE="$D/store"
	FB_RUN_CACHE="$D/rc"
	local k
	k=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
	[ -f "$k" ] || { cp /bin/true "$D/vmlinux"; k="$D/vmlinux"; }
	firebuild kernel add --id=k "$k" >/dev/null
	firebuild baseos --dockerfile="$FB_ROOT/baseos/busybox" --tag=fb/busybox:1 >/dev/null 2>&1
}

teardown_file() {
	[ -n "${D:-}" ] && rm -rf "$D"
	return 0
}

setup() {
	[ -f "$SPEC_FILE" ] || skip "no Firecracker API specification at $SPEC_FILE"
	python3 -c 'import yaml, jsonschema' 2>/dev/null || skip "python3-yaml and python3-jsonschema are needed"
	export FAKE_FC_LOG="$BATS_TEST_TMPDIR/requests.jsonl"
	: >"$FAKE_FC_LOG"
}

# the API tests run unjailed: the stand-in then keeps its environment (FAKE_FC_*)
FC="--no-jail --vmm=firecracker --binary-firecracker=$BATS_TEST_DIRNAME/fake-firecracker.py"

@test "every API request the backend sends is in the spec and its body validates; the exit code comes back" {
	run --separate-stderr env FAKE_FC_EXIT=7 firebuild run --from=fb/busybox:1 --cpu=2 --mem=256 $FC -- /bin/true
	[ "$status" -eq 7 ]
	run python3 "$BATS_TEST_DIRNAME/fc-validate.py" "$SPEC_FILE" "$FAKE_FC_LOG"
	echo "$output"
	[ "$status" -eq 0 ]
	# the order Firecracker needs: configuration first, InstanceStart last
	[ "$(jq -rs '[.[].path] | join(" ")' "$FAKE_FC_LOG")" = \
		"/logger /metrics /machine-config /boot-source /drives/rootfs /drives/config /actions" ]
	[ "$(jq -rs '.[2].body | "\(.vcpu_count) \(.mem_size_mib)"' "$FAKE_FC_LOG")" = "2 256" ]
	# the seed's kernel arguments, then ours
	[[ "$(jq -rs '.[3].body.boot_args' "$FAKE_FC_LOG")" == "console=ttyS0 noapic reboot=k panic=1 pci=off nomodules rw root=/dev/vda init=/sbin/fb-init"* ]]
	# what every guest gets (no legacy ptys, one 8250 port), not TCG's own
	[[ "$(jq -rs '.[3].body.boot_args' "$FAKE_FC_LOG")" == *" pty.legacy_count=0 8250.nr_uarts=1"* ]]
	[[ "$(jq -rs '.[3].body.boot_args' "$FAKE_FC_LOG")" != *"nolapic_timer"* ]]
	[[ "$(jq -rs '.[3].body.boot_args' "$FAKE_FC_LOG")" != *"lpj="* ]]
	[ "$(jq -rs '.[4].body.is_root_device' "$FAKE_FC_LOG")" = true ]
	[ "$(jq -rs '.[5].body.is_read_only' "$FAKE_FC_LOG")" = true ]
	[ "$(jq -rs '.[6].body.action_type' "$FAKE_FC_LOG")" = InstanceStart ]
	[ "$(jq -rs '[.[].content_type] | unique | join(",")' "$FAKE_FC_LOG")" = application/json ]
}

@test "the validator rejects what the spec does not allow" {
	printf '%s\n' '{"method":"PUT","path":"/machine-config","body":{"vcpu_count":"two","mem_size_mib":128}}' \
		'{"method":"PUT","path":"/no-such-path","body":{}}' \
		'{"method":"PUT","path":"/drives/a","body":{"drive_id":"b","is_root_device":false,"path_on_host":"/x"}}' >"$FAKE_FC_LOG"
	run python3 "$BATS_TEST_DIRNAME/fc-validate.py" "$SPEC_FILE" "$FAKE_FC_LOG"
	[ "$status" -eq 1 ]
	[ "$(grep -c INVALID <<<"$output")" -eq 3 ]
}

@test "daemonized under Firecracker: kill sends SendCtrlAltDel (valid), the stop's exit comes back, nothing is left" {
	run --separate-stderr env FAKE_FC_RUN=0 firebuild run --from=fb/busybox:1 --name=fc1 --daemonize $FC
	[ "$status" -eq 0 ]
	[ "$(jq -r .vm.backend <<<"$output")" = firecracker ]
	run --separate-stderr firebuild ls
	[ "$(jq -r '.vms[] | select(.id == "fc1") | .state' <<<"$output")" = running ]
	run --separate-stderr firebuild kill --vmm-id=fc1 --shutdown-timeout=5
	[ "$status" -eq 0 ]
	[ "$(jq -r .exit_code <<<"$output")" = 143 ]
	[ "$(jq -rs '.[-1].body.action_type' "$FAKE_FC_LOG")" = SendCtrlAltDel ]
	run python3 "$BATS_TEST_DIRNAME/fc-validate.py" "$SPEC_FILE" "$FAKE_FC_LOG"
	[ "$status" -eq 0 ]
	[ ! -e "$FB_RUN_CACHE/runs/fc1" ]
}

@test "a missing firecracker binary is a clear error, nothing made" {
	run --separate-stderr firebuild run --from=fb/busybox:1 --vmm=firecracker --binary-firecracker=/no/such/firecracker -- /bin/true
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no firecracker binary"* ]]
	[ -z "$(ls -A "$FB_RUN_CACHE/runs" 2>/dev/null)" ]
}

@test "end to end under real Firecracker (needs /dev/kvm and a firecracker binary)" {
	command -v firecracker >/dev/null || skip "no firecracker binary on this machine"
	[ -w /dev/kvm ] || skip "no /dev/kvm on this machine"
	unset FAKE_FC_LOG
	run --separate-stderr firebuild run --from=fb/busybox:1 --vmm=firecracker -- /bin/sh -c 'echo hello from firecracker; exit 6'
	[ "$status" -eq 6 ]
	[[ "$output" == *"hello from firecracker"* ]]
}

@test "Firecracker jailed: the binary is linked into <base>/firecracker/<id>/root, runs as the jailer uid, API calls valid" {
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=fcj --daemonize --vmm=firecracker --binary-firecracker="$BATS_TEST_DIRNAME/fake-firecracker.py" --jailer-uid=4321 --chroot-base="$D/jail"
	[ "$status" -eq 0 ]
	local pid root
	pid=$(jq -r .vm.pid <<<"$output")
	root=$(jq -r .vm.jail <<<"$output")
	[ "$root" = "$D/jail/firecracker/fcj/root" ]
	[ -x "$root/firecracker" ] && [ -e "$root/vmlinux" ] && [ -e "$root/rootfs.ext4" ]
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = 4321 ]
	[ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]
	# the paths it was given are the jail's
	[ "$(jq -rs '.[] | select(.path == "/boot-source") | .body.kernel_image_path' "$root/run/requests.jsonl")" = /vmlinux ]
	run python3 "$BATS_TEST_DIRNAME/fc-validate.py" "$SPEC_FILE" "$root/run/requests.jsonl"
	[ "$status" -eq 0 ]
	run --separate-stderr firebuild kill --vmm-id=fcj --shutdown-timeout=5
	[ "$status" -eq 0 ]
	[ "$(jq -r .exit_code <<<"$output")" = 143 ]
	[ ! -e "$D/jail/firecracker/fcj" ]
}

@test "MMDS (V2) carries the VM's metadata on eth0, not its environment; --no-mmds leaves it out; machine flags reach machine-config; --log-firecracker-http-calls logs each call" {
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	mkdir -p "$D/conf"
	cat >"$D/conf/fcnet.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "fcnet", "plugins": [
  {"type": "bridge", "bridge": "fcbr0", "isGateway": true,
   "ipam": {"type": "host-local", "subnet": "10.92.0.0/24", "dataDir": "$D/ipam"}},
  {"type": "tc-redirect-tap"}]}
JSON
	local net="--cni-network-name=fcnet --cni-conf-dir=$D/conf --cni-bin-dir=/usr/lib/cni --cni-bin-dir=$FB_BIN"
	run --separate-stderr unshare --net bash -c "ip link set lo up; firebuild run --from=fb/busybox:1 $FC $net \
		--hostname=meta1 --env=SECRET=s3cr3t --cpu-template=T2 --ht-enabled --log-firecracker-http-calls \
		--log-format=text -- /bin/true"
	echo "$stderr"
	[ "$status" -eq 0 ]
	run python3 "$BATS_TEST_DIRNAME/fc-validate.py" "$SPEC_FILE" "$FAKE_FC_LOG"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -rs '[.[].path] | join(" ")' "$FAKE_FC_LOG")" = \
		"/logger /metrics /machine-config /boot-source /drives/rootfs /drives/config /network-interfaces/eth0 /mmds/config /mmds /actions" ]
	[ "$(jq -rs '.[] | select(.path == "/mmds/config") | .body | "\(.version) \(.network_interfaces | join(","))"' "$FAKE_FC_LOG")" = "V2 eth0" ]
	[ "$(jq -rs '.[] | select(.path == "/mmds") | .body.firebuild.hostname' "$FAKE_FC_LOG")" = meta1 ]
	[[ "$(jq -rs '.[] | select(.path == "/mmds") | .body.firebuild.network.interfaces[0].ip' "$FAKE_FC_LOG")" == 10.92.0.* ]]
	! grep -q s3cr3t <(jq -cs '.[] | select(.path == "/mmds")' "$FAKE_FC_LOG")
	[ "$(jq -rs '.[] | select(.path == "/machine-config") | .body | "\(.smt) \(.cpu_template)"' "$FAKE_FC_LOG")" = "true T2" ]
	[[ "$stderr" == *"firecracker API call method=PUT path=/machine-config"*"status=204"* ]]
	: >"$FAKE_FC_LOG"
	run --separate-stderr unshare --net bash -c "ip link set lo up; firebuild run --from=fb/busybox:1 $FC $net --no-mmds -- /bin/true"
	[ "$status" -eq 0 ]
	! grep -q '"/mmds' "$FAKE_FC_LOG"
	grep -q '"/network-interfaces/eth0"' "$FAKE_FC_LOG"
}

@test "QEMU says in one line why it ignores Firecracker's machine flags" {
	run --separate-stderr firebuild run --from=fb/busybox:1 --vmm=qemu --cpu-template=C3 --ht-enabled \
		--log-firecracker-http-calls --root-drive-partuuid=1234 --log-format=text -- /bin/true
	echo "$stderr"
	[[ "$stderr" == *"--cpu-template C3: ignored: CPU templates are Firecracker's"* ]]
	[[ "$stderr" == *"--ht-enabled: ignored"* ]]
	[[ "$stderr" == *"--log-firecracker-http-calls: ignored"* ]]
	[[ "$stderr" == *"--root-drive-partuuid 1234: ignored"* ]]
}
