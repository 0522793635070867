#!/usr/bin/env bats
# fb-parse: the contract from the outside, the BuildKit corpus, and plans
# checked by hand.

load helpers

# Parse Dockerfile text given on stdin; $output is the plan (stdout only).
plan() {
	run_split fb-parse "$@"
}

@test "every BuildKit parser test file dumps byte for byte" {
	need_corpus
	local matched=0 total=0 failed=""
	for d in "$CORPUS"/buildkit-parser/testfiles/*/; do
		total=$((total + 1))
		if fb-parse --format=buildkit-dump "$d/Dockerfile" 2>/dev/null | cmp -s - "$d/result"; then
			matched=$((matched + 1))
		else
			failed="$failed $(basename "$d")"
		fi
	done
	echo "# buildkit-parser/testfiles: $matched of $total match" >&3
	[ -z "$failed" ] || { echo "mismatch:$failed"; return 1; }
	[ "$total" -eq 33 ]
}

@test "every BuildKit negative test file exits 2" {
	need_corpus
	local n=0
	for d in "$CORPUS"/buildkit-parser/testfiles-negative/*/; do
		run fb-parse --format=buildkit-dump "$d/Dockerfile"
		[ "$status" -eq 2 ] || { echo "$(basename "$d"): status $status"; return 1; }
		run fb-parse "$d/Dockerfile"
		[ "$status" -eq 2 ] || { echo "$(basename "$d") (plan): status $status"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -eq 4 ]
}

@test "negative cases say what is wrong" {
	need_corpus
	local neg="$CORPUS/buildkit-parser/testfiles-negative"
	run_split fb-parse "$neg/empty_dockerfile/Dockerfile"
	[[ "$stderr" == *"file with no instructions"* ]]
	run_split fb-parse "$neg/env_no_value/Dockerfile"
	[[ "$stderr" == *"env_no_value/Dockerfile:3: ENV must have two arguments"* ]]
	run_split fb-parse "$neg/shykes-nested-json/Dockerfile"
	[[ "$stderr" == *":1: when using JSON array syntax, arrays must be comprised of strings only"* ]]
}

@test "line numbers of testfile-line match BuildKit's" {
	need_corpus
	plan "$CORPUS/buildkit-parser/testfile-line/Dockerfile"
	[ "$status" -eq 0 ]
	run jq -c '[.plan.stages[0].line, (.plan.stages[0].instructions[] | [.line, .end_line])]' <<<"$output"
	[ "$output" = '[5,[11,12],[17,31]]' ]
}

@test "every real-world Dockerfile parses" {
	need_corpus
	local n=0 bad=""
	while IFS= read -r f; do
		n=$((n + 1))
		fb-parse "$f" >/dev/null 2>&1 || bad="$bad $f"
	done < <(find "$CORPUS/real-world" -type f -name Dockerfile | sort)
	echo "# real-world: $n Dockerfiles, $(( n - $(wc -w <<<"$bad") )) parsed" >&3
	[ -z "$bad" ] || { echo "failed:$bad"; return 1; }
	[ "$n" -gt 60 ]
}

@test "real-world: ONBUILD triggers are kept in order (python onbuild)" {
	need_corpus
	plan "$CORPUS/real-world/docker-library__python/3.6__jessie__onbuild__Dockerfile/Dockerfile"
	[ "$status" -eq 0 ]
	json_eq "$(jq -c '.plan.stages[0] | {base, base_type, ins: [.instructions[] | [.cmd, .line, (.trigger // .path // .args)]]}' <<<"$output")" \
		'{"base":"python:3.6-jessie","base_type":"image","ins":[
		  ["RUN",9,["mkdir -p /usr/src/app"]],
		  ["WORKDIR",10,"/usr/src/app"],
		  ["ONBUILD",12,"COPY requirements.txt /usr/src/app/"],
		  ["ONBUILD",13,"RUN pip install --no-cache-dir -r requirements.txt"],
		  ["ONBUILD",15,"COPY . /usr/src/app"]]}'
}

