//! The round-robin arbiter in front of the one map coprocessor.
//!
//! Cycle-level model. An engine raises a request (with the latency of the
//! operation it wants, from [`super::MapTable::latency`]) before the
//! [`Arbiter::tick`] of a cycle. In each cycle where the coprocessor is free
//! the arbiter grants exactly one pending request, searching round-robin
//! from the engine after the last one granted. A grant at cycle `g` of an
//! operation of latency `L` occupies cycles `g..g+L`; its completion is
//! reported by the tick of cycle `g+L-1`, and the next grant can happen in
//! cycle `g+L` (no dead cycle between back-to-back operations).
//!
//! Per engine the arbiter counts `wait_cycles` (cycles a request spent
//! pending without a grant: the "map stall" caused by other engines) and
//! `busy_cycles` (cycles its own operations occupied the coprocessor). An
//! engine's total stall for one map helper is wait + latency.

/// Per-engine counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArbiterStats {
    pub requests: u64,
    pub grants: u64,
    pub wait_cycles: u64,
    pub busy_cycles: u64,
}

/// A finished operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done<T> {
    pub engine: usize,
    pub payload: T,
    /// Cycle the request was raised (before that cycle's tick).
    pub requested: u64,
    pub granted: u64,
    /// Last cycle the operation occupied the coprocessor.
    pub finished: u64,
}

/// What happened in one cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick<T> {
    pub cycle: u64,
    pub granted: Option<usize>,
    pub completed: Option<Done<T>>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArbiterError {
    #[error("engine {0} does not exist")]
    NoEngine(usize),
    #[error("engine {0} already has a request outstanding")]
    Outstanding(usize),
}

#[derive(Debug, Clone)]
struct Pending<T> {
    latency: u32,
    requested: u64,
    payload: T,
}

#[derive(Debug, Clone)]
struct Active<T> {
    engine: usize,
    last: u64,
    granted: u64,
    requested: u64,
    payload: T,
}

/// Round-robin arbiter over `n` engines for one coprocessor.
#[derive(Debug, Clone)]
pub struct Arbiter<T> {
    pending: Vec<Option<Pending<T>>>,
    active: Option<Active<T>>,
    next: usize,
    cycle: u64,
    stats: Vec<ArbiterStats>,
}

impl<T> Arbiter<T> {
    pub fn new(engines: usize) -> Self {
        Arbiter {
            pending: (0..engines).map(|_| None).collect(),
            active: None,
            next: 0,
            cycle: 0,
            stats: vec![ArbiterStats::default(); engines],
        }
    }

    pub fn engines(&self) -> usize {
        self.pending.len()
    }

    /// The cycle the next [`Arbiter::tick`] models.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// The coprocessor is serving an operation.
    pub fn is_busy(&self) -> bool {
        self.active.is_some()
    }

    /// `engine` has a request waiting for its grant.
    pub fn is_waiting(&self, engine: usize) -> bool {
        self.pending.get(engine).is_some_and(Option::is_some)
    }

    /// `engine` is waiting or being served: it must stall.
    pub fn is_stalled(&self, engine: usize) -> bool {
        self.is_waiting(engine) || self.active.as_ref().is_some_and(|a| a.engine == engine)
    }

    pub fn stats(&self, engine: usize) -> ArbiterStats {
        self.stats.get(engine).copied().unwrap_or_default()
    }

    /// Raise a request for an operation of `latency` cycles (0 counts as 1).
    pub fn request(&mut self, engine: usize, latency: u32, payload: T) -> Result<(), ArbiterError> {
        if engine >= self.pending.len() {
            return Err(ArbiterError::NoEngine(engine));
        }
        if self.is_stalled(engine) {
            return Err(ArbiterError::Outstanding(engine));
        }
        self.pending[engine] = Some(Pending {
            latency: latency.max(1),
            requested: self.cycle,
            payload,
        });
        self.stats[engine].requests += 1;
        Ok(())
    }

