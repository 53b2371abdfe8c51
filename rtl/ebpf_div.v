// ebpf_div: radix-2 restoring divider for div, sdiv, mod and smod.
//
// DIV32_CYCLES / DIV64_CYCLES clocks in EX (bits + 2, vm::contract):
// clock 1 (start_i) takes the operands' signs and magnitudes, clocks
// 2..bits+1 make one quotient bit each, and in clock bits+2 y_o gives the
// sign-corrected result, which the engine takes at the end of that clock.
// RFC 9669 edge cases, as vm::sem: division by zero gives 0, modulo by zero
// gives the dividend; INT_MIN / -1 = INT_MIN and INT_MIN % -1 = 0 fall out of
// the unsigned magnitudes. 32-bit forms use the low halves and zero-extend.
module ebpf_div (
  input  wire        clk_i,
  input  wire        start_i,
  input  wire        wide_i,
  input  wire        signed_i,
  input  wire        rem_i,
  input  wire [63:0] a_i,
  input  wire [63:0] b_i,
  output reg  [63:0] y_o
);
  `include "ebpf_params.vh"

  // Operands as seen by the selected width.
  wire [63:0] a_w  = wide_i ? a_i : {32'd0, a_i[31:0]};
  wire [63:0] b_w  = wide_i ? b_i : {32'd0, b_i[31:0]};
  wire        sa   = signed_i & (wide_i ? a_i[63] : a_i[31]);
  wire        sb   = signed_i & (wide_i ? b_i[63] : b_i[31]);
  wire [63:0] na   = 64'd0 - a_w;
  wire [63:0] nb   = 64'd0 - b_w;
  wire [63:0] ma   = sa ? (wide_i ? na : {32'd0, na[31:0]}) : a_w;
  wire [63:0] mb   = sb ? (wide_i ? nb : {32'd0, nb[31:0]}) : b_w;

  reg [63:0] dvd_q;   // dividend bits still to shift in, MSB first
  reg [63:0] dvs_q;   // divisor magnitude
  reg [63:0] rem_q;   // partial remainder (always below the divisor)
  reg [63:0] quo_q;   // quotient bits so far
  reg [6:0]  cnt_q;   // quotient bits still to make
  reg [63:0] a_q;     // dividend as given (mod by zero)
  reg        zero_q, wide_q, rem_sel_q, neg_q_q, neg_r_q;

  wire [64:0] shifted = {rem_q, dvd_q[63]};
  wire [64:0] diff    = shifted - {1'b0, dvs_q};
  wire        take    = ~diff[64];

  always @(posedge clk_i) begin
    if (start_i) begin
      dvd_q     <= wide_i ? ma : {ma[31:0], 32'd0};
      dvs_q     <= mb;
      rem_q     <= 64'd0;
      quo_q     <= 64'd0;
      cnt_q     <= wide_i ? 7'd64 : 7'd32;
      a_q       <= a_w;
      zero_q    <= (b_w == 64'd0);
      wide_q    <= wide_i;
      rem_sel_q <= rem_i;
      neg_q_q   <= sa ^ sb;
      neg_r_q   <= sa;
    end else if (cnt_q != 7'd0) begin
      rem_q <= take ? diff[63:0] : shifted[63:0];
      quo_q <= {quo_q[62:0], take};
      dvd_q <= {dvd_q[62:0], 1'b0};
      cnt_q <= cnt_q - 7'd1;
    end
  end

  // Result clock: sign correction and the by-zero cases.
  reg [63:0] mag;
  reg        neg;
  reg [63:0] res;
  always @(*) begin
    mag = rem_sel_q ? rem_q : quo_q;
    neg = rem_sel_q ? neg_r_q : neg_q_q;
    res = neg ? 64'd0 - mag : mag;
    if (zero_q) res = rem_sel_q ? a_q : 64'd0;
    y_o = wide_q ? res : {32'd0, res[31:0]};
  end

endmodule
