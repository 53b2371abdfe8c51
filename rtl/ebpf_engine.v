// ebpf_engine: one eBPF engine core, cycle-exact with vm::pipeline::Engine.
//
// Five stages IF, ID, EX, MEM, WB (docs/pipeline.md is the timing contract).
// The clock's work is split as in the model (vm::pipeline::Engine): one
// combinational block per stage in the model's order (WB, MEM, EX, ID, IF;
// each stage reads its input latch as it stood at the start of the clock)
// raising its stall causes and naming the hazard signals between stages
// (kill, frozen, flush, redirect); one block per pipeline latch giving its
// next value (_d) from them; ebpf_stall_enc, the one priority encoder of the
// stall causes; and one register block (_q <= _d). Units: ebpf_alu, ebpf_mul, ebpf_div (EX),
// ebpf_fwd x 8 (EX operands, call arguments, cmpxchg's r0), ebpf_hazard
// (ID), ebpf_stall_enc, ebpf_decode_rom (generated from the ISA table; one per stage that
// needs instruction facts), ebpf_regfile, ebpf_frames, ebpf_imem (two banks),
// ebpf_fifo_md (packet memory), ebpf_stack_ram.
//
// Memory map (ebpf_params.vh, from vm::contract): accesses wholly inside the
// running packet go to FIFO_MD, wholly inside the stack to the stack RAM;
// every other access goes out on the ext_* port, which the harness serves
// combinationally in the same clock from its memory (context, map values)
// and answers with data or a fault. Helper calls go out on helper_*: the
// request stays up in MEM until helper_ack_i (the harness acks after the
// helper's latency). While a call waits in MEM, the helper memory port
// (hmem_*) lets the helper units read the engine's stack or packet through
// the stack RAM's and FIFO_MD's read ports (a map helper's key and value,
// the buffers of csum_diff and xdp_load/store_bytes) and write them through
// their store ports (xdp_load/store_bytes), whose own accesses are idle then.
//
// HOLD = 1 (the data plane): a verdict does not free the packet's FIFO_MD
// words; the data plane frees them (fifo_xfree_i) once its egress stream has
// sent them (vm::pipeline::Config::hold); fifo_eg_addr_i/fifo_eg_data_o read
// 32 bytes from any ring byte for that stream, fifo_eg_hdr_i/fifo_eg_len_o the frame length
// in a header word (byte LEN_LANE).
//
// Debug ports give, per clock, the retire record (WB), the stage contents at
// the start of the clock, the stall cause (model's Stall order), flush,
// forward selects and the bank, so co-simulation can compare every clock.
`include "ebpf_widths.vh"

module ebpf_engine #(
  parameter integer HOLD = 0,
  // byte of FIFO_MD's header word holding the frame length (fifo_eg_len_o)
  parameter integer LEN_LANE = 0
) (
  input  wire         clk_i,
  input  wire         rst_ni,
  // configuration: the instruction budget of the running packet (the data
  // plane gives the budget of the bank the engine latched)
  input  wire [63:0]  budget_i,
  input  wire [7:0]   max_frames_i,
  // instruction memory host port (writes the idle bank)
  input  wire         imem_wr_i,
  input  wire [11:0]  imem_wr_addr_i,
  input  wire [63:0]  imem_wr_data_i,
  input  wire         imem_len_wr_i,
  input  wire [31:0]  imem_len_i,
  input  wire         imem_swap_i,
  output wire         imem_active_o,
  output wire         imem_refused_o,
  // head packet descriptor (the harness keeps the queue)
  input  wire         pkt_push_i,
  input  wire [`FIFO_IW-1:0] pkt_start_i,
  input  wire [`PKT_OW:0] pkt_len_i,
  input  wire         pkt_writable_i,
  input  wire         stack_en_i,
  input  wire [63:0]  pkt_arg1_i,
  input  wire [63:0]  pkt_arg2_i,
  input  wire [63:0]  pkt_arg3_i,
  input  wire [63:0]  pkt_arg4_i,
  input  wire [63:0]  pkt_arg5_i,
  output wire         pkt_pending_o,
  // FIFO_MD port side: one word per clock
  input  wire         fifo_wr_i,
  input  wire [`FIFO_IW-1:0] fifo_wr_word_i,
  input  wire [255:0] fifo_wr_data_i,
  // FIFO_MD words freed by the data plane (HOLD), and the egress read port
  input  wire [`FIFO_NW-1:0] fifo_xfree_i,
  // Words of the head packet that have not arrived for it although their
  // valid bit is set: an older retired packet still holds them (HOLD: the
  // data plane; 0 without one). The engine sees them as not valid.
  input  wire [`FIFO_NW-1:0] fifo_held_i,
  input  wire [`PKT_OW-1:0] fifo_eg_addr_i,
  output wire [255:0] fifo_eg_data_o,
  input  wire [`FIFO_IW-1:0] fifo_eg_hdr_i,
  output wire [15:0]  fifo_eg_len_o,
  output wire [`FIFO_NW-1:0] fifo_valid_o,
  // HOLD: the running packet has all its words (the data plane's count; the
  // valid bits cannot say, as a ring word a retired packet still holds is
  // valid before the running packet's own word arrives in it)
  input  wire         pkt_complete_i,
  // external memory (served combinationally by the harness or ebpf_units).
  // The answers (ext_*_i, helper_*_i) may depend combinationally on these
  // requests (a one-clock answer), and the MEM stage block below reads the
  // answers while it makes the requests: Verilator sees a loop there
  // (UNOPTFLAT) although no path goes from an answer back to its request.
  /* verilator lint_off UNOPTFLAT */
  output reg          ext_rd_o,
  output reg          ext_wr_o,
  /* verilator lint_on UNOPTFLAT */
  output wire [63:0]  ext_addr_o,
  // what the access is, from the MEM latch alone (none of it depends on the
  // answer): a store (ext_st_o) or an atomic's last clock (ext_at_o) that
  // may go out, its operation, operand (truncated to the width) and
  // cmpxchg's comparand (r0): the units redo an atomic on map values so
  // that engines later in a clock's order see its result in that clock
  output wire         ext_st_o,
  output wire         ext_at_o,
  output wire [2:0]   ext_aop_o,
  output wire [63:0]  ext_sdata_o,
  output wire [63:0]  ext_cmp_o,
  output wire [1:0]   ext_width_o,
  output reg  [63:0]  ext_wdata_o,
  input  wire [63:0]  ext_rdata_i,
  input  wire         ext_rd_fault_i,
  input  wire         ext_wr_fault_i,
  // helper unit
  /* verilator lint_off UNOPTFLAT */
  output reg          helper_req_o,
  /* verilator lint_on UNOPTFLAT */
  output wire [31:0]  helper_id_o,
  output wire [63:0]  helper_arg1_o,
  output wire [63:0]  helper_arg2_o,
  output wire [63:0]  helper_arg3_o,
  output wire [63:0]  helper_arg4_o,
  output wire [63:0]  helper_arg5_o,
  input  wire         helper_ack_i,
  input  wire [63:0]  helper_ret_i,
  input  wire         helper_unwind_i,
  input  wire         helper_fault_i,
  input  wire [2:0]   helper_fault_code_i,
  // helper memory port: while a call waits in MEM, the helper unit reads
  // hmem_n_i bytes at hmem_addr_i (the engine's stack or its packet) through
  // the stack RAM's and FIFO_MD's read ports, in the clock (hmem_ok_o: the
  // bytes are wholly inside one of them)
  input  wire         hmem_rd_i,
  input  wire [63:0]  hmem_addr_i,
  input  wire [3:0]   hmem_n_i,
  output wire [63:0]  hmem_rdata_o,
  output wire         hmem_ok_o,
  // and writes hmem_wn_i bytes of hmem_wdata_i at hmem_waddr_i through
  // their store ports (the units checked the bytes are wholly inside the
  // stack or the packet)
  input  wire         hmem_wr_i,
  input  wire [63:0]  hmem_waddr_i,
  input  wire [3:0]   hmem_wn_i,
  input  wire [63:0]  hmem_wdata_i,
  // debug: retire record of this clock
  output reg          dbg_retire_o,
  output wire [31:0]  dbg_retire_pc_o,
  output reg          dbg_reg_we_o,
  output wire [3:0]   dbg_reg_idx_o,
  output wire [63:0]  dbg_reg_val_o,
  output reg          dbg_mem_v_o,
  output wire [63:0]  dbg_mem_addr_o,
  output wire [1:0]   dbg_mem_width_o,
  output wire         dbg_mem_rd_o,
  output wire [63:0]  dbg_mem_rdata_o,
  output wire         dbg_mem_wr_o,
  output wire [63:0]  dbg_mem_wdata_o,
  output reg          dbg_fault_o,
  output wire [2:0]   dbg_fault_code_o,
  output reg          dbg_done_o,
  output reg  [63:0]  dbg_r0_o,
  // debug: cycle record of this clock
  output wire         dbg_running_o,
  output wire [4:0]   dbg_stage_v_o,
  output wire [31:0]  dbg_pc_if_o,
  output wire [31:0]  dbg_pc_id_o,
  output wire [31:0]  dbg_pc_ex_o,
  output wire [31:0]  dbg_pc_mem_o,
  output wire [31:0]  dbg_pc_wb_o,
  output wire [31:0]  dbg_seq_if_o,
  output wire [31:0]  dbg_seq_id_o,
  output wire [31:0]  dbg_seq_ex_o,
  output wire [31:0]  dbg_seq_mem_o,
  output wire [31:0]  dbg_seq_wb_o,
  output reg  [3:0]   dbg_stall_o,
  output reg          dbg_flush_o,
  output reg  [1:0]   dbg_fwd_a_o,
  output reg  [1:0]   dbg_fwd_b_o,
  output wire         dbg_bank_o
);
  `include "ebpf_params.vh"

  localparam [7:0] ATOMC = ATOMIC_MEM_CYCLES[7:0];

  // ------------------------------------------------------------------
  // State (_q) and next state (_d)
  // ------------------------------------------------------------------
  reg         run_q, run_d;
  reg         pend_q, pend_d;
  reg         bank_q, bank_d;
  reg  [31:0] pc_q, pc_d;
  reg         fetch_on_q, fetch_on_d;
  reg  [31:0] seq_q, seq_d;
  reg  [63:0] exec_q, exec_d;
  // head packet
  reg  [FIFO_AW-1:0] pstart_q;
  reg  [PKT_AW:0] plen_q;
  reg         pwr_q;
  reg         stk_en_q;
  reg  [319:0] args_q;
  // IF/ID
  reg         ifid_v_q, ifid_v_d;
  reg  [31:0] ifid_pc_q, ifid_pc_d, ifid_seq_q, ifid_seq_d;
  reg  [63:0] ifid_insn_q, ifid_insn_d;
  reg  [31:0] ifid_hi_q, ifid_hi_d;
  // ID/EX
  reg         idex_v_q, idex_v_d;
  reg  [31:0] idex_pc_q, idex_pc_d, idex_seq_q, idex_seq_d;
  reg  [63:0] idex_insn_q, idex_insn_d;
  reg  [31:0] idex_hi_q, idex_hi_d;
  reg  [7:0]  ecount_q, ecount_d;
  // EX/MEM
  reg         em_v_q, em_v_d;
  reg  [31:0] em_pc_q, em_pc_d, em_seq_q, em_seq_d;
  reg  [63:0] em_insn_q, em_insn_d;
  reg  [63:0] em_val_q, em_val_d, em_addr_q, em_addr_d, em_sval_q, em_sval_d;
  reg  [63:0] em_cmp_q, em_cmp_d;
  reg  [31:0] em_hid_q, em_hid_d, em_ret_q, em_ret_d;
  reg  [1:0]  em_ctl_q, em_ctl_d;
  reg         em_flt_q, em_flt_d;
  reg  [2:0]  em_fcode_q, em_fcode_d;
  reg  [7:0]  em_mcount_q, em_mcount_d;
  reg         em_we_q, em_we_d, em_memres_q, em_memres_d;
  reg  [3:0]  em_wreg_q, em_wreg_d;
  reg  [319:0] cargs_q, cargs_d;
  // MEM/WB
  reg         mw_v_q, mw_v_d;
  reg  [31:0] mw_pc_q, mw_pc_d, mw_seq_q, mw_seq_d;
  reg  [63:0] mw_val_q, mw_val_d;
  reg         mw_we_q, mw_we_d;
  reg  [3:0]  mw_wreg_q, mw_wreg_d;
  reg  [1:0]  mw_ctl_q, mw_ctl_d;
  reg  [31:0] mw_ret_q, mw_ret_d;
  reg         mw_flt_q, mw_flt_d;
  reg  [2:0]  mw_fcode_q, mw_fcode_d;
  reg         mw_mem_q, mw_mem_d, mw_rd_q, mw_rd_d, mw_wr_q, mw_wr_d;
  reg  [63:0] mw_addr_q, mw_addr_d, mw_rdata_q, mw_rdata_d, mw_wdata_q, mw_wdata_d;
  reg  [1:0]  mw_width_q, mw_width_d;

  // ------------------------------------------------------------------
  // Units
  // ------------------------------------------------------------------
  wire [703:0] regs;
  wire [FIFO_WORDS-1:0] fifo_valid, fifo_valid_raw;
  // Valid for the head packet: not held by an older retired one.
  assign fifo_valid = fifo_valid_raw & ~fifo_held_i;
  wire         imem_loaded;
  wire [63:0]  imem_rd;
  wire [31:0]  imem_rd_next_hi;
  wire [31:0]  imem_len;
  wire [7:0]   depth;
  wire [31:0]  top_ret;
  wire [319:0] top_regs;

  // Start of a packet: in the clock its first word is valid.
  wire head_ready = (plen_q == 0) || fifo_valid[pstart_q];
  wire start      = !run_q && pend_q && head_ready && imem_loaded;
  wire running    = run_q || start;
  wire bank_e     = start ? imem_active_o : bank_q;

  // Words of the head slot, and whether all have arrived.
  reg [FIFO_WORDS-1:0] slot_mask;
  reg [FIFO_AW-1:0] srel;
  integer sw;
  wire [FIFO_AW:0] pwords = plen_q[PKT_AW:5] + {{FIFO_AW{1'b0}}, plen_q[4:0] != 5'd0};
  always @(*) begin
    for (sw = 0; sw < FIFO_WORDS; sw = sw + 1) begin
      srel = sw[FIFO_AW-1:0] - pstart_q;
      slot_mask[sw] = ({1'b0, srel} < pwords);
    end
  end
  wire pkt_complete = HOLD != 0 ? pkt_complete_i : (fifo_valid & slot_mask) == slot_mask;

  // --- decoders (one per stage that needs instruction facts) ---
  wire [10:0] id_reads;

  /* verilator lint_off PINCONNECTEMPTY */
  // Each stage's decoder instance uses only the facts that stage needs.
  ebpf_decode u_id_dec (
    .insn_i(ifid_insn_q), .valid_o(), .kind_o(), .unit_o(), .dst_o(), .src_o(),
    .reads_o(id_reads), .we_o(), .wreg_o(), .mem_result_o(), .ex_cycles_o(), .rd_dst_o(),
    .alu_op_o(), .wide_o(), .src_reg_o(), .signed_o(), .movsx_o(), .end_be_o(), .swap_o(),
    .cond_o(), .aop_o(), .fetch_o(), .width_o(), .sx_o());
  /* verilator lint_on PINCONNECTEMPTY */

  // --- register file, frame stack ---
  wire rf_we, rf_push, rf_pop, wb_retire, wb_fault, wb_mem, wb_done;
  wire [63:0] wb_r0;
  ebpf_regfile u_regfile (
    .clk_i(clk_i), .init_i(start), .args_i(args_q),
    .we_i(rf_we), .widx_i(mw_wreg_q), .wdata_i(mw_val_q),
    .push_i(rf_push), .pop_i(rf_pop), .pop_regs_i(top_regs), .regs_o(regs));

  wire fr_clear;
  ebpf_frames u_frames (
    .clk_i(clk_i), .rst_ni(rst_ni), .clear_i(fr_clear),
    .push_i(rf_push), .push_ret_i(mw_ret_q), .push_regs_i(regs[64*6 +: 320]),
    .pop_i(rf_pop), .depth_o(depth), .top_ret_o(top_ret), .top_regs_o(top_regs));

  // --- instruction memory ---
  // The slots IF reads next clock: ebpf_imem's read is registered, so it
  // takes the address (pc; the slot after it comes too, an lddw's high
  // half) and bank the latches take at this edge. The bank holds at most
  // IMEM_SLOTS slots and IF reads only below its length, so the high pc
  // bits never select a slot.
  /* verilator lint_off UNUSEDSIGNAL */
  wire [31:0] fetch_next = pc_d;
  /* verilator lint_on UNUSEDSIGNAL */
  wire        if_slot_v;
  wire [63:0] if_insn;
  wire [31:0] if_hi, if_next_pc;
  ebpf_fetch u_fetch (
    .pc_i(pc_q), .len_i(imem_len), .rd_i(imem_rd), .rd_next_hi_i(imem_rd_next_hi),
    .slot_v_o(if_slot_v), .insn_o(if_insn), .hi_o(if_hi), .next_pc_o(if_next_pc));

  ebpf_imem u_imem (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .wr_i(imem_wr_i), .wr_addr_i(imem_wr_addr_i), .wr_data_i(imem_wr_data_i),
    .len_wr_i(imem_len_wr_i), .len_i(imem_len_i), .swap_i(imem_swap_i),
    .busy_i(run_q), .busy_bank_i(bank_q),
    .active_o(imem_active_o), .wr_refused_o(imem_refused_o),
    .rd_bank_i(bank_e), .run_n_i(run_d), .bank_n_i(bank_d), .rd_addr_n_i(fetch_next[11:0]),
    .rd_data_o(imem_rd), .rd_next_hi_o(imem_rd_next_hi),
    .rd_len_o(imem_len), .active_loaded_o(imem_loaded));

  // --- EX datapath: operands through the forwarding units, ALU, mul, div,
  // branch condition, addresses ---
  wire        fx_v = em_v_q && em_we_q && !em_memres_q;
  wire        fm_v = mw_v_q && mw_we_q;
  wire [4:0]  ex_kind;
  wire [3:0]  ex_unit;
  wire [7:0]  ex_cycles;
  wire        ex_we, ex_memres, ex_branch;
  wire [3:0]  ex_wreg;
  wire [63:0] ex_val, ex_mdu, ex_addr, ex_sval, ex_cmp;
  wire [31:0] ex_hid, ex_target, ex_next;
  wire [319:0] ex_args;
  wire [1:0]  ex_fwd_a, ex_fwd_b;
  reg         ex_start;
  ebpf_execute u_execute (
    .clk_i(clk_i), .start_i(ex_start), .insn_i(idex_insn_q), .imm_hi_i(idex_hi_q),
    .pc_i(idex_pc_q), .exmem_v_i(fx_v), .exmem_idx_i(em_wreg_q), .exmem_val_i(em_val_q),
    .memwb_v_i(fm_v), .memwb_idx_i(mw_wreg_q), .memwb_val_i(mw_val_q), .regs_i(regs),
    .kind_o(ex_kind), .unit_o(ex_unit), .ex_cycles_o(ex_cycles), .we_o(ex_we),
    .wreg_o(ex_wreg), .mem_result_o(ex_memres), .val_o(ex_val), .mdu_o(ex_mdu),
    .addr_o(ex_addr), .sval_o(ex_sval), .cmp_o(ex_cmp), .hid_o(ex_hid), .args_o(ex_args),
    .branch_o(ex_branch), .target_o(ex_target), .next_o(ex_next), .fwd_a_o(ex_fwd_a),
    .fwd_b_o(ex_fwd_b));

  // --- MEM datapath: address routing, load formatting, atomic operation ---
  wire [4:0]  mem_kind;
  wire [1:0]  mem_width;
  wire        mem_fetch, in_pkt, in_stk, words_ok, astore;
  wire [PKT_AW-1:0] ring;
  wire [11:0] soff;
  wire [7:0]  st_mask;
  wire [63:0] mem_raw, mem_load, mem_sdata, anew;
  wire [63:0] fifo_rd, stk_rd;
  reg         fifo_st, stk_st;
  reg  [63:0] st_data;
  wire        fifo_free;

  // Helper memory port: taken only while MEM holds a call (its own read
  // port is idle then). Bounds as ebpf_mem_stage's for an access of
  // hmem_n_i bytes; a call waits for the whole packet, so every word of it
  // has arrived.
  wire        hm_take = hmem_rd_i && em_v_q && (mem_kind == K_CALL || mem_kind == K_CALLX);
  wire [63:0] hm_poff = hmem_addr_i - PKT_BASE;
  wire [63:0] hm_plen = {{(63-PKT_AW){1'b0}}, plen_q};
  wire [63:0] hm_n    = {60'd0, hmem_n_i};
  wire        hm_pkt  = hm_poff < hm_plen && hm_n <= hm_plen - hm_poff;
  wire [PKT_AW-1:0] hm_ring = {pstart_q, 5'd0} + hm_poff[PKT_AW-1:0];
  // Offsets above 4 KiB are out of the RAM (hm_stk is false).
  /* verilator lint_off UNUSEDSIGNAL */
  wire [63:0] hm_soff = hmem_addr_i - STACK_BASE;
  /* verilator lint_on UNUSEDSIGNAL */
  wire        hm_stk  = stk_en_q && hm_soff < STACK_SIZE && hm_n <= STACK_SIZE - hm_soff;
  assign hmem_ok_o    = hm_take && hmem_n_i != 4'd0 && (hm_pkt || hm_stk);
  assign hmem_rdata_o = hm_pkt ? fifo_rd : stk_rd;
  // The write side: the stack at and above STACK_BASE, else the packet.
  wire        hw_take = hmem_wr_i && em_v_q && (mem_kind == K_CALL || mem_kind == K_CALLX);
  wire        hw_stk  = hmem_waddr_i >= STACK_BASE;
  /* verilator lint_off UNUSEDSIGNAL */
  wire [63:0] hw_poff = hmem_waddr_i - PKT_BASE;
  wire [63:0] hw_soff = hmem_waddr_i - STACK_BASE;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [PKT_AW-1:0] hw_ring = {pstart_q, 5'd0} + hw_poff[PKT_AW-1:0];
  wire [7:0]  hw_mask = ~(8'hff << hmem_wn_i);

  ebpf_mem_stage u_mem_stage (
    .insn_i(em_insn_q), .addr_i(em_addr_q), .sval_i(em_sval_q), .cmp_i(em_cmp_q),
    .pkt_start_i(pstart_q), .pkt_len_i(plen_q), .stack_en_i(stk_en_q),
    .fifo_valid_i(fifo_valid), .fifo_rd_i(fifo_rd), .stack_rd_i(stk_rd),
    .ext_rdata_i(ext_rdata_i),
    .kind_o(mem_kind), .aop_o(ext_aop_o), .width_o(mem_width), .fetch_o(mem_fetch), .in_pkt_o(in_pkt),
    .in_stack_o(in_stk), .words_ok_o(words_ok), .ring_o(ring), .stack_off_o(soff),
    .st_mask_o(st_mask), .raw_o(mem_raw), .load_o(mem_load), .sdata_o(mem_sdata),
    .anew_o(anew), .astore_o(astore));

  assign fifo_valid_o = fifo_valid_raw;
  ebpf_fifo_md #(.LEN_LANE(LEN_LANE)) u_fifo (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .wr_i(fifo_wr_i), .wr_word_i(fifo_wr_word_i), .wr_data_i(fifo_wr_data_i),
    .rd_addr_i(hm_take ? hm_ring : ring), .rd_data_o(fifo_rd),
    .st_i(fifo_st || hw_take && !hw_stk), .st_addr_i(hw_take ? hw_ring : ring),
    .st_mask_i(hw_take ? hw_mask : st_mask), .st_data_i(hw_take ? hmem_wdata_i : st_data),
    .free_i(fifo_free && HOLD == 0), .free_start_i(pstart_q), .free_words_i(pwords),
    .xfree_i(fifo_xfree_i), .valid_o(fifo_valid_raw),
    .eg_addr_i(fifo_eg_addr_i), .eg_data_o(fifo_eg_data_o),
    .eg_hdr_i(fifo_eg_hdr_i), .eg_len_o(fifo_eg_len_o));

  ebpf_stack_ram u_stack (
    .clk_i(clk_i), .rd_addr_i(hm_take ? hm_soff[11:0] : soff), .rd_data_o(stk_rd),
    .st_i(stk_st || hw_take && hw_stk), .st_addr_i(hw_take ? hw_soff[11:0] : soff),
    .st_mask_i(hw_take ? hw_mask : st_mask), .st_data_i(hw_take ? hmem_wdata_i : st_data));

  assign ext_addr_o  = em_addr_q;
  assign ext_width_o = mem_width;
  assign helper_id_o = em_hid_q;
  assign helper_arg1_o = cargs_q[63:0];
  assign helper_arg2_o = cargs_q[127:64];
  assign helper_arg3_o = cargs_q[191:128];
  assign helper_arg4_o = cargs_q[255:192];
  assign helper_arg5_o = cargs_q[319:256];

  // ------------------------------------------------------------------
  // One clock: WB, MEM, EX, ID, IF (the model's order), one block per
  // stage, as vm::pipeline::Engine's wb_stage .. if_stage. Each stage block
  // computes what its stage does this clock and raises its stall causes;
  // the hazard signals between stages are named: kill (a fault or an unwind
  // in MEM discards IF, ID and EX), frozen (MEM or EX holds, nothing behind
  // them moves), flush, redirect. The latch blocks after them give each
  // pipeline latch its next value from those signals, and ebpf_stall_enc,
  // the one priority encoder, reports the cause (docs/pipeline.md).
  // ------------------------------------------------------------------
  wire load_use;                    // ebpf_hazard, below
  wire live = running && !wb_done;   // a running clock that is not the verdict's
  wire   mem_go      = live && em_v_q && !em_flt_q;
  assign ext_st_o    = mem_go && (mem_kind == K_ST || mem_kind == K_STX);
  assign ext_at_o    = mem_go && mem_kind == K_ATOMIC && !(em_mcount_q + 8'd1 < ATOMC);
  assign ext_sdata_o = mem_sdata;
  assign ext_cmp_o   = em_cmp_q;
  wire wb_end = running && wb_done;  // the verdict: WB retired the last instruction

  // ---------------- WB (ebpf_writeback) ----------------
  assign fr_clear  = wb_end;
  assign fifo_free = wb_end;
  always @(*) begin : wb_stage
    dbg_retire_o = wb_retire; dbg_fault_o = wb_fault; dbg_reg_we_o = rf_we;
    dbg_mem_v_o = wb_mem; dbg_r0_o = wb_r0; dbg_done_o = wb_end;
  end

  // ---------------- MEM ----------------
  // Causes: mem_wait_fifo (FifoWait), mem_wait_atomic (Atomic),
  // mem_wait_helper (Helper). The value, the memory record and the fault go
  // to MEM/WB; the strobes go to FIFO_MD, the stack, the ext_* port and the
  // helper unit.
  reg         mem_wait_fifo, mem_wait_atomic, mem_wait_helper;
  reg         mem_fault, mem_unwind;
  reg  [2:0]  mem_fcode;
  reg  [63:0] mem_val, mem_rdata, mem_wdata;
  reg         mem_rec, mem_rd, mem_wr;
  always @(*) begin : mem_stage
    mem_wait_fifo = 1'b0; mem_wait_atomic = 1'b0; mem_wait_helper = 1'b0;
    mem_fault = 1'b0; mem_unwind = 1'b0; mem_fcode = 3'd0;
    mem_val = em_val_q; mem_rec = 1'b0; mem_rd = 1'b0; mem_wr = 1'b0;
    mem_rdata = 64'd0; mem_wdata = 64'd0;
    fifo_st = 1'b0; stk_st = 1'b0; st_data = 64'd0;
    ext_rd_o = 1'b0; ext_wr_o = 1'b0; ext_wdata_o = 64'd0; helper_req_o = 1'b0;
    if (live && em_v_q && !em_flt_q) begin
      case (mem_kind)
        K_LDX, K_LDABS, K_LDIND: begin
          if (in_pkt && !words_ok) begin
            mem_wait_fifo = 1'b1;
          end else begin
            ext_rd_o = !in_pkt && !in_stk;
            if (ext_rd_o && ext_rd_fault_i) begin
              mem_fault = 1'b1; mem_fcode = FAULT_MEM;
            end else begin
              mem_val = mem_load;
              mem_rec = 1'b1; mem_rd = 1'b1; mem_rdata = mem_raw;
            end
          end
        end
        K_ST, K_STX: begin
          if (in_pkt && !words_ok) begin
            mem_wait_fifo = 1'b1;
          end else begin
            st_data = em_sval_q;
            if (in_pkt && pwr_q) fifo_st = 1'b1;
            else if (in_stk) stk_st = 1'b1;
            else begin
              ext_wr_o = 1'b1; ext_wdata_o = mem_sdata;
            end
            if (ext_wr_o && ext_wr_fault_i) begin
              mem_fault = 1'b1; mem_fcode = FAULT_MEM;
            end else begin
              mem_rec = 1'b1; mem_wr = 1'b1; mem_wdata = mem_sdata;
            end
          end
        end
        K_ATOMIC: begin
          if (in_pkt && !words_ok) begin
            mem_wait_fifo = 1'b1;
          end else if (em_mcount_q + 8'd1 < ATOMC) begin
            mem_wait_atomic = 1'b1;
          end else begin
            ext_rd_o = !in_pkt && !in_stk;
            if (ext_rd_o && ext_rd_fault_i) begin
              mem_fault = 1'b1; mem_fcode = FAULT_MEM;
            end else begin
              if (astore) begin
                st_data = anew;
                if (in_pkt && pwr_q) fifo_st = 1'b1;
                else if (in_stk) stk_st = 1'b1;
                else begin
                  ext_wr_o = 1'b1; ext_wdata_o = anew;
                end
              end
              if (ext_wr_o && ext_wr_fault_i) begin
                mem_fault = 1'b1; mem_fcode = FAULT_MEM;
              end else begin
                if (mem_fetch) mem_val = mem_raw;
                mem_rec = 1'b1; mem_rd = 1'b1; mem_rdata = mem_raw;
                mem_wr = astore; mem_wdata = anew;
              end
            end
          end
        end
        K_CALL, K_CALLX: begin
          if (plen_q != 0 && !pkt_complete) begin
            mem_wait_fifo = 1'b1;
          end else begin
            helper_req_o = 1'b1;
            if (!helper_ack_i) begin
              mem_wait_helper = 1'b1;
            end else if (helper_fault_i) begin
              mem_fault = 1'b1; mem_fcode = helper_fault_code_i;
            end else begin
              mem_val = helper_ret_i;
              mem_unwind = helper_unwind_i;
            end
          end
        end
        default: ;
      endcase
    end
  end
  wire mem_stall = mem_wait_fifo || mem_wait_atomic || mem_wait_helper;
  wire kill      = mem_fault || mem_unwind;

  // ---------------- EX ----------------
  // Causes: ex_busy_mul (Mul), ex_busy_div (Div), a multi-cycle unit
  // counting. ex_out: a result enters EX/MEM; ex_stop: fetch stops (exit,
  // a budget or call-depth fault); redirect: a taken branch, call or return.
  reg         ex_go, ex_out, ex_exec, ex_stop, ex_flt, redirect;
  reg         ex_busy_mul, ex_busy_div;
  reg  [2:0]  ex_fcode;
  reg  [1:0]  ex_ctl;
  reg  [31:0] ex_ret, target;
  reg  [7:0]  ex_count;
  always @(*) begin : ex_stage
    ex_go = live && !mem_stall && idex_v_q && !kill;
    ex_out = 1'b0; ex_exec = 1'b0; ex_stop = 1'b0; ex_flt = 1'b0; redirect = 1'b0;
    ex_busy_mul = 1'b0; ex_busy_div = 1'b0; ex_fcode = 3'd0; ex_ctl = CTL_NONE;
    ex_ret = 32'd0; target = 32'd0; ex_count = ecount_q; ex_start = 1'b0;
    dbg_fwd_a_o = FWD_NONE; dbg_fwd_b_o = FWD_NONE;
    if (ex_go) begin
      if (ecount_q == 8'd0) begin
        // First EX clock: the budget, the operands, the unit's result.
        if (exec_q >= budget_i) begin
          ex_flt = 1'b1; ex_fcode = FAULT_BUDGET; ex_stop = 1'b1;
        end else begin
          ex_exec = 1'b1; ex_start = 1'b1;
          dbg_fwd_a_o = ex_fwd_a; dbg_fwd_b_o = ex_fwd_b;
          case (ex_kind)
            K_JMP, K_JA, K_JA32: begin
              redirect = ex_branch; target = ex_target;
            end
            K_CALLLOCAL: begin
              if (depth + 8'd1 >= max_frames_i) begin
                ex_flt = 1'b1; ex_fcode = FAULT_CALL_DEPTH; ex_stop = 1'b1;
                dbg_fwd_a_o = FWD_NONE; dbg_fwd_b_o = FWD_NONE;
              end else begin
                ex_ctl = CTL_CALL; ex_ret = ex_next;
                redirect = 1'b1; target = ex_target;
              end
            end
            K_EXIT: begin
              if (depth == 8'd0) begin
                ex_ctl = CTL_FINAL; ex_stop = 1'b1;
              end else begin
                ex_ctl = CTL_RET;
                redirect = 1'b1; target = top_ret;
              end
            end
            default: ;
          endcase
        end
        if (!ex_flt && ex_cycles > 8'd1) begin
          ex_count = 8'd1;
          ex_busy_mul = ex_unit == U_MUL; ex_busy_div = ex_unit != U_MUL;
        end else begin
          ex_out = 1'b1;
        end
      end else begin
        // A multi-cycle unit counting down.
        ex_count = ecount_q + 8'd1;
        if (ecount_q + 8'd1 < ex_cycles) begin
          ex_busy_mul = ex_unit == U_MUL; ex_busy_div = ex_unit != U_MUL;
        end else begin
          ex_out = 1'b1;
        end
      end
    end
  end
  wire ex_stall = ex_busy_mul || ex_busy_div;
  wire flush    = (kill && fetch_on_q) || redirect || ex_stop;
  wire frozen   = mem_stall || ex_stall;

  // ---------------- ID ----------------
  // Cause: id_wait_load_use (LoadUse, from ebpf_hazard).
  wire id_try           = live && !frozen && !flush && ifid_v_q && !kill;
  wire id_wait_load_use = id_try && load_use;
  wire id_advance       = id_try && !load_use;

  // ---------------- IF ----------------
  // No stall cause of its own: an lddw's two slots are fetched in one
  // clock (contract::LDDW_FETCH_CYCLES = 1, ebpf_imem).
  wire fetch_on_next = wb_end ? 1'b1 : ((live && (kill || ex_stop)) ? 1'b0 : fetch_on_q);
  wire if_go         = live && !redirect && !flush && !frozen && !id_wait_load_use
                       && fetch_on_next;
  wire if_out        = if_go && if_slot_v;

  // ---------------- stall cause ----------------
  wire [STALL_COUNT-1:0] stall_cause;
  assign stall_cause[STALL_NONE]      = 1'b0;
  assign stall_cause[STALL_FIFOWAIT]  = mem_wait_fifo;
  assign stall_cause[STALL_ATOMIC]    = mem_wait_atomic;
  assign stall_cause[STALL_HELPER]    = mem_wait_helper;
  assign stall_cause[STALL_MUL]       = ex_busy_mul;
  assign stall_cause[STALL_DIV]       = ex_busy_div;
  assign stall_cause[STALL_LOADUSE]   = id_wait_load_use;
  assign stall_cause[STALL_DRAIN]     = wb_end || (live && !fetch_on_next);
  assign stall_cause[STALL_IDLE]      = !running;
  wire [3:0] stall;
  ebpf_stall_enc #(.N(STALL_COUNT)) u_stall_enc (.cause_i(stall_cause), .stall_o(stall));
  always @(*) begin : dbg_cycle
    dbg_stall_o = stall;
    dbg_flush_o = live && flush;
  end

  ebpf_hazard u_hazard (
    .id_v_i(ifid_v_q), .id_reads_i(id_reads),
    // The instruction leaving EX this clock: results made in MEM come only
    // from single-cycle EX units, so it leaves whenever ID/EX holds it.
    .exmem_v_i(idex_v_q), .exmem_mem_result_i(ex_memres), .exmem_wreg_i(ex_wreg),
    .load_use_o(load_use));

  ebpf_writeback u_writeback (
    .run_i(running), .v_i(mw_v_q), .fault_i(mw_flt_q), .we_i(mw_we_q), .wreg_i(mw_wreg_q),
    .val_i(mw_val_q), .ctl_i(mw_ctl_q), .mem_i(mw_mem_q), .r0_i(regs[63:0]),
    .retire_o(wb_retire), .fault_o(wb_fault), .rf_we_o(rf_we), .push_o(rf_push),
    .pop_o(rf_pop), .mem_o(wb_mem), .end_o(wb_done), .r0_o(wb_r0));

  // ---------------- latches: next values ----------------
  // Engine state: a packet starts (start) and ends (wb_end).
  always @(*) begin : engine_latch
    run_d = wb_end ? 1'b0 : (start ? 1'b1 : run_q);
    pend_d = wb_end ? 1'b0 : pend_q;
    bank_d = bank_e;
    fetch_on_d = running ? fetch_on_next : fetch_on_q;
    exec_d = wb_end ? 64'd0 : (ex_exec ? exec_q + 64'd1 : exec_q);
  end

  // IF/ID and the pc.
  always @(*) begin : ifid_latch
    pc_d = pc_q; seq_d = seq_q;
    ifid_v_d = ifid_v_q; ifid_pc_d = ifid_pc_q; ifid_seq_d = ifid_seq_q;
    ifid_insn_d = ifid_insn_q; ifid_hi_d = ifid_hi_q;
    if (wb_end) begin
      ifid_v_d = 1'b0; pc_d = 32'd0; seq_d = 32'd0;
    end else if (live) begin
      if (kill || id_advance) ifid_v_d = 1'b0;
      if (redirect) begin
        pc_d = target; ifid_v_d = 1'b0;
        if (fetch_on_q) seq_d = seq_q + 32'd1;
      end else if (flush) begin
        ifid_v_d = 1'b0;
      end else if (if_out) begin
        ifid_v_d = 1'b1; ifid_pc_d = pc_q; ifid_seq_d = seq_q;
        ifid_insn_d = if_insn; ifid_hi_d = if_hi;
        seq_d = seq_q + 32'd1; pc_d = if_next_pc;
      end else if (if_go) begin
        ifid_v_d = 1'b0;  // a speculative fetch past the end of the program
      end
    end
  end

  // ID/EX and the multi-cycle count.
  always @(*) begin : idex_latch
    idex_v_d = idex_v_q; idex_pc_d = idex_pc_q; idex_seq_d = idex_seq_q;
    idex_insn_d = idex_insn_q; idex_hi_d = idex_hi_q; ecount_d = ecount_q;
    if (wb_end) begin
      idex_v_d = 1'b0;
    end else if (live) begin
      if (kill || ex_out) idex_v_d = 1'b0;
      if (ex_go) ecount_d = ex_count;
      if (id_advance) begin
        idex_v_d = 1'b1; idex_pc_d = ifid_pc_q; idex_seq_d = ifid_seq_q;
        idex_insn_d = ifid_insn_q; idex_hi_d = ifid_hi_q; ecount_d = 8'd0;
      end
    end
  end

  // EX/MEM and the call arguments; the atomic's count while MEM holds.
  always @(*) begin : exmem_latch
    em_v_d = em_v_q; em_pc_d = em_pc_q; em_seq_d = em_seq_q; em_insn_d = em_insn_q;
    em_val_d = em_val_q; em_addr_d = em_addr_q; em_sval_d = em_sval_q; em_cmp_d = em_cmp_q;
    em_hid_d = em_hid_q; em_ret_d = em_ret_q; em_ctl_d = em_ctl_q; em_flt_d = em_flt_q;
    em_fcode_d = em_fcode_q; em_mcount_d = em_mcount_q; em_we_d = em_we_q;
    em_memres_d = em_memres_q; em_wreg_d = em_wreg_q; cargs_d = cargs_q;
    if (wb_end) begin
      em_v_d = 1'b0;
    end else if (live && mem_stall) begin
      if (mem_wait_atomic) em_mcount_d = em_mcount_q + 8'd1;
    end else if (live) begin
      em_v_d = ex_out;
      if (ex_go && (ecount_q == 8'd0 || ex_out)) begin
        em_pc_d = idex_pc_q; em_seq_d = idex_seq_q; em_insn_d = idex_insn_q;
        em_val_d = 64'd0; em_addr_d = 64'd0; em_sval_d = 64'd0; em_cmp_d = 64'd0;
        em_hid_d = 32'd0; em_ret_d = ex_ret; em_ctl_d = ex_ctl; em_flt_d = ex_flt;
        em_fcode_d = ex_fcode; em_mcount_d = 8'd0;
        em_we_d = ex_we; em_wreg_d = ex_wreg; em_memres_d = ex_memres;
        if (ecount_q != 8'd0) begin
          em_val_d = ex_mdu;
        end else if (ex_exec) begin
          em_val_d = ex_val; em_addr_d = ex_addr; em_sval_d = ex_sval;
          em_cmp_d = ex_cmp; em_hid_d = ex_hid;
          if (ex_kind == K_CALL || ex_kind == K_CALLX) cargs_d = ex_args;
        end
      end
    end
  end

  // MEM/WB: WB takes it every clock; MEM fills it unless it holds.
  always @(*) begin : memwb_latch
    mw_v_d = mw_v_q; mw_pc_d = mw_pc_q; mw_seq_d = mw_seq_q; mw_val_d = mw_val_q;
    mw_we_d = mw_we_q; mw_wreg_d = mw_wreg_q; mw_ctl_d = mw_ctl_q; mw_ret_d = mw_ret_q;
    mw_flt_d = mw_flt_q; mw_fcode_d = mw_fcode_q; mw_mem_d = mw_mem_q; mw_rd_d = mw_rd_q;
    mw_wr_d = mw_wr_q; mw_addr_d = mw_addr_q; mw_rdata_d = mw_rdata_q; mw_wdata_d = mw_wdata_q;
    mw_width_d = mw_width_q;
    if (running) mw_v_d = live && em_v_q && !mem_stall;
    if (live && em_v_q) begin
      mw_pc_d = em_pc_q; mw_seq_d = em_seq_q; mw_val_d = mem_val; mw_we_d = em_we_q;
      mw_wreg_d = em_wreg_q; mw_ctl_d = mem_unwind ? CTL_FINAL : em_ctl_q; mw_ret_d = em_ret_q;
      mw_flt_d = em_flt_q || mem_fault; mw_fcode_d = mem_fault ? mem_fcode : em_fcode_q;
      mw_mem_d = mem_rec; mw_rd_d = mem_rd; mw_wr_d = mem_wr;
      mw_addr_d = em_addr_q; mw_width_d = mem_width; mw_rdata_d = mem_rdata;
      mw_wdata_d = mem_wdata;
    end
  end

  // ------------------------------------------------------------------
  // Registers
  // ------------------------------------------------------------------
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      run_q <= 1'b0; pend_q <= 1'b0; bank_q <= 1'b0; pc_q <= 32'd0; fetch_on_q <= 1'b1;
      seq_q <= 32'd0; exec_q <= 64'd0;
      ifid_v_q <= 1'b0; idex_v_q <= 1'b0; em_v_q <= 1'b0; mw_v_q <= 1'b0;
      pstart_q <= {FIFO_AW{1'b0}}; plen_q <= {(PKT_AW+1){1'b0}}; pwr_q <= 1'b0; stk_en_q <= 1'b0;
    end else begin
      run_q <= run_d; pend_q <= pend_d; bank_q <= bank_d; pc_q <= pc_d;
      fetch_on_q <= fetch_on_d; seq_q <= seq_d; exec_q <= exec_d;
      ifid_v_q <= ifid_v_d; idex_v_q <= idex_v_d; em_v_q <= em_v_d; mw_v_q <= mw_v_d;
      // A descriptor is taken while idle or in the clock the running
      // packet's verdict is taken (the next packet may start right after).
      if (pkt_push_i && (!running || dbg_done_o)) begin
        pend_q <= 1'b1; pstart_q <= pkt_start_i; plen_q <= pkt_len_i;
        pwr_q <= pkt_writable_i; stk_en_q <= stack_en_i;
      end
    end
  end

  always @(posedge clk_i) begin
    ifid_pc_q <= ifid_pc_d; ifid_seq_q <= ifid_seq_d; ifid_insn_q <= ifid_insn_d;
    ifid_hi_q <= ifid_hi_d;
    idex_pc_q <= idex_pc_d; idex_seq_q <= idex_seq_d; idex_insn_q <= idex_insn_d;
    idex_hi_q <= idex_hi_d; ecount_q <= ecount_d;
    em_pc_q <= em_pc_d; em_seq_q <= em_seq_d; em_insn_q <= em_insn_d; em_val_q <= em_val_d;
    em_addr_q <= em_addr_d; em_sval_q <= em_sval_d; em_cmp_q <= em_cmp_d; em_hid_q <= em_hid_d;
    em_ret_q <= em_ret_d; em_ctl_q <= em_ctl_d; em_flt_q <= em_flt_d; em_fcode_q <= em_fcode_d;
    em_mcount_q <= em_mcount_d; em_we_q <= em_we_d; em_memres_q <= em_memres_d;
    em_wreg_q <= em_wreg_d; cargs_q <= cargs_d;
    mw_pc_q <= mw_pc_d; mw_seq_q <= mw_seq_d; mw_val_q <= mw_val_d; mw_we_q <= mw_we_d;
    mw_wreg_q <= mw_wreg_d; mw_ctl_q <= mw_ctl_d; mw_ret_q <= mw_ret_d; mw_flt_q <= mw_flt_d;
    mw_fcode_q <= mw_fcode_d; mw_mem_q <= mw_mem_d; mw_rd_q <= mw_rd_d; mw_wr_q <= mw_wr_d;
    mw_addr_q <= mw_addr_d; mw_rdata_q <= mw_rdata_d; mw_wdata_q <= mw_wdata_d;
    mw_width_q <= mw_width_d;
    if (pkt_push_i && (!running || dbg_done_o))
      args_q <= {pkt_arg5_i, pkt_arg4_i, pkt_arg3_i, pkt_arg2_i, pkt_arg1_i};
  end

  // ------------------------------------------------------------------
  // Debug outputs
  // ------------------------------------------------------------------
  assign pkt_pending_o    = pend_q;
  assign dbg_retire_pc_o  = mw_pc_q;
  assign dbg_reg_idx_o    = mw_wreg_q;
  assign dbg_reg_val_o    = mw_val_q;
  assign dbg_mem_addr_o   = mw_addr_q;
  assign dbg_mem_width_o  = mw_width_q;
  assign dbg_mem_rd_o     = mw_rd_q;
  assign dbg_mem_rdata_o  = mw_rdata_q;
  assign dbg_mem_wr_o     = mw_wr_q;
  assign dbg_mem_wdata_o  = mw_wdata_q;
  assign dbg_fault_code_o = mw_fcode_q;
  assign dbg_running_o    = running;
  assign dbg_stage_v_o    = running ? {mw_v_q, em_v_q, idex_v_q, ifid_v_q,
                                       fetch_on_q && if_slot_v} : 5'd0;
  assign dbg_pc_if_o      = pc_q;
  assign dbg_pc_id_o      = ifid_pc_q;
  assign dbg_pc_ex_o      = idex_pc_q;
  assign dbg_pc_mem_o     = em_pc_q;
  assign dbg_pc_wb_o      = mw_pc_q;
  assign dbg_seq_if_o     = seq_q;
  assign dbg_seq_id_o     = ifid_seq_q;
  assign dbg_seq_ex_o     = idex_seq_q;
  assign dbg_seq_mem_o    = em_seq_q;
  assign dbg_seq_wb_o     = mw_seq_q;
  // The bank the engine reads; idle, the one the next packet will latch.
  assign dbg_bank_o       = running ? bank_e : imem_active_o;

endmodule
