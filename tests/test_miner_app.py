"""The miner's HTTP app, served by a real uvicorn on 127.0.0.1, called with real btauth/1 signatures
(``chain.auth``, i.e. ``bittensor.http_auth``) made by real (local, chain-free) sr25519 keypairs. The
metagraph is a lookup table; the model is a fake."""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

import bittensor as bt
import httpx
import pytest
from bittensor.sp_core import Keypair

from bitagent_cli.config import load_settings
from bitagent_cli.neurons import protocol as P
from bitagent_cli.neurons.miner import ThreadedServer, create_app, make_verifier
from bitagent_cli.tasks import FunctionCall, Task

ALICE = Keypair.create_from_uri("//Alice")  # validator with permit and stake
BOB = Keypair.create_from_uri("//Bob")  # the miner
CHARLIE = Keypair.create_from_uri("//Charlie")  # validator permit, too little stake
DAVE = Keypair.create_from_uri("//Dave")  # staked, no permit
EVE = Keypair.create_from_uri("//Eve")  # not registered

NEURONS = {
    ALICE.ss58_address: (5000.0, True),
    CHARLIE.ss58_address: (10.0, True),
    DAVE.ss58_address: (5000.0, False),
    BOB.ss58_address: (0.0, False),
}

TASK = Task.from_dict(
    {
        "id": "t-1",
        "category": "simple",
        "messages": [{"role": "user", "content": "What is the discounted price of a $200 jacket at 20% off?"}],
        "tools": [
            {
                "name": "calculate_discount",
                "description": "Discounted price",
                "arguments": {
                    "discount_percentage": {"required": True, "type": "number"},
                    "original_price": {"required": True, "type": "number"},
                },
            }
        ],
        "expected": [
            {"name": "calculate_discount", "arguments": {"discount_percentage": [20], "original_price": [200]}}
        ],
    }
)
ANSWER = "[calculate_discount(discount_percentage=20, original_price=200)]"
OPENAI_CALLS = [
    {
        "id": "c1",
        "type": "function",
        "function": {"name": "calculate_discount", "arguments": '{"discount_percentage": 20, "original_price": 200}'},
    }
]

QWEN3_ANSWER = (
    "<tool_call>\n<function=calculate_discount>\n<parameter=discount_percentage>\n20\n</parameter>\n"
    "<parameter=original_price>\n200\n</parameter>\n</function>\n</tool_call>"
)


class FakeModel:
    model_name = "org/fake-model"

    def __init__(self):
        self.mode = "ok"
        self.seen: list[tuple] = []

    async def __call__(self, messages, tools, *, max_tokens):
        self.seen.append((messages, tools, max_tokens))
        if self.mode == "down":
            raise httpx.ConnectError("connection refused")
        if self.mode == "error":
            return SimpleNamespace(text=None, tool_calls=None, latency_s=0.0, error="HTTP 500 from vLLM")
        if self.mode == "slow":  # far past every model_timeout below: only the miner's timeout ends it
            await asyncio.sleep(60)
        if self.mode == "qwen3":  # Qwen3-Coder's XML: every value is text until the tool's schema types it
            return SimpleNamespace(text=QWEN3_ANSWER, tool_calls=None, latency_s=0.001, error=None)
        if self.mode == "structured":
            return SimpleNamespace(text=None, tool_calls=OPENAI_CALLS, latency_s=0.001, error=None)
        return SimpleNamespace(
            text=ANSWER if self.mode == "ok" else "I cannot help", tool_calls=None, latency_s=0.001, error=None
        )


@pytest.fixture
def miner():
    """Factory: start a miner with settings overrides; returns (base_url, model, app)."""
    started = []

    def _start(model_timeout=None, **overrides):
        settings = load_settings(
            "local",
            {
                "miner.min_validator_stake": 1000.0,
                "miner.rate_limit_per_min": 1000,
                "miner.submit_model": "org/submitted@abc",
                **overrides,
            },
        )
        model = FakeModel()
        app = create_app(
            model_client=model,
            verifier=make_verifier(BOB.ss58_address),
            neuron_lookup=NEURONS.get,
            settings=settings,
            model_timeout=model_timeout,
        )
        srv = ThreadedServer(app).start()
        started.append(srv)
        return srv.base_url, model, app

    yield _start
    for srv in started:
        srv.stop()


