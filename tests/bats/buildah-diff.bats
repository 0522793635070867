#!/usr/bin/env bats
# A differential test: the same Dockerfiles built by our builder and by
# buildah (1.28, Debian's) from one base image in a local registry, the
# resulting trees compared path by path (type, mode, owner, size, content,
# link target, hard-link group; whiteouts applied) and the configs field by
# field. Where buildah departs from Docker/BuildKit, the departure is listed
# below with the reason, and the comparison takes it out; anything else that
# differs fails the test. docs/compatibility.md has the whole list.
#
# Known buildah departures (our builder does what BuildKit does):
#  B1 buildah leaves the stubs of RUN's mounts in the image (/dev, /proc,
#     /sys, /run, /etc/hosts, /etc/hostname, /etc/resolv.conf); BuildKit
#     removes the stubs it made (executor MountStubsCleaner); we make none.
#  B2 buildah drops setuid/setgid bits of files from the context; Docker
#     keeps a context file's mode.
#  B3 ADD --chown of a local archive: buildah keeps the archive's owners;
#     BuildKit gives every extracted entry the --chown owner
#     (solver/llbsolver/file/unpack_root.go, mapArchiveHeaderOwner).
#  B4 COPY --chmod: buildah makes the destination directory 0755; BuildKit
#     makes it (and missing parents) with the --chmod mode (fsutil copy.go
#     prepareTargetDir/MkdirAll with ci.Mode; its testCopyChmod).
#  B5 .dockerignore exception under an excluded directory: buildah makes the
#     excluded directory 0755 at build time; BuildKit's context keeps it as
#     it is in the context (mode, time) as the parent of what comes back.
#  B6 times: buildah gives a COPY's destination directory the build's time;
#     BuildKit gives it the source directory's (restoreFileTimestamp). Both
#     buildah and BuildKit's layer writer keep whole seconds; our layers keep
#     nanoseconds (docs/compatibility.md says why). Compared here where
#     buildah kept the source's second: ours must be that second and its
#     nanoseconds.
#  B7 config: buildah adds the label io.buildah.version; a shell-form CMD or
#     ENTRYPOINT ignores SHELL in buildah (BuildKit's withShell uses it);
#     buildah needs --format docker to keep Healthcheck, OnBuild and Shell.
#  B8 stage names: buildah matches --from=NAME case-sensitively; BuildKit
#     does not (dispatchStates by strings.ToLower). Not exercised here.

load helpers
load registry

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "builds need root"
	command -v buildah >/dev/null || skip "buildah is not installed"
	need_registry_tools
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	export D FB_STORE FB_RUN_CACHE REG REGDIR
	D=$(mktemp -d)
	FB_STORE="$D/store"
	FB_RUN_CACHE="$D/run"
	# the base: a static busybox, a user and a group, a merged-usr link,
	# files the Dockerfiles remove (whiteouts)
	local r="$D/base-rootfs"
	mkdir -p "$r/bin" "$r/etc" "$r/home/app" "$r/tmp" "$r/root" "$r/usr/lib" "$r/opt/olddir"
	cp /bin/busybox "$r/bin/"
	local a
	for a in sh ls cat echo mkdir touch id chmod chown ln rm mkfifo pwd true false; do ln -s busybox "$r/bin/$a"; done
	ln -s usr/lib "$r/lib"
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n' >"$r/etc/group"
	chown 1000:1000 "$r/home/app"
	chmod 1777 "$r/tmp"
	echo old >"$r/etc/gone.conf"
	echo x >"$r/opt/olddir/x"
	umoci init --layout "$D/oci" >/dev/null
	umoci new --image "$D/oci:base"
	umoci config --image "$D/oci:base" --config.cmd=/bin/sh \
		--config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	umoci unpack --image "$D/oci:base" "$D/bundle" >/dev/null
	cp -a "$r/." "$D/bundle/rootfs/"
	umoci repack --refresh-bundle --image "$D/oci:base" "$D/bundle"
	start_registry "$D/reg"
	skopeo copy -q --dest-tls-verify=false "oci:$D/oci:base" "docker://$REG/base:1"
	context
	# both builders, every Dockerfile; the checks come in the tests
	local df
	for df in copy stages; do
		firebuild rootfs --dockerfile="$D/$df.Dockerfile" --context="$D/ctx" --build-arg "BASE=$REG/base:1" \
			--insecure-registry "$REG" --tag="diff/$df:1" >"$D/ours-$df.json" 2>"$D/ours-$df.err" ||
			{ cat "$D/ours-$df.err" >&2; return 1; }
		buildah --storage-driver vfs --root "$D/buildah" --runroot "$D/buildah-run" bud --isolation chroot \
			--format docker --tls-verify=false --build-arg "BASE=$REG/base:1" -t "$df" -f "$D/$df.Dockerfile" \
			"$D/ctx" >"$D/buildah-$df.log" 2>&1 || { cat "$D/buildah-$df.log" >&2; return 1; }
		buildah --storage-driver vfs --root "$D/buildah" --runroot "$D/buildah-run" push "$df" "oci:$D/bout:$df" \
			>>"$D/buildah-$df.log" 2>&1
		buildah --storage-driver vfs --root "$D/buildah" --runroot "$D/buildah-run" inspect --type image "$df" \
			>"$D/buildah-$df.inspect"
	done
}

