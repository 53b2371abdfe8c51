// ebpf_alu: the single-cycle ALU of the EX stage.
//
// Mirrors vm/src/sem.rs (alu64, alu32, neg, endian, sign_extend) for every
// operation that completes in one cycle. Multiplication and division live in
// ebpf_mul.v / ebpf_div.v (multi-cycle units); ALU_MUL, ALU_DIV and ALU_MOD
// give 0 here.
//
// The operation is the eBPF opcode's op field (bits 7:4), the ALU_* codes
// that ebpf_params.vh takes from the ISA table: add, sub, or, and, lsh, rsh,
// neg, xor, mov (off_i: 0 plain, 8/16/32 sign-extending movsx), arsh and end
// (bits in imm_i; end_be_i: to big endian, swap_i: unconditional bswap).
// wide_i selects 64-bit (ALU64 class) or 32-bit (ALU class; the result is
// zero-extended). Shift amounts are masked to the operand width.
module ebpf_alu (
  input  wire [3:0]  op_i,
  input  wire        wide_i,
  input  wire [15:0] off_i,
  input  wire [31:0] imm_i,
  input  wire        end_be_i,
  input  wire        swap_i,
  input  wire [63:0] a_i,
  input  wire [63:0] b_i,
  output reg  [63:0] y_o
);
  `include "ebpf_params.vh"

  wire [31:0] a32 = a_i[31:0];
  wire [31:0] b32 = b_i[31:0];
  wire [5:0]  sh64 = b_i[5:0];
  wire [4:0]  sh32 = b_i[4:0];

  // Sign-extending moves (movsx): source bits 8, 16 or 32.
  wire [63:0] sx8  = {{56{b_i[7]}},  b_i[7:0]};
  wire [63:0] sx16 = {{48{b_i[15]}}, b_i[15:0]};
  wire [63:0] sx32 = {{32{b_i[31]}}, b_i[31:0]};
  reg  [63:0] mov_v;

  // Byte swaps of the low 16, 32 or 64 bits.
  wire [63:0] swap16 = {48'd0, a_i[7:0], a_i[15:8]};
  wire [63:0] swap32 = {32'd0, a_i[7:0], a_i[15:8], a_i[23:16], a_i[31:24]};
  wire [63:0] swap64 = {a_i[7:0], a_i[15:8], a_i[23:16], a_i[31:24],
                        a_i[39:32], a_i[47:40], a_i[55:48], a_i[63:56]};
  reg  [63:0] end_v;

  reg  [63:0] r64;
  reg  [31:0] r32;

  always @(*) begin
    case (off_i)
      16'd8:   mov_v = sx8;
      16'd16:  mov_v = sx16;
      16'd32:  mov_v = sx32;
      default: mov_v = b_i;
    endcase

    // Little endian on a little-endian machine truncates; big endian and
    // bswap reverse the bytes.
    case (imm_i)
      32'd16:  end_v = (end_be_i || swap_i) ? swap16 : {48'd0, a_i[15:0]};
      32'd32:  end_v = (end_be_i || swap_i) ? swap32 : {32'd0, a_i[31:0]};
      default: end_v = (end_be_i || swap_i) ? swap64 : a_i;
    endcase

    case (op_i)
      ALU_ADD:  r64 = a_i + b_i;
      ALU_SUB:  r64 = a_i - b_i;
      ALU_OR:   r64 = a_i | b_i;
      ALU_AND:  r64 = a_i & b_i;
      ALU_LSH:  r64 = a_i << sh64;
      ALU_RSH:  r64 = a_i >> sh64;
      ALU_NEG:  r64 = 64'd0 - a_i;
      ALU_XOR:  r64 = a_i ^ b_i;
      ALU_MOV:  r64 = mov_v;
      ALU_ARSH: r64 = $signed(a_i) >>> sh64;
      default:  r64 = 64'd0;
    endcase

    case (op_i)
      ALU_ADD:  r32 = a32 + b32;
      ALU_SUB:  r32 = a32 - b32;
      ALU_OR:   r32 = a32 | b32;
      ALU_AND:  r32 = a32 & b32;
      ALU_LSH:  r32 = a32 << sh32;
      ALU_RSH:  r32 = a32 >> sh32;
      ALU_NEG:  r32 = 32'd0 - a32;
      ALU_XOR:  r32 = a32 ^ b32;
      ALU_MOV:  r32 = mov_v[31:0];
      ALU_ARSH: r32 = $signed(a32) >>> sh32;
      default:  r32 = 32'd0;
    endcase

    if (op_i == ALU_END)
      y_o = end_v;
    else if (wide_i)
      y_o = r64;
    else
      y_o = {32'd0, r32};
  end

endmodule
