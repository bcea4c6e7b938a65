# flowkit: the commands users and CI type.  The build itself is CMake/CTest.
#
#   make run      install deps, build, run flowprobe on a generated capture
#   make test     install deps, build, run every test, then again under ASan+UBSan
#                 with the libFuzzer targets
#   make bench    throughput vs softflowd and nfpcapd (bench/run.sh)
#   make install  binaries, man pages, systemd unit and example config under PREFIX
#                 (default /usr/local)

BUILD   ?= build
ASAN    ?= build-asan
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
SHARED  ?= $(abspath ../shared)
FUZZ_SECONDS ?= 20

.PHONY: all deps build run test test-fast test-asan fuzz bench install clean format format-check

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFK_SHARED=$(SHARED) \
	      -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS)

$(BUILD)/sample.pcap: build
	@$(BUILD)/genpcap -n 3000 -f 60 -s 1 $@

RUN_PORT ?= 47390

# flowprobe reads the generated capture and exports IPFIX over UDP to a
# flowcollector on 127.0.0.1, which prints GoFlow2-style JSON flows.
run: deps build $(BUILD)/sample.pcap
	@$(BUILD)/flowcollector -listen 'netflow://127.0.0.1:$(RUN_PORT)' & pid=$$!; sleep 0.5; \
	  $(BUILD)/flowprobe -i 'pcap;file=$(BUILD)/sample.pcap' -o 'ipfix;u;h=127.0.0.1;p=$(RUN_PORT)'; \
	  sleep 1; kill -TERM $$pid; wait $$pid

# Everything: release build tests, then the same tests and the fuzzers under
# AddressSanitizer + UndefinedBehaviorSanitizer (clang, for libFuzzer).
test: deps test-fast test-asan

test-fast: build format-check
	@FLOWPROBE=$(BUILD)/flowprobe FLOWKIT_SHARED=$(SHARED) bash tests/conformance/ipfixprobe.sh \
	    | grep '^ipfixprobe conformance:' || true
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan:
	CC=clang cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DFK_SANITIZE=ON -DFK_FUZZ=ON \
	      -DFK_SHARED=$(SHARED) -DFK_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

fuzz: test-asan

bench: deps build
	bash bench/run.sh

install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Every C file as `make format` leaves it (STYLE.md).  Other clang-format
# majors than Debian 12's (14) break lines differently: those only warn.
format-check:
	@v=$$(clang-format --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p'); \
	if [ -z "$$v" ] || ! git rev-parse --git-dir >/dev/null 2>&1; then \
	    echo "format-check: skipped (needs clang-format and a git checkout)"; \
	elif [ "$$v" != 14 ]; then \
	    echo "format-check: skipped (clang-format $$v; the project formats with 14)"; \
	else \
	    clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') && \
	    echo "format-check: every .c/.h file is clang-formatted"; \
	fi

clean:
	rm -rf $(BUILD) $(ASAN)
