//! Generated RTL sources: `rtl/ebpf_params.vh` (every constant the RTL shares
//! with the model, from `vm::contract` and the pipeline's Stall/Fwd enums)
//! and `rtl/ebpf_decode_rom.v` (the instruction decoder, one case arm per row
//! of the ISA table). The RTL restates no constant and no opcode fact; the
//! test `sim/tests/rtl_generated.rs` fails when a committed file differs from
//! what these functions produce (rerun it with `NFBPF_BLESS=1` to rewrite).

use nfbpf_vm::contract as c;
use nfbpf_vm::isa::{
    AluOp, AtomicOp, Cond, Kind, OpDef, Order, Sel, Src, Unit, Width, Writes, isa,
};
use nfbpf_vm::maps::{MapOp, MapType};
use nfbpf_vm::pipeline::{Ctl, Fwd, Stall};
use std::fmt::Write as _;

/// Instruction slots per instruction-memory bank (an RTL sizing choice: the
/// model's banks hold any validated program; the harness refuses longer ones).
pub const IMEM_SLOTS: usize = 4096;

/// Kind codes of the decoder's `kind_o` output.
pub const KINDS: &[&str] = &[
    "ALU",
    "NEG",
    "END",
    "LDDW",
    "LDX",
    "ST",
    "STX",
    "ATOMIC",
    "LDABS",
    "LDIND",
    "JMP",
    "JA",
    "JA32",
    "CALL",
    "CALLLOCAL",
    "CALLX",
    "EXIT",
];

/// Fault codes (the `FAULTCAUSE` register's encoding in `vm::regs`).
pub const FAULTS: &[(&str, u32)] = &[
    ("MEM", 1),
    ("BUDGET", 2),
    ("UNKNOWN_HELPER", 3),
    ("HELPER", 4),
    ("CALL_DEPTH", 5),
];

fn kind_code(k: &Kind) -> usize {
    let name = match k {
        Kind::Alu { .. } => "ALU",
        Kind::Neg { .. } => "NEG",
        Kind::End { .. } => "END",
        Kind::Lddw => "LDDW",
        Kind::Ldx { .. } => "LDX",
        Kind::St { .. } => "ST",
        Kind::Stx { .. } => "STX",
        Kind::Atomic { .. } => "ATOMIC",
        Kind::LdAbs { .. } => "LDABS",
        Kind::LdInd { .. } => "LDIND",
        Kind::Jmp { .. } => "JMP",
        Kind::Ja => "JA",
        Kind::Ja32 => "JA32",
        Kind::Call => "CALL",
        Kind::CallLocal => "CALLLOCAL",
        Kind::Callx => "CALLX",
        Kind::Exit => "EXIT",
    };
    KINDS.iter().position(|k| *k == name).unwrap_or(0)
}

/// Position of `x` in `all` (the code the RTL gives an enum value).
fn pos<T: PartialEq + std::fmt::Debug>(all: &[T], x: T) -> u8 {
    let i = all.iter().position(|a| *a == x);
    // Every value is in its type's ALL list; a test checks each list.
    i.unwrap_or_else(|| panic!("{x:?} is missing from its ALL list")) as u8
}

/// Upper-case name of a unit-like enum value (`LoadUse` -> `LOADUSE`).
fn upper<T: std::fmt::Debug>(x: T) -> String {
    let d = format!("{x:?}");
    d.split([' ', '{', '(']).next().unwrap_or("").to_uppercase()
}

/// The `ebpf_alu` controls an ALU-unit row drives: its op code (the opcode's
/// op field, bits 7:4, for every ALU, neg and byte-order row), whether it is
/// 64-bit, and for byte-order rows whether it converts to big endian or
/// swaps unconditionally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AluCtl {
    pub op: u8,
    pub wide: bool,
    pub end_be: bool,
    pub swap: bool,
}

/// The ALU controls of `r`, if it is an ALU, neg or byte-order row.
pub fn alu_ctl(r: &OpDef) -> Option<AluCtl> {
    let op = r.opcode >> 4;
    match r.kind {
        Kind::Alu { wide, .. } | Kind::Neg { wide } => Some(AluCtl {
            op,
            wide,
            ..AluCtl::default()
        }),
        Kind::End { order, .. } => Some(AluCtl {
            op,
            wide: true,
            end_be: order == Order::Be,
            swap: order == Order::Swap,
        }),
        _ => None,
    }
}

/// The `ALU_<name>` codes of `ebpf_alu`: one per op field value the ALU,
/// neg and byte-order rows use, named after the operation (the signed
/// divide and modulo and the sign-extending move share their unsigned or
/// plain row's code).
pub fn alu_codes() -> Vec<(String, u8)> {
    let mut v: Vec<(String, u8)> = Vec::new();
    for r in &isa().rows {
        let name = match r.kind {
            Kind::Alu {
                op: AluOp::Sdiv | AluOp::Smod | AluOp::Movsx(_),
                ..
            } => continue,
            Kind::Alu { op, .. } => upper(op),
            Kind::Neg { .. } => "NEG".to_string(),
            Kind::End { .. } => "END".to_string(),
            _ => continue,
        };
        let Some(c) = alu_ctl(r) else { continue };
        if !v.iter().any(|(n, _)| *n == name) {
            v.push((name, c.op));
        }
    }
    v.sort_by_key(|(_, c)| *c);
    v
}

/// Map kinds of the map coprocessor (`MAPK_<name>`, 2 bits): the device's
/// map types, by their storage (CAM, direct store, TCAM, direct store with
/// presence), in this order.
pub const MAP_KINDS: [MapType; 4] = [
    MapType::Hash,
    MapType::Array,
    MapType::LpmTrie,
    MapType::Devmap,
];

/// Coprocessor operations (`MOP_<name>`, 2 bits; 0 is no operation).
pub const MAP_OPS: [MapOp; 3] = [MapOp::Lookup, MapOp::Update, MapOp::Delete];

/// Register-write codes of the decoder's `wr_o` (`WR_<name>`).
pub const WRITES: [Writes; 4] = [Writes::None, Writes::Dst, Writes::Src, Writes::R0];

fn writes_code(w: Writes) -> u8 {
    pos(&WRITES, w)
}

fn width_code(w: Width) -> u8 {
    pos(&Width::ALL, w)
}

