//! Simulated clocks per second of the pipeline model (single thread).
//! Run: `cargo bench -p nfbpf-vm --bench pipeline`.

use nfbpf_vm::pipeline::bench::{loop_program, measure};

fn main() {
    let prog = loop_program(1_000_000);
    // warm up, then the best of five (the machine is shared: take the least
    // disturbed run)
    let _ = measure(&loop_program(10_000), &[0; 64], 1);
    let t = (0..5)
        .map(|_| measure(&prog, &[0; 64], 1))
        .min_by_key(|t| t.elapsed)
        .unwrap_or_else(|| measure(&prog, &[0; 64], 1));
    println!(
        "pipeline model: {} cycles, {} instructions in {:.3} s: {:.1} M cycles/s, {:.1} M instructions/s, CPI {:.3}",
        t.cycles,
        t.retired,
        t.elapsed.as_secs_f64(),
        t.cycles_per_sec() / 1e6,
        t.insns_per_sec() / 1e6,
        t.cycles as f64 / t.retired as f64
    );
}
