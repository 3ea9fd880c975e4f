# jobcell: `make` builds build/jobcell, build/libjobcell.a and the shared
# library build/libjobcell.so.$(VERSION); `make check` runs every test (unit,
# fake engine, real engine), `make unit` those that need no engine, `make asan`
# those again under AddressSanitizer and UBSan; see README.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
PKG_CONFIG ?= pkg-config
CC ?= cc
CFLAGS ?= -O2 -g
# Warnings are errors; `make WERROR=` for a compiler newer than the code.
WERROR ?= -Werror
# Compile and link flags of every object and binary but the static probe
# (`make asan` sets them).
SANITIZE ?=

# One version, the header's; the soname changes with the major only.
VERSION := $(shell sed -n 's/^.define JC_VERSION  *"\(.*\)"$$/\1/p' include/jobcell.h)
ifeq ($(VERSION),)
$(error include/jobcell.h has no JC_VERSION)
endif
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME := libjobcell.so.$(SOMAJOR)

PKGS := libcurl libcjson inih libarchive openssl
# What jobcell links: libarchive is not among them, archive_lib.c loads it
# when files first move (docs/performance.md).  libcrypto first: the loader
# looks a symbol up in the objects in this order, and libcrypto's own
# symbols are most of the lookups of a start (-1.4 M instructions).
LINK_PKGS := libcrypto libssl libcurl libcjson inih
# gnutls: the fake engine's verdict on a client certificate (libmicrohttpd
# speaks TLS through it, and its -dev package brings it); libarchive: the
# tests write and read tar streams with it directly
TEST_PKGS := cmocka libmicrohttpd gnutls libarchive

# $(call pkg,--cflags,PKGS): pkg-config's answer, or stop with the names of
# the packages it cannot find (`2>/dev/null` alone would build without them).
pkg_missing = $(strip $(foreach p,$(1),$(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,$(p))))
pkg = $(if $(call pkg_missing,$(2)),$(error pkg-config cannot find \
	$(call pkg_missing,$(2)): install the -dev packages contrib/bootstrap.sh lists, or set \
	PKG_CONFIG_PATH),$(shell $(PKG_CONFIG) $(1) $(2)))

# bootstrap installs the packages; the goals that run it re-enter make after
# it, so on a fresh machine pkg-config is asked only then.
NOPKG_GOALS := bootstrap check demo bench stress clean format
ifneq ($(filter-out $(NOPKG_GOALS),$(or $(MAKECMDGOALS),all)),)
PKG_CFLAGS := $(call pkg,--cflags,$(PKGS))
LIBS := $(call pkg,--libs,$(LINK_PKGS)) -lpthread
endif
# Deferred: asked only when a test or bench helper is built.
TEST_CFLAGS = $(call pkg,--cflags,$(TEST_PKGS)) -Itests
TEST_LIBS = $(call pkg,--libs,$(TEST_PKGS)) -lpthread

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wswitch-enum
override CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) $(WERROR) -MMD -MP $(SANITIZE) \
	-iquote launcher -Iinclude $(PKG_CFLAGS)
override LDFLAGS += $(SANITIZE)

B := build
# launcher/ and its subdirectories but the probe's and the gate's, which
# are built apart
LIB_SRC := $(filter-out launcher/cli.c launcher/probe/% launcher/gate/%,\
	$(wildcard launcher/*.c launcher/*/*.c))
LIB_OBJ := $(LIB_SRC:launcher/%.c=$(B)/obj/%.o)
SO := $(B)/libjobcell.so.$(VERSION)
UNIT_SRC := $(wildcard tests/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(B)/tests/%)
MAN := docs/man/jobcell.1 docs/man/jobcell.ini.5

# The tests run the binary and read the library of this build directory.
export JOBCELL_BIN := $(CURDIR)/$(B)/jobcell
export JOBCELL_LIB := $(CURDIR)/$(SO)

.PHONY: FORCE all check unit asan integration python nvflare node volcap bootstrap demo bench stress install clean format
all: $(B)/jobcell $(B)/jobcell-probe $(B)/jobcell-gate $(SO) $(B)/$(SONAME) $(B)/libjobcell.so

# -fPIC: the shared library is made of these; the static archive of the CLI
# and the tests uses the same ones.
$(B)/obj/%.o: launcher/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

# check.c looks for the probe here when it is not next to jobcell
$(B)/obj/check.o: override CFLAGS += -DJC_LIBEXECDIR='"$(LIBEXECDIR)"'

# The isolation probe of `jobcell check`: static, so that it runs in any
# image (and without the sanitizers, which cannot link statically).  In
# launcher/probe/, out of LIB_SRC's wildcard.
$(B)/jobcell-probe: launcher/probe/probe.c
	@mkdir -p $(@D)
	$(CC) $(filter-out $(SANITIZE),$(CFLAGS) $(LDFLAGS)) -static -o $@ $<

# The mount gate, every bind-mode job's entrypoint (launcher/gate/): static
# like the probe, for the same reasons.
GATE_SRC := launcher/gate/gate.c launcher/gate/match.c
$(B)/jobcell-gate: $(GATE_SRC) launcher/gate/match.h
	@mkdir -p $(@D)
	$(CC) $(filter-out $(SANITIZE),$(CFLAGS) $(LDFLAGS)) -static -o $@ $(GATE_SRC)