def signed(base, path, payload=None, *, key=ALICE, receiver=BOB.ss58_address, method=None):
    headers, body = P.build_signed(key, receiver, path, payload, method=method)
    return httpx.request(
        method or ("POST" if payload is not None else "GET"), base + path, headers=headers, content=body, timeout=10
    )


def query_payload(**kw):
    return P.QueryRequest.from_task(TASK, **kw)


def assert_error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["protocol_version"] == P.PROTOCOL_VERSION
    return body


def test_signed_query_answers_with_parsed_calls(miner):
    base, model, app = miner()
    r = signed(base, P.QUERY_PATH, query_payload(max_tokens=64))
    assert r.status_code == 200, r.text
    resp = P.parse_body(P.QueryResponse, r.content)
    assert resp.task_id == "t-1"
    assert resp.response == ANSWER
    assert resp.calls() == [FunctionCall("calculate_discount", {"discount_percentage": 20, "original_price": 200})]
    assert resp.model == "org/fake-model"
    assert resp.latency_ms >= 0
    ((messages, tools, max_tokens),) = model.seen
    assert messages == [{"role": "user", "content": TASK.messages[0]["content"]}]
    assert [t.name for t in tools] == ["calculate_discount"]
    assert tools[0].required == ["discount_percentage", "original_price"]
    assert max_tokens == 64
    assert app.state.stats["queries"] == 1


def test_prose_answer_keeps_raw_text_and_no_calls(miner):
    base, model, _ = miner()
    model.mode = "text"
    r = signed(base, P.QUERY_PATH, query_payload())
    assert r.status_code == 200
    assert r.json()["response"] == "I cannot help" and r.json()["tool_calls"] == []


def test_structured_tool_calls_from_the_server_are_returned(miner):
    base, model, _ = miner()
    model.mode = "structured"
    r = signed(base, P.QUERY_PATH, query_payload())
    assert r.status_code == 200
    assert r.json()["response"] == ""
    assert r.json()["tool_calls"] == [
        {"name": "calculate_discount", "arguments": {"discount_percentage": 20, "original_price": 200}}
    ]


def test_xml_values_are_typed_by_the_queried_tools(miner):
    base, model, _ = miner()
    model.mode = "qwen3"
    r = signed(base, P.QUERY_PATH, query_payload())
    assert r.status_code == 200, r.text
    assert r.json()["tool_calls"] == [
        {"name": "calculate_discount", "arguments": {"discount_percentage": 20, "original_price": 200}}
    ]


def test_health_is_open_and_info_is_signed(miner):
    base, _, _ = miner()
    assert httpx.get(base + P.HEALTH_PATH).json() == {"status": "ok", "protocol_version": P.PROTOCOL_VERSION}
    assert_error(httpx.get(base + P.INFO_PATH), 401, "unauthorized")
    r = signed(base, P.INFO_PATH)
    assert r.status_code == 200
    info = P.InfoResponse.model_validate(r.json())
    assert (info.model_served, info.model_submitted) == ("org/fake-model", "org/submitted@abc")


def test_unsigned_request_is_401(miner):
    base, model, _ = miner()
    r = httpx.post(base + P.QUERY_PATH, content=P.dumps(query_payload()), headers={"Content-Type": "application/json"})
    body = assert_error(r, 401, "unauthorized")
    assert "X-Bittensor" in body["message"]
    assert r.headers["www-authenticate"] == "btauth/1"
    assert model.seen == []


def test_replayed_request_is_401(miner):
    base, model, _ = miner()
    headers, body = P.build_signed(ALICE, BOB.ss58_address, P.QUERY_PATH, query_payload())
    assert httpx.post(base + P.QUERY_PATH, headers=headers, content=body).status_code == 200
    r = httpx.post(base + P.QUERY_PATH, headers=headers, content=body)
    assert "already accepted" in assert_error(r, 401, "unauthorized")["message"]
    assert len(model.seen) == 1


