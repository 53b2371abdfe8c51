//! The compile sandbox against the reproduced attacks on the agent's compile
//! path: host files unreadable (#embed, #include, __has_include, paths in
//! the debug info), every resource bounded (a blocking include, unroll and
//! macro bombs, huge error output, a flood of creates) and the scratch
//! directories safe (planted symbolic link, leftovers of a killed agent).
//!
//! Tests that run clang skip with a notice when clang (or bubblewrap) is
//! missing, and fail instead under `NFBPF_REQUIRE_CLANG=1`. Limits are set
//! small so each test takes a few seconds at most.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use nfbpf_agent::registry::{Reject, Toolchain};
use nfbpf_agent::sandbox::{Compiler, Limits, Scratch};
use nfbpf_agent::{Agent, Config};
use nfbpf_loader::Abi;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A missing tool: a notice (the test is skipped), or a failure under
/// `NFBPF_REQUIRE_CLANG=1`.
fn missing(what: &str) {
    let msg = format!("SKIPPED: {what} (install clang-19 and bubblewrap: make deps)");
    if std::env::var_os("NFBPF_REQUIRE_CLANG").is_some_and(|v| v == "1") {
        panic!("{msg} (NFBPF_REQUIRE_CLANG=1)");
    }
    eprintln!("{msg}");
    println!("{msg}");
}

fn clang() -> Option<PathBuf> {
    let c = nfbpf_loader::compile::default_clang();
    if nfbpf_loader::compile::clang_available(&c) {
        Some(c)
    } else {
        missing(&format!("{} not found", c.display()));
        None
    }
}

/// Small limits: a compile stops after 2 s.
fn small() -> Limits {
    Limits {
        time: Duration::from_secs(2),
        cpu_secs: 30,
        memory: 1024 << 20,
        ..Limits::default()
    }
}

/// A store directory (removed when dropped) and the agent's toolchain for
/// it, sandboxed; None (skipped) without clang or bubblewrap.
fn toolchain(limits: Limits) -> Option<(tempfile::TempDir, Toolchain)> {
    let clang = clang()?;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("agent.redb");
    let scratch = Scratch::open(&Scratch::root_for(&store)).unwrap();
    let compiler = Compiler::new(&clang, Some(Path::new("bwrap")), scratch, limits);
    if let Some(why) = compiler.unavailable() {
        missing(why);
        return None;
    }
    assert!(compiler.sandboxed());
    let tools = Toolchain {
        clang,
        abi: Abi::Sume,
        compiler: Arc::new(compiler),
    };
    Some((dir, tools))
}

/// A unique function name (its `NAME.c` is on clang's command line).
fn unique(what: &str) -> String {
    format!("{what}_{}", std::process::id())
}

/// The processes whose command line mentions `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if pid == std::process::id().to_string() {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push(format!("{pid}: {cmd}"));
            }
        }
    }
    found
}

fn compile_err(tools: &Toolchain, name: &str, src: &str) -> Reject {
    match tools.compile(name, src) {
        Ok(o) => panic!("{name}: compiled ({} bytes), expected a refusal", o.len()),
        Err(r) => r,
    }
}

/// A valid function (it includes the agent's `sume.h`).
const PROGRAM: &str = include_str!("../../programs/wire_sume.c");

/// `#embed` of a host file is refused before clang runs, however spelled.
#[test]
fn embed_of_a_host_file_is_refused() {
    let Some((_d, tools)) = toolchain(small()) else {
        return;
    };
    for src in [
        "const char s[] = {\n#embed \"/etc/shadow\"\n};\n",
        "const char s[] = {\n#pragma clang diagnostic ignored \"-Wc23-extensions\"\n# em\\\nbed \"/etc/hostname\"\n, 0};\n",
        "#if __has_embed(\"/etc/shadow\")\nint x;\n#endif\n",
    ] {
        let r = compile_err(&tools, "e", src);
        assert_eq!(r.status, 422, "{}", r.msg);
        assert!(r.msg.contains("#embed"), "{}", r.msg);
    }
}

