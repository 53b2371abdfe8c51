// ebpf_axil_regs: the data plane's AXI4-Lite register slave, the register
// map of vm::regs (docs/registers.md) as vm::device::Device implements it.
//
// Timing (what co-simulation with the model relies on):
// - Write: AW and W are taken together in one clock (awready = wready =
//   awvalid && wvalid && no response pending). The write takes effect at the
//   end of that clock, so the next clock sees it (the model's write32
//   between two steps). The response (BVALID) follows in the next clock:
//   OKAY, SLVERR (write to a read-only register, NUMINST or LOINST past the
//   bank, FLIP refused because an engine still runs a packet on the idle
//   bank or a LOINST write was refused for that reason, an ABIMODE write
//   that would change the ABI while packets are in the data plane,
//   vm::device's "change the ABI on an idle device"), DECERR (no register
//   there).
// - ABIMODE: bit 0 of the write is the ABI (0 SUME, 1 XDP; abi_o), read
//   back as written; a write that changes it is taken only when no packet
//   is queued, running or held for the egress (pkts_in_i low).
// - Read: AR is taken in one clock; the register is read in the next clock
//   (the state after the clock the address came in, as the model's read32
//   between two steps) and RVALID/RDATA follow in the clock after.
// - Map registers (NUMMAP..CLEANDEBUG, COPROCARBFSMSTATE, MAPSELECT..
//   WIDESTATUS, MAPLOAD, WIDEKEY, WIDEVALUE, MAPROWTYPE..MAPROWMAXELEMS, WIDEVOFF and the
//   trace FIFOs' TRACECOUNT..TRACEHDR) go out on the mreg_* sub-bus of the map
//   coprocessor (the seam with ebpf_units): mreg_wr_o in the clock the write
//   is taken, mreg_rd_o in the clock the read is done, mreg_rdata_i
//   combinational in that clock. Their errors are the coprocessor's:
//   mreg_err_i (combinational with the access) turns the response into
//   SLVERR, for a write (BRESP) and for a read (RRESP).
// - Instruction memory: LOINST stores HIINST:LOINST in the staging RAM
//   (RDINSTHI/LO read it back) and writes it through to the idle bank of
//   every engine (imem_wr_o); FLIP writes NUMINST as the idle bank's length
//   and swaps the banks in one clock (engines switch at their next packet).
//   The hardware does not validate programs: the host (RtlDevice) does.
// - Instruction budget per packet (BUDGET): written into budget_q, the
//   staged program's (WRINST 0 clears it); the FLIP that makes a bank active
//   copies it into that bank's bbud_q, the bank's budget (bank_budget_o, 0:
//   the default budget_dflt_i), which the engines running on that bank get.
//   A read gives the active bank's as applied (0 read as the default),
//   saturated to 32 bits.
module ebpf_axil_regs #(
  parameter integer ENGINES = 4
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  // AXI4-Lite slave (12-bit byte addresses)
  input  wire [11:0]           s_axil_awaddr_i,
  input  wire                  s_axil_awvalid_i,
  output wire                  s_axil_awready_o,
  input  wire [31:0]           s_axil_wdata_i,
  input  wire [3:0]            s_axil_wstrb_i,
  input  wire                  s_axil_wvalid_i,
  output wire                  s_axil_wready_o,
  output reg  [1:0]            s_axil_bresp_o,
  output reg                   s_axil_bvalid_o,
  input  wire                  s_axil_bready_i,
  input  wire [11:0]           s_axil_araddr_i,
  input  wire                  s_axil_arvalid_i,
  output wire                  s_axil_arready_o,
  output reg  [31:0]           s_axil_rdata_o,
  output reg  [1:0]            s_axil_rresp_o,
  output reg                   s_axil_rvalid_o,
  input  wire                  s_axil_rready_i,
  // map registers (seam: ebpf_units)
  output wire                  mreg_wr_o,
  output wire                  mreg_rd_o,
  output wire [11:0]           mreg_addr_o,
  output wire [31:0]           mreg_wdata_o,
  input  wire [31:0]           mreg_rdata_i,
  input  wire                  mreg_err_i,
  // instruction memory of the engines
  output wire                  imem_wr_o,
  output wire [11:0]           imem_addr_o,
  output wire [63:0]           imem_data_o,
  output wire                  imem_flip_o,
  output wire [31:0]           imem_len_o,
  input  wire                  imem_active_i,
  input  wire                  imem_idle_busy_i,
  input  wire                  imem_refused_i,
  // instruction budget per packet: the default (for a bank loaded with 0)
  // and each bank's as its FLIP set it ({bank 1, bank 0})
  input  wire [63:0]           budget_dflt_i,
  output wire [63:0]           bank_budget_o,
  // data plane state
  input  wire [63:0]           cycle_i,
  input  wire [ENGINES-1:0]    eng_running_i,
  input  wire [ENGINES*64-1:0] eng_r0_i,
  input  wire [ENGINES*32-1:0] eng_pkt_in_i,
  input  wire [ENGINES*32-1:0] eng_pkt_out_i,
  input  wire [ENGINES*32-1:0] eng_drop_i,
  input  wire [ENGINES*32-1:0] eng_faults_i,
  input  wire [ENGINES*32-1:0] eng_busy_i,
  input  wire [ENGINES*32-1:0] eng_stall_i,
  input  wire [ENGINES*32-1:0] eng_fault_pc_i,
  input  wire [ENGINES*32-1:0] eng_fault_addr_i,
  input  wire [ENGINES*32-1:0] eng_fault_cause_i,
  input  wire [ENGINES*32-1:0] eng_mapwait_i,
  input  wire [4*32-1:0]       port_rx_i,
  input  wire [4*32-1:0]       port_rxdrop_i,
  input  wire [4*32-1:0]       port_tx_i,
  // output arbiter: engine sending, or 0xf when idle (OUTARBFSMSTATE)
  input  wire [3:0]            outarb_state_i,
  // ABIMODE: the ABI the data plane runs (0 SUME, 1 XDP), and whether any
  // packet is inside it (an ABI change is refused then)
  output reg                   abi_o,
  input  wire                  pkts_in_i,
  // ENGSELECT, for the units' TRACE* registers
  output wire [31:0]           engselect_o
);
  `include "ebpf_params.vh"
  `include "ebpf_dp_params.vh"

  localparam [1:0] OKAY = 2'b00, SLVERR = 2'b10, DECERR = 2'b11;

  // ---------------- storage registers ----------------
  reg [31:0] routermode_q, numinst_q, hiinst_q, wrptr_q, debug_q;
  reg [31:0] engselect_q, portselect_q, rdaddr_q, cyclehi_q;
  reg [31:0] budget_q, bbud0_q, bbud1_q;
  reg        refused_q;
  reg [63:0] stage_q [0:IMEM_SLOTS-1];
  assign engselect_o = engselect_q;

  // ---------------- write path ----------------
  wire        wr_go   = s_axil_awvalid_i && s_axil_wvalid_i && !s_axil_bvalid_o;
  wire [11:0] waddr   = {s_axil_awaddr_i[11:2], 2'b00};
  wire [31:0] wdata   = s_axil_wdata_i;

  function automatic is_map(input [11:0] a);
    is_map = (a >= REG_NUMMAP && a <= REG_CLEANDEBUG) || a == REG_COPROCARBFSMSTATE ||
             (a >= REG_MAPSELECT && a <= REG_WIDESTATUS) || a == REG_MAPLOAD ||
             (a >= REG_WIDEKEY && a < REG_WIDEVALUE + 12'd4 * REG_WIDEVALUE_N[11:0]) ||
             (a >= REG_MAPROWTYPE && a <= REG_MAPROWMAXELEMS) ||
             (a >= REG_TRACECOUNT && a < REG_TRACEHDR + 12'd4 * REG_TRACEHDR_N[11:0]) ||
             a == REG_WIDEVOFF;
  endfunction

  function automatic in_arr(input [11:0] a, input [11:0] base, input [11:0] n);
    in_arr = a >= base && a < base + 12'd4 * n;
  endfunction

  // Registers a read finds (anything else: DECERR).
  function automatic known(input [11:0] a);
    known = is_map(a) || a <= REG_CURRINSTMEM || in_arr(a, REG_ENG_R0, REG_ENG_R0_N[11:0]) ||
            in_arr(a, REG_ENG_FSM, REG_ENG_FSM_N[11:0]) ||
            in_arr(a, REG_TUSERREADY, REG_TUSERREADY_N[11:0]) || a == REG_OUTARBFSMSTATE ||
            in_arr(a, REG_RXPKT, REG_RXPKT_N[11:0]) || in_arr(a, REG_TXPKT, REG_TXPKT_N[11:0]) ||
            (a >= REG_DEBUG && a <= REG_ENGFAULTCAUSE) ||
            (a >= REG_RDINSTADDR && a <= REG_PORTTX) || a == REG_ENGMAPWAIT || a == REG_BUDGET;
  endfunction

  // Writable registers outside the map range.
  function automatic writable(input [11:0] a);
    writable = a == REG_FLIP || a == REG_ROUTERMODE || a == REG_NUMINST ||
               a == REG_HIINST || a == REG_LOINST || a == REG_WRINST ||
               a == REG_DEBUG || a == REG_ABIMODE || a == REG_ENGSELECT ||
               a == REG_RDINSTADDR || a == REG_PORTSELECT || a == REG_BUDGET;
  endfunction

  wire w_map   = is_map(waddr);
  wire w_known = known(waddr);
  wire w_ok    = w_known && (w_map || writable(waddr));
  wire w_flip  = wr_go && waddr == REG_FLIP && wdata[0];
  wire flip_refused = imem_idle_busy_i || refused_q;
  wire w_loinst = wr_go && waddr == REG_LOINST && wrptr_q < IMEM_SLOTS;

  reg [1:0] wresp;
  always @* begin
    if (!w_known) wresp = DECERR;
    else if (!w_ok) wresp = SLVERR;
    else if (w_map && mreg_err_i) wresp = SLVERR;
    else if (waddr == REG_NUMINST && wdata > CONTRACT_IMEM_SLOTS) wresp = SLVERR;
    else if (waddr == REG_LOINST && wrptr_q >= IMEM_SLOTS) wresp = SLVERR;
    else if (waddr == REG_FLIP && wdata[0] && flip_refused) wresp = SLVERR;
    else if (waddr == REG_ABIMODE && wdata[0] != abi_o && pkts_in_i) wresp = SLVERR;
    else wresp = OKAY;
  end

  assign s_axil_awready_o = wr_go;
  assign s_axil_wready_o  = wr_go;

  assign imem_wr_o   = w_loinst;
  assign imem_addr_o = wrptr_q[11:0];
  assign imem_data_o = {hiinst_q, wdata};
  assign imem_flip_o = w_flip && !flip_refused;
  assign imem_len_o  = numinst_q;
  assign bank_budget_o = {bbud1_q, bbud0_q};

  // BUDGET as read: the active bank's, 0 meaning the default, at most 2^32-1.
  wire [31:0] act_bud = imem_active_i ? bbud1_q : bbud0_q;
  wire [63:0] act_eff = act_bud != 32'd0 ? {32'd0, act_bud} : budget_dflt_i;
  wire [31:0] act_rd  = act_eff[63:32] != 32'd0 ? 32'hffffffff : act_eff[31:0];

  // ---------------- read path ----------------
  reg         rd_pend_q;
  reg  [11:0] raddr_q;
  assign s_axil_arready_o = !rd_pend_q && !s_axil_rvalid_o;

  wire r_map = is_map(raddr_q);
  assign mreg_wr_o    = wr_go && w_map;
  assign mreg_rd_o    = rd_pend_q && r_map;
  assign mreg_addr_o  = rd_pend_q ? raddr_q : waddr;
  assign mreg_wdata_o = wdata;

  function automatic [31:0] pick32(input [ENGINES*32-1:0] v, input [31:0] i);
    pick32 = i < ENGINES ? v[i[3:0]*32 +: 32] : 32'd0;
  endfunction

  wire [31:0] pidx = portselect_q;
  wire [11:0] off_r0  = raddr_q - REG_ENG_R0;
  wire [11:0] off_fsm = raddr_q - REG_ENG_FSM;
  wire [11:0] off_rx  = raddr_q - REG_RXPKT;
  wire [11:0] off_tx  = raddr_q - REG_TXPKT;
  reg  [31:0] rdata;
  reg  [31:0] ridx;
  reg  [63:0] r0sel;
  reg  [ENGINES*64-1:0] r0sh;
  reg  [ENGINES-1:0] runsh;
  always @* begin
    rdata = 32'd0;
    ridx  = 32'd0;
    r0sel = 64'd0;
    r0sh  = {ENGINES*64{1'b0}};
    runsh = {ENGINES{1'b0}};
    if (r_map) rdata = mreg_rdata_i;
    else if (in_arr(raddr_q, REG_ENG_R0, REG_ENG_R0_N[11:0])) begin
      ridx = {22'd0, off_r0[11:2]};
      r0sh = eng_r0_i >> (64 * (ridx >> 1));
      if ((ridx >> 1) < ENGINES) r0sel = r0sh[63:0];
      rdata = ridx[0] ? r0sel[31:0] : r0sel[63:32];
    end else if (in_arr(raddr_q, REG_ENG_FSM, REG_ENG_FSM_N[11:0])) begin
      ridx = {22'd0, off_fsm[11:2]};
      runsh = eng_running_i >> (ridx >> 1);
      rdata = {31'd0, (ridx >> 1) < ENGINES && runsh[0]};
    end else if (in_arr(raddr_q, REG_TUSERREADY, REG_TUSERREADY_N[11:0])) rdata = 32'd1;
    else if (in_arr(raddr_q, REG_RXPKT, REG_RXPKT_N[11:0]))
      rdata = pick32(eng_pkt_in_i, {22'd0, off_rx[11:2]});
    else if (in_arr(raddr_q, REG_TXPKT, REG_TXPKT_N[11:0]))
      rdata = pick32(eng_pkt_out_i, {22'd0, off_tx[11:2]});
    else begin
      case (raddr_q)
        REG_ID:            rdata = DEVICE_ID;
        REG_VERSION:       rdata = DEVICE_VERSION;
        REG_ROUTERMODE:    rdata = routermode_q;
        REG_NUMINST:       rdata = numinst_q;
        REG_CURRINSTMEM:   rdata = {31'd0, imem_active_i};
        REG_OUTARBFSMSTATE: rdata = {28'd0, outarb_state_i};
        REG_DEBUG:         rdata = debug_q;
        REG_NUMENGINES:    rdata = ENGINES;
        REG_ABIMODE:       rdata = {31'd0, abi_o};
        REG_IMEMSLOTS:     rdata = CONTRACT_IMEM_SLOTS;
        REG_BUDGET:        rdata = act_rd;
        REG_CYCLELO:       rdata = cycle_i[31:0];
        REG_CYCLEHI:       rdata = cyclehi_q;
        REG_ENGSELECT:     rdata = engselect_q;
        REG_ENGPKTIN:      rdata = pick32(eng_pkt_in_i, engselect_q);
        REG_ENGPKTOUT:     rdata = pick32(eng_pkt_out_i, engselect_q);
        REG_ENGDROP:       rdata = pick32(eng_drop_i, engselect_q);
        REG_ENGFAULTS:     rdata = pick32(eng_faults_i, engselect_q);
        REG_ENGBUSY:       rdata = pick32(eng_busy_i, engselect_q);
        REG_ENGSTALL:      rdata = pick32(eng_stall_i, engselect_q);
        REG_ENGFAULTPC:    rdata = pick32(eng_fault_pc_i, engselect_q);
        REG_ENGFAULTADDR:  rdata = pick32(eng_fault_addr_i, engselect_q);
        REG_ENGFAULTCAUSE: rdata = pick32(eng_fault_cause_i, engselect_q);
        REG_ENGMAPWAIT:    rdata = pick32(eng_mapwait_i, engselect_q);
        REG_RDINSTADDR:    rdata = rdaddr_q;
        REG_RDINSTHI:      rdata = rdaddr_q < IMEM_SLOTS ? stage_q[rdaddr_q[11:0]][63:32] : 32'd0;
        REG_RDINSTLO:      rdata = rdaddr_q < IMEM_SLOTS ? stage_q[rdaddr_q[11:0]][31:0] : 32'd0;
        REG_PORTSELECT:    rdata = portselect_q;
        REG_PORTRX:        rdata = pidx < 4 ? port_rx_i[pidx[1:0]*32 +: 32] : 32'd0;
        REG_PORTRXDROP:    rdata = pidx < 4 ? port_rxdrop_i[pidx[1:0]*32 +: 32] : 32'd0;
        REG_PORTTX:        rdata = pidx < 4 ? port_tx_i[pidx[1:0]*32 +: 32] : 32'd0;
        default:           rdata = 32'd0;
      endcase
    end
  end

  always @(posedge clk_i) begin
    if (w_loinst) stage_q[wrptr_q[11:0]] <= {hiinst_q, wdata};
  end

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      routermode_q <= 32'd0; numinst_q <= 32'd0; hiinst_q <= 32'd0; wrptr_q <= 32'd0;
      debug_q <= 32'd0; engselect_q <= 32'd0; portselect_q <= 32'd0; rdaddr_q <= 32'd0;
      cyclehi_q <= 32'd0; refused_q <= 1'b0; abi_o <= 1'b0;
      budget_q <= 32'd0; bbud0_q <= 32'd0; bbud1_q <= 32'd0;
      s_axil_bvalid_o <= 1'b0; s_axil_bresp_o <= OKAY;
      rd_pend_q <= 1'b0; raddr_q <= 12'd0;
      s_axil_rvalid_o <= 1'b0; s_axil_rdata_o <= 32'd0; s_axil_rresp_o <= OKAY;
    end else begin
      // write
      if (s_axil_bvalid_o && s_axil_bready_i) s_axil_bvalid_o <= 1'b0;
      if (wr_go) begin
        s_axil_bvalid_o <= 1'b1;
        s_axil_bresp_o  <= wresp;
        if (wresp == OKAY) begin
          case (waddr)
            REG_ROUTERMODE: routermode_q <= wdata;
            REG_NUMINST:    numinst_q <= wdata;
            REG_HIINST:     hiinst_q <= wdata;
            REG_WRINST: begin
              wrptr_q <= wdata;
              if (wdata == 32'd0) begin
                refused_q <= 1'b0;
                budget_q <= 32'd0;
              end
            end
            REG_BUDGET:     budget_q <= wdata;
            REG_LOINST: begin
              wrptr_q <= wrptr_q + 32'd1;
              if (imem_refused_i) refused_q <= 1'b1;
            end
            REG_FLIP:       if (wdata[0]) refused_q <= 1'b0;
            REG_DEBUG:      debug_q <= wdata;
            REG_ABIMODE:    abi_o <= wdata[0];
            REG_ENGSELECT:  engselect_q <= wdata;
            REG_RDINSTADDR: rdaddr_q <= wdata;
            REG_PORTSELECT: portselect_q <= wdata;
            default: ;
          endcase
        end
      end
      // the FLIP puts the staged budget in the bank it makes active
      if (imem_flip_o) begin
        if (imem_active_i) bbud0_q <= budget_q;
        else               bbud1_q <= budget_q;
      end
      // read
      if (s_axil_rvalid_o && s_axil_rready_i) s_axil_rvalid_o <= 1'b0;
      if (s_axil_arvalid_i && s_axil_arready_o) begin
        rd_pend_q <= 1'b1;
        raddr_q   <= {s_axil_araddr_i[11:2], 2'b00};
      end
      if (rd_pend_q) begin
        rd_pend_q       <= 1'b0;
        s_axil_rvalid_o <= 1'b1;
        s_axil_rdata_o  <= rdata;
        s_axil_rresp_o  <= !known(raddr_q) ? DECERR : r_map && mreg_err_i ? SLVERR : OKAY;
        if (raddr_q == REG_CYCLELO) cyclehi_q <= cycle_i[63:32];
      end
    end
  end

  // Unused: byte strobes (every register is written whole, as the model),
  // the word offsets' low bits (always 0), the shifted selects' upper
  // bits.
  wire unused_ok = &{1'b0, s_axil_wstrb_i, s_axil_awaddr_i[1:0], s_axil_araddr_i[1:0],
                     off_r0[1:0], off_fsm[1:0], off_rx[1:0], off_tx[1:0], r0sh, runsh};

endmodule
