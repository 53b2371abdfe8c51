//! Verilated RTL units behind safe Rust types.
//!
//! The C shims in `sim/csrc` expose each Verilated top module as a handle and
//! a few plain functions; this module owns the only `unsafe` code that calls
//! them. Every handle is created and freed here and never shared between
//! threads.

use nfbpf_vm::Insn;
use nfbpf_vm::isa::isa;
use nfbpf_vm::pipeline::fifo::WordMask;

#[allow(unsafe_code)]
mod ffi {
    use super::{DpDbg, DpIn, DpOut, EngIn, EngOut, UnitsIn, UnitsOut};
    unsafe extern "C" {
        pub fn nfbpf_units_new() -> *mut std::ffi::c_void;
        pub fn nfbpf_units_free(p: *mut std::ffi::c_void);
        pub fn nfbpf_units_eval(p: *mut std::ffi::c_void, i: *const UnitsIn, o: *mut UnitsOut);
        pub fn nfbpf_units_tick(p: *mut std::ffi::c_void);
        pub fn nfbpf_dp_engines() -> u32;
        pub fn nfbpf_dp_new() -> *mut std::ffi::c_void;
        pub fn nfbpf_dp_free(p: *mut std::ffi::c_void);
        pub fn nfbpf_dp_reset(p: *mut std::ffi::c_void, i: *const DpIn);
        pub fn nfbpf_dp_eval(p: *mut std::ffi::c_void, i: *const DpIn, o: *mut DpOut);
        pub fn nfbpf_dp_tick(p: *mut std::ffi::c_void);
        pub fn nfbpf_dp_dbg(p: *mut std::ffi::c_void, o: *mut DpDbg);
        pub fn nfbpf_dp_trace(p: *mut std::ffi::c_void, path: *const std::ffi::c_char) -> i32;
        pub fn nfbpf_dp_trace_flush(p: *mut std::ffi::c_void);
        pub fn nfbpf_eng_new() -> *mut std::ffi::c_void;
        pub fn nfbpf_eng_free(p: *mut std::ffi::c_void);
        pub fn nfbpf_eng_reset(p: *mut std::ffi::c_void);
        pub fn nfbpf_eng_eval(p: *mut std::ffi::c_void, i: *const EngIn, o: *mut EngOut);
        pub fn nfbpf_eng_tick(p: *mut std::ffi::c_void);
        pub fn nfbpf_eng_fifo_get(p: *mut std::ffi::c_void, i: u32) -> u8;
        pub fn nfbpf_eng_fifo_set(p: *mut std::ffi::c_void, i: u32, v: u8);
        pub fn nfbpf_eng_stack_get(p: *mut std::ffi::c_void, i: u32) -> u8;
        pub fn nfbpf_eng_stack_set(p: *mut std::ffi::c_void, i: u32, v: u8);
        pub fn nfbpf_eng_valid_get(p: *mut std::ffi::c_void, k: u32) -> u64;
        pub fn nfbpf_eng_valid_set(p: *mut std::ffi::c_void, k: u32, v: u64);
        pub fn nfbpf_alu_new() -> *mut std::ffi::c_void;
        pub fn nfbpf_alu_free(p: *mut std::ffi::c_void);
        #[allow(clippy::too_many_arguments)]
        pub fn nfbpf_alu_eval(
            p: *mut std::ffi::c_void,
            op: u32,
            wide: u32,
            off: u32,
            imm: u32,
            end_be: u32,
            swap: u32,
            a: u64,
            b: u64,
        ) -> u64;
    }
}

/// The EX stage's single-cycle ALU (`rtl/ebpf_alu.v`).
#[derive(Debug)]
pub struct RtlAlu {
    handle: *mut std::ffi::c_void,
}

impl RtlAlu {
    pub fn new() -> Self {
        // SAFETY: the shim allocates a fresh model; a null return would be
        // an allocation failure, which C++ `new` reports by aborting.
        #[allow(unsafe_code)]
        let handle = unsafe { ffi::nfbpf_alu_new() };
        RtlAlu { handle }
    }

