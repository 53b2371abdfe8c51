//! nfbpf-sim: the RTL of `rtl/` built with Verilator, driven from Rust.
//!
//! - [`rtl`]: Verilated units behind safe types (today the EX-stage ALU,
//!   checked against the model's semantics for every single-cycle ALU row of
//!   the ISA table).
//!
//! Still to come (open issues): the whole engine and data plane in RTL,
//! cycle-exact co-simulation against the pipeline model, traffic and reports.

pub mod rtl;
