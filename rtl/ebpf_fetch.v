// ebpf_fetch: the IF stage's datapath. Given the slot at pc and the imm
// field of the one after it from the latched bank (rd_i, rd_next_hi_i,
// read by ebpf_imem at the address the engine named a clock before), says
// what IF does with them when the pipeline lets it fetch: nothing past the
// bank's length;
// otherwise an instruction goes to IF/ID (an lddw with both halves, its
// high immediate from the next slot, contract::LDDW_FETCH_CYCLES = 1) and
// pc moves past it. Redirects, flushes and stalls are the engine's control.
module ebpf_fetch (
  input  wire [31:0] pc_i,
  input  wire [31:0] len_i,
  input  wire [63:0] rd_i,
  input  wire [31:0] rd_next_hi_i,
  output wire        slot_v_o,
  output wire [63:0] insn_o,
  output wire [31:0] hi_o,
  output wire [31:0] next_pc_o
);
  `include "ebpf_params.vh"

  wire        valid;
  wire [3:0]  unit;

  /* verilator lint_off PINCONNECTEMPTY */
  // IF needs only to know an lddw (two slots).
  ebpf_decode u_dec (
    .insn_i(rd_i), .valid_o(valid), .kind_o(), .unit_o(unit), .dst_o(), .src_o(), .reads_o(),
    .we_o(), .wreg_o(), .mem_result_o(), .ex_cycles_o(), .rd_dst_o(), .alu_op_o(), .wide_o(),
    .src_reg_o(), .signed_o(), .movsx_o(), .end_be_o(), .swap_o(), .cond_o(), .aop_o(),
    .fetch_o(), .width_o(), .sx_o());
  /* verilator lint_on PINCONNECTEMPTY */

  wire lddw = valid && unit == U_LDDW;
  assign slot_v_o  = pc_i < len_i;
  assign insn_o    = rd_i;
  assign hi_o      = lddw ? rd_next_hi_i : 32'd0;
  assign next_pc_o = pc_i + (lddw ? 32'd2 : 32'd1);

endmodule
