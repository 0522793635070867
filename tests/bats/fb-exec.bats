#!/usr/bin/env bats
# fb-exec: the RUN sandbox. A busybox tree is the root; every run must leave
# the tree, the host's mounts and its process table as they were.

load helpers

setup() {
	[ "$(id -u)" -eq 0 ] || skip "namespaces and pivot_root need root"
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	R=$(mktemp -d)
	chmod 0755 "$R" # as an image's root is: other users may enter it
	mkdir -p "$R/bin" "$R/etc" "$R/tmp"
	cp /bin/busybox "$R/bin/"
	local a
	for a in sh ls cat id hostname echo ps sleep mount wc mknod grep kill true; do
		ln -s busybox "$R/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n' >"$R/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n' >"$R/etc/group"
	printf 'not executable\n' >"$R/bin/noexec"
	(cd "$R" && find . | sort) >"$BATS_TEST_TMPDIR/before"
}

teardown() {
	[ -n "${R:-}" ] && rm -rf "$R"
	[ -n "${MARKER:-}" ] && rm -f "$MARKER"
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP"
	[ -n "${PID:-}" ] && kill -9 "$PID" 2>/dev/null
	return 0
}

# a host block device with known bytes: a loop device over a file
host_disk() {
	command -v losetup >/dev/null || skip "losetup (util-linux) is not installed"
	printf 'HOSTDISKSECRET01%.0s' $(seq 64) >"$BATS_TEST_TMPDIR/disk.img"
	LOOP=$(losetup -f --show "$BATS_TEST_TMPDIR/disk.img") || skip "no loop device"
	[ "$(head -c 16 "$LOOP")" = HOSTDISKSECRET01 ]
}

# no process whose command line matches (bats ignores a bare `! cmd`)
gone() {
	! pgrep -f "$1" >/dev/null
}

# the device cgroup mechanisms this host has: bpf (cgroup2), cgroup1
device_modes() {
	grep -q ' - cgroup2 ' /proc/self/mountinfo && echo bpf
	grep ' - cgroup ' /proc/self/mountinfo | grep -q '[ ,]devices' && echo cgroup1
	return 0
}

unchanged() { # the tree holds exactly what it held before
	diff <(cd "$R" && find . | sort) "$BATS_TEST_TMPDIR/before"
	! grep -q " $R" /proc/self/mountinfo
}

@test "exit status passes through: a code, a signal, not found, not executable" {
	run fb-exec --root "$R" -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run fb-exec --root "$R" -- sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
	run -127 --separate-stderr fb-exec --root "$R" -- /bin/nonexistent
	[[ "$stderr" == *"/bin/nonexistent: No such file or directory"* ]]
	run -126 --separate-stderr fb-exec --root "$R" -- /bin/noexec
	unchanged
}

@test "isolation: own pid, mount and uts namespaces; proc, dev, read-only sys" {
	run fb-exec --root "$R" --hostname=builder -- sh -c 'echo $$; hostname; ps | wc -l; mount'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 2 ]
	[ "${lines[1]}" = builder ]
	[ "${lines[2]}" -le 6 ]
	[[ "$output" == *"proc on /proc type proc"* ]]
	[[ "$output" == *"sysfs on /sys type sysfs (ro"* ]]
	[[ "$output" == *"devpts on /dev/pts"* ]]
	[[ "$output" == *"on /dev/shm type tmpfs"* ]]
	run fb-exec --root "$R" -- sh -c 'ls /dev'
	[[ "$output" == *null* && "$output" == *urandom* && "$output" != *sda* ]]
	unchanged
}

@test "user and environment: names from the tree, numbers, groups; only the given env" {
	run fb-exec --root "$R" --user app --env A=1 --env 'B=two words' -- sh -c 'id; echo "$A|$B|$HOME|$PATH"; env | wc -l'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)" ]]
	[ "${lines[1]}" = "1|two words|/home/app|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]
	run fb-exec --root "$R" --user 4242:4343 -- id -u
	[ "$output" = 4242 ]
	run --separate-stderr fb-exec --root "$R" --user nosuch -- true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"unable to find user nosuch"* ]]
	unchanged
}

