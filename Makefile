# SPDX-License-Identifier: BSD-2-Clause
# esmtp-inspect - GNU make, pkg-config.  See README.md.
#
#   make                 build esmtp-inspect-milter, esmtp-inspect-shim and
#                        esmtp-inspect-asa2conf into $(BUILD) (says which
#                        packages are missing; installs nothing)
#   make check           install missing packages, build, run every test
#                        (unit, integration with Postfix and Sendmail,
#                        miltertest, fuzz smoke, the Debian package,
#                        then all again under ASan+UBSan)
#   make demo            run the shim and the milter with a private Postfix
#                        (MTA=sendmail: the milter with a private Sendmail)
#   make fuzz            run each libFuzzer target for FUZZ_SECONDS
#   make fuzz-sessions   the session-level differential fuzzer of the shim
#                        against a private Postfix, FUZZ_SESSIONS_SECONDS
#   make bench           messages/s and MB/s over the milter protocol,
#                        rules on against rules off, and memory growth;
#                        the milter in a private Postfix against a lean
#                        no-op milter (the floor) and no milter;
#                        the shim against a direct path and haproxy,
#                        and with starttls = terminate; BENCH_BASE=<ref>
#                        adds the shim of that git ref to the same rounds
#   make scale           the shim with 10,000 idle sessions, and out of
#                        file descriptors
#   make install         PREFIX, DESTDIR, SYSCONFDIR, SYSTEMDUNITDIR
#   make deb             the Debian package, in $(BUILD)/deb
#   make SANITIZE=address,undefined   sanitizer build

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=
VERSION    := 0.1.0

BUILD      ?= build
SANITIZE   ?=
FUZZ_SECONDS ?= 30
FUZZ_SESSIONS_SECONDS ?= 300
# The private Sendmail of the integration tests (scripts/sendmail-unpack,
# run by test-deps); the sanitizer pass of make check uses the same one.
SENDMAIL_ROOT ?= $(BUILD)/sendmail-root

PKGS       := libconfuse milter gmime-3.0 libsystemd libpcre2-8
# Expanded when a recipe runs (=, not :=), so after "deps" has installed
# the packages on a fresh machine, not when make reads this file.
# The shim's event loop and its TLS; only esmtp-inspect-shim links them.
EVENT_LIBS  = $(shell pkg-config --libs libevent_openssl libevent openssl 2>/dev/null)
# libevent's evhttp alone: the milter's metrics-listen thread.
HTTP_LIBS   = $(shell pkg-config --libs libevent 2>/dev/null)
# -isystem: warnings in GLib's headers are not ours to fix.
PKG_CFLAGS  = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_LIBS   = $(shell pkg-config --libs criterion 2>/dev/null)

CC         ?= cc
WARN       := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	      -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
	      -Wvla -Werror
CFLAGS     ?= -O2 -g
CPPFLAGS   += -D_GNU_SOURCE -Icommon -DVERSION='"$(VERSION)"' \
	      -DSYSCONFDIR='"$(SYSCONFDIR)"'
ALL_CFLAGS  = -std=c11 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -pthread
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif
LDLIBS     += $(PKG_LIBS) -pthread

