//! Subcommands, one module each.

pub mod agent;
pub mod agent_bench;
pub mod asm;
pub mod bench;
pub mod bench_device;
pub mod bench_pipeline;
pub mod bench_run;
pub mod bringup;
pub mod conform;
pub mod cosim;
pub mod device;
pub mod disasm;
pub mod exit;
pub mod fn_client;
pub mod fuzz_diff; // pipeline branch
pub mod input;
pub mod manual;
pub mod map;
pub mod nf;
pub mod object;
pub mod plot; // report branch
pub mod plugin;
pub mod regs;
pub mod report; // report branch
pub mod rules;
pub mod run;
pub mod table;
pub mod trace;
pub mod traffic; // pipeline branch

/// The environment variables nfbpf reads, with their defaults: the root
/// command's `--help` ends with this text.
pub const ENVIRONMENT: &str = "\
Environment:
  NFBPF_CLANG        the clang that compiles C to eBPF (default: clang-19,
                     found on PATH)
  NFBPF_CONFORMANCE  the root of the conformance suite (the directory with
                     tests/ and negative/), for `conform` and `bench pipeline`
                     without a path (default: ../shared/conformance beside the
                     repository nfbpf was built from, else its
                     target/bpf_conformance, which `make conformance` fills)
  NFBPF_AGENT        the agent's URL for `fn` (default: http://127.0.0.1:8080)
  NFBPF_AGENT_AUTH   the credentials file for `fn` (default: none, no
                     Authorization header)
  PATH               where clang (and, for `agent serve`, bwrap) is found
  TMPDIR             where C sources are compiled, each in a fresh directory
                     removed afterwards (default: /tmp)

Built-in programs: every program of the repository's programs/ is built into
nfbpf as builtin:NAME (builtin:l2_switch_sume, builtin:wire_sume, ...), and
its headers sume.h, nf_common.h and lambda.h are on clang's include path
after any -I DIR, so a C file that includes them compiles from any directory.";

#[cfg(test)]
mod tests {
    /// Every variable read, with its default, is in [`super::ENVIRONMENT`].
    #[test]
    fn environment_names_every_variable_and_default() {
        let e = super::ENVIRONMENT;
        for want in [
            nfbpf_loader::compile::CLANG_ENV,
            nfbpf_loader::compile::DEFAULT_CLANG,
            nfbpf_vm::conformance::SUITE_ENV,
            nfbpf_vm::conformance::SUITE_PINNED_DIR,
            "NFBPF_AGENT ",
            nfbpf_agent::client::DEFAULT_AGENT,
            "NFBPF_AGENT_AUTH",
            "TMPDIR",
        ] {
            assert!(e.contains(want), "`{want}` missing from\n{e}");
        }
        for (name, _) in nfbpf_loader::builtin::HEADERS {
            assert!(e.contains(name), "{name}");
        }
    }
}
