//! The HTTP JSON API (`docs/api.md`, `docs/openapi.yaml`): hyper (HTTP/1.1,
//! keep-alive) on a small tokio runtime. [`Front`] admits a request (Host
//! and Origin, credentials, body type and size, every bound of
//! [`crate::limits::Limits`]); its body is read within a time limit; then it
//! goes, whole, to the pure router [`handle`] on tokio's blocking pool (a
//! create compiles with clang, the store syncs to disk). Every request gets
//! a JSON answer; a bad request gets a 4xx `{"error": MESSAGE}` naming the
//! problem, and nothing a client sends can stop the agent.
//!
//! | route | what |
//! |---|---|
//! | `POST /functions` | register (compile, validate) |
//! | `GET /functions[?limit=N&after=NAME]` | list, a page at a time |
//! | `GET PUT DELETE /functions/{name}` | read, replace, remove |
//! | `POST /functions/{name}/invoke` | queue an invocation; of a lambda, send its request (raw bytes) and answer with its response ([`lambda_call`]) |
//! | `GET /queue[?limit=N&after=ID]` | the queue, a page at a time |
//! | `GET /queue/{id}` | an invocation's state and result |
//! | `DELETE /queue/{id}` | cancel (queued or running) |
//! | `GET /status` | running function, remaining time, queue, timeline, device counters; each device's state, pending runs, interruptions |
//! | `GET /healthz` | `{"status": "ok"}`, without credentials |
//! | `/system/...`, `/function/{name}`, `/async-function/{name}` | the OpenFaaS provider API ([`crate::openfaas`]) |

use crate::auth::Credentials;
use crate::limits::{Limits, PAGE_DEFAULT};
use crate::registry::{self, Code, Function, Reject};
use crate::scheduler::{Cancelled, Scheduler, now_ms};
use crate::store::{Refused, StoreError};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// An answer: status and JSON body (or raw bytes: a lambda's response).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// Extra response headers (name, value), e.g. `X-Call-Id`.
    pub headers: Vec<(String, String)>,
    /// Sent instead of `body`, as `application/octet-stream`.
    pub raw: Option<Vec<u8>>,
}

pub(crate) fn ok(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body,
        headers: Vec::new(),
        raw: None,
    }
}

pub(crate) fn err(status: u16, msg: impl Into<String>) -> Reply {
    ok(status, json!({ "error": msg.into() }))
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

impl Reply {
    /// The HTTP response: pretty JSON; a 401 names the scheme to use, a
    /// 429 or 503 says when to retry, and a refusal before the body was
    /// read closes the connection (the unread body cannot be skipped).
    fn into_response(self, close: bool) -> Response<Full<Bytes>> {
        let (bytes, ct) = match self.raw {
            Some(b) => (Bytes::from(b), "application/octet-stream"),
            None => (
                Bytes::from(
                    serde_json::to_string_pretty(&self.body).unwrap_or_else(|_| "{}".into()),
                ),
                "application/json",
            ),
        };
        let mut r = Response::new(Full::new(bytes));
        *r.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        if self.status == 401 {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"nfbpf\""),
            );
        }
        if matches!(self.status, 429 | 503) {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if close {
            h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                header::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                h.insert(k, v);
            }
        }
        r
    }
}

/// Who sent a request: the credential's name when the agent checks
/// credentials, else the peer's address. Per-client limits count by it,
/// and a function can be replaced or deleted only by the client that
/// created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    /// The name comes from a checked credential.
    pub authenticated: bool,
}

impl Caller {
    /// A caller for in-process use (tests, tools in the same process).
    pub fn local() -> Caller {
        Caller {
            name: "local".into(),
            authenticated: false,
        }
    }
}

/// What the HTTP front checks before a request reaches [`handle`].
#[derive(Debug, Clone, Default)]
pub struct Front {
    /// Credentials every route but `GET /healthz` requires (None: none).
    pub auth: Option<Credentials>,
    /// Host names clients may address the agent by, besides `localhost`
    /// and IP literals (a name an attacker's DNS answers with 127.0.0.1
    /// is not among them: DNS rebinding fails the Host check).
    pub hosts: Vec<String>,
    pub limits: Limits,
}

