//! The client of the agent's HTTP API (`docs/api.md`), what `nfbpf fn` and
//! `nfbpf agent bench` use: [`Client`], one method per API call, each
//! returning the agent's answer as a type ([`Answer`], with the JSON it was
//! read from) or a [`ClientError`] (an error answer carries the HTTP status
//! and the agent's message); where a client finds the agent and its
//! credentials ([`agent_url`], [`auth_file`]); and the body of a create or
//! update built from files ([`function_request`]: the source or object,
//! the headers a source includes, a rules file).

use crate::registry::MapInfo;
use crate::scheduler::{Interruption, Invocation, RunRecord};
use crate::wire::{FunctionRequest, InvokeRequest};
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The agent a client talks to when not told.
pub const DEFAULT_AGENT: &str = "http://127.0.0.1:8080";
/// The variable naming the agent's URL.
pub const AGENT_ENV: &str = "NFBPF_AGENT";
/// The variable naming the credentials file.
pub const AUTH_ENV: &str = "NFBPF_AGENT_AUTH";

/// The agent's URL: `arg` (`--agent`), else `$NFBPF_AGENT`, else
/// [`DEFAULT_AGENT`].
pub fn agent_url(arg: Option<&str>) -> String {
    arg.map(String::from)
        .or_else(|| std::env::var(AGENT_ENV).ok())
        .unwrap_or_else(|| DEFAULT_AGENT.to_string())
}

/// The credentials file a client uses: `arg` (`--auth`), else
/// `$NFBPF_AGENT_AUTH`.
pub fn auth_file(arg: Option<&Path>) -> Option<PathBuf> {
    arg.map(Path::to_path_buf)
        .or_else(|| std::env::var_os(AUTH_ENV).map(PathBuf::from))
}

/// Why a call got no answer of the kind asked for.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The agent could not be reached (an I/O failure).
    #[error("agent {base}: {cause}{hint}")]
    Unreachable {
        base: String,
        cause: String,
        /// How to start an agent, when the connection was refused.
        hint: String,
    },
    /// The agent answered with an error status.
    #[error("agent answered {status}: {message}")]
    Status {
        status: u16,
        /// The agent's `error` (else the whole answer).
        message: String,
        /// The answer as the agent sent it.
        body: Value,
    },
    #[error("agent {base}: reading the answer")]
    Read {
        base: String,
        #[source]
        e: std::io::Error,
    },
    #[error("agent {base}: answer is not JSON ({e}): {text}")]
    NotJson {
        base: String,
        e: serde_json::Error,
        text: String,
    },
    /// A success answer that is not what the call answers.
    #[error("agent {base}: unexpected answer to {call} ({e})")]
    Unexpected {
        base: String,
        call: String,
        e: serde_json::Error,
    },
}

impl ClientError {
    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The agent could not be reached.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
    }
}

/// A typed answer and the JSON it was read from (as the agent sent it).
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub value: T,
    pub json: Value,
}

impl<T> std::ops::Deref for Answer<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A function as create, update and list describe it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionSummary {
    pub name: String,
    pub abi: String,
    pub default_run_time: u32,
    pub version: u64,
    pub slots: usize,
    pub maps: Vec<MapInfo>,
    /// Instructions per packet the device allows it.
    pub budget: u64,
    pub program: Option<String>,
    #[serde(default)]
    pub owner: String,
    /// A lambda's ID and port (None: a network function).
    #[serde(default)]
    pub lambda: Option<crate::registry::Lambda>,
}

/// A function as `GET /functions/NAME` shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionDetail {
    #[serde(flatten)]
    pub summary: FunctionSummary,
    pub source: Option<String>,
    /// The clang object, base64.
    pub object: String,
    /// The map rules, `{"map", "key", "value"}` with `hex:` bytes.
    pub rules: Vec<Value>,
}

/// Every function (`GET /functions`, all pages).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionList {
    pub total: u64,
    pub functions: Vec<FunctionSummary>,
}

/// The queue (`GET /queue`, all pages).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Queue {
    pub length: u64,
    pub queue: Vec<Invocation>,
}

