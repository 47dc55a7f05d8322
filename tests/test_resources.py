"""FPGA resource formulas against recorded Yosys syntheses, device fit, and power from resources."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from spiketune.hardware import resources as rs
from spiketune.network import arch

SYNTH = Path(__file__).resolve().parents[1] / "benchmarks" / "synth"


def _every_row(component: str) -> list[dict]:
    return [{**r, "params": json.loads(r["params"])} for r in csv.DictReader((SYNTH / "results.csv").open())
            if r["component"] == component]


def _rows(component: str) -> list[dict]:
    """The grid's syntheses of ``component`` (conv_ec: those with the grid's channels, not the
    units that vary the counters or stand for real layers)."""
    fit = _fit_module()
    return [r for r in _every_row(component) if not (fit.held_whole(r) or fit.counters(r))]


def _fit_module():
    import sys

    sys.path.insert(0, str(SYNTH))
    import fit

    return fit


def _probe_luts() -> dict[int, float]:
    """LUTs of the conv event-control unit's address split alone (probe ``split``), by width."""
    return {r["params"]["INPUT_FRAME_WIDTH"]: float(r["lut"]) for r in _rows("split")}


def test_shipped_coefficients_are_the_recorded_fit():
    fitted = json.loads((SYNTH / "coefficients.json").read_text())
    shipped = {c: {r: fitted[c][r]["coefficients"] for r in ("lut", "ff")} for c in rs.REGRESSORS}
    assert shipped == rs.COEFFICIENTS
    assert {int(w): v for w, v in fitted["width_luts"].items()} == rs.WIDTH_LUTS
    # the probe's error range the reports quote is the fit's
    errors = fitted["conv_ec"]["lut"]["held_out_relative_errors"]
    assert rs.PROBE_ERROR == f"{min(errors):+.0%} to {max(errors):+.0%}"
    # the dense core's range is its formula's against every dense-core synthesis, fitted or held out
    rows = [(row["params"], float(row["lut"])) for row in _every_row("dense_nc")]
    errors = [rs.dense_core(p["FRAME_WIDTH"] ** 2, p["OUT_CHANNELS"], p["TIME_STEPS"]).lut / y - 1
              for p, y in rows]
    assert rs.DENSE_LUT_ERROR == f"{min(errors):+.0%} to {max(errors):+.0%}"


# Largest relative error (LUT, FF) on held-out syntheses (benchmarks/synth/coefficients.json).
# conv_ec's LUTs at widths not a power of two (every one held out) are predicted with the
# address split synthesized alone (probe ``split``); the whole unit also pays chunk-address
# arithmetic there and ABC maps the divider differently in context: the prediction misses
# the 10% target at 3x3 (+28%), 5x5 (+19%), 9x9 (-14%), 10x10 (+13%), 12x12 (-10.5%),
# 14x14 (-34%), 15x15 (-10.5%), 17x17 (-11%), 20x20 (-29%), 28x28 (-54%: the chunk addressing
# of its 196-bit chunks).
# The shipped table takes the whole unit's own LUTs at those widths.
# The hybrid design's dense core: its LUTs are irregular in the frame size (7x7 has 8x8's: 17.6%
# under the formula; 14x14 15.0% over), so its reports name them an estimate (DENSE_LUT_ERROR).
BOUND = {"conv_nc": (0.10, 0.10), "fc_ec": (0.10, 0.10), "fc_nc": (0.10, 0.10), "conv_ec": (0.55, 0.10),
         "dense_nc": (0.18, 0.10)}


@pytest.mark.parametrize("component", sorted(BOUND))
def test_formulas_within_bound_of_yosys_on_held_out_points(component):
    fit = _fit_module()
    rows = sorted((r for r in _every_row(component) if not fit.held_whole(r)),
                  key=lambda r: rs.REGRESSORS[component](r["params"])[-1])
    probe = _probe_luts()
    for res, bound in zip(("lut", "ff"), BOUND[component], strict=True):
        _, held = fit.split_for(component, res, rows)
        assert held
        for r in held:
            p = r["params"]
            c, x = rs.COEFFICIENTS[component][res], rs.regressors(component, res, p)
            got = sum(a * v for a, v in zip(c, x, strict=True)) + rs.offset(component, res, p, probe)
            assert abs(got - float(r[res])) <= bound * float(r[res]), (component, res, p)


