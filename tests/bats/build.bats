#!/usr/bin/env bats
# Dockerfile builds end to end: firebuild baseos / rootfs --dockerfile, the
# builder in fb-mkrootfs, RUN under fb-exec, the build cache. Every image
# is checked with e2fsck -fn and read back with debugfs.

load helpers
load registry

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "builds need root (RUN runs in namespaces)"
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	export D FB_STORE FB_RUN_CACHE
	D=$(mktemp -d)
	FB_STORE="$D/store"
	FB_RUN_CACHE="$D/run"
	firebuild baseos --dockerfile="$FB_ROOT/baseos/busybox" --tag=fb/busybox:1 >"$D/base.json" 2>"$D/base.err" ||
		{ cat "$D/base.err" >&2; return 1; }
}

teardown_file() {
	rm -rf "$D"
}

setup() {
	C=$(mktemp -d "$D/ctx.XXXXXX")
}

teardown() {
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP"
	[ -n "${BG:-}" ] && kill -9 "$BG" 2>/dev/null
	return 0
}

# a host block device with known bytes: a loop device over a file
host_disk() {
	command -v losetup >/dev/null || skip "losetup (util-linux) is not installed"
	printf 'HOSTDISKSECRET01%.0s' $(seq 64) >"$BATS_TEST_TMPDIR/disk.img"
	LOOP=$(losetup -f --show "$BATS_TEST_TMPDIR/disk.img") || skip "no loop device"
}

# wait (bounded) for a file a RUN step makes in its stage tree; print it
wait_in_tree() {
	local i f
	for i in $(seq 300); do
		for f in "$FB_RUN_CACHE"/builds/build-*/tree-*/"$1"; do
			[ -e "$f" ] && { echo "$f"; return 0; }
		done
		sleep 0.1
	done
	return 1
}

# wait (bounded) until no process matches; fail if one still does
wait_gone() {
	local i
	for i in $(seq 100); do
		pgrep -f "$1" >/dev/null || return 0
		sleep 0.1
	done
	echo "still running: $(pgrep -af "$1")"
	return 1
}

# build [firebuild rootfs flags]: the context is $C; $output is the document
build() {
	run --separate-stderr firebuild rootfs --dockerfile="$C/Dockerfile" "$@"
	if [ "$status" -ne 0 ]; then echo "# $stderr" >&3; fi
}

img() { # the ext4 of a tag
	echo "$FB_STORE/rootfs/${1%:*}/${1#*:}/rootfs.ext4"
}

cat_in() { # cat_in TAG PATH
	debugfs -R "cat $2" "$(img "$1")" 2>/dev/null
}

stat_in() { # stat_in TAG PATH: "mode uid gid" (mode in octal, with type)
	debugfs -R "stat $2" "$(img "$1")" 2>/dev/null |
		sed -n 's/.*Mode: *\([0-7]*\).*/\1/p; s/^User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1 \2/p' | tr '\n' ' ' | sed 's/ $//'
}

checked() { # e2fsck -fn passes on the tag's image
	e2fsck -fn "$(img "$1")" >/dev/null 2>&1
}

steps() { # status of every step of the last build, one a line
	jq -r '.build.steps[] | select(.status != "metadata") | .status' <<<"$output"
}

@test "baseos busybox: FROM scratch + COPY + RUN, tagged for FROM lines" {
	checked fb/busybox:1
	[ "$(debugfs -R 'stat /bin/sh' "$(img fb/busybox:1)" 2>/dev/null | grep -c 'Type: symlink')" = 1 ]
	run cat_in fb/busybox:1 /etc/passwd
	[[ "$output" == root:x:0:0:* ]]
	[ "$(jq -r '.config.config.Cmd[0]' "$FB_STORE/rootfs/fb/busybox/1/image.json")" = /bin/sh ]
	# the default tag of a FROM scratch base is its directory's name
	run firebuild baseos --dockerfile="$FB_ROOT/baseos/busybox"
	[ "$status" -eq 0 ]
	[ -f "$FB_STORE/rootfs/busybox/latest/rootfs.ext4" ]
}

@test "multi-stage: COPY --from a name, an index and an image; ARG before FROM; --build-arg; --target" {
	cat >"$C/Dockerfile" <<'EOF'
ARG BASE=fb/busybox:1
ARG GREETING=hello
FROM $BASE AS build
ARG GREETING
RUN echo "$GREETING from build" > /out.txt
FROM $BASE
RUN echo second > /second.txt
FROM scratch AS final
COPY --from=build /out.txt /a.txt
COPY --from=1 /second.txt /b.txt
COPY --from=fb/busybox:1 /etc/group /c.txt
EOF
	build --tag=t/multi:1 --build-arg GREETING=bonjour
	[ "$status" -eq 0 ]
	checked t/multi:1
	[ "$(cat_in t/multi:1 /a.txt)" = "bonjour from build" ]
	[ "$(cat_in t/multi:1 /b.txt)" = "second" ]
	[[ "$(cat_in t/multi:1 /c.txt)" == root:x:0:* ]]
	# --target stops at a stage; the stages it does not need are not built
	build --tag=t/multi:build --target=build
	[ "$status" -eq 0 ]
	[ "$(cat_in t/multi:build /out.txt)" = "hello from build" ]
	[ "$(jq '[.build.steps[] | select(.stage != 0)] | length' <<<"$output")" = 0 ]
}

@test "heredoc RUN and COPY; WORKDIR chains; SHELL; ENV" {
	cat >"$C/Dockerfile" <<'EOF'
FROM fb/busybox:1
ENV NAME=world
WORKDIR /app
WORKDIR sub
RUN <<EOT
echo "hi $NAME" > greeting
pwd > where
EOT
COPY <<EOT /app/sub/note.txt
note for ${NAME}
EOT
RUN <<EOT
#!/bin/sh
echo scripted > /app/script.txt
EOT
SHELL ["/bin/env", "MARK=via-shell", "/bin/sh", "-c"]
RUN echo "$MARK" > /app/shell.txt
EOF
	build --tag=t/heredoc:1
	[ "$status" -eq 0 ]
	checked t/heredoc:1
	[ "$(cat_in t/heredoc:1 /app/sub/greeting)" = "hi world" ]
	[ "$(cat_in t/heredoc:1 /app/sub/where)" = "/app/sub" ]
	[ "$(cat_in t/heredoc:1 /app/sub/note.txt)" = "note for world" ]
	[ "$(cat_in t/heredoc:1 /app/script.txt)" = "scripted" ]
	[ "$(cat_in t/heredoc:1 /app/shell.txt)" = "via-shell" ]
	[ "$(jq -r .image.config.config.WorkingDir <<<"$output")" = /app/sub ]
	# the heredoc script file is not left in the image
	! debugfs -R 'ls -l /' "$(img t/heredoc:1)" 2>/dev/null | grep -q fb-heredoc
}

