#!/usr/bin/env bats
# firebuild run, ls, inspect, kill, purge, logs and kernel: tagged images
# booted under QEMU -M microvm (TCG here) with fb-init as PID 1.

load helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (builds run steps in namespaces)"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
	export D FB_STORE FB_RUN_CACHE KERNEL
	KERNEL=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
	[ -f "$KERNEL" ] || skip "no guest kernel (scripts/build-kernel)"
	D=$(mktemp -d /tmp/fbrun.XXXXXX)
	FB_STORE="$D/store"
	FB_RUN_CACHE="$D/rc"
	firebuild kernel add --id=vmlinux-6.1 "$KERNEL" >/dev/null
	firebuild baseos --dockerfile="$FB_ROOT/baseos/busybox" --tag=fb/busybox:1 >/dev/null 2>&1
	mkdir -p "$D/ctx"
	cat >"$D/ctx/show.sh" <<'EOF'
#!/bin/sh
echo "user=$(id -u):$(id -g) pwd=$(pwd) host=$(hostname)"
echo "A=$A B=$B C=$C FROMFILE=$FROMFILE"
echo "args=$*"
cat /etc/profile.d/run-env.sh
grep "^127.0.1.1" /etc/hosts
exit "${EXIT:-0}"
EOF
	cat >"$D/ctx/Dockerfile" <<'EOF'
FROM fb/busybox:1
RUN echo 'app:x:1000:1000:app:/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group && mkdir -p /home/app /work && chown app /work
COPY --chmod=755 show.sh /show.sh
ENV A=image B=image
USER app
WORKDIR /work
ENTRYPOINT ["/show.sh"]
CMD ["default", "args"]
EOF
	firebuild rootfs --dockerfile="$D/ctx/Dockerfile" --tag=t/show:1 >/dev/null 2>&1
	# a workload that traps its STOPSIGNAL, and one that ignores it
	cat >"$D/ctx/Dockerfile.trap" <<'EOF'
FROM fb/busybox:1
STOPSIGNAL SIGUSR1
CMD ["/bin/sh", "-c", "trap 'echo got-usr1; exit 3' USR1; echo ready; while :; do sleep 0.2; done"]
EOF
	firebuild rootfs --dockerfile="$D/ctx/Dockerfile.trap" --context="$D/ctx" --tag=t/trap:1 >/dev/null 2>&1
}

teardown_file() {
	[ -n "${D:-}" ] || return 0
	firebuild ls 2>/dev/null | jq -r '.vms[].id' 2>/dev/null | while read -r id; do firebuild kill --vmm-id="$id" --shutdown-timeout=1 >/dev/null 2>&1; done
	rm -rf "$D"
}

@test "fb-init is static and small" {
	run file "$FB_BIN/fb-init"
	[[ "$output" == *"statically linked"* ]]
	[ "$(stat -c %s "$FB_BIN/fb-init")" -lt 1048576 ]
}

@test "kernel add and ls; the first kernel is the default" {
	run --separate-stderr firebuild kernel ls
	[ "$status" -eq 0 ]
	[ "$(jq -r '.kernels[0].id' <<<"$output")" = vmlinux-6.1 ]
	[ "$(jq -r '.kernels[0].default' <<<"$output")" = true ]
	run --separate-stderr firebuild kernel add --id=bad /etc/passwd
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"not an ELF vmlinux"* ]]
}

@test "run: ENTRYPOINT+CMD as USER in WORKDIR, the env merge (image, env files, --env), hostname, exit code" {
	printf 'B=file1\nFROMFILE=one\n# comment\n' >"$D/e1"
	printf 'C=file2\n' >"$D/e2"
	run --separate-stderr firebuild run --from=t/show:1 --name=show1 --hostname=myhost \
		--env-file="$D/e1" --env-file="$D/e2" --env C=flag --env EXIT=7 --env "Q=it's"
	[ "$status" -eq 7 ]
	[[ "$output" == *"user=1000:1000 pwd=/work host=myhost"* ]]
	[[ "$output" == *"A=image B=file1 C=flag FROMFILE=one"* ]]
	[[ "$output" == *"args=default args"* ]]
	[[ "$output" == *"export A='image'"* ]]
	[[ "$output" == *"export C='flag'"* ]]
	[[ "$output" == *"export Q='it'\\''s'"* ]]
	# both written by fb-jail prepare into the VM's copy
	[[ "$output" == *$'127.0.1.1\tmyhost'* ]]
	# a foreground VM leaves nothing behind
	[ ! -e "$FB_RUN_CACHE/runs/show1" ]
}

