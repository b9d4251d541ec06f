"""The validator's HTTP client against hostile or broken miners: every failure is an answer with an error."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

pytest.importorskip("bittensor")
from bittensor.sp_core import Keypair

from bitagent_cli.neurons import protocol as P
from bitagent_cli.neurons.miner import ThreadedServer
from bitagent_cli.neurons.online import HttpMinerClient, score_answer
from bitagent_cli.tasks import Task

VALI, MINER = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
TASK = Task.from_dict(
    {
        "id": "suite/1",
        "category": "simple",
        "messages": [{"role": "user", "content": "Double 21."}],
        "tools": [
            {
                "name": "double",
                "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
            }
        ],
        "expected": [{"name": "double", "arguments": {"x": [21]}}],
    }
)

app = FastAPI()
seen: list[dict] = []


@app.post("/{mode}/v1/query")
async def query(mode: str, request: Request):
    raw = await request.body()
    seen.append({"headers": dict(request.headers), "body": json.loads(raw)})
    tid = json.loads(raw)["task_id"]
    if mode == "good":
        return JSONResponse(
            P.QueryResponse(
                task_id=tid, response="double(x=21)", tool_calls=[P.WireCall(name="double", arguments={"x": 21})]
            ).model_dump()
        )
    if mode == "huge":

        async def flood():
            for _ in range(100):
                yield b"x" * 65536

        return StreamingResponse(flood(), media_type="application/json")
    if mode == "notjson":
        return Response(b"<html>hello</html>", media_type="text/html")
    if mode == "wrongid":
        return JSONResponse(P.QueryResponse(task_id="someone-else", response="double(x=21)").model_dump())
    if mode == "refuse":
        return JSONResponse({"error": "forbidden", "message": "no permit"}, status_code=403)
    if mode == "slow":
        await asyncio.sleep(5)
    if mode in HOSTILE:
        return Response(HOSTILE[mode](tid), media_type="application/json")
    return JSONResponse({})


#: Bodies a hostile miner may answer with: each must end as an error for that miner, never an exception.
HOSTILE = {
    "deep": lambda tid: b'{"task_id":"%s","response":' % tid.encode() + b"[" * 5000 + b"]" * 5000 + b"}",
    "digits": lambda tid: b'{"task_id":"%s","latency_ms":%s}' % (tid.encode(), b"9" * 5000),
    "deepargs": lambda tid: (
        b'{"task_id":"%s","tool_calls":[{"name":"double","arguments":{"x":' % tid.encode()
        + b"[" * 900
        + b"]" * 900
        + b"}}]}"
    ),
    "bigint_text": lambda tid: b'{"task_id":"%s","response":"double(x=%s)"}' % (tid.encode(), b"9" * 5000),
}


@pytest.fixture(scope="module")
def server():
    with ThreadedServer(app) as srv:
        yield srv.base_url.removeprefix("http://")


def ask(server, mode, timeout=2.0, **kw):
    async def go():
        client = HttpMinerClient(VALI, max_tokens=64, **kw)
        try:
            return await client.query(f"{server}/{mode}", MINER.ss58_address, TASK, task_id="opaque-1", timeout=timeout)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_good_answer_is_signed_and_scores(server):
    ans = ask(server, "good")
    assert ans.error is None and ans.status == 200
    assert ans.tool_calls == [{"type": "function", "function": {"name": "double", "arguments": '{"x": 21}'}}]
    assert score_answer(TASK, ans).correct
    req = seen[-1]
    assert req["body"]["task_id"] == "opaque-1" and req["body"]["max_tokens"] == 64
    assert "suite/1" not in json.dumps(req["body"])  # the suite's id never leaves the validator
    assert req["headers"]["x-bittensor-hotkey"] == VALI.ss58_address
    assert req["headers"]["x-bittensor-receiver"] == MINER.ss58_address
    assert req["headers"][P.PROTOCOL_HEADER.lower()] == P.PROTOCOL_VERSION


@pytest.mark.parametrize(
    "mode,error",
    [
        ("huge", "response_too_large"),
        ("notjson", "bad_response: bad_json"),
        ("wrongid", "wrong_task_id"),
        ("refuse", "http_403"),
        ("slow", "timeout"),
        ("empty", "bad_response: invalid_request"),
        ("deep", "bad_response: bad_json"),
        ("digits", "bad_response: bad_json"),
    ],
)
def test_every_failure_is_an_error_that_scores_zero(server, mode, error):
    ans = ask(server, mode, timeout=0.5, max_response_bytes=100_000)
    assert ans.error == error
    assert score_answer(TASK, ans).score == 0.0


def test_unreachable_miner(server):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ans = asyncio.run(
        HttpMinerClient(VALI).query(f"127.0.0.1:{port}", MINER.ss58_address, TASK, task_id="t", timeout=1)
    )
    assert ans.error.startswith("unreachable")


@pytest.mark.parametrize("mode", ["deepargs", "bigint_text"])
def test_hostile_answers_that_parse_score_zero_without_raising(server, mode):
    ans = ask(server, mode)
    if ans.error is None:  # it decoded: the scorer must refuse it, not crash
        s = score_answer(TASK, ans)
        assert s.score == 0.0 and s.error
    else:
        assert ans.error == "bad_response: bad_json"


@pytest.mark.slow
def test_validator_records_a_failure_for_a_miner_answering_hostile_bodies(server, tmp_path, caplog):
    """The real loop and the real HTTP client: every hostile miner gets a scored failure in the state,
    the good one its score, and nothing escapes the step."""
    from test_validator_loop import ME, FakeChain

    from bitagent_cli.neurons.validator import NeuronInfo, Validator, ValidatorConfig
    from bitagent_cli.store.validator_state import ValidatorState

    modes = ["good", *HOSTILE]
    neurons = [NeuronInfo(0, ME, None, True)] + [NeuronInfo(i + 1, m, f"{server}/{m}") for i, m in enumerate(modes)]
    state = ValidatorState(tmp_path / "state.sqlite")

    async def one_step():
        v = Validator(
            FakeChain(neurons),
            hotkey=ME,
            state=state,
            client=HttpMinerClient(VALI, max_tokens=64),
            task_source=lambda block, hk: TASK,
            config=ValidatorConfig(sample_size=10, query_timeout=5, step_seconds=0, offline=False),
        )
        try:
            return await v.step()
        finally:
            await v.drain_feedback()
            await v.client.aclose()

    rep = asyncio.run(one_step())
    assert rep.committed and not rep.errors, rep.errors
    rows = {r["hotkey"]: r for r in state.queries(step=rep.step)}
    assert set(rows) == set(modes)
    assert rows["good"]["score"] == 1.0
    for m in HOSTILE:
        assert rows[m]["score"] == 0.0 and rows[m]["error"], rows[m]
    assert rows["deep"]["error"] == rows["digits"]["error"] == "bad_response: bad_json"
    assert "Traceback" not in caplog.text
    state.close()
