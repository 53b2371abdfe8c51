//! The OpenFaaS provider API (`docs/openfaas.md`): the routes the OpenFaaS
//! gateway speaks to its provider (faas-netes, faasd), served beside the
//! agent's own API so an unmodified gateway and `faas-cli` can deploy,
//! list, scale, invoke and remove eBPF functions.
//!
//! | route | what |
//! |---|---|
//! | `GET /system/functions[?namespace=NS]` | every function's status |
//! | `GET /system/function/{name}[?namespace=NS]` | one function's status |
//! | `POST PUT /system/functions` | deploy, update (202) |
//! | `DELETE /system/functions` | remove (`{"functionName"}`) |
//! | `POST /system/scale-function/{name}` | set replicas (0: cancel and refuse invocations) |
//! | `GET /system/info`, `GET /system/namespaces` | provider and namespaces |
//! | `ANY /function/{name}[.NS][/...]` | invoke: run it, answer its counters |
//! | `ANY /async-function/{name}[.NS][/...]` | invoke, answer at once (202) |
//!
//! Where the code comes from in a deploy (checked in this order): the
//! annotation `nfbpf.source` (C text, compiled like a create from source),
//! `nfbpf.object` (a base64 clang object), or `image: nfbpf:NAME` naming a
//! function the agent holds (its code is copied; NAME may be the service
//! itself, which adopts a function made with `nfbpf fn create`).
//!
//! Replicas: a device runs one program at a time on all its engines. On an
//! agent with one device a function with replicas >= 1 has every engine
//! (`availableReplicas`, 0 while the device does not answer) when its
//! invocation's turn comes. On an agent with several devices, replicas are
//! the most devices running the function's invocations at once (each
//! invocation runs on one device; more replicas let queued invocations of
//! the function run side by side), and `availableReplicas` is how many of
//! them the answering devices can hold (`min(replicas, answering
//! devices)`); the extra field `devices` names the devices running it now.
//! Replicas 0 cancels its invocations and refuses new ones until it is
//! scaled up again.

use crate::api::{Caller, Reply, err, ok, refused, unknown};
use crate::registry::{self, Function};
use crate::scheduler::{Cancelled, DeviceBrief, Scheduler, now_ms};
use crate::store::Refused;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The one namespace the agent serves.
pub const NAMESPACE: &str = "openfaas-fn";
/// The image prefix naming a function the agent holds: `nfbpf:NAME`.
pub const IMAGE_PREFIX: &str = "nfbpf:";
/// Most replicas a scale may ask for.
pub const REPLICAS_MAX: u64 = 1000;
/// Longest wait of a synchronous invocation for its run to end; past it
/// the answer is a 202 with the queued invocation.
pub const SYNC_WAIT: Duration = Duration::from_secs(600);
/// How long a removal waits for the function's cancelled run to end.
const REMOVE_WAIT: Duration = Duration::from_secs(5);
/// The annotations that give code or settings; any other `nfbpf.`
/// annotation is refused (a typo would otherwise be ignored).
pub const ANNOTATIONS: &[&str] = &[
    "nfbpf.source",
    "nfbpf.object",
    "nfbpf.run_time",
    "nfbpf.program",
    "nfbpf.budget",
    "nfbpf.rules",
];
/// Request headers the invocation reads (lowercase).
pub const HEADERS: &[&str] = &["x-call-id", "x-nfbpf-run-time", "x-nfbpf-async"];

/// A function's OpenFaaS deployment record (what a deploy sent, without
/// the code annotations, which live in the function itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub image: String,
    #[serde(default)]
    pub env_process: String,
    #[serde(default)]
    pub env_vars: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub limits: Option<Value>,
    #[serde(default)]
    pub requests: Option<Value>,
    #[serde(default)]
    pub read_only_root_filesystem: bool,
    pub replicas: u64,
}

