#!/usr/bin/env bats
# fb-fetch source: local paths, http(s) URLs (busybox httpd) and git
# repositories (git daemon and git http-backend) on 127.0.0.1.

load helpers
load registry

setup_file() {
	command -v git >/dev/null || skip "git is not installed"
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	export D
	D=$(mktemp -d)
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
	local w="$D/work"
	git init -q -b main "$w"
	printf 'FROM a:1\n' >"$w/Dockerfile"
	mkdir -p "$w/sub"
	printf 'FROM sub:1\n' >"$w/sub/Dockerfile"
	git -C "$w" add -A && git -C "$w" commit -qm one && git -C "$w" tag v1
	git -C "$w" rev-parse HEAD >"$D/commit1"
	git -C "$w" checkout -qb dev
	printf 'FROM a:dev\n' >"$w/Dockerfile"
	git -C "$w" commit -qam dev
	git -C "$w" checkout -q main
	printf 'FROM a:main\n' >"$w/Dockerfile"
	printf '# comment\n*.log\n!keep.log\n/secret\n' >"$w/.dockerignore"
	git -C "$w" add -A && git -C "$w" commit -qm main
	mkdir -p "$D/repos"
	git clone -q --bare "$w" "$D/repos/app.git"
	export GITPORT HTTPPORT
	GITPORT=$(free_port)
	git daemon --listen=127.0.0.1 --port="$GITPORT" --base-path="$D/repos" --export-all --reuseaddr \
		--pid-file="$D/git.pid" --detach "$D/repos"
	mkdir -p "$D/www/cgi-bin" "$D/www/df"
	printf '#!/bin/sh\nexport GIT_PROJECT_ROOT=%s GIT_HTTP_EXPORT_ALL=1\nexec /usr/lib/git-core/git-http-backend\n' "$D/repos" >"$D/www/cgi-bin/git"
	chmod +x "$D/www/cgi-bin/git"
	printf 'FROM http:1\nCOPY file.txt /\n' >"$D/www/df/Dockerfile"
	echo file >"$D/www/df/file.txt"
	HTTPPORT=$(free_port)
	busybox httpd -p "127.0.0.1:$HTTPPORT" -h "$D/www" 3>&-
	wait_http "http://127.0.0.1:$HTTPPORT/df/Dockerfile"
	local i
	for i in $(seq 1 50); do git ls-remote "git://127.0.0.1:$GITPORT/app.git" >/dev/null 2>&1 && break; sleep 0.1; done
}

teardown_file() {
	[ -f "$D/git.pid" ] && kill "$(cat "$D/git.pid")" 2>/dev/null
	pkill -f "busybox httpd -p 127.0.0.1:$HTTPPORT" 2>/dev/null
	rm -rf "$D"
}

setup() {
	RC=$(mktemp -d)
}

teardown() {
	rm -rf "$RC"
}

src() { # src SRC [more flags]: runs fb-fetch source; $output is the document
	run --separate-stderr fb-fetch source --run-cache="$RC" --dockerfile "$@"
}

@test "local: a file or a directory; the context is its directory unless --context" {
	src "$D/work/sub/Dockerfile"
	[ "$status" -eq 0 ]
	[ "$(jq -r .source.dockerfile <<<"$output")" = "$D/work/sub/Dockerfile" ]
	[ "$(jq -r .source.context <<<"$output")" = "$D/work/sub" ]
	src "$D/work" --context "$D/work/sub"
	[ "$(jq -r .source.dockerfile <<<"$output")" = "$D/work/Dockerfile" ]
	[ "$(jq -r .source.context <<<"$output")" = "$D/work/sub" ]
	src "$D/nope"
	[ "$status" -eq 3 ]
}

@test ".dockerignore and <Dockerfile>.dockerignore (which wins)" {
	src "$D/work"
	[ "$(jq -c .source.dockerignore <<<"$output")" = '["*.log","!keep.log","secret"]' ]
	printf 'only-this\n' >"$D/work/Dockerfile.dockerignore"
	src "$D/work"
	rm "$D/work/Dockerfile.dockerignore"
	[ "$(jq -c .source.dockerignore <<<"$output")" = '["only-this"]' ]
}

@test "http: the Dockerfile is fetched, its directory is the context" {
	src "http://127.0.0.1:$HTTPPORT/df/Dockerfile"
	[ "$status" -eq 0 ]
	[ "$(jq -r .source.kind <<<"$output")" = http ]
	[ "$(cat "$(jq -r .source.dockerfile <<<"$output")")" = $'FROM http:1\nCOPY file.txt /' ]
	[ "$(jq -r .source.context_url <<<"$output")" = "http://127.0.0.1:$HTTPPORT/df/" ]
	[[ "$(jq -r .source.temporary <<<"$output")" == "$RC/sources/"* ]]
	# the plan reads it straight from the document
	run --separate-stderr fb-parse <<<"$output"
	[ "$(jq -r '.plan.stages[0].base' <<<"$output")" = http:1 ]
	local before
	before=$(ls "$RC/sources" | wc -l)
	src "http://127.0.0.1:$HTTPPORT/df/Missing"
	[ "$status" -eq 3 ]
	[ "$(ls "$RC/sources" | wc -l)" -eq "$before" ] # nothing left of the failed fetch
}

@test "git daemon: a tag, a branch, a commit, no ref, a sub-directory" {
	local base="git://127.0.0.1:$GITPORT/app.git"
	src "$base:/Dockerfile#v1"
	[ "$status" -eq 0 ]
	[ "$(cat "$(jq -r .source.dockerfile <<<"$output")")" = "FROM a:1" ]
	[ "$(jq -r .source.commit <<<"$output")" = "$(cat "$D/commit1")" ]
	src "$base:/Dockerfile#dev"
	[ "$(cat "$(jq -r .source.dockerfile <<<"$output")")" = "FROM a:dev" ]
	src "$base:/Dockerfile#$(cat "$D/commit1")"
	[ "$(cat "$(jq -r .source.dockerfile <<<"$output")")" = "FROM a:1" ]
	src "$base"
	[ "$(cat "$(jq -r .source.dockerfile <<<"$output")")" = "FROM a:main" ]
	[ "$(jq -c .source.dockerignore <<<"$output")" = '["*.log","!keep.log","secret"]' ]
	src "$base:/sub/Dockerfile#v1"
	[ "$(cat "$(jq -r .source.dockerfile <<<"$output")")" = "FROM sub:1" ]
	[[ "$(jq -r .source.context <<<"$output")" == */checkout/sub ]]
}

@test "git over smart http (git http-backend)" {
	src "git+http://127.0.0.1:$HTTPPORT/cgi-bin/git/app.git:/Dockerfile#dev"
	[ "$status" -eq 0 ]
	[ "$(cat "$(jq -r .source.dockerfile <<<"$output")")" = "FROM a:dev" ]
}

@test "git: a missing ref or path is not found; an unreachable repo fails" {
	src "git://127.0.0.1:$GITPORT/app.git:/Dockerfile#nosuch"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *'no branch, tag or commit "nosuch"'* ]]
	src "git://127.0.0.1:$GITPORT/app.git:/nope/Dockerfile"
	[ "$status" -eq 3 ]
	src "git://127.0.0.1:1/app.git"
	[ "$status" -eq 1 ]
	[ -z "$(ls "$RC/sources")" ]
}
