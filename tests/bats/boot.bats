#!/usr/bin/env bats
# The guest kernel (scripts/build-kernel, cached outside the checkout) boots
# an ext4 image written by fb-mkrootfs under QEMU -M microvm: the first
# proof that what we build is bootable. fb-init and `firebuild run` build
# on this.

load helpers

setup_file() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
	export KERNEL
	KERNEL=$("$FB_ROOT/scripts/build-kernel" 2>/dev/null | tail -1) || true
}

setup() {
	[ -f "${KERNEL:-}" ] || skip "no guest kernel (scripts/build-kernel failed or linux-source-6.1 is missing)"
	T=$(mktemp -d)
}

teardown() {
	[ -n "${T:-}" ] && rm -rf "$T"
	return 0
}

@test "the kernel is an ELF vmlinux with the PVH note, and the cache answers at once" {
	run readelf -n "$KERNEL"
	[[ "$output" == *"Xen"*"0x00000012"* ]] || [[ "$output" == *"Xen"*"Unknown note type: (0x00000012)"* ]]
	local start=$SECONDS
	run "$FB_ROOT/scripts/build-kernel"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$KERNEL" ]
	[ $((SECONDS - start)) -lt 5 ]
}

@test "an fb-mkrootfs image boots under QEMU microvm and runs its init" {
	cat >"$T/init.c" <<'C'
#include <stdio.h>
#include <sys/reboot.h>
#include <unistd.h>
int main(void)
{
	printf("guest says hello as pid %d\n", (int)getpid());
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
C
	gcc -static -Os -o "$T/init" "$T/init.c"
	mkdir -p "$T/tree/dev" "$T/tree/proc"
	cp "$T/init" "$T/tree/init"
	tar --numeric-owner -C "$T/tree" -cf "$T/layer.tar" .
	fb-mkrootfs --layer "$T/layer.tar" --output "$T/root.ext4" --disk-size 64M >/dev/null 2>&1
	run timeout 120 qemu-system-x86_64 -M microvm,acpi=off -m 256 -smp 1 -kernel "$KERNEL" \
		-drive id=root,file="$T/root.ext4",format=raw,if=none -device virtio-blk-device,drive=root \
		-nographic -no-reboot -append "console=ttyS0 root=/dev/vda rw init=/init panic=-1 reboot=t quiet"
	[ "$status" -eq 0 ]
	[[ "$output" == *"guest says hello as pid 1"* ]]
}
