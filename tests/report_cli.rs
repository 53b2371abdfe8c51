//! `nfbpf report --quick`: the files it writes, the fields of summary.json,
//! and figures that follow from the traffic (Wire keeps line rate with four
//! engines, the program swap and the reloads lose nothing; the published
//! system's one-at-a-time map unit serves less than the pipelined one; with the egress
//! stream throttled to half its clocks Wire gets what the stream carries
//! and loses the rest at the input); bad arguments are named.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{clang, nfbpf, program};

#[test]
fn quick_report_files_and_fields() {
    if !clang() {
        return;
    }
    let tmpdir = tempfile::tempdir().unwrap();
    let out = tmpdir.path().join("report");
    let progs = program("");
    let (code, stdout, stderr) = nfbpf(&[
        "report",
        "--quick",
        "--out",
        out.to_str().unwrap(),
        "--programs",
        progs.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("| function | frame B | engines |"),
        "{stdout}"
    );
    for stem in [
        "throughput_vs_size",
        "mpps_vs_size",
        "latency_vs_size",
        "engine_scaling",
        "serverless_switch",
        "zero_downtime",
    ] {
        for ext in ["svg", "png"] {
            let p = out.join(format!("{stem}.{ext}"));
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            assert!(len > 1000, "{} missing or empty", p.display());
        }
    }
    let png = std::fs::read(out.join("engine_scaling.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("## Targets"), "{md}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let recs = j["records"].as_array().unwrap();
    // 4 functions x (3 sizes at 4 engines + 3 more engine counts at 64 B),
    // and the two hXDP baselines at 64 B.
    assert_eq!(recs.len(), 4 * (3 + 3) + 2, "{recs:?}");
    for r in recs {
        for k in [
            "function",
            "frame_bytes",
            "engines",
            "offered_mpps",
            "mpps",
            "gbps",
            "line_rate_pct",
            "loss",
            "latency_p50_ns",
            "latency_p99_ns",
            "cpi",
        ] {
            assert!(r.get(k).is_some(), "{k} missing in {r}");
        }
        let loss = r["loss"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&loss), "{r}");
        // Every offered frame is accepted or lost.
        let (o, a, d) = (
            r["offered"].as_u64().unwrap(),
            r["accepted"].as_u64().unwrap(),
            r["fifo_drops"].as_u64().unwrap(),
        );
        assert_eq!(o, a + d, "{r}");
    }
    let find = |f: &str, b: u64, e: u64| {
        recs.iter()
            .find(|r| r["function"] == f && r["frame_bytes"] == b && r["engines"] == e)
            .unwrap()
    };
    // 64-byte frames at 10 Gb/s on 4 ports: 4 x 14.88 Mpps offered.
    let w = find("wire", 64, 4);
    assert!(
        (w["offered_mpps"].as_f64().unwrap() - 59.52).abs() < 0.1,
        "{w}"
    );
    assert_eq!(w["loss"].as_f64().unwrap(), 0.0, "{w}");
    assert!(w["line_rate_pct"].as_f64().unwrap() > 99.5, "{w}");
    // One engine serves port 0 only: three quarters of the frames are lost.
    let w1 = find("wire", 64, 1);
    assert!((w1["loss"].as_f64().unwrap() - 0.75).abs() < 0.01, "{w1}");
    // The published system's map unit (one operation at a time) at 64 B
    // for each engine count: Wire (no map) the same; with 8 engines the L2
    // switch and DDoS (about 22 unit clocks a packet there) are bound by
    // that unit and get less than with the pipelined one; the router (10)
    // is not yet, and gets no more.
    let publ = j["published"].as_array().unwrap();
    assert_eq!(publ.len(), 4 * 4, "{publ:?}");
    assert_eq!(j["published_scaling"].as_array().unwrap().len(), 4);
    let pct = |r: &serde_json::Value| r["line_rate_pct"].as_f64().unwrap();
    for f in ["wire", "l2_switch", "router", "ddos"] {
        let p = publ
            .iter()
            .find(|r| r["function"] == f && r["engines"] == 8)
            .unwrap();
        let ours = find(f, 64, 8);
        match f {
            "wire" => assert_eq!(pct(p), pct(ours), "{p}"),
            "router" => assert!(pct(p) <= pct(ours), "{f}: published {p}, pipelined {ours}"),
            _ => assert!(
                pct(p) + 5.0 < pct(ours),
                "{f}: published {p}, pipelined {ours}"
            ),
        }
    }
    assert!(md.contains("one operation at a time"), "{md}");
    // The same 64-byte runs with the functions rewritten at load time
    // (`--optimize`): fewer instructions a packet, so the three map
    // functions serve more with 8 engines; Wire is at line rate either way.
    let opt = j["optimized"].as_array().unwrap();
    assert_eq!(opt.len(), 4 * 4, "{opt:?}");
    assert_eq!(j["optimized_scaling"].as_array().unwrap().len(), 4);
    for f in ["wire", "l2_switch", "router", "ddos"] {
        let o = opt
            .iter()
            .find(|r| r["function"] == f && r["engines"] == 8)
            .unwrap();
        let ours = find(f, 64, 8);
        if f == "wire" {
            assert_eq!(pct(o), pct(ours), "{o}");
        } else {
            assert!(
                pct(o) > pct(ours) + 5.0,
                "{f}: optimized {o}, as emitted {ours}"
            );
        }
    }
    assert!(md.contains("The same with `--optimize`"), "{md}");
    // Light load (1 Gb/s per port): every function keeps up, nothing lost.
    let light = j["light_load"].as_array().unwrap();
    assert_eq!(light.len(), 4);
    for r in light {
        assert_eq!(r["loss"].as_f64().unwrap(), 0.0, "{r}");
        assert!(
            (r["line_rate_pct"].as_f64().unwrap() - 10.0).abs() < 0.5,
            "{r}"
        );
    }
    // The output queues throttled (512 B at line rate, egress tready at
    // 80 % and 50 % random and 50 % in 64-clock bursts), by function.
    assert!(md.contains("## Output queues throttled"), "{md}");
    let thr = j["throttled"].as_array().unwrap();
    assert_eq!(thr.len(), 4 * 3, "{thr:?}");
    for r in thr {
        assert_eq!(r["frame_bytes"], 512, "{r}");
        let (o, a, d) = (
            r["offered"].as_u64().unwrap(),
            r["accepted"].as_u64().unwrap(),
            r["fifo_drops"].as_u64().unwrap(),
        );
        assert_eq!(o, a + d, "{r}");
    }
    let throttled = |f: &str, pattern: &str| {
        thr.iter()
            .find(|r| r["function"] == f && r["throttle"]["name"] == pattern)
            .unwrap()
    };
    let w512 = find("wire", 512, 4);
    let p99 = |r: &serde_json::Value| r["latency_p99_ns"].as_f64().unwrap();
    // Wire keeps line rate unthrottled; at 80 % tready it still loses
    // nothing, but its packets wait for the stream.
    assert_eq!(w512["loss"].as_f64().unwrap(), 0.0, "{w512}");
    let w80 = throttled("wire", "random 80 %");
    assert_eq!(w80["loss"].as_f64().unwrap(), 0.0, "{w80}");
    assert!(p99(w80) > p99(w512), "{w80} {w512}");
    // At 50 % the stream takes 100 M beats/s, 16 a frame: 6.25 Mpps of the
    // 9.40 offered; the rest is lost at the input, FIFO_MD full.
    for pattern in ["random 50 %", "bursty 50 %, 64-clock blocks"] {
        let w = throttled("wire", pattern);
        let mpps = w["mpps"].as_f64().unwrap();
        assert!((mpps - 6.25).abs() < 0.3, "{w}");
        assert!(w["loss"].as_f64().unwrap() > 0.25, "{w}");
        assert!(p99(w) > 5.0 * p99(w512), "{w}");
    }
    let scen = j["scenarios"].as_array().unwrap();
    assert_eq!(scen.len(), 2);
    for s in scen {
        assert_eq!(s["lossless"], true, "{s}");
        assert!(s["offered"].as_u64().unwrap() > 500, "{s}");
    }
    let sw = scen
        .iter()
        .find(|s| s["name"] == "serverless_switch")
        .unwrap();
    // Both programs ran: packets out of port 1 (P1), then out of port 0 (P2).
    assert!(sw["tx"][0].as_u64().unwrap() > 100 && sw["tx"][1].as_u64().unwrap() > 100);
    let _ = std::fs::remove_dir_all(&out);
}

/// `--optimize` loads the functions with the loader's rewrite: the summary
/// says so, and the router (byte-by-byte copies and loads in clang's code)
/// serves more packets per engine than as clang emitted it.
#[test]
fn optimize_lowers_the_router_s_clocks_per_packet() {
    if !clang() {
        return;
    }
    let tmpdir = tempfile::tempdir().unwrap();
    let progs = program("");
    let capacity = |optimize: bool| {
        let out = tmpdir.path().join(format!("r{optimize}"));
        let mut args = vec![
            "report",
            "--quick",
            "--out",
            out.to_str().unwrap(),
            "--programs",
            progs.to_str().unwrap(),
        ];
        if optimize {
            args.push("--optimize");
        }
        let (code, stdout, stderr) = nfbpf(&args);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout.contains("(--optimize)"), optimize, "{stdout}");
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(j["optimize"], optimize);
        j["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["function"] == "router" && r["frame_bytes"] == 64 && r["engines"] == 4)
            .and_then(|r| r["engine_capacity_mpps"].as_f64())
            .unwrap()
    };
    let (before, after) = (capacity(false), capacity(true));
    assert!(
        after > before * 1.1,
        "router per engine: {before} -> {after} Mpps"
    );
}

#[test]
fn bad_arguments_are_named() {
    let (code, _, stderr) = nfbpf(&["report", "--quick", "--engines", "17"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--engines 17"), "{stderr}");
    let (code, _, stderr) = nfbpf(&["report", "--quick", "--programs", "/nonexistent-dir"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("wire_sume") && stderr.contains("/nonexistent-dir"),
        "{stderr}"
    );
}