def test_stale_and_tampered_requests_are_401(miner):
    base, _, _ = miner()
    body = P.dumps(query_payload())
    old = bt.http_auth.sign(
        ALICE,
        method="POST",
        path=P.QUERY_PATH,
        body=body,
        receiver_ss58=BOB.ss58_address,
        nonce_ns=time.time_ns() - 60 * 10**9,
    )
    assert (
        "freshness"
        in assert_error(httpx.post(base + P.QUERY_PATH, headers=old, content=body), 401, "unauthorized")["message"]
    )
    headers, body = P.build_signed(ALICE, BOB.ss58_address, P.QUERY_PATH, query_payload())
    tampered = body.replace(b"t-1", b"t-2")
    assert_error(httpx.post(base + P.QUERY_PATH, headers=headers, content=tampered), 401, "unauthorized")
    # signed for another path
    headers, body = P.build_signed(ALICE, BOB.ss58_address, P.FEEDBACK_PATH, query_payload())
    assert_error(httpx.post(base + P.QUERY_PATH, headers=headers, content=body), 401, "unauthorized")


def test_wrong_receiver_is_401(miner):
    base, _, _ = miner()
    r = signed(base, P.QUERY_PATH, query_payload(), receiver=CHARLIE.ss58_address)
    assert "receiving hotkey" in assert_error(r, 401, "unauthorized")["message"]


def test_unregistered_caller_is_403(miner):
    base, model, _ = miner()
    body = assert_error(signed(base, P.QUERY_PATH, query_payload(), key=EVE), 403, "not_registered")
    assert EVE.ss58_address in body["message"]
    assert model.seen == []


def test_no_permit_and_low_stake_are_403(miner):
    base, _, _ = miner()
    assert_error(signed(base, P.QUERY_PATH, query_payload(), key=DAVE), 403, "no_validator_permit")
    body = assert_error(signed(base, P.QUERY_PATH, query_payload(), key=CHARLIE), 403, "insufficient_stake")
    assert "miner.min_validator_stake" in body["message"]


def test_stake_threshold_is_configurable(miner):
    base, _, _ = miner(**{"miner.min_validator_stake": 5.0})
    assert signed(base, P.QUERY_PATH, query_payload(), key=CHARLIE).status_code == 200


def test_oversized_body_is_413_before_parsing(miner):
    base, model, _ = miner(**{"miner.max_body_bytes": 2000})
    big = P.QueryRequest(task_id="big", messages=[{"role": "user", "content": "x" * 5000}])
    body = assert_error(signed(base, P.QUERY_PATH, big), 413, "body_too_large")
    assert "2000" in body["message"]
    # no Content-Length (chunked): the stream is read with the cap, and it is not even valid JSON
    r = httpx.post(base + P.QUERY_PATH, content=iter([b"{" * 1500, b"{" * 1500]))
    assert_error(r, 413, "body_too_large")
    assert model.seen == []


def test_flood_is_429_with_retry_after(miner):
    base, model, app = miner(**{"miner.rate_limit_per_min": 5})
    codes = [signed(base, P.QUERY_PATH, query_payload()).status_code for _ in range(5)]
    assert codes == [200] * 5
    r = signed(base, P.QUERY_PATH, query_payload())
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert len(model.seen) == 5
    assert app.state.stats["refused"]["rate_limited"] == 1


def test_unknown_major_version_is_426(miner):
    base, model, _ = miner()
    payload = query_payload().model_dump()
    payload["protocol_version"] = "2.0"
    r = signed(base, P.QUERY_PATH, payload)
    body = assert_error(r, 426, "unsupported_protocol_version")
    assert "'2.0'" in body["message"] and P.PROTOCOL_VERSION in body["message"]
    assert r.headers["upgrade"] == f"bitagent/{P.PROTOCOL_VERSION}"
    # a newer minor version is fine (unknown fields ignored)
    payload.update(protocol_version="1.7", some_future_field={"x": 1})
    assert signed(base, P.QUERY_PATH, payload).status_code == 200
    # the header is checked too, before anything else (GET has no body)
    headers, _ = P.build_signed(ALICE, BOB.ss58_address, P.INFO_PATH)
    headers[P.PROTOCOL_HEADER] = "0.9"
    assert_error(httpx.get(base + P.INFO_PATH, headers=headers), 426, "unsupported_protocol_version")
    assert len(model.seen) == 1


def test_bad_json_is_400_and_bad_fields_422(miner):
    base, _, _ = miner()
    headers, body = P.build_signed(ALICE, BOB.ss58_address, P.QUERY_PATH, {"x": 1})
    assert (
        "task_id"
        in assert_error(httpx.post(base + P.QUERY_PATH, headers=headers, content=body), 422, "invalid_request")[
            "message"
        ]
    )
    raw = b"not json"
    headers = bt.http_auth.sign(ALICE, method="POST", path=P.QUERY_PATH, body=raw, receiver_ss58=BOB.ss58_address)
    assert_error(httpx.post(base + P.QUERY_PATH, headers=headers, content=raw), 400, "bad_json")
    assert_error(httpx.get(base + "/nope"), 404, "not_found")


