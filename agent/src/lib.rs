//! nfbpf-agent: serverless eBPF functions scheduled onto the device.
//!
//! - [`registry`]: function records; compiling (clang) and validating (the
//!   loader) what clients submit;
//! - [`sandbox`]: clang in bubblewrap with time, CPU, memory and output
//!   limits, the bounded compile queue and the scratch directories;
//! - [`store`]: the redb database holding registry, queue, running
//!   invocation and timeline (crash-safe);
//! - [`scheduler`]: the FIFO schedule, staging the next program into the idle
//!   bank ahead of its start and swapping at the deadline;
//! - [`api`]: the HTTP JSON API; [`openfaas`]: the OpenFaaS provider API
//!   beside it (an OpenFaaS gateway and `faas-cli` in front); [`wire`]: its request bodies as types
//!   (what `nfbpf fn` sends);
//! - [`lambda`]: a lambda's request frames and the answers put back
//!   together (what an invocation of a lambda sends to the device);
//! - [`client`]: the API from Rust, one typed method per call (what
//!   `nfbpf fn` uses); [`bench`]: the API's load test (`nfbpf agent
//!   bench`);
//! - [`Agent`]: all of it started together, on one device or several:
//!   targets (`sim:PATH`, `sume:IFNAME`) and embedded model devices with
//!   traffic (`model`, `nfbpf_sim::host`); one embedded model when none is
//!   given.

pub mod api;
pub mod auth;
pub mod bench;
pub mod client;
pub mod lambda;
pub mod limits;
pub mod openfaas;
pub mod registry;
pub mod sandbox;
pub mod scheduler;
pub mod store;
pub mod wire;

use nfbpf_loader::Abi;
use nfbpf_sim::host::{ModelHost, Traffic};
use nfbpf_vm::device::{Device, DeviceConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use scheduler::ClockSource;

/// Traffic of the embedded device when none is given: 256-byte frames at
/// 1 Gb/s on each of the four ports (the model keeps up with it under every
/// program of `programs/`, so no frame is refused at the ports).
pub const DEFAULT_TRAFFIC: &str = "0,1,2,3:256:1";
/// Time scale of the embedded model: a schedule second is a device
/// millisecond (200,000 clocks), so a 5 s run takes about 5 ms of device
/// time, a fraction of a wall second.
pub const MODEL_TIME_SCALE: f64 = 0.001;
/// The target naming an embedded model device (`--target model`, once per
/// device).
pub const TARGET_MODEL: &str = "model";

/// How to start an agent.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST:PORT` (port 0: any free port).
    pub listen: String,
    pub store: PathBuf,
    /// The devices, each `model` (an embedded model device), `sim:PATH`
    /// or `sume:IFNAME` ([`TARGET_MODEL`]); none: one embedded model.
    pub targets: Vec<String>,
    /// Traffic of the embedded model (None: [`DEFAULT_TRAFFIC`]).
    pub traffic: Option<Traffic>,
    /// Schedule seconds = clock seconds / time scale (None: 1 on targets,
    /// [`MODEL_TIME_SCALE`] on embedded models; required when both are
    /// given).
    pub time_scale: Option<f64>,
    pub clock: Option<ClockSource>,
    /// Engines of each embedded model.
    pub engines: usize,
    pub abi: Abi,
    pub clang: PathBuf,
    /// Credentials every route but `/healthz` requires. Without them the
    /// agent listens on loopback addresses only.
    pub auth: Option<auth::Credentials>,
    /// Host names clients may address the agent by, besides `localhost`
    /// and IP literals.
    pub hosts: Vec<String>,
    pub limits: limits::Limits,
    /// Compile C sources inside the bubblewrap sandbox ([`sandbox`]); true
    /// by default. Without bubblewrap (or where it cannot create its
    /// namespaces) the agent then refuses creates from source with a 503
    /// and still accepts objects. False is the explicit opt-out: clang runs
    /// unconfined (under the same limits) and a source can read any file the
    /// agent can; only for an agent whose clients are trusted.
    pub compile_sandbox: bool,
    /// The bubblewrap program (a path, or a name looked up on `PATH`).
    pub bwrap: PathBuf,
    /// Wall time a device's cycle counter may stand still before the
    /// device counts as stopped ([`scheduler::STALL`]).
    pub stall: std::time::Duration,
}

