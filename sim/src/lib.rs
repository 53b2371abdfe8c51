//! nfbpf-sim: the RTL of `rtl/` built with Verilator, driven from Rust.
//!
//! - [`rtl`]: Verilated units behind safe types (the EX-stage ALU and the
//!   whole engine core);
//! - [`engine`]: [`engine::RtlEngine`], the engine RTL with the harness that
//!   serves its memory and helper ports, behind the pipeline model's `run`
//!   interface, and [`engine::RtlExecutor`] for the conformance suite;
//! - [`cosim`]: model and RTL in lockstep, compared every clock;
//! - [`devcosim`]: the model and RTL data planes in lockstep;
//! - [`device`]: [`device::RtlDevice`], the device RTL (data plane with its
//!   map coprocessor and helper units) with its
//!   harness behind the model device's interface and register bus;
//! - [`rtlgen`]: the generated RTL sources (parameters, decoder);
//! - [`traffic`]: test traffic (sizes, IMIX, flows, protocols, rates);
//! - [`capture`]: pcap and pcapng read packet by packet, pcapng written
//!   with declared timestamp resolution and one interface per port;
//! - [`evaluation`]: the evaluation `nfbpf report` plots (line-rate runs,
//!   engine scaling, scenarios) and its job runner;
//! - [`sysrun`]: the data plane model under offered load, and its statistics;
//! - [`units_cosim`]: the helper units, map coprocessor and map registers
//!   (`rtl/ebpf_units.v`) co-simulated with the model's;
//! - [`timing`]: time per packet of a program, bare engine and runner, in
//!   CPU time (`nfbpf bench run`);
//! - [`host`]: the model run as a board (clock thread, traffic, registers);
//! - [`sume`]: the data plane in the NetFPGA SUME reference pipeline (the
//!   output-port-lookup wrapper `rtl/ebpf_sume_opl.v`, a model of the
//!   input arbiter and output queues) co-simulated with the model device;
//!   [`sumegen`]: the files to build a SUME bitstream with it (IP and
//!   placement scripts, register defines in the NetFPGA formats).
//!
//! The Verilated RTL (`rtl`, `engine`, `cosim`, `devcosim`, `device`,
//! `sume`, `units_cosim`) is behind the default feature `rtl`: without it the crate builds
//! no C++ (the agent, which drives only the model or a board, uses it so).

pub mod capture;
#[cfg(feature = "rtl")]
pub mod cosim;
#[cfg(feature = "rtl")]
pub mod devcosim;
#[cfg(feature = "rtl")]
pub mod device;
#[cfg(feature = "rtl")]
pub mod engine;
pub mod evaluation;
pub mod host;
#[cfg(feature = "rtl")]
pub mod rtl;
pub mod rtlgen;
#[cfg(feature = "rtl")]
pub mod sume;
pub mod sumegen;
pub mod sysrun;
pub mod timing;
pub mod traffic;
#[cfg(feature = "rtl")]
pub mod units_cosim;
