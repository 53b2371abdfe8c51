//! The register map of the device: the one place that says what each 32-bit
//! register at `REG_BASE + offset` is.
//!
//! Offsets 0x00..0xfc are the existing eBPFlow bitstream's layout, bit for
//! bit, so the existing host tools and our loader program the same hardware.
//! Where the bitstream's layout leaves the order of a group open, the
//! choice is written here: per-engine pairs interleave by engine
//! (`ENG0_HIR0, ENG0_LOR0, ENG1_HIR0, ...`, `ENG0_CTRLFSM, ENG0_FWFSM, ...`),
//! packet counters are grouped (`RXPKT0..3`, then `TXPKT0..3`).
//!
//! Offsets from 0x100 are nfbpf's extension: identification of the build
//! (engine count, ABI mode), the cycle counter, per-engine counters and fault
//! registers, wide map entries (keys and values up to
//! [`crate::contract::MAX_KEY_BYTES`]-style widths through 32-bit windows),
//! and the instruction budget per packet that travels with a program
//! (`BUDGET`, per instruction bank like the program itself).
//!
//! `docs/registers.md` is generated from [`REGISTERS`] (`nfbpf regs --markdown`)
//! and a test fails when the two differ.

use std::fmt::Write as _;

/// Base address of the packet-processing module on the SUME board (the
/// reference switch's `output_port_lookup` slot).
pub const REG_BASE: u32 = 0x4402_0000;

/// Value of the ID register: "eBPF" in ASCII.
pub const DEVICE_ID: u32 = 0x6542_5046;
/// Value of the VERSION register of this implementation (major << 16 | minor).
pub const DEVICE_VERSION: u32 = 0x0002_0000;

/// How the host may use a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only (status, counters).
    Ro,
    /// Read and write (configuration).
    Rw,
    /// Write only: writing starts an action; reads return 0.
    Wo,
}

impl Access {
    pub const fn name(self) -> &'static str {
        match self {
            Access::Ro => "RO",
            Access::Rw => "RW",
            Access::Wo => "WO",
        }
    }
}

/// One register (or one element of a register array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegDef {
    pub name: &'static str,
    pub offset: u32,
    pub access: Access,
    pub doc: &'static str,
    /// Number of consecutive 32-bit elements (1 for a plain register).
    pub count: u32,
}

const fn r(name: &'static str, offset: u32, access: Access, doc: &'static str) -> RegDef {
    RegDef {
        name,
        offset,
        access,
        doc,
        count: 1,
    }
}

const fn arr(
    name: &'static str,
    offset: u32,
    count: u32,
    access: Access,
    doc: &'static str,
) -> RegDef {
    RegDef {
        name,
        offset,
        access,
        doc,
        count,
    }
}

use Access::*;

// Offsets of the existing bitstream.
pub const ID: u32 = 0x00;
pub const VERSION: u32 = 0x04;
pub const FLIP: u32 = 0x08;
pub const ROUTERMODE: u32 = 0x0c;
pub const NUMINST: u32 = 0x10;
pub const HIINST: u32 = 0x14;
pub const LOINST: u32 = 0x18;
pub const WRINST: u32 = 0x1c;
pub const CURRINSTMEM: u32 = 0x20;
pub const ENG_R0: u32 = 0x24;
pub const NUMMAP: u32 = 0x44;
pub const TYPEMAP: u32 = 0x48;
pub const HIKEYMASKMAP: u32 = 0x4c;
pub const LOKEYMASKMAP: u32 = 0x50;
pub const HIVALUEMASKMAP: u32 = 0x54;
pub const LOVALUEMASKMAP: u32 = 0x58;
pub const MAXELEMSMAP: u32 = 0x5c;
pub const SELECTMEMORY: u32 = 0x60;
pub const OPERATION: u32 = 0x64;
pub const HIKEY: u32 = 0x68;
pub const LOKEY: u32 = 0x6c;
pub const HIMASK: u32 = 0x70;
pub const LOMASK: u32 = 0x74;
pub const HIDIN: u32 = 0x78;
pub const LODIN: u32 = 0x7c;
pub const CLEAN: u32 = 0x80;
pub const ACK: u32 = 0x84;
pub const ERROR: u32 = 0x88;
pub const CAMFULL: u32 = 0x8c;
pub const TCAMFULL: u32 = 0x90;
pub const CAMBUSY: u32 = 0x94;
pub const TCAMBUSY: u32 = 0x98;
pub const CLEANACK: u32 = 0x9c;
pub const CLEANDEBUG: u32 = 0xa0;
pub const ENG_FSM: u32 = 0xa4;
pub const TUSERREADY: u32 = 0xc4;
pub const COPROCARBFSMSTATE: u32 = 0xd4;
pub const OUTARBFSMSTATE: u32 = 0xd8;
pub const RXPKT: u32 = 0xdc;
pub const TXPKT: u32 = 0xec;
pub const DEBUG: u32 = 0xfc;