/// `#include "/etc/passwd"`: not found in the sandbox, and nothing of the
/// file is in the error.
#[test]
fn include_of_a_host_file_is_not_found() {
    let Some((d, tools)) = toolchain(small()) else {
        return;
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let first = passwd.lines().next().unwrap();
    let r = compile_err(
        &tools,
        "inc",
        "#include \"/etc/passwd\"\nint f(void) { return 0; }\n",
    );
    assert_eq!(r.status, 422, "{}", r.msg);
    assert!(r.msg.contains("'/etc/passwd' file not found"), "{}", r.msg);
    assert!(!r.msg.contains(first), "{}", r.msg);
    assert!(!r.msg.contains(&*d.path().to_string_lossy()), "{}", r.msg);
    // Nor the agent's own files: its store directory is not in the sandbox.
    let store = d.path().join("agent.redb");
    std::fs::write(&store, "int leaked = 1;\n").unwrap();
    let r = compile_err(
        &tools,
        "inc2",
        &format!("#include \"{}\"\n", store.display()),
    );
    assert!(r.msg.contains("file not found"), "{}", r.msg);
}

/// `__has_include` answers "no" for host files that exist.
#[test]
fn has_include_probe_gives_no_signal() {
    let Some((d, tools)) = toolchain(small()) else {
        return;
    };
    let cwd = std::env::current_dir().unwrap().join("Cargo.toml");
    let store_dir = d.path().to_path_buf();
    for probe in [
        PathBuf::from("/etc/passwd"),
        PathBuf::from("/etc/hostname"),
        cwd,
        store_dir,
    ] {
        assert!(probe.exists(), "{}", probe.display());
        let src = format!(
            "#if __has_include(\"{p}\")\n#error visible\n#endif\n#if !__has_include(<linux/bpf.h>)\n#error the system headers are missing\n#endif\nint f(void) {{ return 0; }}\n",
            p = probe.display()
        );
        let obj = tools
            .compile("probe", &src)
            .unwrap_or_else(|r| panic!("{}: {}", probe.display(), r.msg));
        assert!(!obj.is_empty());
    }
}

/// `#include "/proc/self/fd/1"` (and /dev/stdin) once blocked clang for
/// ever: now "not found" well within the time limit.
#[test]
fn blocking_includes_end_within_the_time_limit() {
    let Some((_d, tools)) = toolchain(small()) else {
        return;
    };
    for f in [
        "/proc/self/fd/1",
        "/proc/self/fd/0",
        "/dev/stdin",
        "/dev/zero",
    ] {
        let t = Instant::now();
        let r = compile_err(&tools, "block", &format!("#include \"{f}\"\n"));
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{f}: {:?}",
            t.elapsed()
        );
        assert_eq!(r.status, 422, "{}", r.msg);
        assert!(r.msg.contains("file not found"), "{f}: {}", r.msg);
    }
}

const UNROLL_BOMB: &str = r#"
int f(int *p, int n) {
  int s = 0;
#pragma clang loop unroll_count(200000)
  for (int i = 0; i < n; i++) s += p[i] * i;
  return s;
}
"#;

