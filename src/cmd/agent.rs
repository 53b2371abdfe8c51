//! `nfbpf agent serve|bench`: the agent (`nfbpf_agent`) as a process, and a
//! load test of its HTTP API.
//!
//! - `serve [--listen ADDR] [--store PATH] [--target TARGET] [--traffic SPEC]
//!   [--time-scale X]`: without `--target` the agent runs an embedded model
//!   device with traffic (`nfbpf_agent::DEFAULT_TRAFFIC` unless given) and a
//!   schedule second is a device millisecond (`--time-scale 0.001`); on a
//!   target a schedule second is a device second (the cycle counter) or, on
//!   a target without a running cycle counter, a wall second.
//! - `bench [--agent URL] [--clients N] [--seconds S]`: N clients, each in a
//!   loop: create a function from C source, invoke it, read the status, and
//!   send an invocation with a run time out of range (an intended 400).
//!   Prints requests/s and latency percentiles per request kind; exits 1 on
//!   any answer other than the intended ones. Without `--agent` it starts an
//!   agent in-process on a free port with a fresh store.

use super::fn_client::Client;
use anyhow::{Context, anyhow, bail};
use nfbpf_agent::auth::Credentials;
use nfbpf_agent::{Agent, ClockSource, Config};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum AbiArg {
    Sume,
    Xdp,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ClockArg {
    /// The device's cycle counter.
    Device,
    /// The host's clock.
    Wall,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address of the HTTP API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The database (functions, queue, timeline); created if missing.
    #[arg(long, default_value = "nfbpf-agent.redb")]
    store: PathBuf,
    /// The device: `sim:PATH` or `sume:IFNAME`; default: an embedded model.
    #[arg(short = 't', long)]
    target: Option<String>,
    /// Traffic of the embedded model, `PORTS:BYTES[:GBPS]` (default
    /// `0,1,2,3:256:1`).
    #[arg(long)]
    traffic: Option<String>,
    /// Schedule seconds = device (or wall) seconds / X. Default 0.001 on the
    /// embedded model, 1 on a target.
    #[arg(long, allow_negative_numbers = true)]
    time_scale: Option<f64>,
    /// Force the schedule's clock (default: the cycle counter if it runs).
    #[arg(long, value_enum)]
    clock: Option<ClockArg>,
    /// Engines of the embedded model.
    #[arg(long, default_value_t = 4)]
    engines: usize,
    /// The device's ABI: every function must use it.
    #[arg(long, value_enum, default_value_t = AbiArg::Sume)]
    abi: AbiArg,
    /// Credentials file: lines `NAME:SECRET` (secret of 16 characters or
    /// more); every route but GET /healthz then requires HTTP basic auth or
    /// a bearer token. Required to listen beyond loopback.
    #[arg(long, value_name = "FILE")]
    auth: Option<PathBuf>,
    /// A host name clients may use to reach the agent (the Host header),
    /// besides localhost and IP addresses; repeat for several.
    #[arg(long = "host-name", value_name = "NAME")]
    host_names: Vec<String>,
    /// Change a bound on clients, NAME=VALUE; repeat for several. NAMEs:
    /// connections, requests, header-timeout, body-timeout (seconds),
    /// body-max (bytes), functions, functions-per-client, queue,
    /// queue-per-client, queued-seconds, queued-seconds-per-client, history,
    /// page-max (docs/api.md lists defaults).
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// An agent to load (default: one started in-process).
    #[arg(long)]
    agent: Option<String>,
    #[arg(long, default_value_t = 50)]
    clients: usize,
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// The function every client creates (C source).
    #[arg(long, default_value = "programs/wire_sume.c")]
    source: PathBuf,
}

#[derive(clap::Subcommand)]
enum What {
    /// Run the agent.
    Serve(ServeArgs),
    /// Load test of an agent's API.
    Bench(BenchArgs),
}

impl Args {
    /// `agent serve`: a server, which must outlive any client.
    pub fn is_server(&self) -> bool {
        matches!(self.what, What::Serve(_))
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.what {
        What::Serve(s) => serve(s),
        What::Bench(b) => bench(b),
    }
}

fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::new(&a.listen, a.store.clone());
    cfg.target = a.target.clone();
    cfg.traffic = a
        .traffic
        .as_deref()
        .map(nfbpf_sim::host::parse_traffic)
        .transpose()?;
    if cfg.target.is_some() && cfg.traffic.is_some() {
        bail!("--traffic is for the embedded model; a target's traffic is the target's own");
    }
    cfg.time_scale = a.time_scale;
    cfg.clock = a.clock.map(|c| match c {
        ClockArg::Device => ClockSource::DeviceCycles,
        ClockArg::Wall => ClockSource::Wall,
    });
    cfg.engines = a.engines;
    cfg.abi = match a.abi {
        AbiArg::Sume => nfbpf_loader::Abi::Sume,
        AbiArg::Xdp => nfbpf_loader::Abi::Xdp,
    };
    if let Some(path) = &a.auth {
        cfg.auth = Some(Credentials::from_file(path)?);
        if nfbpf_agent::auth::readable_by_others(path) {
            eprintln!(
                "nfbpf agent: warning: {} is readable by other users (chmod 600 it)",
                path.display()
            );
        }
    } else {
        eprintln!(
            "nfbpf agent: no --auth: any local user or process can use the agent (loopback only)"
        );
    }
    cfg.hosts = a.host_names.clone();
    for l in &a.limits {
        cfg.limits.set(l).map_err(|e| anyhow!(e))?;
    }
    let agent = Agent::start(cfg)?;
    let st = agent.scheduler().status().map_err(|e| anyhow!("{e}"))?;
    eprintln!(
        "nfbpf agent: http://{}, store {}, device {}, clock {} (time scale {})",
        agent.addr,
        a.store.display(),
        st["target"].as_str().unwrap_or("?"),
        st["clock"].as_str().unwrap_or("?"),
        st["time_scale"]
    );
    agent.wait();
    Ok(ExitCode::SUCCESS)
}

/// One request's kind, latency and whether its answer was the intended one.
struct Sample {
    kind: usize,
    micros: u64,
    ok: bool,
}

const KINDS: [&str; 4] = [
    "create (POST /functions)",
    "invoke (POST .../invoke)",
    "status (GET /status)",
    "bad invoke (run_time 1, 400 intended)",
];

fn pct(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i] as f64 / 1000.0
}

