#!/usr/bin/env bats
# The original firebuild's README, command line by command line (issue 7),
# with the test's own paths, kernel, git server and CNI networks: profile,
# kernel storage, baseos, rootfs from a git+http Dockerfile and from a
# registry image, the CNI networks of the README, run (daemonized, --env,
# --ssh-user/--identity-file), inspect | jq .NetworkInterfaces..., nc to the
# service, ls, kill, purge. Everything networked runs inside a network
# namespace the test makes; the git and registry servers are on 127.0.0.1.

load helpers
load registry

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, jails)"
	export D FC KERNEL GITPORT HTTPPORT PROF
	D=$(mktemp -d /tmp/fbsd.XXXXXX)
	# the README's directories, under the test's own root
	mkdir -p "$D/firecracker/rootfs" "$D/firecracker/vmlinux" "$D/jail" "$D/cache" "$D/profiles" "$D/conf"
	PROF="--profile-conf-dir=$D/profiles"
	# no FB_STORE / FB_RUN_CACHE: the profile says where things go
	unset FB_STORE FB_RUN_CACHE
	KERNEL=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
	# the README's conflists, verbatim but for where they are written
	for n in machine-builds:builds:192.168.128.0/24 machines:machines:192.168.127.0/24; do
		IFS=: read -r name br subnet <<<"$n"
		cat >"$D/conf/$name.conflist" <<JSON
{
    "name": "$name",
    "cniVersion": "0.4.0",
    "plugins": [
        {
            "type": "bridge",
            "name": "$br-bridge",
            "bridge": "${br}0",
            "isDefaultGateway": true,
            "ipMasq": true,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "subnet": "$subnet",
                "resolvConf": "/etc/resolv.conf",
                "dataDir": "$D/ipam"
            }
        },
        {
            "type": "firewall"
        },
        {
            "type": "tc-redirect-tap"
        }
    ]
}
JSON
	done
	# a base OS Dockerfile of our own where the README has baseos/_/...
	mkdir -p "$D/baseos/_/debian"
	cp -r "$FB_ROOT/baseos/busybox" "$D/baseos/_/debian/buster-slim"
	# "docker-library/postgres.git:/13/Dockerfile": a service on 5432
	command -v git >/dev/null || return 0
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
	local w="$D/work"
	git init -q -b master "$w"
	mkdir -p "$w/13"
	cat >"$w/13/Dockerfile" <<'DF'
FROM custom/os:latest
COPY docker-entrypoint.sh /usr/local/bin/
RUN mkdir -p /var/www && echo postgres-13 > /var/www/index.html
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
DF
	printf '#!/bin/sh\n[ -n "$POSTGRES_PASSWORD" ] || { echo "POSTGRES_PASSWORD is not set" >&2; exit 1; }\necho "password=$POSTGRES_PASSWORD" > /var/www/env.txt\nexec httpd -f -p 5432 -h /var/www\n' >"$w/13/docker-entrypoint.sh"
	chmod +x "$w/13/docker-entrypoint.sh"
	git -C "$w" add -A && git -C "$w" commit -qm postgres
	mkdir -p "$D/repos" "$D/www/cgi-bin"
	git clone -q --bare "$w" "$D/repos/postgres.git"
	printf '#!/bin/sh\nexport GIT_PROJECT_ROOT=%s GIT_HTTP_EXPORT_ALL=1\nexec /usr/lib/git-core/git-http-backend\n' "$D/repos" >"$D/www/cgi-bin/git"
	chmod +x "$D/www/cgi-bin/git"
	HTTPPORT=$(free_port)
	busybox httpd -p "127.0.0.1:$HTTPPORT" -h "$D/www" 3>&-
	wait_http "http://127.0.0.1:$HTTPPORT/cgi-bin/git/postgres.git/info/refs"
}

