#!/usr/bin/env bats
# fb-runtime on its own: OCI bundles (a static busybox rootfs and runc's
# `spec` config) run as QEMU microVMs (TCG here), the runtime-spec
# lifecycle and its errors side by side with runc's, exec, the bundle's
# process, resources, mounts, and nothing left behind.

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
}

@test "run: the process runs inside the VM (another kernel), its output and exit code come back" {
	mkbundle b1 '["/bin/sh","-c","echo hello from $(uname -r); echo to-stderr >&2; exit 7"]'
	run_split fbrt run --bundle "$D/b1" r1
	[ "$status" -eq 7 ]
	[[ "$output" == "hello from "* ]]
	[ "${output#hello from }" != "$(uname -r)" ]
	[ "$stderr" = to-stderr ]
	# run deletes what it ran, as runc's does
	[ ! -e "$RT_ROOT/r1" ]
	# a signal's death is 128+N
	mkbundle b2 '["/bin/sh","-c","kill -TERM $$"]'
	run fbrt run --bundle "$D/b2" r2
	[ "$status" -eq 143 ]
	# the guest's command line has fb-jail's boot options (TCG's too: the
	# settings here ask for no KVM; docs/tools/fb-jail.md)
	mkbundle b3 '["/bin/cat","/proc/cmdline"]'
	FB_ACCEL=tcg run fbrt run --bundle "$D/b3" r3
	[ "$status" -eq 0 ]
	[[ "$output" == *" pty.legacy_count=0 8250.nr_uarts=1 nolapic_timer no_timer_check lpj=1600000 "* ]]
}

@test "create/start/state/kill/delete: the lifecycle; state validates against the runtime-spec's state schema" {
	mkbundle b1 '["/bin/sh","-c","trap \"echo got-term; exit 3\" TERM; echo ready; while :; do sleep 0.1; done"]'
	fbrt create --bundle "$D/b1" --pid-file "$D/pid" c1 >"$D/out" 2>"$D/err" </dev/null
	local pid
	pid=$(cat "$D/pid")
	kill -0 "$pid"
	run fbrt state c1
	[ "$status" -eq 0 ]
	state_valid "$output"
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .pid <<<"$output")" = "$pid" ]
	[ "$(jq -r .bundle <<<"$output")" = "$D/b1" ]
	# created: the process has not run
	[ ! -s "$D/out" ]
	fbrt start c1
	run fbrt state c1
	state_valid "$output"
	[ "$(jq -r .status <<<"$output")" = running ]
	wait_for "$D/out" ready
	fbrt kill c1 TERM
	wait_gone "$pid"
	run fbrt state c1
	state_valid "$output"
	[ "$(jq -r .status <<<"$output")" = stopped ]
	grep -q got-term "$D/out"
	[ "$(jq -r .fb.exit_code "$RT_ROOT/c1/state.json")" = 3 ]
	fbrt delete c1
	[ ! -e "$RT_ROOT/c1" ]
	run fbrt list --format json
	[ "$output" = "[]" ]
}

@test "lifecycle errors are runc's: start twice, delete running, kill stopped, unknown id, duplicate id" {
	command -v runc >/dev/null || skip "runc is not installed"
	mkbundle b1 '["/bin/sh","-c","while :; do sleep 0.1; done"]'
	local rt
	for rt in fbrt runc_t; do
		$rt create --bundle "$D/b1" x1 </dev/null >/dev/null 2>&1
		run_split $rt create --bundle "$D/b1" x1
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"container with given ID already exists"* ]]
		$rt start x1
		run_split $rt start x1
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"cannot start an already running container"* ]]
		run_split $rt delete x1
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"cannot delete container x1 that is not stopped: running"* ]]
		$rt kill x1 KILL
		local i
		for i in $(seq 1 200); do [ "$($rt state x1 | jq -r .status)" = stopped ] && break; sleep 0.05; done
		[ "$($rt state x1 | jq -r .status)" = stopped ]
		run_split $rt kill x1 KILL
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"container not running"* ]]
		run_split $rt start x1
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"cannot start a container that has stopped"* ]]
		$rt delete x1
		run_split $rt state x1
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"container does not exist"* ]]
		run_split $rt delete x1
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"container does not exist"* ]]
		run $rt delete --force x1
		[ "$status" -eq 0 ]
		# a created container is deleted without --force
		$rt create --bundle "$D/b1" x1 </dev/null >/dev/null 2>&1
		run $rt delete x1
		[ "$status" -eq 0 ]
	done
	# --log --log-format json: the error as a JSON line, as containerd reads it
	run fbrt --log "$D/log.json" --log-format json state nope
	[ "$status" -eq 1 ]
	[ "$(jq -r .msg "$D/log.json")" = "container does not exist" ]
	[ "$(jq -r .level "$D/log.json")" = error ]
}

