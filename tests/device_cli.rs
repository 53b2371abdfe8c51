//! A simulated board as users run it: `nfbpf device serve` in one process,
//! `nfbpf device load` and `status` in others, over the register socket.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::nfbpf;
use std::time::{Duration, Instant};

mod common;

#[test]
fn serve_load_status() {
    if !common::clang() {
        return;
    }
    let _server = common::DeviceServer::start("devcli", &["--traffic", "0,1:64:10"]);
    let target = _server.target();
    let wire = concat!(env!("CARGO_MANIFEST_DIR"), "/programs/wire_sume.c");
    let (code, out, err) = nfbpf(&["device", "load", wire, "-t", &target]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("read back and swapped in (bank 1)"), "{out}");
    // Traffic flows: engine 0 (port 0) sends packets out after the load.
    let t0 = Instant::now();
    wait_for_packets_out(&target, t0, 30);
    // Errors name the target and the cause.
    let (code, _, err) = nfbpf(&["status", "-t", "sim:/nonexistent/x.sock"]);
    assert_eq!(code, 4, "I/O: nobody serves the socket");
    assert!(err.contains("cannot connect"), "{err}");
    let (_, _, err) = nfbpf(&["status", "-t", "sume:nfbpfnone9"]);
    assert!(err.contains("no network interface `nfbpfnone9`"), "{err}");
    let (_, _, err) = nfbpf(&["status", "-t", "nf0"]);
    assert!(err.contains("invalid target `nf0`"), "{err}");
}

