//! The load test of the agent's HTTP API (`nfbpf agent bench`), with
//! hostile clients beside the valid ones if asked (the soak of
//! `docs/security.md`): [`Bench::start`] finds or starts the agent,
//! [`Bench::run`] loads it and returns a [`BenchResult`] (every request's
//! latency and verdict, latency percentiles by kind, the agent's memory and
//! file descriptors, whether it survived).
//!
//! Valid clients each register one function, then loop: replace it (a
//! compile), invoke it and cancel that invocation, read the status, and
//! send an invocation with a run time out of range (an intended 400).
//! Hostile clients (with a credential of their own) loop over compile
//! bombs, a source that includes `/proc/self/fd/1`, half-sent requests held
//! open, a `Content-Length` of 10^12, connections reset before the answer
//! is read, wrong credentials, cross-site `text/plain` bodies and malformed
//! HTTP. Every answer is checked against the ones intended for its kind.
//!
//! Without an agent's URL it starts `nfbpf agent serve` as a child process
//! on a free loopback port with a fresh store and a generated credentials
//! file, samples the child's resident memory and open file descriptors once
//! a second, and reports whether it survived.

use crate::client::{Client, ClientError, basic_auth};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The function valid clients register when not told: the Wire function.
pub const DEFAULT_FUNCTION: &str = "builtin:wire_sume";

/// Kinds of valid request, in loop order.
pub const VALID: [&str; 5] = [
    "update (PUT /functions/NAME, compile)",
    "invoke (POST .../invoke)",
    "cancel (DELETE /queue/ID)",
    "status (GET /status)",
    "bad invoke (run_time 1, 400 intended)",
];

/// Kinds of hostile request, in loop order, with the answers intended
/// (empty: none is read).
pub const HOSTILE: [(&str, &[u16]); 8] = [
    ("macro bomb (POST /functions)", &[422, 429, 503]),
    ("#include /proc/self/fd/1", &[422, 429, 503]),
    ("half-sent request held 2 s", &[]),
    ("Content-Length 10^12", &[413]),
    ("reset before the answer", &[]),
    ("wrong credentials", &[401]),
    ("cross-site text/plain", &[415]),
    ("malformed HTTP", &[400]),
];

/// What to load and how.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The agent to load; None: `nfbpf agent serve` started as a child.
    pub agent: Option<String>,
    /// The `nfbpf` binary that runs the child agent (None: this process's
    /// executable, when it is `nfbpf`).
    pub serve_exe: Option<PathBuf>,
    /// Valid clients (at least 1).
    pub clients: usize,
    /// How long to load it (positive).
    pub seconds: f64,
    /// The C source every valid client registers.
    pub source: String,
    /// Hostile clients beside the valid ones.
    pub hostile: usize,
    /// Credentials for `agent` (lines NAME:SECRET; the first is the valid
    /// clients', the second, if any, the hostile clients').
    pub auth: Option<PathBuf>,
    /// Limits of the child agent (`agent serve --limit NAME=VALUE`).
    pub limits: Vec<String>,
}

/// Why a load test could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("clients and seconds must be positive")]
    Config,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An I/O failure at `what`.
    #[error("{what}")]
    File {
        what: String,
        #[source]
        e: std::io::Error,
    },
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("creating {name}: {status} {body}")]
    Create {
        name: String,
        status: u16,
        body: Value,
    },
    #[error("{0}")]
    Agent(String),
    #[error("a client thread panicked")]
    Panicked,
}

impl BenchError {
    /// The client's error, when the agent could not be used.
    pub fn client(&self) -> Option<&ClientError> {
        match self {
            BenchError::Client(c) => Some(c),
            _ => None,
        }
    }
}

/// One valid request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Index into [`VALID`].
    pub kind: usize,
    pub micros: u64,
    /// Answered as intended.
    pub ok: bool,
    /// Refused as busy (429 or 503): the agent's bounds at work, not a
    /// wrong answer.
    pub busy: bool,
}

/// One hostile request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostileSample {
    /// Index into [`HOSTILE`].
    pub kind: usize,
    pub micros: u64,
    /// Answered as intended (or not read, for the kinds that read none).
    pub ok: bool,
    /// The status read, if any.
    pub status: Option<u16>,
}

