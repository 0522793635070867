#!/usr/bin/env bats
# The repository's own shape: lib/ layered as docs/architecture.md says,
# checked by `make check`.

load helpers

setup() {
	T=$(mktemp -d)
	mkdir -p "$T/scripts"
	cp -r "$FB_ROOT/lib" "$T/lib"
	cp "$FB_ROOT/scripts/check-layers" "$T/scripts/"
}

teardown() {
	rm -rf "$T"
}

@test "make check: lib/ includes point down the layers" {
	run make -s -C "$FB_ROOT" check
	[ "$status" -eq 0 ]
	[[ "$output" == *"point down the layers"* ]]
}

@test "check-layers names an include that points up or sideways, and a module outside the layering" {
	sed -i '0,/#include "err.h"/s//#include "err.h"\n#include "store.h"/' "$T/lib/core/util.c"
	run "$T/scripts/check-layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lib/core/util.c:"*"includes store.h from lib/image: lib/core may include only lib/{core}"* ]]
	cp "$FB_ROOT/lib/core/util.c" "$T/lib/core/util.c"
	sed -i '0,/#include "err.h"/s//#include "err.h"\n#include "ref.h"/' "$T/lib/dockerfile/shlex.c"
	run "$T/scripts/check-layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lib/dockerfile/shlex.c:"*"includes ref.h from lib/image"* ]]
	cp "$FB_ROOT/lib/dockerfile/shlex.c" "$T/lib/dockerfile/shlex.c"
	mkdir "$T/lib/misc" && echo '#include "err.h"' >"$T/lib/misc/x.c"
	run "$T/scripts/check-layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lib/misc is not in the layering"* ]]
	rm -r "$T/lib/misc"
	cp "$T/lib/core/err.h" "$T/lib/fs/err.h"
	run "$T/scripts/check-layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"err.h is in lib/"*"and lib/"* ]]
	rm "$T/lib/fs/err.h"
	echo '#include "doc_codec.h"' >>"$T/lib/vm/vm.c"
	run "$T/scripts/check-layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lib/vm/vm.c:"*"doc_codec.h is for codecs only"* ]]
}
