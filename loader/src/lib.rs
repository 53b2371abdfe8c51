//! nfbpf-loader: ELF objects to device images (issue: network functions).
//!
//! Nothing here yet: loading clang-compiled objects is not implemented.