@test "run: a command after -- replaces CMD; a signal's death is 128+N" {
	run --separate-stderr firebuild run --from=t/show:1 -- replaced one
	[ "$status" -eq 0 ]
	[[ "$output" == *"args=replaced one"* ]]
	run --separate-stderr firebuild run --from=fb/busybox:1 -- /bin/sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
}

@test "run under TCG: the guest skips TCG's slow calibrations and the devices it does not use; the control port is COM2, not virtio-serial (bench/boot)" {
	FB_ACCEL=tcg run --separate-stderr firebuild run --from=fb/busybox:1 -- \
		/bin/sh -c 'cat /proc/cmdline; grep "^ *LOC:" /proc/interrupts; cat /proc/tty/drivers; ls /dev; ls -1 /sys/bus/virtio/devices; exit 3'
	[ "$status" -eq 3 ]
	for w in nolapic_timer no_timer_check lpj=1600000 pty.legacy_count=0 8250.nr_uarts=2 fb_ctl=ttyS1; do
		[[ "$output" == *" $w "* ]]
	done
	# the kernel took them: no local APIC timer ticks, no legacy pty driver
	# and devices, two serial ports (the console, the control port) and no
	# virtio-serial device (two virtio devices: the root and config drives)
	[[ "$output" =~ LOC:\ +0\  ]]
	[[ "$output" != *"/dev/pty "* ]]
	[[ "$output" != *ptyp0* ]]
	[[ "$output" == *ttyS0* ]]
	[[ "$output" == *ttyS1* ]]
	[[ "$output" != *ttyS2* ]]
	[[ "$output" != *vport* ]]
	[ "$(grep -c '^virtio[0-9]' <<<"$output")" -eq 2 ]
	# the exit code came over it (the state records what fb-init said)
	[[ "$stderr" != *"without a report"* ]]
}

@test "run: a config drive over 4 KiB (fb-init reads the first 4 KiB into a static buffer, the rest to the heap) and over its 1 MiB arena (a mapping each) comes through whole" {
	big=$(head -c 9000 /dev/zero | tr '\0' x)
	run --separate-stderr firebuild run --from=fb/busybox:1 --env "BIG=$big" --env AFTER=yes -- /bin/sh -c 'echo "${#BIG} $AFTER"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"9000 yes"* ]]
	# 1.2 MB of variables: fb-init's allocator runs out of its arena
	local v i args=()
	v=$(head -c 100000 /dev/zero | tr '\0' y)
	for i in $(seq 1 12); do args+=(--env "V$i=$v"); done
	run --separate-stderr firebuild run --from=fb/busybox:1 "${args[@]}" -- /bin/sh -c \
		'n=0; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do eval "l=\${#V$i}"; n=$((n + l)); done; echo "total $n"; echo "exported $(grep "^export V[0-9]*=" /etc/profile.d/run-env.sh | awk "length == 100012 || length == 100013" | wc -l)"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"total 1200000"* ]]
	[[ "$output" == *"exported 12"* ]]
}

@test "run: /dev is the kernel's devtmpfs (the VM's copy has the mount points), once, nosuid; the rest mounted as before" {
	run --separate-stderr firebuild run --from=fb/busybox:1 -- /bin/cat /proc/mounts
	[ "$status" -eq 0 ]
	[ "$(grep -c ' /dev ' <<<"$output")" = 1 ]
	grep -q '^devtmpfs /dev devtmpfs rw,nosuid' <<<"$output"
	for m in '/proc proc rw,nosuid,nodev,noexec' '/sys sysfs rw,nosuid,nodev,noexec' '/dev/pts devpts rw,nosuid,noexec' \
		'/dev/shm tmpfs rw,nosuid,nodev' '/run tmpfs rw,nosuid,nodev' '/tmp tmpfs rw,nosuid,nodev'; do
		grep -q " $m" <<<"$output"
	done
}