teardown_file() {
	[ -n "${D:-}" ] || return 0
	pkill -f "busybox httpd -p 127.0.0.1:${HTTPPORT:-none}" 2>/dev/null
	stop_registry "$D/reg" 2>/dev/null
	local n
	for n in /var/run/netns/fb-postgres*; do [ -e "$n" ] && ip netns del "$(basename "$n")" 2>/dev/null; done
	rm -rf "$D"
	return 0
}

# in_netns SCRIPT: bash in a new network namespace (the README's bridges live there)
in_netns() {
	run --separate-stderr unshare --net bash -c "set -e; ip link set lo up; $1"
}

@test "README: create a profile (the directories must exist first)" {
	# the README's caution: a directory it names that is missing is an error
	run --separate-stderr firebuild profile-create $PROF --profile=standard --chroot-base="$D/nope"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"--chroot-base $D/nope: no such directory"* ]]
	run --separate-stderr firebuild profile-create $PROF \
		--profile=standard \
		--binary-firecracker=$(readlink -f /usr/bin/firecracker || echo /usr/bin/firecracker) \
		--binary-jailer=$(readlink -f /usr/bin/jailer || echo /usr/bin/jailer) \
		--chroot-base="$D/jail" \
		--run-cache="$D/cache" \
		--storage-provider=directory \
		--storage-provider-property-string="rootfs-storage-root=$D/firecracker/rootfs" \
		--storage-provider-property-string="kernel-storage-root=$D/firecracker/vmlinux" \
		--cni-conf-dir="$D/conf" --cni-bin-dir=/usr/lib/cni --cni-bin-dir="$FB_BIN" \
		--tracing-enable
	[ "$status" -eq 0 ]
	run --separate-stderr firebuild profile-ls $PROF
	[ "$(jq -c .profiles <<<"$output")" = '["standard"]' ]
	run --separate-stderr firebuild profile-inspect $PROF --profile=standard
	[ "$(jq -r .profile.chroot_base <<<"$output")" = "$D/jail" ]
	[ "$(jq -r '.profile.storage_provider_property_string["kernel-storage-root"]' <<<"$output")" = "$D/firecracker/vmlinux" ]
	[ "$(jq -r .profile.tracing_enable <<<"$output")" = true ]
	# a profile is updated by another profile-create (--overwrite)
	run --separate-stderr firebuild profile-create $PROF --profile=standard --chroot-base="$D/jail"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"--overwrite"* ]]
}

@test "README: the kernel goes to the kernel storage as vmlinux-v5.8" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	# mv /tmp/linux/vmlinux /firecracker/vmlinux/vmlinux-${KERNEL_VERSION}
	cp "$KERNEL" "$D/firecracker/vmlinux/vmlinux-v5.8"
}

@test "README: baseos (the default tag, and --tag=custom/os:latest)" {
	run --separate-stderr firebuild baseos \
		$PROF --profile=standard \
		--dockerfile "$D/baseos/_/debian/buster-slim/Dockerfile"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.tag | "\(.name):\(.version)"' <<<"$output")" = "buster-slim:latest" ]
	[ -f "$D/firecracker/rootfs/rootfs/buster-slim/latest/rootfs.ext4" ]
	run --separate-stderr firebuild baseos \
		$PROF --profile=standard \
		--dockerfile "$D/baseos/_/debian/buster-slim/Dockerfile" \
		--tag=custom/os:latest
	[ "$status" -eq 0 ]
	[ -f "$D/firecracker/rootfs/rootfs/custom/os/latest/rootfs.ext4" ]
}