@test "real-world: escape directive with backtick (dotnet framework)" {
	need_corpus
	plan "$CORPUS/real-world/microsoft__dotnet-framework-docker/src__runtime__4.8.1__windowsservercore-ltsc2022__Dockerfile/Dockerfile"
	[ "$status" -eq 0 ]
	[ "$(jq -r .plan.escape <<<"$output")" = '`' ]
	[ "$(jq -r .plan.directives.escape <<<"$output")" = '`' ]
	json_eq "$(jq -c '.plan.stages[0].instructions[0] | {cmd, line, end_line, pairs}' <<<"$output")" \
		'{"cmd":"ENV","line":5,"end_line":9,"pairs":[
		  {"key":"DOTNET_RUNNING_IN_CONTAINER","value":"true"},
		  {"key":"COMPLUS_RUNNING_IN_CONTAINER","value":"1"},
		  {"key":"COMPLUS_NGenProtectedProcess_FeatureEnabled","value":"0"}]}'
	# The RUN joins its lines; the backslashes of Windows paths stay.
	run jq -r '.plan.stages[0].instructions[1].args[0]' <<<"$output"
	[[ "$output" == *'&& .\dotnet-framework-installer.exe /q'* ]]
	[[ "$output" != *'# Apply latest patch'* ]]
}

@test "real-world: heredoc RUN with mounts from a stage (buildx lint)" {
	need_corpus
	plan "$CORPUS/real-world/docker__buildx/hack__dockerfiles__lint.Dockerfile/Dockerfile"
	[ "$status" -eq 0 ]
	local run58
	run58=$(jq -c '.plan.stages[] | .instructions[] | select(.cmd == "RUN" and .line == 58)' <<<"$output")
	json_eq "$(jq -c '{args, h: [.heredocs[] | {name, expand, chomp}]}' <<<"$run58")" \
		'{"args":["<<'"'"'EOF'"'"'"],"h":[{"name":"EOF","expand":false,"chomp":false}]}'
	# The body keeps the inner heredoc (eot) intact and ends before EOF.
	[[ "$(jq -r '.heredocs[0].body' <<<"$run58")" == *"cat <<'eot' > internal/cmd/\$analyzer/main.go"* ]]
	local run98
	run98=$(jq -c '.plan.stages[] | .instructions[] | select(.cmd == "RUN" and .line == 98)' <<<"$output")
	json_eq "$(jq -c '{end_line, mounts: [.mounts[] | {type, target, from: (.from.name // null), readonly}]}' <<<"$run98")" \
		'{"end_line":106,"mounts":[
		  {"type":"bind","target":".","from":null,"readonly":true},
		  {"type":"cache","target":"/root/.cache","from":null,"readonly":false},
		  {"type":"bind","target":"/gopls-analyzers","from":"gopls","readonly":true}]}'
}

@test "real-world: multi-stage targets and needed stages (docker cli)" {
	need_corpus
	local f="$CORPUS/real-world/docker__cli/Dockerfile/Dockerfile"
	plan "$f"
	[ "$status" -eq 0 ]
	local n last
	n=$(jq '.plan.stages | length' <<<"$output")
	last=$(jq -r '.plan.target.index' <<<"$output")
	[ "$last" -eq $((n - 1)) ]
	# Every dependency of a needed stage is needed.
	run jq -e '.plan.stages as $s | all($s[] | select(.needed) | .depends_on[]; $s[.].needed)' <<<"$output"
	[ "$status" -eq 0 ]
	plan --target=build-base-alpine "$f"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.plan.target.name' <<<"$output")" = "build-base-alpine" ]
	[ "$(jq '[.plan.stages[] | select(.needed)] | length' <<<"$output")" -lt "$n" ]
}

@test "heredocs: several per line, quoted names, <<-, fd, COPY bodies" {
	plan <<'DF'
FROM busybox
ARG NAME=world
RUN <<A cat && 3<<"B" cat <&3
hello $NAME
A
	 raw $NAME
B
RUN <<-EOT sh
	echo chomped
		EOT
COPY <<one <<'two' /dst/
$NAME one
one
$NAME two
two
RUN cat > /f <<EOF
x
EOF
DF
	[ "$status" -eq 0 ]
	json_eq "$(jq -c '[.plan.stages[0].instructions[] | select(.cmd != "ARG") | {cmd, line, end_line, args, heredocs, sources, dest}]' <<<"$output")" '[
	  {"cmd":"RUN","line":3,"end_line":7,"args":["<<A cat && 3<<\"B\" cat <&3"],
	   "heredocs":[{"name":"A","expand":true,"chomp":false,"body":"hello $NAME\n"},
	               {"name":"B","fd":3,"expand":false,"chomp":false,"body":"\t raw $NAME\n"}],
	   "sources":null,"dest":null},
	  {"cmd":"RUN","line":8,"end_line":10,"args":["<<-EOT sh"],
	   "heredocs":[{"name":"EOT","expand":true,"chomp":true,"body":"echo chomped\n"}],"sources":null,"dest":null},
	  {"cmd":"COPY","line":11,"end_line":15,"args":null,"heredocs":null,
	   "sources":[{"heredoc":"one","expand":true,"body":"world one\n"},
	              {"heredoc":"two","expand":false,"body":"$NAME two\n"}],"dest":"/dst/"},
	  {"cmd":"RUN","line":16,"end_line":18,"args":["cat > /f <<EOF"],
	   "heredocs":[{"name":"EOF","expand":true,"chomp":false,"body":"x\n"}],"sources":null,"dest":null}]'
}

