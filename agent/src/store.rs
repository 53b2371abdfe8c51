//! The agent's persistent state: one redb database file holding the
//! function registry, the invocation queue, the running invocation (with a
//! checkpoint of its elapsed time) and the timeline of past runs. Every
//! change is one write transaction, committed durably before the caller
//! answers, so a kill -9 loses nothing that was acknowledged.
//!
//! Records are JSON (the types of [`crate::registry`] and
//! [`crate::scheduler`]); queue and history keys are invocation ids, in
//! submission order.

// The transaction closures return redb::Error, which is large; it becomes a
// StoreError (a message) as soon as the transaction ends.
#![allow(clippy::result_large_err)]

use crate::limits::Limits;
use crate::registry::Function;
use crate::scheduler::{Invocation, RunRecord, Running};
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

const FUNCTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("functions");
const QUEUE: TableDefinition<u64, &[u8]> = TableDefinition::new("queue");
const HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("history");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Function name -> the client that created it (counted for the
/// per-client cap without decoding whole function records).
const OWNERS: TableDefinition<&str, &str> = TableDefinition::new("owners");
/// Function name -> its OpenFaaS deployment record ([`crate::openfaas`]):
/// namespace, image, labels, annotations, environment, replicas.
const FAAS: TableDefinition<&str, &[u8]> = TableDefinition::new("faas");
/// Function name -> invocations queued since it was created (OpenFaaS's
/// `invocationCount`).
const INVOKED: TableDefinition<&str, u64> = TableDefinition::new("invoked");
const NEXT_ID: &str = "next_id";
/// redb's page cache, bytes.
const CACHE_BYTES: usize = 4 << 20;
const RUNNING: &str = "running";

/// The meta key of device `slot`'s running invocation: `running` for the
/// first device (as one-device agents always wrote it), `running.N` for
/// the others.
fn running_key(slot: usize) -> String {
    if slot == 0 {
        RUNNING.to_string()
    } else {
        format!("{RUNNING}.{slot}")
    }
}

/// The device slot of a meta key written by [`running_key`].
fn running_slot(key: &str) -> Option<usize> {
    if key == RUNNING {
        return Some(0);
    }
    key.strip_prefix("running.")?
        .parse()
        .ok()
        .filter(|s| *s > 0)
}

/// The meta key of run `id` waiting for a device (moved off a device that
/// stopped answering, or interrupted by a restart).
fn pending_key(id: u64) -> String {
    format!("pending.{id}")
}

/// Is `key` a running or a pending run's?
fn is_run_key(key: &str) -> bool {
    running_slot(key).is_some() || key.starts_with("pending.")
}

/// A store failure (I/O, a corrupt record); names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {msg}")]
    Db { path: PathBuf, msg: String },
    /// The file is not a readable store (truncated, overwritten).
    #[error(
        "store {path} is corrupt or truncated ({why}): move it aside to start with an empty store, or restore it from a backup"
    )]
    Damaged { path: PathBuf, why: String },
    #[error("store {path}: record {what} is corrupt: {msg}")]
    Corrupt {
        path: PathBuf,
        what: String,
        msg: String,
    },
}

/// Why a registry or queue change did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Exists,
    Missing,
    /// The function has invocations queued or running (their ids).
    InUse(Vec<u64>),
    /// A limit of [`Limits`] would be passed (the message names it).
    Limit(String),
}

/// Whether an error opening the store says the file itself is bad (rather
/// than the system: permissions, another process holding it).
fn is_damage(e: &redb::Error) -> bool {
    match e {
        redb::Error::Corrupted(_) => true,
        redb::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

thread_local! {
    /// Set while [`catch_quietly`] runs on this thread.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f`; a panic in it becomes `Err(its message)` and is not printed.
/// The panic hook is wrapped once (the previous hook still runs for every
/// panic outside `catch_quietly`, and on other threads).
fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                prev(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into())
            .replace('\n', " ")
    })
}

