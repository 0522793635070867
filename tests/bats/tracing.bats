#!/usr/bin/env bats
# Tracing (issue 7): --tracing-enable sends OpenTelemetry spans (OTLP over
# HTTP, JSON) to --tracing-collector-host-port; a receiver the tests start on
# 127.0.0.1 records them, and otlp-check.py validates the structure and the
# trace (one trace, every parent there, the names asked for). VM and CNI
# spans are taken inside a network namespace the test makes.

load helpers
load registry

setup_file() {
	export D FB_STORE FB_RUN_CACHE KERNEL PORT
	D=$(mktemp -d /tmp/fbtr.XXXXXX)
	FB_STORE="$D/store"
	FB_RUN_CACHE="$D/rc"
	firebuild baseos --dockerfile="$FB_ROOT/baseos/busybox" --tag=fb/busybox:1 >/dev/null 2>&1
	KERNEL=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
	if [ -f "$KERNEL" ] && command -v qemu-system-x86_64 >/dev/null; then
		firebuild kernel add --id=k "$KERNEL" >/dev/null
	fi
	python3 "$BATS_TEST_DIRNAME/otlp-receiver.py" "$D/spans.jsonl" >"$D/port" 2>/dev/null 3>&- &
	echo $! >"$D/receiver.pid"
	local i
	for i in $(seq 1 50); do [ -s "$D/port" ] && break; sleep 0.1; done
	PORT=$(cat "$D/port")
	mkdir -p "$D/ctx"
	printf 'FROM fb/busybox:1\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\nCMD ["cat", "/b.txt"]\n' >"$D/ctx/Dockerfile"
	echo traced >"$D/ctx/a.txt"
}

teardown_file() {
	[ -f "${D:-}/receiver.pid" ] && kill "$(cat "$D/receiver.pid")" 2>/dev/null
	[ -n "${D:-}" ] && rm -rf "$D"
	return 0
}

setup() {
	python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is needed"
	: >"$D/spans.jsonl"
}

TRACE() { echo "--tracing-enable --tracing-collector-host-port=127.0.0.1:$PORT"; }

@test "rootfs: one trace over every process, a span per step (executed, then cached), valid OTLP JSON, the trace id in every log line" {
	# shellcheck disable=SC2046
	run --separate-stderr firebuild rootfs --dockerfile="$D/ctx/Dockerfile" --tag=tr/a:1 --log-as-json $(TRACE)
	[ "$status" -eq 0 ]
	run python3 "$BATS_TEST_DIRNAME/otlp-check.py" "$D/spans.jsonl" "firebuild rootfs" fb-fetch fb-parse fb-mkrootfs \
		"step 0 " "layer apply" "ext4 write" fb-tag fb-exec
	echo "$output"
	[ "$status" -eq 0 ]
	# the parents: processes under the command, steps under fb-mkrootfs
	[[ "$output" == *"fb-mkrootfs (firebuild rootfs)"* ]]
	[[ "$output" == *"ext4 write (fb-mkrootfs)"* ]]
	[[ "$output" == *"fb-exec (step 0 "*"RUN)"* ]]
	local trace
	trace=$(head -1 "$D/spans.jsonl" | jq -r '.resourceSpans[0].scopeSpans[0].spans[0].traceId')
	run bash -c "jq -r '.resourceSpans[].scopeSpans[].spans[] | select(.name | startswith(\"step\")) | .attributes[] | select(.key == \"status\") | .value.stringValue' $D/spans.jsonl | sort -u | tr '\n' ' '"
	[ "$output" = "executed metadata " ]
	# every log line of every tool carries the trace id
	run --separate-stderr firebuild rootfs --dockerfile="$D/ctx/Dockerfile" --tag=tr/a:2 --log-as-json \
		--tracing-enable --tracing-collector-host-port=127.0.0.1:$PORT
	[ "$status" -eq 0 ]
	local lines with
	lines=$(grep -c '^{' <<<"$stderr")
	with=$(grep -c '"trace_id":"[0-9a-f]\{32\}"' <<<"$stderr")
	[ "$lines" -gt 3 ]
	[ "$lines" -eq "$with" ]
	[ "$(grep -o '"trace_id":"[0-9a-f]*"' <<<"$stderr" | sort -u | wc -l)" -eq 1 ]
	# the second build: the steps were cached
	run bash -c "jq -r '.resourceSpans[].scopeSpans[].spans[] | select(.name | startswith(\"step\")) | .attributes[] | select(.key == \"status\") | .value.stringValue' $D/spans.jsonl | sort -u | tr '\n' ' '"
	[[ "$output" == *cached* ]]
	[ -n "$trace" ]
}

@test "run on a CNI network: jail, VMM start, guest boot and CNI ADD/DEL spans in one trace" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	mkdir -p "$D/conf"
	cat >"$D/conf/tr.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "trnet", "plugins": [
  {"type": "bridge", "bridge": "trbr0", "isGateway": true,
   "ipam": {"type": "host-local", "subnet": "10.91.0.0/24", "dataDir": "$D/ipam"}},
  {"type": "tc-redirect-tap"}]}
