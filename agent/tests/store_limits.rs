//! The store's caps on clients (functions, queued invocations, queued run
//! time, in all and per client), its pages, and the timeline's pruning,
//! checked on the store itself, where the caps are enforced.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use nfbpf_agent::limits::Limits;
use nfbpf_agent::registry::Function;
use nfbpf_agent::scheduler::RunRecord;
use nfbpf_agent::store::{Refused, Store};

fn store(name: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("nfbpf-store-{name}-"))
        .tempdir()
        .unwrap();
    let s = Store::open(&dir.path().join("s.redb")).unwrap();
    (dir, s)
}

fn function(name: &str, owner: &str) -> Function {
    Function {
        name: name.into(),
        abi: "sume".into(),
        default_run_time: 5,
        source: None,
        object: vec![1, 2, 3],
        rules: Vec::new(),
        slots: 3,
        maps: Vec::new(),
        version: 1,
        created_ms: 0,
        updated_ms: 0,
        owner: owner.into(),
        budget: None,
        program: None,
        map_sizes: Default::default(),
        lambda: None,
    }
}

fn limit_msg(r: Result<impl std::fmt::Debug, Refused>) -> String {
    match r {
        Err(Refused::Limit(m)) => m,
        other => panic!("expected a limit, got {other:?}"),
    }
}

#[test]
fn function_caps_in_all_and_per_client() {
    let (_d, s) = store("fn");
    let l = Limits {
        functions: 5,
        functions_per_client: 2,
        ..Limits::default()
    };
    for n in ["a1", "a2"] {
        s.put_function(&function(n, "alice"), true, &l)
            .unwrap()
            .unwrap();
    }
    assert!(s.function_room("alice", &l).unwrap().is_err());
    let m = limit_msg(s.put_function(&function("a3", "alice"), true, &l).unwrap());
    assert!(m.contains("client `alice` has 2 functions"), "{m}");
    // Another client still has room; an update is no new function.
    s.put_function(&function("b1", "bob"), true, &l)
        .unwrap()
        .unwrap();
    let f = s
        .put_function(&function("a1", "alice"), false, &l)
        .unwrap()
        .unwrap();
    assert_eq!(f.version, 2);
    // Deleting frees the client's room.
    s.delete_function("a2").unwrap().unwrap();
    s.put_function(&function("a3", "alice"), true, &l)
        .unwrap()
        .unwrap();
    for n in ["c1", "c2"] {
        s.put_function(&function(n, "carol"), true, &l)
            .unwrap()
            .unwrap();
    }
    let m = limit_msg(s.put_function(&function("d1", "dave"), true, &l).unwrap());
    assert!(m.contains("holds 5 functions"), "{m}");
}

#[test]
fn queue_caps_count_invocations_and_run_time() {
    let (_d, s) = store("queue");
    let l = Limits {
        queue: 6,
        queue_per_client: 3,
        queued_seconds: 1000,
        queued_seconds_per_client: 400,
        ..Limits::default()
    };
    s.put_function(&function("f", "alice"), true, &l)
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        s.enqueue("f", 10, 0, "alice", &l).unwrap().unwrap();
    }
    let m = limit_msg(s.enqueue("f", 10, 0, "alice", &l).unwrap());
    assert!(m.contains("client `alice` has 3 invocations queued"), "{m}");
    // Run time per client: 300 + 200 > 400.
    s.enqueue("f", 300, 0, "bob", &l).unwrap().unwrap();
    let m = limit_msg(s.enqueue("f", 200, 0, "bob", &l).unwrap());
    assert!(m.contains("client `bob` has 300 s"), "{m}");
    // Run time in all: 30 + 300 + 300 = 630 queued, 400 more > 1000.
    s.enqueue("f", 300, 0, "carol", &l).unwrap().unwrap();
    let m = limit_msg(s.enqueue("f", 400, 0, "dave", &l).unwrap());
    assert!(m.contains("630 s of run time"), "{m}");
    // Invocations in all: the sixth fits, the seventh not.
    s.enqueue("f", 10, 0, "dave", &l).unwrap().unwrap();
    let m = limit_msg(s.enqueue("f", 10, 0, "erin", &l).unwrap());
    assert!(m.contains("holds 6 invocations"), "{m}");
    // The owner is recorded, and a dequeue makes room again.
    let q = s.queue().unwrap();
    assert_eq!(q[0].owner, "alice");
    s.dequeue(q[0].id).unwrap().unwrap();
    s.enqueue("f", 10, 0, "alice", &l).unwrap().unwrap();
}

#[test]
fn pages_walk_the_whole_listing_once() {
    let (_d, s) = store("pages");
    let l = Limits::default();
    let names: Vec<String> = (0..7).map(|i| format!("f{i}")).collect();
    for n in &names {
        s.put_function(&function(n, "a"), true, &l)
            .unwrap()
            .unwrap();
        s.enqueue(n, 5, 0, "a", &l).unwrap().unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (total, page, more) = s.functions_page(after.as_deref(), 3).unwrap();
        assert_eq!(total, 7);
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|f| f.name.clone()));
        if !more {
            break;
        }
        after = page.last().map(|f| f.name.clone());
    }
    assert_eq!(seen, names);
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let (len, page, more) = s.queue_page(after, 2).unwrap();
        assert_eq!(len, 7);
        ids.extend(page.iter().map(|i| i.id));
        if !more {
            break;
        }
        after = page.last().map(|i| i.id);
    }
    let all: Vec<u64> = s.queue().unwrap().iter().map(|i| i.id).collect();
    assert_eq!(ids, all);
    assert_eq!(s.invocation(all[3]).unwrap().unwrap().id, all[3]);
    assert!(s.invocation(9999).unwrap().is_none());
}

#[test]
fn the_timeline_keeps_the_last_records() {
    let (_d, s) = store("history");
    for id in 1..=12u64 {
        let rec = RunRecord {
            id,
            function: "f".into(),
            version: 1,
            run_time: 5,
            outcome: "completed".into(),
            started_ms: 0,
            ended_ms: 0,
            start_s: 0.0,
            deadline_s: 5.0,
            end_s: 5.0,
            staged_ahead_s: None,
            resumed: 0,
            start_cycle: None,
            end_cycle: None,
            counters: Default::default(),
            map_rows_ahead: None,
            device: None,
            interruptions: Vec::new(),
            response: None,
            owner: String::new(),
        };
        s.finish(&rec, 5).unwrap();
    }
    let h = s.history(100).unwrap();
    assert_eq!(
        h.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![8, 9, 10, 11, 12]
    );
}
