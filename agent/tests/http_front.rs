//! The agent's HTTP front against hostile clients, in-process on loopback:
//! credentials on every route but `/healthz`, Host and Origin checks (DNS
//! rebinding, cross-site requests), JSON bodies only, sizes refused before
//! reading, header and body timeouts, the connection cap, per-client caps
//! and ownership, pages, and no listening beyond loopback without
//! credentials.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use base64::Engine as _;
use common::{Running, clang, start_agent, wire_source};
use nfbpf_agent::auth::Credentials;
use nfbpf_agent::limits::Limits;
use nfbpf_agent::{Agent, Config, StartError};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const ALICE: &str = "alice:alice-secret-0123456789";
const BOB: &str = "bob:bob-secret-0123456789ab";

fn basic(pair: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn start(limits: Limits, hosts: &[&str]) -> Running {
    start_agent("nfbpf-front-", |cfg| {
        cfg.auth =
            Some(Credentials::parse(Path::new("creds"), &format!("{ALICE}\n{BOB}\n")).unwrap());
        cfg.hosts = hosts.iter().map(|h| h.to_string()).collect();
        cfg.limits = limits;
    })
}

/// One raw request on a new connection: (status, head, JSON body).
fn raw(addr: SocketAddr, req: &str) -> (u16, String, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    read_answer(&mut s)
}

fn read_answer(s: &mut TcpStream) -> (u16, String, Value) {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    assert!(text.len() >= 12, "no answer: {text:?}");
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let v = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_ascii_lowercase(), v)
}

