#!/usr/bin/env bats
# The dispatcher: finds its tools, lists commands, refuses the unknown.

load helpers

@test "firebuild --help lists the commands" {
	run firebuild --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: firebuild"* ]]
	[[ "$output" == *"parse "* ]]
}

@test "firebuild --version" {
	run firebuild --version
	[ "$status" -eq 0 ]
	[[ "$output" == "firebuild "[0-9]* ]]
}

@test "no command, an unknown command or flag: exit 2 with one line" {
	run firebuild
	[ "$status" -eq 2 ]
	run firebuild frobnicate
	[ "$status" -eq 2 ]
	[ "$output" = "firebuild: error: unknown command 'frobnicate' (see firebuild --help)" ]
	run firebuild --frobnicate
	[ "$status" -eq 2 ]
	[ "$output" = "firebuild: error: unknown flag '--frobnicate' (see firebuild --help)" ]
}

@test "stdout is checked at exit: output that cannot be written is exit 1 and the reason" {
	local d c
	d=$(mktemp -d)
	for c in "ls" "--help" "--version" "run --help" "profile-ls --profile-conf-dir=$d" "kernel ls" "image ls" \
		"completion bash" "purge" "--log-level=info ls"; do
		# shellcheck disable=SC2086
		run bash -c "FB_STORE='$d/store' FB_RUN_CACHE='$d/run' firebuild $c >/dev/full"
		if [ "$status" -ne 1 ] || [[ "$output" != *"No space left on device"* ]]; then
			echo "firebuild $c >/dev/full: exit $status: $output"
			return 1
		fi
		# and without the full disk, the same command is fine
		# shellcheck disable=SC2086
		run bash -c "FB_STORE='$d/store' FB_RUN_CACHE='$d/run' firebuild $c >/dev/null"
		[ "$status" -eq 0 ] || { echo "firebuild $c: exit $status: $output"; return 1; }
	done
	rm -rf "$d"
}

@test "kernel: every way out frees what it was told (under a sanitizer build: no leak)" {
	local d
	d=$(mktemp -d)
	# each usage error after the flags were read (they once returned
	# without freeing them)
	run --separate-stderr firebuild kernel --cni-bin-dir=/x --storage-provider-property-string=a=b frob
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild kernel --cni-bin-dir=/x add --id=k
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild kernel --cni-bin-dir=/x add --id=a/b /bin/true
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild kernel --cni-bin-dir=/x --store="$d/s" add --id=k "$d/missing"
	[ "$status" -eq 3 ]
	run --separate-stderr firebuild kernel --cni-bin-dir=/x --store="$d/s" add --id=k /etc/passwd
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"not an ELF vmlinux"* ]]
	# an ELF file goes in, and is the default
	run --separate-stderr firebuild kernel --cni-bin-dir=/x --store="$d/s" add --id=k /bin/true
	[ "$status" -eq 0 ]
	run --separate-stderr firebuild kernel --store="$d/s" ls
	[ "$(jq -c '.kernels | map({id, default})' <<<"$output")" = '[{"id":"k","default":true}]' ]
	rm -rf "$d"
}

@test "firebuild parse runs fb-parse with the same flags" {
	run bash -c 'printf "ARG V=1\nFROM a:\$V\n" | firebuild parse --build-arg V=2 | jq -r ".plan.stages[0].base"'
	[ "$status" -eq 0 ]
	[ "$output" = "a:2" ]
	run firebuild parse --bogus
	[ "$status" -eq 2 ]
}

@test "firebuild finds its tools in an install's libexec directory" {
	local d
	d=$(mktemp -d)
	mkdir -p "$d/bin" "$d/libexec/firebuild"
	cp "$FB_BIN/firebuild" "$d/bin/"
	cp "$FB_BIN/fb-parse" "$d/libexec/firebuild/"
	run bash -c "printf 'FROM x\n' | '$d/bin/firebuild' parse | jq -r '.plan.stages[0].base'"
	rm -rf "$d"
	[ "$status" -eq 0 ]
	[ "$output" = "x" ]
}

@test "firebuild names a missing tool" {
	local d
	d=$(mktemp -d)
	cp "$FB_BIN/firebuild" "$d/"
	run "$d/firebuild" parse
	rm -rf "$d"
	[ "$status" -eq 3 ]
	[[ "$output" == "firebuild: error: fb-parse not found next to"* ]]
}