/// How long a stop waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Worker threads of the HTTP runtime (the handlers run on its blocking
/// pool, at most [`Limits::requests`] threads).
pub const WORKERS: usize = 2;
/// Largest request head (request line and headers), bytes.
pub const HEAD_MAX: usize = 64 << 10;

/// Serve on `listener` until `stop` is notified (graceful: requests in
/// flight are answered, idle keep-alive connections are closed).
pub fn serve(
    listener: std::net::TcpListener,
    sched: Arc<Scheduler>,
    front: Arc<Front>,
    stop: Arc<Notify>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .max_blocking_threads(front.limits.requests.max(1))
        .thread_name("nfbpf-api")
        .enable_io()
        .enable_time()
        .build()?;
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let conns = Arc::new(Semaphore::new(front.limits.connections.max(1)));
        let gate = Arc::new(Gates {
            requests: Arc::new(Semaphore::new(front.limits.requests.max(1))),
            body_kib: Semaphore::new(kib(front.limits.bodies_in_flight) as usize),
        });
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            let (stream, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors or the like: wait for
                        // connections to close rather than spin.
                        eprintln!("nfbpf agent: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = stop.notified() => break,
            };
            let Ok(permit) = Arc::clone(&conns).try_acquire_owned() else {
                refuse_connection(&stream, front.limits.connections);
                continue;
            };
            let header_timeout = front.limits.header_timeout;
            let (sched, front, gate) = (Arc::clone(&sched), Arc::clone(&front), Arc::clone(&gate));
            let svc = hyper::service::service_fn(move |req| {
                let (sched, front, gate) =
                    (Arc::clone(&sched), Arc::clone(&front), Arc::clone(&gate));
                async move { Ok::<_, Infallible>(respond(sched, front, gate, peer, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(HEAD_MAX)
                .serve_connection(TokioIo::new(stream), svc);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                // A connection error (reset, timeout, malformed request) ends
                // that connection only.
                let _ = conn.await;
                drop(permit);
            });
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(SHUTDOWN_GRACE) => {}
        }
        Ok::<_, std::io::Error>(())
    });
    rt.shutdown_timeout(SHUTDOWN_GRACE);
    served
}

/// A connection over [`Limits::connections`]: one 503 written without
/// waiting (the socket's send buffer is empty), then closed.
fn refuse_connection(stream: &tokio::net::TcpStream, max: usize) {
    let body = json!({ "error": format!("over {max} open connections; retry") }).to_string();
    let text = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(text.as_bytes());
}

/// The host part of a `Host` header or an origin's authority, lowercase,
/// without port or IPv6 brackets.
fn host_part(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match a.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h.to_string(),
        _ => a,
    }
}

impl Front {
    /// May a client address the agent as `host`?
    fn host_allowed(&self, host: &str) -> bool {
        host == "localhost"
            || host.parse::<IpAddr>().is_ok()
            || self.hosts.iter().any(|h| h == host)
    }

    /// May a browser page from `origin` use the agent? Only pages served
    /// from this host's loopback or the configured names.
    fn origin_allowed(&self, origin: &str) -> bool {
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        if !matches!(scheme, "http" | "https") {
            return false;
        }
        let host = host_part(authority);
        host == "localhost"
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || self.hosts.contains(&host)
    }

