#!/usr/bin/env bats
# fb-fetch image --stream | fb-mkrootfs: the document goes out before the
# layers are downloaded and fb-mkrootfs reads them from the store's partial
# files as they grow (issue 17). Against Debian's docker-registry on
# 127.0.0.1, with layer-proxy.py slowing (and spoiling) downloads.

load helpers
load registry

setup_file() {
	need_registry_tools
	export FILE_TMP
	FILE_TMP=$(mktemp -d)
	start_registry "$FILE_TMP/open" open
	export REG REGDIR
	local L="$FILE_TMP/oci"
	new_image "$L" base
	# a gzip layer of 6 MB that does not compress, then zstd and plain ones
	head -c 6000000 /dev/urandom >"$FILE_TMP/random"
	python3 - "$FILE_TMP/random" "$FILE_TMP/big.tar.gz" <<'PY'
import gzip, io, sys, tarfile
data = open(sys.argv[1], "rb").read()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    for name in ("etc/random", "srv/random"):
        ti = tarfile.TarInfo(name); ti.size = len(data) // 2; t.addfile(ti, io.BytesIO(data[: len(data) // 2]))
open(sys.argv[2], "wb").write(gzip.compress(buf.getvalue(), 1))
PY
	python3 "$BATS_TEST_DIRNAME/oci-add-layer.py" "$L" base "$FILE_TMP/big.tar.gz"
	add_layer "$L" base "$FILE_TMP/l2.tar.zst" <<'SPEC'
d opq mode=0750 uid=1000 gid=1000
f opq/new data=zstd-layer
f srv/.wh.random
l bin/sh busybox
SPEC
	add_layer "$L" base "$FILE_TMP/l3.tar" <<'SPEC'
f etc/plain data=uncompressed-layer
SPEC
	push "$L:base" test/stream:1
	# the digest of the big layer (the first), for the proxy and the store
	BIG=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/test/stream/manifests/1" |
		jq -r '.layers[0].digest')
	export BIG
}

teardown_file() {
	stop_registry "$FILE_TMP/open"
	rm -rf "$FILE_TMP"
}

setup() {
	S=$(mktemp -d)
	export FB_STORE=$S/store
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$S"
}

# proxy RATE [DIGEST MODE]: layer-proxy.py on a free port; sets PROXY
proxy() {
	local port
	port=$(free_port)
	python3 "$BATS_TEST_DIRNAME/layer-proxy.py" "$port" "$@" >/dev/null 2>&1 3>&- &
	PIDS+=($!)
	PROXY=http://127.0.0.1:$port
	wait_http "$PROXY/"
}

# no tag, no ext4 left in the store's tmp/
nothing_left() {
	[ -z "$(ls -A "$FB_STORE/rootfs" 2>/dev/null)" ] || { ls -lR "$FB_STORE/rootfs"; return 1; }
	! compgen -G "$FB_STORE/tmp/rootfs-*" >/dev/null || { ls -l "$FB_STORE/tmp"; return 1; }
}

@test "--stream: the document comes before the layers are in the store, marked pending, and stdout stays open" {
	proxy 1000000
	http_proxy=$PROXY fb-fetch image --stream --ref "$REG/test/stream:1" >"$S/doc.json" 2>"$S/err" 3>&- &
	local pid=$! i
	PIDS+=($pid)
	for i in $(seq 1 600); do
		[ -s "$S/doc.json" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	# the document is out, the fetcher still downloads the big layer
	[ "$(jq -r '.image.layers[0].pending' "$S/doc.json")" = true ]
	[ ! -e "$FB_STORE/blobs/sha256/${BIG#sha256:}" ]
	kill -0 "$pid"
	json_eq "$(jq -c '[.image.layers[] | {pending, t: (.tail | test("^[0-9a-f]{8}$")), h: (.head | test("^([0-9a-f]{2}){1,18}$"))}]' "$S/doc.json")" \
		'[{"pending":true,"t":true,"h":true},{"pending":true,"t":true,"h":true},{"pending":true,"t":true,"h":true}]'
	# the tail is the layer's last 4 bytes, the head its first 18
	[ "$(jq -r '.image.layers[0].tail' "$S/doc.json")" = "$(tail -c 4 "$FILE_TMP/big.tar.gz" | od -An -tx1 | tr -d ' \n')" ]
	[ "$(jq -r '.image.layers[0].head' "$S/doc.json")" = "$(head -c 18 "$FILE_TMP/big.tar.gz" | od -An -tx1 | tr -d ' \n')" ]
	wait "$pid"
	# one document, then the end: every layer in the store
	[ "$(wc -l <"$S/doc.json")" -eq 1 ]
	[ -e "$FB_STORE/blobs/sha256/${BIG#sha256:}" ]
	store_consistent "$FB_STORE"
	# the image is recorded once its layers are in
	skopeo inspect "oci:$FB_STORE:$REG/test/stream:1" >/dev/null
	# without --stream, nothing is pending
	run_split fb-fetch image --ref "$REG/test/stream:1"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.image.layers[] | select(has("pending") or has("tail") or has("head"))]' <<<"$output")" = '[]' ]
}