@test "the bundle's process: env, cwd, user with additional groups, rlimits, hostname, terminal off" {
	mkdir -p "$D/rootfs/work"
	mkbundle b1 '["/bin/sh","-c","echo env=$FOO; echo cwd=$(pwd); echo id=$(id -u):$(id -g):$(id -G); echo nofile=$(ulimit -n); echo host=$(hostname); [ -t 0 ] || echo notty"]' \
		'.process.env += ["FOO=bar baz"] | .process.cwd = "/work" | .process.user = {uid: 1234, gid: 5678, additionalGids: [11, 12]} | .process.rlimits = [{type: "RLIMIT_NOFILE", hard: 777, soft: 555}] | .hostname = "inside"'
	run_split fbrt run --bundle "$D/b1" p1
	[ "$status" -eq 0 ]
	[[ "$output" == *"env=bar baz"* ]]
	[[ "$output" == *"cwd=/work"* ]]
	[[ "$output" == *"id=1234:5678:5678 11 12"* ]]
	[[ "$output" == *"nofile=555"* ]]
	[[ "$output" == *"host=inside"* ]]
	[[ "$output" == *"notty"* ]]
}

@test "resources: CPU quota -> vCPUs, memory limit -> guest memory" {
	mkbundle b1 '["/bin/sh","-c","echo cpus=$(nproc); grep MemTotal /proc/meminfo"]' \
		'.linux.resources = {cpu: {quota: 200000, period: 100000}, memory: {limit: 209715200}}'
	run_split fbrt run --bundle "$D/b1" m1
	[ "$status" -eq 0 ]
	[[ "$output" == *"cpus=2"* ]]
	local kb
	kb=$(awk '/MemTotal/ {print $2}' <<<"$output")
	# 200 MiB less what the guest kernel keeps
	[ "$kb" -gt 150000 ] && [ "$kb" -le 204800 ]
}

@test "root: writes land in the rootfs directory; a read-only root stays unchanged" {
	mkbundle b1 '["/bin/sh","-c","echo written > /made-in-vm; mkdir -p /d/e; echo ok"]' '.root.readonly = false'
	run fbrt run --bundle "$D/b1" w1
	[ "$status" -eq 0 ]
	[ "$(cat "$D/rootfs/made-in-vm")" = written ]
	[ -d "$D/rootfs/d/e" ]
	rm -rf "$D/rootfs/made-in-vm" "$D/rootfs/d"
	mkbundle b2 '["/bin/sh","-c","echo x > /nope && echo wrote || echo refused"]' '.root.readonly = true'
	run fbrt run --bundle "$D/b2" w2
	[ "$status" -eq 0 ]
	[[ "$output" == *refused* ]]
	[ ! -e "$D/rootfs/nope" ]
}

@test "org.firebuild.root=ext4: the rootfs is copied into an ext4 disk (owners, modes, links kept); writes stay in the VM" {
	mkdir -p "$D/rootfs/owned"
	echo content >"$D/rootfs/owned/f"
	chown -R 1234:4321 "$D/rootfs/owned"
	chmod 0604 "$D/rootfs/owned/f"
	mkbundle b1 '["/bin/sh","-c","grep \" / \" /proc/mounts | cut -d\" \" -f3; stat -c \"%u:%g %a\" /owned/f; cat /owned/f; readlink /bin/sh; echo x > /made-here && echo wrote"]' \
		'.annotations["org.firebuild.root"] = "ext4"'
	run_split fbrt run --bundle "$D/b1" x4
	rm -rf "$D/rootfs/owned"
	[ "$status" -eq 0 ]
	[[ "$output" == *ext4* ]]
	[[ "$output" == *"1234:4321 604"* ]]
	[[ "$output" == *content* ]]
	[[ "$output" == *busybox* ]]
	[[ "$output" == *wrote* ]]
	[ ! -e "$D/rootfs/made-here" ]
	# read-only: the disk too
	mkbundle b2 '["/bin/sh","-c","echo x > /nope && echo wrote || echo refused"]' '.annotations["org.firebuild.root"] = "ext4" | .root.readonly = true'
	run fbrt run --bundle "$D/b2" x5
	[ "$status" -eq 0 ]
	[[ "$output" == *refused* ]]
	mkbundle b3 '["/bin/true"]' '.annotations["org.firebuild.root"] = "zfs"'
	run_split fbrt create --bundle "$D/b3" x6
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"org.firebuild.root=zfs"* ]]
}