// nfbpf extension.
pub const NUMENGINES: u32 = 0x100;
pub const ABIMODE: u32 = 0x104;
pub const IMEMSLOTS: u32 = 0x108;
pub const CYCLELO: u32 = 0x10c;
pub const CYCLEHI: u32 = 0x110;
pub const ENGSELECT: u32 = 0x114;
pub const ENGPKTIN: u32 = 0x118;
pub const ENGPKTOUT: u32 = 0x11c;
pub const ENGDROP: u32 = 0x120;
pub const ENGFAULTS: u32 = 0x124;
pub const ENGBUSY: u32 = 0x128;
pub const ENGSTALL: u32 = 0x12c;
pub const ENGFAULTPC: u32 = 0x130;
pub const ENGFAULTADDR: u32 = 0x134;
pub const ENGFAULTCAUSE: u32 = 0x138;
pub const MAPSELECT: u32 = 0x13c;
pub const KEYSIZEMAP: u32 = 0x140;
pub const VALUESIZEMAP: u32 = 0x144;
pub const WIDEOP: u32 = 0x148;
pub const WIDESTATUS: u32 = 0x14c;
pub const ENGMAPWAIT: u32 = 0x16c;
pub const MAPLOAD: u32 = 0x170;
pub const BUDGET: u32 = 0x174;
pub const PORTSELECT: u32 = 0x15c;
pub const PORTRX: u32 = 0x160;
pub const PORTRXDROP: u32 = 0x164;
pub const PORTTX: u32 = 0x168;
pub const RDINSTADDR: u32 = 0x150;
pub const RDINSTHI: u32 = 0x154;
pub const RDINSTLO: u32 = 0x158;
pub const WIDEKEY: u32 = 0x180;
pub const WIDEVALUE: u32 = 0x1c0;
pub const MAPROWTYPE: u32 = 0x200;
pub const MAPROWKEYSIZE: u32 = 0x204;
pub const MAPROWVALUESIZE: u32 = 0x208;
pub const MAPROWMAXELEMS: u32 = 0x20c;
pub const TRACECOUNT: u32 = 0x210;
pub const TRACEDROP: u32 = 0x214;
pub const TRACEIDX: u32 = 0x218;
pub const TRACEPOP: u32 = 0x21c;
pub const TRACEWORD: u32 = 0x220;
pub const TRACEHDR: u32 = 0x228;
pub const WIDEVOFF: u32 = 0x258;
/// Words in each wide key/value window (64 bytes).
pub const WIDE_WORDS: u32 = 16;