impl Config {
    pub fn new(listen: &str, store: PathBuf) -> Config {
        Config {
            listen: listen.to_string(),
            store,
            targets: Vec::new(),
            traffic: None,
            time_scale: None,
            clock: None,
            engines: 4,
            abi: Abi::Sume,
            clang: nfbpf_loader::compile::default_clang(),
            auth: None,
            hosts: Vec::new(),
            limits: limits::Limits::default(),
            compile_sandbox: true,
            bwrap: PathBuf::from("bwrap"),
            stall: scheduler::STALL,
        }
    }
}

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("--time-scale {0}: must be a positive number")]
    TimeScale(f64),
    #[error(
        "embedded model devices (a schedule second is {MODEL_TIME_SCALE} of a device second) and targets (a device second) are given together: give --time-scale for all of them"
    )]
    MixedScale,
    #[error("--target {0} is given twice")]
    SameTarget(String),
    #[error(transparent)]
    Traffic(#[from] nfbpf_sim::host::TrafficError),
    #[error(transparent)]
    Device(#[from] nfbpf_vm::device::DeviceError),
    #[error(transparent)]
    Target(#[from] nfbpf_vm::regs::BusError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Scheduler(#[from] scheduler::StartError),
    #[error("cannot listen on {addr}: {msg}")]
    Listen { addr: String, msg: String },
    #[error(
        "refusing to listen on {addr} without authentication: beyond loopback anyone who reaches the port could load code onto the device; give credentials (nfbpf agent serve --auth FILE, see docs/security.md) or listen on 127.0.0.1"
    )]
    NoAuth { addr: String },
    #[error("scratch directory {path}: {e}")]
    Scratch {
        path: PathBuf,
        #[source]
        e: std::io::Error,
    },
}

/// A running agent.
pub struct Agent {
    pub addr: SocketAddr,
    stop: Arc<tokio::sync::Notify>,
    sched: Arc<scheduler::Scheduler>,
    threads: Vec<JoinHandle<()>>,
    /// The compile scratch root (beside the store), removed at [`Agent::stop`].
    scratch: PathBuf,
    /// Kept alive while the agent runs (the embedded models' clocks).
    _hosts: Vec<ModelHost>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("addr", &self.addr).finish()
    }
}

impl Agent {
    pub fn start(cfg: Config) -> Result<Agent, StartError> {
        Agent::start_on(cfg, Vec::new())
    }

