#!/usr/bin/env bats
# fb-fetch image against Debian's docker-registry on 127.0.0.1 (open, basic
# auth, token auth), docker-archive/oci inputs made by skopeo, and the whole
# `firebuild rootfs --docker-image` path to a checked ext4.

load helpers
load registry

setup_file() {
	need_registry_tools
	export FILE_TMP
	FILE_TMP=$(mktemp -d)
	start_registry "$FILE_TMP/open" open
	export REG REGDIR
	# the base image: a umoci layer, then crafted layers of every kind
	local L="$FILE_TMP/oci"
	new_image "$L" base
	mkdir -p "$FILE_TMP/bundle"
	umoci unpack --image "$L:base" "$FILE_TMP/bundle" >/dev/null
	mkdir -p "$FILE_TMP/bundle/rootfs/etc" "$FILE_TMP/bundle/rootfs/bin"
	echo "from umoci" >"$FILE_TMP/bundle/rootfs/etc/umoci"
	echo "to be whited out" >"$FILE_TMP/bundle/rootfs/etc/gone"
	cp /bin/busybox "$FILE_TMP/bundle/rootfs/bin/busybox"
	umoci repack --refresh-bundle --image "$L:base" "$FILE_TMP/bundle" >/dev/null
	rm -rf "$FILE_TMP/bundle"
	add_layer "$L" base "$FILE_TMP/l2.tar.gz" <<'SPEC'
f etc/.wh.gone
d opq mode=0750 uid=1000 gid=1000
f opq/kept data=kept
f bin/su mode=04755 data=setuid
h bin/hard bin/busybox
l bin/sh busybox
d dev
c dev/null 1 3 mode=0666
f home/u/note uid=1000 gid=1000 mode=0600 data=hi xattr=user.tag:v1
SPEC
	add_layer "$L" base "$FILE_TMP/l3.tar.zst" <<'SPEC'
d opq mode=0750 uid=1000 gid=1000
f opq/.wh..wh..opq
f opq/new data=zstd-layer
SPEC
	add_layer "$L" base "$FILE_TMP/l4.tar" <<'SPEC'
f etc/plain data=uncompressed-layer
SPEC
	push "$L:base" test/base:1.0
}

teardown_file() {
	stop_registry "$FILE_TMP/open"
	rm -rf "$FILE_TMP"
}

setup() {
	S=$(mktemp -d)
	export FB_STORE=$S/store
}