impl Deployment {
    /// The record of a function created through the agent's own API.
    fn of(name: &str) -> Deployment {
        Deployment {
            image: format!("{IMAGE_PREFIX}{name}"),
            env_process: String::new(),
            env_vars: BTreeMap::new(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            constraints: Vec::new(),
            secrets: Vec::new(),
            limits: None,
            requests: None,
            read_only_root_filesystem: false,
            replicas: 1,
        }
    }
}

/// The request headers of an invocation ([`HEADERS`]), lowercase names.
pub type Headers = [(String, String)];

fn header<'a>(h: &'a Headers, name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Is `path` one of the OpenFaaS routes (`/system/...`, `/function/...`,
/// `/async-function/...`)?
pub fn is_route(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    matches!(first, "system" | "function" | "async-function")
}

/// Route an OpenFaaS request; None when the path is not one of its routes.
pub fn route(
    sched: &Scheduler,
    caller: &Caller,
    method: &str,
    path: &str,
    query: &str,
    headers: &Headers,
    body: &[u8],
) -> Option<Reply> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let allow = |m: &str| {
        err(
            405,
            format!("method {method} not allowed on {path} (allowed: {m})"),
        )
    };
    let r = match (parts.as_slice(), method) {
        (["system", "functions"], "GET") => list(sched, query),
        (["system", "functions"], "POST") => deploy(sched, caller, body, true),
        (["system", "functions"], "PUT") => deploy(sched, caller, body, false),
        (["system", "functions"], "DELETE") => remove(sched, caller, body),
        (["system", "functions"], _) => allow("GET, POST, PUT, DELETE"),
        (["system", "function", name], "GET") => one(sched, name, query),
        (["system", "function", _], _) => allow("GET"),
        (["system", "scale-function", name], "POST") => scale(sched, caller, name, body),
        (["system", "scale-function", _], _) => allow("POST"),
        (["system", "info"], "GET") => info(),
        (["system", "info"], _) => allow("GET"),
        (["system", "namespaces"], "GET") => ok(200, json!([NAMESPACE])),
        (["system", "namespaces"], _) => allow("GET"),
        (["system", ..], _) => err(
            404,
            format!(
                "no route {method} {path}: the OpenFaaS provider API has /system/functions, /system/function/{{name}}, /system/scale-function/{{name}}, /system/info, /system/namespaces"
            ),
        ),
        (["function", target, ..], _) => invoke(sched, caller, target, query, headers, body, false),
        (["async-function", target, ..], _) => {
            invoke(sched, caller, target, query, headers, body, true)
        }
        (["function" | "async-function"], _) => err(
            404,
            format!("no function named in {path}: invoke /function/{{name}}"),
        ),
        _ => return None,
    };
    Some(r)
}

/// `namespace=NS` of a query, checked (None: not given).
fn query_namespace(query: &str) -> Result<(), Reply> {
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if k == "namespace" {
            check_namespace(v)?;
        }
    }
    Ok(())
}

fn check_namespace(ns: &str) -> Result<(), Reply> {
    if ns.is_empty() || ns == NAMESPACE {
        Ok(())
    } else {
        Err(err(
            400,
            format!(
                "namespace `{}`: this agent serves the namespace {NAMESPACE} only",
                ns.escape_debug()
            ),
        ))
    }
}

/// Milliseconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// The deployment record of `name` (the default for a function created
/// through the agent's own API).
fn deployment(sched: &Scheduler, name: &str) -> Result<Deployment, Reply> {
    Ok(sched
        .store()
        .faas::<Deployment>(name)?
        .unwrap_or_else(|| Deployment::of(name)))
}

/// The replicas a function scaled to `replicas` has on `devs`: the
/// engines of the one device (0 while it does not answer), or with several
/// devices how many answering ones can run it at once.
pub fn available(devs: &[DeviceBrief], replicas: u64) -> u64 {
    if replicas == 0 {
        return 0;
    }
    let up = devs.iter().filter(|d| d.up);
    match devs {
        [one] => u64::from(if one.up { one.engines } else { 0 }),
        _ => replicas.min(up.count() as u64),
    }
}

/// The answering devices running an invocation of `name`.
fn running_on(devs: &[DeviceBrief], name: &str) -> Vec<String> {
    devs.iter()
        .filter(|d| d.up && d.running.as_deref() == Some(name))
        .map(|d| d.name.clone())
        .collect()
}

