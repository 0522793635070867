# Registries and images for the tests: Debian's docker-registry on
# 127.0.0.1 (open, htpasswd, or token auth with our issuer), images made
# with umoci plus crafted layers, pushed with skopeo.

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

need_registry_tools() {
	local t
	for t in docker-registry skopeo umoci openssl htpasswd python3 zstd; do
		command -v "$t" >/dev/null || skip "$t is not installed"
	done
}

wait_http() { # wait_http URL: until it answers (any status)
	local i
	for i in $(seq 1 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.05
	done
	echo "nothing answers at $1" >&2
	return 1
}

# start_registry DIR [open|basic|token]: sets REG (host:port) and REGDIR;
# with REG_ACCESS_LOG=1 each request is a line of DIR/log
start_registry() {
	REGDIR=$1
	local mode=${2:-open} port
	port=$(free_port)
	REG=127.0.0.1:$port
	mkdir -p "$REGDIR/data"
	cat >"$REGDIR/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: $([ "${REG_ACCESS_LOG:-0}" = 1 ] && echo false || echo true)
storage:
  filesystem:
    rootdirectory: $REGDIR/data
  delete:
    enabled: true
http:
  addr: $REG
YML
	case "$mode" in
	basic)
		htpasswd -Bbn fbuser fbpass >"$REGDIR/htpasswd"
		printf 'auth:\n  htpasswd:\n    realm: fb-test\n    path: %s/htpasswd\n' "$REGDIR" >>"$REGDIR/config.yml"
		;;
	token)
		local tport
		tport=$(free_port)
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$REGDIR/key.pem" -out "$REGDIR/cert.pem" \
			-days 2 -subj /CN=fb-test-issuer >/dev/null 2>&1
		python3 "$BATS_TEST_DIRNAME/token-server.py" "$tport" "$REGDIR" fbuser:fbpass "${TOKEN_EXPIRES:-300}" \
			>"$REGDIR/token.log" 2>&1 3>&- &
		echo $! >"$REGDIR/token.pid"
		wait_http "http://127.0.0.1:$tport/token"
		printf 'auth:\n  token:\n    realm: http://127.0.0.1:%s/token\n    service: fb-test-registry\n    issuer: fb-test-issuer\n    rootcertbundle: %s/cert.pem\n' \
			"$tport" "$REGDIR" >>"$REGDIR/config.yml"
		;;
	esac
	# 3>&-: a server must not hold bats's output open
	docker-registry serve "$REGDIR/config.yml" >"$REGDIR/log" 2>&1 3>&- &
	echo $! >"$REGDIR/registry.pid"
	wait_http "http://$REG/v2/"
}

stop_registry() {
	local f
	for f in "$1"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null && { wait "$(cat "$f")" 2>/dev/null || true; }
		rm -f "$f"
	done
	return 0
}

# new_image LAYOUT TAG: an empty image made by umoci, with a config
new_image() {
	[ -d "$1" ] || umoci init --layout "$1"
	umoci new --image "$1:$2"
	umoci config --image "$1:$2" --config.cmd=/bin/sh --config.env=FROM_IMAGE=yes --config.workingdir=/srv
}

# add_layer LAYOUT TAG FILE.tar[.gz|.zst] [--platform P] < mklayer spec
add_layer() {
	local layout=$1 tag=$2 file=$3
	shift 3
	python3 "$BATS_TEST_DIRNAME/mklayer.py" "$file"
	python3 "$BATS_TEST_DIRNAME/oci-add-layer.py" "$layout" "$tag" "$file" "$@"
}

push() { # push LAYOUT:TAG NAME:TAG [skopeo flags]
	local src=$1 dst=$2
	shift 2
	skopeo copy -q --dest-tls-verify=false "$@" "oci:$src" "docker://$REG/$dst"
}

# every blob in a store hashes to its name
store_consistent() {
	local f
	for f in "$1"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum <"$f" | cut -c1-64)" = "$(basename "$f")" ] || { echo "bad blob $f"; return 1; }
	done
}
