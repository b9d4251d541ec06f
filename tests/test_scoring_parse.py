"""parse_calls: every output format, the pythonic subset, and hostile input (each must return quickly)."""

from __future__ import annotations

import json
import time

import pytest

from bitagent_cli.scoring import parse_calls
from bitagent_cli.scoring.parse import MAX_INPUT_CHARS


def calls_of(text, tool_calls=None):
    r = parse_calls(text, tool_calls)
    assert r.ok, r.error
    return [(c.name, c.arguments) for c in r.calls]


F1 = [("f", {"a": 1})]
FG = [("f", {"a": 1}), ("g", {"b": "x"})]


@pytest.mark.parametrize(
    "text,expected,fmt",
    [
        ("[f(a=1), g(b='x')]", FG, "pythonic"),
        ('[f(a=1), g(b="x")]', FG, "pythonic"),
        ("f(a=1)", F1, "pythonic"),
        ("f(a=1), g(b='x')", FG, "pythonic"),
        ("f(a=1)\ng(b='x')", FG, "pythonic"),
        ("```\n[f(a=1)]\n```", F1, "pythonic"),
        ("```python\n[f(a=1)]\n```", F1, "pythonic"),
        ("```tool_code\nf(a=1)\n```", F1, "pythonic"),
        ("Sure! Here you go: [f(a=1), g(b='x')]", FG, "pythonic"),
        ("I will call the function.\nf(a=1)\n", F1, "pythonic"),
        (
            "[spotify.play(artist='Taylor Swift', duration=20)]",
            [("spotify.play", {"artist": "Taylor Swift", "duration": 20})],
            "pythonic",
        ),
        ('[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {"b": "x"}}]', FG, "json"),
        ('{"name": "f", "arguments": {"a": 1}}', F1, "json"),
        ('{"name": "f", "parameters": {"a": 1}}', F1, "json"),
        ('{"name": "f", "arguments": "{\\"a\\": 1}"}', F1, "json"),
        ('{"name": "f", "arguments": "\\"{\\\\\\"a\\\\\\": 1}\\""}', F1, "json"),  # double-encoded
        ('```json\n[{"name": "f", "arguments": {"a": 1}}]\n```', F1, "json"),
        ('{"type": "function", "function": {"name": "f", "arguments": "{\\"a\\": 1}"}}', F1, "json"),
        ('{"thought": "I should call f", "tool_calls": [{"name": "f", "arguments": {"a": 1}}]}', F1, "xlam"),
        (
            '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>\n'
            '<tool_call>\n{"name": "g", "arguments": {"b": "x"}}\n</tool_call>',
            FG,
            "hermes",
        ),
        ('Let me look that up.\n<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>', F1, "hermes"),
        ('<tool_call>\n{"name": "f", "arguments": {"a": 1}}', F1, "hermes"),  # unterminated last block
        ('<|python_tag|>{"name": "f", "parameters": {"a": 1}}; {"name": "g", "parameters": {"b": "x"}}', FG, "llama"),
        ('<|python_tag|>{"name": "f", "parameters": {"a": 1}}<|eom_id|>', F1, "llama"),
        ('{"name": "f", "parameters": {"a": 1}}; {"name": "g", "parameters": {"b": "x"}}', FG, "json"),
        ('[TOOL_CALLS] [{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {"b": "x"}}]', FG, "mistral"),
        ('[TOOL_CALLS]f[ARGS]{"a": 1}[TOOL_CALLS]g[ARGS]{"b": "x"}', FG, "mistral"),
        ('<functioncall> {"name": "f", "arguments": \'{"a": 1}\'} <|endoftext|>', F1, "glaive"),
        ("<TOOLCALL>[f(a=1)]</TOOLCALL>", F1, "pythonic"),
        ("<think>\nThe user wants f.\n</think>\n\n[f(a=1)]", F1, "pythonic"),
        ("[f(a=1)]<|eot_id|>", F1, "pythonic"),
    ],
)
def test_formats(text, expected, fmt):
    r = parse_calls(text)
    assert r.ok, r.error
    assert [(c.name, c.arguments) for c in r.calls] == expected
    assert r.format == fmt


