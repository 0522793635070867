# firebuild — plain GNU make. `make` builds the tools, `make test` runs
# everything, `make demo` shows the main job. WERROR=1 and SAN=1 variants.

CC ?= gcc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
SHARED ?= $(abspath $(CURDIR)/../shared)

WARN := -std=gnu11 -Wall -Wextra -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wundef
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS ?= -O2 -g
CFLAGS += $(WARN) $(HARDEN) -D_GNU_SOURCE -Ilib $(shell $(PKG_CONFIG) --cflags libarchive ext2fs libgit2)
LDFLAGS += -Wl,-z,relro,-z,now
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIBS := -ljq $(shell $(PKG_CONFIG) --libs libarchive ext2fs com_err libcrypto libcurl libisal libgit2) -lpthread

BUILD := build
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.o)
TOOLS := fb-parse fb-fetch fb-mkrootfs fb-tag fb-exec fb-jail fb-net tc-redirect-tap firebuild fb-init
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/san/%)

all: $(TOOL_BINS) baseos/busybox/busybox baseos/busybox/dropbear.tar.gz

# baseos/busybox builds with no network: its context gets Debian's static
# busybox, and Debian's dropbear with the libraries it loads (for --ssh-user)
baseos/busybox/busybox: /bin/busybox
	cp $< $@

baseos/busybox/dropbear.tar.gz: /usr/sbin/dropbear
	files=$$(ldd $< | grep -o '/[^ ]*' | sed 's|^/||') && tar -C / -chzf $@ usr/sbin/dropbear $$files

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libfb.a: $(LIB_OBJS)
	ar rcs $@ $^

FB_JAIL_SRCS := tools/fb-jail.c tools/fb-jail-qemu.c tools/fb-jail-fc.c
$(BUILD)/bin/fb-jail: $(FB_JAIL_SRCS) tools/fb-jail.h $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itools -o $@ $(FB_JAIL_SRCS) $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

FIREBUILD_SRCS := tools/firebuild.c tools/firebuild-build.c tools/firebuild-run.c tools/firebuild-vm.c
$(BUILD)/bin/firebuild: $(FIREBUILD_SRCS) tools/firebuild.h $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itools -o $@ $(FIREBUILD_SRCS) $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

# fb-init runs as PID 1 in images with no libc: static, with musl
$(BUILD)/bin/fb-init: tools/fb-init.c
	@mkdir -p $(dir $@)
	musl-gcc -std=gnu11 -Os -static -s $(WARN) $(if $(filter 1,$(WERROR)),-Werror) -o $@ $<

$(BUILD)/bin/%: tools/%.c $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

# Unit tests always build with ASan+UBSan, from the sources directly.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(BUILD)/san/test_%: tests/unit/test_%.c $(LIB_SRCS) $(wildcard lib/*.h) tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(SAN_FLAGS) -o $@ $< $(LIB_SRCS) $(LIBS)

# Fuzzing: the replay build runs the committed corpus under ASan+UBSan in
# `make test`; `make fuzz` runs libFuzzer (clang) for FUZZ_TIME seconds a
# target (FUZZ_TARGETS=fuzz_plan for one), with tests/fuzz/TARGET.dict when
# there is one.
FUZZ_TARGETS ?= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/san/%_replay)
FUZZ_TIME ?= 600
$(BUILD)/san/fuzz_%_replay: tests/fuzz/fuzz_%.c tests/fuzz/replay.h $(LIB_SRCS) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(SAN_FLAGS) -DFB_FUZZ_REPLAY -o $@ $< $(LIB_SRCS) $(LIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -Ilib -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $< $(LIB_SRCS) $(LIBS)

fuzz: deps $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
		name=$${t#fuzz_}; mkdir -p $(BUILD)/fuzz/corpus-$$name; \
		echo "fuzz: $$t for $(FUZZ_TIME)s"; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 $$dict \
			-max_len=$${FUZZ_MAX_LEN:-65536} -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
			$(BUILD)/fuzz/corpus-$$name tests/fuzz/corpus/$$name || exit 1; \
	done

deps:
	./scripts/install-deps

unit: $(UNIT_BINS)
	@./scripts/run-tests unit $(UNIT_BINS)

bats: all
	@./scripts/run-tests bats tests/bats/*.bats

# `make test` sets itself up: packages, build, unit tests under sanitizers,
# every bats suite, one summary line.
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(FUZZ_REPLAY)
	@FB_SHARED=$(SHARED) ./scripts/run-tests all

demo: deps all
	@./scripts/demo

# firebuild in $(PREFIX)/bin, the tools it runs in $(PREFIX)/libexec/firebuild,
# our CNI plugin where CNI plugins live
CNI_BIN_DIR ?= /opt/cni/bin
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/firebuild $(DESTDIR)$(CNI_BIN_DIR)
	install -m 0755 $(BUILD)/bin/firebuild $(DESTDIR)$(PREFIX)/bin/firebuild
	for t in $(filter-out firebuild tc-redirect-tap,$(TOOLS)); do \
		install -m 0755 $(BUILD)/bin/$$t $(DESTDIR)$(PREFIX)/libexec/firebuild/$$t || exit 1; done
	install -m 0755 $(BUILD)/bin/tc-redirect-tap $(DESTDIR)$(CNI_BIN_DIR)/tc-redirect-tap

clean:
	rm -rf $(BUILD)

bench: deps all
	@./bench/parse-scale --write
	@./bench/convert --write
	@./bench/build --write
	@./bench/boot --write
	@./bench/net --write
	@./bench/tracing --write

.PHONY: all deps unit bats test demo clean fuzz bench install
.SECONDARY:
