"""serving.client: the request we send, prompt mode, retries (transport/5xx only), bounded reads."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
from test_eval_fakes import FakeOpenAI, _key_of_task

from bitagent_cli.serving import client as client_mod
from bitagent_cli.serving.client import (
    BFCL_SYSTEM_PROMPT,
    _AsyncioBackend,
    chat,
    local_transport,
    prompt_mode_messages,
    request_body,
    tools_unsupported,
)
from bitagent_cli.tasks import Tool
from bitagent_cli.tasks.suites import load_suite

TOOL = Tool(
    "get_weather",
    "Weather for a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "number", "x-python-type": "float"},
            "opts": {"type": "object", "properties": {}},
        },
        "required": ["city"],
    },
)


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(client_mod, "_BACKOFF_S", 0.01)


def _run(coro):
    return asyncio.run(coro)


async def _chat(base_url: str, task, *, kind: str = "client", **kw):
    """``kind``: an httpx.AsyncClient, httpx's own transport, or our local_transport (what evaluate uses)."""
    async with MAKERS[kind]() as c:
        return await chat(c, base_url, "fake-model", task.messages, task.tools, **kw)


MAKERS = {"client": httpx.AsyncClient, "transport": httpx.AsyncHTTPTransport, "local": local_transport}
KINDS = list(MAKERS)


@pytest.fixture(scope="module")
def task():
    return load_suite("bfcl", category="simple", limit=1)[0]


# ---------------------------------------------------------------- building requests
def test_request_body_sends_tools_with_auto_choice_at_temperature_0():
    msgs = [{"role": "user", "content": "weather in Paris?"}]
    body = json.loads(request_body("m", msgs, [TOOL], max_tokens=64))
    assert body["model"] == "m" and body["temperature"] == 0.0 and body["max_tokens"] == 64
    assert body["tool_choice"] == "auto" and body["messages"] == msgs
    fn = body["tools"][0]["function"]
    assert body["tools"][0]["type"] == "function" and fn["name"] == "get_weather"
    assert "x-python-type" not in json.dumps(fn)  # hints are ours, not the server's


def test_prompt_mode_puts_bfcl_system_prompt_first_and_no_tools():
    msgs = [{"role": "user", "content": "weather in Paris?"}]
    body = json.loads(request_body("m", msgs, [TOOL], prompt_mode=True))
    assert "tools" not in body and "tool_choice" not in body
    system = body["messages"][0]
    assert system["role"] == "system" and body["messages"][1:] == msgs
    head = BFCL_SYSTEM_PROMPT.split("{functions}")[0]
    assert system["content"].startswith(head)
    listed = json.loads(system["content"][len(head) :])
    assert listed[0]["name"] == "get_weather"
    assert listed[0]["description"].endswith("Note that the provided function is in Python 3 syntax.")
    props = listed[0]["parameters"]["properties"]
    assert props["days"]["type"] == "float" and props["opts"]["type"] == "dict"  # BFCL's Python type names
    assert listed[0]["parameters"]["type"] == "dict"


def test_prompt_mode_keeps_an_existing_system_message_after_the_prompt():
    msgs = ({"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"})
    out = prompt_mode_messages(msgs, [TOOL])
    assert len(out) == 2 and out[0]["content"].endswith("\n\nBe terse.")
    assert out[0]["content"].startswith("You are an expert in composing functions.")
    assert msgs[0]["content"] == "Be terse."  # the input is not modified


