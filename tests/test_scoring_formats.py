"""parse_calls against the tool-call formats of vLLM's parsers (written as the model cards and vLLM's own
tests show them), the reported hangs, every regex on 256 KiB adversarial text, and a bounded fuzz. Every call
runs under a watchdog, so a hang fails the test instead of freezing the suite."""

from __future__ import annotations

import inspect
import re
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitagent_cli.scoring import Response, parse_calls, score_task
from bitagent_cli.scoring import parse as parse_mod
from bitagent_cli.scoring.parse import MAX_INPUT_CHARS, ParseResult
from bitagent_cli.tasks import Task, Tool

LIMIT_S = 1.0  # per call; the 50 ms budget itself is measured by benchmarks/fuzz.py, not by a timed test
DS, SP = "\uff5c", "\u2581"  # DeepSeek's fullwidth bar and word separator


def within(fn, *args, limit: float = LIMIT_S, what=None, **kwargs):
    """fn(*args) in a daemon thread; fails the test when it has not returned after ``limit`` seconds."""
    out: list = []
    th = threading.Thread(target=lambda: out.append(fn(*args, **kwargs)), daemon=True)
    t = time.perf_counter()
    th.start()
    th.join(limit)
    assert not th.is_alive(), f"still running after {limit} s on {str(what or args)[:120]!r}"
    assert out, "raised instead of returning"
    return out[0], time.perf_counter() - t


def parse(text, tools=None) -> ParseResult:
    r, _ = within(parse_calls, text, None, tools)
    assert isinstance(r, ParseResult)
    return r


def calls(r: ParseResult):
    assert r.ok, r.error
    return [(c.name, c.arguments) for c in r.calls]


# --------------------------------------------------------------------------------------------- the hangs
HANGS = [
    "<|im_start|>",
    "<|x|>",
    "<tools>",
    "a<b>c</tags>",
    "[f(a=1)]<|python_end|>",
    "Here are my <thoughts>",
    "<|im_start|>assistant",
    "[f(a=1)]<|x|>",
    "f(a=1) <|im_start|><|im_start|>",
    "</s>" * 3 + "<|x|>",
    "x" + "</s>" * 60_000,
    "[f(a=1)]" + " <|eot_id|>\n" * 20_000,
    "<|x|>" * 50_000,
    "n>" * 100_000,
]


@pytest.mark.parametrize("text", HANGS, ids=range(len(HANGS)))
def test_reported_hangs_return(text):
    r = parse(text)
    assert isinstance(r.ok, bool)


def test_reported_hangs_read_right():
    assert calls(parse("[f(a=1)]<|python_end|>")) == [("f", {"a": 1})]
    assert calls(parse("Here are my <thoughts>")) == []  # prose: a refusal
    assert calls(parse("<|im_start|>")) == []
    assert not parse("<tools>").ok  # a tool-call marker without a call: not a refusal


# --------------------------------------------------------------------------------------------- the formats
F1 = [("f", {"a": 1})]
FG = [("f", {"a": 1}), ("g", {"b": "x"})]
W = [("get_weather", {"city": "San Francisco"})]
WW = [("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Paris"})]


def ds_v3(name, args_json):
    return (
        f"<{DS}tool{SP}call{SP}begin{DS}>function<{DS}tool{SP}sep{DS}>{name}\n```json\n{args_json}\n```"
        f"<{DS}tool{SP}call{SP}end{DS}>"
    )


def ds_v31(name, args_json):
    return f"<{DS}tool{SP}call{SP}begin{DS}>{name}<{DS}tool{SP}sep{DS}>{args_json}<{DS}tool{SP}call{SP}end{DS}>"


DS_BEGIN, DS_END = f"<{DS}tool{SP}calls{SP}begin{DS}>", f"<{DS}tool{SP}calls{SP}end{DS}>"
EOS = f"<{DS}end{SP}of{SP}sentence{DS}>"
DSML = f"<{DS}DSML{DS}"  # DeepSeek V3.2 / V4 markup


def dsml(name, params, wrapper="function_calls"):
    """A DeepSeek V3.2 (``function_calls``) or V4 (``tool_calls``) call, as vLLM's tests write them."""
    ps = "".join(f'{DSML}parameter name="{k}" string="{s}">{v}</{DS}DSML{DS}parameter>\n' for k, v, s in params)
    return f'{DSML}{wrapper}>\n{DSML}invoke name="{name}">\n{ps}</{DS}DSML{DS}invoke>\n</{DS}DSML{DS}{wrapper}>'


