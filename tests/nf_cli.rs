//! `nfbpf run PROG --pcap ...` as users run it: JSON per packet and a
//! summary, both engines agreeing, rules pre-loading maps, `--out` pcap.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::nfbpf;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::path::PathBuf;
use std::time::Duration;

mod common;

fn frame(dst: [u8; 4], dport: u16) -> Vec<u8> {
    common::ipv4_frame(1, 2, [10, 0, 0, 1], dst, 17, dport, 64)
}

fn program(name: &str) -> String {
    common::program(name).display().to_string()
}

/// `name` in the test's own temporary directory (removed with it).
fn tmp(d: &tempfile::TempDir, name: &str) -> PathBuf {
    d.path().join(name)
}

#[test]
fn router_over_a_pcap_on_both_engines() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let pcap = tmp(&tmpdir, "in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    for (i, dst) in [[10, 1, 2, 3], [10, 0, 9, 9], [192, 168, 1, 1]]
        .iter()
        .enumerate()
    {
        let f = frame(*dst, 53);
        w.write_packet(&PcapPacket::new(Duration::from_micros(i as u64), 64, &f))
            .unwrap();
    }
    drop(w);
    let rules = tmp(&tmpdir, "rules.txt");
    std::fs::write(
        &rules,
        "# prefix -> dmac smac port-slot\n\
         routes 10.1.0.0/16 hex:02000000001602000000500101000000\n\
         routes 10.0.0.0/8  hex:02000000000802000000500100000000\n\
         tx_ports 0 2\ntx_ports 1 3\n",
    )
    .unwrap();
    let out = tmp(&tmpdir, "out.pcapng");
    let mut results = Vec::new();
    for engine in ["interp", "pipeline"] {
        let (code, stdout, stderr) = nfbpf(&[
            "run",
            &program("router.c"),
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
        assert_eq!(code, 0, "{stderr}");
        let lines: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        let acts: Vec<(String, serde_json::Value, u64)> = lines[..3]
            .iter()
            .map(|o| {
                (
                    o["action"].as_str().unwrap().to_string(),
                    o["port"].clone(),
                    o["instructions"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(acts[0].0, "redirect");
        assert_eq!(acts[0].1, 3);
        assert_eq!(acts[1].1, 2);
        assert_eq!(acts[2].0, "pass");
        assert_eq!(lines[2]["port"], serde_json::Value::Null);
        assert_eq!(lines[3]["summary"], true);
        assert_eq!(lines[3]["redirect"], 2);
        if engine == "pipeline" {
            assert!(lines[0]["cycles"].as_u64().unwrap() >= 66);
        }
        results.push(acts);
    }
    assert_eq!(results[0], results[1], "engines differ");
    // The rewritten packets: TTL 63, destination MAC of the /16 route.
    // (pcapng: the two redirected packets on port 3's and 2's interfaces,
    // the passed one on the host's.)
    let got = nfbpf_sim::capture::read_all(&out).unwrap();
    let p = &got[0];
    assert_eq!(p.data[5], 0x16);
    assert_eq!(p.data[22], 63);
    let ifaces: Vec<Option<u32>> = got.iter().map(|p| p.iface).collect();
    assert_eq!(ifaces, [Some(3), Some(2), Some(4)]);

    // A bad rules line names the line, the map and the cause.
    std::fs::write(&rules, "routes 10.1.0.0/16 hex:00\n").unwrap();
    let (code, _, stderr) = nfbpf(&[
        "run",
        &program("router.c"),
        "--pcap",
        pcap.to_str().unwrap(),
        "-r",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(code, 5, "refused");
    assert!(
        stderr.contains("rules line 1") && stderr.contains("has 1 bytes, the map's value is 16"),
        "{stderr}"
    );
    std::fs::write(&rules, "nosuch 1 2\n").unwrap();
    let (_, _, stderr) = nfbpf(&[
        "run",
        &program("router.c"),
        "--pcap",
        pcap.to_str().unwrap(),
        "-r",
        rules.to_str().unwrap(),
    ]);
    assert!(
        stderr.contains("no map `nosuch` (the program has: routes, tx_ports)"),
        "{stderr}"
    );
    // Not a pcap.
    let (code, _, stderr) = nfbpf(&[
        "run",
        &program("router.c"),
        "--pcap",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(code, 5, "refused");
    assert!(stderr.contains("not a pcap or pcapng file"), "{stderr}");
}

/// The eight functions (four, each for XDP and SUME) over one crafted pcap
/// on both engines: the expected actions, identical between engines.
#[test]
fn eight_functions_over_a_pcap_on_both_engines() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let pcap = tmp(&tmpdir, "eight.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    let frames = [
        common::ipv4_frame(1, 2, [10, 0, 0, 1], [10, 1, 2, 3], 17, 53, 64),
        common::ipv4_frame(1, 2, [10, 0, 0, 1], [192, 168, 1, 1], 6, 80, 128),
        common::arp(),
    ];
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(
            Duration::from_micros(i as u64),
            f.len() as u32,
            f,
        ))
        .unwrap();
    }
    drop(w);
    // (function, per packet (action, port))
    type Expected<'a> = (&'a str, [(&'a str, Option<u64>); 3]);
    let expect: [Expected; 8] = [
        ("wire", [("redirect", Some(1)); 3]),
        ("wire_sume", [("port", Some(1)); 3]),
        ("l2_switch", [("pass", None); 3]),
        ("l2_switch_sume", [("flood", None); 3]),
        ("router", [("pass", None); 3]),
        ("router_sume", [("controller", None); 3]),
        ("ddos", [("pass", None); 3]),
        ("ddos_sume", [("port", Some(1)); 3]),
    ];
    for (name, want) in expect {
        let mut per_engine = Vec::new();
        for engine in ["interp", "pipeline"] {
            let (code, out, err) = nfbpf(&[
                "run",
                &program(&format!("{name}.c")),
                "--pcap",
                pcap.to_str().unwrap(),
                "--engine",
                engine,
                "--json",
            ]);
            assert_eq!(code, 0, "{name}: {err}");
            let rows: Vec<serde_json::Value> = out
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let got: Vec<(String, Option<u64>, u64, u64)> = rows[..3]
                .iter()
                .map(|o| {
                    (
                        o["action"].as_str().unwrap().to_string(),
                        o["port"].as_u64(),
                        o["r0"].as_u64().unwrap(),
                        o["instructions"].as_u64().unwrap(),
                    )
                })
                .collect();
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert_eq!((g.0.as_str(), g.1), w, "{name} on {engine}, packet {i}");
            }
            per_engine.push(got);
        }
        assert_eq!(per_engine[0], per_engine[1], "{name}: engines differ");
    }
}

/// `nfbpf traffic` writes pcapng with one interface per port; `nfbpf run`
/// gives each packet its port from it.
#[test]
fn generated_traffic_carries_ports() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let out = tmp(&tmpdir, "gen.pcapng");
    let (code, text, err) = nfbpf(&[
        "traffic",
        "--out",
        out.to_str().unwrap(),
        "--count",
        "200",
        "--ports",
        "0,1,2,3",
        "--size",
        "imix",
        "--proto",
        "mix",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("200 frames"), "{text}");
    let (code, text, err) = nfbpf(&[
        "run",
        &program("wire.c"),
        "--pcap",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut ports = std::collections::BTreeSet::new();
    for o in &rows[..200] {
        let inp = o["in_port"].as_u64().unwrap();
        ports.insert(inp);
        assert_eq!(o["port"].as_u64(), Some(inp ^ 1), "{o}");
    }
    assert_eq!(ports.len(), 4);
    let (code, _, err) = nfbpf(&["traffic", "--out", out.to_str().unwrap(), "--size", "9000"]);
    assert_eq!(code, 5, "refused");
    assert!(err.contains("frame size 9000"), "{err}");
}

/// `bpf_printk` lines follow their packet's line (text and JSON), drained
/// from the device's trace FIFO after each packet, and the summary counts
/// them.
#[test]
fn trace_lines_follow_their_packet() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let src = tmp(&tmpdir, "pk.c");
    std::fs::write(
        &src,
        "#include \"nf_common.h\"\n\
         SEC(\"xdp\")\n\
         int pk(struct xdp_md *ctx)\n\
         {\n\
         \tbpf_printk(\"len %d in %u\", (int)(ctx->data_end - ctx->data), ctx->ingress_ifindex);\n\
         \tbpf_printk(\"%s|%5x\", \"ab\", 255);\n\
         \treturn XDP_PASS;\n\
         }\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    let pcap = tmp(&tmpdir, "in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    for (i, len) in [64usize, 90].iter().enumerate() {
        let f = common::ipv4_frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 53, *len);
        w.write_packet(&PcapPacket::new(
            Duration::from_micros(i as u64),
            *len as u32,
            &f,
        ))
        .unwrap();
    }
    drop(w);
    let inc = common::program("include").display().to_string();
    let (code, stdout, stderr) = nfbpf(&[
        "run",
        src.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "-I",
        &inc,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[1].contains("  trace engine 0 cycle "), "{stdout}");
    assert!(lines[1].ends_with("  len 64 in 0"), "{stdout}");
    assert!(lines[2].ends_with("  ab|   ff"), "{stdout}");
    assert!(
        lines[4].contains("trace") && lines[4].ends_with("len 90 in 0"),
        "{stdout}"
    );
    assert!(lines[6].contains("4 trace lines"), "{stdout}");
    let (code, stdout, stderr) = nfbpf(&[
        "run",
        src.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "-I",
        &inc,
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(v[1]["trace"], "len 64 in 0");
    assert_eq!(v[1]["packet"], 0);
    assert_eq!(v[6]["traces"], 4);
}
