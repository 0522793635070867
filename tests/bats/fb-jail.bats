#!/usr/bin/env bats
# fb-jail's contract from the outside: prepare, start and stop, every
# documented exit code, the error object, what stdin and stdout carry; and
# VMs booted by typing the pipeline firebuild run runs (fb-tag get |
# fb-jail prepare | [fb-net add |] fb-jail start), without firebuild. The
# network scenario runs in a network namespace the test makes.

load helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (run directories, jails, namespaces)"
	export D FB_STORE FB_RUN_CACHE KERNEL
	D=$(mktemp -d /tmp/fbjail.XXXXXX)
	FB_STORE="$D/store"
	FB_RUN_CACHE="$D/rc"
	KERNEL=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
	[ -f "$KERNEL" ] || KERNEL="$D/no-kernel"
	firebuild baseos --dockerfile="$FB_ROOT/baseos/busybox" --tag=fb/busybox:1 >/dev/null 2>&1
}

teardown_file() {
	[ -n "${D:-}" ] || return 0
	local r
	for r in "$FB_RUN_CACHE"/runs/*; do [ -d "$r" ] && fb-jail stop --run-dir "$r" --timeout 1 >/dev/null 2>&1; done
	for r in /var/run/netns/fb-pj*; do [ -e "$r" ] && ip netns del "$(basename "$r")" 2>/dev/null; done
	rm -rf "$D"
}

need_vm() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
	[ -f "$KERNEL" ] || skip "no guest kernel (scripts/build-kernel)"
}

# fails WANT MESSAGE CMD...: exit WANT, one error object on stdout (with
# that exit code; MESSAGE, when not empty, its message), one line on stderr
fails() {
	local want=$1 msg=$2
	shift 2
	run --separate-stderr "$@"
	if [ "$status" -ne "$want" ] || [ "$(jq -r '.error | type' <<<"$output")" != object ] ||
		[ "$(jq -r .error.exit_code <<<"$output")" != "$want" ] || [ "$(wc -l <<<"$output")" -ne 1 ] ||
		{ [ -n "$msg" ] && [ "$(jq -r .error.message <<<"$output")" != "$msg" ]; }; then
		echo "$*: status $status (want $want): $output / $stderr"
		return 1
	fi
	[ "$(wc -l <<<"$stderr")" -eq 1 ] && [[ "$stderr" == "fb-jail: error: "* || "$stderr" == "fb-"*": error: "* ]]
}

image() { fb-tag get fb/busybox:1; }

@test "--help and --version on stdout; a usage mistake of each command is an error object (kind usage, exit 2)" {
	run --separate-stderr fb-jail --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"fb-jail prepare --kernel=VMLINUX"*"fb-jail start"*"fb-jail stop --run-dir"* ]]
	run --separate-stderr fb-jail --version
	[ "$status" -eq 0 ]
	[[ "$output" == "fb-jail "* ]]
	local m
	for m in "--name bad-name: 1 to 20 characters of [a-zA-Z0-9]|prepare --name=bad-name" \
		"--cpu 0: expected a number from 1 to 64|prepare --cpu=0" \
		"--mem 16: expected a number from 32 to 4194304|prepare --mem=16" \
		"--vmm xen: expected qemu or firecracker|prepare --vmm=xen" \
		"--cgroup nothing: expected FILE=VALUE|prepare --cgroup=nothing" \
		"--cpu-template Z9: one of T2, T2S, T2CL, T2A, C3, None|prepare --cpu-template=Z9" \
		"--env =x: a variable needs a name|prepare --env==x" \
		"--jailer-uid me: expected a number from 0 to 4294967294|prepare --jailer-uid=me" \
		"start takes none of the options of prepare|start --name=x" \
		"stop takes none of the options of start|stop --spec=x" \
		"prepare takes none of the options of stop|prepare --timeout=5"; do
		# shellcheck disable=SC2086
		fails 2 "${m%%|*}" fb-jail ${m#*|} </dev/null
		[ "$(jq -r .error.kind <<<"$output")" = usage ]
	done
	[ ! -e "$FB_RUN_CACHE/runs" ] || [ -z "$(ls -A "$FB_RUN_CACHE/runs")" ]
}

@test "prepare: the image document in; out, the same with .vm: the name taken, the VM's copy with fb-init in it, the machine, the jail, the config drive's content" {
	printf 'B=file\n# a comment\nC=file\n' >"$D/env"
	run --separate-stderr bash -c "fb-tag get fb/busybox:1 | fb-jail prepare --kernel=$KERNEL --name=pj1 --cpu=2 --mem=96 \
		--env-file=$D/env --env C=flag --hostname=h1 --jailer-uid=4400 --cgroup=cpu.weight=50 --shutdown-timeout=9 \
		-- /bin/echo hi"
	echo "$stderr"
	[ "$status" -eq 0 ]
	local dir="$FB_RUN_CACHE/runs/pj1"
	[ "$(jq -r .image.name <<<"$output")" = fb/busybox ] # the rest goes on
	json_eq "$(jq -c '.vm | {id, run_dir, image, cpu, mem, stop_timeout, daemonize, remove_after, mmds,
		rootfs, config_drive, kernel}' <<<"$output")" \
		"$(jq -nc --arg d "$dir" --arg k "$KERNEL" '{id: "pj1", run_dir: $d, image: "fb/busybox:1", cpu: 2, mem: 96,
		stop_timeout: 9, daemonize: false, remove_after: true, mmds: true, rootfs: ($d + "/rootfs.ext4"),
		config_drive: ($d + "/config.drive"), kernel: $k}')"
	json_eq "$(jq -c .vm.jail <<<"$output")" '{"base":"/srv/jailer","uid":4400,"gid":4400,"cgroup":{"cpu.weight":"50"}}'
	json_eq "$(jq -c '.vm.config | {id, hostname, cmd, stop_timeout, env: (.env | map(select(test("^[BC]="))))}' <<<"$output")" \
		'{"id":"pj1","hostname":"h1","cmd":["/bin/echo","hi"],"stop_timeout":9,"env":["B=file","C=flag"]}'
	# the VM's copy: root's alone, with this fb-init; nothing else made yet
	[ "$(stat -c '%u %a' "$dir/rootfs.ext4")" = "0 600" ]
	debugfs -R "dump /sbin/fb-init $D/init.out" "$dir/rootfs.ext4" 2>/dev/null
	cmp "$D/init.out" "$FB_BIN/fb-init"
	# and fb-init's mount points the image lacked (the kernel mounts
	# devtmpfs on /dev; fb-init makes no directory at boot)
	for m in /proc /sys /dev /run /tmp; do
		debugfs -R "stat $m" "$dir/rootfs.ext4" 2>/dev/null | grep -q 'Type: directory'
	done
	[ ! -e "$dir/config.drive" ] && [ ! -e "$dir/state.json" ] && [ ! -e /var/run/netns/fb-pj1 ]
	# the name is taken (its directory), its lock no longer held
	flock -n "$dir/lock" true
	rm -rf "$dir"
	# unjailed, no MMDS, a random id and a random hostname
	run --separate-stderr bash -c "fb-tag get fb/busybox:1 | fb-jail prepare --kernel=$KERNEL --no-jail --no-mmds --daemonize"
	[ "$status" -eq 0 ]
	[[ "$(jq -r .vm.id <<<"$output")" =~ ^[0-9a-f]{12}$ ]]
	[[ "$(jq -r .vm.config.hostname <<<"$output")" =~ ^[a-z]+-[a-z]+$ ]]
	json_eq "$(jq -c '.vm | {jail, mmds, remove_after, daemonize}' <<<"$output")" \
		'{"jail":null,"mmds":null,"remove_after":false,"daemonize":true}'
	rm -rf "$(jq -r .vm.run_dir <<<"$output")"
}

@test "prepare: an error object passes through unchanged (1); not an image document (2); no kernel, no image file (3); a name in use (4); a private key (2); nothing made" {
	local e='{"error":{"tool":"fb-tag","kind":"not_found","message":"no such image","exit_code":3}}'
	run --separate-stderr fb-jail prepare --kernel="$KERNEL" --name=pj2 <<<"$e"
	[ "$status" -eq 1 ]
	[ "$output" = "$e" ]
	[ -z "$stderr" ]
	fails 2 ".image: missing (expected an object)" fb-jail prepare --kernel="$KERNEL" --name=pj2 <<<'{"tag":{}}'
	fails 2 ".image.config.config.Cmd: expected an array or null, got string" fb-jail prepare --kernel="$KERNEL" --name=pj2 \
		<<<"$(image | jq -c '.image.config.config.Cmd = "sh"')"
	fails 2 "the input document: expected an object, got array" fb-jail prepare --kernel="$KERNEL" <<<'[]'
	fails 2 "prepare needs --kernel=VMLINUX" fb-jail prepare --name=pj2 <<<"$(image)"
	fails 3 "" fb-jail prepare --kernel="$D/nothing" --name=pj2 <<<"$(image)"
	[[ "$stderr" == *"--kernel $D/nothing"*"No such file"* ]]
	fails 3 "" fb-jail prepare --kernel="$KERNEL" --name=pj2 <<<"$(image | jq -c --arg p "$D/gone.ext4" '.image.rootfs = $p')"
	ssh-keygen -q -t ed25519 -N '' -f "$D/key" >/dev/null
	fails 2 "--identity-file $D/key: a private key; give the .pub" fb-jail prepare --kernel="$KERNEL" --name=pj2 \
		--ssh-user=u --identity-file="$D/key" <<<"$(image)"
	fails 2 "--ssh-user and --identity-file (a public key) go together" fb-jail prepare --kernel="$KERNEL" --name=pj2 \
		--identity-file="$D/key.pub" <<<"$(image)"
	[ -z "$(ls -A "$FB_RUN_CACHE/runs" 2>/dev/null)" ]
	# a name in use is another VM's: refused, its directory as it was
	mkdir -p "$FB_RUN_CACHE/runs/pj3" && echo keep >"$FB_RUN_CACHE/runs/pj3/mine"
	fails 4 "" fb-jail prepare --kernel="$KERNEL" --name=pj3 <<<"$(image)"
	[[ "$stderr" == *"--name pj3: a "*"VM of that name"* || "$stderr" == *"--name pj3: a start of a VM of that name"* ]]
	[ "$(ls -A "$FB_RUN_CACHE/runs/pj3")" = mine ]
	rm -rf "$FB_RUN_CACHE/runs/pj3"
}

@test "start: an error object passes through unchanged (1), nothing made; no firecracker binary (3) undoes what prepare made; a running VM's directory (4) is left as it is" {
	local e='{"error":{"tool":"fb-net","kind":"cni","message":"plugin failed","exit_code":1}}'
	run --separate-stderr fb-jail start <<<"$e"
	[ "$status" -eq 1 ]
	[ "$output" = "$e" ]
	need_vm
	image | fb-jail prepare --kernel="$KERNEL" --name=pj4 --vmm=firecracker --binary-firecracker=/no/such/fc >"$D/pj4.json"
	[ -d "$FB_RUN_CACHE/runs/pj4" ]
	fails 3 "" fb-jail start <"$D/pj4.json"
	[[ "$stderr" == *"no firecracker binary"* ]]
	[ ! -e "$FB_RUN_CACHE/runs/pj4" ]
	# daemonized; a second start of its run directory is refused
	image | fb-jail prepare --kernel="$KERNEL" --name=pj5 --daemonize --jailer-uid=4401 --chroot-base="$D/jail" \
		-- /bin/sh -c 'while :; do sleep 1; done' >"$D/pj5.json"
	run --separate-stderr fb-jail start <"$D/pj5.json"
	[ "$status" -eq 0 ]
	[ "$(jq -r .vm.status <<<"$output")" = running ]
	fails 4 "" fb-jail start <"$D/pj5.json"
	[[ "$stderr" == *"the VM of this run directory is running"* ]]
	run --separate-stderr fb-jail stop --run-dir "$FB_RUN_CACHE/runs/pj5" --timeout 2
	[ "$status" -eq 0 ]
	[ "$(jq -c '{id, killed}' <<<"$output")" = '{"id":"pj5","killed":true}' ]
	[ ! -e "$FB_RUN_CACHE/runs/pj5" ] && [ ! -e "$D/jail/qemu-system-x86_64/pj5" ]
	# stop of a run directory with no VM: not found
	fails 3 "" fb-jail stop --run-dir "$FB_RUN_CACHE/runs/pj5"
}

@test "the pipeline by hand: fb-tag get | fb-jail prepare | fb-jail start boots the image in the foreground (console on stdout, the workload's exit status) and leaves nothing" {
	need_vm
	run --separate-stderr bash -c "fb-tag get fb/busybox:1 | fb-jail prepare --kernel=$KERNEL --name=pj6 --hostname=typed \
		--env GREETING=by-hand --chroot-base=$D/jail -- /bin/sh -c 'echo \"\$GREETING on \$(hostname)\"; exit 7' | fb-jail start"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 7 ]
	[[ "$output" == *"by-hand on typed"* ]]
	[ ! -e "$FB_RUN_CACHE/runs/pj6" ] && [ ! -e "$D/jail/qemu-system-x86_64/pj6" ]
	# prepare writes /etc/hosts and run-env.sh into the VM's copy; fb-init
	# writes what is missing or differs from the config (edited after
	# prepare here)
	fb-tag get fb/busybox:1 | fb-jail prepare --kernel="$KERNEL" --name=pj8 --hostname=typed --env GREETING=by-hand \
		--chroot-base="$D/jail" -- /bin/sh -c 'grep typed /etc/hosts; cat /etc/profile.d/run-env.sh' >"$D/pj8.json"
	rootfs=$(jq -r .vm.rootfs "$D/pj8.json")
	[[ "$(debugfs -R 'cat /etc/hosts' "$rootfs" 2>/dev/null)" == *$'127.0.1.1\ttyped'* ]]
	[[ "$(debugfs -R 'cat /etc/profile.d/run-env.sh' "$rootfs" 2>/dev/null)" == *"export GREETING='by-hand'"* ]]
	debugfs -w -R "rm /etc/hosts" "$rootfs" >/dev/null 2>&1
	run --separate-stderr bash -c "jq '.vm.config.env = [\"GREETING=edited\"]' '$D/pj8.json' | fb-jail start"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'127.0.1.1\ttyped'* ]]
	[[ "$output" == *"export GREETING='edited'"* ]]
	[[ "$output" != *"by-hand"* ]]
}

@test "what a start syncs: nothing in the foreground (not the jail's record, the running state, the VM's copy, its config drive or the jail's copies); a daemon's end state; the VMM joins the cgroup without a grace period" {
	need_vm
	command -v strace >/dev/null || skip "strace is not installed"
	# libext2fs's unix I/O fsyncs every image it opens: prepare's edits go
	# through lib/fs/fdio, so a fresh copy is not written out first
	fb-tag get fb/busybox:1 | fb-jail prepare --kernel="$KERNEL" --name=pj9 --chroot-base="$D/jail" -- /bin/true >"$D/pj9.json"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -y -qq -e trace=fsync,fdatasync,syncfs,write,rename,renameat,renameat2 -o "$D/pj9.st" \
		fb-jail start <"$D/pj9.json" >/dev/null 2>&1
	fb-tag get fb/busybox:1 | ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -y -qq -e trace=fsync,fdatasync,syncfs \
		-o "$D/pj10.st" fb-jail prepare --kernel="$KERNEL" --name=pj10 --chroot-base="$D/jail" -- /bin/true >/dev/null
	grep -E 'sync' "$D/pj9.st" "$D/pj10.st" || true
	! grep -E 'sync' "$D/pj10.st"
	# the jail's record and the state are still written whole (a temporary
	# name, renamed), only not synced: a foreground run's directory goes
	# at its end, and an fsync had also written the VM's copy out
	! grep -E 'sync' "$D/pj9.st"
	grep -E 'rename(at2?)?\(.*/pj9/jail\.json\.tmp-' "$D/pj9.st"
	grep -E 'rename(at2?)?\(.*/pj9/state\.json\.tmp-' "$D/pj9.st"
	# cgroup v1: "0" into tasks (the clone, one thread); cgroup.procs is v2's
	if [ -e /sys/fs/cgroup/memory/tasks ] && [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
		grep -E 'write\([0-9]+</sys/fs/cgroup/[^>]*/firebuild/pj9/tasks>, "0"' "$D/pj9.st"
		! grep -E 'write\([0-9]+</sys/fs/cgroup/[^>]*cgroup\.procs>' "$D/pj9.st"
	fi
	fb-jail stop --run-dir "$FB_RUN_CACHE/runs/pj10" --timeout 1 >/dev/null 2>&1 || true
	[ ! -e "$FB_RUN_CACHE/runs/pj9" ]
	# daemonized, the record of its end outlives the run: synced (strace
	# follows the supervisor to its end), and nothing else
	fb-tag get fb/busybox:1 | fb-jail prepare --kernel="$KERNEL" --name=pj20 --daemonize --chroot-base="$D/jail" -- /bin/true >"$D/pj20.json"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -y -qq -e trace=fsync,fdatasync,syncfs -o "$D/pj20.st" \
		fb-jail start <"$D/pj20.json" >/dev/null 2>&1
	cat "$D/pj20.st"
	[ "$(jq -r .status "$FB_RUN_CACHE/runs/pj20/state.json")" = exited ]
	[ "$(grep -cE '^[0-9]+ +(fsync|fdatasync|syncfs)\(' "$D/pj20.st")" -eq 1 ]
	grep -E 'fsync\([0-9]+<.*/pj20/state\.json\.tmp-' "$D/pj20.st"
	fb-jail stop --run-dir "$FB_RUN_CACHE/runs/pj20" --timeout 1 >/dev/null 2>&1 || true
}

@test "first boot: /etc/hosts, run-env.sh and USER as prepare wrote and resolved them go to fb-init (etc_written, ids); a spec asking otherwise, or a copy that has booted, gets neither" {
	need_vm
	local drive='tr -d "\\000" </dev/vdb; echo; id -u; echo "HOME=$HOME"; tail -1 /etc/hosts'
	fb-tag get fb/busybox:1 | fb-jail prepare --kernel="$KERNEL" --name=pj11 --hostname=first --chroot-base="$D/jail" \
		-- /bin/sh -c "$drive" >"$D/pj11.json"
	[[ "$(jq -r .vm.config.prepared.etc "$D/pj11.json")" == sha256:* ]]
	[ "$(jq -c '.vm.config.prepared | [.user, .uid, .gid, .groups, .home]' "$D/pj11.json")" = '["",0,0,[0],"/root"]' ]
	run --separate-stderr fb-jail start <"$D/pj11.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"etc_written":true'* ]]
	[[ "$output" == *'"ids":{"uid":0,"gid":0,"groups":[0],"home":"/root"}'* ]]
	[[ "$output" != *'"prepared"'* ]]
	[[ "$output" == *"HOME=/root"* && "$output" == *$'127.0.1.1\tfirst'* ]]
	# another USER than prepare resolved, and another hostname: fb-init
	# looks for itself (and writes /etc/hosts)
	fb-tag get fb/busybox:1 | fb-jail prepare --kernel="$KERNEL" --name=pj12 --chroot-base="$D/jail" -- /bin/sh -c "$drive" |
		jq '.vm.config.user = "nobody" | .vm.config.hostname = "edited"' >"$D/pj12.json"
	run --separate-stderr fb-jail start <"$D/pj12.json"
	[ "$status" -eq 0 ]
	[[ "$output" != *'"etc_written"'* && "$output" != *'"ids"'* ]]
	grep -Eq $'^65534\r?$' <<<"$output"
	[[ "$output" == *$'127.0.1.1\tedited'* ]]
	# a copy that has been a guest's disk (a state record in its directory)
	fb-tag get fb/busybox:1 | fb-jail prepare --kernel="$KERNEL" --name=pj13 --chroot-base="$D/jail" -- /bin/sh -c "$drive" >"$D/pj13.json"
	echo '{}' >"$FB_RUN_CACHE/runs/pj13/state.json"
	run --separate-stderr fb-jail start <"$D/pj13.json"
	[ "$status" -eq 0 ]
	[[ "$output" != *'"etc_written"'* && "$output" != *'"ids"'* ]]
	grep -Eq $'^0\r?$' <<<"$output" && [[ "$output" == *"HOME=/root"* ]]
}

@test "the pipeline by hand on a CNI network, daemonized: .vm (the state), .network and .image come out; the guest has the address; fb-jail stop removes it all" {
	need_vm
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	mkdir -p "$D/conf"
	cat >"$D/conf/pjnet.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "pjnet", "plugins": [
  {"type": "bridge", "bridge": "fbpj0", "isGateway": true,
   "ipam": {"type": "host-local", "subnet": "10.96.0.0/24", "dataDir": "$D/ipam"}},
  {"type": "tc-redirect-tap"}]}
