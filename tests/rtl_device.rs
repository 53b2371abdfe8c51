//! The data-plane RTL (`sim::device::RtlDevice`) against the model device
//! in lockstep (`sim::devcosim`): the SUME programs of `programs/` loaded
//! through the registers of both at once and run on line-rate traffic, and
//! program swaps under four ports of 64-byte frames; every engine's cycle
//! record and retire records of every clock, every output, receive decision
//! and register read (counters included) must be equal. A difference put
//! into the model's records on purpose is caught, with both sides' last
//! clocks and a VCD of the RTL.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use nfbpf_loader::image::Image;
use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_sim::devcosim::{DevCosim, tready_bursty, tready_random};
use nfbpf_sim::device::read_counters;
use nfbpf_vm::device::{DeviceConfig, EngineCounters, PortCounters};
use nfbpf_vm::pipeline::Stall;
use nfbpf_vm::regs::{self, RegisterBus};

use common::{arp, clang, ipv4_frame as frame, offer, wire_centiclocks};

mod common;

/// Run `frames` (port, bytes) at line rate per port, then drain; returns
/// the outputs compared.
fn run_traffic(c: &mut DevCosim, frames: &[(usize, Vec<u8>)]) -> u64 {
    offer(c, frames, |c| c.step().unwrap());
    c.drain(1_000_000).unwrap();
    c.outputs
}

/// A SUME function sending everything to `port`.
fn fixed(port: u32) -> Image {
    load_file(&common::fixed_port_source(port).1, &Options::default()).unwrap()
}

/// Every clock's cycle records (one per engine) were compared, and retire
/// records with them.
fn check_records(c: &DevCosim) {
    assert_eq!(c.cycle_records, 4 * c.cycle(), "cycle records compared");
    assert!(c.retires > 0, "no retire records compared");
}

/// The count in environment variable `name` (more seeds or frames for a
/// longer run), else `default`.
fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Write `insns` through the program registers from `WRINST 0`, with
/// `BUDGET` when given (no FLIP).
fn write_insns(c: &mut DevCosim, insns: &[nfbpf_vm::Insn], budget: Option<u32>) {
    c.write32(regs::WRINST, 0).unwrap();
    c.write32(regs::NUMINST, insns.len() as u32).unwrap();
    if let Some(b) = budget {
        c.write32(regs::BUDGET, b).unwrap();
    }
    for i in insns {
        let w = i.to_u64();
        c.write32(regs::HIINST, (w >> 32) as u32).unwrap();
        c.write32(regs::LOINST, w as u32).unwrap();
    }
}

/// [`write_insns`] and FLIP, which must be taken (else the listing of
/// `insns` and `what` in the panic).
fn write_and_flip(c: &mut DevCosim, insns: &[nfbpf_vm::Insn], budget: Option<u32>, what: &str) {
    write_insns(c, insns, budget);
    if let Err(e) = c.write32(regs::FLIP, 1) {
        panic!(
            "{what}: FLIP refused: {e}\n{}",
            nfbpf_vm::disasm::listing(insns)
        );
    }
}

/// A function (SUME or XDP) from its C source, written to a temporary
/// directory and loaded as `nfbpf` loads it, `programs/include` on the
/// include path.
fn c_function(file: &str, source: &str) -> Image {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join(file);
    std::fs::write(&src, source).unwrap();
    let opts = Options {
        include_dirs: vec![common::program("include")],
        ..Options::default()
    };
    load_file(&src, &opts).unwrap()
}

/// `img` on `frames` under each `tready` pattern, model and RTL in
/// lockstep with every record compared; `check(seed, frames out, engine
/// counters, port counters)` for each.
fn under_patterns(
    img: &Image,
    frames: &[(usize, Vec<u8>)],
    patterns: Vec<(u64, nfbpf_vm::device::Tready)>,
    check: impl Fn(u64, u64, &[EngineCounters], &[PortCounters]),
) {
    for (seed, tready) in patterns {
        let (_, n, es, ps) = lockstep(img, frames, Some(tready));
        check(seed, n, &es, &ps);
    }
}

/// `img` programmed on a new model and RTL pair with the egress `tready`
/// pattern, `frames` run at line rate and drained, every record compared:
/// the pair (to read maps back), the outputs compared and the engines' and
/// ports' counters.
fn lockstep(
    img: &Image,
    frames: &[(usize, Vec<u8>)],
    tready: Option<nfbpf_vm::device::Tready>,
) -> (DevCosim, u64, Vec<EngineCounters>, Vec<PortCounters>) {
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, img).unwrap();
    c.set_tready(tready);
    let n = run_traffic(&mut c, frames);
    check_records(&c);
    let (es, ps) = read_counters(&mut c, 4).unwrap();
    (c, n, es, ps)
}

fn check_counters(c: &mut DevCosim) {
    let (es, ps) = read_counters(c, 4).unwrap();
    let ins: u64 = es.iter().map(|e| e.pkt_in).sum();
    let rx: u64 = ps.iter().map(|p| p.rx).sum();
    assert!(ins > 0 && rx >= ins, "{es:?} {ps:?}");
}

#[test]
fn fixed_port_program_matches_model() {
    if !clang() {
        return;
    }
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &fixed(2)).unwrap();
    let mut frames = Vec::new();
    for i in 0..40u8 {
        let len = [64, 128, 300, 1500][(i % 4) as usize];
        frames.push((
            (i % 4) as usize,
            frame(i % 3, 1, [10, 0, 0, i], [10, 0, 1, 1], 17, 53, len),
        ));
    }
    frames.push((0, arp()));
    let n = run_traffic(&mut c, &frames);
    assert_eq!(n, frames.len() as u64);
    check_counters(&mut c);
    assert_eq!(c.read32(regs::CURRINSTMEM).unwrap(), 1);
    check_records(&c);
}

/// An entry through the original map registers (SUME keys and values are
/// at most 8 bytes).
fn map_update(b: &mut dyn RegisterBus, map: u32, key: &[u8], value: &[u8]) {
    let u = |bytes: &[u8]| {
        let mut w = [0u8; 8];
        w[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(w)
    };
    let (k, v) = (u(key), u(value));
    b.write32(regs::MAPSELECT, map).unwrap();
    b.write32(regs::HIKEY, (k >> 32) as u32).unwrap();
    b.write32(regs::LOKEY, k as u32).unwrap();
    b.write32(regs::HIDIN, (v >> 32) as u32).unwrap();
    b.write32(regs::LODIN, v as u32).unwrap();
    b.write32(regs::OPERATION, 1).unwrap();
    assert_eq!(b.read32(regs::ACK).unwrap(), 1, "update acknowledged");
    assert_eq!(b.read32(regs::ERROR).unwrap(), 0, "update refused");
}

/// Mixed traffic on four ports: flows between a few hosts, TCP and UDP,
/// several sizes, an ARP frame, a runt and a frame larger than the window.
fn traffic() -> Vec<(usize, Vec<u8>)> {
    let ips = [
        [10, 0, 0, 1],
        [10, 1, 2, 3],
        [192, 168, 7, 7],
        [10, 1, 9, 9],
    ];
    let mut v = Vec::new();
    for i in 0..48u8 {
        let src = ips[(i % 4) as usize];
        let dst = ips[((i / 4) % 4) as usize];
        let proto = if i % 3 == 0 { 6 } else { 17 };
        let dport = [53, 80, 443, 9][(i % 4) as usize];
        let len = [64, 128, 512, 60, 1500, 90][(i % 6) as usize];
        v.push((
            (i % 4) as usize,
            frame(i % 3, (i + 1) % 3, src, dst, proto, dport, len),
        ));
    }
    v.push((1, arp()));
    v.push((2, vec![0xff; 20]));
    v.push((3, vec![0x11; 2100]));
    v
}

#[test]
fn sume_programs_match_model() {
    if !clang() {
        return;
    }
    let dir = common::program("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "c" && stem.ends_with("_sume")).then_some(stem)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    let frames = traffic();
    for name in &names {
        let img = load_file(&dir.join(format!("{name}.c")), &Options::default()).unwrap();
        let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
        program(&mut c, &img).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (m, k, v) in common::map_entries(name) {
            map_update(&mut c, m, &k, &v);
        }
        let n = run_traffic(&mut c, &frames);
        let (es, ps) = read_counters(&mut c, 4).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rx: u64 = ps.iter().map(|p| p.rx).sum();
        assert_eq!(rx, frames.len() as u64, "{name}: {ps:?}");
        let ins: u64 = es.iter().map(|e| e.pkt_in).sum();
        let done: u64 = es.iter().map(|e| e.pkt_out + e.dropped + e.faults).sum();
        assert!(ins >= done && done >= n, "{name}: {es:?}");
        check_records(&c);
        eprintln!(
            "{name}: {} frames, {n} outputs, {} cycles, {} retire records, {} cycle records, \
             0 mismatches",
            frames.len(),
            c.cycle(),
            c.retires,
            c.cycle_records
        );
    }
}

#[test]
fn swaps_under_line_rate_match_model() {
    if !clang() {
        return;
    }
    let (p1, p2) = (fixed(1), fixed(2));
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &p1).unwrap();
    let f = frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 9, 64);
    let (mut sent, mut swaps, mut refused) = (0u64, 0u32, 0u32);
    let start = c.cycle();
    let mut next = 0u64;
    while swaps < 200 {
        // Four ports at 10 Gb/s of 64-byte frames: one frame every 13.44
        // clocks on each.
        if c.cycle() * 100 >= next {
            for p in 0..4 {
                assert!(c.rx(p, &f).unwrap(), "dropped at cycle {}", c.cycle());
                sent += 1;
            }
            next = next.max(c.cycle() * 100) + wire_centiclocks(64);
        }
        if (c.cycle() - start) % 200 == 199 {
            let img = if swaps % 2 == 0 { &p2 } else { &p1 };
            while let Err(e) = program(&mut c, img) {
                assert!(e.to_string().contains("retry"), "{e}");
                refused += 1;
                c.step().unwrap();
            }
            swaps += 1;
        }
        c.step().unwrap();
    }
    c.drain(100_000).unwrap();
    assert_eq!(c.outputs, sent, "packets lost");
    let (es, _) = read_counters(&mut c, 4).unwrap();
    for (e, k) in es.iter().enumerate() {
        assert_eq!(k.pkt_in, k.pkt_out, "engine {e}: {k:?}");
    }
    check_records(&c);
    eprintln!(
        "{swaps} swaps ({refused} refused and retried), {sent} frames, {} cycles, \
         {} retire records, {} cycle records, 0 mismatches",
        c.cycle(),
        c.retires,
        c.cycle_records
    );
}

