"""tasks/hf.py: Hugging Face dataset rows -> tasks, loaded through `datasets` from local files."""

from __future__ import annotations

import json
import sys

import pytest

from bitagent_cli.tasks import ExpectedCall
from bitagent_cli.tasks.hf import DatasetsUnavailable, convert_hf_record, load_hf_tasks

pytest.importorskip("datasets")

GLAIVE_SYSTEM = (
    "SYSTEM: You are a helpful assistant with access to the following functions. Use them if required -\n"
    '{\n    "name": "detect_language",\n    "description": "Detect the language of a given text",\n'
    '    "parameters": {\n        "type": "object",\n        "properties": {\n            "text": {\n'
    '                "type": "string",\n                "description": "The text to detect the language of"\n'
    '            }\n        },\n        "required": [\n            "text"\n        ]\n    }\n}\n'
)
GLAIVE_CHAT = (
    "USER: I have a text here and I am not sure what language it is. Can you help me identify it?\n\n\n"
    "ASSISTANT: Of course, I can help with that. Please provide me with the text. <|endoftext|>\n\n\n"
    'USER: Here it is - "Je suis un étudiant"\n\n\n'
    'ASSISTANT: <functioncall> {"name": "detect_language", "arguments": \'{"text": "Je suis un étudiant"}\'} '
    '<|endoftext|>\n\n\nFUNCTION RESPONSE: {"language": "French"}\n\n\n'
    "ASSISTANT: The text you provided is in French. <|endoftext|>\n\n\n"
)
NO_TOOLS = {
    "system": "SYSTEM: You are a helpful assistant, with no access to external functions.",
    "chat": "USER: Tell me a joke\n\n\nASSISTANT: Why did the chicken cross the road? <|endoftext|>",
}

# BitAgent/tool_calling-style rows: conversation + tools as JSON strings (as on the hub)
WIRE_TOOLS = [
    {
        "name": "calculate_discount",
        "description": "Discounted price",
        "arguments": {
            "discount_percentage": {"required": True, "type": "number", "description": "percent"},
            "original_price": {"required": True, "type": "number", "description": "price"},
        },
    },
    {
        "name": "restart_pod",
        "description": "Restart a pod",
        "arguments": {"pod_name": {"required": True, "type": "str", "description": "pod"}},
    },
]
BITAGENT_ROWS = [
    {
        "conversation": json.dumps(
            [
                {
                    "role": "user",
                    "content": "What is the discounted price of the jacket, given it was originally $200 and "
                    "there is a 20% reduction?",
                },
                {
                    "role": "tool call",
                    "content": {
                        "name": "calculate_discount",
                        "arguments": {"discount_percentage": 20, "original_price": 200},
                    },
                },
                {"role": "assistant", "content": "It is $160."},
            ]
        ),
        "tools": json.dumps(WIRE_TOOLS),
    },
    {
        "conversation": json.dumps(
            [{"role": "user", "content": "Book me a table"}, {"role": "tool call", "content": {}}]
        ),
        "tools": json.dumps(WIRE_TOOLS[1:]),
    },
    {"conversation": json.dumps([{"role": "user", "content": "no call here"}]), "tools": "[]"},  # unreadable: skipped
]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_glaive_v2_rows_through_datasets(tmp_path):
    path = _jsonl(tmp_path / "glaive-v2.jsonl", [{"system": GLAIVE_SYSTEM, "chat": GLAIVE_CHAT}, NO_TOOLS])
    tasks = load_hf_tasks("json", data_files=str(path))
    assert [t.id for t in tasks] == ["glaive-v2/0/no_call", "glaive-v2/0/0"]
    call = tasks[1]
    assert call.category == "simple"
    assert call.tools[0].name == "detect_language" and call.tools[0].required == ["text"]
    assert [m["role"] for m in call.messages] == ["user", "assistant", "user"]
    assert call.expected == (ExpectedCall("detect_language", {"text": ["Je suis un étudiant"]}),)
    assert call.meta["source"] == "glaive-v2" and call.meta["row"] == 0
    # a bare local path works too, and a limit streams only what is needed
    assert [t.id for t in load_hf_tasks(str(path), limit=1)] == ["glaive-v2/0/no_call"]


