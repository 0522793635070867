#!/usr/bin/env bats
# The repository's own shape: lib/ layered as docs/architecture.md says,
# and jv only in the codecs, checked by `make check`.

load helpers

setup() {
	T=$(mktemp -d)
	mkdir -p "$T/scripts"
	cp -r "$FB_ROOT/lib" "$T/lib"
	cp -r "$FB_ROOT/tools" "$T/tools"
	cp "$FB_ROOT/scripts/check-layers" "$T/scripts/"
}

teardown() {
	rm -rf "$T"
}

@test "make check: lib/ includes point down the layers" {
	run make -s -C "$FB_ROOT" check
	[ "$status" -eq 0 ]
	[[ "$output" == *"point down the layers"* ]]
	[[ "$output" == *"jv only in the codecs"* ]]
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

@test "check-layers names a jv use outside the codecs, in lib/ and tools/, and not one in a comment or a string" {
	run "$T/scripts/check-layers"
	[ "$status" -eq 0 ]
	# a comment and a string may say jv
	printf '/* jv_free(x) */\nstatic const char *const s = "jv_null()";\n' >>"$T/lib/core/log.c"
	run "$T/scripts/check-layers"
	[ "$status" -eq 0 ]
	# a call in a tool
	printf 'static void f(void) { jv_free(jv_null()); }\n' >>"$T/tools/fb-tag.c"
	run "$T/scripts/check-layers"
	[ "$status" -eq 1 ]
	local n
	n=$(wc -l <"$T/tools/fb-tag.c")
	[[ "$output" == *"tools/fb-tag.c:$n: jv_free: jv belongs in the codecs"* ]]
	cp "$FB_ROOT/tools/fb-tag.c" "$T/tools/fb-tag.c"
	# the type, and libjq's header, in a module that is no codec
	printf '#include <jv.h>\n' >>"$T/lib/vm/vm.c"
	printf 'int fb_x(jv v);\n' >>"$T/lib/image/ref.h"
	run "$T/scripts/check-layers"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lib/vm/vm.c:$(wc -l <"$T/lib/vm/vm.c"): jv: jv belongs in the codecs"* ]]
	[[ "$output" == *"lib/image/ref.h:$(wc -l <"$T/lib/image/ref.h"): jv: jv belongs in the codecs"* ]]
	cp "$FB_ROOT/lib/vm/vm.c" "$T/lib/vm/vm.c"
	cp "$FB_ROOT/lib/image/ref.h" "$T/lib/image/ref.h"
	# a codec may: NAME_doc.c
	printf 'static void f(void) { jv_free(jv_null()); }\n' >>"$T/lib/vm/spec_doc.c"
	run "$T/scripts/check-layers"
	[ "$status" -eq 0 ]
}
