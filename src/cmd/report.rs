//! `nfbpf report [--out DIR] [--engines N] [--quick]`: the evaluation of
//! the data plane model under line-rate load (`nfbpf_sim::evaluation`, which
//! owns the functions, runs, scenarios and job runner), written as plots
//! (SVG and PNG), `summary.md` and `summary.json`, with the summary table on
//! stdout.

use super::plot::{Chart, Series, Style, Ticks, write_figure};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use nfbpf_sim::evaluation::{
    BASELINES, BINS, FUNCTIONS, LIGHT_GBPS, Plan, Record, Scale, ScalingRow, Scenario,
    THROTTLE_BYTES, Throttled, evaluate,
};
use nfbpf_vm::contract::CLOCK_HZ;
use nfbpf_vm::device::PORTS;
use nfbpf_vm::maps::MapTiming;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Directory for the plots, summary.md and summary.json.
    #[arg(long, default_value = "target/report")]
    out: PathBuf,
    /// Engines of the frame-size runs and the scenarios (1..16; engine e
    /// serves port e % 4).
    #[arg(long, default_value_t = 4)]
    engines: usize,
    /// Short windows and fewer points (a few seconds).
    #[arg(long)]
    quick: bool,
    /// Where the functions are: NAME.o (`make programs`) or NAME.c. Default:
    /// target/programs if it holds them, else programs/, else the ones
    /// built into nfbpf.
    #[arg(long)]
    programs: Option<PathBuf>,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Load every function with the loader's rewrite (`--optimize` of the
    /// other commands: byte-by-byte loads and copies as wider accesses, the
    /// same verdicts, packets and maps in fewer instructions).
    #[arg(long)]
    optimize: bool,
}

fn opt_ns(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.0}"))
}

fn table(recs: &[&Record]) -> String {
    let mut s = String::from(
        "| function | frame B | engines | offered Mpps | Mpps | Gb/s | % line rate | loss | p50 ns | p99 ns | max ns | CPI |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in recs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.2}% | {} | {} | {} | {:.2} |",
            r.function,
            r.frame_bytes,
            r.engines,
            r.offered_mpps,
            r.mpps,
            r.gbps,
            r.line_rate_pct,
            100.0 * r.loss,
            opt_ns(r.latency_p50_ns),
            opt_ns(r.latency_p99_ns),
            opt_ns(r.latency_max_ns),
            r.cpi
        );
    }
    s
}

