//! `nfbpf bringup -t sim:PATH` against `nfbpf device serve` on both
//! backends, and against a board whose register answers are tampered with
//! by a proxy on the socket (a wrong VERSION, a scratch register that does
//! not keep its value, a port counter that does not move): the command
//! must fail naming the register and the expected and read values.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

mod common;

fn bringup(target: &str) -> (i32, String, String) {
    common::nfbpf(&["bringup", "-t", target, "--timeout", "2"])
}

fn passes_on(backend: &str) {
    if !common::clang() {
        return;
    }
    let s = common::DeviceServer::start("board", &["--backend", backend]);
    let (code, out, err) = bringup(&s.target());
    assert_eq!(code, 0, "{backend}: {out}\n{err}");
    for want in [
        "ok    identification  ID",
        "ok    identification  VERSION",
        "ok    scratch         DEBUG <- 0xa5a55a5a",
        "ok    bank flip       flip 1",
        "ok    bank flip       flip 2",
        "ok    traffic         host queue 0 -> port 1",
        "ok    traffic         host queue 3 -> port 2",
        "every check passed",
    ] {
        assert!(out.contains(want), "{backend}: `{want}` missing:\n{out}");
    }
}

#[test]
fn bringup_passes_on_the_model() {
    passes_on("model");
}

#[test]
fn bringup_passes_on_the_rtl() {
    passes_on("rtl");
}

/// A proxy board: forwards every request line to `upstream` and rewrites
/// the answer of `R <off>` with `rewrite(upstream answer)`.
fn proxy(
    upstream: &Path,
    off: u32,
    rewrite: fn(&str) -> String,
) -> (tempfile::TempDir, PathBuf, std::thread::JoinHandle<()>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.sock");
    let l = UnixListener::bind(&path).unwrap();
    let up = upstream.to_path_buf();
    let h = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        let u = UnixStream::connect(&up).unwrap();
        let mut cr = BufReader::new(c.try_clone().unwrap());
        let mut cw = c;
        let mut ur = BufReader::new(u.try_clone().unwrap());
        let mut uw = u;
        let read = format!("R {off:#010x}");
        let mut line = String::new();
        loop {
            line.clear();
            if cr.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            uw.write_all(line.as_bytes()).unwrap();
            let mut ans = String::new();
            ur.read_line(&mut ans).unwrap();
            if line.trim() == read {
                ans = rewrite(ans.trim_end()) + "\n";
            }
            if cw.write_all(ans.as_bytes()).is_err() {
                return;
            }
        }
    });
    (dir, path, h)
}

fn fails_with(off: u32, rewrite: fn(&str) -> String, want: &[&str]) {
    if !common::clang() {
        return;
    }
    let s = common::DeviceServer::start("board", &["--backend", "model"]);
    let (_d, p, h) = proxy(&s.sock, off, rewrite);
    let (code, out, err) = bringup(&format!("sim:{}", p.display()));
    assert_eq!(code, 1, "{out}\n{err}");
    for w in want {
        assert!(
            out.contains(w) || err.contains(w),
            "`{w}` missing:\n{out}\n{err}"
        );
    }
    assert!(!out.contains("every check passed"), "{out}");
    h.join().unwrap();
}

#[test]
fn a_wrong_version_fails_naming_the_register_and_both_values() {
    fails_with(
        nfbpf_vm::regs::VERSION,
        |_| "OK 0x00010003".into(),
        &[
            "ok    identification  ID",
            "FAIL  identification  VERSION",
            &format!(
                "VERSION: expected {:#010x}, read 0x00010003",
                nfbpf_vm::regs::DEVICE_VERSION
            ),
            "bringup of sim:",
            "failed at identification (VERSION)",
        ],
    );
}

#[test]
fn a_scratch_register_that_loses_bits_fails() {
    fails_with(
        nfbpf_vm::regs::DEBUG,
        |a| {
            let v = u32::from_str_radix(a.trim_start_matches("OK 0x"), 16).unwrap();
            format!("OK {:#010x}", v & !0x100)
        },
        // 0xa5a55a5a has bit 8 clear; 0x5a5aa5a5 is the first to lose it.
        &[
            "ok    scratch         DEBUG <- 0xa5a55a5a",
            "DEBUG: expected 0x5a5aa5a5, read 0x5a5aa4a5",
        ],
    );
}

#[test]
fn a_port_counter_that_does_not_move_fails_naming_the_port() {
    // PORTTX reads 0 whatever port is selected: the traffic step sees no
    // frame leave port 1 and says so when its timeout (2 s here) is over.
    fails_with(
        nfbpf_vm::regs::PORTTX,
        |_| "OK 0x00000000".into(),
        &[
            "FAIL  traffic         host queue 0 -> port 1",
            "PORTTX[1]: expected 4, read 0 after 2 s",
        ],
    );
}
