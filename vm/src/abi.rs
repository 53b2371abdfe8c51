//! The three program ABIs: XDP, tc and SUME.
//!
//! # XDP
//! r1 = [`contract::CTX_BASE`], where a read-only region `ctx` holds
//! `struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex,
//! rx_queue_index, egress_ifindex }` (offsets in [`xdp_md`]). The packet
//! window is the region `packet` at [`contract::PKT_BASE`], of
//! `max(PKT_WINDOW, XDP_HEADROOM + len)` bytes; the frame starts
//! [`contract::XDP_HEADROOM`] (256) bytes in, like Linux's
//! `XDP_PACKET_HEADROOM`, so `bpf_xdp_adjust_head` can grow it, and the rest
//! of the window is tailroom for `bpf_xdp_adjust_tail`. `data_meta == data`
//! (no metadata). Loads and stores anywhere in the window are allowed (the
//! window is the FIFO_MD storage); `data`/`data_end` are what the program
//! must respect, as the verifier would make it. The ifindex of a port is
//! its port number. Actions: `XDP_ABORTED 0, DROP 1, PASS 2, TX 3,
//! REDIRECT 4`; anything else aborts, as in Linux's drivers.
//!
//! # SUME
//! r1 = [`contract::PKT_BASE`], where the region `packet` holds the 32-byte
//! packed header `in_port u8, src_queue u8, dst_queue u8, timestamp_sec
//! u32, timestamp_nsec u32, length u16, 19 bytes headroom` (little-endian,
//! offsets in [`sume_md`]) immediately followed by the Ethernet frame; the
//! region is `max(PKT_WINDOW, 32 + len)` bytes. r0 at exit is the output
//! port, or `DROP 0xfff0`, `CONTROLLER 0xfff1`, `FLOOD 0xffff` (compared on
//! all 64 bits; values above 0xffff abort). Helpers 1..3 take the key (and
//! value) by value; the map's masks cut them to its sizes; a lookup miss
//! returns `0xffffffff`. The output frame is `length` bytes after the
//! header (a program may change `length`).
//!
//! # tc
//! A tc classifier in direct-action mode (`sched_cls`, as `cls_bpf da`
//! and NICs that offload it run it) at ingress. r1 = [`contract::CTX_BASE`],
//! where `struct __sk_buff` (Linux uapi, 192 bytes, offsets in [`sk_buff`])
//! lies field by field, each field its own region named
//! `__sk_buff.<field>`: the fields a tc program may write (`mark`,
//! `queue_mapping`, `priority`, `tc_index`, `cb[0..5]`, `tc_classid`,
//! `tstamp`, as the kernel's `tc_cls_act_is_valid_access`) are writable,
//! every other field read-only (a store faults naming the field), and the
//! fields a tc program may not touch at all (`family` .. `local_port`,
//! `flow_keys`, the padding after `tstamp_type`) are not mapped. Per packet:
//! `len` = `wire_len` = the frame's length; `pkt_type` as Linux's
//! `eth_type_trans` classifies the destination MAC for a port whose own
//! address is 00:00:00:00:00:00 (0 host, 1 broadcast ff:ff:ff:ff:ff:ff, 2
//! other multicast, 3 other host); `protocol` the ethertype as the kernel
//! stores `skb->protocol` (network order, so IPv4 reads 0x0008; `ETH_P_802_3`
//! or `ETH_P_802_2` for 802.3 lengths, as `eth_type_trans`);
//! `ingress_ifindex` = `ifindex` = the input port; `data`/`data_end` the
//! frame, Ethernet header first (tc at ingress sees the MAC header pushed
//! back), `data_meta` = `data`; `vlan_present`/`vlan_tci`/`vlan_proto` the
//! out-of-line VLAN tag (none on arrival; `bpf_skb_vlan_push` sets it); all
//! else 0 (`mark`, `priority`, `cb`, `hash`, `tc_classid`, `tstamp`,
//! `queue_mapping`, `napi_id`, `gso_*`, `hwtstamp`, and `sk`: no socket).
//! The packet window is the region `packet` as for XDP: the frame starts
//! [`contract::TC_HEADROOM`] bytes in, so helpers that grow the frame at its
//! front move `data` back; every helper that changes the packet recomputes
//! `data`/`data_end`/`data_meta`/`len` in the context (the kernel
//! invalidates packet pointers there). The frame after the run is
//! `data..data_end`; the context after the run is in
//! [`Execution::ctx`].
//!
//! Actions: r0 as a 32-bit `TC_ACT_*`, decoded as `cls_bpf` in direct-action
//! mode and the ingress hook do: `OK` 0 and `UNSPEC` -1 pass the packet up
//! the stack ([`Verdict::Pass`]); `SHOT` 2 drops it; `STOLEN` 4 and `TRAP` 8
//! consume it (the packet goes nowhere: [`Verdict::Drop`], named "stolen" /
//! "trap"); `REDIRECT` 7 sends it where `bpf_redirect` said (out of a port,
//! [`Verdict::Redirect`], or with `BPF_F_INGRESS` into a port's receive
//! path, [`Verdict::Ingress`]; without a target the kernel drops it);
//! every other value, `RECLASSIFY` 1, `PIPE` 3, `QUEUED` 5, `REPEAT` 6
//! included, `cls_bpf` turns into `UNSPEC`: pass.
//!
//! All ABIs: the stack region of [`crate::interp::add_stack`], and the map
//! value regions lent by [`crate::maps::MapTable::lend`] (done by
//! [`execute`]).

