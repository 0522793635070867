#!/usr/bin/env bats
# Build fidelity: where a Dockerfile's result is Docker's (BuildKit's), not
# just "something that works". One test a point of issue 13, each reading
# the image back exactly (debugfs on the ext4, the config). The reasons and
# BuildKit's code for each are in docs/compatibility.md.

load helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "builds need root (RUN runs in namespaces, owners need chown)"
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

build() { # build [firebuild rootfs flags]: the context is $C; $output is the document
	run --separate-stderr firebuild rootfs --dockerfile="$C/Dockerfile" "$@"
	if [ "$status" -ne 0 ]; then echo "# $stderr" >&3; fi
}

img() { echo "$FB_STORE/rootfs/${1%:*}/${1#*:}/rootfs.ext4"; }

cat_in() { debugfs -R "cat $2" "$(img "$1")" 2>/dev/null; }

# stat_in TAG PATH: "mode uid gid" (the mode in octal, as debugfs shows it)
stat_in() {
	debugfs -R "stat $2" "$(img "$1")" 2>/dev/null |
		sed -n 's/.*Mode: *\([0-7]*\).*/\1/p; s/^User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1 \2/p' | tr '\n' ' ' | sed 's/ $//'
}

inode_in() { debugfs -R "stat $2" "$(img "$1")" 2>/dev/null | sed -n 's/^Inode: *\([0-9]*\).*/\1/p'; }

links_in() { debugfs -R "stat $2" "$(img "$1")" 2>/dev/null | sed -n 's/^Links: *\([0-9]*\).*/\1/p'; }

# mtime_in TAG PATH: "0xSECONDS:0xEXTRA" as ext4 keeps it (EXTRA = nanoseconds << 2)
mtime_in() { debugfs -R "stat $2" "$(img "$1")" 2>/dev/null | sed -n 's/^ *mtime: \(0x[0-9a-f]*:[0-9a-f]*\).*/\1/p'; }

# the mtime debugfs shows for SECONDS.NANOSECONDS
mtime_of() { printf '0x%08x:%08x' "$1" $(($2 << 2)); }

checked() { e2fsck -fn "$(img "$1")" >/dev/null 2>&1; }

APP_USER="RUN echo 'app:x:1000:1001:app:/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1001:' >> /etc/group && echo 'staff:x:50:app' >> /etc/group && mkdir -p /home/app && chown 1000:1001 /home/app"

@test "1. a wildcard that matches nothing adds nothing (COPY package.json yarn.lock* ./); a missing path still fails" {
	echo '{}' >"$C/package.json"
	printf 'FROM scratch\nWORKDIR /app\nCOPY package.json yarn.lock* ./\nCOPY nomatch* /none/\n' >"$C/Dockerfile"
	build --tag=c/wild:1
	[ "$status" -eq 0 ]
	checked c/wild:1
	[ "$(cat_in c/wild:1 /app/package.json)" = '{}' ]
	run debugfs -R 'ls /app' "$(img c/wild:1)"
	[[ "$output" != *yarn* ]]
	# a destination of a copy with nothing to copy is not made (BuildKit returns early)
	[[ "$(debugfs -R 'stat /none' "$(img c/wild:1)" 2>&1)" == *"File not found"* ]]
	# the lock file there: copied
	echo lock >"$C/yarn.lock"
	build --tag=c/wild:2
	[ "$status" -eq 0 ]
	[ "$(cat_in c/wild:2 /app/yarn.lock)" = lock ]
	# a source without a wildcard must be there
	printf 'FROM scratch\nCOPY package.json missing.txt /app/\n' >"$C/Dockerfile"
	build --tag=c/wild:3
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Dockerfile:2"*"missing.txt"*"not found"* ]]
}

@test "2. WORKDIR after USER makes the missing directories as that user (uid and gid); RUN can write there" {
	cat >"$C/Dockerfile" <<EOF
FROM fb/busybox:1
$APP_USER
USER app
WORKDIR /app/data
RUN touch made-here && id -u > uid
USER 4242
WORKDIR /num/sub
USER app:staff
WORKDIR /grouped
USER root
WORKDIR /app/data/deeper
EOF
	build --tag=c/workdir:1
	[ "$status" -eq 0 ]
	checked c/workdir:1
	[ "$(stat_in c/workdir:1 /app)" = "0755 1000 1001" ]
	[ "$(stat_in c/workdir:1 /app/data)" = "0755 1000 1001" ]
	[ "$(stat_in c/workdir:1 /app/data/made-here)" = "0644 1000 1001" ]
	[ "$(cat_in c/workdir:1 /app/data/uid)" = 1000 ]
	# a uid alone is also the gid of what WORKDIR makes (BuildKit's chown by id)
	[ "$(stat_in c/workdir:1 /num)" = "0755 4242 4242" ]
	[ "$(stat_in c/workdir:1 /num/sub)" = "0755 4242 4242" ]
	[ "$(stat_in c/workdir:1 /grouped)" = "0755 1000 50" ]
	# only what is missing is made: /app/data stays app's, deeper is root's
	[ "$(stat_in c/workdir:1 /app/data/deeper)" = "0755 0 0" ]
	[ "$(jq -r .image.config.config.WorkingDir <<<"$output")" = /app/data/deeper ]
}

