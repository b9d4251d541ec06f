"""The subnet on one machine, on loopback: a fake chain, real miners, one validator.

Everything is the production code except the chain's storage and the models:

* the chain is ``tests/chain_fakes.FakeChain`` behind bittensor's own ``Subtensor(substrate=...)`` seam,
  read and written through ``bitagent_cli.chain`` (metagraph, commitments, rate limit, set_weights);
* three miners are the real FastAPI app (``neurons.miner.create_app``: btauth/1 verification, permit and
  stake checks from the metagraph) under uvicorn on 127.0.0.1: a *good* one whose fake model answers
  each task's expected call (an oracle over the suites), a *garbage* one, and a *doomed* one that runs
  in its own process with a slow model and is killed with SIGKILL while a query is in flight;
* the validator is ``build_validator`` (signed httpx queries, the shipped suites, ``score_task``, the
  SQLite state, the offline worker thread) with only the offline evaluator replaced by a table of
  scores (the real pipeline in a child process is tested in ``test_validator_wiring.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import httpx
import pytest

pytest.importorskip("bittensor")
import itertools

from bittensor.sp_core import Keypair
from chain_fakes import FakeChain

from bitagent_cli import chain as chain_mod
from bitagent_cli.config import load_settings
from bitagent_cli.neurons.miner import MetagraphCache, ThreadedServer, create_app, make_verifier
from bitagent_cli.neurons.offline import OfflineOutcome
from bitagent_cli.neurons.validator import build_validator
from bitagent_cli.tasks.suites import load_suite

NETUID = 76
VALI, GOOD, GARBAGE, DOOMED = (Keypair.create_from_uri(u) for u in ("//Alice", "//Bob", "//Charlie", "//Dave"))
SHA_GOOD, SHA_DOOMED = "a" * 40, "b" * 40
OFFLINE = {SHA_GOOD: 0.9, SHA_DOOMED: 0.3}
SUITES = ["bfcl", "glaive"]


class OracleModel:
    """Answers every suite task with its expected calls (looked up by the conversation and the tools)."""

    model_name = "org/oracle"

    def __init__(self):
        self.index = {}
        for name in SUITES:
            for t in load_suite(name):
                self.index[self.key(list(t.messages), [x.name for x in t.tools])] = t

    @staticmethod
    def key(messages, tool_names):
        return json.dumps([(m.get("role"), m.get("content")) for m in messages], sort_keys=True), tuple(
            sorted(tool_names)
        )

    async def __call__(self, messages, tools, *, max_tokens):
        t = self.index.get(self.key(messages, [x.name for x in tools]))
        if t is None or not t.expected:
            return SimpleNamespace(text="None of these functions fit the request.", tool_calls=None, error=None)
        text = json.dumps([e.first_answer().to_dict() for e in t.expected])
        return SimpleNamespace(text=text, tool_calls=None, error=None)


class GarbageModel:
    model_name = "org/garbage"

    async def __call__(self, messages, tools, *, max_tokens):
        return SimpleNamespace(text="I think the answer is 42, probably. {{{[", tool_calls=None, error=None)


DOOMED_MINER = textwrap.dedent("""
    import asyncio, sys, types
    import uvicorn
    from bitagent_cli.config import load_settings
    from bitagent_cli.neurons.miner import create_app, make_verifier

    port, me, validator, delay = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])

    class Slow:
        model_name = "org/slow"
        async def __call__(self, messages, tools, *, max_tokens):
            await asyncio.sleep(delay)
            return types.SimpleNamespace(text="[]", tool_calls=None, error=None)

    settings = load_settings("local", {"miner.min_validator_stake": 0.0, "miner.rate_limit_per_min": 1000,
                                       "validator.query_timeout": 30.0})
    app = create_app(model_client=Slow(), verifier=make_verifier(me), neuron_lookup={validator: (5000.0, True)}.get,
                     settings=settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"doomed miner exited early ({proc.returncode})")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("doomed miner never became healthy")


@pytest.fixture
def subnet(tmp_path, monkeypatch):
    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "btcli_token_symbols.json"))
    fc = FakeChain(block=5000)
    fc.add_subnet(NETUID, weights_rate_limit=4)
    settings = load_settings(
        "local",
        {
            "chain.netuid": NETUID,
            "paths.data_dir": str(tmp_path / "data"),
            "eval.suites": SUITES,
            "miner.min_validator_stake": 100.0,
            "miner.rate_limit_per_min": 1000,
            "validator.query_timeout": 10.0,
        },
    )
    fc.register(NETUID, VALI.ss58_address, VALI.ss58_address, stake=5000.0, validator_permit=True)

    servers, procs = [], []
    with fc.installed():
        lookup = MetagraphCache(chain_mod.connect(settings), NETUID)  # the miners' real stake/permit check

        def start_miner(key, model):
            app = create_app(
                model_client=model, verifier=make_verifier(key.ss58_address), neuron_lookup=lookup, settings=settings
            )
            srv = ThreadedServer(app).start()
            servers.append(srv)
            fc.register(NETUID, key.ss58_address, key.ss58_address, axon=("127.0.0.1", srv.port))
            return app

        good_app = start_miner(GOOD, OracleModel())
        garbage_app = start_miner(GARBAGE, GarbageModel())
        port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen(
            [sys.executable, "-c", DOOMED_MINER, str(port), DOOMED.ss58_address, VALI.ss58_address, "2.0"], env=env
        )
        procs.append(proc)
        fc.register(NETUID, DOOMED.ss58_address, DOOMED.ss58_address, axon=("127.0.0.1", port))
        lookup.refresh()
        # the good miner's model, copied by the garbage miner later; the doomed miner's own model
        fc.set_commitment(NETUID, GOOD.ss58_address, f"hf:org/good@{SHA_GOOD}", block=4000)
        fc.set_commitment(NETUID, GARBAGE.ss58_address, f"hf:org/copy@{SHA_GOOD}", block=4500)
        fc.set_commitment(NETUID, DOOMED.ss58_address, f"hf:org/doomed@{SHA_DOOMED}", block=4200)
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield SimpleNamespace(
            chain=fc,
            settings=settings,
            good=good_app,
            garbage=garbage_app,
            doomed=proc,
            state_file=tmp_path / "validator.sqlite",
        )
    for srv in servers:
        srv.stop()
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(10)


