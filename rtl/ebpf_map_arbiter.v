// ebpf_map_arbiter: shares the one map unit among N engines, cycle-exact
// with the device model's arbitration (vm::units `register_timed` with
// DeviceState::arbitrate, and vm::device's rotating step order).
//
// Timing. The unit is pipelined: it takes an operation a clock and answers
// each after its latency (contract::MapIssue::Pipelined). The model runs
// an engine's map helper in the clock its request issues; engines are
// served in the clock's rotating order starting at engine cycle_i % N. An
// operation issued at clock c takes the first free issue slot,
// start = max(c, free_at), holds it for S clocks (slot_i: one, or while a
// pointer ABI's key and value words are read, contract::
// ptr_map_issue_clocks) and is answered after wait + L clocks (wait =
// start - c, L its latency, timed by ebpf_units). This module keeps
// busy_q = max(0, free_at - c) and, for the requests new_i of this clock
// in rotating order, gives each its wait (wait_o, combinational) and adds
// its S. A lone requester is never delayed.
//
// Order of execution. Requests with push_i (those the unit must execute)
// enter a queue of engine numbers in the same order; the unit executes the
// head, one per clock, from the clock after the push. hold_i keeps the
// head in the queue for this clock while its key's second word or an
// update's value words before the last are read (ebpf_units), so the head
// runs at max(c + S, the previous one's run + 1) <= start + S < start + L:
// never after its answer is due (ebpf_units bypasses the result when the
// two coincide; contract::ptr_map_issue_clocks stays below every latency).
// Results equal the model's because the operations happen in the model's
// order, and an update's value lands in the value memory in the clock
// after it runs (the model's coproc_ran_at). A host operation
// (host_req_i) runs in a clock where the queue is empty (host_go_o).
module ebpf_map_arbiter #(
  parameter integer ENGINES = 4,
  parameter integer EW = 2,
  parameter integer LW = 6,
  parameter integer BW = 12
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  input  wire [63:0]           cycle_i,
  input  wire [ENGINES-1:0]    new_i,
  input  wire [ENGINES*LW-1:0] slot_i,
  input  wire [ENGINES-1:0]    push_i,
  input  wire                  hold_i,
  output reg  [ENGINES*BW-1:0] wait_o,
  output wire                  head_v_o,
  output wire [EW-1:0]         head_o,
  input  wire                  host_req_i,
  output wire                  host_go_o
);
  reg [BW-1:0] busy_q, busy_d;
  reg [EW-1:0] q_q [0:ENGINES-1];
  reg [EW-1:0] q_d [0:ENGINES-1];
  reg [EW:0]   n_q, n_d;
  localparam [EW:0] NE = ENGINES[EW:0];

  /* verilator lint_off WIDTH */
  wire [EW-1:0] first = cycle_i % ENGINES;
  /* verilator lint_on WIDTH */

  assign head_v_o = n_q != 0;
  assign head_o = q_q[0];
  assign host_go_o = host_req_i && n_q == 0;

  integer k, j;
  reg [EW:0] e;
  reg [BW-1:0] run;
  always @* begin
    run = busy_q;
    wait_o = {(ENGINES*BW){1'b0}};
    // Pop the head the coprocessor executes this clock.
    n_d = n_q;
    for (j = 0; j < ENGINES; j = j + 1) q_d[j] = q_q[j];
    if (n_q != 0 && !hold_i) begin
      for (j = 0; j < ENGINES - 1; j = j + 1) q_d[j] = q_q[j + 1];
      n_d = n_q - 1'b1;
    end
    for (k = 0; k < ENGINES; k = k + 1) begin
      e = {1'b0, first} + k[EW:0];
      if (e >= NE) e = e - NE;
      if (new_i[e[EW-1:0]]) begin
        wait_o[e[EW-1:0]*BW +: BW] = run;
        run = run + {{(BW-LW){1'b0}}, slot_i[e[EW-1:0]*LW +: LW]};
        if (push_i[e[EW-1:0]]) begin
          q_d[n_d[EW-1:0]] = e[EW-1:0];
          n_d = n_d + 1'b1;
        end
      end
    end
    busy_d = run == 0 ? run : run - 1'b1;
  end

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      busy_q <= {BW{1'b0}};
      n_q <= {(EW+1){1'b0}};
    end else begin
      busy_q <= busy_d;
      n_q <= n_d;
    end
    for (j = 0; j < ENGINES; j = j + 1) q_q[j] <= q_d[j];
  end
endmodule
