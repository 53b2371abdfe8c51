//! The hardware contract: facts every side (model, RTL, loader, agent) shares.
//!
//! This module owns the engine address map (what a program's pointers mean),
//! the stack and call-frame geometry, and the timing defaults. The register
//! map, the ABIs and action codes join it as the device grows; the RTL's
//! parameters are generated from, and checked against, these constants.
//!
//! Address map of one engine (all below 4 GiB so XDP's 32-bit `data`
//! pointers work):
//!
//! | region  | base          | size                      | access |
//! |---------|---------------|---------------------------|--------|
//! | context | `0x1000_0000` | ABI-defined (`xdp_md`: 24 B) | read |
//! | packet  | `0x2000_0000` | FIFO_MD window, 64 x 32 B | read/write |
//! | stack   | `0x3000_0000` | 8 frames x 512 B          | read/write |
//! | maps    | `0x4000_0000` | map values                | read/write |
//!
//! Address 0 and everything not listed is unmapped: an access there faults.

/// Base of the context region (`xdp_md` for the XDP ABI).
pub const CTX_BASE: u64 = 0x1000_0000;
/// Base of the packet window (FIFO_MD). The conformance suite's `-- mem`
/// buffer is placed here too.
pub const PKT_BASE: u64 = 0x2000_0000;
/// Base of the stack region. Frame 0's r10 is `STACK_BASE + STACK_SIZE`.
pub const STACK_BASE: u64 = 0x3000_0000;
/// Base of the map-value region.
pub const MAP_BASE: u64 = 0x4000_0000;

/// Bytes of stack per frame (Linux's limit for one program frame).
pub const STACK_FRAME: u64 = 512;
/// Maximum bpf-to-bpf call depth, counting the entry frame (Linux: 8).
pub const MAX_FRAMES: usize = 8;
/// Whole stack region.
pub const STACK_SIZE: u64 = STACK_FRAME * MAX_FRAMES as u64;
/// r10 of the entry frame.
pub const STACK_TOP: u64 = STACK_BASE + STACK_SIZE;

/// Default instruction budget per packet of the reference executors (the
/// interpreter, a lone pipeline engine, the conformance runs): runaway
/// programs are stopped. The device's default is [`DEVICE_INSN_BUDGET`].
pub const DEFAULT_INSN_BUDGET: u64 = 1 << 20;

/// FIFO_MD geometry: 128 words of 256 bits (4 KiB) per engine: two
/// largest frames with their headers (2 x (48 + 1) words), so a program
/// that waits for the whole of a 1,500-byte frame still has the next frame
/// arriving behind it at line rate (64 words held one such frame and lost
/// every other one). A power of two (ring indices wrap by masking).
pub const FIFO_WORDS: usize = 128;
/// Bits of a FIFO_MD word index (log2 [`FIFO_WORDS`]).
pub const FIFO_WORD_INDEX_BITS: u32 = FIFO_WORDS.trailing_zeros();
const _: () = assert!(FIFO_WORDS.is_power_of_two() && FIFO_WORDS <= 128);
pub const FIFO_WORD_BYTES: usize = 32;
/// Packet window size in bytes.
pub const PKT_WINDOW: usize = FIFO_WORDS * FIFO_WORD_BYTES;
/// Bits of a byte offset in the packet window (log2 [`PKT_WINDOW`]).
pub const PKT_WINDOW_BITS: u32 = PKT_WINDOW.trailing_zeros();

/// Engine clock, Hz (the reported 200 MHz).
pub const CLOCK_HZ: u64 = 200_000_000;

/// Maximum number of maps in the map table (the existing bitstream's 64).
pub const MAX_MAPS: usize = 64;
/// Address-space stride between maps in the map-value region: map `i`'s
/// values start at `MAP_BASE + i * MAP_STRIDE`. The same address is the map's
/// handle (what `lddw rX, map` loads and helpers receive in r1), so a handle
/// can never be confused with a small integer.
pub const MAP_STRIDE: u64 = 0x10_0000;

/// Handle (and value-area base) of map `index`.
pub const fn map_handle(index: usize) -> u64 {
    MAP_BASE + index as u64 * MAP_STRIDE
}

