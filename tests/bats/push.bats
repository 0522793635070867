#!/usr/bin/env bats
# fb-fetch push and firebuild push against Debian's docker-registry on
# 127.0.0.1 (open, htpasswd, token auth), each test with a registry of its
# own whose access log counts the requests; what was pushed is read back
# by skopeo (and podman), and by firebuild rootfs --docker-image in
# another store.

load helpers
load registry

setup_file() {
	need_registry_tools
	export FILE_TMP REG_ACCESS_LOG=1
	FILE_TMP=$(mktemp -d)
	# base: a umoci layer with busybox, then a crafted gzip layer
	local L="$FILE_TMP/oci"
	new_image "$L" base
	mkdir -p "$FILE_TMP/bundle"
	umoci unpack --image "$L:base" "$FILE_TMP/bundle" >/dev/null
	mkdir -p "$FILE_TMP/bundle/rootfs/bin" "$FILE_TMP/bundle/rootfs/etc"
	cp /bin/busybox "$FILE_TMP/bundle/rootfs/bin/busybox"
	ln -s busybox "$FILE_TMP/bundle/rootfs/bin/sh"
	echo "from umoci" >"$FILE_TMP/bundle/rootfs/etc/umoci"
	umoci repack --refresh-bundle --image "$L:base" "$FILE_TMP/bundle" >/dev/null
	rm -rf "$FILE_TMP/bundle"
	add_layer "$L" base "$FILE_TMP/l2.tar.gz" <<<'f etc/second data=second-layer'
	# more: base plus one layer (shares every blob but its own and the config)
	cp -r "$L" "$FILE_TMP/more"
	add_layer "$FILE_TMP/more" base "$FILE_TMP/l3.tar.gz" <<<'f etc/third data=third-layer'
	# big: base plus 3 MB that do not compress (chunks to cut off)
	cp -r "$L" "$FILE_TMP/big"
	head -c 3000000 /dev/urandom >"$FILE_TMP/random"
	python3 - "$FILE_TMP/random" "$FILE_TMP/big.tar.gz" <<'PY'
import gzip, io, sys, tarfile
data = open(sys.argv[1], "rb").read()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    ti = tarfile.TarInfo("random"); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
open(sys.argv[2], "wb").write(gzip.compress(buf.getvalue(), 1))
PY
	python3 "$BATS_TEST_DIRNAME/oci-add-layer.py" "$FILE_TMP/big" base "$FILE_TMP/big.tar.gz"
	# zstd: base plus a zstd layer (no Docker schema 2 type for it)
	cp -r "$L" "$FILE_TMP/zstd"
	add_layer "$FILE_TMP/zstd" base "$FILE_TMP/l4.tar.zst" <<<'f etc/zstd data=zstd-layer'
}

teardown_file() {
	rm -rf "$FILE_TMP"
}

setup() {
	S=$(mktemp -d)
	export FB_STORE=$S/store FB_RUN_CACHE=$S/run
	mkdir -p "$FB_RUN_CACHE"
}

