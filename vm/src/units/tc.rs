//! The tc ABI's helpers (`struct __sk_buff` context), modelled on Linux's
//! `net/core/filter.c` for a linear packet at tc ingress, MAC header first.
//!
//! The packet is `data..data_end` of the context (see [`crate::abi`]); a
//! helper that changes the packet writes `data`, `data_end`, `data_meta`
//! and `len` back into the context, as the kernel recomputes the data
//! pointers (`bpf_compute_data_pointers`). The checksum of the skb
//! (`skb->csum`) is not modelled: packets arrive with `CHECKSUM_NONE`,
//! as in the kernel's test runs, for which the checksum helpers only
//! rewrite the checksum field in the packet.

use super::{DeviceState, RedirectTarget, neg, read};
use crate::abi::{sk_buff, skb_region};
use crate::contract::{self, CTX_BASE, EFAULT, EINVAL, ENOMEM, ETH_HLEN};
use crate::isa::Width;
use crate::mem::Memory;

const ETH_ALEN: u64 = 6;
const VLAN_HLEN: u64 = 4;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
/// `CSUM_MANGLED_0`: a zero UDP checksum written as 0xffff.
const CSUM_MANGLED_0: u16 = 0xffff;

fn check_ctx(a0: u64) -> Result<(), String> {
    if a0 != CTX_BASE {
        return Err(format!("r1 = {a0:#x} is not the __sk_buff context"));
    }
    Ok(())
}

fn get(mem: &Memory, off: u64) -> Result<u64, String> {
    mem.load(CTX_BASE + off, Width::W)
        .map_err(|e| format!("__sk_buff: {e}"))
}