use crate::contract::{
    self, PKT_BASE, PKT_WINDOW, SK_BUFF_SIZE, SUME_MD_SIZE, TC_HEADROOM, XDP_HEADROOM, XDP_MD_SIZE,
};
use crate::helpers::Helpers;
use crate::interp::{self, Config, Fault};
use crate::mem::{Memory, OverlapError};
use crate::program::Program;
use crate::trace::Tracer;
use crate::units::{self, RedirectTarget, SharedDeviceState};
use std::fmt;

/// Name of the context region (XDP).
pub const CTX_REGION: &str = "ctx";
/// Name of the packet window region (both ABIs).
pub const PACKET_REGION: &str = "packet";

/// Byte offsets in `struct xdp_md`.
pub mod xdp_md {
    pub const DATA: u64 = 0;
    pub const DATA_END: u64 = 4;
    pub const DATA_META: u64 = 8;
    pub const INGRESS_IFINDEX: u64 = 12;
    pub const RX_QUEUE_INDEX: u64 = 16;
    pub const EGRESS_IFINDEX: u64 = 20;
}

/// `struct __sk_buff` (Linux uapi): byte offsets, and which fields a tc
/// program may read and write.
pub mod sk_buff {
    pub const LEN: u64 = 0;
    pub const PKT_TYPE: u64 = 4;
    pub const MARK: u64 = 8;
    pub const QUEUE_MAPPING: u64 = 12;
    pub const PROTOCOL: u64 = 16;
    pub const VLAN_PRESENT: u64 = 20;
    pub const VLAN_TCI: u64 = 24;
    pub const VLAN_PROTO: u64 = 28;
    pub const PRIORITY: u64 = 32;
    pub const INGRESS_IFINDEX: u64 = 36;
    pub const IFINDEX: u64 = 40;
    pub const TC_INDEX: u64 = 44;
    pub const CB: u64 = 48;
    pub const HASH: u64 = 68;
    pub const TC_CLASSID: u64 = 72;
    pub const DATA: u64 = 76;
    pub const DATA_END: u64 = 80;
    pub const NAPI_ID: u64 = 84;
    pub const FAMILY: u64 = 88;
    pub const REMOTE_IP4: u64 = 92;
    pub const LOCAL_IP4: u64 = 96;
    pub const REMOTE_IP6: u64 = 100;
    pub const LOCAL_IP6: u64 = 116;
    pub const REMOTE_PORT: u64 = 132;
    pub const LOCAL_PORT: u64 = 136;
    pub const DATA_META: u64 = 140;
    pub const FLOW_KEYS: u64 = 144;
    pub const TSTAMP: u64 = 152;
    pub const WIRE_LEN: u64 = 160;
    pub const GSO_SEGS: u64 = 164;
    pub const SK: u64 = 168;
    pub const GSO_SIZE: u64 = 176;
    pub const TSTAMP_TYPE: u64 = 180;
    pub const HWTSTAMP: u64 = 184;

