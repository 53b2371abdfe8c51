//! `nfbpf agent bench`: a load test of the agent's HTTP API, with hostile
//! clients beside the valid ones if asked (the soak of `docs/security.md`).
//!
//! Valid clients each register one function, then loop: replace it (a
//! compile), invoke it and cancel that invocation, read the status, and
//! send an invocation with a run time out of range (an intended 400).
//! Hostile clients (`--hostile N`, with a credential of their own) loop over
//! compile bombs, a source that includes `/proc/self/fd/1`, half-sent
//! requests held open, a `Content-Length` of 10^12, connections reset
//! before the answer is read, wrong credentials, cross-site `text/plain`
//! bodies and malformed HTTP. Every answer is checked against the ones
//! intended for its kind.
//!
//! Without `--agent` it starts `nfbpf agent serve` as a child process on a
//! free loopback port with a fresh store and a generated credentials file,
//! samples the child's resident memory and open file descriptors once a
//! second, and reports whether it survived.

use super::fn_client::Client;
use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The function valid clients register when no `--source` is given.
const WIRE: &str = "builtin:wire_sume";

#[derive(clap::Args)]
pub struct BenchArgs {
    /// An agent to load (default: `nfbpf agent serve` started as a child).
    #[arg(long)]
    agent: Option<String>,
    /// Valid clients.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// The function every valid client registers (C source, or
    /// `builtin:NAME` for programs/NAME.c built into nfbpf; default: the
    /// Wire function, builtin:wire_sume).
    #[arg(long)]
    source: Option<PathBuf>,
    /// Hostile clients beside the valid ones.
    #[arg(long, default_value_t = 0)]
    hostile: usize,
    /// Credentials for `--agent` (lines NAME:SECRET; the first is the valid
    /// clients', the second, if any, the hostile clients').
    #[arg(long, value_name = "FILE")]
    auth: Option<PathBuf>,
    /// A limit for the agent started as a child (`agent serve --limit`),
    /// NAME=VALUE; repeat for several.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
}

/// Kinds of valid request, in loop order.
const VALID: [&str; 5] = [
    "update (PUT /functions/NAME, compile)",
    "invoke (POST .../invoke)",
    "cancel (DELETE /queue/ID)",
    "status (GET /status)",
    "bad invoke (run_time 1, 400 intended)",
];

/// Kinds of hostile request, in loop order, with the answers intended
/// (empty: none is read).
const HOSTILE: [(&str, &[u16]); 8] = [
    ("macro bomb (POST /functions)", &[422, 429, 503]),
    ("#include /proc/self/fd/1", &[422, 429, 503]),
    ("half-sent request held 2 s", &[]),
    ("Content-Length 10^12", &[413]),
    ("reset before the answer", &[]),
    ("wrong credentials", &[401]),
    ("cross-site text/plain", &[415]),
    ("malformed HTTP", &[400]),
];

struct Sample {
    kind: usize,
    micros: u64,
    ok: bool,
    /// Refused as busy (429 or 503 with `Retry-After`): the agent's bounds
    /// at work, not a wrong answer.
    busy: bool,
}

fn pct(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i] as f64 / 1000.0
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

fn random_secret() -> anyhow::Result<String> {
    let mut b = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .context("reading /dev/urandom for a secret")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn spawn_agent(clients: usize, limits: &[String]) -> anyhow::Result<Spawned> {
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
    let exe = std::env::current_exe().context("the nfbpf binary")?;
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
        .context("starting `nfbpf agent serve`")?;
    let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
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
                bail!("the agent exited before listening");
            }
        }
    };
    // Keep draining its stderr so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Spawned { child, url, dir })
}

/// Resident memory (KiB) and open file descriptors of process `pid`.
fn usage(pid: u32) -> Option<(u64, usize)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some((rss, fds))
}

