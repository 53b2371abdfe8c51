//! The HTTP JSON API (`docs/api.md`, `docs/openapi.yaml`): HTTP/1.1 on a
//! std `TcpListener`, one thread per connection, one request per connection
//! (every answer has `Connection: close`). Every request gets a JSON answer; a bad
//! request gets a 4xx `{"error": MESSAGE}` naming the problem, and nothing a
//! client sends can stop the agent.
//!
//! | route | what |
//! |---|---|
//! | `POST /functions` | register (compile, validate) |
//! | `GET /functions` | list |
//! | `GET PUT DELETE /functions/{name}` | read, replace, remove |
//! | `POST /functions/{name}/invoke` | queue an invocation |
//! | `GET /queue` | the queue |
//! | `DELETE /queue/{id}` | cancel (queued or running) |
//! | `GET /status` | running function, remaining time, queue, timeline, device counters |

use crate::registry::{self, Code, Function, Reject};
use crate::scheduler::{Cancelled, Scheduler, now_ms};
use crate::store::{Refused, StoreError};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Largest request body (a C source or a base64 object).
pub const BODY_MAX: usize = 4 << 20;

/// An answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

fn ok(status: u16, body: Value) -> Reply {
    Reply { status, body }
}

fn err(status: u16, msg: impl Into<String>) -> Reply {
    Reply {
        status,
        body: json!({ "error": msg.into() }),
    }
}

impl From<Reject> for Reply {
    fn from(r: Reject) -> Reply {
        err(r.status, r.msg)
    }
}

impl From<StoreError> for Reply {
    fn from(e: StoreError) -> Reply {
        err(500, e.to_string())
    }
}

/// Connections served at once; past this a connection gets a 503.
pub const CONNECTIONS_MAX: usize = 512;
/// Longest request line or header line, and most header lines.
const LINE_MAX: u64 = 8192;
const HEADERS_MAX: usize = 100;
/// A client that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Accept connections on `listener` until `stop` is set (then one more
/// connection wakes the accept), one thread per connection.
pub fn serve(listener: TcpListener, sched: Arc<Scheduler>, stop: Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(stream) = conn else { continue };
        if active.fetch_add(1, Ordering::AcqRel) >= CONNECTIONS_MAX {
            active.fetch_sub(1, Ordering::AcqRel);
            let _ = write_reply(
                &stream,
                &err(
                    503,
                    format!("over {CONNECTIONS_MAX} connections at once; retry"),
                ),
            );
            continue;
        }
        let (s, a) = (Arc::clone(&sched), Arc::clone(&active));
        std::thread::spawn(move || {
            let _ = connection(stream, &s);
            a.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Content",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

fn write_reply(mut stream: &TcpStream, reply: &Reply) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&reply.body).unwrap_or_else(|_| "{}".into());
    write!(
        stream,
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        reply.status,
        reason(reply.status),
        text.len()
    )?;
    stream.flush()
}

/// One line (without CRLF), at most `LINE_MAX` bytes.
fn line(r: &mut impl BufRead) -> Result<String, Reply> {
    let mut buf = Vec::new();
    r.take(LINE_MAX)
        .read_until(b'\n', &mut buf)
        .map_err(|e| err(400, format!("cannot read the request: {e}")))?;
    if !buf.ends_with(b"\n") {
        return Err(err(
            400,
            format!("request line or header over {LINE_MAX} bytes, or cut short"),
        ));
    }
    let s = String::from_utf8(buf).map_err(|_| err(400, "request head is not UTF-8"))?;
    Ok(s.trim_end_matches(['\r', '\n']).to_string())
}

/// Read one request (one per connection: every answer closes it).
fn request(r: &mut impl BufRead) -> Result<(String, String, Vec<u8>), Reply> {
    let first = line(r)?;
    let mut it = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(err(
            400,
            format!("malformed request line `{}`", first.escape_debug()),
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(err(
            400,
            format!("unsupported protocol `{version}` (HTTP/1.x)"),
        ));
    }
    let mut length = 0usize;
    for n in 0.. {
        let h = line(r)?;
        if h.is_empty() {
            break;
        }
        if n >= HEADERS_MAX {
            return Err(err(400, format!("over {HEADERS_MAX} header lines")));
        }
        let Some((k, v)) = h.split_once(':') else {
            return Err(err(400, format!("malformed header `{}`", h.escape_debug())));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("content-length") {
            length = v
                .parse()
                .map_err(|_| err(400, format!("Content-Length `{v}` is not a number")))?;
        } else if k.eq_ignore_ascii_case("transfer-encoding") && !v.eq_ignore_ascii_case("identity")
        {
            return Err(err(
                400,
                format!("Transfer-Encoding `{v}` is not supported: send Content-Length"),
            ));
        }
    }
    if length > BODY_MAX {
        return Err(err(413, format!("request body over {BODY_MAX} bytes")));
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body).map_err(|e| {
        err(
            400,
            format!("body shorter than its Content-Length {length}: {e}"),
        )
    })?;
    Ok((method.to_string(), target.to_string(), body))
}

fn connection(stream: TcpStream, sched: &Scheduler) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut r = BufReader::new(stream.try_clone()?);
    let reply = match request(&mut r) {
        Ok((method, target, body)) => handle(sched, &method, &target, &body),
        Err(reply) => reply,
    };
    write_reply(&stream, &reply)?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// Route one request (also the entry point of the in-process tests).
pub fn handle(sched: &Scheduler, method: &str, url: &str, body: &[u8]) -> Reply {
    let path = url.split('?').next().unwrap_or("");
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let allow = |m: &str| {
        err(
            405,
            format!("method {method} not allowed on {path} (allowed: {m})"),
        )
    };
    match (parts.as_slice(), method) {
        (["functions"], "POST") => create(sched, body),
        (["functions"], "GET") => list(sched),
        (["functions"], _) => allow("GET, POST"),
        (["functions", name], "GET") => get(sched, name),
        (["functions", name], "PUT") => update(sched, name, body),
        (["functions", name], "DELETE") => delete(sched, name),
        (["functions", _], _) => allow("GET, PUT, DELETE"),
        (["functions", name, "invoke"], "POST") => invoke(sched, name, body),
        (["functions", _, "invoke"], _) => allow("POST"),
        (["queue"], "GET") => match sched.store().queue() {
            Ok(q) => ok(200, json!({ "length": q.len(), "queue": q })),
            Err(e) => e.into(),
        },
        (["queue"], _) => allow("GET"),
        (["queue", id], "DELETE") => cancel(sched, id),
        (["queue", _], _) => allow("DELETE"),
        (["status"], "GET") => match sched.status() {
            Ok(s) => ok(200, s),
            Err(e) => e.into(),
        },
        (["status"], _) => allow("GET"),
        _ => err(
            404,
            format!(
                "no route {method} {path}: the API has /functions, /functions/{{name}}, /functions/{{name}}/invoke, /queue, /queue/{{id}}, /status"
            ),
        ),
    }
}

/// The body as a JSON object; `fields` are the ones allowed.
fn object(body: &[u8], fields: &[&str]) -> Result<serde_json::Map<String, Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(err(400, "malformed body: empty (expected a JSON object)"));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| err(400, format!("malformed body: not JSON: {e}")))?;
    let Value::Object(o) = v else {
        return Err(err(
            400,
            format!("malformed body: expected a JSON object, got {v}"),
        ));
    };
    if let Some(k) = o.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(err(
            400,
            format!("unknown field `{k}` (allowed: {})", fields.join(", ")),
        ));
    }
    Ok(o)
}

