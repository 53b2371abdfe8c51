//! Builds the RTL into a C++ model with Verilator and compiles it, the
//! Verilator runtime and our C shim with the `cc` crate (the published
//! Verilator crates do not build against Verilator 5).
//!
//! Each top module in `TOPS` becomes a Verilated class `V<top>`; the shim in
//! `csrc/<top>_shim.cpp` exposes it to Rust as plain C functions.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Top modules with a Rust binding.
const TOPS: &[&str] = &["ebpf_alu", "ebpf_engine", "ebpf_units", "ebpf_dataplane"];

fn main() {
    // Without the `rtl` feature the crate is the model's host, traffic and
    // system runs only: no Verilator, no C++.
    if std::env::var_os("CARGO_FEATURE_RTL").is_none() {
        return;
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let rtl = manifest.join("../rtl");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed={}", rtl.display());
    println!("cargo:rerun-if-changed={}", manifest.join("csrc").display());

    let root = verilator_root();
    let include = root.join("include");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(2)
        .warnings(false)
        .include(&include)
        .include(include.join("vltstd"))
        .file(include.join("verilated.cpp"))
        .file(include.join("verilated_threads.cpp"))
        .file(include.join("verilated_vcd_c.cpp"));

    for top in TOPS {
        let mdir = out.join(top);
        let _ = std::fs::remove_dir_all(&mdir);
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
            .arg(&rtl)
            .arg("--top-module")
            .arg(top)
            .arg(rtl.join(format!("{top}.v")))
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run verilator ({e}): install it with `make deps` (Verilator 5)")
            });
        assert!(status.success(), "verilator failed on rtl/{top}.v");
        build.include(&mdir);
        for f in cpp_files(&mdir) {
            build.file(f);
        }
        build.file(manifest.join(format!("csrc/{top}_shim.cpp")));
    }
    build.compile("nfbpf_rtl");
    println!("cargo:rustc-link-lib=pthread");
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
