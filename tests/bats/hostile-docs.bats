#!/usr/bin/env bats
# Documents that are well-formed JSON but not what a tool expects: every
# tool that reads one exits 2 (fb-exec: 125, its own failures) with an
# error object that names the member at fault, and never aborts (jq 1.6
# asserts on a jv of the wrong kind: exit 134 before the shapes of
# lib/shape and lib/cni).

load helpers

setup() {
	T=$(mktemp -d)
	export FB_STORE="$T/store" FB_RUN_CACHE="$T/run"
}

teardown() {
	rm -rf "$T"
}

# hostile DOC TOOL ARGS...: exit 2 (or $WANT), one error object on stdout,
# one human line on stderr, no abort; $MSG (if set) is the message
hostile() {
	local doc=$1
	shift
	run --separate-stderr "$@" <<<"$doc"
	local want=${WANT:-2}
	if [ "$status" -ne "$want" ] || [[ "$stderr" == *Assertion* ]]; then
		echo "$* <<<'$doc': status $status (want $want)"
		echo "stdout: $output"
		echo "stderr: $stderr"
		return 1
	fi
	[ "$(jq -r '.error | type' <<<"$output")" = object ] || { echo "$* <<<'$doc': no error object: $output"; return 1; }
	[ "$(jq -r .error.exit_code <<<"$output")" = 2 ]
	[ "$(wc -l <<<"$output")" -eq 1 ]
	if [ -n "${MSG:-}" ] && [ "$(jq -r .error.message <<<"$output")" != "$MSG" ]; then
		echo "$* <<<'$doc': message '$(jq -r .error.message <<<"$output")', want '$MSG'"
		return 1
	fi
}

# not objects: the document itself is named
not_objects() {
	local d kind
	for d in 'null' '[]' '42' '"x"' 'true'; do
		kind=$(jq -r type <<<"$d")
		MSG="the input document: expected an object, got $kind" hostile "$d" "$@"
	done
}

@test "fb-fetch push: documents that do not name an image of the store" {
	not_objects fb-fetch push --ref 127.0.0.1:1/a:1
	MSG=".image: expected an object, got number" hostile '{"image":5}' fb-fetch push --ref 127.0.0.1:1/a:1
	MSG=".image.digest: expected a string, got array" hostile '{"image":{"digest":[]}}' fb-fetch push --ref 127.0.0.1:1/a:1
	MSG=".image.digest: not a sha256 digest" hostile '{"image":{"digest":"sha256:/etc/passwd"}}' fb-fetch push --ref 127.0.0.1:1/a:1
}

@test "fb-fetch cache-import and cache-export: documents that are not a build" {
	not_objects fb-fetch cache-import --ref 127.0.0.1:1/a:1
	not_objects fb-fetch cache-export --ref 127.0.0.1:1/a:1
	MSG=".plan: missing (expected an object)" hostile '{}' fb-fetch cache-export --ref 127.0.0.1:1/a:1
	local plan
	plan=$(printf 'FROM scratch\nWORKDIR /x\n' | fb-parse)
	MSG=".build: missing: the document built nothing (give fb-mkrootfs's document of a Dockerfile build)" \
		hostile "$plan" fb-fetch cache-export --ref 127.0.0.1:1/a:1
	MSG=".build.steps: expected an array, got string" \
		hostile "$(jq -c '.build = {steps: "x"}' <<<"$plan")" fb-fetch cache-export --ref 127.0.0.1:1/a:1
	MSG=".build.steps[0].key: not a sha256 digest" \
		hostile "$(jq -c '.build = {steps: [{stage: 0, status: "executed", key: "sha256:../../x", layer: null}]}' <<<"$plan")" \
		fb-fetch cache-export --ref 127.0.0.1:1/a:1
	MSG=".build.steps[0].layer: expected a string or null, got number" \
		hostile "$(jq -c '.build = {steps: [{stage: 0, status: "cached", key: ("sha256:" + ("a" * 64)), layer: 5}]}' <<<"$plan")" \
		fb-fetch cache-export --ref 127.0.0.1:1/a:1
}

