"""Statistics over replicates: summaries with confidence intervals, verdicts on study findings,
and the number of seeds a conclusive verdict would need.

A finding predicts the sign of a difference between two groups of runs (for example "fast
sigmoid fires less than arctangent"). :func:`compare` tests it on the replicates:

- paired by seed (the design pairs them: same seed, same data split): the paired t-test, whose
  confidence interval of the mean difference is ``mean(d) +- t(1 - a/2, n - 1) sd(d) / sqrt(n)``;
- otherwise Welch's t-test, interval ``diff +- t(1 - a/2, nu) sqrt(s1^2/n1 + s2^2/n2)`` with the
  Welch-Satterthwaite degrees of freedom ``nu``.

The verdict is *reproduced* when the interval lies entirely on the predicted side of zero,
*contradicted* when it lies entirely on the other side, *inconclusive* otherwise (also with
fewer than two replicates per group, or when a group holds degenerate runs). Under no true
effect a two-sided 95% interval excludes zero 5% of the time, so a null effect is called
inconclusive 95% of the time.

Power: :func:`seeds_needed` is the smallest number of replicates (per group) at which the same
test, with the observed effect and spread taken as true, reaches the requested power
(noncentral t distribution), so a user knows whether more compute would settle a finding.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import stats

VerdictName = Literal["reproduced", "contradicted", "inconclusive"]
MAX_SEEDS = 10_000  # beyond this a finding is treated as not settleable by more seeds


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and t-based confidence interval of replicates."""

    mean: float
    sd: float
    ci_low: float
    ci_high: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def summarize(values: list[float] | np.ndarray, confidence: float = 0.95) -> Summary:
    """Summary of replicate values; the interval is NaN with fewer than two values."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Summary(mean, math.nan, math.nan, math.nan, 1)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Summary(mean, sd, mean - half, mean + half, n)


@dataclass(frozen=True)
class Verdict:
    """One finding tested on replicates."""

    verdict: VerdictName
    effect: float          # mean of a - b (paired: mean of the per-seed differences)
    ci_low: float
    ci_high: float
    effect_size: float     # Cohen's d (paired: d_z = mean(d) / sd(d))
    p_value: float
    n: int                 # pairs (paired) or the smaller group (Welch)
    test: str
    seeds_needed: int | None  # per group, for `power` at the observed effect; None: not settleable
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _verdict(low: float, high: float, expected_sign: int) -> VerdictName:
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if low > 0 or high < 0:
        return "reproduced" if (low > 0) == (expected_sign > 0) else "contradicted"
    return "inconclusive"


def compare(a: list[float] | np.ndarray, b: list[float] | np.ndarray, expected_sign: int, *,
            paired: bool, confidence: float = 0.95, power: float = 0.8,
            degenerate: bool = False) -> Verdict:
    """Test the finding ``sign(mean(a) - mean(b)) == expected_sign`` on replicates.

    ``paired`` needs ``a[i]`` and ``b[i]`` from the same seed. ``degenerate`` (some run of either
    group never fired or sits at chance) forces *inconclusive* with a note: such a difference
    says nothing about training choices.
    """
    if expected_sign not in (-1, 1):
        raise ValueError(f"expected_sign must be -1 or +1, got {expected_sign}")
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    alpha = 1 - confidence
    if paired:
        if len(x) != len(y):
            raise ValueError(f"paired comparison needs as many values on each side ({len(x)} vs {len(y)})")
        d = x - y
        n = len(d)
        s = summarize(d, confidence)
        effect, low, high = s.mean, s.ci_low, s.ci_high
        sd = s.sd
        if n >= 2 and sd > 0:
            t = effect / (sd / math.sqrt(n))
            p = float(2 * stats.t.sf(abs(t), n - 1))
            size = effect / sd
        else:
            p = math.nan if n < 2 else (0.0 if effect != 0 else 1.0)
            size = math.nan
        test = "paired t-test"
        needed = seeds_needed(effect, sd, paired=True, confidence=confidence, power=power)
    else:
        n1, n2 = len(x), len(y)
        n = min(n1, n2)
        effect = float(x.mean() - y.mean()) if n1 and n2 else math.nan
        test = "Welch t-test"
        if n >= 2:
            v1, v2 = x.var(ddof=1) / n1, y.var(ddof=1) / n2
            se = math.sqrt(v1 + v2)
            if se > 0:
                nu = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
                half = float(stats.t.ppf(1 - alpha / 2, nu)) * se
                p = float(2 * stats.t.sf(abs(effect) / se, nu))
            else:
                half, p = 0.0, (0.0 if effect != 0 else 1.0)
            low, high = effect - half, effect + half
            pooled = math.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
            size = effect / pooled if pooled > 0 else math.nan
            needed = seeds_needed(effect, pooled, paired=False, confidence=confidence, power=power)
        else:
            low = high = p = size = math.nan
            needed = None
    verdict = _verdict(low, high, expected_sign)
    note = ""
    if degenerate:
        verdict, note = "inconclusive", "degenerate runs (silent layer or chance accuracy) in a group"
    elif n < 2:
        note = "fewer than two replicates"
    return Verdict(verdict, effect, low, high, size, p, n, test, needed, note)


def _power(n: int, effect: float, sd: float, paired: bool, confidence: float) -> float:
    """Power of the two-sided t-test at ``n`` replicates (per group) for a true ``effect``."""
    if paired:
        df, se = n - 1, sd / math.sqrt(n)
    else:
        df, se = 2 * n - 2, sd * math.sqrt(2 / n)
    crit = stats.t.ppf(0.5 + confidence / 2, df)
    nc = abs(effect) / se
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def seeds_needed(effect: float, sd: float, *, paired: bool, confidence: float = 0.95,
                 power: float = 0.8) -> int | None:
    """Smallest replicate count (per group) giving ``power`` for the observed effect and spread.

    ``None`` when it cannot be estimated (no spread estimate, zero effect) or exceeds
    :data:`MAX_SEEDS`; 2 when the spread is zero and the effect is not.
    """
    if any(math.isnan(v) for v in (effect, sd)) or effect == 0:
        return None
    if sd == 0:
        return 2
    lo, hi = 2, 2
    while _power(hi, effect, sd, paired, confidence) < power:
        lo, hi = hi, hi * 2
        if hi > MAX_SEEDS:
            return None
    while lo < hi:  # power grows with n: bisect for the first n that reaches it
        mid = (lo + hi) // 2
        if _power(mid, effect, sd, paired, confidence) >= power:
            hi = mid
        else:
            lo = mid + 1
    return hi


def equivalent(a: list[float] | np.ndarray, b: list[float] | np.ndarray, margin: float, *,
               paired: bool, confidence: float = 0.95, degenerate: bool = False) -> Verdict:
    """Test the finding ``|mean(a) - mean(b)| < margin`` ("similar accuracy") on replicates.

    *reproduced* when the difference's confidence interval (as in :func:`compare`) lies inside
    ``(-margin, margin)``, *contradicted* when it lies entirely outside it, *inconclusive*
    otherwise. ``seeds_needed`` is the smallest replicate count at which the interval's
    expected half-width, at the observed spread, fits between the observed effect and the margin.
    """
    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin}")
    v = compare(a, b, 1, paired=paired, confidence=confidence, degenerate=degenerate)
    low, high = v.ci_low, v.ci_high
    if degenerate or math.isnan(low) or math.isnan(high):
        verdict: VerdictName = "inconclusive"
    elif -margin < low and high < margin:
        verdict = "reproduced"
    elif low >= margin or high <= -margin:
        verdict = "contradicted"
    else:
        verdict = "inconclusive"
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    sd = float(np.std(x - y, ddof=1)) if paired and len(x) > 1 else (
        math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2) if min(len(x), len(y)) > 1 else math.nan)
    room = margin - abs(v.effect)
    needed = None
    if not math.isnan(sd) and room > 0:
        n = 2
        while n <= MAX_SEEDS:
            scale = 1 / math.sqrt(n) if paired else math.sqrt(2 / n)
            if float(stats.t.ppf(0.5 + confidence / 2, n - 1 if paired else 2 * n - 2)) * sd * scale < room:
                needed = n
                break
            n += 1
    p = math.nan  # two one-sided tests (TOST): the larger of their p-values (paired design)
    if paired and v.n >= 2 and sd > 0:
        se = sd / math.sqrt(v.n)
        p = max(float(stats.t.sf((v.effect + margin) / se, v.n - 1)),
                float(stats.t.cdf((v.effect - margin) / se, v.n - 1)))
    return Verdict(verdict, v.effect, low, high, v.effect_size, p, v.n,
                   f"{v.test}, equivalence within +-{margin:g}", needed, v.note)
