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
//!   are held to `loader::bus::socket::Limits`. SIGTERM or SIGINT removes
//!   the socket and ends the server with 0.
//! - `load PROG --target TARGET [--budget N]` compiles/loads PROG and
//!   programs it with the loader's register sequence (idle bank, read-back,
//!   swap), with its instruction budget per packet (`BUDGET`; without
//!   `--budget`, the device's default: one full-size frame time).
//! - `status --target TARGET [--json]` reads the identification, the active
//!   bank, the cycle counter and every engine's and port's counters
//!   (`nfbpf_loader::device::status`).
//!
//! - `printk --target TARGET [--json]` takes the trace records
//!   (`bpf_printk`, `bpf_trace_vprintk`) out of every engine's trace FIFO
//!   through the `TRACE*` registers and prints them, oldest call first,
//!   with the count the FIFOs dropped (`vm::units::trace::read_trace`).
//!
//! TARGET is `sim:PATH` (a `serve` socket) or `sume:IFNAME` (a board).

use anyhow::{Context, anyhow};
use nfbpf_loader::bus::{self, Target};
use nfbpf_loader::{Options, load_file};
use nfbpf_sim::device::RtlDevice;
use nfbpf_sim::host::Host;
use nfbpf_vm::abi::Abi;
use nfbpf_vm::device::{Device, DeviceConfig};
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
    /// Take the device's trace records (bpf_printk) out of its trace
    /// FIFOs and print them, oldest call first.
    Printk(StatusArgs),
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
    /// Print one JSON object (docs/cli.md lists its keys).
    #[arg(long)]
    json: bool,
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
        abi: a.abi.map(super::run::AbiArg::abi),
        ..a.object.options()
    };
    let image = load_file(&a.prog, &opts)
        .map_err(|e| super::exit::load_err(&a.prog, e))?
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
    .map_err(|e| anyhow!("{what}: {}: {e}", a.prog.display()))?;
    let budget = bus
        .read32(regs::BUDGET)
        .map_err(|e| anyhow!("{what}: BUDGET: {e}"))?;
    println!(
        "{what}: {} ({} ABI): {} slots and {} maps written, read back and swapped in (bank {}), budget {budget} instructions per packet, {} register accesses",
        a.prog.display(),
        image.abi.title(),
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
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(|e| anyhow!("cannot install the SIGTERM/SIGINT handler: {e}"))?;
    let listener = std::os::unix::net::UnixListener::bind(&socket_path)
        .with_context(|| format!("cannot listen on {}", socket_path.display()))?;
    // SIGTERM/SIGINT: the socket goes first (no new client finds it), then
    // the process ends with 0; a register access in flight is cut, as a
    // board's would be by a reset.
    let path = socket_path.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = std::fs::remove_file(&path);
            eprintln!("nfbpf device: stopped, {} removed", path.display());
            std::process::exit(0);
        }
    });
    eprintln!(
        "nfbpf device: {}, {engines} engines, registers on sim:{}{}",
        match backend {
            Backend::Model => "model",
            Backend::Rtl => "RTL (Verilator)",
        },
        socket_path.display(),
        traffic
            .as_ref()
            .map(|t| {
                let ports: Vec<String> = t.ports.iter().map(ToString::to_string).collect();
                format!(", traffic {} B on ports {}", t.bytes, ports.join(","))
            })
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

/// Open a target: a target that does not parse is a usage error, one that
/// cannot be reached an I/O error (docs/cli.md, exit codes).
pub fn open(target: &str) -> anyhow::Result<Box<dyn RegisterBus + Send>> {
    use super::exit::{Code, err};
    let t: Target = target
        .parse()
        .map_err(|e: regs::BusError| err(Code::Usage, e.to_string()))?;
    bus::open(&t).map_err(|e| err(Code::Io, e.to_string()))
}

pub fn status(target: &str, json: bool) -> anyhow::Result<ExitCode> {
    let mut b = open(target)?;
    let s = nfbpf_loader::device::status(&mut *b).map_err(|e| anyhow!("{target}: {e}"))?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{target}: nfbpf device v{}, {} engines, ABI {}, active bank {}, budget {} instructions per packet, cycle {}",
        s.version,
        s.engines.len(),
        s.abi,
        s.bank,
        s.budget,
        s.cycle
    );
    let cols = [
        "engine",
        "pkt_in",
        "pkt_out",
        "dropped",
        "faults",
        "busy_cycles",
        "stall_cycles",
        "map_wait_cycles",
        "last_fault",
    ];
    let mut t = super::table::new(&cols, &cols[..8]);
    for e in &s.engines {
        let fault = e.last_fault.map_or("-".into(), |f| {
            format!("pc {} addr {:#x} cause {}", f.pc, f.addr, f.cause)
        });
        t.add_row(vec![
            e.engine.to_string(),
            e.pkt_in.to_string(),
            e.pkt_out.to_string(),
            e.dropped.to_string(),
            e.faults.to_string(),
            e.busy_cycles.to_string(),
            e.stall_cycles.to_string(),
            e.map_wait_cycles.to_string(),
            fault,
        ]);
    }
    print!("{}", super::table::render(&t, ""));
    let cols = ["port", "rx", "rx_dropped", "tx"];
    let mut t = super::table::new(&cols, &cols);
    for p in &s.ports {
        t.add_row(vec![p.port, p.rx, p.rx_dropped, p.tx]);
    }
    print!("{}", super::table::render(&t, ""));
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
        What::Status(st) => status(&st.target, st.json),
        What::Printk(st) => printk(&st.target, st.json),
    }
}

/// `nfbpf device printk`: the trace records waiting in the device's
/// trace FIFOs, read through the TRACE* registers and taken out, one line
/// each (engine, the call's clock, the text), then the records the FIFOs
/// dropped.
pub fn printk(target: &str, json: bool) -> anyhow::Result<ExitCode> {
    let mut b = open(target)?;
    let (recs, dropped) =
        nfbpf_vm::units::trace::read_trace(&mut *b).map_err(|e| anyhow!("{target}: {e}"))?;
    for r in &recs {
        if json {
            let o = serde_json::json!({
                "engine": r.engine, "cycle": r.cycle, "format": r.fmt, "trace": r.text,
            });
            println!("{o}");
        } else {
            println!("engine {} cycle {}  {}", r.engine, r.cycle, r.text);
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "records": recs.len(), "dropped": dropped })
        );
    } else {
        println!("{target}: {} trace records, {dropped} dropped", recs.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `nfbpf status`.
pub fn status_cmd(a: StatusArgs) -> anyhow::Result<ExitCode> {
    status(&a.target, a.json)
}