def _conv_ec(width: int) -> rs.Resources:
    f = width * width
    return rs.event_control(rs.LayerHardware("conv", 8, 32, 64, f, f, f, 16))


def test_conv_event_control_pays_a_divider_at_widths_not_a_power_of_two():
    yosys = {r["params"]["INPUT_FRAME_WIDTH"]: float(r["lut"]) for r in _rows("conv_ec")}
    # the power-of-two widths split addresses with bit slices, every other width pays a divider
    assert all(yosys[w] < 1_200 for w in (4, 8, 16)) and all(yosys[w] > 4_000 for w in (5, 6, 7, 10, 12, 13))
    a, k, b = rs.COEFFICIENTS["conv_ec"]["lut"]
    # counters: 32 input channels (5 bits), 3 x 64 output channels (6), 3 x 16 steps (4): 35 bits;
    # priority encoder: F/4 pixels, 4 at 4x4, 64 at 16x16 (no probe there: no split cost)
    a += 35 * k
    assert _conv_ec(4).lut == pytest.approx(a + b * 4) and _conv_ec(16).lut == pytest.approx(a + b * 64)
    # a width whose whole unit was synthesized: the shipped split is the unit's own, so the model is Yosys's
    for w in json.loads((SYNTH / "coefficients.json").read_text())["width_luts_from_whole_unit"]:
        assert _conv_ec(w).lut == pytest.approx(yosys[w], abs=0.01), w
    # a width with only the probe: formula + the probe's LUTs; out of the table: the median divider
    probe = _probe_luts()
    assert _conv_ec(19).lut == pytest.approx(a + b * (361 >> 2) + probe[19])
    dividers = sorted(v for w, v in rs.WIDTH_LUTS.items() if w & (w - 1))
    assert _conv_ec(100).lut == pytest.approx(a + b * 2500 + dividers[len(dividers) // 2])
    assert _conv_ec(128).lut == pytest.approx(a + b * 4096)


def test_conv_event_control_with_other_channels_time_steps_and_cores_within_10_percent():
    # whole units synthesized with the channels, time steps and cores of real layers (none in a fit
    # or a table), against the model as shipped
    other = [r for r in _every_row("conv_ec") if _fit_module().held_whole(r)]
    assert len(other) >= 6 and {r["params"]["INPUT_FRAME_WIDTH"] for r in other} >= {4, 8, 13, 14, 15, 16}
    for r in other:
        p = r["params"]
        f = p["INPUT_FRAME_WIDTH"] ** 2
        got = rs.event_control(rs.LayerHardware("conv", p["EC_SIZE"], p["INPUT_CHANNELS"],
                                                p["OUTPUT_CHANNELS"], f, f, f, p["TIME_STEPS"]))
        for res in ("lut", "ff"):
            assert abs(getattr(got, res) - float(r[res])) <= 0.10 * float(r[res]), (res, p)


def test_estimated_event_control_widths_are_named_in_the_cost_report():
    from spiketune.hardware import HardwareConfig, simulate

    # the conv inputs: 26x26 (probe only) and 12x12 (whole unit); 100x100 has no synthesis at all
    sources = [rs.conv_ec_lut_source(w) for w in (16, 11, 26, 100)]
    assert sources == ["formula", "synthesis", "probe", "median"]
    rep = simulate(_traces("2C3-MP2-2C3-10", (1, 26, 26), 2), HardwareConfig())
    (note,) = rep.resources["estimates"]
    assert note.startswith("L0:conv (26x26 input): event-control LUTs estimated from its address split")
    assert rs.PROBE_ERROR in note
    # the report's resources section says it too
    from spiketune.reporting.report import _resources_section

    assert f"Estimated, not synthesized: {note}." in _resources_section(rep.to_dict()).text
    fitted = json.loads((SYNTH / "coefficients.json").read_text())
    assert rs.WHOLE_UNIT_WIDTHS == set(fitted["width_luts_from_whole_unit"])
    # the published and default networks reach no estimated width: Study A's network on
    # Fashion-MNIST, SVHN and 32x32 event frames, VGG-9 on 32x32 and 28x28, the default digits network
    nets = [("32C3-P2-32C3-MP2-256-10", (1, 28, 28)), ("32C3-P2-32C3-MP2-256-10", (3, 32, 32)),
            (VGG9, (2, 32, 32)), (VGG9, (1, 28, 28)),
            ("16C3p1-MP2-32C3p1-MP2-64-10", (1, 8, 8))]
    for text, shape in nets:
        specs = arch.parse(text, shape)
        assert rs.allocation(specs, [4] * len(specs), 4, shape).estimates == [], (text, shape)


def test_block_ram_closed_forms_equal_yosys():
    # potential RAMs (ram_style "block"): block RAMs, and the read multiplexer of a RAMB36 and a
    # RAMB18 stacked in depth, exact
    pots = _rows("bram_pot")
    assert {r["params"]["RAM_DEPTH"] for r in pots} >= {512, 513, 1024, 1025}
    for r in pots:
        got = rs.potential_ram(r["params"]["RAM_DEPTH"])
        assert (got.lut, got.ff, got.bram) == (float(r["lut"]), float(r["ff"]), float(r["bram"])), r["params"]
    # spike RAMs (no attribute): Yosys's choice of LUT-RAM or block RAM, block RAMs exact; LUT-RAM
    # LUTs within 10% (the write decoder of 8 banks is 16 LUTs, the formula 8), FFs exact
    spikes = _rows("bram_spk")
    assert len(spikes) >= 30 and {float(r["bram"]) == 0 for r in spikes} == {True, False}
    for r in spikes:
        p = r["params"]
        got = rs.spike_ram(p["RAM_DEPTH"], 1, p["RAM_WIDTH"])
        assert (got.bram, got.ff) == (float(r["bram"]), float(r["ff"])), p
        assert abs(got.lut - float(r["lut"])) <= 0.10 * float(r["lut"]), p
        if got.bram:
            assert got.lut == float(r["lut"]), p
    for comp in ("conv_nc", "fc_nc"):
        assert {float(r["dsp"]) for r in _rows(comp)} == {rs.DSP_PER_CORE}


def test_one_conv_layer_adds_its_components():
    block = arch.parse("4C3p1-10", (2, 8, 8))[0]
    (layer,) = rs.layers_from_specs([block], cores=[2], num_steps=5)
    assert (layer.frame_in, layer.frame_out, layer.spike_frame) == (64, 64, 64)
    r = rs.resources([layer], input_channels=2, input_frame=64)
    core = rs.neural_core(layer)
    lr = r.layers[0]
    assert lr.cores == core * 2 and lr.potential_rams.bram == 2 * 0.5
    # 20 rows x 64 bits: LUT-RAM, one bank of five RAM32M16 (8 x 64 synthesized: 5 RAM32M16)
    assert lr.spike_ram == rs.Resources(lut=8 * 5, ff=64)
    # 2 filters per core, each 2*9 weights + bias, 5-bit words: 38 words -> 1 LUT-RAM LUT per bit
    assert lr.weights.lut == 2 * 1 * 5
    assert r.total.dsp == 2 * rs.DSP_PER_CORE


VGG9 = "64C3p1-28C3p1-BN-MP2-48C3p1-54C3p1-BN-MP2-120C3p1-126C3p1-140C3p1-BN-MP2-1064-D0.1-110"


def _allocation(arch_text: str, shape: tuple[int, int, int], cores: list[int], steps: int):
    blocks = arch.parse(arch_text, shape)
    return rs.resources(rs.layers_from_specs(blocks, cores, steps), shape[0], shape[1] * shape[2])


def test_digits_default_network_and_vgg9_fit_named_devices():
    digits = _allocation("16C3p1-MP2-32C3p1-MP2-64-10", (1, 8, 8), [16, 32, 50, 10], 8)
    vgg9 = _allocation(VGG9, (2, 32, 32), [64, 28, 48, 54, 120, 126, 140, 56, 50], 20)
    # digits: 108 cores; LUTs (mostly the cores' spike-row logic) exceed a Zynq-7020's 53,200
    assert rs.smallest_fit(digits.total) == "xc7a100t" and digits.total.lut > 53_200
    assert digits.total.dsp == 2 * 108
    # VGG-9 as published (one core per conv channel, 56 and 50 fc cores): 686 cores
    assert rs.smallest_fit(vgg9.total) == "xcvu9p" and vgg9.total.dsp == 2 * 686
    assert not vgg9.fits("xcku115")  # more LUTs than its 663,360


def test_power_from_resources_by_hand():
    d = rs.DEVICES["xcku5p"]
    core = rs.Resources(lut=1000, ff=500, bram=0.5, dsp=2)
    k = rs.PowerCoefficients()
    p = rs.power(core * 4, [rs.Activity(core * 4, 1000)], latency_cycles=2000, clock_hz=200e6, device=d)
    # clock: 2000 FF x 0.002 pJ x 200 MHz = 0.8 mW; dynamic: 1000 cycles x 4 x (20 + 5 + 2.5 + 4) pJ
    # = 126 nJ over 10 us = 12.6 mW
    assert p["clock_w"] == pytest.approx(2000 * k.clock_ff_pj * 1e-12 * 200e6)
    assert p["dynamic_w"] == pytest.approx(126e-9 / 10e-6)
    assert p["power_w"] == pytest.approx(d.static_w + 0.0008 + 0.0126)
    assert p["energy_per_inference_j"] == pytest.approx(p["power_w"] * 10e-6)


def test_allocation_fits_is_monotone_in_cores():
    blocks = arch.parse("16C3p1-MP2-32C3p1-MP2-64-10", (1, 8, 8))
    small = rs.Device("tiny", lut=40_000, ff=80_000, bram=60, dsp=60, static_w=0.1, source="test")
    assert rs.allocation_fits(blocks, [8, 8, 8, 4], 8, (1, 8, 8), small)  # 28 cores, 56 DSP
    assert not rs.allocation_fits(blocks, [16, 32, 50, 10], 8, (1, 8, 8), small)  # 108 cores, 216 DSP


def test_weight_memory_by_hand():
    fc = rs.LayerHardware("fc", cores=4, in_channels=1, out_channels=10, frame_in=1000, frame_out=1,
                          spike_frame=1, num_steps=5)
    # 3 neurons per core x 1001 words of 5 bits: 3003 words in 4K x 9 RAMB36 -> 1 per core
    assert rs.weight_memory(fc) == rs.Resources(bram=4)
    assert rs.narrow_bram(8193, 4) == 2 and rs.narrow_bram(100, 40) == 1


def _traces(arch_text: str, shape: tuple[int, ...], steps: int, samples: int = 1, seed: int = 0):
    """A trace of ``arch_text`` with random spike counts (the resources do not depend on them)."""
    import numpy as np

    from spiketune import traces

    blocks = arch.parse(arch_text, shape)
    layers = [traces.LayerSpec(b.kind, tuple(b.in_shape), tuple(b.conv_shape) or (b.out_channels,),
                               tuple(b.out_shape), kernel=b.kernel, stride=b.stride, padding=b.padding,
                               pool=b.pool) for b in blocks]
    rng = np.random.default_rng(seed)
    counts = [rng.integers(0, 2, (samples, steps, int(np.prod(s))))
              for s in [shape] + [layer.out_shape for layer in layers]]
    zeros = np.zeros(samples)
    return traces.Traces(Path("."), steps, "rate", shape, layers, counts, zeros, zeros)


FC_NET = ("4-2", (8,), 1)  # 8 inputs -> 4 -> 2 neurons, T = 1


def _fc_net_luts(e0: int, e1: int) -> float:
    """LUTs of FC_NET with e0, e1 cores, from the coefficients by hand: fc cores
    226.4 - 0.95 clog2(n) (n = 4: 224.5, n = 2: 225.45); fc_ec 866.333333 + 0.057292 B
    (B = 8: 866.791669, B = 4: 866.562501); 1-row spike RAMs in LUT-RAM, one RAM32M16 (8 LUTs,
    14 bits) each: 4 and 2 bits (layer outputs), the 8 input bits."""
    return 224.5 * e0 + 225.45 * e1 + 866.791669 + 866.562501 + 8 + 8 + 8


def test_cost_report_power_from_resources_by_hand():
    from spiketune.hardware import HardwareConfig, simulate

    t = _traces("3", (4,), 1)
    t.counts[0][:] = [[[1, 1, 0, 0]]]
    rep = simulate(t, HardwareConfig(cores=[3]))
    # 3 fc cores (n = 3): LUT 226.4 - 0.95*2 = 224.5, FF 23 + 2 = 25, 2 DSP; weights: 5 words of
    # 5 bits per core -> 1 RAMB36 each; fc_ec (B = 4): 866.562501 LUT, 308.25 FF; spike RAMs
    # 1 x 3 bits and (input) 1 x 4 bits in LUT-RAM: 8 LUT + 3 FF, 8 LUT + 4 FF
    r = rep.resources
    expected = (3 * 224.5 + 866.562501 + 16, 75 + 308.25 + 7, 3, 6)
    assert (r["lut"], r["ff"], r["bram"], r["dsp"]) == pytest.approx(expected)
    assert r["smallest_device"] == "xc7z020" and r["device"] is None and r["fits_device"] is None
    assert "the smallest catalogued device that holds it is the xc7z020" in r["fit"]
    # cycles (test_hardware's hand count): scan 9, accumulate 2, sweep 1, latency 18 at 200 MHz
    k = rs.PowerCoefficients()
    cores = 2 + 1, 3 * 224.5 * k.lut_pj + 75 * k.ff_pj + 3 * k.bram_pj + 6 * k.dsp_pj
    control = 9, (866.562501 + 8) * k.lut_pj + (308.25 + 3) * k.ff_pj
    e_dyn = 1e-12 * (cores[0] * cores[1] + control[0] * control[1])
    fps = 200e6 / 18
    clock_w = (75 + 308.25 + 7) * k.clock_ff_pj * 1e-12 * 200e6
    assert rep.power_model["model"] == "resources" and rep.power_model["device"] == "xc7z020"
    assert rep.power_w == pytest.approx(0.15 + clock_w + e_dyn * fps, rel=1e-12)
    assert rep.power_model["dynamic_energy_j"] == pytest.approx(e_dyn + clock_w / fps, rel=1e-12)
    assert rep.fps_per_w == pytest.approx(fps / rep.power_w)
    # calibrate()'s two knobs: the scale multiplies the clock and dynamic terms, the static replaces
    hw = HardwareConfig(cores=[3], power={"dynamic_scale": 2.0, "device_static_w": 0.4})
    assert simulate(t, hw).power_w == pytest.approx(0.4 + 2 * (clock_w + e_dyn * fps), rel=1e-12)


def test_allocator_takes_a_device_as_its_budget_by_hand():
    from spiketune.errors import ConfigError
    from spiketune.hardware import HardwareConfig, allocate, simulate

    t = _traces(*FC_NET)
    hw = HardwareConfig()
    big = dict(lut=10**6, ff=10**6, bram=10**3, dsp=10**3, static_w=0.1, source="test")
    # each core has 2 DSP and (its weights: 9 or 5 words of 5 bits) 1 block RAM, so a device of
    # 8 DSP holds 4 cores, one of 3 block RAMs 3 cores (candidates: 1, 2, 4 and 1, 2 cores)
    for limit, cores in (({"dsp": 8}, 4), ({"bram": 3}, 3), ({"dsp": 4}, 2)):
        dev = rs.Device("test", **{**big, **limit})
        assert sum(allocate(t, hw, None, device=dev).cores) == cores  # sequential: the most that fit
        # layer-pipelined: the smallest slowest-layer latency of all allocations of at most that many cores
        piped = hw.model_copy(update={"pipeline": "layer_pipelined"})
        a = allocate(t, piped, None, device=dev)
        best = min(max(c.latency_cycles for c in simulate(t, piped, cores=[e0, e1]).layers)
                   for e0 in (1, 2, 4) for e1 in (1, 2) if e0 + e1 <= cores)
        assert sum(a.cores) <= cores and a.latency_cycles == best
    # LUT-bound: 2 + 2 cores need 2,657.25 LUTs by hand: a device of 2,658 holds them, one of 2,657 does not
    need = _fc_net_luts(2, 2)
    assert rs.allocation(t.layers, [2, 2], 1, (8,)).total.lut == pytest.approx(need, abs=1e-9)
    assert 2657 < need < 2658
    at = allocate(t, hw, None, device=rs.Device("test", **{**big, "lut": 2658}))
    below = allocate(t, hw, None, device=rs.Device("test", **{**big, "lut": 2657}))
    assert at.cores == [2, 2] and sum(below.cores) == 3
    with pytest.raises(ConfigError, match="does not fit the test even with the fewest cores"):
        allocate(t, hw, None, device=rs.Device("test", **{**big, "dsp": 3}))


def test_device_in_the_config_allocates_and_is_checked():
    from spiketune.errors import ConfigError
    from spiketune.hardware import HardwareConfig, from_dict, simulate

    t = _traces("16C3p1-MP2-32C3p1-MP2-64-10", (1, 8, 8), 8)
    rep = simulate(t, HardwareConfig(device="xc7z020"))
    r = rep.resources
    assert r["fits_device"] is True
    assert rs.fits(rs.Resources(r["lut"], r["ff"], r["bram"], r["dsp"]), "xc7z020")
    # the default allocation (16, 32, 32, 10 cores) does not fit it: the device-budget one has fewer
    default = simulate(t, HardwareConfig()).resources
    assert default["lut"] > rs.DEVICES["xc7z020"].lut and rep.total_cores < 90
    told = simulate(t, HardwareConfig(device="xc7z020", cores=[16, 32, 32, 10]))
    assert told.resources["fits_device"] is False and "does not hold it" in told.resources["fit"]
    assert any("does not fit the xc7z020" in w for w in told.warnings)
    with pytest.raises(ConfigError, match="device 'xc7z999' is not in the catalog: xc7z020"):
        from_dict({"device": "xc7z999"})


def test_default_digits_network_and_vgg9_cost_reports_name_their_device():
    from spiketune.hardware import HardwareConfig, simulate

    # the default run: digits 8x8, T = 8, one core per conv channel, fc cores dividing 64 (32) and 10
    digits = simulate(_traces("16C3p1-MP2-32C3p1-MP2-64-10", (1, 8, 8), 8), HardwareConfig())
    assert [layer.cores for layer in digits.layers] == [16, 32, 32, 10]
    assert digits.resources["smallest_device"] == "xc7a100t"
    assert digits.resources["fit"].endswith("the smallest catalogued device that holds it is the xc7a100t")
    # Study B's VGG-9 on CIFAR-10 frames (2 x 32 x 32), T = 20, its published allocation
    cores = [64, 28, 48, 54, 120, 126, 140, 56, 50]
    vgg9 = simulate(_traces(VGG9, (2, 32, 32), 20), HardwareConfig(cores=cores, core_counts="ideal"))
    assert vgg9.resources["smallest_device"] == "xcvu9p" and vgg9.resources["dsp"] == 2 * sum(cores)


def test_layer_energies_from_resources_by_hand_add_up_to_the_total():
    from spiketune.hardware import HardwareConfig, simulate

    t = _traces(*FC_NET)  # 8 inputs -> 4 -> 2 neurons, T = 1, cores 4 and 2 (one group each)
    t.counts[0][:] = [[[1, 1, 1, 0, 0, 0, 0, 0]]]
    t.counts[1][:] = [[[1, 1, 0, 0]]]
    rep = simulate(t, HardwareConfig(cores=[4, 2]))
    # cycles (fc_cycles by hand): L0: scan (1 + 2 + 2) + 2 x 3 = 11, accumulate 3, sweep 1,
    # latency 11 + (3 + 1 + 1 + 1) + 4 = 21; L1: scan 5 + 2 x 2 = 9, accumulate 2, sweep 1, latency 18
    assert [c.latency_cycles for c in rep.layers] == [21, 18] and rep.latency_cycles == 39
    # per-cycle pJ at 0.02 / LUT, 0.01 / FF, 5 / BRAM, 2 / DSP. L0 cores: 4 x (224.5 LUT, 25 FF,
    # 2 DSP) + 4 weight BRAMs; L0 control: fc_ec (B = 8) 866.791669 LUT, 308.5 FF + its 4-bit
    # spike RAM 8 LUT, 4 FF. L1 cores: 2 x (225.45 LUT, 24 FF, 2 DSP) + 2 BRAMs; control: fc_ec
    # (B = 4) 866.562501 LUT, 308.25 FF + 8 LUT, 2 FF
    l0 = (898 * 0.02 + 100 * 0.01 + 4 * 5 + 8 * 2) * 4 + (874.791669 * 0.02 + 312.5 * 0.01) * 11
    l1 = (450.9 * 0.02 + 48 * 0.01 + 2 * 5 + 4 * 2) * 3 + (874.562501 * 0.02 + 310.25 * 0.01) * 9
    # clock: 0.002 pJ per FF per cycle over the 39 cycles; L0 also carries the 8-bit input RAM's 8 FF
    l0 += (100 + 312.5 + 8) * 0.002 * 39
    l1 += (48 + 310.25) * 0.002 * 39
    assert (l0, l1) == pytest.approx((479.46816718, 295.78125018), abs=1e-9)
    assert rep.layers[0].energy_uj == pytest.approx(l0 * 1e-6, rel=1e-12)
    assert rep.layers[1].energy_uj == pytest.approx(l1 * 1e-6, rel=1e-12)
    # static share: the xc7z020's 0.15 W over 39 cycles at 200 MHz = 29,250 pJ
    assert rep.power_model["device"] == "xc7z020"
    static_pj = 0.15 * 39 / 200e6 * 1e12
    assert rep.energy_per_inference_uj == pytest.approx((l0 + l1 + static_pj) * 1e-6, rel=1e-12)


def test_hybrid_dense_core_resources_and_power_by_hand():
    from dataclasses import asdict

    from spiketune.hardware.config import from_dict
    from spiketune.hardware.hybrid import Hybrid, dense_cycles

    # a 3-channel 8x8 input, 3x3 conv to 4 channels (6x6, pooled to 3x3), then 10 fc neurons; T = 2
    t = _traces("4C3-MP2-10", (3, 8, 8), 2)
    rep = Hybrid(from_dict({"kind": "hybrid", "cores": [1, 5]})).cost(t)
    # the dense core from its formula by hand: intercept + clog2(4 channels) = 2 + 64 pixels
    lut, ff = (rs.COEFFICIENTS["dense_nc"][r] for r in ("lut", "ff"))
    dense = rs.Resources(lut[0] + 2 * lut[1] + 64 * lut[2], ff[0] + 2 * ff[1] + 64 * ff[2])
    assert rs.dense_core(64, 4, 2) == pytest.approx(dense)
    # its output spikes: 2 steps x 4 channels = 8 rows of 3x3 = 9 bits, one RAM32M16 (14 bits of 32 rows)
    spikes = rs.spike_ram(2, 4, 9)
    assert spikes == rs.Resources(lut=8, ff=9)
    # the fc layer on 5 sparse cores, its input the dense layer's spike rows
    rest = rs.allocation(t.layers[1:], [5], 2, (4, 3, 3))
    assert rest.input_ram == spikes
    total = dense + spikes + rest.layers[0].total
    r = rep.resources
    assert (r["lut"], r["ff"], r["bram"], r["dsp"]) == pytest.approx(
        (total.lut, total.ff, total.bram, total.dsp))
    assert r["layers"][0] == pytest.approx(asdict(dense + spikes))
    assert r["input_ram"] == asdict(rs.Resources())
    assert r["estimates"] == [f"dense core: LUTs from a formula in the frame and output channels that "
                              f"misses its syntheses by {rs.DENSE_LUT_ERROR}"]
    # power: the dense core busy every one of its 1 + 4 x 2 x (64 + 27 + 2) = 745 cycles, its spike
    # RAM written once per pass and step (8 cycles), its flip-flops clocked over the whole inference
    cyc = dense_cycles(2, 3, 4, 64)
    assert cyc == 745 and rep.layers[0].latency_cycles == 745
    k = rs.PowerCoefficients()
    busy = (745 * (dense.lut * k.lut_pj + dense.ff * k.ff_pj)
            + 8 * (spikes.lut * k.lut_pj + spikes.ff * k.ff_pj))
    clock = (dense.ff + spikes.ff) * k.clock_ff_pj * rep.latency_cycles
    assert rep.power_model["model"] == "resources"
    assert rep.layers[0].energy_uj == pytest.approx((busy + clock) * 1e-6, rel=1e-12)
    static_uj = rs.DEVICES[rep.power_model["device"]].static_w / rep.fps * 1e6
    assert rep.energy_per_inference_uj == pytest.approx(sum(c.energy_uj for c in rep.layers) + static_uj,
                                                        rel=1e-12)


def test_hybrid_shapes_its_rtl_does_not_build_keep_the_operations_model():
    from spiketune.errors import ConfigError
    from spiketune.hardware.config import from_dict
    from spiketune.hardware.hybrid import Hybrid

    gray = _traces("4C3-MP2-10", (1, 8, 8), 2)
    rep = Hybrid(from_dict({"kind": "hybrid"})).cost(gray)
    assert rep.resources is None and rep.power_model["model"] == "operations"
    assert "this first layer has input channels 1 (the RTL: 3)" in rep.power_model["note"]
    # a device needs the dense core's resources
    with pytest.raises(ConfigError) as e:
        Hybrid(from_dict({"kind": "hybrid", "dense_rows": 2, "device": "xcvu9p"})).cost(
            _traces("4C3-MP2-10", (3, 8, 8), 2))
    assert str(e.value) == ("device: the hybrid design's dense core has resource formulas only as its RTL "
                            "builds it; this first layer has dense_rows 2 (the RTL: 1)")
    assert Hybrid(from_dict({"kind": "hybrid"})).cost(_traces("4C3-MP2-10", (3, 40, 40), 1)).resources is None


def test_hybrid_allocates_its_sparse_cores_in_the_room_the_dense_core_leaves():
    from spiketune.errors import ConfigError
    from spiketune.hardware.config import from_dict
    from spiketune.hardware.hybrid import Hybrid

    t = _traces("32C3p1-MP2-32C3p1-MP2-256-10", (3, 32, 32), 4)
    dense = rs.dense_core(1024, 32, 4)
    room = rs.room_left("xcku5p", dense)
    assert (room.lut, room.ff) == (int(216_960 - dense.lut), int(433_920 - dense.ff))
    rep = Hybrid(from_dict({"kind": "hybrid", "device": "xcku5p"})).cost(t)
    r = rep.resources
    assert r["fits_device"] is True and r["lut"] <= 216_960
    # the sparse layers' allocation is the allocator's under the room left
    from spiketune.hardware.snn_dse.alloc import allocate
    from spiketune.traces import Traces

    rest = Traces(t.path, 4, t.encoding, t.layers[0].out_shape, t.layers[1:], t.counts[1:], t.labels,
                  t.predictions)
    hw = from_dict({"kind": "hybrid"})
    assert [c.cores for c in rep.layers[1:]] == allocate(rest, hw, None, device=room).cores
    # a device the dense core alone overfills
    assert dense.lut > rs.DEVICES["xc7z020"].lut
    with pytest.raises(ConfigError, match="does not fit the xc7z020 less the dense core"):
        Hybrid(from_dict({"kind": "hybrid", "device": "xc7z020"})).cost(t)