FORMATS = [
    # Mistral, v11+ tokenizers (vLLM mistral parser, fn_name_regex): name then JSON, several in a row
    ('[TOOL_CALLS]get_weather{"city": "San Francisco"}', W, "mistral"),
    ('[TOOL_CALLS]get_weather{"city": "Beijing"}[TOOL_CALLS]get_weather{"city": "Paris"}', WW, "mistral"),
    ('[TOOL_CALLS]get_weather{"city": "Beijing"} get_weather{"city": "Paris"}', WW, "mistral"),
    # Mistral pre-v11: a JSON list, then trailing text (vLLM falls back to the [{...}] it finds)
    ('[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "San Francisco"}}]', W, "mistral"),
    (
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "San Francisco"}}]\n\nI have called the tool.',
        W,
        "mistral",
    ),
    ('Sure. [TOOL_CALLS]get_weather[ARGS]{"city": "San Francisco"}', W, "mistral"),
    # as vLLM's mistral tests write them: content before, arguments before name, junk before the list
    ('Hello[TOOL_CALLS] [{"arguments":{"city": "San Francisco"}, "name": "get_weather"}]', W, "mistral"),
    ('[TOOL_CALLS]  junk [{"name": "get_weather", "arguments":{"city": "San Francisco"}}] trail', W, "mistral"),
    ('[TOOL_CALLS]f{"a": 1}[TOOL_CALLS]g{"b": "x"}', FG, "mistral"),
    # Llama 4 pythonic (llama4_pythonic): the list wrapped in <|python_start|> ... <|python_end|>
    ('<|python_start|>[get_weather(city="San Francisco")]<|python_end|>', W, "llama4"),
    ("<|python_start|>[f(a=1), g(b='x')]<|python_end|><|eot|>", FG, "llama4"),
    ('[get_weather(city="San Francisco")]<|python_end|>', W, "pythonic"),
    # Llama 3.x JSON (llama3_json): calls joined by ';', after prose too; all of them are kept
    ('{"name": "f", "parameters": {"a": 1}}; {"name": "g", "parameters": {"b": "x"}}', FG, "json"),
    (
        'Let me call both tools. {"name": "f", "parameters": {"a": 1}}; {"name": "g", "parameters": {"b": "x"}}',
        FG,
        "json",
    ),
    (
        'I will check.\n{"name": "f", "parameters": {"a": 1}} ;\n{"name": "g", "parameters": {"b": "x"}}<|eot_id|>',
        FG,
        "json",
    ),
    # Qwen2.5-Coder (qwen2_5_coder): <tools> with one object, a list, or one object a line
    ('<tools>\n{"name": "get_weather", "arguments": {"city": "San Francisco"}}\n</tools>', W, "qwen25_coder"),
    (
        '<tools>\n{"name": "f", "arguments": {"a": 1}}\n{"name": "g", "arguments": {"b": "x"}}\n</tools>',
        FG,
        "qwen25_coder",
    ),
    (
        '<tools>[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {"b": "x"}}]</tools>',
        FG,
        "qwen25_coder",
    ),
    # Jamba (jamba): a JSON list between <tool_calls> tags
    ('<tool_calls>[{"name": "get_weather", "arguments": {"city": "San Francisco"}}]</tool_calls>', W, "jamba"),
    (
        'Checking. <tool_calls>[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {"b": "x"}}]'
        "</tool_calls>",
        FG,
        "jamba",
    ),
    # Granite 3.0 (granite): <|tool_call|> then a JSON list, "arguments" before "name"
    ('<|tool_call|>[{"arguments": {"city": "San Francisco"}, "name": "get_weather"}]', W, "granite"),
    # Granite 3.1: <tool_call> then a list (read by the same parser)
    ('<tool_call>[{"arguments": {"a": 1}, "name": "f"}, {"arguments": {"b": "x"}, "name": "g"}]', FG, "hermes"),
    # Granite-20B-FunctionCalling (granite-20b-fc): several <function_call>, one JSON object each
    (
        '<function_call> {"name": "f", "arguments": {"a": 1}} <function_call> {"name": "g", "arguments": {"b": "x"}}',
        FG,
        "granite_20b_fc",
    ),
    ('<function_call> {"name": "get_weather", "arguments": {"city": "San Francisco"}}', W, "granite_20b_fc"),
    # OLMo 3 (olmo3): one pythonic call a line inside <function_calls>, JSON literals allowed
    ('<function_calls>\nget_weather(city="San Francisco")\n</function_calls>', W, "olmo3"),
    ("<function_calls>\nf(a=1)\ng(b='x')\n</function_calls>", FG, "olmo3"),
    (
        "<function_calls>f(a=1, n=null, t=true, u=false)</function_calls>",
        [("f", {"a": 1, "n": None, "t": True, "u": False})],
        "olmo3",
    ),
    # Qwen3 / Qwen3-Coder XML (qwen3_coder, qwen3_xml); without tools every value stays a string
    (
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nSan Francisco\n</parameter>\n</function>\n</tool_call>",
        W,
        "qwen3_xml",
    ),
    (
        "I'll check both.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nBeijing\n</parameter>\n"
        "</function>\n</tool_call>\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
        "</function>\n</tool_call>",
        WW,
        "qwen3_xml",
    ),
    ("<function=get_weather>\n<parameter=city>\nSan Francisco\n</parameter>\n</function>", W, "qwen3_xml"),
    ("<tool_call>\n<function=get_time>\n</function>\n</tool_call>", [("get_time", {})], "qwen3_xml"),
    # DeepSeek V3 (deepseek_v3): type, name and a fenced JSON block per call
    (
        DS_BEGIN
        + ds_v3("get_weather", '{"city": "Beijing"}')
        + "\n"
        + ds_v3("get_weather", '{"city": "Paris"}')
        + DS_END
        + EOS,
        WW,
        "deepseek_v3",
    ),
    ("Let me look.\n" + DS_BEGIN + ds_v3("get_weather", '{"city": "San Francisco"}') + DS_END, W, "deepseek_v3"),
    # DeepSeek V3.1 (deepseek_v31): name, separator, raw JSON
    (
        DS_BEGIN + ds_v31("get_weather", '{"city": "Beijing"}') + ds_v31("get_weather", '{"city": "Paris"}') + DS_END,
        WW,
        "deepseek_v31",
    ),
    # GLM-4.5 (glm45): name on its own line, then <arg_key>/<arg_value> pairs
    ("<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>San Francisco</arg_value>\n</tool_call>", W, "glm45"),
    (
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n</tool_call>"
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>",
        WW,
        "glm45",
    ),
    ("<tool_call>get_time\n</tool_call>", [("get_time", {})], "glm45"),
    # Kimi K2 (kimi_k2): functions.name:index, then the JSON arguments
    (
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>"
        '{"city": "San Francisco"}<|tool_call_end|><|tool_calls_section_end|>',
        W,
        "kimi_k2",
    ),
    (
        "<|tool_calls_section_begin|>\n<|tool_call_begin|> functions.get_weather:0 <|tool_call_argument_begin|> "
        '{"city": "Beijing"} <|tool_call_end|>\n<|tool_call_begin|>functions.get_weather:1'
        '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|>\n<|tool_calls_section_end|>',
        WW,
        "kimi_k2",
    ),
    # as vLLM's own kimi_k2 tests write them: an id without "functions.", JSON holding tags, several lines
    (
        "I'll check. <|tool_calls_section_begin|><|tool_call_begin|>get_weather:0 <|tool_call_argument_begin|>"
        '{"city": "San Francisco"}<|tool_call_end|><|tool_calls_section_end|>',
        W,
        "kimi_k2",
    ),
    (
        "Process HTML. <|tool_calls_section_begin|><|tool_call_begin|>functions.process_html:0 "
        '<|tool_call_argument_begin|>{\n  "html": "<div>content</div>"\n}<|tool_call_end|><|tool_calls_section_end|>',
        [("process_html", {"html": "<div>content</div>"})],
        "kimi_k2",
    ),
    # DeepSeek V3.2 (deepseek_v32) and V4 (deepseek_v4): DSML invoke/parameter blocks
    (dsml("get_weather", [("city", "San Francisco", "true")]), W, "deepseek_v32"),
    ("Let me check. " + dsml("get_weather", [("city", "San Francisco", "true")], "tool_calls"), W, "deepseek_v4"),
    (
        f'{DSML}function_calls>\n{DSML}invoke name="get_weather">\n{DSML}parameter name="city" string="true">'
        f'Beijing</{DS}DSML{DS}parameter>\n</{DS}DSML{DS}invoke>\n{DSML}invoke name="get_weather">\n'
        f'{DSML}parameter name="city" string="true">Paris</{DS}DSML{DS}parameter>\n</{DS}DSML{DS}invoke>\n'
        f"</{DS}DSML{DS}function_calls>" + EOS,
        WW,
        "deepseek_v32",
    ),
    (
        f'{DSML}tool_calls>{DSML}invoke name="get_time"></{DS}DSML{DS}invoke></{DS}DSML{DS}tool_calls>',
        [("get_time", {})],
        "deepseek_v4",
    ),
    # string="false": the value is JSON (without a schema), string="true": text
    (
        dsml("f", [("a", "1", "false"), ("b", "[1, 2]", "false"), ("c", "1", "true"), ("d", "null", "false")]),
        [("f", {"a": 1, "b": [1, 2], "c": "1", "d": None})],
        "deepseek_v32",
    ),
    # Granite 3.0 after prose, with prose after the list (vLLM's own granite test; vLLM xfails it)
    (
        "Let me check the weather for you.\n"
        '<|tool_call|> [{"name": "get_weather", "arguments": {"city": "San Francisco"}}]'
        "\nI'll get that information.",
        W,
        "granite",
    ),
    ('<|tool_call|>[{"arguments": {"city": "San Francisco"}, "name": "get_weather"}]', W, "granite"),
    # MiniMax M2 (minimax_m2): <invoke name="..."> with <parameter name="...">
    (
        '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">San Francisco</parameter>\n'
        "</invoke>\n</minimax:tool_call>",
        W,
        "minimax_m2",
    ),
    (
        '<minimax:tool_call><invoke name="f"><parameter name="a">1</parameter></invoke>'
        '<invoke name="g"><parameter name="b">x</parameter></invoke></minimax:tool_call>',
        [("f", {"a": "1"}), ("g", {"b": "x"})],
        "minimax_m2",
    ),
    (
        'Checking.\n<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Beijing</parameter>\n'
        '</invoke>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n</invoke>\n'
        "</minimax:tool_call>",
        WW,
        "minimax_m2",
    ),
]


