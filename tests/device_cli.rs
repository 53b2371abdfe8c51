//! A simulated board as users run it: `nfbpf device serve` in one process,
//! `nfbpf device load` and `status` in others, over the register socket.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::nfbpf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_load_status() {
    if !common::clang() {
        return;
    }
    let sock = std::env::temp_dir().join(format!("nfbpf-devcli-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_nfbpf"))
            .args([
                "device",
                "serve",
                "--socket",
                sock.to_str().unwrap(),
                "--traffic",
                "0,1:64:10",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while !sock.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let target = format!("sim:{}", sock.display());
    let wire = concat!(env!("CARGO_MANIFEST_DIR"), "/programs/wire_sume.c");
    let (code, out, err) = nfbpf(&["device", "load", wire, "-t", &target]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("read back and swapped in (bank 1)"), "{out}");
    // Traffic flows: engine 0 (port 0) sends packets out after the load.
    let t0 = Instant::now();
    loop {
        let (code, out, err) = nfbpf(&["status", "-t", &target]);
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
            t0.elapsed() < Duration::from_secs(30),
            "no packets out: {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Errors name the target and the cause.
    let (code, _, err) = nfbpf(&["status", "-t", "sim:/nonexistent/x.sock"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot connect"), "{err}");
    let (_, _, err) = nfbpf(&["status", "-t", "sume:nfbpfnone9"]);
    assert!(err.contains("no network interface `nfbpfnone9`"), "{err}");
    let (_, _, err) = nfbpf(&["status", "-t", "nf0"]);
    assert!(err.contains("invalid target `nf0`"), "{err}");
}