COMMON_SRCS := $(wildcard common/*.c)
MILTER_SRCS := $(wildcard milter/*.c)
# shim/ modules other than main.c form libshim.a, unit-tested like common/.
SHIM_SRCS   := $(filter-out shim/main.c,$(wildcard shim/*.c))
SHIM_OBJS   := $(SHIM_SRCS:%.c=$(BUILD)/%.o)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/%.o)
MILTER_OBJS := $(MILTER_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
MILTER_BIN  := $(BUILD)/esmtp-inspect-milter
SHIM_BIN    := $(BUILD)/esmtp-inspect-shim
ASA2CONF_BIN := $(BUILD)/esmtp-inspect-asa2conf
BINS        := $(MILTER_BIN) $(SHIM_BIN) $(ASA2CONF_BIN)
MANS        := man/esmtp-inspect-milter.8 man/esmtp-inspect-shim.8 \
	       man/esmtp-inspect-asa2conf.8 man/esmtp-inspect.conf.5
# The systemd units, with this build's paths (contrib/systemd/*.in).
UNITS       := $(BUILD)/systemd/esmtp-inspect-milter.service \
	       $(BUILD)/systemd/esmtp-inspect-shim.service

.PHONY: all deps test-deps check check-suite unit integration miltertest fuzz-smoke \
	fuzz fuzz-sessions fuzz-sessions-smoke bench scale demo install clean \
	units deb package-check

all: deps $(BINS) units

# make, make install and make deb only say what is missing; make check
# and make demo install it with the project's own script, so that a
# fresh machine (and CI) needs nothing by hand.
deps:
	@scripts/install-deps --check build
test-deps:
	@scripts/install-deps test
	@scripts/sendmail-unpack $(patsubst %/,%,$(dir $(SENDMAIL_ROOT)))

units: $(UNITS)

$(BUILD)/systemd/%.service: contrib/systemd/%.service.in
	@mkdir -p $(dir $@)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

$(BUILD)/%.o: %.c $(wildcard common/*.h) $(wildcard milter/*.h) $(wildcard shim/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libcommon.a: $(COMMON_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libshim.a: $(SHIM_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(MILTER_BIN): $(MILTER_OBJS) $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $(MILTER_OBJS) $(BUILD)/libcommon.a $(HTTP_LIBS) \
		$(LDLIBS)

$(SHIM_BIN): $(BUILD)/shim/main.o $(BUILD)/libshim.a $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/shim/main.o $(BUILD)/libshim.a \
		$(BUILD)/libcommon.a $(EVENT_LIBS) $(LDLIBS)

# The ASA translator (SPEC 10): common/asaconf.c and, to check each
# pattern as the loader will, PCRE2 (pattern.c); only what it uses of
# libcommon.a is linked.
$(ASA2CONF_BIN): $(BUILD)/asa2conf/main.o $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/asa2conf/main.o $(BUILD)/libcommon.a \
		$(shell pkg-config --libs libpcre2-8)

# The milter callbacks, driven through a test double of milter/mfwrap.c.
$(BUILD)/tests/test_milter: tests/unit/test_milter.c tests/unit/mfwrap_stub.c \
		$(BUILD)/milter/milter.o $(BUILD)/libcommon.a \
		$(wildcard common/*.h) $(wildcard milter/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Imilter $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ \
		tests/unit/test_milter.c tests/unit/mfwrap_stub.c \
		$(BUILD)/milter/milter.o $(BUILD)/libcommon.a \
		$(LDFLAGS) $(HTTP_LIBS) $(LDLIBS) $(CRIT_LIBS)

# test_asaconf also compiles every pattern the translator writes with
# PCRE2, when its headers are installed.
$(BUILD)/tests/test_asaconf: private CPPFLAGS += $(shell pkg-config --exists \
	libpcre2-8 2>/dev/null && echo -DASACONF_TEST_PCRE2)
$(BUILD)/tests/test_asaconf: private CRIT_LIBS += $(shell pkg-config --libs \
	libpcre2-8 2>/dev/null)

# Unit tests: one Criterion binary per module of common/ and shim/.
$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libshim.a $(BUILD)/libcommon.a $(wildcard tests/lib/*.h) \
		$(wildcard common/*.h) $(wildcard shim/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ishim $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< \
		$(BUILD)/libshim.a $(BUILD)/libcommon.a $(LDFLAGS) $(EVENT_LIBS) \
		$(LDLIBS) $(CRIT_LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do \
		echo "== $$t"; (cd tests/unit && ../../$$t --jobs 1 --short-filename) ; \
	done

integration: $(BINS)
	tests/integration/run --milter $(MILTER_BIN) --shim $(SHIM_BIN) --build $(BUILD) \
		--sendmail-root $(SENDMAIL_ROOT) --require-sendmail

# The milter driven over the milter protocol alone by miltertest(8)
# (OpenDKIM's), with the Lua scripts of tests/miltertest.
miltertest: $(MILTER_BIN)
	tests/miltertest/run --milter $(MILTER_BIN)

# Fuzz targets, built with clang's libFuzzer (independent of $(CC)).
FUZZ_CC     ?= clang
FUZZ_FLAGS   = -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) $(PKG_CFLAGS)
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRCS) $(SHIM_SRCS) $(wildcard common/*.h) $(wildcard shim/*.h) $(wildcard tests/lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Ishim -o $@ $< $(COMMON_SRCS) $(SHIM_SRCS) $(PKG_LIBS) \
		$(EVENT_LIBS) -pthread

# The differential MIME and header targets (fuzz_*_oracle) also start
# from the message corpus of tests/data, with inputs up to 16 KiB (GMime
# reads in 4 KiB buffers: its seams must be inside the inputs).
# In make check every target runs over its seed corpus plus a short burst;
# a crash (or an oracle's abort) fails the check, with the fuzzer's report.
fuzz-smoke: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
		echo "== $$n"; mkdir -p $(BUILD)/fuzz/corpus/$$n; \
		seeds=""; case $$n in fuzz_mime_oracle|fuzz_hdrcount_oracle) \
		    seeds="tests/data -max_len=16384";; esac; \
		if ! $$f -max_total_time=10 -print_final_stats=0 \
		    -artifact_prefix=$(BUILD)/fuzz/$$n- \
		    $(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n $$seeds \
		    > $(BUILD)/fuzz/$$n.log 2>&1; then \
			tail -n 40 $(BUILD)/fuzz/$$n.log; exit 1; \
		fi; tail -n 2 $(BUILD)/fuzz/$$n.log; \
	done

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
		mkdir -p $(BUILD)/fuzz/corpus/$$n; \
		seeds=""; case $$n in fuzz_mime_oracle|fuzz_hdrcount_oracle) \
		    seeds="tests/data -max_len=16384";; esac; \
		$$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD)/fuzz/$$n- \
		    $(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n $$seeds; \
	done

# Generated SMTP sessions through the shim to a private Postfix whose
# smtpd logs every line it reads (-v): a session fails when Postfix read
# a command the shim did not forward as one, or queued a message whose
# end the shim did not frame (tests/fuzz/fuzz-sessions).  Failing sessions
# are kept in tests/fuzz/corpus/sessions and replayed first.
fuzz-sessions: test-deps
	$(MAKE) $(SHIM_BIN)
	tests/fuzz/fuzz-sessions --shim $(SHIM_BIN) --build $(BUILD) \
		--seconds $(FUZZ_SESSIONS_SECONDS)

fuzz-sessions-smoke: $(SHIM_BIN)
	tests/fuzz/fuzz-sessions --shim $(SHIM_BIN) --build $(BUILD) --seconds 30

check-suite: $(BINS) units unit integration miltertest fuzz-sessions-smoke
	tests/contrib/check-units --units $(BUILD)/systemd --sbin $(SBINDIR) \
		$(MILTER_BIN) $(SHIM_BIN)
	tests/asa2conf/check --asa2conf $(ASA2CONF_BIN) --milter $(MILTER_BIN) \
		--shim $(SHIM_BIN)
	tests/layers
	tests/man-lint
	tests/license-check

check: test-deps
	$(MAKE) all check-suite fuzz-smoke package-check
	$(MAKE) BUILD=$(BUILD)/san SENDMAIL_ROOT=$(SENDMAIL_ROOT) \
		SANITIZE=address,undefined CFLAGS='-O1 -g' all check-suite
	@echo "make check: all suites passed"

# The Debian package, built from a copy of the tree (dpkg-buildpackage
# writes beside the source); dpkg-checkbuilddeps says what is missing.
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/esmtp-inspect-$(VERSION)
	tar --exclude=./.git --exclude='./$(BUILD)' -cf - . | \
		tar -C $(BUILD)/deb/esmtp-inspect-$(VERSION) -xf -
	cd $(BUILD)/deb/esmtp-inspect-$(VERSION) && dpkg-buildpackage -us -uc -b
	@ls $(BUILD)/deb/*.deb

# The package: its files, lintian, and the binaries run from it.
package-check: deb
	tests/package/check-deb $(BUILD)/deb/esmtp-inspect_$(VERSION)_*.deb

# Throughput of the milter over the real milter protocol, every rule on
# against every rule off in the same run, and its memory over a 100 MB
# message; printed, never asserted (tests/bench/run).
$(BUILD)/bench/milterbench: tests/bench/milterbench.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS)

# The floor of any milter in a Postfix (tests/bench/postfixbench).
$(BUILD)/bench/leanmilter: tests/bench/leanmilter.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LDFLAGS) -lmilter -pthread

# The shim's terminate path needs a client that speaks STARTTLS, which
# smtp-source does not (tests/bench/smtptls.c).
$(BUILD)/bench/smtptls: tests/bench/smtptls.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) -lssl -lcrypto

# Packages first, then the build (a sub-make: pkg-config runs once they are
# there), as in check.
# BENCH_BASE=<git ref>: that ref's shim runs as one more path of the shim
# benchmark, in the same rounds (shim / shim at base: median of the rounds).
BENCH_BASE ?=
bench:
	@scripts/install-deps bench
	$(MAKE) all $(BUILD)/bench/milterbench $(BUILD)/bench/smtptls \
		$(BUILD)/bench/leanmilter
	$(if $(BENCH_BASE),scripts/build-ref $(BENCH_BASE) $(BUILD)/bench-base)
	tests/bench/run --milter $(MILTER_BIN) --driver $(BUILD)/bench/milterbench \
		--build $(BUILD)
	tests/bench/postfixbench --milter $(MILTER_BIN) \
		--lean $(BUILD)/bench/leanmilter --build $(BUILD) \
		$(if $(BENCH_BASE),--base-milter $(BUILD)/bench-base/build/esmtp-inspect-milter \
		    --base-conf $(BUILD)/bench-base/conf/esmtp-inspect.conf \
		    --base-label $(BENCH_BASE))
	tests/bench/shimbench --shim $(SHIM_BIN) --build $(BUILD) \
		--tls-driver $(BUILD)/bench/smtptls \
		$(if $(BENCH_BASE),--base-shim $(BUILD)/bench-base/build/esmtp-inspect-shim \
		    --base-conf $(BUILD)/bench-base/conf/esmtp-inspect.conf \
		    --base-label $(BENCH_BASE))

# 10,000 idle sessions (memory per session) and running out of file
# descriptors; reported, exits non-zero if a check fails.
scale: deps
	$(MAKE) $(SHIM_BIN)
	tests/bench/shimscale --shim $(SHIM_BIN)

# MTA=sendmail: the milter behind a private Sendmail, without the shim
MTA ?= postfix
demo: deps test-deps $(BINS)
	scripts/demo --milter $(MILTER_BIN) --shim $(SHIM_BIN) --build $(BUILD) \
		--mta $(MTA) --sendmail-root $(SENDMAIL_ROOT)

install: $(BINS) units
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/esmtp-inspect $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(MILTER_BIN) $(SHIM_BIN) $(ASA2CONF_BIN) \
		$(DESTDIR)$(SBINDIR)/
	install -m 644 $(UNITS) $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 644 man/esmtp-inspect-milter.8 man/esmtp-inspect-shim.8 \
		man/esmtp-inspect-asa2conf.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 man/esmtp-inspect.conf.5 $(DESTDIR)$(MANDIR)/man5/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/esmtp-inspect/esmtp-inspect.conf ]; then \
		echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/esmtp-inspect/esmtp-inspect.conf"; \
	else \
		install -m 644 conf/esmtp-inspect.conf $(DESTDIR)$(SYSCONFDIR)/esmtp-inspect/; \
	fi

clean:
	rm -rf $(BUILD)