@test "workdir is made when missing and stays (WORKDIR semantics)" {
	run fb-exec --root "$R" --workdir /srv/app -- sh -c pwd
	[ "$output" = /srv/app ]
	[ -d "$R/srv/app" ]
}

@test "network none: a namespace with lo only, up" {
	run fb-exec --root "$R" --network none -- sh -c 'cat /proc/net/dev | tail -n +3 | wc -l; cat /sys/class/net/lo/flags'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" -eq 1 ]
	[ $(( ${lines[1]} & 1 )) -eq 1 ]
	run fb-exec --root "$R" --network host -- sh -c 'cat /proc/net/dev | tail -n +3 | wc -l'
	[ "$output" -eq "$(tail -n +3 /proc/net/dev | wc -l)" ]
}

@test "timeout kills the whole tree and leaves nothing" {
	local start=$SECONDS
	run --separate-stderr fb-exec --root "$R" --timeout 1 -- sh -c 'sleep 101 & sleep 102 & sleep 103'
	[ "$status" -eq 124 ]
	[ $((SECONDS - start)) -lt 10 ]
	sleep 0.2
	! pgrep -f 'sleep 10[123]'
	unchanged
}

@test "Ctrl-C kills the whole tree" {
	fb-exec --root "$R" -- sh -c 'sleep 201 & sleep 202' 3>&- &
	local pid=$!
	sleep 0.5
	kill -INT "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" -eq 130 ]
	sleep 0.2
	! pgrep -f 'sleep 20[12]'
	unchanged
}

@test "no way out: /proc/1/root is the sandbox, host files stay untouched" {
	local marker
	marker=$(mktemp /tmp/fb-exec-marker-XXXXXX)
	MARKER=$marker
	local before
	before=$(sha256sum </etc/resolv.conf)
	run --separate-stderr fb-exec --root "$R" -- sh -c "ls /proc/1/root/tmp; cat /proc/1/root/etc/passwd | wc -l; echo hijack > /etc/resolv.conf; ls /proc/1/root$marker"
	[ "$status" -ne 0 ] # the marker is not there to list
	[[ "$output" != *"fb-exec-marker"* ]]
	[ "${lines[0]}" -eq 3 ]
	[ "$(sha256sum </etc/resolv.conf)" = "$before" ]
	rm -f "$marker"
	# no mknod of disks, no mounts: those capabilities are gone
	run fb-exec --root "$R" -- mknod /tmp/sda b 8 0
	[ "$status" -ne 0 ]
	run fb-exec --root "$R" -- mount -t tmpfs x /tmp
	[ "$status" -ne 0 ]
	[ ! -e "$R/tmp/sda" ]
	unchanged
}

@test "JSON spec: output to stderr, .exec_result on stdout, other keys kept" {
	run --separate-stderr fb-exec <<<"{\"keep\":1,\"exec\":{\"root\":\"$R\",\"args\":[\"sh\",\"-c\",\"echo out; echo err >&2; exit 3\"],\"env\":[\"X=1\"],\"user\":\"nobody\",\"network\":\"none\",\"timeout\":30}}"
	[ "$status" -eq 3 ]
	[ "$(jq -c '{keep, code: .exec_result.exit_code, t: .exec_result.timed_out}' <<<"$output")" = '{"keep":1,"code":3,"t":false}' ]
	[[ "$stderr" == *out*err* ]]
	run --separate-stderr fb-exec <<<'{"error":{"tool":"fb-parse","message":"x"}}'
	[ "$status" -eq 1 ]
}

@test "usage: errors are 125, --help is 0" {
	run fb-exec -- true
	[ "$status" -eq 125 ]
	# a usage error writes the error object, like every other failure
	run --separate-stderr fb-exec -- true
	[ "$status" -eq 125 ]
	[ "$(jq -c '.error | {kind, message}' <<<"$output")" = '{"kind":"usage","message":"--root is required"}' ]
	run --separate-stderr fb-exec --bogus -- true
	[ "$status" -eq 125 ]
	[ "$(jq -r .error.message <<<"$output")" = "unknown option '--bogus'" ]
	[ "$stderr" = "fb-exec: error: unknown option '--bogus' (see --help)" ]
	run --separate-stderr fb-exec --root "$R" --workdir relative -- true
	[ "$status" -eq 125 ]
	[ "$(jq -r .error.message <<<"$output")" = "--workdir relative: must be absolute" ]
	run --separate-stderr fb-exec --root
	[ "$status" -eq 125 ]
	[ "$(jq -r .error.message <<<"$output")" = "option '--root' needs a value" ]
	run fb-exec --root "$R" --network bridge -- true
	[ "$status" -eq 125 ]
	run fb-exec --root /nonexistent -- true
	[ "$status" -eq 125 ]
	run fb-exec --help
	[ "$status" -eq 0 ]
}