fn credentials(file: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

fn basic(pair: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
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
            basic("bench:not-the-secret-at-all")
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

pub fn bench(a: BenchArgs) -> anyhow::Result<ExitCode> {
    let path = a.source.unwrap_or_else(|| PathBuf::from(WIRE));
    let source = match nfbpf_loader::builtin::name_of(&path) {
        Some(name) => nfbpf_loader::builtin::source(name)
            .with_context(|| format!("--source {}", path.display()))?
            .to_string(),
        None => std::fs::read_to_string(&path)
            .with_context(|| format!("--source {}", path.display()))?,
    };
    if a.clients == 0 || !a.seconds.is_finite() || a.seconds <= 0.0 {
        bail!("--clients and --seconds must be positive");
    }
    let spawned = match &a.agent {
        Some(_) => None,
        None => Some(spawn_agent(a.clients, &a.limits)?),
    };
    let (base, creds) = match (&spawned, &a.agent) {
        (Some(s), _) => (
            s.url.clone(),
            credentials(&s.dir.path().join("credentials"))?,
        ),
        (None, Some(u)) => (
            u.clone(),
            match &a.auth {
                Some(f) => credentials(f)?,
                None => Vec::new(),
            },
        ),
        (None, None) => unreachable!("one of the two is set"),
    };
    // Valid clients take the lines but the last in turn; hostile clients
    // the last (with one line, everyone shares it).
    let valid_lines = creds.len().saturating_sub(1).max(1);
    let valid_auth = |c: usize| creds.get(c % valid_lines).cloned();
    let hostile_auth = creds.last().map(|c| basic(c)).unwrap_or_default();
    let pid = spawned.as_ref().map(|s| s.child.id());
    println!(
        "bench: {} valid and {} hostile clients for {} s against {base} ({})",
        a.clients,
        a.hostile,
        a.seconds,
        if spawned.is_some() {
            "`nfbpf agent serve` started as a child, embedded model, credentials on"
        } else {
            "external agent"
        }
    );
    let run = format!("b{}", std::process::id());
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(a.seconds);
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
    let valid: Vec<_> = (0..a.clients)
        .map(|c| {
            let (base, source, name) = (base.clone(), source.clone(), format!("{run}-{c}"));
            let auth = valid_auth(c);
            std::thread::spawn(move || -> anyhow::Result<(Vec<Sample>, Vec<String>)> {
                let cl = Client::new(&base).with_auth_pair(auth.as_deref());
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
                        _ => bail!("creating {name}: {s} {v}"),
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
                                Err(e) => format!("{m} {p}: {e:#}"),
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
            })
        })
        .collect();
    let addr = base.trim_start_matches("http://").to_string();
    let hostiles: Vec<_> = (0..a.hostile)
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
                    out.push((kind, t.elapsed().as_micros() as u64, ok, got));
                }
                out
            })
        })
        .collect();
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for t in valid {
        let (s, e) = t
            .join()
            .map_err(|_| anyhow!("a client thread panicked"))??;
        samples.extend(s);
        errors.extend(e);
    }
    let mut hostile_out = Vec::new();
    for t in hostiles {
        hostile_out.extend(t.join().map_err(|_| anyhow!("a client thread panicked"))?);
    }
    let wall = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let usage_samples = sampler
        .map(|s| s.join().unwrap_or_default())
        .unwrap_or_default();
    let bad = samples.iter().filter(|s| !s.ok && !s.busy).count();
    let busy = samples.iter().filter(|s| s.busy && !s.ok).count();
    let served: Vec<&Sample> = samples.iter().filter(|s| s.ok).collect();
    let mut all: Vec<u64> = served.iter().map(|s| s.micros).collect();
    all.sort_unstable();
    println!(
        "{} valid requests in {wall:.1} s: {} served ({:.1}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms), {busy} refused as busy (429/503), {bad} unintended answers",
        samples.len(),
        served.len(),
        served.len() as f64 / wall,
        pct(&all, 0.5),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
    println!(
        "{:<40} {:>7} {:>9} {:>9} {:>9}",
        "kind", "count", "p50 ms", "p99 ms", "max ms"
    );
    let row = |name: &str, mut v: Vec<u64>| {
        v.sort_unstable();
        println!(
            "{name:<40} {:>7} {:>9.1} {:>9.1} {:>9.1}",
            v.len(),
            pct(&v, 0.5),
            pct(&v, 0.99),
            pct(&v, 1.0)
        );
    };
    // Valid kinds: latency of the requests served.
    for (k, name) in VALID.iter().enumerate() {
        row(
            name,
            served
                .iter()
                .filter(|s| s.kind == k)
                .map(|s| s.micros)
                .collect(),
        );
    }
    let hostile_bad: Vec<_> = hostile_out.iter().filter(|h| !h.2).collect();
    if a.hostile > 0 {
        println!(
            "{} hostile requests, {} answered other than intended",
            hostile_out.len(),
            hostile_bad.len()
        );
        for (k, (name, _)) in HOSTILE.iter().enumerate() {
            row(
                name,
                hostile_out
                    .iter()
                    .filter(|h| h.0 == k)
                    .map(|h| h.1)
                    .collect(),
            );
        }
        for h in hostile_bad.iter().take(5) {
            match h.3 {
                Some(status) => println!("hostile {}: answered {status}", HOSTILE[h.0].0),
                None => println!(
                    "hostile {}: no answer (connection failed or closed)",
                    HOSTILE[h.0].0
                ),
            }
        }
    }
    for e in &errors {
        println!("unintended: {e}");
    }
    let mut crashed = false;
    if let Some(mut s) = spawned {
        if let (Some(first), Some(last)) = (
            usage_samples.get(2).or(usage_samples.first()),
            usage_samples.last(),
        ) {
            let max_rss = usage_samples.iter().map(|u| u.0).max().unwrap_or(0);
            let max_fd = usage_samples.iter().map(|u| u.1).max().unwrap_or(0);
            println!(
                "agent memory: {} MiB after warm-up, {} MiB at the end, {} MiB at most; file descriptors: {} after warm-up, {} at the end, {} at most ({} samples)",
                first.0 / 1024,
                last.0 / 1024,
                max_rss / 1024,
                first.1,
                last.1,
                max_fd,
                usage_samples.len()
            );
        }
        if usage_samples.len() >= 2 {
            let n = usage_samples.len();
            let pick = |i: usize| usage_samples[(i * (n - 1)) / 9];
            println!(
                "agent memory over the run (MiB, 10 points): {}; file descriptors: {}",
                (0..10)
                    .map(|i| (pick(i).0 / 1024).to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                (0..10)
                    .map(|i| pick(i).1.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        match s.child.try_wait() {
            Ok(Some(st)) => {
                crashed = true;
                println!("agent crashed: {st}");
            }
            _ => {
                let cl = Client::new(&s.url).with_auth_pair(valid_auth(0).as_deref());
                let alive = matches!(cl.call("GET", "/healthz", None), Ok((200, _)));
                println!(
                    "agent after the run: {}",
                    if alive {
                        "alive, 0 crashes"
                    } else {
                        "not answering"
                    }
                );
                crashed = !alive;
            }
        }
        let _ = s.child.kill();
    }
    Ok(if bad == 0 && hostile_bad.is_empty() && !crashed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
