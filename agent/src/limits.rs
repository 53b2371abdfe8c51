//! Every bound the agent puts on its clients, in one place: what each
//! protects, its default, and its name for `nfbpf agent serve --limit
//! NAME=VALUE` (`docs/api.md` and `docs/security.md` list the same table).
//!
//! The HTTP front ([`crate::api`]) enforces the connection, time and size
//! limits before a request is routed; the store enforces the caps on
//! functions and queued invocations inside the write transaction that adds
//! one, so two clients racing cannot pass a cap together.

use std::time::Duration;

/// The agent's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Open HTTP connections; past this a new connection gets a 503 and is
    /// closed (idle keep-alive connections count).
    pub connections: usize,
    /// Requests handled at once (each may hold a thread of the blocking
    /// pool: a compile, a store sync); past this a request gets a 503.
    pub requests: usize,
    /// Time to receive a request's headers, from the connection's start or
    /// from the end of its previous request (idle keep-alive connections
    /// are closed after it too).
    pub header_timeout: Duration,
    /// Time to receive a request's body once its headers are in.
    pub body_timeout: Duration,
    /// Largest request body, bytes (a C source or a base64 object); a
    /// larger `Content-Length` is refused before anything is read.
    pub body_max: usize,
    /// Bytes of request bodies being received at once, all connections
    /// together (a chunked body counts as [`Limits::body_max`]); past it a
    /// 503. Bounds the memory bodies take whatever the connections do.
    pub bodies_in_flight: usize,
    /// Functions registered, all clients together.
    pub functions: usize,
    /// Functions registered by one client.
    pub functions_per_client: usize,
    /// Invocations waiting in the queue, all clients together.
    pub queue: usize,
    /// Invocations one client has waiting.
    pub queue_per_client: usize,
    /// Run time (schedule seconds) queued, all clients together.
    pub queued_seconds: u64,
    /// Run time (schedule seconds) one client has queued.
    pub queued_seconds_per_client: u64,
    /// Past runs kept in the timeline; older ones are pruned.
    pub history: usize,
    /// Most entries in one page of `GET /functions` or `GET /queue`.
    pub page_max: usize,
    /// Compiles (creates and updates from C source) one client has in
    /// flight, running or waiting; past it a 429, so one client cannot
    /// fill the compile queue that everyone shares.
    pub compiles_per_client: usize,
    /// User headers sent with one C source (`headers` of a create or
    /// update), written beside it in the compile's build directory.
    pub headers: usize,
    /// Bytes of those headers' texts, all together.
    pub header_bytes: usize,
    /// Time, CPU, memory, object size, output and queue of compiles
    /// ([`crate::sandbox`]).
    pub compile: crate::sandbox::Limits,
}

/// Largest request body of a lambda's invocation, bytes: 16 chunks of
/// `lambda::CHUNK_BODY` (a 64 x 64 RGBA image for `lambda_gray`). It is
/// kept in the queue until the run, so it is bounded well below
/// [`Limits::body_max`]; a larger one gets a 413.
pub const LAMBDA_REQUEST_MAX: usize = 16 * crate::lambda::CHUNK_BODY;

/// Entries in a page when the request names no `limit`.
pub const PAGE_DEFAULT: usize = 100;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connections: 256,
            requests: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            body_max: 4 << 20,
            bodies_in_flight: 64 << 20,
            functions: 1024,
            functions_per_client: 128,
            queue: 4096,
            queue_per_client: 256,
            queued_seconds: 7 * 24 * 3600,
            queued_seconds_per_client: 24 * 3600,
            history: 10_000,
            page_max: 1000,
            compiles_per_client: 2,
            headers: 64,
            header_bytes: 1 << 20,
            compile: crate::sandbox::Limits::default(),
        }
    }
}

