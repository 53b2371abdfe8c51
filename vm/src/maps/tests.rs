use super::*;
use crate::contract::{BPF_ANY, BPF_EXIST, BPF_NOEXIST, map_handle};
use proptest::prelude::*;
use std::collections::HashMap;

fn table(defs: &[MapDef]) -> MapTable {
    let mut t = MapTable::default();
    for (i, d) in defs.iter().enumerate() {
        t.configure(i, d.clone()).unwrap();
    }
    t
}

fn k4(k: u32) -> [u8; 4] {
    k.to_le_bytes()
}

fn lpm_key(plen: u32, data: &[u8]) -> Vec<u8> {
    let mut k = plen.to_le_bytes().to_vec();
    k.extend_from_slice(data);
    k
}

#[test]
fn definitions_are_checked() {
    let mut t = MapTable::default();
    let bad = [
        MapDef::new(MapType::Array, 8, 4, 4),
        MapDef::new(MapType::Hash, 0, 4, 4),
        MapDef::new(MapType::LpmTrie, 4, 4, 4),
        MapDef::new(MapType::Devmap, 4, 2, 4),
        MapDef::new(MapType::Hash, 4, 1 << 16, 32),
    ];
    for d in bad {
        assert!(t.configure(0, d.clone()).is_err(), "{d:?}");
    }
    assert_eq!(
        t.configure(MAX_MAPS, MapDef::new(MapType::Hash, 4, 4, 4)),
        Err(ConfigError::Index(MAX_MAPS))
    );
    assert_eq!(
        MapDef::from_masks(2, 0xffff_ffff, 0xff_ffff_ffff, 16).unwrap(),
        MapDef::new(MapType::Array, 4, 5, 16)
    );
    assert_eq!(MapDef::from_masks(99, 1, 1, 1), Err(ConfigError::Type(99)));
    let d = MapDef::new(MapType::Hash, 6, 8, 4);
    assert_eq!((d.key_mask(), d.value_mask()), (0xffff_ffff_ffff, u64::MAX));
}

#[test]
fn handles_and_latencies() {
    let t = table(&[
        MapDef::new(MapType::Hash, 4, 4, 4),
        MapDef::new(MapType::Array, 4, 4, 4),
        MapDef::new(MapType::LpmTrie, 8, 4, 4),
        MapDef::new(MapType::Devmap, 4, 4, 4),
    ]);
    let h = |i| map_handle(i);
    use crate::contract as c;
    assert_eq!(t.latency(h(0), MapOp::Lookup), c::CAM_READ_CYCLES);
    assert_eq!(t.latency(h(0), MapOp::Update), c::CAM_WRITE_CYCLES);
    assert_eq!(t.latency(h(0), MapOp::Delete), c::CAM_WRITE_CYCLES);
    assert_eq!(t.latency(h(2), MapOp::Lookup), c::TCAM_READ_CYCLES);
    assert_eq!(t.latency(h(2), MapOp::Update), c::TCAM_WRITE_CYCLES);
    assert_eq!(t.latency(h(1), MapOp::Lookup), 2);
    assert_eq!(t.latency(h(3), MapOp::Update), 2);
    assert_eq!(t.latency(h(9), MapOp::Lookup), 1);
    assert_eq!(t.lookup(h(9), &k4(0)).value, Err(MapError::NoMap(h(9))));
    assert_eq!(t.lookup(7, &k4(0)).value, Err(MapError::NoMap(7)));
    let r = t.lookup(h(0), &k4(0));
    assert_eq!((r.value, r.cycles), (Ok(None), c::CAM_READ_CYCLES));
    assert!(matches!(
        t.lookup(h(0), &[0; 3]).value,
        Err(MapError::Size { .. })
    ));
}

