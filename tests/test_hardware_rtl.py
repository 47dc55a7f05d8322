"""The conv cycle model against an independent cycle-by-cycle transcription of the RTL's
``conv_ec.sv`` state machines (timing only), including the late hand-off and the spike
counter's wrap. The transcription itself matches every recorded Icarus case."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spiketune.hardware import conv_cycles
from spiketune.hardware.snn_dse.cycles import counter_bits

DATA = Path(__file__).parent / "data"


def conv_ec_fsm(counts, oc: int, e: int, frame: int, out_frame: int, penc: int, bits: int) -> dict:
    """Clock the event-control FSM and the replay FSM of conv_ec.sv; ``counts`` [T][IC]
    spikes per map. Returns the testbench's numbers (done, idle, accum, activ) and the spikes
    the replay unit never picked up (dropped: scanned over all passes minus replayed)."""
    steps, ic_n = len(counts), len(counts[0])
    chunks = math.ceil(frame / penc)
    per_chunk = [[[min(max(s - k * penc, 0), penc) for k in range(chunks)] for s in row] for row in counts]
    mod = 1 << bits
    fsm, chunk, cnt, rem, ic, t, ocp, compr, icd, post = "IDLE", 0, 0, 0, 0, 0, 0, 0, 0, 0
    st_, avail, fp, ph, tot, nl, flag, ea, ev = "IDLE", 1, 0, 0, 0, 0, 1, 0, 0
    pre, cycle, done_at, idle_at, accum, activ, replayed = 1, 0, -1, -1, 0, 0, 0
    while idle_at < 0:
        accum += ea
        activ += ev
        done_next = cycle if post and done_at < 0 else done_at
        if done_at >= 0 and st_ == "IDLE" and not ev:
            idle_at = cycle
        # event control (combinational next state from the registers)
        n = dict(fsm=fsm, chunk=chunk, cnt=cnt, rem=rem, ic=ic, t=t, ocp=ocp, compr=compr,
                 icd=0 if avail else icd, post=post)
        if fsm == "IDLE":
            n.update(post=0, compr=0, fsm="WAIT" if pre else "IDLE")
        elif fsm == "WAIT":
            n["fsm"] = "LOAD"
        elif fsm == "LOAD":
            n.update(rem=per_chunk[t][ic][chunk], fsm="ITER")
        elif fsm == "ITER":
            if rem:
                n.update(cnt=(cnt + 1) % mod, fsm="RESET")
            elif chunk < chunks - 1:
                n.update(chunk=chunk + 1, fsm="LOAD")
            else:
                n.update(chunk=0, compr=int(cnt > 0), fsm="TRANSIT" if cnt > 0 else "IC_ITER")
        elif fsm == "RESET":
            n.update(rem=rem - 1, fsm="ITER")
        elif fsm == "TRANSIT":
            n["fsm"] = "IC_ITER" if avail else "TRANSIT"
        elif fsm == "IC_ITER":
            n.update(cnt=0, compr=0)
            n.update(ic=ic + 1, fsm="WAIT") if ic < ic_n - 1 else n.update(icd=1, ic=0, fsm="STEP")
        elif fsm == "STEP":
            n.update(t=t + 1, fsm="WAIT") if t < steps - 1 else n.update(t=0, fsm="OC")
        elif fsm == "OC":
            n.update(ocp=ocp + 1, fsm="WAIT") if ocp < (oc - 1) // e else n.update(ocp=0, fsm="DONE")
        elif fsm == "DONE":
            n.update(post=1, fsm="IDLE")
        # replay unit (clocked)
        s2, avail2, fp2, ph2, tot2, nl2, flag2, ea2, ev2 = st_, avail, fp, ph, tot, nl, flag, ea, ev
        if st_ == "IDLE":
            ea2, avail2 = 0, 1
            if icd and flag:
                s2 = "ACT"
            elif compr:
                flag2, s2, ea2, tot2 = 1, "SPK", 1, cnt
                replayed += cnt
        elif st_ == "SPK":
            avail2 = 0
            if fp < 8:
                fp2 = fp + 1
            elif ph < tot - 1:
                fp2, ph2 = 0, ph + 1
            else:
                fp2, ph2, ea2, s2 = 0, 0, 0, "ACT" if icd else "IDLE"
        elif st_ == "ACT":
            flag2 = 0
            if nl < out_frame - 2:
                nl2, ev2 = nl + 1, 1
            else:
                nl2, ev2, s2 = 0, 0, "IDLE"
        fsm, chunk, cnt, rem, ic, t, ocp, compr, icd, post = (n[k] for k in (
            "fsm", "chunk", "cnt", "rem", "ic", "t", "ocp", "compr", "icd", "post"))
        st_, avail, fp, ph, tot, nl, flag, ea, ev = s2, avail2, fp2, ph2, tot2, nl2, flag2, ea2, ev2
        done_at, pre, cycle = done_next, 0, cycle + 1
    dropped = ((oc - 1) // e + 1) * sum(map(sum, counts)) - replayed
    return {"done": done_at, "idle": idle_at, "accum": accum, "activ": activ, "dropped": dropped}


def model(counts, oc, e, w, penc, sparse) -> dict:
    f, of = w * w, (w - 2) ** 2
    c = conv_cycles(np.array([counts]), oc, e, f, of, 3, penc, counter_bits(sparse), mode="rtl")
    return {"done": int(c.latency[0]), "idle": int(max(c.latency[0] + 1, c.end[0])),
            "accum": int(c.accumulate[0]), "activ": int(c.activations[0]) * (of - 2),
            "dropped": int(c.dropped_events[0])}


def test_transcription_matches_recorded_icarus_cases():
    cases = [c for c in json.loads((DATA / "rtl_cycles.json").read_text())["cases"] if c["kind"] == "conv"]
    cases += [c for c in json.loads((DATA / "rtl_cycles_published.json").read_text())["cases"]
              if c["kind"] == "conv" and c["W"] <= 16]
    assert len(cases) >= 100
    for c in cases:
        w = c["W"]
        got = conv_ec_fsm(c["counts"], c["OC"], c["E"], w * w, (w - 2) ** 2, c["P"], counter_bits(c["S"]))
        assert {k: got[k] for k in c["rtl"]} == c["rtl"], c


def test_late_hand_off_runs_no_sweep():
    # a sweep begun from idle ends in the cycle of the last channel's IC_ITER: the RTL replays
    # that map but sweeps nothing for the step; Icarus finishes at cycle 198
    counts = [[0, 0, 2], [1, 1, 0]]
    ref = conv_ec_fsm(counts, 4, 2, 64, 36, 16, 6)
    assert ref["done"] == 198
    assert model(counts, 4, 2, 8, 16, 64) == ref


def test_map_handed_to_a_sweep_begun_from_idle_is_dropped():
    # quirk 1, by hand: 1 channel, 2 steps, 4x4 frame in one 16-bit chunk, 8x8 output frame
    # (sweep 63 cycles), 3x3 kernel. Step 0 (no spikes): start 1, scan 1 + 2 = 3 cycles
    # (b = 4), advance (cur 5); the sweep starts from idle at 6 and runs to 69; step advance
    # (cur 6). Step 1 (2 spikes): scan 1 + 2 + 4 = 7 (b = 13); the ECU sees the unit busy
    # with a sweep from idle as free and hands the map over at 13, but the unit stays in the
    # sweep until 69: both spikes are dropped, nothing is replayed, and the step gets no
    # sweep. cur = 15, step advance 16, group advance 17, done 18; the first sweep ends at 69.
    rtl = conv_cycles(np.array([[[0], [2]]]), 1, 1, 16, 64, 3, 16, None, mode="rtl")
    got = [int(a[0]) for a in (rtl.latency, rtl.end, rtl.accumulate, rtl.activations, rtl.dropped_events)]
    assert got == [18, 69, 0, 1, 2]
    # ideal: the map waits for the sweep (hand-off at 70), replays 9 * 2 = 18 cycles (to 88),
    # then its sweep of 63 cycles ends at 151; nothing is dropped
    ideal = conv_cycles(np.array([[[0], [2]]]), 1, 1, 16, 64, 3, 16, None, mode="ideal")
    got = [int(a[0]) for a in (ideal.latency, ideal.end, ideal.accumulate, ideal.activations,
                               ideal.dropped_events)]
    assert got == [151, 151, 18, 2, 0]
    # the transcription of the RTL's state machines drops the same two spikes
    assert conv_ec_fsm([[0], [2]], 1, 1, 16, 64, 16, 10) == {"done": 18, "idle": 69, "accum": 0,
                                                               "activ": 62, "dropped": 2}


@pytest.mark.parametrize("counts,oc,e,frame,out_frame,penc", [
    # a sweep from idle ends 2 cycles after the map's scan: the map is dropped (1 spike)
    ([[0, 1, 0], [1, 0, 0], [0, 2, 2]], 2, 2, 36, 14, 9),
    # the replay ends in the very cycle the step ends: its sweep starts from idle
    ([[1, 0, 0], [1, 0, 0]], 1, 1, 16, 6, 16),
    # a step's sweep from idle after a replay that ended exactly as the step ended
    ([[0, 0, 0], [1, 0, 0]], 3, 2, 25, 17, 25),
])
def test_boundary_cycles_match_the_transcription(counts, oc, e, frame, out_frame, penc):
    # hand-off and sweep boundaries the random layers rarely reach (found by mutation testing)
    c = conv_cycles(np.array([counts]), oc, e, frame, out_frame, 3, penc, 10, mode="rtl")
    ref = conv_ec_fsm(counts, oc, e, frame, out_frame, penc, 10)
    assert {"done": int(c.latency[0]), "idle": int(max(c.latency[0] + 1, c.end[0])),
            "accum": int(c.accumulate[0]), "activ": int(c.activations[0]) * (out_frame - 2),
            "dropped": int(c.dropped_events[0])} == ref


def test_ideal_sweep_starts_from_idle_when_the_replay_ends_with_the_step():
    # 3 channels, 2 steps, one spike in channel 0 of each; 16-bit frame in one chunk, sweep 5.
    # Step 0: scan 1 + 2 + 2 = 5 (b = 6), replay 7-16, channels 1 and 2 scanned to cur 16:
    # the replay ends as the step does, so the sweep starts from idle at 17 (to 22), cur 17.
    # Step 1: scan to b = 22, hand-off waits for the sweep (23), replay 23-32, cur 33; sweep
    # from idle 34-39; group 35, done 36; the last work ends at 39.
    c = conv_cycles(np.array([[[1, 0, 0], [1, 0, 0]]]), 1, 1, 16, 6, 3, 16, None, mode="ideal")
    got = [int(a[0]) for a in (c.latency, c.end, c.accumulate, c.activations, c.dropped_events)]
    assert got == [39, 39, 18, 2, 0]


def test_counter_wrap_by_hand():
    # 4x4 frame, SPARSE_SIZE 8 -> 3-bit counter; 11 spikes scanned (2 per spike), 11 mod 8 = 3 replayed.
    # PENC 4 -> 4 chunks. start 1 + (1 + 2*4 + 2*11) + 1 hand-off + 9*3 replay + (4 - 1) sweep = 63
    c = conv_cycles(np.array([[[11]]]), 2, 2, 16, 4, 3, 4, counter_bits(8), mode="ideal")
    assert counter_bits(8) == 3 and counter_bits(450) == 9 and counter_bits(512) == 9
    assert int(c.end[0]) == 1 + 31 + 1 + 27 + 3 == 63
    assert int(c.dropped_events[0]) == 8 and int(c.accumulate[0]) == 27
    # a multiple of 2^bits hands nothing over: scan, then no replay
    z = conv_cycles(np.array([[[8]]]), 2, 2, 16, 4, 3, 4, 3, mode="rtl")
    assert int(z.accumulate[0]) == 0 and int(z.dropped_events[0]) == 8


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_model_matches_transcription_on_random_layers(seed):
    rng = np.random.default_rng(seed)
    steps, ic, oc = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 7))
    e, w = int(rng.integers(1, oc + 1)), int(rng.integers(4, 10))
    f = w * w
    density = float(rng.choice([0, 0.02, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0]))
    counts = rng.binomial(f, density, size=(steps, ic)).tolist()
    penc, sparse = (f >> 2, f >> 1) if rng.random() < 0.5 else (math.ceil(f / 4), f)
    assert model(counts, oc, e, w, penc, sparse) == conv_ec_fsm(counts, oc, e, f, (w - 2) ** 2, penc,
                                                                  counter_bits(sparse))


@pytest.mark.parametrize("w", [5, 7, 9])
def test_chunking_follows_penc_size(w):
    # F >> 2 leaves a remainder when 4 does not divide F: five chunks, 2 cycles each
    f = w * w
    four = conv_cycles(np.zeros((1, 1, 1), int), 1, 1, f, (w - 2) ** 2, 3, math.ceil(f / 4))
    five = conv_cycles(np.zeros((1, 1, 1), int), 1, 1, f, (w - 2) ** 2, 3, f >> 2)
    assert math.ceil(f / (f >> 2)) == 5
    assert int(five.compress[0]) - int(four.compress[0]) == 2


def test_model_matches_transcription_on_every_small_layer():
    # every layer of 2 steps x 2 maps with 0, 1, 2, 3 or all spikes per map, 1-3 output channels on
    # 1-3 cores, 4x4 and 5x5 frames, both encoder sizes: the hand-off and sweep boundaries that
    # random layers rarely reach (found by mutation testing)
    import itertools

    cases = 0
    for w, oc in itertools.product((4, 5), (1, 2, 3)):
        f = w * w
        for e, (penc, sparse), flat in itertools.product(range(1, oc + 1), ((f >> 2, f >> 1), (f, f)),
                                                         itertools.product((0, 1, 2, 3, f), repeat=4)):
            counts = [list(flat[:2]), list(flat[2:])]
            got = model(counts, oc, e, w, penc, sparse)
            assert got == conv_ec_fsm(counts, oc, e, f, (w - 2) ** 2, penc, counter_bits(sparse)), \
                (counts, oc, e, w, penc)
            cases += 1
    assert cases == 2 * (1 + 2 + 3) * 2 * 5 ** 4
