//! Builds the RTL into a C++ model with Verilator and compiles it, the
//! Verilator runtime and our C shim with the `cc` crate (the published
//! Verilator crates do not build against Verilator 5).
//!
//! Each top module of an [`Archive`] becomes a Verilated class `V<top>`; the shim in
//! `csrc/<top>_shim.cpp` exposes it to Rust as plain C functions.
//!
//! The C++ is the same whatever cargo profile asks for it (it is compiled
//! at `-O2` without debug information in every profile), so it is built
//! once and kept in `<target>/verilated/<key>/`, where the key is a hash of
//! everything that goes into it: the RTL, the shims, this script, the
//! Verilator version and the C++ compiler. `cargo build --release`,
//! `cargo clippy` and `cargo test` then share one build, and a change to
//! any of those inputs builds a new one. Each archive (the base tops, and
//! the SUME wrapper that only the `sume-cosim` feature of the tests
//! links) is built on first need, in a scratch directory, and renamed into
//! place, so an interrupted build is never taken for a finished one.
//! `NFBPF_VERILATED_DIR` names another place for the cache (several
//! worktrees can share one).

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One static library (`lib<name>.a`) of Verilated top modules, each with
/// a Rust binding (`csrc/<top>_shim.cpp`).
struct Archive {
    name: &'static str,
    tops: &'static [&'static str],
    /// Compile the Verilator runtime into this archive (the other archives
    /// link against it).
    runtime: bool,
    /// Compile every file at -O1, not only the run-once ones.
    all_slow: bool,
}

/// What every `rtl` build links: the units, the engine and the data plane.
const BASE: Archive = Archive {
    name: "nfbpf_rtl",
    tops: &["ebpf_alu", "ebpf_engine", "ebpf_units", "ebpf_dataplane"],
    runtime: true,
    all_slow: false,
};

/// The SUME wrapper (`sume-cosim`): a second whole data plane inside the
/// reference pipeline's slot, driven only by tests/sume_opl.rs (about a
/// second), so all of it at -O1; the release CLI does not link it, which
/// takes about 2 min of C++ off the first `make run`.
const SUME: Archive = Archive {
    name: "nfbpf_rtl_sume",
    tops: &["ebpf_sume_opl"],
    runtime: false,
    all_slow: true,
};

