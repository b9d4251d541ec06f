"""Stand-ins for a long validator run at N miners: the real ``Validator`` and ``ValidatorState`` (SQLite on
disk), with the chain and miners of tests/test_validator_loop.py made lean (they keep nothing per step, so
whatever memory grows is the validator's). Used by tests/test_validator_soak.py and
benchmarks/validator_scale.py.

Every step: a metagraph sync of N+1 neurons, the offline phase over N commitments (half of them copies of
another miner's model, a quarter already scored, the rest queued forever: no evaluator runs), one task
sent to ``sample_size`` miners (a third answer right, a third garbage, a third are unreachable), scored
by the real scorer, and weights over all N set whenever the chain's rate limit allows."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from test_validator_loop import ME, FakeChain, source

from bitagent_cli.neurons.online import MinerAnswer
from bitagent_cli.neurons.validator import NeuronInfo, Validator, ValidatorConfig
from bitagent_cli.neurons.weights import Commit
from bitagent_cli.store.validator_state import ValidatorState


class LeanChain(FakeChain):
    """test_validator_loop's chain, keeping only the last weights it was given; in memory, so the
    validator calls it inline (``blocking = False``) rather than through a thread per call."""

    blocking = False

    def set_weights(self, uids, weights):
        me = next(n.uid for n in self.neurons_ if n.hotkey == ME)
        if self.block_ - self.last_update.get(me, 0) < self.rate_limit:
            raise RuntimeError("SettingWeightsTooFast")
        self.last_update[me] = self.block_
        self.set_calls[:] = [(self.block_, len(uids), sum(weights))]


class LeanMiners:
    """A :class:`~bitagent_cli.neurons.online.MinerClient` answering from a table; records nothing."""

    def __init__(self, kinds: dict[str, str]):
        self.kinds = kinds
        self.queries = 0

    async def query(self, axon, hotkey, task, *, task_id, timeout):
        self.queries += 1
        kind = self.kinds.get(hotkey)
        if kind == "good":
            return MinerAnswer(tool_calls=[task.expected[0].first_answer().to_openai()], latency_s=0.01)
        if kind == "garbage":
            return MinerAnswer(text="I would call double, probably {not json", latency_s=0.02)
        return MinerAnswer(error="unreachable: ConnectError")

    async def feedback(self, axon, hotkey, *, task_id, score, correct, error, feedback, timeout):
        return True


def hotkey(i: int) -> str:
    return f"5Miner{i:05d}"


def make_validator(
    n: int,
    state_path: str | Path,
    *,
    sample_size: int = 16,
    rate_limit: int = 2,
    query_log_steps: int = 10080,
    maintain_every: int = 60,
    synchronous: str = "OFF",
) -> tuple[Validator, LeanChain]:
    """The validator over ``n`` stand-in miners, its state at ``state_path`` (no fsync by default: the
    disk's speed is not what a soak measures)."""
    neurons = [NeuronInfo(0, ME, None, True, 5000.0)] + [
        NeuronInfo(i, hotkey(i), f"10.{i // 65536}.{i // 256 % 256}.{i % 256}:8091") for i in range(1, n + 1)
    ]
    chain = LeanChain(neurons, rate_limit=rate_limit)
    half = max(1, n // 2)
    chain.commits = {
        hotkey(i): Commit(hotkey(i), f"org/model-{i % half}", f"{i % half:040x}", 10 + i) for i in range(1, n + 1)
    }
    state = ValidatorState(state_path, synchronous=synchronous)
    for j in range(0, half, 2):  # a quarter of the models already have an offline score
        state.record_offline(f"{j:040x}", f"org/model-{j}", (j % 10) / 10, "ok")
    kinds = {hotkey(i): ("good", "garbage", "dead")[i % 3] for i in range(1, n + 1)}
    config = ValidatorConfig(
        sample_size=sample_size,
        query_timeout=1.0,
        step_seconds=0,
        ema_alpha=0.1,
        offline=True,
        chain_timeout=30.0,
        query_log_steps=query_log_steps,
        maintain_every=maintain_every,
    )
    v = Validator(chain, hotkey=ME, state=state, client=LeanMiners(kinds), task_source=source, config=config)
    return v, chain


def rss_bytes() -> int:
    """This process's resident set size now (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def step_errors(report: Any) -> list[str]:
    return list(report.errors) if report is not None else []
