"""The wire protocol's bodies, version rule and request signing."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bitagent_cli.neurons import protocol as P
from bitagent_cli.tasks import FunctionCall, Task, normalise_tool

WIRE_TOOLS = [  # verbatim from the subnet README's example task
    {
        "arguments": {
            "discount_percentage": {
                "required": True,
                "type": "number",
                "description": "The percentage discount to be applied",
            },
            "original_price": {"description": "The original price of the item", "required": True, "type": "number"},
        },
        "description": "Calculate the discounted price of an item based on the original price and discount percentage",
        "name": "calculate_discount",
    },
    {
        "arguments": {
            "pod_name": {"description": "The name of the pod to be restarted", "required": True, "type": "str"}
        },
        "description": "A function to restart a given pod, useful for deployment and testing.",
        "name": "restart_pod",
    },
]


def _task() -> Task:
    return Task.from_dict(
        {
            "id": "bfcl-simple-1",
            "category": "simple",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "What is the discounted price of the jacket?"},
            ],
            "tools": [
                {
                    "name": "find_area",
                    "description": "area",
                    "parameters": {
                        "type": "dict",
                        "properties": {
                            "radius": {"type": "float", "description": "r"},
                            "dims": {"type": "tuple", "items": {"type": "integer"}},
                            "unit": {"type": "string", "enum": ["m", "ft"]},
                        },
                        "required": ["radius"],
                    },
                },
                *WIRE_TOOLS,
            ],
            "expected": [{"name": "find_area", "arguments": {"radius": [2.0]}}],
        }
    )


def test_query_request_from_task_uses_the_wire_style_and_round_trips():
    task = _task()
    req = P.QueryRequest.from_task(task, max_tokens=128)
    wire = json.loads(P.dumps(req))
    assert wire["protocol_version"] == P.PROTOCOL_VERSION
    assert wire["task_id"] == "bfcl-simple-1" and wire["max_tokens"] == 128
    tool = wire["tools"][0]
    assert set(tool) == {"name", "description", "arguments"}
    assert tool["arguments"]["radius"] == {"type": "number", "description": "r", "required": True}
    assert tool["arguments"]["unit"] == {"type": "string", "enum": ["m", "ft"], "required": False}
    assert wire["tools"][1:] == [normalise_tool(t).to_wire() for t in WIRE_TOOLS]
    back = P.parse_body(P.QueryRequest, P.dumps(req))
    assert back == req
    # the miner's view of the tools is the normalised one (wire style loses only the python-type hints)
    assert [t.name for t in back.normalised_tools()] == [t.name for t in task.tools]
    assert back.normalised_tools()[1:] == list(task.tools[1:])
    assert back.normalised_tools()[0].required == ["radius"]
    assert back.message_dicts() == list(task.messages)


def test_task_id_can_be_hidden():
    assert P.QueryRequest.from_task(_task(), task_id="q-91f2").task_id == "q-91f2"


def test_subnet_roles_and_extra_message_fields_pass_through():
    req = P.QueryRequest(
        task_id="x",
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "tool call", "content": {"name": "f", "arguments": {}}},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
        ],
    )
    assert req.message_dicts()[1] == {"role": "tool call", "content": {"name": "f", "arguments": {}}}
    assert req.message_dicts()[2]["tool_calls"] == [{"id": "1"}]


def test_query_response_calls():
    resp = P.QueryResponse(
        task_id="x",
        response="f(a=1)",
        tool_calls=[P.WireCall.from_call(FunctionCall("f", {"a": 1}))],
        model="org/m",
        latency_ms=12.5,
    )
    back = P.parse_body(P.QueryResponse, P.dumps(resp))
    assert back.calls() == [FunctionCall("f", {"a": 1})]
    assert json.loads(P.dumps(resp))["tool_calls"] == [{"name": "f", "arguments": {"a": 1}}]


@pytest.mark.parametrize(
    "version,ok",
    [
        ("1.0", True),
        ("1.9", True),
        ("1", True),
        ("2.0", False),
        ("0.1", False),
        ("", False),
        ("v1", False),
        (None, False),
        (1, False),
    ],
)
def test_version_rule(version, ok):
    if ok:
        P.check_version(version)
    else:
        with pytest.raises(P.UnsupportedVersion) as e:
            P.check_version(version)
        assert e.value.status == 426 and "upgrade" in e.value.message


def test_parse_body_errors():
    with pytest.raises(P.ProtocolError) as e:
        P.parse_body(P.QueryRequest, b"{nope")
    assert (e.value.status, e.value.code) == (400, "bad_json")
    with pytest.raises(P.ProtocolError) as e:
        P.parse_body(P.QueryRequest, b"[1]")
    assert e.value.status == 400
    with pytest.raises(P.ProtocolError) as e:
        P.parse_body(P.QueryRequest, b'{"task_id": "x", "messages": []}')
    assert e.value.status == 422 and "messages" in e.value.message
    # another major version wins over field errors, so an old peer is told to upgrade
    with pytest.raises(P.UnsupportedVersion):
        P.parse_body(P.QueryRequest, b'{"protocol_version": "2.0"}')
    # a missing version means this one; unknown fields are ignored
    req = P.parse_body(P.FeedbackRequest, b'{"task_id": "x", "score": 1, "correct": true, "later": 1}')
    assert req.protocol_version == P.PROTOCOL_VERSION and req.feedback == "" and req.error is None


def test_models_refuse_other_majors_when_built_directly():
    with pytest.raises(ValidationError):
        P.InfoResponse(protocol_version="3.0")


def test_dumps_is_compact_utf8():
    assert P.dumps({"a": "é"}) == '{"a":"é"}'.encode()
    assert P.dumps(None) == b""


def test_build_signed_signs_the_exact_bytes_sent():
    seen = {}

    def sign(wallet, *, method, path, body, receiver_hotkey):
        seen.update(wallet=wallet, method=method, path=path, body=body, receiver=receiver_hotkey)
        return {"X-Bittensor-Signature": "0xabc"}

    fb = P.FeedbackRequest(task_id="t", score=0.5, correct=False)
    headers, body = P.build_signed("kp", "5Miner", P.FEEDBACK_PATH, fb, sign=sign)
    assert body == P.dumps(fb) and seen["body"] == body
    assert (seen["method"], seen["path"], seen["receiver"], seen["wallet"]) == ("POST", P.FEEDBACK_PATH, "5Miner", "kp")
    assert headers == {
        "X-Bittensor-Signature": "0xabc",
        P.PROTOCOL_HEADER: P.PROTOCOL_VERSION,
        "Content-Type": "application/json",
    }
    headers, body = P.build_signed("kp", "5Miner", P.INFO_PATH, sign=sign)
    assert body == b"" and seen["method"] == "GET" and "Content-Type" not in headers


def test_build_signed_defaults_to_chain_auth_and_verifies():
    pytest.importorskip("bittensor")
    from bittensor.sp_core import Keypair

    from bitagent_cli.chain import auth

    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    req = P.QueryRequest.from_task(_task())
    headers, body = P.build_signed(alice, bob.ss58_address, P.QUERY_PATH, req)
    assert (
        auth.verify_request(
            headers,
            body,
            method="POST",
            path=P.QUERY_PATH,
            self_hotkey=bob.ss58_address,
            replay_cache=auth.ReplayCache(),
        )
        == alice.ss58_address
    )
    headers, body = P.build_signed(alice, bob.ss58_address, P.INFO_PATH)
    assert (
        auth.verify_request(
            headers, body, method="GET", path=P.INFO_PATH, self_hotkey=bob.ss58_address, replay_cache=auth.ReplayCache()
        )
        == alice.ss58_address
    )


def test_parse_body_refuses_hostile_json_as_bad_json():
    for body in (
        b"[" * 5000 + b"]" * 5000,
        b'{"task_id": "x", "messages": ' + b"[" * 100_000 + b"}",
        b'{"task_id": "x", "max_tokens": ' + b"1" * 5000 + b"}",
    ):
        with pytest.raises(P.ProtocolError) as e:
            P.parse_body(P.QueryRequest, body)
        assert e.value.status == 400 and e.value.code == "bad_json" and len(e.value.message) < 300