#[test]
fn hash_flags_and_errors() {
    let mut t = table(&[MapDef::new(MapType::Hash, 4, 8, 2)]);
    let h = map_handle(0);
    let v = |x: u64| x.to_le_bytes();
    assert_eq!(t.update(h, &k4(1), &v(1), 4).value, Err(MapError::Inval));
    assert_eq!(
        t.update(h, &k4(1), &v(1), BPF_EXIST).value,
        Err(MapError::NoEnt)
    );
    let s = t.update(h, &k4(1), &v(1), BPF_NOEXIST);
    assert_eq!(s.cycles, crate::contract::CAM_WRITE_CYCLES);
    let s = s.value.unwrap();
    assert_eq!(s, Slot { index: 0, addr: h });
    assert_eq!(
        t.update(h, &k4(1), &v(2), BPF_NOEXIST).value,
        Err(MapError::Exist)
    );
    assert_eq!(t.update(h, &k4(1), &v(3), BPF_EXIST).value, Ok(s));
    assert_eq!(t.lookup_value(h, &k4(1)).unwrap(), Some(v(3).to_vec()));
    let s2 = t.update(h, &k4(2), &v(4), BPF_ANY).value.unwrap();
    assert_eq!(s2.addr, h + 8);
    assert_eq!(
        t.update(h, &k4(3), &v(5), BPF_ANY).value,
        Err(MapError::TooBig)
    );
    // Replacing in a full map works.
    assert!(t.update(h, &k4(2), &v(6), BPF_ANY).value.is_ok());
    assert_eq!(t.delete(h, &k4(3)).value, Err(MapError::NoEnt));
    assert_eq!(t.delete(h, &k4(1)).value, Ok(()));
    assert_eq!(t.lookup(h, &k4(1)).value, Ok(None));
    // The freed slot is reused.
    assert_eq!(t.update(h, &k4(3), &v(7), BPF_ANY).value.unwrap().index, 0);
    assert_eq!(t.len(0), 2);
    assert_eq!(MapError::TooBig.r0(), Some(-7i64 as u64));
    assert_eq!(MapError::NoMap(0).r0(), None);
}

#[test]
fn hash_maps_share_the_cam() {
    let mut t = MapTable::new(MapConfig {
        cam_entries: 3,
        ..MapConfig::default()
    });
    t.configure(0, MapDef::new(MapType::Hash, 4, 4, 10))
        .unwrap();
    t.configure(5, MapDef::new(MapType::Hash, 4, 4, 10))
        .unwrap();
    let (a, b) = (map_handle(0), map_handle(5));
    t.update(a, &k4(1), &k4(10), 0).value.unwrap();
    t.update(b, &k4(1), &k4(20), 0).value.unwrap();
    t.update(a, &k4(2), &k4(11), 0).value.unwrap();
    assert!(t.cam().is_full());
    assert_eq!(t.update(b, &k4(2), &k4(21), 0).value, Err(MapError::TooBig));
    assert_eq!(t.lookup_value(a, &k4(1)).unwrap(), Some(k4(10).to_vec()));
    assert_eq!(t.lookup_value(b, &k4(1)).unwrap(), Some(k4(20).to_vec()));
    // Reconfiguring map 0 frees its CAM entries.
    t.configure(0, MapDef::new(MapType::Hash, 4, 4, 10))
        .unwrap();
    assert_eq!(t.cam().len(), 1);
    assert!(t.update(b, &k4(2), &k4(21), 0).value.is_ok());
    assert_eq!(t.keys(5).len(), 2);
    t.clear();
    assert!(t.cam().is_empty());
    assert!(t.def(5).is_none());
}

#[test]
fn array_semantics() {
    let mut t = table(&[MapDef::new(MapType::Array, 4, 4, 4)]);
    let h = map_handle(0);
    let r = t.lookup(h, &k4(3));
    assert_eq!(r.cycles, 2);
    assert_eq!(r.value.unwrap().unwrap().addr, h + 12);
    assert_eq!(t.lookup(h, &k4(4)).value, Ok(None));
    assert_eq!(t.lookup_value(h, &k4(2)).unwrap(), Some(vec![0; 4]));
    assert_eq!(t.update(h, &k4(4), &k4(1), 0).value, Err(MapError::TooBig));
    assert_eq!(
        t.update(h, &k4(1), &k4(1), BPF_NOEXIST).value,
        Err(MapError::Exist)
    );
    assert_eq!(t.update(h, &k4(1), &k4(1), 3).value, Err(MapError::Inval));
    assert!(t.update(h, &k4(1), &k4(9), BPF_EXIST).value.is_ok());
    assert_eq!(t.lookup_value(h, &k4(1)).unwrap(), Some(k4(9).to_vec()));
    assert_eq!(t.delete(h, &k4(1)).value, Err(MapError::Inval));
    assert_eq!(t.len(0), 4);
}