/// The unroll bomb (once 140 s, 660 MB) stops at the time limit, and no
/// clang outlives the kill.
#[test]
fn unroll_bomb_stops_at_the_time_limit() {
    let Some((_d, tools)) = toolchain(small()) else {
        return;
    };
    let name = unique("unroll_bomb");
    let needle = format!("{name}.c");
    let t = Instant::now();
    let r = std::thread::scope(|s| {
        let c = s.spawn(|| compile_err(&tools, &name, UNROLL_BOMB));
        // clang runs, findable by its command line (so that the check for
        // survivors below can see one).
        while processes_with(&needle).is_empty() {
            assert!(!c.is_finished(), "clang was never seen running");
            std::thread::sleep(Duration::from_millis(20));
        }
        c.join().unwrap()
    });
    let took = t.elapsed();
    assert_eq!(r.status, 422, "{}", r.msg);
    assert_eq!(r.msg, "compile stopped after 2 s (the compile time limit)");
    assert!(took < Duration::from_secs(4), "{took:?}");
    // bwrap's --die-with-parent takes clang down with it.
    let t = Instant::now();
    loop {
        let left = processes_with(&needle);
        if left.is_empty() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(2), "survivors: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(tools.compiler.queue().running(), 0);
}

/// The same bomb under a CPU limit shorter than the time limit.
#[test]
fn unroll_bomb_stops_at_the_cpu_limit() {
    let Some((_d, tools)) = toolchain(Limits {
        time: Duration::from_secs(20),
        cpu_secs: 1,
        ..small()
    }) else {
        return;
    };
    let t = Instant::now();
    let r = compile_err(&tools, "cpu_bomb", UNROLL_BOMB);
    assert_eq!(r.status, 422, "{}", r.msg);
    assert_eq!(
        r.msg,
        "compile used more than 1 s of CPU time (the compile CPU limit)"
    );
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

/// Nested macros each expanding the previous ten times (once 1 GB in 13 s)
/// stop at the memory limit.
#[test]
fn macro_bomb_stops_at_the_memory_limit() {
    let Some((_d, tools)) = toolchain(Limits {
        time: Duration::from_secs(30),
        cpu_secs: 30,
        memory: 512 << 20,
        ..small()
    }) else {
        return;
    };
    let mut src = String::from("#define A0 x+x+x+x+x+x+x+x+x+x\n");
    for i in 1..30 {
        let p = format!("A{}", i - 1);
        src.push_str(&format!("#define A{i} {}\n", [p.as_str(); 10].join("+")));
    }
    src.push_str("int f(int x) { return A29; }\n");
    assert_eq!(src.lines().count(), 31);
    let t = Instant::now();
    let r = compile_err(&tools, "macro_bomb", &src);
    assert_eq!(r.status, 422, "{}", r.msg);
    assert_eq!(
        r.msg,
        "compile used more than 512 MiB of memory (the compile memory limit)"
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

/// A small source that includes itself 2^12 times, warning each time
/// (megabytes of messages): the reply holds at most the output limit.
#[test]
fn huge_error_output_is_capped() {
    let Some((_d, tools)) = toolchain(small()) else {
        return;
    };
    let src = "#if __INCLUDE_LEVEL__ < 12\n#include __FILE__\n#include __FILE__\n#endif\n#warning again\n#if __INCLUDE_LEVEL__ == 0\nint f( {\n#endif\n";
    assert!(src.len() < 266);
    let r = compile_err(&tools, "loud", src);
    assert_eq!(r.status, 422, "{}", r.msg);
    let cap = tools.compiler.limits().output;
    assert!(r.msg.len() < cap + 200, "{} bytes", r.msg.len());
    assert!(r.msg.starts_with("compile error: "), "{}", &r.msg[..200]);
    assert!(r.msg.contains("warning: again"), "{}", &r.msg[..200]);
    let tail = &r.msg[r.msg.len() - 60..];
    assert!(tail.contains("(output truncated: "), "{tail}");
    let more: u64 = tail
        .rsplit("truncated: ")
        .next()
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(more > 1 << 20, "only {more} bytes dropped");
}

/// The object's debug info names neither the scratch directory nor the
/// agent's working directory; the build directory is gone afterwards.
#[test]
fn object_debug_info_holds_no_host_path() {
    let Some((d, tools)) = toolchain(small()) else {
        return;
    };
    let obj = tools
        .compile("paths", PROGRAM)
        .unwrap_or_else(|r| panic!("{}", r.msg));
    let has = |s: &str| obj.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("paths.c"), "no debug info");
    assert!(has("/build"), "no compilation directory");
    let root = tools.compiler.scratch().root().to_path_buf();
    let cwd = std::env::current_dir().unwrap();
    for p in [&root, &cwd, &d.path().to_path_buf()] {
        assert!(
            !has(&p.to_string_lossy()),
            "{} is in the object",
            p.display()
        );
    }
    assert!(!has("/tmp/"), "a temporary path is in the object");
    assert_eq!(
        std::fs::read_dir(&root).unwrap().count(),
        0,
        "build left behind"
    );
    // The object is what the loader accepts.
    tools.validate(&obj).unwrap_or_else(|r| panic!("{}", r.msg));
}

/// A full queue answers 503 (at once past the waiting bound, after the
/// longest wait otherwise) and clears by itself when compiles end.
#[test]
fn queue_refuses_excess_with_503_and_recovers() {
    let Some((_d, tools)) = toolchain(Limits {
        running: 1,
        waiting: 1,
        wait: Duration::from_millis(500),
        ..small()
    }) else {
        return;
    };
    let q = tools.compiler.queue();
    let busy = q.slot().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| tools.compile("waiting", PROGRAM));
        let t = Instant::now();
        while q.waiting() == 0 {
            assert!(t.elapsed() < Duration::from_secs(5), "nobody waits");
            std::thread::sleep(Duration::from_millis(5));
        }
        let t = Instant::now();
        let full = compile_err(&tools, "full", PROGRAM);
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(full.status, 503, "{}", full.msg);
        assert_eq!(
            full.msg,
            "the compile queue is full (1 compiling, 1 waiting): retry later"
        );
        let late = waiter.join().unwrap().unwrap_err();
        assert_eq!(late.status, 503, "{}", late.msg);
        assert!(
            late.msg
                .starts_with("no compile slot free within 0.5 s (1 compiling"),
            "{}",
            late.msg
        );
        assert!(late.msg.ends_with("retry later"), "{}", late.msg);
    });
    drop(busy);
    assert_eq!((q.running(), q.waiting()), (0, 0));
    tools
        .compile("after", PROGRAM)
        .unwrap_or_else(|r| panic!("{}", r.msg));
    // A waiter gets the slot when it frees.
    let busy = q.slot().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| tools.compile("waits_its_turn", PROGRAM));
        while q.waiting() == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(busy);
        waiter
            .join()
            .unwrap()
            .unwrap_or_else(|r| panic!("{}", r.msg));
    });
}

