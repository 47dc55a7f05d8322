"""Leaky integrator (NIR ``LI``), a non-spiking read-out: ``U_t = beta*U_{t-1} + X_t``
(``beta`` clamped to [0, 1], a number or per channel); the layer outputs its membrane
[T, B, ...], so a network ending in it is trained on membranes (the count losses then
act on the membrane summed over time)."""

from __future__ import annotations

import torch

from spiketune.network.neurons.base import SpikingNeuron, as_decay, fmt, sum_to
from spiketune.traces import NeuronDynamics


class LI(SpikingNeuron[torch.Tensor]):
    """Leaky integrator read-out (no threshold, no reset, no spikes)."""

    kind = "li"
    spiking = False
    beta: torch.Tensor  # set by ``param``: a Parameter or a buffer

    def __init__(self, beta=0.5, learn_beta: bool = False) -> None:
        super().__init__(1.0, "none", None, False)
        self.param("beta", as_decay(beta, "beta", "LI"), learn_beta)

    def init_state(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)

    def step(self, x: torch.Tensor, mem: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem = self.beta.clamp(0, 1) * mem + x
        return mem, mem

    def fused_forward(self, x: torch.Tensor, num_steps: int | None) -> torch.Tensor:
        return _LIMultiStep.apply(x, self.beta.clamp(0, 1), num_steps)

    def dynamics(self) -> NeuronDynamics:
        return NeuronDynamics(self.kind, self.beta.detach().clamp(0, 1).cpu().tolist(), 1.0, None,
                              "none", False, spiking=False)

    def extra_repr(self) -> str:
        return f"beta={fmt(self.beta)}"


class _LIMultiStep(torch.autograd.Function):
    """All T steps of a leaky integrator; backward ``g_t = dL/dU_t + beta*g_{t+1}``."""

    @staticmethod
    def forward(ctx, x, beta, num_steps):  # type: ignore[override]
        static = num_steps is not None
        steps = num_steps if static else x.shape[0]
        mem = torch.zeros_like(x if static else x[0])
        out = torch.empty((steps, *mem.shape), dtype=mem.dtype, device=mem.device)
        for t in range(steps):
            mem = beta * mem + (x if static else x[t])
            out[t] = mem
        ctx.save_for_backward(beta, out)
        ctx.static = static
        return out

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        beta, out = ctx.saved_tensors
        steps = out.shape[0]
        gin = torch.zeros_like(out[0]) if ctx.static else torch.empty_like(out)
        g_beta, g = None, None
        for t in range(steps - 1, -1, -1):
            g = grad_out[t] if g is None else grad_out[t] + beta * g
            if ctx.static:
                gin += g
            else:
                gin[t] = g
            if beta.requires_grad and t > 0:
                term = sum_to(g * out[t - 1], beta)
                g_beta = term if g_beta is None else g_beta + term
        if beta.requires_grad and g_beta is None:
            g_beta = torch.zeros_like(beta)
        return gin, g_beta, None
