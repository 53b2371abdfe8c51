// ebpf_hazard: the load-use interlock in ID. The instruction in ID waits one
// clock when the instruction entering EX/MEM this clock makes its result in
// MEM (load, atomic fetch, helper r0) and ID reads that register; the
// register sets come from the ISA table through the decoder (implicit reads
// included: r0 of exit and cmpxchg, r1..r5 of calls, r6 of packet loads).
module ebpf_hazard (
  input  wire        id_v_i,
  input  wire [10:0] id_reads_i,
  input  wire        exmem_v_i,
  input  wire        exmem_mem_result_i,
  input  wire [3:0]  exmem_wreg_i,
  output wire        load_use_o
);
  wire [15:0] reads = {5'd0, id_reads_i};
  assign load_use_o = id_v_i && exmem_v_i && exmem_mem_result_i && reads[exmem_wreg_i];
endmodule