/// A function's status as OpenFaaS shows it.
fn status(sched: &Scheduler, f: &Function, devs: &[DeviceBrief]) -> Result<Value, Reply> {
    let d = deployment(sched, &f.name)?;
    let invoked = sched.store().invoked(&f.name)?;
    Ok(json!({
        "name": f.name,
        "image": d.image,
        "namespace": NAMESPACE,
        "envProcess": d.env_process,
        "envVars": d.env_vars,
        "labels": d.labels,
        "annotations": d.annotations,
        "constraints": d.constraints,
        "secrets": d.secrets,
        "limits": d.limits,
        "requests": d.requests,
        "readOnlyRootFilesystem": d.read_only_root_filesystem,
        "replicas": d.replicas,
        "availableReplicas": available(devs, d.replicas),
        "devices": running_on(devs, &f.name),
        "invocationCount": invoked,
        "createdAt": rfc3339(f.created_ms),
    }))
}

fn list(sched: &Scheduler, query: &str) -> Reply {
    if let Err(r) = query_namespace(query) {
        return r;
    }
    let fs = match sched.store().functions() {
        Ok(fs) => fs,
        Err(e) => return e.into(),
    };
    let devs = sched.devices();
    let mut out = Vec::with_capacity(fs.len());
    for f in &fs {
        match status(sched, f, &devs) {
            Ok(s) => out.push(s),
            Err(r) => return r,
        }
    }
    ok(200, Value::Array(out))
}

fn one(sched: &Scheduler, name: &str, query: &str) -> Reply {
    if let Err(r) = query_namespace(query) {
        return r;
    }
    match sched.store().function(name) {
        Ok(Some(f)) => match status(sched, &f, &sched.devices()) {
            Ok(s) => ok(200, s),
            Err(r) => r,
        },
        Ok(None) => unknown(name),
        Err(e) => e.into(),
    }
}

fn info() -> Reply {
    ok(
        200,
        json!({
            "provider": "nfbpf",
            "orchestration": "nfbpf",
            "version": {
                "sha": env!("NFBPF_AGENT_SHA"),
                "release": env!("CARGO_PKG_VERSION"),
            },
        }),
    )
}

/// The body as a JSON object (unknown fields are ignored, as OpenFaaS
/// providers do: the gateway's request types grow).
fn body_object(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(err(400, "malformed body: empty (expected a JSON object)"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(v) => Err(err(
            400,
            format!("malformed body: expected a JSON object, got {v}"),
        )),
        Err(e) => Err(err(400, format!("malformed body: not JSON: {e}"))),
    }
}

/// A body's optional `namespace` field: absent, or one the agent serves.
fn body_namespace(o: &Map<String, Value>) -> Result<(), Reply> {
    match string(o, "namespace")? {
        Some(ns) => check_namespace(&ns),
        None => Ok(()),
    }
}

fn string(o: &Map<String, Value>, k: &str) -> Result<Option<String>, Reply> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(err(400, format!("{k}: expected a string, got {v}"))),
    }
}

fn string_map(o: &Map<String, Value>, k: &str) -> Result<BTreeMap<String, String>, Reply> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(mk, mv)| match mv {
                Value::String(s) => Ok((mk.clone(), s.clone())),
                v => Err(err(400, format!("{k}.{mk}: expected a string, got {v}"))),
            })
            .collect(),
        Some(v) => Err(err(
            400,
            format!("{k}: expected an object of strings, got {v}"),
        )),
    }
}

fn string_list(o: &Map<String, Value>, k: &str) -> Result<Vec<String>, Reply> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                v => Err(err(400, format!("{k}: expected strings, got {v}"))),
            })
            .collect(),
        Some(v) => Err(err(
            400,
            format!("{k}: expected an array of strings, got {v}"),
        )),
    }
}