@test "heredoc: unterminated is an error with the line" {
	plan --file-name=Dockerfile.test <<'DF'
FROM busybox
RUN <<EOF
echo never ends
DF
	[ "$status" -eq 2 ]
	[ "$stderr" = "fb-parse: error: Dockerfile.test:2: unterminated heredoc EOF" ]
	json_eq "$(jq -c '.error | {tool, kind, where}' <<<"$output")" \
		'{"tool":"fb-parse","kind":"syntax","where":{"file":"Dockerfile.test","line":2,"end_line":3}}'
}

@test "ARG scoping: globals reach FROM only, a stage re-declares them" {
	plan --build-arg B=from-cli <<'DF'
ARG A=global-a
ARG B=global-b
ARG C
FROM base:$A-$B AS one
RUN echo "$A"
ARG A
ARG B=stage-default
ENV FROM_A=$A FROM_B=$B FROM_C=${C:-unset}
RUN true
FROM one
ENV INHERITED=$FROM_A ARG_GONE=${A:-gone}
DF
	[ "$status" -eq 0 ]
	json_eq "$(jq -c '.plan.args' <<<"$output")" \
		'[{"name":"A","default":"global-a","value":"global-a","line":1},
		  {"name":"B","default":"global-b","value":"from-cli","line":2},
		  {"name":"C","line":3}]'
	[ "$(jq -r '.plan.stages[0].base' <<<"$output")" = "base:global-a-from-cli" ]
	# The RUN before `ARG A` sees no A in its environment.
	[ "$(jq -c '.plan.stages[0].instructions[0].args_env' <<<"$output")" = "{}" ]
	[ "$(jq -c '.plan.stages[0].instructions[1].args[0]' <<<"$output")" = '{"name":"A","value":"global-a","line":6}' ]
	# C has no value here, but the base image's ENV may set it: left for the builder.
	json_eq "$(jq -c '.plan.stages[0].instructions[3] | {pairs, unresolved}' <<<"$output")" \
		'{"pairs":[{"key":"FROM_A","value":"global-a"},{"key":"FROM_B","value":"from-cli"},{"key":"FROM_C","value":"${C:-unset}"}],"unresolved":["C"]}'
	json_eq "$(jq -c '.plan.stages[0].instructions[4].args_env' <<<"$output")" '{"A":"global-a","B":"from-cli"}'
	json_eq "$(jq -c '.plan.stages[1] | {base_type, base_stage, pairs: .instructions[0].pairs}' <<<"$output")" \
		'{"base_type":"stage","base_stage":0,"pairs":[{"key":"INHERITED","value":"global-a"},{"key":"ARG_GONE","value":"${A:-gone}"}]}'
	# On a scratch base nothing is unknown: an ARG not re-declared is unset.
	plan <<'DF'
ARG A=global-a
FROM scratch
ENV X=${A:-gone}
DF
	[ "$(jq -c '.plan.stages[0].instructions[0].pairs' <<<"$output")" = '[{"key":"X","value":"gone"}]' ]
}

@test "ARG: ENV wins over ARG; ENV in one line uses the previous values" {
	plan <<'DF'
FROM scratch
ARG V=arg
ENV V=env
ENV W=$V V=second X=$V
RUN true
DF
	[ "$status" -eq 0 ]
	json_eq "$(jq -c '.plan.stages[0].instructions[2].pairs' <<<"$output")" \
		'[{"key":"W","value":"env"},{"key":"V","value":"second"},{"key":"X","value":"env"}]'
	json_eq "$(jq -c '.plan.stages[0].env' <<<"$output")" '{"V":"second","W":"env","X":"env"}'
}