def test_openai_tool_calls():
    tc = [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
        {"type": "function", "function": {"name": "g", "arguments": {"b": "x"}}},
    ]
    r = parse_calls("some text", tc)
    assert r.ok and r.format == "openai"
    assert [(c.name, c.arguments) for c in r.calls] == FG
    assert calls_of(None, [{"function": {"name": "f", "arguments": ""}}]) == [("f", {})]
    assert not parse_calls(None, [{"function": {"name": "f", "arguments": "{not json"}}]).ok
    assert not parse_calls(None, [{"function": {"arguments": "{}"}}]).ok
    assert not parse_calls(None, [{"function": {"name": "f", "arguments": {"a": float("nan")}}}]).ok


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        None,
        "I'm sorry, none of these functions can help.",
        "[]",
        '{"thought": "nothing fits", "tool_calls": []}',
        "```\n```",
        "<think>unfinished reasoning",
        "Sure (I think) that is right.",
        "The function get_weather(city) is not suitable here.",
    ],
)
def test_refusals_are_ok_with_no_calls(text):
    r = parse_calls(text)
    assert r.ok and r.calls == [] and r.format is None


def test_literal_values():
    [(_, args)] = calls_of(
        "[f(a=(1, 2), b={1, 2}, c=-1, d=+2.5, e=True, f=None, g=London, h={'k': [1e3]},"
        " i='é✓ 中文', j=\"it's\", k='a\\nb', l=0.5, m=-.5)]"
    )
    assert args == {
        "a": [1, 2],
        "b": [1, 2],
        "c": -1,
        "d": 2.5,
        "e": True,
        "f": None,
        "g": "London",
        "h": {"k": [1000.0]},
        "i": "é✓ 中文",
        "j": "it's",
        "k": "a\nb",
        "l": 0.5,
        "m": -0.5,
    }


@pytest.mark.parametrize(
    "text",
    [
        "[f(a=__import__('os').system('ls'))]",
        "__import__('os').system('ls')",
        "[f(a=lambda: 1)]",
        "[f(a=f'{x}')]",
        "[f(a=[x for x in y])]",
        "[f(a={k: v for k, v in y})]",
        "[f(a=x.y)]",
        "[f(a=2*5)]",
        "[f(a=g(b=1))]",
        "[f(a=open('/etc/passwd'))]",
        "[f(a=NaN)]",
        "[f(a=inf)]",
        "[f(a=1e999)]",
        '[{"name": "f", "arguments": {"a": NaN}}]',
        '[{"name": "f", "arguments": {"a": Infinity}}]',
        "[f(a=b'x')]",
        "[f(a=1j)]",
        "[f(a=...)]",
        "f(10, 5)",
        "[f(*args)]",
        "[f(**kw)]",
        "[f(a=1, a=2)]",
        "[f(a=1)",
        "Here it is: [f(a=1",
        "[x[0](a=1)]",
        "[(lambda: 1)()]",
        "[1, 2, 3]",
        '{"answer": 42}',
        "[f(a=1), 3]",
        "<tool_call>\nnot json\n</tool_call>",
        "[TOOL_CALLS] nonsense",
        "[" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        "[f(a=" + "[" * 500 + "]" * 500 + ")]",
        '[{"name": "f", "arguments": ' + '{"a": ' * 2000 + "1" + "}" * 2000 + "}]",
        "[f(a=" + "9" * 5000 + ")]",
        "[f(a='\x00')]",
        "[f(a='\ud800')]",
        "[" + ", ".join(["f(a=1)"] * 30_000) + "]",  # too many calls (fast path)
        "[" + ", ".join(["f(a='\\n')"] * 20_000) + "]",  # too many calls (ast path: too long for it)
        "[" + ", ".join(['{"name": "f", "arguments": {}}'] * 8_000) + "]",
        "\n".join(["g(a=1)"] * 600),  # one call a line, too many
        "[TOOL_CALLS]" * 10_000,
        "see [f(a=1), and " * 12_000,
    ],
)
def test_hostile_input_is_a_quick_clean_unparseable(text):
    t = time.thread_time()  # CPU time of this thread: other processes on a busy machine do not count
    r = parse_calls(text)
    assert time.thread_time() - t < 0.5
    assert not r.ok and r.calls == [] and r.error


def test_oversized_input_is_refused_without_reading():
    t = time.thread_time()
    r = parse_calls("[" * (1024 * 1024))
    assert time.thread_time() - t < 0.05
    assert not r.ok and str(MAX_INPUT_CHARS) in r.error


