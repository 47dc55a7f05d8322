"""Current-based LIF, snnTorch ``Synaptic`` (NIR ``CubaLIF``): a synaptic current with its
own decay feeds the membrane,

    ``I_t = alpha*I_{t-1} + X_t``,   ``U_t = beta*U_{t-1} + I_t``,

``alpha`` and ``beta`` clamped to [0, 1] (numbers or per channel). With
``r_t = H(U_{t-1} - thr)`` (detached): ``reset="subtract"`` subtracts ``r_t*thr``;
``reset="zero"`` zeroes the new membrane, ``U_t = (1 - r_t)(beta*U_{t-1} + I_t)``
(snnTorch, ``zero_after_update=True``), or the old one before the decay,
``U_t = beta*(1 - r_t)*U_{t-1} + I_t`` (NIR's reset to ``v_reset = 0``); the current is
never reset. ``S_t = H(U_t - thr)``.
"""

from __future__ import annotations

import torch

from spiketune.network import surrogate as sg
from spiketune.network.neurons.base import SpikingNeuron, as_decay, fmt, sum_to
from spiketune.traces import NeuronDynamics


class CubaLIF(SpikingNeuron[tuple[torch.Tensor, torch.Tensor]]):
    """Current-based LIF (two states per neuron)."""

    kind = "cuba_lif"
    alpha: torch.Tensor  # set by ``param``: Parameters or buffers
    beta: torch.Tensor

    def __init__(self, alpha=0.5, beta=0.5, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: sg.Surrogate | None = None, learn_alpha: bool = False,
                 learn_beta: bool = False, learn_threshold: bool = False,
                 zero_after_update: bool = True) -> None:
        super().__init__(threshold, reset, surrogate, learn_threshold)
        self.param("alpha", as_decay(alpha, "alpha", "CubaLIF"), learn_alpha)
        self.param("beta", as_decay(beta, "beta", "CubaLIF"), learn_beta)
        self.zero_after_update = zero_after_update

    def init_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros_like(x), torch.zeros_like(x)

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        syn, mem = state
        thr = self.threshold
        reset = (mem - thr > 0).to(mem.dtype).detach()
        syn = self.alpha.clamp(0, 1) * syn + x
        beta = self.beta.clamp(0, 1)
        if self.reset_mode == "zero" and not self.zero_after_update:
            mem = beta * ((1 - reset) * mem) + syn
        else:
            mem = beta * mem + syn
        if self.reset_mode == "subtract":
            mem = mem - reset * thr
        elif self.reset_mode == "zero":
            mem = (1 - reset) * mem if self.zero_after_update else mem
        return self.surrogate(mem - thr), (syn, mem)

    def fused_forward(self, x: torch.Tensor, num_steps: int | None) -> torch.Tensor:
        return _CubaMultiStep.apply(x, self.alpha.clamp(0, 1), self.beta.clamp(0, 1),
                                    self.threshold, self, num_steps)

    def dynamics(self) -> NeuronDynamics:
        a, b = (v.detach().clamp(0, 1).cpu().tolist() for v in (self.beta, self.alpha))
        return NeuronDynamics(self.kind, a, 1.0, b, self.reset_mode, self.zero_after_update)

    def extra_repr(self) -> str:
        return f"alpha={fmt(self.alpha)}, beta={fmt(self.beta)}, " + super().extra_repr()


def _add(acc: torch.Tensor | None, term: torch.Tensor) -> torch.Tensor:
    return term if acc is None else acc + term


def _grad_of(p: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor | None:
    """The gradient of ``p``: ``g``, zeros where nothing reached it, None unless ``p`` trains."""
    return (torch.zeros_like(p) if g is None else g) if p.requires_grad else None


class _CubaMultiStep(torch.autograd.Function):
    """All T steps of a CubaLIF layer as one node; backward is the two-state BPTT recurrence
    (``g^U_t = dL/dS_t s'(U_t - thr) + g^U_{t+1} dU_{t+1}/dU_t``,
    ``g^I_t = g^U_t dU_t/dI_t + alpha g^I_{t+1}``; resets detached)."""

    @staticmethod
    def forward(ctx, x, alpha, beta, thr, neuron, num_steps):  # type: ignore[override]
        mode, after = neuron.reset_mode, neuron.zero_after_update
        static = num_steps is not None
        steps = num_steps if static else x.shape[0]
        syn = torch.zeros_like(x if static else x[0])
        mem = torch.zeros_like(syn)
        out = torch.empty((steps, *syn.shape), dtype=syn.dtype, device=syn.device)
        syns, mems = [], []
        for t in range(steps):
            reset = out[t - 1] if t > 0 else None
            syn = alpha * syn + (x if static else x[t])
            if mode == "zero" and not after and reset is not None:
                mem = beta * ((1 - reset) * mem) + syn
            else:
                mem = beta * mem + syn
            if mode == "subtract" and reset is not None:
                mem = mem - reset * thr
            elif mode == "zero" and after and reset is not None:
                mem = (1 - reset) * mem
            syns.append(syn)
            mems.append(mem)
            out[t] = mem > thr
        ctx.save_for_backward(alpha, beta, thr)
        ctx.syns, ctx.mems, ctx.spikes, ctx.neuron, ctx.static = syns, mems, out, neuron, static
        return out

    @staticmethod
    def backward(ctx, grad_s):  # type: ignore[override]
        from spiketune.network.surrogate import FAMILIES

        alpha, beta, thr = ctx.saved_tensors
        syns, mems, spikes, n = ctx.syns, ctx.mems, ctx.spikes, ctx.neuron
        mode, after, s = n.reset_mode, n.zero_after_update, n.surrogate
        derivative, peak = FAMILIES[s.name].derivative, s.peak()
        steps = len(mems)
        gin = torch.zeros_like(mems[0]) if ctx.static else torch.empty_like(spikes)
        g_alpha = g_beta = g_thr = None
        carry_u = carry_i = None
        for t in range(steps - 1, -1, -1):
            d = derivative(mems[t] - thr, spikes[t], s.params)
            if s.chi is not None:
                s.chi.record(d, peak)
            direct = grad_s[t] * d
            g_u = direct if carry_u is None else direct + carry_u
            reset = spikes[t - 1] if t > 0 else None
            keep = 1 - reset if (mode == "zero" and reset is not None) else None
            g_pre = g_u * keep if (after and keep is not None) else g_u  # dL/d(beta*U' + I_t)
            g_i = g_pre if carry_i is None else g_pre + carry_i
            if ctx.static:
                gin += g_i
            else:
                gin[t] = g_i
            if t > 0:
                if alpha.requires_grad:
                    g_alpha = _add(g_alpha, sum_to(g_i * syns[t - 1], alpha))
                prev = mems[t - 1] * keep if (keep is not None and not after) else mems[t - 1]
                if beta.requires_grad:
                    g_beta = _add(g_beta, sum_to(g_pre * prev, beta))
                carry_u = g_pre * beta * keep if (keep is not None and not after) else g_pre * beta
                carry_i = g_i * alpha
            if thr.requires_grad:
                term = -direct.sum()
                if mode == "subtract" and reset is not None:
                    term = term - (g_u * reset).sum()
                g_thr = _add(g_thr, term)
        del ctx.syns, ctx.mems, ctx.spikes
        return (gin, _grad_of(alpha, g_alpha), _grad_of(beta, g_beta),
                None if g_thr is None else g_thr.reshape(thr.shape), None, None)
