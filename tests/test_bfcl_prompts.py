"""Prompt mode sends BFCL's own prompt, byte for byte: built by bfcl-eval's code (the wheel, installed with
``--no-deps``) and by ``serving.client.prompt_mode_messages`` for every single-turn task of the bfcl suite."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from bitagent_cli.serving.client import BFCL_PROMPT_VERSION, bfcl_function_docs, prompt_mode_messages
from bitagent_cli.tasks import Tool, load_suite
from bitagent_cli.tasks.bfcl import BFCL_CATEGORIES, bfcl_record_to_task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


@pytest.fixture(scope="module")
def bench():
    if importlib.util.find_spec("bfcl_eval") is None:
        pytest.skip("bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23)")
    import bfcl_prompts  # benchmarks/bfcl_prompts.py

    got = bfcl_prompts.load_bfcl_prompting()
    if isinstance(got, str):
        pytest.skip(got)
    if got[2] != BFCL_PROMPT_VERSION:
        pytest.skip(f"our prompt is pinned to bfcl-eval {BFCL_PROMPT_VERSION}; {got[2]} is installed")
    return bfcl_prompts, got


def test_every_single_turn_prompt_is_bfcls_byte_for_byte(bench):
    mod, (load_entries, build, _) = bench
    ours_by_id = {t.meta["bfcl_id"]: t for t in load_suite("bfcl") if "bfcl_id" in t.meta}
    differ, n = [], 0
    for cat in BFCL_CATEGORIES:
        for entry in load_entries(cat):
            task = ours_by_id[entry["id"]]
            theirs = mod.bfcl_messages(entry, build)
            ours = prompt_mode_messages(list(task.messages), task.tools)
            n += 1
            if ours != theirs or mod.encode(ours) != mod.encode(theirs):
                differ.append(entry["id"])
    assert n == 3641 and not differ, f"{len(differ)} of {n} prompts differ from BFCL's, e.g. {differ[:5]}"


def test_a_record_converted_now_gives_bfcls_prompt(bench):
    """Not only the shipped data: a record through today's converter (non-ASCII, ``any``, a system message)."""
    mod, (_, build, _) = bench
    record = {
        "id": "live_simple_999-0-0",
        "question": [[{"role": "system", "content": ""}, {"role": "user", "content": "Café à Zürich?"}]],
        "function": [
            {
                "name": "cafe.find",
                "description": "Trouve un café ",
                "parameters": {
                    "type": "dict",
                    "required": ["city"],
                    "properties": {
                        "city": {"type": "string", "description": "Ville, e.g. Zürich"},
                        "extra": {"description": "anything", "type": "any", "default": None},
                        "radius": {"type": "float", "default": 1.5},
                        "pair": {"type": "tuple", "items": {"type": "integer"}},
                        "opts": {"type": "dict", "properties": {"type": {"type": "string"}}},
                    },
                },
            }
        ],
    }
    answer = {"id": record["id"], "ground_truth": [{"cafe.find": {"city": ["Zürich"]}}]}
    task = bfcl_record_to_task(json.loads(json.dumps(record)), answer)
    from bfcl_eval.utils import add_language_specific_hint_to_function_doc

    entry = add_language_specific_hint_to_function_doc([json.loads(json.dumps(record))])[0]
    theirs = mod.bfcl_messages(entry, build)
    ours = prompt_mode_messages(list(task.messages), task.tools)
    assert ours == theirs and mod.encode(ours) == mod.encode(theirs)


def test_function_docs_are_written_as_bfcl_writes_them():
    """Without bfcl-eval: ``json.dumps(indent=4)`` (non-ASCII escaped), data key order, BFCL's type names."""
    tool = Tool(
        "f",
        "Zürich ",
        {
            "type": "object",
            "properties": {
                "a": {"description": "x", "x-python-type": "any"},
                "b": {"type": "number", "x-python-type": "float"},
            },
            "required": [],
        },
    )
    docs = json.loads(bfcl_function_docs([tool]))
    text = bfcl_function_docs([tool])
    assert "\\u00fc" in text and "ü" not in text
    assert docs[0]["description"] == "Zürich  Note that the provided function is in Python 3 syntax."  # no strip
    assert list(docs[0]["parameters"]["properties"]["a"]) == ["description", "type"]  # 'any' where it was
    assert docs[0]["parameters"]["properties"]["a"]["type"] == "any"
    assert docs[0]["parameters"]["properties"]["b"] == {"type": "float"}
    assert docs[0]["parameters"]["type"] == "dict"
    msgs = prompt_mode_messages([{"role": "system", "content": ""}, {"role": "user", "content": "hi"}], [tool])
    assert msgs[0]["content"].endswith("\n\n") and len(msgs) == 2  # BFCL joins with "\n\n" even when empty