#[test]
fn devmap_semantics() {
    let mut t = table(&[MapDef::new(MapType::Devmap, 4, 4, 4)]);
    let h = map_handle(0);
    assert_eq!(t.lookup(h, &k4(0)).value, Ok(None));
    assert_eq!(
        t.update(h, &k4(0), &k4(3), BPF_NOEXIST).value,
        Err(MapError::Exist)
    );
    assert_eq!(t.update(h, &k4(4), &k4(3), 0).value, Err(MapError::TooBig));
    assert_eq!(t.update(h, &k4(0), &k4(3), 9).value, Err(MapError::Inval));
    t.update(h, &k4(2), &k4(3), 0).value.unwrap();
    assert_eq!(t.lookup_value(h, &k4(2)).unwrap(), Some(k4(3).to_vec()));
    assert_eq!(t.len(0), 1);
    // ifindex 0 empties the slot.
    t.update(h, &k4(2), &k4(0), 0).value.unwrap();
    assert_eq!(t.lookup(h, &k4(2)).value, Ok(None));
    t.update(h, &k4(1), &k4(7), 0).value.unwrap();
    assert_eq!(t.delete(h, &k4(9)).value, Err(MapError::Inval));
    assert_eq!(t.delete(h, &k4(1)).value, Ok(()));
    assert_eq!(t.delete(h, &k4(1)).value, Ok(()));
    assert_eq!(t.len(0), 0);
}

#[test]
fn lpm_semantics() {
    let mut t = table(&[MapDef::new(MapType::LpmTrie, 8, 4, 8)]);
    let h = map_handle(0);
    let ip = [192, 168, 1, 77];
    for (plen, data, v) in [
        (8u32, [192, 0, 0, 0], 1u32),
        (16, [192, 168, 0, 0], 2),
        (24, [192, 168, 1, 0], 3),
        (0, [0, 0, 0, 0], 4),
    ] {
        let r = t.update(h, &lpm_key(plen, &data), &k4(v), BPF_NOEXIST);
        assert_eq!(r.cycles, crate::contract::TCAM_WRITE_CYCLES);
        r.value.unwrap();
    }
    let get = |t: &MapTable, plen, d: &[u8]| {
        t.lookup_value(h, &lpm_key(plen, d))
            .unwrap()
            .map(|v| u32::from_le_bytes(v.try_into().unwrap()))
    };
    assert_eq!(get(&t, 32, &ip), Some(3));
    assert_eq!(get(&t, 20, &ip), Some(2));
    assert_eq!(get(&t, 8, &ip), Some(1));
    assert_eq!(get(&t, 7, &ip), Some(4));
    assert_eq!(get(&t, 32, &[10, 0, 0, 1]), Some(4));
    assert_eq!(get(&t, 33, &ip), None);
    // Bits beyond the prefix do not matter for update and delete.
    assert_eq!(
        t.update(h, &lpm_key(8, &[192, 1, 2, 3]), &k4(5), BPF_NOEXIST)
            .value,
        Err(MapError::Exist)
    );
    t.update(h, &lpm_key(8, &[192, 9, 9, 9]), &k4(5), BPF_EXIST)
        .value
        .unwrap();
    assert_eq!(get(&t, 8, &ip), Some(5));
    assert_eq!(
        t.update(h, &lpm_key(33, &ip), &k4(5), 0).value,
        Err(MapError::Inval)
    );
    assert_eq!(
        t.update(h, &lpm_key(12, &ip), &k4(5), BPF_EXIST).value,
        Err(MapError::NoEnt)
    );
    assert_eq!(t.delete(h, &lpm_key(33, &ip)).value, Err(MapError::Inval));
    assert_eq!(t.delete(h, &lpm_key(12, &ip)).value, Err(MapError::NoEnt));
    assert_eq!(t.delete(h, &lpm_key(24, &[192, 168, 1, 99])).value, Ok(()));
    assert_eq!(get(&t, 32, &ip), Some(2));
    let keys = t.keys(0);
    assert_eq!(keys[0].0, lpm_key(16, &[192, 168, 0, 0]));
}