#[test]
fn cosim_command_on_a_capture() {
    if !clang() {
        return;
    }
    let tmpdir = tempfile::tempdir().unwrap();
    let pcap = tmpdir.path().join("in.pcapng");
    let pc = pcap.to_str().unwrap();
    let (code, _, err) = common::nfbpf(&[
        "traffic", "--out", pc, "--count", "300", "--size", "imix", "--proto", "mix", "--ports",
        "0,1,2,3",
    ]);
    assert_eq!(code, 0, "{err}");
    let prog = common::program("l2_switch_sume.c");
    let (code, out, err) = common::nfbpf(&["cosim", prog.to_str().unwrap(), "--pcap", pc]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("300 packets, ") && out.trim_end().ends_with(" 0 mismatches"),
        "{out}"
    );
    // Records were compared: "... K outputs, R retire records, C cycle records, ...".
    let count = |what: &str| -> u64 {
        let i = out.find(what).unwrap_or_else(|| panic!("{what}: {out}"));
        out[..i]
            .rsplit(", ")
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let cycles = count(" cycles");
    assert!(count(" retire records") > 0, "{out}");
    assert_eq!(count(" cycle records"), 4 * cycles, "{out}");
    // An XDP function on the same capture: the RTL runs the XDP ABI too.
    let xdp = common::program("wire.c");
    let (code, out, err) = common::nfbpf(&["cosim", xdp.to_str().unwrap(), "--pcap", pc]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("300 packets, ") && out.trim_end().ends_with(" 0 mismatches"),
        "{out}"
    );
    // An XDP function with maps (a MAC table through pointers): 0 mismatches.
    let l2 = common::program("l2_switch.c");
    let (code, out, err) = common::nfbpf(&["cosim", l2.to_str().unwrap(), "--pcap", pc]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim_end().ends_with(" 0 mismatches"), "{out}");
    // firewall.c: a 16-byte 5-tuple HASH key (two helper memory port
    // words, a wide CAM entry). The capture's TCP goes to port 80 (blocked),
    // its UDP flows 0..15 (10.0.0.f:1024+f to 192.168.0.1:5000) are in the
    // flows map, every other one with verdict 1 (drop).
    let mut rules = String::from("blocked_ports hex:0050 hex:01\n");
    for f in 0..16u8 {
        rules += &format!(
            "flows hex:0a0000{f:02x}c0a8000104{f:02x}138811000000 hex:0{}000000\n",
            f % 2
        );
    }
    let rf = tmpdir.path().join("fw.rules");
    std::fs::write(&rf, rules).unwrap();
    let fw = common::program("firewall.c");
    let (code, out, err) = common::nfbpf(&[
        "cosim",
        fw.to_str().unwrap(),
        "--pcap",
        pc,
        "--rules",
        rf.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("300 packets, ") && out.trim_end().ends_with(" 0 mismatches"),
        "{out}"
    );
    // TCP and half the UDP dropped: fewer outputs than packets.
    let outs: u64 = out
        .split(", ")
        .find_map(|f| f.strip_suffix(" outputs"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(outs > 0 && outs < 200, "{out}");
    let (code, _, err) =
        common::nfbpf(&["cosim", prog.to_str().unwrap(), "--pcap", pc, "--port", "7"]);
    assert_eq!(code, 5, "refused");
    assert!(err.contains("--port 7"), "{err}");
    // Lambda requests from `nfbpf traffic --lambda` with the lambda budget:
    // every request runs; with the device's default budget the larger
    // images are aborted, the same on both sides.
    let lam = tmpdir.path().join("gray.pcapng");
    let (code, _, err) = common::nfbpf(&[
        "traffic",
        "--lambda",
        "gray",
        "--count",
        "8",
        "--ports",
        "0,1,2,3",
        "--gbps",
        "0.5",
        "--out",
        lam.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let lam = lam.to_str().unwrap();
    for budget in [Some("8192"), None] {
        let mut args = vec!["cosim", "builtin:lambda_gray", "--pcap", lam];
        if let Some(b) = budget {
            args.extend(["--budget", b]);
        }
        let (code, out, err) = common::nfbpf(&args);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.starts_with("8 packets, ") && out.trim_end().ends_with(" 0 mismatches"),
            "{out}"
        );
        let outs = out
            .split(", ")
            .find_map(|f| f.strip_suffix(" outputs"))
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(outs == "8", budget.is_some(), "{budget:?}: {out}");
    }
}

/// XDP functions of the context helpers (written for this test): the
/// frame moved at both ends (`xdp_adjust_head` by 14 and by -8, so the
/// egress sends from an offset that is not a whole FIFO_MD word;
/// `xdp_adjust_tail` shrinking), `bpf_redirect` with and without flags, a
/// redirect without a target, the timer, the PRNG, the engine number, the
/// context fields, `xdp_get_buff_len`, and the error answers (-EINVAL,
/// -EACCES) of out-of-bounds adjustments; `xdp_adjust_meta` and metadata
/// stores in the other.
const XDP_CTX_A: &str = r#"
#include "nf_common.h"
SEC("xdp")
int ctx_a(struct xdp_md *ctx)
{
	__u32 len = bpf_xdp_get_buff_len(ctx);
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 in = ctx->ingress_ifindex;
	__u64 t = bpf_ktime_get_ns();
	__u32 r = bpf_get_prandom_u32();
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 20 > end)
		return XDP_DROP;
	__u8 *p = data;
	p[14] = (__u8)t;
	p[15] = (__u8)r;
	p[16] = (__u8)cpu;
	p[17] = (__u8)(ctx->rx_queue_index + ctx->egress_ifindex);
	switch ((len + in) % 6) {
	case 0:
		if (bpf_xdp_adjust_head(ctx, 14))
			return XDP_ABORTED;
		return XDP_TX;
	case 1:
		if (bpf_xdp_adjust_head(ctx, -8))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (data + 8 > end)
			return XDP_ABORTED;
		*(__u64 *)data = 0x0102030405060708ULL ^ t;
		return bpf_redirect((in + cpu) & 3, 0);
	case 2:
		if (bpf_xdp_adjust_tail(ctx, -(int)(len / 2)))
			return XDP_DROP;
		return bpf_redirect(in ^ 2, 0);
	case 3:
		if (bpf_xdp_adjust_head(ctx, -1000) != -22)
			return XDP_ABORTED;
		if (bpf_xdp_adjust_tail(ctx, 5000) != -22)
			return XDP_ABORTED;
		if (bpf_xdp_adjust_head(ctx, (int)len) != -22)
			return XDP_ABORTED;
		return bpf_redirect(in, 1);
	case 4:
		return in == 3 ? XDP_REDIRECT : XDP_PASS;
	default:
		return bpf_redirect(in + 4, 0);
	}
}
char LICENSE[] SEC("license") = "GPL";
"#;

const XDP_CTX_B: &str = r#"
#include "nf_common.h"
SEC("xdp")
int ctx_b(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_meta(ctx, -8))
		return XDP_ABORTED;
	void *meta = (void *)(long)ctx->data_meta;
	void *data = (void *)(long)ctx->data;
	if (meta + 8 > data)
		return XDP_ABORTED;
	*(__u32 *)meta = ctx->ingress_ifindex;
	*(__u32 *)(meta + 4) = ctx->data_end - ctx->data;
	if (bpf_xdp_adjust_meta(ctx, -2) != -13)
		return XDP_ABORTED;
	if (bpf_xdp_adjust_meta(ctx, 16) != -22)
		return XDP_ABORTED;
	if (bpf_xdp_adjust_meta(ctx, -4096) != -22)
		return XDP_ABORTED;
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if (meta + 8 > data)
		return XDP_ABORTED;
	if (*(__u32 *)(meta + 4) > 1000)
		return XDP_DROP;
	return (ctx->ingress_ifindex & 1) ? XDP_PASS : XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// The helpers over buffers in engine memory: `xdp_load_bytes` and
/// `xdp_store_bytes` between the packet and the stack at odd offsets and
/// sizes, within the packet over overlapping ranges (the destination above
/// the source and below it), their error answers, and `csum_diff` with
/// both buffers, one and none, its results written into the frame the
/// egress sends.
const XDP_CTX_C: &str = r#"
#include "nf_common.h"
SEC("xdp")
int ctx_c(struct xdp_md *ctx)
{
	__u8 buf[64];
	__u32 len = ctx->data_end - ctx->data;
	if (len < 60)
		return XDP_DROP;
	if (bpf_xdp_load_bytes(ctx, 3, buf, 37))
		return XDP_ABORTED;
	__u32 sums[4];
	sums[0] = bpf_csum_diff((__be32 *)buf, 20, (__be32 *)(buf + 20), 13, 0x1234);
	sums[1] = bpf_csum_diff(0, 0, (__be32 *)(buf + 1), 7, 0xabcdef);
	sums[2] = bpf_csum_diff((__be32 *)(buf + 5), 9, 0, 0, 0x55);
	sums[3] = bpf_csum_diff(0, 0, 0, 0, 0x12345678);
	if (bpf_xdp_store_bytes(ctx, 11, buf, 37))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 14, sums, 16))
		return XDP_ABORTED;
	if (bpf_xdp_load_bytes(ctx, 0x10000, buf, 4) != -14)
		return XDP_ABORTED;
	if (bpf_xdp_load_bytes(ctx, len - 2, buf, 4) != -22)
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, buf, 0x10000) != -14)
		return XDP_ABORTED;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 60 > end)
		return XDP_DROP;
	if (bpf_xdp_load_bytes(ctx, 20, data + 24, 30))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 30, data + 26, 21))
		return XDP_ABORTED;
	if (bpf_xdp_load_bytes(ctx, 40, data + 33, 19))
		return XDP_ABORTED;
	if (len > 1000 && bpf_xdp_load_bytes(ctx, 100, buf, 64))
		return XDP_ABORTED;
	if (len > 1000)
		sums[0] = bpf_csum_diff((__be32 *)data, 512, (__be32 *)buf, 64, 0);
	if (len > 1000 && bpf_xdp_store_bytes(ctx, 600, sums, 4))
		return XDP_ABORTED;
	/* Shrink, then grow back: the exposed bytes read as zeroes. */
	__u32 cut = 1 + (len & 63);
	if (bpf_xdp_adjust_tail(ctx, -(int)cut))
		return XDP_ABORTED;
	if (bpf_xdp_adjust_tail(ctx, cut + 1) != -22)
		return XDP_ABORTED;
	if (bpf_xdp_adjust_tail(ctx, cut - (len & 7)))
		return XDP_ABORTED;
	return (ctx->ingress_ifindex & 1) ? XDP_PASS : XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// The XDP functions of `programs/` the RTL runs (no maps) and the three
/// above, on the mixed line-rate traffic in lockstep; an ABI change while
/// packets are inside is refused by both alike.
#[test]
fn xdp_programs_match_model() {
    if !clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let include = common::program("include");
    let mut progs = vec![
        ("xdp_drop".to_string(), common::program("xdp_drop.c")),
        ("wire".to_string(), common::program("wire.c")),
    ];
    for (name, src) in [
        ("ctx_a", XDP_CTX_A),
        ("ctx_b", XDP_CTX_B),
        ("ctx_c", XDP_CTX_C),
    ] {
        let p = dir.path().join(format!("{name}.c"));
        std::fs::write(&p, src).unwrap();
        progs.push((name.to_string(), p));
    }
    let frames = traffic();
    for (name, path) in &progs {
        let opts = Options {
            include_dirs: vec![include.clone()],
            ..Options::default()
        };
        let img = load_file(path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
        program(&mut c, &img).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.read32(regs::ABIMODE).unwrap(), 1, "{name}");
        let n = run_traffic(&mut c, &frames);
        let (es, ps) = read_counters(&mut c, 4).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rx: u64 = ps.iter().map(|p| p.rx).sum();
        assert_eq!(rx, frames.len() as u64, "{name}: {ps:?}");
        let done: u64 = es.iter().map(|e| e.pkt_out + e.dropped + e.faults).sum();
        assert!(done >= n, "{name}: {es:?}");
        check_records(&c);
        eprintln!(
            "{name}: {} frames, {n} outputs, {} cycles, {} retire records, {} cycle records, \
             0 mismatches",
            frames.len(),
            c.cycle(),
            c.retires,
            c.cycle_records
        );
        if name == "xdp_drop" {
            assert_eq!(n, 0);
        } else {
            assert!(n > 0, "{name}");
        }
    }
    // ABIMODE while a packet is inside: both refuse, both stay in XDP.
    let img = load_file(&common::program("wire.c"), &Options::default()).unwrap();
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &img).unwrap();
    assert!(c.rx(0, &frames[4].1).unwrap());
    c.step().unwrap();
    let e = c.write32(regs::ABIMODE, 0).unwrap_err().to_string();
    assert!(e.contains("in flight"), "{e}");
    c.drain(10_000).unwrap();
    assert_eq!(c.read32(regs::ABIMODE).unwrap(), 1);
}

/// More than the engines can take: 4 x 10 Gb/s of 64-byte frames into a
/// function that runs longer than a frame time, so FIFO_MD fills (packets
/// and words queued, refusals counted at the ports) in lockstep.
#[test]
fn overload_fills_fifo_md_in_lockstep() {
    if !clang() {
        return;
    }
    let img = load_file(&common::program("l2_switch_sume.c"), &Options::default()).unwrap();
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &img).unwrap();
    let mut frames = Vec::new();
    for i in 0..1200u32 {
        let b = i as u8;
        frames.push((
            (i % 4) as usize,
            frame(
                b % 5,
                b.wrapping_add(2) % 5,
                [10, 0, 0, b],
                [10, 0, 1, b],
                17,
                53,
                64,
            ),
        ));
    }
    run_traffic(&mut c, &frames);
    let (_, ps) = read_counters(&mut c, 4).unwrap();
    let dropped: u64 = ps.iter().map(|p| p.rx_dropped).sum();
    assert!(dropped > 0, "no refusals: {ps:?}");
    check_records(&c);
    eprintln!(
        "{} frames, {dropped} refused at full FIFO_MD, {} outputs, {} cycles, \
         {} retire records, {} cycle records, 0 mismatches",
        frames.len(),
        c.outputs,
        c.cycle(),
        c.retires,
        c.cycle_records
    );
}

/// Full-size frames at line rate on all four ports, arriving in step: the
/// egress stream serves the four engines one frame at a time, each frame
/// keeps its FIFO_MD words until sent, and the next frame is given words
/// the sent one still holds (each arrives once released). Nothing is lost,
/// in lockstep; `OUTARBFSMSTATE` (the engine being sent from) reads the
/// same on both sides mid-stream.
#[test]
fn full_size_frames_on_four_ports_share_the_egress_in_lockstep() {
    if !clang() {
        return;
    }
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &fixed(3)).unwrap();
    let mut frames = Vec::new();
    for i in 0..48u8 {
        let len = if i < 24 { 1500 } else { 1024 };
        frames.push((
            (i % 4) as usize,
            frame(i % 3, 1, [10, 0, 0, i], [10, 0, 1, 1], 17, 53, len),
        ));
    }
    let mut sending = std::collections::BTreeSet::new();
    offer(&mut c, &frames, |c| {
        if c.cycle().is_multiple_of(37) {
            sending.insert(c.read32(regs::OUTARBFSMSTATE).unwrap());
        } else {
            c.step().unwrap();
        }
    });
    while c.model.in_flight() > 0 {
        sending.insert(c.read32(regs::OUTARBFSMSTATE).unwrap());
    }
    c.drain(100_000).unwrap();
    assert_eq!(c.outputs, frames.len() as u64);
    let (_, ps) = read_counters(&mut c, 4).unwrap();
    assert!(ps.iter().all(|p| p.rx_dropped == 0), "{ps:?}");
    assert_eq!(ps[3].tx, frames.len() as u64);
    // Seen sending from every engine, and idle.
    assert_eq!(
        sending.into_iter().collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 0xf]
    );
}

/// Refused register accesses: the RTL device answers with the model's error
/// (AXI4-Lite SLVERR / DECERR, or the host side's FLIP check), and the two
/// stay in lockstep.
#[test]
fn register_errors_match_model() {
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    for (off, v) in [
        (regs::ID, 1),
        (regs::NUMINST, 5000),
        (regs::FLIP, 1),
        (0x3fc, 0),
        (regs::ACK, 1),
        (regs::CAMFULL, 1),
        (regs::WIDESTATUS, 1),
        (regs::MAPLOAD, (63 << 8) | 2),
        (regs::MAPROWTYPE, 1),
        (regs::MAPROWMAXELEMS, 1),
    ] {
        let m = c.model.write32(off, v).unwrap_err().to_string();
        let r = c.rtl.write32(off, v).unwrap_err().to_string();
        assert_eq!(m, r, "write of {v} to {off:#x}");
    }
    assert!(c.rtl.read32(0x3fc).is_err());
    // Map registers the RTL units refuse (mreg_err_o -> SLVERR): more maps
    // than the table holds, like the model.
    let n = nfbpf_vm::contract::MAX_MAPS as u32 + 1;
    assert!(c.model.write32(regs::NUMMAP, n).is_err());
    assert!(c.rtl.write32(regs::NUMMAP, n).is_err());
    // The wide-entry window on both: a lookup in a map that is not there
    // (WIDESTATUS polled until done: the RTL's coprocessor takes it). The
    // model is not stepped here: its host operations are done at their
    // write for this check (DevCosim runs them in the RTL's clocks).
    c.model.set_host_clocked(false);
    let sides: [&mut dyn RegisterBus; 2] = [&mut c.model, &mut c.rtl];
    for b in sides {
        b.write32(regs::MAPSELECT, 9).unwrap();
        b.write32(regs::WIDEKEY + 4, 7).unwrap();
        b.write32(regs::WIDEOP, 3).unwrap();
        let mut st = b.read32(regs::WIDESTATUS).unwrap();
        for _ in 0..100 {
            if st & 1 == 1 {
                break;
            }
            st = b.read32(regs::WIDESTATUS).unwrap();
        }
        assert_eq!(st, 1 | 2 << 16, "WIDESTATUS: done, ENOENT");
        assert_eq!(b.read32(regs::WIDEKEY + 4).unwrap(), 7);
    }
    assert_eq!(c.rtl.read32(regs::ID).unwrap(), regs::DEVICE_ID);
    // ABIMODE on an idle device: taken and read back on both (SUME again
    // after).
    for v in [1, 0] {
        c.write32(regs::ABIMODE, v).unwrap();
        assert_eq!(c.read32(regs::ABIMODE).unwrap(), v);
    }
    assert_eq!(c.rtl.read32(regs::NUMENGINES).unwrap(), 4);
    // A read samples the registers as they stand when it is issued (as the
    // model's), then takes three clocks.
    let before = c.rtl.cycle();
    assert_eq!(u64::from(c.rtl.read32(regs::CYCLELO).unwrap()), before);
    assert_eq!(c.rtl.cycle(), before + 3);
}

