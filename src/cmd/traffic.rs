//! `nfbpf traffic --out FILE.pcapng ...`: generate test traffic (see
//! `nfbpf_sim::traffic`). The file has one interface per input port, so
//! `nfbpf run PROG --pcap FILE` gives each packet its port; timestamps are
//! the frames' arrival times at the offered rate, in nanoseconds (each
//! interface declares the resolution, `if_tsresol` 9). Interface N is
//! named `portN`.

use anyhow::anyhow;
use nfbpf_sim::capture::Writer;
use nfbpf_sim::traffic::{Generator, Proto, Size, Spec};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Output pcapng file.
    #[arg(long)]
    out: PathBuf,
    /// Frames to generate (all ports together).
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Frame size in bytes (64..1500) or `imix`.
    #[arg(long, default_value = "64")]
    size: String,
    #[arg(long, value_enum, default_value_t = ProtoArg::Udp)]
    proto: ProtoArg,
    /// Distinct flows (5-tuples).
    #[arg(long, default_value_t = 16)]
    flows: u32,
    /// Offered load per port, Gb/s.
    #[arg(long, default_value_t = 10.0)]
    gbps: f64,
    /// Input ports, comma-separated.
    #[arg(long, default_value = "0", value_delimiter = ',')]
    ports: Vec<u32>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ProtoArg {
    Udp,
    Tcp,
    Icmp,
    Mix,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let size = if a.size == "imix" {
        Size::Imix
    } else {
        Size::Fixed(
            a.size
                .parse()
                .map_err(|_| anyhow!("--size `{}`: a byte count or `imix`", a.size))?,
        )
    };
    let spec = Spec {
        size,
        proto: match a.proto {
            ProtoArg::Udp => Proto::Udp,
            ProtoArg::Tcp => Proto::Tcp,
            ProtoArg::Icmp => Proto::Icmp,
            ProtoArg::Mix => Proto::Mix,
        },
        flows: a.flows,
        gbps: a.gbps,
        ports: a.ports.clone(),
        seed: a.seed,
    };
    let g = Generator::new(spec)?;
    let max_port = a.ports.iter().copied().max().unwrap_or(0);
    let names: Vec<String> = (0..=max_port).map(|p| format!("port{p}")).collect();
    let mut w = Writer::create(&a.out, &names)?;
    let (mut n, mut bytes, mut last) = (0usize, 0usize, 0.0f64);
    for fr in g.take(a.count) {
        w.write(
            fr.port,
            Duration::from_nanos(fr.time_ns.round() as u64),
            &fr.data,
        )?;
        n += 1;
        bytes += fr.data.len();
        last = fr.time_ns;
    }
    w.finish()?;
    println!(
        "{}: {n} frames, {bytes} bytes, {:.3} us of traffic on ports {}",
        a.out.display(),
        last / 1e3,
        a.ports
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
