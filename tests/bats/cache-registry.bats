#!/usr/bin/env bats
# The build cache through a registry (firebuild rootfs --cache-to and
# --cache-from, fb-fetch cache-export and cache-import) against Debian's
# docker-registry on 127.0.0.1: two stores stand for two hosts. A RUN that
# writes random bytes proves what ran: the same bytes in the second
# store's ext4 (read with debugfs) mean its step did not run there.

load helpers
load registry

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "builds need root (RUN runs in namespaces)"
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	command -v debugfs >/dev/null || skip "debugfs is not installed"
	need_registry_tools
	export FILE_TMP REG REGDIR
	FILE_TMP=$(mktemp -d)
	start_registry "$FILE_TMP/reg" open
}

teardown_file() {
	stop_registry "$FILE_TMP/reg"
	rm -rf "$FILE_TMP"
}

setup() {
	S=$(mktemp -d)
	export FB_RUN_CACHE=$S/run
	mkdir -p "$FB_RUN_CACHE" "$S/ctx"
	cp /bin/busybox "$S/ctx/busybox"
	echo one >"$S/ctx/a.txt"
	# stage 0 the base, 1 a builder, 2 the final image (FROM the base,
	# COPY --from the builder)
	cat >"$S/ctx/Dockerfile" <<'EOF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM base AS builder
RUN head -c 16 /dev/urandom | od -x > /builder-rand

FROM base
COPY a.txt /a.txt
RUN head -c 16 /dev/urandom | od -x > /final-rand
COPY --from=builder /builder-rand /builder-rand
EOF
}

teardown() {
	rm -rf "$S"
}

build() { # build STORE [FLAGS]: firebuild rootfs of $S/ctx, tagged t:1; output in $S/STORE.json
	local store=$1
	shift
	run_split firebuild rootfs --store="$S/$store" --dockerfile="$S/ctx/Dockerfile" --tag=t:1 "$@"
	echo "$output" >"$S/$store.json"
}

# STAGE:STATUS of each step that changes files, by stage (a stage made
# only when a later step needs it is listed where that happened)
statuses() {
	jq -r '[.build.steps[] | select(.status != "metadata")] | sort_by(.stage) | map("\(.stage):\(.status)") | join(" ")' "$S/$1.json"
}

# a file of STORE's t:1, read from its ext4 with debugfs
file_in() {
	local rootfs
	rootfs=$(fb-tag --store "$S/$1" get t:1 | jq -r .image.rootfs)
	debugfs -R "cat /$2" "$rootfs" 2>/dev/null
}

