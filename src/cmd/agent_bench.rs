//! `nfbpf agent bench`: the flags of the agent's load test and its report
//! (the test itself is `nfbpf_agent::bench`: valid clients, hostile clients
//! beside them with `--hostile N`, and without `--agent` an agent started
//! as a child whose memory and file descriptors are sampled).

use anyhow::{Context, bail};
use nfbpf_agent::bench::{AgentAfter, Bench, BenchConfig, DEFAULT_FUNCTION, HOSTILE, Latency};
use std::path::PathBuf;
use std::process::ExitCode;

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

fn row(name: &str, l: Latency) {
    println!(
        "{name:<40} {:>7} {:>9.1} {:>9.1} {:>9.1}",
        l.count, l.p50_ms, l.p99_ms, l.max_ms
    );
}

pub fn bench(a: BenchArgs) -> anyhow::Result<ExitCode> {
    let path = a.source.unwrap_or_else(|| PathBuf::from(DEFAULT_FUNCTION));
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
    let b = Bench::start(BenchConfig {
        agent: a.agent,
        serve_exe: None,
        clients: a.clients,
        seconds: a.seconds,
        source,
        hostile: a.hostile,
        auth: a.auth,
        limits: a.limits,
    })?;
    println!(
        "bench: {} valid and {} hostile clients for {} s against {} ({})",
        a.clients,
        a.hostile,
        a.seconds,
        b.url(),
        if b.spawned() {
            "`nfbpf agent serve` started as a child, embedded model, credentials on"
        } else {
            "external agent"
        }
    );
    let r = b.run()?;
    let served = r.served().count();
    let l = r.latency();
    println!(
        "{} valid requests in {:.1} s: {served} served ({:.1}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms), {} refused as busy (429/503), {} unintended answers",
        r.samples.len(),
        r.wall_s,
        served as f64 / r.wall_s,
        l.p50_ms,
        l.p99_ms,
        l.max_ms,
        r.busy(),
        r.unintended()
    );
    println!(
        "{:<40} {:>7} {:>9} {:>9} {:>9}",
        "kind", "count", "p50 ms", "p99 ms", "max ms"
    );
    // Valid kinds: latency of the requests served.
    for (name, l) in r.by_valid_kind() {
        row(name, l);
    }
    if a.hostile > 0 {
        let bad = r.hostile_unintended();
        println!(
            "{} hostile requests, {} answered other than intended",
            r.hostile.len(),
            bad.len()
        );
        for (name, l) in r.by_hostile_kind() {
            row(name, l);
        }
        for h in bad.iter().take(5) {
            match h.status {
                Some(status) => println!("hostile {}: answered {status}", HOSTILE[h.kind].0),
                None => println!(
                    "hostile {}: no answer (connection failed or closed)",
                    HOSTILE[h.kind].0
                ),
            }
        }
    }
    for e in &r.errors {
        println!("unintended: {e}");
    }
    if let Some(after) = r.agent_after {
        if let Some(u) = r.usage_summary() {
            println!(
                "agent memory: {} MiB after warm-up, {} MiB at the end, {} MiB at most; file descriptors: {} after warm-up, {} at the end, {} at most ({} samples)",
                u.warm.rss_kib / 1024,
                u.last.rss_kib / 1024,
                u.max_rss_kib / 1024,
                u.warm.fds,
                u.last.fds,
                u.max_fds,
                u.samples
            );
        }
        let points = r.usage_points(10);
        if !points.is_empty() {
            println!(
                "agent memory over the run (MiB, 10 points): {}; file descriptors: {}",
                points
                    .iter()
                    .map(|u| (u.rss_kib / 1024).to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                points
                    .iter()
                    .map(|u| u.fds.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        match after {
            AgentAfter::Crashed(st) => println!("agent crashed: {st}"),
            AgentAfter::Alive => println!("agent after the run: alive, 0 crashes"),
            AgentAfter::NotAnswering => println!("agent after the run: not answering"),
        }
    }
    Ok(if r.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
