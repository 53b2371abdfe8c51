//! The commit the agent was built from, for the OpenFaaS `GET /system/info`
//! (`NFBPF_AGENT_SHA`: `git rev-parse HEAD`, `unknown` outside a git
//! checkout).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

fn main() {
    let sha = git(&["rev-parse", "HEAD"])
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=NFBPF_AGENT_SHA={sha}");
    // Rebuild when HEAD moves or its branch gets a new commit (in a worktree
    // .git is a file: git tells where HEAD and the refs live).
    // A path that does not exist is not printed (cargo would rerun this
    // every build).
    let mut paths = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        paths.push(r);
    }
    for p in paths {
        if let Some(path) = git(&["rev-parse", "--git-path", &p])
            && std::path::Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