fn unit_code(u: Unit) -> u8 {
    pos(&Unit::ALL, u)
}

fn cond_code(c: Cond) -> u8 {
    pos(&Cond::ALL, c)
}

fn aop_code(op: AtomicOp) -> u8 {
    pos(&AtomicOp::ALL, op)
}

/// `rtl/ebpf_widths.vh`: the FIFO_MD widths as macros, for port lists (an
/// ANSI port list comes before a module's `include of ebpf_params.vh, so
/// its widths cannot use that file's localparams). Included at the top of a
/// file, guarded.
pub fn widths_vh() -> String {
    let mut s = String::from(
        "// GENERATED by nfbpf_sim::rtlgen::widths_vh() from vm::contract; do not edit.\n\
         // sim/tests/rtl_generated.rs fails when this file differs (NFBPF_BLESS=1\n\
         // rewrites it). Port widths of FIFO_MD and the packet window, as macros:\n\
         // ebpf_params.vh holds the same numbers as localparams for module bodies.\n\
         `ifndef EBPF_WIDTHS_VH\n`define EBPF_WIDTHS_VH\n",
    );
    let _ = writeln!(s, "// contract::FIFO_WORDS: valid bits, one per word");
    let _ = writeln!(s, "`define FIFO_NW {}", c::FIFO_WORDS);
    let _ = writeln!(s, "// contract::FIFO_WORD_INDEX_BITS: a word index");
    let _ = writeln!(s, "`define FIFO_IW {}", c::FIFO_WORD_INDEX_BITS);
    let _ = writeln!(
        s,
        "// contract::PKT_WINDOW_BITS: a byte offset in the window"
    );
    let _ = writeln!(s, "`define PKT_OW {}", c::PKT_WINDOW_BITS);
    s.push_str("`endif\n");
    s
}

/// `rtl/ebpf_params.vh`.
pub fn params_vh() -> String {
    let mut s = String::new();
    s.push_str(
        "// GENERATED by nfbpf_sim::rtlgen::params_vh() from vm::contract and the\n\
         // pipeline model's enums. Do not edit: sim/tests/rtl_generated.rs fails\n\
         // when this file differs (NFBPF_BLESS=1 rewrites it).\n\
         // Every module includes the whole header and uses a subset of it, so\n\
         // unused-parameter warnings are waived for these declarations only.\n\
         /* verilator lint_off UNUSEDPARAM */\n\n",
    );
    let mut p = |name: &str, bits: u32, v: u64, doc: &str| {
        let _ = writeln!(s, "// {doc}");
        if bits == 32 {
            let _ = writeln!(s, "localparam integer {name} = {v};");
        } else {
            let _ = writeln!(s, "localparam [{}:0] {name} = {bits}'d{v};", bits - 1);
        }
    };
    p("CTX_BASE", 64, c::CTX_BASE, "contract::CTX_BASE");
    p("PKT_BASE", 64, c::PKT_BASE, "contract::PKT_BASE");
    p("STACK_BASE", 64, c::STACK_BASE, "contract::STACK_BASE");
    p("MAP_BASE", 64, c::MAP_BASE, "contract::MAP_BASE");
    p("STACK_FRAME", 64, c::STACK_FRAME, "contract::STACK_FRAME");
    p("STACK_SIZE", 64, c::STACK_SIZE, "contract::STACK_SIZE");
    p("STACK_TOP", 64, c::STACK_TOP, "contract::STACK_TOP");
    p("MUL_CYCLES", 32, c::MUL_CYCLES, "contract::MUL_CYCLES");
    p(
        "DIV32_CYCLES",
        32,
        c::DIV32_CYCLES,
        "contract::DIV32_CYCLES",
    );
    p(
        "DIV64_CYCLES",
        32,
        c::DIV64_CYCLES,
        "contract::DIV64_CYCLES",
    );
    p(
        "ATOMIC_MEM_CYCLES",
        32,
        c::ATOMIC_MEM_CYCLES,
        "contract::ATOMIC_MEM_CYCLES",
    );
    // ebpf_imem gives IF an lddw's two slots in one clock and ebpf_fetch
    // takes them so: the RTL builds LDDW_FETCH_CYCLES = 1 only.
    const { assert!(c::LDDW_FETCH_CYCLES == 1) };
    p(
        "LDDW_FETCH_CYCLES",
        32,
        c::LDDW_FETCH_CYCLES,
        "contract::LDDW_FETCH_CYCLES",
    );
    p(
        "HELPER_DEFAULT_CYCLES",
        32,
        c::HELPER_DEFAULT_CYCLES,
        "contract::HELPER_DEFAULT_CYCLES",
    );
    let _ = writeln!(s, "// contract::MAX_FRAMES");
    let _ = writeln!(s, "localparam integer MAX_FRAMES = {};", c::MAX_FRAMES);
    let _ = writeln!(s, "// contract::FIFO_WORDS, FIFO_WORD_BYTES, PKT_WINDOW");
    let _ = writeln!(s, "localparam integer FIFO_WORDS = {};", c::FIFO_WORDS);
    let _ = writeln!(
        s,
        "localparam integer FIFO_WORD_BYTES = {};",
        c::FIFO_WORD_BYTES
    );
    let _ = writeln!(s, "localparam integer PKT_WINDOW = {};", c::PKT_WINDOW);
    let _ = writeln!(
        s,
        "// contract::FIFO_WORD_INDEX_BITS, PKT_WINDOW_BITS: a word index, a window byte offset"
    );
    let _ = writeln!(
        s,
        "localparam integer FIFO_AW = {};",
        c::FIFO_WORD_INDEX_BITS
    );
    let _ = writeln!(s, "localparam integer PKT_AW = {};", c::PKT_WINDOW_BITS);
    let _ = writeln!(s, "// RTL sizing: instruction slots per bank");
    let _ = writeln!(s, "localparam integer IMEM_SLOTS = {IMEM_SLOTS};");
    s.push_str("\n// pipeline::Stall, in the model's order (cycle record `stall`)\n");
    for st in Stall::ALL {
        let _ = writeln!(
            s,
            "localparam [3:0] STALL_{} = 4'd{};",
            format!("{st:?}").to_uppercase(),
            st.index()
        );
    }
    let _ = writeln!(
        s,
        "// causes, one bit each in ebpf_stall_enc (pipeline::StallCauses)\nlocalparam integer STALL_COUNT = {};",
        Stall::COUNT
    );
    s.push_str("\n// pipeline::Fwd (cycle record `fwd_a`, `fwd_b`)\n");
    for (f, v) in [
        (Fwd::None, 0),
        (Fwd::Reg, 1),
        (Fwd::ExMem, 2),
        (Fwd::MemWb, 3),
    ] {
        let _ = writeln!(
            s,
            "localparam [1:0] FWD_{} = 2'd{v};",
            format!("{f:?}").to_uppercase()
        );
    }
    s.push_str("\n// Fault causes (vm::regs FAULTCAUSE encoding)\n");
    for (n, v) in FAULTS {
        let _ = writeln!(s, "localparam [2:0] FAULT_{n} = 3'd{v};");
    }
    s.push_str("\n// isa::Unit, positions in Unit::ALL (ebpf_decode_rom unit_o)\n");
    for u in Unit::ALL {
        let _ = writeln!(s, "localparam [3:0] U_{} = 4'd{};", upper(u), unit_code(u));
    }
    s.push_str("\n// isa::Cond, positions in Cond::ALL (ebpf_decode_rom cond_o)\n");
    for c in Cond::ALL {
        let _ = writeln!(
            s,
            "localparam [3:0] COND_{} = 4'd{};",
            upper(c),
            cond_code(c)
        );
    }
    s.push_str("\n// isa::AtomicOp, positions in AtomicOp::ALL (ebpf_decode_rom aop_o)\n");
    for a in AtomicOp::ALL {
        let _ = writeln!(s, "localparam [2:0] AOP_{} = 3'd{};", upper(a), aop_code(a));
    }
    s.push_str("\n// isa::Width, positions in Width::ALL (ebpf_decode_rom width_o)\n");
    for w in Width::ALL {
        let _ = writeln!(s, "localparam [1:0] W_{} = 2'd{};", upper(w), width_code(w));
    }
    s.push_str("\n// isa::Writes, positions in rtlgen::WRITES (ebpf_decode_rom wr_o)\n");
    for w in WRITES {
        let _ = writeln!(
            s,
            "localparam [1:0] WR_{} = 2'd{};",
            upper(w),
            writes_code(w)
        );
    }
    s.push_str(
        "\n// ebpf_alu op codes: the opcode's op field (bits 7:4) of the ISA table's\n\
         // ALU, neg and byte-order rows (ebpf_decode_rom alu_op_o)\n",
    );
    for (n, c) in alu_codes() {
        let _ = writeln!(s, "localparam [3:0] ALU_{n} = 4'h{c:x};");
    }
    s.push_str("\n// pipeline::Ctl::code (the control effect carried to WB)\n");
    for c in Ctl::ALL {
        let _ = writeln!(s, "localparam [1:0] CTL_{} = 2'd{};", c.name(), c.code());
    }
    s.push_str("\n// Decoder kind codes (ebpf_decode_rom kind_o)\n");
    for (i, k) in KINDS.iter().enumerate() {
        let _ = writeln!(s, "localparam [4:0] K_{k} = 5'd{i};");
    }
    s.push_str("\n/* verilator lint_on UNUSEDPARAM */\n");
    s
}