/// MAPLOAD on both devices in lockstep (the agent's double-buffered map
/// table): the next program placed at row 32 (`Image::at_map_row`), its
/// rows loaded beside the running program's (`device::load_rows`) and its
/// entries written through the wide-entry window; after the FLIP it routes
/// the traffic on its rows, then the old rows are emptied (`clear_rows`).
/// Every output, register read and refusal is compared.
#[test]
fn maps_load_beside_the_running_ones_match_model() {
    use nfbpf_loader::device::{clear_rows, flip, load_rows, lookup_entry, stage, update_entry};
    if !clang() {
        return;
    }
    let dir = common::program("");
    let old = load_file(&dir.join("ddos_sume.c"), &Options::default()).unwrap();
    let next = load_file(&dir.join("router_sume.c"), &Options::default()).unwrap();
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &old).unwrap();
    let kind = |img: &Image, m: u32| img.maps[m as usize].kind;
    let [(m, k, v)] = common::map_entries("ddos_sume").try_into().unwrap();
    update_entry(&mut c, m as usize, kind(&old, m), &k, &v).unwrap();
    let placed = next.at_map_row(32).unwrap();
    load_rows(&mut c, &placed).unwrap();
    stage(&mut c, &placed).unwrap();
    for (m, k2, v2) in common::map_entries("router_sume") {
        update_entry(&mut c, 32 + m as usize, kind(&next, m), &k2, &v2).unwrap();
    }
    assert_eq!(lookup_entry(&mut c, 0, &k, v.len()).unwrap(), Some(v));
    flip(&mut c).unwrap();
    let n = run_traffic(&mut c, &traffic());
    assert!(n > 0, "no output");
    clear_rows(&mut c, 0, old.maps.len()).unwrap();
    // Row 0 is gone (ENOENT: no such map), the running program's stay.
    assert_eq!(lookup_entry(&mut c, 0, &k, 1).unwrap(), None);
    let (m, k2, v2) = common::map_entries("router_sume").remove(0);
    assert_eq!(
        lookup_entry(&mut c, 32 + m as usize, &k2, v2.len()).unwrap(),
        Some(v2)
    );
    // A MAPLOAD past the table is refused by both.
    assert!(c.write32(regs::MAPLOAD, (63 << 8) | 2).is_err());
}

/// The map table read back (MAPSELECT, then MAPROWTYPE..MAPROWMAXELEMS)
/// on both devices in lockstep, every read compared: the rows a program's
/// load wrote, a row with a key and value wider than 8 bytes (KEYSIZEMAP,
/// VALUESIZEMAP), empty rows and indexes past the table (0), and the rows
/// MAPLOAD and CLEAN empty.
#[test]
fn map_table_reads_back_in_lockstep() {
    use nfbpf_loader::device::{TableRow, clear_rows, map_table, table_row};
    if !clang() {
        return;
    }
    let dir = common::program("");
    let img = load_file(&dir.join("router_sume.c"), &Options::default()).unwrap();
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    assert_eq!(map_table(&mut c).unwrap(), vec![], "empty at reset");
    program(&mut c, &img).unwrap();
    let want: Vec<(usize, TableRow)> = img
        .maps
        .iter()
        .enumerate()
        .map(|(i, m)| (i, TableRow::of(m)))
        .collect();
    assert_eq!(want[0].1.code, nfbpf_vm::contract::MAP_TYPE_LPM_TRIE);
    assert_eq!(map_table(&mut c).unwrap(), want);
    // A HASH row of 16-byte keys and 12-byte values at row 40, beside.
    c.write32(regs::MAPLOAD, (40 << 8) | 1).unwrap();
    c.write32(regs::TYPEMAP, nfbpf_vm::contract::MAP_TYPE_HASH)
        .unwrap();
    for r in [
        regs::HIKEYMASKMAP,
        regs::LOKEYMASKMAP,
        regs::HIVALUEMASKMAP,
        regs::LOVALUEMASKMAP,
    ] {
        c.write32(r, u32::MAX).unwrap();
    }
    c.write32(regs::KEYSIZEMAP, 16).unwrap();
    c.write32(regs::VALUESIZEMAP, 12).unwrap();
    c.write32(regs::MAXELEMSMAP, 5).unwrap();
    let wide = TableRow {
        code: nfbpf_vm::contract::MAP_TYPE_HASH,
        key_size: 16,
        value_size: 12,
        max_entries: 5,
    };
    assert_eq!(table_row(&mut c, 40).unwrap(), Some(wide));
    // Past the table and empty rows read 0 on every register.
    for row in [39, 41, 63, 64, 0xffff_ffff] {
        c.write32(regs::MAPSELECT, row).unwrap();
        for r in [
            regs::MAPROWTYPE,
            regs::MAPROWKEYSIZE,
            regs::MAPROWVALUESIZE,
            regs::MAPROWMAXELEMS,
        ] {
            assert_eq!(c.read32(r).unwrap(), 0, "row {row}, register {r:#x}");
        }
    }
    // MAPLOAD empties the program's rows, leaves row 40.
    clear_rows(&mut c, 0, img.maps.len()).unwrap();
    assert_eq!(map_table(&mut c).unwrap(), vec![(40, wide)]);
    // CLEAN empties the table.
    c.write32(regs::CLEAN, 1).unwrap();
    assert_eq!(map_table(&mut c).unwrap(), vec![]);
}

/// Drops decided from the metadata header alone (frames over 1000 bytes)
/// between packets to send, under heavy back-pressure: a dropped packet
/// behind retired ones waits its turn to be freed, still receiving its
/// words, while the stream is held.
#[test]
fn early_drops_behind_held_packets_match_model() {
    if !clang() {
        return;
    }
    let img = c_function(
        "big.c",
        "unsigned long long f(unsigned char *md) {\n\
         \tunsigned int len = md[11] | (md[12] << 8);\n\
         \treturn len > 1000 ? 0xfff0 : 1;\n}\n",
    );
    let mut frames = Vec::new();
    for i in 0..48u8 {
        let len = [1500, 64, 300, 1024][((i / 4 + i) % 4) as usize];
        frames.push((
            (i % 4) as usize,
            frame(i % 3, 1, [10, 0, 0, i], [10, 0, 1, 1], 17, 53, len),
        ));
    }
    let patterns = vec![(5, tready_random(5, 10)), (6, tready_bursty(6, 128, 20))];
    under_patterns(&img, &frames, patterns, |seed, n, es, ps| {
        let lost: u64 = ps.iter().map(|p| p.rx_dropped).sum();
        let dropped: u64 = es.iter().map(|e| e.dropped).sum();
        eprintln!(
            "pattern {seed}: {n} out, {dropped} dropped by the program, {lost} lost at the input"
        );
        assert_eq!(
            n + dropped + lost,
            frames.len() as u64,
            "pattern {seed}: {es:?} {ps:?}"
        );
    });
}

/// A map's entries read back by next-key scans (WIDEOP 4, each taking the
/// RTL's clocks to walk the storage) on both devices in lockstep: the
/// model's host operations run in the RTL's clocks
/// (`Device::set_host_clocked`), so every WIDESTATUS poll during a scan
/// reads busy on both sides until the same clock.
#[test]
fn map_entry_scans_poll_in_lockstep() {
    use nfbpf_loader::device::entries;
    if !clang() {
        return;
    }
    let dir = common::program("");
    let img = load_file(&dir.join("ddos_sume.c"), &Options::default()).unwrap();
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &img).unwrap();
    let mut want = Vec::new();
    for port in [443u16, 80, 22, 8080, 53] {
        let k = port.to_le_bytes().to_vec();
        map_update(&mut c, 0, &k, &[1]);
        want.push((k, vec![1u8]));
    }
    want.sort();
    let before = c.cycle();
    let mut got = entries(&mut c, 0, 2, 1).unwrap();
    let clocks = c.cycle() - before;
    got.sort();
    assert_eq!(got, want);
    // Six scans (five entries, then ENOENT) of the CAM's 64 rows, each
    // polled until done: at least six times a scan's clocks.
    let scan = nfbpf_vm::contract::scan_clocks(64);
    assert!(clocks >= 6 * scan, "{clocks} clocks, a scan {scan}");
}

/// Run traffic into engine 1's port until the co-simulation stops at a
/// difference (or give up); returns the mismatch message.
fn run_until_mismatch(c: &mut DevCosim) -> Option<String> {
    let f = frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 9, 64);
    for i in 0..2000u64 {
        if i % 20 == 0
            && c.port_free(1)
            && let Err(e) = c.rx(1, &f)
        {
            return Some(e);
        }
        if let Err(e) = c.step() {
            return Some(e);
        }
    }
    None
}

/// The comparator catches a difference: one retire record of the model
/// changed (the register value written), then one cycle record (the stall
/// cause of an idle engine). The run stops at that clock with both sides'
/// last clocks of the engine and writes a VCD of the RTL, named in the
/// message.
#[test]
fn injected_record_difference_is_caught_with_history_and_vcd() {
    if !clang() {
        return;
    }
    let tmpdir = tempfile::tempdir().unwrap();
    let vcd = tmpdir.path().join("inject.vcd");
    // A retire record: the first engine-1 instruction writing a register
    // after the program is loaded.
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &fixed(2)).unwrap();
    let _ = std::fs::remove_file(&vcd);
    c.set_vcd_path(&vcd);
    let mut hit = None;
    c.perturb_model_records(move |x| {
        if hit.is_none()
            && x.engine == 1
            && let Some(r) = x.retired.iter_mut().find(|r| r.reg.is_some())
        {
            if let Some((_, v)) = r.reg.as_mut() {
                *v ^= 1;
            }
            hit = Some(x.cycle.cycle);
        }
    });
    let e = run_until_mismatch(&mut c).expect("the changed retire record was not caught");
    assert!(e.contains("engine 1 retire records differ"), "{e}");
    assert!(e.contains("model, engine 1, last clocks:"), "{e}");
    assert!(e.contains("rtl, engine 1, last clocks:"), "{e}");
    assert!(e.contains("    retire\t"), "{e}");
    assert!(e.contains(&vcd.display().to_string()), "{e}");
    assert_eq!(c.vcd_written.as_deref(), Some(vcd.as_path()));
    let v = std::fs::read_to_string(&vcd).unwrap();
    assert!(
        v.contains("$enddefinitions") && v.contains("dbg_retire_o"),
        "VCD header"
    );
    assert!(
        v.lines().filter(|l| l.starts_with('#')).count() > 10,
        "VCD times"
    );
    eprintln!("caught:\n{e}");
    std::fs::remove_file(&vcd).unwrap();

    // A cycle record: engine 3 (port 3, no traffic) idle at clock 500.
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &fixed(2)).unwrap();
    c.set_vcd_path(&vcd);
    c.perturb_model_records(|x| {
        if x.engine == 3 && x.cycle.cycle == 500 {
            assert_eq!(x.cycle.stall, Stall::Idle);
            x.cycle.stall = Stall::None;
        }
    });
    let e = run_until_mismatch(&mut c).expect("the changed cycle record was not caught");
    assert!(e.contains("engine 3 cycle records differ"), "{e}");
    assert!(e.starts_with("cycle 501:"), "{e}");
    assert_eq!(
        c.cycle_records,
        4 * 500 + 3,
        "compared before the difference"
    );
    assert!(std::fs::metadata(&vcd).unwrap().len() > 0);
    std::fs::remove_file(&vcd).unwrap();
}

/// Back-pressure: the egress `tready` high in 50 % of the clocks at random
/// and in bursts (64-clock blocks, 60 % of them high), the same seeded
/// patterns on both sides: every output (with its `sent` clock), record,
/// input drop and counter equal, and the frames leave later than with
/// `tready` always 1.
#[test]
fn egress_back_pressure_matches_model() {
    back_pressure(&[(1, tready_random(1, 50)), (2, tready_bursty(2, 64, 60))]);
}

/// Heavier back-pressure (`tready` high in 20 % of the clocks, or in 25 %
/// of 128-clock blocks): the ring wraps onto the words of packets still
/// waiting for the stream, so a new packet's words wait for their release
/// (a word released in a clock is free from the next one, as the RTL's
/// registered valid bits) and an engine starts a packet only once its own
/// first word came, not on a valid bit a retired packet still holds.
#[test]
fn egress_heavy_back_pressure_matches_model() {
    back_pressure(&[(1, tready_random(1, 20)), (2, tready_bursty(2, 128, 25))]);
}

/// A function that reads the last byte of each frame (the word that
/// arrives last) and sends the frame to port 1 + its low bit: under heavy
/// back-pressure that word is often one a retired packet still holds, and
/// a read of it before it arrived would see that packet's bytes.
#[test]
fn last_byte_reads_under_back_pressure_wait_for_their_own_word() {
    if !clang() {
        return;
    }
    let img = c_function(
        "last.c",
        "unsigned long long f(unsigned char *md) {\n\
         \tunsigned int len = md[11] | (md[12] << 8);\n\
         \treturn 1 + (md[32 + len - 1] & 1);\n}\n",
    );
    let mut frames = Vec::new();
    for i in 0..32u8 {
        let len = [1500, 1024, 300, 64][(i % 4) as usize];
        let mut f = frame(i % 3, 1, [10, 0, 0, i], [10, 0, 1, 1], 17, 53, len);
        // Zero from byte 38 on but for the last: a byte of another packet
        // read in its place would most likely send the frame to port 1.
        f[len - 1] = 1;
        frames.push(((i % 4) as usize, f));
    }
    let patterns = vec![(3, tready_random(3, 15)), (4, tready_bursty(4, 256, 20))];
    under_patterns(&img, &frames, patterns, |seed, n, _, ps| {
        let dropped: u64 = ps.iter().map(|p| p.rx_dropped).sum();
        eprintln!("pattern {seed}: {n} frames out, {dropped} dropped");
        assert!(n > 0 && dropped > 0, "pattern {seed}: {ps:?}");
        assert_eq!(n + dropped, frames.len() as u64, "pattern {seed}: {ps:?}");
        assert_eq!((ps[1].tx, ps[2].tx), (0, n), "pattern {seed}: {ps:?}");
    });
}

fn back_pressure(patterns: &[(u64, nfbpf_vm::device::Tready)]) {
    if !clang() {
        return;
    }
    let mut frames = Vec::new();
    for i in 0..32u8 {
        let len = [64, 1500, 300, 1024][(i % 4) as usize];
        frames.push((
            (i % 4) as usize,
            frame(i % 3, 1, [10, 0, 0, i], [10, 0, 1, 1], 17, 53, len),
        ));
    }
    let mut clocks = Vec::new();
    let all = std::iter::once((0, None)).chain(patterns.iter().map(|(s, t)| (*s, Some(t.clone()))));
    for (seed, tready) in all {
        let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
        program(&mut c, &fixed(1)).unwrap();
        c.set_tready(tready);
        let start = c.cycle();
        let n = run_traffic(&mut c, &frames);
        let end = c.cycle();
        check_records(&c);
        // What the egress could not take in time is dropped at the input
        // (FIFO_MD full), the same on both sides.
        let (_, ps) = read_counters(&mut c, 4).unwrap();
        let dropped: u64 = ps.iter().map(|p| p.rx_dropped).sum();
        eprintln!(
            "pattern {seed}: {n} frames out, {dropped} dropped, {} clocks",
            end - start
        );
        assert!(n > 0, "pattern {seed}");
        assert_eq!(n + dropped, frames.len() as u64, "pattern {seed}: {ps:?}");
        assert_eq!(ps[1].tx, n, "pattern {seed}: {ps:?}");
        clocks.push(end - start);
    }
    assert!(clocks.iter().skip(1).all(|&c| c > clocks[0]), "{clocks:?}");
}

