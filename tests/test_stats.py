"""Replicate statistics against scipy's own tests, textbook power tables and simulation."""

import math

import numpy as np
import pytest
from scipy import stats as st

from spiketune.explore.stats import compare, seeds_needed, summarize


def test_summary_by_hand():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    sd = math.sqrt(5 / 3)  # squared deviations 2.25+0.25+0.25+2.25 over n-1 = 3
    half = 3.182446305284263 * sd / 2  # t(0.975, 3) from tables
    assert (s.mean, s.n) == (2.5, 4)
    assert s.sd == pytest.approx(sd, rel=1e-12)
    assert (s.ci_low, s.ci_high) == pytest.approx((2.5 - half, 2.5 + half), rel=1e-9)
    one = summarize([3.0])
    assert one.mean == 3.0 and math.isnan(one.ci_low) and one.n == 1
    assert summarize([1.0, float("nan"), 3.0]).n == 2


def test_paired_comparison_equals_scipy_ttest_rel():
    rng = np.random.default_rng(1)
    a = rng.normal(1.0, 1.0, 7)
    b = a - rng.normal(0.4, 0.3, 7)
    v = compare(a, b, +1, paired=True)
    ref = st.ttest_rel(a, b)
    ci = ref.confidence_interval(0.95)
    assert v.test == "paired t-test" and v.n == 7
    assert v.effect == pytest.approx(float(np.mean(a - b)), rel=1e-12)
    assert (v.ci_low, v.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert v.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert v.effect_size == pytest.approx(np.mean(a - b) / np.std(a - b, ddof=1), rel=1e-12)
    assert v.verdict == ("reproduced" if ci.low > 0 else "inconclusive")


def test_welch_comparison_equals_scipy_ttest_ind():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.0, 1.0, 6), rng.normal(1.5, 2.0, 9)
    v = compare(a, b, +1, paired=False)
    ref = st.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert v.test == "Welch t-test" and v.n == 6
    assert (v.ci_low, v.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert v.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    # the prediction "a > b" is contradicted only when the whole interval is below zero
    assert v.verdict == ("contradicted" if ci.high < 0 else "inconclusive")


def test_known_effect_is_found_in_its_direction_and_contradicted_the_other_way():
    rng = np.random.default_rng(3)
    found = contradicted = 0
    for _ in range(300):
        base = rng.normal(10, 2, 12)             # seed-to-seed spread, shared by the pair
        a, b = base + 1.0 + rng.normal(0, 0.5, 12), base + rng.normal(0, 0.5, 12)
        found += compare(a, b, +1, paired=True).verdict == "reproduced"
        contradicted += compare(a, b, -1, paired=True).verdict == "contradicted"
    # true effect 1.0, sd of the difference 0.71, n = 12: power 0.993 (noncentral t), so
    # fewer than 291 of 300 happens with probability < 1e-3
    assert found >= 291 and contradicted == found


def test_null_effect_is_inconclusive_at_the_stated_rate():
    rng = np.random.default_rng(4)
    n_sim = 4000
    inconclusive = sum(compare(rng.normal(0, 1, 5), rng.normal(0, 1, 5), +1, paired=True).verdict
                       == "inconclusive" for _ in range(n_sim))
    # 95% expected; binomial sd = sqrt(.95 * .05 / 4000) = 0.0034: four sd either side
    assert 0.936 <= inconclusive / n_sim <= 0.964


def test_degenerate_groups_and_single_replicates_are_inconclusive():
    v = compare([5.0, 5.1, 5.2], [1.0, 1.1, 1.2], +1, paired=True, degenerate=True)
    assert v.verdict == "inconclusive" and "degenerate" in v.note
    assert compare([5.0], [1.0], +1, paired=True).verdict == "inconclusive"
    with pytest.raises(ValueError, match="as many"):
        compare([1.0, 2.0], [1.0], +1, paired=True)


def test_seeds_needed_matches_textbook_power_tables():
    # two-sided alpha 0.05, power 0.8: paired d_z = 0.5 needs 34 pairs; two groups with
    # d = 0.5 need 64 per group; d = 0.8 needs 26 per group (Cohen 1988, G*Power)
    assert seeds_needed(0.5, 1.0, paired=True) == 34
    assert seeds_needed(0.5, 1.0, paired=False) == 64
    assert seeds_needed(-0.8, 1.0, paired=False) == 26
    assert seeds_needed(0.0, 1.0, paired=True) is None
    assert seeds_needed(1.0, 0.0, paired=True) == 2
    assert seeds_needed(1e-6, 1.0, paired=True) is None  # beyond any affordable number


def test_seeds_needed_reaches_the_power_in_simulation():
    n = seeds_needed(0.6, 1.0, paired=True)
    rng = np.random.default_rng(5)
    hits = sum(compare(rng.normal(0.6, 1.0, n), np.zeros(n), +1, paired=True).verdict == "reproduced"
               for _ in range(3000))
    assert 0.77 <= hits / 3000 <= 0.86  # 0.8 (one-sided side of a two-sided test), MC sd 0.007
