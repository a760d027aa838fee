# plcio: thin wrapper around CMake so users type make, make test, make install.
#
#   make demo         set up, build, and run the demo: tank simulator -> sync engine
#                     at 50 Hz -> shared memory, with a live table (DEMO_ARGS=--seconds 10)
#   make              build (build/)
#   make test         install what the tests need, then build and run the whole
#                     suite twice: gcc plain (build/) and clang ASan+UBSan (build-asan/);
#                     scripts/test-run.sh stops any process and removes any segment a
#                     failed or interrupted run left behind
#   make install      install library, headers, pkg-config file, CMake package, CLI, and the
#                     Python package (python/plcio) into PREFIX's Python path (PYTHON_SITE)
#   make bench        build and run the benchmarks
#   make fuzz         run every fuzz harness for FUZZ_SECONDS (clang + libFuzzer)
#   make check        the layer rule (scripts/check-layers.sh), the format (.clang-format;
#                     make format applies it), clang-tidy (.clang-tidy) and cppcheck over
#                     the whole tree (build-check/); fails on any finding
#   make bootstrap    only install the build and test dependencies
#
# CI sets CI=true, which turns warnings into errors.

BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     ?= $(if $(CI),ON,OFF)
CTEST_ARGS ?=
CC_PLAIN   ?= gcc
CC_ASAN    ?= clang

DEMO_ARGS ?=

.PHONY: all demo build test test-plain test-asan install bootstrap bench fuzz check clean format
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60

all: build

bootstrap:
	@scripts/bootstrap.sh

demo:
	@scripts/bootstrap.sh --build
	@$(MAKE) --no-print-directory build > $(BUILD).log 2>&1 || { cat $(BUILD).log; exit 1; }
	@$(BUILD)/plcio demo $(DEMO_ARGS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC_PLAIN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DPLCIO_WERROR=$(WERROR) $(if $(wildcard /usr/include/cmocka.h),,-DPLCIO_BUILD_TESTS=OFF)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: bootstrap
	$(MAKE) test-plain test-asan
	@echo "plcio: all tests passed (plain and ASan+UBSan)"

test-plain:
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC_PLAIN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLCIO_WERROR=$(WERROR) -DPLCIO_BUILD_TESTS=ON
	cmake --build $(BUILD) -j $(JOBS)
	scripts/test-run.sh $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

test-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_C_COMPILER=$(CC_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPLCIO_SANITIZE=ON \
	  -DPLCIO_BUILD_BENCH=OFF -DPLCIO_WERROR=$(WERROR) -DPLCIO_BUILD_TESTS=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  scripts/test-run.sh $(ASAN_BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Where `make install` puts the Python package: the entry of Debian's /usr/bin/python3 path
# under PREFIX (/usr/local/lib/python3.11/dist-packages), else PREFIX's site-packages.
PYTHON     ?= /usr/bin/python3
PYTHON_SITE ?= $(shell $(PYTHON) -c 'import sys, sysconfig; p = "$(PREFIX)"; \
  c = [x for x in sys.path if x.startswith(p + "/lib/python")]; \
  print(c[0] if c else sysconfig.get_path("purelib", "posix_prefix", vars={"base": p, "platbase": p}))' 2>/dev/null)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)
	@if $(PYTHON) -m pip --version >/dev/null 2>&1; then \
	  echo "installing the Python package into $(PYTHON_SITE)"; \
	  PLCIO_BUNDLE=0 $(PYTHON) -m pip install -q --no-index --no-build-isolation --upgrade \
	    --target "$(DESTDIR)$(PYTHON_SITE)" ./python; \
	else echo "python3-pip is not installed: the Python package was not installed (scripts/bootstrap.sh installs it)"; fi

bench: bootstrap build
	cmake --build $(BUILD) --target bench_all -j $(JOBS) 2>/dev/null || true
	@if [ -x bench/run.sh ]; then bench/run.sh $(BUILD); else echo "no benchmarks yet"; fi

fuzz: bootstrap
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DPLCIO_FUZZ=ON \
	  -DPLCIO_BUILD_BENCH=OFF -DPLCIO_BUILD_TOOLS=ON -DPLCIO_WERROR=$(WERROR)
	cmake --build $(FUZZ_BUILD) --target fuzz_all -j $(JOBS)
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

CHECK_BUILD ?= build-check
check: bootstrap
	@CHECK_JOBS=$${CHECK_JOBS:-2} scripts/check.sh $(CHECK_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