@pytest.mark.parametrize(
    "text",
    [
        "Sure! " + "[f(" * 20_000,
        "x " * 100_000,
        "f(" * 60_000,
        "[f(a='" + "'" * 100_000,
        "Use [f(a=1" + ")" * 50_000,
        "\n".join(["g(a=1) and more"] * 10_000),
        "<tool_call>" * 20_000,
        "```" * 50_000,
        "[TOOL_CALLS]" * 10_000,
    ],
)
def test_adversarial_prose_stays_fast(text):
    t = time.thread_time()
    r = parse_calls(text)
    assert time.thread_time() - t < 1.0
    assert isinstance(r.ok, bool)


def test_import_as_a_top_level_call_is_just_a_name():
    # keyword-only literal arguments: a call named __import__, which no task expects
    assert calls_of("[__import__(name='os')]") == [("__import__", {"name": "os"})]


@pytest.mark.parametrize(
    "value",
    [
        "<tool_call>",
        "[TOOL_CALLS]",
        "</think>",
        "<|python_tag|>",
        "<functioncall>",
        "```",
        "<|eot_id|>",
        "a\\nb </think> c",
    ],
)
def test_markers_inside_string_values_are_just_text(value):
    text = f"[f(a={value!r}, b=2)]"
    assert calls_of(text) == [("f", {"a": value, "b": 2})]
    assert calls_of(f'{{"name": "f", "arguments": {{"a": {json.dumps(value)}}}}}') == [("f", {"a": value})]


def test_reasoning_then_calls_and_trailing_tokens():
    assert calls_of("<think>Maybe [g(x=1)]?</think>\n[f(a=1)]<|im_end|>") == F1
    assert calls_of("The user wants f. </think> [f(a=1)]") == F1
    assert calls_of("[f(a=1)]\n<|eot_id|>") == F1


def test_unicode_names_and_values():
    assert calls_of("[función(ciudad='Málaga')]") == [("función", {"ciudad": "Málaga"})]
    assert calls_of("[f(a='🙂 中文 ✓')]") == [("f", {"a": "🙂 中文 ✓"})]
    assert calls_of('{"name": "f", "arguments": {"a": "\\u00e9"}}') == [("f", {"a": "é"})]


def test_fast_path_calls_are_ordinary_function_calls():
    import dataclasses

    from bitagent_cli.scoring.parse import _call
    from bitagent_cli.tasks import FunctionCall

    c = _call("f", {"a": 1})
    assert type(c) is FunctionCall and c == FunctionCall("f", {"a": 1}) and c.to_python() == "f(a=1)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.name = "g"  # type: ignore[misc]


def _parsers_vllm():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "parsers_vllm.py"
    spec = importlib.util.spec_from_file_location("parsers_vllm", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_vllm_parser_test_outputs_differ_only_where_documented(capsys):
    # benchmarks/parsers_vllm.py: the model outputs of vLLM's own tool-parser tests; every case we read
    # differently is one of the deliberate differences of docs/scoring.md
    mod = _parsers_vllm()
    assert mod.main(["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["cases"] > 150 and d["families"] >= 18
    assert d["undocumented"] == 0, [x for x in d["cases_listed"] if x["reason"] == "undocumented"]
    assert d["agree"] / d["cases"] > 0.85
    # every deliberate difference the cases name is listed (and so documented) in the benchmark
    assert {c.deliberate for c in mod.CASES if c.deliberate} <= set(mod.DELIBERATE)


def test_vllm_parser_test_outputs_each_family_reads_its_plain_call():
    # the first case of each family that expects calls reads exactly vLLM's expectation
    mod = _parsers_vllm()
    seen = set()
    for c in mod.CASES:
        if c.family in seen or not c.expected or c.deliberate:
            continue
        seen.add(c.family)
        ok, got = mod.run_case(c)
        assert ok, (c.test, got)
    assert len(seen) >= 18


def test_vllm_parser_benchmark_says_in_one_line_when_the_interpreter_has_no_vllm():
    import sys

    r = _parsers_vllm().run_vllm(sys.executable)  # this environment has no vLLM
    assert set(r) == {"error"} and "could not run vLLM's parsers" in r["error"] and "\n" not in r["error"]