EOF
	run --separate-stderr unshare --net bash -c "set -e; ip link set lo up
		fb-tag get fb/busybox:1 | fb-jail prepare --kernel=$KERNEL --name=pj7 --daemonize --chroot-base=$D/jail \
			-- /bin/sh -c 'ip -4 addr show eth0; while :; do sleep 1; done' |
			fb-net add --network=pjnet --cni-conf-dir=$D/conf --cni-bin-dir=/usr/lib/cni --cni-bin-dir=$FB_BIN |
			fb-jail start > $D/pj7.json
		for i in \$(seq 1 300); do grep -q 'inet 10.96.0' $FB_RUN_CACHE/runs/pj7/console.log && break; sleep 0.2; done
		grep -o 'inet 10.96.0.[0-9]*' $FB_RUN_CACHE/runs/pj7/console.log
		[ -e /var/run/netns/fb-pj7 ] && echo had-netns
		fb-jail stop --run-dir $FB_RUN_CACHE/runs/pj7 --timeout 2 | jq -c '{id, killed}'
		[ ! -e /var/run/netns/fb-pj7 ] && [ ! -e $FB_RUN_CACHE/runs/pj7 ] && echo nothing-left"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	local ip
	ip=$(jq -r '.network.interfaces[0].ip' "$D/pj7.json")
	[[ "$ip" == 10.96.0.*/24 ]]
	[[ "$output" == *"inet ${ip%/*}"* ]]
	[ "$(jq -r .vm.status "$D/pj7.json")" = running ]
	[ "$(jq -r .vm.network.tap "$D/pj7.json")" = tap0 ]
	[ "$(jq -r .image.name "$D/pj7.json")" = fb/busybox ]
	[ "$(jq -r '.vm.config // "none"' "$D/pj7.json")" = none ] # the drive's content (secrets) is not printed
	[[ "$output" == *had-netns*'{"id":"pj7","killed":true}'*nothing-left* ]]
	[ -z "$(ls "$D/ipam/pjnet" 2>/dev/null | grep '^10\.' || true)" ]
}