@test "ARG: predefined platform args, --platform and unused build args" {
	plan --platform=linux/arm64/v8 --build-arg NOBODY=1 --build-arg HTTP_PROXY=http://127.0.0.1:3128 \
		--build-arg SOURCE_DATE_EPOCH=1700000000 <<'DF'
FROM --platform=$BUILDPLATFORM busybox AS b
ARG TARGETARCH
ARG TARGETVARIANT
ENV T=$TARGETARCH V=$TARGETVARIANT
RUN true
DF
	[ "$status" -eq 0 ]
	[ "$(jq -r '.plan.stages[0].platform' <<<"$output")" = "$(jq -r .plan.build_platform <<<"$output")" ]
	json_eq "$(jq -c '.plan.stages[0].instructions[2].pairs' <<<"$output")" '[{"key":"T","value":"arm64"},{"key":"V","value":"v8"}]'
	[ "$(jq -c .plan.unused_build_args <<<"$output")" = '["NOBODY"]' ]
	[ "$(jq -r '.plan.stages[0].instructions[3].args_env.HTTP_PROXY' <<<"$output")" = "http://127.0.0.1:3128" ]
	[[ "$stderr" == *"NOBODY"* ]]
	# SOURCE_DATE_EPOCH is the builder's: never unused (and not seen by a
	# RUN whose stage does not declare it)
	[[ "$stderr" != *SOURCE_DATE_EPOCH* ]]
	[ "$(jq -r '.plan.build_args.SOURCE_DATE_EPOCH' <<<"$output")" = 1700000000 ]
	[ "$(jq -r '.plan.stages[0].instructions[3].args_env.SOURCE_DATE_EPOCH' <<<"$output")" = null ]
}

@test "variable modifiers expand where BuildKit expands them" {
	plan <<'DF'
FROM scratch
ENV P=/usr/local/bin:/usr/bin F=archive.tar.gz
WORKDIR ${P%%:*}/${F%.tar.gz}
LABEL a=${F#*.} b=${F##*.} c=${P/usr/opt} d=${P//usr/opt} e=${UNSET:-dflt} f=${P:+set} g=${UNSET-x}
CMD echo $P
DF
	[ "$status" -eq 0 ]
	[ "$(jq -r '.plan.stages[0].instructions[1].path' <<<"$output")" = "/usr/local/bin/archive" ]
	json_eq "$(jq -c '[.plan.stages[0].instructions[2].pairs[] | {(.key): .value}] | add' <<<"$output")" \
		'{"a":"tar.gz","b":"gz","c":"/opt/local/bin:/usr/bin","d":"/opt/local/bin:/opt/bin","e":"dflt","f":"set","g":"x"}'
	# CMD is not expanded by the builder.
	[ "$(jq -c '.plan.stages[0].instructions[3] | [.form, .args]' <<<"$output")" = '["shell",["echo $P"]]' ]
}

@test "flags: COPY/ADD/RUN/HEALTHCHECK parsed and checked" {
	plan <<'DF'
FROM busybox AS a
FROM busybox
ARG U=app
COPY --from=a --chown=$U:$U --chmod=0640 --link --exclude=*.md ["a b", "/dst/"]
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.invalid/x.tar /x
RUN --network=none --mount=type=secret,id=tok,required --mount=type=tmpfs,target=/t,size=1m ["sh", "-c", "true"]
HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD curl -f http://localhost/
STOPSIGNAL SIGQUIT
EXPOSE 80 53/UDP 8000-8010
DF
	[ "$status" -eq 0 ]
	local ins
	ins=$(jq -c '.plan.stages[1].instructions' <<<"$output")
	json_eq "$(jq -c '.[1] | {sources, dest, from, chown, chmod, link, exclude}' <<<"$ins")" \
		'{"sources":[{"path":"a b"}],"dest":"/dst/","from":{"stage":0,"name":"a"},"chown":"app:app","chmod":"0640","link":true,"exclude":["*.md"]}'
	[ "$(jq -r '.[2].checksum' <<<"$ins")" = "sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d" ]
	json_eq "$(jq -c '.[3] | {form, args, network, mounts}' <<<"$ins")" \
		'{"form":"exec","args":["sh","-c","true"],"network":"none","mounts":[
		  {"type":"secret","id":"tok","required":true,"target":"/run/secrets/tok","readonly":true},
		  {"type":"tmpfs","size":"1m","target":"/t","readonly":false}]}'
	json_eq "$(jq -c '.[4].healthcheck' <<<"$ins")" \
		'{"test":["CMD-SHELL","curl -f http://localhost/"],"interval":30000000000,"timeout":90000000000,"retries":3}'
	[ "$(jq -r '.[5].signal' <<<"$ins")" = "SIGQUIT" ]
	[ "$(jq -c '.[6].ports' <<<"$ins")" = '["80/tcp","53/udp","8000-8010/tcp"]' ]
}