/// A deploy or update body: the service's name, its record, and the
/// code annotations (taken out of the record).
fn parse_deploy(body: &[u8]) -> Result<(String, Deployment, Map<String, Value>), Reply> {
    let o = body_object(body)?;
    let Some(service) = string(&o, "service")? else {
        return Err(err(400, "`service` (the function's name) is missing"));
    };
    registry::check_name(&service)?;
    body_namespace(&o)?;
    let image = string(&o, "image")?.unwrap_or_default();
    let mut annotations = string_map(&o, "annotations")?;
    for k in annotations.keys() {
        if k.starts_with("nfbpf.") && !ANNOTATIONS.contains(&k.as_str()) {
            return Err(err(
                400,
                format!(
                    "annotation `{}`: unknown (the nfbpf annotations are {})",
                    k.escape_debug(),
                    ANNOTATIONS.join(", ")
                ),
            ));
        }
    }
    // The create/update body of the agent's own API, from the annotations.
    let mut code = Map::new();
    for (k, field) in [
        ("nfbpf.source", "source"),
        ("nfbpf.object", "object"),
        ("nfbpf.program", "program"),
        ("nfbpf.rules", "rules"),
    ] {
        if let Some(v) = annotations.get(k) {
            code.insert(field.into(), Value::String(v.clone()));
        }
    }
    for (k, field) in [
        ("nfbpf.run_time", "default_run_time"),
        ("nfbpf.budget", "budget"),
    ] {
        if let Some(v) = annotations.get(k) {
            let n = v.trim().parse::<u64>().map_err(|_| {
                err(
                    400,
                    format!(
                        "annotation {k} `{}`: expected a whole number",
                        v.escape_debug()
                    ),
                )
            })?;
            code.insert(field.into(), json!(n));
        }
    }
    // The code lives in the function (GET /functions/{name}); the status
    // the gateway polls stays small.
    annotations.remove("nfbpf.source");
    annotations.remove("nfbpf.object");
    let read_only = match o.get("readOnlyRootFilesystem") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(err(
                400,
                format!("readOnlyRootFilesystem: expected a boolean, got {v}"),
            ));
        }
    };
    let obj = |k: &str| match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(v) => Err(err(400, format!("{k}: expected an object, got {v}"))),
    };
    let d = Deployment {
        image,
        env_process: string(&o, "envProcess")?.unwrap_or_default(),
        env_vars: string_map(&o, "envVars")?,
        labels: string_map(&o, "labels")?,
        annotations,
        constraints: string_list(&o, "constraints")?,
        secrets: string_list(&o, "secrets")?,
        limits: obj("limits")?,
        requests: obj("requests")?,
        read_only_root_filesystem: read_only,
        replicas: 1,
    };
    Ok((service, d, code))
}