/// Random valid programs (`vm::pipeline::randprog`, every instruction
/// class, packet and stack accesses, faults, small budgets) run as XDP
/// programs on the device, model and RTL in lockstep: r6 is `xdp_md.data`
/// (the generator's prologue `mov r6, r1` becomes `ldxw r6, [r1 + 0]`), so
/// the packet accesses go through the context; the helper calls are
/// remapped to helpers the RTL runs in the XDP ABI (the timer, the PRNG,
/// `bpf_redirect`, the engine number, `xdp_get_buff_len`,
/// `xdp_adjust_head`: with r1 not the context, a helper fault); r0 at exit
/// is whatever the program left, so every verdict occurs. Each seed's
/// packet goes in on the four ports; 300 seeds, as many as the stream
/// tier's SUME programs (`NFBPF_RTL_XDP_SEEDS=N` runs more).
#[test]
fn random_xdp_programs_match_model() {
    use nfbpf_vm::contract;
    use nfbpf_vm::isa::Kind;
    use nfbpf_vm::pipeline::randprog;
    let seeds: u64 = env_count("NFBPF_RTL_XDP_SEEDS", 300);
    let ids = [
        contract::HELPER_KTIME_GET_NS,
        contract::HELPER_GET_PRANDOM_U32,
        contract::HELPER_REDIRECT,
        contract::HELPER_GET_SMP_PROCESSOR_ID,
        contract::HELPER_XDP_GET_BUFF_LEN,
        contract::HELPER_XDP_ADJUST_HEAD,
        contract::HELPER_CSUM_DIFF,
        contract::HELPER_XDP_LOAD_BYTES,
        contract::HELPER_XDP_STORE_BYTES,
        contract::HELPER_XDP_ADJUST_TAIL,
    ];
    let mut cycles = 0u64;
    // One device for every seed, each program written through the
    // registers and swapped in after the one before has drained.
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    c.write32(regs::ABIMODE, 1).unwrap();
    for seed in 0..seeds {
        let case = randprog::generate(seed);
        let mut insns = case.insns.clone();
        assert_eq!(insns[0], nfbpf_vm::build::mov64_reg(6, 1), "seed {seed}");
        insns[0] = nfbpf_vm::build::ldx(nfbpf_vm::isa::Width::W, 6, 1, 0);
        for k in 0..insns.len() {
            let remap = |id: i32| ids[id.unsigned_abs() as usize % ids.len()] as i32;
            if nfbpf_vm::build::is(&insns[k], Kind::Call) {
                insns[k].imm = remap(insns[k].imm);
            }
            if nfbpf_vm::build::is(&insns[k], Kind::Callx)
                && k > 0
                && insns[k - 1].dst == insns[k].dst
            {
                insns[k - 1].imm = remap(insns[k - 1].imm);
            }
        }
        // The loader's prologue: r1 the context, r10 the stack's top.
        let mut all = vec![
            nfbpf_vm::build::mov64_imm(1, contract::CTX_BASE as i32),
            nfbpf_vm::build::mov64_imm(10, contract::STACK_TOP as i32),
        ];
        all.extend(insns);
        let budget = case.budget.min(u64::from(u32::MAX)) as u32;
        write_and_flip(&mut c, &all, Some(budget), &format!("seed {seed}"));
        let frames: Vec<(usize, Vec<u8>)> = (0..4).map(|p| (p, case.packet.clone())).collect();
        let start = c.cycle();
        run_traffic(&mut c, &frames);
        cycles += c.cycle() - start;
    }
    let (es, _) = read_counters(&mut c, 4).unwrap();
    let faults: u64 = es.iter().map(|e| e.faults).sum();
    let outputs = c.outputs;
    check_records(&c);
    eprintln!(
        "{seeds} random XDP programs on the device: {cycles} clocks, {outputs} outputs, \
         {faults} faults, 0 mismatches"
    );
    assert!(
        outputs > 0 && faults > 0,
        "{outputs} outputs, {faults} faults"
    );
}

/// Random calls of the helpers over buffers in engine memory
/// (`csum_diff`, `xdp_load_bytes`, `xdp_store_bytes`, and
/// `xdp_adjust_tail` shrinking and growing the frame) with arguments that
/// mostly work: offsets and sizes around the packet's (past its end too,
/// and over 0xffff), buffers in the stack (some across its ends) and in
/// the packet (overlapping the copy's other end), the results stored into
/// the frame so the egress sends them; a random function of a few such
/// calls per seed on mixed traffic, in lockstep with the model
/// (`NFBPF_RTL_BUF_SEEDS=N` for more seeds).
#[test]
fn random_buffer_helper_calls_match_model() {
    use nfbpf_vm::build::{self as b};
    use nfbpf_vm::contract;
    use nfbpf_vm::isa::Width;
    use nfbpf_vm::pipeline::randprog::Rng;
    let seeds: u64 = env_count("NFBPF_RTL_BUF_SEEDS", 12);
    let frames: Vec<(usize, Vec<u8>)> = traffic().into_iter().take(16).collect();
    let (mut calls, mut outputs, mut faults) = (0u64, 0u64, 0u64);
    for seed in 0..seeds {
        let mut r = Rng::new(0xb0f5 + seed);
        // The loader's prologue (r1 the context, r10 the stack's top);
        // r6 = data, r9 = the context.
        let mut p = vec![
            b::mov64_imm(1, contract::CTX_BASE as i32),
            b::mov64_imm(10, contract::STACK_TOP as i32),
            b::mov64_reg(9, 1),
            b::ldx(Width::W, 6, 1, 0),
        ];
        let size = |r: &mut Rng| -> i32 {
            match r.below(20) {
                0 => 0,
                1..=8 => 1 + r.below(16) as i32,
                9..=15 => 17 + r.below(48) as i32,
                16..=18 => 65 + r.below(400) as i32,
                _ => *r.pick(&[0x10000, 1 << 20, -1, 4100]),
            }
        };
        // A buffer of `n` bytes: the stack (now and then across its top),
        // the packet from data (past its end on the shorter frames), or
        // the context (a helper fault on both: Linux's verifier refuses
        // it), or where no region is (buffers in map values:
        // xdp_buffer_helpers_on_map_values_match_model).
        let buf = |r: &mut Rng, reg: u8, n: i32, p: &mut Vec<nfbpf_vm::Insn>| match r.below(21) {
            0..=12 => {
                let below = if r.pct(90) {
                    n.clamp(0, 4096) + r.below(300) as i32
                } else {
                    1 + r.below(560) as i32
                };
                p.push(b::mov64_reg(reg, 10));
                p.push(b::add64_imm(reg, -below));
            }
            13..=18 => {
                p.push(b::mov64_reg(reg, 6));
                p.push(b::add64_imm(reg, r.below(64) as i32 - 4));
            }
            19 => p.push(b::mov64_imm(
                reg,
                contract::CTX_BASE as i32 + r.below(24) as i32,
            )),
            _ => p.push(b::mov64_imm(reg, 0x100)),
        };
        let n = 3 + r.below(6);
        for _ in 0..n {
            if r.pct(25) {
                // xdp_adjust_tail: shrink or grow (back into the room a
                // shrink left, or past the window: -EINVAL)
                p.push(b::mov64_reg(1, 9));
                p.push(b::mov64_imm(2, r.below(160) as i32 - 80));
                p.push(b::call(contract::HELPER_XDP_ADJUST_TAIL as i32));
            }
            match r.below(3) {
                0 => {
                    let (fs, ts) = (size(&mut r), size(&mut r));
                    buf(&mut r, 1, fs, &mut p);
                    p.push(b::mov64_imm(2, fs));
                    buf(&mut r, 3, ts, &mut p);
                    p.push(b::mov64_imm(4, ts));
                    p.push(b::mov64_imm(5, r.next_u64() as i32));
                    p.push(b::call(contract::HELPER_CSUM_DIFF as i32));
                }
                k => {
                    let len = size(&mut r);
                    buf(&mut r, 3, len, &mut p);
                    p.push(b::mov64_reg(1, 9));
                    if r.pct(5) {
                        p.push(b::mov64_imm(1, contract::STACK_BASE as i32));
                    }
                    p.push(b::mov64_imm(
                        2,
                        if r.pct(90) {
                            r.below(80) as i32
                        } else {
                            *r.pick(&[0x10000, 1500, 2000])
                        },
                    ));
                    p.push(b::mov64_imm(4, len));
                    let id = if k == 1 {
                        contract::HELPER_XDP_LOAD_BYTES
                    } else {
                        contract::HELPER_XDP_STORE_BYTES
                    };
                    p.push(b::call(id as i32));
                }
            }
            // The result into the frame's bytes 6..10 (every frame the
            // traffic sends has them).
            p.push(b::stx(Width::W, 6, 0, 6));
        }
        p.push(b::mov64_imm(0, contract::XDP_TX as i32));
        p.push(b::exit());
        calls += n;
        let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
        c.write32(regs::ABIMODE, 1).unwrap();
        write_and_flip(&mut c, &p, None, &format!("seed {seed}"));
        outputs += run_traffic(&mut c, &frames);
        let (es, _) = read_counters(&mut c, 4).unwrap();
        faults += es.iter().map(|e| e.faults).sum::<u64>();
        check_records(&c);
    }
    eprintln!(
        "{seeds} functions of {calls} buffer-helper calls on {} frames each: {outputs} outputs, \
         {faults} faults, 0 mismatches",
        frames.len()
    );
    assert!(
        outputs > 0 && faults > 0,
        "{outputs} outputs, {faults} faults"
    );
}

/// Random IPv4 traffic for the XDP map programs: sources and destinations
/// from a few hosts of the routes' networks and elsewhere (so map entries
/// repeat across engines and ports), TCP and UDP to a few ports, sizes from
/// 60 to 1500 bytes; a share of ARP frames and runts.
fn map_traffic(seed: u64, n: usize) -> Vec<(usize, Vec<u8>)> {
    let mut r = common::Rng(seed | 1);
    let hosts = [
        [10, 0, 0, 1],
        [10, 0, 3, 9],
        [10, 1, 2, 3],
        [10, 1, 200, 7],
        [192, 168, 7, 7],
        [172, 16, 0, 5],
    ];
    (0..n)
        .map(|i| {
            let port = i % 4;
            let f = match r.below(20) {
                0 => arp(),
                1 => vec![0x42; 20 + r.below(30) as usize],
                _ => frame(
                    r.below(4) as u8,
                    r.below(4) as u8,
                    r.pick(&hosts),
                    r.pick(&hosts),
                    r.pick(&[6, 17]),
                    r.pick(&[53, 80, 443, 9]),
                    r.pick(&[60, 64, 90, 128, 512, 1500]) as usize,
                ),
            };
            (port, f)
        })
        .collect()
}

/// Map entries of an XDP program of `programs/` for the map tests: by map
/// name, so the rows follow the image (key, value as the map's bytes).
fn xdp_map_entries(name: &str) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let lpm = |len: u32, net: [u8; 4]| {
        let mut k = len.to_le_bytes().to_vec();
        k.extend_from_slice(&net);
        k
    };
    match name {
        "router" => common::map_entries("router")
            .into_iter()
            .map(|(m, k, v)| (if m == 0 { "routes" } else { "tx_ports" }, k, v))
            .collect(),
        "flow_router" => vec![
            (
                "config",
                0u32.to_le_bytes().to_vec(),
                [1u32.to_le_bytes(), 3u32.to_le_bytes()].concat(),
            ),
            (
                "routes",
                lpm(16, [10, 1, 0, 0]),
                2u32.to_le_bytes().to_vec(),
            ),
            ("routes", lpm(8, [10, 0, 0, 0]), 1u32.to_le_bytes().to_vec()),
        ],
        "firewall" => vec![("blocked_ports", 80u16.to_be_bytes().to_vec(), vec![1])],
        _ => vec![],
    }
}

/// firewall.c's `struct flow_key` of an IPv4 TCP or UDP frame of
/// `map_traffic`: saddr, daddr, sport, dport as in the frame, the
/// protocol, three bytes of padding (16 bytes).
fn flow_key(f: &[u8]) -> Option<Vec<u8>> {
    if f.len() < 54 || f[12..14] != [0x08, 0x00] || !matches!(f[23], 6 | 17) {
        return None;
    }
    let mut k = f[26..34].to_vec();
    k.extend_from_slice(&f[34..38]);
    k.extend_from_slice(&[f[23], 0, 0, 0]);
    Some(k)
}

/// Entries of firewall.c's `flows` map that `frames` hit: the first ten
/// distinct 5-tuples not to the blocked port 80, verdict 1 (drop) and 0
/// (a hit that passes) in turn.
fn firewall_flows(frames: &[(usize, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (_, f) in frames {
        let Some(k) = flow_key(f) else { continue };
        if k[10..12] == 80u16.to_be_bytes() || out.iter().any(|(o, _)| *o == k) {
            continue;
        }
        let v = (out.len() as u32 + 1) % 2;
        out.push((k, v.to_le_bytes().to_vec()));
        if out.len() == 10 {
            break;
        }
    }
    out
}

/// An XDP counter of flows in a HASH map of 12-byte keys (destination
/// port and protocol in the first helper memory port word, the destination
/// address in the second): lookup, update with `BPF_NOEXIST`, an atomic add
/// through the value pointer, and a delete once a flow was counted three
/// times (so slots are freed and reused).
const XDP_WIDE_KEYS: &str = r#"
#include "nf_common.h"
struct wkey {
	__u16 dport;
	__u8 proto;
	__u8 pad;
	__u32 zero;
	__u32 daddr;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct wkey);
	__type(value, __u64);
	__uint(max_entries, 64);
} counts SEC(".maps");
SEC("xdp")
int wide(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 38 > end)
		return XDP_PASS;
	__u8 *p = data;
	if (p[12] != 0x08 || p[13] != 0x00)
		return XDP_PASS;
	struct wkey k = {};
	k.dport = p[36] | (p[37] << 8);
	k.proto = p[23];
	k.daddr = p[30] | (p[31] << 8) | (p[32] << 16) | ((__u32)p[33] << 24);
	__u64 *n = bpf_map_lookup_elem(&counts, &k);
	if (!n) {
		__u64 one = 1;
		if (bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST))
			return XDP_DROP;
		return XDP_PASS;
	}
	if (*n >= 3) {
		bpf_map_delete_elem(&counts, &k);
		return XDP_TX;
	}
	__sync_fetch_and_add(n, 1);
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// 12-byte HASH keys through pointers on the device (two helper memory
/// port words, the second one 4 bytes; updates whose value is read after
/// the key's second word), model and RTL in lockstep, the map read back
/// from both.
#[test]
fn xdp_wide_key_updates_match_model() {
    if !clang() {
        return;
    }
    let img = c_function("wide.c", XDP_WIDE_KEYS);
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &img).unwrap();
    let frames = map_traffic(12, 240);
    let n = run_traffic(&mut c, &frames);
    let (es, ps) = read_counters(&mut c, 4).unwrap();
    assert_eq!(ps.iter().map(|p| p.rx).sum::<u64>(), frames.len() as u64);
    assert_eq!(es.iter().map(|e| e.faults).sum::<u64>(), 0, "{es:?}");
    check_records(&c);
    let (i, m) = img.map("counts").unwrap();
    let e = nfbpf_loader::device::entries(&mut c, img.map_row(i), 12, 8).unwrap();
    // Flows counted (some deleted at their fourth frame and counted again).
    let total: u64 = e
        .iter()
        .map(|(_, v)| u64::from_le_bytes(v[..8].try_into().unwrap()))
        .sum();
    eprintln!(
        "wide keys: {} frames, {n} outputs, {} cycles, {} retire records, {} entries of \
         {:?} read back (counts {total}), 0 mismatches",
        frames.len(),
        c.cycle(),
        c.retires,
        e.len(),
        m.kind
    );
    assert!(!e.is_empty() && total > e.len() as u64, "{e:?}");
}

