# firebuild — plain GNU make. `make` builds the tools, `make test` runs
# everything, `make demo` shows the main job. WERROR=1 and SAN=1 variants.

# CC is one of make's own variables (cc): only make's default gives way to gcc,
# CC=... on the command line or in the environment wins.
ifeq ($(origin CC),default)
CC := gcc
endif
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
SHARED ?= $(abspath $(CURDIR)/../shared)

WARN := -std=gnu11 -Wall -Wextra -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wundef
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS ?= -O2 -g
# lib/ is layered (docs/architecture.md, `make check`); each folder is on the
# include path, so an include names a module, and scripts/check-layers
# knows which layer it is in
LIB_DIRS := $(sort $(dir $(wildcard lib/*/*.c lib/*/*.h)))
LIB_INC := $(patsubst %/,-I%,$(LIB_DIRS))
CFLAGS += $(WARN) $(HARDEN) -D_GNU_SOURCE $(LIB_INC)
LDFLAGS += -Wl,-z,relro,-z,now
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

# Nothing read at parse time may need the packages: `make demo` and `make
# test` install them (deps) and then build in a sub-make. pkg-config is asked
# when a recipe first needs its answer, once; a missing package stops make.
# Its answers stay out of CFLAGS/LIBS, which make exports to every recipe
# (deps' too) when they come from the environment.
pkg = $(shell $(PKG_CONFIG) $1)$(if $(filter 0,$(.SHELLSTATUS)),,$(error $(PKG_CONFIG) $1 failed: packages are missing (make deps, as root)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg,--cflags libarchive ext2fs libgit2))$(PKG_CFLAGS)
# libcurl, libarchive and libgit2 are not linked: lib/core/lazylib loads
# each when a tool first calls it (curlapi, archiveapi, gitapi); with the
# libraries under them they were most of every tool's start-up
# libcrypto, libext2fs and libcom_err go in statically: loading and
# relocating them was ~2 ms of every tool's start (a pipeline's tools run
# one after another), where the tools take only SHA-256 from libcrypto
STATIC_LS := -lext2fs -lcom_err -lcrypto
# (--exclude-libs: nothing of theirs is exported, where a test links
# libcurl, which loads the shared libcrypto)
static_ls = $(filter-out $(STATIC_LS),$1) -Wl,-Bstatic $(filter $(STATIC_LS),$1) -Wl,-Bdynamic \
	-Wl,--exclude-libs,libcrypto.a:libext2fs.a:libcom_err.a
PKG_LIBS = $(eval PKG_LIBS := $(call static_ls,$(call pkg,--libs ext2fs com_err libcrypto libisal)))$(PKG_LIBS)
LIBS = -ljq $(PKG_LIBS) -lpthread
unexport LIBS
# unit tests and fuzz targets link those three as well: a test may make
# its archives with calls the tools never need (lazylib finds the library
# already there)
LAZY_LIBS = $(eval LAZY_LIBS := $(call pkg,--libs libcurl libarchive libgit2))$(LAZY_LIBS)
TEST_LIBS = $(LIBS) $(LAZY_LIBS)
unexport LAZY_LIBS TEST_LIBS

BUILD := build
LIB_SRCS := $(wildcard lib/*/*.c)
LIB_HDRS := $(wildcard lib/*/*.h)
LIB_OBJS := $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.o)
TOOLS := fb-parse fb-fetch fb-mkrootfs fb-tag fb-exec fb-jail fb-net tc-redirect-tap firebuild fb-init fb-runtime
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

$(BUILD)/lib/%.o: lib/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/libfb.a: $(LIB_OBJS)
	ar rcs $@ $^

FB_JAIL_SRCS := tools/fb-jail.c tools/fb-jail-prepare.c tools/fb-jail-qemu.c tools/fb-jail-fc.c
$(BUILD)/bin/fb-jail: $(FB_JAIL_SRCS) tools/fb-jail.h tools/fb-etc.h $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itools -o $@ $(FB_JAIL_SRCS) $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