@test "USER and --chown: owners resolved in the stage's /etc/passwd and /etc/group; --chmod" {
	mkdir -p "$C/dir"
	echo one >"$C/one.txt"
	echo two >"$C/dir/two.txt"
	cat >"$C/Dockerfile" <<'EOF'
FROM fb/busybox:1
RUN echo 'app:x:1000:1000:app:/home/app:/bin/sh' >> /etc/passwd && echo 'staff:x:50:' >> /etc/group && mkdir -p /home/app && chown app /home/app
COPY --chown=app:staff one.txt /home/app/
COPY --chown=1234:4321 --chmod=640 dir /data/
COPY one.txt /root-owned.txt
USER app
RUN id -u > /home/app/uid && touch /home/app/made-by-app
EOF
	build --tag=t/owners:1
	[ "$status" -eq 0 ]
	checked t/owners:1
	[ "$(stat_in t/owners:1 /home/app/one.txt)" = "0644 1000 50" ]
	[ "$(stat_in t/owners:1 /data/two.txt)" = "0640 1234 4321" ]
	[ "$(stat_in t/owners:1 /root-owned.txt)" = "0644 0 0" ]
	[ "$(cat_in t/owners:1 /home/app/uid)" = 1000 ]
	[ "$(stat_in t/owners:1 /home/app/made-by-app | cut -d' ' -f2)" = 1000 ]
	[ "$(jq -r .image.config.config.User <<<"$output")" = app ]
	# a user the image lacks is a clear error naming it
	printf 'FROM fb/busybox:1\nCOPY --chown=nobody-here one.txt /x\n' >"$C/Dockerfile"
	build --tag=t/owners:2
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"Dockerfile:2"*"nobody-here"* ]]
}

@test "COPY semantics: several sources, wildcards, directory contents, trailing slash, .dockerignore, --exclude" {
	mkdir -p "$C/src/deep"
	echo a >"$C/a.txt"; echo b >"$C/b.txt"; echo c >"$C/c.md"
	echo d >"$C/src/deep/d.txt"; echo log >"$C/src/x.log"
	echo secret >"$C/secret.key"
	printf 'secret.key\n*.log\nsrc/*.log\n' >"$C/.dockerignore"
	cat >"$C/Dockerfile" <<'EOF'
FROM scratch
COPY a.txt b.txt /multi/
COPY *.txt /glob/
COPY src /contents
COPY a.txt /renamed.txt
COPY . /all/
COPY --exclude=*.md . /excl/
EOF
	build --tag=t/copy:1
	[ "$status" -eq 0 ]
	checked t/copy:1
	[ "$(cat_in t/copy:1 /multi/b.txt)" = b ]
	[ "$(cat_in t/copy:1 /glob/a.txt)" = a ]
	[ "$(cat_in t/copy:1 /contents/deep/d.txt)" = d ]
	[ "$(cat_in t/copy:1 /renamed.txt)" = a ]
	[ "$(cat_in t/copy:1 /all/c.md)" = c ]
	run debugfs -R 'ls /all' "$(img t/copy:1)"
	[[ "$output" != *secret.key* ]]
	run debugfs -R 'ls /all/src' "$(img t/copy:1)"
	[[ "$output" != *x.log* ]]
	run debugfs -R 'ls /excl' "$(img t/copy:1)"
	[[ "$output" != *c.md* && "$output" == *a.txt* ]]
	# several sources need a directory destination
	printf 'FROM scratch\nCOPY a.txt b.txt /notadir\n' >"$C/Dockerfile"
	build --tag=t/copy:2
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"Dockerfile:2"*"must be a directory"* ]]
	# an ignored file is not there to copy
	printf 'FROM scratch\nCOPY secret.key /\n' >"$C/Dockerfile"
	build --tag=t/copy:3
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"secret.key"*"dockerignore"* ]]
}

@test "ADD extracts a local tar.gz (and a .tar.xz); ADD of a plain file copies it" {
	mkdir -p "$C/t/pkg"
	echo inside >"$C/t/pkg/file"
	tar -C "$C/t" -czf "$C/pkg.tar.gz" pkg
	tar -C "$C/t" -cJf "$C/pkg.tar.xz" pkg
	echo plain >"$C/plain.txt"
	cat >"$C/Dockerfile" <<'EOF'
FROM scratch
ADD pkg.tar.gz /opt/
ADD pkg.tar.xz /xz
ADD plain.txt /plain.txt
EOF
	build --tag=t/add:1
	[ "$status" -eq 0 ]
	checked t/add:1
	[ "$(cat_in t/add:1 /opt/pkg/file)" = inside ]
	[ "$(cat_in t/add:1 /xz/pkg/file)" = inside ]
	[ "$(cat_in t/add:1 /plain.txt)" = plain ]
}

@test "ONBUILD triggers are stored and run in a child build" {
	cat >"$C/Dockerfile" <<'EOF'
FROM fb/busybox:1
ONBUILD RUN echo triggered > /onbuild.txt
ONBUILD COPY child.txt /child.txt
EOF
	build --tag=t/parent:1
	[ "$status" -eq 0 ]
	[ "$(jq -c .image.config.config.OnBuild <<<"$output")" = '["RUN echo triggered > /onbuild.txt","COPY child.txt /child.txt"]' ]
	echo from-child >"$C/child.txt"
	printf 'FROM t/parent:1\nRUN cat /onbuild.txt /child.txt > /both.txt\n' >"$C/Dockerfile"
	build --tag=t/child:1
	[ "$status" -eq 0 ]
	checked t/child:1
	[ "$(cat_in t/child:1 /both.txt)" = "$(printf 'triggered\nfrom-child')" ]
	# triggers run once: the child's own config does not carry them on
	[ "$(jq -c '.image.config.config.OnBuild // []' <<<"$output")" = '[]' ]
}

