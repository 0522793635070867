# Shared set-up for the bats suites.
bats_require_minimum_version 1.5.0
FB_ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
FB_BIN="${FB_BIN:-$FB_ROOT/build/bin}"
FB_SHARED="${FB_SHARED:-$(cd "$FB_ROOT/.." && pwd)/shared}"
CORPUS="$FB_SHARED/corpus"
PATH="$FB_BIN:$PATH"
# valgrind cannot run a sanitizer build (make test's FB_BIN): the valgrind
# tests run the normal build's tools (valgrind finds them on its PATH)
FB_PLAIN_BIN="${FB_PLAIN_BIN:-$FB_ROOT/build/bin}"

# Are FB_BIN's tools a sanitizer build?
fb_san() {
	ldd "$FB_BIN/fb-parse" 2>/dev/null | grep -q libasan
}

# Compare two JSON documents after sorting keys: json_eq ACTUAL EXPECTED
json_eq() {
	local a b
	a=$(jq -S . <<<"$1") || { echo "not JSON: $1"; return 1; }
	b=$(jq -S . <<<"$2") || { echo "expected is not JSON: $2"; return 1; }
	if [ "$a" != "$b" ]; then
		diff <(echo "$b") <(echo "$a") | sed 's/^/# /'
		return 1
	fi
}

# Run a command keeping stdout and stderr apart: $output is stdout,
# $stderr is stderr, $status the exit status.
run_split() {
	run --separate-stderr "$@"
}

need_corpus() {
	[ -d "$CORPUS" ] || skip "corpus not found at $CORPUS (set FB_SHARED)"
}
