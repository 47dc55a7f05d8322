// spiketune testbench for one neural core of the accelerator's FC layer. Replays a
// command file, one line per clock cycle:  op neuron addr last
// (op 0: idle, 1: en_accum, 2: en_activ, 3: print the spike output) with the weight
// memory (weights.txt, one value a line) behind a registered read, as bram_wght.
`timescale 1ns / 1ps
module fc_nc_tb;
  parameter IC = 1, F = 8, N = 4, DEPTH = 40, N_CMD = 16, NEURON_TYPE = 0;
  parameter real WS = 0.1, BS = 0.1, BETA = 0.5, THR = 1.0;
  logic clk = 0, rst = 1;
  logic en_accum = 0, en_activ = 0, last = 0;
  logic [$clog2(N)-1:0] neuron = 0;
  logic [$clog2(IC*F)-1:0] addr = 0;
  wire spk;
  real rdat, mem [0:DEPTH-1];
  wire [$clog2(DEPTH)-1:0] raddr;
  wire ren;
  integer cmd [0:4*N_CMD-1];
  fc_nc #(.IN_CHANNELS(IC), .INPUT_FRAME_SIZE(F), .LAYER_SIZE(N), .BRAM_ADDR_WIDTH($clog2(DEPTH)),
          .w_sfactor(WS), .b_sfactor(BS), .NEURON_TYPE(NEURON_TYPE), .BETA(BETA),
          .signed_POSITIVE_THRESHOLD(THR)) dut (
    .clk(clk), .rst(rst), .en_accum(en_accum), .en_activ(en_activ), .last_time_step(last),
    .neuron(neuron), .spk_addr(addr), .post_syn_spk(spk), .bram_rdat(rdat),
    .bram_raddr(raddr), .bram_ren(ren));
  always @(posedge clk) if (ren) rdat <= mem[raddr];
  always #1 clk = ~clk;
  integer k, fd;
  real v;
  initial begin
    fd = $fopen("weights.txt", "r");
    for (k = 0; k < DEPTH; k++) begin
      if ($fscanf(fd, "%f", v) != 1) $display("BAD WEIGHTS");
      mem[k] = v;
    end
    $fclose(fd);
    $readmemh("cmds.mem", cmd);
    rdat = 0.0;
    repeat (3) @(posedge clk);
    rst <= 0;
    for (k = 0; k < N_CMD; k++) begin
      @(posedge clk);
      en_accum <= cmd[4*k] == 1;
      en_activ <= cmd[4*k] == 2;
      neuron <= cmd[4*k+1];
      addr <= cmd[4*k+2];
      last <= cmd[4*k+3];
      if (cmd[4*k] == 3) $display("SPIKE %b %f", spk, dut.membr_pot);
    end
    $finish;
  end
endmodule