    /// The checks before routing: Host, Origin, credentials, body type and
    /// size. `Err` is the refusal.
    fn admit(
        &self,
        peer: SocketAddr,
        method: &str,
        path: &str,
        h: &HeaderMap,
    ) -> Result<Caller, Reply> {
        let text = |n: header::HeaderName| h.get(n).and_then(|v| v.to_str().ok());
        match text(header::HOST) {
            None => return Err(err(400, "the request has no Host header")),
            Some(host) if !self.host_allowed(&host_part(host)) => {
                return Err(err(
                    403,
                    format!(
                        "Host `{}` is not a name of this agent (allowed: localhost, IP addresses{}); start the agent with --host-name NAME to allow a name",
                        host.escape_debug(),
                        self.hosts
                            .iter()
                            .map(|h| format!(", {h}"))
                            .collect::<String>()
                    ),
                ));
            }
            Some(_) => {}
        }
        if let Some(o) = h.get(header::ORIGIN) {
            let o = o.to_str().unwrap_or("");
            if !self.origin_allowed(o) {
                return Err(err(
                    403,
                    format!(
                        "requests from pages of origin `{}` are refused",
                        o.escape_debug()
                    ),
                ));
            }
        }
        if method == "GET" && path == "/healthz" {
            return Ok(Caller {
                name: String::new(),
                authenticated: false,
            });
        }
        let caller = match &self.auth {
            Some(creds) => {
                match creds.check(h.get(header::AUTHORIZATION).map(HeaderValue::as_bytes)) {
                    Some(name) => Caller {
                        name,
                        authenticated: true,
                    },
                    None => {
                        return Err(err(
                            401,
                            if h.contains_key(header::AUTHORIZATION) {
                                "wrong credentials"
                            } else {
                                "credentials required (HTTP basic auth or a bearer token)"
                            },
                        ));
                    }
                }
            }
            None => Caller {
                name: peer.ip().to_string(),
                authenticated: false,
            },
        };
        let length = text(header::CONTENT_LENGTH).map(|l| l.trim().parse::<u64>());
        let chunked = h.contains_key(header::TRANSFER_ENCODING);
        let has_body = chunked || matches!(length, Some(Ok(n)) if n > 0);
        match length {
            Some(Err(_)) => return Err(err(400, "Content-Length is not a number")),
            Some(Ok(n)) if n > self.limits.body_max as u64 => {
                return Err(err(
                    413,
                    format!(
                        "request body of {n} bytes: the limit is {} bytes",
                        self.limits.body_max
                    ),
                ));
            }
            _ => {}
        }
        // OpenFaaS routes take any body: an invocation's is the caller's
        // (any type), and the gateway forwards deploys as faas-cli sent them.
        // An invocation's body may also be a lambda's request, raw bytes
        // as `application/octet-stream` (a type no cross-site form can
        // send without a CORS preflight, which the agent never allows);
        // the invoke route checks which one its function takes.
        if has_body && !crate::openfaas::is_route(path) {
            let ct = text(header::CONTENT_TYPE).unwrap_or("");
            let essence = ct.split(';').next().unwrap_or("").trim();
            let raw = is_invoke(path) && essence.eq_ignore_ascii_case("application/octet-stream");
            if !essence.eq_ignore_ascii_case("application/json") && !raw {
                return Err(err(
                    415,
                    format!(
                        "Content-Type `{}`: request bodies are JSON (Content-Type: application/json){}",
                        ct.escape_debug(),
                        if is_invoke(path) {
                            ", or a lambda's request as raw bytes (Content-Type: application/octet-stream)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        Ok(caller)
    }
}

/// `/functions/{name}/invoke`.
fn is_invoke(path: &str) -> bool {
    matches!(
        path.trim_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice(),
        ["functions", _, "invoke"]
    )
}

/// The semaphores every connection shares: requests handled at once, and
/// KiB of request bodies being received.
#[derive(Debug)]
struct Gates {
    requests: Arc<Semaphore>,
    body_kib: Semaphore,
}

/// `bytes` in KiB permits, rounded up (a semaphore holds at most
/// `u32::MAX` permits at once).
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024))
        .unwrap_or(u32::MAX)
        .max(1)
}

/// One request: admitted by [`Front::admit`], its body read (bounded in
/// size and time), then routed by [`handle`] on the blocking pool.
async fn respond(
    sched: Arc<Scheduler>,
    front: Arc<Front>,
    gate: Arc<Gates>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_string();
    let url = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let path = req.uri().path().to_string();
    let headers: Vec<(String, String)> = crate::openfaas::HEADERS
        .iter()
        .chain(&["content-type"])
        .filter_map(|&n| {
            let v = req.headers().get(n)?.to_str().ok()?;
            Some((n.to_string(), v.to_string()))
        })
        .collect();
    let caller = match front.admit(peer, &method, &path, req.headers()) {
        Ok(c) => c,
        Err(r) => return r.into_response(true),
    };
    let max = front.limits.body_max;
    // Memory for the body, reserved before it is read: its Content-Length,
    // or the largest body when chunked (none when it has no body).
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<usize>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    let need = if chunked { max } else { length.unwrap_or(0) };
    let _reserved = if need == 0 {
        None
    } else {
        match gate.body_kib.try_acquire_many(kib(need)) {
            Ok(p) => Some(p),
            Err(_) => {
                return err(
                    503,
                    format!(
                        "over {} MiB of request bodies are being received; retry",
                        front.limits.bodies_in_flight >> 20
                    ),
                )
                .into_response(true);
            }
        }
    };
    let read = Limited::new(req.into_body(), max).collect();
    let body = match tokio::time::timeout(front.limits.body_timeout, read).await {
        Err(_) => {
            return err(
                408,
                format!(
                    "the request body did not arrive within {} s",
                    front.limits.body_timeout.as_secs()
                ),
            )
            .into_response(true);
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return err(413, format!("request body over {max} bytes")).into_response(true);
        }
        Ok(Err(e)) => {
            return err(400, format!("cannot read the request body: {e}")).into_response(true);
        }
        Ok(Ok(b)) => b.to_bytes(),
    };
    let Ok(permit) = Arc::clone(&gate.requests).try_acquire_owned() else {
        return err(
            503,
            format!("over {} requests at once; retry", front.limits.requests),
        )
        .into_response(false);
    };
    let reply = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        handle_with(&sched, &caller, &method, &url, &headers, &body)
    })
    .await;
    reply
        .unwrap_or_else(|e| err(500, format!("the request's handler failed: {e}")))
        .into_response(false)
}

/// Route one request from `caller` (also the entry point of the
/// in-process tests).
pub fn handle(sched: &Scheduler, caller: &Caller, method: &str, url: &str, body: &[u8]) -> Reply {
    handle_with(sched, caller, method, url, &[], body)
}

/// [`handle`] with the request headers the OpenFaaS invocation reads
/// ([`crate::openfaas::HEADERS`]).
pub fn handle_with(
    sched: &Scheduler,
    caller: &Caller,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Reply {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    if let Some(r) = crate::openfaas::route(sched, caller, method, path, query, headers, body) {
        return r;
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let allow = |m: &str| {
        err(
            405,
            format!("method {method} not allowed on {path} (allowed: {m})"),
        )
    };
    let page = match Page::parse(query, sched.limits().page_max) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match (parts.as_slice(), method) {
        (["healthz"], "GET") => ok(200, json!({ "status": "ok" })),
        (["healthz"], _) => allow("GET"),
        (["functions"], "POST") => create(sched, caller, body),
        (["functions"], "GET") => list(sched, &page),
        (["functions"], _) => allow("GET, POST"),
        (["functions", name], "GET") => get(sched, name),
        (["functions", name], "PUT") => update(sched, caller, name, body),
        (["functions", name], "DELETE") => delete(sched, caller, name),
        (["functions", _], _) => allow("GET, PUT, DELETE"),
        (["functions", name, "invoke"], "POST") => invoke(sched, caller, name, headers, body),
        (["functions", _, "invoke"], _) => allow("POST"),
        (["queue"], "GET") => queue(sched, &page),
        (["queue"], _) => allow("GET"),
        (["queue", id], "DELETE") => cancel(sched, caller, id),
        (["queue", id], "GET") => invocation(sched, caller, id),
        (["queue", _], _) => allow("GET, DELETE"),
        (["status"], "GET") => match sched.status() {
            Ok(s) => ok(200, s),
            Err(e) => e.into(),
        },
        (["status"], _) => allow("GET"),
        _ => err(
            404,
            format!(
                "no route {method} {path}: the API has /functions, /functions/{{name}}, /functions/{{name}}/invoke, /queue, /queue/{{id}}, /status, /healthz, and the OpenFaaS provider routes /system/... and /function/{{name}}"
            ),
        ),
    }
}

/// A page of a listing: `?limit=N&after=CURSOR` (CURSOR: the last name or
/// id of the previous page, as its `next` gives it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub after: Option<String>,
}

impl Page {
    fn parse(query: &str, max: usize) -> Result<Page, Reply> {
        let mut p = Page {
            limit: PAGE_DEFAULT.min(max),
            after: None,
        };
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "limit" => {
                    p.limit = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=max).contains(n))
                        .ok_or_else(|| {
                            err(400, format!("limit={v}: a page holds 1..{max} entries"))
                        })?;
                }
                "after" => p.after = Some(v.to_string()),
                // Other parameters belong to other routes' clients; ignored
                // as HTTP servers do.
                _ => {}
            }
        }
        Ok(p)
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
        "owner": f.owner,
        "budget": f.budget.map_or(nfbpf_vm::contract::DEVICE_INSN_BUDGET, u64::from),
        "program": f.program,
        "map_sizes": f.map_sizes,
        "kind": if f.lambda.is_some() { "lambda" } else { "network" },
        "lambda": f.lambda,
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
pub(crate) fn build(
    sched: &Scheduler,
    caller: &Caller,
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
    let lambda = registry::lambda(o)?;
    // A lambda loops over its request's body: its own budget unless given.
    let budget = o
        .get("budget")
        .map(registry::budget)
        .transpose()?
        .or(lambda.map(|_| nfbpf_vm::contract::LAMBDA_INSN_BUDGET as u32));
    let program = o.get("program").map(registry::program).transpose()?;
    let map_sizes = o
        .get("map_sizes")
        .map(registry::map_sizes)
        .transpose()?
        .unwrap_or_default();
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
    let user_headers = match (o.get("headers"), &code) {
        (None, _) => Vec::new(),
        (Some(_), Code::Object(_)) => {
            return Err(err(
                400,
                "headers: only a `source` is compiled; an `object` takes no headers",
            ));
        }
        (Some(h), Code::Source(_)) => registry::headers(h, sched.limits())?,
    };
    let (source, object) = match code {
        Code::Source(s) => {
            let Some(_slot) = sched.compile_slot(&caller.name) else {
                return Err(err(
                    429,
                    format!(
                        "client `{}` has {} compiles in flight, the limit per client; retry when one ends",
                        caller.name,
                        sched.limits().compiles_per_client
                    ),
                ));
            };
            let obj = tools.compile_with(name, &s, &user_headers)?;
            (Some(s), obj)
        }
        Code::Object(b) => (None, b),
    };
    let image = tools.validate_with(&object, program.as_deref(), &map_sizes)?;
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
        owner: String::new(),
        budget,
        program,
        map_sizes,
        lambda,
    })
}