teardown_file() {
	[ -n "${D:-}" ] || return 0
	stop_registry "$D/reg"
	# buildah's vfs layers belong to root and may be read-only
	chmod -R u+w "$D/buildah" 2>/dev/null
	rm -rf "$D"
}

# The context: modes, a setuid file, links (hard and symbolic), an empty
# directory, .dockerignore with an exception under an excluded directory,
# an archive, and every time set to a known instant with nanoseconds.
context() {
	local c="$D/ctx"
	mkdir -p "$c/tree/sub" "$c/tree/empty" "$c/links" "$c/secret/public" "$c/t/pkg/d"
	echo '{"name":"x"}' >"$c/package.json"
	echo a >"$c/a.txt"
	echo bb >"$c/b.txt"
	chmod 0600 "$c/b.txt"
	printf '#!/bin/sh\necho s\n' >"$c/suid.sh"
	chmod 4755 "$c/suid.sh"
	echo f >"$c/tree/sub/f"
	chmod 0640 "$c/tree/sub/f"
	printf '#!/bin/sh\n' >"$c/tree/exe"
	chmod 0755 "$c/tree/exe"
	ln -s sub/f "$c/tree/rel"
	ln -s /etc/passwd "$c/tree/abs"
	chmod 0700 "$c/tree/sub"
	chmod 0750 "$c/tree"
	echo same >"$c/links/h1"
	ln "$c/links/h1" "$c/links/h2"
	echo other >"$c/links/h3"
	echo pub >"$c/secret/public/readme"
	echo key >"$c/secret/private.key"
	chmod 0750 "$c/secret"
	echo log >"$c/debug.log"
	echo inside >"$c/t/pkg/file"
	echo deep >"$c/t/pkg/d/deep"
	tar -C "$c/t" --owner=99 --group=98 -czf "$c/pkg.tar.gz" pkg
	rm -rf "$c/t"
	echo plain >"$c/plain.txt"
	printf 'secret/\n!secret/public\n*.log\n' >"$c/.dockerignore"
	find "$c" -exec touch -h -d '@1612325106.123456789' {} +
	cat >"$D/copy.Dockerfile" <<'EOF'
ARG BASE
FROM $BASE
COPY package.json yarn.lock* /app/
COPY tree /tree/
COPY tree /tree-noslash
COPY --chmod=751 tree /chmod/
COPY --chown=app:staff tree /owned/
COPY --chown=app tree /owned-user/
COPY links /links/
COPY a.txt b.txt suid.sh /multi/
COPY *.txt /glob/
COPY a.txt /renamed.txt
COPY . /ctx/
COPY secret /secret-named/
ADD pkg.tar.gz /add/
ADD --chown=app pkg.tar.gz /addown/
ADD plain.txt /addplain/
USER app
WORKDIR /app/data
RUN touch made-by-app && id > id.txt && echo "$HOME" > home.txt
USER 4242
WORKDIR /w4242/sub
RUN id > /tmp/id4242 && echo "$HOME" > /tmp/home4242
USER root
RUN echo "$HOME" > /root-home.txt && rm /etc/gone.conf && rm -rf /opt/olddir && mkdir /opt/olddir && echo new > /opt/olddir/new
ENV A=1 B=${A}2
ARG C=3
ENV D=${C}4
RUN echo "$A $B $C $D" > /env.txt
LABEL l1=v1 "l 2"="v 2"
EXPOSE 8080/tcp 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
EOF
	cat >"$D/stages.Dockerfile" <<'EOF'
ARG BASE
FROM $BASE AS base
RUN echo changed >> /etc/passwd
FROM $BASE AS build
ARG WHO=builder
RUN mkdir -p /out/sub /out/empty && echo "$WHO" > /out/sub/file && ln /out/sub/file /out/sub/hard \
 && ln -s file /out/sub/soft && mkfifo /out/fifo && chown -R 1000:50 /out && chown 4242:4343 /out/sub/file \
 && chmod 0700 /out/sub && chmod 2755 /out/empty
FROM $BASE
COPY --from=build /out /from-build/
COPY --from=build /out/sub/file /single
COPY --from=build /out/sub /sub-only
COPY --from=build --chown=nobody:nogroup /out /chowned/
COPY --from=1 /out/sub/soft /softcopy
COPY --from=base /etc/passwd /base-passwd
RUN rm -rf /opt/olddir /etc/gone.conf && mkdir /opt/olddir && echo new > /opt/olddir/new && rm /bin/false \
 && mkdir /bin/false && ln -sf /nowhere /usr/lib/dangling
WORKDIR rel
WORKDIR sub
RUN pwd > where
USER app:staff
RUN id > /tmp/id-app-staff
USER nobody
WORKDIR /home/nobody-made
SHELL ["/bin/sh", "-e", "-c"]
CMD ["echo", "exec-form"]
HEALTHCHECK --interval=30s --timeout=3s CMD true
ONBUILD RUN echo child
EOF
}