@test "a stop asked for while the guest boots reaches fb-init: the workload gets its stop signal (143), not a kill of QEMU when the time is up" {
	need_vm
	# start returns as QEMU runs: the stop comes before fb-init has
	# opened its control port (COM2, whose open clears what came before)
	image | fb-jail prepare --kernel="$KERNEL" --name=pj14 --daemonize --shutdown-timeout=20 --chroot-base="$D/jail" \
		-- /bin/sh -c 'while :; do sleep 1; done' >"$D/pj14.json"
	run --separate-stderr fb-jail start <"$D/pj14.json"
	[ "$status" -eq 0 ]
	run --separate-stderr fb-jail stop --run-dir "$FB_RUN_CACHE/runs/pj14" --timeout 30
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -c '{id, exit_code}' <<<"$output")" = '{"id":"pj14","exit_code":143}' ]
	[[ "$stderr" != *"did not stop"* ]]
}

@test "USER out of Docker's range is an error at boot (125), as prepare finds it, never a wrap to another id: 4294967296 is not root" {
	need_vm
	local u
	for u in 4294967296 0:4294967296; do
		fb-tag get fb/busybox:1 | fb-jail prepare --kernel="$KERNEL" --name=pj15 --chroot-base="$D/jail" -- /bin/id |
			jq --arg u "$u" '.vm.config.user = $u' >"$D/pj15.json"
		[ "$(jq -r .vm.config.prepared.user "$D/pj15.json")" = "" ] # what prepare resolved: not this one
		run --separate-stderr fb-jail start <"$D/pj15.json"
		echo "$output"
		echo "$stderr"
		[ "$status" -eq 125 ]
		[[ "$output$stderr" == *"out of range: uids and gids must be in range 0-2147483647"* ]]
		[[ "$output" != *"uid=0"* ]]
	done
}