/// Every register, in offset order.
pub const REGISTERS: &[RegDef] = &[
    r(
        "ID",
        ID,
        Ro,
        "Device identification: 0x65425046 (\"eBPF\").",
    ),
    r(
        "VERSION",
        VERSION,
        Ro,
        "Implementation version, major << 16 | minor.",
    ),
    r(
        "FLIP",
        FLIP,
        Wo,
        "Write 1: make the written program the active bank; each engine takes it at its next packet boundary. Refused (SLVERR) while an engine still runs a packet on the idle bank, and after a LOINST written while one did, until the program is written again from WRINST 0.",
    ),
    r(
        "ROUTERMODE",
        ROUTERMODE,
        Rw,
        "Bit 0: bypass the engines (reference-switch forwarding).",
    ),
    r(
        "NUMINST",
        NUMINST,
        Rw,
        "Number of 64-bit instruction slots being written to the idle bank.",
    ),
    r(
        "HIINST",
        HIINST,
        Wo,
        "High 32 bits of the next instruction slot.",
    ),
    r(
        "LOINST",
        LOINST,
        Wo,
        "Low 32 bits of the next instruction slot; the write stores HIINST:LOINST, writes it through to the idle bank and advances the write pointer. Written while an engine still runs a packet on the idle bank, the bank misses it: the following FLIP is refused until WRINST 0 starts the program again.",
    ),
    r(
        "WRINST",
        WRINST,
        Wo,
        "Write the slot index the next HIINST/LOINST pair goes to (0 starts a program).",
    ),
    r(
        "CURRINSTMEM",
        CURRINSTMEM,
        Ro,
        "Active instruction bank (0 or 1).",
    ),
    arr(
        "ENGn_HIR0/LOR0",
        ENG_R0,
        8,
        Ro,
        "R0 of each engine's last verdict: ENG0_HIR0, ENG0_LOR0, ENG1_HIR0, ... ENG3_LOR0.",
    ),
    r(
        "NUMMAP",
        NUMMAP,
        Rw,
        "Number of maps in the map table (write starts a table load; then per map TYPEMAP..MAXELEMSMAP).",
    ),
    r(
        "TYPEMAP",
        TYPEMAP,
        Rw,
        "Map type (Linux numbering: HASH 1, ARRAY 2, LPM_TRIE 11, DEVMAP 14) of the map being configured; any other type (the software engines' PERCPU_* and LRU_* among them) leaves the row empty.",
    ),
    r(
        "HIKEYMASKMAP",
        HIKEYMASKMAP,
        Rw,
        "Key mask of the map, high 32 bits.",
    ),
    r(
        "LOKEYMASKMAP",
        LOKEYMASKMAP,
        Rw,
        "Key mask of the map, low 32 bits.",
    ),
    r(
        "HIVALUEMASKMAP",
        HIVALUEMASKMAP,
        Rw,
        "Value mask of the map, high 32 bits.",
    ),
    r(
        "LOVALUEMASKMAP",
        LOVALUEMASKMAP,
        Rw,
        "Value mask of the map, low 32 bits.",
    ),
    r(
        "MAXELEMSMAP",
        MAXELEMSMAP,
        Rw,
        "Maximum entries of the map; writing it commits the map's table row.",
    ),
    r(
        "SELECTMEMORY",
        SELECTMEMORY,
        Rw,
        "Target of the next entry operation: 1 TCAM, 2 CAM, 3 direct (ARRAY/DEVMAP).",
    ),
    r(
        "OPERATION",
        OPERATION,
        Wo,
        "Entry operation: 1 update, 2 delete, 3 lookup; writing starts it, ACK reports completion (`contract::HOST_OP_CLOCKS` clocks after the write when the coprocessor is free). Refused while an OPERATION or WIDEOP is under way.",
    ),
    r(
        "HIKEY",
        HIKEY,
        Rw,
        "Key, high 32 bits (keys up to 64 bits; wider keys use WIDEKEY).",
    ),
    r("LOKEY", LOKEY, Rw, "Key, low 32 bits."),
    r("HIMASK", HIMASK, Rw, "TCAM entry mask, high 32 bits."),
    r("LOMASK", LOMASK, Rw, "TCAM entry mask, low 32 bits."),
    r(
        "HIDIN",
        HIDIN,
        Rw,
        "Value, high 32 bits (lookup result on read).",
    ),
    r(
        "LODIN",
        LODIN,
        Rw,
        "Value, low 32 bits (lookup result on read).",
    ),
    r(
        "CLEAN",
        CLEAN,
        Wo,
        "Write 1: remove every map with its entries: the whole map table is emptied (MAPROWTYPE reads 0 for every row).",
    ),
    r("ACK", ACK, Ro, "1 when the last OPERATION completed."),
    r(
        "ERROR",
        ERROR,
        Ro,
        "Error of the last operation: 0 ok, else the negated Linux errno (ENOENT 2, EEXIST 17, E2BIG 7, EINVAL 22).",
    ),
    r("CAMFULL", CAMFULL, Ro, "1 when the CAM has no free entry."),
    r(
        "TCAMFULL",
        TCAMFULL,
        Ro,
        "1 when the TCAM has no free entry.",
    ),
    r(
        "CAMBUSY",
        CAMBUSY,
        Ro,
        "1 while a CAM operation is in flight.",
    ),
    r(
        "TCAMBUSY",
        TCAMBUSY,
        Ro,
        "1 while a TCAM operation is in flight.",
    ),
    r("CLEANACK", CLEANACK, Ro, "1 when CLEAN has finished."),
    r(
        "CLEANDEBUG",
        CLEANDEBUG,
        Ro,
        "Entries cleared by the last CLEAN.",
    ),
    arr(
        "ENGn_CTRLFSM/FWFSM",
        ENG_FSM,
        8,
        Ro,
        "Control and forwarding state of each engine: ENG0_CTRLFSM, ENG0_FWFSM, ENG1_CTRLFSM, ...",
    ),
    arr(
        "TUSERREADY",
        TUSERREADY,
        4,
        Ro,
        "Per engine: 1 when the engine's output metadata (tuser) is ready.",
    ),
    r(
        "COPROCARBFSMSTATE",
        COPROCARBFSMSTATE,
        Ro,
        "Map coprocessor arbiter: engine currently granted, or 0xf when idle.",
    ),
    r(
        "OUTARBFSMSTATE",
        OUTARBFSMSTATE,
        Ro,
        "Output arbiter: engine currently sending, or 0xf when idle.",
    ),
    arr(
        "RXPKT",
        RXPKT,
        4,
        Ro,
        "Packets received by engines 0..3 (low 32 bits of ENGPKTIN).",
    ),
    arr(
        "TXPKT",
        TXPKT,
        4,
        Ro,
        "Packets sent by engines 0..3 (low 32 bits of ENGPKTOUT).",
    ),
    r(
        "DEBUG",
        DEBUG,
        Rw,
        "Scratch register (reads back what was written).",
    ),
    r(
        "NUMENGINES",
        NUMENGINES,
        Ro,
        "Number of engines in this build (1..16).",
    ),
    r(
        "ABIMODE",
        ABIMODE,
        Rw,
        "Program ABI: 0 SUME (metadata header before the frame), 1 XDP (xdp_md context). \
         A write that changes it while a packet is in the data plane (queued, running or held \
         for the egress) is refused (SLVERR on the RTL). Both the model and the RTL run both \
         ABIs (the RTL: XDP helpers as `docs/rtl-dataplane.md` lists).",
    ),
    r("IMEMSLOTS", IMEMSLOTS, Ro, "Instruction slots per bank."),
    r(
        "CYCLELO",
        CYCLELO,
        Ro,
        "Device cycle counter, low 32 bits (reading it latches CYCLEHI).",
    ),
    r(
        "CYCLEHI",
        CYCLEHI,
        Ro,
        "Device cycle counter, high 32 bits, as latched by the last CYCLELO read.",
    ),
    r(
        "ENGSELECT",
        ENGSELECT,
        Rw,
        "Engine whose counters and fault registers ENGPKTIN..ENGFAULTCAUSE show.",
    ),
    r("ENGPKTIN", ENGPKTIN, Ro, "Selected engine: packets in."),
    r("ENGPKTOUT", ENGPKTOUT, Ro, "Selected engine: packets out."),
    r(
        "ENGDROP",
        ENGDROP,
        Ro,
        "Selected engine: packets dropped (DROP verdicts and FIFO_MD overflow).",
    ),
    r(
        "ENGFAULTS",
        ENGFAULTS,
        Ro,
        "Selected engine: packets aborted by a fault.",
    ),
    r(
        "ENGBUSY",
        ENGBUSY,
        Ro,
        "Selected engine: cycles busy (low 32 bits).",
    ),
    r(
        "ENGSTALL",
        ENGSTALL,
        Ro,
        "Selected engine: cycles stalled, any cause (low 32 bits).",
    ),
    r(
        "ENGFAULTPC",
        ENGFAULTPC,
        Ro,
        "Selected engine: pc of the last fault.",
    ),
    r(
        "ENGFAULTADDR",
        ENGFAULTADDR,
        Ro,
        "Selected engine: address of the last faulting access (0 if not a memory fault).",
    ),
    r(
        "ENGFAULTCAUSE",
        ENGFAULTCAUSE,
        Ro,
        "Selected engine: cause of the last fault: 0 none, 1 memory, 2 cycle budget, 3 unknown helper, 4 helper error, 5 call depth.",
    ),
    r(
        "MAPSELECT",
        MAPSELECT,
        Rw,
        "Map index the next entry operation and KEYSIZEMAP/VALUESIZEMAP address, and the map table row MAPROWTYPE..MAPROWMAXELEMS read back.",
    ),
    r(
        "KEYSIZEMAP",
        KEYSIZEMAP,
        Rw,
        "Key size in bytes of the selected map.",
    ),
    r(
        "VALUESIZEMAP",
        VALUESIZEMAP,
        Rw,
        "Value size in bytes of the selected map.",
    ),
    r(
        "WIDEOP",
        WIDEOP,
        Wo,
        "Wide entry operation on the selected map with WIDEKEY/WIDEVALUE: 1 update (flags in bits 9:8), 2 delete, 3 lookup, 4 the entry after the key in WIDEKEY in key order, keys compared as little-endian numbers (bit 8: the first; ENOENT after the last). The RTL answers E2BIG for a map whose keys it does not hold (over 8 bytes; a HASH's over 16) or whose values are over 8 bytes outside the XDP value memory (there up to 64, an ARRAY's any at WIDEVOFF). Refused while an OPERATION or WIDEOP is under way.",
    ),
    r(
        "WIDESTATUS",
        WIDESTATUS,
        Ro,
        "Bit 0 done, bit 1 busy; bits 31:16 the errno of the last wide operation (0 ok; kept while busy). Poll until done: the operation is done `contract::HOST_OP_CLOCKS` (2) clocks after the WIDEOP write when the coprocessor is free, a next-entry scan `contract::scan_clocks` after it (it walks the map's storage: 67 clocks for HASH and LPM_TRIE, the indices walked + 3 for ARRAY and DEVMAP); the model the same with `Device::set_host_clocked` (off: at once). A NUMMAP, CLEAN or MAPLOAD write ends a scan with ENOENT.",
    ),
    r(
        "RDINSTADDR",
        RDINSTADDR,
        Rw,
        "Slot of the written program (idle bank) that RDINSTHI/RDINSTLO read back.",
    ),
    r(
        "RDINSTHI",
        RDINSTHI,
        Ro,
        "High 32 bits of slot RDINSTADDR as written (loader read-back).",
    ),
    r(
        "RDINSTLO",
        RDINSTLO,
        Ro,
        "Low 32 bits of slot RDINSTADDR as written (loader read-back).",
    ),
    r(
        "PORTSELECT",
        PORTSELECT,
        Rw,
        "Port whose counters PORTRX, PORTRXDROP and PORTTX show.",
    ),
    r("PORTRX", PORTRX, Ro, "Selected port: frames received."),
    r(
        "PORTRXDROP",
        PORTRXDROP,
        Ro,
        "Selected port: frames dropped at the demultiplexer (every engine's FIFO_MD of the port full).",
    ),
    r(
        "PORTTX",
        PORTTX,
        Ro,
        "Selected port: frames sent (a flood counts on every port it leaves).",
    ),
    r(
        "ENGMAPWAIT",
        ENGMAPWAIT,
        Ro,
        "Selected engine: clocks its map operations waited for the coprocessor's arbiter (low 32 bits).",
    ),
    r(
        "MAPLOAD",
        MAPLOAD,
        Wo,
        "Write base * 256 + count: load rows base..base+count-1 only (then per map TYPEMAP..MAXELEMSMAP, as after NUMMAP); those rows and their entries are emptied, every other row stays, so a host stages the next program's maps beside the running one's. Rows not written stay empty. ARRAY/DEVMAP rows written next take the larger free end of the direct store beside the rows that stay.",
    ),
    r(
        "BUDGET",
        BUDGET,
        Rw,
        "Instruction budget per packet of the program being written: FLIP puts it in the bank it makes active, with the program (0: the device's default, contract::DEVICE_INSN_BUDGET, one full-size frame time, unless the device was built with another); WRINST 0 sets it back to 0. A packet runs under the budget of the bank it started on; one that executes more instructions is aborted with fault cause 2 (ENGFAULTS). Reads: the active bank's budget as the engines apply it (the default for 0), at most 0xffffffff.",
    ),
    arr(
        "WIDEKEY",
        WIDEKEY,
        WIDE_WORDS,
        Rw,
        "Key bytes 0..63 of a wide operation, little-endian words.",
    ),
    arr(
        "WIDEVALUE",
        WIDEVALUE,
        WIDE_WORDS,
        Rw,
        "Value bytes 0..63 of a wide operation (lookup result on read).",
    ),
    r(
        "MAPROWTYPE",
        MAPROWTYPE,
        Ro,
        "Map table row MAPSELECT as the device holds it: its type (Linux numbering, as TYPEMAP), 0 for an empty row or an index past the table.",
    ),
    r(
        "MAPROWKEYSIZE",
        MAPROWKEYSIZE,
        Ro,
        "Map table row MAPSELECT: key size in bytes (0 for an empty row).",
    ),
    r(
        "MAPROWVALUESIZE",
        MAPROWVALUESIZE,
        Ro,
        "Map table row MAPSELECT: value size in bytes (0 for an empty row).",
    ),
    r(
        "MAPROWMAXELEMS",
        MAPROWMAXELEMS,
        Ro,
        "Map table row MAPSELECT: maximum entries (0 for an empty row).",
    ),
    r(
        "TRACECOUNT",
        TRACECOUNT,
        Ro,
        "Trace records (bpf_trace_printk, bpf_trace_vprintk) waiting in engine ENGSELECT's trace FIFO (at most contract::TRACE_FIFO_RECORDS), each from the clock after its call's answer.",
    ),
    r(
        "TRACEDROP",
        TRACEDROP,
        Ro,
        "Trace records of engine ENGSELECT dropped since reset: the call found no record or too few data words free (contract::trace_record_words, every argument counted as a %s) in its request's clock.",
    ),
    r(
        "TRACEIDX",
        TRACEIDX,
        Rw,
        "Index of the head record's data word TRACEWORD reads.",
    ),
    r(
        "TRACEPOP",
        TRACEPOP,
        Wo,
        "Write 1: take engine ENGSELECT's head trace record out of its FIFO (nothing when none waits).",
    ),
    arr(
        "TRACEWORD",
        TRACEWORD,
        2,
        Ro,
        "Data word TRACEIDX of engine ENGSELECT's head trace record, low then high half (0 past its words or with none waiting): the format's port words, trace_vprintk's array's, then 8 words at each %s (bytes past its region 0).",
    ),
    arr(
        "TRACEHDR",
        TRACEHDR,
        crate::units::trace::TRACE_HDR_WORDS,
        Ro,
        "Engine ENGSELECT's head trace record (0 with none waiting): 0/1 the call's clock (low, high), 2 the formatted length, 3 bits 13:0 the format's size, 19:16 the array's words, 27:24 the %s count, 31 trace_vprintk, 4 bit i: the i-th %s reached its region's end before a NUL (prints (efault)), 5 its data words, 6..11 trace_printk's r3, r4, r5 (low, high).",
    ),
    r(
        "WIDEVOFF",
        WIDEVOFF,
        Rw,
        "Byte offset of the WIDEVALUE window in the selected map's value, for an ARRAY map with values over 64 bytes (global data): a multiple of 64 below the value size; WIDEOP update writes the window's bytes there (the rest of the value kept), lookup and next key read them from there. Other maps take 0 only (a WIDEOP with another offset answers EINVAL).",
    ),
];

