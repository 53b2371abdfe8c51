// ebpf_cam: the exact-match CAM shared by every HASH map (vm::maps::Cam).
//
// ENTRIES entries of {valid, tag (map index), key, value}. A key is KW bits
// (contract::RTL_CAM_KEY_BYTES, 16 bytes: an XDP map's key read through a
// pointer; the SUME ABI's by-value keys are at most 8 bytes, zero above),
// stored masked to its map's key size, so a shorter key matches with zeros
// above it. The value of an entry lives in the entry itself (SUME: the
// value, at most 64 bits; XDP: its value slot), so no separate slot
// allocator is needed for by-value maps.
//
// Search is combinational over all entries (tag and key equal); at most one
// entry matches because an update searches before it inserts. A new entry
// takes the lowest free address (priority encoder over the valid bits), as
// the model's Cam::insert does. count_o is the number of valid entries of
// tag_i (the map's entry count, compared with its max_entries).
//
// Writes happen at the clock edge: wr_i writes {tag,key,value} at wr_addr_i
// (insert or overwrite), inv_i invalidates inv_addr_i, drop_i invalidates
// every entry whose tag is in drop_lo_i..drop_hi_i-1 (MAPLOAD), clear_i
// invalidates everything (NUMMAP, CLEAN). rd_addr_i reads one entry
// (the host's next-key scan).
module ebpf_cam #(
  parameter integer ENTRIES = 64,
  parameter integer AW = 6,
  parameter integer TAG_W = 6,
  parameter integer KW = 128
) (
  input  wire             clk_i,
  input  wire             rst_ni,
  input  wire             clear_i,
  // search
  input  wire [TAG_W-1:0] tag_i,
  input  wire [KW-1:0]    key_i,
  output reg              hit_o,
  output reg  [AW-1:0]    hit_addr_o,
  output reg  [63:0]      hit_val_o,
  output reg  [AW:0]      count_o,
  output reg              full_o,
  output reg  [AW-1:0]    free_addr_o,
  // write
  input  wire             wr_i,
  input  wire [AW-1:0]    wr_addr_i,
  input  wire [TAG_W-1:0] wr_tag_i,
  input  wire [KW-1:0]    wr_key_i,
  input  wire [63:0]      wr_val_i,
  input  wire             inv_i,
  input  wire [AW-1:0]    inv_addr_i,
  // read by address (the host's next-key scan) and drop by tag range
  input  wire [AW-1:0]    rd_addr_i,
  output wire             rd_valid_o,
  output wire [TAG_W-1:0] rd_tag_o,
  output wire [KW-1:0]    rd_key_o,
  output wire [63:0]      rd_val_o,
  input  wire             drop_i,
  input  wire [TAG_W:0]   drop_lo_i,
  input  wire [TAG_W:0]   drop_hi_i
);
  reg [ENTRIES-1:0] valid_q;
  reg [TAG_W-1:0]   tag_q [0:ENTRIES-1];
  reg [KW-1:0]      key_q [0:ENTRIES-1];
  reg [63:0]        val_q [0:ENTRIES-1];

  assign rd_valid_o = valid_q[rd_addr_i];
  assign rd_tag_o   = tag_q[rd_addr_i];
  assign rd_key_o   = key_q[rd_addr_i];
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
    hit_addr_o  = {AW{1'b0}};
    hit_val_o   = 64'd0;
    count_o     = {(AW+1){1'b0}};
    full_o      = 1'b1;
    free_addr_o = {AW{1'b0}};
    for (i = ENTRIES - 1; i >= 0; i = i - 1) begin
      if (valid_q[i] && tag_q[i] == tag_i) begin
        count_o = count_o + 1'b1;
        if (key_q[i] == key_i) begin
          hit_o      = 1'b1;
          hit_addr_o = i[AW-1:0];
          hit_val_o  = val_q[i];
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
      tag_q[wr_addr_i] <= wr_tag_i;
      key_q[wr_addr_i] <= wr_key_i;
      val_q[wr_addr_i] <= wr_val_i;
    end
  end
endmodule
