// ebpf_mul: the EX stage's multiplier (mul, 32 and 64 bit).
//
// MUL_CYCLES clocks in EX (vm::contract::MUL_CYCLES, via ebpf_params.vh):
// operands are registered at the end of the first EX clock (start_i), the
// product is formed in the next clock and passed through MUL_CYCLES - 3
// further registers (the DSP48E1 cascade stages), so y_o holds the product
// during the instruction's last EX clock. Not pipelined across instructions:
// the engine keeps EX busy until it takes y_o. A 32-bit mul gives the low 32
// bits of the product, zero-extended (only low operand bits reach them).
module ebpf_mul (
  input  wire        clk_i,
  input  wire        start_i,
  input  wire        wide_i,
  input  wire [63:0] a_i,
  input  wire [63:0] b_i,
  output wire [63:0] y_o
);
  `include "ebpf_params.vh"

  localparam integer STAGES = MUL_CYCLES - 2;

  reg [63:0] a_q;
  reg [63:0] b_q;
  reg        wide_q;
  reg [63:0] p_q [0:STAGES-1];

  wire [63:0] prod = a_q * b_q;

  always @(posedge clk_i) begin
    if (start_i) begin
      a_q    <= a_i;
      b_q    <= b_i;
      wide_q <= wide_i;
    end
    p_q[0] <= wide_q ? prod : {32'd0, prod[31:0]};
  end

  genvar gi;
  generate
    for (gi = 1; gi < STAGES; gi = gi + 1) begin : gen_stage
      always @(posedge clk_i) p_q[gi] <= p_q[gi-1];
    end
  endgenerate

  assign y_o = p_q[STAGES-1];

endmodule