/// A symbolic link planted at the scratch root is refused, not followed:
/// the agent does not start and the link's target is untouched.
#[test]
fn planted_symlink_at_the_scratch_root_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("elsewhere");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "x").unwrap();
    let store = d.path().join("agent.redb");
    let root = Scratch::root_for(&store);
    assert_eq!(root, d.path().join("agent.redb.scratch"));
    std::os::unix::fs::symlink(&target, &root).unwrap();
    let e = Scratch::open(&root).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    let e = Agent::start(Config::new("127.0.0.1:0", store)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("agent.redb.scratch") && msg.contains("symbolic link"),
        "{msg}"
    );
    assert!(target.join("keep").exists());
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 1);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_ne!(mode & 0o777, 0o700, "the target's mode was changed");
}

/// A scratch root of another user is refused (needs root to chown).
#[test]
fn scratch_root_of_another_user_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let root = Scratch::root_for(&d.path().join("agent.redb"));
    std::fs::create_dir(&root).unwrap();
    if std::os::unix::fs::chown(&root, Some(65534), None).is_err() {
        eprintln!("SKIPPED: cannot chown a directory (not root)");
        return;
    }
    let e = Scratch::open(&root).unwrap_err();
    assert!(e.to_string().contains("owned by uid 65534"), "{e}");
}

