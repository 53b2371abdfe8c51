// ebpf_stack_ram: the engine's stack, STACK_SIZE bytes (MAX_FRAMES frames of
// STACK_FRAME bytes) at STACK_BASE. Reads and writes of up to 8 bytes at any
// alignment in one clock: the bytes are interleaved over 8 lanes (byte a in
// lane a % 8, row a / 8), so an access touches each lane once, at row r or
// r + 1. Each lane has one write port and one asynchronous read port
// (distributed RAM). The lanes' mem_q are public so the harness can mirror
// the stack into the model's memory for helpers that take a stack pointer.
module ebpf_stack_ram (
  input  wire        clk_i,
  input  wire [11:0] rd_addr_i,
  output wire [63:0] rd_data_o,
  input  wire        st_i,
  input  wire [11:0] st_addr_i,
  input  wire [7:0]  st_mask_i,
  input  wire [63:0] st_data_i
);
  `include "ebpf_params.vh"

  localparam integer ROWS = STACK_SIZE[31:0] / 8;

  wire [2:0] rd_sh = rd_addr_i[2:0];
  wire [8:0] rd_row = rd_addr_i[11:3];
  wire [2:0] st_sh = st_addr_i[2:0];
  wire [8:0] st_row = st_addr_i[11:3];

  // Lane-ordered data: lane l holds access byte (l - shift) mod 8.
  wire [63:0] lanes_rd;
  wire [63:0] st_rot = (st_data_i << {st_sh, 3'b000}) | (st_data_i >> {3'd0 - st_sh, 3'b000});
  wire [15:0] st_mask2 = {8'd0, st_mask_i} << st_sh;
  wire [7:0]  st_lmask = st_mask2[7:0] | st_mask2[15:8];

  // Bit l set: lane l is below the access's first lane.
  wire [7:0] rd_next = ~(8'hff << rd_sh);
  wire [7:0] st_next = ~(8'hff << st_sh);

  genvar l;
  generate
    for (l = 0; l < 8; l = l + 1) begin : gen_lane
      reg [7:0] mem_q [0:ROWS-1] /*verilator public_flat_rw*/;
      // Lanes below the access's first lane hold its bytes in the next row.
      wire [8:0] rrow = rd_row + {8'd0, rd_next[l]};
      wire [8:0] wrow = st_row + {8'd0, st_next[l]};
      assign lanes_rd[8*l +: 8] = mem_q[rrow];
      always @(posedge clk_i) begin
        if (st_i && st_lmask[l]) mem_q[wrow] <= st_rot[8*l +: 8];
      end
    end
  endgenerate

  assign rd_data_o = (lanes_rd >> {rd_sh, 3'b000}) | (lanes_rd << {3'd0 - rd_sh, 3'b000});

endmodule