/// Updates with values over one helper memory port word: a 64-byte ARRAY
/// value from the stack and from another map value, a 48-byte HASH value
/// under a 16-byte key (two key words, six value words) and a 20-byte
/// LPM_TRIE value (a partial last word) read from the value memory. The
/// per-engine slots 8 + cpu are written only by their engine, so no value
/// is read while another engine writes it.
const XDP_WIDE_VALUES: &str = r#"
#include "nf_common.h"
struct wide { __u64 w[8]; };
struct flow { __u32 src, dst; __u16 sport, dport; __u8 proto, pad[3]; };
struct stats { __u64 pkts, bytes; __u32 last_len, ifindex; __u64 mix; __u32 tag, ret; __u64 first; };
struct lpm_key { __u32 prefixlen; __u32 addr; };
struct route { __u32 a, b, c, d, e; };
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct wide);
	__uint(max_entries, 16);
} slots SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow);
	__type(value, struct stats);
	__uint(max_entries, 16);
} flows SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, struct route);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

SEC("xdp")
int wide_values(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 64 > end)
		return XDP_DROP;
	__u8 *p = data;
	__u32 cpu = bpf_get_smp_processor_id() & 3;
	__u64 len = end - data;
	__u64 seed = ((__u64)p[26] << 40 | (__u64)p[29] << 24 | p[33] << 8 | p[37]) + len + cpu;
	struct wide w;
#pragma unroll
	for (int i = 0; i < 8; i++)
		w.w[i] = seed * (2 * i + 3) ^ (seed >> i);
	/* this engine's own slot, then a shared one from the stack or from it */
	__u32 mine_k = 8 + cpu;
	long r0 = bpf_map_update_elem(&slots, &mine_k, &w, BPF_ANY);
	struct wide *mine = bpf_map_lookup_elem(&slots, &mine_k);
	if (!mine)
		return XDP_ABORTED;
	__u32 k = (p[29] + p[33]) & 7;
	long r1 = bpf_map_update_elem(&slots, &k, (p[31] & 1) ? (void *)mine : (void *)&w,
				      (p[33] & 3) == 3 ? BPF_NOEXIST : BPF_ANY);
	/* the flow's statistics, read, changed and written back whole */
	struct flow f = {};
	f.src = p[29];
	f.dst = p[33];
	f.sport = p[35];
	f.dport = p[37];
	f.proto = p[23];
	struct stats ns = {};
	struct stats *s = bpf_map_lookup_elem(&flows, &f);
	if (s)
		__builtin_memcpy(&ns, s, sizeof(ns));
	else
		ns.first = len * 977 + cpu;
	ns.pkts++;
	ns.bytes += len;
	ns.last_len = len;
	ns.ifindex = ctx->ingress_ifindex;
	ns.mix = ns.mix * 31 + mine->w[p[32] & 7];
	ns.tag = p[40];
	ns.ret = (__u32)r1;
	long r2;
	if (ns.pkts >= 4)
		r2 = bpf_map_delete_elem(&flows, &f);
	else
		r2 = bpf_map_update_elem(&flows, &f, &ns, BPF_ANY);
	/* a route from this engine's slot: 20 bytes of the value memory */
	struct lpm_key lk = { 24 + (p[29] & 8), (__u32)p[33] << 24 | p[29] };
	long r3 = bpf_map_update_elem(&routes, &lk, mine, BPF_ANY);
	if (r3) {
		struct lpm_key old = { 24 + (p[41] & 8), (__u32)p[42] << 24 | 10 };
		bpf_map_delete_elem(&routes, &old);
	}
	struct route *rt = bpf_map_lookup_elem(&routes, &lk);
	__u32 e = rt ? rt->e : 0xffffffff;
	/* the answers into the frame, at 4-byte aligned offsets */
	__u32 *out = data + 44;
	out[0] = r0;
	out[1] = r1;
	out[2] = r2;
	out[3] = r3;
	out[4] = e;
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// [`XDP_WIDE_VALUES`] on four ports at line rate and under random
/// `tready`: every update reads its value a port word a clock after its
/// key and lands it whole at its answer (`contract::ptr_update_cycles`),
/// model and RTL in lockstep with every record compared; the three maps
/// read back from both, with the values' words past the first holding what
/// the program wrote.
#[test]
fn xdp_wide_value_updates_match_model() {
    if !clang() {
        return;
    }
    let img = c_function("wide_values.c", XDP_WIDE_VALUES);
    let frames = map_traffic(64, env_count("NFBPF_WIDE_VALUE_FRAMES", 400) as usize);
    for tready in [None, Some(tready_random(9, 60))] {
        let (mut c, n, es, ps) = lockstep(&img, &frames, tready);
        assert_eq!(es.iter().map(|e| e.faults).sum::<u64>(), 0, "{es:?}");
        assert_eq!(ps.iter().map(|p| p.rx).sum::<u64>(), frames.len() as u64);
        let mut read = |name: &str| {
            let (i, m) = img.map(name).unwrap();
            let (ks, vs) = (m.key_size as usize, m.value_size as usize);
            nfbpf_loader::device::entries(&mut c, img.map_row(i), ks, vs).unwrap()
        };
        let slots = read("slots");
        let flows = read("flows");
        let routes = read("routes");
        // Every slot's last word written (the shared ones from the stack or
        // from a per-engine slot), and every engine's own.
        let last = |v: &[u8], at: usize| u64::from_le_bytes(v[at..at + 8].try_into().unwrap());
        let own = slots
            .iter()
            .filter(|(k, v)| k[0] >= 8 && last(v, 56) != 0)
            .count();
        assert_eq!(own, 4, "{slots:02x?}");
        assert!(
            slots
                .iter()
                .filter(|(k, v)| k[0] < 8 && last(v, 56) != 0)
                .count()
                >= 4
        );
        // Flow statistics: packets 1..3 and the byte count, words 0 and 1.
        assert!(!flows.is_empty());
        for (k, v) in &flows {
            assert_eq!(k.len(), 16);
            assert!((1..4).contains(&last(v, 0)) && last(v, 8) >= 60, "{v:02x?}");
        }
        // Routes: 20 bytes each, the last 4 from the slot's third word.
        assert!(!routes.is_empty());
        assert!(
            routes
                .iter()
                .all(|(_, v)| v.len() == 20 && v[16..].iter().any(|&b| b != 0))
        );
        eprintln!(
            "wide values: {} frames, {n} outputs, {} cycles, {} retire records, {} slots, {} \
             flows, {} routes read back, 0 mismatches",
            frames.len(),
            c.cycle(),
            c.retires,
            slots.len(),
            flows.len(),
            routes.len()
        );
    }
}

/// Map updates whose arguments come from random frame bytes: four maps of
/// 64-, 40-, 24- and 12-byte values (ARRAY, HASH under 16- and 8-byte
/// keys, LPM_TRIE), each value read from the stack (now and then across
/// its top: the later words fault), the packet (past `data_end` on the
/// shorter frames), the engine's own map value at any byte offset, or the
/// context (a fault on both), with every flag value (3 is EINVAL), and
/// deletes between. The own values are the slot pair 8 + 2 * cpu that
/// only that engine writes, so nothing is read while another engine
/// writes it.
const XDP_RANDOM_UPDATES: &str = r#"
#include "nf_common.h"
struct v64 { __u64 w[8]; };
struct k16 { __u32 w[4]; };
struct v40 { __u8 b[40]; };
struct v24 { __u8 b[24]; };
struct lk { __u32 plen, addr; };
struct v12 { __u8 b[12]; };
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct v64);
	__uint(max_entries, 16);
} a64 SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct k16);
	__type(value, struct v40);
	__uint(max_entries, 16);
} h40 SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct v24);
	__uint(max_entries, 32);
} h24 SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lk);
	__type(value, struct v12);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} l12 SEC(".maps");

static __always_inline long one(struct xdp_md *ctx, __u8 *p, __u8 *stack, __u8 *mine)
{
	void *data = (void *)(long)ctx->data;
	__u8 sel = p[0], off = p[1], m = p[2];
	void *v;
	switch (sel & 7) {
	case 0:
	case 1:
	case 2:
		v = stack + (off & 63);
		break;
	case 3:
	case 4:
		v = data + off;
		break;
	case 5:
		v = mine + (off & 63);
		break;
	case 6:
		v = ctx;
		break;
	default:
		v = stack + 64 + (off & 127);
	}
	__u64 flags = m >> 6;
	switch (m & 3) {
	case 0: {
		__u32 k = (m >> 2) & 7;
		return bpf_map_update_elem(&a64, &k, v, flags);
	}
	case 1: {
		struct k16 k = { p[3] & 3, (m >> 2) & 1, 0, p[4] & 1 };
		if (sel & 0x80)
			return bpf_map_delete_elem(&h40, &k);
		return bpf_map_update_elem(&h40, &k, v, flags);
	}
	case 2: {
		__u64 k = (m >> 2) & 15;
		if (sel & 0x80)
			return bpf_map_delete_elem(&h24, &k);
		return bpf_map_update_elem(&h24, &k, v, flags);
	}
	default: {
		struct lk k = { 16 + (m & 12), (__u32)p[3] << 24 | 10 };
		if (sel & 0x80)
			return bpf_map_delete_elem(&l12, &k);
		return bpf_map_update_elem(&l12, &k, v, flags);
	}
	}
}

SEC("xdp")
int random_updates(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 64 > end)
		return XDP_DROP;
	__u8 *p = data;
	__u32 cpu = bpf_get_smp_processor_id() & 3;
	__u64 seed = (__u64)p[20] << 32 | p[21] << 16 | p[22] << 8 | p[23];
	__u64 stack[8];
#pragma unroll
	for (int i = 0; i < 8; i++)
		stack[i] = seed * (i + 1) + cpu;
	__u32 mk = 8 + 2 * cpu;
	__u8 *mine = bpf_map_lookup_elem(&a64, &mk);
	if (!mine)
		return XDP_ABORTED;
	((__u64 *)mine)[p[24] & 15] = seed ^ p[25];
	__u32 *out = data + 48;
	out[0] = one(ctx, p + 26, (__u8 *)stack, mine);
	out[1] = one(ctx, p + 31, (__u8 *)stack, mine);
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// [`XDP_RANDOM_UPDATES`] on random frames at line rate and under random
/// `tready`: model and RTL in lockstep with every record compared, then
/// the four maps read back from both. `NFBPF_RANDOM_UPDATE_FRAMES` sets
/// the frames of each of the three traffic seeds (default 500).
#[test]
fn random_wide_value_updates_match_model() {
    if !clang() {
        return;
    }
    let img = c_function("random_updates.c", XDP_RANDOM_UPDATES);
    let n = env_count("NFBPF_RANDOM_UPDATE_FRAMES", 500) as usize;
    let (mut outputs, mut faults, mut entries) = (0u64, 0u64, 0usize);
    for (seed, tready) in [(5, None), (6, Some(tready_random(3, 65))), (7, None)] {
        let (mut c, out, es, _) = lockstep(&img, &random_frames(seed, n), tready);
        outputs += out;
        faults += es.iter().map(|e| e.faults).sum::<u64>();
        for name in ["a64", "h40", "h24", "l12"] {
            let (i, m) = img.map(name).unwrap();
            let (ks, vs) = (m.key_size as usize, m.value_size as usize);
            let e = nfbpf_loader::device::entries(&mut c, img.map_row(i), ks, vs).unwrap();
            assert!(e.iter().all(|(_, v)| v.len() == vs), "{name}");
            entries += e.len();
        }
    }
    eprintln!(
        "random wide-value updates: 3 x {n} frames, {outputs} outputs, {faults} faults, \
         {entries} entries read back, 0 mismatches"
    );
    assert!(
        outputs > 0 && faults > 0,
        "{outputs} outputs, {faults} faults"
    );
}

/// `programs/lambda_gray.c` on the RTL device as the agent would send it
/// requests: its lambda port from `.rodata` (read through the value
/// memory), a loop over up to 256 RGBA pixels of a frame of up to 1,082
/// bytes under the lambda budget the agent sets, the answer written over
/// the request and the frame shortened (`xdp_adjust_tail`), on four ports
/// with ARP and requests for another lambda between; model and RTL in
/// lockstep, and every answer's pixels the grayscale computed here.
#[test]
fn lambda_gray_answers_on_the_rtl() {
    use common::lambda::{Req, gray, request};
    use nfbpf_vm::contract;
    use nfbpf_vm::device::Dest;
    if !clang() {
        return;
    }
    let opts = Options {
        include_dirs: vec![common::program("include")],
        ..Options::default()
    };
    let img = load_file(&common::program("lambda_gray.c"), &opts)
        .unwrap()
        .with_budget(Some(contract::LAMBDA_INSN_BUDGET as u32));
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &img).unwrap();
    c.keep_outputs();
    let mut rng = common::Rng(0x6a7e);
    let mut frames = Vec::new();
    let mut want = std::collections::BTreeMap::new();
    for i in 0..24u32 {
        let n = [1usize, 2, 7, 64, 255, 256][i as usize % 6];
        let pixels: Vec<u8> = (0..4 * n).map(|_| rng.next() as u8).collect();
        let r = Req {
            request_id: 0x600 + i,
            ..Req::to(contract::LAMBDA_ID_GRAY)
        };
        frames.push((i as usize % 4, request(&r, &pixels)));
        want.insert(
            r.request_id,
            pixels.chunks(4).map(gray).collect::<Vec<u8>>(),
        );
        if i % 3 == 0 {
            frames.push(((i as usize + 1) % 4, common::arp()));
            let other = Req::to(contract::LAMBDA_ID_WEB);
            frames.push(((i as usize + 2) % 4, request(&other, b"GET / HTTP/1.0\r\n")));
        }
    }
    // Four frames at a time at line rate, then drained: a 256-pixel
    // request keeps its engine some 3,000 clocks, so more at once would
    // overflow FIFO_MD.
    for group in frames.chunks(4) {
        run_traffic(&mut c, group);
    }
    check_records(&c);
    let (es, ps) = read_counters(&mut c, 4).unwrap();
    assert_eq!(es.iter().map(|e| e.faults).sum::<u64>(), 0, "{es:?}");
    assert_eq!(ps.iter().map(|p| p.rx_dropped).sum::<u64>(), 0, "{ps:?}");
    let mut answered = 0;
    for o in c.take_outputs() {
        if !matches!(o.dest, Dest::Port(_)) {
            continue;
        }
        let f = &o.frame;
        let id = u32::from_be_bytes(f[50..54].try_into().unwrap());
        let w = want
            .get(&id)
            .unwrap_or_else(|| panic!("answer to request {id:#x}?"));
        assert_eq!(&f[58..], &w[..], "request {id:#x}");
        answered += 1;
    }
    assert_eq!(answered, want.len());
    eprintln!(
        "lambda_gray on the RTL: {} frames, {answered} answers checked, {} cycles, {} retire \
         records, 0 mismatches",
        frames.len(),
        c.cycle(),
        c.retires
    );
}