@test "README: rootfs from git+http(s)://...git:/13/Dockerfile, the machine flags warned, --mem too" {
	[ -n "${HTTPPORT:-}" ] || skip "git is not installed"
	run --separate-stderr firebuild rootfs \
		$PROF --profile=standard \
		--dockerfile=git+http://127.0.0.1:$HTTPPORT/cgi-bin/git/postgres.git:/13/Dockerfile \
		--cni-network-name=machine-builds \
		--vmlinux-id=vmlinux-v5.8 \
		--mem=512 \
		--tag=combust-labs/postgres:13 --log-format=text
	echo "status=$status $stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -r .tag.name <<<"$output")" = combust-labs/postgres ]
	[[ "$stderr" == *"--cni-network-name=machine-builds: ignored: the build runs in fb-exec's sandbox"* ]]
	[[ "$stderr" == *"--mem=512: ignored"* ]]
	# the profile's tracing is on and its collector (the default) is not there: one warning
	[ "$(grep -c 'tracing: .* not sent' <<<"$stderr")" -eq 1 ]
	# with #master, --ssh-user, and the pre/post build commands of the older README
	run --separate-stderr firebuild rootfs \
		$PROF --profile=standard \
		--dockerfile=git+http://127.0.0.1:$HTTPPORT/cgi-bin/git/postgres.git:/13/Dockerfile#master \
		--cni-network-name=machine-builds \
		--ssh-user=alpine \
		--vmlinux-id=vmlinux-v5.8 \
		--pre-build-command='chmod 1777 /tmp' \
		--post-build-command='chmod -x /usr/local/bin/docker-entrypoint.sh' \
		--log-as-json \
		--tag=tests/postgres:13
	echo "$stderr"
	[ "$status" -eq 0 ]
	run debugfs -R "stat /usr/local/bin/docker-entrypoint.sh" "$D/firecracker/rootfs/rootfs/tests/postgres/13/rootfs.ext4"
	[[ "$output" == *"Mode:  0644"* ]]
}

@test "README: rootfs --docker-image with --docker-image-base" {
	need_registry_tools
	start_registry "$D/reg"
	new_image "$D/oci" 1.22
	printf 'file /usr/local/bin/all-in-one 0755 jaeger\n' | add_layer "$D/oci" 1.22 "$D/l1.tar.gz"
	push "$D/oci:1.22" jaegertracing/all-in-one:1.22
	run --separate-stderr firebuild rootfs \
		$PROF --profile=standard \
		--docker-image=$REG/jaegertracing/all-in-one:1.22 \
		--docker-image-base=alpine:3.13 \
		--cni-network-name=machine-builds \
		--vmlinux-id=vmlinux-v5.8 \
		--mem=512 \
		--tag=combust-labs/jaeger-all-in-one:1.22 --log-format=text
	stop_registry "$D/reg"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"--docker-image-base is ignored"* ]]
	[ -f "$D/firecracker/rootfs/rootfs/combust-labs/jaeger-all-in-one/1.22/rootfs.ext4" ]
}

