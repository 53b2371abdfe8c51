//! The agent end to end, as processes: `nfbpf agent serve` on loopback with
//! the embedded model and traffic, driven through `nfbpf fn` and its HTTP
//! API. Wire and DDoS run in turn with zero loss at the swap; a kill -9
//! mid-run loses neither functions nor queue; bad requests get 4xx JSON;
//! a short load test; two simulated boards, one killed mid-run and then
//! the agent killed, with every acknowledged invocation completed.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct AgentProc {
    child: Child,
    url: String,
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(store: &Path, port: u16, extra: &[&str]) -> AgentProc {
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_nfbpf"))
        .args(["agent", "serve", "--listen", &listen, "--store"])
        .arg(store)
        .args(extra)
        .stderr(Stdio::null())
        .spawn()
        .expect("start the agent");
    let a = AgentProc {
        child,
        url: format!("http://{listen}"),
    };
    let t = Instant::now();
    while TcpStream::connect(&listen).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "agent did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    a
}

/// A raw HTTP request: (status, JSON body).
fn http(url: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let host = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let json = out.split_once("\r\n\r\n").map_or("", |x| x.1);
    (
        status,
        serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {out}")),
    )
}

fn fncli(url: &str, args: &[&str]) -> (i32, String, String) {
    let mut v = vec!["fn", "--agent", url];
    v.extend_from_slice(args);
    common::nfbpf(&v)
}

fn status(url: &str) -> Value {
    let (c, v) = http(url, "GET", "/status", "");
    assert_eq!(c, 200, "{v}");
    v
}

