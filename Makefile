# nfbpf: build, run and test. Every install step lives here (CI starts on a
# fresh Debian machine with only the Rust toolchain).
#
#   make run    install what is missing, build, run the main job
#   make test   install what is missing, run every check
#   make deps   install system packages (idempotent; needs root)
#   make build  release build of the CLI
#   make lint   cargo fmt --check, clippy -D warnings, verilator --lint-only -Wall

SHELL := /bin/bash
CARGO ?= cargo
NFBPF := $(or $(CARGO_TARGET_DIR),target)/release/nfbpf
# System packages: HDL tools, the clang that compiles eBPF C, libbpf headers,
# 32-bit glibc headers (gnu/stubs-32.h for -target bpf); tcpdump, the
# independent reader of the pcapng files the tests check.
APT_PACKAGES := verilator yosys bubblewrap clang-19 llvm-19 libbpf-dev libc6-dev-i386 make pkg-config tcpdump
# Python packages the tests use as independent readers and validators:
# the OpenAPI validator (docs/openapi.yaml), scapy (pcapng interfaces and
# checksums), pyvcd (VCD headers).
PY_PACKAGES := openapi-spec-validator scapy pyvcd
PYTHON ?= python3
RTL_SOURCES := $(wildcard rtl/*.v)

.PHONY: all deps pydeps build programs run test lint fmt-check clippy rtl-lint synth test-cargo clean

all: build

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "make deps: system packages present"; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "make deps: cargo not found: install the Rust toolchain (rustup)"; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	@$(CARGO) nextest --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-nextest
	@$(MAKE) --no-print-directory pydeps

# The Python packages (idempotent: pip is asked only for what is missing;
# Debian's own python needs --break-system-packages, a pyenv or venv python
# does not).
pydeps:
	@command -v $(PYTHON) >/dev/null || { echo "make pydeps: $(PYTHON) not found"; exit 1; }
	@missing=""; \
	for p in $(PY_PACKAGES); do \
	  $(PYTHON) -m pip show -q $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make pydeps: installing$$missing"; \
	  $(PYTHON) -m pip install -q $$missing 2>/dev/null || \
	  $(PYTHON) -m pip install -q --break-system-packages $$missing; \
	else \
	  echo "make pydeps: python packages present"; \
	fi

# The first cargo step of a clone also Verilates rtl/ and compiles the C++
# models (sim/build.rs); every profile then shares that one build, kept in
# target/verilated/ until rtl/ changes.
VERILATED_NOTE := @echo "cargo: the first build also Verilates rtl/ and compiles the C++ models (about 2 min on 2 cores; kept in target/verilated/ until rtl/ changes)"

build: deps programs
	$(VERILATED_NOTE)
	$(CARGO) build --release --bin nfbpf

# The network functions of programs/ as clang objects (what `nfbpf run`,
# `nfbpf disasm` and the device load; they also accept the .c files).
PROGRAM_OBJS := $(patsubst programs/%.c,target/programs/%.o,$(wildcard programs/*.c))
programs: $(PROGRAM_OBJS)
target/programs/%.o: programs/%.c $(wildcard programs/include/*.h) | deps
	@mkdir -p target/programs
	clang-19 -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -Iprograms/include -c $< -o $@

# The main job: the evaluation of the data plane model under line-rate load
# (`nfbpf report`): prints the summary table, writes the plots (SVG, PNG),
# summary.md and summary.json to target/report.
run: build
	$(NFBPF) report --out target/report

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(VERILATED_NOTE)
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Every module is linted as its own top (so each file stands alone), with
# the whole rtl/ directory as its library.
rtl-lint:
	@if [ -z "$(RTL_SOURCES)" ]; then echo "rtl-lint: no RTL sources"; exit 1; fi
	@for f in $(RTL_SOURCES); do \
	  top=$$(basename $$f .v); \
	  verilator --lint-only -Wall -y rtl $$f --top-module $$top || exit 1; \
	done; \
	echo "rtl-lint: $(words $(RTL_SOURCES)) modules, verilator --lint-only -Wall clean"

# Synthesis for the Virtex-7 (yosys synth_xilinx, xc7), by default of the
# whole device: ebpf_dataplane with 4 engines, its map coprocessor and
# helper units (ebpf_units) and its egress; `make synth SYNTH_TOP=ebpf_engine`
# for one engine core. The design is synthesized module by module (yosys
# 0.23 flattening the whole device was killed at 23 GB of memory on a 24 GB
# machine); `stat -top` adds the modules up. Cell counts (LUTs, flip-flops,
# LUTRAM, block RAM, DSP48E1) in $(SYNTH_DIR)/stat.txt, per module and for
# the whole design at its end; the longest register-to-register path of
# each module in cells (yosys ltp without flip-flops, LUTRAMs and DSPs:
# LUTs, MUXF7/8 and CARRY4 count one each) in $(SYNTH_DIR)/ltp.txt, all
# printed: a module's instances of other modules count as one cell from
# every input to every output, so only leaf modules' figures are paths.
# SYNTH_FLATTEN=1 flattens first (cross-module paths, for one engine core).
# docs/resources.md records a run. The data plane's debug-record ports are
# tied off (DEBUG_RECORDS 0).
SYNTH_DIR := $(or $(CARGO_TARGET_DIR),target)/synth
SYNTH_TOP ?= ebpf_dataplane
SYNTH_FLATTEN ?=
synth:
	@mkdir -p $(SYNTH_DIR)
	yosys -q -l $(SYNTH_DIR)/synth.log -p "read_verilog -Irtl $(RTL_SOURCES); chparam -set DEBUG_RECORDS 0 ebpf_dataplane; synth_xilinx -family xc7 -top $(SYNTH_TOP)$(if $(SYNTH_FLATTEN), -flatten); tee -q -o $(SYNTH_DIR)/stat.txt stat -top $(SYNTH_TOP); delete t:FD* t:RAM* t:DSP48E1; tee -q -o $(SYNTH_DIR)/ltp.txt ltp"
	@sed -n '/design hierarchy/,$$p' $(SYNTH_DIR)/stat.txt | grep -E "Number of cells|LUT[1-6]|FD|RAM|DSP|CARRY|MUXF" || grep -E "Number of cells|LUT[1-6]|FD|RAM|DSP|CARRY|MUXF" $(SYNTH_DIR)/stat.txt
	@grep "Longest topological path" $(SYNTH_DIR)/ltp.txt | sort -t= -k2 -n

# Synthesis of the helper units, map coprocessor and map registers
# (ebpf_units, four engines) alone; docs/rtl.md records a run.
.PHONY: synth-units
synth-units:
	@mkdir -p $(SYNTH_DIR)
	yosys -q -l $(SYNTH_DIR)/synth-units.log -p "read_verilog -Irtl $(RTL_SOURCES); synth_xilinx -family xc7 -top ebpf_units; tee -q -o $(SYNTH_DIR)/stat-units.txt stat"
	@grep -E "Number of cells|LUT[1-6]|FD|RAM|DSP|CARRY|MUXF" $(SYNTH_DIR)/stat-units.txt

lint: deps fmt-check clippy rtl-lint

# Doc tests first (nextest does not run them), then every other test; the
# last line printed is nextest's summary. `deps` installs clang-19, so tests
# that compile programs/*.c must not skip (NFBPF_REQUIRE_CLANG=1), and it
# installs tcpdump and the Python readers, so the tests that open the
# written files with them must not skip either (NFBPF_REQUIRE_READERS=1).
test-cargo:
	$(CARGO) test --workspace --doc -q
	NFBPF_REQUIRE_CLANG=1 NFBPF_REQUIRE_KERNEL=1 NFBPF_REQUIRE_READERS=1 $(CARGO) nextest run --workspace --no-fail-fast

test: deps fmt-check clippy rtl-lint test-cargo

clean:
	$(CARGO) clean