#[test]
fn lpm_full_is_enospc() {
    let mut t = MapTable::new(MapConfig {
        tcam_entries: 2,
        ..MapConfig::default()
    });
    t.configure(0, MapDef::new(MapType::LpmTrie, 5, 1, 8))
        .unwrap();
    let h = map_handle(0);
    t.update(h, &lpm_key(8, &[1]), &[1], 0).value.unwrap();
    t.update(h, &lpm_key(8, &[2]), &[2], 0).value.unwrap();
    assert_eq!(
        t.update(h, &lpm_key(8, &[3]), &[3], 0).value,
        Err(MapError::NoSpc)
    );
    assert_eq!(MapError::NoSpc.r0(), Some(-28i64 as u64));
    // Replacing an existing prefix still works when full.
    t.update(h, &lpm_key(8, &[2]), &[9], 0).value.unwrap();
}

#[test]
fn lend_and_reclaim_move_values() {
    let mut t = table(&[
        MapDef::new(MapType::Array, 4, 8, 4).named("counters"),
        MapDef::new(MapType::Hash, 4, 4, 4),
    ]);
    let (a, h) = (map_handle(0), map_handle(1));
    t.update(a, &k4(1), &7u64.to_le_bytes(), 0).value.unwrap();
    let mut mem = Memory::new();
    t.lend(&mut mem).unwrap();
    assert!(!t.is_home());
    assert_eq!(mem.region("map0:counters").unwrap().base, a);
    assert_eq!(mem.load(a + 8, crate::isa::Width::DW).unwrap(), 7);
    mem.store(a + 8, crate::isa::Width::DW, 8).unwrap();
    assert_eq!(t.value(a, 1), Err(MapError::Lent(0)));
    assert_eq!(t.value_in(a, 1, &mem).unwrap(), 8u64.to_le_bytes());
    assert_eq!(t.update(h, &k4(1), &k4(1), 0).value, Err(MapError::Lent(1)));
    assert_eq!(t.len(1), 0, "a refused update changes nothing");
    t.update_in(h, &k4(1), &k4(5), 0, &mut mem).value.unwrap();
    assert_eq!(mem.load(h, crate::isa::Width::W).unwrap(), 5);
    t.reclaim(&mut mem);
    assert!(t.is_home());
    assert!(mem.load(a + 8, crate::isa::Width::DW).is_err());
    assert_eq!(
        t.lookup_value(a, &k4(1)).unwrap(),
        Some(8u64.to_le_bytes().to_vec())
    );
    assert_eq!(t.lookup_value(h, &k4(1)).unwrap(), Some(k4(5).to_vec()));
    // Lending again reuses the regions.
    t.lend(&mut mem).unwrap();
    assert_eq!(mem.load(a + 8, crate::isa::Width::DW).unwrap(), 8);
    assert_eq!(mem.regions().len(), 2);
    t.reclaim(&mut mem);
}

// ---- LPM vs a naive binary trie ----

/// Reference: a plain binary trie over the data bits.
#[derive(Default)]
struct Trie {
    nodes: Vec<([Option<usize>; 2], Option<u8>)>,
    count: usize,
}

