//! A small reader for the `.BTF` section: enough to recover BTF-defined maps.
//!
//! Layout (kernel `Documentation/bpf/btf.rst`): a header (magic `0xeB9F`,
//! version 1, flags, `hdr_len`, then offset and length of the type and string
//! sections relative to the end of the header), a type section of variable
//! length records (`name_off`, `info` = vlen | kind << 24 | kind_flag << 31,
//! `size_or_type`, then kind-specific data), and a string section. Type ids
//! start at 1 (0 is void).
//!
//! A map in `.maps` is a variable in the DATASEC `.maps`: VAR -> STRUCT whose
//! members are `__uint(name, n)` = pointer to an array of n elements (the
//! value is the array's `nelems`) and `__type(name, T)` = pointer to T (the
//! size of T is the key or value size). Every offset and index is checked;
//! malformed BTF is an error naming the byte offset in `.BTF`.

use crate::error::LoadError;

const MAGIC: u16 = 0xeb9f;

pub const KIND_INT: u32 = 1;
pub const KIND_PTR: u32 = 2;
pub const KIND_ARRAY: u32 = 3;
pub const KIND_STRUCT: u32 = 4;
pub const KIND_UNION: u32 = 5;
pub const KIND_ENUM: u32 = 6;
pub const KIND_FWD: u32 = 7;
pub const KIND_TYPEDEF: u32 = 8;
pub const KIND_VOLATILE: u32 = 9;
pub const KIND_CONST: u32 = 10;
pub const KIND_RESTRICT: u32 = 11;
pub const KIND_FUNC: u32 = 12;
pub const KIND_FUNC_PROTO: u32 = 13;
pub const KIND_VAR: u32 = 14;
pub const KIND_DATASEC: u32 = 15;
pub const KIND_FLOAT: u32 = 16;
pub const KIND_DECL_TAG: u32 = 17;
pub const KIND_TYPE_TAG: u32 = 18;
pub const KIND_ENUM64: u32 = 19;

/// Longest typedef/const/pointer chain followed before giving up (cycles).
const MAX_CHAIN: usize = 32;

#[derive(Debug, Clone)]
pub struct Type {
    /// Byte offset of the record in `.BTF` (for messages).
    pub at: usize,
    pub name_off: u32,
    pub kind: u32,
    pub size_or_type: u32,
    pub extra: Extra,
}

#[derive(Debug, Clone)]
pub enum Extra {
    None,
    Array {
        elem: u32,
        nelems: u32,
    },
    /// STRUCT/UNION members: (name_off, type, offset in bits).
    Members(Vec<(u32, u32, u32)>),
    /// DATASEC entries: (type, offset, size).
    Vars(Vec<(u32, u32, u32)>),
}

/// Parsed BTF: types (index = id - 1) and the string section.
#[derive(Debug)]
pub struct Btf<'a> {
    types: Vec<Type>,
    strings: &'a [u8],
}