@test "org.firebuild.vmm=firecracker (a stand-in: no KVM here): an ext4 copy, the initramfs, fb.io over a vsock; every API request in the spec" {
	local spec="$FB_SHARED/firecracker/firecracker-api.yaml"
	[ -f "$spec" ] || skip "no Firecracker API specification at $spec"
	python3 -c 'import yaml, jsonschema' 2>/dev/null || skip "python3-yaml and python3-jsonschema are needed"
	jq --arg f "$BATS_TEST_DIRNAME/fake-firecracker.py" '.firecracker = $f' "$FB_RUNTIME_CONFIG" >"$D/fc.json"
	mkbundle b1 '["/bin/echo","hi"]' '.annotations["org.firebuild.vmm"] = "firecracker"'
	FB_RUNTIME_CONFIG="$D/fc.json" fbrt create --bundle "$D/b1" --pid-file "$D/pid" fc1 >"$D/out" </dev/null
	local jail req
	jail=$(jq -r .fb.jail_dir "$RT_ROOT/fc1/state.json")
	[[ "$jail" == "$D/jail/firecracker/"* ]]
	req="$jail/root/run/requests.jsonl"
	run python3 "$BATS_TEST_DIRNAME/fc-validate.py" "$spec" "$req"
	[ "$status" -eq 0 ] || { echo "# $output"; false; }
	[ "$(jq -rs '.[] | select(.path == "/boot-source") | .body.initrd_path' "$req")" = /initrd ]
	[ "$(jq -rs '.[] | select(.path == "/drives/rootfs") | .body.path_on_host' "$req")" = /rootfs.ext4 ]
	[ "$(jq -rs '.[] | select(.path == "/vsock") | .body.uds_path' "$req")" = /run/v.sock ]
	# no share to serve: the VMM is not root in its jail
	[ "$(stat -c %u "$jail/root/rootfs.ext4")" = 65534 ]
	FB_RUNTIME_CONFIG="$D/fc.json" fbrt start fc1
	wait_gone "$(cat "$D/pid")"
	run cat "$D/out"
	[ "$(jq -c .root <<<"$output")" = '{"source":"/dev/vda","type":"ext4","readonly":false}' ]
	[ "$(jq -c .io <<<"$output")" = '{"vsock_port":1024}' ]
	[ "$(jq -c .args <<<"$output")" = '["/bin/echo","hi"]' ]
	[ "$(jq -r .fb.exit_code "$RT_ROOT/fc1/state.json")" = 0 ]
	fbrt delete fc1
	[ ! -e "$jail" ]
	# what Firecracker cannot do is refused with the reason
	mkdir -p "$D/vol"
	mkbundle b2 '["/bin/true"]' ".annotations[\"org.firebuild.vmm\"] = \"firecracker\" | .mounts += [{destination: \"/data\", type: \"bind\", source: \"$D/vol\", options: [\"rbind\"]}]"
	FB_RUNTIME_CONFIG="$D/fc.json" run_split fbrt create --bundle "$D/b2" fc2
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Firecracker has no shared directories"* ]]
	mkbundle b3 '["/bin/true"]' '.annotations["org.firebuild.vmm"] = "firecracker" | .annotations["org.firebuild.root"] = "9p"'
	FB_RUNTIME_CONFIG="$D/fc.json" run_split fbrt create --bundle "$D/b3" fc3
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"block devices only"* ]]
	no_leftovers
}