@test "run: a foreground VM's root disk goes with it, so the config drive tells fb-init to skip the sync at the end" {
	run --separate-stderr firebuild run --from=fb/busybox:1 -- /bin/sh -c 'tr -d "\\000" </dev/vdb; echo'
	[ "$status" -eq 0 ]
	[[ "$output" == *'"discard_root":true'* ]]
}

@test "run: the supervisor learns of QEMU's end from a pidfd, not at its poll's next timeout (bench/boot)" {
	command -v strace >/dev/null || skip "strace is not installed"
	# (LeakSanitizer cannot run under ptrace: off under the sanitizer build)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		run strace -f -qq -e trace=pidfd_open -o "$D/pidfd.trace" firebuild run --from=fb/busybox:1 -- /bin/true
	[ "$status" -eq 0 ]
	grep -Eq 'pidfd_open\([0-9]+, 0\) += [0-9]' "$D/pidfd.trace"
}

@test "run: orphans that exit are reaped (no zombies, seen from inside)" {
	run --separate-stderr firebuild run --from=fb/busybox:1 -- /bin/sh -c \
		'for i in 1 2 3; do (sleep 0.1 &) ; done; sleep 1; echo "zombies=$(ps -o stat | grep -c "^Z")"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"zombies=0"* ]]
}

@test "run: bad input is refused before anything is made" {
	run --separate-stderr firebuild run --from=t/show:1 --name=waytoolongnameforavm12345
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"1 to 20 characters"* ]]
	run --separate-stderr firebuild run --from=t/show:1 --name=bad-name
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild run --from=no/such:1
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no such image"* ]]
	run --separate-stderr firebuild run --from=t/show:1 --vmlinux-id=nokernel
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no such kernel"* ]]
	[ -z "$(ls -A "$FB_RUN_CACHE/runs" 2>/dev/null)" ]
}

@test "daemonized: ls, inspect, logs; kill sends STOPSIGNAL (trapped) and removes everything" {
	run --separate-stderr firebuild run --from=t/trap:1 --name=trap1 --daemonize
	[ "$status" -eq 0 ]
	[ "$(jq -r .vm.id <<<"$output")" = trap1 ]
	local pid
	pid=$(jq -r .vm.pid <<<"$output")
	kill -0 "$pid"
	# its root disk stays after it: fb-init is not told to skip the sync
	! grep -aq discard_root "$FB_RUN_CACHE/runs/trap1/config.drive"
	# a duplicate name is refused while it runs (4: a name in use)
	run --separate-stderr firebuild run --from=t/trap:1 --name=trap1 --daemonize
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"is running"* ]]
	run --separate-stderr firebuild ls
	[ "$(jq -r '.vms[] | select(.id == "trap1") | .state' <<<"$output")" = running ]
	# on a terminal: a table
	run script -qc "firebuild ls" /dev/null
	[[ "$output" == *"ID"*"IMAGE"*"BACKEND"*"STATE"*"IP"*"PID"*"EXIT"* ]]
	[[ "$output" == *"trap1"*"t/trap:1"*"qemu"*"running"* ]]
	run --separate-stderr firebuild inspect --vmm-id=trap1
	[ "$(jq -r .backend <<<"$output")" = qemu ]
	[ "$(jq -r .state <<<"$output")" = running ]
	local i
	for i in $(seq 1 300); do firebuild logs --vmm-id=trap1 | grep -q ready && break; sleep 0.2; done
	run --separate-stderr firebuild kill --vmm-id=trap1 --shutdown-timeout=20s
	[ "$status" -eq 0 ]
	# the workload's trap ran: it exited 3, and that came back
	[ "$(jq -r .exit_code <<<"$output")" = 3 ]
	! kill -0 "$pid" 2>/dev/null
	[ ! -e "$FB_RUN_CACHE/runs/trap1" ]
}

