// ebpf_regfile: r0..r10, 64 bits each, all readable at once (regs_o, r0 in
// the low bits) for the forwarding unit. One write port (WB). init_i loads
// a packet's start state (r1..r5 = args, r10 = STACK_TOP, others 0); push_i
// moves r10 down one STACK_FRAME (bpf-to-bpf call at WB); pop_i restores
// r6..r10 from the frame stack (return at WB). Writes land at the clock
// edge; the EX stage that could read a register in the same clock as WB
// writes it takes the MEM/WB forward instead (write-first in effect).
module ebpf_regfile (
  input  wire         clk_i,
  input  wire         init_i,
  input  wire [319:0] args_i,
  input  wire         we_i,
  input  wire [3:0]   widx_i,
  input  wire [63:0]  wdata_i,
  input  wire         push_i,
  input  wire         pop_i,
  input  wire [319:0] pop_regs_i,
  output wire [703:0] regs_o
);
  `include "ebpf_params.vh"

  reg [63:0] r_q [0:10];

  integer i;
  always @(posedge clk_i) begin
    if (init_i) begin
      r_q[0] <= 64'd0;
      for (i = 1; i <= 5; i = i + 1) r_q[i] <= args_i[64*(i-1) +: 64];
      for (i = 6; i <= 9; i = i + 1) r_q[i] <= 64'd0;
      r_q[10] <= STACK_TOP;
    end else begin
      if (we_i && widx_i <= 4'd10) r_q[widx_i] <= wdata_i;
      if (push_i) r_q[10] <= r_q[10] - STACK_FRAME;
      if (pop_i)
        for (i = 6; i <= 10; i = i + 1) r_q[i] <= pop_regs_i[64*(i-6) +: 64];
    end
  end

  genvar gi;
  generate
    for (gi = 0; gi <= 10; gi = gi + 1) begin : gen_out
      assign regs_o[64*gi +: 64] = r_q[gi];
    end
  endgenerate

endmodule