fn sel_cond(sel: Sel) -> Option<String> {
    match sel {
        Sel::None => None,
        Sel::Off(o) => Some(format!("off_i == 16'h{:04x}", o as u16)),
        Sel::Imm(v) => Some(format!("imm_i == 32'h{:08x}", v as u32)),
        Sel::Src(v) => Some(format!("src_i == 4'd{v}")),
    }
}

fn row_assign(r: &OpDef) -> String {
    let rd = r.reads();
    let wr = writes_code(r.writes());
    let (mut alu, mut wide, mut srcreg, mut signed, mut movsx) = (0u8, 1u8, 0u8, 0u8, 0u8);
    let (mut cond, mut aop, mut fetch, mut width, mut sx) = (0u8, 0u8, 0u8, 3u8, 0u8);
    let (mut end_be, mut swap) = (0u8, 0u8);
    match r.kind {
        Kind::Alu { op, wide: w, src } => {
            alu = alu_ctl(r).map_or(0, |c| c.op);
            wide = w as u8;
            srcreg = (src == Src::Reg) as u8;
            signed = matches!(op, AluOp::Sdiv | AluOp::Smod) as u8;
            if let AluOp::Movsx(b) = op {
                movsx = b;
            }
        }
        Kind::Neg { wide: w } => {
            alu = alu_ctl(r).map_or(0, |c| c.op);
            wide = w as u8;
        }
        Kind::End { .. } => {
            let c = alu_ctl(r).unwrap_or_default();
            alu = c.op;
            end_be = c.end_be as u8;
            swap = c.swap as u8;
        }
        Kind::Ldx { width: w, sx: s } => {
            width = width_code(w);
            sx = s as u8;
        }
        Kind::St { width: w } | Kind::Stx { width: w } => width = width_code(w),
        Kind::LdAbs { width: w } | Kind::LdInd { width: w } => width = width_code(w),
        Kind::Atomic {
            width: w,
            op,
            fetch: f,
        } => {
            width = width_code(w);
            aop = aop_code(op);
            fetch = f as u8;
        }
        Kind::Jmp {
            cond: c,
            wide: w,
            src,
        } => {
            cond = cond_code(c);
            wide = w as u8;
            srcreg = (src == Src::Reg) as u8;
        }
        _ => {}
    }
    format!(
        "begin valid_o = 1'b1; kind_o = 5'd{}; unit_o = 4'd{}; rd_dst_o = 1'b{}; rd_src_o = 1'b{}; \
         rd_fixed_o = 11'h{:03x}; wr_o = 2'd{wr}; alu_op_o = 4'h{alu:x}; wide_o = 1'b{wide}; \
         src_reg_o = 1'b{srcreg}; signed_o = 1'b{signed}; movsx_o = 6'd{movsx}; end_be_o = 1'b{end_be}; \
         swap_o = 1'b{swap}; cond_o = 4'd{cond}; aop_o = 3'd{aop}; fetch_o = 1'b{fetch}; \
         width_o = 2'd{width}; sx_o = 1'b{sx}; end // {}",
        kind_code(&r.kind),
        unit_code(r.unit),
        rd.dst as u8,
        rd.src as u8,
        rd.fixed & 0x7ff,
        r.mnemonic
    )
}

