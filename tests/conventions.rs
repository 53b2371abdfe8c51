//! The command line's conventions: exit codes, `--json`, errors that say
//! what differs, map commands checked against the device, rules in JSON,
//! graceful stops on SIGTERM, completions, man page and version.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::nfbpf;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// `nfbpf device serve` (the model) on a socket in `dir`.
struct Device {
    child: Child,
    target: String,
    sock: std::path::PathBuf,
}

impl Device {
    fn start(dir: &Path, extra: &[&str]) -> Device {
        let sock = dir.join("dev.sock");
        let mut args = vec!["device", "serve", "--socket", sock.to_str().unwrap()];
        args.extend_from_slice(extra);
        let child = Command::new(env!("CARGO_BIN_EXE_nfbpf"))
            .args(&args)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while !sock.exists() {
            assert!(t0.elapsed() < Duration::from_secs(20), "no device");
            std::thread::sleep(Duration::from_millis(20));
        }
        Device {
            child,
            target: format!("sim:{}", sock.display()),
            sock,
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("nfbpf-conventions-")
        .tempdir()
        .unwrap()
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// SIGTERM to a child, then its exit status within `secs`.
#[allow(unsafe_code)]
fn terminate(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    let r = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    let t0 = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "still running {secs} s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exit_codes_follow_the_table() {
    let (code, out, _) = nfbpf(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Exit codes:") && out.contains("3  not found"),
        "{out}"
    );
    // Usage: clap's own errors.
    assert_eq!(nfbpf(&["disasm"]).0, 2);
    assert_eq!(nfbpf(&["status", "-t", "nf0"]).0, 2);
    // Not found.
    let (code, _, err) = nfbpf(&["disasm", "/nonexistent/nfbpf/prog.o"]);
    assert_eq!(code, 3, "{err}");
    // I/O: a device nobody serves.
    let (code, _, err) = nfbpf(&["status", "-t", "sim:/nonexistent/nfbpf.sock"]);
    assert_eq!(code, 4, "{err}");
    // Refused: text is not a program.
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let (code, out, err) = nfbpf(&["disasm", readme]);
    assert_eq!(code, 5, "{out}{err}");
    assert!(
        err.contains("README.md: is UTF-8 text") && err.contains("not a program"),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
    // The answer is no: a failing conformance test.
    let d = tmp();
    let data = d.path().join("wrong.data");
    std::fs::write(&data, "-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n").unwrap();
    let (code, out, _) = nfbpf(&["conform", data.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("0 passed, 1 failed"), "{out}");
}

#[test]
fn json_outputs_speak_one_vocabulary() {
    let d = tmp();
    let ok = d.path().join("ok.data");
    std::fs::write(&ok, "-- asm\nmov %r0, 2\nexit\n-- result\n0x2\n").unwrap();
    let bad = d.path().join("bad.data");
    std::fs::write(&bad, "-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n").unwrap();
    let (code, out, _) = nfbpf(&["conform", "--json", d.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let v = json_lines(&out);
    assert_eq!(v.len(), 3, "{out}");
    assert_eq!(v[0]["verdict"], "fail");
    assert!(v[0]["file"].as_str().unwrap().ends_with("bad.data"));
    assert!(v[0]["cause"].is_string());
    assert_eq!(v[1]["verdict"], "pass");
    assert!(v[1].get("cause").is_none());
    assert_eq!(
        v[2],
        serde_json::json!({"summary": true, "engine": "interp", "passed": 1, "failed": 1})
    );

    let (code, out, _) = nfbpf(&["regs", "--json"]);
    assert_eq!(code, 0);
    let regs = json_lines(&out);
    let id = regs.iter().find(|r| r["name"] == "ID").unwrap();
    assert_eq!(id["offset"], 0);
    assert_eq!(id["address"], u64::from(nfbpf_vm::regs::REG_BASE));
    assert_eq!(id["access"], "ro");
    assert_eq!(regs.len(), nfbpf_vm::regs::REGISTERS.len());

    let prog = d.path().join("p.s");
    std::fs::write(&prog, "mov %r0, 7\nadd %r0, 1\nexit\n").unwrap();
    let (code, out, err) = nfbpf(&["trace", "--json", prog.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let t = json_lines(&out);
    assert_eq!(t.len(), 4, "{out}");
    assert_eq!(t[0]["pc"], 0);
    assert_eq!(t[1]["reg"], serde_json::json!({"reg": 0, "value": 8}));
    assert_eq!(t[3]["summary"], true);
    assert_eq!(t[3]["r0"], 8);
    assert_eq!(t[3]["instructions"], 3);
    assert!(t[3]["cycles"].as_u64().unwrap() > 3);
}

#[test]
fn map_commands_check_the_loaded_program() {
    if !common::clang() {
        return;
    }
    let d = tmp();
    let dev = Device::start(d.path(), &[]);
    let t = dev.target.as_str();
    let l2 = common::program("l2_switch_sume.c");
    let router = common::program("router_sume.c");
    let (l2, router) = (l2.to_str().unwrap(), router.to_str().unwrap());
    // Nothing loaded yet: refused, saying so.
    let (code, _, err) = nfbpf(&["map", "list", "--prog", l2, "-t", t]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("the device holds no program"), "{err}");
    assert_eq!(nfbpf(&["load", l2, "-t", t]).0, 0);
    // Another program's object: refused with what differs, no output.
    let (code, out, err) = nfbpf(&["map", "dump", "routes", "--prog", router, "-t", t]);
    assert_eq!(code, 5, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("router_sume.c is not the program loaded on")
            && err.contains("instruction slots")
            && err.contains("nfbpf load"),
        "{err}"
    );
    // The loaded one: its maps, in the rules' JSON vocabulary.
    let rules = d.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"map": "mac_table", "key": "0x0000020000000a", "value": 3}]"#,
    )
    .unwrap();
    let (code, out, err) = nfbpf(&[
        "map",
        "load",
        rules.to_str().unwrap(),
        "--prog",
        l2,
        "-t",
        t,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1 entries loaded\n");
    let (code, out, err) = nfbpf(&["map", "list", "--json", "--prog", l2, "-t", t]);
    assert_eq!(code, 0, "{err}");
    let maps = json_lines(&out);
    assert_eq!(maps.len(), 1);
    assert_eq!(maps[0]["name"], "mac_table");
    assert_eq!(maps[0]["type"], "hash");
    assert_eq!(maps[0]["row"], 0);
    assert_eq!(maps[0]["entries"], 1);
    let (code, out, _) = nfbpf(&["map", "dump", "mac_table", "--json", "--prog", l2, "-t", t]);
    assert_eq!(code, 0);
    let e = json_lines(&out);
    assert_eq!(
        e,
        vec![
            serde_json::json!({"map": "mac_table", "key": "hex:0a00000002000000", "value": "hex:0300000000000000"})
        ]
    );
    // What dump prints loads back as rules.
    std::fs::write(&rules, format!("[{}]", out.trim())).unwrap();
    let (code, _, err) = nfbpf(&[
        "map",
        "load",
        rules.to_str().unwrap(),
        "--prog",
        l2,
        "-t",
        t,
    ]);
    assert_eq!(code, 0, "{err}");
    // Not found: a map, an entry.
    let (code, _, err) = nfbpf(&["map", "dump", "routes", "--prog", l2, "-t", t]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("no map `routes` (the program has: mac_table)"),
        "{err}"
    );
    let (code, _, err) = nfbpf(&["map", "lookup", "mac_table", "5", "--prog", l2, "-t", t]);
    assert_eq!(code, 3, "{err}");
    // status --json: the agent's words for counters.
    let (code, out, _) = nfbpf(&["status", "--json", "-t", t]);
    assert_eq!(code, 0);
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["abi"], "sume");
    assert_eq!(s["bank"], 1);
    assert_eq!(s["engines"].as_array().unwrap().len(), 4);
    for k in ["pkt_in", "pkt_out", "dropped", "faults"] {
        assert!(s["engines"][0][k].is_u64(), "{k}: {out}");
    }
    for k in ["rx", "rx_dropped", "tx"] {
        assert!(s["ports"][0][k].is_u64(), "{k}: {out}");
    }
}

/// A program whose maps a host placed at other rows (as the agent does) is
/// recognised there, and its map rows are the device's.
#[test]
fn the_loaded_program_is_found_at_its_rows() {
    if !common::clang() {
        return;
    }
    use nfbpf_loader::device as dev;
    let image = nfbpf_loader::load_file(
        &common::program("l2_switch_sume.c"),
        &nfbpf_loader::Options::default(),
    )
    .unwrap();
    let mut d = nfbpf_vm::device::Device::new(nfbpf_vm::device::DeviceConfig::default()).unwrap();
    assert_eq!(dev::match_loaded(&mut d, &image), Err(dev::Mismatch::Empty));
    dev::program(&mut d, &image.at_map_row(5).unwrap()).unwrap();
    let placed = dev::match_loaded(&mut d, &image).unwrap();
    assert_eq!(placed.map_base, 5);
    assert_eq!(placed.map_row(0), 5);
    let router = nfbpf_loader::load_file(
        &common::program("router_sume.c"),
        &nfbpf_loader::Options::default(),
    )
    .unwrap();
    assert!(matches!(
        dev::match_loaded(&mut d, &router),
        Err(dev::Mismatch::Length { .. } | dev::Mismatch::Differs { .. })
    ));
}

#[test]
fn an_abi_change_under_traffic_says_what_differs() {
    if !common::clang() {
        return;
    }
    let d = tmp();
    // The L2 switch serves about 13 % of 64-byte line rate, so its
    // engines' queues stay full and packets are always in flight when the
    // ABI change comes (Wire, which keeps up, leaves the device empty for
    // a few clocks of every frame, and a change landing there is rightly
    // accepted).
    let dev = Device::start(d.path(), &["--traffic", "0,1:64:10"]);
    let l2 = common::program("l2_switch_sume.c");
    assert_eq!(
        nfbpf(&["load", l2.to_str().unwrap(), "-t", &dev.target]).0,
        0
    );
    let wire = common::program("wire.c");
    let (code, _, err) = nfbpf(&["load", wire.to_str().unwrap(), "-t", &dev.target]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("wire.c: the program is for the XDP ABI; the device is in SUME ABI mode"),
        "{err}"
    );
    assert!(err.contains("--abi sume"), "{err}");
}

#[test]
fn the_device_server_stops_on_sigterm() {
    let d = tmp();
    let mut dev = Device::start(d.path(), &[]);
    let status = terminate(&mut dev.child, 10);
    assert_eq!(status.code(), Some(0));
    assert!(!dev.sock.exists(), "the socket is left behind");
}

#[test]
fn the_agent_stops_on_sigterm_and_cleans_up() {
    let d = tmp();
    let store = d.path().join("agent.redb");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nfbpf"))
        .args([
            "agent",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            store.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut url = None;
    let mut line = String::new();
    while url.is_none() {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "the agent ended");
        url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(|w| w.trim_end_matches(',').to_string());
    }
    let url = url.unwrap();
    let scratch = d.path().join("agent.redb.scratch");
    assert!(scratch.is_dir());
    let (code, out, e) = nfbpf(&["fn", "list", "--agent", &url]);
    assert_eq!(code, 0, "{e}");
    assert!(out.starts_with("name  abi  version"), "{out}");
    let status = terminate(&mut child, 20);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("SIGTERM: stopping"), "{rest}");
    assert!(!scratch.exists(), "the scratch directory is left behind");
    assert!(store.exists());
    // Nobody listens now: the client says how to start an agent.
    let (code, _, e) = nfbpf(&["fn", "list", "--agent", &url]);
    assert_eq!(code, 4, "{e}");
    assert!(
        e.contains("start one with `nfbpf agent serve --listen 127.0.0.1:"),
        "{e}"
    );
}

#[test]
fn completions_man_page_and_version() {
    let d = tmp();
    let (code, script, _) = nfbpf(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(script.contains("nfbpf") && script.contains("disasm"));
    let path = d.path().join("nfbpf.bash");
    std::fs::write(&path, &script).unwrap();
    let st = Command::new("bash").arg("-n").arg(&path).status().unwrap();
    assert!(st.success(), "the bash completion script does not parse");
    for shell in ["zsh", "fish"] {
        let (code, out, _) = nfbpf(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(out.contains("conform"), "{shell}");
    }
    let (code, page, _) = nfbpf(&["man"]);
    assert_eq!(code, 0);
    for section in [".TH nfbpf", ".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section} missing");
    }
    assert!(
        page.contains("Exit codes"),
        "the exit codes are in the page"
    );
    // Rendered by man where it is installed (a fresh machine may not have it).
    let man_page = d.path().join("nfbpf.1");
    std::fs::write(&man_page, &page).unwrap();
    if let Ok(o) = Command::new("man")
        .arg("-l")
        .arg(&man_page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
    {
        let text = String::from_utf8_lossy(&o.stdout);
        let why = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "man -l: {why}");
        assert!(
            text.contains("SYNOPSIS") && text.contains("nfbpf-map(1)"),
            "{text}"
        );
    }
    let dir = d.path().join("man");
    assert_eq!(nfbpf(&["man", "--dir", dir.to_str().unwrap()]).0, 0);
    assert!(dir.join("nfbpf.1").exists() && dir.join("nfbpf-map.1").exists());
    let (code, v, _) = nfbpf(&["--version"]);
    assert_eq!(code, 0);
    assert!(v.starts_with("nfbpf 0.") && v.contains("(commit "), "{v}");
}
