//! `nfbpf traffic --out FILE.pcapng ...`: generate test traffic (see
//! `nfbpf_sim::traffic`). The file has one interface per input port, so
//! `nfbpf run PROG --pcap FILE` gives each packet its port; timestamps are
//! the frames' arrival times at the offered rate, in nanoseconds (each
//! interface declares the resolution, `if_tsresol` 9). Interface N is
//! named `portN`. With `--lambda KIND` the frames are requests for one of
//! the lambdas of `programs/` (docs/lambdas.md): images to gray, pages to
//! get, memcached commands, each a one-chunk request in the agent's format.

use anyhow::anyhow;
use nfbpf_sim::capture::Writer;
use nfbpf_sim::traffic::{Generator, Proto, Size, Spec};
use nfbpf_vm::pipeline::randprog::Rng;
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
    /// Requests for a lambda instead (`--size`, `--proto` and `--flows` do
    /// not apply): `gray` images of 1 to 256 random RGBA pixels, `web`
    /// `GET` requests for a few paths, `kv` memcached `set` and `get` of a
    /// few keys; request IDs count from 1.
    #[arg(long, value_enum)]
    lambda: Option<LambdaArg>,
    /// The UDP port of the lambda requests.
    #[arg(long, default_value_t = nfbpf_vm::contract::LAMBDA_DEFAULT_PORT)]
    lambda_port: u16,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LambdaArg {
    Gray,
    Web,
    Kv,
}

/// Request `i`'s lambda ID and body for `kind` (`rng` seeded by `--seed`).
fn lambda_request(kind: LambdaArg, i: usize, rng: &mut Rng) -> (u16, Vec<u8>) {
    let mut r = || rng.next_u64();
    use nfbpf_vm::contract::{LAMBDA_ID_GRAY, LAMBDA_ID_KV, LAMBDA_ID_WEB};
    match kind {
        LambdaArg::Gray => {
            // Up to one chunk's body of 4-byte pixels.
            let most = (nfbpf_agent::lambda::CHUNK_BODY / 4) as u64;
            let pixels = 1 + (r() % most) as usize;
            (LAMBDA_ID_GRAY, (0..4 * pixels).map(|_| r() as u8).collect())
        }
        LambdaArg::Web => {
            let path = ["/", "/index.html", "/hi", "/missing"][(r() % 4) as usize];
            (
                LAMBDA_ID_WEB,
                format!("GET {path} HTTP/1.0\r\n").into_bytes(),
            )
        }
        LambdaArg::Kv => {
            let key = format!("key{}", r() % 8);
            let body = if i.is_multiple_of(2) {
                let data: String = (0..(r() % 40) as usize)
                    .map(|_| char::from(b'a' + (r() % 26) as u8))
                    .collect();
                format!("set {key} 0 0 {}\r\n{data}\r\n", data.len())
            } else {
                format!("get {key}\r\n")
            };
            (LAMBDA_ID_KV, body.into_bytes())
        }
    }
}

/// `count` requests for `kind` at `gbps` per port, each on the port free
/// first (as the generator's frames), made one at a time: (time in ns,
/// port, frame).
fn lambda_frames(
    a: &Args,
    kind: LambdaArg,
) -> anyhow::Result<impl Iterator<Item = (f64, u32, Vec<u8>)> + use<>> {
    use nfbpf_sim::traffic::{MIN_FRAME, WIRE_OVERHEAD};
    // The rate and the ports as for any traffic.
    Spec {
        size: Size::Fixed(MIN_FRAME),
        proto: Proto::Udp,
        flows: 1,
        gbps: a.gbps,
        ports: a.ports.clone(),
        seed: a.seed,
    }
    .check()?;
    let mut r = Rng::new(a.seed);
    let (ports, gbps, port) = (a.ports.clone(), a.gbps, a.lambda_port);
    let mut next = vec![0.0f64; ports.len()];
    // A body of at most one chunk is one frame.
    Ok((0..a.count).filter_map(move |i| {
        let (id, body) = lambda_request(kind, i, &mut r);
        let frame = nfbpf_agent::lambda::requests(id, port, i as u32 + 1, &body)?
            .into_iter()
            .next()?;
        let (k, &t) = next.iter().enumerate().min_by(|x, y| x.1.total_cmp(y.1))?;
        next[k] = t + ((frame.len() + WIRE_OVERHEAD) * 8) as f64 / gbps;
        Some((t, ports[k], frame))
    }))
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ProtoArg {
    Udp,
    Tcp,
    Icmp,
    Mix,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if let Some(kind) = a.lambda {
        let frames = lambda_frames(&a, kind)?;
        return write(&a, frames);
    }
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
    write(&a, g.take(a.count).map(|fr| (fr.time_ns, fr.port, fr.data)))
}

/// Write `frames` (time in ns, port, bytes) into `a.out` and say what.
fn write(a: &Args, frames: impl Iterator<Item = (f64, u32, Vec<u8>)>) -> anyhow::Result<ExitCode> {
    let max_port = a.ports.iter().copied().max().unwrap_or(0);
    let names: Vec<String> = (0..=max_port).map(|p| format!("port{p}")).collect();
    let mut w = Writer::create(&a.out, &names)?;
    let (mut n, mut bytes, mut last) = (0usize, 0usize, 0.0f64);
    for (t, port, data) in frames {
        w.write(port, Duration::from_nanos(t.round() as u64), &data)?;
        n += 1;
        bytes += data.len();
        last = t;
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