/// The child agent's resident memory and open file descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub rss_kib: u64,
    pub fds: usize,
}

/// The child agent after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAfter {
    Crashed(ExitStatus),
    Alive,
    NotAnswering,
}

/// Latency of a set of requests, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(mut micros: Vec<u64>) -> Latency {
        micros.sort_unstable();
        Latency {
            count: micros.len(),
            p50_ms: percentile(&micros, 0.5),
            p99_ms: percentile(&micros, 0.99),
            max_ms: percentile(&micros, 1.0),
        }
    }
}

/// Percentile `p` (0..=1) of sorted microseconds, in milliseconds (0 for
/// none).
pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

/// The child agent's memory and descriptors over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageSummary {
    /// After warm-up (the third sample, else the first).
    pub warm: Usage,
    pub last: Usage,
    pub max_rss_kib: u64,
    pub max_fds: usize,
    pub samples: usize,
}

/// What a load test saw.
#[derive(Debug, Clone)]
pub struct BenchResult {
    pub wall_s: f64,
    pub hostile_clients: usize,
    pub samples: Vec<Sample>,
    /// The first unintended answers of each valid client (3 at most).
    pub errors: Vec<String>,
    pub hostile: Vec<HostileSample>,
    /// One a second, of the child agent.
    pub usage: Vec<Usage>,
    /// None: an external agent.
    pub agent_after: Option<AgentAfter>,
}

impl BenchResult {
    /// Valid requests answered as intended.
    pub fn served(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(|s| s.ok)
    }

    /// Valid requests refused as busy.
    pub fn busy(&self) -> usize {
        self.samples.iter().filter(|s| s.busy && !s.ok).count()
    }

    /// Valid requests answered other than intended (and not as busy).
    pub fn unintended(&self) -> usize {
        self.samples.iter().filter(|s| !s.ok && !s.busy).count()
    }

    /// Latency of the valid requests served.
    pub fn latency(&self) -> Latency {
        Latency::of(self.served().map(|s| s.micros).collect())
    }

    /// Latency of the valid requests served, by kind ([`VALID`]).
    pub fn by_valid_kind(&self) -> Vec<(&'static str, Latency)> {
        VALID
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let v = self
                    .served()
                    .filter(|s| s.kind == k)
                    .map(|s| s.micros)
                    .collect();
                (*name, Latency::of(v))
            })
            .collect()
    }

    /// Latency of the hostile requests, by kind ([`HOSTILE`]).
    pub fn by_hostile_kind(&self) -> Vec<(&'static str, Latency)> {
        HOSTILE
            .iter()
            .enumerate()
            .map(|(k, (name, _))| {
                let v = self
                    .hostile
                    .iter()
                    .filter(|h| h.kind == k)
                    .map(|h| h.micros)
                    .collect();
                (*name, Latency::of(v))
            })
            .collect()
    }

    /// Hostile requests answered other than intended.
    pub fn hostile_unintended(&self) -> Vec<&HostileSample> {
        self.hostile.iter().filter(|h| !h.ok).collect()
    }

    /// The child agent's memory and descriptors, if sampled.
    pub fn usage_summary(&self) -> Option<UsageSummary> {
        let u = &self.usage;
        let (warm, last) = (u.get(2).or(u.first())?, u.last()?);
        Some(UsageSummary {
            warm: *warm,
            last: *last,
            max_rss_kib: u.iter().map(|x| x.rss_kib).max().unwrap_or(0),
            max_fds: u.iter().map(|x| x.fds).max().unwrap_or(0),
            samples: u.len(),
        })
    }

    /// `points` samples spread over the run, first and last included
    /// (none with fewer than 2 samples, or `points` under 2).
    pub fn usage_points(&self, points: usize) -> Vec<Usage> {
        let n = self.usage.len();
        if n < 2 || points < 2 {
            return Vec::new();
        }
        (0..points)
            .map(|i| self.usage[(i * (n - 1)) / (points - 1)])
            .collect()
    }

    /// Every answer as intended and the agent alive.
    pub fn passed(&self) -> bool {
        self.unintended() == 0
            && self.hostile_unintended().is_empty()
            && matches!(self.agent_after, None | Some(AgentAfter::Alive))
    }
}