/// Names of the limits for `--limit NAME=VALUE`, with what each means and
/// its unit (the help text and the docs' table).
pub const NAMES: &[(&str, &str)] = &[
    ("connections", "open HTTP connections"),
    ("requests", "requests handled at once"),
    ("header-timeout", "seconds to receive a request's headers"),
    ("body-timeout", "seconds to receive a request's body"),
    ("body-max", "largest request body, bytes"),
    (
        "bodies-in-flight",
        "bytes of request bodies received at once",
    ),
    ("functions", "functions registered in all"),
    ("functions-per-client", "functions one client registers"),
    ("queue", "invocations waiting in all"),
    ("queue-per-client", "invocations one client has waiting"),
    ("queued-seconds", "run time queued in all, seconds"),
    (
        "queued-seconds-per-client",
        "run time one client has queued, seconds",
    ),
    ("history", "past runs kept in the timeline"),
    ("page-max", "entries in one page of a listing"),
    ("compiles-per-client", "compiles one client has in flight"),
    ("headers", "user headers sent with one C source"),
    ("header-bytes", "bytes of the user headers of one C source"),
    ("compile-time", "seconds of wall-clock time of one compile"),
    ("compile-cpu", "seconds of CPU time of one compile"),
    ("compile-memory", "address space of one compile, MiB"),
    ("compile-object", "largest object a compile writes, MiB"),
    ("compile-output", "bytes of clang's messages kept"),
    ("compile-running", "compiles running at once"),
    ("compile-waiting", "compiles waiting for a slot"),
    ("compile-wait", "seconds a compile waits for a slot"),
];

impl Limits {
    /// Set one limit from `NAME=VALUE` (a positive integer).
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let Some((name, value)) = spec.split_once('=') else {
            return Err(format!("--limit {spec}: expected NAME=VALUE"));
        };
        let v: u64 = value
            .trim()
            .parse()
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| format!("--limit {spec}: {value} is not a positive integer"))?;
        let n = usize::try_from(v).unwrap_or(usize::MAX);
        let secs = Duration::from_secs(v);
        match name.trim() {
            "connections" => self.connections = n,
            "requests" => self.requests = n,
            "header-timeout" => self.header_timeout = secs,
            "body-timeout" => self.body_timeout = secs,
            "body-max" => self.body_max = n,
            "bodies-in-flight" => self.bodies_in_flight = n,
            "functions" => self.functions = n,
            "functions-per-client" => self.functions_per_client = n,
            "queue" => self.queue = n,
            "queue-per-client" => self.queue_per_client = n,
            "queued-seconds" => self.queued_seconds = v,
            "queued-seconds-per-client" => self.queued_seconds_per_client = v,
            "history" => self.history = n,
            "page-max" => self.page_max = n,
            "compiles-per-client" => self.compiles_per_client = n,
            "headers" => self.headers = n,
            "header-bytes" => self.header_bytes = n,
            "compile-time" => self.compile.time = secs,
            "compile-cpu" => self.compile.cpu_secs = v,
            "compile-memory" => self.compile.memory = v.saturating_mul(1 << 20),
            "compile-object" => self.compile.object = v.saturating_mul(1 << 20),
            "compile-output" => self.compile.output = n,
            "compile-running" => self.compile.running = n,
            "compile-waiting" => self.compile.waiting = n,
            "compile-wait" => self.compile.wait = secs,
            other => {
                return Err(format!(
                    "--limit {spec}: no limit `{other}` (limits: {})",
                    NAMES.iter().map(|n| n.0).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_sets_its_limit() {
        for (name, _) in NAMES {
            let mut l = Limits::default();
            l.set(&format!("{name}=7")).expect(name);
            assert_ne!(l, Limits::default(), "{name} changed nothing");
        }
    }

    #[test]
    fn bad_specs_say_why() {
        let mut l = Limits::default();
        for (spec, msg) in [
            ("queue", "NAME=VALUE"),
            ("queue=0", "not a positive integer"),
            ("queue=-1", "not a positive integer"),
            ("queue=x", "not a positive integer"),
            ("colour=3", "no limit `colour`"),
        ] {
            let e = l.set(spec).expect_err(spec);
            assert!(e.contains(msg), "{e}");
        }
        assert_eq!(l, Limits::default());
    }
}