@test "3. COPY --from a stage or an image keeps the source's owners; the context's files become root's" {
	cat >"$C/Dockerfile.src" <<'EOF'
FROM fb/busybox:1
RUN mkdir -p /out/d && echo x > /out/d/f && chown -R 1234:5678 /out && chown 42:43 /out/d/f && ln -s f /out/d/l && chown -h 7:8 /out/d/l
EOF
	run --separate-stderr firebuild rootfs --dockerfile="$C/Dockerfile.src" --tag=c/src:1
	[ "$status" -eq 0 ]
	echo ctx >"$C/ctx.txt"
	chown 777:888 "$C/ctx.txt"
	cat >"$C/Dockerfile" <<'EOF'
FROM fb/busybox:1 AS stage
RUN mkdir /s && echo s > /s/file && chown 99:98 /s/file
FROM fb/busybox:1
COPY --from=stage /s /from-stage/
COPY --from=c/src:1 /out /from-image/
COPY --from=c/src:1 /out/d/f /single
COPY --from=stage --chown=5:6 /s /chowned/
COPY ctx.txt /ctx.txt
EOF
	build --tag=c/from:1
	[ "$status" -eq 0 ]
	checked c/from:1
	[ "$(stat_in c/from:1 /from-stage/file)" = "0644 99 98" ]
	[ "$(stat_in c/from:1 /from-image/d)" = "0755 1234 5678" ]
	[ "$(stat_in c/from:1 /from-image/d/f)" = "0644 42 43" ]
	[ "$(stat_in c/from:1 /from-image/d/l | cut -d' ' -f2-)" = "7 8" ]
	[ "$(stat_in c/from:1 /single)" = "0644 42 43" ]
	# the destination itself is made, not copied: root's
	[ "$(stat_in c/from:1 /from-image)" = "0755 0 0" ]
	[ "$(stat_in c/from:1 /chowned/file)" = "0644 5 6" ]
	[ "$(stat_in c/from:1 /ctx.txt)" = "0644 0 0" ]
}

@test "4. .dockerignore: an exception under an excluded directory (secret/ then !secret/public) is copied, with its parent" {
	mkdir -p "$C/secret/public/deep" "$C/other"
	echo pub >"$C/secret/public/readme"
	echo deep >"$C/secret/public/deep/x"
	echo key >"$C/secret/private.key"
	echo o >"$C/other/o"
	chmod 0750 "$C/secret"
	printf 'secret/\n!secret/public\nother\n' >"$C/.dockerignore"
	printf 'FROM scratch\nCOPY . /ctx/\nCOPY secret /named/\n' >"$C/Dockerfile"
	build --tag=c/ignore:1
	[ "$status" -eq 0 ]
	checked c/ignore:1
	[ "$(cat_in c/ignore:1 /ctx/secret/public/readme)" = pub ]
	[ "$(cat_in c/ignore:1 /ctx/secret/public/deep/x)" = deep ]
	run debugfs -R 'ls /ctx/secret' "$(img c/ignore:1)"
	[[ "$output" != *private.key* ]]
	run debugfs -R 'ls /ctx' "$(img c/ignore:1)"
	[[ "$output" != *other* ]]
	# the excluded directory comes as the parent of what came back: its own mode
	[ "$(stat_in c/ignore:1 /ctx/secret)" = "0750 0 0" ]
	[ "$(cat_in c/ignore:1 /named/public/readme)" = pub ]
	run debugfs -R 'ls /named' "$(img c/ignore:1)"
	[[ "$output" != *private.key* ]]
	# the cache follows: a change inside the exception is seen, one outside it is not
	build --tag=c/ignore:2
	[ "$(jq -r '[.build.steps[] | select(.status == "executed")] | length' <<<"$output")" = 0 ]
	echo changed >"$C/secret/private.key"
	build --tag=c/ignore:3
	[ "$(jq -r '[.build.steps[] | select(.status == "executed")] | length' <<<"$output")" = 0 ]
	echo changed >"$C/secret/public/readme"
	build --tag=c/ignore:4
	[ "$(jq -r '[.build.steps[] | select(.status == "executed")] | length' <<<"$output")" = 2 ]
}