    /// Start on the devices of `cfg.targets` followed by `more` (devices
    /// opened by the caller, e.g. a bus wrapped for a test); with neither,
    /// one embedded model.
    pub fn start_on(cfg: Config, more: Vec<scheduler::DeviceIn>) -> Result<Agent, StartError> {
        let mut targets = cfg.targets.clone();
        if targets.is_empty() && more.is_empty() {
            targets.push(TARGET_MODEL.to_string());
        }
        for (i, t) in targets.iter().enumerate() {
            if t != TARGET_MODEL && targets[..i].contains(t) {
                return Err(StartError::SameTarget(t.clone()));
            }
        }
        let models = targets.iter().filter(|t| *t == TARGET_MODEL).count();
        let scale = match cfg.time_scale {
            Some(s) => s,
            None if models == 0 => 1.0,
            None if models == targets.len() && more.is_empty() => MODEL_TIME_SCALE,
            None if models == targets.len() => 1.0,
            None => return Err(StartError::MixedScale),
        };
        if !(scale.is_finite() && scale > 0.0) {
            return Err(StartError::TimeScale(scale));
        }
        let listen_err = |msg: String| StartError::Listen {
            addr: cfg.listen.clone(),
            msg,
        };
        // Where to listen is checked before anything starts.
        let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&cfg.listen)
            .map_err(|e| listen_err(e.to_string()))?
            .collect();
        if cfg.auth.is_none() && addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(StartError::NoAuth {
                addr: cfg.listen.clone(),
            });
        }
        let store = Arc::new(store::Store::open(&cfg.store)?);
        // Beside the store, whose lock keeps a second agent off it.
        let root = sandbox::Scratch::root_for(&cfg.store);
        let scratch = sandbox::Scratch::open(&root).map_err(|e| StartError::Scratch {
            path: root.clone(),
            e,
        })?;
        let compiler = sandbox::Compiler::new(
            &cfg.clang,
            cfg.compile_sandbox.then_some(cfg.bwrap.as_path()),
            scratch,
            cfg.limits.compile.clone(),
        );
        if let Some(why) = compiler.unavailable() {
            eprintln!("nfbpf agent: {why}; creates from C source get a 503, objects are accepted");
        } else if !compiler.sandboxed() {
            eprintln!(
                "nfbpf agent: compiling C without the sandbox (compile_sandbox is off): sources can read the agent's files"
            );
        }
        let mut devices = Vec::new();
        let mut hosts = Vec::new();
        let one_model = targets.len() == 1 && models == 1 && more.is_empty();
        for t in &targets {
            if t == TARGET_MODEL {
                let traffic = match &cfg.traffic {
                    Some(t) => t.clone(),
                    None => nfbpf_sim::host::parse_traffic(DEFAULT_TRAFFIC)?,
                };
                let dev = Device::new(DeviceConfig {
                    engines: cfg.engines,
                    abi: cfg.abi,
                    ..DeviceConfig::default()
                })?;
                let host = ModelHost::start(dev, Some(traffic));
                let name = if one_model {
                    format!("embedded model ({} engines)", cfg.engines)
                } else {
                    format!("model:{}", hosts.len())
                };
                devices.push(scheduler::DeviceIn {
                    name,
                    bus: Box::new(host.bus()),
                    model: Some(host.bus()),
                });
                hosts.push(host);
            } else {
                let parsed: nfbpf_loader::bus::Target = t.parse()?;
                devices.push(scheduler::DeviceIn {
                    name: t.clone(),
                    bus: nfbpf_loader::bus::open(&parsed)?,
                    model: None,
                });
            }
        }
        devices.extend(more);
        let tools = registry::Toolchain {
            clang: cfg.clang.clone(),
            abi: cfg.abi,
            compiler: Arc::new(compiler),
        };
        let sched = Arc::new(scheduler::Scheduler::new(
            devices,
            store,
            tools,
            scheduler::Config {
                time_scale: scale,
                clock: cfg.clock,
                limits: cfg.limits.clone(),
                stall: cfg.stall,
            },
        )?);

        let listener =
            std::net::TcpListener::bind(&addrs[..]).map_err(|e| listen_err(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| listen_err(e.to_string()))?;
        let stop = Arc::new(tokio::sync::Notify::new());
        let mut threads = Vec::new();
        let s = Arc::clone(&sched);
        threads.push(std::thread::spawn(move || s.run()));
        let (st, s) = (Arc::clone(&stop), Arc::clone(&sched));
        let front = Arc::new(api::Front {
            auth: cfg.auth.clone(),
            hosts: cfg.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            limits: cfg.limits.clone(),
        });
        threads.push(std::thread::spawn(move || {
            if let Err(e) = api::serve(listener, s, front, st) {
                eprintln!("nfbpf agent: the HTTP server stopped: {e}");
            }
        }));
        Ok(Agent {
            addr,
            stop,
            sched,
            threads,
            scratch: root,
            _hosts: hosts,
        })
    }

    /// The scheduler (status, cancel) for in-process use.
    pub fn scheduler(&self) -> &scheduler::Scheduler {
        &self.sched
    }

    /// Serve until the process ends.
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Stop serving and scheduling: no new connection is accepted,
    /// requests in flight are answered within the server's grace period
    /// (then cut), the scheduler ends its step, and the compile scratch
    /// directory is removed. The store is closed when the agent is dropped
    /// (every change was committed as it was made).
    pub fn stop(mut self) {
        self.sched.shutdown();
        // A stored permit: the server stops even if it is not waiting yet.
        self.stop.notify_one();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        match std::fs::remove_dir_all(&self.scratch) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!(
                "nfbpf agent: cannot remove the scratch directory {}: {e}",
                self.scratch.display()
            ),
        }
    }
}