/// The XDP programs of `programs/` with maps on the device, model and RTL
/// in lockstep: map helpers through pointers (keys on the stack, values in
/// the units' value memory, reached by the engines' loads, stores and
/// atomics), `bpf_redirect_map`, maps filled through the wide-entry window
/// as the programs need; random traffic on four ports, every retire and
/// cycle record compared, then each map's entries read back from both.
#[test]
fn xdp_map_programs_match_model() {
    if !clang() {
        return;
    }
    let include = common::program("include");
    let opts = Options {
        include_dirs: vec![include],
        ..Options::default()
    };
    let only = std::env::var("NFBPF_XDP_MAP_ONLY").ok();
    for name in ["l2_switch", "ddos", "router", "flow_router", "firewall"] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let img = load_file(&common::program(&format!("{name}.c")), &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
        program(&mut c, &img).unwrap_or_else(|e| panic!("{name}: {e}"));
        let count = env_count("NFBPF_XDP_MAP_FRAMES", 120);
        let frames = map_traffic(name.len() as u64, count as usize);
        let mut entries = xdp_map_entries(name);
        // firewall: the frames it drops (to port 80, or a flow of verdict 1).
        let mut drops = None;
        if name == "firewall" {
            // 16-byte 5-tuple keys (two helper memory port words, a wide
            // CAM entry), put in through the wide-entry window.
            let flows = firewall_flows(&frames);
            let hits = frames
                .iter()
                .filter(|(_, f)| flow_key(f).is_some_and(|k| flows.iter().any(|(o, _)| *o == k)))
                .count();
            eprintln!("firewall: {} flows, {hits} frames hit one", flows.len());
            assert!(flows.len() == 10 && hits >= 10, "{hits}");
            drops = Some(
                frames
                    .iter()
                    .filter_map(|(_, f)| flow_key(f))
                    .filter(|k| {
                        k[10..12] == 80u16.to_be_bytes()
                            || flows.iter().any(|(o, v)| o == k && v[0] == 1)
                    })
                    .count() as u64,
            );
            entries.extend(flows.into_iter().map(|(k, v)| ("flows", k, v)));
        }
        for (map, k, v) in entries {
            let (i, m) = img
                .map(map)
                .unwrap_or_else(|| panic!("{name}: no map {map}"));
            nfbpf_loader::device::update_entry(&mut c, img.map_row(i), m.kind, &k, &v)
                .unwrap_or_else(|e| panic!("{name}: {map}: {e}"));
        }
        let n = run_traffic(&mut c, &frames);
        let (es, ps) = read_counters(&mut c, 4).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rx: u64 = ps.iter().map(|p| p.rx).sum();
        assert_eq!(rx, frames.len() as u64, "{name}: {ps:?}");
        let faults: u64 = es.iter().map(|e| e.faults).sum();
        assert_eq!(faults, 0, "{name}: {es:?}");
        if let Some(d) = drops {
            // Every other frame passes to the host.
            assert_eq!(n, frames.len() as u64 - d, "{name}: {d} drops expected");
        }
        check_records(&c);
        let mut entries = 0;
        for (i, m) in img.maps.iter().enumerate() {
            let (ks, vs) = (m.def.key_size as usize, m.def.value_size as usize);
            let e = nfbpf_loader::device::entries(&mut c, img.map_row(i), ks, vs)
                .unwrap_or_else(|e| panic!("{name}: {}: {e}", m.name));
            entries += e.len();
        }
        eprintln!(
            "{name}: {} frames, {n} outputs, {} cycles, {} retire records, {} cycle records, \
             {entries} map entries read back, 0 mismatches",
            frames.len(),
            c.cycle(),
            c.retires,
            c.cycle_records
        );
        assert!(n > 0 && entries > 0, "{name}");
    }
}

/// `bpf_redirect_map` on a DEVMAP with and without `BPF_F_BROADCAST`
/// (found or not, with `BPF_F_EXCLUDE_INGRESS`), a map miss that clears an
/// earlier `bpf_redirect`'s target, and a `bpf_redirect` after a broadcast.
const XDP_BCAST: &str = r#"
#include "nf_common.h"
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 4);
} ports SEC(".maps");

SEC("xdp")
int bcast(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 len = end - data;
	__u32 in = ctx->ingress_ifindex;

	switch ((len + in) % 5) {
	case 0:
		return bpf_redirect_map(&ports, in, BPF_F_BROADCAST);
	case 1:
		return bpf_redirect_map(&ports, 7, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	case 2:
		return bpf_redirect_map(&ports, in & 1, XDP_PASS);
	case 3:
		bpf_redirect(in ^ 1, 0);
		return bpf_redirect_map(&ports, 9, XDP_DROP);
	default:
		bpf_redirect_map(&ports, 0, BPF_F_BROADCAST);
		return bpf_redirect(in ^ 2, 0);
	}
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// `BPF_F_BROADCAST` floods the packet on both sides (every port but its
/// input one), found in the DEVMAP or not; the other redirect paths of
/// [`XDP_BCAST`] in the same run: every retire and cycle record compared.
#[test]
fn xdp_broadcast_redirect_matches_model() {
    if !clang() {
        return;
    }
    let img = c_function("bcast.c", XDP_BCAST);
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &img).unwrap();
    let (i, m) = img.map("ports").unwrap();
    nfbpf_loader::device::update_entry(
        &mut c,
        img.map_row(i),
        m.kind,
        &0u32.to_le_bytes(),
        &2u32.to_le_bytes(),
    )
    .unwrap();
    let frames = map_traffic(11, 200);
    let n = run_traffic(&mut c, &frames);
    let (es, ps) = read_counters(&mut c, 4).unwrap();
    assert_eq!(es.iter().map(|e| e.faults).sum::<u64>(), 0, "{es:?}");
    check_records(&c);
    // Floods count on three ports each: more frames leave than arrive
    // through the redirects, and every port sends.
    let tx: u64 = ps.iter().map(|p| p.tx).sum();
    assert!(ps.iter().all(|p| p.tx > 0), "{ps:?}");
    eprintln!(
        "bcast: {} frames, {n} outputs, {tx} port transmissions, {} cycles, 0 mismatches",
        frames.len(),
        c.cycle()
    );
    assert!(tx > n, "{tx} transmissions for {n} outputs: no flood");
}

/// A LOINST that comes while an engine still runs a packet on the idle bank
/// (just after a FLIP) misses that bank on the RTL, which writes each
/// instruction through to it: the next FLIP is refused on both devices even
/// once the engine is done, until the program is written again from
/// WRINST 0; then it is taken on both.
#[test]
fn a_loinst_the_idle_bank_missed_refuses_the_flip_on_both() {
    use nfbpf_vm::build::{add64_imm, exit, jmp_imm, mov64_imm};
    use nfbpf_vm::isa::Cond;
    let write = |c: &mut DevCosim, prog: &[nfbpf_vm::Insn]| write_insns(c, prog, Some(2000));
    // About 1,000 instructions per packet (BUDGET 2,000); then port 1.
    let slow = [
        mov64_imm(2, 0),
        add64_imm(2, 1),
        jmp_imm(Cond::Lt, true, 2, 500, -2),
        mov64_imm(0, 1),
        exit(),
    ];
    let quick = [mov64_imm(0, 2), exit()];
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    write(&mut c, &slow);
    c.write32(regs::FLIP, 1).unwrap();
    let f = frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 9, 64);
    assert!(c.rx(0, &f).unwrap());
    for _ in 0..50 {
        c.step().unwrap();
    }
    // The slow program's packet runs on bank A; `quick` goes to bank B and
    // becomes active, so A is the idle bank, still running the packet.
    write(&mut c, &quick);
    c.write32(regs::FLIP, 1).unwrap();
    write(&mut c, &quick);
    c.drain(100_000).unwrap();
    let e = c.write32(regs::FLIP, 1).unwrap_err().to_string();
    assert!(e.contains("WRINST 0") && e.contains("retry"), "{e}");
    write(&mut c, &quick);
    c.write32(regs::FLIP, 1).unwrap();
    assert!(c.rx(0, &f).unwrap());
    c.drain(100_000).unwrap();
    assert_eq!(c.outputs, 2);
    check_records(&c);
}

/// `xdp_adjust_head` with metadata before `data` (4..32 bytes by the
/// frame's length and port, set by `xdp_adjust_meta`): the head moves down
/// and up by deltas smaller and larger than the metadata (overlapping moves
/// both ways, at offsets that are not whole port words), and once out of
/// bounds (-EINVAL, nothing moves); the metadata read back at the new
/// `data_meta` must be what was written (else XDP_ABORTED) and is copied
/// into the frame the egress sends (`xdp_store_bytes` from the headroom),
/// with its length.
const XDP_HEAD_META: &str = r#"
#include "nf_common.h"
static __always_inline __u32 mword(__u32 len, __u32 i)
{
	return (len * 0x01000193u) ^ (i * 0x9e3779b9u) ^ 0x5a5a0000u;
}
SEC("xdp")
int head_meta(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 in = ctx->ingress_ifindex;
	int m = 4 * (1 + ((len + in) & 7));
	if (len < 72)
		return XDP_DROP;
	if (bpf_xdp_adjust_meta(ctx, -m))
		return XDP_ABORTED;
	__u32 *mw = (void *)(long)ctx->data_meta;
	void *data = (void *)(long)ctx->data;
#pragma unroll
	for (int i = 0; i < 8; i++)
		if ((void *)(mw + i + 1) <= data)
			mw[i] = mword(len, i);
	if (bpf_xdp_adjust_head(ctx, -(int)((len * 3 + in) % 45)))
		return XDP_ABORTED;
	if (bpf_xdp_adjust_head(ctx, 1 + (int)(len % 23)))
		return XDP_ABORTED;
	if (bpf_xdp_adjust_head(ctx, -(int)(1 + (len % 9))))
		return XDP_ABORTED;
	if (bpf_xdp_adjust_head(ctx, 4 * (int)(in + 1)))
		return XDP_ABORTED;
	if (bpf_xdp_adjust_head(ctx, -300) != -22)
		return XDP_ABORTED;
	mw = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data - (void *)mw != m)
		return XDP_ABORTED;
	if (data + 34 > end)
		return XDP_DROP;
#pragma unroll
	for (int i = 0; i < 8; i++)
		if ((void *)(mw + i + 1) <= data && mw[i] != mword(len, i))
			return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, mw, m))
		return XDP_ABORTED;
	((__u8 *)data)[32] = (__u8)m;
	return (in & 1) ? XDP_PASS : XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// [`XDP_HEAD_META`] on frames of every metadata length, under random and
/// bursty `tready`: every retire and cycle record equal, every frame out
/// (none aborted), the same bytes on both sides.
#[test]
fn xdp_adjust_head_moves_metadata_in_lockstep() {
    if !clang() {
        return;
    }
    let img = c_function("head_meta.c", XDP_HEAD_META);
    let mut frames = Vec::new();
    for i in 0..40u8 {
        let len = 72 + 5 * i as usize + (i as usize % 3) * 200;
        frames.push((
            (i % 4) as usize,
            frame(i % 3, 1, [10, 0, 0, i], [10, 0, 1, 1], 17, 53, len),
        ));
    }
    // Too short for the moves: dropped by the function.
    frames.push((1, frame(0, 1, [10, 0, 0, 99], [10, 0, 1, 1], 17, 53, 64)));
    let patterns = vec![(7, tready_random(7, 30)), (8, tready_bursty(8, 128, 40))];
    under_patterns(&img, &frames, patterns, |seed, n, es, ps| {
        let faults: u64 = es.iter().map(|e| e.faults).sum();
        // XDP_DROP (the short frame) and XDP_ABORTED (metadata not as
        // written) are the engines' drops; FIFO_MD full the ports'.
        let dropped: u64 = es.iter().map(|e| e.dropped).sum();
        let full: u64 = ps.iter().map(|p| p.rx_dropped).sum();
        eprintln!(
            "pattern {seed}: {n} frames out, {dropped} dropped by the function, {full} at \
             FIFO_MD full, {faults} faults, 0 mismatches"
        );
        assert_eq!(faults, 0, "pattern {seed}: {es:?}");
        assert!(dropped <= 1 && n >= 20, "pattern {seed}: {es:?}");
        assert_eq!(
            n + dropped + full,
            frames.len() as u64,
            "pattern {seed}: {ps:?}"
        );
    });
}

/// The helpers over buffers with their buffers in a map value (an ARRAY's
/// 48-byte values, two slots the engines share, so one engine's stores and
/// copies land while another's helper reads the same value):
/// `xdp_load_bytes` into the value at odd offsets, stores and an atomic
/// beside it, `csum_diff` over the value (two buffers, and one), and
/// `xdp_store_bytes` from the value into the frame with the sums.
const XDP_MAP_BUFS: &str = r#"
#include "nf_common.h"
struct val {
	__u8 b[48];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct val);
	__uint(max_entries, 4);
} bufs SEC(".maps");

SEC("xdp")
int map_bufs(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 in = ctx->ingress_ifindex;
	if (len < 64)
		return XDP_DROP;
	__u32 k = len & 1;
	struct val *v = bpf_map_lookup_elem(&bufs, &k);
	if (!v)
		return XDP_ABORTED;
	if (bpf_xdp_load_bytes(ctx, 6 + (len % 7), v->b + (in & 3), 37))
		return XDP_ABORTED;
	v->b[40 + (in & 3)] = (__u8)len;
	__sync_fetch_and_add((__u32 *)&v->b[44], 1);
	__u32 sums[2];
	sums[0] = bpf_csum_diff((__be32 *)v->b, 20, (__be32 *)(v->b + 20), 28, len);
	sums[1] = bpf_csum_diff(0, 0, (__be32 *)(v->b + (in & 3) * 4), 23, 0);
	if (bpf_xdp_store_bytes(ctx, 14, v->b + 3, 33))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 50, sums, 8))
		return XDP_ABORTED;
	return (in & 1) ? XDP_PASS : XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// [`XDP_MAP_BUFS`] at line rate on four ports (and under random
/// `tready`): every retire and cycle record equal, no faults, every frame
/// out, and the map's values read back from both alike.
#[test]
fn xdp_buffer_helpers_on_map_values_match_model() {
    if !clang() {
        return;
    }
    let img = c_function("map_bufs.c", XDP_MAP_BUFS);
    let mut frames = Vec::new();
    for i in 0..48u8 {
        let len = 64 + 3 * i as usize + (i as usize % 5) * 97;
        frames.push((
            (i % 4) as usize,
            frame(i % 3, 1, [10, 0, 0, i], [10, 0, 1, 1], 17, 53, len),
        ));
    }
    for tready in [None, Some(tready_random(9, 40))] {
        let (mut c, n, es, ps) = lockstep(&img, &frames, tready);
        let faults: u64 = es.iter().map(|e| e.faults).sum();
        assert_eq!(faults, 0, "{es:?}");
        // Every frame the engines took is out; the rest found FIFO_MD full.
        let dropped: u64 = ps.iter().map(|p| p.rx_dropped).sum();
        assert_eq!(n + dropped, frames.len() as u64, "{es:?} {ps:?}");
        let (i, _) = img.map("bufs").unwrap();
        let e = nfbpf_loader::device::entries(&mut c, img.map_row(i), 4, 48).unwrap();
        assert_eq!(e.len(), 4, "{e:?}");
        let count = |v: &[u8]| u32::from_le_bytes(v[44..48].try_into().unwrap());
        let total: u32 = e.iter().map(|(_, v)| count(v)).sum();
        assert_eq!(u64::from(total), n, "{e:?}");
        eprintln!(
            "map buffers: {} frames, {n} outputs, {dropped} dropped, {} cycles, {} retire \
             records, values {:02x?}, 0 mismatches",
            frames.len(),
            c.cycle(),
            c.retires,
            e.iter().map(|(_, v)| &v[..8]).collect::<Vec<_>>()
        );
    }
}