@test "a streamed conversion gives the same ext4 bytes as a non-streamed one (gzip, zstd and plain layers)" {
	proxy 4000000
	http_proxy=$PROXY fb-fetch image --stream --ref "$REG/test/stream:1" 2>"$S/fetch.err" |
		fb-mkrootfs --output "$S/streamed.ext4" >"$S/out.json" 2>"$S/mk.err"
	# the layers are no longer pending in what goes on
	[ "$(jq -c '[.image.layers[] | select(has("pending") or has("tail") or has("head"))]' "$S/out.json")" = '[]' ]
	[ "$(jq -r .rootfs.path "$S/out.json")" = "$S/streamed.ext4" ]
	FB_STORE=$S/store2 fb-fetch image --ref "$REG/test/stream:1" 2>/dev/null |
		FB_STORE=$S/store2 fb-mkrootfs --output "$S/whole.ext4" >/dev/null 2>&1
	cmp "$S/streamed.ext4" "$S/whole.ext4"
	run e2fsck -fn "$S/streamed.ext4"
	[ "$status" -eq 0 ]
	[ "$(debugfs -R 'cat /opq/new' "$S/streamed.ext4" 2>/dev/null)" = zstd-layer ]
	[ "$(debugfs -R 'cat /etc/plain' "$S/streamed.ext4" 2>/dev/null)" = uncompressed-layer ]
	cmp <(debugfs -R 'cat /etc/random' "$S/streamed.ext4" 2>/dev/null) <(head -c 3000000 "$FILE_TMP/random")
	run debugfs -R 'stat /srv/random' "$S/streamed.ext4"
	[[ "$output" == *"File not found"* ]]
}

@test "the pipeline typed by hand with --stream, and firebuild rootfs --docker-image (which streams), tag the same bytes" {
	proxy 4000000
	run bash -o pipefail -c "http_proxy=$PROXY fb-fetch image --stream --ref '$REG/test/stream:1' | fb-mkrootfs | fb-tag put by/hand:1"
	[ "$status" -eq 0 ]
	local a b
	a=$(sha256sum <"$FB_STORE/rootfs/by/hand/1/rootfs.ext4" | cut -c1-64)
	[ "$(fb-tag inspect by/hand:1 | jq -r .rootfs_sha256)" = "$a" ]
	run_split env FB_STORE="$S/store2" http_proxy="$PROXY" firebuild rootfs --log-format=json --docker-image="$REG/test/stream:1" --tag=by/cli:1
	[ "$status" -eq 0 ]
	# the dispatcher's fb-fetch streams: its document went out with 3 layers pending
	grep '"msg":"document written, layers still downloading"' <<<"$stderr" | grep -q '"pending":"3"\|"pending":3'

	b=$(sha256sum <"$S/store2/rootfs/by/cli/1/rootfs.ext4" | cut -c1-64)
	[ "$a" = "$b" ]
	# straight from the registry (no proxy) too
	run_split env FB_STORE="$S/store3" firebuild rootfs --timings --docker-image="$REG/test/stream:1" --tag=by/cli:1
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$S/store3/rootfs/by/cli/1/rootfs.ext4" | cut -c1-64)" = "$a" ]
	run e2fsck -fn "$FB_STORE/rootfs/by/hand/1/rootfs.ext4"
	[ "$status" -eq 0 ]
}

