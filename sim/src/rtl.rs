//! Verilated RTL units behind safe Rust types.
//!
//! The C shims in `sim/csrc` expose each Verilated top module as a handle and
//! a few plain functions; this module owns the only `unsafe` code that calls
//! them. Every handle is created and freed here and never shared between
//! threads.

use nfbpf_vm::Insn;

#[allow(unsafe_code)]
mod ffi {
    unsafe extern "C" {
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
    /// control inputs straight from the instruction's bits as the decoder
    /// does.
    pub fn eval(&mut self, i: &Insn, a: u64, b: u64) -> u64 {
        let class = i.opc & 7;
        let op = u32::from(i.opc >> 4);
        let wide = u32::from(class == 7);
        let end_be = u32::from(i.opc & 0x08 != 0);
        let swap = u32::from(class == 7 && op == 0xd);
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
