// ebpf_imem: double-buffered instruction memory (two banks of IMEM_SLOTS
// 64-bit slots). The host writes the idle bank (wr_i; refused while a packet
// still runs on it, as the model's BankBusy) and its length (len_wr_i), then
// swap_i makes it active (CURRINSTMEM). The engine latches the active bank
// at a packet start and reads only that bank until the verdict, so a swap
// takes effect at the next packet boundary.
//
// Block RAM: both banks are one memory of 2 * IMEM_SLOTS slots (the bank
// is the address's high bit) with one write port (the host) and one
// synchronous read port (the engine), the shape synthesis maps to block
// RAM (16 RAMB36 on a Virtex-7 for 4,096-slot banks; 32 DP16KD on an
// ECP5). The read is registered: rd_data_o in a clock is the slot the
// engine named in the clock before (rd_bank_n_i, rd_addr_n_i: the bank
// and fetch address its latches take at this clock's edge, see
// ebpf_engine), so the engine sees the slot at its pc as an asynchronous
// read of it would show it, and the model's timing is unchanged. A slot
// read is never written in the same clock: the host writes only the idle
// bank, never the one an engine runs, and the engine reads the active bank
// at a packet start (rd_bank_n_i from active_n: FLIP's next value).
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
  output wire [31:0] rd_len_o,
  output wire        active_loaded_o
);
  `include "ebpf_params.vh"
  localparam integer IAW = $clog2(IMEM_SLOTS);

  reg [63:0] mem_q [0:2*IMEM_SLOTS-1];
  reg [63:0] rd_q;
  reg [31:0] len_q [0:1];
  reg        active_q;

  wire idle = ~active_q;
  wire refuse = busy_i && (busy_bank_i == idle);
  wire active_n = swap_i ? ~active_q : active_q;
  wire rd_bank_n = run_n_i ? bank_n_i : active_n;

  always @(posedge clk_i) begin
    if (wr_i && !refuse) mem_q[{idle, wr_addr_i[IAW-1:0]}] <= wr_data_i;
    rd_q <= mem_q[{rd_bank_n, rd_addr_n_i[IAW-1:0]}];
  end

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
  assign rd_data_o       = rd_q;
  assign rd_len_o        = len_q[rd_bank_i];
  assign active_loaded_o = len_q[active_q] != 32'd0;

endmodule