/// A deleted function.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Deleted {
    pub deleted: String,
}

/// A cancelled invocation and what it was (`queued` or `running`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Cancelled {
    pub cancelled: Invocation,
    pub was: String,
}

/// The running invocation in a [`Status`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunningStatus {
    pub id: u64,
    pub function: String,
    pub version: u64,
    pub run_time: u32,
    pub elapsed_s: f64,
    pub remaining_s: f64,
    pub start_s: f64,
    pub deadline_s: f64,
    pub resumed: u32,
    pub cancelling: bool,
}

/// The invocation written into the idle bank ahead of its start.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Staged {
    pub id: u64,
    pub function: String,
    pub version: u64,
    pub staged_at_s: f64,
}

/// The head of the queue in a [`Status`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueueHead {
    pub length: u64,
    pub head: Vec<Invocation>,
}

/// `GET /status`: the device, the running function, the queue and the
/// timeline. The device's counters and the conservation check are in the
/// answer's JSON ([`Answer::json`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Status {
    pub target: String,
    pub clock: String,
    /// As the agent wrote it (`1.0`, `0.001`).
    pub time_scale: serde_json::Number,
    pub now_s: Option<f64>,
    pub cycle: Option<u64>,
    /// The function that stays loaded when nothing runs.
    pub loaded: Option<String>,
    pub running: Option<RunningStatus>,
    pub next_staged: Option<Staged>,
    pub queue: QueueHead,
    pub timeline: Vec<RunRecord>,
    pub last_error: Option<String>,
    /// Every device (one for an agent on one device).
    #[serde(default)]
    pub devices: Vec<DeviceStatus>,
    /// Devices answering now.
    #[serde(default)]
    pub answering: usize,
    /// Runs waiting for a device before the queue (interrupted by a
    /// restart, or moved off a device that stopped answering).
    #[serde(default)]
    pub pending: Vec<PendingRun>,
    /// The latest runs cut short by a device that stopped answering.
    #[serde(default)]
    pub interrupted: Vec<Interruption>,
}

/// One device in a [`Status`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeviceStatus {
    pub target: String,
    /// `answering` or `stopped`.
    pub state: String,
    /// Since when and why it stopped answering.
    pub stopped: Option<Stopped>,
    pub engines: u32,
    /// Runs started on it since the agent started.
    pub runs: u64,
    pub loaded: Option<String>,
    pub running: Option<RunningStatus>,
    pub next_staged: Option<Staged>,
    pub last_error: Option<String>,
}

/// Why a device stopped answering.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Stopped {
    pub since_ms: u64,
    pub reason: String,
}

/// A run waiting for a device in a [`Status`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PendingRun {
    pub id: u64,
    pub function: String,
    pub elapsed_s: f64,
    /// The device it was cut off from (None: interrupted by a restart).
    pub moved_from: Option<String>,
}

/// An HTTP client of the agent.
pub struct Client {
    base: String,
    http: ureq::Agent,
    /// The `Authorization` header sent with every request.
    authorization: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

/// `Basic BASE64(pair)`, the HTTP basic auth header of `NAME:SECRET`.
pub fn basic_auth(pair: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

impl Client {
    /// A client of the agent at `base` (`http://HOST:PORT`).
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .build(),
            authorization: None,
        }
    }

    /// The agent's URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Send `NAME:SECRET` as HTTP basic auth with every request.
    pub fn with_auth_pair(mut self, pair: Option<&str>) -> Client {
        self.authorization = pair.map(basic_auth);
        self
    }

    /// Send the first credential of `file` with every request.
    pub fn with_auth(mut self, file: Option<&Path>) -> Result<Client, crate::auth::AuthFileError> {
        if let Some(f) = file {
            let c = crate::auth::Credentials::from_file(f)?;
            self.authorization = c.basic_header();
        }
        Ok(self)
    }