fn bench(a: BenchArgs) -> anyhow::Result<ExitCode> {
    let source = std::fs::read_to_string(&a.source)
        .with_context(|| format!("--source {}", a.source.display()))?;
    if a.clients == 0 || !a.seconds.is_finite() || a.seconds <= 0.0 {
        bail!("--clients and --seconds must be positive");
    }
    let store_dir = std::env::temp_dir().join(format!("nfbpf-bench-{}", std::process::id()));
    let (local, base) = match &a.agent {
        Some(u) => (None, u.clone()),
        None => {
            std::fs::create_dir_all(&store_dir)?;
            let agent = Agent::start(Config::new("127.0.0.1:0", store_dir.join("agent.redb")))?;
            let base = format!("http://{}", agent.addr);
            (Some(agent), base)
        }
    };
    println!(
        "bench: {} clients for {} s against {base} ({})",
        a.clients,
        a.seconds,
        if local.is_some() {
            "in-process agent, embedded model"
        } else {
            "external agent"
        }
    );
    let run = format!("b{}", std::process::id());
    let until = Instant::now() + Duration::from_secs_f64(a.seconds);
    let start = Instant::now();
    let threads: Vec<_> = (0..a.clients)
        .map(|c| {
            let (base, source, run) = (base.clone(), source.clone(), run.clone());
            std::thread::spawn(move || {
                let cl = Client::new(&base);
                let mut out = Vec::new();
                let mut errors = Vec::new();
                let mut i = 0;
                while Instant::now() < until {
                    let name = format!("{run}-{c}-{i}");
                    i += 1;
                    let reqs = [
                        (
                            "POST",
                            "/functions".to_string(),
                            Some(json!({"name": name, "source": source})),
                            201,
                        ),
                        (
                            "POST",
                            format!("/functions/{name}/invoke"),
                            Some(json!({"run_time": 3})),
                            202,
                        ),
                        ("GET", "/status".to_string(), None, 200),
                        (
                            "POST",
                            format!("/functions/{name}/invoke"),
                            Some(json!({"run_time": 1})),
                            400,
                        ),
                    ];
                    for (kind, (m, p, b, want)) in reqs.iter().enumerate() {
                        let t = Instant::now();
                        let r = cl.call(m, p, b.as_ref());
                        let micros = t.elapsed().as_micros() as u64;
                        let ok = matches!(&r, Ok((s, _)) if s == want);
                        if !ok && errors.len() < 5 {
                            errors.push(format!("{m} {p}: {r:?}"));
                        }
                        out.push(Sample { kind, micros, ok });
                    }
                }
                (out, errors)
            })
        })
        .collect();
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for t in threads {
        let (s, e) = t.join().map_err(|_| anyhow!("a client thread panicked"))?;
        samples.extend(s);
        errors.extend(e);
    }
    let wall = start.elapsed().as_secs_f64();
    let bad = samples.iter().filter(|s| !s.ok).count();
    let mut all: Vec<u64> = samples.iter().map(|s| s.micros).collect();
    all.sort_unstable();
    println!(
        "{} requests in {wall:.1} s: {:.1} requests/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {bad} unintended answers",
        samples.len(),
        samples.len() as f64 / wall,
        pct(&all, 0.5),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
    println!(
        "{:<40} {:>7} {:>9} {:>9} {:>9}",
        "kind", "count", "p50 ms", "p99 ms", "max ms"
    );
    for (k, name) in KINDS.iter().enumerate() {
        let mut v: Vec<u64> = samples
            .iter()
            .filter(|s| s.kind == k)
            .map(|s| s.micros)
            .collect();
        v.sort_unstable();
        println!(
            "{name:<40} {:>7} {:>9.1} {:>9.1} {:>9.1}",
            v.len(),
            pct(&v, 0.5),
            pct(&v, 0.99),
            pct(&v, 1.0)
        );
    }
    for e in &errors {
        println!("unintended: {e}");
    }
    if let Some(agent) = local {
        let st = agent.scheduler().status().map_err(|e| anyhow!("{e}"))?;
        println!(
            "agent after the run: queue {} waiting, {} runs in the timeline shown, running {}",
            st["queue"]["length"],
            st["timeline"].as_array().map_or(0, Vec::len),
            st["running"]["function"].as_str().unwrap_or("nothing")
        );
        agent.stop();
        let _ = std::fs::remove_dir_all(&store_dir);
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
