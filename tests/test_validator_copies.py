"""Copied weights under another repo or sha: one model, scored once, for the first committer (issue 10).

The validator runs with the loop tests' stand-ins (chain, miners) and an offline evaluator that knows
each sha's weights fingerprint, as ``PipelineEvaluator.fingerprint`` reads it from the Hub's metadata.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from test_validator_loop import make_validator

from bitagent_cli.neurons.offline import OfflineOutcome, OfflineWorker
from bitagent_cli.neurons.weights import Commit, first_committers, offline_by_hotkey
from bitagent_cli.store.validator_state import ValidatorState

FP_GOOD, FP_OTHER = "a" * 64, "b" * 64


class Evaluator:
    """``(repo, sha, timeout) -> OfflineOutcome`` plus ``fingerprint(repo, sha)``, recording both."""

    def __init__(self, scores, fingerprints, *, lookup=True, in_details=False):
        self.scores, self.fps = dict(scores), dict(fingerprints)
        self.evaluated: list[str] = []
        self.looked_up: list[str] = []
        self.in_details = in_details
        if not lookup:
            self.fingerprint = None  # no lookup: the fingerprint only comes back with the evaluation

    def __call__(self, repo, sha, timeout_s):
        self.evaluated.append(sha)
        return OfflineOutcome(self.scores[sha], details={"fingerprint": self.fps.get(sha)} if self.in_details else {})

    def fingerprint(self, repo, sha):
        self.looked_up.append(sha)
        if sha == "s-hub-down":
            raise ConnectionError("the Hub is unreachable")
        return self.fps.get(sha)


def drain(worker):
    while worker.run_once():
        pass


# ---------------------------------------------------------------- the pure part
def test_same_fingerprint_is_one_model_first_committer_wins():
    commits = [
        Commit("orig", "org/model", "s1", 10),
        Commit("thief", "thief/model", "s2", 20),
        Commit("other", "org/other", "s3", 15),
    ]
    scores = {"s1": 0.8, "s2": 0.8, "s3": 0.5}
    fps = {"s1": FP_GOOD, "s2": FP_GOOD, "s3": FP_OTHER}
    assert offline_by_hotkey(commits, scores, fingerprints=fps) == {"orig": 0.8, "thief": 0.0, "other": 0.5}
    # without fingerprints (before issue 10) the copy under a new sha was paid
    assert offline_by_hotkey(commits, scores) == {"orig": 0.8, "thief": 0.8, "other": 0.5}
    assert first_committers(commits, fingerprints=fps) == {FP_GOOD: "orig", FP_OTHER: "other"}


def test_recommitting_own_weights_under_a_new_sha_keeps_priority():
    # orig committed s1 at block 10; thief copied at 20; orig re-uploads the same weights (new README) at 30
    commits = [Commit("orig", "org/model", "s1b", 30), Commit("thief", "thief/model", "s2", 20)]
    first_seen = {("orig", "s1"): 10, ("orig", "s1b"): 30, ("thief", "s2"): 20}
    fps = {"s1": FP_GOOD, "s1b": FP_GOOD, "s2": FP_GOOD}
    scores = {"s1": 0.8, "s1b": 0.8, "s2": 0.8}
    assert offline_by_hotkey(commits, scores, first_seen, fingerprints=fps) == {"orig": 0.8, "thief": 0.0}


def test_the_copy_inherits_when_the_original_leaves():
    """As for a copied sha: the first committer among those committing it *now* owns the score."""
    commits = [Commit("thief", "thief/model", "s2", 20)]
    assert offline_by_hotkey(commits, {"s1": 0.8, "s2": 0.8}, fingerprints={"s1": FP_GOOD, "s2": FP_GOOD}) == {
        "thief": 0.8
    }


# ---------------------------------------------------------------- the worker and the state
def test_worker_scores_a_copy_without_evaluating_it(tmp_path):
    st = ValidatorState(tmp_path / "s.sqlite")
    ev = Evaluator({"s1": 0.8, "s3": 0.4}, {"s1": FP_GOOD, "s2": FP_GOOD, "s3": FP_OTHER})
    st.enqueue("s1", "org/model", 10)
    st.enqueue("s2", "thief/model", 20)
    st.enqueue("s3", "org/other", 30)
    drain(OfflineWorker(st, ev))
    assert ev.evaluated == ["s1", "s3"] and ev.looked_up == ["s1", "s2", "s3"]
    recs = {r.sha: r for r in st.offline_results()}
    assert recs["s2"].score == 0.8 and recs["s2"].status == "ok" and recs["s2"].details["copy_of"] == "org/model@s1"
    assert st.fingerprints() == {"s1": FP_GOOD, "s2": FP_GOOD, "s3": FP_OTHER}
    assert recs["s1"].to_dict()["fingerprint"] == FP_GOOD


def test_worker_copies_refusals_but_not_failures(tmp_path):
    st = ValidatorState(tmp_path / "s.sqlite")
    st.record_offline("s-refused", "org/big", 0.0, "refused", error="70B parameters", fingerprint=FP_GOOD)
    st.record_offline("s-failed", "org/oom", 0.0, "failed", error="out of memory", fingerprint=FP_OTHER)
    ev = Evaluator({"s-copy2": 0.6}, {"s-copy1": FP_GOOD, "s-copy2": FP_OTHER})
    st.enqueue("s-copy1", "x/big", 1)
    st.enqueue("s-copy2", "x/oom", 2)
    drain(OfflineWorker(st, ev))
    recs = {r.sha: r for r in st.offline_results()}
    assert recs["s-copy1"].status == "refused" and recs["s-copy1"].error == "70B parameters"
    assert ev.evaluated == ["s-copy2"] and recs["s-copy2"].score == 0.6  # our failure is not the weights' verdict


def test_no_fingerprint_means_evaluate_as_before(tmp_path):
    st = ValidatorState(tmp_path / "s.sqlite")
    ev = Evaluator({"s-hub-down": 0.7, "s-unknown": 0.5}, {})
    st.enqueue("s-hub-down", "org/a", 1)
    st.enqueue("s-unknown", "org/b", 2)
    drain(OfflineWorker(st, ev))
    assert ev.evaluated == ["s-hub-down", "s-unknown"] and st.fingerprints() == {}


def test_fingerprint_from_the_evaluation_still_catches_the_copy(tmp_path):
    """An evaluator without a lookup: both shas are evaluated, the report's fingerprint is kept, the copy gets 0."""
    ev = Evaluator(
        {"s-good": 1.0, "s-copy": 1.0}, {"s-good": FP_GOOD, "s-copy": FP_GOOD}, lookup=False, in_details=True
    )
    v, chain, _ = make_validator(tmp_path, offline=True, ema_alpha=1.0, online_share=0.5)
    v.worker = OfflineWorker(v.state, ev, wanted=v._is_wanted)
    chain.commits = {
        "good": Commit("good", "org/good", "s-good", 10),
        "garbage": Commit("garbage", "thief/copy", "s-copy", 20),
    }
    asyncio.run(v.step())
    drain(v.worker)
    assert sorted(ev.evaluated) == ["s-copy", "s-good"] and v.state.fingerprints()["s-copy"] == FP_GOOD
    assert v.offline_scores() == {"good": 1.0, "garbage": 0.0}


