"""The hybrid design of SNN-DSE (branch DATE25, ``Hardware/hybrid_sim``): the first conv
layer on a dense systolic core (``conv_dense_nc.sv``, ``pe_array.sv``, ``pe.sv``,
``thresholding.sv``), the rest on the sparse event-driven cores of :mod:`..snn_dse`."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ...errors import ConfigError
from ...traces import Traces
from .. import resources as rs
from ..base import CostReport, LayerCost
from ..neuron_cost import check_runs
from ..snn_dse.layers import MODELS, check_memory
from ..snn_dse.simulate import allocation_resources, layer_warnings, report, resolve_cores, sparse_costs
from .config import HybridConfig
from .dense import dense_cycles

# thresholding.sv: one membrane array, ``membr += BETA*input + bias``: single-state models
DENSE_MODELS = ("lif", "if", "lapicque")
TABLE = [("cores", "cores", "d"), ("passes", "groups", "d"), ("cycles", "latency_cycles", ".0f"),
         ("events/inf", "input_events_per_inference", ".1f"), ("dropped", "dropped_fraction", ".1%"),
         ("uJ", "energy_uj", ".3f")]


def dense_unbuilt(in_channels: int, kernel: int, height: int, width: int, rows: int) -> str:
    """What of the first layer the dense core's RTL does not build ('' if it does): it builds
    ``resources.DENSE_SHAPE`` on a square frame of up to 32x32."""
    shape = rs.DENSE_SHAPE
    out = [f"{n} {v} (the RTL: {shape[key]})" for n, key, v in (
        ("input channels", "in_channels", in_channels), ("kernel", "kernel", kernel),
        ("dense_rows", "rows", rows)) if v != shape[key]]
    if height != width or height * width > rs.DENSE_MAX_FRAME:
        side = math.isqrt(rs.DENSE_MAX_FRAME)
        out.append(f"a {height}x{width} frame (the RTL: square, up to {side}x{side})")
    return ", ".join(out)


class Hybrid:
    """Dense first layer, sparse cores for the rest."""

    Config = HybridConfig

    def __init__(self, config: HybridConfig) -> None:
        self.config = config

    def cost(self, traces: Traces, cores: list[int] | None = None) -> CostReport:
        hw = self.config
        first = traces.layers[0]
        if first.kind != "conv":
            raise ConfigError("the hybrid design computes a conv first layer on its dense core; "
                              f"this network starts with an {first.kind} layer")
        if first.out_channels % hw.dense_rows:
            raise ConfigError(f"dense_rows {hw.dense_rows} must divide the first layer's "
                              f"{first.out_channels} output channels")
        check_runs("hybrid", "dense core (thresholding.sv)", traces.layers[:1], DENSE_MODELS)
        check_runs("hybrid", "sparse cores", traces.layers[1:], MODELS, first=1)
        check_memory(traces.layers, hw)
        ic, h, w = first.in_shape
        k = first.kernel
        unbuilt = dense_unbuilt(ic, k, h, w, hw.dense_rows)
        passes = first.out_channels // hw.dense_rows
        dense_r = None if unbuilt else rs.dense_core(h * w, first.out_channels, traces.num_steps)
        # the sparse layers read the dense layer's output spikes
        rest = replace(traces, layers=traces.layers[1:], counts=traces.counts[1:],
                       input_shape=first.out_shape)
        why = (f"the hybrid design's dense core has resource formulas only as its RTL builds it; "
               f"this first layer has {unbuilt}")
        device = None
        if hw.device is not None:
            if dense_r is None:
                raise ConfigError(f"device: {why}")
            device = rs.room_left(hw.device, dense_r)
        given = cores if cores is not None else hw.cores  # one entry per layer, the dense core's ignored
        sparse = resolve_cores(rest, hw, None if given is None else given[1:], device)
        costs, lat = sparse_costs(rest, hw, sparse)
        costs = [replace(c, name=traces.layer_name(i + 1)) for i, c in enumerate(costs)]
        cyc = dense_cycles(traces.num_steps, ic, first.out_channels, h * w, k, hw.dense_rows)
        macs = first.out_channels * traces.num_steps * h * w * ic * k * k
        dense = LayerCost(
            name=traces.layer_name(0), kind="conv", unit="dense conv", cores=hw.dense_rows,
            latency_cycles=float(cyc),
            input_events_per_inference=float(traces.counts[0].sum((1, 2)).mean()), dropped_events=0.0,
            dropped_fraction=0.0, energy_uj=macs * hw.dense_mac_pj * 1e-6,
            breakdown={"dense PE column": float(cyc)},
            # the resources power model's activity: the core is busy every cycle; its output spike
            # RAM is written once per pass and step
            detail={"groups": passes, "macs": float(macs), "accumulate_cycles": float(cyc),
                    "activate_cycles": 0.0, "compress_cycles": float(passes * traces.num_steps)})
        lat0 = np.full((1, lat.shape[1]), cyc, np.int64)
        warnings = layer_warnings(rest.layers, sparse, costs, hw)
        alloc = None
        if dense_r is not None:
            sparse_r = allocation_resources(rest, hw, sparse, [c.name for c in costs])
            alloc = rs.with_dense_core(sparse_r, dense_r)
        rep = report(traces, hw, [dense] + costs, np.concatenate([lat0, lat]), "hybrid", warnings, alloc)
        if unbuilt and hw.power.model == "resources":
            rep.power_model["note"] = (f"{why}: power from the operations model, not comparable with a "
                                       f"resources-model FPS/W")
        return rep

    def table(self, report: CostReport) -> list[tuple[str, str, str]]:
        return TABLE


__all__ = ["Hybrid", "HybridConfig", "dense_cycles"]
