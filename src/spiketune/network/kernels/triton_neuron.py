"""Fused multi-step single-state neurons (LIF, Lapicque, IF) in Triton (GPU).

One kernel runs all T steps of a layer's neurons in registers (forward: membrane and
spikes; backward: the BPTT recurrence from the stored membranes, the previous step's
spike recomputed from its membrane by the forward's comparison, so no spikes are kept),
instead of several kernel launches per step. The arithmetic matches the
torch path operation by operation, with floating-point contraction (FMA) disabled, so
spikes are identical. Used for CUDA float32 inputs, fixed (not learned) beta and
threshold, and every surrogate family with a kernel branch (``Family.kernel``); anything
else takes the torch path.
"""

from __future__ import annotations

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - CPU machines
    triton = None

MODES = {"subtract": 0, "zero": 1, "none": 2}
BLOCK = 1024


def available(x: torch.Tensor, neuron, a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether the fused kernel can run this call: the model declares the kernel's
    single-state update its own (``neuron.triton``) with scalar coefficients."""
    if triton is None or not x.is_cuda or x.dtype != torch.float32:
        return False
    if not type(neuron).triton or a.numel() != 1 or b.numel() != 1:
        return False
    if neuron.surrogate.family.kernel is None:
        return False
    if a.requires_grad or b.requires_grad or neuron.threshold.requires_grad:
        return False
    step = x[0]
    return step.is_contiguous() or step.is_contiguous(memory_format=torch.channels_last)


if triton is not None:

    @triton.jit
    def _derivative(x, KIND: tl.constexpr, p0, p1):
        """dS/dx of the surrogate family whose ``Family.kernel`` is KIND; p0, p1 are its
        parameters in the order of ``Family.defaults``."""
        if KIND == 0:
            q = p0 * tl.abs(x) + 1.0
            d = 1.0 / (q * q)
        elif KIND == 1:
            v = 1.5707963267948966 * p0 * x
            d = (p0 / 2) / (1.0 + v * v)
        elif KIND == 2:
            e = tl.exp(-p0 * x)
            d = p0 * e / ((e + 1.0) * (e + 1.0))
        elif KIND == 3:
            d = p1 * tl.exp(-p0 * tl.abs(x - 1.0))
        elif KIND == 4:
            d = x * 0.0 + 1.0
        else:
            d = tl.where(x >= 0, -p0, p0)
        return d

    @triton.jit
    def _block(coef_ptr, N, BLOCK: tl.constexpr):
        """This program's element offsets and mask, and the coefficients a, b, thr."""
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        return offs, offs < N, tl.load(coef_ptr), tl.load(coef_ptr + 1), tl.load(coef_ptr + 2)

    @triton.jit
    def _forward(x_ptr, spk_ptr, mem_ptr, coef_ptr, T, N, x_step,
                 MODE: tl.constexpr, ZERO_AFTER: tl.constexpr, BLOCK: tl.constexpr):
        offs, mask, a, b, thr = _block(coef_ptr, N, BLOCK)
        mem = tl.zeros([BLOCK], tl.float32)
        for t in range(T):
            x = tl.load(x_ptr + t * x_step + offs, mask=mask, other=0.0)
            reset = (mem - thr > 0).to(tl.float32)
            if MODE == 1 and not ZERO_AFTER:
                mem = (1.0 - reset) * mem
            mem = a * mem + b * x
            if MODE == 0:
                mem = mem - reset * thr
            elif MODE == 1 and ZERO_AFTER:
                mem = mem - reset * mem
            tl.store(mem_ptr + t * N + offs, mem, mask=mask)
            tl.store(spk_ptr + t * N + offs, (mem - thr > 0).to(tl.float32), mask=mask)

    @triton.jit
    def _backward(gs_ptr, mem_ptr, gx_ptr, cnt_ptr, coef_ptr, T, N, p0, p1, chi_level,
                  KIND: tl.constexpr, MODE: tl.constexpr, ZERO_AFTER: tl.constexpr,
                  CHI: tl.constexpr, BLOCK: tl.constexpr):
        offs, mask, a, b, thr = _block(coef_ptr, N, BLOCK)
        carry = tl.zeros([BLOCK], tl.float32)
        active = tl.zeros([BLOCK], tl.int32)
        for i in range(T):
            t = T - 1 - i
            mem = tl.load(mem_ptr + t * N + offs, mask=mask, other=0.0)
            gs = tl.load(gs_ptr + t * N + offs, mask=mask, other=0.0)
            d = _derivative(mem - thr, KIND, p0, p1)
            if CHI:
                active += (tl.abs(d) > chi_level).to(tl.int32) * mask.to(tl.int32)
            g = gs * d + carry
            prev_mem = tl.load(mem_ptr + tl.maximum(t - 1, 0) * N + offs, mask=mask, other=0.0)
            prev = tl.where(t > 0, (prev_mem - thr > 0).to(tl.float32), 0.0)  # S_{t-1}
            keep = 1.0 - prev
            if MODE == 1 and ZERO_AFTER:
                gb = g * keep
            else:
                gb = g
            tl.store(gx_ptr + t * N + offs, gb * b, mask=mask)
            if MODE == 1:
                carry = g * a * keep
            else:
                carry = g * a
        if CHI:
            tl.atomic_add(cnt_ptr, tl.sum(active, axis=0))


class FusedMultiStep(torch.autograd.Function):
    """Triton twin of ``neurons.single_state._MultiStep`` (same results; a static input arrives expanded
    over T with stride 0)."""

    @staticmethod
    def forward(ctx, x_seq, a, b, thr, neuron):  # type: ignore[override]
        steps, step = x_seq.shape[0], x_seq[0]
        n = step.numel()
        layout = ((steps, *step.shape), (n, *step.stride()))
        spikes = torch.empty_strided(*layout, dtype=step.dtype, device=step.device)
        mems = torch.empty((steps, n), dtype=torch.float32, device=step.device)
        x_step = x_seq.stride(0)  # 0 for a static input broadcast over T
        # coefficients stay on the device (no host sync, so the step can be graph-captured)
        coef = torch.stack([a.reshape(()), b.reshape(()), thr.reshape(())]).to(torch.float32)
        grid = (triton.cdiv(n, BLOCK),)
        _forward[grid](x_seq, spikes, mems, coef, steps, n, x_step,
                       MODE=MODES[neuron.reset_mode], ZERO_AFTER=neuron.zero_after_update,
                       BLOCK=BLOCK, enable_fp_fusion=False)
        ctx.save_for_backward(mems, coef)
        ctx.neuron, ctx.layout = neuron, layout
        return spikes

    @staticmethod
    def backward(ctx, grad_s):  # type: ignore[override]
        mems, coef = ctx.saved_tensors
        neuron, layout = ctx.neuron, ctx.layout
        if grad_s.stride() != layout[1]:
            grad_s = torch.empty_strided(*layout, dtype=mems.dtype, device=mems.device).copy_(grad_s)
        steps, n = mems.shape
        grad_x = torch.empty_strided(*layout, dtype=mems.dtype, device=mems.device)
        s = neuron.surrogate
        p0, p1 = ([s.params[k] for k in s.family.defaults] + [0.0, 0.0])[:2]
        counter = torch.zeros(1, dtype=torch.int32, device=mems.device)
        chi = s.chi is not None
        grid = (triton.cdiv(n, BLOCK),)
        _backward[grid](grad_s, mems, grad_x, counter, coef, steps, n, float(p0),
                        float(p1), float(s.chi.eps * s.peak()) if chi else 0.0,
                        KIND=s.family.kernel, MODE=MODES[neuron.reset_mode],
                        ZERO_AFTER=neuron.zero_after_update, CHI=chi, BLOCK=BLOCK,
                        enable_fp_fusion=False)
        if chi:
            s.chi.add(counter, steps * n)
        return grad_x, None, None, None, None
