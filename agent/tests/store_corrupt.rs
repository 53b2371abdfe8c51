//! A store file redb cannot read (truncated, overwritten, a directory in
//! its place) gives an error naming the file and what to do, never a panic.

#![allow(clippy::unwrap_used)]

use nfbpf_agent::limits::Limits;
use nfbpf_agent::registry::Function;
use nfbpf_agent::store::{Store, StoreError};
use std::path::Path;

/// A fresh, empty directory of its own (removed when dropped).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("nfbpf-store-corrupt-{name}-"))
        .tempdir()
        .unwrap()
}

fn function(i: usize) -> Function {
    Function {
        name: format!("f{i}"),
        abi: "xdp".into(),
        default_run_time: 1,
        source: Some("int f(void) { return 2; }\n".repeat(100)),
        object: vec![i as u8; 3000],
        rules: vec![],
        slots: 3,
        maps: vec![],
        version: 1,
        created_ms: 0,
        updated_ms: 0,
        owner: String::new(),
        budget: None,
        program: None,
        map_sizes: Default::default(),
        lambda: None,
    }
}

/// The bytes of a store holding functions and queued invocations.
fn full_store() -> Vec<u8> {
    let tmp = scratch("full");
    let d = tmp.path();
    let p = d.join("store.redb");
    {
        let s = Store::open(&p).unwrap();
        for i in 0..10 {
            s.put_function(&function(i), true, &Limits::default())
                .unwrap()
                .unwrap();
            s.enqueue(&format!("f{i}"), 5, 1, "test", &Limits::default())
                .unwrap()
                .unwrap();
        }
    }
    let b = std::fs::read(&p).unwrap();
    tmp.close().unwrap();
    b
}

/// Opening `p` fails with the damaged-store error, which names the file and
/// says what to do.
fn assert_damaged(p: &Path, what: &str) {
    let e = match Store::open(p) {
        Ok(_) => panic!("{what}: opened"),
        Err(e) => e,
    };
    assert!(matches!(e, StoreError::Damaged { .. }), "{what}: {e:?}");
    let m = e.to_string();
    let want = format!("store {} is corrupt or truncated (redb", p.display());
    assert!(m.starts_with(&want), "{what}: {m}");
    assert!(
        m.ends_with("): move it aside to start with an empty store, or restore it from a backup"),
        "{what}: {m}"
    );
}

#[test]
fn a_truncated_store_is_reported_not_a_panic() {
    let full = full_store();
    let n = full.len();
    let page = 4096;
    assert!(n > 4 * page, "{n}");
    let tmp = scratch("trunc");
    let d = tmp.path();
    for len in [
        1,
        8,
        100,
        511,
        512,
        page - 1,
        page,
        page + 1,
        n / 2,
        n - page,
        n - 1,
    ] {
        let p = d.join(format!("store-{len}.redb"));
        std::fs::write(&p, &full[..len]).unwrap();
        assert_damaged(&p, &format!("truncated to {len} of {n} bytes"));
        // The file is left as it was, for the user to move aside.
        assert_eq!(std::fs::metadata(&p).unwrap().len(), len as u64);
    }
    // Moved aside, a new store starts empty at the path.
    let p = d.join(format!("store-{}.redb", n / 2));
    std::fs::rename(&p, d.join("aside")).unwrap();
    let s = Store::open(&p).unwrap();
    assert!(s.functions().unwrap().is_empty());
    // The whole file opens with everything in it.
    let p = d.join("whole.redb");
    std::fs::write(&p, &full).unwrap();
    let s = Store::open(&p).unwrap();
    assert_eq!(s.functions().unwrap().len(), 10);
    assert_eq!(s.queue().unwrap().len(), 10);
    tmp.close().unwrap();
}

#[test]
fn random_bytes_are_reported_not_a_panic() {
    let tmp = scratch("random");
    let d = tmp.path();
    for (seed, len) in [
        (1u64, 1usize),
        (2, 100),
        (3, 4096),
        (4, 70_000),
        (5, 1 << 20),
    ] {
        // xorshift64
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let p = d.join(format!("random-{len}.redb"));
        std::fs::write(&p, &bytes).unwrap();
        assert_damaged(&p, &format!("{len} random bytes"));
    }
    // A store's own header over garbage.
    let mut b = full_store();
    for (i, x) in b.iter_mut().enumerate().skip(4096) {
        *x = (i * 7) as u8;
    }
    let p = d.join("garbage-after-header.redb");
    std::fs::write(&p, &b).unwrap();
    match Store::open(&p) {
        // redb may find nothing wrong in the pages it reads at open.
        Ok(s) => drop(s),
        Err(e) => assert!(matches!(e, StoreError::Damaged { .. }), "{e:?}"),
    }
    tmp.close().unwrap();
}

#[test]
fn a_directory_at_the_path_is_reported() {
    let tmp = scratch("dir");
    let d = tmp.path();
    let e = Store::open(d).map(|_| ()).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "store {}: is a directory, not a store file: give the path of a file (it is created if missing)",
            d.display()
        )
    );
    tmp.close().unwrap();
}

#[test]
fn an_empty_file_is_a_new_store() {
    let tmp = scratch("empty");
    let d = tmp.path();
    let p = d.join("store.redb");
    std::fs::write(&p, b"").unwrap();
    let s = Store::open(&p).unwrap();
    assert!(s.functions().unwrap().is_empty());
    s.put_function(&function(1), true, &Limits::default())
        .unwrap()
        .unwrap();
    drop(s);
    assert_eq!(Store::open(&p).unwrap().functions().unwrap().len(), 1);
    tmp.close().unwrap();
}