/// Wait until `pred(status)` holds.
fn wait_for(url: &str, what: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let t = Instant::now();
    loop {
        let s = status(url);
        if pred(&s) {
            return s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timeout waiting for {what}: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A fresh temporary directory (removed when dropped), named after `name`.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("nfbpf-agent-{name}-"))
        .tempdir()
        .unwrap()
}

fn create_both(url: &str) {
    let wire = common::program("wire_sume.c");
    let ddos = common::program("ddos_sume.c");
    let tmp = scratch("rules");
    let rules = tmp.path().join("r.json");
    std::fs::write(&rules, r#"[{"map": "blocked", "key": 53, "value": 1}]"#).unwrap();
    let (c, o, e) = fncli(url, &["create", "wire", wire.to_str().unwrap()]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.contains("wire v1"), "{o}");
    let (c, o, e) = fncli(
        url,
        &[
            "create",
            "ddos",
            ddos.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.contains("ddos v1") && o.contains("2 maps"), "{o}");
}

fn counters(r: &Value, k: &str) -> u64 {
    r["counters"][k].as_u64().unwrap()
}

#[test]
fn wire_then_ddos_swap_at_the_deadline_without_loss() {
    if !common::clang() {
        return;
    }
    let tmp = scratch("e2e");
    let dir = tmp.path();
    let a = start(&dir.join("a.redb"), free_port(), &[]);
    create_both(&a.url);
    let (c, o, _) = fncli(&a.url, &["list"]);
    assert!(c == 0 && o.contains("wire") && o.contains("ddos"), "{o}");
    // Wire runs long enough (20 schedule seconds, 20 ms of device time:
    // about 4 M model clocks) for the status polls below to see it with
    // DDoS staged; 3 seconds took only 59 ms of wall time on an idle CI
    // machine, between two polls.
    let (c, o, e) = fncli(&a.url, &["invoke", "wire", "--run-time", "20"]);
    assert_eq!(c, 0, "{o}{e}");
    let (c, o, e) = fncli(&a.url, &["invoke", "ddos", "--run-time", "3"]);
    assert!(c == 0 && o.contains("queued #2"), "{o}{e}");
    // While Wire runs, DDoS is already in the idle bank.
    let s = wait_for(&a.url, "wire running", 30, |s| {
        s["running"]["function"] == "wire" && s["next_staged"]["function"] == "ddos"
    });
    let remaining = s["running"]["remaining_s"].as_f64().unwrap();
    assert!(remaining > 0.0 && remaining <= 20.0, "{s:#}");
    let s = wait_for(&a.url, "both runs in the timeline", 60, |s| {
        s["timeline"].as_array().unwrap().len() == 2
    });
    let tl = s["timeline"].as_array().unwrap();
    let (w, d) = (&tl[0], &tl[1]);
    assert_eq!(
        (w["function"].as_str(), d["function"].as_str()),
        (Some("wire"), Some("ddos"))
    );
    for r in tl {
        assert_eq!(r["outcome"], "completed", "{r:#}");
        // The run lasted its run time; the swap came at the deadline: the
        // embedded model waits there for the scheduler's thread, however
        // busy the machine (it came up to 1.4 schedule seconds late under
        // load before; `SharedBus::hold_at`).
        let (start, end, deadline) = (
            r["start_s"].as_f64().unwrap(),
            r["end_s"].as_f64().unwrap(),
            r["deadline_s"].as_f64().unwrap(),
        );
        let run_time = r["run_time"].as_f64().unwrap();
        assert!((deadline - start - run_time).abs() < 1e-9, "{r:#}");
        assert!(end >= deadline && end - deadline < 0.01, "late swap: {r:#}");
        // Packets flowed, none refused at the ports (but right after the
        // first load, on ports whose queues filled while no program was
        // loaded), none faulted.
        assert!(counters(r, "pkt_in") > 1000, "{r:#}");
        assert!(counters(r, "pkt_out") > 1000, "{r:#}");
        if r["id"] != 1 {
            assert_eq!(counters(r, "rx_dropped"), 0, "{r:#}");
        }
        assert_eq!(counters(r, "faults"), 0, "{r:#}");
    }
    // DDoS went into the idle bank ahead of its start; Wire's end is DDoS's start.
    assert!(d["staged_ahead_s"].as_f64().unwrap() > 1.0, "{d:#}");
    assert_eq!(w["end_s"], d["start_s"]);
    assert_eq!(w["end_cycle"], d["start_cycle"]);
    // Conservation over the whole device, read in one hold of the model:
    // every packet an engine took is out, dropped by the program, or still
    // inside; every frame a port received went to an engine or was refused
    // (before the first load only).
    let c = &s["conservation"];
    assert_eq!(c["lost"], 0, "{c:#}");
    assert_eq!(c["rx_unaccounted"], 0, "{c:#}");
    assert_eq!(c["faults"], 0, "{c:#}");
    let s2 = status(&a.url);
    assert_eq!(
        s2["conservation"]["rx_dropped"], c["rx_dropped"],
        "frames refused after the first load"
    );
    // Map rules take effect at the swap: DDoS with the traffic's UDP port
    // (5000) blocked drops every frame. A swap between two functions with
    // maps (the next one's rows staged beside the running one's) faults
    // nothing.
    let block_dir = scratch("block");
    let block = block_dir.path().join("r.json");
    std::fs::write(&block, r#"[{"map": "blocked", "key": 5000, "value": 1}]"#).unwrap();
    let ddos = common::program("ddos_sume.c");
    let (c, o, e) = fncli(
        &a.url,
        &[
            "create",
            "ddos-block",
            ddos.to_str().unwrap(),
            "--rules",
            block.to_str().unwrap(),
        ],
    );
    assert_eq!(c, 0, "{o}{e}");
    let (c, o, e) = fncli(&a.url, &["invoke", "ddos-block", "--run-time", "3"]);
    assert_eq!(c, 0, "{o}{e}");
    let s3 = wait_for(&a.url, "the blocking run", 60, |s| {
        s["timeline"].as_array().unwrap().len() == 3
    });
    let b = &s3["timeline"][2];
    assert_eq!(b["function"], "ddos-block");
    assert!(counters(b, "dropped") > 1000, "{b:#}");
    // Only packets already inside at the swap leave (under the old program).
    assert!(counters(b, "pkt_out") < 16, "{b:#}");
    assert_eq!(counters(b, "faults"), 0, "{b:#}");
    assert_eq!(s3["conservation"]["lost"], 0);
    assert_eq!(s3["conservation"]["faults"], 0);
    // The CLI's status shows the runs.
    let (code, o, _) = fncli(&a.url, &["status"]);
    assert_eq!(code, 0);
    assert!(
        o.contains("wire") && o.contains("ddos") && o.contains("completed"),
        "{o}"
    );
}

/// Two functions with maps, one after the other under traffic: the next
/// one's map rows and rules go into the half of the map table the running
/// one does not use, ahead of the deadline; the deadline only FLIPs. The
/// running DDoS (port 53 blocked) keeps passing the traffic's port 5000
/// while the next one's rule blocking 5000 is already written, and nothing
/// faults or goes missing.
#[test]
fn map_to_map_swaps_stage_rows_ahead_without_loss() {
    if !common::clang() {
        return;
    }
    let tmp = scratch("rows");
    let dir = tmp.path();
    let a = start(&dir.join("a.redb"), free_port(), &[]);
    create_both(&a.url);
    let block = dir.join("r.json");
    std::fs::write(&block, r#"[{"map": "blocked", "key": 5000, "value": 1}]"#).unwrap();
    let ddos = common::program("ddos_sume.c");
    let (c, o, e) = fncli(
        &a.url,
        &[
            "create",
            "ddos-block",
            ddos.to_str().unwrap(),
            "--rules",
            block.to_str().unwrap(),
        ],
    );
    assert_eq!(c, 0, "{o}{e}");
    for f in ["ddos", "ddos-block", "ddos"] {
        let (c, o, e) = fncli(&a.url, &["invoke", f, "--run-time", "3"]);
        assert_eq!(c, 0, "{o}{e}");
    }
    let s = wait_for(&a.url, "three runs and the old rows cleared", 60, |s| {
        s["timeline"].as_array().unwrap().len() == 3 && s["map_rows_clearing"].is_null()
    });
    let tl = s["timeline"].as_array().unwrap();
    let rows: Vec<Option<u64>> = tl.iter().map(|r| r["map_rows_ahead"][0].as_u64()).collect();
    // The first run's maps were written at its swap (rows 0..: the agent
    // does not know what the device ran before); then the halves alternate.
    assert_eq!(rows, [None, Some(32), Some(0)], "{s:#}");
    for (i, r) in tl.iter().enumerate() {
        assert_eq!(r["outcome"], "completed", "{r:#}");
        if i > 0 {
            assert_eq!(r["map_rows_ahead"][1], 2, "{r:#}");
        }
        // After the first (loaded at once on an idle device), rows, rules
        // and instructions were written before the deadline.
        // (The first starts on ports whose queues filled while no program
        // was loaded: a few frames may be refused right after its load.)
        if i > 0 {
            assert!(r["staged_ahead_s"].as_f64().unwrap() > 0.5, "{r:#}");
            assert_eq!(counters(r, "rx_dropped"), 0, "{r:#}");
        }
        assert_eq!(counters(r, "faults"), 0, "{r:#}");
        assert!(counters(r, "pkt_in") > 1000, "{r:#}");
    }
    // DDoS (53 blocked) dropped nothing of the port-5000 traffic, though
    // DDoS-block's rule for 5000 was in the table during its run;
    // DDoS-block dropped it all from its swap on.
    assert_eq!(counters(&tl[0], "dropped"), 0, "{:#}", tl[0]);
    assert!(counters(&tl[1], "dropped") > 1000, "{:#}", tl[1]);
    assert!(counters(&tl[1], "pkt_out") < 16, "{:#}", tl[1]);
    // DDoS again: only DDoS-block's packets inside at the swap drop.
    assert!(counters(&tl[2], "dropped") < 16, "{:#}", tl[2]);
    let c = &s["conservation"];
    assert_eq!(c["lost"], 0, "{c:#}");
    assert_eq!(c["faults"], 0, "{c:#}");
    assert_eq!(c["rx_unaccounted"], 0, "{c:#}");
    assert_eq!(s["map_rows"], serde_json::json!([0, 2]), "{s:#}");
}

#[test]
fn kill_9_mid_run_keeps_functions_and_queue() {
    if !common::clang() {
        return;
    }
    let tmp = scratch("restart");
    let dir = tmp.path();
    let store = dir.join("a.redb");
    let port = free_port();
    // A schedule second is 10 device ms here, so a run lasts a few wall seconds.
    let args = ["--time-scale", "0.01"];
    let mut a = start(&store, port, &args);
    create_both(&a.url);
    for (f, t) in [("wire", "5"), ("ddos", "3"), ("wire", "3")] {
        let (c, o, e) = fncli(&a.url, &["invoke", f, "--run-time", t]);
        assert_eq!(c, 0, "{o}{e}");
    }
    let before = wait_for(&a.url, "wire 1 s into its run", 60, |s| {
        s["running"]["id"] == 1 && s["running"]["elapsed_s"].as_f64().unwrap() > 1.0
    });
    std::thread::sleep(Duration::from_millis(300)); // a checkpoint or two
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
    let a = start(&store, port, &args);
    let (c, v) = http(&a.url, "GET", "/functions", "");
    assert_eq!(c, 200);
    let names: Vec<&str> = v["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ddos", "wire"]);
    let (_, q) = http(&a.url, "GET", "/queue", "");
    let ids: Vec<u64> = q["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3], "{q:#}");
    // The interrupted run is loaded again for the rest of its time, then the
    // queue goes on.
    let s = wait_for(&a.url, "the schedule to finish", 120, |s| {
        s["timeline"].as_array().unwrap().len() == 3
    });
    let tl = s["timeline"].as_array().unwrap();
    let got: Vec<(&str, u64)> = tl
        .iter()
        .map(|r| {
            (
                r["function"].as_str().unwrap(),
                r["resumed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("wire", 1), ("ddos", 0), ("wire", 0)], "{s:#}");
    let w = &tl[0];
    let ran = w["end_s"].as_f64().unwrap() - w["start_s"].as_f64().unwrap();
    let elapsed = before["running"]["elapsed_s"].as_f64().unwrap();
    assert!(
        ran < 5.0 - elapsed + 1.0 && ran > 0.5,
        "resumed for {ran} s: {w:#}"
    );
    for r in tl {
        assert_eq!(r["outcome"], "completed", "{r:#}");
    }
}

/// `nfbpf fn create` with `-I DIR` sends the headers the source includes
/// (beside it and in the directory), and `--rules` takes the text form.
#[test]
fn fn_create_sends_headers_and_text_rules() {
    if !common::clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = start(&dir.path().join("a.redb"), free_port(), &[]);
    let (src_dir, inc) = (dir.path().join("src"), dir.path().join("inc"));
    std::fs::create_dir_all(&src_dir).unwrap();
    std::fs::create_dir_all(&inc).unwrap();
    let ddos = std::fs::read_to_string(common::program("ddos_sume.c")).unwrap();
    let src = src_dir.join("mine.c");
    std::fs::write(&src, format!("#include \"mine.h\"\n{ddos}")).unwrap();
    std::fs::write(src_dir.join("mine.h"), "#include \"deep.h\"\n").unwrap();
    std::fs::write(inc.join("deep.h"), "#define MINE_DEEP 1\n").unwrap();
    let rules = dir.path().join("blocked.rules");
    std::fs::write(&rules, "# MAP KEY VALUE\nblocked 53 1\nblocked 0x7b 1\n").unwrap();
    let (src_s, rules_s, inc_s) = (
        src.to_str().unwrap(),
        rules.to_str().unwrap(),
        inc.to_str().unwrap(),
    );
    // Without -I, deep.h is not sent: the agent's compile names it.
    let (c, o, e) = fncli(&a.url, &["create", "mine", src_s, "--rules", rules_s]);
    assert_eq!(c, 1, "{o}{e}");
    assert!(e.contains("deep.h") && e.contains("not found"), "{e}");
    let (c, o, e) = fncli(
        &a.url,
        &["create", "mine", src_s, "-I", inc_s, "--rules", rules_s],
    );
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.contains("mine v1"), "{o}");
    let (c, v) = http(&a.url, "GET", "/functions/mine", "");
    assert_eq!(c, 200, "{v}");
    let keys: Vec<&str> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["hex:3500", "hex:7b00"], "{v}");
    // A rules text that does not fit the maps: the agent names the line.
    std::fs::write(&rules, "blocked 53 1\nnope 1 2\n").unwrap();
    let (c, o, e) = fncli(
        &a.url,
        &["update", "mine", src_s, "-I", inc_s, "--rules", rules_s],
    );
    assert_eq!(c, 1, "{o}{e}");
    assert!(e.contains("rules line 2: `nope 1 2`: no map `nope`"), "{e}");
}

#[test]
fn bad_requests_get_4xx_json_naming_the_problem() {
    if !common::clang() {
        return;
    }
    let tmp = scratch("bad");
    let dir = tmp.path();
    let a = start(&dir.join("a.redb"), free_port(), &[]);
    create_both(&a.url);
    let huge = format!(
        "{{\"name\":\"big\",\"source\":\"unsigned long long f(void *p) {{ volatile unsigned long long x = 0; {} return x; }}\"}}",
        "x += 1; x *= 3; x ^= 7; ".repeat(1500)
    );
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("POST", "/functions", "{not json".into(), 400, "not JSON"),
        ("POST", "/functions", "".into(), 400, "empty"),
        ("POST", "/functions", "[1]".into(), 400, "expected a JSON object"),
        ("POST", "/functions", r#"{"source":"x"}"#.into(), 400, "`name` is missing"),
        ("POST", "/functions", r#"{"name":"a b","source":"x"}"#.into(), 400, "name `a b`"),
        ("POST", "/functions", r#"{"name":"n"}"#.into(), 400, "`source`"),
        ("POST", "/functions", r#"{"name":"n","source":"x","colour":1}"#.into(), 400, "unknown field `colour`"),
        ("POST", "/functions", r#"{"name":"wire","source":"x"}"#.into(), 409, "exists"),
        ("POST", "/functions", r#"{"name":"n","source":"int f( {"}"#.into(), 422, "compile error"),
        ("POST", "/functions", r#"{"name":"n","object":"!!"}"#.into(), 400, "not base64"),
        ("POST", "/functions", r#"{"name":"n","object":"aGVsbG8="}"#.into(), 422, "not a valid ELF"),
        (
            "POST",
            "/functions",
            r##"{"name":"n","source":"#include \"sume.h\"\nu64 f(struct sume_md *m) { return ((u64 (*)(void))12)(); }"}"##.into(),
            422,
            "helper 12",
        ),
        ("POST", "/functions", huge, 422, "instruction slots"),
        ("POST", "/functions", r#"{"name":"n","source":"x","abi":"xdp"}"#.into(), 422, "runs the sume ABI"),
        ("POST", "/functions", r#"{"name":"n","source":"x","abi":"arm"}"#.into(), 400, "abi"),
        ("POST", "/functions", r#"{"name":"n","source":"x","default_run_time":500}"#.into(), 400, "3..300"),
        (
            "POST",
            "/functions",
            format!(
                r#"{{"name":"n","source":{},"rules":[{{"map":"nope","key":1,"value":1}}]}}"#,
                serde_json::to_string(&std::fs::read_to_string(common::program("ddos_sume.c")).unwrap()).unwrap()
            ),
            422,
            "no map `nope`",
        ),
        (
            "POST",
            "/functions",
            format!(
                r#"{{"name":"n","source":{},"rules":[{{"map":"blocked","key":70000,"value":1}}]}}"#,
                serde_json::to_string(&std::fs::read_to_string(common::program("ddos_sume.c")).unwrap()).unwrap()
            ),
            422,
            "does not fit",
        ),
        ("GET", "/functions/nosuch", "".into(), 404, "unknown function `nosuch`"),
        ("PUT", "/functions/nosuch", r#"{"source":"x"}"#.into(), 404, "unknown function"),
        ("PUT", "/functions/wire", r#"{"name":"other","source":"x"}"#.into(), 400, "differs"),
        ("DELETE", "/functions/nosuch", "".into(), 404, "unknown function"),
        ("POST", "/functions/nosuch/invoke", "{}".into(), 404, "unknown function `nosuch`"),
        ("POST", "/functions/wire/invoke", r#"{"run_time":2}"#.into(), 400, "3..300"),
        ("POST", "/functions/wire/invoke", r#"{"run_time":301}"#.into(), 400, "3..300"),
        ("POST", "/functions/wire/invoke", r#"{"run_time":"5"}"#.into(), 400, "3..300"),
        ("POST", "/functions/wire/invoke", r#"{"runtime":5}"#.into(), 400, "unknown field `runtime`"),
        ("DELETE", "/queue/abc", "".into(), 400, "not a number"),
        ("DELETE", "/queue/999", "".into(), 404, "no queued or running invocation 999"),
        ("PATCH", "/functions/wire", "".into(), 405, "not allowed"),
        ("GET", "/nothing", "".into(), 404, "no route"),
    ];
    for (m, p, b, want, msg) in &cases {
        let (c, v) = http(&a.url, m, p, b);
        let e = v["error"].as_str().unwrap_or("");
        assert_eq!(c, *want, "{m} {p} {}: {v}", &b[..b.len().min(80)]);
        assert!(e.contains(msg), "{m} {p}: `{e}` lacks `{msg}`");
    }
    // A function with queued invocations cannot be deleted; cancelled, it can.
    let (_, inv) = http(
        &a.url,
        "POST",
        "/functions/ddos/invoke",
        r#"{"run_time": 300}"#,
    );
    let (_, inv2) = http(&a.url, "POST", "/functions/wire/invoke", "");
    assert_eq!(inv2["run_time"], 5, "default run time: {inv2}");
    let (c, v) = http(&a.url, "DELETE", "/functions/wire", "");
    assert_eq!(c, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("cancel them first"));
    let (c, _) = http(&a.url, "DELETE", &format!("/queue/{}", inv2["id"]), "");
    assert_eq!(c, 200);
    let (c, v) = http(&a.url, "DELETE", "/functions/wire", "");
    assert_eq!(c, 200, "{v}");
    // The running invocation can be cancelled too.
    wait_for(&a.url, "ddos running", 30, |s| {
        s["running"]["id"] == inv["id"]
    });
    let (c, v) = http(&a.url, "DELETE", &format!("/queue/{}", inv["id"]), "");
    assert_eq!((c, v["was"].as_str()), (200, Some("running")), "{v}");
    let s = wait_for(&a.url, "the cancel", 30, |s| s["running"].is_null());
    assert_eq!(s["timeline"][0]["outcome"], "cancelled", "{s:#}");
    // Still serving after all that.
    let (c, _) = http(&a.url, "GET", "/functions/ddos", "");
    assert_eq!(c, 200);
}

#[test]
fn short_load_test_with_hostile_clients() {
    if !common::clang() {
        return;
    }
    let wire = common::program("wire_sume.c");
    let (c, o, e) = common::nfbpf(&[
        "agent",
        "bench",
        "--clients",
        "8",
        "--hostile",
        "4",
        "--seconds",
        "3",
        "--source",
        wire.to_str().unwrap(),
    ]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(
        o.contains("valid requests in") && o.contains(" 0 unintended answers"),
        "{o}"
    );
    assert!(o.contains(", 0 answered other than intended"), "{o}");
    assert!(o.contains("alive, 0 crashes"), "{o}");
    assert!(o.contains("file descriptors:"), "{o}");
}

/// A client that sends half a request, or asks for a large answer and
/// resets the connection before reading it, costs that connection only:
/// the agent process does not die of SIGPIPE (it did: exit 141).
#[test]
fn resets_and_half_requests_do_not_kill_the_agent() {
    if !common::clang() {
        return;
    }
    let tmp = scratch("reset");
    let dir = tmp.path();
    let mut a = start(&dir.join("a.redb"), free_port(), &[]);
    create_both(&a.url);
    let host = a.url.trim_start_matches("http://").to_string();
    for i in 0..20 {
        let mut s = TcpStream::connect(&host).unwrap();
        if i % 2 == 0 {
            // The whole function (its object, base64) is left unread; the
            // close with unread data resets the connection.
            write!(s, "GET /functions/ddos HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
            std::thread::sleep(Duration::from_millis(5));
        } else {
            write!(
                s,
                "POST /functions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{{\"name\":"
            )
            .unwrap();
        }
        drop(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        a.child.try_wait().unwrap().is_none(),
        "the agent exited: {:?}",
        a.child.try_wait()
    );
    assert!(status(&a.url)["target"].is_string());
}

/// `--target model` twice: two embedded model devices, each running one
/// of two functions at once; `nfbpf fn status` shows both. Targets that
/// cannot go together are refused before the agent starts, naming why.
#[test]
fn serve_on_two_model_devices() {
    if !common::clang() {
        return;
    }
    let dir = scratch("two");
    for (args, want) in [
        (
            &["-t", "model", "-t", "sim:/nonexistent.sock"][..],
            "give --time-scale",
        ),
        (&["-t", "sim:/a.sock", "-t", "sim:/a.sock"], "given twice"),
        (
            &["-t", "sim:/a.sock", "--traffic", "0:256:1"],
            "--traffic is for embedded models",
        ),
    ] {
        let store = dir.path().join("refused.redb");
        let mut v = vec!["agent", "serve", "--listen", "127.0.0.1:0", "--store"];
        v.push(store.to_str().unwrap());
        v.extend_from_slice(args);
        let (c, o, e) = common::nfbpf(&v);
        assert_ne!(c, 0, "{args:?}: {o}{e}");
        assert!(e.contains(want), "{args:?}: {e}");
    }
    let a = start(
        &dir.path().join("a.redb"),
        free_port(),
        &["-t", "model", "-t", "model"],
    );
    create_both(&a.url);
    for f in ["wire", "ddos"] {
        let (c, o, e) = fncli(&a.url, &["invoke", f, "--run-time", "300"]);
        assert_eq!(c, 0, "{o}{e}");
    }
    let s = wait_for(&a.url, "both running", 60, |s| {
        s["devices"]
            .as_array()
            .is_some_and(|d| d.iter().all(|d| !d["running"].is_null()))
    });
    assert_eq!(s["target"], "model:0, model:1", "{s:#}");
    let (c, o, e) = fncli(&a.url, &["status"]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.contains("devices: 2 of 2 answering"), "{o}");
    for (i, f) in [(0, "wire"), (1, "ddos")] {
        let line = o
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("model:{i}:")))
            .unwrap_or_else(|| panic!("no line of model:{i}: {o}"));
        assert!(line.contains(&format!(" {f},")), "{line}");
    }
}

/// The device names whose run is `function` in a status.
fn running_on(s: &Value, function: &str) -> Vec<String> {
    s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["running"]["function"] == function)
        .map(|d| d["target"].as_str().unwrap().to_string())
        .collect()
}

/// The whole path past one board, as processes: two simulated boards
/// (`nfbpf device serve`), one agent scheduling on both. Wire scaled to 2
/// replicas runs on both at once; one board is killed mid-run and its run
/// moves to the other, the interruption reported; then the agent itself
/// is killed (SIGKILL) and started again, and every invocation it had
/// acknowledged ends completed, the moved one with both its interruptions
/// in its record.
#[test]
fn two_boards_one_killed_then_the_agent_killed() {
    if !common::clang() {
        return;
    }
    let tmp = scratch("two-boards");
    let dir = tmp.path();
    let mut a_board = common::DeviceServer::start_at(&dir.join("a.sock"), &[]);
    let b_board = common::DeviceServer::start_at(&dir.join("b.sock"), &[]);
    let (ta, tb) = (a_board.target(), b_board.target());
    let store = dir.join("a.redb");
    let port = free_port();
    let args = ["-t", &ta, "-t", &tb, "--time-scale", "0.01"];
    let mut agent = start(&store, port, &args);
    let wire = common::program("wire_sume.c");
    let (c, o, e) = fncli(&agent.url, &["create", "wire", wire.to_str().unwrap()]);
    assert_eq!(c, 0, "{o}{e}");
    let (c, v) = http(
        &agent.url,
        "POST",
        "/system/scale-function/wire",
        r#"{"serviceName": "wire", "replicas": 2}"#,
    );
    assert_eq!(
        (c, &v["availableReplicas"]),
        (202, &Value::from(2)),
        "{v:#}"
    );
    // The first two run side by side, one on each board; the third waits.
    for (id, t) in [(1, "300"), (2, "40"), (3, "5")] {
        let (c, o, e) = fncli(&agent.url, &["invoke", "wire", "--run-time", t]);
        assert!(c == 0 && o.contains(&format!("queued #{id}")), "{o}{e}");
    }
    let s = wait_for(&agent.url, "wire on both boards", 60, |s| {
        running_on(s, "wire").len() == 2
    });
    assert_eq!(running_on(&s, "wire"), [ta.clone(), tb.clone()], "{s:#}");
    assert_eq!(s["devices"][0]["running"]["id"], 1, "{s:#}");
    wait_for(&agent.url, "#1 well into its run", 120, |s| {
        s["devices"][0]["running"]["elapsed_s"]
            .as_f64()
            .is_some_and(|e| e > 20.0)
    });
    // Board a dies: its run moves to b once b's own run is over.
    a_board.kill();
    let s = wait_for(&agent.url, "board a stopped, #1 moved to b", 120, |s| {
        s["devices"][0]["state"] == "stopped" && s["devices"][1]["running"]["id"] == 1
    });
    let int = &s["interrupted"][0];
    assert_eq!(
        (&int["id"], &int["device"]),
        (&Value::from(1), &Value::from(ta.clone())),
        "{s:#}"
    );
    let (_, f) = http(&agent.url, "GET", "/system/function/wire", "");
    assert_eq!(f["availableReplicas"], 1, "{f:#}");
    // #2 ended on b before #1 took b's place.
    let rec2 = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == 2)
        .cloned()
        .unwrap_or_else(|| panic!("#2 has no record: {s:#}"));
    assert_eq!(
        (&rec2["outcome"], &rec2["device"]),
        (&Value::from("completed"), &Value::from(tb.clone()))
    );
    // The agent is killed while #1 runs on b and #3 waits.
    wait_for(&agent.url, "#1 running on b for a while", 120, |s| {
        s["devices"][1]["running"]["id"] == 1
            && s["devices"][1]["running"]["elapsed_s"]
                .as_f64()
                .is_some_and(|e| e > 40.0)
    });
    std::thread::sleep(Duration::from_millis(300)); // a checkpoint or two
    agent.child.kill().unwrap(); // SIGKILL
    agent.child.wait().unwrap();
    // Board a is back (a fresh board on the same socket); a new agent on
    // the same store and boards.
    let _a_again = common::DeviceServer::start_at(&dir.join("a.sock"), &[]);
    let agent = start(&store, port, &args);
    // The scale and the function survive; the interrupted run and the
    // queued one are taken up again (here at once, as both boards are free).
    let (_, f) = http(&agent.url, "GET", "/system/function/wire", "");
    assert_eq!(
        (&f["replicas"], &f["availableReplicas"]),
        (&Value::from(2), &Value::from(2)),
        "{f:#}"
    );
    let s = wait_for(&agent.url, "every invocation's record", 240, |s| {
        s["timeline"].as_array().unwrap().len() == 3
    });
    let tl = s["timeline"].as_array().unwrap();
    for r in tl {
        assert_eq!(r["outcome"], "completed", "{r:#}");
    }
    let rec1 = tl.iter().find(|r| r["id"] == 1).unwrap();
    assert_eq!(
        rec1["interruptions"][0]["device"],
        Value::from(ta),
        "{rec1:#}"
    );
    assert!(rec1["resumed"].as_u64().unwrap() >= 1, "{rec1:#}");
    let mut ids: Vec<u64> = tl.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3], "{s:#}");
}