ours_digest() { jq -r .image.digest "$D/ours-$1.json"; }

# tree DF: both trees, the departures B1 B2 taken out; $D/DF.ours, $D/DF.buildah
trees() {
	python3 "$BATS_TEST_DIRNAME/imgtree.py" tree "$FB_STORE" "$(ours_digest "$1")" --times >"$D/$1.ours.t"
	python3 "$BATS_TEST_DIRNAME/imgtree.py" tree "$D/bout" "$1" --times >"$D/$1.buildah.t"
	# B1: RUN's mount stubs
	grep -vE '^/(dev|proc|sys|run|etc/hosts|etc/hostname|etc/resolv\.conf) ' "$D/$1.buildah.t" >"$D/$1.buildah.t1"
	sed 's/ t=.*//' "$D/$1.ours.t" >"$D/$1.ours"
	sed 's/ t=.*//' "$D/$1.buildah.t1" >"$D/$1.buildah"
}

# the config fields a Dockerfile sets; ours from the image, buildah's from
# its Docker-format config; B7's label taken out
configs() {
	local keys='{Env, Entrypoint, Cmd, WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, Shell, Healthcheck, OnBuild}
		| with_entries(select(.value != null and .value != [] and .value != {} and .value != ""))'
	jq -S ".image.config.config | $keys" "$D/ours-$1.json" >"$D/$1.ours.cfg"
	jq -S ".Docker.config | del(.Labels[\"io.buildah.version\"]) | if .Labels == {} then del(.Labels) else . end | $keys" \
		"$D/buildah-$1.inspect" >"$D/$1.buildah.cfg"
}

