#!/usr/bin/env bats
# fb-tag's contract from the outside: put moves only an ext4 image from
# where images are made (the store's tmp/, the run cache, --move-from),
# refuses anything else with exit 2 and leaves it where it was; get,
# inspect, rm, ls and their exit codes; error documents pass through.

load helpers

setup() {
	T=$(mktemp -d)
	export FB_STORE=$T/store FB_RUN_CACHE=$T/rc
	mkdir -p "$FB_STORE/tmp" "$FB_RUN_CACHE" "$T/out"
}

teardown() {
	rm -rf "$T"
}

ext4() { # ext4 PATH: a small, valid ext4 image
	mkdir -p "$(dirname "$1")"
	mke2fs -q -F -t ext4 "$1" 8M
}

doc() { # doc PATH: what fb-mkrootfs hands over
	jq -nc --arg p "$1" '{rootfs: {path: $p, size: 1}}'
}

# What a file or directory is: inode, type, size, and for a directory
# its listing; equal before and after means it was not touched.
state() {
	stat -c '%i %F %s' "$1"
	[ -d "$1" ] && ls -la "$1" | tail -n +2
	return 0
}

# refuse PATH MESSAGE-PART [FLAGS...]: put must fail with 2 naming the
# path, and leave the path and the store's tags as they were
refuse() {
	local path=$1 msg=$2
	shift 2
	local before
	before=$(state "$path")
	run_split fb-tag "$@" put hostile/x:1 <<<"$(doc "$path")"
	[ "$status" -eq 2 ] || { echo "$path: status $status: $stderr"; return 1; }
	[[ "$stderr" == *".rootfs.path: "*"$msg"* ]] || { echo "$path: $stderr"; return 1; }
	[ "$(jq -r .error.kind <<<"$output")" = invalid ]
	[ "$(state "$path")" = "$before" ] || { echo "$path: touched"; return 1; }
	[ ! -e "$FB_STORE/rootfs/hostile" ] || { echo "$path: a tag was made"; return 1; }
}

@test "put moves fb-mkrootfs's output from the store's tmp/ into the tag" {
	python3 "$BATS_TEST_DIRNAME/mklayer.py" "$T/l.tar" <<<'f etc/hostname data=tagged'
	fb-mkrootfs --layer "$T/l.tar" >"$T/doc" 2>/dev/null
	local src
	src=$(jq -r .rootfs.path "$T/doc")
	[[ "$src" == "$FB_STORE/tmp/rootfs-"*/rootfs.ext4 ]]
	run_split fb-tag put acme/app:1 <"$T/doc"
	[ "$status" -eq 0 ]
	[ "$(jq -r .rootfs.path <<<"$output")" = "$FB_STORE/rootfs/acme/app/1/rootfs.ext4" ]
	json_eq "$(jq -c '.tag | {name, version, path}' <<<"$output")" \
		"{\"name\":\"acme/app\",\"version\":\"1\",\"path\":\"$FB_STORE/rootfs/acme/app/1\"}"
	[ ! -e "$src" ]
	[ ! -e "$(dirname "$src")" ] # fb-mkrootfs's directory goes with it
	run e2fsck -fn "$FB_STORE/rootfs/acme/app/1/rootfs.ext4"
	[ "$status" -eq 0 ]
	run_split fb-tag get acme/app:1
	[ "$status" -eq 0 ]
	[ "$(jq -r .image.rootfs <<<"$output")" = "$FB_STORE/rootfs/acme/app/1/rootfs.ext4" ]
}

