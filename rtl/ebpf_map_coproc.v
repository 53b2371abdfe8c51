// ebpf_map_coproc: the map coprocessor (vm::maps::MapTable for keys and
// values of at most 64 bits, the SUME ABI's by-value view).
//
// Map table: one row per map index (U_MAX_MAPS), written by cfg_we_i (the
// register block has already checked the row as MapDef::check does):
// kind (0 HASH, 1 ARRAY, 2 LPM_TRIE, 3 DEVMAP), key and value size in bytes
// (1..8, or 0 for "wider than 8": such maps exist, but by-value operations
// on them fail as in the model), max_entries and, for ARRAY and DEVMAP, the
// base of the map's words in the direct store (given out in commit order;
// cfg_fit_o says whether a row of cfg_max_i words still fits).
//
// Where entries live: HASH in ebpf_cam, LPM_TRIE in ebpf_tcam (both tagged
// by map index, values inside the entries), ARRAY and DEVMAP in the direct
// store, one 64-bit word per index (a word never written reads as zero; a
// DEVMAP slot is present when its ifindex, the word's low 32 bits, is
// non-zero, and a delete zeroes it).
//
// One operation per clock (op_v_i): the search and the result are
// combinational, the state changes at the clock edge. The modeled latencies
// (CAM 10/12, TCAM 10/26, direct 2/2) are the arbiter's business: the
// answer waits in ebpf_units until the operation's slot ends. Results:
// bad_o (no map at row_i), key_wide_o/val_wide_o (sizes over 8 bytes: the
// caller decides whether that is a fault or EINVAL), found_o/value_o
// (lookup), errno_o (update/delete, the model's Linux errno, 0 on success).
module ebpf_map_coproc #(
  parameter integer DIRECT_AW = 10
) (
  input  wire         clk_i,
  input  wire         rst_ni,
  input  wire         clear_i,
  // map table
  input  wire         cfg_we_i,
  input  wire [5:0]   cfg_row_i,
  input  wire [1:0]   cfg_kind_i,
  input  wire [3:0]   cfg_ks_i,
  input  wire [3:0]   cfg_vs_i,
  input  wire [31:0]  cfg_max_i,
  output wire         cfg_fit_o,
  output wire [63:0]  row_valid_o,
  output wire [127:0] row_kind_o,
  // operation
  input  wire         op_v_i,
  input  wire [1:0]   op_i,       // 1 lookup, 2 update, 3 delete
  input  wire [5:0]   row_i,
  input  wire [63:0]  key_i,
  input  wire [63:0]  val_i,
  input  wire [63:0]  flags_i,
  output wire         bad_o,
  output wire         key_wide_o,
  output wire         val_wide_o,
  output reg          found_o,
  output reg  [63:0]  value_o,
  output reg  [5:0]   errno_o,
  output wire         cam_full_o,
  output wire         tcam_full_o
);
  `include "ebpf_units_params.vh"

  localparam [1:0] K_HASH = 2'd0, K_ARRAY = 2'd1, K_LPM = 2'd2, K_DEVMAP = 2'd3;
  localparam [1:0] OP_LOOKUP = 2'd1, OP_UPDATE = 2'd2, OP_DELETE = 2'd3;
  localparam integer CAW = $clog2(U_CAM_ENTRIES);
  localparam integer TAW = $clog2(U_TCAM_ENTRIES);
  localparam integer DW = 1 << DIRECT_AW;

  // ---- map table ----
  reg [63:0]          valid_q;
  reg [1:0]           kind_q [0:63];
  reg [3:0]           ks_q   [0:63];
  reg [3:0]           vs_q   [0:63];
  reg [31:0]          max_q  [0:63];
  reg [DIRECT_AW:0]   base_q [0:63];
  reg [DIRECT_AW:0]   next_q;

  genvar g;
  generate
    for (g = 0; g < 64; g = g + 1) begin : g_kind
      assign row_kind_o[2*g +: 2] = kind_q[g];
    end
  endgenerate
  assign row_valid_o = valid_q;
  wire cfg_direct = cfg_kind_i == K_ARRAY || cfg_kind_i == K_DEVMAP;
  assign cfg_fit_o = !cfg_direct || ({{(31-DIRECT_AW){1'b0}}, next_q} + cfg_max_i) <= DW;

  always @(posedge clk_i) begin
    if (!rst_ni || clear_i) begin
      valid_q <= 64'd0;
      next_q  <= {(DIRECT_AW+1){1'b0}};
    end else if (cfg_we_i) begin
      valid_q[cfg_row_i] <= 1'b1;
      if (cfg_direct) next_q <= next_q + cfg_max_i[DIRECT_AW:0];
    end
    if (cfg_we_i) begin
      kind_q[cfg_row_i] <= cfg_kind_i;
      ks_q[cfg_row_i]   <= cfg_ks_i;
      vs_q[cfg_row_i]   <= cfg_vs_i;
      max_q[cfg_row_i]  <= cfg_max_i;
      base_q[cfg_row_i] <= next_q;
    end
  end

  // ---- the operation's row ----
  wire [1:0]  kind = kind_q[row_i];
  wire [3:0]  ks   = ks_q[row_i];
  wire [3:0]  vs   = vs_q[row_i];
  wire [31:0] maxe = max_q[row_i];
  assign bad_o      = !valid_q[row_i];
  assign key_wide_o = ks == 4'd0;
  assign val_wide_o = vs == 4'd0;
  wire [63:0] kmask = ks >= 4'd8 || ks == 4'd0 ? {64{1'b1}} : ({64{1'b1}} >> (7'd64 - {ks, 3'b000}));
  wire [63:0] vmask = vs >= 4'd8 || vs == 4'd0 ? {64{1'b1}} : ({64{1'b1}} >> (7'd64 - {vs, 3'b000}));
  wire [63:0] key = key_i & kmask;
  wire [63:0] val = val_i & vmask;
  wire [31:0] k32 = key[31:0];
  wire        flags_bad = flags_i > {32'd0, U_BPF_EXIST[31:0]};
  wire        noexist = flags_i == {32'd0, U_BPF_NOEXIST[31:0]};
  wire        exist = flags_i == {32'd0, U_BPF_EXIST[31:0]};

  // ---- CAM ----
  wire          cam_hit, cam_full;
  wire [CAW-1:0] cam_addr, cam_free;
  wire [63:0]   cam_val;
  wire [CAW:0]  cam_count;
  reg           cam_wr, cam_inv;
  reg  [CAW-1:0] cam_wr_addr;
  ebpf_cam #(.ENTRIES(U_CAM_ENTRIES), .AW(CAW), .TAG_W(6)) u_cam (
    .clk_i(clk_i), .rst_ni(rst_ni), .clear_i(clear_i),
    .tag_i(row_i), .key_i(key),
    .hit_o(cam_hit), .hit_addr_o(cam_addr), .hit_val_o(cam_val),
    .count_o(cam_count), .full_o(cam_full), .free_addr_o(cam_free),
    .wr_i(cam_wr), .wr_addr_i(cam_wr_addr), .wr_tag_i(row_i), .wr_key_i(key),
    .wr_val_i(val), .inv_i(cam_inv), .inv_addr_i(cam_addr)
  );
  assign cam_full_o = cam_full;

  // ---- TCAM: key = u32 prefixlen, then the data bytes in network order ----
  wire [31:0] plen32 = k32;
  wire [31:0] maxplen = {25'd0, ks - 4'd4, 3'b000};
  wire        plen_bad = ks <= 4'd4 || plen32 > maxplen;
  wire [5:0]  plen = plen32[5:0];
  wire [31:0] data = {key[39:32], key[47:40], key[55:48], key[63:56]};
  wire [31:0] pmask = plen == 6'd0 ? 32'd0 : ~(32'hffff_ffff >> plen);
  wire [31:0] xdata = data & pmask;
  wire          t_hit, t_xhit, t_full;
  wire [63:0]   t_val;
  wire [TAW-1:0] t_xaddr, t_free;
  wire [TAW:0]  t_count;
  reg           t_wr, t_inv;
  reg  [TAW-1:0] t_wr_addr;
  ebpf_tcam #(.ENTRIES(U_TCAM_ENTRIES), .AW(TAW), .TAG_W(6)) u_tcam (
    .clk_i(clk_i), .rst_ni(rst_ni), .clear_i(clear_i),
    .tag_i(row_i), .data_i(data), .plen_i(plen), .x_data_i(xdata),
    .hit_o(t_hit), .hit_val_o(t_val), .x_hit_o(t_xhit), .x_addr_o(t_xaddr),
    .count_o(t_count), .full_o(t_full), .free_addr_o(t_free),
    .wr_i(t_wr), .wr_addr_i(t_wr_addr), .wr_tag_i(row_i), .wr_plen_i(plen),
    .wr_data_i(xdata), .wr_mask_i(pmask), .wr_val_i(val),
    .inv_i(t_inv), .inv_addr_i(t_xaddr)
  );
  assign tcam_full_o = t_full;

  // ---- direct store (ARRAY, DEVMAP) ----
  reg [63:0]     dstore_q [0:DW-1];
  reg [DW-1:0]   dvalid_q;
  wire           in_range = k32 < maxe;
  // A direct row's base is below DW (it holds at least one word), so the
  // top bit of base_q is unused here (waived).
  /* verilator lint_off UNUSEDSIGNAL */
  wire [DIRECT_AW:0] rbase = base_q[row_i];
  /* verilator lint_on UNUSEDSIGNAL */
  wire [DIRECT_AW-1:0] didx = rbase[DIRECT_AW-1:0] + k32[DIRECT_AW-1:0];
  wire [63:0]    dword = dvalid_q[didx] ? dstore_q[didx] : 64'd0;
  wire           dpresent = dword[31:0] != 32'd0;
  reg            d_wr;
  reg  [63:0]    d_wdata;

  wire go = op_v_i && !bad_o && !key_wide_o;
  always @* begin
    found_o = 1'b0;
    value_o = 64'd0;
    errno_o = 6'd0;
    cam_wr = 1'b0;
    cam_inv = 1'b0;
    cam_wr_addr = cam_free;
    t_wr = 1'b0;
    t_inv = 1'b0;
    t_wr_addr = t_free;
    d_wr = 1'b0;
    d_wdata = val;
    if (go && op_i == OP_LOOKUP) begin
      case (kind)
        K_HASH:   begin found_o = cam_hit; value_o = cam_val; end
        K_ARRAY:  begin found_o = in_range; value_o = dword; end
        K_DEVMAP: begin found_o = in_range && dpresent; value_o = dword; end
        K_LPM:    begin found_o = !plen_bad && t_hit; value_o = t_val; end
      endcase
      if (!found_o) value_o = 64'd0;
    end else if (go && op_i == OP_UPDATE && !val_wide_o) begin
      if (flags_bad) errno_o = U_EINVAL[5:0];
      else case (kind)
        K_ARRAY: begin
          if (!in_range) errno_o = U_E2BIG[5:0];
          else if (noexist) errno_o = U_EEXIST[5:0];
          else d_wr = 1'b1;
        end
        K_DEVMAP: begin
          if (!in_range) errno_o = U_E2BIG[5:0];
          else if (noexist) errno_o = U_EEXIST[5:0];
          else begin
            d_wr = 1'b1;
            if (val[31:0] == 32'd0) d_wdata = 64'd0;
          end
        end
        K_HASH: begin
          if (cam_hit && noexist) errno_o = U_EEXIST[5:0];
          else if (cam_hit) begin cam_wr = 1'b1; cam_wr_addr = cam_addr; end
          else if (exist) errno_o = U_ENOENT[5:0];
          else if ({{(31-CAW){1'b0}}, cam_count} >= maxe || cam_full) errno_o = U_E2BIG[5:0];
          else cam_wr = 1'b1;
        end
        default: begin
          if (plen_bad) errno_o = U_EINVAL[5:0];
          else if (t_xhit && noexist) errno_o = U_EEXIST[5:0];
          else if (t_xhit) begin t_wr = 1'b1; t_wr_addr = t_xaddr; end
          else if (exist) errno_o = U_ENOENT[5:0];
          else if ({{(31-TAW){1'b0}}, t_count} >= maxe || t_full) errno_o = U_ENOSPC[5:0];
          else t_wr = 1'b1;
        end
      endcase
    end else if (go && op_i == OP_DELETE) begin
      case (kind)
        K_ARRAY: errno_o = U_EINVAL[5:0];
        K_DEVMAP: begin
          if (!in_range) errno_o = U_EINVAL[5:0];
          else begin d_wr = 1'b1; d_wdata = 64'd0; end
        end
        K_HASH: begin
          if (!cam_hit) errno_o = U_ENOENT[5:0];
          else cam_inv = 1'b1;
        end
        default: begin
          if (plen_bad) errno_o = U_EINVAL[5:0];
          else if (!t_xhit) errno_o = U_ENOENT[5:0];
          else t_inv = 1'b1;
        end
      endcase
    end
  end

  always @(posedge clk_i) begin
    if (!rst_ni || clear_i) dvalid_q <= {DW{1'b0}};
    else if (d_wr) dvalid_q[didx] <= 1'b1;
    if (d_wr) dstore_q[didx] <= d_wdata;
  end
endmodule
