#!/usr/bin/env python3
"""Print the figures of a `make pnr` run from nextpnr-ecp5's own report.

Usage: pnr_report.py REPORT_JSON [WRAPPER_NOTE]

REPORT_JSON is what `nextpnr-ecp5 --report` writes: the utilisation of
each kind of site (used / available), the maximum frequency achieved per
clock against its constraint, and the critical path of each clock pair as
a list of segments (clock-to-q, logic, routing, setup), each with its net
and its source and sink cells. Printed: the utilisation, Fmax per clock,
and each critical path from its start cell to its end cell with the cells
and nets it goes through (logic levels counted as the `logic` segments).
"""
import json
import sys

KINDS = [
    "TRELLIS_COMB",
    "TRELLIS_FF",
    "TRELLIS_RAMW",
    "TRELLIS_SLICE",
    "DP16KD",
    "MULT18X18D",
    "ALU54B",
    "TRELLIS_IO",
    "DCCA",
]


def short(name, limit=72):
    """Yosys names a mapped cell after the nets it drives: keep both ends."""
    return name if len(name) <= limit else name[: limit - 30] + "..." + name[-27:]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rep = json.load(open(sys.argv[1]))
    util = rep.get("utilization", {})
    print("Utilisation (nextpnr, placed design):")
    shown = [k for k in KINDS if k in util] + sorted(
        k for k in util if k not in KINDS and util[k].get("used", 0)
    )
    for k in shown:
        u, a = util[k]["used"], util[k]["available"]
        pct = 100.0 * u / a if a else 0.0
        print(f"  {k:16s} {u:8d} / {a:8d}  {pct:5.1f} %")
    print("Maximum frequency (nextpnr):")
    for clk, f in sorted(rep.get("fmax", {}).items()):
        ok = "met" if f["achieved"] >= f["constraint"] else "FAILED"
        print(f"  {clk}: {f['achieved']:.2f} MHz (constraint {f['constraint']:.2f} MHz, {ok})")
    for cp in rep.get("critical_paths", []):
        path = cp.get("path", [])
        if not path:
            continue
        total = sum(s.get("delay", 0.0) for s in path)
        logic = [s for s in path if s.get("type") == "logic"]
        routing = sum(s.get("delay", 0.0) for s in path if s.get("type") == "routing")
        first, last = path[0], path[-1]
        print(
            f"Critical path {cp.get('from', '?')} -> {cp.get('to', '?')}: {total:.2f} ns, "
            f"{len(logic)} logic cells, {routing:.2f} ns of it routing"
        )
        print(f"  from {first['from']['cell']} ({first['from']['port']})")
        print(f"  to   {last['to']['cell']} ({last['to']['port']})")
        for s in path:
            net = s.get("net", "")
            print(
                f"    {s.get('type', ''):9s} {s.get('delay', 0.0):6.2f} ns  "
                f"{short(s['from']['cell'])}.{s['from']['port']} -> "
                f"{short(s['to']['cell'])}.{s['to']['port']}"
                + (f"  [{short(net)}]" if net else "")
            )
    if len(sys.argv) > 2:
        print(sys.argv[2])


if __name__ == "__main__":
    main()