fn create(sched: &Scheduler, caller: &Caller, body: &[u8]) -> Reply {
    let o = match object(body, crate::wire::FunctionRequest::FIELDS) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let name = match o.get("name") {
        Some(Value::String(n)) => n.clone(),
        Some(v) => return err(400, format!("name: expected a string, got {v}")),
        None => return err(400, "`name` is missing"),
    };
    // Cheap refusals before compiling.
    match sched.store().function(&name) {
        Ok(Some(_)) => return exists(&name),
        Ok(None) => {}
        Err(e) => return e.into(),
    }
    match sched.store().function_room(&caller.name, sched.limits()) {
        Ok(Ok(())) => {}
        Ok(Err(r)) => return refused(&name, r),
        Err(e) => return e.into(),
    }
    let mut f = match build(sched, caller, &name, &o) {
        Ok(f) => f,
        Err(r) => return r,
    };
    f.owner = caller.name.clone();
    match sched.store().put_function(&f, true, sched.limits()) {
        Ok(Ok(f)) => ok(201, summary(&f)),
        Ok(Err(r)) => refused(&name, r),
        Err(e) => e.into(),
    }
}

fn exists(name: &str) -> Reply {
    err(
        409,
        format!("function `{name}` exists (PUT /functions/{name} replaces it)"),
    )
}

