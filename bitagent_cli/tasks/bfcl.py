"""BFCL (Berkeley Function Calling Leaderboard) v4 single-turn records -> contract tasks.

Faithful conversion, used by ``scripts/build_suites.py`` to regenerate the ``bfcl`` package data
(and usable on any copy of ``bfcl_eval/data``):

* id: ``bfcl/<bfcl category>/<BFCL's own id suffix>``, e.g. ``simple_python_0`` -> ``bfcl/simple_python/0``,
  ``live_simple_0-0-0`` -> ``bfcl/live_simple/0-0-0``.
* category: BFCL's, mapped to the contract (``simple_python`` -> ``simple``; every other single-turn
  category keeps its name, ``live_`` prefix included).
* messages: BFCL's ``question`` turns flattened in order (system and assistant messages kept as given).
* tools: BFCL's ``function`` docs through :func:`normalise_tool` (``"type": "dict"`` -> ``object``,
  Python names ``float``/``tuple``/``any`` kept as ``x-python-type``). Descriptions are not changed
  (BFCL's "Note that the provided function is in Python 3 syntax." is added at generation time, not here).
* expected: the possible answer's ``ground_truth`` (``[{fn: {arg: [acceptable values]}}]``), with ``""``
  still meaning "may be left out". Irrelevance and relevance categories have none: ``expected: []``
  (for ``live_relevance`` the category itself says that any call is right).
* meta: ``{"source": "bfcl", "bfcl_id": ..., "bfcl_category": ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._types import ExpectedCall, Task, TaskFormatError, normalise_tool

__all__ = ["BFCL_CATEGORIES", "bfcl_record_to_task", "convert_bfcl_dir", "split_bfcl_id"]

#: BFCL single-turn category -> contract category.
BFCL_CATEGORIES: dict[str, str] = {
    "simple_python": "simple",
    "multiple": "multiple",
    "parallel": "parallel",
    "parallel_multiple": "parallel_multiple",
    "irrelevance": "irrelevance",
    "live_simple": "live_simple",
    "live_multiple": "live_multiple",
    "live_parallel": "live_parallel",
    "live_parallel_multiple": "live_parallel_multiple",
    "live_irrelevance": "live_irrelevance",
    "live_relevance": "live_relevance",
}

#: Categories whose right answer is to call nothing (irrelevance) or anything (relevance): no ground truth.
_NO_GROUND_TRUTH = ("irrelevance", "live_irrelevance", "live_relevance")


def split_bfcl_id(bfcl_id: str, known: Iterable[str] = BFCL_CATEGORIES) -> tuple[str, str]:
    """``live_parallel_multiple_3-2-0`` -> ``("live_parallel_multiple", "3-2-0")`` (longest category wins)."""
    for cat in sorted(known, key=len, reverse=True):
        if bfcl_id.startswith(cat + "_"):
            return cat, bfcl_id[len(cat) + 1:]
    raise TaskFormatError(f"BFCL id {bfcl_id!r} does not start with a known category")


def bfcl_record_to_task(record: dict[str, Any], answer: dict[str, Any] | None = None,
                        bfcl_category: str | None = None) -> Task:
    """Convert one BFCL question record (and its possible answer, if the category has one)."""
    bfcl_id = record.get("id")
    if not isinstance(bfcl_id, str):
        raise TaskFormatError("BFCL record without a string 'id'")
    cat, suffix = split_bfcl_id(bfcl_id) if bfcl_category is None else (
        bfcl_category, bfcl_id[len(bfcl_category) + 1:] if bfcl_id.startswith(bfcl_category + "_") else bfcl_id)
    if cat not in BFCL_CATEGORIES:
        raise TaskFormatError(f"{bfcl_id}: BFCL category {cat!r} is not a single-turn category")
    question = record.get("question")
    if not isinstance(question, list):
        raise TaskFormatError(f"{bfcl_id}: 'question' must be a list of turns")
    messages: list[dict[str, Any]] = []
    for turn in question:
        turn_msgs = turn if isinstance(turn, list) else [turn]
        for m in turn_msgs:
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise TaskFormatError(f"{bfcl_id}: every message needs a string 'role'")
            messages.append(dict(m))
    tools = tuple(normalise_tool(f) for f in record.get("function") or [])
    expected: tuple[ExpectedCall, ...] = ()
    if cat not in _NO_GROUND_TRUTH:
        if answer is None:
            raise TaskFormatError(f"{bfcl_id}: no possible answer for a {cat} record")
        if answer.get("id") != bfcl_id:
            raise TaskFormatError(f"{bfcl_id}: possible answer has id {answer.get('id')!r}")
        gt = answer.get("ground_truth")
        if not isinstance(gt, list) or not gt:
            raise TaskFormatError(f"{bfcl_id}: 'ground_truth' must be a non-empty list")
        expected = tuple(ExpectedCall.from_dict(call) for call in gt)
    return Task(id=f"bfcl/{cat}/{suffix}", category=BFCL_CATEGORIES[cat], messages=tuple(messages),
                tools=tools, expected=expected,
                meta={"source": "bfcl", "bfcl_id": bfcl_id, "bfcl_category": cat})


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def convert_bfcl_dir(data_dir: str | Path, *, version: str = "v4") -> list[Task]:
    """Convert every single-turn category found in ``data_dir`` (``BFCL_<version>_<cat>.json`` plus
    ``possible_answer/``), in the order of :data:`BFCL_CATEGORIES`, records in file order."""
    root = Path(data_dir)
    tasks: list[Task] = []
    found = 0
    for cat in BFCL_CATEGORIES:
        qpath = root / f"BFCL_{version}_{cat}.json"
        if not qpath.exists():
            continue
        found += 1
        answers: dict[str, dict[str, Any]] = {}
        apath = root / "possible_answer" / qpath.name
        if cat not in _NO_GROUND_TRUTH:
            answers = {a["id"]: a for a in _read_jsonl(apath)}
        for rec in _read_jsonl(qpath):
            tasks.append(bfcl_record_to_task(rec, answers.get(rec.get("id")), cat))
    if not found:
        raise FileNotFoundError(f"no BFCL_{version}_*.json question files in {root}")
    return tasks