@pytest.mark.parametrize("text,expected,fmt", FORMATS, ids=[f[2] + f"-{i}" for i, f in enumerate(FORMATS)])
def test_family_formats(text, expected, fmt):
    r = parse(text)
    assert calls(r) == expected
    assert r.format == fmt


def test_a_marker_inside_a_fenced_call_list_is_text():
    # found by tests/test_scoring_props.py: the <functioncall> marker is a string value of a fenced JSON call
    text = '```json\n[{"name": "A", "arguments": {"A": ["<functioncall>"]}}]\n```'
    assert calls(parse(text)) == [("A", {"A": ["<functioncall>"]})]
    assert calls(parse("```\n[f(a='<tool_call>')]\n```")) == [("f", {"a": "<tool_call>"})]


def test_formats_in_a_fence_or_after_reasoning():
    text = "<tool_call>\n<function=f>\n<parameter=a>\nx\n</parameter>\n</function>\n</tool_call>"
    assert calls(parse("<think>which tool?</think>\n" + text)) == [("f", {"a": "x"})]
    assert calls(parse("```\n" + text + "\n```")) == [("f", {"a": "x"})]


# --------------------------------------------------------------------------------------------- XML types
WEATHER = Tool(
    "get_weather",
    "",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "metric": {"type": "boolean"},
            "temp": {"type": "number"},
            "opts": {"type": "object"},
            "tags": {"type": "array"},
            "zip": {"type": "string"},
            "note": {"type": ["string", "null"]},
        },
    },
)