    /// Evaluate the ALU for an ALU-class instruction with operands `a`
    /// (dst) and `b` (src register or sign-extended immediate), driving the
    /// control inputs from the instruction's ISA-table row as the generated
    /// decoder does ([`crate::rtlgen::alu_ctl`]); an instruction that is no
    /// ALU, neg or byte-order row drives them all zero.
    pub fn eval(&mut self, i: &Insn, a: u64, b: u64) -> u64 {
        let c = isa()
            .decode(i)
            .ok()
            .and_then(crate::rtlgen::alu_ctl)
            .unwrap_or_default();
        let (op, wide) = (u32::from(c.op), u32::from(c.wide));
        let (end_be, swap) = (u32::from(c.end_be), u32::from(c.swap));
        // SAFETY: `handle` came from `nfbpf_alu_new` and is freed only in Drop.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_alu_eval(
                self.handle,
                op,
                wide,
                i.off as u16 as u32,
                i.imm as u32,
                end_be,
                swap,
                a,
                b,
            )
        }
    }
}

impl Default for RtlAlu {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RtlAlu {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `nfbpf_alu_new` and is not used after this.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_alu_free(self.handle)
        }
    }
}

/// Inputs of `rtl/ebpf_engine.v`, one field per port (see
/// `sim/csrc/ebpf_engine_shim.cpp`, which mirrors this layout).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct EngIn {
    pub budget: u64,
    pub max_frames: u64,
    pub imem_wr: u64,
    pub imem_wr_addr: u64,
    pub imem_wr_data: u64,
    pub imem_len_wr: u64,
    pub imem_len: u64,
    pub imem_swap: u64,
    pub pkt_push: u64,
    pub pkt_start: u64,
    pub pkt_len: u64,
    pub pkt_writable: u64,
    pub stack_en: u64,
    pub pkt_args: [u64; 5],
    pub fifo_wr: u64,
    pub fifo_wr_word: u64,
    /// 256-bit word, little-endian 64-bit limbs.
    pub fifo_wr_data: [u64; 4],
    pub ext_rdata: u64,
    pub ext_rd_fault: u64,
    pub ext_wr_fault: u64,
    pub helper_ack: u64,
    pub helper_ret: u64,
    pub helper_unwind: u64,
    pub helper_fault: u64,
    pub helper_fault_code: u64,
}

/// Outputs of `rtl/ebpf_engine.v` after an evaluation.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct EngOut {
    pub imem_active: u64,
    pub imem_refused: u64,
    pub pkt_pending: u64,
    pub ext_rd: u64,
    pub ext_wr: u64,
    pub ext_addr: u64,
    pub ext_width: u64,
    pub ext_wdata: u64,
    pub helper_req: u64,
    pub helper_id: u64,
    pub helper_args: [u64; 5],
    pub retire: u64,
    pub retire_pc: u64,
    pub reg_we: u64,
    pub reg_idx: u64,
    pub reg_val: u64,
    pub mem_v: u64,
    pub mem_addr: u64,
    pub mem_width: u64,
    pub mem_rd: u64,
    pub mem_rdata: u64,
    pub mem_wr: u64,
    pub mem_wdata: u64,
    pub fault: u64,
    pub fault_code: u64,
    pub done: u64,
    pub r0: u64,
    pub running: u64,
    pub stage_v: u64,
    pub pc: [u64; 5],
    pub seq: [u64; 5],
    pub stall: u64,
    pub flush: u64,
    pub fwd_a: u64,
    pub fwd_b: u64,
    pub bank: u64,
}

/// The Verilated engine core (`rtl/ebpf_engine.v`): set inputs and settle
/// the logic ([`RtlCore::eval`]), clock it ([`RtlCore::tick`]), and reach
/// FIFO_MD and the stack RAM for the harness's memory copies.
#[derive(Debug)]
pub struct RtlCore {
    handle: *mut std::ffi::c_void,
}

impl RtlCore {
    pub fn new() -> Self {
        // SAFETY: the shim allocates and resets a fresh model; C++ `new`
        // aborts rather than returning null.
        #[allow(unsafe_code)]
        let handle = unsafe { ffi::nfbpf_eng_new() };
        RtlCore { handle }
    }