impl Trie {
    fn bit(d: &[u8], i: u32) -> usize {
        ((d[(i / 8) as usize] >> (7 - i % 8)) & 1) as usize
    }
    fn node(&mut self, plen: u32, d: &[u8]) -> usize {
        if self.nodes.is_empty() {
            self.nodes.push(([None, None], None));
        }
        let mut n = 0;
        for i in 0..plen {
            let b = Self::bit(d, i);
            n = match self.nodes[n].0[b] {
                Some(c) => c,
                None => {
                    self.nodes.push(([None, None], None));
                    let c = self.nodes.len() - 1;
                    self.nodes[n].0[b] = Some(c);
                    c
                }
            };
        }
        n
    }
    fn update(
        &mut self,
        plen: u32,
        d: &[u8],
        v: u8,
        flags: u64,
        max: usize,
    ) -> Result<(), MapError> {
        if flags > 2 || plen as usize > d.len() * 8 {
            return Err(MapError::Inval);
        }
        let n = self.node(plen, d);
        match (self.nodes[n].1, flags) {
            (Some(_), 1) => return Err(MapError::Exist),
            (None, 2) => return Err(MapError::NoEnt),
            (None, _) if self.count >= max => return Err(MapError::NoSpc),
            (None, _) => self.count += 1,
            _ => {}
        }
        self.nodes[n].1 = Some(v);
        Ok(())
    }
    fn delete(&mut self, plen: u32, d: &[u8]) -> Result<(), MapError> {
        if plen as usize > d.len() * 8 {
            return Err(MapError::Inval);
        }
        let n = self.node(plen, d);
        match self.nodes[n].1.take() {
            Some(_) => {
                self.count -= 1;
                Ok(())
            }
            None => Err(MapError::NoEnt),
        }
    }
    fn lookup(&self, plen: u32, d: &[u8]) -> Option<u8> {
        if plen as usize > d.len() * 8 || self.nodes.is_empty() {
            return None;
        }
        let mut n = 0;
        let mut best = self.nodes[0].1;
        for i in 0..plen {
            match self.nodes[n].0[Self::bit(d, i)] {
                Some(c) => n = c,
                None => break,
            }
            if self.nodes[n].1.is_some() {
                best = self.nodes[n].1;
            }
        }
        best
    }
}

#[derive(Debug, Clone)]
enum LpmOp {
    Update(u32, [u8; 2], u8, u64),
    Delete(u32, [u8; 2]),
    Lookup(u32, [u8; 2]),
}

fn lpm_op() -> impl Strategy<Value = LpmOp> {
    // Few distinct data values so prefixes overlap often.
    let data = (
        prop::sample::select(vec![0u8, 0x80, 0xc0, 0xff, 0x12]),
        any::<u8>(),
    )
        .prop_map(|(a, b)| [a, b & 0xf0]);
    prop_oneof![
        (0u32..=18, data.clone(), any::<u8>(), 0u64..4)
            .prop_map(|(p, d, v, f)| LpmOp::Update(p, d, v, f)),
        (0u32..=18, data.clone()).prop_map(|(p, d)| LpmOp::Delete(p, d)),
        (0u32..=18, data).prop_map(|(p, d)| LpmOp::Lookup(p, d)),
    ]
}

proptest! {
    #[test]
    fn lpm_matches_a_trie(max in 1u32..10, tcam in 1usize..12, ops in prop::collection::vec(lpm_op(), 1..80)) {
        let mut t = MapTable::new(MapConfig { tcam_entries: tcam, ..MapConfig::default() });
        t.configure(3, MapDef::new(MapType::LpmTrie, 6, 1, max)).unwrap();
        let h = map_handle(3);
        let mut r = Trie::default();
        let cap = (max as usize).min(tcam);
        for op in ops {
            match op {
                LpmOp::Update(p, d, v, f) => {
                    let got = t.update(h, &lpm_key(p, &d), &[v], f).value.map(|_| ());
                    prop_assert_eq!(got, r.update(p, &d, v, f, cap), "{:?}", op);
                }
                LpmOp::Delete(p, d) => {
                    prop_assert_eq!(t.delete(h, &lpm_key(p, &d)).value, r.delete(p, &d));
                }
                LpmOp::Lookup(p, d) => {
                    let got = t.lookup_value(h, &lpm_key(p, &d)).unwrap().map(|v| v[0]);
                    prop_assert_eq!(got, r.lookup(p, &d), "{:?}", op);
                }
            }
            prop_assert_eq!(t.len(3), r.count);
        }
    }
}

// ---- HASH vs std HashMap ----

#[derive(Debug, Clone)]
enum HashOp {
    Update(usize, u16, u32, u64),
    Delete(usize, u16),
    Lookup(usize, u16),
}