@test "kill: a workload that ignores its STOPSIGNAL is killed after the timeout" {
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=stubborn --daemonize --shutdown-timeout=1 -- \
		/bin/sh -c "trap '' TERM; echo ready; while :; do sleep 1; done"
	[ "$status" -eq 0 ]
	local pid i
	pid=$(jq -r .vm.pid <<<"$output")
	for i in $(seq 1 300); do firebuild logs --vmm-id=stubborn | grep -q ready && break; sleep 0.2; done
	run --separate-stderr firebuild kill --vmm-id=stubborn --shutdown-timeout=1
	[ "$status" -eq 0 ]
	! kill -0 "$pid" 2>/dev/null
	[ ! -e "$FB_RUN_CACHE/runs/stubborn" ]
}

@test "the VMM killed with -9: ls shows it dead, purge cleans it, a running VM beside it is untouched" {
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=victim --daemonize -- /bin/sh -c 'while :; do sleep 1; done'
	[ "$status" -eq 0 ]
	local victim
	victim=$(jq -r .vm.pid <<<"$output")
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=bystander --daemonize -- /bin/sh -c 'while :; do sleep 1; done'
	[ "$status" -eq 0 ]
	local by
	by=$(jq -r .vm.pid <<<"$output")
	kill -9 "$victim"
	local i
	for i in $(seq 1 50); do [ "$(firebuild ls | jq -r '.vms[] | select(.id == "victim") | .state')" != running ] && break; sleep 0.1; done
	run --separate-stderr firebuild ls
	[ "$(jq -r '.vms[] | select(.id == "victim") | .state' <<<"$output")" != running ]
	run --separate-stderr firebuild purge
	[ "$status" -eq 0 ]
	[ "$(jq -c .purged <<<"$output")" = '["victim"]' ]
	[ ! -e "$FB_RUN_CACHE/runs/victim" ]
	kill -0 "$by"
	[ -e "$FB_RUN_CACHE/runs/bystander/state.json" ]
	run --separate-stderr firebuild kill --vmm-id=bystander --shutdown-timeout=5
	[ "$status" -eq 0 ]
	! kill -0 "$by" 2>/dev/null
	[ -z "$(ls -A "$FB_RUN_CACHE/runs")" ]
}

@test "run: no shell needed (FROM scratch + a static program); a failure before the workload starts says why" {
	mkdir -p "$D/scratch"
	printf '#include <stdio.h>\n#include <unistd.h>\nint main(int c, char **v) { printf("static hello as %%d:%%d in %%s\\n", (int)getuid(), (int)getgid(), getenv("WHERE")); return 4; }\n' >"$D/scratch/hello.c"
	sed -i 's/#include <unistd.h>/#include <unistd.h>\n#include <stdlib.h>/' "$D/scratch/hello.c"
	musl-gcc -static -Os -o "$D/scratch/hello" "$D/scratch/hello.c"
	printf 'FROM scratch\nCOPY hello /hello\nENV WHERE=scratch\nUSER 1234\nENTRYPOINT ["/hello"]\n' >"$D/scratch/Dockerfile"
	run --separate-stderr firebuild rootfs --dockerfile="$D/scratch/Dockerfile" --tag=t/scratch:1
	[ "$status" -eq 0 ]
	run --separate-stderr firebuild run --from=t/scratch:1
	[ "$status" -eq 4 ]
	# a uid with no passwd entry runs with the root group, as in Docker
	[[ "$output" == *"static hello as 1234:0 in scratch"* ]]
	run -127 --separate-stderr firebuild run --from=fb/busybox:1 -- /no/such/program
	[ "$status" -eq 127 ]
	[[ "$stderr" == *"/no/such/program"*"No such file"* ]]
}

@test "run: an image whose /sbin is a link (usr-merged, as Debian's) gets fb-init where the link points" {
	printf 'FROM fb/busybox:1\nRUN rm -rf /sbin && mkdir -p /usr/sbin && ln -s usr/sbin /sbin\n' >"$D/ctx/Dockerfile.merged"
	run --separate-stderr firebuild rootfs --dockerfile="$D/ctx/Dockerfile.merged" --context="$D/ctx" --tag=t/merged:1
	[ "$status" -eq 0 ]
	run --separate-stderr firebuild run --from=t/merged:1 -- /bin/sh -c 'ls -l /usr/sbin/fb-init && echo merged-ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *merged-ok* ]]
}

