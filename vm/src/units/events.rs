//! The helpers of the queue and event maps (`vm::maps::events`) and the
//! simple helpers beside the timer and trace units, with Linux's
//! semantics (software engines: the device refuses these maps).

use super::{DeviceState, map_def, neg, read};
use crate::abi::{self, Abi};
use crate::contract::{self, EINVAL};
use crate::isa::Width;
use crate::maps::{MapError, MapType};
use crate::mem::Memory;

fn r0_of(e: MapError) -> Result<u64, String> {
    e.r0().ok_or_else(|| e.to_string())
}

/// `bpf_map_push_elem(map, value, flags)`.
pub fn map_push_elem(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let (_, d) = map_def(s, a[0])?;
    if !matches!(d.kind, MapType::Queue | MapType::Stack) {
        return Err(format!(
            "map_push_elem on {} map {:?} (needs a QUEUE or STACK)",
            d.kind, d.name
        ));
    }
    let v = read(mem, a[1], d.value_size as usize, "value")?;
    match s.maps.push(a[0], &v, a[2]) {
        Ok(()) => Ok(0),
        Err(e) => r0_of(e),
    }
}

/// `bpf_map_pop_elem(map, value)` and `bpf_map_peek_elem(map, value)`: an
/// empty map zeroes `value` and returns -ENOENT, as Linux.
fn pop_or_peek(
    s: &mut DeviceState,
    mem: &mut Memory,
    a: [u64; 5],
    remove: bool,
) -> Result<u64, String> {
    let (_, d) = map_def(s, a[0])?;
    if !matches!(d.kind, MapType::Queue | MapType::Stack) {
        return Err(format!(
            "map_{}_elem on {} map {:?} (needs a QUEUE or STACK)",
            if remove { "pop" } else { "peek" },
            d.kind,
            d.name
        ));
    }
    let (v, r0) = match s.maps.pop(a[0], remove) {
        Ok(v) => (v, 0),
        Err(MapError::NoEnt) => (vec![0; d.value_size as usize], neg(contract::ENOENT)),
        Err(e) => return r0_of(e),
    };
    mem.write_bytes(a[1], &v)
        .map_err(|e| format!("value: {e}"))?;
    Ok(r0)
}

pub fn map_pop_elem(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    pop_or_peek(s, mem, a, true)
}

pub fn map_peek_elem(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    pop_or_peek(s, mem, a, false)
}

fn ring(s: &DeviceState, handle: u64, helper: &str) -> Result<(), String> {
    let (_, d) = map_def(s, handle)?;
    if d.kind != MapType::Ringbuf {
        return Err(format!(
            "{helper} on {} map {:?} (needs a RINGBUF)",
            d.kind, d.name
        ));
    }
    Ok(())
}

/// `bpf_ringbuf_output(ring, data, size, flags)`: flags other than the
/// wake-up hints -EINVAL, no room -EAGAIN.
pub fn ringbuf_output(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    ring(s, a[0], "ringbuf_output")?;
    if a[3] & !(contract::BPF_RB_NO_WAKEUP | contract::BPF_RB_FORCE_WAKEUP) != 0 {
        return Ok(neg(EINVAL));
    }
    let data = if a[2] == 0 {
        Vec::new()
    } else {
        read(
            mem,
            a[1],
            usize::try_from(a[2]).unwrap_or(usize::MAX),
            "data",
        )?
    };
    match s.maps.ring_output(a[0], &data) {
        Ok(true) => Ok(0),
        Ok(false) => Ok(neg(contract::EAGAIN)),
        Err(e) => r0_of(e),
    }
}

/// `bpf_ringbuf_reserve(ring, size, flags)`: the record's address, NULL
/// for any flag or when the ring has no room.
pub fn ringbuf_reserve(
    s: &mut DeviceState,
    _: usize,
    _: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    ring(s, a[0], "ringbuf_reserve")?;
    if a[2] != 0 {
        return Ok(0);
    }
    match s.maps.ring_reserve(a[0], a[1]) {
        Ok(addr) => Ok(addr.unwrap_or(0)),
        Err(e) => Err(e.to_string()),
    }
}

/// `bpf_ringbuf_submit(data, flags)` (the flags are wake-up hints).
pub fn ringbuf_submit(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    s.maps.ring_commit(a[0], false, mem)?;
    Ok(0)
}