@test "cache: a rebuild executes nothing (the date a RUN wrote stays); a touched file re-runs from its step" {
	echo v1 >"$C/one.txt"
	echo x >"$C/two.txt"
	cat >"$C/Dockerfile" <<'EOF'
FROM fb/busybox:1
RUN date > /built-at && cat /proc/sys/kernel/random/uuid >> /built-at
COPY one.txt /one.txt
RUN cat /one.txt > /derived && cat /proc/sys/kernel/random/uuid > /derived-at
COPY two.txt /two.txt
EOF
	build --tag=t/cache:1
	[ "$status" -eq 0 ]
	[ "$(steps | sort -u)" = executed ]
	local at1 dat1
	at1=$(cat_in t/cache:1 /built-at)
	dat1=$(cat_in t/cache:1 /derived-at)
	build --tag=t/cache:2
	[ "$status" -eq 0 ]
	[ "$(steps | sort -u)" = cached ]
	[ "$(cat_in t/cache:2 /built-at)" = "$at1" ]
	[ "$(cat_in t/cache:2 /derived-at)" = "$dat1" ]
	[[ "$stderr" == *CACHED* ]]
	# the times of a copied file do not matter, its bytes do
	touch -d '2001-01-01' "$C/one.txt"
	build --tag=t/cache:3
	[ "$(steps | tr '\n' ' ')" = "cached cached cached cached " ]
	echo v2 >"$C/one.txt"
	build --tag=t/cache:4
	[ "$status" -eq 0 ]
	[ "$(steps | tr '\n' ' ')" = "cached executed executed executed " ]
	[ "$(cat_in t/cache:4 /built-at)" = "$at1" ]
	[ "$(cat_in t/cache:4 /derived)" = v2 ]
	# --no-cache runs everything
	build --tag=t/cache:5 --no-cache
	[ "$(steps | sort -u)" = executed ]
	[ "$(cat_in t/cache:5 /built-at)" != "$at1" ]
	# every step has a time
	[ "$(jq '[.build.steps[] | select(.seconds == null)] | length' <<<"$output")" = 0 ]
	checked t/cache:4
	checked t/cache:5
}

@test "context digests remembered: an unchanged rebuild reads no context file (strace); a file changed in place, its mtime put back, is seen" {
	command -v strace >/dev/null || skip "strace is not installed"
	mkdir -p "$C/data"
	for i in $(seq 1 40); do echo "file $i" >"$C/data/f$i"; done
	printf 'FROM scratch\nCOPY data/ /data/\n' >"$C/Dockerfile"
	touch -d '2020-01-02 03:04:05' "$C"/data/*
	# a file whose inode changed in the last second is never remembered
	# (a write in the same clock tick could leave its times as they were)
	sleep 2
	build --tag=t/hc:1
	[ "$status" -eq 0 ]
	[ "$(jq -c .build.context_files <<<"$output")" = '{"remembered":0,"read":40}' ]
	# (LeakSanitizer cannot run under ptrace: no leak check for this one
	# under the sanitizer build)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		run --separate-stderr strace -f -y -qq -o "$BATS_TEST_TMPDIR/trace" \
			-e trace=read,pread64,readv,preadv,preadv2,sendfile,copy_file_range,splice,mmap \
			firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/hc:1
	[ "$status" -eq 0 ]
	[ "$(jq -c .build.context_files <<<"$output")" = '{"remembered":40,"read":0}' ]
	[ "$(steps)" = cached ]
	# the Dockerfile is read (fb-fetch, fb-parse), no file under data/ is
	grep -q "<$C/Dockerfile>" "$BATS_TEST_TMPDIR/trace"
	run grep -c "<$C/data/" "$BATS_TEST_TMPDIR/trace"
	[ "$output" = 0 ]
	# nothing changed, nothing to remember: the cache file is not written
	# again (a write is a new file renamed over it: a new inode)
	local hcf
	hcf="$FB_STORE/cache/files/$(printf %s "$(realpath "$C")" | sha256sum | cut -c1-16)"
	local ino
	ino=$(stat -c %i "$hcf")
	build --tag=t/hc:1
	[ "$status" -eq 0 ]
	[ "$(jq -c .build.context_files <<<"$output")" = '{"remembered":40,"read":0}' ]
	[ "$(stat -c %i "$hcf")" = "$ino" ]
	# one byte changed in place, same size, the mtime set back: only the
	# ctime tells, and the file is read again
	printf 'FILE 7\n' | dd of="$C/data/f7" conv=notrunc status=none
	touch -d '2020-01-02 03:04:05' "$C/data/f7"
	build --tag=t/hc:2
	[ "$status" -eq 0 ]
	[ "$(jq -c .build.context_files <<<"$output")" = '{"remembered":39,"read":1}' ]
	[ "$(steps)" = executed ]
	[ "$(cat_in t/hc:2 /data/f7)" = "FILE 7" ]
	# replaced by another inode with the same size and times (cp -p, mv)
	printf 'fIlE 9\n' >"$BATS_TEST_TMPDIR/f9"
	touch -d '2020-01-02 03:04:05' "$BATS_TEST_TMPDIR/f9"
	mv "$BATS_TEST_TMPDIR/f9" "$C/data/f9"
	build --tag=t/hc:3
	[ "$status" -eq 0 ]
	[ "$(steps)" = executed ]
	[ "$(cat_in t/hc:3 /data/f9)" = "fIlE 9" ]
	# a damaged cache file is ignored: every file is read again, the
	# result is the same
	local f
	f="$FB_STORE/cache/files/$(printf %s "$(realpath "$C")" | sha256sum | cut -c1-16)"
	[ -f "$f" ]
	sed -i '2s/^\([0-9]*\) /\1x /' "$f"
	build --tag=t/hc:4
	[ "$status" -eq 0 ]
	[ "$(jq .build.context_files.read <<<"$output")" = 40 ]
	[ "$(steps)" = cached ]
	# gc with no age limit drops it
	run fb-tag gc --cache-max-age 0
	[ "$status" -eq 0 ]
	[ ! -e "$f" ]
	checked t/hc:3
}

@test "a cached COPY of a tree opens each context directory once (strace), and its key is the one it was" {
	command -v strace >/dev/null || skip "strace is not installed"
	mkdir -p "$C/src/a/b/c" "$C/src/d"
	for d in src src/a src/a/b src/a/b/c src/d; do
		echo "in $d" >"$C/$d/f"
		ln -s f "$C/$d/l"
	done
	setfattr -n user.k -v v1 "$C/src/a/b" 2>/dev/null || true
	printf 'FROM scratch\nCOPY src/ /src/\n' >"$C/Dockerfile"
	touch -d '2020-01-02 03:04:05' "$C"/src/*/f "$C"/src/f
	sleep 2
	build --tag=t/walk:1
	[ "$status" -eq 0 ]
	[ "$(steps)" = executed ]
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		run --separate-stderr strace -f -y -qq -o "$BATS_TEST_TMPDIR/trace" -e trace=open,openat,openat2 \
			firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/walk:1
	[ "$status" -eq 0 ]
	[ "$(steps)" = cached ]
	local d n
	for d in src/a src/a/b src/a/b/c src/d; do
		n=$(grep -cE "= [0-9]+<$C/$d>\$" "$BATS_TEST_TMPDIR/trace" || true)
		[ "$n" = 1 ] || { echo "$d opened $n times"; grep -E "<$C/$d>" "$BATS_TEST_TMPDIR/trace"; return 1; }
	done
	# a change deep down still changes the key
	echo changed >"$C/src/a/b/c/f"
	build --tag=t/walk:2
	[ "$status" -eq 0 ]
	[ "$(steps)" = executed ]
	[ "$(cat_in t/walk:2 /src/a/b/c/f)" = changed ]
	checked t/walk:2
}