@test "firebuild exec --from: a command in a tagged image, with its config" {
	local d
	d=$(mktemp -d)
	chmod 0755 "$R"
	mkdir -p "$R/srv"
	tar --numeric-owner -C "$R" -czf "$d/root.tar.gz" .
	firebuild import "$d/root.tar.gz" --tag=look/inside:1 --store="$d/store" >/dev/null 2>&1
	# give the image a config as a build would
	local meta="$d/store/rootfs/look/inside/1/image.json"
	jq '.config.config = {"Env":["GREETING=hi"],"User":"nobody","WorkingDir":"/srv"}' "$meta" >"$d/m" && mv "$d/m" "$meta"
	run --separate-stderr firebuild exec --from=look/inside:1 --store="$d/store" -- sh -c 'echo "$GREETING $(id -u) $(pwd)"; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = "hi 65534 /srv" ]
	run --separate-stderr firebuild exec --from=look/inside:1 --store="$d/store" --user=root --env GREETING=yo -- sh -c 'echo "$GREETING $(id -u)"'
	[ "$output" = "yo 0" ]
	# nothing stays behind
	! ls -d /tmp/fb-exec-tree-* 2>/dev/null
	run --separate-stderr firebuild exec --from=no/such:1 --store="$d/store" -- true
	[ "$status" -eq 3 ]
	rm -rf "$d"
}