/// `rtl/ebpf_decode_rom.v`: one arm per ISA-table row.
pub fn decode_rom_v() -> String {
    let mut s = String::new();
    s.push_str(
        "// GENERATED by nfbpf_sim::rtlgen::decode_rom_v() from the ISA table (vm::isa).\n\
         // Do not edit: sim/tests/rtl_generated.rs fails when this file differs\n\
         // (NFBPF_BLESS=1 rewrites it). One arm per table row: opcode byte plus the\n\
         // row's selector (off, imm or src field). Codes: kind_o = K_* of\n\
         // ebpf_params.vh; unit_o = vm::isa::Unit order; wr_o 0 none, 1 dst, 2 src,\n\
         // 3 r0; width_o 0 b, 1 h, 2 w, 3 dw; cond_o = vm::isa::Cond order;\n\
         // aop_o add, or, and, xor, xchg, cmpxchg.\n\
         module ebpf_decode_rom (\n\
         \x20 input  wire [7:0]  opc_i,\n\
         \x20 input  wire [3:0]  src_i,\n\
         \x20 input  wire [15:0] off_i,\n\
         \x20 input  wire [31:0] imm_i,\n\
         \x20 output reg         valid_o,\n\
         \x20 output reg  [4:0]  kind_o,\n\
         \x20 output reg  [3:0]  unit_o,\n\
         \x20 output reg         rd_dst_o,\n\
         \x20 output reg         rd_src_o,\n\
         \x20 output reg  [10:0] rd_fixed_o,\n\
         \x20 output reg  [1:0]  wr_o,\n\
         \x20 output reg  [3:0]  alu_op_o,\n\
         \x20 output reg         wide_o,\n\
         \x20 output reg         src_reg_o,\n\
         \x20 output reg         signed_o,\n\
         \x20 output reg  [5:0]  movsx_o,\n\
         \x20 output reg         end_be_o,\n\
         \x20 output reg         swap_o,\n\
         \x20 output reg  [3:0]  cond_o,\n\
         \x20 output reg  [2:0]  aop_o,\n\
         \x20 output reg         fetch_o,\n\
         \x20 output reg  [1:0]  width_o,\n\
         \x20 output reg         sx_o\n\
         );\n\n\
         \x20 always @(*) begin\n\
         \x20   valid_o = 1'b0; kind_o = 5'd0; unit_o = 4'd0; rd_dst_o = 1'b0; rd_src_o = 1'b0;\n\
         \x20   rd_fixed_o = 11'h000; wr_o = 2'd0; alu_op_o = 4'h0; wide_o = 1'b0; src_reg_o = 1'b0;\n\
         \x20   signed_o = 1'b0; movsx_o = 6'd0; end_be_o = 1'b0; swap_o = 1'b0; cond_o = 4'd0;\n\
         \x20   aop_o = 3'd0; fetch_o = 1'b0; width_o = 2'd0; sx_o = 1'b0;\n\
         \x20   case (opc_i)\n",
    );
    let t = isa();
    let mut opcodes: Vec<u8> = t.rows.iter().map(|r| r.opcode).collect();
    opcodes.sort_unstable();
    opcodes.dedup();
    for op in opcodes {
        let rows: Vec<&OpDef> = t.rows.iter().filter(|r| r.opcode == op).collect();
        let _ = writeln!(s, "      8'h{op:02x}: begin");
        for (i, r) in rows.iter().enumerate() {
            let kw = if i == 0 { "if" } else { "else if" };
            match sel_cond(r.sel) {
                Some(c) => {
                    let _ = writeln!(s, "        {kw} ({c}) {}", row_assign(r));
                }
                None => {
                    let _ = writeln!(s, "        {}", row_assign(r));
                }
            }
        }
        s.push_str("      end\n");
    }
    s.push_str("      default: ;\n    endcase\n  end\n\nendmodule\n");
    s
}

