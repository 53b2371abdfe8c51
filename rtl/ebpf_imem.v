// ebpf_imem: double-buffered instruction memory (two banks of IMEM_SLOTS
// 64-bit slots). The host writes the idle bank (wr_i; refused while a packet
// still runs on it, as the model's BankBusy) and its length (len_wr_i), then
// swap_i makes it active (CURRINSTMEM). The engine latches the active bank
// at a packet start and reads only that bank until the verdict, so a swap
// takes effect at the next packet boundary.
//
// Block RAM: the even slots of both banks are one memory and the odd slots
// another (IMEM_SLOTS slots each, the bank the address's high bit), each
// with one write port (the host, to the half its slot is in) and one
// synchronous read port (the engine), the shape synthesis maps to block
// RAM (16 RAMB36 on a Virtex-7 for 4,096-slot banks, as one memory of
// both banks took; 32 DP16KD on an ECP5). Each clock both halves are read,
// so the engine has the slot at its fetch address and the one after it
// (rd_data_o, and rd_next_hi_o the next one's imm): an lddw's two slots in one fetch
// (contract::LDDW_FETCH_CYCLES = 1), where one 64-bit memory needed a
// second clock or a second read port. The read is registered: the data in
// a clock are the slots the engine named in the clock before (rd_bank_n_i,
// rd_addr_n_i: the bank and fetch address its latches take at this
// clock's edge, see ebpf_engine), so the engine sees the slots at its pc as
// an asynchronous read of them would show them, and the model's timing is
// unchanged. A slot read is never written in the same clock: the host
// writes only the idle bank, never the one an engine runs, and the engine
// reads the active bank at a packet start (rd_bank_n_i from active_n:
// FLIP's next value). The slot after the bank's last is its first (an
// lddw never starts in the last slot: the loader's validation).
module ebpf_imem (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire        wr_i,
  input  wire [11:0] wr_addr_i,
  input  wire [63:0] wr_data_i,
  input  wire        len_wr_i,
  input  wire [31:0] len_i,
  input  wire        swap_i,
  // bank each engine side is running on (busy banks are not writable)
  input  wire        busy_i,
  input  wire        busy_bank_i,
  output wire        active_o,
  output wire        wr_refused_o,
  // fetch port: the bank of this clock (its length), and the bank and
  // slot of the next clock's read (run_n_i: the engine runs then, on
  // bank_n_i; else a packet may start then, on the active bank)
  input  wire        rd_bank_i,
  input  wire        run_n_i,
  input  wire        bank_n_i,
  input  wire [11:0] rd_addr_n_i,
  output wire [63:0] rd_data_o,
  output wire [31:0] rd_next_hi_o,
  output wire [31:0] rd_len_o,
  output wire        active_loaded_o
);
  `include "ebpf_params.vh"
  localparam integer IAW = $clog2(IMEM_SLOTS);

  reg [63:0] even_q [0:IMEM_SLOTS-1];
  reg [63:0] odd_q  [0:IMEM_SLOTS-1];
  reg [63:0] rde_q, rdo_q;
  reg        rd_odd_q;   // the fetch address was odd: its slot is rdo_q
  reg [31:0] len_q [0:1];
  reg        active_q;

  wire idle = ~active_q;
  wire refuse = busy_i && (busy_bank_i == idle);
  wire active_n = swap_i ? ~active_q : active_q;
  wire rd_bank_n = run_n_i ? bank_n_i : active_n;
  // Slot a and a + 1: the odd one at a's pair, the even one at a's pair
  // or, for an odd a, the next pair.
  wire [IAW-2:0] pair_n = rd_addr_n_i[IAW-1:1];
  wire [IAW-2:0] even_n = pair_n + {{(IAW-2){1'b0}}, rd_addr_n_i[0]};
  wire [IAW-2:0] wr_pair = wr_addr_i[IAW-1:1];

  always @(posedge clk_i) begin
    if (wr_i && !refuse && !wr_addr_i[0]) even_q[{idle, wr_pair}] <= wr_data_i;
    rde_q <= even_q[{rd_bank_n, even_n}];
  end
  always @(posedge clk_i) begin
    if (wr_i && !refuse && wr_addr_i[0]) odd_q[{idle, wr_pair}] <= wr_data_i;
    rdo_q <= odd_q[{rd_bank_n, pair_n}];
  end
  always @(posedge clk_i) rd_odd_q <= rd_addr_n_i[0];

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      active_q <= 1'b0;
      len_q[0] <= 32'd0;
      len_q[1] <= 32'd0;
    end else begin
      if (len_wr_i && !refuse) len_q[idle] <= len_i;
      if (swap_i) active_q <= ~active_q;
    end
  end

  assign active_o        = active_q;
  assign wr_refused_o    = (wr_i || len_wr_i) && refuse;
  assign rd_data_o       = rd_odd_q ? rdo_q : rde_q;
  assign rd_next_hi_o    = rd_odd_q ? rde_q[63:32] : rdo_q[63:32];
  assign rd_len_o        = len_q[rd_bank_i];
  assign active_loaded_o = len_q[active_q] != 32'd0;

endmodule