@test "fb-fetch image: documents that are not a plan" {
	not_objects fb-fetch image
	MSG=".plan: missing (expected an object)" hostile '{}' fb-fetch image
	MSG=".plan: expected an object, got number" hostile '{"plan":5}' fb-fetch image
	MSG=".plan.stages: expected an array, got string" hostile '{"plan":{"stages":"x"}}' fb-fetch image
	MSG=".plan.stages[0].base_type: missing (expected a string)" hostile '{"plan":{"stages":[{"instructions":[]}]}}' fb-fetch image
	MSG=".plan.stages[0].needed: expected a boolean or null, got string" \
		hostile '{"plan":{"stages":[{"base_type":"image","base":"x","needed":"yes","instructions":[]}]}}' fb-fetch image
}

@test "fb-mkrootfs: documents that are not an image or a plan" {
	not_objects fb-mkrootfs
	MSG="input document has no .image object (run fb-fetch image first)" hostile '{}' fb-mkrootfs
	MSG=".plan: expected an object, got number" hostile '{"plan":5}' fb-mkrootfs
	MSG=".image: expected an object or null, got array" hostile '{"image":[]}' fb-mkrootfs
	MSG=".image.layers: expected an array, got string" hostile '{"image":{"layers":"x"}}' fb-mkrootfs
	MSG=".image.layers[0]: expected an object, got number" hostile '{"image":{"layers":[5]}}' fb-mkrootfs
	MSG=".image.layers[0]: expected .digest or .path (a string)" hostile '{"image":{"layers":[{}]}}' fb-mkrootfs
	MSG=".image.layers[0].digest: expected a string or null, got number" hostile '{"image":{"layers":[{"digest":1}]}}' fb-mkrootfs
	MSG=".image.store: expected a string or null, got boolean" hostile '{"image":{"store":true,"layers":[]}}' fb-mkrootfs
	MSG=".source.context: expected a string or null, got number" \
		hostile '{"source":{"context":5},"plan":{"stages":[{"base_type":"scratch","instructions":[]}]}}' fb-mkrootfs
	# what the builder removes after the build is only ever fb-fetch source's
	MSG=".source.temporary: expected a directory RUN-CACHE/sources/src-XXXXXX (fb-fetch source's)" \
		hostile '{"source":{"temporary":"/etc"},"plan":{"stages":[{"base_type":"scratch","instructions":[]}]}}' fb-mkrootfs
	[ -d /etc ]
	MSG=".plan.stages[0].instructions[0].dest: missing (expected a string)" \
		hostile '{"plan":{"stages":[{"base_type":"scratch","instructions":[{"cmd":"COPY","original":"COPY a","sources":[]}]}]}}' fb-mkrootfs
	MSG=".plan.stages[0].instructions[0].cmd: expected one of ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME, WORKDIR, got \"FROM\"" \
		hostile '{"plan":{"stages":[{"base_type":"scratch","instructions":[{"cmd":"FROM","original":"x"}]}]}}' fb-mkrootfs
	MSG=".plan.stages[1].base_stage: expected the index of an earlier stage (base_type is stage)" \
		hostile '{"plan":{"stages":[{"base_type":"scratch","instructions":[]},{"base_type":"stage","base_stage":1,"instructions":[]}]}}' fb-mkrootfs
	MSG=".plan.target.index: 3 is not a stage (the plan has 1)" \
		hostile '{"plan":{"target":{"index":3},"stages":[{"base_type":"scratch","instructions":[]}]}}' fb-mkrootfs
	MSG=".plan.stages[0].line: expected an integer from 0 to 2147483647, got 1e+300" \
		hostile '{"plan":{"stages":[{"base_type":"scratch","line":1e300,"instructions":[]}]}}' fb-mkrootfs
	[ ! -e "$T/store/tmp" ] || [ -z "$(ls -A "$T/store/tmp")" ]
}

