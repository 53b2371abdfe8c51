//! Lambdas answered back to the host: the simulated board's host receive
//! path (`sim::host`, `RegisterBus::host_recv`, the socket protocol's `H`),
//! and lambdas invoked through a real agent server process
//! (`POST /functions/{name}/invoke` with a request body, the OpenFaaS
//! `/function/{name}`): the web server's page from its map, GET after SET
//! on the key-value store, a grayscale image of several chunks against the
//! formula computed here, and the refusals.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::clang;
use common::lambda::{Req, request};
use nfbpf_loader::{Options, load_file};
use nfbpf_vm::contract;
use nfbpf_vm::device::{Dest, Device, DeviceConfig};
use nfbpf_vm::regs::RegisterBus;
use std::time::{Duration, Instant};

mod common;

/// The body of a response frame (the lambda header's `body_len` bytes).
fn body_of(frame: &[u8]) -> Vec<u8> {
    let n = u16::from_be_bytes([frame[48], frame[49]]) as usize;
    frame[58..58 + n].to_vec()
}

/// Poll `bus` for the next answer, within 10 s of wall time.
fn recv(bus: &mut dyn RegisterBus) -> nfbpf_vm::regs::HostFrame {
    let t = Instant::now();
    loop {
        if let Some(f) = bus.host_recv().unwrap() {
            return f;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no answer");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A model board with `lambda_kv` loaded through its registers, served on
/// a socket: a SET sent with `F` is answered with `H` (XDP_TX out of the
/// input port), then a GET; a frame the program passes comes back too
/// (to the host); unsent frames never show; the receive queue is bounded
/// (the oldest dropped and counted); the bare model has no receive path.
#[test]
fn host_receives_the_answers_to_its_frames() {
    use nfbpf_loader::bus::socket::{Limits, SocketBus};
    use nfbpf_sim::host::{HOST_RECV_QUEUE, ModelHost};
    if !clang() {
        return;
    }
    let img = load_file(&common::program("lambda_kv.c"), &Options::default())
        .unwrap()
        .with_budget(Some(contract::LAMBDA_INSN_BUDGET as u32));
    let host = ModelHost::start(Device::new(DeviceConfig::default()).unwrap(), None);
    let mut local = host.bus();
    nfbpf_loader::device::program(&mut local, &img).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("board.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let served = host.bus();
    std::thread::spawn(move || {
        let host = host;
        host.serve_socket(listener, &Limits::default())
    });
    let mut bus = SocketBus::connect(&path).unwrap();
    assert_eq!(bus.host_recv().unwrap(), None, "nothing sent yet");
    let set = Req {
        request_id: 7,
        ..Req::to(contract::LAMBDA_ID_KV)
    };
    bus.host_send(1, &request(&set, b"set k 5 0 2\r\nhi\r\n"))
        .unwrap();
    let a = recv(&mut bus);
    assert_eq!((a.port, a.dest), (1, Dest::Port(1)), "XDP_TX out of port 1");
    assert_eq!(a.frame[42 + 3] & contract::LAMBDA_FLAG_RESPONSE, 1);
    assert_eq!(body_of(&a.frame), b"STORED\r\n");
    bus.host_send(3, &request(&set, b"get k\r\n")).unwrap();
    let a = recv(&mut bus);
    assert_eq!((a.port, a.dest), (3, Dest::Port(3)));
    assert_eq!(body_of(&a.frame), b"VALUE k 5 2\r\nhi\r\nEND\r\n");
    // Not a request: passed, and handed back as gone to the host.
    let arp = common::arp();
    bus.host_send(0, &arp).unwrap();
    let a = recv(&mut bus);
    assert_eq!((a.port, a.dest, a.frame), (0, Dest::Host, arp.clone()));
    // Bounded: HOST_RECV_QUEUE + 10 answers unread keep the newest.
    let more = HOST_RECV_QUEUE + 10;
    for k in 0..more {
        let r = Req {
            request_id: k as u32,
            ..Req::to(contract::LAMBDA_ID_KV)
        };
        local.host_send(2, &request(&r, b"get k\r\n")).unwrap();
        let t = Instant::now();
        loop {
            let (w, d, _) = local.host_queue().unwrap();
            if w as u64 + d == k as u64 + 1 {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "request {k} unanswered"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let (waiting, dropped, forgotten) = local.host_queue().unwrap();
    assert_eq!((waiting, dropped, forgotten), (HOST_RECV_QUEUE, 10, 0));
    let first = bus.host_recv().unwrap().unwrap();
    assert_eq!(
        u32::from_be_bytes(first.frame[50..54].try_into().unwrap()),
        10,
        "the oldest answers were dropped"
    );
    // Bad requests on the socket get an ERR and the session goes on.
    let mut raw = std::os::unix::net::UnixStream::connect(&path).unwrap();
    use std::io::{BufRead, Write};
    raw.write_all(b"H 0x1\n").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(raw.try_clone().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("ERR malformed request `H 0x1`"), "{line}");
    // The bare model (no harness) says it has no receive path.
    let mut bare = Device::new(DeviceConfig::default()).unwrap();
    let e = bare.host_recv().unwrap_err().to_string();
    assert!(e.contains("hands no frames back"), "{e}");
    drop(served);
}