teardown() {
	[ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null
	[ -n "${PUSH_PID:-}" ] && kill -9 "$PUSH_PID" 2>/dev/null
	local d
	for d in "$S"/reg*; do
		[ -d "$d" ] && stop_registry "$d"
	done
	rm -rf "$S"
}

# image LAYOUT: the layout's image into the store; its .image document
image() {
	fb-fetch image --ref "oci:$1:base" 2>/dev/null
}

# lines of the registry's access log sent by firebuild, from line $2 on
log_from() {
	tail -n +"${2:-1}" "$1/log" | grep '"firebuild/' || true
}
# how many of those match the regex
count() {
	log_from "$1" "$3" | grep -cE -- "$2" || true
}

manifest_code() { # manifest_code REPO TAG: the registry's HTTP status for it
	curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/$1/manifests/$2"
}

@test "push to an open registry: the store's manifest byte for byte; skopeo and podman read it, JSON progress per blob" {
	start_registry "$S/reg" open
	image "$FILE_TMP/oci" >"$S/img.json"
	run_split fb-fetch push --log-format=json --ref "$REG/test/app:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	local want
	want=$(jq -r .image.digest "$S/img.json")
	[ "$(jq -r .push.digest <<<"$output")" = "$want" ]
	[ "$(jq -r .push.ref <<<"$output")" = "$REG/test/app:1" ]
	[ "$(jq -r .push.media_type <<<"$output")" = application/vnd.oci.image.manifest.v1+json ]
	# the document goes on: .image untouched, .push added
	json_eq "$(jq -c .image <<<"$output")" "$(jq -c .image "$S/img.json")"
	# two layers and the config, uploaded, in that order
	[ "$(jq -r '[.push.blobs[].status] | join(",")' <<<"$output")" = uploaded,uploaded,uploaded ]
	[ "$(jq -r '.push.blobs[-1].digest' <<<"$output")" = "$(jq -r .image.config_digest "$S/img.json")" ]
	# progress: JSON lines, and one per blob when it ends
	[ "$(grep '"msg":"progress"' <<<"$stderr" | jq -r 'select(.what == "upload" and .status != "running") | .status' | sort | uniq -c | tr -s ' ')" = " 3 uploaded" ]
	# what any OCI tool sees
	run skopeo inspect --tls-verify=false "docker://$REG/test/app:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r .Digest <<<"$output")" = "$want" ]
	run skopeo copy -q --src-tls-verify=false "docker://$REG/test/app:1" "oci:$S/copy:x"
	[ "$status" -eq 0 ]
	local d
	for d in $(jq -r '.image.layers[].digest, .image.config_digest' "$S/img.json"); do
		cmp "$S/copy/blobs/sha256/${d#sha256:}" "$FB_STORE/blobs/sha256/${d#sha256:}"
	done
	if command -v podman >/dev/null; then
		run podman --root "$S/podman" --runroot "$S/podman-run" --storage-driver vfs pull -q --tls-verify=false "$REG/test/app:1"
		[ "$status" -eq 0 ]
		run podman --root "$S/podman" --runroot "$S/podman-run" --storage-driver vfs image inspect --format '{{.Digest}}' "$REG/test/app:1"
		[ "$output" = "$want" ]
	fi
}

@test "on a terminal: a bar per blob and a total on stderr, the document on stdout" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	start_registry "$S/reg" open
	image "$FILE_TMP/big" >"$S/img.json"
	run script -qec "fb-fetch push --chunk-size=256K --ref $REG/test/tty:1 <$S/img.json >$S/out.json" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"upload: "*" MB / "*" MB"* ]]
	[[ "$output" == *"[####################]"*uploaded* ]]
	[[ "$output" != *'"msg":"progress"'* ]]
	[ "$(jq -r '[.push.blobs[].status] | unique | join(",")' "$S/out.json")" = uploaded ]
}

@test "blobs the repository has are not sent again; a new image sends only its own layer and config" {
	start_registry "$S/reg" open
	image "$FILE_TMP/oci" | fb-fetch push --ref "$REG/test/app:1" >/dev/null 2>&1
	local n0
	n0=$(($(wc -l <"$REGDIR/log") + 1))
	run_split bash -c "fb-fetch image --ref oci:$FILE_TMP/oci:base 2>/dev/null | fb-fetch push --ref $REG/test/app:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.push.blobs[].status] | join(",")' <<<"$output")" = exists,exists,exists ]
	[ "$(jq -r .push.bytes_uploaded <<<"$output")" = 0 ]
	# the registry's log: a HEAD a blob and the manifest, nothing uploaded
	[ "$(count "$REGDIR" '"HEAD /v2/test/app/blobs/sha256:[0-9a-f]{64} HTTP/1.1" 200' "$n0")" -eq 3 ]
	[ "$(count "$REGDIR" '"(POST|PATCH) ' "$n0")" -eq 0 ]
	[ "$(count "$REGDIR" '"PUT /v2/test/app/blobs/' "$n0")" -eq 0 ]
	[ "$(count "$REGDIR" '"PUT /v2/test/app/manifests/1 HTTP/1.1" 201' "$n0")" -eq 1 ]
	# a second image on the same base: its layer and its config only
	n0=$(($(wc -l <"$REGDIR/log") + 1))
	run_split bash -c "fb-fetch image --ref oci:$FILE_TMP/more:base 2>/dev/null | fb-fetch push --ref $REG/test/app:2"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.push.blobs[].status] | join(",")' <<<"$output")" = exists,exists,uploaded,uploaded ]
	[ "$(count "$REGDIR" '"POST /v2/test/app/blobs/uploads/ HTTP/1.1" 202' "$n0")" -eq 2 ]
	[ "$(count "$REGDIR" '"PUT /v2/test/app/blobs/uploads/[^ ]*digest=sha256%3A[0-9a-f]{64} HTTP/1.1" 201' "$n0")" -eq 2 ]
	[ "$(manifest_code test/app 2)" = 200 ]
}