@test "fb-tag put: documents that are not a rootfs" {
	not_objects fb-tag put a/b:1
	MSG="input document has no .rootfs (run fb-mkrootfs first)" hostile '{}' fb-tag put a/b:1
	MSG=".rootfs: expected an object, got number" hostile '{"rootfs":5}' fb-tag put a/b:1
	MSG=".rootfs.path: expected a string, got number" hostile '{"rootfs":{"path":5}}' fb-tag put a/b:1
	MSG=".image.layers[0]: expected an object, got number" hostile '{"rootfs":{"path":"/nonexistent"},"image":{"layers":[7]}}' fb-tag put a/b:1
	[ ! -e "$T/store/rootfs/a" ]
	# a document is read up to 256 MiB, no further
	run --separate-stderr fb-tag put a/b:1 </dev/zero
	[ "$status" -eq 2 ]
	[ "$(jq -c '.error | {kind, message}' <<<"$output")" = '{"kind":"too_large","message":"input larger than 268435456 bytes (256 MiB), the limit"}' ]
}

@test "fb-exec: specs that are not an exec spec (125, fb-exec's own failure)" {
	WANT=125 not_objects fb-exec
	WANT=125 MSG=".exec: missing (expected an object)" hostile '{}' fb-exec
	WANT=125 MSG=".exec: expected an object, got number" hostile '{"exec":5}' fb-exec
	WANT=125 MSG=".exec.root: expected a string, got number" hostile '{"exec":{"root":5}}' fb-exec
	WANT=125 MSG=".exec.args[1]: expected a string, got number" hostile '{"exec":{"root":"/","args":["a",1]}}' fb-exec
	WANT=125 MSG=".exec.mounts[0].target: expected a string, got number" \
		hostile '{"exec":{"root":"/","args":["true"],"mounts":[{"type":"bind","target":5}]}}' fb-exec
	WANT=125 MSG=".exec.timeout: expected an integer or null, got string" hostile '{"exec":{"root":"/","timeout":"5"}}' fb-exec
}

@test "fb-jail start: specs that are not a VM spec; --spec never echoes the file" {
	not_objects fb-jail start
	MSG=".vm: missing (expected an object)" hostile '{}' fb-jail start
	MSG=".vm: expected an object, got number" hostile '{"vm":5}' fb-jail start
	MSG=".vm.id: expected a string, got number" hostile '{"vm":{"id":5}}' fb-jail start
	local ok='"id":"v1","run_dir":"'"$T"'/run/runs/v1","run_cache":"'"$T"'/run","kernel":"/k","rootfs":"/r","config_drive":"/d"'
	MSG=".vm.network.interfaces[0]: expected an object, got number" \
		hostile '{"vm":{'"$ok"',"network":{"netns":"/x","interfaces":[5]}}}' fb-jail start
	MSG=".vm.jail.uid: expected an integer from 0 to 4294967294, got -1" \
		hostile '{"vm":{'"$ok"',"jail":{"base":"/srv/jailer","uid":-1}}}' fb-jail start
	MSG=".vm.jail.cgroup.cpu.shares: expected a string or null, got number" \
		hostile '{"vm":{'"$ok"',"jail":{"base":"/srv/jailer","cgroup":{"cpu.shares":5}}}}' fb-jail start
	MSG=".vm.cpu: expected an integer from 0 to 2147483647, got 1e+300" hostile '{"vm":{'"$ok"',"cpu":1e300}}' fb-jail start
	[ ! -e "$T/run/runs/v1" ]
	# a spec file that is not JSON: where it failed, not what it holds
	printf 'password=hunter2 and more\n' >"$T/spec"
	run --separate-stderr fb-jail start --spec "$T/spec"
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = "--spec: $T/spec: malformed JSON input: Invalid literal at line 1, column 1" ]
	[[ "$output$stderr" != *hunter2* ]]
	printf '{"vm": {"id": "v1",\n "secret": hunter2}}\n' >"$T/spec"
	run --separate-stderr fb-jail start --spec "$T/spec"
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = "--spec: $T/spec: malformed JSON input: Invalid literal at line 2, column 12" ]
	[[ "$output$stderr" != *hunter2* ]]
	printf '[1]' >"$T/spec"
	run --separate-stderr fb-jail start --spec "$T/spec"
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = "the input document: expected an object, got array" ]
}