def qwen3(**params):
    body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in params.items())
    return f"<tool_call>\n<function=get_weather>\n{body}</function>\n</tool_call>"


def minimax(**params):
    body = "".join(f'<parameter name="{k}">{v}</parameter>\n' for k, v in params.items())
    return f'<minimax:tool_call>\n<invoke name="get_weather">\n{body}</invoke>\n</minimax:tool_call>'


def glm(**params):
    body = "".join(f"<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n" for k, v in params.items())
    return f"<tool_call>get_weather\n{body}</tool_call>"


def dsml_typed(**params):
    return dsml("get_weather", [(k, v, "true") for k, v in params.items()])


TYPED = dict(
    city="Paris",
    days="3",
    metric="true",
    temp="21.5",
    opts='{"a": [1, 2]}',
    tags='["x", "y"]',
    zip="01234",
    note="null",
)
TYPED_OUT = {
    "city": "Paris",
    "days": 3,
    "metric": True,
    "temp": 21.5,
    "opts": {"a": [1, 2]},
    "tags": ["x", "y"],
    "zip": "01234",
    "note": None,
}


@pytest.mark.parametrize("make", [qwen3, minimax, glm, dsml_typed])
def test_xml_values_follow_the_schema(make):
    [(name, args)] = calls(parse(make(**TYPED), [WEATHER]))
    assert name == "get_weather" and args == TYPED_OUT
    # the same tools as OpenAI dicts (what a request carries)
    [(_, args)] = calls(parse(make(**TYPED), [WEATHER.to_openai()]))
    assert args == TYPED_OUT


