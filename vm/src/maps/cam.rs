//! The CAM of exact-match (HASH) maps.
//!
//! One CAM serves every HASH map, as in the hardware: an entry is tagged with
//! its map's index, so `(map, key)` is what the CAM matches. Capacity is the
//! number of entries shared by all maps ([`crate::contract::CAM_ENTRIES`] by
//! default). A new entry takes the lowest free address, like a priority
//! encoder over the valid bits. Search is by value; the model keeps a shadow
//! index so that a search costs O(1) in software while the modeled latency
//! stays [`crate::contract::CAM_READ_CYCLES`].

use std::collections::{BTreeSet, HashMap};

/// One valid CAM entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamEntry {
    /// Index of the map the entry belongs to (the tag bits).
    pub map: u8,
    /// The key, exactly the map's key size (already masked).
    pub key: Vec<u8>,
    /// The value slot in the map's value area.
    pub slot: u32,
}

/// A content-addressable memory of `capacity` entries.
#[derive(Debug, Clone)]
pub struct Cam {
    entries: Vec<Option<CamEntry>>,
    free: BTreeSet<usize>,
    /// Shadow index: map tag -> key -> address.
    index: HashMap<u8, HashMap<Vec<u8>, usize>>,
}

impl Cam {
    pub fn new(capacity: usize) -> Self {
        Cam {
            entries: vec![None; capacity],
            free: (0..capacity).collect(),
            index: HashMap::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Valid entries.
    pub fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The CAMFULL flag.
    pub fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    /// Address of the entry matching `(map, key)`.
    pub fn search(&self, map: u8, key: &[u8]) -> Option<usize> {
        self.index.get(&map)?.get(key).copied()
    }

    pub fn get(&self, addr: usize) -> Option<&CamEntry> {
        self.entries.get(addr).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, addr: usize) -> Option<&mut CamEntry> {
        self.entries.get_mut(addr).and_then(Option::as_mut)
    }

    /// Write `e` at the lowest free address. `None` when the CAM is full.
    /// The caller has searched first: a duplicate `(map, key)` is replaced.
    pub fn insert(&mut self, e: CamEntry) -> Option<usize> {
        if let Some(a) = self.search(e.map, &e.key) {
            self.entries[a] = Some(e);
            return Some(a);
        }
        let addr = self.free.pop_first()?;
        self.index
            .entry(e.map)
            .or_default()
            .insert(e.key.clone(), addr);
        self.entries[addr] = Some(e);
        Some(addr)
    }

    /// Invalidate the entry at `addr`.
    pub fn remove(&mut self, addr: usize) -> Option<CamEntry> {
        let e = self.entries.get_mut(addr)?.take()?;
        if let Some(m) = self.index.get_mut(&e.map) {
            m.remove(&e.key);
        }
        self.free.insert(addr);
        Some(e)
    }

    /// Invalidate every entry of `map`.
    pub fn remove_map(&mut self, map: u8) {
        let addrs: Vec<usize> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.as_ref().is_some_and(|e| e.map == map))
            .map(|(a, _)| a)
            .collect();
        for a in addrs {
            self.remove(a);
        }
    }

    /// Valid entries with their addresses, in address order.
    pub fn entries(&self) -> impl Iterator<Item = (usize, &CamEntry)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(a, e)| e.as_ref().map(|e| (a, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(map: u8, key: &[u8], slot: u32) -> CamEntry {
        CamEntry {
            map,
            key: key.to_vec(),
            slot,
        }
    }

    #[test]
    fn lowest_free_address_and_tags() {
        let mut c = Cam::new(3);
        assert_eq!(c.insert(e(0, &[1], 0)), Some(0));
        assert_eq!(c.insert(e(1, &[1], 0)), Some(1));
        assert_eq!(c.search(0, &[1]), Some(0));
        assert_eq!(c.search(1, &[1]), Some(1));
        assert_eq!(c.search(2, &[1]), None);
        assert_eq!(c.insert(e(0, &[2], 1)), Some(2));
        assert!(c.is_full());
        assert_eq!(c.insert(e(0, &[3], 2)), None);
        assert_eq!(c.remove(1).map(|x| x.map), Some(1));
        assert_eq!(c.insert(e(0, &[3], 2)), Some(1));
        c.remove_map(0);
        assert!(c.is_empty());
    }
}