/// The database.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

type R<T> = Result<T, StoreError>;

impl Store {
    /// Open (or create) the database at `path`. A file redb cannot read
    /// (truncated, overwritten, not a store at all) gives
    /// [`StoreError::Damaged`], never a panic: redb panics on some truncated
    /// files, and that panic is caught (and kept off stderr).
    pub fn open(path: &Path) -> R<Store> {
        let err = |e: String| StoreError::Db {
            path: path.to_path_buf(),
            msg: e,
        };
        if path.is_dir() {
            return Err(err(
                "is a directory, not a store file: give the path of a file (it is created if missing)"
                    .into(),
            ));
        }
        // Open and, in the first transaction, make every table exist (reads
        // of a missing table fail).
        let open = || -> Result<Database, redb::Error> {
            // A bounded page cache (redb's default is 1 GiB): the agent's
            // memory stays flat however long its timeline grows.
            let db = redb::Builder::new()
                .set_cache_size(CACHE_BYTES)
                .create(path)?;
            let tx = db.begin_write()?;
            tx.open_table(FUNCTIONS)?;
            tx.open_table(QUEUE)?;
            tx.open_table(HISTORY)?;
            tx.open_table(META)?;
            tx.open_table(OWNERS)?;
            tx.open_table(FAAS)?;
            tx.open_table(INVOKED)?;
            tx.commit()?;
            Ok(db)
        };
        let damaged = |why: String| StoreError::Damaged {
            path: path.to_path_buf(),
            why,
        };
        let db = match catch_quietly(open) {
            Ok(Ok(db)) => db,
            Ok(Err(e)) if is_damage(&e) => return Err(damaged(format!("redb: {e}"))),
            Ok(Err(e)) => return Err(err(e.to_string())),
            Err(panic) => return Err(damaged(format!("redb panicked: {panic}"))),
        };
        Ok(Store {
            db,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db_err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            msg: e.to_string(),
        }
    }

    fn decode<T: DeserializeOwned>(&self, what: impl Fn() -> String, b: &[u8]) -> R<T> {
        serde_json::from_slice(b).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            what: what(),
            msg: e.to_string(),
        })
    }

    fn encode<T: Serialize>(v: &T) -> Vec<u8> {
        // Our record types serialize infallibly (no maps with non-string keys).
        serde_json::to_vec(v).unwrap_or_default()
    }

    /// Run `f` in one write transaction and commit it.
    fn write<T>(&self, f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>) -> R<T> {
        let tx = self.db.begin_write().map_err(|e| self.db_err(e))?;
        let v = f(&tx).map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(v)
    }

    fn read<T>(&self, f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>) -> R<T> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        f(&tx).map_err(|e| self.db_err(e))
    }

    pub fn function(&self, name: &str) -> R<Option<Function>> {
        let raw = self.read(|tx| {
            let t = tx.open_table(FUNCTIONS)?;
            Ok(t.get(name)?.map(|v| v.value().to_vec()))
        })?;
        raw.map(|b| self.decode(|| format!("function `{name}`"), &b))
            .transpose()
    }

    pub fn functions(&self) -> R<Vec<Function>> {
        let raw = self.read(|tx| {
            let t = tx.open_table(FUNCTIONS)?;
            let mut out = Vec::new();
            for kv in t.iter()? {
                let (k, v) = kv?;
                out.push((k.value().to_string(), v.value().to_vec()));
            }
            Ok(out)
        })?;
        raw.iter()
            .map(|(k, b)| self.decode(|| format!("function `{k}`"), b))
            .collect()
    }

    /// A page of functions in name order: those after `after`, at most
    /// `limit`; with the number of functions and whether more follow.
    pub fn functions_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> R<(u64, Vec<Function>, bool)> {
        let (total, raw, more) = self.read(|tx| {
            let t = tx.open_table(FUNCTIONS)?;
            let mut out = Vec::new();
            let mut more = false;
            let range = match after {
                Some(a) => {
                    t.range::<&str>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))?
                }
                None => t.range::<&str>(..)?,
            };
            for kv in range {
                let (k, v) = kv?;
                if out.len() == limit {
                    more = true;
                    break;
                }
                out.push((k.value().to_string(), v.value().to_vec()));
            }
            Ok((t.len()?, out, more))
        })?;
        let fs = raw
            .iter()
            .map(|(k, b)| self.decode(|| format!("function `{k}`"), b))
            .collect::<R<Vec<_>>>()?;
        Ok((total, fs, more))
    }

    /// Would one more function of `owner` pass the caps? (Checked again,
    /// atomically, by [`Store::put_function`]; this is the cheap refusal
    /// before a compile.)
    pub fn function_room(&self, owner: &str, limits: &Limits) -> R<Result<(), Refused>> {
        self.read(|tx| {
            Self::room(
                &tx.open_table(FUNCTIONS)?,
                &tx.open_table(OWNERS)?,
                owner,
                limits,
            )
        })
    }

    fn room(
        functions: &impl ReadableTableMetadata,
        owners: &impl ReadableTable<&'static str, &'static str>,
        owner: &str,
        limits: &Limits,
    ) -> Result<Result<(), Refused>, redb::Error> {
        if functions.len()? >= limits.functions as u64 {
            return Ok(Err(Refused::Limit(format!(
                "the agent holds {} functions, its limit (delete some first)",
                limits.functions
            ))));
        }
        let mut mine = 0usize;
        for kv in owners.iter()? {
            if kv?.1.value() == owner {
                mine += 1;
            }
        }
        if mine >= limits.functions_per_client {
            return Ok(Err(Refused::Limit(format!(
                "client `{owner}` has {mine} functions, the limit per client (delete some first)"
            ))));
        }
        Ok(Ok(()))
    }

    /// Insert (`create`) or replace (`!create`) a function. On update the
    /// version goes up by one and the creation time is kept; a create
    /// passes the caps of `limits` on functions (in all and of its owner).
    pub fn put_function(
        &self,
        f: &Function,
        create: bool,
        limits: &Limits,
    ) -> R<Result<Function, Refused>> {
        self.write(|tx| {
            let mut t = tx.open_table(FUNCTIONS)?;
            let mut owners = tx.open_table(OWNERS)?;
            let old = t.get(f.name.as_str())?.map(|v| v.value().to_vec());
            let mut f = f.clone();
            match (&old, create) {
                (Some(_), true) => return Ok(Err(Refused::Exists)),
                (None, true) => {
                    if let Err(r) = Self::room(&t, &owners, &f.owner, limits)? {
                        return Ok(Err(r));
                    }
                }
                (None, false) => return Ok(Err(Refused::Missing)),
                (Some(b), false) => {
                    // A corrupt old record is replaced: the new one is whole.
                    if let Ok(o) = serde_json::from_slice::<Function>(b) {
                        f.version = o.version + 1;
                        f.created_ms = o.created_ms;
                    }
                }
            }
            t.insert(f.name.as_str(), Self::encode(&f).as_slice())?;
            owners.insert(f.name.as_str(), f.owner.as_str())?;
            Ok(Ok(f))
        })
    }

    /// Delete a function unless an invocation of it is queued or running.
    pub fn delete_function(&self, name: &str) -> R<Result<(), Refused>> {
        self.write(|tx| {
            let mut t = tx.open_table(FUNCTIONS)?;
            if t.get(name)?.is_none() {
                return Ok(Err(Refused::Missing));
            }
            let mut users = Vec::new();
            {
                let q = tx.open_table(QUEUE)?;
                for kv in q.iter()? {
                    let (k, v) = kv?;
                    if serde_json::from_slice::<Invocation>(v.value())
                        .is_ok_and(|i| i.function == name)
                    {
                        users.push(k.value());
                    }
                }
                let m = tx.open_table(META)?;
                let mut running = Vec::new();
                for kv in m.iter()? {
                    let (k, v) = kv?;
                    if is_run_key(k.value())
                        && let Ok(r) = serde_json::from_slice::<Running>(v.value())
                        && r.invocation.function == name
                    {
                        running.push(r.invocation.id);
                    }
                }
                users.splice(0..0, running);
            }
            if !users.is_empty() {
                return Ok(Err(Refused::InUse(users)));
            }
            t.remove(name)?;
            tx.open_table(OWNERS)?.remove(name)?;
            tx.open_table(FAAS)?.remove(name)?;
            tx.open_table(INVOKED)?.remove(name)?;
            Ok(Ok(()))
        })
    }

    /// Append an invocation of `function` (which must exist) by `owner` to
    /// the queue, within the caps of `limits` on queued invocations and
    /// queued run time (in all and of the owner).
    pub fn enqueue(
        &self,
        function: &str,
        run_time: u32,
        now_ms: u64,
        owner: &str,
        limits: &Limits,
    ) -> R<Result<Invocation, Refused>> {
        self.enqueue_request(function, run_time, now_ms, owner, limits, None)
    }

    /// [`Store::enqueue`] of a lambda's invocation carrying its request
    /// body (base64; `None`: a network function's run).
    pub fn enqueue_request(
        &self,
        function: &str,
        run_time: u32,
        now_ms: u64,
        owner: &str,
        limits: &Limits,
        request: Option<String>,
    ) -> R<Result<Invocation, Refused>> {
        self.write(|tx| {
            if tx.open_table(FUNCTIONS)?.get(function)?.is_none() {
                return Ok(Err(Refused::Missing));
            }
            {
                let q = tx.open_table(QUEUE)?;
                let (mut n, mut secs, mut mine, mut my_secs) = (0usize, 0u64, 0usize, 0u64);
                for kv in q.iter()? {
                    let (_, v) = kv?;
                    // A record that does not decode counts as nobody's.
                    let Ok(i) = serde_json::from_slice::<Invocation>(v.value()) else {
                        n += 1;
                        continue;
                    };
                    n += 1;
                    secs += u64::from(i.run_time);
                    if i.owner == owner {
                        mine += 1;
                        my_secs += u64::from(i.run_time);
                    }
                }
                let rt = u64::from(run_time);
                let refuse = if n >= limits.queue {
                    Some(format!("the queue holds {n} invocations, its limit; retry when it is shorter"))
                } else if mine >= limits.queue_per_client {
                    Some(format!("client `{owner}` has {mine} invocations queued, the limit per client"))
                } else if secs + rt > limits.queued_seconds {
                    Some(format!(
                        "the queue holds {secs} s of run time; {rt} s more would pass its limit of {} s",
                        limits.queued_seconds
                    ))
                } else if my_secs + rt > limits.queued_seconds_per_client {
                    Some(format!(
                        "client `{owner}` has {my_secs} s of run time queued; {rt} s more would pass the limit per client of {} s",
                        limits.queued_seconds_per_client
                    ))
                } else {
                    None
                };
                if let Some(msg) = refuse {
                    return Ok(Err(Refused::Limit(msg)));
                }
            }
            let mut m = tx.open_table(META)?;
            let id = m
                .get(NEXT_ID)?
                .and_then(|v| v.value().try_into().ok().map(u64::from_le_bytes))
                .unwrap_or(1);
            m.insert(NEXT_ID, (id + 1).to_le_bytes().as_slice())?;
            let inv = Invocation {
                id,
                function: function.to_string(),
                run_time,
                submitted_ms: now_ms,
                owner: owner.to_string(),
                request: request.clone(),
            };
            tx.open_table(QUEUE)?
                .insert(id, Self::encode(&inv).as_slice())?;
            let mut counts = tx.open_table(INVOKED)?;
            let n = counts.get(function)?.map_or(0, |v| v.value());
            counts.insert(function, n.saturating_add(1))?;
            Ok(Ok(inv))
        })
    }

    /// The queue, oldest first.
    pub fn queue(&self) -> R<Vec<Invocation>> {
        let raw = self.read(|tx| {
            let t = tx.open_table(QUEUE)?;
            let mut out = Vec::new();
            for kv in t.iter()? {
                let (k, v) = kv?;
                out.push((k.value(), v.value().to_vec()));
            }
            Ok(out)
        })?;
        raw.iter()
            .map(|(k, b)| self.decode(|| format!("queue entry {k}"), b))
            .collect()
    }

    /// A page of the queue in id order: the invocations after `after`, at
    /// most `limit`; with the queue's length and whether more follow.
    pub fn queue_page(&self, after: Option<u64>, limit: usize) -> R<(u64, Vec<Invocation>, bool)> {
        let (len, raw, more) = self.read(|tx| {
            let t = tx.open_table(QUEUE)?;
            let mut out = Vec::new();
            let mut more = false;
            let from = after.map_or(0, |a| a.saturating_add(1));
            for kv in t.range(from..)? {
                let (k, v) = kv?;
                if out.len() == limit {
                    more = true;
                    break;
                }
                out.push((k.value(), v.value().to_vec()));
            }
            Ok((t.len()?, out, more))
        })?;
        let q = raw
            .iter()
            .map(|(k, b)| self.decode(|| format!("queue entry {k}"), b))
            .collect::<R<Vec<_>>>()?;
        Ok((len, q, more))
    }

    /// The invocation `id`, queued or running.
    pub fn invocation(&self, id: u64) -> R<Option<Invocation>> {
        let raw = self.read(|tx| Ok(tx.open_table(QUEUE)?.get(id)?.map(|v| v.value().to_vec())))?;
        if let Some(b) = raw {
            return self.decode(|| format!("queue entry {id}"), &b).map(Some);
        }
        Ok(self
            .runs()?
            .into_iter()
            .map(|r| r.invocation)
            .find(|i| i.id == id))
    }

    /// Length of the queue and its first `n` invocations.
    pub fn queue_head(&self, n: usize) -> R<(u64, Vec<Invocation>)> {
        let (len, raw) = self.read(|tx| {
            let t = tx.open_table(QUEUE)?;
            let mut out = Vec::new();
            for kv in t.iter()?.take(n) {
                let (k, v) = kv?;
                out.push((k.value(), v.value().to_vec()));
            }
            Ok((t.len()?, out))
        })?;
        let head = raw
            .iter()
            .map(|(k, b)| self.decode(|| format!("queue entry {k}"), b))
            .collect::<R<Vec<_>>>()?;
        Ok((len, head))
    }

    /// The first queued invocation.
    pub fn head(&self) -> R<Option<Invocation>> {
        let raw = self.read(|tx| {
            let t = tx.open_table(QUEUE)?;
            let first = t.first()?.map(|(k, v)| (k.value(), v.value().to_vec()));
            Ok(first)
        })?;
        raw.map(|(k, b)| self.decode(|| format!("queue entry {k}"), &b))
            .transpose()
    }

    /// Remove a queued invocation.
    pub fn dequeue(&self, id: u64) -> R<Option<Invocation>> {
        let raw = self.write(|tx| {
            let mut t = tx.open_table(QUEUE)?;
            let v = t.remove(id)?.map(|v| v.value().to_vec());
            Ok(v)
        })?;
        raw.map(|b| self.decode(|| format!("queue entry {id}"), &b))
            .transpose()
    }

    /// The invocation `r` leaves the queue and becomes the running one (of
    /// the first device), in one transaction.
    pub fn start(&self, r: &Running) -> R<()> {
        self.start_on(0, r, false)
    }

    /// The invocation `r` leaves the queue (or the pending runs, when
    /// `pending`) and becomes device `slot`'s running one, in one
    /// transaction.
    pub fn start_on(&self, slot: usize, r: &Running, pending: bool) -> R<()> {
        self.write(|tx| {
            tx.open_table(QUEUE)?.remove(r.invocation.id)?;
            let mut m = tx.open_table(META)?;
            if pending {
                m.remove(pending_key(r.invocation.id).as_str())?;
            }
            m.insert(running_key(slot).as_str(), Self::encode(r).as_slice())?;
            Ok(())
        })
    }

    /// Run `r` leaves device `slot` (which stopped answering) and waits for
    /// another, in one transaction.
    pub fn park(&self, slot: usize, r: &Running) -> R<()> {
        self.write(|tx| {
            let mut m = tx.open_table(META)?;
            m.remove(running_key(slot).as_str())?;
            m.insert(
                pending_key(r.invocation.id).as_str(),
                Self::encode(r).as_slice(),
            )?;
            Ok(())
        })
    }

    /// At start: every device's running invocation (of the agent before)
    /// becomes a pending run, in one transaction; the pending runs, oldest
    /// invocation first.
    pub fn park_all(&self) -> R<Vec<Running>> {
        let running = self.running_all()?;
        if !running.is_empty() {
            self.write(|tx| {
                let mut m = tx.open_table(META)?;
                for (slot, r) in &running {
                    m.remove(running_key(*slot).as_str())?;
                    m.insert(
                        pending_key(r.invocation.id).as_str(),
                        Self::encode(r).as_slice(),
                    )?;
                }
                Ok(())
            })?;
        }
        let mut runs = self.runs()?;
        runs.sort_by_key(|r| r.invocation.id);
        Ok(runs)
    }

    /// Checkpoint the running invocation of the first device.
    pub fn checkpoint(&self, r: &Running) -> R<()> {
        self.checkpoint_on(0, r)
    }

    /// Checkpoint the running invocation of device `slot` (its elapsed
    /// time), unless it is no longer the running one (a late checkpoint
    /// after its end).
    pub fn checkpoint_on(&self, slot: usize, r: &Running) -> R<()> {
        let key = running_key(slot);
        self.write(|tx| {
            let mut m = tx.open_table(META)?;
            let current = m
                .get(key.as_str())?
                .and_then(|v| serde_json::from_slice::<Running>(v.value()).ok());
            // A late checkpoint does not undo a newer record's interruption.
            if current.is_some_and(|c| {
                c.invocation.id == r.invocation.id && c.interruptions.len() <= r.interruptions.len()
            }) {
                m.insert(key.as_str(), Self::encode(r).as_slice())?;
            }
            Ok(())
        })
    }

    /// The running invocation of the first device ends: its record joins
    /// the timeline, which keeps the last `keep` records.
    pub fn finish(&self, rec: &RunRecord, keep: usize) -> R<()> {
        self.finish_on(Some(0), rec, keep)
    }

    /// A run ends: its record joins the timeline (which keeps the last
    /// `keep` records) and device `slot`'s running record goes (None: the
    /// run held no device, e.g. one that failed to start), as does its
    /// pending record if it had one.
    pub fn finish_on(&self, slot: Option<usize>, rec: &RunRecord, keep: usize) -> R<()> {
        self.write(|tx| {
            {
                let mut m = tx.open_table(META)?;
                if let Some(s) = slot {
                    m.remove(running_key(s).as_str())?;
                }
                m.remove(pending_key(rec.id).as_str())?;
            }
            let mut h = tx.open_table(HISTORY)?;
            h.insert(rec.id, Self::encode(rec).as_slice())?;
            while h.len()? > keep as u64 {
                if h.pop_first()?.is_none() {
                    break;
                }
            }
            Ok(())
        })
    }

    /// The running invocation of the first device.
    pub fn running(&self) -> R<Option<Running>> {
        Ok(self
            .running_all()?
            .into_iter()
            .find(|(s, _)| *s == 0)
            .map(|(_, r)| r))
    }

    /// Every run record: the devices' running invocations and the pending
    /// runs.
    fn runs(&self) -> R<Vec<Running>> {
        let raw = self.read(|tx| {
            let t = tx.open_table(META)?;
            let mut out = Vec::new();
            for kv in t.iter()? {
                let (k, v) = kv?;
                if is_run_key(k.value()) {
                    out.push((k.value().to_string(), v.value().to_vec()));
                }
            }
            Ok(out)
        })?;
        raw.iter()
            .map(|(k, b)| self.decode(|| k.clone(), b))
            .collect()
    }

    /// Every device's running invocation: (device slot, invocation), in
    /// slot order.
    pub fn running_all(&self) -> R<Vec<(usize, Running)>> {
        let raw = self.read(|tx| {
            let t = tx.open_table(META)?;
            let mut out = Vec::new();
            for kv in t.iter()? {
                let (k, v) = kv?;
                if let Some(slot) = running_slot(k.value()) {
                    out.push((slot, k.value().to_string(), v.value().to_vec()));
                }
            }
            Ok(out)
        })?;
        let mut out = raw
            .iter()
            .map(|(s, k, b)| Ok((*s, self.decode(|| k.clone(), b)?)))
            .collect::<R<Vec<_>>>()?;
        out.sort_by_key(|(s, _)| *s);
        Ok(out)
    }

    /// The timeline's record of run `id` (None: not ended yet, or pruned).
    pub fn run_record(&self, id: u64) -> R<Option<RunRecord>> {
        let raw =
            self.read(|tx| Ok(tx.open_table(HISTORY)?.get(id)?.map(|v| v.value().to_vec())))?;
        raw.map(|b| self.decode(|| format!("timeline entry {id}"), &b))
            .transpose()
    }

    /// The OpenFaaS record of function `name` (None: the function was
    /// created through the agent's own API, or is unknown).
    pub fn faas<T: DeserializeOwned>(&self, name: &str) -> R<Option<T>> {
        let raw =
            self.read(|tx| Ok(tx.open_table(FAAS)?.get(name)?.map(|v| v.value().to_vec())))?;
        raw.map(|b| self.decode(|| format!("OpenFaaS record `{name}`"), &b))
            .transpose()
    }

    /// Write the OpenFaaS record of function `name`, if the function
    /// exists (`Refused::Missing` otherwise).
    pub fn put_faas<T: Serialize>(&self, name: &str, rec: &T) -> R<Result<(), Refused>> {
        self.write(|tx| {
            if tx.open_table(FUNCTIONS)?.get(name)?.is_none() {
                return Ok(Err(Refused::Missing));
            }
            tx.open_table(FAAS)?
                .insert(name, Self::encode(rec).as_slice())?;
            Ok(Ok(()))
        })
    }

    /// Invocations queued of function `name` since it was created.
    pub fn invoked(&self, name: &str) -> R<u64> {
        self.read(|tx| Ok(tx.open_table(INVOKED)?.get(name)?.map_or(0, |v| v.value())))
    }

    /// Past runs, oldest first (at most the last `limit`).
    pub fn history(&self, limit: usize) -> R<Vec<RunRecord>> {
        let raw = self.read(|tx| {
            let t = tx.open_table(HISTORY)?;
            let mut out = Vec::new();
            for kv in t.iter()?.rev().take(limit) {
                let (k, v) = kv?;
                out.push((k.value(), v.value().to_vec()));
            }
            out.reverse();
            Ok(out)
        })?;
        raw.iter()
            .map(|(k, b)| self.decode(|| format!("timeline entry {k}"), b))
            .collect()
    }
}