/// `bpf_ringbuf_discard(data, flags)`.
pub fn ringbuf_discard(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    s.maps.ring_commit(a[0], true, mem)?;
    Ok(0)
}

/// `bpf_ringbuf_query(ring, flags)`.
pub fn ringbuf_query(
    s: &mut DeviceState,
    _: usize,
    _: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    ring(s, a[0], "ringbuf_query")?;
    s.maps.ring_query(a[0], a[1]).map_err(|e| e.to_string())
}

/// `data..data_end` of the packet, from the context of `abi`.
fn packet_span(mem: &Memory, abi: Abi) -> Result<(u64, u64), String> {
    let (d, e) = match abi {
        Abi::Tc => (abi::sk_buff::DATA, abi::sk_buff::DATA_END),
        _ => (abi::xdp_md::DATA, abi::xdp_md::DATA_END),
    };
    let at = |off: u64| {
        mem.load(contract::CTX_BASE + off, Width::W)
            .map_err(|e| format!("context: {e}"))
    };
    Ok((at(d)?, at(e)?))
}

/// `bpf_perf_event_output(ctx, map, flags, data, size)` as XDP's
/// `bpf_xdp_event_output` and tc's `bpf_skb_event_output`: flags beyond
/// the index and the packet length -EINVAL; more packet bytes than the
/// packet has -EFAULT; an index at or past `max_entries` -E2BIG; the event
/// of another CPU than the engine's -EOPNOTSUPP. The sample is `data`, then
/// the first `flags >> 32` bytes of the packet.
fn perf_event_output(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
    abi: Abi,
) -> Result<u64, String> {
    if a[0] != contract::CTX_BASE {
        return Err(format!("r1 = {:#x} is not the program's context", a[0]));
    }
    let (_, d) = map_def(s, a[1])?;
    if d.kind != MapType::PerfEventArray {
        return Err(format!(
            "perf_event_output on {} map {:?} (needs a PERF_EVENT_ARRAY)",
            d.kind, d.name
        ));
    }
    let flags = a[2];
    if flags & !(contract::BPF_F_CTXLEN_MASK | contract::BPF_F_INDEX_MASK) != 0 {
        return Ok(neg(EINVAL));
    }
    let ctxlen = (flags & contract::BPF_F_CTXLEN_MASK) >> 32;
    let (start, end) = packet_span(mem, abi)?;
    if ctxlen > end.saturating_sub(start) {
        return Ok(neg(contract::EFAULT));
    }
    let index = match flags & contract::BPF_F_INDEX_MASK {
        contract::BPF_F_CURRENT_CPU => engine as u64,
        i => i,
    };
    if index >= u64::from(d.max_entries) {
        return Ok(neg(contract::E2BIG));
    }
    if index != engine as u64 {
        return Ok(neg(contract::EOPNOTSUPP));
    }
    let mut sample = if a[4] == 0 {
        Vec::new()
    } else {
        read(
            mem,
            a[3],
            usize::try_from(a[4]).unwrap_or(usize::MAX),
            "data",
        )?
    };
    sample.extend_from_slice(&read(mem, start, ctxlen as usize, "packet")?);
    s.maps
        .perf_output(a[1], index as u32, sample)
        .map_err(|e| e.to_string())?;
    Ok(0)
}

pub fn xdp_perf_event_output(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    perf_event_output(s, engine, mem, a, Abi::Xdp)
}

pub fn tc_perf_event_output(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    perf_event_output(s, engine, mem, a, Abi::Tc)
}

/// `bpf_trace_vprintk(fmt, fmt_size, data, data_len)`: `trace_printk` with
/// its arguments in an array of u64 (at most 12; `data_len` a multiple of
/// 8, else -EINVAL), into the same trace log.
pub fn trace_vprintk(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let len = a[3] as u32 as usize;
    if !len.is_multiple_of(8) || len > 8 * contract::MAX_BPRINTF_VARARGS || (len > 0 && a[2] == 0) {
        return Ok(neg(EINVAL));
    }
    // No array (Linux takes a NULL one of length 0).
    let raw = if len == 0 {
        Vec::new()
    } else {
        read(mem, a[2], len, "data")?
    };
    let args: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    super::printk(s, engine, mem, a[0], a[1], &args, true)
}
