//! nfbpf-loader: ELF objects to device images, and device targets.
//!
//! [`bus`]: the transports to a device's registers (`sim:PATH`, `sume:IFNAME`).

pub mod bus;
