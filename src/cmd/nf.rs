//! `nfbpf run PROG --pcap IN ...`: a network function over captured traffic.
//!
//! PROG is a C file (compiled by clang) or a clang object; the loader makes
//! its image, its maps go into the map coprocessor (pre-loaded from `-r`),
//! and every packet of the pcap or pcapng file runs on the chosen engine
//! model, map state carrying from packet to packet. Per packet: the
//! verdict, output port, instructions and (pipeline) cycles; totals per
//! verdict at the end. `--out` writes the packets as the program left them
//! to a pcapng file, each on the interface of its output port (the layout
//! of [`nfbpf_sim::capture`]); drops are not written.
//!
//! The capture is read packet by packet ([`nfbpf_sim::capture::Reader`]),
//! one [`nfbpf_vm::abi::Runner`] runs them all, and the lines printed and
//! the packets written go through buffers.
//!
//! Events a program sends to the host (RINGBUF records, PERF_EVENT_ARRAY
//! samples) are printed after their packet's line, in order: text
//! `INDEX  event ringbuf|perf_event_array MAP [cpu N]  LEN bytes  HEX`,
//! JSON `{"event": "ringbuf"|"perf_event_array", "packet", "map", "cpu",
//! "len", "data"}` (data in hex; `cpu` null for a ring buffer); the
//! summary counts them (`events`).
//!
//! `bpf_printk` lines (the device's trace FIFO, drained after each packet)
//! follow its line too: text `INDEX  trace engine E cycle C  TEXT`, JSON
//! `{"trace": TEXT, "packet", "engine", "cycle"}`; the summary counts them
//! (`traces`).
//!
//! `--engine kernel` runs XDP and tc programs on the running Linux kernel instead
//! (`BPF_PROG_TEST_RUN` through [`nfbpf_loader::kernel`]): same maps and
//! rules, the same per-packet lines; instructions, cycles and the port of a
//! redirect are unknown there (the kernel does not redirect in a test run).

use super::rules;
use anyhow::{Context, anyhow};
use nfbpf_loader::{Options, load_file};
use nfbpf_sim::capture::{self, Reader, Writer};
use nfbpf_vm::abi::{Abi, EngineKind, Runner, RxMeta, Verdict};
use nfbpf_vm::interp::Config;
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// What `run` needs for a network-function run.
pub struct NfArgs<'a> {
    pub prog: &'a Path,
    pub pcap: &'a Path,
    pub abi: Option<Abi>,
    pub engine: EngineKind,
    /// Run on the Linux kernel (XDP and tc) instead of `engine`.
    pub kernel: bool,
    pub in_port: Option<u32>,
    pub rules: Option<&'a Path>,
    /// The forwarding table of `bpf_fib_lookup` (`--fib`).
    pub fib: Option<&'a Path>,
    pub out: Option<&'a Path>,
    pub json: bool,
    pub budget: u64,
    /// `--program`, `--map-size`, `-v`.
    pub object: &'a super::object::ObjectArgs,
}

/// One input packet.
pub use nfbpf_sim::capture::Packet as Pkt;

/// Every packet of a pcap or pcapng file (for the commands that need them
/// all at once; `run` streams).
pub fn read_packets(path: &Path) -> anyhow::Result<Vec<Pkt>> {
    Ok(capture::read_all(path)?)
}

/// A tc return value as tc names it (what `cls_bpf` in direct-action
/// mode turns into `unspec` is named so).
fn tc_action(r0: u64) -> &'static str {
    use nfbpf_vm::contract::*;
    match r0 as u32 as i32 {
        TC_ACT_OK => "ok",
        TC_ACT_RECLASSIFY => "reclassify",
        TC_ACT_SHOT => "shot",
        TC_ACT_PIPE => "pipe",
        TC_ACT_STOLEN => "stolen",
        TC_ACT_QUEUED => "queued",
        TC_ACT_REPEAT => "repeat",
        TC_ACT_REDIRECT => "redirect",
        TC_ACT_TRAP => "trap",
        _ => "unspec",
    }
}

