"""``run_miner`` end to end on loopback: a fake chain (tests/chain_fakes.py), a real wallet on disk, a fake
OpenAI-compatible model server attached with ``miner.openai_api_base``; the miner publishes its endpoint,
commits the submitted model, answers a validator's signed query, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
from types import SimpleNamespace

import httpx
import pytest
from bittensor.sp_core import Keypair
from chain_fakes import make_wallet
from fastapi import FastAPI

from bitagent_cli.config import load_settings
from bitagent_cli.neurons import protocol as P
from bitagent_cli.neurons.miner import MinerError, ThreadedServer, bind_socket, run_miner
from bitagent_cli.tasks import FunctionCall, Task

SHA = "0123456789abcdef0123456789abcdef01234567"
VALIDATOR = Keypair.create_from_uri("//Alice")
TASK = Task.from_dict(
    {
        "id": "t-1",
        "category": "simple",
        "messages": [{"role": "user", "content": "20% off $200?"}],
        "tools": [
            {
                "name": "calculate_discount",
                "arguments": {
                    "discount_percentage": {"required": True, "type": "number"},
                    "original_price": {"required": True, "type": "number"},
                },
            }
        ],
    }
)


@pytest.fixture
def model_server():
    """A fake OpenAI-compatible server that answers one pythonic call; records the requests."""
    app = FastAPI()
    seen: list[dict] = []

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": "org/served-model", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat(body: dict):
        seen.append(body)
        return {
            "id": "x",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": "[calculate_discount(discount_percentage=20, original_price=200)]",
                    },
                }
            ],
        }

    with ThreadedServer(app) as srv:
        yield SimpleNamespace(base_url=srv.base_url + "/v1", seen=seen)


def _free_port() -> int:
    s = bind_socket("127.0.0.1", 0)
    port = s.getsockname()[1]
    s.close()
    return port


def _fake_vet(ref, **kw):
    return SimpleNamespace(
        repo=ref.split("@")[0], sha=SHA, local_path=None, params=1_000_000, license="mit", size_bytes=10
    )


def _miner_settings(wallet, model_server, port, **extra):
    return load_settings(
        "local",
        {
            **wallet.settings(),
            "miner.openai_api_base": model_server.base_url,
            "miner.port": port,
            "miner.host": "127.0.0.1",
            **extra,
        },
    )


def _run_until_queried(settings, results: dict, **kw):
    """Run the miner in this (main) thread; once ready, a helper thread queries it, sends feedback,
    then SIGTERMs this process, which the miner must turn into a clean stop."""

    def client(summary):
        def go():
            try:
                base = f"http://127.0.0.1:{settings['miner.port']}"
                results["ready"] = summary
                h, b = P.build_signed(VALIDATOR, summary["hotkey"], P.QUERY_PATH, P.QueryRequest.from_task(TASK))
                results["query"] = httpx.post(base + P.QUERY_PATH, headers=h, content=b, timeout=10)
                fb = P.FeedbackRequest(task_id="t-1", score=1.0, correct=True, feedback="all good")
                h, b = P.build_signed(VALIDATOR, summary["hotkey"], P.FEEDBACK_PATH, fb)
                results["feedback"] = httpx.post(base + P.FEEDBACK_PATH, headers=h, content=b, timeout=10)
            finally:
                os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=go, daemon=True).start()

    return run_miner(settings, on_ready=client, status=results.setdefault("status", []).append, **kw)


def test_run_miner_publishes_commits_serves_and_stops_on_sigterm(fake_chain, tmp_path, model_server):
    wallet = make_wallet(tmp_path / "wallets", "miner")
    fake_chain.register(76, wallet.hotkey_ss58, wallet.coldkey_ss58)
    fake_chain.register(76, VALIDATOR.ss58_address, VALIDATOR.ss58_address, stake=5000.0, validator_permit=True)
    port = _free_port()
    settings = _miner_settings(wallet, model_server, port, **{"miner.submit_model": "org/fine-tune"})
    before = signal.getsignal(signal.SIGTERM)

    results: dict = {}
    summary = _run_until_queried(settings, results, vet_submission=_fake_vet)

    assert results["query"].status_code == 200, results["query"].text
    resp = P.parse_body(P.QueryResponse, results["query"].content)
    assert resp.calls() == [FunctionCall("calculate_discount", {"discount_percentage": 20, "original_price": 200})]
    assert resp.model == "org/served-model"
    assert results["feedback"].status_code == 200
    assert model_server.seen[0]["model"] == "org/served-model" and model_server.seen[0]["tools"]
    # what run_miner did on chain
    assert fake_chain.neuron(76, wallet.hotkey_ss58).axon_str == f"127.0.0.1:{port}"
    assert fake_chain.commitment(76, wallet.hotkey_ss58) == f"hf:org/fine-tune@{SHA}"
    assert summary["submitted"]["committed"] is True
    assert summary["stats"]["queries"] == 1 and summary["stats"]["feedback"] == 1
    assert summary["stopped_by"] == "SIGTERM"  # `bitagent mine` exits 143 on it
    conns = summary["stats"]["connections"]  # the connection guard was in front of the app
    assert conns["cap"] >= 1 and conns["peak"] >= 1 and conns["shed"] == 0
    assert summary["endpoint"] == f"127.0.0.1:{port}" and summary["hotkey"] == wallet.hotkey_ss58
    assert signal.getsignal(signal.SIGTERM) == before  # the process's own handlers are back

    # a restart finds the endpoint and the commitment on chain and writes neither again
    serves, commits = len(fake_chain.calls("serve_axon")), len(fake_chain.calls("set_commitment"))
    assert (serves, commits) == (1, 1)
    results = {}
    summary = _run_until_queried(settings, results, vet_submission=_fake_vet)
    assert results["query"].status_code == 200
    assert summary["submitted"]["already_committed"] is True
    assert (len(fake_chain.calls("serve_axon")), len(fake_chain.calls("set_commitment"))) == (serves, commits)
    assert any("already on chain" in m for m in results["status"])


def test_run_miner_refuses_an_unregistered_hotkey(fake_chain, tmp_path, model_server):
    wallet = make_wallet(tmp_path / "wallets", "miner")
    with pytest.raises(MinerError, match="not registered on netuid 76"):
        run_miner(_miner_settings(wallet, model_server, _free_port()))


def test_run_miner_fails_fast_on_a_busy_port(fake_chain, tmp_path, model_server):
    wallet = make_wallet(tmp_path / "wallets", "miner")
    busy = bind_socket("127.0.0.1", 0)
    busy.listen()
    try:
        with pytest.raises(MinerError, match="cannot listen"):
            run_miner(_miner_settings(wallet, model_server, busy.getsockname()[1]))
    finally:
        busy.close()


def test_mine_cli_reports_setup_errors_in_one_line(fake_chain, tmp_path, model_server, run_cli):
    wallet = make_wallet(tmp_path / "wallets", "miner")
    code, _, err = run_cli(
        "mine", *wallet.flags, "--openai-api-base", model_server.base_url, "--port", str(_free_port())
    )
    assert code == 1
    assert err.startswith("error: hotkey ") and "bitagent register" in err and err.count("\n") == 1
