//! Helpers the agent's HTTP tests share: whether clang is there, and the
//! Wire program's source.

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