# The library's tests run jobs from $(B)/tests/, where check.c looks for
# the gate first.
$(B)/tests/jobcell-gate: $(B)/jobcell-gate | $(B)/tests
	cp $< $@

# The objects' names, rewritten when they change: a source removed or moved
# relinks the libraries, and leaves no stale member in the archive.
$(B)/obj/list: FORCE
	@mkdir -p $(@D)
	@echo '$(LIB_OBJ)' | cmp -s - $@ || echo '$(LIB_OBJ)' >$@

$(B)/libjobcell.a: $(LIB_OBJ) $(B)/obj/list
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

# The shared library exports the functions of include/jobcell.h and nothing
# else (launcher/libjobcell.map; tests/abi.sh checks it).
$(SO): $(LIB_OBJ) $(B)/obj/list launcher/libjobcell.map
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=launcher/libjobcell.map -Wl,--no-undefined \
		-o $@ $(LIB_OBJ) $(LIBS)

$(B)/$(SONAME): $(SO)
	ln -sf $(<F) $@

$(B)/libjobcell.so: $(B)/$(SONAME)
	ln -sf $(<F) $@

# The CLI names its libraries in the order of the loader's work at start,
# measured and checked by contrib/link-order.sh (docs/performance.md); made
# again when the libraries change.
$(B)/link-order: contrib/link-order.sh $(B)/obj/cli.o $(B)/libjobcell.a
	contrib/link-order.sh $(CC) $(CFLAGS) $(LDFLAGS) $(B)/obj/cli.o $(B)/libjobcell.a \
		$(LIBS) >$@

$(B)/jobcell: $(B)/obj/cli.o $(B)/libjobcell.a $(B)/link-order
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $$(cat $(B)/link-order) $(B)/obj/cli.o \
		$(B)/libjobcell.a $(LIBS)

$(B)/tests/fake_engine.o: tests/fake_engine.c | $(B)/tests
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(B)/tests/test_%: tests/test_%.c $(B)/tests/fake_engine.o $(B)/libjobcell.a | $(B)/tests
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/tests/fake_engine.o \
		$(B)/libjobcell.a $(LIBS) $(TEST_LIBS)

$(B)/tests:
	mkdir -p $@

# The headers each object and binary was built from (-MMD -MP).
-include $(shell find $(B) -name '*.d' 2>/dev/null)

bootstrap:
	contrib/bootstrap.sh

# Unit and fake-engine tests, then the built binary against a real engine
# (re-entered after bootstrap, as for demo).
check: bootstrap
	$(MAKE) unit integration

# No engine: the cmocka suites (the fault matrix runs $(B)/jobcell against
# the fake engine) and the shared library's exports, twice: as the kernel
# is, then with openat2 hidden by a seccomp filter (tests/no_openat2.c), so
# that fsutil.c's fallback walk is tested.
unit: $(B)/jobcell $(B)/jobcell-probe $(B)/jobcell-gate $(B)/tests/jobcell-gate $(SO) $(UNIT_BIN) \
	$(B)/tests/no-openat2
	tests/run-unit.sh --wrap $(B)/tests/no-openat2 $(UNIT_BIN) tests/abi.sh

$(B)/tests/no-openat2: tests/no_openat2.c | $(B)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# Everything again in build-asan/ with AddressSanitizer and UBSan, and the
# unit suite against it: any report fails the run.
ASAN_B := build-asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan:
	UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) B=$(ASAN_B) SANITIZE='$(ASAN_FLAGS)' all unit

# The Python client (contrib/python) against the engine of
# $JOBCELL_TEST_SOCKET, through this build's binary: the standard library's
# unittest, which every python3 has.
python: $(B)/jobcell
	JOBCELL_BIN=$(CURDIR)/$(B)/jobcell python3 -m unittest discover -s contrib/python/tests \
		-p 'test_client.py' -v

# The NVFlare launchers (contrib/python/jobcell/nvflare.py) driven by the
# real nvflare package that contrib/bootstrap.sh pins in NVFLARE_VENV, on
# Docker, then Podman's compatible API.  Without the venv, python3 runs the
# tests and they say SKIP (or fail under JOBCELL_REQUIRE_ENGINE=1).
NVFLARE_VENV ?= $(or $(JOBCELL_NVFLARE_VENV),/opt/jobcell-nvflare-venv)
NVFLARE_PY = $(if $(wildcard $(NVFLARE_VENV)/bin/python),$(NVFLARE_VENV)/bin/python,python3)
NVFLARE_TESTS = -m unittest discover -s contrib/python/tests -p 'test_nvflare.py' -v
nvflare: $(B)/jobcell
	$(NVFLARE_PY) $(NVFLARE_TESTS)
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		$(NVFLARE_PY) $(NVFLARE_TESTS)

