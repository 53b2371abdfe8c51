//! The files the project writes, opened by tools that are not ours:
//! tcpdump (pcapng timestamps to the nanosecond, IPv4/TCP/UDP/ICMP
//! checksums), scapy (pcapng interfaces by name), pyvcd (the VCD header)
//! and openapi-spec-validator (docs/openapi.yaml).
//!
//! Without those readers a test prints SKIPPED, unless
//! `NFBPF_REQUIRE_READERS` is set (`make test` sets it, after `make deps`
//! installed them), when it fails.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{nfbpf, program};
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `name` in the test's own temporary directory (removed with it).
fn tmp(d: &tempfile::TempDir, name: &str) -> PathBuf {
    d.path().join(name)
}

/// Is this reader here (`probe` exits 0)? Without it: SKIPPED, or a
/// failure under `NFBPF_REQUIRE_READERS`.
fn reader(what: &str, probe: &mut Command) -> bool {
    let ok = probe.output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("NFBPF_REQUIRE_READERS").is_none(),
            "{what} is required (NFBPF_REQUIRE_READERS is set): run `make deps`"
        );
        eprintln!("SKIPPED: {what} not installed (run `make deps`)");
    }
    ok
}

fn tcpdump() -> bool {
    reader("tcpdump", Command::new("tcpdump").arg("--version"))
}

fn python_module(m: &str) -> bool {
    reader(
        &format!("the Python package providing `{m}`"),
        Command::new("python3").args(["-c", &format!("import {m}")]),
    )
}

/// tcpdump's lines for `file`: timestamps in seconds to the nanosecond,
/// `-vv` header details (checksums verified).
fn tcpdump_lines(file: &Path) -> Vec<String> {
    let o = Command::new("tcpdump")
        .args(["--time-stamp-precision=nano", "-tt", "-nn", "-vv", "-r"])
        .arg(file)
        .output()
        .expect("run tcpdump");
    assert!(
        o.status.success(),
        "tcpdump -r {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    // With -vv a packet may take two lines; timestamps start the first.
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut out: Vec<String> = Vec::new();
    for l in text.lines() {
        if l.starts_with(char::is_whitespace) {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(l.trim());
            }
        } else {
            out.push(l.to_string());
        }
    }
    out
}

/// The timestamp tcpdump prints first on a line, in nanoseconds.
fn ts_ns(line: &str) -> u64 {
    let t = line.split_whitespace().next().unwrap();
    let (s, ns) = t.split_once('.').unwrap();
    assert_eq!(ns.len(), 9, "nanosecond precision: {line}");
    s.parse::<u64>().unwrap() * 1_000_000_000 + ns.parse::<u64>().unwrap()
}

/// (interface name, timestamp ns, frame hex) of every packet, as scapy
/// reads a pcapng.
fn scapy_packets(file: &Path) -> Vec<(String, u64, String)> {
    let script = r#"
import sys
from scapy.utils import PcapNgReader
for p in PcapNgReader(sys.argv[1]):
    # time is exact: scapy keeps the declared resolution (EDecimal).
    print(p.sniffed_on, int(p.time * 10**9), bytes(p).hex())
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .output()
        .expect("run python3");
    assert!(
        o.status.success(),
        "scapy on {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].to_string(), f[1].parse().unwrap(), f[2].to_string())
        })
        .collect()
}

