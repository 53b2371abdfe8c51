//! The HTTP JSON API (`docs/api.md`, `docs/openapi.yaml`): axum (HTTP/1.1,
//! keep-alive) on a small tokio runtime; every request goes, whole, to the
//! pure router [`handle`] on tokio's blocking pool (a create compiles with
//! clang, the store syncs to disk). Every request gets a JSON answer; a bad
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
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

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

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let text = serde_json::to_string_pretty(&self.body).unwrap_or_else(|_| "{}".into());
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
    }
}

/// Requests handled at once; past this a request gets a 503.
pub const CONNECTIONS_MAX: usize = 512;
/// Worker threads of the HTTP runtime (the handlers run on its blocking
/// pool, at most [`CONNECTIONS_MAX`] threads).
pub const WORKERS: usize = 2;
/// How long a stop waits for handlers still running.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serve on `listener` until `stop` is notified (graceful: requests in
/// flight are answered, idle keep-alive connections are closed).
pub fn serve(
    listener: std::net::TcpListener,
    sched: Arc<Scheduler>,
    stop: Arc<Notify>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .max_blocking_threads(CONNECTIONS_MAX)
        .thread_name("nfbpf-api")
        .enable_io()
        .enable_time()
        .build()?;
    let gate = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    let app = axum::Router::new()
        .fallback(
            move |method: Method, uri: Uri, body: Result<Bytes, BytesRejection>| {
                let (sched, gate) = (Arc::clone(&sched), Arc::clone(&gate));
                async move { respond(sched, gate, method, uri, body).await }
            },
        )
        .layer(DefaultBodyLimit::max(BODY_MAX));
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.notified().await })
            .await
    });
    rt.shutdown_timeout(SHUTDOWN_GRACE);
    served
}

/// One request: its body read whole (at most [`BODY_MAX`]), then routed by
/// [`handle`] on the blocking pool.
async fn respond(
    sched: Arc<Scheduler>,
    gate: Arc<Semaphore>,
    method: Method,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    let body = match body {
        Ok(b) => b,
        Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            return err(413, format!("request body over {BODY_MAX} bytes"));
        }
        Err(r) => {
            return err(
                r.status().as_u16(),
                format!("cannot read the request body: {}", r.body_text()),
            );
        }
    };
    let Ok(permit) = gate.try_acquire_owned() else {
        return err(
            503,
            format!("over {CONNECTIONS_MAX} requests at once; retry"),
        );
    };
    let url = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
    let reply = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        handle(&sched, method.as_str(), &url, &body)
    })
    .await;
    reply.unwrap_or_else(|e| err(500, format!("the request's handler failed: {e}")))
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