@test "put refuses what is not an ext4 image it may move, and touches nothing" {
	# host directories and files, wherever they are
	mkdir -p "$T/hostetc" && echo root >"$T/hostetc/passwd"
	refuse "$T/hostetc" "not under the store's tmp/ or the run cache; give --move-from"
	refuse "$T/hostetc/passwd" "give --move-from"
	refuse "$T/hostetc" "not a regular file" --move-from "$T"
	refuse "$T/hostetc/passwd" "not an ext4 image" --move-from "$T"
	mkdir -p "$FB_STORE/tmp/dir"
	refuse "$FB_STORE/tmp/dir" "not a regular file"
	# not ext4, or not whole
	head -c 2000000 /dev/urandom >"$FB_STORE/tmp/random.ext4"
	refuse "$FB_STORE/tmp/random.ext4" "not an ext4 image"
	ext4 "$FB_STORE/tmp/cut.ext4"
	truncate -s 1M "$FB_STORE/tmp/cut.ext4"
	refuse "$FB_STORE/tmp/cut.ext4" "a truncated ext4 image"
	mkfifo "$FB_STORE/tmp/fifo"
	refuse "$FB_STORE/tmp/fifo" "not a regular file"
	# links: a symbolic link where the file should be, a directory that is
	# a link to elsewhere, a second name of a file
	ext4 "$T/out/good.ext4"
	ln -s "$T/out/good.ext4" "$FB_STORE/tmp/link.ext4"
	refuse "$FB_STORE/tmp/link.ext4" "a symbolic link"
	ln -s "$T/out" "$FB_RUN_CACHE/builds"
	refuse "$FB_RUN_CACHE/builds/good.ext4" "not under the store's tmp/ or the run cache"
	ln "$T/out/good.ext4" "$FB_STORE/tmp/second.ext4"
	refuse "$FB_STORE/tmp/second.ext4" "has 2 names"
	[ -f "$T/out/good.ext4" ]
	# the run cache's runs/ (VMs' disks) and the store's own files
	ext4 "$FB_RUN_CACHE/runs/vm1/rootfs.ext4"
	refuse "$FB_RUN_CACHE/runs/vm1/rootfs.ext4" "not under the store's tmp/ or the run cache"
	ext4 "$FB_STORE/tmp/mine.ext4"
	run_split fb-tag put acme/kept:1 <<<"$(doc "$FB_STORE/tmp/mine.ext4")"
	[ "$status" -eq 0 ]
	FB_RUN_CACHE=$T refuse "$FB_STORE/rootfs/acme/kept/1/rootfs.ext4" "a file of the store itself"
	refuse "$FB_STORE/rootfs/acme/kept/1/rootfs.ext4" "a file of the store itself" --move-from "$FB_STORE"
	refuse "$FB_STORE/rootfs/acme/kept/1/rootfs.ext4" "a file of the store itself" --move-from /
	run_split fb-tag get acme/kept:1
	[ "$status" -eq 0 ]
}

@test "put: --move-from DIR allows a directory of one's own; the run cache is allowed" {
	ext4 "$T/out/sub/a.ext4"
	run_split fb-tag put acme/a:1 <<<"$(doc "$T/out/sub/a.ext4")"
	[ "$status" -eq 2 ]
	[ -f "$T/out/sub/a.ext4" ]
	run_split fb-tag --move-from "$T/elsewhere" --move-from "$T/out" put acme/a:1 <<<"$(doc "$T/out/sub/a.ext4")"
	[ "$status" -eq 0 ]
	[ ! -e "$T/out/sub/a.ext4" ]
	[ -f "$FB_STORE/rootfs/acme/a/1/rootfs.ext4" ]
	# a relative path, from a directory allowed
	ext4 "$T/out/rel.ext4"
	(cd "$T/out" && fb-tag --move-from . put acme/rel:1 <<<"$(doc rel.ext4)" >/dev/null 2>&1)
	[ -f "$FB_STORE/rootfs/acme/rel/1/rootfs.ext4" ]
	ext4 "$FB_RUN_CACHE/builds/b.ext4"
	run_split fb-tag put acme/b:1 <<<"$(doc "$FB_RUN_CACHE/builds/b.ext4")"
	[ "$status" -eq 0 ]
	[ ! -e "$FB_RUN_CACHE/builds/b.ext4" ]
	run_split fb-tag ls
	[ "$(jq -r '[.images[].name] | join(",")' <<<"$output")" = "acme/a,acme/b,acme/rel" ]
}

@test "exit codes: missing tags and files are 3, bad input is 2, an error document passes through" {
	run_split fb-tag get acme/none:1
	[ "$status" -eq 3 ]
	[ "$(jq -r .error.kind <<<"$output")" = not_found ]
	run_split fb-tag inspect acme/none:1
	[ "$status" -eq 3 ]
	run_split fb-tag rm acme/none:1
	[ "$status" -eq 3 ]
	run_split fb-tag put acme/none:1 <<<"$(doc "$FB_STORE/tmp/missing.ext4")"
	[ "$status" -eq 3 ]
	run_split fb-tag put acme/x:1 <<<'{"nothing":1}'
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"no .rootfs"* ]]
	run_split fb-tag put 'Bad/Name:1' <<<"$(doc "$FB_STORE/tmp/x.ext4")"
	[ "$status" -eq 2 ]
	run_split fb-tag put acme/x:1 <<<'{"error":{"tool":"fb-mkrootfs","kind":"io","message":"disk full"}}'
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.tool <<<"$output")" = fb-mkrootfs ]
	run_split fb-tag ls
	[ "$status" -eq 0 ]
	[ "$(jq -c .images <<<"$output")" = "[]" ]
	run_split fb-tag frobnicate
	[ "$status" -eq 2 ]
}
