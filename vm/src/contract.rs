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

/// Default instruction budget per packet (runaway programs are stopped).
pub const DEFAULT_INSN_BUDGET: u64 = 1 << 20;

/// FIFO_MD geometry: 64 words of 256 bits per engine.
pub const FIFO_WORDS: usize = 64;
pub const FIFO_WORD_BYTES: usize = 32;
/// Packet window size in bytes.
pub const PKT_WINDOW: usize = FIFO_WORDS * FIFO_WORD_BYTES;

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

/// Instruction memory: slots (64-bit instructions) per bank. The memory is
/// double-buffered (two banks); a program, prologue included, must fit one
/// bank. Project choice: 4096 slots = 32 KiB per bank (the existing system's
/// programs are a few hundred slots at most).
pub const IMEM_SLOTS: usize = 4096;

/// Widest map key the map coprocessor holds, in bytes (XDP ABI: keys are
/// read through a pointer). Project choice: 64 B covers IPv6 5-tuples and
/// LPM keys (4 B prefix length + 16 B address) with room to spare; the
/// existing bitstream's 64-bit keys are the SUME ABI's limit below.
pub const MAX_KEY_BYTES: usize = 64;
/// Widest map value the map coprocessor holds, in bytes (XDP ABI).
/// Project choice: 64 B, one cache-line-sized entry.
pub const MAX_VALUE_BYTES: usize = 64;
/// SUME ABI: keys and values travel by value in 64-bit registers.
pub const SUME_MAX_KEY_BYTES: usize = 8;
/// SUME ABI: see [`SUME_MAX_KEY_BYTES`].
pub const SUME_MAX_VALUE_BYTES: usize = 8;