/// Write field `name` (the helpers may change read-only fields).
fn set(mem: &mut Memory, name: &str, v: u32) -> Result<(), String> {
    let r = mem
        .region_mut(&skb_region(name))
        .ok_or_else(|| format!("no __sk_buff.{name} in this memory"))?;
    r.data[..4].copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// `(data, data_end)` of the packet.
fn frame(mem: &Memory) -> Result<(u64, u64), String> {
    Ok((get(mem, sk_buff::DATA)?, get(mem, sk_buff::DATA_END)?))
}

/// The packet is now `data..end`: the context's pointers and `len`.
fn set_frame(mem: &mut Memory, data: u64, end: u64) -> Result<(), String> {
    set(mem, "data", data as u32)?;
    set(mem, "data_meta", data as u32)?;
    set(mem, "data_end", end as u32)?;
    set(mem, "len", (end - data) as u32)
}

/// `skb->protocol` as the host-order ethertype.
fn protocol(mem: &Memory) -> Result<u16, String> {
    Ok((get(mem, sk_buff::PROTOCOL)? as u16).swap_bytes())
}

fn set_protocol(mem: &mut Memory, proto: u16) -> Result<(), String> {
    set(mem, "protocol", u32::from(proto.swap_bytes()))
}

/// Room to grow the frame by `len` bytes at its front, or the model's
/// limit as an error (the kernel would reallocate the skb).
fn headroom(mem: &Memory, data: u64, len: u64) -> Result<(), String> {
    let lo = mem
        .region(crate::abi::PACKET_REGION)
        .ok_or("no packet window in this memory")?
        .base;
    if data < lo + len {
        return Err(format!(
            "growing the frame by {len} bytes at its front needs more than the model's {} bytes of tc headroom ({} left)",
            contract::TC_HEADROOM,
            data - lo
        ));
    }
    Ok(())
}

/// `bpf_skb_store_bytes(skb, offset, from, len, flags)`: `from` into the
/// packet at `offset`; unknown flags -EINVAL, past the end -EFAULT.
/// `BPF_F_INVALIDATE_HASH` clears `hash`; `BPF_F_RECOMPUTE_CSUM` updates
/// `skb->csum`, which is not modelled (packets carry no checksum state).
pub fn skb_store_bytes(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    let (off, len, flags) = (a[1] as u32 as u64, a[3] as u32 as u64, a[4]);
    if flags & !(contract::BPF_F_RECOMPUTE_CSUM | contract::BPF_F_INVALIDATE_HASH) != 0 {
        return Ok(neg(EINVAL));
    }
    let (data, end) = frame(mem)?;
    if off > i32::MAX as u64 || off + len > end - data {
        return Ok(neg(EFAULT));
    }
    let b = read(mem, a[2], len as usize, "from")?;
    mem.write_bytes(data + off, &b)
        .map_err(|e| format!("packet: {e}"))?;
    if flags & contract::BPF_F_INVALIDATE_HASH != 0 {
        set(mem, "hash", 0)?;
    }
    set_frame(mem, data, end)?;
    Ok(0)
}

/// `bpf_skb_load_bytes(skb, offset, to, len)`: packet bytes to `to`; past
/// the end `to` is zeroed and the result -EFAULT.
pub fn skb_load_bytes(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    let (off, len) = (a[1] as u32 as u64, a[3] as u32 as u64);
    let (data, end) = frame(mem)?;
    if off > i32::MAX as u64 || off + len > end - data {
        mem.write_bytes(a[2], &vec![0; len as usize])
            .map_err(|e| format!("to: {e}"))?;
        return Ok(neg(EFAULT));
    }
    let b = read(mem, data + off, len as usize, "packet")?;
    mem.write_bytes(a[2], &b).map_err(|e| format!("to: {e}"))?;
    Ok(0)
}

/// `bpf_skb_pull_data(skb, len)`: the whole packet is linear here, so
/// any `len` up to the packet's length succeeds; beyond it -ENOMEM.
pub fn skb_pull_data(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    let (data, end) = frame(mem)?;
    let r = if a[1] as u32 as u64 > end - data {
        neg(ENOMEM)
    } else {
        0
    };
    set_frame(mem, data, end)?;
    Ok(r)
}

/// Linux's `csum_fold`: a 32-bit partial sum to the 16-bit complemented
/// checksum.
pub fn csum_fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// The checksum field at `sum` updated for a 16-bit field changing from
/// `from` to `to` (`csum_replace2`; all values as the little-endian loads
/// of their network-order bytes, as a program on x86-64 passes them).
pub fn csum_replace2(sum: u16, from: u16, to: u16) -> u16 {
    let add16 = |a: u16, b: u16| {
        let (r, c) = a.overflowing_add(b);
        r.wrapping_add(u16::from(c))
    };
    !add16(add16(!sum, !from), to)
}

/// `csum_replace4`: for a 32-bit field.
pub fn csum_replace4(sum: u16, from: u32, to: u32) -> u16 {
    let tmp = super::csum_add(!u32::from(sum), !from);
    csum_fold(super::csum_add(tmp, to))
}

/// `csum_replace_by_diff`: by a 32-bit checksum difference.
pub fn csum_replace_by_diff(sum: u16, diff: u32) -> u16 {
    csum_fold(super::csum_add(diff, !u32::from(sum)))
}

/// Where the checksum field of `bpf_l{3,4}_csum_replace` is: `Err(r0)` as
/// Linux answers (odd or beyond 0xffff: -EFAULT, past the packet: -EFAULT).
fn csum_field(mem: &Memory, a: &[u64; 5]) -> Result<Result<u64, u64>, String> {
    check_ctx(a[0])?;
    let off = a[1] as u32 as u64;
    if off > 0xffff || off & 1 == 1 {
        return Ok(Err(neg(EFAULT)));
    }
    let (data, end) = frame(mem)?;
    if off + 2 > end - data {
        return Ok(Err(neg(EFAULT)));
    }
    Ok(Ok(data + off))
}

fn load16(mem: &Memory, at: u64) -> Result<u16, String> {
    Ok(mem.load(at, Width::H).map_err(|e| format!("packet: {e}"))? as u16)
}

fn store16(mem: &mut Memory, at: u64, v: u16) -> Result<(), String> {
    mem.store(at, Width::H, u64::from(v))
        .map_err(|e| format!("packet: {e}"))
}

/// The checksum `sum` updated for a field of `flags & BPF_F_HDR_FIELD_MASK`
/// bytes (2 or 4) changing from `from` to `to`, or (size 0, `from` 0) by
/// the difference `to`; None for any other size (the helpers' -EINVAL).
fn replaced_sum(sum: u16, from: u64, to: u64, flags: u64) -> Option<u16> {
    match flags & contract::BPF_F_HDR_FIELD_MASK {
        0 if from != 0 => None,
        0 => Some(csum_replace_by_diff(sum, to as u32)),
        2 => Some(csum_replace2(sum, from as u16, to as u16)),
        4 => Some(csum_replace4(sum, from as u32, to as u32)),
        _ => None,
    }
}

/// `bpf_l3_csum_replace(skb, offset, from, to, flags)`: the checksum at
/// `offset` updated for a field of `flags & 0xf` bytes (2 or 4) changing
/// from `from` to `to`, or (size 0, `from` 0) by the difference `to`.
pub fn l3_csum_replace(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    if a[4] & !contract::BPF_F_HDR_FIELD_MASK != 0 {
        check_ctx(a[0])?;
        return Ok(neg(EINVAL));
    }
    let at = match csum_field(mem, &a)? {
        Ok(at) => at,
        Err(r0) => return Ok(r0),
    };
    let sum = load16(mem, at)?;
    let Some(new) = replaced_sum(sum, a[2], a[3], a[4]) else {
        return Ok(neg(EINVAL));
    };
    store16(mem, at, new)?;
    let (data, end) = frame(mem)?;
    set_frame(mem, data, end)?;
    Ok(0)
}

/// `bpf_l4_csum_replace(skb, offset, from, to, flags)`: as
/// [`l3_csum_replace`] (`BPF_F_PSEUDO_HDR` and `BPF_F_IPV6` change only
/// `skb->csum` state, not modelled), plus `BPF_F_MARK_MANGLED_0`: a zero
/// checksum (UDP's "none") stays zero, a result of zero becomes 0xffff
/// (`BPF_F_MARK_ENFORCE`: update a zero checksum too).
pub fn l4_csum_replace(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let flags = a[4];
    let known = contract::BPF_F_MARK_MANGLED_0
        | contract::BPF_F_MARK_ENFORCE
        | contract::BPF_F_PSEUDO_HDR
        | contract::BPF_F_HDR_FIELD_MASK
        | contract::BPF_F_IPV6;
    if flags & !known != 0 {
        check_ctx(a[0])?;
        return Ok(neg(EINVAL));
    }
    let at = match csum_field(mem, &a)? {
        Ok(at) => at,
        Err(r0) => return Ok(r0),
    };
    let mangled0 = flags & contract::BPF_F_MARK_MANGLED_0 != 0;
    let enforce = flags & contract::BPF_F_MARK_ENFORCE != 0;
    let sum = load16(mem, at)?;
    if mangled0 && !enforce && sum == 0 {
        return Ok(0);
    }
    let Some(mut new) = replaced_sum(sum, a[2], a[3], flags) else {
        return Ok(neg(EINVAL));
    };
    if mangled0 && new == 0 {
        new = CSUM_MANGLED_0;
    }
    store16(mem, at, new)?;
    let (data, end) = frame(mem)?;
    set_frame(mem, data, end)?;
    Ok(0)
}

/// `bpf_redirect(ifindex, flags)` for tc: any flag but `BPF_F_INGRESS`
/// gives `TC_ACT_SHOT`; else the target is recorded and the result is
/// `TC_ACT_REDIRECT`.
pub fn redirect(
    s: &mut DeviceState,
    engine: usize,
    _: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    if a[1] & !contract::BPF_F_INGRESS != 0 {
        return Ok(contract::TC_ACT_SHOT as u64);
    }
    let port = a[0] as u32;
    s.engine_mut(engine).redirect = Some(match a[1] & contract::BPF_F_INGRESS {
        0 => RedirectTarget::Port(port),
        _ => RedirectTarget::Ingress(port),
    });
    Ok(contract::TC_ACT_REDIRECT as u64)
}

fn is_vlan(proto: u16) -> bool {
    proto == ETH_P_8021Q || proto == ETH_P_8021AD
}

/// The out-of-line tag: (present, tci, proto as the context holds it).
fn set_tag(mem: &mut Memory, tag: Option<(u16, u16)>) -> Result<(), String> {
    let (present, tci, proto) = match tag {
        Some((proto, tci)) => (1, u32::from(tci), u32::from(proto.swap_bytes())),
        None => (0, 0, 0),
    };
    set(mem, "vlan_present", present)?;
    set(mem, "vlan_tci", tci)?;
    set(mem, "vlan_proto", proto)
}

/// `bpf_skb_vlan_push(skb, vlan_proto, vlan_tci)`: the tag goes out of
/// line (`vlan_present`, `vlan_tci`, `vlan_proto`), as Linux keeps it in
/// `skb->vlan_tci`; a tag already out of line is first written into the
/// frame after the MAC addresses. A protocol other than 802.1Q or 802.1ad
/// is taken as 802.1Q.
pub fn skb_vlan_push(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    let mut proto = (a[1] as u16).swap_bytes();
    if !is_vlan(proto) {
        proto = ETH_P_8021Q;
    }
    let tci = a[2] as u16;
    if get(mem, sk_buff::VLAN_PRESENT)? != 0 {
        let old_proto = (get(mem, sk_buff::VLAN_PROTO)? as u16).swap_bytes();
        let old_tci = get(mem, sk_buff::VLAN_TCI)? as u16;
        let (data, end) = frame(mem)?;
        headroom(mem, data, VLAN_HLEN)?;
        let nd = data - VLAN_HLEN;
        let macs = read(mem, data, 2 * ETH_ALEN as usize, "packet")?;
        mem.write_bytes(nd, &macs).map_err(|e| e.to_string())?;
        let mut tag = old_proto.to_be_bytes().to_vec();
        tag.extend_from_slice(&old_tci.to_be_bytes());
        mem.write_bytes(nd + 2 * ETH_ALEN, &tag)
            .map_err(|e| e.to_string())?;
        set_protocol(mem, old_proto)?;
        set_frame(mem, nd, end)?;
    }
    set_tag(mem, Some((proto, tci)))?;
    let (data, end) = frame(mem)?;
    set_frame(mem, data, end)?;
    Ok(0)
}

/// `skb->protocol` from the ethertype after a tag, as Linux's
/// `vlan_set_encap_proto` (which, for an 802.3 length, looks at the first
/// two bytes at `data`).
fn encap_proto(mem: &Memory, data: u64, inner: u16) -> Result<u16, String> {
    if inner >= 0x600 {
        return Ok(inner);
    }
    let raw = read(mem, data, 2, "packet")?;
    Ok(if raw == [0xff, 0xff] { 1 } else { 4 })
}

/// Take the tag after the MAC addresses out of the frame: its TCI.
/// `Err(r0)` when the frame has no room for it (-ENOMEM).
fn pop_inband(mem: &mut Memory) -> Result<Result<u16, u64>, String> {
    let (data, end) = frame(mem)?;
    if end - data < ETH_HLEN as u64 + VLAN_HLEN {
        return Ok(Err(neg(ENOMEM)));
    }
    let hdr = read(mem, data + 2 * ETH_ALEN, 6, "packet")?;
    let tci = u16::from_be_bytes([hdr[2], hdr[3]]);
    let inner = u16::from_be_bytes([hdr[4], hdr[5]]);
    let macs = read(mem, data, 2 * ETH_ALEN as usize, "packet")?;
    let nd = data + VLAN_HLEN;
    mem.write_bytes(nd, &macs).map_err(|e| e.to_string())?;
    let proto = encap_proto(mem, nd, inner)?;
    set_protocol(mem, proto)?;
    set_frame(mem, nd, end)?;
    Ok(Ok(tci))
}

/// `bpf_skb_vlan_pop(skb)`: the out-of-line tag is removed if there is one,
/// else the tag in the frame (if `protocol` says there is one); a further
/// tag in the frame then moves out of line, as Linux's `skb_vlan_pop`.
pub fn skb_vlan_pop(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    if get(mem, sk_buff::VLAN_PRESENT)? != 0 {
        set_tag(mem, None)?;
    } else {
        if !is_vlan(protocol(mem)?) {
            return Ok(0);
        }
        if let Err(r0) = pop_inband(mem)? {
            return Ok(r0);
        }
    }
    let proto = protocol(mem)?;
    if !is_vlan(proto) {
        return Ok(0);
    }
    match pop_inband(mem)? {
        Ok(tci) => set_tag(mem, Some((proto, tci)))?,
        Err(r0) => return Ok(r0),
    }
    Ok(0)
}

/// `bpf_skb_change_head(skb, head_room, flags)`: `head_room` zero bytes in
/// front of the frame, which becomes its new MAC header (flags -EINVAL).
pub fn skb_change_head(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    let room = a[1] as u32 as u64;
    let (data, end) = frame(mem)?;
    if a[2] != 0 || (end - data) + room > u32::MAX as u64 {
        return Ok(neg(EINVAL));
    }
    headroom(mem, data, room)?;
    let nd = data - room;
    mem.write_bytes(nd, &vec![0; room as usize])
        .map_err(|e| e.to_string())?;
    set_frame(mem, nd, end)?;
    let skb = &mut s.engine_mut(engine).skb;
    skb.net_off += room as u32;
    Ok(0)
}

/// `bpf_skb_adjust_room(skb, len_diff, mode, flags)`: `len_diff` bytes
/// inserted (zeroed) or removed after the MAC header (`BPF_ADJ_ROOM_MAC`)
/// or after the network header's base length, 20 bytes for IPv4 and 40
/// for IPv6 (`BPF_ADJ_ROOM_NET`), with Linux's checks and results: unknown
/// flags -EINVAL, more than 0xfff bytes -EFAULT, a packet that is not IP
/// or an unknown mode -ENOTSUPP, a shrink into the network header's base
/// -ENOTSUPP; the encapsulation flags are checked as Linux does (both L3
/// or both L4 kinds -EINVAL, an inner MAC longer than the room -EINVAL, a
/// second encapsulation -EALREADY) and change `protocol` to the outer L3
/// kind; the decapsulation flags (a shrink only, one of them) set it to
/// the inner one and bound the shrink by that header's base length.
pub fn skb_adjust_room(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    use contract::*;
    check_ctx(a[0])?;
    let diff = a[1] as u32 as i32;
    let (mode, flags) = (a[2] as u32 as u64, a[3]);
    let abs = u64::from(diff.unsigned_abs());
    let l2_len = 0xffu64 << BPF_ADJ_ROOM_ENCAP_L2_SHIFT;
    let encap_l3 = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6;
    let decap_l3 = BPF_F_ADJ_ROOM_DECAP_L3_IPV4 | BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
    let mask = BPF_F_ADJ_ROOM_FIXED_GSO
        | encap_l3
        | BPF_F_ADJ_ROOM_ENCAP_L4_GRE
        | BPF_F_ADJ_ROOM_ENCAP_L4_UDP
        | BPF_F_ADJ_ROOM_ENCAP_L2_ETH
        | l2_len
        | decap_l3;
    if flags & !(mask | BPF_F_ADJ_ROOM_NO_CSUM_RESET) != 0 {
        return Ok(neg(EINVAL));
    }
    if abs > 0xfff {
        return Ok(neg(EFAULT));
    }
    let proto = protocol(mem)?;
    let base = match proto {
        ETH_P_IP => 20,
        ETH_P_IPV6 => 40,
        _ => return Ok(neg(ENOTSUPP)),
    };
    let skb = s.engine_mut(engine).skb;
    let net = u64::from(skb.net_off);
    let off = match mode {
        BPF_ADJ_ROOM_NET => net + base,
        BPF_ADJ_ROOM_MAC => net,
        _ => return Ok(neg(ENOTSUPP)),
    };
    let shrink = diff < 0;
    let mut min = base;
    if flags & decap_l3 != 0 {
        if !shrink {
            return Ok(neg(EINVAL));
        }
        min = match flags & decap_l3 {
            BPF_F_ADJ_ROOM_DECAP_L3_IPV4 => 20,
            BPF_F_ADJ_ROOM_DECAP_L3_IPV6 => 40,
            _ => return Ok(neg(EINVAL)),
        };
    }
    let (data, end) = frame(mem)?;
    let len = end - data;
    let cur = len.saturating_sub(net);
    if shrink && (abs >= cur || cur - abs < min) {
        return Ok(neg(ENOTSUPP));
    }
    if shrink {
        if flags & !(BPF_F_ADJ_ROOM_FIXED_GSO | decap_l3 | BPF_F_ADJ_ROOM_NO_CSUM_RESET) != 0 {
            return Ok(neg(EINVAL));
        }
        if off + abs > len {
            return Ok(neg(ENOMEM));
        }
        // The first `off` bytes move forward over the removed ones.
        let head = read(mem, data, off as usize, "packet")?;
        let nd = data + abs;
        mem.write_bytes(nd, &head).map_err(|e| e.to_string())?;
        if flags & BPF_F_ADJ_ROOM_DECAP_L3_IPV4 != 0 {
            set_protocol(mem, ETH_P_IP)?;
        } else if flags & BPF_F_ADJ_ROOM_DECAP_L3_IPV6 != 0 {
            set_protocol(mem, ETH_P_IPV6)?;
        }
        set_frame(mem, nd, end)?;
        return Ok(0);
    }
    let encap = flags & encap_l3 != 0;
    if encap {
        if flags & encap_l3 == encap_l3 {
            return Ok(neg(EINVAL));
        }
        let l4 = BPF_F_ADJ_ROOM_ENCAP_L4_GRE | BPF_F_ADJ_ROOM_ENCAP_L4_UDP;
        if flags & l4 == l4 {
            return Ok(neg(EINVAL));
        }
        if skb.encapsulation {
            return Ok(neg(EALREADY));
        }
        if (flags >> BPF_ADJ_ROOM_ENCAP_L2_SHIFT) > abs {
            return Ok(neg(EINVAL));
        }
    }
    headroom(mem, data, abs)?;
    let head = read(mem, data, off as usize, "packet")?;
    let nd = data - abs;
    mem.write_bytes(nd, &head).map_err(|e| e.to_string())?;
    mem.write_bytes(nd + off, &vec![0; abs as usize])
        .map_err(|e| e.to_string())?;
    if encap {
        s.engine_mut(engine).skb.encapsulation = true;
        if proto == ETH_P_IP && flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 != 0 {
            set_protocol(mem, ETH_P_IPV6)?;
        } else if proto == ETH_P_IPV6 && flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 != 0 {
            set_protocol(mem, ETH_P_IP)?;
        }
    }
    set_frame(mem, nd, end)?;
    Ok(0)
}

/// `bpf_skb_change_proto(skb, proto, flags)`: IPv4 to IPv6 inserts 20
/// zero bytes after the MAC header, IPv6 to IPv4 removes 20 bytes there
/// (the program writes the new header itself), and `protocol` follows;
/// flags -EINVAL, any other change -ENOTSUPP, a frame too short to remove
/// from -ENOMEM.
pub fn skb_change_proto(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    use contract::ENOTSUPP;
    check_ctx(a[0])?;
    if a[2] != 0 {
        return Ok(neg(EINVAL));
    }
    const DIFF: u64 = 40 - 20;
    let to = (a[1] as u16).swap_bytes();
    let from = protocol(mem)?;
    let off = u64::from(s.engine_mut(engine).skb.net_off);
    let (data, end) = frame(mem)?;
    let nd = match (from, to) {
        (ETH_P_IP, ETH_P_IPV6) => {
            headroom(mem, data, DIFF)?;
            let head = read(mem, data, off as usize, "packet")?;
            let nd = data - DIFF;
            mem.write_bytes(nd, &head).map_err(|e| e.to_string())?;
            mem.write_bytes(nd + off, &[0; DIFF as usize])
                .map_err(|e| e.to_string())?;
            nd
        }
        (ETH_P_IPV6, ETH_P_IP) => {
            if off + DIFF > end - data {
                return Ok(neg(ENOMEM));
            }
            let head = read(mem, data, off as usize, "packet")?;
            let nd = data + DIFF;
            mem.write_bytes(nd, &head).map_err(|e| e.to_string())?;
            nd
        }
        _ => return Ok(neg(ENOTSUPP)),
    };
    set_protocol(mem, to)?;
    set(mem, "hash", 0)?;
    set_frame(mem, nd, end)?;
    Ok(0)
}

/// `bpf_redirect_neigh(ifindex, params, plen, flags)`: as
/// [`redirect`] to the egress of `ifindex` (any flag, or `plen` shorter
/// than `struct bpf_redir_neigh`'s 20 bytes: `TC_ACT_SHOT`). Linux then
/// fills in the MAC addresses from its neighbour table; the model has
/// none, so the frame leaves as the program left it (a test run does not
/// redirect either).
pub fn redirect_neigh(
    s: &mut DeviceState,
    engine: usize,
    _: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let plen = a[2] as u32 as i32;
    if (plen != 0 && plen < 20) || a[3] != 0 {
        return Ok(contract::TC_ACT_SHOT as u64);
    }
    s.engine_mut(engine).redirect = Some(RedirectTarget::Port(a[0] as u32));
    Ok(contract::TC_ACT_REDIRECT as u64)
}