@test "the pipeline's tools start without libcurl, libarchive, libgit2: each is loaded when first called" {
	local t
	for t in firebuild fb-fetch fb-parse fb-mkrootfs fb-tag; do
		run readelf -d "$FB_BIN/$t"
		[ "$status" -eq 0 ]
		grep -q NEEDED <<<"$output"
		! grep -E 'NEEDED.*(libcurl|libarchive|libgit2)' <<<"$output" || { echo "$t links it"; return 1; }
	done
	# (the suites' layers, registries and git servers call all three)
	# and when one does, libcurl comes: a Dockerfile over http(s) is
	# fetched (a server that is not there: libcurl's own error)
	run --separate-stderr fb-fetch source --dockerfile=http://127.0.0.1:9/Dockerfile
	[ "$status" -ne 0 ]
	grep -qi 'connect' <<<"$stderr$output"
}

@test "an unchanged rebuild keeps the tag's ext4 (same inode, same mtime); a changed one writes a new one; fb-tag put checks what is kept" {
	echo one >"$C/f"
	printf 'FROM scratch\nCOPY f /f\n' >"$C/Dockerfile"
	build --tag=t/keep:1
	[ "$status" -eq 0 ]
	[ "$(jq .rootfs.kept <<<"$output")" = null ]
	local e="$FB_STORE/rootfs/t/keep/1/rootfs.ext4" m="$FB_STORE/rootfs/t/keep/1/image.json" before meta
	before=$(stat -c '%i %Y.%y' "$e" "$m")
	meta=$(cat "$m")
	[ "$(jq -r .rootfs_key "$m")" = "$(jq -r .rootfs.key <<<"$output")" ]
	build --tag=t/keep:1
	[ "$status" -eq 0 ]
	[ "$(jq .rootfs.kept <<<"$output")" = true ]
	[ "$(jq -r .rootfs.path <<<"$output")" = "$(realpath "$e")" ]
	[ "$(jq -r .tag.version <<<"$output")" = 1 ]
	[ "$(stat -c '%i %Y.%y' "$e" "$m")" = "$before" ]
	[ "$(cat "$m")" = "$meta" ]
	# nothing left behind in the store's tmp/
	[ -z "$(ls -A "$FB_STORE/tmp")" ]
	# another size is another ext4
	build --tag=t/keep:1 --disk-size=96M
	[ "$status" -eq 0 ]
	[ "$(jq .rootfs.kept <<<"$output")" = null ]
	[ "$(stat -c %i "$e")" != "${before%% *}" ]
	before=$(stat -c '%i %Y.%y' "$e")
	# a changed context file: a new image, a new ext4 with it
	echo two >"$C/f"
	build --tag=t/keep:1 --disk-size=96M
	[ "$status" -eq 0 ]
	[ "$(jq .rootfs.kept <<<"$output")" = null ]
	[ "$(stat -c '%i %Y.%y' "$e")" != "$before" ]
	[ "$(cat_in t/keep:1 /f)" = two ]
	checked t/keep:1
	# a document that says kept must name the tag's own ext4, with the
	# tag's key and image
	local doc="$output"
	jq '.rootfs.kept = true' <<<"$doc" >"$BATS_TEST_TMPDIR/d1"
	run fb-tag put t/keep:2 <"$BATS_TEST_TMPDIR/d1"
	[ "$status" -eq 3 ]
	run fb-tag put t/keep:1 <"$BATS_TEST_TMPDIR/d1"
	[ "$status" -eq 0 ]
	[ "$(jq -r .tag.version <<<"$output")" = 1 ]
	jq '.rootfs.kept = true | .rootfs.path = "/etc/passwd"' <<<"$doc" >"$BATS_TEST_TMPDIR/d2"
	run fb-tag put t/keep:1 <"$BATS_TEST_TMPDIR/d2"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is not the ext4 of t/keep:1"* ]]
	jq '.rootfs.kept = true | .rootfs.key = "sha256:'"$(printf '0%.0s' $(seq 64))"'"' <<<"$doc" >"$BATS_TEST_TMPDIR/d3"
	run fb-tag put t/keep:1 <"$BATS_TEST_TMPDIR/d3"
	[ "$status" -eq 4 ]
	jq '.rootfs.kept = 1' <<<"$doc" >"$BATS_TEST_TMPDIR/d4"
	run fb-tag put t/keep:1 <"$BATS_TEST_TMPDIR/d4"
	[ "$status" -eq 2 ]
	[ "$(cat_in t/keep:1 /f)" = two ]
}

