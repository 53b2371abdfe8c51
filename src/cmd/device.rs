//! `nfbpf device serve|load|status`: a simulated board and the host side
//! that drives any board through its registers.
//!
//! - `serve --backend model|rtl [--socket PATH] [--engines N] [--traffic SPEC]
//!   [--max-connections N] [--idle-timeout SECS]`
//!   runs the data plane model (or its RTL through Verilator,
//!   `sim::device::RtlDevice`: 4 engines, SUME ABI) as a long-lived process with its register
//!   interface on a Unix socket (protocol: `loader::bus::socket`), the way
//!   the SUME driver exposes the board. With `--traffic`, frames arrive on
//!   the given ports at the given rate in simulated time, which runs as fast
//!   as the host allows. An existing socket at PATH is replaced only when
//!   stale (nobody answers on it); anything else there is refused. Clients
//!   are held to `loader::bus::socket::Limits`.
//! - `load PROG --target TARGET [--budget N]` compiles/loads PROG and
//!   programs it with the loader's register sequence (idle bank, read-back,
//!   swap), with its instruction budget per packet (`BUDGET`; without
//!   `--budget`, the device's default: one full-size frame time).
//! - `status --target TARGET` reads the identification, the active bank, the
//!   cycle counter and every engine's counters.
//!
//! TARGET is `sim:PATH` (a `serve` socket) or `sume:IFNAME` (a board).

use anyhow::{Context, anyhow};
use nfbpf_loader::bus::{self, Target};
use nfbpf_loader::{Options, load_file};
use nfbpf_sim::device::RtlDevice;
use nfbpf_sim::host::Host;
use nfbpf_vm::abi::Abi;
use nfbpf_vm::device::{Device, DeviceConfig, PORTS};
use nfbpf_vm::regs::{self, RegisterBus};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

impl Args {
    /// `device serve`: a server, which must outlive any client.
    pub fn is_server(&self) -> bool {
        matches!(self.what, What::Serve { .. })
    }
}

#[derive(clap::Subcommand)]
enum What {
    /// Run a simulated board with its registers on a Unix socket.
    Serve {
        #[arg(long, value_enum, default_value_t = Backend::Model)]
        backend: Backend,
        #[arg(long, default_value = "/tmp/nfbpf.sock")]
        socket: PathBuf,
        /// Engines (1..16; engine e serves port e % 4).
        #[arg(long, default_value_t = 4)]
        engines: usize,
        /// Traffic: `PORTS:BYTES[:GBPS]`, e.g. `0,1:64:10` (10 Gb/s of 64-byte
        /// frames on ports 0 and 1, preamble and gap counted).
        #[arg(long)]
        traffic: Option<String>,
        /// Clients served at once (1 or more); past this a client gets
        /// `ERR the device is busy`.
        #[arg(
            long,
            default_value_t = bus::socket::MAX_CONNECTIONS,
            value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
        )]
        max_connections: usize,
        /// Seconds a client may stay silent before it is closed (0: never).
        #[arg(long, default_value_t = bus::socket::IDLE_TIMEOUT.as_secs())]
        idle_timeout: u64,
    },
    /// Program a function into a device through its registers.
    Load(LoadArgs),
    /// Print a device's identification and counters.
    Status(StatusArgs),
}

/// `nfbpf device load` (also `nfbpf load`).
#[derive(clap::Args)]
pub struct LoadArgs {
    /// The function: C source or clang object.
    prog: PathBuf,
    /// The device: `sim:PATH` or `sume:IFNAME`.
    #[arg(short = 't', long, required_unless_present = "dry_run")]
    target: Option<String>,
    /// Dry run: print the register sequence against a fresh model, write
    /// nothing to any device.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Print every register access (offset, value, register name).
    #[arg(short = 'd', long)]
    debug: bool,
    /// Instruction budget per packet of the function (the BUDGET register,
    /// written with the program; a packet that needs more is aborted, fault
    /// cause 2). Without it (or 0): the device's default, one full-size
    /// frame time (contract::DEVICE_INSN_BUDGET).
    #[arg(long, value_name = "N")]
    budget: Option<u32>,
    /// Program ABI (default: from the section: `xdp*` is XDP, `.text`
    /// SUME; other sections need it).
    #[arg(long, value_enum)]
    abi: Option<super::run::AbiArg>,
    #[command(flatten)]
    object: super::object::ObjectArgs,
}

