# jobcell: `make` builds build/jobcell and build/libjobcell.a; `make check`
# runs every test (unit, fake engine, real engine); see README.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
PKG_CONFIG ?= pkg-config
CC ?= cc
CFLAGS ?= -O2 -g

PKGS := libcurl libcjson inih libarchive
TEST_PKGS := cmocka libmicrohttpd

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wswitch-enum
override CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -iquote launcher -Iinclude \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null) -Itests
TEST_LIBS = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null) -lpthread

B := build
# launcher/docker/: the Docker Engine API backend, objects in $(B)/obj/docker/
LIB_SRC := $(filter-out launcher/cli.c,$(wildcard launcher/*.c launcher/docker/*.c))
LIB_OBJ := $(LIB_SRC:launcher/%.c=$(B)/obj/%.o)
HDRS := $(wildcard include/*.h launcher/*.h launcher/docker/*.h launcher/probe/*.h)
UNIT_SRC := $(wildcard tests/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(B)/tests/%)
MAN := docs/man/jobcell.1 docs/man/jobcell.ini.5

.PHONY: all check unit integration bootstrap demo bench stress install clean format
all: $(B)/jobcell $(B)/jobcell-probe

$(B)/obj/%.o: launcher/%.c $(HDRS) | $(B)/obj
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# check.c looks for the probe here when it is not next to jobcell
$(B)/obj/check.o: override CFLAGS += -DJC_LIBEXECDIR='"$(LIBEXECDIR)"'

# The isolation probe of `jobcell check`: static, so that it runs in any
# image.  In launcher/probe/, out of LIB_SRC's wildcard.
$(B)/jobcell-probe: launcher/probe/probe.c launcher/probe/promises.h | $(B)/obj
	$(CC) $(CFLAGS) -static -o $@ launcher/probe/probe.c

$(B)/libjobcell.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/jobcell: $(B)/obj/cli.o $(B)/libjobcell.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/fake_engine.o: tests/fake_engine.c tests/fake_engine.h | $(B)/tests
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(B)/tests/test_%: tests/test_%.c $(B)/tests/fake_engine.o $(B)/libjobcell.a $(HDRS) | $(B)/tests
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -o $@ $< $(B)/tests/fake_engine.o $(B)/libjobcell.a \
		$(LIBS) $(TEST_LIBS)

$(B)/obj $(B)/tests:
	mkdir -p $@

bootstrap:
	contrib/bootstrap.sh

# Unit and fake-engine tests, then the built binary against a real engine
# (re-entered after bootstrap, as for demo).
check: bootstrap
	$(MAKE) unit integration

unit: $(B)/jobcell $(UNIT_BIN)
	tests/run-unit.sh $(UNIT_BIN)

# The same suite against Docker and against Podman's compatible API.
integration: $(B)/jobcell $(B)/jobcell-probe
	tests/integration/run.sh
	tests/integration/volume.sh
	tests/integration/check.sh
	tests/integration/sibling.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/run.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/volume.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/sibling.sh
	JOBCELL_TEST_SOCKET=/run/jobcell-podman.sock JOBCELL_TEST_ENGINE=podman \
		tests/integration/check.sh

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
# One table: launch, volume round trip, large put, instructions per launch.
# BENCH_RUNS (default 15) runs each; BENCH_MIB the large file (default 1024).
bench: bootstrap
	$(MAKE) $(B)/jobcell $(B)/bench/fake-serve $(B)/bench/measure
	bench/run.sh

# The benchmarks' helpers: the fake engine as a server, and a runner that
# reports wall time, CPU time and peak RSS (docs/performance.md).
$(B)/bench/fake-serve: bench/fake_serve.c $(B)/tests/fake_engine.o tests/fake_engine.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -o $@ $< $(B)/tests/fake_engine.o $(LIBS) $(TEST_LIBS)

$(B)/bench/measure: bench/measure.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

install: $(B)/jobcell $(B)/jobcell-probe
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(LIBEXECDIR)/jobcell
	install -m 0755 $(B)/jobcell $(DESTDIR)$(BINDIR)/jobcell
	install -m 0755 $(B)/jobcell-probe $(DESTDIR)$(LIBEXECDIR)/jobcell/jobcell-probe
	install -m 0644 docs/man/jobcell.1 $(DESTDIR)$(MANDIR)/man1/jobcell.1
	install -m 0644 docs/man/jobcell.ini.5 $(DESTDIR)$(MANDIR)/man5/jobcell.ini.5

format:
	clang-format -i launcher/*.c launcher/*.h launcher/docker/*.c launcher/docker/*.h \
		launcher/probe/*.c launcher/probe/*.h \
		tests/*.c tests/*.h

clean:
	rm -rf $(B)