    /// What a tc program may do with a field.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Access {
        ReadWrite,
        Read,
        /// Not accessible to tc programs (the verifier refuses any access):
        /// not mapped.
        None,
    }

    /// Every field: (name, offset, size, access), in layout order.
    pub const FIELDS: &[(&str, u64, u64, Access)] = &[
        ("len", LEN, 4, Access::Read),
        ("pkt_type", PKT_TYPE, 4, Access::Read),
        ("mark", MARK, 4, Access::ReadWrite),
        ("queue_mapping", QUEUE_MAPPING, 4, Access::ReadWrite),
        ("protocol", PROTOCOL, 4, Access::Read),
        ("vlan_present", VLAN_PRESENT, 4, Access::Read),
        ("vlan_tci", VLAN_TCI, 4, Access::Read),
        ("vlan_proto", VLAN_PROTO, 4, Access::Read),
        ("priority", PRIORITY, 4, Access::ReadWrite),
        ("ingress_ifindex", INGRESS_IFINDEX, 4, Access::Read),
        ("ifindex", IFINDEX, 4, Access::Read),
        ("tc_index", TC_INDEX, 4, Access::ReadWrite),
        ("cb", CB, 20, Access::ReadWrite),
        ("hash", HASH, 4, Access::Read),
        ("tc_classid", TC_CLASSID, 4, Access::ReadWrite),
        ("data", DATA, 4, Access::Read),
        ("data_end", DATA_END, 4, Access::Read),
        ("napi_id", NAPI_ID, 4, Access::Read),
        ("family", FAMILY, 4, Access::None),
        ("remote_ip4", REMOTE_IP4, 4, Access::None),
        ("local_ip4", LOCAL_IP4, 4, Access::None),
        ("remote_ip6", REMOTE_IP6, 16, Access::None),
        ("local_ip6", LOCAL_IP6, 16, Access::None),
        ("remote_port", REMOTE_PORT, 4, Access::None),
        ("local_port", LOCAL_PORT, 4, Access::None),
        ("data_meta", DATA_META, 4, Access::Read),
        ("flow_keys", FLOW_KEYS, 8, Access::None),
        ("tstamp", TSTAMP, 8, Access::ReadWrite),
        ("wire_len", WIRE_LEN, 4, Access::Read),
        ("gso_segs", GSO_SEGS, 4, Access::Read),
        ("sk", SK, 8, Access::Read),
        ("gso_size", GSO_SIZE, 4, Access::Read),
        ("tstamp_type", TSTAMP_TYPE, 1, Access::Read),
        ("hwtstamp", HWTSTAMP, 8, Access::Read),
    ];

    /// The field holding byte `off` of the struct, if any.
    pub fn field_at(off: u64) -> Option<(&'static str, u64, u64, Access)> {
        FIELDS
            .iter()
            .copied()
            .find(|&(_, o, n, _)| off >= o && off < o + n)
    }

    /// `eth_type_trans`'s `pkt_type` for a frame arriving on a port whose
    /// address is 00:00:00:00:00:00: 0 host, 1 broadcast, 2 multicast, 3
    /// other host.
    pub fn pkt_type(frame: &[u8]) -> u32 {
        let dst = frame.get(..6).unwrap_or(&[0; 6]);
        if dst.iter().all(|&b| b == 0) {
            0
        } else if dst.iter().all(|&b| b == 0xff) {
            1
        } else if dst[0] & 1 == 1 {
            2
        } else {
            3
        }
    }

    /// `skb->protocol` as `eth_type_trans` sets it, as the 32-bit context
    /// field reads it (the `__be16` in network order: IPv4 is 0x0008).
    pub fn protocol(frame: &[u8]) -> u32 {
        let et = match frame.get(12..14) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]),
            None => return 0,
        };
        let host = if et >= 0x600 {
            et
        } else if frame.get(14..16) == Some(&[0xff, 0xff]) {
            1 // ETH_P_802_3: raw 802.3
        } else {
            4 // ETH_P_802_2
        };
        u32::from(host.swap_bytes())
    }
}

/// Name of the context region holding `__sk_buff` field `name` (tc).
pub fn skb_region(name: &str) -> String {
    format!("__sk_buff.{name}")
}

/// Byte offsets in the SUME metadata header.
pub mod sume_md {
    pub const IN_PORT: usize = 0;
    pub const SRC_QUEUE: usize = 1;
    pub const DST_QUEUE: usize = 2;
    pub const TIMESTAMP_SEC: usize = 3;
    pub const TIMESTAMP_NSEC: usize = 7;
    pub const LENGTH: usize = 11;
    pub const HEADROOM: usize = 13;
}

/// A packet as an ABI presents it: the window bytes (header or headroom,
/// then the frame), the context bytes if the ABI has one, and r1..r5.
pub type Window = (Vec<u8>, Option<Vec<u8>>, [u64; 5]);

/// Which program convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abi {
    Xdp,
    /// tc classifier, direct action (`struct __sk_buff` context).
    Tc,
    Sume,
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// What the receive side knows about a packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxMeta {
    /// Input port (XDP: `ingress_ifindex`; tc: `ingress_ifindex` and
    /// `ifindex`).
    pub in_port: u32,
    /// SUME header fields.
    pub src_queue: u8,
    pub dst_queue: u8,
    /// XDP: `rx_queue_index`.
    pub rx_queue_index: u32,
    /// Arrival time (SUME header; see [`crate::units::DeviceState::now_ns`]).
    pub timestamp_ns: u64,
}

/// What happens to the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// XDP_ABORTED, an unknown action, a failed redirect, or a fault.
    Aborted,
    Drop,
    /// XDP_PASS / SUME CONTROLLER: to the host.
    Pass,
    /// Out of this port (XDP_TX: the input port; SUME: r0).
    Tx(u32),
    /// SUME FLOOD, or an XDP broadcast redirect (`BPF_F_BROADCAST`).
    Flood,
    /// XDP_REDIRECT to this port.
    Redirect(u32),
    /// XDP_REDIRECT to a host queue (CPUMAP, XSKMAP).
    Host(units::HostQueue),
    /// tc: `TC_ACT_REDIRECT` after `bpf_redirect(port, BPF_F_INGRESS)`:
    /// into this port's receive path (to the host, as if it had arrived
    /// there).
    Ingress(u32),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Aborted => f.write_str("aborted"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Pass => f.write_str("pass"),
            Verdict::Tx(p) => write!(f, "tx:{p}"),
            Verdict::Flood => f.write_str("flood"),
            Verdict::Redirect(p) => write!(f, "redirect:{p}"),
            Verdict::Host(q) => write!(f, "redirect:{q}"),
            Verdict::Ingress(p) => write!(f, "ingress:{p}"),
        }
    }
}

