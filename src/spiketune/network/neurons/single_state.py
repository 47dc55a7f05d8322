"""Neurons with one state, ``U_t = a*U_{t-1} + b*X_t``, and their fused multi-step path.

With ``r_t = H(U_{t-1} - thr)`` (detached): ``reset="subtract"`` subtracts ``r_t*thr``
after the update; ``reset="zero"`` zeroes the old membrane before the decay
(``U' = (1 - r_t) U``, snnTorch ``Leaky``) or, with ``zero_after_update``, the new one
(snnTorch ``Lapicque``); ``reset="none"`` integrates without reset. ``S_t = H(U_t - thr)``
with the surrogate gradient in backward. The decay ``a`` may be per channel (any shape
broadcasting against the neuron shape).
"""

from __future__ import annotations

import torch

from spiketune.network.neurons.base import SpikingNeuron, sum_to
from spiketune.traces import NeuronDynamics


class SingleStateNeuron(SpikingNeuron):
    """Base of LIF, Lapicque and IF: subclasses define ``coefficients`` (a, b)."""

    zero_after_update = False
    triton = True  # kernels/triton_neuron.py implements this update

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(decay a, input gain b) of ``U_t = a*U_{t-1} + b*X_t``."""
        raise NotImplementedError

    def init_state(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)

    def step(self, x: torch.Tensor, mem: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.coefficients()
        thr = self.threshold
        reset = (mem - thr > 0).to(mem.dtype).detach()
        mode = self.reset_mode
        if mode == "zero" and not self.zero_after_update:
            mem = (1 - reset) * mem
        mem = a * mem + b * x
        if mode == "subtract":
            mem = mem - reset * thr
        elif mode == "zero" and self.zero_after_update:
            mem = mem - reset * mem
        return self.surrogate(mem - thr), mem

    def fused_forward(self, x: torch.Tensor, num_steps: int | None) -> torch.Tensor:
        a, b = self.coefficients()
        from spiketune.network.kernels import triton_neuron

        seq = x if num_steps is None else x.unsqueeze(0).expand(num_steps, *x.shape)
        if triton_neuron.available(seq, self, a, b):
            return triton_neuron.FusedMultiStep.apply(seq, a, b, self.threshold, self)
        return _MultiStep.apply(x, a, b, self.threshold, self, num_steps)

    def dynamics(self) -> NeuronDynamics:
        a, b = (v.detach().cpu() for v in self.coefficients())
        return NeuronDynamics(self.kind, a.tolist(), float(b), None, self.reset_mode,
                              self.zero_after_update)


class _MultiStep(torch.autograd.Function):
    """All T steps of a single-state neuron as one autograd node.

    Forward runs the arithmetic of :meth:`SingleStateNeuron.step` (so spikes are
    identical) without recording a graph, keeping each step's membrane and writing the
    spikes straight into the [T, ...] output (the reset of step t is the spike of step
    t-1). A static input [B, ...] (``num_steps`` given) is applied at every step and gets
    its gradient summed over time. Only the membranes are kept for backward: the spikes are
    recomputed from them by the forward's own comparison (``S_t = U_t > thr``, exact), so
    the spike output is not held by this node. Backward runs the BPTT recurrence
    ``g_t = dL/dS_t * s'(U_t - thr) + g_{t+1} * dU_{t+1}/dU_t`` (resets detached, as in
    snnTorch) and returns gradients for the input, the decay a, the gain b and the threshold.
    """

    @staticmethod
    def forward(ctx, x, a, b, thr, neuron, num_steps):  # type: ignore[override]
        mode, zero_after = neuron.reset_mode, neuron.zero_after_update
        static = num_steps is not None
        steps = num_steps if static else x.shape[0]
        unit_gain = not b.requires_grad and bool(b == 1)
        mem = torch.zeros_like(x if static else x[0])
        out = torch.empty_strided((steps, *mem.shape), (mem.numel(), *mem.stride()),
                                  dtype=mem.dtype, device=mem.device)
        mems = []
        for t in range(steps):
            x_t = x if static else x[t]
            reset = out[t - 1] if t > 0 else None  # r_t = H(U_{t-1} - thr) = S_{t-1}
            if mode == "zero" and not zero_after and reset is not None:
                mem = (1 - reset) * mem
            mem = a * mem
            mem += x_t if unit_gain else b * x_t
            if mode == "subtract" and reset is not None:
                mem -= reset * thr
            elif mode == "zero" and zero_after and reset is not None:
                mem -= reset * mem
            mems.append(mem)
            out[t].copy_(mem > thr)
        ctx.save_for_backward(x if b.requires_grad else None, a, b, thr)
        ctx.mems, ctx.neuron = mems, neuron
        ctx.static, ctx.unit_gain = static, unit_gain
        return out

    @staticmethod
    def backward(ctx, grad_s):  # type: ignore[override]
        from spiketune.network.surrogate import FAMILIES

        x, a, b, thr = ctx.saved_tensors
        mems, n = ctx.mems, ctx.neuron
        mode, zero_after, s = n.reset_mode, n.zero_after_update, n.surrogate
        derivative, peak = FAMILIES[s.name].derivative, s.peak()
        need_a, need_b, need_thr = a.requires_grad, b.requires_grad, thr.requires_grad
        steps = len(mems)
        # dL/d(b*x_t) per step, or its sum over steps for a static input
        m0 = mems[0]
        gin = torch.zeros_like(m0) if ctx.static else torch.empty_strided(
            (steps, *m0.shape), (m0.numel(), *m0.stride()), dtype=m0.dtype, device=m0.device)
        grad_a = grad_b = grad_thr = None
        carry = None
        spike = (mems[-1] > thr).to(m0.dtype)  # S_t, recomputed as the forward computed it
        for t in range(steps - 1, -1, -1):
            d = derivative(mems[t] - thr, spike, s.params)
            if s.chi is not None:
                s.chi.record(d, peak)
            direct = grad_s[t] * d  # dL/dU_t through S_t
            g = direct if carry is None else direct + carry
            reset = (mems[t - 1] > thr).to(m0.dtype) if t > 0 else None  # S_{t-1}
            keep = 1 - reset if (mode == "zero" and reset is not None) else None
            gb = g * keep if (zero_after and keep is not None) else g  # dL/d(b*x_t)
            if ctx.static:
                gin += gb
            else:
                gin[t].copy_(gb)
            if need_a and t > 0:
                prev = mems[t - 1] * keep if (keep is not None and not zero_after) else mems[t - 1]
                term = sum_to((gb if zero_after else g) * prev, a)
                grad_a = term if grad_a is None else grad_a + term
            if need_b:
                term = sum_to(gb * (x if ctx.static else x[t]), b)
                grad_b = term if grad_b is None else grad_b + term
            if need_thr:
                term = -direct.sum()
                if mode == "subtract" and reset is not None:
                    term = term - (g * reset).sum()
                grad_thr = term if grad_thr is None else grad_thr + term
            if t > 0:  # dU_t/dU_{t-1}
                carry = g * a * keep if keep is not None else g * a
            spike = reset
        del ctx.mems
        grad_x = gin if ctx.unit_gain else gin * b
        if need_a and grad_a is None:
            grad_a = torch.zeros_like(a)
        if need_thr:
            grad_thr = grad_thr.reshape(thr.shape)
        return grad_x, grad_a, grad_b, grad_thr, None, None