const FUNCTION_FIELDS: &[&str] = &[
    "name",
    "source",
    "object",
    "abi",
    "default_run_time",
    "rules",
];

fn summary(f: &Function) -> Value {
    json!({
        "name": f.name,
        "abi": f.abi,
        "default_run_time": f.default_run_time,
        "version": f.version,
        "slots": f.slots,
        "maps": f.maps,
        "rules": f.rules.len(),
        "from_source": f.source.is_some(),
        "object_bytes": f.object.len(),
        "created_ms": f.created_ms,
        "updated_ms": f.updated_ms,
    })
}

fn detail(f: &Function) -> Value {
    use base64::Engine as _;
    let mut v = summary(f);
    v["source"] = json!(f.source);
    v["object"] = json!(base64::engine::general_purpose::STANDARD.encode(&f.object));
    v["rules"] = json!(
        f.rules
            .iter()
            .map(|r| json!({ "map": r.map, "key": format!("hex:{}", hex(&r.key)), "value": format!("hex:{}", hex(&r.value)) }))
            .collect::<Vec<_>>()
    );
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Build a function from a create/update body.
fn build(
    sched: &Scheduler,
    name: &str,
    o: &serde_json::Map<String, Value>,
) -> Result<Function, Reply> {
    registry::check_name(name)?;
    let tools = sched.tools();
    let want = registry::abi_name(tools.abi);
    if let Some(a) = o.get("abi") {
        let s = a.as_str().unwrap_or("");
        match registry::parse_abi(s) {
            None => return Err(err(400, format!("abi {a}: expected \"sume\" or \"xdp\""))),
            Some(x) if x != tools.abi => {
                return Err(err(
                    422,
                    format!(
                        "abi `{s}`: the agent's device runs the {want} ABI (start the agent with --abi {s} for {s} functions)"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let default_run_time = match o.get("default_run_time") {
        Some(v) => registry::run_time("default_run_time", v)?,
        None => registry::RUN_TIME_DEFAULT,
    };
    let code = match (o.get("source"), o.get("object")) {
        (Some(_), Some(_)) => {
            return Err(err(
                400,
                "give either `source` (C) or `object` (base64 clang object), not both",
            ));
        }
        (None, None) => {
            return Err(err(
                400,
                "`source` (C source text) or `object` (base64 clang object) is missing",
            ));
        }
        (Some(Value::String(s)), None) => Code::Source(s.clone()),
        (Some(v), None) => {
            return Err(err(400, format!("source: expected a string of C, got {v}")));
        }
        (None, Some(Value::String(s))) => Code::Object(registry::object_b64(s)?),
        (None, Some(v)) => {
            return Err(err(
                400,
                format!("object: expected a base64 string, got {v}"),
            ));
        }
    };
    let (source, object) = match code {
        Code::Source(s) => {
            let obj = tools.compile(name, &s)?;
            (Some(s), obj)
        }
        Code::Object(b) => (None, b),
    };
    let image = tools.validate(&object)?;
    let rules = match o.get("rules") {
        Some(v) => registry::rules(v, &image)?,
        None => Vec::new(),
    };
    let now = now_ms();
    Ok(Function {
        name: name.to_string(),
        abi: want.to_string(),
        default_run_time,
        source,
        object,
        rules,
        slots: image.insns.len(),
        maps: registry::map_infos(&image),
        version: 1,
        created_ms: now,
        updated_ms: now,
    })
}

fn create(sched: &Scheduler, body: &[u8]) -> Reply {
    let o = match object(body, FUNCTION_FIELDS) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let name = match o.get("name") {
        Some(Value::String(n)) => n.clone(),
        Some(v) => return err(400, format!("name: expected a string, got {v}")),
        None => return err(400, "`name` is missing"),
    };
    // Cheap refusal before compiling.
    match sched.store().function(&name) {
        Ok(Some(_)) => return exists(&name),
        Ok(None) => {}
        Err(e) => return e.into(),
    }
    let f = match build(sched, &name, &o) {
        Ok(f) => f,
        Err(r) => return r,
    };
    match sched.store().put_function(&f, true) {
        Ok(Ok(f)) => ok(201, summary(&f)),
        Ok(Err(_)) => exists(&name),
        Err(e) => e.into(),
    }
}

fn exists(name: &str) -> Reply {
    err(
        409,
        format!("function `{name}` exists (PUT /functions/{name} replaces it)"),
    )
}

fn unknown(name: &str) -> Reply {
    err(404, format!("unknown function `{name}`"))
}

fn list(sched: &Scheduler) -> Reply {
    match sched.store().functions() {
        Ok(fs) => ok(
            200,
            json!({ "functions": fs.iter().map(summary).collect::<Vec<_>>() }),
        ),
        Err(e) => e.into(),
    }
}

fn get(sched: &Scheduler, name: &str) -> Reply {
    match sched.store().function(name) {
        Ok(Some(f)) => ok(200, detail(&f)),
        Ok(None) => unknown(name),
        Err(e) => e.into(),
    }
}

fn update(sched: &Scheduler, name: &str, body: &[u8]) -> Reply {
    let o = match object(body, FUNCTION_FIELDS) {
        Ok(o) => o,
        Err(r) => return r,
    };
    if let Some(n) = o.get("name")
        && n.as_str() != Some(name)
    {
        return err(
            400,
            format!("name {n} in the body differs from `{name}` in the path"),
        );
    }
    match sched.store().function(name) {
        Ok(None) => return unknown(name),
        Ok(Some(_)) => {}
        Err(e) => return e.into(),
    }
    let f = match build(sched, name, &o) {
        Ok(f) => f,
        Err(r) => return r,
    };
    match sched.store().put_function(&f, false) {
        Ok(Ok(f)) => ok(200, summary(&f)),
        Ok(Err(_)) => unknown(name),
        Err(e) => e.into(),
    }
}

fn delete(sched: &Scheduler, name: &str) -> Reply {
    match sched.store().delete_function(name) {
        Ok(Ok(())) => ok(200, json!({ "deleted": name })),
        Ok(Err(Refused::InUse(ids))) => err(
            409,
            format!(
                "function `{name}` has invocations queued or running ({ids:?}): cancel them first (DELETE /queue/{{id}})"
            ),
        ),
        Ok(Err(_)) => unknown(name),
        Err(e) => e.into(),
    }
}

fn invoke(sched: &Scheduler, name: &str, body: &[u8]) -> Reply {
    let rt = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match object(body, &["run_time"]) {
            Ok(o) => match o.get("run_time") {
                Some(v) => match registry::run_time("run_time", v) {
                    Ok(n) => Some(n),
                    Err(r) => return r.into(),
                },
                None => None,
            },
            Err(r) => return r,
        }
    };
    let f = match sched.store().function(name) {
        Ok(Some(f)) => f,
        Ok(None) => return unknown(name),
        Err(e) => return e.into(),
    };
    let run_time = rt.unwrap_or(f.default_run_time);
    match sched.store().enqueue(name, run_time, now_ms()) {
        Ok(Ok(inv)) => ok(202, json!(inv)),
        Ok(Err(_)) => unknown(name),
        Err(e) => e.into(),
    }
}

fn cancel(sched: &Scheduler, id: &str) -> Reply {
    let Ok(n) = id.parse::<u64>() else {
        return err(400, format!("queue id `{id}` is not a number"));
    };
    match sched.cancel(n) {
        Ok(Cancelled::Queued(inv)) => ok(200, json!({ "cancelled": inv, "was": "queued" })),
        Ok(Cancelled::Running(inv)) => ok(200, json!({ "cancelled": inv, "was": "running" })),
        Ok(Cancelled::NotFound) => err(404, format!("no queued or running invocation {n}")),
        Err(e) => e.into(),
    }
}