@test "profiles: create, list, inspect, --overwrite, bad input" {
	local d
	d=$(mktemp -d)
	# the directories a profile names must exist (the original's rule)
	run --separate-stderr firebuild profile-create --profile=lab --profile-conf-dir="$d" --run-cache="$d/fbcache"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"--run-cache $d/fbcache: no such directory"* ]]
	mkdir -p "$d/fbcache" "$d/fb/store" "$d/fb/kernels" "$d/jail" "$d/j"
	run --separate-stderr firebuild profile-create --profile=lab --profile-conf-dir="$d" \
		--run-cache="$d/fbcache" --storage-provider=directory \
		--storage-provider-property-string=rootfs-storage-root="$d/fb/store" \
		--storage-provider-property-string=kernel-storage-root="$d/fb/kernels" \
		--binary-firecracker=/opt/fc/firecracker --binary-jailer=/opt/fc/jailer \
		--chroot-base="$d/jail" --tracing-enable
	[ "$status" -eq 0 ]
	[ -f "$d/lab.json" ]
	run --separate-stderr firebuild profile-inspect --profile=lab --profile-conf-dir="$d"
	[ "$status" -eq 0 ]
	json_eq "$(jq -c '.profile | {run_cache, chroot_base, binary_jailer, tracing_enable, s: .storage_provider_property_string}' <<<"$output")" \
		"{\"run_cache\":\"$d/fbcache\",\"chroot_base\":\"$d/jail\",\"binary_jailer\":\"/opt/fc/jailer\",\"tracing_enable\":true,
		  \"s\":{\"rootfs-storage-root\":\"$d/fb/store\",\"kernel-storage-root\":\"$d/fb/kernels\"}}"
	# what was not given comes from the defaults
	[ "$(jq -r .profile.cni_bin_dir <<<"$output")" = /opt/cni/bin ]
	run --separate-stderr firebuild profile-create --profile=lab --profile-conf-dir="$d"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *'profile "lab" exists'*"--overwrite"* ]]
	run --separate-stderr firebuild profile-create --profile=lab --profile-conf-dir="$d" --overwrite --chroot-base="$d/j"
	[ "$status" -eq 0 ]
	run --separate-stderr firebuild profile-create --profile=second --profile-conf-dir="$d"
	run --separate-stderr firebuild profile-ls --profile-conf-dir="$d"
	[ "$(jq -c .profiles <<<"$output")" = '["lab","second"]' ]
	run --separate-stderr firebuild profile-create --profile=../evil --profile-conf-dir="$d"
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild profile-create --profile=x --profile-conf-dir="$d" --storage-provider=s3
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild profile-inspect --profile=missing --profile-conf-dir="$d"
	[ "$status" -eq 3 ]
	rm -rf "$d"
}

@test "profiles: a key that is not a setting, or a value of another kind, is refused by name" {
	local d
	d=$(mktemp -d)
	# a misspelt key would otherwise fall back to the default, silently
	echo '{"run_cahce":"/x"}' >"$d/typo.json"
	run --separate-stderr firebuild ls --profile=typo --profile-conf-dir="$d"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"profile $d/typo.json: unknown key \"run_cahce\""* ]]
	echo '{"jailer_uid":"root"}' >"$d/uid.json"
	run --separate-stderr firebuild profile-inspect --profile=uid --profile-conf-dir="$d"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *".jailer_uid: --jailer-uid root: expected a number"* ]]
	echo '{"tracing_enable":"yes"}' >"$d/t.json"
	run --separate-stderr firebuild ls --profile=t --profile-conf-dir="$d"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *".tracing_enable: expected a boolean, got string"* ]]
	echo '{"storage_provider":"s3"}' >"$d/s3.json"
	run --separate-stderr firebuild ls --profile=s3 --profile-conf-dir="$d"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *".storage_provider: --storage-provider s3: expected directory"* ]]
	rm -rf "$d"
}

@test "profiles: the profile's store is used, and a flag beats it" {
	local d
	d=$(mktemp -d)
	mkdir -p "$d/a"
	firebuild profile-create --profile=p --profile-conf-dir="$d/profiles" \
		--storage-provider-property-string=rootfs-storage-root="$d/a" >/dev/null
	python3 "$BATS_TEST_DIRNAME/mklayer.py" "$d/l.tar" <<<'f x data=1'
	fb-mkrootfs --layer "$d/l.tar" --output "$d/r.ext4" 2>/dev/null | fb-tag --store="$d/a" --move-from "$d" put in/a:1 >/dev/null 2>&1
	run --separate-stderr firebuild image ls --profile=p --profile-conf-dir="$d/profiles"
	[ "$(jq -r '.images[0].name' <<<"$output")" = "in/a" ]
	run --separate-stderr firebuild image ls --profile=p --profile-conf-dir="$d/profiles" --store="$d/b"
	[ "$(jq -c .images <<<"$output")" = "[]" ]
	run --separate-stderr firebuild image inspect in/a:1 --profile=p --profile-conf-dir="$d/profiles"
	[ "$status" -eq 0 ]
	run --separate-stderr firebuild image ls --profile=nope --profile-conf-dir="$d/profiles"
	[ "$status" -eq 3 ]
	# parse takes the common flags too
	run bash -c "printf 'FROM x\n' | firebuild parse --profile=p --profile-conf-dir='$d/profiles' | jq -r '.plan.stages[0].base'"
	[ "$output" = x ]
	rm -rf "$d"
}