def test_bitagent_rows_through_datasets(tmp_path, caplog):
    path = _jsonl(tmp_path / "tool_calling.jsonl", BITAGENT_ROWS)
    tasks = load_hf_tasks("json", data_files=str(path))
    assert len(tasks) == 2
    t, irr = tasks
    assert t.category == "multiple"
    first_user = json.loads(BITAGENT_ROWS[0]["conversation"])[0]["content"]
    assert t.messages == ({"role": "user", "content": first_user},)  # the messages before the tool call
    assert t.expected == (ExpectedCall("calculate_discount", {"discount_percentage": [20], "original_price": [200]}),)
    disc = t.tool("calculate_discount")
    assert disc.required == ["discount_percentage", "original_price"]
    assert disc.properties["original_price"]["type"] == "number"
    assert t.tool("restart_pod").properties["pod_name"]["type"] == "string"
    assert irr.category == "irrelevance" and irr.expected == ()
    assert "skipped 1 row" in caplog.text


def test_list_valued_tools_with_arrow_nulls(tmp_path):
    """Tools stored as lists of structs: Arrow fills every key of every row, missing ones as None."""
    rows = [
        {
            "conversation": [
                {"role": "user", "content": "restart web"},
                {"role": "tool call", "content": json.dumps({"name": "restart_pod", "arguments": {"pod_name": "web"}})},
            ],
            "tools": WIRE_TOOLS,
        },
        {
            "conversation": [
                {"role": "user", "content": "20% off 10"},
                {
                    "role": "tool call",
                    "content": json.dumps(
                        {
                            "name": "calculate_discount",
                            "is_ground_truth": True,
                            "arguments": {"discount_percentage": [20, 20.0], "original_price": [10]},
                        }
                    ),
                },
            ],
            "tools": WIRE_TOOLS[:1],
        },
    ]
    path = _jsonl(tmp_path / "structs.jsonl", rows)
    tasks = load_hf_tasks("json", data_files=str(path))
    assert [t.expected[0].name for t in tasks] == ["restart_pod", "calculate_discount"]
    pod = tasks[0].tool("restart_pod")
    assert list(pod.properties) == ["pod_name"]  # no None-filled keys from the other tool
    assert tasks[1].expected[0].arguments == {"discount_percentage": [20, 20.0], "original_price": [10]}


def test_sharegpt_and_xlam_rows(tmp_path):
    sharegpt = {
        "conversations": [
            {"from": "human", "value": "area of 5x3 rectangle"},
            {"from": "function_call", "value": '{"name": "area", "arguments": {"w": 5, "h": 3}}'},
        ],
        "tools": json.dumps(
            [
                {
                    "name": "area",
                    "parameters": {
                        "type": "object",
                        "properties": {"w": {"type": "number"}, "h": {"type": "number"}},
                        "required": ["w", "h"],
                    },
                }
            ]
        ),
    }
    (t,) = convert_hf_record(sharegpt, id_prefix="s/0")
    assert t.id == "s/0/0" and t.expected[0].arguments == {"w": [5], "h": [3]}
    xlam = {
        "id": 1,
        "query": "Split [1,2,3,4] in chunks of 2 and find 3 in it",
        "tools": json.dumps(
            [
                {
                    "name": "split_list",
                    "description": "split",
                    "parameters": {
                        "lst": {"type": "List[int]", "description": "the list"},
                        "chunk_size": {"type": "int", "description": "size"},
                    },
                },
                {
                    "name": "binary_search",
                    "description": "search",
                    "parameters": {
                        "arr": {"type": "List[int]"},
                        "target": {"type": "int"},
                        "lo": {"type": "int, optional"},
                    },
                },
            ]
        ),
        "answers": json.dumps(
            [
                {"name": "split_list", "arguments": {"lst": [1, 2, 3, 4], "chunk_size": 2}},
                {"name": "binary_search", "arguments": {"arr": [1, 2, 3, 4], "target": 3}},
            ]
        ),
    }
    (x,) = convert_hf_record(xlam, id_prefix="x/1")
    assert x.category == "parallel_multiple" and len(x.expected) == 2
    bs = x.tool("binary_search")
    assert bs.required == ["arr", "target"]
    assert bs.properties["arr"]["type"] == "array" and bs.properties["lo"]["type"] == "integer"


def test_missing_datasets_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(DatasetsUnavailable) as e:
        load_hf_tasks("glaiveai/glaive-function-calling-v2")
    assert "pip install 'bitagent-cli[data]'" in str(e.value) and "\n" not in str(e.value)