fn hash_op() -> impl Strategy<Value = HashOp> {
    let m = 0usize..2;
    let k = 0u16..12;
    prop_oneof![
        (m.clone(), k.clone(), any::<u32>(), 0u64..4)
            .prop_map(|(m, k, v, f)| HashOp::Update(m, k, v, f)),
        (m.clone(), k.clone()).prop_map(|(m, k)| HashOp::Delete(m, k)),
        (m, k).prop_map(|(m, k)| HashOp::Lookup(m, k)),
    ]
}

proptest! {
    #[test]
    fn hash_matches_a_hashmap(
        max in prop::array::uniform2(1u32..8),
        cam in 1usize..12,
        ops in prop::collection::vec(hash_op(), 1..100),
    ) {
        let mut t = MapTable::new(MapConfig { cam_entries: cam, ..MapConfig::default() });
        for (m, &n) in max.iter().enumerate() {
            t.configure(m * 2, MapDef::new(MapType::Hash, 2, 4, n)).unwrap();
        }
        let mut model: [HashMap<u16, u32>; 2] = Default::default();
        for op in ops {
            match op {
                HashOp::Update(m, k, v, f) => {
                    let total = model[0].len() + model[1].len();
                    let present = model[m].contains_key(&k);
                    let want = if f > 2 {
                        Err(MapError::Inval)
                    } else if present && f == BPF_NOEXIST {
                        Err(MapError::Exist)
                    } else if !present && f == BPF_EXIST {
                        Err(MapError::NoEnt)
                    } else if !present && (model[m].len() >= max[m] as usize || total >= cam) {
                        Err(MapError::TooBig)
                    } else {
                        model[m].insert(k, v);
                        Ok(())
                    };
                    let got = t.update(map_handle(m * 2), &k.to_le_bytes(), &v.to_le_bytes(), f);
                    prop_assert_eq!(got.value.map(|_| ()), want);
                }
                HashOp::Delete(m, k) => {
                    let want = model[m].remove(&k).map(|_| ()).ok_or(MapError::NoEnt);
                    prop_assert_eq!(t.delete(map_handle(m * 2), &k.to_le_bytes()).value, want);
                }
                HashOp::Lookup(m, k) => {
                    let got = t.lookup_value(map_handle(m * 2), &k.to_le_bytes()).unwrap();
                    prop_assert_eq!(got, model[m].get(&k).map(|v| v.to_le_bytes().to_vec()));
                }
            }
            prop_assert_eq!(t.len(0) + t.len(2), t.cam().len());
            // Live slots are distinct and inside the map's area.
            for m in 0..2 {
                let mut slots: Vec<u32> = t.keys(m * 2).into_iter().map(|(_, s)| s).collect();
                slots.sort_unstable();
                slots.dedup();
                prop_assert_eq!(slots.len(), model[m].len());
                prop_assert!(slots.iter().all(|&s| s < max[m]));
            }
        }
    }
}

#[test]
fn by_value_operations_mask_keys_and_values() {
    let mut t = table(&[
        MapDef::new(MapType::Hash, 6, 2, 4),
        MapDef::new(MapType::Hash, 12, 2, 4),
    ]);
    let h = map_handle(0);
    let r = t.update_u64(h, 0xdead_0000_0000_0001, 0xbeef_0003, BPF_ANY);
    assert_eq!(
        (r.value, r.cycles),
        (Ok(()), crate::contract::CAM_WRITE_CYCLES)
    );
    assert_eq!(t.lookup_u64(h, 1).value, Ok(Some(3)));
    assert_eq!(t.lookup_u64(h, 0xffff_0000_0000_0001).value, Ok(Some(3)));
    assert_eq!(t.lookup_u64(h, 2).value, Ok(None));
    assert_eq!(t.keys(0)[0].0, vec![1, 0, 0, 0, 0, 0]);
    assert_eq!(t.delete_u64(h, 0x7700_0000_0000_0001).value, Ok(()));
    assert_eq!(t.delete_u64(h, 1).value, Err(MapError::NoEnt));
    assert!(matches!(
        t.lookup_u64(map_handle(1), 1).value,
        Err(MapError::Size { .. })
    ));
}

