// ebpf_fwd: the forwarding unit for one EX operand. The EX/MEM result (made
// in EX one clock ago; never a MEM-made result, which the hazard unit keeps
// from being needed) has priority over MEM/WB, then the register file.
// sel_o uses the cycle record's encoding (FWD_REG, FWD_EXMEM, FWD_MEMWB).
module ebpf_fwd (
  input  wire [3:0]   idx_i,
  input  wire         exmem_v_i,
  input  wire [3:0]   exmem_idx_i,
  input  wire [63:0]  exmem_val_i,
  input  wire         memwb_v_i,
  input  wire [3:0]   memwb_idx_i,
  input  wire [63:0]  memwb_val_i,
  input  wire [703:0] regs_i,
  output reg  [63:0]  val_o,
  output reg  [1:0]   sel_o
);
  `include "ebpf_params.vh"

  always @(*) begin
    if (exmem_v_i && exmem_idx_i == idx_i) begin
      val_o = exmem_val_i;
      sel_o = FWD_EXMEM;
    end else if (memwb_v_i && memwb_idx_i == idx_i) begin
      val_o = memwb_val_i;
      sel_o = FWD_MEMWB;
    end else begin
      val_o = (idx_i <= 4'd10) ? regs_i[64*idx_i +: 64] : 64'd0;
      sel_o = FWD_REG;
    end
  end

endmodule
