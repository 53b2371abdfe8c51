#!/usr/bin/env bash
# The survey of published XDP and tc programs (docs/real-world.md), again.
#
#   scripts/survey/run.sh SRC [OUT] [--optimize]
#
# With --optimize the interpreter runs every program with the loader's
# rewrite (`nfbpf run --optimize`) and the kernel runs it unchanged.
#
# SRC (or $SURVEY_SRC) holds checkouts of the surveyed projects at the
# commits docs/real-world.md lists, one directory each: xdp-tutorial,
# xdp-tools, bpf-examples, katran, libbpf-bootstrap (with its vmlinux.h
# submodule checked out) and hXDP-Artifacts. This script downloads nothing.
# OUT (default: target/survey) receives the objects, the traffic, every
# run's JSON and pcapng, results.tsv, table.md (one row per program) and
# summary.md (per project).
#
# Needs clang-19 (or $CLANG), m4, python3, and root for the kernel engine
# (BPF_PROG_TEST_RUN). nfbpf is $NFBPF, else target/release/nfbpf (built
# with `cargo build --release`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
optimize=()
args=()
for a in "$@"; do
    if [ "$a" = --optimize ]; then optimize=(--optimize); else args+=("$a"); fi
done
set -- "${args[@]}"
src=${1:-${SURVEY_SRC:-}}
if [ -z "$src" ] || [ ! -d "$src" ]; then
    echo "usage: $0 SRC [OUT]  (SRC: the projects' checkouts; or set SURVEY_SRC)" >&2
    exit 2
fi
out=${2:-$repo/target/survey}
nfbpf=${NFBPF:-$repo/target/release/nfbpf}
if [ ! -x "$nfbpf" ]; then
    echo "$0: $nfbpf: no nfbpf binary; run cargo build --release or set NFBPF" >&2
    exit 2
fi
if [ "$(id -u)" != 0 ]; then
    echo "$0: the kernel engine needs root (BPF_PROG_TEST_RUN)" >&2
    exit 2
fi

# Only what an earlier run wrote is removed.
mkdir -p "$out"
rm -rf "$out/obj" "$out/inc" "$out/runs"
rm -f "$out"/{builds.tsv,results.tsv,table.md,summary.md,fib.txt,frames.pcap,frames-tc.pcap}
echo "building the objects into $out/obj"
python3 "$here/build.py" "$src" "$out"
# 500 varied frames, seed 1; the tc programs get them less the IPv4 and
# IPv6 frames shorter than their IP header, which the kernel's tc test run
# refuses.
python3 "$here/frames.py" "$out/frames.pcap" --count 500 --seed 1
python3 "$here/frames.py" "$out/frames-tc.pcap" --count 500 --seed 1 --tc
echo "running every XDP and tc program on the interpreter and the kernel"
python3 "$here/survey.py" "$out" "$nfbpf" "${optimize[@]}"
echo
cat "$out/summary.md"
echo
echo "per program: $out/table.md; build failures: grep -P '\\t-\\t' $out/builds.tsv"