push_blob() { # push_blob REPO FILE: upload it, print its digest
	local d loc sep
	d=sha256:$(sha256sum <"$2" | cut -c1-64)
	loc=$(curl -s -D - -o /dev/null -X POST "http://$REG/v2/$1/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	case $loc in http*) ;; *) loc="http://$REG$loc" ;; esac
	case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
	curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$2" "$loc${sep}digest=$d"
	echo "$d"
}

# push_cache REPO:TAG CONFIG-FILE [CONFIG-MEDIA-TYPE]: an artifact with that config and no layers
push_cache() {
	local repo=${1%:*} tag=${1##*:} cd size
	cd=$(push_blob "$repo" "$2")
	size=$(stat -c %s "$2")
	jq -nc --arg d "$cd" --argjson s "$size" --arg mt "${3:-application/vnd.firebuild.cache.config.v1+json}" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: {mediaType: $mt, digest: $d, size: $s}, layers: []}' >"$S/manifest.json"
	curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$S/manifest.json" "http://$REG/v2/$repo/manifests/$tag"
}

@test "--cache-to in one store, --cache-from in another: the final image's steps run nowhere but the first; the same bytes, the same image" {
	build A --cache-to="$REG/t1/app:cache"
	[ "$status" -eq 0 ]
	[ "$(statuses A)" = "0:executed 0:executed 1:executed 2:executed 2:executed 2:executed" ]
	[ "$(jq -r .cache_export.ref "$S/A.json")" = "$REG/t1/app:cache" ]
	[ "$(jq -r .cache_export.mode "$S/A.json")" = min ]
	# min: the final stage and the stage it is FROM (5 steps), not the builder
	[ "$(jq -r .cache_export.entries "$S/A.json")" = 5 ]
	# an OCI artifact any tool reads: our config type, the layers as blobs
	run skopeo inspect --raw --tls-verify=false "docker://$REG/t1/app:cache"
	[ "$status" -eq 0 ]
	[ "$(jq -r .config.mediaType <<<"$output")" = application/vnd.firebuild.cache.config.v1+json ]
	[ "$(jq -r .artifactType <<<"$output")" = application/vnd.firebuild.cache.v1 ]
	[ "$(jq -r '.layers | length' <<<"$output")" -ge 4 ]

	build B --cache-from="$REG/t1/app:cache"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.cache_import[0].imported' "$S/B.json")" = 5 ]
	[ "$(jq -r '.cache_import[0].error' "$S/B.json")" = null ]
	# the final image's steps all came from the cache; with min the builder
	# stage is not in it, and nothing needs its result (the COPY --from
	# that reads it is cached): its RUN does not run at all, as with BuildKit
	[ "$(statuses B)" = "0:cached 0:cached 1:skipped 2:cached 2:cached 2:cached" ]
	[ "$(jq -r .image.digest "$S/B.json")" = "$(jq -r .image.digest "$S/A.json")" ]
	local a b
	a=$(file_in A final-rand)
	b=$(file_in B final-rand)
	[ -n "$a" ] && [ "$a" = "$b" ]
	[ "$(file_in A builder-rand)" = "$(file_in B builder-rand)" ]
	store_consistent "$S/B"
}

@test "a changed context file: only the steps after it run; mode=max brings the builder stage's steps too" {
	build A --cache-to="type=registry,ref=$REG/t2/app:cache,mode=max"
	[ "$status" -eq 0 ]
	[ "$(jq -r .cache_export.mode "$S/A.json")" = max ]
	[ "$(jq -r .cache_export.entries "$S/A.json")" = 6 ]
	echo two >"$S/ctx/a.txt"
	build B --cache-from="type=registry,ref=$REG/t2/app:cache"
	[ "$status" -eq 0 ]
	# the base and the builder come from the cache; from COPY a.txt on, B runs
	[ "$(statuses B)" = "0:cached 0:cached 1:cached 2:executed 2:executed 2:executed" ]
	[ "$(file_in B a.txt)" = two ]
	# the builder's RUN did not run in B: A's bytes; the final RUN did
	[ "$(file_in A builder-rand)" = "$(file_in B builder-rand)" ]
	[ "$(file_in A final-rand)" != "$(file_in B final-rand)" ]
}

@test "mode=min against mode=max: the builder stage's RUN runs again only with min, once its result is needed" {
	build A --cache-to="$REG/t3/app:min,mode=min"
	[ "$status" -eq 0 ]
	# a second build of A, all cached, exports the same steps with max
	build A --cache-to="$REG/t3/app:max,mode=max"
	[ "$status" -eq 0 ]
	[ "$(statuses A)" = "0:cached 0:cached 1:cached 2:cached 2:cached 2:cached" ]
	[ "$(jq -r .cache_export.entries "$S/A.json")" = 6 ]
	build Bmin --cache-from="$REG/t3/app:min"
	[ "$status" -eq 0 ]
	[ "$(statuses Bmin)" = "0:cached 0:cached 1:skipped 2:cached 2:cached 2:cached" ]
	build Bmax --cache-from="$REG/t3/app:max"
	[ "$status" -eq 0 ]
	[ "$(statuses Bmax)" = "0:cached 0:cached 1:cached 2:cached 2:cached 2:cached" ]
	# both give A's image
	[ "$(jq -r .image.digest "$S/Bmin.json")" = "$(jq -r .image.digest "$S/A.json")" ]
	[ "$(jq -r .image.digest "$S/Bmax.json")" = "$(jq -r .image.digest "$S/A.json")" ]
	# the store's own entries come first: a second import brings only the
	# builder's step
	build Bmin --cache-from="$REG/t3/app:min" --cache-from="$REG/t3/app:max"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.cache_import[0].present' "$S/Bmin.json")" = 5 ]
	[ "$(jq -r '.cache_import[1].present' "$S/Bmin.json")" = 5 ]
	[ "$(jq -r '.cache_import[1].imported' "$S/Bmin.json")" = 1 ]
	# min, and the final stage changes before its COPY --from: now the
	# builder's result is needed, and with min its RUN runs
	echo two >"$S/ctx/a.txt"
	build Bmin2 --cache-from="$REG/t3/app:min"
	[ "$status" -eq 0 ]
	[ "$(statuses Bmin2)" = "0:cached 0:cached 1:executed 2:executed 2:executed 2:executed" ]
	build Bmax2 --cache-from="$REG/t3/app:max"
	[ "$status" -eq 0 ]
	[ "$(statuses Bmax2)" = "0:cached 0:cached 1:cached 2:executed 2:executed 2:executed" ]
}

@test "a cache ref that does not exist, or an image that is no cache: a warning, every step runs, exit 0" {
	build B --cache-from="$REG/t4/none:cache"
	[ "$status" -eq 0 ]
	grep -q "cache $REG/t4/none:cache not used: .*manifest unknown" <<<"$stderr"
	[ "$(statuses B)" = "0:executed 0:executed 1:executed 2:executed 2:executed 2:executed" ]
	[ "$(jq -r '.cache_import[0].error' "$S/B.json")" != null ]
	# an image pushed where the cache should be
	fb-tag --store "$S/B" get t:1 | fb-fetch push --store "$S/B" --ref "$REG/t4/image:1" >/dev/null 2>&1
	build C --cache-from="$REG/t4/image:1"
	[ "$status" -eq 0 ]
	grep -q "not a firebuild build cache" <<<"$stderr"
	[ "$(statuses C)" = "0:executed 0:executed 1:executed 2:executed 2:executed 2:executed" ]
}

@test "a cache config that is not ours or is malformed: a warning naming the member, every step runs" {
	echo '{"entries":[{"key":12}]}' >"$S/bad1.json"
	push_cache t5/bad:1 "$S/bad1.json"
	echo '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$S/bad2.json"
	push_cache t5/bad:2 "$S/bad2.json"
	printf '{"entries": [' >"$S/bad3.json"
	push_cache t5/bad:3 "$S/bad3.json"
	push_cache t5/bad:4 "$S/bad2.json" application/vnd.oci.image.config.v1+json
	build B --cache-from="$REG/t5/bad:1" --cache-from="$REG/t5/bad:2" --cache-from="$REG/t5/bad:3" \
		--cache-from="$REG/t5/bad:4" --log-format=text
	[ "$status" -eq 0 ]
	grep -q "t5/bad:1 not used: config sha256:[0-9a-f]*: .entries\[0\].key: expected a string, got number" <<<"$stderr"
	grep -q "t5/bad:2 not used: config sha256:[0-9a-f]*: .entries: expected an array, got null" <<<"$stderr"
	grep -q "t5/bad:3 not used: config sha256:[0-9a-f]*: " <<<"$stderr"
	grep -q "t5/bad:4 not used: manifest sha256:[0-9a-f]*: .config.mediaType: application/vnd.oci.image.config.v1+json" <<<"$stderr"
	[ "$(jq -r '[.cache_import[].error | select(. != null)] | length' "$S/B.json")" = 4 ]
	[ "$(statuses B)" = "0:executed 0:executed 1:executed 2:executed 2:executed 2:executed" ]
	[ "$(jq -r '[.cache_import[].imported] | add' "$S/B.json")" = 0 ]
}

@test "a layer whose bytes do not match its digest: that step runs, the others come from the cache, never a wrong image" {
	build A --cache-to="$REG/t6/app:cache"
	[ "$status" -eq 0 ]
	# the registry's copy of the final RUN's layer, changed (same size)
	local layer hex data
	layer=$(jq -r '.build.steps[] | select(.instruction | startswith("RUN head")) | select(.stage == 2) | .layer' "$S/A.json")
	hex=${layer#sha256:}
	data="$REGDIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
	[ -f "$data" ]
	python3 - "$data" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.find(b"final-rand")
b[i:i + 10] = b"final-XXXX"
open(p, "wb").write(bytes(b))
PY
	build B --cache-from="$REG/t6/app:cache"
	[ "$status" -eq 0 ]
	grep -q "$layer" <<<"$stderr"
	grep -q "digest" <<<"$stderr"
	[ "$(jq -r '.cache_import[0].skipped' "$S/B.json")" = 1 ]
	[ "$(jq -r '.cache_import[0].imported' "$S/B.json")" = 4 ]
	# the RUN ran (its own bytes); COPY --from's key does not depend on it
	[ "$(statuses B)" = "0:cached 0:cached 1:skipped 2:cached 2:executed 2:cached" ]
	[ "$(file_in A final-rand)" != "$(file_in B final-rand)" ]
	[ -n "$(file_in B final-rand)" ]
	[ ! -e "$S/B/blobs/sha256/$hex" ]
	store_consistent "$S/B"
	# the ext4 holds what the image says: a layer of B's own in place of the broken one
	[ "$(jq -r '.image.layers | length' "$S/B.json")" = 5 ]
	! jq -r '.image.layers[].digest' "$S/B.json" | grep -q "$layer"
}

@test "fb-fetch cache-import and cache-export by hand: the document passes through; usage, input and export errors" {
	# the pipeline by hand, as the dispatcher runs it
	fb-fetch source --dockerfile "$S/ctx/Dockerfile" | fb-parse >"$S/plan.json"
	run_split fb-fetch cache-import --store "$S/A" --ref "$REG/t7/none:1" <"$S/plan.json"
	[ "$status" -eq 0 ]
	json_eq "$(jq -c 'del(.cache_import)' <<<"$output")" "$(jq -c . "$S/plan.json")"
	[ "$(jq -r '.cache_import[0].digest' <<<"$output")" = null ]
	fb-mkrootfs --store "$S/A" <"$S/plan.json" >"$S/mk.json" 2>/dev/null
	run_split fb-fetch cache-export --store "$S/A" --ref "$REG/t7/app" --mode max <"$S/mk.json"
	[ "$status" -eq 0 ]
	# no tag: :cache
	[ "$(jq -r .cache_export.ref <<<"$output")" = "$REG/t7/app:cache" ]
	[ "$(jq -r .cache_export.entries <<<"$output")" = 6 ]
	json_eq "$(jq -c 'del(.cache_export)' <<<"$output")" "$(jq -c . "$S/mk.json")"
	# usage: no --ref, a bad reference, --mode on an import
	run_split fb-fetch cache-import </dev/null
	[ "$status" -eq 2 ]
	run_split fb-fetch cache-import --ref "oci:/tmp/x" </dev/null
	[ "$status" -eq 2 ]
	grep -q "not a registry reference" <<<"$stderr"
	run_split fb-fetch cache-import --ref "$REG/a/b" --mode max </dev/null
	[ "$status" -eq 2 ]
	# a document that built nothing has nothing to export
	run_split fb-fetch cache-export --store "$S/A" --ref "$REG/t7/app" <"$S/plan.json"
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = ".build: missing: the document built nothing (give fb-mkrootfs's document of a Dockerfile build)" ]
	# an error object passes through both
	echo '{"error":{"tool":"fb-parse","kind":"x","message":"m"}}' >"$S/err.json"
	run_split fb-fetch cache-import --store "$S/A" --ref "$REG/a/b" <"$S/err.json"
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.tool <<<"$output")" = fb-parse ]
	# a registry that refuses: exit 1, unless --ignore-error
	run_split fb-fetch cache-export --store "$S/A" --ref "127.0.0.1:1/t7/app" <"$S/mk.json"
	[ "$status" -eq 1 ]
	run_split fb-fetch cache-export --store "$S/A" --ref "127.0.0.1:1/t7/app" --ignore-error <"$S/mk.json"
	[ "$status" -eq 0 ]
	grep -q "ignored: --ignore-error" <<<"$stderr"
	[ "$(jq -r .cache_export <<<"$output")" = null ]
	# the dispatcher: the cache flags go with --dockerfile only, and are checked
	run_split firebuild rootfs --store="$S/A" --docker-image="$REG/x/y:1" --tag=t:2 --cache-from="$REG/a/b"
	[ "$status" -eq 2 ]
	run_split firebuild rootfs --store="$S/A" --dockerfile="$S/ctx/Dockerfile" --tag=t:2 --cache-to="type=local,dest=$S/x"
	[ "$status" -eq 2 ]
	grep -q "only type=registry" <<<"$stderr"
}

