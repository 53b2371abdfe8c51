//! The version string of `nfbpf --version`: the package version, the commit
//! it was built from (`git rev-parse --short HEAD`, `-dirty` when the work
//! tree has changes) or `unknown` outside a git checkout.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let commit = match git(&["rev-parse", "--short", "HEAD"]) {
        Some(c) if !c.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        }
        _ => "unknown".to_string(),
    };
    println!("cargo:rustc-env=NFBPF_VERSION={version} (commit {commit})");
    // Rebuild when HEAD moves or the branch it names gets a new commit. In a
    // worktree .git is a file; git tells where HEAD and the refs live.
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &r])
    {
        println!("cargo:rerun-if-changed={p}");
    }
    // The index changes with commits and staging (the dirty mark); a ref
    // may also move inside packed-refs. Outside git nothing is printed, and
    // cargo reruns this on any change of the package.
    for p in ["index", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", p])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
