"""scoring/summary.py: BFCL's summary columns and v4 overall, checked against published leaderboard rows."""

from __future__ import annotations

import pytest

from bitagent_cli.scoring.summary import BFCL_SIZES, OVERALL_WEIGHTS, bfcl_summary

# xLAM-2-8b-fc-r (FC) on the BFCL v4 leaderboard (gh-pages, 2025-12-16; bfcl-reference.md section 4):
# per-category accuracies and the published summary (NonLive 84.58, Live 67.95, Irrelevance 63.28,
# Multi-turn 70.00, Agentic 10.24, Overall 46.68).
XLAM = {
    "simple": 0.925,
    "simple_java": 0.65,
    "simple_javascript": 0.64,
    "multiple": 0.935,
    "parallel": 0.875,
    "parallel_multiple": 0.835,
    "live_simple": 0.7558,
    "live_multiple": 0.6657,
    "live_parallel": 0.5625,
    "live_parallel_multiple": 0.5417,
    "irrelevance": 0.6208,
    "live_irrelevance": 0.6448,
    "live_relevance": 0.875,
    "multi_turn_base": 0.70,
    "multi_turn_miss_func": 0.70,
    "multi_turn_miss_param": 0.70,
    "multi_turn_long_context": 0.70,
    "web_search_base": 0.065,
    "web_search_no_snippet": 0.065,
    "memory_kv": 0.1398,
    "memory_vector": 0.1398,
    "memory_rec_sum": 0.1398,
}


def test_published_row_is_reproduced():
    s = bfcl_summary(XLAM)
    assert s["non_live"] == pytest.approx(0.8458, abs=5e-5)
    assert s["simple"] == pytest.approx(0.7383, abs=5e-5)
    assert s["live"] == pytest.approx(0.6795, abs=5e-5)
    assert s["irrelevance"] == pytest.approx(0.6328, abs=5e-5)
    assert s["multi_turn"] == pytest.approx(0.70) and s["agentic"] == pytest.approx(0.1024)
    assert s["relevance"] == pytest.approx(0.875)
    assert s["overall"] == pytest.approx(0.4668, abs=5e-5)
    assert s["not_run"] == [] and "0.40 agentic" in s["overall_note"] and "not run" not in s["overall_note"]


def test_missing_categories_count_zero_and_columns_that_did_not_run_are_none():
    ran = {
        k: v for k, v in XLAM.items() if not k.startswith(("web_search", "memory")) and k != "multi_turn_long_context"
    }
    s = bfcl_summary(ran)
    assert s["agentic"] is None
    assert s["multi_turn"] == pytest.approx(0.70 * 3 / 4)  # long_context counts 0: capped at 75%, as BFCL does
    want = 0.1 * 0.845833 + 0.1 * 0.679481 + 0.1 * 0.6328 + 0.3 * 0.525
    assert s["overall"] == pytest.approx(want, abs=1e-5)
    assert "agentic categories" in s["overall_note"] and "multi_turn_long_context" in s["overall_note"]
    assert "web_search_base" not in s["overall_note"]  # said once, as "the agentic categories"
    assert set(s["not_run"]) == {
        "multi_turn_long_context",
        "web_search_base",
        "web_search_no_snippet",
        "memory_kv",
        "memory_vector",
        "memory_rec_sum",
    }
    only = bfcl_summary({"simple": {"tasks": 4, "correct": 3}})
    assert only["simple"] == pytest.approx(0.25) and only["non_live"] == pytest.approx(0.0625)
    assert only["live"] is only["multi_turn"] is only["relevance"] is only["irrelevance"] is None
    assert only["overall"] == pytest.approx(0.00625)
    assert bfcl_summary({})["overall"] is None
    assert bfcl_summary({"glaive_thing": 1.0})["overall"] is None  # not a BFCL category


def test_input_forms_and_live_weights():
    by_count = bfcl_summary({"live_simple": {"tasks": 10, "correct": 5, "accuracy": 0.5}})
    by_acc = bfcl_summary({"live_simple": {"tasks": 10, "accuracy": 0.5}})
    bare = bfcl_summary({"live_simple": 0.5})
    assert by_count == by_acc == bare
    # live is weighted by BFCL's full category sizes, whatever was sampled
    s = bfcl_summary(
        {
            "live_simple": 1.0,
            "live_multiple": 0.0,
            "live_parallel": {"tasks": 1, "correct": 1},
            "live_parallel_multiple": 0.0,
        }
    )
    total = (
        BFCL_SIZES["live_simple"]
        + BFCL_SIZES["live_multiple"]
        + BFCL_SIZES["live_parallel"]
        + BFCL_SIZES["live_parallel_multiple"]
    )
    assert s["live"] == pytest.approx((258 + 16) / total, abs=1e-6)
    assert bfcl_summary({"simple": 0.5}) == bfcl_summary({"simple_python": 0.5})
    assert bfcl_summary({"simple": {"tasks": 0, "correct": 0}})["overall"] is None  # nothing ran
    assert sum(OVERALL_WEIGHTS.values()) == pytest.approx(1.0)


def test_v3_formula_the_validators_used():
    s = bfcl_summary(XLAM)
    non_live = (0.738333 + 0.935 + 0.875 + 0.835 + 0.6208) / 5
    sizes = {
        "live_simple": 258,
        "live_multiple": 1053,
        "live_parallel": 16,
        "live_parallel_multiple": 24,
        "live_irrelevance": 884,
        "live_relevance": 16,
    }
    live = sum(XLAM[c] * n for c, n in sizes.items()) / sum(sizes.values())
    assert s["overall_v3"] == pytest.approx((non_live + live + 0.70) / 3, abs=1e-5)
    assert bfcl_summary({"multi_turn_base": 1.0})["overall_v3"] == pytest.approx(0.25 / 3, abs=1e-6)


def test_columns_for_display():
    from bitagent_cli.scoring.summary import BFCL_COLUMNS, bfcl_columns

    cols = bfcl_columns(
        {
            "simple": {"tasks": 4, "correct": 4, "accuracy": 1.0},
            "live_simple": {"tasks": 2, "correct": 1, "accuracy": 0.5},
        }
    )
    assert list(cols) == list(BFCL_COLUMNS)
    assert cols["non_live"] == {"accuracy": pytest.approx(1 / 12, abs=1e-6), "tasks": 4, "categories": ["simple"]}
    assert cols["live"]["categories"] == ["live_simple"] and cols["live"]["tasks"] == 2
    assert cols["multi_turn"] == {"accuracy": None, "tasks": 0, "categories": []}