/// Why a register access failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// No register at this offset.
    #[error("no register at offset {0:#x}")]
    Unmapped(u32),
    /// The transport failed (socket, ioctl, ...).
    #[error("{0}")]
    Transport(String),
}

/// 32-bit register access to a device, at offsets from [`REG_BASE`]. The
/// model device, the RTL device, a simulated board on a socket and the real
/// board through the SUME driver all implement it; the loader programs every
/// one of them through this trait alone.
pub trait RegisterBus {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError>;
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError>;
    /// Send `frame` from the host into the data plane through the host's
    /// DMA queue of port `port` (0..3): on a SUME board the driver's
    /// interface of that port; on a simulated board the frame enters input
    /// `port` at once, as the SUME wrapper (`rtl/nfbpf_sume_opl.v`) hands
    /// DMA queue `port` to the engines of port `port`. A bus without host
    /// queues (the default) answers with an error.
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        let _ = frame;
        Err(BusError::Transport(format!(
            "this device has no host queue for port {port} (only a board's registers are reachable)"
        )))
    }
    /// The next frame the data plane handed back to the host for a frame
    /// the host sent with [`RegisterBus::host_send`] (`None`: none waiting).
    /// Only a simulated board's harness is the wire and knows which outputs
    /// answer the host (`sim::host`, and the socket protocol's `H` command
    /// onto it); a bus without a receive path (the default, a bare model, a
    /// SUME board) answers with an error saying why.
    fn host_recv(&mut self) -> Result<Option<HostFrame>, BusError> {
        Err(BusError::Transport(
            "this device hands no frames back to the host (only a simulated board's harness does: the agent's embedded model, `nfbpf device serve`)".into(),
        ))
    }
}