/// Map index of a handle, if it is one.
pub const fn map_index(handle: u64) -> Option<usize> {
    let off = handle.wrapping_sub(MAP_BASE);
    if off < MAX_MAPS as u64 * MAP_STRIDE && off.is_multiple_of(MAP_STRIDE) {
        Some((off / MAP_STRIDE) as usize)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Engine core timing (pipeline model, `crate::pipeline`). Owned by the
// pipeline branch; docs/pipeline.md tabulates these and a test checks that the
// table matches both these constants and the cycle counts the model measures.
// ---------------------------------------------------------------------------

/// Pipeline depth: IF, ID, EX, MEM, WB.
pub const PIPE_STAGES: u64 = 5;
/// Cycles an instruction spends in EX on the multiplier (`mul`, 32 and 64
/// bit). A 64 x 64 -> 64 product on Virtex-7 DSP48E1 slices (25 x 18) is a
/// cascade of partial products; registered at input, between cascades and at
/// output it closes 200 MHz with 4 cycles. Not pipelined across instructions
/// in this core: the EX stage is busy for all 4.
pub const MUL_CYCLES: u64 = 4;
/// Cycles in EX on the divider for 32-bit `div`/`sdiv`/`mod`/`smod`: a
/// radix-2 restoring divider, one quotient bit per cycle, plus one cycle to
/// take operand signs and one to fix the result's sign (bits + 2).
pub const DIV32_CYCLES: u64 = 32 + 2;
/// Cycles in EX on the divider for 64-bit division and modulo (bits + 2).
pub const DIV64_CYCLES: u64 = 64 + 2;
/// Cycles in MEM for an atomic read-modify-write: one to read the word, one
/// to write the modified word back (the port is held between them).
pub const ATOMIC_MEM_CYCLES: u64 = 2;
/// Cycles in IF for `lddw`: the instruction memory keeps even and odd slots
/// in two halves, each read every clock, so IF has the slot at its pc and
/// the one after it and fetches both of an `lddw` in one cycle
/// (`rtl/ebpf_imem.v`). The model's IF and the RTL's are built for 1 only
/// (both assert it), so IF never stalls on its own and no stall cause is
/// IF's.
pub const LDDW_FETCH_CYCLES: u64 = 1;
/// Bubbles after a taken branch, jump, local call or return: control
/// transfers resolve in EX, predicting not taken, so IF and ID are discarded.
pub const TAKEN_BRANCH_PENALTY: u64 = 2;
/// Bubbles between a load (or any result made in MEM: atomic fetch, helper
/// r0) and an instruction right behind it that reads the loaded register.
pub const LOAD_USE_PENALTY: u64 = 1;
/// Default latency of a helper call, in MEM cycles from request to answer,
/// for helper ids without an entry in the per-helper latency table.
pub const HELPER_DEFAULT_CYCLES: u64 = 4;
/// Maximum packets queued in one engine's FIFO_MD (32 of the smallest
/// 64-byte frames, 2 words each with the header, fill half of it).
pub const FIFO_MAX_PACKETS: usize = 32;
/// Default port rate feeding FIFO_MD: one 10 Gb/s port.
pub const PORT_RATE_BPS: u64 = 10_000_000_000;
/// Bytes a frame occupies on the wire besides its own: preamble and start
/// delimiter (8) and the minimum inter-frame gap (12).
pub const WIRE_OVERHEAD_BYTES: u64 = 20;
/// Largest Ethernet frame, FCS included (untagged).
pub const MAX_FRAME_BYTES: u64 = 1518;

/// Clocks of [`CLOCK_HZ`] that a frame of `frame_bytes` occupies on one port
/// at [`PORT_RATE_BPS`] (overhead included), rounded up.
pub const fn wire_clocks(frame_bytes: u64) -> u64 {
    ((frame_bytes + WIRE_OVERHEAD_BYTES) * 8 * CLOCK_HZ).div_ceil(PORT_RATE_BPS)
}

/// The device's default instruction budget per packet, per function: the
/// clocks one full-size frame occupies on its port, so that a function
/// never spends more than one full-size frame time on a packet (every
/// instruction takes at least one clock):
/// (1518 + 20) B x 8 / 10 Gb/s = 1230.4 ns, x 200 MHz = 246.08, rounded up
/// to 247 instructions. A runaway function stopped there still costs its
/// engine at least 247 clocks per packet, not the 2^20 of
/// [`DEFAULT_INSN_BUDGET`]. Headroom: every function of `programs/` runs at
/// most 1/[`BUDGET_MARGIN`] of it on its longest path (the IPv4 router of
/// the SUME ABI, the longest, 73 instructions; a loader test checks them
/// all). A function that needs more sets its own (`BUDGET` register,
/// `nfbpf load --budget`).
pub const DEVICE_INSN_BUDGET: u64 = wire_clocks(MAX_FRAME_BYTES);
/// How far under [`DEVICE_INSN_BUDGET`] the longest path of every function
/// in `programs/` stays: at most a third of it.
pub const BUDGET_MARGIN: u64 = 3;

// ---------------------------------------------------------------------------
// BEGIN maps/abi section (branch `maps`): map coprocessor, helpers, ABIs.
// Additive only; everything below is owned by `maps`, `units` and `abi`.
// ---------------------------------------------------------------------------

/// Map type codes (Linux `enum bpf_map_type`; the map table's TYPEMAP).
pub const MAP_TYPE_HASH: u32 = 1;
pub const MAP_TYPE_ARRAY: u32 = 2;
pub const MAP_TYPE_LPM_TRIE: u32 = 11;
pub const MAP_TYPE_DEVMAP: u32 = 14;
/// Map types of the software engines only (interpreter, pipeline, one
/// engine's view): the RTL map coprocessor does not take them, so the
/// device refuses them at TYPEMAP.
pub const MAP_TYPE_PERCPU_HASH: u32 = 5;
pub const MAP_TYPE_PERCPU_ARRAY: u32 = 6;
pub const MAP_TYPE_LRU_HASH: u32 = 9;
pub const MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
pub const MAP_TYPE_CPUMAP: u32 = 16;
pub const MAP_TYPE_XSKMAP: u32 = 17;
pub const MAP_TYPE_DEVMAP_HASH: u32 = 25;
/// Program and map-in-map maps (software engines only): slots hold the ids
/// of resident programs or of other maps.
pub const MAP_TYPE_PROG_ARRAY: u32 = 3;
pub const MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;
pub const MAP_TYPE_HASH_OF_MAPS: u32 = 13;
/// Linux's `MAX_TAIL_CALL_CNT`: tail calls one packet may make.
pub const MAX_TAIL_CALL_CNT: u32 = 33;

/// Map update flags (Linux).
pub const BPF_ANY: u64 = 0;
pub const BPF_NOEXIST: u64 = 1;
pub const BPF_EXIST: u64 = 2;
/// `bpf_redirect_map` flags (Linux): send to every port of the map,
/// optionally not back to the ingress port.
pub const BPF_F_BROADCAST: u64 = 1 << 3;
pub const BPF_F_EXCLUDE_INGRESS: u64 = 1 << 4;

/// Error numbers helpers return as `-errno` in r0 (Linux values).
pub const ENOENT: i64 = 2;
pub const E2BIG: i64 = 7;
pub const EEXIST: i64 = 17;
pub const EACCES: i64 = 13;
pub const EFAULT: i64 = 14;
pub const EINVAL: i64 = 22;
pub const ENOSPC: i64 = 28;

/// Helper numbers (Linux `enum bpf_func_id`; SUME uses 1..3 with by-value
/// keys and values).
pub const HELPER_MAP_LOOKUP_ELEM: u32 = 1;
pub const HELPER_MAP_UPDATE_ELEM: u32 = 2;
pub const HELPER_MAP_DELETE_ELEM: u32 = 3;
pub const HELPER_KTIME_GET_NS: u32 = 5;
pub const HELPER_TRACE_PRINTK: u32 = 6;
pub const HELPER_GET_PRANDOM_U32: u32 = 7;
pub const HELPER_TAIL_CALL: u32 = 12;
pub const HELPER_REDIRECT: u32 = 23;
pub const HELPER_CSUM_DIFF: u32 = 28;
pub const HELPER_XDP_ADJUST_HEAD: u32 = 44;
pub const HELPER_REDIRECT_MAP: u32 = 51;
pub const HELPER_XDP_ADJUST_TAIL: u32 = 65;
pub const HELPER_GET_SMP_PROCESSOR_ID: u32 = 8;
pub const HELPER_XDP_ADJUST_META: u32 = 54;
pub const HELPER_XDP_GET_BUFF_LEN: u32 = 188;
pub const HELPER_XDP_LOAD_BYTES: u32 = 189;
pub const HELPER_XDP_STORE_BYTES: u32 = 190;

/// XDP actions (r0 at exit, XDP ABI).
pub const XDP_ABORTED: u64 = 0;
pub const XDP_DROP: u64 = 1;
pub const XDP_PASS: u64 = 2;
pub const XDP_TX: u64 = 3;
pub const XDP_REDIRECT: u64 = 4;

/// SUME ABI special output ports (r0 at exit; any smaller value is a port).
pub const SUME_DROP: u64 = 0xfff0;
pub const SUME_CONTROLLER: u64 = 0xfff1;
pub const SUME_FLOOD: u64 = 0xffff;
/// SUME ABI: what a by-value map lookup returns when the key is absent.
pub const SUME_LOOKUP_MISS: u64 = 0xffff_ffff;
/// SUME ABI: bytes of the packed metadata header in front of the frame.
pub const SUME_MD_SIZE: usize = 32;

/// XDP ABI: bytes of `struct xdp_md` (six u32) at [`CTX_BASE`].
pub const XDP_MD_SIZE: usize = 24;
/// XDP ABI: headroom in front of the frame in the packet window, so
/// `bpf_xdp_adjust_head` can grow the packet (Linux reserves 256 B,
/// `XDP_PACKET_HEADROOM`). The frame starts at `PKT_BASE + XDP_HEADROOM`.
pub const XDP_HEADROOM: usize = 256;
/// Bytes at the start of the headroom that `bpf_xdp_adjust_head` and
/// `bpf_xdp_adjust_meta` cannot reach: Linux keeps its `struct xdp_frame`
/// there (40 bytes on x86-64), so a packet start or metadata may grow into
/// the other 216 bytes, the same on the device as on Linux.
pub const XDP_FRAME_BYTES: u64 = 40;
/// Minimum frame length `xdp_adjust_head`/`xdp_adjust_tail` leave (Linux's
/// `ETH_HLEN`).
pub const ETH_HLEN: usize = 14;

/// The map unit's latencies, clocks from an operation's issue slot to its
/// answer (the model's `maps::MapTiming::default`, the RTL's
/// `ebpf_units_params.vh`). The CAM and TCAM are this project's: every
/// entry holds its key (and the TCAM's mask and prefix length) in
/// registers and is compared with the searched key at once, so an
/// operation takes its key's port words, one clock to compare every entry,
/// one to select the hit (the CAM's one match, the TCAM's longest prefix,
/// or the CAM's lowest free entry) and read its value, and the answer:
/// CAM read and write 4 clocks, TCAM read and write 5 (one more for the
/// longest-prefix select over 64 lengths). The published coprocessor used
/// a vendor CAM core with 10/12 and 10/26 ([`PUBLISHED_CAM_READ_CYCLES`]
/// ..), which `maps::MapTiming::published` keeps as a preset. ARRAY and
/// DEVMAP are direct-indexed block RAM: the project's choice of 2 cycles
/// for read and write.
pub const CAM_READ_CYCLES: u32 = 4;
pub const CAM_WRITE_CYCLES: u32 = 4;
pub const TCAM_READ_CYCLES: u32 = 5;
pub const TCAM_WRITE_CYCLES: u32 = 5;
pub const ARRAY_READ_CYCLES: u32 = 2;
pub const ARRAY_WRITE_CYCLES: u32 = 2;
/// The published system's map coprocessor latencies (its CAM read 10 and
/// write 12 clocks, TCAM read 10 and write 26), which it ran one
/// operation at a time ([`MapIssue::Serial`]): the model's
/// `maps::MapTiming::published` preset, which `nfbpf report` runs beside
/// the project's unit. The RTL builds the project's unit only.
pub const PUBLISHED_CAM_READ_CYCLES: u32 = 10;
pub const PUBLISHED_CAM_WRITE_CYCLES: u32 = 12;
pub const PUBLISHED_TCAM_READ_CYCLES: u32 = 10;
pub const PUBLISHED_TCAM_WRITE_CYCLES: u32 = 26;
/// CAM and TCAM capacities (entries shared by all maps of that kind, as in
/// the existing bitstream's 64-entry tables).
pub const CAM_ENTRIES: usize = 64;
pub const TCAM_ENTRIES: usize = 64;
/// Key bytes of one entry of the RTL's CAM (`rtl/ebpf_cam.v`): a HASH map
/// of the XDP ABI on the RTL device has keys of at most this many bytes
/// (an IPv4 5-tuple with its padding, `programs/firewall.c`'s 16). Such a
/// key is read from the calling engine in [`RTL_CAM_KEY_BYTES`] /
/// [`RTL_HELPER_PORT_BYTES`] (two) port words, in the request's clock and
/// the next; the coprocessor runs the operation from the clock after the
/// last word, which every CAM latency leaves room for, so the model's
/// timing holds unchanged (docs/rtl.md, "Wide CAM keys"). The TCAM keeps
/// LPM keys of 4 + 4 bytes, the SUME ABI's by-value view.
pub const RTL_CAM_KEY_BYTES: usize = 16;

/// Clocks from a host map operation's register write (OPERATION, or a
/// WIDEOP other than a next-key step) to the first clock that reads its
/// result (ACK 1, WIDESTATUS done), counting the write's clock: the write
/// latches in its clock, the coprocessor runs the operation in the next
/// (when its queue of engine operations is empty) and the result reads
/// back in the one after. The model follows it with
/// [`crate::device::Device::set_host_clocked`].
pub const HOST_OP_CLOCKS: u64 = 2;

/// What a next-key scan (WIDEOP 4) walks: every entry of the CAM (HASH)
/// or TCAM (LPM_TRIE), one a clock, or for ARRAY and DEVMAP the indices
/// from `from` (the key + 1, or 0 for the first) to `stop` (the index
/// found, or max_entries when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanWalk {
    Cam,
    Tcam,
    Direct { from: u64, stop: u64 },
}

/// Clocks of a next-key scan's walk, one storage read each: at least one
/// (an index walk that starts at or past max_entries reads nothing and
/// ends in its first clock).
pub const fn scan_steps(walk: ScanWalk) -> u64 {
    match walk {
        ScanWalk::Cam => CAM_ENTRIES as u64,
        ScanWalk::Tcam => TCAM_ENTRIES as u64,
        ScanWalk::Direct { from, stop } => {
            if stop > from {
                stop - from + 1
            } else {
                1
            }
        }
    }
}

/// Clocks from a WIDEOP 4 write to the first clock that reads WIDESTATUS
/// done, counting the write's clock: [`HOST_OP_CLOCKS`] to start the
/// scan, its `steps` ([`scan_steps`]) and one clock to hand the result to
/// the register window. A CAM or TCAM scan takes
/// `HOST_OP_CLOCKS + 64 + 1 = 67`.
pub const fn scan_clocks(steps: u64) -> u64 {
    HOST_OP_CLOCKS + steps + 1
}

/// Latencies of the helpers that are not map operations, cycles (the
/// project's choices): timer and PRNG are one register read; redirect and
/// adjust_head/adjust_tail one register write. The helpers that read or
/// write buffers in engine memory (csum_diff, xdp_load/store_bytes,
/// trace_printk's format string, xdp_adjust_tail growing the frame, which
/// zeroes the bytes it exposes, and the software engines' copies) take
/// [`helper_mem_clocks`]; xdp_adjust_head with metadata before `data`
/// [`xdp_adjust_head_clocks`].
pub const SIMPLE_HELPER_CYCLES: u32 = 1;

/// Bytes a helper moves through the helper memory port in one clock: the
/// port's width ([`RTL_HELPER_PORT_BYTES`], the stack RAM's and FIFO_MD's
/// 8-byte access).
pub const HELPER_MEM_BYTES_PER_CLOCK: u64 = RTL_HELPER_PORT_BYTES as u64;
/// A buffer's size counts towards a helper's latency up to this many bytes
/// (more than any region an engine reaches on the device: larger buffers
/// fault or answer an error, and the RTL's latency counter stays 12 bits).
pub const HELPER_MEM_MAX_BYTES: u64 = 8192;

/// Port words of a buffer of `bytes` ([`HELPER_MEM_BYTES_PER_CLOCK`] each,
/// the size capped at [`HELPER_MEM_MAX_BYTES`]; each buffer of a helper
/// starts its own words).
pub const fn helper_mem_words(bytes: u64) -> u32 {
    let b = if bytes < HELPER_MEM_MAX_BYTES {
        bytes
    } else {
        HELPER_MEM_MAX_BYTES
    };
    b.div_ceil(HELPER_MEM_BYTES_PER_CLOCK) as u32
}

/// Latency of a helper over buffers of `bytes` (one clock plus one clock
/// per port word of each: `csum_diff` over `from` and `to`,
/// `xdp_load/store_bytes` over `len`, `trace_printk` over its format
/// string): the port reads one word a clock from the request's clock on,
/// and a copy writes each word in the clock after its read, the last in the
/// answer's clock. A 64-byte copy takes 9 clocks; `csum_diff` of two
/// 4-byte fields 3.
pub const fn helper_mem_clocks(bytes: &[u64]) -> u32 {
    let mut n = 1;
    let mut i = 0;
    while i < bytes.len() {
        n += helper_mem_words(bytes[i]);
        i += 1;
    }
    n
}

/// Latency of `bpf_xdp_adjust_head` with `meta_bytes` of metadata before
/// `data` (`data - data_meta`, at most 32 in Linux): the metadata moves
/// with the start of the packet, a memmove in the packet window through the
/// helper memory port, each word read in a clock and written in the next,
/// the last in the answer's clock (from the last word down when the move is
/// up, so an overlap reads every byte before it is written): one clock plus
/// one per port word of the metadata, [`helper_mem_clocks`] over it. The
/// length is the context's as the call finds it, so the latency is the same
/// whether or not the adjustment is taken; without metadata it is
/// [`SIMPLE_HELPER_CYCLES`]. 32 bytes of metadata take 5 clocks.
pub const fn xdp_adjust_head_clocks(meta_bytes: u64) -> u32 {
    helper_mem_clocks(&[meta_bytes])
}

/// `bpf_trace_printk` on the device (the RTL's trace unit and the model
/// alike): at most this many conversions (its r3..r5).
pub const PRINTK_ARGS: usize = 3;
/// A `%s` conversion reads at most this many bytes of its string (the
/// model's and the RTL's string reader; a string without a NUL in them
/// prints all of them).
pub const PRINTK_STR_BYTES: u64 = 64;
/// Port words of one `%s` string: every `%s` of a valid format costs
/// this many clocks, whatever the string's length (a word past the
/// string's region reads nothing).
pub const PRINTK_STR_WORDS: u32 = (PRINTK_STR_BYTES / HELPER_MEM_BYTES_PER_CLOCK) as u32;
/// What a `%s` prints when its bytes leave the memory the port reaches
/// before a NUL (Linux's text for a faulting string read).
pub const PRINTK_EFAULT_TEXT: &str = "(efault)";
/// A conversion's width saturates at this (Linux's `FIELD_WIDTH_MAX`).
pub const PRINTK_WIDTH_MAX: u32 = (1 << 23) - 1;
/// A format of more bytes than this answers -EINVAL (the port reads at most
/// [`HELPER_MEM_MAX_BYTES`] of a buffer).
pub const PRINTK_FMT_MAX_BYTES: u64 = HELPER_MEM_MAX_BYTES;

/// Records each engine's trace FIFO holds (the model's
/// [`crate::units::TraceQueue`], the RTL's trace unit): a
/// `bpf_trace_printk` or `bpf_trace_vprintk` that finds it full is dropped
/// and counted. The host reads them through the `TRACE*` registers.
pub const TRACE_FIFO_RECORDS: usize = 16;
/// Data words (8 bytes) each engine's trace FIFO holds: a record keeps the
/// port words its call read, the format's, the argument array's
/// (`trace_vprintk`) and [`PRINTK_STR_WORDS`] of each `%s`
/// ([`trace_record_words`]); a record that finds too few free is dropped,
/// so a format over about 3.9 KiB is never kept.
pub const TRACE_FIFO_WORDS: usize = 512;

/// Data words of a trace record: the format's port words, the array's
/// (`trace_vprintk`: `data_bytes`) and each `%s`'s. A call is taken when
/// this many words, counting each of its arguments as a `%s` (the strings
/// are known only once the format is read), are free in the clock of its
/// request.
pub const fn trace_record_words(fmt_bytes: u64, data_bytes: u64, strings: u32) -> u32 {
    helper_mem_words(fmt_bytes) + helper_mem_words(data_bytes) + strings * PRINTK_STR_WORDS
}

/// Latency of `bpf_trace_printk` with a format of `fmt_bytes` (r2) and
/// `strings` `%s` conversions (0 unless the format is valid: NUL-terminated,
/// at most [`PRINTK_FMT_MAX_BYTES`], every conversion known and at most
/// [`PRINTK_ARGS`] of them): the format's port words
/// ([`helper_mem_clocks`]), then [`PRINTK_STR_WORDS`] words of each
/// string, one a clock, the answer in the clock after the last. The return
/// value (the formatted length) depends on the strings' lengths, so the
/// unit reads them; everything else it counts from the format and the
/// arguments (decimal digits by comparisons against powers of ten, hex
/// digits from the leading zeros).
pub const fn printk_clocks(fmt_bytes: u64, strings: u32) -> u32 {
    helper_mem_clocks(&[fmt_bytes]) + strings * PRINTK_STR_WORDS
}

/// Latency of `bpf_trace_vprintk`: [`printk_clocks`] with the argument
/// array's words (`data_bytes`, r4) after the format's.
pub const fn vprintk_clocks(fmt_bytes: u64, data_bytes: u64, strings: u32) -> u32 {
    helper_mem_clocks(&[fmt_bytes, data_bytes]) + strings * PRINTK_STR_WORDS
}

// ---- tc (sched_cls, direct action): helper ids, actions, flags ----

/// Helper ids of the tc ABI's own helpers (Linux numbers).
pub const HELPER_SKB_STORE_BYTES: u32 = 9;
pub const HELPER_L3_CSUM_REPLACE: u32 = 10;
pub const HELPER_L4_CSUM_REPLACE: u32 = 11;
pub const HELPER_SKB_VLAN_PUSH: u32 = 18;
pub const HELPER_SKB_VLAN_POP: u32 = 19;
pub const HELPER_SKB_LOAD_BYTES: u32 = 26;
pub const HELPER_SKB_CHANGE_PROTO: u32 = 31;
pub const HELPER_SKB_PULL_DATA: u32 = 39;
pub const HELPER_SKB_CHANGE_HEAD: u32 = 43;
pub const HELPER_SKB_ADJUST_ROOM: u32 = 50;
pub const HELPER_KTIME_GET_BOOT_NS: u32 = 125;
pub const HELPER_REDIRECT_NEIGH: u32 = 152;
/// `bpf_fib_lookup` (XDP and tc; software engines only: [`crate::fib`]).
pub const HELPER_FIB_LOOKUP: u32 = 69;

/// tc actions (`TC_ACT_*`, r0 as a signed 32-bit value).
pub const TC_ACT_UNSPEC: i32 = -1;
pub const TC_ACT_OK: i32 = 0;
pub const TC_ACT_RECLASSIFY: i32 = 1;
pub const TC_ACT_SHOT: i32 = 2;
pub const TC_ACT_PIPE: i32 = 3;
pub const TC_ACT_STOLEN: i32 = 4;
pub const TC_ACT_QUEUED: i32 = 5;
pub const TC_ACT_REPEAT: i32 = 6;
pub const TC_ACT_REDIRECT: i32 = 7;
pub const TC_ACT_TRAP: i32 = 8;

/// Size of `struct __sk_buff` (Linux uapi).
pub const SK_BUFF_SIZE: usize = 192;
/// Headroom in front of a tc frame in the packet window: room for
/// `bpf_skb_change_head`, `bpf_skb_adjust_room` and `bpf_skb_vlan_push` to
/// grow the frame at its front (the same 256 bytes as XDP's).
pub const TC_HEADROOM: usize = XDP_HEADROOM;

/// `bpf_redirect` flag: to the ingress of the device (else its egress).
pub const BPF_F_INGRESS: u64 = 1;
/// `bpf_skb_store_bytes` flags.
pub const BPF_F_RECOMPUTE_CSUM: u64 = 1;
pub const BPF_F_INVALIDATE_HASH: u64 = 1 << 1;
/// `bpf_l3/l4_csum_replace` flags: the field size in the low 4 bits.
pub const BPF_F_HDR_FIELD_MASK: u64 = 0xf;
pub const BPF_F_PSEUDO_HDR: u64 = 1 << 4;
pub const BPF_F_MARK_MANGLED_0: u64 = 1 << 5;
pub const BPF_F_MARK_ENFORCE: u64 = 1 << 6;
pub const BPF_F_IPV6: u64 = 1 << 7;
/// `bpf_skb_adjust_room` modes and flags.
pub const BPF_ADJ_ROOM_NET: u64 = 0;
pub const BPF_ADJ_ROOM_MAC: u64 = 1;
pub const BPF_F_ADJ_ROOM_FIXED_GSO: u64 = 1;
pub const BPF_F_ADJ_ROOM_ENCAP_L3_IPV4: u64 = 1 << 1;
pub const BPF_F_ADJ_ROOM_ENCAP_L3_IPV6: u64 = 1 << 2;
pub const BPF_F_ADJ_ROOM_ENCAP_L4_GRE: u64 = 1 << 3;
pub const BPF_F_ADJ_ROOM_ENCAP_L4_UDP: u64 = 1 << 4;
pub const BPF_F_ADJ_ROOM_NO_CSUM_RESET: u64 = 1 << 5;
pub const BPF_F_ADJ_ROOM_ENCAP_L2_ETH: u64 = 1 << 6;
pub const BPF_F_ADJ_ROOM_DECAP_L3_IPV4: u64 = 1 << 7;
pub const BPF_F_ADJ_ROOM_DECAP_L3_IPV6: u64 = 1 << 8;
/// `BPF_F_ADJ_ROOM_ENCAP_L2(len)`: the inner MAC length in bits 56..63.
pub const BPF_ADJ_ROOM_ENCAP_L2_SHIFT: u32 = 56;
/// Errnos of the tc helpers (beyond the map ones above).
pub const ENOMEM: i64 = 12;
pub const EALREADY: i64 = 114;
/// Linux's internal `ENOTSUPP` (not `EOPNOTSUPP`), which the skb helpers
/// return for what they cannot do.
pub const ENOTSUPP: i64 = 524;

// ---- Events to the host, queue maps, the remaining simple helpers
// (software engines: interpreter and pipeline) ----

/// Map types of the software engines that carry data to the host or queue
/// it (Linux numbers).
pub const MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
pub const MAP_TYPE_QUEUE: u32 = 22;
pub const MAP_TYPE_STACK: u32 = 23;
pub const MAP_TYPE_RINGBUF: u32 = 27;

/// Their helpers, and the simple ones beside the timer and trace units.
pub const HELPER_PERF_EVENT_OUTPUT: u32 = 25;
pub const HELPER_MAP_PUSH_ELEM: u32 = 87;
pub const HELPER_MAP_POP_ELEM: u32 = 88;
pub const HELPER_MAP_PEEK_ELEM: u32 = 89;
pub const HELPER_RINGBUF_OUTPUT: u32 = 130;
pub const HELPER_RINGBUF_RESERVE: u32 = 131;
pub const HELPER_RINGBUF_SUBMIT: u32 = 132;
pub const HELPER_RINGBUF_DISCARD: u32 = 133;
pub const HELPER_RINGBUF_QUERY: u32 = 134;
pub const HELPER_KTIME_GET_COARSE_NS: u32 = 160;
pub const HELPER_TRACE_VPRINTK: u32 = 177;
/// `bpf_spin_lock` and `bpf_spin_unlock` (XDP and tc; software engines
/// only: [`crate::units::not_on_device`]).
pub const HELPER_SPIN_LOCK: u32 = 93;
pub const HELPER_SPIN_UNLOCK: u32 = 94;

/// `bpf_perf_event_output` flags: the index (or `BPF_F_CURRENT_CPU`) in
/// the low 32 bits, the bytes of the packet to append in bits 32..51.
pub const BPF_F_INDEX_MASK: u64 = 0xffff_ffff;
pub const BPF_F_CURRENT_CPU: u64 = BPF_F_INDEX_MASK;
pub const BPF_F_CTXLEN_MASK: u64 = 0xf_ffff << 32;
/// `bpf_ringbuf_output` flags (wake-up hints; no effect on the data).
pub const BPF_RB_NO_WAKEUP: u64 = 1;
pub const BPF_RB_FORCE_WAKEUP: u64 = 2;
/// `bpf_ringbuf_query` flags.
pub const BPF_RB_AVAIL_DATA: u64 = 0;
pub const BPF_RB_RING_SIZE: u64 = 1;
pub const BPF_RB_CONS_POS: u64 = 2;
pub const BPF_RB_PROD_POS: u64 = 3;
/// Bytes of a ring buffer record's header (`u32 len`, `u32 pg_off`).
pub const RINGBUF_HDR_BYTES: u64 = 8;
/// A ring buffer's size (its `max_entries`) is a power of two multiple of
/// the page size (Linux's `ringbuf_map_alloc`, 4 KiB pages on x86-64).
pub const PAGE_BYTES: u32 = 4096;
/// `bpf_trace_vprintk`: at most 12 arguments (Linux's
/// `MAX_BPRINTF_VARARGS`), eight bytes each.
pub const MAX_BPRINTF_VARARGS: usize = 12;
/// Errnos of these helpers.
pub const EAGAIN: i64 = 11;
pub const EOPNOTSUPP: i64 = 95;

// ---------------------------------------------------------------------------
// END maps/abi section.
// ---------------------------------------------------------------------------
/// Instruction memory: slots (64-bit instructions) per bank. The memory is
/// double-buffered (two banks); a program, prologue included, must fit one
/// bank. Project choice: 4096 slots = 32 KiB per bank (the existing system's
/// programs are a few hundred slots at most).
pub const IMEM_SLOTS: usize = 4096;

/// Widest map key the device holds, in bytes (XDP ABI: keys are read
/// through a pointer): the host reaches an entry through the register
/// map's wide-entry window (`WIDEKEY`, [`crate::regs::WIDE_WORDS`] words),
/// and the map coprocessor's entry width follows it. Project choice: 64 B
/// covers IPv6 5-tuples and LPM keys (4 B prefix length + 16 B address)
/// with room to spare; the existing bitstream's 64-bit keys are the SUME
/// ABI's limit below. The device refuses wider maps at load
/// (`loader::device`); the software engines take up to
/// [`SW_MAX_KEY_BYTES`].
pub const MAX_KEY_BYTES: usize = 64;
/// Widest map value the device holds, in bytes (XDP ABI), for the same
/// reason (`WIDEVALUE`, one cache-line-sized entry). The software engines
/// keep values in memory: their limit is one map's value area
/// ([`MAP_STRIDE`]).
pub const MAX_VALUE_BYTES: usize = 64;
/// Widest map key of the software engines (interpreter, pipeline) for the
/// XDP and tc ABIs: Linux's (`MAX_BPF_STACK`, a hash map's key comes from
/// the program's 512-byte stack frame).
pub const SW_MAX_KEY_BYTES: usize = STACK_FRAME as usize;
/// Widest map value of the software engines: the value area of one map.
pub const SW_MAX_VALUE_BYTES: usize = MAP_STRIDE as usize;
/// Direct-store words of the software engines: an entry per word, so every
/// ARRAY and DEVMAP that the map table's value areas can hold (the
/// device's store is `maps::DIRECT_WORDS`).
pub const SW_DIRECT_WORDS: u32 = (MAX_MAPS as u64 * MAP_STRIDE) as u32;
/// SUME ABI: keys and values travel by value in 64-bit registers.
pub const SUME_MAX_KEY_BYTES: usize = 8;
/// SUME ABI: see [`SUME_MAX_KEY_BYTES`].
pub const SUME_MAX_VALUE_BYTES: usize = 8;

// ---------------------------------------------------------------------------
// BEGIN lambdas section (branch `lambdas`): the lambda request format
// (docs/lambdas.md). `programs/include/lambda.h` restates these for C;
// tests/lambdas.rs checks that both agree.
// ---------------------------------------------------------------------------

/// Default UDP destination port of lambda requests (each lambda program
/// reads its port from its `.rodata`, `lambda_port`, set to this).
pub const LAMBDA_DEFAULT_PORT: u16 = 7380;
/// First two bytes of a lambda header, "LM" (network byte order).
pub const LAMBDA_MAGIC: u16 = 0x4c4d;
/// Version of the lambda header.
pub const LAMBDA_VERSION: u8 = 1;
/// Bytes of the lambda header in front of the body.
pub const LAMBDA_HDR_BYTES: usize = 16;
/// Lambda header flags: a response; more chunks of the request follow; a
/// refused request (the body says why).
pub const LAMBDA_FLAG_RESPONSE: u8 = 0x01;
pub const LAMBDA_FLAG_MORE: u8 = 0x02;
pub const LAMBDA_FLAG_ERROR: u8 = 0x04;
/// Largest body: a 1500-byte IPv4 datagram less the IPv4, UDP and lambda
/// headers.
pub const LAMBDA_MAX_BODY: usize = 1500 - 20 - 8 - LAMBDA_HDR_BYTES;
/// Most bytes a lambda's answer may add to its request's datagram: the
/// XDP headroom that `bpf_xdp_adjust_head` may take. The frame cannot grow
/// at its end on the device (an engine's packet window is the FIFO_MD
/// words that arrived), so a request whose answer is longer carries room
/// for it after its body.
pub const LAMBDA_MAX_GROW: usize = XDP_HEADROOM - XDP_FRAME_BYTES as usize;
/// Default lambda IDs of the three published workloads (`programs/`).
pub const LAMBDA_ID_WEB: u16 = 1;
pub const LAMBDA_ID_KV: u16 = 2;
pub const LAMBDA_ID_GRAY: u16 = 3;
/// Instruction budget per packet a lambda program of `programs/` is loaded
/// with (its `BUDGET` register): more than [`DEVICE_INSN_BUDGET`], because
/// a lambda loops over its request's body (a grayscale chunk of 256
/// pixels, a page of 1 KiB). A loader test checks that every lambda's
/// longest run stays within it.
pub const LAMBDA_INSN_BUDGET: u64 = 8192;

// ---- The RTL units' XDP map path (rtl/ebpf_units.v) ----
//
// In the XDP ABI a program reaches map values by address (MAP_BASE + row *
// MAP_STRIDE + slot * value_size). The RTL keeps them in a value memory
// every engine's ext port reaches: RTL_VALUE_ROWS windows of
// RTL_VALUE_ROW_BYTES, row r's values at window r. A map helper reads its
// key (and update its value) from the calling engine's memory through a
// helper memory port: while the engine waits in the helper, the units take
// its stack and FIFO_MD read port, one word of RTL_HELPER_PORT_BYTES a
// clock (map values are the units' own). The key is read from the clock
// of the request, and the coprocessor runs the operation at most one clock
// after its slot starts once the words are read (so within any map latency of
// at least 2). An update's value follows the key, a word a clock, into a
// per-engine latch of RTL_UPDATE_VALUE_BYTES; the coprocessor runs the
// update in the clock of its last word at the earliest, so the update's
// latency is at least the key's and the value's words (ptr_update_cycles,
// both sides). What does not fit is refused at FLIP by the RTL device
// (`sim::device::xdp_unsupported_maps`), naming the map.

/// Map rows whose values the RTL's value memory holds (rows
/// `0..RTL_VALUE_ROWS`; an XDP program on the RTL uses maps of these rows).
pub const RTL_VALUE_ROWS: usize = 4;
/// Bytes of one row's window in the RTL's value memory: a map's value area
/// (`max_entries * value_size`) must fit.
pub const RTL_VALUE_ROW_BYTES: u64 = 1024;
/// Bytes the helper memory port reads from an engine's stack or packet in
/// one clock: a value of a program's update is one read, so at most this
/// wide on the RTL; a HASH key takes up to two reads
/// ([`RTL_CAM_KEY_BYTES`]), an LPM key one (the TCAM's 4 + 4 bytes).
pub const RTL_HELPER_PORT_BYTES: usize = 8;
/// Bytes of the widest value a program's `bpf_map_update_elem` writes on
/// the RTL device: the per-engine latch its value words are read into (the
/// size of the host's wide window, `regs::WIDE_WORDS` words of 4 bytes). A
/// map with wider values whose program updates it is refused at FLIP; one
/// whose program writes them through the pointer a lookup returns runs.
pub const RTL_UPDATE_VALUE_BYTES: usize = crate::regs::WIDE_WORDS as usize * 4;

/// Clocks of a program's `bpf_map_update_elem` in the pointer ABIs (XDP,
/// tc) on a map of write latency `write` (the contract's CAM, TCAM or
/// direct-store figure) with keys of `key_size` and values of `value_size`
/// bytes. The key and then the value are read through the helper memory
/// port, one [`RTL_HELPER_PORT_BYTES`] word a clock from the request's
/// (a key over one word takes two: the CAM's [`RTL_CAM_KEY_BYTES`]; the
/// RTL holds no wider key), and the coprocessor writes in the
/// clock of the value's last word at the earliest, which is the answer's
/// at the latest: so the update takes `write` clocks, or one a word when
/// the words are more. A value of one word (8 bytes) keeps every write
/// latency; 64 bytes make an ARRAY update 9 clocks instead of 2.
pub const fn ptr_update_cycles(write: u32, key_size: u32, value_size: u32) -> u32 {
    let port = RTL_HELPER_PORT_BYTES as u32;
    let key_words = if key_size > port { 2 } else { 1 };
    let value_words = if value_size == 0 {
        1
    } else {
        value_size.div_ceil(port)
    };
    let words = key_words + value_words;
    if words > write { words } else { write }
}

/// Port words of a pointer-ABI map key the RTL reads (XDP, tc): two for a
/// key over one [`RTL_HELPER_PORT_BYTES`] word up to the CAM's
/// [`RTL_CAM_KEY_BYTES`], else one (a wider key reads nothing: the RTL
/// refuses such maps at FLIP).
pub const fn ptr_key_words(key_size: u32) -> u32 {
    let port = RTL_HELPER_PORT_BYTES as u32;
    if key_size > port && key_size <= RTL_CAM_KEY_BYTES as u32 {
        2
    } else {
        1
    }
}

/// Port words of an update's value the RTL reads: one a word up to the
/// latch's [`RTL_UPDATE_VALUE_BYTES`]; one for an empty value or a wider
/// one (which reads nothing: refused at FLIP).
pub const fn ptr_value_words(value_size: u32) -> u32 {
    if value_size == 0 || value_size > RTL_UPDATE_VALUE_BYTES as u32 {
        1
    } else {
        value_size.div_ceil(RTL_HELPER_PORT_BYTES as u32)
    }
}

/// The map unit issues an operation a clock (pipelined): an operation
/// holds its issue slot for this many clocks, and the next operation
/// (of any engine) starts in the clock after. The unit runs an operation
/// once its key (and an update's value) is read, so a pointer-ABI
/// operation holds the slot while its words come through the helper
/// memory port: a lookup or delete its key's [`ptr_key_words`], an update
/// those and its value's [`ptr_value_words`] less the last (read in the
/// clock it runs). Every other operation (the SUME ABI's by-value ones,
/// `bpf_redirect_map`, a map handle that names no map) holds it one clock.
/// The answer still takes the operation's latency (CAM 4/4, TCAM 5/5,
/// direct store 2/2, [`ptr_update_cycles`]) from the slot's start: the
/// unit accepts an operation every clock and answers each after its fixed
/// latency, where the published unit took one operation at a time
/// ([`MapIssue::Serial`]).
pub const fn ptr_map_issue_clocks(update: bool, key_size: u32, value_size: u32) -> u32 {
    let key = ptr_key_words(key_size);
    if update {
        key + ptr_value_words(value_size) - 1
    } else {
        key
    }
}

/// Clocks a by-value map operation (SUME ABI, `bpf_redirect_map`) holds the
/// pipelined map unit's issue slot ([`ptr_map_issue_clocks`]).
pub const MAP_ISSUE_CLOCKS: u32 = 1;

/// How the map unit takes operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapIssue {
    /// One a clock, each answered after its latency
    /// ([`ptr_map_issue_clocks`]): the RTL's (`rtl/ebpf_map_arbiter.v`).
    #[default]
    Pipelined,
    /// One at a time, each holding the unit for its whole latency: the
    /// published system's coprocessor, a preset of the model only
    /// (`nfbpf report` shows it beside the pipelined unit).
    Serial,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_buffers_take_a_port_word_a_clock() {
        assert_eq!(helper_mem_clocks(&[]), 1);
        assert_eq!(helper_mem_clocks(&[0, 0]), 1);
        assert_eq!(helper_mem_clocks(&[64]), 9);
        assert_eq!(helper_mem_clocks(&[4, 4]), 3);
        assert_eq!(helper_mem_clocks(&[1, 9]), 4);
        assert_eq!(xdp_adjust_head_clocks(0), SIMPLE_HELPER_CYCLES);
        assert_eq!(xdp_adjust_head_clocks(4), 2);
        assert_eq!(xdp_adjust_head_clocks(32), 5);
        // Capped: 1 + 2 x 1024 clocks fit the RTL's 12-bit counter.
        assert_eq!(helper_mem_clocks(&[u64::MAX, 1 << 20]), 2049);
        const { assert!(helper_mem_clocks(&[HELPER_MEM_MAX_BYTES, HELPER_MEM_MAX_BYTES]) < 4096) };
    }

    #[test]
    fn device_budget_is_one_full_size_frame_time() {
        // (1518 + 20) * 8 bits / 10 Gb/s * 200 MHz = 246.08 clocks.
        assert_eq!(wire_clocks(MAX_FRAME_BYTES), 247);
        assert_eq!(DEVICE_INSN_BUDGET, 247);
        // 64-byte frames: 13.44 clocks apart ((64 + 20) * 8 bits at 10 Gb/s, 200 MHz).
        assert_eq!(wire_clocks(64), 14);
        const { assert!(DEVICE_INSN_BUDGET < DEFAULT_INSN_BUDGET) };
    }

    #[test]
    fn scans_take_the_clocks_the_rtl_takes() {
        // CAM and TCAM: 64 entries read; the write, the start and the hand-over.
        assert_eq!(scan_clocks(scan_steps(ScanWalk::Cam)), 67);
        assert_eq!(scan_clocks(scan_steps(ScanWalk::Tcam)), 67);
        // ARRAY: the index after the key is there: one read.
        assert_eq!(scan_steps(ScanWalk::Direct { from: 3, stop: 3 }), 1);
        // DEVMAP: indices 3, 4, 5 read, 5 present.
        assert_eq!(scan_steps(ScanWalk::Direct { from: 3, stop: 5 }), 3);
        // Past the end: one clock to find out.
        assert_eq!(scan_steps(ScanWalk::Direct { from: 9, stop: 8 }), 1);
        assert_eq!(scan_clocks(1), HOST_OP_CLOCKS + 2);
    }

    #[test]
    fn an_update_takes_a_clock_a_port_word_past_its_write_latency() {
        // One word of key and value: the write latencies as they are.
        assert_eq!(ptr_update_cycles(ARRAY_WRITE_CYCLES, 4, 8), 2);
        assert_eq!(ptr_update_cycles(CAM_WRITE_CYCLES, 16, 8), 4);
        // 16 bytes of value: three words with the key.
        assert_eq!(ptr_update_cycles(ARRAY_WRITE_CYCLES, 4, 16), 3);
        // The widest value the RTL latches: nine words on an ARRAY, ten
        // with a two-word CAM key, past the CAM's and the TCAM's write
        // latencies (within the published unit's TCAM write).
        let words = (RTL_UPDATE_VALUE_BYTES / RTL_HELPER_PORT_BYTES) as u32;
        assert_eq!(ptr_update_cycles(ARRAY_WRITE_CYCLES, 4, 64), words + 1);
        assert_eq!(ptr_update_cycles(CAM_WRITE_CYCLES, 16, 64), 2 + 8);
        assert_eq!(ptr_update_cycles(TCAM_WRITE_CYCLES, 8, 64), 1 + 8);
        assert_eq!(ptr_update_cycles(PUBLISHED_TCAM_WRITE_CYCLES, 8, 64), 26);
        // A partial last word is a word.
        assert_eq!(ptr_update_cycles(ARRAY_WRITE_CYCLES, 4, 17), 4);
    }

    #[test]
    fn an_operation_holds_the_issue_slot_while_its_words_are_read() {
        // Lookups: the key's words; an 8-byte value rides the key's clock.
        assert_eq!(ptr_map_issue_clocks(false, 4, 64), 1);
        assert_eq!(ptr_map_issue_clocks(false, 16, 8), 2);
        assert_eq!(ptr_map_issue_clocks(true, 4, 8), 1);
        // An update: the key's words and the value's but the last.
        assert_eq!(ptr_map_issue_clocks(true, 4, 64), 8);
        assert_eq!(ptr_map_issue_clocks(true, 16, 48), 7);
        assert_eq!(ptr_map_issue_clocks(true, 8, 20), 3);
        // Keys and values the RTL does not read: one word.
        assert_eq!(ptr_map_issue_clocks(true, 32, 2048), 1);
        // The slot never outlasts the answer: the next operation's start
        // is before this one's answer, so operations are run in order.
        for (write, ks, vs) in [(ARRAY_WRITE_CYCLES, 4, 64), (CAM_WRITE_CYCLES, 16, 64)] {
            assert!(ptr_map_issue_clocks(true, ks, vs) < ptr_update_cycles(write, ks, vs));
        }
        assert!(ptr_map_issue_clocks(false, 4, 8) < ARRAY_READ_CYCLES);
        assert!(ptr_map_issue_clocks(false, 16, 8) < CAM_READ_CYCLES);
    }

    #[test]
    fn a_wide_cam_key_is_read_within_the_cam_latencies() {
        // Whole port words, and the words read (request clock, the next)
        // plus the operation's clock fit every CAM latency.
        assert_eq!(RTL_CAM_KEY_BYTES % RTL_HELPER_PORT_BYTES, 0);
        let words = (RTL_CAM_KEY_BYTES / RTL_HELPER_PORT_BYTES) as u32;
        assert!(words < CAM_READ_CYCLES.min(CAM_WRITE_CYCLES));
    }
}