#[test]
fn direct_store_is_shared_and_refuses_what_does_not_fit() {
    let mut t = MapTable::new(MapConfig {
        direct_words: 100,
        ..MapConfig::default()
    });
    t.configure(0, MapDef::new(MapType::Array, 4, 8, 60))
        .unwrap();
    // HASH rows take no direct words.
    t.configure(1, MapDef::new(MapType::Hash, 4, 8, 500))
        .unwrap();
    let e = t
        .configure(2, MapDef::new(MapType::Devmap, 4, 4, 41))
        .unwrap_err();
    assert_eq!(
        e,
        ConfigError::DirectStore {
            kind: "DEVMAP",
            need: 41,
            free: 40,
            total: 100
        }
    );
    assert!(e.to_string().contains("40 words free"), "{e}");
    t.configure(2, MapDef::new(MapType::Devmap, 4, 4, 40))
        .unwrap();
    // A reload of row 2 frees its words: the window is above row 0's.
    t.reload(2..3);
    t.configure(2, MapDef::new(MapType::Array, 4, 4, 40))
        .unwrap();
    // Reloading row 0: the larger free end is below row 2's words (0..60),
    // not above them (100..100).
    t.reload(0..1);
    assert!(
        t.configure(0, MapDef::new(MapType::Array, 4, 4, 61))
            .is_err()
    );
    t.configure(0, MapDef::new(MapType::Array, 4, 4, 60))
        .unwrap();
    t.clear();
    t.configure(0, MapDef::new(MapType::Array, 4, 4, 100))
        .unwrap();
}

#[test]
fn next_entry_walks_keys_as_little_endian_numbers() {
    let mut t = MapTable::default();
    t.configure(0, MapDef::new(MapType::Hash, 4, 4, 8)).unwrap();
    let h = contract::map_handle(0);
    for k in [0x100u32, 1, 0x2_0000, 7] {
        t.update(h, &k.to_le_bytes(), &k.to_le_bytes(), 0)
            .value
            .unwrap();
    }
    let mut got = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while let Some((k, v)) = t.next_entry(0, after.as_deref()) {
        assert_eq!(k, v);
        got.push(u32::from_le_bytes(k.clone().try_into().unwrap()));
        after = Some(k);
    }
    assert_eq!(got, [1, 7, 0x100, 0x2_0000]);
    // From a key that is not there: the next one.
    assert_eq!(
        t.next_entry(0, Some(&8u32.to_le_bytes())).unwrap().0,
        0x100u32.to_le_bytes()
    );
    // ARRAY: every index in order; DEVMAP: the present ones.
    t.configure(1, MapDef::new(MapType::Array, 4, 4, 3))
        .unwrap();
    assert_eq!(
        t.next_entry(1, Some(&1u32.to_le_bytes())).unwrap().0,
        2u32.to_le_bytes()
    );
    assert!(t.next_entry(1, Some(&2u32.to_le_bytes())).is_none());
    t.configure(2, MapDef::new(MapType::Devmap, 4, 4, 8))
        .unwrap();
    let d = contract::map_handle(2);
    t.update(d, &5u32.to_le_bytes(), &3u32.to_le_bytes(), 0)
        .value
        .unwrap();
    assert_eq!(t.next_entry(2, None).unwrap().0, 5u32.to_le_bytes());
    assert!(t.next_entry(2, Some(&5u32.to_le_bytes())).is_none());
}

