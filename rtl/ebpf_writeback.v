// ebpf_writeback: the WB stage. The instruction in MEM/WB retires: its
// register write, a bpf-to-bpf call's frame push or a return's pop, and the
// end of the packet for the final exit (r0 to the action unit, after this
// clock's write) or for a faulting instruction (its retire record is the
// packet's last). Only the clock's running state gates it (run_i).
module ebpf_writeback (
  input  wire        run_i,
  input  wire        v_i,
  input  wire        fault_i,
  input  wire        we_i,
  input  wire [3:0]  wreg_i,
  input  wire [63:0] val_i,
  input  wire [1:0]  ctl_i,
  input  wire        mem_i,
  input  wire [63:0] r0_i,
  output wire        retire_o,
  output wire        fault_o,
  output wire        rf_we_o,
  output wire        push_o,
  output wire        pop_o,
  output wire        mem_o,
  output wire        end_o,
  output wire [63:0] r0_o
);
  `include "ebpf_params.vh"

  wire ok = run_i && v_i && !fault_i;

  assign retire_o = run_i && v_i;
  assign fault_o  = run_i && v_i && fault_i;
  assign rf_we_o  = ok && we_i;
  assign mem_o    = ok && mem_i;
  assign push_o   = ok && ctl_i == CTL_CALL;
  assign pop_o    = ok && ctl_i == CTL_RET;
  assign end_o    = fault_o || (ok && ctl_i == CTL_FINAL);
  assign r0_o     = (ok && ctl_i == CTL_FINAL) ? ((we_i && wreg_i == 4'd0) ? val_i : r0_i) : 64'd0;

endmodule
