//! An agent on several devices (embedded models, in-process on loopback):
//! invocations placed over them (least-loaded idle device first, a
//! function on at most `replicas` devices at once), the OpenFaaS status of
//! a function spread over devices, and a device that stops answering mid-run
//! (its bus failing, or its cycle counter frozen, by [`Flaky`]): its run
//! moves to another device for the rest of its time, and the interruption
//! is in `GET /status`, in the run's record and in the OpenFaaS answer.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[allow(dead_code)] // not every helper is used here
mod common;

use common::{clang, wire_source};
use nfbpf_agent::client::Client;
use nfbpf_agent::scheduler::DeviceIn;
use nfbpf_agent::{Agent, Config};
use nfbpf_sim::host::{ModelHost, parse_traffic};
use nfbpf_vm::device::{Device, DeviceConfig};
use nfbpf_vm::regs::{self, BusError, RegisterBus};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A schedule second is 0.1 device milliseconds: a 300 s run is 30 device
/// milliseconds (6 million clocks), a second or two of the model's wall
/// time.
const SCALE: f64 = 0.0001;

/// What a [`Flaky`] bus does once tripped.
const WORKS: u8 = 0;
const ERRORS: u8 = 1;
const FROZEN: u8 = 2;

/// A model's register bus that, once `trip` accesses have passed after
/// [`Switch::after`], fails every access (`ERRORS`) or reads its cycle
/// counter as it was (`FROZEN`, the rest still answering).
struct Flaky {
    inner: nfbpf_sim::host::SharedBus,
    switch: Arc<Switch>,
}

/// The test's handle on a [`Flaky`] bus.
struct Switch {
    /// Accesses left before the bus breaks (u64::MAX: never).
    left: AtomicU64,
    /// The mode it breaks into, then the mode it is in.
    mode: AtomicU8,
    broken: AtomicU8,
    /// The cycle counter's halves when it froze.
    frozen: AtomicU64,
}

impl Switch {
    fn new(mode: u8) -> Arc<Switch> {
        Arc::new(Switch {
            left: AtomicU64::new(u64::MAX),
            mode: AtomicU8::new(mode),
            broken: AtomicU8::new(WORKS),
            frozen: AtomicU64::new(0),
        })
    }

    /// Break after `n` more accesses.
    fn after(&self, n: u64) {
        self.left.store(n, Ordering::SeqCst);
    }

    /// Work again.
    fn heal(&self) {
        self.left.store(u64::MAX, Ordering::SeqCst);
        self.broken.store(WORKS, Ordering::SeqCst);
    }
}

impl Flaky {
    /// Count one access; the mode the bus is in.
    fn step(&mut self) -> u8 {
        let s = &self.switch;
        let b = s.broken.load(Ordering::SeqCst);
        if b != WORKS {
            return b;
        }
        let left = s.left.load(Ordering::SeqCst);
        if left == u64::MAX {
            return WORKS;
        }
        if left == 0 {
            let mode = s.mode.load(Ordering::SeqCst);
            if mode == FROZEN {
                let lo = self.inner.read32(regs::CYCLELO).unwrap_or(0);
                let hi = self.inner.read32(regs::CYCLEHI).unwrap_or(0);
                s.frozen
                    .store((u64::from(hi) << 32) | u64::from(lo), Ordering::SeqCst);
            }
            s.broken.store(mode, Ordering::SeqCst);
            return mode;
        }
        s.left.store(left - 1, Ordering::SeqCst);
        WORKS
    }
}

impl RegisterBus for Flaky {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        match self.step() {
            ERRORS => Err(BusError::Transport("test: the board is gone".into())),
            FROZEN if offset == regs::CYCLELO => {
                Ok(self.switch.frozen.load(Ordering::SeqCst) as u32)
            }
            FROZEN if offset == regs::CYCLEHI => {
                Ok((self.switch.frozen.load(Ordering::SeqCst) >> 32) as u32)
            }
            _ => self.inner.read32(offset),
        }
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        match self.step() {
            ERRORS => Err(BusError::Transport("test: the board is gone".into())),
            _ => self.inner.write32(offset, value),
        }
    }
}

fn model() -> ModelHost {
    let dev = Device::new(DeviceConfig {
        engines: 2,
        ..DeviceConfig::default()
    })
    .unwrap();
    ModelHost::start(dev, Some(parse_traffic("0,1:256:1").unwrap()))
}

/// An agent on `devices` models; device `i` is behind a [`Flaky`] bus
/// with `switches[i]`, if given.
struct Multi {
    agent: Option<Agent>,
    client: Client,
    _hosts: Vec<ModelHost>,
    _dir: tempfile::TempDir,
}