FB_RUNTIME_SRCS := tools/fb-runtime.c tools/fb-runtime-util.c tools/fb-runtime-bundle.c tools/fb-runtime-sup.c tools/fb-runtime-vm.c tools/fb-runtime-net.c tools/fb-runtime-exec.c
$(BUILD)/bin/fb-runtime: $(FB_RUNTIME_SRCS) tools/fb-runtime.h tools/fb-runtime-sup.h tools/fb-io.h $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itools -o $@ $(FB_RUNTIME_SRCS) $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

FB_FETCH_SRCS := tools/fb-fetch.c tools/fb-fetch-push.c tools/fb-fetch-cache.c
$(BUILD)/bin/fb-fetch: $(FB_FETCH_SRCS) tools/fb-fetch.h $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itools -o $@ $(FB_FETCH_SRCS) $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

FIREBUILD_SRCS := tools/firebuild.c tools/firebuild-settings.c tools/firebuild-build.c tools/firebuild-run.c tools/firebuild-vm.c tools/firebuild-push.c
$(BUILD)/bin/firebuild: $(FIREBUILD_SRCS) tools/firebuild.h $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itools -o $@ $(FIREBUILD_SRCS) $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

# fb-init runs as PID 1 in images with no libc: static, with musl, from
# its own files only (tools/fb-init/, and tools/fb-io.h, the fb.io port
# it shares with fb-runtime; no lib/)
FB_INIT_SRCS := $(wildcard tools/fb-init/*.c)
$(BUILD)/bin/fb-init: $(FB_INIT_SRCS) tools/fb-init/fb-init.h tools/fb-io.h tools/fb-etc.h
	@mkdir -p $(dir $@)
	musl-gcc -std=gnu11 -Os -static -s $(WARN) $(if $(filter 1,$(WERROR)),-Werror) -Itools -o $@ $(FB_INIT_SRCS)

$(BUILD)/bin/%: tools/%.c $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

# Unit tests always build with ASan+UBSan, against the library built so
# once (build/san/libfb.a), not each test with every source again.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_OBJS := $(LIB_SRCS:lib/%.c=$(BUILD)/san/lib/%.o)
$(BUILD)/san/lib/%.o: lib/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(PKG_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/san/libfb.a: $(SAN_OBJS)
	ar rcs $@ $^

# The tools built so too, into build/san/bin, for `make test`'s bats suites
# (FB_BIN): each tool finds the others next to itself. fb-init, the static
# musl guest init, is the same file in both.
SAN_BIN := $(BUILD)/san/bin
SAN_TOOL_BINS := $(TOOLS:%=$(SAN_BIN)/%)
SAN_CC = $(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(PKG_CFLAGS) $(SAN_FLAGS)
SAN_LINK = $(BUILD)/san/libfb.a $(LDFLAGS) $(LIBS)

$(SAN_BIN)/fb-init: $(BUILD)/bin/fb-init
	@mkdir -p $(dir $@)
	cp $< $@

$(SAN_BIN)/fb-jail: $(FB_JAIL_SRCS) tools/fb-jail.h tools/fb-etc.h $(BUILD)/san/libfb.a
	@mkdir -p $(dir $@)
	$(SAN_CC) -Itools -o $@ $(FB_JAIL_SRCS) $(SAN_LINK)

$(SAN_BIN)/fb-runtime: $(FB_RUNTIME_SRCS) tools/fb-runtime.h tools/fb-runtime-sup.h tools/fb-io.h $(BUILD)/san/libfb.a
	@mkdir -p $(dir $@)
	$(SAN_CC) -Itools -o $@ $(FB_RUNTIME_SRCS) $(SAN_LINK)

$(SAN_BIN)/fb-fetch: $(FB_FETCH_SRCS) tools/fb-fetch.h $(BUILD)/san/libfb.a
	@mkdir -p $(dir $@)
	$(SAN_CC) -Itools -o $@ $(FB_FETCH_SRCS) $(SAN_LINK)

$(SAN_BIN)/firebuild: $(FIREBUILD_SRCS) tools/firebuild.h $(BUILD)/san/libfb.a
	@mkdir -p $(dir $@)
	$(SAN_CC) -Itools -o $@ $(FIREBUILD_SRCS) $(SAN_LINK)

$(SAN_BIN)/%: tools/%.c $(BUILD)/san/libfb.a
	@mkdir -p $(dir $@)
	$(SAN_CC) -o $@ $< $(SAN_LINK)

# fb-init's JSON reader is built into its test from its own source
$(BUILD)/san/test_initjson: private CFLAGS += -Itools -U_GNU_SOURCE
$(BUILD)/san/test_initjson: tools/fb-init/json.c tools/fb-init/fb-init.h tools/fb-etc.h
$(BUILD)/san/test_%: tests/unit/test_%.c $(BUILD)/san/libfb.a $(LIB_HDRS) tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(PKG_CFLAGS) $(SAN_FLAGS) -o $@ $< $(BUILD)/san/libfb.a $(TEST_LIBS)

# Fuzzing: the replay build runs the committed corpus under ASan+UBSan in
# `make test`; `make fuzz` runs libFuzzer (clang) for FUZZ_TIME seconds a
# target (FUZZ_TARGETS=fuzz_plan for one), with tests/fuzz/TARGET.dict when
# there is one.
FUZZ_TARGETS ?= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/san/%_replay)
FUZZ_TIME ?= 600
$(BUILD)/san/fuzz_%_replay: tests/fuzz/fuzz_%.c tests/fuzz/replay.h $(BUILD)/san/libfb.a $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(PKG_CFLAGS) $(SAN_FLAGS) -DFB_FUZZ_REPLAY -o $@ $< $(BUILD)/san/libfb.a $(TEST_LIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE $(LIB_INC) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $< $(LIB_SRCS) $(TEST_LIBS)

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
		name=$${t#fuzz_}; mkdir -p $(BUILD)/fuzz/corpus-$$name; \
		echo "fuzz: $$t for $(FUZZ_TIME)s"; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 $$dict \
			-max_len=$${FUZZ_MAX_LEN:-65536} -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
			$(BUILD)/fuzz/corpus-$$name tests/fuzz/corpus/$$name || exit 1; \
	done

# The targets that install packages (deps) build in a sub-make after it: a
# make reads its Makefile once, and `demo: deps all` would build (in parallel
# under -j) with what it read before the packages were there.
INSTALL_DEPS ?= ./scripts/install-deps
deps:
	$(INSTALL_DEPS)

# includes point down the layers only (docs/architecture.md)
check:
	@./scripts/check-layers

unit: $(UNIT_BINS)
	@./scripts/run-tests unit $(UNIT_BINS)

bats: all
	@./scripts/run-tests bats tests/bats/*.bats

# `make test` sets itself up: packages, build, unit tests under sanitizers,
# every bats suite against the tools built with the sanitizers (build/san/bin;
# a report fails its suite, leaks included: the reports stay in
# build/san/logs/SUITE/), one summary line. `make bats` and `make demo` run
# the normal build.
test: deps
	@$(MAKE) --no-print-directory check test-build
	@FB_SHARED=$(SHARED) FB_BIN=$(abspath $(SAN_BIN)) FB_SAN_LOGS=$(BUILD)/san/logs ./scripts/run-tests all

# everything `make test` runs: the tools (both builds), the unit tests, the
# fuzz replays
test-build: all $(UNIT_BINS) $(FUZZ_REPLAY) $(SAN_TOOL_BINS)

# scripts/fresh-check runs `make demo DEMO_SCRIPT='./scripts/demo --preflight'`
DEMO_SCRIPT ?= ./scripts/demo
demo: deps
	@$(MAKE) --no-print-directory all
	@$(DEMO_SCRIPT)

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

bench: deps
	@$(MAKE) --no-print-directory all
	@./bench/parse-scale --write
	@./bench/convert --write
	@./bench/build --write
	@./bench/boot --write
	@./bench/net --write
	@./bench/tracing --write
	@./bench/runtime --write

.PHONY: all check deps unit bats test test-build demo clean fuzz bench install
.SECONDARY:
