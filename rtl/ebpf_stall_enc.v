// ebpf_stall_enc: the engine's one stall priority encoder, the same as
// vm::pipeline::StallCauses::encode. cause_i has one bit per stall cause,
// bit i for the cause numbered i in ebpf_params.vh (STALL_*, generated from
// vm::pipeline::Stall); each stage of ebpf_engine raises its own. The cause
// reported is the lowest-numbered one raised, STALL_NONE when none is: the
// numbering is the priority, the most downstream stage first (MEM before EX
// before ID), since a stalled stage freezes the stages behind it.
module ebpf_stall_enc #(
  parameter integer N = 9  // STALL_COUNT
) (
  input  wire [N-1:0] cause_i,
  output reg  [3:0]   stall_o
);
  `include "ebpf_params.vh"

  integer i;
  always @(*) begin
    stall_o = STALL_NONE;
    for (i = N - 1; i >= 1; i = i - 1)
      if (cause_i[i]) stall_o = i[3:0];
  end
endmodule