@test "a layer the registry cuts short or tampers with, in stream mode: the pipeline fails naming it, no tag, no image file" {
	local mode
	for mode in cut flip; do
		rm -rf "$FB_STORE"
		proxy 8000000 "$BIG" "$mode"
		run_split env http_proxy="$PROXY" firebuild rootfs --docker-image="$REG/test/stream:1" --tag=bad/"$mode":1
		echo "$mode: $status $stderr"
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"$BIG"* ]]
		case $mode in
		cut) [[ "$stderr" == *"the download ended at "*" of "*" bytes"* ]] ;;
		flip) [[ "$stderr" == *"digest mismatch"* ]] ;;
		esac
		nothing_left
		[ ! -e "$FB_STORE/blobs/sha256/${BIG#sha256:}" ]
		store_consistent "$FB_STORE"
	done
	# by hand: fb-fetch's error object comes after its document; fb-mkrootfs
	# fails with the layer named and fb-tag put passes its error on
	rm -rf "$FB_STORE"
	proxy 8000000 "$BIG" flip
	http_proxy=$PROXY fb-fetch image --stream --ref "$REG/test/stream:1" 2>/dev/null >"$S/fetch.out" &&
		false || true
	[ "$(jq -s length "$S/fetch.out")" -eq 2 ]
	[ "$(jq -s -r '.[1].error.kind' "$S/fetch.out")" = digest_mismatch ]
	rm -rf "$FB_STORE"
	run bash -c "http_proxy=$PROXY fb-fetch image --stream --ref '$REG/test/stream:1' 2>/dev/null | fb-mkrootfs 2>'$S/mk.err' | fb-tag put bad/hand:1"
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.tool <<<"$output")" = fb-mkrootfs ]
	[[ "$(jq -r .error.message <<<"$output")" == "layer $BIG: "*"digest mismatch"* ]]
	nothing_left
}