@test "entries whose layer is compressed, or whose size is not the manifest's: skipped with a warning, their steps run" {
	build A
	[ "$status" -eq 0 ]
	local kcopy lcopy krun lrun gz szc szg
	kcopy=$(jq -r '.build.steps[] | select(.stage == 0 and (.instruction | startswith("COPY"))) | .key' "$S/A.json")
	lcopy=$(jq -r '.build.steps[] | select(.stage == 0 and (.instruction | startswith("COPY"))) | .layer' "$S/A.json")
	krun=$(jq -r '.build.steps[] | select(.stage == 2 and (.instruction | startswith("RUN"))) | .key' "$S/A.json")
	lrun=$(jq -r '.build.steps[] | select(.stage == 2 and (.instruction | startswith("RUN"))) | .layer' "$S/A.json")
	# the RUN's layer gzipped: a valid blob of another digest, listed as a plain tar
	gzip -c "$S/A/blobs/sha256/${lrun#sha256:}" >"$S/run.tar.gz"
	gz=$(push_blob t8/bad "$S/run.tar.gz")
	szg=$(stat -c %s "$S/run.tar.gz")
	cp "$S/A/blobs/sha256/${lcopy#sha256:}" "$S/copy.tar"
	[ "$(push_blob t8/bad "$S/copy.tar")" = "$lcopy" ]
	szc=$(stat -c %s "$S/copy.tar")
	jq -nc --arg kc "$kcopy" --arg lc "$lcopy" --argjson sc "$((szc + 1))" --arg kr "$krun" --arg lr "$gz" --argjson sr "$szg" \
		'{mode: "min", entries: [{key: $kc, layer: $lc, size: $sc}, {key: $kr, layer: $lr, size: $sr}]}' >"$S/cfg.json"
	local cd
	cd=$(push_blob t8/bad "$S/cfg.json")
	jq -nc --arg cd "$cd" --argjson cs "$(stat -c %s "$S/cfg.json")" --arg lc "$lcopy" --argjson sc "$szc" --arg lr "$gz" --argjson sr "$szg" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: {mediaType: "application/vnd.firebuild.cache.config.v1+json", digest: $cd, size: $cs},
		  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $lc, size: $sc},
		           {mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $lr, size: $sr}]}' >"$S/manifest.json"
	curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$S/manifest.json" "http://$REG/v2/t8/bad/manifests/1"
	build B --cache-from="$REG/t8/bad:1" --log-format=text
	[ "$status" -eq 0 ]
	[ "$(jq -c '.cache_import[0] | [.entries, .imported, .skipped]' "$S/B.json")" = "[2,0,2]" ]
	[[ "$stderr" == *"its layer is not in the cache's manifest"*"$lcopy"* ]]
	[[ "$stderr" == *"$gz"*"not an uncompressed tar"* ]]
	[ "$(statuses B)" = "0:executed 0:executed 1:executed 2:executed 2:executed 2:executed" ]
	[ ! -e "$S/B/cache/${krun#sha256:}.json" ] || [ "$(jq -r .layer "$S/B/cache/${krun#sha256:}.json")" != "$gz" ]
}

@test "a stage the image only reads from runs when its result is needed: its failing RUN still fails the build, with its line" {
	printf 'FROM scratch AS base\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nFROM base AS bad\nRUN echo no; exit 3\nFROM base\nRUN echo final > /f\nCOPY --from=bad /x /x\n' >"$S/ctx/Dockerfile"
	build A --log-format=text
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Dockerfile:5 RUN: NOT RUN (nothing needs its result yet)"* ]]
	[[ "$stderr" == *"error: $S/ctx/Dockerfile:5: RUN echo no; exit 3: exit code 3"* ]]
	[ "$(jq -r .error.where.line <<<"$output")" = 5 ]
	# nothing tagged
	run fb-tag --store "$S/A" get t:1
	[ "$status" -eq 3 ]
}