@test "README: run on the machines network, inspect | jq the IP, nc to 5432, ls, ssh, kill, purge" {
	[ -f "$D/firecracker/vmlinux/vmlinux-v5.8" ] || skip "no guest kernel"
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	[ -f "$D/firecracker/rootfs/rootfs/combust-labs/postgres/13/rootfs.ext4" ] || skip "the rootfs test did not run"
	ssh-keygen -q -t ed25519 -N '' -f "$D/identity" >/dev/null
	echo "POSTGRES_PASSWORD=from-a-file" >"$D/pg.env"
	in_netns "
		trap 'firebuild kill $PROF --profile=standard --vmm-id=postgres1 >/dev/null 2>&1 || true;
		      firebuild kill $PROF --profile=standard --vmm-id=postgres2 >/dev/null 2>&1 || true' EXIT
		firebuild run \
			$PROF --profile=standard \
			--name=postgres1 \
			--from=combust-labs/postgres:13 \
			--cni-network-name=machines \
			--vmlinux-id=vmlinux-v5.8 \
			--mem=512 \
			--env='POSTGRES_PASSWORD=some-password' --daemonize > $D/run1.json 2>/dev/null
		VMIP=\$(firebuild inspect \
			$PROF --profile=standard \
			--vmm-id=postgres1 | jq '.NetworkInterfaces[0].StaticConfiguration.IPConfiguration.IP' -r)
		echo vmip=\$VMIP
		for i in \$(seq 1 240); do nc -z -w 1 \${VMIP} 5432 && break; sleep 0.5; done
		nc -zv \${VMIP} 5432 2>&1
		curl -s http://\${VMIP}:5432/env.txt
		# --env-file and --ssh-user with --identity-file
		firebuild run \
			$PROF --profile=standard \
			--name=postgres2 \
			--from=combust-labs/postgres:13 \
			--cni-network-name=machines \
			--vmlinux-id=vmlinux-v5.8 \
			--mem=512 \
			--env-file=$D/pg.env \
			--ssh-user=debian \
			--identity-file=$D/identity.pub --daemonize > /dev/null 2>&1
		IP2=\$(firebuild inspect $PROF --profile=standard --vmm-id=postgres2 | jq -r '.NetworkInterfaces[0].StaticConfiguration.IPConfiguration.IP')
		for i in \$(seq 1 240); do curl -s -m 1 http://\$IP2:5432/env.txt && break; sleep 0.5; done
		for i in \$(seq 1 120); do
			ssh -i $D/identity -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
				-o ConnectTimeout=2 debian@\$IP2 'echo ssh-as-\$(id -un)' 2>/dev/null && break
			sleep 0.5
		done
		firebuild ls $PROF --profile=standard | jq -r '.vms[] | \"\(.id) \(.state)\"' | sort
		firebuild kill $PROF --profile=standard --vmm-id=postgres1 | jq -r '\"killed \(.id)\"'
		# a VM stopped without kill: purge removes what it left
		kill -9 \$(firebuild inspect $PROF --profile=standard --vmm-id=postgres2 | jq -r .pid)
		sleep 1
		firebuild purge $PROF --profile=standard | jq -c .purged
		firebuild ls $PROF --profile=standard | jq -c '[.vms[].id]'
		echo veths=\$(ip -br link | grep -c veth || true)
	"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"vmip=192.168.127."* ]]
	[[ "$output" == *"succeeded"* ]]
	[[ "$output" == *"password=some-password"* ]]
	[[ "$output" == *"password=from-a-file"* ]]
	[[ "$output" == *"ssh-as-debian"* ]]
	[[ "$output" == *$'postgres1 running\npostgres2 running'* ]]
	[[ "$output" == *"killed postgres1"* ]]
	[[ "$output" == *'["postgres2"]'* ]]
	[[ "$output" == *"[]"* ]]
	[[ "$output" == *"veths=0"* ]]
	# the profile's run cache and jail held them; nothing is left
	[ -z "$(ls -A "$D/cache/runs" 2>/dev/null)" ]
	[ -z "$(ls -A "$D/jail/qemu-system-x86_64" 2>/dev/null)" ]
	# the VM's hostname was a random Docker-style name
	[ "$(jq -r .vm.id "$D/run1.json")" = postgres1 ]
}

@test "run --hostname: empty gives a random Docker-style name, a value is used" {
	[ -f "$D/firecracker/vmlinux/vmlinux-v5.8" ] || skip "no guest kernel"
	run --separate-stderr firebuild run $PROF --profile=standard --from=custom/os:latest --vmlinux-id=vmlinux-v5.8 \
		--hostname= -- /bin/hostname
	[ "$status" -eq 0 ]
	[[ "$output" =~ (^|$'\n')[a-z]+-[a-z]+($'\r'|$'\n'|$) ]]
	run --separate-stderr firebuild run $PROF --profile=standard --from=custom/os:latest --vmlinux-id=vmlinux-v5.8 \
		--hostname=db1 -- /bin/hostname
	[ "$status" -eq 0 ]
	[[ "$output" == *db1* ]]
}