/// A packet the ABI cannot present.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    #[error("frame of {0} bytes is too long for the {1} ABI")]
    TooLong(usize, &'static str),
    #[error(
        "frame of {0} bytes is too short for the tc ABI: tc sees frames of at least an Ethernet header ({1} bytes)"
    )]
    TooShort(usize, usize),
    #[error(transparent)]
    Overlap(#[from] OverlapError),
}

fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
    buf[off..off + bytes.len()].copy_from_slice(bytes);
}

// The prologue is two `mov64 rX, imm32` (sign-extending). Both addresses must
// be positive 32-bit values for that encoding; checked at compile time.
const _: () = assert!(contract::CTX_BASE < 0x8000_0000);
const _: () = assert!(PKT_BASE < 0x8000_0000);
const _: () = assert!(contract::STACK_TOP < 0x8000_0000);

impl Abi {
    /// The name as flags and JSON spell it (`xdp`, `tc`, `sume`).
    pub fn name(self) -> &'static str {
        match self {
            Abi::Xdp => "xdp",
            Abi::Tc => "tc",
            Abi::Sume => "sume",
        }
    }

    /// The name as prose writes it (`XDP`, `tc`, `SUME`); also `Display`.
    pub const fn title(self) -> &'static str {
        match self {
            Abi::Xdp => "XDP",
            Abi::Tc => "tc",
            Abi::Sume => "SUME",
        }
    }

    /// What r1 holds when the program starts: the `xdp_md` context for XDP,
    /// `__sk_buff` for tc, the start of the packet window (metadata header,
    /// then the frame) for SUME.
    pub const fn context_pointer(self) -> u64 {
        match self {
            Abi::Xdp | Abi::Tc => contract::CTX_BASE,
            Abi::Sume => PKT_BASE,
        }
    }

    /// Helper ids this ABI supports.
    pub const fn helper_ids(self) -> &'static [u32] {
        match self {
            Abi::Xdp => units::XDP_HELPER_IDS,
            Abi::Tc => units::TC_HELPER_IDS,
            Abi::Sume => units::SUME_HELPER_IDS,
        }
    }

    /// Widest map key and value of the software engines, in bytes (the
    /// device's narrower limit for XDP is [`contract::MAX_KEY_BYTES`] /
    /// [`contract::MAX_VALUE_BYTES`], checked when a program is loaded
    /// onto it).
    pub const fn max_key_value(self) -> (usize, usize) {
        match self {
            Abi::Xdp | Abi::Tc => (contract::SW_MAX_KEY_BYTES, contract::SW_MAX_VALUE_BYTES),
            Abi::Sume => (contract::SUME_MAX_KEY_BYTES, contract::SUME_MAX_VALUE_BYTES),
        }
    }

    /// Why this ABI leaves out helper `id` on purpose, when it does.
    pub fn helper_refusal(self, id: u32) -> Option<&'static str> {
        match self {
            Abi::Tc => units::tc_helper_refusal(id),
            Abi::Xdp | Abi::Sume => None,
        }
    }

    /// "1 map_lookup_elem, 2 map_update_elem, ..." for messages.
    pub fn helper_list(self) -> String {
        self.helper_ids()
            .iter()
            .map(|&id| format!("{id} {}", crate::helpers::linux_name(id).unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Memory (context, packet window, stack; no map values) and r1..r5 for
    /// one packet. A caller that runs the program itself (rather than
    /// through [`execute`]) lends the map values
    /// ([`crate::maps::MapTable::lend`]), resets the engine's per-packet
    /// state ([`crate::units::EngineState::begin_packet`]), and reclaims the
    /// values afterwards; it must not hold the device lock while the program
    /// runs (the helpers take it).
    pub fn context(self, packet: &[u8], rx: &RxMeta) -> Result<(Memory, [u64; 5]), AbiError> {
        let (mut win, ctx, args) = self.window(packet, rx)?;
        win.resize(PKT_WINDOW.max(win.len()), 0);
        let mut m = Memory::new();
        interp::add_stack(&mut m)?;
        m.add(PACKET_REGION, PKT_BASE, win, true)?;
        if let Some(ctx) = ctx {
            match self {
                Abi::Tc => add_skb(&mut m, &ctx)?,
                _ => m.add(CTX_REGION, contract::CTX_BASE, ctx, false)?,
            }
        }
        Ok((m, args))
    }

    /// The packet window (headroom or metadata header, then the frame; no
    /// tail padding), the context bytes (XDP's `xdp_md`), and r1..r5: what
    /// [`Self::context`] places in memory, and what a data plane pushes into
    /// FIFO_MD.
    pub fn window(self, packet: &[u8], rx: &RxMeta) -> Result<Window, AbiError> {
        let mut args = [0u64; 5];
        match self {
            Abi::Xdp => {
                // data_end must fit the 32-bit field.
                if packet.len() > u32::MAX as usize - (PKT_BASE as usize + XDP_HEADROOM) {
                    return Err(AbiError::TooLong(packet.len(), "xdp"));
                }
                let mut win = vec![0u8; XDP_HEADROOM + packet.len()];
                put(&mut win, XDP_HEADROOM, packet);
                let data = PKT_BASE as u32 + XDP_HEADROOM as u32;
                let mut ctx = vec![0u8; XDP_MD_SIZE];
                let fields = [
                    (xdp_md::DATA, data),
                    (xdp_md::DATA_END, data + packet.len() as u32),
                    (xdp_md::DATA_META, data),
                    (xdp_md::INGRESS_IFINDEX, rx.in_port),
                    (xdp_md::RX_QUEUE_INDEX, rx.rx_queue_index),
                    (xdp_md::EGRESS_IFINDEX, 0),
                ];
                for (off, v) in fields {
                    put(&mut ctx, off as usize, &v.to_le_bytes());
                }
                args[0] = contract::CTX_BASE;
                Ok((win, Some(ctx), args))
            }
            Abi::Tc => {
                if packet.len() < contract::ETH_HLEN {
                    return Err(AbiError::TooShort(packet.len(), contract::ETH_HLEN));
                }
                if packet.len() > u32::MAX as usize - (PKT_BASE as usize + TC_HEADROOM) {
                    return Err(AbiError::TooLong(packet.len(), "tc"));
                }
                let mut win = vec![0u8; TC_HEADROOM + packet.len()];
                put(&mut win, TC_HEADROOM, packet);
                let data = PKT_BASE as u32 + TC_HEADROOM as u32;
                let len = packet.len() as u32;
                let mut ctx = vec![0u8; SK_BUFF_SIZE];
                let fields = [
                    (sk_buff::LEN, len),
                    (sk_buff::PKT_TYPE, sk_buff::pkt_type(packet)),
                    (sk_buff::PROTOCOL, sk_buff::protocol(packet)),
                    (sk_buff::INGRESS_IFINDEX, rx.in_port),
                    (sk_buff::IFINDEX, rx.in_port),
                    (sk_buff::DATA, data),
                    (sk_buff::DATA_END, data + len),
                    (sk_buff::DATA_META, data),
                    (sk_buff::WIRE_LEN, len),
                ];
                for (off, v) in fields {
                    put(&mut ctx, off as usize, &v.to_le_bytes());
                }
                args[0] = contract::CTX_BASE;
                Ok((win, Some(ctx), args))
            }
            Abi::Sume => {
                let len = u16::try_from(packet.len())
                    .map_err(|_| AbiError::TooLong(packet.len(), "sume"))?;
                let mut win = vec![0u8; SUME_MD_SIZE + packet.len()];
                win[sume_md::IN_PORT] = rx.in_port as u8;
                win[sume_md::SRC_QUEUE] = rx.src_queue;
                win[sume_md::DST_QUEUE] = rx.dst_queue;
                let sec = (rx.timestamp_ns / 1_000_000_000) as u32;
                let nsec = (rx.timestamp_ns % 1_000_000_000) as u32;
                put(&mut win, sume_md::TIMESTAMP_SEC, &sec.to_le_bytes());
                put(&mut win, sume_md::TIMESTAMP_NSEC, &nsec.to_le_bytes());
                put(&mut win, sume_md::LENGTH, &len.to_le_bytes());
                put(&mut win, SUME_MD_SIZE, packet);
                args[0] = PKT_BASE;
                Ok((win, None, args))
            }
        }
    }

    /// Helpers of this ABI for engine 0.
    pub fn helpers(self, dev: &SharedDeviceState) -> Helpers {
        self.engine_helpers(dev, 0)
    }

    /// Helpers of this ABI for `engine` (redirect state is per engine).
    pub fn engine_helpers(self, dev: &SharedDeviceState, engine: usize) -> Helpers {
        match self {
            Abi::Xdp => units::xdp_helpers(dev, engine),
            Abi::Tc => units::tc_helpers(dev, engine),
            Abi::Sume => units::sume_helpers(dev, engine),
        }
    }

    /// Which helper ids this ABI provides (for
    /// [`crate::validate::Limits::helper_known`]).
    pub fn helper_known(self) -> fn(u32) -> bool {
        match self {
            Abi::Xdp => units::xdp_helper_known,
            Abi::Tc => units::tc_helper_known,
            Abi::Sume => units::sume_helper_known,
        }
    }

    /// Decode r0 at exit (and the engine's redirect target).
    pub fn verdict(self, r0: u64, rx: &RxMeta, redirect: Option<RedirectTarget>) -> Verdict {
        match self {
            Abi::Xdp => match r0 as u32 as u64 {
                contract::XDP_DROP => Verdict::Drop,
                contract::XDP_PASS => Verdict::Pass,
                contract::XDP_TX => Verdict::Tx(rx.in_port),
                contract::XDP_REDIRECT => match redirect {
                    Some(RedirectTarget::Port(p)) => Verdict::Redirect(p),
                    Some(RedirectTarget::Broadcast { .. }) => Verdict::Flood,
                    Some(RedirectTarget::Host(q)) => Verdict::Host(q),
                    None | Some(RedirectTarget::Ingress(_)) => Verdict::Aborted,
                },
                _ => Verdict::Aborted,
            },
            Abi::Tc => match r0 as u32 as i32 {
                contract::TC_ACT_SHOT | contract::TC_ACT_STOLEN | contract::TC_ACT_TRAP => {
                    Verdict::Drop
                }
                contract::TC_ACT_REDIRECT => match redirect {
                    Some(RedirectTarget::Port(p)) => Verdict::Redirect(p),
                    Some(RedirectTarget::Ingress(p)) => Verdict::Ingress(p),
                    // No target (or one tc cannot set): the kernel's
                    // skb_do_redirect finds no device and drops.
                    _ => Verdict::Drop,
                },
                // OK, UNSPEC, and whatever cls_bpf turns into UNSPEC.
                _ => Verdict::Pass,
            },
            Abi::Sume => match r0 {
                contract::SUME_DROP => Verdict::Drop,
                contract::SUME_CONTROLLER => Verdict::Pass,
                contract::SUME_FLOOD => Verdict::Flood,
                p if p < contract::SUME_DROP => Verdict::Tx(p as u32),
                _ => Verdict::Aborted,
            },
        }
    }

    /// The frame after the run (XDP and tc: `data..data_end`, as moved by
    /// the helpers; SUME: `length` bytes after the header).
    pub fn frame(self, mem: &Memory) -> Option<Vec<u8>> {
        let w = mem.region(PACKET_REGION)?;
        match self {
            Abi::Tc => {
                let f = |o: u64| mem.load(contract::CTX_BASE + o, crate::isa::Width::W).ok();
                let (d, e) = (f(sk_buff::DATA)?, f(sk_buff::DATA_END)?);
                if d < w.base || e > w.end() || d > e {
                    return None;
                }
                Some(w.data[(d - w.base) as usize..(e - w.base) as usize].to_vec())
            }
            Abi::Xdp => {
                let c = mem.region(CTX_REGION)?;
                let f = |o: u64| {
                    let o = o as usize;
                    u32::from_le_bytes([c.data[o], c.data[o + 1], c.data[o + 2], c.data[o + 3]])
                        as u64
                };
                let (d, e) = (f(xdp_md::DATA), f(xdp_md::DATA_END));
                if d < w.base || e > w.end() || d > e {
                    return None;
                }
                Some(w.data[(d - w.base) as usize..(e - w.base) as usize].to_vec())
            }
            Abi::Sume => {
                let l = sume_md::LENGTH;
                let len = u16::from_le_bytes([w.data[l], w.data[l + 1]]) as usize;
                w.data
                    .get(SUME_MD_SIZE..SUME_MD_SIZE + len)
                    .map(<[u8]>::to_vec)
            }
        }
    }
}

/// Place `__sk_buff` (the 192 bytes of `ctx`) at [`contract::CTX_BASE`],
/// one region per field, writable as [`sk_buff::FIELDS`] says; fields a tc
/// program may not access stay unmapped.
fn add_skb(m: &mut Memory, ctx: &[u8]) -> Result<(), OverlapError> {
    for &(name, off, size, access) in sk_buff::FIELDS {
        let bytes = ctx[off as usize..(off + size) as usize].to_vec();
        match access {
            sk_buff::Access::ReadWrite => {
                m.add(skb_region(name), contract::CTX_BASE + off, bytes, true)?
            }
            sk_buff::Access::Read => {
                m.add(skb_region(name), contract::CTX_BASE + off, bytes, false)?
            }
            sk_buff::Access::None => {}
        }
    }
    Ok(())
}

impl Abi {
    /// The context's bytes in `mem` (tc: all of `__sk_buff`, unmapped
    /// fields 0; XDP: `xdp_md`; SUME: none).
    pub fn ctx_bytes(self, mem: &Memory) -> Vec<u8> {
        match self {
            Abi::Tc => {
                let mut out = vec![0u8; SK_BUFF_SIZE];
                for &(name, off, size, _) in sk_buff::FIELDS {
                    if let Some(r) = mem.region(&skb_region(name)) {
                        let n = (size as usize).min(r.data.len());
                        out[off as usize..off as usize + n].copy_from_slice(&r.data[..n]);
                    }
                }
                out
            }
            Abi::Xdp => mem
                .region(CTX_REGION)
                .map(|r| r.data.clone())
                .unwrap_or_default(),
            Abi::Sume => Vec::new(),
        }
    }
}

/// One packet through one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub r0: u64,
    pub verdict: Verdict,
    /// The frame after the run.
    pub frame: Vec<u8>,
    /// The context after the run (tc: the 192 bytes of `__sk_buff`, as the
    /// program and the helpers left them; XDP: `xdp_md`; SUME: empty).
    pub ctx: Vec<u8>,
    pub insns: u64,
    /// Helper calls and their modeled cycles in this run.
    pub helper_calls: u64,
    pub helper_cycles: u64,
    /// The run faulted (verdict is [`Verdict::Aborted`]).
    pub fault: Option<Fault>,
    /// Clocks from first fetch to verdict (pipeline model only), with the
    /// packet already in FIFO_MD.
    pub cycles: Option<u64>,
    /// The resident program that ended the run (1: the one run; after
    /// tail calls, the id of the last one jumped to): where a fault's pc is.
    pub program: u32,
}

/// Which engine model runs the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// The reference interpreter (architectural state only).
    Interp,
    /// The cycle-accurate pipeline model; helper latencies come from the
    /// device's helper units (map operations at CAM/TCAM timing).
    Pipeline,
}