pub(crate) fn unknown(name: &str) -> Reply {
    err(404, format!("unknown function `{name}`"))
}

/// The store's refusal as an answer.
pub(crate) fn refused(name: &str, r: Refused) -> Reply {
    match r {
        Refused::Exists => exists(name),
        Refused::Missing => unknown(name),
        Refused::InUse(ids) => {
            let ids: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
            err(
                409,
                format!(
                    "function `{name}` has invocations queued or running ({}): cancel them first (DELETE /queue/{{id}})",
                    ids.join(", ")
                ),
            )
        }
        Refused::Limit(msg) => err(429, msg),
    }
}

fn list(sched: &Scheduler, page: &Page) -> Reply {
    match sched
        .store()
        .functions_page(page.after.as_deref(), page.limit)
    {
        Ok((total, fs, more)) => ok(
            200,
            json!({
                "total": total,
                "functions": fs.iter().map(summary).collect::<Vec<_>>(),
                "next": if more { fs.last().map(|f| json!(f.name)) } else { None },
            }),
        ),
        Err(e) => e.into(),
    }
}

fn queue(sched: &Scheduler, page: &Page) -> Reply {
    let after = match page.after.as_deref().map(str::parse::<u64>) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => return err(400, "after: a queue cursor is an invocation id"),
    };
    match sched.store().queue_page(after, page.limit) {
        Ok((len, q, more)) => ok(
            200,
            json!({
                "length": len,
                "queue": crate::scheduler::redact(json!(q)),
                "next": if more { q.last().map(|i| json!(i.id.to_string())) } else { None },
            }),
        ),
        Err(e) => e.into(),
    }
}

