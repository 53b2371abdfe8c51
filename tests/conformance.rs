//! T1 conformance: the conformance suite (found by
//! `nfbpf_vm::conformance::suite_dir`: `$NFBPF_CONFORMANCE`, the vectors
//! beside the repository, or `make conformance`'s copy) through the CLI, as
//! users run it, and through the suite's plugin protocol.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
mod common;
use common::{data_files, suite};
use nfbpf_vm::conformance::Part;
use std::process::{Command, Stdio};

fn nfbpf(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nfbpf"))
        .args(args)
        .output()
        .expect("run nfbpf");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn suite_passes_on_the_interpreter() {
    let dir = suite(Part::Tests);
    let n = data_files(&dir);
    assert!(
        n >= 225,
        "{}: {n} tests, the suite has 225 or more",
        dir.display()
    );
    let (code, out) = nfbpf(&["conform", dir.to_str().unwrap(), "--engine", "interp"]);
    let want = format!("{n} passed, 0 failed");
    assert_eq!(out.lines().last(), Some(want.as_str()), "{out}");
    assert_eq!(code, 0);
}

#[test]
fn suite_passes_on_the_pipeline_model_and_the_rtl() {
    let dir = suite(Part::Tests);
    let want = format!("{} passed, 0 failed", data_files(&dir));
    for engine in ["pipeline", "rtl"] {
        let (code, out) = nfbpf(&["conform", dir.to_str().unwrap(), "--engine", engine]);
        assert_eq!(out.lines().last(), Some(want.as_str()), "{engine}: {out}");
        assert_eq!(code, 0);
    }
}

#[test]
fn negative_cases_fail_with_causes() {
    let dir = suite(Part::Negative);
    let (code, out) = nfbpf(&["conform", dir.to_str().unwrap()]);
    assert_eq!(out.lines().last(), Some("45 passed, 15 failed"), "{out}");
    assert_eq!(code, 1);
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(fails.len(), 15);
    // Every failure names its file and a cause; none is an `unused-*` case.
    for l in &fails {
        let (file, cause) = l.split_once(": ").expect("FAIL file: cause");
        assert!(!file.contains("unused-"), "{l}");
        assert!(cause.len() > 10, "{l}");
    }
    let expect = [
        ("empty.data", "no program"),
        ("error.data", "expected error"),
        (
            "incorrect_return_value_high_bits.data",
            "r0 = 0x8877665544332211",
        ),
        ("invalid_imm32_dec_range.data", "out of 32-bit range"),
        ("invalid_imm32_hex_range.data", "out of 32-bit range"),
        ("invalid_label.data", "invalid label"),
        ("invalid_lock.data", "invalid operand count"),
        ("invalid_mnemonic.data", "invalid mnemonic"),
        ("invalid_offset.data", "expected a memory operand"),
        ("invalid_offset_range.data", "out of 16-bit range"),
        ("invalid_operand_count.data", "invalid operand count"),
        ("invalid_register.data", "invalid register"),
        ("invalid_unknown_directive.data", "unknown section"),
    ];
    for (file, cause) in expect {
        assert!(
            fails.iter().any(|l| l.contains(file) && l.contains(cause)),
            "{file}: expected a failure naming `{cause}` in\n{out}"
        );
    }
}

/// The plugin protocol: program as hex on stdin, memory as hex in argv[1],
/// r0 in hex on stdout.
fn plugin(program_hex: &str, mem_hex: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nfbpf"))
        .args(["conformance-plugin", mem_hex])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plugin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(program_hex.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout)
    } else {
        String::from_utf8_lossy(&out.stderr)
    };
    (out.status.success(), text.trim().to_string())
}

#[test]
fn plugin_protocol() {
    // ldxb r0, [r1+1]; exit -- over memory 11 22.
    let (ok, out) = plugin("7110010000000000\n9500000000000000\n", "1122");
    assert!(ok, "{out}");
    assert_eq!(out, "22");
    // lddw r0, 0x1122334455667788; exit.
    let (ok, out) = plugin("1800000088776655000000004433221195000000000000000", "");
    assert!(!ok, "odd-length program must be rejected: {out}");
    let (ok, out) = plugin("18000000887766550000000044332211 9500000000000000", "");
    assert!(ok, "{out}");
    assert_eq!(out, "1122334455667788");
    // Out-of-bounds access: an error naming the address.
    let (ok, out) = plugin("7910080000000000 9500000000000000", "00");
    assert!(!ok);
    assert!(out.contains("out-of-bounds"), "{out}");
    // A nonzero unused field: rejected by the validator.
    let (ok, out) = plugin("0700010001000000 9500000000000000", "");
    assert!(!ok);
    assert!(out.contains("invalid instruction at pc 0"), "{out}");
}