impl Drop for Multi {
    fn drop(&mut self) {
        if let Some(a) = self.agent.take() {
            a.stop();
        }
    }
}

fn start(switches: &[Option<Arc<Switch>>]) -> Multi {
    let dir = tempfile::Builder::new()
        .prefix("nfbpf-devices-")
        .tempdir()
        .unwrap();
    start_in(dir, switches, SCALE)
}

/// [`start`] with the store in `dir` and time scale `scale`.
fn start_in(dir: tempfile::TempDir, switches: &[Option<Arc<Switch>>], scale: f64) -> Multi {
    let mut cfg = Config::new("127.0.0.1:0", dir.path().join("a.redb"));
    cfg.time_scale = Some(scale);
    cfg.stall = Duration::from_millis(300);
    let mut hosts = Vec::new();
    let mut devs = Vec::new();
    for (i, sw) in switches.iter().enumerate() {
        let h = model();
        let (bus, model): (Box<dyn RegisterBus + Send>, _) = match sw {
            // A flaky device is reached through its bus alone.
            Some(sw) => (
                Box::new(Flaky {
                    inner: h.bus(),
                    switch: Arc::clone(sw),
                }),
                None,
            ),
            None => (Box::new(h.bus()), Some(h.bus())),
        };
        devs.push(DeviceIn {
            name: format!("board{i}"),
            bus,
            model,
        });
        hosts.push(h);
    }
    let agent = Agent::start_on(cfg, devs).unwrap();
    let client = Client::new(&format!("http://{}", agent.addr));
    Multi {
        agent: Some(agent),
        client,
        _hosts: hosts,
        _dir: dir,
    }
}

impl Multi {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.client.call(method, path, body.as_ref()).unwrap()
    }

    fn status(&self) -> Value {
        let (code, s) = self.call("GET", "/status", None);
        assert_eq!(code, 200, "{s:#}");
        s
    }

    /// Poll `GET /status` until `pred` holds (at most `secs` seconds).
    fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let t = Instant::now();
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(secs),
                "waiting for {what}: {s:#}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Deploy `name` through the OpenFaaS API: the first from the Wire
    /// program's source, the others as copies of `first`.
    fn deploy(&self, name: &str, first: Option<&str>) {
        let body = match first {
            None => json!({
                "service": name,
                "image": "wire",
                "annotations": { "nfbpf.source": wire_source(), "nfbpf.run_time": "100" },
            }),
            Some(f) => json!({ "service": name, "image": format!("nfbpf:{f}") }),
        };
        let (code, r) = self.call("POST", "/system/functions", Some(body));
        assert_eq!(code, 202, "{r:#}");
    }

    /// Queue an invocation of `name` (asynchronous); its id.
    fn invoke(&self, name: &str, run_time: u32) -> u64 {
        let (code, r) = self.call(
            "POST",
            &format!("/functions/{name}/invoke"),
            Some(json!({ "run_time": run_time })),
        );
        assert_eq!(code, 202, "{r:#}");
        r["id"].as_u64().unwrap()
    }
}

/// The device names running `function` in a status.
fn running(s: &Value, function: &str) -> Vec<String> {
    s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["running"]["function"] == function)
        .map(|d| d["target"].as_str().unwrap().to_string())
        .collect()
}

fn timeline_record(s: &Value, id: u64) -> Option<Value> {
    s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
}

