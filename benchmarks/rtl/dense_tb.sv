// spiketune testbench for the hybrid design's dense first-layer core (dense_nc).
// Its timing does not depend on input values: reports the cycles to the done flag.
`timescale 1ns / 1ps
module dense_tb;
  parameter T = 2, IC = 3, OC = 4, W = 6, R = 1;
  logic clk = 0, rst = 1, pre = 0;
  logic post, ready;
  logic [$clog2(T):0] t_prev;
  logic [$clog2(OC):0] oc_prev;
  dense_nc #(.TIME_STEPS(T), .IN_CHANNELS(IC), .OUT_CHANNELS(OC), .FRAME_WIDTH(W), .KERNEL_SIZE(3),
             .PE_ARRAY_ROW_SIZE(R), .model_dir(".")) dut (
    .clk(clk), .rst(rst), .pre_syn_RAM_loaded(pre), .post_syn_RAM_loaded(post),
    .prev_time_step(t_prev), .prev_oc_phase(oc_prev), .new_spk_train_ready(ready));
  always #1 clk = ~clk;
  integer cycle = 0, done_at = -1, trains = 0;
  always @(posedge clk) if (!rst) begin
    cycle <= cycle + 1;
    if (ready) trains <= trains + 1;
    if (post && done_at < 0) done_at <= cycle;
  end
  initial begin
    repeat (3) @(posedge clk);
    rst <= 0;
    pre <= 1;
    @(posedge clk);
    pre <= 0;
    wait (done_at >= 0);
    $display("CYCLES done=%0d trains=%0d", done_at, trains);
    $finish;
  end
  initial begin
    #400000000 $display("TIMEOUT");
    $finish;
  end
endmodule
