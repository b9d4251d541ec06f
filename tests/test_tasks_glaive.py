"""The glaive and bitagent suites, and the Glaive conversation converters."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import SHARED_DATA

from bitagent_cli.tasks import ExpectedCall
from bitagent_cli.tasks.bitagent_suite import TOOLS_PER_TASK, name_words
from bitagent_cli.tasks.glaive import parse_glaive_v2, sharegpt_to_tasks
from bitagent_cli.tasks.suites import load_suite


@pytest.fixture(scope="module")
def glaive():
    return {t.id: t for t in load_suite("glaive")}


def test_glaive_counts(glaive):
    cats = Counter(t.category for t in glaive.values())
    # 153 records with a call; each function_call turn is a task
    assert cats["simple"] + cats["multiple"] == 211
    assert cats["irrelevance"] == 85


def test_glaive_record_3_second_call(glaive):
    """Record 3: calculate_area three times; the second call's task carries the first exchange."""
    t = glaive["glaive/3/1"]
    assert t.category == "multiple"  # calculate_area + calculate_discount offered
    assert [tl.name for tl in t.tools] == ["calculate_area", "calculate_discount"]
    assert [m["role"] for m in t.messages] == ["user", "assistant", "tool", "assistant", "user"]
    call_msg, tool_msg = t.messages[1], t.messages[2]
    assert call_msg["tool_calls"][0]["id"] == tool_msg["tool_call_id"] == "call00000"
    assert json.loads(call_msg["tool_calls"][0]["function"]["arguments"]) == {
        "shape": "rectangle",
        "dimensions": [5, 3],
    }
    assert tool_msg == {
        "role": "tool",
        "tool_call_id": "call00000",
        "name": "calculate_area",
        "content": '{"area": 15}',
    }
    assert t.messages[-1] == {"role": "user", "content": "What about a circle with a radius of 4 units?"}
    assert t.expected == (ExpectedCall("calculate_area", {"shape": ["circle"], "dimensions": [[4]]}),)
    assert glaive["glaive/3/2"].messages[-1]["content"].startswith("And a square")
    assert glaive["glaive/3/0"].messages == ({"role": "user", "content": glaive["glaive/3/0"].messages[0]["content"]},)


def test_glaive_no_call_tasks(glaive):
    t = glaive["glaive/22/no_call"]
    assert t.category == "irrelevance" and t.expected == ()
    assert t.messages == ({"role": "user", "content": "Can you please order a pizza for me?"},)
    assert [tl.name for tl in t.tools] == ["create_calendar_event"]
    assert t.meta["no_call_reason"] == "unrelated_request"
    asks = glaive["glaive/0/no_call"]
    assert asks.meta["no_call_reason"] == "missing_arguments"
    assert Counter(t.meta["no_call_reason"] for t in glaive.values() if t.category == "irrelevance") == {
        "missing_arguments": 47,
        "unrelated_request": 38,
    }
    # every no-call task offers tools and stops at the first user turn
    for t in glaive.values():
        if t.category == "irrelevance":
            assert t.tools and [m["role"] for m in t.messages] == ["user"]


def test_glaive_matches_source_file(glaive):
    path = SHARED_DATA / "glaive" / "glaive_toolcall_en_demo.json"
    if not path.exists():
        pytest.skip("shared data not present")
    records = json.loads(path.read_text())
    checked = 0
    for idx, rec in enumerate(records):
        calls = [json.loads(m["value"]) for m in rec["conversations"] if m["from"] == "function_call"]
        for k, call in enumerate(calls):
            checked += 1
            t = glaive[f"glaive/{idx}/{k}"]
            assert t.expected[0].name == call["name"]
            assert {a: v[0] for a, v in t.expected[0].arguments.items()} == call["arguments"]
            assert t.category == ("simple" if len(json.loads(rec["tools"])) == 1 else "multiple")
    assert checked > 100  # the loop ran over the file's calls (an empty or renamed field would pass vacuously)