/// Four engines copying packet bytes into one 8-byte map value
/// (`bpf_xdp_load_bytes`, one port word) and updating it
/// (`bpf_map_update_elem`), each load of the value after the copy going
/// into the frame, with delays from the frame's bytes 40..43 between the
/// calls: on line-rate traffic of mixed lengths the writes of two
/// engines often land in one clock on the same bytes, two copies or a
/// copy and an update, in either order of the calls.
const XDP_SAME_CLOCK: &str = r#"
#include "nf_common.h"
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} shared SEC(".maps");

/* A delay of 0 to 21 instructions (and its branches) from a packet byte. */
#define DELAY(b)                          \
	do {                              \
		if ((b) & 1)              \
			d++;              \
		if ((b) & 2) {            \
			d++;              \
			d++;              \
		}                         \
		if ((b) & 4) {            \
			d++;              \
			d++;              \
			d++;              \
			d++;              \
		}                         \
	} while (0)

SEC("xdp")
int same_clock(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 64 > end)
		return XDP_DROP;
	__u8 *p = data;
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&shared, &k);
	if (!v)
		return XDP_ABORTED;
	volatile __u32 d = 0;
	DELAY(p[40]);
	if (bpf_xdp_load_bytes(ctx, 26 + (p[29] & 7), v, 8))
		return XDP_ABORTED;
	__u64 x = *(volatile __u64 *)v;
	__u64 nv = x * 31 + ctx->ingress_ifindex + (__u64)(end - data);
	DELAY(p[41]);
	if (bpf_map_update_elem(&shared, &k, &nv, BPF_ANY))
		return XDP_ABORTED;
	DELAY(p[42]);
	if (bpf_xdp_load_bytes(ctx, 30 + (p[33] & 3), v, 8))
		return XDP_ABORTED;
	__u64 y = *(volatile __u64 *)v;
	__builtin_memcpy(data + 14, &x, 8);
	__builtin_memcpy(data + 22, &y, 8);
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// [`XDP_SAME_CLOCK`] on four ports at line rate (and under random
/// `tready`): where an update's value and a copy's word, or two engines'
/// copy words, land in one clock on the same bytes, the model keeps the
/// bytes the RTL's value memory keeps (the update's first, then the copies
/// in engine index order: `vm::units::DeviceState::land_pending`), so
/// every retire and cycle record, every frame out and the value read back
/// agree. `NFBPF_SAME_CLOCK_FRAMES` sets the frames (default 1200). With
/// the default frames each pattern had 18 pairs of writes landing in one
/// clock on the value, 7 of them in the order the model used to get wrong
/// (4 a copy called before an update, 3 a higher engine's copy called
/// before a lower one's; counted with a print in the model's pushes), and
/// landing them in the calls' order failed here at the first such pair
/// (cycle 7898, a load of the value differing).
#[test]
fn xdp_same_clock_value_writes_match_model() {
    if !clang() {
        return;
    }
    let img = c_function("same_clock.c", XDP_SAME_CLOCK);
    let count = env_count("NFBPF_SAME_CLOCK_FRAMES", 1200);
    let mut frames = Vec::new();
    for i in 0..count {
        let len = 100 + (i as usize * 37) % 301 + (i as usize % 3) * 5;
        let b = i as u8;
        let mut f = frame(
            b % 3,
            1,
            [10, b, b ^ 0x5a, b.wrapping_mul(7)],
            [10, 0, 1, b],
            17,
            53,
            len,
        );
        // The program's three delays.
        f[40..43].copy_from_slice(&[
            b.wrapping_mul(13) >> 2,
            b.wrapping_mul(7) ^ 0x33,
            b.wrapping_mul(5) >> 3,
        ]);
        frames.push(((i % 4) as usize, f));
    }
    for tready in [None, Some(tready_random(5, 70))] {
        let (mut c, n, es, ps) = lockstep(&img, &frames, tready);
        assert_eq!(es.iter().map(|e| e.faults).sum::<u64>(), 0, "{es:?}");
        let dropped: u64 = ps.iter().map(|p| p.rx_dropped).sum();
        assert_eq!(n + dropped, frames.len() as u64, "{es:?} {ps:?}");
        let (i, _) = img.map("shared").unwrap();
        let e = nfbpf_loader::device::entries(&mut c, img.map_row(i), 4, 8).unwrap();
        assert_eq!(e.len(), 1, "{e:?}");
        eprintln!(
            "same-clock writes: {} frames, {n} outputs, {dropped} dropped, {} cycles, {} retire \
             records, value {:02x?}, 0 mismatches",
            frames.len(),
            c.cycle(),
            c.retires,
            e[0].1
        );
    }
}

/// `bpf_printk` from XDP with every conversion the trace unit knows (`%d
/// %i %u %x %X %c %s %p %%`, `l`/`ll`, widths, the `0` and `-` flags), bad
/// formats (an unknown conversion, one more than the arguments, `lll`, a
/// `%` at the end, no NUL in the size, size 0), a width past Linux's
/// `FIELD_WIDTH_MAX`, strings on the stack, in the packet and running off
/// its end, a format of the packet's own bytes (some made `%` and
/// conversion letters), and the coarse timer; the returns go into the frame.
/// The formats are on the stack (`BPF_NO_GLOBAL_DATA`).
const XDP_PRINTK: &str = r#"
#define BPF_NO_GLOBAL_DATA
#include "nf_common.h"
SEC("xdp")
int printk_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 60 > end)
		return XDP_DROP;
	__u8 *p = data;
	__s32 r[16];
	char name[] = "hello, world";
	r[0] = bpf_printk("d=%d i=%i u=%u", -(int)p[20] * 77, p[21] * 1000003, -(unsigned)p[22]);
	r[1] = bpf_printk("%x|%X|%lx", (p[23] << 20) | p[24], 0xdeadbeefu ^ p[25],
			  ((__u64)p[26] << 40) + 1);
	r[2] = bpf_printk("%lld %llu %li", -((long long)p[27] << 35), ~0ull >> (p[28] & 63), -1L);
	r[3] = bpf_printk("%5d|%-6u|%08x", p[29] - 100, p[30], p[31]);
	r[4] = bpf_printk("%c%c%-3c!", 'a' + p[32] % 26, p[33], '0' + (p[34] & 7));
	p[50] = 0;
	r[5] = bpf_printk("s=%s t=%10s u=%-3s", name, data + 34 + (p[35] & 7), end - 3);
	r[6] = bpf_printk("%p %%d %% %ld", data, (long)(end - data));
	r[7] = bpf_printk("%q", 1);
	r[8] = bpf_printk("%d %d %d %d", 1, 2, 3);
	r[9] = bpf_printk("%lllx", 1);
	r[10] = bpf_printk("%-%d %", 1);
	{
		char f[] = "no NUL %d";
		r[11] = bpf_trace_printk(f, sizeof(f) - 1, 5);
		r[12] = bpf_trace_printk(f, 0, 5);
	}
	/* past FIELD_WIDTH_MAX (the ARP frame only: 8 MB of text) */
	if (p[12] == 0x08 && p[13] == 0x06)
		r[13] = bpf_printk("%0999999999d|%-d|%07ld", 1, -2, (long)p[36] - 200);
	else
		r[13] = bpf_printk("%0300d|%-d|%07ld", 1, -2, (long)p[36] - 200);
	/* the packet's bytes as a format: some made '%' and letters */
	p[52] = '%';
	p[53] = 'c' + (p[37] & 31);
	p[55] = '%';
	p[56] = 'c' + (p[38] & 31);
	p[58] = 0;
	r[14] = bpf_trace_printk(data + 51 - (p[39] & 1), 8 - (p[39] & 1) + (p[40] & 1), p[1],
				 (long)name, -7);
	r[15] = (__s32)bpf_ktime_get_coarse_ns();
	if (data + 14 + sizeof(r) <= end)
		__builtin_memcpy(data + 14, r, sizeof(r));
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

/// The SUME ABI's `trace_printk` (helper 6): formats on the stack, a
/// string in the packet window, a missing NUL; the lengths pick the port.
const SUME_PRINTK: &str = r#"
#include "sume.h"
static long (*const trace_printk)(const char *fmt, u32 fmt_size, ...) = (void *)6;
u64 printk_sume(struct sume_md *md)
{
	u8 *p = (u8 *)md + SUME_MD_BYTES;
	char f0[] = "in=%u len=%d %s";
	char s[] = "sume";
	long a = trace_printk(f0, sizeof(f0), md->in_port, md->length, s);
	char f1[] = "%lx %c%%%-4d|";
	long b = trace_printk(f1, sizeof(f1), ((u64)p[20] << 36) | p[21], 'A' + p[22] % 26,
			      (int)p[23] - 128);
	char f2[] = "<%12s>";
	long c = trace_printk(f2, sizeof(f2), p + 30 + (p[24] & 15));
	long d = trace_printk(f2, 2, 0);
	return (u64)(a + b + c + d) & 3;
}
"#;

/// A host bus onto the co-simulation that keeps the model's record each
/// `TRACEPOP` takes out (the engine `ENGSELECT` names), so the host's text
/// can be checked against it after the fact.
struct Snoop<'a> {
    c: &'a mut DevCosim,
    sel: usize,
    popped: std::collections::HashMap<(usize, u64), String>,
}

impl RegisterBus for Snoop<'_> {
    fn read32(&mut self, off: u32) -> Result<u32, regs::BusError> {
        self.c.read32(off)
    }
    fn write32(&mut self, off: u32, v: u32) -> Result<(), regs::BusError> {
        if off == regs::ENGSELECT {
            self.sel = v as usize;
        }
        if off == regs::TRACEPOP {
            let sel = self.sel;
            if let Some(r) = self.c.model.units().with(|d| {
                d.log
                    .queue(sel)
                    .and_then(|q| q.head(u64::MAX))
                    .map(|r| ((r.engine, r.cycle), r.text.clone()))
            }) {
                self.popped.insert(r.0, r.1);
            }
        }
        self.c.write32(off, v)
    }
}

/// Every trace record the device holds, taken out through the `TRACE*`
/// registers as a host does (`read_trace`; each read compared between the
/// model and the RTL), each text the host formats from the record's words
/// checked against the model's own (formatted from its memory at the
/// call): (engine, text) of each, and the records dropped since reset.
fn drain_trace(c: &mut DevCosim) -> (Vec<(usize, String)>, u64) {
    let mut bus = Snoop {
        c,
        sel: 0,
        popped: Default::default(),
    };
    let (recs, dropped) = nfbpf_vm::units::trace::read_trace(&mut bus)
        .unwrap_or_else(|e| panic!("trace registers: {e}"));
    for r in &recs {
        let m = bus.popped.get(&(r.engine, r.cycle));
        assert!(
            m == Some(&r.text),
            "engine {} cycle {}: the host's text {:?} (from the record's words), the model's {:?}",
            r.engine,
            r.cycle,
            r.text.chars().take(200).collect::<String>(),
            m.map(|t| t.chars().take(200).collect::<String>())
        );
    }
    (
        recs.into_iter().map(|r| (r.engine, r.text)).collect(),
        dropped,
    )
}

/// Frames of random bytes (a fixed seed), `n` of 64..=300 bytes.
fn random_frames(seed: u64, n: usize) -> Vec<(usize, Vec<u8>)> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let len = 64 + (next() % 237) as usize;
            ((i % 4), (0..len).map(|_| next() as u8).collect())
        })
        .collect()
}

#[test]
fn trace_printk_programs_match_model() {
    if !clang() {
        return;
    }
    for (file, src) in [("printk_xdp.c", XDP_PRINTK), ("printk_sume.c", SUME_PRINTK)] {
        // Its strings take their clocks: over the device's default budget.
        let img = c_function(file, src).with_budget(Some(100_000));
        // The ARP frame first: its records are among the FIFO's first.
        let mut frames = vec![(1, arp())];
        frames.extend(traffic());
        frames.extend(random_frames(0x5eed_0001, 40));
        let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
        program(&mut c, &img).unwrap_or_else(|e| panic!("{file}: {e}"));
        let n = run_traffic(&mut c, &frames);
        check_records(&c);
        let (log, dropped) = drain_trace(&mut c);
        let (es, _) = read_counters(&mut c, 4).unwrap();
        let faults: u64 = es.iter().map(|e| e.faults).sum();
        eprintln!(
            "{file}: {} frames, {n} outputs, {faults} faults, {} cycles, {} retire records, \
             {} cycle records, {} trace records ({dropped} dropped), 0 mismatches",
            frames.len(),
            c.cycle(),
            c.retires,
            c.cycle_records,
            log.len()
        );
        // No run faults (the runts of the SUME program read past their
        // frame: a memory fault), and frames go out (the others wait too
        // long at line rate and are refused at the ports, alike).
        assert!(n > 0, "{file}");
        assert!(faults <= 1, "{file}: {faults} faults");
        if file == "printk_xdp.c" {
            assert!(
                log.iter().any(|(_, t)| t.starts_with("s=hello, world t=")),
                "{log:?}"
            );
            assert!(
                log.iter()
                    .any(|(_, t)| t.len() > 8_388_607 && t.ends_with("|-2|-000200"))
            );
        } else {
            assert!(
                log.iter()
                    .any(|(_, t)| t.starts_with("in=") && t.ends_with(" sume")),
                "{log:?}"
            );
        }
    }
}