teardown() {
	[ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null
	local d
	for d in "$S"/basic "$S"/token; do
		[ -d "$d" ] && stop_registry "$d"
	done
	rm -rf "$S"
}

dfs() { debugfs -R "$2" "$1" 2>/dev/null; }

@test "pull from the registry: .image has the ref, digest, platform, config and layers" {
	run_split fb-fetch image --ref "$REG/test/base:1.0"
	[ "$status" -eq 0 ]
	json_eq "$(jq -c '.image | {ref, name, platform, n: (.layers | length), types: [.layers[].mediaType], env: .config.config.Env}' <<<"$output")" \
		"{\"ref\":\"$REG/test/base:1.0\",\"name\":\"$REG/test/base:1.0\",\"platform\":\"linux/amd64\",\"n\":4,
		  \"types\":[\"application/vnd.oci.image.layer.v1.tar+gzip\",\"application/vnd.oci.image.layer.v1.tar+gzip\",
		            \"application/vnd.oci.image.layer.v1.tar+zstd\",\"application/vnd.oci.image.layer.v1.tar+gzip\"],
		  \"env\":[\"FROM_IMAGE=yes\"]}"
	[[ "$(jq -r .image.digest <<<"$output")" == sha256:* ]]
	store_consistent "$FB_STORE"
	# the store is an OCI layout skopeo and umoci read
	run skopeo inspect "oci:$FB_STORE:$REG/test/base:1.0"
	[ "$status" -eq 0 ]
	run umoci ls --layout "$FB_STORE"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$REG/test/base:1.0"* ]]
}

@test "firebuild rootfs --docker-image: every layer kind lands in a clean ext4" {
	run_split firebuild rootfs --docker-image="$REG/test/base:1.0" --tag=combust-labs/base:1.0
	[ "$status" -eq 0 ]
	local img
	img=$(jq -r .rootfs.path <<<"$output")
	[ "$img" = "$FB_STORE/rootfs/combust-labs/base/1.0/rootfs.ext4" ]
	run e2fsck -fn "$img"
	[ "$status" -eq 0 ]
	[ "$(dfs "$img" 'cat /etc/umoci')" = "from umoci" ]
	[[ "$(dfs "$img" 'ls /etc')" != *gone* ]]
	[ "$(dfs "$img" 'cat /etc/plain')" = "uncompressed-layer" ]
	[ "$(dfs "$img" 'cat /opq/new')" = "zstd-layer" ]
	[[ "$(dfs "$img" 'ls /opq')" != *kept* ]]
	[[ "$(dfs "$img" 'stat /opq')" == *"User:  1000   Group:  1000"* ]]
	[[ "$(dfs "$img" 'stat /bin/su')" == *"Mode:  04755"* ]]
	[[ "$(dfs "$img" 'stat /bin/hard')" == *"Links: 2"* ]]
	[[ "$(dfs "$img" 'stat /bin/sh')" == *'Fast link dest: "busybox"'* ]]
	[[ "$(dfs "$img" 'stat /dev/null')" == *"character special"* ]]
	[[ "$(dfs "$img" 'ea_list /home/u/note')" == *'user.tag (2) = "v1"'* ]]
	# umoci, running as root, kept busybox's owner and mode
	[[ "$(dfs "$img" 'stat /bin/busybox')" == *"Mode:  0755"* ]]
	run_split fb-tag get combust-labs/base:1.0
	[ "$status" -eq 0 ]
	[ "$(jq -r .image.rootfs <<<"$output")" = "$img" ]
	[ "$(jq -r '.image.config.config.WorkingDir' <<<"$output")" = "/srv" ]
}

@test "blobs are shared: a second image on the same base downloads only its own layer" {
	local L="$S/oci2"
	cp -r "$FILE_TMP/oci" "$L"
	add_layer "$L" base "$S/extra.tar.gz" <<<'f extra data=more'
	push "$L:base" test/derived:1.0
	fb-fetch image --ref "$REG/test/base:1.0" >/dev/null 2>&1
	run_split fb-fetch image --log-format=json --ref "$REG/test/derived:1.0"
	[ "$status" -eq 0 ]
	# JSON progress lines: the new config and layer download, the rest is there
	[ "$(grep '"msg":"progress"' <<<"$stderr" | grep -c '"status":"done"')" -eq 2 ]
	[ "$(grep '"msg":"progress"' <<<"$stderr" | grep -c '"status":"cached"')" -eq 4 ]
}

@test "progress: bars per layer and a total on a terminal" {
	command -v script >/dev/null || skip "script (bsdutils) is not installed"
	run script -qec "fb-fetch image --ref $REG/test/base:1.0 >/dev/null" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"[####################]"*"done"* ]]
	[[ "$output" == *"download: "*" MB / "*" MB"* ]]
	[ "$(grep -o 'sha256:[0-9a-f]\{12\}' <<<"$output" | sort -u | wc -l)" -eq 5 ]
}

