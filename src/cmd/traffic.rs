//! `nfbpf traffic --out FILE.pcapng ...`: generate test traffic (see
//! `nfbpf_sim::traffic`). The file has one interface per input port, so
//! `nfbpf run PROG --pcap FILE` gives each packet its port; timestamps are
//! the frames' arrival times at the offered rate.

use anyhow::{Context, anyhow};
use nfbpf_sim::traffic::{Generator, Proto, Size, Spec};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use std::borrow::Cow;
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
    let f = std::fs::File::create(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let mut w = PcapNgWriter::new(std::io::BufWriter::new(f))
        .map_err(|e| anyhow!("{}: {e}", a.out.display()))?;
    let max_port = a.ports.iter().copied().max().unwrap_or(0);
    for _ in 0..=max_port {
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 0,
            options: vec![],
        })
        .map_err(|e| anyhow!("{}: {e}", a.out.display()))?;
    }
    let (mut n, mut bytes, mut last) = (0usize, 0usize, 0.0f64);
    for fr in g.take(a.count) {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: fr.port,
            timestamp: Duration::from_nanos(fr.time_ns.round() as u64),
            original_len: fr.data.len() as u32,
            data: Cow::Borrowed(&fr.data),
            options: vec![],
        })
        .map_err(|e| anyhow!("{}: {e}", a.out.display()))?;
        n += 1;
        bytes += fr.data.len();
        last = fr.time_ns;
    }
    println!(
        "{}: {n} frames, {bytes} bytes, {:.3} us of traffic on ports {:?}",
        a.out.display(),
        last / 1e3,
        a.ports
    );
    Ok(ExitCode::SUCCESS)
}
