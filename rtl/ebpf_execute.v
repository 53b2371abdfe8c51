// ebpf_execute: the EX stage's datapath. Decodes the instruction in ID/EX,
// reads its operands through the forwarding units (dst, src, r0 for
// cmpxchg, r1..r5 for helper arguments), and computes what EX makes: the ALU
// result (or lddw's immediate), the memory address and store value, a
// helper call's id and arguments, the branch decision and target. The
// multiplier and divider start on start_i (first EX clock of the
// instruction) and give mdu_o in its last EX clock. The forward selects are
// reported for the operands the instruction reads, as the model records
// them. When EX moves on, stalls and counts is the engine's control.
module ebpf_execute (
  input  wire         clk_i,
  input  wire         start_i,
  input  wire [63:0]  insn_i,
  input  wire [31:0]  imm_hi_i,
  input  wire [31:0]  pc_i,
  // forwarding sources, as they stand at the start of the clock
  input  wire         exmem_v_i,
  input  wire [3:0]   exmem_idx_i,
  input  wire [63:0]  exmem_val_i,
  input  wire         memwb_v_i,
  input  wire [3:0]   memwb_idx_i,
  input  wire [63:0]  memwb_val_i,
  input  wire [703:0] regs_i,
  // decode facts the control needs
  output wire [4:0]   kind_o,
  output wire [3:0]   unit_o,
  output wire [7:0]   ex_cycles_o,
  output wire         we_o,
  output wire [3:0]   wreg_o,
  output wire         mem_result_o,
  // results
  output reg  [63:0]  val_o,
  output wire [63:0]  mdu_o,
  output reg  [63:0]  addr_o,
  output reg  [63:0]  sval_o,
  output wire [63:0]  cmp_o,
  output reg  [31:0]  hid_o,
  output wire [319:0] args_o,
  output reg          branch_o,
  output reg  [31:0]  target_o,
  output wire [31:0]  next_o,
  output reg  [1:0]   fwd_a_o,
  output reg  [1:0]   fwd_b_o
);
  `include "ebpf_params.vh"

  wire [3:0]  dst, src, alu_op, cond;
  wire [10:0] reads;
  wire        wide, src_reg, signed_op, end_be, swap;
  wire [5:0]  movsx;

  /* verilator lint_off PINCONNECTEMPTY */
  // Memory-access facts are the MEM stage's.
  ebpf_decode u_dec (
    .insn_i(insn_i), .valid_o(), .kind_o(kind_o), .unit_o(unit_o), .dst_o(dst), .src_o(src),
    .reads_o(reads), .we_o(we_o), .wreg_o(wreg_o), .mem_result_o(mem_result_o),
    .ex_cycles_o(ex_cycles_o), .rd_dst_o(), .alu_op_o(alu_op), .wide_o(wide),
    .src_reg_o(src_reg), .signed_o(signed_op), .movsx_o(movsx), .end_be_o(end_be),
    .swap_o(swap), .cond_o(cond), .aop_o(), .fetch_o(), .width_o(), .sx_o());
  /* verilator lint_on PINCONNECTEMPTY */

  // Forwarding: 0 dst, 1 src, 2 r0, 3..7 r1..r5.
  wire [63:0] fv [0:7];
  wire [1:0]  fs [0:7];
  wire [3:0]  fidx [0:7];
  assign fidx[0] = dst;
  assign fidx[1] = src;
  assign fidx[2] = 4'd0;
  assign fidx[3] = 4'd1;
  assign fidx[4] = 4'd2;
  assign fidx[5] = 4'd3;
  assign fidx[6] = 4'd4;
  assign fidx[7] = 4'd5;
  genvar gf;
  generate
    for (gf = 0; gf < 8; gf = gf + 1) begin : gen_fwd
      ebpf_fwd u_fwd (
        .idx_i(fidx[gf]), .exmem_v_i(exmem_v_i), .exmem_idx_i(exmem_idx_i),
        .exmem_val_i(exmem_val_i), .memwb_v_i(memwb_v_i), .memwb_idx_i(memwb_idx_i),
        .memwb_val_i(memwb_val_i), .regs_i(regs_i), .val_o(fv[gf]), .sel_o(fs[gf]));
    end
  endgenerate

  wire [63:0] imm64 = {{32{insn_i[63]}}, insn_i[63:32]};
  wire [63:0] off64 = {{48{insn_i[31]}}, insn_i[31:16]};
  // An ALU operation reads dst when the table says it reads that register
  // (mov reads only src; `mov r3, r3` still reads r3).
  wire        alu_a_read = reads[dst];
  wire [63:0] alu_a = (kind_o == K_ALU && !alu_a_read) ? 64'd0 : fv[0];
  wire [63:0] alu_b = src_reg ? fv[1] : imm64;
  wire [63:0] alu_y, mul_y, div_y;

  ebpf_alu u_alu (
    .op_i(alu_op), .wide_i(wide), .off_i({10'd0, movsx}), .imm_i(insn_i[63:32]),
    .end_be_i(end_be), .swap_i(swap), .a_i(alu_a), .b_i(alu_b), .y_o(alu_y));
  ebpf_mul u_mul (
    .clk_i(clk_i), .start_i(start_i && unit_o == U_MUL), .wide_i(wide), .a_i(alu_a),
    .b_i(alu_b), .y_o(mul_y));
  ebpf_div u_div (
    .clk_i(clk_i), .start_i(start_i && unit_o == U_DIV), .wide_i(wide), .signed_i(signed_op),
    .rem_i(alu_op == ALU_MOD), .a_i(alu_a), .b_i(alu_b), .y_o(div_y));
  assign mdu_o = (unit_o == U_MUL) ? mul_y : div_y;

  // Branch condition (vm::sem::cond); COND_* of ebpf_params.vh.
  wire [63:0] ca  = wide ? fv[0] : {32'd0, fv[0][31:0]};
  wire [63:0] cb  = wide ? alu_b : {32'd0, alu_b[31:0]};
  wire [63:0] csa = wide ? fv[0] : {{32{fv[0][31]}}, fv[0][31:0]};
  wire [63:0] csb = wide ? alu_b : {{32{alu_b[31]}}, alu_b[31:0]};
  reg taken;
  always @(*) begin
    case (cond)
      COND_EQ:  taken = ca == cb;
      COND_GT:  taken = ca > cb;
      COND_GE:  taken = ca >= cb;
      COND_SET: taken = (ca & cb) != 64'd0;
      COND_NE:  taken = ca != cb;
      COND_SGT: taken = $signed(csa) > $signed(csb);
      COND_SGE: taken = $signed(csa) >= $signed(csb);
      COND_LT:  taken = ca < cb;
      COND_LE:  taken = ca <= cb;
      COND_SLT: taken = $signed(csa) < $signed(csb);
      default:  taken = $signed(csa) <= $signed(csb); // COND_SLE
    endcase
  end

  assign next_o = pc_i + 32'd1;
  assign cmp_o  = fv[2];
  assign args_o = {fv[7], fv[6], fv[5], fv[4], fv[3]};

  always @(*) begin
    val_o = 64'd0; addr_o = 64'd0; sval_o = 64'd0; hid_o = 32'd0;
    branch_o = 1'b0; target_o = next_o + off64[31:0];
    fwd_a_o = FWD_NONE; fwd_b_o = FWD_NONE;
    case (kind_o)
      K_ALU: begin
        val_o = alu_y;
        if (alu_a_read) fwd_a_o = fs[0];
        if (src_reg) fwd_b_o = fs[1];
      end
      K_NEG, K_END: begin
        val_o = alu_y; fwd_a_o = fs[0];
      end
      K_LDDW: val_o = {imm_hi_i, insn_i[63:32]};
      K_LDX: begin
        addr_o = fv[1] + off64; fwd_b_o = fs[1];
      end
      K_ST: begin
        addr_o = fv[0] + off64; sval_o = imm64; fwd_a_o = fs[0];
      end
      K_STX, K_ATOMIC: begin
        addr_o = fv[0] + off64; sval_o = fv[1];
        fwd_a_o = fs[0]; fwd_b_o = fs[1];
      end
      K_LDABS: addr_o = PKT_BASE + {32'd0, insn_i[63:32]};
      K_LDIND: begin
        addr_o = PKT_BASE + {32'd0, fv[1][31:0] + insn_i[63:32]};
        fwd_b_o = fs[1];
      end
      K_JMP: begin
        if (src_reg) fwd_b_o = fs[1];
        fwd_a_o = fs[0];
        branch_o = taken;
      end
      K_JA: branch_o = 1'b1;
      K_JA32, K_CALLLOCAL: target_o = next_o + insn_i[63:32];
      K_CALL: hid_o = insn_i[63:32];
      K_CALLX: begin
        hid_o = fv[0][31:0]; fwd_a_o = fs[0];
      end
      default: ;
    endcase
    if (kind_o == K_JA32) branch_o = 1'b1;
  end

endmodule
