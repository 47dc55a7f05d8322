"""Turn spike traces into a CostReport (latency, FPS, power, FPS/W) on the SNN-DSE design."""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np

from ...errors import ConfigError
from ...traces import LayerSpec, Traces
from .. import resources as rs
from ..base import CostReport, LayerCost
from ..neuron_cost import check_runs
from .alloc import allocate
from .config import HardwareConfig
from .cycles import LayerCycles
from .layers import MODELS, buildable, check_memory, default_cores, layer_cycles
from .power import layer_energy_j, resource_power


def sparse_layer(name: str, layer: LayerSpec, c: LayerCycles, cores: int, counts: np.ndarray,
                 hw: HardwareConfig) -> LayerCost:
    """One layer's LayerCost from its cycles on the event-driven cores."""
    end = float(c.end.mean())
    acc, act = float(c.accumulate.mean()), float(c.activate.mean())
    active = layer.out_channels / (c.groups * cores)  # last group may leave cores idle
    events = float(counts.sum((1, 2)).mean())
    dropped = float(c.dropped_events.mean())
    other = max(0.0, end - acc - act)
    return LayerCost(
        name=name, kind=layer.kind, unit=f"sparse {layer.kind}", cores=cores,
        latency_cycles=float(c.latency.mean()), input_events_per_inference=events, dropped_events=dropped,
        dropped_fraction=dropped / (events * c.groups) if events else 0.0,
        energy_uj=layer_energy_j(layer, c, hw) * 1e6,
        breakdown={"accumulate (core replay)": acc, "neuron sweep": act, "scan / control": other},
        detail={"groups": c.groups, "compress_cycles": float(c.compress.mean()),
                "accumulate_cycles": acc, "activate_cycles": act, "other_cycles": other,
                "core_utilisation": active * (acc + act) / end})


def layer_warnings(layers: list[LayerSpec], cores: list[int], costs: list[LayerCost],
                   hw: HardwareConfig) -> list[str]:
    """Warnings about unbuildable core counts, extended neuron cores and dropped spikes,
    each naming its layer as ``costs`` do."""
    out = []
    if hw.core_counts == "divisors":
        out += [f"{c.name}: {e} cores do not divide its {layer.out_channels} channels/neurons; the RTL "
                f"cannot build that (core_counts: ideal allows it)"
                for layer, e, c in zip(layers, cores, costs, strict=True) if not buildable(layer, e)]
    out += [f"{c.name}: '{layer.dynamics.model}' neurons keep {layer.dynamics.states} states; costed on "
            f"sparse cores extended with a second state RAM (not in the published RTL)"
            for layer, c in zip(layers, costs, strict=True) if layer.dynamics.states > 1]
    out += [f"{c.name}: the hardware drops {100 * c.dropped_fraction:.1f}% of its input spikes "
            f"({c.dropped_events:.1f} per inference over its passes)" for c in costs if c.dropped_events > 0]
    return out


def allocation_resources(traces: Traces, hw: HardwareConfig, cores: list[int],
                         names: list[str] | None = None) -> rs.AllocationResources:
    """FPGA resources of ``traces``' network with ``cores`` per layer on the sparse cores;
    ``names``: its layers' (default: the traces')."""
    names = names or [traces.layer_name(i) for i in range(len(traces.layers))]
    return rs.allocation(traces.layers, cores, traces.num_steps, traces.input_shape, hw.weight_bits, names)


def resource_summary(alloc: rs.AllocationResources, hw: HardwareConfig) -> tuple[dict, rs.Device, list[str]]:
    """The cost report's ``resources`` entry, the device whose static power counts (the
    config's, else the smallest that holds the allocation, else the largest) and warnings."""
    total = alloc.total
    smallest = rs.smallest_fit(total)
    fits = None if hw.device is None else rs.fits(total, hw.device)
    largest = max(rs.DEVICES.values(), key=lambda d: d.lut)
    used = rs.DEVICES[hw.device or smallest or largest.name]
    said = [f"the {hw.device} {'holds' if fits else 'does not hold'} it"] if hw.device else []
    said.append(f"the smallest catalogued device that holds it is the {smallest}" if smallest
                else "no catalogued device holds it")
    summary = {**asdict(total), "device": hw.device, "fits_device": fits, "smallest_device": smallest,
               "fit": f"{describe(total)}: " + "; ".join(said),
               "layers": [asdict(layer.total) for layer in alloc.layers],
               "input_ram": asdict(alloc.input_ram), "estimates": alloc.estimates}
    warnings = []
    if fits is False:
        warnings.append(f"the allocation ({describe(total)}) does not fit the {hw.device} ({describe(used)})")
    if smallest is None:
        warnings.append(f"the allocation ({describe(total)}) fits no catalogued device; its static power "
                        f"is the largest one's ({largest.name})")
    return summary, used, warnings