@test "ONBUILD keeps its trigger, refuses FROM/MAINTAINER/ONBUILD" {
	plan <<'DF'
FROM busybox
ONBUILD RUN <<EOF
echo triggered
EOF
DF
	[ "$status" -eq 0 ]
	json_eq "$(jq -c '.plan.stages[0].instructions[0] | {trigger, trigger_cmd}' <<<"$output")" \
		'{"trigger":"RUN <<EOF\necho triggered\nEOF","trigger_cmd":"RUN"}'
	for t in "FROM x" "MAINTAINER me" "ONBUILD RUN x"; do
		plan <<<"FROM busybox
ONBUILD $t"
		[ "$status" -eq 2 ]
		[[ "$stderr" == "fb-parse: error: Dockerfile:2: "* ]]
	done
}

# One case a line: the Dockerfile (printf format), "|", then the exact error.
@test "errors: exit 2 with file:line and what is wrong" {
	local cases=(
		'FROM a\nBOGUS x|Dockerfile:2: unknown instruction: BOGUS'
		'FROM a\nRUNN x|Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)'
		'RUN x\nFROM a|Dockerfile:1: RUN before the first FROM: only ARG may come before FROM (no build stage in current context)'
		'FROM a\nCOPY --bogus=1 a b|Dockerfile:2: COPY: unknown flag: --bogus'
		'FROM a\nCOPY --chown a b|Dockerfile:2: COPY: missing a value on flag: --chown'
		'FROM a\nUSER --x=1 me|Dockerfile:2: USER: unknown flag: --x'
		'FROM a AS 1st|Dockerfile:1: invalid name for build stage: "1st", name can'"'"'t start with a number or contain symbols'
		'FROM a AS x\nFROM b AS x|Dockerfile:2: duplicate stage name "x"'
		'FROM a AS x\nFROM b\nARG X=x\nCOPY --from=$X a b|Dockerfile:4: COPY --from=$X: '"'"'from'"'"' doesn'"'"'t support variable expansion, define an alias stage instead'
		'FROM a\nCOPY --from=1 a b|Dockerfile:2: COPY --from=1 refers to the current or a later build stage'
		'FROM a\nCMD [ "a", [ "b" ] ]|Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only'
		'FROM a\nCOPY onlyone|Dockerfile:2: COPY requires at least two arguments, but only one was provided. Destination could not be determined.'
		'FROM a b|Dockerfile:1: FROM requires either one or three arguments'
		'FROM a\nSHELL /bin/sh -c|Dockerfile:2: SHELL requires the arguments to be in JSON form'
		'FROM a\nHEALTHCHECK --interval=1us CMD x|Dockerfile:2: HEALTHCHECK --interval=1us cannot be less than 1ms'
		'FROM a\nHEALTHCHECK FOO x|Dockerfile:2: Unknown type "FOO" in HEALTHCHECK (try CMD)'
		'FROM a\nSTOPSIGNAL SIGNOPE|Dockerfile:2: STOPSIGNAL SIGNOPE: not a signal name or number'
		'FROM a\nEXPOSE 80/xyz|Dockerfile:2: EXPOSE 80/xyz: expected PORT[-PORT][/tcp|udp|sctp]'
		'FROM a\nRUN --network=bridge x|Dockerfile:2: RUN --network=bridge: expected default, none or host'
		'FROM a\nRUN --mount=type=nfs,target=/x x|Dockerfile:2: RUN --mount: unsupported mount type "nfs"'
		'FROM a\nENV a b c\nLABEL x|Dockerfile:3: LABEL must have two arguments'
		'FROM a\nENV x=1 y|Dockerfile:2: Syntax error - can'"'"'t find = in "y". Must be of the form: name=value'
		'FROM a\nLABEL x=${y|Dockerfile:2: failed to process "${y": syntax error: missing '"'"'}'"'"''
		'# escape=x\nFROM a|Dockerfile:1: invalid escape token '"'"'x'"'"' does not match ` or \'
		'# escape=`\n# escape=\\\nFROM a|Dockerfile:2: only one escape parser directive can be used'
		'|Dockerfile:1: file with no instructions'
	)
	local c df want
	for c in "${cases[@]}"; do
		df=${c%%|*}
		want=${c#*|}
		run_split fb-parse < <(printf "$df\n")
		if [ "$status" -ne 2 ] || [ "$stderr" != "fb-parse: error: $want" ]; then
			echo "case: $df"
			echo "want: fb-parse: error: $want (status 2)"
			echo "got:  $stderr (status $status)"
			return 1
		fi
		[ "$(jq -r '.error.tool' <<<"$output")" = "fb-parse" ]
	done
}

@test "errors: a line longer than 64 KiB" {
	run_split fb-parse < <(printf 'FROM a\nRUN %s\n' "$(head -c 70000 /dev/zero | tr '\0' x)")
	[ "$status" -eq 2 ]
	[ "$stderr" = "fb-parse: error: Dockerfile:2: line longer than 64 KiB" ]
}

# The limits below keep a hostile Dockerfile from taking the memory and the
# time it likes: the tests run under a memory and a CPU ulimit, so a
# regression fails here instead of swapping the machine. A sanitizer build
# reserves terabytes of address space for ASan's shadow: there the memory
# bound is ASan's own, on the resident size.
bounded() {
	if fb_san; then
		(ulimit -t 300; ASAN_OPTIONS="${ASAN_OPTIONS:-}:hard_rss_limit_mb=3000" "$@")
	else
		(ulimit -v 3000000 -t 300; "$@")
	fi
}

@test "limits: input over 4 MiB is exit 2 before any work; /dev/zero does not grow" {
	run_split bounded fb-parse </dev/zero
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.kind <<<"$output")" = too_large ]
	[ "$stderr" = "fb-parse: error: Dockerfile: the input is over 4194304 bytes (4 MiB), the limit" ]
	# a file: the same limit, named
	{ echo 'FROM scratch'; head -c 4194304 /dev/zero | tr '\0' '#'; } >"$BATS_TEST_TMPDIR/big"
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/big"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"big: the Dockerfile is over 4194304 bytes (4 MiB), the limit" ]]
	# exactly 4 MiB is fine
	{ echo 'FROM scratch'; head -c $((4194304 - 13)) /dev/zero | tr '\0' '#' | fold -w 1000; } >"$BATS_TEST_TMPDIR/max"
	truncate -s 4194304 "$BATS_TEST_TMPDIR/max"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/max")" -eq 4194304 ]
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/max"
	[ "$status" -eq 0 ]
	[ "$(jq '.plan.stages | length' <<<"$output")" -eq 1 ]
}

