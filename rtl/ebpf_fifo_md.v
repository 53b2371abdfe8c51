// ebpf_fifo_md: one engine's packet data memory (FIFO_MD).
//
// FIFO_WORDS x 256-bit words (4 KiB) used as a ring of packet slots, a valid
// bit per word. The port side writes whole words (wr_i, one per clock at
// most, paced by the traffic source); the engine reads and writes up to 8
// bytes at any byte address of the ring (an access may span two words and
// the ring's wrap). free_i clears the valid bits of the slot whose verdict is
// taken (free_start_i, free_words_i words from there); xfree_i clears more
// (a data plane with an egress frees slots after their verdict). eg_addr_i
// reads 32 bytes from any ring byte for the egress stream (eg_data_o,
// asynchronous: lane l from the row of eg_addr_i, or the next one for the
// lanes below its first, rotated to stream order; an XDP frame starts
// wherever bpf_xdp_adjust_head left it), and
// eg_len_o the 16-bit field at byte LEN_LANE of word eg_hdr_i (the SUME
// metadata header's frame length, which the program may have rewritten).
//
// Storage: 32 byte lanes (lane = byte within the word, row = word), so a
// word arrival writes one row of every lane and an 8-byte access touches 8
// lanes once each. Both writers may hit a lane in the same clock (at
// different rows: the port writes words not yet valid, the engine stores
// into valid ones), so each lane is two single-write-port RAMs, A written by
// the port and B by the engine, holding the data as A ^ B: a writer stores
// its byte XOR the other RAM's byte at that row. Reads are asynchronous
// (distributed RAM). The lanes' a_q/b_q are public so the harness can copy
// packet bytes to and from the model's memory.
`include "ebpf_widths.vh"

module ebpf_fifo_md #(
  parameter integer LEN_LANE = 0
) (
  input  wire         clk_i,
  input  wire         rst_ni,
  // port side: one 256-bit word
  input  wire         wr_i,
  input  wire [`FIFO_IW-1:0] wr_word_i,
  input  wire [255:0] wr_data_i,
  // engine read: 8 bytes little-endian from ring byte rd_addr_i
  input  wire [`PKT_OW-1:0] rd_addr_i,
  output reg  [63:0]  rd_data_o,
  // engine write: bytes st_mask_i of st_data_i at ring byte st_addr_i
  input  wire         st_i,
  input  wire [`PKT_OW-1:0] st_addr_i,
  input  wire [7:0]   st_mask_i,
  input  wire [63:0]  st_data_i,
  // verdict: free a slot
  input  wire         free_i,
  input  wire [`FIFO_IW-1:0] free_start_i,
  input  wire [`FIFO_IW:0] free_words_i,
  input  wire [`FIFO_NW-1:0] xfree_i,
  output wire [`FIFO_NW-1:0] valid_o,
  // egress: 32 bytes from ring byte eg_addr_i (wrapping)
  input  wire [`PKT_OW-1:0] eg_addr_i,
  output wire [255:0] eg_data_o,
  input  wire [`FIFO_IW-1:0] eg_hdr_i,
  output wire [15:0]  eg_len_o
);
  `include "ebpf_params.vh"

  reg [FIFO_WORDS-1:0] valid_q /*verilator public_flat_rw*/;

  wire [4:0] rd_lane = rd_addr_i[4:0];
  wire [FIFO_AW-1:0] rd_row = rd_addr_i[PKT_AW-1:5];
  wire [4:0] st_lane = st_addr_i[4:0];
  wire [FIFO_AW-1:0] st_row = st_addr_i[PKT_AW-1:5];

  // Bit l set: lane l is below the access's first lane (its byte is in the
  // next row).
  wire [31:0] rd_next = ~(32'hffffffff << rd_lane);
  wire [31:0] st_next = ~(32'hffffffff << st_lane);
  // The store's bytes rotated to lane order, and which lanes it writes.
  wire [255:0] st_wide = {192'd0, st_data_i};
  wire [255:0] st_rot  = (st_wide << {st_lane, 3'b000}) |
                         (st_wide >> {5'd0 - st_lane, 3'b000});
  wire [63:0]  st_m2   = {56'd0, st_mask_i} << st_lane;
  wire [31:0]  st_lmask = st_m2[31:0] | st_m2[63:32];

  wire [255:0] lanes_rd, lanes_eg;
  wire [4:0]   eg_lane = eg_addr_i[4:0];
  wire [FIFO_AW-1:0] eg_row = eg_addr_i[PKT_AW-1:5];
  wire [31:0]  eg_next = ~(32'hffffffff << eg_lane);

  genvar l;
  generate
    for (l = 0; l < FIFO_WORD_BYTES; l = l + 1) begin : gen_lane
      reg [7:0] a_q [0:FIFO_WORDS-1] /*verilator public_flat_rw*/;
      reg [7:0] b_q [0:FIFO_WORDS-1] /*verilator public_flat_rw*/;
      wire [FIFO_AW-1:0] rrow = rd_row + {{(FIFO_AW-1){1'b0}}, rd_next[l]};
      wire [FIFO_AW-1:0] srow = st_row + {{(FIFO_AW-1){1'b0}}, st_next[l]};
      assign lanes_rd[8*l +: 8] = a_q[rrow] ^ b_q[rrow];
      wire [FIFO_AW-1:0] erow = eg_row + {{(FIFO_AW-1){1'b0}}, eg_next[l]};
      assign lanes_eg[8*l +: 8] = a_q[erow] ^ b_q[erow];
      if (l == LEN_LANE || l == LEN_LANE + 1) begin : gen_len
        assign eg_len_o[8*(l-LEN_LANE) +: 8] = a_q[eg_hdr_i] ^ b_q[eg_hdr_i];
      end
      always @(posedge clk_i) begin
        if (wr_i) a_q[wr_word_i] <= wr_data_i[8*l +: 8] ^ b_q[wr_word_i];
        if (st_i && st_lmask[l]) b_q[srow] <= st_rot[8*l +: 8] ^ a_q[srow];
      end
    end
  endgenerate

  // Back to access order: byte k comes from lane (rd_lane + k) mod 32.
  reg [4:0] src_lane;
  integer k;
  always @(*) begin
    for (k = 0; k < 8; k = k + 1) begin
      src_lane = rd_lane + k[4:0];
      rd_data_o[8*k +: 8] = lanes_rd[8*src_lane +: 8];
    end
  end

  // The egress bytes in stream order: byte k from lane (eg_lane + k) mod 32.
  assign eg_data_o = (lanes_eg >> {eg_lane, 3'b000}) | (lanes_eg << {5'd0 - eg_lane, 3'b000});

  // Words of the slot being freed: (i - start) mod FIFO_WORDS < words.
  reg [FIFO_WORDS-1:0] free_mask;
  reg [FIFO_AW-1:0] rel;
  integer w;
  always @(*) begin
    for (w = 0; w < FIFO_WORDS; w = w + 1) begin
      rel = w[FIFO_AW-1:0] - free_start_i;
      free_mask[w] = ({1'b0, rel} < free_words_i);
    end
  end

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= {FIFO_WORDS{1'b0}};
    end else begin
      valid_q <= (valid_q & ~(free_i ? free_mask : {FIFO_WORDS{1'b0}}) & ~xfree_i)
               | (wr_i ? ({{(FIFO_WORDS-1){1'b0}}, 1'b1} << wr_word_i) : {FIFO_WORDS{1'b0}});
    end
  end

  assign valid_o = valid_q;

endmodule
