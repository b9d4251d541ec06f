"""The validator's production parts: wandb logging (lazy, offline, private) and the pipeline evaluator."""

from __future__ import annotations

import sys
import time
import types

import pytest

from bitagent_cli.config import load_settings
from bitagent_cli.neurons.offline import OfflineOutcome, PipelineEvaluator
from bitagent_cli.neurons.validator import StepReport, WandbLogger, state_path


class FakeRun:
    def __init__(self):
        self.logged = []
        self.finished = False

    def log(self, data, step=None):
        self.logged.append((step, data))

    def finish(self):
        self.finished = True


@pytest.fixture
def fake_wandb(monkeypatch):
    mod = types.ModuleType("wandb")
    mod.inits = []
    mod.run = FakeRun()
    mod.fail = False

    def init(**kw):
        mod.inits.append(kw)
        if mod.fail:
            raise RuntimeError("wandb is down")
        return mod.run

    mod.init = init
    mod.Settings = lambda **kw: kw
    monkeypatch.setitem(sys.modules, "wandb", mod)
    return mod


def report():
    return StepReport(
        step=7,
        block=100,
        task_id="abc",
        category="simple",
        queried={
            1: {"hotkey": "h1", "score": 1.0, "correct": True, "error": None, "latency_s": 0.2},
            2: {"hotkey": "h2", "score": 0.0, "correct": False, "error": "timeout", "latency_s": 5.0},
        },
        committed=True,
        weights={1: 1.0},
    )


def test_wandb_is_lazy_offline_and_private(tmp_path, fake_wandb):
    lg = WandbLogger(mode="offline", dir=str(tmp_path / "wandb"), config={"netuid": 76})
    assert fake_wandb.inits == []  # nothing until the first log
    lg.log_step(report())
    lg.log_offline("org/m", "a" * 40, OfflineOutcome(0.5))
    (kw,) = fake_wandb.inits
    assert kw["mode"] == "offline" and kw["project"] == "bitagent-validator" and "entity" not in kw
    step, data = fake_wandb.run.logged[0]
    assert step == 7 and data["online/uid_1/score"] == 1.0 and data["online/uid_2/error"] == "timeout"
    assert data["weights/uid_1"] == 1.0 and data["online/mean_score"] == 0.5
    assert fake_wandb.run.logged[1][1]["offline/sha"] == "a" * 12
    lg.close()
    assert fake_wandb.run.finished


def test_wandb_failure_turns_logging_off_once(tmp_path, fake_wandb, caplog):
    fake_wandb.fail = True
    lg = WandbLogger(mode="online", dir=str(tmp_path), config={})
    lg.log_step(report())
    lg.log_step(report())
    assert len(fake_wandb.inits) == 1
    assert sum("wandb disabled" in r.message for r in caplog.records) == 1


def test_state_path_is_per_network_netuid_and_hotkey(tmp_path):
    s = load_settings("testnet", {"paths.data_dir": str(tmp_path)})
    assert state_path(s, "5Hot") == tmp_path / "validator" / "test-76" / "5Hot" / "state.sqlite"
    s = load_settings("local", {"paths.data_dir": str(tmp_path), "chain.endpoint": "ws://127.0.0.1:9946"})
    assert state_path(s, "5Hot").parent.parent.name == "ws_127.0.0.1_9946-76"


def test_pipeline_evaluator_times_out_and_kills_the_child(tmp_path):
    settings = load_settings("local", {"paths.data_dir": str(tmp_path), "eval.backend": "transformers"})
    ev = PipelineEvaluator(settings, suites=["bfcl"], limit=2, grace_s=5)
    t0 = time.monotonic()
    out = ev("builtin:tiny", "", 0.5)
    assert out.status == "error" and "timed out" in out.error
    assert time.monotonic() - t0 < 15


def test_pipeline_evaluator_refusal_is_final(tmp_path):
    settings = load_settings("local", {"paths.data_dir": str(tmp_path)})
    out = PipelineEvaluator(settings, suites=["bfcl"], limit=2)("not a model", "", 60)
    assert out.status == "refused" and "ModelRefused" in out.error


@pytest.mark.slow
def test_pipeline_evaluator_scores_a_model_in_a_child_process(tmp_path):
    """The real eval-model pipeline (tiny model, transformers on CPU) run the way the validator runs it."""
    settings = load_settings("local", {"paths.data_dir": str(tmp_path), "eval.backend": "transformers"})
    out = PipelineEvaluator(settings, suites=["bfcl"], limit=4)("builtin:tiny", "", 240)
    assert out.status == "ok", out.error
    assert 0.0 <= out.score <= 1.0 and out.details["tasks"] == 4 and out.details["backend"] == "transformers"
    assert len(out.details["fingerprint"]) == 64  # the weights fingerprint comes back with the score
