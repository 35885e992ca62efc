# crowbar: a plain, non-recursive Makefile.
#
#   make                  build everything into build/
#   make check            install missing Debian packages, build, run every test
#   make demo             install missing Debian packages, build, run the crash-diagnosis demo
#   make install PREFIX=/usr/local DESTDIR=   (bash completion into BASHCOMPDIR too)
#   make SANITIZE=address,undefined check     sanitizers over the whole suite
#   make WERROR=0         do not turn warnings into errors
#   make check-docs       every long option of every program is in its man page
#   make format / make check-format           clang-format
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="template tar"]   libFuzzer (clang), not in check

# No built-in rules: with them, make tries to remake the included .d files through
# "%: %.o" and our main-%.o pattern (compiling main-wait.d.o).
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
# Keep every object (no intermediate-file deletion).
.SECONDARY:

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/crowbar
MANDIR ?= $(PREFIX)/share/man
# bash-completion loads completions/crowbar from here ($XDG_DATA_DIRS), as Docker's.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
VERSION := 0.1.0

B := build
V ?= 0
ifeq ($(V),0)
Q := @
QCC = @echo "  CC      $<";
QLD = @echo "  LD      $@";
endif
CC ?= cc
CFLAGS ?= -O2 -g
WERROR ?= 1
WARN := -Wall -Wextra -Wformat=2 -Wshadow=local -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
CPPFLAGS += -Ilibcommon/include -I$(B)/gen -D_GNU_SOURCE -DCROWBAR_VERSION='"$(VERSION)"' \
	-DLIBEXECDIR='"$(LIBEXECDIR)"'
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -MMD -MP
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

PKGS := libarchive json-c libcap libcrypto
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -larchive -ljson-c -lcap -lcrypto)
LIBS := $(PKG_LIBS) -lm
# The shim and the init are static and small: the shim stays under 1 MiB RSS.
STATIC_LIBS := -ljson-c -lcap -lm

# ---- libcommon -------------------------------------------------------------------
LIBCOMMON_SRC := $(sort $(wildcard libcommon/*.c))
LIBCOMMON_OBJ := $(LIBCOMMON_SRC:%.c=$(B)/obj/%.o)
# A second copy built without sanitizers, for the static shim.
LIBCOMMON_PLAIN_OBJ := $(LIBCOMMON_SRC:%.c=$(B)/plain/%.o)

# ---- engine ----------------------------------------------------------------------
# Every engine verb is its own small program (crowbar-run, crowbar-ps, ...), linked with
# --as-needed against engine.a and libcommon.a: each loads only the libraries it uses
# (run and exec never load libarchive or libcrypto), which is most of a verb's start-up.
ENGINE_SRC := $(filter-out engine/main.c,$(sort $(wildcard engine/*.c)))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/obj/%.o)
ENGINE_VERBS := $(patsubst engine/cmd_%.c,%,$(wildcard engine/cmd_*.c))
ENGINE_BINS := $(ENGINE_VERBS:%=$(B)/crowbar-%)
SHIM_SRC := $(sort $(wildcard engine/shim/*.c))
SHIM_OBJ := $(SHIM_SRC:%.c=$(B)/plain/%.o)
INIT_SRC := $(sort $(wildcard engine/init/*.c))
INIT_OBJ := $(INIT_SRC:%.c=$(B)/plain/%.o)

# ---- tools -----------------------------------------------------------------------
TOOLS := $(patsubst tools/%/,%,$(sort $(dir $(wildcard tools/*/main.c))))
TOOL_BINS := $(TOOLS:%=$(B)/crowbar-%)

PROGRAMS := $(B)/crowbar $(ENGINE_BINS) $(B)/crowbar-shim $(B)/crowbar-init $(TOOL_BINS)

# ---- tests -----------------------------------------------------------------------
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Every fuzz harness (tests/fuzz/fuzz_NAME.c) is also a unit test: build/tests/test_fuzz_NAME
# replays its corpus (tests/fuzz/corpus/NAME/) under the build's compiler and sanitizers.
FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
UNIT_BINS += $(FUZZ_ALL:%=$(B)/tests/test_fuzz_%)
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPER_BINS := $(HELPER_SRC:tests/helpers/%.c=$(B)/tests/helpers/%)

.PHONY: all clean install check test deps demo check-docs format check-format bench unit fuzz \
	fuzz-build fuzz-deps
all: $(PROGRAMS)

# Verb tables, generated from the CB_VERB("name", "summary") lines of the sources.
$(B)/gen/verbs.h: $(wildcard engine/cmd_*.c) $(wildcard tools/*/main.c) tests/gen-verbs.sh
	@mkdir -p $(@D)
	$(Q)sh tests/gen-verbs.sh $(wildcard engine/cmd_*.c) -- $(wildcard tools/*/main.c) > $@.tmp && mv $@.tmp $@

# Docker's default seccomp profile, generated into a C table from the JSON that Debian ships
# with Docker 20.10 (golang-github-docker-docker-dev, installed by tests/deps.sh), with the
# system call numbers of the x86 ABIs from the kernel's headers (libcommon/gen-seccomp.py).
DOCKER_SECCOMP_JSON ?= /usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
ASM_INCLUDE ?= /usr/include/$(shell $(CC) -dumpmachine)/asm
$(B)/gen/seccomp_tables.h: libcommon/gen-seccomp.py $(wildcard $(DOCKER_SECCOMP_JSON))
	@mkdir -p $(@D)
	$(Q)python3 libcommon/gen-seccomp.py $(DOCKER_SECCOMP_JSON) $(ASM_INCLUDE) \
		/usr/include/linux/capability.h > $@.tmp && mv $@.tmp $@
$(B)/obj/libcommon/seccomp.o $(B)/plain/libcommon/seccomp.o: $(B)/gen/seccomp_tables.h