# The same suite against Docker and against Podman's compatible API; the
# library's example program, installed, against Docker; TLS against a
# private dockerd that tls.sh starts and stops.  race.sh launches
# JOBCELL_RACE_LAUNCHES jobs (default 100) per engine against a swapping
# loop.  ssh.sh reaches each engine through an sshd of its own.  cgroup.sh
# runs jobs under a Slurm-shaped cgroup of its own ([job] cgroup_parent).
# slurm.sh starts a two-node Slurm cluster of its own (docs/slurm.md) on
# Docker.  The Python client's tests (make python) run against Docker; the
# NVFlare launchers' (make nvflare) against both.
integration: all
	tests/integration/run.sh
	tests/integration/volume.sh
	tests/integration/gc.sh
	tests/integration/transfer.sh
	tests/integration/check.sh
	tests/integration/sibling.sh
	tests/integration/example.sh
	tests/integration/race.sh
	tests/integration/ssh.sh
	tests/integration/tls.sh
	tests/integration/cgroup.sh
	tests/integration/slurm.sh
	$(MAKE) python
	$(MAKE) nvflare
	$(MAKE) node
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/run.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/volume.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/gc.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/transfer.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/sibling.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/check.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/race.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/ssh.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/cgroup.sh

# The Node client and its workflow-worker adapters (contrib/node) against
# Docker, then Podman's compatible API: node --test, Node 20, no packages.
# Without an engine its tests say SKIP; JOBCELL_REQUIRE_ENGINE=1 fails them.
node: all
	node --test contrib/node/test/
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		node --test contrib/node/test/

# [volume] size held, on a Podman of its own whose volumes lie on a
# loop-backed XFS mounted with prjquota.  Not part of check: it needs a
# kernel with XFS quota (CONFIG_XFS_QUOTA), which this project's CI machines
# lack, and there it can only skip (docs/volumes.md).
volcap: all
	tests/integration/volcap.sh

# Stress (issue 5): sequential and concurrent jobs on both engines, signals,
# gc, an engine stopped mid-job; prints counts (docs/stress.md).  ENGINE=docker
# or podman, STRESS_SEQ, STRESS_CONC, STRESS_SEED; re-entered as for demo.
stress: bootstrap
	$(MAKE) $(B)/jobcell
	tests/stress/stress.sh

# Re-enter make after bootstrap: on a fresh machine the pkg-config flags
# above were read before the -dev packages were installed.
demo: bootstrap
	$(MAKE) $(B)/jobcell $(B)/jobcell-probe
	contrib/demo.sh

# Benchmarks measure; tests do not (these machines are shared and noisy).
# One table: launch, volume round trip, large put, instructions per launch,
# many jobs at once, an idle supervisor; then every target of issue 16
# beside its figure.  BENCH_RUNS (default 15) runs each; BENCH_MIB the large
# file (default 1024); the others in bench/lib.sh.
bench: bootstrap
	$(MAKE) $(B)/jobcell $(B)/bench/fake-serve $(B)/bench/measure
	bench/run.sh

# The benchmarks' helpers: the fake engine as a server, and a runner that
# reports wall time, CPU time and peak RSS (docs/performance.md).
$(B)/bench/fake-serve: bench/fake_serve.c $(B)/tests/fake_engine.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/tests/fake_engine.o $(LIBS) \
		$(TEST_LIBS)

$(B)/bench/measure: bench/measure.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# pkg-config's file, written at install time: PREFIX and LIBDIR are the
# install's.  libdir and includedir follow ${prefix} when beneath it.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(LIBEXECDIR)/jobcell $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(B)/jobcell $(DESTDIR)$(BINDIR)/jobcell
	install -m 0755 $(B)/jobcell-probe $(DESTDIR)$(LIBEXECDIR)/jobcell/jobcell-probe
	install -m 0755 $(B)/jobcell-gate $(DESTDIR)$(LIBEXECDIR)/jobcell/jobcell-gate
	install -m 0644 docs/man/jobcell.1 $(DESTDIR)$(MANDIR)/man1/jobcell.1
	install -m 0644 docs/man/jobcell.ini.5 $(DESTDIR)$(MANDIR)/man5/jobcell.ini.5
	install -m 0755 $(SO) $(DESTDIR)$(LIBDIR)/$(notdir $(SO))
	ln -sf $(notdir $(SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libjobcell.so
	install -m 0644 include/jobcell.h $(DESTDIR)$(INCLUDEDIR)/jobcell.h
	sed -e 's|@prefix@|$(PREFIX)|' -e 's|@libdir@|$(call pc_dir,$(LIBDIR))|' \
		-e 's|@includedir@|$(call pc_dir,$(INCLUDEDIR))|' -e 's|@version@|$(VERSION)|' \
		-e 's|@requires@|$(PKGS)|' contrib/jobcell.pc.in >$(B)/jobcell.pc
	install -m 0644 $(B)/jobcell.pc $(DESTDIR)$(LIBDIR)/pkgconfig/jobcell.pc

format:
	clang-format -i launcher/*.c launcher/*.h launcher/docker/*.c launcher/docker/*.h \
		launcher/probe/*.c launcher/probe/*.h launcher/gate/*.c launcher/gate/*.h \
		tests/*.c tests/*.h

clean:
	rm -rf $(B) $(ASAN_B)