@test "fb-jail alone: a VM spec by hand boots; a run directory over the socket path limit is refused up front" {
	local dir="$D/handmade"
	mkdir -p "$dir"
	cp --sparse=always "$FB_STORE/rootfs/fb/busybox/1/rootfs.ext4" "$dir/rootfs.ext4"
	printf '{"version":1,"hostname":"byhand","cmd":["/bin/sh","-c","echo by-hand on $(hostname); exit 9"],"env":["PATH=/bin"]}' >"$dir/config.drive"
	truncate -s 4096 "$dir/config.drive"
	# fb-init is written in by firebuild run; by hand, debugfs does it
	printf 'mkdir /sbin\nwrite %s /sbin/fb-init\nset_inode_field /sbin/fb-init mode 0100755\n' "$FB_BIN/fb-init" |
		debugfs -w -f - "$dir/rootfs.ext4" >/dev/null 2>&1
	jq -n --arg d "$dir" --arg rc "$D/rc" --arg k "$KERNEL" \
		'{vm: {id: "byhand", run_dir: $d, run_cache: $rc, kernel: $k, rootfs: ($d + "/rootfs.ext4"),
		       config_drive: ($d + "/config.drive"), cpu: 1, mem: 128}}' >"$D/spec.json"
	run --separate-stderr fb-jail start --spec "$D/spec.json"
	[ "$status" -eq 9 ]
	[[ "$output" == *"by-hand on byhand"* ]]
	[ "$(jq -r .exit_code "$dir/state.json")" = 9 ]
	local long="$D/$(printf 'x%.0s' $(seq 1 120))"
	run --separate-stderr bash -c "jq --arg d '$long' '.vm.run_dir = \$d' '$D/spec.json' | fb-jail start"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"Unix socket limit of 107"* ]]
	[ ! -e "$long" ]
}

@test "the profile names the kernel (and the run cache); a flag beats it" {
	local k2="$D/k2.vmlinux"
	cp "$KERNEL" "$k2"
	firebuild kernel add --id=other "$k2" >/dev/null
	firebuild profile-create --profile=vmp --profile-conf-dir="$D/profiles" --vmlinux-id=nosuch \
		--storage-provider-property-string=rootfs-storage-root="$FB_STORE" >/dev/null
	run --separate-stderr firebuild run --profile=vmp --profile-conf-dir="$D/profiles" --from=fb/busybox:1 -- /bin/true
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"nosuch"* ]]
	run --separate-stderr firebuild run --profile=vmp --profile-conf-dir="$D/profiles" --vmlinux-id=other --from=fb/busybox:1 -- /bin/true
	[ "$status" -eq 0 ]
}

