//! `nfbpf bench`: measured speeds, never asserted in tests.
//!
//! `nfbpf bench interp` runs the same programs (loop-heavy prime, 64 KiB
//! memcpy, a packet parser) on our reference interpreter, on rbpf's
//! interpreter and on rbpf's x86-64 JIT in one process, and prints
//! instructions per second and the ratios. Instruction counts come from our
//! interpreter (all three execute the same instruction stream: the results
//! are checked to agree before timing). rbpf is linked only with the
//! `rbpf-bench` feature (`cargo build --release --features rbpf-bench`);
//! without it `bench interp` says so and stops.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Interpreter speed against rbpf's interpreter and JIT (a CLI built
    /// with the `rbpf-bench` feature).
    Interp {
        /// One JSON object per program instead of the table.
        #[arg(long)]
        json: bool,
        /// Shorter measurement (for smoke tests; less precise).
        #[arg(long)]
        quick: bool,
    },
    /// Simulated cycles per second of one pipeline engine.
    Pipeline(super::bench_pipeline::Args),
    /// Simulated clocks per second of the data plane: model and RTL.
    Device(super::bench_device::Args),
    /// Time per packet of `nfbpf run` against the bare engine.
    Run(super::bench_run::Args),
}

/// Ethernet / IPv4 / UDP parser: checks ethertype, version, IHL and
/// protocol, verifies the IPv4 header checksum (10 half-words, folded),
/// then classifies on the UDP destination port.
pub(super) const PARSER: &str = include_str!("../../examples/parser.s");

/// A 64-byte UDP/IPv4 frame to port 5000 with a correct header checksum.
pub(super) fn udp_frame() -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[12] = 0x08; // ethertype IPv4
    let ip = [
        0x45, 0x00, 0x00, 0x32, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 10, 0, 0, 1, 10, 0,
        0, 2,
    ];
    f[14..34].copy_from_slice(&ip);
    let mut sum: u32 = 0;
    for w in f[14..34].chunks(2) {
        sum += u16::from_be_bytes([w[0], w[1]]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let csum = !(sum as u16);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f[34..36].copy_from_slice(&4321u16.to_be_bytes());
    f[36..38].copy_from_slice(&5000u16.to_be_bytes());
    f
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.what {
        What::Interp { json, quick } => interp(json, quick),
        What::Pipeline(p) => super::bench_pipeline::run(p),
        What::Device(d) => super::bench_device::run(d),
        What::Run(r) => super::bench_run::run(r),
    }
}

#[cfg(feature = "rbpf-bench")]
fn interp(json: bool, quick: bool) -> anyhow::Result<ExitCode> {
    vs_rbpf::run(json, quick)
}

#[cfg(not(feature = "rbpf-bench"))]
fn interp(_json: bool, _quick: bool) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "`nfbpf bench interp` compares with rbpf, which this build leaves out: build the CLI with the `rbpf-bench` feature (`cargo build --release --features rbpf-bench`)"
    )
}

/// Our interpreter against rbpf's interpreter and JIT.
#[cfg(feature = "rbpf-bench")]
mod vs_rbpf {
    use anyhow::{Context, bail};
    use nfbpf_vm::helpers::Helpers;
    use nfbpf_vm::interp::{self, Config};
    use nfbpf_vm::mem::Memory;
    use nfbpf_vm::trace::NoTrace;
    use nfbpf_vm::{Insn, Program, insn};
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    use super::{PARSER, udp_frame};

    /// One benchmark program: assembly, and the memory it runs on.
    struct Bench {
        name: &'static str,
        asm: &'static str,
        mem: Vec<u8>,
    }

    const PRIME: &str = include_str!("../../examples/prime.s");

    /// Copy 64 KiB from the first half of the buffer to the second, 8 bytes at a
    /// time, unrolled by four as clang emits for `__builtin_memcpy`.
    const MEMCPY: &str = "
    mov %r2, 0
    mov %r3, %r1
    mov %r4, %r1
    add %r4, 65536
    loop:
    ldxdw %r5, [%r3+0]
    stxdw [%r4+0], %r5
    ldxdw %r5, [%r3+8]
    stxdw [%r4+8], %r5
    ldxdw %r5, [%r3+16]
    stxdw [%r4+16], %r5
    ldxdw %r5, [%r3+24]
    stxdw [%r4+24], %r5
    add %r3, 32
    add %r4, 32
    add %r2, 32
    jlt %r2, 65536, loop
    ldxdw %r0, [%r4-8]
    exit
    ";

    fn benches() -> Vec<Bench> {
        let mut copy = vec![0u8; 2 * 65536];
        for (i, b) in copy.iter_mut().enumerate().take(65536) {
            *b = (i * 7 + 3) as u8;
        }
        vec![
            Bench {
                name: "prime",
                asm: PRIME,
                mem: Vec::new(),
            },
            Bench {
                name: "memcpy64k",
                asm: MEMCPY,
                mem: copy,
            },
            Bench {
                name: "parser",
                asm: PARSER,
                mem: udp_frame(),
            },
        ]
    }

    /// A benchmarked runner: one call runs the program once.
    type Runner<'a> = Box<dyn FnMut() -> anyhow::Result<()> + 'a>;