/// `rtl/ebpf_units_params.vh`: the map coprocessor's and helper units'
/// constants (capacities, latencies, map types, errnos, helper ids, the
/// timer and PRNG, the map registers' offsets).
pub fn units_params_vh() -> String {
    use nfbpf_vm::abi::xdp_md;
    use nfbpf_vm::regs as r;
    use nfbpf_vm::units::DEFAULT_SEED;
    let mut s = String::new();
    s.push_str(
        "// GENERATED by nfbpf_sim::rtlgen::units_params_vh() from vm::contract,\n\
         // vm::units and vm::regs. Do not edit: sim/tests/rtl_generated.rs fails\n\
         // when this file differs (NFBPF_BLESS=1 rewrites it).\n\
         /* verilator lint_off UNUSEDPARAM */\n\n",
    );
    // ebpf_map_arbiter executes a queued operation up to one clock after its
    // slot starts, so every map latency must leave that clock.
    for (name, l) in [
        ("CAM_READ_CYCLES", c::CAM_READ_CYCLES),
        ("CAM_WRITE_CYCLES", c::CAM_WRITE_CYCLES),
        ("TCAM_READ_CYCLES", c::TCAM_READ_CYCLES),
        ("TCAM_WRITE_CYCLES", c::TCAM_WRITE_CYCLES),
        ("ARRAY_READ_CYCLES", c::ARRAY_READ_CYCLES),
        ("ARRAY_WRITE_CYCLES", c::ARRAY_WRITE_CYCLES),
    ] {
        assert!(
            (2..64).contains(&l),
            "contract::{name} = {l}: the map coprocessor RTL needs 2..=63 clocks"
        );
    }
    let mut p = |name: &str, v: u64, doc: &str| {
        let _ = writeln!(s, "// {doc}");
        let _ = writeln!(s, "localparam integer {name} = {v};");
    };
    p("U_MAX_MAPS", c::MAX_MAPS as u64, "contract::MAX_MAPS");
    p(
        "U_CAM_ENTRIES",
        c::CAM_ENTRIES as u64,
        "contract::CAM_ENTRIES",
    );
    p(
        "U_TCAM_ENTRIES",
        c::TCAM_ENTRIES as u64,
        "contract::TCAM_ENTRIES",
    );
    p(
        "U_CAM_KEY_BYTES",
        c::RTL_CAM_KEY_BYTES as u64,
        "contract::RTL_CAM_KEY_BYTES",
    );
    p(
        "U_DIRECT_WORDS",
        u64::from(nfbpf_vm::maps::MapConfig::default().direct_words),
        "maps::MapConfig::default().direct_words",
    );
    p(
        "U_CAM_READ",
        c::CAM_READ_CYCLES.into(),
        "contract::CAM_READ_CYCLES",
    );
    p(
        "U_CAM_WRITE",
        c::CAM_WRITE_CYCLES.into(),
        "contract::CAM_WRITE_CYCLES",
    );
    p(
        "U_TCAM_READ",
        c::TCAM_READ_CYCLES.into(),
        "contract::TCAM_READ_CYCLES",
    );
    p(
        "U_TCAM_WRITE",
        c::TCAM_WRITE_CYCLES.into(),
        "contract::TCAM_WRITE_CYCLES",
    );
    p(
        "U_ARRAY_READ",
        c::ARRAY_READ_CYCLES.into(),
        "contract::ARRAY_READ_CYCLES",
    );
    p(
        "U_ARRAY_WRITE",
        c::ARRAY_WRITE_CYCLES.into(),
        "contract::ARRAY_WRITE_CYCLES",
    );
    p(
        "U_SIMPLE_CYCLES",
        c::SIMPLE_HELPER_CYCLES.into(),
        "contract::SIMPLE_HELPER_CYCLES",
    );
    p(
        "U_DEFAULT_CYCLES",
        c::HELPER_DEFAULT_CYCLES,
        "contract::HELPER_DEFAULT_CYCLES",
    );
    p(
        "U_MAP_TYPE_HASH",
        c::MAP_TYPE_HASH.into(),
        "contract::MAP_TYPE_HASH",
    );
    p(
        "U_MAP_TYPE_ARRAY",
        c::MAP_TYPE_ARRAY.into(),
        "contract::MAP_TYPE_ARRAY",
    );
    p(
        "U_MAP_TYPE_LPM",
        c::MAP_TYPE_LPM_TRIE.into(),
        "contract::MAP_TYPE_LPM_TRIE",
    );
    p(
        "U_MAP_TYPE_DEVMAP",
        c::MAP_TYPE_DEVMAP.into(),
        "contract::MAP_TYPE_DEVMAP",
    );
    p("U_BPF_NOEXIST", c::BPF_NOEXIST, "contract::BPF_NOEXIST");
    p("U_BPF_EXIST", c::BPF_EXIST, "contract::BPF_EXIST");
    p("U_ENOENT", c::ENOENT as u64, "contract::ENOENT");
    p("U_E2BIG", c::E2BIG as u64, "contract::E2BIG");
    p("U_EEXIST", c::EEXIST as u64, "contract::EEXIST");
    p("U_EINVAL", c::EINVAL as u64, "contract::EINVAL");
    p("U_ENOSPC", c::ENOSPC as u64, "contract::ENOSPC");
    p(
        "U_LPM_HEADER",
        nfbpf_vm::maps::LPM_HEADER.into(),
        "maps::LPM_HEADER",
    );
    p(
        "U_LPM_MAX_DATA",
        nfbpf_vm::maps::LPM_MAX_DATA.into(),
        "maps::LPM_MAX_DATA",
    );
    p(
        "U_H_LOOKUP",
        c::HELPER_MAP_LOOKUP_ELEM.into(),
        "contract::HELPER_MAP_LOOKUP_ELEM",
    );
    p(
        "U_H_UPDATE",
        c::HELPER_MAP_UPDATE_ELEM.into(),
        "contract::HELPER_MAP_UPDATE_ELEM",
    );
    p(
        "U_H_DELETE",
        c::HELPER_MAP_DELETE_ELEM.into(),
        "contract::HELPER_MAP_DELETE_ELEM",
    );
    p(
        "U_H_KTIME",
        c::HELPER_KTIME_GET_NS.into(),
        "contract::HELPER_KTIME_GET_NS",
    );
    p(
        "U_H_PRANDOM",
        c::HELPER_GET_PRANDOM_U32.into(),
        "contract::HELPER_GET_PRANDOM_U32",
    );
    assert_eq!(
        1_000_000_000 % c::CLOCK_HZ,
        0,
        "ktime needs whole ns per clock"
    );
    p(
        "U_NS_PER_CYCLE",
        1_000_000_000 / c::CLOCK_HZ,
        "1e9 / contract::CLOCK_HZ",
    );
    p("U_PRNG_SEED", DEFAULT_SEED.into(), "units::DEFAULT_SEED");
    // The XDP ABI's helpers and context (ebpf_units serves `xdp_md` on the
    // engines' ext ports and the helpers that move its pointers).
    for (name, v, doc) in [
        (
            "U_H_REDIRECT",
            c::HELPER_REDIRECT.into(),
            "contract::HELPER_REDIRECT",
        ),
        (
            "U_H_SMP_ID",
            c::HELPER_GET_SMP_PROCESSOR_ID.into(),
            "contract::HELPER_GET_SMP_PROCESSOR_ID",
        ),
        (
            "U_H_ADJUST_HEAD",
            c::HELPER_XDP_ADJUST_HEAD.into(),
            "contract::HELPER_XDP_ADJUST_HEAD",
        ),
        (
            "U_H_ADJUST_TAIL",
            c::HELPER_XDP_ADJUST_TAIL.into(),
            "contract::HELPER_XDP_ADJUST_TAIL",
        ),
        (
            "U_H_ADJUST_META",
            c::HELPER_XDP_ADJUST_META.into(),
            "contract::HELPER_XDP_ADJUST_META",
        ),
        (
            "U_H_BUFF_LEN",
            c::HELPER_XDP_GET_BUFF_LEN.into(),
            "contract::HELPER_XDP_GET_BUFF_LEN",
        ),
        ("U_XDP_ABORTED", c::XDP_ABORTED, "contract::XDP_ABORTED"),
        ("U_XDP_REDIRECT", c::XDP_REDIRECT, "contract::XDP_REDIRECT"),
        (
            "U_XDP_HEADROOM",
            c::XDP_HEADROOM as u64,
            "contract::XDP_HEADROOM",
        ),
        (
            "U_XDP_MD_SIZE",
            c::XDP_MD_SIZE as u64,
            "contract::XDP_MD_SIZE",
        ),
        (
            "U_XDP_FRAME_BYTES",
            c::XDP_FRAME_BYTES,
            "contract::XDP_FRAME_BYTES",
        ),
        ("U_ETH_HLEN", c::ETH_HLEN as u64, "contract::ETH_HLEN"),
        ("U_EACCES", c::EACCES as u64, "contract::EACCES"),
        ("U_MD_DATA", xdp_md::DATA, "abi::xdp_md::DATA"),
        ("U_MD_DATA_END", xdp_md::DATA_END, "abi::xdp_md::DATA_END"),
        (
            "U_MD_DATA_META",
            xdp_md::DATA_META,
            "abi::xdp_md::DATA_META",
        ),
        (
            "U_MD_INGRESS_IFINDEX",
            xdp_md::INGRESS_IFINDEX,
            "abi::xdp_md::INGRESS_IFINDEX",
        ),
        (
            "U_MD_RX_QUEUE_INDEX",
            xdp_md::RX_QUEUE_INDEX,
            "abi::xdp_md::RX_QUEUE_INDEX",
        ),
        (
            "U_MD_EGRESS_IFINDEX",
            xdp_md::EGRESS_IFINDEX,
            "abi::xdp_md::EGRESS_IFINDEX",
        ),
    ] {
        p(name, v, doc);
    }
    p("U_MAP_STRIDE", c::MAP_STRIDE, "contract::MAP_STRIDE");
    // The XDP map path: the value memory and the helper memory port.
    for (name, v, doc) in [
        (
            "U_VROWS",
            c::RTL_VALUE_ROWS as u64,
            "contract::RTL_VALUE_ROWS",
        ),
        (
            "U_VROW_BYTES",
            c::RTL_VALUE_ROW_BYTES,
            "contract::RTL_VALUE_ROW_BYTES",
        ),
        (
            "U_HPORT_BYTES",
            c::RTL_HELPER_PORT_BYTES as u64,
            "contract::RTL_HELPER_PORT_BYTES",
        ),
        (
            "U_UPD_VALUE_BYTES",
            c::RTL_UPDATE_VALUE_BYTES as u64,
            "contract::RTL_UPDATE_VALUE_BYTES",
        ),
        (
            "U_H_REDIRECT_MAP",
            c::HELPER_REDIRECT_MAP.into(),
            "contract::HELPER_REDIRECT_MAP",
        ),
        (
            "U_F_BROADCAST",
            c::BPF_F_BROADCAST,
            "contract::BPF_F_BROADCAST",
        ),
        (
            "U_F_EXCLUDE_INGRESS",
            c::BPF_F_EXCLUDE_INGRESS,
            "contract::BPF_F_EXCLUDE_INGRESS",
        ),
    ] {
        p(name, v, doc);
    }
    // The helpers over buffers in engine memory (csum_diff,
    // xdp_load/store_bytes): one port word a clock.
    for (name, v, doc) in [
        (
            "U_H_CSUM_DIFF",
            c::HELPER_CSUM_DIFF.into(),
            "contract::HELPER_CSUM_DIFF",
        ),
        (
            "U_H_LOAD_BYTES",
            c::HELPER_XDP_LOAD_BYTES.into(),
            "contract::HELPER_XDP_LOAD_BYTES",
        ),
        (
            "U_H_STORE_BYTES",
            c::HELPER_XDP_STORE_BYTES.into(),
            "contract::HELPER_XDP_STORE_BYTES",
        ),
        (
            "U_MEM_MAX_BYTES",
            c::HELPER_MEM_MAX_BYTES,
            "contract::HELPER_MEM_MAX_BYTES",
        ),
        (
            "U_MEM_WORD_BYTES",
            c::HELPER_MEM_BYTES_PER_CLOCK,
            "contract::HELPER_MEM_BYTES_PER_CLOCK",
        ),
        ("U_EFAULT", c::EFAULT as u64, "contract::EFAULT"),
        // The trace unit (bpf_trace_printk) and the coarse timer.
        (
            "U_H_TRACE_PRINTK",
            c::HELPER_TRACE_PRINTK.into(),
            "contract::HELPER_TRACE_PRINTK",
        ),
        (
            "U_H_KTIME_COARSE",
            c::HELPER_KTIME_GET_COARSE_NS.into(),
            "contract::HELPER_KTIME_GET_COARSE_NS",
        ),
        (
            "U_H_TRACE_VPRINTK",
            c::HELPER_TRACE_VPRINTK.into(),
            "contract::HELPER_TRACE_VPRINTK",
        ),
        (
            "U_PRINTK_ARGS",
            c::PRINTK_ARGS as u64,
            "contract::PRINTK_ARGS",
        ),
        (
            "U_PRINTK_VARARGS",
            c::MAX_BPRINTF_VARARGS as u64,
            "contract::MAX_BPRINTF_VARARGS",
        ),
        (
            "U_PRINTK_STR_BYTES",
            c::PRINTK_STR_BYTES,
            "contract::PRINTK_STR_BYTES",
        ),
        (
            "U_PRINTK_STR_WORDS",
            c::PRINTK_STR_WORDS.into(),
            "contract::PRINTK_STR_WORDS",
        ),
        (
            "U_PRINTK_EFAULT_LEN",
            c::PRINTK_EFAULT_TEXT.len() as u64,
            "contract::PRINTK_EFAULT_TEXT.len()",
        ),
        (
            "U_PRINTK_WIDTH_MAX",
            c::PRINTK_WIDTH_MAX.into(),
            "contract::PRINTK_WIDTH_MAX",
        ),
        (
            "U_PRINTK_FMT_MAX",
            c::PRINTK_FMT_MAX_BYTES,
            "contract::PRINTK_FMT_MAX_BYTES",
        ),
        (
            "U_TRACE_RECORDS",
            c::TRACE_FIFO_RECORDS as u64,
            "contract::TRACE_FIFO_RECORDS",
        ),
        (
            "U_TRACE_WORDS",
            c::TRACE_FIFO_WORDS as u64,
            "contract::TRACE_FIFO_WORDS",
        ),
        (
            "U_TRACE_HDR",
            nfbpf_vm::units::trace::TRACE_HDR_WORDS.into(),
            "vm::units::trace::TRACE_HDR_WORDS",
        ),
        (
            "U_SUME_MD_SIZE",
            c::SUME_MD_SIZE as u64,
            "contract::SUME_MD_SIZE",
        ),
    ] {
        p(name, v, doc);
    }
    for (name, v, doc) in [
        ("U_MAP_BASE", c::MAP_BASE, "contract::MAP_BASE"),
        (
            "U_LOOKUP_MISS",
            c::SUME_LOOKUP_MISS,
            "contract::SUME_LOOKUP_MISS",
        ),
    ] {
        let _ = writeln!(s, "// {doc}");
        let _ = writeln!(s, "localparam [63:0] {name} = 64'h{v:x};");
    }
    s.push_str("// Coprocessor map kinds (rtlgen::MAP_KINDS order)\n");
    for (i, t) in MAP_KINDS.iter().enumerate() {
        let _ = writeln!(s, "localparam [1:0] MAPK_{} = 2'd{i};", upper(t));
    }
    s.push_str("// Coprocessor operations: 1 + position in rtlgen::MAP_OPS (0 none)\n");
    for (i, o) in MAP_OPS.iter().enumerate() {
        let _ = writeln!(s, "localparam [1:0] MOP_{} = 2'd{};", upper(o), i + 1);
    }
    for (name, off) in [
        ("NUMMAP", r::NUMMAP),
        ("TYPEMAP", r::TYPEMAP),
        ("HIKEYMASKMAP", r::HIKEYMASKMAP),
        ("LOKEYMASKMAP", r::LOKEYMASKMAP),
        ("HIVALUEMASKMAP", r::HIVALUEMASKMAP),
        ("LOVALUEMASKMAP", r::LOVALUEMASKMAP),
        ("MAXELEMSMAP", r::MAXELEMSMAP),
        ("SELECTMEMORY", r::SELECTMEMORY),
        ("OPERATION", r::OPERATION),
        ("HIKEY", r::HIKEY),
        ("LOKEY", r::LOKEY),
        ("HIMASK", r::HIMASK),
        ("LOMASK", r::LOMASK),
        ("HIDIN", r::HIDIN),
        ("LODIN", r::LODIN),
        ("CLEAN", r::CLEAN),
        ("ACK", r::ACK),
        ("ERROR", r::ERROR),
        ("CAMFULL", r::CAMFULL),
        ("TCAMFULL", r::TCAMFULL),
        ("CAMBUSY", r::CAMBUSY),
        ("TCAMBUSY", r::TCAMBUSY),
        ("CLEANACK", r::CLEANACK),
        ("CLEANDEBUG", r::CLEANDEBUG),
        ("COPROCARBFSMSTATE", r::COPROCARBFSMSTATE),
        ("MAPSELECT", r::MAPSELECT),
        ("KEYSIZEMAP", r::KEYSIZEMAP),
        ("VALUESIZEMAP", r::VALUESIZEMAP),
        ("WIDEOP", r::WIDEOP),
        ("WIDESTATUS", r::WIDESTATUS),
        ("MAPLOAD", r::MAPLOAD),
        ("WIDEKEY", r::WIDEKEY),
        ("WIDEVALUE", r::WIDEVALUE),
        ("MAPROWTYPE", r::MAPROWTYPE),
        ("MAPROWKEYSIZE", r::MAPROWKEYSIZE),
        ("MAPROWVALUESIZE", r::MAPROWVALUESIZE),
        ("MAPROWMAXELEMS", r::MAPROWMAXELEMS),
        ("TRACECOUNT", r::TRACECOUNT),
        ("TRACEDROP", r::TRACEDROP),
        ("TRACEIDX", r::TRACEIDX),
        ("TRACEPOP", r::TRACEPOP),
        ("TRACEWORD", r::TRACEWORD),
        ("TRACEHDR", r::TRACEHDR),
        ("WIDEVOFF", r::WIDEVOFF),
    ] {
        let _ = writeln!(s, "// regs::{name}");
        let _ = writeln!(s, "localparam [11:0] R_{name} = 12'h{off:03x};");
    }
    let _ = writeln!(s, "// regs::WIDE_WORDS");
    let _ = writeln!(s, "localparam integer R_WIDE_WORDS = {};", r::WIDE_WORDS);
    s.push_str("\n/* verilator lint_on UNUSEDPARAM */\n");
    s
}