@test "a fetcher killed mid-stream: fb-mkrootfs fails (it does not hang) naming the layer and how far it came" {
	proxy 1000000
	mkfifo "$S/pipe"
	http_proxy=$PROXY fb-fetch image --stream --ref "$REG/test/stream:1" >"$S/pipe" 2>/dev/null 3>&- &
	local fpid=$!
	PIDS+=($fpid)
	fb-mkrootfs <"$S/pipe" >"$S/out.json" 2>"$S/err" 3>&- &
	local mpid=$! i
	PIDS+=($mpid)
	local part=$FB_STORE/tmp/${BIG#sha256:}.partial
	for i in $(seq 1 600); do
		[ -f "$part" ] && [ "$(stat -c %s "$part")" -gt 1000000 ] && break
		sleep 0.05
	done
	[ "$(stat -c %s "$part")" -gt 1000000 ]
	kill -9 "$fpid"
	# a hang guard, not a timing: the fetcher's end is all it waits for
	for i in $(seq 1 1200); do
		kill -0 "$mpid" 2>/dev/null || break
		sleep 0.05
	done
	local st=0
	wait "$mpid" || st=$?
	[ "$st" -eq 1 ]
	grep -q "layer $BIG: the download ended at [0-9]* of [0-9]* bytes (the fetcher exited)" "$S/err"
	[ "$(jq -r .error.tool "$S/out.json")" = fb-mkrootfs ]
	nothing_left
}

# a pending layer of the hostile document, the writer of stdin kept open
# (as a fetcher still running would): it must not wait for it
hostile_pending() {
	local hex=$1 want=$2
	mkdir -p "$FB_STORE/tmp" "$FB_STORE/blobs/sha256"
	mkfifo "$S/stdin"
	local w
	exec {w}<>"$S/stdin"
	printf '{"image":{"store":"%s","layers":[{"digest":"sha256:%s","size":100,"pending":true,"tail":"00000000","head":"%s"}]}}\n' \
		"$FB_STORE" "$hex" "$(printf '0%.0s' $(seq 1 36))" >&"$w"
	run_split timeout 120 fb-mkrootfs --output "$S/x.ext4" <"$S/stdin"
	exec {w}>&-
	rm -f "$S/stdin"
	echo "$status $stderr"
	[ "$status" -eq 2 ]
	[[ "$(jq -r .error.message <<<"$output")" == *"$want" ]]
	[ ! -e "$S/x.ext4" ]
}

@test "hostile documents: a pending layer whose partial file is a FIFO, a symbolic link or a device is refused at once" {
	local hex
	hex=$(printf fifo | sha256sum | cut -c1-64)
	mkdir -p "$FB_STORE/tmp"
	mkfifo "$FB_STORE/tmp/$hex.partial"
	hostile_pending "$hex" "$FB_STORE/tmp/$hex.partial is not a regular file"
	hex=$(printf link | sha256sum | cut -c1-64)
	echo secret >"$S/target"
	ln -s "$S/target" "$FB_STORE/tmp/$hex.partial"
	hostile_pending "$hex" "$FB_STORE/tmp/$hex.partial is a symbolic link, not a file"
	hex=$(printf dev | sha256sum | cut -c1-64)
	mknod "$FB_STORE/tmp/$hex.partial" c 1 3
	hostile_pending "$hex" "$FB_STORE/tmp/$hex.partial is not a regular file"
	# the blob's own name too
	hex=$(printf blob | sha256sum | cut -c1-64)
	ln -s "$S/target" "$FB_STORE/blobs/sha256/$hex"
	hostile_pending "$hex" "$FB_STORE/blobs/sha256/$hex is a symbolic link, not a file"
}

@test "hostile documents: pending layers need a digest, a size, a head and a tail that are the layer's, and never a path" {
	local base='"layers":[{"digest":"sha256:'$(printf x | sha256sum | cut -c1-64)'"'
	run_split fb-mkrootfs <<<'{"image":{'"$base"',"pending":true,"tail":"00000000"}]}}'
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = ".image.layers[0].size: a pending layer needs its size" ]
	run_split fb-mkrootfs <<<'{"image":{'"$base"',"size":10,"pending":true}]}}'
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = ".image.layers[0].tail: expected 8 hex digits (a pending layer's last 4 bytes)" ]
	run_split fb-mkrootfs <<<'{"image":{'"$base"',"size":10,"pending":true,"tail":"0000000g"}]}}'
	[ "$status" -eq 2 ]
	run_split fb-mkrootfs <<<'{"image":{"layers":[{"path":"/etc/passwd","size":10,"pending":true,"tail":"00000000"}]}}'
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = ".image.layers[0]: a pending layer has no .path" ]
	local h10=00000000000000000000
	run_split fb-mkrootfs <<<'{"image":{'"$base"',"size":10,"pending":true,"tail":"00000000","head":"0000"}]}}'
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = ".image.layers[0].head: expected 20 hex digits (a pending layer's first 10 bytes)" ]
	run_split fb-mkrootfs <<<'{"image":{"layers":[{"digest":"md5:x","size":10,"pending":true,"tail":"00000000","head":"'$h10'"}]}}'
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = ".image.layers[0].digest: a pending layer needs a sha256 digest" ]
	# a pending layer that never comes: the fetcher's end (here, stdin's)
	run_split fb-mkrootfs --output "$S/x.ext4" <<<'{"image":{'"$base"',"size":10,"pending":true,"tail":"00000000","head":"'$h10'"}]}}'
	[ "$status" -eq 1 ]
	[[ "$(jq -r .error.message <<<"$output")" == *"the download ended at 0 of 10 bytes (the fetcher exited)" ]]
	[ ! -e "$S/x.ext4" ]
	# after the document: an error object is passed on, anything else refused
	run_split fb-mkrootfs <<<'{"image":{"layers":[]}} {"error":{"tool":"fb-fetch","kind":"network","message":"gone","exit_code":1}}'
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.message <<<"$output")" = gone ]
	run_split fb-mkrootfs <<<'{"image":{"layers":[]}} {"more":1}'
	[ "$status" -eq 2 ]
	[[ "$(jq -r .error.message <<<"$output")" == *"Unexpected extra JSON values"* ]]
	# the head and tail the ext4 was sized from must be the layer's
	printf 'the bytes of a layer that is no tar' >"$S/blob"
	local d hd tl size
	d=$(sha256sum <"$S/blob" | cut -c1-64)
	size=$(stat -c %s "$S/blob")
	hd=$(head -c 18 "$S/blob" | od -An -tx1 | tr -d ' \n')
	tl=$(tail -c 4 "$S/blob" | od -An -tx1 | tr -d ' \n')
	mkdir -p "$FB_STORE/tmp"
	cp "$S/blob" "$FB_STORE/tmp/$d.partial"
	local layer='"digest":"sha256:'$d'","size":'$size',"pending":true'
	run_split fb-mkrootfs --output "$S/x.ext4" <<<'{"image":{"layers":[{'"$layer"',"head":"ff'${hd:2}'","tail":"'$tl'"}]}}'
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.message <<<"$output")" = "layer sha256:$d: its first bytes are not the .head of the document" ]
	run_split fb-mkrootfs --output "$S/x.ext4" <<<'{"image":{"layers":[{'"$layer"',"head":"'$hd'","tail":"00000000"}]}}'
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.message <<<"$output")" = "layer sha256:$d: its last 4 bytes are not the .tail of the document" ]
	# and the bytes their digest
	printf 'the bytes of a layer that is no taR' >"$FB_STORE/tmp/$d.partial"
	run_split fb-mkrootfs --output "$S/x.ext4" <<<'{"image":{"layers":[{'"$layer"',"head":"'$hd'","tail":"'$tl'"}]}}'
	[ "$status" -eq 1 ]
	[[ "$(jq -r .error.message <<<"$output")" == "layer sha256:$d: digest mismatch: the bytes read hash to sha256:"* ]]
	[ ! -e "$S/x.ext4" ]
}
