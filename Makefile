# ringcast — one Makefile for everything.
#   make            build/bin/broker, build/bin/edge (gcc, -O2 -g)
#   make test       deps, ASan+UBSan build, every unit and integration test
#   make run        deps, build, a local cluster in the foreground
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (clang)
#   make deps       install missing Debian packages and test npm modules
ifeq ($(origin CC),default)
CC = gcc
endif
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
BUILD ?= build
SANITIZE ?=

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wundef -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 $(WARN) -D_GNU_SOURCE -I. -MMD -MP
# Each binary links only what it uses. LIB_LIBS: what the objects of
# librc.a (proto/, shm/, common/) need: jansson (Phoenix messages) and
# libcrypto (SHA-1 of the WebSocket accept key), libsodium (SipHash of
# topic names), libjwt (connect tokens), libcurl and pthreads (the upstream
# call pool, common/hpool.c).
LIB_LIBS     := -ljansson -lcrypto -lsodium -ljwt -lcurl -lpthread
BROKER_LIBS  := $(LIB_LIBS) -levent -lmsgpackc -lpthread
EDGE_LIBS    := $(LIB_LIBS) -luring -levent -lpthread
LOADGEN_LIBS := $(LIB_LIBS) -lm
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
endif
ifneq ($(findstring undefined,$(SANITIZE)),)
CFLAGS  += -fno-sanitize-recover=undefined
endif
# TSan does not model atomic_thread_fence; the log's fenced accesses to ring
# bytes are excluded from race detection anyway (shm/tsan.h).
ifneq ($(findstring thread,$(SANITIZE)),)
CFLAGS  += -Wno-tsan
endif
ifneq ($(SANITIZE),)
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC    := $(wildcard proto/*.c shm/*.c common/*.c)
BROKER_SRC := $(wildcard broker/*.c)
EDGE_SRC   := $(wildcard edge/*.c)
LOADGEN_SRC:= $(wildcard bench/loadgen/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
TOOL_SRC   := $(wildcard tests/tools/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB        := $(BUILD)/librc.a
BROKER     := $(BUILD)/bin/broker
EDGE       := $(BUILD)/bin/edge
LOADGEN    := $(BUILD)/bin/loadgen
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/bin/%,$(TOOL_SRC))

.SECONDARY:
.PHONY: bench all test run deps test-deps unit-bins stress stress-bins micro fuzz fuzz-replay-bins clean
all: $(BROKER) $(EDGE) $(if $(LOADGEN_SRC),$(LOADGEN)) $(TOOL_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(call obj,$(LIB_SRC))
	@$(AR) rcs $@ $^

# link LIBS: links the prerequisites (objects and LIB) into $@.
define link
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(1)
endef

# Test tools (tests/tools/*.c): small programs the integration tests drive.
$(TOOL_BINS): $(BUILD)/bin/%: $(BUILD)/obj/tests/tools/%.o $(LIB)
	$(call link,$(LIB_LIBS) $(TOOL_LIBS))
$(BUILD)/bin/seccomp_exec: TOOL_LIBS := -lseccomp
$(BUILD)/bin/listener_hold: TOOL_LIBS := -levent
$(BUILD)/bin/upstream: TOOL_LIBS := -levent

$(BROKER): $(call obj,$(BROKER_SRC)) $(LIB)
	$(call link,$(BROKER_LIBS))

$(EDGE): $(call obj,$(EDGE_SRC)) $(LIB)
	$(call link,$(EDGE_LIBS))

$(LOADGEN): $(call obj,$(LOADGEN_SRC)) $(LIB)
	$(call link,$(LOADGEN_LIBS))

# Stress programs: one C file each under tests/stress/, linked with LIB.
STRESS_SRC  := $(wildcard tests/stress/*.c)
STRESS_BINS := $(patsubst tests/stress/%.c,$(BUILD)/tests/stress_%,$(STRESS_SRC))
$(STRESS_BINS): $(BUILD)/tests/stress_%: $(BUILD)/obj/tests/stress/%.o $(LIB)
	$(call link,$(LIB_LIBS) -lpthread)
stress-bins: $(STRESS_BINS)
# make stress: the long run of issue 4 (10 million records), optimized build.
stress: stress-bins
	@$(BUILD)/tests/stress_log_stress --mode fork --records 10000000 --readers 4

# Micro-benchmarks: one C file each under bench/micro/, linked with LIB.
MICRO_SRC  := $(wildcard bench/micro/*.c)
MICRO_BINS := $(patsubst bench/micro/%.c,$(BUILD)/bin/%,$(MICRO_SRC))
$(MICRO_BINS): $(BUILD)/bin/%: $(BUILD)/obj/bench/micro/%.o $(LIB)
	$(call link,$(LIB_LIBS) -luring -lpthread -lm)
micro: $(MICRO_BINS)

# Unit tests of edge/ files link those objects too (the rest is in LIB).
$(BUILD)/tests/test_topics: $(BUILD)/obj/edge/topics.o
$(BUILD)/tests/test_log_watch: $(BUILD)/obj/edge/log_watch.o
# test_hpool starts the upstream test tool, built next to it.
$(BUILD)/tests/test_hpool: | $(BUILD)/bin/upstream
$(UNIT_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	$(call link,$(LIB_LIBS) -lpthread $$(pkg-config --libs check))

unit-bins: $(UNIT_BINS)

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

# The test build: sanitizers on, its own tree so it never mixes with `make`.
ASAN_BUILD := build/asan
TSAN_BUILD := build/tsan
test: test-deps
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) SANITIZE=address,undefined all unit-bins stress-bins
	@$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) SANITIZE=thread unit-bins stress-bins
	@$(MAKE) --no-print-directory fuzz-replay-bins
	@TSAN_BUILD=$(TSAN_BUILD) scripts/run-tests.sh $(ASAN_BUILD)

run: deps all
	@./ringcast start --foreground $(ARGS)

# libFuzzer targets: each links the library sources it needs directly.
FUZZ_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
REPLAY_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/replay_%,$(FUZZ_SRC))
# The push-body driver includes the broker's parsers (msgpack-c); the
# library's sources pull in io_uring-free code only.
FUZZ_LIBS   := $(LIB_LIBS) -lmsgpackc -lpthread
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(FUZZ_LIBS)
# Replay binaries: the same driver with a main() that runs each corpus file,
# built with gcc + ASan/UBSan so `make test` needs no libFuzzer runtime.
build/fuzz/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	@$(CC) -std=c11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -o $@ $< tests/fuzz/replay_main.c $(LIB_SRC) $(FUZZ_LIBS)
# The push-body fuzzer #includes the broker's parser sources directly.
PUSH_PARSE_SRC := broker/push_parse.c broker/push_json_scan.c broker/push_msgpack.c broker/push_parse.h
build/fuzz/fuzz_push_body build/fuzz/replay_fuzz_push_body: $(PUSH_PARSE_SRC)
fuzz-replay-bins: $(REPLAY_BINS)
fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

# make bench: the quick load-test suite of bench/ (under 10 minutes) on an
# optimized build; regenerates the tables of bench/RESULTS.md from JSON.
bench: all micro
	@scripts/install-deps.sh --bench
	@bench/run-quick.sh
	@bench/producer/run.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