@test "the jail: QEMU serving a 9p share is root with five capabilities and no_new_privs; with an ext4 root it is nobody" {
	mkbundle b1 '["/bin/sh","-c","while :; do sleep 0.1; done"]'
	fbrt create --bundle "$D/b1" j1 </dev/null >/dev/null 2>&1
	local vmm
	vmm=$(jq -r .fb.vmm_pid "$RT_ROOT/j1/state.json")
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$vmm/status")" = 0 ]
	# CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID: bits 0-4
	[ "$(awk '/^CapBnd:/ {print $2}' "/proc/$vmm/status")" = 000000000000001f ]
	[ "$(awk '/^CapEff:/ {print $2}' "/proc/$vmm/status")" = 000000000000001f ]
	[ "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$vmm/status")" = 1 ]
	# pivoted into the jail, the rootfs bound nodev,nosuid
	[ -e "/proc/$vmm/root/vmlinux" ] && [ -e "/proc/$vmm/root/initrd" ]
	grep " /rootfs " "/proc/$vmm/mounts" | grep -q "nosuid,nodev"
	fbrt delete j1
	mkbundle b2 '["/bin/sh","-c","while :; do sleep 0.1; done"]' '.annotations["org.firebuild.root"] = "ext4"'
	fbrt create --bundle "$D/b2" j2 </dev/null >/dev/null 2>&1
	vmm=$(jq -r .fb.vmm_pid "$RT_ROOT/j2/state.json")
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$vmm/status")" = 65534 ]
	[ "$(awk '/^CapEff:/ {print $2}' "/proc/$vmm/status")" = 0000000000000000 ]
	fbrt delete j2
}

@test "mounts: a bound directory is shared (both ways), a bound file is seen, tmpfs mounted" {
	mkdir -p "$D/vol"
	echo from-host >"$D/vol/in"
	printf 'nameserver 192.0.2.53\n' >"$D/resolv"
	mkbundle b1 '["/bin/sh","-c","cat /data/in; echo from-vm > /data/out; cat /etc/resolv.conf; grep \" /scratch \" /proc/mounts | cut -d\" \" -f3"]' \
		".mounts += [{destination: \"/data\", type: \"bind\", source: \"$D/vol\", options: [\"rbind\",\"rw\"]}, {destination: \"/etc/resolv.conf\", type: \"bind\", source: \"$D/resolv\", options: [\"bind\",\"ro\"]}, {destination: \"/scratch\", type: \"tmpfs\", source: \"tmpfs\", options: [\"nosuid\",\"size=1m\"]}]"
	run_split fbrt run --bundle "$D/b1" v1
	[ "$status" -eq 0 ]
	[[ "$output" == *from-host* ]]
	[[ "$output" == *"nameserver 192.0.2.53"* ]]
	[[ "$output" == *tmpfs* ]]
	[ "$(cat "$D/vol/out")" = from-vm ]
}

@test "exec: another process in the running container, its output and exit code; --detach with a pid file" {
	mkbundle b1 '["/bin/sh","-c","echo main > /tmp/main; while :; do sleep 0.1; done"]'
	fbrt create --bundle "$D/b1" e1 </dev/null >/dev/null 2>&1
	fbrt start e1
	run_split fbrt exec e1 /bin/sh -c 'echo out; echo err >&2; cat /tmp/main; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = "$(printf 'out\nmain')" ]
	[ "$stderr" = err ]
	# stdin reaches it, and its end
	run bash -c "printf 'a\nb\n' | $(printf '%q' "$FB_BIN/fb-runtime") --root $(printf '%q' "$RT_ROOT") exec e1 /bin/cat"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb')" ]
	# --process, --detach: the pid file names the holder, which ends with it
	jq -n '{args: ["/bin/sh","-c","sleep 0.5; exit 4"], cwd: "/", env: ["PATH=/bin"], user: {uid: 0, gid: 0}}' >"$D/proc.json"
	fbrt exec --detach --pid-file "$D/epid" --process "$D/proc.json" e1 </dev/null >/dev/null 2>&1
	local epid
	epid=$(cat "$D/epid")
	[ "$epid" -gt 0 ]
	# not our child: wait for it to go, then its status is in its parent's hands (init)
	wait_gone "$epid"
	# a program that is not there: runc's status and words
	run_split fbrt exec e1 /no/such/thing
	[ "$status" -eq 255 ]
	[[ "$stderr" == *'exec failed: unable to start container process: exec: "/no/such/thing": stat /no/such/thing: no such file or directory'* ]]
	run_split fbrt exec e1 nosuch
	[ "$status" -eq 255 ]
	[[ "$stderr" == *'exec: "nosuch": executable file not found in $PATH'* ]]
	fbrt delete --force e1
}