#[test]
fn invocations_spread_over_devices_and_replicas_cap_a_function() {
    if !clang() {
        return;
    }
    // Runs of seconds: b's first run is still on when it is scaled.
    let dir = tempfile::Builder::new()
        .prefix("nfbpf-devices-")
        .tempdir()
        .unwrap();
    let a = start_in(dir, &[None, None, None], SCALE * 3.0);
    let s = a.status();
    assert_eq!(s["answering"], 3, "{s:#}");
    assert_eq!(s["target"], "board0, board1, board2");
    a.deploy("a", None);
    a.deploy("b", Some("a"));
    // Three different functions: one per device, the idle ones first.
    let ids = [a.invoke("a", 300), a.invoke("b", 300), a.invoke("b", 300)];
    let s = a.wait_for("a and b running", 60, |s| {
        running(s, "a").len() == 1 && !running(s, "b").is_empty()
    });
    // b has 1 replica (the default): its second invocation waits for its
    // first although a device is idle.
    assert_eq!(running(&s, "b").len(), 1, "{s:#}");
    let idle: Vec<&Value> = s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["running"].is_null())
        .collect();
    assert_eq!(idle.len(), 1, "{s:#}");
    assert_eq!(s["queue"]["head"][0]["id"], ids[2], "{s:#}");
    let (code, f) = a.call("GET", "/system/function/b", None);
    assert_eq!(code, 200);
    assert_eq!(
        (&f["replicas"], &f["availableReplicas"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(f["devices"], json!(running(&s, "b")));
    // Scaled to 2, b's queued invocation takes the idle device.
    let (code, r) = a.call(
        "POST",
        "/system/scale-function/b",
        Some(json!({ "serviceName": "b", "replicas": 2 })),
    );
    assert_eq!(code, 202, "{r:#}");
    assert_eq!(r["availableReplicas"], 2);
    let s = a.wait_for("b on two devices", 60, |s| running(s, "b").len() == 2);
    let on_b = running(&s, "b");
    assert_ne!(on_b[0], on_b[1]);
    let (_, f) = a.call("GET", "/system/function/b", None);
    assert_eq!(f["availableReplicas"], 2, "{f:#}");
    assert_eq!(f["devices"], json!(on_b));
    // More replicas than devices: as many as answer.
    a.call(
        "POST",
        "/system/scale-function/b",
        Some(json!({ "serviceName": "b", "replicas": 5 })),
    );
    let (_, all) = a.call("GET", "/system/functions", None);
    let b = all.as_array().unwrap().iter().find(|f| f["name"] == "b");
    assert_eq!(b.unwrap()["availableReplicas"], 3, "{all:#}");
    // Every device ran one of them; each record names its device.
    let s = a.wait_for("the three runs", 120, |s| {
        ids.iter().all(|&id| timeline_record(s, id).is_some())
    });
    let mut on: Vec<String> = ids
        .iter()
        .map(|&id| {
            let r = timeline_record(&s, id).unwrap();
            assert_eq!(r["outcome"], "completed", "{r:#}");
            assert_eq!(r["interruptions"], json!([]));
            r["device"].as_str().unwrap().to_string()
        })
        .collect();
    on.sort();
    assert_eq!(on, ["board0", "board1", "board2"]);
    for d in s["devices"].as_array().unwrap() {
        assert_eq!(d["state"], "answering", "{d:#}");
        assert_eq!(d["runs"], 1, "{d:#}");
        assert_eq!(d["conservation"]["lost"], 0, "{d:#}");
    }
}

/// Break board0 (`mode`) while it runs a 300 s invocation: the run moves
/// to board1 and ends there, completed, its interruption reported.
fn device_stops_mid_run(mode: u8, reason: &str) {
    if !clang() {
        return;
    }
    let sw = Switch::new(mode);
    let a = start(&[Some(Arc::clone(&sw)), None]);
    a.deploy("f", None);
    let (code, r) = a.call(
        "POST",
        "/system/scale-function/f",
        Some(json!({ "serviceName": "f", "replicas": 2 })),
    );
    assert_eq!((code, &r["availableReplicas"]), (202, &json!(2)), "{r:#}");
    let id = a.invoke("f", 300);
    // The idle device with the fewest runs, the first of equals: board0.
    let s = a.wait_for("f on board0 for a while", 60, |s| {
        s["devices"][0]["running"]["id"] == id
            && s["devices"][0]["running"]["elapsed_s"].as_f64().unwrap() > 20.0
    });
    assert!(s["devices"][1]["running"].is_null(), "{s:#}");
    sw.after(50);
    let s = a.wait_for("board0 stopped, f moved to board1", 60, |s| {
        s["devices"][0]["state"] == "stopped" && s["devices"][1]["running"]["id"] == id
    });
    let why = s["devices"][0]["stopped"]["reason"].as_str().unwrap();
    assert!(why.contains(reason), "{why}");
    assert_eq!(s["answering"], 1);
    let int = &s["interrupted"][0];
    assert_eq!(
        (&int["id"], &int["function"], &int["device"]),
        (&json!(id), &json!("f"), &json!("board0")),
        "{s:#}"
    );
    let at = int["elapsed_s"].as_f64().unwrap();
    assert!((20.0..300.0).contains(&at), "{int:#}");
    // It goes on from where it was, not from the start.
    let r = &s["devices"][1]["running"];
    assert!(r["elapsed_s"].as_f64().unwrap() >= at, "{r:#}");
    assert_eq!(r["interruptions"], 1);
    // The OpenFaaS status counts only the answering device.
    let (_, f) = a.call("GET", "/system/function/f", None);
    assert_eq!(f["availableReplicas"], 1, "{f:#}");
    assert_eq!(f["devices"], json!(["board1"]));
    let s = a.wait_for("the run's end", 120, |s| timeline_record(s, id).is_some());
    let rec = timeline_record(&s, id).unwrap();
    assert_eq!(rec["outcome"], "completed", "{rec:#}");
    assert_eq!(rec["device"], "board1");
    assert_eq!(rec["interruptions"][0]["device"], "board0", "{rec:#}");
    assert!(
        rec["interruptions"][0]["reason"]
            .as_str()
            .unwrap()
            .contains(reason)
    );
    // Only board1 runs from now on; board0 stays stopped while broken.
    let g = a.invoke("f", 5);
    let s = a.wait_for("the next run", 60, |s| timeline_record(s, g).is_some());
    assert_eq!(timeline_record(&s, g).unwrap()["device"], "board1");
    assert_eq!(s["devices"][0]["state"], "stopped");
    assert_eq!(s["devices"][0]["runs"], 1);
    // Working again, it is probed back into service.
    sw.heal();
    a.wait_for("board0 back", 30, |s| {
        s["devices"][0]["state"] == "answering" && s["answering"] == 2
    });
}

#[test]
fn a_device_whose_bus_fails_mid_run_hands_its_run_to_another() {
    device_stops_mid_run(ERRORS, "bus error: test: the board is gone");
}

#[test]
fn a_device_whose_cycle_counter_freezes_mid_run_hands_its_run_to_another() {
    device_stops_mid_run(FROZEN, "cycle counter stuck");
}

/// The synchronous OpenFaaS invocation of a run that moved answers with
/// its record, the interruption in it.
#[test]
fn a_synchronous_invocation_reports_the_device_it_lost() {
    if !clang() {
        return;
    }
    let sw = Switch::new(ERRORS);
    let a = start(&[Some(Arc::clone(&sw)), None]);
    a.deploy("f", None);
    let c = Client::new(a.client.base());
    let call =
        std::thread::spawn(move || c.call("POST", "/function/f?run_time=200", None).unwrap());
    a.wait_for("f on board0", 60, |s| {
        s["devices"][0]["running"]["function"] == "f"
            && s["devices"][0]["running"]["elapsed_s"].as_f64().unwrap() > 10.0
    });
    sw.after(0);
    let (code, rec) = call.join().unwrap();
    assert_eq!(code, 200, "{rec:#}");
    assert_eq!(rec["outcome"], "completed");
    assert_eq!(rec["device"], "board1");
    assert_eq!(rec["interruptions"][0]["device"], "board0", "{rec:#}");
}

/// Runs on two devices when the agent stops are resumed by the next agent
/// (here on one device), each for the rest of its time, one after the
/// other.
#[test]
fn runs_of_several_devices_resume_after_a_restart() {
    if !clang() {
        return;
    }
    // Slower: a 300 s run is 90 device milliseconds, seconds of wall time.
    let scale = SCALE * 3.0;
    let dir = tempfile::Builder::new()
        .prefix("nfbpf-devices-")
        .tempdir()
        .unwrap();
    let mut a = start_in(dir, &[None, None], scale);
    a.deploy("f", None);
    a.deploy("g", Some("f"));
    let ids = [a.invoke("f", 300), a.invoke("g", 300)];
    a.wait_for("both running a while", 60, |s| {
        (0..2).all(|i| s["devices"][i]["running"]["elapsed_s"].as_f64() > Some(5.0))
    });
    // Checkpoints are written every 100 ms.
    std::thread::sleep(Duration::from_millis(300));
    a.agent.take().unwrap().stop();
    let dir = std::mem::replace(&mut a._dir, tempfile::tempdir().unwrap());
    drop(a);
    let b = start_in(dir, &[None], scale);
    let s = b.wait_for("the oldest resumed", 30, |s| {
        s["devices"][0]["running"]["id"] == ids[0]
    });
    assert_eq!(s["pending"].as_array().map(Vec::len), Some(1), "{s:#}");
    assert_eq!(s["pending"][0]["id"], ids[1], "{s:#}");
    assert!(s["pending"][0]["moved_from"].is_null(), "{s:#}");
    assert_eq!(s["devices"][0]["running"]["resumed"], 1, "{s:#}");
    assert!(s["devices"][0]["running"]["elapsed_s"].as_f64() > Some(5.0));
    let s = b.wait_for("both ended", 120, |s| {
        ids.iter().all(|&id| timeline_record(s, id).is_some())
    });
    for id in ids {
        let r = timeline_record(&s, id).unwrap();
        assert_eq!(
            (&r["outcome"], &r["resumed"]),
            (&json!("completed"), &json!(1)),
            "{r:#}"
        );
        assert_eq!(r["device"], "board0");
    }
}

/// The store keeps a run moved off a device apart from the device's slot:
/// the device taken back and running another invocation does not
/// overwrite it, and a restart finds both.
#[test]
fn a_moved_run_and_its_old_device_s_next_run_are_both_kept() {
    use nfbpf_agent::limits::Limits;
    use nfbpf_agent::scheduler::Running;
    use nfbpf_agent::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("a.redb")).unwrap();
    let limits = Limits::default();
    // Invocations need a function; its code does not matter to the store.
    let f = nfbpf_agent::registry::Function {
        name: "f".into(),
        abi: "sume".into(),
        default_run_time: 5,
        source: None,
        object: Vec::new(),
        rules: Vec::new(),
        slots: 0,
        maps: Vec::new(),
        version: 1,
        created_ms: 0,
        updated_ms: 0,
        owner: String::new(),
        budget: None,
        program: None,
        map_sizes: Default::default(),
        lambda: None,
    };
    s.put_function(&f, true, &limits).unwrap().unwrap();
    let inv = |s: &Store| s.enqueue("f", 5, 0, "me", &limits).unwrap().unwrap();
    let run = |i| Running {
        invocation: i,
        version: 1,
        elapsed_s: 0.0,
        started_ms: 0,
        resumed: 0,
        interruptions: Vec::new(),
    };
    let (a, b) = (run(inv(&s)), run(inv(&s)));
    s.start_on(1, &a, false).unwrap();
    // Device 1 stops: a waits; device 1 is back and takes b.
    s.park(1, &a).unwrap();
    s.start_on(1, &b, false).unwrap();
    assert_eq!(
        s.invocation(a.invocation.id).unwrap(),
        Some(a.invocation.clone())
    );
    // Device 0 takes a.
    s.start_on(0, &a, true).unwrap();
    let all = s.running_all().unwrap();
    assert_eq!(
        all.iter()
            .map(|(k, r)| (*k, r.invocation.id))
            .collect::<Vec<_>>(),
        [(0, a.invocation.id), (1, b.invocation.id)]
    );
    // The function is in use by both.
    assert!(s.delete_function("f").unwrap().is_err());
    // A restart: both wait for a device, oldest first.
    let parked = s.park_all().unwrap();
    assert_eq!(
        parked.iter().map(|r| r.invocation.id).collect::<Vec<_>>(),
        [a.invocation.id, b.invocation.id]
    );
    assert!(s.running_all().unwrap().is_empty());
    assert_eq!(s.park_all().unwrap().len(), 2);
}

/// One device that stops answering: its run waits (no other device), the
/// function has no replica available, and the run goes on where it was on
/// the same device once it answers again.
#[test]
fn a_lone_device_that_stops_keeps_its_run_until_it_is_back() {
    if !clang() {
        return;
    }
    let sw = Switch::new(ERRORS);
    let a = start(&[Some(Arc::clone(&sw))]);
    a.deploy("f", None);
    let (_, f) = a.call("GET", "/system/function/f", None);
    assert_eq!(f["availableReplicas"], 2, "{f:#}"); // the engines
    let id = a.invoke("f", 300);
    a.wait_for("f running a while", 60, |s| {
        s["running"]["id"] == id && s["running"]["elapsed_s"].as_f64() > Some(20.0)
    });
    sw.after(0);
    let s = a.wait_for("the device stopped", 30, |s| s["answering"] == 0);
    assert!(s["running"].is_null(), "{s:#}");
    assert_eq!(s["pending"][0]["id"], id, "{s:#}");
    assert_eq!(s["pending"][0]["moved_from"], "board0", "{s:#}");
    let (_, f) = a.call("GET", "/system/function/f", None);
    assert_eq!(f["availableReplicas"], 0, "{f:#}");
    sw.heal();
    let s = a.wait_for("the run's end", 120, |s| timeline_record(s, id).is_some());
    let rec = timeline_record(&s, id).unwrap();
    assert_eq!(rec["outcome"], "completed", "{rec:#}");
    assert_eq!(rec["device"], "board0");
    assert_eq!(rec["interruptions"].as_array().map(Vec::len), Some(1));
    assert_eq!(s["devices"][0]["runs"], 2, "{s:#}");
}