/// Registers the data plane's AXI4-Lite slave decodes, as `REG_<name>`
/// localparams (the offsets are `vm::regs`'s; the names are the RTL's).
const DP_REGS: &[(&str, u32)] = {
    use nfbpf_vm::regs::*;
    &[
        ("ID", ID),
        ("VERSION", VERSION),
        ("FLIP", FLIP),
        ("ROUTERMODE", ROUTERMODE),
        ("NUMINST", NUMINST),
        ("HIINST", HIINST),
        ("LOINST", LOINST),
        ("WRINST", WRINST),
        ("CURRINSTMEM", CURRINSTMEM),
        ("ENG_R0", ENG_R0),
        ("NUMMAP", NUMMAP),
        ("CLEANDEBUG", CLEANDEBUG),
        ("ENG_FSM", ENG_FSM),
        ("TUSERREADY", TUSERREADY),
        ("COPROCARBFSMSTATE", COPROCARBFSMSTATE),
        ("OUTARBFSMSTATE", OUTARBFSMSTATE),
        ("RXPKT", RXPKT),
        ("TXPKT", TXPKT),
        ("DEBUG", DEBUG),
        ("NUMENGINES", NUMENGINES),
        ("ABIMODE", ABIMODE),
        ("IMEMSLOTS", IMEMSLOTS),
        ("CYCLELO", CYCLELO),
        ("CYCLEHI", CYCLEHI),
        ("ENGSELECT", ENGSELECT),
        ("ENGPKTIN", ENGPKTIN),
        ("ENGPKTOUT", ENGPKTOUT),
        ("ENGDROP", ENGDROP),
        ("ENGFAULTS", ENGFAULTS),
        ("ENGBUSY", ENGBUSY),
        ("ENGSTALL", ENGSTALL),
        ("ENGFAULTPC", ENGFAULTPC),
        ("ENGFAULTADDR", ENGFAULTADDR),
        ("ENGFAULTCAUSE", ENGFAULTCAUSE),
        ("MAPSELECT", MAPSELECT),
        ("WIDESTATUS", WIDESTATUS),
        ("RDINSTADDR", RDINSTADDR),
        ("RDINSTHI", RDINSTHI),
        ("RDINSTLO", RDINSTLO),
        ("PORTSELECT", PORTSELECT),
        ("PORTRX", PORTRX),
        ("PORTRXDROP", PORTRXDROP),
        ("PORTTX", PORTTX),
        ("ENGMAPWAIT", ENGMAPWAIT),
        ("MAPLOAD", MAPLOAD),
        ("BUDGET", BUDGET),
        ("WIDEKEY", WIDEKEY),
        ("WIDEVALUE", WIDEVALUE),
        ("MAPROWTYPE", MAPROWTYPE),
        ("MAPROWMAXELEMS", MAPROWMAXELEMS),
        ("TRACECOUNT", TRACECOUNT),
        ("TRACEHDR", TRACEHDR),
        ("WIDEVOFF", WIDEVOFF),
    ]
};

