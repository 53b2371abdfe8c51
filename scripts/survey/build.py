#!/usr/bin/env python3
"""Build the BPF objects of the surveyed projects as their own builds do.

    build.py SRC OUT

SRC holds the checkouts (xdp-tutorial, xdp-tools, bpf-examples, katran,
libbpf-bootstrap, hXDP-Artifacts; libbpf-bootstrap with its vmlinux.h
submodule). Every BPF source a project's Makefiles name (XDP_TARGETS,
BPF_TARGETS, ...) is compiled with clang (-O2 -g -target bpf) and the
project's include paths and defines; the system's libbpf headers stand in
for the libbpf submodules, xdp-tools' headers/xdp for the libxdp headers
a project installs from its xdp-tools submodule. Objects go to
OUT/obj/PROJECT/PATH.o; OUT/builds.tsv lists every source: project,
source, object or `-`, and the first error line when it fails. Like
xdp-tools' own make, it writes lib/libxdp/xdp-dispatcher.c (m4 of its .c.in)
into the xdp-tools checkout; it writes nothing else there.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

CLANG = os.environ.get("CLANG", "clang-19")
ARCH_INC = ["-I/usr/include/x86_64-linux-gnu"]
WARN = ["-Wall", "-Wno-unused-value", "-Wno-pointer-sign",
        "-Wno-compare-distinct-pointer-types", "-Wno-visibility", "-Werror",
        "-fno-stack-protector"]
HERE = Path(__file__).resolve().parent


def make_vars(mk: Path, names):
    """Values of NAMES in a Makefile (:=, =, +=; continuation lines; $(X)
    of the same names expanded; $(if ...) dropped, as with its variable
    unset)."""
    vals = {n: [] for n in names}
    text = mk.read_text(errors="replace").replace("\\\n", " ")
    for line in text.splitlines():
        m = re.match(r"^\s*([A-Za-z_]+)\s*(\+=|:=|\?=|=)\s*(.*)$", line)
        if not m or m.group(1) not in vals:
            continue
        v = re.sub(r"#.*", "", m.group(3))
        v = re.sub(r"\$\(if \$\([A-Z_0-9]+\),[^)]*\)", "", v)
        words = []
        for w in v.split():
            r = re.fullmatch(r"\$\(([A-Z_]+)\)", w)
            words += vals.get(r.group(1), []) if r else [w]
        if m.group(2) == "+=":
            vals[m.group(1)] += words
        else:
            vals[m.group(1)] = words
    return vals


def first_error(text: str) -> str:
    for line in text.splitlines():
        if "error" in line:
            return line.strip()
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else "failed"


class Builder:
    def __init__(self, src: Path, out: Path):
        self.src, self.out = src, out
        self.rows = []
        # libxdp's headers as a project's lib/install/include has them.
        inc = out / "inc" / "install"
        inc.mkdir(parents=True, exist_ok=True)
        link = inc / "xdp"
        if not link.exists():
            link.symlink_to(src / "xdp-tools" / "headers" / "xdp")
        self.install_inc = ["-I" + str(inc)]
        # hXDP's programs include <uapi/linux/bpf.h>, as in a kernel tree.
        uapi = out / "inc" / "kernel-tree" / "uapi" / "linux"
        uapi.mkdir(parents=True, exist_ok=True)
        (uapi / "bpf.h").write_text("#include <linux/bpf.h>\n")

    def cc(self, project, source: Path, flags, cwd=None):
        rel = source.relative_to(self.src / project)
        if any(r[0] == project and r[1] == str(rel) for r in self.rows):
            return  # named twice in a Makefile
        obj = self.out / "obj" / project / rel.with_suffix(".o")
        obj.parent.mkdir(parents=True, exist_ok=True)
        cmd = [CLANG, "-target", "bpf", *flags, "-O2", "-c", "-g",
               "-o", str(obj), str(source)]
        r = subprocess.run(cmd, cwd=cwd or source.parent, capture_output=True,
                           text=True)
        if r.returncode == 0:
            self.rows.append((project, str(rel), str(obj.relative_to(self.out)), ""))
        else:
            obj.unlink(missing_ok=True)
            err = first_error(r.stderr).replace(str(self.src) + "/", "")
            self.rows.append((project, str(rel), "-", err))

    def targets(self, project, mk: Path, names, suffix=".c"):
        vals = make_vars(mk, names)
        out = []
        for n in names:
            for t in vals[n]:
                t = t[:-2] if t.endswith(".o") else t
                out.append(mk.parent / (t + suffix))
        return out

    def xdp_tutorial(self):
        p = "xdp-tutorial"
        root = self.src / p
        defs = ['-DBPF_DIR_MNT="/sys/fs/bpf"',
                '-DBPF_OBJECT_PATH="/usr/local/lib/bpf"', "-DDEBUG"]
        for mk in sorted(root.glob("*/Makefile")):
            for s in self.targets(p, mk, ["XDP_TARGETS"]):
                self.cc(p, s, WARN + defs + ARCH_INC + self.install_inc)

    def xdp_tools(self):
        p = "xdp-tools"
        root = self.src / p
        # configure's findings with the system's libbpf (1.x): every
        # function it probes is there, and bpftool builds lib/util's BPF.
        feats = ["perf_buffer__consume", "btf__load_from_kernel_by_id",
                 "btf__type_cnt", "bpf_object__next_map",
                 "bpf_object__next_program", "bpf_program__insn_cnt",
                 "bpf_program__type", "bpf_program__flags",
                 "bpf_program__expected_attach_type", "bpf_map_create",
                 "perf_buffer__new_raw", "bpf_xdp_attach",
                 "bpf_map__set_autocreate", "bpf_prog_test_run_opts",
                 "bpf_xdp_query"]
        version = re.search(r"TOOLS_VERSION\s*:?=\s*\"?([^\"\s]+)",
                            (root / "version.mk").read_text())
        defs = ['-DBPF_DIR_MNT="/sys/fs/bpf"',
                '-DBPF_OBJECT_PATH="/usr/local/lib/bpf"',
                "-DMAX_DISPATCHER_ACTIONS=10",
                f'-DTOOLS_VERSION="{version.group(1) if version else "0"}"',
                '-DLIBBPF_VERSION="1.1.2"', '-DRUNDIR="/run"',
                "-DHAVE_BPFTOOL"]
        defs += ["-DHAVE_LIBBPF_" + f.upper() for f in feats]
        defs += ["-DDEBUG", "-DLIBBPF_DYNAMIC", "-D_LARGEFILE64_SOURCE",
                 "-D_FILE_OFFSET_BITS=64"]
        flags = WARN + ["-std=gnu2x"] + defs + ["-I" + str(root / "headers")] + ARCH_INC
        sources = []
        for mk in sorted(root.glob("*/Makefile")) + [root / "lib/testing/Makefile"]:
            sources += self.targets(p, mk, ["XDP_TARGETS"])
        sources += self.targets(p, root / "lib/libxdp/tests/Makefile", ["BPF_TARGETS"])
        util = make_vars(root / "lib/util/util.mk", ["UTIL_BPF_OBJS"])["UTIL_BPF_OBJS"]
        sources += [root / "lib/util" / (o[:-2] + ".c") for o in util]
        libxdp = root / "lib/libxdp"
        # xdp-dispatcher.c is made from its .c.in by m4, with the defines.
        tpl = libxdp / "xdp-dispatcher.c.in"
        gen = libxdp / "xdp-dispatcher.c"
        m4 = subprocess.run(["m4", "-DMAX_DISPATCHER_ACTIONS=10", str(tpl)],
                            capture_output=True, text=True)
        if m4.returncode == 0:
            gen.write_text(m4.stdout)
        for o in make_vars(libxdp / "Makefile", ["XDP_OBJS"])["XDP_OBJS"]:
            sources.append(libxdp / (o[:-2] + ".c"))
        for s in sources:
            self.cc(p, s, flags)

    def bpf_examples(self):
        p = "bpf-examples"
        root = self.src / p
        base = WARN + ['-DBPF_DIR_MNT="/sys/fs/bpf"',
                       '-DBPF_OBJECT_PATH="/usr/local/lib/bpf"',
                       "-D__TARGET_ARCH_x86",
                       "-I" + str(root / "include"), "-I" + str(root / "headers")]
        base += self.install_inc + ARCH_INC
        for mk in sorted(root.glob("*/Makefile")):
            v = make_vars(mk, ["BPF_TARGETS", "TC_BPF_TARGETS", "EXTRA_CFLAGS"])
            flags = base + v["EXTRA_CFLAGS"]
            if (mk.parent / "configure").exists() and "HAVE_TC_LIBBPF" in (
                    mk.parent / "configure").read_text():
                # configure finds a tc with libbpf (iproute2 6.1 here).
                flags = flags + ["-DHAVE_TC_LIBBPF"]
            for s in self.targets(p, mk, ["BPF_TARGETS", "TC_BPF_TARGETS"]):
                self.cc(p, s, flags)

    def katran(self):
        p = "katran"
        root = self.src / p
        lib = root / "katran/lib"
        # Makefile-bpf, in the tree build_bpf_modules_opensource.sh stages.
        flags = ["-I" + str(lib / "linux_includes"), "-I" + str(root),
                 "-DDEBUG", "-D__KERNEL__", "-Wno-unused-value",
                 "-Wno-pointer-sign", "-Wno-compare-distinct-pointer-types"]
        flags += ARCH_INC
        mk = make_vars(lib / "Makefile-bpf", ["always"])
        for o in mk.get("always", []):
            self.cc(p, lib / "bpf" / (Path(o).stem + ".c"), flags, cwd=root)
        # The script stages decap/bpf beside them (bpf/decap.bpf.c).
        for s in sorted((root / "katran/decap/bpf").glob("*.bpf.c")):
            self.cc(p, s, flags, cwd=root)

    def libbpf_bootstrap(self):
        p = "libbpf-bootstrap"
        root = self.src / p
        vml = root / "vmlinux.h/include/x86"
        # CLANG_BPF_SYS_INCLUDES: clang's own search path, after the rest.
        flags = ["-D__TARGET_ARCH_x86", "-I" + str(vml),
                 "-idirafter", "/usr/include/x86_64-linux-gnu"]
        for s in sorted((root / "examples/c").glob("*.bpf.c")):
            self.cc(p, s, flags)
        for s in sorted((root / "examples/rust").glob("*/src/bpf/*.bpf.c")):
            self.cc(p, s, flags)

    def hxdp(self):
        p = "hXDP-Artifacts"
        root = self.src / p
        # Built inside linux-5.6.4/samples/bpf: its headers stand in.
        flags = ["-I" + str(self.out / "inc" / "kernel-tree"), *ARCH_INC,
                 "-include", str(HERE / "hxdp_compat.h")]
        for s in sorted((root / "xdp_progs").glob("*_kern.c")):
            self.cc(p, s, flags)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: build.py SRC OUT")
    src, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    b = Builder(src, out)
    for name, f in [("xdp-tutorial", b.xdp_tutorial), ("xdp-tools", b.xdp_tools),
                    ("bpf-examples", b.bpf_examples), ("katran", b.katran),
                    ("libbpf-bootstrap", b.libbpf_bootstrap),
                    ("hXDP-Artifacts", b.hxdp)]:
        if not (src / name).is_dir():
            print(f"build.py: {src / name}: missing, skipped", file=sys.stderr)
            continue
        f()
    with open(out / "builds.tsv", "w") as f:
        for r in b.rows:
            f.write("\t".join(r) + "\n")
    ok = sum(1 for r in b.rows if r[2] != "-")
    print(f"build.py: {ok} of {len(b.rows)} sources built")


if __name__ == "__main__":
    main()