@test "manifest lists: the host's platform by default, --platform to choose, a clear miss" {
	local L="$S/multi"
	new_image "$L" amd
	add_layer "$L" amd "$S/a.tar.gz" --platform linux/amd64 <<<'f arch data=amd64'
	new_image "$L" arm
	add_layer "$L" arm "$S/b.tar.gz" --platform linux/arm64/v8 <<<'f arch data=arm64'
	push "$L:amd" test/multi:amd
	push "$L:arm" test/multi:arm
	# skopeo and umoci cannot build an index: PUT one ourselves
	local idx='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}' tag p d sz
	for tag in amd arm; do
		d=$(curl -sI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/test/multi/manifests/$tag" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
		sz=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/test/multi/manifests/$tag" | wc -c)
		[ "$tag" = amd ] && p='{"os":"linux","architecture":"amd64"}' || p='{"os":"linux","architecture":"arm64","variant":"v8"}'
		idx=$(jq -c --arg d "$d" --argjson sz "$sz" --argjson p "$p" '.manifests += [{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":$d,"size":$sz,"platform":$p}]' <<<"$idx")
	done
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data "$idx" "http://$REG/v2/test/multi/manifests/both" >/dev/null
	run_split firebuild rootfs --docker-image="$REG/test/multi:both" --tag=multi:amd
	[ "$status" -eq 0 ]
	[ "$(dfs "$(jq -r .rootfs.path <<<"$output")" 'cat /arch')" = amd64 ]
	run_split firebuild rootfs --docker-image="$REG/test/multi:both" --platform=linux/arm64 --tag=multi:arm
	[ "$status" -eq 0 ]
	[ "$(dfs "$(jq -r .rootfs.path <<<"$output")" 'cat /arch')" = arm64 ]
	run_split fb-fetch image --ref "$REG/test/multi:both" --platform=linux/s390x
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no manifest for linux/s390x in the image index (it has: linux/amd64, linux/arm64/v8)"* ]]
}

@test "docker-archive, oci and oci-archive inputs made by skopeo" {
	# docker archives cannot hold zstd layers: an image of gzip and plain ones
	local L="$S/arch"
	new_image "$L" base
	add_layer "$L" base "$S/a1.tar.gz" <<<$'d opq\nf opq/old data=old\nf etc/x data=x'
	add_layer "$L" base "$S/a2.tar" <<<$'d opq\nf opq/.wh..wh..opq\nf opq/new data=zstd-layer\nf etc/.wh.x'
	skopeo copy -q "oci:$L:base" "docker-archive:$S/saved.tar:acme/saved:1.0"
	skopeo copy -q "oci:$FILE_TMP/oci:base" "oci-archive:$S/oci.tar:base"
	local src
	for src in "docker-archive:$S/saved.tar" "docker-archive:$S/saved.tar:acme/saved:1.0" "oci:$FILE_TMP/oci:base" "oci:$L:base" "oci-archive:$S/oci.tar:base"; do
		run_split firebuild rootfs --docker-image="$src" --tag=local/img:1
		[ "$status" -eq 0 ] || { echo "$src: $stderr"; return 1; }
		local img
		img=$(jq -r .rootfs.path <<<"$output")
		run e2fsck -fn "$img"
		[ "$status" -eq 0 ] || { echo "$src: $output"; return 1; }
		[ "$(dfs "$img" 'cat /opq/new')" = "zstd-layer" ] || { echo "$src: content"; return 1; }
	done
	store_consistent "$FB_STORE"
	run_split fb-fetch image --ref "oci:$FILE_TMP/oci:nosuchtag"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *'no image tagged "nosuchtag" (there are: base)'* ]]
}

@test "docker-archive: layers and config are checked against their names and the config's diff_ids" {
	local L="$S/arch"
	new_image "$L" base
	add_layer "$L" base "$S/a1.tar.gz" <<<$'f etc/one data=1'
	add_layer "$L" base "$S/a2.tar" <<<$'f etc/two data=2'
	skopeo copy -q "oci:$L:base" "docker-archive:$S/saved.tar:acme/saved:1.0"
	local mode
	# Docker's own names (<id>/layer.tar, the id no digest of the layer), and
	# gzip-compressed layers, are taken as they are
	for mode in legacy legacy-gzip; do
		python3 "$BATS_TEST_DIRNAME/tamper-archive.py" "$S/saved.tar" "$S/$mode.tar" "$mode"
		run_split fb-fetch image --ref "docker-archive:$S/$mode.tar"
		[ "$status" -eq 0 ] || { echo "$mode: $stderr"; return 1; }
	done
	for mode in layer-keep-name layer-rename legacy-tampered drop-layer config; do
		python3 "$BATS_TEST_DIRNAME/tamper-archive.py" "$S/saved.tar" "$S/$mode.tar" "$mode"
		export FB_STORE=$S/refused-$mode
		run_split fb-fetch image --ref "docker-archive:$S/$mode.tar"
		case $mode in
		drop-layer) [ "$status" -eq 2 ] && [[ "$stderr" == *"names 1 layers but the config's rootfs.diff_ids has 2"* ]] ;;
		layer-rename | legacy-tampered) [ "$status" -eq 1 ] && [[ "$stderr" == *"diff id mismatch"* ]] ;;
		*) [ "$status" -eq 1 ] && [[ "$stderr" == *"digest mismatch"* ]] ;;
		esac || { echo "$mode: $status $stderr"; return 1; }
		[ "$(jq -r .error.kind <<<"$output")" != null ]
		# nothing recorded: no index entry, no manifest blob that names the layers
		[ "$(jq -c .manifests "$FB_STORE/index.json")" = "[]" ] || { echo "$mode: recorded"; return 1; }
		store_consistent "$FB_STORE"
	done
}