/// `rtl/ebpf_dp_params.vh`: what the data plane (`ebpf_dataplane`,
/// `ebpf_axil_regs`) shares with `vm::device`, `vm::abi`, `vm::regs` and
/// the FIFO_MD pacing of `vm::pipeline::Pacing`.
pub fn dp_params_vh() -> String {
    use nfbpf_vm::abi::sume_md;
    use nfbpf_vm::regs;
    let mut s = String::new();
    s.push_str(
        "// GENERATED by nfbpf_sim::rtlgen::dp_params_vh() from vm::contract,\n\
         // vm::abi, vm::regs and vm::device. Do not edit: sim/tests/rtl_generated.rs\n\
         // fails when this file differs (NFBPF_BLESS=1 rewrites it).\n\
         /* verilator lint_off UNUSEDPARAM */\n\n",
    );
    let mut p = |name: &str, bits: u32, v: u64, doc: &str| {
        let _ = writeln!(s, "// {doc}");
        let _ = writeln!(s, "localparam [{}:0] {name} = {bits}'d{v};", bits - 1);
    };
    p(
        "DP_MAX_ENGINES",
        32,
        nfbpf_vm::device::MAX_ENGINES as u64,
        "device::MAX_ENGINES",
    );
    p(
        "FIFO_MAX_PACKETS",
        32,
        c::FIFO_MAX_PACKETS as u64,
        "contract::FIFO_MAX_PACKETS (packets queued per engine)",
    );
    p(
        "PORT_RATE",
        64,
        c::PORT_RATE_BPS,
        "Pacing: credits a port earns per clock (contract::PORT_RATE_BPS)",
    );
    p(
        "WORD_COST",
        64,
        (c::FIFO_WORD_BYTES as u64 * 8) * c::CLOCK_HZ,
        "Pacing: credits a 256-bit word costs (bits x contract::CLOCK_HZ)",
    );
    p(
        "NS_PER_CLOCK",
        32,
        1_000_000_000 / c::CLOCK_HZ,
        "Timer: nanoseconds per clock (10^9 / contract::CLOCK_HZ)",
    );
    p(
        "SUME_MD_SIZE",
        32,
        c::SUME_MD_SIZE as u64,
        "contract::SUME_MD_SIZE",
    );
    p(
        "MD_IN_PORT",
        32,
        sume_md::IN_PORT as u64,
        "abi::sume_md::IN_PORT",
    );
    p(
        "MD_TS_SEC",
        32,
        sume_md::TIMESTAMP_SEC as u64,
        "abi::sume_md::TIMESTAMP_SEC",
    );
    p(
        "MD_TS_NSEC",
        32,
        sume_md::TIMESTAMP_NSEC as u64,
        "abi::sume_md::TIMESTAMP_NSEC",
    );
    p(
        "MD_LENGTH",
        32,
        sume_md::LENGTH as u64,
        "abi::sume_md::LENGTH",
    );
    p("SUME_DROP", 64, c::SUME_DROP, "contract::SUME_DROP");
    p(
        "SUME_CONTROLLER",
        64,
        c::SUME_CONTROLLER,
        "contract::SUME_CONTROLLER",
    );
    p("SUME_FLOOD", 64, c::SUME_FLOOD, "contract::SUME_FLOOD");
    p(
        "XDP_HEADROOM",
        32,
        c::XDP_HEADROOM as u64,
        "contract::XDP_HEADROOM (ABIMODE 1: bytes before the frame in FIFO_MD)",
    );
    p("XDP_DROP", 32, c::XDP_DROP, "contract::XDP_DROP");
    p("XDP_PASS", 32, c::XDP_PASS, "contract::XDP_PASS");
    p("XDP_TX", 32, c::XDP_TX, "contract::XDP_TX");
    p(
        "XDP_REDIRECT",
        32,
        c::XDP_REDIRECT,
        "contract::XDP_REDIRECT",
    );
    p(
        "DEVICE_ID",
        32,
        u64::from(regs::DEVICE_ID),
        "regs::DEVICE_ID",
    );
    p(
        "DEVICE_VERSION",
        32,
        u64::from(regs::DEVICE_VERSION),
        "regs::DEVICE_VERSION",
    );
    p(
        "CONTRACT_IMEM_SLOTS",
        32,
        c::IMEM_SLOTS as u64,
        "contract::IMEM_SLOTS (IMEMSLOTS register)",
    );
    p(
        "DEVICE_INSN_BUDGET",
        64,
        c::DEVICE_INSN_BUDGET,
        "contract::DEVICE_INSN_BUDGET (budget_i of a board: one full-size frame time)",
    );
    s.push_str("\n// Register offsets (vm::regs) and element counts of arrays\n");
    for (n, off) in DP_REGS {
        let _ = writeln!(s, "localparam [11:0] REG_{n} = 12'h{off:03x};");
        if let Some((r, _)) = regs::lookup(*off)
            && r.count > 1
        {
            let _ = writeln!(s, "localparam integer REG_{n}_N = {};", r.count);
        }
    }
    s.push_str("\n/* verilator lint_on UNUSEDPARAM */\n");
    s
}