/// `nfbpf device status` (also `nfbpf status`).
#[derive(clap::Args)]
pub struct StatusArgs {
    /// The device: `sim:PATH` or `sume:IFNAME`.
    #[arg(short = 't', long)]
    target: String,
}

/// A bus that prints each access.
struct Logged<'a> {
    inner: &'a mut dyn RegisterBus,
}

fn reg_name(off: u32) -> String {
    match regs::lookup(off) {
        Some((r, 0)) if r.count == 1 => r.name.to_string(),
        Some((r, i)) => format!("{}[{i}]", r.name),
        None => "?".into(),
    }
}

impl RegisterBus for Logged<'_> {
    fn read32(&mut self, off: u32) -> Result<u32, regs::BusError> {
        let v = self.inner.read32(off);
        match &v {
            Ok(x) => println!("R {off:#06x} -> {x:#010x}  {}", reg_name(off)),
            Err(e) => println!("R {off:#06x} !! {e}  {}", reg_name(off)),
        }
        v
    }
    fn write32(&mut self, off: u32, v: u32) -> Result<(), regs::BusError> {
        println!("W {off:#06x} <- {v:#010x}  {}", reg_name(off));
        self.inner.write32(off, v)
    }
}

pub fn load(a: LoadArgs) -> anyhow::Result<ExitCode> {
    let opts = Options {
        abi: a.abi.map(super::run::AbiArg::loader),
        ..a.object.options()
    };
    let image = load_file(&a.prog, &opts)
        .map_err(|e| anyhow!("{}: {e}", a.prog.display()))?
        .with_budget(a.budget);
    a.object.report(&a.prog, &image);
    let (mut bus, what): (Box<dyn RegisterBus + Send>, String) = if a.dry_run {
        (
            Box::new(Device::new(DeviceConfig::default())?),
            "dry run (model, nothing written)".into(),
        )
    } else {
        let t = a.target.clone().unwrap_or_default();
        (open(&t)?, t)
    };
    let r = if a.debug || a.dry_run {
        let mut l = Logged { inner: &mut *bus };
        nfbpf_loader::device::program(&mut l, &image)
    } else {
        nfbpf_loader::device::program(&mut *bus, &image)
    }
    .map_err(|e| anyhow!("{what}: {e}"))?;
    let budget = bus
        .read32(regs::BUDGET)
        .map_err(|e| anyhow!("{what}: BUDGET: {e}"))?;
    println!(
        "{what}: {} ({:?} ABI): {} slots and {} maps written, read back and swapped in (bank {}), budget {budget} instructions per packet, {} register accesses",
        a.prog.display(),
        image.abi,
        r.slots,
        r.maps,
        r.bank,
        r.accesses
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Backend {
    /// The cycle-accurate data plane model.
    Model,
    /// The Verilog, through Verilator.
    Rtl,
}

pub use nfbpf_sim::host::{Traffic, parse_traffic};

fn serve(
    backend: Backend,
    socket_path: PathBuf,
    engines: usize,
    traffic: Option<Traffic>,
    limits: bus::socket::Limits,
) -> anyhow::Result<ExitCode> {
    let cfg = DeviceConfig {
        engines,
        abi: Abi::Sume,
        ..DeviceConfig::default()
    };
    // Only a stale socket is replaced; anything else at the path is refused.
    bus::socket::prepare_socket_path(&socket_path)?;
    let listener = std::os::unix::net::UnixListener::bind(&socket_path)
        .with_context(|| format!("cannot listen on {}", socket_path.display()))?;
    eprintln!(
        "nfbpf device: {}, {engines} engines, registers on sim:{}{}",
        match backend {
            Backend::Model => "model",
            Backend::Rtl => "RTL (Verilator)",
        },
        socket_path.display(),
        traffic
            .as_ref()
            .map(|t| format!(", traffic {} B on ports {:?}", t.bytes, t.ports))
            .unwrap_or_default()
    );
    match backend {
        Backend::Model => Host::start(Device::new(cfg)?, traffic).serve_socket(listener, &limits),
        Backend::Rtl => {
            let dev = RtlDevice::new(cfg).map_err(|e| anyhow!("--backend rtl: {e}"))?;
            Host::start(dev, traffic).serve_socket(listener, &limits)
        }
    }
}

fn open(target: &str) -> anyhow::Result<Box<dyn RegisterBus + Send>> {
    let t: Target = target.parse()?;
    Ok(bus::open(&t)?)
}

pub fn status(target: &str) -> anyhow::Result<ExitCode> {
    let mut b = open(target)?;
    let v = b.read32(regs::VERSION)?;
    let n = b.read32(regs::NUMENGINES)?;
    let abi = if b.read32(regs::ABIMODE)? & 1 == 1 {
        "xdp"
    } else {
        "sume"
    };
    let bank = b.read32(regs::CURRINSTMEM)?;
    let budget = b.read32(regs::BUDGET)?;
    let lo = b.read32(regs::CYCLELO)?;
    let hi = b.read32(regs::CYCLEHI)?;
    println!(
        "{target}: nfbpf device v{}.{}, {n} engines, ABI {abi}, active bank {bank}, budget {budget} instructions per packet, cycle {}",
        v >> 16,
        v & 0xffff,
        (u64::from(hi) << 32) | u64::from(lo)
    );
    println!(
        "engine  pkts-in  pkts-out  dropped  faults  busy-cycles  stall-cycles  map-wait  last-fault"
    );
    for e in 0..n {
        b.write32(regs::ENGSELECT, e)?;
        let r = |b: &mut Box<dyn RegisterBus + Send>, o| b.read32(o);
        let (i, o, d, f) = (
            r(&mut b, regs::ENGPKTIN)?,
            r(&mut b, regs::ENGPKTOUT)?,
            r(&mut b, regs::ENGDROP)?,
            r(&mut b, regs::ENGFAULTS)?,
        );
        let (busy, stall) = (r(&mut b, regs::ENGBUSY)?, r(&mut b, regs::ENGSTALL)?);
        let wait = r(&mut b, regs::ENGMAPWAIT)?;
        let fault = if f > 0 {
            format!(
                "pc {} addr {:#x} cause {}",
                r(&mut b, regs::ENGFAULTPC)?,
                r(&mut b, regs::ENGFAULTADDR)?,
                r(&mut b, regs::ENGFAULTCAUSE)?
            )
        } else {
            "-".into()
        };
        println!("{e:6}  {i:7}  {o:8}  {d:7}  {f:6}  {busy:11}  {stall:12}  {wait:8}  {fault}");
    }
    println!("port  rx  rx-dropped  tx");
    for p in 0..PORTS as u32 {
        b.write32(regs::PORTSELECT, p)?;
        let (rx, drop, tx) = (
            b.read32(regs::PORTRX)?,
            b.read32(regs::PORTRXDROP)?,
            b.read32(regs::PORTTX)?,
        );
        println!("{p:4}  {rx}  {drop}  {tx}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.what {
        What::Serve {
            backend,
            socket,
            engines,
            traffic,
            max_connections,
            idle_timeout,
        } => serve(
            backend,
            socket,
            engines,
            traffic.as_deref().map(parse_traffic).transpose()?,
            bus::socket::Limits {
                max_connections,
                idle_timeout: Some(std::time::Duration::from_secs(idle_timeout)),
                ..bus::socket::Limits::default()
            },
        ),
        What::Load(l) => load(l),
        What::Status(st) => status(&st.target),
    }
}

/// `nfbpf status`.
pub fn status_cmd(a: StatusArgs) -> anyhow::Result<ExitCode> {
    status(&a.target)
}