fn main() {
    // Without the `rtl` feature the crate is the model's host, traffic and
    // system runs only: no Verilator, no C++.
    if std::env::var_os("CARGO_FEATURE_RTL").is_none() {
        return;
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let rtl = manifest.join("../rtl");
    let csrc = manifest.join("csrc");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed={}", rtl.display());
    println!("cargo:rerun-if-changed={}", csrc.display());
    println!("cargo:rerun-if-env-changed=CXX");

    let key = cache_key(&manifest, &rtl, &csrc);
    // OUT_DIR is <target>[/<triple>]/<profile>/build/<package>-<hash>/out;
    // NFBPF_VERILATED_DIR puts the cache elsewhere (shared by worktrees).
    println!("cargo:rerun-if-env-changed=NFBPF_VERILATED_DIR");
    let cache_root = match std::env::var_os("NFBPF_VERILATED_DIR") {
        Some(d) => PathBuf::from(d),
        None => out
            .ancestors()
            .nth(4)
            .map(|t| t.join("verilated"))
            .unwrap_or_else(|| out.join("verilated")),
    };
    let done = cache_root.join(format!("{key:016x}"));
    std::fs::create_dir_all(&done).expect("create the Verilated cache directory");
    // The archives that depend on the runtime come first on the link line.
    let mut archives = Vec::new();
    if std::env::var_os("CARGO_FEATURE_SUME_COSIM").is_some() {
        archives.push(SUME);
    }
    archives.push(BASE);
    for a in &archives {
        cached(a, &manifest, &rtl, &cache_root, &done, key);
    }
    // A shared cache may serve worktrees with other RTL: only the target's
    // own cache drops older builds.
    if std::env::var_os("NFBPF_VERILATED_DIR").is_none() {
        prune(&cache_root, &done);
    }
    println!("cargo:rustc-link-search=native={}", done.display());
    for a in &archives {
        println!("cargo:rustc-link-lib=static={}", a.name);
    }
    println!("cargo:rustc-link-lib=stdc++");
    println!("cargo:rustc-link-lib=pthread");
}

/// Make sure `done/lib<name>.a` is there, building it if not. One build of
/// an archive at a time (two profiles, or two worktrees sharing the cache):
/// the others wait for it and take its result.
fn cached(a: &Archive, manifest: &Path, rtl: &Path, root: &Path, done: &Path, key: u64) {
    let lib = done.join(format!("lib{}.a", a.name));
    let lock = std::fs::File::create(root.join(format!("{key:016x}.{}.lock", a.name)))
        .expect("create the Verilated build's lock file");
    lock.lock().expect("lock the Verilated build");
    if lib.is_file() {
        return;
    }
    let scratch = root.join(format!("{key:016x}.{}.tmp-{}", a.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("create the Verilated build directory");
    build(a, manifest, rtl, &scratch);
    // The archive is renamed into place whole, so an interrupted build is
    // never taken for a finished one.
    std::fs::rename(scratch.join(format!("lib{}.a", a.name)), &lib)
        .expect("move the Verilated archive into place");
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Verilate the archive's tops and compile their C++ into
/// `dir/lib<name>.a`.
fn build(a: &Archive, manifest: &Path, rtl: &Path, dir: &Path) {
    let root = verilator_root();
    let include = root.join("include");
    // Verilator splits each model into code that runs every clock and
    // `__Slow` files that run once (construction, settling, the trace's
    // declarations). The first are compiled -O2 for speed; the others -O1,
    // which compiles them in less than half of -O2's time (the data plane's
    // 16 MB of them: 45 s against 69 s at -O2 on 2 idle cores).
    let config = |opt: &str| {
        let mut b = cc::Build::new();
        b.cpp(true)
            .std("c++17")
            .opt_level_str(opt)
            .debug(false)
            .warnings(false)
            .cargo_metadata(false)
            .out_dir(dir)
            .include(&include)
            .include(include.join("vltstd"));
        b
    };
    let mut build = config(if a.all_slow { "1" } else { "2" });
    let mut slow = config("1");
    if a.runtime {
        build
            .file(include.join("verilated.cpp"))
            .file(include.join("verilated_threads.cpp"))
            .file(include.join("verilated_vcd_c.cpp"));
    }

    for top in a.tops {
        let mdir = dir.join(format!("V{top}"));
        let status = Command::new("verilator")
            .args(["--cc", "-O3", "--x-assign", "fast", "--x-initial", "fast"])
            // The engines' requests and the units' one-clock answers meet in
            // one always block each side: no real loop, Verilator settles it.
            .arg("-Wno-UNOPTFLAT")
            // The data plane can write a VCD (a co-simulation mismatch);
            // tracing costs nothing until a trace file is opened.
            .args(if *top == "ebpf_dataplane" {
                &["--trace"][..]
            } else {
                &[][..]
            })
            .arg("--Mdir")
            .arg(&mdir)
            .arg("-y")
            .arg(rtl)
            .arg("--top-module")
            .arg(top)
            .arg(rtl.join(format!("{top}.v")))
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run verilator ({e}): install it with `make deps` (Verilator 5)")
            });
        assert!(status.success(), "verilator failed on rtl/{top}.v");
        build.include(&mdir);
        slow.include(&mdir);
        for f in cpp_files(&mdir) {
            if f.to_string_lossy().contains("__Slow") {
                slow.file(f);
            } else {
                build.file(f);
            }
        }
        build.file(manifest.join(format!("csrc/{top}_shim.cpp")));
    }
    for obj in slow.compile_intermediates() {
        build.object(obj);
    }
    build.compile(a.name);
}

/// Remove finished builds of other keys (an older RTL), their locks and
/// abandoned scratch directories, keeping `keep`'s.
fn prune(root: &Path, keep: &Path) {
    let kept = keep
        .file_name()
        .map(|k| k.to_string_lossy().into_owned())
        .unwrap_or_default();
    for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let hex = name
            .get(..16)
            .is_some_and(|k| k.bytes().all(|b| b.is_ascii_hexdigit()));
        if !hex || name.starts_with(&kept) {
            continue;
        }
        let _ = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
    }
}

/// FNV-1a over every input of the C++ build: file names and contents of
/// rtl/ and csrc/, this script, `verilator --version` and the C++
/// compiler's `--version`.
fn cache_key(manifest: &Path, rtl: &Path, csrc: &Path) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    let mut files: Vec<PathBuf> = [rtl, csrc]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(d)
                .map(|r| {
                    r.filter_map(|e| e.ok().map(|e| e.path()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.push(manifest.join("build.rs"));
    for f in &files {
        h.write(
            f.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        h.write(&std::fs::read(f).unwrap_or_default());
    }
    let version = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default()
    };
    h.write(&version("verilator"));
    let cxx = cc::Build::new()
        .cpp(true)
        .cargo_metadata(false)
        .get_compiler();
    h.write(cxx.path().as_os_str().as_encoded_bytes());
    h.write(&version(&cxx.path().to_string_lossy()));
    h.finish()
}

fn verilator_root() -> PathBuf {
    let out = Command::new("verilator")
        .arg("--getenv")
        .arg("VERILATOR_ROOT")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string())
        }
        _ => panic!(
            "cannot run `verilator --getenv VERILATOR_ROOT`: install Verilator 5 with `make deps`"
        ),
    }
}

fn cpp_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("verilator output directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    v.sort();
    v
}