/// Run `prog` on `packet` as engine `engine` of the device `dev` with the
/// reference interpreter: build the context, lend the map values, run,
/// take the values back (also after a fault), decode the verdict. Faults
/// give [`Verdict::Aborted`] with the fault recorded, as the device does.
/// The device timer is not advanced (the device model owns time).
#[allow(clippy::too_many_arguments)]
pub fn execute<T: Tracer>(
    abi: Abi,
    prog: &Program,
    dev: &SharedDeviceState,
    engine: usize,
    packet: &[u8],
    rx: &RxMeta,
    cfg: &Config,
    tracer: &mut T,
) -> Result<Execution, AbiError> {
    execute_on(
        EngineKind::Interp,
        abi,
        prog,
        dev,
        engine,
        packet,
        rx,
        cfg,
        tracer,
    )
}

/// [`execute`] on a chosen engine model. Both models see the same context,
/// maps and helper units, so their verdicts and frames must agree; the
/// pipeline also reports the clocks the packet took.
#[allow(clippy::too_many_arguments)]
pub fn execute_on<T: Tracer>(
    kind: EngineKind,
    abi: Abi,
    prog: &Program,
    dev: &SharedDeviceState,
    engine: usize,
    packet: &[u8],
    rx: &RxMeta,
    cfg: &Config,
    tracer: &mut T,
) -> Result<Execution, AbiError> {
    Runner::new(kind, abi, prog, dev, engine, cfg).run(packet, rx, tracer)
}