/// Builds left by a killed agent are removed at the next start; the root
/// is private.
#[test]
fn leftovers_are_removed_at_start() {
    let d = tempfile::tempdir().unwrap();
    let root = Scratch::root_for(&d.path().join("agent.redb"));
    let old = root.join("build-1234-0");
    std::fs::create_dir_all(old.join("include")).unwrap();
    std::fs::write(old.join("secret.c"), "int user_source;").unwrap();
    std::fs::write(root.join("stray"), "x").unwrap();
    // A link inside is removed, its target kept.
    let outside = d.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("keep"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Scratch::open(&root).unwrap();
    assert_eq!(s.root(), root);
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    let mode = std::fs::metadata(&root).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(outside.join("keep").exists());
    // A new root is created private too.
    let fresh = Scratch::root_for(&d.path().join("other.redb"));
    Scratch::open(&fresh).unwrap();
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

/// Without bubblewrap the agent compiles nothing (503 naming the sandbox)
/// but still accepts objects.
#[test]
fn without_bubblewrap_sources_get_503_objects_are_accepted() {
    let d = tempfile::tempdir().unwrap();
    let mut cfg = Config::new("127.0.0.1:0", d.path().join("agent.redb"));
    cfg.bwrap = PathBuf::from("/nonexistent/bwrap");
    let agent = Agent::start(cfg).unwrap();
    let sched = agent.scheduler();
    assert!(sched.tools().compiler.unavailable().is_some());
    let body = serde_json::json!({ "name": "src", "source": PROGRAM }).to_string();
    let r = nfbpf_agent::api::handle(
        sched,
        &nfbpf_agent::api::Caller::local(),
        "POST",
        "/functions",
        body.as_bytes(),
    );
    assert_eq!(r.status, 503, "{}", r.body);
    let msg = r.body["error"].as_str().unwrap();
    assert!(
        msg.contains("/nonexistent/bwrap") && msg.contains("bubblewrap"),
        "{msg}"
    );
    if let Some(clang) = clang() {
        // An object compiled by the user (the CLI's plain compile).
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../programs/wire_sume.c");
        let obj = d.path().join("wire.o");
        nfbpf_loader::compile::compile(&clang, &src, &obj, Default::default(), &[]).unwrap();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&obj).unwrap());
        let body = serde_json::json!({ "name": "obj", "object": b64 }).to_string();
        let r = nfbpf_agent::api::handle(
            sched,
            &nfbpf_agent::api::Caller::local(),
            "POST",
            "/functions",
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    agent.stop();
}

/// The explicit opt-out compiles unconfined (under the same limits).
#[test]
fn opting_out_compiles_unconfined_with_limits() {
    let Some(clang) = clang() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let scratch = Scratch::open(&Scratch::root_for(&d.path().join("a.redb"))).unwrap();
    let c = Compiler::new(&clang, None, scratch, small());
    assert!(c.unavailable().is_none() && !c.sandboxed());
    let tools = Toolchain {
        clang,
        abi: Abi::Sume,
        compiler: Arc::new(c),
    };
    let obj = tools
        .compile("plain", PROGRAM)
        .unwrap_or_else(|r| panic!("{}", r.msg));
    let root = tools
        .compiler
        .scratch()
        .root()
        .to_string_lossy()
        .into_owned();
    assert!(!obj.windows(root.len()).any(|w| w == root.as_bytes()));
    let r = compile_err(&tools, "slow", UNROLL_BOMB);
    assert_eq!(r.msg, "compile stopped after 2 s (the compile time limit)");
}

/// A source that needs two headers of the user's: `port.h` includes
/// `other.h`, which defines the port offset.
const WITH_HEADERS: &str = "#include \"sume.h\"\n#include \"port.h\"\n\nu64 wire(struct sume_md *md)\n{\n\treturn md->in_port ^ OTHER;\n}\n";

fn user(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// The user's headers are written beside the source, where `#include
/// "NAME.h"` finds them (and headers they include); without them the
/// compile fails naming the missing one; a header is checked for `embed`
/// like the source.
#[test]
fn user_headers_compile_beside_the_source() {
    let Some((_d, tools)) = toolchain(small()) else {
        return;
    };
    let both = user(&[
        ("port.h", "#include \"other.h\"\n"),
        ("other.h", "#define OTHER 1\n"),
    ]);
    let obj = tools
        .compile_with("hdrs", WITH_HEADERS, &both)
        .unwrap_or_else(|r| panic!("{}", r.msg));
    tools.validate(&obj).unwrap_or_else(|r| panic!("{}", r.msg));
    let r = compile_err(&tools, "nohdrs", WITH_HEADERS);
    assert_eq!(r.status, 422, "{}", r.msg);
    assert!(
        r.msg.contains("port.h") && r.msg.contains("not found"),
        "{}",
        r.msg
    );
    let r = tools
        .compile_with(
            "embedhdr",
            WITH_HEADERS,
            &user(&[
                ("port.h", "#include \"other.h\"\n"),
                ("other.h", "#embed \"/etc/hostname\"\n#define OTHER 1\n"),
            ]),
        )
        .unwrap_err();
    assert_eq!(r.status, 422, "{}", r.msg);
    assert!(r.msg.starts_with("header `other.h`: line 1"), "{}", r.msg);
    // A name that is not a plain NAME.h never reaches the build directory.
    let r = tools
        .compile_with("badname", WITH_HEADERS, &user(&[("../port.h", "")]))
        .unwrap_err();
    assert_eq!(r.status, 400, "{}", r.msg);
}

fn post(
    sched: &nfbpf_agent::scheduler::Scheduler,
    body: &serde_json::Value,
) -> nfbpf_agent::api::Reply {
    nfbpf_agent::api::handle(
        sched,
        &nfbpf_agent::api::Caller::local(),
        "POST",
        "/functions",
        body.to_string().as_bytes(),
    )
}

/// Through the API: `headers` with a source compile; a bad name, a header
/// that is not text, headers with an object and headers past the limits
/// are refused with 400 naming the problem; `rules` may be a rules text.
#[test]
fn api_takes_headers_and_rules_text() {
    if clang().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mut cfg = Config::new("127.0.0.1:0", d.path().join("agent.redb"));
    cfg.limits.headers = 2;
    cfg.limits.header_bytes = 64;
    let agent = Agent::start(cfg).unwrap();
    let sched = agent.scheduler();
    if let Some(why) = sched.tools().compiler.unavailable() {
        missing(why);
        agent.stop();
        return;
    }
    let headers =
        serde_json::json!({ "port.h": "#include \"other.h\"\n", "other.h": "#define OTHER 1\n" });
    let r = post(
        sched,
        &serde_json::json!({ "name": "hdrs", "source": WITH_HEADERS, "headers": headers }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    for (headers, msg) in [
        (
            serde_json::json!({ "../x.h": "" }),
            "headers: `../x.h`: a header name is a plain file name, without `/`",
        ),
        (
            serde_json::json!({ "a/b.h": "" }),
            "headers: `a/b.h`: a header name is a plain file name",
        ),
        (
            serde_json::json!({ "..h": "" }),
            "headers: `..h`: a header name may not contain `..`",
        ),
        (
            serde_json::json!({ "x.c": "" }),
            "headers: `x.c`: only `.h` headers can be sent",
        ),
        (
            serde_json::json!({ ".x.h": "" }),
            "headers: `.x.h`: a header name may not start with `.`",
        ),
        (
            serde_json::json!({ "x y.h": "" }),
            "headers: `x y.h`: a header name is made of",
        ),
        (
            serde_json::json!({ "x.h": 3 }),
            "headers: `x.h`: expected the header's C text (a string), got a number",
        ),
        (serde_json::json!(["x.h"]), "headers: expected an object"),
        (
            serde_json::json!({ "a.h": "", "b.h": "", "c.h": "" }),
            "headers: 3 headers, more than 2 (the headers limit)",
        ),
        (
            serde_json::json!({ "a.h": "x".repeat(65) }),
            "headers: `a.h`: the headers take more than 64 bytes (the header-bytes limit)",
        ),
    ] {
        let r = post(
            sched,
            &serde_json::json!({ "name": "bad", "source": WITH_HEADERS, "headers": headers }),
        );
        assert_eq!(r.status, 400, "{headers}: {}", r.body);
        let got = r.body["error"].as_str().unwrap();
        assert!(got.starts_with(msg), "{headers}: {got}");
    }
    use base64::Engine as _;
    let r = post(
        sched,
        &serde_json::json!({
            "name": "obj",
            "object": base64::engine::general_purpose::STANDARD.encode(b"not an object"),
            "headers": { "x.h": "" },
        }),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .starts_with("headers: only a `source` is compiled"),
        "{}",
        r.body
    );
    // Rules in the text form (a string), checked against the maps.
    let ddos = include_str!("../../programs/ddos_sume.c");
    let r = post(
        sched,
        &serde_json::json!({ "name": "ddos", "source": ddos, "rules": "# port 53\nblocked 53 1\n" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["rules"], 1, "{}", r.body);
    let g = nfbpf_agent::api::handle(
        sched,
        &nfbpf_agent::api::Caller::local(),
        "GET",
        "/functions/ddos",
        b"",
    );
    assert_eq!(g.status, 200, "{}", g.body);
    assert_eq!(g.body["rules"][0]["map"], "blocked", "{}", g.body);
    assert_eq!(g.body["rules"][0]["key"], "hex:3500", "{}", g.body);
    for (rules, status, msg) in [
        ("blocked 53\n", 400, "rules line 1: `blocked 53`"),
        ("nope 1 2\n", 422, "rules line 1: `nope 1 2`: no map `nope`"),
    ] {
        let r = post(
            sched,
            &serde_json::json!({ "name": "ddos2", "source": ddos, "rules": rules }),
        );
        assert_eq!(r.status, status, "{rules}: {}", r.body);
        let got = r.body["error"].as_str().unwrap();
        assert!(got.contains(msg), "{rules}: {got}");
    }
    agent.stop();
}
