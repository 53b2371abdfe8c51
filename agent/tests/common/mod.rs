//! Helpers the agent's HTTP tests share: an agent on a loopback port,
//! whether clang is there, and the Wire program's source.

use nfbpf_agent::{Agent, Config};
use std::net::SocketAddr;

/// An agent serving on a loopback port, its store in a temporary directory;
/// stopped when dropped.
pub struct Running {
    agent: Option<Agent>,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(a) = self.agent.take() {
            a.stop();
        }
    }
}

/// Start an agent on `127.0.0.1:0` with its store in a new temporary
/// directory (named `prefix...`); `configure` sets the rest.
pub fn start_agent(prefix: &str, configure: impl FnOnce(&mut Config)) -> Running {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    let mut cfg = Config::new("127.0.0.1:0", dir.path().join("a.redb"));
    configure(&mut cfg);
    let agent = Agent::start(cfg).unwrap();
    Running {
        addr: agent.addr,
        agent: Some(agent),
        _dir: dir,
    }
}

/// Is clang-19 there? Without it the caller skips its test with a notice,
/// or fails when `NFBPF_REQUIRE_CLANG` is set (as `make test` sets it).
pub fn clang() -> bool {
    let ok = std::process::Command::new(nfbpf_loader::compile::default_clang())
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("NFBPF_REQUIRE_CLANG").is_none(),
            "clang-19 is required (NFBPF_REQUIRE_CLANG is set): run `make deps`"
        );
        eprintln!("SKIPPED: clang-19 not installed (run `make deps`)");
    }
    ok
}

/// `programs/wire_sume.c`.
pub fn wire_source() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../programs/wire_sume.c"
    ))
    .unwrap()
}