@test "5. USER with a uid not in /etc/passwd runs with group 0; an explicit group wins; a named user gets its groups" {
	cat >"$C/Dockerfile" <<EOF
FROM fb/busybox:1
$APP_USER
USER 4242
RUN id -u > /tmp/u && id -g > /tmp/g && id -G > /tmp/G
USER 4242:77
RUN id -g > /tmp/g2 && id -G > /tmp/G2
USER app
RUN id -g > /tmp/g3 && id -G > /tmp/G3
USER 1000:staff
RUN id -G > /tmp/G4
EOF
	build --tag=c/user:1
	[ "$status" -eq 0 ]
	[ "$(cat_in c/user:1 /tmp/u)" = 4242 ]
	[ "$(cat_in c/user:1 /tmp/g)" = 0 ]
	[ "$(cat_in c/user:1 /tmp/G)" = 0 ]
	[ "$(stat_in c/user:1 /tmp/u | cut -d' ' -f2-)" = "4242 0" ]
	[ "$(cat_in c/user:1 /tmp/g2)" = 77 ]
	[ "$(cat_in c/user:1 /tmp/G2)" = 77 ]
	[ "$(cat_in c/user:1 /tmp/g3)" = 1001 ]
	[ "$(cat_in c/user:1 /tmp/G3)" = "1001 50" ]
	# an explicit group: no supplementary groups (runc's GetExecUser)
	[ "$(cat_in c/user:1 /tmp/G4)" = 50 ]
}

@test "6. RUN's HOME comes from the user's passwd entry (/root for root), / without one; ENV HOME wins" {
	cat >"$C/Dockerfile" <<EOF
FROM fb/busybox:1
$APP_USER
RUN echo "\$HOME" > /h-root && cd && pwd > /h-cd
USER app
RUN echo "\$HOME" > /tmp/h-app
USER 4242
RUN echo "\$HOME" > /tmp/h-num
USER 0
RUN echo "\$HOME" > /h-zero
ENV HOME=/custom
RUN echo "\$HOME" > /h-env
EOF
	build --tag=c/home:1
	[ "$status" -eq 0 ]
	[ "$(cat_in c/home:1 /h-root)" = /root ]
	[ "$(cat_in c/home:1 /h-cd)" = /root ]
	[ "$(cat_in c/home:1 /tmp/h-app)" = /home/app ]
	[ "$(cat_in c/home:1 /tmp/h-num)" = / ]
	[ "$(cat_in c/home:1 /h-zero)" = /root ]
	[ "$(cat_in c/home:1 /h-env)" = /custom ]
	# nothing was written at the image's root by a tool that uses HOME
	run debugfs -R 'ls /' "$(img c/home:1)"
	[[ "$output" != *".cache"* ]]
}

@test "7. ADD --chown of a local archive: the directories it makes and what it extracts get the owner, as COPY --chown" {
	mkdir -p "$C/t/pkg/d"
	echo inside >"$C/t/pkg/file"
	tar -C "$C/t" --owner=99 --group=98 -czf "$C/pkg.tar.gz" pkg
	# an archive whose ./ is 0700 does not change the directory it goes into
	chmod 0700 "$C/t"
	tar -C "$C/t" -czf "$C/dot.tar.gz" .
	rm -rf "$C/t"
	cat >"$C/Dockerfile" <<EOF
FROM fb/busybox:1
$APP_USER
ADD --chown=app pkg.tar.gz /opt/a/b/
COPY --chown=app pkg.tar.gz /copied/a/b/
ADD pkg.tar.gz /plain/
ADD dot.tar.gz /dot/
EOF
	build --tag=c/add:1
	[ "$status" -eq 0 ]
	checked c/add:1
	[ "$(stat_in c/add:1 /opt/a)" = "0755 1000 1001" ]
	[ "$(stat_in c/add:1 /opt/a/b)" = "0755 1000 1001" ]
	[ "$(stat_in c/add:1 /opt/a/b/pkg)" = "0755 1000 1001" ]
	[ "$(stat_in c/add:1 /opt/a/b/pkg/file)" = "0644 1000 1001" ]
	[ "$(cat_in c/add:1 /opt/a/b/pkg/file)" = inside ]
	# as COPY --chown makes them
	[ "$(stat_in c/add:1 /copied/a)" = "0755 1000 1001" ]
	# without --chown the archive's owners stay
	[ "$(stat_in c/add:1 /plain/pkg/file)" = "0644 99 98" ]
	[ "$(stat_in c/add:1 /plain)" = "0755 0 0" ]
	[ "$(stat_in c/add:1 /dot)" = "0755 0 0" ]
}

