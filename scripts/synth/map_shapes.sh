#!/bin/sh
# Yosys cell counts of the map coprocessor's CAM and TCAM at the key widths
# the RTL has and at those it refuses at FLIP (docs/rtl-dataplane.md, "Map
# shapes the RTL refuses, and why"): the CAM (rtl/ebpf_cam.v, parameter KW)
# at 16-byte keys and at 40 (an IPv6 5-tuple's 37 bytes in five 8-byte
# port words), the TCAM at its 4 + 4-byte keys and at 4 + 16 (IPv6
# prefixes). The TCAM's data width is not a parameter of rtl/ebpf_tcam.v
# (32 bits, a 6-bit prefix length): this script makes a copy under OUT
# with [31:0] as [DW-1:0] and [5:0] as [PW-1:0], the RTL itself unchanged,
# and synthesizes that copy at DW 32 / PW 6 (the RTL's widths: its counts
# are the RTL's module's, as `tcam-rtl` checks) and DW 128 / PW 8.
#
# The same flow as `make synth` (yosys synth_xilinx -family xc7) on one
# module, under `nice -n 19` and a time limit of LIMIT seconds (default
# 600) each; Yosys's warnings are in its log, OUT/RUN-ENTRIES.log.
#
#   scripts/synth/map_shapes.sh ENTRIES [RUN...]
#
# ENTRIES: 64 (the contract's) or fewer, for a shorter run (AW follows).
# RUN: cam16 cam40 tcam8 tcam20 tcam-rtl (default: the first four), or
# unitsN: ebpf_units (four engines) with value-memory windows of N bytes
# (U_VROW_BYTES, 1024 in the RTL; U_VROWS stays 4) and CAM and TCAM of
# ENTRIES entries, from a copy of rtl/ under OUT whose
# ebpf_units_params.vh says so; its line counts the ebpf_units module's
# own cells (the value memory and its ports are there, the coprocessor,
# CAM and TCAM are submodules). Each prints one line: cells, LUTs
# (LUT1..LUT6), flip-flops, MUXF7+MUXF8, CARRY4; the full stat is in
# OUT/RUN-ENTRIES.stat.
set -eu
entries=${1:?usage: map_shapes.sh ENTRIES [RUN...]}
shift
[ $# -gt 0 ] || set -- cam16 cam40 tcam8 tcam20
aw=0
while [ $((1 << aw)) -lt "$entries" ]; do aw=$((aw + 1)); done
out=${OUT:-${CARGO_TARGET_DIR:-target}/synth/map-shapes}
limit=${LIMIT:-600}
mkdir -p "$out"
sed -e 's/^  parameter integer TAG_W = 6$/  parameter integer TAG_W = 6,\n  parameter integer DW = 32,\n  parameter integer PW = 6/' \
    -e 's/\[31:0\]/[DW-1:0]/g' -e 's/\[5:0\]/[PW-1:0]/g' \
    -e "s/best        = 6'd0;/best        = {PW{1'b0}};/" \
    rtl/ebpf_tcam.v >"$out/ebpf_tcam_w.v"
grep -q 'parameter integer DW = 32' "$out/ebpf_tcam_w.v"

n="-set ENTRIES $entries -set AW $aw"
for run in "$@"; do
    case $run in
    cam16) src=rtl/ebpf_cam.v top=ebpf_cam p="$n -set KW 128" ;;
    cam40) src=rtl/ebpf_cam.v top=ebpf_cam p="$n -set KW 320" ;;
    tcam8) src=$out/ebpf_tcam_w.v top=ebpf_tcam p="$n" ;;
    tcam20) src=$out/ebpf_tcam_w.v top=ebpf_tcam p="$n -set DW 128 -set PW 8" ;;
    tcam-rtl) src=rtl/ebpf_tcam.v top=ebpf_tcam p="$n" ;;
    units[0-9]*)
        b=${run#units}
        d=$out/$run-$entries-rtl
        rm -rf "$d"
        mkdir -p "$d"
        cp rtl/*.v rtl/*.vh "$d/"
        sed -i -e "s/^localparam integer U_VROW_BYTES = .*/localparam integer U_VROW_BYTES = $b;/" \
            -e "s/^localparam integer U_CAM_ENTRIES = .*/localparam integer U_CAM_ENTRIES = $entries;/" \
            -e "s/^localparam integer U_TCAM_ENTRIES = .*/localparam integer U_TCAM_ENTRIES = $entries;/" \
            "$d/ebpf_units_params.vh"
        src="-I$d $d/*.v" top=ebpf_units p=""
        ;;
    *)
        echo "map_shapes.sh: unknown run $run" >&2
        exit 2
        ;;
    esac
    stat=$out/$run-$entries.stat
    rm -f "$stat"
    start=$(date +%s)
    if ! timeout "$limit" nice -n 19 yosys -q -l "$out/$run-$entries.log" -p \
        "read_verilog $src;${p:+ chparam $p $top;} synth_xilinx -family xc7 -top $top; tee -q -o $stat stat" 2>/dev/null; then
        echo "$run ($entries entries): yosys stopped or failed after $(($(date +%s) - start)) s (limit $limit s)"
        continue
    fi
    awk -v run="$run" -v e="$entries" -v top="$top" -v s=$(($(date +%s) - start)) '
        /^=== / { mine = $2 == top }
        !mine { next }
        /Number of cells:/ { cells = $4 }
        $1 ~ /^LUT[1-6]$/ { lut += $2 }
        $1 ~ /^FD/ { ff += $2 }
        $1 ~ /^MUXF[78]$/ { mux += $2 }
        $1 == "CARRY4" { carry += $2 }
        END { printf "%s (%s entries): %d cells, %d LUTs, %d flip-flops, %d MUXF7/8, %d CARRY4 (%d s)\n",
                      run, e, cells, lut, ff, mux, carry, s }' "$stat"
done
