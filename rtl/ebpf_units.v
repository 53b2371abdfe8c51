// ebpf_units: the device's shared helper units for ENGINES engines, the map
// coprocessor with its arbiter, and the host's map registers (the seam
// between the data plane and the coprocessor, docs/rtl.md).
//
// Per engine e it serves exactly the engine's helper, helper memory and
// ext ports (ebpf_engine.v's helper_*, hmem_* and ext_* signals, flattened
// with engine e at [e*W +: W]). Cycle-exact with the model's SUME ABI units
// (vm::units::sume_helpers with DeviceState::arbitrate, as vm::device runs
// them):
//   - map_lookup/update/delete_elem (1, 2, 3), keys and values by value:
//     through ebpf_map_arbiter to ebpf_map_coproc, a pipelined unit that
//     takes an operation a clock; the answer comes after wait + latency
//     clocks (CAM 4/4, TCAM 5/5, direct 2/2, contract::*_CYCLES; 1 for a
//     handle that names no map, answered with a helper fault). Lookup
//     returns the value or SUME_LOOKUP_MISS, update/delete 0 or -errno; a
//     key or value wider than 8 bytes is a helper fault, as in the model.
//   - ktime_get_ns (5): cycle_i * 1e9 / CLOCK_HZ, one clock (the answer in
//     the request's clock).
//   - get_prandom_u32 (7): the model's xorshift32 from its seed, one clock;
//     engines asking in the same clock draw in the clock's rotating order.
//   - trace_printk (6): the trace unit (below, "trace unit") reads the
//     format and its %s strings on the helper memory port (the stack and,
//     in the SUME ABI, the packet window of metadata and frame), a word a
//     clock, and answers the formatted length or -EINVAL
//     (contract::printk_clocks); each engine's trace FIFO keeps the
//     records for the host (TRACE* registers; "trace FIFOs" below).
//   - any other id is an unknown helper: fault after HELPER_DEFAULT_CYCLES,
//     as the model's engine does for ids the ABI lacks.
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
//     inside the 24 bytes, in the clock of the access); writes to the
//     context fault (read-only, as the model's region), and so does any
//     ext access outside the context and the map values. ctx_data_o/ctx_end_o give data and data_end (the
//     frame the egress sends), redir_v_o/redir_port_o the redirect target.
//   - bpf_redirect (23): flags 0 sets the target and returns XDP_REDIRECT,
//     other flags return XDP_ABORTED; get_smp_processor_id (8): the engine;
//     xdp_get_buff_len (188): data_end - data; xdp_adjust_meta (54) and
//     xdp_adjust_head (44) and xdp_adjust_tail (65) with the model's bounds
//     (-EINVAL, -EACCES); r1 other than CTX_BASE is a helper fault. One
//     clock each (contract::SIMPLE_HELPER_CYCLES), but xdp_adjust_tail
//     growing the frame, which zeroes the bytes it exposes through the
//     helper memory port's write side, a word a clock
//     (contract::helper_mem_clocks over the growth), and xdp_adjust_head
//     with metadata before data, which moves the metadata (data -
//     data_meta bytes) to the new data_meta through the port, a word read
//     and written a clock (contract::xdp_adjust_head_clocks over the
//     metadata's length, whether or not the adjustment is taken).
//   - map helpers through pointers (1, 2, 3; vm::units::xdp_map_*): the
//     map's values live in the value memory (vmem_q), row r (below
//     U_VROWS) in window r of U_VROW_BYTES, a slot's value at slot *
//     value_size; the coprocessor runs with slots_i, so a HASH or LPM_TRIE
//     entry holds its slot (ebpf_map_coproc). The key is read in the
//     request's clock on the helper memory port (hmem_*: the engine's stack
//     or packet through its own read ports while it waits in the call,
//     hmem_n_o bytes, at most U_HPORT_BYTES) or from the value memory, and
//     latched; a HASH key over one port word (up to the CAM's
//     U_CAM_KEY_BYTES) takes a second word in the next clock, and the
//     arbiter holds its operation at the queue's head in that clock, so it
//     runs from the one after (docs/rtl.md, "Wide CAM keys"; the answer's
//     clock does not change); an update's value words are read the same
//     way after the key's, the last in the clock the coprocessor runs the
//     operation, and the value lands in the value memory at that clock's
//     edge (the model's PendingWrite at coproc_ran_at + 1). An operation
//     holds the arbiter's issue slot while its words are read
//     (contract::ptr_map_issue_clocks). Lookup returns MAP_BASE + row * MAP_STRIDE + slot
//     * value_size or 0, update/delete 0 or -errno; a key or value the port
//     could not read (outside the stack, packet and map values, or wider
//     than the CAM's key or a port word) or a row without a value window
//     is a helper fault (RtlDevice's FLIP check refuses programs naming
//     such maps). Timing as
//     the SUME helpers (wait + latency through the arbiter).
//   - redirect_map (51): the DEVMAP entry of key r2 by value through the
//     coprocessor (lookup latency): found sets the target to its ifindex
//     and returns XDP_REDIRECT, else clears it and returns flags & 3; flags
//     beyond 3 | BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS return
//     XDP_ABORTED; BPF_F_BROADCAST sets the broadcast target (redir_bc_o:
//     the packet floods, every port but its input one, as the model's
//     Verdict::Flood) and returns XDP_REDIRECT whether or not key r2 is in
//     the map (the lookup still runs, its latency counts); a map that is
//     not a DEVMAP is a helper fault.
//   - the engines' ext accesses to map values (any width wholly inside a
//     row's value area): reads see the value memory overlaid with the
//     stores and atomics of the engines before them in the clock's
//     rotating order (the model steps the engines in it), and the units
//     redo each atomic on what its engine read (ext_at_i, ext_aop_i,
//     ext_sdata_i, ext_cmp_i), so that chain is the one combinational path
//     through the four engines' accesses.
//   - csum_diff (28), xdp_load_bytes (189), xdp_store_bytes (190): their
//     buffers through the helper memory port, one word a clock (see
//     "helpers over buffers in engine memory" below), or in a map value
//     (wholly inside a row's value area): such a word is read from the
//     value memory, overlaid with the ext writes of the engines before the
//     caller in the clock's order (mh_rv, mh_vrd: any helper's buffer word),
//     and a copy's word into one is written there at the edge of the clock
//     after its read, after that clock's stores (mwv_q; the model's pending
//     write, vm::units::BufCall); a buffer elsewhere (the context
//     included: Linux's verifier refuses it, the model faults too) is a
//     helper fault.
//   - trace_printk (6) as in the SUME ABI, its format and strings in the
//     stack, the packet window or a map value (the value memory, read as
//     the buffer helpers' words are: .rodata); ktime_get_coarse_ns (160) as
//     ktime_get_ns; trace_vprintk (177) in the trace unit, its arguments
//     read from its array after the format.
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
// wider answers E2BIG (the RTL holds no such entries; the model does), but
// for the values of a row with a value window in the XDP ABI, up to the
// window's 16 words (an ARRAY row's values over 16 words: the window at
// byte WIDEVOFF of the value, a multiple of 64 below its size; any other
// row takes WIDEVOFF 0 only, else EINVAL) (an XDP row's values are read and written in the value
// memory by OPERATION, WIDEOP and the scan alike). An
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
  output wire [ENGINES-1:0]    redir_bc_o,
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
  // The units take a store's bytes from ext_sdata_i and redo atomics (the
  // engine's ext_wdata_o depends on the read data).
  input  wire [ENGINES*64-1:0] ext_wdata_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire [ENGINES-1:0]    ext_st_i,
  input  wire [ENGINES-1:0]    ext_at_i,
  input  wire [ENGINES*3-1:0]  ext_aop_i,
  input  wire [ENGINES*64-1:0] ext_sdata_i,
  input  wire [ENGINES*64-1:0] ext_cmp_i,
  output reg  [ENGINES*64-1:0] ext_rdata_o,
  output reg  [ENGINES-1:0]    ext_rd_fault_o,
  output reg  [ENGINES-1:0]    ext_wr_fault_o,
  // helper memory port (ebpf_engine's hmem_*): a map helper's key and
  // value read from the calling engine's stack or packet
  output reg  [ENGINES-1:0]    hmem_rd_o,
  output reg  [ENGINES*64-1:0] hmem_addr_o,
  output reg  [ENGINES*4-1:0]  hmem_n_o,
  input  wire [ENGINES*64-1:0] hmem_rdata_i,
  input  wire [ENGINES-1:0]    hmem_ok_i,
  // and its write side: a copy's word into the stack or packet
  output reg  [ENGINES-1:0]    hmem_wr_o,
  output reg  [ENGINES*64-1:0] hmem_waddr_o,
  output reg  [ENGINES*4-1:0]  hmem_wn_o,
  output reg  [ENGINES*64-1:0] hmem_wdata_o,
  // counters and state
  output wire [ENGINES*32-1:0] mapwait_o,
  output wire [3:0]            arb_state_o,
  // the host's ENGSELECT (the engine whose trace FIFO the TRACE* registers
  // show)
  input  wire [31:0]           engsel_i,
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
  // The CAM's key: KW bits (contract::RTL_CAM_KEY_BYTES), its size in KSW
  // bits; a key over one helper memory port word is read in two.
  localparam integer KW = 8 * U_CAM_KEY_BYTES;
  localparam integer KSW = $clog2(U_CAM_KEY_BYTES + 1);
  /* verilator lint_off WIDTH */
  localparam [63:0] HPW = U_HPORT_BYTES;
  /* verilator lint_on WIDTH */

  // ---- XDP context (xdp_md) and redirect target, per engine ----
  reg [31:0] cdata_q [0:ENGINES-1];
  reg [31:0] cend_q  [0:ENGINES-1];
  reg [31:0] cmeta_q [0:ENGINES-1];
  reg [31:0] cwin_q  [0:ENGINES-1];   // end of the packet window
  reg [ENGINES-1:0] rdv_q;
  reg [ENGINES-1:0] rdb_q;   // the target is the broadcast (BPF_F_BROADCAST)
  reg [31:0] rdp_q   [0:ENGINES-1];

  wire [63:0]  row_valid;   // the coprocessor's map table
  wire [127:0] row_kind;

  // ---- value memory (XDP): row r's values (r < U_VROWS) in window r ----
  localparam integer VB = U_VROWS * U_VROW_BYTES;
  localparam integer VAW = $clog2(VB);
  localparam integer VRW = U_VROWS > 1 ? $clog2(U_VROWS) : 1;
  // A byte not written since its row was committed reads as zero (the
  // model's rows start zeroed): vvalid_q, one bit a byte.
  reg [7:0]  vmem_q [0:VB-1];
  reg [VB-1:0] vvalid_q;
  reg [31:0] varea_q [0:U_VROWS-1];   // max_entries * value_size
  // Byte offset in the value memory of map address addr when n bytes there
  // are wholly inside a configured row's value area (vm_in).
  function automatic [VAW:0] vm_at(input [63:0] addr, input [31:0] n, input [63:0] valid,
                                    input [32*U_VROWS-1:0] areas);
    reg [63:0] o, io;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [31:0] rw, ar, at;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
      o = addr - U_MAP_BASE;
      /* verilator lint_off WIDTH */
      rw = o / U_MAP_STRIDE;
      io = o % U_MAP_STRIDE;
      /* verilator lint_on WIDTH */
      vm_at = {1'b0, {VAW{1'b0}}};
      if (o < U_VROWS * U_MAP_STRIDE && valid[rw[5:0]]) begin
        ar = areas[rw*32 +: 32];
        /* verilator lint_off WIDTH */
        at = rw * U_VROW_BYTES + io[31:0];
        /* verilator lint_on WIDTH */
        if (io < {32'd0, ar} && {32'd0, n} <= {32'd0, ar} - io)
          vm_at = {1'b1, at[VAW-1:0]};
      end
    end
  endfunction
  function automatic [63:0] vm_rd(input [VAW-1:0] at);
    integer b;
    reg [VAW-1:0] ab;
    begin
      vm_rd = 64'd0;
      for (b = 0; b < 8; b = b + 1) begin
        ab = at + b[VAW-1:0];
        vm_rd[8*b +: 8] = vvalid_q[ab] ? vmem_q[ab] : 8'd0;
      end
    end
  endfunction
  // Bytes from map address addr to the end of its row's value area (0
  // outside every configured area): how far a %s there reads.
  function automatic [31:0] vm_left(input [63:0] addr, input [63:0] valid,
                                     input [32*U_VROWS-1:0] areas);
    reg [63:0] o, io;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [31:0] rw;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [31:0] ar;
    begin
      o = addr - U_MAP_BASE;
      /* verilator lint_off WIDTH */
      rw = o / U_MAP_STRIDE;
      io = o % U_MAP_STRIDE;
      /* verilator lint_on WIDTH */
      vm_left = 32'd0;
      if (o < U_VROWS * U_MAP_STRIDE && valid[rw[5:0]]) begin
        ar = areas[rw*32 +: 32];
        if (io < {32'd0, ar}) vm_left = ar - io[31:0];
      end
    end
  endfunction
  reg [32*U_VROWS-1:0] vareas;
  integer va;
  always @* for (va = 0; va < U_VROWS; va = va + 1) vareas[va*32 +: 32] = varea_q[va];

  // The clock's rotating order of the engines (the model's step order).
  reg [EW:0]     vfirst, vee;
  reg [EW-1:0]   vw_e [0:ENGINES-1];
  integer        vk, vj;
  always @* begin
    /* verilator lint_off WIDTH */
    vfirst = cycle_i % ENGINES;
    /* verilator lint_on WIDTH */
    for (vk = 0; vk < ENGINES; vk = vk + 1) begin
      vee = vfirst + vk[EW:0];
      if (vee >= NE) vee = vee - NE;
      vw_e[vk] = vee[EW-1:0];
    end
  end
  // ext port: the context (XDP, reads) and map values (XDP, reads and
  // writes); SUME faults every access.
  integer x;
  reg [63:0]  xoff;
  reg [191:0] xctx;
  reg [3:0]   xn;
  reg [VAW:0] xv [0:ENGINES-1];
  reg         xin_ctx;
  always @* begin
    for (x = 0; x < ENGINES; x = x + 1) begin
      xoff = ext_addr_i[x*64 +: 64] - CTX_BASE;
      xn = 4'd1 << ext_width_i[x*2 +: 2];
      xctx = {32'd0, 32'd0, {30'd0, x[1:0]}, cmeta_q[x], cend_q[x], cdata_q[x]};
      xv[x] = vm_at(ext_addr_i[x*64 +: 64], {28'd0, xn}, row_valid, vareas);
      /* verilator lint_off WIDTH */
      xin_ctx = xoff < U_XDP_MD_SIZE && xoff + xn <= U_XDP_MD_SIZE;
      ext_rd_fault_o[x] = ext_rd_i[x] && !(xdp_i && (xin_ctx || xv[x][VAW]));
      ext_wr_fault_o[x] = ext_wr_i[x] && !(xdp_i && xv[x][VAW]);
      xctx_rd[x] = xctx >> (8 * xoff[4:0]);
      xis_ctx[x] = xin_ctx;
      /* verilator lint_on WIDTH */
    end
  end

  // Map values in a clock: the engines run in the clock's rotating order in
  // the model, each seeing the stores and atomics of those before it. So
  // an engine's read is the value memory overlaid with the earlier
  // engines' writes of this clock, and the units redo each atomic on what
  // its engine read (vm::sem::atomic; cmpxchg stores only on a match), in
  // that order; vw_e (below) is the order.
  function automatic [63:0] trunc_w(input [63:0] v, input [1:0] w);
    case (w)
      W_B:     trunc_w = {56'd0, v[7:0]};
      W_H:     trunc_w = {48'd0, v[15:0]};
      W_W:     trunc_w = {32'd0, v[31:0]};
      default: trunc_w = v;
    endcase
  endfunction
  reg [63:0]     xctx_rd [0:ENGINES-1];
  reg            xis_ctx [0:ENGINES-1];
  reg [ENGINES-1:0] fw_v;             // the engine writes map values now
  reg [63:0]     fw_d  [0:ENGINES-1];  // what it writes (its width's bytes)
  reg [63:0]     fr_d;
  reg [63:0]     fraw, fsd;
  reg [EW-1:0]   fe;
  integer        fk;
  // The value memory's 8 bytes at `at`, overlaid with the writes of the
  // engines before the k-th in this clock's order (vw_e; fw_v/fw_d as the
  // block below has set them so far).
  function automatic [63:0] vm_overlay(input [VAW-1:0] at, input integer k);
    integer b, q;
    reg [VAW-1:0] ab, d;
    reg [EW-1:0]  j;
    reg [3:0]     n;
    begin
      for (b = 0; b < 8; b = b + 1) begin
        ab = at + b[VAW-1:0];
        vm_overlay[8*b +: 8] = vvalid_q[ab] ? vmem_q[ab] : 8'd0;
        for (q = 0; q < ENGINES; q = q + 1) begin
          if (q < k) begin
            j = vw_e[q];
            d = ab - xv[j][VAW-1:0];
            n = 4'd1 << ext_width_i[j*2 +: 2];
            if (fw_v[j] && {{(32-VAW){1'b0}}, d} < {28'd0, n})
              vm_overlay[8*b +: 8] = fw_d[j][8*d[2:0] +: 8];
          end
        end
      end
    end
  endfunction
  always @* begin
    fw_v = {ENGINES{1'b0}};
    for (fk = 0; fk < ENGINES; fk = fk + 1) fw_d[fk] = 64'd0;
    for (fk = 0; fk < ENGINES; fk = fk + 1) begin
      fe = vw_e[fk];
      fr_d = vm_overlay(xv[fe][VAW-1:0], fk);
      // A helper's buffer word in the value memory (mh_rv) reads the same
      // overlay in the same order (the engine is in its call: no ext
      // access of its own in this clock).
      mh_vrd[fe] = vm_overlay(mh_rv[fe][VAW-1:0], fk);
      ext_rdata_o[fe*64 +: 64] = xis_ctx[fe] ? xctx_rd[fe] : fr_d;
      fraw = trunc_w(fr_d, ext_width_i[fe*2 +: 2]);
      fsd = ext_sdata_i[fe*64 +: 64];
      fw_d[fe] = fsd;
      fw_v[fe] = xdp_i && xv[fe][VAW] && ext_st_i[fe];
      if (ext_at_i[fe]) begin
        fw_v[fe] = xdp_i && xv[fe][VAW];
        case (ext_aop_i[fe*3 +: 3])
          AOP_ADD:  fw_d[fe] = trunc_w(fraw + fsd, ext_width_i[fe*2 +: 2]);
          AOP_OR:   fw_d[fe] = fraw | fsd;
          AOP_AND:  fw_d[fe] = fraw & fsd;
          AOP_XOR:  fw_d[fe] = fraw ^ fsd;
          AOP_XCHG: fw_d[fe] = fsd;
          default: begin  // AOP_CMPXCHG
            fw_d[fe] = fsd;
            fw_v[fe] = fw_v[fe] &&
                       fraw == trunc_w(ext_cmp_i[fe*64 +: 64], ext_width_i[fe*2 +: 2]);
          end
        endcase
      end
    end
  end
  assign helper_unwind_o = {ENGINES{1'b0}};
  assign arb_state_o = 4'hf;

  // ---- coprocessor ----
  reg          cp_v;
  reg  [1:0]   cp_op;
  reg  [5:0]   cp_row;
  reg  [KW-1:0] cp_key;
  reg  [63:0]  cp_val, cp_flags;
  wire         cp_bad, cp_kwide, cp_kheld, cp_vwide, cp_found, cp_fit, cam_full, tcam_full;
  reg          cp_kptr;   // the key came through a pointer or WIDEKEY (KW bits)
  wire [63:0]  cp_value;
  wire [5:0]   cp_errno;
  /* verilator lint_off UNUSEDSIGNAL */
  // A slot is below the value window's 1024 bytes (11 bits).
  wire [31:0]  cp_slot;
  /* verilator lint_on UNUSEDSIGNAL */
  reg          cfg_we, cp_clear, cp_reload, scan_go;
  reg  [1:0]   cfg_kind;
  reg  [KSW-1:0] cfg_ks;
  reg  [3:0]   cfg_vs;
  wire         scan_done, scan_found;
  wire [KW-1:0] scan_key;
  wire [63:0]  scan_val;
  wire [6:0]   ml_lo = {1'b0, mreg_wdata_i[13:8]};
  wire [8:0]   ml_hi = {1'b0, mreg_wdata_i[15:8]} + {1'b0, mreg_wdata_i[7:0]};
  ebpf_map_coproc #(.DIRECT_AW($clog2(U_DIRECT_WORDS)), .KW(KW), .KSW(KSW)) u_coproc (
    .clk_i(clk_i), .rst_ni(rst_ni), .clear_i(cp_clear),
    .cfg_we_i(cfg_we), .cfg_row_i(maprow_q[5:0]), .cfg_kind_i(cfg_kind),
    .cfg_ks_i(cfg_ks), .cfg_vs_i(cfg_vs), .cfg_max_i(mreg_wdata_i),
    .cfg_fit_o(cp_fit), .reload_i(cp_reload), .reload_lo_i(ml_lo),
    .reload_hi_i(ml_hi[6:0]), .row_valid_o(row_valid), .row_kind_o(row_kind),
    .op_v_i(cp_v), .op_i(cp_op), .row_i(cp_row), .key_i(cp_key), .val_i(cp_val),
    .key_ptr_i(cp_kptr),
    .flags_i(cp_flags), .bad_o(cp_bad), .key_wide_o(cp_kwide), .key_held_o(cp_kheld),
    .val_wide_o(cp_vwide),
    .found_o(cp_found), .value_o(cp_value), .errno_o(cp_errno),
    .cam_full_o(cam_full), .tcam_full_o(tcam_full),
    .scan_go_i(scan_go), .scan_first_i(wop_q[8]),
    .scan_done_o(scan_done), .scan_found_o(scan_found), .scan_key_o(scan_key),
    .scan_val_o(scan_val), .slots_i(xdp_i), .slot_o(cp_slot)
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
  // Clocks each holds the map unit's issue slot (contract::ptr_map_issue_clocks).
  reg  [ENGINES*LW-1:0] slot;
  reg  [5:0]            idx [0:ENGINES-1];
  wire [ENGINES*BW-1:0] waits;
  wire                  head_v, host_go;
  wire [EW-1:0]         head;
  // The head waits while its key's second word is read (in this clock),
  // or an update's value words before its last (vhold, below), else the
  // coprocessor executes it (head_x).
  wire                  kw_hold;
  wire                  head_x = head_v && !kw_hold;
  reg                   host_pend_q, wpend_q;
  reg  [9:0]            wop_q;   // the model reads bits 7:0 (op) and 9:8 (flags)

  // The committed definition of each row (MAPROW*): valid only while the
  // coprocessor's row_valid says the row holds a map.
  reg [31:0] rowks_q  [0:U_MAX_MAPS-1];
  reg [31:0] rowvs_q  [0:U_MAX_MAPS-1];
  reg [31:0] rowmax_q [0:U_MAX_MAPS-1];

  // The helpers over buffers (below): this clock's port word.
  reg [ENGINES-1:0] mh_is, mh_rd, mh_flt, mh_cp, mh_back, mh_ok, mh_zero, mh_mv, mh_ans;
  reg [63:0]        mh_raddr[0:ENGINES-1];
  reg [3:0]         mh_rn   [0:ENGINES-1];
  // A buffer word in the value memory (map values, XDP): its byte offset
  // there when mh_rv[e][VAW] (read from it, not the port: mh_vrd, below)
  // and the copy's destination word's when mh_dv[e][VAW].
  reg [VAW:0]       mh_rv   [0:ENGINES-1];
  reg [VAW:0]       mh_dv   [0:ENGINES-1];
  reg [63:0]        mh_vrd  [0:ENGINES-1];
  // The trace unit (below): bpf_trace_printk's port word and answer.
  reg [ENGINES-1:0] tr_is, tr_v, tr_rd, tr_ok, tr_ack;
  reg [BW-1:0]      tr_fw   [0:ENGINES-1];
  reg [63:0]        tr_raddr[0:ENGINES-1];
  reg [3:0]         tr_rn   [0:ENGINES-1];
  reg [63:0]        tr_ret  [0:ENGINES-1];

  // XDP map helpers (xmap): lookup/update/delete take the key (and the
  // update its value) through pointers, read on the helper memory port
  // (the engine's stack or packet) or from the value memory, one port word
  // a clock: the key from the request's clock (latched in key_q), then an
  // update's value words (latched in vbuf_q). redirect_map takes its key
  // by value. A HASH key over one port word (up to the CAM's KW bits) is
  // read in two: bytes 0..7 in the request's clock, the rest in the next
  // (kw_q, the second word due). An update's value of vw words is read in
  // the vw clocks after the key's (vi_q the word of the clock, vrd while
  // one is due; contract::ptr_update_cycles). The arbiter holds the
  // operation at the queue's head while the key's second word or a value
  // word before the last is read (kw_hold), so it runs with the whole key
  // in key_q and the value's last word read in its clock at the latest.
  reg  [ENGINES-1:0]    xmap;
  reg  [KW-1:0]         key_q [0:ENGINES-1];
  reg  [ENGINES-1:0]    kok_q;
  reg  [ENGINES-1:0]    kw_q;
  reg  [ENGINES-1:0]    kw_new;   // a request whose key takes two words
  reg  [ENGINES-1:0]    key2;     // the row's keys take two port words (contract::ptr_key_words)
  reg  [63:0]           kv_data [0:ENGINES-1];
  reg  [ENGINES-1:0]    kv_ok;
  reg  [VAW:0]          kv_at;
  reg  [3:0]            vi_q  [0:ENGINES-1];   // value words read so far
  reg  [511:0]          vbuf_q [0:ENGINES-1];  // and their bytes
  reg  [ENGINES-1:0]    vok_q;                 // every one readable
  reg  [ENGINES-1:0]    vrd, vhold;
  reg  [3:0]            vw [0:ENGINES-1];      // the update's value words
  integer e;
  reg [31:0] id, kvn, vsz, vleft, ulat;
  reg [63:0] a1, off;
  reg [1:0]  kind;
  reg        hit, rd;
  always @* begin
    for (e = 0; e < ENGINES; e = e + 1) begin
      id = helper_id_i[e*32 +: 32];
      a1 = helper_arg1_i[e*64 +: 64];
      off = a1 - U_MAP_BASE;
      xmap[e] = xdp_i && (id == U_H_LOOKUP || id == U_H_UPDATE || id == U_H_DELETE ||
                          id == U_H_REDIRECT_MAP);
      is_map[e] = !xdp_i && (id == U_H_LOOKUP || id == U_H_UPDATE || id == U_H_DELETE) ||
                  xmap[e];
      rd = id == U_H_LOOKUP || id == U_H_REDIRECT_MAP;
      /* verilator lint_off WIDTH */
      hit = off < U_MAX_MAPS * U_MAP_STRIDE && off % U_MAP_STRIDE == 0;
      idx[e] = off / U_MAP_STRIDE;
      /* verilator lint_on WIDTH */
      good[e] = hit && row_valid[idx[e]];
      kind = row_kind[idx[e]*2 +: 2];
      // An update's value: vw port words (one for a value over the latch's
      // U_UPD_VALUE_BYTES, which reads nothing: a helper fault; RtlDevice's
      // FLIP check refuses such maps).
      vsz = rowvs_q[idx[e]];
      vw[e] = vsz > U_UPD_VALUE_BYTES || vsz == 32'd0 ? 4'd1 : vsz[6:3] + {3'd0, vsz[2:0] != 3'd0};
      key2[e] = rowks_q[idx[e]] > U_HPORT_BYTES && rowks_q[idx[e]] <= U_CAM_KEY_BYTES;
      lat[e*LW +: LW] = 6'd1;
      slot[e*LW +: LW] = 6'd1;
      if (good[e]) begin
        case (kind)
          MAPK_HASH:  lat[e*LW +: LW] = rd ? U_CAM_READ[5:0] : U_CAM_WRITE[5:0];
          MAPK_LPMTRIE:   lat[e*LW +: LW] = rd ? U_TCAM_READ[5:0] : U_TCAM_WRITE[5:0];
          default: lat[e*LW +: LW] = rd ? U_ARRAY_READ[5:0] : U_ARRAY_WRITE[5:0];
        endcase
        // contract::ptr_update_cycles: no sooner than the key's and the
        // value's words allow.
        ulat = {28'd0, vw[e]} + (rowks_q[idx[e]] > U_HPORT_BYTES ? 32'd2 : 32'd1);
        if (xmap[e] && id == U_H_UPDATE && ulat > {26'd0, lat[e*LW +: LW]})
          lat[e*LW +: LW] = ulat[LW-1:0];
        // The issue slot: while the key's words (and an update's value
        // words but the last) are read.
        if (xmap[e] && id != U_H_REDIRECT_MAP)
          slot[e*LW +: LW] = (key2[e] ? 6'd2 : 6'd1)
                             + (id == U_H_UPDATE ? {2'd0, vw[e]} - 6'd1 : 6'd0);
      end
      // The helper memory port: the key (r2) while the request is new (its
      // first word), its second word in the next clock (kw_q), an update's
      // value words (r3) in the clocks after (vrd); a key over the CAM's
      // width reads nothing (a helper fault; RtlDevice's FLIP check
      // refuses such maps).
      vrd[e] = xmap[e] && id == U_H_UPDATE && act_q[e] && !kw_q[e] && vi_q[e] < vw[e];
      vhold[e] = xmap[e] && id == U_H_UPDATE && vi_q[e] + 4'd1 < vw[e];
      vleft = vsz - {25'd0, vi_q[e], 3'b000};
      kvn = rowks_q[idx[e]];
      kw_new[e] = is_new[e] && xmap[e] && id != U_H_REDIRECT_MAP && good[e] && key2[e];
      if (kw_q[e]) kvn = rowks_q[idx[e]] - U_HPORT_BYTES;
      else if (act_q[e]) kvn = !vrd[e] || vsz > U_UPD_VALUE_BYTES ? 32'd0
                             : vleft > U_HPORT_BYTES ? U_HPORT_BYTES : vleft;
      else if (kw_new[e]) kvn = U_HPORT_BYTES;
      if (kvn > U_HPORT_BYTES) kvn = 32'd0;
      hmem_rd_o[e] = xmap[e] && id != U_H_REDIRECT_MAP;
      hmem_addr_o[e*64 +: 64] = kw_q[e] ? helper_arg2_i[e*64 +: 64] + HPW
                              : act_q[e] ? helper_arg3_i[e*64 +: 64] + {57'd0, vi_q[e], 3'b000}
                              : helper_arg2_i[e*64 +: 64];
      hmem_n_o[e*4 +: 4] = kvn[3:0];
      if (mh_rd[e] && !mh_zero[e]) begin   // csum_diff, xdp_load/store_bytes, trace_printk
        hmem_rd_o[e] = !mh_rv[e][VAW];   // a word in the value memory: mh_vrd
        hmem_addr_o[e*64 +: 64] = mh_raddr[e];
        hmem_n_o[e*4 +: 4] = mh_rn[e];
      end
    end
  end
  // What the port (or the value memory) gave: the size's bytes only.
  integer kve;
  reg [3:0] kvb;
  always @* begin
    for (kve = 0; kve < ENGINES; kve = kve + 1) begin
      kvb = hmem_n_o[kve*4 +: 4];
      kv_at = vm_at(hmem_addr_o[kve*64 +: 64], {28'd0, kvb}, row_valid, vareas);
      kv_ok[kve] = kvb != 4'd0 && (kv_at[VAW] || hmem_ok_i[kve]);
      kv_data[kve] = kv_at[VAW] ? vm_rd(kv_at[VAW-1:0]) : hmem_rdata_i[kve*64 +: 64];
      if (kvb < 4'd8) kv_data[kve] = kv_data[kve] & ~({64{1'b1}} << {kvb, 3'b000});
    end
  end
  // An update's whole value as the coprocessor takes it: the words read
  // before, and the last in its own clock.
  reg [511:0]       vfull [0:ENGINES-1];
  reg [ENGINES-1:0] vokf;
  integer vfe;
  always @* begin
    for (vfe = 0; vfe < ENGINES; vfe = vfe + 1) begin
      vfull[vfe] = vbuf_q[vfe];
      if (vrd[vfe]) vfull[vfe][vi_q[vfe]*64 +: 64] = kv_data[vfe];
      vokf[vfe] = vok_q[vfe] && (!vrd[vfe] || kv_ok[vfe]);
    end
  end
  assign kw_hold = head_v && (kw_q[head] || vhold[head]);

  ebpf_map_arbiter #(.ENGINES(ENGINES), .EW(EW), .LW(LW), .BW(BW)) u_arb (
    .clk_i(clk_i), .rst_ni(rst_ni), .cycle_i(cycle_i),
    .new_i(is_new & is_map), .slot_i(slot), .push_i(is_map & good), .wait_o(waits),
    .hold_i(kw_hold), .head_v_o(head_v), .head_o(head), .host_req_i(host_pend_q || wpend_q),
    .host_go_o(host_go)
  );

  // ---- host register state ----
  reg [31:0] nummap_q, typemap_q, maxelems_q, selmem_q, mapsel_q, keysize_q, valsize_q;
  reg [63:0] keymask_q, valmask_q, hkey_q, hmask_q, hval_q;
  reg [31:0] hop_q, error_q;
  reg [6:0]  maprow_q, maprowend_q;
  reg        ack_q;
  reg [31:0] wvoff_q;   // WIDEVOFF
  reg [31:0] wkey_q [0:R_WIDE_WORDS-1];
  reg [31:0] wval_q [0:R_WIDE_WORDS-1];
  reg [15:0] werrno_q;
  reg        wdone_q, wbusy_q;
  // ---- coprocessor operation of this clock: the queue's head or the host ----
  // The host's: OPERATION first, then WIDEOP (w_*: the wide operation).
  reg [31:0] hid;
  wire hop_ok = hop_q >= 32'd1 && hop_q <= 32'd3 && mapsel_q < U_MAX_MAPS;
  wire w_go = host_go && !host_pend_q;
  wire [7:0] w_op = wop_q[7:0];
  wire w_nomap = mapsel_q >= U_MAX_MAPS || cp_bad;
  wire w_badop = w_op == 8'd0 || w_op > 8'd4;
  // XDP: rows below U_VROWS keep their values in the value memory, up to
  // the wide window's 16 words from the host.
  // An ARRAY row's values over the window: WIDEVOFF (wvoff_q) places the
  // window in the value (a multiple of 64 below its size; any other row
  // takes 0 only: EINVAL), w_vat/w_vn its bytes there.
  wire w_vm = xdp_i && mapsel_q < U_VROWS;
  wire w_arr = row_kind[mapsel_q[5:0]*2 +: 2] == MAPK_ARRAY;
  wire [31:0] w_vsz = rowvs_q[mapsel_q[5:0]];
  wire w_offbad = wvoff_q != 32'd0 &&
                  !(w_vm && w_arr && wvoff_q[5:0] == 6'd0 && wvoff_q < w_vsz);
  wire [31:0] w_vleft = w_vsz > wvoff_q ? w_vsz - wvoff_q : 32'd0;
  wire [31:0] w_vn = w_vleft > 32'd4 * R_WIDE_WORDS ? 32'd4 * R_WIDE_WORDS : w_vleft;
  wire w_wide = !cp_kheld || cp_vwide && !(w_vm && (w_vsz <= 32'd4 * R_WIDE_WORDS || w_arr));
  wire w_run = w_go && !w_nomap && !w_badop && !w_offbad && !w_wide;

  // The head's checks before the coprocessor runs it (XDP): its key and
  // value were read, its row has values in the value memory; redirect_map
  // needs a DEVMAP and flags it takes.
  wire [31:0] hid_w = helper_id_i[head*32 +: 32];
  wire [5:0]  h_row = idx[head];
  wire        h_rm = hid_w == U_H_REDIRECT_MAP;
  wire [63:0] h_flags = helper_arg3_i[head*64 +: 64];
  wire        h_dev = row_kind[h_row*2 +: 2] == MAPK_DEVMAP;
  localparam [31:0] F_BC = U_F_BROADCAST;
  localparam [31:0] F_EX = U_F_EXCLUDE_INGRESS;
  localparam [63:0] F_OK = {32'd0, 32'd3 | F_BC | F_EX};
  wire        h_fbad = (h_flags & ~F_OK) != 64'd0;
  wire        h_bcast = (h_flags & {32'd0, F_BC}) != 64'd0;
  wire        h_novm = {26'd0, h_row} >= U_VROWS;
  wire        h_kflt = !h_rm && (!kok_q[head] || h_novm);
  wire        h_vflt = hid_w == U_H_UPDATE && !vokf[head];
  wire        h_rmflt = h_rm && !h_dev;
  wire        h_skip = xdp_i && (h_kflt || h_vflt || h_rmflt || h_rm && h_fbad);
  wire        hop_run = !(hop_q == 32'd1 && cp_vwide);
  integer     ck;
  always @* begin
    hid = hid_w;
    // A host operation the model refuses before touching a map does not run.
    cp_v = head_x && !h_skip || host_go && host_pend_q && hop_ok && hop_run
        || w_run && w_op != 8'd4;
    scan_go = w_run && w_op == 8'd4;
    cp_op = MOP_LOOKUP;
    cp_row = 6'd0;
    cp_key = {KW{1'b0}};
    cp_kptr = 1'b0;
    cp_val = 64'd0;
    cp_flags = 64'd0;
    if (head_v) begin
      cp_op = hid == U_H_LOOKUP || h_rm ? MOP_LOOKUP : hid == U_H_UPDATE ? MOP_UPDATE : MOP_DELETE;
      cp_row = h_row;
      cp_key = {{(KW-64){1'b0}}, helper_arg2_i[head*64 +: 64]};
      cp_val = helper_arg3_i[head*64 +: 64];
      cp_flags = helper_arg4_i[head*64 +: 64];
      if (xdp_i) begin
        cp_key = h_rm ? {{(KW-32){1'b0}}, helper_arg2_i[head*64 +: 32]} : key_q[head];
        cp_kptr = !h_rm;
        cp_val = vfull[head][63:0];
      end
    end else if (host_go && host_pend_q) begin
      cp_op = hop_q == 32'd1 ? MOP_UPDATE : hop_q == 32'd2 ? MOP_DELETE : MOP_LOOKUP;
      cp_row = mapsel_q[5:0];
      cp_key = {{(KW-64){1'b0}}, hkey_q};
      cp_val = hval_q;
    end else if (w_go) begin
      cp_op = w_op == 8'd1 ? MOP_UPDATE : w_op == 8'd2 ? MOP_DELETE : MOP_LOOKUP;
      cp_row = mapsel_q[5:0];
      for (ck = 0; ck < KW / 32; ck = ck + 1) cp_key[ck*32 +: 32] = wkey_q[ck];
      cp_kptr = 1'b1;
      cp_val = {wval_q[1], wval_q[0]};
      cp_flags = {62'd0, wop_q[9:8]};
    end
  end

  // The value memory's byte of slot cp_slot of row cp_row (XDP).
  wire [31:0] cp_vs = rowvs_q[cp_row];
  /* verilator lint_off WIDTH */
  wire [31:0] cp_vat = cp_row * U_VROW_BYTES + cp_slot[10:0] * cp_vs[10:0];
  /* verilator lint_on WIDTH */
  // The head's answer as the model's body gives it (SUME: by value; XDP:
  // pointers, vm::units::xdp_map_* and redirect_map).
  reg [63:0] x_ret;
  reg        x_flt;
  reg        rm_set, rm_v;   // redirect_map sets the target (rm_v: found)
  always @* begin
    x_ret = 64'd0;
    x_flt = cp_bad || (cp_kptr ? !cp_kheld : cp_kwide);
    rm_set = 1'b0;
    rm_v = 1'b0;
    if (xdp_i && h_rm) begin
      x_flt = cp_bad || h_rmflt;
      if (h_fbad) x_ret = {32'd0, U_XDP_ABORTED};
      else begin
        rm_set = !x_flt;
        rm_v = cp_found || h_bcast;
        x_ret = rm_v ? {32'd0, U_XDP_REDIRECT} : h_flags & 64'd3;
      end
    end else if (xdp_i) begin
      x_flt = x_flt || h_kflt || h_vflt;
      case (cp_op)
        MOP_LOOKUP: begin
          /* verilator lint_off WIDTH */
          x_ret = cp_found ? U_MAP_BASE + cp_row * U_MAP_STRIDE + cp_slot[10:0] * cp_vs[10:0]
                           : 64'd0;
          /* verilator lint_on WIDTH */
        end
        default: x_ret = cp_errno == 6'd0 ? 64'd0 : -{58'd0, cp_errno};
      endcase
    end else begin
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
  end

  // Writes of the units into the value memory (XDP, rows below U_VROWS):
  // an update's value at its slot, from the head or the host (never both
  // in a clock: the host runs when the queue is empty). A DEVMAP entry
  // emptied (ifindex 0) is zeroed, as the model's.
  reg         uw_we;
  reg [31:0]  uw_n;
  reg [511:0] uw_data;
  integer     uq;
  reg         hw_we;   // the head's (an engine's update)
  always @* begin
    uw_we = xdp_i && cp_v && cp_op == MOP_UPDATE && !cp_bad && (cp_kptr ? cp_kheld : !cp_kwide)
         && cp_errno == 6'd0
         && {26'd0, cp_row} < U_VROWS;
    uw_n = head_v || (host_go && host_pend_q) ? cp_vs : w_vn;
    uw_data = head_v ? vfull[head] : {448'd0, cp_val};
    if (row_kind[cp_row*2 +: 2] == MAPK_DEVMAP && cp_val[31:0] == 32'd0) uw_data = 512'd0;
    if (!head_v && !(host_go && host_pend_q))
      for (uq = 0; uq < R_WIDE_WORDS; uq = uq + 1) uw_data[uq*32 +: 32] = wval_q[uq];
    hw_we = uw_we && head_x && uw_n <= U_UPD_VALUE_BYTES;
    if (head_x) uw_we = 1'b0;
  end
  // An engine's update writes its value in the clock the unit runs it (at
  // that clock's edge, after the engines' stores: the model's
  // PendingWrite at coproc_ran_at + 1).

  // Value bytes of a slot for the host's window (up to 16 words).
  function automatic [511:0] vm_rd_wide(input [31:0] at, input [31:0] n);
    integer b;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [31:0] ab;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
      vm_rd_wide = 512'd0;
      for (b = 0; b < 64; b = b + 1) begin
        ab = at + b;
        if (b < n && vvalid_q[ab[VAW-1:0]]) vm_rd_wide[8*b +: 8] = vmem_q[ab[VAW-1:0]];
      end
    end
  endfunction

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
        else begin
          // metadata before data moves with it through the helper memory
          // port (mh_mv, below)
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
        else begin
          // growing: the exposed bytes are zeroed through the helper
          // memory port (mh_zero, below)
          x_set[h] = 1'b1;
          x_end[h] = hx_new[31:0];
        end
      end
    end
  end
  /* verilator lint_on WIDTH */

  // ---- helpers over buffers in engine memory (XDP; vm::units::
  // csum_diff_helper, xdp_load_bytes, xdp_store_bytes, and the writes of
  // xdp_adjust_tail growing and xdp_adjust_head moving the metadata) ----
  // Each reads its buffers on the helper memory port, one word of up to
  // U_MEM_WORD_BYTES a clock from the request's clock on, and answers after
  // contract::helper_mem_clocks: one clock plus one per word of each buffer
  // (a size counts up to U_MEM_MAX_BYTES). A buffer must lie wholly in the
  // stack, the packet window or one row's value area (else a helper fault,
  // checked in the request's clock from the arguments, and nothing is read
  // or written); a word in a map value comes from the value memory in the
  // clock's order and a copy's word into one goes there (mh_rv, mh_dv). csum_diff adds `from`'s words, then
  // `to`'s, into two 64-bit ones-complement sums (x86-64 csum_partial, a
  // last partial word zero-padded) and folds them at the answer as
  // vm::units::csum_diff. A copy writes each word through the port's write
  // side in the clock after its read (mw_*_q), the last in the answer's
  // clock; when the destination is above the source it copies from the last
  // word down, so an overlap reads every byte before it is written (the
  // model reads the whole buffer, then writes it). xdp_adjust_head's move
  // of the metadata is such a copy within the packet window (source the
  // old data_meta, destination the new one, which may overlap), after
  // contract::xdp_adjust_head_clocks.
  function automatic in_rgn(input [63:0] addr, input [63:0] n, input [63:0] base,
                            input [63:0] len);
    reg [63:0] o;
    begin
      o = addr - base;
      in_rgn = o < len && n <= len - o;
    end
  endfunction
  function automatic [BW-1:0] mwords(input [31:0] n);
    /* verilator lint_off UNUSEDSIGNAL */
    reg [31:0] w;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
      /* verilator lint_off WIDTH */
      w = n >= U_MEM_MAX_BYTES ? U_MEM_MAX_BYTES / U_MEM_WORD_BYTES
                               : (n + U_MEM_WORD_BYTES - 1) / U_MEM_WORD_BYTES;
      /* verilator lint_on WIDTH */
      mwords = w[BW-1:0];
    end
  endfunction
  // a + w with the carry out added back (csum_partial's step)
  function automatic [63:0] add_c(input [63:0] a, input [63:0] w);
    reg [64:0] s;
    begin
      s = {1'b0, a} + {1'b0, w};
      add_c = s[63:0] + {63'd0, s[64]};
    end
  endfunction
  // csum_partial's fold of its 64-bit sum to 32 bits
  function automatic [31:0] fold64(input [63:0] t);
    /* verilator lint_off UNUSEDSIGNAL */
    reg [63:0] s;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
      s = t + {t[31:0], t[63:32]};
      fold64 = s[63:32];
    end
  endfunction
  reg [BW-1:0]      mh_cyc  [0:ENGINES-1];
  reg [BW-1:0]      mh_k    [0:ENGINES-1];   // the word read this clock
  reg [BW-1:0]      mh_w    [0:ENGINES-1];   // words to read
  reg [BW-1:0]      mh_wf   [0:ENGINES-1];   // csum_diff: words of from
  reg [63:0]        mh_ret  [0:ENGINES-1];
  reg [63:0]        mh_dst  [0:ENGINES-1];   // a copy's destination of this word
  reg [63:0]        accf_c  [0:ENGINES-1];   // the sums as of this clock
  reg [63:0]        acct_c  [0:ENGINES-1];
  reg [BW-1:0]      mhk_q   [0:ENGINES-1];
  reg [63:0]        accf_q  [0:ENGINES-1];
  reg [63:0]        acct_q  [0:ENGINES-1];
  reg [31:0] m_id, m_fs, m_ts, m_seed, m_off, m_len, m_size, m_pt, m_pf, m_r, m_tend, m_ml;
  reg [63:0] m_tnew;
  reg        m_tail, m_head;
  // xdp_adjust_tail growing and xdp_adjust_head moving the metadata: the
  // adjustment's check and the old data_end (tail) or data_meta (head) as
  // in the request's clock (the context changes at its edge)
  reg [ENGINES-1:0] mh_tok, mtv_q;
  reg [31:0]        mh_tend [0:ENGINES-1];
  reg [31:0]        mtend_q [0:ENGINES-1];
  /* verilator lint_off UNUSEDSIGNAL */
  reg [31:0] m_s;   // from32to16: the high half
  /* verilator lint_on UNUSEDSIGNAL */
  reg [63:0] m_a1, m_a3, m_win, m_at, m_src, m_dst, m_base, m_rem, m_j8;
  reg [VAW:0] m_v1, m_v3, m_vs, m_vd;   // the buffers in the value memory
  reg [BW-1:0] m_j;
  reg        m_load;
  integer    mi;
  /* verilator lint_off WIDTH */
  always @* begin
    for (mi = 0; mi < ENGINES; mi = mi + 1) begin
      m_id = helper_id_i[mi*32 +: 32];
      m_a1 = helper_arg1_i[mi*64 +: 64];
      m_a3 = helper_arg3_i[mi*64 +: 64];
      m_fs = helper_arg2_i[mi*64 +: 32];
      m_ts = helper_arg4_i[mi*64 +: 32];
      m_seed = helper_arg5_i[mi*64 +: 32];
      m_win = {32'd0, cwin_q[mi]} - PKT_BASE;
      m_tail = m_id == U_H_ADJUST_TAIL;
      m_head = m_id == U_H_ADJUST_HEAD;
      mh_zero[mi] = m_tail && !m_fs[31] && m_fs != 32'd0;
      // the metadata's length: the head's move keeps it (data and
      // data_meta move together), so it holds through the call
      m_ml = cdata_q[mi] > cmeta_q[mi] ? cdata_q[mi] - cmeta_q[mi] : 32'd0;
      mh_mv[mi] = m_head && m_ml != 32'd0;
      mh_is[mi] = xdp_i && (m_id == U_H_CSUM_DIFF || m_id == U_H_LOAD_BYTES ||
                            m_id == U_H_STORE_BYTES || mh_zero[mi] || mh_mv[mi]) || tr_is[mi];
      mh_ans[mi] = mh_is[mi] && !m_tail && !m_head;
      m_tend = is_new[mi] ? (m_head ? cmeta_q[mi] : cend_q[mi]) : mtend_q[mi];
      m_tnew = {32'd0, m_tend} + {32'd0, m_fs};
      mh_tok[mi] = is_new[mi] ? (m_head ? x_set[mi]
                                        : m_tnew <= {32'd0, cwin_q[mi]} &&
                                          m_tnew >= {32'd0, cdata_q[mi]} + U_ETH_HLEN)
                              : mtv_q[mi];
      mh_tend[mi] = m_tend;
      mh_k[mi] = is_new[mi] ? {BW{1'b0}} : mhk_q[mi];
      mh_ret[mi] = 64'd0;
      mh_flt[mi] = 1'b0;
      mh_cp[mi] = 1'b0;
      mh_back[mi] = 1'b0;
      mh_ok[mi] = 1'b0;
      mh_wf[mi] = mwords(m_fs);
      mh_w[mi] = {BW{1'b0}};
      m_src = 64'd0;
      m_dst = 64'd0;
      m_v1 = {1'b0, {VAW{1'b0}}};
      m_v3 = {1'b0, {VAW{1'b0}}};
      m_vs = {1'b0, {VAW{1'b0}}};
      m_vd = {1'b0, {VAW{1'b0}}};
      m_pt = 32'd0;
      m_pf = 32'd0;
      m_r = 32'd0;
      m_s = 32'd0;
      m_j = {BW{1'b0}};
      m_j8 = 64'd0;
      m_base = 64'd0;
      m_rem = 64'd0;
      m_off = helper_arg2_i[mi*64 +: 32];
      m_len = m_ts;
      m_size = cend_q[mi] - cdata_q[mi];
      m_at = {32'd0, cdata_q[mi]} + {32'd0, m_off};
      m_load = m_id == U_H_LOAD_BYTES;
      accf_c[mi] = is_new[mi] ? (m_ts == 32'd0 ? {32'd0, ~m_seed} : 64'd0) : accf_q[mi];
      acct_c[mi] = is_new[mi] ? {32'd0, m_seed} : acct_q[mi];
      if (mh_zero[mi]) begin
        // xdp_adjust_tail growing by r2: zeroes of the exposed bytes from
        // the old data_end (its answer and the context are the context
        // helpers' above)
        mh_cyc[mi] = 1 + mh_wf[mi];
        mh_ok[mi] = mh_tok[mi] && m_a1 == CTX_BASE;
        mh_cp[mi] = mh_ok[mi];
        mh_w[mi] = mh_wf[mi];
        m_len = m_fs;
        m_dst = {32'd0, m_tend};
      end else if (mh_mv[mi]) begin
        // xdp_adjust_head by r2 with metadata before data: the metadata
        // moves from the old data_meta to the new one (a memmove in the
        // packet window; its answer and the context are the context
        // helpers' above, the move only when the adjustment is taken)
        mh_cyc[mi] = 1 + mwords(m_ml);
        mh_ok[mi] = mh_tok[mi];
        mh_cp[mi] = mh_ok[mi];
        mh_w[mi] = mwords(m_ml);
        m_len = m_ml;
        m_src = {32'd0, m_tend};
        m_dst = m_src + {{32{m_fs[31]}}, m_fs};
        mh_back[mi] = m_dst > m_src;
      end else if (m_id == U_H_CSUM_DIFF) begin
        mh_cyc[mi] = 1 + mh_wf[mi] + mwords(m_ts);
        m_v1 = vm_at(m_a1, m_fs, row_valid, vareas);
        m_v3 = vm_at(m_a3, m_ts, row_valid, vareas);
        mh_ok[mi] = (m_fs == 32'd0 || in_rgn(m_a1, m_fs, STACK_BASE, STACK_SIZE) ||
                                      in_rgn(m_a1, m_fs, PKT_BASE, m_win) || m_v1[VAW]) &&
                    (m_ts == 32'd0 || in_rgn(m_a3, m_ts, STACK_BASE, STACK_SIZE) ||
                                      in_rgn(m_a3, m_ts, PKT_BASE, m_win) || m_v3[VAW]);
        mh_flt[mi] = !mh_ok[mi];
        mh_w[mi] = mh_wf[mi] + mwords(m_ts);
        m_pt = fold64(acct_c[mi]);
        m_pf = fold64(accf_c[mi]);
        if (m_fs != 32'd0 && m_ts != 32'd0) begin
          m_r = m_pt + ~m_pf;
          m_r = m_r + (m_r < ~m_pf);
        end else if (m_ts != 32'd0) m_r = m_pt;
        else if (m_fs != 32'd0) m_r = ~m_pf;
        else m_r = m_seed;
        m_s = m_r + {m_r[15:0], m_r[31:16]};
        mh_ret[mi] = {48'd0, m_s[31:16]};
      end else if (tr_is[mi]) begin
        // trace_printk: the trace unit's word and answer (below)
        mh_cyc[mi] = 1 + tr_fw[mi];
        mh_ok[mi] = tr_ok[mi];
        mh_flt[mi] = !tr_ok[mi];
        mh_ret[mi] = tr_ret[mi];
      end else begin
        // xdp_load_bytes / xdp_store_bytes (ctx, offset, buf, len)
        mh_cyc[mi] = 1 + mwords(m_len);
        m_src = m_load ? m_at : m_a3;
        m_dst = m_load ? m_a3 : m_at;
        if (m_a1 != CTX_BASE) mh_flt[mi] = 1'b1;
        else if (m_off > 32'hffff || m_len > 32'hffff) mh_ret[mi] = -U_EFAULT;
        else if (m_off > m_size || m_off + m_len > m_size) mh_ret[mi] = -U_EINVAL;
        else begin
          m_vs = vm_at(m_src, m_len, row_valid, vareas);
          m_vd = vm_at(m_dst, m_len, row_valid, vareas);
          mh_ok[mi] = (in_rgn(m_src, m_len, STACK_BASE, STACK_SIZE) ||
                       in_rgn(m_src, m_len, PKT_BASE, m_win) || m_vs[VAW]) &&
                      (in_rgn(m_dst, m_len, STACK_BASE, STACK_SIZE) ||
                       in_rgn(m_dst, m_len, PKT_BASE, m_win) || m_vd[VAW]);
          mh_flt[mi] = !mh_ok[mi];
          mh_cp[mi] = mh_ok[mi];
          mh_w[mi] = mwords(m_len);
          mh_back[mi] = m_dst > m_src;
        end
      end
      // This clock's word: csum_diff's word k of from then to; a copy's
      // word k from the first or the last.
      mh_rd[mi] = mh_is[mi] && (is_new[mi] || act_q[mi]) && mh_ok[mi] && mh_k[mi] < mh_w[mi];
      m_j = mh_k[mi];
      m_base = m_src;
      m_rem = {32'd0, m_len};
      if (m_id == U_H_CSUM_DIFF) begin
        if (mh_k[mi] < mh_wf[mi]) begin
          m_base = m_a1;
          m_rem = {32'd0, m_fs};
        end else begin
          m_j = mh_k[mi] - mh_wf[mi];
          m_base = m_a3;
          m_rem = {32'd0, m_ts};
        end
      end else if (mh_back[mi]) m_j = mh_w[mi] - 1 - mh_k[mi];
      m_j8 = {{(64-BW){1'b0}}, m_j} * U_MEM_WORD_BYTES;
      m_rem = m_rem - m_j8;
      mh_raddr[mi] = m_base + m_j8;
      mh_rn[mi] = m_rem >= U_MEM_WORD_BYTES ? U_MEM_WORD_BYTES : m_rem[3:0];
      mh_dst[mi] = m_dst + m_j8;
      if (tr_is[mi]) begin
        mh_rd[mi] = (is_new[mi] || act_q[mi]) && tr_rd[mi];
        mh_raddr[mi] = tr_raddr[mi];
        mh_rn[mi] = tr_rn[mi];
      end
      // the word in the value memory: read there (in the clock's order),
      // and a copy's destination word written there (the trace unit reads
      // the stack and the packet only: tr_rd is low for anything else)
      mh_rv[mi] = mh_rd[mi] && !mh_zero[mi] ? vm_at(mh_raddr[mi], {28'd0, mh_rn[mi]}, row_valid, vareas)
                                            : {1'b0, {VAW{1'b0}}};
      mh_dv[mi] = mh_rd[mi] && mh_cp[mi] && !mh_zero[mi]
                ? vm_at(mh_dst[mi], {28'd0, mh_rn[mi]}, row_valid, vareas) : {1'b0, {VAW{1'b0}}};
    end
  end
  /* verilator lint_on WIDTH */
  // What the port read: the sums' next values, a copy's word to write.
  reg [63:0] accf_d [0:ENGINES-1];
  reg [63:0] acct_d [0:ENGINES-1];
  reg [63:0] mh_data;
  reg [63:0] mh_word [0:ENGINES-1];   // the word read: the port's or the value memory's
  integer    md;
  always @* begin
    for (md = 0; md < ENGINES; md = md + 1) begin
      mh_word[md] = mh_rv[md][VAW] ? mh_vrd[md] : hmem_rdata_i[md*64 +: 64];
      mh_data = mh_word[md] & ~({64{1'b1}} << {mh_rn[md], 3'b000});
      if (mh_rn[md] == 4'd8) mh_data = mh_word[md];
      accf_d[md] = accf_c[md];
      acct_d[md] = acct_c[md];
      if (mh_rd[md] && !mh_cp[md]) begin
        if (mh_k[md] < mh_wf[md]) accf_d[md] = add_c(accf_c[md], mh_data);
        else acct_d[md] = add_c(acct_c[md], mh_data);
      end
    end
  end
  reg [ENGINES-1:0] mw_q;
  reg [ENGINES-1:0] mwv_q;                  // the word goes to the value memory
  reg [VAW-1:0]     mwat_q   [0:ENGINES-1]; // there
  reg [63:0]        mwaddr_q [0:ENGINES-1];
  reg [3:0]         mwn_q    [0:ENGINES-1];
  reg [63:0]        mwd_q    [0:ENGINES-1];
  integer           mq;
  always @(posedge clk_i) begin
    for (mq = 0; mq < ENGINES; mq = mq + 1) begin
      mw_q[mq] <= rst_ni && mh_rd[mq] && mh_cp[mq];
      mhk_q[mq] <= mh_k[mq] + 1'b1;
      accf_q[mq] <= accf_d[mq];
      acct_q[mq] <= acct_d[mq];
      if (mh_rd[mq] && mh_cp[mq]) begin
        mwaddr_q[mq] <= mh_dst[mq];
        mwn_q[mq] <= mh_rn[mq];
        mwd_q[mq] <= mh_zero[mq] ? 64'd0 : mh_word[mq];
        mwv_q[mq] <= mh_dv[mq][VAW];
        mwat_q[mq] <= mh_dv[mq][VAW-1:0];
      end
      if (is_new[mq]) begin
        mtv_q[mq] <= mh_tok[mq];
        mtend_q[mq] <= mh_tend[mq];
      end
    end
  end
  integer mo;
  always @* begin
    for (mo = 0; mo < ENGINES; mo = mo + 1) begin
      hmem_wr_o[mo] = mw_q[mo] && !mwv_q[mo];
      hmem_waddr_o[mo*64 +: 64] = mwaddr_q[mo];
      hmem_wn_o[mo*4 +: 4] = mwn_q[mo];
      hmem_wdata_o[mo*64 +: 64] = mwd_q[mo];
    end
  end

  // ---- trace unit: bpf_trace_printk (6), both ABIs, and
  // bpf_trace_vprintk (177), XDP (vm::units::trace_printk,
  // vm::units::events::trace_vprintk; timing contract::printk_clocks and
  // vprintk_clocks) ----
  // The format (r1, r2 bytes) is read on the helper memory port one word a
  // clock from the request's clock on (the port words of the helpers over
  // buffers above: mh_rd and its address are this unit's while it runs),
  // and each word's bytes are walked in its clock up to the first NUL: a
  // literal byte counts one, `%%` one, a conversion
  // `%[-][0][width][l|ll](d|i|u|x|X|c|p|s)` takes the next argument (r3..r5;
  // trace_vprintk: the next word of its array, r3 with r4 bytes, read after
  // the format's words, one a clock, into the argument slots; a length not a
  // multiple of 8, over U_PRINTK_VARARGS words or with a NULL array
  // answers -EINVAL after the format's and the array's words, reading
  // nothing; more than the arguments, an unknown conversion, `lll` or a NUL inside
  // a conversion make the format invalid) and keeps its kind and width
  // (saturating at U_PRINTK_WIDTH_MAX). A format is valid when it lies in
  // the stack or the packet window (else a helper fault), its size is 1 to
  // U_PRINTK_FMT_MAX and its last byte is a NUL (else -EINVAL). After the
  // format's (and the array's) words, each `%s` of a valid format reads U_PRINTK_STR_WORDS
  // words at its argument (the bytes up to the end of the stack or packet
  // window the argument points into, none outside them), which give its
  // length: up to its first NUL, U_PRINTK_STR_BYTES without one, or
  // U_PRINTK_EFAULT_LEN ("(efault)") when its region ends first. The answer
  // comes in the clock after the last word: -EINVAL, or the formatted
  // length (the literal bytes plus, per conversion, the larger of its width
  // and its digits: decimal by comparisons against powers of ten, a sign
  // for a negative %d/%i, hex from the leading zero nibbles, %p "0x" and
  // hex, %c one byte, %s the string's length).
  localparam [2:0] TS_TEXT = 3'd0, TS_PCT = 3'd1, TS_MINUS = 3'd2, TS_WID = 3'd3,
                   TS_LONG = 3'd4;
  localparam [3:0] TK_D32 = 4'd1, TK_D64 = 4'd2, TK_U32 = 4'd3, TK_U64 = 4'd4,
                   TK_X32 = 4'd5, TK_X64 = 4'd6, TK_P = 4'd7, TK_C = 4'd8, TK_S = 4'd9;
  // argument slots: trace_printk's r3..r5, trace_vprintk's array words
  localparam integer TA = U_PRINTK_VARARGS;
  localparam integer TWW = $clog2(U_PRINTK_WIDTH_MAX + 1);
  /* verilator lint_off WIDTH */
  localparam [TWW-1:0] TWMAX = U_PRINTK_WIDTH_MAX;
  /* verilator lint_on WIDTH */
  function automatic [4:0] dec_digits(input [63:0] v);
    integer i;
    reg [63:0] p;
    begin
      dec_digits = 5'd1;
      p = 64'd10;
      for (i = 1; i < 20; i = i + 1) begin
        if (v >= p) dec_digits = dec_digits + 5'd1;
        p = p * 64'd10;
      end
    end
  endfunction
  function automatic [4:0] hex_digits(input [63:0] v);
    integer i;
    begin
      hex_digits = 5'd1;
      for (i = 1; i < 16; i = i + 1)
        if ((v >> (4 * i)) != 64'd0) hex_digits = i[4:0] + 5'd1;
    end
  endfunction
  // The bytes a conversion of kind k prints of v (%s: its string's s).
  function automatic [6:0] conv_len(input [3:0] k, input [63:0] v, input [6:0] s);
    reg [31:0] n32;
    reg [63:0] n64;
    begin
      n32 = -v[31:0];
      n64 = -v;
      case (k)
        TK_D32:  conv_len = v[31] ? {2'd0, dec_digits({32'd0, n32})} + 7'd1
                                  : {2'd0, dec_digits({32'd0, v[31:0]})};
        TK_D64:  conv_len = v[63] ? {2'd0, dec_digits(n64)} + 7'd1 : {2'd0, dec_digits(v)};
        TK_U32:  conv_len = {2'd0, dec_digits({32'd0, v[31:0]})};
        TK_U64:  conv_len = {2'd0, dec_digits(v)};
        TK_X32:  conv_len = {2'd0, hex_digits({32'd0, v[31:0]})};
        TK_X64:  conv_len = {2'd0, hex_digits(v)};
        TK_P:    conv_len = {2'd0, hex_digits(v)} + 7'd2;
        TK_C:    conv_len = 7'd1;
        TK_S:    conv_len = s;
        default: conv_len = 7'd0;
      endcase
    end
  endfunction
  // The walker, registered (_q) and as of this clock (_c: reset in a
  // request's first clock), and after this clock's word (_d).
  reg [2:0]        tst_q   [0:ENGINES-1];
  reg [2:0]        tst_c   [0:ENGINES-1];
  reg [TWW-1:0]    twid_q  [0:ENGINES-1];
  reg [TWW-1:0]    twid_c  [0:ENGINES-1];
  reg [1:0]        tlng_q  [0:ENGINES-1];
  reg [1:0]        tlng_c  [0:ENGINES-1];
  reg [3:0]        tn_q    [0:ENGINES-1];
  reg [3:0]        tn_c    [0:ENGINES-1];
  reg [15:0]       tlit_q  [0:ENGINES-1];
  reg [15:0]       tlit_c  [0:ENGINES-1];
  reg [TA*4-1:0]   tkind_q [0:ENGINES-1];
  reg [TA*4-1:0]   tkind_c [0:ENGINES-1];
  reg [TA*TWW-1:0] tswid_q [0:ENGINES-1];
  reg [TA*TWW-1:0] tswid_c [0:ENGINES-1];
  reg [TA*7-1:0]   tslen_q [0:ENGINES-1];
  reg [TA*7-1:0]   tslen_c [0:ENGINES-1];
  reg [TA*64-1:0]  targ_q  [0:ENGINES-1];   // trace_vprintk: the array's words
  reg [TA*64-1:0]  targ_c  [0:ENGINES-1];
  reg [BW-1:0]     tr_dw   [0:ENGINES-1];   // trace_vprintk: the array's words to read
  reg [4:0]        tr_na   [0:ENGINES-1];   // arguments the format may take
  reg [6:0]        tsl_q   [0:ENGINES-1];
  reg [6:0]        tsl_c   [0:ENGINES-1];
  reg [TA-1:0]     tef_q   [0:ENGINES-1];   // the strings that ran off their region
  reg [TA-1:0]     tef_c   [0:ENGINES-1];
  reg [ENGINES-1:0] tdone_q, terr_q, tnul_q, tfnd_q, tdone_c, terr_c, tnul_c, tfnd_c;
  // this clock: the word index, a string word's slot, word and reach
  reg [BW-1:0]     tr_k    [0:ENGINES-1];
  reg [ENGINES-1:0] ts_on;
  reg [3:0]        ts_slot [0:ENGINES-1];
  reg [BW-1:0]     ts_wj   [0:ENGINES-1];
  reg [6:0]        ts_avail[0:ENGINES-1];
  reg [31:0]       t_fs, t_win, t_tot, t_cl, t_sw, t_dl;
  reg [63:0]       t_fa, t_v, t_av, t_o, t_rem, t_da, t_arg;
  reg [BW-1:0]     t_j, t_w, t_q, t_cnt, t_ns, t_fdw;
  reg              t_valid, t_lenok;
  reg [VAW:0]      t_vda, t_vfa;
  // per engine: the record's words, whether it formats, its %s count, and
  // this clock's string's ordinal
  reg [BW-1:0]     tr_w    [0:ENGINES-1];
  reg [ENGINES-1:0] tr_val;
  reg [3:0]        tr_ns   [0:ENGINES-1];
  reg [3:0]        ts_ord  [0:ENGINES-1];
  integer          ti, tj;
  /* verilator lint_off WIDTH */
  always @* begin
    for (ti = 0; ti < ENGINES; ti = ti + 1) begin
      tr_v[ti] = xdp_i && helper_id_i[ti*32 +: 32] == U_H_TRACE_VPRINTK;
      tr_is[ti] = helper_id_i[ti*32 +: 32] == U_H_TRACE_PRINTK || tr_v[ti];
      tr_k[ti] = is_new[ti] ? {BW{1'b0}} : mhk_q[ti];
      t_fa = helper_arg1_i[ti*64 +: 64];
      t_fs = helper_arg2_i[ti*64 +: 32];
      // the packet window: XDP's headroom and frame, SUME's metadata and frame
      t_win = xdp_i ? cwin_q[ti] - PKT_BASE[31:0]
                    : cwin_q[ti] - PKT_BASE[31:0] - U_XDP_HEADROOM + U_SUME_MD_SIZE;
      tr_fw[ti] = mwords(t_fs);
      // trace_vprintk's array (r3, r4 bytes): a bad length answers -EINVAL
      // before anything is read; else the array, then the format, must be
      // in the stack or the packet window (a helper fault)
      t_da = helper_arg3_i[ti*64 +: 64];
      t_dl = helper_arg4_i[ti*64 +: 32];
      t_lenok = !tr_v[ti] || t_dl[2:0] == 3'd0 && t_dl <= 8 * U_PRINTK_VARARGS &&
                             !(t_dl != 32'd0 && t_da == 64'd0);
      tr_na[ti] = tr_v[ti] ? t_dl[7:3] : U_PRINTK_ARGS;
      tr_dw[ti] = tr_v[ti] ? mwords(t_dl) : {BW{1'b0}};
      t_vda = vm_at(t_da, t_dl, row_valid, vareas);
      t_vfa = vm_at(t_fa, t_fs, row_valid, vareas);
      tr_ok[ti] = !t_lenok ||
                  (!tr_v[ti] || t_dl == 32'd0 ||
                   in_rgn(t_da, {32'd0, t_dl}, STACK_BASE, STACK_SIZE) ||
                   in_rgn(t_da, {32'd0, t_dl}, PKT_BASE, {32'd0, t_win}) || t_vda[VAW]) &&
                  (t_fs == 32'd0 || in_rgn(t_fa, {32'd0, t_fs}, STACK_BASE, STACK_SIZE) ||
                   in_rgn(t_fa, {32'd0, t_fs}, PKT_BASE, {32'd0, t_win}) || t_vfa[VAW]);
      if (is_new[ti]) begin
        tst_c[ti] = TS_TEXT;
        twid_c[ti] = {TWW{1'b0}};
        tlng_c[ti] = 2'd0;
        tn_c[ti] = 4'd0;
        tlit_c[ti] = 16'd0;
        tkind_c[ti] = {(TA*4){1'b0}};
        tswid_c[ti] = {(TA*TWW){1'b0}};
        tslen_c[ti] = {(TA*7){1'b0}};
        targ_c[ti] = {(TA*64){1'b0}};
        tsl_c[ti] = 7'd0;
        tef_c[ti] = {TA{1'b0}};
        tdone_c[ti] = 1'b0;
        terr_c[ti] = 1'b0;
        tnul_c[ti] = 1'b0;
        tfnd_c[ti] = 1'b0;
      end else begin
        tst_c[ti] = tst_q[ti];
        twid_c[ti] = twid_q[ti];
        tlng_c[ti] = tlng_q[ti];
        tn_c[ti] = tn_q[ti];
        tlit_c[ti] = tlit_q[ti];
        tkind_c[ti] = tkind_q[ti];
        tswid_c[ti] = tswid_q[ti];
        tslen_c[ti] = tslen_q[ti];
        targ_c[ti] = targ_q[ti];
        tsl_c[ti] = tsl_q[ti];
        tef_c[ti] = tef_q[ti];
        tdone_c[ti] = tdone_q[ti];
        terr_c[ti] = terr_q[ti];
        tnul_c[ti] = tnul_q[ti];
        tfnd_c[ti] = tfnd_q[ti];
      end
      // Valid once the format's words are walked (tnul_c: its last byte
      // was a NUL); then its strings' words follow.
      t_valid = t_lenok && tr_ok[ti] && t_fs != 32'd0 && t_fs <= U_PRINTK_FMT_MAX &&
                tnul_c[ti] && !terr_c[ti];
      t_ns = {BW{1'b0}};
      for (tj = 0; tj < TA; tj = tj + 1)
        if (tj < tn_c[ti] && tkind_c[ti][tj*4 +: 4] == TK_S) t_ns = t_ns + 1'b1;
      t_fdw = tr_fw[ti] + tr_dw[ti];
      t_w = t_fdw + (t_valid ? t_ns * U_PRINTK_STR_WORDS : {BW{1'b0}});
      tr_ack[ti] = tr_k[ti] == t_w;
      tr_w[ti] = t_w;
      tr_val[ti] = t_valid;
      tr_ns[ti] = t_ns[3:0];
      // a string's word: string q's word wj, q counting the %s slots
      ts_on[ti] = tr_k[ti] >= t_fdw && tr_k[ti] < t_w;
      t_j = tr_k[ti] - t_fdw;
      t_q = t_j / U_PRINTK_STR_WORDS;
      ts_wj[ti] = t_j % U_PRINTK_STR_WORDS;
      ts_ord[ti] = t_q[3:0];
      ts_slot[ti] = 4'd0;
      t_cnt = {BW{1'b0}};
      for (tj = 0; tj < TA; tj = tj + 1)
        if (tj < tn_c[ti] && tkind_c[ti][tj*4 +: 4] == TK_S) begin
          if (t_cnt == t_q) ts_slot[ti] = tj;
          t_cnt = t_cnt + 1'b1;
        end
      case (ts_slot[ti])
        4'd0:    t_v = helper_arg3_i[ti*64 +: 64];
        4'd1:    t_v = helper_arg4_i[ti*64 +: 64];
        default: t_v = helper_arg5_i[ti*64 +: 64];
      endcase
      if (tr_v[ti]) t_v = targ_c[ti][ts_slot[ti]*64 +: 64];
      t_av = 64'd0;
      t_o = t_v - STACK_BASE;
      if (t_o < STACK_SIZE) t_av = STACK_SIZE - t_o;
      t_o = t_v - PKT_BASE;
      if (t_o < {32'd0, t_win}) t_av = {32'd0, t_win} - t_o;
      if (vm_left(t_v, row_valid, vareas) != 32'd0) t_av = {32'd0, vm_left(t_v, row_valid, vareas)};
      ts_avail[ti] = t_av >= U_PRINTK_STR_BYTES ? U_PRINTK_STR_BYTES : t_av[6:0];
      // this clock's port word
      tr_rd[ti] = 1'b0;
      tr_raddr[ti] = 64'd0;
      t_rem = 64'd0;
      if (tr_k[ti] < tr_fw[ti]) begin
        tr_rd[ti] = t_lenok && tr_ok[ti] && t_fs != 32'd0;
        tr_raddr[ti] = t_fa + tr_k[ti] * U_MEM_WORD_BYTES;
        t_rem = {32'd0, t_fs} - tr_k[ti] * U_MEM_WORD_BYTES;
      end else if (tr_k[ti] < t_fdw) begin
        // trace_vprintk: the array's word k - fw
        tr_rd[ti] = t_lenok && tr_ok[ti];
        tr_raddr[ti] = t_da + (tr_k[ti] - tr_fw[ti]) * U_MEM_WORD_BYTES;
        t_rem = {32'd0, t_dl} - (tr_k[ti] - tr_fw[ti]) * U_MEM_WORD_BYTES;
      end else if (ts_on[ti]) begin
        tr_rd[ti] = ts_avail[ti] > ts_wj[ti] * U_MEM_WORD_BYTES;
        tr_raddr[ti] = t_v + ts_wj[ti] * U_MEM_WORD_BYTES;
        t_rem = ts_avail[ti] - ts_wj[ti] * U_MEM_WORD_BYTES;
      end
      tr_rn[ti] = t_rem >= U_MEM_WORD_BYTES ? U_MEM_WORD_BYTES : t_rem[3:0];
      // the answer (in the clock of tr_ack)
      t_tot = {16'd0, tlit_c[ti]};
      for (tj = 0; tj < TA; tj = tj + 1)
        if (tj < tn_c[ti]) begin
          case (tj)
            0:       t_arg = helper_arg3_i[ti*64 +: 64];
            1:       t_arg = helper_arg4_i[ti*64 +: 64];
            default: t_arg = helper_arg5_i[ti*64 +: 64];
          endcase
          if (tr_v[ti]) t_arg = targ_c[ti][tj*64 +: 64];
          t_cl = conv_len(tkind_c[ti][tj*4 +: 4], t_arg, tslen_c[ti][tj*7 +: 7]);
          t_sw = tswid_c[ti][tj*TWW +: TWW];
          t_tot = t_tot + (t_sw > t_cl ? t_sw : t_cl);
        end
      tr_ret[ti] = t_valid ? {32'd0, t_tot} : -U_EINVAL;
    end
  end
  // What this clock's word gives the walker.
  reg [2:0]        tst_d   [0:ENGINES-1];
  reg [TWW-1:0]    twid_d  [0:ENGINES-1];
  reg [1:0]        tlng_d  [0:ENGINES-1];
  reg [3:0]        tn_d    [0:ENGINES-1];
  reg [15:0]       tlit_d  [0:ENGINES-1];
  reg [TA*4-1:0]   tkind_d [0:ENGINES-1];
  reg [TA*TWW-1:0] tswid_d [0:ENGINES-1];
  reg [TA*7-1:0]   tslen_d [0:ENGINES-1];
  reg [TA*64-1:0]  targ_d  [0:ENGINES-1];
  reg [6:0]        tsl_d   [0:ENGINES-1];
  reg [TA-1:0]     tef_d   [0:ENGINES-1];
  reg [ENGINES-1:0] tdone_d, terr_d, tnul_d, tfnd_d;
  reg [63:0]       t_data;
  reg [7:0]        t_c;
  reg [3:0]        t_kd;
  reg [27:0]       t_wide;
  reg [2:0]        t_lb;
  integer          tt, tb;
  always @* begin
    for (tt = 0; tt < ENGINES; tt = tt + 1) begin
      tst_d[tt] = tst_c[tt];
      twid_d[tt] = twid_c[tt];
      tlng_d[tt] = tlng_c[tt];
      tn_d[tt] = tn_c[tt];
      tlit_d[tt] = tlit_c[tt];
      tkind_d[tt] = tkind_c[tt];
      tswid_d[tt] = tswid_c[tt];
      tslen_d[tt] = tslen_c[tt];
      targ_d[tt] = targ_c[tt];
      tsl_d[tt] = tsl_c[tt];
      tef_d[tt] = tef_c[tt];
      tdone_d[tt] = tdone_c[tt];
      terr_d[tt] = terr_c[tt];
      tnul_d[tt] = tnul_c[tt];
      tfnd_d[tt] = tfnd_c[tt];
      t_data = mh_word[tt];   // the port's word, or the value memory's
      t_lb = helper_arg2_i[tt*64 +: 3] - 3'd1;
      if (tr_is[tt] && (is_new[tt] || act_q[tt]) && tr_rd[tt] && tr_k[tt] < tr_fw[tt]) begin
        // a format word: its bytes through the walker
        for (tb = 0; tb < 8; tb = tb + 1)
          if (tb < tr_rn[tt] && !tdone_d[tt] && !terr_d[tt]) begin
            t_c = t_data[tb*8 +: 8];
            if (tst_d[tt] == TS_TEXT) begin
              if (t_c == 8'd0) tdone_d[tt] = 1'b1;
              else if (t_c == "%") tst_d[tt] = TS_PCT;
              else tlit_d[tt] = tlit_d[tt] + 16'd1;
            end else if (t_c == 8'd0) begin
              tdone_d[tt] = 1'b1;
              terr_d[tt] = 1'b1;
            end else if (tst_d[tt] == TS_PCT && t_c == "%") begin
              tlit_d[tt] = tlit_d[tt] + 16'd1;
              tst_d[tt] = TS_TEXT;
            end else if (tst_d[tt] == TS_PCT && t_c == "-") begin
              tst_d[tt] = TS_MINUS;
            end else if ((tst_d[tt] == TS_PCT || tst_d[tt] == TS_MINUS) && t_c == "0") begin
              tst_d[tt] = TS_WID;   // the 0 flag
            end else if (tst_d[tt] != TS_LONG && t_c >= "0" && t_c <= "9") begin
              t_wide = twid_d[tt] * 10 + (t_c - "0");
              twid_d[tt] = t_wide > TWMAX ? TWMAX : t_wide[TWW-1:0];
              tst_d[tt] = TS_WID;
            end else if (t_c == "l") begin
              if (tlng_d[tt] != 2'd3) tlng_d[tt] = tlng_d[tt] + 2'd1;
              tst_d[tt] = TS_LONG;
            end else begin
              case (t_c)
                "d", "i": t_kd = tlng_d[tt] != 2'd0 ? TK_D64 : TK_D32;
                "u":      t_kd = tlng_d[tt] != 2'd0 ? TK_U64 : TK_U32;
                "x", "X": t_kd = tlng_d[tt] != 2'd0 ? TK_X64 : TK_X32;
                "p":      t_kd = TK_P;
                "c":      t_kd = TK_C;
                "s":      t_kd = TK_S;
                default:  t_kd = 4'd0;
              endcase
              if (tn_d[tt] >= tr_na[tt] || tlng_d[tt] > 2'd2 || t_kd == 4'd0)
                terr_d[tt] = 1'b1;
              else begin
                tkind_d[tt][tn_d[tt]*4 +: 4] = t_kd;
                tswid_d[tt][tn_d[tt]*TWW +: TWW] = twid_d[tt];
                tn_d[tt] = tn_d[tt] + 4'd1;
              end
              tst_d[tt] = TS_TEXT;
              twid_d[tt] = {TWW{1'b0}};
              tlng_d[tt] = 2'd0;
            end
          end
        if (tr_k[tt] == tr_fw[tt] - 1'b1) tnul_d[tt] = t_data[{t_lb, 3'b000} +: 8] == 8'd0;
      end else if (tr_is[tt] && act_q[tt] && tr_rd[tt] && !ts_on[tt]) begin
        // trace_vprintk: an argument word of the array
        targ_d[tt][(tr_k[tt] - tr_fw[tt])*64 +: 64] = t_data;
      end else if (tr_is[tt] && act_q[tt] && ts_on[tt]) begin
        // a string's word: its first NUL; its length after its last word
        if (ts_wj[tt] == 0) begin
          tfnd_d[tt] = 1'b0;
          tsl_d[tt] = 7'd0;
        end
        if (tr_rd[tt])
          for (tb = 0; tb < 8; tb = tb + 1)
            if (tb < tr_rn[tt] && !tfnd_d[tt] && t_data[tb*8 +: 8] == 8'd0) begin
              tfnd_d[tt] = 1'b1;
              tsl_d[tt] = ts_wj[tt] * U_MEM_WORD_BYTES + tb;
            end
        if (ts_wj[tt] == U_PRINTK_STR_WORDS - 1) begin
          tslen_d[tt][ts_slot[tt]*7 +: 7] =
            tfnd_d[tt] ? tsl_d[tt]
                       : ts_avail[tt] >= U_PRINTK_STR_BYTES ? U_PRINTK_STR_BYTES
                                                            : U_PRINTK_EFAULT_LEN;
          if (!tfnd_d[tt] && ts_avail[tt] < U_PRINTK_STR_BYTES) tef_d[tt][ts_ord[tt]] = 1'b1;
        end
      end
    end
  end
  /* verilator lint_on WIDTH */
  integer tq;
  always @(posedge clk_i) begin
    for (tq = 0; tq < ENGINES; tq = tq + 1) begin
      tst_q[tq] <= tst_d[tq];
      twid_q[tq] <= twid_d[tq];
      tlng_q[tq] <= tlng_d[tq];
      tn_q[tq] <= tn_d[tq];
      tlit_q[tq] <= tlit_d[tq];
      tkind_q[tq] <= tkind_d[tq];
      tswid_q[tq] <= tswid_d[tq];
      tslen_q[tq] <= tslen_d[tq];
      targ_q[tq] <= targ_d[tq];
      tsl_q[tq] <= tsl_d[tq];
      tef_q[tq] <= tef_d[tq];
      tdone_q[tq] <= tdone_d[tq];
      terr_q[tq] <= terr_d[tq];
      tnul_q[tq] <= tnul_d[tq];
      tfnd_q[tq] <= tfnd_d[tq];
    end
  end

  // ---- trace FIFOs: each engine's records for the host (TRACE*
  // registers; vm::units::trace) ----
  // A call's record is the words its trace unit read, written as they are
  // read (word k in the call's clock k, masked to the bytes read, 0 where
  // nothing was: a string past its region) from the FIFO's write end, and
  // a header written in the answer's clock when the format is valid: the
  // call's clock, the formatted length, the shape, the (efault) strings,
  // the words and trace_printk's r3..r5. The call is taken when, in its
  // request's clock, a header is free and contract::trace_record_words
  // words are (every argument counted as a %s); else a valid record is
  // counted dropped in the answer's clock. A record or drop shows in the
  // registers from the second clock after the answer (tpend_q, tdpend_q:
  // the head's header is read a clock late, from block RAM). TRACEPOP
  // takes the head out. Memories: one simple dual-port RAM of data words
  // and one of headers per engine, each read a clock late (tdr_q, thr_q).
  localparam integer TRW = $clog2(U_TRACE_WORDS);
  localparam integer THW = $clog2(U_TRACE_RECORDS);
  localparam integer THB = 344;   // cycle 64, ret 32, shape 32, efault 12, words 12, args 192
  /* verilator lint_off WIDTH */
  localparam [TRW:0] TWORDS = U_TRACE_WORDS;
  localparam [THW:0] TRECS = U_TRACE_RECORDS;
  /* verilator lint_on WIDTH */
  reg [TRW-1:0]     tdh_q  [0:ENGINES-1];   // data head
  reg [TRW:0]       tdu_q  [0:ENGINES-1];   // data words held
  reg [THW-1:0]     thh_q  [0:ENGINES-1];   // header head
  reg [THW:0]       thn_q  [0:ENGINES-1];   // records held
  reg [ENGINES-1:0] tpend_q, tdpend_q, ttk_q;
  reg [31:0]        tdrop_q[0:ENGINES-1];
  reg [63:0]        tcyc_q [0:ENGINES-1];   // the call's clock
  reg [THB-1:0]     thr_q  [0:ENGINES-1];   // the head's header
  reg [63:0]        tdr_q  [0:ENGINES-1];   // the head's word TRACEIDX
  reg [31:0]        tidx_q;
  // this clock, per engine
  reg [ENGINES-1:0] tf_live, tf_tk, tf_we, tf_commit, tf_drop, tf_pop;
  reg [TRW-1:0]     tf_wa  [0:ENGINES-1];
  reg [63:0]        tf_wd  [0:ENGINES-1];
  reg [THB-1:0]     tf_hdr [0:ENGINES-1];
  reg [THW:0]       tf_vis [0:ENGINES-1];   // records the host sees
  reg [BW-1:0]      tf_need;
  reg [TRW:0]       tf_popn[0:ENGINES-1];
  reg [63:0]        tf_mask;
  reg [191:0]       tf_args;
  reg [31:0]        tf_shape;
  wire tf_popw = mreg_wr_i && mreg_addr_i == R_TRACEPOP && mreg_wdata_i[0];
  integer tf;
  /* verilator lint_off WIDTH */
  always @* begin
    for (tf = 0; tf < ENGINES; tf = tf + 1) begin
      tf_live[tf] = tr_is[tf] && (is_new[tf] || act_q[tf]);
      tf_need = tr_fw[tf] + tr_dw[tf] + tr_na[tf] * U_PRINTK_STR_WORDS;
      tf_tk[tf] = is_new[tf] ? thn_q[tf] < TRECS && tf_need <= TWORDS - tdu_q[tf] : ttk_q[tf];
      tf_we[tf] = tf_live[tf] && tf_tk[tf] && tr_k[tf] < tr_w[tf];
      tf_wa[tf] = tdh_q[tf] + tdu_q[tf][TRW-1:0] + tr_k[tf][TRW-1:0];
      tf_mask = tr_rn[tf] >= 4'd8 ? {64{1'b1}} : ~({64{1'b1}} << {tr_rn[tf], 3'b000});
      tf_wd[tf] = tr_rd[tf] ? mh_word[tf] & tf_mask : 64'd0;
      tf_commit[tf] = tf_live[tf] && tr_ack[tf] && tr_val[tf] && tf_tk[tf];
      tf_drop[tf] = tf_live[tf] && tr_ack[tf] && tr_val[tf] && !tf_tk[tf];
      tf_args = tr_v[tf] ? 192'd0 : {helper_arg5_i[tf*64 +: 64], helper_arg4_i[tf*64 +: 64],
                                     helper_arg3_i[tf*64 +: 64]};
      tf_shape = {tr_v[tf], 3'd0, tr_ns[tf], 4'd0, tr_dw[tf][3:0], 2'd0, helper_arg2_i[tf*64 +: 14]};
      tf_hdr[tf] = {tf_args, tr_w[tf], tef_d[tf], tf_shape, tr_ret[tf][31:0],
                    is_new[tf] ? cycle_i : tcyc_q[tf]};
      tf_vis[tf] = thn_q[tf] - {{THW{1'b0}}, tpend_q[tf]};
      tf_pop[tf] = tf_popw && engsel_i == tf && tf_vis[tf] != {(THW+1){1'b0}};
      tf_popn[tf] = thr_q[tf][151:140];
    end
  end
  /* verilator lint_on WIDTH */
  genvar tg;
  generate
    for (tg = 0; tg < ENGINES; tg = tg + 1) begin : g_trace
      reg [63:0]    tdm [0:U_TRACE_WORDS-1];
      reg [THB-1:0] thm [0:U_TRACE_RECORDS-1];
      always @(posedge clk_i) begin
        if (tf_we[tg]) tdm[tf_wa[tg]] <= tf_wd[tg];
        if (tf_commit[tg]) thm[thh_q[tg] + thn_q[tg][THW-1:0]] <= tf_hdr[tg];
        tdr_q[tg] <= tdm[tdh_q[tg] + tidx_q[TRW-1:0]];
        thr_q[tg] <= thm[thh_q[tg]];
      end
      always @(posedge clk_i) begin
        if (!rst_ni) begin
          tdh_q[tg] <= {TRW{1'b0}};
          tdu_q[tg] <= {(TRW+1){1'b0}};
          thh_q[tg] <= {THW{1'b0}};
          thn_q[tg] <= {(THW+1){1'b0}};
          tpend_q[tg] <= 1'b0;
          tdpend_q[tg] <= 1'b0;
          ttk_q[tg] <= 1'b0;
          tdrop_q[tg] <= 32'd0;
          tcyc_q[tg] <= 64'd0;
        end else begin
          ttk_q[tg] <= tf_tk[tg];
          if (is_new[tg]) tcyc_q[tg] <= cycle_i;
          tdu_q[tg] <= tdu_q[tg] + (tf_commit[tg] ? tr_w[tg][TRW:0] : {(TRW+1){1'b0}})
                                 - (tf_pop[tg] ? tf_popn[tg] : {(TRW+1){1'b0}});
          if (tf_pop[tg]) begin
            tdh_q[tg] <= tdh_q[tg] + tf_popn[tg][TRW-1:0];
            thh_q[tg] <= thh_q[tg] + 1'b1;
          end
          thn_q[tg] <= thn_q[tg] + {{THW{1'b0}}, tf_commit[tg]} - {{THW{1'b0}}, tf_pop[tg]};
          tpend_q[tg] <= tf_commit[tg];
          tdrop_q[tg] <= tdrop_q[tg] + {31'd0, tf_drop[tg]};
          tdpend_q[tg] <= tf_drop[tg];
        end
      end
    end
  endgenerate
  always @(posedge clk_i) begin
    if (!rst_ni) tidx_q <= 32'd0;
    else if (mreg_wr_i && mreg_addr_i == R_TRACEIDX) tidx_q <= mreg_wdata_i;
  end
  // The TRACE* registers' read data for engine engsel_i.
  reg [31:0] tf_rd;
  reg [THB-1:0] tf_h;
  /* verilator lint_off UNUSEDSIGNAL */
  reg [11:0] tf_off;   // bits 5:2: the header element
  /* verilator lint_on UNUSEDSIGNAL */
  integer tr_e;
  /* verilator lint_off WIDTH */
  always @* begin
    tf_rd = 32'd0;
    tf_h = {THB{1'b0}};
    tf_off = mreg_addr_i - R_TRACEHDR;
    for (tr_e = 0; tr_e < ENGINES; tr_e = tr_e + 1)
      if (engsel_i == tr_e) begin
        tf_h = tf_vis[tr_e] != {(THW+1){1'b0}} ? thr_q[tr_e] : {THB{1'b0}};
        case (mreg_addr_i)
          R_TRACECOUNT: tf_rd = tf_vis[tr_e];
          R_TRACEDROP:  tf_rd = tdrop_q[tr_e] - {31'd0, tdpend_q[tr_e]};
          R_TRACEWORD, R_TRACEWORD + 12'd4:
            if (tf_vis[tr_e] != {(THW+1){1'b0}} && tidx_q < tf_h[151:140])
              tf_rd = mreg_addr_i == R_TRACEWORD ? tdr_q[tr_e][31:0] : tdr_q[tr_e][63:32];
          default:
            if (mreg_addr_i >= R_TRACEHDR && mreg_addr_i < R_TRACEHDR + 12'd4 * U_TRACE_HDR)
              case (tf_off[5:2])
                4'd0:    tf_rd = tf_h[31:0];
                4'd1:    tf_rd = tf_h[63:32];
                4'd2:    tf_rd = tf_h[95:64];
                4'd3:    tf_rd = tf_h[127:96];
                4'd4:    tf_rd = {20'd0, tf_h[139:128]};
                4'd5:    tf_rd = {20'd0, tf_h[151:140]};
                default: tf_rd = tf_h[152 + (tf_off[5:2] - 6) * 32 +: 32];
              endcase
        endcase
      end
    if (mreg_addr_i == R_TRACEIDX) tf_rd = tidx_q;
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
      end else if (aid == U_H_KTIME || xdp_i && aid == U_H_KTIME_COARSE) begin
        cyc[ei] = U_SIMPLE_CYCLES[BW-1:0];
        imm_ret[ei] = cycle_i * U_NS_PER_CYCLE;
      end else if (xdp_i && (aid == U_H_REDIRECT || aid == U_H_SMP_ID || aid == U_H_BUFF_LEN ||
                             aid == U_H_ADJUST_META || aid == U_H_ADJUST_HEAD ||
                             aid == U_H_ADJUST_TAIL)) begin
        cyc[ei] = mh_zero[ei] || mh_mv[ei] ? mh_cyc[ei] : U_SIMPLE_CYCLES[BW-1:0];
        imm_ret[ei] = x_ret_e[ei];
        imm_flt[ei] = x_flt_e[ei];
        imm_code[ei] = FAULT_HELPER;
      end else if (mh_is[ei]) begin
        cyc[ei] = mh_cyc[ei];
        imm_ret[ei] = mh_ret[ei];
        imm_flt[ei] = mh_flt[ei];
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
      // trace_printk answers when its last word is read (its strings make
      // its latency known only after the format's words)
      if (tr_is[e]) ack_now[e] = (is_new[e] || act_q[e]) && tr_ack[e];
      helper_ack_o[e] = ack_now[e];
      helper_ret_o[e*64 +: 64] = 64'd0;
      helper_fault_o[e] = 1'b0;
      helper_fault_code_o[e*3 +: 3] = 3'd0;
      if (ack_now[e]) begin
        if (is_new[e]) begin
          helper_ret_o[e*64 +: 64] = imm_flt[e] ? 64'd0 : imm_ret[e];
          helper_fault_o[e] = imm_flt[e];
          helper_fault_code_o[e*3 +: 3] = imm_flt[e] ? imm_code[e] : 3'd0;
        end else if (mh_ans[e]) begin
          helper_ret_o[e*64 +: 64] = mh_flt[e] ? 64'd0 : mh_ret[e];
          helper_fault_o[e] = mh_flt[e];
          helper_fault_code_o[e*3 +: 3] = mh_flt[e] ? FAULT_HELPER : 3'd0;
        end else if (head_x && head == e[EW-1:0]) begin
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
      assign redir_bc_o[g] = rdb_q[g];
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
          rdv_q[g] <= 1'b0; rdb_q[g] <= 1'b0; rdp_q[g] <= 32'd0;
        end else if (pkt_start_i[g]) begin
          cdata_q[g] <= PKT_BASE[31:0] + U_XDP_HEADROOM;
          cend_q[g] <= PKT_BASE[31:0] + U_XDP_HEADROOM + plen32;
          cmeta_q[g] <= PKT_BASE[31:0] + U_XDP_HEADROOM;
          cwin_q[g] <= PKT_BASE[31:0] + U_XDP_HEADROOM + plen32;
          rdv_q[g] <= 1'b0;
          rdb_q[g] <= 1'b0;
        end else if (xdp_i && head_x && head == g[EW-1:0] && rm_set) begin
          // redirect_map: the target, or none (the model's Option)
          rdv_q[g] <= rm_v;
          rdb_q[g] <= h_bcast;
          rdp_q[g] <= cp_value[31:0];
        end else if (xcall) begin
          if (x_set[g]) begin
            cdata_q[g] <= x_data[g];
            cend_q[g] <= x_end[g];
            cmeta_q[g] <= x_meta[g];
          end
          if (x_rdir[g]) begin
            rdv_q[g] <= 1'b1;
            rdb_q[g] <= 1'b0;
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
          vi_q[g] <= 4'd0;
          vbuf_q[g] <= 512'd0;
          vok_q[g] <= 1'b1;
        end else if (vrd[g]) begin
          vi_q[g] <= vi_q[g] + 4'd1;
          vbuf_q[g] <= vfull[g];
          vok_q[g] <= vokf[g];
        end
        if (is_new[g] && xmap[g]) begin
          key_q[g] <= {{(KW-64){1'b0}}, kv_data[g]};
          kok_q[g] <= kv_ok[g];
        end else if (kw_q[g]) begin
          key_q[g][KW-1:64] <= kv_data[g][KW-65:0];
          kok_q[g] <= kok_q[g] && kv_ok[g];
        end
        kw_q[g] <= rst_ni && kw_new[g];
        if (is_new[g]) begin
          ret_q[g] <= imm_ret[g];
          flt_q[g] <= imm_flt[g];
          fcode_q[g] <= imm_code[g];
        end else if (head_x && head == g[EW-1:0]) begin
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
    cfg_ks = ks1 <= U_CAM_KEY_BYTES ? ks1[KSW-1:0] : {KSW{1'b0}};
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
             || a == R_MAPROWMAXELEMS || a == R_TRACECOUNT || a == R_TRACEDROP
             || a >= R_TRACEWORD && a < R_TRACEWORD + 12'd8
             || a >= R_TRACEHDR && a < R_TRACEHDR + 12'd4 * U_TRACE_HDR[11:0];
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
    else if (w_badop || w_offbad) w_errno = U_EINVAL[15:0];
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

  // ---- value memory writes ----
  // A row committed (below U_VROWS) starts zeroed with its value area (at
  // most its window); then the units' update write; then the engines'
  // stores in the clock's rotating order (the model steps them in it, so
  // the later one's bytes stay).
  wire [63:0] vcfg_area = {32'd0, mreg_wdata_i} * {32'd0, vs1};
  /* verilator lint_off WIDTH */
  wire [VAW-1:0] vcfg_at = maprow_q * U_VROW_BYTES;
  wire [VB-1:0]  vcfg_mask = {{(VB-U_VROW_BYTES){1'b0}}, {U_VROW_BYTES{1'b1}}} << vcfg_at;
  /* verilator lint_off WIDTH */
  wire [VAW-1:0] uw_at = head_v || (host_go && host_pend_q) ? cp_vat : cp_vat + wvoff_q;
  /* verilator lint_on WIDTH */
  /* verilator lint_on WIDTH */
  always @(posedge clk_i) begin
    if (cfg_we && {25'd0, maprow_q} < U_VROWS) begin
      varea_q[maprow_q[VRW-1:0]] <= vcfg_area > {32'd0, U_VROW_BYTES[31:0]} ? U_VROW_BYTES[31:0]
                                                                             : vcfg_area[31:0];
    end
    if (!rst_ni) vvalid_q <= {VB{1'b0}};
    else if (cfg_we && {25'd0, maprow_q} < U_VROWS) vvalid_q <= vvalid_q & ~vcfg_mask;
    if (uw_we)
      for (vj = 0; vj < 64; vj = vj + 1)
        if (vj < uw_n) begin
          vmem_q[uw_at + vj[VAW-1:0]] <= uw_data[8*vj +: 8];
          vvalid_q[uw_at + vj[VAW-1:0]] <= 1'b1;
        end
    for (vk = 0; vk < ENGINES; vk = vk + 1)
      if (fw_v[vw_e[vk]])
        for (vj = 0; vj < 8; vj = vj + 1)
          if (vj < (1 << ext_width_i[vw_e[vk]*2 +: 2])) begin
            vmem_q[xv[vw_e[vk]][VAW-1:0] + vj[VAW-1:0]] <= fw_d[vw_e[vk]][8*vj +: 8];
            vvalid_q[xv[vw_e[vk]][VAW-1:0] + vj[VAW-1:0]] <= 1'b1;
          end
    // The update the unit runs in this clock (at most one), after the
    // stores: the model lands it before the next clock's engines run.
    if (hw_we)
      for (vj = 0; vj < 64; vj = vj + 1)
        if (vj < uw_n) begin
          vmem_q[cp_vat[VAW-1:0] + vj[VAW-1:0]] <= uw_data[8*vj +: 8];
          vvalid_q[cp_vat[VAW-1:0] + vj[VAW-1:0]] <= 1'b1;
        end
    // A copy's word into a map value (xdp_load_bytes), read in the clock
    // before: at this clock's edge, after the stores (the model's pending
    // write lands before the next clock's engines run).
    for (vk = 0; vk < ENGINES; vk = vk + 1)
      if (mw_q[vk] && mwv_q[vk])
        for (vj = 0; vj < 8; vj = vj + 1)
          if (vj < {28'd0, mwn_q[vk]}) begin
            vmem_q[mwat_q[vk] + vj[VAW-1:0]] <= mwd_q[vk][8*vj +: 8];
            vvalid_q[mwat_q[vk] + vj[VAW-1:0]] <= 1'b1;
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

  // XDP: a host lookup's value (the operation's slot) and a scan's (its
  // entry's slot: the index of an ARRAY or DEVMAP, else what the entry
  // holds) from the value memory.
  /* verilator lint_off UNUSEDSIGNAL */
  wire [31:0]  s_slot = row_kind[mapsel_q[5:0]*2 +: 2] == MAPK_ARRAY ||
                        row_kind[mapsel_q[5:0]*2 +: 2] == MAPK_DEVMAP ? scan_key[31:0]
                                                                       : scan_val[31:0];
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator lint_off UNUSEDSIGNAL */
  wire [31:0]  s_vs = rowvs_q[mapsel_q[5:0]];
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator lint_off WIDTH */
  wire [31:0]  s_vat = mapsel_q[5:0] * U_VROW_BYTES + s_slot[10:0] * s_vs[10:0];
  /* verilator lint_on WIDTH */
  wire [511:0] w_vmval = vm_rd_wide(cp_vat + wvoff_q, w_vn);
  wire [511:0] s_vmval = vm_rd_wide(s_vat + wvoff_q, w_vn);

  integer q;
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      nummap_q <= 32'd0; typemap_q <= 32'd0; maxelems_q <= 32'd0; selmem_q <= 32'd0;
      mapsel_q <= 32'd0; keysize_q <= 32'd0; valsize_q <= 32'd0; wvoff_q <= 32'd0;
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
          R_WIDEVOFF:       wvoff_q <= mreg_wdata_i;
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
          if (w_run && w_op == 8'd3 && cp_found && w_vm) begin
            for (q = 0; q < R_WIDE_WORDS; q = q + 1) wval_q[q] <= w_vmval[q*32 +: 32];
          end else if (w_run && w_op == 8'd3 && cp_found) begin
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
          for (q = 0; q < KW / 32; q = q + 1) wkey_q[q] <= scan_key[q*32 +: 32];
          wval_q[0] <= scan_val[31:0];
          wval_q[1] <= scan_val[63:32];
          if (w_vm)
            for (q = 0; q < R_WIDE_WORDS; q = q + 1) wval_q[q] <= s_vmval[q*32 +: 32];
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
          if (cp_found) hval_q <= w_vm ? w_vmval[63:0] : cp_value;
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
      R_WIDEVOFF:          mreg_rdata_o = wvoff_q;
      R_MAPROWTYPE:        mreg_rdata_o = rsel_ok ? rsel_type : 32'd0;
      R_MAPROWKEYSIZE:     mreg_rdata_o = rsel_ok ? rowks_q[mapsel_q[5:0]] : 32'd0;
      R_MAPROWVALUESIZE:   mreg_rdata_o = rsel_ok ? rowvs_q[mapsel_q[5:0]] : 32'd0;
      R_MAPROWMAXELEMS:    mreg_rdata_o = rsel_ok ? rowmax_q[mapsel_q[5:0]] : 32'd0;
      default: begin
        if (in_wkey) mreg_rdata_o = wkey_q[wk_i];
        if (in_wval) mreg_rdata_o = wval_q[wv_i];
        if (a >= R_TRACECOUNT && a < R_TRACEHDR + 12'd4 * U_TRACE_HDR[11:0]) mreg_rdata_o = tf_rd;
      end
    endcase
  end
endmodule
