// spiketune testbench for the event-control unit of the accelerator's fully-connected layer.
`timescale 1ns / 1ps
module fc_tb;
  parameter T = 2, IC = 2, F = 16, N = 8, E = 2, P = 8;
  logic clk = 0, rst = 1, pre = 0;
  logic post;
  logic [F-1:0] frames [0:T*IC-1];
  wire [F-1:0] spk_in_train;
  wire [$clog2(IC)+1:0] ic;
  wire [$clog2(T)+1:0] penc_t;
  wire [$clog2(F*IC):0] totals [T-1:0];
  fc_ec #(.TIME_STEPS(T), .EC_SIZE(E), .INPUT_CHANNELS(IC), .LAYER_SIZE(N), .PENC_SIZE(P),
          .INPUT_FRAME_SIZE(F)) dut (
    .clk(clk), .rst(rst), .pre_syn_RAM_loaded(pre), .post_syn_RAM_loaded(post),
    .spk_in_train(spk_in_train), .ic(ic), .penc_time_step(penc_t), .total_spks_out(totals));
  assign spk_in_train = (ic == 0) ? '0 : frames[penc_t * IC + ic - 1];
  always #1 clk = ~clk;
  integer cycle = 0, done_at = -1;
  always @(posedge clk) if (!rst) begin
    cycle <= cycle + 1;
    if (post && done_at < 0) done_at <= cycle;
  end
  initial begin
    $readmemb("frames.mem", frames);
    repeat (3) @(posedge clk);
    rst <= 0;
    pre <= 1;
    @(posedge clk);
    pre <= 0;
    wait (done_at >= 0);
    $write("CYCLES done=%0d spikes=", done_at);
    for (int t = 0; t < T; t++) $write("%0d,", totals[t]);
    $display("");
    $finish;
  end
  initial begin
    #400000000 $display("TIMEOUT");
    $finish;
  end
endmodule