@test "basic auth: refused without credentials, works with --creds and ~/.docker/config.json" {
	start_registry "$S/basic" basic
	push "$FILE_TMP/oci:base" test/private:1 --dest-creds=fbuser:fbpass
	run_split fb-fetch image --ref "$REG/test/private:1"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"authentication required; give --creds USER:PASSWORD"* ]]
	run_split fb-fetch image --ref "$REG/test/private:1" --creds=fbuser:wrong
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"denied"* ]]
	run_split fb-fetch image --ref "$REG/test/private:1" --creds=fbuser:fbpass
	[ "$status" -eq 0 ]
	rm -rf "$FB_STORE"
	mkdir -p "$S/home/.docker"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf fbuser:fbpass | base64)" >"$S/home/.docker/config.json"
	HOME=$S/home run_split fb-fetch image --ref "$REG/test/private:1"
	stop_registry "$S/basic"
	[ "$status" -eq 0 ]
}

@test "token auth: the challenge, a token for the pull scope, then the blobs" {
	start_registry "$S/token" token
	push "$FILE_TMP/oci:base" test/tok:1 --dest-creds=fbuser:fbpass
	run_split fb-fetch image --ref "$REG/test/tok:1"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"token request refused (HTTP 401): the registry wants credentials"* ]]
	: >"$S/token/tokens.log"
	run_split firebuild rootfs --docker-image="$REG/test/tok:1" --creds=fbuser:fbpass --tag=tok:1
	local st=$status
	local log
	log=$(cat "$S/token/tokens.log")
	stop_registry "$S/token"
	[ "$st" -eq 0 ]
	# the scope asked for is the repository's pull scope
	[[ "$log" == *'[{"type": "repository", "name": "test/tok", "actions": ["pull"]}]'* ]]
	run e2fsck -fn "$(jq -r .rootfs.path <<<"$output")"
	[ "$status" -eq 0 ]
}

@test "a corrupted blob in the registry is refused and the store is unchanged" {
	local L="$S/bad"
	cp -r "$FILE_TMP/oci" "$L"
	add_layer "$L" base "$S/victim.tar.gz" <<<'f victim size=200000'
	push "$L:base" test/corrupt:1
	local d
	d=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/test/corrupt/manifests/1" | jq -r '.layers[-1].digest')
	d=${d#sha256:}
	local blob="$REGDIR/data/docker/registry/v2/blobs/sha256/${d:0:2}/$d/data"
	[ -f "$blob" ]
	printf 'XXXX' | dd of="$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
	fb-fetch image --ref "$REG/test/base:1.0" >/dev/null 2>&1
	local before
	before=$(sha256sum <"$FB_STORE/index.json")
	run_split fb-fetch image --ref "$REG/test/corrupt:1"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"blob sha256:$d: digest mismatch"* ]]
	# no image recorded, the bad blob nowhere (not even a partial), every
	# blob that is there whole (verified ones stay for the next pull)
	[ "$(sha256sum <"$FB_STORE/index.json")" = "$before" ]
	[ ! -e "$FB_STORE/blobs/sha256/$d" ]
	[ ! -e "$FB_STORE/tmp/$d.partial" ]
	store_consistent "$FB_STORE"
}