def _composed(schema_type):
    # Pydantic v2's Optional[T]: the type is in anyOf / oneOf alternatives (vLLM's qwen3coder and
    # deepseek_v32 tests)
    props = {
        k: {"anyOf": [{"type": t}, {"type": "null"}]} if i % 2 else {"oneOf": [{"type": "null"}, {"type": t}]}
        for i, (k, t) in enumerate(schema_type.items())
    }
    return Tool("get_weather", "", {"type": "object", "properties": props})


@pytest.mark.parametrize("make", [qwen3, minimax, glm, dsml_typed])
def test_xml_values_follow_an_anyof_or_oneof_schema(make):
    types = {k: WEATHER.parameters["properties"][k]["type"] for k in TYPED}
    types["note"] = "string"
    [(_, args)] = calls(parse(make(**TYPED), [_composed(types)]))
    assert args == TYPED_OUT
    # the first non-null alternative wins (anyOf [string, integer]: the text stays a string)
    multi = Tool("get_weather", "", {"properties": {"days": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}})
    assert calls(parse(make(days="3"), [multi])) == [("get_weather", {"days": "3"})]


def test_xml_values_that_do_not_fit_stay_strings():
    # vLLM keeps an unconvertible value as a string (the checker then says wrong_type); a number written
    # 3.0 for an integer is not silently made 3; a boolean other than true/false is not silently made False
    [(_, args)] = calls(parse(qwen3(days="three", metric="yes", temp="warm", opts="{not json", extra="5"), [WEATHER]))
    assert args == {"days": "three", "metric": "yes", "temp": "warm", "opts": "{not json", "extra": "5"}
    [(_, args)] = calls(parse(qwen3(days="3.0", temp="20.0"), [WEATHER]))
    assert args == {"days": "3.0", "temp": 20}  # vLLM: an integral number becomes an int


def test_xml_values_without_tools():
    # vLLM's qwen3/minimax parsers keep strings when no schema is known; glm45 reads JSON values
    assert calls(parse(qwen3(days="3", city="Paris"))) == [("get_weather", {"days": "3", "city": "Paris"})]
    assert calls(parse(minimax(days="3"))) == [("get_weather", {"days": "3"})]
    assert calls(parse(glm(days="3", city="Paris"))) == [("get_weather", {"days": 3, "city": "Paris"})]


def test_xml_values_are_never_evaluated():
    [(_, args)] = calls(parse(qwen3(opts="__import__('os').system('true')"), [WEATHER]))
    assert args == {"opts": "__import__('os').system('true')"}


