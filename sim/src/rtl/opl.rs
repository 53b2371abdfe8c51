//! The Verilated SUME output-port-lookup wrapper (`rtl/ebpf_sume_opl.v`)
//! behind a safe type; built with the `sume-cosim` feature only.

#[allow(unsafe_code)]
mod ffi {
    use super::{OplIn, OplOut};
    unsafe extern "C" {
        pub fn nfbpf_opl_new() -> *mut std::ffi::c_void;
        pub fn nfbpf_opl_free(p: *mut std::ffi::c_void);
        pub fn nfbpf_opl_reset(p: *mut std::ffi::c_void, i: *const OplIn);
        pub fn nfbpf_opl_eval(p: *mut std::ffi::c_void, i: *const OplIn, o: *mut OplOut);
        pub fn nfbpf_opl_tick(p: *mut std::ffi::c_void);
    }
}

/// Inputs of the SUME output-port-lookup wrapper (`rtl/ebpf_sume_opl.v`;
/// `csrc/ebpf_sume_opl_shim.cpp` mirrors this layout): the input arbiter's
/// beat, the output queues' `tready`, the AXI4-Lite master's signals.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct OplIn {
    pub tdata: [u64; 4],
    pub tkeep: u64,
    pub tuser: [u64; 2],
    pub tvalid: u64,
    pub tlast: u64,
    pub m_tready: u64,
    pub awaddr: u64,
    pub awvalid: u64,
    pub wdata: u64,
    pub wstrb: u64,
    pub wvalid: u64,
    pub bready: u64,
    pub araddr: u64,
    pub arvalid: u64,
    pub rready: u64,
}

/// Outputs of the SUME output-port-lookup wrapper.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct OplOut {
    pub tready: u64,
    pub m_tdata: [u64; 4],
    pub m_tkeep: u64,
    pub m_tuser: [u64; 2],
    pub m_tvalid: u64,
    pub m_tlast: u64,
    pub awready: u64,
    pub wready: u64,
    pub bresp: u64,
    pub bvalid: u64,
    pub arready: u64,
    pub rdata: u64,
    pub rresp: u64,
    pub rvalid: u64,
}

/// The Verilated `ebpf_sume_opl` (the data plane in the SUME
/// output-port-lookup slot), its register clock and data-path clock driven
/// by one clock: reset, set inputs and settle ([`RtlOpl::eval`]), clock
/// ([`RtlOpl::tick`]).
#[derive(Debug)]
pub struct RtlOpl {
    handle: *mut std::ffi::c_void,
}

impl RtlOpl {
    /// A fresh model, held in reset over one edge with inputs `i`.
    pub fn new(i: &OplIn) -> Self {
        // SAFETY: the shim allocates a fresh model (C++ `new` aborts on
        // failure).
        #[allow(unsafe_code)]
        let handle = unsafe { ffi::nfbpf_opl_new() };
        // SAFETY: `handle` is live; `i` outlives the call.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_opl_reset(handle, i)
        };
        RtlOpl { handle }
    }

    /// Apply `i` and settle the combinational logic into `o`.
    pub fn eval(&mut self, i: &OplIn, o: &mut OplOut) {
        // SAFETY: `handle` is live; both structs outlive the call.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_opl_eval(self.handle, i, o)
        }
    }

    /// One rising and falling edge of both clocks.
    pub fn tick(&mut self) {
        // SAFETY: `handle` is live.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_opl_tick(self.handle)
        }
    }
}

// SAFETY: as for RtlDataplane: the model is owned by this value alone and
// used through `&mut self`.
#[allow(unsafe_code)]
unsafe impl Send for RtlOpl {}

impl Drop for RtlOpl {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `nfbpf_opl_new` and is not used after this.
        #[allow(unsafe_code)]
        unsafe {
            ffi::nfbpf_opl_free(self.handle)
        }
    }
}
