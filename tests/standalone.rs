//! The binary works from any directory: a user's C file that includes the
//! built-in `sume.h` and a header of a `-I` directory, the default programs
//! of `bench device` and `agent bench`, all run with the current directory
//! a fresh temporary directory, not the repository. And without the
//! conformance suite, what needs it fails with the one message that says
//! where it was looked for and how to get it.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
mod common;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::path::Path;
use std::process::Command;

/// Run the built binary (its path copied, so nothing depends on where the
/// test runs) in `dir` with `env` set: (exit code, stdout, stderr).
fn nfbpf_in(dir: &Path, env: &[(&str, &Path)], args: &[&str]) -> (i32, String, String) {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_nfbpf"));
    let mut c = Command::new(exe);
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run nfbpf");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A fresh directory outside the repository.
fn elsewhere() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("nfbpf-elsewhere-")
        .tempdir()
        .unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    assert!(!d.path().canonicalize().unwrap().starts_with(&repo));
    d
}

#[test]
fn a_users_c_file_with_sume_h_and_an_include_dir_runs_from_any_directory() {
    if !common::clang() {
        return;
    }
    let d = elsewhere();
    std::fs::create_dir(d.path().join("inc")).unwrap();
    std::fs::write(d.path().join("inc/ports.h"), "#define OFFSET 2\n").unwrap();
    // sume.h is not beside the file: it comes from the binary.
    std::fs::write(
        d.path().join("fwd.c"),
        "#include \"sume.h\"\n#include \"ports.h\"\n\
         int fwd(struct sume_md *md) { return md->in_port + OFFSET + SUME_MD_BYTES; }\n",
    )
    .unwrap();
    let mut w = PcapWriter::new(std::fs::File::create(d.path().join("two.pcap")).unwrap()).unwrap();
    for _ in 0..2 {
        w.write_packet(&PcapPacket::new(std::time::Duration::ZERO, 64, &[0u8; 64]))
            .unwrap();
    }
    drop(w);
    let args = [
        "run",
        "fwd.c",
        "-I",
        "inc",
        "--pcap",
        "two.pcap",
        "--in-port",
        "1",
        "--json",
    ];
    let (code, out, err) = nfbpf_in(d.path(), &[], &args);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    for p in &lines[..2] {
        // 1 + 2 (ports.h) + 32 (sume.h's SUME_MD_BYTES)
        assert_eq!(p["r0"], 35, "{out}");
        assert_eq!(p["port"], 35, "{out}");
    }
    assert_eq!(lines[2]["packets"], 2, "{out}");
    // Without -I the user's header is not found, and clang says so.
    let without: Vec<&str> = args
        .iter()
        .filter(|a| !["-I", "inc"].contains(a))
        .copied()
        .collect();
    let (code, _, err) = nfbpf_in(d.path(), &[], &without);
    assert_ne!(code, 0);
    assert!(err.contains("'ports.h' file not found"), "{err}");
}

#[test]
fn bench_device_default_program_from_another_directory() {
    if !common::clang() {
        return;
    }
    let d = elsewhere();
    let (code, out, err) = nfbpf_in(
        d.path(),
        &[],
        &["bench", "device", "--cycles", "2000", "--json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["prog"], "builtin:l2_switch_sume", "{out}");
    assert_eq!(v["cycles"], 2000, "{out}");
    assert!(v["frames_out"].as_u64().unwrap() > 0, "{out}");
}

#[test]
fn agent_bench_default_function_from_another_directory() {
    if !common::clang() {
        return;
    }
    let d = elsewhere();
    let (code, out, err) = nfbpf_in(
        d.path(),
        &[],
        &["agent", "bench", "--clients", "1", "--seconds", "1"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(" 0 unintended answers"), "{out}");
    assert!(out.contains("agent after the run: alive"), "{out}");
    // A built-in program by name, and a name that is not one.
    let (code, out, err) = nfbpf_in(
        d.path(),
        &[],
        &[
            "agent",
            "bench",
            "--source",
            "builtin:nope",
            "--seconds",
            "1",
        ],
    );
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("no built-in program `nope`"), "{err}");
}

#[test]
fn without_the_conformance_suite_the_message_says_where_to_get_it() {
    let d = elsewhere();
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let env = [("NFBPF_CONFORMANCE", empty.as_path())];
    for args in [&["conform"][..], &["bench", "pipeline"][..]] {
        let (code, out, err) = nfbpf_in(d.path(), &env, args);
        assert_ne!(code, 0, "{args:?}: {out}");
        for want in [
            "conformance vectors not found: no tests/ with .data files in ",
            &format!("{}", empty.join("tests").display()),
            "($NFBPF_CONFORMANCE)",
            "bpf_conformance suite by Alan Jowett",
            "commit f558566",
            "`make conformance`",
        ] {
            assert!(err.contains(want), "{args:?}: `{want}` in {err}");
        }
    }
    // The same message from the library function every test calls.
    let e = nfbpf_vm::conformance::suite_dir_from(
        Some(empty.clone().into()),
        Path::new(env!("CARGO_MANIFEST_DIR")),
        nfbpf_vm::conformance::Part::Negative,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no negative/ with .data files"), "{e}");
    assert!(e.contains("make conformance"), "{e}");
}

#[test]
fn top_level_help_names_the_environment() {
    let d = elsewhere();
    let (code, out, _) = nfbpf_in(d.path(), &[], &["--help"]);
    assert_eq!(code, 0);
    let env = out.split_once("Environment:").map(|x| x.1).unwrap_or("");
    for v in [
        "NFBPF_CLANG",
        "clang-19",
        "NFBPF_CONFORMANCE",
        "NFBPF_AGENT ",
        "NFBPF_AGENT_AUTH",
    ] {
        assert!(
            env.contains(v),
            "`{v}` in the Environment section of\n{out}"
        );
    }
}