@test "exec: what each exec's process took in PID 1 comes back: many execs later fb-init is as small as it was" {
	mkbundle x1 '["/bin/sh","-c","while :; do sleep 1; done"]'
	fbrt create --bundle "$D/x1" ex1 </dev/null >/dev/null 2>&1
	fbrt start ex1
	# a process of 1500 variables: fb-init parses it into ~1500 blocks
	jq -n '{args: ["/bin/sh","-c","true"], cwd: "/", env: (["PATH=/bin"] + [range(1500) | "V\(.)=x"]), user: {uid: 0, gid: 0}}' \
		>"$D/big.json"
	local i rss
	for i in $(seq 1 20); do
		fbrt exec --process "$D/big.json" ex1 </dev/null
	done
	run_split fbrt exec ex1 /bin/sh -c 'grep VmRSS /proc/1/status'
	echo "$output"
	[ "$status" -eq 0 ]
	rss=$(awk '/VmRSS/ {print $2}' <<<"$output")
	# its arena (1 MiB) and the rest: not 20 trees of 1500 pages each
	[ "$rss" -lt 8192 ]
	fbrt delete --force ex1
}

@test "create: a program that is not there fails at create with runc's message" {
	mkbundle b1 '["nosuchprogram"]'
	run_split fbrt create --bundle "$D/b1" n1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'exec: "nosuchprogram": executable file not found in $PATH'* ]]
	[ ! -e "$RT_ROOT/n1" ]
	no_leftovers
}

@test "a guest that never gets ready ends at boot_timeout: create fails with the reason, nothing is left" {
	jq '.boot_timeout = 5' "$FB_RUNTIME_CONFIG" >"$D/slow.json"
	# no init, and a panic that waits for ever
	mkbundle b1 '["/bin/true"]' '.annotations["org.firebuild.kernel-args"] = "rdinit=/nope panic=0"'
	FB_RUNTIME_CONFIG="$D/slow.json" run_split fbrt create --bundle "$D/b1" hang1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"was not ready in 5 s"* ]]
	[ ! -e "$RT_ROOT/hang1" ]
	no_leftovers
}

@test "bad bundles are refused with the reason, and nothing is left" {
	mkdir -p "$D/empty"
	run_split fbrt create --bundle "$D/empty" bad1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"config.json"* ]]
	mkbundle b1 '[]'
	run_split fbrt create --bundle "$D/b1" bad2
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"args must not be empty"* ]]
	mkbundle b2 '["/bin/true"]' '.root.path = "nowhere"'
	run_split fbrt create --bundle "$D/b2" bad3
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"root.path"* ]]
	echo '{not json' >"$D/b2/config.json"
	run_split fbrt create --bundle "$D/b2" bad4
	[ "$status" -eq 1 ]
	run_split fbrt create --bundle "$D/b1" "../escape"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"invalid container id"* ]]
	# wrong types anywhere: an error or a working container, never a crash
	local f
	for f in '.linux = "x"' '.linux.namespaces = [1, "a", {type: 5}]' '.linux.resources = {cpu: "x", memory: []}' \
		'.mounts = "x"' '.mounts = [1, {destination: 5}]' '.annotations = 5' '.process.user = "x"' '.process.env = [1]' \
		'.process.rlimits = "x"' '.hostname = 7' '.linux.sysctl = {"a.b": 1}' 'del(.linux)'; do
		mkbundle bt '["/bin/true"]' "$f"
		run_split fbrt run --bundle "$D/bt" typed1
		[ "$status" -eq 0 ] || [ "$status" -eq 1 ] || { echo "# $f: $status $stderr"; false; }
	done
	mkbundle b3 '["/bin/true"]' '.annotations["org.firebuild.kernel"] = "/no/kernel"'
	run_split fbrt create --bundle "$D/b3" bad5
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"/no/kernel"* ]]
	[ -z "$(ls -A "$RT_ROOT" 2>/dev/null)" ]
	no_leftovers
}

