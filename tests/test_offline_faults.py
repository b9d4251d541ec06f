"""Fault attribution in the validator's offline worker (issue 18): what the model did is the miner's 0 with its
reason, final; what failed on our side is retried.

The evaluation child is replaced by the small functions of ``offline_children.py`` (``offline._CHILD``,
spawned as the real one is) that talk the real pipe protocol: ``("progress", faults, {})`` while running,
then a result.
"""

from __future__ import annotations

import offline_children as children
import pytest

from bitagent_cli.config import load_settings
from bitagent_cli.neurons import offline
from bitagent_cli.neurons.offline import (
    OfflineOutcome,
    OfflineWorker,
    PipelineEvaluator,
    finished_outcome,
    stopped_outcome,
)
from bitagent_cli.store.validator_state import ValidatorState

SHA = "c" * 40


def _evaluate_with(monkeypatch, tmp_path, child, timeout_s: float) -> OfflineOutcome:
    monkeypatch.setattr(offline, "_CHILD", child)
    ev = PipelineEvaluator(load_settings("local", {"paths.data_dir": str(tmp_path)}), suites=["bfcl"], limit=1)
    ev.grace_s = 2
    return ev("org/m", SHA, timeout_s)


def test_a_timeout_after_the_models_own_faults_is_the_miners_final_zero(monkeypatch, tmp_path):
    out = _evaluate_with(monkeypatch, tmp_path, children.faults_then_hang, 4)
    assert out.status == "refused" and out.score == 0.0
    assert "timed out" in out.error and "budget" in out.error and out.details["fault"] == "model"


def test_a_plain_timeout_is_still_our_error(monkeypatch, tmp_path):
    out = _evaluate_with(monkeypatch, tmp_path, children.hang, 1)
    assert out.status == "error" and "timed out" in out.error


def test_a_child_killed_after_the_models_faults_is_the_miners(monkeypatch, tmp_path):
    out = _evaluate_with(monkeypatch, tmp_path, children.faults_then_die, 30)
    assert out.status == "refused" and "died" in out.error


def test_a_finished_evaluation_keeps_its_score_and_names_the_models_faults(monkeypatch, tmp_path):
    out = _evaluate_with(monkeypatch, tmp_path, children.finish_with_faults, 30)
    assert out.status == "ok" and out.score == 0.75
    assert "budget_exceeded:walk x1" in out.error and out.details["model_faults"] == {"budget_exceeded:walk": 1}


# ---------------------------------------------------------------- the worker records, or retries
class _Evaluator:
    def __init__(self, outcome: OfflineOutcome):
        self.outcome = outcome
        self.calls = 0

    def __call__(self, repo: str, sha: str, timeout_s: float) -> OfflineOutcome:
        self.calls += 1
        return self.outcome


@pytest.mark.parametrize(
    "outcome,final",
    [
        (stopped_outcome("timed out after 3600s", 3), True),  # the model's: recorded at once, never retried
        (OfflineOutcome(0.0, "refused", "ModelRefused: the chat template failed a bounded render"), True),
        (stopped_outcome("timed out after 3600s", 0), False),  # ours (our GPU, our disk): retried
        (OfflineOutcome(0.0, "error", "evaluation process died (exit -9)"), False),
    ],
)
def test_the_models_faults_are_final_and_ours_are_retried(tmp_path, outcome, final):
    st = ValidatorState(tmp_path / "state.sqlite")
    st.enqueue(SHA, "org/m", first_block=1)
    ev = _Evaluator(outcome)
    w = OfflineWorker(st, ev, max_attempts=3, retry_delay_s=0.0)
    assert w.run_once()
    results = st.offline_results()
    if final:
        (r,) = results
        assert r.status == "refused" and r.score == 0.0 and r.error == outcome.error and r.attempts == 1
        assert not st.queued()
        assert not w.run_once() and ev.calls == 1  # nothing left to evaluate: never retried
    else:
        assert results == [] and [q.sha for q in st.queued()] == [SHA]
        assert w.run_once() and ev.calls == 2  # retried
    st.close()


def test_a_finished_evaluation_with_model_faults_is_recorded_with_its_reason(tmp_path):
    st = ValidatorState(tmp_path / "state.sqlite")
    st.enqueue(SHA, "org/m", first_block=1)
    out = finished_outcome("ok", 0.5, {"tasks": 2, "model_faults": {"budget_exceeded:result": 1}})
    OfflineWorker(st, _Evaluator(out)).run_once()
    (r,) = st.offline_results()
    assert r.status == "ok" and r.score == 0.5 and "budget_exceeded:result x1" in r.error
    assert r.details["model_faults"] == {"budget_exceeded:result": 1}
    st.close()