@test "a second repository gets the blobs by mount from the first; no blob is sent again" {
	start_registry "$S/reg" open
	image "$FILE_TMP/oci" >"$S/img.json"
	fb-fetch push --ref "$REG/test/a:1" <"$S/img.json" >/dev/null 2>&1
	local n0
	n0=$(($(wc -l <"$REGDIR/log") + 1))
	run_split fb-fetch push --ref "$REG/test/b:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.push.blobs[] | "\(.status) \(.from)"] | unique | join(",")' <<<"$output")" = "mounted test/a" ]
	[ "$(count "$REGDIR" '"POST /v2/test/b/blobs/uploads/\?mount=sha256%3A[0-9a-f]{64}&from=test%2Fa HTTP/1.1" 201' "$n0")" -eq 3 ]
	[ "$(count "$REGDIR" '"(PATCH|PUT) /v2/test/b/blobs/' "$n0")" -eq 0 ]
	run skopeo inspect --tls-verify=false "docker://$REG/test/b:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r .Digest <<<"$output")" = "$(jq -r .image.digest "$S/img.json")" ]
}

@test "htpasswd registry: refused without credentials (no manifest); --creds, --creds-file and ~/.docker/config.json push" {
	start_registry "$S/reg" basic
	image "$FILE_TMP/oci" >"$S/img.json"
	run_split fb-fetch push --ref "$REG/test/app:1" <"$S/img.json"
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.kind <<<"$output")" = auth ]
	[[ "$stderr" == *"--creds"* ]]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -u fbuser:fbpass "http://$REG/v2/test/app/manifests/1")" = 404 ]
	run_split fb-fetch push --creds fbuser:wrong --ref "$REG/test/app:1" <"$S/img.json"
	[ "$status" -eq 1 ]
	run_split fb-fetch push --creds fbuser:fbpass --ref "$REG/test/app:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	printf 'fbuser:fbpass\n' >"$S/creds"
	run_split fb-fetch push --creds-file "$S/creds" --ref "$REG/test/app:2" <"$S/img.json"
	[ "$status" -eq 0 ]
	mkdir -p "$S/home/.docker"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf fbuser:fbpass | base64)" >"$S/home/.docker/config.json"
	HOME=$S/home run_split fb-fetch push --ref "$REG/test/app:3" <"$S/img.json"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.push.blobs[].status] | unique | join(",")' <<<"$output")" = exists ]
	run skopeo inspect --tls-verify=false --creds fbuser:fbpass "docker://$REG/test/app:3"
	[ "$status" -eq 0 ]
}

@test "token registry: a pull,push token; a mount asks for pull on the source repository too" {
	start_registry "$S/reg" token
	image "$FILE_TMP/oci" >"$S/img.json"
	run_split fb-fetch push --ref "$REG/test/a:1" <"$S/img.json"
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.kind <<<"$output")" = auth ]
	: >"$REGDIR/tokens.log"
	run_split fb-fetch push --creds fbuser:fbpass --ref "$REG/test/a:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	grep -qF '[{"type": "repository", "name": "test/a", "actions": ["pull", "push"]}]' "$REGDIR/tokens.log"
	: >"$REGDIR/tokens.log"
	local n0
	n0=$(($(wc -l <"$REGDIR/log") + 1))
	run_split fb-fetch push --creds fbuser:fbpass --ref "$REG/test/b:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.push.blobs[] | "\(.status) \(.from)"] | unique | join(",")' <<<"$output")" = "mounted test/a" ]
	grep -qF '{"type": "repository", "name": "test/a", "actions": ["pull"]}' "$REGDIR/tokens.log"
	[ "$(count "$REGDIR" '&from=test%2Fa HTTP/1.1" 201' "$n0")" -eq 3 ]
	run skopeo inspect --tls-verify=false --creds fbuser:fbpass "docker://$REG/test/b:1"
	[ "$status" -eq 0 ]
}