@test "the jail: QEMU runs as the jailer uid, chrooted, in its own pid and mount namespaces, under the cgroup limits; nothing left" {
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=jailed --daemonize --jailer-uid=4321 --jailer-gid=4321 \
		--chroot-base="$D/jail" --cpu=1 --mem=96 -- /bin/sh -c 'echo jailed-ready; while :; do sleep 1; done'
	[ "$status" -eq 0 ]
	local pid i
	pid=$(jq -r .vm.pid <<<"$output")
	[ "$(jq -r .vm.jail <<<"$output")" = "$D/jail/qemu-system-x86_64/jailed/root" ]
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = 4321 ]
	[ "$(awk '/^Gid:/ {print $2}' "/proc/$pid/status")" = 4321 ]
	[ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
	# its root is the jail: the kernel, rootfs and config drive are there
	[ -e "/proc/$pid/root/vmlinux" ] && [ -e "/proc/$pid/root/rootfs.ext4" ] && [ -e "/proc/$pid/root/config.drive" ]
	# of the host's /etc only the loader's cache (and the time zone) are there
	[ -e "/proc/$pid/root/etc/ld.so.cache" ]
	[ ! -e "/proc/$pid/root/etc/passwd" ] && [ ! -e "/proc/$pid/root/etc/hostname" ]
	[ -e "/proc/$pid/root/usr/bin/qemu-system-x86_64" ]
	# no other descriptors than the ones QEMU opened itself (no pipes of ours)
	! ls -l "/proc/$pid/fd" | grep -q "$D/rc/runs/jailed/state.json"
	# the limits, read back from the cgroup files
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
		[ "$(cat /sys/fs/cgroup/firebuild/jailed/cpu.max)" = "200000 100000" ] # 1 vCPU + 1 for the VMM
		[ "$(cat /sys/fs/cgroup/firebuild/jailed/memory.max)" = $(((96 + 256) * 1048576)) ]
	else
		[ "$(cat /sys/fs/cgroup/cpu/firebuild/jailed/cpu.cfs_quota_us)" = 200000 ]
		[ "$(cat /sys/fs/cgroup/memory/firebuild/jailed/memory.limit_in_bytes)" = $(((96 + 256) * 1048576)) ]
	fi
	grep -q "firebuild/jailed" "/proc/$pid/cgroup"
	for i in $(seq 1 300); do firebuild logs --vmm-id=jailed | grep -q jailed-ready && break; sleep 0.2; done
	firebuild logs --vmm-id=jailed | grep -q jailed-ready
	run --separate-stderr firebuild kill --vmm-id=jailed --shutdown-timeout=5
	[ "$status" -eq 0 ]
	! kill -0 "$pid" 2>/dev/null
	[ ! -e "$D/jail/qemu-system-x86_64/jailed" ]
	[ ! -e /sys/fs/cgroup/firebuild/jailed ] && [ ! -e /sys/fs/cgroup/cpu/firebuild/jailed ] && [ ! -e /sys/fs/cgroup/memory/firebuild/jailed ]
	# a chroot base that makes the socket path too long fails at once, nothing made
	local long="$D/$(printf 'j%.0s' $(seq 1 90))"
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=jl --jailer-uid=4321 --chroot-base="$long" -- /bin/true
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"Unix socket limit of 107"* ]]
	[ ! -e "$long" ]
	[ -z "$(ls -A "$FB_RUN_CACHE/runs")" ]
}

@test "a profile with a jailer uid runs its VMs jailed (a flag would beat it)" {
	mkdir -p "$D/pjail"
	firebuild profile-create --profile=jailp --profile-conf-dir="$D/profiles" --jailer-uid=4322 --jailer-gid=4322 \
		--chroot-base="$D/pjail" --storage-provider-property-string=rootfs-storage-root="$FB_STORE" >/dev/null
	run --separate-stderr firebuild run --profile=jailp --profile-conf-dir="$D/profiles" --run-cache="$FB_RUN_CACHE" \
		--from=fb/busybox:1 --name=pjailed --daemonize -- /bin/sh -c 'while :; do sleep 1; done'
	[ "$status" -eq 0 ]
	local pid
	pid=$(jq -r .vm.pid <<<"$output")
	[ "$(jq -r .vm.jail <<<"$output")" = "$D/pjail/qemu-system-x86_64/pjailed/root" ]
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = 4322 ]
	run --separate-stderr firebuild kill --vmm-id=pjailed --shutdown-timeout=5
	[ "$status" -eq 0 ]
	[ ! -e "$D/pjail/qemu-system-x86_64/pjailed" ]
}