@test "a flag beats the profile: --run-cache and --chroot-base on the command line win" {
	[ -f "$D/firecracker/vmlinux/vmlinux-v5.8" ] || skip "no guest kernel"
	mkdir -p "$D/rc2" "$D/j2"
	run --separate-stderr firebuild run $PROF --profile=standard --from=custom/os:latest --vmlinux-id=vmlinux-v5.8 \
		--run-cache="$D/rc2" --chroot-base="$D/j2" --name=flagwins --daemonize -- /bin/sleep 60
	[ "$status" -eq 0 ]
	[ "$(jq -r .vm.jail <<<"$output")" = "$D/j2/qemu-system-x86_64/flagwins/root" ]
	[ -d "$D/rc2/runs/flagwins" ]
	[ ! -e "$D/cache/runs/flagwins" ]
	run --separate-stderr firebuild kill $PROF --profile=standard --run-cache="$D/rc2" --vmm-id=flagwins --shutdown-timeout=1
	[ "$status" -eq 0 ]
}

@test "README, first version: --storage.provider.directory.*, --machine-*, --resources-mem, --service-file-installer, --detached" {
	[ -n "${HTTPPORT:-}" ] || skip "git is not installed"
	[ -f "$D/firecracker/rootfs/rootfs/custom/os/latest/rootfs.ext4" ] || skip "the baseos test did not run"
	echo '#!/bin/sh' >"$D/alpine.local.d.service.sh"
	run --separate-stderr firebuild rootfs \
		--binary-firecracker=/usr/bin/firecracker \
		--binary-jailer=/usr/bin/jailer \
		--chroot-base="$D/jail" \
		--dockerfile=git+http://127.0.0.1:$HTTPPORT/cgi-bin/git/postgres.git:/13/Dockerfile \
		--storage.provider=directory \
		--storage.provider.directory.rootfs-storage-root="$D/firecracker/rootfs" \
		--storage.provider.directory.kernel-storage-root="$D/firecracker/vmlinux" \
		--machine-cni-network-name=machine-builds \
		--machine-ssh-user=debian \
		--machine-vmlinux-id=vmlinux-v5.8 \
		--pre-build-command='chmod 1777 /tmp' \
		--log-as-json \
		--resources-mem=512 \
		--tag=tests/postgres:13 \
		--service-file-installer="$D/alpine.local.d.service.sh"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -f "$D/firecracker/rootfs/rootfs/tests/postgres/13/rootfs.ext4" ]
	[[ "$stderr" == *'"msg":"--service-file-installer='*'ignored: no service file is needed'* ]]
	[[ "$stderr" == *'"msg":"--machine-ssh-user=debian: ignored'* ]]
	[ -f "$D/firecracker/vmlinux/vmlinux-v5.8" ] || return 0
	mkdir -p "$D/cache1"
	run --separate-stderr firebuild run \
		--chroot-base="$D/jail" --run-cache="$D/cache1" \
		--storage.provider=directory \
		--storage.provider.directory.rootfs-storage-root="$D/firecracker/rootfs" \
		--storage.provider.directory.kernel-storage-root="$D/firecracker/vmlinux" \
		--from=custom/os:latest \
		--machine-vmlinux-id=vmlinux-v5.8 \
		--resources-mem=256 --name=first1 --detached --log-format=text -- /bin/sleep 60
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"VMM running as a daemon vmm-id=first1 pid="*"cache-dir=$D/cache1/runs/first1 jailer-dir=$D/jail/qemu-system-x86_64/first1"* ]]
	run --separate-stderr firebuild ls --run-cache="$D/cache1"
	[ "$(jq -r '.vms[] | "\(.id) \(.state)"' <<<"$output")" = "first1 running" ]
	run --separate-stderr firebuild kill \
		--binary-firecracker=/usr/bin/firecracker \
		--binary-jailer=/usr/bin/jailer \
		--chroot-base="$D/jail" --run-cache="$D/cache1" \
		--vmm-id=first1
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$D/cache1/runs")" ]
}