@test "device nodes: the tree and bind mounts are nodev, only Docker's devices open (cgroup2 BPF and cgroup1)" {
	host_disk
	local min=${LOOP#/dev/loop}
	mknod "$R/disk" b 7 "$min"
	mknod "$R/zero" c 1 5 # a node the allowlist takes: nodev alone refuses it here
	mkdir "$BATS_TEST_TMPDIR/src"
	mknod "$BATS_TEST_TMPDIR/src/disk" b 7 "$min"
	(cd "$R" && find . | sort) >"$BATS_TEST_TMPDIR/before"
	run --separate-stderr fb-exec --root "$R" -- sh -c 'head -c 16 /disk'
	[ "$status" -ne 0 ]
	[[ "$output" != *SECRET* ]]
	[[ "$stderr" == *"/disk: Permission denied"* ]]
	run --separate-stderr fb-exec --root "$R" -- sh -c 'head -c 4 /zero | wc -c'
	[[ "$stderr" == *"/zero: Permission denied"* ]]
	run fb-exec --root "$R" -- sh -c 'head -c 4 /dev/zero | wc -c; echo hi >/dev/null && echo null-ok'
	[ "${lines[0]}" = 4 ]
	[ "${lines[1]}" = null-ok ]
	# a RUN --mount bind source holding a node: nodev too
	run --separate-stderr fb-exec <<<"{\"exec\":{\"root\":\"$R\",\"args\":[\"sh\",\"-c\",\"head -c 16 /src/disk\"],\"mounts\":[{\"type\":\"bind\",\"source\":\"$BATS_TEST_TMPDIR/src\",\"target\":\"/src\"}]}}"
	[ "$(jq .exec_result.exit_code <<<"$output")" -ne 0 ]
	[[ "$stderr" != *SECRET* && "$stderr" == *"Permission denied"* ]]
	# a device reached through an inherited descriptor's /proc/self/fd link
	# (the host's /dev mount, not nodev): the device cgroup refuses it
	local modes
	modes=$(device_modes)
	[ -n "$modes" ] || skip "neither cgroup2 nor the cgroup1 devices controller is mounted"
	local m
	for m in $modes; do
		run --separate-stderr env FB_EXEC_DEVICES="$m" fb-exec --root "$R" -- sh -c 'head -c 16 /proc/self/fd/3; cat /proc/self/cgroup' 3<"$LOOP"
		[[ "$output" != *SECRET* ]]
		[[ "$stderr" == *"/proc/self/fd/3: Operation not permitted"* ]]
		[[ "$output" == *"/fb-exec-"* ]]
		# Docker's set still works there
		run env FB_EXEC_DEVICES="$m" fb-exec --root "$R" -- sh -c 'head -c 4 /dev/urandom | wc -c; (: >/dev/full; : </dev/ptmx) && echo ok'
		[ "${lines[0]}" = 4 ]
		[ "${lines[1]}" = ok ]
	done
	# cgroup1: the sandbox joins by "0" into tasks (this thread, no global
	# lock), not by a pid in cgroup.procs (an RCU grace period a RUN step)
	if [[ "$modes" == *cgroup1* ]] && command -v strace >/dev/null; then
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 FB_EXEC_DEVICES=cgroup1 \
			strace -f -y -qq -e trace=write -o "$BATS_TEST_TMPDIR/cg.st" fb-exec --root "$R" -- true
		grep -E 'write\([0-9]+</sys/fs/cgroup/[^>]*fb-exec-[^>]*/tasks>, "0"' "$BATS_TEST_TMPDIR/cg.st"
		! grep -E 'cgroup\.procs>' "$BATS_TEST_TMPDIR/cg.st"
	fi
	# no cgroup stays behind
	[ -z "$(ls -d /sys/fs/cgroup/*/fb-exec-* /sys/fs/cgroup/fb-exec-* 2>/dev/null)" ]
	unchanged
}

@test "seccomp: Docker's default profile (EPERM), i386 entry included; what builds use still works" {
	command -v gcc >/dev/null || skip "gcc is not installed"
	gcc -static -O2 -o "$R/probe" "$BATS_TEST_DIRNAME/sandbox-probe.c" || skip "no static libc to build the probe"
	run fb-exec --root "$R" -- /probe
	[ "$status" -eq 0 ]
	local denied=(keyctl add_key unshare_user clone_newuser bpf perf_event_open mount umount setns io_uring_setup
		socket_vsock personality_addr_no_randomize sethostname)
	local n
	for n in "${denied[@]}"; do
		[[ "$output" == *"$n=EPERM"* ]] || { echo "$n not refused"; return 1; }
	done
	[[ "$output" == *"clone3=ENOSYS"* ]]
	for n in clone socket_inet personality_query chroot; do
		[[ "$output" == *"$n=ok"* ]] || { echo "$n refused"; return 1; }
	done
	# the i386 entry, where the host kernel has one (IA32 emulation)
	if [ "$(uname -m)" = x86_64 ] && [[ "$output" != *"i386=absent"* ]]; then
		[[ "$output" == *"i386_keyctl=EPERM"* && "$output" == *"i386_unshare_user=EPERM"* && "$output" == *"i386_getpid=ok"* ]]
	fi
	# setuid, chown and users: what package installs do
	run fb-exec --root "$R" -- sh -c 'echo x >/tmp/f && chown 1000:1000 /tmp/f && chmod 4755 /tmp/f && ls -ln /tmp/f; rm /tmp/f'
	[ "$status" -eq 0 ]
	[[ "$output" == "-rwsr-xr-x"*" 1000 "*" 1000 "* ]]
}

@test "/proc: Docker's masked paths are empty, /proc/sys and friends read-only" {
	run --separate-stderr fb-exec --root "$R" -- sh -c '
		for f in /proc/keys /proc/timer_list /proc/interrupts /proc/kcore /proc/sched_debug; do
			[ -e $f ] && echo "$f $(cat $f | wc -c)"
		done
		for d in /proc/acpi /sys/firmware /proc/scsi; do [ -d $d ] && echo "$d $(ls $d | wc -l)"; done
		echo x > /proc/sys/kernel/hostname && echo wrote-sys
		echo 1 > /proc/sysrq-trigger 2>/dev/null && echo wrote-sysrq
		grep -c processor /proc/cpuinfo >/dev/null && echo cpuinfo
		mount | grep " on /proc/sys "'
	[[ "$output" == *"/proc/keys 0"* ]]
	[[ "$output" == *"/proc/timer_list 0"* ]]
	[[ "$output" == *"/sys/firmware 0"* ]]
	if [ -d /proc/acpi ]; then [[ "$output" == *"/proc/acpi 0"* ]]; fi
	[[ "$output" != *wrote-sys* ]]
	[[ "$stderr" == *"Read-only file system"* ]]
	[[ "$output" == *cpuinfo* ]]
	[[ "$output" == *"on /proc/sys type proc (ro,"* ]]
	unchanged
}

@test "--root relative to the working directory" {
	cd "$(dirname "$R")"
	run fb-exec --root "./$(basename "$R")" -- sh -c 'echo in; ls /etc/passwd'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = in ]
	run fb-exec <<<"{\"exec\":{\"root\":\"$(basename "$R")\",\"args\":[\"true\"]}}"
	[ "$status" -eq 0 ]
	unchanged
}