/// A function may be replaced or deleted, and its invocations cancelled,
/// only by the client that created it (when the agent checks credentials).
pub(crate) fn owner_check(caller: &Caller, owner: &str, what: &str) -> Result<(), Reply> {
    if caller.authenticated && !owner.is_empty() && owner != caller.name {
        return Err(err(
            403,
            format!(
                "{what} belongs to client `{owner}`; `{}` may not change it",
                caller.name
            ),
        ));
    }
    Ok(())
}

fn get(sched: &Scheduler, name: &str) -> Reply {
    match sched.store().function(name) {
        Ok(Some(f)) => ok(200, detail(&f)),
        Ok(None) => unknown(name),
        Err(e) => e.into(),
    }
}

fn update(sched: &Scheduler, caller: &Caller, name: &str, body: &[u8]) -> Reply {
    let o = match object(body, crate::wire::FunctionRequest::FIELDS) {
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
    let owner = match sched.store().function(name) {
        Ok(None) => return unknown(name),
        Ok(Some(old)) => old.owner,
        Err(e) => return e.into(),
    };
    if let Err(r) = owner_check(caller, &owner, &format!("function `{name}`")) {
        return r;
    }
    let mut f = match build(sched, caller, name, &o) {
        Ok(f) => f,
        Err(r) => return r,
    };
    f.owner = owner;
    match sched.store().put_function(&f, false, sched.limits()) {
        Ok(Ok(f)) => ok(200, summary(&f)),
        Ok(Err(r)) => refused(name, r),
        Err(e) => e.into(),
    }
}

fn delete(sched: &Scheduler, caller: &Caller, name: &str) -> Reply {
    match sched.store().function(name) {
        Ok(None) => return unknown(name),
        Ok(Some(f)) => {
            if let Err(r) = owner_check(caller, &f.owner, &format!("function `{name}`")) {
                return r;
            }
        }
        Err(e) => return e.into(),
    }
    match sched.store().delete_function(name) {
        Ok(Ok(())) => ok(200, json!({ "deleted": name })),
        Ok(Err(r)) => refused(name, r),
        Err(e) => e.into(),
    }
}

fn invoke(
    sched: &Scheduler,
    caller: &Caller,
    name: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Reply {
    let f = match sched.store().function(name) {
        Ok(f) => f,
        Err(e) => return e.into(),
    };
    if let Some(f) = &f
        && f.lambda.is_some()
    {
        if body.is_empty() {
            return err(
                400,
                format!(
                    "function `{name}` is a lambda: the invocation's body is its request (raw bytes, Content-Type: application/octet-stream), and this one is empty"
                ),
            );
        }
        return lambda_call(sched, caller, f, body, false);
    }
    let ct = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str());
    if let Some(ct) = ct
        && !body.is_empty()
        && !ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/json")
    {
        if f.is_none() {
            return unknown(name);
        }
        return err(
            415,
            format!(
                "Content-Type `{}`: function `{name}` is a network function, whose invocation body is JSON ({{\"run_time\": N}}, Content-Type: application/json); a raw request body is for lambdas (\"kind\": \"lambda\")",
                ct.escape_debug()
            ),
        );
    }
    let rt = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match object(body, crate::wire::InvokeRequest::FIELDS) {
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
    match sched
        .store()
        .enqueue(name, run_time, now_ms(), &caller.name, sched.limits())
    {
        Ok(Ok(inv)) => ok(202, json!(inv)),
        Ok(Err(r)) => refused(name, r),
        Err(e) => e.into(),
    }
}

/// Longest wait of `POST /functions/{name}/invoke` of a lambda for its
/// answer (wall time); past it a 504 with the invocation's id, whose result
/// `GET /queue/{id}` gives once it ran.
pub const LAMBDA_WAIT: Duration = Duration::from_secs(30);

/// The body of a lambda's response record: the response bytes, or why
/// there are none (status and message).
fn lambda_result(rec: &crate::scheduler::RunRecord) -> Result<Vec<u8>, (u16, String)> {
    use base64::Engine as _;
    let o = &rec.outcome;
    match &rec.response {
        Some(b) if o == "completed" => base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|e| (500, format!("the stored response is not base64: {e}"))),
        _ if o.starts_with("failed: the lambda refused") => Err((422, o.clone())),
        _ if o.starts_with("failed: no answer") => Err((504, o.clone())),
        _ if o == "cancelled" => Err((409, format!("invocation {} was cancelled", rec.id))),
        _ => Err((502, o.clone())),
    }
}

/// Invoke lambda `f` with request `body`: queue it, wait (at most
/// [`LAMBDA_WAIT`]) for its run, and answer with the response body (200,
/// `application/octet-stream`), an error naming the outcome (422 the lambda
/// refused the request, 504 no answer in its run time, 502 it did not
/// take the request or the device failed, 409 cancelled), or a 504 with
/// the invocation's id when it has not run yet. `asynchronous`: answer 202
/// with the queued invocation at once.
pub(crate) fn lambda_call(
    sched: &Scheduler,
    caller: &Caller,
    f: &Function,
    body: &[u8],
    asynchronous: bool,
) -> Reply {
    use base64::Engine as _;
    let max = crate::limits::LAMBDA_REQUEST_MAX;
    if body.len() > max {
        return err(
            413,
            format!(
                "a request of {} bytes for lambda `{}`: the limit is {max} bytes",
                body.len(),
                f.name
            ),
        );
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    let inv = match sched.store().enqueue_request(
        &f.name,
        f.default_run_time,
        now_ms(),
        &caller.name,
        sched.limits(),
        Some(b64),
    ) {
        Ok(Ok(inv)) => inv,
        Ok(Err(r)) => return refused(&f.name, r),
        Err(e) => return e.into(),
    };
    let id_header = vec![("X-Nfbpf-Invocation".to_string(), inv.id.to_string())];
    let with = |mut r: Reply| {
        r.headers = id_header.clone();
        r
    };
    if asynchronous {
        let mut v = json!(inv);
        if let Some(o) = v.as_object_mut() {
            o.remove("request");
        }
        return with(ok(202, v));
    }
    let start = std::time::Instant::now();
    // Polls of the store: 1 ms apart at first (an answer in a few ms is
    // seen at once), doubling to 20 ms, so a caller waiting the whole
    // LAMBDA_WAIT costs about 1,500 store reads, not 15,000.
    let mut nap = Duration::from_millis(1);
    loop {
        match sched.store().run_record(inv.id) {
            Ok(Some(rec)) => {
                return with(match lambda_result(&rec) {
                    Ok(b) => Reply {
                        raw: Some(b),
                        ..ok(200, Value::Null)
                    },
                    Err((status, msg)) => ok(status, json!({ "error": msg, "id": inv.id })),
                });
            }
            Ok(None) => {}
            Err(e) => return e.into(),
        }
        match sched.store().invocation(inv.id) {
            Ok(None) if sched.store().run_record(inv.id).ok().flatten().is_none() => {
                // Not queued any more and no record: cancelled while
                // queued, or running (a running one is not in the queue).
                if !running(sched, inv.id) {
                    return with(err(
                        409,
                        format!("invocation {} was cancelled before it ran", inv.id),
                    ));
                }
            }
            Ok(_) => {}
            Err(e) => return e.into(),
        }
        if start.elapsed() >= LAMBDA_WAIT || sched.stopping() {
            return with(ok(
                504,
                json!({
                    "error": format!(
                        "lambda `{}` has not answered after {} s; GET /queue/{} gives the result once it ran",
                        f.name,
                        start.elapsed().as_secs(),
                        inv.id
                    ),
                    "id": inv.id,
                }),
            ));
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// Is invocation `id` running (or waiting for a device after an
/// interruption) on some device?
fn running(sched: &Scheduler, id: u64) -> bool {
    sched
        .store()
        .running_all()
        .is_ok_and(|r| r.iter().any(|(_, r)| r.invocation.id == id))
        || sched.store().run_record(id).ok().flatten().is_some()
}

/// `GET /queue/{id}`: where invocation `id` is: queued, running, or ended
/// with its record (a lambda's record with its response, base64, for the
/// client that invoked it only).
fn invocation(sched: &Scheduler, caller: &Caller, id: &str) -> Reply {
    let Ok(n) = id.parse::<u64>() else {
        return err(400, format!("queue id `{id}` is not a number"));
    };
    match sched.store().run_record(n) {
        Ok(Some(rec)) => {
            if caller.authenticated && !rec.owner.is_empty() && rec.owner != caller.name {
                return err(
                    403,
                    format!(
                        "invocation {n} belongs to client `{}`; `{}` may not read its response",
                        rec.owner, caller.name
                    ),
                );
            }
            let mut v = json!({ "state": "ended", "record": rec });
            // The response as text too, when it is UTF-8 (the record has
            // it in base64 either way).
            if rec.response.is_some()
                && let Ok(b) = lambda_result(&rec)
                && let Ok(t) = String::from_utf8(b)
            {
                v["response_text"] = json!(t);
            }
            return ok(200, v);
        }
        Ok(None) => {}
        Err(e) => return e.into(),
    }
    match sched.store().invocation(n) {
        Ok(Some(inv)) => {
            return ok(
                200,
                json!({ "state": "queued", "invocation": crate::scheduler::redact(json!([inv]))[0] }),
            );
        }
        Ok(None) => {}
        Err(e) => return e.into(),
    }
    if running(sched, n) {
        return ok(200, json!({ "state": "running", "id": n }));
    }
    err(
        404,
        format!("no invocation {n} queued, running or in the timeline"),
    )
}

fn cancel(sched: &Scheduler, caller: &Caller, id: &str) -> Reply {
    let Ok(n) = id.parse::<u64>() else {
        return err(400, format!("queue id `{id}` is not a number"));
    };
    match sched.store().invocation(n) {
        Ok(Some(inv)) => {
            if let Err(r) = owner_check(caller, &inv.owner, &format!("invocation {n}")) {
                return r;
            }
        }
        Ok(None) => {}
        Err(e) => return e.into(),
    }
    match sched.cancel(n) {
        Ok(Cancelled::Queued(inv)) => ok(200, json!({ "cancelled": inv, "was": "queued" })),
        Ok(Cancelled::Running(inv)) => ok(200, json!({ "cancelled": inv, "was": "running" })),
        Ok(Cancelled::NotFound) => err(404, format!("no queued or running invocation {n}")),
        Err(e) => e.into(),
    }
}