/// `nfbpf traffic` declares nanoseconds: tcpdump shows the arrival times
/// at 10 Gb/s (67.2 ns per 64-byte frame, rounded to the nanosecond), and
/// scapy names the interfaces `port0`, `port1` and reads the same times.
#[test]
fn traffic_timestamps_in_nanoseconds() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !tcpdump() || !python_module("scapy") {
        return;
    }
    let out = tmp(&tmpdir, "traffic.pcapng");
    let (code, _, err) = nfbpf(&[
        "traffic",
        "--out",
        out.to_str().unwrap(),
        "--count",
        "6",
        "--ports",
        "0,1",
        "--proto",
        "mix",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines = tcpdump_lines(&out);
    let times: Vec<u64> = lines.iter().map(|l| ts_ns(l)).collect();
    // Ports 0 and 1 both at 0, 67.2, 134.4 ns.
    assert_eq!(times, [0, 0, 67, 67, 134, 134], "{lines:#?}");
    // Every checksum the generator wrote is right (tcpdump -vv checks IPv4
    // headers, TCP, UDP and ICMP).
    for l in &lines {
        assert!(!l.contains("bad") && !l.contains("incorrect"), "{l}");
    }
    assert!(lines.iter().any(|l| l.contains("udp sum ok")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("(correct)")), "{lines:#?}");
    let pk = scapy_packets(&out);
    let seen: Vec<(&str, u64)> = pk.iter().map(|(i, t, _)| (i.as_str(), *t)).collect();
    assert_eq!(
        seen,
        [
            ("port0", 0),
            ("port1", 0),
            ("port0", 67),
            ("port1", 67),
            ("port0", 134),
            ("port1", 134)
        ]
    );
}

/// Ethernet + IPv4 + UDP with a correct header checksum and TTL `ttl`.
fn frame(dst: [u8; 4], ttl: u8) -> Vec<u8> {
    let mut f = common::ipv4_frame(0x11, 0x22, [10, 9, 8, 7], dst, 17, 53, 64);
    f[22] = ttl;
    f[24..26].copy_from_slice(&[0, 0]);
    let c = !common::ones_sum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

const ROUTES: &str = "routes 10.1.0.0/16 hex:02000000001602000000500101000000\n\
                      routes 10.0.0.0/8  hex:02000000000802000000500100000000\n\
                      routes 192.168.0.0/16 hex:02000000001602000000500101000000\n\
                      tx_ports 0 2\ntx_ports 1 3\n";

/// `nfbpf run --out` on the router: each packet on its port's interface
/// (`port3`, `port2`, `host`), the dropped one (TTL 1) absent, timestamps
/// the input's (a classic pcap in microseconds) plus the pipeline's
/// modelled latency (cycles at 5 ns), and the rewritten packets' IPv4
/// checksums (TTL decremented by the program) valid for tcpdump.
#[test]
fn run_out_has_ports_times_and_checksums() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() || !tcpdump() || !python_module("scapy") {
        return;
    }
    let pcap = tmp(&tmpdir, "in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    let inputs = [
        ([10, 1, 2, 3], 64),   // port 3
        ([10, 0, 9, 9], 64),   // port 2
        ([192, 0, 2, 1], 64),  // no route: host
        ([10, 1, 2, 3], 1),    // TTL 1: dropped
        ([10, 0, 0, 1], 0x80), // port 2
    ];
    for (i, (dst, ttl)) in inputs.iter().enumerate() {
        let f = frame(*dst, *ttl);
        let ts = Duration::from_micros(1_000_000 + 7 * i as u64);
        w.write_packet(&PcapPacket::new(ts, f.len() as u32, &f))
            .unwrap();
    }
    drop(w);
    let rules = tmp(&tmpdir, "rules.txt");
    std::fs::write(&rules, ROUTES).unwrap();
    for engine in ["interp", "pipeline"] {
        let out = tmp(&tmpdir, &format!("out-{engine}.pcapng"));
        let (code, stdout, err) = nfbpf(&[
            "run",
            program("router.c").to_str().unwrap(),
            "--pcap",
            pcap.to_str().unwrap(),
            "-r",
            rules.to_str().unwrap(),
            "--engine",
            engine,
            "--json",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let rows: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let acts: Vec<&str> = rows[..5]
            .iter()
            .map(|o| o["action"].as_str().unwrap())
            .collect();
        assert_eq!(acts, ["redirect", "redirect", "pass", "drop", "redirect"]);
        // Written: packets 0, 1, 2, 4 at input time + cycles * 5 ns.
        let want: Vec<(String, u64)> = [(0usize, "port3"), (1, "port2"), (2, "host"), (4, "port2")]
            .iter()
            .map(|&(i, ifname)| {
                let cycles = rows[i]["cycles"].as_u64().unwrap_or(0);
                if engine == "pipeline" {
                    assert!(cycles > 0, "{}", rows[i]);
                }
                let t = 1_000_000_000 + 7_000 * i as u64 + 5 * cycles;
                (ifname.to_string(), t)
            })
            .collect();
        let pk = scapy_packets(&out);
        let got: Vec<(String, u64)> = pk.iter().map(|(i, t, _)| (i.clone(), *t)).collect();
        assert_eq!(got, want, "--engine {engine}");
        let lines = tcpdump_lines(&out);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        for (l, (_, t)) in lines.iter().zip(&want) {
            assert_eq!(ts_ns(l), *t, "{l}");
            assert!(!l.contains("bad cksum"), "--engine {engine}: {l}");
        }
        // The routed ones left with TTL - 1.
        assert!(
            lines[0].contains("ttl 63") && lines[3].contains("ttl 127"),
            "{lines:#?}"
        );
    }
}

/// Generated TCP, UDP and ICMP through the router: every rewritten packet
/// keeps correct IPv4 and transport checksums for tcpdump.
#[test]
fn rewritten_packets_keep_valid_checksums() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() || !tcpdump() {
        return;
    }
    let input = tmp(&tmpdir, "mix.pcapng");
    let (code, _, err) = nfbpf(&[
        "traffic",
        "--out",
        input.to_str().unwrap(),
        "--count",
        "60",
        "--ports",
        "0,1,2,3",
        "--proto",
        "mix",
        "--size",
        "imix",
    ]);
    assert_eq!(code, 0, "{err}");
    let rules = tmp(&tmpdir, "rules-mix.txt");
    std::fs::write(&rules, ROUTES).unwrap();
    let out = tmp(&tmpdir, "mix-out.pcapng");
    let (code, _, err) = nfbpf(&[
        "run",
        program("router.c").to_str().unwrap(),
        "--pcap",
        input.to_str().unwrap(),
        "-r",
        rules.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let lines = tcpdump_lines(&out);
    assert_eq!(lines.len(), 60, "{lines:#?}");
    for l in &lines {
        assert!(l.contains("ttl 63"), "routed: {l}");
        assert!(!l.contains("bad") && !l.contains("incorrect"), "{l}");
    }
    for (proto, ok) in [
        ("UDP", "udp sum ok"),
        ("TCP", "(correct)"),
        ("ICMP", "echo request"),
    ] {
        assert!(
            lines.iter().any(|l| l.contains(proto) && l.contains(ok)),
            "{proto}: {lines:#?}"
        );
    }
}

/// The VCD of `nfbpf trace --vcd`: a legal timescale (1, 10 or 100 of a
/// unit) read by pyvcd, times in ns at 5 ns per cycle.
#[test]
fn vcd_timescale_is_legal() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !python_module("vcd") {
        return;
    }
    let vcd = tmp(&tmpdir, "trace.vcd");
    let parser = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/parser.s");
    let mem: String = frame([10, 1, 2, 3], 64)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (code, _, err) = nfbpf(&[
        "trace",
        parser.to_str().unwrap(),
        "--mem",
        &mem,
        "--vcd",
        vcd.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let script = r#"
import sys
from vcd.reader import tokenize, TokenKind
times = []
with open(sys.argv[1], 'rb') as f:
    for t in tokenize(f):
        if t.kind is TokenKind.TIMESCALE:
            m, u = t.timescale.magnitude, t.timescale.unit
            print("timescale", getattr(m, "value", m), getattr(u, "value", u))
        elif t.kind is TokenKind.COMMENT:
            print("comment", t.comment)
        elif t.kind is TokenKind.CHANGE_TIME:
            times.append(t.time_change)
print("times", len(times), *times[:4])
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(&vcd)
        .output()
        .expect("run python3");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "pyvcd: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("timescale 1 ns"), "{text}");
    assert!(text.contains("one cycle is 5 ns"), "{text}");
    let times: Vec<u64> = text
        .lines()
        .find_map(|l| l.strip_prefix("times "))
        .unwrap()
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(times[0] > 3, "{text}");
    assert_eq!(&times[1..], [0, 5, 10, 15], "{text}");
    // The header as text, too: only 1, 10 or 100 of s/ms/us/ns/ps/fs.
    let head = std::fs::read_to_string(&vcd).unwrap();
    let ts = head
        .split("$timescale")
        .nth(1)
        .and_then(|r| r.split("$end").next())
        .unwrap()
        .split_whitespace()
        .collect::<String>();
    let (num, unit) = ts.split_at(ts.find(|c: char| c.is_alphabetic()).unwrap());
    assert!(["1", "10", "100"].contains(&num), "{ts}");
    assert!(["s", "ms", "us", "ns", "ps", "fs"].contains(&unit), "{ts}");
}

/// docs/openapi.yaml is a valid OpenAPI document for a real validator.
#[test]
fn openapi_document_validates() {
    if !python_module("openapi_spec_validator") {
        return;
    }
    let doc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.yaml");
    let o = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&doc)
        .output()
        .expect("run python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "openapi-spec-validator: {text}");
    assert!(text.contains("OK"), "{text}");
}