    /// Asynchronous reset.
    pub fn reset(&mut self) {
        // SAFETY: `handle` came from `nfbpf_eng_new` and is freed only in Drop.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_reset(self.handle)
        }
    }

    /// Drive `i` and settle the combinational logic (no clock edge).
    pub fn eval(&mut self, i: &EngIn) -> EngOut {
        let mut o = EngOut::default();
        // SAFETY: `handle` is live; `i` and `o` are valid for the call and
        // have the C layout the shim expects (#[repr(C)], u64 fields only).
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_eval(self.handle, i, &mut o)
        };
        o
    }

    /// One clock edge with the inputs last given to [`RtlCore::eval`].
    pub fn tick(&mut self) {
        // SAFETY: `handle` is live.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_tick(self.handle)
        }
    }

    /// FIFO_MD byte `i` (ring address, modulo the window).
    pub fn fifo_get(&self, i: usize) -> u8 {
        // SAFETY: `handle` is live; the shim masks the index to the array.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_fifo_get(self.handle, i as u32)
        }
    }

    pub fn fifo_set(&mut self, i: usize, v: u8) {
        // SAFETY: `handle` is live; the shim masks the index to the array.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_fifo_set(self.handle, i as u32, v)
        }
    }

    /// FIFO_MD valid bits (bit i = ring word i).
    pub fn valid_get(&self) -> WordMask {
        // SAFETY: `handle` is live; the shim reads 64-bit word k of the bits
        // (0 past their width).
        #[allow(unsafe_code)]
        let (lo, hi) = unsafe {
            (
                ffi::nfbpf_eng_valid_get(self.handle, 0),
                ffi::nfbpf_eng_valid_get(self.handle, 1),
            )
        };
        WordMask::from(lo) | WordMask::from(hi) << 64
    }

    /// Set FIFO_MD valid bits directly (words delivered all at once).
    pub fn valid_set(&mut self, v: WordMask) {
        // SAFETY: `handle` is live; the shim writes the words its bits have.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_valid_set(self.handle, 0, v as u64);
            ffi::nfbpf_eng_valid_set(self.handle, 1, (v >> 64) as u64);
        }
    }

    /// Stack RAM byte `i` (offset from `contract::STACK_BASE`).
    pub fn stack_get(&self, i: usize) -> u8 {
        // SAFETY: `handle` is live; the shim masks the index to the array.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_stack_get(self.handle, i as u32)
        }
    }

    pub fn stack_set(&mut self, i: usize, v: u8) {
        // SAFETY: `handle` is live; the shim masks the index to the array.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_stack_set(self.handle, i as u32, v)
        }
    }
}

impl Default for RtlCore {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RtlCore {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `nfbpf_eng_new` and is not used after this.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_eng_free(self.handle)
        }
    }
}

/// Engines of the Verilated `ebpf_units` (its `ENGINES` parameter's default,
/// the board's four).
pub const UNITS_ENGINES: usize = 4;

/// Inputs of `rtl/ebpf_units.v`, per-engine vectors unflattened (see
/// `sim/csrc/ebpf_units_shim.cpp`, which mirrors this layout). Bit `e` of
/// the one-bit vectors is engine `e`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitsIn {
    pub cycle: u64,
    pub pkt_start: u64,
    pub helper_req: u64,
    pub helper_id: [u64; UNITS_ENGINES],
    /// r1..r5 of each engine's call.
    pub args: [[u64; 5]; UNITS_ENGINES],
    pub ext_rd: u64,
    pub ext_wr: u64,
    pub ext_addr: [u64; UNITS_ENGINES],
    pub mreg_wr: u64,
    pub mreg_rd: u64,
    pub mreg_addr: u64,
    pub mreg_wdata: u64,
}

/// Outputs of `rtl/ebpf_units.v` after an evaluation.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitsOut {
    pub helper_ack: u64,
    pub helper_unwind: u64,
    pub helper_fault: u64,
    pub helper_ret: [u64; UNITS_ENGINES],
    pub helper_fault_code: [u64; UNITS_ENGINES],
    pub ext_rd_fault: u64,
    pub ext_wr_fault: u64,
    pub ext_rdata: [u64; UNITS_ENGINES],
    pub mapwait: [u64; UNITS_ENGINES],
    pub arb_state: u64,
    pub mreg_rdata: u64,
    pub mreg_err: u64,
}

/// The Verilated helper units, map coprocessor and map registers
/// (`rtl/ebpf_units.v`, four engines), reset on creation.
#[derive(Debug)]
pub struct RtlUnits {
    handle: *mut std::ffi::c_void,
}