@test "limits: ARGs that double stop at 1 MiB, with file:line" {
	# 705 bytes that used to ask for gigabytes
	{
		echo 'ARG a0=xxxxxxxxxxxxxxxx'
		for i in $(seq 1 30); do echo "ARG a$i=\${a$((i - 1))}\${a$((i - 1))}"; done
		echo 'FROM scratch'
	} >"$BATS_TEST_TMPDIR/Dockerfile"
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.kind <<<"$output")" = too_large ]
	[ "$(jq -r .error.where.line <<<"$output")" = 18 ]
	[[ "$stderr" == *"/Dockerfile:18: failed to process \"\${a16}\${a16}\": the expanded value is over 1048576 bytes (1 MiB), the limit" ]]
}

@test "limits: \${v//p/r} chains stop at 1 MiB; a backtracking pattern stops at the step limit" {
	run_split bounded fb-parse <<'DF'
ARG v=aaaaaaaaaa
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
FROM scratch
DF
	[ "$status" -eq 2 ]
	[[ "$stderr" == 'fb-parse: error: Dockerfile:7: failed to process "${v//a/aaaaaaaaaa}": the expanded value is over 1048576 bytes (1 MiB), the limit' ]]
	# the same chain short of the limit expands (literal patterns are one scan)
	run_split bounded fb-parse <<'DF'
ARG v=aaaaaaaaaa
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
ARG v=${v//a/aaaaaaaaaa}
FROM scratch
ARG v
RUN true
DF
	[ "$status" -eq 0 ]
	[ "$(jq -r '.plan.stages[0].instructions[1].args_env.v | length' <<<"$output")" -eq 100000 ]
	{ printf 'ARG v=%s\n' "$(head -c 60000 /dev/zero | tr '\0' a)"; echo 'ARG w=${v//*a*a*a*a*b/x}'; echo 'FROM scratch'; } >"$BATS_TEST_TMPDIR/Dockerfile"
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"/Dockerfile:2: failed to process \"\${v//*a*a*a*a*b/x}\": pattern matching took over 268435456 steps, the limit"* ]]
}

