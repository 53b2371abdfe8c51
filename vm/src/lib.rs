//! nfbpf-vm: the eBPF machine every other layer is checked against.
//!
//! - [`isa`]: the one ISA table (every opcode fact, written once);
//! - [`insn`]: the raw 64-bit encoding; [`build`]: instruction builders from the table;
//! - [`validate`] and [`program`]: table-driven validation and pre-decoding;
//! - [`sem`]: instruction semantics, shared by interpreter and pipeline;
//! - [`mem`]: bounds-checked memory regions; [`helpers`]: helper registry;
//! - [`interp`]: the reference interpreter ([`fast`]: its flat dispatch); [`trace`]: retire records;
//! - [`asm`] and [`disasm`]: the assembler and disassembler;
//! - [`conformance`]: the conformance suite's test format and runner;
//! - [`contract`]: the hardware contract (address map, geometry, timing);
//! - [`regs`]: the register map of the device.
//!
//! No I/O happens here.

pub mod abi;
pub mod asm;
pub mod build;
pub mod conformance;
pub mod contract;
pub mod device;
pub mod disasm;
pub mod fast;
pub mod fib;
pub mod helpers;
pub mod insn;
pub mod interp;
pub mod isa;
pub mod maps;
pub mod mem;
pub mod pipeline;
pub mod program;
pub mod regs;
pub mod sem;
pub mod trace;
pub mod units;
pub mod validate;

pub use insn::Insn;
pub use program::Program;
