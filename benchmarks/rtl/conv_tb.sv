// spiketune testbench for an event-control unit of the accelerator's conv layer.
// Feeds spike frames from a memory file and reports the cycles to the done flag
// and to the end of the last activation sweep.
`timescale 1ns / 1ps
module conv_tb;
  parameter T = 2, IC = 2, OC = 4, W = 6, E = 2, P = 9, OW = 4, S = W * W;
  localparam F = W * W;
  logic clk = 0, rst = 1, pre = 0;
  logic post;
  logic [F-1:0] frames [0:T*IC-1];
  wire [F-1:0] spk_in_train;
  wire [$clog2(IC)+1:0] ic;
  wire [$clog2(T):0] t_in;
  conv_ec #(.TIME_STEPS(T), .INPUT_CHANNELS(IC), .OUTPUT_CHANNELS(OC), .KERNEL_SIZE(3),
            .INPUT_FRAME_WIDTH(W), .EC_SIZE(E), .PENC_SIZE(P), .OUTPUT_FRAME_WIDTH(OW),
            .SPARSE_SIZE(S)) dut (
    .clk(clk), .rst(rst), .pre_syn_RAM_loaded(pre), .post_syn_RAM_loaded(post),
    .spk_in_train(spk_in_train), .ic(ic), .time_step_in_spikes(t_in),
    .total_layer_spks_in(32'd0));
  assign spk_in_train = frames[t_in * IC + ic];
  always #1 clk = ~clk;
  integer cycle = 0, done_at = -1, idle_at = -1, accum = 0, activ = 0;
  always @(posedge clk) if (!rst) begin
    cycle <= cycle + 1;
    if (dut.en_accum) accum <= accum + 1;
    if (dut.en_activ) activ <= activ + 1;
    if (post && done_at < 0) done_at <= cycle;
    if (done_at >= 0 && idle_at < 0 && dut.spk_iter_state == dut.IDLE && !dut.en_activ) idle_at <= cycle;
  end
  initial begin
    $readmemb("frames.mem", frames);
    repeat (3) @(posedge clk);
    rst <= 0;
    pre <= 1;
    @(posedge clk);
    pre <= 0;
    wait (idle_at >= 0);
    $display("CYCLES done=%0d idle=%0d accum=%0d activ=%0d", done_at, idle_at, accum, activ);
    $finish;
  end
  initial begin
    #400000000 $display("TIMEOUT");
    $finish;
  end
endmodule