#[derive(Serialize)]
struct Summary<'a> {
    clock_mhz: f64,
    quick: bool,
    /// The functions were loaded with the loader's rewrite.
    optimize: bool,
    engines: usize,
    frames_per_port_measured: u64,
    frames_per_port_warmup: u64,
    records: &'a [Record],
    /// 64 B at 1 Gb/s per port: latency without queueing.
    light_load: &'a [Record],
    /// Line rate with the egress stream's tready throttled.
    throttled: &'a [Throttled],
    scaling: &'a [ScalingRow],
    /// The 64-byte runs with the published system's map unit (one
    /// operation at a time) and their scaling.
    published: &'a [Record],
    published_scaling: &'a [ScalingRow],
    /// The 64-byte runs with the functions loaded with the loader's
    /// rewrite and their scaling (empty when `optimize`).
    optimized: &'a [Record],
    optimized_scaling: &'a [ScalingRow],
    scenarios: &'a [Scenario],
    elapsed_s: f64,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let plan = Plan {
        engines: a.engines,
        quick: a.quick,
        programs: a.programs.clone(),
        threads: a.jobs,
        optimize: a.optimize,
    };
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs {msg}",
    ) {
        bar.set_style(style);
    }
    let ev = evaluate(&plan, &|done, runs| {
        bar.set_length(runs as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let elapsed = t0.elapsed().as_secs_f64();
    let scale = ev.scale;
    write_plots(&a.out, &ev.records, &ev.published, &ev.scenarios, a.engines)?;
    let md = summary_md(
        &ev.records,
        &ev.light,
        &ev.throttled,
        Scaling {
            records: &ev.records,
            rows: &ev.scaling,
        },
        Scaling {
            records: &ev.published,
            rows: &ev.published_scaling,
        },
        Scaling {
            records: &ev.optimized,
            rows: &ev.optimized_scaling,
        },
        &ev.scenarios,
        a.engines,
        scale,
        a.quick,
        a.optimize,
        elapsed,
    );
    std::fs::write(a.out.join("summary.md"), &md)
        .with_context(|| format!("cannot write {}/summary.md", a.out.display()))?;
    let json = serde_json::to_string_pretty(&Summary {
        clock_mhz: CLOCK_HZ as f64 / 1e6,
        quick: a.quick,
        optimize: a.optimize,
        engines: a.engines,
        frames_per_port_measured: scale.measure,
        frames_per_port_warmup: scale.warmup,
        records: &ev.records,
        light_load: &ev.light,
        throttled: &ev.throttled,
        scaling: &ev.scaling,
        published: &ev.published,
        published_scaling: &ev.published_scaling,
        optimized: &ev.optimized,
        optimized_scaling: &ev.optimized_scaling,
        scenarios: &ev.scenarios,
        elapsed_s: elapsed,
    })?;
    std::fs::write(a.out.join("summary.json"), json)
        .with_context(|| format!("cannot write {}/summary.json", a.out.display()))?;
    print!("{md}");
    println!(
        "\nnfbpf report: {} runs in {elapsed:.1} s; plots, summary.md and summary.json in {}",
        ev.runs,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Per function: the fewest engines at 64-byte line rate, or the best.
fn line_rate_counts(rows: &[ScalingRow]) -> String {
    rows.iter()
        .map(|r| match r.min_engines_line_rate {
            Some(e) => format!("{} from {e} engines", r.function),
            None => format!(
                "{} not reached: at most {:.1}% from {} engines",
                r.function,
                r.best_line_rate_pct.unwrap_or(0.0),
                r.best_engines.unwrap_or(0)
            ),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// 64-byte runs over engine counts and their scaling rows.
#[derive(Clone, Copy)]
struct Scaling<'a> {
    records: &'a [Record],
    rows: &'a [ScalingRow],
}

/// The engine-scaling table: percent of line rate per engine count and
/// the fewest engines at line rate.
fn scaling_table(sc: Scaling<'_>) -> String {
    let mut s = String::new();
    let counts: Vec<usize> = {
        let mut c: Vec<usize> = sc
            .records
            .iter()
            .filter(|r| r.frame_bytes == 64)
            .map(|r| r.engines)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let _ = write!(s, "| function |");
    for c in &counts {
        let _ = write!(s, " {c} |");
    }
    let _ = write!(s, " line rate from |\n|---|");
    for _ in &counts {
        s.push_str("---:|");
    }
    s.push_str("---:|\n");
    for (f, row) in FUNCTIONS.iter().zip(sc.rows) {
        let _ = write!(s, "| {} |", f.name);
        for c in &counts {
            let r = sc
                .records
                .iter()
                .find(|r| r.function == f.name && r.frame_bytes == 64 && r.engines == *c);
            let _ = write!(
                s,
                " {} |",
                r.map_or("-".into(), |r| format!("{:.1}%", r.line_rate_pct))
            );
        }
        let _ = writeln!(
            s,
            " {} |",
            row.min_engines_line_rate
                .map_or("not reached".into(), |e| format!("{e} engines"))
        );
    }
    s
}

#[allow(clippy::too_many_arguments)] // the report's parts, each used once
fn summary_md(
    records: &[Record],
    light: &[Record],
    throttled: &[Throttled],
    ours: Scaling<'_>,
    published: Scaling<'_>,
    optimized: Scaling<'_>,
    scenarios: &[Scenario],
    engines: usize,
    scale: Scale,
    quick: bool,
    optimize: bool,
    elapsed: f64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# nfbpf report{}{}\n\nDevice model at {} MHz, 10 Gb/s per port (preamble and gap counted), {} warm-up and {} measured frames per port per run. Latency: first word in to last 256-bit word out. CPI: busy clocks over retired instructions.\n",
        if quick { " (--quick)" } else { "" },
        if optimize { " (--optimize)" } else { "" },
        CLOCK_HZ / 1_000_000,
        scale.warmup,
        scale.measure
    );
    s.push_str("Functions (programs/*_sume.c, map entries written through the registers");
    s.push_str(if optimize {
        "; loaded with the loader's rewrite, `--optimize`"
    } else {
        ""
    });
    s.push_str("):\n\n");
    for f in FUNCTIONS.iter().chain(&BASELINES) {
        let _ = writeln!(s, "- {} (`{}`): {}", f.name, f.program, f.what);
    }
    let _ = writeln!(
        s,
        "\n## Throughput and latency against frame size ({engines} engines, all 4 ports)\n"
    );
    let sweep: Vec<&Record> = records.iter().filter(|r| r.engines == engines).collect();
    s.push_str(&table(&sweep));
    let _ = writeln!(
        s,
        "\nPer port at 64 B ({engines} engines): frames offered / lost at FIFO_MD on each input port, packets sent out of each port and to the host.\n\n| function | in 0 | in 1 | in 2 | in 3 | out 0 | out 1 | out 2 | out 3 | host |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in sweep.iter().filter(|r| r.frame_bytes == 64) {
        let _ = write!(s, "| {} |", r.function);
        for p in &r.ports {
            let _ = write!(s, " {} / {} |", p.offered, p.fifo_drops);
        }
        for p in &r.ports {
            let _ = write!(s, " {} |", p.tx);
        }
        let _ = writeln!(s, " {} |", r.to_host);
    }
    let timing = |t: MapTiming| {
        format!(
            "CAM read {} and write {} clocks, TCAM read {} and write {}",
            t.cam_read, t.cam_write, t.tcam_read, t.tcam_write
        )
    };
    let _ = writeln!(
        s,
        "\n## Engine scaling at 64 B on 4 x 10 Gb/s\n\nThe map unit takes an operation a clock (pipelined, as the RTL's; {}):\n",
        timing(MapTiming::default())
    );
    s.push_str(&scaling_table(ours));
    let _ = writeln!(
        s,
        "\nThe published system's map unit ({}, one operation at a time; a preset of the model):\n",
        timing(MapTiming::published())
    );
    s.push_str(&scaling_table(published));
    if !optimized.rows.is_empty() {
        let _ = writeln!(
            s,
            "\nThe functions loaded with the loader's rewrite (`--optimize`: the same verdicts, packets and maps in fewer instructions), this map unit:\n"
        );
        s.push_str(&scaling_table(optimized));
    }
    let _ = writeln!(
        s,
        "\n(percent of 4 x 14.88 Mpps served; engine e serves port e % 4, so with fewer than 4 engines some ports have no engine and lose all their frames.)\n\n## Scenarios\n"
    );
    for sc in scenarios {
        let _ = writeln!(
            s,
            "- **{}**: {}. {:.0} us simulated, {} frames offered, {} FIFO_MD drops, {} out (ports 0..3: {}){}: **{}**.",
            sc.name,
            sc.what,
            sc.simulated_us,
            sc.offered,
            sc.fifo_drops,
            sc.forwarded,
            sc.tx
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" / "),
            sc.switch_gap_us
                .map(|g| format!(", last P1 packet to first P2 packet {g:.3} us"))
                .unwrap_or_default(),
            if sc.lossless { "no loss" } else { "LOSS" }
        );
    }
    let _ = writeln!(
        s,
        "\n## Latency at light load (64 B, {LIGHT_GBPS} Gb/s per port, {engines} engines)\n"
    );
    s.push_str(&table(&light.iter().collect::<Vec<_>>()));
    s.push_str(&throttled_md(records, throttled, engines));
    let _ = writeln!(
        s,
        "\n## Engine capacity (64 B, {engines} engines)\n\nPackets one engine serves per second when packets always wait: 200 MHz over its busy clocks per packet (helper and arbiter waits included).\n\n| function | busy clocks/packet | Mpps per engine | CPI | core CPI |\n|---|---:|---:|---:|---:|"
    );
    for r in records
        .iter()
        .filter(|r| r.frame_bytes == 64 && r.engines == engines)
    {
        let _ = writeln!(
            s,
            "| {} | {:.1} | {:.2} | {:.2} | {:.2} |",
            r.function,
            CLOCK_HZ as f64 / 1e6 / r.engine_capacity_mpps.max(1e-9),
            r.engine_capacity_mpps,
            r.cpi,
            r.cpi_core
        );
    }
    let _ = writeln!(s, "\n## Targets\n");
    let rows = ours.rows;
    let all_lr = rows.iter().all(|r| r.min_engines_line_rate.is_some());
    let _ = writeln!(
        s,
        "- Line rate at 64 B on all four ports for all four functions: **{}** ({}). With the published system's map unit: {}.",
        if all_lr { "met" } else { "not met" },
        line_rate_counts(rows),
        line_rate_counts(published.rows)
    );
    if !optimized.rows.is_empty() {
        let all = optimized
            .rows
            .iter()
            .all(|r| r.min_engines_line_rate.is_some());
        let _ = writeln!(
            s,
            "- The same with `--optimize`: **{}** ({}; p99 at that count: {}). `nfbpf report --optimize --engines N` runs every frame size at N engines.",
            if all { "met" } else { "not met" },
            line_rate_counts(optimized.rows),
            optimized
                .rows
                .iter()
                .map(|r| format!("{} {} ns", r.function, opt_ns(r.p99_ns_at_that_count)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let p99_ok = rows
        .iter()
        .all(|r| r.p99_ns_at_that_count.is_some_and(|p| p < 1000.0));
    let _ = writeln!(
        s,
        "- p99 latency under 1 us at 200 MHz at 64 B (at the line-rate engine count): **{}** ({}).",
        if p99_ok { "met" } else { "not met" },
        rows.iter()
            .map(|r| match r.min_engines_line_rate {
                Some(_) => format!("{} {} ns", r.function, opt_ns(r.p99_ns_at_that_count)),
                None => format!(
                    "{} no line-rate count; {} ns at {} engines, overloaded",
                    r.function,
                    opt_ns(r.p99_ns_at_best),
                    r.best_engines.unwrap_or(0)
                ),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let light_ok = !light.is_empty()
        && light
            .iter()
            .all(|r| r.latency_p99_ns.is_some_and(|p| p < 1000.0));
    let _ = writeln!(
        s,
        "- The same at light load ({LIGHT_GBPS} Gb/s per port, a tenth of line rate, 64 B, {engines} engines): **{}** ({}).",
        if light_ok {
            "under 1 us"
        } else {
            "not under 1 us"
        },
        light
            .iter()
            .map(|r| format!("{} {} ns", r.function, opt_ns(r.latency_p99_ns)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let common: Vec<&Record> = records
        .iter()
        .filter(|r| r.frame_bytes == 64 && r.engines == engines)
        .filter(|r| FUNCTIONS.iter().any(|f| f.name == r.function))
        .collect();
    let cpi_ok = common.iter().all(|r| r.cpi < 1.2);
    let _ = writeln!(
        s,
        "- CPI under 1.2 on each function's common path (64 B, {engines} engines): **{}** ({}).",
        if cpi_ok { "met" } else { "not met" },
        common
            .iter()
            .map(|r| format!("{} {:.2} (core alone {:.2})", r.function, r.cpi, r.cpi_core))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (clocks, secs) = records
        .iter()
        .filter(|r| r.engines == engines)
        .fold((0u64, 0.0f64), |(c, t), r| (c + r.clocks, t + r.host_s));
    let speed = if secs > 0.0 {
        format!(
            "{:.2} M device clocks per host second ({clocks} clocks in {secs:.2} s, one thread each)",
            clocks as f64 / secs / 1e6
        )
    } else {
        "no timed run".to_string()
    };
    let _ = writeln!(
        s,
        "- Model at least 5x faster than the Verilated RTL: `nfbpf bench device` runs both devices on the same traffic in one run. The model's side: {} at {engines} engines over this report's runs.\n\n({elapsed:.1} s of host time; scenario time scaled down 1000x from the published seconds: the switch deadline at 5 ms instead of 5 s in the full run.)",
        speed
    );
    s
}

/// The throttled runs against the same runs with `tready` always high.
fn throttled_md(records: &[Record], throttled: &[Throttled], engines: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Output queues throttled ({THROTTLE_BYTES} B, line rate on all 4 ports, {engines} engines)\n\nThe egress stream's `tready` (the receiver's back-pressure) high in the given share of the clocks, drawn clock by clock or in blocks; seeded, the same clocks in every run. A packet keeps its FIFO_MD words until the stream has sent it, so a held stream fills FIFO_MD and frames are lost at the input (`PORTRXDROP`: no engine of the port had room). Latency: first word in to last word taken by the receiver.\n\n| function | tready | Mpps | % line rate | lost at input | p50 ns | p99 ns | max ns |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    let line = |s: &mut String, name: &str, pattern: &str, r: &Record| {
        let _ = writeln!(
            s,
            "| {name} | {pattern} | {:.2} | {:.1} | {:.2}% ({} of {}) | {} | {} | {} |",
            r.mpps,
            r.line_rate_pct,
            100.0 * r.loss,
            r.fifo_drops,
            r.offered,
            opt_ns(r.latency_p50_ns),
            opt_ns(r.latency_p99_ns),
            opt_ns(r.latency_max_ns)
        );
    };
    for f in &FUNCTIONS {
        if let Some(r) = records.iter().find(|r| {
            r.function == f.name && r.frame_bytes == THROTTLE_BYTES && r.engines == engines
        }) {
            line(&mut s, f.name, "always (unthrottled)", r);
        }
        for t in throttled.iter().filter(|t| t.record.function == f.name) {
            line(&mut s, f.name, t.throttle.name, &t.record);
        }
    }
    s
}

fn write_plots(
    dir: &Path,
    records: &[Record],
    published: &[Record],
    scenarios: &[Scenario],
    engines: usize,
) -> anyhow::Result<()> {
    let by_fn = |pick: &dyn Fn(&Record) -> Option<(f64, f64)>, filt: &dyn Fn(&Record) -> bool| {
        FUNCTIONS
            .iter()
            .map(|f| Series {
                name: f.name.to_string(),
                points: records
                    .iter()
                    .filter(|r| r.function == f.name && filt(r))
                    .filter_map(pick)
                    .collect(),
                under: false,
            })
            .collect::<Vec<_>>()
    };
    let sweep = |r: &Record| r.engines == engines;
    // Against frame size: a tick at each measured size.
    let by_size = |title: String, y: &str, series: Vec<Series>| Chart {
        title,
        x: "frame size (bytes)".into(),
        y: y.into(),
        series,
        style: Style::LinesDots,
        x_ticks: Ticks::Measured,
        ..Chart::default()
    };
    by_size(
        format!("Throughput against frame size, {engines} engines, 4 x 10 Gb/s"),
        "% of line rate",
        by_fn(&|r| Some((r.frame_bytes as f64, r.line_rate_pct)), &sweep),
    )
    .write(dir, "throughput_vs_size")?;
    by_size(
        format!("Mpps against frame size, {engines} engines, 4 x 10 Gb/s"),
        "Mpps",
        by_fn(&|r| Some((r.frame_bytes as f64, r.mpps)), &sweep),
    )
    .write(dir, "mpps_vs_size")?;
    let mut lat = by_fn(
        &|r| r.latency_p99_ns.map(|p| (r.frame_bytes as f64, p)),
        &sweep,
    );
    for s in &mut lat {
        s.name = format!("{} p99", s.name);
    }
    by_size(
        format!("Latency p99 against frame size, {engines} engines, line rate offered"),
        "latency p99 (ns)",
        lat,
    )
    .write(dir, "latency_vs_size")?;
    // Each function again with the published system's map unit (one
    // operation at a time) where that differs (Wire does no map operation).
    let mut scaling = by_fn(&|r| Some((r.engines as f64, r.line_rate_pct)), &|r| {
        r.frame_bytes == 64
    });
    let published: Vec<Series> = FUNCTIONS
        .iter()
        .zip(scaling.iter())
        .map(|(f, ours)| Series {
            name: format!("{}, serial", f.name),
            points: published
                .iter()
                .filter(|r| r.function == f.name)
                .map(|r| (r.engines as f64, r.line_rate_pct))
                .collect(),
            under: ours.under,
        })
        .zip(scaling.iter())
        .filter(|(p, ours)| p.points != ours.points)
        .map(|(p, _)| p)
        .collect();
    scaling.extend(published);
    Chart {
        title: "Engine scaling at 64 B, 4 x 10 Gb/s offered (serial: the published map unit)"
            .into(),
        x: "engines".into(),
        y: "% of line rate".into(),
        series: scaling,
        style: Style::LinesDots,
        x_ticks: Ticks::Integer,
        ..Chart::default()
    }
    .write(dir, "engine_scaling")?;
    for sc in scenarios {
        write_figure(dir, sc.name, &scenario_charts(sc))?;
    }
    Ok(())
}

/// Binned values as steps: each bin's value held from its start to its
/// end (a line from bin centre to bin centre would draw a change inside
/// one bin as a ramp across two).
fn step_points(values: &[f64], bin_us: f64) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .flat_map(|(i, &g)| [(i as f64 * bin_us, g), ((i + 1) as f64 * bin_us, g)])
        .collect()
}

/// A scenario's figure: output throughput per port over the whole run;
/// for the serverless switch also every packet out around the switch, at
/// the time scale of the gap the summary reports.
fn scenario_charts(sc: &Scenario) -> Vec<Chart> {
    let mut series = (0..PORTS)
        .filter(|&p| sc.tx[p] > 0)
        .map(|p| Series {
            name: format!("out port {p}"),
            points: step_points(&sc.series[p], sc.bin_us),
            under: false,
        })
        .collect::<Vec<_>>();
    // Several ports: their sum too (equal port lines overlap).
    if series.len() > 1 {
        let sum: Vec<f64> = (0..BINS)
            .map(|i| (0..PORTS).map(|p| sc.series[p][i]).sum())
            .collect();
        series.push(Series {
            name: "all ports".into(),
            points: step_points(&sum, sc.bin_us),
            under: true,
        });
    }
    let switch = sc.name == "serverless_switch";
    let label = if switch { "deadline: P2" } else { "reload" };
    let mut charts = vec![Chart {
        title: format!(
            "{} ({} engines), output in bins of {} us",
            sc.name.replace('_', " "),
            sc.engines,
            (sc.bin_us * 1e3).round() / 1e3
        ),
        x: "time (us, simulated)".into(),
        y: "output Gb/s".into(),
        series,
        marks: sc
            .events_us
            .iter()
            .map(|&t| (t, label.to_string()))
            .collect(),
        ..Chart::default()
    }];
    if let Some(z) = &sc.zoom {
        let ports: Vec<u32> = {
            let mut p: Vec<u32> = z.departures.iter().map(|d| d.1).collect();
            p.sort_unstable();
            p.dedup();
            p
        };
        let top = ports.last().copied().unwrap_or(0);
        let mut marks: Vec<(f64, String)> = sc
            .events_us
            .iter()
            .filter(|&&t| t >= z.from_us && t <= z.to_us)
            .map(|&t| (t, "deadline".to_string()))
            .collect();
        let out_of = |p: u32| z.departures.iter().filter(move |d| d.1 == p).map(|d| d.0);
        let last_p1 = out_of(1).fold(f64::NEG_INFINITY, f64::max);
        let first_p2 = out_of(0).fold(f64::INFINITY, f64::min);
        if last_p1.is_finite() {
            marks.push((last_p1, "last P1".into()));
        }
        if first_p2.is_finite() {
            marks.push((first_p2, "first P2".into()));
        }
        charts.push(Chart {
            title: format!(
                "Around the switch: each packet out; last P1 to first P2 {} us",
                sc.switch_gap_us.map_or("-".into(), |g| format!("{g:.3}"))
            ),
            x: "time (us, simulated)".into(),
            y: "output port".into(),
            series: ports
                .iter()
                .map(|&p| Series {
                    name: format!("out port {p}"),
                    points: out_of(p).map(|t| (t, f64::from(p))).collect(),
                    under: false,
                })
                .collect(),
            marks,
            style: Style::Dots,
            y_ticks: Ticks::Integer,
            x_range: Some((z.from_us, z.to_us)),
            y_range: Some((-0.5, f64::from(top) + 0.95)),
            ..Chart::default()
        });
    }
    charts
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfbpf_sim::evaluation::Zoom;

    /// A switch like the report's: P1's packets to port 1 every 67 ns
    /// until 5000 us, P2's to port 0 from 125 ns after P1's last.
    fn switch_scenario() -> Scenario {
        let mut departures = Vec::new();
        let mut t = 4999.0;
        while t <= 5000.05 {
            departures.push((t, 1));
            t += 0.067;
        }
        let last = departures.last().map_or(0.0, |d| d.0);
        let mut t = last + 0.125;
        while t <= 5001.0 {
            departures.push((t, 0));
            t += 0.067;
        }
        let mut series: [Vec<f64>; PORTS] = std::array::from_fn(|_| vec![0.0; BINS]);
        for i in 0..BINS {
            series[if i < BINS / 2 { 1 } else { 0 }][i] = 10.0;
        }
        Scenario {
            name: "serverless_switch",
            what: String::new(),
            engines: 4,
            simulated_us: 10_000.0,
            offered: 0,
            accepted: 0,
            fifo_drops: 0,
            forwarded: 0,
            tx: [100, 100, 0, 0],
            events_us: vec![5000.0],
            bin_us: 200.0,
            series,
            switch_gap_us: Some(0.125),
            zoom: Some(Zoom {
                from_us: 4999.0,
                to_us: 5001.0,
                departures,
            }),
            lossless: true,
        }
    }

    #[test]
    fn switch_figure_shows_the_reported_gap() {
        let sc = switch_scenario();
        let charts = scenario_charts(&sc);
        assert_eq!(charts.len(), 2);
        let zoom = &charts[1];
        let s = |name: &str| {
            zoom.series
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.points.clone())
                .unwrap_or_default()
        };
        let last_p1 = s("out port 1").iter().map(|p| p.0).fold(0.0, f64::max);
        let first_p2 = s("out port 0").iter().map(|p| p.0).fold(f64::MAX, f64::min);
        let gap = first_p2 - last_p1;
        assert!((gap - 0.125).abs() < 1e-9, "gap in the plot {gap}");
        assert!(zoom.title.contains("0.125 us"), "{}", zoom.title);
        // The zoom's x axis is the gap's scale: a couple of microseconds.
        let ((x0, x1), _) = zoom.ranges();
        assert!(x1 - x0 <= 2.0 && x0 <= last_p1 && x1 >= first_p2);
        // Marks at the packets that bound the gap, and the deadline.
        let at: Vec<f64> = zoom.marks.iter().map(|m| m.0).collect();
        assert!(at.contains(&last_p1) && at.contains(&first_p2) && at.contains(&5000.0));
        // The port axis has integer ticks only.
        let (yt, yd) = crate::cmd::plot::ticks(zoom.y_ticks, -0.5, 1.95, &[]);
        assert_eq!((yt, yd), (vec![0.0, 1.0], 0));
    }

    #[test]
    fn overview_switches_at_the_deadline_not_over_a_bin() {
        let sc = switch_scenario();
        let charts = scenario_charts(&sc);
        assert_eq!(charts[0].series[1].name, "out port 1");
        let p1 = &charts[0].series[1].points;
        // Port 1 holds 10 Gb/s up to 5000 us and is 0 from 5000 us: the
        // change is a vertical step at the bin edge, never a ramp.
        for w in p1.windows(2) {
            let ((xa, ya), (xb, yb)) = (w[0], w[1]);
            assert!(ya == yb || xa == xb, "ramp from {xa},{ya} to {xb},{yb}");
        }
        assert!(p1.contains(&(5000.0, 10.0)) && p1.contains(&(5000.0, 0.0)));
        // The sum of the ports stays at 10 Gb/s across the switch.
        let all = &charts[0].series[2];
        assert_eq!(all.name, "all ports");
        assert!(all.points.iter().all(|p| p.1 == 10.0));
    }

    #[test]
    fn step_points_hold_each_bin() {
        assert_eq!(
            step_points(&[1.0, 3.0], 2.5),
            vec![(0.0, 1.0), (2.5, 1.0), (2.5, 3.0), (5.0, 3.0)]
        );
        assert!(step_points(&[], 1.0).is_empty());
    }
}