def describe(r: rs.Resources | rs.Device) -> str:
    return f"{r.lut:,.0f} LUT, {r.ff:,.0f} FF, {r.bram:g} BRAM, {r.dsp:,.0f} DSP"


def report(traces: Traces, hw: HardwareConfig, costs: list[LayerCost], lat: np.ndarray,
           accelerator: str, warnings: list[str], alloc: rs.AllocationResources | None = None) -> CostReport:
    """Assemble a CostReport from per-layer costs and latencies ``lat`` [L, N]; ``alloc``: the
    allocation's resources (None: not modelled, power from operations)."""
    total = lat.sum(0)
    mean_total = float(total.mean())
    f = hw.clock_hz
    fps_seq, fps_pipe = f / mean_total, f / float(lat.mean(1).max())
    fps = fps_seq if hw.pipeline == "sequential" else fps_pipe
    total_cores = int(sum(c.cores for c in costs))
    summary = None
    if alloc is not None:
        summary, device, more = resource_summary(alloc, hw)
        warnings = warnings + more
    if alloc is not None and hw.power.model == "resources":
        terms = resource_power(alloc, costs, fps, hw, device)
        power = terms["power_w"]
        costs = [replace(c, energy_uj=e * 1e6) for c, e in zip(costs, terms["layer_energy_j"], strict=True)]
        power_model = {"model": "resources", "device": device.name,
                       **{k: terms[k] for k in ("static_w", "clock_w", "dynamic_w", "dynamic_energy_j")}}
    else:
        dyn_j = sum(c.energy_uj for c in costs) * 1e-6
        static = hw.power.static_w + total_cores * hw.power.core_static_mw * 1e-3
        power = static + dyn_j * fps
        power_model = {"model": "operations", "static_w": static, "dynamic_w": dyn_j * fps,
                       "dynamic_energy_j": dyn_j}
        if hw.power.model == "resources":
            power_model["note"] = (f"the {accelerator} design's FPGA resources are not modelled; its FPS/W "
                                   f"is not comparable with a resources-model FPS/W")
    return CostReport(
        accelerator=accelerator, mode=hw.mode, pipeline=hw.pipeline, clock_mhz=hw.clock_mhz,
        num_samples=traces.num_samples, latency_cycles=mean_total, latency_us=mean_total / f * 1e6,
        fps=fps, fps_sequential=fps_seq, fps_pipelined=fps_pipe, power_w=power,
        energy_per_inference_uj=power / fps * 1e6, fps_per_w=fps / power, total_cores=total_cores,
        layers=costs, warnings=warnings, config=hw.model_dump(), latency_cycles_per_sample=total,
        input_max_count=int(traces.meta.get("input_max_count", 1)), resources=summary,
        power_model=power_model)


def resolve_cores(traces: Traces, hw: HardwareConfig, cores: list[int] | None,
                  device: rs.Device | str | None = None) -> list[int]:
    """Cores per layer: ``cores``, else the allocator's under the budget and ``device`` (default:
    the config's), else the config's defaults."""
    device = device or hw.device
    if cores is None:
        cores = (allocate(traces, hw, hw.core_budget, device=device).cores
                 if hw.core_budget is not None or (device is not None and hw.cores is None)
                 else default_cores(traces.layers, hw))
    if len(cores) != len(traces.layers) or any(c < 1 for c in cores):
        raise ConfigError(f"cores per layer {cores}: need {len(traces.layers)} counts >= 1, "
                          f"one per layer of the network")
    return cores


def sparse_costs(traces: Traces, hw: HardwareConfig, cores: list[int]) -> tuple[list[LayerCost], np.ndarray]:
    """Every layer of ``traces`` on the sparse cores: LayerCosts and latencies [L, N]."""
    cyc = [layer_cycles(layer, traces.counts[i], cores[i], hw) for i, layer in enumerate(traces.layers)]
    costs = [sparse_layer(traces.layer_name(i), layer, c, cores[i], traces.counts[i], hw)
             for i, (layer, c) in enumerate(zip(traces.layers, cyc, strict=True))]
    return costs, np.stack([c.latency for c in cyc])


def simulate(traces: Traces, hw: HardwareConfig | None = None,
             cores: list[int] | None = None) -> CostReport:
    """Run the cycle model on every sample of ``traces``; ``cores`` overrides the allocation."""
    hw = hw or HardwareConfig()
    check_runs("snn_dse", "sparse cores", traces.layers, MODELS)
    cores = resolve_cores(traces, hw, cores)
    check_memory(traces.layers, hw)
    costs, lat = sparse_costs(traces, hw, cores)
    warnings = layer_warnings(traces.layers, cores, costs, hw)
    if traces.encoding == "direct":
        warnings.append("direct (analog) input is costed as events on the sparse cores, which no "
                        "built design does; the hybrid design (kind: hybrid, or --accelerator hybrid) "
                        "computes the first layer on a dense core")
    return report(traces, hw, costs, lat, "snn_dse", warnings, allocation_resources(traces, hw, cores))