@test "config.json and exec --process are checked where they enter: the member of another kind is named, nothing is made" {
	mkbundle b1 '["/bin/true"]' '.process.user.uid = -1'
	run_split fbrt create --bundle "$D/b1" m1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$D/b1/config.json: .process.user.uid: expected an integer from 0 to 4294967295, got -1"* ]]
	mkbundle b2 '["/bin/true"]' '.mounts[0].options = "ro"'
	run_split fbrt create --bundle "$D/b2" m2
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"config.json: .mounts[0].options: expected an array or null, got string"* ]]
	[ -z "$(ls -A "$RT_ROOT" 2>/dev/null)" ]
	mkbundle b3 '["/bin/sh","-c","while :; do sleep 0.1; done"]'
	fbrt create --bundle "$D/b3" m3 </dev/null >/dev/null 2>&1
	fbrt start m3
	jq -n '{args: ["/bin/true"], rlimits: [{type: "RLIMIT_NOFILE", hard: "x", soft: 1}]}' >"$D/proc.json"
	run_split fbrt exec --process "$D/proc.json" m3
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$D/proc.json: .rlimits[0].hard: expected a number, got string"* ]]
	echo '[]' >"$D/proc.json"
	run_split fbrt exec --process "$D/proc.json" m3
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$D/proc.json: "*"expected an object, got array"* ]]
	# the container is as it was
	run_split fbrt exec m3 /bin/sh -c 'echo still'
	[ "$output" = still ]
	fbrt delete --force m3
	no_leftovers
}

@test "delete --force of a running container leaves no process, jail, cgroup or state" {
	mkbundle b1 '["/bin/sh","-c","while :; do sleep 0.1; done"]'
	fbrt create --bundle "$D/b1" --pid-file "$D/pid" f1 </dev/null >/dev/null 2>&1
	fbrt start f1
	local pid vmm jail cgs
	pid=$(cat "$D/pid")
	vmm=$(jq -r .fb.vmm_pid "$RT_ROOT/f1/state.json")
	jail=$(jq -r .fb.jail_dir "$RT_ROOT/f1/state.json")
	cgs=$(jq -r '.fb.cgroups[]' "$RT_ROOT/f1/state.json")
	[ -d "$jail" ]
	kill -0 "$vmm"
	run fbrt ps --format json f1
	[ "$(jq -c . <<<"$output")" = "[$pid,$vmm]" ]
	fbrt delete --force f1
	! kill -0 "$pid" 2>/dev/null
	! kill -0 "$vmm" 2>/dev/null
	[ ! -e "$jail" ]
	local cg
	for cg in $cgs; do [ ! -e "$cg" ]; done
	[ ! -e "$RT_ROOT/f1" ]
	no_leftovers
}

@test "a pod's sandbox (io.kubernetes.cri.container-type=sandbox) and org.firebuild.runtime=runc run under runc" {
	command -v runc >/dev/null || skip "runc is not installed"
	mkbundle b1 '["/bin/sh","-c","while :; do sleep 0.1; done"]' '.annotations["io.kubernetes.cri.container-type"] = "sandbox"'
	fbrt create --bundle "$D/b1" --pid-file "$D/pid" pause1 </dev/null >/dev/null 2>&1
	# runc's: its state under <root>/.runc, no VM, no jail
	[ -d "$RT_ROOT/.runc/pause1" ]
	[ ! -e "$RT_ROOT/pause1" ]
	[ -z "$(ls -A "$D/jail/qemu-system-x86_64" 2>/dev/null)" ]
	fbrt start pause1
	run fbrt state pause1
	[ "$(jq -r .status <<<"$output")" = running ]
	[ "$(jq -r .pid <<<"$output")" = "$(cat "$D/pid")" ]
	# the host's kernel: a container, not a VM
	run fbrt exec pause1 /bin/uname -r
	[ "$output" = "$(uname -r)" ]
	run_split fbrt create --bundle "$D/b1" pause1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"already exists"* ]]
	fbrt delete --force pause1
	[ ! -e "$RT_ROOT/.runc/pause1" ]
	mkbundle b2 '["/bin/uname","-r"]' '.annotations["org.firebuild.runtime"] = "runc"'
	run fbrt run --bundle "$D/b2" plain1
	[ "$output" = "$(uname -r)" ]
	[ ! -e "$RT_ROOT/.runc/plain1" ]
}

