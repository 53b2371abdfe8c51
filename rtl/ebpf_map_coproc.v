// ebpf_map_coproc: the map coprocessor (vm::maps::MapTable for values of
// at most 64 bits and keys of at most 64 bits, HASH keys up to the CAM's
// KW bits, contract::RTL_CAM_KEY_BYTES).
//
// Map table: one row per map index (U_MAX_MAPS), written by cfg_we_i (the
// register block has already checked the row as MapDef::check does):
// kind (0 HASH, 1 ARRAY, 2 LPM_TRIE, 3 DEVMAP), key size in bytes (1 up to
// the CAM's KW / 8, or 0 for wider), value size (1..8, or 0 for "wider
// than 8"; such maps exist, but operations on them fail as in the
// model's by-value view), max_entries and, for ARRAY and DEVMAP, the
// map's words in the direct store (vm::maps::MapTable's policy: a row takes
// max_entries words of the store's window in commit order; cfg_fit_o says
// whether a row of cfg_max_i words still fits). The window is the whole
// store after clear_i; reload_i (MAPLOAD) empties rows reload_lo_i ..
// reload_hi_i-1 (their CAM and TCAM entries too) and makes the window the
// larger free end of the store beside the direct rows that stay (below the
// lowest or above the highest of their words, the lower one on a tie; all
// of it when none stays), whose words then read as zero.
//
// Next-key scan (scan_go_i, the host's WIDEOP 4; vm::maps::MapTable::
// next_entry): the entry of row row_i with the smallest key greater than
// key_i (or the smallest, scan_first_i), keys compared as
// little-endian unsigned numbers (an LPM_TRIE key is {data bytes, prefix
// length}). HASH and LPM_TRIE walk the CAM or TCAM, one entry per clock;
// ARRAY and DEVMAP walk the indices from key_i + 1 (or 0) to the first
// present one. scan_done_o pulses in the clock after the last step with
// scan_found_o, scan_key_o, scan_val_o. The
// scan reads the storage while engines may write it (the model's scan is
// instantaneous); the host tools scan while no engine writes the map.
//
// Where entries live: HASH in ebpf_cam, LPM_TRIE in ebpf_tcam (both tagged
// by map index, values inside the entries), ARRAY and DEVMAP in the direct
// store, one 64-bit word per index (a word never written reads as zero; a
// DEVMAP slot is present when its ifindex, the word's low 32 bits, is
// non-zero, and a delete zeroes it).
//
// Slots (slots_i, the XDP ABI; vm::maps's Row::alloc): a HASH or LPM_TRIE
// entry holds its value slot instead of its value (the units keep the
// values in their value memory, where programs reach them by address). A
// new entry takes the row's last freed slot, else its next never-used one;
// a delete frees the entry's slot; rows below U_VROWS keep the allocator
// (fresh count and a stack of freed slots, linked through a word per
// slot). slot_o is the operation's slot: the entry found (lookup), the one
// written (update), the index (ARRAY, DEVMAP). An entry never takes a slot
// at or past the CAM's or TCAM's capacity (a row's count of entries is at
// most that), so 6 bits hold one.
//
// An operation runs when its row holds a map and its key fits: key_ptr_i
// (the key came through a pointer or the wide-entry window, KW bits) runs
// it when key_held_o, else (a by-value key, 64 bits) only when the key is
// at most 8 bytes, as before the CAM was widened.
//
// One operation per clock (op_v_i): the search and the result are
// combinational, the state changes at the clock edge. The latencies
// (CAM 4/4, TCAM 5/5, direct 2/2: contract::CAM_READ_CYCLES ..) are the
// arbiter's business: the answer waits in ebpf_units until the
// operation's latency ends. They leave a registered search the clocks it
// needs (compare every entry; select the hit and read its value), which
// this module still does in its run clock (docs/rtl.md, "Map latencies"). Results:
// bad_o (no map at row_i), key_wide_o/val_wide_o (sizes over 8 bytes: the
// caller decides whether that is a fault or EINVAL), key_held_o (the
// coprocessor holds the row's keys: a HASH key of up to KW bits, any other
// of up to 64), found_o/value_o
// (lookup), errno_o (update/delete, the model's Linux errno, 0 on success).
module ebpf_map_coproc #(
  parameter integer DIRECT_AW = 10,
  parameter integer KW = 128,   // CAM key bits (8 * U_CAM_KEY_BYTES)
  parameter integer KSW = 5     // bits of a key size 0..KW/8
) (
  input  wire         clk_i,
  input  wire         rst_ni,
  input  wire         clear_i,
  // map table
  input  wire         cfg_we_i,
  input  wire [5:0]   cfg_row_i,
  input  wire [1:0]   cfg_kind_i,
  input  wire [KSW-1:0] cfg_ks_i,
  input  wire [3:0]   cfg_vs_i,
  input  wire [31:0]  cfg_max_i,
  output wire         cfg_fit_o,
  input  wire         reload_i,
  input  wire [6:0]   reload_lo_i,
  input  wire [6:0]   reload_hi_i,
  output wire [63:0]  row_valid_o,
  output wire [127:0] row_kind_o,
  // operation
  input  wire         op_v_i,
  input  wire [1:0]   op_i,       // 1 lookup, 2 update, 3 delete
  input  wire [5:0]   row_i,
  input  wire [KW-1:0] key_i,
  input  wire         key_ptr_i,
  input  wire [63:0]  val_i,
  input  wire [63:0]  flags_i,
  output wire         bad_o,
  output wire         key_wide_o,
  output wire         key_held_o,
  output wire         val_wide_o,
  output reg          found_o,
  output reg  [63:0]  value_o,
  output reg  [5:0]   errno_o,
  // slots (XDP ABI)
  input  wire         slots_i,
  output reg  [31:0]  slot_o,
  output wire         cam_full_o,
  output wire         tcam_full_o,
  // next-key scan (row_i and key_i give the row and the key in the
  // scan_go_i clock)
  input  wire         scan_go_i,
  input  wire         scan_first_i,
  output wire         scan_done_o,
  output wire         scan_found_o,
  output wire [KW-1:0] scan_key_o,
  output wire [63:0]  scan_val_o
);
  `include "ebpf_units_params.vh"

  localparam integer CAW = $clog2(U_CAM_ENTRIES);
  localparam integer TAW = $clog2(U_TCAM_ENTRIES);
  localparam integer DW = 1 << DIRECT_AW;

  // ---- map table ----
  reg [63:0]          valid_q;
  reg [1:0]           kind_q [0:63];
  reg [KSW-1:0]       ks_q   [0:63];
  reg [3:0]           vs_q   [0:63];
  reg [31:0]          max_q  [0:63];
  reg [DIRECT_AW:0]   base_q [0:63];
  reg [DIRECT_AW:0]   end_q  [0:63];
  reg [DIRECT_AW:0]   dnext_q, dend_q;

  genvar g;
  generate
    for (g = 0; g < 64; g = g + 1) begin : g_kind
      assign row_kind_o[2*g +: 2] = kind_q[g];
    end
  endgenerate
  assign row_valid_o = valid_q;
  wire cfg_direct = cfg_kind_i == MAPK_ARRAY || cfg_kind_i == MAPK_DEVMAP;
  wire [DIRECT_AW:0] dfree = dend_q - dnext_q;
  assign cfg_fit_o = !cfg_direct || cfg_max_i <= {{(31-DIRECT_AW){1'b0}}, dfree};
  wire [DIRECT_AW:0] cfg_end = dnext_q + cfg_max_i[DIRECT_AW:0];

  // The window after a reload: lowest base and highest end of the direct
  // rows that stay.
  reg [63:0]        stay;
  reg               any;
  reg [DIRECT_AW:0] lo, hi, wlo, whi;
  integer r;
  always @* begin
    any = 1'b0;
    lo = DW[DIRECT_AW:0];
    hi = {(DIRECT_AW+1){1'b0}};
    for (r = 0; r < 64; r = r + 1) begin
      stay[r] = valid_q[r] && (r[6:0] < reload_lo_i || r[6:0] >= reload_hi_i);
      if (stay[r] && (kind_q[r] == MAPK_ARRAY || kind_q[r] == MAPK_DEVMAP)) begin
        any = 1'b1;
        if (base_q[r] < lo) lo = base_q[r];
        if (end_q[r] > hi) hi = end_q[r];
      end
    end
    if (!any) begin
      wlo = {(DIRECT_AW+1){1'b0}};
      whi = DW[DIRECT_AW:0];
    end else if (lo >= DW[DIRECT_AW:0] - hi) begin
      wlo = {(DIRECT_AW+1){1'b0}};
      whi = lo;
    end else begin
      wlo = hi;
      whi = DW[DIRECT_AW:0];
    end
  end

  always @(posedge clk_i) begin
    if (!rst_ni || clear_i) begin
      valid_q <= 64'd0;
      dnext_q <= {(DIRECT_AW+1){1'b0}};
      dend_q  <= DW[DIRECT_AW:0];
    end else if (reload_i) begin
      valid_q <= stay;
      dnext_q <= wlo;
      dend_q  <= whi;
    end else if (cfg_we_i) begin
      valid_q[cfg_row_i] <= 1'b1;
      if (cfg_direct) dnext_q <= cfg_end;
    end
    if (cfg_we_i) begin
      kind_q[cfg_row_i] <= cfg_kind_i;
      ks_q[cfg_row_i]   <= cfg_ks_i;
      vs_q[cfg_row_i]   <= cfg_vs_i;
      max_q[cfg_row_i]  <= cfg_max_i;
      base_q[cfg_row_i] <= dnext_q;
      end_q[cfg_row_i]  <= cfg_direct ? cfg_end : dnext_q;
    end
  end

  // ---- the operation's row ----
  wire [1:0]  kind = kind_q[row_i];
  wire [KSW-1:0] ks = ks_q[row_i];
  wire [3:0]  vs   = vs_q[row_i];
  wire [31:0] maxe = max_q[row_i];
  assign bad_o      = !valid_q[row_i];
  localparam [KSW-1:0] KS8 = 8;
  assign key_wide_o = ks == {KSW{1'b0}} || ks > KS8;
  assign key_held_o = ks != {KSW{1'b0}} && (kind == MAPK_HASH || ks <= KS8);
  assign val_wide_o = vs == 4'd0;
  // The key's bytes (ks of them; a by-value key is at most 8): the CAM's
  // entries hold keys masked, zero above their size.
  localparam [8:0] KWB = KW[8:0];
  wire [8:0]    kshift = KWB - {{(6-KSW){1'b0}}, ks, 3'b000};
  wire [KW-1:0] kmask = ks == {KSW{1'b0}} ? {KW{1'b1}} : ({KW{1'b1}} >> kshift);
  wire [63:0] vmask = vs >= 4'd8 || vs == 4'd0 ? {64{1'b1}} : ({64{1'b1}} >> (7'd64 - {vs, 3'b000}));
  wire [KW-1:0] keyw = key_i & kmask;
  wire [63:0] key = keyw[63:0];
  wire [63:0] val = val_i & vmask;
  wire [31:0] k32 = key[31:0];
  wire        flags_bad = flags_i > {32'd0, U_BPF_EXIST[31:0]};
  wire        noexist = flags_i == {32'd0, U_BPF_NOEXIST[31:0]};
  wire        exist = flags_i == {32'd0, U_BPF_EXIST[31:0]};

  // ---- next-key scan state (the walk is at the end) ----
  reg              sc_busy_q, sc_done_q, sc_found_q, sc_first_q;
  reg [1:0]        sc_kind_q;
  reg [5:0]        sc_row_q;
  reg [KW-1:0]     sc_cur_q, sc_key_q;
  reg [63:0]       sc_val_q;
  reg [32:0]       sc_ptr_q;
  reg [31:0]       sc_max_q;
  reg [DIRECT_AW-1:0] sc_base_q;
  wire             c_rd_valid, t_rd_valid;
  wire [5:0]       c_rd_tag, t_rd_tag, t_rd_plen;
  wire [KW-1:0]    c_rd_key;
  wire [63:0]      c_rd_val, t_rd_val;
  wire [31:0]      t_rd_data;

  // What a CAM or TCAM write stores: the value, or its slot (slots_i).
  wire [63:0]   cam_wval, t_wval;

  // ---- CAM ----
  wire          cam_hit, cam_full;
  wire [CAW-1:0] cam_addr, cam_free;
  wire [63:0]   cam_val;
  wire [CAW:0]  cam_count;
  reg           cam_wr, cam_inv;
  reg  [CAW-1:0] cam_wr_addr;
  ebpf_cam #(.ENTRIES(U_CAM_ENTRIES), .AW(CAW), .TAG_W(6), .KW(KW)) u_cam (
    .clk_i(clk_i), .rst_ni(rst_ni), .clear_i(clear_i),
    .tag_i(row_i), .key_i(keyw),
    .hit_o(cam_hit), .hit_addr_o(cam_addr), .hit_val_o(cam_val),
    .count_o(cam_count), .full_o(cam_full), .free_addr_o(cam_free),
    .wr_i(cam_wr), .wr_addr_i(cam_wr_addr), .wr_tag_i(row_i), .wr_key_i(keyw),
    .wr_val_i(cam_wval), .inv_i(cam_inv), .inv_addr_i(cam_addr),
    .rd_addr_i(sc_ptr_q[CAW-1:0]), .rd_valid_o(c_rd_valid), .rd_tag_o(c_rd_tag),
    .rd_key_o(c_rd_key), .rd_val_o(c_rd_val),
    .drop_i(reload_i), .drop_lo_i(reload_lo_i), .drop_hi_i(reload_hi_i)
  );
  assign cam_full_o = cam_full;

  // ---- TCAM: key = u32 prefixlen, then the data bytes in network order ----
  wire [31:0] plen32 = k32;
  localparam [KSW-1:0] KS4 = 4;
  wire [KSW-1:0] ksd = ks - KS4;
  wire [31:0] maxplen = {{(29-KSW){1'b0}}, ksd, 3'b000};
  wire        plen_bad = ks <= KS4 || plen32 > maxplen;
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
    .wr_data_i(xdata), .wr_mask_i(pmask), .wr_val_i(t_wval),
    .inv_i(t_inv), .inv_addr_i(t_xaddr),
    .rd_addr_i(sc_ptr_q[TAW-1:0]), .rd_valid_o(t_rd_valid), .rd_tag_o(t_rd_tag),
    .rd_plen_o(t_rd_plen), .rd_data_o(t_rd_data), .rd_val_o(t_rd_val),
    .drop_i(reload_i), .drop_lo_i(reload_lo_i), .drop_hi_i(reload_hi_i)
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

  // ---- value slots (XDP ABI) ----
  localparam integer SR = U_VROWS;
  localparam integer SRW = SR > 1 ? $clog2(SR) : 1;
  reg  [6:0]   fresh_q [0:SR-1];
  reg  [6:0]   nfree_q [0:SR-1];     // slots on the freed stack
  reg  [5:0]   fhead_q [0:SR-1];
  reg  [5:0]   flink_q [0:SR*64-1];  // the slot freed before this one
  wire         srow_ok = {26'd0, row_i} < SR[31:0];
  wire [SRW-1:0] srow = row_i[SRW-1:0];
  wire         s_pop = srow_ok && nfree_q[srow] != 7'd0;
  wire [5:0]   s_new = s_pop ? fhead_q[srow] : fresh_q[srow][5:0];
  // Rows past SR keep values in the entries in either ABI (the units hold
  // no values for them).
  wire         slots = slots_i && srow_ok;
  assign cam_wval = slots ? (cam_hit ? cam_val : {58'd0, s_new}) : val;
  assign t_wval = slots ? (t_xhit ? t_val : {58'd0, s_new}) : val;
  reg          s_alloc, s_free;
  reg  [5:0]   s_freed;

  wire go = op_v_i && !bad_o && (key_ptr_i ? key_held_o : !key_wide_o);
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
    slot_o = k32;
    s_alloc = 1'b0;
    s_free = 1'b0;
    s_freed = 6'd0;
    if (go && op_i == MOP_LOOKUP) begin
      case (kind)
        MAPK_HASH:   begin found_o = cam_hit; value_o = cam_val; slot_o = cam_val[31:0]; end
        MAPK_ARRAY:  begin found_o = in_range; value_o = dword; end
        MAPK_DEVMAP: begin found_o = in_range && dpresent; value_o = dword; end
        MAPK_LPMTRIE:    begin found_o = !plen_bad && t_hit; value_o = t_val; slot_o = t_val[31:0]; end
      endcase
      if (!found_o) value_o = 64'd0;
    end else if (go && op_i == MOP_UPDATE && (!val_wide_o || slots)) begin
      if (flags_bad) errno_o = U_EINVAL[5:0];
      else case (kind)
        MAPK_ARRAY: begin
          if (!in_range) errno_o = U_E2BIG[5:0];
          else if (noexist) errno_o = U_EEXIST[5:0];
          else d_wr = 1'b1;
        end
        MAPK_DEVMAP: begin
          if (!in_range) errno_o = U_E2BIG[5:0];
          else if (noexist) errno_o = U_EEXIST[5:0];
          else begin
            d_wr = 1'b1;
            if (val[31:0] == 32'd0) d_wdata = 64'd0;
          end
        end
        MAPK_HASH: begin
          if (cam_hit && noexist) errno_o = U_EEXIST[5:0];
          else if (cam_hit) begin
            cam_wr = 1'b1; cam_wr_addr = cam_addr; slot_o = cam_val[31:0];
          end
          else if (exist) errno_o = U_ENOENT[5:0];
          else if ({{(31-CAW){1'b0}}, cam_count} >= maxe || cam_full) errno_o = U_E2BIG[5:0];
          else begin cam_wr = 1'b1; s_alloc = 1'b1; slot_o = {26'd0, s_new}; end
        end
        default: begin
          if (plen_bad) errno_o = U_EINVAL[5:0];
          else if (t_xhit && noexist) errno_o = U_EEXIST[5:0];
          else if (t_xhit) begin
            t_wr = 1'b1; t_wr_addr = t_xaddr; slot_o = t_val[31:0];
          end
          else if (exist) errno_o = U_ENOENT[5:0];
          else if ({{(31-TAW){1'b0}}, t_count} >= maxe || t_full) errno_o = U_ENOSPC[5:0];
          else begin t_wr = 1'b1; s_alloc = 1'b1; slot_o = {26'd0, s_new}; end
        end
      endcase
    end else if (go && op_i == MOP_DELETE) begin
      case (kind)
        MAPK_ARRAY: errno_o = U_EINVAL[5:0];
        MAPK_DEVMAP: begin
          if (!in_range) errno_o = U_EINVAL[5:0];
          else begin d_wr = 1'b1; d_wdata = 64'd0; end
        end
        MAPK_HASH: begin
          if (!cam_hit) errno_o = U_ENOENT[5:0];
          else begin cam_inv = 1'b1; s_free = 1'b1; s_freed = cam_val[5:0]; end
        end
        default: begin
          if (plen_bad) errno_o = U_EINVAL[5:0];
          else if (!t_xhit) errno_o = U_ENOENT[5:0];
          else begin t_inv = 1'b1; s_free = 1'b1; s_freed = t_val[5:0]; end
        end
      endcase
    end
  end

  // The slot allocator of rows below SR: a row committed starts empty.
  integer sr;
  always @(posedge clk_i) begin
    for (sr = 0; sr < SR; sr = sr + 1) begin
      if (!rst_ni || clear_i || cfg_we_i && {26'd0, cfg_row_i} == sr[31:0]) begin
        fresh_q[sr] <= 7'd0;
        nfree_q[sr] <= 7'd0;
      end else if (slots && srow == sr[SRW-1:0]) begin
        if (s_alloc && s_pop) begin
          fhead_q[sr] <= flink_q[{srow, fhead_q[sr]}];
          nfree_q[sr] <= nfree_q[sr] - 7'd1;
        end else if (s_alloc) fresh_q[sr] <= fresh_q[sr] + 7'd1;
        if (s_free) begin
          fhead_q[sr] <= s_freed;
          nfree_q[sr] <= nfree_q[sr] + 7'd1;
        end
      end
    end
    if (slots && s_free) flink_q[{srow, s_freed}] <= fhead_q[srow];
  end

  // Words of the window a reload frees (they read as zero afterwards).
  // The window is a prefix [0, whi) or a suffix [wlo, DW) of the store:
  // one thermometer code of the boundary.
  wire          wprefix = wlo == {(DIRECT_AW+1){1'b0}};
  wire [DW-1:0] wtherm = {DW{1'b1}} << (wprefix ? whi : wlo);
  wire [DW-1:0] wmask = wprefix ? ~wtherm : wtherm;

  always @(posedge clk_i) begin
    if (!rst_ni || clear_i) dvalid_q <= {DW{1'b0}};
    else begin
      if (reload_i) dvalid_q <= dvalid_q & ~wmask;
      if (d_wr) dvalid_q[didx] <= 1'b1;
    end
    if (d_wr) dstore_q[didx] <= d_wdata;
  end

  // ---- next-key scan ----
  wire              sc_direct = sc_kind_q == MAPK_ARRAY || sc_kind_q == MAPK_DEVMAP;
  wire [DIRECT_AW-1:0] sidx = sc_base_q + sc_ptr_q[DIRECT_AW-1:0];
  wire [63:0]       sword = dvalid_q[sidx] ? dstore_q[sidx] : 64'd0;
  wire              s_in = sc_ptr_q < {1'b0, sc_max_q};
  wire              s_present = sc_kind_q == MAPK_ARRAY || sword[31:0] != 32'd0;
  wire [KW-1:0]     t_key = {{(KW-64){1'b0}}, t_rd_data[7:0], t_rd_data[15:8],
                             t_rd_data[23:16], t_rd_data[31:24], 26'd0, t_rd_plen};
  wire              c_is = sc_kind_q == MAPK_HASH;
  wire              e_valid = c_is ? c_rd_valid && c_rd_tag == sc_row_q
                                   : t_rd_valid && t_rd_tag == sc_row_q;
  wire [KW-1:0]     e_key = c_is ? c_rd_key : t_key;
  wire [63:0]       e_val = c_is ? c_rd_val : t_rd_val;
  wire              e_cand = e_valid && (sc_first_q || e_key > sc_cur_q)
                             && (!sc_found_q || e_key < sc_key_q);
  wire [32:0]       e_last = c_is ? U_CAM_ENTRIES - 1 : U_TCAM_ENTRIES - 1;
  /* verilator lint_off UNUSEDSIGNAL */
  wire [DIRECT_AW:0] go_base = base_q[row_i];
  /* verilator lint_on UNUSEDSIGNAL */
  wire              go_direct = kind == MAPK_ARRAY || kind == MAPK_DEVMAP;

  assign scan_done_o  = sc_done_q;
  assign scan_found_o = sc_found_q;
  assign scan_key_o   = sc_key_q;
  assign scan_val_o   = sc_val_q;

  always @(posedge clk_i) begin
    sc_done_q <= 1'b0;
    if (!rst_ni) begin
      sc_busy_q <= 1'b0;
      sc_found_q <= 1'b0;
    end else if (clear_i || reload_i) begin
      // The map table changed under the scan: it ends, nothing found (also
      // one that would start in this clock).
      if (sc_busy_q || scan_go_i) sc_done_q <= 1'b1;
      sc_busy_q <= 1'b0;
      sc_found_q <= 1'b0;
    end else if (scan_go_i) begin
      sc_busy_q  <= 1'b1;
      sc_found_q <= 1'b0;
      sc_first_q <= scan_first_i;
      sc_kind_q  <= kind;
      sc_row_q   <= row_i;
      sc_cur_q   <= keyw;
      sc_max_q   <= maxe;
      sc_base_q  <= go_base[DIRECT_AW-1:0];
      sc_ptr_q   <= go_direct && !scan_first_i ? {1'b0, k32} + 33'd1 : 33'd0;
    end else if (sc_busy_q) begin
      if (sc_direct) begin
        if (!s_in || s_present) begin
          sc_busy_q <= 1'b0;
          sc_done_q <= 1'b1;
          sc_found_q <= s_in;
          sc_key_q <= {{(KW-33){1'b0}}, sc_ptr_q};
          sc_val_q <= sword;
        end else sc_ptr_q <= sc_ptr_q + 33'd1;
      end else begin
        if (e_cand) begin
          sc_found_q <= 1'b1;
          sc_key_q <= e_key;
          sc_val_q <= e_val;
        end
        if (sc_ptr_q == e_last) begin
          sc_busy_q <= 1'b0;
          sc_done_q <= 1'b1;
        end else sc_ptr_q <= sc_ptr_q + 33'd1;
      end
    end
  end
endmodule