@pytest.mark.parametrize(
    "text",
    [
        "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n<parameter=a>\n2\n</parameter>\n</function>"
        "\n</tool_call>",  # a parameter given twice
        "<tool_call>\n<function=>\n</function>\n</tool_call>",  # no name
        "<tool_call>\n<function=f\n</tool_call>",  # tag never closed
        "<tool_call>f\n<arg_key>a</arg_key>\n</tool_call>",  # a key without a value
        "<tool_call>f\n<arg_key>a</arg_key>\n<arg_value>1</arg_value>\n<arg_key>b\n<arg_value>2</arg_value>\n</tool_call>",
        '<minimax:tool_call>\n<invoke name="f">\n<parameter name="a"\n</invoke></minimax:tool_call>',
        "<minimax:tool_call></minimax:tool_call>",
        '<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0 {"a": 1}<|tool_call_end|>',
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{bad"
        "<|tool_call_end|><|tool_calls_section_end|>",
        DS_BEGIN + f"<{DS}tool{SP}call{SP}begin{DS}>f{{}}<{DS}tool{SP}call{SP}end{DS}>" + DS_END,
        DS_BEGIN + DS_END,
        '[TOOL_CALLS]f{"a": 1',
        "<function_calls>\nf(a=1)\nthis is not a call\n</function_calls>",
        "<function_calls>\n</function_calls>",
        '<function_call> {"name": "f", "arguments": {"a": 1}} <function_call> {"arguments": {}}',
        "<tools>\n{not json}\n</tools>",
        '<tool_calls>[{"name": "f"</tool_calls>',
        '<|tool_call|>[{"name": 1}]',
        "<|python_start|>[f(a=1)<|python_end|>",
        f"{DSML}function_calls>\n</{DS}DSML{DS}function_calls>",  # a DSML block without an invoke
        f'{DSML}tool_calls>{DSML}invoke name="f"',  # cut off in the invoke tag
        f'{DSML}tool_calls>{DSML}invoke name="f">{DSML}parameter name="a" string="true">1</{DS}DSML{DS}parameter>'
        f'{DSML}parameter name="a" string="true">2</{DS}DSML{DS}parameter></{DS}DSML{DS}invoke>',  # a repeat
        # a family this parser does not read, or a marker without its call, is not a refusal either
        "<tool_use>f a=1</tool_use>",
        "<|function_call_begin|>f<|function_call_end|>",
        "I will use <function>get_weather</function> now.",
    ],
)
def test_broken_family_output_is_unparseable(text):
    r = parse(text)
    assert not r.ok and r.calls == [] and r.error


def test_a_kimi_bare_counter_id_is_the_tool_it_can_only_be():
    # Kimi's newer template writes a bare counter as the id; like vLLM's kimi_k2, the function is the one
    # tool offered, or the one tool whose parameters include every argument; otherwise it is not guessed
    def kimi(args):
        return (
            "<|tool_calls_section_begin|><|tool_call_begin|>0 <|tool_call_argument_begin|>"
            f"{args}<|tool_call_end|><|tool_calls_section_end|>"
        )

    weather = Tool("get_weather", "", {"properties": {"city": {"type": "string"}, "unit": {"type": "string"}}})
    read = Tool("read_file", "", {"properties": {"path": {"type": "string"}}})
    flight = Tool("book_flight", "", {"properties": {"city": {"type": "string"}}})
    args = '{"city": "Paris", "unit": "c"}'
    assert calls(parse(kimi(args), [weather])) == [("get_weather", {"city": "Paris", "unit": "c"})]
    assert calls(parse(kimi(args), [read, weather])) == [("get_weather", {"city": "Paris", "unit": "c"})]
    assert calls(parse(kimi('{"city": "Paris"}'), [weather, flight])) == [("0", {"city": "Paris"})]  # ambiguous
    assert calls(parse(kimi(args))) == [("0", {"city": "Paris", "unit": "c"})]  # no tools: nothing to go by
    assert not parse(kimi('{"city": "Paris"'), [weather]).ok  # cut-off JSON is still unparseable


def test_a_dsml_arguments_wrapper_is_unwrapped_only_when_it_holds_the_schemas_parameters():
    # vLLM's deepseek_v32 repairs <parameter name="arguments"> / "input" holding the call's object
    loc = Tool("get_weather", "", {"properties": {"location": {"type": "string"}}})
    for key, flag in (("arguments", "false"), ("input", "true")):
        text = dsml("get_weather", [(key, '{"location": "Beijing"}', flag)])
        assert calls(parse(text, [loc])) == [("get_weather", {"location": "Beijing"})]
    # not when the schema defines that parameter, the object holds other keys, or there are no tools
    wrapped = Tool("get_weather", "", {"properties": {"input": {"type": "object"}}})
    text = dsml("get_weather", [("input", '{"location": "Beijing"}', "false")])
    assert calls(parse(text, [wrapped])) == [("get_weather", {"input": {"location": "Beijing"}})]
    text = dsml("get_weather", [("arguments", '{"city": "Beijing"}', "false")])
    assert calls(parse(text, [loc])) == [("get_weather", {"arguments": {"city": "Beijing"}})]
    text = dsml("get_weather", [("arguments", '{"location": "Beijing"}', "false")])
    assert calls(parse(text)) == [("get_weather", {"arguments": {"location": "Beijing"}})]


def test_one_bad_call_makes_the_whole_output_unparseable():
    # vLLM's parsers drop a bad block or turn everything into content; here the output is unparseable
    good = "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>"
    assert not parse(good + '\n<tool_call>\n{"name": "g", "arguments": {"b": </tool_call>').ok
    assert not parse('{"name": "f", "parameters": {"a": 1}}; {"name": "g", "parameters": {"b": }}').ok


# --------------------------------------------------------------------------------------------- end to end
TOOL = {
    "name": "get_weather",
    "description": "Weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}


def task(category, expected):
    return Task.from_dict(
        {
            "id": f"t/{category}",
            "category": category,
            "tools": [TOOL],
            "expected": expected,
            "messages": [{"role": "user", "content": "q"}],
        }
    )


SIMPLE = task("simple", [{"get_weather": {"city": ["Paris"], "days": [3]}}])
IRRELEVANCE = task("irrelevance", [])


@pytest.mark.parametrize(
    "text",
    [
        "<function_calls>\nget_weather(city='Paris', days=3)\n</function_calls>",
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n"
        "</parameter>\n</function>\n</tool_call>",
        '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n'
        '<parameter name="days">3</parameter>\n</invoke>\n</minimax:tool_call>',
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n<arg_key>days</arg_key>\n"
        "<arg_value>3</arg_value>\n</tool_call>",
        '[TOOL_CALLS]get_weather{"city": "Paris", "days": 3}',
        DS_BEGIN + ds_v31("get_weather", '{"city": "Paris", "days": 3}') + DS_END,
        dsml("get_weather", [("city", "Paris", "true"), ("days", "3", "false")], "tool_calls"),
        dsml("get_weather", [("city", "Paris", "true"), ("days", "3", "true")]),  # typed by the schema
        'Sure.\n<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]\nDone.',
    ],
)
def test_family_output_scores_through_score_task(text):
    r = score_task(SIMPLE, Response(SIMPLE.id, text))
    assert r.correct, r.feedback
    r = score_task(IRRELEVANCE, Response(IRRELEVANCE.id, text))
    assert not r.correct and r.error == "should_not_call"


@pytest.mark.parametrize(
    "text",
    [
        "<tool_use>get_weather Paris</tool_use>",  # a family not read here
        "<|tool_calls_section_begin|><|tool_calls_section_end|>",  # a marker and no call
        "<tool_call>\n<function=get_weather\n<parameter=city>\nParis",  # cut off in a tag
        "<tools>",
        "<function_calls>\nget_weather(city=\n</function_calls>",
        f"{DSML}tool_calls>\n{DSML}invoke",  # DeepSeek V4, cut off
    ],
)
def test_unreadable_marker_is_neither_no_call_nor_a_refusal(text):
    r = score_task(SIMPLE, Response(SIMPLE.id, text))
    assert not r.correct and r.error == "unparseable"
    r = score_task(IRRELEVANCE, Response(IRRELEVANCE.id, text))
    assert not r.correct and r.error == "unparseable"


def test_prose_is_still_a_refusal():
    for text in ("Here are my <thoughts> on it: none of these tools fit.", "<|im_start|>", ""):
        assert score_task(IRRELEVANCE, Response(IRRELEVANCE.id, text)).correct
        assert score_task(SIMPLE, Response(SIMPLE.id, text)).error == "no_call"


# --------------------------------------------------------------------------------------------- bounds
def _patterns() -> list[tuple[str, re.Pattern, bool]]:
    """Each regex of the parser, and whether the parser scans text with it (search/finditer/findall) or only
    matches it at one position."""
    src = inspect.getsource(parse_mod)
    return [
        (n, v, any(f"{n}.{m}(" in src for m in ("search", "finditer", "findall", "sub", "split")))
        for n, v in vars(parse_mod).items()
        if isinstance(v, re.Pattern)
    ]


def _adversarial() -> list[str]:
    n = MAX_INPUT_CHARS
    units = [
        " ",
        "\n",
        "a",
        "[",
        "{",
        "(",
        "<",
        "'",
        '"',
        "\\",
        "a(",
        "[a(",
        "a=",
        "1.",
        "-",
        "<a",
        "|>",
        "n>",
        '{"name"',
        "[TOOL_CALLS]a",
        "<tool_call>",
        "<tool_call>a\n",
        "<function=a>",
        "<parameter=a>",
        "<|tool_call_begin|>",
        "functions.a:0",
        "<arg_key>",
        "```",
        "</s>",
        ";{",
        "<tool",
        "<|python_tag|>",
        "a{",
        "<function_calls>",
        "<minimax:tool_call>",
        '<invoke name="a">',
        f"<{DS}tool{SP}sep{DS}>",
        "<tools>[]",
        "<tool_call>[]",
        "a ",
        " {",
        "\t;",
        "(a(",
        "<functionx",
        DSML,
        f'{DSML}invoke name="a">',
        f'{DSML}parameter name="a" string="true">',
        f"</{DS}DSML{DS}invoke>",
        '"a" string="',
    ]
    out = [(u * (n // len(u) + 1))[:n] for u in units]
    out += [
        "[" + " " * (n - 2) + "{",
        "<" + "a" * (n - 1),
        "a" * (n - 1) + "(",
        "{" + " " * (n - 1),
        " " * (n - 9) + '{"name":',
        "<tool_call>" + "[]<tool_call>" * ((n - 11) // 13),
    ]
    return out


@pytest.mark.slow
def test_every_regex_is_linear_on_256k_adversarial_text():
    assert len(_patterns()) > 10  # the scan found the parser's patterns (none found would pass vacuously)
    for name, pat, scans in _patterns():
        for s in _adversarial():

            def run(p=pat, s=s, scans=scans):
                p.match(s)
                if scans:
                    for i, _ in enumerate(p.finditer(s)):
                        if i > 300_000:
                            break

            within(run, limit=2.0, what=(name, s[:24]))


@pytest.mark.slow
def test_parse_returns_quickly_on_256k_adversarial_text():
    for s in _adversarial():
        r, _dt = within(parse_calls, s)
        assert isinstance(r, ParseResult), s[:20]


FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    "<function=f>",
    "</function>",
    "<parameter=a>",
    "</parameter>",
    "<arg_key>",
    "</arg_key>",
    "<arg_value>",
    "</arg_value>",
    "[TOOL_CALLS]",
    "[ARGS]",
    "<|python_start|>",
    "<|python_end|>",
    "<|python_tag|>",
    "<tools>",
    "</tools>",
    "<tool_calls>",
    "</tool_calls>",
    "<|tool_call|>",
    "<function_call>",
    "<function_calls>",
    "</function_calls>",
    "<minimax:tool_call>",
    '<invoke name="f">',
    '<parameter name="a">',
    "</invoke>",
    "<|tool_calls_section_begin|>",
    "<|tool_call_begin|>",
    "functions.f:0",
    "<|tool_call_argument_begin|>",
    "<|tool_call_end|>",
    DS_BEGIN,
    f"<{DS}tool{SP}call{SP}begin{DS}>",
    f"<{DS}tool{SP}sep{DS}>",
    f"<{DS}tool{SP}call{SP}end{DS}>",
    f"{DSML}function_calls>",
    f"{DSML}tool_calls>",
    f'{DSML}invoke name="f">',
    f'{DSML}parameter name="a" string="false">',
    f"</{DS}DSML{DS}parameter>",
    f"</{DS}DSML{DS}invoke>",
    "<think>",
    "</think>",
    "```json\n",
    "```",
    "<|eot_id|>",
    "</s>",
    "<|im_start|>",
    "<|x|>",
    "f(a=1)",
    "[f(a=1), g(b='x')]",
    '{"name": "f", "arguments": {"a": 1}}',
    "; ",
    ", ",
    "\n",
    " ",
    "null",
    "1e999",
    '{"a": [1, 2]}',
    "a",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'",
    '"',
    "\\",
    "=",
    "get_weather",
    "Sure! ",
]


@pytest.mark.slow
@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40),
    st.integers(min_value=1, max_value=2000),
)
@pytest.mark.slow
def test_fuzz_never_raises_and_returns_quickly(parts, repeat):
    text = "".join(parts)
    if repeat > 1 and len(text) * repeat <= MAX_INPUT_CHARS:
        text = text * repeat
    r, _ = within(parse_calls, text, None, [WEATHER])
    assert isinstance(r, ParseResult) and isinstance(r.ok, bool)
    assert r.ok or (r.error and not r.calls)


def test_long_outputs_are_read_in_every_family():
    # arguments longer than the Python-literal reader takes (8 KiB) still read as JSON
    big = "x" * 20_000
    args = f'{{"a": "{big}"}}'
    for text in (
        f"[TOOL_CALLS]f{args}",
        f'[TOOL_CALLS] [{{"name": "f", "arguments": {args}}}] done',
        f'[{{"name": "f", "arguments": {args}}}] I called f.',
        f'<tool_call>\n{{"name": "f", "arguments": {args}}}\n</tool_call>',
        f"<tool_call>\n<function=f>\n<parameter=a>\n{big}\n</parameter>\n</function>\n</tool_call>",
        DS_BEGIN + ds_v31("f", args) + DS_END,
    ):
        assert calls(parse(text)) == [("f", {"a": big})], text[:40]
