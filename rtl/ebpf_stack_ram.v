// ebpf_stack_ram: the engine's stack, STACK_SIZE bytes (MAX_FRAMES frames of
// STACK_FRAME bytes) at STACK_BASE. Reads and writes of up to 8 bytes at any
// alignment, asynchronous read (distributed RAM). mem_q is public so the
// harness can mirror it into the model's memory for helpers that take a
// stack pointer.
module ebpf_stack_ram (
  input  wire        clk_i,
  input  wire [11:0] rd_addr_i,
  output reg  [63:0] rd_data_o,
  input  wire        st_i,
  input  wire [11:0] st_addr_i,
  input  wire [7:0]  st_mask_i,
  input  wire [63:0] st_data_i
);
  `include "ebpf_params.vh"

  localparam integer BYTES = STACK_SIZE[31:0];

  reg [7:0] mem_q [0:BYTES-1] /*verilator public_flat_rw*/;

  integer k;
  always @(*) begin
    for (k = 0; k < 8; k = k + 1)
      rd_data_o[8*k +: 8] = mem_q[rd_addr_i + k[11:0]];
  end

  integer b;
  always @(posedge clk_i) begin
    if (st_i)
      for (b = 0; b < 8; b = b + 1)
        if (st_mask_i[b]) mem_q[st_addr_i + b[11:0]] <= st_data_i[8*b +: 8];
  end

endmodule
