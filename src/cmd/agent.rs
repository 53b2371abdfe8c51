//! `nfbpf agent serve|bench`: the agent (`nfbpf_agent`) as a process, and a
//! load test of its HTTP API.
//!
//! - `serve [--listen ADDR] [--store PATH] [--target TARGET]... [--traffic SPEC]
//!   [--time-scale X]`: without `--target` the agent runs an embedded model
//!   device with traffic (`nfbpf_agent::DEFAULT_TRAFFIC` unless given) and a
//!   schedule second is a device millisecond (`--time-scale 0.001`); on a
//!   target a schedule second is a device second (the cycle counter) or, on
//!   a target without a running cycle counter, a wall second. `--target`
//!   repeated gives several devices (`model` is an embedded model device),
//!   and the agent places invocations over them.
//!   SIGTERM or SIGINT stops it gracefully ([`nfbpf_agent::Agent::stop`]:
//!   no new connection, requests in flight answered within a grace period,
//!   the compile scratch directory removed) and it exits with 0.
//! - `bench`: a load test of the API, with hostile clients if asked
//!   (`super::agent_bench`).

use anyhow::{anyhow, bail};
use nfbpf_agent::auth::Credentials;
use nfbpf_agent::{Agent, ClockSource, Config};
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// A device: `model` (an embedded model), `sim:PATH` or `sume:IFNAME`;
    /// repeat for several devices. Default: one embedded model.
    #[arg(short = 't', long)]
    target: Vec<String>,
    /// Traffic of each embedded model, `PORTS:BYTES[:GBPS]` (default
    /// `0,1,2,3:256:1`).
    #[arg(long)]
    traffic: Option<String>,
    /// Schedule seconds = device (or wall) seconds / X. Default 0.001 on
    /// embedded models, 1 on targets; required when both are given.
    #[arg(long, allow_negative_numbers = true)]
    time_scale: Option<f64>,
    /// Force the schedule's clock (default: the cycle counter if it runs).
    #[arg(long, value_enum)]
    clock: Option<ClockArg>,
    /// Engines of each embedded model.
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

#[derive(clap::Subcommand)]
enum What {
    /// Run the agent.
    Serve(ServeArgs),
    /// Load test of an agent's API.
    Bench(super::agent_bench::BenchArgs),
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
        What::Bench(b) => super::agent_bench::bench(b),
    }
}

fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::new(&a.listen, a.store.clone());
    cfg.targets = a.target.clone();
    cfg.traffic = a
        .traffic
        .as_deref()
        .map(nfbpf_sim::host::parse_traffic)
        .transpose()?;
    let model =
        cfg.targets.is_empty() || cfg.targets.iter().any(|t| t == nfbpf_agent::TARGET_MODEL);
    if !model && cfg.traffic.is_some() {
        bail!(
            "--traffic is for embedded models (--target model); a target's traffic is the target's own"
        );
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
    // Registered before the agent starts, so that a signal from then on
    // stops it gracefully instead of killing the process.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(|e| anyhow!("cannot install the SIGTERM/SIGINT handler: {e}"))?;
    let agent = Agent::start(cfg)?;
    let st = agent.scheduler().status().map_err(|e| anyhow!("{e}"))?;
    eprintln!(
        "nfbpf agent: http://{}, store {}, device{} {}, clock {} (time scale {})",
        agent.addr,
        a.store.display(),
        if agent.scheduler().device_names().len() > 1 {
            "s"
        } else {
            ""
        },
        st["target"].as_str().unwrap_or("?"),
        st["clock"].as_str().unwrap_or("?"),
        st["time_scale"]
    );
    let sig = signals.forever().next();
    eprintln!(
        "nfbpf agent: {}: stopping (requests in flight are answered first)",
        match sig {
            Some(signal_hook::consts::SIGINT) => "SIGINT",
            _ => "SIGTERM",
        }
    );
    agent.stop();
    eprintln!("nfbpf agent: stopped");
    Ok(ExitCode::SUCCESS)
}
