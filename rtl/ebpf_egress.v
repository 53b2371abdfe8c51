// ebpf_egress: the output arbiter and the egress AXI4-Stream master of the
// data plane (vm::device's egress, cycle-exact).
//
// One 256-bit stream for all engines (51.2 Gb/s at 200 MHz, more than the
// four 10 Gb/s ports together). Each engine offers its oldest retired packet
// (avail_i: a packet to send whose FIFO_MD words have all arrived; the data
// plane keeps a retired packet's words until this module releases them).
// When the stream is idle the arbiter takes the next engine offering,
// round-robin from the one after the engine served last; from that clock on
// the stream takes one beat per clock out of that engine's FIFO_MD: 32
// bytes from ring byte addr_o. SUME ABI (xdp_i low): from word start + 1 +
// beat (the SUME metadata header, word 0, is not sent, its facts go in
// tuser); the frame is as long as the header's length field says when the
// program left it (md_len_i, read at hdr_o), or empty when that is more
// than was received. XDP ABI: from byte off_i of the slot (xdp_md.data at
// the verdict, past the headroom as the program left it), xlen_i bytes
// (data_end - data). (vm::device::frame_of both.) An empty frame is one
// beat with tkeep 0, and rel_o pulses for the engine in the clock of the last
// beat (its words are freed at the end of that clock). A beat is taken in
// clock c and is on the bus, registered, from clock c + 1; tready low holds
// the bus and the stream (the model the same: vm::device::Device::set_tready).
//
// tuser as on NetFPGA SUME: [15:0] the frame length in bytes, [23:16] the
// source port one-hot, [31:24] the destination ports one-hot (even bits the
// 10G ports 0..3, odd bits their host DMA queues): a port below 4 its bit, a
// flood every port's bit but the source's, the host the DMA queue of the
// source port, a port number of 4 or more none. User bits: [35:32] engine,
// [36] instruction bank, [39:37] verdict kind (0 port, 1 flood, 2 host),
// [71:40] the port number r0 named, the rest 0. state_o is OUTARBFSMSTATE:
// the engine being sent from, or 0xf when the stream is idle.
`include "ebpf_widths.vh"

module ebpf_egress #(
  parameter integer ENGINES = 4
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  // per engine: its oldest retired packet
  input  wire [ENGINES-1:0]    avail_i,
  input  wire [ENGINES*`FIFO_IW-1:0] start_i,
  input  wire [ENGINES*16-1:0] len_i,     // frame length received
  input  wire [ENGINES*16-1:0] md_len_i,  // length in its header word now
  // the ABI (0 SUME, 1 XDP) and, XDP, the frame's byte offset in its slot
  // and its length as xdp_md said at the verdict
  input  wire                  xdp_i,
  input  wire [ENGINES*`PKT_OW-1:0] off_i,
  input  wire [ENGINES*16-1:0] xlen_i,
  input  wire [ENGINES*3-1:0]  kind_i,
  input  wire [ENGINES*32-1:0] port_i,
  input  wire [ENGINES-1:0]    bank_i,
  // FIFO_MD reads (every engine at word_o and hdr_o; this clock's engine's
  // data and header length are used)
  output reg  [`PKT_OW-1:0]    addr_o,
  output reg  [`FIFO_IW-1:0]   hdr_o,
  input  wire [ENGINES*256-1:0] data_i,
  // release the engine's packet (its last beat was taken this clock)
  output reg  [ENGINES-1:0]    rel_o,
  // AXI4-Stream master
  output reg  [255:0]          m_axis_tdata_o,
  output reg  [31:0]           m_axis_tkeep_o,
  output reg  [127:0]          m_axis_tuser_o,
  output reg                   m_axis_tlast_o,
  output reg                   m_axis_tvalid_o,
  input  wire                  m_axis_tready_i,
  output wire [3:0]            state_o
);
  `include "ebpf_params.vh"
  `include "ebpf_dp_params.vh"


  reg        cur_v_q;
  reg  [3:0] cur_e_q, last_q;
  reg  [FIFO_AW-1:0] beat_q;

  // The engine this clock, its beat, and the FIFO_MD words to read.
  reg        sel_v;
  reg  [3:0] sel_e;
  reg  [4:0] c;
  reg  [FIFO_AW-1:0] beat;
  reg  [15:0] len, mdlen;
  reg  [ENGINES-1:0] avail_sh, bank_sh;
  reg  [FIFO_AW:0] beats;
  reg        is_last, take;
  reg  [7:0] src, dst;
  reg  [2:0] kind;
  reg  [31:0] port;
  integer k;

  always @* begin
    sel_v = cur_v_q;
    sel_e = cur_e_q;
    c = 5'd0;
    avail_sh = {ENGINES{1'b0}};
    if (!cur_v_q) begin
      for (k = ENGINES; k >= 1; k = k - 1) begin
        c = ({1'b0, last_q} + k[4:0]) % ENGINES[4:0];
        avail_sh = avail_i >> c;
        if (avail_sh[0]) begin
          sel_v = 1'b1;
          sel_e = c[3:0];
        end
      end
    end
    beat = cur_v_q ? beat_q : {FIFO_AW{1'b0}};
    hdr_o = start_i[sel_e*FIFO_AW +: FIFO_AW];
    addr_o = {start_i[sel_e*FIFO_AW +: FIFO_AW] + beat, 5'd0} +
             (xdp_i ? off_i[sel_e*PKT_AW +: PKT_AW] : SUME_MD_SIZE[PKT_AW-1:0]);
  end

  // What the FIFO_MD reads give (a block of its own: the reads' addresses
  // above do not depend on their data).
  always @* begin
    mdlen = md_len_i[sel_e*16 +: 16];
    len = xdp_i ? xlen_i[sel_e*16 +: 16] : mdlen <= len_i[sel_e*16 +: 16] ? mdlen : 16'd0;
    beats = {1'b0, len[PKT_AW-1:5]} + {{FIFO_AW{1'b0}}, |len[4:0]};
    if (beats == 0) beats = {{FIFO_AW{1'b0}}, 1'b1};
    is_last = {1'b0, beat} + 1'b1 >= beats;
    take = sel_v && (!m_axis_tvalid_o || m_axis_tready_i);
    rel_o = {{(ENGINES-1){1'b0}}, take && is_last} << sel_e;
    bank_sh = bank_i >> sel_e;
    kind = kind_i[sel_e*3 +: 3];
    port = port_i[sel_e*32 +: 32];
    src = 8'd1 << {sel_e[1:0], 1'b0};
    dst = kind == 3'd1 ? 8'h55 & ~src :
          kind == 3'd2 ? src << 1 :
          port < 32'd4 ? 8'd1 << {port[1:0], 1'b0} : 8'd0;
  end

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      cur_v_q <= 1'b0; cur_e_q <= 4'd0; beat_q <= {FIFO_AW{1'b0}};
      last_q <= ENGINES[3:0] - 4'd1;
      m_axis_tdata_o <= 256'd0; m_axis_tkeep_o <= 32'd0; m_axis_tuser_o <= 128'd0;
      m_axis_tlast_o <= 1'b0; m_axis_tvalid_o <= 1'b0;
    end else if (take) begin
      cur_v_q <= !is_last;
      cur_e_q <= sel_e;
      beat_q <= beat + 1'b1;
      if (!cur_v_q) last_q <= sel_e;
      m_axis_tdata_o <= data_i[sel_e*256 +: 256];
      m_axis_tkeep_o <= len == 16'd0 ? 32'd0 :
                        (is_last && len[4:0] != 5'd0) ? ~(32'hffffffff << len[4:0]) : 32'hffffffff;
      m_axis_tuser_o <= {56'd0, port, kind, bank_sh[0], sel_e, dst, src, len};
      m_axis_tlast_o <= is_last;
      m_axis_tvalid_o <= 1'b1;
    end else if (m_axis_tready_i) begin
      m_axis_tvalid_o <= 1'b0;
    end
  end

  assign state_o = cur_v_q ? cur_e_q : 4'hf;

  // Only bit 0 of the shifted flags is looked at; received lengths are
  // below the window's, and so are the lengths kept.
  wire unused_ok = &{1'b0, avail_sh, bank_sh, len[15:PKT_AW]};

endmodule
