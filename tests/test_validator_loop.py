"""The validator loop with small stand-ins for the chain, the miners and the offline evaluator."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest

from bitagent_cli.neurons.offline import OfflineOutcome, OfflineWorker
from bitagent_cli.neurons.online import MinerAnswer, pick_task, sample_uids, score_answer, wire_id
from bitagent_cli.neurons.validator import NeuronInfo, Validator, ValidatorConfig
from bitagent_cli.neurons.weights import Commit
from bitagent_cli.store.validator_state import ValidatorState
from bitagent_cli.tasks import Task

ME = "5validator"


def make_task(i: int) -> Task:
    return Task.from_dict(
        {
            "id": f"suite/{i}",
            "category": "simple",
            "messages": [{"role": "user", "content": f"Double the number {i}."}],
            "tools": [
                {
                    "name": "double",
                    "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                }
            ],
            "expected": [{"name": "double", "arguments": {"x": [i]}}],
        }
    )


TASKS = {"s": [make_task(i) for i in range(50)]}


def source(block, hotkey):
    return pick_task(TASKS, block=block, hotkey=hotkey)


class FakeChain:
    def __init__(self, neurons, *, rate_limit=5):
        self.neurons_ = list(neurons)
        self.block_ = 100
        self.rate_limit = rate_limit
        self.commits: dict[str, Commit] = {}
        self.set_calls: list[tuple[int, list[int], list[float]]] = []
        self.last_update: dict[int, int] = {}
        self.fail: set[str] = set()

    def _maybe_fail(self, name):
        if name in self.fail:
            raise ConnectionError(f"chain {name} down")

    def block(self):
        self._maybe_fail("block")
        self.block_ += 1
        return self.block_

    def neurons(self):
        self._maybe_fail("neurons")
        return list(self.neurons_)

    def commitments(self):
        self._maybe_fail("commitments")
        return dict(self.commits)

    def weights_rate_limit(self):
        return self.rate_limit

    def blocks_since_last_update(self, uid):
        return self.block_ - self.last_update.get(uid, 0)

    def set_weights(self, uids, weights):
        self._maybe_fail("set_weights")
        me = next(n.uid for n in self.neurons_ if n.hotkey == ME)
        if self.block_ - self.last_update.get(me, 0) < self.rate_limit:
            raise RuntimeError("SettingWeightsTooFast")
        self.last_update[me] = self.block_
        self.set_calls.append((self.block_, list(uids), list(weights)))


class FakeMiners:
    """hotkey -> behaviour: 'good', 'garbage', 'dead', 'slow', 'raise'."""

    def __init__(self, behaviours):
        self.behaviours = dict(behaviours)
        self.queries: list[tuple[str, str]] = []
        self.feedback_: list[tuple[str, str, float]] = []

    async def query(self, axon, hotkey, task, *, task_id, timeout):
        self.queries.append((hotkey, task_id))
        b = self.behaviours.get(hotkey, "dead")
        if b == "good":
            return MinerAnswer(tool_calls=[task.expected[0].first_answer().to_openai()], latency_s=0.01)
        if b == "garbage":
            return MinerAnswer(text="¯\\_(ツ)_/¯ {not json", latency_s=0.01)
        if b == "slow":
            await asyncio.sleep(60)
        if b == "raise":
            raise RuntimeError("client bug")
        return MinerAnswer(error="unreachable: ConnectError")

    async def feedback(self, axon, hotkey, *, task_id, score, correct, error, feedback, timeout):
        self.feedback_.append((hotkey, task_id, score))
        return True


NEURONS = [
    NeuronInfo(0, ME, None, True),
    NeuronInfo(1, "good", "127.0.0.1:1"),
    NeuronInfo(2, "garbage", "127.0.0.1:2"),
    NeuronInfo(3, "dead", "127.0.0.1:3"),
    NeuronInfo(4, "noaxon", None),
]


def make_validator(tmp_path, chain=None, miners=None, **cfg):
    chain = chain or FakeChain(NEURONS)
    miners = miners or FakeMiners({"good": "good", "garbage": "garbage", "dead": "dead"})
    config = ValidatorConfig(
        sample_size=cfg.pop("sample_size", 10),
        query_timeout=cfg.pop("query_timeout", 0.5),
        step_seconds=0,
        ema_alpha=cfg.pop("ema_alpha", 0.5),
        offline=cfg.pop("offline", False),
        chain_timeout=cfg.pop("chain_timeout", 5.0),
        **cfg,
    )
    v = Validator(
        chain,
        hotkey=ME,
        state=ValidatorState(tmp_path / "state.sqlite"),
        client=miners,
        task_source=source,
        config=config,
    )
    return v, chain, miners


def run(coro):
    return asyncio.run(coro)


def run_steps(v, n):
    """``v.run(max_steps=n)`` and the reports of its steps (run() itself keeps only the last one)."""
    reports = []
    result = run(v.run(max_steps=n, on_step=reports.append))
    assert result.steps == len(reports) == n and result.last is reports[-1]
    return reports


def test_sampling_and_task_are_deterministic():
    a = sample_uids(range(100), 10, block=7, hotkey="h")
    assert a == sample_uids(list(reversed(range(100))), 10, block=7, hotkey="h")
    assert a != sample_uids(range(100), 10, block=8, hotkey="h")
    assert len(set(a)) == 10 and sample_uids(range(3), 10, block=1, hotkey="h") == [0, 1, 2]
    assert sample_uids([], 5, block=1, hotkey="h") == []
    assert pick_task(TASKS, block=7, hotkey="h") is pick_task(TASKS, block=7, hotkey="h")
    assert len({pick_task(TASKS, block=b, hotkey="h").id for b in range(40)}) > 10
    t = make_task(1)
    assert wire_id(t, step=1, block=2, hotkey="h") != wire_id(t, step=2, block=2, hotkey="h")
    assert "suite" not in wire_id(t, step=1, block=2, hotkey="h")


def test_sampling_is_uniform_enough():
    counts = [0] * 20
    for b in range(2000):
        for u in sample_uids(range(20), 5, block=b, hotkey="h"):
            counts[u] += 1
    assert min(counts) > 0.8 * 500 and max(counts) < 1.2 * 500


def test_score_answer_garbage_and_errors_score_zero():
    t = make_task(3)
    assert score_answer(t, MinerAnswer(tool_calls=[t.expected[0].first_answer().to_openai()])).score == 1.0
    assert score_answer(t, MinerAnswer(text="\x00" * 100)).score == 0.0
    assert score_answer(t, MinerAnswer(error="timeout")).error == "timeout"

    def boom(task, resp):
        raise ValueError("scorer bug")

    s = score_answer(t, MinerAnswer(text="double(x=3)"), boom)
    assert s.score == 0.0 and s.error == "scoring_error"


def test_steps_score_miners_and_good_one_gets_the_weight(tmp_path):
    v, chain, miners = make_validator(tmp_path)
    reports = run_steps(v, 4)
    assert all(r.committed and not r.errors for r in reports), [r.errors for r in reports]
    # only serving uids other than ourselves are queried
    assert {h for h, _ in miners.queries} == {"good", "garbage", "dead"}
    emas = v.state.emas()
    assert emas["good"] > 0.9 and emas["garbage"] == 0.0 and emas["dead"] == 0.0
    # feedback only to miners that answered
    assert {h for h, _, _ in miners.feedback_} == {"good", "garbage"}
    assert chain.set_calls, "weights were never set"
    _block, uids, weights = chain.set_calls[-1]
    assert dict(zip(uids, weights, strict=False))[1] == pytest.approx(1.0)
    assert 0 not in uids  # never ourselves
    # the wire task id is opaque
    assert miners.queries and all(not tid.startswith("suite/") for _, tid in miners.queries)


def test_rate_limit_is_respected(tmp_path):
    v, chain, _ = make_validator(tmp_path, FakeChain(NEURONS, rate_limit=3))
    reports = run_steps(v, 10)
    blocks = [b for b, _, _ in chain.set_calls]
    assert len(blocks) >= 2
    assert all(b2 - b1 >= 3 for b1, b2 in itertools.pairwise(blocks))
    assert not [e for r in reports for e in r.errors]  # never tried too early
    assert v.state.last_weights_block() == blocks[-1]


def test_rate_limit_holds_across_a_restart(tmp_path):
    v, chain, miners = make_validator(tmp_path, FakeChain(NEURONS, rate_limit=50))
    run(v.run(max_steps=2))
    assert len(chain.set_calls) == 1
    v.state.close()
    chain.last_update.clear()  # the chain read would allow it; our own record must still hold
    v2, _, _ = make_validator(tmp_path, chain, miners)
    run(v2.run(max_steps=2))
    assert len(chain.set_calls) == 1


@pytest.mark.slow
def test_loop_survives_every_kind_of_failure(tmp_path):
    miners = FakeMiners({"good": "good", "garbage": "raise", "dead": "slow"})
    v, chain, _ = make_validator(tmp_path, miners=miners, query_timeout=0.2)
    chain.fail = {"block"}
    r = run(v.step())
    assert not r.committed and r.errors and r.errors[0].startswith("sync")
    chain.fail = {"set_weights"}
    t0 = time.monotonic()
    r = run(v.step())
    assert time.monotonic() - t0 < 3
    assert r.committed and any(e.startswith("weights") for e in r.errors)
    assert r.queried[2]["error"].startswith("client_error") and r.queried[3]["error"] == "timeout"
    chain.fail = set()
    r = run(v.step())
    assert r.committed and r.weights and not r.errors


def test_failed_sync_does_not_consume_a_step(tmp_path):
    v, chain, _ = make_validator(tmp_path)
    chain.fail = {"neurons"}
    run(v.run(max_steps=3))
    assert v.state.next_step() == 0
    chain.fail = set()
    run(v.run(max_steps=1))
    assert v.state.next_step() == 1


def test_restart_resumes_from_the_same_file(tmp_path):
    v, chain, miners = make_validator(tmp_path)
    run(v.run(max_steps=3))
    before = v.state.emas()
    v.state.close()
    v2, _, _ = make_validator(tmp_path, chain, miners)
    assert v2.state.next_step() == 3 and v2.state.emas() == before
    reports = run_steps(v2, 2)
    assert [r.step for r in reports] == [3, 4]
    assert v2.state.emas()["good"] > before["good"]


def test_newcomer_on_a_uid_starts_at_the_median(tmp_path):
    chain = FakeChain([*NEURONS, NeuronInfo(5, "good2", "127.0.0.1:5")])
    miners = FakeMiners({"good": "good", "good2": "good", "garbage": "garbage", "dead": "dead"})
    v, chain, _ = make_validator(tmp_path, chain, miners, ema_alpha=0.5)
    run(v.run(max_steps=2))
    emas = v.state.emas()
    assert emas["good"] == emas["good2"] == 0.75 and emas["garbage"] == emas["dead"] == 0.0
    # uid 4 (never queried: no endpoint) changes hands; the newcomer starts at the median of the
    # miners scored so far (0.75, 0.75, 0, 0 -> 0.375), not at 0
    chain.neurons_ = [n if n.uid != 4 else NeuronInfo(4, "fresh", None) for n in chain.neurons_]
    run(v.step())
    assert v.state.emas()["fresh"] == pytest.approx(0.375)


def test_unregistered_validator_queries_but_sets_no_weights(tmp_path):
    chain = FakeChain([n for n in NEURONS if n.hotkey != ME])
    v, chain, miners = make_validator(tmp_path, chain)
    reports = run_steps(v, 2)
    assert all(r.committed for r in reports) and miners.queries
    assert chain.set_calls == [] and v.uid is None


def test_dry_run_sets_nothing(tmp_path):
    v, chain, _ = make_validator(tmp_path, dry_run=True)
    reports = run_steps(v, 3)
    assert chain.set_calls == [] and reports[0].weights and reports[0].weights[1] == pytest.approx(1.0)
    assert v.state.last_weights_block() is None


def test_offline_scores_blend_and_copies_get_nothing(tmp_path):
    evaluated = []

    def evaluator(repo, sha, timeout_s):
        evaluated.append(sha)
        return OfflineOutcome({"s-good": 1.0, "s-garbage": 0.5}[sha])

    v, chain, _ = make_validator(tmp_path, offline=True, ema_alpha=1.0, online_share=0.5)
    v.worker = OfflineWorker(v.state, evaluator, wanted=v._is_wanted)
    chain.commits = {
        "good": Commit("good", "org/good", "s-good", 10),
        "garbage": Commit("garbage", "org/g", "s-garbage", 20),
        "dead": Commit("dead", "org/copy", "s-good", 30),
    }  # copies good's sha, later
    run(v.step())
    assert v.state.offline_scores() == {}  # pending: nothing yet
    while v.worker.run_once():
        pass
    run(v.step())
    assert sorted(evaluated) == ["s-garbage", "s-good"]  # the copy is not evaluated again
    w = v.compute_weights()
    # good: .5*1 + .5*1 = 1; garbage: .5*0 + .5*.5 = .25; dead (copy): 0
    assert w[1] == pytest.approx(1 / 1.25) and w[2] == pytest.approx(0.25 / 1.25) and w[3] == 0.0
    run(v.step())
    assert sorted(evaluated) == ["s-garbage", "s-good"]  # cached by sha: never twice


def test_no_offline_means_online_only(tmp_path):
    v, chain, _ = make_validator(tmp_path, offline=False, ema_alpha=1.0)
    chain.commits = {"garbage": Commit("garbage", "org/g", "s", 1)}
    v.state.record_offline("s", "org/g", 1.0, "ok")
    run(v.step())
    assert v.compute_weights()[1] == pytest.approx(1.0)


def test_offline_worker_retries_then_fails_and_refusals_are_final(tmp_path):
    st = ValidatorState(tmp_path / "s.sqlite")
    calls = []

    def evaluator(repo, sha, timeout_s):
        calls.append(sha)
        if sha == "flaky":
            raise MemoryError("CUDA out of memory")
        if sha == "big":
            return OfflineOutcome(0.0, "refused", "model has 70B parameters (limit 8B)")
        return OfflineOutcome(0.7)

    w = OfflineWorker(st, evaluator, max_attempts=2, retry_delay_s=0.0)
    for sha in ("flaky", "big", "fine"):
        st.enqueue(sha, f"org/{sha}", len(calls))
    while w.run_once():
        pass
    res = {r.sha: r for r in st.offline_results()}
    assert res["big"].status == "refused" and res["big"].score == 0.0 and res["big"].attempts == 1
    assert res["fine"].score == 0.7
    assert res["flaky"].status == "failed" and res["flaky"].attempts == 2 and "out of memory" in res["flaky"].error
    assert calls.count("flaky") == 2 and st.queued() == []


def test_offline_worker_drops_models_nobody_commits(tmp_path):
    st = ValidatorState(tmp_path / "s.sqlite")
    st.enqueue("old", "org/m", 1)
    w = OfflineWorker(st, lambda r, s, t: OfflineOutcome(1.0), wanted=lambda sha: sha != "old")
    assert w.run_once() and st.queued() == [] and st.offline_scores() == {}


@pytest.mark.slow
def test_offline_worker_thread_keeps_the_loop_free(tmp_path):
    release = threading.Event()

    def evaluator(repo, sha, timeout_s):
        release.wait(10)
        return OfflineOutcome(0.9)

    v, chain, _ = make_validator(tmp_path, offline=True)
    v.worker = OfflineWorker(v.state, evaluator, wanted=v._is_wanted, idle_poll_s=0.05)
    chain.commits = {"good": Commit("good", "org/good", "sha-x", 10)}
    t0 = time.monotonic()
    reports = run_steps(v, 3)  # the worker is busy with the model the whole time
    assert time.monotonic() - t0 < 5 and all(r.committed for r in reports)
    release.set()  # the interrupted evaluation finishes after the shutdown: it is not recorded, still queued
    v.worker.stop(timeout=5)
    assert not v.worker.alive
    assert [q.sha for q in v.state.queued()] == ["sha-x"] and v.state.offline_scores() == {}


def test_summary_is_json_ready(tmp_path):
    import json

    v, _, _ = make_validator(tmp_path)
    run(v.run(max_steps=2))
    s = v.summary()
    json.dumps(s)
    assert s["uid"] == 0 and {m["uid"] for m in s["miners"]} == {1, 2, 3, 4}


def test_query_log_retention_comes_from_the_settings_in_days(monkeypatch):
    from bitagent_cli.config import load_settings

    assert ValidatorConfig.from_settings(load_settings("local")).query_log_steps == 7 * 1440  # a week at 60 s
    monkeypatch.setenv("BITAGENT_VALIDATOR_QUERY_LOG_DAYS", "1")
    s = load_settings("local", {"validator.step_seconds": 30})
    assert ValidatorConfig.from_settings(s).query_log_steps == 2880
    assert ValidatorConfig.from_settings(load_settings("local", {"validator.query_log_days": 0})).query_log_steps == 0


def test_upkeep_runs_every_maintain_every_steps_and_prunes(tmp_path):
    v, _, _ = make_validator(tmp_path, query_log_steps=3, maintain_every=4)
    reports = run_steps(v, 8)
    assert not [e for r in reports for e in r.errors]
    c = v.state.counts()
    assert c["steps"] == 3 and c["queries_rolled_up"] == 5 * 3  # upkeep after step 7: steps 5..7 kept
    assert c["queries"] + c["queries_rolled_up"] == 8 * 3
