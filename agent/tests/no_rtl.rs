//! The agent and the loader drive only the model or a board: their builds
//! must not Verilate the RTL. The sim crate compiles Verilator's C++ only
//! under its feature `rtl` (sim/build.rs), so neither may turn it on.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

/// `cargo tree -e features` of `package` alone (features as a build of
/// just that package resolves them).
fn feature_tree(package: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "features", "--prefix", "none"])
        .args(["-p", package])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_agent_builds_the_sim_crate_without_rtl() {
    let tree = feature_tree("nfbpf-agent");
    assert!(
        tree.contains("nfbpf-sim v"),
        "the agent uses nfbpf-sim:\n{tree}"
    );
    assert!(
        !tree.contains("nfbpf-sim feature \"rtl\""),
        "the agent's build turns on nfbpf-sim's `rtl` (Verilator):\n{tree}"
    );
}

#[test]
fn the_loader_does_not_depend_on_the_sim_crate() {
    let tree = feature_tree("nfbpf-loader");
    assert!(tree.contains("nfbpf-loader v"), "{tree}");
    assert!(!tree.contains("nfbpf-sim"), "{tree}");
}