@test "8. hard links in the context stay hard links within one COPY source" {
	mkdir -p "$C/links/sub"
	echo same >"$C/links/h1"
	ln "$C/links/h1" "$C/links/h2"
	ln "$C/links/h1" "$C/links/sub/h3"
	echo other >"$C/links/other"
	printf 'FROM scratch\nCOPY links /l/\nCOPY links/h1 links/h2 /sep/\n' >"$C/Dockerfile"
	build --tag=c/links:1
	[ "$status" -eq 0 ]
	checked c/links:1
	local i1
	i1=$(inode_in c/links:1 /l/h1)
	[ -n "$i1" ]
	[ "$(inode_in c/links:1 /l/h2)" = "$i1" ]
	[ "$(inode_in c/links:1 /l/sub/h3)" = "$i1" ]
	[ "$(links_in c/links:1 /l/h1)" = 3 ]
	[ "$(inode_in c/links:1 /l/other)" != "$i1" ]
	[ "$(cat_in c/links:1 /l/sub/h3)" = same ]
	# two sources are two copies (BuildKit's copier keeps groups within a source)
	[ "$(inode_in c/links:1 /sep/h1)" != "$(inode_in c/links:1 /sep/h2)" ]
	[ "$(links_in c/links:1 /sep/h1)" = 1 ]
	# the cache key sees the grouping: a link turned into a copy runs again
	rm "$C/links/h2"
	echo same >"$C/links/h2"
	build --tag=c/links:2
	[ "$status" -eq 0 ]
	[ "$(jq -r '.build.steps[0].status' <<<"$output")" = executed ]
	[ "$(links_in c/links:2 /l/h2)" = 1 ]
}

@test "9. copied files and directories keep the source's times to the nanosecond, through the layer and into ext4" {
	mkdir -p "$C/dir/sub"
	echo f >"$C/dir/sub/f"
	echo g >"$C/file"
	touch -d '@1612325106.123456789' "$C/dir/sub/f" "$C/file"
	touch -d '@1577934245.500000001' "$C/dir/sub"
	touch -d '@1500000000.000000007' "$C/dir"
	printf 'FROM fb/busybox:1\nRUN mkdir /have\nCOPY dir /new\nCOPY dir /have/\nCOPY file /f\n' >"$C/Dockerfile"
	build --tag=c/times:1
	[ "$status" -eq 0 ]
	checked c/times:1
	[ "$(mtime_in c/times:1 /f)" = "$(mtime_of 1612325106 123456789)" ]
	[ "$(mtime_in c/times:1 /new/sub/f)" = "$(mtime_of 1612325106 123456789)" ]
	[ "$(mtime_in c/times:1 /new/sub)" = "$(mtime_of 1577934245 500000001)" ]
	# the destination directory (made, or there already) takes the source directory's times
	[ "$(mtime_in c/times:1 /new)" = "$(mtime_of 1500000000 7)" ]
	[ "$(mtime_in c/times:1 /have)" = "$(mtime_of 1500000000 7)" ]
	# a stage built on it (its layers applied to a tree) keeps them too
	printf 'FROM c/times:1 AS s\nRUN true\nFROM scratch\nCOPY --from=s /new /again\n' >"$C/Dockerfile"
	build --tag=c/times:2
	[ "$status" -eq 0 ]
	[ "$(mtime_in c/times:2 /again/sub/f)" = "$(mtime_of 1612325106 123456789)" ]
	[ "$(mtime_in c/times:2 /again/sub)" = "$(mtime_of 1577934245 500000001)" ]
}