/// A frame handed back to the host ([`RegisterBus::host_recv`]): the output
/// of a frame the host sent, wherever it left the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFrame {
    /// The host queue (input port) the answered frame was sent on.
    pub port: usize,
    /// Where the data plane sent it: `Port(p)` (an XDP_TX out of the input
    /// port is `Port(port)`), every other port, or the host.
    pub dest: crate::device::Dest,
    pub frame: Vec<u8>,
}

impl<B: RegisterBus + ?Sized> RegisterBus for &mut B {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        (**self).read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        (**self).write32(offset, value)
    }
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        (**self).host_send(port, frame)
    }
    fn host_recv(&mut self) -> Result<Option<HostFrame>, BusError> {
        (**self).host_recv()
    }
}

impl<B: RegisterBus + ?Sized> RegisterBus for Box<B> {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        (**self).read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        (**self).write32(offset, value)
    }
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        (**self).host_send(port, frame)
    }
    fn host_recv(&mut self) -> Result<Option<HostFrame>, BusError> {
        (**self).host_recv()
    }
}

/// The register holding `offset`, and the element index within it.
pub fn lookup(offset: u32) -> Option<(&'static RegDef, u32)> {
    REGISTERS.iter().find_map(|r| {
        let d = offset.checked_sub(r.offset)?;
        (d % 4 == 0 && d / 4 < r.count).then_some((r, d / 4))
    })
}