@test "a chunked upload killed mid-way leaves no manifest, and the next push goes on where it stopped" {
	start_registry "$S/reg" open
	image "$FILE_TMP/big" >"$S/img.json"
	# the base's layers are there already: the big one is the only one sent
	image "$FILE_TMP/oci" | fb-fetch push --ref "$REG/test/big:0" >/dev/null 2>&1
	local pport size chunks
	pport=$(free_port)
	python3 "$BATS_TEST_DIRNAME/stall-proxy.py" "$pport" "$S/proxy.log" 5 >/dev/null 2>&1 3>&- &
	PROXY_PID=$!
	wait_http "http://127.0.0.1:$pport/"
	# 256 KiB chunks; the proxy holds the 5th PATCH forever
	http_proxy=http://127.0.0.1:$pport fb-fetch push --chunk-size=256K --ref "$REG/test/big:1" <"$S/img.json" \
		>"$S/first.json" 2>"$S/first.err" 3>&- &
	PUSH_PID=$!
	local i
	for i in $(seq 1 600); do
		grep -q stalled "$S/proxy.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q stalled "$S/proxy.log"
	kill -9 "$PUSH_PID"
	wait "$PUSH_PID" || true
	PUSH_PID=
	# 4 chunks went through; no manifest names the half-sent blob
	[ "$(grep -c '^PATCH ' "$S/proxy.log")" -eq 4 ]
	[ "$(manifest_code test/big 1)" = 404 ]
	[ "$(ls "$FB_RUN_CACHE/push/uploads" | wc -l)" -eq 1 ]
	[ "$(jq -r .offset "$FB_RUN_CACHE"/push/uploads/*.json)" -eq 1048576 ]
	size=$(jq -r '.image.layers[-1].size' "$S/img.json")
	chunks=$(((size + 262143) / 262144))
	local n0
	n0=$(($(wc -l <"$REGDIR/log") + 1))
	run_split fb-fetch push --log-format=json --chunk-size=256K --ref "$REG/test/big:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.push.blobs[] | select(.size == '"$size"') | "\(.status) \(.resumed_at) \(.chunks)"' <<<"$output")" = "uploaded 1048576 $((chunks - 4))" ]
	[[ "$stderr" == *'"msg":"resuming an upload"'*'"offset":"1048576"'* ]]
	# the registry was asked where the upload stood, then got only the rest
	[ "$(count "$REGDIR" '"GET /v2/test/big/blobs/uploads/[^ ]* HTTP/1.1" 204' "$n0")" -eq 1 ]
	[ "$(count "$REGDIR" '"PATCH /v2/test/big/blobs/uploads/' "$n0")" -eq $((chunks - 4)) ]
	# (the config is the only blob that starts an upload now)
	[ "$(count "$REGDIR" '"POST /v2/test/big/blobs/uploads/' "$n0")" -eq 1 ]
	[ -z "$(ls "$FB_RUN_CACHE/push/uploads")" ]
	run skopeo copy -q --src-tls-verify=false "docker://$REG/test/big:1" "oci:$S/copy:x"
	[ "$status" -eq 0 ]
	local d
	d=$(jq -r '.image.layers[-1].digest' "$S/img.json")
	cmp "$S/copy/blobs/sha256/${d#sha256:}" "$FB_STORE/blobs/sha256/${d#sha256:}"
}

@test "an upload record the registry no longer knows: a new upload, from the start" {
	start_registry "$S/reg" open
	image "$FILE_TMP/big" >"$S/img.json"
	mkdir -p "$FB_RUN_CACHE/push/uploads"
	# what a push killed before a registry restart leaves
	run_split fb-fetch push --chunk-size=1M --ref "$REG/test/big:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	local d size key
	d=$(jq -r '.image.layers[-1].digest' "$S/img.json")
	size=$(jq -r '.image.layers[-1].size' "$S/img.json")
	key=$(printf '%s\n%s\n%s' "$REG" test/other "$d" | sha256sum | cut -c1-64)
	printf '{"registry":"%s","repository":"test/other","digest":"%s","location":"http://%s/v2/test/other/blobs/uploads/0b6e4a3c-0000-4000-8000-000000000000?_state=bogus","offset":2097152,"size":%s}' \
		"$REG" "$d" "$REG" "$size" >"$FB_RUN_CACHE/push/uploads/$key.json"
	rm -rf "$FB_RUN_CACHE/push/known"
	run_split fb-fetch push --chunk-size=1M --ref "$REG/test/other:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.push.blobs[] | select(.size == '"$size"') | "\(.status) \(.resumed_at)"' <<<"$output")" = "uploaded 0" ]
	[ ! -e "$FB_RUN_CACHE/push/uploads/$key.json" ]
	run skopeo copy -q --src-tls-verify=false "docker://$REG/test/other:1" "oci:$S/copy:x"
	[ "$status" -eq 0 ]
}

