//! Any bytes -> `nfbpf_loader::load` must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nfbpf_loader::{Abi, Options, load};

fuzz_target!(|data: &[u8]| {
    let _ = load(data, &Options::default());
    let sume = Options {
        abi: Some(Abi::Sume),
        ..Options::default()
    };
    let _ = load(data, &sume);
    let _ = nfbpf_loader::disasm_object(data);
});
