// ebpf_tcam: the ternary CAM shared by every LPM_TRIE map (vm::maps::Tcam).
//
// ENTRIES entries of {valid, tag (map index), prefix length, data under the
// mask, care mask, value}. Data is 32 bits in network order (bit 31 is the
// first bit of the key's data part): the SUME ABI's by-value keys carry at
// most 4 data bytes after the 4-byte prefix length.
//
// Search (Linux's longest-prefix lookup): among the valid entries of tag_i
// whose prefix length is at most plen_i and whose masked data equals
// data_i & mask, the one with the longest prefix wins. The model keeps its
// entries sorted by prefix length and takes the first match; two entries of
// one map with the same prefix length never match the same key, so picking
// the longest prefix among unordered entries gives the same entry. This
// avoids the model's insertion shift; the operation's modeled latency
// (TCAM_WRITE_CYCLES) is enforced by the arbiter, not by this module.
//
// find_*: the entry of tag_i with exactly prefix plen_i and data x_data_i
// (already masked): update and delete. count_o: entries of tag_i.
// rd_addr_i reads one entry (the host's next-key scan); drop_i invalidates
// every entry whose tag is in drop_lo_i..drop_hi_i-1 (MAPLOAD).
module ebpf_tcam #(
  parameter integer ENTRIES = 64,
  parameter integer AW = 6,
  parameter integer TAG_W = 6
) (
  input  wire             clk_i,
  input  wire             rst_ni,
  input  wire             clear_i,
  input  wire [TAG_W-1:0] tag_i,
  input  wire [31:0]      data_i,
  input  wire [5:0]       plen_i,
  input  wire [31:0]      x_data_i,
  output reg              hit_o,
  output reg  [63:0]      hit_val_o,
  output reg              x_hit_o,
  output reg  [AW-1:0]    x_addr_o,
  output reg  [AW:0]      count_o,
  output reg              full_o,
  output reg  [AW-1:0]    free_addr_o,
  input  wire             wr_i,
  input  wire [AW-1:0]    wr_addr_i,
  input  wire [TAG_W-1:0] wr_tag_i,
  input  wire [5:0]       wr_plen_i,
  input  wire [31:0]      wr_data_i,
  input  wire [31:0]      wr_mask_i,
  input  wire [63:0]      wr_val_i,
  input  wire             inv_i,
  input  wire [AW-1:0]    inv_addr_i,
  // read by address (the host's next-key scan) and drop by tag range
  input  wire [AW-1:0]    rd_addr_i,
  output wire             rd_valid_o,
  output wire [TAG_W-1:0] rd_tag_o,
  output wire [5:0]       rd_plen_o,
  output wire [31:0]      rd_data_o,
  output wire [63:0]      rd_val_o,
  input  wire             drop_i,
  input  wire [TAG_W:0]   drop_lo_i,
  input  wire [TAG_W:0]   drop_hi_i
);
  reg [ENTRIES-1:0] valid_q;
  reg [TAG_W-1:0]   tag_q  [0:ENTRIES-1];
  reg [5:0]         plen_q [0:ENTRIES-1];
  reg [31:0]        data_q [0:ENTRIES-1];
  reg [31:0]        mask_q [0:ENTRIES-1];
  reg [63:0]        val_q  [0:ENTRIES-1];

  reg [5:0] best;
  assign rd_valid_o = valid_q[rd_addr_i];
  assign rd_tag_o   = tag_q[rd_addr_i];
  assign rd_plen_o  = plen_q[rd_addr_i];
  assign rd_data_o  = data_q[rd_addr_i];
  assign rd_val_o   = val_q[rd_addr_i];

  // Entries of the tags drop_lo_i..drop_hi_i-1 (rows a MAPLOAD empties).
  reg [ENTRIES-1:0] drop;
  integer j;
  always @* begin
    for (j = 0; j < ENTRIES; j = j + 1)
      drop[j] = drop_i && {1'b0, tag_q[j]} >= drop_lo_i && {1'b0, tag_q[j]} < drop_hi_i;
  end

  integer i;
  always @* begin
    hit_o       = 1'b0;
    hit_val_o   = 64'd0;
    best        = 6'd0;
    x_hit_o     = 1'b0;
    x_addr_o    = {AW{1'b0}};
    count_o     = {(AW+1){1'b0}};
    full_o      = 1'b1;
    free_addr_o = {AW{1'b0}};
    for (i = ENTRIES - 1; i >= 0; i = i - 1) begin
      if (valid_q[i] && tag_q[i] == tag_i) begin
        count_o = count_o + 1'b1;
        if (plen_q[i] <= plen_i && (data_i & mask_q[i]) == data_q[i]
            && (!hit_o || plen_q[i] > best)) begin
          hit_o     = 1'b1;
          best      = plen_q[i];
          hit_val_o = val_q[i];
        end
        if (plen_q[i] == plen_i && data_q[i] == x_data_i) begin
          x_hit_o  = 1'b1;
          x_addr_o = i[AW-1:0];
        end
      end
      if (!valid_q[i]) begin
        full_o      = 1'b0;
        free_addr_o = i[AW-1:0];
      end
    end
  end

  always @(posedge clk_i) begin
    if (!rst_ni || clear_i) begin
      valid_q <= {ENTRIES{1'b0}};
    end else begin
      valid_q <= valid_q & ~drop;
      if (inv_i) valid_q[inv_addr_i] <= 1'b0;
      if (wr_i) valid_q[wr_addr_i] <= 1'b1;
    end
    if (wr_i) begin
      tag_q[wr_addr_i]  <= wr_tag_i;
      plen_q[wr_addr_i] <= wr_plen_i;
      data_q[wr_addr_i] <= wr_data_i;
      mask_q[wr_addr_i] <= wr_mask_i;
      val_q[wr_addr_i]  <= wr_val_i;
    end
  end
endmodule
