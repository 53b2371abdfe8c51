// ebpf_decode: instruction decode for one pipeline stage. The facts come
// from ebpf_decode_rom (generated from the ISA table); this module derives
// what the pipeline needs from them, as vm::pipeline::decode does: the
// register set read (for the hazard unit), the register written, whether the
// result is made in MEM (loads, atomic fetches, helper r0), and the clocks
// the instruction spends in EX.
module ebpf_decode (
  input  wire [63:0] insn_i,
  output wire        valid_o,
  output wire [4:0]  kind_o,
  output wire [3:0]  unit_o,
  output wire [3:0]  dst_o,
  output wire [3:0]  src_o,
  output wire [10:0] reads_o,
  output wire        we_o,
  output wire [3:0]  wreg_o,
  output wire        mem_result_o,
  output wire [7:0]  ex_cycles_o,
  output wire        rd_dst_o,
  output wire [3:0]  alu_op_o,
  output wire        wide_o,
  output wire        src_reg_o,
  output wire        signed_o,
  output wire [5:0]  movsx_o,
  output wire        end_be_o,
  output wire        swap_o,
  output wire [3:0]  cond_o,
  output wire [2:0]  aop_o,
  output wire        fetch_o,
  output wire [1:0]  width_o,
  output wire        sx_o
);
  `include "ebpf_params.vh"

  wire        rd_src;
  wire [10:0] rd_fixed;
  wire [1:0]  wr;

  ebpf_decode_rom u_rom (
    .opc_i(insn_i[7:0]), .src_i(insn_i[15:12]), .off_i(insn_i[31:16]), .imm_i(insn_i[63:32]),
    .valid_o(valid_o), .kind_o(kind_o), .unit_o(unit_o), .rd_dst_o(rd_dst_o), .rd_src_o(rd_src),
    .rd_fixed_o(rd_fixed), .wr_o(wr), .alu_op_o(alu_op_o), .wide_o(wide_o),
    .src_reg_o(src_reg_o), .signed_o(signed_o), .movsx_o(movsx_o), .end_be_o(end_be_o),
    .swap_o(swap_o), .cond_o(cond_o), .aop_o(aop_o), .fetch_o(fetch_o), .width_o(width_o),
    .sx_o(sx_o));

  assign dst_o   = insn_i[11:8];
  assign src_o   = insn_i[15:12];
  assign reads_o = rd_fixed | (rd_dst_o ? (11'd1 << dst_o) : 11'd0)
                            | (rd_src   ? (11'd1 << src_o) : 11'd0);
  assign we_o    = wr != WR_NONE;
  assign wreg_o  = (wr == WR_DST) ? dst_o : (wr == WR_SRC) ? src_o : 4'd0;
  assign mem_result_o = we_o && (unit_o == U_LOAD || unit_o == U_ATOMIC || unit_o == U_CALL);
  assign ex_cycles_o  = (unit_o == U_MUL) ? MUL_CYCLES[7:0] :
                        (unit_o == U_DIV) ? (wide_o ? DIV64_CYCLES[7:0] : DIV32_CYCLES[7:0])
                                          : 8'd1;

endmodule