    /// Seconds per run of each runner. Each runner gets a batch size calibrated
    /// to about `min / 10`; then ten rounds run one batch of every runner in
    /// turn, so a burst of load on the machine hits all of them alike, and the
    /// fastest batch of each counts.
    fn measure(min: Duration, runners: &mut [Runner<'_>]) -> anyhow::Result<Vec<f64>> {
        let mut batches = Vec::with_capacity(runners.len());
        for f in runners.iter_mut() {
            let mut batch = 1u64;
            loop {
                let t = Instant::now();
                for _ in 0..batch {
                    f()?;
                }
                if t.elapsed() >= min / 10 || batch >= 1 << 30 {
                    break;
                }
                batch *= 2;
            }
            batches.push(batch);
        }
        let mut best = vec![f64::MAX; runners.len()];
        for _ in 0..10 {
            for ((f, &batch), b) in runners.iter_mut().zip(&batches).zip(best.iter_mut()) {
                let t = Instant::now();
                for _ in 0..batch {
                    f()?;
                }
                *b = b.min(t.elapsed().as_secs_f64() / batch as f64);
            }
        }
        Ok(best)
    }

    struct Row {
        name: &'static str,
        insns: u64,
        ours: f64,
        rbpf_interp: f64,
        rbpf_jit: f64,
    }

    fn bench_one(b: &Bench, min: Duration) -> anyhow::Result<Row> {
        let insns: Vec<Insn> =
            nfbpf_vm::asm::assemble(b.asm).map_err(|e| anyhow::anyhow!("{}: {e}", b.name))?;
        let prog = Program::new(insns.clone()).with_context(|| b.name)?;
        let bytes = insn::to_image(&insns);

        // Ours: the packet region at PKT_BASE, r1 pointing at it.
        let (mut mem, args): (Memory, [u64; 5]) = interp::conformance_memory(&b.mem);
        let mut helpers = Helpers::new();
        let cfg = Config {
            budget: u64::MAX,
            ..Config::default()
        };
        let out = interp::run(&prog, &mut mem, &mut helpers, args, &cfg, &mut NoTrace)
            .map_err(|e| anyhow::anyhow!("{}: {e}", b.name))?;

        // rbpf: its own buffer; r1 points at it.
        let mut rmem = b.mem.clone();
        let mut vm =
            rbpf::EbpfVmRaw::new(Some(&bytes)).map_err(|e| anyhow::anyhow!("rbpf: {e}"))?;
        let r_interp = vm
            .execute_program(&mut rmem)
            .map_err(|e| anyhow::anyhow!("rbpf: {e}"))?;
        vm.jit_compile()
            .map_err(|e| anyhow::anyhow!("rbpf jit: {e}"))?;
        let r_jit = run_jit(&vm, &mut rmem)?;
        if r_interp != out.r0 || r_jit != out.r0 {
            bail!(
                "{}: results differ (nfbpf {:#x}, rbpf interpreter {r_interp:#x}, rbpf JIT {r_jit:#x})",
                b.name,
                out.r0
            );
        }

        let vm = std::cell::RefCell::new(vm);
        let rmem = std::cell::RefCell::new(rmem);
        let mut runners: Vec<Runner<'_>> = vec![
            Box::new(|| {
                interp::run(&prog, &mut mem, &mut helpers, args, &cfg, &mut NoTrace)
                    .map(|_| ())
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }),
            Box::new(|| {
                vm.borrow()
                    .execute_program(&mut rmem.borrow_mut())
                    .map(|_| ())
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }),
            Box::new(|| run_jit(&vm.borrow(), &mut rmem.borrow_mut()).map(|_| ())),
        ];
        let t = measure(min, &mut runners)?;
        let (ours, rbpf_interp, rbpf_jit) = (t[0], t[1], t[2]);
        let n = out.insns as f64;
        Ok(Row {
            name: b.name,
            insns: out.insns,
            ours: n / ours,
            rbpf_interp: n / rbpf_interp,
            rbpf_jit: n / rbpf_jit,
        })
    }

    /// rbpf's JIT entry point is `unsafe`: it jumps into generated machine code.
    /// The programs are our fixed benchmark programs, already run to completion
    /// on both interpreters with identical results, and their memory is the
    /// buffer passed here.
    #[allow(unsafe_code)]
    fn run_jit(vm: &rbpf::EbpfVmRaw<'_>, mem: &mut [u8]) -> anyhow::Result<u64> {
        // SAFETY: see above; rbpf's JIT code only touches `mem` and its own stack.
        unsafe { vm.execute_program_jit(mem) }.map_err(|e| anyhow::anyhow!("rbpf jit: {e}"))
    }

    fn fmt_rate(x: f64) -> String {
        if x >= 1e9 {
            format!("{:.2} G/s", x / 1e9)
        } else {
            format!("{:.1} M/s", x / 1e6)
        }
    }

    pub fn run(json: bool, quick: bool) -> anyhow::Result<ExitCode> {
        let min = if quick {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(600)
        };
        if !json {
            println!(
                "{:<10} {:>9} {:>12} {:>14} {:>11} {:>9} {:>9}",
                "program", "insns/run", "nfbpf", "rbpf interp", "rbpf JIT", "vs interp", "vs JIT"
            );
        }
        for b in benches() {
            let r = bench_one(&b, min)?;
            let vs_i = r.ours / r.rbpf_interp;
            let vs_j = r.ours / r.rbpf_jit;
            if json {
                let o = serde_json::json!({
                    "program": r.name,
                    "insns_per_run": r.insns,
                    "nfbpf_ips": r.ours,
                    "rbpf_interp_ips": r.rbpf_interp,
                    "rbpf_jit_ips": r.rbpf_jit,
                    "ratio_vs_rbpf_interp": vs_i,
                    "ratio_vs_rbpf_jit": vs_j,
                });
                println!("{o}");
            } else {
                println!(
                    "{:<10} {:>9} {:>12} {:>14} {:>11} {:>8.2}x {:>8.3}x",
                    r.name,
                    r.insns,
                    fmt_rate(r.ours),
                    fmt_rate(r.rbpf_interp),
                    fmt_rate(r.rbpf_jit),
                    vs_i,
                    vs_j
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