    /// Advance one cycle.
    pub fn tick(&mut self) -> Tick<T> {
        let c = self.cycle;
        let n = self.pending.len();
        let mut granted = None;
        if self.active.is_none() {
            let pick = (0..n)
                .map(|i| (self.next + i) % n)
                .find(|&e| self.pending[e].is_some());
            if let Some(e) = pick
                && let Some(p) = self.pending[e].take()
            {
                self.active = Some(Active {
                    engine: e,
                    last: c + p.latency as u64 - 1,
                    granted: c,
                    requested: p.requested,
                    payload: p.payload,
                });
                self.stats[e].grants += 1;
                self.next = (e + 1) % n;
                granted = Some(e);
            }
        }
        for (e, p) in self.pending.iter().enumerate() {
            if p.is_some() {
                self.stats[e].wait_cycles += 1;
            }
        }
        let mut completed = None;
        if let Some(a) = &self.active {
            self.stats[a.engine].busy_cycles += 1;
            if a.last == c
                && let Some(a) = self.active.take()
            {
                completed = Some(Done {
                    engine: a.engine,
                    payload: a.payload,
                    requested: a.requested,
                    granted: a.granted,
                    finished: c,
                });
            }
        }
        self.cycle += 1;
        Tick {
            cycle: c,
            granted,
            completed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_request_latency() {
        let mut a = Arbiter::new(4);
        a.request(2, 10, "x").unwrap();
        let t = a.tick();
        assert_eq!(t.granted, Some(2));
        for _ in 1..9 {
            assert!(a.tick().completed.is_none());
            assert!(a.is_stalled(2));
        }
        let d = a.tick().completed.unwrap();
        assert_eq!((d.engine, d.granted, d.finished), (2, 0, 9));
        assert!(!a.is_stalled(2));
        assert_eq!(a.stats(2).wait_cycles, 0);
        assert_eq!(a.stats(2).busy_cycles, 10);
        // The coprocessor is free in cycle 10 again.
        a.request(0, 1, "y").unwrap();
        let t = a.tick();
        assert_eq!(t.granted, Some(0));
        assert_eq!(t.completed.map(|d| d.finished), Some(10));
    }

    #[test]
    fn simultaneous_requests_queue_and_count_waits() {
        let mut a = Arbiter::new(3);
        for e in 0..3 {
            a.request(e, 10, e).unwrap();
        }
        let mut done = Vec::new();
        for _ in 0..30 {
            if let Some(d) = a.tick().completed {
                done.push((d.engine, d.granted, d.finished));
            }
        }
        assert_eq!(done, vec![(0, 0, 9), (1, 10, 19), (2, 20, 29)]);
        assert_eq!(a.stats(0).wait_cycles, 0);
        assert_eq!(a.stats(1).wait_cycles, 10);
        assert_eq!(a.stats(2).wait_cycles, 20);
        assert!(a.request(1, 1, 9).is_ok());
        assert_eq!(a.request(1, 1, 9), Err(ArbiterError::Outstanding(1)));
        assert_eq!(a.request(7, 1, 9), Err(ArbiterError::NoEngine(7)));
    }

    #[test]
    fn round_robin_is_fair_under_saturation() {
        // Four engines re-request the moment their operation finishes.
        let n = 4;
        let mut a = Arbiter::new(n);
        for e in 0..n {
            a.request(e, 12, ()).unwrap();
        }
        let mut order = Vec::new();
        for _ in 0..12 * 100 {
            let t = a.tick();
            if let Some(g) = t.granted {
                order.push(g);
            }
            if let Some(d) = t.completed {
                a.request(d.engine, 12, ()).unwrap();
            }
        }
        // Strict rotation: 0,1,2,3,0,1,...
        for (i, g) in order.iter().enumerate() {
            assert_eq!(*g, i % n);
        }
        let grants: Vec<u64> = (0..n).map(|e| a.stats(e).grants).collect();
        assert_eq!(grants, vec![25; 4]);
        // Each engine waits 12*e for its first grant and then 36 cycles (the
        // three others) per grant; its last re-request waits 36-12*e cycles
        // until the run ends: 900 cycles for everyone.
        let waits: Vec<u64> = (0..n).map(|e| a.stats(e).wait_cycles).collect();
        assert_eq!(waits, vec![900; 4]);
    }

    #[test]
    fn a_lone_requester_is_not_delayed_by_rotation() {
        let mut a = Arbiter::new(4);
        a.request(3, 2, ()).unwrap();
        assert_eq!(a.tick().granted, Some(3));
        a.tick();
        a.request(3, 2, ()).unwrap();
        assert_eq!(a.tick().granted, Some(3));
        assert_eq!(a.stats(3).wait_cycles, 0);
    }
}