@pytest.mark.parametrize(
    "status,body,expected",
    [
        (400, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set', True),
        (400, "This model does not support tools", True),
        (400, "tool calling is not supported for this model", True),
        (422, "Unrecognized request argument supplied: tools", True),
        (400, "This model's maximum context length is 8192 tokens", False),
        (500, '"auto" tool choice requires --enable-auto-tool-choice', False),
        (404, "The model `x` does not exist.", False),
    ],
)
def test_tools_unsupported(status, body, expected):
    assert tools_unsupported(status, body) is expected


# ---------------------------------------------------------------- talking to a server
@pytest.mark.parametrize("kind", KINDS)
def test_answer_with_tool_calls(task, kind):
    with FakeOpenAI() as srv:
        srv.teach([task], True)
        comp = _run(_chat(srv.base_url, task, kind=kind))
        assert comp.ok and comp.kind is None and not comp.prompt_mode
        assert comp.tool_calls[0]["function"]["name"] == task.expected[0].name
        assert comp.finish_reason == "tool_calls" and comp.latency_s > 0
        sent = srv.bodies[0]
        assert sent["tool_choice"] == "auto" and sent["temperature"] == 0.0


def test_tools_refused_switches_to_prompt_mode(task):
    with FakeOpenAI(tools_supported=False) as srv:
        srv.teach([task], True)
        comp = _run(_chat(srv.base_url, task))
        assert comp.ok and comp.prompt_mode and comp.tool_calls is None
        assert comp.text.startswith("[" + task.expected[0].name + "(")
        assert srv.requests == 2 and "tools" in srv.bodies[0] and "tools" not in srv.bodies[1]
        comp = _run(_chat(srv.base_url, task, prompt_mode=True))  # told up front: one request
        assert comp.ok and srv.requests == 3


def test_4xx_is_not_retried(task):
    with FakeOpenAI() as srv:
        srv.fail_task(task, 400, "bad request, no tools involved")
        comp = _run(_chat(srv.base_url, task, retries=3))
        assert comp.kind == "http" and comp.status == 400 and "bad request" in comp.error
        assert srv.requests == 1


def test_5xx_is_retried_then_reported(task):
    with FakeOpenAI() as srv:
        srv.fail_task(task, 503, "overloaded")
        comp = _run(_chat(srv.base_url, task, retries=2))
        assert comp.kind == "http" and comp.status == 503 and "overloaded" in comp.error
        assert srv.requests == 3 and comp.attempts == 3


@pytest.mark.parametrize("kind", KINDS)
def test_unreachable_server_is_a_transport_error_after_retries(task, kind):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    comp = _run(_chat(f"http://127.0.0.1:{port}/v1", task, retries=2, kind=kind))
    assert comp.kind == "transport" and comp.attempts == 3
    assert comp.error.startswith(f"cannot reach the model server at http://127.0.0.1:{port}/v1")


@pytest.mark.parametrize("kind", KINDS)
def test_read_timeout_is_not_retried(task, kind):
    with FakeOpenAI(delay=2.0) as srv:
        comp = _run(_chat(srv.base_url, task, timeout=0.3, retries=2, kind=kind))
        assert comp.kind == "timeout" and "0.3 s" in comp.error
        assert srv.requests == 1


@pytest.mark.parametrize("kind", KINDS)
def test_response_size_is_bounded(task, kind):
    with FakeOpenAI() as srv:
        srv.answers[_key_of_task(task)] = "x" * 1_500_000
        comp = _run(_chat(srv.base_url, task, kind=kind))
        assert comp.kind == "bad_response" and "larger than 1000000 bytes" in comp.error
        comp = _run(_chat(srv.base_url, task, max_bytes=4_000_000, kind=kind))
        assert comp.ok and len(comp.text) == 1_500_000


def test_not_a_chat_completion(task):
    app_bodies = [b'{"choices": []}', b"[1, 2]", b"not json", b'{"choices": [{"message": {"tool_calls": 3}}]}']

    async def go():
        for raw in app_bodies:
            transport = httpx.MockTransport(lambda req, raw=raw: httpx.Response(200, content=raw))
            async with httpx.AsyncClient(transport=transport) as c:
                comp = await chat(c, "http://x/v1", "m", task.messages, task.tools)
                assert comp.kind == "bad_response", raw

    _run(go())


def test_legacy_function_call_and_content_parts(task):
    payload = {
        "choices": [
            {
                "message": {
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    "function_call": {"name": "f", "arguments": "{}"},
                },
                "finish_reason": "function_call",
            }
        ]
    }

    async def go():
        transport = httpx.MockTransport(lambda req: httpx.Response(200, json=payload))
        async with httpx.AsyncClient(transport=transport) as c:
            return await chat(c, "http://x/v1", "m", task.messages, task.tools)

    comp = _run(go())
    assert comp.text == "ab" and comp.tool_calls == [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]


def test_local_transport_runs_on_plain_asyncio_and_reuses_its_connection(task):
    t = local_transport(1)
    assert isinstance(t._pool._network_backend, _AsyncioBackend)  # else a slower fallback: see benchmarks

    async def go(base_url):
        async with t:
            for _ in range(3):
                comp = await chat(t, base_url, "fake-model", task.messages, task.tools)
                assert comp.ok
            return len(t._pool.connections)

    with FakeOpenAI() as srv:
        srv.teach([task], True)
        assert _run(go(srv.base_url)) == 1 and srv.requests == 3


@pytest.mark.parametrize("kind", KINDS)
def test_a_kept_alive_connection_the_server_closed_is_noticed(task, kind):
    """A server that closes each connection after answering (without saying so): the next request must
    open a new connection, not fail on the dead one (no retries allowed here)."""
    body = b'{"choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}'

    async def handle(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    async def go():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
        async with server, MAKERS[kind]() as t:
            for _ in range(3):
                comp = await chat(t, url, "m", task.messages, task.tools, retries=0, max_tokens=None)
                assert comp.ok, comp.error
                await asyncio.sleep(0.05)

    _run(go())