/// The child agent: its process, URL and files.
struct Spawned {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A load test ready to run against its agent.
pub struct Bench {
    cfg: BenchConfig,
    spawned: Option<Spawned>,
    base: String,
    creds: Vec<String>,
}

impl std::fmt::Debug for Bench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench").field("base", &self.base).finish()
    }
}

impl Bench {
    /// The agent found (`cfg.agent`, with the credentials of `cfg.auth`)
    /// or started as a child.
    pub fn start(cfg: BenchConfig) -> Result<Bench, BenchError> {
        if cfg.clients == 0 || !cfg.seconds.is_finite() || cfg.seconds <= 0.0 {
            return Err(BenchError::Config);
        }
        let (spawned, base, creds) = match &cfg.agent {
            None => {
                let s = spawn_agent(cfg.serve_exe.as_deref(), cfg.clients, &cfg.limits)?;
                let creds = credentials(&s.dir.path().join("credentials"))?;
                let base = s.url.clone();
                (Some(s), base, creds)
            }
            Some(u) => (
                None,
                u.clone(),
                match &cfg.auth {
                    Some(f) => credentials(f)?,
                    None => Vec::new(),
                },
            ),
        };
        Ok(Bench {
            cfg,
            spawned,
            base,
            creds,
        })
    }

    /// The agent's URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The agent was started as a child (embedded model, credentials on).
    pub fn spawned(&self) -> bool {
        self.spawned.is_some()
    }

    /// Load the agent for the configured time.
    pub fn run(self) -> Result<BenchResult, BenchError> {
        let Bench {
            cfg,
            spawned,
            base,
            creds,
        } = self;
        // Valid clients take the lines but the last in turn; hostile
        // clients the last (with one line, everyone shares it).
        let valid_lines = creds.len().saturating_sub(1).max(1);
        let valid_auth = |c: usize| creds.get(c % valid_lines).cloned();
        let hostile_auth = creds.last().map(|c| basic_auth(c)).unwrap_or_default();
        let pid = spawned.as_ref().map(|s| s.child.id());
        let run = format!("b{}", std::process::id());
        let start = Instant::now();
        let until = start + Duration::from_secs_f64(cfg.seconds);
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = pid.map(|pid| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut v = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(u) = usage(pid) {
                        v.push(u);
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                v
            })
        });
        let valid: Vec<_> = (0..cfg.clients)
            .map(|c| {
                let (base, source) = (base.clone(), cfg.source.clone());
                let (name, auth) = (format!("{run}-{c}"), valid_auth(c));
                std::thread::spawn(move || {
                    valid_client(&base, auth.as_deref(), &name, &source, until)
                })
            })
            .collect();
        let addr = base.trim_start_matches("http://").to_string();
        let hostiles: Vec<_> = (0..cfg.hostile)
            .map(|c| {
                let (addr, auth, victim) = (addr.clone(), hostile_auth.clone(), format!("{run}-0"));
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    let mut k = c;
                    while Instant::now() < until {
                        let kind = k % HOSTILE.len();
                        k += 1;
                        let t = Instant::now();
                        let got = hostile(&addr, kind, &auth, &victim);
                        let want = HOSTILE[kind].1;
                        let ok = want.is_empty() || got.is_some_and(|s| want.contains(&s));
                        out.push(HostileSample {
                            kind,
                            micros: t.elapsed().as_micros() as u64,
                            ok,
                            status: got,
                        });
                    }
                    out
                })
            })
            .collect();
        let mut samples = Vec::new();
        let mut errors = Vec::new();
        for t in valid {
            let (s, e) = t.join().map_err(|_| BenchError::Panicked)??;
            samples.extend(s);
            errors.extend(e);
        }
        let mut hostile_out = Vec::new();
        for t in hostiles {
            hostile_out.extend(t.join().map_err(|_| BenchError::Panicked)?);
        }
        let wall_s = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let usage = sampler
            .map(|s| s.join().unwrap_or_default())
            .unwrap_or_default();
        let agent_after = spawned.map(|mut s| {
            let after = match s.child.try_wait() {
                Ok(Some(st)) => AgentAfter::Crashed(st),
                _ => {
                    let cl = Client::new(&s.url).with_auth_pair(valid_auth(0).as_deref());
                    if cl.healthy() {
                        AgentAfter::Alive
                    } else {
                        AgentAfter::NotAnswering
                    }
                }
            };
            let _ = s.child.kill();
            after
        });
        Ok(BenchResult {
            wall_s,
            hostile_clients: cfg.hostile,
            samples,
            errors,
            hostile: hostile_out,
            usage,
            agent_after,
        })
    }
}