@test "rootfs: usage errors, --docker-image-base warns" {
	run --separate-stderr firebuild rootfs --tag=x:1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"rootfs needs --tag and one of --dockerfile or --docker-image"* ]]
	run --separate-stderr firebuild rootfs --tag=x:1 --dockerfile=a --docker-image=b
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild rootfs --docker-image=oci:/nonexistent --tag=x:1 --docker-image-base=alpine --log-format=text
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"--docker-image-base is ignored"* ]]
	run --separate-stderr firebuild rootfs --bogus
	[ "$status" -eq 2 ]
	run firebuild rootfs --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--docker-image REF"* ]]
}

@test "import: a root file system tarball becomes a tagged image" {
	local d
	d=$(mktemp -d)
	mkdir -p "$d/tree/bin" "$d/tree/etc"
	cp /bin/busybox "$d/tree/bin/"
	ln -s busybox "$d/tree/bin/sh"
	echo imported >"$d/tree/etc/motd"
	tar --numeric-owner -C "$d/tree" -czf "$d/root.tar.gz" .
	run --separate-stderr firebuild import "$d/root.tar.gz" --tag=imported/busybox:1 --store="$d/store"
	[ "$status" -eq 0 ]
	local img
	img=$(jq -r .rootfs.path <<<"$output")
	[ "$img" = "$d/store/rootfs/imported/busybox/1/rootfs.ext4" ]
	[ "$(debugfs -R 'cat /etc/motd' "$img" 2>/dev/null)" = imported ]
	run e2fsck -fn "$img"
	[ "$status" -eq 0 ]
	run --separate-stderr fb-tag --store="$d/store" get imported/busybox:1
	[ "$(jq -r .image.config.os <<<"$output")" = linux ]
	run --separate-stderr firebuild import "$d/missing.tar" --tag=x:1 --store="$d/store"
	[ "$status" -eq 3 ]
	run --separate-stderr firebuild import --tag=x:1
	[ "$status" -eq 2 ]
	rm -rf "$d"
}

@test "make install: firebuild in bin, its tools in libexec/firebuild, tc-redirect-tap in the CNI plugin directory" {
	local d
	d=$(mktemp -d)
	run make -s -C "$FB_ROOT" install DESTDIR="$d" PREFIX=/usr CNI_BIN_DIR=/opt/cni/bin
	[ "$status" -eq 0 ]
	[ -x "$d/usr/bin/firebuild" ]
	[ -x "$d/usr/libexec/firebuild/fb-jail" ] && [ -x "$d/usr/libexec/firebuild/fb-net" ] && [ -f "$d/usr/libexec/firebuild/fb-init" ]
	[ -x "$d/usr/libexec/firebuild/fb-runtime" ]
	run bash -c "printf 'FROM scratch\n' | '$d/usr/bin/firebuild' parse"
	[ "$status" -eq 0 ]
	run env CNI_COMMAND=VERSION "$d/opt/cni/bin/tc-redirect-tap"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"1.0.0"'* ]]
	rm -rf "$d"
}

@test "firebuild completion bash: commands, and each command's flags from its --help" {
	run bash -c 'source <(firebuild completion bash)
		COMP_WORDS=(firebuild ru); COMP_CWORD=1; _firebuild; echo "${COMPREPLY[*]}"
		COMP_WORDS=(firebuild run --dae); COMP_CWORD=2; _firebuild; echo "${COMPREPLY[*]}"
		COMP_WORDS=(firebuild rootfs --dockerfile-s); COMP_CWORD=2; _firebuild; echo "${COMPREPLY[*]}"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = run ]
	[ "${lines[1]}" = --daemonize ]
	[ "${lines[2]}" = --dockerfile-stage ]
	run --separate-stderr firebuild completion zsh
	[ "$status" -eq 2 ]
}