def test_validator_pays_the_original_and_not_the_renamed_copy(tmp_path):
    ev = Evaluator({"s-good": 1.0, "s-garbage": 0.5}, {"s-good": FP_GOOD, "s-copy": FP_GOOD, "s-garbage": FP_OTHER})
    v, chain, _ = make_validator(tmp_path, offline=True, ema_alpha=1.0, online_share=0.5)
    v.worker = OfflineWorker(v.state, ev, wanted=v._is_wanted)
    chain.commits = {
        "good": Commit("good", "org/good", "s-good", 10),
        "garbage": Commit("garbage", "org/g", "s-garbage", 20),
        "dead": Commit("dead", "thief/renamed", "s-copy", 30),
    }  # good's weights, another repo and sha
    asyncio.run(v.step())
    drain(v.worker)
    asyncio.run(v.step())
    assert sorted(ev.evaluated) == ["s-garbage", "s-good"]  # the copy is never evaluated
    assert v.offline_scores() == {"good": 1.0, "garbage": 0.5, "dead": 0.0}
    w = v.compute_weights()
    # good: .5*1 + .5*1 = 1; garbage: .5*0 + .5*.5 = .25; dead (copy, never answers online): 0
    assert w[1] == pytest.approx(1 / 1.25) and w[2] == pytest.approx(0.25 / 1.25) and w[3] == 0.0
    # the original leaves: the copier is now the first committer of those weights
    del chain.commits["good"]
    asyncio.run(v.step())
    assert v.offline_scores()["dead"] == 1.0 and sorted(ev.evaluated) == ["s-garbage", "s-good"]