impl RtlUnits {
    pub fn new() -> Self {
        // SAFETY: the shim allocates and resets a fresh model; C++ `new`
        // aborts rather than returning null.
        #[allow(unsafe_code)]
        let handle = unsafe { ffi::nfbpf_units_new() };
        RtlUnits { handle }
    }

    /// Drive `i` and settle the combinational logic (no clock edge).
    pub fn eval(&mut self, i: &UnitsIn) -> UnitsOut {
        let mut o = UnitsOut::default();
        // SAFETY: `handle` is live; `i` and `o` are valid for the call and
        // have the C layout the shim expects (#[repr(C)], u64 fields only).
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_units_eval(self.handle, i, &mut o)
        };
        o
    }

    /// One clock edge with the inputs last given to [`RtlUnits::eval`].
    pub fn tick(&mut self) {
        // SAFETY: `handle` is live.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_units_tick(self.handle)
        }
    }
}

// SAFETY: a Verilated model has no thread affinity (no thread-local state
// with Verilator's default single-threaded build); the handle is owned, and
// moving it to another thread is sound. It is not Sync: callers that share
// one put it behind a Mutex (`units_cosim::UnitsPort`).
#[allow(unsafe_code)]
unsafe impl Send for RtlUnits {}

impl Default for RtlUnits {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RtlUnits {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `nfbpf_units_new` and is not used after this.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_units_free(self.handle)
        }
    }
}

/// Engines of the Verilated data plane build (`sim/build.rs`).
pub const DP_ENGINES: usize = 4;

/// Inputs of `rtl/ebpf_dataplane.v` (see `sim/csrc/ebpf_dataplane_shim.cpp`,
/// which mirrors this layout). Per-engine one-bit inputs are bit masks.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DpIn {
    pub budget: u64,
    /// Per port: the 256-bit beat as little-endian 64-bit limbs.
    pub tdata: [[u64; 4]; 4],
    pub tkeep: [u64; 4],
    /// Per port: tuser[63:0] (SUME: bits 15:0 the frame length).
    pub tuser: [u64; 4],
    pub tlast: u64,
    pub tvalid: u64,
    pub awaddr: u64,
    pub awvalid: u64,
    pub wdata: u64,
    pub wvalid: u64,
    pub bready: u64,
    pub araddr: u64,
    pub arvalid: u64,
    pub rready: u64,
    /// Egress `m_axis_tready`.
    pub m_tready: u64,
}

/// Outputs of `rtl/ebpf_dataplane.v` after an evaluation.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DpOut {
    pub tready: u64,
    pub rx_acc: u64,
    pub rx_drop: u64,
    pub rx_eng: [u64; 4],
    pub out_v: u64,
    pub out_kind: [u64; DP_ENGINES],
    pub out_port: [u64; DP_ENGINES],
    pub out_bank: u64,
    pub awready: u64,
    pub wready: u64,
    pub bresp: u64,
    pub bvalid: u64,
    pub arready: u64,
    pub rdata: u64,
    pub rresp: u64,
    pub rvalid: u64,
    pub cycle: u64,
    /// Egress AXI4-Stream: the beat as little-endian 64-bit limbs, tkeep,
    /// tuser (two limbs), tlast, tvalid.
    pub m_tdata: [u64; 4],
    pub m_tkeep: u64,
    pub m_tuser: [u64; 2],
    pub m_tlast: u64,
    pub m_tvalid: u64,
}

/// The Verilated device (`rtl/ebpf_dataplane.v` with its `ebpf_units`, [`DP_ENGINES`]
/// engines): reset, set inputs and settle ([`RtlDataplane::eval`]), clock
/// ([`RtlDataplane::tick`]).
#[derive(Debug)]
pub struct RtlDataplane {
    handle: *mut std::ffi::c_void,
}

impl RtlDataplane {
    pub fn new() -> Self {
        // SAFETY: the shim allocates a fresh model; C++ `new` aborts rather
        // than returning null. The engine count is a constant of the build.
        #[allow(unsafe_code)]
        let (handle, n) = unsafe { (ffi::nfbpf_dp_new(), ffi::nfbpf_dp_engines()) };
        debug_assert_eq!(n as usize, DP_ENGINES);
        RtlDataplane { handle }
    }