@test "kill -9 during a pull, then pull again: it resumes and the store is consistent" {
	local L="$S/big"
	cp -r "$FILE_TMP/oci" "$L"
	head -c 6000000 /dev/urandom >"$S/random"
	python3 - "$S/random" "$S/big.tar.gz" <<'PY'
import gzip, io, sys, tarfile
data = open(sys.argv[1], "rb").read()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    ti = tarfile.TarInfo("random"); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
open(sys.argv[2], "wb").write(gzip.compress(buf.getvalue(), 1))
PY
	python3 "$BATS_TEST_DIRNAME/oci-add-layer.py" "$L" base "$S/big.tar.gz"
	push "$L:base" test/big:1
	local pport
	pport=$(free_port)
	python3 "$BATS_TEST_DIRNAME/slow-proxy.py" "$pport" 2000000 >/dev/null 2>&1 3>&- &
	PROXY_PID=$!
	wait_http "http://127.0.0.1:$pport/"
	http_proxy=http://127.0.0.1:$pport fb-fetch image --parallel=1 --ref "$REG/test/big:1" >/dev/null 2>&1 3>&- &
	local pid=$!
	local d
	d=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/test/big/manifests/1" | jq -r '.layers[-1].digest')
	d=${d#sha256:}
	local i
	for i in $(seq 1 100); do
		[ -s "$FB_STORE/tmp/$d.partial" ] && [ "$(stat -c %s "$FB_STORE/tmp/$d.partial")" -gt 1000000 ] && break
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid" || true
	local part
	part=$(stat -c %s "$FB_STORE/tmp/$d.partial")
	[ "$part" -gt 0 ]
	[ "$part" -lt 6000000 ]
	[ ! -e "$FB_STORE/blobs/sha256/$d" ]
	store_consistent "$FB_STORE"
	run_split fb-fetch image --log-format=json --ref "$REG/test/big:1"
	[ "$status" -eq 0 ]
	# (the resume itself logs at debug level; the partial is gone and the blob is whole)
	[ -e "$FB_STORE/blobs/sha256/$d" ]
	[ ! -e "$FB_STORE/tmp/$d.partial" ]
	store_consistent "$FB_STORE"
}

@test "20 parallel pulls of one image into one store all succeed, the store consistent" {
	local i pids=() bad=0
	for i in $(seq 1 20); do
		fb-fetch image --ref "$REG/test/base:1.0" >"$S/p$i.json" 2>"$S/p$i.err" 3>&- &
		pids+=($!)
	done
	for i in $(seq 1 20); do
		wait "${pids[$((i - 1))]}" || { bad=$((bad + 1)); echo "pull $i: $(cat "$S/p$i.err")"; }
	done
	[ "$bad" -eq 0 ]
	# one image recorded, every blob whole, no temporary file left behind
	[ "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | join(",")' "$FB_STORE/index.json")" = "$REG/test/base:1.0" ]
	store_consistent "$FB_STORE"
	[ -z "$(ls -A "$FB_STORE/tmp")" ] || { ls -la "$FB_STORE/tmp"; return 1; }
	[ "$(cat "$S"/p*.json | jq -r .image.digest | sort -u | wc -l)" -eq 1 ]
	local l
	for l in $(jq -r '.image.layers[].digest, .image.config_digest, .image.digest' "$S/p1.json"); do
		[ -f "$FB_STORE/blobs/sha256/${l#sha256:}" ] || { echo "missing $l"; return 1; }
	done
}

@test "parallel fb-tag put of different tags into one store" {
	fb-fetch image --ref "$REG/test/base:1.0" 2>/dev/null >"$S/img.json"
	local i pids=() bad=0
	for i in $(seq 1 8); do
		fb-mkrootfs <"$S/img.json" 2>/dev/null >"$S/r$i.json"
	done
	for i in $(seq 1 8); do
		fb-tag put "par/t$i:1" <"$S/r$i.json" >"$S/t$i.json" 2>"$S/t$i.err" 3>&- &
		pids+=($!)
	done
	for i in $(seq 1 8); do
		wait "${pids[$((i - 1))]}" || { bad=$((bad + 1)); echo "put $i: $(cat "$S/t$i.err")"; }
	done
	[ "$bad" -eq 0 ]
	run_split fb-tag ls
	[ "$(jq '[.images[] | select(.name | startswith("par/"))] | length' <<<"$output")" -eq 8 ]
	for i in $(seq 1 8); do
		run e2fsck -fn "$FB_STORE/rootfs/par/t$i/1/rootfs.ext4"
		[ "$status" -eq 0 ] || { echo "t$i: $output"; return 1; }
	done
	[ -z "$(ls -A "$FB_STORE/rootfs/par" | grep '^\.')" ] # no stage directories left
}

@test "usage errors of fb-fetch and fb-tag are error objects on stdout (kind usage, exit 2)" {
	usage_is() { # usage_is MESSAGE COMMAND...
		local want=$1
		shift
		run --separate-stderr "$@" </dev/null
		[ "$status" -eq 2 ] || { echo "$*: status $status"; return 1; }
		[ "$(jq -c '.error | {kind, message, exit_code}' <<<"$output")" = "$(jq -nc --arg m "$want" '{kind: "usage", message: $m, exit_code: 2}')" ] ||
			{ echo "$*: $output"; return 1; }
		[ "$stderr" = "${1##*/}: error: $want (see --help)" ] || { echo "$*: $stderr"; return 1; }
	}
	usage_is "expected a subcommand: image, source, push, cache-import or cache-export" fb-fetch
	usage_is "unknown subcommand 'images' (fb-fetch image, source, push, cache-import or cache-export)" fb-fetch images
	usage_is "cache-import needs --ref" fb-fetch cache-import
	usage_is "--mode all: expected min or max" fb-fetch cache-export --ref a/b --mode all
	usage_is "unknown option '--bogus'" fb-fetch image --bogus
	usage_is "option '--ref' needs a value" fb-fetch image --ref
	usage_is "--parallel 0: expected 1 to 64" fb-fetch image --parallel 0
	usage_is "source needs --dockerfile" fb-fetch source
	usage_is "unknown option '--bogus'" fb-fetch source --bogus
	usage_is "expected a command: put, get, ls, inspect, rm or gc" fb-tag
	usage_is "unknown command 'frob'" fb-tag frob
	usage_is "put needs NAME:VERSION" fb-tag put
	usage_is "unknown option '--bogus'" fb-tag --bogus ls
	usage_is "--cache-max-age soon: expected a duration (24h, 30m, 0 for all)" fb-tag gc --cache-max-age=soon
}

@test "references: Docker Hub defaults, bad references are exit 2" {
	run_split fb-fetch image --ref 'UPPER/case'
	[ "$status" -eq 2 ]
	[[ "$stderr" == *'invalid reference "UPPER/case"'* ]]
	run_split fb-fetch image --ref "$REG/test/base@sha256:nothex"
	[ "$status" -eq 2 ]
	run_split fb-fetch image --ref "$REG/test/base:1.0@$(fb-fetch image --ref "$REG/test/base:1.0" 2>/dev/null | jq -r .image.digest)"
	[ "$status" -eq 0 ]
	run_split fb-fetch image --ref "$REG/test/absent:1"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"manifest unknown"* ]]
	run_split fb-fetch image --ref "127.0.0.1:1/x:1"
	[ "$status" -eq 1 ]
	run_split fb-fetch image --ref "docker-archive:$S/none.tar"
	[ "$status" -eq 3 ]
}

