// ebpf_sume_opl: ebpf_dataplane in the output-port-lookup slot of the
// NetFPGA SUME reference pipeline (input arbiter -> output port lookup ->
// output queues), with that slot's interface (docs/sume.md):
//
// - axis_aclk / axis_resetn: the data-path clock (200 MHz on SUME) and its
//   active-low reset, synchronous here as everywhere in the design; the
//   data plane runs on them.
// - s_axis_*: one 256-bit AXI4-Stream slave from the input arbiter, tuser
//   128 bits as the reference designs define it: [15:0] length in bytes,
//   [23:16] source port one-hot, [31:24] destination one-hot (filled by the
//   lookup), bit 2i the 10G port i, bit 2i+1 its host DMA queue.
// - m_axis_*: one 256-bit AXI4-Stream master to the output queues, tuser
//   as ebpf_egress sets it ([31:24] destination one-hot the same way).
// - S_AXI_*: the AXI4-Lite register slave with the reference designs'
//   signal names, 12-bit addresses (the block's 4 KB window; the
//   interconnect strips the base, 0x44020000 in the reference switch), on
//   its own clock S_AXI_ACLK / S_AXI_ARESETN (the reference designs drive
//   it from a 100 MHz clock in some tops, from the data-path clock in
//   others): every access crosses to axis_aclk through a request/acknowledge
//   toggle handshake (two-flop synchronizers on the toggles only; address,
//   data and response are held stable while their toggle crosses), so any
//   ratio of the two clocks is safe, equal clocks included.
//
// Ingress: frames are demultiplexed to the data plane's four input streams
// by source port, as the device does: source bit 2i or 2i+1 (the port or
// its DMA queue) is input i, the lowest set bit deciding; a frame with no
// source bit is consumed and dropped. The data plane needs a frame's beats
// in consecutive clocks (as from a MAC) and the arbiter may leave gaps, so
// frames are stored whole first (a BUF_BEATS-beat buffer, BUF_FRAMES frames
// at most) and sent on from the clock after their last beat was stored,
// one beat per clock; s_axis_tready falls while the buffer is full. A frame
// must fit the buffer (BUF_BEATS x 32 bytes).
//
// The data plane's instruction budget per packet for a program loaded
// with BUDGET 0 is DEVICE_INSN_BUDGET (generated from vm::contract). Its
// debug-record ports are tied off (DEBUG_RECORDS 0).
module ebpf_sume_opl #(
  parameter integer ENGINES = 4,
  // log2 of the ingress buffer's beats and frames
  parameter integer BUF_BITS = 7,
  parameter integer DESC_BITS = 3
) (
  input  wire           axis_aclk,
  input  wire           axis_resetn,
  // from the input arbiter
  input  wire [255:0]   s_axis_tdata,
  input  wire [31:0]    s_axis_tkeep,
  input  wire [127:0]   s_axis_tuser,
  input  wire           s_axis_tvalid,
  output wire           s_axis_tready,
  input  wire           s_axis_tlast,
  // to the output queues
  output wire [255:0]   m_axis_tdata,
  output wire [31:0]    m_axis_tkeep,
  output wire [127:0]   m_axis_tuser,
  output wire           m_axis_tvalid,
  input  wire           m_axis_tready,
  output wire           m_axis_tlast,
  // AXI4-Lite register slave
  input  wire           S_AXI_ACLK,
  input  wire           S_AXI_ARESETN,
  input  wire [11:0]    S_AXI_AWADDR,
  input  wire           S_AXI_AWVALID,
  input  wire [31:0]    S_AXI_WDATA,
  input  wire [3:0]     S_AXI_WSTRB,
  input  wire           S_AXI_WVALID,
  input  wire           S_AXI_BREADY,
  input  wire [11:0]    S_AXI_ARADDR,
  input  wire           S_AXI_ARVALID,
  input  wire           S_AXI_RREADY,
  output wire           S_AXI_ARREADY,
  output reg  [31:0]    S_AXI_RDATA,
  output reg  [1:0]     S_AXI_RRESP,
  output reg            S_AXI_RVALID,
  output wire           S_AXI_WREADY,
  output reg  [1:0]     S_AXI_BRESP,
  output reg            S_AXI_BVALID,
  output wire           S_AXI_AWREADY
);
  `include "ebpf_dp_params.vh"

  localparam integer BUF_BEATS = 1 << BUF_BITS;
  localparam integer DESCS = 1 << DESC_BITS;

  // ==================================================================
  // AXI4-Lite, register clock side: one access at a time.
  // ==================================================================
  reg         a_busy_q;             // an access is being served
  reg         a_req_tgl_q;          // toggles once per access
  reg         a_req_wr_q;
  reg  [11:0] a_req_addr_q;
  reg  [31:0] a_req_wdata_q;
  reg  [3:0]  a_req_wstrb_q;
  reg  [1:0]  a_ack_sync_q;         // d_ack_tgl_q into S_AXI_ACLK
  reg         a_ack_seen_q;
  wire        a_wr_go = !a_busy_q && S_AXI_AWVALID && S_AXI_WVALID;
  wire        a_rd_go = !a_busy_q && !a_wr_go && S_AXI_ARVALID;
  assign S_AXI_AWREADY = a_wr_go;
  assign S_AXI_WREADY  = a_wr_go;
  assign S_AXI_ARREADY = a_rd_go;

  // data-path side results, stable while d_ack_tgl_q crosses
  reg         d_ack_tgl_q;
  reg  [31:0] d_rdata_q;
  reg  [1:0]  d_resp_q;

  always @(posedge S_AXI_ACLK) begin
    if (!S_AXI_ARESETN) begin
      a_busy_q <= 1'b0; a_req_tgl_q <= 1'b0; a_req_wr_q <= 1'b0;
      a_req_addr_q <= 12'd0; a_req_wdata_q <= 32'd0; a_req_wstrb_q <= 4'd0;
      a_ack_sync_q <= 2'b00; a_ack_seen_q <= 1'b0;
      S_AXI_BVALID <= 1'b0; S_AXI_BRESP <= 2'b00;
      S_AXI_RVALID <= 1'b0; S_AXI_RRESP <= 2'b00; S_AXI_RDATA <= 32'd0;
    end else begin
      a_ack_sync_q <= {a_ack_sync_q[0], d_ack_tgl_q};
      if (a_wr_go || a_rd_go) begin
        a_busy_q <= 1'b1;
        a_req_tgl_q <= !a_req_tgl_q;
        a_req_wr_q <= a_wr_go;
        a_req_addr_q <= a_wr_go ? S_AXI_AWADDR : S_AXI_ARADDR;
        a_req_wdata_q <= S_AXI_WDATA;
        a_req_wstrb_q <= S_AXI_WSTRB;
      end
      // the answer came back: present it
      if (a_ack_sync_q[1] != a_ack_seen_q) begin
        a_ack_seen_q <= a_ack_sync_q[1];
        if (a_req_wr_q) begin
          S_AXI_BVALID <= 1'b1; S_AXI_BRESP <= d_resp_q;
        end else begin
          S_AXI_RVALID <= 1'b1; S_AXI_RRESP <= d_resp_q; S_AXI_RDATA <= d_rdata_q;
        end
      end
      if (S_AXI_BVALID && S_AXI_BREADY) begin
        S_AXI_BVALID <= 1'b0; a_busy_q <= 1'b0;
      end
      if (S_AXI_RVALID && S_AXI_RREADY) begin
        S_AXI_RVALID <= 1'b0; a_busy_q <= 1'b0;
      end
    end
  end

  // ==================================================================
  // AXI4-Lite, data-path side: the access on the data plane's slave.
  // ==================================================================
  reg  [1:0]  d_req_sync_q;         // a_req_tgl_q into axis_aclk
  reg         d_req_seen_q;
  reg         d_awvalid_q, d_arvalid_q;
  reg         d_wait_q;             // waiting for BVALID / RVALID
  wire        dp_awready, dp_wready, dp_bvalid, dp_arready, dp_rvalid;
  wire [1:0]  dp_bresp, dp_rresp;
  wire [31:0] dp_rdata;
  // a_req_* are stable from the request toggle to the acknowledge
  wire        d_start = d_req_sync_q[1] != d_req_seen_q && !d_awvalid_q && !d_arvalid_q && !d_wait_q;

  always @(posedge axis_aclk) begin
    if (!axis_resetn) begin
      d_req_sync_q <= 2'b00; d_req_seen_q <= 1'b0;
      d_awvalid_q <= 1'b0; d_arvalid_q <= 1'b0; d_wait_q <= 1'b0;
      d_ack_tgl_q <= 1'b0; d_rdata_q <= 32'd0; d_resp_q <= 2'b00;
    end else begin
      d_req_sync_q <= {d_req_sync_q[0], a_req_tgl_q};
      if (d_start) begin
        d_req_seen_q <= d_req_sync_q[1];
        d_awvalid_q <= a_req_wr_q;
        d_arvalid_q <= !a_req_wr_q;
      end
      if (d_awvalid_q && dp_awready && dp_wready) begin
        d_awvalid_q <= 1'b0; d_wait_q <= 1'b1;
      end
      if (d_arvalid_q && dp_arready) begin
        d_arvalid_q <= 1'b0; d_wait_q <= 1'b1;
      end
      if (d_wait_q && dp_bvalid) begin
        d_wait_q <= 1'b0; d_resp_q <= dp_bresp; d_ack_tgl_q <= !d_ack_tgl_q;
      end
      if (d_wait_q && dp_rvalid) begin
        d_wait_q <= 1'b0; d_resp_q <= dp_rresp; d_rdata_q <= dp_rdata;
        d_ack_tgl_q <= !d_ack_tgl_q;
      end
    end
  end

  // ==================================================================
  // Ingress: store each frame whole, then send it on to its input.
  // ==================================================================
  reg  [288:0]         buf_mem [0:BUF_BEATS-1];   // {tlast, tkeep, tdata}
  reg  [BUF_BITS:0]    wr_ptr_q, rd_ptr_q;        // one extra bit: full/empty
  reg  [BUF_BITS:0]    beats_q;                   // beats of the frame being stored
  // frame descriptors: beats, input (bit 2: no source, dropped), tuser
  reg  [BUF_BITS:0]    desc_beats [0:DESCS-1];
  reg  [2:0]           desc_in    [0:DESCS-1];
  reg  [127:0]         desc_tuser [0:DESCS-1];
  reg  [DESC_BITS:0]   dwr_q, drd_q;
  reg  [127:0]         first_tuser_q;             // tuser of the frame's first beat
  reg  [2:0]           first_in_q;

  wire [BUF_BITS:0]    used = wr_ptr_q - rd_ptr_q;
  wire [DESC_BITS:0]   dused = dwr_q - drd_q;
  assign s_axis_tready = axis_resetn && used != BUF_BEATS[BUF_BITS:0] && dused != DESCS[DESC_BITS:0];
  wire                 in_beat = s_axis_tvalid && s_axis_tready;
  wire                 in_first = beats_q == {(BUF_BITS+1){1'b0}};

  // source one-hot -> input: bits 2i and 2i+1 are input i, lowest wins
  function automatic [2:0] src_input(input [7:0] src);
    integer k;
    begin
      src_input = 3'b100;
      for (k = 3; k >= 0; k = k - 1)
        if (src[2*k] || src[2*k+1]) src_input = k[2:0];
    end
  endfunction

  wire [2:0]   this_in    = in_first ? src_input(s_axis_tuser[23:16]) : first_in_q;
  wire [127:0] this_tuser = in_first ? s_axis_tuser : first_tuser_q;

  always @(posedge axis_aclk) begin
    if (in_beat) buf_mem[wr_ptr_q[BUF_BITS-1:0]] <= {s_axis_tlast, s_axis_tkeep, s_axis_tdata};
    if (in_beat && s_axis_tlast) begin
      desc_beats[dwr_q[DESC_BITS-1:0]] <= beats_q + 1'b1;
      desc_in[dwr_q[DESC_BITS-1:0]]    <= this_in;
      desc_tuser[dwr_q[DESC_BITS-1:0]] <= this_tuser;
    end
  end

  // send side: reads issued one per clock, data on the next clock
  reg                  send_q;          // a frame is being read out
  reg  [BUF_BITS:0]    left_q;          // reads still to issue
  reg  [2:0]           send_in_q;
  reg  [127:0]         send_tuser_q;
  reg                  rd_v_q;          // buf_q holds a beat read last clock
  reg  [288:0]         buf_q;
  wire                 issue = send_q && left_q != {(BUF_BITS+1){1'b0}};
  wire                 next = !send_q && dused != {(DESC_BITS+1){1'b0}};

  always @(posedge axis_aclk) begin
    if (!axis_resetn) begin
      wr_ptr_q <= {(BUF_BITS+1){1'b0}}; rd_ptr_q <= {(BUF_BITS+1){1'b0}};
      beats_q <= {(BUF_BITS+1){1'b0}};
      dwr_q <= {(DESC_BITS+1){1'b0}}; drd_q <= {(DESC_BITS+1){1'b0}};
      first_tuser_q <= 128'd0; first_in_q <= 3'd0;
      send_q <= 1'b0; left_q <= {(BUF_BITS+1){1'b0}};
      send_in_q <= 3'd0; send_tuser_q <= 128'd0;
      rd_v_q <= 1'b0; buf_q <= 289'd0;
    end else begin
      if (in_beat) begin
        wr_ptr_q <= wr_ptr_q + 1'b1;
        if (in_first) begin
          first_tuser_q <= s_axis_tuser; first_in_q <= this_in;
        end
        if (s_axis_tlast) begin
          beats_q <= {(BUF_BITS+1){1'b0}};
          dwr_q <= dwr_q + 1'b1;
        end else begin
          beats_q <= beats_q + 1'b1;
        end
      end
      if (next) begin
        send_q <= 1'b1;
        left_q <= desc_beats[drd_q[DESC_BITS-1:0]];
        send_in_q <= desc_in[drd_q[DESC_BITS-1:0]];
        send_tuser_q <= desc_tuser[drd_q[DESC_BITS-1:0]];
        drd_q <= drd_q + 1'b1;
      end
      rd_v_q <= issue;
      if (issue) begin
        buf_q <= buf_mem[rd_ptr_q[BUF_BITS-1:0]];
        rd_ptr_q <= rd_ptr_q + 1'b1;
        left_q <= left_q - 1'b1;
        if (left_q == {{BUF_BITS{1'b0}}, 1'b1}) send_q <= 1'b0;
      end
    end
  end

  // the beat read last clock, on its input's stream
  reg  [4*256-1:0] dp_tdata;
  reg  [4*32-1:0]  dp_tkeep;
  reg  [4*128-1:0] dp_tuser;
  reg  [3:0]       dp_tlast, dp_tvalid;
  integer          p;
  always @(*) begin
    dp_tdata = {(4*256){1'b0}}; dp_tkeep = {(4*32){1'b0}}; dp_tuser = {(4*128){1'b0}};
    dp_tlast = 4'd0; dp_tvalid = 4'd0;
    for (p = 0; p < 4; p = p + 1) begin
      if (rd_v_q && !send_in_q[2] && send_in_q[1:0] == p[1:0]) begin
        dp_tdata[p*256 +: 256] = buf_q[255:0];
        dp_tkeep[p*32 +: 32]   = buf_q[287:256];
        dp_tlast[p]            = buf_q[288];
        dp_tuser[p*128 +: 128] = send_tuser_q;
        dp_tvalid[p]           = 1'b1;
      end
    end
  end

  // ==================================================================
  // The data plane
  // ==================================================================
  /* verilator lint_off UNUSEDSIGNAL */
  wire [3:0]            dp_tready, rx_acc, rx_drop;
  wire [15:0]           rx_eng;
  wire [ENGINES-1:0]    out_v, out_bank;
  wire [ENGINES*3-1:0]  out_kind;
  wire [ENGINES*32-1:0] out_port;
  wire [63:0]           cycle;
  wire [ENGINES-1:0]    dbg_retire, dbg_reg_we, dbg_mem_v, dbg_mem_rd, dbg_mem_wr;
  wire [ENGINES-1:0]    dbg_fault, dbg_done, dbg_running, dbg_flush, dbg_bank;
  wire [ENGINES*32-1:0] dbg_retire_pc, dbg_pc_if, dbg_pc_id, dbg_pc_ex, dbg_pc_mem, dbg_pc_wb;
  wire [ENGINES*32-1:0] dbg_seq_if, dbg_seq_id, dbg_seq_ex, dbg_seq_mem, dbg_seq_wb;
  wire [ENGINES*4-1:0]  dbg_reg_idx, dbg_stall;
  wire [ENGINES*64-1:0] dbg_reg_val, dbg_mem_addr, dbg_mem_rdata, dbg_mem_wdata;
  wire [ENGINES*2-1:0]  dbg_mem_width, dbg_fwd_a, dbg_fwd_b;
  wire [ENGINES*3-1:0]  dbg_fault_code;
  wire [ENGINES*5-1:0]  dbg_stage_v;
  /* verilator lint_on UNUSEDSIGNAL */

  ebpf_dataplane #(.ENGINES(ENGINES), .DEBUG_RECORDS(0)) u_dp (
    .clk_i(axis_aclk), .rst_ni(axis_resetn), .budget_i(DEVICE_INSN_BUDGET),
    .s_axis_tdata_i(dp_tdata), .s_axis_tkeep_i(dp_tkeep), .s_axis_tuser_i(dp_tuser),
    .s_axis_tlast_i(dp_tlast), .s_axis_tvalid_i(dp_tvalid), .s_axis_tready_o(dp_tready),
    .rx_acc_o(rx_acc), .rx_drop_o(rx_drop), .rx_eng_o(rx_eng),
    .out_v_o(out_v), .out_kind_o(out_kind), .out_port_o(out_port), .out_bank_o(out_bank),
    .m_axis_tdata_o(m_axis_tdata), .m_axis_tkeep_o(m_axis_tkeep), .m_axis_tuser_o(m_axis_tuser),
    .m_axis_tlast_o(m_axis_tlast), .m_axis_tvalid_o(m_axis_tvalid), .m_axis_tready_i(m_axis_tready),
    .s_axil_awaddr_i(a_req_addr_q), .s_axil_awvalid_i(d_awvalid_q), .s_axil_awready_o(dp_awready),
    .s_axil_wdata_i(a_req_wdata_q), .s_axil_wstrb_i(a_req_wstrb_q), .s_axil_wvalid_i(d_awvalid_q),
    .s_axil_wready_o(dp_wready), .s_axil_bresp_o(dp_bresp), .s_axil_bvalid_o(dp_bvalid),
    .s_axil_bready_i(1'b1),
    .s_axil_araddr_i(a_req_addr_q), .s_axil_arvalid_i(d_arvalid_q), .s_axil_arready_o(dp_arready),
    .s_axil_rdata_o(dp_rdata), .s_axil_rresp_o(dp_rresp), .s_axil_rvalid_o(dp_rvalid),
    .s_axil_rready_i(1'b1),
    .cycle_o(cycle),
    .dbg_retire_o(dbg_retire), .dbg_retire_pc_o(dbg_retire_pc), .dbg_reg_we_o(dbg_reg_we),
    .dbg_reg_idx_o(dbg_reg_idx), .dbg_reg_val_o(dbg_reg_val), .dbg_mem_v_o(dbg_mem_v),
    .dbg_mem_addr_o(dbg_mem_addr), .dbg_mem_width_o(dbg_mem_width), .dbg_mem_rd_o(dbg_mem_rd),
    .dbg_mem_rdata_o(dbg_mem_rdata), .dbg_mem_wr_o(dbg_mem_wr), .dbg_mem_wdata_o(dbg_mem_wdata),
    .dbg_fault_o(dbg_fault), .dbg_fault_code_o(dbg_fault_code), .dbg_done_o(dbg_done),
    .dbg_running_o(dbg_running), .dbg_stage_v_o(dbg_stage_v),
    .dbg_pc_if_o(dbg_pc_if), .dbg_pc_id_o(dbg_pc_id), .dbg_pc_ex_o(dbg_pc_ex),
    .dbg_pc_mem_o(dbg_pc_mem), .dbg_pc_wb_o(dbg_pc_wb),
    .dbg_seq_if_o(dbg_seq_if), .dbg_seq_id_o(dbg_seq_id), .dbg_seq_ex_o(dbg_seq_ex),
    .dbg_seq_mem_o(dbg_seq_mem), .dbg_seq_wb_o(dbg_seq_wb),
    .dbg_stall_o(dbg_stall), .dbg_flush_o(dbg_flush), .dbg_fwd_a_o(dbg_fwd_a),
    .dbg_fwd_b_o(dbg_fwd_b), .dbg_bank_o(dbg_bank)
  );
endmodule
