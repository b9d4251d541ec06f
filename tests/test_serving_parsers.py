"""serving.backends.tool_call_parser: the vLLM --tool-call-parser picked for each model family, and the
scorer reads the format that parser's family writes (so the two stay in step)."""

from __future__ import annotations

import json

import pytest

from bitagent_cli.scoring import parse_calls
from bitagent_cli.serving import tool_call_parser

# --tool-call-parser names registered by vLLM 0.33.0 (vllm/tool_parsers/__init__.py; serving-reference §2)
VLLM_PARSERS = {
    "xlam",
    "hermes",
    "llama3_json",
    "llama4_json",
    "llama4_pythonic",
    "pythonic",
    "mistral",
    "qwen3_json",
    "qwen3_coder",
    "qwen3_xml",
    "granite",
    "granite4",
    "granite-20b-fc",
    "internlm",
    "jamba",
    "phi4_mini_json",
    "openai",
    "deepseek_v3",
    "deepseek_v31",
    "deepseek_v32",
    "deepseek_v4",
    "kimi_k2",
    "glm45",
    "glm47",
    "functiongemma",
    "gemma4",
    "olmo3",
    "minimax_m2",
}

DS, SP = "\uff5c", "\u2581"
W = [("get_weather", {"city": "Paris"})]

# (model, parser, one call to get_weather(city="Paris") as that family writes it)
FAMILIES = [
    (
        "mistralai/Mistral-7B-Instruct-v0.3",
        "mistral",
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]',
    ),
    ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "mistral", '[TOOL_CALLS]get_weather{"city": "Paris"}'),
    ("mistralai/Devstral-Small-2507", "mistral", '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}'),
    (
        "meta-llama/Llama-4-Scout-17B-16E-Instruct",
        "llama4_pythonic",
        '<|python_start|>[get_weather(city="Paris")]<|python_end|>',
    ),
    (
        "meta-llama/Llama-3.1-8B-Instruct",
        "llama3_json",
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}',
    ),
    (
        "Qwen/Qwen2.5-7B-Instruct",
        "hermes",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    ),
    (
        "Qwen/Qwen2.5-Coder-7B-Instruct",
        "hermes",  # no built-in vLLM parser: read from content
        '<tools>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tools>',
    ),
    ("Qwen/Qwen3-8B", "hermes", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'),
    (
        "Qwen/Qwen3-Coder-30B-A3B-Instruct",
        "qwen3_coder",
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>",
    ),
    (
        "ai21labs/AI21-Jamba-Mini-1.7",
        "jamba",
        '<tool_calls>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</tool_calls>',
    ),
    (
        "ibm-granite/granite-3.0-8b-instruct",
        "granite",
        '<|tool_call|>[{"arguments": {"city": "Paris"}, "name": "get_weather"}]',
    ),
    (
        "ibm-granite/granite-20b-functioncalling",
        "granite-20b-fc",
        '<function_call> {"name": "get_weather", "arguments": {"city": "Paris"}}',
    ),
    ("allenai/Olmo-3-7B-Instruct", "olmo3", '<function_calls>\nget_weather(city="Paris")\n</function_calls>'),
    (
        "deepseek-ai/DeepSeek-V3-0324",
        "deepseek_v3",
        f"<{DS}tool{SP}calls{SP}begin{DS}><{DS}tool{SP}call{SP}begin{DS}>function<{DS}tool{SP}sep{DS}>get_weather\n"
        f'```json\n{{"city": "Paris"}}\n```<{DS}tool{SP}call{SP}end{DS}><{DS}tool{SP}calls{SP}end{DS}>',
    ),
    (
        "deepseek-ai/DeepSeek-R1-0528",
        "deepseek_v3",
        f"<{DS}tool{SP}calls{SP}begin{DS}><{DS}tool{SP}call{SP}begin{DS}>function<{DS}tool{SP}sep{DS}>get_weather\n"
        f'```json\n{{"city": "Paris"}}\n```<{DS}tool{SP}call{SP}end{DS}><{DS}tool{SP}calls{SP}end{DS}>',
    ),
    (
        "deepseek-ai/DeepSeek-V3.1",
        "deepseek_v31",
        f"<{DS}tool{SP}calls{SP}begin{DS}><{DS}tool{SP}call{SP}begin{DS}>get_weather<{DS}tool{SP}sep{DS}>"
        f'{{"city": "Paris"}}<{DS}tool{SP}call{SP}end{DS}><{DS}tool{SP}calls{SP}end{DS}>',
    ),
    (
        "deepseek-ai/DeepSeek-V3.2-Exp",
        "deepseek_v32",
        f'<{DS}DSML{DS}function_calls>\n<{DS}DSML{DS}invoke name="get_weather">\n<{DS}DSML{DS}parameter name="city" '
        f'string="true">Paris</{DS}DSML{DS}parameter>\n</{DS}DSML{DS}invoke>\n</{DS}DSML{DS}function_calls>',
    ),
    (
        "deepseek-ai/DeepSeek-V4-Flash",
        "deepseek_v4",
        f'<{DS}DSML{DS}tool_calls>\n<{DS}DSML{DS}invoke name="get_weather">\n<{DS}DSML{DS}parameter name="city" '
        f'string="true">Paris</{DS}DSML{DS}parameter>\n</{DS}DSML{DS}invoke>\n</{DS}DSML{DS}tool_calls>',
    ),
    (
        "zai-org/GLM-4.5-Air",
        "glm45",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>",
    ),
    (
        "zai-org/GLM-4.6",
        "glm45",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>",
    ),
    (
        "moonshotai/Kimi-K2-Instruct",
        "kimi_k2",
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>"
        '{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>',
    ),
    (
        "MiniMaxAI/MiniMax-M2",
        "minimax_m2",
        '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n</invoke>\n'
        "</minimax:tool_call>",
    ),
]


@pytest.mark.parametrize("model,parser,text", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_family_parser_and_format(model, parser, text):
    assert tool_call_parser(model) == parser
    assert parser in VLLM_PARSERS
    r = parse_calls(text)
    assert r.ok, r.error
    assert [(c.name, c.arguments) for c in r.calls] == W


@pytest.mark.parametrize(
    "model,parser",
    [
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", None),  # a Qwen made to reason: no DeepSeek tool tokens
        ("deepseek-ai/DeepSeek-V3.2-Exp", "deepseek_v32"),
        ("Qwen/Qwen3-30B-A3B", "hermes"),
        ("ibm-granite/granite-4.0-h-tiny", "granite4"),
        ("zai-org/GLM-4.7", "glm47"),
    ],
)
def test_family_neighbours(model, parser):
    assert tool_call_parser(model) == parser


@pytest.mark.parametrize(
    "model_type,parser",
    [
        ("jamba", "jamba"),
        ("olmo3", "olmo3"),
        ("glm4_moe", "glm45"),
        ("deepseek_v3", "deepseek_v3"),
        ("kimi_k2", "kimi_k2"),
        ("minimax_m2", "minimax_m2"),
    ],
)
def test_parser_from_local_config(tmp_path, model_type, parser):
    d = tmp_path / "snapshot"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert tool_call_parser(str(d), d) == parser


def test_every_name_parser_is_registered_by_vllm():
    from bitagent_cli.serving import backends

    assert {p for _, p in backends._NAME_PARSERS} <= VLLM_PARSERS
    assert set(backends._TYPE_PARSERS.values()) <= VLLM_PARSERS
