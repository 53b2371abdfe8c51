#!/usr/bin/env python3
"""Run every XDP and tc program of the built objects on nfbpf's interpreter
and on the kernel (`nfbpf run --engine kernel`), compare them packet by
packet, and write the table.

    survey.py OUT NFBPF [--optimize]

With --optimize the interpreter runs each program as `nfbpf run --optimize`
loads it (the loader's rewrite of byte-by-byte loads and copies) while the
kernel runs it as clang emitted it, and the tables say how many slots the
rewrite saved.

OUT is build.py's output directory (builds.tsv, obj/) with frames.pcap and
frames-tc.pcap; NFBPF the nfbpf binary. Writes OUT/results.tsv,
OUT/table.md (one row per program) and OUT/summary.md (per project), and
keeps each run's JSON, pcapng and stderr under OUT/runs/.

Per packet it compares the action, the return value, the output bytes (the
frame the program left; for a redirect only when the interpreter wrote one
copy: the kernel's test run writes none of a broadcast's copies) and the
events the packet sent (kind, map, data; a kernel perf sample is padded to
8-byte words, so its data may be up to 7 bytes longer), and for tc `mark`,
`priority` and `cb`.
"""

import json
import re
import struct
import subprocess
import sys
from pathlib import Path

FIB_TABLE = """dev 2 mac 02:00:00:00:00:02 mtu 1500
dev 3 mac 02:00:00:00:00:03 mtu 1500
route 10.0.0.0/16 via 192.168.1.1 dev 2
route 10.1.0.0/16 dev 3
route blackhole 10.3.0.0/16
route 192.168.1.0/24 dev 2
route fd00::/112 via fe80::1 dev 2
route fd00::1:0/112 dev 3
neigh 192.168.1.1 lladdr 02:aa:00:00:00:01 dev 2
neigh fe80::1 lladdr 02:aa:00:00:00:06 dev 2
"""
# What a project's loader gives a map declared without max_entries: the
# CPU count (xdp-tools' per-CPU statistics and CPU maps).
CPUS = 2


