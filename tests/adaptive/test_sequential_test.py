"""The always-valid test: error control under repeated looks, coverage, power, equivalence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from llmlab_pipelines.adaptive import ConfidenceSequence, SequentialABTest


def paired(rng: np.random.Generator, n: int, p_a: float, p_b: float) -> tuple[np.ndarray, ...]:
    """Binary scores on items of varying difficulty, as real eval items are."""
    z = rng.normal(0, 1, n)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    a = (rng.random(n) < sig(logit(p_a) + z)).astype(float)
    b = (rng.random(n) < sig(logit(p_b) + z)).astype(float)
    return a, b


def test_looking_after_every_round_keeps_the_false_positive_rate_under_alpha() -> None:
    rng = np.random.default_rng(7)
    runs, n, look = 400, 300, 10
    sequential = peeking = 0
    for _ in range(runs):
        a, b = paired(rng, n, 0.7, 0.7)
        test = SequentialABTest(0.05)
        rejected = False
        for start in range(0, n, look):
            if test.update(a[start : start + look], b[start : start + look]).decided:
                rejected = True
                break
        sequential += rejected
        # the mistake it prevents: re-running a fixed-sample test at every look
        for k in range(look, n + 1, look):
            only_b = int(((b[:k] == 1) & (a[:k] == 0)).sum())
            only_a = int(((a[:k] == 1) & (b[:k] == 0)).sum())
            if only_a + only_b and st.binomtest(only_b, only_a + only_b).pvalue < 0.05:
                peeking += 1
                break
    assert sequential / runs <= 0.07  # alpha 0.05, plus three standard errors of 400 runs
    assert peeking / runs > 0.12  # peeking at a fixed test inflates it; ours does not


def test_the_confidence_sequence_covers_the_true_mean_at_every_time() -> None:
    rng = np.random.default_rng(3)
    misses = 0
    for _ in range(200):
        d = rng.choice([-1.0, 0.0, 0.0, 1.0, 1.0], size=400)  # true mean 0.2
        cs = ConfidenceSequence(0.1)
        missed = False
        for start in range(0, 400, 20):
            cs.update(d[start : start + 20])
            interval = cs.interval()
            missed |= not interval.low <= 0.2 <= interval.high
        misses += missed
    assert misses / 200 <= 0.1


def test_a_clear_difference_is_found_early_and_named() -> None:
    rng = np.random.default_rng(1)
    a, b = paired(rng, 400, 0.3, 0.8)
    test = SequentialABTest(0.05)
    for start in range(0, 400, 10):
        decision = test.update(a[start : start + 10], b[start : start + 10])
        if decision.decided:
            break
    assert decision.verdict == "b_better"
    assert decision.n < 150
    assert decision.interval.low > 0
    assert decision.e_value >= 20  # 1 / alpha
    flipped = SequentialABTest(0.05).update(b[:150], a[:150])
    assert flipped.verdict == "a_better"


def test_identical_candidates_stop_as_equivalent_inside_a_margin() -> None:
    scores = np.ones(300)
    test = SequentialABTest(0.05, margin=0.05)
    decision = test.update(scores, scores)
    assert decision.verdict == "equivalent"
    assert -0.05 < decision.interval.low <= 0 <= decision.interval.high < 0.05
    assert SequentialABTest(0.05).update(scores, scores).verdict == "undecided"  # no margin


def test_values_outside_the_range_are_refused() -> None:
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        ConfidenceSequence(0.05).update([0.5, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        ConfidenceSequence(1.5)
