//! The store keeps redb's panic on a damaged file off stderr, and only that
//! one: every other panic still reaches the panic hook. One test alone in
//! its binary, since it replaces the process's panic hook.

#![allow(clippy::unwrap_used)]

use nfbpf_agent::store::{Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn only_the_stores_own_panic_is_silenced() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&seen);
    let harness = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        s.fetch_add(1, Ordering::SeqCst);
        harness(info);
    }));

    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("store.redb");
    drop(Store::open(&p).unwrap());
    let full = std::fs::read(&p).unwrap();
    // Cut in the middle, redb 2 panics (a length assertion) while opening.
    std::fs::write(&p, &full[..full.len() / 2]).unwrap();
    let e = Store::open(&p).map(|_| ()).unwrap_err();
    assert!(
        matches!(&e, StoreError::Damaged { why, .. } if why.starts_with("redb panicked: ")),
        "{e:?}"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "the store's panic was printed"
    );

    // Any other panic, on this thread or another, is reported as before.
    assert!(std::panic::catch_unwind(|| panic!("unrelated")).is_err());
    assert!(
        std::thread::spawn(|| panic!("unrelated too"))
            .join()
            .is_err()
    );
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    d.close().unwrap();
}