$(B)/obj/%.o: %.c | $(B)/gen/verbs.h
	@mkdir -p $(@D)
	$(QCC)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(B)/plain/%.o: %.c | $(B)/gen/verbs.h
	@mkdir -p $(@D)
	$(QCC)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libcommon.a: $(LIBCOMMON_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/libcommon-plain.a: $(LIBCOMMON_PLAIN_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# The dispatcher is static: it runs before every verb, and a static program starts in a
# fraction of a dynamic one's time (no loader, no relocations).
$(B)/crowbar: $(B)/plain/tools/crowbar.o $(B)/libcommon-plain.a
	$(QLD)$(CC) $(CFLAGS) -static $(LDFLAGS) -o $@ $^

$(B)/engine.a: $(ENGINE_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/obj/engine/main-%.o: engine/main.c | $(B)/gen/verbs.h
	@mkdir -p $(@D)
	$(QCC)$(CC) $(CPPFLAGS) -DCB_VERB_FN=cmd_$(subst -,_,$*) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

# A program links statically when it can (json-c, libcap and libc only): it starts without
# the dynamic loader's work, a third of a short verb's time. One that needs libarchive or
# libcrypto (import, save, cp...) links dynamically, and so does every program of a
# sanitizer build.
# PROGRAM_LIBS: what one program needs beyond these (set per target, e.g. top's ncurses).
ifeq ($(SANITIZE),)
LINK_PROGRAM = $(CC) $(CFLAGS) -static $(LDFLAGS) -o $@ $^ $(PROGRAM_LIBS) $(STATIC_LIBS) 2>/dev/null || \
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PROGRAM_LIBS) $(LIBS)
else
LINK_PROGRAM = $(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PROGRAM_LIBS) $(LIBS)
endif

$(ENGINE_BINS): $(B)/crowbar-%: $(B)/obj/engine/main-%.o $(B)/engine.a $(B)/libcommon.a
	$(QLD)$(LINK_PROGRAM)

$(B)/crowbar-shim: $(SHIM_OBJ) $(B)/libcommon-plain.a
	$(QLD)$(CC) $(CFLAGS) -static $(LDFLAGS) -o $@ $^ $(STATIC_LIBS)

$(B)/crowbar-init: $(INIT_OBJ)
	$(QLD)$(CC) $(CFLAGS) -static $(LDFLAGS) -o $@ $^


.SECONDEXPANSION:
$(TOOL_BINS): $(B)/crowbar-%: $$(addprefix $(B)/obj/,$$(subst .c,.o,$$(wildcard tools/$$*/*.c))) $(B)/libcommon.a
	$(QLD)$(LINK_PROGRAM)

# top's live view draws with ncurses (static too: the terminfo database is read as files).
$(B)/crowbar-top: PROGRAM_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)

# test_seccomp compares seccomp.c's programs with libseccomp's (runc's generator).
TEST_LIBS_seccomp := -lseccomp
$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(B)/libcommon.a
	@mkdir -p $(@D)
	$(QLD)$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka $(TEST_LIBS_$*)

$(B)/obj/tests/fuzz/replay-%.o: tests/fuzz/replay.c | $(B)/gen/verbs.h
	@mkdir -p $(@D)
	$(QCC)$(CC) $(CPPFLAGS) -DFUZZ_TARGET='"$*"' $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(B)/tests/test_fuzz_%: $(B)/obj/tests/fuzz/replay-%.o $(B)/obj/tests/fuzz/fuzz_%.o $(B)/libcommon.a
	@mkdir -p $(@D)
	$(QLD)$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# ---- fuzzing ----------------------------------------------------------------------
# `make fuzz` builds every harness with clang's libFuzzer, ASan and UBSan (libcommon again,
# instrumented, in build/fuzz/) and runs each for FUZZ_SECONDS (tests/fuzz/run.sh). No
# -Werror here: clang warns where gcc does not (the gcc build holds the line).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_CFLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers
FUZZ_LIBCOMMON_OBJ := $(LIBCOMMON_SRC:%.c=$(B)/fuzz/obj/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

$(B)/fuzz/obj/%.o: %.c | $(B)/gen/verbs.h
	@mkdir -p $(@D)
	$(QCC)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(B)/fuzz/libcommon.a: $(FUZZ_LIBCOMMON_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/fuzz/fuzz_%: $(B)/fuzz/obj/tests/fuzz/fuzz_%.o $(B)/fuzz/libcommon.a
	$(QLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz-deps:
	@tests/deps.sh fuzz

fuzz: fuzz-deps
	$(MAKE) fuzz-build
	B=$(B) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_TARGETS)

# Test helpers run inside containers: static, no sanitizers.
$(B)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(CFLAGS) -static -o $@ $< -lpthread

unit: $(UNIT_BINS)
test check: deps
	$(MAKE) all unit $(HELPER_BINS)
	tests/run

deps:
	@tests/deps.sh

demo: deps
	$(MAKE) all
	tests/demo.sh

bench: all
	tests/bench/run.sh

check-docs: all
	tests/check-docs.sh

# The bash completion script, generated by the programs from their own --help.
$(B)/completion/crowbar: $(PROGRAMS)
	@mkdir -p $(@D)
	$(Q)$(B)/crowbar completion bash > $@.tmp && mv $@.tmp $@

install: all $(B)/completion/crowbar
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(B)/crowbar $(DESTDIR)$(BINDIR)/crowbar
	install -m 755 $(ENGINE_BINS) $(B)/crowbar-shim $(B)/crowbar-init $(TOOL_BINS) $(DESTDIR)$(LIBEXECDIR)/
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(B)/completion/crowbar $(DESTDIR)$(BASHCOMPDIR)/crowbar

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	tests/check-format.sh

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