@test "SOURCE_DATE_EPOCH: two stores, one image digest (RUN writes files, COPY of files with other mtimes); RUN sees the build arg; without it, another created" {
	local c2="$D/sde-ctx2" i d
	for d in "$C" "$c2"; do
		mkdir -p "$d"
		cp /bin/busybox "$d/busybox"
		echo A >"$d/a.txt"
		echo B >"$d/b.txt"
		cat >"$d/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG SOURCE_DATE_EPOCH
COPY a.txt b.txt /files/
RUN mkdir -p /out/d && echo "epoch=$SOURCE_DATE_EPOCH" > /out/epoch && cat /files/* > /out/d/ab && ln -s d/ab /out/l
CMD ["/bin/sh"]
EOF
	done
	# the same bytes, other times (all after the epoch: clamped to it)
	touch -d '2024-05-06 07:08:09' "$C/a.txt"
	touch -d '2031-01-01' "$c2/b.txt" "$c2/busybox"
	local s1="$D/sde-store1" s2="$D/sde-store2"
	run --separate-stderr env SOURCE_DATE_EPOCH=1700000000 FB_STORE="$s1" FB_RUN_CACHE="$D/sde-run1" \
		firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/sde:1
	[ "$status" -eq 0 ]
	local one="$output"
	run --separate-stderr env -u SOURCE_DATE_EPOCH FB_STORE="$s2" FB_RUN_CACHE="$D/sde-run2" \
		firebuild rootfs --dockerfile="$c2/Dockerfile" --tag=t/sde:1 --source-date-epoch=1700000000
	[ "$status" -eq 0 ]
	[ "$(jq -r .image.digest <<<"$output")" = "$(jq -r .image.digest <<<"$one")" ]
	# created: the epoch, in the config and every history entry
	[ "$(jq -r .image.config.created <<<"$one")" = 2023-11-14T22:13:20Z ]
	[ "$(jq -r '[.image.config.history[].created] | unique | join(" ")' <<<"$one")" = 2023-11-14T22:13:20Z ]
	# RUN saw it as the build arg its stage declares
	[ "$(debugfs -R 'cat /out/epoch' "$s1/rootfs/t/sde/1/rootfs.ext4" 2>/dev/null)" = epoch=1700000000 ]
	# no host path in the config (the context's, the store's)
	local cfg
	cfg=$(jq -r .image.config_digest <<<"$one")
	! grep -q -e "$D" -e "$C" "$s1/blobs/sha256/${cfg#sha256:}"
	# another epoch: another image, and no step reused from the first
	run --separate-stderr env FB_STORE="$s1" FB_RUN_CACHE="$D/sde-run1" \
		firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/sde:2 --source-date-epoch=1700000001
	[ "$status" -eq 0 ]
	[ "$(jq -r .image.digest <<<"$output")" != "$(jq -r .image.digest <<<"$one")" ]
	[ "$(jq -r .image.config.created <<<"$output")" = 2023-11-14T22:13:21Z ]
	[ "$(steps | sort -u)" = executed ]
	# without it: the time the steps ran, so two stores differ...
	local created=()
	for i in 3 4; do
		run --separate-stderr env -u SOURCE_DATE_EPOCH FB_STORE="$D/sde-store$i" FB_RUN_CACHE="$D/sde-run$i" \
			firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/sde:1
		[ "$status" -eq 0 ]
		created+=("$(jq -r .image.config.created <<<"$output")")
		[ "${created[-1]}" != 2023-11-14T22:13:20Z ]
		[ "$(jq -r .image.digest <<<"$output")" != "$(jq -r .image.digest <<<"$one")" ]
		sleep 1.1 # created has whole seconds
	done
	[ "${created[0]}" != "${created[1]}" ]
	# ... but an unchanged rebuild keeps its image (the cached steps' times)
	run --separate-stderr env -u SOURCE_DATE_EPOCH FB_STORE="$D/sde-store4" FB_RUN_CACHE="$D/sde-run4" \
		firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/sde:1
	[ "$(jq -r .image.config.created <<<"$output")" = "${created[1]}" ]
	[ "$(jq .rootfs.kept <<<"$output")" = true ]
	# a bad epoch: exit 2 naming where it came from
	run --separate-stderr env SOURCE_DATE_EPOCH=soon FB_STORE="$s1" firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/sde:3
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"SOURCE_DATE_EPOCH=soon in the environment"* ]]
	run --separate-stderr env FB_STORE="$s1" firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/sde:3 --build-arg=SOURCE_DATE_EPOCH=1e9
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"build arg SOURCE_DATE_EPOCH=1e9"* ]]
}

@test "gc keeps the cache's layers, and the cache still hits after gc" {
	echo v >"$C/f"
	printf 'FROM fb/busybox:1\nCOPY f /f\nRUN cat /f > /g\n' >"$C/Dockerfile"
	build --tag=t/gc:1
	[ "$status" -eq 0 ]
	run fb-tag gc
	[ "$status" -eq 0 ]
	build --tag=t/gc:2
	[ "$status" -eq 0 ]
	[ "$(steps | sort -u)" = cached ]
	[ "$(cat_in t/gc:2 /g)" = v ]
}

@test "refused, nothing written outside: a context symlink to /etc, COPY ../x, a RUN escaping via /proc/1/root" {
	ln -s /etc "$C/etc-link"
	printf 'FROM scratch\nCOPY etc-link/passwd /stolen\n' >"$C/Dockerfile"
	build --tag=t/evil:1
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Dockerfile:2"*"etc-link/passwd"* ]]
	printf 'FROM scratch\nCOPY ../x /x\n' >"$C/Dockerfile"
	build --tag=t/evil:2
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"outside the build context"* ]]
	local marker="/tmp/fb-escape-$$"
	rm -f "$marker"
	printf 'FROM fb/busybox:1\nRUN echo x > /proc/1/root/../../..%s; cat /proc/1/root/etc/passwd > /seen\n' "$marker" >"$C/Dockerfile"
	build --tag=t/evil:3
	[ ! -e "$marker" ]
	# what it could see was the tree's own passwd
	if [ "$status" -eq 0 ]; then [[ "$(cat_in t/evil:3 /seen)" == root:x:0:0:root:/root:/bin/sh* ]]; fi
	# a failed RUN fails the build with its line and leaves no tag behind
	printf 'FROM fb/busybox:1\nRUN exit 7\n' >"$C/Dockerfile"
	build --tag=t/evil:4
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Dockerfile:2"*"exit code 7"* ]]
	[ ! -e "$FB_STORE/rootfs/t/evil/4" ]
	[ -z "$(ls -A "$FB_RUN_CACHE/builds")" ]
}

@test "RUN --mount: cache persists across builds, bind from the context and a stage, tmpfs, secret (not in the image)" {
	echo bound >"$C/bound.txt"
	echo s3cret >"$D/secret.txt"
	cat >"$C/Dockerfile" <<'EOF'
FROM fb/busybox:1 AS other
RUN echo from-other > /o.txt
FROM fb/busybox:1
RUN --mount=type=cache,target=/cache echo run >> /cache/count && wc -l < /cache/count > /count
RUN --mount=type=bind,source=bound.txt,target=/b.txt cat /b.txt > /bind-out
RUN --mount=type=bind,from=other,source=/o.txt,target=/o.txt cat /o.txt > /other-out
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs-out
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && test -s /run/secrets/tok && echo ok > /secret-out
EOF
	build --tag=t/mounts:1 --secret "id=tok,src=$D/secret.txt"
	[ "$status" -eq 0 ]
	checked t/mounts:1
	[ "$(cat_in t/mounts:1 /bind-out)" = bound ]
	[ "$(cat_in t/mounts:1 /other-out)" = from-other ]
	[ "$(cat_in t/mounts:1 /tmpfs-out)" = x ]
	[ "$(cat_in t/mounts:1 /secret-out)" = ok ]
	run debugfs -R 'ls /run/secrets' "$(img t/mounts:1)"
	[[ "$output" != *tok* ]]
	! grep -rq s3cret "$FB_STORE/blobs" "$FB_STORE/cache"
	run debugfs -R 'ls /scratch' "$(img t/mounts:1)"
	[[ "$output" != *" x "* ]]
	build --tag=t/mounts:2 --secret "id=tok,src=$D/secret.txt" --no-cache
	[ "$(cat_in t/mounts:2 /count)" = 2 ]
}

@test "an image base's ENV expands later instructions (unresolved at parse time)" {
	printf 'FROM fb/busybox:1\nENV P2=$PATH:/extra\nWORKDIR $PATH_DIR/w\n' >"$C/Dockerfile"
	build --tag=t/env:1
	[ "$status" -eq 0 ]
	[ "$(jq -r '.image.config.config.Env[] | select(startswith("P2="))' <<<"$output")" = "P2=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:/extra" ]
}

# A repository with a Dockerfile in a subdirectory at a tag, a branch and a
# commit, served by git daemon and git http-backend (busybox httpd CGI).
git_fixture() {
	command -v git >/dev/null || skip "git is not installed"
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
	local w="$D/gitwork"
	rm -rf "$w" "$D/repos" "$D/www"
	git init -q -b main "$w"
	mkdir -p "$w/app"
	printf 'FROM fb/busybox:1\nCOPY version.txt /version.txt\nRUN cat /version.txt > /ran.txt\n' >"$w/app/Dockerfile"
	echo tagged >"$w/app/version.txt"
	git -C "$w" add -A && git -C "$w" commit -qm one && git -C "$w" tag v1
	git -C "$w" rev-parse HEAD >"$D/commit1"
	echo commit2 >"$w/app/version.txt"
	git -C "$w" commit -qam two
	git -C "$w" rev-parse HEAD >"$D/commit2"
	git -C "$w" checkout -qb feature
	echo branch >"$w/app/version.txt"
	git -C "$w" commit -qam feature
	git -C "$w" checkout -q main
	echo main >"$w/app/version.txt"
	git -C "$w" commit -qam three
	mkdir -p "$D/repos"
	git clone -q --bare "$w" "$D/repos/app.git"
	GITPORT=$(free_port)
	git daemon --listen=127.0.0.1 --port="$GITPORT" --base-path="$D/repos" --export-all --reuseaddr \
		--pid-file="$D/git.pid" --detach "$D/repos"
	mkdir -p "$D/www/cgi-bin" "$D/www/df"
	printf '#!/bin/sh\nexport GIT_PROJECT_ROOT=%s GIT_HTTP_EXPORT_ALL=1\nexec /usr/lib/git-core/git-http-backend\n' "$D/repos" >"$D/www/cgi-bin/git"
	chmod +x "$D/www/cgi-bin/git"
	printf 'FROM fb/busybox:1\nCOPY file.txt /from-http.txt\nRUN cat /from-http.txt > /ran.txt\n' >"$D/www/df/Dockerfile"
	echo over-http >"$D/www/df/file.txt"
	HTTPPORT=$(free_port)
	busybox httpd -p "127.0.0.1:$HTTPPORT" -h "$D/www" 3>&-
	wait_http "http://127.0.0.1:$HTTPPORT/df/Dockerfile"
	local i
	for i in $(seq 1 50); do git ls-remote "git://127.0.0.1:$GITPORT/app.git" >/dev/null 2>&1 && break; sleep 0.1; done
}

git_fixture_down() {
	[ -f "$D/git.pid" ] && kill "$(cat "$D/git.pid")" 2>/dev/null
	pkill -f "busybox httpd -p 127.0.0.1:$HTTPPORT" 2>/dev/null
	true
}

@test "git and http Dockerfile sources: a tag, a branch, a commit, no ref; COPY next to an http Dockerfile" {
	git_fixture
	local ok=0
	run --separate-stderr firebuild rootfs --dockerfile="git://127.0.0.1:$GITPORT/app.git:/app/Dockerfile#v1" --tag=g/app:tag
	# a fetched context's file digests are not remembered (it is new each build)
	[ "$status" -eq 0 ] && [ "$(cat_in g/app:tag /ran.txt)" = tagged ] &&
		[ "$(jq .build.context_files <<<"$output")" = null ] && ok=$((ok + 1))
	run --separate-stderr firebuild rootfs --dockerfile="git+http://127.0.0.1:$HTTPPORT/cgi-bin/git/app.git:/app/Dockerfile#feature" --tag=g/app:branch
	[ "$status" -eq 0 ] && [ "$(cat_in g/app:branch /ran.txt)" = branch ] && ok=$((ok + 1))
	run --separate-stderr firebuild rootfs --dockerfile="git://127.0.0.1:$GITPORT/app.git:/app/Dockerfile#$(cat "$D/commit2")" --tag=g/app:commit
	[ "$status" -eq 0 ] && [ "$(cat_in g/app:commit /ran.txt)" = commit2 ] && ok=$((ok + 1))
	run --separate-stderr firebuild rootfs --dockerfile="git+http://127.0.0.1:$HTTPPORT/cgi-bin/git/app.git:/app/Dockerfile" --tag=g/app:default
	[ "$status" -eq 0 ] && [ "$(cat_in g/app:default /ran.txt)" = main ] && ok=$((ok + 1))
	run --separate-stderr firebuild rootfs --dockerfile="http://127.0.0.1:$HTTPPORT/df/Dockerfile" --tag=g/http:1
	[ "$status" -eq 0 ] && [ "$(cat_in g/http:1 /ran.txt)" = over-http ] && ok=$((ok + 1))
	checked g/http:1 && checked g/app:tag && ok=$((ok + 1))
	# the fetched sources are gone after the builds
	[ -z "$(ls -A "$FB_RUN_CACHE/sources" 2>/dev/null)" ] && ok=$((ok + 1))
	git_fixture_down
	[ "$ok" -eq 7 ]
}

@test "ADD a git repository: git:// and http://...git, #ref and #ref:subdir, --keep-git-dir; keyed on the commit" {
	git_fixture
	cat >"$C/Dockerfile" <<DF
FROM fb/busybox:1
ADD git://127.0.0.1:$GITPORT/app.git#v1 /src
ADD http://127.0.0.1:$HTTPPORT/cgi-bin/git/app.git#feature:app /feat
ADD --keep-git-dir=true git://127.0.0.1:$GITPORT/app.git /keep
RUN cat /src/app/version.txt /feat/version.txt > /seen && ls -a /keep > /keep.ls && ls -a /src > /src.ls
DF
	# the builds first, with the servers up; then the servers go; then the checks
	local s1 s2 s3 s4 e3 e4 cached
	build --tag=g/add:1
	s1=$status
	build --tag=g/add:2
	s2=$status
	cached=$(steps | sort -u)
	printf 'FROM fb/busybox:1\nADD git://127.0.0.1:%s/app.git f.txt /x/\n' "$GITPORT" >"$C/Dockerfile"
	echo f >"$C/f.txt"
	build --tag=g/add:3
	s3=$status e3=$stderr
	printf 'FROM fb/busybox:1\nADD git://127.0.0.1:%s/app.git#nosuch /x\n' "$GITPORT" >"$C/Dockerfile"
	build --tag=g/add:4
	s4=$status e4=$stderr
	git_fixture_down
	[ "$s1" -eq 0 ]
	[ "$(cat_in g/add:1 /seen)" = $'tagged\nbranch' ]
	[[ "$(cat_in g/add:1 /keep.ls)" == *".git"* ]]
	[[ "$(cat_in g/add:1 /src.ls)" != *".git"* ]]
	[ "$(cat_in g/add:1 /keep/app/version.txt)" = main ]
	checked g/add:1
	# the same commits again: every step from the cache
	[ "$s2" -eq 0 ]
	[ "$cached" = cached ]
	# a git repository shares its ADD with nothing; a missing ref is not found
	[ "$s3" -eq 2 ]
	[[ "$e3" == *"a git repository is the only source of its ADD"* ]]
	[ "$s4" -eq 3 ]
	[[ "$e4" == *'no branch, tag or commit "nosuch"'* ]]
	# nothing of the clones is left in the run cache
	[ -z "$(find "$FB_RUN_CACHE" -maxdepth 3 -name 'git-*' 2>/dev/null)" ]
}

@test "firebuild import: the tag keeps a manifest, so FROM builds on it (docker import, then a Dockerfile)" {
	mkdir -p "$C/tree/bin" "$C/tree/etc"
	cp /bin/busybox "$C/tree/bin/"
	ln -s busybox "$C/tree/bin/sh"
	echo imported >"$C/tree/etc/motd"
	tar --numeric-owner -C "$C/tree" -czf "$D/root.tar.gz" .
	rm -rf "$C/tree"
	run --separate-stderr firebuild import "$D/root.tar.gz" --tag=imp/base:1
	[ "$status" -eq 0 ]
	printf 'FROM imp/base:1\nRUN cat /etc/motd > /seen\n' >"$C/Dockerfile"
	build --tag=imp/child:1
	[ "$status" -eq 0 ]
	[ "$(cat_in imp/child:1 /seen)" = imported ]
	checked imp/child:1
	# the config's diff id is the uncompressed layer's digest
	local m cfg
	m=$(jq -r .digest "$FB_STORE/rootfs/imp/base/1/image.json")
	cfg=$(jq -r .config.digest "$FB_STORE/blobs/sha256/${m#sha256:}")
	[ "$(jq -r '.rootfs.diff_ids[0]' "$FB_STORE/blobs/sha256/${cfg#sha256:}")" = "sha256:$(gunzip -c "$D/root.tar.gz" | sha256sum | cut -d' ' -f1)" ]
}

@test "image gc trims the build cache: unused entries go with their layers, the next build runs again" {
	echo v >"$C/f"
	printf 'FROM fb/busybox:1\nCOPY f /f\nRUN cat /f > /trim\n' >"$C/Dockerfile"
	build --tag=t/trim:1
	[ "$status" -eq 0 ]
	run firebuild image rm t/trim:1
	# entries used within the max age stay
	run --separate-stderr firebuild image gc --cache-max-age=1h
	[ "$status" -eq 0 ]
	[ "$(jq .gc.cache_entries_removed <<<"$output")" = 0 ]
	build --tag=t/trim:2
	[ "$(steps | sort -u)" = cached ]
	run firebuild image rm t/trim:2
	run --separate-stderr firebuild image gc --cache-max-age=0
	[ "$status" -eq 0 ]
	[ "$(jq .gc.cache_entries_removed <<<"$output")" -gt 0 ]
	build --tag=t/trim:3
	[ "$status" -eq 0 ]
	[ "$(steps | sort -u)" = executed ]
}

@test "valgrind: a cached build of a plan (stages, RUN, metadata, ext4) is clean" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	printf 'FROM fb/busybox:1 AS b\nRUN echo built > /o\nFROM b\nRUN echo two > /t\nENV X=1\nLABEL a=b\nCMD ["/x"]\n' >"$C/Dockerfile"
	fb-parse "$C/Dockerfile" >"$C/plan.json"
	fb-mkrootfs <"$C/plan.json" >/dev/null 2>&1
	# (openat2, which trees and COPY need, is a syscall valgrind does not know)
	run --separate-stderr env "PATH=$FB_PLAIN_BIN:$PATH" valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		fb-mkrootfs --output="$C/v.ext4" <"$C/plan.json"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.build.steps[] | select(.status != "metadata") | .status] | unique' <<<"$output")" = '["cached"]' ]
	e2fsck -fn "$C/v.ext4" >/dev/null
}

@test "every image gets /sbin/fb-init at build time (through a /sbin link too); --no-init leaves it out" {
	printf 'FROM fb/busybox:1\nRUN rm -rf /sbin && mkdir -p /usr/sbin && ln -s usr/sbin /sbin\n' >"$C/Dockerfile"
	build --tag=t/init:1
	[ "$status" -eq 0 ]
	[ "$(jq .rootfs.init <<<"$output")" = true ]
	run debugfs -R 'stat /usr/sbin/fb-init' "$(img t/init:1)"
	[[ "$output" == *"Mode:  0755"* ]]
	checked t/init:1
	printf 'FROM scratch\nCOPY Dockerfile /\n' >"$C/Dockerfile"
	fb-parse "$C/Dockerfile" | fb-mkrootfs --context="$C" --no-init --output="$C/n.ext4" >"$C/out.json" 2>/dev/null
	[ "$(jq .rootfs.init "$C/out.json")" = false ]
	run debugfs -R 'stat /sbin/fb-init' "$C/n.ext4"
	[[ "$output" == *"not found"* ]] || [[ "$stderr" == *"not found"* ]]
}

@test "device nodes from an image layer (firebuild import) and an ADD-ed tar: RUN cannot read the host's device; the nodes stay in the image" {
	host_disk
	local min=${LOOP#/dev/loop}
	mkdir -p "$C/tree/bin"
	cp /bin/busybox "$C/tree/bin/"
	ln -s busybox "$C/tree/bin/sh"
	mknod "$C/tree/disk" b 7 "$min"
	tar --numeric-owner -C "$C/tree" -czf "$D/devroot.tar.gz" .
	rm -rf "$C/tree"
	run --separate-stderr firebuild import "$D/devroot.tar.gz" --tag=imp/dev:1
	[ "$status" -eq 0 ]
	echo "b disk2 7 $min" | python3 "$BATS_TEST_DIRNAME/mklayer.py" "$C/dev.tar"
	cat >"$C/Dockerfile" <<'EOF'
FROM imp/dev:1
ADD dev.tar /
RUN for d in /disk /disk2; do head -c 16 $d || echo "$d refused"; done > /result 2>/dev/null
EOF
	build --tag=t/dev:1
	[ "$status" -eq 0 ]
	run cat_in t/dev:1 /result
	[[ "$output" != *SECRET* ]]
	[[ "$output" == *"/disk refused"*"/disk2 refused"* ]]
	# the nodes are the image's, as metadata
	debugfs -R "stat /disk2" "$(img t/dev:1)" 2>/dev/null | grep -q "Type: block special"
	checked t/dev:1
}

@test "kill -9 of fb-mkrootfs mid-RUN: no sandbox process outlives it; the next build and purge remove its tree" {
	local tok=$((700000 + RANDOM)) f mk tree
	printf 'FROM fb/busybox:1\nRUN touch /started-%s && sleep %s\n' "$tok" "$tok" >"$C/Dockerfile"
	firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/k9:1 >/dev/null 2>&1 3>&- &
	BG=$!
	f=$(wait_in_tree "started-$tok")
	tree=${f%/tree-*}
	mk=$(pgrep -P "$BG" -x fb-mkrootfs)
	[ -n "$mk" ]
	kill -9 "$mk"
	wait "$BG" || true
	BG=
	wait_gone "sleep $tok"
	[ -d "$tree" ] # left: nobody was there to remove it
	# the next build sweeps it (a running build's directory is locked)
	printf 'FROM fb/busybox:1\nRUN echo next > /n\n' >"$C/Dockerfile"
	build --tag=t/k9:2
	[ "$status" -eq 0 ]
	[ ! -e "$tree" ]
	# and purge does too
	tok=$((tok + 1))
	printf 'FROM fb/busybox:1\nRUN touch /started-%s && sleep %s\n' "$tok" "$tok" >"$C/Dockerfile"
	firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/k9:3 >/dev/null 2>&1 3>&- &
	BG=$!
	f=$(wait_in_tree "started-$tok")
	tree=${f%/tree-*}
	mk=$(pgrep -P "$BG" -x fb-mkrootfs)
	kill -9 "$mk"
	wait "$BG" || true
	BG=
	wait_gone "sleep $tok"
	run --separate-stderr firebuild purge
	[ "$status" -eq 0 ]
	[ "$(jq -r '.builds[]' <<<"$output")" = "$(basename "$tree")" ]
	[ ! -e "$tree" ]
}

@test "kill -9 of the firebuild dispatcher: its pipeline ends with it, nothing is tagged" {
	local tok=$((700000 + RANDOM)) f kids k i alive
	printf 'FROM fb/busybox:1\nRUN touch /started-%s && while [ ! -e /go ]; do sleep 0.1; done\n' "$tok" >"$C/Dockerfile"
	firebuild rootfs --dockerfile="$C/Dockerfile" --tag=t/orphan:1 >/dev/null 2>&1 3>&- &
	BG=$!
	f=$(wait_in_tree "started-$tok")
	kids=$(pgrep -P "$BG")
	[ -n "$kids" ]
	kill -9 "$BG"
	wait "$BG" || true
	BG=
	# were the RUN still there, it could finish now and the tag be made
	touch "$(dirname "$f")/go"
	for i in $(seq 150); do
		alive=
		for k in $kids; do kill -0 "$k" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	[ -z "$alive" ]
	[ ! -e "$FB_STORE/rootfs/t/orphan/1" ]
	run firebuild image inspect t/orphan:1
	[ "$status" -eq 3 ]
}
