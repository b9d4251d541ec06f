"""Where BFCL's summary shows: the eval report (--json, text) and the validator's offline score."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bitagent_cli._evaluate import EvalReport
from bitagent_cli.config import ConfigError, load_settings
from bitagent_cli.neurons.offline import _summary, offline_score


def report(by_suite):
    r = EvalReport(model="m", model_sha="s", backend="endpoint", suites=[], settings={}, settings_hash="h", total=0)
    r.by_suite = by_suite
    r.summary = {"tasks": 4, "correct": 3, "accuracy": 0.75}
    return r


def cats(**acc):
    return {"by_category": {c: {"tasks": 10, "correct": round(a * 10), "accuracy": a} for c, a in acc.items()}}


def test_report_carries_the_summary_of_bfcl_full_else_bfcl():
    assert report({"glaive": cats(simple=1.0)}).bfcl_summary is None
    assert report({}).to_dict()["bfcl_summary"] is None
    only_bfcl = report({"bfcl": cats(simple=1.0), "glaive": cats(simple=0.0)})
    assert only_bfcl.bfcl_summary["simple"] == pytest.approx(1 / 3, abs=1e-6)  # java and js not run: 0
    both = report({"bfcl": cats(simple=1.0), "bfcl-full": cats(simple=0.5, multi_turn_base=1.0)})
    s = both.to_dict()["bfcl_summary"]
    assert s["multi_turn"] == pytest.approx(0.25) and s["simple"] == pytest.approx(0.5 / 3, abs=1e-6)


def test_offline_score_is_accuracy_unless_bfcl_overall_is_asked_for():
    r = report(
        {
            "bfcl-full": cats(
                simple=1.0, multiple=1.0, parallel=1.0, parallel_multiple=1.0, simple_java=1.0, simple_javascript=1.0
            )
        }
    )
    assert offline_score(r) == offline_score(r, "accuracy") == 0.75
    assert offline_score(r, "bfcl_overall") == pytest.approx(0.10)  # non-live only: 0.10 x 100%
    assert offline_score(report({"glaive": cats(simple=1.0)}), "bfcl_overall") == 0.0
    assert offline_score(SimpleNamespace(accuracy=0.5, bfcl_summary=None), "bfcl_overall") == 0.0
    assert _summary(r)["bfcl_summary"]["non_live"] == pytest.approx(1.0)


def test_the_setting_takes_only_its_choices():
    assert load_settings()["validator.offline_score"] == "accuracy"
    assert (
        load_settings(overrides={"validator.offline_score": "bfcl_overall"})["validator.offline_score"]
        == "bfcl_overall"
    )
    with pytest.raises(ConfigError, match="accuracy, bfcl_overall"):
        load_settings(overrides={"validator.offline_score": "overall"})
