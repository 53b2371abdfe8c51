//! The loader never panics: real and hand-built objects, truncated and
//! mutated (bytes, aligned words with boundary values, and section-header
//! fields), must give `Ok` or an error. Runs in CI on stable; the
//! coverage-guided counterpart is `fuzz/` (cargo fuzz, nightly).

#![allow(clippy::unwrap_used)]

mod common;

use nfbpf_loader::{Cpu, Options, load};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Seed objects: the hand-built sample plus every program of programs/
/// compiled with clang-19 (skipped with a notice when clang is absent).
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut v = vec![common::sample_object()];
        if common::clang().is_some() {
            for name in common::ALL_PROGRAMS {
                v.push(common::build(name, Cpu::V3).unwrap());
            }
            v.push(common::build("ddos", Cpu::V4).unwrap());
        }
        for s in &v {
            // Every seed itself must load.
            load(s, &Options::default()).unwrap();
        }
        v
    })
}

const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    7,
    8,
    0x7f,
    0xff,
    0x100,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX,
    u64::MAX - 7,
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Set byte `at` (modulo length) to `v`.
    Byte(usize, u8),
    /// Write an interesting value, 4 or 8 bytes wide, at `at`.
    Word(usize, usize, bool),
    /// Overwrite a field of section header `sh` (0..64 bytes in) with an
    /// interesting value.
    Shdr(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(a, v)| Mutation::Byte(a, v)),
        (any::<usize>(), 0..INTERESTING.len(), any::<bool>())
            .prop_map(|(a, i, w)| Mutation::Word(a, i, w)),
        (any::<usize>(), 0usize..8, 0..INTERESTING.len())
            .prop_map(|(s, f, i)| Mutation::Shdr(s, f, i)),
    ]
}

fn put(b: &mut [u8], at: usize, v: u64, wide: bool) {
    let bytes = v.to_le_bytes();
    let n = if wide { 8 } else { 4 };
    for (k, x) in bytes.iter().take(n).enumerate() {
        if let Some(slot) = b.get_mut(at + k) {
            *slot = *x;
        }
    }
}

fn apply(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    if b.is_empty() {
        return b;
    }
    let len = b.len();
    let shoff = u64::from_le_bytes(b[40..48].try_into().unwrap()) as usize;
    let shnum = u16::from_le_bytes([b[60], b[61]]) as usize;
    for m in muts {
        match *m {
            Mutation::Byte(a, v) => b[a % len] = v,
            Mutation::Word(a, i, w) => put(&mut b, a % len, INTERESTING[i], w),
            Mutation::Shdr(s, f, i) => {
                // Fields at 0 name, 4 type, 8 flags, 24 offset, 32 size,
                // 40 link, 44 info, 56 entsize.
                let (off, wide) = [
                    (0, false),
                    (4, false),
                    (8, true),
                    (24, true),
                    (32, true),
                    (40, false),
                    (44, false),
                    (56, true),
                ][f];
                let at = shoff + (s % shnum.max(1)) * 64 + off;
                put(&mut b, at, INTERESTING[i], wide);
            }
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn truncated_objects_do_not_panic(seed in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let s = seed.get(seeds());
        let n = cut.index(s.len() + 1);
        let _ = load(&s[..n], &Options::default());
    }

    #[test]
    fn mutated_objects_do_not_panic(
        seed in any::<prop::sample::Index>(),
        muts in prop::collection::vec(mutation(), 1..12),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let s = seed.get(seeds()).clone();
        let mut m = apply(s, &muts);
        if let Some(c) = cut {
            let n = c.index(m.len() + 1);
            m.truncate(n);
        }
        let _ = load(&m, &Options::default());
        // The other entry selections walk other paths.
        let _ = load(&m, &Options { abi: Some(nfbpf_loader::Abi::Sume), ..Options::default() });
        let _ = load(&m, &Options { section: Some(".text".into()), ..Options::default() });
        let _ = nfbpf_loader::disasm_object(&m);
    }
}

#[test]
fn every_single_byte_truncation_of_the_sample() {
    let s = common::sample_object();
    for n in 0..s.len() {
        let _ = load(&s[..n], &Options::default());
        let _ = nfbpf_loader::disasm_object(&s[..n]);
    }
}
