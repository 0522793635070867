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
CFLAGS += $(WARN) $(HARDEN) -D_GNU_SOURCE -Ilib
LDFLAGS += -Wl,-z,relro,-z,now
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIBS := -ljq

BUILD := build
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.o)
TOOLS := fb-parse firebuild
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/san/%)

all: $(TOOL_BINS)

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libfb.a: $(LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/bin/%: tools/%.c $(BUILD)/libfb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libfb.a $(LDFLAGS) $(LIBS)

# Unit tests always build with ASan+UBSan, from the sources directly.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(BUILD)/san/test_%: tests/unit/test_%.c $(LIB_SRCS) $(wildcard lib/*.h) tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(SAN_FLAGS) -o $@ $< $(LIB_SRCS) $(LIBS)

deps:
	./scripts/install-deps

unit: $(UNIT_BINS)
	@./scripts/run-tests unit $(UNIT_BINS)

bats: all
	@./scripts/run-tests bats tests/bats/*.bats

# `make test` sets itself up: packages, build, unit tests under sanitizers,
# every bats suite, one summary line.
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@FB_SHARED=$(SHARED) ./scripts/run-tests all

demo: deps all
	@./scripts/demo

clean:
	rm -rf $(BUILD)

.PHONY: all deps unit bats test demo clean
.SECONDARY:
