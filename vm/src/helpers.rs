//! Helper functions as a registry of id -> function.
//!
//! A helper receives r1..r5 and the program's memory and returns r0, or asks
//! the program to stop at once ([`HelperOutcome::Unwind`], uBPF's convention
//! that the conformance suite's helper 5 uses). Device models register their
//! hardware units here; each registration carries a name for messages.

use crate::mem::Memory;
use std::collections::BTreeMap;
use std::fmt;

/// What a helper call does to the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperOutcome {
    /// Continue with r0 = value.
    Return(u64),
    /// Stop the program now with r0 = value.
    Unwind(u64),
}

/// A helper's body.
pub type HelperFn = Box<dyn FnMut(&mut Memory, [u64; 5]) -> Result<HelperOutcome, String> + Send>;

struct Entry {
    name: &'static str,
    func: HelperFn,
}

/// The helpers a program may call.
#[derive(Default)]
pub struct Helpers {
    table: BTreeMap<u32, Entry>,
}

impl fmt::Debug for Helpers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.table.iter().map(|(k, v)| (k, v.name)))
            .finish()
    }
}

/// Helper id of the conformance suite's `unwind`.
pub const HELPER_UNWIND: u32 = 5;

impl Helpers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The conformance suite's helpers: 5 = unwind (returns r1; stops the
    /// program when that is 0).
    pub fn conformance() -> Self {
        let mut h = Self::new();
        h.register(HELPER_UNWIND, "unwind", |_, a| {
            Ok(if a[0] == 0 {
                HelperOutcome::Unwind(0)
            } else {
                HelperOutcome::Return(a[0])
            })
        });
        h
    }

    pub fn register(
        &mut self,
        id: u32,
        name: &'static str,
        f: impl FnMut(&mut Memory, [u64; 5]) -> Result<HelperOutcome, String> + Send + 'static,
    ) {
        self.table.insert(
            id,
            Entry {
                name,
                func: Box::new(f),
            },
        );
    }

    pub fn contains(&self, id: u32) -> bool {
        self.table.contains_key(&id)
    }

    pub fn name(&self, id: u32) -> Option<&'static str> {
        self.table.get(&id).map(|e| e.name)
    }

    /// Call helper `id`. `None` when no helper has that id.
    pub fn call(
        &mut self,
        id: u32,
        mem: &mut Memory,
        args: [u64; 5],
    ) -> Option<Result<HelperOutcome, String>> {
        self.table.get_mut(&id).map(|e| (e.func)(mem, args))
    }
}