/// `docs/registers.md`: the register map as a document.
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# Register map\n\n");
    s.push_str(
        "<!-- Generated by `nfbpf regs --markdown` from vm/src/regs.rs; a test checks it. -->\n\n",
    );
    let _ = writeln!(
        s,
        "32-bit registers at `{REG_BASE:#010x} + offset`, read and written through AXI4-Lite \
         (the SUME driver's `SIOCREGREAD`/`SIOCREGWRITE` on `nf0`, or `nfbpf device serve`'s socket). \
         Offsets below 0x100 are the existing eBPFlow bitstream's, bit for bit; from 0x100 \
         on, nfbpf's extension.\n"
    );
    s.push_str("| offset | name | access | meaning |\n|---|---|---|---|\n");
    for r in REGISTERS {
        let off = if r.count == 1 {
            format!("{:#05x}", r.offset)
        } else {
            format!("{:#05x}..{:#05x}", r.offset, r.offset + 4 * (r.count - 1))
        };
        let _ = writeln!(
            s,
            "| {off} | {} | {} | {} |",
            r.name,
            r.access.name(),
            r.doc
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_ordered_and_disjoint() {
        for w in REGISTERS.windows(2) {
            let end = w[0].offset + 4 * w[0].count;
            assert!(end <= w[1].offset, "{} overlaps {}", w[0].name, w[1].name);
        }
        for r in REGISTERS {
            assert_eq!(r.offset % 4, 0, "{} is not word aligned", r.name);
        }
    }

    #[test]
    fn existing_bitstream_offsets() {
        // The existing bitstream's layout (docs/registers.md), spot-checked.
        let at = |o| lookup(o).map(|(r, i)| (r.name, i));
        assert_eq!(at(0x1c), Some(("WRINST", 0)));
        assert_eq!(at(0x2c), Some(("ENGn_HIR0/LOR0", 2)));
        assert_eq!(at(0x60), Some(("SELECTMEMORY", 0)));
        assert_eq!(at(0x8c), Some(("CAMFULL", 0)));
        assert_eq!(at(0xd0), Some(("TUSERREADY", 3)));
        assert_eq!(at(0xf8), Some(("TXPKT", 3)));
        assert_eq!(at(0xfc), Some(("DEBUG", 0)));
        // Everything below 0x100 is the existing map: no gaps.
        let mut o = 0;
        while o < 0x100 {
            assert!(lookup(o).is_some(), "gap at {o:#x}");
            o += 4;
        }
    }

    #[test]
    fn docs_match_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/registers.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            doc == markdown(),
            "docs/registers.md is out of date: regenerate it with `nfbpf regs --markdown > docs/registers.md`"
        );
    }
}