@test "plan mode: the base of every needed stage" {
	printf 'FROM %s/test/base:1.0 AS a\nFROM scratch AS unused\nFROM a\n' "$REG" >"$S/Dockerfile"
	run_split bash -c "fb-parse '$S/Dockerfile' | fb-fetch image"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.images | keys[]' <<<"$output")" = "$REG/test/base:1.0" ]
	[ "$(jq -r '.plan.stages | length' <<<"$output")" -eq 3 ]
}

@test "fb-tag: concurrent puts of one tag both finish, the last wins; gc keeps what tags use" {
	fb-fetch image --ref "$REG/test/base:1.0" 2>/dev/null >"$S/img.json"
	fb-mkrootfs <"$S/img.json" 2>/dev/null >"$S/r1.json"
	fb-mkrootfs <"$S/img.json" 2>/dev/null >"$S/r2.json"
	fb-tag put race:1 <"$S/r1.json" >/dev/null 2>&1 3>&- &
	local a=$!
	fb-tag put race:1 <"$S/r2.json" >/dev/null 2>&1 3>&- &
	local b=$!
	wait $a
	wait $b
	[ -f "$FB_STORE/rootfs/race/1/rootfs.ext4" ]
	[ -f "$FB_STORE/rootfs/race/1/image.json" ]
	[ "$(ls -A "$FB_STORE/rootfs/race" | grep -c .)" -eq 1 ] # no stage directories left
	run e2fsck -fn "$FB_STORE/rootfs/race/1/rootfs.ext4"
	[ "$status" -eq 0 ]
	run_split fb-tag gc
	[ "$status" -eq 0 ]
	[ "$(jq .gc.blobs_removed <<<"$output")" -eq 0 ]
	run_split firebuild image rm race:1
	[ "$status" -eq 0 ]
	run_split firebuild image gc
	[ "$(jq .gc.blobs_kept <<<"$output")" -eq 0 ]
	[ "$(jq -c .manifests "$FB_STORE/index.json")" = "[]" ]
}