def programs(obj: Path):
    """(function, section) of every global function in an executable
    section of a BPF ELF object other than .text."""
    d = obj.read_bytes()
    shoff, = struct.unpack_from("<Q", d, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
    sh = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]

    def name(tab, off):
        base = sh[tab][4] + off
        return d[base:d.index(b"\0", base)].decode()

    secname = [name(shstrndx, s[0]) for s in sh]
    out = []
    for s in sh:
        if s[1] != 2:  # SHT_SYMTAB
            continue
        for i in range(s[5] // 24):
            st_name, st_info, _, st_shndx, _, _ = struct.unpack_from("<IBBHQQ", d, s[4] + i * 24)
            if st_info & 0xF != 2 or st_info >> 4 != 1 or not (0 < st_shndx < shnum):
                continue
            sec = secname[st_shndx]
            if sec != ".text" and sh[st_shndx][2] & 0x4:  # SHF_EXECINSTR
                out.append((name(s[6], st_name), sec))
    return sorted(out, key=lambda p: (p[1], p[0]))


def kind(section):
    if section.startswith("xdp"):
        return "xdp"
    if section.startswith(("tc", "classifier")):
        return "tc"
    return None


def first_line(text, obj):
    """nfbpf's error, its first line, without the object's path and the
    list of supported helpers."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            line = line.replace(str(obj) + ": ", "").removeprefix("nfbpf: ")
            line = re.sub(r"^section \S+, function \S+, instruction \d+ \(offset 0x[0-9a-f]+\), image pc \d+: ", "", line)
            line = re.sub(r" \(supported: [^)]*\)$", "", line)
            line = re.sub(r": kfuncs are not supported, the device has the XDP ABI's helpers only \(.*\)$",
                          ": kfuncs are not supported", line)
            return line
    return "no message"


def verifier_reason(text):
    """The verifier's reason: the log's last line before `processed N insns`."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for i, l in enumerate(lines):
        if l.startswith("processed ") and i > 0:
            return lines[i - 1]
    return ""


def pcapng(path: Path):
    """{input index: [frame bytes]}, from the frames' timestamps (frame i
    of the input arrives at (i + 1) us)."""
    out = {}
    if not path.exists():
        return out
    d = path.read_bytes()
    i = 0
    while i + 12 <= len(d):
        btype, blen = struct.unpack_from("<II", d, i)
        if btype == 6:
            _, hi, lo, cap, _ = struct.unpack_from("<IIIII", d, i + 8)
            ts = (hi << 32) | lo
            out.setdefault(ts // 1000 - 1, []).append(d[i + 28:i + 28 + cap])
        i += blen
    return out


def run(nfbpf, obj, prog, pcap, engine, extra, base: Path):
    out = Path(f"{base}.{engine}.pcapng")
    cmd = [nfbpf, "run", str(obj), "--program", prog, "--pcap", str(pcap),
           "--json", "--out", str(out), "--engine", engine] + extra
    r = subprocess.run(cmd, capture_output=True, text=True)
    Path(f"{base}.{engine}.json").write_text(r.stdout)
    Path(f"{base}.{engine}.err").write_text(r.stderr)
    pkts, events = {}, {}
    for line in r.stdout.splitlines():
        o = json.loads(line)
        if "index" in o:
            pkts[o["index"]] = o
        elif "event" in o:
            events.setdefault(o["packet"], []).append(o)
    return r.returncode, r.stderr, pkts, events, pcapng(out)


def events_agree(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if (x["event"], x["map"]) != (y["event"], y["map"]):
            return False
        dx, dy = x["data"], y["data"]
        if x["event"] == "perf" or "perf" in x["event"]:
            if not dy.startswith(dx) or len(dy) - len(dx) >= 16:
                return False
        elif dx != dy:
            return False
    return True


def compare(i_run, k_run, tc):
    _, _, ip, iev, ifr = i_run
    _, _, kp, kev, kfr = k_run
    n = len(ip)
    agree = 0
    diffs = []
    for idx in range(n):
        a, b = ip.get(idx), kp.get(idx)
        why = None
        if a is None or b is None:
            why = "missing"
        elif a["action"] != b["action"]:
            why = f"action {a['action']} != {b['action']}"
        elif a["r0"] != b["r0"]:
            why = f"r0 {a['r0']} != {b['r0']}"
        elif tc and any(a.get(f) != b.get(f) for f in ("mark", "priority", "cb")):
            why = "skb fields"
        elif not events_agree(iev.get(idx, []), kev.get(idx, [])):
            why = "events"
        else:
            fa, fb = ifr.get(idx, []), kfr.get(idx, [])
            if a["action"] == "redirect" and len(fa) != 1:
                pass  # a broadcast: the kernel's test run writes no copies
            elif len(fa) != len(fb) or fa[:1] != fb[:1]:
                why = "bytes"
        if why:
            diffs.append((idx, why))
        else:
            agree += 1
    return agree, n, diffs


def main():
    out, nfbpf = Path(sys.argv[1]), sys.argv[2]
    optimize = "--optimize" in sys.argv[3:]
    opt = ["--optimize"] if optimize else []
    (out / "fib.txt").write_text(FIB_TABLE)
    runs = out / "runs"
    runs.mkdir(exist_ok=True)
    rows = []
    for line in (out / "builds.tsv").read_text().splitlines():
        project, source, obj, err = line.split("\t")
        if obj == "-":
            continue
        obj = out / obj
        for prog, sec in programs(obj):
            k = kind(sec)
            if not k:
                continue
            pcap = out / ("frames-tc.pcap" if k == "tc" else "frames.pcap")
            base = runs / f"{project}.{source.replace('/', '_')}.{prog}"
            dis = subprocess.run([nfbpf, "disasm", str(obj), "--program", prog],
                                 capture_output=True, text=True).stdout

            extra = ["--in-port", "1"]
            notes = []
            if "bpf_fib_lookup" in dis:
                extra = ["--in-port", "2", "--fib", str(out / "fib.txt")]
                notes.append("`--fib`, `--in-port 2`")
            while True:
                i_run = run(nfbpf, obj, prog, pcap, "interp", extra + opt, base)
                m = re.search(r"pass --map-size (\S+)=N", i_run[1])
                if i_run[0] == 0 or not m:
                    break
                extra += ["--map-size", f"{m.group(1)}={CPUS}"]
                notes.append(f"`--map-size {m.group(1)}={CPUS}`")
            slots = ""
            if optimize:
                sizes = [a for i, a in enumerate(extra) if i > 0 and extra[i - 1] == "--map-size"]
                listing = subprocess.run(
                    [nfbpf, "disasm", str(obj), "--program", prog, "--optimize"]
                    + [x for sz in sizes for x in ("--map-size", sz)],
                    capture_output=True, text=True).stdout
                m = re.search(r"; optimize: (\d+) slots -> (\d+)", listing)
                slots = f"{m.group(1)} -> {m.group(2)}" if m else ""
            row = dict(project=project, source=source, prog=prog, sec=sec, kind=k,
                       notes=", ".join(notes), loads="yes", blocker="", agree="",
                       n="", diffs="", slots=slots)
            if i_run[0] != 0:
                row["loads"] = "no"
                row["blocker"] = first_line(i_run[1], obj)
                rows.append(row)
                print(f"{project} {source} {prog}: no: {row['blocker']}", flush=True)
                continue
            k_run = run(nfbpf, obj, prog, pcap, "kernel", extra, base)
            if k_run[0] != 0:
                msg = first_line(k_run[1], obj).replace("kernel: ", "", 1)
                if "verifier refused" in msg:
                    msg = "the kernel's verifier refuses it: " + verifier_reason(k_run[1])
                row["blocker"] = msg
                rows.append(row)
                print(f"{project} {source} {prog}: not compared: {row['blocker']}", flush=True)
                continue
            agree, n, diffs = compare(i_run, k_run, k == "tc")
            row["agree"], row["n"] = agree, n
            row["diffs"] = "; ".join(f"{i}: {w}" for i, w in diffs[:5])
            rows.append(row)
            print(f"{project} {source} {prog}: {agree} of {n} {row['diffs']}", flush=True)
    cols = ["project", "source", "prog", "sec", "kind", "notes", "loads", "blocker", "agree", "n", "diffs", "slots"]
    with open(out / "results.tsv", "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join(str(r[c]) for c in cols) + "\n")
    write_tables(out, rows, optimize)


def write_tables(out, rows, optimize=False):
    """table.md: per program, as docs/real-world.md shows it."""
    with open(out / "table.md", "w") as f:
        for k in ("xdp", "tc"):
            extra = " slots, --optimize |" if optimize else ""
            f.write(f"\n{k}:\n\n| project | object | program (section) | loads | agrees with the kernel | blocker, or why not compared |{extra}\n|---|---|---|---|---|---|{'---|' if optimize else ''}\n")
            for r in rows:
                if r["kind"] != k:
                    continue
                obj = Path(r["source"]).with_suffix(".o")
                loads = "yes" if r["loads"] == "yes" else "no"
                if r["notes"] and r["loads"] == "yes":
                    loads += f", with {r['notes']}"
                res = "" if r["n"] == "" else f"{r['agree']} of {r['n']}"
                slots = f" {r['slots']} |" if optimize else ""
                f.write(f"| {r['project']} | `{obj}` | `{r['prog']}` (`{r['sec']}`) | {loads} | {res} | {r['blocker']} |{slots}\n")
    with open(out / "summary.md", "w") as f:
        f.write("| project | kind | built | load | compared | agree on every packet |\n|---|---|---|---|---|---|\n")
        for k in ("xdp", "tc"):
            projects = []
            for r in rows:
                if r["kind"] == k and r["project"] not in projects:
                    projects.append(r["project"])
            for p in projects + ["all"]:
                rs = [r for r in rows if r["kind"] == k and (p == "all" or r["project"] == p)]
                load = [r for r in rs if r["loads"] == "yes"]
                comp = [r for r in load if r["n"] != ""]
                agree = [r for r in comp if r["agree"] == r["n"]]
                f.write(f"| {p} | {k} | {len(rs)} | {len(load)} | {len(comp)} | {len(agree)} |\n")
        if optimize:
            f.write("\n--optimize (the interpreter runs the rewritten program, the kernel the original):\n\n"
                    "| kind | loaded | rewritten | slots before | slots after | rewritten and compared | of those agreeing on every packet |\n|---|---|---|---|---|---|---|\n")
            for k in ("xdp", "tc"):
                load = [r for r in rows if r["kind"] == k and r["loads"] == "yes" and r["slots"]]
                pairs = [tuple(int(x) for x in r["slots"].split(" -> ")) for r in load]
                changed = [r for r, (a, b) in zip(load, pairs) if b < a]
                comp = [r for r in changed if r["n"] != ""]
                agree = [r for r in comp if r["agree"] == r["n"]]
                f.write(f"| {k} | {len(load)} | {len(changed)} | {sum(a for a, _ in pairs)} | {sum(b for _, b in pairs)} | {len(comp)} | {len(agree)} |\n")


if __name__ == "__main__":
    main()
