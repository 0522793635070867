#!/usr/bin/env bats
# Every command and flag the original firebuild documents is accepted
# (issue 7): each command's --help lists it, and the command takes it (the
# flag, with a value that passes its check, then --help: an unknown flag or
# a refused value fails before --help is reached).

load helpers

GLOBAL="--profile=p --profile-conf-dir=/tmp --log-level=debug --log-as-json --log-color --log-force-color
--tracing-enable --tracing-collector-host-port=127.0.0.1:4318 --tracing-log-enable --run-cache=/tmp/rc
--storage-provider=directory --storage-provider-property-string=rootfs-storage-root=/tmp/s
--storage-provider-property-int64=n=1 --cni-bin-dir=/opt/cni/bin --cni-conf-dir=/etc/cni/conf.d
--cni-cache-dir=/var/lib/cni --binary-firecracker=/usr/bin/firecracker --binary-jailer=/usr/bin/jailer
--chroot-base=/srv/jailer --jailer-uid=1000 --jailer-gid=1000 --jailer-numa-node=0 --netns=/var/run/netns/x"

MACHINE="--cni-network-name=net --cpu=2 --cpu-template=T2 --ht-enabled --ip-address=10.0.0.2
--kernel-args=quiet --mem=256 --no-mmds --root-drive-partuuid=abc --ssh-user=alpine --vmlinux-id=vmlinux-v5.8
--log-firecracker-http-calls --shutdown-graceful-timeout-seconds=30"

# accepts CMD FLAGS...: each flag, alone, then --help; and --help lists it
accepts() {
	local cmd=$1 f name help
	shift
	help=$(firebuild "$cmd" --help)
	for f in "$@"; do
		name=${f%%=*}
		run --separate-stderr firebuild "$cmd" "$f" --help
		if [ "$status" -ne 0 ]; then
			echo "firebuild $cmd $f --help: exit $status: $stderr"
			return 1
		fi
		if [[ "$help" != *"$name"* ]]; then
			echo "firebuild $cmd --help does not list $name"
			return 1
		fi
	done
}

@test "every command takes the global flags, and lists them in its --help" {
	local c
	for c in baseos rootfs run inspect ls kill purge profile-create profile-inspect profile-ls; do
		# shellcheck disable=SC2086
		accepts "$c" $GLOBAL
	done
}

@test "the global flags may come before the command, the original's order" {
	run --separate-stderr firebuild --log-level=debug --profile-conf-dir "$BATS_TEST_TMPDIR" profile-ls
	[ "$status" -eq 0 ]
	[ "$(jq -c .profiles <<<"$output")" = "[]" ]
	run --separate-stderr firebuild --no-such-flag ls
	[ "$status" -eq 2 ]
}

@test "rootfs and run take the machine flags" {
	# shellcheck disable=SC2086
	accepts rootfs $MACHINE
	# shellcheck disable=SC2086
	accepts run $MACHINE
}

@test "baseos, rootfs, run, inspect, kill and profile-create take their own flags" {
	accepts baseos --dockerfile=x --filesystem-size-mbs=500 --tag=a:b
	accepts rootfs --dockerfile=x --dockerfile-stage=s --docker-image=alpine:3 --docker-image-base=alpine:3.13 \
		--build-arg=A=1 --pre-build-command=true --post-build-command=true --tag=a:b \
		--bootstrap-certs-key-size=4096 --bootstrap-certs-validity=1h --bootstrap-initial-communication-timeout=10s \
		--bootstrap-server-bind-interface=eth0 --timings
	accepts run --daemonize --env=A=1 --env-file=/dev/null --from=a:b --identity-file=/dev/null --hostname=h \
		--name=abc --port=8080:80/tcp --timings
	accepts inspect --vmm-id=abc
	accepts kill --vmm-id=abc --shutdown-timeout=15s
	accepts profile-create --overwrite
}

@test "--help shows the defaults the original documents" {
	run --separate-stderr firebuild --help
	[ "$status" -eq 0 ]
	local d
	for d in /etc/firebuild/profiles 127.0.0.1:6831 /var/lib/firebuild /opt/cni/bin /etc/cni/conf.d /var/lib/cni \
		/srv/jailer "(directory"; do
		[[ "$output" == *"$d"* ]] || { echo "firebuild --help lacks $d"; return 1; }
	done
	run --separate-stderr firebuild run --help
	for d in "--cpu N                    (1)" "--mem MiB                  (128)" "(30;" "console=ttyS0 noapic reboot=k panic=1 pci=off"; do
		[[ "$output" == *"$d"* ]] || { echo "firebuild run --help lacks $d"; return 1; }
	done
	run --separate-stderr firebuild baseos --help
	[[ "$output" == *"500"* ]]
}

@test "bad values of the global flags are refused with the flag's name" {
	run --separate-stderr firebuild ls --log-level=loud
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--log-level"* ]]
	run --separate-stderr firebuild ls --storage-provider=s3
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--storage-provider s3"* ]]
	run --separate-stderr firebuild ls --jailer-uid=me
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild run --from=a:b --cpu-template=Z9
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--cpu-template Z9"* ]]
	run --separate-stderr firebuild run --from=a:b --name=has-a-dash
	[ "$status" -eq 2 ]
	run --separate-stderr firebuild run --from=a:b --name=abcdefghijklmnopqrstu
	[ "$status" -eq 2 ]
}

@test "the completion script offers the global and machine flags" {
	source <(firebuild completion bash)
	COMP_WORDS=(firebuild run --cpu-t)
	COMP_CWORD=2
	_firebuild
	[ "${COMPREPLY[*]}" = "--cpu-template" ]
	COMP_WORDS=(firebuild ls --tracing-c)
	_firebuild
	[ "${COMPREPLY[*]}" = "--tracing-collector-host-port" ]
}

@test "the first README's spellings are accepted as well" {
	accepts ls --storage.provider=directory --storage.provider.directory.rootfs-storage-root=/tmp/s \
		--storage.provider.directory.kernel-storage-root=/tmp/k
	accepts rootfs --machine-cni-network-name=n --machine-ssh-user=u --machine-vmlinux-id=v --resources-mem=512 \
		--resources-cpu=2 --service-file-installer=/x.sh
	accepts run --machine-cni-network-name=n --machine-ssh-user=u --machine-vmlinux-id=v --resources-mem=512 \
		--resources-cpu=2 --detached
}