@test "fb-tag: names that could leave the store are refused" {
	local n
	for n in '../x:1' 'a/../b:1' '/abs:1' 'UP:1' 'a:../1' 'a:' ':1' 'a//b:1' 'a:-x'; do
		run_split fb-tag get "$n"
		[ "$status" -eq 2 ] || { echo "$n: $status"; return 1; }
	done
	run_split fb-tag get combust-labs/consul:1.9.4
	[ "$status" -eq 3 ]
	run_split fb-tag get localhost:5000/team/app:latest
	[ "$status" -eq 3 ]
}

@test "token auth: short-lived tokens are renewed during a pull" {
	TOKEN_EXPIRES=1 start_registry "$S/token" token
	push "$FILE_TMP/oci:base" test/tok:1 --dest-creds=fbuser:fbpass
	: >"$S/token/tokens.log"
	run_split fb-fetch image --ref "$REG/test/tok:1" --creds=fbuser:fbpass --parallel=1
	[ "$status" -eq 0 ]
	# one token for the manifest and one per blob at least
	[ "$(wc -l <"$S/token/tokens.log")" -ge 5 ]
}

@test "fb-tag: a put killed at any moment leaves the old tag or the new one" {
	python3 "$BATS_TEST_DIRNAME/mklayer.py" "$S/l.tar" <<<'f f size=3000000'
	local i v
	for i in 1 2 3 4 5 6 7 8; do
		fb-mkrootfs --layer "$S/l.tar" --add-file "/etc/hostname:/gen:0644" --output "$S/r$i.ext4" >"$S/doc$i" 2>/dev/null
		fb-tag --move-from "$S" put atom:1 <"$S/doc$i" >/dev/null 2>&1 3>&- &
		local pid=$!
		sleep "0.00$i"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		if [ -d "$FB_STORE/rootfs/atom/1" ]; then
			[ -f "$FB_STORE/rootfs/atom/1/image.json" ] || { echo "round $i: image.json missing"; return 1; }
			jq -e .name "$FB_STORE/rootfs/atom/1/image.json" >/dev/null
			run e2fsck -fn "$FB_STORE/rootfs/atom/1/rootfs.ext4"
			[ "$status" -eq 0 ] || { echo "round $i: $output"; return 1; }
		fi
	done
	# a put that is not killed always completes over what is there
	fb-mkrootfs --layer "$S/l.tar" --output "$S/final.ext4" >"$S/docf" 2>/dev/null
	run_split fb-tag --move-from "$S" put atom:1 <"$S/docf"
	[ "$status" -eq 0 ]
	[ -f "$FB_STORE/rootfs/atom/1/rootfs.ext4" ]
}