@test "fb-jail: usage errors are error objects on stdout (kind usage, exit 2)" {
	local m
	for m in "expected a command: start or stop|fb-jail" "unknown command 'frob'|fb-jail frob" \
		"unknown option '--bogus'|fb-jail --bogus start" "option '--spec' needs a value|fb-jail start --spec" \
		"stop needs --run-dir|fb-jail stop" "--timeout soon: expected seconds|fb-jail stop --run-dir /x --timeout soon" \
		"unexpected argument 'b'|fb-jail start b"; do
		# shellcheck disable=SC2086
		run --separate-stderr ${m#*|} </dev/null
		[ "$status" -eq 2 ] || { echo "${m#*|}: $status"; return 1; }
		[ "$(jq -c '.error | {kind, message}' <<<"$output")" = "$(jq -nc --arg m "${m%%|*}" '{kind: "usage", message: $m}')" ] ||
			{ echo "${m#*|}: $output"; return 1; }
		[ "$stderr" = "fb-jail: error: ${m%%|*} (see --help)" ]
	done
}

@test "fb-net: input documents that are not objects; conflists of the wrong shape" {
	mkdir -p "$T/conf" "$T/rd"
	not_objects fb-net add --id h1 --network n1 --cni-conf-dir "$T/conf" --run-dir "$T/rd"
	not_objects fb-net del --id h1 --run-dir "$T/rd"
	not_objects fb-net check --id h1 --run-dir "$T/rd"
	# a configuration whose members are not what CNI says: named, exit 2,
	# before any namespace is made
	echo '{"cniVersion":"1.0.0","name":"n1","plugins":[5]}' >"$T/conf/10-n1.conflist"
	MSG="$T/conf/10-n1.conflist: .plugins[0]: expected an object, got number" \
		hostile '{}' fb-net add --id h1 --network n1 --cni-conf-dir "$T/conf" --run-dir "$T/rd"
	echo '{"cniVersion":"1.0.0","name":"n1","plugins":[{"type":"../../../bin/sh"}]}' >"$T/conf/10-n1.conflist"
	MSG="$T/conf/10-n1.conflist: .plugins[0].type: \"../../../bin/sh\" is not a plugin's file name" \
		hostile '{}' fb-net add --id h1 --network n1 --cni-conf-dir "$T/conf" --run-dir "$T/rd"
	echo '{"cniVersion":"1.0.0","name":"n1","type":5}' >"$T/conf/10-n1.conf"
	rm "$T/conf/10-n1.conflist"
	MSG="$T/conf/10-n1.conf: .type: expected a string, got number" \
		hostile '{}' fb-net add --id h1 --network n1 --cni-conf-dir "$T/conf" --run-dir "$T/rd"
	echo '{"cniVersion":"1.0.0","name":"n1","plugins":[]}' >"$T/conf/10-n1.conf"
	MSG="$T/conf/10-n1.conf: .plugins: no plugins" \
		hostile '{}' fb-net add --id h1 --network n1 --cni-conf-dir "$T/conf" --run-dir "$T/rd"
	# files that are no configuration at all are not the network
	rm "$T/conf/10-n1.conf"
	echo '[1,2]' >"$T/conf/00-list.conf"
	echo 'null' >"$T/conf/01-null.json"
	echo '{"name":7}' >"$T/conf/02-name.conflist"
	run --separate-stderr fb-net add --id h1 --network n1 --cni-conf-dir "$T/conf" --run-dir "$T/rd" <<<'{}'
	[ "$status" -eq 3 ]
	[ "$(jq -r .error.kind <<<"$output")" = no_network ]
	[ ! -e /var/run/netns/fb-h1 ]
	# a cache that is not what add wrote: check says so, del keeps it
	echo '{"conflist":5}' >"$T/rd/cni.json"
	run --separate-stderr fb-net check --id h1 --run-dir "$T/rd" </dev/null
	[ "$status" -eq 1 ]
	[ "$(jq -r .error.message <<<"$output")" = "VM h1: $T/rd/cni.json: .conflist: expected an object, got number" ]
	run --separate-stderr fb-net del --id h1 --run-dir "$T/rd" </dev/null
	[ "$status" -eq 1 ]
	[[ "$(jq -r .error.message <<<"$output")" == "$T/rd/cni.json: .conflist: expected an object, got number: the plugins' DEL did not run"* ]]
	[ -f "$T/rd/cni.json" ]
}

@test "tc-redirect-tap: configs that are not what CNI says (CNI error 6 or 7, exit 2)" {
	local d kind
	for d in 'null' '[]' '42' '"x"'; do
		kind=$(jq -r type <<<"$d")
		run --separate-stderr env CNI_COMMAND=ADD CNI_NETNS=/nonexistent CNI_IFNAME=eth0 tc-redirect-tap <<<"$d"
		[ "$status" -eq 2 ]
		[ "$(jq -r .code <<<"$output")" = 6 ]
		[ "$(jq -r .details <<<"$output")" = "the input document: expected an object, got $kind" ]
	done
	cni() { # cni EXPECTED-CODE EXPECTED-DETAILS-OR-MSG DOC
		run --separate-stderr env CNI_COMMAND=ADD CNI_NETNS=/nonexistent CNI_IFNAME=eth0 tc-redirect-tap <<<"$3"
		[ "$status" -eq 2 ] || { echo "$3: status $status: $output"; return 1; }
		[ "$(jq -r .code <<<"$output")" = "$1" ] || { echo "$3: $output"; return 1; }
		[ "$(jq -r '.details // .msg' <<<"$output")" = "$2" ] || { echo "$3: $output"; return 1; }
	}
	cni 7 "tc-redirect-tap must be chained after a plugin that makes CNI_IFNAME (bridge, ptp): no prevResult in the config" '{}'
	cni 6 ".tapName: expected a string or null, got number" '{"tapName":5}'
	cni 6 '.tapName: "../x" is not an interface name (1-15 of A-Z a-z 0-9 _ . -)' '{"tapName":"../x"}'
	cni 6 ".uid: expected an integer from 0 to 4294967294, got -5" '{"uid":-5}'
	cni 6 ".prevResult: expected an object or null, got array" '{"prevResult":[]}'
	cni 6 ".prevResult.interfaces[0]: expected an object, got number" '{"prevResult":{"interfaces":[5]}}'
	cni 6 ".prevResult.interfaces[0].mac: expected a string or null, got number" \
		'{"prevResult":{"interfaces":[{"name":"eth0","mac":5,"sandbox":"/x"}]}}'
	cni 7 "tc-redirect-tap: the previous result has no interface in the namespace named eth0" \
		'{"prevResult":{"interfaces":[{"name":"eth1","mac":"aa","sandbox":"/x"}]}}'
}

@test "fb-parse: documents that are not a source" {
	# text that is not a JSON object is a Dockerfile
	hostile 'null' fb-parse
	[ "$(jq -r .error.kind <<<"$output")" = syntax ]
	MSG=".source: missing (expected an object)" hostile '{}' fb-parse
	MSG=".source: expected an object, got number" hostile '{"source":5}' fb-parse
	MSG=".source.dockerfile: expected a string, got array" hostile '{"source":{"dockerfile":[]}}' fb-parse
	MSG=".source.target: expected a string or null, got number" hostile '{"source":{"dockerfile":"/x","target":1}}' fb-parse
}

@test "firebuild: a VM state of the wrong shape is an error (inspect) or skipped (ls), not an abort" {
	mkdir -p "$T/run/runs/a1" "$T/run/runs/b2" "$T/run/runs/c3"
	echo '[]' >"$T/run/runs/a1/state.json"
	echo '{"id":"b2","pid":"x"}' >"$T/run/runs/b2/state.json"
	echo '{"id":"c3","status":"exited","exit_code":3}' >"$T/run/runs/c3/state.json"
	run --separate-stderr firebuild ls --run-cache "$T/run"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.vms[].id] | join(",")' <<<"$output")" = c3 ]
	[[ "$stderr" == *"a1/state.json: the input document: expected an object, got array"* ]]
	[[ "$stderr" == *"b2/state.json: .pid: expected an integer or null, got string"* ]]
	run --separate-stderr firebuild inspect --vmm-id a1 --run-cache "$T/run"
	[ "$status" -eq 1 ]
	[ "$stderr" = "firebuild: error: VM a1: $T/run/runs/a1/state.json: the input document: expected an object, got array" ]
	run --separate-stderr firebuild inspect --vmm-id c3 --run-cache "$T/run"
	[ "$status" -eq 0 ]
	[ "$(jq -r .state <<<"$output")" = exited ]
	# fb-jail stop on a state that is not an object: no abort
	run --separate-stderr fb-jail stop --run-dir "$T/run/runs/a1" --timeout 0
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = '{"id":null,"killed":true,"exit_code":null}' ]
}