/// tc: the context fields a run leaves for the stack (`mark`, `priority`,
/// `cb`; the models also `tc_classid`, `tc_index`, `queue_mapping`), for
/// `--json`.
fn skb_fields(o: &mut serde_json::Value, ctx: &[u8], model: bool) {
    use nfbpf_vm::abi::sk_buff;
    let f = |off: u64| {
        ctx.get(off as usize..off as usize + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    o["mark"] = f(sk_buff::MARK).into();
    o["priority"] = f(sk_buff::PRIORITY).into();
    o["cb"] = (0..5)
        .map(|i| f(sk_buff::CB + 4 * i))
        .collect::<Vec<_>>()
        .into();
    if model {
        o["tc_classid"] = f(sk_buff::TC_CLASSID).into();
        o["tc_index"] = f(sk_buff::TC_INDEX).into();
        o["queue_mapping"] = f(sk_buff::QUEUE_MAPPING).into();
    }
}

/// Print the events packet `index` sent to the host (ring buffer records,
/// perf event samples), in order: one line (or JSON object) each, after
/// the packet's. Returns how many.
fn print_events(
    out: &mut impl Write,
    json: bool,
    index: u64,
    events: &[nfbpf_vm::maps::Event],
) -> std::io::Result<u64> {
    use nfbpf_vm::maps::EventSource;
    for e in events {
        let hex: String = e.data.iter().map(|b| format!("{b:02x}")).collect();
        let cpu = match e.source {
            EventSource::PerfEvent { cpu } => Some(cpu),
            EventSource::Ringbuf => None,
        };
        if json {
            let o = serde_json::json!({
                "event": e.source.kind(), "packet": index, "map": e.name, "cpu": cpu,
                "len": e.data.len(), "data": hex,
            });
            writeln!(out, "{o}")?;
        } else {
            let cpu = cpu.map_or(String::new(), |c| format!(" cpu {c}"));
            writeln!(
                out,
                "{index:6}  event {} {}{cpu}  {} bytes  {hex}",
                e.source.kind(),
                e.name,
                e.data.len()
            )?;
        }
    }
    Ok(events.len() as u64)
}

/// The trace records of the packet `index` (`bpf_printk`), as its events.
fn print_traces(
    out: &mut impl Write,
    json: bool,
    index: u64,
    records: &[nfbpf_vm::units::TraceRecord],
) -> std::io::Result<u64> {
    for r in records {
        if json {
            let o = serde_json::json!({
                "trace": r.text, "packet": index, "engine": r.engine, "cycle": r.cycle,
            });
            writeln!(out, "{o}")?;
        } else {
            writeln!(
                out,
                "{index:6}  trace engine {} cycle {}  {}",
                r.engine, r.cycle, r.text
            )?;
        }
    }
    Ok(records.len() as u64)
}

/// `(action, port)` as the JSON output names them.
fn action(abi: Abi, v: Verdict, r0: u64) -> (&'static str, Option<u32>) {
    if abi == Abi::Tc {
        return match v {
            Verdict::Aborted => ("aborted", None),
            Verdict::Redirect(p) | Verdict::Ingress(p) => ("redirect", Some(p)),
            _ => (tc_action(r0), None),
        };
    }
    match (abi, v) {
        (_, Verdict::Aborted) => ("aborted", None),
        (_, Verdict::Drop) => ("drop", None),
        (Abi::Xdp, Verdict::Pass) => ("pass", None),
        (Abi::Sume, Verdict::Pass) => ("controller", None),
        (Abi::Xdp, Verdict::Tx(p)) if r0 == nfbpf_vm::contract::XDP_TX => ("tx", Some(p)),
        (Abi::Xdp, Verdict::Tx(p)) => ("redirect", Some(p)),
        (Abi::Sume, Verdict::Tx(p)) => ("port", Some(p)),
        (Abi::Xdp, Verdict::Flood) => ("redirect", None),
        (Abi::Sume, Verdict::Flood) => ("flood", None),
        (_, Verdict::Redirect(p)) => ("redirect", Some(p)),
        (_, Verdict::Host(_)) => ("redirect", None),
        // tc verdicts are named above.
        (Abi::Tc, _) | (_, Verdict::Ingress(_)) => ("unspec", None),
    }
}

pub fn run(a: NfArgs<'_>) -> anyhow::Result<ExitCode> {
    let opts = Options {
        abi: a.abi,
        ..a.object.options()
    };
    let image = load_file(a.prog, &opts).map_err(|e| anyhow!("{}: {e}", a.prog.display()))?;
    a.object.report(a.prog, &image);
    let abi = image.abi;
    let fib = match a.fib {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            Some(nfbpf_vm::fib::Fib::parse(&text).map_err(|e| anyhow!("{}: {e}", f.display()))?)
        }
        None => None,
    };
    if a.kernel {
        return run_kernel(&a, &image, fib.as_ref());
    }
    let prog = image
        .program()
        .map_err(|e| anyhow!("{}: {e}", a.prog.display()))?;
    let dev = SharedDeviceState::new(UnitsConfig::default());
    dev.with(|d| nfbpf_loader::install::configure_maps(&image, &mut d.maps))
        .map_err(|e| anyhow!("{}: {e}", a.prog.display()))?;
    if let Some(r) = a.rules {
        dev.with(|d| rules::load(r, &image, &mut d.maps))?;
    }
    if let Some(f) = fib {
        dev.with(|d| d.fib = std::sync::Arc::new(f));
    }
    let mut reader = Reader::open(a.pcap)?;
    let mut writer = a.out.map(Writer::create_egress).transpose()?;
    let cfg = Config {
        budget: a.budget,
        ..Config::default()
    };
    let mut runner = Runner::new(a.engine, abi, &prog, &dev, 0, &cfg);
    let ns_per_cycle = 1_000_000_000 / nfbpf_vm::contract::CLOCK_HZ;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut insns, mut cycles, mut faults, mut events) = (0u64, 0u64, 0u64, 0u64);
    let mut traces = 0u64;
    let mut p = Pkt::default();
    let mut index = 0u64;
    while reader.next_into(&mut p)? {
        let rx = RxMeta {
            in_port: a.in_port.or(p.iface).unwrap_or(0),
            ..RxMeta::default()
        };
        let ex = runner
            .run(&p.data, &rx, &mut NoTrace)
            .map_err(|e| anyhow!("packet {index}: {e}"))?;
        let (act, port) = action(abi, ex.verdict, ex.r0);
        *totals.entry(act).or_default() += 1;
        insns += ex.insns;
        cycles += ex.cycles.unwrap_or(0);
        if let Some(f) = &ex.fault {
            faults += 1;
            let loc = format!(" ({})", image.locate_in(ex.program, f.pc));
            out.flush()?;
            eprintln!("packet {index}: {f}{loc}");
        }
        if a.json {
            let mut o = serde_json::json!({
                "index": index, "action": act, "port": port, "r0": ex.r0,
                "instructions": ex.insns, "cycles": ex.cycles, "in_port": rx.in_port,
                "len": p.data.len(),
            });
            if let Some(f) = &ex.fault {
                o["fault"] = serde_json::Value::String(f.to_string());
            }
            if let Verdict::Host(q) = ex.verdict {
                o["host_queue"] = serde_json::Value::String(q.to_string());
            }
            if let Verdict::Ingress(_) = ex.verdict {
                o["ingress"] = true.into();
            }
            if abi == Abi::Tc {
                skb_fields(&mut o, &ex.ctx, true);
            }
            writeln!(out, "{o}")?;
        } else {
            let port = match ex.verdict {
                Verdict::Host(q) => q.to_string(),
                _ => port.map_or("-".to_string(), |p| p.to_string()),
            };
            let cyc = ex.cycles.map_or("-".to_string(), |c| c.to_string());
            writeln!(
                out,
                "{index:6}  in {:2}  {act:<10} port {port:>3}  insns {:5}  cycles {cyc:>6}",
                rx.in_port, ex.insns
            )?;
        }
        let ev = dev.with(|d| d.maps.take_events());
        events += print_events(&mut out, a.json, index, &ev)?;
        let tr = dev.with(|d| d.log.drain());
        traces += print_traces(&mut out, a.json, index, &tr)?;
        if let Some(w) = writer.as_mut() {
            let frame = if ex.frame.is_empty() {
                &p.data
            } else {
                &ex.frame
            };
            // Leaves at arrival plus the modelled latency (pipeline).
            let ts = p.ts + Duration::from_nanos(ex.cycles.unwrap_or(0) * ns_per_cycle);
            w.write_verdict(ex.verdict, rx.in_port, ts, frame)?;
        }
        index += 1;
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let n = index;
    if a.json {
        let mut o = serde_json::json!({
            "summary": true, "packets": n, "instructions": insns, "faults": faults,
            "events": events, "traces": traces,
            "engine": match a.engine { EngineKind::Interp => "interp", EngineKind::Pipeline => "pipeline" },
            "abi": abi.name(),
        });
        if a.engine == EngineKind::Pipeline {
            o["cycles"] = cycles.into();
        }
        for (k, v) in &totals {
            o[*k] = (*v).into();
        }
        writeln!(out, "{o}")?;
    } else {
        let t: Vec<String> = totals.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(
            out,
            "{n} packets: {}; {insns} instructions{}{}{}",
            t.join(", "),
            if a.engine == EngineKind::Pipeline {
                format!(", {cycles} cycles")
            } else {
                String::new()
            },
            if events > 0 {
                format!("; {events} events")
            } else {
                String::new()
            },
            if traces > 0 {
                format!("; {traces} trace lines")
            } else {
                String::new()
            }
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The action of a kernel return value (XDP or tc).
fn kernel_action(abi: Abi, retval: u32) -> &'static str {
    if abi == Abi::Tc {
        return tc_action(u64::from(retval));
    }
    match u64::from(retval) {
        nfbpf_vm::contract::XDP_DROP => "drop",
        nfbpf_vm::contract::XDP_PASS => "pass",
        nfbpf_vm::contract::XDP_TX => "tx",
        nfbpf_vm::contract::XDP_REDIRECT => "redirect",
        _ => "aborted",
    }
}

/// `--engine kernel`: the packets through the running kernel.
fn run_kernel(
    a: &NfArgs<'_>,
    image: &nfbpf_loader::Image,
    fib: Option<&nfbpf_vm::fib::Fib>,
) -> anyhow::Result<ExitCode> {
    use nfbpf_loader::kernel::KernelProgram;
    if image.abi == nfbpf_loader::Abi::Sume {
        anyhow::bail!(
            "{}: --engine kernel runs XDP and tc programs only: Linux has no SUME ABI (use --engine interp or pipeline)",
            a.prog.display()
        );
    }
    let abi = image.abi;
    let k = KernelProgram::load(image).map_err(|e| anyhow!("{}: kernel: {e}", a.prog.display()))?;
    if let Some(r) = a.rules {
        let text =
            std::fs::read_to_string(r).with_context(|| format!("cannot read {}", r.display()))?;
        let entries = rules::parse(&text, image).with_context(|| r.display().to_string())?;
        for e in &entries {
            k.update(e.map, &e.key, &e.value).map_err(|err| {
                anyhow!(
                    "{}: map `{}`: kernel: {err}",
                    r.display(),
                    image.maps[e.map].name
                )
            })?;
        }
    }
    // The table as the kernel's own, in a namespace of this thread's.
    let _ns = fib
        .map(nfbpf_loader::kernel::FibNamespace::enter)
        .transpose()
        .map_err(|e| anyhow!("--fib: kernel: {e}"))?;
    let mut reader = Reader::open(a.pcap)?;
    let mut writer = a.out.map(Writer::create_egress).transpose()?;
    // A test run does not redirect: the port of an XDP_REDIRECT is unknown,
    // and such packets go on an interface of their own, `redirect`.
    let mut redirect_iface = None;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut events = 0u64;
    let mut p = Pkt::default();
    let mut index = 0u64;
    while reader.next_into(&mut p)? {
        // 0: the kernel's test device (the loopback); others must exist.
        let in_port = a.in_port.or(p.iface).unwrap_or(0);
        let run = k
            .run(&p.data, in_port)
            .map_err(|e| anyhow!("packet {index}: kernel: {e}"))?;
        let act = kernel_action(abi, run.retval);
        let port = (act == "tx").then_some(in_port);
        *totals.entry(act).or_default() += 1;
        if a.json {
            let mut o = serde_json::json!({
                "index": index, "action": act, "port": port, "r0": run.retval,
                "instructions": null, "cycles": null, "in_port": in_port,
                "len": p.data.len(),
            });
            if abi == Abi::Tc {
                skb_fields(&mut o, &run.ctx_out, false);
            }
            writeln!(out, "{o}")?;
        } else {
            let port = port.map_or("-".to_string(), |p| p.to_string());
            writeln!(
                out,
                "{index:6}  in {in_port:2}  {act:<10} port {port:>3}  insns {:>5}  cycles {:>6}",
                "-", "-"
            )?;
        }
        let ev = k
            .take_events()
            .map_err(|e| anyhow!("packet {index}: kernel: {e}"))?;
        events += print_events(&mut out, a.json, index, &ev)?;
        if let Some(w) = writer.as_mut() {
            // tc: shot, stolen and trap consume the packet; ok, unspec and
            // the codes cls_bpf folds into unspec send it up the stack.
            let v = match act {
                "drop" | "shot" | "stolen" | "trap" => Verdict::Drop,
                "pass" => Verdict::Pass,
                _ if abi == Abi::Tc && act != "redirect" => Verdict::Pass,
                "tx" => Verdict::Tx(in_port),
                "redirect" => {
                    let id = match redirect_iface {
                        Some(id) => id,
                        None => *redirect_iface.insert(w.add_interface("redirect")?),
                    };
                    w.write(id, p.ts, &run.data_out)?;
                    Verdict::Drop // written above
                }
                _ => Verdict::Aborted,
            };
            w.write_verdict(v, in_port, p.ts, &run.data_out)?;
        }
        index += 1;
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let n = index;
    if a.json {
        let mut o = serde_json::json!({
            "summary": true, "packets": n, "instructions": null, "faults": 0,
            "events": events, "engine": "kernel", "abi": abi.name(),
        });
        for (key, v) in &totals {
            o[*key] = (*v).into();
        }
        writeln!(out, "{o}")?;
    } else {
        let t: Vec<String> = totals.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let ev = if events > 0 {
            format!("; {events} events")
        } else {
            String::new()
        };
        writeln!(out, "{n} packets: {}{ev} (kernel)", t.join(", "))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Is this program file a network function (C source, built-in program or
/// ELF object)?
pub fn is_nf(path: &PathBuf) -> bool {
    nfbpf_loader::compile::is_c_source(path)
        || path.extension().is_some_and(|e| e == "o")
        || std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x7fELF"))
}
