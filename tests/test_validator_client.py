"""The validator's HTTP client against hostile or broken miners: every failure is an answer with an error."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

pytest.importorskip("bittensor")
from bittensor.sp_core import Keypair  # noqa: E402

from bitagent_cli.neurons import protocol as P  # noqa: E402
from bitagent_cli.neurons.miner import ThreadedServer  # noqa: E402
from bitagent_cli.neurons.online import HttpMinerClient, score_answer  # noqa: E402
from bitagent_cli.tasks import Task  # noqa: E402

VALI, MINER = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
TASK = Task.from_dict({
    "id": "suite/1", "category": "simple", "messages": [{"role": "user", "content": "Double 21."}],
    "tools": [{"name": "double", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}},
                                                "required": ["x"]}}],
    "expected": [{"name": "double", "arguments": {"x": [21]}}]})

app = FastAPI()
seen: list[dict] = []


@app.post("/{mode}/v1/query")
async def query(mode: str, request: Request):
    raw = await request.body()
    seen.append({"headers": dict(request.headers), "body": json.loads(raw)})
    tid = json.loads(raw)["task_id"]
    if mode == "good":
        return JSONResponse(P.QueryResponse(task_id=tid, response="double(x=21)",
                                            tool_calls=[P.WireCall(name="double", arguments={"x": 21})]).model_dump())
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
    return JSONResponse({})


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


@pytest.mark.parametrize("mode,error", [
    ("huge", "response_too_large"), ("notjson", "bad_response: bad_json"), ("wrongid", "wrong_task_id"),
    ("refuse", "http_403"), ("slow", "timeout"), ("empty", "bad_response: invalid_request"),
])
def test_every_failure_is_an_error_that_scores_zero(server, mode, error):
    ans = ask(server, mode, timeout=0.5, max_response_bytes=100_000)
    assert ans.error == error
    assert score_answer(TASK, ans).score == 0.0


def test_unreachable_miner(server):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ans = asyncio.run(HttpMinerClient(VALI).query(f"127.0.0.1:{port}", MINER.ss58_address, TASK, task_id="t",
                                                  timeout=1))
    assert ans.error.startswith("unreachable")
