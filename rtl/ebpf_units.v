// ebpf_units: the device's shared helper units for ENGINES engines, the map
// coprocessor with its arbiter, and the host's map registers (the seam
// between the data plane and the coprocessor, docs/rtl.md).
//
// Per engine e it serves exactly the engine's helper and ext ports
// (ebpf_engine.v's helper_* and ext_* signals, flattened with engine e at
// [e*W +: W]). Cycle-exact with the model's SUME ABI units
// (vm::units::sume_helpers with DeviceState::arbitrate, as vm::device runs
// them):
//   - map_lookup/update/delete_elem (1, 2, 3), keys and values by value:
//     through ebpf_map_arbiter to ebpf_map_coproc; the answer comes after
//     wait + latency clocks (CAM 10/12, TCAM 10/26, direct 2/2; 1 for a
//     handle that names no map, answered with a helper fault). Lookup
//     returns the value or SUME_LOOKUP_MISS, update/delete 0 or -errno; a
//     key or value wider than 8 bytes is a helper fault, as in the model.
//   - ktime_get_ns (5): cycle_i * 1e9 / CLOCK_HZ, one clock (the answer in
//     the request's clock).
//   - get_prandom_u32 (7): the model's xorshift32 from its seed, one clock;
//     engines asking in the same clock draw in the clock's rotating order.
//   - any other id, including trace_printk (6, not implemented here: it
//     reads its format string from the engine's stack), is an unknown
//     helper: fault after HELPER_DEFAULT_CYCLES, as the model's engine does
//     for ids the ABI lacks.
// The helper arguments must stay stable while helper_req is up (the engine
// holds them in its EX/MEM latch). The answer (ack, ret, fault) is
// combinational in the clock it is due, so a one-clock helper is answered
// in the clock of its request.
//
// XDP ABI (xdp_i, ABIMODE 1; vm::units::xdp_helpers as vm::device runs
// them):
//   - each engine's struct xdp_md (data, data_end, data_meta,
//     ingress_ifindex, rx_queue_index, egress_ifindex) is loaded when the
//     engine starts a packet (pkt_start_i, with its received length
//     pkt_len_i: data = PKT_BASE + XDP_HEADROOM, data_end = data + length,
//     data_meta = data, ingress_ifindex = the engine's port e % 4, the
//     others 0, as vm::abi::Abi::window) and its redirect target cleared;
//     the engine reads it on its ext port at CTX_BASE (any width wholly
//     inside the 24 bytes, in the clock of the access); every other ext
//     access faults, writes to the context included (read-only, as the
//     model's region). ctx_data_o/ctx_end_o give data and data_end (the
//     frame the egress sends), redir_v_o/redir_port_o the redirect target.
//   - bpf_redirect (23): flags 0 sets the target and returns XDP_REDIRECT,
//     other flags return XDP_ABORTED; get_smp_processor_id (8): the engine;
//     xdp_get_buff_len (188): data_end - data; xdp_adjust_meta (54) and
//     xdp_adjust_head (44) and xdp_adjust_tail (65) with the model's bounds
//     (-EINVAL, -EACCES); r1 other than CTX_BASE is a helper fault. One
//     clock each (contract::SIMPLE_HELPER_CYCLES). Two cases need the units
//     to write FIFO_MD, which they cannot reach: xdp_adjust_head with
//     metadata before data (the model moves it) and xdp_adjust_tail growing
//     the frame (the model zeroes the bytes it exposes); both are helper
//     faults here (docs/rtl-dataplane.md, "Not done yet").
//   - map helpers (1, 2, 3 take keys and values through pointers in XDP),
//     redirect_map, csum_diff, xdp_load/store_bytes, trace_printk: unknown
//     helpers here (RtlDevice's FLIP check refuses programs calling them).
// SUME ABI: no context and no map values in the engine's address space, so
// every ext access faults (as the model's memory does outside its regions).
//
// Host map registers (mreg_*, byte offsets of docs/registers.md; read data
// combinational): NUMMAP..MAXELEMSMAP (a MAXELEMSMAP write commits the next
// row, checked as MapDef::check does, within the rows NUMMAP or MAPLOAD
// opened), MAPLOAD (rows base..base+count-1 emptied and loaded next, the
// others stay; vm::maps::MapTable::reload), SELECTMEMORY, OPERATION (1
// update BPF_ANY, 2 delete, 3 lookup on map MAPSELECT with HIKEY/LOKEY and
// HIDIN/LODIN), ACK, ERROR, CAMFULL, TCAMFULL, CLEAN, CLEANACK, CAMBUSY,
// TCAMBUSY, CLEANDEBUG (0), COPROCARBFSMSTATE (0xf, as the model reads it),
// MAPSELECT, KEYSIZEMAP, VALUESIZEMAP, MAPROWTYPE..MAPROWMAXELEMS (row
// MAPSELECT of the table as committed: the coprocessor's valid bit and kind
// as the Linux type, and the key size, value size and max entries its
// MAXELEMSMAP write committed, held here beside it; 0 for an empty row), and
// the wide-entry window: WIDEKEY
// and WIDEVALUE (16 words each, read back as written), WIDEOP (1 update
// with flags in bits 9:8, 2 delete, 3 lookup, 4 next key, bit 8 from the
// first; the model's Device::wide_op) and WIDESTATUS (bit 0 done, bit 1
// busy, bits 31:16 the errno). Keys and values of at most 8 bytes go through
// the coprocessor (words 0 and 1); a WIDEOP on a map whose key or value is
// wider answers E2BIG (the RTL holds no such entries; the model does). An
// OPERATION or WIDEOP runs on the coprocessor in the first clock its queue
// is empty, the result reading back contract::HOST_OP_CLOCKS after the
// write's clock (a next-key scan then walks the map's storage, one read a
// clock: contract::scan_clocks and scan_steps); ACK reads 0 and WIDESTATUS
// busy until it is done (the model the same with Device::set_host_clocked).
// An OPERATION or WIDEOP written while one is under way is refused; a
// NUMMAP, CLEAN or MAPLOAD write during a scan ends it with ENOENT.
// mreg_err_o is high in the clock of an access the model refuses with an
// error (write to a read-only register, NUMMAP over U_MAX_MAPS, MAPLOAD
// past the table, a row the model rejects, past the rows opened, or that
// does not fit the direct store, an OPERATION or WIDEOP while one is under
// way): the data plane answers SLVERR.
module ebpf_units #(
  parameter integer ENGINES = 4
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  input  wire [63:0]           cycle_i,
  // an engine starts a packet in this clock, and that packet's received
  // length (XDP: its xdp_md)
  input  wire [ENGINES-1:0]    pkt_start_i,
  input  wire [ENGINES*16-1:0] pkt_len_i,
  // the ABI (ABIMODE: 0 SUME, 1 XDP)
  input  wire                  xdp_i,
  // XDP: each engine's xdp_md.data and data_end, and its redirect target
  output wire [ENGINES*32-1:0] ctx_data_o,
  output wire [ENGINES*32-1:0] ctx_end_o,
  output wire [ENGINES-1:0]    redir_v_o,
  output wire [ENGINES*32-1:0] redir_port_o,
  // helper ports
  input  wire [ENGINES-1:0]    helper_req_i,
  input  wire [ENGINES*32-1:0] helper_id_i,
  input  wire [ENGINES*64-1:0] helper_arg1_i,
  input  wire [ENGINES*64-1:0] helper_arg2_i,
  input  wire [ENGINES*64-1:0] helper_arg3_i,
  input  wire [ENGINES*64-1:0] helper_arg4_i,
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [ENGINES*64-1:0] helper_arg5_i,
  /* verilator lint_on UNUSEDSIGNAL */
  output reg  [ENGINES-1:0]    helper_ack_o,
  output reg  [ENGINES*64-1:0] helper_ret_o,
  output wire [ENGINES-1:0]    helper_unwind_o,
  output reg  [ENGINES-1:0]    helper_fault_o,
  output reg  [ENGINES*3-1:0]  helper_fault_code_o,
  // ext ports
  input  wire [ENGINES-1:0]    ext_rd_i,
  input  wire [ENGINES-1:0]    ext_wr_i,
  input  wire [ENGINES*64-1:0] ext_addr_i,
  input  wire [ENGINES*2-1:0]  ext_width_i,
  /* verilator lint_off UNUSEDSIGNAL */
  // Nothing the engines may write is on the ext port yet.
  input  wire [ENGINES*64-1:0] ext_wdata_i,
  /* verilator lint_on UNUSEDSIGNAL */
  output reg  [ENGINES*64-1:0] ext_rdata_o,
  output reg  [ENGINES-1:0]    ext_rd_fault_o,
  output wire [ENGINES-1:0]    ext_wr_fault_o,
  // counters and state
  output wire [ENGINES*32-1:0] mapwait_o,
  output wire [3:0]            arb_state_o,
  // host map registers
  input  wire                  mreg_wr_i,
  /* verilator lint_off UNUSEDSIGNAL */
  // Reads of the map registers have no side effect (read data is combinational).
  input  wire                  mreg_rd_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire [11:0]           mreg_addr_i,
  input  wire [31:0]           mreg_wdata_i,
  output reg  [31:0]           mreg_rdata_o,
  output reg                   mreg_err_o
);
  `include "ebpf_params.vh"
  `include "ebpf_units_params.vh"

  localparam integer EW = ENGINES > 1 ? $clog2(ENGINES) : 1;
  localparam integer LW = 6;
  localparam integer BW = 12;
  localparam [EW:0] NE = ENGINES[EW:0];

  // ---- XDP context (xdp_md) and redirect target, per engine ----
  reg [31:0] cdata_q [0:ENGINES-1];
  reg [31:0] cend_q  [0:ENGINES-1];
  reg [31:0] cmeta_q [0:ENGINES-1];
  reg [31:0] cwin_q  [0:ENGINES-1];   // end of the packet window
  reg [ENGINES-1:0] rdv_q;
  reg [31:0] rdp_q   [0:ENGINES-1];

  // ext port: reads of the context (XDP), nothing else.
  integer x;
  reg [63:0]  xoff;
  reg [191:0] xctx;
  reg [3:0]   xn;
  always @* begin
    for (x = 0; x < ENGINES; x = x + 1) begin
      xoff = ext_addr_i[x*64 +: 64] - CTX_BASE;
      xn = 4'd1 << ext_width_i[x*2 +: 2];
      xctx = {32'd0, 32'd0, {30'd0, x[1:0]}, cmeta_q[x], cend_q[x], cdata_q[x]};
      /* verilator lint_off WIDTH */
      ext_rd_fault_o[x] = ext_rd_i[x] &&
                          !(xdp_i && xoff < U_XDP_MD_SIZE && xoff + xn <= U_XDP_MD_SIZE);
      ext_rdata_o[x*64 +: 64] = xctx >> (8 * xoff[4:0]);
      /* verilator lint_on WIDTH */
    end
  end
  assign ext_wr_fault_o = ext_wr_i;
  assign helper_unwind_o = {ENGINES{1'b0}};
  assign arb_state_o = 4'hf;

  // ---- coprocessor ----
  wire [63:0]  row_valid;
  wire [127:0] row_kind;
  reg          cp_v;
  reg  [1:0]   cp_op;
  reg  [5:0]   cp_row;
  reg  [63:0]  cp_key, cp_val, cp_flags;
  wire         cp_bad, cp_kwide, cp_vwide, cp_found, cp_fit, cam_full, tcam_full;
  wire [63:0]  cp_value;
  wire [5:0]   cp_errno;
  reg          cfg_we, cp_clear, cp_reload, scan_go;
  reg  [1:0]   cfg_kind;
  reg  [3:0]   cfg_ks, cfg_vs;
  wire         scan_done, scan_found;
  wire [63:0]  scan_key, scan_val;
  wire [6:0]   ml_lo = {1'b0, mreg_wdata_i[13:8]};
  wire [8:0]   ml_hi = {1'b0, mreg_wdata_i[15:8]} + {1'b0, mreg_wdata_i[7:0]};
  ebpf_map_coproc #(.DIRECT_AW($clog2(U_DIRECT_WORDS))) u_coproc (
    .clk_i(clk_i), .rst_ni(rst_ni), .clear_i(cp_clear),
    .cfg_we_i(cfg_we), .cfg_row_i(maprow_q[5:0]), .cfg_kind_i(cfg_kind),
    .cfg_ks_i(cfg_ks), .cfg_vs_i(cfg_vs), .cfg_max_i(mreg_wdata_i),
    .cfg_fit_o(cp_fit), .reload_i(cp_reload), .reload_lo_i(ml_lo),
    .reload_hi_i(ml_hi[6:0]), .row_valid_o(row_valid), .row_kind_o(row_kind),
    .op_v_i(cp_v), .op_i(cp_op), .row_i(cp_row), .key_i(cp_key), .val_i(cp_val),
    .flags_i(cp_flags), .bad_o(cp_bad), .key_wide_o(cp_kwide), .val_wide_o(cp_vwide),
    .found_o(cp_found), .value_o(cp_value), .errno_o(cp_errno),
    .cam_full_o(cam_full), .tcam_full_o(tcam_full),
    .scan_go_i(scan_go), .scan_first_i(wop_q[8]),
    .scan_done_o(scan_done), .scan_found_o(scan_found), .scan_key_o(scan_key),
    .scan_val_o(scan_val)
  );

  // ---- per-engine request decode ----
  reg [ENGINES-1:0]    act_q;
  reg [BW-1:0]         rem_q   [0:ENGINES-1];
  reg [63:0]           ret_q   [0:ENGINES-1];
  reg                  flt_q   [0:ENGINES-1];
  reg [2:0]            fcode_q [0:ENGINES-1];
  reg [31:0]           wait_q  [0:ENGINES-1];
  reg [31:0]           rng_q;

  wire [ENGINES-1:0]    is_new = helper_req_i & ~act_q;
  reg  [ENGINES-1:0]    is_map, good;
  reg  [ENGINES*LW-1:0] lat;
  reg  [5:0]            idx [0:ENGINES-1];
  wire [ENGINES*BW-1:0] waits;
  wire                  head_v, host_go;
  wire [EW-1:0]         head;
  reg                   host_pend_q, wpend_q;
  reg  [9:0]            wop_q;   // the model reads bits 7:0 (op) and 9:8 (flags)

  integer e;
  reg [31:0] id;
  reg [63:0] a1, off;
  reg [1:0]  kind;
  reg        hit;
  always @* begin
    for (e = 0; e < ENGINES; e = e + 1) begin
      id = helper_id_i[e*32 +: 32];
      a1 = helper_arg1_i[e*64 +: 64];
      off = a1 - U_MAP_BASE;
      // By value (SUME) only: XDP's take pointers (not served here).
      is_map[e] = !xdp_i && (id == U_H_LOOKUP || id == U_H_UPDATE || id == U_H_DELETE);
      /* verilator lint_off WIDTH */
      hit = off < U_MAX_MAPS * U_MAP_STRIDE && off % U_MAP_STRIDE == 0;
      idx[e] = off / U_MAP_STRIDE;
      /* verilator lint_on WIDTH */
      good[e] = hit && row_valid[idx[e]];
      kind = row_kind[idx[e]*2 +: 2];
      lat[e*LW +: LW] = 6'd1;
      if (good[e]) begin
        case (kind)
          MAPK_HASH:  lat[e*LW +: LW] = id == U_H_LOOKUP ? U_CAM_READ[5:0] : U_CAM_WRITE[5:0];
          MAPK_LPMTRIE:   lat[e*LW +: LW] = id == U_H_LOOKUP ? U_TCAM_READ[5:0] : U_TCAM_WRITE[5:0];
          default: lat[e*LW +: LW] = id == U_H_LOOKUP ? U_ARRAY_READ[5:0] : U_ARRAY_WRITE[5:0];
        endcase
      end
    end
  end

  ebpf_map_arbiter #(.ENGINES(ENGINES), .EW(EW), .LW(LW), .BW(BW)) u_arb (
    .clk_i(clk_i), .rst_ni(rst_ni), .cycle_i(cycle_i),
    .new_i(is_new & is_map), .lat_i(lat), .push_i(is_map & good), .wait_o(waits),
    .head_v_o(head_v), .head_o(head), .host_req_i(host_pend_q || wpend_q), .host_go_o(host_go)
  );

  // ---- host register state ----
  reg [31:0] nummap_q, typemap_q, maxelems_q, selmem_q, mapsel_q, keysize_q, valsize_q;
  reg [63:0] keymask_q, valmask_q, hkey_q, hmask_q, hval_q;
  reg [31:0] hop_q, error_q;
  reg [6:0]  maprow_q, maprowend_q;
  reg        ack_q;
  reg [31:0] wkey_q [0:R_WIDE_WORDS-1];
  reg [31:0] wval_q [0:R_WIDE_WORDS-1];
  reg [15:0] werrno_q;
  reg        wdone_q, wbusy_q;
  // The committed definition of each row (MAPROW*): valid only while the
  // coprocessor's row_valid says the row holds a map.
  reg [31:0] rowks_q  [0:U_MAX_MAPS-1];
  reg [31:0] rowvs_q  [0:U_MAX_MAPS-1];
  reg [31:0] rowmax_q [0:U_MAX_MAPS-1];

  // ---- coprocessor operation of this clock: the queue's head or the host ----
  // The host's: OPERATION first, then WIDEOP (w_*: the wide operation).
  reg [31:0] hid;
  wire hop_ok = hop_q >= 32'd1 && hop_q <= 32'd3 && mapsel_q < U_MAX_MAPS;
  wire w_go = host_go && !host_pend_q;
  wire [7:0] w_op = wop_q[7:0];
  wire w_nomap = mapsel_q >= U_MAX_MAPS || cp_bad;
  wire w_badop = w_op == 8'd0 || w_op > 8'd4;
  wire w_wide = cp_kwide || cp_vwide;
  wire w_run = w_go && !w_nomap && !w_badop && !w_wide;
  always @* begin
    hid = helper_id_i[head*32 +: 32];
    // A host operation the model refuses before touching a map does not run.
    cp_v = head_v || host_go && host_pend_q && hop_ok || w_run && w_op != 8'd4;
    scan_go = w_run && w_op == 8'd4;
    cp_op = MOP_LOOKUP;
    cp_row = 6'd0;
    cp_key = 64'd0;
    cp_val = 64'd0;
    cp_flags = 64'd0;
    if (head_v) begin
      cp_op = hid == U_H_LOOKUP ? MOP_LOOKUP : hid == U_H_UPDATE ? MOP_UPDATE : MOP_DELETE;
      cp_row = idx[head];
      cp_key = helper_arg2_i[head*64 +: 64];
      cp_val = helper_arg3_i[head*64 +: 64];
      cp_flags = helper_arg4_i[head*64 +: 64];
    end else if (host_go && host_pend_q) begin
      cp_op = hop_q == 32'd1 ? MOP_UPDATE : hop_q == 32'd2 ? MOP_DELETE : MOP_LOOKUP;
      cp_row = mapsel_q[5:0];
      cp_key = hkey_q;
      cp_val = hval_q;
    end else if (w_go) begin
      cp_op = w_op == 8'd1 ? MOP_UPDATE : w_op == 8'd2 ? MOP_DELETE : MOP_LOOKUP;
      cp_row = mapsel_q[5:0];
      cp_key = {wkey_q[1], wkey_q[0]};
      cp_val = {wval_q[1], wval_q[0]};
      cp_flags = {62'd0, wop_q[9:8]};
    end
  end

  // The head's answer as the model's SUME body gives it.
  reg [63:0] x_ret;
  reg        x_flt;
  always @* begin
    x_ret = 64'd0;
    x_flt = cp_bad || cp_kwide;
    case (cp_op)
      MOP_LOOKUP: begin
        x_flt = x_flt || cp_vwide;
        x_ret = cp_found ? cp_value : U_LOOKUP_MISS;
      end
      MOP_UPDATE: begin
        x_flt = x_flt || cp_vwide;
        x_ret = cp_errno == 6'd0 ? 64'd0 : -{58'd0, cp_errno};
      end
      default: x_ret = cp_errno == 6'd0 ? 64'd0 : -{58'd0, cp_errno};
    endcase
  end

  // ---- XDP helpers on the context (vm::units: redirect,
  // get_smp_processor_id, xdp_get_buff_len, xdp_adjust_meta/head/tail) ----
  reg [63:0] x_ret_e [0:ENGINES-1];
  reg        x_flt_e [0:ENGINES-1];
  reg        x_set   [0:ENGINES-1];   // the context changes (x_data..x_meta)
  reg [31:0] x_data  [0:ENGINES-1];
  reg [31:0] x_end   [0:ENGINES-1];
  reg [31:0] x_meta  [0:ENGINES-1];
  reg        x_rdir  [0:ENGINES-1];   // bpf_redirect sets the target
  reg [31:0] hx_id;
  reg [63:0] hx_a1, hx_a2, hx_delta, hx_d, hx_e, hx_m, hx_new, hx_ml, hx_lo;
  reg        hx_ctx;
  integer    h;
  /* verilator lint_off WIDTH */
  always @* begin
    for (h = 0; h < ENGINES; h = h + 1) begin
      hx_id = helper_id_i[h*32 +: 32];
      hx_a1 = helper_arg1_i[h*64 +: 64];
      hx_a2 = helper_arg2_i[h*64 +: 64];
      hx_delta = {{32{hx_a2[31]}}, hx_a2[31:0]};
      hx_d = {32'd0, cdata_q[h]};
      hx_e = {32'd0, cend_q[h]};
      hx_m = {32'd0, cmeta_q[h]};
      hx_lo = PKT_BASE + U_XDP_FRAME_BYTES;
      hx_ml = hx_d > hx_m ? hx_d - hx_m : 64'd0;
      hx_new = 64'd0;
      hx_ctx = hx_a1 == CTX_BASE;
      x_ret_e[h] = 64'd0;
      x_flt_e[h] = 1'b0;
      x_set[h] = 1'b0;
      x_rdir[h] = 1'b0;
      x_data[h] = cdata_q[h];
      x_end[h] = cend_q[h];
      x_meta[h] = cmeta_q[h];
      if (hx_id == U_H_REDIRECT) begin
        x_rdir[h] = hx_a2 == 64'd0;
        x_ret_e[h] = hx_a2 == 64'd0 ? U_XDP_REDIRECT : U_XDP_ABORTED;
      end else if (hx_id == U_H_SMP_ID) begin
        x_ret_e[h] = {32'd0, h};
      end else if (!hx_ctx) begin
        x_flt_e[h] = 1'b1;
      end else if (hx_id == U_H_BUFF_LEN) begin
        x_ret_e[h] = hx_e - hx_d;
      end else if (hx_id == U_H_ADJUST_META) begin
        hx_new = hx_m + hx_delta;
        if ($signed(hx_new) < $signed(hx_lo) || $signed(hx_new) > $signed(hx_d))
          x_ret_e[h] = -U_EINVAL;
        else if (hx_d[1:0] != hx_new[1:0])
          x_ret_e[h] = -U_EACCES;
        else begin
          x_set[h] = 1'b1;
          x_meta[h] = hx_new[31:0];
        end
      end else if (hx_id == U_H_ADJUST_HEAD) begin
        hx_new = hx_d + hx_delta;
        if ($signed(hx_new - hx_ml) < $signed(hx_lo) ||
            $signed(hx_new) > $signed(hx_e - U_ETH_HLEN))
          x_ret_e[h] = -U_EINVAL;
        else if (hx_ml != 64'd0)
          x_flt_e[h] = 1'b1;   // the metadata would move: FIFO_MD writes
        else begin
          x_set[h] = 1'b1;
          x_data[h] = hx_new[31:0];
          x_meta[h] = hx_m[31:0] + hx_delta[31:0];
        end
      end else begin
        // xdp_adjust_tail
        hx_new = hx_e + hx_delta;
        if ($signed(hx_new) > $signed({32'd0, cwin_q[h]}) ||
            $signed(hx_new) < $signed(hx_d + U_ETH_HLEN))
          x_ret_e[h] = -U_EINVAL;
        else if ($signed(hx_delta) > 0)
          x_flt_e[h] = 1'b1;   // the exposed bytes would be zeroed: FIFO_MD writes
        else begin
          x_set[h] = 1'b1;
          x_end[h] = hx_new[31:0];
        end
      end
    end
  end
  /* verilator lint_on WIDTH */

  // ---- answers, timers, PRNG ----
  reg [ENGINES-1:0] ack_now;
  reg [63:0]        imm_ret [0:ENGINES-1];
  reg               imm_flt [0:ENGINES-1];
  reg [2:0]         imm_code[0:ENGINES-1];
  reg [BW-1:0]      cyc     [0:ENGINES-1];
  reg [31:0]        rng, r, aid;
  reg [EW:0]        first, ee;
  reg [EW-1:0]      ei;
  integer k;
  always @* begin
    /* verilator lint_off WIDTH */
    first = cycle_i % ENGINES;
    /* verilator lint_on WIDTH */
    rng = rng_q;
    r = rng_q;
    aid = 32'd0;
    ei = {EW{1'b0}};
    for (e = 0; e < ENGINES; e = e + 1) begin
      imm_ret[e] = 64'd0;
      imm_flt[e] = 1'b0;
      imm_code[e] = 3'd0;
      cyc[e] = {{(BW-LW){1'b0}}, lat[e*LW +: LW]};
    end
    for (k = 0; k < ENGINES; k = k + 1) begin
      ee = first + k[EW:0];
      if (ee >= NE) ee = ee - NE;
      ei = ee[EW-1:0];
      aid = helper_id_i[ei*32 +: 32];
      if (is_map[ei]) begin
        cyc[ei] = waits[ei*BW +: BW] + {{(BW-LW){1'b0}}, lat[ei*LW +: LW]};
        imm_flt[ei] = !good[ei];
        imm_code[ei] = FAULT_HELPER;
      end else if (aid == U_H_KTIME) begin
        cyc[ei] = U_SIMPLE_CYCLES[BW-1:0];
        imm_ret[ei] = cycle_i * U_NS_PER_CYCLE;
      end else if (xdp_i && (aid == U_H_REDIRECT || aid == U_H_SMP_ID || aid == U_H_BUFF_LEN ||
                             aid == U_H_ADJUST_META || aid == U_H_ADJUST_HEAD ||
                             aid == U_H_ADJUST_TAIL)) begin
        cyc[ei] = U_SIMPLE_CYCLES[BW-1:0];
        imm_ret[ei] = x_ret_e[ei];
        imm_flt[ei] = x_flt_e[ei];
        imm_code[ei] = FAULT_HELPER;
      end else if (aid == U_H_PRANDOM) begin
        cyc[ei] = U_SIMPLE_CYCLES[BW-1:0];
        if (is_new[ei]) begin
          r = rng;
          r = r ^ (r << 13);
          r = r ^ (r >> 17);
          r = r ^ (r << 5);
          rng = r;
        end
        imm_ret[ei] = {32'd0, rng};
      end else begin
        cyc[ei] = U_DEFAULT_CYCLES[BW-1:0];
        imm_flt[ei] = 1'b1;
        imm_code[ei] = FAULT_UNKNOWN_HELPER;
      end
    end
    for (e = 0; e < ENGINES; e = e + 1) begin
      ack_now[e] = is_new[e] ? cyc[e] == 1 : act_q[e] && rem_q[e] == 1;
      helper_ack_o[e] = ack_now[e];
      helper_ret_o[e*64 +: 64] = 64'd0;
      helper_fault_o[e] = 1'b0;
      helper_fault_code_o[e*3 +: 3] = 3'd0;
      if (ack_now[e]) begin
        if (is_new[e]) begin
          helper_ret_o[e*64 +: 64] = imm_flt[e] ? 64'd0 : imm_ret[e];
          helper_fault_o[e] = imm_flt[e];
          helper_fault_code_o[e*3 +: 3] = imm_flt[e] ? imm_code[e] : 3'd0;
        end else if (head_v && head == e[EW-1:0]) begin
          helper_ret_o[e*64 +: 64] = x_flt ? 64'd0 : x_ret;
          helper_fault_o[e] = x_flt;
          helper_fault_code_o[e*3 +: 3] = x_flt ? FAULT_HELPER : 3'd0;
        end else begin
          helper_ret_o[e*64 +: 64] = flt_q[e] ? 64'd0 : ret_q[e];
          helper_fault_o[e] = flt_q[e];
          helper_fault_code_o[e*3 +: 3] = flt_q[e] ? fcode_q[e] : 3'd0;
        end
      end
    end
  end

  genvar g;
  generate
    for (g = 0; g < ENGINES; g = g + 1) begin : g_eng
      assign mapwait_o[g*32 +: 32] = wait_q[g];
      assign ctx_data_o[g*32 +: 32] = cdata_q[g];
      assign ctx_end_o[g*32 +: 32] = cend_q[g];
      assign redir_v_o[g] = rdv_q[g];
      assign redir_port_o[g*32 +: 32] = rdp_q[g];
      // A helper of this engine's call that changes the context or target.
      wire xcall = xdp_i && is_new[g] && !imm_flt[g] &&
                   (helper_id_i[g*32 +: 32] == U_H_ADJUST_META ||
                    helper_id_i[g*32 +: 32] == U_H_ADJUST_HEAD ||
                    helper_id_i[g*32 +: 32] == U_H_ADJUST_TAIL ||
                    helper_id_i[g*32 +: 32] == U_H_REDIRECT);
      wire [31:0] plen32 = {16'd0, pkt_len_i[g*16 +: 16]};
      always @(posedge clk_i) begin
        if (!rst_ni) begin
          cdata_q[g] <= 32'd0; cend_q[g] <= 32'd0; cmeta_q[g] <= 32'd0; cwin_q[g] <= 32'd0;
          rdv_q[g] <= 1'b0; rdp_q[g] <= 32'd0;
        end else if (pkt_start_i[g]) begin
          cdata_q[g] <= PKT_BASE[31:0] + U_XDP_HEADROOM;
          cend_q[g] <= PKT_BASE[31:0] + U_XDP_HEADROOM + plen32;
          cmeta_q[g] <= PKT_BASE[31:0] + U_XDP_HEADROOM;
          cwin_q[g] <= PKT_BASE[31:0] + U_XDP_HEADROOM + plen32;
          rdv_q[g] <= 1'b0;
        end else if (xcall) begin
          if (x_set[g]) begin
            cdata_q[g] <= x_data[g];
            cend_q[g] <= x_end[g];
            cmeta_q[g] <= x_meta[g];
          end
          if (x_rdir[g]) begin
            rdv_q[g] <= 1'b1;
            rdp_q[g] <= helper_arg1_i[g*64 +: 32];
          end
        end
      end
      always @(posedge clk_i) begin
        if (!rst_ni) begin
          act_q[g] <= 1'b0;
          rem_q[g] <= {BW{1'b0}};
          wait_q[g] <= 32'd0;
        end else if (is_new[g] && !ack_now[g]) begin
          act_q[g] <= 1'b1;
          rem_q[g] <= cyc[g] - 1'b1;
        end else if (act_q[g]) begin
          act_q[g] <= !ack_now[g];
          rem_q[g] <= rem_q[g] - 1'b1;
        end
        if (rst_ni && is_new[g] && is_map[g])
          wait_q[g] <= wait_q[g] + {{(32-BW){1'b0}}, waits[g*BW +: BW]};
        if (is_new[g]) begin
          ret_q[g] <= imm_ret[g];
          flt_q[g] <= imm_flt[g];
          fcode_q[g] <= imm_code[g];
        end else if (head_v && head == g[EW-1:0]) begin
          ret_q[g] <= x_ret;
          flt_q[g] <= x_flt;
          fcode_q[g] <= FAULT_HELPER;
        end
      end
    end
  endgenerate

  always @(posedge clk_i) begin
    if (!rst_ni) rng_q <= U_PRNG_SEED[31:0];
    else rng_q <= rng;
  end

  // ---- host map registers ----
  function [31:0] mask_bytes(input [63:0] m);
    integer i;
    reg [6:0] bits;
    begin
      bits = 7'd0;
      for (i = 0; i < 64; i = i + 1) if (m[i]) bits = i[6:0] + 7'd1;
      mask_bytes = {25'd0, (bits + 7'd7) >> 3};
    end
  endfunction

  function shape_ok(input [1:0] kd, input [31:0] ks, input [31:0] vs, input [31:0] mx);
    reg ok;
    begin
      ok = ks != 0 && vs != 0 && mx != 0;
      case (kd)
        MAPK_ARRAY:  ok = ok && ks == 32'd4;
        MAPK_LPMTRIE:    ok = ok && ks > U_LPM_HEADER && ks - U_LPM_HEADER <= U_LPM_MAX_DATA;
        MAPK_DEVMAP: ok = ok && ks == 32'd4 && (vs == 32'd4 || vs == 32'd8);
        default:  ;
      endcase
      /* verilator lint_off WIDTH */
      shape_ok = ok && ({32'd0, mx} * {32'd0, vs}) <= U_MAP_STRIDE;
      /* verilator lint_on WIDTH */
    end
  endfunction

  reg        type_ok, shape;
  reg [31:0] ks0, vs0, ks1, vs1;
  always @* begin
    type_ok = 1'b1;
    cfg_kind = MAPK_HASH;
    case (typemap_q)
      U_MAP_TYPE_HASH:   cfg_kind = MAPK_HASH;
      U_MAP_TYPE_ARRAY:  cfg_kind = MAPK_ARRAY;
      U_MAP_TYPE_LPM:    cfg_kind = MAPK_LPMTRIE;
      U_MAP_TYPE_DEVMAP: cfg_kind = MAPK_DEVMAP;
      default:           type_ok = 1'b0;
    endcase
    ks0 = mask_bytes(keymask_q);
    vs0 = mask_bytes(valmask_q);
    ks1 = keysize_q != 0 ? keysize_q : ks0;
    vs1 = valsize_q != 0 ? valsize_q : vs0;
    cfg_ks = ks1 <= 32'd8 ? ks1[3:0] : 4'd0;
    cfg_vs = vs1 <= 32'd8 ? vs1[3:0] : 4'd0;
    shape = type_ok && shape_ok(cfg_kind, ks0, vs0, mreg_wdata_i)
         && shape_ok(cfg_kind, ks1, vs1, mreg_wdata_i);
  end
  wire row_ok = shape && cp_fit && maprow_q < maprowend_q;

  wire wr = mreg_wr_i;
  wire [11:0] a = mreg_addr_i;
  // A host map operation is under way (OPERATION pending, WIDEOP pending or
  // scanning): another OPERATION or WIDEOP is refused.
  wire hbusy = host_pend_q || wpend_q || wbusy_q;
  wire hop_reg = a == R_OPERATION || a == R_WIDEOP;
  wire ro_reg = a == R_ACK || a == R_ERROR || a == R_CAMFULL || a == R_TCAMFULL
             || a == R_CAMBUSY || a == R_TCAMBUSY || a == R_CLEANACK || a == R_CLEANDEBUG
             || a == R_COPROCARBFSMSTATE || a == R_WIDESTATUS
             || a == R_MAPROWTYPE || a == R_MAPROWKEYSIZE || a == R_MAPROWVALUESIZE
             || a == R_MAPROWMAXELEMS;
  wire ml_ok = mreg_wdata_i[31:16] == 16'd0 && ml_hi <= U_MAX_MAPS[8:0];
  // Word index in the window (bits 5:2 of the offset; the rest is the
  // window's base, checked by in_wkey/in_wval).
  /* verilator lint_off UNUSEDSIGNAL */
  wire [11:0] wk_off = a - R_WIDEKEY;
  wire [11:0] wv_off = a - R_WIDEVALUE;
  /* verilator lint_on UNUSEDSIGNAL */
  localparam [11:0] WIN = 12'd4 * R_WIDE_WORDS[11:0];
  wire in_wkey = a >= R_WIDEKEY && a < R_WIDEKEY + WIN;
  wire in_wval = a >= R_WIDEVALUE && a < R_WIDEVALUE + WIN;
  wire [3:0] wk_i = wk_off[5:2];
  wire [3:0] wv_i = wv_off[5:2];
  always @* begin
    cfg_we = wr && a == R_MAXELEMSMAP && row_ok;
    cp_clear = wr && (a == R_NUMMAP && mreg_wdata_i <= U_MAX_MAPS || a == R_CLEAN && mreg_wdata_i[0]);
    cp_reload = wr && a == R_MAPLOAD && ml_ok;
    mreg_err_o = wr && ro_reg
              || wr && a == R_NUMMAP && mreg_wdata_i > U_MAX_MAPS
              || wr && a == R_MAPLOAD && !ml_ok
              || wr && a == R_MAXELEMSMAP && !row_ok
              || wr && hop_reg && hbusy;
  end

  // The wide operation's result in its clock (the scan's when it ends).
  reg [15:0] w_errno;
  always @* begin
    w_errno = 16'd0;
    if (w_nomap) w_errno = U_ENOENT[15:0];
    else if (w_badop) w_errno = U_EINVAL[15:0];
    else if (w_wide) w_errno = U_E2BIG[15:0];
    else if (w_op == 8'd3) w_errno = cp_found ? 16'd0 : U_ENOENT[15:0];
    else w_errno = {10'd0, cp_errno};
  end

  always @(posedge clk_i) begin
    if (cfg_we) begin
      rowks_q[maprow_q[5:0]]  <= ks1;
      rowvs_q[maprow_q[5:0]]  <= vs1;
      rowmax_q[maprow_q[5:0]] <= mreg_wdata_i;
    end
  end

  // Row MAPSELECT as MAPROWTYPE..MAPROWMAXELEMS read it.
  wire       rsel_ok = mapsel_q < U_MAX_MAPS && row_valid[mapsel_q[5:0]];
  wire [1:0] rsel_kind = row_kind[mapsel_q[5:0]*2 +: 2];
  reg [31:0] rsel_type;
  always @* begin
    case (rsel_kind)
      MAPK_HASH:    rsel_type = U_MAP_TYPE_HASH;
      MAPK_ARRAY:   rsel_type = U_MAP_TYPE_ARRAY;
      MAPK_LPMTRIE: rsel_type = U_MAP_TYPE_LPM;
      default:      rsel_type = U_MAP_TYPE_DEVMAP;
    endcase
  end

  integer q;
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      nummap_q <= 32'd0; typemap_q <= 32'd0; maxelems_q <= 32'd0; selmem_q <= 32'd0;
      mapsel_q <= 32'd0; keysize_q <= 32'd0; valsize_q <= 32'd0;
      keymask_q <= 64'd0; valmask_q <= 64'd0; hkey_q <= 64'd0; hmask_q <= 64'd0;
      hval_q <= 64'd0; hop_q <= 32'd0; error_q <= 32'd0; maprow_q <= 7'd0;
      maprowend_q <= 7'd0; ack_q <= 1'b0; host_pend_q <= 1'b0;
      wpend_q <= 1'b0; wop_q <= 10'd0; werrno_q <= 16'd0; wdone_q <= 1'b0; wbusy_q <= 1'b0;
      for (q = 0; q < R_WIDE_WORDS; q = q + 1) begin
        wkey_q[q] <= 32'd0;
        wval_q[q] <= 32'd0;
      end
    end else begin
      if (wr) begin
        case (a)
          R_NUMMAP: if (mreg_wdata_i <= U_MAX_MAPS) begin
            nummap_q <= mreg_wdata_i;
            maprow_q <= 7'd0;
            maprowend_q <= mreg_wdata_i[6:0];
          end
          R_MAPLOAD: if (ml_ok) begin
            maprow_q <= ml_lo;
            maprowend_q <= ml_hi[6:0];
          end
          R_WIDEOP: if (!hbusy) begin
            wop_q <= mreg_wdata_i[9:0];
            wpend_q <= 1'b1;
            wdone_q <= 1'b0;
            wbusy_q <= 1'b1;
          end
          R_TYPEMAP:        typemap_q <= mreg_wdata_i;
          R_HIKEYMASKMAP:   keymask_q[63:32] <= mreg_wdata_i;
          R_LOKEYMASKMAP:   keymask_q[31:0] <= mreg_wdata_i;
          R_HIVALUEMASKMAP: valmask_q[63:32] <= mreg_wdata_i;
          R_LOVALUEMASKMAP: valmask_q[31:0] <= mreg_wdata_i;
          R_MAXELEMSMAP: begin
            maxelems_q <= mreg_wdata_i;
            if (row_ok) begin
              maprow_q <= maprow_q + 7'd1;
              keysize_q <= 32'd0;
              valsize_q <= 32'd0;
            end
          end
          R_SELECTMEMORY:   selmem_q <= mreg_wdata_i;
          R_OPERATION: if (!hbusy) begin
            hop_q <= mreg_wdata_i;
            host_pend_q <= 1'b1;
            ack_q <= 1'b0;
          end
          R_HIKEY:          hkey_q[63:32] <= mreg_wdata_i;
          R_LOKEY:          hkey_q[31:0] <= mreg_wdata_i;
          R_HIMASK:         hmask_q[63:32] <= mreg_wdata_i;
          R_LOMASK:         hmask_q[31:0] <= mreg_wdata_i;
          R_HIDIN:          hval_q[63:32] <= mreg_wdata_i;
          R_LODIN:          hval_q[31:0] <= mreg_wdata_i;
          R_CLEAN:          if (mreg_wdata_i[0]) ack_q <= 1'b1;
          R_MAPSELECT:      mapsel_q <= mreg_wdata_i;
          R_KEYSIZEMAP:     keysize_q <= mreg_wdata_i;
          R_VALUESIZEMAP:   valsize_q <= mreg_wdata_i;
          default: begin
            if (in_wkey) wkey_q[wk_i] <= mreg_wdata_i;
            if (in_wval) wval_q[wv_i] <= mreg_wdata_i;
          end
        endcase
      end
      if (w_go) begin
        wpend_q <= 1'b0;
        if (!scan_go) begin
          wbusy_q <= 1'b0;
          wdone_q <= 1'b1;
          werrno_q <= w_errno;
          if (w_run && w_op == 8'd3 && cp_found) begin
            for (q = 2; q < R_WIDE_WORDS; q = q + 1) wval_q[q] <= 32'd0;
            wval_q[0] <= cp_value[31:0];
            wval_q[1] <= cp_value[63:32];
          end
        end
      end
      if (scan_done) begin
        wbusy_q <= 1'b0;
        wdone_q <= 1'b1;
        werrno_q <= scan_found ? 16'd0 : U_ENOENT[15:0];
        if (scan_found) begin
          for (q = 2; q < R_WIDE_WORDS; q = q + 1) begin
            wkey_q[q] <= 32'd0;
            wval_q[q] <= 32'd0;
          end
          wkey_q[0] <= scan_key[31:0];
          wkey_q[1] <= scan_key[63:32];
          wval_q[0] <= scan_val[31:0];
          wval_q[1] <= scan_val[63:32];
        end
      end
      if (host_go && host_pend_q) begin
        host_pend_q <= 1'b0;
        ack_q <= 1'b1;
        if (!hop_ok || cp_bad || cp_kwide
            || (cp_op == MOP_UPDATE && cp_vwide)) begin
          error_q <= U_EINVAL;
        end else if (cp_op == MOP_LOOKUP) begin
          error_q <= cp_found ? 32'd0 : U_ENOENT;
          if (cp_found) hval_q <= cp_value;
        end else begin
          error_q <= {26'd0, cp_errno};
        end
      end
    end
  end

  always @* begin
    mreg_rdata_o = 32'd0;
    case (a)
      R_NUMMAP:            mreg_rdata_o = nummap_q;
      R_TYPEMAP:           mreg_rdata_o = typemap_q;
      R_HIKEYMASKMAP:      mreg_rdata_o = keymask_q[63:32];
      R_LOKEYMASKMAP:      mreg_rdata_o = keymask_q[31:0];
      R_HIVALUEMASKMAP:    mreg_rdata_o = valmask_q[63:32];
      R_LOVALUEMASKMAP:    mreg_rdata_o = valmask_q[31:0];
      R_MAXELEMSMAP:       mreg_rdata_o = maxelems_q;
      R_SELECTMEMORY:      mreg_rdata_o = selmem_q;
      R_HIKEY:             mreg_rdata_o = hkey_q[63:32];
      R_LOKEY:             mreg_rdata_o = hkey_q[31:0];
      R_HIMASK:            mreg_rdata_o = hmask_q[63:32];
      R_LOMASK:            mreg_rdata_o = hmask_q[31:0];
      R_HIDIN:             mreg_rdata_o = hval_q[63:32];
      R_LODIN:             mreg_rdata_o = hval_q[31:0];
      R_ACK, R_CLEANACK:   mreg_rdata_o = {31'd0, ack_q};
      R_ERROR:             mreg_rdata_o = error_q;
      R_CAMFULL:           mreg_rdata_o = {31'd0, cam_full};
      R_TCAMFULL:          mreg_rdata_o = {31'd0, tcam_full};
      R_COPROCARBFSMSTATE: mreg_rdata_o = {28'd0, arb_state_o};
      R_MAPSELECT:         mreg_rdata_o = mapsel_q;
      R_KEYSIZEMAP:        mreg_rdata_o = keysize_q;
      R_VALUESIZEMAP:      mreg_rdata_o = valsize_q;
      R_WIDESTATUS:        mreg_rdata_o = {werrno_q, 14'd0, wbusy_q, wdone_q};
      R_MAPROWTYPE:        mreg_rdata_o = rsel_ok ? rsel_type : 32'd0;
      R_MAPROWKEYSIZE:     mreg_rdata_o = rsel_ok ? rowks_q[mapsel_q[5:0]] : 32'd0;
      R_MAPROWVALUESIZE:   mreg_rdata_o = rsel_ok ? rowvs_q[mapsel_q[5:0]] : 32'd0;
      R_MAPROWMAXELEMS:    mreg_rdata_o = rsel_ok ? rowmax_q[mapsel_q[5:0]] : 32'd0;
      default: begin
        if (in_wkey) mreg_rdata_o = wkey_q[wk_i];
        if (in_wval) mreg_rdata_o = wval_q[wv_i];
      end
    endcase
  end
endmodule
