# Two commands take a fresh Debian bookworm clone to working: `make run` and `make test`.
# Each installs what is missing first (scripts/setup is quick and quiet when nothing is).

SWIFT ?= $(shell command -v swift || echo /opt/swift/usr/bin/swift)
PYTHON := .venv/bin/python
RELEASE_BINARY := .build/release/mcp-v8
DEBUG_BINARY := .build/debug/mcp-v8

.PHONY: setup build release run test unit-test e2e-test fuzz-check fuzz sanitize bench reference dist dist-check clean

setup:
	@scripts/setup

build: setup
	$(SWIFT) build --build-tests

# scripts/stamp-commit: the git commit `mcp-v8 --version` prints, in a git-ignored file that changes only with it.
release: setup
	@scripts/stamp-commit
	$(SWIFT) build -c release

# Serves MCP on stdio in stateful mode, heaps in /tmp/mcp-v8-heaps (ARGS="--stateless" for fresh isolates).
run: release
	@exec $(RELEASE_BINARY) $(ARGS)

test: unit-test e2e-test fuzz-check

unit-test: build
	$(SWIFT) test --skip-build

# docs/reference/ from the code (flags, tools); ReferencePagesTests fails in `make test` until they are current.
reference: build
	MCPV8_WRITE_REFERENCE=1 $(SWIFT) test --skip-build --filter ReferencePagesTests

# pytest exits 5 when it collects no tests: scripts/pytest-strict turns that into a failure.
e2e-test: build
	MCP_V8_BINARY=$(abspath $(DEBUG_BINARY)) scripts/pytest-strict Tests/EndToEnd

# Each libFuzzer target (Tests/Fuzz) for a few seconds on its seed corpus, so a crash on a known input fails.
fuzz-check: setup
	scripts/fuzz 5

# The parsers that stand between a stranger's bytes and a decision, fuzzed for FUZZ_SECONDS each.
FUZZ_SECONDS ?= 180
fuzz: setup
	scripts/fuzz $(FUZZ_SECONDS)

# CV8, the plugins and all the rest built with AddressSanitizer and UndefinedBehaviorSanitizer (the
# Swift toolchain's runtimes; libnode is not instrumented) into .build-sanitize; then the unit tests
# of CV8 and of the plugins' C code, and the end-to-end tests of the plugins and WebAssembly, against
# that build. scripts/sanitize sets the sanitizers' options and fails on any report;
# Tests/Sanitize/lsan.supp says why each suppression is there. The end-to-end tests whose run limits
# or memory bounds assume an uninstrumented server read MCP_V8_SANITIZED (Tests/EndToEnd/conftest.py)
# instead of being left out. Not part of `make test`: the build of its own takes ~17 minutes on
# 2 cores, the tests 7 to 10 minutes.
SANITIZE_FLAGS := --build-path .build-sanitize --sanitize=address -Xcc -fsanitize=undefined -Xcxx -fsanitize=undefined \
	-Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined
PLUGIN_E2E_TESTS := $(addprefix Tests/EndToEnd/,test_fetch.py test_fs.py test_subprocess.py test_modules.py test_plugins.py \
	test_wasm.py)
sanitize: setup
	$(SWIFT) build --build-tests $(SANITIZE_FLAGS)
	scripts/sanitize $(SWIFT) test --skip-build $(SANITIZE_FLAGS) --filter 'CV8Tests|FSPluginTests|PluginSupportTests'
	MCP_V8_BINARY=$(abspath .build-sanitize/debug/mcp-v8) scripts/sanitize scripts/pytest-strict $(PLUGIN_E2E_TESTS)

# bench/run.py: engine and stdio numbers; bench/load.py: constant request rates over HTTP against
# Node's vm as a baseline, one node with the shared stores (S3 + PostgreSQL) and three behind nginx
# against one with the local ones, table and plot in bench/results/, then the stateful ones again
# with a heap of its own for every run (bench/results/unique-heaps/); bench/resume.py: resuming a
# 1 MB heap from the directory, S3 through a warm cache and S3 without one; bench/capabilities.py:
# policy decisions and fetch against curl; bench/typescript.py: TypeScript against the same JavaScript;
# bench/modules.py: module imports, cold and warm, against the same program as plain JavaScript;
# bench/kept_executions.py: stateful host CPU with 10,000 finished executions kept against none;
# bench/tenancy.py: REST throughput and CPU per request with --tenants (three) against without.
# `setup bench` adds what only they need.
bench: release
	@scripts/setup bench
	$(PYTHON) bench/run.py --binary $(abspath $(RELEASE_BINARY))
	$(PYTHON) bench/load.py --binary $(abspath $(RELEASE_BINARY))
	$(PYTHON) bench/load.py --binary $(abspath $(RELEASE_BINARY)) --unique-heaps --out-dir bench/results/unique-heaps \
		--topologies mcp-v8-stateful,mcp-v8-s3-postgres-stateful,3-nodes-nginx-s3-postgres-stateful
	$(PYTHON) bench/resume.py --binary $(abspath $(RELEASE_BINARY))
	$(PYTHON) bench/kept_executions.py --binary $(abspath $(RELEASE_BINARY))
	$(PYTHON) bench/capabilities.py --binary $(abspath $(RELEASE_BINARY))
	$(PYTHON) bench/typescript.py --binary $(abspath $(RELEASE_BINARY))
	$(PYTHON) bench/modules.py --binary $(abspath $(RELEASE_BINARY))
	$(PYTHON) bench/tenancy.py --binary $(abspath $(RELEASE_BINARY))

# The release bundle: dist/mcp-v8-<version>-linux-<arch>.tar.gz (bin/, lib/, install.sh) and
# dist/mcp-v8_<version>_<arch>.deb, with libnode and the other private libraries in the bundle's lib/.
# `setup dist` adds patchelf (the relative rpaths) and debootstrap (make dist-check).
dist: release
	@scripts/setup dist
	scripts/dist

# Installs both into fresh Debian bookworm roots (debootstrap, cached in .build/dist-check) and runs
# Tests/Dist there with the official MCP client. Needs root and Debian's mirror, so it is not part of
# `make test`: the first run makes the root (about 100 s), then each route takes under a minute.
dist-check: dist
	scripts/dist-check

clean:
	rm -rf .build .build-fuzz .build-sanitize