JSON
	# the namespace's own 127.0.0.1: a receiver of its own in there
	: >"$D/spans-net.jsonl"
	run --separate-stderr unshare --net bash -c "ip link set lo up
		python3 $BATS_TEST_DIRNAME/otlp-receiver.py $D/spans-net.jsonl > $D/port-net 2>/dev/null &
		for i in \$(seq 1 50); do [ -s $D/port-net ] && break; sleep 0.1; done
		firebuild run --from=tr/a:1 --cni-network-name=trnet \
			--cni-conf-dir=$D/conf --cni-bin-dir=/usr/lib/cni --cni-bin-dir=$FB_BIN \
			--tracing-enable --tracing-collector-host-port=127.0.0.1:\$(cat $D/port-net)
		rc=\$?
		kill %1
		exit \$rc"
	[ "$status" -eq 0 ]
	[[ "$output" == *traced* ]]
	run python3 "$BATS_TEST_DIRNAME/otlp-check.py" "$D/spans-net.jsonl" "firebuild run" fb-net "cni ADD bridge" \
		"cni ADD tc-redirect-tap" "cni DEL bridge" fb-jail jail "vmm start" "guest boot" "first guest line" vm
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cni ADD bridge (fb-net)"* ]]
	[[ "$output" == *"guest boot (vm)"* ]]
	[[ "$output" == *"fb-jail (firebuild run)"* ]]
}

@test "--tracing-log-enable logs each span as it ends; --timings says where the time went" {
	# shellcheck disable=SC2046
	run --separate-stderr firebuild rootfs --dockerfile="$D/ctx/Dockerfile" --tag=tr/a:3 --log-format=text \
		$(TRACE) --tracing-log-enable --timings
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"fb-mkrootfs: span name=ext4 write duration="*"s span_id="* ]]
	[[ "$stderr" == *"Timings ("*" s in all):"* ]]
	[[ "$stderr" == *"  firebuild rootfs "* ]]
	[[ "$stderr" == *"    fb-mkrootfs "* ]]
	[[ "$stderr" == *"step 0 "*"COPY"*"cached"* ]]
	# --timings alone (no collector) works as well, and leaves no spool behind
	mkdir -p "$D/tmpdir"
	TMPDIR="$D/tmpdir" run --separate-stderr firebuild rootfs --dockerfile="$D/ctx/Dockerfile" --tag=tr/a:4 --timings --log-format=text
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"ext4 write"* ]]
	[ -z "$(ls -A "$D/tmpdir")" ]
}

@test "run --timings: the VM's part" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	run --separate-stderr firebuild run --from=tr/a:1 --timings --log-format=text
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"Timings ("* ]]
	[[ "$stderr" == *"guest boot"* ]]
	[[ "$stderr" == *"first guest line"* ]]
	[[ "$stderr" == *"jail"* ]]
}

@test "a collector that is down or never answers costs a warning, not the command" {
	local dead
	dead=$(free_port)
	run --separate-stderr firebuild rootfs --dockerfile="$D/ctx/Dockerfile" --tag=tr/a:5 --log-format=text \
		--tracing-enable --tracing-collector-host-port=127.0.0.1:$dead
	[ "$status" -eq 0 ]
	[ "$(grep -c 'tracing: the collector at http://127.0.0.1:'"$dead"'/v1/traces does not take OTLP/HTTP (.*): spans not sent' <<<"$stderr")" -eq 1 ]
	# one that accepts and says nothing: the export gives up, the build is done
	python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$D/mute.port" 3>&- &
	local mute=$!
	local i
	for i in $(seq 1 50); do [ -s "$D/mute.port" ] && break; sleep 0.1; done
	run --separate-stderr timeout 60 firebuild rootfs --dockerfile="$D/ctx/Dockerfile" --tag=tr/a:6 --log-format=text \
		--tracing-enable --tracing-collector-host-port=127.0.0.1:$(cat "$D/mute.port")
	kill $mute
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"tracing: "*"not sent"* ]]
	[ "$(jq -r .tag.name <<<"$output")" = tr/a ]
}

@test "a profile's tracing settings apply; a flag beats them" {
	mkdir -p "$D/profiles"
	run --separate-stderr firebuild profile-create --profile-conf-dir="$D/profiles" --profile=traced \
		--tracing-enable --tracing-collector-host-port=127.0.0.1:$PORT --storage-provider=directory \
		--storage-provider-property-string=rootfs-storage-root="$FB_STORE"
	[ "$status" -eq 0 ]
	run --separate-stderr firebuild rootfs --profile-conf-dir="$D/profiles" --profile=traced \
		--dockerfile="$D/ctx/Dockerfile" --tag=tr/a:7
	[ "$status" -eq 0 ]
	[ -s "$D/spans.jsonl" ]
	: >"$D/spans.jsonl"
	run --separate-stderr firebuild rootfs --profile-conf-dir="$D/profiles" --profile=traced --tracing-enable=false \
		--dockerfile="$D/ctx/Dockerfile" --tag=tr/a:8
	[ "$status" -eq 0 ]
	sleep 0.2
	[ ! -s "$D/spans.jsonl" ]
}

@test "kill and purge: the stop and the tear-down are spans" {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel"
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=trk --daemonize -- /bin/sleep 60
	[ "$status" -eq 0 ]
	: >"$D/spans.jsonl"
	# shellcheck disable=SC2046
	run --separate-stderr firebuild kill --vmm-id=trk --shutdown-timeout=2 $(TRACE)
	[ "$status" -eq 0 ]
	run python3 "$BATS_TEST_DIRNAME/otlp-check.py" "$D/spans.jsonl" "firebuild kill" "vm stop" "vm teardown"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"vm teardown (firebuild kill)"* ]]
	# purge: a VM whose VMM was killed
	run --separate-stderr firebuild run --from=fb/busybox:1 --name=trp --daemonize -- /bin/sleep 60
	kill -9 "$(jq -r .vm.pid <<<"$output")"
	sleep 1
	: >"$D/spans.jsonl"
	# shellcheck disable=SC2046
	run --separate-stderr firebuild purge $(TRACE)
	[ "$(jq -c .purged <<<"$output")" = '["trp"]' ]
	run python3 "$BATS_TEST_DIRNAME/otlp-check.py" "$D/spans.jsonl" "firebuild purge" "vm teardown"
	[ "$status" -eq 0 ]
}