@test "a failed push leaves no manifest: a damaged blob in the store is caught before it is sent" {
	start_registry "$S/reg" open
	image "$FILE_TMP/more" >"$S/img.json"
	local d
	d=$(jq -r '.image.layers[-1].digest' "$S/img.json")
	# same size, other bytes
	printf 'XXXX' | dd of="$FB_STORE/blobs/sha256/${d#sha256:}" bs=1 seek=20 conv=notrunc 2>/dev/null
	run_split fb-fetch push --ref "$REG/test/app:1" <"$S/img.json"
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.kind <<<"$output")" = digest_mismatch ]
	[[ "$stderr" == *"blob $d"*damaged* ]]
	[ "$(manifest_code test/app 1)" = 404 ]
	[ "$(count "$REGDIR" '"PUT /v2/test/app/manifests/')" -eq 0 ]
	# nothing of that blob reached the registry, and no upload was left open
	[ "$(count "$REGDIR" '"HEAD /v2/test/app/blobs/'"$d"' HTTP/1.1" 404')" -eq 1 ]
	[ "$(count "$REGDIR" '"(POST|PATCH|PUT) /v2/test/app/blobs/')" -eq 4 ]
}

@test "--format=docker: Docker schema 2 that skopeo copies; zstd layers are refused before anything is sent" {
	start_registry "$S/reg" open
	image "$FILE_TMP/oci" >"$S/img.json"
	run_split fb-fetch push --format=docker --ref "$REG/test/app:1" <"$S/img.json"
	[ "$status" -eq 0 ]
	[ "$(jq -r .push.media_type <<<"$output")" = application/vnd.docker.distribution.manifest.v2+json ]
	local digest
	digest=$(jq -r .push.digest <<<"$output")
	[ "$digest" != "$(jq -r .image.digest "$S/img.json")" ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/test/app:1"
	[ "$status" -eq 0 ]
	[ "sha256:$(printf '%s' "$output" | sha256sum | cut -c1-64)" = "$digest" ]
	json_eq "$(jq -c '{m: .mediaType, c: .config.mediaType, l: [.layers[].mediaType] | unique}' <<<"$output")" \
		'{"m":"application/vnd.docker.distribution.manifest.v2+json","c":"application/vnd.docker.container.image.v1+json","l":["application/vnd.docker.image.rootfs.diff.tar.gzip"]}'
	run skopeo copy -q --src-tls-verify=false "docker://$REG/test/app:1" "oci:$S/copy:x"
	[ "$status" -eq 0 ]
	image "$FILE_TMP/zstd" >"$S/zst.json"
	run_split fb-fetch push --format=docker --ref "$REG/test/zst:1" <"$S/zst.json"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *".layers[2]: media type application/vnd.oci.image.layer.v1.tar+zstd has no equivalent"* ]]
	[ "$(count "$REGDIR" 'test/zst')" -eq 0 ]
	# as OCI it goes
	run_split fb-fetch push --ref "$REG/test/zst:1" <"$S/zst.json"
	[ "$status" -eq 0 ]
}

@test "firebuild push: a built image goes up (its base's layers mounted from where they were pulled); another store turns it into the same files" {
	[ "$(id -u)" -eq 0 ] || skip "builds need root"
	start_registry "$S/reg" open
	push "$FILE_TMP/oci:base" test/base:1
	mkdir -p "$S/ctx"
	echo "hello from the build context" >"$S/ctx/hello.txt"
	printf 'FROM %s/test/base:1\nCOPY hello.txt /hello.txt\nRUN echo built >/built.txt\n' "$REG" >"$S/ctx/Dockerfile"
	run_split firebuild rootfs --dockerfile="$S/ctx/Dockerfile" --tag=acme/app:1.0
	[ "$status" -eq 0 ]
	# the tag's version is the registry tag when none is given
	run_split firebuild push acme/app:1.0 "$REG/acme/app"
	[ "$status" -eq 0 ]
	[ "$(jq -r .push.ref <<<"$output")" = "$REG/acme/app:1.0" ]
	[ "$(jq -r '[.push.blobs[] | "\(.status) \(.from)"] | join(",")' <<<"$output")" = \
		"mounted test/base,mounted test/base,uploaded null,uploaded null,uploaded null" ]
	[ "$(jq -r .push.digest <<<"$output")" = "$(jq -r .digest "$FB_STORE/rootfs/acme/app/1.0/image.json")" ]
	run skopeo copy -q --src-tls-verify=false "docker://$REG/acme/app:1.0" "oci:$S/copy:x"
	[ "$status" -eq 0 ]
	if command -v podman >/dev/null; then
		# podman checks each layer against the config's diff_ids
		run podman --root "$S/podman" --runroot "$S/podman-run" --storage-driver vfs pull -q --tls-verify=false "$REG/acme/app:1.0"
		[ "$status" -eq 0 ]
	fi
	# another host: its own store, the image from the registry
	FB_STORE=$S/store2 run_split firebuild rootfs --docker-image="$REG/acme/app:1.0" --tag=other/app:1
	[ "$status" -eq 0 ]
	local img
	img=$(jq -r .rootfs.path <<<"$output")
	run e2fsck -fn "$img"
	[ "$status" -eq 0 ]
	[ "$(debugfs -R 'cat /hello.txt' "$img" 2>/dev/null)" = "hello from the build context" ]
	[ "$(debugfs -R 'cat /built.txt' "$img" 2>/dev/null)" = built ]
	[ "$(debugfs -R 'cat /etc/second' "$img" 2>/dev/null)" = second-layer ]
}

