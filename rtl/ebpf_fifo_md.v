// ebpf_fifo_md: one engine's packet data memory (FIFO_MD).
//
// FIFO_WORDS x 256-bit words (2 KiB) used as a ring of packet slots, a valid
// bit per word. The port side writes whole words (wr_i, one per clock at
// most, paced by the traffic source); the engine reads and writes up to 8
// bytes at any byte address of the ring (an access may span two words and
// the ring's wrap). free_i clears the valid bits of the slot whose verdict is
// taken (free_start_i, free_words_i words from there).
//
// Storage is a byte array with an asynchronous 8-byte read (distributed RAM
// on Virtex-7); mem_q and valid_q are public so the harness can copy packet
// bytes to and from the model's memory around helper calls and at the
// verdict, and deliver several words in one clock (instant arrival).
module ebpf_fifo_md (
  input  wire         clk_i,
  input  wire         rst_ni,
  // port side: one 256-bit word
  input  wire         wr_i,
  input  wire [5:0]   wr_word_i,
  input  wire [255:0] wr_data_i,
  // engine read: 8 bytes little-endian from ring byte rd_addr_i
  input  wire [10:0]  rd_addr_i,
  output reg  [63:0]  rd_data_o,
  // engine write: bytes st_mask_i of st_data_i at ring byte st_addr_i
  input  wire         st_i,
  input  wire [10:0]  st_addr_i,
  input  wire [7:0]   st_mask_i,
  input  wire [63:0]  st_data_i,
  // verdict: free a slot
  input  wire         free_i,
  input  wire [5:0]   free_start_i,
  input  wire [6:0]   free_words_i,
  output wire [63:0]  valid_o
);
  `include "ebpf_params.vh"

  reg [7:0]  mem_q [0:PKT_WINDOW-1] /*verilator public_flat_rw*/;
  reg [63:0] valid_q /*verilator public_flat_rw*/;

  integer k;
  always @(*) begin
    for (k = 0; k < 8; k = k + 1)
      rd_data_o[8*k +: 8] = mem_q[rd_addr_i + k[10:0]];
  end

  // Words of the slot being freed: (i - start) mod 64 < words.
  reg [63:0] free_mask;
  reg [5:0]  rel;
  integer w;
  always @(*) begin
    for (w = 0; w < FIFO_WORDS; w = w + 1) begin
      rel = w[5:0] - free_start_i;
      free_mask[w] = ({1'b0, rel} < free_words_i);
    end
  end

  integer b;
  always @(posedge clk_i) begin
    if (wr_i)
      for (b = 0; b < FIFO_WORD_BYTES; b = b + 1)
        mem_q[{wr_word_i, b[4:0]}] <= wr_data_i[8*b +: 8];
    if (st_i)
      for (b = 0; b < 8; b = b + 1)
        if (st_mask_i[b]) mem_q[st_addr_i + b[10:0]] <= st_data_i[8*b +: 8];
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= 64'd0;
    end else begin
      valid_q <= (valid_q & ~(free_i ? free_mask : 64'd0))
               | (wr_i ? (64'd1 << wr_word_i) : 64'd0);
    end
  end

  assign valid_o = valid_q;

endmodule