def test_model_down_is_502_and_slow_is_504(miner):
    base, model, _ = miner(model_timeout=0.3)
    model.mode = "down"
    body = assert_error(signed(base, P.QUERY_PATH, query_payload()), 502, "model_error")
    assert "ConnectError" in body["message"]
    model.mode = "error"
    assert "HTTP 500" in assert_error(signed(base, P.QUERY_PATH, query_payload()), 502, "model_error")["message"]
    model.mode = "slow"
    t0 = time.monotonic()
    assert_error(signed(base, P.QUERY_PATH, query_payload()), 504, "model_timeout")
    assert time.monotonic() - t0 < 30  # the miner's 0.3 s timeout, not the model's 60 s (generous: CI may be busy)
    model.mode = "ok"
    assert signed(base, P.QUERY_PATH, query_payload()).status_code == 200


def test_slow_model_does_not_block_other_requests(miner):
    base, model, _ = miner(model_timeout=2.5)
    model.mode = "slow"

    async def go():
        async with httpx.AsyncClient(timeout=30) as c:
            h, b = P.build_signed(ALICE, BOB.ss58_address, P.QUERY_PATH, query_payload())
            slow = asyncio.create_task(c.post(base + P.QUERY_PATH, headers=h, content=b))
            await asyncio.sleep(0.2)
            t0 = time.monotonic()
            h2, _ = P.build_signed(ALICE, BOB.ss58_address, P.INFO_PATH)
            r = await c.get(base + P.INFO_PATH, headers=h2)
            quick = time.monotonic() - t0
            answered_first = not slow.done()  # the info answer came while the slow query still waited on its model
            return (await slow).status_code, r.status_code, quick, answered_first

    slow_code, info_code, quick, answered_first = asyncio.run(go())
    assert (slow_code, info_code) == (504, 200)
    assert answered_first, f"the info request waited {quick:.2f} s: queued behind the slow query's 2.5 s model timeout"


def test_feedback_is_accepted_and_logged_at_debug(miner, caplog):
    base, _, app = miner()
    fb = P.FeedbackRequest(
        task_id="t-1",
        score=0.75,
        correct=False,
        error="wrong value for original_price",
        feedback="[red]original_price: expected 200, got 20[/red]",
    )
    with caplog.at_level(logging.DEBUG, logger="bitagent_cli.neurons.miner"):
        r = signed(base, P.FEEDBACK_PATH, fb)
        assert r.status_code == 200 and r.json() == {"protocol_version": P.PROTOCOL_VERSION, "ok": True}
    text = "\n".join(rec.getMessage() for rec in caplog.records if rec.levelno == logging.DEBUG)
    assert "t-1" in text and "score=0.750" in text and "expected 200, got 20" in text
    assert app.state.stats["feedback"] == 1
    assert_error(signed(base, P.FEEDBACK_PATH, fb, key=EVE), 403, "not_registered")


@pytest.mark.parametrize(
    "body",
    [
        b'{"task_id":"t","messages":' + b"[" * 5000 + b"]" * 5000 + b"}",  # nested 5,000 deep
        b'{"task_id":"t","max_tokens":' + b"9" * 5000 + b',"messages":[]}',  # a 5,000-digit integer
    ],
    ids=["nested", "digits"],
)
def test_hostile_signed_body_is_a_400_with_one_log_line(miner, caplog, body):
    from bitagent_cli.chain import auth

    base, model, _ = miner()
    headers = dict(
        auth.sign_request(ALICE, method="POST", path=P.QUERY_PATH, body=body, receiver_hotkey=BOB.ss58_address)
    )
    with caplog.at_level(logging.INFO):
        r = httpx.post(base + P.QUERY_PATH, headers=headers, content=body, timeout=10)
    assert_error(r, 400, "bad_json")
    lines = [
        rec for rec in caplog.records if rec.levelno >= logging.INFO and rec.name.startswith(("bitagent", "uvicorn"))
    ]
    assert len(lines) == 1 and lines[0].exc_info is None, [rec.getMessage() for rec in lines]
    assert ALICE.ss58_address in lines[0].getMessage() and "bad_json" in lines[0].getMessage()
    assert model.seen == []