/// One valid client: register `name`, then loop over [`VALID`] until
/// `until`; its samples and first unintended answers.
fn valid_client(
    base: &str,
    auth: Option<&str>,
    name: &str,
    source: &str,
    until: Instant,
) -> Result<(Vec<Sample>, Vec<String>), BenchError> {
    let cl = Client::new(base).with_auth_pair(auth);
    // The create is retried while the agent is busy (429, 503).
    let body = json!({"name": name, "source": source});
    let t = Instant::now();
    loop {
        let (s, v) = cl.call("POST", "/functions", Some(&body))?;
        match s {
            201 => break,
            429 | 503 if t.elapsed() < Duration::from_secs(300) => {
                std::thread::sleep(Duration::from_millis(200));
            }
            _ => {
                return Err(BenchError::Create {
                    name: name.to_string(),
                    status: s,
                    body: v,
                });
            }
        }
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    while Instant::now() < until {
        let mut inv_id = None;
        for kind in 0..VALID.len() {
            let (m, p, b, want): (&str, String, Option<Value>, u16) = match kind {
                0 => (
                    "PUT",
                    format!("/functions/{name}"),
                    Some(json!({"source": source})),
                    200,
                ),
                1 => (
                    "POST",
                    format!("/functions/{name}/invoke"),
                    Some(json!({"run_time": 3})),
                    202,
                ),
                2 => match inv_id {
                    Some(id) => ("DELETE", format!("/queue/{id}"), None, 200),
                    None => continue,
                },
                3 => ("GET", "/status".into(), None, 200),
                _ => (
                    "POST",
                    format!("/functions/{name}/invoke"),
                    Some(json!({"run_time": 1})),
                    400,
                ),
            };
            let t = Instant::now();
            let r = cl.call(m, &p, b.as_ref());
            let micros = t.elapsed().as_micros() as u64;
            // A cancel may find the invocation already run (404).
            let ok = matches!(&r, Ok((s, _)) if *s == want || (kind == 2 && *s == 404));
            let busy = matches!(&r, Ok((429 | 503, _)));
            if kind == 1
                && let Ok((_, v)) = &r
            {
                inv_id = v["id"].as_u64();
            }
            if !ok && !busy && errors.len() < 3 {
                errors.push(match &r {
                    Ok((s, v)) => format!("{m} {p}: answered {s}: {v}"),
                    Err(e) => format!("{m} {p}: {}", error_chain(e)),
                });
            }
            out.push(Sample {
                kind,
                micros,
                ok,
                busy,
            });
        }
    }
    Ok((out, errors))
}

/// An error and its causes, `: `-separated.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(&format!(": {c}"));
        cause = c.source();
    }
    s
}

/// A source whose preprocessing doubles ten times over 30 macros (the
/// "31-line macro bomb" of the security issue).
fn macro_bomb() -> String {
    let mut s = String::from("#define A0 x\n");
    for i in 1..30 {
        let p = i - 1;
        s.push_str(&format!(
            "#define A{i} A{p} A{p} A{p} A{p} A{p} A{p} A{p} A{p} A{p} A{p}\n"
        ));
    }
    s.push_str("int y = A29;\n");
    s
}