@test "limits: values copied into every RUN and stage stop the plan at 64 MiB" {
	{
		echo 'FROM scratch AS s0'
		echo 'ARG a0=xxxxxxxxxxxxxxxx'
		for i in $(seq 1 15); do echo "ARG a$i=\${a$((i - 1))}\${a$((i - 1))}"; done
		for i in $(seq 1 200); do echo 'RUN true'; done
	} >"$BATS_TEST_TMPDIR/Dockerfile"
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.kind <<<"$output")" = too_large ]
	[[ "$stderr" == *"/Dockerfile:81: the values of variables make the plan over 64 MiB (the limit)"* ]]
	# a big ENV inherited by a chain of stages
	{
		echo 'FROM scratch AS s0'
		echo 'ARG a0=xxxxxxxxxxxxxxxx'
		for i in $(seq 1 15); do echo "ARG a$i=\${a$((i - 1))}\${a$((i - 1))}"; done
		echo 'ENV E=$a15'
		for i in $(seq 1 200); do echo "FROM s$((i - 1)) AS s$i"; done
	} >"$BATS_TEST_TMPDIR/Dockerfile"
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"the values of variables make the plan over 64 MiB (the limit)"* ]]
}

@test "limits: the work is linear: thousands of stages, ARGs and ENVs at 4 MiB" {
	# each used to cost a search of all before it (quadratic: minutes), and
	# the stage chain a recursion as deep as the chain
	awk 'BEGIN { print "FROM scratch AS s0"; for (i = 1; i < 150000; i++) printf "FROM s%d AS s%d\n", i - 1, i }' >"$BATS_TEST_TMPDIR/stages"
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/stages"
	[ "$status" -eq 0 ]
	[ "$(jq '[.plan.stages[] | select(.needed)] | length' <<<"$output")" -eq 150000 ]
	awk 'BEGIN { print "FROM scratch"; for (i = 0; i < 200000; i++) printf "ARG A%d=%d\n", i, i; print "RUN true" }' >"$BATS_TEST_TMPDIR/args"
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/args"
	[ "$status" -eq 0 ]
	[ "$(jq '.plan.stages[0].instructions[-1].args_env | length' <<<"$output")" -eq 200000 ]
	awk 'BEGIN { print "FROM scratch"; for (i = 0; i < 200000; i++) printf "ENV E%d=$E%d\n", i, i - 1 }' >"$BATS_TEST_TMPDIR/envs"
	run_split bounded fb-parse "$BATS_TEST_TMPDIR/envs"
	[ "$status" -eq 0 ]
	[ "$(jq '.plan.stages[0].env | length' <<<"$output")" -eq 200000 ]
}

@test "errors: --target names a missing stage" {
	run_split fb-parse --target=nope <<<'FROM a AS b'
	[ "$status" -eq 2 ]
	[ "$stderr" = 'fb-parse: error: target stage "nope" could not be found' ]
}

@test "lint: check directive skips rules, error=true fails" {
	plan <<'DF'
# check=skip=JSONArgsRecommended
FROM a
CMD echo hi
DF
	[ "$status" -eq 0 ]
	[ "$(jq -c .plan.warnings <<<"$output")" = "[]" ]
	plan <<'DF'
# check=error=true
FROM a
MAINTAINER me
DF
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"Dockerfile:3: lint violation (check error=true): MaintainerDeprecated"* ]]
}

@test "contract: --help, --version, bad usage" {
	run fb-parse --help
	[ "$status" -eq 0 ]
	[[ "$output" == Usage:\ fb-parse* ]]
	run fb-parse --version
	[ "$status" -eq 0 ]
	[[ "$output" == "fb-parse "[0-9]* ]]
	# a usage error is a failure like any other: the error object on stdout
	run_split fb-parse --no-such-flag
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.kind <<<"$output")" = usage ]
	[ "$(jq -r .error.message <<<"$output")" = "unknown option '--no-such-flag'" ]
	[ "$(jq -r .error.exit_code <<<"$output")" = 2 ]
	[[ "$stderr" == "fb-parse: error: unknown option '--no-such-flag' (see --help)" ]]
	run_split fb-parse --target
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = "option '--target' needs a value" ]
	run_split fb-parse --version=2
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = "option '--version' takes no value" ]
	run_split fb-parse --format=xml
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--format xml: expected json or buildkit-dump"* ]]
	[ "$(jq -r .error.kind <<<"$output")" = usage ]
	run_split fb-parse a b
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = "unexpected argument 'b'" ]
}

