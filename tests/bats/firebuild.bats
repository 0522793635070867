#!/usr/bin/env bats
# The dispatcher: finds its tools, lists commands, refuses the unknown.

load helpers

@test "firebuild --help lists the commands" {
	run firebuild --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: firebuild"* ]]
	[[ "$output" == *"parse "* ]]
}

@test "firebuild --version" {
	run firebuild --version
	[ "$status" -eq 0 ]
	[[ "$output" == "firebuild "[0-9]* ]]
}

@test "no command, an unknown command or flag: exit 2 with one line" {
	run firebuild
	[ "$status" -eq 2 ]
	run firebuild frobnicate
	[ "$status" -eq 2 ]
	[ "$output" = "firebuild: error: unknown command 'frobnicate' (see firebuild --help)" ]
	run firebuild --frobnicate
	[ "$status" -eq 2 ]
	[ "$output" = "firebuild: error: unknown flag '--frobnicate' (see firebuild --help)" ]
}

@test "firebuild parse runs fb-parse with the same flags" {
	run bash -c 'printf "ARG V=1\nFROM a:\$V\n" | firebuild parse --build-arg V=2 | jq -r ".plan.stages[0].base"'
	[ "$status" -eq 0 ]
	[ "$output" = "a:2" ]
	run firebuild parse --bogus
	[ "$status" -eq 2 ]
}

@test "firebuild finds its tools in an install's libexec directory" {
	local d
	d=$(mktemp -d)
	mkdir -p "$d/bin" "$d/libexec/firebuild"
	cp "$FB_BIN/firebuild" "$d/bin/"
	cp "$FB_BIN/fb-parse" "$d/libexec/firebuild/"
	run bash -c "printf 'FROM x\n' | '$d/bin/firebuild' parse | jq -r '.plan.stages[0].base'"
	rm -rf "$d"
	[ "$status" -eq 0 ]
	[ "$output" = "x" ]
}

@test "firebuild names a missing tool" {
	local d
	d=$(mktemp -d)
	cp "$FB_BIN/firebuild" "$d/"
	run "$d/firebuild" parse
	rm -rf "$d"
	[ "$status" -eq 3 ]
	[[ "$output" == "firebuild: error: fb-parse not found next to"* ]]
}
