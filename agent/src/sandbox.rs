//! The compile sandbox: everything between a client's C source and clang.
//! A create or update with `source` is untrusted input to a compiler; this
//! module owns where the source is written, how clang is run and how much
//! it may take, so that a source can neither read the agent's host nor stop
//! the agent from serving.
//!
//! **Isolation.** clang runs inside bubblewrap (`bwrap`) with
//! `--unshare-all --cap-drop ALL --die-with-parent --new-session --clearenv`
//! and a file system holding only, read-only, clang's installation (the
//! prefix of the canonical clang binary, e.g. `/usr/lib/llvm-19`; for a
//! clang installed straight into `/usr` or `/usr/local`, the binary and its
//! resource directory), the shared-library directories
//! (`/usr/lib/<arch>-linux-gnu`, `/usr/lib64`, `/lib*` as on the host) and
//! `/usr/include`; and, writable, the build directory at `/build`, holding
//! `NAME.c` and the project's headers (`include/`, from
//! `registry::HEADERS`). No `/proc`, `/dev`, `/tmp`, `/etc` and no network:
//! `#include "/etc/passwd"`, `#include "/proc/self/fd/1"` and
//! `__has_include` of a host file see "file not found". clang is the
//! configured one (`NFBPF_CLANG`, else `clang-19`) found on `PATH` and
//! canonicalized once at start. The compile is `NAME.c -> NAME.o` in
//! `/build` with `-fdebug-compilation-dir=/build` and
//! `-ffile-prefix-map=BUILD_DIR=/build`, so the object's debug info names
//! no host path. Besides, a source containing the word `embed` is refused
//! (422) before clang runs: `#embed` and `__has_embed` (C23, which clang 19
//! accepts in every C mode, and which `#pragma clang diagnostic` could
//! re-allow if refused by a `-Werror` flag) cannot be spelled without it.
//!
//! bwrap is `Config::bwrap` (default `bwrap`, looked up on `PATH`). If it
//! is missing or cannot create its namespaces here (probed once at
//! start by running `clang --version` in the sandbox), creates from source
//! are refused with 503 naming the cause; objects are still accepted.
//! `Config::compile_sandbox = false` is the explicit opt-out: clang then
//! runs unconfined (limits, queue and scratch directories still apply) and
//! can read whatever the agent can.
//!
//! **Limits** ([`Limits`], `crate::limits::Limits::compile`, set with
//! `--limit compile-...=N`; each one's refusal
//! names it; a limit the source reaches is the client's fault, 422):
//!
//! | limit | default | how |
//! |---|---|---|
//! | wall-clock time | 20 s | the agent kills bwrap, which takes clang with it: "compile stopped after 20 s (the compile time limit)" |
//! | CPU time | 15 s | `RLIMIT_CPU` (soft = hard: SIGKILL): "compile used more than 15 s of CPU time (the compile CPU limit)" |
//! | memory | 1024 MiB | `RLIMIT_AS` (clang alone maps about 300 MiB): "compile used more than 1024 MiB of memory (the compile memory limit)" |
//! | object size | 16 MiB | `RLIMIT_FSIZE`: "the object is larger than 16 MiB (the compile object size limit)" |
//! | open files | 128 | `RLIMIT_NOFILE` (clang closes each header once read; an open it refuses is in clang's error) |
//! | errors | 20 | `-ferror-limit=20` |
//! | clang's messages | 16 KiB | the rest is read and discarded, "(output truncated: N more bytes)" |
//! | compiles at once | available parallelism | the compile queue |
//! | compiles waiting | 16 | past it: 503 "the compile queue is full ...; retry" |
//! | wait for a slot | 30 s | then 503 "no compile slot free within 30 s ...; retry" |
//!
//! The rlimits are set by util-linux `prlimit`, which wraps the bwrap
//! command (the workspace denies `unsafe_code`, so no `pre_exec`); no core
//! files (`RLIMIT_CORE` 0), no crash reproducers
//! (`-fno-crash-diagnostics`), no symbolizer process
//! (`LLVM_DISABLE_SYMBOLIZATION=1`, which also lets a fatal signal reach the
//! exit status). A full queue clears by itself as compiles end.
//!
//! **Scratch directories.** The scratch root is `<store path>.scratch`
//! (beside the agent's redb store; the store's lock keeps a second agent
//! from using the same one). At start it is created with mode 0700; an
//! existing one must be a real directory (not a symbolic link, which is
//! refused, never followed) owned by the agent's user, is set to 0700, and
//! its leftovers (builds of an agent that was killed) are removed. Each
//! compile runs in a fresh randomly named `build-XXXXXX` directory under it
//! (`tempfile`), removed when the compile ends.

