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

// ---- Through a real agent server process ----

struct AgentProc {
    child: std::process::Child,
    addr: String,
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nfbpf agent serve` on a free loopback port with the embedded model and
/// the XDP ABI (the lambdas are XDP programs), plus `extra`.
fn agent(dir: &std::path::Path, extra: &[&str]) -> AgentProc {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_nfbpf"))
        .args([
            "agent", "serve", "--abi", "xdp", "--listen", &addr, "--store",
        ])
        .arg(dir.join("a.redb"))
        .args(extra)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let a = AgentProc { child, addr };
    let t = Instant::now();
    while std::net::TcpStream::connect(&a.addr).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "agent did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    a
}

/// A raw HTTP request: status, Content-Type and body.
fn http(
    a: &AgentProc,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(&a.addr).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        a.addr,
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head[9..12].parse().unwrap();
    let ct = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, ct, out[split + 4..].to_vec())
}

/// `POST /functions/NAME/invoke` with a raw request body.
fn invoke(a: &AgentProc, name: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    http(
        a,
        "POST",
        &format!("/functions/{name}/invoke"),
        "Content-Type: application/octet-stream\r\n",
        body,
    )
}

fn json(b: &[u8]) -> serde_json::Value {
    serde_json::from_slice(b).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(b)))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fncli(a: &AgentProc, args: &[&str]) -> (i32, String, String) {
    let url = format!("http://{}", a.addr);
    let mut v = vec!["fn", "--agent", url.as_str()];
    v.extend_from_slice(args);
    common::nfbpf(&v)
}

/// Create lambda `name` from `programs/FILE.c` with `extra` flags.
fn create(a: &AgentProc, name: &str, file: &str, extra: &[&str]) {
    let src = common::program(&format!("{file}.c"));
    let mut args = vec!["create", name, src.to_str().unwrap(), "--kind", "lambda"];
    args.extend_from_slice(extra);
    let (c, o, e) = fncli(a, &args);
    assert_eq!(c, 0, "create {name}: {o}{e}");
    assert!(o.contains(", lambda ID "), "{o}");
}

/// The grayscale of one RGBA pixel, as docs/lambdas.md defines it.
fn gray(px: &[u8]) -> u8 {
    ((77 * u32::from(px[0]) + 150 * u32::from(px[1]) + 29 * u32::from(px[2])) >> 8) as u8
}

/// The three workloads through one agent: the web server's pages from its
/// maps (rules of the function), one of them larger than the room a
/// lambda may grow into; SET then GET on the key-value store in two
/// invocations (warm state), and the state gone after another function
/// ran on the device; a 4,800-byte image in five chunks against the
/// formula computed here; the CLI and the OpenFaaS route; the refusals.
#[test]
fn lambdas_answer_through_the_agent() {
    if !clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path(), &[]);
    // The web server: /hi (12 bytes in chunk 5) and /big (1,000 bytes in
    // chunks 10..25).
    let key = |p: &str| {
        let mut k = p.as_bytes().to_vec();
        k.resize(32, 0);
        k.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let hexs = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let le = |len: u32, first: u32| {
        let mut v = len.to_le_bytes().to_vec();
        v.extend_from_slice(&first.to_le_bytes());
        hexs(&v)
    };
    let big: Vec<u8> = (0..1000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut rules = format!(
        "pages hex:{} hex:{}\npages hex:{} hex:{}\n",
        key("/hi"),
        le(12, 5),
        key("/big"),
        le(1000, 10)
    );
    let mut chunk = b"hello, world".to_vec();
    chunk.resize(64, 0);
    rules += &format!("page_chunks 5 hex:{}\n", hexs(&chunk));
    for (k, part) in big.chunks(64).enumerate() {
        let mut c = part.to_vec();
        c.resize(64, 0);
        rules += &format!("page_chunks {} hex:{}\n", 10 + k, hexs(&c));
    }
    let rules_file = dir.path().join("pages.rules");
    std::fs::write(&rules_file, rules).unwrap();
    create(
        &a,
        "web",
        "lambda_web",
        &["--rules", rules_file.to_str().unwrap()],
    );
    create(&a, "kv", "lambda_kv", &["--lambda-id", "2"]);
    create(&a, "gray", "lambda_gray", &["--lambda-id", "3"]);
    create(&a, "webwrong", "lambda_web", &["--lambda-id", "9"]);
    let (c, o, e) = fncli(
        &a,
        &[
            "create",
            "wire",
            common::program("wire.c").to_str().unwrap(),
        ],
    );
    assert_eq!(c, 0, "{o}{e}");

    // Web: the page, by the HTTP API and by the CLI.
    let t = Instant::now();
    let (s, ct, b) = invoke(&a, "web", b"GET /hi HTTP/1.0");
    assert_eq!(
        (s, ct.as_str()),
        (200, "application/octet-stream"),
        "{}",
        text(&b)
    );
    assert_eq!(
        text(&b),
        "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello, world"
    );
    eprintln!("web /hi answered in {:?} (swap included)", t.elapsed());
    let (s, _, b) = invoke(&a, "web", b"GET /big HTTP/1.1\r\n");
    assert_eq!(s, 200, "{}", text(&b));
    let mut want = b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
    want.extend_from_slice(&big);
    assert_eq!(b, want);
    let (s, _, b) = invoke(&a, "web", b"GET /nope HTTP/1.0");
    assert_eq!(s, 200);
    assert_eq!(
        text(&b),
        "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    );
    let (c, o, e) = fncli(&a, &["invoke", "web", "--data", "GET /hi HTTP/1.0"]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.ends_with("hello, world"), "{o}");

    // Key-value: SET, then GET in another invocation (the lambda stays
    // loaded, its maps as the SET left them).
    let t = Instant::now();
    let (s, _, b) = invoke(&a, "kv", b"set k 7 0 5\r\nhello\r\n");
    assert_eq!((s, text(&b).as_str()), (200, "STORED\r\n"));
    let (s, _, b) = invoke(&a, "kv", b"get k\r\n");
    assert_eq!(
        (s, text(&b).as_str()),
        (200, "VALUE k 7 5\r\nhello\r\nEND\r\n")
    );
    eprintln!("kv SET + GET in {:?}", t.elapsed());
    // OpenFaaS: the same lambda, its response as the body.
    let (s, ct, b) = http(&a, "POST", "/function/kv", "", b"get k\r\n");
    assert_eq!((s, ct.as_str()), (200, "application/octet-stream"));
    assert_eq!(text(&b), "VALUE k 7 5\r\nhello\r\nEND\r\n");
    // A GET without a body sends an empty request: the web server's 400.
    let (s, _, b) = http(&a, "GET", "/function/web", "", b"");
    assert_eq!(s, 200);
    assert_eq!(
        text(&b),
        "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    );
    // After another function ran, the store starts empty again.
    let (s, _, b) = invoke(&a, "kv", b"get k\r\n");
    assert_eq!((s, text(&b).as_str()), (200, "END\r\n"));

    // Grayscale: 40 x 30 pixels, five chunks.
    let mut rng = common::Rng(0x9a7);
    let image: Vec<u8> = (0..40 * 30)
        .flat_map(|i| {
            [
                (i % 40 * 6) as u8,
                (i / 40 * 8) as u8,
                rng.next() as u8,
                255,
            ]
        })
        .collect();
    let t = Instant::now();
    let (s, _, b) = invoke(&a, "gray", &image);
    assert_eq!(s, 200, "{}", text(&b));
    let want: Vec<u8> = image.chunks(4).map(gray).collect();
    assert_eq!(b.len(), 1200);
    assert_eq!(b, want);
    eprintln!("gray 4,800 bytes in {:?}", t.elapsed());

    // Refusals.
    let (s, _, b) = invoke(&a, "gray", b"12345");
    assert_eq!(s, 422, "{}", text(&b));
    let v = json(&b);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("body is not whole RGBA pixels"),
        "{v}"
    );
    let id = v["id"].as_u64().unwrap();
    let (s, _, b) = http(&a, "GET", &format!("/queue/{id}"), "", b"");
    assert_eq!(s, 200);
    assert_eq!(json(&b)["state"], "ended", "{}", text(&b));
    let (s, _, b) = invoke(&a, "webwrong", b"GET /hi HTTP/1.0");
    assert_eq!(s, 502, "{}", text(&b));
    assert!(text(&b).contains("lambda ID 9"), "{}", text(&b));
    let (s, _, b) = invoke(&a, "kv", &vec![b'x'; 16 * 1024 + 1]);
    assert_eq!(s, 413, "{}", text(&b));
    assert!(
        text(&b).contains("the limit is 16384 bytes"),
        "{}",
        text(&b)
    );
    let (s, _, b) = invoke(&a, "kv", b"");
    assert_eq!(s, 400, "{}", text(&b));
    assert!(text(&b).contains("is a lambda"), "{}", text(&b));
    let (s, _, b) = invoke(&a, "wire", b"GET /hi HTTP/1.0");
    assert_eq!(s, 415, "{}", text(&b));
    assert!(text(&b).contains("is a network function"), "{}", text(&b));
    let (s, _, b) = invoke(&a, "nosuch", b"x");
    assert_eq!(s, 404, "{}", text(&b));
    // A network function keeps its JSON invocation.
    let (s, _, b) = http(
        &a,
        "POST",
        "/functions/wire/invoke",
        "Content-Type: application/json\r\n",
        br#"{"run_time": 3}"#,
    );
    assert_eq!(s, 202, "{}", text(&b));
    // The timeline does not show request and response bodies.
    let (_, _, b) = http(&a, "GET", "/status", "", b"");
    let st = json(&b);
    assert!(!text(&b).contains("\"response\""), "{st}");
    assert!(st["timeline"].as_array().unwrap().len() >= 10, "{st}");
}

/// With credentials required, a lambda's invocation needs them like every
/// other route; the client that invoked it reads its record.
#[test]
fn lambda_invocations_need_credentials() {
    if !clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::write(
        &creds,
        "alice:alice-secret-0123456789\nbob:bob-secret-0123456789ab\n",
    )
    .unwrap();
    let a = agent(dir.path(), &["--auth", creds.to_str().unwrap()]);
    let (s, _, b) = invoke(&a, "kv", b"get k\r\n");
    assert_eq!(s, 401, "{}", text(&b));
    let alice = "Authorization: Bearer alice-secret-0123456789\r\n";
    let src = std::fs::read_to_string(common::program("lambda_kv.c")).unwrap();
    let body = serde_json::json!({"name": "kv", "source": src, "kind": "lambda", "lambda_id": 2});
    let (s, _, b) = http(
        &a,
        "POST",
        "/functions",
        &format!("{alice}Content-Type: application/json\r\n"),
        body.to_string().as_bytes(),
    );
    assert_eq!(s, 201, "{}", text(&b));
    let (s, _, b) = http(
        &a,
        "POST",
        "/functions/kv/invoke",
        &format!("{alice}Content-Type: text/plain\r\n"),
        b"set k 0 0 1\r\nx\r\n",
    );
    assert_eq!(s, 415, "a cross-site form's type: {}", text(&b));
    assert!(
        text(&b).contains("application/octet-stream"),
        "{}",
        text(&b)
    );
    let (s, _, b) = http(
        &a,
        "POST",
        "/functions/kv/invoke",
        &format!("{alice}Content-Type: application/octet-stream\r\n"),
        b"set k 0 0 1\r\nx\r\n",
    );
    assert_eq!((s, text(&b).as_str()), (200, "STORED\r\n"));
    // Bob cannot read alice's lambda record (its response).
    let (_, _, b) = http(&a, "GET", "/status", alice, b"");
    let id = json(&b)["timeline"][0]["id"].as_u64().unwrap();
    let bob = "Authorization: Bearer bob-secret-0123456789ab\r\n";
    let (s, _, b) = http(&a, "GET", &format!("/queue/{id}"), bob, b"");
    assert_eq!(s, 403, "{}", text(&b));
    let (s, _, b) = http(&a, "GET", &format!("/queue/{id}"), alice, b"");
    assert_eq!(s, 200, "{}", text(&b));
    assert_eq!(json(&b)["response_text"], "STORED\r\n");
}

/// A simulated board served by `nfbpf device serve` (the model, over the
/// socket protocol: `F` in, `H` back) as the agent's target: SET then GET
/// on the key-value store through it.
#[test]
fn lambdas_on_a_simulated_board_over_its_socket() {
    if !clang() {
        return;
    }
    let board = common::DeviceServer::start("lambda-board", &[]);
    let dir = tempfile::tempdir().unwrap();
    let target = board.target();
    let a = agent(dir.path(), &["-t", &target, "--time-scale", "0.01"]);
    create(&a, "kv", "lambda_kv", &["--lambda-id", "2"]);
    let (s, _, b) = invoke(&a, "kv", b"set a 1 0 3\r\nabc\r\n");
    assert_eq!((s, text(&b).as_str()), (200, "STORED\r\n"));
    let (s, _, b) = invoke(&a, "kv", b"get a\r\n");
    assert_eq!(
        (s, text(&b).as_str()),
        (200, "VALUE a 1 3\r\nabc\r\nEND\r\n")
    );
}