@test "fb-init reads /etc/passwd by whole lines, as glibc and runc: a piece of a long line is no entry, a line of six fields gives its home without the newline" {
	need_vm
	local drive='id -u; echo "HOME=[$HOME]"'
	fb-tag get fb/busybox:1 | fb-jail prepare --kernel="$KERNEL" --name=pj16 --chroot-base="$D/jail" -- /bin/sh -c "$drive" |
		jq '.vm.config.user = "app"' >"$D/pj16.json"
	# 1023 bytes, then what would read as app's entry, uid 0, were the line cut there
	{
		printf 'long:x:5:5:%s' "$(head -c 1012 /dev/zero | tr '\0' A)"
		printf 'app:x:0:0::/root:/bin/sh\n'
		printf 'app:x:1000:1000::/home/app\n'
	} >"$D/pj16.passwd"
	local img="$FB_RUN_CACHE/runs/pj16/rootfs.ext4"
	debugfs -w -R "rm /etc/passwd" "$img" >/dev/null 2>&1
	debugfs -w -R "write $D/pj16.passwd /etc/passwd" "$img" >/dev/null 2>&1
	run --separate-stderr fb-jail start <"$D/pj16.json"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	grep -Eq $'^1000\r?$' <<<"$output"
	[[ "$output" == *"HOME=[/home/app]"* ]]
}
