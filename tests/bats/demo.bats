#!/usr/bin/env bats
# The README's first command: `make demo` on a machine without the packages
# (the order of install-deps and pkg-config; scripts/fresh-check does it for
# real in a Debian chroot), and scripts/demo end to end: build, a daemonized
# VM on a CNI network in the demo's own namespace (fb-demo-host), its
# service answering from outside the VM, logs, kill, nothing left; Ctrl-C.

load helpers

setup_file() {
	export D
	D=$(mktemp -d /tmp/fbdemo-test.XXXXXX)
}

teardown_file() {
	[ -n "${D:-}" ] && rm -rf "$D"
}

# make without the outer make's jobserver and flags (make test runs us)
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$FB_ROOT" --no-print-directory "$@"; }

@test "make demo: install-deps runs before pkg-config is first asked, and every tool links (pkg-config failing until then, as on a fresh machine; -j2)" {
	local t=$D/order
	mkdir -p "$t/bin"
	# pkg-config as on a machine whose packages are not installed yet: it
	# fails until the deps step has finished, and logs each call
	cat >"$t/bin/pkg-config" <<EOF
#!/bin/sh
if [ -e "$t/installed" ]; then echo "after \$*" >>"$t/log"; exec /usr/bin/pkg-config "\$@"; fi
echo "before \$*" >>"$t/log"
echo "Package libarchive was not found in the pkg-config search path." >&2
exit 1
EOF
	printf '#!/bin/sh\n./scripts/install-deps && touch "%s/installed"\n' "$t" >"$t/install-deps"
	chmod +x "$t/bin/pkg-config" "$t/install-deps"
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH="$t/bin:$PATH" CFLAGS="-O1 -g" LIBS=-lm make -C "$FB_ROOT" --no-print-directory -j2 demo \
		BUILD="$t/build" INSTALL_DEPS="$t/install-deps" DEMO_SCRIPT="echo demo-would-run-now"
	echo "$output" | tail -n 20
	cat "$t/log"
	[ "$status" -eq 0 ]
	[[ "$output" == *demo-would-run-now* ]]
	local tool
	for tool in fb-parse fb-fetch fb-mkrootfs fb-tag fb-exec fb-jail fb-net tc-redirect-tap firebuild fb-init; do
		[ -x "$t/build/bin/$tool" ]
	done
	# the CFLAGS of the environment reached the compiler
	[[ "$output" == *"-O1 -g -std=gnu11"* ]]
	# asked after install-deps only, and once for each answer
	! grep -q '^before' "$t/log"
	[ "$(grep -c '^after --cflags' "$t/log")" -eq 1 ]
	[ "$(grep -c '^after --libs' "$t/log")" -eq 1 ]
	# a package missing still stops the build, naming pkg-config
	rm -f "$t/installed"
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH="$t/bin:$PATH" make -C "$FB_ROOT" --no-print-directory BUILD="$t/build2" "$t/build2/lib/core/util.o"
	[ "$status" -ne 0 ]
	[[ "$output" == *"pkg-config --cflags libarchive ext2fs libgit2 failed: packages are missing"* ]]
}

@test "make: CC defaults to gcc (not make's cc); CC from the command line or the environment wins" {
	run mk -n BUILD="$D/cc" "$D/cc/lib/core/util.o"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\ngcc '*"-c -o $D/cc/lib/core/util.o lib/core/util.c"* ]]
	run mk -n BUILD="$D/cc" CC=clang "$D/cc/lib/core/util.o"
	[[ "$output" == *$'\nclang '*"-c -o $D/cc/lib/core/util.o"* ]]
	CC=clang run mk -n BUILD="$D/cc" "$D/cc/lib/core/util.o"
	[[ "$output" == *$'\nclang '*"-c -o $D/cc/lib/core/util.o"* ]]
}

# nothing of the demo's is left: namespaces, run directories, jail, processes
nothing_left() {
	[ ! -e /var/run/netns/fb-demo-host ]
	[ ! -e /var/run/netns/fb-fbdemo ]
	[ -z "$(ls -A "$FB_RUN_CACHE/runs" 2>/dev/null)" ]
	[ ! -e /srv/jailer/qemu-system-x86_64/fbdemo ]
	! pgrep -f "$FB_RUN_CACHE/runs/fbdemo" >/dev/null
	local tmpd
	tmpd=$(grep -o '/tmp/fb-demo\.[A-Za-z0-9]*' <<<"$output" | head -n 1)
	[ -z "$tmpd" ] || [ ! -e "$tmpd" ]
}

demo_env() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, the jail)"
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
	local kernel
	kernel=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -n 1) || true
	[ -f "$kernel" ] || skip "no guest kernel (scripts/build-kernel)"
	[ ! -e /var/run/netns/fb-demo-host ] || skip "fb-demo-host exists: a demo is running"
	export FB_STORE=$D/store FB_RUN_CACHE=$D/rc
}

@test "scripts/demo: build, a daemonized VM on a CNI network in fb-demo-host, its service answers from outside the VM, logs, kill, nothing left" {
	demo_env
	run "$FB_ROOT/scripts/demo"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"firebuild run --from=demo/hello:1 --name=fbdemo --daemonize --cni-network-name=fbdemo"* ]]
	[[ "$output" == *"VM fbdemo: VMM pid "*", 10.99.0.10"* ]]
	[[ "$output" == *"the service answered: hello from a firebuild microVM"* ]]
	[[ "$output" == *"Hello from make demo: I am "*", running as root in /srv"* ]]
	[[ "$output" == *"firebuild kill --vmm-id=fbdemo"* ]]
	[[ "$output" == *"gone: the VMM and its supervisor, namespaces fb-fbdemo and fb-demo-host"* ]]
	[[ "$output" == *$'\ndemo: ok' ]]
	nothing_left
	# the image is in the store the demo was given
	[ -f "$FB_STORE/rootfs/demo/hello/1/rootfs.ext4" ]
}

@test "scripts/demo: Ctrl-C once the VM is starting cleans everything up and exits 130" {
	demo_env
	# as from a terminal: its own process group, SIGINT not ignored (bash
	# ignores it in the commands it starts in the background)
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$FB_ROOT/scripts/demo" >"$D/int.out" 2>&1 &
	local pid=$! i
	# wait for the run step (or the demo's end), then ^C to its process group
	for i in $(seq 1 1200); do
		grep -q '^== 5\. firebuild run' "$D/int.out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT -- "-$pid"
	local status=0
	wait "$pid" || status=$?
	output=$(cat "$D/int.out")
	echo "$output"
	[ "$status" -eq 130 ]
	[[ "$output" == *"demo: interrupted"* ]]
	[[ "$output" == *"demo: cleaned up after the failure (exit 130)"* ]]
	[[ "$output" != *"demo: ok"* ]]
	nothing_left
}

@test "scripts/demo --preflight names what is missing; bad usage exits 2" {
	run "$FB_ROOT/scripts/demo" --bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: scripts/demo [--preflight]"* ]]
	# a PATH without the demo's commands: each is named
	mkdir -p "$D/minbin"
	ln -sf "$(command -v dirname)" "$D/minbin/dirname"
	ln -sf "$(command -v id)" "$D/minbin/id"
	run env PATH="$D/minbin" /bin/bash "$FB_ROOT/scripts/demo" --preflight
	[ "$status" -eq 1 ]
	[[ "$output" == *"not installed: "*"ip tc nsenter setsid iptables curl jq qemu-system-x86_64"* ]]
}