    /// One request, the answer's status and JSON body as they come: only
    /// transport failures are errors, an error status is an answer.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .set("Content-Type", "application/json");
        if let Some(a) = &self.authorization {
            req = req.set("Authorization", a);
        }
        let r = match body {
            Some(b) => req.send_string(&b.to_string()),
            None => req.call(),
        };
        let resp = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                let refused = std::error::Error::source(&t)
                    .and_then(|s| s.downcast_ref::<std::io::Error>())
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
                    || t.to_string().contains("Connection refused");
                let hint = if refused {
                    format!(
                        " (no agent listens there: start one with `nfbpf agent serve --listen {}`, or point --agent / $NFBPF_AGENT at a running one)",
                        listen_addr(&self.base)
                    )
                } else {
                    String::new()
                };
                return Err(ClientError::Unreachable {
                    base: self.base.clone(),
                    cause: t.to_string(),
                    hint,
                });
            }
        };
        let status = resp.status();
        let text = resp.into_string().map_err(|e| ClientError::Read {
            base: self.base.clone(),
            e,
        })?;
        let v = serde_json::from_str(&text).map_err(|e| ClientError::NotJson {
            base: self.base.clone(),
            e,
            text,
        })?;
        Ok((status, v))
    }

    /// A paginated listing (`GET path`), every page, its `key` arrays
    /// joined into the first answer (whose `next` is then null).
    pub fn call_all(&self, path: &str, key: &str) -> Result<(u16, Value), ClientError> {
        let (status, mut first) = self.call("GET", path, None)?;
        if status >= 400 {
            return Ok((status, first));
        }
        let mut next = first["next"].clone();
        while let Some(after) = next.as_str() {
            let (s, page) = self.call("GET", &format!("{path}?after={after}&limit=1000"), None)?;
            if s >= 400 {
                return Ok((s, page));
            }
            if let (Some(all), Some(more)) = (first[key].as_array_mut(), page[key].as_array()) {
                all.extend(more.iter().cloned());
            }
            next = page["next"].clone();
        }
        first["next"] = Value::Null;
        Ok((status, first))
    }

    /// An answer as `T`; an error status as [`ClientError::Status`].
    fn typed<T: DeserializeOwned>(
        &self,
        call: &str,
        answer: (u16, Value),
    ) -> Result<Answer<T>, ClientError> {
        let (status, json) = answer;
        if status >= 400 {
            let message = json["error"]
                .as_str()
                .map_or_else(|| json.to_string(), String::from);
            return Err(ClientError::Status {
                status,
                message,
                body: json,
            });
        }
        let value = T::deserialize(&json).map_err(|e| ClientError::Unexpected {
            base: self.base.clone(),
            call: call.to_string(),
            e,
        })?;
        Ok(Answer { value, json })
    }

    /// `POST /functions`: register a function.
    pub fn create(&self, f: &FunctionRequest) -> Result<Answer<FunctionSummary>, ClientError> {
        let body = serde_json::to_value(f).unwrap_or(Value::Null);
        self.typed(
            "POST /functions",
            self.call("POST", "/functions", Some(&body))?,
        )
    }

    /// `PUT /functions/NAME`: replace a function's code and settings.
    pub fn update(&self, f: &FunctionRequest) -> Result<Answer<FunctionSummary>, ClientError> {
        let path = format!("/functions/{}", f.name);
        let body = serde_json::to_value(f).unwrap_or(Value::Null);
        self.typed(
            &format!("PUT {path}"),
            self.call("PUT", &path, Some(&body))?,
        )
    }

    /// `GET /functions/NAME`.
    pub fn get(&self, name: &str) -> Result<Answer<FunctionDetail>, ClientError> {
        let path = format!("/functions/{name}");
        self.typed(&format!("GET {path}"), self.call("GET", &path, None)?)
    }

    /// `GET /functions`, every page.
    pub fn list(&self) -> Result<Answer<FunctionList>, ClientError> {
        self.typed("GET /functions", self.call_all("/functions", "functions")?)
    }

    /// `DELETE /functions/NAME`.
    pub fn delete(&self, name: &str) -> Result<Answer<Deleted>, ClientError> {
        let path = format!("/functions/{name}");
        self.typed(&format!("DELETE {path}"), self.call("DELETE", &path, None)?)
    }

    /// `POST /functions/NAME/invoke`: queue an invocation.
    pub fn invoke(
        &self,
        name: &str,
        body: &InvokeRequest,
    ) -> Result<Answer<Invocation>, ClientError> {
        let path = format!("/functions/{name}/invoke");
        let body = serde_json::to_value(body).unwrap_or(Value::Null);
        self.typed(
            &format!("POST {path}"),
            self.call("POST", &path, Some(&body))?,
        )
    }

    /// `POST /functions/NAME/invoke` of a lambda: `request` is sent as it
    /// is (`application/octet-stream`); the answer is the lambda's
    /// response body (the agent waits for it, bounded).
    pub fn invoke_lambda(&self, name: &str, request: &[u8]) -> Result<Vec<u8>, ClientError> {
        use std::io::Read as _;
        let path = format!("/functions/{name}/invoke");
        let mut req = self
            .http
            .request("POST", &format!("{}{path}", self.base))
            .set("Content-Type", "application/octet-stream");
        if let Some(a) = &self.authorization {
            req = req.set("Authorization", a);
        }
        let resp = match req.send_bytes(request) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(ClientError::Unreachable {
                    base: self.base.clone(),
                    cause: t.to_string(),
                    hint: String::new(),
                });
            }
        };
        let status = resp.status();
        let json = resp.content_type() == "application/json";
        let mut body = Vec::new();
        resp.into_reader()
            .take(crate::limits::LAMBDA_REQUEST_MAX as u64 * 2 + 65536)
            .read_to_end(&mut body)
            .map_err(|e| ClientError::Read {
                base: self.base.clone(),
                e,
            })?;
        if status == 200 && !json {
            return Ok(body);
        }
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Err(ClientError::Status {
            status,
            message: v["error"]
                .as_str()
                .map_or_else(|| String::from_utf8_lossy(&body).into_owned(), String::from),
            body: v,
        })
    }

    /// `GET /queue`, every page.
    pub fn queue(&self) -> Result<Answer<Queue>, ClientError> {
        self.typed("GET /queue", self.call_all("/queue", "queue")?)
    }

    /// `DELETE /queue/ID`: cancel a queued or running invocation.
    pub fn cancel(&self, id: u64) -> Result<Answer<Cancelled>, ClientError> {
        let path = format!("/queue/{id}");
        self.typed(&format!("DELETE {path}"), self.call("DELETE", &path, None)?)
    }

    /// `GET /status`.
    pub fn status(&self) -> Result<Answer<Status>, ClientError> {
        self.typed("GET /status", self.call("GET", "/status", None)?)
    }

    /// `GET /healthz`: the agent answers.
    pub fn healthy(&self) -> bool {
        matches!(self.call("GET", "/healthz", None), Ok((200, _)))
    }
}