fn err(offset: usize, msg: impl Into<String>) -> LoadError {
    LoadError::Btf {
        offset,
        msg: msg.into(),
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// One field of a BTF map definition.
#[derive(Debug, Default, Clone)]
pub struct MapFields {
    pub map_type: Option<u32>,
    pub key_size: Option<u32>,
    pub value_size: Option<u32>,
    pub max_entries: Option<u32>,
    pub map_flags: Option<u32>,
    /// `__array(values, ...)` (PROG_ARRAY, ARRAY_OF_MAPS, HASH_OF_MAPS):
    /// byte offset of the member, where `.values = { ... }` initialisers
    /// lie (8 bytes each, relocated to a program or a map).
    pub values_at: Option<u32>,
    /// Map-in-map: the inner map's definition (the template every inner
    /// map must match), from `__array(values, struct { ... })`.
    pub inner: Option<Box<MapFields>>,
    /// Byte offset of the value's `struct bpf_spin_lock` member (a member
    /// of the value struct itself, as Linux requires), if it has one.
    pub spin_lock: Option<u32>,
}

/// A map variable of the `.maps` DATASEC.
#[derive(Debug, Clone)]
pub struct BtfMap {
    pub name: String,
    pub fields: MapFields,
    /// Offset of the VAR record, for messages.
    pub at: usize,
    /// Why the definition cannot be used (an attribute the device does not
    /// have, such as map-in-map `values`): (offset in `.BTF`, message).
    /// Reported only if the program references the map.
    pub problem: Option<(usize, String)>,
}

impl<'a> Btf<'a> {
    pub fn parse(b: &'a [u8]) -> Result<Self, LoadError> {
        let magic = b
            .get(0..2)
            .map(|m| u16::from_le_bytes([m[0], m[1]]))
            .ok_or_else(|| err(0, "truncated header"))?;
        if magic != MAGIC {
            return Err(err(
                0,
                format!("bad magic {magic:#06x}, expected 0xeb9f (little-endian BTF)"),
            ));
        }
        let version = b
            .get(2)
            .copied()
            .ok_or_else(|| err(2, "truncated header"))?;
        if version != 1 {
            return Err(err(2, format!("unsupported BTF version {version}")));
        }
        let field = |off: usize| u32_at(b, off).ok_or_else(|| err(off, "truncated header"));
        let hdr_len = field(4)? as usize;
        if hdr_len < 24 {
            return Err(err(
                4,
                format!("header length {hdr_len} is shorter than 24 bytes"),
            ));
        }
        let (type_off, type_len) = (field(8)? as usize, field(12)? as usize);
        let (str_off, str_len) = (field(16)? as usize, field(20)? as usize);
        let range = |off: usize, len: usize, what: &str| {
            hdr_len
                .checked_add(off)
                .and_then(|s| Some((s, s.checked_add(len)?)))
                .filter(|&(_, e)| e <= b.len())
                .ok_or_else(|| {
                    err(
                        4,
                        format!("{what} section ({len} bytes at {off:#x} after the header) is outside the {} bytes of .BTF", b.len()),
                    )
                })
        };
        let (ts, te) = range(type_off, type_len, "type")?;
        let (ss, se) = range(str_off, str_len, "string")?;
        let strings = &b[ss..se];
        let tb = &b[..te];

        let mut types = Vec::new();
        let mut p = ts;
        while p < te {
            let at = p;
            let rd = |o: usize| u32_at(tb, o).ok_or_else(|| err(o, "type record truncated"));
            let name_off = rd(p)?;
            let info = rd(p + 4)?;
            let size_or_type = rd(p + 8)?;
            p += 12;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => {
                    rd(p)?;
                    p += 4;
                    Extra::None
                }
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => Extra::None,
                KIND_ARRAY => {
                    let elem = rd(p)?;
                    let nelems = rd(p + 8)?;
                    p += 12;
                    Extra::Array { elem, nelems }
                }
                KIND_STRUCT | KIND_UNION => {
                    let mut m = Vec::with_capacity(vlen.min(1024));
                    for _ in 0..vlen {
                        m.push((rd(p)?, rd(p + 4)?, rd(p + 8)? & 0xff_ffff));
                        p += 12;
                    }
                    Extra::Members(m)
                }
                KIND_ENUM | KIND_FUNC_PROTO => {
                    let end = p + vlen * 8;
                    if end > te {
                        return Err(err(at, "type record truncated"));
                    }
                    p = end;
                    Extra::None
                }
                KIND_ENUM64 => {
                    let end = p + vlen * 12;
                    if end > te {
                        return Err(err(at, "type record truncated"));
                    }
                    p = end;
                    Extra::None
                }
                KIND_DATASEC => {
                    let mut v = Vec::with_capacity(vlen.min(1024));
                    for _ in 0..vlen {
                        v.push((rd(p)?, rd(p + 4)?, rd(p + 8)?));
                        p += 12;
                    }
                    Extra::Vars(v)
                }
                k => return Err(err(at, format!("unknown type kind {k}"))),
            };
            types.push(Type {
                at,
                name_off,
                kind,
                size_or_type,
                extra,
            });
        }
        Ok(Btf { types, strings })
    }

    fn ty(&self, id: u32, from: usize) -> Result<&Type, LoadError> {
        if id == 0 {
            return Err(err(from, "refers to void (type 0) where a type is needed"));
        }
        self.types.get(id as usize - 1).ok_or_else(|| {
            err(
                from,
                format!(
                    "refers to type {id}, but there are only {} types",
                    self.types.len()
                ),
            )
        })
    }

    pub fn name(&self, t: &Type) -> Result<String, LoadError> {
        let rest = self.strings.get(t.name_off as usize..).ok_or_else(|| {
            err(
                t.at,
                format!("name offset {} is outside the string section", t.name_off),
            )
        })?;
        let end = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or_else(|| err(t.at, "name is not NUL-terminated"))?;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    fn str_at(&self, off: u32, at: usize) -> Result<String, LoadError> {
        let rest = self.strings.get(off as usize..).ok_or_else(|| {
            err(
                at,
                format!("name offset {off} is outside the string section"),
            )
        })?;
        let end = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or_else(|| err(at, "name is not NUL-terminated"))?;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    /// Follow typedef/const/volatile/restrict/type-tag to the underlying type.
    fn strip(&self, mut id: u32, from: usize) -> Result<&Type, LoadError> {
        for _ in 0..MAX_CHAIN {
            let t = self.ty(id, from)?;
            match t.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = t.size_or_type;
                }
                _ => return Ok(t),
            }
        }
        Err(err(
            from,
            format!("type chain longer than {MAX_CHAIN} (a cycle?)"),
        ))
    }

    /// Size in bytes of type `id`.
    pub fn size_of(&self, id: u32, from: usize) -> Result<u64, LoadError> {
        self.size_rec(id, from, 0)
    }

    fn size_rec(&self, id: u32, from: usize, depth: usize) -> Result<u64, LoadError> {
        if depth > MAX_CHAIN {
            return Err(err(
                from,
                format!("type nesting deeper than {MAX_CHAIN} (a cycle?)"),
            ));
        }
        let t = self.strip(id, from)?;
        match (t.kind, &t.extra) {
            (KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT, _) => {
                Ok(u64::from(t.size_or_type))
            }
            (KIND_PTR, _) => Ok(8),
            (KIND_ARRAY, Extra::Array { elem, nelems }) => self
                .size_rec(*elem, t.at, depth + 1)?
                .checked_mul(u64::from(*nelems))
                .ok_or_else(|| err(t.at, "array size overflows")),
            (k, _) => Err(err(t.at, format!("type of kind {k} has no size"))),
        }
    }

    /// `__uint(name, n)`: member type is a pointer to an array of n elements.
    fn uint_member(&self, ty: u32, from: usize) -> Result<u32, LoadError> {
        let p = self.strip(ty, from)?;
        if p.kind != KIND_PTR {
            return Err(err(
                p.at,
                "map attribute is not a pointer (expected __uint(name, value))",
            ));
        }
        let a = self.strip(p.size_or_type, p.at)?;
        match a.extra {
            Extra::Array { nelems, .. } if a.kind == KIND_ARRAY => Ok(nelems),
            _ => Err(err(
                a.at,
                "map attribute does not point to an array (expected __uint(name, value))",
            )),
        }
    }

    /// `__type(name, T)`: member type is a pointer to T; returns sizeof(T).
    fn type_member(&self, ty: u32, from: usize) -> Result<u32, LoadError> {
        let p = self.strip(ty, from)?;
        if p.kind != KIND_PTR {
            return Err(err(
                p.at,
                "map key/value is not a pointer (expected __type(name, T))",
            ));
        }
        let size = self.size_of(p.size_or_type, p.at)?;
        u32::try_from(size)
            .map_err(|_| err(p.at, format!("map key/value of {size} bytes is too large")))
    }

    /// `__type(value, T)`: the byte offset of T's `struct bpf_spin_lock`
    /// member, if T is a struct with one.
    fn spin_lock_member(&self, ty: u32, from: usize) -> Result<Option<u32>, LoadError> {
        let p = self.strip(ty, from)?;
        let v = self.strip(p.size_or_type, p.at)?;
        let Extra::Members(members) = &v.extra else {
            return Ok(None);
        };
        if v.kind != KIND_STRUCT {
            return Ok(None);
        }
        for &(_, mty, bits) in members {
            let m = self.strip(mty, v.at)?;
            if m.kind == KIND_STRUCT && self.name(m)? == "bpf_spin_lock" {
                return Ok(Some(bits / 8));
            }
        }
        Ok(None)
    }

    /// The attributes of map definition `st` (a struct of `__uint`,
    /// `__type` and `__array` members); `outer`: `values` may give the
    /// slots' type (an inner definition has none).
    fn map_fields(&self, st: &Type, name: &str, outer: bool) -> Result<MapFields, LoadError> {
        let Extra::Members(members) = &st.extra else {
            return Err(err(
                st.at,
                format!("map {name}: definition is not a struct"),
            ));
        };
        let mut f = MapFields::default();
        for &(moff, mty, bits) in members {
            let mname = self.str_at(moff, st.at)?;
            match mname.as_str() {
                "type" => f.map_type = Some(self.uint_member(mty, st.at)?),
                "max_entries" => f.max_entries = Some(self.uint_member(mty, st.at)?),
                "map_flags" => f.map_flags = Some(self.uint_member(mty, st.at)?),
                "key_size" => f.key_size = Some(self.uint_member(mty, st.at)?),
                "value_size" => f.value_size = Some(self.uint_member(mty, st.at)?),
                "key" => f.key_size = Some(self.type_member(mty, st.at)?),
                "value" => {
                    f.value_size = Some(self.type_member(mty, st.at)?);
                    f.spin_lock = self.spin_lock_member(mty, st.at)?;
                }
                // Host-side attributes with no meaning on the device.
                "pinning" | "numa_node" | "map_extra" => {
                    self.uint_member(mty, st.at)?;
                }
                "values" if outer => {
                    // `__array(values, T)`: `T *values[]`, T a map
                    // definition (map-in-map) or a function (PROG_ARRAY).
                    let a = self.strip(mty, st.at)?;
                    let Extra::Array { elem, .. } = a.extra else {
                        return Err(err(
                            a.at,
                            format!(
                                "map {name}: `values` is not an array (expected __array(values, T))"
                            ),
                        ));
                    };
                    let p = self.strip(elem, a.at)?;
                    if p.kind != KIND_PTR {
                        return Err(err(
                            p.at,
                            format!("map {name}: `values` elements are not pointers"),
                        ));
                    }
                    let t = self.strip(p.size_or_type, p.at)?;
                    if t.kind == KIND_STRUCT {
                        f.inner = Some(Box::new(self.map_fields(
                            t,
                            &format!("{name} (inner map)"),
                            false,
                        )?));
                    }
                    f.values_at = Some(bits / 8);
                }
                other => {
                    return Err(err(
                        st.at,
                        format!("map {name}: unknown map attribute `{other}`"),
                    ));
                }
            }
        }
        Ok(f)
    }

    /// The maps of the DATASEC named `.maps` (empty if there is none).
    pub fn maps(&self) -> Result<Vec<BtfMap>, LoadError> {
        let mut out = Vec::new();
        for t in &self.types {
            let Extra::Vars(vars) = &t.extra else {
                continue;
            };
            if t.kind != KIND_DATASEC || self.name(t)? != ".maps" {
                continue;
            }
            for &(vid, _, _) in vars {
                let var = self.ty(vid, t.at)?;
                if var.kind != KIND_VAR {
                    return Err(err(var.at, "entry of DATASEC .maps is not a variable"));
                }
                let name = self.name(var)?;
                let st = self.strip(var.size_or_type, var.at)?;
                if st.kind != KIND_STRUCT || !matches!(st.extra, Extra::Members(_)) {
                    return Err(err(
                        st.at,
                        format!("map {name}: definition is not a struct"),
                    ));
                }
                let fields = || self.map_fields(st, &name, true);
                let (fields, problem) = match fields() {
                    Ok(f) => (f, None),
                    Err(LoadError::Btf { offset, msg }) => {
                        (MapFields::default(), Some((offset, msg)))
                    }
                    Err(e) => return Err(e),
                };
                out.push(BtfMap {
                    name,
                    fields,
                    at: var.at,
                    problem,
                });
            }
        }
        Ok(out)
    }
}