@test "purge removes the jail and the cgroup of a VM whose supervisor and VMM were both killed" {
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=jdead --daemonize --jailer-uid=4324 \
		--chroot-base="$D/jail" -- /bin/sh -c 'while :; do sleep 1; done'
	[ "$status" -eq 0 ]
	local pid sup
	pid=$(jq -r .vm.pid <<<"$output")
	sup=$(jq -r .vm.supervisor_pid <<<"$output")
	kill -9 "$sup" "$pid"
	sleep 0.5
	[ -e "$D/jail/qemu-system-x86_64/jdead" ]
	run --separate-stderr firebuild purge
	[ "$status" -eq 0 ]
	[[ "$output" == *'"jdead"'* ]]
	[ ! -e "$D/jail/qemu-system-x86_64/jdead" ]
	[ ! -e /sys/fs/cgroup/firebuild/jdead ] && [ ! -e /sys/fs/cgroup/cpu/firebuild/jdead ] && [ ! -e /sys/fs/cgroup/memory/firebuild/jdead ]
	# the records are written whole but not synced: after a power loss
	# they may come back empty, with the jail directory still on disk (the
	# mounts, cgroups and processes gone with the power). The link next to
	# them still names the jail, and purge removes it.
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=jlost --daemonize --chroot-base="$D/jail" \
		-- /bin/sh -c 'while :; do sleep 1; done'
	[ "$status" -eq 0 ]
	pid=$(jq -r .vm.pid <<<"$output")
	sup=$(jq -r .vm.supervisor_pid <<<"$output")
	kill -9 "$sup" "$pid"
	sleep 0.5
	[ "$(readlink "$FB_RUN_CACHE/runs/jlost/jail.link")" = "$D/jail/qemu-system-x86_64/jlost" ]
	: >"$FB_RUN_CACHE/runs/jlost/state.json"
	: >"$FB_RUN_CACHE/runs/jlost/jail.json"
	rmdir /sys/fs/cgroup/firebuild/jlost /sys/fs/cgroup/cpu/firebuild/jlost /sys/fs/cgroup/memory/firebuild/jlost 2>/dev/null || true
	[ -d "$D/jail/qemu-system-x86_64/jlost" ]
	run --separate-stderr firebuild purge
	[ "$status" -eq 0 ]
	[ ! -e "$D/jail/qemu-system-x86_64/jlost" ] && [ ! -e "$FB_RUN_CACHE/runs/jlost" ]
	# a link that names something else is not followed there
	mkdir -p "$D/jail/qemu-system-x86_64/other" "$FB_RUN_CACHE/runs/jodd"
	ln -s "$D/jail/qemu-system-x86_64/other" "$FB_RUN_CACHE/runs/jodd/jail.link"
	: >"$FB_RUN_CACHE/runs/jodd/state.json"
	: >"$FB_RUN_CACHE/runs/jodd/lock"
	run --separate-stderr firebuild purge
	[ "$status" -eq 0 ]
	[ -d "$D/jail/qemu-system-x86_64/other" ] && [ ! -e "$FB_RUN_CACHE/runs/jodd" ]
	rmdir "$D/jail/qemu-system-x86_64/other"
}

@test "a /dev/kvm that cannot run this guest (QEMU: emulation failure, guest paused) falls back to TCG at once" {
	[ -c /dev/kvm ] || skip "no /dev/kvm here"
	# does KVM here fail this kernel the way nested KVM without VMX does?
	run timeout 20 qemu-system-x86_64 -M microvm,acpi=off,x-option-roms=off -m 128 -nodefaults -no-user-config \
		-display none -no-reboot -kernel "$KERNEL" -append "console=ttyS0 panic=-1 reboot=t" -serial null -accel kvm
	[[ "$output" == *"emulation failure"* ]] || skip "KVM runs this guest here (no emulation failure to recover from)"
	rm -f "$FB_RUN_CACHE/kvm-unusable"
	run --separate-stderr timeout 300 firebuild run --from=t/show:1 --log-format=text -- once
	[ "$status" -eq 0 ]
	[[ "$output" == *"args=once"* ]]
	[[ "$stderr" == *"KVM emulation failure"*"TCG from now on"* ]]
	[[ "$stderr" != *"RAX="* ]] # QEMU's register dump is held back
	[ -f "$FB_RUN_CACHE/kvm-unusable" ]
	run --separate-stderr timeout 300 firebuild run --from=t/show:1 --log-format=text -- twice
	[ "$status" -eq 0 ]
	[[ "$stderr" != *"KVM"* ]]
}

@test "exec: the image's tree comes out of its ext4 with libext2fs (no debugfs on PATH) into the run cache, and goes whatever the end" {
	local rc="$D/execrc"
	run --separate-stderr env PATH=/nonexistent "$FB_BIN/firebuild" exec --run-cache="$rc" --from=fb/busybox:1 \
		-- /bin/sh -c 'echo in-the-tree; test -x /sbin/fb-init && echo init-there; exit 7'
	echo "$stderr"
	[ "$status" -eq 7 ]
	[[ "$output" == *in-the-tree*init-there* ]]
	[ -d "$rc/exec" ] && [ -z "$(ls -A "$rc/exec")" ]
	run -127 --separate-stderr env PATH=/nonexistent "$FB_BIN/firebuild" exec --run-cache="$rc" --from=fb/busybox:1 -- /no/such
	[ "$status" -eq 127 ]
	[ -z "$(ls -A "$rc/exec")" ]
}
