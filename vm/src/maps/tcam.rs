//! The TCAM of longest-prefix-match (LPM_TRIE) maps.
//!
//! Each entry holds a value and a care mask (the prefix), the map's index as
//! tag bits, and the prefix length. Entries are kept in priority order,
//! longest prefix first, and a search returns the first (highest-priority)
//! entry that matches, which is what a TCAM's priority encoder does. Keeping
//! the order on insert means shifting the entries below the insertion point,
//! the reason the published coprocessor's TCAM write cost more than its read
//! ([`crate::contract::PUBLISHED_TCAM_WRITE_CYCLES`]). The RTL's TCAM keeps
//! its entries unordered and selects the longest matching prefix instead
//! (`rtl/ebpf_tcam.v`), which finds the same entry, so its write costs what
//! its read does ([`crate::contract::TCAM_WRITE_CYCLES`]).
//!
//! Linux's lookup semantics need one more comparator: the prefix length of
//! the lookup key caps the match, so an entry matches only if its prefix
//! length is at most the key's. Entries with equal prefix lengths never
//! match the same key unless they are the same entry, so their relative order
//! does not matter; new ones go after the existing ones of that length.

/// One valid TCAM entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcamEntry {
    pub map: u8,
    pub prefixlen: u32,
    /// Data bits under the mask (bits beyond `prefixlen` are zero).
    pub value: Vec<u8>,
    /// Care mask: the first `prefixlen` bits (network order) set.
    pub mask: Vec<u8>,
    /// The value slot in the map's value area.
    pub slot: u32,
}

/// The care mask of a `prefixlen`-bit prefix over `len` bytes.
pub fn prefix_mask(len: usize, prefixlen: u32) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let bits = (prefixlen as i64 - 8 * i as i64).clamp(0, 8) as u32;
            if bits == 0 { 0 } else { 0xffu8 << (8 - bits) }
        })
        .collect()
}

/// `data & mask`.
pub fn masked(data: &[u8], mask: &[u8]) -> Vec<u8> {
    data.iter().zip(mask).map(|(d, m)| d & m).collect()
}

/// A ternary CAM of `capacity` entries in priority order.
#[derive(Debug, Clone)]
pub struct Tcam {
    capacity: usize,
    entries: Vec<TcamEntry>,
}

impl Tcam {
    pub fn new(capacity: usize) -> Self {
        Tcam {
            capacity,
            entries: Vec::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The TCAMFULL flag.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.capacity
    }

    /// Entries in priority order (index 0 wins).
    pub fn entries(&self) -> &[TcamEntry] {
        &self.entries
    }

    /// The highest-priority entry of `map` matching `data` whose prefix is
    /// at most `max_prefixlen` bits.
    pub fn search(&self, map: u8, data: &[u8], max_prefixlen: u32) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.map == map
                && e.prefixlen <= max_prefixlen
                && e.value.len() == data.len()
                && data
                    .iter()
                    .zip(&e.mask)
                    .zip(&e.value)
                    .all(|((d, m), v)| d & m == *v)
        })
    }

    /// The entry of `map` with exactly this prefix (data already masked).
    pub fn find_exact(&self, map: u8, prefixlen: u32, value: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.map == map && e.prefixlen == prefixlen && e.value == value)
    }

    pub fn get(&self, addr: usize) -> Option<&TcamEntry> {
        self.entries.get(addr)
    }

    /// Insert in priority order. `None` when full.
    pub fn insert(&mut self, e: TcamEntry) -> Option<usize> {
        if self.is_full() {
            return None;
        }
        let at = self
            .entries
            .iter()
            .position(|x| x.prefixlen < e.prefixlen)
            .unwrap_or(self.entries.len());
        self.entries.insert(at, e);
        Some(at)
    }

    pub fn remove(&mut self, addr: usize) -> Option<TcamEntry> {
        (addr < self.entries.len()).then(|| self.entries.remove(addr))
    }

    pub fn remove_map(&mut self, map: u8) {
        self.entries.retain(|e| e.map != map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(map: u8, plen: u32, data: &[u8], slot: u32) -> TcamEntry {
        let mask = prefix_mask(data.len(), plen);
        TcamEntry {
            map,
            prefixlen: plen,
            value: masked(data, &mask),
            mask,
            slot,
        }
    }

    #[test]
    fn masks() {
        assert_eq!(prefix_mask(4, 0), vec![0, 0, 0, 0]);
        assert_eq!(prefix_mask(4, 12), vec![0xff, 0xf0, 0, 0]);
        assert_eq!(prefix_mask(2, 16), vec![0xff, 0xff]);
        assert_eq!(prefix_mask(2, 1), vec![0x80, 0]);
    }

    #[test]
    fn priority_order_and_cap() {
        let mut t = Tcam::new(4);
        t.insert(entry(0, 8, &[10, 0, 0, 0], 0));
        t.insert(entry(0, 24, &[10, 1, 2, 0], 1));
        t.insert(entry(0, 16, &[10, 1, 0, 0], 2));
        let p: Vec<u32> = t.entries().iter().map(|e| e.prefixlen).collect();
        assert_eq!(p, vec![24, 16, 8]);
        let hit = |cap| {
            t.search(0, &[10, 1, 2, 3], cap)
                .map(|a| t.entries()[a].slot)
        };
        assert_eq!(hit(32), Some(1));
        assert_eq!(hit(23), Some(2));
        assert_eq!(hit(8), Some(0));
        assert_eq!(hit(7), None);
        assert_eq!(t.search(1, &[10, 1, 2, 3], 32), None);
        t.insert(entry(1, 0, &[0, 0, 0, 0], 0));
        assert!(t.is_full());
        assert_eq!(t.insert(entry(1, 1, &[0, 0, 0, 0], 1)), None);
    }
}
