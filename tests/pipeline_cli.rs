//! The pipeline model through the CLI: `nfbpf trace`, `nfbpf fuzz-diff` and
//! `nfbpf conform --engine pipeline`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
use std::path::PathBuf;
use std::process::Command;

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

/// `text` written as `name` in the test's own temporary directory.
fn program(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn trace_prints_retires_diagram_stats_and_vcd() {
    let tmpdir = tempfile::tempdir().unwrap();
    let p = program(
        &tmpdir,
        "t.s",
        "ldxdw %r3, [%r1+32]\nadd %r3, 1\nmul %r3, 3\nja +1\nmov %r0, 1\nlddw %r0, 0x123456789\nexit\n",
    );
    let vcd = p.with_extension("vcd");
    let mem = vec!["01"; 64].join(" ");
    let (code, out) = nfbpf(&[
        "trace",
        p.to_str().unwrap(),
        "--mem",
        &mem,
        "--pipeline-diagram",
        "--stats",
        "--vcd",
        vcd.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    // retire records: the loaded word 1 arrives at cycle 6 (10 Gb/s)
    assert!(out.starts_with("0\t7\t0\t0\t"), "{out}");
    assert!(out.contains("FDXMmmmW"), "{out}");
    assert!(out.contains("stall fifo_wait 3"), "{out}");
    assert!(out.contains("stall mul 3"), "{out}");
    assert!(out.contains("r0 = 0x123456789"), "{out}");
    let v = std::fs::read_to_string(&vcd).unwrap();
    assert!(v.contains("$enddefinitions"));
}

#[test]
fn fuzz_diff_finds_no_counterexample() {
    let (code, out) = nfbpf(&["fuzz-diff", "--cases", "500", "--seed", "7"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("500 cases agree"), "{out}");
}

#[test]
fn conformance_suite_passes_on_the_pipeline() {
    let dir = nfbpf_vm::conformance::suite_dir(nfbpf_vm::conformance::Part::Tests)
        .unwrap_or_else(|e| panic!("{e}"));
    let n = nfbpf_vm::conformance::collect(std::slice::from_ref(&dir))
        .unwrap()
        .len();
    assert!(n >= 225, "{}: {n} tests", dir.display());
    let (code, out) = nfbpf(&["conform", dir.to_str().unwrap(), "--engine", "pipeline"]);
    let want = format!("{n} passed, 0 failed");
    assert_eq!(out.lines().last(), Some(want.as_str()), "{out}");
    assert_eq!(code, 0);
}

#[test]
fn trace_queues_the_packets_of_a_pcap() {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let tmpdir = tempfile::tempdir().unwrap();
    let pcap = tmpdir.path().join("two.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).expect("create")).expect("pcap");
    for len in [20u8, 40] {
        let f: Vec<u8> = (0..len).collect();
        w.write_packet(&PcapPacket::new(std::time::Duration::ZERO, len as u32, &f))
            .expect("write");
    }
    drop(w);
    // r0 = the packet's length (r2) plus its last byte.
    let prog = program(
        &tmpdir,
        "len.s",
        "mov %r0, %r2\nmov %r3, %r1\nadd %r3, %r2\nldxb %r4, [%r3-1]\nadd %r0, %r4\nexit\n",
    );
    let (code, out) = nfbpf(&[
        "trace",
        prog.to_str().expect("utf-8"),
        "--pcap",
        pcap.to_str().expect("utf-8"),
        "--stats",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("packet 0: r0 = 0x27,"), "{out}"); // 20 + 19
    assert!(out.contains("packet 1: r0 = 0x4f,"), "{out}"); // 40 + 39
    assert!(out.contains("packets 2"), "{out}");
}

#[test]
fn trace_on_the_rtl_equals_the_model_and_cosim_agrees() {
    let tmpdir = tempfile::tempdir().unwrap();
    let p = program(
        &tmpdir,
        "rtl.s",
        "ldxdw %r3, [%r1+32]\nadd %r3, 1\nmul %r3, 3\nja +1\nmov %r0, 1\nlddw %r0, 0x123456789\nexit\n",
    );
    let mem = vec!["01"; 64].join(" ");
    let args = ["trace", p.to_str().unwrap(), "--mem", &mem, "--cycles"];
    let (c1, model) = nfbpf(&args);
    let (c2, rtl) = nfbpf(&[&args[..], &["--rtl"]].concat());
    assert_eq!((c1, c2), (0, 0), "{model}\n{rtl}");
    assert_eq!(model, rtl);
    let (code, out) = nfbpf(&["trace", p.to_str().unwrap(), "--mem", &mem, "--cosim"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("model and RTL cycle-exact"), "{out}");
}
