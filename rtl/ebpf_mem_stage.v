// ebpf_mem_stage: the MEM stage's datapath. Routes the access at addr_i:
// wholly inside the running packet -> FIFO_MD (ring byte ring_o; words_ok_o
// when both words it touches have arrived), wholly inside the stack -> the
// stack RAM (stack_off_o), anything else -> the external port. Formats the
// value read for the register (zero- or sign-extended for ldx, network order
// for the legacy packet loads) and computes an atomic's new value and
// whether it stores (vm::sem::atomic; cmpxchg stores only on a match).
`include "ebpf_widths.vh"

module ebpf_mem_stage (
  input  wire [63:0] insn_i,
  input  wire [63:0] addr_i,
  input  wire [63:0] sval_i,
  input  wire [63:0] cmp_i,
  input  wire [`FIFO_IW-1:0] pkt_start_i,
  input  wire [`PKT_OW:0] pkt_len_i,
  input  wire        stack_en_i,
  input  wire [`FIFO_NW-1:0] fifo_valid_i,
  input  wire [63:0] fifo_rd_i,
  input  wire [63:0] stack_rd_i,
  input  wire [63:0] ext_rdata_i,
  output wire [4:0]  kind_o,
  output wire [2:0]  aop_o,
  output wire [1:0]  width_o,
  output wire        fetch_o,
  output wire        in_pkt_o,
  output wire        in_stack_o,
  output wire        words_ok_o,
  output wire [`PKT_OW-1:0] ring_o,
  output wire [11:0] stack_off_o,
  output wire [7:0]  st_mask_o,
  output wire [63:0] raw_o,
  output wire [63:0] load_o,
  output wire [63:0] sdata_o,
  output reg  [63:0] anew_o,
  output reg         astore_o
);
  `include "ebpf_params.vh"

  wire [2:0] aop;
  assign aop_o = aop;
  wire       sx;

  /* verilator lint_off PINCONNECTEMPTY */
  // Only the memory-access facts are used here.
  ebpf_decode u_dec (
    .insn_i(insn_i), .valid_o(), .kind_o(kind_o), .unit_o(), .dst_o(), .src_o(), .reads_o(),
    .we_o(), .wreg_o(), .mem_result_o(), .ex_cycles_o(), .rd_dst_o(), .alu_op_o(), .wide_o(),
    .src_reg_o(), .signed_o(), .movsx_o(), .end_be_o(), .swap_o(), .cond_o(), .aop_o(aop),
    .fetch_o(fetch_o), .width_o(width_o), .sx_o(sx));
  /* verilator lint_on PINCONNECTEMPTY */

  function [63:0] trunc(input [63:0] v, input [1:0] w);
    case (w)
      W_B:      trunc = {56'd0, v[7:0]};
      W_H:      trunc = {48'd0, v[15:0]};
      W_W:      trunc = {32'd0, v[31:0]};
      default:  trunc = v;
    endcase
  endfunction

  function [63:0] sext(input [63:0] v, input [1:0] w);
    case (w)
      W_B:      sext = {{56{v[7]}}, v[7:0]};
      W_H:      sext = {{48{v[15]}}, v[15:0]};
      W_W:      sext = {{32{v[31]}}, v[31:0]};
      default:  sext = v;
    endcase
  endfunction

  function [63:0] ntoh(input [63:0] v, input [1:0] w);
    case (w)
      W_B:      ntoh = {56'd0, v[7:0]};
      W_H:      ntoh = {48'd0, v[7:0], v[15:8]};
      W_W:      ntoh = {32'd0, v[7:0], v[15:8], v[23:16], v[31:24]};
      default:  ntoh = {v[7:0], v[15:8], v[23:16], v[31:24], v[39:32], v[47:40], v[55:48],
                        v[63:56]};
    endcase
  endfunction

  wire [3:0]  nbytes = (width_o == W_B) ? 4'd1 : (width_o == W_H) ? 4'd2 :
                       (width_o == W_W) ? 4'd4 : 4'd8;
  wire [63:0] poff   = addr_i - PKT_BASE;
  wire [63:0] plen64 = {{(63-PKT_AW){1'b0}}, pkt_len_i};
  assign in_pkt_o    = (poff < plen64) && ({60'd0, nbytes} <= plen64 - poff);
  // Offset of the access's last byte; only its word index (bits PKT_AW-1:5)
  // matters.
  /* verilator lint_off UNUSEDSIGNAL */
  wire [PKT_AW-1:0] last = poff[PKT_AW-1:0] + {{(PKT_AW-4){1'b0}}, nbytes} - 1'b1;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [FIFO_AW-1:0] w0 = pkt_start_i + poff[PKT_AW-1:5];
  wire [FIFO_AW-1:0] w1 = pkt_start_i + last[PKT_AW-1:5];
  assign words_ok_o  = fifo_valid_i[w0] && fifo_valid_i[w1];
  assign ring_o      = {pkt_start_i, 5'd0} + poff[PKT_AW-1:0];
  // Stack offsets above 4 KiB are out of the RAM (in_stack_o is false).
  /* verilator lint_off UNUSEDSIGNAL */
  wire [63:0] soff   = addr_i - STACK_BASE;
  /* verilator lint_on UNUSEDSIGNAL */
  assign in_stack_o  = stack_en_i && (soff < STACK_SIZE) && ({60'd0, nbytes} <= STACK_SIZE - soff);
  assign stack_off_o = soff[11:0];
  assign st_mask_o   = (width_o == W_B) ? 8'h01 : (width_o == W_H) ? 8'h03 :
                       (width_o == W_W) ? 8'h0f : 8'hff;

  assign raw_o   = trunc(in_pkt_o ? fifo_rd_i : in_stack_o ? stack_rd_i : ext_rdata_i, width_o);
  assign load_o  = (kind_o == K_LDX) ? (sx ? sext(raw_o, width_o) : raw_o) : ntoh(raw_o, width_o);
  assign sdata_o = trunc(sval_i, width_o);

  always @(*) begin
    astore_o = 1'b1;
    case (aop)
      AOP_ADD:   anew_o = trunc(raw_o + sdata_o, width_o);
      AOP_OR:    anew_o = raw_o | sdata_o;
      AOP_AND:   anew_o = raw_o & sdata_o;
      AOP_XOR:   anew_o = raw_o ^ sdata_o;
      AOP_XCHG:  anew_o = sdata_o;
      default: begin // AOP_CMPXCHG
        anew_o = sdata_o;
        astore_o = (raw_o == trunc(cmp_i, width_o));
      end
    endcase
  end

endmodule
