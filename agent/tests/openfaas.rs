//! The OpenFaaS provider API (`docs/openfaas.md`) over HTTP, in-process
//! on loopback, with the request shapes the OpenFaaS gateway and faas-cli
//! send: chunked bodies without Content-Length, any content type on
//! invocations, the PUT-404-then-POST deploy, `name.namespace` targets,
//! `X-Call-Id` passed through; every route refuses missing and wrong
//! credentials, `/healthz` answers without; bad input gets a 4xx naming
//! the problem.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use base64::Engine as _;
use common::{Running, clang, start_agent, wire_source};
use nfbpf_agent::auth::Credentials;
use nfbpf_agent::limits::Limits;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const ALICE: &str = "alice:alice-secret-0123456789";

fn start() -> Running {
    start_agent("nfbpf-openfaas-", |cfg| {
        cfg.auth = Some(Credentials::parse(Path::new("creds"), &format!("{ALICE}\n")).unwrap());
        cfg.limits = Limits::default();
    })
}

/// An answer: status, lowercase head, JSON body (Null if not JSON).
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// How a request's body travels.
#[derive(Clone, Copy)]
enum Body<'a> {
    None,
    /// Content-Length, with this Content-Type.
    Sized(&'a str, &'a str),
    /// Transfer-Encoding: chunked (in 7-byte chunks), no Content-Length.
    Chunked(&'a str, &'a str),
}

fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    creds: Option<&str>,
    extra: &[&str],
    body: Body,
) -> Answer {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = creds {
        r.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(c)
        ));
    }
    for h in extra {
        r.push_str(h);
        r.push_str("\r\n");
    }
    match body {
        Body::None => r.push_str("\r\n"),
        Body::Sized(ct, b) => {
            r.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ));
        }
        Body::Chunked(ct, b) => {
            r.push_str(&format!(
                "Content-Type: {ct}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ));
            for c in b.as_bytes().chunks(7) {
                r.push_str(&format!(
                    "{:x}\r\n{}\r\n",
                    c.len(),
                    String::from_utf8_lossy(c)
                ));
            }
            r.push_str("0\r\n\r\n");
        }
    }
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(r.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    assert!(text.len() >= 12, "no answer to {method} {path}: {text:?}");
    let (head, b) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Answer {
        status: text[9..12].parse().unwrap(),
        head: head.to_ascii_lowercase(),
        body: serde_json::from_str(b).unwrap_or(Value::Null),
    }
}

/// A JSON request with ALICE's credentials (chunked, as the gateway
/// forwards faas-cli's requests).
fn call(addr: SocketAddr, method: &str, path: &str, body: &Value) -> Answer {
    let text = body.to_string();
    let b = if body.is_null() {
        Body::None
    } else {
        Body::Chunked("application/json", &text)
    };
    send(addr, method, path, Some(ALICE), &[], b)
}

fn error_of(a: &Answer) -> String {
    a.body["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn provider_routes_refuse_missing_and_wrong_credentials() {
    let a = start();
    let routes = [
        ("GET", "/system/functions"),
        ("POST", "/system/functions"),
        ("PUT", "/system/functions"),
        ("DELETE", "/system/functions"),
        ("GET", "/system/function/x"),
        ("POST", "/system/scale-function/x"),
        ("GET", "/system/info"),
        ("GET", "/system/namespaces"),
        ("POST", "/function/x"),
        ("GET", "/function/x.openfaas-fn/a/b?c=d"),
        ("POST", "/async-function/x"),
    ];
    for (m, p) in routes {
        let r = send(a.addr, m, p, None, &[], Body::None);
        assert_eq!(r.status, 401, "{m} {p} without credentials");
        assert!(error_of(&r).contains("credentials required"), "{m} {p}");
        assert!(r.head.contains("www-authenticate: basic"), "{m} {p}");
        let r = send(
            a.addr,
            m,
            p,
            Some("alice:wrong-secret-000000000"),
            &[],
            Body::None,
        );
        assert_eq!(r.status, 401, "{m} {p} with wrong credentials");
        assert_eq!(error_of(&r), "wrong credentials");
    }
    let r = send(a.addr, "GET", "/healthz", None, &[], Body::None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
}

#[test]
fn info_namespaces_and_bad_requests() {
    let a = start();
    let r = call(a.addr, "GET", "/system/namespaces", &Value::Null);
    assert_eq!((r.status, r.body.clone()), (200, json!(["openfaas-fn"])));
    let r = call(a.addr, "GET", "/system/info", &Value::Null);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["provider"], "nfbpf");
    assert_eq!(r.body["orchestration"], "nfbpf");
    assert!(!r.body["version"]["sha"].as_str().unwrap().is_empty());
    assert_eq!(r.body["version"]["release"], env!("CARGO_PKG_VERSION"));
    let r = call(a.addr, "GET", "/system/functions", &Value::Null);
    assert_eq!((r.status, r.body.clone()), (200, json!([])));

    let bad: &[(&str, &str, Value, u16, &str)] = &[
        (
            "GET",
            "/system/functions?namespace=kube-system",
            Value::Null,
            400,
            "namespace `kube-system`",
        ),
        (
            "GET",
            "/system/function/nope",
            Value::Null,
            404,
            "unknown function `nope`",
        ),
        (
            "PATCH",
            "/system/functions",
            Value::Null,
            405,
            "allowed: GET, POST, PUT, DELETE",
        ),
        ("POST", "/system/info", Value::Null, 405, "allowed: GET"),
        (
            "GET",
            "/system/nothing",
            Value::Null,
            404,
            "/system/scale-function",
        ),
        ("POST", "/system/functions", Value::Null, 400, "empty"),
        (
            "POST",
            "/system/functions",
            json!("text"),
            400,
            "JSON object",
        ),
        (
            "POST",
            "/system/functions",
            json!({"image": "x"}),
            400,
            "`service`",
        ),
        (
            "POST",
            "/system/functions",
            json!({"service": "../x", "image": "x"}),
            400,
            "name `../x`",
        ),
        (
            "POST",
            "/system/functions",
            json!({"service": "f", "image": "alpine:3"}),
            400,
            "no eBPF code",
        ),
        (
            "POST",
            "/system/functions",
            json!({"service": "f", "image": "nfbpf:missing"}),
            404,
            "function `missing`",
        ),
        (
            "POST",
            "/system/functions",
            json!({"service": "f", "image": "x", "namespace": "other"}),
            400,
            "namespace `other`",
        ),
        (
            "POST",
            "/system/functions",
            json!({"service": "f", "annotations": {"nfbpf.src": "x"}}),
            400,
            "nfbpf.src",
        ),
        (
            "POST",
            "/system/functions",
            json!({"service": "f", "annotations": {"nfbpf.rules": "x"}}),
            400,
            "go with the code",
        ),
        (
            "POST",
            "/system/functions",
            json!({"service": "f", "annotations": {"nfbpf.object": "!!"}}),
            400,
            "not base64",
        ),
        (
            "POST",
            "/system/functions",
            json!({"service": "f", "envVars": ["x"]}),
            400,
            "envVars",
        ),
        (
            "PUT",
            "/system/functions",
            json!({"service": "f", "image": "nfbpf:f"}),
            404,
            "unknown function `f`",
        ),
        (
            "DELETE",
            "/system/functions",
            json!({"functionName": "f"}),
            404,
            "unknown function `f`",
        ),
        (
            "DELETE",
            "/system/functions",
            json!({}),
            400,
            "`functionName`",
        ),
        (
            "DELETE",
            "/system/functions",
            json!({"functionName": 3}),
            400,
            "expected a string",
        ),
        (
            "POST",
            "/system/scale-function/f",
            json!({"serviceName": "f", "replicas": 1}),
            404,
            "unknown function `f`",
        ),
        (
            "POST",
            "/system/scale-function/f",
            json!({"serviceName": "g", "replicas": 1}),
            400,
            "differs",
        ),
        (
            "POST",
            "/system/scale-function/f",
            json!({"serviceName": "f"}),
            400,
            "`replicas`",
        ),
        (
            "POST",
            "/system/scale-function/f",
            json!({"serviceName": "f", "replicas": -1}),
            400,
            "0..1000",
        ),
        (
            "POST",
            "/system/scale-function/f",
            json!({"serviceName": "f", "replicas": "2"}),
            400,
            "0..1000",
        ),
        (
            "GET",
            "/system/scale-function/f",
            Value::Null,
            405,
            "allowed: POST",
        ),
        (
            "POST",
            "/function/nope",
            Value::Null,
            404,
            "unknown function `nope`",
        ),
        (
            "POST",
            "/function/nope.other-ns",
            Value::Null,
            400,
            "namespace `other-ns`",
        ),
        ("POST", "/function/", Value::Null, 404, "no function named"),
    ];
    for (m, p, b, status, want) in bad {
        let r = call(a.addr, m, p, b);
        assert_eq!(r.status, *status, "{m} {p} {b}: {}", r.body);
        assert!(
            error_of(&r).contains(want),
            "{m} {p}: `{}` lacks `{want}`",
            error_of(&r)
        );
    }
    // Garbage that is not JSON, with a non-JSON content type.
    let r = send(
        a.addr,
        "POST",
        "/system/functions",
        Some(ALICE),
        &[],
        Body::Sized("text/plain", "{not json"),
    );
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("not JSON"), "{}", r.body);
    // The agent still answers.
    assert_eq!(
        call(a.addr, "GET", "/system/namespaces", &Value::Null).status,
        200
    );
}

#[test]
fn deploy_list_invoke_scale_update_remove() {
    if !clang() {
        return;
    }
    let a = start();
    let deploy = json!({
        "service": "wire",
        "image": "nfbpf:wire",
        "namespace": "openfaas-fn",
        "envProcess": "",
        "envVars": {"MODE": "fast"},
        "labels": {"team": "net"},
        "annotations": {"nfbpf.source": wire_source(), "nfbpf.run_time": "3", "note": "hi"},
        "constraints": [],
        "secrets": [],
        "limits": {"memory": "10Mi"},
        "requests": null,
        "readOnlyRootFilesystem": true,
        "registryAuth": "",
    });
    // faas-cli deploy: PUT first, 404, then POST.
    let r = call(a.addr, "PUT", "/system/functions", &deploy);
    assert_eq!(r.status, 404, "{}", r.body);
    let r = call(a.addr, "POST", "/system/functions", &deploy);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["name"], "wire");
    assert_eq!(r.body["replicas"], 1);
    assert_eq!(r.body["availableReplicas"], 4);
    // A second POST of it: exists.
    let r = call(a.addr, "POST", "/system/functions", &deploy);
    assert_eq!(r.status, 409, "{}", r.body);

    let r = call(
        a.addr,
        "GET",
        "/system/functions?namespace=openfaas-fn",
        &Value::Null,
    );
    assert_eq!(r.status, 200);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let s = &list[0];
    assert_eq!(s["name"], "wire");
    assert_eq!(s["image"], "nfbpf:wire");
    assert_eq!(s["namespace"], "openfaas-fn");
    assert_eq!(s["labels"], json!({"team": "net"}));
    assert_eq!(s["envVars"], json!({"MODE": "fast"}));
    assert_eq!(s["readOnlyRootFilesystem"], true);
    // The code is kept out of the status the gateway polls.
    assert_eq!(
        s["annotations"],
        json!({"nfbpf.run_time": "3", "note": "hi"})
    );
    assert_eq!(s["invocationCount"], 0);
    assert!(s["createdAt"].as_str().unwrap().ends_with('Z'));
    let r = call(
        a.addr,
        "GET",
        "/system/function/wire?namespace=openfaas-fn&usage=1",
        &Value::Null,
    );
    assert_eq!((r.status, &r.body["name"]), (200, &json!("wire")));
    // The function is one of the agent's own too.
    let r = call(a.addr, "GET", "/functions/wire", &Value::Null);
    assert_eq!((r.status, &r.body["default_run_time"]), (200, &json!(3)));

    // A synchronous invocation: any content type, a chunked body, a path
    // suffix and a query; the answer is the run's record.
    let r = send(
        a.addr,
        "POST",
        "/function/wire/any/path?run_time=3&x=y",
        Some(ALICE),
        &["X-Call-Id: call-123"],
        Body::Chunked("text/plain; charset=utf-8", "hello, not JSON"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["function"], "wire");
    assert_eq!(r.body["outcome"], "completed");
    assert_eq!(r.body["run_time"], 3);
    assert!(
        r.body["counters"]["pkt_in"].as_u64().unwrap() > 0,
        "{}",
        r.body
    );
    assert!(r.head.contains("x-call-id: call-123"), "{}", r.head);
    assert!(r.head.contains("x-nfbpf-invocation: "), "{}", r.head);
    // GET with name.namespace, the run time from a header.
    let r = send(
        a.addr,
        "GET",
        "/function/wire.openfaas-fn",
        Some(ALICE),
        &["X-Nfbpf-Run-Time: 4"],
        Body::None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["run_time"], 4);
    // Asynchronous: by header, and by /async-function.
    let r = send(
        a.addr,
        "POST",
        "/function/wire",
        Some(ALICE),
        &["X-Nfbpf-Async: true"],
        Body::Sized("application/octet-stream", "\u{1}\u{2}"),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["function"], "wire");
    assert!(r.body["id"].as_u64().is_some());
    let r = call(
        a.addr,
        "POST",
        "/async-function/wire.openfaas-fn/x",
        &Value::Null,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    // Bad run times.
    for (path, hdr) in [
        ("/function/wire?run_time=2", ""),
        ("/function/wire?run_time=abc", ""),
        ("/function/wire", "X-Nfbpf-Run-Time: 301"),
    ] {
        let extra: Vec<&str> = if hdr.is_empty() { vec![] } else { vec![hdr] };
        let r = send(a.addr, "POST", path, Some(ALICE), &extra, Body::None);
        assert_eq!(r.status, 400, "{path} {hdr}: {}", r.body);
        assert!(error_of(&r).contains("3..300"), "{}", r.body);
    }
    let r = call(a.addr, "GET", "/system/function/wire", &Value::Null);
    assert_eq!(r.body["invocationCount"], 4, "{}", r.body);

    // Update (PUT): labels and the run time; the code stays.
    let r = call(
        a.addr,
        "PUT",
        "/system/functions",
        &json!({"service": "wire", "image": "nfbpf:wire", "labels": {"team": "ops"}, "annotations": {"nfbpf.run_time": "5"}}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["labels"], json!({"team": "ops"}));
    let r = call(a.addr, "GET", "/functions/wire", &Value::Null);
    assert_eq!(r.body["default_run_time"], 5);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["source"].as_str().unwrap(), wire_source());

    // A copy by image: nfbpf:wire under another name.
    let r = call(
        a.addr,
        "POST",
        "/system/functions",
        &json!({"service": "wire2", "image": "nfbpf:wire"}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["image"], "nfbpf:wire");

    // Scale to 0: invocations refused; back to 1: accepted.
    let r = call(
        a.addr,
        "POST",
        "/system/scale-function/wire2",
        &json!({"serviceName": "wire2", "replicas": 0}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let r = call(a.addr, "GET", "/system/function/wire2", &Value::Null);
    assert_eq!(
        (&r.body["replicas"], &r.body["availableReplicas"]),
        (&json!(0), &json!(0))
    );
    let r = call(a.addr, "POST", "/function/wire2", &Value::Null);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(error_of(&r).contains("scaled to 0"), "{}", r.body);
    let r = call(
        a.addr,
        "POST",
        "/system/scale-function/wire2",
        &json!({"serviceName": "wire2", "replicas": 2}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let r = call(a.addr, "GET", "/system/function/wire2", &Value::Null);
    assert_eq!(
        (&r.body["replicas"], &r.body["availableReplicas"]),
        (&json!(2), &json!(4))
    );
    // An update keeps the replicas.
    let r = call(
        a.addr,
        "PUT",
        "/system/functions",
        &json!({"service": "wire2", "image": "nfbpf:wire2"}),
    );
    assert_eq!(
        (r.status, &r.body["replicas"]),
        (202, &json!(2)),
        "{}",
        r.body
    );

    // Remove, with invocations queued: they are cancelled first.
    for _ in 0..3 {
        let r = call(a.addr, "POST", "/async-function/wire2", &Value::Null);
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let r = call(
        a.addr,
        "DELETE",
        "/system/functions",
        &json!({"functionName": "wire2", "namespace": "openfaas-fn"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["deleted"], "wire2");
    let r = call(
        a.addr,
        "DELETE",
        "/system/functions",
        &json!({"functionName": "wire2"}),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let r = call(a.addr, "GET", "/system/function/wire2", &Value::Null);
    assert_eq!(r.status, 404);
    let r = call(
        a.addr,
        "DELETE",
        "/system/functions",
        &json!({"functionName": "wire"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(a.addr, "GET", "/system/functions", &Value::Null);
    assert_eq!(r.body, json!([]));
}

/// A function made with the agent's own API shows in the OpenFaaS list
/// with defaults and is adopted by a deploy whose image names it; a deploy
/// from a base64 object works without clang in the agent's path.
#[test]
fn own_functions_are_listed_and_adopted_objects_deploy() {
    if !clang() {
        return;
    }
    let a = start();
    let r = call(
        a.addr,
        "POST",
        "/functions",
        &json!({"name": "own", "source": wire_source()}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let object = call(a.addr, "GET", "/functions/own", &Value::Null).body["object"].clone();
    let r = call(a.addr, "GET", "/system/function/own", &Value::Null);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["image"], "nfbpf:own");
    assert_eq!(r.body["replicas"], 1);
    assert_eq!(r.body["labels"], json!({}));
    // faas-cli deploy --image nfbpf:own --name own: PUT adopts it.
    let r = call(
        a.addr,
        "PUT",
        "/system/functions",
        &json!({"service": "own", "image": "nfbpf:own", "labels": {"k": "v"}}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["labels"], json!({"k": "v"}));
    // POST naming itself adopts too (no 409: nothing to compile).
    let r = call(
        a.addr,
        "POST",
        "/system/functions",
        &json!({"service": "own", "image": "nfbpf:own"}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    // From a base64 object.
    let r = call(
        a.addr,
        "POST",
        "/system/functions",
        &json!({"service": "obj", "image": "anything", "annotations": {"nfbpf.object": object}}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["image"], "anything");
    let t = Instant::now();
    let r = call(a.addr, "POST", "/function/obj", &Value::Null);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["outcome"], "completed");
    assert!(t.elapsed() < Duration::from_secs(60));
    // Source and object together: refused.
    let r = call(
        a.addr,
        "POST",
        "/system/functions",
        &json!({"service": "both", "image": "x", "annotations": {"nfbpf.object": object, "nfbpf.source": "int x;"}}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(error_of(&r).contains("not both"), "{}", r.body);
    // A source that does not compile: 4xx naming the problem.
    let r = call(
        a.addr,
        "POST",
        "/system/functions",
        &json!({"service": "broken", "image": "x", "annotations": {"nfbpf.source": "this is not C"}}),
    );
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
    assert!(!error_of(&r).is_empty());
}

/// A synchronous invocation waiting in the queue is answered 409 when a
/// scale to 0 cancels it; the run ahead of it, cancelled, is answered with
/// its record (`cancelled`).
#[test]
fn scale_to_zero_answers_the_waiting_invocations() {
    if !clang() {
        return;
    }
    let a = start();
    for name in ["long", "short"] {
        let r = call(
            a.addr,
            "POST",
            "/system/functions",
            &json!({"service": name, "image": "x", "annotations": {"nfbpf.source": wire_source()}}),
        );
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let addr = a.addr;
    let long =
        std::thread::spawn(move || call(addr, "POST", "/function/long?run_time=300", &Value::Null));
    // Wait until `long` runs.
    let t = Instant::now();
    loop {
        let s = call(a.addr, "GET", "/status", &Value::Null);
        if s.body["running"]["function"] == "long" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "long never ran: {}",
            s.body
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let short = std::thread::spawn(move || call(addr, "POST", "/function/short", &Value::Null));
    let t = Instant::now();
    while call(a.addr, "GET", "/queue", &Value::Null).body["length"] != 1 {
        assert!(t.elapsed() < Duration::from_secs(30), "short never queued");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = call(
        a.addr,
        "POST",
        "/system/scale-function/short",
        &json!({"replicas": 0}),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        r.body["cancelled"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    let r = short.join().unwrap();
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        error_of(&r).contains("cancelled before it ran"),
        "{}",
        r.body
    );
    // Removing `long` cancels its run; its waiting caller gets the record.
    let r = call(
        a.addr,
        "DELETE",
        "/system/functions",
        &json!({"functionName": "long"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = long.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["outcome"], "cancelled");
}