def test_sharegpt_parallel_calls_and_unknown_function():
    conv = [
        {"from": "human", "value": "weather in Paris and Rome"},
        {"from": "function_call", "value": '{"name": "w", "arguments": {"city": "Paris"}}'},
        {"from": "function_call", "value": '{"name": "w", "arguments": "{\\"city\\": \\"Rome\\"}"}'},
        {"from": "observation", "value": "sunny"},
        {"from": "observation", "value": "rain"},
        {"from": "gpt", "value": "Sunny in Paris, rain in Rome."},
        {"from": "human", "value": "and call x"},
        {"from": "function_call", "value": '{"name": "not_declared", "arguments": {}}'},
    ]
    tools = json.dumps([{"name": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    tasks = sharegpt_to_tasks(conv, tools, id_prefix="x/0", system="Be nice.")
    assert [t.id for t in tasks] == ["x/0/0"]  # the undeclared function's task is skipped
    t = tasks[0]
    assert t.category == "parallel" and [e.arguments["city"] for e in t.expected] == [["Paris"], ["Rome"]]
    assert t.messages[0] == {"role": "system", "content": "Be nice."}


def test_glaive_v2_text_form():
    system = (
        "SYSTEM: You are a helpful assistant with access to the following functions. Use them if required -\n"
        '{\n    "name": "detect_language",\n    "parameters": {"type": "object", "properties": {"text": '
        '{"type": "string"}}, "required": ["text"]}\n}\n\n{"name": "detect_language", "parameters": {}}\n'
    )
    chat = (
        "USER: What language is this?\n\n\nASSISTANT: Please provide the text. <|endoftext|>\n\n\n"
        'USER: Here it is - "Je suis un étudiant"\n\n\nASSISTANT: <functioncall> {"name": "detect_language", '
        '"arguments": \'{"text": "Je suis un étudiant"}\'} <|endoftext|>\n\n\n'
        'FUNCTION RESPONSE: {"language": "French"}\n\n\nASSISTANT: It is French. <|endoftext|>\n\n\n'
    )
    tools, conv = parse_glaive_v2(system, chat)
    assert [t["name"] for t in tools] == ["detect_language"]  # declared twice: first kept
    assert [c["from"] for c in conv] == ["human", "gpt", "human", "function_call", "observation", "gpt"]
    assert json.loads(conv[3]["value"]) == {"name": "detect_language", "arguments": {"text": "Je suis un étudiant"}}
    assert conv[1]["value"] == "Please provide the text."
    # the stray "AI to=" syntax ends the conversation there
    _, conv2 = parse_glaive_v2(system, "USER: hi\n\n\nASSISTANT: AI to= detect_language: {}\n\n\nUSER: more")
    assert [c["from"] for c in conv2] == ["human"]


# ---------------------------------------------------------------- bitagent suite
@pytest.fixture(scope="module")
def bitagent():
    return load_suite("bitagent")


def test_bitagent_shape(bitagent):
    assert len(bitagent) > 700
    cats = Counter(t.category for t in bitagent)
    assert set(cats) == {"multiple", "irrelevance"}
    assert 0.18 < cats["irrelevance"] / len(bitagent) < 0.32
    for t in bitagent:
        assert len(t.tools) == TOOLS_PER_TASK
        assert len({tl.name for tl in t.tools}) == TOOLS_PER_TASK
        assert t.messages[0]["role"] != "system"
        assert t.id == f"bitagent/{t.meta['from']}"
        names = {tl.name for tl in t.tools}
        if t.category == "multiple":
            assert len(t.expected) == 1 and t.expected[0].name in names  # the real tool is never cut off
            assert len(t.meta["distractors"]) == TOOLS_PER_TASK - (len(t.tools) - len(t.meta["distractors"]))
        else:
            assert t.expected == () and names == set(t.meta["distractors"])


def test_bitagent_keeps_source_expected_and_messages(bitagent):
    bfcl = {t.id: t for t in load_suite("bfcl")}
    glaive = {t.id: t for t in load_suite("glaive")}
    for t in bitagent:
        src = bfcl.get(t.meta["from"]) or glaive[t.meta["from"]]
        assert t.messages == src.messages
        if t.category == "multiple":
            assert t.expected == src.expected
            src_tool = src.tool(t.expected[0].name)
            assert t.tool(t.expected[0].name) == src_tool
        # distractors never share a significant name word with the source's tools
        own_words = set().union(*(name_words(tl.name) for tl in src.tools))
        for d in t.meta["distractors"]:
            assert not (name_words(d) & own_words), (t.id, d)
    assert any(t.meta["from"].startswith("glaive/") for t in bitagent)
    assert any(t.meta["from"].startswith("bfcl/live_simple/") for t in bitagent)


def test_bitagent_wire_form(bitagent):
    t = next(t for t in bitagent if t.meta["from"] == "bfcl/simple_python/0" or t.category == "multiple")
    wire = [tl.to_wire() for tl in t.tools]
    assert wire
    for w in wire:
        assert set(w) == {"name", "description", "arguments"}
        assert all(isinstance(a.get("required"), bool) for a in w["arguments"].values())


def test_name_words():
    assert name_words("calculate_triangle_area") == {"triangle", "area"}
    assert name_words("getCurrentWeather") == {"weather"}
    assert name_words("spotify.play") == {"spotify"}