@test "fb-fetch push: usage, bad documents, a tag with nothing to push, missing blobs, passed-on errors" {
	start_registry "$S/reg" open
	run_split fb-fetch push </dev/null
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.kind <<<"$output")" = usage ]
	run_split fb-fetch push --ref "$REG/x:1" --format=xml </dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--format xml: expected oci or docker"* ]]
	run_split fb-fetch push --ref "$REG/x:1" --chunk-size=10 </dev/null
	[ "$status" -eq 2 ]
	run_split fb-fetch push --ref "$REG/x:1" <<<'not json'
	[ "$status" -eq 2 ]
	run_split fb-fetch push --ref "$REG/x:1" <<<'{}'
	[ "$status" -eq 2 ]
	[[ "$stderr" == *".image: missing"* ]]
	run_split fb-fetch push --ref "$REG/x:1" <<<'{"image":{"digest":5}}'
	[ "$status" -eq 2 ]
	[[ "$stderr" == *".image.digest: expected a string, got number"* ]]
	run_split fb-fetch push --ref "$REG/x:1" <<<'{"image":{"digest":"sha256:../../etc"}}'
	[ "$status" -eq 2 ]
	# a tag made from an ext4 alone (firebuild import's --tree and the like)
	run_split fb-fetch push --ref "$REG/x:1" <<<'{"image":{"name":"a","version":"1","digest":null}}'
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"nothing to push"* ]]
	run_split fb-fetch push --ref "$REG/x:1" <<<"{\"image\":{\"digest\":\"sha256:$(printf x | sha256sum | cut -c1-64)\"}}"
	[ "$status" -eq 3 ]
	image "$FILE_TMP/oci" >"$S/img.json"
	run_split fb-fetch push --ref "oci:$S/layout:x" <"$S/img.json"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"not a registry reference"* ]]
	run_split fb-fetch push --ref "$REG/UPPER:1" <"$S/img.json"
	[ "$status" -eq 2 ]
	# another store than the document's: it says which
	run_split fb-fetch push --store "$S/other" --ref "$REG/x:1" <"$S/img.json"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"is not in the store $S/other (the document says it is in $FB_STORE: give --store)"* ]]
	# a digest reference must be the manifest's
	run_split fb-fetch push --ref "$REG/x@sha256:$(printf x | sha256sum | cut -c1-64)" <"$S/img.json"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"not the digest the reference names"* ]]
	# a layer gone from the store: exit 3 before the registry hears of it
	local d
	d=$(jq -r '.image.layers[0].digest' "$S/img.json")
	mv "$FB_STORE/blobs/sha256/${d#sha256:}" "$S/saved"
	run_split fb-fetch push --ref "$REG/x:1" <"$S/img.json"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"layer $d is not in the store"* ]]
	[ "$(count "$REGDIR" .)" -eq 0 ]
	mv "$S/saved" "$FB_STORE/blobs/sha256/${d#sha256:}"
	# by digest it goes when the digest is the manifest's
	run_split fb-fetch push --ref "$REG/x@$(jq -r .image.digest "$S/img.json")" <"$S/img.json"
	[ "$status" -eq 0 ]
	# an earlier tool's error goes on unchanged
	local e='{"error":{"tool":"fb-tag","kind":"not_found","message":"no such image"}}'
	run_split fb-fetch push --ref "$REG/x:1" <<<"$e"
	[ "$status" -eq 1 ]
	json_eq "$output" "$e"
	# firebuild push: the same pipeline, its usage
	run_split firebuild push only-one-arg
	[ "$status" -eq 2 ]
	run_split firebuild push nosuch/image:1 "$REG/x:1"
	[ "$status" -eq 3 ]
}
