"""Spiking neurons with snnTorch 1.0 semantics, multi-step.

Both models share one update. With ``r_t = H(U_{t-1} - thr)`` (detached):

* LIF (snnTorch ``Leaky``):  ``U_t = clamp(beta,0,1) * U'_{t-1} + X_t - r_t*thr`` (subtract)
  where ``U' = (1 - r_t) U`` for ``reset="zero"`` (the subtraction then does not apply).
* Lapicque (snnTorch ``Lapicque``): ``U_t = X_t*dt/C + (1 - dt/(R*C)) * U_{t-1}``, then
  ``- r_t*thr`` (subtract) or ``* (1 - r_t)`` (zero, applied after the update as
  snnTorch does). Given ``beta`` alone, ``R = 1`` and ``C = dt/ln(1/beta)``, so the
  decay is ``1 - ln(1/beta)`` (not ``beta``) exactly as in snnTorch.

``S_t = H(U_t - thr)`` with the surrogate gradient in backward. ``reset="none"``
integrates without reset.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from spiketune.errors import ConfigError
from spiketune.network import surrogate as sg

RESETS = ("subtract", "zero", "none")


class SpikingNeuron(nn.Module):
    """Base class: subclasses define the decay ``a`` and input gain ``b``."""

    zero_after_update = False
    fused = True  # multi-step forward uses the fused autograd function

    def __init__(self, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: sg.Surrogate | None = None, learn_threshold: bool = False) -> None:
        super().__init__()
        if not math.isfinite(threshold) or threshold <= 0:
            raise ConfigError(f"threshold must be a finite number > 0, got {threshold}")
        if reset not in RESETS:
            raise ConfigError(f"unknown reset mode '{reset}'; valid: {', '.join(RESETS)}")
        self.reset_mode = reset
        self.surrogate = surrogate if surrogate is not None else sg.get(sg.DEFAULT)
        self._scalar("threshold", threshold, learn_threshold)

    def _scalar(self, name: str, value: float, learn: bool) -> None:
        """A scalar neuron parameter: trainable if ``learn``, else a buffer (saved, moved)."""
        t = torch.as_tensor(float(value), dtype=torch.get_default_dtype())
        if learn:
            setattr(self, name, nn.Parameter(t))
        else:
            self.register_buffer(name, t)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(decay a, input gain b) of ``U_t = a*U_{t-1} + b*X_t``."""
        raise NotImplementedError

    def step(self, x: torch.Tensor, mem: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step: returns (spikes, membrane)."""
        a, b = self.coefficients()
        return self._step(x, mem, a, b)

    def _step(self, x: torch.Tensor, mem: torch.Tensor, a: torch.Tensor,
              b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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

    def forward(self, x_seq: torch.Tensor, return_mem: bool = False, num_steps: int | None = None):
        """``x_seq`` [T, B, ...] -> spikes [T, B, ...] (and membranes if ``return_mem``).
        With ``num_steps``, ``x_seq`` is one input [B, ...] applied at every step.

        Runs the fused multi-step path (one autograd node for all T steps, see
        ``_MultiStep``) unless membranes are asked for or ``fused`` is off.
        """
        a, b = self.coefficients()
        seq = x_seq if num_steps is None else x_seq.unsqueeze(0).expand(num_steps, *x_seq.shape)
        if self.fused and not return_mem:
            from spiketune.network.kernels import triton_neuron

            if triton_neuron.available(seq, self, a, b):
                return triton_neuron.FusedMultiStep.apply(seq, a, b, self.threshold, self)
            return _MultiStep.apply(x_seq, a, b, self.threshold, self, num_steps)
        mem = torch.zeros_like(seq[0])
        spikes, mems = [], []
        for x in seq:
            spk, mem = self._step(x, mem, a, b)
            spikes.append(spk)
            if return_mem:
                mems.append(mem)
        out = torch.stack(spikes)
        return (out, torch.stack(mems)) if return_mem else out

    def extra_repr(self) -> str:
        return (f"threshold={float(self.threshold):.4g}, reset={self.reset_mode}, "
                f"surrogate={self.surrogate.name}{self.surrogate.params}")


class _MultiStep(torch.autograd.Function):
    """All T steps of a neuron as one autograd node.

    Forward runs the same per-step arithmetic as :meth:`SpikingNeuron._step` (so spikes
    are identical) without recording a graph, keeping each step's membrane and writing
    the spikes straight into the [T, ...] output (the reset of step t is the spike of
    step t-1). A static input [B, ...] (``num_steps`` given) is applied at every step and
    gets its gradient summed over time. Backward runs the BPTT recurrence
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
        ctx.mems, ctx.spikes, ctx.neuron = mems, out, neuron
        ctx.static, ctx.unit_gain = static, unit_gain
        return out

    @staticmethod
    def backward(ctx, grad_s):  # type: ignore[override]
        from spiketune.network.surrogate import FAMILIES

        x, a, b, thr = ctx.saved_tensors
        mems, spikes, n = ctx.mems, ctx.spikes, ctx.neuron
        mode, zero_after, s = n.reset_mode, n.zero_after_update, n.surrogate
        derivative, peak = FAMILIES[s.name].derivative, s.peak()
        need_a, need_b, need_thr = a.requires_grad, b.requires_grad, thr.requires_grad
        steps = len(mems)
        # dL/d(b*x_t) per step, or its sum over steps for a static input
        gin = torch.zeros_like(mems[0]) if ctx.static else torch.empty_like(spikes)
        grad_a = grad_b = grad_thr = None
        carry = None
        for t in range(steps - 1, -1, -1):
            d = derivative(mems[t] - thr, spikes[t], s.params)
            if s.chi is not None:
                s.chi.record(d, peak)
            direct = grad_s[t] * d  # dL/dU_t through S_t
            g = direct if carry is None else direct + carry
            reset = spikes[t - 1] if t > 0 else None
            keep = 1 - reset if (mode == "zero" and reset is not None) else None
            gb = g * keep if (zero_after and keep is not None) else g  # dL/d(b*x_t)
            if ctx.static:
                gin += gb
            else:
                gin[t].copy_(gb)
            if need_a and t > 0:
                prev = mems[t - 1] * keep if (keep is not None and not zero_after) else mems[t - 1]
                term = ((gb if zero_after else g) * prev).sum()
                grad_a = term if grad_a is None else grad_a + term
            if need_b:
                term = (gb * (x if ctx.static else x[t])).sum()
                grad_b = term if grad_b is None else grad_b + term
            if need_thr:
                term = -direct.sum()
                if mode == "subtract" and reset is not None:
                    term = term - (g * reset).sum()
                grad_thr = term if grad_thr is None else grad_thr + term
            if t > 0:  # dU_t/dU_{t-1}
                carry = g * a * keep if keep is not None else g * a
        del ctx.mems, ctx.spikes
        grad_x = gin if ctx.unit_gain else gin * b

        def shape(v: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
            return None if v is None else v.reshape(like.shape)

        if need_a and grad_a is None:
            grad_a = torch.zeros_like(a)
        return grad_x, shape(grad_a, a), shape(grad_b, b), shape(grad_thr, thr), None, None


class LIF(SpikingNeuron):
    """Leaky integrate-and-fire, snnTorch ``Leaky`` semantics; default surrogate atan(2)."""

    def __init__(self, beta: float = 0.5, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: sg.Surrogate | None = None, learn_beta: bool = False,
                 learn_threshold: bool = False) -> None:
        super().__init__(threshold, reset, surrogate, learn_threshold)
        if not math.isfinite(beta) or not 0.0 <= beta <= 1.0:
            raise ConfigError(f"LIF beta must be in [0, 1], got {beta}")
        self._scalar("beta", beta, learn_beta)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.beta.clamp(0, 1), torch.ones((), dtype=self.beta.dtype, device=self.beta.device)

    def extra_repr(self) -> str:
        return f"beta={float(self.beta):.4g}, " + super().extra_repr()


class Lapicque(SpikingNeuron):
    """Lapicque RC neuron, snnTorch ``Lapicque`` semantics (zero reset after update)."""

    zero_after_update = True

    def __init__(self, beta: float | None = None, R: float | None = None,
                 C: float | None = None, time_step: float = 1.0, threshold: float = 1.0,
                 reset: str = "subtract", surrogate: sg.Surrogate | None = None,
                 learn_beta: bool = False, learn_threshold: bool = False) -> None:
        super().__init__(threshold, reset, surrogate, learn_threshold)
        if time_step <= 0:
            raise ConfigError(f"Lapicque time_step must be > 0, got {time_step}")
        self.time_step = float(time_step)
        if beta is not None:
            if not math.isfinite(beta) or not 0.0 < beta < 1.0:
                raise ConfigError(f"Lapicque beta must be in (0, 1), got {beta}")
            if R is not None and C is not None:
                raise ConfigError("give Lapicque either beta or two of beta, R, C")
        elif R is None or C is None:
            raise ConfigError("Lapicque needs beta, or both R and C")
        for name, v in (("R", R), ("C", C)):
            if v is not None and v <= 0:
                raise ConfigError(f"Lapicque {name} must be > 0, got {v}")
        self.R_fixed, self.C_fixed = R, C
        self._scalar("beta", beta if beta is not None else math.exp(-time_step / (R * C)), learn_beta)

    def rc(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, C) as snnTorch derives them from the given pair."""
        dt = self.time_step
        log_inv_beta = torch.log(1 / self.beta)
        if self.R_fixed is not None and self.C_fixed is not None:
            return (torch.as_tensor(self.R_fixed, dtype=self.beta.dtype),
                    torch.as_tensor(self.C_fixed, dtype=self.beta.dtype))
        if self.C_fixed is not None:
            c = torch.as_tensor(self.C_fixed, dtype=self.beta.dtype)
            return dt / (c * log_inv_beta), c
        r = torch.as_tensor(self.R_fixed if self.R_fixed is not None else 1.0,
                            dtype=self.beta.dtype)
        return r, dt / (r * log_inv_beta)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        r, c = self.rc()
        dt = self.time_step
        return 1 - dt / (r * c), r * (1 / (r * c)) * dt

    def extra_repr(self) -> str:
        return f"beta={float(self.beta):.4g}, dt={self.time_step}, " + super().extra_repr()


NEURONS = {"lif": LIF, "lapicque": Lapicque}


def make(kind: str, beta: float, threshold: float, reset: str, surrogate: sg.Surrogate,
         learn_beta: bool = False, learn_threshold: bool = False) -> SpikingNeuron:
    """Neuron of ``kind`` ('lif' or 'lapicque') parameterised by beta."""
    key = kind.strip().lower()
    if key not in NEURONS:
        raise ConfigError(f"unknown neuron '{kind}'; valid: {', '.join(NEURONS)}")
    return NEURONS[key](beta=beta, threshold=threshold, reset=reset, surrogate=surrogate,
                        learn_beta=learn_beta, learn_threshold=learn_threshold)