#[test]
fn lru_hash_evicts_the_entry_used_least_recently() {
    for kind in [MapType::LruHash, MapType::LruPercpuHash] {
        let mut t = table(&[MapDef::new(kind, 4, 4, 3)]);
        let h = map_handle(0);
        for k in 1..=3u32 {
            t.update(h, &k4(k), &k4(10 * k), BPF_ANY).value.unwrap();
        }
        // A program's lookup of 1 makes 2 the least recently used.
        assert!(t.lookup_used(h, &k4(1)).value.unwrap().is_some());
        // The host's lookup of 2 does not change the order.
        assert!(t.lookup(h, &k4(2)).value.unwrap().is_some());
        t.update(h, &k4(4), &k4(40), BPF_ANY).value.unwrap();
        assert_eq!(t.len(0), 3, "{kind}");
        assert_eq!(
            t.lookup_value(h, &k4(2)).unwrap(),
            None,
            "{kind}: 2 evicted"
        );
        for (k, v) in [(1, 10), (3, 30), (4, 40)] {
            assert_eq!(t.lookup_value(h, &k4(k)).unwrap(), Some(k4(v).to_vec()));
        }
        // An update of 3 uses it: 1 goes next.
        t.update(h, &k4(3), &k4(31), BPF_EXIST).value.unwrap();
        t.update(h, &k4(5), &k4(50), BPF_NOEXIST).value.unwrap();
        assert_eq!(
            t.lookup_value(h, &k4(1)).unwrap(),
            None,
            "{kind}: 1 evicted"
        );
        // BPF_EXIST on an absent key still fails, and evicts nothing.
        assert_eq!(
            t.update(h, &k4(9), &k4(90), BPF_EXIST).value,
            Err(MapError::NoEnt)
        );
        assert_eq!(t.len(0), 3);
        // Deleted slots are reused before anything is evicted.
        t.delete(h, &k4(4)).value.unwrap();
        t.update(h, &k4(6), &k4(60), BPF_ANY).value.unwrap();
        let mut keys: Vec<u32> = t.keys(0).iter().map(|(k, _)| u32_key(k)).collect();
        keys.sort();
        assert_eq!(keys, [3, 5, 6], "{kind}");
    }
    // A plain HASH refuses instead.
    let mut t = table(&[MapDef::new(MapType::Hash, 4, 4, 1)]);
    t.update(map_handle(0), &k4(1), &k4(1), BPF_ANY)
        .value
        .unwrap();
    assert_eq!(
        t.update(map_handle(0), &k4(2), &k4(2), BPF_ANY).value,
        Err(MapError::TooBig)
    );
}

#[test]
fn percpu_maps_are_one_cpus_copy() {
    let mut t = table(&[
        MapDef::new(MapType::PercpuArray, 4, 8, 4),
        MapDef::new(MapType::PercpuHash, 4, 8, 2),
    ]);
    // PERCPU_ARRAY: every index present and zeroed, no delete, as ARRAY.
    assert_eq!(t.len(0), 4);
    assert_eq!(
        t.lookup_value(map_handle(0), &k4(3)).unwrap(),
        Some(vec![0; 8])
    );
    assert_eq!(t.delete(map_handle(0), &k4(0)).value, Err(MapError::Inval));
    assert_eq!(
        t.update(map_handle(0), &k4(4), &[0; 8], BPF_ANY).value,
        Err(MapError::TooBig)
    );
    // PERCPU_HASH: a HASH (full map refused, no eviction).
    for k in 0..2 {
        t.update(map_handle(1), &k4(k), &[1; 8], BPF_ANY)
            .value
            .unwrap();
    }
    assert_eq!(
        t.update(map_handle(1), &k4(7), &[1; 8], BPF_ANY).value,
        Err(MapError::TooBig)
    );
    assert_eq!(
        t.latency(map_handle(1), MapOp::Lookup),
        contract::CAM_READ_CYCLES
    );
    assert_eq!(
        t.latency(map_handle(0), MapOp::Lookup),
        contract::ARRAY_READ_CYCLES
    );
}

#[test]
fn the_device_refuses_the_software_kinds_by_name() {
    for kind in MapType::ALL {
        assert_eq!(MapType::from_code(kind.code()), Some(kind));
        let key_mask = match kind {
            MapType::LpmTrie => u64::MAX,
            _ => 0xffff_ffff,
        };
        let r = MapDef::from_masks(kind.code(), key_mask, 0xffff_ffff, 4);
        match kind.not_on_device() {
            None => assert!(r.is_ok(), "{kind}: {r:?}"),
            Some(why) => {
                assert!(!kind.on_device());
                let e = r.unwrap_err().to_string();
                assert!(e.contains(kind.name()) && e.contains(why), "{e}");
            }
        }
    }
}