@test "COPY/ADD forms, owners, modes, links, .dockerignore, WORKDIR/USER/ENV/ARG: the trees match but for B2-B5" {
	trees copy
	# B2: buildah drops the setuid bit of a context file
	grep -q '^/multi/suid.sh f 0755 ' "$D/copy.buildah"
	grep -q '^/multi/suid.sh f 4755 0:0 ' "$D/copy.ours"
	# B3: ADD --chown: ours give the extracted entries the owner
	grep -q '^/addown/pkg/file f 0644 99:98 ' "$D/copy.buildah"
	grep -q '^/addown/pkg/file f 0644 1000:1000 ' "$D/copy.ours"
	# B4: --chmod's destination directory
	grep -q '^/chmod d 0755 0:0 ' "$D/copy.buildah"
	grep -q '^/chmod d 0751 0:0 ' "$D/copy.ours"
	# B5: the excluded parent of an exception keeps the context's mode with us
	grep -q '^/ctx/secret d 0755 0:0 ' "$D/copy.buildah"
	grep -q '^/ctx/secret d 0750 0:0 ' "$D/copy.ours"
	# everything else is the same, line for line
	local dep='^/(multi/suid\.sh|ctx/suid\.sh|addown/pkg(/.*)?|chmod|ctx/secret) '
	diff <(grep -vE "$dep" "$D/copy.buildah") <(grep -vE "$dep" "$D/copy.ours")
	# and what the differences are about is all there is
	[ "$(diff "$D/copy.buildah" "$D/copy.ours" | grep -c '^>')" = 8 ]
	# the points of issue 13 that buildah does as BuildKit does, seen in both
	grep -q '^/app/package.json f ' "$D/copy.ours"                          # an empty wildcard
	grep -q '^/app/data d 0755 1000:1000 ' "$D/copy.ours"                   # WORKDIR as USER
	grep -q '^/w4242/sub d 0755 4242:4242 ' "$D/copy.ours"
	grep -q '^/ctx/links/h2 f 0644 0:0 5 [0-9a-f]* - hl=/ctx/links/h1$' "$D/copy.ours" # hard links
	grep -q '^/ctx/secret/public/readme f ' "$D/copy.ours"                  # .dockerignore exception
	! grep -q '^/ctx/secret/private.key ' "$D/copy.ours"
	! grep -q '^/ctx/debug.log ' "$D/copy.ours"
	grep -q '^/etc/gone.conf ' <(python3 "$BATS_TEST_DIRNAME/imgtree.py" tree "$D/oci" base)
	! grep -q '^/etc/gone.conf ' "$D/copy.ours"                             # a whiteout
	grep -q '^/opt/olddir/new ' "$D/copy.ours" && ! grep -q '^/opt/olddir/x ' "$D/copy.ours"
	# what RUN saw: uid, gid and HOME (points 5 and 6), the same in both
	[ "$(debugfs -R 'cat /tmp/id4242' "$FB_STORE/rootfs/diff/copy/1/rootfs.ext4" 2>/dev/null)" = "uid=4242 gid=0(root) groups=0(root)" ]
	[ "$(debugfs -R 'cat /tmp/home4242' "$FB_STORE/rootfs/diff/copy/1/rootfs.ext4" 2>/dev/null)" = / ]
	[ "$(debugfs -R 'cat /root-home.txt' "$FB_STORE/rootfs/diff/copy/1/rootfs.ext4" 2>/dev/null)" = /root ]
	[ "$(debugfs -R 'cat /app/data/home.txt' "$FB_STORE/rootfs/diff/copy/1/rootfs.ext4" 2>/dev/null)" = /home/app ]
}

@test "times (B6): where buildah kept a context file's second, ours keep that second and its nanoseconds" {
	trees copy
	local n=0 p t
	while read -r p t; do
		[ "$t" = t=1612325106 ] || continue
		grep -q "^$p .* t=1612325106.123456789\$" "$D/copy.ours.t" || { echo "# $p: $(grep "^$p " "$D/copy.ours.t")"; return 1; }
		n=$((n + 1))
	done < <(awk '{print $1, $NF}' "$D/copy.buildah.t1")
	# files, links and directories below COPY's destinations
	[ "$n" -gt 60 ]
	# and the directories buildah gives the build's time: ours keep the source's
	grep -q '^/ctx d .* t=1612325106.123456789$' "$D/copy.ours.t"
	grep -q '^/tree d .* t=1612325106.123456789$' "$D/copy.ours.t"
}

@test "multi-stage: COPY --from a stage (owners, links, a fifo, --chown), an index, whiteouts, WORKDIR chains: the same trees" {
	trees stages
	diff "$D/stages.buildah" "$D/stages.ours"
	# what the comparison saw: owners kept from the stage, a hard link, a fifo
	grep -q '^/from-build/sub/file f 0644 4242:4343 8 [0-9a-f]* - hl=/from-build/sub/file$' "$D/stages.ours"
	grep -q '^/from-build/sub/hard f 0644 4242:4343 ' "$D/stages.ours"
	grep -q '^/from-build/fifo p 0644 1000:50 ' "$D/stages.ours"
	grep -q '^/from-build/empty d 2755 1000:50 ' "$D/stages.ours"
	grep -q '^/chowned/sub/file f 0644 65534:65534 ' "$D/stages.ours"
	grep -q '^/bin/false d ' "$D/stages.ours"
	grep -q '^/rel/sub/where f ' "$D/stages.ours"
	grep -q '^/home/nobody-made d 0755 65534:65534 ' "$D/stages.ours"
}

@test "configs: Env, Entrypoint, Cmd, WorkingDir, User, ports, volumes, labels, stop signal, Shell, Healthcheck, OnBuild match (B7 aside)" {
	configs copy
	diff "$D/copy.buildah.cfg" "$D/copy.ours.cfg"
	[ "$(jq -c .Env "$D/copy.ours.cfg")" = '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1","B=2","D=34"]' ]
	configs stages
	diff "$D/stages.buildah.cfg" "$D/stages.ours.cfg"
	[ "$(jq -c .Healthcheck "$D/stages.ours.cfg")" = '{"Interval":30000000000,"Test":["CMD-SHELL","true"],"Timeout":3000000000}' ]
}