use crate::registry::{Reject, check_name};
use nfbpf_loader::Cpu;
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
/// Where the build directory is inside the sandbox.
const BUILD: &str = "/build";
/// Signals by number (Linux).
const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;
const SIGXFSZ: i32 = 25;

/// How much one compile may take, and how many run and wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time of one compile (then killed).
    pub time: Duration,
    /// CPU seconds of one compile (`RLIMIT_CPU`).
    pub cpu_secs: u64,
    /// Address space of clang, bytes (`RLIMIT_AS`).
    pub memory: u64,
    /// Largest file clang may write, bytes (`RLIMIT_FSIZE`): the object.
    pub object: u64,
    /// Open files (`RLIMIT_NOFILE`).
    pub nofile: u64,
    /// Bytes of clang's messages kept for the reply.
    pub output: usize,
    /// `-ferror-limit`.
    pub errors: u32,
    /// Compiles running at once.
    pub running: usize,
    /// Compiles waiting for a slot; past it a create gets a 503.
    pub waiting: usize,
    /// Longest wait for a slot; then a 503.
    pub wait: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            time: Duration::from_secs(20),
            cpu_secs: 15,
            memory: 1024 * MIB,
            object: 16 * MIB,
            nofile: 128,
            output: 16 << 10,
            errors: 20,
            running: std::thread::available_parallelism().map_or(2, |n| n.get()),
            waiting: 16,
            wait: Duration::from_secs(30),
        }
    }
}

/// `2 s`, `1.5 s`.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn mib(b: u64) -> String {
    if b & (MIB - 1) == 0 {
        format!("{} MiB", b / MIB)
    } else {
        format!("{b} bytes")
    }
}

fn busy(msg: String) -> Reject {
    Reject { status: 503, msg }
}

fn internal(msg: String) -> Reject {
    Reject { status: 500, msg }
}

/// The bounded compile queue: at most `running` compiles at once, at most
/// `waiting` more waiting, each at most `wait`.
#[derive(Debug)]
pub struct Queue {
    state: Mutex<QueueState>,
    free: Condvar,
    running_max: usize,
    waiting_max: usize,
    wait: Duration,
}

#[derive(Debug, Default)]
struct QueueState {
    running: usize,
    waiting: usize,
}

/// A compile slot, given back when dropped.
#[derive(Debug)]
pub struct Slot<'a>(&'a Queue);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.running -= 1;
        drop(s);
        self.0.free.notify_one();
    }
}

