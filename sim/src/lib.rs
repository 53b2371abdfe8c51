//! nfbpf-sim: Verilator build of `rtl/`, co-simulation, traffic and reports.
//!
//! Nothing here yet: the RTL and the system runs are not implemented.