@test "COPY --chmod=751 dir /dst/: the destination made gets the mode (its missing parents too), one already there keeps its own" {
	mkdir -p "$C/dir/sub"
	echo f >"$C/dir/sub/f"
	echo g >"$C/dir/g"
	chmod 0700 "$C/dir"
	printf 'FROM fb/busybox:1\nRUN mkdir -m 0710 /have\nCOPY --chmod=751 dir /dst/\nCOPY --chmod=751 dir /p/q/\nCOPY --chmod=751 dir /have/\nCOPY dir /plain\n' >"$C/Dockerfile"
	build --tag=c/chmod:1
	[ "$status" -eq 0 ]
	checked c/chmod:1
	[ "$(stat_in c/chmod:1 /dst)" = "0751 0 0" ]
	[ "$(stat_in c/chmod:1 /dst/sub)" = "0751 0 0" ]
	[ "$(stat_in c/chmod:1 /dst/sub/f)" = "0751 0 0" ]
	[ "$(stat_in c/chmod:1 /dst/g)" = "0751 0 0" ]
	[ "$(stat_in c/chmod:1 /p)" = "0751 0 0" ]
	[ "$(stat_in c/chmod:1 /p/q)" = "0751 0 0" ]
	[ "$(stat_in c/chmod:1 /have)" = "0710 0 0" ]
	[ "$(stat_in c/chmod:1 /have/sub)" = "0751 0 0" ]
	# without --chmod the destination made is 0755 whatever the source directory's mode
	[ "$(stat_in c/chmod:1 /plain)" = "0755 0 0" ]
}

@test "a directory is not copied onto a symbolic link or a file (BuildKit refuses it: cannot copy to non-directory)" {
	mkdir -p "$C/root/etc/service"
	echo x >"$C/root/etc/service/run"
	printf 'FROM fb/busybox:1\nRUN mkdir -p /real && ln -s /real /etc/service\nCOPY root /\n' >"$C/Dockerfile"
	build --tag=c/nondir:1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"Dockerfile:3"*"/etc/service, which is not a directory"* ]]
	# a file into it, through the link, is fine
	printf 'FROM fb/busybox:1\nRUN mkdir -p /real && ln -s /real /etc/service\nCOPY root/etc/service/run /etc/service/\n' >"$C/Dockerfile"
	build --tag=c/nondir:2
	[ "$status" -eq 0 ]
	[ "$(cat_in c/nondir:2 /real/run)" = x ]
	[[ "$(debugfs -R 'stat /etc/service' "$(img c/nondir:2)" 2>/dev/null)" == *"Type: symlink"* ]]
}

@test "a context file's extended attributes (a file capability) come with COPY, through the layer into ext4" {
	command -v setcap >/dev/null || skip "setcap (libcap2-bin) is not installed"
	cp /bin/busybox "$C/ping"
	setcap cap_net_raw+ep "$C/ping"
	printf 'FROM scratch\nCOPY ping /bin/ping\nCOPY --chown=1:2 ping /bin/ping2\n' >"$C/Dockerfile"
	build --tag=c/xattr:1
	[ "$status" -eq 0 ]
	checked c/xattr:1
	run debugfs -R 'ea_list /bin/ping' "$(img c/xattr:1)"
	[[ "$output" == *"security.capability"* ]]
	# set after the owner: a chown would have dropped it
	run debugfs -R 'ea_list /bin/ping2' "$(img c/xattr:1)"
	[[ "$output" == *"security.capability"* ]]
	[ "$(stat_in c/xattr:1 /bin/ping2)" = "0755 1 2" ]
}

@test "a file COPY'd onto a path that is a symbolic link writes through it (BuildKit resolves the destination); the link stays" {
	echo Europe/Paris >"$C/localtime"
	cat >"$C/Dockerfile" <<'EOF2'
FROM fb/busybox:1
RUN mkdir -p /usr/share/zone && echo utc > /usr/share/zone/UTC && ln -s /usr/share/zone/UTC /etc/localtime \
 && ln -s ../opt/later/conf /etc/app.conf && mkdir /etc/conf.d && ln -s ../localtime /etc/conf.d/localtime
COPY localtime /etc/localtime
COPY localtime /etc/app.conf
COPY localtime /etc/conf.d/
EOF2
	build --tag=c/through:1
	[ "$status" -eq 0 ]
	checked c/through:1
	[ "$(cat_in c/through:1 /usr/share/zone/UTC)" = Europe/Paris ]
	[[ "$(debugfs -R 'stat /etc/localtime' "$(img c/through:1)" 2>/dev/null)" == *"Type: symlink"* ]]
	# a link to nothing yet: the file is made where it leads
	[ "$(cat_in c/through:1 /opt/later/conf)" = Europe/Paris ]
	# into a directory, a link of the file's name is replaced by the file
	[[ "$(debugfs -R 'stat /etc/conf.d/localtime' "$(img c/through:1)" 2>/dev/null)" == *"Type: regular"* ]]
}