impl Queue {
    pub fn new(running: usize, waiting: usize, wait: Duration) -> Queue {
        Queue {
            state: Mutex::new(QueueState::default()),
            free: Condvar::new(),
            running_max: running.max(1),
            waiting_max: waiting,
            wait,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot: at once if one is free, else after waiting (bounded); a 503
    /// when the queue is full or the wait too long.
    pub fn slot(&self) -> Result<Slot<'_>, Reject> {
        let mut s = self.lock();
        if s.running < self.running_max {
            s.running += 1;
            return Ok(Slot(self));
        }
        if s.waiting >= self.waiting_max {
            return Err(busy(format!(
                "the compile queue is full ({} compiling, {} waiting): retry later",
                s.running, s.waiting
            )));
        }
        s.waiting += 1;
        let deadline = Instant::now() + self.wait;
        loop {
            if s.running < self.running_max {
                s.waiting -= 1;
                s.running += 1;
                return Ok(Slot(self));
            }
            let now = Instant::now();
            if now >= deadline {
                s.waiting -= 1;
                return Err(busy(format!(
                    "no compile slot free within {} ({} compiling, {} waiting): retry later",
                    secs(self.wait),
                    s.running,
                    s.waiting
                )));
            }
            s = self
                .free
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Compiles running now.
    pub fn running(&self) -> usize {
        self.lock().running
    }

    /// Compiles waiting now.
    pub fn waiting(&self) -> usize {
        self.lock().waiting
    }
}

/// The agent's scratch root, where builds get their directories.
#[derive(Debug)]
pub struct Scratch {
    root: PathBuf,
}

impl Scratch {
    /// `<store>.scratch`.
    pub fn root_for(store: &Path) -> PathBuf {
        let mut s = store.as_os_str().to_owned();
        s.push(".scratch");
        PathBuf::from(s)
    }

    /// Create the root (mode 0700), or take over an existing one of ours
    /// and remove its leftovers. A symbolic link, a non-directory or a
    /// directory of another user is refused.
    pub fn open(root: &Path) -> io::Result<Scratch> {
        let refuse = |why: String| Err(io::Error::other(why));
        match std::fs::symlink_metadata(root) {
            Ok(m) if m.file_type().is_symlink() => {
                return refuse(
                    "is a symbolic link: refusing to follow it (remove it; the agent creates its own)"
                        .into(),
                );
            }
            Ok(m) if !m.is_dir() => return refuse("exists and is not a directory".into()),
            Ok(m) => {
                let me = our_uid(root)?;
                if m.uid() != me {
                    return refuse(format!(
                        "is owned by uid {}, not by the agent's uid {me}: refusing to use it",
                        m.uid()
                    ));
                }
                std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))?;
                for e in std::fs::read_dir(root)? {
                    let e = e?;
                    // remove_dir_all does not follow symbolic links.
                    if e.file_type()?.is_dir() {
                        std::fs::remove_dir_all(e.path())?;
                    } else {
                        std::fs::remove_file(e.path())?;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Fails if anything (a link too) appeared meanwhile.
                std::fs::DirBuilder::new().mode(0o700).create(root)?;
            }
            Err(e) => return Err(e),
        }
        Ok(Scratch {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh, randomly named, 0700 build directory, removed when dropped.
    fn build_dir(&self) -> io::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix("build-")
            .tempdir_in(&self.root)
    }
}

/// The agent's effective uid, without `unsafe`: the owner of a file it
/// creates (anonymous, beside `near`).
fn our_uid(near: &Path) -> io::Result<u32> {
    let dir = match near.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok(tempfile::tempfile_in(dir)?.metadata()?.uid())
}

/// An executable file named `name` (a path, or found on `PATH`).
fn find_program(name: &Path) -> Option<PathBuf> {
    let runnable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.components().count() > 1 {
        return runnable(name).then(|| name.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| runnable(p))
}

/// How clang is run.
#[derive(Debug)]
enum Runner {
    /// prlimit, bwrap and the file system they expose.
    Sandboxed {
        prlimit: PathBuf,
        bwrap: PathBuf,
        clang: PathBuf,
        /// bwrap's file-system arguments (without the build directory).
        fs: Vec<OsString>,
    },
    /// The explicit opt-out: prlimit and clang on the host.
    Unconfined { prlimit: PathBuf, clang: PathBuf },
    /// Compiling is refused (503) with this reason.
    Unavailable(String),
}

/// The shared libraries clang needs, as bwrap arguments: the multiarch
/// directory and lib64 under /usr; /lib and /lib64 as on the host (the
/// symbolic links of a merged /usr, else their library directories).
fn library_fs() -> Vec<OsString> {
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    let mut a: Vec<OsString> = Vec::new();
    let mut ro = |p: &Path| {
        if p.is_dir() {
            a.extend(["--ro-bind".into(), p.into(), p.into()]);
        }
    };
    ro(&Path::new("/usr/lib").join(&multiarch));
    ro(Path::new("/usr/lib64"));
    for top in ["/lib", "/lib64"] {
        let top = Path::new(top);
        match std::fs::read_link(top) {
            Ok(target) => a.extend(["--symlink".into(), target.into(), top.into()]),
            Err(_) if top.is_dir() => {
                let d = if top == Path::new("/lib") {
                    top.join(&multiarch)
                } else {
                    top.to_path_buf()
                };
                if d.is_dir() {
                    a.extend(["--ro-bind".into(), d.clone().into(), d.into()]);
                }
            }
            Err(_) => {}
        }
    }
    a
}

/// clang's installation, as bwrap arguments: the prefix of the canonical
/// binary (`/usr/lib/llvm-19`), or, when that prefix is a whole system tree,
/// the binary and its resource directory alone.
fn clang_fs(clang: &Path) -> Vec<OsString> {
    let prefix = clang.parent().and_then(Path::parent);
    let mut a: Vec<OsString> = Vec::new();
    match prefix {
        Some(p)
            if !["/", "/usr", "/usr/local"]
                .iter()
                .any(|s| p == Path::new(s)) =>
        {
            a.extend(["--ro-bind".into(), p.into(), p.into()]);
        }
        _ => {
            a.extend(["--ro-bind".into(), clang.into(), clang.into()]);
            let res = Command::new(clang)
                .arg("-print-resource-dir")
                .stdin(Stdio::null())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| {
                    std::fs::canonicalize(String::from_utf8_lossy(&o.stdout).trim()).ok()
                });
            if let Some(r) = res {
                a.extend(["--ro-bind".into(), r.clone().into(), r.into()]);
            }
        }
    }
    a
}

/// The sandboxed (or, opted out, unconfined) clang: its queue, limits and
/// scratch root.
#[derive(Debug)]
pub struct Compiler {
    runner: Runner,
    scratch: Scratch,
    limits: Limits,
    queue: Queue,
}

/// What a finished clang process left.
struct Run {
    status: Option<ExitStatus>,
    timed_out: bool,
    elapsed: Duration,
    output: Output,
}

/// clang's messages: the first bytes, how many more, and whether clang
/// said it ran out of memory (seen in the whole stream).
#[derive(Debug, Default)]
struct Output {
    kept: Vec<u8>,
    dropped: u64,
    oom: bool,
}

/// Read `r` to its end keeping `cap` bytes.
fn drain(mut r: impl Read, cap: usize) -> Output {
    const OOM: &[&[u8]] = &[
        b"LLVM ERROR: out of memory",
        b"Allocation failed",
        b"std::bad_alloc",
    ];
    let mut out = Output::default();
    let mut buf = [0u8; 8192];
    // The tail of the previous chunk, so a marker split across reads is found.
    let mut window: Vec<u8> = Vec::new();
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &buf[..n];
        let room = cap.saturating_sub(out.kept.len()).min(n);
        out.kept.extend_from_slice(&chunk[..room]);
        out.dropped += (n - room) as u64;
        window.extend_from_slice(chunk);
        let has = |m: &[u8]| window.windows(m.len()).any(|w| w == m);
        out.oom |= OOM.iter().any(|m| has(m));
        let keep = window.len().saturating_sub(32);
        window.drain(..keep);
    }
    out
}

impl Compiler {
    /// The compiler for `clang`, sandboxed with `bwrap` (`None`: the
    /// explicit opt-out, unconfined). Missing programs or a sandbox that
    /// cannot start make it refuse compiles (see [`Compiler::unavailable`]).
    pub fn new(clang: &Path, bwrap: Option<&Path>, scratch: Scratch, limits: Limits) -> Compiler {
        let queue = Queue::new(limits.running, limits.waiting, limits.wait);
        let mut c = Compiler {
            runner: Runner::Unavailable(String::new()),
            scratch,
            limits,
            queue,
        };
        c.runner = c.runner(clang, bwrap);
        c
    }

    fn runner(&self, clang: &Path, bwrap: Option<&Path>) -> Runner {
        let Some(prlimit) = find_program(Path::new("prlimit")) else {
            return Runner::Unavailable(
                "compiling C is off: `prlimit` (util-linux), which sets the compile limits, is not installed".into(),
            );
        };
        let Some(clang) = find_program(clang).and_then(|p| std::fs::canonicalize(p).ok()) else {
            return Runner::Unavailable(format!(
                "compiling C is off: clang `{}` not found (install clang-19, or set NFBPF_CLANG)",
                clang.display()
            ));
        };
        let Some(bwrap) = bwrap else {
            return Runner::Unconfined { prlimit, clang };
        };
        let Some(bwrap) = find_program(bwrap) else {
            return Runner::Unavailable(format!(
                "compiling C is off: the compile sandbox `{}` (bubblewrap) is not installed (run `make deps`, or opt out of the sandbox)",
                bwrap.display()
            ));
        };
        let mut fs = clang_fs(&clang);
        fs.extend(library_fs());
        if Path::new("/usr/include").is_dir() {
            fs.extend(["--ro-bind", "/usr/include", "/usr/include"].map(OsString::from));
        }
        let r = Runner::Sandboxed {
            prlimit,
            bwrap: bwrap.clone(),
            clang,
            fs,
        };
        // Probe: clang --version in the sandbox.
        let probe = self
            .scratch
            .build_dir()
            .map_err(|e| e.to_string())
            .and_then(|d| {
                let run = self.run(&r, d.path(), &["--version".into()])?;
                match run.status {
                    Some(s) if s.success() => Ok(()),
                    _ => Err(String::from_utf8_lossy(&run.output.kept)
                        .lines()
                        .next()
                        .unwrap_or("no message")
                        .to_string()),
                }
            });
        match probe {
            Ok(()) => r,
            Err(e) => Runner::Unavailable(format!(
                "compiling C is off: the compile sandbox ({}) cannot run clang here: {e}",
                bwrap.display()
            )),
        }
    }

    /// Why compiles are refused, if they are.
    pub fn unavailable(&self) -> Option<&str> {
        match &self.runner {
            Runner::Unavailable(why) => Some(why),
            _ => None,
        }
    }

    /// Does clang run in the sandbox?
    pub fn sandboxed(&self) -> bool {
        matches!(self.runner, Runner::Sandboxed { .. })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    pub fn scratch(&self) -> &Scratch {
        &self.scratch
    }

    /// Compile `src` as `NAME.c` with `headers` (the project's) in
    /// `include/` and `user` (the client's, name and text) beside it, where
    /// `#include "NAME.h"` finds them first: the object, or why not.
    pub fn compile(
        &self,
        name: &str,
        src: &str,
        cpu: Cpu,
        headers: &[(&str, &str)],
        user: &[(String, String)],
    ) -> Result<Vec<u8>, Reject> {
        if let Runner::Unavailable(why) = &self.runner {
            return Err(busy(format!(
                "{why}; functions can still be created from a compiled `object`"
            )));
        }
        check_name(name)?;
        refuse_embed(src)?;
        for (h, text) in user {
            if let Some(why) = crate::registry::header_name_problem(h) {
                return Err(Reject::bad(format!(
                    "headers: `{}`: {why}",
                    h.escape_debug()
                )));
            }
            refuse_embed(text).map_err(|r| Reject {
                msg: format!("header `{h}`: {}", r.msg),
                ..r
            })?;
        }
        let _slot = self.queue.slot()?;
        let dir = self
            .scratch
            .build_dir()
            .map_err(|e| internal(format!("agent scratch directory: {e}")))?;
        let write = |p: PathBuf, text: &str| {
            std::fs::write(&p, text).map_err(|e| internal(format!("agent scratch directory: {e}")))
        };
        std::fs::create_dir(dir.path().join("include"))
            .map_err(|e| internal(format!("agent scratch directory: {e}")))?;
        for (h, text) in headers {
            write(dir.path().join("include").join(h), text)?;
        }
        for (h, text) in user {
            write(dir.path().join(h), text)?;
        }
        let (c, o) = (format!("{name}.c"), format!("{name}.o"));
        write(dir.path().join(&c), src)?;
        let mut args = nfbpf_loader::compile::clang_args(Path::new(&c), Path::new(&o), cpu, &[]);
        let mut map = OsString::from("-ffile-prefix-map=");
        map.push(dir.path());
        map.push(format!("={BUILD}"));
        args.extend([
            format!("-ferror-limit={}", self.limits.errors).into(),
            format!("-fdebug-compilation-dir={BUILD}").into(),
            map,
            "-fno-crash-diagnostics".into(),
            "-fno-color-diagnostics".into(),
        ]);
        let run = self
            .run(&self.runner, dir.path(), &args)
            .map_err(internal)?;
        self.judge(&run)?;
        let mut obj = Vec::new();
        std::fs::File::open(dir.path().join(&o))
            .and_then(|f| f.take(self.limits.object + 1).read_to_end(&mut obj))
            .map_err(|e| internal(format!("reading the compiled object: {e}")))?;
        if obj.len() as u64 > self.limits.object {
            return Err(Reject::invalid(format!(
                "the object is larger than {} (the compile object size limit)",
                mib(self.limits.object)
            )));
        }
        Ok(obj)
    }

    /// The client's answer for a finished run.
    fn judge(&self, run: &Run) -> Result<(), Reject> {
        let l = &self.limits;
        if run.timed_out {
            return Err(Reject::invalid(format!(
                "compile stopped after {} (the compile time limit)",
                secs(l.time)
            )));
        }
        let Some(status) = run.status else {
            return Err(internal("clang's exit status is unknown".into()));
        };
        if status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&run.output.kept);
        if text.starts_with("bwrap:") || text.starts_with("prlimit:") {
            return Err(internal(format!(
                "the compile sandbox failed: {}",
                text.trim_end()
            )));
        }
        // bwrap exits 128 + N when clang dies of signal N; prlimit execs
        // clang, so unconfined the status holds the signal itself.
        let signal = status.signal().or_else(|| {
            status
                .code()
                .filter(|c| (129..160).contains(c) && self.sandboxed())
                .map(|c| c - 128)
        });
        match signal {
            Some(SIGKILL) if run.elapsed.as_secs() >= l.cpu_secs => Err(Reject::invalid(format!(
                "compile used more than {} s of CPU time (the compile CPU limit)",
                l.cpu_secs
            ))),
            Some(SIGKILL) => Err(internal(
                "clang was killed (SIGKILL) before its CPU limit: the machine may be out of memory"
                    .into(),
            )),
            Some(SIGXFSZ) => Err(Reject::invalid(format!(
                "the object is larger than {} (the compile object size limit)",
                mib(l.object)
            ))),
            Some(SIGABRT) if run.output.oom => Err(Reject::invalid(format!(
                "compile used more than {} of memory (the compile memory limit)",
                mib(l.memory)
            ))),
            Some(s) => Err(Reject::invalid(format!(
                "clang crashed (signal {s}) compiling the source:\n{}",
                shown(&run.output)
            ))),
            None => Err(Reject::invalid(format!(
                "compile error: {}",
                shown(&run.output)
            ))),
        }
    }

    /// Run clang with `args` in `dir` under `runner`, within the limits.
    /// Err: the process could not be run (the agent's problem).
    fn run(&self, runner: &Runner, dir: &Path, args: &[OsString]) -> Result<Run, String> {
        let l = &self.limits;
        let rlimits = [
            format!("--as={}", l.memory),
            format!("--cpu={}", l.cpu_secs),
            format!("--fsize={}", l.object),
            format!("--nofile={}", l.nofile),
            "--core=0".to_string(),
        ];
        let mut cmd;
        match runner {
            Runner::Sandboxed {
                prlimit,
                bwrap,
                clang,
                fs,
            } => {
                cmd = Command::new(prlimit);
                cmd.args(&rlimits).arg("--").arg(bwrap);
                cmd.args([
                    "--unshare-all",
                    "--cap-drop",
                    "ALL",
                    "--die-with-parent",
                    "--new-session",
                    "--clearenv",
                    "--setenv",
                    "LLVM_DISABLE_SYMBOLIZATION",
                    "1",
                ]);
                cmd.args(fs);
                cmd.arg("--bind").arg(dir).arg(BUILD);
                cmd.args(["--chdir", BUILD]);
                cmd.arg(clang);
            }
            Runner::Unconfined { prlimit, clang } => {
                cmd = Command::new(prlimit);
                cmd.args(&rlimits).arg("--").arg(clang);
                cmd.current_dir(dir)
                    .env_clear()
                    .env("LLVM_DISABLE_SYMBOLIZATION", "1");
            }
            Runner::Unavailable(why) => return Err(why.clone()),
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", cmd.get_program().display()))?;
        let (tx, rx) = mpsc::channel();
        if let Some(err) = child.stderr.take() {
            let cap = l.output;
            std::thread::spawn(move || {
                let _ = tx.send(drain(err, cap));
            });
        }
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) => {}
                Err(_) => break None,
            }
            let elapsed = start.elapsed();
            if elapsed >= l.time {
                // bwrap --die-with-parent: the sandbox's processes die with it.
                let _ = child.kill();
                timed_out = true;
                break child.wait().ok();
            }
            std::thread::sleep((l.time - elapsed).min(Duration::from_millis(10)));
        };
        let elapsed = start.elapsed();
        // The pipe closes when the sandbox is gone; do not wait forever on a
        // process that kept it.
        let output = rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
        Ok(Run {
            status,
            timed_out,
            elapsed,
            output,
        })
    }
}

/// clang's kept messages, with a note of what was cut.
fn shown(o: &Output) -> String {
    let mut s = String::from_utf8_lossy(&o.kept).trim_end().to_string();
    if o.dropped > 0 {
        s.push_str(&format!("\n(output truncated: {} more bytes)", o.dropped));
    }
    s
}

/// Refuse a source that could spell `#embed` or `__has_embed`: any
/// identifier `embed` or `__has_embed` once line splices are removed (even in
/// a comment or string: a lexer of our own could disagree with clang's).
fn refuse_embed(src: &str) -> Result<(), Reject> {
    let b = src.as_bytes();
    // Join spliced lines: backslash, optional horizontal space, newline.
    let mut joined = Vec::with_capacity(b.len());
    let mut line = 1usize;
    let mut lines = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\x0b' | b'\x0c') {
                j += 1;
            }
            if j < b.len() && b[j] == b'\r' {
                j += 1;
            }
            if j < b.len() && b[j] == b'\n' {
                i = j + 1;
                line += 1;
                continue;
            }
        }
        if b[i] == b'\n' {
            line += 1;
        }
        joined.push(b[i]);
        lines.push(line);
        i += 1;
    }
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    let mut k = 0;
    while k < joined.len() {
        if !ident(joined[k]) {
            k += 1;
            continue;
        }
        let start = k;
        while k < joined.len() && ident(joined[k]) {
            k += 1;
        }
        let word = &joined[start..k];
        if word == b"embed" || word == b"__has_embed" {
            return Err(Reject::invalid(format!(
                "line {}: `{}`: #embed and __has_embed are not allowed, and so the word `embed` may not appear in a source (not even in a comment)",
                lines[start],
                String::from_utf8_lossy(word)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_is_refused_however_spelled() {
        for bad in [
            "#embed \"/etc/hostname\"",
            "const char x[] = {\n# /* c */ em\\  \nbed \"a.c\"\n};",
            "%:embed \"a\"",
            "#if __has_embed(\"/etc/passwd\")\n#endif",
            "// we embed things",
            "#em\\\r\nbed <x>",
        ] {
            let e = refuse_embed(bad).unwrap_err();
            assert_eq!(e.status, 422, "{bad}");
            assert!(e.msg.contains("#embed"), "{}", e.msg);
        }
        let e = refuse_embed("int a;\n\n  #embed \"x\"").unwrap_err();
        assert!(e.msg.starts_with("line 3:"), "{}", e.msg);
        for ok in [
            "int embedded = 1; int x_embed; int embed2;",
            "#include <linux/bpf.h>\nint f(void) { return 0; }",
        ] {
            assert_eq!(refuse_embed(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn drain_keeps_the_cap_and_finds_markers_past_it() {
        let mut text = "x".repeat(100_000);
        text.push_str("LLVM ERROR: out of memory\n");
        let o = drain(text.as_bytes(), 1000);
        assert_eq!(o.kept.len(), 1000);
        assert_eq!(o.dropped, 100_026 - 1000);
        assert!(o.oom);
        assert!(shown(&o).ends_with("(output truncated: 99026 more bytes)"));
        let o = drain(&b"short"[..], 1000);
        assert_eq!(
            (o.kept.as_slice(), o.dropped, o.oom),
            (&b"short"[..], 0, false)
        );
    }

    #[test]
    fn queue_bounds_running_and_waiting() {
        let q = Queue::new(1, 1, Duration::from_millis(100));
        let a = q.slot().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| q.slot().map(|_| ()));
            while q.waiting() == 0 {
                std::thread::yield_now();
            }
            let full = q.slot().unwrap_err();
            assert_eq!(full.status, 503);
            assert!(full.msg.contains("queue is full"), "{}", full.msg);
            let late = waiter.join().unwrap().unwrap_err();
            assert_eq!(late.status, 503);
            assert!(late.msg.contains("within 0.1 s"), "{}", late.msg);
        });
        drop(a);
        assert_eq!((q.running(), q.waiting()), (0, 0));
        let _b = q.slot().unwrap();
        assert_eq!(q.running(), 1);
    }
}
