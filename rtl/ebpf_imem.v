// ebpf_imem: double-buffered instruction memory (two banks of IMEM_SLOTS
// 64-bit slots). The host writes the idle bank (wr_i; refused while a packet
// still runs on it, as the model's BankBusy) and its length (len_wr_i), then
// swap_i makes it active (CURRINSTMEM). The engine latches the active bank
// at a packet start and reads only that bank until the verdict, so a swap
// takes effect at the next packet boundary.
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
  // fetch port
  input  wire        rd_bank_i,
  input  wire [11:0] rd_addr_i,
  output wire [63:0] rd_data_o,
  output wire [31:0] rd_len_o,
  output wire        active_loaded_o
);
  `include "ebpf_params.vh"

  reg [63:0] bank0_q [0:IMEM_SLOTS-1];
  reg [63:0] bank1_q [0:IMEM_SLOTS-1];
  reg [31:0] len_q [0:1];
  reg        active_q;

  wire idle = ~active_q;
  wire refuse = busy_i && (busy_bank_i == idle);

  always @(posedge clk_i) begin
    if (wr_i && !refuse) begin
      if (idle) bank1_q[wr_addr_i] <= wr_data_i;
      else      bank0_q[wr_addr_i] <= wr_data_i;
    end
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
  assign rd_data_o       = rd_bank_i ? bank1_q[rd_addr_i] : bank0_q[rd_addr_i];
  assign rd_len_o        = len_q[rd_bank_i];
  assign active_loaded_o = len_q[active_q] != 32'd0;

endmodule