/// [`execute_on`] for packet after packet of one program on one engine of
/// a device: the memory (stack, context, packet window, map regions), the
/// helper table and (pipeline) the decoded instruction memory are built
/// once and reused; every packet starts from a zeroed stack and a fresh
/// context and window, as [`execute_on`] gives it. Map state carries from
/// packet to packet through the device, as in [`execute_on`].
pub struct Runner {
    kind: EngineKind,
    abi: Abi,
    prog: std::sync::Arc<Program>,
    dev: SharedDeviceState,
    engine: usize,
    cfg: Config,
    /// The memory of the last packet (None before the first).
    mem: Option<Memory>,
    helpers: Helpers,
    /// Pipeline: the instruction memory and the engine configuration.
    pipe: Option<(crate::pipeline::InstrMem, crate::pipeline::Config)>,
    /// Pipeline: the instruction memories of the resident programs tail
    /// calls reached, by program id.
    tails: std::collections::BTreeMap<u32, crate::pipeline::InstrMem>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("kind", &self.kind)
            .field("abi", &self.abi)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Runner {
    pub fn new(
        kind: EngineKind,
        abi: Abi,
        prog: &Program,
        dev: &SharedDeviceState,
        engine: usize,
        cfg: &Config,
    ) -> Self {
        let prog = std::sync::Arc::new(prog.clone());
        let pipe = match kind {
            EngineKind::Interp => None,
            EngineKind::Pipeline => Some((
                crate::pipeline::InstrMem::with_program(prog.clone()),
                crate::pipeline::Config {
                    helper_latency: crate::pipeline::HelperLatency::from_device(
                        dev.clone(),
                        engine,
                    ),
                    // The whole packet window is present when the program
                    // starts: these are the program's own cycles. Arrival
                    // at line rate (FIFO_MD word by word) belongs to device
                    // runs, where frames, not ABI windows, are paced.
                    pacing: crate::pipeline::Pacing::Instant,
                    ..crate::pipeline::Config::from(cfg)
                },
            )),
        };
        Runner {
            kind,
            abi,
            prog,
            dev: dev.clone(),
            engine,
            cfg: *cfg,
            mem: None,
            helpers: abi.engine_helpers(dev, engine),
            pipe,
            tails: std::collections::BTreeMap::new(),
        }
    }

    /// Place `packet` in the memory: the last packet's memory with its
    /// stack zeroed and context and window rewritten, or a new one.
    fn load(&mut self, packet: &[u8], rx: &RxMeta) -> Result<(Memory, [u64; 5]), AbiError> {
        if let Some(mut m) = self.mem.take() {
            let (mut win, ctx, args) = self.abi.window(packet, rx)?;
            win.resize(PKT_WINDOW.max(win.len()), 0);
            let reused = match m.region_mut(PACKET_REGION) {
                Some(r) => {
                    r.data = win;
                    true
                }
                None => false,
            } && match (ctx, m.region_mut(CTX_REGION)) {
                (Some(c), Some(r)) => {
                    r.data = c;
                    true
                }
                (None, None) => true,
                _ => false,
            } && match m.region_mut(interp::STACK_REGION) {
                Some(r) => {
                    r.data.fill(0);
                    true
                }
                None => false,
            };
            if reused {
                return Ok((m, args));
            }
        }
        self.abi.context(packet, rx)
    }

    /// Run the program on `packet`.
    pub fn run<T: Tracer>(
        &mut self,
        packet: &[u8],
        rx: &RxMeta,
        tracer: &mut T,
    ) -> Result<Execution, AbiError> {
        let (mut m, args) = self.load(packet, rx)?;
        let mem = &mut m;
        let engine = self.engine;
        let (calls0, cycles0) = self.dev.with(|d| {
            if let Err(e) = d.maps.lend(mem) {
                d.maps.reclaim(mem);
                return Err(e);
            }
            let e = d.engine_mut(engine);
            e.begin_packet();
            Ok::<_, OverlapError>((e.helper_calls, e.helper_cycles))
        })?;
        // Tail calls: a taken `bpf_tail_call` stops the program; the
        // resident program it names then runs on the same context, packet
        // and maps with a zeroed stack, r1 the context and r10 a fresh
        // frame (the prologue), its instructions and clocks added.
        let mut tail: Option<(u32, std::sync::Arc<Program>)> = None;
        let mut program = 1;
        let (mut insns, mut total_clocks) = (0u64, 0u64);
        let (res, clocks) = loop {
            let (res, clocks) = match (self.pipe.as_mut(), &tail) {
                (None, t) => {
                    let prog = t.as_ref().map_or(&self.prog, |(_, p)| p);
                    (
                        interp::run(prog, mem, &mut self.helpers, args, &self.cfg, tracer),
                        None,
                    )
                }
                (Some((imem, pcfg)), t) => {
                    let imem = match t {
                        None => imem,
                        Some((id, p)) => self
                            .tails
                            .entry(*id)
                            .or_insert_with(|| crate::pipeline::InstrMem::with_program(p.clone())),
                    };
                    let rep = crate::pipeline::run_report_on(
                        imem,
                        mem,
                        &mut self.helpers,
                        args,
                        pcfg,
                        tracer,
                        &mut crate::pipeline::NoCycles,
                    );
                    (rep.result, Some(rep.cycles))
                }
            };
            total_clocks += clocks.unwrap_or(0);
            let next = self.dev.with(|d| {
                let id = d.engine_mut(engine).tail.take()?;
                Some((id, d.maps.program(id).cloned()))
            });
            match (res, next) {
                (Ok(o), Some((id, Some(p)))) => {
                    insns += o.insns;
                    if let Some(r) = mem.region_mut(interp::STACK_REGION) {
                        r.data.fill(0);
                    }
                    tail = Some((id, p));
                    program = id;
                }
                (Ok(_), Some((id, None))) => {
                    let f = crate::interp::Fault {
                        pc: 0,
                        kind: crate::interp::FaultKind::Helper {
                            id: contract::HELPER_TAIL_CALL,
                            name: "tail_call",
                            msg: format!("program id {id} is not resident"),
                        },
                    };
                    break (Err(f), clocks.map(|_| total_clocks));
                }
                (Ok(mut o), None) => {
                    o.insns += insns;
                    break (Ok(o), clocks.map(|_| total_clocks));
                }
                (Err(f), _) => break (Err(f), clocks.map(|_| total_clocks)),
            }
        };
        let (redirect, calls, cycles) = self.dev.with(|d| {
            d.maps.reclaim(mem);
            let e = d.engine(engine);
            (
                e.redirect,
                e.helper_calls - calls0,
                e.helper_cycles - cycles0,
            )
        });
        let frame = self.abi.frame(mem).unwrap_or_default();
        let ctx = self.abi.ctx_bytes(mem);
        let abi = self.abi;
        self.mem = Some(m);
        Ok(match res {
            Ok(o) => Execution {
                r0: o.r0,
                verdict: self.abi.verdict(o.r0, rx, redirect),
                frame,
                ctx,
                insns: o.insns,
                helper_calls: calls,
                helper_cycles: cycles,
                fault: None,
                cycles: clocks,
                program,
            },
            Err(mut f) => {
                name_ctx_hole(abi, &mut f);
                Execution {
                    r0: 0,
                    verdict: Verdict::Aborted,
                    frame,
                    ctx,
                    insns: 0,
                    helper_calls: calls,
                    helper_cycles: cycles,
                    fault: Some(f),
                    cycles: clocks,
                    program,
                }
            }
        })
    }
}

/// A tc program's access to a `__sk_buff` field it may not touch (not
/// mapped): the fault names the field.
fn name_ctx_hole(abi: Abi, f: &mut Fault) {
    if let (Abi::Tc, crate::interp::FaultKind::Mem(m)) = (abi, &mut f.kind)
        && !m.read_only
        && let Some(off) = m.addr.checked_sub(contract::CTX_BASE)
        && off < SK_BUFF_SIZE as u64
    {
        m.region = match sk_buff::field_at(off) {
            Some((name, ..)) => {
                format!("__sk_buff.{name}, which tc programs may not access")
            }
            None => "padding of __sk_buff, which tc programs may not access".into(),
        };
    }
}

/// [`execute`] without tracing, default limits.
pub fn execute_plain(
    abi: Abi,
    prog: &Program,
    dev: &SharedDeviceState,
    engine: usize,
    packet: &[u8],
    rx: &RxMeta,
) -> Result<Execution, AbiError> {
    execute(
        abi,
        prog,
        dev,
        engine,
        packet,
        rx,
        &Config::default(),
        &mut crate::trace::NoTrace,
    )
}

#[cfg(test)]
mod tests;
