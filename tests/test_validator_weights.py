"""Scores to weights: copy detection, the 50/50 blend, normalisation over live uids, the rate limit."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitagent_cli.neurons.weights import (
    Commit,
    final_scores,
    first_committers,
    normalise,
    offline_by_hotkey,
    weights_due,
)


def test_copies_score_once_for_the_first_committer():
    commits = [
        Commit("copycat", "org/copy", "abc", 200),
        Commit("author", "org/orig", "abc", 100),
        Commit("other", "org/other", "def", 150),
    ]
    assert first_committers(commits) == {"abc": "author", "def": "other"}
    off = offline_by_hotkey(commits, {"abc": 0.9, "def": 0.4})
    assert off == {"author": 0.9, "copycat": 0.0, "other": 0.4}


def test_recommitting_the_same_sha_keeps_priority():
    # the author re-commits the same sha at block 300; the state remembers it first saw it at 100
    commits = [Commit("author", "org/orig", "abc", 300), Commit("copycat", "org/copy", "abc", 200)]
    assert first_committers(commits) == {"abc": "copycat"}  # without memory the copier would win
    assert first_committers(commits, first_seen={("author", "abc"): 100, ("copycat", "abc"): 200}) == {"abc": "author"}


def test_same_block_tie_goes_to_lower_uid():
    commits = [Commit("b", "r", "s", 10), Commit("a", "r", "s", 10)]
    assert first_committers(commits, uid_of={"a": 5, "b": 2}) == {"s": "b"}
    assert first_committers(commits) == {"s": "a"}  # no uids: smaller hotkey


def test_pending_model_scores_zero():
    assert offline_by_hotkey([Commit("a", "r", "s", 1)], {}) == {"a": 0.0}


def test_final_scores_blend_and_missing_parts():
    live = {0: "a", 1: "b", 2: "c"}
    out = final_scores(live, {"a": 1.0, "b": 0.2}, {"a": 0.5, "c": 0.8}, online_share=0.5)
    assert out == {0: pytest.approx(0.75), 1: pytest.approx(0.1), 2: pytest.approx(0.4)}
    assert final_scores(live, {"a": 1.0}, {"a": 0.0}, online_share=1.0)[0] == 1.0
    with pytest.raises(ValueError):
        final_scores(live, {}, {}, online_share=1.5)


def test_final_scores_clip_out_of_range_inputs():
    out = final_scores({0: "a", 1: "b"}, {"a": 7.0, "b": float("nan")}, {"a": -1.0}, online_share=0.5)
    assert out == {0: 0.5, 1: 0.0}


def test_normalise_over_live_uids_only():
    w = normalise({0: 1.0, 1: 3.0, 2: 0.0, 3: -2.0, 4: float("inf")})
    assert w == {0: 0.25, 1: 0.75, 2: 0.0, 3: 0.0, 4: 0.0}
    assert normalise({0: 0.0, 1: 0.0}) == {}
    assert normalise({}) == {}


@given(st.dictionaries(st.integers(0, 255), st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=40))
def test_normalise_sums_to_one_or_nothing(scores):
    w = normalise(scores)
    if any(v > 0 for v in scores.values()):
        assert math.isclose(sum(w.values()), 1.0, rel_tol=1e-9)
        assert all(0 <= v <= 1 for v in w.values())
        assert set(w) == set(scores)
    else:
        assert w == {}


def test_rate_limit():
    assert weights_due(1000, rate_limit=100) is True
    assert weights_due(1000, rate_limit=100, blocks_since_last_update=99) is False
    assert weights_due(1000, rate_limit=100, blocks_since_last_update=100) is True
    # our own record (survives a restart) also holds the line
    assert weights_due(1000, rate_limit=100, blocks_since_last_update=500, last_weights_block=950) is False
    assert weights_due(1000, rate_limit=100, blocks_since_last_update=500, last_weights_block=900) is True
    # a record from another chain (block ahead of now) is ignored
    assert weights_due(10, rate_limit=100, last_weights_block=5000) is True
    assert weights_due(10, rate_limit=0, blocks_since_last_update=0, last_weights_block=10) is True