    /// Reset with inputs `i` (rst_ni low over one edge, then released).
    pub fn reset(&mut self, i: &DpIn) {
        // SAFETY: `handle` is live; `i` has the C layout the shim expects.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_dp_reset(self.handle, i)
        }
    }

    /// Drive `i` and settle the combinational logic (no clock edge).
    pub fn eval(&mut self, i: &DpIn) -> DpOut {
        let mut o = DpOut::default();
        // SAFETY: `handle` is live; `i` and `o` are valid for the call and
        // have the C layout the shim expects (#[repr(C)], u64 fields only).
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_dp_eval(self.handle, i, &mut o)
        };
        o
    }

    /// One clock edge with the inputs last given to [`RtlDataplane::eval`].
    pub fn tick(&mut self) {
        // SAFETY: `handle` is live.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_dp_tick(self.handle)
        }
    }
}

/// Every engine's debug records on the data plane's `dbg_*` ports after an
/// evaluation (see `sim/csrc/ebpf_dataplane_shim.cpp`, which mirrors this
/// layout): one-bit signals as bit masks (engine `e` at bit `e`), the others
/// per engine.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DpDbg {
    pub retire: u64,
    pub reg_we: u64,
    pub mem_v: u64,
    pub mem_rd: u64,
    pub mem_wr: u64,
    pub fault: u64,
    pub done: u64,
    pub running: u64,
    pub flush: u64,
    pub bank: u64,
    pub retire_pc: [u64; DP_ENGINES],
    pub reg_idx: [u64; DP_ENGINES],
    pub reg_val: [u64; DP_ENGINES],
    pub mem_addr: [u64; DP_ENGINES],
    pub mem_width: [u64; DP_ENGINES],
    pub mem_rdata: [u64; DP_ENGINES],
    pub mem_wdata: [u64; DP_ENGINES],
    pub fault_code: [u64; DP_ENGINES],
    pub stage_v: [u64; DP_ENGINES],
    /// IF, ID, EX, MEM, WB.
    pub pc: [[u64; 5]; DP_ENGINES],
    pub seq: [[u64; 5]; DP_ENGINES],
    pub stall: [u64; DP_ENGINES],
    pub fwd_a: [u64; DP_ENGINES],
    pub fwd_b: [u64; DP_ENGINES],
}

impl RtlDataplane {
    /// The `dbg_*` ports as the last evaluation left them.
    pub fn dbg(&self) -> DpDbg {
        let mut o = DpDbg::default();
        // SAFETY: `handle` is live; `o` is valid for the call and has the C
        // layout the shim expects (#[repr(C)], u64 fields only).
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_dp_dbg(self.handle, &mut o)
        };
        o
    }

    /// Write a VCD of every signal to `path` from the next clock on (until
    /// the model is dropped; a model that traced is then closed but not
    /// freed, a Verilator 5.006 limit, see the shim).
    pub fn trace(&mut self, path: &std::path::Path) -> Result<(), String> {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("{}: a NUL byte in the path", path.display()))?;
        // SAFETY: `handle` is live; `c` is a NUL-terminated string alive
        // for the call (the shim copies what it keeps).
        #[allow(unsafe_code)]
        let r = unsafe { ffi::nfbpf_dp_trace(self.handle, c.as_ptr()) };
        if r == 0 {
            Ok(())
        } else {
            Err(format!("{}: cannot open the VCD file", path.display()))
        }
    }

    /// Flush the VCD written so far to its file.
    pub fn trace_flush(&mut self) {
        // SAFETY: `handle` is live.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_dp_trace_flush(self.handle)
        }
    }
}

// SAFETY: the model behind `handle` is owned by this value alone (its own
// VerilatedContext, no threads of its own, never shared): moving it to another
// thread is moving plain memory; `&mut self` on every call keeps the use
// single-threaded (the device server keeps it behind a Mutex).
#[allow(unsafe_code)]
unsafe impl Send for RtlDataplane {}

impl Default for RtlDataplane {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RtlDataplane {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `nfbpf_dp_new` and is not used after this.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_dp_free(self.handle)
        }
    }
}

// The SUME wrapper's model is built only with the `sume-cosim` feature
// (the tests' co-simulation of `rtl/ebpf_sume_opl.v`; sim/build.rs).
#[cfg(feature = "sume-cosim")]
mod opl;
#[cfg(feature = "sume-cosim")]
pub use opl::{OplIn, OplOut, RtlOpl};