@test "contract: a missing file is exit 3 with an error object" {
	run_split fb-parse /nonexistent/Dockerfile
	[ "$status" -eq 3 ]
	[ "$stderr" = "fb-parse: error: unable to open /nonexistent/Dockerfile: No such file or directory" ]
	json_eq "$(jq -c '.error | {tool, kind}' <<<"$output")" '{"tool":"fb-parse","kind":"not_found"}'
}

@test "contract: document mode adds .plan and keeps the other keys" {
	local dir
	dir=$(mktemp -d)
	printf 'FROM scratch\nCOPY a /a\n' >"$dir/Dockerfile"
	run_split fb-parse <<<"{\"source\":{\"dockerfile\":\"$dir/Dockerfile\",\"context\":\"$dir\"},\"keep\":[1,2]}"
	rm -rf "$dir"
	[ "$status" -eq 0 ]
	[ "$(jq -c .keep <<<"$output")" = "[1,2]" ]
	[ "$(jq -r .source.context <<<"$output")" = "$dir" ]
	[ "$(jq -r '.plan.stages[0].instructions[0].cmd' <<<"$output")" = "COPY" ]
	# One line on a pipe.
	[ "$(wc -l <<<"$output")" -eq 1 ]
}

@test "contract: an error object on stdin passes through with exit 1" {
	local in='{"error":{"tool":"fb-fetch","kind":"not_found","message":"no such image"}}'
	run_split fb-parse <<<"$in"
	[ "$status" -eq 1 ]
	json_eq "$output" "$in"
}

@test "contract: malformed JSON and trailing data are exit 2" {
	run_split fb-parse <<<'{"source": '
	[ "$status" -eq 2 ]
	[[ "$stderr" == "fb-parse: error: malformed JSON input"* ]]
	run_split fb-parse <<<'{"source":{"dockerfile":"x"}} {"second":1}'
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"Unexpected extra JSON values"* ]]
	run_split fb-parse <<<'{"nosource":1}'
	[ "$status" -eq 2 ]
	[[ "$stderr" == *".source: missing (expected an object)"* ]]
	run_split fb-parse <<<'{"source":{"dockerfile":5}}'
	[ "$status" -eq 2 ]
	[ "$(jq -r .error.message <<<"$output")" = ".source.dockerfile: expected a string, got number" ]
}

@test "contract: stdout carries only the document, logs are JSON lines off a TTY" {
	run_split fb-parse <<<$'FROM a\nCMD x'
	[ "$status" -eq 0 ]
	jq -e .plan <<<"$output" >/dev/null
	[ "$(jq -r .rule <<<"$stderr")" = "JSONArgsRecommended" ]
	[ "$(jq -r .level <<<"$stderr")" = "warn" ]
	run_split fb-parse --log-format=text <<<$'FROM a\nCMD x'
	[[ "$stderr" == "fb-parse: warning: JSON arguments recommended"* ]]
}

@test "contract: CRLF line endings and a BOM parse like LF" {
	local a b
	a=$(printf 'FROM a\nRUN echo \\\n  hi\n' | fb-parse --format=buildkit-dump)
	b=$(printf '\xef\xbb\xbfFROM a\r\nRUN echo \\\r\n  hi\r\n' | fb-parse --format=buildkit-dump)
	[ "$a" = "$b" ]
	[ "$a" = $'(from "a")\n(run "echo   hi")' ]
}

@test "valgrind: no leaks or errors on a plan, a dump and a failure" {
	command -v valgrind >/dev/null || skip "valgrind not installed"
	local vg=(env "PATH=$FB_PLAIN_BIN:$PATH" valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
	run "${vg[@]}" fb-parse "$FB_ROOT/examples/hello/Dockerfile"
	[ "$status" -eq 0 ]
	run "${vg[@]}" fb-parse --format=buildkit-dump "$FB_ROOT/examples/hello/Dockerfile"
	[ "$status" -eq 0 ]
	run "${vg[@]}" fb-parse < <(printf 'FROM a\nCOPY --from=$X a b\n')
	[ "$status" -eq 2 ]
	run "${vg[@]}" fb-parse <<<'{"source":{"dockerfile":"/nonexistent"}}'
	[ "$status" -eq 3 ]
}
