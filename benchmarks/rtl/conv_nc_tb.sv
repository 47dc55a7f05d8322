// spiketune testbench for one neural core of the accelerator's conv layer (one output
// channel). Replays a command file, one line per clock cycle:
//   op row col ic tap last  (op 0: hold, 1: en_accum, 2: en_activ, 3: print spikes)
// and prints the core's spike frame after each activation sweep.
`timescale 1ns / 1ps
module conv_nc_tb;
  parameter IC = 1, W = 6, N_CMD = 16, NEURON_TYPE = 0;
  parameter real WS = 0.1, BS = 0.1, BETA = 0.5, THR = 1.0;
  localparam F = W * W;
  logic clk = 0, rst = 1;
  logic en_accum = 0, en_activ = 0, last = 0;
  logic [$clog2(IC)+1:0] ic = 0;
  logic [$clog2(3)+1:0] tap = 0;
  logic [$clog2(W)-1:0] row = 0, col = 0;
  wire [F-1:0] spk;
  real rdat, wrdat;
  wire [$clog2(F)-1:0] raddr, wraddr;
  wire ren, wren;
  real pot [0:F-1];
  integer cmd [0:6*N_CMD-1];
  conv_nc #(.EC_SIZE(1), .IN_CHANNELS(IC), .OUT_CHANNELS(1), .KERNEL_SIZE(3),
            .INPUT_FRAME_WIDTH(W), .OUTPUT_FRAME_WIDTH(W), .BRAM_ADDR_WIDTH($clog2(F)),
            .w_sfactor(WS), .b_sfactor(BS), .NEURON_TYPE(NEURON_TYPE), .BETA(BETA),
            .signed_POSITIVE_THRESHOLD(THR), .WEIGHT_FILENAME("weights.txt")) dut (
    .clk(clk), .rst(rst), .en_accum(en_accum), .en_activ(en_activ), .last_time_step(last),
    .ic_done(1'b0), .ic(ic), .filter_phase(tap), .oc_phase(0), .affect_neur_addr_row(row),
    .affect_neur_addr_col(col), .neur_addr_invalid(1'b0), .post_syn_spk(spk),
    .bram_rdat(rdat), .bram_wrdat(wrdat), .bram_raddr(raddr), .bram_ren(ren),
    .bram_wraddr(wraddr), .bram_wren(wren));
  // membrane memory as the design's bram_pot: registered read, write on the clock
  initial for (int i = 0; i < F; i++) pot[i] = 0.0;
  always @(posedge clk) begin
    if (wren) pot[wraddr] <= wrdat;
    if (ren) rdat <= pot[raddr];
  end
  always #1 clk = ~clk;
  integer k;
  initial begin
    $readmemh("cmds.mem", cmd);
    rdat = 0.0;
    repeat (3) @(posedge clk);
    rst <= 0;
    for (k = 0; k < N_CMD; k++) begin
      @(posedge clk);
      en_accum <= cmd[6*k] == 1;
      en_activ <= cmd[6*k] == 2;
      if (cmd[6*k] == 1 || cmd[6*k] == 2) begin
        row <= cmd[6*k+1]; col <= cmd[6*k+2]; ic <= cmd[6*k+3]; tap <= cmd[6*k+4];
        last <= cmd[6*k+5];
      end
      if (cmd[6*k] == 3) $display("SPIKES %b", spk);
    end
    $finish;
  end
endmodule