/// `HOST:PORT` of an agent URL, for `--listen`.
fn listen_addr(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Why a create or update body could not be built from its files.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A file could not be read (`what` names it).
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        e: std::io::Error,
    },
    /// The files cannot be sent as they are.
    #[error("{0}")]
    Refused(String),
}

fn refused(msg: String) -> RequestError {
    RequestError::Refused(msg)
}

/// The body of a create or update of function `name` from `file`: a C
/// source (`.c`, sent as text with the headers it includes, looked up as
/// [`collect_headers`] does in `include`) or a clang object (sent base64),
/// with the rules of `rules` ([`read_rules`]). The other settings are left
/// for the caller to fill in.
pub fn function_request(
    name: &str,
    file: &Path,
    include: &[PathBuf],
    rules: Option<&Path>,
) -> Result<FunctionRequest, RequestError> {
    let bytes = std::fs::read(file).map_err(|e| RequestError::Io {
        what: file.display().to_string(),
        e,
    })?;
    let mut b = FunctionRequest {
        name: name.to_string(),
        rules: rules.map(read_rules).transpose()?,
        ..FunctionRequest::default()
    };
    if file.extension().is_some_and(|e| e == "c") {
        let src = String::from_utf8(bytes)
            .map_err(|_| refused(format!("{}: not UTF-8 text", file.display())))?;
        let headers = collect_headers(file, &src, include)?;
        b.headers = (!headers.is_empty()).then_some(headers);
        b.source = Some(src);
    } else {
        if let Some(d) = include.first() {
            return Err(refused(format!(
                "-I {}: include directories apply to a C source (`.c`), and {} is an object",
                d.display(),
                file.display()
            )));
        }
        b.object = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    Ok(b)
}

/// A rules file as the agent takes it: the JSON form as a JSON array,
/// the text form as a string (the agent parses both with the one rules
/// parser, against the function's maps).
pub fn read_rules(p: &Path) -> Result<Value, RequestError> {
    let t = std::fs::read_to_string(p).map_err(|e| RequestError::Io {
        what: p.display().to_string(),
        e,
    })?;
    if t.trim_start().starts_with('[') {
        return serde_json::from_str(&t).map_err(|e| {
            refused(format!(
                "{} line {}, column {}: not JSON: {e}",
                p.display(),
                e.line(),
                e.column()
            ))
        });
    }
    Ok(Value::String(t))
}

/// The names of the `#include "NAME"` lines of a C text (the quoted form
/// only: `<...>` names the agent's own or the system's headers).
fn quoted_includes(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix('#')?.trim_start();
            let rest = rest.strip_prefix("include")?.trim_start();
            let rest = rest.strip_prefix('"')?;
            rest.split_once('"').map(|(name, _)| name)
        })
        .collect()
}

