// ebpf_dataplane: the data plane of vm::device::Device in RTL (SUME and XDP
// ABIs, ABIMODE).
//
// ENGINES (1..16) ebpf_engine cores behind four AXI4-Stream ingress ports,
// the timer, the per-engine packet queues and FIFO_MD pacing, the verdict
// outputs, the counters and the AXI4-Lite register slave (ebpf_axil_regs).
// Cycle-exact with the model; the timing contract:
//
// - Ingress (per port p, 256-bit tdata, byte 0 in tdata[7:0]; tuser[15:0]
//   the frame length in bytes as on NetFPGA SUME; tkeep masks the last beat;
//   tready is always 1: a frame no engine can take is consumed and counted,
//   never back-pressured, as the model drops it). The first beat of a frame
//   in clock c is the model's Device::rx between step c and step c+1: the
//   demux decides in that clock on the engines' state after clock c (a
//   verdict in clock c frees its FIFO_MD words for it). Engine e serves port
//   e % 4; a port's engines are tried round-robin from the one after the
//   last that took a frame, skipping an engine whose FIFO_MD has no room
//   (words or FIFO_MAX_PACKETS). A frame's beats must follow each other in
//   consecutive clocks (as from the MAC); they go into the engine's shadow
//   ring (the bytes the port still has to deliver, the model's Slot::source)
//   at the ring words the packet was given.
// - FIFO_MD pacing: per engine, exactly vm::pipeline::fifo's accumulator
//   (PORT_RATE credits per clock, WORD_COST per 256-bit word, one word per
//   clock at most, word 0 of a packet pushed onto an idle port in the next
//   clock). SUME ABI: word 0 is the 32-byte SUME metadata header built from
//   the slot (in_port, timestamp sec/nsec of the receive clock, length);
//   word k is frame beat k-1 from the shadow ring. XDP ABI (ABIMODE 1):
//   words 0..7 are the XDP_HEADROOM zero bytes before the frame, word k
//   frame beat k-8 (vm::abi::Abi::window).
// - The engine gets its head packet's descriptor as soon as it is free (r1 =
//   PKT_BASE, SUME, or CTX_BASE, XDP, whose xdp_md ebpf_units serves on the
//   engine's ext port; the window writable, the stack on).
// - FIFO_MD pacing charges no credit for the header words (the SUME header
//   is not on the wire: it travels in tuser with the first beat; nor is the
//   XDP headroom), one a clock; the frame's words follow at the port's pace
//   (vm::pipeline::fifo's push_framed).
// - Verdicts: in the clock an engine takes its verdict (dbg_done_o), out_v_o
//   pulses with out_kind_o (0 port, 1 flood, 2 host, 3 drop, 4 aborted, 5
//   redirect to a port), out_port_o and out_bank_o; the counters move at
//   the end of that clock. SUME reads r0 as vm::abi's SUME verdicts; XDP
//   reads its low 32 bits as XDP_DROP, XDP_PASS (host), XDP_TX (the input
//   port), XDP_REDIRECT (the target bpf_redirect set, ebpf_units' redir_*;
//   none: aborted), anything else aborted (vm::abi::Abi::verdict).
//   The packet's slot is retired: the engine goes on, the slot keeps its
//   words (and goes on receiving) until the egress (ebpf_egress, the output
//   arbiter and the AXI4-Stream master m_axis_*) has sent the frame; a
//   dropped packet is freed at once unless an earlier retired packet of the
//   engine is still waiting, then in ring order in a later clock (one
//   release per engine per clock, decided on the state at the start of the
//   clock). This is vm::device's egress, clock for clock.
// - Instruction budget: each engine runs a packet under the budget of the
//   bank it latched at the packet's start (ebpf_axil_regs' bank_budget_o, 0
//   meaning budget_i), as vm::pipeline::Bank::budget. A FLIP cannot rewrite
//   a bank an engine still runs on, so the budget holds until the verdict.
// - The map coprocessor and helper units (ebpf_units, u_units) serve every
//   engine's helper_* and ext_* ports (flattened, engine e at [e*W +: W]),
//   with the timer, pkt_start (an engine starts a packet in this clock),
//   the ENGMAPWAIT counters and the mreg_* map-register sub-bus of the
//   register slave (an access the units refuse answers SLVERR).
module ebpf_dataplane #(
  parameter integer ENGINES = 4,
  // 1: the dbg_* ports carry every engine's debug records (co-simulation);
  // 0: they are tied to zero (synthesis: make synth sets it).
  parameter integer DEBUG_RECORDS = 1
) (
  input  wire                   clk_i,
  // Synchronous, active low, like every register of the design (docs/rtl.md,
  // "Reset"): held low over at least one clock edge.
  input  wire                   rst_ni,
  // instruction budget per packet of a program loaded with BUDGET 0 (the
  // model's DeviceConfig::budget); each bank's own comes from the BUDGET
  // register with its FLIP (ebpf_axil_regs)
  input  wire [63:0]            budget_i,
  // AXI4-Stream ingress, ports 0..3
  input  wire [4*256-1:0]       s_axis_tdata_i,
  input  wire [4*32-1:0]        s_axis_tkeep_i,
  input  wire [4*128-1:0]       s_axis_tuser_i,
  input  wire [3:0]             s_axis_tlast_i,
  input  wire [3:0]             s_axis_tvalid_i,
  output wire [3:0]             s_axis_tready_o,
  // receive events (first beat): accepted by engine rx_eng_o, or dropped
  output reg  [3:0]             rx_acc_o,
  output reg  [3:0]             rx_drop_o,
  output reg  [4*4-1:0]         rx_eng_o,
  // verdicts
  output wire [ENGINES-1:0]     out_v_o,
  output wire [ENGINES*3-1:0]   out_kind_o,
  output wire [ENGINES*32-1:0]  out_port_o,
  output wire [ENGINES-1:0]     out_bank_o,
  // AXI4-Stream egress (ebpf_egress: tuser as on NetFPGA SUME)
  output wire [255:0]           m_axis_tdata_o,
  output wire [31:0]            m_axis_tkeep_o,
  output wire [127:0]           m_axis_tuser_o,
  output wire                   m_axis_tlast_o,
  output wire                   m_axis_tvalid_o,
  input  wire                   m_axis_tready_i,
  // AXI4-Lite register slave
  input  wire [11:0]            s_axil_awaddr_i,
  input  wire                   s_axil_awvalid_i,
  output wire                   s_axil_awready_o,
  input  wire [31:0]            s_axil_wdata_i,
  input  wire [3:0]             s_axil_wstrb_i,
  input  wire                   s_axil_wvalid_i,
  output wire                   s_axil_wready_o,
  output wire [1:0]             s_axil_bresp_o,
  output wire                   s_axil_bvalid_o,
  input  wire                   s_axil_bready_i,
  input  wire [11:0]            s_axil_araddr_i,
  input  wire                   s_axil_arvalid_i,
  output wire                   s_axil_arready_o,
  output wire [31:0]            s_axil_rdata_o,
  output wire [1:0]             s_axil_rresp_o,
  output wire                   s_axil_rvalid_o,
  input  wire                   s_axil_rready_i,
  // the device timer (the model's cycle)
  output wire [63:0]            cycle_o,
  // ------------------------------------------------------------------
  // Debug records (co-simulation; sim/src/device.rs reads them): every
  // engine's ebpf_engine dbg_* outputs, engine e at [e*W +: W] of each
  // port, under the engine's port names. Retire record: dbg_retire_o ..
  // dbg_done_o; cycle record: dbg_running_o .. dbg_bank_o. All zero when
  // DEBUG_RECORDS is 0.
  // ------------------------------------------------------------------
  output wire [ENGINES-1:0]     dbg_retire_o,
  output wire [ENGINES*32-1:0]  dbg_retire_pc_o,
  output wire [ENGINES-1:0]     dbg_reg_we_o,
  output wire [ENGINES*4-1:0]   dbg_reg_idx_o,
  output wire [ENGINES*64-1:0]  dbg_reg_val_o,
  output wire [ENGINES-1:0]     dbg_mem_v_o,
  output wire [ENGINES*64-1:0]  dbg_mem_addr_o,
  output wire [ENGINES*2-1:0]   dbg_mem_width_o,
  output wire [ENGINES-1:0]     dbg_mem_rd_o,
  output wire [ENGINES*64-1:0]  dbg_mem_rdata_o,
  output wire [ENGINES-1:0]     dbg_mem_wr_o,
  output wire [ENGINES*64-1:0]  dbg_mem_wdata_o,
  output wire [ENGINES-1:0]     dbg_fault_o,
  output wire [ENGINES*3-1:0]   dbg_fault_code_o,
  output wire [ENGINES-1:0]     dbg_done_o,
  output wire [ENGINES-1:0]     dbg_running_o,
  output wire [ENGINES*5-1:0]   dbg_stage_v_o,
  output wire [ENGINES*32-1:0]  dbg_pc_if_o,
  output wire [ENGINES*32-1:0]  dbg_pc_id_o,
  output wire [ENGINES*32-1:0]  dbg_pc_ex_o,
  output wire [ENGINES*32-1:0]  dbg_pc_mem_o,
  output wire [ENGINES*32-1:0]  dbg_pc_wb_o,
  output wire [ENGINES*32-1:0]  dbg_seq_if_o,
  output wire [ENGINES*32-1:0]  dbg_seq_id_o,
  output wire [ENGINES*32-1:0]  dbg_seq_ex_o,
  output wire [ENGINES*32-1:0]  dbg_seq_mem_o,
  output wire [ENGINES*32-1:0]  dbg_seq_wb_o,
  output wire [ENGINES*4-1:0]   dbg_stall_o,
  output wire [ENGINES-1:0]     dbg_flush_o,
  output wire [ENGINES*2-1:0]   dbg_fwd_a_o,
  output wire [ENGINES*2-1:0]   dbg_fwd_b_o,
  output wire [ENGINES-1:0]     dbg_bank_o
);
  `include "ebpf_params.vh"
  `include "ebpf_dp_params.vh"

  // ------------------------------------------------------------------
  // Seam with the map coprocessor and helper units (ebpf_units)
  // ------------------------------------------------------------------
  wire [ENGINES-1:0]     helper_req_o;
  wire [ENGINES*32-1:0]  helper_id_o;
  wire [ENGINES*64-1:0]  helper_arg1_o, helper_arg2_o, helper_arg3_o, helper_arg4_o, helper_arg5_o;
  wire [ENGINES-1:0]     helper_ack_i, helper_unwind_i, helper_fault_i;
  wire [ENGINES*64-1:0]  helper_ret_i;
  wire [ENGINES*3-1:0]   helper_fault_code_i;
  wire [ENGINES-1:0]     ext_rd_o, ext_wr_o;
  wire [ENGINES*64-1:0]  ext_addr_o, ext_wdata_o;
  wire [ENGINES*2-1:0]   ext_width_o;
  wire [ENGINES-1:0]     ext_st_o, ext_at_o;
  wire [ENGINES*3-1:0]   ext_aop_o;
  wire [ENGINES*64-1:0]  ext_sdata_o, ext_cmp_o;
  wire [ENGINES*64-1:0]  ext_rdata_i;
  wire [ENGINES-1:0]     ext_rd_fault_i, ext_wr_fault_i;
  // helper memory port (the units read a map helper's key and value from
  // the calling engine's stack or packet)
  wire [ENGINES-1:0]     hmem_rd_o, hmem_ok_i;
  wire [ENGINES*64-1:0]  hmem_addr_o, hmem_rdata_i;
  wire [ENGINES*4-1:0]   hmem_n_o, hmem_wn_o;
  wire [ENGINES-1:0]     hmem_wr_o;
  wire [ENGINES*64-1:0]  hmem_waddr_o, hmem_wdata_o;
  wire [ENGINES-1:0]     pkt_start_o;
  wire [ENGINES*32-1:0]  mapwait_i;
  wire                   mreg_wr_o, mreg_rd_o, mreg_err_i;
  wire [11:0]            mreg_addr_o;
  wire [31:0]            mreg_wdata_o, mreg_rdata_i;

  localparam [2:0] O_PORT = 3'd0, O_FLOOD = 3'd1, O_HOST = 3'd2, O_DROP = 3'd3, O_ABORT = 3'd4,
                   O_REDIR = 3'd5;
  // Seam with ebpf_units for the XDP ABI: the running packet's received
  // length (its xdp_md at the start), each engine's xdp_md.data/data_end
  // (the frame the egress sends) and redirect target.
  wire                   abi;        // ABIMODE: 0 SUME, 1 XDP
  wire [ENGINES*16-1:0]  run_len;
  wire [ENGINES*32-1:0]  ctx_data, ctx_end;
  wire [ENGINES-1:0]     redir_v;
  wire [ENGINES-1:0]     redir_bc;
  wire [ENGINES*32-1:0]  redir_port;
  wire [ENGINES-1:0]     eng_busy;   // packets queued, running or held
  wire [ENGINES*PKT_AW-1:0] eg_off;
  wire [ENGINES*16-1:0]  eg_xlen;
  // FIFO_MD words before the frame: the SUME header, or the XDP headroom.
  wire [FIFO_AW:0]       hdrw = abi ? XDP_HEADROOM[PKT_AW:5] : {{FIFO_AW{1'b0}}, 1'b1};
  localparam [63:0] NS_PER_SEC = 64'd1000000000;

  // ------------------------------------------------------------------
  // Timer. Reset leaves the data plane in a setup clock numbered -1 (all
  // ones): clock 0 is the first after the first edge, so a frame whose first
  // beat comes in the setup clock is the model's rx before step 0. sec_n /
  // nsec_n hold the time of the next clock, the receive timestamp of a frame
  // starting in this one (the model's now_ns between the two steps).
  // ------------------------------------------------------------------
  reg  [63:0] cycle_q;
  reg  [31:0] sec_n, nsec_n;
  wire [31:0] nsec_add = nsec_n + NS_PER_CLOCK;
  wire        sec_wrap = {32'd0, nsec_add} >= NS_PER_SEC;
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      cycle_q <= {64{1'b1}}; sec_n <= 32'd0; nsec_n <= 32'd0;
    end else begin
      cycle_q <= cycle_q + 64'd1;
      nsec_n <= sec_wrap ? nsec_add - NS_PER_SEC[31:0] : nsec_add;
      sec_n <= sec_n + {31'd0, sec_wrap};
    end
  end
  assign cycle_o = cycle_q;

  // ------------------------------------------------------------------
  // Per-engine wires between the engine blocks, the demux and the regs
  // ------------------------------------------------------------------
  wire [ENGINES*(FIFO_AW+1)-1:0] free_words;   // FIFO_MD words free after this clock's verdict
  wire [ENGINES-1:0]    slots_ok;     // fewer than FIFO_MAX_PACKETS queued after it
  wire [ENGINES*FIFO_AW-1:0] tail_word;    // ring word the next packet starts at
  wire [ENGINES-1:0]    verdict;
  wire [ENGINES-1:0]    running;
  wire [ENGINES-1:0]    imem_active, imem_refused, idle_busy;
  reg  [ENGINES-1:0]    push;
  reg  [ENGINES*16-1:0] push_len;
  reg  [ENGINES-1:0]    sw_en;
  reg  [ENGINES*FIFO_AW-1:0] sw_idx;
  reg  [ENGINES*256-1:0] sw_data;

  // Egress: each engine's oldest retired packet, the FIFO_MD reads, releases.
  wire [ENGINES-1:0]     eg_avail, eg_bank, eg_rel;
  wire [ENGINES*FIFO_AW-1:0] eg_start;
  wire [ENGINES*16-1:0]  eg_len, eg_mdlen;
  wire [ENGINES*3-1:0]   eg_kind;
  wire [ENGINES*32-1:0]  eg_port;
  wire [ENGINES*256-1:0] eg_data;
  wire [PKT_AW-1:0]      eg_addr;
  wire [FIFO_AW-1:0]     eg_hdr;
  wire [3:0]             outarb_state;

  wire        imem_wr, imem_flip;
  wire [11:0] imem_addr;
  wire [63:0] imem_data;
  wire [31:0] imem_len;
  wire [63:0] bank_budget;

  wire [ENGINES*64-1:0] c_r0;
  wire [ENGINES*32-1:0] c_in, c_out, c_drop, c_faults, c_busy, c_stall, c_fpc, c_faddr, c_fcause;

  // ------------------------------------------------------------------
  // Ingress: per-port frame state and the demux
  // ------------------------------------------------------------------
  reg  [3:0]  st_act_q, st_drop_q;
  reg  [3:0]  st_eng_q [0:3];
  reg  [FIFO_AW-1:0] st_word_q [0:3];
  reg  [11:0] st_left_q [0:3];
  reg  [3:0]  rr_q [0:3];
  reg  [3:0]  st_act_d, st_drop_d;
  reg  [3:0]  st_eng_d [0:3];
  reg  [FIFO_AW-1:0] st_word_d [0:3];
  reg  [11:0] st_left_d [0:3];
  reg  [3:0]  rr_d [0:3];
  reg  [31:0] prx_q [0:3], prxdrop_q [0:3], ptx_q [0:3];

  integer p, k, e;
  reg        found;
  reg [4:0]  mine, m, ce;
  reg [ENGINES-1:0] slots_sh;
  reg [15:0] flen;
  reg [11:0] fwords;
  reg [255:0] beat [0:3];
  // Per port: the engine a beat goes to this clock, and what it does there.
  reg [3:0]  sel_v, sel_push;
  reg [4:0]  sel_eng [0:3];
  reg [FIFO_AW-1:0] sel_idx [0:3];
  reg [15:0] sel_len [0:3];

  always @* begin
    rx_acc_o = 4'd0; rx_drop_o = 4'd0; rx_eng_o = 16'd0;
    found = 1'b0; mine = 5'd0; m = 5'd0; ce = 5'd0; flen = 16'd0; fwords = 12'd0;
    slots_sh = {ENGINES{1'b0}};
    sel_v = 4'd0; sel_push = 4'd0;
    for (p = 0; p < 4; p = p + 1) begin
      st_act_d[p] = st_act_q[p]; st_drop_d[p] = st_drop_q[p];
      st_eng_d[p] = st_eng_q[p]; st_word_d[p] = st_word_q[p]; st_left_d[p] = st_left_q[p];
      rr_d[p] = rr_q[p];
      sel_eng[p] = 5'd0; sel_idx[p] = {FIFO_AW{1'b0}}; sel_len[p] = 16'd0;
      for (k = 0; k < 32; k = k + 1)
        beat[p][8*k +: 8] = s_axis_tkeep_i[32*p + k] ? s_axis_tdata_i[256*p + 8*k +: 8] : 8'd0;
      if (s_axis_tvalid_i[p]) begin
        if (!st_act_q[p]) begin
          // First beat: the receive decision.
          flen = s_axis_tuser_i[128*p +: 16];
          fwords = {1'b0, flen[15:5]} + {11'd0, |flen[4:0]} + {{(11-FIFO_AW){1'b0}}, hdrw};
          mine = (ENGINES[4:0] + 5'd3 - p[4:0]) >> 2;
          found = 1'b0;
          for (k = 0; k < 4; k = k + 1) begin
            if (!found && k[4:0] < mine) begin
              m = ({1'b0, rr_q[p]} + k[4:0]) % mine;
              ce = p[4:0] + 5'd4 * m;
              slots_sh = slots_ok >> ce;
              if (fwords <= FIFO_WORDS[11:0] && fwords[FIFO_AW:0] <= free_words[ce*(FIFO_AW+1) +: FIFO_AW+1] &&
                  slots_sh[0]) begin
                found = 1'b1;
                m = ({1'b0, rr_q[p]} + k[4:0] + 5'd1) % mine;
                rr_d[p] = m[3:0];
                sel_push[p] = 1'b1;
                sel_eng[p] = ce;
                sel_len[p] = flen;
                rx_eng_o[4*p +: 4] = ce[3:0];
                sel_v[p] = fwords > {{(11-FIFO_AW){1'b0}}, hdrw};
                sel_idx[p] = tail_word[ce*FIFO_AW +: FIFO_AW] + hdrw[FIFO_AW-1:0];
                st_eng_d[p] = ce[3:0];
                st_word_d[p] = tail_word[ce*FIFO_AW +: FIFO_AW] + hdrw[FIFO_AW-1:0] + 1'b1;
                st_left_d[p] = fwords - {{(11-FIFO_AW){1'b0}}, hdrw} - 12'd1;
              end
            end
          end
          rx_acc_o[p] = found;
          rx_drop_o[p] = !found;
          st_drop_d[p] = !found;
          st_act_d[p] = !s_axis_tlast_i[p];
        end else begin
          if (!st_drop_q[p] && st_left_q[p] != 12'd0) begin
            sel_v[p] = 1'b1;
            sel_eng[p] = {1'b0, st_eng_q[p]};
            sel_idx[p] = st_word_q[p];
            st_word_d[p] = st_word_q[p] + 1'b1;
            st_left_d[p] = st_left_q[p] - 12'd1;
          end
          if (s_axis_tlast_i[p]) st_act_d[p] = 1'b0;
        end
      end
    end
  end

  // What each engine gets from its port this clock.
  always @* begin
    push = {ENGINES{1'b0}};
    push_len = {ENGINES*16{1'b0}};
    sw_en = {ENGINES{1'b0}};
    sw_idx = {ENGINES*FIFO_AW{1'b0}};
    sw_data = {ENGINES*256{1'b0}};
    for (e = 0; e < ENGINES; e = e + 1) begin
      if (sel_push[e % 4] && sel_eng[e % 4] == e[4:0]) begin
        push[e] = 1'b1;
        push_len[e*16 +: 16] = sel_len[e % 4];
      end
      if (sel_v[e % 4] && sel_eng[e % 4] == e[4:0]) begin
        sw_en[e] = 1'b1;
        sw_idx[e*FIFO_AW +: FIFO_AW] = sel_idx[e % 4];
        sw_data[e*256 +: 256] = beat[e % 4];
      end
    end
  end

  assign s_axis_tready_o = {4{rst_ni}};
  // Only bit 0 of the shifted slot flags is looked at.
  wire unused_dp = &{1'b0, slots_sh};

  // Port tx counts of this clock's verdicts.
  reg [4:0] tx_add [0:3];
  always @* begin
    for (p = 0; p < 4; p = p + 1) begin
      tx_add[p] = 5'd0;
      for (e = 0; e < ENGINES; e = e + 1) begin
        if (out_v_o[e] && (out_kind_o[3*e +: 3] == O_PORT || out_kind_o[3*e +: 3] == O_REDIR) &&
            out_port_o[32*e +: 32] == p)
          tx_add[p] = tx_add[p] + 5'd1;
        if (out_v_o[e] && out_kind_o[3*e +: 3] == O_FLOOD && (e % 4) != p)
          tx_add[p] = tx_add[p] + 5'd1;
      end
    end
  end

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      for (p = 0; p < 4; p = p + 1) begin
        st_act_q[p] <= 1'b0; st_drop_q[p] <= 1'b0; st_eng_q[p] <= 4'd0;
        st_word_q[p] <= {FIFO_AW{1'b0}}; st_left_q[p] <= 12'd0; rr_q[p] <= 4'd0;
        prx_q[p] <= 32'd0; prxdrop_q[p] <= 32'd0; ptx_q[p] <= 32'd0;
      end
    end else begin
      for (p = 0; p < 4; p = p + 1) begin
        st_act_q[p] <= st_act_d[p]; st_drop_q[p] <= st_drop_d[p]; st_eng_q[p] <= st_eng_d[p];
        st_word_q[p] <= st_word_d[p]; st_left_q[p] <= st_left_d[p]; rr_q[p] <= rr_d[p];
        prx_q[p] <= prx_q[p] + {31'd0, rx_acc_o[p] | rx_drop_o[p]};
        prxdrop_q[p] <= prxdrop_q[p] + {31'd0, rx_drop_o[p]};
        ptx_q[p] <= ptx_q[p] + {27'd0, tx_add[p]};
      end
    end
  end

  // ------------------------------------------------------------------
  // Engines
  // ------------------------------------------------------------------
  genvar g;
  generate
    for (g = 0; g < ENGINES; g = g + 1) begin : g_eng
      // Packet queue (FIFO_MAX_PACKETS slots; 6-bit pointers, 5-bit index).
      reg  [FIFO_AW-1:0] qstart [0:31];
      reg  [FIFO_AW:0] qwords [0:31];
      reg  [15:0] qlen [0:31];
      reg  [31:0] qsec [0:31];
      reg  [31:0] qnsec [0:31];
      wire        e_done, e_fault, e_retire, e_running;
      wire [63:0] e_r0, e_maddr;
      wire [31:0] e_rpc;
      wire [2:0]  e_fcode;
      wire [3:0]  e_stall;
      wire        e_bank;
      // The budget of the bank the engine runs on (0: the default).
      wire [31:0] e_bbud = e_bank ? bank_budget[63:32] : bank_budget[31:0];
      wire [63:0] e_budget = e_bbud != 32'd0 ? {32'd0, e_bbud} : budget_i;
      wire [2:0]  kind;
      reg  [2:0]  qkind [0:31];
      reg  [PKT_AW-1:0] qoff [0:31];     // XDP: the frame's byte offset in its slot
      reg  [15:0] qxlen [0:31];    // XDP: its length (data_end - data)
      reg  [31:0] qport [0:31];
      reg         qbank [0:31];
      reg  [31:0] qdrop;
      reg  [5:0]  qhead_q, qtail_q, pend_q, qrel_q;
      reg  [FIFO_AW:0] used_q, arr_q;   // used_q: words of queued and running slots
      reg  [FIFO_AW-1:0] tail_q;
      reg  [63:0] acc_q;
      reg         dsc_q;
      reg  [255:0] shadow [0:FIFO_WORDS-1];

      // The verdict's output port and, XDP, the frame's place (assigned
      // with the verdict logic below; declared here, before the queue's
      // registers use them).
      wire [31:0] vport, x_off;
      wire [15:0] x_len;
      wire        vd = verdict[g];
      // The verdict sends the packet nowhere (drop, abort).
      wire        vd_drop = vd && (kind == O_DROP || kind == O_ABORT);
      wire [15:0] plen = push_len[g*16 +: 16];
      wire [FIFO_AW:0] pwords = {1'b0, plen[PKT_AW-1:5]} + {{FIFO_AW{1'b0}}, |plen[4:0]} + hdrw;
      wire [4:0]  hidx = qhead_q[4:0];
      wire [4:0]  ridx = qrel_q[4:0];
      // Releases: the oldest retired slot (a drop waiting its turn, or a
      // packet whose last beat the egress takes now), and a drop at its
      // verdict when no retired slot is left ahead of it.
      wire        retired = qrel_q != qhead_q;
      // The running (head) packet has all its words: the slot receiving
      // words is past it (vm::pipeline::FifoMd::head_complete counts them).
      wire [5:0]  pend_off = pend_q - qrel_q;
      wire [5:0]  head_off = qhead_q - qrel_q;
      wire        head_complete = pend_off > head_off;
      wire        front_drop = retired && qdrop[ridx];
      wire        rel_now = front_drop || eg_rel[g];
      wire [5:0]  qrel_a = qrel_q + {5'd0, rel_now};
      wire        imm = vd_drop && qrel_a == qhead_q;
      wire [5:0]  qrel1 = qrel_a + {5'd0, imm};
      // Only the queued and running slots reserve words: a new slot may be
      // given words a retired one holds; each arrives once released.
      wire [FIFO_AW:0] used1 = used_q - (vd ? qwords[hidx] : {(FIFO_AW+1){1'b0}});
      wire [5:0]  cnt1 = qtail_q - qrel1;
      wire [5:0]  qhead1 = qhead_q + {5'd0, vd};
      wire [5:0]  qtail1 = qtail_q + {5'd0, push[g]};
      // A packet freed at its verdict stops receiving; a retired one goes on.
      // So does a drop freed in its turn (front_drop) before all its words
      // came: the rest of its frame is not written (the model's
      // FifoMd::release of the slot still receiving); then possibly the
      // drop freed at its verdict, the slot after it.
      wire        pop_rel = front_drop && pend_q == qrel_q;
      wire [5:0]  pend_a = pend_q + {5'd0, pop_rel};
      wire        pop_imm = imm && pend_a == qhead_q;
      wire [5:0]  pend1 = pend_a + {5'd0, pop_imm};
      wire [FIFO_AW:0] arr1 = pop_rel || pop_imm ? {(FIFO_AW+1){1'b0}} : arr_q;
      wire        fresh = push[g] && pend1 == qtail_q;
      wire [63:0] acc1 = fresh ? WORD_COST : acc_q;
      wire        pending = pend1 != qtail1;
      // The pending slot's fields (it may be the packet pushed now).
      wire        pnew = pend1 == qtail_q;
      wire [FIFO_AW-1:0] s_start = pnew ? tail_q : qstart[pend1[4:0]];
      wire [FIFO_AW:0] s_words = pnew ? pwords : qwords[pend1[4:0]];
      wire [15:0] s_len = pnew ? plen : qlen[pend1[4:0]];
      wire [31:0] s_sec = pnew ? sec_n : qsec[pend1[4:0]];
      wire [31:0] s_nsec = pnew ? nsec_n : qnsec[pend1[4:0]];
      // The header words (SUME header, XDP headroom) are not on the wire:
      // they cost no credit.
      wire        hdr_word = arr1 < hdrw;
      wire [FIFO_WORDS-1:0] e_valid;
      reg [FIFO_WORDS-1:0] xfree;   // words freed this clock (the block below)
      // The word's ring slot is free: its valid bit is clear. The bits are
      // registers, so a word released in a clock is free from the next (the
      // model's FifoMd keeps the words released since the last port clock
      // busy).
      wire        a_free = !e_valid[a_word];
      wire        arrive = pending && (hdr_word || acc1 >= WORD_COST) && a_free;
      wire [FIFO_AW-1:0] a_word = s_start + arr1[FIFO_AW-1:0];
      localparam [7:0] IN_PORT = g % 4;
      wire [255:0] md = ({248'd0, IN_PORT} << (8 * MD_IN_PORT)) |
                        ({224'd0, s_sec} << (8 * MD_TS_SEC)) |
                        ({224'd0, s_nsec} << (8 * MD_TS_NSEC)) |
                        ({240'd0, s_len} << (8 * MD_LENGTH));
      wire [255:0] a_data = !hdr_word ? shadow[a_word] : abi ? 256'd0 : md;
      wire [FIFO_AW:0] arr2 = arrive ? arr1 + 1'b1 : arr1;
      wire        slot_done = arrive && arr2 == s_words;
      // The head descriptor for the engine (the head after this clock).
      wire        hnew = qhead1 == qtail_q;
      wire        give = (!dsc_q || vd) && qhead1 != qtail1;
      wire [FIFO_AW-1:0] h_start = hnew ? tail_q : qstart[qhead1[4:0]];
      wire [15:0] h_len = hnew ? plen : qlen[qhead1[4:0]];
      wire [PKT_AW:0] h_win = h_len[PKT_AW:0] + (abi ? XDP_HEADROOM[PKT_AW:0] : SUME_MD_SIZE[PKT_AW:0]);

      // Words freed this clock (FIFO_MD valid bits): xfree, declared above.
      reg [FIFO_AW-1:0] rrel, rimm;
      integer w;
      always @* begin
        for (w = 0; w < FIFO_WORDS; w = w + 1) begin
          rrel = w[FIFO_AW-1:0] - qstart[ridx];
          rimm = w[FIFO_AW-1:0] - qstart[hidx];
          xfree[w] = (rel_now && {1'b0, rrel} < qwords[ridx]) ||
                     (imm && {1'b0, rimm} < qwords[hidx]);
        end
      end

      // Words of the head packet (the engine's) not arrived for it yet: a
      // valid bit there is an older retired packet's, which still holds the
      // word (vm::pipeline::FifoMd::valid goes by the slot's arrivals). The
      // head has all its words when the slot receiving is a later one, none
      // when it is an earlier one, arr_q when it is the head.
      wire [5:0] d_pend = pend_q - qrel_q;
      wire [5:0] d_head = qhead_q - qrel_q;
      wire [FIFO_AW:0] h_arr = d_pend > d_head ? qwords[hidx] :
                         d_pend == d_head ? arr_q : {(FIFO_AW+1){1'b0}};
      reg [FIFO_WORDS-1:0] held;
      reg [FIFO_AW-1:0] hrel;
      integer hw;
      always @* begin
        for (hw = 0; hw < FIFO_WORDS; hw = hw + 1) begin
          hrel = hw[FIFO_AW-1:0] - qstart[hidx];
          held[hw] = qhead_q != qtail_q && {1'b0, hrel} >= h_arr &&
                    {1'b0, hrel} < qwords[hidx];
        end
      end

      // The egress offer: the oldest retired packet, one to send, ready:
      // all its words in (the slot still receiving is the pending one), or
      // the ones to come each in time for its beat: with A credits, B beats
      // (the received frame's words) and R words to come, A + (B-2) x
      // PORT_RATE >= R x WORD_COST (vm::pipeline::FifoMd::retired_front_ready).
      wire [FIFO_AW:0] r_left = qwords[ridx] - arr_q;
      wire [FIFO_AW:0] r_beats = qwords[ridx] - hdrw;
      wire [FIFO_AW:0] r_b2 = r_beats - {{(FIFO_AW-1){1'b0}}, 2'd2};
      wire [63:0] r_have = acc_q + {{(63-FIFO_AW){1'b0}}, r_b2} * PORT_RATE;
      wire [63:0] r_need = {{(63-FIFO_AW){1'b0}}, r_left} * WORD_COST;
      wire        r_ready = pend_q != qrel_q ||
                            (arr_q > hdrw && r_beats >= {{(FIFO_AW-1){1'b0}}, 2'd2} && r_have >= r_need);
      assign eg_avail[g] = retired && !qdrop[ridx] && r_ready;
      assign eg_start[g*FIFO_AW +: FIFO_AW] = qstart[ridx];
      assign eg_len[g*16 +: 16] = qlen[ridx];
      assign eg_kind[g*3 +: 3] = qkind[ridx];
      assign eg_port[g*32 +: 32] = qport[ridx];
      assign eg_bank[g] = qbank[ridx];
      assign eg_off[g*PKT_AW +: PKT_AW] = qoff[ridx];
      assign eg_xlen[g*16 +: 16] = qxlen[ridx];
      assign eng_busy[g] = qtail_q != qrel_q;
      // The running packet's received length (its slot is the head).
      assign run_len[g*16 +: 16] = qlen[hidx];

      assign free_words[g*(FIFO_AW+1) +: FIFO_AW+1] = FIFO_WORDS[FIFO_AW:0] - used1;
      assign slots_ok[g] = cnt1 < FIFO_MAX_PACKETS[5:0];
      assign tail_word[g*FIFO_AW +: FIFO_AW] = tail_q;

      always @(posedge clk_i) begin
        if (sw_en[g]) shadow[sw_idx[g*FIFO_AW +: FIFO_AW]] <= sw_data[g*256 +: 256];
        if (push[g]) begin
          qstart[qtail_q[4:0]] <= tail_q;
          qwords[qtail_q[4:0]] <= pwords;
          qlen[qtail_q[4:0]] <= plen;
          qsec[qtail_q[4:0]] <= sec_n;
          qnsec[qtail_q[4:0]] <= nsec_n;
        end
        if (vd) begin
          qkind[hidx] <= kind;
          qport[hidx] <= vport;
          qbank[hidx] <= e_bank;
          qoff[hidx] <= x_off[PKT_AW-1:0];
          qxlen[hidx] <= x_len;
        end
      end

      always @(posedge clk_i) begin
        if (!rst_ni) begin
          qhead_q <= 6'd0; qtail_q <= 6'd0; pend_q <= 6'd0;
          used_q <= {(FIFO_AW+1){1'b0}}; arr_q <= {(FIFO_AW+1){1'b0}};
          tail_q <= {FIFO_AW{1'b0}}; acc_q <= 64'd0; dsc_q <= 1'b0; qrel_q <= 6'd0; qdrop <= 32'd0;
        end else begin
          qhead_q <= qhead1;
          qrel_q <= qrel1;
          if (vd) qdrop[hidx] <= vd_drop;
          qtail_q <= qtail1;
          used_q <= used1 + (push[g] ? pwords : {(FIFO_AW+1){1'b0}});
          tail_q <= tail_q + (push[g] ? pwords[FIFO_AW-1:0] : {FIFO_AW{1'b0}});
          pend_q <= slot_done ? pend1 + 6'd1 : pend1;
          arr_q <= slot_done ? {(FIFO_AW+1){1'b0}} : arr2;
          acc_q <= !pending ? acc1 :
                   (arrive && !hdr_word ? acc1 - WORD_COST + PORT_RATE : acc1 + PORT_RATE);
          dsc_q <= give || (dsc_q && !vd);
        end
      end

      // The core.
      // Debug record signals (see the dbg_* ports).
      wire        d_reg_we, d_mem_v, d_mem_rd, d_mem_wr, d_flush;
      wire [3:0]  d_reg_idx;
      wire [63:0] d_reg_val, d_mem_rdata, d_mem_wdata;
      wire [1:0]  d_mem_width, d_fwd_a, d_fwd_b;
      wire [4:0]  d_stage_v;
      wire [5*32-1:0] d_pc, d_seq;
      ebpf_engine #(.HOLD(1), .LEN_LANE(MD_LENGTH)) u_eng (
        .clk_i(clk_i), .rst_ni(rst_ni),
        .budget_i(e_budget), .max_frames_i(MAX_FRAMES[7:0]),
        .imem_wr_i(imem_wr), .imem_wr_addr_i(imem_addr), .imem_wr_data_i(imem_data),
        .imem_len_wr_i(imem_flip), .imem_len_i(imem_len), .imem_swap_i(imem_flip),
        .imem_active_o(imem_active[g]), .imem_refused_o(imem_refused[g]),
        .pkt_push_i(give), .pkt_start_i(h_start), .pkt_len_i(h_win),
        .pkt_writable_i(1'b1), .stack_en_i(1'b1),
        .pkt_arg1_i(abi ? CTX_BASE : PKT_BASE), .pkt_arg2_i(64'd0), .pkt_arg3_i(64'd0),
        .pkt_arg4_i(64'd0), .pkt_arg5_i(64'd0),
        /* verilator lint_off PINCONNECTEMPTY */
        .pkt_pending_o(),
        /* verilator lint_on PINCONNECTEMPTY */
        .fifo_wr_i(arrive), .fifo_wr_word_i(a_word), .fifo_wr_data_i(a_data),
        .fifo_xfree_i(xfree), .fifo_held_i(held), .fifo_eg_addr_i(eg_addr), .fifo_eg_data_o(eg_data[g*256 +: 256]),
        .fifo_eg_hdr_i(eg_hdr), .fifo_eg_len_o(eg_mdlen[g*16 +: 16]), .fifo_valid_o(e_valid),
        .pkt_complete_i(head_complete),
        .ext_rd_o(ext_rd_o[g]), .ext_wr_o(ext_wr_o[g]), .ext_addr_o(ext_addr_o[g*64 +: 64]),
        .ext_width_o(ext_width_o[g*2 +: 2]), .ext_wdata_o(ext_wdata_o[g*64 +: 64]),
        .ext_st_o(ext_st_o[g]), .ext_at_o(ext_at_o[g]), .ext_aop_o(ext_aop_o[g*3 +: 3]),
        .ext_sdata_o(ext_sdata_o[g*64 +: 64]), .ext_cmp_o(ext_cmp_o[g*64 +: 64]),
        .ext_rdata_i(ext_rdata_i[g*64 +: 64]), .ext_rd_fault_i(ext_rd_fault_i[g]),
        .ext_wr_fault_i(ext_wr_fault_i[g]),
        .helper_req_o(helper_req_o[g]), .helper_id_o(helper_id_o[g*32 +: 32]),
        .helper_arg1_o(helper_arg1_o[g*64 +: 64]), .helper_arg2_o(helper_arg2_o[g*64 +: 64]),
        .helper_arg3_o(helper_arg3_o[g*64 +: 64]), .helper_arg4_o(helper_arg4_o[g*64 +: 64]),
        .helper_arg5_o(helper_arg5_o[g*64 +: 64]),
        .helper_ack_i(helper_ack_i[g]), .helper_ret_i(helper_ret_i[g*64 +: 64]),
        .helper_unwind_i(helper_unwind_i[g]), .helper_fault_i(helper_fault_i[g]),
        .helper_fault_code_i(helper_fault_code_i[g*3 +: 3]),
        .hmem_rd_i(hmem_rd_o[g]), .hmem_addr_i(hmem_addr_o[g*64 +: 64]),
        .hmem_n_i(hmem_n_o[g*4 +: 4]), .hmem_rdata_o(hmem_rdata_i[g*64 +: 64]),
        .hmem_ok_o(hmem_ok_i[g]), .hmem_wr_i(hmem_wr_o[g]),
        .hmem_waddr_i(hmem_waddr_o[g*64 +: 64]), .hmem_wn_i(hmem_wn_o[g*4 +: 4]),
        .hmem_wdata_i(hmem_wdata_o[g*64 +: 64]),
        .dbg_retire_o(e_retire), .dbg_retire_pc_o(e_rpc), .dbg_reg_we_o(d_reg_we), .dbg_reg_idx_o(d_reg_idx),
        .dbg_reg_val_o(d_reg_val), .dbg_mem_v_o(d_mem_v), .dbg_mem_addr_o(e_maddr), .dbg_mem_width_o(d_mem_width),
        .dbg_mem_rd_o(d_mem_rd), .dbg_mem_rdata_o(d_mem_rdata), .dbg_mem_wr_o(d_mem_wr), .dbg_mem_wdata_o(d_mem_wdata),
        .dbg_fault_o(e_fault), .dbg_fault_code_o(e_fcode), .dbg_done_o(e_done), .dbg_r0_o(e_r0),
        .dbg_running_o(e_running), .dbg_stage_v_o(d_stage_v), .dbg_pc_if_o(d_pc[0*32 +: 32]), .dbg_pc_id_o(d_pc[1*32 +: 32]),
        .dbg_pc_ex_o(d_pc[2*32 +: 32]), .dbg_pc_mem_o(d_pc[3*32 +: 32]), .dbg_pc_wb_o(d_pc[4*32 +: 32]), .dbg_seq_if_o(d_seq[0*32 +: 32]), .dbg_seq_id_o(d_seq[1*32 +: 32]),
        .dbg_seq_ex_o(d_seq[2*32 +: 32]), .dbg_seq_mem_o(d_seq[3*32 +: 32]), .dbg_seq_wb_o(d_seq[4*32 +: 32]), .dbg_stall_o(e_stall),
        .dbg_flush_o(d_flush), .dbg_fwd_a_o(d_fwd_a), .dbg_fwd_b_o(d_fwd_b), .dbg_bank_o(e_bank)
      );

      // A packet starts: running now, not running at the start of the clock.
      reg run_prev_q;
      always @(posedge clk_i) begin
        if (!rst_ni) run_prev_q <= 1'b0;
        else run_prev_q <= e_running && !e_done;
      end
      assign pkt_start_o[g] = e_running && !run_prev_q;
      assign verdict[g] = e_done;
      assign running[g] = e_running;
      assign idle_busy[g] = e_running && e_bank != imem_active[g];

      // The verdict as the ABI reads r0 (vm::abi::Abi::verdict).
      wire [2:0]  sume_kind = e_r0 == SUME_DROP ? O_DROP :
                              e_r0 == SUME_CONTROLLER ? O_HOST :
                              e_r0 == SUME_FLOOD ? O_FLOOD :
                              e_r0 < SUME_DROP ? O_PORT : O_ABORT;
      wire [31:0] xr = e_r0[31:0];
      wire        rv = redir_v[g];
      // BPF_F_BROADCAST's target floods (every port but the input one).
      wire [2:0]  xdp_kind = xr == XDP_DROP ? O_DROP :
                             xr == XDP_PASS ? O_HOST :
                             xr == XDP_TX ? O_PORT :
                             xr == XDP_REDIRECT && rv ? (redir_bc[g] ? O_FLOOD : O_REDIR) : O_ABORT;
      assign kind = e_fault ? O_ABORT : abi ? xdp_kind : sume_kind;
      // The port: SUME r0; XDP_TX the input port; a redirect its target.
      assign vport = !abi ? e_r0[31:0] :
                          xr == XDP_TX ? {24'd0, IN_PORT} : redir_port[g*32 +: 32];
      // XDP: the frame the egress sends, data..data_end of xdp_md (empty
      // when they leave the window; vm::device::frame_of).
      assign x_off = ctx_data[g*32 +: 32] - PKT_BASE[31:0];
      wire [31:0] x_endo = ctx_end[g*32 +: 32] - PKT_BASE[31:0];
      wire [31:0] x_win = {16'd0, qlen[hidx]} + XDP_HEADROOM;
      wire        x_ok = x_off <= x_endo && x_endo <= x_win;
      assign x_len = x_ok ? x_endo[15:0] - x_off[15:0] : 16'd0;
      assign out_v_o[g] = e_done;
      assign out_kind_o[g*3 +: 3] = kind;
      assign out_port_o[g*32 +: 32] = vport;
      assign out_bank_o[g] = e_bank;

      // Counters.
      reg [31:0] n_in, n_out, n_drop, n_faults, n_busy, n_stall, f_pc, f_addr, f_cause;
      reg [63:0] last_r0;
      always @(posedge clk_i) begin
        if (!rst_ni) begin
          n_in <= 32'd0; n_out <= 32'd0; n_drop <= 32'd0; n_faults <= 32'd0; n_busy <= 32'd0;
          n_stall <= 32'd0; f_pc <= 32'd0; f_addr <= 32'd0; f_cause <= 32'd0; last_r0 <= 64'd0;
        end else begin
          if (push[g]) n_in <= n_in + 32'd1;
          if (e_running) n_busy <= n_busy + 32'd1;
          if (e_running && e_stall != STALL_NONE && e_stall != STALL_IDLE)
            n_stall <= n_stall + 32'd1;
          if (e_done) begin
            last_r0 <= e_fault ? 64'd0 : e_r0;
            if (kind == O_PORT || kind == O_FLOOD || kind == O_HOST || kind == O_REDIR)
              n_out <= n_out + 32'd1;
            if (kind == O_DROP) n_drop <= n_drop + 32'd1;
            if (e_fault) begin
              n_faults <= n_faults + 32'd1;
              f_pc <= e_rpc;
              f_addr <= e_fcode == FAULT_MEM ? e_maddr[31:0] : 32'd0;
              f_cause <= {29'd0, e_fcode};
            end
          end
        end
      end
      assign c_r0[g*64 +: 64] = last_r0;
      assign c_in[g*32 +: 32] = n_in;
      assign c_out[g*32 +: 32] = n_out;
      assign c_drop[g*32 +: 32] = n_drop;
      assign c_faults[g*32 +: 32] = n_faults;
      assign c_busy[g*32 +: 32] = n_busy;
      assign c_stall[g*32 +: 32] = n_stall;
      assign c_fpc[g*32 +: 32] = f_pc;
      assign c_faddr[g*32 +: 32] = f_addr;
      assign c_fcause[g*32 +: 32] = f_cause;

      // Unused engine outputs: the retire strobe (verdicts come with
      // dbg_done_o), the upper address bits (FAULTADDR is 32 bits), length
      // bits above an accepted frame's (at most PKT_WINDOW - SUME_MD_SIZE).
      wire unused_ok = &{1'b0, e_retire, e_maddr[63:32], h_len[15:PKT_AW+1], plen[15:PKT_AW],
                         x_off[31:PKT_AW], x_endo[31:16]};

      // ---------------- Debug records (the dbg_* ports) ----------------
      if (DEBUG_RECORDS != 0) begin : g_dbg
        assign dbg_retire_o[g] = e_retire;
        assign dbg_retire_pc_o[g*32 +: 32] = e_rpc;
        assign dbg_reg_we_o[g] = d_reg_we;
        assign dbg_reg_idx_o[g*4 +: 4] = d_reg_idx;
        assign dbg_reg_val_o[g*64 +: 64] = d_reg_val;
        assign dbg_mem_v_o[g] = d_mem_v;
        assign dbg_mem_addr_o[g*64 +: 64] = e_maddr;
        assign dbg_mem_width_o[g*2 +: 2] = d_mem_width;
        assign dbg_mem_rd_o[g] = d_mem_rd;
        assign dbg_mem_rdata_o[g*64 +: 64] = d_mem_rdata;
        assign dbg_mem_wr_o[g] = d_mem_wr;
        assign dbg_mem_wdata_o[g*64 +: 64] = d_mem_wdata;
        assign dbg_fault_o[g] = e_fault;
        assign dbg_fault_code_o[g*3 +: 3] = e_fcode;
        assign dbg_done_o[g] = e_done;
        assign dbg_running_o[g] = e_running;
        assign dbg_stage_v_o[g*5 +: 5] = d_stage_v;
        assign dbg_pc_if_o[g*32 +: 32] = d_pc[0*32 +: 32];
        assign dbg_pc_id_o[g*32 +: 32] = d_pc[1*32 +: 32];
        assign dbg_pc_ex_o[g*32 +: 32] = d_pc[2*32 +: 32];
        assign dbg_pc_mem_o[g*32 +: 32] = d_pc[3*32 +: 32];
        assign dbg_pc_wb_o[g*32 +: 32] = d_pc[4*32 +: 32];
        assign dbg_seq_if_o[g*32 +: 32] = d_seq[0*32 +: 32];
        assign dbg_seq_id_o[g*32 +: 32] = d_seq[1*32 +: 32];
        assign dbg_seq_ex_o[g*32 +: 32] = d_seq[2*32 +: 32];
        assign dbg_seq_mem_o[g*32 +: 32] = d_seq[3*32 +: 32];
        assign dbg_seq_wb_o[g*32 +: 32] = d_seq[4*32 +: 32];
        assign dbg_stall_o[g*4 +: 4] = e_stall;
        assign dbg_flush_o[g] = d_flush;
        assign dbg_fwd_a_o[g*2 +: 2] = d_fwd_a;
        assign dbg_fwd_b_o[g*2 +: 2] = d_fwd_b;
        assign dbg_bank_o[g] = e_bank;
      end else begin : g_nodbg
        assign dbg_retire_o[g] = 1'b0;
        assign dbg_retire_pc_o[g*32 +: 32] = 32'd0;
        assign dbg_reg_we_o[g] = 1'b0;
        assign dbg_reg_idx_o[g*4 +: 4] = 4'd0;
        assign dbg_reg_val_o[g*64 +: 64] = 64'd0;
        assign dbg_mem_v_o[g] = 1'b0;
        assign dbg_mem_addr_o[g*64 +: 64] = 64'd0;
        assign dbg_mem_width_o[g*2 +: 2] = 2'd0;
        assign dbg_mem_rd_o[g] = 1'b0;
        assign dbg_mem_rdata_o[g*64 +: 64] = 64'd0;
        assign dbg_mem_wr_o[g] = 1'b0;
        assign dbg_mem_wdata_o[g*64 +: 64] = 64'd0;
        assign dbg_fault_o[g] = 1'b0;
        assign dbg_fault_code_o[g*3 +: 3] = 3'd0;
        assign dbg_done_o[g] = 1'b0;
        assign dbg_running_o[g] = 1'b0;
        assign dbg_stage_v_o[g*5 +: 5] = 5'd0;
        assign dbg_pc_if_o[g*32 +: 32] = 32'd0;
        assign dbg_pc_id_o[g*32 +: 32] = 32'd0;
        assign dbg_pc_ex_o[g*32 +: 32] = 32'd0;
        assign dbg_pc_mem_o[g*32 +: 32] = 32'd0;
        assign dbg_pc_wb_o[g*32 +: 32] = 32'd0;
        assign dbg_seq_if_o[g*32 +: 32] = 32'd0;
        assign dbg_seq_id_o[g*32 +: 32] = 32'd0;
        assign dbg_seq_ex_o[g*32 +: 32] = 32'd0;
        assign dbg_seq_mem_o[g*32 +: 32] = 32'd0;
        assign dbg_seq_wb_o[g*32 +: 32] = 32'd0;
        assign dbg_stall_o[g*4 +: 4] = 4'd0;
        assign dbg_flush_o[g] = 1'b0;
        assign dbg_fwd_a_o[g*2 +: 2] = 2'd0;
        assign dbg_fwd_b_o[g*2 +: 2] = 2'd0;
        assign dbg_bank_o[g] = 1'b0;
        // The engine's debug signals go nowhere in this configuration.
        wire unused_dbg = &{1'b0, d_reg_we, d_mem_v, d_mem_rd, d_mem_wr, d_flush, d_reg_idx,
                            d_reg_val, d_mem_rdata, d_mem_wdata, d_mem_width, d_fwd_a, d_fwd_b,
                            d_stage_v, d_pc, d_seq};
      end
    end
  endgenerate

  // ------------------------------------------------------------------
  // Registers
  // ------------------------------------------------------------------
  wire [31:0] engselect;   // ENGSELECT (the units' TRACE* registers)
  ebpf_axil_regs #(.ENGINES(ENGINES)) u_regs (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .s_axil_awaddr_i(s_axil_awaddr_i), .s_axil_awvalid_i(s_axil_awvalid_i),
    .s_axil_awready_o(s_axil_awready_o), .s_axil_wdata_i(s_axil_wdata_i),
    .s_axil_wstrb_i(s_axil_wstrb_i), .s_axil_wvalid_i(s_axil_wvalid_i),
    .s_axil_wready_o(s_axil_wready_o), .s_axil_bresp_o(s_axil_bresp_o),
    .s_axil_bvalid_o(s_axil_bvalid_o), .s_axil_bready_i(s_axil_bready_i),
    .s_axil_araddr_i(s_axil_araddr_i), .s_axil_arvalid_i(s_axil_arvalid_i),
    .s_axil_arready_o(s_axil_arready_o), .s_axil_rdata_o(s_axil_rdata_o),
    .s_axil_rresp_o(s_axil_rresp_o), .s_axil_rvalid_o(s_axil_rvalid_o),
    .s_axil_rready_i(s_axil_rready_i),
    .mreg_wr_o(mreg_wr_o), .mreg_rd_o(mreg_rd_o), .mreg_addr_o(mreg_addr_o),
    .mreg_wdata_o(mreg_wdata_o), .mreg_rdata_i(mreg_rdata_i), .mreg_err_i(mreg_err_i),
    .imem_wr_o(imem_wr), .imem_addr_o(imem_addr), .imem_data_o(imem_data),
    .imem_flip_o(imem_flip), .imem_len_o(imem_len), .imem_active_i(imem_active[0]),
    .imem_idle_busy_i(|idle_busy), .imem_refused_i(|imem_refused),
    .budget_dflt_i(budget_i), .bank_budget_o(bank_budget),
    .cycle_i(cycle_q), .eng_running_i(running), .eng_r0_i(c_r0),
    .eng_pkt_in_i(c_in), .eng_pkt_out_i(c_out), .eng_drop_i(c_drop),
    .eng_faults_i(c_faults), .eng_busy_i(c_busy), .eng_stall_i(c_stall),
    .eng_fault_pc_i(c_fpc), .eng_fault_addr_i(c_faddr), .eng_fault_cause_i(c_fcause),
    .eng_mapwait_i(mapwait_i),
    .port_rx_i({prx_q[3], prx_q[2], prx_q[1], prx_q[0]}),
    .port_rxdrop_i({prxdrop_q[3], prxdrop_q[2], prxdrop_q[1], prxdrop_q[0]}),
    .port_tx_i({ptx_q[3], ptx_q[2], ptx_q[1], ptx_q[0]}),
    .outarb_state_i(outarb_state),
    .abi_o(abi), .pkts_in_i(|eng_busy), .engselect_o(engselect)
  );

  // ------------------------------------------------------------------
  // Output arbiter and egress stream
  // ------------------------------------------------------------------
  ebpf_egress #(.ENGINES(ENGINES)) u_egress (
    .clk_i(clk_i), .rst_ni(rst_ni),
    .avail_i(eg_avail), .start_i(eg_start), .len_i(eg_len), .md_len_i(eg_mdlen),
    .xdp_i(abi), .off_i(eg_off), .xlen_i(eg_xlen),
    .kind_i(eg_kind), .port_i(eg_port), .bank_i(eg_bank),
    .addr_o(eg_addr), .hdr_o(eg_hdr), .data_i(eg_data), .rel_o(eg_rel),
    .m_axis_tdata_o(m_axis_tdata_o), .m_axis_tkeep_o(m_axis_tkeep_o),
    .m_axis_tuser_o(m_axis_tuser_o), .m_axis_tlast_o(m_axis_tlast_o),
    .m_axis_tvalid_o(m_axis_tvalid_o), .m_axis_tready_i(m_axis_tready_i),
    .state_o(outarb_state)
  );

  // COPROCARBFSMSTATE and the TRACE* registers are read over mreg_*
  // (ebpf_units answers them there, the latter for ENGSELECT's engine).
  wire [3:0] arb_state;
  ebpf_units #(.ENGINES(ENGINES)) u_units (
    .clk_i(clk_i), .rst_ni(rst_ni), .cycle_i(cycle_q), .pkt_start_i(pkt_start_o),
    .xdp_i(abi), .pkt_len_i(run_len), .ctx_data_o(ctx_data), .ctx_end_o(ctx_end),
    .redir_v_o(redir_v), .redir_bc_o(redir_bc), .redir_port_o(redir_port),
    .helper_req_i(helper_req_o), .helper_id_i(helper_id_o),
    .helper_arg1_i(helper_arg1_o), .helper_arg2_i(helper_arg2_o),
    .helper_arg3_i(helper_arg3_o), .helper_arg4_i(helper_arg4_o),
    .helper_arg5_i(helper_arg5_o),
    .helper_ack_o(helper_ack_i), .helper_ret_o(helper_ret_i),
    .helper_unwind_o(helper_unwind_i), .helper_fault_o(helper_fault_i),
    .helper_fault_code_o(helper_fault_code_i),
    .ext_rd_i(ext_rd_o), .ext_wr_i(ext_wr_o), .ext_addr_i(ext_addr_o),
    .ext_width_i(ext_width_o), .ext_wdata_i(ext_wdata_o),
    .ext_st_i(ext_st_o), .ext_at_i(ext_at_o), .ext_aop_i(ext_aop_o),
    .ext_sdata_i(ext_sdata_o), .ext_cmp_i(ext_cmp_o),
    .ext_rdata_o(ext_rdata_i), .ext_rd_fault_o(ext_rd_fault_i),
    .ext_wr_fault_o(ext_wr_fault_i),
    .hmem_rd_o(hmem_rd_o), .hmem_addr_o(hmem_addr_o), .hmem_n_o(hmem_n_o),
    .hmem_rdata_i(hmem_rdata_i), .hmem_ok_i(hmem_ok_i),
    .hmem_wr_o(hmem_wr_o), .hmem_waddr_o(hmem_waddr_o), .hmem_wn_o(hmem_wn_o),
    .hmem_wdata_o(hmem_wdata_o),
    .mapwait_o(mapwait_i), .arb_state_o(arb_state), .engsel_i(engselect),
    .mreg_wr_i(mreg_wr_o), .mreg_rd_i(mreg_rd_o), .mreg_addr_i(mreg_addr_o),
    .mreg_wdata_i(mreg_wdata_o), .mreg_rdata_o(mreg_rdata_i), .mreg_err_o(mreg_err_i)
  );
  wire unused_units = &{1'b0, arb_state};

endmodule