@test "redirects to blob storage are followed, without the credentials" {
	start_registry "$S/basic" basic
	push "$FILE_TMP/oci:base" test/redir:1 --dest-creds=fbuser:fbpass
	# the blob server holds the registry's blobs under their digests
	mkdir -p "$S/blobs"
	local f
	for f in "$REGDIR"/data/docker/registry/v2/blobs/sha256/*/*/data; do
		cp "$f" "$S/blobs/$(basename "$(dirname "$f")")"
	done
	local port
	port=$(free_port)
	python3 "$BATS_TEST_DIRNAME/redirect-front.py" "$port" "$REG" "$S/blobs" "$S/blob.log" >/dev/null 2>&1 3>&- &
	PROXY_PID=$!
	wait_http "http://127.0.0.1:$port/v2/"
	# a partial download of the biggest layer: this storage ignores Range,
	# so the download must start again rather than append
	local big
	big=$(ls -S "$S/blobs" | head -1)
	mkdir -p "$FB_STORE/tmp"
	head -c 1000 "$S/blobs/$big" >"$FB_STORE/tmp/$big.partial"
	run_split fb-fetch image --ref "127.0.0.1:$port/test/redir:1" --creds=fbuser:fbpass
	[ "$status" -eq 0 ]
	[ -e "$FB_STORE/blobs/sha256/$big" ]
	[ ! -e "$FB_STORE/tmp/$big.partial" ]
	# every blob came from the storage the registry pointed to
	[ "$(grep -c '^/storage/' "$S/blob.log")" -eq 5 ]
	# the credentials went to the registry, never to the other host
	! grep -q 'auth=True' "$S/blob.log"
	store_consistent "$FB_STORE"
}

@test "Docker schema 2 manifests (skopeo --format v2s2)" {
	local L="$S/v2"
	new_image "$L" base
	add_layer "$L" base "$S/d.tar.gz" <<<'f docker data=schema2'
	push "$L:base" test/schema2:1 --format v2s2
	run_split fb-fetch image --ref "$REG/test/schema2:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r .image.media_type <<<"$output")" = "application/vnd.docker.distribution.manifest.v2+json" ]
	[ "$(jq -r '.image.layers[0].mediaType' <<<"$output")" = "application/vnd.docker.image.rootfs.diff.tar.gzip" ]
	run_split bash -c "fb-mkrootfs <<<'$output' | jq -r .rootfs.path"
	[ "$status" -eq 0 ]
	[ "$(debugfs -R 'cat /docker' "$output" 2>/dev/null)" = schema2 ]
}

@test "conversion needs no root: ownership comes from the layers" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user for the test"
	chmod 0755 "$S"
	python3 "$BATS_TEST_DIRNAME/mklayer.py" "$S/l.tar.gz" <<<$'f owned uid=4242 gid=4343 mode=04750 data=x\nc dev/null 1 3 mode=0666'
	chmod 0644 "$S/l.tar.gz"
	mkdir -m 0777 "$S/out"
	run setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp FB_STORE="$S/out/store" \
		"$FB_BIN/fb-mkrootfs" --layer "$S/l.tar.gz" --output "$S/out/r.ext4"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[ "$(stat -c %u "$S/out/r.ext4")" -eq 65534 ]
	[[ "$(debugfs -R 'stat /owned' "$S/out/r.ext4" 2>/dev/null)" == *"User:  4242   Group:  4343"* ]]
	[[ "$(debugfs -R 'stat /owned' "$S/out/r.ext4" 2>/dev/null)" == *"Mode:  04750"* ]]
	[[ "$(debugfs -R 'stat /dev/null' "$S/out/r.ext4" 2>/dev/null)" == *"character special"* ]]
	run e2fsck -fn "$S/out/r.ext4"
	[ "$status" -eq 0 ]
}