fn random_secret() -> Result<String, BenchError> {
    let mut b = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| BenchError::File {
            what: "reading /dev/urandom for a secret".into(),
            e,
        })?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn spawn_agent(
    exe: Option<&Path>,
    clients: usize,
    limits: &[String],
) -> Result<Spawned, BenchError> {
    let dir = tempfile::Builder::new().prefix("nfbpf-bench-").tempdir()?;
    let creds = dir.path().join("credentials");
    // One credential per valid client (per-client limits count each
    // apart), the last line the hostile clients'.
    let mut text = String::new();
    for c in 0..clients {
        text.push_str(&format!("bench-{c}:{}\n", random_secret()?));
    }
    text.push_str(&format!("hostile:{}\n", random_secret()?));
    std::fs::write(&creds, text)?;
    let exe = match exe {
        Some(e) => e.to_path_buf(),
        None => std::env::current_exe().map_err(|e| BenchError::File {
            what: "the nfbpf binary".into(),
            e,
        })?,
    };
    let mut child = Command::new(exe)
        .args(["agent", "serve", "--listen", "127.0.0.1:0", "--store"])
        .arg(dir.path().join("agent.redb"))
        .arg("--auth")
        .arg(&creds)
        .args(limits.iter().flat_map(|l| ["--limit", l.as_str()]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BenchError::File {
            what: "starting `nfbpf agent serve`".into(),
            e,
        })?;
    let Some(stderr) = child.stderr.take() else {
        let _ = child.kill();
        return Err(BenchError::Agent("no stderr".into()));
    };
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(rest) = l.split("http://").nth(1) {
                    let addr = rest.split([',', ' ']).next().unwrap_or("");
                    break format!("http://{addr}");
                }
            }
            _ => {
                let _ = child.kill();
                return Err(BenchError::Agent(
                    "the agent exited before listening".into(),
                ));
            }
        }
    };
    // Keep draining its stderr so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Spawned { child, url, dir })
}

/// Resident memory and open file descriptors of process `pid`.
fn usage(pid: u32) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some(Usage { rss_kib, fds })
}

/// The credentials of a file, one `NAME:SECRET` a line.
fn credentials(file: &Path) -> Result<Vec<String>, BenchError> {
    let text = std::fs::read_to_string(file).map_err(|e| BenchError::File {
        what: file.display().to_string(),
        e,
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// One hostile request of `kind` on its own connection; the status read,
/// if the kind reads one.
fn hostile(addr: &str, kind: usize, auth: &str, victim: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let json_req = |body: &str| {
        format!(
            "POST /functions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let req = match kind {
        0 => json_req(&json!({"name": "bomb", "source": macro_bomb()}).to_string()),
        1 => json_req(
            &json!({"name": "stdin", "source": "#include \"/proc/self/fd/1\"\nint x;\n"})
                .to_string(),
        ),
        2 => {
            let _ = s.write_all(
                format!("POST /functions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{\"name\":").as_bytes(),
            );
            std::thread::sleep(Duration::from_secs(2));
            return None;
        }
        3 => format!(
            "POST /functions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{{"
        ),
        4 => {
            // The answer (a whole function, object included) is left unread
            // and the connection closed: the kernel resets it.
            let _ = s.write_all(
                format!("GET /functions/{victim} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\r\n").as_bytes(),
            );
            std::thread::sleep(Duration::from_millis(20));
            return None;
        }
        5 => format!(
            "GET /status HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            basic_auth("bench:not-the-secret-at-all")
        ),
        6 => format!(
            "POST /functions/{victim}/invoke HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nOrigin: http://{addr}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ),
        _ => "GARBAGE / NOT-HTTP\r\n\r\n".to_string(),
    };
    s.write_all(req.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_micros() {
        assert_eq!(percentile(&[], 0.5), 0.0);
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        let l = Latency::of(vec![3000, 1000, 2000]);
        assert_eq!((l.count, l.p50_ms, l.max_ms), (3, 2.0, 3.0));
    }

    #[test]
    fn usage_points_spread_over_the_run() {
        let r = BenchResult {
            wall_s: 1.0,
            hostile_clients: 0,
            samples: Vec::new(),
            errors: Vec::new(),
            hostile: Vec::new(),
            usage: (0..19)
                .map(|i| Usage {
                    rss_kib: i,
                    fds: i as usize,
                })
                .collect(),
            agent_after: Some(AgentAfter::Alive),
        };
        let p: Vec<u64> = r.usage_points(10).iter().map(|u| u.rss_kib).collect();
        assert_eq!(p, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
        let s = r.usage_summary().unwrap_or_else(|| panic!("samples"));
        assert_eq!((s.warm.rss_kib, s.last.rss_kib, s.max_fds), (2, 18, 18));
        assert!(r.passed());
    }
}