/// `POST` (`create`) or `PUT /system/functions`.
fn deploy(sched: &Scheduler, caller: &Caller, body: &[u8], create: bool) -> Reply {
    let (name, mut d, code) = match parse_deploy(body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let has_code = code.contains_key("source") || code.contains_key("object");
    let image_fn = d.image.strip_prefix(IMAGE_PREFIX).map(str::to_string);
    let existing = match sched.store().function(&name) {
        Ok(f) => f,
        Err(e) => return e.into(),
    };
    if d.image.is_empty() {
        d.image = format!("{IMAGE_PREFIX}{name}");
    }
    match (&existing, create) {
        (Some(_), true) if image_fn.as_deref() != Some(&name) || has_code => {
            return err(
                409,
                format!(
                    "function `{name}` exists: update it (PUT /system/functions, `faas-cli deploy` does) or remove it first"
                ),
            );
        }
        (None, false) => return unknown(&name),
        _ => {}
    }
    if let Some(old) = &existing {
        if let Err(r) = crate::api::owner_check(caller, &old.owner, &format!("function `{name}`")) {
            return r;
        }
        // An update keeps the replicas it was scaled to.
        match sched.store().faas::<Deployment>(&name) {
            Ok(Some(prev)) => d.replicas = prev.replicas,
            Ok(None) => {}
            Err(e) => return e.into(),
        }
    }
    // The function's code: from the annotations, copied from the function
    // the image names, or (the image names the service itself) kept.
    let settings_only = code
        .keys()
        .all(|k| matches!(k.as_str(), "default_run_time"));
    if existing.is_none() {
        // The cheap refusal before a compile (put_function checks again).
        match sched.store().function_room(&caller.name, sched.limits()) {
            Ok(Ok(())) => {}
            Ok(Err(r)) => return refused(&name, r),
            Err(e) => return e.into(),
        }
    }
    let f: Option<Function> = if has_code {
        match crate::api::build(sched, caller, &name, &code) {
            Ok(f) => Some(f),
            Err(r) => return r,
        }
    } else if !settings_only {
        return err(
            400,
            "annotations nfbpf.program, nfbpf.budget and nfbpf.rules go with the code: give nfbpf.source or nfbpf.object too",
        );
    } else if let Some(from) = image_fn
        .as_deref()
        .filter(|f| *f != name || existing.is_none())
    {
        let src = match sched.store().function(from) {
            Ok(Some(f)) => f,
            Ok(None) => {
                return err(
                    404,
                    format!(
                        "image `{}` names function `{from}`, which the agent does not hold (create it first, or give the code in the annotation nfbpf.source or nfbpf.object)",
                        d.image.escape_debug()
                    ),
                );
            }
            Err(e) => return e.into(),
        };
        let now = now_ms();
        Some(Function {
            name: name.clone(),
            version: 1,
            created_ms: now,
            updated_ms: now,
            ..src
        })
    } else if let Some(old) = &existing {
        // The service itself: its code stays; only settings change.
        code.contains_key("default_run_time").then(|| {
            let mut f = old.clone();
            f.updated_ms = now_ms();
            f
        })
    } else {
        return err(
            400,
            format!(
                "no eBPF code for `{name}`: give C source in the annotation nfbpf.source, a base64 clang object in nfbpf.object, or image `{IMAGE_PREFIX}NAME` naming a function the agent holds (image `{}` is neither)",
                d.image.escape_debug()
            ),
        );
    };
    if let Some(mut f) = f {
        if let Some(v) = code.get("default_run_time") {
            match registry::run_time("annotation nfbpf.run_time", v) {
                Ok(n) => f.default_run_time = n,
                Err(r) => return r.into(),
            }
        }
        let new = existing.is_none();
        f.owner = existing
            .as_ref()
            .map_or_else(|| caller.name.clone(), |o| o.owner.clone());
        match sched.store().put_function(&f, new, sched.limits()) {
            Ok(Ok(_)) => {}
            Ok(Err(r)) => return refused(&name, r),
            Err(e) => return e.into(),
        }
    }
    match sched.store().put_faas(&name, &d) {
        Ok(Ok(())) => {}
        Ok(Err(r)) => return refused(&name, r),
        Err(e) => return e.into(),
    }
    let f = match sched.store().function(&name) {
        Ok(Some(f)) => f,
        Ok(None) => return unknown(&name),
        Err(e) => return e.into(),
    };
    match status(sched, &f, &sched.devices()) {
        Ok(s) => ok(202, s),
        Err(r) => r,
    }
}

/// Cancel every queued or running invocation of `name`; the ids.
fn cancel_all(sched: &Scheduler, name: &str) -> Result<Vec<u64>, Reply> {
    let ids = sched.invocations_of(name)?;
    let mut done = Vec::new();
    for id in ids {
        match sched.cancel(id)? {
            Cancelled::Queued(_) | Cancelled::Running(_) => done.push(id),
            Cancelled::NotFound => {}
        }
    }
    Ok(done)
}

/// `DELETE /system/functions`: cancels the function's invocations, then
/// removes it.
fn remove(sched: &Scheduler, caller: &Caller, body: &[u8]) -> Reply {
    let o = match body_object(body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let name = match string(&o, "functionName") {
        Ok(Some(n)) => n,
        Ok(None) => return err(400, "`functionName` is missing"),
        Err(r) => return r,
    };
    if let Err(r) = body_namespace(&o) {
        return r;
    }
    match sched.store().function(&name) {
        Ok(None) => return unknown(&name),
        Ok(Some(f)) => {
            if let Err(r) = crate::api::owner_check(caller, &f.owner, &format!("function `{name}`"))
            {
                return r;
            }
        }
        Err(e) => return e.into(),
    }
    let cancelled = match cancel_all(sched, &name) {
        Ok(c) => c,
        Err(r) => return r,
    };
    // A cancelled run ends at the scheduler's next tick.
    let start = Instant::now();
    loop {
        match sched.store().delete_function(&name) {
            Ok(Ok(())) => return ok(200, json!({ "deleted": name, "cancelled": cancelled })),
            Ok(Err(Refused::InUse(_))) if start.elapsed() < REMOVE_WAIT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(Err(r)) => return refused(&name, r),
            Err(e) => return e.into(),
        }
    }
}

/// `POST /system/scale-function/{name}`.
fn scale(sched: &Scheduler, caller: &Caller, name: &str, body: &[u8]) -> Reply {
    let o = match body_object(body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    match string(&o, "serviceName") {
        Ok(Some(s)) if s != name => {
            return err(
                400,
                format!(
                    "serviceName `{}` differs from `{name}` in the path",
                    s.escape_debug()
                ),
            );
        }
        Ok(_) => {}
        Err(r) => return r,
    }
    if let Err(r) = body_namespace(&o) {
        return r;
    }
    let replicas = match o.get("replicas").map(Value::as_u64) {
        Some(Some(n)) if n <= REPLICAS_MAX => n,
        Some(_) => {
            return err(
                400,
                format!(
                    "replicas {}: a whole number 0..{REPLICAS_MAX}",
                    o.get("replicas").unwrap_or(&Value::Null)
                ),
            );
        }
        None => return err(400, "`replicas` is missing"),
    };
    let f = match sched.store().function(name) {
        Ok(Some(f)) => f,
        Ok(None) => return unknown(name),
        Err(e) => return e.into(),
    };
    if let Err(r) = crate::api::owner_check(caller, &f.owner, &format!("function `{name}`")) {
        return r;
    }
    let mut d = match deployment(sched, name) {
        Ok(d) => d,
        Err(r) => return r,
    };
    d.replicas = replicas;
    match sched.store().put_faas(name, &d) {
        Ok(Ok(())) => {}
        Ok(Err(r)) => return refused(name, r),
        Err(e) => return e.into(),
    }
    let cancelled = if replicas == 0 {
        match cancel_all(sched, name) {
            Ok(c) => c,
            Err(r) => return r,
        }
    } else {
        Vec::new()
    };
    ok(
        202,
        json!({
            "serviceName": name,
            "replicas": replicas,
            "availableReplicas": available(&sched.devices(), replicas),
            "cancelled": cancelled,
        }),
    )
}

/// Is a header's or query parameter's value a yes?
fn yes(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
}

/// `/function/{name}[.NS]`: a run of the function. Synchronous: answers
/// with the run's record when it ends; asynchronous (`/async-function/`,
/// or `X-Nfbpf-Async: true`): answers 202 with the queued invocation. A
/// lambda's invocation sends the body (empty for a GET without one) as its
/// request and answers with the lambda's response body
/// ([`crate::api::lambda_call`]).
fn invoke(
    sched: &Scheduler,
    caller: &Caller,
    target: &str,
    query: &str,
    headers: &Headers,
    body: &[u8],
    mut asynchronous: bool,
) -> Reply {
    // `name.namespace`: a function name may hold dots, so the namespace
    // is split off only when the whole is not a function's name.
    let name = match sched.store().function(target) {
        Ok(Some(_)) => target.to_string(),
        Ok(None) => match target.rsplit_once('.') {
            Some((n, ns)) => {
                if let Err(r) = check_namespace(ns) {
                    return r;
                }
                n.to_string()
            }
            None => target.to_string(),
        },
        Err(e) => return e.into(),
    };
    let mut run_time: Option<(String, String)> = header(headers, "x-nfbpf-run-time")
        .map(|v| ("X-Nfbpf-Run-Time".to_string(), v.to_string()));
    if let Some(v) = header(headers, "x-nfbpf-async") {
        asynchronous |= yes(v);
    }
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if k == "run_time" {
            run_time = Some(("run_time".to_string(), v.to_string()));
        }
    }
    let run_time = match run_time {
        None => None,
        Some((what, v)) => {
            let n = v
                .trim()
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(Value::Null);
            match registry::run_time(&what, &n) {
                Ok(n) => Some(n),
                Err(_) => {
                    return err(
                        400,
                        format!(
                            "{what} `{}`: the run time is a whole number of seconds, {}..{}",
                            v.escape_debug(),
                            registry::RUN_TIME_MIN,
                            registry::RUN_TIME_MAX
                        ),
                    );
                }
            }
        }
    };
    let f = match sched.store().function(&name) {
        Ok(Some(f)) => f,
        Ok(None) => return unknown(&name),
        Err(e) => return e.into(),
    };
    match deployment(sched, &name) {
        Ok(d) if d.replicas == 0 => {
            return err(
                503,
                format!(
                    "function `{name}` is scaled to 0 replicas: scale it up (POST /system/scale-function/{name} with replicas >= 1) to invoke it"
                ),
            );
        }
        Ok(_) => {}
        Err(r) => return r,
    }
    if f.lambda.is_some() {
        let mut r = crate::api::lambda_call(sched, caller, &f, body, asynchronous);
        if let Some(id) = header(headers, "x-call-id") {
            r.headers.push(("X-Call-Id".to_string(), id.to_string()));
        }
        return r;
    }
    let inv = match sched.store().enqueue(
        &name,
        run_time.unwrap_or(f.default_run_time),
        now_ms(),
        &caller.name,
        sched.limits(),
    ) {
        Ok(Ok(inv)) => inv,
        Ok(Err(r)) => return refused(&name, r),
        Err(e) => return e.into(),
    };
    let mut extra = vec![("X-Nfbpf-Invocation".to_string(), inv.id.to_string())];
    if let Some(id) = header(headers, "x-call-id") {
        extra.push(("X-Call-Id".to_string(), id.to_string()));
    }
    let with = |mut r: Reply| {
        r.headers = extra.clone();
        r
    };
    if asynchronous {
        return with(ok(202, json!(inv)));
    }
    let start = Instant::now();
    loop {
        let rec = match sched.store().run_record(inv.id) {
            Ok(r) => r,
            Err(e) => return e.into(),
        };
        if let Some(rec) = rec {
            let status = if rec.outcome.starts_with("failed") {
                500
            } else {
                200
            };
            return with(ok(status, json!(rec)));
        }
        match sched.store().invocation(inv.id) {
            Ok(Some(_)) => {}
            Ok(None) => {
                // Ended between the two reads, or cancelled while queued
                // (a queued cancel leaves no record).
                match sched.store().run_record(inv.id) {
                    Ok(Some(_)) => continue,
                    Ok(None) => {
                        return with(err(
                            409,
                            format!("invocation {} was cancelled before it ran", inv.id),
                        ));
                    }
                    Err(e) => return e.into(),
                }
            }
            Err(e) => return e.into(),
        }
        if start.elapsed() >= SYNC_WAIT || sched.stopping() {
            let mut body = json!(inv);
            body["note"] = json!(format!(
                "the run had not ended after {} s; GET /status shows it",
                start.elapsed().as_secs()
            ));
            return with(ok(202, body));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_798_761_599_000), "2026-12-31T23:59:59.000Z");
    }

    #[test]
    fn deploy_bodies() {
        let (n, d, code) = parse_deploy(
            br#"{"service":"fw","image":"x","annotations":{"nfbpf.source":"int x;","nfbpf.run_time":"7","a":"b"},"labels":{"l":"v"},"registryAuth":"ignored"}"#,
        )
        .unwrap_or_else(|r| panic!("{r:?}"));
        assert_eq!(n, "fw");
        assert_eq!(d.annotations.len(), 2);
        assert_eq!(code["source"], "int x;");
        assert_eq!(code["default_run_time"], 7);
        for (bad, want) in [
            (&br#""#[..], "empty"),
            (br#"[1]"#, "JSON object"),
            (br#"{"image":"x"}"#, "`service`"),
            (br#"{"service":"a b"}"#, "name `a b`"),
            (
                br#"{"service":"f","namespace":"other"}"#,
                "namespace `other`",
            ),
            (br#"{"service":"f","labels":{"a":1}}"#, "labels.a"),
            (
                br#"{"service":"f","annotations":{"nfbpf.sorce":"x"}}"#,
                "nfbpf.sorce",
            ),
            (
                br#"{"service":"f","annotations":{"nfbpf.run_time":"x"}}"#,
                "whole number",
            ),
            (br#"{"service":"f","secrets":"s"}"#, "secrets"),
            (br#"{"service":"f","readOnlyRootFilesystem":1}"#, "readOnly"),
        ] {
            let r = parse_deploy(bad).unwrap_err();
            assert_eq!(r.status, 400);
            let msg = r.body["error"].as_str().unwrap_or("").to_string();
            assert!(msg.contains(want), "{msg} lacks {want}");
        }
    }
}
