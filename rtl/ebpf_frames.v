// ebpf_frames: the shadow-register frame stack for bpf-to-bpf calls. Each
// entry holds the return pc and the caller's r6..r9 and r10. Depth up to
// MAX_FRAMES - 1 entries (the entry frame has none). push_i / pop_i at WB;
// EX reads depth_o (call-depth check) and top_ret_o (return target).
module ebpf_frames (
  input  wire         clk_i,
  input  wire         rst_ni,
  input  wire         clear_i,
  input  wire         push_i,
  input  wire [31:0]  push_ret_i,
  input  wire [319:0] push_regs_i,
  input  wire         pop_i,
  output wire [7:0]   depth_o,
  output wire [31:0]  top_ret_o,
  output wire [319:0] top_regs_o
);
  `include "ebpf_params.vh"

  reg [31:0]  ret_q  [0:MAX_FRAMES-1];
  reg [319:0] regs_q [0:MAX_FRAMES-1];
  reg [7:0]   depth_q;

  wire [7:0] top = depth_q - 8'd1;

  always @(posedge clk_i) begin
    if (push_i && !clear_i) begin
      ret_q[depth_q[2:0]]  <= push_ret_i;
      regs_q[depth_q[2:0]] <= push_regs_i;
    end
  end

  always @(posedge clk_i) begin
    if (!rst_ni)      depth_q <= 8'd0;
    else if (clear_i) depth_q <= 8'd0;
    else if (push_i)  depth_q <= depth_q + 8'd1;
    else if (pop_i)   depth_q <= top;
  end

  assign depth_o    = depth_q;
  assign top_ret_o  = ret_q[top[2:0]];
  assign top_regs_o = regs_q[top[2:0]];

endmodule