/// Random `trace_printk` calls: formats of random bytes from the walker's
/// alphabet (`%`, flags, digits, `l`, every conversion letter and some
/// that are not, text, a byte that is not UTF-8, NULs inside, sizes one
/// short of the NUL, 0, and past the stack), written on the stack by the
/// program, with random arguments (numbers of every size and sign, and
/// pointers to strings on the stack, in the packet, across the stack's top
/// and nowhere); each return into the frame; in lockstep with the model
/// (`NFBPF_RTL_PRINTK_SEEDS=N` for more seeds).
#[test]
fn random_trace_printk_calls_match_model() {
    use nfbpf_vm::build::{self as b};
    use nfbpf_vm::contract;
    use nfbpf_vm::isa::Width;
    use nfbpf_vm::pipeline::randprog::Rng;
    let seeds: u64 = env_count("NFBPF_RTL_PRINTK_SEEDS", 12);
    let frames: Vec<(usize, Vec<u8>)> = traffic().into_iter().take(16).collect();
    const ALPHA: &[u8] = b"%%%%%-0l5912dixXucpsqz. a\xff";
    let (mut calls, mut outputs, mut faults, mut records) = (0u64, 0u64, 0u64, 0u64);
    let mut formats = Vec::new();
    for seed in 0..seeds {
        let mut r = Rng::new(0x9e1f + seed);
        let mut p = vec![
            b::mov64_imm(1, contract::CTX_BASE as i32),
            b::mov64_imm(10, contract::STACK_TOP as i32),
            b::mov64_reg(9, 1),
            b::ldx(Width::W, 6, 1, 0),
        ];
        // Strings: "hello" at -16, 70 bytes without a NUL at -96, and the
        // stack's last 3 bytes without one.
        for (i, c) in b"hello\0".iter().enumerate() {
            p.push(b::st(Width::B, 10, -16 + i as i16, i32::from(*c)));
        }
        for i in 0..70 {
            p.push(b::st(Width::B, 10, -96 + i, 0x41 + (i as i32 % 26)));
        }
        for i in 0..3 {
            p.push(b::st(Width::B, 10, -3 + i, 0x7a));
        }
        let n = 4 + r.below(6);
        for _ in 0..n {
            // The format at -200 - len.
            let len = 1 + r.below(40) as usize;
            let mut f: Vec<u8> = (0..len).map(|_| *r.pick(ALPHA)).collect();
            if r.pct(85) {
                *f.last_mut().unwrap() = 0;
            }
            if r.pct(10) {
                f[r.below(len as u64) as usize] = 0;
            }
            formats.push(f.clone());
            let at = -200 - len as i16;
            for (i, c) in f.iter().enumerate() {
                p.push(b::st(Width::B, 10, at + i as i16, i32::from(*c)));
            }
            p.push(b::mov64_reg(1, 10));
            p.push(b::add64_imm(1, i32::from(at)));
            let fs = match r.below(20) {
                0 => len as i32 - 1,
                1 => 0,
                2 => 5000,
                _ => len as i32,
            };
            p.push(b::mov64_imm(2, fs));
            for reg in 3..=5u8 {
                match r.below(10) {
                    0 => {
                        p.push(b::mov64_reg(reg, 10));
                        p.push(b::add64_imm(reg, *r.pick(&[-16, -14, -96, -3, -1])));
                    }
                    1 => {
                        p.push(b::mov64_reg(reg, 6));
                        p.push(b::add64_imm(reg, r.below(80) as i32));
                    }
                    2 => p.push(b::mov64_imm(reg, 0x100)),
                    3..=5 => p.push(b::mov64_imm(reg, r.next_u64() as i32)),
                    _ => {
                        for i in b::lddw(reg, r.next_u64() >> r.below(64)) {
                            p.push(i);
                        }
                    }
                }
            }
            p.push(b::call(contract::HELPER_TRACE_PRINTK as i32));
            p.push(b::stx(Width::W, 6, 0, 6));
        }
        p.push(b::call(contract::HELPER_KTIME_GET_COARSE_NS as i32));
        p.push(b::stx(Width::W, 6, 0, 10));
        p.push(b::mov64_imm(0, contract::XDP_TX as i32));
        p.push(b::exit());
        calls += n;
        let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
        c.write32(regs::ABIMODE, 1).unwrap();
        // Half the seeds over the default budget (the strings' clocks).
        let budget = (seed % 2 == 1).then_some(100_000);
        write_and_flip(&mut c, &p, budget, &format!("seed {seed}"));
        // The host drains the trace FIFOs while the frames run (its reads
        // and pops among the engines' records, every few hundred clocks).
        let mut read = 0u64;
        offer(&mut c, &frames, |c| {
            c.step().unwrap();
            if c.cycle() % 397 == 0 {
                read += drain_trace(c).0.len() as u64;
            }
        });
        c.drain(1_000_000).unwrap();
        outputs += c.outputs;
        let (es, _) = read_counters(&mut c, 4).unwrap();
        faults += es.iter().map(|e| e.faults).sum::<u64>();
        check_records(&c);
        let (rest, dropped) = drain_trace(&mut c);
        records += read + rest.len() as u64 + dropped;
    }
    let valid = formats.iter().filter(|f| f.last() == Some(&0)).count();
    eprintln!(
        "{seeds} functions of {calls} trace_printk calls ({valid} formats NUL-terminated) on {} \
         frames each: {outputs} outputs, {faults} faults, {records} records formatted, \
         0 mismatches",
        frames.len()
    );
    assert!(
        outputs > 0 && records > 0,
        "{outputs} outputs, {records} records"
    );
}

/// `bpf_trace_vprintk` from XDP: twelve arguments from an array on the
/// stack (numbers, a string on the stack and one in the packet), an array
/// of fewer words than conversions, none (a NULL array of length 0), a
/// length that is not a multiple of 8 and one over twelve words (-EINVAL),
/// and an array in the packet; the returns go into the frame.
const XDP_VPRINTK: &str = r#"
#define BPF_NO_GLOBAL_DATA
#include "nf_common.h"
SEC("xdp")
int vprintk_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 60 > end)
		return XDP_DROP;
	__u8 *p = data;
	__u64 args[12];
	char name[] = "vp";
	for (int k = 0; k < 12; k++)
		args[k] = (__u64)p[20 + k] * (k + 1) * 0x1234567 - 5000;
	args[3] = (__u64)(long)name;
	args[9] = (__u64)(long)(data + 40);
	p[50] = 0;
	__s32 r[6];
	char f0[] = "%d %u %x %s %lld %c %lx %5d %-3u %s %llX %i|";
	r[0] = bpf_trace_vprintk(f0, sizeof(f0), args, 96);
	r[1] = bpf_trace_vprintk(f0, sizeof(f0), args, 8 * (p[33] % 13));
	char f1[] = "no args %%";
	r[2] = bpf_trace_vprintk(f1, sizeof(f1), 0, 0);
	r[3] = bpf_trace_vprintk(f1, sizeof(f1), args, 12);
	r[4] = bpf_trace_vprintk(f1, sizeof(f1), args, 104);
	r[5] = 0;
	if (data + 104 <= end)
		r[5] = bpf_trace_vprintk(f0, sizeof(f0), data + 8, 96);
	if (data + 14 + sizeof(r) <= end)
		__builtin_memcpy(data + 14, r, sizeof(r));
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn trace_vprintk_program_matches_model() {
    if !clang() {
        return;
    }
    let img = c_function("vprintk_xdp.c", XDP_VPRINTK).with_budget(Some(100_000));
    let mut frames = traffic();
    frames.extend(random_frames(0x5eed_0002, 40));
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &img).unwrap();
    let n = run_traffic(&mut c, &frames);
    check_records(&c);
    let (log, dropped) = drain_trace(&mut c);
    let (es, _) = read_counters(&mut c, 4).unwrap();
    let faults: u64 = es.iter().map(|e| e.faults).sum();
    eprintln!(
        "vprintk_xdp.c: {} frames, {n} outputs, {faults} faults, {} cycles, {} retire records, \
         {} cycle records, {} trace records ({dropped} dropped), 0 mismatches",
        frames.len(),
        c.cycle(),
        c.retires,
        c.cycle_records,
        log.len()
    );
    assert!(n > 0 && faults <= 1, "{n} outputs, {faults} faults");
    assert!(log.iter().any(|(_, t)| t == "no args %"), "{log:?}");
    assert!(
        log.iter()
            .any(|(_, t)| t.contains(" vp ") && t.ends_with('|')),
        "{log:?}"
    );
}

/// `bpf_printk` as people write it: its format in `.rodata` (no
/// `BPF_NO_GLOBAL_DATA`; over the 64-byte wide-entry window, which the
/// loader writes at `WIDEVOFF` 0, 64, ...), `%s` strings there too (from an offset that may
/// be past the string's NUL), in the stack and in the packet, and a
/// `bpf_trace_vprintk` array in a map value; the trace unit reads them in
/// the value memory. The host drains the trace FIFOs while the frames run
/// and at the end, through the registers.
const XDP_PRINTK_RODATA: &str = r#"
#include "nf_common.h"
static const char tail[] = "rodata end";
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64[4]);
} vargs SEC(".maps");
SEC("xdp")
int printk_rodata(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 60 > end)
		return XDP_DROP;
	__u8 *p = data;
	char st[] = "stack";
	__s32 r[5];
	p[50] = 0;
	r[0] = bpf_printk("len=%d first=%x s=%s", (int)(end - data), p[0], st);
	r[1] = bpf_printk("p=%s r=%s|", data + 44 + (p[1] & 3), tail);
	r[2] = bpf_printk("o=%s", tail + (p[2] & 15));
	r[3] = bpf_printk("a format well past .rodata's first 64 bytes: %s", "and a string too");
	/* each engine its own array (no other engine writes it during the call) */
	__u32 k = bpf_get_smp_processor_id();
	__u64 *v = bpf_map_lookup_elem(&vargs, &k);
	r[4] = 0;
	if (v) {
		v[0] = p[3];
		v[1] = (__u64)(long)st;
		v[2] = (__u64)(long)tail;
		v[3] = p[4] * 1000;
		static const char vf[] = "v %u %s %s %d";
		r[4] = bpf_trace_vprintk(vf, sizeof(vf), v, 32);
	}
	__builtin_memcpy(data + 14, r, sizeof(r));
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
"#;

const XDP_PRINTK_ONE: &str = r#"
#define BPF_NO_GLOBAL_DATA
#include "nf_common.h"
SEC("xdp")
int printk_one(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	bpf_printk("len=%d", (int)(end - data));
	return XDP_DROP;
}
"#;

/// Engine 0's trace FIFO full (16 records, none taken out) and the host's
/// `TRACEPOP` in each clock of a window around the next call: the model and
/// the RTL keep or drop that call's record alike, whatever the pop's clock
/// (a pop written in the clock of the call frees its slot for it:
/// `vm::units::trace::TraceQueue::pop`; the model held it for that clock
/// before, and dropped what the RTL kept). The window crosses the call, so
/// some runs keep the record and some drop it.
#[test]
fn a_pop_in_any_clock_around_a_call_on_a_full_trace_fifo_matches_model() {
    if !clang() {
        return;
    }
    let img = c_function("printk_one.c", XDP_PRINTK_ONE);
    let f = frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 9, 64);
    let (mut kept, mut dropped) = (0, 0);
    for shift in 0..24 {
        let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
        program(&mut c, &img).unwrap_or_else(|e| panic!("printk_one.c: {e}"));
        c.write32(regs::ENGSELECT, 0).unwrap();
        for _ in 0..nfbpf_vm::contract::TRACE_FIFO_RECORDS {
            c.rx(0, &f).unwrap();
            c.drain(10_000).unwrap();
        }
        c.rx(0, &f).unwrap();
        for _ in 0..shift {
            c.step().unwrap();
        }
        c.write32(regs::TRACEPOP, 1)
            .unwrap_or_else(|e| panic!("pop {shift} clocks after the frame: {e}"));
        c.drain(10_000).unwrap();
        check_records(&c);
        let (recs, drops) = drain_trace(&mut c);
        assert_eq!(
            recs.len() as u64 + drops,
            nfbpf_vm::contract::TRACE_FIFO_RECORDS as u64,
            "pop {shift} clocks after the frame"
        );
        if drops == 0 {
            kept += 1;
        } else {
            dropped += 1;
        }
    }
    eprintln!(
        "full trace FIFO, a pop in 24 clocks around a call: {kept} kept, {dropped} dropped, 0 mismatches"
    );
    assert!(kept > 0 && dropped > 0, "{kept} kept, {dropped} dropped");
}

#[test]
fn printk_formats_in_rodata_match_model() {
    if !clang() {
        return;
    }
    let img = c_function("printk_rodata.c", XDP_PRINTK_RODATA).with_budget(Some(100_000));
    let mut frames = traffic();
    frames.extend(random_frames(0x5eed_0003, 60));
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &img).unwrap_or_else(|e| panic!("printk_rodata.c: {e}"));
    // .rodata is over the 64-byte window (the loader wrote it at WIDEVOFF 0
    // and 64): its bytes past the window read back at WIDEVOFF 64 on both
    // sides; an offset that is not a multiple of the window is EINVAL.
    let ro = img.maps.iter().position(|m| m.name == ".rodata");
    let ro = ro.expect("a .rodata map");
    let init = img.maps[ro].initial.clone().expect(".rodata's bytes");
    assert!(init.len() > 64, "{} bytes of .rodata", init.len());
    let wide = |c: &mut DevCosim, op: u32| -> u32 {
        c.write32(regs::WIDEOP, op).unwrap();
        loop {
            let st = c.read32(regs::WIDESTATUS).unwrap();
            if st & 1 == 1 {
                return st >> 16;
            }
        }
    };
    c.write32(regs::MAPSELECT, img.map_row(ro) as u32).unwrap();
    for k in 0..regs::WIDE_WORDS {
        c.write32(regs::WIDEKEY + 4 * k, 0).unwrap();
    }
    c.write32(regs::WIDEVOFF, 64).unwrap();
    assert_eq!(wide(&mut c, 3), 0);
    let got: Vec<u8> = (0..regs::WIDE_WORDS)
        .flat_map(|k| c.read32(regs::WIDEVALUE + 4 * k).unwrap().to_le_bytes())
        .take(init.len().min(128) - 64)
        .collect();
    assert_eq!(got, init[64..init.len().min(128)]);
    c.write32(regs::WIDEVOFF, 32).unwrap();
    assert_eq!(wide(&mut c, 3), nfbpf_vm::contract::EINVAL as u32);
    c.write32(regs::WIDEVOFF, 0).unwrap();
    let mut log = Vec::new();
    offer(&mut c, &frames, |c| {
        c.step().unwrap();
        if c.cycle() % 211 == 0 {
            log.extend(drain_trace(c).0);
        }
    });
    c.drain(1_000_000).unwrap();
    check_records(&c);
    let (rest, dropped) = drain_trace(&mut c);
    log.extend(rest);
    let (es, _) = read_counters(&mut c, 4).unwrap();
    let faults: u64 = es.iter().map(|e| e.faults).sum();
    eprintln!(
        "printk_rodata.c: {} frames, {} outputs, {faults} faults, {} cycles, {} retire records, \
         {} cycle records, {} trace records read through the registers ({dropped} dropped), \
         0 mismatches",
        frames.len(),
        c.outputs,
        c.cycle(),
        c.retires,
        c.cycle_records,
        log.len()
    );
    assert!(
        c.outputs > 0 && faults == 0,
        "{} outputs, {faults} faults",
        c.outputs
    );
    let has = |f: &dyn Fn(&str) -> bool| log.iter().any(|(_, t)| f(t));
    assert!(
        has(&|t| t.starts_with("len=") && t.ends_with(" s=stack")),
        "{log:?}"
    );
    assert!(
        has(&|t| t.starts_with("p=") && t.ends_with(" r=rodata end|")),
        "{log:?}"
    );
    assert!(has(&|t| t == "o=rodata end"), "{log:?}");
    assert!(
        has(&|t| t == "a format well past .rodata's first 64 bytes: and a string too"),
        "{log:?}"
    );
    assert!(
        has(&|t| t.starts_with("v ") && t.contains(" stack rodata end ")),
        "{log:?}"
    );
}