def make_validator(net, evaluated):
    def evaluator(repo, sha, timeout_s):
        evaluated.append(sha)
        return OfflineOutcome(OFFLINE[sha])

    return build_validator(
        net.settings,
        chain=chain_mod.connect(net.settings),
        wallet=VALI,
        state_file=str(net.state_file),
        wandb_mode=None,
        offline_evaluator=evaluator,
        config_overrides={"step_seconds": 0.0, "query_timeout": 5.0, "offline_retry_s": 0.0},
    )


def uid_of(net, key):
    return net.chain.neuron(NETUID, key.ss58_address).uid


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_subnet_on_loopback(subnet):
    net = subnet
    evaluated: list[str] = []
    good, garbage, doomed = (uid_of(net, k) for k in (GOOD, GARBAGE, DOOMED))

    # ---- run 1: five steps; the doomed miner is SIGKILLed while step 1's query to it is in flight
    v = make_validator(net, evaluated)
    killed_at_step = []

    def on_step(r):
        net.chain.advance(5)  # time passes: a new block (new task) each step and the rate limit opens
        if r.step == 0:

            def kill():
                time.sleep(0.8)
                killed_at_step.append(v.state.next_step())
                os.kill(net.doomed.pid, signal.SIGKILL)

            threading.Thread(target=kill, daemon=True).start()

    t0 = time.monotonic()
    reports = []
    asyncio.run(v.run(max_steps=5, on_step=lambda r: (reports.append(r), on_step(r))))
    elapsed = time.monotonic() - t0

    assert [r.step for r in reports] == [0, 1, 2, 3, 4]
    assert all(r.committed for r in reports), [r.errors for r in reports]
    assert not [e for r in reports for e in r.errors if not e.startswith("weights")], [r.errors for r in reports]
    assert net.doomed.wait(5) == -signal.SIGKILL and killed_at_step == [1]
    # step 0: every miner answered; the doomed one slowly, with no call
    assert reports[0].queried[doomed]["error"] != "timeout" and reports[0].queried[doomed]["latency_s"] >= 1.9
    # step 1: killed mid-query -> an error, a 0, and the step still completed for the others
    assert reports[1].queried[doomed]["error"] and reports[1].queried[doomed]["score"] == 0.0
    assert reports[1].queried[good]["score"] == 1.0
    # after the kill: refused connections, scored 0, the loop goes on
    assert all(r.queried[doomed]["error"].startswith("unreachable") for r in reports[2:])
    # the good miner answers right every time, the garbage miner never
    assert all(r.queried[good]["correct"] for r in reports), [r.queried[good] for r in reports]
    # (prose is the right answer to an irrelevance task, so garbage scores there and only there)
    assert all(r.queried[garbage]["score"] == 0.0 or r.category.endswith("irrelevance") for r in reports)
    # the tasks the miners saw carried opaque ids and differed from step to step
    assert len({r.task_id for r in reports}) == 5

    # offline: each sha evaluated once (the copy is not re-evaluated), in the background
    deadline = time.monotonic() + 5
    while len(v.state.offline_scores()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(evaluated) == sorted([SHA_GOOD, SHA_DOOMED])

    # weights were set on chain, respecting the rate limit, and the good miner leads
    calls = [c for c in net.chain.weights_calls if c.hotkey == VALI.ss58_address]
    assert calls, "no weights set"
    assert all(b.block - a.block >= 4 for a, b in itertools.pairwise(calls))
    w = v.compute_weights()
    assert w[good] > w[doomed] > w[garbage]
    offline = {m["uid"]: m["offline"] for m in v.summary()["miners"]}
    assert offline == {good: 0.9, garbage: 0.0, doomed: 0.3}  # the copy of good's sha scores 0 offline
    chain_w = calls[-1].normalized()
    assert chain_w[good] == max(chain_w.values()) and VALI.ss58_address not in (good, garbage, doomed)

    # the miners got their feedback (best effort, after each step)
    assert net.good.state.stats["feedback"] >= 4 and net.good.state.stats["queries"] == 5

    # ---- run 2: a new validator object on the same SQLite file resumes
    emas_before = v.state.emas()
    counts_before = v.state.counts()
    n_weights = len(calls)
    v.state.close()
    v2 = make_validator(net, evaluated)
    assert v2.state.next_step() == 5 and v2.state.emas() == emas_before
    reports2 = []
    asyncio.run(v2.run(max_steps=2, on_step=lambda r: (reports2.append(r), net.chain.advance(5))))
    assert [r.step for r in reports2] == [5, 6] and all(r.committed for r in reports2)
    counts = v2.state.counts()
    assert counts["steps"] == 7 and counts["queries"] == counts_before["queries"] + 2 * 3 == 21
    assert sorted(evaluated) == sorted([SHA_GOOD, SHA_DOOMED])  # cached by sha: nothing re-evaluated
    assert v2.state.emas()[GOOD.ss58_address] > emas_before[GOOD.ss58_address]
    assert len([c for c in net.chain.weights_calls if c.hotkey == VALI.ss58_address]) > n_weights
    v2.state.close()
    assert elapsed < 30