def test_state_written_before_fingerprints_is_upgraded(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE offline(sha TEXT PRIMARY KEY, repo TEXT NOT NULL, score REAL NOT NULL, "
        "status TEXT NOT NULL, error TEXT, attempts INTEGER NOT NULL DEFAULT 0, evaluated_at REAL NOT NULL, "
        "details TEXT)"
    )
    db.execute("INSERT INTO offline VALUES('s1', 'org/m', 0.5, 'ok', NULL, 1, 1.0, '{}')")
    db.commit()
    db.close()
    st = ValidatorState(path)
    assert st.offline_scores() == {"s1": 0.5} and st.fingerprints() == {}
    st.record_offline("s2", "org/n", 0.7, "ok", fingerprint=FP_GOOD)
    assert st.offline_by_fingerprint(FP_GOOD).sha == "s2" and st.offline_by_fingerprint(FP_OTHER) is None
    st.close()
    assert ValidatorState(path).fingerprints() == {"s2": FP_GOOD}  # opening again changes nothing


def test_pipeline_evaluator_fingerprints_with_the_eval_limits(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from bitagent_cli.config import load_settings
    from bitagent_cli.neurons.offline import PipelineEvaluator
    from bitagent_cli.serving import vetting

    calls = []

    def fake_vet(ref, *, max_params_b, max_download_gb):
        calls.append((ref, max_params_b, max_download_gb))
        return SimpleNamespace(fingerprint=FP_GOOD)

    settings = load_settings("local", {"paths.data_dir": str(tmp_path), "eval.max_params_b": 3.0})
    ev = PipelineEvaluator(settings, suites=["bfcl"], limit=2)
    monkeypatch.setattr(vetting, "vet_model", fake_vet)
    assert ev.fingerprint("org/m", "c" * 40) == FP_GOOD
    assert calls == [(f"org/m@{'c' * 40}", 3.0, float(settings["eval.max_download_gb"]))]
    monkeypatch.undo()  # the real lookup, with the Hub off in tests: a one-line refusal, never a hang
    with pytest.raises(vetting.ModelUnavailable, match="HF_HUB_OFFLINE"):
        ev.fingerprint("org/m", "c" * 40)


def test_production_validator_on_the_fake_chain_pays_only_the_first_committer(tmp_path, monkeypatch):
    """build_validator over tests/chain_fakes (commitments read and parsed by bitagent_cli.chain, the worker
    thread, the SQLite state): a renamed copy committed later under another repo and sha scores 0."""
    import time

    pytest.importorskip("bittensor")
    from bittensor.sp_core import Keypair
    from chain_fakes import FakeChain
    from test_validator_loop import source

    from bitagent_cli import chain as chain_mod
    from bitagent_cli.config import load_settings
    from bitagent_cli.neurons.validator import build_validator

    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "btcli_token_symbols.json"))
    vali, orig, thief = (Keypair.create_from_uri(u) for u in ("//Alice", "//Bob", "//Charlie"))
    sha_orig, sha_copy = "1" * 40, "2" * 40
    fc = FakeChain(block=5000)
    fc.add_subnet(76, weights_rate_limit=4)
    settings = load_settings("local", {"chain.netuid": 76, "paths.data_dir": str(tmp_path / "data")})
    fc.register(76, vali.ss58_address, vali.ss58_address, stake=5000.0, validator_permit=True)
    fc.register(76, orig.ss58_address, orig.ss58_address)
    fc.register(76, thief.ss58_address, thief.ss58_address)
    fc.set_commitment(76, orig.ss58_address, f"hf:org/model@{sha_orig}", block=4000)
    fc.set_commitment(76, thief.ss58_address, f"hf:thief/renamed@{sha_copy}", block=4500)
    ev = Evaluator({sha_orig: 0.9}, {sha_orig: FP_GOOD, sha_copy: FP_GOOD})
    with fc.installed():
        v = build_validator(
            settings,
            chain=chain_mod.connect(settings),
            wallet=vali,
            task_source=source,
            state_file=str(tmp_path / "v.sqlite"),
            wandb_mode=None,
            offline_evaluator=ev,
            config_overrides={"step_seconds": 0.0, "offline_retry_s": 0.0},
        )

        def wait_for_the_worker(report):  # the worker thread runs while the loop waits here, after step 0
            deadline = time.monotonic() + 60
            while len(v.state.offline_scores()) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)

        asyncio.run(v.run(max_steps=2, on_step=wait_for_the_worker))
    assert ev.evaluated == [sha_orig] and v.state.fingerprints() == {sha_orig: FP_GOOD, sha_copy: FP_GOOD}
    offline = {m["hotkey"]: m["offline"] for m in v.summary()["miners"]}
    assert offline[orig.ss58_address] == 0.9 and offline[thief.ss58_address] == 0.0


def test_results_from_before_fingerprints_are_looked_up_when_idle(tmp_path):
    st = ValidatorState(tmp_path / "s.sqlite")
    st.record_offline("s-old", "org/top", 0.9, "ok")  # scored by an older validator: no fingerprint
    st.record_offline("s-gone", "org/gone", 0.2, "ok")
    ev = Evaluator({}, {"s-old": FP_GOOD, "s-copy": FP_GOOD})
    w = OfflineWorker(st, ev)
    assert w.run_once() and w.run_once() and not w.run_once()  # two lookups, then nothing left to do
    assert ev.looked_up == ["s-old", "s-gone"] and st.fingerprints() == {"s-old": FP_GOOD}
    assert st.unfingerprinted() is None  # "s-gone" was looked up (unknown): not asked again
    st.enqueue("s-copy", "thief/top", 50)
    drain(w)
    assert ev.evaluated == [] and st.offline_scores()["s-copy"] == 0.9
    commits = [Commit("orig", "org/top", "s-old", 10), Commit("thief", "thief/top", "s-copy", 50)]
    assert offline_by_hotkey(commits, st.offline_scores(), fingerprints=st.fingerprints()) == {
        "orig": 0.9,
        "thief": 0.0,
    }
    assert OfflineWorker(st, lambda r, s, t: OfflineOutcome(1.0)).run_once() is False  # no lookup: no backfill
