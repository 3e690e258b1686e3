"""analysis.stats: McNemar's exact test and binomial intervals against values computed by hand / textbooks."""

from __future__ import annotations

import math

import pytest

from analysis.stats import clopper_pearson_interval, mcnemar_exact, wilson_interval


def test_mcnemar_exact_small_counts_match_binomial_sum() -> None:
    # b=1, c=6: p = 2 * P(X <= 1), X ~ Bin(7, 1/2) = 2 * (1 + 7) / 128 = 0.125
    assert mcnemar_exact(1, 6).p_value == pytest.approx(0.125)
    assert mcnemar_exact(6, 1).p_value == pytest.approx(0.125)


def test_mcnemar_exact_balanced_and_empty_are_one() -> None:
    assert mcnemar_exact(5, 5).p_value == 1.0
    assert mcnemar_exact(0, 0).p_value == 1.0


def test_mcnemar_exact_large_imbalance_is_tiny_but_positive() -> None:
    p = mcnemar_exact(38, 353).p_value
    assert 0 < p < 1e-50


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


def test_wilson_interval_known_value() -> None:
    # 8/10 at 95%: Wilson interval (0.4902, 0.9433) (Newcombe 1998, Table I style check)
    ci = wilson_interval(8, 10)
    assert ci.low == pytest.approx(0.4902, abs=1e-3)
    assert ci.high == pytest.approx(0.9433, abs=1e-3)


def test_clopper_pearson_known_values() -> None:
    # 0/10: upper = 1 - 0.025**(1/10); 10/10: lower = 0.025**(1/10)
    assert clopper_pearson_interval(0, 10).high == pytest.approx(1 - 0.025 ** 0.1, abs=1e-6)
    assert clopper_pearson_interval(10, 10).low == pytest.approx(0.025 ** 0.1, abs=1e-6)
    ci = clopper_pearson_interval(8, 10)
    assert ci.low == pytest.approx(0.4439, abs=1e-3)
    assert ci.high == pytest.approx(0.9748, abs=1e-3)


def test_intervals_contain_the_estimate_and_handle_n_zero() -> None:
    for k, n in [(0, 5), (3, 7), (137, 788)]:
        for ci in (wilson_interval(k, n), clopper_pearson_interval(k, n)):
            assert ci.low <= k / n <= ci.high
    assert wilson_interval(0, 0).low == 0.0 and wilson_interval(0, 0).high == 1.0
    assert not math.isnan(wilson_interval(0, 1).high)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