@test "network: the engine's namespace, a /32 address behind a link-scoped gateway (Calico's layout), MTU; the namespace is as it was after" {
	local H=fbrth$$ C=fbrtc$$
	ip netns add "$H"
	ip netns add "$C"
	ip -n "$H" link set lo up
	ip -n "$C" link set lo up
	ip -n "$H" link add veth-h type veth peer name eth0 netns "$C"
	ip -n "$H" addr add 10.77.0.1/32 dev veth-h
	ip -n "$H" link set veth-h up
	ip -n "$H" route add 10.77.0.5/32 dev veth-h
	# the host side answers ARP for the gateway as Calico's does: proxy ARP
	# for what it routes elsewhere
	ip -n "$H" link add dummy0 type veth peer name dummy1
	ip -n "$H" link set dummy0 up
	ip -n "$H" link set dummy1 up
	ip -n "$H" route add default dev dummy0
	ip netns exec "$H" sysctl -qw net.ipv4.conf.veth-h.proxy_arp=1 net.ipv4.ip_forward=1
	ip -n "$C" link set eth0 mtu 1400 up
	ip -n "$C" addr add 10.77.0.5/32 dev eth0
	ip -n "$C" route add 169.254.1.1 dev eth0 scope link
	ip -n "$C" route add default via 169.254.1.1 dev eth0
	mkdir -p "$D/www"
	echo answer-from-the-host-side >"$D/www/index.html"
	ip netns exec "$H" busybox httpd -p 10.77.0.1:8080 -h "$D/www"
	mkbundle b1 '["/bin/sh","-c","ip -4 addr show eth0; ip route; cat /sys/class/net/eth0/mtu; printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 10 10.77.0.1 8080"]' \
		".linux.namespaces = [{type: \"network\", path: \"/run/netns/$C\"}]"
	run_split fbrt run --bundle "$D/b1" n1
	local rc=$status out=$output
	ip netns exec "$H" pkill -f "httpd -p 10.77.0.1:8080" || true
	# the namespace is as the engine made it: no tap, no redirect
	local left
	left=$(ip -n "$C" -o link show | grep -c fbtap || true)
	local qd
	qd=$(ip netns exec "$C" tc qdisc show dev eth0 | grep -c ingress || true)
	ip netns del "$H"
	ip netns del "$C"
	[ "$rc" -eq 0 ] || { echo "# $out $stderr"; false; }
	[[ "$out" == *"inet 10.77.0.5/32"* ]]
	[[ "$out" == *"default via 169.254.1.1"* ]]
	[[ "$out" == *1400* ]]
	[[ "$out" == *answer-from-the-host-side* ]]
	[ "$left" = 0 ]
	[ "$qd" = 0 ]
}

@test "pause and resume: the whole VM stops and goes on; state says paused" {
	mkbundle b1 '["/bin/sh","-c","i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done"]'
	fbrt create --bundle "$D/b1" pz1 </dev/null >/dev/null 2>&1
	run_split fbrt resume pz1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"container not paused"* ]]
	fbrt start pz1
	fbrt pause pz1
	[ "$(fbrt state pz1 | jq -r .status)" = paused ]
	local vmm
	vmm=$(jq -r .fb.vmm_pid "$RT_ROOT/pz1/state.json")
	[ "$(awk '{print $3}' "/proc/$vmm/stat")" = T ]
	run_split fbrt exec pz1 /bin/true
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"paused"* ]]
	run_split fbrt pause pz1
	[[ "$stderr" == *"container not running"* ]]
	fbrt resume pz1
	[ "$(fbrt state pz1 | jq -r .status)" = running ]
	run fbrt exec pz1 /bin/cat /tmp/count
	[ "$status" -eq 0 ]
	# a paused container is deleted with --force
	fbrt pause pz1
	fbrt delete --force pz1
	[ ! -e "$RT_ROOT/pz1" ]
}

@test "features, --help, --version" {
	run fbrt features
	[ "$status" -eq 0 ]
	[ "$(jq -r .ociVersionMax <<<"$output")" = 1.1.0 ]
	[ "$(jq -r '.annotations["org.firebuild.isolation"]' <<<"$output")" = microvm ]
	jq -e '.linux.capabilities | index("CAP_SYS_ADMIN")' <<<"$output" >/dev/null
	run fbrt --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"create --bundle"* ]]
	run fbrt --version
	[[ "$output" == *"fb-runtime version"* ]]
	run_split fbrt frobnicate x
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"unknown command"* ]]
}