@test "uids and gids out of range are refused (125), never wrapped to another id" {	run --separate-stderr fb-exec --root "$R" --user 99999999999 -- id -u
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"uid 99999999999 out of range"* ]]
	run --separate-stderr fb-exec --root "$R" --user 2147483648 -- id -u
	[ "$status" -eq 125 ]
	run --separate-stderr fb-exec --root "$R" --user 0:4294967296 -- id -u
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"gid 4294967296 out of range"* ]]
	run fb-exec --root "$R" --user 2147483647:2147483647 -- sh -c 'id -u; id -g'
	[ "${lines[0]}" = 2147483647 ]
	[ "${lines[1]}" = 2147483647 ]
	run --separate-stderr fb-exec <<<"{\"exec\":{\"root\":\"$R\",\"args\":[\"id\",\"-u\"],\"user\":\"99999999999\"}}"
	[ "$status" -eq 125 ]
	[ "$(jq .exec_result.exit_code <<<"$output")" -eq 125 ]
	[[ "$stderr" == *"out of range"* ]]
}

@test "fb-exec killed with -9: the sandbox dies with it; SIGTERM kills it too" {
	local tok=$((800000 + RANDOM))
	fb-exec --root "$R" -- sh -c "sleep $tok & sleep $((tok + 1))" 3>&- &
	PID=$!
	local i
	for i in $(seq 100); do pgrep -f "sleep $((tok + 1))" >/dev/null && break; sleep 0.1; done
	pgrep -f "sleep $((tok + 1))" >/dev/null
	kill -9 "$PID"
	for i in $(seq 100); do pgrep -f "sleep $tok" >/dev/null || break; sleep 0.1; done
	gone "sleep $tok"
	gone "sleep $((tok + 1))"
	fb-exec --root "$R" -- sh -c "sleep $((tok + 2))" 3>&- &
	PID=$!
	for i in $(seq 100); do pgrep -f "sleep $((tok + 2))" >/dev/null && break; sleep 0.1; done
	kill -TERM "$PID"
	local st=0
	wait "$PID" || st=$?
	[ "$st" -eq 143 ]
	gone "sleep $((tok + 2))"
	PID=
	# (the -9 run could not remove its mountpoints from the tree: no check)
}

@test "firebuild exec: the same sandbox (device allowlist, masked /proc)" {
	host_disk
	local d
	d=$(mktemp -d)
	mknod "$R/disk" b 7 "${LOOP#/dev/loop}"
	tar --numeric-owner -C "$R" -czf "$d/root.tar.gz" .
	firebuild import "$d/root.tar.gz" --tag=look/dev:1 --store="$d/store" >/dev/null 2>&1
	run --separate-stderr firebuild exec --from=look/dev:1 --store="$d/store" -- sh -c \
		'head -c 16 /disk; head -c 16 /proc/self/fd/3; cat /proc/keys | wc -c; echo x >/proc/sys/kernel/hostname' 3<"$LOOP"
	rm -rf "$d"
	[ "$status" -ne 0 ]
	[[ "$output" != *SECRET* ]]
	[[ "$stderr" == *"/proc/self/fd/3: Operation not permitted"* ]]
	[[ "$stderr" == *"Read-only file system"* ]]
	[ "$(echo "$output" | tail -1)" = 0 ]
}