/// The user's headers a C source includes, to send with it: each
/// `#include "NAME"` of the source, and of every header sent, looked up
/// beside the including file, then in the `-I` directories in order. A
/// name found nowhere is left to the agent (its built-in `sume.h` and
/// `nf_common.h`, or clang's error). What is found must be a plain
/// `NAME.h` file (the agent writes the headers beside the source), and all
/// of them fit the agent's default `headers` and `header-bytes` limits.
pub fn collect_headers(
    src_path: &Path,
    src: &str,
    dirs: &[PathBuf],
) -> Result<BTreeMap<String, String>, RequestError> {
    for d in dirs {
        if !d.is_dir() {
            return Err(refused(format!("-I {}: not a directory", d.display())));
        }
    }
    let limits = crate::limits::Limits::default();
    let here = |p: &Path| {
        p.parent()
            .map_or_else(|| PathBuf::from("."), |d| d.to_path_buf())
    };
    let mut found: BTreeMap<String, (PathBuf, String)> = Default::default();
    let mut total = 0usize;
    let mut todo = vec![(src_path.to_path_buf(), src.to_string())];
    while let Some((from, text)) = todo.pop() {
        let beside = here(&from);
        for name in quoted_includes(&text) {
            let Some(path) = std::iter::once(&beside)
                .chain(dirs)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
            else {
                continue;
            };
            let at = || {
                format!(
                    "{}: #include \"{name}\" ({})",
                    from.display(),
                    path.display()
                )
            };
            let io = |e| RequestError::Io { what: at(), e };
            if let Some(why) = crate::registry::header_name_problem(name) {
                return Err(refused(format!(
                    "{}: cannot be sent to the agent: {why}",
                    at()
                )));
            }
            let canon = path.canonicalize().map_err(io)?;
            if let Some((seen, _)) = found.get(name) {
                if *seen != canon {
                    return Err(refused(format!(
                        "{}: another `{name}` ({}) is sent already; the agent puts all headers in one directory",
                        at(),
                        seen.display()
                    )));
                }
                continue;
            }
            let bytes = std::fs::read(&path).map_err(io)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| refused(format!("{}: not UTF-8 text", at())))?;
            total += text.len();
            if found.len() + 1 > limits.headers {
                return Err(refused(format!(
                    "{}: more than {} headers to send (the agent's headers limit)",
                    at(),
                    limits.headers
                )));
            }
            if total > limits.header_bytes {
                return Err(refused(format!(
                    "{}: the headers to send take more than {} bytes (the agent's header-bytes limit)",
                    at(),
                    limits.header_bytes
                )));
            }
            found.insert(name.to_string(), (canon, text.clone()));
            todo.push((path, text));
        }
    }
    Ok(found.into_iter().map(|(k, (_, t))| (k, t)).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn quoted_includes_are_found_however_spaced() {
        let t = "#include \"a.h\"\n  #  include   \"b.h\" // x\n#include <sume.h>\n#define X \"c.h\"\n#include\"d.h\"\n";
        assert_eq!(quoted_includes(t), ["a.h", "b.h", "d.h"]);
    }

    #[test]
    fn headers_come_from_beside_the_source_then_the_include_dirs() {
        let d = tempfile::tempdir().unwrap();
        let (src_dir, inc) = (d.path().join("src"), d.path().join("inc"));
        std::fs::create_dir_all(&src_dir).unwrap();
        std::fs::create_dir_all(&inc).unwrap();
        let text = "#include \"sume.h\"\n#include \"near.h\"\n#include \"far.h\"\n";
        let src = write(&src_dir, "f.c", text);
        write(&src_dir, "near.h", "#include \"far.h\"\n#define NEAR 1\n");
        write(&inc, "far.h", "#include \"near.h\"\n#define FAR 2\n");
        let got = collect_headers(&src, text, std::slice::from_ref(&inc)).unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ["far.h", "near.h"]);
        assert!(got["far.h"].contains("FAR 2"));
        // Without the -I directory, far.h is left to the agent.
        let got = collect_headers(&src, text, &[]).unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ["near.h"]);
    }

    #[test]
    fn headers_that_cannot_be_sent_are_named() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub")).unwrap();
        write(&d.path().join("sub"), "x.h", "");
        write(d.path(), "t.inc", "");
        let src = d.path().join("f.c");
        let e = collect_headers(&src, "#include \"sub/x.h\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("#include \"sub/x.h\"") && e.contains("without `/`"),
            "{e}"
        );
        let e = collect_headers(&src, "#include \"t.inc\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("only `.h` headers"), "{e}");
        let e = collect_headers(&src, "", &[d.path().join("none")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("none: not a directory"), "{e}");
        // Two different headers of one name cannot share the build directory.
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        write(&a, "one.h", "#include \"two.h\"\n");
        write(&a, "two.h", "");
        write(&b, "two.h", "");
        write(&b, "three.h", "#include \"two.h\"\n");
        let e = collect_headers(&src, "#include \"one.h\"\n#include \"three.h\"\n", &[a, b])
            .unwrap_err()
            .to_string();
        assert!(e.contains("another `two.h`"), "{e}");
        // Past the agent's default header-bytes limit.
        let big = crate::limits::Limits::default().header_bytes + 1;
        write(d.path(), "big.h", &"x".repeat(big));
        let e = collect_headers(&src, "#include \"big.h\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("header-bytes limit"), "{e}");
    }

    #[test]
    fn rules_files_go_as_json_or_as_text() {
        let d = tempfile::tempdir().unwrap();
        let j = write(
            d.path(),
            "r.json",
            " [{\"map\": \"m\", \"key\": 1, \"value\": 2}]",
        );
        assert!(read_rules(&j).unwrap().is_array());
        let t = write(d.path(), "r.rules", "m 1 2\n");
        assert_eq!(read_rules(&t).unwrap(), Value::String("m 1 2\n".into()));
        let bad = write(d.path(), "bad.json", "[{\"map\": }]");
        let e = read_rules(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.json line 1, column") && e.contains("not JSON"),
            "{e}"
        );
    }

    #[test]
    fn an_unreachable_agent_says_how_to_start_one() {
        // A port nobody listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Client::new(&format!("http://127.0.0.1:{port}/"));
        let e = c.status().unwrap_err();
        assert!(e.is_unreachable() && e.status().is_none(), "{e}");
        let m = e.to_string();
        assert!(
            m.contains(&format!("nfbpf agent serve --listen 127.0.0.1:{port}")),
            "{m}"
        );
    }
}