/// A request with `Connection: close` and the given extra header lines.
fn req(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[String],
    body: &str,
) -> (u16, String, Value) {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    if !body.is_empty() {
        r.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    r.push_str("\r\n");
    r.push_str(body);
    raw(addr, &r)
}

fn auth(pair: &str) -> Vec<String> {
    vec![format!("Authorization: {}", basic(pair))]
}

#[test]
fn every_route_but_healthz_needs_credentials() {
    let a = start(Limits::default(), &[]);
    let routes = [
        ("GET", "/functions"),
        ("POST", "/functions"),
        ("GET", "/functions/x"),
        ("PUT", "/functions/x"),
        ("DELETE", "/functions/x"),
        ("POST", "/functions/x/invoke"),
        ("GET", "/queue"),
        ("DELETE", "/queue/1"),
        ("GET", "/status"),
        ("GET", "/nothing"),
    ];
    let wrong = [
        Vec::new(),
        auth("alice:alice-secret-012345678"),
        auth("mallory:alice-secret-0123456789"),
        vec!["Authorization: Bearer bob-secret-0123456789a".to_string()],
        vec!["Authorization: Basic".to_string()],
    ];
    for (m, p) in routes {
        for h in &wrong {
            let (c, head, v) = req(a.addr, m, p, h, "");
            assert_eq!(c, 401, "{m} {p} {h:?}: {v}");
            assert!(head.contains("www-authenticate: basic"), "{head}");
            assert!(v["error"].as_str().unwrap().contains("credentials"), "{v}");
        }
    }
    let (c, _, v) = req(a.addr, "GET", "/healthz", &[], "");
    assert_eq!((c, &v["status"]), (200, &json!("ok")));
    let (c, _, v) = req(a.addr, "GET", "/status", &auth(ALICE), "");
    assert_eq!(c, 200, "{v}");
    let bearer = vec!["Authorization: Bearer bob-secret-0123456789ab".to_string()];
    let (c, _, _) = req(a.addr, "GET", "/functions", &bearer, "");
    assert_eq!(c, 200);
}

#[test]
fn foreign_hosts_origins_and_content_types_are_refused() {
    let a = start(Limits::default(), &["agent.lab.example"]);
    let port = a.addr.port();
    let ok = auth(ALICE);
    // DNS rebinding: a name the agent does not know.
    let r = format!(
        "GET /status HTTP/1.1\r\nHost: attacker.example:{port}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        basic(ALICE)
    );
    let (c, _, v) = raw(a.addr, &r);
    assert_eq!(c, 403, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("attacker.example"),
        "{v}"
    );
    for host in [
        format!("localhost:{port}"),
        format!("agent.lab.example:{port}"),
        "AGENT.lab.example".to_string(),
        format!("[::1]:{port}"),
        "127.0.0.1".to_string(),
    ] {
        let r = format!(
            "GET /status HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            basic(ALICE)
        );
        assert_eq!(raw(a.addr, &r).0, 200, "{host}");
    }
    let r = format!(
        "GET /status HTTP/1.1\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        basic(ALICE)
    );
    assert_eq!(raw(a.addr, &r).0, 400, "no Host");
    // A page of another site, even with the browser's cached credentials.
    for (origin, want) in [
        ("http://attacker.example", 403),
        ("null", 403),
        ("http://192.0.2.7:8000", 403),
        ("http://localhost:3000", 200),
        ("https://agent.lab.example", 200),
        ("http://127.0.0.1:9999", 200),
    ] {
        let mut h = ok.clone();
        h.push(format!("Origin: {origin}"));
        assert_eq!(req(a.addr, "GET", "/status", &h, "").0, want, "{origin}");
    }
    // A cross-site form posts text/plain: refused before anything runs.
    let body = r#"{"name":"x","source":"int f;"}"#;
    let r = format!(
        "POST /functions HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        a.addr,
        basic(ALICE),
        body.len()
    );
    let (c, _, v) = raw(a.addr, &r);
    assert_eq!(c, 415, "{v}");
    assert!(v["error"].as_str().unwrap().contains("application/json"));
    let r = format!(
        "POST /functions/x/invoke HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n",
        a.addr,
        basic(ALICE),
    );
    assert_eq!(raw(a.addr, &r).0, 415, "a chunked body without a type");
}

#[test]
fn sizes_and_slow_clients_are_bounded() {
    let a = start(
        Limits {
            header_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            body_max: 1000,
            ..Limits::default()
        },
        &[],
    );
    // A Content-Length of 10^15 is refused at once, nothing read.
    let r = format!(
        "POST /functions HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 1000000000000000\r\n\r\n{{",
        a.addr,
        basic(ALICE)
    );
    let t = Instant::now();
    let (c, head, v) = raw(a.addr, &r);
    assert_eq!(c, 413, "{v}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // A chunked body past the limit.
    let chunk = "x".repeat(600);
    let r = format!(
        "POST /functions HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n",
        a.addr,
        basic(ALICE)
    );
    assert_eq!(raw(a.addr, &r).0, 413);
    // Half a body, then silence: 408 after the body timeout.
    let r = format!(
        "POST /functions HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":",
        a.addr,
        basic(ALICE)
    );
    let t = Instant::now();
    let (c, _, v) = raw(a.addr, &r);
    assert_eq!(c, 408, "{v}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // Half a request head, then silence: the connection is closed.
    let mut s = TcpStream::connect(a.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /status HTTP/1.1\r\nHost: x").unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // An idle keep-alive connection is closed too.
    let mut s = TcpStream::connect(a.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    let _ = s.read_to_end(&mut buf);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Reset mid-request: the next client is served.
    let s = TcpStream::connect(a.addr).unwrap();
    (&s).write_all(b"POST /functions HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
        .unwrap();
    drop(s);
    assert_eq!(req(a.addr, "GET", "/healthz", &[], "").0, 200);
}

#[test]
fn connections_over_the_cap_get_503_until_one_closes() {
    let a = start(
        Limits {
            connections: 3,
            ..Limits::default()
        },
        &[],
    );
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(a.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (c, head, v) = req(a.addr, "GET", "/healthz", &[], "");
    assert_eq!(c, 503, "{v}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert!(v["error"].as_str().unwrap().contains("3 open connections"));
    drop(held);
    let t = Instant::now();
    loop {
        let (c, _, _) = req(a.addr, "GET", "/healthz", &[], "");
        if c == 200 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "still {c}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn per_client_caps_ownership_and_pages() {
    if !clang() {
        return;
    }
    let a = start(
        Limits {
            functions_per_client: 2,
            queue_per_client: 2,
            ..Limits::default()
        },
        &[],
    );
    let src = wire_source();
    for n in ["w1", "w2"] {
        let body = json!({"name": n, "source": src}).to_string();
        let (c, _, v) = req(a.addr, "POST", "/functions", &auth(ALICE), &body);
        assert_eq!(c, 201, "{v}");
    }
    let body = json!({"name": "w3", "source": src}).to_string();
    let (c, head, v) = req(a.addr, "POST", "/functions", &auth(ALICE), &body);
    assert_eq!(c, 429, "{v}");
    assert!(head.contains("retry-after"), "{head}");
    assert!(
        v["error"].as_str().unwrap().contains("limit per client"),
        "{v}"
    );
    let (c, _, v) = req(a.addr, "POST", "/functions", &auth(BOB), &body);
    assert_eq!(c, 201, "bob has room: {v}");
    // Bob may invoke Alice's function, not delete or replace it.
    let (c, _, v) = req(a.addr, "DELETE", "/functions/w1", &auth(BOB), "");
    assert_eq!(c, 403, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("belongs to client `alice`")
    );
    let upd = json!({"source": src}).to_string();
    assert_eq!(req(a.addr, "PUT", "/functions/w1", &auth(BOB), &upd).0, 403);
    // Invocations of 300 s: Alice's third waiting one passes her cap (one
    // of them may have started running, so up to four are tried).
    let inv = json!({"run_time": 300}).to_string();
    let mut ids = Vec::new();
    let mut refused = None;
    for _ in 0..4 {
        let (c, _, v) = req(a.addr, "POST", "/functions/w1/invoke", &auth(ALICE), &inv);
        if c == 429 {
            refused = Some(v);
            break;
        }
        assert_eq!(c, 202, "{v}");
        ids.push(v["id"].as_u64().unwrap());
    }
    let v = refused.expect("the per-client queue cap");
    assert!(
        v["error"].as_str().unwrap().contains("invocations queued"),
        "{v}"
    );
    let (c, _, v) = req(a.addr, "POST", "/functions/w1/invoke", &auth(BOB), &inv);
    assert_eq!(c, 202, "bob's queue is his own: {v}");
    let bob_id = v["id"].as_u64().unwrap();
    // Cancelling is the owner's.
    let (c, _, _) = req(
        a.addr,
        "DELETE",
        &format!("/queue/{}", ids[0]),
        &auth(BOB),
        "",
    );
    assert_eq!(c, 403);
    let (c, _, _) = req(
        a.addr,
        "DELETE",
        &format!("/queue/{bob_id}"),
        &auth(BOB),
        "",
    );
    assert_eq!(c, 200);
    // Pages.
    let (c, _, v) = req(a.addr, "GET", "/functions?limit=2", &auth(ALICE), "");
    assert_eq!(c, 200);
    assert_eq!(
        (
            v["total"].as_u64(),
            v["functions"].as_array().unwrap().len()
        ),
        (Some(3), 2)
    );
    let next = v["next"].as_str().unwrap().to_string();
    let (_, _, v2) = req(
        a.addr,
        "GET",
        &format!("/functions?limit=2&after={next}"),
        &auth(ALICE),
        "",
    );
    assert_eq!(v2["functions"].as_array().unwrap().len(), 1, "{v2}");
    assert!(v2["next"].is_null());
    let (c, _, v) = req(a.addr, "GET", "/queue?limit=5000", &auth(ALICE), "");
    assert_eq!(c, 400, "{v}");
    for id in ids {
        req(a.addr, "DELETE", &format!("/queue/{id}"), &auth(ALICE), "");
    }
}

#[test]
fn no_listening_beyond_loopback_without_credentials() {
    let dir = tempfile::Builder::new()
        .prefix("nfbpf-noauth-")
        .tempdir()
        .unwrap();
    let cfg = Config::new("0.0.0.0:0", dir.path().join("a.redb"));
    match Agent::start(cfg) {
        Err(e @ StartError::NoAuth { .. }) => {
            let m = e.to_string();
            assert!(m.contains("0.0.0.0:0") && m.contains("--auth"), "{m}");
        }
        Err(e) => panic!("wrong refusal: {e}"),
        Ok(a) => {
            a.stop();
            panic!("listened on 0.0.0.0 without credentials");
        }
    }
}

#[test]
fn bodies_in_flight_are_bounded_in_memory() {
    let a = start(
        Limits {
            body_max: 1500,
            bodies_in_flight: 2048,
            body_timeout: Duration::from_secs(3),
            ..Limits::default()
        },
        &[],
    );
    // One client holds 1500 bytes of body reserved and sends them slowly.
    let mut slow = TcpStream::connect(a.addr).unwrap();
    write!(
        slow,
        "POST /functions HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 1500\r\n\r\n{{",
        a.addr,
        basic(ALICE)
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // A second body that would pass the budget is refused at once.
    let body = format!("{{\"name\":\"x\",\"source\":\"{}\"}}", "y".repeat(900));
    let (c, _, v) = req(a.addr, "POST", "/functions", &auth(ALICE), &body);
    assert_eq!(c, 503, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("request bodies"),
        "{v}"
    );
    // Bodiless requests are not held up.
    assert_eq!(req(a.addr, "GET", "/status", &auth(ALICE), "").0, 200);
    drop(slow);
    let t = Instant::now();
    loop {
        let (c, _, v) = req(a.addr, "POST", "/functions", &auth(ALICE), &body);
        if c != 503 {
            assert_eq!(
                c,
                422,
                "the body is read and compiled: {}",
                &v.to_string()[..80]
            );
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "still refused: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_functions_budget_reaches_the_device_with_it() {
    if !clang() {
        return;
    }
    let a = start(Limits::default(), &[]);
    let src = wire_source();
    let bad = json!({"name": "w", "source": src, "budget": 0}).to_string();
    let (c, _, v) = req(a.addr, "POST", "/functions", &auth(ALICE), &bad);
    assert_eq!(c, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("instruction budget"),
        "{v}"
    );
    let body = json!({"name": "w", "source": src, "budget": 64}).to_string();
    let (c, _, v) = req(a.addr, "POST", "/functions", &auth(ALICE), &body);
    assert_eq!((c, v["budget"].as_u64()), (201, Some(64)), "{v}");
    let plain = json!({"name": "p", "source": src}).to_string();
    let (_, _, v) = req(a.addr, "POST", "/functions", &auth(ALICE), &plain);
    assert_eq!(
        v["budget"].as_u64(),
        Some(nfbpf_vm::contract::DEVICE_INSN_BUDGET),
        "{v}"
    );
    let (c, _, v) = req(a.addr, "POST", "/functions/w/invoke", &auth(ALICE), "");
    assert_eq!(c, 202, "{v}");
    let t = Instant::now();
    loop {
        let (_, _, s) = req(a.addr, "GET", "/status", &auth(ALICE), "");
        if s["running"]["function"] == "w" {
            assert_eq!(s["device"]["budget"], 64, "{s:#}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "w never ran: {s:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