#[test]
fn load_with_budget_sets_the_function_budget() {
    if !common::clang() {
        return;
    }
    let _server = common::DeviceServer::start("budget", &[]);
    let target = _server.target();
    let wire = common::program("wire_sume.c");
    let wire = wire.to_str().unwrap();
    let run = |args: &[&str]| {
        let (code, out, err) = nfbpf(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let per_packet = |n: u64| format!("budget {n} instructions per packet");
    let out = run(&["load", wire, "-t", &target, "--budget", "100"]);
    assert!(out.contains(&per_packet(100)), "{out}");
    let out = run(&["status", "-t", &target]);
    assert!(out.contains(&per_packet(100)), "{out}");
    // Without --budget: the device's default again.
    let out = run(&["load", wire, "-t", &target]);
    let default = per_packet(nfbpf_vm::contract::DEVICE_INSN_BUDGET);
    assert!(out.contains(&default), "{out}");
    let out = run(&["status", "-t", &target]);
    assert!(out.contains(&default), "{out}");
    // The dry run shows the BUDGET write in the register sequence.
    let out = run(&["load", wire, "--dry-run", "--budget", "64"]);
    assert!(out.contains("W 0x0174 <- 0x00000040  BUDGET"), "{out}");
}

#[test]
fn maps_of_a_loaded_function() {
    if !common::clang() {
        return;
    }
    let _server = common::DeviceServer::start("maps", &[]);
    let target = _server.target();
    let prog = common::program("flow_router.c");
    let p = prog.to_str().unwrap();
    let t = target.as_str();
    assert_eq!(nfbpf(&["load", p, "-t", t]).0, 0);
    for (map, key, value) in [
        ("routes", "10.1.0.0/16", "3"),
        ("routes", "10.2.0.0/16", "4"),
        ("config", "0", "hex:0100000007000000"),
    ] {
        let (code, _, err) = nfbpf(&["map", "update", map, key, value, "--prog", p, "-t", t]);
        assert_eq!(code, 0, "{err}");
    }
    let (_, out, _) = nfbpf(&["map", "dump", "routes", "--prog", p, "-t", t]);
    assert_eq!(
        out,
        "routes 10.1.0.0/16 hex:03000000\nroutes 10.2.0.0/16 hex:04000000\n"
    );
    let (code, out, err) = nfbpf(&[
        "map",
        "lookup",
        "routes",
        "10.2.0.0/16",
        "--prog",
        p,
        "-t",
        t,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "routes 10.2.0.0/16 hex:04000000\n");
    assert_eq!(
        nfbpf(&[
            "map",
            "delete",
            "routes",
            "10.2.0.0/16",
            "--prog",
            p,
            "-t",
            t
        ])
        .0,
        0
    );
    let (code, _, err) = nfbpf(&[
        "map",
        "delete",
        "routes",
        "10.2.0.0/16",
        "--prog",
        p,
        "-t",
        t,
    ]);
    assert_eq!(code, 3, "not found");
    assert!(err.contains("no entry 10.2.0.0/16"), "{err}");
    let (_, out, _) = nfbpf(&["map", "list", "--json", "--prog", p, "-t", t]);
    assert!(
        out.lines()
            .any(|l| l.contains(r#""name":"routes""#) && l.contains(r#""entries":1"#)),
        "{out}"
    );
    let (_, _, err) = nfbpf(&["map", "update", "nosuch", "1", "2", "--prog", p, "-t", t]);
    assert!(err.contains("no map `nosuch`"), "{err}");
    assert_eq!(nfbpf(&["map", "clean", "-t", t]).0, 0);
    // CLEAN empties the map table: the program's map is no longer there.
    let (code, out, err) = nfbpf(&["map", "dump", "routes", "--prog", p, "-t", t]);
    assert_eq!(code, 5, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("the device's row 0 is empty"), "{err}");
}

/// `map` commands read the device's map table back (MAPROWTYPE..
/// MAPROWMAXELEMS): another program's object is refused naming both
/// definitions of the map's row, `map list` shows the device's table
/// without `--prog`, and a map table that no longer matches the running
/// program (another host reloaded its row) is refused too.
#[test]
fn map_commands_read_the_device_map_table() {
    if !common::clang() {
        return;
    }
    let _server = common::DeviceServer::start("maptable", &[]);
    let target = _server.target();
    let t = target.as_str();
    let l2 = common::program("l2_switch_sume.c");
    let router = common::program("router_sume.c");
    let (l2, router) = (l2.to_str().unwrap(), router.to_str().unwrap());
    assert_eq!(nfbpf(&["load", l2, "-t", t]).0, 0);
    let (code, out, err) = nfbpf(&["map", "dump", "routes", "--prog", router, "-t", t]);
    assert_eq!(code, 5, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("map `routes` is LPM_TRIE key 8 value 8 max 64 in")
            && err.contains("the device's row 0 is HASH key 8 value 8 max 64"),
        "{err}"
    );
    // The device's table without the object: no names.
    assert_eq!(
        nfbpf(&[
            "map",
            "update",
            "mac_table",
            "0x0a",
            "3",
            "--prog",
            l2,
            "-t",
            t
        ])
        .0,
        0
    );
    let (code, out, err) = nfbpf(&["map", "list", "-t", t]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![vec!["0", "-", "HASH", "8", "8", "64", "1"]],
        "{out}"
    );
    let (code, out, err) = nfbpf(&["map", "list", "--json", "-t", t]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"row": 0, "type": "hash", "key_size": 8, "value_size": 8,
                           "max_entries": 64, "entries": 1})
    );
    let (code, out, err) = nfbpf(&["map", "list", "--prog", l2, "-t", t]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("mac_table"), "{out}");
    // Row 0 reloaded by another host (as the agent stages maps): the same
    // program, another table.
    let sock = t.strip_prefix("sim:").unwrap();
    let mut bus =
        nfbpf_loader::bus::socket::SocketBus::connect(std::path::Path::new(sock)).unwrap();
    let lpm = nfbpf_loader::load_file(
        std::path::Path::new(router),
        &nfbpf_loader::Options::default(),
    )
    .unwrap();
    nfbpf_loader::device::load_rows(&mut bus, &lpm).unwrap();
    drop(bus);
    let (code, _, err) = nfbpf(&["map", "lookup", "mac_table", "0x0a", "--prog", l2, "-t", t]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("is the program loaded on")
            && err.contains("map `mac_table` is HASH key 8 value 8 max 64 in")
            && err.contains("the device's row 0 is LPM_TRIE key 8 value 8 max 64"),
        "{err}"
    );
}

/// The same commands against the RTL data plane (`--backend rtl`).
#[test]
fn rtl_backend_serves_load_status_and_maps() {
    if !common::clang() {
        return;
    }
    let _server =
        common::DeviceServer::start("rtl", &["--backend", "rtl", "--traffic", "0,1:64:10"]);
    let target = _server.target();
    let t = target.as_str();
    let wire = common::program("wire_sume.c");
    let (code, out, err) = nfbpf(&["load", wire.to_str().unwrap(), "-t", t]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("read back and swapped in (bank 1)"), "{out}");
    let t0 = Instant::now();
    wait_for_packets_out(t, t0, 60);
    // A function with maps: entries written, dumped in key order, listed,
    // looked up and deleted through the RTL map coprocessor's wide-entry
    // window (WIDEOP, WIDESTATUS polled).
    let ddos = common::program("ddos_sume.c");
    let p = ddos.to_str().unwrap();
    assert_eq!(nfbpf(&["load", p, "-t", t]).0, 0);
    for port in ["443", "80"] {
        let (code, _, err) = nfbpf(&["map", "update", "blocked", port, "1", "--prog", p, "-t", t]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, dump, err) = nfbpf(&["map", "dump", "blocked", "--prog", p, "-t", t]);
    assert_eq!(code, 0, "{err}");
    // Keys in order as little-endian numbers (the map has no BTF: hex).
    assert_eq!(dump, "blocked hex:5000 hex:01\nblocked hex:bb01 hex:01\n");
    let (_, out, _) = nfbpf(&["map", "list", "--json", "--prog", p, "-t", t]);
    assert!(
        out.lines()
            .any(|l| l.contains(r#""name":"blocked""#) && l.contains(r#""entries":2"#)),
        "{out}"
    );
    let (code, out, err) = nfbpf(&["map", "lookup", "blocked", "443", "--prog", p, "-t", t]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "blocked hex:bb01 hex:01\n");
    let (code, _, err) = nfbpf(&["map", "lookup", "blocked", "22", "--prog", p, "-t", t]);
    assert!(code != 0 && err.contains("no entry hex:1600"), "{err}");
    assert_eq!(
        nfbpf(&["map", "delete", "blocked", "80", "--prog", p, "-t", t]).0,
        0
    );
    let (code, _, err) = nfbpf(&["map", "delete", "blocked", "80", "--prog", p, "-t", t]);
    assert_eq!(code, 3, "not found: {err}");
    let (_, dump, _) = nfbpf(&["map", "dump", "blocked", "--prog", p, "-t", t]);
    assert_eq!(dump, "blocked hex:bb01 hex:01\n");
    // What the RTL does not do is refused with the reason: an XDP program
    // with maps (the ABI change itself is refused while the traffic has
    // packets inside, as the model refuses it).
    let (code, _, err) = nfbpf(&[
        "load",
        common::program("l2_switch.c").to_str().unwrap(),
        "-t",
        t,
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("does not run in the XDP ABI") || err.contains("in flight"),
        "{err}"
    );
}

/// Poll `status` until engine 0 of `target` (bank 1 active) has sent more
/// than 100 packets, `secs` seconds after `t0` at the latest.
fn wait_for_packets_out(target: &str, t0: Instant, secs: u64) {
    loop {
        let (code, out, err) = nfbpf(&["status", "-t", target]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("4 engines, ABI sume, active bank 1"), "{out}");
        let row: Vec<u64> = out
            .lines()
            .find(|l| l.trim_start().starts_with("0 "))
            .unwrap()
            .split_whitespace()
            .take(3)
            .map(|x| x.parse().unwrap())
            .collect();
        if row[2] > 100 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "no packets out: {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A SUME function printing every packet (helper 6, format and string on
/// the stack).
const PRINTK_SUME: &str = r#"
#include "sume.h"
static long (*const trace_printk)(const char *fmt, u32 fmt_size, ...) = (void *)6;
u64 printk_sume(struct sume_md *md)
{
	char f[] = "in=%u len=%d %s";
	char s[] = "sume";
	trace_printk(f, sizeof(f), md->in_port, md->length, s);
	return 1;
}
"#;

/// `nfbpf device printk`: the function's trace lines, taken out of the
/// board's trace FIFOs through the TRACE* registers while traffic runs
/// (the FIFOs fill and drop between reads: each read frees them).
#[test]
fn printk_reads_the_trace_fifos() {
    if !common::clang() {
        return;
    }
    let server = common::DeviceServer::start("printk", &["--traffic", "0:64:1"]);
    let target = server.target();
    let t = target.as_str();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("printk_sume.c");
    std::fs::write(&src, PRINTK_SUME).unwrap();
    let inc = common::program("include");
    let (code, _, err) = nfbpf(&[
        "device",
        "load",
        src.to_str().unwrap(),
        "-t",
        t,
        "-I",
        inc.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let t0 = Instant::now();
    let mut lines: Vec<String> = Vec::new();
    while lines.len() < 20 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "trace lines after a minute: {lines:?}"
        );
        let (code, out, err) = nfbpf(&["device", "printk", "-t", t]);
        assert_eq!(code, 0, "{err}");
        let last = out.lines().last().unwrap_or_default();
        assert!(
            last.contains(" trace records, ") && last.ends_with(" dropped"),
            "{out}"
        );
        lines.extend(
            out.lines()
                .filter(|l| l.starts_with("engine "))
                .map(String::from),
        );
    }
    assert!(
        lines.iter().all(|l| l.starts_with("engine 0 cycle ")
            && l.contains(" len=64 ")
            && l.ends_with(" sume")),
        "{lines:?}"
    );
    // Oldest call first: the clocks grow.
    let cycles: Vec<u64> = lines
        .iter()
        .map(|l| l.split_whitespace().nth(3).unwrap().parse().unwrap())
        .collect();
    assert!(cycles.windows(2).all(|w| w[0] < w[1]), "{cycles:?}");
    let (code, out, err) = nfbpf(&["device", "printk", "-t", t, "--json"]);
    assert_eq!(code, 0, "{err}");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert!(last["dropped"].as_u64().unwrap() > 0, "{out}");
}