# Every member of a real plan, one at a time, given a value of each other
# kind (or taken away): fb-mkrootfs either refuses the plan (exit 2, the
# member named) or builds it; it never aborts. The plan covers every
# instruction, from scratch, with a context and RUN under fb-exec.
@test "fb-mkrootfs: every member of a plan, of every other kind: refused or built, never an abort" {
	[ "$(id -u)" -eq 0 ] || skip "RUN needs root (namespaces)"
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	mkdir -p "$T/ctx"
	cp /bin/busybox "$T/ctx/busybox"
	echo data >"$T/ctx/f"
	cat >"$T/ctx/Dockerfile" <<'DF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin"]
FROM base
ARG A=1
ENV E=2
LABEL l=v
WORKDIR /w
USER 0
COPY f /f
ADD f /g
COPY <<HD /h
x
HD
COPY --from=base /bin/busybox /bb
RUN --mount=type=tmpfs,target=/t ["/bin/busybox", "true"]
EXPOSE 80
VOLUME /v
STOPSIGNAL SIGTERM
HEALTHCHECK CMD true
SHELL ["/bin/busybox", "sh", "-c"]
ONBUILD RUN true
MAINTAINER me
ENTRYPOINT ["/bin/busybox"]
CMD ["true"]
DF
	fb-parse "$T/ctx/Dockerfile" 2>/dev/null >"$T/doc.json"
	# the plan as it is builds
	run --separate-stderr fb-mkrootfs --context "$T/ctx" --no-init --tree "$T/tree" <"$T/doc.json"
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	# every member of .plan (not the parser's informational ones) given a
	# value of each other kind, or taken away: one document a line
	jq -c '. as $d
		| [.plan | paths | select(length > 0)
			| select(.[0] == "stages" or .[0] == "target" or .[0] == "file" or .[0] == "escape")
			| select(map(tostring) | index("env") == null and index("depends_on") == null)] as $ps
		| $ps[] as $p | (5, "x", null, {}, {"-": "delete"}) as $v
		| if $v == {"-": "delete"} then $d | .plan |= delpaths([$p]) else $d | .plan |= setpath($p; $v) end' \
		"$T/doc.json" >"$T/mutants"
	local n=0 refused=0 built=0 m out st
	while read -r m; do
		rm -rf "${T:?}/tree"
		st=0
		out=$(fb-mkrootfs --context "$T/ctx" --no-init --tree "$T/tree" <<<"$m" 2>"$T/err") || st=$?
		n=$((n + 1))
		if [ "$st" -ge 128 ] || grep -q Assertion "$T/err" || [[ "$out" != "{"* ]]; then
			echo "status $st for $m"
			tail -3 "$T/err"
			return 1
		fi
		if [ "$st" -eq 0 ]; then
			built=$((built + 1))
		elif [[ "$out" == '{"error":{'* ]]; then
			refused=$((refused + 1))
		else
			echo "status $st and no error object for $m"
			return 1
		fi
	done <"$T/mutants"
	echo "# $n plans: $refused refused, $built built" >&3
	[ "$refused" -gt 500 ] && [ "$built" -gt 100 ]
}
